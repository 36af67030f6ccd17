//! Every state transition of the breaker, in virtual time.

use std::sync::Mutex;

use super::*;

const S: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

type Log = Arc<Mutex<Vec<BreakerEvent>>>;

/// The classic breaker these transition tests are written against: five
/// consecutive failures, 30 s open doubling per trip up to 5 min, one probe
/// at a time, three to close. (The shipped defaults are tested on their own
/// below.)
fn classic() -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        policy: TripPolicy::ConsecutiveFailures {
            failure_threshold: 5,
        },
        recovery_timeout: S * 30,
        recovery_multiplier: 2,
        recovery_age_percent: 0,
        max_recovery_timeout: S * 300,
        success_threshold: 3,
        half_open_max_probes: 1,
        trip_reset_streak: 10,
        max_throttle: S * 60,
    }
}

fn observed(config: CircuitBreakerConfig) -> (CircuitBreaker, Log) {
    let log = Log::default();
    let sink = Arc::clone(&log);
    let breaker = CircuitBreaker::builder()
        .config(config)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    (breaker, log)
}

fn transitions(log: &Log) -> Vec<(CircuitState, CircuitState, TransitionCause)> {
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            BreakerEvent::Transition(t) => Some((t.from, t.to, t.cause)),
            BreakerEvent::WouldOpen { .. } => None,
        })
        .collect()
}

fn fail(b: &CircuitBreaker, now: Instant, n: usize) {
    for _ in 0..n {
        b.try_acquire(now).unwrap().failure(now);
    }
}

fn succeed(b: &CircuitBreaker, now: Instant, n: usize) {
    for _ in 0..n {
        b.try_acquire(now).unwrap().success(now);
    }
}

/// Opens a default breaker at `t0` and returns it half-open at `t0 + 30 s`.
fn tripped(config: CircuitBreakerConfig) -> (CircuitBreaker, Log, Instant) {
    let (b, log) = observed(config);
    let t0 = Instant::now();
    fail(&b, t0, 5);
    assert_eq!(b.state(t0), CircuitState::Open);
    (b, log, t0)
}

#[test]
fn closed_to_open_after_consecutive_failures() {
    let (b, log) = observed(classic());
    let t0 = Instant::now();
    fail(&b, t0, 4);
    assert_eq!(b.state(t0), CircuitState::Closed);
    assert_eq!(b.metrics().consecutive_failures, 4);
    fail(&b, t0, 1);
    assert_eq!(b.state(t0), CircuitState::Open);
    assert_eq!(
        transitions(&log),
        [(
            CircuitState::Closed,
            CircuitState::Open,
            TransitionCause::ConsecutiveFailures { count: 5 }
        )]
    );
    let BreakerEvent::Transition(t) = &log.lock().unwrap()[0] else {
        panic!("not a transition")
    };
    assert_eq!((t.at, t.open_for), (t0, Some(S * 30)));
    assert_eq!(b.metrics().opened, 1);
    assert_eq!(b.metrics().trip_level, 1);
}

#[test]
fn a_success_resets_the_failure_count() {
    let b = CircuitBreaker::new(classic());
    let t0 = Instant::now();
    fail(&b, t0, 4);
    succeed(&b, t0, 1);
    assert_eq!(b.metrics().consecutive_failures, 0);
    fail(&b, t0, 4);
    assert_eq!(b.state(t0), CircuitState::Closed);
}

#[test]
fn ignored_and_dropped_calls_count_as_neither() {
    let b = CircuitBreaker::new(classic());
    let t0 = Instant::now();
    fail(&b, t0, 4);
    b.try_acquire(t0).unwrap().ignored();
    drop(b.try_acquire(t0).unwrap());
    assert_eq!(b.metrics().consecutive_failures, 4);
    assert_eq!(b.state(t0), CircuitState::Closed);
    fail(&b, t0, 1);
    assert_eq!(b.state(t0), CircuitState::Open);
    let m = b.metrics();
    assert_eq!(
        (m.ignored, m.abandoned, m.failures, m.successes),
        (1, 1, 5, 0)
    );
}

#[test]
fn slow_counts_as_a_failure_under_consecutive_failures() {
    let b = CircuitBreaker::new(CircuitBreakerConfig::consecutive_failures(2));
    let t0 = Instant::now();
    b.try_acquire(t0).unwrap().slow(t0);
    b.try_acquire(t0).unwrap().failure(t0);
    assert_eq!(b.state(t0), CircuitState::Open);
    let m = b.metrics();
    assert_eq!((m.successes, m.failures, m.slow), (1, 1, 1));
}

