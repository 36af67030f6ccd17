//! Per-target measurements in fixed-size atomics, and their snapshot.
//!
//! Everything a target's stats need lives in one [`Meter`]: a ring of
//! [`SLOTS`] time slots (each with request and success counts and a
//! latency histogram of [`BUCKETS`] buckets), a latency EWMA, a peak EWMA and
//! the times of the last success and failure. Nothing grows with traffic.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::clock::{NEVER, Nanos};
use crate::health::HealthState;

/// Slots in the sliding window.
pub(crate) const SLOTS: usize = 6;
/// Buckets in a latency histogram: four per power of two of microseconds,
/// from 256 µs to 2²⁸ µs (about 268 s). Faster samples land in the first
/// bucket, slower ones in the last.
pub(crate) const BUCKETS: usize = 80;
const MIN_EXP: u32 = 8;

/// The histogram bucket of a latency.
#[inline]
fn bucket(latency: Duration) -> usize {
    let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    if us < 1 << MIN_EXP {
        return 0;
    }
    let exp = 63 - us.leading_zeros();
    let sub = (us >> (exp - 2)) & 3;
    let i = (exp - MIN_EXP) as usize * 4 + sub as usize;
    i.min(BUCKETS - 1)
}

/// The midpoint of a histogram bucket: within about ±11 % of any sample in it.
fn bucket_midpoint(i: usize) -> Duration {
    let exp = MIN_EXP + (i / 4) as u32;
    let sub = (i % 4) as u64;
    // Bucket `i` covers [(4 + sub) << (exp - 2), (5 + sub) << (exp - 2)) µs.
    Duration::from_micros((9 + 2 * sub) << (exp - 3))
}

/// One time slot of the sliding window.
#[derive(Debug)]
struct Slot {
    /// Which slot of time (`nanos / slot_len`) the counts belong to.
    epoch: AtomicI64,
    /// Requests in the upper 32 bits, successes in the lower: one atomic
    /// add records both.
    counts: AtomicU64,
    /// Latencies of successes.
    histogram: [AtomicU32; BUCKETS],
}

impl Slot {
    fn new() -> Self {
        Self {
            epoch: AtomicI64::new(NEVER),
            counts: AtomicU64::new(0),
            histogram: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    /// Whether this slot's counts are inside the window ending in `current`.
    fn live(&self, current: i64) -> bool {
        let e = self.epoch.load(Relaxed);
        e != NEVER && (0..SLOTS as i64).contains(&current.wrapping_sub(e))
    }
}

/// Request and success counts over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Counts {
    pub(crate) requests: u64,
    pub(crate) successes: u64,
}

/// Parameters that turn raw measurements into rates and estimates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MeterParams {
    /// Length of one slot in nanoseconds (at least 1).
    pub(crate) slot_nanos: i64,
    pub(crate) ewma_alpha: f64,
    /// Peak EWMA time constant in nanoseconds.
    pub(crate) peak_tau: f64,
    /// Prior latency in nanoseconds.
    pub(crate) prior_latency: f64,
    pub(crate) prior_success_rate: f64,
    pub(crate) prior_weight: f64,
}

impl MeterParams {
    /// The smoothed success rate of `counts`: see [`crate::Prior`].
    pub(crate) fn success_rate(&self, c: Counts) -> f64 {
        if c.requests == 0 {
            return self.prior_success_rate;
        }
        let w = self.prior_weight;
        (c.successes as f64 + w * self.prior_success_rate) / (c.requests as f64 + w)
    }
}

/// All measurements of one target. About 2 KiB, fixed.
///
/// `repr(C)` keeps the fields selection reads (the estimates) first, next
/// to the entry's status, rather than after two kilobytes of histograms.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Meter {
    /// Latency EWMA in nanoseconds as `f64` bits; `0` until the first sample.
    ewma: AtomicU64,
    /// `1 / latency` as `f64` bits (the prior's until the first sample):
    /// the weight weighted selection reads, kept so it divides once per
    /// result rather than once per target per selection.
    speed: AtomicU64,
    /// Peak EWMA in nanoseconds as `f64` bits; `0` until the first sample.
    peak: AtomicU64,
    peak_at: AtomicI64,
    last_success: AtomicI64,
    last_failure: AtomicI64,
    slots: [Slot; SLOTS],
}

