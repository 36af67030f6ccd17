//! NeuralBridge: a self-healing client for OpenAI-compatible LLM APIs.
//!
//! Every call runs a cascade: diagnose what failed (L1, `nb-diagnose`),
//! decide where to go next (L2, `nb-route`), decide whether a target may be
//! called at all and when (L3, `nb-breaker`), and learn from every outcome
//! (L4, `nb-learn`), over one [`Transport`] (`nb-transport`).
//!
//! ```
//! use std::sync::Arc;
//!
//! use http::StatusCode;
//! use nb_client::{ChatRequest, NeuralBridge};
//! use nb_transport::{MockReply, MockTransport};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A scripted provider: qwen-max is out of quota, qwen-plus answers.
//! let mock = MockTransport::from_fn(|request| {
//!     let model = request.chat_request().map(|r| r.model).unwrap_or_default();
//!     if model == "qwen-max" {
//!         MockReply::status(
//!             StatusCode::TOO_MANY_REQUESTS,
//!             r#"{"error":{"code":"insufficient_quota","message":"You exceeded your current quota"}}"#,
//!         )
//!     } else {
//!         MockReply::chat(&model, "Hello!")
//!     }
//! });
//!
//! let client = NeuralBridge::builder()
//!     .api_key("sk-example")
//!     .base_url("https://dashscope.aliyuncs.com/compatible-mode/v1")
//!     .fallback_models(["qwen-max", "qwen-plus", "qwen-turbo"])
//!     .max_retries(3)
//!     .transport(Arc::new(mock.clone()))
//!     .build()?;
//!
//! let response = client.chat().create(ChatRequest::new("qwen-max").user_message("Hello")).await?;
//! assert_eq!(response.served_by(), "qwen-plus");
//! assert_eq!(response.text(), Some("Hello!"));
//! // Quota is never retried: one attempt on qwen-max, then the fallback.
//! assert_eq!(response.attempts().len(), 2);
//! let first = response.attempts()[0].diagnosis().unwrap();
//! assert_eq!(first.category, nb_client::ErrorCategory::QuotaExhausted);
//! assert_eq!(mock.calls(), 2);
//!
//! // An exhausted quota holds for every call: qwen-max's breaker opened at
//! // once, so it is excluded (until a probe finds the quota back), and the
//! // client serves at less than full strength.
//! let health = client.health_status();
//! assert_eq!(health.excluded_models, ["qwen-max"]);
//! assert_eq!(health.active_models, ["qwen-plus", "qwen-turbo"]);
//! assert_eq!(health.verdict, nb_client::health::Verdict::Degraded);
//! # Ok(()) }
//! ```
//!
//! # Where things are
//!
//! The root holds the common path: [`NeuralBridge`] and its builder,
//! [`ChatRequest`] (with [`Message`], [`Tool`], [`ToolChoice`] and
//! [`ResponseFormat`] for tools and structured output), [`ChatResponse`] and
//! its [`Attempt`]s, [`ChatStream`], [`NeuralBridge::heal`] with
//! [`FailureReport`], and [`Error`] with its [`Diagnosis`]. The rest is
//! grouped by role: [`policy`] (what the cascade does, and the settings it
//! does it with), [`health`] (reports, target states, the state store and
//! its [`StoreError`](health::StoreError)), [`transport`], [`diagnosis`] and
//! [`wire`] (every OpenAI wire type). [`layers`] is the unstable escape
//! hatch to the composed crates.
//!
//! # The cascade
//!
//! Each attempt picks a target from the request's chain — its model, then
//! [`fallback_models`](NeuralBridgeBuilder::fallback_models), or an explicit
//! [`chain`](NeuralBridgeBuilder::chain) — skipping targets the call gave
//! up, open breakers, exhausted rate limits and targets the predictor
//! expects to fail (never all of them on a forecast alone). It takes a
//! breaker permit and a rate-limit slot, sends with its rung of the
//! [timeout ladder](NeuralBridgeBuilder::timeout_ladder) (capped by the
//! call's [deadline](NeuralBridgeBuilder::deadline)), diagnoses a failure
//! (a 2xx with broken JSON, an HTML page, no choices, an answer off the
//! request's JSON schema (feature `schema`: sub-category
//! [`SCHEMA_VIOLATION`]) or a
//! [validator](NeuralBridgeBuilder::validate)'s rejection is a
//! `malformed_response`; a call held to some models by
//! [`Chat::fallback`] skips every other), records the outcome in the breaker, the balancer,
//! the limiter (rate-limit headers of every response) and the learner, and
//! acts:
//!
//! | category | default action |
//! |---|---|
//! | `rate_limit`, `server_error`, `overloaded`, `network`, `malformed_response`, `stream_interrupted`, `unknown` | retry elsewhere first: go at once to another target that is available now (not given up, allowed, its breaker and rate limit open); only when none is (or the server's wait is at most [`wait_threshold`](NeuralBridgeBuilder::wait_threshold)), retry the same target after the server's wait or a jittered backoff, within the backoff's max wait (10 s), the deadline, `max_retries` and the retry budget, then fall back; a target set aside this way gets its retry if every alternative fails ([`CategoryPolicy::fallback_else_retry`]) |
//! | the same `server_error` or `malformed_response` on a second target of the call | a query of death: the request likely causes it; the repeat counts against no target and not in the health report, and the call goes on down its chain |
//! | `quota_exhausted`, `permission`, `model_not_found` | fall back at once; the target's breaker opens at once, and its probes find out when it is back |
//! | `auth` | rotate to the endpoint's next untried key (not a retry); when none is left, fall back (an endpoint with a single key: its breaker opens at once) |
//! | `context_length` | fall back only to a target with a larger configured context window; without one, fail |
//! | `content_filter` | fail with the reason |
//! | `invalid_request` | fail at once; one about the target's setup (`Diagnosis::about_target`: a wrong path, an operation the deployment does not offer) as `model_not_found` |
//! | `timeout` | our own timer (a hung provider): fall back, never the same target again in this call; a 408/504/524 from the server: elsewhere first, then at most one retry |
//!
//! This table is the one decision authority: the [`Diagnosis`] only
//! describes a failure (category, whether the same model can succeed later,
//! the server's wait as given, root cause, fixes), and
//! [`NeuralBridge::next_step`] (or [`NextStep::with_defaults`], which the
//! CLI prints) says what the table does with it. A diagnosis that says "not
//! retryable" (`x-should-retry: false`, or `unknown`) always wins over
//! "retry". There is one cap on a server's wait: the backoff's `max_wait`
//! (10 s in [`default_backoff`]); a longer wait is not sat out on the same
//! target, the call falls back. Invalid requests, context-length and
//! content-filter failures never count against a target's breaker.
//! Backing off on a failing target while a healthy one could answer only
//! adds latency (and, for an overloaded or rate-limited provider, load it
//! asked to be spared), so the wait is kept for the last candidate. A rate
//! limit's wait is shared: the target's breaker pauses until it ends, so
//! concurrent callers skip it instead of each waiting. Override any row with
//! [`policy`](NeuralBridgeBuilder::policy) and a [`CategoryPolicy`]
//! (`CategoryPolicy::retry_then_fallback()` retries the same target first).
//!
//! When every remaining candidate is cooling down, the call fails fast with
//! [`ErrorKind::CoolingDown`] and the time until the first one reopens.
//! When everything failed and [`degrade`](NeuralBridgeBuilder::degrade) is
//! on, [`Chat::create`] returns a static or last-good answer, marked by
//! [`ChatResponse::degradation`]; [`Chat::stream`] replays it as one chunk
//! and a summary marked by [`StreamSummary::degradation`].
//!
//! # Streams
//!
//! [`Chat::stream`] fails over transparently until content reaches the
//! caller (an error, a slow first token, a cut or a stall). After that the
//! [`StreamPolicy`] decides: `Error` ends with
//! [`ErrorKind::StreamInterrupted`] and the partial text, `Continue`
//! re-issues on the next target with the partial answer as an assistant
//! prefill (restarting from scratch, with [`StreamEvent::Restarted`], where
//! prefill is not supported). Malformed chunks are skipped and counted; a
//! stream that sent its finish reason completes without waiting for
//! `[DONE]` beyond a short grace.
//!
//! # Any operation
//!
//! [`NeuralBridge::heal`] runs any async operation that takes a model name
//! under the same cascade.
//!
//! # Tracing
//!
//! Every call runs in a `neuralbridge.call` span (`model`, `stream`, and
//! when it ends `served_by`, `endpoint`, `attempts`, `category`,
//! `degraded`, `latency_ms`); every attempt in a `neuralbridge.attempt`
//! span inside it (`attempt`, `model`, `endpoint`, `category`,
//! `latency_ms`), with a `warn` event per failed attempt. With
//! [`verbose`](NeuralBridgeBuilder::verbose) each attempt also prints one
//! line to stderr. No field or line ever holds a key.
//!
//! # Time
//!
//! The client reads tokio's clock, so under `tokio::time::pause()` every
//! wait (Retry-After, backoff, breaker recovery) passes in virtual time.
//!
//! # Features
//!
//! - `hyper` (default): the default transport, `HyperTransport` (hyper +
//!   rustls). Without it, pass a transport to
//!   [`transport`](NeuralBridgeBuilder::transport).
//!
//! [`Transport`]: transport::Transport
//! [`CategoryPolicy`]: policy::CategoryPolicy
//! [`CategoryPolicy::fallback_else_retry`]: policy::CategoryPolicy::fallback_else_retry
//! [`NextStep::with_defaults`]: policy::NextStep::with_defaults
//! [`default_backoff`]: policy::default_backoff
//! [`StreamPolicy`]: policy::StreamPolicy
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attempt;
mod blame;
mod builder;
mod cache;
mod cascade;
mod chat;
mod client;
mod degrade;
mod embeddings;
mod equivalence;
mod error;
mod exchange;
mod failure;
mod fleet;
mod guard;
mod heal;
pub mod health;
mod observe;
pub mod policy;
mod request;
mod response;
mod shared;
mod stream;
mod target;
#[cfg(test)]
mod tests;
mod time;

