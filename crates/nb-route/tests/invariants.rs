//! Invariants under random operation sequences (proptest) and under
//! contention (threads).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use nb_route::{
    HealthState, InFlight, LoadBalancer, LoadBalancerConfig, LoadBalancingStrategy, SelectionKind,
};

const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

const STRATEGIES: [LoadBalancingStrategy; 7] = [
    LoadBalancingStrategy::Random,
    LoadBalancingStrategy::RoundRobin,
    LoadBalancingStrategy::WeightedResponseTime,
    LoadBalancingStrategy::LeastConnections,
    LoadBalancingStrategy::Predictive,
    LoadBalancingStrategy::Fallback,
    LoadBalancingStrategy::PowerOfTwoChoices,
];

#[derive(Debug, Clone)]
enum Op {
    /// Select with the targets in `excluded` (a bit mask over NAMES) already
    /// tried and those in `rejected` refused by the filter.
    Select {
        excluded: u8,
        rejected: u8,
        start: bool,
    },
    Record {
        target: usize,
        latency_ms: u16,
        success: bool,
    },
    Advance {
        secs: u8,
    },
    Finish {
        guard: usize,
    },
    Add {
        target: usize,
    },
    Remove {
        target: usize,
    },
    Restore {
        target: usize,
    },
}

fn op(churn: bool) -> impl Strategy<Value = Op> {
    let t = 0..NAMES.len();
    let core = prop_oneof![
        4 => (any::<u8>(), any::<u8>(), any::<bool>())
            .prop_map(|(excluded, rejected, start)| Op::Select { excluded, rejected, start }),
        6 => (t.clone(), 1..3000u16, prop::bool::weighted(0.5))
            .prop_map(|(target, latency_ms, success)| Op::Record { target, latency_ms, success }),
        1 => (0..40u8).prop_map(|secs| Op::Advance { secs }),
        1 => (0..8usize).prop_map(|guard| Op::Finish { guard }),
        1 => t.clone().prop_map(|target| Op::Restore { target }),
    ];
    let membership = prop_oneof![
        t.clone().prop_map(|target| Op::Add { target }),
        t.prop_map(|target| Op::Remove { target }),
    ];
    let churn_weight = u32::from(churn);
    prop_oneof![13 => core, churn_weight => membership]
}

fn in_mask(mask: u8, name: &str) -> bool {
    NAMES
        .iter()
        .position(|n| *n == name)
        .is_some_and(|i| mask & (1 << i) != 0)
}

