//! `neuralbridge demo`: the whole client against misbehaving providers, with no key and no
//! network.
//!
//! nb-mock runs in-process with a scenario (by default `crates/nb-mock/scenarios/demo.toml`,
//! embedded in the binary). For the scenario's duration, callers drive a `NeuralBridge` client
//! with its shipped defaults against it, and at the same time the same callers drive a plain
//! retry loop ([`plain`]) against a second copy of the scenario, so the summary compares
//! measured numbers, not estimates. A live display announces the scenario's phases and shows
//! what failed, the breakers and the serving model; the summary and the health report close
//! the run (`--json`: one JSON object instead).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nb_client::{
    Attempt, ChatRequest, Error, ErrorCategory, NeuralBridge, StreamEvent,
    policy::{Decision, StreamPolicy},
};
use nb_mock::{MockServer, Scenario};
use tokio::time::Instant;

use crate::args::print;
use crate::exit::{CliError, CliResult, Exit};

mod display;
mod plain;
mod report;

use display::Display;
use plain::Plain;
pub(crate) use report::{Price, parse_price};
use report::{Prices, Summary};

/// The default scenario, embedded so `demo` runs anywhere.
pub(crate) const DEMO_SCENARIO: &str = nb_mock::scenarios::DEMO;

/// How long the demo runs when neither the flag nor the scenario says.
const DEFAULT_DURATION: Duration = Duration::from_secs(30);

/// A short question starts this often, on each side.
const QUESTION_EVERY: Duration = Duration::from_millis(125);

/// Every third question is streamed.
const STREAM_EVERY: u64 = 3;

/// A long report (streamed) starts this often, in the first half of the run (each takes
/// the embedded scenario's models 15 s to write).
const REPORT_EVERY: Duration = Duration::from_millis(7500);

/// How long the run waits, after its duration, for requests in flight; those still
/// waiting then are reported as such.
const DRAIN: Duration = Duration::from_secs(3);

/// The demo's inputs.
#[derive(Debug)]
pub(crate) struct Demo {
    pub(crate) scenario: Scenario,
    /// Where the scenario came from, for the header.
    pub(crate) source: String,
    pub(crate) duration: Option<Duration>,
    /// Print one JSON object instead of the live display and the tables.
    pub(crate) json: bool,
    /// What each model's tokens cost, to price the wasted ones.
    pub(crate) prices: Prices,
}

/// Loads the embedded scenario.
pub(crate) fn embedded() -> Result<Scenario, CliError> {
    Scenario::from_toml_str(DEMO_SCENARIO)
        .map_err(|e| CliError::runtime(format!("the embedded demo scenario does not load: {e}")))
}

/// Which of the two clients a caller drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    NeuralBridge,
    Plain,
}

/// One request, finished or still waiting when the run ended.
#[derive(Debug, Clone)]
struct Outcome {
    /// When it started and when it ended (or the run ended), since the run started.
    started: Duration,
    finished: Duration,
    served_by: Option<String>,
    /// NeuralBridge's upstream calls, in order: the model, and the diagnosed category when
    /// the call failed. The plain loop's are only counted, by its server.
    attempts: Vec<(String, Option<ErrorCategory>)>,
    /// Why a NeuralBridge request failed, as `Error::label` names it.
    failure: Option<&'static str>,
    /// A streamed answer broke off after text had reached the caller (it ended in an error,
    /// or started again from scratch).
    truncated: bool,
    /// Still waiting when the run ended.
    unfinished: bool,
}

impl Outcome {
    fn latency(&self) -> Duration {
        self.finished.saturating_sub(self.started)
    }
}

/// What the callers of one side have done so far.
#[derive(Debug, Default)]
struct Requests {
    /// In the order they finished.
    done: Vec<Outcome>,
    /// Started and not finished: when each started.
    in_flight: HashMap<u64, Duration>,
}

/// What every caller shares: the clock and both sides' requests.
#[derive(Debug, Clone)]
struct Run {
    started: Instant,
    sides: Arc<Mutex<HashMap<Side, Requests>>>,
    next: Arc<AtomicU64>,
}

impl Run {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            sides: Arc::default(),
            next: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Side, Requests>> {
        self.sides.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request starts: its ticket.
    fn begin(&self, side: Side) -> (u64, Duration) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let at = self.started.elapsed();
        self.lock()
            .entry(side)
            .or_default()
            .in_flight
            .insert(id, at);
        (id, at)
    }

