//! Time: the client reads tokio's clock, so `tokio::time::pause()` moves
//! every breaker, balancer, limiter and learner together with the sleeps.

use std::time::{Duration, Instant};

/// The current time on tokio's clock, so that `tokio::time::pause()` moves
/// every breaker, balancer, limiter and learner together with the sleeps.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The longest wait the client hands to a timer or a transport: a
/// hundred years, which every clock can add (`Duration::MAX` cannot).
pub(crate) const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `at + d`, saturating at [`FAR`] instead of overflowing (a deadline or
/// backoff of `Duration::MAX` means "never").
pub(crate) fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d.min(FAR)).unwrap_or(at)
}
