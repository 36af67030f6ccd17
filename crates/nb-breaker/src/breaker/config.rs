//! What a circuit breaker trips on and how it recovers.

use std::fmt;
use std::time::Duration;

/// The largest count a threshold or probe limit may take (2²⁰ − 1): the
/// breaker packs its counters into one atomic word.
pub const MAX_THRESHOLD: u32 = (1 << 20) - 1;

/// The largest count-based sliding window: one byte per call slot, so the
/// largest window costs about 10 KiB per breaker.
pub const MAX_COUNT_WINDOW: u32 = 10_000;

/// The shortest time-based sliding window.
pub const MIN_TIME_WINDOW: Duration = Duration::from_millis(10);

/// How a [`CircuitBreaker`](crate::CircuitBreaker) is configured.
///
/// Every field has a default; start from `CircuitBreakerConfig::default()`
/// and change what you need. [`CircuitBreaker::new`](crate::CircuitBreaker::new)
/// clamps out-of-range values into range; [`validate`](Self::validate) (and
/// [`CircuitBreakerBuilder::build`](crate::CircuitBreakerBuilder::build))
/// reports them instead, which is what a configuration loaded from a file
/// wants.
///
/// ```
/// use std::time::Duration;
/// use nb_breaker::{CircuitBreakerConfig, FailureRatePolicy, SlidingWindow, TripPolicy};
///
/// let config = CircuitBreakerConfig {
///     policy: TripPolicy::FailureRate(FailureRatePolicy {
///         window: SlidingWindow::Time(Duration::from_secs(60)),
///         minimum_calls: 20,
///         ..FailureRatePolicy::default()
///     }),
///     recovery_timeout: Duration::from_secs(10),
///     ..CircuitBreakerConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct CircuitBreakerConfig {
    /// What trips the breaker while it is closed. Default: a failure rate
    /// of 50 % over the last 10 s, judged on at least 10 calls (see
    /// [`TripPolicy::default`]).
    pub policy: TripPolicy,
    /// How long the breaker stays open after its first trip before it lets
    /// a probe through. Default: 2 s, so a model back after a short outage
    /// takes its traffic back within seconds (Polly's default break is 5 s;
    /// an LLM provider's blips are often shorter).
    pub recovery_timeout: Duration,
    /// Each further trip without a success streak in between multiplies the
    /// open duration by this factor (1 keeps it constant). Default: 1: the
    /// open duration grows with the incident's age instead (see
    /// `recovery_age_percent`).
    pub recovery_multiplier: u32,
    /// The open duration is at least this percentage (0–100) of the
    /// incident's age: the time since the breaker first tripped after a
    /// healthy period (`trip_reset_streak` successes end an incident). So a
    /// fresh outage is probed every `recovery_timeout`, while a target dead
    /// for ten minutes is probed every two and a half: the growth limits
    /// how often a long-dead target is probed, not how soon a short outage
    /// ends. 0 turns it off. Default: 25.
    pub recovery_age_percent: u32,
    /// The cap on the growing open duration. Default: 5 min (Envoy's
    /// `max_ejection_time`).
    pub max_recovery_timeout: Duration,
    /// Successful probes needed in half-open to close again. Default: 2.
    pub success_threshold: u32,
    /// Probes allowed in flight at once while half-open. Default: 2, so
    /// closing takes one answer's time, not two in a row.
    pub half_open_max_probes: u32,
    /// Consecutive successes while closed that reset the growing open
    /// duration back to `recovery_timeout`. Default: 10.
    pub trip_reset_streak: u32,
    /// The longest a rate-limited outcome's `retry_after` pauses the breaker
    /// (it rejects with [`RejectReason::Throttled`](crate::RejectReason::Throttled)
    /// until then); zero turns pausing off. Default: 60 s.
    pub max_throttle: Duration,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            policy: TripPolicy::default(),
            recovery_timeout: Duration::from_secs(2),
            recovery_multiplier: 1,
            recovery_age_percent: 25,
            max_recovery_timeout: Duration::from_secs(300),
            success_threshold: 2,
            half_open_max_probes: 2,
            trip_reset_streak: 10,
            max_throttle: Duration::from_secs(60),
        }
    }
}

/// What trips a closed breaker.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TripPolicy {
    /// Open after this many failures in a row; a success resets the count.
    /// A [`Slow`](crate::CallOutcome::Slow) outcome counts as a failure here:
    /// the policy has no separate slow-call rate.
    ConsecutiveFailures {
        /// Failures in a row that open the breaker. Default: 5.
        failure_threshold: u32,
    },
    /// Open when the failure rate or the slow-call rate over a sliding
    /// window reaches its threshold, once the window holds
    /// `minimum_calls` calls (resilience4j's semantics).
    FailureRate(FailureRatePolicy),
}

