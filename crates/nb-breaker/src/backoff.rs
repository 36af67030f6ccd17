//! How long to wait before the next retry.

use std::time::{Duration, Instant};

use crate::clock::duration_nanos;

/// The longest server hint (Retry-After) honoured by default.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

/// The un-jittered growth of the delay with the retry number.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum BackoffSchedule {
    /// The same delay every time.
    Constant(Duration),
    /// `initial + step × (n − 1)` before retry `n`.
    Linear {
        /// The delay before the first retry.
        initial: Duration,
        /// Added for each further retry.
        step: Duration,
    },
    /// `base × factor^(n − 1)` before retry `n`. A factor below 1 (or not
    /// finite) is taken as 1.
    Exponential {
        /// The delay before the first retry.
        base: Duration,
        /// The growth per retry (2 doubles).
        factor: f64,
    },
}

/// How a computed delay is randomised, so that clients that failed together
/// do not retry together. The names follow the AWS Architecture Blog's
/// "Exponential Backoff And Jitter".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum JitterStrategy {
    /// The computed delay, exactly.
    None,
    /// "FullJitter": uniform in `[0, delay]`. Spreads retries the most; the
    /// usual choice.
    #[default]
    #[doc(alias = "FullJitter")]
    Full,
    /// "EqualJitter": uniform in `[delay / 2, delay]`: never much shorter
    /// than the schedule.
    #[doc(alias = "EqualJitter")]
    Equal,
    /// "DecorrelatedJitter": uniform in `[first, 3 × previous]`, where
    /// `first` is the schedule's first delay and `previous` the delay
    /// actually used last time; the schedule's growth is not used.
    #[doc(alias = "DecorrelatedJitter")]
    Decorrelated,
}

/// The NeuralBridge Python SDK's spellings, so `JitterStrategy::FullJitter` written from the
/// articles compiles and means the same strategy.
#[allow(non_upper_case_globals)]
impl JitterStrategy {
    /// Same as [`JitterStrategy::Full`].
    pub const FullJitter: Self = Self::Full;
    /// Same as [`JitterStrategy::Equal`].
    pub const EqualJitter: Self = Self::Equal;
    /// Same as [`JitterStrategy::Decorrelated`].
    pub const DecorrelatedJitter: Self = Self::Decorrelated;
}

/// Jitter applied to a [`Backoff`].
///
/// ```
/// use std::time::Duration;
/// use nb_breaker::{JitterConfig, JitterStrategy};
///
/// let jitter = JitterConfig {
///     strategy: JitterStrategy::Full,
///     min_delay: Duration::from_millis(50),
/// };
/// assert_eq!(jitter, JitterConfig::full().with_min_delay(Duration::from_millis(50)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct JitterConfig {
    /// The strategy. Default: full jitter.
    pub strategy: JitterStrategy,
    /// The shortest delay jitter may produce (full jitter can otherwise
    /// pick zero and retry at once). Default: zero.
    pub min_delay: Duration,
}

impl JitterConfig {
    /// No jitter.
    pub fn none() -> Self {
        Self::with_strategy(JitterStrategy::None)
    }

    /// Full jitter.
    pub fn full() -> Self {
        Self::with_strategy(JitterStrategy::Full)
    }

    /// Equal jitter.
    pub fn equal() -> Self {
        Self::with_strategy(JitterStrategy::Equal)
    }

    /// Decorrelated jitter.
    pub fn decorrelated() -> Self {
        Self::with_strategy(JitterStrategy::Decorrelated)
    }

    fn with_strategy(strategy: JitterStrategy) -> Self {
        Self {
            strategy,
            min_delay: Duration::ZERO,
        }
    }

    /// The same jitter with a floor.
    pub fn with_min_delay(self, min_delay: Duration) -> Self {
        Self { min_delay, ..self }
    }
}

