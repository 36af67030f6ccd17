//! A fault-injecting OpenAI-compatible server, for testing how LLM clients behave when providers
//! misbehave.
//!
//! Start a [`MockServer`] with a [`Scenario`], point your client at its
//! [`base_url`](MockServer::base_url), and assert on its [`RequestLog`] what the server saw:
//! attempts per model, the gaps between them, which fault each request met.
//!
//! ```
//! use std::time::Duration;
//!
//! use nb_mock::{Fault, MockServer, ModelBehavior, ScenarioRule, Scenario};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! // A minimal HTTP/1.1 client: send one request, return the response's status code.
//! async fn post(addr: std::net::SocketAddr, body: &str) -> std::io::Result<u16> {
//!     let mut stream = tokio::net::TcpStream::connect(addr).await?;
//!     let head = format!(
//!         "POST /v1/chat/completions HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer sk-test-1234\r\n\
//!          Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
//!         body.len()
//!     );
//!     stream.write_all(head.as_bytes()).await?;
//!     stream.write_all(body.as_bytes()).await?;
//!     let mut response = String::new();
//!     stream.read_to_string(&mut response).await?;
//!     Ok(response[9..12].parse().unwrap_or(0))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // gpt-4o is rate limited on its first attempt, then answers.
//! let scenario = Scenario::builder()
//!     .model(ModelBehavior::new("gpt-4o").rule(ScenarioRule::new(Fault::rate_limit_after(1)).attempts(1..=1)))
//!     .build()?;
//! let server = MockServer::start(scenario).await?;
//!
//! let body = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}"#;
//! assert_eq!(post(server.addr(), body).await?, 429);
//! assert_eq!(post(server.addr(), body).await?, 200);
//!
//! let log = server.log();
//! assert_eq!(log.attempts("gpt-4o"), 2);
//! let requests = log.requests_for("gpt-4o");
//! assert_eq!(requests[0].fault, Some(Fault::rate_limit_after(1)));
//! assert_eq!(requests[1].fault, None);
//! assert_eq!(requests[1].credential.last4(), Some("1234"));
//! assert_eq!(log.gaps("gpt-4o").len(), 1);
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Scenarios also load from TOML or JSON files ([`Scenario::from_path`]); the crate's README
//! documents the schema, and `crates/nb-mock/scenarios/` holds ready-made ones.
//!
//! # What the server does
//!
//! - `POST /v1/chat/completions` (also `/chat/completions` and Azure's
//!   `/openai/deployments/{deployment}/chat/completions`), streaming or not. The answer is an
//!   echo of the last user message (or a model's fixed reply), cut into the model's number of
//!   chunks when streamed; the `model` field names the model that served; usage is reported,
//!   and in streams when `stream_options.include_usage` asks for it.
//! - `POST /v1/embeddings` (and Azure's and Gemini's embeddings routes) answers
//!   deterministic unit vectors ([`embeddings::vector`]), one per input, under the same
//!   fault rules.
//! - `GET /v1/models` lists the scenario's models.
//! - A model the scenario does not name gets a 404 `model_not_found`, or is served, per
//!   [`UnknownModel`].
//! - Each model has a latency with deterministic jitter and an ordered list of [`ScenarioRule`]s; the
//!   first rule whose conditions (attempt numbers, a time window since start, a seeded
//!   probability, streaming or not) hold applies its [`Fault`]. Responses that carry a fault
//!   have an `x-nb-mock-fault` header naming it (when there is a response at all).
//!
//! Time is tokio's: under `tokio::time::pause()` latencies, delays and time windows run in
//! virtual time, so tests are fast and exact.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod anthropic;
mod billing;
mod body;
pub mod embeddings;
mod fault;
mod gemini;
mod handler;
mod load;
mod log;
mod openai;
mod plan;
mod rule;
mod scenario;
mod server;

pub use billing::{Billing, Tokens};
pub use fault::Fault;
pub use load::ClosedLoop;

/// The scenarios shipped in `crates/nb-mock/scenarios/`, as TOML text (load
/// one with [`Scenario::from_toml_str`]): the demo's, and the chaos runs'.
pub mod scenarios {
    /// Four providers through an outage, a hang, 429 bursts, cut streams and
    /// a recovery: what `neuralbridge demo` runs.
    pub const DEMO: &str = include_str!("../scenarios/demo.toml");
}
pub use log::{Credential, RequestLog, RequestRecord};
pub use rule::ScenarioRule;
pub use scenario::{ModelBehavior, Phase, Scenario, ScenarioBuilder, ScenarioError, UnknownModel};
pub use server::{MockError, MockServer, MockServerBuilder};

/// Compiles the README's Rust example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
