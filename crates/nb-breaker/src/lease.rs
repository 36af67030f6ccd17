//! A replica's share of a fleet's rate limit: units leased from a shared
//! store in batches and spent here, one atomic operation per request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::duration_nanos;
use crate::shared::LeaseRate;

/// The shortest wait a starved lease reports: the next refill is on its
/// way (or late, the store slow), and a caller must not spin on it.
const MIN_WAIT_NS: u64 = 10_000_000;

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
    /// Units borrowed beyond the lease, to charge to the fleet.
    pub owed: u64,
}

impl LeaseNeed {
    /// Units to lease now: enough for what was asked since the last lease
    /// (twice that if requests went without), at least the largest single
    /// ask and one unit, never more than the fleet's burst, less what is
    /// held, plus what was borrowed. An idle replica keeps one unit, so its
    /// next request does not wait for a lease.
    pub fn want(&self, rate: LeaseRate) -> u64 {
        let mut level = self.asked.max(self.largest).max(1);
        if self.starved {
            level = level.saturating_mul(2);
        }
        level
            .min(rate.burst.max(1))
            .saturating_sub(self.held)
            .saturating_add(self.owed)
    }
}

/// One kind's lease (requests or tokens). Inactive, it admits everything
/// and the limiter's own limits rule alone: before the first lease, and
/// while the store is away.
///
/// A lease sized to the last round runs dry when a burst follows a quiet
/// spell. While the fleet had room at the last lease, the replica may then
/// borrow up to its credit (a second of the limit) and the next lease
/// charges the fleet for it: the burst is served where the caller asked,
/// and the fleet's count stays whole. With no room at the last lease there
/// is no credit, so a fleet at its limit is held to it.
#[derive(Debug, Default)]
pub(crate) struct Lease {
    active: AtomicBool,
    held: AtomicU64,
    asked: AtomicU64,
    largest: AtomicU64,
    starved: AtomicBool,
    /// How far the replica may borrow now.
    credit: AtomicU64,
    /// Until when the credit holds (epoch nanoseconds): a lease that is
    /// not renewed (the store slow) lends nothing on old news.
    credit_until: AtomicU64,
    /// The largest single ask ever seen: a credit is never smaller.
    biggest: AtomicU64,
    /// Units borrowed and not yet charged to the fleet.
    owed: AtomicU64,
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

    /// Checks for `units` (what a request would find), counting nothing:
    /// a refusal marks the lease starved, which doubles the next ask.
    #[inline]
    pub(crate) fn peek(&self, units: u64, now_ns: u64) -> Result<(), u64> {
        if !self.active.load(Ordering::Acquire)
            || self.held.load(Ordering::Relaxed) >= units
            || self.may_borrow(units, self.owed.load(Ordering::Relaxed), now_ns)
        {
            return Ok(());
        }
        Err(self.starve(now_ns))
    }

