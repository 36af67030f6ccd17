//! How a balancer chooses, judges health and recovers.

use std::time::Duration;

/// How [`LoadBalancer::select`](crate::LoadBalancer::select) chooses among the
/// targets that are eligible for a request.
///
/// Every strategy sees the same eligible set: targets not already tried for
/// this request, accepted by the caller's filter, and not excluded for poor
/// health (unless the balancer is in panic mode).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum LoadBalancingStrategy {
    /// Uniformly at random.
    Random,
    /// In turn: with every target eligible, each of `n` targets gets exactly
    /// one of any `n` consecutive selections. An ineligible target's turn
    /// goes to the next eligible one.
    RoundRobin,
    /// Weighted random, with each target's weight proportional to
    /// `1 / latency`, where latency is the target's latency EWMA (the prior
    /// latency until a result moves it): a target twice as fast gets twice
    /// the traffic. Random rather than "always the fastest", which would herd
    /// every request onto one model until it tips over.
    #[default]
    WeightedResponseTime,
    /// The target with the fewest requests in flight (counted by
    /// [`InFlight`](crate::InFlight) guards); ties are broken uniformly at
    /// random.
    LeastConnections,
    /// Like [`WeightedResponseTime`](Self::WeightedResponseTime), with each
    /// weight multiplied by `1 - p`, where `p` is the
    /// [`Predictor`](crate::Predictor)'s failure probability; targets with
    /// `p >= predictive_threshold` are skipped. If every eligible target is at
    /// or above the threshold, the one with the lowest `p` is chosen. Without
    /// a predictor this is exactly `WeightedResponseTime`.
    Predictive,
    /// The first eligible target in the order the targets were added: an
    /// ordered priority list with health filtering.
    Fallback,
    /// Power of two choices: sample two distinct eligible targets uniformly
    /// and take the one with the lower cost, `peak_ewma × (in_flight + 1)`.
    /// The peak EWMA jumps to any slower sample at once, decays towards faster
    /// ones, and decays towards zero while a target is idle (time constant
    /// [`LoadBalancerConfig::peak_ewma_decay`]) so an avoided target is
    /// eventually tried again.
    PowerOfTwoChoices,
}

/// When a target is excluded for poor health, and when it returns.
///
/// The health score is `0.7 × success_rate + 0.3 × latency_score`, both in
/// `0.0..=1.0` (see [`ModelStats`](crate::ModelStats) for their
/// definitions). A target whose score falls below
/// [`exclude_below`](Self::exclude_below) is excluded; it returns only after
/// a success (normally a probe) lifts its score to at least
/// [`restore_at`](Self::restore_at), a higher bar, so a target hovering near
/// the threshold does not flap in and out.
///
/// A healthy target is judged when a failure is recorded for it; a target
/// that is not healthy is judged at every result.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct HealthPolicy {
    /// A target scoring below this is excluded. Default `0.5`.
    pub exclude_below: f64,
    /// An excluded target returns when a success lifts its score to at least
    /// this. Default `0.6`; values below `exclude_below` are raised to it.
    pub restore_at: f64,
    /// No target is excluded on fewer results than this in the window.
    /// Default `5`.
    pub min_requests: u32,
    /// At most `floor(targets × max_excluded_fraction)` targets are excluded
    /// at once; an unhealthy target beyond the cap stays in rotation as
    /// [`HealthState::Degraded`](crate::HealthState::Degraded). Default
    /// `0.5`, clamped to `0.0..=1.0`. Below `1.0` a lone target is never
    /// excluded (its cap rounds down to zero); at `1.0` every target may be,
    /// and selection goes on in panic mode or through the fallback strategy.
    pub max_excluded_fraction: f64,
    /// Panic mode: when fewer than `targets × panic_threshold` targets are
    /// [`Healthy`](crate::HealthState::Healthy), health is ignored and
    /// traffic spreads over every target rather than crushing the last
    /// healthy ones. Default `0.5`, clamped to `0.0..=1.0`; `0.0` disables
    /// panic mode.
    pub panic_threshold: f64,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            exclude_below: 0.5,
            restore_at: 0.6,
            min_requests: 5,
            max_excluded_fraction: 0.5,
            panic_threshold: 0.5,
        }
    }
}

