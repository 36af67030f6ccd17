//! Requests-per-minute and tokens-per-minute limits, paced from the
//! provider's own rate-limit headers too.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nb_types::ObservedLimits;

use crate::clock::{Epoch, duration_nanos};
use crate::lease::{Lease, LeaseNeed};
use crate::shared::{LeaseGrant, LeaseRate};

const MINUTE_NS: u64 = 60_000_000_000;

/// The limits a [`RateLimiter`] enforces on its own. `None` means no limit
/// of that kind (the provider's observed limits still apply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct RateLimits {
    /// Requests per minute.
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute (the caller estimates each request's tokens).
    pub tokens_per_minute: Option<u64>,
    /// Requests that may go at once after a quiet spell. Default: a
    /// second's worth (at least 1), so a limit of `n` per minute admits at
    /// most about `n` in any minute, and spreads them as providers that
    /// enforce per-minute limits per second expect.
    pub request_burst: Option<u32>,
    /// Tokens that may go at once after a quiet spell, and the largest
    /// single request. Default: a full minute's worth.
    pub token_burst: Option<u64>,
}

impl RateLimits {
    /// `requests` per minute and `tokens` per minute, default bursts.
    pub fn per_minute(requests: u32, tokens: u64) -> Self {
        Self {
            requests_per_minute: Some(requests),
            tokens_per_minute: Some(tokens),
            ..Self::default()
        }
    }
}

/// Which limit said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// Requests per minute (or the provider's remaining requests).
    Requests,
    /// Tokens per minute (or the provider's remaining tokens).
    Tokens,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Requests => "requests",
            Self::Tokens => "tokens",
        })
    }
}

/// A request the limiter did not admit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Denied {
    /// Try again after `retry_after` (the longest wait of any limit that
    /// said no).
    Wait {
        /// How long until the request fits.
        retry_after: Duration,
        /// The limit that needs the longest wait.
        limit: LimitKind,
    },
    /// The request needs more tokens than the token bucket can ever hold.
    TooLarge {
        /// Tokens asked for.
        cost: u64,
        /// The token burst.
        capacity: u64,
    },
}

impl Denied {
    /// How long until the request fits, or `None` if it never will.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Wait { retry_after, .. } => Some(*retry_after),
            Self::TooLarge { .. } => None,
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wait { retry_after, limit } => {
                write!(f, "{limit} rate limit reached: retry in {retry_after:.1?}")
            }
            Self::TooLarge { cost, capacity } => write!(
                f,
                "a request of {cost} tokens exceeds the token burst of {capacity}"
            ),
        }
    }
}

impl std::error::Error for Denied {}

/// One GCRA cell (the generic cell rate algorithm, a token bucket kept as a
/// single "theoretical arrival time"): `limit` units per minute, at most
/// `burst` at once.
#[derive(Debug)]
struct Gcra {
    limit: u64,
    burst: u64,
    /// How far ahead of `now` the arrival time may run: `burst` units.
    horizon: u64,
    /// The rate one unit takes (the whole cost of a request).
    one: u64,
    tat: AtomicU64,
}

/// Nanoseconds of rate that `units` take at `limit` per minute, rounded up.
fn rate_ns(limit: u64, units: u64) -> u64 {
    match units.checked_mul(MINUTE_NS) {
        Some(n) => n.div_ceil(limit),
        None => {
            let n = (u128::from(units) * u128::from(MINUTE_NS)).div_ceil(u128::from(limit));
            u64::try_from(n).unwrap_or(u64::MAX)
        }
    }
}

impl Gcra {
    fn new(limit: u64, burst: u64) -> Self {
        let limit = limit.max(1);
        let burst = burst.max(1);
        Self {
            limit,
            burst,
            horizon: rate_ns(limit, burst),
            one: rate_ns(limit, 1),
            tat: AtomicU64::new(0),
        }
    }

    #[inline]
    fn cost_ns(&self, units: u64) -> u64 {
        if units == 1 {
            self.one
        } else {
            rate_ns(self.limit, units)
        }
    }

