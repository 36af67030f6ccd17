//! The vocabulary NeuralBridge's crates share.
//!
//! One idea, one name: a transport failure is described once
//! ([`TransportErrorKind`], with its [`TimeoutPhase`]) whether the transport
//! reports it or the diagnosis reads it, and a provider's rate-limit headers
//! are parsed once into [`ObservedLimits`] whether the diagnosis or the
//! limiter uses them. This crate has no dependencies and does no I/O.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The phase of a request whose deadline elapsed.
///
/// The phases follow one request in time: establishing the connection, waiting
/// for the response head, waiting for the first body byte, silence between two
/// body chunks, and the deadline over the whole exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Establishing the TCP connection (and, for `https`, the TLS handshake).
    Connect,
    /// Waiting for the response status line and headers.
    ResponseHead,
    /// Waiting for the first byte of the body once the head has arrived.
    FirstByte,
    /// Silence between two body chunks: the stream stalled.
    Idle,
    /// The deadline over the whole exchange, from send to the end of the body.
    Total,
}

impl TimeoutPhase {
    /// A stable snake_case name: `connect`, `response_head`, `first_byte`, `idle`, `total`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::ResponseHead => "response_head",
            Self::FirstByte => "first_byte",
            Self::Idle => "idle",
            Self::Total => "total",
        }
    }
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of failure a transport error is (`nb_transport::TransportError`
/// carries one; `nb_diagnose::Failure::transport` reads one).
///
/// The kinds line up with the `network`, `timeout` and `stream_interrupted`
/// categories of the failure taxonomy, so a classifier can map them without
/// looking at any message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The peer refused the TCP connection (nothing listens on the port).
    ConnectRefused,
    /// The TCP connection could not be established for another reason
    /// (network or host unreachable, no route).
    Connect,
    /// The host name could not be resolved.
    Dns,
    /// The TLS handshake failed (untrusted or invalid certificate, no common
    /// protocol version or cipher, a TLS alert), or the TLS setup was invalid.
    Tls,
    /// The connection was reset or closed before a response head arrived.
    Reset,
    /// A deadline elapsed; the phase says which one.
    Timeout(TimeoutPhase),
    /// The body is larger than the cap the caller allowed.
    BodyTooLarge,
    /// The body ended abruptly after the response head: the connection dropped
    /// or the stream was cut before its end.
    StreamInterrupted,
    /// The peer broke the HTTP protocol (an unparsable response head, an
    /// HTTP/2 protocol error).
    Protocol,
    /// The request could not be sent as given (an invalid URI or header, a
    /// scheme the transport does not speak). Retrying it cannot help.
    InvalidRequest,
    /// Our own process or host ran out of something the request needs: file
    /// descriptors (`EMFILE`, `ENFILE`), memory or socket buffers, local
    /// ports. Nothing was sent, so nothing is known about the provider.
    LocalResource,
    /// This host's own policy (a firewall, a network policy, a sandbox)
    /// refused the connection (`EPERM` or `EACCES` on connect). Nothing was
    /// sent, so nothing is known about the provider; a policy may allow
    /// another destination.
    LocalPolicy,
    /// Anything else; the source says more.
    Other,
}

