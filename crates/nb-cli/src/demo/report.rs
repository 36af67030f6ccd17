//! The end of a demo run: the summary (NeuralBridge beside the plain retry loop, as a table
//! or as JSON) and the health report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use nb_client::health::{HealthReport, ModelHealth, ModelStatus, Verdict};
use nb_mock::{Billing, RequestLog, Scenario};
use serde::Serialize;

use super::{Outcome, QUESTION_EVERY, REPORT_EVERY};
use crate::exit::CliError;
use crate::render;

/// A model's price in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Price {
    input: f64,
    output: f64,
}

/// Parses `MODEL=IN/OUT` (US dollars per million input and output tokens), as `--price`
/// takes it.
pub(crate) fn parse_price(text: &str) -> Result<(String, Price), String> {
    let usage = || format!("`{text}`: expected MODEL=IN/OUT, e.g. gpt-4o=2.50/10.00");
    let (model, rates) = text.split_once('=').ok_or_else(usage)?;
    let (input, output) = rates.split_once('/').ok_or_else(usage)?;
    let rate = |r: &str| {
        r.trim()
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.0)
            .ok_or_else(|| format!("`{r}` in `{text}` is not a price (a number ≥ 0)"))
    };
    if model.trim().is_empty() {
        return Err(usage());
    }
    Ok((
        model.trim().to_owned(),
        Price {
            input: rate(input)?,
            output: rate(output)?,
        },
    ))
}

/// The prices given with `--price`, by model.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prices(BTreeMap<String, Price>);

impl FromIterator<(String, Price)> for Prices {
    fn from_iter<I: IntoIterator<Item = (String, Price)>>(prices: I) -> Self {
        Self(prices.into_iter().collect())
    }
}

impl Prices {
    /// Prices are all or nothing: a wasted-token cost that left a model out would mislead.
    pub(super) fn check(&self, chain: &[String]) -> Result<(), CliError> {
        if self.0.is_empty() {
            return Ok(());
        }
        if let Some(unknown) = self.0.keys().find(|m| !chain.contains(m)) {
            return Err(CliError::usage(format!(
                "--price names {unknown}, which is not in the scenario's chain ({})",
                chain.join(", ")
            )));
        }
        let missing: Vec<&str> = chain
            .iter()
            .filter(|m| !self.0.contains_key(*m))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(CliError::usage(format!(
                "give a --price for every model of the chain; missing: {}",
                missing.join(", ")
            )));
        }
        Ok(())
    }

    /// What the abandoned tokens of `bills` cost, when prices were given.
    fn cost(&self, bills: &BTreeMap<String, Billing>) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let dollars = bills
            .iter()
            .map(|(model, bill)| {
                self.0.get(model).map_or(0.0, |p| {
                    (bill.abandoned.prompt as f64 * p.input
                        + bill.abandoned.completion as f64 * p.output)
                        / 1e6
                })
            })
            .sum();
        Some(dollars)
    }
}

/// One side's numbers, as the table and `--json` give them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(super) struct SideSummary {
    /// Requests started during the run.
    pub(super) requests: usize,
    /// The share answered in full (0..1); a request still waiting at the end is not.
    pub(super) success_rate: f64,
    /// Time to the whole answer, or to the failure, over every request; one still waiting
    /// at the end counts at its age then.
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    /// HTTP calls the side's provider received.
    pub(super) upstream_calls: usize,
    /// Calls to a model while it failed every call (out of quota, down, hung): they could
    /// not have succeeded.
    pub(super) wasted_calls: usize,
    /// Tokens of answers the providers began and did not finish (cut, or left by the
    /// client).
    pub(super) wasted_tokens: u64,
    /// Their cost in US dollars, when prices were given.
    pub(super) wasted_cost_usd: Option<f64>,
    /// From the primary's recovery to the end of its first answer to a request started
    /// after it; `None` when it never answered again (or the scenario has no recovery).
    pub(super) back_on_primary_s: Option<f64>,
    /// Streamed answers that broke off after text reached the caller.
    pub(super) truncated: usize,
    /// Requests still waiting when the run ended.
    pub(super) unfinished: usize,
    /// Answers from a model other than the primary.
    pub(super) fallbacks: usize,
    #[serde(skip)]
    p50_at_least: bool,
    #[serde(skip)]
    p99_at_least: bool,
}

