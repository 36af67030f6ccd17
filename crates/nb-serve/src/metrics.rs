//! `GET /metrics`: the sidecar's counters in the Prometheus text format
//! (version 0.0.4). Names follow Prometheus's conventions (`_total` for
//! counters, base units, `nb_` prefix); labels carry model, endpoint and
//! category names only, never a key or a token.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use nb_client::health::TargetStatus;
use nb_client::policy::Decision;
use nb_client::{Attempt, Diagnosis, Usage};

use crate::config::Price;

/// Upper bounds of the latency histograms, in seconds: from a fast
/// completion to a long reasoning answer.
const BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Observations at or under each bound of [`BUCKETS`].
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&mut self.counts) {
            if secs <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// Label values, in the order of the metric's label names.
type Labels = Vec<String>;

#[derive(Debug, Default)]
struct Registry {
    requests: BTreeMap<Labels, u64>,
    attempts: BTreeMap<Labels, u64>,
    failures: BTreeMap<Labels, u64>,
    hedges: BTreeMap<Labels, u64>,
    tokens: BTreeMap<Labels, u64>,
    sheds: BTreeMap<Labels, u64>,
    duration: BTreeMap<Labels, Histogram>,
    first_token: BTreeMap<Labels, Histogram>,
    /// US dollars, by served model (priced models only).
    cost: BTreeMap<Labels, f64>,
}

/// Everything `/metrics` reports that is counted as it happens (states are
/// read at scrape time).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    registry: Mutex<Registry>,
    prices: BTreeMap<String, Price>,
}

