//! The circuit breaker: may we call this model at all, and if not, when?
//!
//! The whole state machine lives in one atomic word (see `state.rs`); a
//! permit is a plain value that remembers which generation of that word it
//! was issued in. The closed fast path reads the word, and recording a
//! success reads it again and bumps one counter: no lock, no allocation, no
//! write to the word unless something changes.

mod builder;
mod config;
mod permit;
mod state;
mod types;
mod window;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use builder::CircuitBreakerBuilder;
pub use config::{
    CircuitBreakerConfig, ConfigError, FailureRatePolicy, MAX_COUNT_WINDOW, MAX_THRESHOLD,
    MIN_TIME_WINDOW, SlidingWindow, TripPolicy,
};
pub use permit::Permit;
pub use types::{
    BreakerEvent, BreakerMetrics, BreakerSnapshot, CallOutcome, CircuitState, RejectReason,
    Rejected, Transition, TransitionCause,
};
pub use window::WindowStats;

use crate::clock::{CachePadded, Epoch, duration_nanos};
use state::{MAX_LEVEL, Mode, PAYLOAD_MAX, Word};
use window::Window;

/// The hint a rejection carries while every half-open probe slot is taken
/// and no probe has finished yet to say how long one takes.
pub const DEFAULT_PROBE_HINT: Duration = Duration::from_secs(1);

const NANOS_PER_MS: u64 = 1_000_000;

type Observer = Box<dyn Fn(&BreakerEvent) + Send + Sync>;

/// The trip policy with its window built.
#[derive(Debug)]
enum Policy {
    Consecutive {
        threshold: u32,
    },
    Rate {
        window: Window,
        /// `minimum_calls`, capped by the size of a count window.
        minimum_calls: u64,
        failure_pct: f32,
        slow_pct: f32,
        slow_after: Option<Duration>,
        /// Failures in a row that trip whatever the window says.
        consecutive: Option<u32>,
        /// Judge the failure rate by its Wilson lower bound at this z.
        confidence_z: Option<f32>,
    },
}

impl Policy {
    fn new(policy: &TripPolicy) -> Self {
        match policy {
            TripPolicy::ConsecutiveFailures { failure_threshold } => Self::Consecutive {
                threshold: *failure_threshold,
            },
            TripPolicy::FailureRate(p) => {
                let minimum_calls = match p.window {
                    SlidingWindow::Count(n) => p.minimum_calls.min(n),
                    SlidingWindow::Time(_) => p.minimum_calls,
                };
                Self::Rate {
                    window: Window::new(p.window),
                    minimum_calls: minimum_calls.into(),
                    failure_pct: p.failure_rate_threshold,
                    slow_pct: p.slow_call_rate_threshold,
                    slow_after: p.slow_call_duration,
                    consecutive: p.consecutive_failures,
                    confidence_z: p.confidence_z,
                }
            }
        }
    }

    fn window(&self) -> Option<&Window> {
        match self {
            Self::Rate { window, .. } => Some(window),
            Self::Consecutive { .. } => None,
        }
    }

    fn clear_window(&self) {
        if let Some(w) = self.window() {
            w.clear();
        }
    }
}

#[derive(Debug, Default)]
struct Hot {
    word: AtomicU64,
    /// Nanoseconds since the epoch until which a Retry-After pauses calls;
    /// 0 when none.
    throttled_until: AtomicU64,
}

#[derive(Debug, Default)]
struct Counters {
    successes: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
    ignored: AtomicU64,
    rate_limited: AtomicU64,
    abandoned: AtomicU64,
    rejected: AtomicU64,
    opened: AtomicU64,
}