/// One model in the JSON health summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(super) struct ModelState {
    pub(super) name: String,
    /// `active`, `degraded`, `failed` or `excluded`.
    pub(super) state: &'static str,
    /// Why, in words: for an excluded model why and until when.
    pub(super) reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(super) struct HealthSummary {
    pub(super) verdict: Verdict,
    pub(super) models: Vec<ModelState>,
}

/// The whole summary: `neuralbridge demo --json` prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(super) struct Summary {
    /// The primary, and when it recovered from its last outage (seconds from the start).
    pub(super) primary: String,
    pub(super) primary_recovered_at_s: Option<f64>,
    pub(super) neuralbridge: SideSummary,
    pub(super) plain_retry: SideSummary,
    pub(super) health: HealthSummary,
}

/// Each side's requests and its server's log.
pub(super) struct Sides<'a> {
    pub(super) neuralbridge: (&'a [Outcome], &'a RequestLog),
    pub(super) plain: (&'a [Outcome], &'a RequestLog),
}

impl Summary {
    pub(super) fn new(
        sides: &Sides<'_>,
        scenario: &Scenario,
        duration: Duration,
        prices: &Prices,
        health: &HealthReport,
    ) -> Self {
        let primary = scenario
            .models()
            .first()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        let recovered = recovery(scenario, duration);
        let side = |(outcomes, log): (&[Outcome], &RequestLog)| {
            SideSummary::of(outcomes, log, &primary, recovered, prices)
        };
        Summary {
            neuralbridge: side(sides.neuralbridge),
            plain_retry: side(sides.plain),
            primary_recovered_at_s: recovered.map(|d| d.as_secs_f64()),
            primary,
            health: HealthSummary {
                verdict: health.verdict,
                models: health
                    .models
                    .iter()
                    .map(|m| ModelState {
                        name: m.model.clone(),
                        state: m.status.as_str(),
                        reason: reason(m),
                    })
                    .collect(),
            },
        }
    }
}

/// When the primary recovered from its last outage that ends within the run: the end of the
/// latest window in which it failed every call.
fn recovery(scenario: &Scenario, duration: Duration) -> Option<Duration> {
    scenario
        .models()
        .first()?
        .rules()
        .iter()
        .filter(|r| r.fails_every_request())
        .filter_map(|r| r.active_until())
        .filter(|until| *until < duration)
        .max()
}

/// Why a model has its state, in words.
fn reason(m: &ModelHealth) -> String {
    if let Some(exclusion) = &m.exclusion {
        return format!("not called: {exclusion}");
    }
    let Some(rate) = m.success_rate else {
        return "no calls yet".to_owned();
    };
    let failures: Vec<String> = m
        .reliability
        .failures
        .iter()
        .map(|(c, k)| format!("{c} {k}"))
        .collect();
    let mut text = format!(
        "{:.0}% success over its last {} calls",
        rate * 100.0,
        m.reliability.calls
    );
    if !failures.is_empty() {
        let _ = write!(text, " ({})", failures.join(", "));
    }
    if m.status != ModelStatus::Active
        && let Some(advice) = &m.advice
    {
        let _ = write!(text, "; {advice}");
    }
    text
}

impl SideSummary {
    fn of(
        outcomes: &[Outcome],
        log: &RequestLog,
        primary: &str,
        recovered: Option<Duration>,
        prices: &Prices,
    ) -> Self {
        let mut latencies: Vec<(Duration, bool)> = outcomes
            .iter()
            .map(|o| (o.latency(), o.unfinished))
            .collect();
        latencies.sort_unstable();
        // A request still waiting is at least as slow as its age: a quantile at or above the
        // youngest of them is a lower bound.
        let youngest_waiting = latencies.iter().find(|(_, u)| *u).map(|(l, _)| *l);
        let quantile = |q| {
            let value = quantile(&latencies, q);
            (value, youngest_waiting.is_some_and(|y| y <= value))
        };
        let (p50, p50_at_least) = quantile(0.5);
        let (p99, p99_at_least) = quantile(0.99);
        let records = log.requests();
        let bills = log.billing();
        let ok = outcomes.iter().filter(|o| o.served_by.is_some()).count();
        Self {
            requests: outcomes.len(),
            success_rate: if outcomes.is_empty() {
                1.0
            } else {
                ok as f64 / outcomes.len() as f64
            },
            p50_ms: p50.as_secs_f64() * 1000.0,
            p99_ms: p99.as_secs_f64() * 1000.0,
            upstream_calls: records.len(),
            wasted_calls: records.iter().filter(|r| r.certain_failure).count(),
            wasted_tokens: bills.values().map(|b| b.abandoned.total()).sum(),
            wasted_cost_usd: prices.cost(&bills),
            back_on_primary_s: recovered.and_then(|at| {
                outcomes
                    .iter()
                    .filter(|o| o.served_by.as_deref() == Some(primary) && o.started >= at)
                    .map(|o| (o.finished - at).as_secs_f64())
                    .min_by(f64::total_cmp)
            }),
            truncated: outcomes.iter().filter(|o| o.truncated).count(),
            unfinished: outcomes.iter().filter(|o| o.unfinished).count(),
            fallbacks: outcomes
                .iter()
                .filter(|o| o.served_by.as_deref().is_some_and(|m| m != primary))
                .count(),
            p50_at_least,
            p99_at_least,
        }
    }
}

