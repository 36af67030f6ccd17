//! Property tests of the pacing primitives: backoff delays stay within
//! their jitter bounds and caps; the rate limiter never admits more than
//! its rate over any window; the retry budget never lends more than it
//! holds.

use std::time::{Duration, Instant};

use nb_breaker::{
    Backoff, BackoffSchedule, JitterConfig, JitterStrategy, ObservedLimits, RateLimiter,
    RateLimits, RetryBudget, RetryBudgetConfig,
};
use proptest::prelude::*;

const MS: Duration = Duration::from_millis(1);

fn schedule() -> impl Strategy<Value = BackoffSchedule> {
    prop_oneof![
        (0u64..5_000).prop_map(|ms| BackoffSchedule::Constant(MS * ms as u32)),
        (0u64..5_000, 0u64..5_000).prop_map(|(i, s)| BackoffSchedule::Linear {
            initial: MS * i as u32,
            step: MS * s as u32,
        }),
        (
            0u64..5_000,
            prop_oneof![Just(2.0f64), Just(1.5), 0.0f64..10.0]
        )
            .prop_map(|(b, f)| {
                BackoffSchedule::Exponential {
                    base: MS * b as u32,
                    factor: f,
                }
            }),
    ]
}

fn strategy() -> impl Strategy<Value = JitterStrategy> {
    prop_oneof![
        Just(JitterStrategy::None),
        Just(JitterStrategy::Full),
        Just(JitterStrategy::Equal),
        Just(JitterStrategy::Decorrelated),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every delay is within its strategy's bounds, the floor and the cap.
    #[test]
    fn backoff_delays_stay_within_jitter_bounds_and_caps(
        schedule in schedule(),
        strategy in strategy(),
        cap_ms in 1u64..100_000,
        floor_ms in 0u64..200,
        seed in any::<u64>(),
        attempts in 1usize..40,
    ) {
        let cap = MS * cap_ms as u32;
        let floor = MS * floor_ms as u32;
        let backoff = Backoff::new(schedule)
            .with_max_delay(cap)
            .with_jitter(JitterConfig { strategy, min_delay: floor });
        let mut rng = fastrand::Rng::with_seed(seed);
        let now = Instant::now();
        let mut seq = backoff.start(now);
        let mut previous = backoff.base_delay(1);
        for n in 1..=attempts as u32 {
            let d = seq.next_delay(now, &mut rng, None).unwrap();
            let t = backoff.base_delay(n);
            prop_assert!(t <= cap);
            prop_assert!(d <= cap, "{d:?} above the cap {cap:?}");
            prop_assert!(d >= floor.min(cap), "{d:?} below the floor {floor:?}");
            // The strategy's own range, before the floor and cap clamp it.
            let (lo, hi) = match strategy {
                JitterStrategy::None => (t, t),
                JitterStrategy::Full => (Duration::ZERO, t),
                JitterStrategy::Equal => (t / 2, t),
                JitterStrategy::Decorrelated => {
                    let first = backoff.base_delay(1);
                    (first, (previous * 3).max(first))
                }
                _ => unreachable!("a strategy this test does not generate"),
            };
            let clamp = |x: Duration| x.max(floor).min(cap);
            prop_assert!(d >= clamp(lo) && d <= clamp(hi), "{strategy:?} #{n}: {d:?} not in [{lo:?}, {hi:?}]");
            previous = d;
        }
        prop_assert_eq!(seq.attempt(), attempts as u32);
    }

    /// A server hint replaces the delay exactly, up to the max wait; beyond
    /// it, and beyond the elapsed-time limit, the sequence gives up.
    #[test]
    fn server_hints_and_limits(
        max_wait_ms in 0u64..20_000,
        hint_delta in prop_oneof![-2i64..=2, -20_000i64..20_000],
        elapsed_ms in 0u64..20_000,
        elapsed_delta in prop_oneof![-2i64..=2, -40_000i64..40_000],
        seed in any::<u64>(),
    ) {
        // Often right at the boundaries: a hint of max wait ± 2 ms, a limit
        // of elapsed + hint ± 2 ms.
        let offset = |base: u64, delta: i64| base.saturating_add_signed(delta);
        let hint_ms = offset(max_wait_ms, hint_delta);
        let max_elapsed_ms = offset(elapsed_ms + hint_ms, elapsed_delta);
        let backoff = Backoff::default()
            .with_max_wait(MS * max_wait_ms as u32)
            .with_max_elapsed(MS * max_elapsed_ms as u32);
        let t0 = Instant::now();
        let now = t0 + MS * elapsed_ms as u32;
        let mut rng = fastrand::Rng::with_seed(seed);
        let hint = MS * hint_ms as u32;
        let got = backoff.start(t0).next_delay(now, &mut rng, Some(hint));
        let fits = hint_ms <= max_wait_ms && elapsed_ms + hint_ms <= max_elapsed_ms;
        prop_assert_eq!(got, fits.then_some(hint));
        // Without a hint, any delay handed out ends within the limit.
        if let Some(d) = backoff.start(t0).next_delay(now, &mut rng, None) {
            prop_assert!(MS * elapsed_ms as u32 + d <= MS * max_elapsed_ms as u32);
        }
    }
}

/// One step of limiter traffic.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Let this many milliseconds pass, then ask for this many tokens.
    Ask(u64, u64),
    /// The provider reports remaining requests and tokens, resetting in
    /// this many milliseconds.
    Observe(u64, u64, u64),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            9 => (0u64..400, 0u64..300).prop_map(|(ms, c)| Step::Ask(ms, c)),
            1 => (0u64..20, 0u64..2_000, 0u64..5_000).prop_map(|(r, t, ms)| Step::Observe(r, t, ms)),
        ],
        1..300,
    )
}

