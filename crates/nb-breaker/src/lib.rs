//! Sans-IO resilience primitives for LLM clients: a lock-free circuit
//! breaker, backoff with jitter, a retry budget and a rate limiter for
//! requests and tokens per minute.
//!
//! Nothing here sleeps, spawns, or reads the clock: every method that
//! depends on time takes `now: Instant`, so the same code runs under any
//! async runtime (or none) and every behaviour can be tested in virtual
//! time. All four primitives are `Send + Sync`, take `&self`, and use
//! atomics rather than locks; share them with an `Arc`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use nb_breaker::{
//!     Backoff, CircuitBreaker, CircuitBreakerConfig, CircuitState, JitterConfig, RateLimiter,
//!     RateLimits, RejectReason,
//! };
//!
//! // Virtual time: a base instant plus durations.
//! let t0 = Instant::now();
//! let at = |secs: u64| t0 + Duration::from_secs(secs);
//!
//! // A breaker with the defaults: a 50 % failure rate over the last 10 s,
//! // on at least 10 calls, opens it for 2 s.
//! let breaker = CircuitBreaker::new(CircuitBreakerConfig::default());
//! for _ in 0..10 {
//!     let permit = breaker.try_acquire(at(0))?;
//!     permit.failure(at(0)); // the caller decided this call failed (a 503, say)
//! }
//! assert_eq!(breaker.state(at(0)), CircuitState::Open);
//!
//! // Rejected fast, with the time until the next probe: fall over to another model.
//! let rejected = breaker.try_acquire(at(1)).unwrap_err();
//! assert_eq!(rejected.reason, RejectReason::Open);
//! assert_eq!(rejected.retry_after, Duration::from_secs(1));
//!
//! // After the recovery timeout, probes; two successes close it again.
//! for _ in 0..2 {
//!     breaker.try_acquire(at(2))?.success(at(3));
//! }
//! assert_eq!(breaker.state(at(3)), CircuitState::Closed);
//!
//! // Exponential backoff with full jitter, reproducible from a seed.
//! let backoff = Backoff::exponential(Duration::from_millis(200), Duration::from_secs(5))
//!     .with_jitter(JitterConfig::full());
//! let mut rng = fastrand::Rng::with_seed(1);
//! let mut retry = backoff.start(at(0));
//! let first = retry.next_delay(at(0), &mut rng, None).unwrap();
//! assert!(first <= Duration::from_millis(200));
//!
//! // 60 requests per minute with a burst of 1: one request per second.
//! let limiter = RateLimiter::new(RateLimits {
//!     requests_per_minute: Some(60),
//!     request_burst: Some(1),
//!     ..RateLimits::default()
//! });
//! assert!(limiter.try_acquire(0, at(0)).is_ok());
//! assert_eq!(limiter.try_acquire(0, at(0)).unwrap_err().retry_after(), Some(Duration::from_secs(1)));
//! # Ok::<(), nb_breaker::Rejected>(())
//! ```
//!
//! # The pieces
//!
//! - [`CircuitBreaker`]: closed → open → half-open → closed, tripped by
//!   consecutive failures or by a failure-rate / slow-call-rate over a
//!   count- or time-based sliding window ([`TripPolicy`]); growing open
//!   durations on repeated trips; manual forced-open, disabled and
//!   metrics-only states; RAII [`Permit`]s; caller-classified
//!   [`CallOutcome`]s, with rate limiting counted apart from failure;
//!   transitions observed through [`CircuitBreakerBuilder::on_event`];
//!   [`snapshot`](CircuitBreaker::snapshot) and
//!   [`restore`](CircuitBreaker::restore).
//! - [`Backoff`]: constant, linear or exponential delays with a cap,
//!   [`JitterStrategy`] none / full / equal / decorrelated, an elapsed-time
//!   limit, and server hints (Retry-After) honoured up to a maximum wait;
//!   each retry sequence keeps a [`BackoffState`].
//! - [`RetryBudget`]: retries at most a ratio of recent first attempts,
//!   plus a floor.
//! - [`RateLimiter`]: requests and tokens per minute, tightened by the
//!   provider's own rate-limit headers ([`ObservedLimits`]).
//!
//! # Features
//!
//! - `serde`: `Serialize`/`Deserialize` for configurations, snapshots and
//!   metrics.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backoff;
mod breaker;
mod buckets;
mod budget;
mod clock;
mod lease;
mod limiter;
mod shared;

pub use backoff::{
    Backoff, BackoffSchedule, BackoffState, DEFAULT_MAX_WAIT, JitterConfig, JitterStrategy,
};
pub use breaker::{
    BreakerEvent, BreakerMetrics, BreakerSnapshot, CallOutcome, CircuitBreaker,
    CircuitBreakerBuilder, CircuitBreakerConfig, CircuitState, ConfigError, DEFAULT_PROBE_HINT,
    FailureRatePolicy, MAX_COUNT_WINDOW, MAX_THRESHOLD, MIN_TIME_WINDOW, Permit, RejectReason,
    Rejected, SlidingWindow, Transition, TransitionCause, TripPolicy, WindowStats,
};
pub use budget::{MIN_BUDGET_TTL, RetryBudget, RetryBudgetConfig};
// The README's example is compiled and run as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The random number generator [`BackoffState::next_delay`] takes,
/// re-exported so callers use the very version this crate was built with.
pub use fastrand;
pub use lease::LeaseNeed;
pub use limiter::{Denied, LimitKind, RateLimiter, RateLimits};
pub use nb_types::ObservedLimits;
pub use shared::{
    FleetRecord, FleetState, LeaseAsk, LeaseGrant, LeaseRate, SharedBreakers, SharedError,
    SharedFuture, SharedLimits,
};