/// A retry delay policy: a schedule, a cap, jitter, and when to give up.
///
/// The policy is a small `Copy` value; each retry sequence keeps its own
/// [`BackoffState`] (from [`start`](Self::start)), which remembers the
/// attempt number, the previous delay (for decorrelated jitter) and when
/// the sequence began (for the elapsed-time limit). Randomness comes from a
/// `fastrand::Rng` the caller passes in, so a seeded generator makes every
/// delay reproducible.
///
/// A server hint (Retry-After) replaces the computed delay as long as it is
/// at most [`max_wait`](Self::with_max_wait); a longer hint ends the
/// sequence (`None`), because the caller is better served by another model
/// than by waiting.
///
/// ```
/// use std::time::{Duration, Instant};
/// use nb_breaker::{Backoff, JitterConfig};
///
/// let backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(2))
///     .with_jitter(JitterConfig::full())
///     .with_max_elapsed(Duration::from_secs(10));
/// let mut rng = fastrand::Rng::with_seed(7);
/// let now = Instant::now();
/// let mut retry = backoff.start(now);
/// for n in 1..=6 {
///     let d = retry.next_delay(now, &mut rng, None).unwrap();
///     assert!(d <= backoff.base_delay(n)); // 100, 200, 400, 800 ms, 1.6 s, 2 s (capped)
/// }
/// // The server asks for 3 s: that replaces the computed delay.
/// assert_eq!(retry.next_delay(now, &mut rng, Some(Duration::from_secs(3))), Some(Duration::from_secs(3)));
/// // Ten seconds in, the next retry would end past the elapsed-time limit.
/// assert_eq!(retry.next_delay(now + Duration::from_secs(10), &mut rng, None), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Backoff {
    schedule: BackoffSchedule,
    max_delay: Duration,
    jitter: JitterConfig,
    max_elapsed: Option<Duration>,
    max_wait: Duration,
    max_retries: Option<u32>,
}

impl Default for Backoff {
    /// Exponential from 1 s, doubling, capped at 60 s, with full jitter.
    fn default() -> Self {
        Self::exponential(Duration::from_secs(1), Duration::from_secs(60))
            .with_jitter(JitterConfig::full())
    }
}

impl Backoff {
    /// A policy following `schedule`, uncapped, without jitter, with no
    /// elapsed-time or retry limit, honouring server hints up to
    /// [`DEFAULT_MAX_WAIT`].
    pub fn new(schedule: BackoffSchedule) -> Self {
        Self {
            schedule,
            max_delay: Duration::MAX,
            jitter: JitterConfig::none(),
            max_elapsed: None,
            max_wait: DEFAULT_MAX_WAIT,
            max_retries: None,
        }
    }

    /// The same `delay` before every retry.
    pub fn constant(delay: Duration) -> Self {
        Self::new(BackoffSchedule::Constant(delay))
    }

    /// `initial`, then `step` longer before each further retry.
    pub fn linear(initial: Duration, step: Duration) -> Self {
        Self::new(BackoffSchedule::Linear { initial, step })
    }

    /// `base`, doubling before each further retry, capped at `cap`.
    pub fn exponential(base: Duration, cap: Duration) -> Self {
        Self::new(BackoffSchedule::Exponential { base, factor: 2.0 }).with_max_delay(cap)
    }

    /// Caps every computed delay (before and after jitter).
    pub fn with_max_delay(self, max_delay: Duration) -> Self {
        Self { max_delay, ..self }
    }

    /// Sets the jitter.
    pub fn with_jitter(self, jitter: JitterConfig) -> Self {
        Self { jitter, ..self }
    }

    /// Gives up once a retry would start more than `max_elapsed` after the
    /// sequence began.
    pub fn with_max_elapsed(self, max_elapsed: Duration) -> Self {
        Self {
            max_elapsed: Some(max_elapsed),
            ..self
        }
    }

    /// The longest server hint honoured; a longer one ends the sequence.
    pub fn with_max_wait(self, max_wait: Duration) -> Self {
        Self { max_wait, ..self }
    }

    /// Gives up after `max_retries` delays.
    pub fn with_max_retries(self, max_retries: u32) -> Self {
        Self {
            max_retries: Some(max_retries),
            ..self
        }
    }

    /// The schedule.
    pub fn schedule(&self) -> BackoffSchedule {
        self.schedule
    }

    /// The cap on computed delays.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The jitter.
    pub fn jitter(&self) -> JitterConfig {
        self.jitter
    }

    /// The elapsed-time limit, if any.
    pub fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The longest server hint honoured.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The retry limit, if any.
    pub fn max_retries(&self) -> Option<u32> {
        self.max_retries
    }

