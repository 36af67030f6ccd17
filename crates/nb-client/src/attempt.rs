//! One attempt of a call, as the response or the error reports it.

use std::sync::Arc;
use std::time::Duration;

use nb_diagnose::Diagnosis;

use crate::policy::Decision;

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
