//! What a call returns: the answer, who served it, and every attempt.

use std::sync::Arc;
use std::time::Duration;

use nb_diagnose::Diagnosis;
use nb_transport::{ChatCompletion, Usage};

use crate::error::Error;

/// What the cascade did after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// The attempt served the call.
    Served,
    /// The same target was retried after this wait.
    Retry {
        /// The wait (the server's, or a jittered backoff).
        after: Duration,
    },
    /// The same target was retried at once with the endpoint's next key.
    RotateKey,
    /// The same target was retried at once without the assistant prefill it
    /// rejected (a stream restarted from scratch).
    DropPrefill,
    /// The target was given up; the call moved on to the next one.
    Fallback,
    /// The call ended here.
    Stop,
    /// A hedge on another target answered first; this attempt was
    /// cancelled (its connection dropped). Not a failure of its target.
    Cancelled,
}

impl Decision {
    /// A short name for logs: `served`, `retry`, `rotate_key`, `drop_prefill`,
    /// `fallback`, `stop`, `cancelled`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Served => "served",
            Self::Retry { .. } => "retry",
            Self::RotateKey => "rotate_key",
            Self::DropPrefill => "drop_prefill",
            Self::Fallback => "fallback",
            Self::Stop => "stop",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One attempt of a call: which target, when, how long, and how it ended.
///
/// Nothing in it is secret: the key is named only by its index in the
/// endpoint's pool.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub(crate) number: u32,
    pub(crate) model: Arc<str>,
    pub(crate) endpoint: Arc<str>,
    pub(crate) key_index: Option<usize>,
    pub(crate) prefill: bool,
    pub(crate) started_at: Duration,
    pub(crate) latency: Duration,
    pub(crate) diagnosis: Option<Box<Diagnosis>>,
    pub(crate) decision: Decision,
    pub(crate) hedge: bool,
}

impl Attempt {
    /// The attempt's number in the call, from 1.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The model asked for (the wire name).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The endpoint's name.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The index of the key used in the endpoint's pool, if it has keys.
    pub fn key_index(&self) -> Option<usize> {
        self.key_index
    }

    /// Whether the request carried a partial answer as an assistant prefill.
    pub fn prefill(&self) -> bool {
        self.prefill
    }

    /// When the attempt started, from the start of the call.
    pub fn started_at(&self) -> Duration {
        self.started_at
    }

    /// How long it took (for a served stream, until its end).
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// Whether this attempt served the call.
    pub fn is_success(&self) -> bool {
        self.decision == Decision::Served
    }

    /// Whether this attempt was a hedge: sent while an earlier attempt of
    /// the call, on another target, had not answered within its hedge
    /// delay (see [`Hedging`](crate::policy::Hedging)).
    pub fn is_hedge(&self) -> bool {
        self.hedge
    }

    /// Why it failed; `None` for the serving attempt and for one cancelled
    /// because a hedge answered first.
    pub fn diagnosis(&self) -> Option<&Diagnosis> {
        self.diagnosis.as_deref()
    }

    /// What the cascade did next.
    pub fn decision(&self) -> Decision {
        self.decision
    }
}

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
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) degradation: Option<Box<Degraded>>,
}

impl ChatResponse {
    /// The model that served this answer (never a failed attempt's);
    /// `"neuralbridge:static"` for a static degraded answer.
    pub fn served_by(&self) -> &str {
        &self.served_by
    }

    /// The endpoint that served it (`"neuralbridge"` for a static answer).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
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
}