/// What a balancer assumes about a target it has no data for.
///
/// A new target is not scored on zero samples. Its latency is
/// [`latency`](Self::latency) until its first success, and its success rate
/// is smoothed towards [`success_rate`](Self::success_rate) as if it had
/// already seen [`weight`](Self::weight) results at that rate:
/// `success_rate = (successes + weight × prior) / (requests + weight)`.
/// The same applies once a target's window has emptied: no recent data means
/// back to the prior.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Prior {
    /// Assumed latency until a result moves the estimate: the first success,
    /// or a failure slower than the prior. Default 1 s.
    pub latency: Duration,
    /// Assumed success rate, clamped to `0.0..=1.0`. Default `0.8`: neutral,
    /// well clear of exclusion but below a target with a clean record.
    pub success_rate: f64,
    /// How many results the prior is worth. Default `3.0`; `0.0` turns
    /// smoothing off (a target with no results then scores on the prior
    /// alone).
    pub weight: f64,
}

impl Default for Prior {
    fn default() -> Self {
        Self {
            latency: Duration::from_secs(1),
            success_rate: 0.8,
            weight: 3.0,
        }
    }
}

/// Configuration of a [`LoadBalancer`](crate::LoadBalancer).
///
/// Build it with struct update syntax:
///
/// ```
/// use std::time::Duration;
///
/// use nb_route::{LoadBalancerConfig, LoadBalancingStrategy};
///
/// let config = LoadBalancerConfig {
///     strategy: LoadBalancingStrategy::WeightedResponseTime,
///     health_check_interval: Duration::from_secs(60),
///     enable_auto_recovery: true,
///     fallback_strategy: LoadBalancingStrategy::Random,
///     ..LoadBalancerConfig::default()
/// };
/// # let _ = config;
/// ```
///
/// Out-of-range values never panic: each field says how it is clamped.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct LoadBalancerConfig {
    /// How to choose among eligible targets. Default
    /// [`WeightedResponseTime`](LoadBalancingStrategy::WeightedResponseTime).
    pub strategy: LoadBalancingStrategy,
    /// How to choose when every target the caller would accept is excluded
    /// for health: rather than returning nothing, the balancer picks among
    /// them with this strategy, ignoring health. Default
    /// [`Random`](LoadBalancingStrategy::Random).
    pub fallback_strategy: LoadBalancingStrategy,
    /// How long an excluded target waits before a probe; also how long a
    /// probe may stay unanswered before another is sent. Default 60 s.
    pub health_check_interval: Duration,
    /// Let excluded targets back in for a probe after
    /// `health_check_interval`. Default `true`. Without it an excluded target
    /// returns only through traffic it gets in panic mode or from the
    /// fallback strategy, or through
    /// [`LoadBalancer::restore`](crate::LoadBalancer::restore).
    pub enable_auto_recovery: bool,
    /// The sliding window for request and success counts and latency
    /// percentiles, kept as six slots of `window / 6`; the oldest slot
    /// expires whole. Default 60 s; at least 6 ms.
    pub window: Duration,
    /// Weight of the newest sample in the latency EWMA. Default `0.2`,
    /// clamped to `0.01..=1.0`.
    pub ewma_alpha: f64,
    /// Time constant of the peak EWMA used by
    /// [`PowerOfTwoChoices`](LoadBalancingStrategy::PowerOfTwoChoices).
    /// Default 10 s; at least 1 ms.
    pub peak_ewma_decay: Duration,
    /// [`Predictive`](LoadBalancingStrategy::Predictive) skips targets whose
    /// predicted failure probability is at or above this (the NeuralBridge
    /// Python SDK's `degradation_threshold`). Default `0.7`.
    pub predictive_threshold: f64,
    /// Exclusion, recovery, the exclusion cap and panic mode.
    pub health: HealthPolicy,
    /// What is assumed about a target with no data.
    pub prior: Prior,
    /// Seed for the balancer's random choices, for reproducible tests and
    /// simulations. `None` (the default) draws from a per-thread generator.
    /// A seeded balancer shares one generator state between threads: its
    /// sequence is reproducible from a single thread.
    pub seed: Option<u64>,
}