/// Runs `ops` and checks the selection invariants after every step.
fn run(strategy: usize, ops: &[Op], churn: bool) -> Result<(), TestCaseError> {
    let strategy = STRATEGIES[strategy];
    let lb = LoadBalancer::new(
        NAMES,
        LoadBalancerConfig {
            strategy,
            seed: Some(9),
            ..LoadBalancerConfig::default()
        },
    );
    let mut now = Instant::now();
    let mut guards: Vec<InFlight> = Vec::new();
    for op in ops {
        match *op {
            Op::Select {
                excluded,
                rejected,
                start,
            } => {
                let tried: Vec<String> = NAMES
                    .iter()
                    .filter(|n| in_mask(excluded, n))
                    .map(|n| (*n).to_owned())
                    .collect();
                let accepted = |t: &String| !in_mask(rejected, t);
                let candidates = lb
                    .targets()
                    .into_iter()
                    .filter(|t| !tried.contains(t) && accepted(t))
                    .count();
                let selection = lb.select(&tried, accepted, now);
                prop_assert_eq!(selection.is_some(), candidates > 0);
                if let Some(s) = selection {
                    prop_assert!(!tried.iter().any(|t| t == s.target()), "tried");
                    prop_assert!(accepted(s.target()), "filtered");
                    let state = lb.stats(s.target(), now).map(|st| st.state);
                    match s.kind() {
                        SelectionKind::Normal => {
                            prop_assert!(!state.is_some_and(HealthState::is_excluded));
                        }
                        SelectionKind::Probe => {
                            prop_assert_eq!(state, Some(HealthState::Probing));
                        }
                        SelectionKind::FallbackStrategy => {
                            prop_assert!(state.is_some_and(HealthState::is_excluded));
                        }
                        _ => {}
                    }
                    if start {
                        guards.push(s.start());
                    }
                }
            }
            Op::Record {
                target,
                latency_ms,
                success,
            } => {
                let latency = Duration::from_millis(u64::from(latency_ms));
                lb.record_result(NAMES[target], latency, success, now);
            }
            Op::Advance { secs } => now += Duration::from_secs(u64::from(secs)),
            Op::Finish { guard } => {
                if guard < guards.len() {
                    drop(guards.swap_remove(guard));
                }
            }
            Op::Add { target } => {
                lb.add(NAMES[target].to_owned());
            }
            Op::Remove { target } => {
                lb.remove(NAMES[target]);
            }
            Op::Restore { target } => {
                lb.restore(NAMES[target]);
            }
        }
        if !churn {
            let excluded = lb
                .get_all_stats(now)
                .iter()
                .filter(|(_, s)| s.excluded())
                .count();
            prop_assert!(excluded <= NAMES.len() / 2, "cap exceeded: {excluded}");
        }
        for (_, s) in lb.get_all_stats(now) {
            prop_assert!((0.0..=1.0).contains(&s.health_score));
            prop_assert!(s.successes <= s.requests);
        }
    }
    drop(guards);
    for (t, s) in lb.get_all_stats(now) {
        prop_assert_eq!(s.in_flight, 0, "{} still in flight", t);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn selection_respects_the_caller_and_health(
        strategy in 0..STRATEGIES.len(),
        ops in prop::collection::vec(op(false), 1..120),
    ) {
        run(strategy, &ops, false)?;
    }

    #[test]
    fn selection_survives_targets_coming_and_going(
        strategy in 0..STRATEGIES.len(),
        ops in prop::collection::vec(op(true), 1..120),
    ) {
        run(strategy, &ops, true)?;
    }
}

/// Instants centuries apart (the caller's `now` is input) saturate the
/// balancer's clock instead of overflowing it, for every strategy.
#[test]
fn instants_centuries_apart_do_not_panic() {
    let century = Duration::from_secs(100 * 365 * 24 * 3600);
    let t0 = Instant::now();
    let past = t0
        .checked_sub(century * 2)
        .expect("representable on this platform");
    let future = t0
        .checked_add(century * 2)
        .expect("representable on this platform");
    for strategy in STRATEGIES {
        let lb = LoadBalancer::new(
            NAMES,
            LoadBalancerConfig {
                strategy,
                seed: Some(1),
                ..LoadBalancerConfig::default()
            },
        );
        // The clock's origin is the first instant it is given.
        assert_eq!(lb.get_all_stats(t0).len(), NAMES.len());
        for now in [past, future, past, t0] {
            for name in NAMES {
                lb.record_result(name, Duration::from_millis(100), name != "a", now);
            }
            let s = lb.select_model(now).expect("six models");
            lb.finish(s.start(), Duration::MAX, false, now);
            for (_, stats) in lb.get_all_stats(now) {
                assert!((0.0..=1.0).contains(&stats.health_score), "{strategy:?}");
            }
        }
    }
}

#[test]
fn the_balancer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LoadBalancer>();
    assert_send_sync::<LoadBalancer<Arc<str>>>();
    assert_send_sync::<InFlight>();
    assert_send_sync::<nb_route::Selection<&'static str>>();
}

