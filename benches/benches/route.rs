//! nb-route: one `select` + in-flight guard + `record_result`, the work the
//! facade does per attempt, against a bare random index into a slice.
//!
//! Budget (docs/BENCHMARKS.md): under 200 ns at 16 models.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use nb_route::{LoadBalancer, LoadBalancerConfig, LoadBalancingStrategy};

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("model-{i}")).collect()
}

/// A balancer over `n` models with a little history each.
fn balancer(n: usize, strategy: LoadBalancingStrategy, now: Instant) -> LoadBalancer {
    let lb = LoadBalancer::new(
        names(n),
        LoadBalancerConfig {
            strategy,
            ..LoadBalancerConfig::default()
        },
    );
    for (i, name) in names(n).iter().enumerate() {
        for _ in 0..20 {
            lb.record_result(name, latency(i), true, now);
        }
    }
    lb
}

fn latency(i: usize) -> Duration {
    Duration::from_millis(100 + (i as u64 % 7) * 50)
}

/// The facade's per-attempt work: select, count it in flight, then record
/// the result and release it in one call.
fn attempt(lb: &LoadBalancer, now: Instant) {
    if let Some(s) = lb.select_model(now) {
        lb.finish(s.start(), Duration::from_millis(120), true, now);
    }
}

/// The same with the result recorded by name (`record_result`), which looks
/// the target up.
fn attempt_by_name(lb: &LoadBalancer, now: Instant) {
    if let Some(s) = lb.select_model(now) {
        let guard = s.start();
        lb.record_result(guard.target(), Duration::from_millis(120), true, now);
    }
}

/// A bare wyrand step (fastrand's generator) for the baselines: nb-benches
/// does not depend on fastrand itself.
struct Wyrand(u64);

impl Wyrand {
    fn index(&mut self, len: usize) -> usize {
        self.0 = self.0.wrapping_add(0x2d35_8dcc_aa6c_78a5);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0x8bb8_4b93_962e_acc9);
        let r = (t as u64) ^ (t >> 64) as u64;
        ((u128::from(r) * len as u128) >> 64) as usize
    }
}

/// The reference: pick a random index into a slice and bump a counter.
fn baseline(names: &[String], counters: &[AtomicU64], rng: &mut Wyrand) {
    let i = rng.index(names.len());
    black_box(&names[i]);
    counters[i].fetch_add(1, Ordering::Relaxed);
}

fn select_record(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("route/select_record");
    let models = names(16);
    let counters: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    let mut rng = Wyrand(1);
    g.bench_function("baseline_random_index/16", |b| {
        b.iter(|| baseline(&models, &counters, &mut rng));
    });
    for n in [4, 16, 256] {
        let lb = balancer(n, LoadBalancingStrategy::WeightedResponseTime, now);
        g.bench_with_input(
            BenchmarkId::new("weighted_response_time", n),
            &lb,
            |b, lb| {
                b.iter(|| attempt(lb, now));
            },
        );
    }
    let lb = balancer(16, LoadBalancingStrategy::WeightedResponseTime, now);
    g.bench_function("weighted_response_time_record_by_name/16", |b| {
        b.iter(|| attempt_by_name(&lb, now));
    });
    for (name, strategy) in [
        ("random", LoadBalancingStrategy::Random),
        ("round_robin", LoadBalancingStrategy::RoundRobin),
        ("least_connections", LoadBalancingStrategy::LeastConnections),
        ("fallback", LoadBalancingStrategy::Fallback),
        ("predictive_no_predictor", LoadBalancingStrategy::Predictive),
        ("p2c_peak_ewma", LoadBalancingStrategy::PowerOfTwoChoices),
    ] {
        let lb = balancer(16, strategy, now);
        g.bench_with_input(BenchmarkId::new(name, 16), &lb, |b, lb| {
            b.iter(|| attempt(lb, now));
        });
    }
    for n in [4, 256] {
        let lb = balancer(n, LoadBalancingStrategy::PowerOfTwoChoices, now);
        g.bench_with_input(BenchmarkId::new("p2c_peak_ewma", n), &lb, |b, lb| {
            b.iter(|| attempt(lb, now));
        });
    }
    g.finish();
}

/// Selection with the facade's arguments: one model already tried and an
/// availability filter.
fn select_with_exclusions(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("route/select_filtered");
    let models = names(16);
    let mut rng = Wyrand(1);
    g.bench_function("baseline_random_index/16", |b| {
        b.iter(|| black_box(&models[rng.index(models.len())]));
    });
    let lb = balancer(16, LoadBalancingStrategy::WeightedResponseTime, now);
    let tried = [models[3].clone()];
    g.bench_function("weighted_response_time/16", |b| {
        b.iter(|| {
            let s = lb.select(&tried, |t| !t.ends_with("-7"), now);
            black_box(s.map(|s| s.kind()))
        });
    });
    g.finish();
}

/// Runs `run(seed)` on two threads at once, seeds 0 and 1, and returns the
/// wall time until both are done.
fn on_two_threads(run: impl Fn(u64) + Sync) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        for seed in 0..2 {
            let run = &run;
            s.spawn(move || run(seed));
        }
    });
    start.elapsed()
}

/// Two threads doing the same per-attempt work on one balancer: time per
/// attempt on each thread (wall time / iterations per thread).
fn two_threads(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("route/two_threads");
    let models = names(16);
    let counters: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
    g.bench_function("baseline_random_index/16", |b| {
        b.iter_custom(|iters| {
            on_two_threads(|seed| {
                let mut rng = Wyrand(seed);
                for _ in 0..iters {
                    baseline(&models, &counters, &mut rng);
                }
            })
        });
    });
    for (name, strategy) in [
        (
            "weighted_response_time",
            LoadBalancingStrategy::WeightedResponseTime,
        ),
        ("p2c_peak_ewma", LoadBalancingStrategy::PowerOfTwoChoices),
    ] {
        let lb = balancer(16, strategy, now);
        g.bench_function(BenchmarkId::new(name, 16), |b| {
            b.iter_custom(|iters| {
                on_two_threads(|_| {
                    for _ in 0..iters {
                        attempt(&lb, now);
                    }
                })
            });
        });
    }
    g.finish();
}

criterion_group!(benches, select_record, select_with_exclusions, two_threads);
criterion_main!(benches);