impl Default for LoadBalancerConfig {
    fn default() -> Self {
        Self {
            strategy: LoadBalancingStrategy::WeightedResponseTime,
            fallback_strategy: LoadBalancingStrategy::Random,
            health_check_interval: Duration::from_secs(60),
            enable_auto_recovery: true,
            window: Duration::from_secs(60),
            ewma_alpha: 0.2,
            peak_ewma_decay: Duration::from_secs(10),
            predictive_threshold: 0.7,
            health: HealthPolicy::default(),
            prior: Prior::default(),
            seed: None,
        }
    }
}

/// Replaces NaN with `default` and clamps into `lo..=hi`.
fn clamp_or(v: f64, lo: f64, hi: f64, default: f64) -> f64 {
    if v.is_nan() { default } else { v.clamp(lo, hi) }
}

impl LoadBalancerConfig {
    /// The config with every field brought into its documented range.
    pub(crate) fn sanitized(mut self) -> Self {
        let d = Self::default();
        self.window = self.window.max(Duration::from_millis(6));
        self.ewma_alpha = clamp_or(self.ewma_alpha, 0.01, 1.0, d.ewma_alpha);
        self.peak_ewma_decay = self.peak_ewma_decay.max(Duration::from_millis(1));
        self.predictive_threshold =
            clamp_or(self.predictive_threshold, 0.0, 1.0, d.predictive_threshold);
        let h = &mut self.health;
        h.exclude_below = clamp_or(h.exclude_below, 0.0, 1.0, d.health.exclude_below);
        h.restore_at =
            clamp_or(h.restore_at, h.exclude_below, 1.0, d.health.restore_at).max(h.exclude_below);
        h.max_excluded_fraction = clamp_or(
            h.max_excluded_fraction,
            0.0,
            1.0,
            d.health.max_excluded_fraction,
        );
        h.panic_threshold = clamp_or(h.panic_threshold, 0.0, 1.0, d.health.panic_threshold);
        let p = &mut self.prior;
        p.latency = p.latency.max(Duration::from_nanos(1));
        p.success_rate = clamp_or(p.success_rate, 0.0, 1.0, d.prior.success_rate);
        p.weight = clamp_or(p.weight, 0.0, f64::MAX, d.prior.weight);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_docs() {
        let c = LoadBalancerConfig::default();
        assert_eq!(c.strategy, LoadBalancingStrategy::WeightedResponseTime);
        assert_eq!(LoadBalancingStrategy::default(), c.strategy);
        assert_eq!(c.fallback_strategy, LoadBalancingStrategy::Random);
        assert_eq!(c.health_check_interval, Duration::from_secs(60));
        assert!(c.enable_auto_recovery);
        assert_eq!(c.predictive_threshold, 0.7);
        assert_eq!(c.health.exclude_below, 0.5);
        assert!(c.health.restore_at > c.health.exclude_below);
        assert_eq!(c.clone().sanitized(), c, "defaults are already in range");
    }

    #[test]
    fn sanitizing_clamps_every_out_of_range_field() {
        let c = LoadBalancerConfig {
            window: Duration::ZERO,
            ewma_alpha: f64::NAN,
            peak_ewma_decay: Duration::ZERO,
            predictive_threshold: 7.0,
            health: HealthPolicy {
                exclude_below: 0.9,
                restore_at: 0.1,
                min_requests: 0,
                max_excluded_fraction: -1.0,
                panic_threshold: f64::INFINITY,
            },
            prior: Prior {
                latency: Duration::ZERO,
                success_rate: 2.0,
                weight: -3.0,
            },
            ..LoadBalancerConfig::default()
        }
        .sanitized();
        assert_eq!(c.window, Duration::from_millis(6));
        assert_eq!(c.ewma_alpha, 0.2);
        assert_eq!(c.peak_ewma_decay, Duration::from_millis(1));
        assert_eq!(c.predictive_threshold, 1.0);
        assert_eq!(
            c.health.restore_at, 0.9,
            "restore bar never below the exclusion bar"
        );
        assert_eq!(c.health.max_excluded_fraction, 0.0);
        assert_eq!(c.health.panic_threshold, 1.0);
        assert_eq!(c.prior.latency, Duration::from_nanos(1));
        assert_eq!(c.prior.success_rate, 1.0);
        assert_eq!(c.prior.weight, 0.0);
    }
}
