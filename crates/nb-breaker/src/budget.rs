//! A retry budget: retries may be at most a ratio of recent first attempts,
//! plus a small floor, so an outage cannot turn into a retry storm.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::buckets::TimeBuckets;
use crate::clock::Epoch;

/// The shortest window a budget accepts.
pub const MIN_BUDGET_TTL: Duration = Duration::from_millis(100);

/// Milli-retries per retry: deposits of a fractional ratio stay exact.
const UNIT: i128 = 1000;

/// How a [`RetryBudget`] is sized. The defaults are tower's and Finagle's.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct RetryBudgetConfig {
    /// How long a first attempt keeps funding retries, and a retry keeps
    /// counting against them (at least [`MIN_BUDGET_TTL`]). The window
    /// moves a tenth of `ttl` at a time, so each counts for between
    /// 0.9 × `ttl` and `ttl`. Default: 10 s.
    pub ttl: Duration,
    /// Retries always allowed per second of `ttl`, whatever the traffic, so
    /// a quiet client can still retry. Default: 10.
    pub min_retries_per_second: u32,
    /// Retries each first attempt funds (0.2: one retry per five
    /// attempts). Default: 0.2.
    pub retry_ratio: f32,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            min_retries_per_second: 10,
            retry_ratio: 0.2,
        }
    }
}

/// A lock-free, time-windowed retry budget (tower's `TpsBudget`, gRPC's
/// retry throttling).
///
/// Call [`deposit`](Self::deposit) for every first attempt and
/// [`try_withdraw`](Self::try_withdraw) before every retry. The window is
/// ten buckets of `ttl / 10` and moves a bucket at a time: a deposit or a
/// withdrawal counts from the moment it is made until its bucket ages out,
/// between 0.9 × `ttl` and `ttl` later. A withdrawal succeeds only if,
/// with it, the withdrawals in the window are at most
/// `min_retries_per_second × ttl + retry_ratio × deposits in the window`;
/// so over any span of 0.9 × `ttl` no more retries succeed than that
/// (a full `ttl` can straddle eleven buckets, and up to twice that can
/// succeed in it). Under contention a withdrawal that races another for
/// the last unit may fail where a serial one would have succeeded; it never
/// lets more through.
///
/// ```
/// use std::time::{Duration, Instant};
/// use nb_breaker::{RetryBudget, RetryBudgetConfig};
///
/// let budget = RetryBudget::new(RetryBudgetConfig {
///     min_retries_per_second: 0,
///     retry_ratio: 0.2,
///     ..RetryBudgetConfig::default()
/// });
/// let now = Instant::now();
/// for _ in 0..10 {
///     budget.deposit(now);
/// }
/// assert!(budget.try_withdraw(now));
/// assert!(budget.try_withdraw(now));
/// assert!(!budget.try_withdraw(now)); // 20% of 10 first attempts: 2 retries
/// // Ten seconds later the attempts have aged out, and so have the retries.
/// assert_eq!(budget.balance(now + Duration::from_secs(10)), 0);
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    /// `[first attempts, retries]` per bucket.
    buckets: TimeBuckets<2>,
    reserve: i128,
    per_deposit: i128,
    epoch: Epoch,
    config: RetryBudgetConfig,
}

impl RetryBudget {
    /// A budget sized by `config`; a ttl under [`MIN_BUDGET_TTL`] is raised
    /// to it, a ratio that is negative or not a number taken as 0, one
    /// above 1000 as 1000.
    pub fn new(config: RetryBudgetConfig) -> Self {
        let ttl = config.ttl.max(MIN_BUDGET_TTL);
        let ratio = if config.retry_ratio.is_nan() {
            0.0
        } else {
            config.retry_ratio.clamp(0.0, 1000.0)
        };
        let reserve = f64::from(config.min_retries_per_second) * ttl.as_secs_f64() * UNIT as f64;
        Self {
            buckets: TimeBuckets::new(ttl),
            // `as` saturates; both values are finite and non-negative here.
            reserve: reserve.round() as i128,
            per_deposit: (f64::from(ratio) * UNIT as f64).round() as i128,
            epoch: Epoch::default(),
            config: RetryBudgetConfig {
                ttl,
                retry_ratio: ratio,
                ..config
            },
        }
    }

    /// The configuration in force (after clamping).
    pub fn config(&self) -> &RetryBudgetConfig {
        &self.config
    }

