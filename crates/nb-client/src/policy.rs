//! What the cascade does after each failure, and the settings it does it
//! with: the per-category action table ([`CategoryPolicy`]), the timeout
//! ladder ([`Tier`]), hedging, the stream policy, graceful degradation
//! (configured by [`Degradation`]; a response reports it as a
//! [`Degraded`](crate::Degraded)), and the breaker, backoff, retry-budget,
//! rate-limit, balancing and prediction settings the
//! [builder](crate::NeuralBridgeBuilder) takes. [`Decision`] is what an
//! attempt's failure led to.

use std::fmt;
use std::time::Duration;

use nb_diagnose::{Diagnosis, ErrorCategory, ProviderProfile};

pub use nb_breaker::{
    Backoff, CircuitBreakerConfig, FailureRatePolicy, JitterConfig, RateLimits, RetryBudgetConfig,
    SlidingWindow, TripPolicy,
};
pub use nb_learn::PredictiveConfig;
pub use nb_route::LoadBalancingStrategy;

/// The default [`wait_threshold`](crate::NeuralBridgeBuilder::wait_threshold):
/// about the time a fallback to another model costs.
pub const DEFAULT_WAIT_THRESHOLD: Duration = Duration::from_millis(500);

/// The default backoff: exponential from 500 ms, doubling, capped at 30 s,
/// full jitter with a 100 ms floor, server waits honoured up to 10 s.
pub fn default_backoff() -> Backoff {
    Backoff::exponential(Duration::from_millis(500), Duration::from_secs(30))
        .with_jitter(JitterConfig::full().with_min_delay(Duration::from_millis(100)))
        .with_max_wait(Duration::from_secs(10))
}

/// The model name a static degraded answer is served by.
pub const STATIC_MODEL: &str = "neuralbridge:static";

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
    /// The target's protocol cannot carry the request (say `logprobs` for
    /// Anthropic): nothing was sent, nothing counts against the target, and
    /// the call moved on.
    Skipped,
}

impl Decision {
    /// A short name for logs: `served`, `retry`, `rotate_key`, `drop_prefill`,
    /// `fallback`, `stop`, `cancelled`, `skipped`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Served => "served",
            Self::Retry { .. } => "retry",
            Self::RotateKey => "rotate_key",
            Self::DropPrefill => "drop_prefill",
            Self::Fallback => "fallback",
            Self::Stop => "stop",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
        }
    }
}

/// How many times a failed target may be retried within one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Retries {
    /// Never retry the same target.
    Never,
    /// Up to the client's [`max_retries`](crate::NeuralBridgeBuilder::max_retries).
    Default,
    /// Up to this many, and never more than the client's `max_retries`.
    UpTo(u32),
}

impl Retries {
    /// The number of retries allowed given the client's `max_retries`.
    pub(crate) fn allowed(self, max_retries: u32) -> u32 {
        match self {
            Self::Never => 0,
            Self::Default => max_retries,
            Self::UpTo(n) => n.min(max_retries),
        }
    }
}

/// Where a call may go once a target is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackRule {
    /// Nowhere: the call ends with the diagnosis.
    Never,
    /// To the next target of the chain.
    Any,
    /// Only to a target whose configured context window is larger than the
    /// failing one's; if the failing target has no configured window, the
    /// call ends with the diagnosis.
    LargerContext,
}

