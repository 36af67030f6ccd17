//! Health scores, exclusion, probes, recovery, the exclusion cap and panic
//! mode, all in virtual time.
//!
//! Defaults used throughout: prior latency 1 s, prior success rate 0.8 worth
//! 3 results, exclusion below 0.5 after at least 5 results, restore at 0.6,
//! a 60 s window in six slots and a 60 s health-check interval.
#![allow(clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use std::time::{Duration, Instant};

use nb_route::{
    HealthPolicy, HealthState, LoadBalancer, LoadBalancerConfig, LoadBalancingStrategy,
    SelectionKind,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn config() -> LoadBalancerConfig {
    LoadBalancerConfig {
        seed: Some(42),
        ..LoadBalancerConfig::default()
    }
}

/// Records one 100 ms success for each of `models`.
fn warm(lb: &LoadBalancer, models: &[&str], now: Instant) {
    for m in models {
        lb.record_result(*m, ms(100), true, now);
    }
}

/// Records `n` failures of `model`, returning the last health change.
fn fail(lb: &LoadBalancer, model: &str, n: usize, now: Instant) -> Option<HealthState> {
    (0..n)
        .filter_map(|_| lb.record_result(model, ms(100), false, now))
        .last()
}

/// Four models, b, c and d answering in 100 ms, a excluded after five
/// failures at the returned instant.
fn with_a_excluded(config: LoadBalancerConfig) -> (LoadBalancer, Instant) {
    let lb = LoadBalancer::new(["a", "b", "c", "d"], config);
    let t0 = Instant::now();
    warm(&lb, &["b", "c", "d"], t0);
    assert_eq!(fail(&lb, "a", 5, t0), Some(HealthState::Excluded));
    (lb, t0)
}

fn state(lb: &LoadBalancer, model: &str, now: Instant) -> HealthState {
    lb.stats(model, now).expect("known model").state
}

/// Names chosen by `n` plain selections.
fn picks(lb: &LoadBalancer, n: usize, now: Instant) -> Vec<(String, SelectionKind)> {
    (0..n)
        .map(|_| {
            let s = lb.select_model(now).expect("a model");
            (s.name().to_owned(), s.kind())
        })
        .collect()
}

#[test]
fn a_new_model_starts_from_the_prior_and_is_not_judged_on_few_results() {
    let lb = LoadBalancer::new(["known", "new"], config());
    let t0 = Instant::now();
    lb.record_result("known", ms(200), true, t0);
    let s = lb.stats("new", t0).unwrap();
    assert_eq!((s.requests, s.successes), (0, 0));
    assert_eq!(s.success_rate, 0.8, "the prior success rate");
    assert_eq!(s.latency, secs(1), "the prior latency");
    assert!((s.latency_score - 0.2).abs() < 1e-12, "200 ms / 1 s");
    assert!((s.health_score - (0.7 * 0.8 + 0.3 * 0.2)).abs() < 1e-12);
    assert_eq!((s.p50, s.p95, s.p99), (None, None, None));
    assert_eq!((s.last_success, s.last_failure), (None, None));
    assert_eq!(s.state, HealthState::Healthy);

    // Four failures score it below 0.5 but are too few to judge it.
    assert_eq!(fail(&lb, "new", 4, t0), None);
    let s = lb.stats("new", t0).unwrap();
    assert!(s.health_score < 0.5, "{}", s.health_score);
    assert_eq!(s.state, HealthState::Healthy);
    assert_eq!(s.last_failure, Some(t0));
    // The fifth is enough.
    assert_eq!(fail(&lb, "new", 1, t0), Some(HealthState::Excluded));
}

#[test]
fn the_health_score_is_seventy_percent_success_and_thirty_percent_latency() {
    let lb = LoadBalancer::new(["fast", "mid", "slow"], config());
    let t0 = Instant::now();
    for (m, latency) in [("fast", 100), ("mid", 200), ("slow", 400)] {
        for _ in 0..10 {
            lb.record_result(m, ms(latency), true, t0);
        }
    }
    let rate = (10.0 + 3.0 * 0.8) / (10.0 + 3.0);
    let all = lb.get_all_stats(t0);
    let names: Vec<&str> = all.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(names, ["fast", "mid", "slow"], "priority order");
    for ((_, s), latency_score) in all.iter().zip([1.0, 0.5, 0.25]) {
        assert!((s.success_rate - rate).abs() < 1e-12);
        assert!((s.latency_score - latency_score).abs() < 1e-9);
        let want = 0.7 * rate + 0.3 * latency_score;
        assert!((s.health_score - want).abs() < 1e-9, "{s:?}");
        assert_eq!(s.in_flight, 0);
        assert_eq!(s.last_success, Some(t0));
    }
}

#[test]
fn latency_alone_never_excludes_a_model() {
    let lb = LoadBalancer::new(["quick", "glacial"], config());
    let t0 = Instant::now();
    for i in 0..200 {
        let now = t0 + ms(i * 100);
        lb.record_result("quick", ms(10), true, now);
        assert_eq!(lb.record_result("glacial", secs(100), true, now), None);
    }
    let s = lb.stats("glacial", t0 + secs(20)).unwrap();
    assert!(s.latency_score < 0.001);
    assert!(s.health_score >= 0.7 * s.success_rate);
    assert_eq!(s.state, HealthState::Healthy);
}

#[test]
fn percentiles_and_last_times_are_in_the_snapshot() {
    let lb = LoadBalancer::new(["m"], config());
    let t0 = Instant::now();
    for i in 1..=100 {
        lb.record_result("m", ms(i * 10), true, t0);
    }
    lb.record_result("m", ms(5), false, t0 + secs(1));
    let s = lb.stats("m", t0 + secs(2)).unwrap();
    let within = |d: Option<Duration>, want: f64| {
        let got = d.expect("a percentile").as_secs_f64() * 1000.0;
        (got - want).abs() / want < 0.12
    };
    assert!(within(s.p50, 500.0), "{:?}", s.p50);
    assert!(within(s.p95, 950.0), "{:?}", s.p95);
    assert!(within(s.p99, 990.0), "{:?}", s.p99);
    assert_eq!((s.requests, s.successes), (101, 100));
    assert_eq!(s.last_success, Some(t0));
    assert_eq!(s.last_failure, Some(t0 + secs(1)));
}

#[test]
fn old_results_leave_the_window_and_the_prior_returns() {
    let lb = LoadBalancer::new(["a", "b"], config());
    let t0 = Instant::now();
    lb.record_result("a", ms(100), false, t0);
    lb.record_result("a", ms(100), false, t0);
    assert!(lb.stats("a", t0).unwrap().success_rate < 0.5);
    let later = lb.stats("a", t0 + secs(60)).unwrap();
    assert_eq!(later.requests, 0);
    assert_eq!(later.success_rate, 0.8);
}

#[test]
fn an_unhealthy_model_is_excluded_then_probed_and_restored_without_manual_action() {
    let lb = LoadBalancer::new(["a", "b", "c", "d"], config());
    let t0 = Instant::now();
    warm(&lb, &["b", "c", "d"], t0);
    // a: latency score 0.1 (prior 1 s against 100 ms): the fifth failure
    // brings it to 0.7 × 2.4/8 + 0.3 × 0.1 = 0.24.
    assert_eq!(fail(&lb, "a", 4, t0), None);
    assert_eq!(fail(&lb, "a", 1, t0), Some(HealthState::Excluded));
    assert!(lb.stats("a", t0).unwrap().excluded());

    for (name, kind) in picks(&lb, 1000, t0 + secs(30)) {
        assert_ne!(name, "a");
        assert_eq!(kind, SelectionKind::Normal);
    }
    assert!(
        picks(&lb, 200, t0 + ms(59_999))
            .iter()
            .all(|(n, _)| n != "a")
    );

    // After the health-check interval, a gets one probe...
    let probe = lb.select_model(t0 + secs(60)).unwrap();
    assert_eq!((probe.name(), probe.kind()), ("a", SelectionKind::Probe));
    assert!(probe.is_probe());
    assert_eq!(state(&lb, "a", t0 + secs(60)), HealthState::Probing);
    // ...and only one at a time.
    assert!(picks(&lb, 200, t0 + secs(60)).iter().all(|(n, _)| n != "a"));

    // Its failures have left the window, so one good probe restores it.
    let restored = lb.record_result("a", ms(100), true, t0 + secs(60));
    assert_eq!(restored, Some(HealthState::Healthy));
    let back = picks(&lb, 400, t0 + secs(61));
    assert!(back.iter().any(|(n, _)| n == "a"));
}

#[test]
fn a_model_returns_only_when_its_score_clears_the_higher_bar() {
    let (lb, t0) = with_a_excluded(LoadBalancerConfig {
        window: secs(600),
        ..config()
    });

    let t1 = t0 + secs(60);
    assert!(lb.select_model(t1).unwrap().is_probe());
    // One success in six results: 0.7 × 3.4/9 + 0.3 × 1.0 = 0.564, above
    // the exclusion bar but below the 0.6 needed to return.
    assert_eq!(
        lb.record_result("a", ms(100), true, t1),
        Some(HealthState::Excluded)
    );
    let s = lb.stats("a", t1).unwrap();
    assert!(s.health_score >= 0.5 && s.health_score < 0.6, "{s:?}");
    assert!(s.excluded(), "hysteresis: 0.564 is not enough to return");

    // A good probe earns the next one at once; the second clears the bar
    // (0.7 × 4.4/10 + 0.3 = 0.608).
    let probe = lb.select_model(t1).unwrap();
    assert_eq!((probe.name(), probe.kind()), ("a", SelectionKind::Probe));
    assert_eq!(
        lb.record_result("a", ms(100), true, t1),
        Some(HealthState::Healthy)
    );
}

#[test]
fn a_failed_probe_waits_a_full_interval_for_the_next() {
    let (lb, t0) = with_a_excluded(config());
    let t1 = t0 + secs(60);
    assert!(lb.select_model(t1).unwrap().is_probe());
    assert_eq!(
        lb.record_result("a", ms(100), false, t1),
        Some(HealthState::Excluded)
    );
    assert!(picks(&lb, 300, t1 + secs(59)).iter().all(|(n, _)| n != "a"));
    let again = lb.select_model(t1 + secs(60)).unwrap();
    assert_eq!((again.name(), again.kind()), ("a", SelectionKind::Probe));
}

#[test]
fn a_probe_whose_result_never_comes_is_given_up_after_an_interval() {
    let (lb, t0) = with_a_excluded(config());
    let lost = lb.select_model(t0 + secs(60)).unwrap().start();
    assert!(lost.kind() == SelectionKind::Probe);
    drop(lost); // the caller gave up without recording anything
    assert!(
        picks(&lb, 300, t0 + secs(119))
            .iter()
            .all(|(n, _)| n != "a")
    );
    assert!(lb.select_model(t0 + secs(120)).unwrap().is_probe());
}

#[test]
fn an_abandoned_probe_is_due_again_at_once() {
    let (lb, t0) = with_a_excluded(config());
    let t1 = t0 + secs(60);
    // Selected, but the caller could not use it (its breaker refused the
    // permit in a race): it hands the probe back.
    let unused = lb.select_model(t1).unwrap();
    assert!(unused.is_probe());
    unused.abandon();
    assert_eq!(state(&lb, "a", t1), HealthState::Excluded);
    let probe = lb.select_model(t1 + secs(1)).unwrap();
    assert!(probe.is_probe());
    // Its result counts: a failed probe waits a full interval for the next,
    // and abandoning a selection after the result changes nothing.
    let again = lb.select_model(t1 + secs(1)).unwrap();
    assert!(!again.is_probe());
    assert_eq!(
        lb.finish(probe.start(), ms(100), false, t1 + secs(1)),
        Some(HealthState::Excluded)
    );
    again.abandon();
    assert!(picks(&lb, 300, t1 + secs(60)).iter().all(|(n, _)| n != "a"));
    assert!(lb.select_model(t1 + secs(61)).unwrap().is_probe());
}

#[test]
fn abandoning_a_probe_after_another_took_over_changes_nothing() {
    let (lb, t0) = with_a_excluded(config());
    let stale = lb.select_model(t0 + secs(60)).unwrap();
    assert!(stale.is_probe());
    // The first probe lapses; a second is granted.
    let current = lb.select_model(t0 + secs(120)).unwrap();
    assert!(current.is_probe());
    stale.abandon();
    assert_eq!(state(&lb, "a", t0 + secs(120)), HealthState::Probing);
    assert!(
        picks(&lb, 300, t0 + secs(121))
            .iter()
            .all(|(n, _)| n != "a")
    );
    drop(current);
}

#[test]
fn a_probe_needs_the_callers_consent() {
    let (lb, t0) = with_a_excluded(config());
    let t1 = t0 + secs(60);
    // The caller's breaker for a is open: no probe, and none is used up.
    for _ in 0..50 {
        let s = lb.select(&[], |m| m != "a", t1).unwrap();
        assert_ne!(s.name(), "a");
    }
    assert_eq!(state(&lb, "a", t1), HealthState::Excluded);
    assert!(lb.select_model(t1).unwrap().is_probe());
}

#[test]
fn without_auto_recovery_an_excluded_model_stays_out_until_restored() {
    let (lb, t0) = with_a_excluded(LoadBalancerConfig {
        enable_auto_recovery: false,
        ..config()
    });
    assert!(
        picks(&lb, 500, t0 + secs(3600))
            .iter()
            .all(|(n, _)| n != "a")
    );
    assert!(lb.restore("a"));
    assert!(!lb.restore("a"), "already healthy");
    assert!(!lb.restore("unknown"));
    assert_eq!(state(&lb, "a", t0), HealthState::Healthy);
    assert!(
        picks(&lb, 500, t0 + secs(3600))
            .iter()
            .any(|(n, _)| n == "a")
    );
}

#[test]
fn without_auto_recovery_traffic_from_the_fallback_strategy_can_restore_a_model() {
    let (lb, t0) = with_a_excluded(LoadBalancerConfig {
        enable_auto_recovery: false,
        ..config()
    });
    let later = t0 + secs(120);
    let tried = ["b", "c", "d"].map(String::from);
    let s = lb.select(&tried, |_| true, later).unwrap();
    assert_eq!((s.name(), s.kind()), ("a", SelectionKind::FallbackStrategy));
    assert_eq!(
        lb.record_result("a", ms(100), true, later),
        Some(HealthState::Healthy)
    );
}

#[test]
fn when_every_acceptable_model_is_excluded_the_fallback_strategy_chooses() {
    let lb = LoadBalancer::new(
        ["a", "b", "c", "d"],
        LoadBalancerConfig {
            fallback_strategy: LoadBalancingStrategy::Fallback,
            ..config()
        },
    );
    let t0 = Instant::now();
    warm(&lb, &["c", "d"], t0);
    fail(&lb, "a", 5, t0);
    fail(&lb, "b", 5, t0);
    assert!(lb.stats("a", t0).unwrap().excluded());
    assert!(lb.stats("b", t0).unwrap().excluded());

    let tried = ["c", "d"].map(String::from);
    for _ in 0..20 {
        let s = lb.select(&tried, |_| true, t0).unwrap();
        // Fallback (ordered) as the fallback strategy: a before b.
        assert_eq!((s.name(), s.kind()), ("a", SelectionKind::FallbackStrategy));
    }
    let s = lb.select(&tried, |m| m != "a", t0).unwrap();
    assert_eq!(s.name(), "b");
    // Unless the caller's filter rejects everything.
    assert!(lb.select(&tried, |m| m != "a" && m != "b", t0).is_none());
}

#[test]
fn at_most_the_capped_share_of_models_is_excluded() {
    let lb = LoadBalancer::new(
        ["a", "b", "c", "d", "e", "f"],
        LoadBalancerConfig {
            health: HealthPolicy {
                panic_threshold: 0.0,
                ..HealthPolicy::default()
            },
            ..config()
        },
    );
    let t0 = Instant::now();
    warm(&lb, &["e", "f"], t0);
    for m in ["a", "b", "c"] {
        assert_eq!(fail(&lb, m, 5, t0), Some(HealthState::Excluded));
    }
    // Half of six are out: d stays in rotation, degraded.
    assert_eq!(fail(&lb, "d", 5, t0), Some(HealthState::Degraded));
    let chosen = picks(&lb, 2000, t0);
    assert!(chosen.iter().any(|(n, _)| n == "d"));
    assert!(
        chosen
            .iter()
            .all(|(n, _)| ["d", "e", "f"].contains(&n.as_str()))
    );
    // A place under the cap frees up: d's next failure excludes it.
    assert!(lb.restore("a"));
    assert_eq!(fail(&lb, "d", 1, t0), Some(HealthState::Excluded));
}

#[test]
fn a_degraded_model_that_recovers_becomes_healthy() {
    let lb = LoadBalancer::new(["a", "b"], config());
    let t0 = Instant::now();
    warm(&lb, &["b"], t0);
    assert_eq!(fail(&lb, "a", 5, t0), Some(HealthState::Excluded));
    // b has one success: it takes ten failures to score 0.7 × 3.4/14 + 0.3.
    assert_eq!(
        fail(&lb, "b", 10, t0),
        Some(HealthState::Degraded),
        "cap of 1"
    );
    let later = t0 + secs(60);
    assert_eq!(
        lb.record_result("b", ms(100), true, later),
        Some(HealthState::Healthy)
    );
}

#[test]
fn panic_mode_spreads_traffic_over_every_model_when_too_few_are_healthy() {
    let lb = LoadBalancer::new(["a", "b", "c", "d"], config());
    let t0 = Instant::now();
    warm(&lb, &["d"], t0);
    fail(&lb, "a", 5, t0);
    fail(&lb, "b", 5, t0);
    assert_eq!(
        picks(&lb, 100, t0)
            .iter()
            .filter(|(_, k)| *k == SelectionKind::Panic)
            .count(),
        0,
        "two of four healthy: not yet"
    );
    assert_eq!(fail(&lb, "c", 5, t0), Some(HealthState::Degraded));
    // One healthy model of four: health is ignored rather than crushing d.
    let chosen = picks(&lb, 4000, t0);
    assert!(chosen.iter().all(|(_, k)| *k == SelectionKind::Panic));
    for m in ["a", "b", "c", "d"] {
        assert!(chosen.iter().any(|(n, _)| n == m), "{m} gets traffic");
    }
}

#[test]
fn with_every_model_unhealthy_selection_still_succeeds() {
    let lb = LoadBalancer::new(["a", "b", "c"], config());
    let t0 = Instant::now();
    for m in ["a", "b", "c"] {
        fail(&lb, m, 10, t0);
    }
    let states: Vec<HealthState> = lb
        .get_all_stats(t0)
        .into_iter()
        .map(|(_, s)| s.state)
        .collect();
    assert_eq!(
        states,
        [
            HealthState::Excluded,
            HealthState::Degraded,
            HealthState::Degraded
        ]
    );
    let chosen = picks(&lb, 300, t0);
    assert!(chosen.iter().all(|(_, k)| *k == SelectionKind::Panic));
    assert!(chosen.iter().any(|(n, _)| n == "a"));
}

#[test]
fn a_lone_model_is_never_excluded() {
    let lb = LoadBalancer::new(["only"], config());
    let t0 = Instant::now();
    assert_eq!(fail(&lb, "only", 20, t0), Some(HealthState::Degraded));
    assert_eq!(lb.select_model(t0).unwrap().name(), "only");
}

#[test]
fn with_the_cap_at_one_a_lone_model_may_be_excluded_and_is_still_chosen() {
    let lb = LoadBalancer::new(
        ["only"],
        LoadBalancerConfig {
            health: HealthPolicy {
                max_excluded_fraction: 1.0,
                ..HealthPolicy::default()
            },
            ..config()
        },
    );
    let t0 = Instant::now();
    // Its own latency is the fastest: ten failures score 0.7 × 2.4/13 + 0.3.
    assert_eq!(fail(&lb, "only", 10, t0), Some(HealthState::Excluded));
    let s = lb.select_model(t0).expect("still chosen");
    assert_eq!((s.name(), s.kind()), ("only", SelectionKind::Panic));
}

#[test]
fn a_model_removed_while_in_flight_is_forgotten_safely() {
    let lb = LoadBalancer::new(["a", "b"], config());
    let t0 = Instant::now();
    let guard = lb.select(&[], |m| m == "a", t0).unwrap().start();
    assert_eq!(lb.stats("a", t0).unwrap().in_flight, 1);
    assert!(lb.remove("a"));
    assert!(!lb.remove("a"));
    assert_eq!(lb.targets(), ["b"]);
    assert_eq!(guard.target(), "a");
    // Its result arrives after removal: ignored.
    assert_eq!(lb.record_result("a", ms(100), false, t0), None);
    assert_eq!(lb.stats("a", t0), None);
    assert!(picks(&lb, 50, t0).iter().all(|(n, _)| n == "b"));
    assert_eq!(lb.finish(guard, ms(100), false, t0), None, "also by guard");
    // Added again: fresh stats.
    assert!(lb.add("a".to_owned()));
    assert!(!lb.add("a".to_owned()));
    let s = lb.stats("a", t0).unwrap();
    assert_eq!((s.requests, s.in_flight), (0, 0));
    assert_eq!(lb.targets(), ["b", "a"]);
}

#[test]
fn removing_an_excluded_model_frees_its_place_and_can_end_panic() {
    let lb = LoadBalancer::new(["a", "b", "c", "d"], config());
    let t0 = Instant::now();
    warm(&lb, &["d"], t0);
    fail(&lb, "a", 5, t0);
    fail(&lb, "b", 5, t0);
    let t1 = t0 + secs(60);
    let probe = lb.select_model(t1).unwrap();
    assert!(probe.is_probe() && probe.name() == "a");
    assert_eq!(fail(&lb, "c", 5, t1), Some(HealthState::Degraded));
    assert_eq!(lb.select_model(t1).unwrap().kind(), SelectionKind::Panic);
    // An excluded model removed mid-probe: its probe result is ignored.
    assert!(lb.remove("a"));
    assert_eq!(lb.record_result("a", ms(100), true, t1), None);
    assert!(lb.remove("b"));
    // c and d remain: one healthy of two is not panic, and c may now be
    // excluded (a cap of one, none used).
    assert_eq!(lb.select_model(t1).unwrap().kind(), SelectionKind::Normal);
    assert_eq!(fail(&lb, "c", 1, t1), Some(HealthState::Excluded));
    assert!(picks(&lb, 100, t1).iter().all(|(n, _)| n == "d"));
}

#[test]
fn an_empty_balancer_selects_nothing() {
    let lb = LoadBalancer::new(Vec::<String>::new(), config());
    assert!(lb.is_empty());
    assert!(lb.select_model(Instant::now()).is_none());
    assert!(lb.get_all_stats(Instant::now()).is_empty());
    assert!(lb.add("late".to_owned()));
    assert_eq!(lb.len(), 1);
    assert!(lb.contains("late"));
    assert_eq!(lb.select_model(Instant::now()).unwrap().name(), "late");
}
