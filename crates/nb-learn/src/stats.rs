//! The Wilson score interval for a binomial proportion, and how rates are
//! written for people.

use std::fmt;

/// A rate in `0..=1` written as a percentage: whole percents, one decimal
/// under 1% so a small non-zero rate does not read as `0%`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Percent(pub(crate) f64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = if self.0.is_finite() {
            self.0 * 100.0
        } else {
            0.0
        };
        if pct > 0.0 && pct < 1.0 {
            write!(f, "{pct:.1}%")
        } else {
            write!(f, "{pct:.0}%")
        }
    }
}

/// The Wilson score interval `(lower, upper)` for `k` events in `n` trials
/// at `z` standard deviations.
///
/// Unlike the normal approximation it stays inside `0..=1` and behaves at
/// `k = 0` and `k = n`, which is where failure rates live. With no trials
/// it is the whole range. `k` is clamped to `n`, and `z` taken as `|z|` (a
/// negative width would turn the interval inside out).
pub(crate) fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = z.abs();
    let n_f = n as f64;
    let p = k.min(n) as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    ((center - half).max(0.0), (center + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn percentages() {
        let p = |r| Percent(r).to_string();
        assert_eq!(
            [p(0.61), p(0.03), p(0.0), p(1.0), p(0.004), p(f64::NAN)],
            ["61%", "3%", "0%", "100%", "0.4%", "0%"]
        );
    }

    #[test]
    fn known_values() {
        // 61 of 100 at z = 1.96: the textbook interval is about 0.512..0.700.
        let (lo, hi) = wilson(61, 100, 1.96);
        assert!((lo - 0.512).abs() < 0.002, "{lo}");
        assert!((hi - 0.700).abs() < 0.002, "{hi}");
        // No failures in 300 calls still leaves room above zero.
        let (lo, hi) = wilson(0, 300, 3.0);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.0 && hi < 0.05, "{hi}");
        assert_eq!(wilson(5, 0, 3.0), (0.0, 1.0));
        // The interval at -z is the one at z, never one turned inside out.
        assert_eq!(wilson(3, 40, -3.0), wilson(3, 40, 3.0));
    }

    proptest! {
        #[test]
        fn interval_is_ordered_and_holds_the_estimate(k in 0u64..10_000, n in 1u64..10_000, z in -4.0f64..4.0) {
            let (lo, hi) = wilson(k, n, z);
            let p = k.min(n) as f64 / n as f64;
            prop_assert!(0.0 <= lo && lo <= p + 1e-12 && p <= hi + 1e-12 && hi <= 1.0);
        }
    }
}