/// What the cascade does after a failure of one [`ErrorCategory`].
///
/// The client's table of these policies is the one decision authority:
/// the cascade follows it, and the CLI shows it ([`NextStep`], from
/// [`CategoryPolicy::next_step`] or [`NeuralBridge::next_step`](crate::NeuralBridge::next_step)).
/// A [`Diagnosis`] only describes the failure.
///
/// Retrying the same target also needs the diagnosis to say it is
/// retryable (an `x-should-retry: false` header always wins), a server
/// wait that fits the backoff's `max_wait` (the one wait cap, 10 s in
/// [`default_backoff`]) and the call's deadline,
/// and the retry budget.
///
/// ```
/// use nb_client::{policy::{CategoryPolicy, FallbackRule}, ErrorCategory, NeuralBridge};
///
/// // Fall back on a content-filter rejection instead of failing, and never
/// // leave the provider on a context-length error.
/// let builder = NeuralBridge::builder()
///     .policy(ErrorCategory::ContentFilter, CategoryPolicy::fallback())
///     .policy(
///         ErrorCategory::ContextLength,
///         CategoryPolicy::fallback_to(FallbackRule::LargerContext).same_provider(),
///     );
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CategoryPolicy {
    retries: Retries,
    rotate_key: bool,
    fallback: FallbackRule,
    same_provider: bool,
    fallback_first: bool,
}

impl CategoryPolicy {
    /// End the call at once with the diagnosis (the request itself must change).
    pub const fn fail() -> Self {
        Self {
            retries: Retries::Never,
            rotate_key: false,
            fallback: FallbackRule::Never,
            same_provider: false,
            fallback_first: false,
        }
    }

    /// Give the target up and try the next one at once.
    pub const fn fallback() -> Self {
        Self::fallback_to(FallbackRule::Any)
    }

    /// Give the target up and try the next one allowed by `rule`.
    pub const fn fallback_to(rule: FallbackRule) -> Self {
        Self {
            fallback: rule,
            ..Self::fail()
        }
    }

    /// Retry the same target up to `max_retries` times (with backoff or the
    /// server's wait), then fall back.
    pub const fn retry_then_fallback() -> Self {
        Self {
            retries: Retries::Default,
            ..Self::fallback()
        }
    }

    /// Fall back at once if another target of the chain is available right
    /// now; only when none is, retry the same target as
    /// [`retry_then_fallback`](Self::retry_then_fallback) does (after a
    /// backoff or the server's wait, up to `max_retries`, within the retry
    /// budget and the deadline), then fall back.
    ///
    /// "Available" is what the next pick would accept: a target this call
    /// has not given up, allowed by the call's constraints and by this
    /// policy's fallback rule (e.g. [`same_provider`](Self::same_provider)),
    /// whose breaker admits a call and whose rate limiter has room for the
    /// request. The check is made after each failure, so a retry on the
    /// last candidate still falls back as soon as another one reopens.
    ///
    /// A target left for an alternative is not given up: it is set aside,
    /// and if every alternative then fails or cools down, the call comes
    /// back to it for the retry it was owed (counted against `max_retries`
    /// and the retry budget; the time spent on the alternatives is its
    /// backoff).
    ///
    /// The default for every category worth retrying (rate limits, server
    /// errors, overloads, timeouts, network failures, malformed responses,
    /// cut streams): with another target ready, the next attempt goes there
    /// at once instead of waiting out a backoff or a Retry-After on the
    /// failing one, the way gRPC's hedging and Envoy's retry host
    /// predicates move a retry to another host. A server wait of at most
    /// [`wait_threshold`](crate::NeuralBridgeBuilder::wait_threshold) is
    /// cheaper than a fallback and is waited out on the same target.
    /// [`retry_then_fallback`](Self::retry_then_fallback) retries the same
    /// target first instead.
    ///
    /// ```
    /// use nb_client::{policy::CategoryPolicy, ErrorCategory, NeuralBridge};
    ///
    /// assert!(CategoryPolicy::default_for(ErrorCategory::Overloaded).falls_back_first());
    /// // An overload is retried on the same target first.
    /// let builder = NeuralBridge::builder()
    ///     .policy(ErrorCategory::Overloaded, CategoryPolicy::retry_then_fallback());
    /// # let _ = builder;
    /// ```
    pub const fn fallback_else_retry() -> Self {
        Self {
            fallback_first: true,
            ..Self::retry_then_fallback()
        }
    }

    /// The same policy with another retry limit.
    #[must_use]
    pub const fn retries(self, retries: Retries) -> Self {
        Self { retries, ..self }
    }

