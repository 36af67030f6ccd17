//! `neuralbridge demo`: the whole client against misbehaving providers, with no key and no
//! network.
//!
//! nb-mock runs in-process with a scenario (by default `crates/nb-mock/scenarios/demo.toml`,
//! embedded in the binary); a few concurrent callers drive a `NeuralBridge` client against
//! it for the scenario's duration while a live display shows requests, the serving model
//! and the breakers; a summary table and the health report close the run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nb_client::{
    Attempt, ChatRequest, CircuitBreakerConfig, CircuitState, Error, ErrorCategory, HealthReport,
    NeuralBridge, StreamEvent, StreamPolicy, Tier,
};
use nb_mock::{MockServer, Scenario};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::args::print;
use crate::exit::{CliError, CliResult, Exit};
use crate::render;

/// The default scenario, embedded so `demo` runs anywhere.
pub(crate) const DEMO_SCENARIO: &str = include_str!("../../nb-mock/scenarios/demo.toml");

/// How long the demo runs when neither the flag nor the scenario says.
const DEFAULT_DURATION: Duration = Duration::from_secs(20);

/// Concurrent callers.
const CALLERS: usize = 4;

/// Each caller's pause between two requests.
const THINK: Duration = Duration::from_millis(120);

/// Every third request is streamed.
const STREAM_EVERY: u64 = 3;

/// Retries on the same model per call (the client's `max_retries`, and the blind loop's).
const MAX_RETRIES: u32 = 2;

/// How long the run waits, after its duration, for requests in flight.
const DRAIN: Duration = Duration::from_millis(1500);

/// The demo's inputs.
#[derive(Debug)]
pub(crate) struct Demo {
    pub(crate) scenario: Scenario,
    /// Where the scenario came from, for the header.
    pub(crate) source: String,
    pub(crate) duration: Option<Duration>,
}

/// Loads the embedded scenario.
pub(crate) fn embedded() -> Result<Scenario, CliError> {
    Scenario::from_toml_str(DEMO_SCENARIO)
        .map_err(|e| CliError::runtime(format!("the embedded demo scenario does not load: {e}")))
}

/// One finished request.
#[derive(Debug)]
struct Outcome {
    /// When it ended, since the run started.
    finished: Duration,
    latency: Duration,
    served_by: Option<String>,
    /// Every upstream attempt, in order: its model and whether it succeeded.
    attempts: Vec<(String, bool)>,
    failure: Option<ErrorCategory>,
}

/// What the callers have done so far.
#[derive(Debug, Default)]
struct Stats {
    /// In the order they finished.
    outcomes: Vec<Outcome>,
}

/// A breaker's state in a few letters.
fn breaker_name(state: CircuitState) -> &'static str {
    match state {
        CircuitState::Closed => "closed",
        CircuitState::Open => "OPEN",
        CircuitState::HalfOpen => "half-open",
        CircuitState::ForcedOpen => "FORCED-OPEN",
        CircuitState::Disabled => "disabled",
        _ => "observing",
    }
}