/// The `q` quantile (0..=1) of sorted durations, by nearest rank (the definition
/// `cargo xtask chaos` uses, so the two tables compare).
pub(super) fn quantile<T: Copy>(sorted: &[(Duration, T)], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len().saturating_sub(1)))
        .map(|(d, _)| *d)
        .unwrap_or_default()
}

fn millis(ms: f64, at_least: bool) -> String {
    let text = render::duration(Duration::from_secs_f64(ms / 1000.0));
    if at_least {
        format!("≥ {text}")
    } else {
        text
    }
}

pub(super) fn summary(
    out: &mut String,
    s: &Summary,
    neuralbridge: &[Outcome],
    chain: &[String],
    traffic: Duration,
) {
    let (ours, theirs) = (&s.neuralbridge, &s.plain_retry);
    let primary = &s.primary;
    render::banner(
        out,
        &format!(
            "SUMMARY  ({} of traffic, the same requests on both sides)",
            render::duration(traffic)
        ),
    );
    let _ = writeln!(
        out,
        "  {:<20} {:>16}   {:>16}",
        "", "NeuralBridge", "plain retry loop"
    );
    let both = |f: &dyn Fn(&SideSummary) -> String| (f(ours), f(theirs));
    let back = |t: &SideSummary| {
        t.back_on_primary_s
            .map_or_else(|| "never".to_owned(), |b| format!("{b:.2} s"))
    };
    let cost = |t: &SideSummary| {
        t.wasted_cost_usd
            .map_or_else(|| "-".to_owned(), |c| format!("${c:.4}"))
    };
    let mut rows = vec![
        ("requests", both(&|t| t.requests.to_string())),
        (
            "success rate",
            both(&|t| format!("{:.1}%", t.success_rate * 100.0)),
        ),
        ("latency p50", both(&|t| millis(t.p50_ms, t.p50_at_least))),
        ("latency p99", both(&|t| millis(t.p99_ms, t.p99_at_least))),
        ("upstream calls", both(&|t| t.upstream_calls.to_string())),
        ("wasted calls", both(&|t| t.wasted_calls.to_string())),
        ("wasted tokens", both(&|t| t.wasted_tokens.to_string())),
        ("wasted cost", both(&cost)),
    ];
    if s.primary_recovered_at_s.is_some() {
        rows.push(("back on the primary", both(&back)));
    }
    rows.extend([
        ("truncated answers", both(&|t| t.truncated.to_string())),
        ("still waiting", both(&|t| t.unfinished.to_string())),
        ("fallbacks", both(&|t| t.fallbacks.to_string())),
    ]);
    for (name, (a, b)) in rows {
        let _ = writeln!(out, "  {name:<20} {a:>16}   {b:>16}");
    }
    let _ = writeln!(out);
    let recovered = s.primary_recovered_at_s.map_or_else(String::new, |r| {
        format!(
            "from {primary}'s recovery at {r:.1} s (the end of its last outage) to its first \
             answer to a request started after it"
        )
    });
    let mut meanings = vec![
        (
            "requests",
            format!(
                "requests started: a question every {} ms and a report every {} in the \
                 first half, the same on both sides",
                QUESTION_EVERY.as_millis(),
                render::duration(REPORT_EVERY)
            ),
        ),
        (
            "success rate",
            "requests answered in full (a stream cut short is a failure; one still waiting \
             at the end is not a success)"
                .to_owned(),
        ),
        (
            "latency",
            "time to the whole answer or to the failure, over every request; ≥: a request \
             still waiting at the end counts at its age then"
                .to_owned(),
        ),
        (
            "upstream calls",
            "HTTP calls the side's provider received (hedges included)".to_owned(),
        ),
        (
            "wasted calls",
            "calls to a model while it failed every call (out of quota, down, hung), as the \
             provider counted them: they could not have succeeded"
                .to_owned(),
        ),
        (
            "wasted tokens",
            "tokens of answers the providers began and did not finish: cut mid-answer, or \
             left by the client (its timeout, a hedge's loser)"
                .to_owned(),
        ),
        (
            "wasted cost",
            if ours.wasted_cost_usd.is_some() {
                "those tokens at the prices given with --price".to_owned()
            } else {
                "give --price MODEL=IN/OUT (US$ per million tokens) for each model".to_owned()
            },
        ),
    ];
    if !recovered.is_empty() {
        meanings.push(("back on primary", recovered));
    }
    meanings.extend([
        (
            "truncated",
            "streamed answers that broke off after text reached the caller (ended in an \
             error, or started again from scratch)"
                .to_owned(),
        ),
        (
            "still waiting",
            "requests still waiting for an answer when the run ended".to_owned(),
        ),
        (
            "fallbacks",
            format!("answers from a model other than {primary}, the primary"),
        ),
    ]);
    for (name, meaning) in meanings {
        render::wrapped(out, &format!("  {name:<16}"), &meaning);
    }
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "  NeuralBridge per model:\n  {:<16} {:>7} {:>7} {:>7}  FAILED CALLS BY DIAGNOSIS",
        "MODEL", "SERVED", "CALLS", "FAILED"
    );
    for (m, served, calls, why) in per_model(neuralbridge, chain) {
        let failed: usize = why.values().sum();
        let why: Vec<String> = why.iter().map(|(c, k)| format!("{c} {k}")).collect();
        let line = format!(
            "  {m:<16} {served:>7} {calls:>7} {failed:>7}  {}",
            why.join(", ")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
    for o in neuralbridge {
        if let Some(why) = o.failure {
            *failures.entry(why).or_default() += 1;
        }
    }
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|(c, k)| format!("{c} {k}")).collect();
        let _ = writeln!(
            out,
            "\n  Requests NeuralBridge could not serve, by final diagnosis (or cooling_down, \
             deadline_exceeded): {}",
            list.join(", ")
        );
    }
    let _ = writeln!(out);
}

