//! The calls a caller makes, from the request's intake to the answer: chat
//! completions (OpenAI's shape or Anthropic's Messages, see [`Front`]) and
//! embeddings, with the sidecar's own refusals and the mapping of a failed
//! call to an error response.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use ::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use ::http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use nb_client::policy::Fallback;
use nb_client::{
    Attempt, ChatRequest, Diagnosis, EmbeddingRequest, Error, ErrorCategory, ErrorKind, Usage,
};
use serde_json::json;

use crate::admission::{Priority, Refused, Ticket};
use crate::chunk::complete_identity;
use crate::config::{Route, parse_fallback};
use crate::http::{ChannelBody, ResBody, bad_request, error, error_with_param, json};
use crate::{Front, MAX_RETRY_AFTER_S, State, messages, relay};

/// `POST /v1/chat/completions` and `POST /v1/messages`.
pub(crate) async fn chat(state: &State, req: Request<Incoming>, front: Front) -> Response<ResBody> {
    let fallback = match req.headers().get("x-nb-fallback") {
        None => state.config.fallback.clone(),
        Some(v) => match v.to_str().ok().and_then(parse_fallback) {
            Some(f) => f,
            None => {
                return bad_request(
                    "invalid_fallback",
                    None,
                    "x-nb-fallback must be any, tier or same-model.",
                );
            }
        },
    };
    let (priority, body) = match intake(state, req).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let parsed = match front {
        Front::Chat => serde_json::from_slice(&body).map_err(|e| messages::RequestError {
            param: None,
            message: format!("The request body is not a valid chat completion request: {e}"),
        }),
        Front::Messages => messages::to_chat(&body),
    };
    let mut request: ChatRequest = match parsed {
        Ok(r) => r,
        Err(e) => return bad_request("invalid_json", e.param, &e.message),
    };
    if request.model.trim().is_empty() {
        return bad_request(
            "missing_model",
            Some("model"),
            "The request has no `model`.",
        );
    }
    if request.messages.is_empty() {
        return bad_request(
            "missing_messages",
            Some("messages"),
            "The request has no `messages`.",
        );
    }
    if let Some(response) = route_model(state, &mut request.model) {
        return response;
    }
    let ticket = match admit(state, priority).await {
        Ok(ticket) => ticket,
        Err(response) => return response,
    };
    if request.stream == Some(true) {
        stream(state, request, fallback, ticket, front).await
    } else {
        let started = Instant::now();
        let response = complete(state, request, fallback, front).await;
        state.metrics.duration(false, started.elapsed());
        drop(ticket);
        response
    }
}

/// `POST /v1/embeddings`: the same model on every endpoint that serves it, never another.
pub(crate) async fn embeddings(state: &State, req: Request<Incoming>) -> Response<ResBody> {
    let (priority, body) = match intake(state, req).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let mut request: EmbeddingRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(
                "invalid_json",
                None,
                &format!("The request body is not a valid embeddings request: {e}"),
            );
        }
    };
    if request.model.trim().is_empty() {
        return bad_request(
            "missing_model",
            Some("model"),
            "The request has no `model`.",
        );
    }
    if let Some(response) = route_model(state, &mut request.model) {
        return response;
    }
    let _ticket = match admit(state, priority).await {
        Ok(ticket) => ticket,
        Err(response) => return response,
    };
    let started = Instant::now();
    let result = state.client.embeddings().create(request).await;
    state.metrics.duration(false, started.elapsed());
    match result {
        Ok(response) => {
            let usage = response.embeddings().usage.as_ref().map(|u| Usage {
                prompt_tokens: u.prompt_tokens,
                total_tokens: u.total_tokens,
                ..Usage::default()
            });
            state.metrics.call(
                response.attempts(),
                usage.as_ref(),
                Some(response.served_by()),
            );
            let attempts = response.attempts().len();
            let served_by = response.served_by().to_owned();
            let endpoint = response.endpoint().to_owned();
            let upstream = response.upstream_headers().clone();
            let mut embeddings = response.into_embeddings();
            if embeddings.model.is_empty() {
                embeddings.model.clone_from(&served_by);
            }
            if embeddings.object.is_empty() {
                embeddings.object = "list".to_owned();
            }
            let mut r = json(StatusCode::OK, &embeddings);
            annotate(&mut r, attempts, Some((&served_by, &endpoint)));
            forward(&mut r, upstream);
            r
        }
        Err(e) => {
            state.metrics.call(e.attempts(), None, None);
            failure(&e)
        }
    }
}