    /// The arrival time after admitting `inc` at `now_ns`, or the wait.
    #[inline]
    fn next(&self, tat: u64, inc: u64, now_ns: u64) -> Result<u64, u64> {
        let next = tat.max(now_ns).saturating_add(inc);
        let limit = now_ns.saturating_add(self.horizon);
        if next <= limit {
            Ok(next)
        } else {
            Err(next - limit)
        }
    }

    fn peek(&self, units: u64, now_ns: u64) -> Result<(), u64> {
        self.next(
            self.tat.load(Ordering::Acquire),
            self.cost_ns(units),
            now_ns,
        )
        .map(drop)
    }

    /// Admits `units`, returning what to refund if a later cell says no.
    #[inline]
    fn reserve(&self, units: u64, now_ns: u64) -> Result<u64, u64> {
        let inc = self.cost_ns(units);
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let next = self.next(tat, inc, now_ns)?;
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(inc),
                Err(actual) => tat = actual,
            }
        }
    }

    fn refund(&self, inc: u64) {
        let _ = self
            .tat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_sub(inc))
            });
    }
}

/// A provider-reported allowance: `remaining` units until `until`.
#[derive(Debug, Default)]
struct Observed {
    /// Nanoseconds since the epoch; 0 when nothing was observed.
    until: AtomicU64,
    remaining: AtomicU64,
}

impl Observed {
    fn set(&self, remaining: u64, reset: Duration, now_ns: u64) {
        self.remaining.store(remaining, Ordering::Relaxed);
        let until = now_ns.saturating_add(duration_nanos(reset)).max(1);
        self.until.store(until, Ordering::Release);
    }

    /// The deadline while an observation is in force.
    #[inline]
    fn active(&self, now_ns: u64) -> Option<u64> {
        let until = self.until.load(Ordering::Acquire);
        (until != 0 && now_ns < until).then_some(until)
    }

    fn peek(&self, units: u64, now_ns: u64) -> Result<(), u64> {
        match self.active(now_ns) {
            Some(until) if self.remaining.load(Ordering::Relaxed) < units => Err(until - now_ns),
            _ => Ok(()),
        }
    }

    /// Takes `units`, returning what to refund if a later cell says no.
    #[inline]
    fn reserve(&self, units: u64, now_ns: u64) -> Result<u64, u64> {
        let Some(until) = self.active(now_ns) else {
            return Ok(0);
        };
        self.remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                r.checked_sub(units)
            })
            .map(|_| units)
            .map_err(|_| until - now_ns)
    }

    fn refund(&self, units: u64) {
        self.remaining.fetch_add(units, Ordering::Relaxed);
    }
}

/// One limit the limiter checks, in the order it checks them.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Observed(&'a Observed, LimitKind),
    Gcra(&'a Gcra, LimitKind),
    Lease(&'a Lease, LimitKind),
}

impl Cell<'_> {
    fn kind(self) -> LimitKind {
        match self {
            Self::Observed(_, k) | Self::Gcra(_, k) | Self::Lease(_, k) => k,
        }
    }

    fn reserve(self, units: u64, now_ns: u64) -> Result<u64, u64> {
        match self {
            Self::Observed(c, _) => c.reserve(units, now_ns),
            Self::Gcra(c, _) => c.reserve(units, now_ns),
            Self::Lease(c, _) => c.reserve(units, now_ns),
        }
    }

    fn peek(self, units: u64, now_ns: u64) -> Result<(), u64> {
        match self {
            Self::Observed(c, _) => c.peek(units, now_ns),
            Self::Gcra(c, _) => c.peek(units, now_ns),
            Self::Lease(c, _) => c.peek(units, now_ns),
        }
    }

    fn refund(self, amount: u64) {
        match self {
            Self::Observed(c, _) => c.refund(amount),
            Self::Gcra(c, _) => c.refund(amount),
            Self::Lease(c, _) => c.refund(amount),
        }
    }
}

