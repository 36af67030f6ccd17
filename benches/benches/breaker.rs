//! nb-breaker: permit + record (uncontended and on two threads), backoff
//! delays, rate limiter and retry budget, each against a baseline measured
//! in the same run. All in virtual time: `now` is a fixed `Instant`, so the
//! clock read is not part of the figure.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use nb_breaker::{
    Backoff, CircuitBreaker, CircuitBreakerConfig, FailureRatePolicy, JitterConfig, ObservedLimits,
    RateLimiter, RateLimits, RetryBudget, RetryBudgetConfig, SlidingWindow,
};

fn rate_breaker(window: SlidingWindow) -> CircuitBreaker {
    CircuitBreaker::new(CircuitBreakerConfig::failure_rate(FailureRatePolicy {
        window,
        ..FailureRatePolicy::default()
    }))
}

/// One permit taken and recorded as a success.
#[inline]
fn permit_success(breaker: &CircuitBreaker, now: Instant) {
    if let Ok(permit) = breaker.try_acquire(now) {
        permit.success(now);
    }
}

fn permit_record(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("breaker/permit_record");
    let counter = AtomicU64::new(0);
    g.bench_function("baseline_atomic_fetch_add", |b| {
        b.iter(|| counter.fetch_add(1, Ordering::Relaxed))
    });
    let mutex = Mutex::new(0u64);
    g.bench_function("uncontended_mutex_increment", |b| {
        b.iter(|| {
            if let Ok(mut n) = mutex.lock() {
                *n += 1;
            }
        })
    });
    let consecutive = CircuitBreaker::new(CircuitBreakerConfig::default());
    g.bench_function("consecutive_failures_success", |b| {
        b.iter(|| permit_success(black_box(&consecutive), now))
    });
    // A failure then a success: two compare-and-swaps on the state word.
    let flapping = CircuitBreaker::new(CircuitBreakerConfig::default());
    g.bench_function("consecutive_failures_failure_then_success", |b| {
        b.iter(|| {
            if let Ok(p) = flapping.try_acquire(now) {
                p.failure(now);
            }
            permit_success(black_box(&flapping), now);
        })
    });
    let count = rate_breaker(SlidingWindow::Count(100));
    g.bench_function("failure_rate_count_window_success", |b| {
        b.iter(|| permit_success(black_box(&count), now))
    });
    let time = rate_breaker(SlidingWindow::Time(Duration::from_secs(60)));
    g.bench_function("failure_rate_time_window_success", |b| {
        b.iter(|| permit_success(black_box(&time), now))
    });
    g.bench_function("rejected_while_open", |b| {
        let open = CircuitBreaker::new(CircuitBreakerConfig::default());
        open.force_open(now);
        b.iter(|| black_box(open.try_acquire(now).is_err()))
    });
    g.finish();
}

/// Runs `op` `iters` times on each of two threads started together and
/// returns the slower thread's time: the time per operation as each thread
/// sees it while the other does the same.
fn on_two_threads(iters: u64, op: impl Fn() + Sync) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let run = || {
            barrier.wait();
            let start = Instant::now();
            for _ in 0..iters {
                op();
            }
            start.elapsed()
        };
        let a = s.spawn(run);
        let b = s.spawn(run);
        let a = a.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        let b = b.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        a.max(b)
    })
}

fn permit_record_two_threads(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("breaker/permit_record_2_threads");
    let counter = AtomicU64::new(0);
    g.bench_function("baseline_shared_atomic_fetch_add", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, || {
                counter.fetch_add(1, Ordering::Relaxed);
            })
        })
    });
    let mutex = Mutex::new(0u64);
    g.bench_function("shared_mutex_increment", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, || {
                if let Ok(mut n) = mutex.lock() {
                    *n += 1;
                }
            })
        })
    });
    let consecutive = CircuitBreaker::new(CircuitBreakerConfig::default());
    g.bench_function("consecutive_failures_success", |b| {
        b.iter_custom(|iters| on_two_threads(iters, || permit_success(&consecutive, now)))
    });
    let count = rate_breaker(SlidingWindow::Count(100));
    g.bench_function("failure_rate_count_window_success", |b| {
        b.iter_custom(|iters| on_two_threads(iters, || permit_success(&count, now)))
    });
    g.finish();
}