    /// Records a first attempt at `now`.
    #[inline]
    pub fn deposit(&self, now: Instant) {
        if let Some(c) = self.buckets.current(self.epoch.nanos(now)) {
            c[0].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes one retry from the budget at `now`, if there is one.
    pub fn try_withdraw(&self, now: Instant) -> bool {
        let now_ns = self.epoch.nanos(now);
        let Some(c) = self.buckets.current(now_ns) else {
            return false;
        };
        c[1].fetch_add(1, Ordering::Relaxed);
        if self.milli_balance(now_ns) >= 0 {
            return true;
        }
        // Overdrawn: give the retry back.
        let _ = c[1].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
        false
    }

    /// Retries that could be withdrawn at `now`.
    pub fn balance(&self, now: Instant) -> u64 {
        let milli = self.milli_balance(self.epoch.nanos(now));
        u64::try_from(milli / UNIT).unwrap_or(if milli < 0 { 0 } else { u64::MAX })
    }

    fn milli_balance(&self, now_ns: u64) -> i128 {
        let [deposits, withdrawals] = self.buckets.sum(now_ns);
        self.reserve + self.per_deposit * i128::from(deposits) - UNIT * i128::from(withdrawals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(min: u32, ratio: f32) -> RetryBudget {
        RetryBudget::new(RetryBudgetConfig {
            ttl: Duration::from_secs(10),
            min_retries_per_second: min,
            retry_ratio: ratio,
        })
    }

    #[test]
    fn the_floor_allows_retries_without_traffic() {
        let b = budget(2, 0.2);
        let now = Instant::now();
        assert_eq!(b.balance(now), 20);
        for _ in 0..20 {
            assert!(b.try_withdraw(now));
        }
        assert!(!b.try_withdraw(now));
        assert_eq!(b.balance(now), 0);
    }

    #[test]
    fn deposits_fund_a_ratio_of_retries() {
        let b = budget(0, 0.25);
        let now = Instant::now();
        for _ in 0..3 {
            b.deposit(now);
        }
        assert!(!b.try_withdraw(now)); // 0.75 of a retry
        b.deposit(now);
        assert!(b.try_withdraw(now));
        assert!(!b.try_withdraw(now));
    }

    #[test]
    fn old_attempts_and_retries_age_out() {
        let b = budget(0, 1.0);
        let t0 = Instant::now();
        b.deposit(t0);
        b.deposit(t0 + Duration::from_secs(5));
        assert!(b.try_withdraw(t0 + Duration::from_secs(5)));
        assert_eq!(b.balance(t0 + Duration::from_secs(9)), 1);
        // The first deposit has aged out; the withdrawal still balances the second.
        assert_eq!(b.balance(t0 + Duration::from_secs(10)), 0);
        // Both have aged out.
        assert_eq!(b.balance(t0 + Duration::from_secs(15)), 0);
        b.deposit(t0 + Duration::from_secs(15));
        assert_eq!(b.balance(t0 + Duration::from_secs(15)), 1);
    }

    #[test]
    fn the_window_moves_a_tenth_at_a_time() {
        // 10 s window in 1 s buckets; a floor of 20 retries, no ratio.
        let b = budget(2, 0.0);
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(b.balance(at(0)), 20); // fixes the epoch at t0
        // Drained at the very end of the second bucket (1 s to 2 s)...
        for _ in 0..20 {
            assert!(b.try_withdraw(at(1_999)));
        }
        assert!(!b.try_withdraw(at(1_999)));
        // ...those withdrawals still count 9.001 s later (over 0.9 × ttl)...
        assert_eq!(b.balance(at(10_999)), 0);
        assert!(!b.try_withdraw(at(10_999)));
        // ...and have aged out with their bucket at 11 s, 9.001 s after
        // they were made (under the full ttl).
        assert_eq!(b.balance(at(11_000)), 20);
    }

    #[test]
    fn an_outage_cannot_become_a_retry_storm() {
        // 1000 first attempts all fail; each wants up to 3 retries.
        let b = budget(1, 0.1);
        let now = Instant::now();
        let mut retries = 0;
        for _ in 0..1000 {
            b.deposit(now);
            for _ in 0..3 {
                if b.try_withdraw(now) {
                    retries += 1;
                }
            }
        }
        assert_eq!(retries, 10 + 100);
    }

    #[test]
    fn odd_configs_are_clamped() {
        let b = RetryBudget::new(RetryBudgetConfig {
            ttl: Duration::ZERO,
            min_retries_per_second: 0,
            retry_ratio: f32::NAN,
        });
        assert_eq!(b.config().ttl, MIN_BUDGET_TTL);
        assert_eq!(b.config().retry_ratio, 0.0);
        let now = Instant::now();
        b.deposit(now);
        assert!(!b.try_withdraw(now));
    }
}