    /// The capped, un-jittered delay before retry `n` (1 for the first
    /// retry; 0 is taken as 1). Full and equal jitter stay at or below it.
    pub fn base_delay(&self, n: u32) -> Duration {
        let k = n.max(1) - 1;
        let delay = match self.schedule {
            BackoffSchedule::Constant(d) => d,
            BackoffSchedule::Linear { initial, step } => {
                initial.saturating_add(step.saturating_mul(k))
            }
            BackoffSchedule::Exponential { base, factor } => {
                let factor = if factor.is_finite() && factor >= 1.0 {
                    factor
                } else {
                    1.0
                };
                let growth = factor.powi(i32::try_from(k).unwrap_or(i32::MAX));
                let ns = duration_nanos(base) as f64 * growth;
                // `as` saturates (and a zero base times an infinite growth, NaN, becomes 0).
                if base.is_zero() {
                    Duration::ZERO
                } else {
                    Duration::from_nanos(ns.round() as u64)
                }
            }
        };
        delay.min(self.max_delay)
    }

    /// A new retry sequence beginning at `now`.
    pub fn start(&self, now: Instant) -> BackoffState {
        BackoffState {
            backoff: *self,
            started: now,
            attempt: 0,
            previous: self.base_delay(1),
        }
    }

    /// The jittered delay before retry `n`, given the previous delay.
    fn jittered(&self, n: u32, previous: Duration, rng: &mut fastrand::Rng) -> Duration {
        let uniform =
            |lo: u64, hi: u64, rng: &mut fastrand::Rng| Duration::from_nanos(rng.u64(lo..=hi));
        let delay = match self.jitter.strategy {
            JitterStrategy::None => self.base_delay(n),
            JitterStrategy::Full => uniform(0, duration_nanos(self.base_delay(n)), rng),
            JitterStrategy::Equal => {
                let t = duration_nanos(self.base_delay(n));
                uniform(t / 2, t, rng)
            }
            JitterStrategy::Decorrelated => {
                let lo = duration_nanos(self.base_delay(1));
                let hi = duration_nanos(previous.saturating_mul(3)).max(lo);
                uniform(lo, hi, rng)
            }
        };
        delay.max(self.jitter.min_delay).min(self.max_delay)
    }
}

/// One retry sequence of a [`Backoff`].
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffState {
    backoff: Backoff,
    started: Instant,
    attempt: u32,
    previous: Duration,
}

impl BackoffState {
    /// The delay before the next retry at `now`, or `None` to give up: the
    /// retry limit is reached, `server_hint` is longer than the policy's
    /// max wait, or the retry would start past the elapsed-time limit.
    ///
    /// `server_hint` (a Retry-After, already parsed) replaces the computed
    /// delay. A `None` leaves the sequence where it was, so a later call
    /// with a shorter hint may still succeed.
    pub fn next_delay(
        &mut self,
        now: Instant,
        rng: &mut fastrand::Rng,
        server_hint: Option<Duration>,
    ) -> Option<Duration> {
        let b = &self.backoff;
        let n = self.attempt.saturating_add(1);
        if b.max_retries.is_some_and(|max| n > max) {
            return None;
        }
        let delay = match server_hint {
            Some(hint) if hint > b.max_wait => return None,
            Some(hint) => hint,
            None => b.jittered(n, self.previous, rng),
        };
        if let Some(limit) = b.max_elapsed
            && now
                .saturating_duration_since(self.started)
                .saturating_add(delay)
                > limit
        {
            return None;
        }
        self.attempt = n;
        self.previous = delay;
        Some(delay)
    }