    /// Spends `units`, returning what to refund if a later cell says no.
    #[inline]
    pub(crate) fn reserve(&self, units: u64, now_ns: u64) -> Result<u64, u64> {
        if !self.active.load(Ordering::Acquire) {
            return Ok(0);
        }
        let spent = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                h.checked_sub(units)
            })
            .is_ok();
        match spent || self.borrow(units, now_ns) {
            true => {
                self.count(units);
                Ok(units)
            }
            false => Err(self.starve(now_ns)),
        }
    }

    fn count(&self, units: u64) {
        self.asked.fetch_add(units, Ordering::Relaxed);
        self.largest.fetch_max(units, Ordering::Relaxed);
        self.biggest.fetch_max(units, Ordering::Relaxed);
    }

    pub(crate) fn biggest(&self) -> u64 {
        self.biggest.load(Ordering::Relaxed)
    }

    /// Whether `units` more fit the credit, with `owed` borrowed already.
    fn may_borrow(&self, units: u64, owed: u64, now_ns: u64) -> bool {
        now_ns < self.credit_until.load(Ordering::Relaxed)
            && owed.saturating_add(units) <= self.credit.load(Ordering::Relaxed)
    }

    /// Borrows `units` within the credit.
    fn borrow(&self, units: u64, now_ns: u64) -> bool {
        self.owed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                self.may_borrow(units, o, now_ns).then(|| o + units)
            })
            .is_ok()
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
            owed: self.owed.load(Ordering::Relaxed),
        }
    }

    /// Adds `granted` units, less what they repay of what was borrowed.
    /// A starved request is told to wait until the next lease or the
    /// fleet's next unit (`retry_in` from `now_ns`). `credit` is how far
    /// the replica may borrow until the next grant. The first grant puts
    /// the lease in force.
    pub(crate) fn grant(&self, granted: u64, credit: u64, retry_in: Duration, now_ns: u64) {
        let mut repaid = 0;
        let _ = self
            .owed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                repaid = o.min(granted);
                Some(o - repaid)
            });
        self.held.fetch_add(granted - repaid, Ordering::Relaxed);
        self.credit.store(credit, Ordering::Relaxed);
        // Two rounds: the next lease renews it, or the store is late.
        let lasts = duration_nanos(retry_in).saturating_mul(2);
        self.credit_until
            .store(now_ns.saturating_add(lasts), Ordering::Relaxed);
        self.next_ns.store(
            now_ns.saturating_add(duration_nanos(retry_in)),
            Ordering::Relaxed,
        );
        self.active.store(true, Ordering::Release);
    }

    /// Takes the lease out of force (the store is away: the limiter's own
    /// limits rule) and returns the units held, to hand back.
    pub(crate) fn end(&self) -> u64 {
        self.active.store(false, Ordering::Release);
        // A debt the fleet cannot be told of is forgiven: its own limits
        // rule now.
        self.owed.store(0, Ordering::Relaxed);
        self.credit.store(0, Ordering::Relaxed);
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
        lease.grant(2, 0, Duration::from_millis(100), 0);
        assert_eq!(lease.reserve(1, 0), Ok(1));
        assert_eq!(lease.reserve(1, 0), Ok(1));
        assert_eq!(lease.peek(1, 0), Err(100_000_000));
        assert_eq!(lease.reserve(1, 40_000_000), Err(60_000_000));
        assert_eq!(lease.reserve(1, 95_000_000), Err(MIN_WAIT_NS));
        // Past the due time the wait is short but never zero.
        assert_eq!(lease.reserve(1, 500_000_000), Err(MIN_WAIT_NS));
        let need = lease.need();
        // Two spent; the refusals count nothing, but went without.
        assert_eq!(
            need,
            LeaseNeed {
                asked: 2,
                largest: 1,
                held: 0,
                starved: true,
                owed: 0,
            }
        );
        // Asked 2 and went without: 4 wanted.
        assert_eq!(need.want(RATE), 4);
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
            owed: 0,
        };
        assert_eq!(busy.want(RATE), 7);
        let big = LeaseNeed {
            asked: 0,
            largest: 4_000,
            held: 0,
            starved: false,
            owed: 0,
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
        lease.grant(3, 0, Duration::ZERO, 0);
        assert_eq!(lease.reserve(1, 0), Ok(1));
        assert_eq!(lease.end(), 2);
        assert!(!lease.is_active());
        assert_eq!(lease.reserve(100, 0), Ok(0));
    }

    #[test]
    fn a_burst_after_a_quiet_spell_borrows_within_the_credit_and_the_next_lease_charges_it() {
        let lease = Lease::default();
        // The fleet had room: a credit of 10.
        lease.grant(1, 10, Duration::from_millis(250), 0);
        for _ in 0..11 {
            assert!(lease.reserve(1, 0).is_ok());
        }
        assert!(lease.peek(1, 0).is_err());
        assert!(lease.reserve(1, 0).is_err());
        let need = lease.need();
        assert_eq!(need.owed, 10);
        // Eleven asked (and one refused check): the lease wants a burst,
        // plus the ten it owes.
        assert_eq!(need.want(RATE), 20);
        // The fleet grants 14: ten repay the debt, four are held; no room
        // is left, so no credit.
        lease.grant(14, 0, Duration::from_millis(100), 0);
        assert_eq!(lease.need().held, 4);
        for _ in 0..4 {
            assert!(lease.reserve(1, 0).is_ok());
        }
        assert_eq!(lease.reserve(1, 0), Err(100_000_000));
        // A credit lapses unless a lease renews it within two rounds.
        lease.grant(0, 5, Duration::from_millis(250), 0);
        assert!(lease.peek(1, 500_000_000).is_err());
        // A store that goes away forgives the debt with the lease.
        assert!(lease.reserve(1, 0).is_ok());
        assert_eq!(lease.end(), 0);
        assert_eq!(lease.need().owed, 0);
    }
}
