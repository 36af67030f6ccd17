//! `neuralbridge serve`: the OpenAI-compatible sidecar.
//!
//! `POST /v1/chat/completions` (streamed and not) and `GET /v1/models` for callers, backed
//! by one `NeuralBridge` client; `GET /health` with the health report and breaker states.

mod chunk;
mod config;
mod http;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::http::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use ::http::{Method, Request, Response, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use nb_client::{
    ApiKey, Attempt, ChatRequest, ChatStream, Error, ErrorCategory, ErrorKind, NeuralBridge,
    StreamEvent,
    health::{Exclusion, HealthReport, ModelStatus, Verdict},
};
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;

use self::chunk::{Identity, chunk_json, complete_identity};
use self::config::Route;
pub(crate) use self::config::ServeConfig;
use self::http::{ChannelBody, ResBody, SSE_DONE, bad_request, error, json, sse_data};
use crate::args::print;
use crate::exit::{CliError, CliResult, Exit};

/// How long a shutdown waits for requests in flight (streams included) to finish.
const DRAIN: Duration = Duration::from_secs(10);

/// How often learned state is saved, when a state directory is configured (and at shutdown).
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// What every request handler shares.
#[derive(Debug)]
struct State {
    config: ServeConfig,
    client: NeuralBridge,
    /// Callers' bearer token; `ApiKey` so `Debug` never shows it.
    token: Option<ApiKey>,
}

/// Builds the client, binds, prints the base URL and serves until Ctrl-C.
pub(crate) async fn run(config: ServeConfig, listen: Option<SocketAddr>, check: bool) -> CliResult {
    let client = config
        .builder()
        .build()
        .map_err(|e| CliError::usage(format!("config: {e}")))?;
    let token = match &config.auth_token_env {
        Some(var) => Some(
            std::env::var(var)
                .ok()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| CliError::usage(format!("environment variable {var} is not set")))?
                .trim()
                .into(),
        ),
        None => None,
    };
    if check {
        print(&summary(&config, None))?;
        return Ok(Exit::Ok);
    }
    let addr = listen.unwrap_or(config.listen);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::runtime(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() {
        eprintln!(
            "warning: listening on {bound}, reachable from other machines{}",
            if token.is_none() {
                " with no auth_token_env: anyone who can reach it can spend your keys"
            } else {
                ""
            }
        );
    }
    print(&summary(&config, Some(bound)))?;
    let saving = config.state_dir.is_some();
    let state = Arc::new(State {
        config,
        client,
        token,
    });
    let connections = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut save_tick =
        tokio::time::interval_at(tokio::time::Instant::now() + SAVE_EVERY, SAVE_EVERY);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = save_tick.tick(), if saving => save_state(&state.client).await,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, say: do not spin on the error.
                        tracing::warn!(target: "neuralbridge::serve", "accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                let watcher = connections.watcher();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(Arc::clone(&state), req));
                    let mut builder = auto::Builder::new(TokioExecutor::new());
                    // A timer turns on hyper's limit on how long request headers may take
                    // to arrive (a connection that never finishes them is closed).
                    builder.http1().timer(TokioTimer::new());
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                });
            }
        }
    }
    // Stop accepting, let requests in flight (streams included) finish, close idle
    // keep-alive connections, then save what was learned.
    drop(listener);
    let open = connections.count();
    if open > 0 {
        eprintln!(
            "shutting down: waiting up to {} s for {open} open connection(s)",
            DRAIN.as_secs()
        );
    }
    if tokio::time::timeout(DRAIN, connections.shutdown())
        .await
        .is_err()
    {
        eprintln!(
            "shutting down: requests still in flight after {} s were cut",
            DRAIN.as_secs()
        );
    }
    if saving {
        save_state(&state.client).await;
    }
    print("Stopped.\n")?;
    Ok(Exit::Ok)
}

/// Resolves on Ctrl-C, or SIGTERM on Unix (what service managers and containers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler could be installed: never resolve rather than stop at once.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                () = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    ctrl_c.await;
}

/// Saves the learned state to the configured directory (file I/O off the async threads).
async fn save_state(client: &NeuralBridge) {
    let client = client.clone();
    match tokio::task::spawn_blocking(move || client.save_state()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(target: "neuralbridge::serve", "learned state not saved: {e}"),
        Err(e) => tracing::warn!(target: "neuralbridge::serve", "learned state not saved: {e}"),
    }
}

