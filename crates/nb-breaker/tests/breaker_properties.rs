//! Property tests of the circuit breaker's invariants, in virtual time:
//! the breaker is compared step by step with a plain sequential model of
//! its state machine, so it opens exactly when (and only when) the
//! configured condition holds; and however permits interleave, no more
//! than `half_open_max_probes` probes of one half-open period are in
//! flight.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nb_breaker::{
    BreakerEvent, CallOutcome, CircuitBreaker, CircuitBreakerConfig, CircuitState,
    FailureRatePolicy, Permit, RejectReason, SlidingWindow, TripPolicy,
};
use proptest::prelude::*;

const MS: u64 = 1_000_000;
const SLOW_AFTER_MS: u64 = 2_000;

/// What one sequential step does: acquire, then end the permit this way
/// `latency_ms` later, then let `pause_ms` pass.
#[derive(Debug, Clone, Copy)]
enum End {
    Success,
    Failure,
    Slow,
    Ignored,
    RateLimited,
    Drop,
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        4 => Just(End::Success),
        4 => Just(End::Failure),
        1 => Just(End::Slow),
        1 => Just(End::Ignored),
        1 => Just(End::RateLimited),
        1 => Just(End::Drop),
    ]
}

/// The trip condition of the model.
#[derive(Debug)]
enum Judge {
    Consecutive {
        threshold: u32,
        count: u32,
    },
    Count {
        size: usize,
        minimum: usize,
        failure_pct: f32,
        slow_pct: f32,
        calls: VecDeque<(bool, bool)>,
    },
    Time {
        width_ns: u64,
        minimum: usize,
        failure_pct: f32,
        slow_pct: f32,
        calls: Vec<(u64, bool, bool)>,
    },
}

fn rates_exceeded(calls: &[(bool, bool)], minimum: usize, failure_pct: f32, slow_pct: f32) -> bool {
    let n = calls.len();
    if n < minimum {
        return false;
    }
    let failures = calls.iter().filter(|c| c.0).count();
    let slow = calls.iter().filter(|c| c.1).count();
    failures as f64 * 100.0 >= f64::from(failure_pct) * n as f64
        || slow as f64 * 100.0 >= f64::from(slow_pct) * n as f64
}

impl Judge {
    /// Records a judged outcome; whether the condition now holds.
    fn record(&mut self, failed: bool, slow: bool, now_ns: u64) -> bool {
        match self {
            Self::Consecutive { threshold, count } => {
                if failed || slow {
                    *count += 1;
                } else {
                    *count = 0;
                }
                *count >= *threshold
            }
            Self::Count {
                size,
                minimum,
                failure_pct,
                slow_pct,
                calls,
            } => {
                calls.push_back((failed, slow));
                if calls.len() > *size {
                    calls.pop_front();
                }
                let v: Vec<_> = calls.iter().copied().collect();
                rates_exceeded(&v, (*minimum).min(*size), *failure_pct, *slow_pct)
            }
            Self::Time {
                width_ns,
                minimum,
                failure_pct,
                slow_pct,
                calls,
            } => {
                calls.push((now_ns, failed, slow));
                let tick = |t: u64| t / *width_ns + 1;
                let oldest = tick(now_ns).saturating_sub(9);
                let v: Vec<_> = calls
                    .iter()
                    .filter(|c| tick(c.0) >= oldest)
                    .map(|c| (c.1, c.2))
                    .collect();
                rates_exceeded(&v, *minimum, *failure_pct, *slow_pct)
            }
        }
    }

    fn clear(&mut self) {
        match self {
            Self::Consecutive { count, .. } => *count = 0,
            Self::Count { calls, .. } => calls.clear(),
            Self::Time { calls, .. } => calls.clear(),
        }
    }

