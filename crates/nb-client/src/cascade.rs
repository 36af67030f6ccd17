//! The cascade loop: one implementation for `create`, `stream` (until the
//! first content) and `heal`.
//!
//! Per attempt: pick a target (balancer over the chain, minus the targets
//! this call gave up, filtered by breaker, limiter, predictor and the
//! call's constraints), take a breaker permit, a rate-limit slot and the
//! balancer's in-flight guard, run the attempt under its deadline, diagnose
//! a failure, record it everywhere, and act on the category's policy (one
//! that falls back first asks, with the availability test `select` uses,
//! whether the next pick would find another target before it considers a
//! retry). A success hands back a [`Lease`] that records the outcome when
//! the caller is done with the target (at once for `create`, at the end of
//! a stream).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use nb_breaker::{BackoffState, CircuitBreaker, CircuitState, Permit, fastrand};
use nb_diagnose::{Diagnosis, ErrorCategory, Provider};
use nb_route::{InFlight, Predictor, Selection};
use tracing::Instrument;

use crate::attempt::Attempt;
use crate::blame::Blame;
use crate::error::{Error, ErrorKind};
use crate::failure::{AttemptError, Failed};
use crate::observe;
use crate::policy::Decision;
use crate::policy::{CategoryPolicy, FallbackRule};
use crate::shared::Inner;
use crate::target::{Chain, HedgeKind, TargetId};
use crate::time::{later, now};

mod lease;

pub(crate) use lease::Lease;

/// The confidence from which a diagnosis names a known phrase or code, not
/// just a status or a generic word.
const SURE: f32 = 0.8;

/// What one attempt is given.
#[derive(Debug, Clone)]
pub(crate) struct AttemptCtx {
    pub(crate) target: TargetId,
    /// The key to use: an index into the endpoint's pool.
    pub(crate) key: Option<usize>,
    pub(crate) started: Instant,
    /// The attempt's rung of the timeout ladder, capped by the call's
    /// deadline: when a stream's first token (or a healed operation's
    /// result) must have arrived.
    pub(crate) deadline: Instant,
    /// The call's deadline: what bounds a non-streamed answer, whose head
    /// arrives only once it is generated.
    pub(crate) call_deadline: Instant,
    /// The connect deadline: the profile's `fast_fail` tier.
    pub(crate) connect: Duration,
    /// Send without the assistant prefill (it was rejected).
    pub(crate) drop_prefill: bool,
    /// Set by a stream attempt when its response head arrives: the
    /// provider accepted the request and is generating, so a hedge of it
    /// would pay for a second generation.
    pub(crate) head: Arc<AtomicBool>,
}

impl AttemptCtx {
    /// The key to send, if the endpoint has keys.
    pub(crate) fn api_key(&self) -> Option<&nb_transport::ApiKey> {
        self.key.and_then(|k| self.target.endpoint.keys.get(k))
    }
}

/// An attempt in flight that holds nothing of its attempter, so that a
/// hedge can start beside it.
pub(crate) type Launched<'a, O> =
    Pin<Box<dyn Future<Output = Result<O, AttemptError>> + Send + 'a>>;

/// One kind of call the cascade can run.
pub(crate) trait Attempter {
    type Output;

    /// Whether an attempt on `target` carries a prefill (for the record).
    fn prefill(&self, _target: &TargetId, _drop_prefill: bool) -> bool {
        false
    }

    /// Why `target` cannot take this call at all, checked before anything
    /// is spent on it (a breaker permit, a rate-limit slot): its protocol
    /// cannot carry the request. `None` when it can.
    fn refusal(&mut self, _inner: &Inner, _target: &TargetId) -> Option<Diagnosis> {
        None
    }

    /// Makes one attempt.
    async fn attempt(
        &mut self,
        inner: &Inner,
        ctx: &AttemptCtx,
    ) -> Result<Self::Output, AttemptError>;