impl Default for TripPolicy {
    /// A failure rate of 50 % over a 10 s time window with at least 10
    /// calls (judged by the lower end of its 95 % confidence interval), or
    /// 20 failures in a row; slow calls judged only when every call of the
    /// window is one. A model failing 30 % of its calls still
    /// serves the 70 % (five failures in a row, common at that rate under
    /// load, would eject it; twenty in a row happen at that rate about once
    /// in 10¹⁰ calls), while an outage trips within seconds at any traffic,
    /// and at once under heavy traffic (the twenty in a row), without
    /// waiting for the window's older successes to age out. Time-sampled as
    /// Polly's circuit breaker is, with resilience4j's 50 % threshold. No
    /// slow-call duration: an LLM answer's length varies too much for one
    /// bar; the client reports a call a hedge outran as slow.
    fn default() -> Self {
        Self::FailureRate(FailureRatePolicy {
            window: SlidingWindow::Time(Duration::from_secs(10)),
            minimum_calls: 10,
            failure_rate_threshold: 50.0,
            slow_call_duration: None,
            slow_call_rate_threshold: 100.0,
            consecutive_failures: Some(20),
            confidence_z: Some(1.96),
        })
    }
}

/// The failure-rate trip policy, with resilience4j's names and defaults.
///
/// After every recorded call the breaker computes, over the window, the
/// percentage of calls that failed and the percentage that were slow (a
/// call can be both). It opens when the window holds at least
/// `minimum_calls` calls (for a count-based window, at most its size) and
/// either percentage is at or above its threshold. The window is emptied
/// whenever the breaker opens and again as it closes, so a closed breaker
/// always judges calls made since it last closed.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct FailureRatePolicy {
    /// The calls the rates are computed over. Default: the last 100 calls.
    pub window: SlidingWindow,
    /// Calls the window must hold before a rate is judged. Default: 100.
    pub minimum_calls: u32,
    /// Failure percentage (0–100] that opens the breaker. Default: 50.
    pub failure_rate_threshold: f32,
    /// A call that takes at least this long (acquire to record) counts as
    /// slow, whatever its outcome; `None` leaves slowness to the caller's
    /// [`Slow`](crate::CallOutcome::Slow). Default: 60 s.
    pub slow_call_duration: Option<Duration>,
    /// Slow-call percentage (0–100] that opens the breaker. Default: 100.
    pub slow_call_rate_threshold: f32,
    /// Also open after this many failures in a row, whatever the window
    /// says: under heavy traffic an outage then trips at once instead of
    /// when the window's older successes have aged out. Default: `None`
    /// (resilience4j has no such rule).
    pub consecutive_failures: Option<u32>,
    /// Judge the failure rate by the lower end of its Wilson score
    /// interval at this many standard deviations (1.96: 95 % two-sided)
    /// instead of the rate itself, so a few calls that happen to fail
    /// often do not trip the breaker while an outage still does (ten
    /// failures in ten calls: at least 72 %). The slow-call rate is judged
    /// as measured. Default: `None` (resilience4j's plain rate).
    pub confidence_z: Option<f32>,
}

impl Default for FailureRatePolicy {
    fn default() -> Self {
        Self {
            window: SlidingWindow::default(),
            minimum_calls: 100,
            failure_rate_threshold: 50.0,
            slow_call_duration: Some(Duration::from_secs(60)),
            slow_call_rate_threshold: 100.0,
            consecutive_failures: None,
            confidence_z: None,
        }
    }
}

/// The sliding window of the failure-rate policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum SlidingWindow {
    /// The last `n` recorded calls (1 ..= [`MAX_COUNT_WINDOW`]).
    Count(u32),
    /// The calls recorded in the last `d` (at least [`MIN_TIME_WINDOW`]),
    /// aggregated in ten buckets: calls age out a tenth of the window at a
    /// time.
    Time(Duration),
}

impl Default for SlidingWindow {
    fn default() -> Self {
        Self::Count(100)
    }
}