/// The lower end of the Wilson score interval of `k` successes in `n`
/// trials at `z` standard deviations (0 when `n` is 0).
fn wilson_lower(k: u64, n: u64, z: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (n, p) = (n as f64, k as f64 / n as f64);
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - spread) / (1.0 + z2 / n)).max(0.0)
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A lock-free circuit breaker for one model or endpoint.
///
/// Share it (`Arc<CircuitBreaker>`, it is `Send + Sync`) between every task
/// that calls the model. Each call asks [`try_acquire`](Self::try_acquire)
/// for a [`Permit`] and consumes the permit with the call's outcome; a
/// rejected call gets [`Rejected`] with the time until the breaker may
/// admit one again.
///
/// **Closed**: the trip policy judges every outcome; when it trips the
/// breaker opens. **Open**: every call is rejected for the open duration,
/// which starts at `recovery_timeout`, is multiplied by
/// `recovery_multiplier` on each further trip and is at least
/// `recovery_age_percent` of the time since the incident's first trip
/// (capped by `max_recovery_timeout`), until `trip_reset_streak` successes
/// in a row while closed end the incident. **Half-open**: the first call after the open
/// duration becomes a probe; at most `half_open_max_probes` probes of the
/// current half-open period are in flight (a probe left over from an
/// earlier period, which already reopened the breaker, no longer holds a
/// slot). One failed or slow probe reopens the breaker; `success_threshold`
/// successful probes close it. Manual states ([`force_open`](Self::force_open),
/// [`disable`](Self::disable), [`metrics_only`](Self::metrics_only)) hold
/// until [`reset`](Self::reset).
///
/// Acquiring and recording never allocate and never lock. When outcomes
/// race a transition on other threads, each outcome is applied to the
/// state it was issued in or not at all; observers may see events from
/// different threads slightly out of order.
///
/// ```
/// use std::time::{Duration, Instant};
/// use nb_breaker::{CircuitBreaker, CircuitBreakerConfig, CircuitState, RejectReason};
///
/// let breaker = CircuitBreaker::new(CircuitBreakerConfig {
///     recovery_timeout: Duration::from_secs(30),
///     ..CircuitBreakerConfig::consecutive_failures(2)
/// });
/// let t0 = Instant::now();
/// breaker.try_acquire(t0).unwrap().failure(t0);
/// breaker.try_acquire(t0).unwrap().failure(t0);
/// assert_eq!(breaker.state(t0), CircuitState::Open);
///
/// let rejected = breaker.try_acquire(t0 + Duration::from_secs(10)).unwrap_err();
/// assert_eq!(rejected.reason, RejectReason::Open);
/// assert_eq!(rejected.retry_after, Duration::from_secs(20));
///
/// // After the 30 s recovery timeout, two probes go through.
/// let t1 = t0 + Duration::from_secs(30);
/// let probe = breaker.try_acquire(t1).unwrap();
/// assert!(probe.is_probe());
/// let second = breaker.try_acquire(t1).unwrap();
/// assert_eq!(breaker.try_acquire(t1).unwrap_err().reason, RejectReason::HalfOpenBusy);
/// probe.success(t1);
/// second.success(t1);
/// assert_eq!(breaker.state(t1), CircuitState::Closed);
/// ```
pub struct CircuitBreaker {
    hot: CachePadded<Hot>,
    counts: CachePadded<Counters>,
    policy: Policy,
    /// Nanoseconds the last finished probe took; 0 when none has.
    probe_latency: AtomicU64,
    /// When the current incident began (the first trip since the trip
    /// level was last reset), as epoch nanoseconds + 1; 0 when unknown.
    incident_started: AtomicU64,
    epoch: Epoch,
    config: CircuitBreakerConfig,
    observer: Option<Observer>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.load();
        f.debug_struct("CircuitBreaker")
            .field("mode", &w.mode())
            .field("trip_level", &w.level())
            .field("generation", &w.generation())
            .field("metrics", &self.metrics())
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// What a breaker in a given word would do with a call.
enum Step {
    Admit { next: Word, probe: bool },
    Reject(Rejected),
}

/// What a judged outcome does beyond updating the word.
enum Effect {
    Nothing,
    /// Closed → open, for this long.
    Trip(TransitionCause, Duration),
    /// Metrics-only: the breaker would have opened.
    WouldOpen(TransitionCause),
}

/// What a permit remembers about its admission.
#[derive(Debug, Clone, Copy)]
struct Ticket {
    acquired_at: Instant,
    generation: u16,
    probe: bool,
}

impl CircuitBreaker {
    /// A breaker with `config`, out-of-range values clamped into range (see
    /// [`CircuitBreakerConfig::normalized`]); use
    /// [`builder`](Self::builder) to have them reported instead, or to
    /// attach an observer.
    pub fn new(config: CircuitBreakerConfig) -> Self {
        Self::with_observer(config.normalized(), None)
    }