impl Meter {
    pub(crate) fn new(p: &MeterParams) -> Self {
        Self {
            ewma: AtomicU64::new(0),
            speed: AtomicU64::new((1.0 / p.prior_latency).to_bits()),
            peak: AtomicU64::new(0),
            peak_at: AtomicI64::new(NEVER),
            last_success: AtomicI64::new(NEVER),
            last_failure: AtomicI64::new(NEVER),
            slots: std::array::from_fn(|_| Slot::new()),
        }
    }

    /// Records one result at `t`.
    ///
    /// The histogram holds successes only, so percentiles describe how long
    /// a successful call takes. Both EWMAs take every success; a failure may
    /// only raise them (a timeout makes a target look slow, a fast `429`
    /// never makes it look fast).
    pub(crate) fn record(&self, p: &MeterParams, t: Nanos, latency: Duration, success: bool) {
        let epoch = t.div_euclid(p.slot_nanos);
        let slot = &self.slots[epoch.rem_euclid(SLOTS as i64) as usize];
        let seen = slot.epoch.load(Relaxed);
        // A slot already reused for a later epoch means this result is older
        // than the window: it updates the estimates below but no counts.
        let counted = if seen == epoch {
            true
        } else if seen == NEVER || seen < epoch {
            // The thread that moves the slot to the new epoch clears it.
            // In the instant between the two, results recorded by other
            // threads may be lost and a reader may still see the slot's
            // old counts: counts are exact single-threaded and approximate
            // at a slot boundary under contention. A slot never used is
            // already clear.
            if slot
                .epoch
                .compare_exchange(seen, epoch, Relaxed, Relaxed)
                .is_ok()
                && seen != NEVER
            {
                slot.counts.store(0, Relaxed);
                for b in &slot.histogram {
                    b.store(0, Relaxed);
                }
            }
            true
        } else {
            false
        };
        if counted {
            slot.counts
                .fetch_add((1 << 32) | u64::from(success), Relaxed);
            if success {
                slot.histogram[bucket(latency)].fetch_add(1, Relaxed);
            }
        }

        // The estimates are read, updated and written back without a
        // read-modify-write: two threads recording at the same instant may
        // lose one sample, which an estimate can afford.
        let sample = (latency.as_secs_f64() * 1e9).max(1.0);
        let prior = p.prior_latency;
        let old = f64::from_bits(self.ewma.load(Relaxed));
        let new = if old == 0.0 && success {
            sample
        } else {
            let base = if old == 0.0 { prior } else { old };
            let new = base + p.ewma_alpha * (sample - base);
            if success || new > base { new } else { old }
        };
        self.ewma.store(new.to_bits(), Relaxed);
        if new > 0.0 {
            self.speed.store((1.0 / new).to_bits(), Relaxed);
        }

        let last = store_max(&self.peak_at, t);
        let old = f64::from_bits(self.peak.load(Relaxed));
        let new = if old == 0.0 {
            if success || sample > prior {
                sample
            } else {
                old
            }
        } else if sample > old {
            sample
        } else if success {
            let decay = decay(t, last, p.peak_tau);
            old * decay + sample * (1.0 - decay)
        } else {
            old
        };
        self.peak.store(new.to_bits(), Relaxed);

        store_max(
            if success {
                &self.last_success
            } else {
                &self.last_failure
            },
            t,
        );
    }

    /// The latency EWMA in nanoseconds: the prior until the first success.
    #[inline]
    pub(crate) fn latency(&self, p: &MeterParams) -> f64 {
        let v = f64::from_bits(self.ewma.load(Relaxed));
        if v == 0.0 { p.prior_latency } else { v }
    }