/// A lock-free rate limiter for one model or endpoint: requests per minute
/// and tokens per minute (each a GCRA cell, so a quiet spell refills up to
/// a burst), tightened by whatever the provider reports through
/// [`observe`](Self::observe), so it paces *before* the provider answers
/// 429.
///
/// A request is admitted only if every limit admits it, and then it is
/// charged to all of them; a request any limit refuses is charged to none.
///
/// Under concurrency each limit is exact on its own: an admission is one
/// compare-and-swap of that limit's arrival time. Across limits a request
/// is taken from each in turn and, if a later one refuses, handed back to
/// the earlier ones. A hand-back that races an admission made with a
/// `now` later than the limit's arrival time (one that found the limit
/// idle) can return that request's cost once more than the limit would
/// have allowed; this needs a caller to stall between reading its `now`
/// and the refusal for at least one request's share of the rate, and
/// admits at most one extra request per such refusal.
///
/// ```
/// use std::time::{Duration, Instant};
/// use nb_breaker::{Denied, LimitKind, ObservedLimits, RateLimiter, RateLimits};
///
/// let limiter = RateLimiter::new(RateLimits {
///     requests_per_minute: Some(60),
///     request_burst: Some(2),
///     ..RateLimits::default()
/// });
/// let t0 = Instant::now();
/// assert!(limiter.try_acquire(0, t0).is_ok());
/// assert!(limiter.try_acquire(0, t0).is_ok());
/// // The burst is spent; the next request fits one second later.
/// let denied = limiter.try_acquire(0, t0).unwrap_err();
/// assert_eq!(denied, Denied::Wait { retry_after: Duration::from_secs(1), limit: LimitKind::Requests });
///
/// // The provider says: no requests left for the next 5 s.
/// let t1 = t0 + Duration::from_secs(1);
/// limiter.observe(ObservedLimits {
///     remaining_requests: Some(0),
///     reset_requests: Some(Duration::from_secs(5)),
///     ..ObservedLimits::default()
/// }, t1);
/// assert_eq!(limiter.check(0, t1).unwrap_err().retry_after(), Some(Duration::from_secs(5)));
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    requests: Option<Gcra>,
    tokens: Option<Gcra>,
    observed_requests: Observed,
    observed_tokens: Observed,
    /// The replica's share of a fleet's limits, when the limits are shared.
    leased_requests: Lease,
    leased_tokens: Lease,
    epoch: Epoch,
    limits: RateLimits,
}

impl RateLimiter {
    /// A limiter enforcing `limits` (a zero rate or burst is taken as 1).
    pub fn new(limits: RateLimits) -> Self {
        Self {
            requests: limits.requests_per_minute.map(|r| {
                let burst = limits
                    .request_burst
                    .map_or(u64::from(r).div_ceil(60), u64::from);
                Gcra::new(r.into(), burst)
            }),
            tokens: limits
                .tokens_per_minute
                .map(|t| Gcra::new(t, limits.token_burst.unwrap_or(t))),
            observed_requests: Observed::default(),
            observed_tokens: Observed::default(),
            leased_requests: Lease::default(),
            leased_tokens: Lease::default(),
            epoch: Epoch::default(),
            limits,
        }
    }

    /// A limiter with no limits of its own: only what it observes applies.
    pub fn unlimited() -> Self {
        Self::new(RateLimits::default())
    }

