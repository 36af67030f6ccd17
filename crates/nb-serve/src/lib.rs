//! NeuralBridge as an OpenAI-compatible sidecar, for programs not written in
//! Rust: `POST /v1/chat/completions` (streamed and not), Anthropic's
//! `POST /v1/messages`, `POST /v1/embeddings` and `GET /v1/models` for
//! callers, backed by one `NeuralBridge` client; `GET /health` with the
//! health report and the targets' states. `neuralbridge serve` (nb-cli) is
//! the command that runs it.
//!
//! ```no_run
//! # async fn run() -> Result<(), nb_serve::ServeError> {
//! let config = nb_serve::ServeConfig::load("serve.toml".as_ref())?;
//! let sidecar = nb_serve::Sidecar::bind(config, None).await?;
//! println!("{}", sidecar.summary());
//! sidecar.serve(nb_serve::shutdown_signal()).await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod admission;
mod calls;
mod chunk;
mod config;
mod conn;
mod http;
mod messages;
mod metrics;
mod relay;
mod status;
mod validation;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::http::header::{ALLOW, AUTHORIZATION, CONTENT_LENGTH, HeaderValue, WWW_AUTHENTICATE};
use ::http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use nb_client::{ApiKey, NeuralBridge};
use tokio::net::TcpListener;

use self::admission::Admission;
use self::calls::{chat, embeddings};
pub use self::config::ServeConfig;
use self::conn::{IdleTimeout, Requests, Sending};
use self::http::{ResBody, error};
use self::metrics::Metrics;

/// Why the sidecar could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration cannot work: a file that does not load, an
    /// invalid value, a missing environment variable.
    #[error("{0}")]
    Config(String),
    /// The sidecar could not run: a port that cannot be bound, an I/O error.
    #[error("{0}")]
    Io(String),
}

/// How long streams still open when the drain is over get to send their
/// closing error event.
const END_STREAMS_GRACE: Duration = Duration::from_millis(500);

/// The longest `Retry-After` the sidecar sends, in seconds: an SDK's
/// default retries sit it out, and a target often reopens sooner (its first
/// opens last 2 s).
const MAX_RETRY_AFTER_S: f64 = 10.0;

/// The most streams a caller may open at once on one HTTP/2 connection.
const MAX_H2_STREAMS: u32 = 256;

/// How often an HTTP/2 connection is pinged, and how long the answer may
/// take before the connection counts as dead.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// How often learned state is saved, when a state directory is configured (and at shutdown).
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// What every request handler shares.
#[derive(Debug)]
struct State {
    config: ServeConfig,
    client: NeuralBridge,
    /// Callers' bearer token; `ApiKey` so `Debug` never shows it.
    token: Option<ApiKey>,
    /// Set when shutdown begins: new chat requests are turned away (503),
    /// while `/health` still answers and requests in flight finish.
    draining: AtomicBool,
    /// Set when the drain's time is up: streams still open end with an
    /// error event instead of being cut without one.
    end_streams: tokio::sync::watch::Sender<bool>,
    /// The cap on chat requests in flight, and its queue.
    admission: Arc<Admission>,
    /// What `/metrics` reports.
    metrics: Arc<Metrics>,
}

/// A sidecar bound to its address, not yet serving.
#[derive(Debug)]
pub struct Sidecar {
    listener: TcpListener,
    addr: SocketAddr,
    state: Arc<State>,
}

/// Builds the client `config` describes and reads the callers' token: the
/// checks `neuralbridge serve --check` runs.
fn prepare(config: ServeConfig) -> Result<State, ServeError> {
    let client = config
        .builder()
        .build()
        .map_err(|e| ServeError::Config(format!("config: {e}")))?;
    let token = match &config.auth_token_env {
        Some(var) => Some(
            std::env::var(var)
                .ok()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    ServeError::Config(format!("environment variable {var} is not set"))
                })?
                .trim()
                .into(),
        ),
        None => None,
    };
    let admission = Arc::new(Admission::new(
        config.max_in_flight,
        config.max_queued,
        config.queue_timeout,
    ));
    let metrics = Arc::new(Metrics::with_prices(config.prices.clone()));
    Ok(State {
        config,
        client,
        token,
        admission,
        metrics,
        draining: AtomicBool::new(false),
        end_streams: tokio::sync::watch::Sender::new(false),
    })
}