// The common path: build a client, chat (plain, streamed, with tools or a
// response format), read the answer and its attempts, heal any operation.
pub use attempt::Attempt;
pub use builder::{BuildError, EndpointConfig, NeuralBridgeBuilder};
pub use chat::Chat;
pub use client::NeuralBridge;
pub use embeddings::{Embeddings, EmbeddingsResponse};
pub use error::{Error, ErrorKind};
pub use guard::SCHEMA_VIOLATION;
#[cfg(feature = "schema")]
pub use guard::SchemaGuard;
pub use heal::{FailureReport, HealError, Healed};
pub use request::ChatRequest;
pub use response::{ChatResponse, DegradationSource, Degraded};
pub use stream::{ChatStream, StreamEvent, StreamSummary};

pub use nb_diagnose::{Diagnosis, ErrorCategory};
pub use nb_transport::{
    ApiKey, ChatCompletion, ChatCompletionChunk, EmbeddingRequest, EmbeddingResponse, Message,
    ResponseFormat, Tool, ToolChoice, Usage,
};

/// The OpenAI chat-completions wire types: requests, responses, chunks,
/// messages, tools and response formats, with every field.
///
/// The ones most calls need ([`Message`], [`Tool`], [`ResponseFormat`],
/// [`ChatCompletion`], ...) are also at the crate root.
pub mod wire {
    pub use nb_transport::wire::*;
}