    /// A request ended.
    fn end(&self, side: Side, id: u64, outcome: Outcome) {
        let mut sides = self.lock();
        let requests = sides.entry(side).or_default();
        requests.in_flight.remove(&id);
        requests.done.push(outcome);
    }

    /// Every request of `side`, those still waiting counted at their age.
    fn outcomes(&self, side: Side) -> Vec<Outcome> {
        let now = self.started.elapsed();
        let sides = self.lock();
        let Some(requests) = sides.get(&side) else {
            return Vec::new();
        };
        let mut all = requests.done.clone();
        all.extend(requests.in_flight.values().map(|&started| Outcome {
            started,
            finished: now,
            served_by: None,
            attempts: Vec::new(),
            failure: None,
            truncated: false,
            unfinished: true,
        }));
        all
    }
}

/// Everything a run measured.
#[derive(Debug)]
struct Measured {
    summary: Summary,
    /// NeuralBridge's requests, for the per-model table.
    neuralbridge: Vec<Outcome>,
    chain: Vec<String>,
    traffic: Duration,
    health: nb_client::health::HealthReport,
}

/// Runs the demo and prints the summary.
pub(crate) async fn run(demo: Demo) -> CliResult {
    let json = demo.json;
    let measured = measure(demo, !json).await?;
    if json {
        let text = serde_json::to_string_pretty(&measured.summary)
            .map_err(|e| CliError::runtime(format!("cannot render the summary: {e}")))?;
        print(&format!("{text}\n"))?;
    } else {
        let mut out = String::new();
        report::summary(
            &mut out,
            &measured.summary,
            &measured.neuralbridge,
            &measured.chain,
            measured.traffic,
        );
        report::health(&mut out, &measured.health);
        print(&out)?;
    }
    Ok(Exit::Ok)
}

/// Runs the scenario on both sides, with the live display when `live`.
async fn measure(demo: Demo, live: bool) -> Result<Measured, CliError> {
    let chain: Vec<String> = demo
        .scenario
        .models()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let Some(primary) = chain.first().cloned() else {
        return Err(CliError::usage("the scenario names no model"));
    };
    demo.prices.check(&chain)?;
    let duration = demo
        .duration
        .or(demo.scenario.duration())
        .unwrap_or(DEFAULT_DURATION);
    let start = |scenario: Scenario| async {
        MockServer::builder(scenario)
            .log_limit(usize::MAX)
            .start()
            .await
            .map_err(CliError::runtime)
    };
    let server = start(demo.scenario.clone()).await?;
    let plain_server = start(demo.scenario.clone()).await?;
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

    let mut display = Display::new(
        live,
        &demo.scenario,
        &demo.source,
        duration,
        [server.log().clone(), plain_server.log().clone()],
    );
    display.header()?;

    let run = Run::new();
    // The same requests on both sides, at a fixed rate: an open loop, so a side that is
    // slow to answer does not get fewer requests to handle.
    let mut requests = tokio::task::JoinSet::new();
    let mut send = |n: u64, prompt: String, stream: bool| {
        for side in [Side::NeuralBridge, Side::Plain] {
            let (client, plain, primary, run, prompt) = (
                client.clone(),
                plain.clone(),
                primary.clone(),
                run.clone(),
                prompt.clone(),
            );
            requests.spawn(async move {
                ask(side, &client, &plain, &primary, &run, prompt, stream).await;
            });
        }
        n + 1
    };
    let tick = display.tick();
    let mut next_draw = run.started + tick;
    let mut next_question = run.started;
    let mut next_report = run.started;
    let (mut questions, mut reports) = (0u64, 0u64);
    let end = run.started + duration;
    while Instant::now() < end {
        let wake = next_draw.min(next_question).min(next_report).min(end);
        tokio::time::sleep_until(wake).await;
        let now = Instant::now();
        if now >= next_question && now < end {
            let prompt = format!("Question {questions}: summarize today's incidents in one line.");
            questions = send(questions, prompt, questions.is_multiple_of(STREAM_EVERY));
            next_question += QUESTION_EVERY;
        }
        if now >= next_report {
            // By the scheduled time, not the wake-up's (which is a little late
            // in real time), so every run sends the same requests.
            if next_report.duration_since(run.started) <= duration / 2 {
                let prompt = format!("Report {reports}: write the weekly incident report in full.");
                reports = send(reports, prompt, true);
            }
            next_report += REPORT_EVERY;
        }
        if now >= next_draw {
            display.update(&client, &run, run.started.elapsed())?;
            next_draw += tick;
        }
    }
    let traffic = run.started.elapsed();
    // Requests in flight get `DRAIN` to finish; those still waiting then are counted so.
    let _ = tokio::time::timeout(DRAIN, async {
        while requests.join_next().await.is_some() {}
    })
    .await;
    requests.abort_all();
    display.finish(&client, &run)?;

    let neuralbridge = run.outcomes(Side::NeuralBridge);
    let plain_outcomes = run.outcomes(Side::Plain);
    let health = client.health_status();
    let summary = Summary::new(
        &report::Sides {
            neuralbridge: (&neuralbridge, server.log()),
            plain: (&plain_outcomes, plain_server.log()),
        },
        &demo.scenario,
        duration,
        &demo.prices,
        &health,
    );
    server.shutdown().await;
    plain_server.shutdown().await;
    Ok(Measured {
        summary,
        neuralbridge,
        chain,
        traffic,
        health,
    })
}

