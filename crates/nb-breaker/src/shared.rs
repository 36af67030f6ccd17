//! Breakers shared by a fleet of processes: the trait a shared store (Redis,
//! say) implements. This crate does no I/O; a client runs the store's
//! futures in the background and applies what they say to its own
//! [`CircuitBreaker`](crate::CircuitBreaker)s.
//!
//! The protocol is small on purpose: a replica whose breaker opens says so
//! with the time it stays open ([`SharedBreakers::open`]); every replica
//! reads the fleet's records ([`SharedBreakers::states`]) and holds its own
//! breaker open as long as one says; when the open time ends, one replica
//! wins the probe ([`SharedBreakers::claim_probe`]) and the others wait for
//! its verdict; a recovery replaces the record
//! ([`SharedBreakers::recovered`]), and the fleet closes with it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// A shared store's answer, some time later.
pub type SharedFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, SharedError>> + Send + 'a>>;

/// Why a shared store did not answer: it is down, slow or refused. The
/// replica carries on with its own state.
#[derive(Debug)]
pub struct SharedError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shared breaker store: {}", self.message)
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

/// What the fleet knows of a target's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetState {
    /// Open: every replica skips the target until then (wall clock:
    /// replicas share no monotonic clock).
    Open {
        /// When its open time ends.
        until: SystemTime,
    },
    /// A replica's probe found it well again: every replica closes.
    Recovered,
}

/// A target's record in the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRecord {
    /// The target, as the replicas name it (`model@endpoint`).
    pub target: String,
    /// What the fleet knows.
    pub state: FleetState,
}

/// Where a fleet's breakers meet. Implementations keep nothing secret (the
/// target's name and a time), give every record a lifetime so a crashed
/// replica leaves nothing behind, and answer quickly or fail: the caller
/// bounds every call and runs on its own state when the store is away.
pub trait SharedBreakers: Send + Sync + fmt::Debug {
    /// Records that `target`'s breaker is open until `until`.
    fn open(&self, target: &str, until: SystemTime) -> SharedFuture<'_, ()>;

    /// Replaces `target`'s open record with a recovery, kept long enough
    /// for every replica to read it.
    fn recovered(&self, target: &str) -> SharedFuture<'_, ()>;

    /// The records among `targets` (an open one only while its time has
    /// not ended).
    fn states(&self, targets: &[String]) -> SharedFuture<'_, Vec<FleetRecord>>;

    /// Claims the fleet's next probe of `target` for `hold`: `true` for one
    /// replica until `hold` ends (again `true` if that replica asks again),
    /// `false` for every other.
    fn claim_probe(&self, target: &str, hold: Duration) -> SharedFuture<'_, bool>;
}
