//! The sidecar's own status routes: `GET /v1/models`, `GET /health` and
//! `GET /metrics`.

use std::sync::atomic::Ordering;

use ::http::header::{CONTENT_TYPE, HeaderValue};
use ::http::{Response, StatusCode};
use nb_client::health::{Exclusion, HealthReport, ModelStatus, Verdict};
use serde::Serialize;
use serde_json::json;

use crate::State;
use crate::http::{ResBody, error, full, json};
use crate::metrics;

/// `GET /v1/models`: every alias and listed model, in OpenAI's list shape.
pub(crate) fn models(state: &State) -> Response<ResBody> {
    let data: Vec<_> = state
        .config
        .models
        .iter()
        .map(|(id, endpoint)| model_json(id, endpoint.as_deref()))
        .collect();
    json(StatusCode::OK, &json!({ "object": "list", "data": data }))
}

/// `GET /v1/models/{id}`: one model (an alias or a listed model), or a 404.
pub(crate) fn model(state: &State, id: &str) -> Response<ResBody> {
    match state.config.models.iter().find(|(m, _)| m == id) {
        Some((id, endpoint)) => json(StatusCode::OK, &model_json(id, endpoint.as_deref())),
        None => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            &format!("The model `{id}` does not exist on this sidecar (see GET /v1/models)."),
            None,
        ),
    }
}

fn model_json(id: &str, endpoint: Option<&str>) -> serde_json::Value {
    json!({
        "id": id,
        "object": "model",
        "created": 0,
        "owned_by": endpoint.unwrap_or("neuralbridge"),
    })
}

/// `GET /metrics`: the counters, and the states read now.
pub(crate) fn metrics(state: &State) -> Response<ResBody> {
    let (in_flight, queued) = state.admission.load();
    let load = metrics::Load {
        in_flight,
        queued,
        max_in_flight: state.config.max_in_flight,
        shared_store: state.client.shared_store().map(|s| (s.reachable, s.errors)),
    };
    let text = state.metrics.render(&state.client.targets(), load);
    let mut r = Response::new(full(text));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// `GET /health`: the health report (`verdict`, each model's `status` and
/// `exclusion`), plus each target's breaker state, status and exclusion.
/// The status code follows the verdict: 200 when `healthy` or `degraded`
/// (calls are served), 503 when `unhealthy` (no model can serve).
pub(crate) fn health(state: &State) -> Response<ResBody> {
    #[derive(Serialize)]
    struct Target {
        name: String,
        model: String,
        endpoint: String,
        provider: &'static str,
        breaker: String,
        reopens_in_s: Option<f64>,
        status: ModelStatus,
        exclusion: Option<Exclusion>,
    }
    /// The sidecar's own load: its in-flight cap and queue.
    #[derive(Serialize)]
    struct Load {
        in_flight: usize,
        queued: usize,
        max_in_flight: usize,
        draining: bool,
    }
    #[derive(Serialize)]
    struct Health {
        #[serde(flatten)]
        report: HealthReport,
        targets: Vec<Target>,
        sidecar: Load,
    }
    let targets = state
        .client
        .targets()
        .into_iter()
        .map(|t| Target {
            breaker: t.breaker.to_string(),
            reopens_in_s: t.reopens_in.map(|d| d.as_secs_f64()),
            provider: t.provider.as_str(),
            status: t.status,
            exclusion: t.exclusion,
            name: t.name,
            model: t.model,
            endpoint: t.endpoint,
        })
        .collect();
    let (in_flight, queued) = state.admission.load();
    let sidecar = Load {
        in_flight,
        queued,
        max_in_flight: state.config.max_in_flight,
        draining: state.draining.load(Ordering::Relaxed),
    };
    let report = state.client.health_status();
    json(
        health_code(report.verdict),
        &Health {
            report,
            targets,
            sidecar,
        },
    )
}

/// The `/health` status code for a verdict: 503 only when unhealthy.
pub(crate) fn health_code(verdict: Verdict) -> StatusCode {
    if verdict.can_serve() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_answers_503_only_when_unhealthy() {
        assert_eq!(health_code(Verdict::Healthy), StatusCode::OK);
        assert_eq!(health_code(Verdict::Degraded), StatusCode::OK);
        assert_eq!(
            health_code(Verdict::Unhealthy),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
