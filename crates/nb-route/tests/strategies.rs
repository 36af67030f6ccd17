//! Each strategy's distribution, with a seeded generator.
#![allow(clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nb_route::{
    LoadBalancer, LoadBalancerConfig, LoadBalancingStrategy, Predictor, SelectionKind, Target,
};

fn balancer(models: &[&str], strategy: LoadBalancingStrategy) -> LoadBalancer {
    LoadBalancer::new(
        models.iter().copied(),
        LoadBalancerConfig {
            strategy,
            seed: Some(0x5EED),
            ..LoadBalancerConfig::default()
        },
    )
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Selection counts per model over `n` selections with no recording.
fn tally(lb: &LoadBalancer, n: usize, now: Instant) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..n {
        let s = lb.select_model(now).expect("a model");
        assert_eq!(s.kind(), SelectionKind::Normal);
        *counts.entry(s.name().to_owned()).or_insert(0) += 1;
    }
    counts
}

fn share(counts: &HashMap<String, usize>, model: &str) -> f64 {
    let total: usize = counts.values().sum();
    counts.get(model).copied().unwrap_or(0) as f64 / total as f64
}

fn assert_share(counts: &HashMap<String, usize>, model: &str, want: f64) {
    let got = share(counts, model);
    assert!(
        (got - want).abs() < 0.015,
        "{model}: share {got:.4}, want {want:.4} ({counts:?})"
    );
}

#[test]
fn round_robin_is_exactly_fair() {
    let models = ["a", "b", "c", "d"];
    let lb = balancer(&models, LoadBalancingStrategy::RoundRobin);
    let now = Instant::now();
    let picks: Vec<String> = (0..400)
        .map(|_| lb.select_model(now).unwrap().name().to_owned())
        .collect();
    for window in picks.chunks(4) {
        let mut w = window.to_vec();
        w.sort();
        assert_eq!(w, models, "every 4 consecutive picks cover all 4 models");
    }
}

#[test]
fn round_robin_gives_a_skipped_turn_to_the_next_eligible_model() {
    let lb = balancer(&["a", "b", "c"], LoadBalancingStrategy::RoundRobin);
    let now = Instant::now();
    let picks: Vec<String> = (0..6)
        .map(|_| lb.select(&[], |t| t != "b", now).unwrap().name().to_owned())
        .collect();
    assert_eq!(picks, ["a", "c", "c", "a", "c", "c"]);
}

#[test]
fn random_is_uniform() {
    let lb = balancer(&["a", "b", "c", "d"], LoadBalancingStrategy::Random);
    let now = Instant::now();
    lb.record_result("a", ms(10), true, now);
    lb.record_result("b", ms(5000), true, now);
    let counts = tally(&lb, 40_000, now);
    for m in ["a", "b", "c", "d"] {
        assert_share(&counts, m, 0.25);
    }
}

#[test]
fn weighted_response_time_sends_traffic_in_proportion_to_one_over_latency() {
    let lb = balancer(
        &["fast", "mid", "slow"],
        LoadBalancingStrategy::WeightedResponseTime,
    );
    let now = Instant::now();
    lb.record_result("fast", ms(100), true, now);
    lb.record_result("mid", ms(200), true, now);
    lb.record_result("slow", ms(400), true, now);
    // Weights 1/100 : 1/200 : 1/400 = 4 : 2 : 1.
    let counts = tally(&lb, 40_000, now);
    assert_share(&counts, "fast", 4.0 / 7.0);
    assert_share(&counts, "mid", 2.0 / 7.0);
    assert_share(&counts, "slow", 1.0 / 7.0);
}

#[test]
fn weighted_response_time_keeps_its_proportions_beyond_one_buffer_of_models() {
    // 70 models span three chunks of the 32-weight buffer.
    let names: Vec<String> = (0..70).map(|i| format!("m{i:02}")).collect();
    let lb = LoadBalancer::new(
        names.clone(),
        LoadBalancerConfig {
            seed: Some(3),
            ..LoadBalancerConfig::default()
        },
    );
    let now = Instant::now();
    for (i, m) in names.iter().enumerate() {
        // Every third model is four times as fast.
        let latency = if i % 3 == 0 { 100 } else { 400 };
        lb.record_result(m, ms(latency), true, now);
    }
    let counts = tally(&lb, 60_000, now);
    let fast: f64 = (0..70)
        .filter(|i| i % 3 == 0)
        .map(|i| share(&counts, &names[i]))
        .sum();
    // 24 fast models weigh 4, 46 slow ones 1.
    let want = 24.0 * 4.0 / (24.0 * 4.0 + 46.0);
    assert!(
        (fast - want).abs() < 0.015,
        "fast share {fast}, want {want}"
    );
    for m in ["m00", "m33", "m69"] {
        assert_share(&counts, m, 4.0 / 142.0);
    }
    assert_share(&counts, "m68", 1.0 / 142.0);
}

