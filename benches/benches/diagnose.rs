//! nb-diagnose: one diagnosis of a typical JSON error body, a status-only
//! failure, a bare SDK message, a transport timeout and a 1 MiB junk body,
//! plus building an engine once the catalogue is compiled,
//! against a baseline measured in the same run: parsing the same typical body
//! into a `serde_json::Value` (what a naive diagnoser does before it even
//! starts matching). The engine is built once, outside the timings.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use nb_diagnose::{DiagnosisEngine, Failure, TimeoutPhase, TransportFailureKind};

/// An OpenAI 429, as a client receives it.
const TYPICAL: &str = r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 14567, Requested 24754. Please try again in 18.642s. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;

fn diagnose(c: &mut Criterion) {
    let engine = DiagnosisEngine::new();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let mut g = c.benchmark_group("diagnose/failure");

    g.bench_function("baseline_serde_json_value_typical_body", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(TYPICAL.as_bytes())))
    });

    let typical = Failure::http(429, TYPICAL)
        .header("x-ratelimit-remaining-tokens", "0")
        .header("x-ratelimit-reset-tokens", "18.642s")
        .header("x-request-id", "req_123")
        .with_base_url("https://api.openai.com/v1")
        .with_model("gpt-4o");
    g.bench_function("typical_json_body", |b| {
        b.iter(|| engine.diagnose_at(black_box(&typical), now))
    });

    let status_only = Failure::http(503, "").with_base_url("https://api.deepseek.com");
    g.bench_function("status_only", |b| {
        b.iter(|| engine.diagnose_at(black_box(&status_only), now))
    });

    let message = Failure::message("throttling.ratequota: 请求速度超限");
    g.bench_function("bare_message", |b| {
        b.iter(|| engine.diagnose_at(black_box(&message), now))
    });

    let timeout = Failure::transport(TransportFailureKind::Timeout(TimeoutPhase::FirstByte), None)
        .with_base_url("https://api.anthropic.com/v1");
    g.bench_function("transport_timeout", |b| {
        b.iter(|| engine.diagnose_at(black_box(&timeout), now))
    });

    // After the first engine in a process, `new()` shares the compiled
    // catalogue: what nb-client pays per client.
    g.bench_function("engine_new_shared", |b| b.iter(DiagnosisEngine::new));

    // Pseudo-random printable junk, 1 MiB: only the first 64 KiB are read.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let junk: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b' ' + (x % 95) as u8
        })
        .collect();
    let junk = Failure::http(500, &junk);
    g.bench_function("junk_1mib_body", |b| {
        b.iter(|| engine.diagnose_at(black_box(&junk), now))
    });
    g.finish();
}

criterion_group!(benches, diagnose);
criterion_main!(benches);
