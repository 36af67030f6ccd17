//! The chaos runner behind `cargo xtask chaos`: nb-client under concurrent
//! load against nb-mock scenarios on loopback, in real time.
//!
//! ```sh
//! cargo run --release -p nb-benches --bin chaos -- \
//!     [--quick] [--callers N] [--continue-streams] [--json PATH] SCENARIO.toml...
//! ```
//!
//! For each scenario file: start nb-mock with it, build a fresh client whose
//! chain is the scenario's models in order (the first is the primary), and
//! let the callers send requests back to back, every other one streamed, for
//! the scenario's `duration_ms` (2 s each with `--quick`, a smoke run).
//! Requests still in flight when the time is up are waited for (the client's
//! own deadline bounds them) and counted. Then it prints what the callers saw
//! and what the server saw, and with `--json` writes it for `cargo xtask
//! chaos`, which renders the table in `docs/BENCHMARKS.md`.
//!
//! The client runs its shipped defaults ([`CLIENT`]): nothing shortens its
//! timeouts, deadline or breaker, so the figures are what a user of
//! `NeuralBridge::builder()` gets. `--continue-streams` switches its stream
//! policy from the default `Error` to `Continue`.
//!
//! Per scenario, besides success, latency and upstream calls, two figures
//! say whether the client keeps and returns to the chain's first model:
//! the *primary share*, the share of the successful requests the primary
//! served over the whole run, and the *time back on the primary*, see
//! [`back_on_primary`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use nb_benches::quantile;
use nb_client::{ChatRequest, ErrorCategory, NeuralBridge, StreamEvent, policy::StreamPolicy};
use nb_mock::{ClosedLoop, MockServer, ModelBehavior, Scenario, ScenarioRule};
use serde_json::{Value, json};
use tokio::time::Instant;

/// How the runner's client is configured: what [`client`] sets.
const CLIENT: &str = "`NeuralBridge::builder()` with its shipped defaults; only the base URL, an \
    API key, the fallback models (the scenario's other models, in order) and a seed for the \
    client's random draws are set";

/// Concurrent callers, unless `--callers` says otherwise.
const CALLERS: usize = 16;
/// Concurrent callers with `--quick`.
const QUICK_CALLERS: usize = 8;
/// How long each scenario runs with `--quick`.
const QUICK_DURATION: Duration = Duration::from_secs(2);
/// How long a scenario without a `duration_ms` runs.
const DEFAULT_DURATION: Duration = Duration::from_secs(20);
/// The share of the successful requests the primary must serve within a
/// [`BACK_WINDOW`] to count as back after its recovery.
const BACK_SHARE: f64 = 0.8;
/// The sliding window over which [`BACK_SHARE`] is measured.
const BACK_WINDOW: Duration = Duration::from_secs(1);

fn client(server: &MockServer, chain: &[String], args: &Args) -> Result<NeuralBridge, String> {
    NeuralBridge::builder()
        .base_url(server.base_url())
        .api_key("sk-chaos-not-a-real-key")
        .fallback_models(chain.iter().skip(1).cloned())
        .stream_policy(stream_policy(args))
        .seed(1)
        .build()
        .map_err(|e| format!("cannot build the client: {e}"))
}

fn stream_policy(args: &Args) -> StreamPolicy {
    if args.continue_streams {
        StreamPolicy::Continue
    } else {
        StreamPolicy::Error
    }
}

#[derive(Debug, PartialEq)]
struct Args {
    quick: bool,
    callers: usize,
    continue_streams: bool,
    json: Option<PathBuf>,
    scenarios: Vec<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        quick: false,
        callers: 0,
        continue_streams: false,
        json: None,
        scenarios: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--continue-streams" => parsed.continue_streams = true,
            "--callers" => {
                parsed.callers = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--callers takes a positive number")?;
            }
            "--json" => parsed.json = Some(args.next().ok_or("--json takes a path")?.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown flag `{flag}`")),
            path => parsed.scenarios.push(path.into()),
        }
    }
    if parsed.scenarios.is_empty() {
        return Err("no scenario file given".to_owned());
    }
    if parsed.callers == 0 {
        parsed.callers = if parsed.quick { QUICK_CALLERS } else { CALLERS };
    }
    Ok(parsed)
}

/// One request as its caller saw it.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// When it started, on the server's clock (the scenario's time line).
    started: Duration,
    latency: Duration,
    /// The model that served it, or why it failed.
    result: Result<String, &'static str>,
}