#[test]
fn weighted_response_time_weighs_a_new_model_by_the_prior_latency() {
    let lb = balancer(
        &["known", "new"],
        LoadBalancingStrategy::WeightedResponseTime,
    );
    let now = Instant::now();
    lb.record_result("known", ms(250), true, now);
    // The prior latency is 1 s: weights 1/250 : 1/1000 = 4 : 1.
    let counts = tally(&lb, 40_000, now);
    assert_share(&counts, "known", 0.8);
    assert_share(&counts, "new", 0.2);
}

#[test]
fn least_connections_picks_the_minimum_in_flight() {
    let lb = balancer(&["a", "b", "c"], LoadBalancingStrategy::LeastConnections);
    let now = Instant::now();
    let hold = |name: &str, n: usize| -> Vec<_> {
        (0..n)
            .map(|_| {
                lb.select(&[], |t| t == name, now)
                    .expect("the filter admits it")
                    .start()
            })
            .collect()
    };
    let _a = hold("a", 2);
    let c = hold("c", 1);
    for _ in 0..100 {
        assert_eq!(lb.select_model(now).unwrap().name(), "b");
    }
    let _b = hold("b", 1);
    // b and c tie at one in flight: ties are broken at random, evenly.
    let counts = tally(&lb, 20_000, now);
    assert_eq!(counts.get("a"), None);
    assert_share(&counts, "b", 0.5);
    assert_share(&counts, "c", 0.5);
    drop(c);
    assert_eq!(
        lb.select_model(now).unwrap().name(),
        "c",
        "dropping a guard frees its slot"
    );
    assert_eq!(lb.stats("c", now).unwrap().in_flight, 0);
    assert_eq!(lb.stats("a", now).unwrap().in_flight, 2);
}

#[test]
fn fallback_respects_the_order_and_skips_what_is_excluded() {
    let lb = balancer(
        &["primary", "secondary", "tertiary"],
        LoadBalancingStrategy::Fallback,
    );
    let now = Instant::now();
    for _ in 0..10 {
        assert_eq!(lb.select_model(now).unwrap().name(), "primary");
    }
    let tried = [String::from("primary")];
    assert_eq!(
        lb.select(&tried, |_| true, now).unwrap().name(),
        "secondary"
    );
    assert_eq!(
        lb.select(&tried, |t| t != "secondary", now).unwrap().name(),
        "tertiary"
    );
    // Unhealthy: excluded for health (see tests/health.rs for the rules).
    lb.record_result("secondary", ms(100), true, now);
    for _ in 0..5 {
        lb.record_result("primary", ms(100), false, now);
    }
    assert!(lb.stats("primary", now).unwrap().excluded());
    for _ in 0..10 {
        assert_eq!(lb.select_model(now).unwrap().name(), "secondary");
    }
}

#[test]
fn power_of_two_choices_prefers_the_cheaper_of_its_two_samples() {
    let lb = balancer(
        &["fast", "mid", "slow"],
        LoadBalancingStrategy::PowerOfTwoChoices,
    );
    let now = Instant::now();
    lb.record_result("fast", ms(100), true, now);
    lb.record_result("mid", ms(200), true, now);
    lb.record_result("slow", ms(400), true, now);
    // Each pair is equally likely; the cheaper model of the pair wins:
    // fast is in 2 of 3 pairs and wins both, mid wins only against slow,
    // and slow never wins.
    let counts = tally(&lb, 30_000, now);
    assert_share(&counts, "fast", 2.0 / 3.0);
    assert_share(&counts, "mid", 1.0 / 3.0);
    assert_eq!(counts.get("slow"), None);
}

#[test]
fn power_of_two_choices_weighs_latency_by_requests_in_flight() {
    let lb = balancer(&["fast", "slow"], LoadBalancingStrategy::PowerOfTwoChoices);
    let now = Instant::now();
    lb.record_result("fast", ms(100), true, now);
    lb.record_result("slow", ms(250), true, now);
    assert_eq!(lb.select_model(now).unwrap().name(), "fast");
    // 100 ms × 3 in flight = 300 > 250 ms × 1.
    let _busy: Vec<_> = (0..2)
        .map(|_| lb.select(&[], |t| t == "fast", now).unwrap().start())
        .collect();
    for _ in 0..50 {
        assert_eq!(lb.select_model(now).unwrap().name(), "slow");
    }
}

#[test]
fn power_of_two_choices_retries_an_idle_model_once_its_peak_has_faded() {
    let lb = balancer(&["fast", "slow"], LoadBalancingStrategy::PowerOfTwoChoices);
    let t0 = Instant::now();
    lb.record_result("slow", Duration::from_secs(5), true, t0);
    lb.record_result("fast", ms(200), true, t0 + Duration::from_secs(60));
    // Ten seconds later slow's 5 s peak has decayed for 70 s (7 time
    // constants: about 4.6 ms) while fast's has decayed for 10 s (74 ms).
    let later = t0 + Duration::from_secs(70);
    assert_eq!(lb.select_model(later).unwrap().name(), "slow");
}

