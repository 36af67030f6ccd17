//! `neuralbridge demo`: the whole client against misbehaving providers, with no key and no
//! network.
//!
//! nb-mock runs in-process with a scenario (by default `crates/nb-mock/scenarios/demo.toml`,
//! embedded in the binary); a few concurrent callers drive a `NeuralBridge` client against
//! it for the scenario's duration while a live display shows what failed, the breakers and
//! the serving model. At the same time the same callers drive a plain retry loop against a
//! second copy of the scenario, so the summary compares measured numbers, not estimates.
//! The health report closes the run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nb_client::transport::{Endpoint, HyperTransport, RequestOptions, Timeouts, Transport};
use nb_client::wire::ChatCompletionRequest;
use nb_client::{ApiKey, ChatCompletion};
use nb_client::{
    Attempt, ChatRequest, Error, ErrorCategory, NeuralBridge, StreamEvent,
    health::CircuitState,
    policy::{Decision, StreamPolicy},
};
use nb_mock::{ClosedLoop, MockServer, Scenario};
use tokio::time::Instant;

use crate::args::print;
use crate::exit::{CliError, CliResult, Exit};
use crate::render;

mod report;

use report::{Totals, health, summary};

/// The default scenario, embedded so `demo` runs anywhere.
pub(crate) const DEMO_SCENARIO: &str = nb_mock::scenarios::DEMO;

/// How long the demo runs when neither the flag nor the scenario says.
const DEFAULT_DURATION: Duration = Duration::from_secs(20);

/// Concurrent callers (for each of the two clients).
const CALLERS: usize = 4;

/// Each caller's pause between two requests.
const THINK: Duration = Duration::from_millis(120);

/// Every third request is streamed.
const STREAM_EVERY: u64 = 3;

/// Retries on the same model per call (the plain loop's; the client's
/// default `max_retries` is the same).
const MAX_RETRIES: u32 = 2;

/// Each upstream attempt's time limit in the plain loop.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long the run waits, after its duration, for requests in flight.
const DRAIN: Duration = Duration::from_millis(1500);

/// The largest answer the plain loop reads.
const MAX_BODY: usize = 1 << 20;

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
    /// Every upstream call, in order: its model, and its diagnosed category when it failed
    /// (`Unknown` for the plain loop, which does not diagnose).
    attempts: Vec<(String, Option<ErrorCategory>)>,
    /// Why the request failed, as nb-client's `Error::label` names it: the final
    /// diagnosis's category, or the error's kind (`cooling_down`, `deadline_exceeded`)
    /// when the call ended for a reason of its own (NeuralBridge only).
    failure: Option<&'static str>,
}

/// What the callers have done so far, in the order their requests finished.
#[derive(Debug, Default)]
struct Stats {
    neuralbridge: Vec<Outcome>,
    plain: Vec<Outcome>,
}

/// Which of the two clients a caller drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    NeuralBridge,
    Plain,
}