/// Routes a request's model per the config: as is, or pinned by the catch-all; the 404
/// when the config has no place for it.
fn route_model(state: &State, model: &mut String) -> Option<Response<ResBody>> {
    match state.config.route(model) {
        Route::AsIs => None,
        Route::CatchAll(pinned) => {
            *model = pinned;
            None
        }
        Route::Unknown => Some(error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            &format!("The model `{model}` does not exist on this sidecar (see GET /v1/models)."),
            None,
        )),
    }
}

/// A slot for a request, or the sidecar's own refusal.
async fn admit(state: &State, priority: Priority) -> Result<Ticket, Response<ResBody>> {
    state.admission.admit(priority).await.map_err(|refused| {
        state.metrics.shed(match refused {
            Refused::QueueFull => "queue_full",
            Refused::TimedOut => "queue_timeout",
        });
        busy(refused)
    })
}

/// What every `POST` goes through first: the drain, the priority header, the body's size
/// and time limits. Returns the priority and the whole body.
async fn intake(
    state: &State,
    req: Request<Incoming>,
) -> Result<(Priority, ::bytes::Bytes), Response<ResBody>> {
    if state.draining.load(Ordering::Relaxed) {
        state.metrics.shed("shutting_down");
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "shutting_down",
            "This sidecar is shutting down; send the request to another instance or retry.",
            None,
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return Err(r);
    }
    let priority = match req.headers().get("x-nb-priority") {
        None => Priority::Normal,
        Some(v) => match v.to_str().ok().and_then(Priority::parse) {
            Some(p) => p,
            None => {
                return Err(bad_request(
                    "invalid_priority",
                    None,
                    "x-nb-priority must be high, normal or low.",
                ));
            }
        },
    };
    let max = state.config.max_body;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "request_too_large",
            &format!("The request body is larger than this sidecar's limit of {max} bytes."),
            None,
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let read = Limited::new(req.into_body(), max).collect();
    let body = match tokio::time::timeout(state.config.body_timeout, read).await {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Ok(Err(_)) => {
            return Err(bad_request(
                "invalid_body",
                None,
                "The request body could not be read.",
            ));
        }
        Err(_elapsed) => {
            let mut r = error(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request_error",
                "body_timeout",
                &format!(
                    "The request body did not arrive within {} s (server.body_timeout_s).",
                    state.config.body_timeout.as_secs_f64()
                ),
                None,
            );
            r.headers_mut().insert(
                ::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
            return Err(r);
        }
    };
    Ok((priority, body))
}

/// The answer to a request the sidecar has no slot for: its own limit, not
/// a provider's, so it carries no diagnosis and touches no breaker.
fn busy(refused: Refused) -> Response<ResBody> {
    let (status, code, message) = match refused {
        Refused::QueueFull => (
            StatusCode::TOO_MANY_REQUESTS,
            "sidecar_busy",
            "This sidecar is serving as many requests as it allows and its queue is full.",
        ),
        Refused::TimedOut => (
            StatusCode::SERVICE_UNAVAILABLE,
            "sidecar_overloaded",
            "No slot of this sidecar came free within its queue timeout.",
        ),
    };
    let mut r = error(status, "server_error", code, message, None);
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// A non-streamed completion.
async fn complete(
    state: &State,
    mut request: ChatRequest,
    fallback: Fallback,
    front: Front,
) -> Response<ResBody> {
    request.stream = None;
    request.stream_options = None;
    match state.client.chat().fallback(fallback).create(request).await {
        Ok(response) => {
            state.metrics.call(
                response.attempts(),
                response.usage(),
                Some(response.served_by()),
            );
            let attempts = response.attempts().len();
            let as_requested = response.is_requested_model();
            let served_by = response.served_by().to_owned();
            let endpoint = response.endpoint().to_owned();
            let upstream = response.upstream_headers().clone();
            // The model as the provider named it (the configured name that
            // served is in `x-neuralbridge-served-by`).
            let mut completion = response.into_completion();
            if completion.model.is_empty() {
                completion.model.clone_from(&served_by);
            }
            let mut r = match front {
                Front::Chat => {
                    complete_identity(&mut completion);
                    json(StatusCode::OK, &completion)
                }
                Front::Messages => json(
                    StatusCode::OK,
                    &messages::to_message(&completion, &served_by),
                ),
            };
            annotate(&mut r, attempts, Some((&served_by, &endpoint)));
            served_as_requested(&mut r, as_requested);
            forward(&mut r, upstream);
            r
        }
        Err(e) => {
            state.metrics.call(e.attempts(), None, None);
            failure(&e)
        }
    }
}

/// A streamed completion: fail over until content flows (an error before then is an
/// ordinary error response), then relay server-sent events in the caller's protocol.
async fn stream(
    state: &State,
    request: ChatRequest,
    fallback: Fallback,
    ticket: Ticket,
    front: Front,
) -> Response<ResBody> {
    let include_usage = request
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    let started = Instant::now();
    let stream = match state.client.chat().fallback(fallback).stream(request).await {
        Ok(s) => s,
        Err(e) => {
            state.metrics.call(e.attempts(), None, None);
            state.metrics.duration(true, started.elapsed());
            return failure(&e);
        }
    };
    // The serving attempt joins `attempts()` only when it ends.
    let attempts = stream.attempts().len() + 1;
    let served_by = stream.served_by().unwrap_or_default().to_owned();
    let as_requested = stream.requested_model() == Some(served_by.as_str());
    let upstream = stream.upstream_headers().cloned().unwrap_or_default();
    state.metrics.first_token(&served_by, started.elapsed());
    let (tx, body) = ChannelBody::channel(32);
    let ends = relay::Ends {
        limit: state.config.stream_limit,
        end_streams: state.end_streams.subscribe(),
        _ticket: ticket,
        metrics: Arc::clone(&state.metrics),
        started,
    };
    let wire = match front {
        Front::Chat => relay::Wire::Chat {
            include_usage,
            identity: None,
        },
        Front::Messages => relay::Wire::Messages(messages::MessagesEvents::default()),
    };
    tokio::spawn(relay::relay(stream, tx, wire, ends));
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    annotate(&mut r, attempts, Some((&served_by, "")));
    served_as_requested(&mut r, as_requested);
    forward(&mut r, upstream);
    r
}

/// `x-neuralbridge-served-requested`: whether the model that served is the one the
/// request asked for (`false` after a fallback to another model).
fn served_as_requested(r: &mut Response<ResBody>, yes: bool) {
    let value = HeaderValue::from_static(if yes { "true" } else { "false" });
    r.headers_mut()
        .insert("x-neuralbridge-served-requested", value);
}

/// Passes on the serving answer's request id and rate-limit headers, as the provider sent
/// them (what the client keeps: `x-request-id`, `request-id`, `x-ratelimit-*`,
/// `anthropic-ratelimit-*`), so a caller's SDK sees its provider's.
fn forward(r: &mut Response<ResBody>, upstream: ::http::HeaderMap) {
    let h = r.headers_mut();
    for (name, value) in upstream {
        if let Some(name) = name {
            h.append(name, value);
        }
    }
}

/// Adds the `x-neuralbridge-*` headers: attempts, and the model and endpoint that served.
fn annotate(r: &mut Response<ResBody>, attempts: usize, served: Option<(&str, &str)>) {
    let h = r.headers_mut();
    h.insert("x-neuralbridge-attempts", HeaderValue::from(attempts));
    if let Some((model, endpoint)) = served {
        if let Ok(v) = HeaderValue::from_str(model) {
            h.insert("x-neuralbridge-served-by", v);
        }
        if let Ok(v) = HeaderValue::from_str(endpoint)
            && !endpoint.is_empty()
        {
            h.insert("x-neuralbridge-endpoint", v);
        }
    }
}

/// A failed call as an OpenAI error response: the status says what the caller can do,
/// `Retry-After` when to come back, `x-should-retry` whether the SDK should retry at all.
pub(crate) fn failure(e: &Error) -> Response<ResBody> {
    let category = e.category();
    let (status, kind, code) = match (e.kind(), category) {
        (ErrorKind::CoolingDown { .. }, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "cooling_down",
        ),
        (ErrorKind::DeadlineExceeded, _) | (_, Some(ErrorCategory::Timeout)) => {
            (StatusCode::GATEWAY_TIMEOUT, "server_error", "timeout")
        }
        // The sidecar's own host ran short (descriptors, memory): its
        // trouble, not the provider's, and it passes.
        (ErrorKind::LocalResource { .. }, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "local_resource",
        ),
        (ErrorKind::Config { .. }, _) => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_model",
        ),
        // The sidecar's host refused the connection itself (a firewall, a
        // network policy): its setup, not the provider's failure.
        _ if e.diagnosis().is_some_and(Diagnosis::is_local_policy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "local_policy",
        ),
        // The upstream's setup (a wrong path, an operation its deployment
        // does not offer) failed every target: the sidecar's config, not the
        // caller's request.
        _ if e.diagnosis().is_some_and(|d| d.about_target) => {
            (StatusCode::BAD_GATEWAY, "server_error", "upstream_setup")
        }
        (_, Some(c @ (ErrorCategory::InvalidRequest | ErrorCategory::ContentFilter))) => {
            (StatusCode::BAD_REQUEST, "invalid_request_error", c.as_str())
        }
        (_, Some(ErrorCategory::ContextLength)) => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "context_length_exceeded",
        ),
        (_, Some(ErrorCategory::ModelNotFound)) => (
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
        ),
        (_, Some(ErrorCategory::RateLimit)) => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limit_exceeded",
        ),
        (_, Some(c)) => (StatusCode::BAD_GATEWAY, "server_error", c.as_str()),
        (_, None) => (StatusCode::BAD_GATEWAY, "server_error", "upstream_error"),
    };
    let attempts: Vec<_> = e.attempts().iter().map(attempt_json).collect();
    let ours = message(e);
    let detail = json!({
        "kind": e.kind().as_str(),
        "category": category.map(ErrorCategory::as_str),
        "sub_category": e.diagnosis().map(|d| &*d.sub_category),
        "message": ours,
        "attempts": attempts,
    });
    // The provider's own words, type, field and code pass through (what an
    // SDK and its user expect); NeuralBridge's account is under
    // `error.neuralbridge` and in `x-nb-category`.
    let upstream = e.diagnosis().and_then(|d| d.provider_error.as_ref());
    fn given(v: Option<&String>) -> Option<&str> {
        v.map(String::as_str).filter(|v| !v.is_empty())
    }
    let request_id = given(upstream.and_then(|p| p.request_id.as_ref()));
    let mut r = error_with_param(
        status,
        given(upstream.and_then(|p| p.error_type.as_ref())).unwrap_or(kind),
        given(upstream.and_then(|p| p.code.as_ref())).unwrap_or(code),
        given(upstream.and_then(|p| p.param.as_ref())),
        given(upstream.and_then(|p| p.message.as_ref())).unwrap_or(&ours),
        Some(detail),
    );
    annotate(&mut r, e.attempts().len(), None);
    let h = r.headers_mut();
    if let Some(c) = category {
        h.insert("x-nb-category", HeaderValue::from_static(c.as_str()));
    }
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        h.insert("x-request-id", id);
    }
    let local = matches!(e.kind(), ErrorKind::LocalResource { .. });
    if local {
        h.insert(RETRY_AFTER, HeaderValue::from(1));
    } else if let Some(wait) = e.retry_after() {
        // A cooling-down sidecar answers when the first target reopens, but
        // never asks an SDK to sit out more than this.
        let secs = wait.as_secs_f64().ceil().clamp(1.0, MAX_RETRY_AFTER_S) as u64;
        h.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    let retryable = local
        || matches!(e.kind(), ErrorKind::CoolingDown { .. })
        || e.diagnosis().is_some_and(|d| d.retryable);
    h.insert(
        "x-should-retry",
        HeaderValue::from_static(if retryable { "true" } else { "false" }),
    );
    r
}

/// A failure in one sentence for the caller: the final diagnosis's root cause and how many
/// attempts were made, or the client's own account (cooling down, deadline, config).
pub(crate) fn message(e: &Error) -> String {
    match e.diagnosis() {
        Some(d) if !matches!(e.kind(), ErrorKind::CoolingDown { .. }) => {
            let n = e.attempts().len();
            let plural = if n == 1 { "" } else { "s" };
            format!("{} ({n} attempt{plural})", d.root_cause)
        }
        _ => e.to_string(),
    }
}

fn attempt_json(a: &Attempt) -> serde_json::Value {
    json!({
        "model": a.model(),
        "endpoint": a.endpoint(),
        "latency_ms": a.latency().as_secs_f64() * 1000.0,
        "category": a.diagnosis().map(|d| d.category.as_str()),
    })
}