#[test]
fn open_rejects_with_the_time_until_the_probe() {
    let (b, _, t0) = tripped(classic());
    let r = b.try_acquire(t0 + S * 10).unwrap_err();
    assert_eq!(
        r,
        Rejected {
            retry_after: S * 20,
            reason: RejectReason::Open
        }
    );
    assert_eq!(r.to_string(), "circuit open: next probe in 20.0s");
    let r = b.try_acquire(t0 + S * 30 - MS).unwrap_err();
    assert_eq!(r.retry_after, MS);
    assert_eq!(b.metrics().rejected, 2);
    // `check` answers the same without counting.
    assert_eq!(b.check(t0 + S * 10).unwrap_err().retry_after, S * 20);
    assert_eq!(b.metrics().rejected, 2);
}

#[test]
fn open_to_half_open_when_the_recovery_timeout_passes() {
    let (b, log, t0) = tripped(classic());
    let t1 = t0 + S * 30;
    assert_eq!(b.state(t1 - MS), CircuitState::Open);
    // Reported lazily: no transition until a call comes.
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    assert_eq!(transitions(&log).len(), 1);
    assert!(b.check(t1).is_ok());
    let probe = b.try_acquire(t1 + S * 5).unwrap();
    assert!(probe.is_probe());
    let last = log.lock().unwrap().last().cloned().unwrap();
    let BreakerEvent::Transition(t) = last else {
        panic!("not a transition")
    };
    assert_eq!((t.from, t.to), (CircuitState::Open, CircuitState::HalfOpen));
    assert_eq!(t.cause, TransitionCause::RecoveryTimeoutElapsed);
    // Stamped with the instant the timeout ended, not the call's.
    assert_eq!(t.at, t1);
    probe.success(t1 + S * 5);
}

#[test]
fn half_open_admits_at_most_max_probes() {
    let (b, _, t0) = tripped(CircuitBreakerConfig {
        half_open_max_probes: 2,
        ..classic()
    });
    let t1 = t0 + S * 30;
    let p1 = b.try_acquire(t1).unwrap();
    let p2 = b.try_acquire(t1).unwrap();
    let busy = b.try_acquire(t1).unwrap_err();
    assert_eq!(busy.reason, RejectReason::HalfOpenBusy);
    assert_eq!(busy.retry_after, DEFAULT_PROBE_HINT);
    assert!(b.check(t1).is_err());
    // A finished probe frees its slot and teaches the hint.
    p1.success(t1 + S * 2);
    let p3 = b.try_acquire(t1 + S * 2).unwrap();
    assert_eq!(b.try_acquire(t1 + S * 2).unwrap_err().retry_after, S * 2);
    drop((p2, p3));
}

#[test]
fn half_open_to_closed_after_enough_successful_probes() {
    let (b, log, t0) = tripped(classic());
    let t1 = t0 + S * 30;
    succeed(&b, t1, 2);
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    succeed(&b, t1, 1);
    assert_eq!(b.state(t1), CircuitState::Closed);
    assert_eq!(
        transitions(&log).last().unwrap(),
        &(
            CircuitState::HalfOpen,
            CircuitState::Closed,
            TransitionCause::ProbesSucceeded { successes: 3 }
        )
    );
    // Closed again: calls are no longer probes.
    assert!(!b.try_acquire(t1).unwrap().is_probe());
}

#[test]
fn half_open_to_open_when_a_probe_fails_and_the_open_duration_doubles() {
    let (b, log, t0) = tripped(classic());
    let t1 = t0 + S * 30;
    succeed(&b, t1, 1);
    fail(&b, t1, 1);
    assert_eq!(b.state(t1), CircuitState::Open);
    assert_eq!(
        transitions(&log).last().unwrap(),
        &(
            CircuitState::HalfOpen,
            CircuitState::Open,
            TransitionCause::ProbeFailed
        )
    );
    assert_eq!(b.try_acquire(t1).unwrap_err().retry_after, S * 60);
    assert_eq!(b.metrics().trip_level, 2);
}

#[test]
fn a_slow_probe_fails() {
    let (b, _, t0) = tripped(classic());
    let t1 = t0 + S * 30;
    b.try_acquire(t1).unwrap().slow(t1);
    assert_eq!(b.state(t1), CircuitState::Open);
}

#[test]
fn open_durations_grow_exponentially_up_to_the_cap() {
    let (b, _, t0) = tripped(classic());
    let mut now = t0;
    let mut seen = Vec::new();
    for _ in 0..6 {
        let wait = b.try_acquire(now).unwrap_err().retry_after;
        seen.push(wait.as_secs());
        now += wait;
        fail(&b, now, 1); // the probe fails
    }
    assert_eq!(seen, [30, 60, 120, 240, 300, 300]);
}