    /// Starts one attempt that may be hedged, and says what its success
    /// measures; `None` for calls that must never run twice at once (an
    /// operation under `heal`), which go through
    /// [`attempt`](Self::attempt).
    fn launch<'a>(
        &mut self,
        _inner: &'a Inner,
        _ctx: AttemptCtx,
    ) -> Option<(HedgeKind, Launched<'a, Self::Output>)> {
        None
    }
}

/// A target this call already touched.
#[derive(Debug)]
struct TargetCall {
    target: TargetId,
    retries: u32,
    backoff: Option<BackoffState>,
}

/// Where a call may still go: narrowed by the fallback rules of its
/// failures so far.
#[derive(Debug, Clone, Copy, Default)]
struct Scope {
    /// Only targets with a larger context window than this.
    min_window: Option<u64>,
    /// Only targets of this provider.
    provider: Option<Provider>,
}

impl Scope {
    /// Whether `t` is within the scope.
    fn allows(&self, t: &TargetId) -> bool {
        if self.provider.is_some_and(|p| p != t.provider) {
            return false;
        }
        match self.min_window {
            Some(min) => t.context_window.is_some_and(|w| w > min),
            None => true,
        }
    }

    /// The scope once `failed` is given up under `policy`, or `None` when
    /// the policy lets the call go nowhere else.
    fn after_fallback(self, policy: CategoryPolicy, failed: &TargetId) -> Option<Self> {
        let mut next = self;
        if policy.stays_with_provider() {
            next.provider = Some(failed.provider);
        }
        match policy.fallback_rule() {
            FallbackRule::Never => None,
            // No window configured: there is no telling where it would fit.
            FallbackRule::LargerContext => {
                let window = failed.context_window?;
                next.min_window = Some(next.min_window.map_or(window, |m| m.max(window)));
                Some(next)
            }
            _ => Some(next),
        }
    }
}

/// A retry of the same target, decided after a failure.
#[derive(Debug)]
struct Pending {
    target: TargetId,
    key: Option<usize>,
    drop_prefill: bool,
}

/// The state of one call across its attempts (and, for a stream, across
/// the continuation after an interruption).
#[derive(Debug)]
pub(crate) struct CallState {
    pub(crate) chain: Arc<Chain>,
    pub(crate) started: Instant,
    pub(crate) deadline: Instant,
    pub(crate) attempts: Vec<Attempt>,
    /// Targets this call stopped trying.
    given_up: Vec<TargetId>,
    /// Targets left for an alternative by a fall-back-first policy: out of
    /// the running while anything else can be tried, then back for the
    /// retry they were owed.
    deferred: Vec<TargetId>,
    /// Targets a permit or limiter race turned away since the last attempt.
    skipped: Vec<TargetId>,
    /// Deferred targets brought back for the retry they were owed: if one
    /// is paused (a server wait), the call waits for it rather than
    /// failing as cooling down.
    owed: Vec<TargetId>,
    targets: Vec<TargetCall>,
    /// Keys tried per endpoint index (a bit per key).
    keys_tried: Vec<(usize, u64)>,
    pending: Option<Pending>,
    scope: Scope,
    rng: Option<fastrand::Rng>,
    /// The token estimate the limiter is asked for (0: requests only).
    pub(crate) cost: u64,
    deposited: bool,
    /// How long the call has waited for a target to refill (at most
    /// `SHORT_WAIT` in all).
    waited: Duration,
    /// Whose fault the call's failures are.
    blame: Blame,
    /// The models that may serve the call (an equivalence constraint);
    /// `None` for any.
    allowed: Option<Arc<[Arc<str>]>>,
}

impl CallState {
    pub(crate) fn new(chain: Arc<Chain>, deadline: Duration, cost: u64) -> Self {
        let started = now();
        Self {
            chain,
            started,
            deadline: later(started, deadline),
            attempts: Vec::new(),
            given_up: Vec::new(),
            deferred: Vec::new(),
            skipped: Vec::new(),
            owed: Vec::new(),
            targets: Vec::new(),
            keys_tried: Vec::new(),
            pending: None,
            scope: Scope::default(),
            rng: None,
            cost,
            deposited: false,
            waited: Duration::ZERO,
            blame: Blame::default(),
            allowed: None,
        }
    }