/// The startup text: the base URL first (scripts read the first line), then the routes.
fn summary(config: &ServeConfig, bound: Option<SocketAddr>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    match bound {
        Some(addr) => {
            let _ = writeln!(out, "neuralbridge serve listening on http://{addr}/v1");
        }
        None => {
            let _ = writeln!(out, "configuration OK (would listen on {})", config.listen);
        }
    }
    for (model, endpoint) in &config.models {
        match endpoint {
            Some(e) => {
                let _ = writeln!(out, "  model {model} → endpoint {e}");
            }
            None => {
                let _ = writeln!(out, "  alias {model}");
            }
        }
    }
    match &config.catch_all {
        Some(e) => {
            let _ = writeln!(out, "  any other model → endpoint {e}");
        }
        None => {
            let _ = writeln!(out, "  any other model → 404 model_not_found");
        }
    }
    let auth = if config.auth_token_env.is_some() {
        "callers must send Authorization: Bearer <token>"
    } else {
        "no caller token required"
    };
    let _ = writeln!(out, "  {auth}; GET /health for the health report");
    if let Some(dir) = &config.state_dir {
        let _ = writeln!(out, "  learned state kept in {}", dir.display());
    }
    out
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = route(&state, req).await;
    tracing::info!(
        target: "neuralbridge::serve",
        %method,
        path,
        status = response.status().as_u16(),
        served_by = response
            .headers()
            .get("x-neuralbridge-served-by")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-"),
        ms = started.elapsed().as_millis() as u64,
    );
    Ok(response)
}

async fn route(state: &State, req: Request<Incoming>) -> Response<ResBody> {
    let path = req.uri().path().trim_end_matches('/');
    match (req.method(), path) {
        (&Method::GET, "/health") => health(state),
        (_, "/v1/chat/completions" | "/v1/models") if !authorized(state, &req) => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "invalid_api_key",
                "Incorrect API key provided: send the sidecar's token as Authorization: Bearer <token>.",
                None,
            );
            r.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
        (&Method::POST, "/v1/chat/completions") => chat(state, req).await,
        (&Method::GET, "/v1/models") => models(state),
        (_, "/health" | "/v1/chat/completions" | "/v1/models") => {
            let allow = if path == "/v1/chat/completions" {
                "POST"
            } else {
                "GET"
            };
            let mut r = error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
                &format!("{} is not allowed on {path} (use {allow})", req.method()),
                None,
            );
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            r
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_url",
            &format!(
                "Unknown request URL: {} {path}. This sidecar serves POST /v1/chat/completions, \
                 GET /v1/models and GET /health.",
                req.method()
            ),
            None,
        ),
    }
}

/// Whether the caller sent the configured bearer token (always, when none is configured).
fn authorized(state: &State, req: &Request<Incoming>) -> bool {
    let Some(token) = &state.token else {
        return true;
    };
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| bearer(v.as_bytes()))
        .unwrap_or_default();
    constant_time_eq(given, token.expose().as_bytes())
}

