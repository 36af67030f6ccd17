//! The breaker's public vocabulary: states, outcomes, rejections, events,
//! metrics and snapshots.

use std::fmt;
use std::time::{Duration, Instant};

// Named by the docs' links only.
#[cfg(doc)]
use super::{CircuitBreaker, CircuitBreakerConfig, DEFAULT_PROBE_HINT};

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum CircuitState {
    /// Calls flow; outcomes are judged by the trip policy.
    Closed,
    /// Calls are rejected until the recovery timeout has passed.
    Open,
    /// A few probe calls are let through to see whether the model recovered.
    HalfOpen,
    /// Manually opened: every call is rejected until [`CircuitBreaker::reset`].
    ForcedOpen,
    /// Manually disabled: every call is admitted, nothing is judged.
    Disabled,
    /// Every call is admitted; outcomes are judged, and when the breaker
    /// would open it emits [`BreakerEvent::WouldOpen`] instead.
    MetricsOnly,
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
            Self::ForcedOpen => "forced-open",
            Self::Disabled => "disabled",
            Self::MetricsOnly => "metrics-only",
        })
    }
}

/// How a call went, as the caller classifies it.
///
/// The breaker never inspects errors itself: the caller (for NeuralBridge,
/// the diagnosis) decides. A request the server rightly refused (a 400, a
/// context-length error) or a call the caller cancelled is `Ignored`: it
/// says nothing about the model's health and must not trip the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// The call succeeded.
    Success,
    /// The call failed in a way that counts against the model (a 5xx, an
    /// overload, a timeout, a broken response).
    Failure,
    /// The call completed but too slowly. Under the failure-rate policy it
    /// counts towards the slow-call rate; under consecutive failures it
    /// counts as a failure; a slow probe fails.
    Slow,
    /// Neither success nor failure: a caller error or a cancellation.
    Ignored,
    /// The call failed for a reason that holds for every call until something outside
    /// changes: the account ran out of credit, the key lost access to the model, the model
    /// is gone. A failure that opens the breaker at once, whatever the policy, so calls stop
    /// going to the target and its probes find out when it is back (a probe that fails this
    /// way reopens it, for longer).
    Persistent,
    /// The provider throttled the call (a 429). Counted apart from failures,
    /// so a throttled model is paced, not declared dead: with a
    /// `retry_after`, the breaker rejects further calls with
    /// [`RejectReason::Throttled`] until then (capped by
    /// [`CircuitBreakerConfig::max_throttle`]).
    RateLimited {
        /// The provider's wait (Retry-After), if it gave one.
        retry_after: Option<Duration>,
    },
}

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The breaker is open; `retry_after` is the time until it lets a probe
    /// through.
    Open,
    /// The breaker is half-open and every probe slot is taken;
    /// `retry_after` is how long the last probe took (or
    /// [`DEFAULT_PROBE_HINT`]).
    HalfOpenBusy,
    /// The breaker was forced open; `retry_after` is `Duration::MAX`.
    ForcedOpen,
    /// The provider rate-limited this model; `retry_after` is what remains
    /// of its Retry-After.
    Throttled,
}

/// A call the breaker did not admit, and how long until it might.
///
/// The facade uses `retry_after` to choose between waiting and falling over
/// to another model, rather than spinning on this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Rejected {
    /// How long until the breaker may admit a call again.
    pub retry_after: Duration,
    /// Why it did not admit this one.
    pub reason: RejectReason,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wait = self.retry_after;
        match self.reason {
            RejectReason::Open => write!(f, "circuit open: next probe in {wait:.1?}"),
            RejectReason::HalfOpenBusy => write!(
                f,
                "circuit half-open with every probe slot taken: retry in about {wait:.1?}"
            ),
            RejectReason::ForcedOpen => f.write_str("circuit forced open until reset"),
            RejectReason::Throttled => {
                write!(f, "rate-limited by the provider: retry in {wait:.1?}")
            }
        }
    }
}

impl std::error::Error for Rejected {}

/// Something that happened to a breaker, as its observer sees it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BreakerEvent {
    /// The state changed.
    Transition(Transition),
    /// In metrics-only mode, the trip condition held: a normal breaker would
    /// have opened now. The condition's counters start over.
    WouldOpen {
        /// When.
        at: Instant,
        /// What held.
        cause: TransitionCause,
    },
}