#[test]
fn a_success_streak_resets_the_open_duration() {
    let config = CircuitBreakerConfig {
        trip_reset_streak: 4,
        ..classic()
    };
    let (b, _, t0) = tripped(config);
    // Probe fails once: level 2, 60 s.
    let t1 = t0 + S * 30;
    fail(&b, t1, 1);
    let t2 = t1 + S * 60;
    succeed(&b, t2, 3);
    assert_eq!(b.state(t2), CircuitState::Closed);
    assert_eq!(b.metrics().trip_level, 2);
    // A streak broken by a failure does not count.
    succeed(&b, t2, 3);
    fail(&b, t2, 1);
    succeed(&b, t2, 3);
    assert_eq!(b.metrics().trip_level, 2);
    succeed(&b, t2, 1);
    assert_eq!(b.metrics().trip_level, 0);
    fail(&b, t2, 5);
    assert_eq!(b.try_acquire(t2).unwrap_err().retry_after, S * 30);
}

#[test]
fn without_a_streak_a_second_trip_stays_long() {
    let (b, _, t0) = tripped(classic());
    let t1 = t0 + S * 30;
    succeed(&b, t1, 3);
    fail(&b, t1, 5);
    assert_eq!(b.try_acquire(t1).unwrap_err().retry_after, S * 60);
}

#[test]
fn a_dropped_probe_frees_its_slot() {
    let (b, _, t0) = tripped(classic());
    let t1 = t0 + S * 30;
    let probe = b.try_acquire(t1).unwrap();
    assert!(b.try_acquire(t1).is_err());
    drop(probe);
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    let probe = b.try_acquire(t1).unwrap();
    probe.ignored();
    assert!(b.try_acquire(t1).unwrap().is_probe());
    assert_eq!(b.metrics().abandoned, 2); // the one above and the one just dropped
}

#[test]
fn outcomes_from_an_earlier_state_do_not_move_the_machine() {
    let b = CircuitBreaker::new(classic());
    let t0 = Instant::now();
    let early = b.try_acquire(t0).unwrap();
    let early_failure = b.try_acquire(t0).unwrap();
    fail(&b, t0, 5);
    let t1 = t0 + S * 30;
    let probe = b.try_acquire(t1).unwrap();
    // A call from the closed period cannot count as a probe success…
    early.success(t1);
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    probe.success(t1);
    succeed(&b, t1, 2);
    assert_eq!(b.state(t1), CircuitState::Closed);
    // …nor as a failure of the new closed period.
    early_failure.failure(t1);
    assert_eq!(b.metrics().consecutive_failures, 0);
    // It is still counted.
    assert_eq!(b.metrics().successes, 4);
    assert_eq!(b.metrics().failures, 6);
}

#[test]
fn rate_limits_are_paced_not_counted_as_failures() {
    let b = CircuitBreaker::new(classic());
    let t0 = Instant::now();
    for _ in 0..20 {
        b.try_acquire(t0).unwrap().rate_limited(t0, None);
    }
    assert_eq!(b.state(t0), CircuitState::Closed);
    assert_eq!(b.metrics().rate_limited, 20);
    assert_eq!(b.metrics().consecutive_failures, 0);
    // A Retry-After pauses the model without opening it.
    b.try_acquire(t0).unwrap().rate_limited(t0, Some(S * 7));
    let r = b.try_acquire(t0 + S * 2).unwrap_err();
    assert_eq!(
        r,
        Rejected {
            retry_after: S * 5,
            reason: RejectReason::Throttled
        }
    );
    assert!(r.to_string().contains("rate-limited"));
    assert_eq!(b.state(t0 + S * 2), CircuitState::Closed);
    assert!(b.try_acquire(t0 + S * 7).is_ok());
    // The expired pause is cleared, so acquiring is back on its fast path.
    assert_eq!(b.hot.throttled_until.load(Ordering::Relaxed), 0);
}

#[test]
fn retry_after_is_capped_and_can_be_turned_off() {
    let b = CircuitBreaker::new(CircuitBreakerConfig {
        max_throttle: S * 10,
        ..classic()
    });
    let t0 = Instant::now();
    b.try_acquire(t0).unwrap().rate_limited(t0, Some(S * 3600));
    assert_eq!(b.try_acquire(t0).unwrap_err().retry_after, S * 10);

    let off = CircuitBreaker::new(CircuitBreakerConfig {
        max_throttle: Duration::ZERO,
        ..classic()
    });
    off.try_acquire(t0).unwrap().rate_limited(t0, Some(S * 5));
    assert!(off.try_acquire(t0).is_ok());
}