/// A predictor with fixed probabilities per model.
#[derive(Debug)]
struct Fixed(HashMap<&'static str, f64>);

impl Predictor for Fixed {
    fn failure_probability(&self, model: &str, _now: Instant) -> f64 {
        self.0.get(model).copied().unwrap_or(0.0)
    }
}

fn predictive(models: &[&str], p: &[(&'static str, f64)]) -> LoadBalancer {
    let lb = balancer(models, LoadBalancingStrategy::Predictive);
    lb.set_predictor(Arc::new(Fixed(p.iter().copied().collect())));
    lb
}

#[test]
fn predictive_avoids_a_model_at_or_above_the_threshold() {
    let lb = predictive(
        &["doomed", "shaky", "solid"],
        &[("doomed", 0.7), ("shaky", 0.5)],
    );
    let now = Instant::now();
    for m in ["doomed", "shaky", "solid"] {
        lb.record_result(m, ms(100), true, now);
    }
    // doomed is at the 0.7 threshold; the others are weighted by 1 - p:
    // shaky 0.5, solid 1.0.
    let counts = tally(&lb, 30_000, now);
    assert_eq!(counts.get("doomed"), None);
    assert_share(&counts, "shaky", 1.0 / 3.0);
    assert_share(&counts, "solid", 2.0 / 3.0);
}

#[test]
fn predictive_takes_the_least_doomed_when_all_cross_the_threshold() {
    let lb = predictive(
        &["a", "b", "c"],
        &[("a", 0.95), ("b", 0.8), ("c", f64::NAN)],
    );
    let now = Instant::now();
    // NaN means "no idea": treated as 0, so c is chosen whenever allowed.
    assert_eq!(lb.select_model(now).unwrap().name(), "c");
    let tried = [String::from("c")];
    for _ in 0..20 {
        assert_eq!(lb.select(&tried, |_| true, now).unwrap().name(), "b");
    }
}

#[test]
fn predictive_without_a_predictor_is_weighted_response_time() {
    let now = Instant::now();
    let picks = |strategy| {
        let lb = balancer(&["a", "b", "c"], strategy);
        lb.record_result("a", ms(100), true, now);
        lb.record_result("b", ms(300), true, now);
        (0..500)
            .map(|_| lb.select_model(now).unwrap().name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        picks(LoadBalancingStrategy::Predictive),
        picks(LoadBalancingStrategy::WeightedResponseTime)
    );
    let lb = predictive(&["a", "b"], &[("a", 1.0)]);
    lb.clear_predictor();
    let counts = tally(&lb, 10_000, now);
    assert_share(&counts, "a", 0.5);
}

#[test]
fn the_predictor_is_asked_by_model_name() {
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    struct Endpoint {
        model: &'static str,
        region: u8,
    }
    impl Target for Endpoint {
        fn name(&self) -> &str {
            self.model
        }
    }
    let eu = Endpoint {
        model: "gpt-4o",
        region: 1,
    };
    let us = Endpoint {
        model: "gpt-4o",
        region: 2,
    };
    let other = Endpoint {
        model: "qwen-max",
        region: 1,
    };
    let lb = LoadBalancer::from_targets(
        [eu.clone(), us.clone(), other.clone()],
        LoadBalancerConfig {
            strategy: LoadBalancingStrategy::Predictive,
            seed: Some(1),
            ..LoadBalancerConfig::default()
        },
    );
    lb.set_predictor(Arc::new(Fixed([("gpt-4o", 0.9)].into_iter().collect())));
    let now = Instant::now();
    for _ in 0..50 {
        assert_eq!(lb.select_model(now).unwrap().target(), &other);
    }
    lb.record_result(&eu, ms(100), true, now);
    assert_eq!(lb.stats(&eu, now).unwrap().requests, 1);
    assert_eq!(
        lb.stats(&us, now).unwrap().requests,
        0,
        "stats are per target"
    );
}

#[test]
fn a_seed_makes_selections_reproducible() {
    let now = Instant::now();
    let run = || {
        let lb = balancer(&["a", "b", "c", "d"], LoadBalancingStrategy::Random);
        (0..200)
            .map(|_| lb.select_model(now).unwrap().name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn every_strategy_honours_exclusions_and_the_filter() {
    use LoadBalancingStrategy as S;
    let now = Instant::now();
    for strategy in [
        S::Random,
        S::RoundRobin,
        S::WeightedResponseTime,
        S::LeastConnections,
        S::Predictive,
        S::Fallback,
        S::PowerOfTwoChoices,
    ] {
        let lb = balancer(&["a", "b", "c", "d", "e"], strategy);
        let tried = [String::from("a"), String::from("c")];
        for _ in 0..200 {
            let s = lb.select(&tried, |t| t != "e", now).unwrap();
            assert!(
                ["b", "d"].contains(&s.name()),
                "{strategy:?} chose {}",
                s.name()
            );
        }
        assert!(
            lb.select(&tried, |t| t == "a", now).is_none(),
            "{strategy:?}: nothing left"
        );
    }
}
