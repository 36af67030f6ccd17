//! The live display: the header, then a few status lines redrawn in place on a terminal (a
//! line per second otherwise); above them, each phase of the scenario as it begins and, once
//! a second, what failed, breaker changes and a new serving model.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::Duration;

use nb_client::health::CircuitState;
use nb_client::{ErrorCategory, NeuralBridge};
use nb_mock::{Phase, RequestLog, Scenario};

use super::plain::{ATTEMPT_TIMEOUT, BACKOFF, TRIES};
use super::{Outcome, QUESTION_EVERY, REPORT_EVERY, Run, STREAM_EVERY, Side};
use crate::args::print;
use crate::exit::CliError;
use crate::render;

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

/// One side's running totals.
struct Live {
    requests: usize,
    ok: usize,
    calls: usize,
    wasted: usize,
}

impl Live {
    fn of(outcomes: &[Outcome], log: &RequestLog) -> Self {
        let records = log.requests();
        Live {
            requests: outcomes.len(),
            ok: outcomes.iter().filter(|o| o.served_by.is_some()).count(),
            calls: records.len(),
            wasted: records.iter().filter(|r| r.certain_failure).count(),
        }
    }

    fn line(&self, name: &str) -> String {
        format!(
            "  {name:<13}{:>5} requests {:>5} ok {:>5} upstream calls {:>5} wasted",
            self.requests, self.ok, self.calls, self.wasted
        )
    }
}

#[derive(Debug)]
pub(super) struct Display {
    /// Print anything at all (not with `--json`).
    live: bool,
    /// Redraw the status lines in place.
    tty: bool,
    chain: Vec<String>,
    phases: Vec<Phase>,
    /// Phases announced so far.
    announced: usize,
    description: Option<String>,
    source: String,
    duration: Duration,
    /// The servers' logs: NeuralBridge's, then the plain loop's.
    logs: [RequestLog; 2],
    drawn: usize,
    breakers: BTreeMap<String, (CircuitState, Option<Duration>)>,
    serving: Option<String>,
    /// NeuralBridge's requests whose failed calls were reported already.
    reported: usize,
    /// The last whole second events were printed for.
    second: u64,
}

impl Display {
    pub(super) fn new(
        live: bool,
        scenario: &Scenario,
        source: &str,
        duration: Duration,
        logs: [RequestLog; 2],
    ) -> Self {
        // Redraw in place only on a terminal that understands cursor movement.
        let tty = live
            && std::io::stdout().is_terminal()
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Self {
            live,
            tty,
            chain: scenario
                .models()
                .iter()
                .map(|m| m.name().to_owned())
                .collect(),
            phases: scenario.phases().to_vec(),
            announced: 0,
            description: scenario.description().map(str::to_owned),
            source: source.to_owned(),
            duration,
            logs,
            drawn: 0,
            breakers: BTreeMap::new(),
            serving: None,
            reported: 0,
            second: 0,
        }
    }