#[test]
fn a_rate_limited_probe_frees_its_slot_and_pauses_probing() {
    let (b, _, t0) = tripped(classic());
    let t1 = t0 + S * 30;
    b.try_acquire(t1).unwrap().rate_limited(t1, Some(S * 2));
    assert_eq!(b.state(t1), CircuitState::HalfOpen);
    assert_eq!(
        b.try_acquire(t1).unwrap_err().reason,
        RejectReason::Throttled
    );
    assert!(b.try_acquire(t1 + S * 2).unwrap().is_probe());
}

#[test]
fn an_open_rejection_covers_a_longer_throttle() {
    let b = CircuitBreaker::new(CircuitBreakerConfig::consecutive_failures(1));
    let t0 = Instant::now();
    let throttled = b.try_acquire(t0).unwrap();
    let failed = b.try_acquire(t0).unwrap();
    throttled.rate_limited(t0, Some(S * 50));
    failed.failure(t0);
    // Open for 30 s, paused for 50 s: the wait is 50 s.
    assert_eq!(
        b.try_acquire(t0).unwrap_err(),
        Rejected {
            retry_after: S * 50,
            reason: RejectReason::Open
        }
    );
    assert_eq!(
        b.try_acquire(t0 + S * 30).unwrap_err(),
        Rejected {
            retry_after: S * 20,
            reason: RejectReason::Throttled
        }
    );
    assert!(b.try_acquire(t0 + S * 50).unwrap().is_probe());
}

#[test]
fn forced_open_disabled_and_reset() {
    let (b, log) = observed(classic());
    let t0 = Instant::now();
    b.force_open(t0);
    let r = b.try_acquire(t0 + S * 3600).unwrap_err();
    assert_eq!(
        r,
        Rejected {
            retry_after: Duration::MAX,
            reason: RejectReason::ForcedOpen
        }
    );
    assert_eq!(r.to_string(), "circuit forced open until reset");
    assert_eq!(b.state(t0), CircuitState::ForcedOpen);

    b.disable(t0);
    fail(&b, t0, 50);
    assert_eq!(b.state(t0), CircuitState::Disabled);
    assert_eq!(b.metrics().failures, 50);

    b.reset(t0);
    assert_eq!(b.state(t0), CircuitState::Closed);
    fail(&b, t0, 5);
    assert_eq!(b.state(t0), CircuitState::Open);
    b.reset(t0);
    assert!(b.try_acquire(t0).is_ok());
    assert_eq!(b.metrics().trip_level, 0);
    let manual: Vec<_> = transitions(&log)
        .into_iter()
        .filter(|t| t.2 == TransitionCause::Manual)
        .map(|t| (t.0, t.1))
        .collect();
    assert_eq!(
        manual,
        [
            (CircuitState::Closed, CircuitState::ForcedOpen),
            (CircuitState::ForcedOpen, CircuitState::Disabled),
            (CircuitState::Disabled, CircuitState::Closed),
            (CircuitState::Open, CircuitState::Closed),
        ]
    );
}

#[test]
fn metrics_only_admits_everything_and_reports_would_open() {
    let (b, log) = observed(CircuitBreakerConfig::consecutive_failures(3));
    let t0 = Instant::now();
    b.metrics_only(t0);
    fail(&b, t0, 7);
    assert_eq!(b.state(t0), CircuitState::MetricsOnly);
    let would: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            BreakerEvent::WouldOpen { cause, .. } => Some(*cause),
            BreakerEvent::Transition(_) => None,
        })
        .collect();
    // Failures 3 and 6 would have opened it; the count starts over each time.
    assert_eq!(
        would,
        [TransitionCause::ConsecutiveFailures { count: 3 }; 2]
    );
    assert_eq!(b.metrics().consecutive_failures, 1);
    assert_eq!(b.metrics().opened, 0);
}

fn rate_config(window: SlidingWindow, minimum_calls: u32) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        policy: TripPolicy::FailureRate(FailureRatePolicy {
            window,
            minimum_calls,
            failure_rate_threshold: 50.0,
            slow_call_duration: Some(S * 2),
            slow_call_rate_threshold: 80.0,
            consecutive_failures: None,
            confidence_z: None,
        }),
        ..classic()
    }
}