/// Runs the demo and prints the summary.
pub(crate) async fn run(demo: Demo) -> CliResult {
    let chain: Vec<String> = demo
        .scenario
        .models()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let Some(primary) = chain.first().cloned() else {
        return Err(CliError::usage("the scenario names no model"));
    };
    let duration = demo
        .duration
        .or(demo.scenario.duration())
        .unwrap_or(DEFAULT_DURATION);
    let description = demo.scenario.description().map(str::to_owned);
    let server = MockServer::builder(demo.scenario)
        .log_limit(0)
        .start()
        .await
        .map_err(CliError::runtime)?;
    let client = NeuralBridge::builder()
        .base_url(server.base_url())
        .api_key("demo-key-not-a-real-one")
        .fallback_models(chain.iter().skip(1).cloned())
        .max_retries(MAX_RETRIES)
        .deadline(Duration::from_secs(8))
        .timeout_ladder([Tier::Fixed(Duration::from_millis(1500))])
        .idle_timeout(Duration::from_secs(1))
        .stream_policy(StreamPolicy::Continue)
        .breaker(CircuitBreakerConfig {
            recovery_timeout: Duration::from_secs(2),
            max_recovery_timeout: Duration::from_secs(8),
            ..CircuitBreakerConfig::consecutive_failures(3)
        })
        .seed(7)
        .build()
        .map_err(|e| CliError::runtime(format!("cannot build the client: {e}")))?;

    let mut head = String::new();
    let _ = writeln!(
        head,
        "NeuralBridge demo: a self-healing client against misbehaving providers"
    );
    let _ = writeln!(head, "(nb-mock in this process: no key, no network)\n");
    let _ = writeln!(head, "  Scenario: {}", demo.source);
    if let Some(d) = &description {
        render::wrapped(&mut head, "            ", d);
    }
    let _ = writeln!(head, "  Chain:    {}", chain.join(" → "));
    let _ = writeln!(
        head,
        "  Load:     {CALLERS} callers for {}, every {STREAM_EVERY}rd request streamed",
        render::duration(duration)
    );
    let _ = writeln!(
        head,
        "  Client:   {MAX_RETRIES} retries per model, breakers open after 3 failures in a row,\n            \
         1.5 s per attempt, cut streams continue on the next model\n"
    );
    print(&head)?;

    let stats = Arc::new(Mutex::new(Stats::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut callers = JoinSet::new();
    for _ in 0..CALLERS {
        callers.spawn(caller(
            client.clone(),
            started,
            primary.clone(),
            Arc::clone(&stats),
            Arc::clone(&stop),
            Arc::clone(&counter),
        ));
    }

    // Redraw in place only on a terminal that understands cursor movement.
    let redraw =
        std::io::stdout().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
    let mut display = Display::new(redraw, chain.clone());
    let tick = if display.tty {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(1)
    };
    let mut next = started + tick;
    while started.elapsed() < duration {
        tokio::time::sleep_until(next.min(started + duration)).await;
        next += tick;
        display.update(&client, &stats, started.elapsed(), duration)?;
    }
    stop.store(true, Ordering::Relaxed);
    let traffic = started.elapsed();
    let drained = tokio::time::timeout(DRAIN, async {
        while callers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        callers.abort_all();
    }
    display.finish(&client, &stats, traffic, duration)?;

    let stats = std::mem::take(&mut *stats.lock().unwrap_or_else(PoisonError::into_inner));
    let mut out = String::new();
    summary(&mut out, &stats, &chain, traffic);
    health(&mut out, &client.health_status());
    print(&out)?;
    server.shutdown().await;
    Ok(Exit::Ok)
}

/// One caller: requests back to back (with a short pause) until told to stop.
async fn caller(
    client: NeuralBridge,
    started: Instant,
    primary: String,
    stats: Arc<Mutex<Stats>>,
    stop: Arc<AtomicBool>,
    counter: Arc<AtomicU64>,
) {
    while !stop.load(Ordering::Relaxed) {
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        let request = ChatRequest::new(primary.as_str()).user(format!(
            "Request {n}: summarize today's incidents in one line."
        ));
        let begun = Instant::now();
        let (served_by, attempts, failure) = if n.is_multiple_of(STREAM_EVERY) {
            streamed(&client, request).await
        } else {
            match client.chat().create(request).await {
                Ok(r) => (Some(r.served_by().to_owned()), models(r.attempts()), None),
                Err(e) => failed(&e),
            }
        };
        let outcome = Outcome {
            finished: started.elapsed(),
            latency: begun.elapsed(),
            served_by,
            attempts,
            failure,
        };
        if !stop.load(Ordering::Relaxed) {
            let mut s = stats.lock().unwrap_or_else(PoisonError::into_inner);
            s.outcomes.push(outcome);
        }
        tokio::time::sleep(THINK).await;
    }
}

/// What a request ended with: the model that served, every attempt's model, and the final
/// diagnosis's category when it failed.
type Ended = (Option<String>, Vec<(String, bool)>, Option<ErrorCategory>);

fn models(attempts: &[Attempt]) -> Vec<(String, bool)> {
    attempts
        .iter()
        .map(|a| (a.model().to_owned(), a.is_success()))
        .collect()
}

fn failed(e: &Error) -> Ended {
    let category = e.category().unwrap_or(ErrorCategory::Unknown);
    (None, models(e.attempts()), Some(category))
}

/// A streamed request read to its end.
async fn streamed(client: &NeuralBridge, request: ChatRequest) -> Ended {
    let mut stream = match client.chat().stream(request).await {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    while let Some(event) = stream.next().await {
        match event {
            Ok(StreamEvent::Done(summary)) => {
                return (
                    Some(summary.served_by().to_owned()),
                    models(summary.attempts()),
                    None,
                );
            }
            Ok(_) => {}
            Err(e) => return failed(&e),
        }
    }
    // `next` ends with `Done` or an error; a stream that just stops is no success.
    let category = Some(ErrorCategory::StreamInterrupted);
    (None, models(stream.attempts()), category)
}

/// The live display: a few status lines redrawn in place on a terminal, a line per second
/// otherwise; breaker changes and a new serving model are printed as events above it.
#[derive(Debug)]
struct Display {
    tty: bool,
    chain: Vec<String>,
    drawn: usize,
    breakers: BTreeMap<String, CircuitState>,
    serving: Option<String>,
}

impl Display {
    fn new(tty: bool, chain: Vec<String>) -> Self {
        Self {
            tty,
            chain,
            drawn: 0,
            breakers: BTreeMap::new(),
            serving: None,
        }
    }

    fn update(
        &mut self,
        client: &NeuralBridge,
        stats: &Mutex<Stats>,
        elapsed: Duration,
        total: Duration,
    ) -> Result<(), CliError> {
        let mut out = String::new();
        if self.tty && self.drawn > 0 {
            // Up to the first status line, and clear from there.
            let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn);
        }
        let at = format!("{:>6.1}s", elapsed.as_secs_f64());
        let targets = client.targets();
        for t in &targets {
            let before = self.breakers.insert(t.model.clone(), t.breaker);
            if before.is_some_and(|b| b != t.breaker)
                || (before.is_none() && t.breaker != CircuitState::Closed)
            {
                let from = before.map_or("closed", breaker_name);
                let _ = writeln!(
                    out,
                    "{at}  breaker {:<16} {from} → {}",
                    t.model,
                    breaker_name(t.breaker)
                );
            }
        }
        let (requests, ok, fallbacks, calls, recent) = {
            let s = stats.lock().unwrap_or_else(PoisonError::into_inner);
            let ok = s.outcomes.iter().filter(|o| o.served_by.is_some()).count();
            let primary = self.chain.first().map(String::as_str);
            let fallbacks = s
                .outcomes
                .iter()
                .filter(|o| o.served_by.is_some() && o.served_by.as_deref() != primary)
                .count();
            let calls: usize = s.outcomes.iter().map(|o| o.attempts.len()).sum();
            // Who answered over the last second.
            let since = elapsed.saturating_sub(Duration::from_secs(1));
            let mut recent: BTreeMap<String, usize> = BTreeMap::new();
            for o in s.outcomes.iter().rev().take_while(|o| o.finished >= since) {
                if let Some(m) = &o.served_by {
                    *recent.entry(m.clone()).or_default() += 1;
                }
            }
            (s.outcomes.len(), ok, fallbacks, calls, recent)
        };
        let answered: usize = recent.values().sum();
        let mut shares: Vec<(usize, &String)> = recent.iter().map(|(m, k)| (*k, m)).collect();
        shares.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        // Announce a new main server only when it clearly dominates.
        let dominant = shares
            .first()
            .filter(|(k, _)| *k * 5 >= answered * 3)
            .map(|(_, m)| (*m).clone());
        if dominant.is_some() && dominant != self.serving {
            let _ = writeln!(
                out,
                "{at}  now mostly served by {}",
                dominant.as_deref().unwrap_or_default()
            );
            self.serving = dominant;
        }
        let serving = if shares.is_empty() {
            "-".to_owned()
        } else {
            shares
                .iter()
                .map(|(k, m)| format!("{m} {:.0}%", 100.0 * *k as f64 / answered as f64))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let rate = if requests == 0 {
            100.0
        } else {
            100.0 * ok as f64 / requests as f64
        };
        let breaker = |m: &String| {
            let t = targets.iter().find(|t| &t.model == m);
            let state = t.map_or("closed", |t| breaker_name(t.breaker));
            match t.and_then(|t| t.reopens_in) {
                Some(wait) if state != "closed" => {
                    format!("{state} (reopens in {:.1} s)", wait.as_secs_f64())
                }
                _ => state.to_owned(),
            }
        };
        if self.tty {
            let width = 30;
            let share = (elapsed.as_secs_f64() / total.as_secs_f64()).min(1.0);
            let done = (share * width as f64) as usize;
            let mut lines = vec![
                format!(
                    "  ▶ {:.1} s / {:.1} s  [{}{}]",
                    elapsed.as_secs_f64(),
                    total.as_secs_f64(),
                    "█".repeat(done),
                    "░".repeat(width - done)
                ),
                format!(
                    "  requests {requests}   ok {ok} ({rate:.1}%)   fallbacks {fallbacks}   \
                     upstream calls {calls}"
                ),
                format!("  serving  {serving}"),
            ];
            for (i, m) in self.chain.iter().enumerate() {
                let label = if i == 0 { "breaker" } else { "" };
                lines.push(format!("  {label:<8} {m:<16} {}", breaker(m)));
            }
            // Every line must fit one terminal row, or redrawing in place goes wrong.
            for l in &lines {
                let _ = writeln!(out, "{}", render::fit(l, 79));
            }
            self.drawn = lines.len();
        } else {
            let states: Vec<String> = self
                .chain
                .iter()
                .map(|m| format!("{m} {}", breaker(m)))
                .collect();
            let _ = writeln!(
                out,
                "{at}  requests {requests}  ok {rate:.1}%  serving {serving}  breakers: {}",
                states.join(", ")
            );
        }
        print(&out)
    }

    fn finish(
        &mut self,
        client: &NeuralBridge,
        stats: &Mutex<Stats>,
        elapsed: Duration,
        total: Duration,
    ) -> Result<(), CliError> {
        if self.tty {
            self.update(client, stats, elapsed, total)?;
        }
        print("\n")
    }
}

/// The `q` quantile (0..=1) of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Upstream calls a blind retry loop would have made for this request and the client did
/// not: the blind loop tries each model of the chain `1 + MAX_RETRIES` times before moving
/// on; for every model before the one that served (all of them when nothing served), the
/// difference between that and the calls the client made to it.
fn saved(o: &Outcome, chain: &[String]) -> usize {
    let until = o
        .served_by
        .as_ref()
        .and_then(|m| chain.iter().position(|c| c == m))
        .unwrap_or(chain.len());
    chain[..until]
        .iter()
        .map(|m| {
            let made = o.attempts.iter().filter(|(a, _)| a == m).count();
            (1 + MAX_RETRIES as usize).saturating_sub(made)
        })
        .sum()
}

fn summary(out: &mut String, stats: &Stats, chain: &[String], elapsed: Duration) {
    let n = stats.outcomes.len();
    let ok: Vec<&Outcome> = stats
        .outcomes
        .iter()
        .filter(|o| o.served_by.is_some())
        .collect();
    let mut latencies: Vec<Duration> = ok.iter().map(|o| o.latency).collect();
    latencies.sort_unstable();
    let primary = chain.first().map(String::as_str).unwrap_or_default();
    let fallbacks = ok
        .iter()
        .filter(|o| o.served_by.as_deref() != Some(primary))
        .count();
    let calls: usize = stats.outcomes.iter().map(|o| o.attempts.len()).sum();
    let saved: usize = stats.outcomes.iter().map(|o| saved(o, chain)).sum();
    let pct = |k: usize| {
        if n == 0 {
            0.0
        } else {
            100.0 * k as f64 / n as f64
        }
    };

    render::banner(
        out,
        &format!("SUMMARY  ({} of traffic)", render::duration(elapsed)),
    );
    let rows = [
        ("requests", n.to_string()),
        (
            "success rate",
            format!("{:.1}%  ({} of {n})", pct(ok.len()), ok.len()),
        ),
        (
            "latency p50 / p99",
            format!(
                "{} / {}  (successful requests)",
                render::duration(quantile(&latencies, 0.5)),
                render::duration(quantile(&latencies, 0.99))
            ),
        ),
        (
            "fallbacks",
            format!("{fallbacks}  (answered by a model other than {primary})"),
        ),
        (
            "upstream calls",
            format!(
                "{calls}  ({:.2} per request)",
                if n == 0 { 0.0 } else { calls as f64 / n as f64 }
            ),
        ),
        ("retries saved", format!("{saved}  (see below)")),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "  {name:<18} {value}");
    }
    let _ = writeln!(out);
    render::wrapped(
        out,
        "  ",
        &format!(
            "Retries saved: upstream calls a blind retry loop would have made and NeuralBridge \
             did not. The blind loop tries each model of the chain {} times (1 + {MAX_RETRIES} \
             retries) before moving to the next; NeuralBridge skips models whose breaker is \
             open, gives up at once on failures that cannot heal and on hung models, and so \
             reaches a model that answers with fewer calls.",
            1 + MAX_RETRIES
        ),
    );
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "  {:<16} {:>7} {:>7} {:>7}",
        "MODEL", "SERVED", "CALLS", "FAILED"
    );
    for m in chain {
        let served = ok
            .iter()
            .filter(|o| o.served_by.as_deref() == Some(m))
            .count();
        let (mut calls, mut failed) = (0, 0);
        for (model, success) in stats.outcomes.iter().flat_map(|o| &o.attempts) {
            if model == m {
                calls += 1;
                failed += usize::from(!success);
            }
        }
        let _ = writeln!(out, "  {m:<16} {served:>7} {calls:>7} {failed:>7}");
    }
    let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &stats.outcomes {
        if let Some(c) = o.failure {
            *failures.entry(c.as_str()).or_default() += 1;
        }
    }
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|(c, k)| format!("{c} {k}")).collect();
        let _ = writeln!(
            out,
            "\n  Requests that failed, by final diagnosis: {}",
            list.join(", ")
        );
    }
    let _ = writeln!(out);
}