    /// How often the status is drawn.
    pub(super) fn tick(&self) -> Duration {
        if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(1)
        }
    }

    pub(super) fn header(&self) -> Result<(), CliError> {
        if !self.live {
            return Ok(());
        }
        let mut head = String::new();
        let _ = writeln!(
            head,
            "NeuralBridge demo: a self-healing client against misbehaving providers"
        );
        let _ = writeln!(head, "(nb-mock in this process: no key, no network)\n");
        let _ = writeln!(head, "  Scenario: {}", self.source);
        if let Some(d) = &self.description {
            render::wrapped(&mut head, "            ", d);
        }
        let _ = writeln!(
            head,
            "  Chain:    {} (primary first)",
            self.chain.join(" → ")
        );
        render::wrapped(
            &mut head,
            "  Load:     ",
            &format!(
                "the same requests on both sides for {}: a short question every {} ms \
                 (every {STREAM_EVERY}rd streamed) and, in the first half, a long report \
                 (streamed) every {}",
                render::duration(self.duration),
                QUESTION_EVERY.as_millis(),
                render::duration(REPORT_EVERY)
            ),
        );
        render::wrapped(
            &mut head,
            "  Client:   ",
            "NeuralBridge with its shipped defaults: diagnoses each failure, goes elsewhere at \
             once after one that can heal (backs off, honouring Retry-After, only when nothing \
             else is available), never retries one that cannot, hedges an attempt that has not \
             answered within its model's usual time, opens a breaker at a 50 % failure rate \
             and brings the model back gradually; set to continue cut streams on the next model.",
        );
        render::wrapped(
            &mut head,
            "  Versus:   ",
            &format!(
                "a plain retry loop, at the same time, against its own copy of the scenario: \
                 the same chain, {TRIES} tries per model with exponential backoff from {} that \
                 honours Retry-After (on 408, 409, 429, 5xx and broken connections, as the \
                 OpenAI SDKs retry), then the next model; {} per attempt.",
                render::duration(BACKOFF),
                render::duration(ATTEMPT_TIMEOUT)
            ),
        );
        let _ = writeln!(head);
        print(&head)
    }

    /// The phases that began by `elapsed`, announced once.
    fn phases(&mut self, out: &mut String, elapsed: Duration) {
        while let Some(phase) = self.phases.get(self.announced) {
            if phase.at() > elapsed {
                break;
            }
            let at = format!("{:>6.1}s", phase.at().as_secs_f64());
            let _ = writeln!(out, "{at}  ━━ {} ━━", phase.title());
            if let Some(detail) = phase.details() {
                render::wrapped(out, "          ", detail);
            }
            self.announced += 1;
        }
    }

    /// The events since the last whole second: failed calls, breaker changes, a new main
    /// server.
    fn events(
        &mut self,
        out: &mut String,
        client: &NeuralBridge,
        ours: &[Outcome],
        at: &str,
        recent: &BTreeMap<String, usize>,
    ) {
        let mut failures: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut continued: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for o in &ours[self.reported.min(ours.len())..] {
            for (model, failure) in &o.attempts {
                if let Some(c) = failure {
                    *failures.entry((model.as_str(), c.as_str())).or_default() += 1;
                }
                if let (Some(ErrorCategory::StreamInterrupted), Some(to)) = (failure, &o.served_by)
                {
                    *continued.entry((model.as_str(), to.as_str())).or_default() += 1;
                }
            }
        }
        self.reported = ours.len();
        if !failures.is_empty() {
            let list: Vec<String> = failures
                .iter()
                .map(|((m, c), k)| format!("{m} {c} ×{k}"))
                .collect();
            render::wrapped(out, &format!("{at}  failed calls: "), &list.join(", "));
        }
        if !continued.is_empty() {
            let list: Vec<String> = continued
                .iter()
                .map(|((from, to), k)| format!("{from} → {to} ×{k}"))
                .collect();
            render::wrapped(
                out,
                &format!("{at}  cut streams continued, no answer broke off: "),
                &list.join(", "),
            );
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

    pub(super) fn update(
        &mut self,
        client: &NeuralBridge,
        run: &Run,
        elapsed: Duration,
    ) -> Result<(), CliError> {
        if !self.live {
            return Ok(());
        }
        let mut out = String::new();
        if self.tty && self.drawn > 0 {
            // Up to the first status line, and clear from there.
            let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn);
        }
        let at = format!("{:>6.1}s", elapsed.as_secs_f64());
        let ours = run.outcomes(Side::NeuralBridge);
        let theirs = run.outcomes(Side::Plain);
        // Who answered NeuralBridge's callers over the last second.
        let since = elapsed.saturating_sub(Duration::from_secs(1));
        let mut recent: BTreeMap<String, usize> = BTreeMap::new();
        for o in ours.iter().filter(|o| !o.unfinished && o.finished >= since) {
            if let Some(m) = &o.served_by {
                *recent.entry(m.clone()).or_default() += 1;
            }
        }
        let second = elapsed.as_secs();
        if second > self.second || !self.tty {
            self.second = second;
            self.phases(&mut out, elapsed);
            let finished: Vec<Outcome> = ours.iter().filter(|o| !o.unfinished).cloned().collect();
            self.events(&mut out, client, &finished, &at, &recent);
        }
        let [our_log, their_log] = &self.logs;
        let (ours, theirs) = (Live::of(&ours, our_log), Live::of(&theirs, their_log));
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
        if self.tty {
            let width = 30;
            let share = (elapsed.as_secs_f64() / self.duration.as_secs_f64()).min(1.0);
            let done = ((share * width as f64) as usize).min(width);
            let mut lines = vec![
                format!(
                    "  ▶ {:.1} s / {:.1} s  [{}{}]",
                    elapsed.as_secs_f64(),
                    self.duration.as_secs_f64(),
                    "█".repeat(done),
                    "░".repeat(width - done)
                ),
                ours.line("NeuralBridge"),
                theirs.line("plain loop"),
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
                "{at}  NeuralBridge {}/{} ok, {} wasted calls; plain loop {}/{} ok, {} wasted \
                 calls; serving {serving}; breakers {open}",
                ours.ok, ours.requests, ours.wasted, theirs.ok, theirs.requests, theirs.wasted,
            );
        }
        print(&out)
    }

    pub(super) fn finish(&mut self, client: &NeuralBridge, run: &Run) -> Result<(), CliError> {
        if !self.live {
            return Ok(());
        }
        if self.tty {
            self.update(client, run, run.started.elapsed())?;
        }
        print("\n")
    }
}