#[test]
fn failure_rate_waits_for_minimum_calls() {
    let (b, log) = observed(rate_config(SlidingWindow::Count(10), 6));
    let t0 = Instant::now();
    fail(&b, t0, 5);
    assert_eq!(b.state(t0), CircuitState::Closed);
    // The sixth call is a success, but 5 of 6 failed: it trips.
    succeed(&b, t0, 1);
    assert_eq!(b.state(t0), CircuitState::Open);
    let cause = transitions(&log)[0].2;
    assert!(matches!(cause, TransitionCause::FailureRate { calls: 6, percent } if percent > 83.0));
}

#[test]
fn failure_rate_below_the_threshold_stays_closed() {
    let b = CircuitBreaker::new(rate_config(SlidingWindow::Count(10), 10));
    let t0 = Instant::now();
    for _ in 0..20 {
        // 40% failures
        fail(&b, t0, 2);
        succeed(&b, t0, 3);
    }
    assert_eq!(b.state(t0), CircuitState::Closed);
    assert_eq!(
        b.window_stats(t0).unwrap(),
        WindowStats {
            calls: 10,
            failures: 4,
            slow: 0
        }
    );
    // Oldest first the window is F F S S S F F S S S: two more failures
    // replace the two oldest failures (still 40%), a third replaces a
    // success and makes exactly 50%, which trips.
    fail(&b, t0, 2);
    assert_eq!(b.state(t0), CircuitState::Closed);
    fail(&b, t0, 1);
    assert_eq!(b.state(t0), CircuitState::Open);
}

#[test]
fn count_window_minimum_is_capped_by_its_size() {
    let b = CircuitBreaker::new(rate_config(SlidingWindow::Count(4), 100));
    let t0 = Instant::now();
    fail(&b, t0, 4);
    assert_eq!(b.state(t0), CircuitState::Open);
}

#[test]
fn slow_calls_trip_by_their_own_rate() {
    let (b, log) = observed(rate_config(SlidingWindow::Count(5), 5));
    let t0 = Instant::now();
    // Four successes measured slow (3 s ≥ 2 s), one fast.
    for _ in 0..4 {
        b.try_acquire(t0).unwrap().success(t0 + S * 3);
    }
    assert_eq!(b.metrics().slow, 4);
    b.try_acquire(t0).unwrap().success(t0 + S);
    assert_eq!(b.state(t0 + S), CircuitState::Open);
    assert!(matches!(
        transitions(&log)[0].2,
        TransitionCause::SlowCallRate { percent, calls: 5 } if percent == 80.0
    ));
    assert_eq!(b.metrics().successes, 5);
}

#[test]
fn the_window_starts_empty_after_a_trip() {
    let b = CircuitBreaker::new(rate_config(SlidingWindow::Count(4), 4));
    let t0 = Instant::now();
    fail(&b, t0, 4);
    assert_eq!(b.window_stats(t0).unwrap().calls, 0);
    let t1 = t0 + S * 30;
    succeed(&b, t1, 3);
    assert_eq!(b.state(t1), CircuitState::Closed);
    fail(&b, t1, 3);
    assert_eq!(b.state(t1), CircuitState::Closed);
    fail(&b, t1, 1);
    assert_eq!(b.state(t1), CircuitState::Open);
}

#[test]
fn a_late_outcome_of_the_last_closed_period_does_not_reach_the_next() {
    let b = CircuitBreaker::new(rate_config(SlidingWindow::Count(4), 4));
    let t0 = Instant::now();
    fail(&b, t0, 4);
    assert_eq!(b.state(t0), CircuitState::Open);
    // The interleaving this stands for: a thread whose failure passed its
    // generation check just before the trip records it just after the trip
    // emptied the window.
    b.policy.window().unwrap().record(true, false, 0);
    let t1 = t0 + S * 30;
    succeed(&b, t1, 3);
    assert_eq!(b.state(t1), CircuitState::Closed);
    assert_eq!(b.window_stats(t1).unwrap().calls, 0);
    // With the stale failure still there, 4 of 4 would trip.
    fail(&b, t1, 3);
    assert_eq!(b.state(t1), CircuitState::Closed);
}

#[test]
fn time_window_forgets_old_failures() {
    let b = CircuitBreaker::new(rate_config(SlidingWindow::Time(S * 10), 4));
    let t0 = Instant::now();
    fail(&b, t0, 3);
    // Ten seconds later those three failures have aged out.
    let t1 = t0 + S * 10;
    succeed(&b, t1, 3);
    assert_eq!(b.window_stats(t1).unwrap().calls, 3);
    // 2 of 5 failed: 40%. Had the old failures counted, 5 of 8 would trip.
    fail(&b, t1, 2);
    assert_eq!(b.state(t1), CircuitState::Closed);
    // 3 of 6: 50%.
    fail(&b, t1, 1);
    assert_eq!(b.state(t1), CircuitState::Open);
}