    /// The same policy, rotating to the endpoint's next untried key (if it
    /// has a key pool) before anything else. A rotation is not a retry.
    #[must_use]
    pub const fn rotate_key(self, rotate: bool) -> Self {
        Self {
            rotate_key: rotate,
            ..self
        }
    }

    /// The same policy, falling back only to targets of the failing
    /// target's provider.
    #[must_use]
    pub const fn same_provider(self) -> Self {
        Self {
            same_provider: true,
            ..self
        }
    }

    /// The retry limit.
    pub const fn retry_limit(&self) -> Retries {
        self.retries
    }

    /// Whether an auth failure rotates keys first.
    pub const fn rotates_key(&self) -> bool {
        self.rotate_key
    }

    /// Where the call may go after giving the target up.
    pub const fn fallback_rule(&self) -> FallbackRule {
        self.fallback
    }

    /// Whether fallbacks stay with the failing target's provider.
    pub const fn stays_with_provider(&self) -> bool {
        self.same_provider
    }

    /// Whether an available alternative is preferred to a retry (see
    /// [`fallback_else_retry`](Self::fallback_else_retry)).
    pub const fn falls_back_first(&self) -> bool {
        self.fallback_first
    }

    /// The default action for `category` (the table in the crate docs).
    pub const fn default_for(category: ErrorCategory) -> Self {
        use ErrorCategory as C;
        match category {
            C::QuotaExhausted | C::Permission | C::ModelNotFound => Self::fallback(),
            C::Auth => Self::fallback().rotate_key(true),
            C::ContextLength => Self::fallback_to(FallbackRule::LargerContext),
            C::ContentFilter | C::InvalidRequest => Self::fail(),
            // A 408/504/524 answered by the server: elsewhere first, at
            // most one retry. (A timeout our own timer measured is never
            // retried on the same target, whatever the policy.)
            C::Timeout => Self::fallback_else_retry().retries(Retries::UpTo(1)),
            // Rate limits, server errors, overloads, network failures,
            // malformed responses, cut streams and unknown failures: retry
            // elsewhere first, back off on the same target only when
            // nothing else is available now.
            _ => Self::fallback_else_retry(),
        }
    }
}

impl fmt::Display for CategoryPolicy {
    /// One line, as in the README's action table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rotate_key {
            f.write_str("rotate key, then ")?;
        }
        let retry = match self.retries {
            Retries::Never => None,
            Retries::Default => Some("retry up to max_retries"),
            Retries::UpTo(1) => Some("retry at most once"),
            Retries::UpTo(_) => Some("retry (limited)"),
        };
        if let Some(retry) = retry {
            if self.fallback_first {
                f.write_str("fall back at once if another target is available, else ")?;
            }
            write!(f, "{retry}, then ")?;
        }
        f.write_str(match self.fallback {
            FallbackRule::Never => "fail",
            FallbackRule::Any => "fall back",
            FallbackRule::LargerContext => "fall back to a larger window",
        })?;
        if self.same_provider {
            f.write_str(" (same provider)")?;
        }
        Ok(())
    }
}

impl CategoryPolicy {
    /// What this policy does after a failure diagnosed as `diagnosis`, with
    /// `backoff` (whose [`max_wait`](Backoff::max_wait) is the one cap on a
    /// server's wait): the policy with retries of the same target removed
    /// when the diagnosis rules them out (not retryable, or a wait beyond
    /// the cap), and the wait a retry sits out.
    ///
    /// ```
    /// use nb_client::{diagnosis::DiagnosisEngine, policy::{CategoryPolicy, default_backoff}};
    /// use nb_diagnose::Failure;
    ///
    /// let d = DiagnosisEngine::new().diagnose(&Failure::http(429, "{}").header("retry-after", "30"));
    /// let step = CategoryPolicy::default_for(d.category).next_step(&d, &default_backoff());
    /// assert!(!step.retries_same_target());
    /// assert_eq!(
    ///     step.to_string(),
    ///     "fall back (the server's 30 s wait is longer than the 10 s cap)"
    /// );
    /// ```
    pub fn next_step(self, diagnosis: &Diagnosis, backoff: &Backoff) -> NextStep {
        let cap = backoff.max_wait();
        let policy_retries = self.retries != Retries::Never;
        let no_retry = if !policy_retries {
            None
        } else if !diagnosis.retryable {
            Some(NoRetry::NotRetryable)
        } else {
            match diagnosis.retry_after {
                Some(wait) if wait > cap => Some(NoRetry::WaitBeyondCap { wait, cap }),
                _ => None,
            }
        };
        let policy = if no_retry.is_some() {
            self.retries(Retries::Never)
        } else {
            self
        };
        let wait = diagnosis
            .retry_after
            .filter(|_| policy.retries != Retries::Never);
        NextStep {
            category: diagnosis.category,
            policy,
            wait,
            no_retry,
        }
    }
}