    /// Holds the call to `allowed` models (an equivalence constraint).
    pub(crate) fn allow_only(mut self, allowed: Option<Arc<[Arc<str>]>>) -> Self {
        self.allowed = allowed;
        self
    }

    /// Whether the call's constraint lets `t` serve it.
    fn permits(&self, t: &TargetId) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|models| models.contains(&t.model))
    }

    /// The error for `kind`, with the final diagnosis and every attempt.
    pub(crate) fn error(&mut self, kind: ErrorKind) -> Error {
        let diagnosis = self.last_diagnosis().cloned();
        Error::new(kind, diagnosis, std::mem::take(&mut self.attempts))
    }

    /// Adds an attempt to the call's list, in the order the attempts
    /// started (a hedge's loser is recorded after its winner).
    fn record(&mut self, attempt: Attempt) {
        let at = self.attempts.partition_point(|a| a.number < attempt.number);
        self.attempts.insert(at, attempt);
    }

    fn last_diagnosis(&self) -> Option<&Diagnosis> {
        self.attempts.iter().rev().find_map(Attempt::diagnosis)
    }

    /// Records a target the attempter refused before anything was spent on
    /// it, and gives it up for the call: nothing counts against it.
    fn skip(&mut self, inner: &Inner, target: TargetId, diagnosis: Diagnosis, now: Instant) {
        let attempt = Attempt {
            number: u32::try_from(self.attempts.len() + 1).unwrap_or(u32::MAX),
            model: Arc::clone(&target.model),
            endpoint: Arc::clone(&target.endpoint.name),
            key_index: None,
            prefill: false,
            started_at: now.saturating_duration_since(self.started),
            latency: Duration::ZERO,
            diagnosis: Some(Box::new(diagnosis)),
            decision: Decision::Skipped,
            hedge: false,
        };
        observe::attempt(inner, &attempt, &target.name);
        self.record(attempt);
        self.given_up.retain(|t| t != &target);
        self.deferred.retain(|t| t != &target);
        self.given_up.push(target);
    }

    /// Gives `target` up for the rest of the call (a deferred target stays
    /// deferred: the call may still come back to it).
    pub(crate) fn give_up(&mut self, target: TargetId) {
        if !self.given_up.contains(&target) && !self.deferred.contains(&target) {
            self.given_up.push(target);
        }
    }

    /// Whether `t` may be picked now within `scope`: its breaker admits a
    /// call and its limiter has room for this request. (Exclusions and the
    /// predictor are the caller's.)
    fn available(&self, t: &TargetId, scope: Scope, now: Instant) -> bool {
        scope.allows(t)
            && self.permits(t)
            && t.breaker.check(now).is_ok()
            && t.limiter.check(self.cost, now).is_ok()
    }

    /// Whether a target other than `failed` is available now within
    /// `scope`, among those the call has neither given up nor deferred:
    /// whether the next pick would find one if `failed` were set aside.
    fn has_alternative(&self, failed: &TargetId, scope: Scope, now: Instant) -> bool {
        self.chain.targets.iter().any(|t| {
            t != failed
                && !self.given_up.contains(t)
                && !self.deferred.contains(t)
                && self.available(t, scope, now)
        })
    }

    fn target_call(&mut self, target: &TargetId) -> usize {
        match self.targets.iter().position(|t| &t.target == target) {
            Some(i) => i,
            None => {
                self.targets.push(TargetCall {
                    target: target.clone(),
                    retries: 0,
                    backoff: None,
                });
                self.targets.len() - 1
            }
        }
    }

    fn keys_tried(&mut self, endpoint: usize) -> &mut u64 {
        let i = match self.keys_tried.iter().position(|(e, _)| *e == endpoint) {
            Some(i) => i,
            None => {
                self.keys_tried.push((endpoint, 0));
                self.keys_tried.len() - 1
            }
        };
        &mut self.keys_tried[i].1
    }

    /// The kind of error when no target is left.
    fn exhausted(&self) -> ErrorKind {
        match self.last_diagnosis().map(|d| d.category) {
            Some(
                ErrorCategory::InvalidRequest
                | ErrorCategory::ContentFilter
                | ErrorCategory::ContextLength,
            ) => ErrorKind::Aborted,
            _ => ErrorKind::Exhausted,
        }
    }

    /// Chooses the next target, or says why there is none.
    fn select(&mut self, inner: &Inner, now: Instant) -> Result<Selection<TargetId>, ErrorKind> {
        let cost = self.cost;
        // One draw per pick decides which ramping targets this pick admits.
        let draw = self.rng.get_or_insert_with(|| inner.rng()).f64();
        let available = |t: &TargetId| self.available(t, self.scope, now);
        let combined;
        let exclusions: &[TargetId] = if self.skipped.is_empty() && self.deferred.is_empty() {
            &self.given_up
        } else {
            combined = [&self.given_up[..], &self.skipped[..], &self.deferred[..]].concat();
            &combined
        };
        let balancer = &self.chain.balancer;
        let ramped = |t: &TargetId| t.slow_start.share(now) > draw;
        let predictor = inner.predictor.as_ref();
        // Skip targets the predictor expects to fail (only a learned
        // recurring pattern makes it expect that), unless their breaker is
        // probing or the skip's own probe is due: the calls whose evidence
        // talks the forecast down.
        let expected_ok = |t: &TargetId| {
            let Some((predictor, threshold)) = predictor else {
                return true;
            };
            t.breaker.state(now) != CircuitState::Closed
                || t.prediction
                    .get(now, || predictor.failure_probability(&t.name, now))
                    < *threshold
                || t.prediction.admit_probe(now)
        };
        if let Some(s) = balancer.select(
            exclusions,
            |t| available(t) && ramped(t) && expected_ok(t),
            now,
        ) {
            return Ok(s);
        }
        // Never refuse to call on a forecast or a ramp alone.
        if let Some(s) = balancer.select(exclusions, available, now) {
            return Ok(s);
        }
        if !self.skipped.is_empty() {
            // A race turned these away; they may be free now.
            self.skipped.clear();
            return self.select(inner, now);
        }
        if !self.deferred.is_empty() {
            // Every alternative failed or is cooling: come back to the
            // targets that were left for them, each a retry the budget must
            // allow (time spent on the alternatives was their backoff).
            let deferred = std::mem::take(&mut self.deferred);
            for target in deferred {
                if inner.budget.try_withdraw(now) {
                    self.owed.push(target);
                } else {
                    self.given_up.push(target);
                }
            }
            return self.select(inner, now);
        }
        // Nothing to call: the first candidate to reopen, if any is cooling.
        // (A request larger than a target's token burst never fits there.)
        let retry_in = self
            .chain
            .targets
            .iter()
            .filter(|t| !self.given_up.contains(t) && self.scope.allows(t) && self.permits(t))
            .filter_map(|t| {
                let limiter = match t.limiter.check(cost, now) {
                    Ok(()) => None,
                    Err(denied) => Some(denied.retry_after()?),
                };
                let breaker = t.breaker.check(now).err().map(|r| r.retry_after);
                breaker.max(limiter)
            })
            .min();
        Err(match retry_in {
            Some(retry_in) => ErrorKind::CoolingDown { retry_in },
            None => self.exhausted(),
        })
    }

    /// Selects `target` again for a retry, waiting out a short pause (a
    /// Retry-After another call recorded, a limiter refill) if it fits the
    /// deadline; `None` gives the target up.
    async fn reselect(&self, inner: &Inner, target: &TargetId) -> Option<Selection<TargetId>> {
        for _ in 0..2 {
            let now = now();
            let breaker = match target.breaker.check(now) {
                Ok(()) => Duration::ZERO,
                Err(r) if r.reason == nb_breaker::RejectReason::Throttled => r.retry_after,
                Err(_) => return None,
            };
            let limiter = match target.limiter.check(self.cost, now) {
                Ok(()) => Duration::ZERO,
                Err(d) => d.retry_after()?,
            };
            let wait = breaker.max(limiter);
            if wait.is_zero() {
                return self.chain.balancer.select(&[], |t| t == target, now);
            }
            if wait > inner.settings.backoff.max_wait() || later(now, wait) >= self.deadline {
                return None;
            }
            tokio::time::sleep_until(later(now, wait).into()).await;
        }
        None
    }

    /// Starts a hedge of `first` on another available target, if the
    /// hedge budget allows one; `None` leaves `first` to run alone.
    fn launch_hedge<'a, A: Attempter>(
        &mut self,
        inner: &'a Inner,
        attempter: &mut A,
        running: &[Flight],
    ) -> Option<(Flight, Launched<'a, A::Output>)> {
        let now = crate::time::now();
        let skipped = self.skipped.len();
        self.skipped
            .extend(running.iter().map(|f| f.lease.target.clone()));
        let selection = self.select(inner, now);
        self.skipped.truncate(skipped);
        let selection = selection.ok()?;
        if let Some(diagnosis) = attempter.refusal(inner, selection.target()) {
            let target = selection.target().clone();
            selection.abandon();
            self.skip(inner, target, diagnosis, now);
            return None;
        }
        let taken = running
            .iter()
            .any(|f| &f.lease.target == selection.target());
        // A hedge of an attempt that is generating (its head arrived) pays
        // for a second generation: it needs the smaller budget too.
        let generating = running.iter().any(|f| f.head.load(Ordering::Relaxed));
        if taken
            || (generating && !inner.generating_hedge_budget.try_withdraw(now))
            || !inner.hedge_budget.try_withdraw(now)
        {
            selection.abandon();
            return None;
        }
        let admitted = self.admit(selection, now).ok()?;
        let key = admitted.0.endpoint.active_key();
        let number = running.iter().map(|f| f.lease.number).max().unwrap_or(0) + 1;
        let (ctx, mut flight) = self.flight(inner, attempter, admitted, key, false, number, now);
        flight.lease.hedge = true;
        let (kind, fut) = attempter.launch(inner, ctx)?;
        flight.lease.kind = Some(kind);
        Some((flight, fut))
    }

    /// Takes a breaker permit and a rate-limit slot for the selected
    /// target, or hands the selection back unused and returns the target:
    /// nothing is recorded (no call was made, and a health probe the
    /// balancer granted is freed).
    fn admit(&self, selection: Selection<TargetId>, now: Instant) -> Result<Admitted, TargetId> {
        let target = selection.target().clone();
        let Ok(permit) = target.breaker.try_acquire_owned(now) else {
            selection.abandon();
            return Err(target);
        };
        if target.limiter.try_acquire(self.cost, now).is_err() {
            // Frees a half-open slot if the permit was a breaker probe.
            drop(permit);
            selection.abandon();
            return Err(target);
        }
        Ok((target, permit, selection.start()))
    }

    /// An admitted attempt's context (its deadlines from the timeout
    /// ladder and the call's deadline) and its flight (the lease that
    /// records it, and its span).
    #[allow(clippy::too_many_arguments)] // one call site each in `run` and `launch_hedge`
    fn flight<A: Attempter>(
        &self,
        inner: &Inner,
        attempter: &A,
        (target, permit, inflight): Admitted,
        key: Option<usize>,
        drop_prefill: bool,
        number: u32,
        now: Instant,
    ) -> (AttemptCtx, Flight) {
        let tier = inner
            .settings
            .tier(self.attempts.len())
            .duration(&target.profile);
        let ctx = AttemptCtx {
            key,
            started: now,
            deadline: later(now, tier).min(self.deadline),
            call_deadline: self.deadline,
            connect: target.profile.fast_fail,
            drop_prefill,
            target,
            head: Arc::default(),
        };
        let lease = Lease {
            target: ctx.target.clone(),
            permit,
            inflight,
            number,
            key,
            prefill: attempter.prefill(&ctx.target, drop_prefill),
            started: now,
            ended: now,
            kind: None,
            hedge: false,
        };
        let span = observe::attempt_span(&ctx.target, number);
        let head = Arc::clone(&ctx.head);
        (ctx, Flight { lease, span, head })
    }

    /// What to do after `target` failed with `f` using key `key`.
    fn decide(
        &mut self,
        inner: &Inner,
        target: &TargetId,
        key: Option<usize>,
        f: &Failed,
        now: Instant,
    ) -> (Decision, Option<Pending>) {
        let d = &f.diagnosis;
        let again = |key, drop_prefill| Pending {
            target: target.clone(),
            key,
            drop_prefill,
        };
        if f.prefill_rejected {
            return (Decision::DropPrefill, Some(again(key, true)));
        }
        let policy = inner.settings.policies.for_diagnosis(d);
        let fallback = self.scope.after_fallback(policy, target);
        // This host's own policy refused the connection: no other key, no
        // wait and no retry changes that, and another target may be allowed.
        if d.is_local_policy() {
            return self.fall_back(fallback);
        }
        if policy.rotates_key()
            && let Some(k) = key
        {
            let tried = self.keys_tried(target.endpoint.index);
            *tried |= 1 << k;
            if let Some(next) = target.endpoint.rotate_key(k, *tried) {
                return (Decision::RotateKey, Some(again(Some(next), false)));
            }
        }
        // A policy that prefers a fallback takes one that is open now over
        // a retry, unless the server asked for a wait shorter than a
        // fallback costs.
        let short_wait = d
            .retry_after
            .is_some_and(|w| w <= inner.settings.wait_threshold);
        let fall_back_now = policy.falls_back_first()
            && !short_wait
            && fallback.is_some_and(|scope| self.has_alternative(target, scope, now));
        let i = self.target_call(target);
        let allowed = policy.retry_limit().allowed(inner.settings.max_retries);
        let may_retry = d.retryable && !f.own_timeout && self.targets[i].retries < allowed;
        if fall_back_now && may_retry {
            // Try the alternative now; the retry waits until nothing else
            // is left.
            self.targets[i].retries += 1;
            if !self.deferred.contains(target) {
                self.deferred.push(target.clone());
            }
        }
        if !fall_back_now && may_retry {
            let rng = self.rng.get_or_insert_with(|| inner.rng());
            let backoff = self.targets[i]
                .backoff
                .get_or_insert_with(|| inner.settings.backoff.start(now));
            if let Some(after) = backoff.next_delay(now, rng, d.retry_after)
                && later(now, after) < self.deadline
                && inner.budget.try_withdraw(now)
            {
                self.targets[i].retries += 1;
                return (Decision::Retry { after }, Some(again(key, false)));
            }
        }
        self.fall_back(fallback)
    }

    /// Falls back within `scope`, or stops when there is none.
    fn fall_back(&mut self, scope: Option<Scope>) -> (Decision, Option<Pending>) {
        match scope {
            Some(scope) => {
                self.scope = scope;
                (Decision::Fallback, None)
            }
            None => (Decision::Stop, None),
        }
    }
}