/// How requests travel: the [`Transport`](transport::Transport) trait the
/// client sends through, its options and errors, and the default
/// `HyperTransport` (feature `hyper`).
///
/// A transport that enforces the deadlines in
/// [`RequestOptions`](transport::RequestOptions) itself can be passed to
/// [`NeuralBridgeBuilder::transport`].
pub mod transport {
    pub use nb_transport::{
        BodySender, BoxFuture, ChunkEvent, ChunkStream, ChunkStreamDecoder, Endpoint,
        EndpointError, EndpointKind, RequestOptions, ResponseBody, SseDecoder, SseError, SseEvent,
        StreamError, TimeoutPhase, Timeouts, Transport, TransportError, TransportErrorKind,
    };
    #[cfg(feature = "hyper")]
    #[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
    pub use nb_transport::{HyperTransport, HyperTransportBuilder};
}

/// What a failure is: the diagnosis engine the client uses (see
/// [`NeuralBridge::diagnosis_engine`]), its rules, and the provider knowledge
/// it draws on. A [`Diagnosis`] and its [`ErrorCategory`] are at the root.
pub mod diagnosis {
    pub use nb_diagnose::{
        DiagnosisEngine, DiagnosisEngineBuilder, Failure, FixSuggestion, Provider, ProviderError,
        ProviderProfile, Rule, RuleError, Severity,
    };
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;

/// **Unstable escape hatch**: the crates the client composes, whole.
///
/// Everything a caller needs is at the root or in the role modules
/// ([`policy`], [`health`], [`transport`], [`diagnosis`], [`wire`]). These
/// re-exports reach the rest (the learner's engine, the balancer, the
/// breaker's internals) for tools built next to the client. They follow
/// those crates' versions, not this crate's, and may change or go away in
/// any release.
pub mod layers {
    pub use nb_breaker as breaker;
    pub use nb_diagnose as diagnose;
    pub use nb_learn as learn;
    pub use nb_route as route;
    pub use nb_transport as transport;
}