/// What the client does after one diagnosed failure: the category's
/// [`CategoryPolicy`] narrowed by what the diagnosis says, from
/// [`CategoryPolicy::next_step`] or [`NeuralBridge::next_step`](crate::NeuralBridge::next_step).
///
/// This is what the CLI prints as the action for a diagnosed error, so
/// the advice shown and the client's behaviour cannot disagree. Within a
/// call, the retry budget, the deadline and `max_retries` can still turn a
/// retry into a fallback; a timeout the client's own timer measured is
/// never retried on the same target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct NextStep {
    /// The diagnosed category.
    pub category: ErrorCategory,
    /// The category's policy, without retries of the same target when
    /// `no_retry` says why not.
    pub policy: CategoryPolicy,
    /// The server's wait each retry of the same target sits out (`None`: a
    /// jittered backoff, or no retry).
    pub wait: Option<Duration>,
    /// Why the same target is not retried although the policy allows
    /// retries, if it is not.
    pub no_retry: Option<NoRetry>,
}

impl NextStep {
    /// What a client built with the defaults does:
    /// [`CategoryPolicy::default_for`] the category, with
    /// [`default_backoff`].
    pub fn with_defaults(diagnosis: &Diagnosis) -> Self {
        CategoryPolicy::default_for(policy_category(diagnosis))
            .next_step(diagnosis, &default_backoff())
    }

    /// Whether the same target may be retried (before or, for a
    /// [`fallback_else_retry`](CategoryPolicy::fallback_else_retry) policy,
    /// after the alternatives).
    pub const fn retries_same_target(&self) -> bool {
        !matches!(self.policy.retries, Retries::Never)
    }
}

impl fmt::Display for NextStep {
    /// The policy's line, then the wait or why the target is not retried:
    /// `retry up to max_retries, then fall back; each retry after the
    /// server's wait of 3 s`, `fall back (not retryable on this model)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.policy)?;
        if let Some(wait) = self.wait {
            write!(f, "; each retry after the server's wait of {}", Secs(wait))?;
        }
        match self.no_retry {
            Some(NoRetry::NotRetryable) => f.write_str(" (not retryable on this model)")?,
            Some(NoRetry::WaitBeyondCap { wait, cap }) => write!(
                f,
                " (the server's {} wait is longer than the {} cap)",
                Secs(wait),
                Secs(cap)
            )?,
            None => {}
        }
        if self.category == ErrorCategory::Timeout && self.retries_same_target() {
            f.write_str("; a timeout the client's own timer measured falls back at once")?;
        }
        Ok(())
    }
}

/// Why a [`NextStep`] does not retry the same target although its
/// category's policy allows retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoRetry {
    /// The diagnosis says the same request on the same model cannot
    /// succeed (the taxonomy, an `x-should-retry: false` header, or an
    /// unknown failure).
    NotRetryable,
    /// The server asked for a wait longer than the backoff's `max_wait`,
    /// the one wait cap.
    WaitBeyondCap {
        /// The server's wait.
        wait: Duration,
        /// The cap.
        cap: Duration,
    },
}