/// A target admitted for an attempt: its breaker permit and its balancer
/// in-flight guard.
type Admitted = (TargetId, Permit<Arc<CircuitBreaker>>, InFlight<TargetId>);

/// How an attempt (or a hedged pair of them) ended.
enum Landed<O> {
    Served(O, Lease),
    Failed(Lease, Box<Failed>),
    Fatal(Error),
}

/// An attempt in flight: its lease (to record it) and its span.
struct Flight {
    lease: Lease,
    span: tracing::Span,
    /// Whether its response head arrived (see [`AttemptCtx::head`]).
    head: Arc<AtomicBool>,
}

impl Flight {
    /// The attempt's result, its end time taken now.
    fn land<O>(mut self, result: Result<O, AttemptError>) -> Landed<O> {
        let end = crate::time::now();
        self.lease.ended = end;
        let latency = end.saturating_duration_since(self.lease.started);
        observe::close_span(&self.span, &result, latency);
        match result {
            Ok(output) => Landed::Served(output, self.lease),
            Err(AttemptError::Failed(failed)) => Landed::Failed(self.lease, failed),
            Err(AttemptError::Fatal(error)) => Landed::Fatal(error),
        }
    }
}

/// What woke the race: an attempt ended (its index and result), or the
/// next hedge is due.
enum Woke<O> {
    Ended(usize, Result<O, AttemptError>),
    HedgeDue,
}

