//! The boundary between routing and prediction.

use std::time::Instant;

/// Estimates how likely a call to a model is to fail soon.
///
/// `nb-learn`'s `PredictiveEngine` implements this; the
/// `Predictive` strategy asks it before every selection and steers away
/// from models whose probability crosses the configured threshold. The
/// trait is object safe so a balancer can hold an `Arc<dyn Predictor>`.
pub trait Predictor: Send + Sync {
    /// The probability, in `0.0..=1.0`, that a call to `model` made at
    /// `now` fails. Values outside the range are clamped by the caller.
    fn failure_probability(&self, model: &str, now: Instant) -> f64;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Predictor) {}
}
