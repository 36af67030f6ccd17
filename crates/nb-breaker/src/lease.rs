//! A replica's share of a fleet's rate limit: units leased from a shared
//! store in batches and spent here, one atomic operation per request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::duration_nanos;
use crate::shared::LeaseRate;

/// The shortest wait a starved lease reports: the next refill is on its
/// way, and a caller must not spin on it.
const MIN_WAIT_NS: u64 = 1_000_000;

/// What a limiter asked of its lease since the fleet last looked, and what
/// it holds: the input of the next lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseNeed {
    /// Units requests asked for (admitted or not).
    pub asked: u64,
    /// The largest single ask (a request's token estimate).
    pub largest: u64,
    /// Units held and not spent.
    pub held: u64,
    /// A request found the lease empty.
    pub starved: bool,
}

impl LeaseNeed {
    /// Units to lease now: enough for what was asked since the last lease
    /// (twice that if requests went without), at least the largest single
    /// ask and one unit, never more than the fleet's burst, less what is
    /// held. An idle replica keeps one unit, so its next request does not
    /// wait for a lease.
    pub fn want(&self, rate: LeaseRate) -> u64 {
        let mut level = self.asked.max(self.largest).max(1);
        if self.starved {
            level = level.saturating_mul(2);
        }
        level.min(rate.burst.max(1)).saturating_sub(self.held)
    }
}

/// One kind's lease (requests or tokens). Inactive, it admits everything
/// and the limiter's own limits rule alone: before the first lease, and
/// while the store is away.
#[derive(Debug, Default)]
pub(crate) struct Lease {
    active: AtomicBool,
    held: AtomicU64,
    asked: AtomicU64,
    largest: AtomicU64,
    starved: AtomicBool,
    /// When the fleet's next unit is due (epoch nanoseconds): the wait a
    /// starved request is told.
    next_ns: AtomicU64,
}

impl Lease {
    #[inline]
    fn starve(&self, now_ns: u64) -> u64 {
        self.starved.store(true, Ordering::Relaxed);
        self.next_ns
            .load(Ordering::Relaxed)
            .saturating_sub(now_ns)
            .max(MIN_WAIT_NS)
    }

    /// Checks for `units`; a refusal counts them as asked for, so the
    /// next lease grows with demand that never got as far as a request.
    #[inline]
    pub(crate) fn peek(&self, units: u64, now_ns: u64) -> Result<(), u64> {
        if !self.active.load(Ordering::Acquire) || self.held.load(Ordering::Relaxed) >= units {
            return Ok(());
        }
        self.asked.fetch_add(units, Ordering::Relaxed);
        self.largest.fetch_max(units, Ordering::Relaxed);
        Err(self.starve(now_ns))
    }

    /// Spends `units`, returning what to refund if a later cell says no.
    #[inline]
    pub(crate) fn reserve(&self, units: u64, now_ns: u64) -> Result<u64, u64> {
        if !self.active.load(Ordering::Acquire) {
            return Ok(0);
        }
        match self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                h.checked_sub(units)
            }) {
            Ok(_) => {
                self.asked.fetch_add(units, Ordering::Relaxed);
                self.largest.fetch_max(units, Ordering::Relaxed);
                Ok(units)
            }
            // The limiter checks every limit after a refusal, which
            // counts this one as asked for.
            Err(_) => Err(self.starve(now_ns)),
        }
    }

    pub(crate) fn refund(&self, units: u64) {
        if units > 0 {
            self.held.fetch_add(units, Ordering::Relaxed);
        }
    }

    /// What was asked since the last call (which it resets), and what is held.
    pub(crate) fn need(&self) -> LeaseNeed {
        LeaseNeed {
            asked: self.asked.swap(0, Ordering::Relaxed),
            largest: self.largest.swap(0, Ordering::Relaxed),
            held: self.held.load(Ordering::Relaxed),
            starved: self.starved.swap(false, Ordering::Relaxed),
        }
    }

    /// Adds `granted` units; the fleet's next unit is due `next_in` after
    /// `now_ns`. The first grant puts the lease in force.
    pub(crate) fn grant(&self, granted: u64, next_in: Duration, now_ns: u64) {
        self.held.fetch_add(granted, Ordering::Relaxed);
        self.next_ns.store(
            now_ns.saturating_add(duration_nanos(next_in)),
            Ordering::Relaxed,
        );
        self.active.store(true, Ordering::Release);
    }

    /// Takes the lease out of force (the store is away: the limiter's own
    /// limits rule) and returns the units held, to hand back.
    pub(crate) fn end(&self) -> u64 {
        self.active.store(false, Ordering::Release);
        self.held.swap(0, Ordering::Relaxed)
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: LeaseRate = LeaseRate {
        per_minute: 600,
        burst: 10,
    };

    #[test]
    fn an_inactive_lease_admits_everything_and_counts_nothing() {
        let lease = Lease::default();
        assert_eq!(lease.reserve(5, 0), Ok(0));
        assert_eq!(lease.peek(5, 0), Ok(()));
        assert_eq!(lease.need(), LeaseNeed::default());
    }

    #[test]
    fn a_granted_lease_is_spent_then_starves_until_the_next_unit() {
        let lease = Lease::default();
        lease.grant(2, Duration::from_millis(100), 0);
        assert_eq!(lease.reserve(1, 0), Ok(1));
        assert_eq!(lease.reserve(1, 0), Ok(1));
        assert_eq!(lease.peek(1, 0), Err(100_000_000));
        assert_eq!(lease.reserve(1, 40_000_000), Err(60_000_000));
        // Past the due time the wait is short but never zero.
        assert_eq!(lease.reserve(1, 500_000_000), Err(MIN_WAIT_NS));
        let need = lease.need();
        // Two spent and a refused check (a refused request is counted by
        // the limiter's check that follows it).
        assert_eq!(
            need,
            LeaseNeed {
                asked: 3,
                largest: 1,
                held: 0,
                starved: true
            }
        );
        // Asked 3 and went without: 6 wanted.
        assert_eq!(need.want(RATE), 6);
        // The counters start again.
        assert_eq!(lease.need().asked, 0);
    }

    #[test]
    fn want_keeps_one_unit_caps_at_the_burst_and_counts_what_is_held() {
        let idle = LeaseNeed::default();
        assert_eq!(idle.want(RATE), 1);
        assert_eq!(LeaseNeed { held: 1, ..idle }.want(RATE), 0);
        let busy = LeaseNeed {
            asked: 30,
            largest: 1,
            held: 3,
            starved: true,
        };
        assert_eq!(busy.want(RATE), 7);
        let big = LeaseNeed {
            asked: 0,
            largest: 4_000,
            held: 0,
            starved: false,
        };
        let tokens = LeaseRate {
            per_minute: 60_000,
            burst: 60_000,
        };
        assert_eq!(big.want(tokens), 4_000);
    }

    #[test]
    fn ending_returns_what_is_held_and_admits_again() {
        let lease = Lease::default();
        lease.grant(3, Duration::ZERO, 0);
        assert_eq!(lease.reserve(1, 0), Ok(1));
        assert_eq!(lease.end(), 2);
        assert!(!lease.is_active());
        assert_eq!(lease.reserve(100, 0), Ok(0));
    }
}