/// Runs a launched attempt; while no attempt has answered, every hedge
/// delay (the first attempt's target's) sends the same request to one more
/// available target, if the hedge budget allows. The first answer wins and
/// every other attempt is dropped (cancelling it); a failure while others
/// run is recorded and falls back to them. So a hedge that lands on a
/// second hung target is hedged in turn.
async fn race<'a, A: Attempter>(
    inner: &'a Inner,
    call: &mut CallState,
    attempter: &mut A,
    first: Flight,
    kind: HedgeKind,
    first_fut: Launched<'a, A::Output>,
) -> Landed<A::Output> {
    let hedging = inner.settings.hedging;
    if !hedging.enabled || call.chain.targets.len() < 2 {
        let span = first.span.clone();
        return first.land(first_fut.instrument(span).await);
    }
    let delay = first
        .lease
        .target
        .hedge_delays
        .of(kind)
        .delay(hedging.min_delay, hedging.max_delay)
        .unwrap_or(hedging.initial_delay);
    let mut wake = later(first.lease.started, delay);
    let mut flights = vec![first];
    let mut futs = vec![first_fut];
    loop {
        let hedge_due = wake < call.deadline && flights.len() < call.chain.targets.len();
        let mut wait = std::pin::pin!(tokio::time::sleep_until(wake.into()));
        let woke = std::future::poll_fn(|cx| {
            for (i, (fut, flight)) in futs.iter_mut().zip(&flights).enumerate() {
                let _entered = flight.span.enter();
                if let Poll::Ready(result) = fut.as_mut().poll(cx) {
                    return Poll::Ready(Woke::Ended(i, result));
                }
            }
            if hedge_due && wait.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Woke::HedgeDue);
            }
            Poll::Pending
        })
        .await;
        let (i, result) = match woke {
            Woke::HedgeDue => {
                // A hedge the budget (or the lack of an available target)
                // refuses is asked for again one delay later.
                if let Some((flight, fut)) = call.launch_hedge(inner, attempter, &flights) {
                    flights.push(flight);
                    futs.push(fut);
                }
                wake = later(wake, delay);
                continue;
            }
            Woke::Ended(i, result) => (i, result),
        };
        drop(futs.swap_remove(i));
        let flight = flights.swap_remove(i);
        match flight.land(result) {
            Landed::Served(output, lease) => {
                drop(futs);
                let now = crate::time::now();
                for loser in flights {
                    loser.lease.cancel(inner, call, now);
                }
                return Landed::Served(output, lease);
            }
            // A hedge our own host could not send leaves the attempts
            // already running to finish.
            Landed::Fatal(error)
                if !flights.is_empty()
                    && matches!(error.kind(), ErrorKind::LocalResource { .. }) => {}
            Landed::Fatal(error) => return Landed::Fatal(error),
            Landed::Failed(lease, failed) if !flights.is_empty() => {
                // The attempts still running are this one's fallback.
                let target = lease.target.clone();
                let now = crate::time::now();
                lease.fail(inner, call, failed.diagnosis, Decision::Fallback, now);
                call.give_up(target);
            }
            failed => return failed,
        }
    }
}