    /// A builder, to validate the configuration and attach an observer.
    pub fn builder() -> CircuitBreakerBuilder {
        CircuitBreakerBuilder {
            config: CircuitBreakerConfig::default(),
            observer: None,
        }
    }

    fn with_observer(config: CircuitBreakerConfig, observer: Option<Observer>) -> Self {
        Self {
            hot: CachePadded(Hot::default()),
            counts: CachePadded(Counters::default()),
            policy: Policy::new(&config.policy),
            probe_latency: AtomicU64::new(0),
            incident_started: AtomicU64::new(0),
            epoch: Epoch::default(),
            config,
            observer,
        }
    }

    /// The configuration in force (after clamping).
    pub fn config(&self) -> &CircuitBreakerConfig {
        &self.config
    }

    #[inline]
    fn load(&self) -> Word {
        Word(self.hot.word.load(Ordering::Acquire))
    }

    #[inline]
    fn cas(&self, current: Word, next: Word) -> Result<(), Word> {
        self.hot
            .word
            .compare_exchange_weak(current.0, next.0, Ordering::AcqRel, Ordering::Acquire)
            .map(drop)
            .map_err(Word)
    }

    /// Asks to make one call at `now`.
    ///
    /// On success the [`Permit`] must be consumed with the call's outcome
    /// (or dropped, which counts as neither). Never blocks, never
    /// allocates.
    #[inline]
    pub fn try_acquire(&self, now: Instant) -> Result<Permit<&Self>, Rejected> {
        let ticket = self.acquire(now)?;
        Ok(Permit {
            breaker: self,
            ticket,
            done: false,
        })
    }

    /// [`try_acquire`](Self::try_acquire) for a shared breaker: the permit
    /// holds a clone of the `Arc`, so it can be stored or moved into a task
    /// or a stream without borrowing.
    #[inline]
    pub fn try_acquire_owned(
        self: &Arc<Self>,
        now: Instant,
    ) -> Result<Permit<Arc<Self>>, Rejected> {
        let ticket = self.acquire(now)?;
        Ok(Permit {
            breaker: Arc::clone(self),
            ticket,
            done: false,
        })
    }

    /// Whether a call at `now` would be admitted, without taking a permit
    /// or counting a rejection: the check a load balancer's availability
    /// filter makes before choosing this model.
    pub fn check(&self, now: Instant) -> Result<(), Rejected> {
        match self.step(self.load(), now) {
            Step::Admit { .. } => Ok(()),
            Step::Reject(r) => Err(r),
        }
    }

    #[inline]
    fn acquire(&self, now: Instant) -> Result<Ticket, Rejected> {
        // Time-based windows bucket from the first `now` the breaker is given.
        self.epoch.fix(now);
        let w = self.load();
        // The hot path: closed and not paused by a Retry-After.
        if w.is(Mode::Closed) && self.hot.throttled_until.load(Ordering::Relaxed) == 0 {
            return Ok(Ticket {
                acquired_at: now,
                generation: w.generation(),
                probe: false,
            });
        }
        self.acquire_slow(w, now)
    }

    #[inline(never)]
    fn acquire_slow(&self, mut w: Word, now: Instant) -> Result<Ticket, Rejected> {
        loop {
            match self.step(w, now) {
                Step::Reject(r) => {
                    bump(&self.counts.rejected);
                    return Err(r);
                }
                Step::Admit { next, probe } => {
                    if next != w {
                        if let Err(actual) = self.cas(w, next) {
                            w = actual;
                            continue;
                        }
                        if w.mode() == Mode::Open {
                            let at = self.epoch.instant(open_until_ns(w)).unwrap_or(now);
                            self.transition(
                                w,
                                next,
                                at,
                                TransitionCause::RecoveryTimeoutElapsed,
                                None,
                            );
                        }
                    }
                    return Ok(Ticket {
                        acquired_at: now,
                        generation: next.generation(),
                        probe,
                    });
                }
            }
        }
    }

