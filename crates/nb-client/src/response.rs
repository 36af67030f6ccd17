//! What a call returns: the answer, who served it, its attempts, and
//! whether it is degraded.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use nb_transport::{ChatCompletion, EndpointKind, Usage};

use crate::attempt::Attempt;
use crate::error::Error;

/// Where a degraded answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DegradationSource {
    /// The configured static answer.
    Static,
    /// The last good answer to the same request.
    LastGood {
        /// How old it is.
        age: Duration,
    },
}

/// Marks a [`ChatResponse`] (or a [`StreamSummary`](crate::StreamSummary))
/// that is not a fresh answer: every candidate failed and the client fell
/// back on [`Degradation`](crate::policy::Degradation).
#[derive(Debug, Clone)]
pub struct Degraded {
    pub(crate) source: DegradationSource,
    pub(crate) error: Error,
}

impl Degraded {
    /// Where the answer came from.
    pub fn source(&self) -> DegradationSource {
        self.source
    }

    /// The error the call would have returned.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

/// A chat completion and how the cascade got it.
#[derive(Debug, Clone)]
pub struct ChatResponse {
    pub(crate) completion: ChatCompletion,
    pub(crate) served_by: Arc<str>,
    pub(crate) endpoint: Arc<str>,
    pub(crate) protocol: Option<EndpointKind>,
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) degradation: Option<Box<Degraded>>,
    pub(crate) upstream_headers: HeaderMap,
    /// The model the request asked for (its chain's first).
    pub(crate) requested: Arc<str>,
}

/// The headers of a provider's answer worth passing on ([`upstream`]).
fn kept_header(name: &str) -> bool {
    name == "x-request-id"
        || name == "request-id"
        || name.starts_with("x-ratelimit-")
        || name.starts_with("anthropic-ratelimit-")
}

/// The headers of a provider's answer worth passing on to whoever asked:
/// its request id (`x-request-id`, Anthropic's `request-id`) and its
/// rate-limit headers (`x-ratelimit-*`, `anthropic-ratelimit-*`).
pub(crate) fn upstream(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for (name, value) in headers {
        if kept_header(name.as_str()) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

impl ChatResponse {
    /// The serving answer's request id and rate-limit headers, as the
    /// provider sent them (`x-request-id` or `request-id`, `x-ratelimit-*`,
    /// `anthropic-ratelimit-*`); empty for a degraded answer.
    pub fn upstream_headers(&self) -> &HeaderMap {
        &self.upstream_headers
    }

    /// The model that served this answer (never a failed attempt's);
    /// `"neuralbridge:static"` for a static degraded answer.
    pub fn served_by(&self) -> &str {
        &self.served_by
    }

    /// The endpoint that served it (`"neuralbridge"` for a static answer).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The protocol of the endpoint that served it (its usage is normalised
    /// to [`Usage`] whatever the protocol); `None` for a static answer.
    pub fn protocol(&self) -> Option<EndpointKind> {
        self.protocol
    }

    /// Every attempt of the call, in order; the last one served it (unless
    /// the answer is degraded).
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The serving model's token usage, as it reported it.
    pub fn usage(&self) -> Option<&Usage> {
        self.completion.usage.as_ref()
    }

    /// The first choice's text.
    pub fn text(&self) -> Option<&str> {
        self.completion.text()
    }

    /// The completion as the provider sent it.
    pub fn completion(&self) -> &ChatCompletion {
        &self.completion
    }

    /// The completion, by value.
    pub fn into_completion(self) -> ChatCompletion {
        self.completion
    }

    /// `Some` when the answer is degraded: not fresh, served because every
    /// candidate failed.
    pub fn degradation(&self) -> Option<&Degraded> {
        self.degradation.as_deref()
    }

    /// The model the request asked for (the first of its chain).
    pub fn requested_model(&self) -> &str {
        &self.requested
    }

    /// Whether the model that served is the one the request asked for
    /// (on whichever endpoint): `false` for a fallback to another model
    /// and for a degraded static answer.
    pub fn is_requested_model(&self) -> bool {
        self.served_by == self.requested
    }
}
