//! Many threads on one breaker, limiter and budget: nothing is lost,
//! nothing is counted twice, nothing is over-admitted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nb_breaker::{
    CallOutcome, CircuitBreaker, CircuitBreakerConfig, CircuitState, FailureRatePolicy, Permit,
    RateLimiter, RateLimits, RetryBudget, RetryBudgetConfig, SlidingWindow,
};

const THREADS: usize = 8;
const PERMITS: u64 = 20_000;

/// What one thread saw.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    acquired: u64,
    rejected: u64,
    successes: u64,
    failures: u64,
    ignored: u64,
    rate_limited: u64,
    dropped: u64,
}

impl std::ops::Add for Tally {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            acquired: self.acquired + o.acquired,
            rejected: self.rejected + o.rejected,
            successes: self.successes + o.successes,
            failures: self.failures + o.failures,
            ignored: self.ignored + o.ignored,
            rate_limited: self.rate_limited + o.rate_limited,
            dropped: self.dropped + o.dropped,
        }
    }
}

/// Hammers `breaker` from [`THREADS`] threads sharing one virtual clock
/// that every call moves forward by a millisecond, so the breaker trips,
/// half-opens and closes many times while permits are in flight.
fn hammer(breaker: &Arc<CircuitBreaker>) -> Tally {
    let t0 = Instant::now();
    let clock = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let breaker = Arc::clone(breaker);
            let clock = Arc::clone(&clock);
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(i as u64);
                let mut tally = Tally::default();
                let mut held: Vec<Permit<Arc<CircuitBreaker>>> = Vec::new();
                for _ in 0..PERMITS {
                    let now = t0 + Duration::from_millis(clock.fetch_add(1, Ordering::Relaxed));
                    // Calls in flight finish whatever happens to new ones:
                    // up to four stay in flight, one ends half the time.
                    if !held.is_empty() && (held.len() >= 4 || rng.bool()) {
                        let p = held.swap_remove(rng.usize(..held.len()));
                        match rng.u8(..20) {
                            0..=9 => {
                                tally.successes += 1;
                                p.success(now);
                            }
                            10..=15 => {
                                tally.failures += 1;
                                p.failure(now);
                            }
                            16 => {
                                tally.ignored += 1;
                                p.ignored();
                            }
                            17 => {
                                tally.rate_limited += 1;
                                p.record(CallOutcome::RateLimited { retry_after: None }, now);
                            }
                            _ => {
                                tally.dropped += 1;
                                drop(p);
                            }
                        }
                    }
                    match breaker.try_acquire_owned(now) {
                        Err(_) => tally.rejected += 1,
                        Ok(p) => {
                            tally.acquired += 1;
                            held.push(p);
                        }
                    }
                }
                tally.dropped += held.len() as u64;
                tally
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .fold(Tally::default(), |a, b| a + b)
}

fn assert_counts_add_up(breaker: &CircuitBreaker, t: Tally) {
    let m = breaker.metrics();
    assert_eq!(t.acquired + t.rejected, THREADS as u64 * PERMITS);
    assert_eq!(m.successes, t.successes);
    assert_eq!(m.failures, t.failures);
    assert_eq!(m.ignored, t.ignored);
    assert_eq!(m.rate_limited, t.rate_limited);
    assert_eq!(m.abandoned, t.dropped);
    assert_eq!(m.rejected, t.rejected);
    assert_eq!(m.permits_ended(), t.acquired);
}

fn config(policy: CircuitBreakerConfig) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        recovery_timeout: Duration::from_millis(50),
        max_recovery_timeout: Duration::from_millis(400),
        half_open_max_probes: 3,
        success_threshold: 2,
        ..policy
    }
}

#[test]
fn consecutive_failures_counts_add_up_under_contention() {
    let breaker = Arc::new(CircuitBreaker::new(config(
        CircuitBreakerConfig::consecutive_failures(3),
    )));
    let tally = hammer(&breaker);
    assert_counts_add_up(&breaker, tally);
    // It really did cycle through its states while threads raced.
    assert!(breaker.metrics().opened > 10, "{:?}", breaker.metrics());
    assert!(tally.rejected > 0);
}

#[test]
fn failure_rate_counts_add_up_under_contention() {
    for window in [
        SlidingWindow::Count(20),
        SlidingWindow::Time(Duration::from_millis(200)),
    ] {
        let breaker = Arc::new(CircuitBreaker::new(config(
            CircuitBreakerConfig::failure_rate(FailureRatePolicy {
                window,
                minimum_calls: 10,
                failure_rate_threshold: 30.0,
                ..FailureRatePolicy::default()
            }),
        )));
        let tally = hammer(&breaker);
        assert_counts_add_up(&breaker, tally);
        assert!(breaker.metrics().opened > 0, "{window:?}");
        let stats = breaker.window_stats(Instant::now()).unwrap();
        assert!(stats.failures <= stats.calls);
    }
}

