//! Runs one of the `diagnose` benchmark's cases `n` times, for counting
//! instructions per call under callgrind, which unlike wall time does not
//! depend on the machine's load:
//!
//! ```sh
//! cargo build --release -p nb-diagnose --example callgrind
//! per_call() { # case, runs
//!   count() { valgrind --tool=callgrind --toggle-collect='callgrind::run' \
//!     --callgrind-out-file=/dev/null target/release/examples/callgrind "$1" "$2" 2>&1 |
//!     sed -n 's/.*Collected : //p'; }
//!   echo "$1 $(( ($(count "$1" $(($2 + 1))) - $(count "$1" 1)) / $2 ))"
//! }
//! per_call typical 1000; per_call serde 1000; per_call junk 20
//! ```
//!
//! Subtracting a one-call run leaves out the one-time set-up (compiling the
//! catalogue, composing names). Cases: `typical`, `status`, `message`,
//! `timeout`, `junk`, and `serde` (the baseline: the typical body parsed
//! into a `serde_json::Value`).

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use nb_diagnose::{DiagnosisEngine, Failure, TimeoutPhase, TransportFailureKind};

/// The benchmark's OpenAI 429 (`benches/benches/diagnose.rs`).
const TYPICAL: &str = r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 14567, Requested 24754. Please try again in 18.642s. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;

/// Every call counted: `n` diagnoses, or `n` baseline parses.
#[inline(never)]
fn run(engine: &DiagnosisEngine, failure: Option<&Failure<'_>>, n: usize) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    for _ in 0..n {
        match failure {
            Some(f) => drop(black_box(engine.diagnose_at(black_box(f), now))),
            None => drop(black_box(serde_json::from_slice::<serde_json::Value>(
                black_box(TYPICAL.as_bytes()),
            ))),
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "typical".into());
    let n = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    // Pseudo-random printable junk, 1 MiB, as in the benchmark.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let junk: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b' ' + (x % 95) as u8
        })
        .collect();
    let failure = match case.as_str() {
        "typical" => Failure::http(429, TYPICAL)
            .header("x-ratelimit-remaining-tokens", "0")
            .header("x-ratelimit-reset-tokens", "18.642s")
            .header("x-request-id", "req_123")
            .with_base_url("https://api.openai.com/v1")
            .with_model("gpt-4o"),
        "status" => Failure::http(503, "").with_base_url("https://api.deepseek.com"),
        "message" => Failure::message("throttling.ratequota: 请求速度超限"),
        "timeout" => {
            Failure::transport(TransportFailureKind::Timeout(TimeoutPhase::FirstByte), None)
                .with_base_url("https://api.anthropic.com/v1")
        }
        "junk" => Failure::http(500, &junk),
        "serde" => return run(&DiagnosisEngine::new(), None, n),
        other => {
            eprintln!("unknown case {other:?}: typical, status, message, timeout, junk or serde");
            std::process::exit(2);
        }
    };
    run(&DiagnosisEngine::new(), Some(&failure), n);
}