fn health(out: &mut String, report: &HealthReport) {
    let verdict = if report.healthy {
        "✓ HEALTHY"
    } else {
        "✗ UNHEALTHY"
    };
    render::banner(out, &format!("HEALTH REPORT  {verdict}"));
    let list = |models: &[String]| {
        if models.is_empty() {
            "-".to_owned()
        } else {
            models.join(", ")
        }
    };
    let _ = writeln!(out, "  active     {}", list(&report.active_models));
    let _ = writeln!(out, "  degraded   {}", list(&report.degraded_models));
    let _ = writeln!(out, "  failed     {}", list(&report.failed_models));
    let _ = writeln!(out);
    for m in &report.models {
        let rate = m
            .success_rate
            .map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0));
        let failures: Vec<String> = m
            .reliability
            .failures
            .iter()
            .map(|(c, k)| format!("{c} {k}"))
            .collect();
        let failures = if failures.is_empty() {
            String::new()
        } else {
            format!("  ({})", failures.join(", "))
        };
        let _ = writeln!(
            out,
            "  {:<16} success {rate:>4} of {:>4} calls{failures}",
            m.model, m.reliability.calls
        );
    }
    if !report.recommendations.is_empty() {
        let _ = writeln!(out, "\n  Recommendations:");
        for r in &report.recommendations {
            render::wrapped(out, "  - ", r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(served_by: Option<&str>, attempts: &[&str]) -> Outcome {
        Outcome {
            finished: Duration::ZERO,
            latency: Duration::from_millis(100),
            served_by: served_by.map(str::to_owned),
            attempts: attempts.iter().map(|a| ((*a).to_owned(), false)).collect(),
            failure: None,
        }
    }

    #[test]
    fn retries_saved_counts_calls_a_blind_loop_would_have_made() {
        let chain: Vec<String> = ["a", "b", "c"].map(str::to_owned).to_vec();
        // Served by the primary: nothing saved, whatever the retries.
        assert_eq!(saved(&outcome(Some("a"), &["a", "a"]), &chain), 0);
        // The primary's breaker was open: the blind loop would have called it 3 times.
        assert_eq!(saved(&outcome(Some("b"), &["b"]), &chain), 3);
        // One call to a failing primary, one to b (given up at once), c served.
        assert_eq!(saved(&outcome(Some("c"), &["a", "b", "c"]), &chain), 4);
        // Nothing served: every model counts.
        assert_eq!(saved(&outcome(None, &["a", "a", "a"]), &chain), 6);
    }

    #[test]
    fn quantiles_of_sorted_latencies() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&ms, 0.5), Duration::from_millis(51));
        assert_eq!(quantile(&ms, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn the_embedded_scenario_loads() {
        let s = embedded().unwrap();
        assert!(s.models().len() >= 2);
        assert_eq!(s.duration(), Some(Duration::from_secs(20)));
    }
}