/// Checks `config` as [`Sidecar::bind`] would (the client builds, the
/// callers' token is set) without binding, and returns the summary of what
/// it would serve.
pub fn check(config: ServeConfig) -> Result<String, ServeError> {
    let state = prepare(config)?;
    Ok(summary(&state.config, None))
}

impl Sidecar {
    /// Builds the client, reads the callers' token and binds `listen` (or
    /// the config's `server.listen`; port 0 picks a free one).
    pub async fn bind(config: ServeConfig, listen: Option<SocketAddr>) -> Result<Self, ServeError> {
        let state = prepare(config)?;
        let addr = listen.unwrap_or(state.config.listen);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Io(format!("cannot listen on {addr}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| {
            ServeError::Io(format!("cannot read the address bound for {addr}: {e}"))
        })?;
        Ok(Self {
            listener,
            addr,
            state: Arc::new(state),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether callers must send the configured token.
    pub fn requires_token(&self) -> bool {
        self.state.token.is_some()
    }

    /// The startup text: the base URL first (scripts read the first line),
    /// then the routes.
    pub fn summary(&self) -> String {
        summary(&self.state.config, Some(self.local_addr()))
    }

    /// Serves until `shutdown` resolves, then drains: chat requests are
    /// turned away with a 503 while `/health` still answers, requests in
    /// flight (streams included) finish for up to `server.drain_s` (10 s),
    /// streams still open then end with an error event, idle keep-alive
    /// connections close, and what was learned is saved.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let Self {
            listener, state, ..
        } = self;
        let saving = state.config.state_dir.is_some();
        let connections = GracefulShutdown::new();
        tokio::pin!(shutdown);
        let mut save_tick =
            tokio::time::interval_at(tokio::time::Instant::now() + SAVE_EVERY, SAVE_EVERY);
        // A connection accepted while serving is watched, so that shutdown
        // waits for it; one accepted during the drain is not.
        // Each caller's connection holds one of `max_connections` slots;
        // past them, callers wait in the kernel's accept queue.
        let slots = Arc::new(tokio::sync::Semaphore::new(state.config.max_connections));
        let serve_connection = |stream: tokio::net::TcpStream,
                                slot: tokio::sync::OwnedSemaphorePermit,
                                watcher: Option<Watcher>| {
            let _ = stream.set_nodelay(true);
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let header_timeout = state.config.header_timeout;
                let requests = Arc::new(Requests::default());
                let io = IdleTimeout::new(stream, Arc::clone(&requests), state.config.idle_timeout);
                let service = service_fn(move |req| {
                    let active = requests.start();
                    let state = Arc::clone(&state);
                    async move {
                        let response = handle(state, req).await?;
                        Ok::<_, Infallible>(response.map(|body| Sending::new(body, active)))
                    }
                });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout);
                builder
                    .http2()
                    .timer(TokioTimer::new())
                    .max_concurrent_streams(MAX_H2_STREAMS)
                    .keep_alive_interval(H2_KEEP_ALIVE)
                    .keep_alive_timeout(H2_KEEP_ALIVE);
                let connection = builder.serve_connection(TokioIo::new(io), service);
                let _ = match watcher {
                    Some(watcher) => watcher.watch(connection).await,
                    None => connection.await,
                };
                drop(slot);
            });
        };
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = save_tick.tick(), if saving => save_state(&state.client).await,
                Ok(slot) = Arc::clone(&slots).acquire_owned() => {
                    let accepted = tokio::select! {
                        () = &mut shutdown => break,
                        accepted = listener.accept() => accepted,
                    };
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            // Out of file descriptors, say: do not spin on the error.
                            tracing::warn!(target: "neuralbridge::serve", "accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    serve_connection(stream, slot, Some(connections.watcher()));
                }
            }
        }
        // Chat requests are turned away; the listener stays open so that
        // `/health` answers during the drain.
        state.draining.store(true, Ordering::Relaxed);
        let open = connections.count();
        if open > 0 {
            eprintln!(
                "shutting down: waiting up to {} s for {open} open connection(s)",
                state.config.drain.as_secs_f64()
            );
        }
        let drain = state.config.drain;
        let drained = connections.shutdown();
        tokio::pin!(drained);
        // Requests in flight finish within `drain`; then the streams still
        // open end with an error event, and get a moment to send it.
        let deadline = tokio::time::sleep(drain);
        tokio::pin!(deadline);
        let mut ending = false;
        let finished = loop {
            tokio::select! {
                () = &mut drained => break true,
                () = &mut deadline => {
                    if ending {
                        break false;
                    }
                    state.end_streams.send_replace(true);
                    ending = true;
                    deadline.as_mut().reset(tokio::time::Instant::now() + END_STREAMS_GRACE);
                }
                Ok((stream, _)) = listener.accept() => {
                    // Past the cap during the drain: answered (health, or a
                    // 503) and closed, not queued.
                    let slot = Arc::clone(&slots).try_acquire_owned().ok();
                    match slot {
                        Some(slot) => serve_connection(stream, slot, None),
                        None => drop(stream),
                    }
                }
            }
        };
        drop(listener);
        if !finished {
            eprintln!(
                "shutting down: requests still in flight after {} s were cut",
                drain.as_secs_f64()
            );
        }
        if saving {
            save_state(&state.client).await;
        }
    }
}