/// Asserts that over every window between two admissions, the admitted
/// units fit the GCRA bound: `burst + window × rate` (plus the rounding of
/// one nanosecond).
fn assert_rate_bound(
    admitted: &[(u64, u64)],
    per_minute: u64,
    burst: u64,
) -> Result<(), TestCaseError> {
    const MINUTE_NS: u128 = 60_000_000_000;
    for i in 0..admitted.len() {
        let mut units = 0u128;
        for &(t, cost) in &admitted[i..] {
            units += u128::from(cost);
            let window = u128::from(t - admitted[i].0) + 1;
            prop_assert!(
                units * MINUTE_NS
                    <= window * u128::from(per_minute) + u128::from(burst) * MINUTE_NS,
                "{units} units in {window} ns at {per_minute}/min, burst {burst}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever the traffic and whatever the provider reports, the
    /// limiter's own request and token limits hold over every window.
    #[test]
    fn limiter_never_admits_more_than_its_rate(
        rpm in 1u32..600,
        request_burst in 1u32..30,
        tpm in 100u64..50_000,
        token_burst in 300u64..3_000,
        steps in steps(),
    ) {
        let limiter = RateLimiter::new(RateLimits {
            requests_per_minute: Some(rpm),
            tokens_per_minute: Some(tpm),
            request_burst: Some(request_burst),
            token_burst: Some(token_burst),
        });
        let t0 = Instant::now();
        let mut now_ns = 0u64;
        let (mut requests, mut tokens) = (Vec::new(), Vec::new());
        for step in steps {
            let now = t0 + Duration::from_nanos(now_ns);
            match step {
                Step::Ask(ms, cost) => {
                    now_ns += ms * 1_000_000;
                    let now = t0 + Duration::from_nanos(now_ns);
                    let checked = limiter.check(cost, now);
                    let got = limiter.try_acquire(cost, now);
                    // Single-threaded, check predicts try_acquire exactly.
                    prop_assert_eq!(checked, got);
                    match got {
                        Ok(()) => {
                            requests.push((now_ns, 1));
                            tokens.push((now_ns, cost));
                        }
                        Err(denied) => {
                            // Waiting as told is enough (absent new observations).
                            if let Some(wait) = denied.retry_after() {
                                let later = now + wait;
                                prop_assert!(limiter.check(cost, later).is_ok(), "{denied} then still refused");
                            }
                        }
                    }
                }
                Step::Observe(r, t, ms) => limiter.observe(
                    ObservedLimits {
                        remaining_requests: Some(r),
                        remaining_tokens: Some(t),
                        reset_requests: Some(MS * ms as u32),
                        reset_tokens: Some(MS * ms as u32),
                        ..ObservedLimits::default()
                    },
                    now,
                ),
            }
        }
        assert_rate_bound(&requests, rpm.into(), request_burst.into())?;
        let tokens: Vec<_> = tokens.into_iter().filter(|t| t.1 > 0).collect();
        assert_rate_bound(&tokens, tpm, token_burst)?;
    }

    /// After the provider reports `remaining` requests until a reset, the
    /// limiter admits at most that many before the reset.
    #[test]
    fn limiter_honours_the_observed_remaining(
        remaining in 0u64..20,
        reset_ms in 1u64..10_000,
        gaps in prop::collection::vec(0u64..500, 1..100),
    ) {
        let limiter = RateLimiter::unlimited();
        let t0 = Instant::now();
        limiter.observe(
            ObservedLimits {
                remaining_requests: Some(remaining),
                reset_requests: Some(MS * reset_ms as u32),
                ..ObservedLimits::default()
            },
            t0,
        );
        let mut now = t0;
        let mut before_reset = 0;
        for gap in gaps {
            now += MS * gap as u32;
            let ok = limiter.try_acquire(0, now).is_ok();
            if now < t0 + MS * reset_ms as u32 {
                before_reset += u64::from(ok);
            } else {
                prop_assert!(ok, "refused after the reset");
            }
        }
        prop_assert!(before_reset <= remaining);
    }

    /// At one instant, withdrawals never exceed the floor plus the ratio of
    /// deposits, and a refused withdrawal takes nothing.
    #[test]
    fn budget_never_lends_more_than_it_holds(
        floor in 0u32..5,
        ratio in 0.0f32..2.0,
        ops in prop::collection::vec(any::<bool>(), 1..300),
    ) {
        let budget = RetryBudget::new(RetryBudgetConfig {
            ttl: Duration::from_secs(10),
            min_retries_per_second: floor,
            retry_ratio: ratio,
        });
        let now = Instant::now();
        let (mut deposits, mut granted) = (0u64, 0u64);
        for deposit in ops {
            if deposit {
                budget.deposit(now);
                deposits += 1;
            } else if budget.try_withdraw(now) {
                granted += 1;
            }
            let milli_ratio = (f64::from(ratio) * 1000.0).round();
            let allowed = (f64::from(floor) * 10_000.0 + milli_ratio * deposits as f64) / 1000.0;
            prop_assert!(granted as f64 <= allowed + 1e-9);
            prop_assert_eq!(budget.balance(now), (allowed - granted as f64).floor() as u64);
        }
    }
}