    /// The limits it was built with.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The limits to pass, each with its cost, in the order they are taken.
    #[inline]
    fn cells(&self, cost_tokens: u64) -> [Option<(Cell<'_>, u64)>; 6] {
        let tokens = cost_tokens > 0;
        [
            Some((
                Cell::Observed(&self.observed_requests, LimitKind::Requests),
                1,
            )),
            tokens.then_some((
                Cell::Observed(&self.observed_tokens, LimitKind::Tokens),
                cost_tokens,
            )),
            self.requests
                .as_ref()
                .map(|c| (Cell::Gcra(c, LimitKind::Requests), 1)),
            self.tokens
                .as_ref()
                .filter(|_| tokens)
                .map(|c| (Cell::Gcra(c, LimitKind::Tokens), cost_tokens)),
            // A fleet's lease is taken last: it counts what it was asked
            // for, and a request this replica's own limits refuse never
            // asked.
            self.requests
                .as_ref()
                .map(|_| (Cell::Lease(&self.leased_requests, LimitKind::Requests), 1)),
            self.tokens.as_ref().filter(|_| tokens).map(|_| {
                (
                    Cell::Lease(&self.leased_tokens, LimitKind::Tokens),
                    cost_tokens,
                )
            }),
        ]
    }

    fn too_large(&self, cost_tokens: u64) -> Result<(), Denied> {
        match &self.tokens {
            Some(t) if cost_tokens > t.burst => Err(Denied::TooLarge {
                cost: cost_tokens,
                capacity: t.burst,
            }),
            _ => Ok(()),
        }
    }

    /// Admits one request of `cost_tokens` (an estimate: prompt plus
    /// expected completion; 0 skips the token limits) at `now`, or says how
    /// long to wait. Never blocks.
    pub fn try_acquire(&self, cost_tokens: u64, now: Instant) -> Result<(), Denied> {
        self.too_large(cost_tokens)?;
        let now_ns = self.epoch.nanos(now);
        let cells = self.cells(cost_tokens);
        let mut refunds = [0u64; 6];
        for (i, (cell, units)) in cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, (*c)?)))
        {
            match cell.reserve(units, now_ns) {
                Ok(refund) => refunds[i] = refund,
                Err(wait) => {
                    for (c, refund) in cells[..i].iter().zip(refunds).rev() {
                        if let Some((c, _)) = c {
                            c.refund(refund);
                        }
                    }
                    // Report the longest wait of all the limits, so the
                    // caller does not wake up only to be refused by another.
                    let first = wait_for(cell.kind(), wait);
                    return Err(self.peek(cost_tokens, now_ns).err().unwrap_or(first));
                }
            }
        }
        Ok(())
    }

    /// What [`try_acquire`](Self::try_acquire) would answer at `now`,
    /// without taking anything: the check a load balancer's availability
    /// filter makes.
    pub fn check(&self, cost_tokens: u64, now: Instant) -> Result<(), Denied> {
        self.too_large(cost_tokens)?;
        self.peek(cost_tokens, self.epoch.nanos(now))
    }

    fn peek(&self, cost_tokens: u64, now_ns: u64) -> Result<(), Denied> {
        let longest = self
            .cells(cost_tokens)
            .into_iter()
            .flatten()
            .filter_map(|(cell, units)| cell.peek(units, now_ns).err().map(|w| (w, cell.kind())))
            .max_by_key(|(w, _)| *w);
        match longest {
            Some((wait, kind)) => Err(wait_for(kind, wait)),
            None => Ok(()),
        }
    }

    fn lease(&self, kind: LimitKind) -> &Lease {
        match kind {
            LimitKind::Requests => &self.leased_requests,
            LimitKind::Tokens => &self.leased_tokens,
        }
    }

    /// The `kind` limit a fleet of replicas shares (the configured one,
    /// for all of them together), or `None` if there is none to share.
    pub fn lease_rate(&self, kind: LimitKind) -> Option<LeaseRate> {
        let gcra = match kind {
            LimitKind::Requests => self.requests.as_ref(),
            LimitKind::Tokens => self.tokens.as_ref(),
        }?;
        Some(LeaseRate {
            per_minute: gcra.limit,
            burst: gcra.burst,
        })
    }

    /// What requests asked of the fleet's `kind` lease since the last call
    /// (the counters start again), and what is held: see
    /// [`LeaseNeed::want`].
    pub fn lease_need(&self, kind: LimitKind) -> LeaseNeed {
        self.lease(kind).need()
    }

    /// Adds a fleet's grant to the `kind` lease at `now`; the next lease
    /// comes `next_lease` later. From the first grant on, a request is
    /// admitted only if the lease holds its cost, on top of this limiter's
    /// own limits. When the grant was whole (the fleet had room), the
    /// replica may borrow up to a second of the limit (at least its
    /// largest request) until the next lease, which charges it to the
    /// fleet; a starved request is told to wait for the next lease or the
    /// fleet's next unit, whichever is later.
    pub fn lease_grant(
        &self,
        kind: LimitKind,
        grant: LeaseGrant,
        next_lease: Duration,
        now: Instant,
    ) {
        let now_ns = self.epoch.nanos(now);
        let credit = match (grant.next_in.is_zero(), self.lease_rate(kind)) {
            (true, Some(rate)) => {
                let second = rate.per_minute.div_ceil(60);
                second.max(self.lease(kind).biggest())
            }
            _ => 0,
        };
        let retry_in = grant.next_in.max(next_lease);
        self.lease(kind)
            .grant(grant.granted, credit, retry_in, now_ns);
    }

    /// Takes the `kind` lease out of force (the fleet's store is away):
    /// this limiter's own limits rule alone until the next grant. Returns
    /// the units held, to hand back to the fleet when it is back.
    pub fn lease_end(&self, kind: LimitKind) -> u64 {
        self.lease(kind).end()
    }

    /// Whether the fleet's `kind` lease is in force.
    pub fn is_leased(&self, kind: LimitKind) -> bool {
        self.lease(kind).is_active()
    }

    /// How long the provider said nothing more may go (its rate-limit
    /// headers with no requests or no tokens remaining), if it did.
    pub fn exhausted_for(&self, now: Instant) -> Option<Duration> {
        let now_ns = self.epoch.nanos(now);
        [&self.observed_requests, &self.observed_tokens]
            .into_iter()
            .filter_map(|o| {
                let until = o.active(now_ns)?;
                (o.remaining.load(Ordering::Relaxed) == 0).then(|| until - now_ns)
            })
            .max()
            .map(Duration::from_nanos)
    }

    /// Takes in the provider's own view of its limits at `now`: until each
    /// reset, the limiter admits no more than the remaining count, on top
    /// of its own limits. The newest observation replaces the previous one.
    pub fn observe(&self, observed: ObservedLimits, now: Instant) {
        let now_ns = self.epoch.nanos(now);
        if let (Some(remaining), Some(reset)) =
            (observed.remaining_requests, observed.reset_requests)
        {
            self.observed_requests.set(remaining, reset, now_ns);
        }
        if let (Some(remaining), Some(reset)) = (observed.remaining_tokens, observed.reset_tokens) {
            self.observed_tokens.set(remaining, reset, now_ns);
        }
    }
}