fn backoff_next_delay(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("breaker/backoff_next_delay");
    let mut rng = nb_breaker::fastrand::Rng::with_seed(1);
    g.bench_function("baseline_rng_u64", |b| {
        b.iter(|| rng.u64(0..=1_000_000_000))
    });
    let exponential = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(30));
    // Each iteration asks for the fourth delay of a sequence.
    let at_attempt_3 = |backoff: Backoff| {
        let mut s = backoff.start(now);
        let mut r = nb_breaker::fastrand::Rng::with_seed(2);
        for _ in 0..3 {
            let _ = s.next_delay(now, &mut r, None);
        }
        s
    };
    for (name, backoff) in [
        ("exponential_no_jitter", exponential),
        (
            "exponential_full_jitter",
            exponential.with_jitter(JitterConfig::full()),
        ),
        (
            "exponential_equal_jitter",
            exponential.with_jitter(JitterConfig::equal()),
        ),
        (
            "decorrelated_jitter",
            exponential.with_jitter(JitterConfig::decorrelated()),
        ),
    ] {
        let state = at_attempt_3(backoff);
        g.bench_function(name, |b| {
            b.iter(|| black_box(state.clone()).next_delay(now, &mut rng, None))
        });
    }
    let state = at_attempt_3(exponential.with_jitter(JitterConfig::full()));
    g.bench_function("server_hint", |b| {
        b.iter(|| black_box(state.clone()).next_delay(now, &mut rng, Some(Duration::from_secs(2))))
    });
    g.finish();
}

fn limiter_try_acquire(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("breaker/limiter_try_acquire");
    let counter = AtomicU64::new(0);
    g.bench_function("baseline_atomic_fetch_add", |b| {
        b.iter(|| counter.fetch_add(1, Ordering::Relaxed))
    });
    // Limits high enough that every call in the run is admitted.
    let requests = RateLimiter::new(RateLimits {
        requests_per_minute: Some(u32::MAX),
        ..RateLimits::default()
    });
    g.bench_function("requests_per_minute", |b| {
        b.iter(|| requests.try_acquire(black_box(0), now))
    });
    let both = RateLimiter::new(RateLimits::per_minute(u32::MAX, u64::MAX / 1_000_000));
    g.bench_function("requests_and_tokens_per_minute", |b| {
        b.iter(|| both.try_acquire(black_box(500), now))
    });
    let observed = RateLimiter::new(RateLimits::per_minute(u32::MAX, u64::MAX / 1_000_000));
    observed.observe(
        ObservedLimits {
            remaining_requests: Some(u64::MAX),
            remaining_tokens: Some(u64::MAX),
            reset_requests: Some(Duration::from_secs(3600)),
            reset_tokens: Some(Duration::from_secs(3600)),
            ..ObservedLimits::default()
        },
        now,
    );
    g.bench_function("requests_tokens_and_observed", |b| {
        b.iter(|| observed.try_acquire(black_box(500), now))
    });
    g.bench_function("check_without_acquiring", |b| {
        b.iter(|| observed.check(black_box(500), now))
    });
    let exhausted = RateLimiter::new(RateLimits {
        requests_per_minute: Some(1),
        request_burst: Some(1),
        ..RateLimits::default()
    });
    let _ = exhausted.try_acquire(0, now);
    g.bench_function("denied", |b| {
        b.iter(|| exhausted.try_acquire(black_box(0), now))
    });
    g.finish();
}

fn retry_budget(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("breaker/retry_budget");
    let counter = AtomicU64::new(0);
    g.bench_function("baseline_atomic_fetch_add", |b| {
        b.iter(|| counter.fetch_add(1, Ordering::Relaxed))
    });
    let budget = RetryBudget::new(RetryBudgetConfig::default());
    g.bench_function("deposit", |b| b.iter(|| budget.deposit(black_box(now))));
    g.bench_function("deposit_and_try_withdraw", |b| {
        b.iter(|| {
            budget.deposit(now);
            black_box(budget.try_withdraw(now))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = permit_record, permit_record_two_threads, backoff_next_delay, limiter_try_acquire, retry_budget
}
criterion_main!(benches);
