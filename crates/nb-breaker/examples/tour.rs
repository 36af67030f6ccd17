//! A tour of nb-breaker in virtual time: no key, no network, no sleeping.
//!
//! ```sh
//! cargo run --release -p nb-breaker --example tour
//! ```
//!
//! Time is a base `Instant` plus durations, passed to every call, so the
//! two minutes of "traffic" below run in well under a millisecond.

use std::error::Error;
use std::time::{Duration, Instant};

use nb_breaker::{
    Backoff, BreakerEvent, CircuitBreaker, CircuitBreakerConfig, JitterConfig, ObservedLimits,
    RateLimiter, RateLimits, RetryBudget, RetryBudgetConfig,
};

fn secs(d: Duration) -> String {
    format!("{:>6.1}s", d.as_secs_f64())
}

fn main() -> Result<(), Box<dyn Error>> {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let clock = |now: Instant| secs(now.saturating_duration_since(t0));

    println!("nb-breaker quickstart: one model, two minutes of virtual time\n");

    // ── 1. A circuit breaker trips on consecutive failures ──────────────
    println!("1. The model starts failing (a 503 on every call)");
    let breaker = CircuitBreaker::builder()
        // The classic breaker: 5 failures in a row, 30 s open, 3 probes to
        // close. (The default judges a failure rate over 10 s instead.)
        .config(CircuitBreakerConfig {
            recovery_timeout: Duration::from_secs(30),
            success_threshold: 3,
            half_open_max_probes: 1,
            ..CircuitBreakerConfig::consecutive_failures(5)
        })
        .on_event(move |event| match event {
            BreakerEvent::Transition(t) => {
                let open = t
                    .open_for
                    .map(|d| format!(" for {}", secs(d).trim()))
                    .unwrap_or_default();
                println!(
                    "   {}  ⚡ breaker {} → {}{open}  ({:?})",
                    secs(t.at.saturating_duration_since(t0)),
                    t.from,
                    t.to,
                    t.cause
                );
            }
            other => println!("   event: {other:?}"),
        })
        .build()?;
    for i in 1..=5 {
        let now = at((i - 1) * 200);
        let permit = breaker.try_acquire(now)?;
        // ... the call happens here; the caller's diagnosis says: server error.
        let done = now + Duration::from_millis(150);
        println!(
            "   {}  call {i} → 503, a failure ({i} in a row)",
            clock(done)
        );
        permit.failure(done);
    }

    // ── 2. Open: rejected fast, with the time until the next probe ──────
    println!("\n2. While open, calls are refused at once, saying when to come back");
    for ms in [2_000, 17_500] {
        if let Err(rejected) = breaker.try_acquire(at(ms)) {
            println!(
                "   {}  refused: {rejected}  → fall over to another model",
                clock(at(ms))
            );
        }
    }

    // ── 3. Half-open probes, then closed ────────────────────────────────
    println!("\n3. After the recovery timeout, one probe at a time");
    let probe_time = at(31_500);
    let probe = breaker.try_acquire(probe_time)?;
    println!(
        "   {}  probe 1 admitted (is_probe = {})",
        clock(probe_time),
        probe.is_probe()
    );
    if let Err(rejected) = breaker.try_acquire(probe_time) {
        println!(
            "   {}  a second caller is refused: {rejected}",
            clock(probe_time)
        );
    }
    let done = probe_time + Duration::from_millis(800);
    println!("   {}  probe 1 → 200 OK", clock(done));
    probe.success(done);
    for i in 2..=3 {
        let now = at(30_500 + i * 1_000);
        let permit = breaker.try_acquire(now)?;
        let done = now + Duration::from_millis(700);
        println!("   {}  probe {i} → 200 OK", clock(done));
        permit.success(done);
    }
    let now = at(34_500);
    println!("   {}  state: {}", clock(now), breaker.state(now));

    // ── 4. A 429 paces the model; it does not count as a failure ────────
    println!("\n4. The provider throttles (429, Retry-After: 2s): paced, not declared dead");
    let now = at(40_000);
    breaker
        .try_acquire(now)?
        .rate_limited(now, Some(Duration::from_secs(2)));
    let soon = now + Duration::from_millis(500);
    if let Err(rejected) = breaker.try_acquire(soon) {
        println!("   {}  refused: {rejected}", clock(soon));
    }
    let later = now + Duration::from_secs(2);
    breaker.try_acquire(later)?.success(later);
    let m = breaker.metrics();
    println!(
        "   {}  admitted again; still {} (rate-limited: {}, failures: {}, successes: {})",
        clock(later),
        breaker.state(later),
        m.rate_limited,
        m.failures,
        m.successes
    );

    // ── 5. Backoff with full jitter ─────────────────────────────────────
    println!("\n5. Backoff between retries: exponential from 250 ms, capped at 8 s, full jitter");
    let backoff = Backoff::exponential(Duration::from_millis(250), Duration::from_secs(8))
        .with_jitter(JitterConfig::full())
        .with_max_wait(Duration::from_secs(10))
        .with_max_elapsed(Duration::from_secs(30));
    let mut rng = fastrand::Rng::with_seed(2024); // seeded: the same schedule every run
    let start = at(60_000);
    let mut retry = backoff.start(start);
    let mut now = start;
    for n in 1..=7 {
        let Some(delay) = retry.next_delay(now, &mut rng, None) else {
            break;
        };
        println!(
            "   retry {n}: wait {:>5} ms  (anywhere in 0..={} ms)",
            delay.as_millis(),
            backoff.base_delay(n).as_millis()
        );
        now += delay;
    }
    for hint in [3, 45] {
        let verdict = match retry.next_delay(now, &mut rng, Some(Duration::from_secs(hint))) {
            Some(d) => format!("wait {d:?}, as the server asked"),
            None => "over the 10 s max wait: give up, fall over to another model".to_owned(),
        };
        println!("   the server says Retry-After: {hint}s → {verdict}");
    }

    // ── 6. A rate limiter paces before the provider says 429 ────────────
    println!("\n6. Rate limiter: 60 requests/min with a burst of 3, 20 000 tokens/min");
    let limiter = RateLimiter::new(RateLimits {
        requests_per_minute: Some(60),
        request_burst: Some(3),
        tokens_per_minute: Some(20_000),
        ..RateLimits::default()
    });
    let now = at(90_000);
    for i in 1..=5 {
        match limiter.try_acquire(1_200, now) {
            Ok(()) => println!("   {}  request {i} (1 200 tokens): go", clock(now)),
            Err(denied) => println!("   {}  request {i} (1 200 tokens): {denied}", clock(now)),
        }
    }
    // A response carries the provider's own view: 2 requests left for 6 s.
    limiter.observe(
        ObservedLimits {
            remaining_requests: Some(2),
            reset_requests: Some(Duration::from_secs(6)),
            ..ObservedLimits::default()
        },
        now,
    );
    println!(
        "   {}  a response says x-ratelimit-remaining-requests: 2, reset in 6s",
        clock(now)
    );
    for s in [1, 2, 3, 4, 6] {
        let t = now + Duration::from_secs(s);
        match limiter.try_acquire(1_200, t) {
            Ok(()) => println!("   {}  go", clock(t)),
            Err(denied) => println!("   {}  {denied}  (the provider's 2 are spent)", clock(t)),
        }
    }
    if let Err(denied) = limiter.try_acquire(25_000, now + Duration::from_secs(60)) {
        println!("   a 25 000-token request: {denied}  → a model with a larger limit");
    }

    // ── 7. A retry budget stops a retry storm ───────────────────────────
    println!("\n7. Retry budget: retries at most 20% of first attempts (plus 1/s)");
    let budget = RetryBudget::new(RetryBudgetConfig {
        min_retries_per_second: 1,
        retry_ratio: 0.2,
        ..RetryBudgetConfig::default()
    });
    let now = at(120_000);
    let (mut granted, mut refused) = (0, 0);
    for _ in 0..200 {
        budget.deposit(now); // every first attempt fails and wants three retries
        for _ in 0..3 {
            if budget.try_withdraw(now) {
                granted += 1;
            } else {
                refused += 1;
            }
        }
    }
    println!("   200 failing calls wanted 600 retries: {granted} granted, {refused} refused");
    println!("   (10 from the floor of 1/s over 10 s, plus 20% of 200 first attempts)");

    println!("\nDone in {:?} of real time.", t0.elapsed());
    Ok(())
}
