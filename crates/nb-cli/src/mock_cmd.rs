//! `neuralbridge mock`: nb-mock as a standalone server, so any program can be tested against
//! misbehaving providers.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use nb_mock::{MockServer, RequestLog, Scenario};

use crate::args::print;
use crate::exit::{CliError, CliResult, Exit};

/// How many records the standalone server keeps: enough for the live log between two polls.
const LOG_LIMIT: usize = 4096;

/// How often the live log looks for new requests.
const POLL: Duration = Duration::from_millis(200);

/// Loads a scenario file, with the file name in the error.
pub(crate) fn load_scenario(path: &Path) -> Result<Scenario, CliError> {
    Scenario::from_path(path)
        .map_err(|e| CliError::usage(format!("scenario {}: {e}", path.display())))
}

/// Starts the server, prints its base URL and what it serves, logs each request (unless
/// `quiet`), and runs until Ctrl-C.
pub(crate) async fn run(scenario: Scenario, host: IpAddr, port: u16, quiet: bool) -> CliResult {
    let server = MockServer::builder(scenario)
        .addr(SocketAddr::new(host, port))
        .log_limit(LOG_LIMIT)
        .start()
        .await
        .map_err(CliError::runtime)?;
    print(&describe(&server))?;

    let log = server.log().clone();
    let mut shown: HashMap<String, u32> = HashMap::new();
    let mut tick = tokio::time::interval(POLL);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tick.tick() => {
                if !quiet {
                    print(&new_requests(&log, &mut shown))?;
                }
            }
        }
    }
    let mut summary = String::new();
    if !quiet {
        summary.push_str(&new_requests(&log, &mut shown));
    }
    let _ = writeln!(summary, "\nStopped. Requests per model:");
    for model in server.scenario().models() {
        let _ = writeln!(
            summary,
            "  {:<24} {}",
            model.name(),
            log.attempts(model.name())
        );
    }
    server.shutdown().await;
    print(&summary)?;
    Ok(Exit::Ok)
}

/// The startup banner: the base URL first (scripts read the first line), then the models.
fn describe(server: &MockServer) -> String {
    let scenario = server.scenario();
    let mut out = String::new();
    let _ = writeln!(out, "nb-mock listening on {}", server.base_url());
    if let Some(d) = scenario.description() {
        let _ = writeln!(out, "Scenario: {d}");
    }
    let _ = writeln!(out, "Models (first is the primary):");
    for m in scenario.models() {
        let faults: Vec<&str> = m.rules().iter().map(|r| r.fault().name()).collect();
        let faults = if faults.is_empty() {
            "healthy".to_owned()
        } else {
            faults.join(", ")
        };
        let _ = writeln!(
            out,
            "  {:<24} latency {} ms; faults: {faults}",
            m.name(),
            m.base_latency().as_millis()
        );
    }
    let _ = writeln!(
        out,
        "Try: curl {}/chat/completions -H 'Content-Type: application/json' \\\n       -d '{{\"model\":\"{}\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hi\"}}]}}'",
        server.base_url(),
        scenario.models().first().map_or("gpt-4o", |m| m.name())
    );
    let _ = writeln!(out, "Press Ctrl-C to stop.\n");
    out
}

/// One line per request not shown yet (a request is identified by its model and attempt
/// number, which the server counts per model); requests that came and left the log between
/// two polls are counted.
fn new_requests(log: &RequestLog, shown: &mut HashMap<String, u32>) -> String {
    let mut out = String::new();
    for r in log.requests() {
        let last = shown.entry(r.model.to_string()).or_insert(0);
        if r.attempt <= *last {
            continue;
        }
        let missed = r.attempt - *last - 1;
        if missed > 0 {
            let _ = writeln!(out, "  ({missed} requests for {} not shown)", r.model);
        }
        *last = r.attempt;
        let fault = r.fault.as_ref().map_or("ok", |f| f.name());
        let kind = if r.stream { "stream" } else { "plain " };
        let _ = writeln!(
            out,
            "  {:>8.3}s  {:<20} #{:<5} {kind}  {fault}",
            r.at.as_secs_f64(),
            r.model,
            r.attempt
        );
    }
    out
}
