//! nb-learn: recording an outcome and asking for a prediction, with 16
//! models and three weeks of learned history, against a `HashMap` lookup by
//! model name plus a counter increment (the least a per-model tracker can
//! do).
//!
//! Budget: both well under a microsecond.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};

use nb_diagnose::ErrorCategory;
use nb_learn::{Outcome, PredictiveEngine};
use nb_route::Predictor;

const MODELS: usize = 16;
const WEEK_MINUTES: u32 = 7 * 24 * 60;

fn names() -> Vec<String> {
    (0..MODELS).map(|i| format!("model-{i}")).collect()
}

/// 2024-01-01 00:00 UTC, a Monday.
fn monday() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

/// An engine whose clock is anchored at `base` ↔ the start of week four,
/// with three weeks of one call a minute per model; `model-0` is
/// rate-limited every Monday 09:00-10:00 UTC, so a pattern is in play.
fn engine(names: &[String], base: Instant) -> Arc<PredictiveEngine> {
    let week4 = monday() + Duration::from_secs(3 * 7 * 24 * 3600);
    let engine = Arc::new(PredictiveEngine::default().with_clock_anchor(base, week4));
    let latency = Duration::from_millis(250);
    for minute in 0..3 * WEEK_MINUTES {
        let at = monday() + Duration::from_secs(60 * u64::from(minute));
        let monday_nine = minute % WEEK_MINUTES / 60 == 9;
        for (i, name) in names.iter().enumerate() {
            engine.record(&if i == 0 && monday_nine {
                Outcome::failure(name, at, latency, ErrorCategory::RateLimit)
            } else {
                Outcome::success(name, at, latency)
            });
        }
    }
    engine
}

fn record(c: &mut Criterion) {
    let names = names();
    let base = Instant::now();
    let engine = engine(&names, base);
    let start = engine.wall_clock(base);
    let latency = Duration::from_millis(180);
    let mut g = c.benchmark_group("learn/record");

    let mut counters: HashMap<String, u64> = names.iter().map(|n| (n.clone(), 0)).collect();
    let mut i = 0usize;
    g.bench_function("baseline_hashmap_counter/16", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            if let Some(n) = counters.get_mut(black_box(names[i % MODELS].as_str())) {
                *n += 1;
            }
        });
    });

    // Time moves 10 ms per call, so minute buckets roll over and patterns
    // are re-evaluated at each new hour, as in real traffic.
    for (id, failure) in [
        ("record_success/16", None),
        ("record_failure/16", Some(ErrorCategory::Overloaded)),
    ] {
        let mut i = 0u64;
        g.bench_function(id, |b| {
            b.iter(|| {
                i += 1;
                let o = Outcome {
                    failure,
                    ..Outcome::success(
                        &names[i as usize % MODELS],
                        start + Duration::from_millis(10 * i),
                        latency,
                    )
                };
                engine.record(black_box(&o));
            });
        });
    }
    g.finish();
}

fn predict(c: &mut Criterion) {
    let names = names();
    let base = Instant::now();
    let engine = engine(&names, base);
    let predictor: Arc<dyn Predictor> = engine.clone();
    // Some recent traffic in the trend window, as a live balancer would see.
    let start = engine.wall_clock(base);
    for k in 0..600u64 {
        let at = start + Duration::from_millis(1000 * k);
        engine.record(&Outcome::success(
            &names[k as usize % MODELS],
            at,
            Duration::from_millis(200),
        ));
    }
    let mut g = c.benchmark_group("learn/predict");

    let probabilities: HashMap<String, f64> = names.iter().map(|n| (n.clone(), 0.01)).collect();
    let mut i = 0usize;
    g.bench_function("baseline_hashmap_lookup/16", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(
                probabilities
                    .get(black_box(names[i % MODELS].as_str()))
                    .copied(),
            )
        });
    });

    // Through the `Predictor` trait object, as the balancer asks: the
    // instant is mapped to wall-clock time, then the trend and the hour's
    // patterns are combined.
    let now = base + Duration::from_secs(600);
    let mut i = 0usize;
    g.bench_function("failure_probability/16", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(predictor.failure_probability(black_box(&names[i % MODELS]), now))
        });
    });
    // Inside model-0's learned pattern hour (Monday 09:00-10:00 UTC).
    let nine = base + Duration::from_secs(9 * 3600 + 600);
    g.bench_function("failure_probability_in_pattern_hour/16", |b| {
        b.iter(|| black_box(predictor.failure_probability(black_box(&names[0]), nine)));
    });
    g.finish();
}

criterion_group!(benches, record, predict);
criterion_main!(benches);