    /// `1 / latency()`.
    #[inline]
    pub(crate) fn speed(&self) -> f64 {
        f64::from_bits(self.speed.load(Relaxed))
    }

    /// The peak EWMA in nanoseconds, decayed towards zero for the time since
    /// its last sample.
    #[inline]
    pub(crate) fn peak(&self, p: &MeterParams, t: Nanos) -> f64 {
        let v = f64::from_bits(self.peak.load(Relaxed));
        if v == 0.0 {
            return p.prior_latency;
        }
        v * decay(t, self.peak_at.load(Relaxed), p.peak_tau)
    }

    /// Request and success counts in the window ending at `t`.
    pub(crate) fn counts(&self, p: &MeterParams, t: Nanos) -> Counts {
        let current = t.div_euclid(p.slot_nanos);
        let mut c = Counts::default();
        for s in self.slots.iter().filter(|s| s.live(current)) {
            let packed = s.counts.load(Relaxed);
            c.requests += packed >> 32;
            c.successes += packed & u64::from(u32::MAX);
        }
        c
    }

    /// The latency histogram of successes in the window ending at `t`.
    fn histogram(&self, p: &MeterParams, t: Nanos) -> [u64; BUCKETS] {
        let current = t.div_euclid(p.slot_nanos);
        let mut h = [0u64; BUCKETS];
        for s in self.slots.iter().filter(|s| s.live(current)) {
            for (sum, b) in h.iter_mut().zip(&s.histogram) {
                *sum += u64::from(b.load(Relaxed));
            }
        }
        h
    }

    pub(crate) fn last_success(&self) -> Nanos {
        self.last_success.load(Relaxed)
    }

    pub(crate) fn last_failure(&self) -> Nanos {
        self.last_failure.load(Relaxed)
    }

    /// Latency percentiles of successes in the window, as `[p50, p95, p99]`.
    pub(crate) fn percentiles(&self, p: &MeterParams, t: Nanos) -> [Option<Duration>; 3] {
        let h = self.histogram(p, t);
        [0.50, 0.95, 0.99].map(|q| percentile(&h, q))
    }
}

/// Stores `t` if it is later than what `cell` holds; returns what it held.
/// Not a read-modify-write: racing writers may leave the second-latest.
#[inline]
fn store_max(cell: &AtomicI64, t: Nanos) -> Nanos {
    let old = cell.load(Relaxed);
    if t > old {
        cell.store(t, Relaxed);
    }
    old
}

/// `exp(-(t - since) / tau)`, or `1.0` when `since` is not in the past.
#[inline]
fn decay(t: Nanos, since: Nanos, tau: f64) -> f64 {
    if since == NEVER || t <= since {
        return 1.0;
    }
    (-(t.saturating_sub(since) as f64) / tau).exp()
}

/// The `q` quantile of a histogram, as its bucket's midpoint.
fn percentile(h: &[u64; BUCKETS], q: f64) -> Option<Duration> {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, &n) in h.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(bucket_midpoint(i));
        }
    }
    None
}