    #[inline]
    fn step(&self, w: Word, now: Instant) -> Step {
        let reject = |reason, retry_after| {
            Step::Reject(Rejected {
                retry_after,
                reason,
            })
        };
        match w.mode() {
            Mode::Disabled | Mode::MetricsOnly => Step::Admit {
                next: w,
                probe: false,
            },
            Mode::ForcedOpen => reject(RejectReason::ForcedOpen, Duration::MAX),
            Mode::Closed => match self.throttle_remaining(now) {
                Some(wait) => reject(RejectReason::Throttled, wait),
                None => Step::Admit {
                    next: w,
                    probe: false,
                },
            },
            Mode::Open => {
                let now_ns = self.epoch.nanos(now);
                let until = open_until_ns(w);
                let throttle = self.throttle_remaining(now);
                if now_ns < until {
                    let open = Duration::from_nanos(until - now_ns);
                    return reject(RejectReason::Open, throttle.map_or(open, |t| t.max(open)));
                }
                if let Some(wait) = throttle {
                    return reject(RejectReason::Throttled, wait);
                }
                Step::Admit {
                    next: w.next(Mode::HalfOpen, w.level(), Word::fields(1, 0)),
                    probe: true,
                }
            }
            Mode::HalfOpen => {
                if let Some(wait) = self.throttle_remaining(now) {
                    return reject(RejectReason::Throttled, wait);
                }
                if w.lo() >= self.config.half_open_max_probes {
                    return reject(RejectReason::HalfOpenBusy, self.probe_hint());
                }
                Step::Admit {
                    next: w.with_payload(Word::fields(w.lo() + 1, w.hi())),
                    probe: true,
                }
            }
        }
    }