#[test]
fn metrics_only_under_failure_rate() {
    let (b, log) = observed(rate_config(SlidingWindow::Count(4), 4));
    let t0 = Instant::now();
    b.metrics_only(t0);
    fail(&b, t0, 4);
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, BreakerEvent::WouldOpen { .. }))
    );
    assert_eq!(b.state(t0), CircuitState::MetricsOnly);
    assert_eq!(b.window_stats(t0).unwrap().calls, 0);
}

#[test]
fn snapshot_and_restore_round_trip() {
    let (b, _, t0) = tripped(classic());
    b.try_acquire(t0).unwrap_err();
    let snap = b.snapshot(t0 + S * 10);
    assert_eq!(snap.state, CircuitState::Open);
    assert_eq!(snap.open_remaining, S * 20);
    assert_eq!(snap.metrics.failures, 5);
    assert_eq!(snap.metrics.trip_level, 1);

    // A fresh process, a fresh clock.
    let (restored, log) = observed(classic());
    let u0 = Instant::now() + S * 1000;
    restored.restore(&snap, u0);
    assert_eq!(restored.metrics(), snap.metrics);
    assert_eq!(restored.try_acquire(u0).unwrap_err().retry_after, S * 20);
    assert_eq!(
        transitions(&log),
        [(
            CircuitState::Closed,
            CircuitState::Open,
            TransitionCause::Restored
        )]
    );
    // Restoring is not a trip.
    assert_eq!(restored.metrics().opened, 1);
    // It probes on time, and a failed probe doubles as it would have.
    let probe_at = u0 + S * 20;
    fail(&restored, probe_at, 1);
    assert_eq!(
        restored.try_acquire(probe_at).unwrap_err().retry_after,
        S * 60
    );
}

#[test]
fn half_open_restores_as_ready_to_probe() {
    let (b, _, t0) = tripped(classic());
    let t1 = t0 + S * 30;
    let _probe = b.try_acquire(t1).unwrap();
    let snap = b.snapshot(t1);
    assert_eq!(snap.state, CircuitState::HalfOpen);
    let r = CircuitBreaker::new(classic());
    r.restore(&snap, t1);
    assert!(r.try_acquire(t1).unwrap().is_probe());
}

#[test]
fn closed_snapshot_keeps_the_failure_count_and_throttle() {
    let b = CircuitBreaker::new(classic());
    let t0 = Instant::now();
    fail(&b, t0, 3);
    b.try_acquire(t0).unwrap().rate_limited(t0, Some(S * 4));
    let snap = b.snapshot(t0 + S);
    assert_eq!(snap.throttle_remaining, S * 3);
    let r = CircuitBreaker::new(classic());
    r.restore(&snap, t0);
    assert_eq!(r.metrics().consecutive_failures, 3);
    assert_eq!(
        r.try_acquire(t0).unwrap_err().reason,
        RejectReason::Throttled
    );
    fail(&r, t0 + S * 3, 2);
    assert_eq!(r.state(t0 + S * 3), CircuitState::Open);
}

#[test]
fn a_snapshot_rebuilt_field_by_field_restores_and_wild_counters_do_not_overflow() {
    // What a caller persisting without serde does: fields in, fields out.
    let mut snap = BreakerSnapshot::default();
    assert_eq!(snap.state, CircuitState::Closed);
    snap.state = CircuitState::Open;
    snap.open_remaining = S * 12;
    snap.metrics.trip_level = 2;
    snap.metrics.successes = u64::MAX;
    snap.metrics.failures = u64::MAX;
    let b = CircuitBreaker::new(classic());
    let t0 = Instant::now();
    b.restore(&snap, t0);
    assert_eq!(b.try_acquire(t0).unwrap_err().retry_after, S * 12);
    assert_eq!(b.metrics().trip_level, 2);
    assert_eq!(b.metrics().permits_ended(), u64::MAX);
}

#[test]
fn owned_permits_outlive_the_borrow() {
    let b = Arc::new(CircuitBreaker::new(
        CircuitBreakerConfig::consecutive_failures(1),
    ));
    let t0 = Instant::now();
    let permit = b.try_acquire_owned(t0).unwrap();
    let handle = std::thread::spawn(move || permit.failure(t0));
    handle.join().unwrap();
    assert_eq!(b.state(t0), CircuitState::Open);
    assert_eq!(
        b.try_acquire_owned(t0).unwrap_err().reason,
        RejectReason::Open
    );
}

