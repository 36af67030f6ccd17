//! How bytes move between NeuralBridge and an LLM API.
//!
//! - [`Transport`]: an object-safe trait that sends one `http::Request` and
//!   returns the `http::Response` head with a [`ResponseBody`] readable whole
//!   (under a size cap) or chunk by chunk. Errors are typed
//!   ([`TransportError`], [`TransportErrorKind`], [`TimeoutPhase`]).
//! - [`HyperTransport`] (feature `hyper`, default): hyper-util's pooled
//!   client with rustls, HTTP/1.1 and HTTP/2 (ALPN), per-request [`Timeouts`].
//! - OpenAI-compatible wire types ([`ChatCompletionRequest`],
//!   [`ChatCompletion`], [`ChatCompletionChunk`], ...) that keep unknown fields.
//! - An incremental SSE decoder ([`SseDecoder`]) and the chat-stream layer
//!   that knows when a stream is complete ([`ChunkStreamDecoder`],
//!   [`ChunkStream`]).
//! - Endpoint shapes ([`Endpoint`]: OpenAI-compatible and Azure) and a
//!   redacting [`ApiKey`].
//! - `MockTransport` (feature `mock`): a scripted transport for tests.
//!
//! Without default features the crate needs neither hyper nor tokio; any
//! HTTP stack can implement [`Transport`].
//!
//! # Example
//!
//! Build a request for an endpoint, then decode a streamed answer, without
//! any network:
//!
//! ```
//! use nb_transport::{ApiKey, ChatCompletionRequest, ChunkStreamDecoder, Endpoint, ChunkEvent};
//!
//! let endpoint = Endpoint::openai_compatible("https://api.openai.com/v1")?;
//! let key = ApiKey::new("sk-example");
//! let body = ChatCompletionRequest::new("gpt-4o-mini").user_message("Say hi").stream(true);
//! let request = endpoint.chat_request(Some(&key), &body)?;
//! assert_eq!(request.uri(), "https://api.openai.com/v1/chat/completions");
//! assert!(!format!("{request:?} {key:?}").contains("sk-example"));
//!
//! // Bytes as they might arrive from the server, split mid-frame.
//! let mut decoder = ChunkStreamDecoder::new();
//! let mut text = String::new();
//! for piece in [
//!     &b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choi"[..],
//!     b"ces\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
//! ] {
//!     decoder.feed(piece);
//!     while let Some(event) = decoder.next_event() {
//!         if let ChunkEvent::Chunk(chunk) = event? {
//!             text.push_str(chunk.content().unwrap_or_default());
//!         }
//!     }
//! }
//! decoder.finish();
//! assert!(decoder.next_event().is_none(), "complete: no interruption reported");
//! assert_eq!(text, "Hi");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sending it over the network (feature `hyper`):
//!
//! ```no_run
//! # #[cfg(feature = "hyper")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use nb_transport::{
//!     ApiKey, ChatCompletion, ChatCompletionRequest, Endpoint, HyperTransport, RequestOptions, Timeouts,
//!     Transport,
//! };
//!
//! let transport = HyperTransport::new()?;
//! let endpoint = Endpoint::openai_compatible("https://api.openai.com/v1")?;
//! let key = ApiKey::new(std::env::var("OPENAI_API_KEY")?);
//! let request = endpoint.chat_request(Some(&key), &ChatCompletionRequest::new("gpt-4o-mini").user_message("Hi"))?;
//! let options = RequestOptions::with_timeouts(Timeouts { total: Some(Duration::from_secs(30)), ..Timeouts::default() });
//! let response = transport.send(request, options).await?;
//! let status = response.status();
//! let body = response.into_body().collect_capped(1 << 20).await?;
//! if status.is_success() {
//!     let completion: ChatCompletion = serde_json::from_slice(&body)?;
//!     println!("{}", completion.text().unwrap_or_default());
//! }
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! - `hyper` (default): [`HyperTransport`], with webpki roots.
//! - `native-roots`: trust the operating system's certificate store instead.
//! - `mock`: `MockTransport`, `MockReply`, `RecordedRequest`.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod endpoint;
mod error;
#[cfg(feature = "hyper")]
mod hyper_transport;
#[cfg(feature = "mock")]
mod mock;
mod sse;
mod transport;
pub mod wire;

pub use body::{BodySender, BoxFuture, ResponseBody};
pub use endpoint::{ApiKey, Endpoint, EndpointError, EndpointKind};
pub use error::{TimeoutPhase, TransportError, TransportErrorKind};
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use hyper_transport::{HyperTransport, HyperTransportBuilder};
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use mock::{MockReply, MockTransport, RecordedRequest};
pub use sse::{
    ChunkEvent, ChunkStream, ChunkStreamDecoder, SseDecoder, SseError, SseEvent, StreamError,
};
pub use transport::{RequestOptions, Timeouts, Transport};
pub use wire::embeddings::{
    Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage, EmbeddingVector,
};
pub use wire::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Choice, ChunkChoice, Content,
    ContentPart, Delta, FinishReason, Message, ResponseFormat, Role, Stop, StreamOptions, Tool,
    ToolCall, ToolChoice, Usage,
};

/// Runs a future to completion on a fresh current-thread runtime (tests only).
#[cfg(test)]
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
