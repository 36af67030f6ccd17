//! [`Permit`]: permission to make one call, consumed with its outcome.

use std::fmt;
use std::ops::Deref;
use std::time::{Duration, Instant};

use super::{CallOutcome, CircuitBreaker, Ticket};

/// Permission to make one call, from [`CircuitBreaker::try_acquire`] (a
/// `Permit<&CircuitBreaker>`) or [`CircuitBreaker::try_acquire_owned`] (a
/// `Permit<Arc<CircuitBreaker>>`).
///
/// Consume it with the call's outcome. The latency for slow-call detection
/// is the time from the acquire's `now` to the record's `now`. A permit
/// dropped without an outcome (the future holding it was cancelled, a
/// panic unwound) counts as neither success nor failure and frees its
/// half-open slot. Holding it across `.await` is fine: it is `Send` and
/// `Sync` whenever `B` is.
#[must_use = "a permit records nothing until it is consumed with the call's outcome"]
pub struct Permit<B: Deref<Target = CircuitBreaker>> {
    pub(super) breaker: B,
    pub(super) ticket: Ticket,
    pub(super) done: bool,
}

impl<B: Deref<Target = CircuitBreaker>> fmt::Debug for Permit<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("acquired_at", &self.ticket.acquired_at)
            .field("probe", &self.ticket.probe)
            .field("generation", &self.ticket.generation)
            .finish()
    }
}

impl<B: Deref<Target = CircuitBreaker>> Permit<B> {
    /// Records `outcome` at `now`.
    #[inline]
    pub fn record(mut self, outcome: CallOutcome, now: Instant) {
        self.done = true;
        self.breaker.complete(self.ticket, outcome, now);
    }

    /// Records a success (slow if the policy's `slow_call_duration` passed).
    #[inline]
    pub fn success(self, now: Instant) {
        self.record(CallOutcome::Success, now);
    }

    /// Records a failure.
    #[inline]
    pub fn failure(self, now: Instant) {
        self.record(CallOutcome::Failure, now);
    }

    /// Records a failure that holds for every call until something outside changes
    /// ([`CallOutcome::Persistent`]): the breaker opens at once.
    #[inline]
    pub fn persistent_failure(self, now: Instant) {
        self.record(CallOutcome::Persistent, now);
    }

    /// Records a call that completed too slowly.
    #[inline]
    pub fn slow(self, now: Instant) {
        self.record(CallOutcome::Slow, now);
    }

    /// Records a call that says nothing about the model's health.
    #[inline]
    pub fn ignored(self) {
        let at = self.ticket.acquired_at;
        self.record(CallOutcome::Ignored, at);
    }

    /// Records a provider rate-limit rejection and its Retry-After.
    #[inline]
    pub fn rate_limited(self, now: Instant, retry_after: Option<Duration>) {
        self.record(CallOutcome::RateLimited { retry_after }, now);
    }

    /// The `now` it was acquired at.
    pub fn acquired_at(&self) -> Instant {
        self.ticket.acquired_at
    }

    /// Whether this is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.ticket.probe
    }

    /// The breaker it belongs to.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

impl<B: Deref<Target = CircuitBreaker>> Drop for Permit<B> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.abandon(self.ticket);
        }
    }
}