/// A change of state.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Transition {
    /// The state before.
    pub from: CircuitState,
    /// The state after.
    pub to: CircuitState,
    /// When it happened: the `now` of the call that caused it, or for
    /// open → half-open the instant the recovery timeout ended.
    pub at: Instant,
    /// What caused it.
    pub cause: TransitionCause,
    /// For a transition to open: how long it stays open.
    pub open_for: Option<Duration>,
}

/// What caused a transition.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum TransitionCause {
    /// The consecutive-failures threshold was reached.
    ConsecutiveFailures {
        /// Failures in a row.
        count: u32,
    },
    /// The failure rate over the window reached its threshold.
    FailureRate {
        /// The rate, in percent.
        percent: f32,
        /// Calls in the window.
        calls: u64,
    },
    /// The slow-call rate over the window reached its threshold.
    SlowCallRate {
        /// The rate, in percent.
        percent: f32,
        /// Calls in the window.
        calls: u64,
    },
    /// A call failed in a way that holds for every call ([`CallOutcome::Persistent`]).
    PersistentFailure,
    /// The open duration passed; the breaker lets probes through.
    RecoveryTimeoutElapsed,
    /// A half-open probe failed (or was slow).
    ProbeFailed,
    /// Enough probes succeeded.
    ProbesSucceeded {
        /// Successful probes.
        successes: u32,
    },
    /// A manual call: [`CircuitBreaker::force_open`],
    /// [`disable`](CircuitBreaker::disable),
    /// [`metrics_only`](CircuitBreaker::metrics_only) or
    /// [`reset`](CircuitBreaker::reset).
    Manual,
    /// [`CircuitBreaker::restore`].
    Restored,
}

/// Counters since the breaker was created (or restored), plus the live
/// values of its trip policy.
///
/// Every permit ends in exactly one of `successes`, `failures`, `ignored`,
/// `rate_limited` or `abandoned`; `slow` counts slow calls among
/// `successes` and `failures`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
#[non_exhaustive]
pub struct BreakerMetrics {
    /// Calls recorded as successful (including slow successes).
    pub successes: u64,
    /// Calls recorded as failed (including slow failures).
    pub failures: u64,
    /// Calls that were slow, by classification or measured latency.
    pub slow: u64,
    /// Calls recorded as ignored.
    pub ignored: u64,
    /// Calls recorded as rate-limited.
    pub rate_limited: u64,
    /// Permits dropped without an outcome.
    pub abandoned: u64,
    /// Calls rejected by [`CircuitBreaker::try_acquire`].
    pub rejected: u64,
    /// Times the breaker opened (from closed or from half-open).
    pub opened: u64,
    /// Failures in a row right now (consecutive-failures policy, closed).
    pub consecutive_failures: u32,
    /// Trips since the last success streak: the open duration is
    /// `recovery_timeout × recovery_multiplier^(trip_level − 1)`, capped.
    pub trip_level: u32,
}

impl BreakerMetrics {
    /// Permits that have ended: every outcome plus `abandoned` (saturating:
    /// restored counters may come from anywhere).
    pub fn permits_ended(&self) -> u64 {
        [
            self.failures,
            self.ignored,
            self.rate_limited,
            self.abandoned,
        ]
        .into_iter()
        .fold(self.successes, u64::saturating_add)
    }
}

/// What [`CircuitBreaker::snapshot`] saves and [`CircuitBreaker::restore`]
/// brings back, for persistence across restarts (serde behind the `serde`
/// feature). Times are stored as what remains, so the snapshot means the
/// same thing whenever it is restored.
///
/// Without serde, rebuild one from your own storage by starting from
/// `BreakerSnapshot::default()` (closed, nothing counted) and setting its
/// fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// The state (half-open is restored as open with nothing remaining, so
    /// the next call probes: probes of the old process are gone).
    pub state: CircuitState,
    /// For an open breaker: time until it half-opens.
    pub open_remaining: Duration,
    /// Time left of a provider's Retry-After.
    pub throttle_remaining: Duration,
    /// The counters, trip level and consecutive failures.
    pub metrics: BreakerMetrics,
}

impl Default for BreakerSnapshot {
    fn default() -> Self {
        Self {
            state: CircuitState::Closed,
            open_remaining: Duration::ZERO,
            throttle_remaining: Duration::ZERO,
            metrics: BreakerMetrics::default(),
        }
    }
}