/// A snapshot of one target's stats, from
/// [`LoadBalancer::stats`](crate::LoadBalancer::stats) or
/// [`LoadBalancer::get_all_stats`](crate::LoadBalancer::get_all_stats).
///
/// Definitions:
///
/// - **success rate**: successes over requests in the window, smoothed
///   towards the [`Prior`](crate::Prior):
///   `(successes + weight × prior) / (requests + weight)`.
/// - **latency**: an EWMA that starts from the prior latency. The first
///   success replaces the prior and later ones blend in; a failure may only
///   raise it (so a failure slower than the prior, before any success,
///   raises the prior, and successes then blend into that).
/// - **latency score**: `fastest / latency`, where `fastest` is the lowest
///   latency among all targets of the balancer: the fastest target scores
///   `1.0`, one twice as slow `0.5`. Latency alone never excludes a target
///   at the default bar: with a perfect success rate its score is at least
///   `0.7`.
/// - **health score**: `0.7 × success rate + 0.3 × latency score`.
/// - **percentiles**: from a fixed histogram of successful latencies in the
///   window (four buckets per doubling, 256 µs to about 268 s), reported as
///   bucket midpoints, so within about ±11 % of the true value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ModelStats {
    /// Results recorded in the window.
    pub requests: u64,
    /// Successes recorded in the window.
    pub successes: u64,
    /// Smoothed success rate.
    pub success_rate: f64,
    /// Latency EWMA (the prior latency until a result moves it).
    pub latency: Duration,
    /// Latency score, `0.0..=1.0`.
    pub latency_score: f64,
    /// Health score, `0.0..=1.0`.
    pub health_score: f64,
    /// Median latency of successes in the window.
    pub p50: Option<Duration>,
    /// 95th percentile latency of successes in the window.
    pub p95: Option<Duration>,
    /// 99th percentile latency of successes in the window.
    pub p99: Option<Duration>,
    /// Requests in flight (live [`InFlight`](crate::InFlight) guards).
    pub in_flight: u32,
    /// When the last success was recorded (not serialized).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub last_success: Option<Instant>,
    /// When the last failure was recorded (not serialized).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub last_failure: Option<Instant>,
    /// Whether the target is in rotation, excluded or on probation.
    pub state: HealthState,
}

impl ModelStats {
    /// Whether the target is out of normal rotation for poor health
    /// ([`Excluded`](HealthState::Excluded) or
    /// [`Probing`](HealthState::Probing)).
    pub fn excluded(&self) -> bool {
        self.state.is_excluded()
    }
}

/// The health score from its two parts.
pub(crate) fn health_score(success_rate: f64, latency_score: f64) -> f64 {
    0.7 * success_rate + 0.3 * latency_score
}