/// Resolves on Ctrl-C, or SIGTERM on Unix (what service managers and containers send).
pub async fn shutdown_signal() {
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
        "callers must send Authorization: Bearer <token> (or x-api-key: <token>)"
    } else {
        "no caller token required"
    };
    let _ = writeln!(out, "  {auth}; GET /health for the health report");
    if let Some(dir) = &config.state_dir {
        let _ = writeln!(out, "  learned state kept in {}", dir.display());
    }
    // Not the URL: it may carry a password.
    if let Some((_, prefix)) = &config.shared_state {
        let _ = writeln!(
            out,
            "  breakers, rate limits and learning shared with the fleet through Redis (prefix {prefix})"
        );
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
    let route_name = match path.trim_end_matches('/') {
        "/v1/chat/completions" => "chat",
        "/v1/messages" => "messages",
        "/v1/embeddings" => "embeddings",
        "/v1/models" => "models",
        "/health" => "health",
        "/metrics" => "metrics",
        _ => "other",
    };
    state
        .metrics
        .request(route_name, response.status().as_u16());
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
    if req.uri().path().trim_end_matches('/') == "/v1/messages" {
        return as_messages_error(route_to(state, req).await).await;
    }
    route_to(state, req).await
}

async fn route_to(state: &State, req: Request<Incoming>) -> Response<ResBody> {
    let path = req.uri().path().trim_end_matches('/');
    match (req.method(), path) {
        (&Method::GET, "/health") => status::health(state),
        (&Method::GET, "/metrics") => status::metrics(state),
        (_, p)
            if (matches!(
                p,
                "/v1/chat/completions" | "/v1/messages" | "/v1/embeddings"
            ) || p.starts_with("/v1/models"))
                && !authorized(state, &req) =>
        {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "invalid_api_key",
                "Incorrect API key provided: send the sidecar's token as Authorization: Bearer <token> \
                 (or as x-api-key: <token>).",
                None,
            );
            r.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
        (&Method::POST, "/v1/chat/completions") => chat(state, req, Front::Chat).await,
        (&Method::POST, "/v1/messages") => chat(state, req, Front::Messages).await,
        (&Method::POST, "/v1/embeddings") => embeddings(state, req).await,
        (&Method::GET, "/v1/models") => status::models(state),
        (&Method::GET, p) if p.starts_with("/v1/models/") => {
            status::model(state, &p["/v1/models/".len()..])
        }
        (
            _,
            "/health"
            | "/metrics"
            | "/v1/chat/completions"
            | "/v1/messages"
            | "/v1/embeddings"
            | "/v1/models",
        ) => {
            let allow = if matches!(
                path,
                "/v1/chat/completions" | "/v1/messages" | "/v1/embeddings"
            ) {
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
                 POST /v1/messages, POST /v1/embeddings, GET /v1/models and GET /health.",
                req.method()
            ),
            None,
        ),
    }
}