/// One request, streamed (odd `n`) or not, to its end: the serving model.
async fn call(client: &NeuralBridge, primary: &str, n: u64) -> Result<String, &'static str> {
    let request = ChatRequest::new(primary)
        .user_message(format!("Request {n}: summarize the incident in a line."));
    if n.is_multiple_of(2) {
        return match client.chat().create(request).await {
            Ok(response) => Ok(response.served_by().to_owned()),
            Err(e) => Err(e.label()),
        };
    }
    let mut stream = client.chat().stream(request).await.map_err(|e| e.label())?;
    while let Some(event) = stream.next().await {
        match event {
            Ok(StreamEvent::Done(summary)) => return Ok(summary.served_by().to_owned()),
            Ok(_) => {}
            Err(e) => return Err(e.label()),
        }
    }
    // `next` ends with `Done` or an error; a stream that just stops is no success.
    Err(ErrorCategory::StreamInterrupted.as_str())
}

/// The end of the last time-window fault on `primary`: when it recovers.
fn recovery(primary: &ModelBehavior) -> Option<Duration> {
    primary
        .rules()
        .iter()
        .filter_map(ScenarioRule::active_until)
        .max()
}

/// The time back on the primary: how long after `recovery` (the end of its
/// last fault window) the primary's share first reached [`BACK_SHARE`] over
/// a sliding [`BACK_WINDOW`]. Windows start at the start of each successful
/// request from `recovery` on and must end by `run_for`; the share is the
/// primary's part of the successful requests started in the window. The
/// result is the first such window's start minus `recovery`; `None`: never
/// within the run. `outcomes` are sorted by start.
fn back_on_primary(
    outcomes: &[Outcome],
    primary: &str,
    recovery: Duration,
    run_for: Duration,
) -> Option<Duration> {
    let served: Vec<(Duration, bool)> = outcomes
        .iter()
        .filter(|o| o.started >= recovery)
        .filter_map(|o| Some((o.started, o.result.as_ref().ok()? == primary)))
        .collect();
    // by_primary_before[i]: how many of served[..i] the primary served.
    let by_primary_before: Vec<usize> = std::iter::once(0)
        .chain(served.iter().scan(0, |count, &(_, by_primary)| {
            *count += usize::from(by_primary);
            Some(*count)
        }))
        .collect();
    let mut end = 0;
    for (first, &(start, _)) in served.iter().enumerate() {
        let window_end = start + BACK_WINDOW;
        if window_end > run_for {
            break;
        }
        while served.get(end).is_some_and(|&(s, _)| s < window_end) {
            end += 1;
        }
        let in_window = end - first;
        let by_primary = by_primary_before[end] - by_primary_before[first];
        if by_primary as f64 >= BACK_SHARE * in_window as f64 {
            return Some(start - recovery);
        }
    }
    None
}