/// The longest a call waits for a target to refill when every target of
/// its chain is cooling down; a longer wait is the caller's to decide
/// (`ErrorKind::CoolingDown` says how long).
pub(crate) const SHORT_WAIT: Duration = Duration::from_secs(1);

/// Runs attempts until one succeeds or the call must end.
pub(crate) async fn run<A: Attempter>(
    inner: &Inner,
    call: &mut CallState,
    attempter: &mut A,
) -> Result<(A::Output, Lease), Error> {
    loop {
        let now = now();
        if !call.deposited {
            inner.budget.deposit(now);
            inner.hedge_budget.deposit(now);
            inner.generating_hedge_budget.deposit(now);
            call.deposited = true;
        }
        if now >= call.deadline {
            return Err(call.error(ErrorKind::DeadlineExceeded));
        }
        let (selection, key, drop_prefill, now) = match call.pending.take() {
            // A retry may have waited out a pause: read the clock again.
            Some(p) => match call.reselect(inner, &p.target).await {
                Some(s) => (s, p.key, p.drop_prefill, crate::time::now()),
                None => {
                    call.give_up(p.target);
                    continue;
                }
            },
            None => match call.select(inner, now) {
                Ok(s) => {
                    let key = s.target().endpoint.active_key();
                    (s, key, false, now)
                }
                // A target owed its retry is paused: wait for it (within
                // the backoff's max wait and the deadline) as a retry would.
                Err(ErrorKind::CoolingDown { .. }) if !call.owed.is_empty() => {
                    let target = call.owed.remove(0);
                    call.pending = Some(Pending {
                        key: target.endpoint.active_key(),
                        target,
                        drop_prefill: false,
                    });
                    continue;
                }
                // Every target refills within a moment (a rate limit's
                // next slot, a fleet's next lease): wait for it rather
                // than fail, as resilience4j's rate limiter waits for a
                // permit (its default: up to 5 s; ours: `SHORT_WAIT` in
                // all, however many waits it takes).
                Err(ErrorKind::CoolingDown { retry_in })
                    if call.waited + retry_in <= SHORT_WAIT
                        && later(now, retry_in) < call.deadline =>
                {
                    let wait = retry_in.max(Duration::from_millis(1));
                    call.waited += wait;
                    tokio::time::sleep_until(later(now, wait).into()).await;
                    continue;
                }
                Err(kind) => return Err(call.error(kind)),
            },
        };
        if let Some(diagnosis) = attempter.refusal(inner, selection.target()) {
            let target = selection.target().clone();
            selection.abandon();
            call.skip(inner, target, diagnosis, now);
            continue;
        }
        // A permit or a slot refused here lost a race with another call
        // (the availability filter admitted the target a moment ago): skip
        // it for this pick.
        let admitted = match call.admit(selection, now) {
            Ok(admitted) => admitted,
            Err(target) => {
                call.skipped.push(target);
                continue;
            }
        };
        let number = u32::try_from(call.attempts.len() + 1).unwrap_or(u32::MAX);
        let (ctx, mut flight) =
            call.flight(inner, attempter, admitted, key, drop_prefill, number, now);
        let landed = match attempter.launch(inner, ctx.clone()) {
            Some((kind, fut)) => {
                flight.lease.kind = Some(kind);
                race(inner, call, attempter, flight, kind, fut).await
            }
            None => {
                let span = flight.span.clone();
                let result = attempter.attempt(inner, &ctx).instrument(span).await;
                flight.land(result)
            }
        };
        call.skipped.clear();
        let (lease, failed) = match landed {
            Landed::Served(output, lease) => return Ok((output, lease)),
            Landed::Fatal(error) => {
                return Err(error.with_attempts(std::mem::take(&mut call.attempts)));
            }
            Landed::Failed(lease, failed) => (lease, failed),
        };
        let end = lease.ended;
        let key = lease.key;
        let target = lease.target.clone();
        let (decision, pending) = call.decide(inner, &target, key, &failed, end);
        lease.fail(inner, call, failed.diagnosis, decision, end);
        match decision {
            Decision::Retry { after } => {
                tokio::time::sleep_until(later(end, after).into()).await;
                call.pending = pending;
            }
            Decision::RotateKey | Decision::DropPrefill => call.pending = pending,
            Decision::Fallback => call.give_up(target),
            _ => {
                let kind = call.exhausted();
                return Err(call.error(kind));
            }
        }
    }
}