/// A duration in seconds, briefly: `3 s`, `2.5 s`, `0.25 s`.
struct Secs(Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:.3}", self.0.as_secs_f64());
        let text = text.trim_end_matches('0').trim_end_matches('.');
        write!(f, "{text} s")
    }
}

/// Per-category policies, indexed by [`ErrorCategory::ALL`].
#[derive(Debug, Clone)]
pub(crate) struct PolicyTable {
    table: [CategoryPolicy; ErrorCategory::ALL.len()],
}

impl Default for PolicyTable {
    fn default() -> Self {
        let mut table = [CategoryPolicy::fail(); ErrorCategory::ALL.len()];
        for (slot, category) in table.iter_mut().zip(ErrorCategory::ALL) {
            *slot = CategoryPolicy::default_for(category);
        }
        Self { table }
    }
}

impl PolicyTable {
    fn index(category: ErrorCategory) -> usize {
        ErrorCategory::ALL
            .iter()
            .position(|c| *c == category)
            // `ALL` lists every category; an unknown future one is `unknown`'s.
            .unwrap_or(ErrorCategory::ALL.len() - 1)
    }

    pub(crate) fn get(&self, category: ErrorCategory) -> CategoryPolicy {
        self.table[Self::index(category)]
    }

    /// The policy that handles `diagnosis` ([`policy_category`]).
    pub(crate) fn for_diagnosis(&self, diagnosis: &Diagnosis) -> CategoryPolicy {
        self.get(policy_category(diagnosis))
    }

    pub(crate) fn set(&mut self, category: ErrorCategory, policy: CategoryPolicy) {
        self.table[Self::index(category)] = policy;
    }
}

/// A rung of the timeout ladder: the per-attempt deadline, from the
/// endpoint's provider profile or fixed.
///
/// For a non-streamed call the tier bounds the whole attempt (the response
/// head of a non-streamed answer arrives only once it is generated); for a
/// stream it bounds the time to the first content chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tier {
    /// The profile's `fast_fail` (DashScope: 2 s).
    FastFail,
    /// The profile's `standard` (DashScope: 8 s).
    Standard,
    /// The profile's `patient` (DashScope: 25 s).
    Patient,
    /// A fixed duration, whatever the provider.
    Fixed(Duration),
}

impl Tier {
    pub(crate) fn duration(self, profile: &ProviderProfile) -> Duration {
        match self {
            Self::FastFail => profile.fast_fail,
            Self::Standard => profile.standard,
            Self::Patient => profile.patient,
            Self::Fixed(d) => d,
        }
    }
}

