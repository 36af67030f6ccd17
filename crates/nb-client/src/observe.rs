//! Tracing spans and events per call and per attempt, and the `verbose`
//! printout. No field ever holds a key: only model, endpoint, category,
//! latency and the decision.

use std::time::{Duration, Instant};

use tracing::field::Empty;
use tracing::{Span, info_span};

use crate::attempt::Attempt;
use crate::error::Error;
use crate::failure::AttemptError;
use crate::policy::Decision;
use crate::response::Degraded;
use crate::shared::Inner;
use crate::target::TargetId;
use crate::time::now;

/// The span of one call; how it ended (`served_by`, `endpoint`,
/// `attempts`, `category`, `degraded`, `latency_ms`) is recorded when it
/// does.
pub(crate) fn call_span(model: &str, stream: bool) -> Span {
    info_span!(
        "neuralbridge.call",
        model = %model,
        stream,
        served_by = Empty,
        endpoint = Empty,
        attempts = Empty,
        category = Empty,
        degraded = Empty,
        latency_ms = Empty,
    )
}

/// When a call started, for its span's latency: read only when the span
/// is enabled.
pub(crate) fn call_started(span: &Span) -> Option<Instant> {
    (!span.is_disabled()).then(now)
}

/// Records a served call on its span (`category` is `success`, or the
/// failure's for a degraded answer).
pub(crate) fn call_served(
    span: &Span,
    started: Option<Instant>,
    (served_by, endpoint): (&str, &str),
    attempts: usize,
    degraded: Option<&Degraded>,
) {
    let Some(started) = started else {
        return;
    };
    span.record("served_by", served_by);
    span.record("endpoint", endpoint);
    span.record("attempts", attempts);
    let category = degraded.map_or("success", |d| d.error().label());
    span.record("category", category);
    span.record("degraded", degraded.is_some());
    record_latency(span, started);
}

/// Records a failed call on its span.
pub(crate) fn call_failed(span: &Span, started: Option<Instant>, error: &Error) {
    let Some(started) = started else {
        return;
    };
    span.record("attempts", error.attempts().len());
    span.record("category", error.label());
    record_latency(span, started);
}

fn record_latency(span: &Span, started: Instant) {
    let latency = now().saturating_duration_since(started);
    span.record("latency_ms", latency.as_secs_f64() * 1e3);
}

/// The span of one attempt; `category` and `latency_ms` are recorded when
/// it ends.
pub(crate) fn attempt_span(target: &TargetId, number: u32) -> Span {
    info_span!(
        "neuralbridge.attempt",
        attempt = number,
        model = %target.model,
        endpoint = %target.endpoint.name,
        category = Empty,
        latency_ms = Empty,
    )
}

/// Records how an attempt ended on its span.
pub(crate) fn close_span<T>(span: &Span, result: &Result<T, AttemptError>, latency: Duration) {
    if span.is_disabled() {
        return;
    }
    let category = match result {
        Ok(_) => "success",
        Err(AttemptError::Failed(f)) => f.diagnosis.category.as_str(),
        Err(AttemptError::Fatal(e)) => e.kind().as_str(),
    };
    span.record("category", category);
    span.record("latency_ms", latency.as_secs_f64() * 1e3);
}

/// Reports one finished attempt: a tracing event, and with `verbose` one
/// human line on stderr.
pub(crate) fn attempt(inner: &Inner, a: &Attempt, name: &str) {
    let latency_ms = a.latency.as_secs_f64() * 1e3;
    match a.diagnosis() {
        None => tracing::debug!(
            attempt = a.number,
            model = name,
            endpoint = %a.endpoint,
            latency_ms,
            "served"
        ),
        Some(d) => tracing::warn!(
            attempt = a.number,
            model = name,
            endpoint = %a.endpoint,
            latency_ms,
            category = d.category.as_str(),
            sub_category = %d.sub_category,
            status = d.status,
            decision = a.decision.as_str(),
            "attempt failed: {}",
            d.root_cause
        ),
    }
    if inner.settings.verbose {
        eprintln!("{}", verbose_line(a, name));
    }
}

/// The `verbose` line for one attempt.
pub(crate) fn verbose_line(a: &Attempt, name: &str) -> String {
    let ms = a.latency.as_millis();
    let hedge = if a.hedge { " (a hedge)" } else { "" };
    let Some(d) = a.diagnosis() else {
        let how = if a.decision == Decision::Cancelled {
            format!("cancelled after {ms} ms: a hedge answered first")
        } else {
            format!("served in {ms} ms")
        };
        return format!(
            "[neuralbridge] attempt {} {name} ({}){hedge}: {how}",
            a.number, a.endpoint
        );
    };
    let status = d.status.map(|s| format!(", HTTP {s}")).unwrap_or_default();
    let next = match a.decision {
        Decision::Retry { after } => format!("retrying in {:.2} s", after.as_secs_f64()),
        Decision::RotateKey => "retrying with the next key".to_owned(),
        Decision::DropPrefill => "retrying without the prefill".to_owned(),
        Decision::Fallback => "falling back".to_owned(),
        Decision::Skipped => "skipped, nothing sent".to_owned(),
        _ => "giving up".to_owned(),
    };
    format!(
        "[neuralbridge] attempt {} {name} ({}): {} ({}{status}) after {ms} ms, {next}: {}",
        a.number, a.endpoint, d.category, d.sub_category, d.root_cause
    )
}