impl Stats {
    fn side(&mut self, side: Side) -> &mut Vec<Outcome> {
        match side {
            Side::NeuralBridge => &mut self.neuralbridge,
            Side::Plain => &mut self.plain,
        }
    }
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

/// What a breaker change means, for the event line.
fn breaker_change(from: CircuitState, to: CircuitState) -> &'static str {
    match (from, to) {
        (CircuitState::Closed, CircuitState::Open) => {
            "failing: calls skip it until a trial call is due"
        }
        (_, CircuitState::HalfOpen) => "the next call is a trial, to see whether it recovered",
        (CircuitState::HalfOpen, CircuitState::Open) => "the trial failed: skipped for longer",
        (CircuitState::Open, CircuitState::Open) => "a trial failed: skipped for longer",
        (_, CircuitState::Closed) => "a trial call succeeded: back in service",
        _ => "",
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
    let server = MockServer::builder(demo.scenario.clone())
        .log_limit(0)
        .start()
        .await
        .map_err(CliError::runtime)?;
    let plain_server = MockServer::builder(demo.scenario)
        .log_limit(0)
        .start()
        .await
        .map_err(CliError::runtime)?;
    // The shipped defaults, but for continuing cut streams.
    let client = NeuralBridge::builder()
        .base_url(server.base_url())
        .api_key("demo-key-not-a-real-one")
        .fallback_models(chain.iter().skip(1).cloned())
        .stream_policy(StreamPolicy::Continue)
        .seed(7)
        .build()
        .map_err(|e| CliError::runtime(format!("cannot build the client: {e}")))?;
    let plain = Plain::new(&plain_server.base_url(), chain.clone())?;

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
    let _ = writeln!(head, "  Chain:    {} (primary first)", chain.join(" → "));
    let _ = writeln!(
        head,
        "  Load:     {CALLERS} callers for {}, every {STREAM_EVERY}rd request streamed",
        render::duration(duration)
    );
    render::wrapped(
        &mut head,
        "  Client:   ",
        "NeuralBridge with its shipped defaults: diagnoses each failure, goes elsewhere at \
         once after one that can heal (backs off, honouring Retry-After, only when nothing \
         else is available), hedges an attempt that has not answered within its model's \
         usual time, opens a breaker at a 50 % failure rate for 2 s and brings the model \
         back gradually; continues cut streams on the next model.",
    );
    render::wrapped(
        &mut head,
        "  Versus:   ",
        &format!(
            "a plain retry loop, at the same time, against its own copy of the scenario: {} \
             tries per model, then the next model; no diagnosis, no backoff, no breakers; {} \
             per attempt.",
            1 + MAX_RETRIES,
            render::duration(ATTEMPT_TIMEOUT)
        ),
    );
    let _ = writeln!(head);
    print(&head)?;

    let stats = Arc::new(Mutex::new(Stats::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let run = Run {
        started,
        stats: Arc::clone(&stats),
        stop: Arc::clone(&stop),
    };
    let neuralbridge = {
        let (client, primary, run) = (client.clone(), primary.clone(), run.clone());
        ClosedLoop::start(CALLERS, THINK, move |n| {
            let (client, primary, run) = (client.clone(), primary.clone(), run.clone());
            async move { call(&client, &primary, &run, n + 1).await }
        })
    };
    let plain_loop = {
        let (plain, run) = (plain.clone(), run.clone());
        ClosedLoop::start(CALLERS, THINK, move |n| {
            let (plain, run) = (plain.clone(), run.clone());
            async move { plain_call(&plain, &run, n + 1).await }
        })
    };

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
    tokio::join!(neuralbridge.join(DRAIN), plain_loop.join(DRAIN));
    display.finish(&client, &stats, traffic, duration)?;

    let stats = std::mem::take(&mut *stats.lock().unwrap_or_else(PoisonError::into_inner));
    let mut out = String::new();
    summary(&mut out, &stats, &chain, traffic);
    health(&mut out, &client.health_status());
    print(&out)?;
    server.shutdown().await;
    plain_server.shutdown().await;
    Ok(Exit::Ok)
}

/// What every caller shares.
#[derive(Debug, Clone)]
struct Run {
    started: Instant,
    stats: Arc<Mutex<Stats>>,
    stop: Arc<AtomicBool>,
}

impl Run {
    /// Records a finished request, unless the run is over (it would count past the end).
    fn record(&self, side: Side, outcome: Outcome) {
        if !self.stop.load(Ordering::Relaxed) {
            let mut s = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
            s.side(side).push(outcome);
        }
    }
}

/// One NeuralBridge request, recorded.
async fn call(client: &NeuralBridge, primary: &str, run: &Run, n: u64) {
    let request = ChatRequest::new(primary).user_message(prompt(n));
    let begun = Instant::now();
    let (served_by, attempts, failure) = if n.is_multiple_of(STREAM_EVERY) {
        streamed(client, request).await
    } else {
        match client.chat().create(request).await {
            Ok(r) => (Some(r.served_by().to_owned()), models(r.attempts()), None),
            Err(e) => failed(&e),
        }
    };
    let outcome = Outcome {
        finished: run.started.elapsed(),
        latency: begun.elapsed(),
        served_by,
        attempts,
        failure,
    };
    run.record(Side::NeuralBridge, outcome);
}

fn prompt(n: u64) -> String {
    format!("Request {n}: summarize today's incidents in one line.")
}

/// What a request ended with: the model that served, every attempt, and the final
/// diagnosis's category when it failed.
type Ended = (
    Option<String>,
    Vec<(String, Option<ErrorCategory>)>,
    Option<&'static str>,
);

fn models(attempts: &[Attempt]) -> Vec<(String, Option<ErrorCategory>)> {
    attempts
        .iter()
        .map(|a| {
            // A hedge's loser was cancelled: a call, not a failure.
            let failure = if a.is_success() || a.decision() == Decision::Cancelled {
                None
            } else {
                Some(a.diagnosis().map_or(ErrorCategory::Unknown, |d| d.category))
            };
            (a.model().to_owned(), failure)
        })
        .collect()
}

fn failed(e: &Error) -> Ended {
    (None, models(e.attempts()), Some(e.label()))
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
    let failure = Some(ErrorCategory::StreamInterrupted.as_str());
    (None, models(stream.attempts()), failure)
}

/// The plain retry loop the demo compares against: each model of the chain up to
/// `1 + MAX_RETRIES` times, in order, until one answers in full.
#[derive(Debug, Clone)]
struct Plain {
    transport: HyperTransport,
    endpoint: Arc<Endpoint>,
    key: Arc<ApiKey>,
    chain: Arc<[String]>,
}

impl Plain {
    fn new(base_url: &str, chain: Vec<String>) -> Result<Self, CliError> {
        let transport = HyperTransport::builder()
            .connect_timeout(Some(ATTEMPT_TIMEOUT))
            .build()
            .map_err(|e| CliError::runtime(format!("cannot set up HTTP: {e}")))?;
        let endpoint = Endpoint::openai_compatible(base_url).map_err(CliError::runtime)?;
        Ok(Self {
            transport,
            endpoint: Arc::new(endpoint),
            key: Arc::new(ApiKey::new("demo-key-not-a-real-one")),
            chain: chain.into(),
        })
    }

    /// One request through the loop: the model that answered and every call made.
    async fn call(&self, n: u64, stream: bool) -> (Option<String>, Vec<(String, bool)>) {
        let mut calls = Vec::new();
        for model in self.chain.iter() {
            for _ in 0..=MAX_RETRIES {
                let ok = self.attempt(model, n, stream).await;
                calls.push((model.clone(), ok));
                if ok {
                    return (Some(model.clone()), calls);
                }
            }
        }
        (None, calls)
    }

    /// One upstream call: a whole answer (ending in `[DONE]` when streamed) is a success.
    async fn attempt(&self, model: &str, n: u64, stream: bool) -> bool {
        let request = ChatCompletionRequest::new(model)
            .user_message(prompt(n))
            .stream(stream);
        let Ok(request) = self.endpoint.chat_request(Some(&self.key), &request) else {
            return false;
        };
        let options = RequestOptions {
            timeouts: Timeouts {
                total: Some(ATTEMPT_TIMEOUT),
                ..Timeouts::default()
            },
            max_body: Some(MAX_BODY),
            ..RequestOptions::default()
        };
        let Ok(response) = self.transport.send(request, options).await else {
            return false;
        };
        if !response.status().is_success() {
            return false;
        }
        let Ok(body) = response.into_body().collect_capped(MAX_BODY).await else {
            return false;
        };
        if stream {
            body.windows(12).any(|w| w == b"data: [DONE]")
        } else {
            serde_json::from_slice::<ChatCompletion>(&body).is_ok_and(|c| !c.choices.is_empty())
        }
    }
}

/// One plain-loop request, recorded.
async fn plain_call(plain: &Plain, run: &Run, n: u64) {
    let begun = Instant::now();
    let (served_by, calls) = plain.call(n, n.is_multiple_of(STREAM_EVERY)).await;
    let outcome = Outcome {
        finished: run.started.elapsed(),
        latency: begun.elapsed(),
        served_by,
        attempts: calls
            .into_iter()
            .map(|(m, ok)| (m, (!ok).then_some(ErrorCategory::Unknown)))
            .collect(),
        failure: None,
    };
    run.record(Side::Plain, outcome);
}

/// The live display: a few status lines redrawn in place on a terminal, a line per second
/// otherwise; once a second, what failed, breaker changes and a new serving model are
/// printed as events above it.
#[derive(Debug)]
struct Display {
    tty: bool,
    chain: Vec<String>,
    drawn: usize,
    breakers: BTreeMap<String, (CircuitState, Option<Duration>)>,
    serving: Option<String>,
    /// NeuralBridge's requests whose failed calls were reported already.
    reported: usize,
    /// The last whole second events were printed for.
    second: u64,
}

impl Display {
    fn new(tty: bool, chain: Vec<String>) -> Self {
        Self {
            tty,
            chain,
            drawn: 0,
            breakers: BTreeMap::new(),
            serving: None,
            reported: 0,
            second: 0,
        }
    }

    /// The events since the last whole second: failed calls, breaker changes, a new main
    /// server.
    fn events(
        &mut self,
        out: &mut String,
        client: &NeuralBridge,
        s: &Stats,
        at: &str,
        recent: &BTreeMap<String, usize>,
    ) {
        let mut failures: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for o in &s.neuralbridge[self.reported.min(s.neuralbridge.len())..] {
            for (model, failure) in &o.attempts {
                if let Some(c) = failure {
                    *failures.entry((model.as_str(), c.as_str())).or_default() += 1;
                }
            }
        }
        self.reported = s.neuralbridge.len();
        if !failures.is_empty() {
            let list: Vec<String> = failures
                .iter()
                .map(|((m, c), k)| format!("{m} {c} ×{k}"))
                .collect();
            render::wrapped(out, &format!("{at}  failed calls: "), &list.join(", "));
        }
        for t in client.targets() {
            let now = (t.breaker, t.reopens_in);
            let before = self.breakers.insert(t.model.clone(), now);
            let (from, _) = before.unwrap_or((CircuitState::Closed, None));
            // Open again with a longer wait than before: a trial call failed in between.
            let reopened = t.breaker == CircuitState::Open
                && from == CircuitState::Open
                && before
                    .and_then(|(_, wait)| wait)
                    .zip(t.reopens_in)
                    .is_some_and(|(old, new)| new > old);
            if from != t.breaker || reopened {
                let _ = writeln!(
                    out,
                    "{at}  breaker {} {} → {}: {}",
                    t.model,
                    breaker_name(from),
                    breaker_name(t.breaker),
                    breaker_change(from, t.breaker)
                );
            }
        }
        let answered: usize = recent.values().sum();
        // Announce a new main server only when it clearly dominates the last second.
        let dominant = recent
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .filter(|(_, k)| **k * 5 >= answered * 3)
            .map(|(m, _)| m.clone());
        if dominant.is_some() && dominant != self.serving {
            let _ = writeln!(
                out,
                "{at}  now mostly served by {}",
                dominant.as_deref().unwrap_or_default()
            );
            self.serving = dominant;
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
        let primary = self.chain.first().cloned().unwrap_or_default();
        let (ours, theirs, recent) = {
            let s = stats.lock().unwrap_or_else(PoisonError::into_inner);
            // Who answered over the last second.
            let since = elapsed.saturating_sub(Duration::from_secs(1));
            let mut recent: BTreeMap<String, usize> = BTreeMap::new();
            for o in s
                .neuralbridge
                .iter()
                .rev()
                .take_while(|o| o.finished >= since)
            {
                if let Some(m) = &o.served_by {
                    *recent.entry(m.clone()).or_default() += 1;
                }
            }
            let second = elapsed.as_secs();
            if second > self.second || !self.tty {
                self.second = second;
                self.events(&mut out, client, &s, &at, &recent);
            }
            (
                Totals::of(&s.neuralbridge, &primary),
                Totals::of(&s.plain, &primary),
                recent,
            )
        };
        let answered: usize = recent.values().sum();
        let mut shares: Vec<(usize, &String)> = recent.iter().map(|(m, k)| (*k, m)).collect();
        shares.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let serving = if shares.is_empty() {
            "-".to_owned()
        } else {
            shares
                .iter()
                .map(|(k, m)| format!("{m} {:.0}%", 100.0 * *k as f64 / answered as f64))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let targets = client.targets();
        let breaker = |m: &String| {
            let t = targets.iter().find(|t| &t.model == m);
            let state = t.map_or(CircuitState::Closed, |t| t.breaker);
            match (state, t.and_then(|t| t.reopens_in)) {
                (CircuitState::HalfOpen, _) => "half-open (the next call is a trial)".to_owned(),
                (CircuitState::Closed, _) | (_, None) => breaker_name(state).to_owned(),
                (_, Some(wait)) => format!(
                    "{} (trial call in {:.1} s)",
                    breaker_name(state),
                    wait.as_secs_f64()
                ),
            }
        };
        let side = |name: &str, t: &Totals| {
            format!(
                "  {name:<13}{:>5} requests {:>6.1}% ok {:>5} fallbacks {:>5} upstream calls",
                t.requests,
                t.success_rate(),
                t.fallbacks,
                t.calls
            )
        };
        if self.tty {
            let width = 30;
            let share = (elapsed.as_secs_f64() / total.as_secs_f64()).min(1.0);
            let done = ((share * width as f64) as usize).min(width);
            let mut lines = vec![
                format!(
                    "  ▶ {:.1} s / {:.1} s  [{}{}]",
                    elapsed.as_secs_f64(),
                    total.as_secs_f64(),
                    "█".repeat(done),
                    "░".repeat(width - done)
                ),
                side("NeuralBridge", &ours),
                side("plain loop", &theirs),
                format!("  serving      {serving}"),
            ];
            for (i, m) in self.chain.iter().enumerate() {
                let label = if i == 0 { "breakers" } else { "" };
                lines.push(format!("  {label:<12} {m:<16} {}", breaker(m)));
            }
            // Every line must fit one terminal row, or redrawing in place goes wrong.
            for l in &lines {
                let _ = writeln!(out, "{}", render::fit(l, 79));
            }
            self.drawn = lines.len();
        } else {
            let open: Vec<String> = self
                .chain
                .iter()
                .filter(|m| {
                    targets
                        .iter()
                        .any(|t| &t.model == *m && t.breaker != CircuitState::Closed)
                })
                .map(|m| format!("{m} {}", breaker(m)))
                .collect();
            let open = if open.is_empty() {
                "all closed".to_owned()
            } else {
                open.join(", ")
            };
            let _ = writeln!(
                out,
                "{at}  {} requests, {:.1}% ok (plain loop {:.1}%); serving {serving}; breakers {open}",
                ours.requests,
                ours.success_rate(),
                theirs.success_rate(),
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

#[cfg(test)]
mod tests {
    use super::report::{quantile, retries_saved};
    use super::*;

    fn outcome(served_by: Option<&str>, attempts: &[&str]) -> Outcome {
        Outcome {
            finished: Duration::ZERO,
            latency: Duration::from_millis(100),
            served_by: served_by.map(str::to_owned),
            attempts: attempts.iter().map(|a| ((*a).to_owned(), None)).collect(),
            failure: None,
        }
    }

    #[test]
    fn totals_count_requests_fallbacks_and_calls() {
        let outcomes = [
            outcome(Some("a"), &["a"]),
            outcome(Some("b"), &["a", "a", "b"]),
            outcome(None, &["a", "b", "c"]),
        ];
        let t = Totals::of(&outcomes, "a");
        assert_eq!((t.requests, t.ok, t.fallbacks, t.calls), (3, 2, 1, 7));
        assert!((t.success_rate() - 66.666).abs() < 0.01);
        assert!((t.calls_per_request() - 7.0 / 3.0).abs() < 1e-9);
        assert_eq!(Totals::of(&[], "a").success_rate(), 100.0);
    }

    #[test]
    fn retries_saved_compares_calls_per_request() {
        let t = |requests, calls| Totals {
            requests,
            calls,
            ..Totals::default()
        };
        // NeuralBridge: 100 requests, 120 calls; the plain loop 50 requests, 100 calls.
        assert_eq!(retries_saved(&t(100, 120), &t(50, 100)), 80);
        // Needing more calls than the plain loop shows as a negative number.
        assert_eq!(retries_saved(&t(10, 30), &t(10, 20)), -10);
        assert_eq!(retries_saved(&t(0, 0), &t(0, 0)), 0);
    }

    #[test]
    fn failed_requests_are_listed_by_their_error_label() {
        let failed = |why| Outcome {
            failure: Some(why),
            ..outcome(None, &["a"])
        };
        let stats = Stats {
            neuralbridge: vec![
                outcome(Some("a"), &["a"]),
                failed("stream_interrupted"),
                failed("cooling_down"),
                failed("stream_interrupted"),
            ],
            plain: vec![outcome(Some("a"), &["a"])],
        };
        let mut out = String::new();
        summary(&mut out, &stats, &["a".to_owned()], Duration::from_secs(1));
        assert!(
            out.contains("deadline_exceeded): cooling_down 1, stream_interrupted 2\n"),
            "{out}"
        );
    }

    #[test]
    fn quantiles_of_sorted_latencies() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&ms, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&ms, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&ms[..1], 0.99), Duration::from_millis(1));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn the_embedded_scenario_loads() {
        let s = embedded().unwrap();
        assert!(s.models().len() >= 2);
        assert_eq!(s.duration(), Some(Duration::from_secs(20)));
    }

    /// The report's verdict follows the models: an excluded primary is
    /// never shown healthy, and says why and until when.
    #[test]
    fn the_health_report_shows_the_verdict_and_each_exclusion() {
        use std::time::{Duration, UNIX_EPOCH};

        use nb_client::health::{Exclusion, ExclusionEnd, ExclusionReason};
        use nb_client::layers::learn::FlywheelEngine;

        let now = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        let engine = FlywheelEngine::builder()
            .fallback_models(["gpt-4o", "claude-sonnet"])
            .build();
        let mut report = engine.health_report(now);
        let mut out = String::new();
        health(&mut out, &report);
        assert!(out.contains("HEALTH REPORT  ✓ HEALTHY"), "{out}");

        report.exclude(
            "gpt-4o",
            Exclusion::new(
                ExclusionReason::BreakerOpen,
                ExclusionEnd::Probe {
                    next_probe: Some(now + Duration::from_secs(30)),
                },
            ),
        );
        let mut out = String::new();
        health(&mut out, &report);
        assert!(out.contains("HEALTH REPORT  ~ DEGRADED"), "{out}");
        assert!(!out.contains("HEALTHY"), "{out}");
        assert!(out.contains("  excluded   gpt-4o"), "{out}");
        assert!(out.contains("  active     claude-sonnet"), "{out}");
        let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains(
                "gpt-4o excluded success - of 0 calls not called: circuit breaker open, until a \
                 probe succeeds (next probe at 00:00:30 UTC)"
            ),
            "{out}"
        );

        report.exclude(
            "claude-sonnet",
            Exclusion::new(ExclusionReason::ForcedOpen, ExclusionEnd::Manual),
        );
        let mut out = String::new();
        health(&mut out, &report);
        assert!(out.contains("HEALTH REPORT  ✗ UNHEALTHY"), "{out}");
    }
}