    fn slow_after_ms(&self) -> Option<u64> {
        match self {
            Self::Consecutive { .. } => None,
            _ => Some(SLOW_AFTER_MS),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Closed,
    Open { until_ns: u64 },
    HalfOpen { successes: u32 },
}

/// The breaker's state machine, written the obvious way (one probe at a
/// time, since steps are sequential).
#[derive(Debug)]
struct Model {
    judge: Judge,
    mode: Mode,
    level: u32,
    streak: u32,
    opened: u64,
    base_ns: u64,
    cap_ns: u64,
    success_threshold: u32,
    reset_streak: u32,
}

impl Model {
    fn open(&mut self, now_ns: u64) {
        self.level = (self.level + 1).min(31);
        let factor = 2u64.checked_pow(self.level - 1).unwrap_or(u64::MAX);
        let d = self.base_ns.saturating_mul(factor).min(self.cap_ns);
        self.mode = Mode::Open {
            until_ns: now_ns + d,
        };
        self.opened += 1;
    }

    /// The state at `now_ns`, as `CircuitBreaker::state` reports it.
    fn state(&self, now_ns: u64) -> CircuitState {
        match self.mode {
            Mode::Closed => CircuitState::Closed,
            Mode::Open { until_ns } if now_ns < until_ns => CircuitState::Open,
            Mode::Open { .. } | Mode::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Acquire at `now_ns`: `Err(wait)` if rejected, else whether a probe.
    fn acquire(&mut self, now_ns: u64) -> Result<bool, u64> {
        match self.mode {
            Mode::Closed => Ok(false),
            Mode::Open { until_ns } if now_ns < until_ns => Err(until_ns - now_ns),
            Mode::Open { .. } => {
                self.mode = Mode::HalfOpen { successes: 0 };
                Ok(true)
            }
            Mode::HalfOpen { .. } => Ok(true),
        }
    }

    fn finish(&mut self, probe: bool, failed: bool, slow: bool, now_ns: u64) {
        let bad = failed || slow;
        if probe {
            let Mode::HalfOpen { successes } = self.mode else {
                return;
            };
            if bad {
                self.open(now_ns);
            } else if successes + 1 >= self.success_threshold {
                self.mode = Mode::Closed;
                self.streak = 0;
                self.judge.clear();
            } else {
                self.mode = Mode::HalfOpen {
                    successes: successes + 1,
                };
            }
            return;
        }
        if bad {
            self.streak = 0;
        } else if self.level > 0 {
            self.streak += 1;
            if self.streak >= self.reset_streak {
                self.level = 0;
                self.streak = 0;
            }
        }
        if self.judge.record(failed, slow, now_ns) {
            self.judge.clear();
            self.open(now_ns);
        }
    }
}

fn policy(kind: u8, threshold: u32, window: u32, minimum: u32, pct: f32) -> (TripPolicy, Judge) {
    let rate = |w: SlidingWindow| FailureRatePolicy {
        window: w,
        minimum_calls: minimum,
        failure_rate_threshold: pct,
        slow_call_duration: Some(Duration::from_millis(SLOW_AFTER_MS)),
        slow_call_rate_threshold: 80.0,
        consecutive_failures: None,
        confidence_z: None,
    };
    match kind {
        0 => (
            TripPolicy::ConsecutiveFailures {
                failure_threshold: threshold,
            },
            Judge::Consecutive {
                threshold,
                count: 0,
            },
        ),
        1 => (
            TripPolicy::FailureRate(rate(SlidingWindow::Count(window))),
            Judge::Count {
                size: window as usize,
                minimum: minimum as usize,
                failure_pct: pct,
                slow_pct: 80.0,
                calls: VecDeque::new(),
            },
        ),
        _ => {
            let window_ms = u64::from(window) * 1000;
            (
                TripPolicy::FailureRate(rate(SlidingWindow::Time(Duration::from_millis(
                    window_ms,
                )))),
                Judge::Time {
                    width_ns: window_ms * MS / 10,
                    minimum: minimum as usize,
                    failure_pct: pct,
                    slow_pct: 80.0,
                    calls: Vec::new(),
                },
            )
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// The breaker matches the model after every step: same state, same
    /// rejections and waits, same trip level, same number of trips.
    #[test]
    fn breaker_matches_its_model(
        kind in 0u8..3,
        threshold in 1u32..6,
        window in 2u32..12,
        minimum in 1u32..10,
        pct in prop_oneof![Just(50.0f32), Just(25.0), Just(100.0), 1.0f32..100.0],
        recovery_s in 1u64..5,
        success_threshold in 1u32..4,
        reset_streak in 1u32..5,
        steps in prop::collection::vec((end(), 0u64..3_000, 0u64..4_000), 1..120),
    ) {
        let (trip_policy, judge) = policy(kind, threshold, window, minimum, pct);
        let config = CircuitBreakerConfig {
            policy: trip_policy,
            recovery_timeout: Duration::from_secs(recovery_s),
            recovery_multiplier: 2,
            // The model grows the open duration by trip level alone.
            recovery_age_percent: 0,
            max_recovery_timeout: Duration::from_secs(recovery_s * 4),
            success_threshold,
            half_open_max_probes: 1,
            trip_reset_streak: reset_streak,
            max_throttle: Duration::ZERO,
        };
        let breaker = CircuitBreaker::builder().config(config).build().unwrap();
        let mut model = Model {
            judge,
            mode: Mode::Closed,
            level: 0,
            streak: 0,
            opened: 0,
            base_ns: recovery_s * 1000 * MS,
            cap_ns: recovery_s * 4000 * MS,
            success_threshold,
            reset_streak,
        };
        let t0 = Instant::now();
        let mut now_ns = 0u64;
        let at = |ns: u64| t0 + Duration::from_nanos(ns);
        for (end, latency_ms, pause_ms) in steps {
            let expected = model.acquire(now_ns);
            match (breaker.try_acquire(at(now_ns)), expected) {
                (Err(r), Err(wait)) => {
                    prop_assert_eq!(r.reason, RejectReason::Open);
                    prop_assert_eq!(r.retry_after, Duration::from_nanos(wait));
                }
                (Ok(permit), Ok(probe)) => {
                    prop_assert_eq!(permit.is_probe(), probe);
                    let done = now_ns + latency_ms * MS;
                    let slow_by_latency = model
                        .judge
                        .slow_after_ms()
                        .is_some_and(|s| latency_ms >= s);
                    match end {
                        End::Success => {
                            permit.success(at(done));
                            model.finish(probe, false, slow_by_latency, done);
                        }
                        End::Failure => {
                            permit.failure(at(done));
                            model.finish(probe, true, slow_by_latency, done);
                        }
                        End::Slow => {
                            permit.slow(at(done));
                            model.finish(probe, false, true, done);
                        }
                        End::Ignored => permit.ignored(),
                        End::RateLimited => permit.rate_limited(at(done), None),
                        End::Drop => drop(permit),
                    }
                    now_ns = done;
                }
                (got, want) => {
                    prop_assert!(false, "breaker {:?}, model {:?}", got.map(|p| p.is_probe()), want);
                }
            }
            prop_assert_eq!(breaker.state(at(now_ns)), model.state(now_ns), "{:?}", model);
            let m = breaker.metrics();
            prop_assert_eq!(m.trip_level, model.level);
            prop_assert_eq!(m.opened, model.opened);
            now_ns += pause_ms * MS;
        }
    }
}

/// One interleaved operation on a set of held permits.
#[derive(Debug, Clone, Copy)]
enum Op {
    Acquire,
    /// End the held permit at this index (modulo) with this outcome.
    End(usize, u8),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Acquire),
        3 => (any::<usize>(), 0u8..6).prop_map(|(i, o)| Op::End(i, o)),
        2 => (0u64..2_000).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// However permits are held, ended and dropped, at most
    /// `half_open_max_probes` probes of the current half-open period are in
    /// flight, and every permit is accounted for exactly once.
    #[test]
    fn never_more_probes_than_allowed(
        max_probes in 1u32..5,
        success_threshold in 1u32..5,
        threshold in 1u32..4,
        ops in prop::collection::vec(op(), 1..200),
    ) {
        let periods = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&periods);
        let breaker = CircuitBreaker::builder()
            .config(CircuitBreakerConfig {
                policy: TripPolicy::ConsecutiveFailures { failure_threshold: threshold },
                recovery_timeout: Duration::from_secs(1),
                success_threshold,
                half_open_max_probes: max_probes,
                ..CircuitBreakerConfig::default()
            })
            .on_event(move |e| {
                if let BreakerEvent::Transition(t) = e
                    && t.to == CircuitState::HalfOpen
                {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build()
            .unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        // Held permits, each with the half-open period it probes for.
        let mut held: Vec<(Permit<&CircuitBreaker>, Option<u64>)> = Vec::new();
        let mut acquired = 0u64;
        for op in ops {
            match op {
                Op::Acquire => {
                    if let Ok(p) = breaker.try_acquire(now) {
                        let period = p.is_probe().then(|| periods.load(Ordering::Relaxed));
                        held.push((p, period));
                        acquired += 1;
                    }
                }
                Op::End(i, outcome) if !held.is_empty() => {
                    let (p, _) = held.swap_remove(i % held.len());
                    match outcome {
                        0 => p.success(now),
                        1 => p.failure(now),
                        2 => p.slow(now),
                        3 => p.ignored(),
                        4 => p.record(CallOutcome::RateLimited { retry_after: None }, now),
                        _ => drop(p),
                    }
                }
                Op::End(..) => {}
                Op::Advance(ms) => now += Duration::from_millis(ms),
            }
            let current = periods.load(Ordering::Relaxed);
            let in_flight = held.iter().filter(|(_, p)| *p == Some(current)).count();
            prop_assert!(in_flight <= max_probes as usize, "{in_flight} probes in flight");
        }
        let held_count = held.len() as u64;
        drop(held);
        prop_assert_eq!(breaker.metrics().permits_ended(), acquired);
        prop_assert!(held_count <= acquired);
    }
}
