//! [`CircuitBreakerBuilder`]: a breaker from a validated configuration and an
//! optional observer.

use std::fmt;

use super::BreakerEvent;
use super::{CircuitBreaker, CircuitBreakerConfig, ConfigError, Observer};

/// Builds a [`CircuitBreaker`] from a validated configuration, with an
/// optional observer.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Instant;
/// use nb_breaker::{BreakerEvent, CircuitBreaker, CircuitBreakerConfig, CircuitState};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let breaker = CircuitBreaker::builder()
///     .config(CircuitBreakerConfig::consecutive_failures(1))
///     .on_event(move |e| {
///         if let BreakerEvent::Transition(t) = e {
///             log.lock().unwrap().push((t.from, t.to));
///         }
///     })
///     .build()?;
/// let now = Instant::now();
/// breaker.try_acquire(now)?.failure(now);
/// assert_eq!(*seen.lock().unwrap(), [(CircuitState::Closed, CircuitState::Open)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct CircuitBreakerBuilder {
    pub(super) config: CircuitBreakerConfig,
    pub(super) observer: Option<Observer>,
}

impl fmt::Debug for CircuitBreakerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerBuilder")
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl CircuitBreakerBuilder {
    /// The configuration (default: [`CircuitBreakerConfig::default`]).
    pub fn config(mut self, config: CircuitBreakerConfig) -> Self {
        self.config = config;
        self
    }

    /// Calls `observer` on every [`BreakerEvent`], synchronously, on the
    /// thread whose call caused it. Keep it cheap (push to a channel, bump
    /// a metric); it must not call back into this breaker's state changes.
    pub fn on_event<F>(mut self, observer: F) -> Self
    where
        F: Fn(&BreakerEvent) + Send + Sync + 'static,
    {
        self.observer = Some(Box::new(observer));
        self
    }

    /// The breaker, or the first configuration value out of range.
    pub fn build(self) -> Result<CircuitBreaker, ConfigError> {
        self.config.validate()?;
        Ok(CircuitBreaker::with_observer(self.config, self.observer))
    }
}