fn wait_for(limit: LimitKind, ns: u64) -> Denied {
    Denied::Wait {
        retry_after: Duration::from_nanos(ns),
        limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn requests_per_minute_refill_continuously() {
        let l = RateLimiter::new(RateLimits {
            requests_per_minute: Some(120),
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        // The default burst is a second's worth: 2.
        for _ in 0..2 {
            assert!(l.try_acquire(0, t0).is_ok());
        }
        let denied = l.try_acquire(0, t0).unwrap_err();
        assert_eq!(denied.retry_after(), Some(S / 2));
        assert!(l.try_acquire(0, t0 + S / 2).is_ok());
        assert!(l.try_acquire(0, t0 + S / 2).is_err());
        // A quiet minute refills the burst, no more.
        let t1 = t0 + S * 61;
        for _ in 0..2 {
            assert!(l.try_acquire(0, t1).is_ok());
        }
        assert!(l.try_acquire(0, t1).is_err());
        // Offered twice the rate for a minute after a quiet one, it admits
        // the minute's 120 and one more of its burst of 2 (the last
        // quarter-second step is half a unit short).
        let t2 = t1 + S * 61;
        let mut admitted = 0;
        for i in 0..240u32 {
            if l.try_acquire(0, t2 + S / 4 * i).is_ok() {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 121);
    }

    #[test]
    fn a_fleet_lease_is_spent_on_top_of_the_own_limits() {
        let l = RateLimiter::new(RateLimits::per_minute(600, 60_000));
        let t0 = Instant::now();
        assert_eq!(
            l.lease_rate(LimitKind::Requests),
            Some(LeaseRate {
                per_minute: 600,
                burst: 10
            })
        );
        // Before the first grant the own limits rule alone.
        assert!(l.try_acquire(100, t0).is_ok());
        assert!(!l.is_leased(LimitKind::Requests));
        assert_eq!(l.lease_need(LimitKind::Requests), LeaseNeed::default());
        let grant = |granted| LeaseGrant {
            granted,
            next_in: S / 4,
        };
        l.lease_grant(LimitKind::Requests, grant(1), Duration::ZERO, t0);
        l.lease_grant(LimitKind::Tokens, grant(150), Duration::ZERO, t0);
        assert!(l.try_acquire(100, t0).is_ok());
        // One request leased, one spent.
        assert_eq!(
            l.try_acquire(10, t0),
            Err(Denied::Wait {
                retry_after: S / 4,
                limit: LimitKind::Requests
            })
        );
        l.lease_grant(LimitKind::Requests, grant(5), Duration::ZERO, t0);
        // 50 tokens left of the lease: a request of 60 is refused, and
        // charged to nothing.
        assert_eq!(
            l.try_acquire(60, t0).unwrap_err().retry_after(),
            Some(S / 4)
        );
        assert_eq!(l.lease_need(LimitKind::Requests).held, 5);
        assert!(l.try_acquire(50, t0).is_ok());
        let need = l.lease_need(LimitKind::Tokens);
        // 100 and 50 admitted; refusals count nothing.
        assert_eq!((need.asked, need.largest, need.held), (150, 100, 0));
        assert!(need.starved);
        // The store is away: held units come back, the own limits rule.
        assert_eq!(l.lease_end(LimitKind::Requests), 4);
        assert_eq!(l.lease_end(LimitKind::Tokens), 0);
        assert!(l.try_acquire(10, t0).is_ok());
    }

    #[test]
    fn a_whole_grant_lends_a_second_of_the_limit_until_the_next_lease() {
        let l = RateLimiter::new(RateLimits {
            requests_per_minute: Some(600),
            request_burst: Some(100),
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        let whole = LeaseGrant {
            granted: 2,
            next_in: Duration::ZERO,
        };
        l.lease_grant(LimitKind::Requests, whole, S / 4, t0);
        // Two held, ten (a second of 600 rpm) borrowed.
        for i in 0..12 {
            assert!(l.try_acquire(0, t0 + S / 120 * i).is_ok(), "{i}");
        }
        let refused = l.try_acquire(0, t0 + S / 10).unwrap_err();
        // The next lease is due at 250 ms.
        assert_eq!(refused.retry_after(), Some(S / 4 - S / 10));
        assert_eq!(l.lease_need(LimitKind::Requests).owed, 10);
        // A partial grant repays the debt first and lends nothing.
        let partial = LeaseGrant {
            granted: 12,
            next_in: S / 10,
        };
        l.lease_grant(LimitKind::Requests, partial, S / 4, t0 + S * 2);
        let need = l.lease_need(LimitKind::Requests);
        assert_eq!((need.held, need.owed), (2, 0));
    }

    #[test]
    fn exhausted_headers_say_how_long_nothing_may_go() {
        let l = RateLimiter::unlimited();
        let t0 = Instant::now();
        assert_eq!(l.exhausted_for(t0), None);
        l.observe(
            ObservedLimits {
                remaining_requests: Some(3),
                reset_requests: Some(S * 5),
                remaining_tokens: Some(0),
                reset_tokens: Some(S * 2),
                ..ObservedLimits::default()
            },
            t0,
        );
        assert_eq!(l.exhausted_for(t0 + S), Some(S));
        assert_eq!(l.exhausted_for(t0 + S * 3), None);
    }

    #[test]
    fn tokens_per_minute_charge_the_cost() {
        let l = RateLimiter::new(RateLimits::per_minute(1000, 6000));
        let t0 = Instant::now();
        assert!(l.try_acquire(5000, t0).is_ok());
        let denied = l.try_acquire(2000, t0).unwrap_err();
        // 1000 tokens short at 100 tokens/s.
        assert_eq!(
            denied,
            Denied::Wait {
                retry_after: S * 10,
                limit: LimitKind::Tokens
            }
        );
        assert!(l.try_acquire(1000, t0).is_ok());
        assert_eq!(
            l.try_acquire(7000, t0),
            Err(Denied::TooLarge {
                cost: 7000,
                capacity: 6000
            })
        );
    }

    #[test]
    fn a_refused_request_is_charged_to_no_limit() {
        let l = RateLimiter::new(RateLimits {
            requests_per_minute: Some(60),
            tokens_per_minute: Some(60),
            request_burst: Some(5),
            token_burst: Some(10),
        });
        let t0 = Instant::now();
        assert!(l.try_acquire(10, t0).is_ok());
        // Tokens refuse; the request slot must not be spent.
        for _ in 0..10 {
            assert!(l.try_acquire(1, t0).is_err());
        }
        for _ in 0..4 {
            assert!(l.try_acquire(0, t0).is_ok());
        }
        assert!(l.try_acquire(0, t0).is_err());
    }

    #[test]
    fn the_longest_wait_is_reported() {
        let l = RateLimiter::new(RateLimits {
            requests_per_minute: Some(60),
            tokens_per_minute: Some(60),
            request_burst: Some(1),
            token_burst: Some(60),
        });
        let t0 = Instant::now();
        assert!(l.try_acquire(60, t0).is_ok());
        // Requests refuse first (1 s); tokens need 30 s for 30 tokens.
        let denied = l.try_acquire(30, t0).unwrap_err();
        assert_eq!(
            denied,
            Denied::Wait {
                retry_after: S * 30,
                limit: LimitKind::Tokens
            }
        );
        assert_eq!(l.check(30, t0), Err(denied));
    }

    #[test]
    fn observed_limits_pace_before_a_429() {
        let l = RateLimiter::unlimited();
        let t0 = Instant::now();
        l.observe(
            ObservedLimits {
                remaining_requests: Some(2),
                reset_requests: Some(S * 6),
                remaining_tokens: Some(100),
                reset_tokens: Some(S * 3),
                ..ObservedLimits::default()
            },
            t0,
        );
        assert!(l.try_acquire(60, t0).is_ok());
        // 40 tokens left until t0 + 3 s.
        assert_eq!(
            l.try_acquire(50, t0 + S).unwrap_err().retry_after(),
            Some(S * 2)
        );
        assert!(l.try_acquire(40, t0 + S).is_ok());
        // No requests left until t0 + 6 s.
        assert_eq!(
            l.try_acquire(0, t0 + S * 4).unwrap_err().retry_after(),
            Some(S * 2)
        );
        assert!(l.try_acquire(0, t0 + S * 6).is_ok());
    }

    #[test]
    fn a_remaining_count_without_a_reset_is_ignored() {
        let l = RateLimiter::unlimited();
        let t0 = Instant::now();
        l.observe(
            ObservedLimits {
                remaining_requests: Some(0),
                ..ObservedLimits::default()
            },
            t0,
        );
        assert!(l.try_acquire(0, t0).is_ok());
    }

    #[test]
    fn check_takes_nothing() {
        let l = RateLimiter::new(RateLimits {
            requests_per_minute: Some(60),
            request_burst: Some(1),
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.check(0, t0).is_ok());
        }
        assert!(l.try_acquire(0, t0).is_ok());
        assert!(l.check(0, t0).is_err());
    }

    #[test]
    fn denied_displays_its_reason() {
        let d = Denied::Wait {
            retry_after: S * 2,
            limit: LimitKind::Tokens,
        };
        assert_eq!(d.to_string(), "tokens rate limit reached: retry in 2.0s");
        assert!(
            Denied::TooLarge {
                cost: 9,
                capacity: 5
            }
            .to_string()
            .contains("9 tokens")
        );
    }
}
