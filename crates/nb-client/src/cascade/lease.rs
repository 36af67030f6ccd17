//! What a finished attempt records: the lease it held on its target, and
//! its outcome in the breaker, the balancer, the learner and the call.

use nb_learn::Outcome;

use super::*;
use crate::policy::policy_category;

/// The target a successful attempt holds until the caller records how the
/// call ended (at once for a completion, at the end of a stream). Dropping
/// it records nothing: a cancelled call is neither a success nor a failure.
#[derive(Debug)]
pub(crate) struct Lease {
    pub(crate) target: TargetId,
    pub(super) permit: Permit<Arc<CircuitBreaker>>,
    pub(super) inflight: InFlight<TargetId>,
    pub(super) number: u32,
    pub(super) key: Option<usize>,
    pub(crate) prefill: bool,
    pub(crate) started: Instant,
    /// When the attempt returned (for a stream: when content started).
    pub(crate) ended: Instant,
    /// What a success measures, for the target's hedge delay (`None`: not
    /// hedged, as under `heal`).
    pub(super) kind: Option<HedgeKind>,
    /// Whether the attempt is a hedge.
    pub(super) hedge: bool,
}

impl Lease {
    /// Records a success and the serving attempt.
    pub(crate) fn succeed(self, inner: &Inner, call: &mut CallState, now: Instant) {
        self.end(inner, call, None, Decision::Served, now);
    }

    /// Records a failure and the failed attempt, with what the cascade does
    /// next (the caller acts on it).
    pub(crate) fn fail(
        self,
        inner: &Inner,
        call: &mut CallState,
        diagnosis: Diagnosis,
        decision: Decision,
        now: Instant,
    ) {
        self.end(inner, call, Some(diagnosis), decision, now);
    }

    /// Records the outcome in the breaker, the balancer and the learner,
    /// and the attempt in the call. A failure that is the request's fault
    /// (invalid request, context length, content filter) never counts
    /// against the target; a rate limit pauses the breaker instead of
    /// tripping it; a spent quota, a refused permission, a missing model
    /// or a rejected key (with no other key to try) opens it at once; the
    /// same server error or broken answer on a second target of the call
    /// is the request's ([`Blame`]).
    pub(super) fn end(
        self,
        inner: &Inner,
        call: &mut CallState,
        diagnosis: Option<Diagnosis>,
        decision: Decision,
        now: Instant,
    ) {
        use ErrorCategory as C;
        let latency = now.saturating_duration_since(self.started);
        let category = diagnosis.as_ref().map(|d| d.category);
        // A failure that holds for every call until the account, the key,
        // the model or the target's setup changes, as the policy table sees it
        // (`policy_category`); an invalid request about the target only when
        // a known phrase said so, not a bare 404 that names no model (an
        // expired object id looks the same).
        let persistent = diagnosis
            .as_ref()
            .is_some_and(|d| match policy_category(d) {
                C::QuotaExhausted | C::Permission => true,
                C::ModelNotFound => !d.about_target || d.confidence >= SURE,
                // A key pool tries its next key first.
                C::Auth => self.target.endpoint.keys.len() <= 1,
                _ => false,
            });
        let retry_after = diagnosis.as_ref().and_then(|d| d.retry_after);
        let request_fault = call.blame.judge(diagnosis.as_ref(), &self.target);
        // Nothing reached the target: this host's own policy refused it.
        let local = diagnosis.as_ref().is_some_and(Diagnosis::is_local_policy);
        let attempt = self.attempt(call, latency, diagnosis, decision);
        let balancer = &call.chain.balancer;
        match category {
            // The same failure as on the call's first target: the
            // request's (a query of death), not this target's.
            Some(_) if request_fault || local => {
                self.permit.ignored();
                drop(self.inflight);
            }
            // A served stream is judged by how soon its content started,
            // not by how long the answer ran: the breaker's slow-call
            // measure and the balancer's latency see the time to
            // `ended` (for a completion, the whole attempt).
            None => {
                let probe = self.permit.is_probe();
                self.permit.success(self.ended);
                // The probe that closed the breaker: the target is back,
                // and takes its traffic back gradually.
                if probe && self.target.breaker.state(now) == CircuitState::Closed {
                    self.target.slow_start.start(now);
                }
                let responsive = self.ended.saturating_duration_since(self.started);
                if let Some(kind) = self.kind {
                    self.target.hedge_delays.of(kind).record(responsive);
                }
                balancer.finish(self.inflight, responsive, true, now);
            }
            // The next calls skip the target at once, and probes find out
            // when it is back.
            Some(_) if persistent => {
                self.permit.persistent_failure(now);
                balancer.finish(self.inflight, latency, false, now);
            }
            Some(C::InvalidRequest | C::ContextLength | C::ContentFilter) => {
                self.permit.ignored();
                drop(self.inflight);
            }
            Some(C::RateLimit) => {
                self.permit.rate_limited(now, retry_after);
                balancer.finish(self.inflight, latency, false, now);
            }
            Some(_) => {
                self.permit.failure(now);
                balancer.finish(self.inflight, latency, false, now);
            }
        }
        // What the request caused says nothing about the model's health.
        if !request_fault && !local {
            inner.learner.record(&Outcome {
                model: &self.target.name,
                endpoint: Some(&self.target.endpoint.name),
                at: inner.wall(now),
                latency,
                failure: category,
            });
        }
        observe::attempt(inner, &attempt, &self.target.name);
        call.record(attempt);
    }

    /// The attempt as the response or the error lists it.
    pub(super) fn attempt(
        &self,
        call: &CallState,
        latency: Duration,
        diagnosis: Option<Diagnosis>,
        decision: Decision,
    ) -> Attempt {
        Attempt {
            number: self.number,
            model: Arc::clone(&self.target.model),
            endpoint: Arc::clone(&self.target.endpoint.name),
            key_index: self.key,
            prefill: self.prefill,
            started_at: self.started.saturating_duration_since(call.started),
            latency,
            diagnosis: diagnosis.map(Box::new),
            decision,
            hedge: self.hedge,
        }
    }

    /// Records an attempt that lost a hedge race: cancelled, not a
    /// failure. The attempt that was hedged (it outlived its hedge delay)
    /// is a slow call for the breaker, which trips on slow calls only when
    /// every recent call of the target was one (a target that hangs on
    /// every call), never on a share of them; a hedge that lost is nothing.
    /// Neither is a sample for the balancer or the learner.
    pub(super) fn cancel(self, inner: &Inner, call: &mut CallState, now: Instant) {
        let latency = now.saturating_duration_since(self.started);
        let attempt = self.attempt(call, latency, None, Decision::Cancelled);
        if self.hedge {
            self.permit.ignored();
        } else {
            self.permit.slow(now);
        }
        drop(self.inflight);
        observe::attempt(inner, &attempt, &self.target.name);
        call.record(attempt);
    }
}