    #[inline]
    fn throttle_remaining(&self, now: Instant) -> Option<Duration> {
        let until = self.hot.throttled_until.load(Ordering::Relaxed);
        if until == 0 {
            return None;
        }
        let now_ns = self.epoch.nanos(now);
        if now_ns < until {
            return Some(Duration::from_nanos(until - now_ns));
        }
        // Expired: clear it so acquiring takes the fast path again (unless a
        // newer pause replaced it meanwhile).
        let _ = self.hot.throttled_until.compare_exchange(
            until,
            0,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        None
    }

    fn throttle(&self, retry_after: Duration, now: Instant) {
        let wait = retry_after.min(self.config.max_throttle);
        if wait.is_zero() {
            return;
        }
        let until = self.epoch.nanos(now).saturating_add(duration_nanos(wait));
        self.hot.throttled_until.fetch_max(until, Ordering::Relaxed);
    }

    fn probe_hint(&self) -> Duration {
        match self.probe_latency.load(Ordering::Relaxed) {
            0 => DEFAULT_PROBE_HINT,
            ns => Duration::from_nanos(ns),
        }
    }

    /// The open duration at trip level `level` (≥ 1), `age_ns` into the
    /// incident.
    fn open_duration(&self, level: u32, age_ns: u64) -> Duration {
        let c = &self.config;
        let factor = u64::from(c.recovery_multiplier)
            .checked_pow(level.saturating_sub(1))
            .unwrap_or(u64::MAX);
        let by_level = duration_nanos(c.recovery_timeout).saturating_mul(factor);
        let by_age = age_ns / 100 * u64::from(c.recovery_age_percent);
        Duration::from_nanos(by_level.max(by_age)).min(c.max_recovery_timeout)
    }

    /// The open word one trip level up from `w`, and its open duration. A
    /// first trip (level 0) starts an incident.
    fn open_word(&self, w: Word, now_ns: u64) -> (Word, Duration) {
        let level = (w.level() + 1).min(MAX_LEVEL);
        let age_ns = if w.level() == 0 {
            // Stored before the transition is published: a racing caller
            // that loses the swap stores about the same instant.
            self.incident_started
                .store(now_ns.saturating_add(1), Ordering::Relaxed);
            0
        } else {
            match self.incident_started.load(Ordering::Relaxed) {
                // Restored from a snapshot without one: no age to go by.
                0 => 0,
                started => now_ns.saturating_sub(started - 1),
            }
        };
        let open_for = self.open_duration(level, age_ns);
        let until_ns = now_ns.saturating_add(duration_nanos(open_for));
        let until_ms = until_ns.div_ceil(NANOS_PER_MS).min(PAYLOAD_MAX);
        (w.next(Mode::Open, level, until_ms), open_for)
    }

    #[inline]
    fn complete(&self, t: Ticket, outcome: CallOutcome, now: Instant) {
        let c = &self.counts;
        let (failed, slow) = match outcome {
            CallOutcome::Success => (false, self.measured_slow(t, now)),
            CallOutcome::Failure => (true, self.measured_slow(t, now)),
            CallOutcome::Slow => (false, true),
            CallOutcome::Ignored => {
                bump(&c.ignored);
                return self.release_probe(t);
            }
            CallOutcome::RateLimited { retry_after } => {
                bump(&c.rate_limited);
                if let Some(d) = retry_after {
                    self.throttle(d, now);
                }
                return self.release_probe(t);
            }
            CallOutcome::Persistent => {
                bump(&c.failures);
                if t.probe {
                    return self.finish_probe(t, true, now);
                }
                return self.trip(t, TransitionCause::PersistentFailure, now);
            }
        };
        bump(if failed { &c.failures } else { &c.successes });
        if slow {
            bump(&c.slow);
        }
        if t.probe {
            return self.finish_probe(t, failed || slow, now);
        }
        match &self.policy {
            Policy::Consecutive { threshold } => {
                // The hot path: a success with nothing to reset writes nothing.
                if !(failed || slow) && self.load() == Word::quiet_closed(t.generation) {
                    return;
                }
                self.judge_consecutive(t, failed || slow, *threshold, now);
            }
            Policy::Rate { .. } => self.judge_rate(t, failed, slow, now),
        }
    }

    /// Whether the policy's `slow_call_duration` passed between acquire and
    /// `now`.
    #[inline]
    fn measured_slow(&self, t: Ticket, now: Instant) -> bool {
        match &self.policy {
            Policy::Rate {
                slow_after: Some(d),
                ..
            } => now.saturating_duration_since(t.acquired_at) >= *d,
            _ => false,
        }
    }

    fn abandon(&self, t: Ticket) {
        bump(&self.counts.abandoned);
        self.release_probe(t);
    }

    /// Frees a probe's half-open slot without judging it.
    #[inline(never)]
    fn release_probe(&self, t: Ticket) {
        if !t.probe {
            return;
        }
        let mut w = self.load();
        while w.generation() == t.generation && w.mode() == Mode::HalfOpen {
            let next = w.with_payload(Word::fields(w.lo().saturating_sub(1), w.hi()));
            match self.cas(w, next) {
                Ok(()) => return,
                Err(actual) => w = actual,
            }
        }
    }

    #[inline(never)]
    fn finish_probe(&self, t: Ticket, bad: bool, now: Instant) {
        let latency = duration_nanos(now.saturating_duration_since(t.acquired_at));
        self.probe_latency.store(latency, Ordering::Relaxed);
        let mut w = self.load();
        while w.generation() == t.generation && w.mode() == Mode::HalfOpen {
            let (next, open_for, cause) = if bad {
                let (next, open_for) = self.open_word(w, self.epoch.nanos(now));
                (next, Some(open_for), Some(TransitionCause::ProbeFailed))
            } else {
                let successes = w.hi() + 1;
                if successes >= self.config.success_threshold {
                    // Nothing is judged into the window while half-open, but
                    // an outcome of the last closed period that passed its
                    // generation check just before the trip may have landed
                    // after the trip emptied it: the new closed period
                    // starts from an empty window.
                    self.policy.clear_window();
                    let next = w.next(Mode::Closed, w.level(), 0);
                    (
                        next,
                        None,
                        Some(TransitionCause::ProbesSucceeded { successes }),
                    )
                } else {
                    let next = w.with_payload(Word::fields(w.lo().saturating_sub(1), successes));
                    (next, None, None)
                }
            };
            match self.cas(w, next) {
                Ok(()) => {
                    if let Some(cause) = cause {
                        self.transition(w, next, now, cause, open_for);
                    }
                    return;
                }
                Err(actual) => w = actual,
            }
        }
    }

    /// A closed (or metrics-only) word after a success, `None` if unchanged:
    /// the failure count clears, and while the trip level is raised the
    /// success streak grows until it resets the level.
    fn after_success(&self, w: Word) -> Option<Word> {
        if w.level() == 0 {
            return (w.payload() != 0).then(|| w.with_payload(0));
        }
        let streak = w.hi() + 1;
        Some(if streak >= self.config.trip_reset_streak {
            w.with_level(0, 0)
        } else {
            w.with_payload(Word::fields(0, streak))
        })
    }

    #[inline(never)]
    fn judge_consecutive(&self, t: Ticket, bad: bool, threshold: u32, now: Instant) {
        let mut w = self.load();
        while w.generation() == t.generation {
            let closed = match w.mode() {
                Mode::Closed => true,
                Mode::MetricsOnly => false,
                _ => return,
            };
            let (next, effect) = if bad {
                let count = w.lo() + 1;
                let cause = TransitionCause::ConsecutiveFailures { count };
                if count < threshold {
                    (w.with_payload(Word::fields(count, 0)), Effect::Nothing)
                } else if closed {
                    let (next, open_for) = self.open_word(w, self.epoch.nanos(now));
                    (next, Effect::Trip(cause, open_for))
                } else {
                    (
                        w.next(Mode::MetricsOnly, w.level(), 0),
                        Effect::WouldOpen(cause),
                    )
                }
            } else {
                match self.after_success(w) {
                    Some(next) => (next, Effect::Nothing),
                    None => return,
                }
            };
            match self.cas(w, next) {
                Ok(()) => return self.apply(w, next, now, effect),
                Err(actual) => w = actual,
            }
        }
    }

    fn judge_rate(&self, t: Ticket, failed: bool, slow: bool, now: Instant) {
        let at_least =
            |part: u64, pct: f32, calls: u64| part as f64 * 100.0 >= f64::from(pct) * calls as f64;
        let Policy::Rate {
            window,
            minimum_calls,
            failure_pct,
            slow_pct,
            consecutive,
            confidence_z,
            ..
        } = &self.policy
        else {
            return;
        };
        let closed_like = |w: Word| {
            w.generation() == t.generation && matches!(w.mode(), Mode::Closed | Mode::MetricsOnly)
        };
        let mut w = self.load();
        if !closed_like(w) {
            return;
        }
        let now_ns = if window.needs_time() {
            self.epoch.nanos(now)
        } else {
            0
        };
        window.record(failed, slow, now_ns);

        // The failures in a row (the word's low field, counted only when
        // the policy trips on them) and the success streak that resets
        // the trip level (its high field).
        while closed_like(w) {
            let next = if failed && consecutive.is_some() {
                w.with_payload(Word::fields(w.lo() + 1, 0))
            } else if failed || slow {
                if w.payload() == 0 {
                    break;
                }
                w.with_payload(0)
            } else {
                match self.after_success(w) {
                    Some(next) => next,
                    None => break,
                }
            };
            match self.cas(w, next) {
                Ok(()) => {
                    w = next;
                    break;
                }
                Err(actual) => w = actual,
            }
        }

        let stats = window.stats(now_ns);
        let in_a_row = w.lo();
        let cause = if failed && consecutive.is_some_and(|n| in_a_row >= n) {
            TransitionCause::ConsecutiveFailures { count: in_a_row }
        } else if stats.calls < *minimum_calls {
            return;
        } else if match confidence_z {
            Some(z) => {
                wilson_lower(stats.failures, stats.calls, f64::from(*z)) * 100.0
                    >= f64::from(*failure_pct)
            }
            None => at_least(stats.failures, *failure_pct, stats.calls),
        } {
            TransitionCause::FailureRate {
                percent: stats.failure_rate(),
                calls: stats.calls,
            }
        } else if at_least(stats.slow, *slow_pct, stats.calls) {
            TransitionCause::SlowCallRate {
                percent: stats.slow_call_rate(),
                calls: stats.calls,
            }
        } else {
            return;
        };
        self.trip(t, cause, now);
    }

    /// Opens a closed breaker of the ticket's generation for `cause` (a metrics-only one
    /// reports that it would have).
    fn trip(&self, t: Ticket, cause: TransitionCause, now: Instant) {
        let mut w = self.load();
        while w.generation() == t.generation && matches!(w.mode(), Mode::Closed | Mode::MetricsOnly)
        {
            let (next, effect) = if w.mode() == Mode::Closed {
                let (next, open_for) = self.open_word(w, self.epoch.nanos(now));
                (next, Effect::Trip(cause, open_for))
            } else {
                (
                    w.next(Mode::MetricsOnly, w.level(), 0),
                    Effect::WouldOpen(cause),
                )
            };
            match self.cas(w, next) {
                Ok(()) => return self.apply(w, next, now, effect),
                Err(actual) => w = actual,
            }
        }
    }

    /// What follows a judged outcome's successful compare-and-swap.
    fn apply(&self, from: Word, to: Word, now: Instant, effect: Effect) {
        match effect {
            Effect::Nothing => {}
            Effect::Trip(cause, open_for) => {
                self.policy.clear_window();
                self.transition(from, to, now, cause, Some(open_for));
            }
            Effect::WouldOpen(cause) => {
                self.policy.clear_window();
                self.emit(|| BreakerEvent::WouldOpen { at: now, cause });
            }
        }
    }

    fn transition(
        &self,
        from: Word,
        to: Word,
        at: Instant,
        cause: TransitionCause,
        open_for: Option<Duration>,
    ) {
        if to.mode() == Mode::Open {
            bump(&self.counts.opened);
        }
        self.emit(|| {
            BreakerEvent::Transition(Transition {
                from: from.mode().state(),
                to: to.mode().state(),
                at,
                cause,
                open_for,
            })
        });
    }

    fn emit(&self, event: impl FnOnce() -> BreakerEvent) {
        if let Some(observer) = &self.observer {
            observer(&event());
        }
    }

    /// The state at `now`. An open breaker whose open duration has passed
    /// reports `HalfOpen`: the next call is a probe (the transition itself,
    /// and its event, happen when that call is admitted).
    pub fn state(&self, now: Instant) -> CircuitState {
        let w = self.load();
        match w.mode() {
            Mode::Open if self.epoch.nanos(now) >= open_until_ns(w) => CircuitState::HalfOpen,
            mode => mode.state(),
        }
    }

    /// The counters and the live values of the trip policy.
    pub fn metrics(&self) -> BreakerMetrics {
        let w = self.load();
        let c = &self.counts;
        let read = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let consecutive_failures = match (&self.policy, w.mode()) {
            (Policy::Consecutive { .. }, Mode::Closed | Mode::MetricsOnly) => w.lo(),
            _ => 0,
        };
        BreakerMetrics {
            successes: read(&c.successes),
            failures: read(&c.failures),
            slow: read(&c.slow),
            ignored: read(&c.ignored),
            rate_limited: read(&c.rate_limited),
            abandoned: read(&c.abandoned),
            rejected: read(&c.rejected),
            opened: read(&c.opened),
            consecutive_failures,
            trip_level: w.level(),
        }
    }

    /// What the failure-rate window holds at `now`; `None` under the
    /// consecutive-failures policy.
    pub fn window_stats(&self, now: Instant) -> Option<WindowStats> {
        let window = self.policy.window()?;
        Some(window.stats(self.epoch.nanos(now)))
    }

    /// Forces the breaker open: every call is rejected with
    /// [`RejectReason::ForcedOpen`] until [`reset`](Self::reset).
    pub fn force_open(&self, now: Instant) {
        self.set_mode(Mode::ForcedOpen, None, now);
    }

    /// Disables the breaker: every call is admitted and nothing is judged
    /// (outcomes are still counted) until [`reset`](Self::reset).
    pub fn disable(&self, now: Instant) {
        self.set_mode(Mode::Disabled, None, now);
    }

    /// Metrics-only (shadow) mode: every call is admitted and judged; where
    /// the breaker would open it emits [`BreakerEvent::WouldOpen`] instead.
    /// Holds until [`reset`](Self::reset).
    pub fn metrics_only(&self, now: Instant) {
        self.set_mode(Mode::MetricsOnly, None, now);
    }

    /// Back to closed, as new: trip level, failure counts, window and any
    /// Retry-After pause cleared (the lifetime counters are kept).
    pub fn reset(&self, now: Instant) {
        self.hot.throttled_until.store(0, Ordering::Relaxed);
        self.set_mode(Mode::Closed, Some(0), now);
    }

    /// Replaces the word with `f(word)` whatever it holds; returns the old
    /// and the new word.
    fn replace(&self, f: impl Fn(Word) -> Word) -> (Word, Word) {
        let update = |w| Some(f(Word(w)).0);
        let old = match self
            .hot
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, update)
        {
            Ok(w) | Err(w) => Word(w),
        };
        (old, f(old))
    }