/// Threads select, hold and record concurrently while another adds and
/// removes a target. Time stands still, so no window slot rotates and every
/// recorded result must be counted exactly.
#[test]
fn concurrent_selection_and_recording_keep_exact_counts() {
    for strategy in [
        LoadBalancingStrategy::WeightedResponseTime,
        LoadBalancingStrategy::LeastConnections,
        LoadBalancingStrategy::PowerOfTwoChoices,
        LoadBalancingStrategy::RoundRobin,
    ] {
        let models: Vec<String> = (0..16).map(|i| format!("m{i}")).collect();
        let lb = Arc::new(LoadBalancer::new(
            models.clone(),
            LoadBalancerConfig {
                strategy,
                ..LoadBalancerConfig::default()
            },
        ));
        let now = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let churn = {
            let (lb, stop) = (Arc::clone(&lb), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    lb.add("churn".to_owned());
                    lb.remove("churn");
                }
            })
        };
        let workers: Vec<_> = (0..3u64)
            .map(|w| {
                let lb = Arc::clone(&lb);
                thread::spawn(move || {
                    // Results per mN, then for "churn" (maybe ignored).
                    let mut recorded = vec![0u64; 17];
                    for i in 0..5_000u64 {
                        let guard = lb.select_model(now).expect("never empty").start();
                        let name = guard.target().clone();
                        // m0 fails often: it gets excluded along the way.
                        let success = name != "m0" || (i + w) % 4 == 0;
                        let latency = Duration::from_millis(50 + (i * 7 + w) % 300);
                        lb.record_result(&name, latency, success, now);
                        let k = name
                            .strip_prefix('m')
                            .map_or(16, |k| k.parse().expect("mN"));
                        recorded[k] += 1;
                        drop(guard);
                    }
                    recorded
                })
            })
            .collect();
        let mut recorded = vec![0u64; 17];
        for w in workers {
            for (sum, n) in recorded.iter_mut().zip(w.join().expect("worker")) {
                *sum += n;
            }
        }
        stop.store(true, Ordering::Relaxed);
        churn.join().expect("churn");

        let stats = lb.get_all_stats(now);
        assert_eq!(stats.len(), 16);
        let mut total = 0;
        for ((name, s), want) in stats.iter().zip(&recorded) {
            assert_eq!(s.in_flight, 0, "{strategy:?} {name}");
            assert_eq!(s.requests, *want, "{strategy:?} {name}");
            total += s.requests;
        }
        assert_eq!(total + recorded[16], 15_000, "{strategy:?}");
        assert!(stats.iter().filter(|(_, s)| s.excluded()).count() <= 8);
    }
}

/// As above with time moving on (slots rotate under contention, probes are
/// granted and answered): nothing panics and every guard is accounted for.
#[test]
fn concurrent_use_with_time_passing_leaves_nothing_in_flight() {
    let lb = Arc::new(LoadBalancer::new(
        (0..8).map(|i| format!("m{i}")),
        LoadBalancerConfig {
            strategy: LoadBalancingStrategy::PowerOfTwoChoices,
            health_check_interval: Duration::from_secs(5),
            ..LoadBalancerConfig::default()
        },
    ));
    let base = Instant::now();
    let workers: Vec<_> = (0..3u64)
        .map(|w| {
            let lb = Arc::clone(&lb);
            thread::spawn(move || {
                let mut probes = 0;
                for i in 0..5_000u64 {
                    let now = base + Duration::from_millis(i * 20 + w);
                    let tried = [format!("m{}", i % 8)];
                    let Some(s) = lb.select(&tried, |_| true, now) else {
                        continue;
                    };
                    probes += usize::from(s.is_probe());
                    let guard = s.start();
                    let failing = guard.target().as_str() < "m3" && (i / 500) % 2 == 0;
                    let success = !failing || i % 5 == 0;
                    lb.record_result(guard.target(), Duration::from_millis(80), success, now);
                }
                probes
            })
        })
        .collect();
    let probes: usize = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    assert!(probes > 0, "failing models were excluded and probed");
    let end = base + Duration::from_secs(200);
    for (name, s) in lb.get_all_stats(end) {
        assert_eq!(s.in_flight, 0, "{name}");
    }
}