impl Metrics {
    /// Metrics that also price the tokens of the models in `prices`.
    pub(crate) fn with_prices(prices: BTreeMap<String, Price>) -> Self {
        Self {
            prices,
            ..Self::default()
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        // Nothing panics while holding it; the counts stay usable if it did.
        f(&mut self.registry.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// One request answered, on `route`, with `status`.
    pub(crate) fn request(&self, route: &str, status: u16) {
        self.with(|r| {
            *r.requests
                .entry(vec![route.to_owned(), status.to_string()])
                .or_default() += 1;
        });
    }

    /// The attempts of one chat call, and its tokens.
    pub(crate) fn call(
        &self,
        attempts: &[Attempt],
        usage: Option<&Usage>,
        served_by: Option<&str>,
    ) {
        self.with(|r| {
            for a in attempts {
                let target = vec![a.model().to_owned(), a.endpoint().to_owned()];
                // This host's own policy refused the connection: nothing was
                // sent, so it is no failure of the target's.
                let refused = a.diagnosis().is_some_and(Diagnosis::is_local_policy);
                let outcome = match a.decision() {
                    Decision::Served => "served",
                    Decision::Cancelled => "cancelled",
                    Decision::Skipped => "skipped",
                    _ if refused => "refused_locally",
                    _ => "failed",
                };
                let mut key = target.clone();
                key.push(outcome.to_owned());
                *r.attempts.entry(key).or_default() += 1;
                // A skipped target was sent nothing: no failure of its own.
                if let Some(d) = a
                    .diagnosis()
                    .filter(|_| a.decision() != Decision::Skipped && !refused)
                {
                    let mut key = target.clone();
                    key.push(d.category.as_str().to_owned());
                    *r.failures.entry(key).or_default() += 1;
                }
                if a.is_hedge() {
                    *r.hedges.entry(target).or_default() += 1;
                }
            }
            if let (Some(u), Some(model)) = (usage, served_by) {
                for (kind, n) in [
                    ("prompt", u.prompt_tokens),
                    ("completion", u.completion_tokens),
                ] {
                    *r.tokens
                        .entry(vec![model.to_owned(), kind.to_owned()])
                        .or_default() += n;
                }
                if let Some(price) = self.prices.get(model) {
                    let dollars = (u.prompt_tokens as f64 * price.input
                        + u.completion_tokens as f64 * price.output)
                        / 1e6;
                    *r.cost.entry(vec![model.to_owned()]).or_default() += dollars;
                }
            }
        });
    }

    /// How long a chat call took to its answer (a completion) or to its
    /// end (a stream).
    pub(crate) fn duration(&self, stream: bool, d: Duration) {
        self.with(|r| {
            r.duration
                .entry(vec![stream.to_string()])
                .or_default()
                .observe(d);
        });
    }

    /// How long a stream took to its first content.
    pub(crate) fn first_token(&self, model: &str, d: Duration) {
        self.with(|r| {
            r.first_token
                .entry(vec![model.to_owned()])
                .or_default()
                .observe(d);
        });
    }

    /// A request the sidecar turned away itself (`queue_full`,
    /// `queue_timeout`, `shutting_down`).
    pub(crate) fn shed(&self, reason: &str) {
        self.with(|r| *r.sheds.entry(vec![reason.to_owned()]).or_default() += 1);
    }

    /// The text exposition, with the states read now.
    pub(crate) fn render(&self, targets: &[TargetStatus], load: Load) -> String {
        let mut out = String::new();
        self.with(|r| {
            counter(&mut out, "nb_requests_total", "Requests answered, by route and HTTP status.", &["route", "status"], &r.requests);
            counter(&mut out, "nb_attempts_total", "Upstream attempts, by model, endpoint and outcome (served, failed, cancelled: a hedge's loser, skipped: its protocol cannot carry the request, refused_locally: this host's policy refused the connection; nothing sent for either).", &["model", "endpoint", "outcome"], &r.attempts);
            counter(&mut out, "nb_attempt_failures_total", "Failed upstream attempts, by model, endpoint and diagnosed category.", &["model", "endpoint", "category"], &r.failures);
            counter(&mut out, "nb_hedges_total", "Hedged attempts, by the model and endpoint they went to.", &["model", "endpoint"], &r.hedges);
            counter(&mut out, "nb_tokens_total", "Tokens of served answers, by model and kind.", &["model", "kind"], &r.tokens);
            counter(&mut out, "nb_shed_total", "Requests the sidecar turned away itself, by reason.", &["reason"], &r.sheds);
            histogram(&mut out, "nb_request_duration_seconds", "Chat requests, start to answer (a stream: to its end).", &["stream"], &r.duration);
            histogram(&mut out, "nb_first_token_seconds", "Streams, start to first content, by the model that served.", &["model"], &r.first_token);
            if !r.cost.is_empty() {
                header(&mut out, "nb_cost_usd_total", "counter", "What served answers cost in US dollars, by model, at the [prices] of the config.");
                for (labels, dollars) in &r.cost {
                    line(&mut out, "nb_cost_usd_total", &["model"], &[&labels[0]], dollars);
                }
            }
        });
        header(
            &mut out,
            "nb_breaker_opened_total",
            "counter",
            "Times each target's breaker opened since the sidecar started.",
        );
        for t in targets {
            line(
                &mut out,
                "nb_breaker_opened_total",
                &["model", "endpoint"],
                &[&t.model, &t.endpoint],
                t.opened,
            );
        }
        header(
            &mut out,
            "nb_breaker_state",
            "gauge",
            "Each target's breaker: 0 closed, 1 half-open, 2 open (forced or not).",
        );
        for t in targets {
            let state = match t.breaker.to_string().as_str() {
                "closed" | "disabled" | "metrics-only" => 0,
                "half-open" => 1,
                _ => 2,
            };
            line(
                &mut out,
                "nb_breaker_state",
                &["model", "endpoint"],
                &[&t.model, &t.endpoint],
                state,
            );
        }
        for (name, help, value) in [
            ("nb_in_flight", "Chat requests running now.", load.in_flight),
            (
                "nb_queue_depth",
                "Chat requests waiting for a slot.",
                load.queued,
            ),
            (
                "nb_max_in_flight",
                "The cap on chat requests running at once.",
                load.max_in_flight,
            ),
        ] {
            header(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {value}");
        }
        if let Some((up, errors)) = load.shared_store {
            header(
                &mut out,
                "nb_shared_store_up",
                "gauge",
                "1 while the fleet's shared store ([state]) answers; 0 while breakers, rate limits and learning run on this sidecar's own state.",
            );
            let _ = writeln!(out, "nb_shared_store_up {}", u8::from(up));
            header(
                &mut out,
                "nb_shared_store_errors_total",
                "counter",
                "Calls to the fleet's shared store that failed or took longer than their bound.",
            );
            let _ = writeln!(out, "nb_shared_store_errors_total {errors}");
        }
        out
    }
}

/// The admission figures read at scrape time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) in_flight: usize,
    pub(crate) queued: usize,
    pub(crate) max_in_flight: usize,
    /// With `[state]`: whether the shared store answered its last call,
    /// and its failed calls so far.
    pub(crate) shared_store: Option<(bool, u64)>,
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample line; label values escaped as the format requires.
fn line(
    out: &mut String,
    name: &str,
    names: &[&str],
    values: &[&str],
    value: impl std::fmt::Display,
) {
    out.push_str(name);
    if !names.is_empty() {
        out.push('{');
        for (i, (n, v)) in names.iter().zip(values).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{n}=\"");
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn counter(
    out: &mut String,
    name: &str,
    help: &str,
    names: &[&str],
    values: &BTreeMap<Labels, u64>,
) {
    header(out, name, "counter", help);
    for (labels, n) in values {
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        line(out, name, names, &labels, n);
    }
}

fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    names: &[&str],
    values: &BTreeMap<Labels, Histogram>,
) {
    header(out, name, "histogram", help);
    let bucket = format!("{name}_bucket");
    let mut with_le: Vec<&str> = names.to_vec();
    with_le.push("le");
    let bounds: Vec<String> = BUCKETS.iter().map(f64::to_string).collect();
    for (labels, h) in values {
        let mut values: Vec<&str> = labels.iter().map(String::as_str).collect();
        for (le, count) in bounds.iter().zip(h.counts) {
            values.push(le);
            line(out, &bucket, &with_le, &values, count);
            values.pop();
        }
        values.push("+Inf");
        line(out, &bucket, &with_le, &values, h.count);
        values.pop();
        line(out, &format!("{name}_sum"), names, &values, h.sum);
        line(out, &format!("{name}_count"), names, &values, h.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_label_values_are_escaped() {
        let m = Metrics::default();
        m.duration(false, Duration::from_millis(30));
        m.duration(false, Duration::from_secs(3));
        m.request("chat", 200);
        m.shed("queue_full");
        let text = m.render(
            &[],
            Load {
                in_flight: 1,
                queued: 2,
                max_in_flight: 8,
                shared_store: Some((false, 3)),
            },
        );
        assert!(
            text.contains("nb_request_duration_seconds_bucket{stream=\"false\",le=\"0.05\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("nb_request_duration_seconds_bucket{stream=\"false\",le=\"5\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("nb_request_duration_seconds_bucket{stream=\"false\",le=\"+Inf\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("nb_request_duration_seconds_count{stream=\"false\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("nb_requests_total{route=\"chat\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("nb_shed_total{reason=\"queue_full\"} 1"),
            "{text}"
        );
        assert!(text.contains("nb_queue_depth 2"), "{text}");
        assert!(text.contains("nb_shared_store_up 0\n"), "{text}");
        assert!(text.contains("nb_shared_store_errors_total 3\n"), "{text}");
        assert!(!text.contains("nb_cost_usd_total"), "no prices, no cost");
        let mut escaped = String::new();
        line(&mut escaped, "m", &["model"], &["a\"b\\c\nd"], 1);
        assert_eq!(escaped, "m{model=\"a\\\"b\\\\c\\nd\"} 1\n");
    }

    #[test]
    fn served_tokens_of_a_priced_model_add_up_to_their_cost() {
        let prices = BTreeMap::from([(
            "gpt-4o".to_owned(),
            Price {
                input: 2.5,
                output: 10.0,
            },
        )]);
        let m = Metrics::with_prices(prices);
        let usage = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 500_000,
            ..Usage::default()
        };
        m.call(&[], Some(&usage), Some("gpt-4o"));
        m.call(&[], Some(&usage), Some("unpriced"));
        let load = Load {
            in_flight: 0,
            queued: 0,
            max_in_flight: 1,
            shared_store: None,
        };
        let text = m.render(&[], load);
        assert!(
            text.contains("nb_cost_usd_total{model=\"gpt-4o\"} 7.5\n"),
            "{text}"
        );
        assert!(!text.contains("model=\"unpriced\"} 7.5"), "{text}");
    }
}
