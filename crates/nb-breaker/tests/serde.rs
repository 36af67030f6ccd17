//! With the `serde` feature, configurations and snapshots survive a trip
//! through JSON: what a restart persists.
#![cfg(feature = "serde")]

use std::time::{Duration, Instant};

use nb_breaker::{
    Backoff, BreakerSnapshot, CircuitBreaker, CircuitBreakerConfig, CircuitState,
    FailureRatePolicy, JitterConfig, RateLimits, RejectReason, RetryBudgetConfig, SlidingWindow,
};

#[test]
fn a_snapshot_survives_json_and_a_restart() {
    let t0 = Instant::now();
    let config = CircuitBreakerConfig {
        recovery_timeout: Duration::from_secs(30),
        ..CircuitBreakerConfig::consecutive_failures(2)
    };
    let before = CircuitBreaker::new(config.clone());
    for _ in 0..2 {
        before.try_acquire(t0).unwrap().failure(t0);
    }
    let json = serde_json::to_string(&before.snapshot(t0 + Duration::from_secs(5))).unwrap();

    let snapshot: BreakerSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(snapshot.state, CircuitState::Open);
    let after = CircuitBreaker::new(config);
    let u0 = Instant::now();
    after.restore(&snapshot, u0);
    let rejected = after.try_acquire(u0).unwrap_err();
    assert_eq!(rejected.reason, RejectReason::Open);
    assert_eq!(rejected.retry_after, Duration::from_secs(25));
    assert_eq!(after.metrics().failures, 2);
}

#[test]
fn configurations_round_trip_and_fill_in_defaults() {
    let config = CircuitBreakerConfig::failure_rate(FailureRatePolicy {
        window: SlidingWindow::Time(Duration::from_secs(30)),
        ..FailureRatePolicy::default()
    });
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(
        serde_json::from_str::<CircuitBreakerConfig>(&json).unwrap(),
        config
    );

    // Fields left out take their defaults.
    let partial: CircuitBreakerConfig =
        serde_json::from_str(r#"{"success_threshold": 5}"#).unwrap();
    assert_eq!(
        partial,
        CircuitBreakerConfig {
            success_threshold: 5,
            ..CircuitBreakerConfig::default()
        }
    );

    let backoff = Backoff::default().with_jitter(JitterConfig::decorrelated());
    let json = serde_json::to_string(&backoff).unwrap();
    assert_eq!(serde_json::from_str::<Backoff>(&json).unwrap(), backoff);

    let limits: RateLimits = serde_json::from_str(r#"{"requests_per_minute": 120}"#).unwrap();
    assert_eq!(limits.requests_per_minute, Some(120));
    let budget: RetryBudgetConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(budget, RetryBudgetConfig::default());
}
