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
use std::time::{Duration, SystemTime};

pub use nb_types::{SharedError, SharedFuture};

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

/// A rate limit shared by a fleet: `per_minute` units, at most `burst` at
/// once, for all replicas together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRate {
    /// Units (requests or tokens) per minute.
    pub per_minute: u64,
    /// Units that may go at once after a quiet spell.
    pub burst: u64,
}

/// A shared store's answer to a lease: units granted now, and when the
/// fleet's limit has room for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseGrant {
    /// Units this replica may spend.
    pub granted: u64,
    /// How long until one more unit fits the fleet's limit (zero if it
    /// fits now).
    pub next_in: Duration,
}

/// What a replica asks of a fleet's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseAsk {
    /// Units wanted now (0 to only hand back or pause).
    pub want: u64,
    /// Units leased earlier and not spent, handed back to the fleet.
    pub refund: u64,
    /// The provider said to send nothing until then (a `Retry-After`, or
    /// rate-limit headers with nothing remaining): the whole fleet waits.
    pub pause_until: Option<SystemTime>,
}

/// Where a fleet's rate limits meet: each replica leases batches of units
/// and spends them locally, so a request never waits on the store.
///
/// Implementations run the limit as one atomic step on the store (a GCRA
/// script on Redis, say), on the store's clock, give every key a lifetime,
/// and keep nothing secret (the target's name and a time).
pub trait SharedLimits: Send + Sync + fmt::Debug {
    /// Leases up to `ask.want` units of `key`'s limit at `rate` (fewer, or
    /// none, when the fleet has spent it), after handing back
    /// `ask.refund` and applying `ask.pause_until`.
    fn lease(&self, key: &str, rate: LeaseRate, ask: LeaseAsk) -> SharedFuture<'_, LeaseGrant>;

    /// Records that the provider said to send `target` nothing until
    /// `until` (a `Retry-After`, or rate-limit headers with nothing left),
    /// whether or not it has a configured limit.
    fn pause(&self, target: &str, until: SystemTime) -> SharedFuture<'_, ()>;

    /// The pauses among `targets` that have not ended.
    fn pauses(&self, targets: &[String]) -> SharedFuture<'_, Vec<(String, SystemTime)>>;
}