#[test]
fn the_types_the_facade_shares_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CircuitBreaker>();
    send_sync::<Permit<&CircuitBreaker>>();
    send_sync::<Permit<Arc<CircuitBreaker>>>();
    send_sync::<Rejected>();
    send_sync::<crate::RateLimiter>();
    send_sync::<crate::RetryBudget>();
    send_sync::<crate::Backoff>();
}

#[test]
fn new_clamps_where_the_builder_refuses() {
    let bad = CircuitBreakerConfig::consecutive_failures(0);
    assert!(
        CircuitBreaker::builder()
            .config(bad.clone())
            .build()
            .is_err()
    );
    let b = CircuitBreaker::new(bad);
    assert_eq!(
        b.config().policy,
        TripPolicy::ConsecutiveFailures {
            failure_threshold: 1
        }
    );
    let t0 = Instant::now();
    fail(&b, t0, 1);
    assert_eq!(b.state(t0), CircuitState::Open);
}

#[test]
fn debug_output_names_the_state() {
    let b = CircuitBreaker::new(classic());
    let t0 = Instant::now();
    let p = b.try_acquire(t0).unwrap();
    assert!(format!("{p:?}").contains("probe: false"));
    p.success(t0);
    assert!(format!("{b:?}").contains("Closed"));
    assert_eq!(CircuitState::HalfOpen.to_string(), "half-open");
}

/// A default breaker, tripped at `t0` by an outage under steady traffic.
fn tripped_by_default(t0: Instant) -> CircuitBreaker {
    let b = CircuitBreaker::new(CircuitBreakerConfig::default());
    fail(&b, t0, 10);
    assert_eq!(b.state(t0), CircuitState::Open);
    b
}

#[test]
fn by_default_a_partly_failing_model_stays_in_and_an_outage_trips() {
    let b = CircuitBreaker::new(CircuitBreakerConfig::default());
    let t0 = Instant::now();
    // Thirty percent failures, in runs of up to three, at 100 calls a
    // second for a minute: never open.
    for i in 0..6000u32 {
        let now = t0 + MS * (10 * i);
        let permit = b.try_acquire(now).unwrap();
        if i % 10 < 3 {
            permit.failure(now);
        } else {
            permit.success(now);
        }
    }
    assert_eq!(b.state(t0 + S * 60), CircuitState::Closed);
    // Three failures alone never trip it: too few calls to judge.
    let b = CircuitBreaker::new(CircuitBreakerConfig::default());
    fail(&b, t0, 3);
    assert_eq!(b.state(t0), CircuitState::Closed);
    // An outage does, once ten calls are in the window.
    let b = tripped_by_default(t0);
    assert_eq!(b.check(t0).unwrap_err().retry_after, S * 2);
}

#[test]
fn by_default_probes_come_every_two_seconds_early_in_an_incident_and_rarer_later() {
    let t0 = Instant::now();
    let b = tripped_by_default(t0);
    // Probe, fail, reopen: the open duration is the larger of 2 s and a
    // quarter of the time since the incident began.
    let mut now = t0;
    let mut opens = Vec::new();
    while now < t0 + S * 1800 {
        now += b.check(now).err().map_or(Duration::ZERO, |r| r.retry_after);
        let probe = b.try_acquire(now).unwrap();
        assert!(probe.is_probe());
        probe.failure(now);
        opens.push(b.check(now).unwrap_err().retry_after);
    }
    assert_eq!(opens[..4], [S * 2, S * 2, S * 2, S * 2], "{opens:?}");
    // 60 s into the incident: 15 s; then a quarter of the age, up to 5 min.
    let at_minute = opens.iter().scan(S * 2, |age, open| {
        let seen = (*age, *open);
        *age += *open;
        Some(seen)
    });
    for (age, open) in at_minute {
        let expected = (age / 4).max(S * 2).min(S * 300);
        let diff = open.abs_diff(expected);
        assert!(
            diff <= MS * 10,
            "at {age:?}: {open:?}, expected {expected:?}"
        );
    }
    assert_eq!(*opens.last().unwrap(), S * 300);
    assert!(
        opens.len() < 40,
        "a long-dead target is probed rarely: {}",
        opens.len()
    );
}

#[test]
fn a_healthy_period_ends_the_incident_and_the_next_outage_starts_short() {
    let t0 = Instant::now();
    let b = tripped_by_default(t0);
    // Probes fail for a minute: the open duration has grown.
    let mut now = t0;
    while now < t0 + S * 60 {
        now += b.check(now).unwrap_err().retry_after;
        b.try_acquire(now).unwrap().failure(now);
    }
    assert!(b.check(now).unwrap_err().retry_after > S * 10);
    // Recovery: two probes close it, a streak of successes ends the incident.
    now += b.check(now).unwrap_err().retry_after;
    let probes = [b.try_acquire(now).unwrap(), b.try_acquire(now).unwrap()];
    probes.into_iter().for_each(|p| p.success(now));
    assert_eq!(b.state(now), CircuitState::Closed);
    succeed(&b, now, 10);
    // A new outage an hour later opens for 2 s again.
    let later = now + S * 3600;
    fail(&b, later, 10);
    assert_eq!(b.check(later).unwrap_err().retry_after, S * 2);
}

