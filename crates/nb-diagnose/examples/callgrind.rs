//! Runs one of the `diagnose` benchmark's cases `n` times, for counting
//! instructions per call under callgrind, which unlike wall time does not
//! depend on the machine's load:
//!
//! ```sh
//! cargo build --profile profiling -p nb-diagnose --example callgrind
//! per_call() { # case, runs
//!   count() { valgrind --tool=callgrind --toggle-collect='callgrind::run' \
//!     --callgrind-out-file=/dev/null target/profiling/examples/callgrind "$1" "$2" 2>&1 |
//!     sed -n 's/.*Collected : //p'; }
//!   echo "$1 $(( ($(count "$1" $(($2 + 1))) - $(count "$1" 1)) / $2 ))"
//! }
//! per_call typical 1000; per_call serde 1000; per_call junk 20
//! ```
//!
//! Subtracting a one-call run leaves out the one-time set-up (compiling the
//! catalogue, composing names, parsing the words model). Cases: `typical`,
//! `status`, `message`, `guessed` (read by the words model), `guessed_stop`
//! (a stream's stop read by the stream's words model), `timeout`,
//! `junk`, and `serde` (the baseline: the typical body parsed
//! into a `serde_json::Value`). The cases themselves are in `cases/mod.rs`,
//! which the benchmark includes too.

use std::hint::black_box;

use nb_diagnose::{DiagnosisEngine, Failure};

mod cases;

/// Every call counted: `n` diagnoses, or `n` baseline parses.
#[inline(never)]
fn run(engine: &DiagnosisEngine, failure: Option<&Failure<'_>>, n: usize) {
    let now = cases::now();
    for _ in 0..n {
        match failure {
            Some(f) => drop(black_box(engine.diagnose_at(black_box(f), now))),
            None => drop(black_box(serde_json::from_slice::<serde_json::Value>(
                black_box(cases::TYPICAL.as_bytes()),
            ))),
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "typical".into());
    let n = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let junk = cases::junk_1mib();
    let failure = match case.as_str() {
        "typical" => cases::typical(),
        "status" => cases::status_only(),
        "message" => cases::bare_message(),
        "guessed" => cases::guessed_message(),
        "guessed_stop" => cases::guessed_stream_stop(),
        "timeout" => cases::transport_timeout(),
        "junk" => Failure::http(500, &junk),
        "serde" => return run(&DiagnosisEngine::new(), None, n),
        other => {
            eprintln!(
                "unknown case {other:?}: typical, status, message, guessed, guessed_stop, timeout, junk or serde"
            );
            std::process::exit(2);
        }
    };
    // The guessed cases are read by an engine with its words models on.
    let guesses = case.starts_with("guessed");
    run(
        &DiagnosisEngine::new().guess_from_words(guesses),
        Some(&failure),
        n,
    );
}