impl TransportErrorKind {
    /// A stable snake_case name for logs and metrics, e.g. `connect_refused`
    /// or `timeout_first_byte`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ConnectRefused => "connect_refused",
            Self::Connect => "connect",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::Reset => "reset",
            Self::Timeout(TimeoutPhase::Connect) => "timeout_connect",
            Self::Timeout(TimeoutPhase::ResponseHead) => "timeout_response_head",
            Self::Timeout(TimeoutPhase::FirstByte) => "timeout_first_byte",
            Self::Timeout(TimeoutPhase::Idle) => "timeout_idle",
            Self::Timeout(TimeoutPhase::Total) => "timeout_total",
            Self::BodyTooLarge => "body_too_large",
            Self::StreamInterrupted => "stream_interrupted",
            Self::Protocol => "protocol",
            Self::InvalidRequest => "invalid_request",
            Self::LocalResource => "local_resource",
            Self::LocalPolicy => "local_policy",
            Self::Other => "other",
        }
    }

    /// A short human description, e.g. `connection refused`.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::ConnectRefused => "connection refused",
            Self::Connect => "could not connect",
            Self::Dns => "DNS resolution failed",
            Self::Tls => "TLS failure",
            Self::Reset => "connection reset before the response head",
            Self::Timeout(TimeoutPhase::Connect) => "timed out connecting",
            Self::Timeout(TimeoutPhase::ResponseHead) => "timed out waiting for the response head",
            Self::Timeout(TimeoutPhase::FirstByte) => "timed out waiting for the first body byte",
            Self::Timeout(TimeoutPhase::Idle) => "timed out: the body stalled between chunks",
            Self::Timeout(TimeoutPhase::Total) => "timed out: the total deadline elapsed",
            Self::BodyTooLarge => "response body exceeds the size cap",
            Self::StreamInterrupted => "the response body was cut off",
            Self::Protocol => "HTTP protocol error",
            Self::InvalidRequest => "invalid request",
            Self::LocalResource => "a local resource ran out (file descriptors, memory, ports)",
            Self::LocalPolicy => {
                "this host's own policy refused the connection (a firewall or sandbox)"
            }
            Self::Other => "transport error",
        }
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a provider said about its own rate limits in a response, already
/// parsed.
///
/// Read from the OpenAI-style `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
/// (OpenAI, Azure, Groq, DeepSeek, Together, ...), Anthropic's
/// `anthropic-ratelimit-*` and the generic `x-ratelimit-{limit,remaining,reset}`
/// (`nb_diagnose::rate_limit_headers` does the reading), plus `retry-after-ms`
/// / `retry-after`. A limiter paces by the remaining counts: a remaining count
/// applies until its reset; one without a reset says nothing about when it
/// refills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ObservedLimits {
    /// Requests allowed in the window.
    pub limit_requests: Option<u64>,
    /// Requests the provider will still accept before `reset_requests`.
    pub remaining_requests: Option<u64>,
    /// Time until the request window resets.
    pub reset_requests: Option<Duration>,
    /// Tokens allowed in the window.
    pub limit_tokens: Option<u64>,
    /// Tokens the provider will still accept before `reset_tokens`.
    pub remaining_tokens: Option<u64>,
    /// Time until the token window resets.
    pub reset_tokens: Option<Duration>,
    /// The server's `retry-after-ms` or `retry-after`, if sent.
    pub retry_after: Option<Duration>,
}

impl ObservedLimits {
    /// Whether nothing was observed (no rate-limit header was found).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// How long until every exhausted window (remaining = 0) resets, if any
    /// window is reported exhausted.
    #[must_use]
    pub fn exhausted_reset(&self) -> Option<Duration> {
        let req = (self.remaining_requests == Some(0))
            .then_some(self.reset_requests)
            .flatten();
        let tok = (self.remaining_tokens == Some(0))
            .then_some(self.reset_tokens)
            .flatten();
        req.max(tok)
    }
}

/// A shared store's answer, some time later.
pub type SharedFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, SharedError>> + Send + 'a>>;

/// Why a store shared by a fleet of replicas (Redis, say) did not answer:
/// it is down, slow or refused. The replica carries on with its own state.
#[derive(Debug)]
pub struct SharedError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shared store: {}", self.message)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl SharedError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with `message`, caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_exhaustion() {
        assert_eq!(
            TransportErrorKind::Timeout(TimeoutPhase::FirstByte).as_str(),
            "timeout_first_byte"
        );
        assert_eq!(TimeoutPhase::ResponseHead.to_string(), "response_head");
        let l = ObservedLimits {
            remaining_requests: Some(0),
            reset_requests: Some(Duration::from_secs(3)),
            remaining_tokens: Some(0),
            reset_tokens: Some(Duration::from_secs(5)),
            ..ObservedLimits::default()
        };
        assert_eq!(l.exhausted_reset(), Some(Duration::from_secs(5)));
        assert!(!l.is_empty());
        assert!(ObservedLimits::default().is_empty());
    }
}