    fn set_mode(&self, mode: Mode, level: Option<u32>, now: Instant) {
        let (w, next) = self.replace(|w| w.next(mode, level.unwrap_or(w.level()), 0));
        self.policy.clear_window();
        if w.mode() != mode {
            self.transition(w, next, now, TransitionCause::Manual, None);
        }
    }

    /// Saves what a restart should remember.
    pub fn snapshot(&self, now: Instant) -> BreakerSnapshot {
        let w = self.load();
        let now_ns = self.epoch.nanos(now);
        let open_remaining = match w.mode() {
            Mode::Open => Duration::from_nanos(open_until_ns(w).saturating_sub(now_ns)),
            _ => Duration::ZERO,
        };
        BreakerSnapshot {
            state: w.mode().state(),
            open_remaining,
            throttle_remaining: self.throttle_remaining(now).unwrap_or_default(),
            metrics: self.metrics(),
        }
    }

    /// Brings back a [`snapshot`](Self::snapshot), with its remaining times
    /// counted from `now`. Permits issued before the restore no longer move
    /// the state machine (their outcomes are still counted).
    pub fn restore(&self, snapshot: &BreakerSnapshot, now: Instant) {
        let now_ns = self.epoch.nanos(now);
        let m = &snapshot.metrics;
        let consecutive = match self.policy {
            Policy::Consecutive { .. } => m.consecutive_failures,
            Policy::Rate { .. } => 0,
        };
        let (mode, payload, open_for) = match snapshot.state {
            CircuitState::Closed => (Mode::Closed, Word::fields(consecutive, 0), None),
            CircuitState::MetricsOnly => (Mode::MetricsOnly, Word::fields(consecutive, 0), None),
            CircuitState::Open | CircuitState::HalfOpen => {
                let until = now_ns.saturating_add(duration_nanos(snapshot.open_remaining));
                let until_ms = until.div_ceil(NANOS_PER_MS).min(PAYLOAD_MAX);
                (Mode::Open, until_ms, Some(snapshot.open_remaining))
            }
            CircuitState::ForcedOpen => (Mode::ForcedOpen, 0, None),
            CircuitState::Disabled => (Mode::Disabled, 0, None),
        };
        let c = &self.counts;
        for (counter, value) in [
            (&c.successes, m.successes),
            (&c.failures, m.failures),
            (&c.slow, m.slow),
            (&c.ignored, m.ignored),
            (&c.rate_limited, m.rate_limited),
            (&c.abandoned, m.abandoned),
            (&c.rejected, m.rejected),
            (&c.opened, m.opened),
        ] {
            counter.store(value, Ordering::Relaxed);
        }
        let throttle = if snapshot.throttle_remaining.is_zero() {
            0
        } else {
            now_ns.saturating_add(duration_nanos(snapshot.throttle_remaining))
        };
        self.hot.throttled_until.store(throttle, Ordering::Relaxed);
        self.policy.clear_window();
        let (w, next) = self.replace(|w| w.next(mode, m.trip_level, payload));
        // Restoring is not a trip: the event is emitted without counting one.
        self.emit(|| {
            BreakerEvent::Transition(Transition {
                from: w.mode().state(),
                to: next.mode().state(),
                at: now,
                cause: TransitionCause::Restored,
                open_for,
            })
        });
    }
}

/// When an open word lets a probe through, in nanoseconds since the epoch.
#[inline]
fn open_until_ns(w: Word) -> u64 {
    w.payload().saturating_mul(NANOS_PER_MS)
}

#[cfg(test)]
mod tests;