/// Delayed hedging: when an attempt has not produced its response (a
/// completion) or its first token (a stream) within a delay learned from
/// that target's own successful latencies, the same request goes to the
/// next available candidate as well; the first answer wins and the other
/// attempt is cancelled (its connection dropped, so a stream stops
/// generating). A cancelled attempt is not a failure of its target. This is
/// what catches a hung provider, whose non-streamed answer would otherwise
/// hold the call until its deadline (gRPC's hedging policy, with the delay
/// made adaptive as in "The Tail at Scale").
///
/// The delay is `srtt + 4 × rttvar` over the target's successful latencies
/// of the same kind (whole answers for completions, first tokens for
/// streams), TCP's retransmission-timer estimate of a high percentile,
/// clamped to `min_delay..=max_delay`; a hang never inflates it, since only
/// successes are measured. A target with no success yet waits
/// `initial_delay`.
/// The race ends at the first complete answer (a completion) or the first
/// token (a stream), and the others are dropped at once, so the caller never
/// sees two answers; but a stream whose response head had arrived when it
/// was hedged was generating, and such hedges are held to the smaller
/// `max_generating_share`.
/// Hedges are at most `max_share` of the calls over the last minute (plus
/// one a second, so a quiet client can hedge too); a hedge the budget
/// refuses is asked for again one delay later. The attempt a hedge
/// outran is cancelled as a slow call: the breaker trips on slow calls only
/// when every recent call of the target was one (a target that hangs on
/// every call), never on a share of them. [`heal`](crate::NeuralBridge::heal)
/// never hedges: an operation of yours may not be safe to run twice.
///
/// ```
/// use std::time::Duration;
/// use nb_client::{policy::Hedging, NeuralBridge};
///
/// let builder = NeuralBridge::builder().hedging(Hedging {
///     max_share: 0.1,
///     ..Hedging::default()
/// });
/// let off = NeuralBridge::builder().hedging(Hedging::off());
/// # let _ = (builder, off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hedging {
    /// Whether calls hedge at all. Default: on.
    pub enabled: bool,
    /// The shortest hedge delay, however fast the target usually is.
    /// Default: 250 ms, a fifth of a typical first token.
    pub min_delay: Duration,
    /// The longest hedge delay. Default: 120 s, so a healthy model whose
    /// long answers take a minute or two is not hedged.
    pub max_delay: Duration,
    /// The delay of a target with no success measured yet (of the same
    /// kind). Default: 120 s, the longest delay: a new target's first,
    /// possibly long answer is not mistaken for a hang (a hedge that beat
    /// it would leave the target without a sample and hedged for good), so
    /// a hang on a target that never answered costs up to two minutes.
    pub initial_delay: Duration,
    /// Most hedges as a share of calls (0 to 1). Default: 0.5: enough for
    /// a model hanging on a third of its calls to keep serving the rest
    /// while every hang is hedged, and a hard stop on doubling the load.
    pub max_share: f32,
    /// Most hedges of an attempt that is already generating, as a share
    /// of calls (0 to 1): a stream whose response head arrived but whose
    /// first token is late. A hedge of it pays for a second generation,
    /// where a hedge of a hung attempt (nothing arrived) pays for none.
    /// Default: 0.1. (A completion's head arrives with its answer, so a
    /// late completion never counts as generating.)
    pub max_generating_share: f32,
}

impl Default for Hedging {
    fn default() -> Self {
        Self {
            enabled: true,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(120),
            initial_delay: Duration::from_secs(120),
            max_share: 0.5,
            max_generating_share: 0.1,
        }
    }
}

impl Hedging {
    /// No hedging.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// Which models may serve a request in place of the one it asks for: an
/// equivalence constraint, per request
/// ([`Chat::fallback`](crate::Chat::fallback)). The cascade never serves a
/// request from outside it, and the response says whether the model that
/// served was the one asked for
/// ([`ChatResponse::is_requested_model`](crate::ChatResponse::is_requested_model)).
/// For work that must be exact (code, extraction, anything compared with
/// earlier answers), a fallback that answers differently is not a rescue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Fallback {
    /// Any target of the request's chain (the default).
    #[default]
    Any,
    /// Only the requested model, on any endpoint that lists it.
    SameModel,
    /// Only models of a capability tier the requested model is in
    /// ([`capability_tier`](crate::NeuralBridgeBuilder::capability_tier));
    /// the requested model alone when it is in none.
    SameTier,
    /// Only these models (and the requested one).
    Models(Vec<String>),
}

/// What a stream does when it fails after content has reached the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum StreamPolicy {
    /// End with a `stream_interrupted` error that carries the partial text;
    /// never a truncated success.
    #[default]
    Error,
    /// Continue on the next target with the partial answer as an assistant
    /// prefill (or restart cleanly where prefill is not supported, with a
    /// [`StreamEvent::Restarted`](crate::StreamEvent::Restarted) event).
    /// A failure whose category's policy is to fail (by default a content
    /// filter or an invalid request reported inside the stream) ends the
    /// stream as `Error` does.
    Continue,
}