/// The credentials of an `Authorization: Bearer <token>` value (the scheme's case does not
/// matter, RFC 9110 §11.1); empty for any other scheme.
fn bearer(value: &[u8]) -> &[u8] {
    match value.split_at_checked(7) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => rest.trim_ascii(),
        _ => &[],
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /v1/models`: every alias and listed model, in OpenAI's list shape.
fn models(state: &State) -> Response<ResBody> {
    let data: Vec<_> = state
        .config
        .models
        .iter()
        .map(|(id, endpoint)| {
            json!({
                "id": id,
                "object": "model",
                "created": 0,
                "owned_by": endpoint.as_deref().unwrap_or("neuralbridge"),
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "object": "list", "data": data }))
}

/// `GET /health`: the health report (`verdict`, each model's `status` and
/// `exclusion`), plus each target's breaker state, status and exclusion.
/// The status code follows the verdict: 200 when `healthy` or `degraded`
/// (calls are served), 503 when `unhealthy` (no model can serve).
fn health(state: &State) -> Response<ResBody> {
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
    #[derive(Serialize)]
    struct Health {
        #[serde(flatten)]
        report: HealthReport,
        targets: Vec<Target>,
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
    let report = state.client.health_status();
    json(health_code(report.verdict), &Health { report, targets })
}

/// The `/health` status code for a verdict: 503 only when unhealthy.
fn health_code(verdict: Verdict) -> StatusCode {
    if verdict.can_serve() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// `POST /v1/chat/completions`.
async fn chat(state: &State, req: Request<Incoming>) -> Response<ResBody> {
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
        return too_large();
    }
    let body = match Limited::new(req.into_body(), max).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(_) => {
            return bad_request("invalid_body", None, "The request body could not be read.");
        }
    };
    let mut request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(
                "invalid_json",
                None,
                &format!("The request body is not a valid chat completion request: {e}"),
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
    if request.messages.is_empty() {
        return bad_request(
            "missing_messages",
            Some("messages"),
            "The request has no `messages`.",
        );
    }
    match state.config.route(&request.model) {
        Route::AsIs => {}
        Route::CatchAll(pinned) => request.model = pinned,
        Route::Unknown => {
            return error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "model_not_found",
                &format!(
                    "The model `{}` does not exist on this sidecar (see GET /v1/models).",
                    request.model
                ),
                None,
            );
        }
    }
    if request.stream == Some(true) {
        stream(state, request).await
    } else {
        complete(state, request).await
    }
}

/// A non-streamed completion.
async fn complete(state: &State, mut request: ChatRequest) -> Response<ResBody> {
    request.stream = None;
    request.stream_options = None;
    match state.client.chat().create(request).await {
        Ok(response) => {
            let attempts = response.attempts().len();
            let served_by = response.served_by().to_owned();
            let endpoint = response.endpoint().to_owned();
            let mut completion = response.into_completion();
            completion.model.clone_from(&served_by);
            complete_identity(&mut completion);
            let mut r = json(StatusCode::OK, &completion);
            annotate(&mut r, attempts, Some((&served_by, &endpoint)));
            r
        }
        Err(e) => failure(&e),
    }
}

/// A streamed completion: fail over until content flows (an error before then is an
/// ordinary error response), then relay OpenAI's server-sent events.
async fn stream(state: &State, request: ChatRequest) -> Response<ResBody> {
    let include_usage = request
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    let stream = match state.client.chat().stream(request).await {
        Ok(s) => s,
        Err(e) => return failure(&e),
    };
    // The serving attempt joins `attempts()` only when it ends.
    let attempts = stream.attempts().len() + 1;
    let served_by = stream.served_by().unwrap_or_default().to_owned();
    let (tx, body) = ChannelBody::channel(32);
    tokio::spawn(relay(stream, tx, include_usage));
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    annotate(&mut r, attempts, Some((&served_by, "")));
    r
}

/// Relays a stream's events as SSE until it ends or the caller leaves (a failed send:
/// dropping the stream then cancels the upstream call).
async fn relay(mut stream: ChatStream, tx: tokio::sync::mpsc::Sender<Bytes>, include_usage: bool) {
    // The first chunk's id and creation time, for every chunk of the answer.
    let mut identity: Option<Identity> = None;
    while let Some(event) = stream.next().await {
        let frame = match event {
            Ok(StreamEvent::Chunk(mut chunk)) => {
                if chunk.choices.is_empty() && !include_usage {
                    // The usage chunk the client asks for on the wire; a caller that did
                    // not ask for it may index `choices[0]`.
                    continue;
                }
                if !include_usage {
                    chunk.usage = None;
                }
                let identity =
                    identity.get_or_insert_with(|| Identity::new(&chunk.id, chunk.created));
                let model = stream.served_by().unwrap_or(chunk.model.as_str());
                match chunk_json(&chunk, identity, model) {
                    Ok(data) => sse_data(&data),
                    Err(_) => continue,
                }
            }
            Ok(StreamEvent::Done(_)) => {
                let _ = tx.send(Bytes::from_static(SSE_DONE)).await;
                return;
            }
            Ok(StreamEvent::Restarted { model, .. }) => {
                // What the caller already received cannot be taken back.
                let message = format!(
                    "The stream was interrupted and could only restart from scratch on {model}; \
                     the partial answer is incomplete."
                );
                let _ = tx.send(stream_error("stream_interrupted", &message)).await;
                return;
            }
            Ok(_) => continue,
            Err(e) => {
                let code = e
                    .category()
                    .map_or("stream_interrupted", ErrorCategory::as_str);
                let message = format!(
                    "Part of the answer was sent before the stream broke. {}",
                    message(&e)
                );
                let _ = tx.send(stream_error(code, &message)).await;
                return;
            }
        };
        if tx.send(frame).await.is_err() {
            return;
        }
    }
}

/// An error event in a stream, as OpenAI sends one (the SDKs raise it as an API error).
fn stream_error(code: &str, message: &str) -> Bytes {
    let body = json!({
        "error": { "message": message, "type": "server_error", "param": null, "code": code }
    });
    sse_data(body.to_string().as_bytes())
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
fn failure(e: &Error) -> Response<ResBody> {
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
        (ErrorKind::Config { .. }, _) => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_model",
        ),
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
    let detail = json!({
        "kind": e.kind().as_str(),
        "category": category.map(ErrorCategory::as_str),
        "sub_category": e.diagnosis().map(|d| &*d.sub_category),
        "attempts": attempts,
    });
    let mut r = error(status, kind, code, &message(e), Some(detail));
    annotate(&mut r, e.attempts().len(), None);
    let h = r.headers_mut();
    if let Some(wait) = e.retry_after() {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        h.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    let retryable = matches!(e.kind(), ErrorKind::CoolingDown { .. })
        || e.diagnosis().is_some_and(|d| d.retryable);
    h.insert(
        "x-should-retry",
        HeaderValue::from_static(if retryable { "true" } else { "false" }),
    );
    r
}

/// A failure in one sentence for the caller: the final diagnosis's root cause and how many
/// attempts were made, or the client's own account (cooling down, deadline, config).
fn message(e: &Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer(b"Bearer tok"), b"tok");
        assert_eq!(bearer(b"bearer  tok "), b"tok");
        assert_eq!(bearer(b"BEARER tok"), b"tok");
        assert_eq!(bearer(b"Basic dG9r"), b"");
        assert_eq!(bearer(b"Bearer"), b"");
        assert_eq!(bearer("Bearér x".as_bytes()), b"");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }

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
