//! nb-diagnose: one diagnosis of a typical JSON error body, a status-only
//! failure, a bare SDK message, a message only the words model reads, a
//! transport timeout and 1 MiB of junk as a body and as a message,
//! plus building an engine once the catalogue is compiled,
//! against a baseline measured in the same run: parsing the same typical body
//! into a `serde_json::Value` (what a naive diagnoser does before it even
//! starts matching). The engine is built once, outside the timings.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use nb_diagnose::{DiagnosisEngine, Failure};

/// The cases, shared with the callgrind example that counts their instructions.
#[path = "../../crates/nb-diagnose/examples/cases/mod.rs"]
mod cases;

fn diagnose(c: &mut Criterion) {
    let engine = DiagnosisEngine::new();
    let now = cases::now();
    let mut g = c.benchmark_group("diagnose/failure");

    g.bench_function("baseline_serde_json_value_typical_body", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(cases::TYPICAL.as_bytes())))
    });

    let typical = cases::typical();
    g.bench_function("typical_json_body", |b| {
        b.iter(|| engine.diagnose_at(black_box(&typical), now))
    });

    let status_only = cases::status_only();
    g.bench_function("status_only", |b| {
        b.iter(|| engine.diagnose_at(black_box(&status_only), now))
    });

    let message = cases::bare_message();
    g.bench_function("bare_message", |b| {
        b.iter(|| engine.diagnose_at(black_box(&message), now))
    });

    // No rule reads it: an engine with its words models on guesses its
    // category.
    let guessing = DiagnosisEngine::new().guess_from_words(true);
    let guessed = cases::guessed_message();
    g.bench_function("guessed_message", |b| {
        b.iter(|| guessing.diagnose_at(black_box(&guessed), now))
    });

    // A stream's stop no rule reads: the stream's words model reads it as a
    // broken chunk.
    let stream_stop = cases::guessed_stream_stop();
    g.bench_function("guessed_stream_stop", |b| {
        b.iter(|| guessing.diagnose_at(black_box(&stream_stop), now))
    });

    let timeout = cases::transport_timeout();
    g.bench_function("transport_timeout", |b| {
        b.iter(|| engine.diagnose_at(black_box(&timeout), now))
    });

    // After the first engine in a process, `new()` shares the compiled
    // catalogue: what nb-client pays per client.
    g.bench_function("engine_new_shared", |b| b.iter(DiagnosisEngine::new));

    let junk = cases::junk_1mib();
    let junk = Failure::http(500, &junk);
    g.bench_function("junk_1mib_body", |b| {
        b.iter(|| engine.diagnose_at(black_box(&junk), now))
    });
    // The same junk as an error's text: no rule and no status read it, so
    // the words model reads its first 4 KiB too.
    let junk_text = String::from_utf8(cases::junk_1mib()).expect("printable ASCII");
    let junk_text = Failure::message(&junk_text);
    g.bench_function("junk_1mib_message", |b| {
        b.iter(|| engine.diagnose_at(black_box(&junk_text), now))
    });
    g.finish();
}

criterion_group!(benches, diagnose);
criterion_main!(benches);