/// NeuralBridge's answers, calls and failed calls by diagnosis, per model of the chain.
fn per_model<'a>(
    outcomes: &'a [Outcome],
    chain: &'a [String],
) -> impl Iterator<Item = (&'a str, usize, usize, BTreeMap<&'static str, usize>)> {
    chain.iter().map(|m| {
        let served = outcomes
            .iter()
            .filter(|o| o.served_by.as_deref() == Some(m))
            .count();
        let mut calls = 0;
        let mut why: BTreeMap<&'static str, usize> = BTreeMap::new();
        for (model, failure) in outcomes.iter().flat_map(|o| &o.attempts) {
            if model == m {
                calls += 1;
                if let Some(c) = failure {
                    *why.entry(c.as_str()).or_default() += 1;
                }
            }
        }
        (m.as_str(), served, calls, why)
    })
}

/// The health report: the verdict (the same `healthy`, `degraded`, `unhealthy` that
/// `health_status()` and `/health` give), the models by status, and per model its state
/// and why: for a model not called now, why and until when. Then the recommendations.
pub(super) fn health(out: &mut String, report: &HealthReport) {
    let verdict = match report.verdict {
        Verdict::Healthy => "✓ HEALTHY",
        Verdict::Degraded => "~ DEGRADED",
        _ => "✗ UNHEALTHY",
    };
    render::banner(out, &format!("HEALTH REPORT  {verdict}"));
    render::wrapped(
        out,
        "  ",
        "What NeuralBridge learned from its own calls in this run (what `health_status()` \
         returns and `serve` shows on GET /health); the verdict follows the models' states: \
         healthy only when every model is active.",
    );
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
    let _ = writeln!(out, "  excluded   {}", list(&report.excluded_models));
    let _ = writeln!(out);
    for m in &report.models {
        render::wrapped(
            out,
            &format!("  {:<16} {:<9} ", m.model, m.status.as_str()),
            &reason(m),
        );
    }
    if !report.recommendations.is_empty() {
        let _ = writeln!(out, "\n  Recommendations:");
        for r in &report.recommendations {
            render::wrapped(out, "  - ", r);
        }
    }
}