/// A configuration value out of range.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A count or duration that must be positive is zero.
    Zero {
        /// The field, as named in the config struct.
        field: &'static str,
    },
    /// A count is above its largest allowed value.
    TooLarge {
        /// The field, as named in the config struct.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A duration is below its smallest allowed value.
    TooShort {
        /// The field, as named in the config struct.
        field: &'static str,
        /// The value given.
        value: Duration,
        /// The smallest value allowed.
        min: Duration,
    },
    /// A percentage is outside (0, 100].
    NotAPercentage {
        /// The field, as named in the config struct.
        field: &'static str,
        /// The value given.
        value: f32,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero { field } => write!(f, "`{field}` must be greater than zero"),
            Self::TooLarge { field, value, max } => {
                write!(f, "`{field}` is {value}, above the maximum of {max}")
            }
            Self::TooShort { field, value, min } => {
                write!(f, "`{field}` is {value:?}, below the minimum of {min:?}")
            }
            Self::NotAPercentage { field, value } => {
                write!(f, "`{field}` is {value}, not a percentage in (0, 100]")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

fn count(field: &'static str, value: u32, max: u32) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::Zero { field })
    } else if value > max {
        Err(ConfigError::TooLarge {
            field,
            value: value.into(),
            max: max.into(),
        })
    } else {
        Ok(())
    }
}

fn percent(field: &'static str, value: f32) -> Result<(), ConfigError> {
    // `!(0 < v <= 100)` also rejects NaN.
    if value > 0.0 && value <= 100.0 {
        Ok(())
    } else {
        Err(ConfigError::NotAPercentage { field, value })
    }
}

fn clamp_percent(value: f32) -> f32 {
    if value.is_nan() {
        100.0
    } else {
        value.clamp(f32::MIN_POSITIVE, 100.0)
    }
}

impl CircuitBreakerConfig {
    /// The defaults with a consecutive-failures policy of `failure_threshold`.
    pub fn consecutive_failures(failure_threshold: u32) -> Self {
        Self {
            policy: TripPolicy::ConsecutiveFailures { failure_threshold },
            ..Self::default()
        }
    }

    /// The defaults with the given failure-rate policy.
    pub fn failure_rate(policy: FailureRatePolicy) -> Self {
        Self {
            policy: TripPolicy::FailureRate(policy),
            ..Self::default()
        }
    }

    /// Checks every field, returning the first out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match &self.policy {
            TripPolicy::ConsecutiveFailures { failure_threshold } => {
                count("failure_threshold", *failure_threshold, MAX_THRESHOLD)?;
            }
            TripPolicy::FailureRate(p) => {
                match p.window {
                    SlidingWindow::Count(n) => count("window", n, MAX_COUNT_WINDOW)?,
                    SlidingWindow::Time(d) if d < MIN_TIME_WINDOW => {
                        return Err(ConfigError::TooShort {
                            field: "window",
                            value: d,
                            min: MIN_TIME_WINDOW,
                        });
                    }
                    SlidingWindow::Time(_) => {}
                }
                count("minimum_calls", p.minimum_calls, u32::MAX)?;
                percent("failure_rate_threshold", p.failure_rate_threshold)?;
                percent("slow_call_rate_threshold", p.slow_call_rate_threshold)?;
                if let Some(n) = p.consecutive_failures {
                    count("consecutive_failures", n, MAX_THRESHOLD)?;
                }
                if let Some(z) = p.confidence_z
                    && !(z.is_finite() && z > 0.0)
                {
                    return Err(ConfigError::NotAPercentage {
                        field: "confidence_z",
                        value: z,
                    });
                }
                if p.slow_call_duration == Some(Duration::ZERO) {
                    return Err(ConfigError::Zero {
                        field: "slow_call_duration",
                    });
                }
            }
        }
        count("success_threshold", self.success_threshold, MAX_THRESHOLD)?;
        count(
            "half_open_max_probes",
            self.half_open_max_probes,
            MAX_THRESHOLD,
        )?;
        count("trip_reset_streak", self.trip_reset_streak, MAX_THRESHOLD)?;
        count("recovery_multiplier", self.recovery_multiplier, u32::MAX)?;
        if self.recovery_age_percent > 100 {
            return Err(ConfigError::TooLarge {
                field: "recovery_age_percent",
                value: self.recovery_age_percent.into(),
                max: 100,
            });
        }
        if self.max_recovery_timeout < self.recovery_timeout {
            return Err(ConfigError::TooShort {
                field: "max_recovery_timeout",
                value: self.max_recovery_timeout,
                min: self.recovery_timeout,
            });
        }
        Ok(())
    }

    /// The same configuration with every field clamped into range, so that
    /// `normalized().validate()` is always `Ok`.
    pub fn normalized(&self) -> Self {
        let c = |v: u32, max: u32| v.clamp(1, max);
        let policy = match &self.policy {
            TripPolicy::ConsecutiveFailures { failure_threshold } => {
                TripPolicy::ConsecutiveFailures {
                    failure_threshold: c(*failure_threshold, MAX_THRESHOLD),
                }
            }
            TripPolicy::FailureRate(p) => TripPolicy::FailureRate(FailureRatePolicy {
                window: match p.window {
                    SlidingWindow::Count(n) => SlidingWindow::Count(c(n, MAX_COUNT_WINDOW)),
                    SlidingWindow::Time(d) => SlidingWindow::Time(d.max(MIN_TIME_WINDOW)),
                },
                minimum_calls: p.minimum_calls.max(1),
                failure_rate_threshold: clamp_percent(p.failure_rate_threshold),
                slow_call_duration: p.slow_call_duration.filter(|d| !d.is_zero()),
                slow_call_rate_threshold: clamp_percent(p.slow_call_rate_threshold),
                consecutive_failures: p.consecutive_failures.map(|n| c(n, MAX_THRESHOLD)),
                confidence_z: p.confidence_z.filter(|z| z.is_finite() && *z > 0.0),
            }),
        };
        Self {
            policy,
            recovery_timeout: self.recovery_timeout,
            recovery_multiplier: self.recovery_multiplier.max(1),
            recovery_age_percent: self.recovery_age_percent.min(100),
            max_recovery_timeout: self.max_recovery_timeout.max(self.recovery_timeout),
            success_threshold: c(self.success_threshold, MAX_THRESHOLD),
            half_open_max_probes: c(self.half_open_max_probes, MAX_THRESHOLD),
            trip_reset_streak: c(self.trip_reset_streak, MAX_THRESHOLD),
            max_throttle: self.max_throttle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_a_partly_healthy_model_and_probe_soon() {
        let c = CircuitBreakerConfig::default();
        // (The behaviour these give is tested in `breaker::tests`.)
        let TripPolicy::FailureRate(p) = &c.policy else {
            panic!("a failure-rate policy: {:?}", c.policy);
        };
        assert_eq!(p.window, SlidingWindow::Time(Duration::from_secs(10)));
        assert_eq!((p.minimum_calls, p.consecutive_failures), (10, Some(20)));
        assert_eq!(c.recovery_timeout, Duration::from_secs(2));
        assert_eq!(c.recovery_age_percent, 25);
        assert_eq!(c.success_threshold, 2);
        assert_eq!(c.validate(), Ok(()));
        let r = FailureRatePolicy::default();
        assert_eq!(r.window, SlidingWindow::Count(100));
        assert_eq!(r.minimum_calls, 100);
        assert_eq!(r.failure_rate_threshold, 50.0);
        assert_eq!(CircuitBreakerConfig::failure_rate(r).validate(), Ok(()));
    }

    #[test]
    fn validate_names_the_bad_field() {
        let zero = CircuitBreakerConfig::consecutive_failures(0);
        assert_eq!(
            zero.validate(),
            Err(ConfigError::Zero {
                field: "failure_threshold"
            })
        );
        let probes = CircuitBreakerConfig {
            half_open_max_probes: MAX_THRESHOLD + 1,
            ..Default::default()
        };
        assert!(matches!(
            probes.validate(),
            Err(ConfigError::TooLarge {
                field: "half_open_max_probes",
                ..
            })
        ));
        let rate = CircuitBreakerConfig::failure_rate(FailureRatePolicy {
            failure_rate_threshold: f32::NAN,
            ..Default::default()
        });
        assert!(matches!(
            rate.validate(),
            Err(ConfigError::NotAPercentage {
                field: "failure_rate_threshold",
                ..
            })
        ));
        let window = CircuitBreakerConfig::failure_rate(FailureRatePolicy {
            window: SlidingWindow::Time(Duration::from_millis(1)),
            ..Default::default()
        });
        assert!(matches!(
            window.validate(),
            Err(ConfigError::TooShort {
                field: "window",
                ..
            })
        ));
        let cap = CircuitBreakerConfig {
            max_recovery_timeout: Duration::from_secs(1),
            ..Default::default()
        };
        assert!(cap.validate().is_err());
        assert!(
            cap.validate()
                .unwrap_err()
                .to_string()
                .contains("max_recovery_timeout")
        );
    }

    #[test]
    fn normalized_is_always_valid() {
        let wild = CircuitBreakerConfig {
            policy: TripPolicy::FailureRate(FailureRatePolicy {
                window: SlidingWindow::Count(u32::MAX),
                minimum_calls: 0,
                failure_rate_threshold: -3.0,
                slow_call_duration: Some(Duration::ZERO),
                slow_call_rate_threshold: f32::NAN,
                consecutive_failures: Some(0),
                confidence_z: Some(f32::NAN),
            }),
            recovery_timeout: Duration::from_secs(100),
            recovery_multiplier: 0,
            recovery_age_percent: u32::MAX,
            max_recovery_timeout: Duration::ZERO,
            success_threshold: 0,
            half_open_max_probes: u32::MAX,
            trip_reset_streak: 0,
            max_throttle: Duration::MAX,
        };
        assert!(wild.validate().is_err());
        assert_eq!(wild.normalized().validate(), Ok(()));
        let valid = CircuitBreakerConfig::default();
        assert_eq!(valid.normalized(), valid);
    }
}