    /// Delays handed out so far.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Time since the sequence began.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// The policy.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn rng() -> fastrand::Rng {
        fastrand::Rng::with_seed(42)
    }

    #[test]
    fn the_seed_spellings_name_the_same_strategies() {
        let seed = JitterConfig {
            strategy: JitterStrategy::FullJitter,
            ..JitterConfig::default()
        };
        assert_eq!(seed, JitterConfig::full());
        assert_eq!(JitterStrategy::EqualJitter, JitterStrategy::Equal);
        assert_eq!(
            JitterStrategy::DecorrelatedJitter,
            JitterStrategy::Decorrelated
        );
    }

    fn delays(b: Backoff, n: usize) -> Vec<Duration> {
        let now = Instant::now();
        let mut s = b.start(now);
        let mut r = rng();
        (0..n)
            .map_while(|_| s.next_delay(now, &mut r, None))
            .collect()
    }

    #[test]
    fn schedules_without_jitter() {
        assert_eq!(delays(Backoff::constant(MS * 5), 3), [MS * 5; 3]);
        assert_eq!(
            delays(Backoff::linear(MS * 100, MS * 50), 4),
            [MS * 100, MS * 150, MS * 200, MS * 250]
        );
        assert_eq!(
            delays(Backoff::exponential(MS * 100, MS * 1000), 6),
            [MS * 100, MS * 200, MS * 400, MS * 800, MS * 1000, MS * 1000]
        );
        let gentle = Backoff::new(BackoffSchedule::Exponential {
            base: MS * 100,
            factor: 1.5,
        });
        assert_eq!(delays(gentle, 3), [MS * 100, MS * 150, MS * 225]);
    }

    #[test]
    fn bad_factors_and_huge_attempts_do_not_panic() {
        for factor in [f64::NAN, f64::INFINITY, -2.0, 0.5] {
            let b = Backoff::new(BackoffSchedule::Exponential { base: MS, factor });
            // Every one of them is taken as a factor of 1.
            assert_eq!(b.base_delay(u32::MAX), MS, "{factor}");
        }
        let huge = Backoff::exponential(Duration::MAX, Duration::MAX);
        assert_eq!(huge.base_delay(u32::MAX), Duration::from_nanos(u64::MAX));
        let zero = Backoff::new(BackoffSchedule::Exponential {
            base: Duration::ZERO,
            factor: f64::INFINITY,
        });
        assert_eq!(zero.base_delay(10), Duration::ZERO);
        let full = Backoff::linear(Duration::MAX, Duration::MAX).with_jitter(JitterConfig::full());
        assert_eq!(delays(full, 3).len(), 3);
    }

    #[test]
    fn full_and_equal_jitter_stay_in_their_ranges() {
        let base = Backoff::exponential(MS * 100, MS * 1000);
        let full = delays(base.with_jitter(JitterConfig::full()), 8);
        let equal = delays(base.with_jitter(JitterConfig::equal()), 8);
        for (i, (f, e)) in full.iter().zip(&equal).enumerate() {
            let t = base.base_delay(i as u32 + 1);
            assert!(*f <= t);
            assert!(*e >= t / 2 && *e <= t);
        }
        // Full jitter actually varies.
        assert!(full.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn decorrelated_jitter_grows_from_the_previous_delay() {
        let b =
            Backoff::exponential(MS * 100, MS * 10_000).with_jitter(JitterConfig::decorrelated());
        let d = delays(b, 20);
        let mut previous = MS * 100;
        for x in d {
            assert!(x >= MS * 100 && x <= previous * 3 && x <= MS * 10_000);
            previous = x;
        }
    }

    #[test]
    fn min_delay_is_a_floor_and_max_delay_a_ceiling() {
        let b = Backoff::exponential(MS * 10, MS * 40)
            .with_jitter(JitterConfig::full().with_min_delay(MS * 5));
        for d in delays(b, 50) {
            assert!(d >= MS * 5 && d <= MS * 40);
        }
    }

    #[test]
    fn same_seed_same_delays() {
        let b = Backoff::default();
        assert_eq!(delays(b, 10), delays(b, 10));
    }

    #[test]
    fn server_hint_overrides_up_to_max_wait() {
        let b = Backoff::exponential(MS * 100, MS * 1000).with_max_wait(Duration::from_secs(5));
        let now = Instant::now();
        let mut s = b.start(now);
        let mut r = rng();
        assert_eq!(
            s.next_delay(now, &mut r, Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            s.next_delay(now, &mut r, Some(Duration::from_secs(6))),
            None
        );
        // Giving up on one hint does not consume an attempt.
        assert_eq!(s.attempt(), 1);
        assert_eq!(s.next_delay(now, &mut r, None), Some(MS * 200));
    }

    #[test]
    fn max_elapsed_and_max_retries_end_the_sequence() {
        let now = Instant::now();
        let mut r = rng();
        let b = Backoff::constant(Duration::from_secs(1)).with_max_elapsed(Duration::from_secs(3));
        let mut s = b.start(now);
        assert!(
            s.next_delay(now + Duration::from_secs(2), &mut r, None)
                .is_some()
        );
        assert_eq!(
            s.next_delay(now + Duration::from_millis(2001), &mut r, None),
            None
        );
        assert_eq!(
            s.elapsed(now + Duration::from_secs(2)),
            Duration::from_secs(2)
        );

        assert_eq!(
            delays(Backoff::constant(MS).with_max_retries(3), 10).len(),
            3
        );
    }
}