#[test]
fn by_default_twenty_failures_in_a_row_trip_at_once_under_heavy_traffic() {
    let b = CircuitBreaker::new(CircuitBreakerConfig::default());
    let t0 = Instant::now();
    // Five seconds of successes fill the window ...
    succeed(&b, t0, 2500);
    // ... and an outage trips on its twentieth failure, not when the
    // failures outnumber them.
    let t1 = t0 + S * 5;
    fail(&b, t1, 19);
    assert_eq!(b.state(t1), CircuitState::Closed);
    fail(&b, t1, 1);
    assert_eq!(b.state(t1), CircuitState::Open);
    // A success between failures starts the count again.
    let b = CircuitBreaker::new(CircuitBreakerConfig::default());
    succeed(&b, t0, 2500);
    fail(&b, t1, 19);
    succeed(&b, t1, 1);
    fail(&b, t1, 19);
    assert_eq!(b.state(t1), CircuitState::Closed);
}

#[test]
fn by_default_a_few_unlucky_calls_do_not_trip_but_an_outage_does() {
    let t0 = Instant::now();
    // Six failures in ten calls: the rate is 60 %, but ten calls cannot
    // tell that from a 30 % model having a bad moment.
    let b = CircuitBreaker::new(CircuitBreakerConfig::default());
    fail(&b, t0, 6);
    succeed(&b, t0, 4);
    assert_eq!(b.state(t0), CircuitState::Closed);
    // Ten failures in ten calls can: the lower bound is 72 %.
    let b = CircuitBreaker::new(CircuitBreakerConfig::default());
    fail(&b, t0, 10);
    assert_eq!(b.state(t0), CircuitState::Open);
    // With more calls the bound closes in on the rate: 60 % trips after
    // about a hundred.
    let b = CircuitBreaker::new(CircuitBreakerConfig::default());
    let mut calls = 0;
    while let Ok(permit) = b.try_acquire(t0) {
        calls += 1;
        if calls % 5 < 3 {
            permit.failure(t0);
        } else {
            permit.success(t0);
        }
    }
    assert!((80..=120).contains(&calls), "tripped after {calls} calls");
    assert!((wilson_lower(10, 10, 1.96) - 0.722).abs() < 0.001);
    assert_eq!(wilson_lower(0, 0, 1.96), 0.0);
}

#[test]
fn a_persistent_failure_opens_at_once_and_a_probe_finds_out_when_it_is_over() {
    // Under the default rate policy, after a healthy stretch that would
    // dilute any rate: one spent quota opens the breaker.
    let (b, log) = observed(CircuitBreakerConfig::default());
    let t0 = Instant::now();
    succeed(&b, t0, 50);
    b.try_acquire(t0).unwrap().persistent_failure(t0);
    assert_eq!(b.state(t0), CircuitState::Open);
    assert_eq!(
        transitions(&log),
        [(
            CircuitState::Closed,
            CircuitState::Open,
            TransitionCause::PersistentFailure
        )]
    );
    assert_eq!(b.check(t0).unwrap_err().retry_after, S * 2);
    assert_eq!(b.metrics().failures, 1);
    // A probe that meets it again reopens the breaker; one that succeeds
    // starts closing it.
    let probe = b.try_acquire(t0 + S * 2).unwrap();
    assert!(probe.is_probe());
    probe.persistent_failure(t0 + S * 2);
    assert_eq!(b.state(t0 + S * 2), CircuitState::Open);
    let later = t0 + S * 4;
    for _ in 0..CircuitBreakerConfig::default().success_threshold {
        b.try_acquire(later).unwrap().success(later);
    }
    assert_eq!(b.state(later), CircuitState::Closed);

    // The same under the consecutive policy, long before its threshold.
    let b = CircuitBreaker::new(classic());
    b.try_acquire(t0).unwrap().persistent_failure(t0);
    assert_eq!(b.state(t0), CircuitState::Open);
    // A disabled breaker stays out of the way.
    let b = CircuitBreaker::new(classic());
    b.disable(t0);
    b.try_acquire(t0).unwrap().persistent_failure(t0);
    assert_eq!(b.state(t0), CircuitState::Disabled);
}