/// For each second of the run (by request start), the percentage of the
/// successful requests the primary served; `None` when none succeeded.
fn primary_share_per_second(
    outcomes: &[Outcome],
    primary: &str,
    run_for: Duration,
) -> Vec<Option<u8>> {
    let seconds = run_for.as_secs_f64().ceil() as usize;
    let mut counts = vec![(0usize, 0usize); seconds];
    for o in outcomes {
        let (Ok(model), Some(slot)) = (&o.result, counts.get_mut(o.started.as_secs() as usize))
        else {
            continue;
        };
        slot.0 += 1;
        slot.1 += usize::from(model == primary);
    }
    counts
        .into_iter()
        .map(|(served, by_primary)| (served > 0).then(|| (100 * by_primary / served) as u8))
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs one scenario file and returns its figures as JSON.
async fn run_scenario(path: &Path, args: &Args) -> Result<Value, String> {
    let scenario = Scenario::from_path(path).map_err(|e| e.to_string())?;
    let name = path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let chain: Vec<String> = scenario
        .models()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let primary = chain
        .first()
        .cloned()
        .ok_or("the scenario names no model")?;
    let recovery = scenario.models().first().and_then(recovery);
    let full = scenario.duration().unwrap_or(DEFAULT_DURATION);
    let run_for = if args.quick {
        full.min(QUICK_DURATION)
    } else {
        full
    };

    let server = Arc::new(
        MockServer::start(scenario)
            .await
            .map_err(|e| e.to_string())?,
    );
    let client = client(&server, &chain, args)?;
    let callers = {
        let (client, server, primary) = (client.clone(), Arc::clone(&server), primary.clone());
        ClosedLoop::start(args.callers, Duration::ZERO, move |n| {
            let (client, server, primary) = (client.clone(), Arc::clone(&server), primary.clone());
            async move {
                let started = server.elapsed();
                let begun = Instant::now();
                let result = call(&client, &primary, n).await;
                Outcome {
                    started,
                    latency: begun.elapsed(),
                    result,
                }
            }
        })
    };
    tokio::time::sleep(run_for).await;
    // Requests in flight end by themselves (the client's deadline bounds
    // them); wait for every one.
    let mut outcomes = callers.join(Duration::MAX).await;
    let ran = server.elapsed();
    outcomes.sort_by_key(|o| o.started);

    // What the server saw.
    let log = server.log();
    let upstream: usize = chain.iter().map(|m| log.attempts(m)).sum();
    let mut faults: BTreeMap<&str, usize> = BTreeMap::new();
    for record in log.requests() {
        if record.fault.is_some()
            && let Some(m) = chain.iter().find(|m| **m == *record.model)
        {
            *faults.entry(m).or_default() += 1;
        }
    }

    // What the callers saw.
    let requests = outcomes.len();
    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    latencies.sort_unstable();
    let mut served: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &outcomes {
        match &o.result {
            Ok(model) => *served.entry(model).or_default() += 1,
            Err(label) => *failures.entry(label).or_default() += 1,
        }
    }
    let succeeded: usize = served.values().sum();
    let by_primary = served.get(primary.as_str()).copied().unwrap_or(0);
    let fallbacks = succeeded - by_primary;
    let primary_share = (succeeded > 0).then(|| by_primary as f64 / succeeded as f64);
    let back = recovery
        .filter(|r| *r < run_for)
        .map(|r| back_on_primary(&outcomes, &primary, r, run_for));
    let models: Vec<Value> = chain
        .iter()
        .map(|m| {
            json!({
                "name": m,
                "served": served.get(m.as_str()).copied().unwrap_or(0),
                "calls": log.attempts(m),
                "faults": faults.get(m.as_str()).copied().unwrap_or(0),
            })
        })
        .collect();
    let timeline = primary_share_per_second(&outcomes, &primary, run_for);
    let report = json!({
        "scenario": name,
        "duration_ms": ms(run_for),
        "ran_ms": ms(ran),
        "callers": args.callers,
        "primary": primary,
        "requests": requests,
        "succeeded": succeeded,
        "latency_p50_ms": ms(quantile(&latencies, 0.5)),
        "latency_p99_ms": ms(quantile(&latencies, 0.99)),
        "upstream_calls": upstream,
        "fallbacks": fallbacks,
        "primary_share": primary_share,
        "recovery_ms": recovery.map(ms),
        "recovery_in_run": back.is_some(),
        "back_on_primary_ms": back.flatten().map(ms),
        "failures": failures,
        "models": models,
        "primary_share_per_second": timeline,
    });
    print_report(&report);
    if let Ok(server) = Arc::try_unwrap(server) {
        server.shutdown().await;
    }
    Ok(report)
}

/// A few lines for the terminal.
fn print_report(r: &Value) {
    let n = |key: &str| r[key].as_f64().unwrap_or(0.0);
    let requests = n("requests").max(1.0);
    let share = r["primary_share"]
        .as_f64()
        .map_or_else(|| "n/a".to_owned(), |s| format!("{:.1} %", 100.0 * s));
    let back = match (r["recovery_ms"].as_f64(), r["back_on_primary_ms"].as_f64()) {
        (None, _) => "n/a (no fault window on it)".to_owned(),
        (Some(at), Some(back)) => format!(
            "{:.2} s after its recovery at {:.1} s",
            back / 1000.0,
            at / 1000.0
        ),
        (Some(at), None) if r["recovery_in_run"] == true => {
            format!("never (recovery at {:.1} s)", at / 1000.0)
        }
        (Some(at), None) => format!("n/a (recovery at {:.1} s, after the run)", at / 1000.0),
    };
    println!(
        "{}: {} requests from {} callers in {:.1} s\n  success {:.2} %, latency p50 {:.1} ms / \
         p99 {:.1} ms, {:.2} upstream calls per request, {} fallbacks\n  primary {}: share \
         {share}, time back {back}\n  failed: {}\n  per model (served / calls / faults): {}\n  \
         share of the primary, % per second: {}",
        r["scenario"].as_str().unwrap_or_default(),
        n("requests"),
        n("callers"),
        n("ran_ms") / 1000.0,
        100.0 * n("succeeded") / requests,
        n("latency_p50_ms"),
        n("latency_p99_ms"),
        n("upstream_calls") / requests,
        n("fallbacks"),
        r["primary"].as_str().unwrap_or_default(),
        r["failures"],
        r["models"]
            .as_array()
            .map(|models| {
                models
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {}/{}/{}",
                            m["name"], m["served"], m["calls"], m["faults"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        r["primary_share_per_second"]
            .as_array()
            .map(|seconds| {
                seconds
                    .iter()
                    .map(|s| s.as_u64().map_or_else(|| "-".to_owned(), |p| p.to_string()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    );
}

async fn run(args: Args) -> Result<(), String> {
    let mut reports = Vec::new();
    for path in &args.scenarios {
        let report = run_scenario(path, &args)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        reports.push(report);
    }
    if let Some(json_path) = &args.json {
        let policy = format!("{CLIENT}; stream policy `{:?}`", stream_policy(&args));
        let out = json!({ "client": policy, "quick": args.quick, "scenarios": reports });
        let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
        std::fs::write(json_path, text).map_err(|e| format!("{}: {e}", json_path.display()))?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match parse_args(std::env::args().skip(1)) {
        Ok(args) => run(args).await,
        Err(e) => Err(format!(
            "{e}\nusage: chaos [--quick] [--callers N] [--continue-streams] [--json PATH] \
             SCENARIO.toml..."
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(started_ms: u64, result: Result<&str, &'static str>) -> Outcome {
        Outcome {
            started: Duration::from_millis(started_ms),
            latency: Duration::from_millis(10),
            result: result.map(str::to_owned),
        }
    }

    #[test]
    fn the_primary_is_back_at_the_first_second_it_serves_80_percent_of() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let outcomes = [
            outcome(500, Ok("b")),
            outcome(1000, Ok("a")), // before the recovery: ignored
            outcome(2100, Ok("b")),
            outcome(2200, Ok("a")), // the second from here: 5 of 8, not back
            outcome(2300, Ok("b")),
            outcome(2400, Ok("b")),
            outcome(2500, Ok("a")), // the second from here: 4 of 5 successes, back
            outcome(2600, Err("rate_limit")),
            outcome(2700, Ok("a")),
            outcome(2800, Ok("b")),
            outcome(2900, Ok("a")),
            outcome(3000, Ok("a")),
            outcome(3600, Ok("b")),
        ];
        assert_eq!(back_on_primary(&outcomes, "a", s(2), s(4)), Some(ms(500)));
        // The window from 2.5 s must end within the run.
        assert_eq!(back_on_primary(&outcomes, "a", s(2), ms(3400)), None);
        // Counted from the recovery, not from the first request after it.
        assert_eq!(
            back_on_primary(&outcomes[6..], "a", s(2), s(4)),
            Some(ms(500))
        );
        assert_eq!(back_on_primary(&outcomes[..6], "a", s(2), s(4)), None);
        assert_eq!(back_on_primary(&[], "a", s(2), s(4)), None);
    }

    #[test]
    fn the_recovery_is_the_end_of_the_primarys_last_window() {
        let scenario = Scenario::from_toml_str(
            r#"
            [[models]]
            name = "a"
            rules = [
                { from_ms = 1000, until_ms = 4000, fault = "service_unavailable" },
                { from_ms = 5000, until_ms = 6000, fault = "bad_gateway" },
                { probability = 0.1, fault = "server_error" },
            ]
            [[models]]
            name = "b"
            rules = [{ until_ms = 9000, fault = "hang" }]
            "#,
        )
        .unwrap();
        assert_eq!(
            recovery(&scenario.models()[0]),
            Some(Duration::from_secs(6))
        );
        assert_eq!(recovery(&ModelBehavior::new("c")), None);
    }

    #[test]
    fn arguments() {
        let args = |s: &[&str]| parse_args(s.iter().map(|a| (*a).to_owned()));
        let quick = args(&["--quick", "a.toml", "--json", "out.json"]).unwrap();
        assert_eq!(
            quick,
            Args {
                quick: true,
                callers: QUICK_CALLERS,
                continue_streams: false,
                json: Some("out.json".into()),
                scenarios: vec!["a.toml".into()],
            }
        );
        assert_eq!(args(&["--callers", "4", "a.toml"]).unwrap().callers, 4);
        assert_eq!(args(&["a.toml"]).unwrap().callers, CALLERS);
        assert!(
            args(&["--continue-streams", "a.toml"])
                .unwrap()
                .continue_streams
        );
        assert!(args(&["--callers", "0", "a.toml"]).is_err());
        assert!(args(&["--nope", "a.toml"]).is_err());
        assert!(args(&[]).is_err());
    }
}