/// `fastest / latency`, in `0.0..=1.0`.
pub(crate) fn latency_score(fastest: f64, latency: f64) -> f64 {
    if latency <= 0.0 {
        return 1.0;
    }
    (fastest / latency).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> MeterParams {
        MeterParams {
            slot_nanos: 10_000_000_000,
            ewma_alpha: 0.5,
            peak_tau: 10e9,
            prior_latency: 1e9,
            prior_success_rate: 0.8,
            prior_weight: 0.0,
        }
    }

    const MS: i64 = 1_000_000;
    const SEC: i64 = 1_000_000_000;

    #[test]
    fn buckets_grow_by_quarter_octaves_and_are_bounded() {
        assert_eq!(bucket(Duration::ZERO), 0);
        assert_eq!(bucket(Duration::from_micros(256)), 0);
        assert_eq!(bucket(Duration::from_micros(320)), 1);
        assert_eq!(bucket(Duration::from_micros(512)), 4);
        assert_eq!(bucket(Duration::from_secs(100_000)), BUCKETS - 1);
        let mut last = 0;
        for ms in 1..200_000u64 {
            let b = bucket(Duration::from_millis(ms));
            assert!(b >= last, "monotonic");
            last = b;
        }
    }

    #[test]
    fn a_bucket_midpoint_is_within_eleven_percent_of_its_samples() {
        for us in (256..(1u64 << 28)).step_by(997) {
            let d = Duration::from_micros(us);
            let mid = bucket_midpoint(bucket(d)).as_secs_f64();
            let err = (mid - d.as_secs_f64()).abs() / d.as_secs_f64();
            assert!(err <= 0.126, "{us} µs -> {mid} s ({err})");
        }
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let p = params();
        let m = Meter::new(&p);
        for i in 1..=100u64 {
            m.record(&p, 0, Duration::from_millis(i * 10), true);
        }
        let [p50, p95, p99] = m.percentiles(&p, 0).map(Option::unwrap);
        let near = |d: Duration, ms: f64| (d.as_secs_f64() * 1e3 - ms).abs() / ms < 0.12;
        assert!(near(p50, 500.0), "{p50:?}");
        assert!(near(p95, 950.0), "{p95:?}");
        assert!(near(p99, 990.0), "{p99:?}");
        m.record(&p, 0, Duration::from_secs(60), false);
        assert_eq!(
            m.percentiles(&p, 0)[2],
            Some(p99),
            "failures are not in the histogram"
        );
    }

    #[test]
    fn no_successes_means_no_percentiles() {
        let p = params();
        let m = Meter::new(&p);
        assert_eq!(m.percentiles(&p, 0), [None; 3]);
        m.record(&p, 0, Duration::from_millis(5), false);
        assert_eq!(m.percentiles(&p, 0), [None; 3]);
    }

    #[test]
    fn counts_slide_out_of_the_window_slot_by_slot() {
        let p = params();
        let m = Meter::new(&p);
        m.record(&p, 0, Duration::from_millis(1), true);
        m.record(&p, 25 * SEC, Duration::from_millis(1), false);
        let both = Counts {
            requests: 2,
            successes: 1,
        };
        assert_eq!(m.counts(&p, 25 * SEC), both);
        assert_eq!(m.counts(&p, 59 * SEC), both);
        // At 60 s the first slot (0..10 s) has expired.
        let second = Counts {
            requests: 1,
            successes: 0,
        };
        assert_eq!(m.counts(&p, 60 * SEC), second);
        assert_eq!(m.counts(&p, 79 * SEC), second);
        assert_eq!(m.counts(&p, 80 * SEC), Counts::default());
        // Reusing a slot clears what it held.
        m.record(&p, 60 * SEC, Duration::from_millis(1), true);
        assert_eq!(
            m.counts(&p, 60 * SEC),
            Counts {
                requests: 2,
                successes: 1
            }
        );
    }

    #[test]
    fn a_result_older_than_the_window_is_not_counted() {
        let p = params();
        let m = Meter::new(&p);
        m.record(&p, 60 * SEC, Duration::from_millis(1), true);
        m.record(&p, 0, Duration::from_millis(1), false);
        assert_eq!(m.counts(&p, 60 * SEC).requests, 1);
        assert_eq!(m.last_failure(), 0, "but it is still the last failure");
    }

    #[test]
    fn times_before_the_origin_work() {
        let p = params();
        let m = Meter::new(&p);
        m.record(&p, -5 * SEC, Duration::from_millis(1), true);
        assert_eq!(m.counts(&p, -5 * SEC).requests, 1);
        assert_eq!(m.counts(&p, 30 * SEC).requests, 1);
        assert_eq!(m.last_success(), -5 * SEC);
    }

    #[test]
    fn the_ewma_starts_at_the_first_success_and_failures_only_raise_it() {
        let p = params();
        let m = Meter::new(&p);
        assert_eq!(m.latency(&p), 1e9, "the prior");
        assert_eq!(m.speed(), 1e-9);
        m.record(&p, 0, Duration::from_millis(10), false);
        assert_eq!(
            m.latency(&p),
            1e9,
            "a fast failure does not lower the prior"
        );
        m.record(&p, 0, Duration::from_millis(100), true);
        assert_eq!(m.latency(&p), 100.0 * MS as f64);
        m.record(&p, 0, Duration::from_millis(200), true);
        assert_eq!(m.latency(&p), 150.0 * MS as f64, "alpha 0.5");
        assert_eq!(m.speed(), 1.0 / (150.0 * MS as f64));
        m.record(&p, 0, Duration::from_millis(1), false);
        assert_eq!(m.latency(&p), 150.0 * MS as f64);
        m.record(&p, 0, Duration::from_millis(350), false);
        assert_eq!(m.latency(&p), 250.0 * MS as f64, "a slow failure raises it");
    }

    #[test]
    fn a_slow_failure_before_any_success_raises_the_prior_and_successes_blend_in() {
        let p = params();
        let m = Meter::new(&p);
        m.record(&p, 0, Duration::from_secs(3), false);
        assert_eq!(m.latency(&p), 2e9, "1 s + 0.5 × (3 s - 1 s)");
        m.record(&p, 0, Duration::from_secs(1), true);
        assert_eq!(m.latency(&p), 1.5e9, "blended, not replaced");
    }

    #[test]
    fn the_peak_ewma_jumps_up_decays_down_and_fades_when_idle() {
        let p = params();
        let m = Meter::new(&p);
        assert_eq!(m.peak(&p, 0), 1e9, "the prior");
        m.record(&p, 0, Duration::from_millis(10), false);
        assert_eq!(
            m.peak(&p, 0),
            1e9,
            "a fast failure does not lower the prior"
        );
        m.record(&p, 0, Duration::from_millis(100), true);
        assert_eq!(m.peak(&p, 0), 100e6, "the first success replaces the prior");
        m.record(&p, 0, Duration::from_secs(3), true);
        assert_eq!(m.peak(&p, 0), 3e9, "a slower sample is taken at once");
        // 10 s later (one time constant) a 1 s sample pulls it part way.
        m.record(&p, 10 * SEC, Duration::from_secs(1), true);
        let e = (-1.0f64).exp();
        let want = 3e9 * e + 1e9 * (1.0 - e);
        assert!((m.peak(&p, 10 * SEC) - want).abs() < 1e3);
        // Idle for another time constant: it fades towards zero.
        assert!((m.peak(&p, 20 * SEC) - want * e).abs() < 1e3);
        // A fast failure does not lower it.
        m.record(&p, 20 * SEC, Duration::from_millis(1), false);
        assert!((m.peak(&p, 20 * SEC) - want).abs() < 1e3);
    }

    #[test]
    fn times_centuries_apart_do_not_overflow() {
        let p = params();
        let m = Meter::new(&p);
        m.record(&p, NEVER + 1, Duration::from_millis(5), true);
        m.record(&p, i64::MAX, Duration::from_millis(1), true);
        assert_eq!(
            m.peak(&p, i64::MAX),
            1e6,
            "fully decayed towards the new sample"
        );
        assert_eq!(m.counts(&p, i64::MAX).requests, 1);
    }

    #[test]
    fn success_rate_blends_the_prior() {
        let mut p = params();
        p.prior_weight = 3.0;
        let c = |requests, successes| Counts {
            requests,
            successes,
        };
        assert!(
            (p.success_rate(c(0, 0)) - 0.8).abs() < 1e-12,
            "no data: the prior"
        );
        assert!(
            (p.success_rate(c(3, 0)) - 0.4).abs() < 1e-12,
            "(0 + 2.4) / 6"
        );
        assert!((p.success_rate(c(997, 997)) - 0.9994).abs() < 1e-12);
        p.prior_weight = 0.0;
        assert_eq!(p.success_rate(c(4, 1)), 0.25);
        assert_eq!(p.success_rate(c(0, 0)), 0.8);
    }

    #[test]
    fn latency_score_is_relative_to_the_fastest() {
        assert_eq!(latency_score(100.0, 100.0), 1.0);
        assert_eq!(latency_score(100.0, 200.0), 0.5);
        assert_eq!(latency_score(100.0, 400.0), 0.25);
        assert_eq!(latency_score(100.0, 50.0), 1.0, "clamped");
        assert_eq!(health_score(1.0, 0.0), 0.7, "latency alone never excludes");
        assert!((health_score(0.5, 1.0) - 0.65).abs() < 1e-12);
    }

    #[test]
    fn a_meter_is_about_two_kib() {
        let size = std::mem::size_of::<Meter>();
        assert!((2000..=2200).contains(&size), "{size} bytes");
    }
}