/// Opt-in graceful degradation: what [`create`](crate::Chat::create)
/// returns when every candidate failed (not when the request itself is
/// wrong), clearly marked by [`ChatResponse::degradation`](crate::ChatResponse::degradation).
///
/// A [`stream`](crate::Chat::stream) that fails before any content replays
/// the same answer as one chunk, then a summary marked by
/// [`StreamSummary::degradation`](crate::StreamSummary::degradation); a
/// stream interrupted after content is never patched with one. Completions
/// and streams of the same request share last good answers (a streamed
/// answer is kept when it is plain text on one choice).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Degradation {
    /// This answer, served by `"neuralbridge:static"`.
    StaticAnswer(String),
    /// The last good answer to the same request (same first model, same
    /// messages and parameters), if it is at most `max_age` old. The client
    /// keeps the last 1024 answers.
    LastGood {
        /// The oldest answer worth serving.
        max_age: Duration,
    },
    /// The last good answer as above, else this static answer.
    LastGoodOrStatic {
        /// The oldest answer worth serving.
        max_age: Duration,
        /// The answer when no recent one is cached.
        answer: String,
    },
}

impl Degradation {
    pub(crate) fn max_age(&self) -> Option<Duration> {
        match self {
            Self::StaticAnswer(_) => None,
            Self::LastGood { max_age } | Self::LastGoodOrStatic { max_age, .. } => Some(*max_age),
        }
    }

    pub(crate) fn static_answer(&self) -> Option<&str> {
        match self {
            Self::StaticAnswer(answer) | Self::LastGoodOrStatic { answer, .. } => Some(answer),
            Self::LastGood { .. } => None,
        }
    }
}

