//! The end of a demo run: the summary tables (NeuralBridge beside the plain retry loop)
//! and the health report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use nb_client::health::{HealthReport, Verdict};

use super::{CALLERS, Outcome, Stats, THINK};
use crate::render;

/// The headline numbers of one side.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Totals {
    pub(super) requests: usize,
    pub(super) ok: usize,
    pub(super) fallbacks: usize,
    pub(super) calls: usize,
    pub(super) p50: Duration,
    pub(super) p99: Duration,
}

impl Totals {
    pub(super) fn of(outcomes: &[Outcome], primary: &str) -> Self {
        let mut latencies: Vec<Duration> = outcomes
            .iter()
            .filter(|o| o.served_by.is_some())
            .map(|o| o.latency)
            .collect();
        latencies.sort_unstable();
        Self {
            requests: outcomes.len(),
            ok: latencies.len(),
            fallbacks: outcomes
                .iter()
                .filter(|o| o.served_by.as_deref().is_some_and(|m| m != primary))
                .count(),
            calls: outcomes.iter().map(|o| o.attempts.len()).sum(),
            p50: quantile(&latencies, 0.5),
            p99: quantile(&latencies, 0.99),
        }
    }

    pub(super) fn success_rate(&self) -> f64 {
        percent(self.ok, self.requests)
    }

    pub(super) fn calls_per_request(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.calls as f64 / self.requests as f64
        }
    }
}

/// `k` of `n` in percent; 100 when there is nothing to count.
pub(super) fn percent(k: usize, n: usize) -> f64 {
    if n == 0 {
        100.0
    } else {
        100.0 * k as f64 / n as f64
    }
}

/// Upstream calls NeuralBridge did not make: what the plain loop needed per request, less
/// what NeuralBridge needed, times NeuralBridge's requests (negative if it needed more).
pub(super) fn retries_saved(neuralbridge: &Totals, plain: &Totals) -> i64 {
    let per_request = plain.calls_per_request() - neuralbridge.calls_per_request();
    (per_request * neuralbridge.requests as f64).round() as i64
}

/// The `q` quantile (0..=1) of sorted durations, by nearest rank (the
/// definition `cargo xtask chaos` uses, so the two tables compare).
pub(super) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

pub(super) fn summary(out: &mut String, stats: &Stats, chain: &[String], elapsed: Duration) {
    let primary = chain.first().map(String::as_str).unwrap_or_default();
    let ours = Totals::of(&stats.neuralbridge, primary);
    let theirs = Totals::of(&stats.plain, primary);

    render::banner(
        out,
        &format!(
            "SUMMARY  ({} of traffic, {CALLERS} callers each)",
            render::duration(elapsed)
        ),
    );
    let _ = writeln!(
        out,
        "  {:<18} {:>16}   {:>16}",
        "", "NeuralBridge", "plain retry loop"
    );
    let per = |t: &Totals| format!("{} ({:.2}/req)", t.calls, t.calls_per_request());
    let rows = [
        (
            "requests",
            ours.requests.to_string(),
            theirs.requests.to_string(),
        ),
        (
            "success rate",
            format!("{:.1}%", ours.success_rate()),
            format!("{:.1}%", theirs.success_rate()),
        ),
        (
            "latency p50",
            render::duration(ours.p50),
            render::duration(theirs.p50),
        ),
        (
            "latency p99",
            render::duration(ours.p99),
            render::duration(theirs.p99),
        ),
        (
            "fallbacks",
            ours.fallbacks.to_string(),
            theirs.fallbacks.to_string(),
        ),
        ("upstream calls", per(&ours), per(&theirs)),
        (
            "retries saved",
            retries_saved(&ours, &theirs).to_string(),
            String::new(),
        ),
    ];
    for (name, a, b) in rows {
        let _ = writeln!(out, "  {name:<18} {a:>16}   {b:>16}");
    }
    let _ = writeln!(out);
    for (name, meaning) in [
        (
            "requests",
            format!(
                "requests made, each caller sending the next one {} ms after the last ended",
                THINK.as_millis()
            ),
        ),
        (
            "success rate",
            "requests answered in full (a stream cut short is a failure)".to_owned(),
        ),
        (
            "latency",
            "time to the whole answer, over successful requests".to_owned(),
        ),
        (
            "fallbacks",
            format!("answers from a model other than {primary}, the primary"),
        ),
        (
            "upstream calls",
            "HTTP calls to the providers, and per request".to_owned(),
        ),
        (
            "retries saved",
            "the calls per request the plain loop needed beyond NeuralBridge's, times \
             NeuralBridge's requests: calls not sent to providers that were failing"
                .to_owned(),
        ),
    ] {
        render::wrapped(out, &format!("  {name:<16}"), &meaning);
    }
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "  NeuralBridge per model:\n  {:<16} {:>7} {:>7} {:>7}  FAILED CALLS BY DIAGNOSIS",
        "MODEL", "SERVED", "CALLS", "FAILED"
    );
    for m in chain {
        let served = stats
            .neuralbridge
            .iter()
            .filter(|o| o.served_by.as_deref() == Some(m))
            .count();
        let (mut calls, mut failed) = (0, 0);
        let mut why: BTreeMap<&str, usize> = BTreeMap::new();
        for (model, failure) in stats.neuralbridge.iter().flat_map(|o| &o.attempts) {
            if model == m {
                calls += 1;
                if let Some(c) = failure {
                    failed += 1;
                    *why.entry(c.as_str()).or_default() += 1;
                }
            }
        }
        let why: Vec<String> = why.iter().map(|(c, k)| format!("{c} {k}")).collect();
        let line = format!(
            "  {m:<16} {served:>7} {calls:>7} {failed:>7}  {}",
            why.join(", ")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &stats.neuralbridge {
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

/// The health report: the verdict (the same `healthy`, `degraded`,
/// `unhealthy` that `health_status()` and `/health` give), the models by
/// status, each model's rate and, for a model not called now, why and until
/// when; then the recommendations.
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
         returns and `serve` shows on GET /health). It also counts the calls of requests \
         still in flight when traffic stopped, which the tables above leave out:",
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
            "  {:<16} {:<9} success {rate:>4} of {:>4} calls{failures}",
            m.model,
            m.status.as_str(),
            m.reliability.calls
        );
        if let Some(exclusion) = &m.exclusion {
            render::wrapped(
                out,
                &format!("  {:<16} ", ""),
                &format!("not called: {exclusion}"),
            );
        }
    }
    if !report.recommendations.is_empty() {
        let _ = writeln!(out, "\n  Recommendations:");
        for r in &report.recommendations {
            render::wrapped(out, "  - ", r);
        }
    }
}