/// One request on `side`, recorded.
async fn ask(
    side: Side,
    client: &NeuralBridge,
    plain: &Plain,
    primary: &str,
    run: &Run,
    prompt: String,
    stream: bool,
) {
    let (id, started) = run.begin(side);
    let mut outcome = match side {
        Side::NeuralBridge => {
            let request = ChatRequest::new(primary).user_message(prompt);
            if stream {
                streamed(client, request).await
            } else {
                match client.chat().create(request).await {
                    Ok(r) => Outcome {
                        served_by: Some(r.served_by().to_owned()),
                        attempts: attempts(r.attempts()),
                        ..Outcome::blank()
                    },
                    Err(e) => failed(&e),
                }
            }
        }
        Side::Plain => {
            let served = plain.call(&prompt, stream).await;
            Outcome {
                served_by: served.model,
                truncated: served.truncated,
                ..Outcome::blank()
            }
        }
    };
    outcome.started = started;
    outcome.finished = run.started.elapsed();
    run.end(side, id, outcome);
}

impl Outcome {
    fn blank() -> Self {
        Outcome {
            started: Duration::ZERO,
            finished: Duration::ZERO,
            served_by: None,
            attempts: Vec::new(),
            failure: None,
            truncated: false,
            unfinished: false,
        }
    }
}

fn attempts(attempts: &[Attempt]) -> Vec<(String, Option<ErrorCategory>)> {
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

fn failed(e: &Error) -> Outcome {
    Outcome {
        attempts: attempts(e.attempts()),
        failure: Some(e.label()),
        ..Outcome::blank()
    }
}

/// A NeuralBridge stream read to its end, as a caller showing it would.
async fn streamed(client: &NeuralBridge, request: ChatRequest) -> Outcome {
    let mut stream = match client.chat().stream(request).await {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let mut shown = false;
    let mut restarted = false;
    while let Some(event) = stream.next().await {
        match event {
            Ok(StreamEvent::Done(summary)) => {
                return Outcome {
                    served_by: Some(summary.served_by().to_owned()),
                    attempts: attempts(summary.attempts()),
                    truncated: restarted,
                    ..Outcome::blank()
                };
            }
            Ok(StreamEvent::Chunk(chunk)) => {
                shown |= chunk
                    .choices
                    .iter()
                    .any(|c| c.delta.content.as_deref().is_some_and(|t| !t.is_empty()));
            }
            // What was shown is discarded: the caller saw an answer break off.
            Ok(StreamEvent::Restarted { .. }) => restarted |= shown,
            Ok(_) => {}
            Err(e) => {
                return Outcome {
                    truncated: shown,
                    ..failed(&e)
                };
            }
        }
    }
    // `next` ends with `Done` or an error; a stream that just stops is no success.
    Outcome {
        attempts: attempts(stream.attempts()),
        failure: Some(ErrorCategory::StreamInterrupted.as_str()),
        truncated: shown,
        ..Outcome::blank()
    }
}

#[cfg(test)]
mod tests;