/// Whether the caller sent the configured token (always, when none is configured), as a
/// bearer token or, as Anthropic's SDKs send a key, in `x-api-key`.
fn authorized(state: &State, req: &Request<Incoming>) -> bool {
    let Some(token) = &state.token else {
        return true;
    };
    let given = match req.headers().get(AUTHORIZATION) {
        Some(v) => bearer(v.as_bytes()),
        None => req
            .headers()
            .get("x-api-key")
            .map(|v| v.as_bytes().trim_ascii())
            .unwrap_or_default(),
    };
    constant_time_eq(given, token.expose().as_bytes())
}

/// An error response of the Messages front in Anthropic's shape (a success passes as is).
async fn as_messages_error(r: Response<ResBody>) -> Response<ResBody> {
    if r.status().is_success() {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    let Ok(collected) = body.collect().await;
    let body = messages::error_body(parts.status.as_u16(), &collected.to_bytes());
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, http::full(body))
}

/// The protocol a caller speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Front {
    /// OpenAI's chat completions.
    Chat,
    /// Anthropic's Messages API.
    Messages,
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

#[cfg(test)]
mod tests {
    use ::http::header::RETRY_AFTER;
    use nb_client::ChatRequest;

    use super::*;
    use crate::calls::failure;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer(b"Bearer tok"), b"tok");
        assert_eq!(bearer(b"bearer  tok "), b"tok");
        assert_eq!(bearer(b"BEARER tok"), b"tok");
        assert_eq!(bearer(b"Basic dG9r"), b"");
        assert_eq!(bearer(b"Bearer"), b"");
        assert_eq!(bearer("Bearér x".as_bytes()), b"");
    }

    /// The error of a call whose every attempt failed in the transport with
    /// `kind`.
    async fn failed_in_transport(kind: nb_transport::TransportErrorKind) -> nb_client::Error {
        use nb_transport::{MockReply, MockTransport, TransportError};
        let mock = MockTransport::from_fn(move |_| MockReply::error(TransportError::new(kind)));
        let client = NeuralBridge::builder()
            .base_url("http://127.0.0.1:9/v1")
            .api_key("sk-test-key-0001")
            .transport(Arc::new(mock))
            .build()
            .unwrap();
        client
            .chat()
            .create(ChatRequest::new("m").user_message("Hi"))
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn a_local_shortage_is_a_passing_503_not_the_providers_error() {
        let err = failed_in_transport(nb_transport::TransportErrorKind::LocalResource).await;
        let r = failure(&err);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[RETRY_AFTER], "1");
        assert_eq!(r.headers()["x-should-retry"], "true");
        assert!(r.headers().get("x-nb-category").is_none());
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "local_resource", "{body}");
        assert_eq!(body["error"]["neuralbridge"]["kind"], "local_resource");
    }

    #[tokio::test]
    async fn a_connection_the_hosts_policy_refuses_is_a_503_not_the_providers_error() {
        let err = failed_in_transport(nb_transport::TransportErrorKind::LocalPolicy).await;
        let r = failure(&err);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        // The same policy refuses a retry.
        assert_eq!(r.headers()["x-should-retry"], "false");
        assert!(r.headers().get(RETRY_AFTER).is_none());
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "local_policy", "{body}");
        // The attempt is no failure of the target's in the metrics.
        let metrics = crate::metrics::Metrics::default();
        metrics.call(err.attempts(), None, None);
        let text = metrics.render(
            &[],
            crate::metrics::Load {
                in_flight: 0,
                queued: 0,
                max_in_flight: 1,
                shared_store: None,
            },
        );
        assert!(text.contains("outcome=\"refused_locally\"} 1"), "{text}");
        assert!(!text.contains("nb_attempt_failures_total{"), "{text}");
    }

    #[tokio::test]
    async fn an_upstream_set_up_wrong_is_a_502_not_the_callers_400() {
        use nb_transport::{MockReply, MockTransport};
        let mock = MockTransport::from_fn(|_| {
            MockReply::status(StatusCode::NOT_FOUND, "404 page not found")
        });
        let client = NeuralBridge::builder()
            .base_url("http://127.0.0.1:9/v1")
            .api_key("sk-test-key-0001")
            .transport(Arc::new(mock))
            .build()
            .unwrap();
        let err = client
            .chat()
            .create(ChatRequest::new("m").user_message("Hi"))
            .await
            .unwrap_err();
        let r = failure(&err);
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "upstream_setup", "{body}");
        assert_eq!(body["error"]["neuralbridge"]["category"], "invalid_request");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