/// The category whose policy handles `diagnosis`: its own, but an invalid
/// request about the target's setup ([`Diagnosis::about_target`]: a wrong
/// path, an operation the deployment does not offer) fails every request
/// there, so it is handled as a missing model: elsewhere at once.
pub(crate) fn policy_category(diagnosis: &Diagnosis) -> ErrorCategory {
    if diagnosis.about_target {
        ErrorCategory::ModelNotFound
    } else {
        diagnosis.category
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_limits_never_exceed_max_retries() {
        assert_eq!(Retries::Never.allowed(3), 0);
        assert_eq!(Retries::Default.allowed(3), 3);
        assert_eq!(Retries::UpTo(1).allowed(3), 1);
        assert_eq!(Retries::UpTo(5).allowed(3), 3);
        assert_eq!(Retries::UpTo(1).allowed(0), 0);
    }

    #[test]
    fn the_default_table_follows_the_taxonomy() {
        let t = PolicyTable::default();
        for category in ErrorCategory::ALL {
            let p = t.get(category);
            let retries = p.retry_limit().allowed(2) > 0;
            // Nothing is retried that cannot succeed (`unknown` is retried
            // only when its diagnosis says it is retryable).
            assert_eq!(
                retries,
                category.retryable_by_default() || category == ErrorCategory::Unknown,
                "{category}"
            );
            // Only a wrong request ends the call without trying elsewhere.
            let fails = p.fallback_rule() == FallbackRule::Never;
            assert_eq!(
                fails,
                matches!(
                    category,
                    ErrorCategory::InvalidRequest | ErrorCategory::ContentFilter
                ),
                "{category}"
            );
        }
        assert!(t.get(ErrorCategory::Auth).rotates_key());
        assert_eq!(
            t.get(ErrorCategory::Timeout).retry_limit(),
            Retries::UpTo(1)
        );
        assert_eq!(
            t.get(ErrorCategory::ContextLength).fallback_rule(),
            FallbackRule::LargerContext
        );
        // Every category worth a retry prefers an available alternative.
        for category in ErrorCategory::ALL {
            let p = t.get(category);
            assert_eq!(
                p.falls_back_first(),
                p.retry_limit().allowed(2) > 0,
                "{category}"
            );
        }
        assert_eq!(
            t.get(ErrorCategory::Overloaded),
            CategoryPolicy::fallback_else_retry()
        );
    }

    #[test]
    fn overrides_replace_one_category() {
        let mut t = PolicyTable::default();
        t.set(ErrorCategory::ContentFilter, CategoryPolicy::fallback());
        assert_eq!(
            t.get(ErrorCategory::ContentFilter).fallback_rule(),
            FallbackRule::Any
        );
        assert_eq!(t.get(ErrorCategory::InvalidRequest), CategoryPolicy::fail());
    }

    #[test]
    fn policies_print_as_in_the_readme() {
        assert_eq!(
            CategoryPolicy::retry_then_fallback().to_string(),
            "retry up to max_retries, then fall back"
        );
        assert_eq!(
            CategoryPolicy::default_for(ErrorCategory::RateLimit).to_string(),
            "fall back at once if another target is available, else retry up to max_retries, then fall back"
        );
        assert_eq!(
            CategoryPolicy::default_for(ErrorCategory::Overloaded).to_string(),
            "fall back at once if another target is available, else retry up to max_retries, then fall back"
        );
        assert_eq!(
            CategoryPolicy::fallback_else_retry()
                .retries(Retries::Never)
                .to_string(),
            "fall back",
            "nothing to retry: a plain fallback"
        );
        assert_eq!(
            CategoryPolicy::default_for(ErrorCategory::Auth).to_string(),
            "rotate key, then fall back"
        );
        assert_eq!(
            CategoryPolicy::default_for(ErrorCategory::Timeout).to_string(),
            "fall back at once if another target is available, else retry at most once, then fall back"
        );
        assert_eq!(
            CategoryPolicy::fallback_to(FallbackRule::LargerContext)
                .same_provider()
                .to_string(),
            "fall back to a larger window (same provider)"
        );
        assert_eq!(CategoryPolicy::fail().to_string(), "fail");
    }

    fn diagnose(failure: &nb_diagnose::Failure<'_>) -> Diagnosis {
        nb_diagnose::DiagnosisEngine::new().diagnose(failure)
    }

    #[test]
    fn the_next_step_narrows_the_policy_by_the_diagnosis() {
        use nb_diagnose::Failure;

        // A wait that fits the cap is sat out by each retry.
        let d = diagnose(&Failure::http(429, "{}").header("retry-after", "3"));
        let step = NextStep::with_defaults(&d);
        assert!(step.retries_same_target() && step.no_retry.is_none());
        assert_eq!(step.wait, Some(Duration::from_secs(3)));
        assert_eq!(
            step.policy,
            CategoryPolicy::default_for(ErrorCategory::RateLimit)
        );
        assert!(
            step.to_string()
                .ends_with("; each retry after the server's wait of 3 s"),
            "{step}"
        );

        // One beyond the backoff's max_wait, the one cap: no retry.
        let d = diagnose(&Failure::http(429, "{}").header("retry-after", "2.5"));
        let tight = default_backoff().with_max_wait(Duration::from_secs(2));
        let step = CategoryPolicy::default_for(d.category).next_step(&d, &tight);
        assert_eq!(
            step.no_retry,
            Some(NoRetry::WaitBeyondCap {
                wait: Duration::from_millis(2500),
                cap: Duration::from_secs(2)
            })
        );
        assert_eq!(step.wait, None);
        assert_eq!(
            step.to_string(),
            "fall back (the server's 2.5 s wait is longer than the 2 s cap)"
        );

        // Not retryable by the diagnosis: the policy's retries are dropped.
        let d = diagnose(&Failure::http(500, "{}").header("x-should-retry", "false"));
        let step = NextStep::with_defaults(&d);
        assert_eq!(step.no_retry, Some(NoRetry::NotRetryable));
        assert_eq!(step.to_string(), "fall back (not retryable on this model)");

        // A policy that never retries needs no reason.
        let d = diagnose(&Failure::http(
            400,
            r#"{"error":{"code":"content_filter","message":"content management policy"}}"#,
        ));
        assert_eq!(d.category, ErrorCategory::ContentFilter);
        let step = NextStep::with_defaults(&d);
        assert_eq!((step.no_retry, step.to_string().as_str()), (None, "fail"));

        // A timeout names the own-timer exception.
        let d = diagnose(&Failure::http(504, "upstream timed out"));
        assert!(
            NextStep::with_defaults(&d)
                .to_string()
                .ends_with("a timeout the client's own timer measured falls back at once")
        );
    }
}
