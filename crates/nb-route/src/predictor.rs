//! The boundary between routing and prediction.

use std::time::Instant;

/// Estimates how likely a call to a model is to fail soon.
///
/// `nb-learn`'s `PredictiveEngine` implements this. A balancer with the
/// [`Predictive`](crate::LoadBalancingStrategy::Predictive) strategy asks it
/// once per eligible target on every selection (so it should be cheap),
/// skips targets at or above
/// [`predictive_threshold`](crate::LoadBalancerConfig::predictive_threshold)
/// and weighs the others by `(1 - p) / latency`. The trait is object safe;
/// install one with
/// [`LoadBalancer::set_predictor`](crate::LoadBalancer::set_predictor).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Instant;
///
/// use nb_route::{LoadBalancer, LoadBalancerConfig, LoadBalancingStrategy, Predictor};
///
/// /// Expects gpt-4o to fail (say, a known outage window).
/// struct Outage;
///
/// impl Predictor for Outage {
///     fn failure_probability(&self, model: &str, _now: Instant) -> f64 {
///         if model == "gpt-4o" { 0.9 } else { 0.05 }
///     }
/// }
///
/// let lb = LoadBalancer::new(
///     ["gpt-4o", "qwen-max"],
///     LoadBalancerConfig {
///         strategy: LoadBalancingStrategy::Predictive,
///         ..LoadBalancerConfig::default()
///     },
/// );
/// lb.set_predictor(Arc::new(Outage));
/// let now = Instant::now();
/// for _ in 0..20 {
///     assert_eq!(lb.select_model(now).unwrap().name(), "qwen-max");
/// }
/// ```
pub trait Predictor: Send + Sync {
    /// The probability, in `0.0..=1.0`, that a call to `model` (a
    /// [`Target::name`](crate::Target::name)) made at `now` fails. The
    /// balancer clamps values outside the range and treats NaN as `0.0`
    /// (no information).
    fn failure_probability(&self, model: &str, now: Instant) -> f64;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quarter;

    impl Predictor for Quarter {
        fn failure_probability(&self, _model: &str, _now: Instant) -> f64 {
            0.25
        }
    }

    #[test]
    fn a_predictor_can_be_shared_as_a_trait_object() {
        let p: std::sync::Arc<dyn Predictor> = std::sync::Arc::new(Quarter);
        let shared = std::sync::Arc::clone(&p);
        let seen = std::thread::spawn(move || shared.failure_probability("m", Instant::now()))
            .join()
            .unwrap();
        assert_eq!(seen, 0.25);
        assert_eq!(p.failure_probability("m", Instant::now()), 0.25);
    }
}