#[test]
fn a_disabled_breaker_admits_every_thread() {
    let breaker = Arc::new(CircuitBreaker::new(
        CircuitBreakerConfig::consecutive_failures(1),
    ));
    breaker.disable(Instant::now());
    let tally = hammer(&breaker);
    assert_eq!(tally.rejected, 0);
    assert_counts_add_up(&breaker, tally);
    assert_eq!(breaker.state(Instant::now()), CircuitState::Disabled);
}

/// Threads race for half-open probe slots, end their probes every way but
/// a failure (so the half-open period never ends) and count how many they
/// hold: a thread counts a probe only after acquiring it and stops before
/// ending it, so the count can only lag the breaker's own, never lead it.
#[test]
fn never_more_probes_in_flight_than_allowed_under_contention() {
    const MAX_PROBES: u32 = 3;
    let breaker = CircuitBreaker::new(CircuitBreakerConfig {
        half_open_max_probes: MAX_PROBES,
        // Never reached: successes alone keep it half-open.
        success_threshold: nb_breaker::MAX_THRESHOLD,
        ..CircuitBreakerConfig::consecutive_failures(1)
    });
    let t0 = Instant::now();
    breaker.try_acquire(t0).unwrap().failure(t0);
    let now = t0 + Duration::from_secs(30);
    let (in_flight, most, probes) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for i in 0..THREADS {
            let (breaker, in_flight, most, probes) = (&breaker, &in_flight, &most, &probes);
            s.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(i as u64);
                for _ in 0..5_000 {
                    let Ok(permit) = breaker.try_acquire(now) else {
                        continue;
                    };
                    assert!(permit.is_probe());
                    probes.fetch_add(1, Ordering::Relaxed);
                    let held = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
                    most.fetch_max(held, Ordering::Relaxed);
                    for _ in 0..rng.u32(..50) {
                        std::hint::spin_loop();
                    }
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                    match rng.u8(..4) {
                        0 => permit.success(now),
                        1 => permit.ignored(),
                        2 => permit.rate_limited(now, None),
                        _ => drop(permit),
                    }
                }
            });
        }
    });
    let most = most.into_inner();
    assert!(most <= u64::from(MAX_PROBES), "{most} probes in flight");
    assert_eq!(breaker.state(now), CircuitState::HalfOpen);
    // Every slot was given back: a full set of probes can still be taken.
    let all: Vec<_> = (0..MAX_PROBES)
        .map(|_| breaker.try_acquire(now).unwrap())
        .collect();
    assert!(breaker.try_acquire(now).is_err());
    drop(all);
    let m = breaker.metrics();
    assert_eq!(
        m.permits_ended(),
        1 + probes.into_inner() + u64::from(MAX_PROBES)
    );
}

#[test]
fn the_limiter_never_over_admits_under_contention() {
    let limiter = RateLimiter::new(RateLimits {
        requests_per_minute: Some(600),
        tokens_per_minute: Some(60_000),
        request_burst: Some(500),
        token_burst: Some(20_000),
    });
    let now = Instant::now();
    let admitted = AtomicU64::new(0);
    let tokens = AtomicU64::new(0);
    std::thread::scope(|s| {
        for i in 0..THREADS {
            let (limiter, admitted, tokens) = (&limiter, &admitted, &tokens);
            s.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(i as u64);
                for _ in 0..2_000 {
                    let cost = rng.u64(0..100);
                    if limiter.try_acquire(cost, now).is_ok() {
                        admitted.fetch_add(1, Ordering::Relaxed);
                        tokens.fetch_add(cost, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    // All at one instant: at most the bursts, and (16 000 tries) at least
    // one of them is exhausted.
    let (n, t) = (admitted.into_inner(), tokens.into_inner());
    assert!(n <= 500 && t <= 20_000, "{n} requests, {t} tokens");
    assert!(n == 500 || t > 19_900, "{n} requests, {t} tokens");
}

#[test]
fn the_budget_never_overdraws_under_contention() {
    let budget = RetryBudget::new(RetryBudgetConfig {
        ttl: Duration::from_secs(10),
        min_retries_per_second: 1,
        retry_ratio: 0.5,
    });
    let now = Instant::now();
    for _ in 0..1_000 {
        budget.deposit(now);
    }
    // 10 (floor) + 500 (ratio).
    assert_eq!(budget.balance(now), 510);
    let granted = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..200 {
                    if budget.try_withdraw(now) {
                        granted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let granted = granted.into_inner();
    assert!(granted <= 510, "{granted}");
    // Racing for the last few units may refuse a handful, not more.
    assert!(granted >= 500, "{granted}");
    assert_eq!(budget.balance(now), 510 - granted);
}
