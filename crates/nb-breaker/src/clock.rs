//! Virtual time: each primitive measures `now` against an epoch fixed by the
//! first `Instant` it is given, so its atomics can hold plain nanoseconds.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The reference point of one primitive's clock.
///
/// It is fixed lazily by the first `now` the primitive sees, never by
/// reading the system clock, so a test that starts its virtual time at any
/// `Instant` gets exact, deterministic arithmetic. A `now` earlier than the
/// epoch (a thread that read the clock just before another one won the
/// race to fix it) counts as the epoch itself.
#[derive(Debug, Default)]
pub(crate) struct Epoch(OnceLock<Instant>);

impl Epoch {
    /// Nanoseconds from the epoch to `now`, fixing the epoch on first use.
    #[inline]
    pub(crate) fn nanos(&self, now: Instant) -> u64 {
        let epoch = *self.0.get_or_init(|| now);
        duration_nanos(now.saturating_duration_since(epoch))
    }

    /// Fixes the epoch at `now` unless it already is: one atomic load once
    /// fixed.
    #[inline]
    pub(crate) fn fix(&self, now: Instant) {
        self.0.get_or_init(|| now);
    }

    /// The instant `nanos` after the epoch, or `None` before the epoch is
    /// fixed (or if the sum does not fit in an `Instant`).
    pub(crate) fn instant(&self, nanos: u64) -> Option<Instant> {
        self.0
            .get()
            .and_then(|e| e.checked_add(Duration::from_nanos(nanos)))
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (584 years).
#[inline]
pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Spins briefly, then yields: the wait used while another thread finishes a
/// few stores (a bucket rotation), never a sleep.
#[inline]
pub(crate) fn relax(spins: &mut u32) {
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
    *spins = spins.saturating_add(1);
}

/// A value alone on its cache line, so a write to a neighbour does not
/// invalidate a read-mostly value on another core.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_fixed_by_the_first_now_and_clamps_earlier_ones() {
        let t0 = Instant::now();
        let e = Epoch::default();
        assert_eq!(e.instant(5), None);
        e.fix(t0 + Duration::from_secs(1));
        e.fix(t0);
        assert_eq!(e.nanos(t0 + Duration::from_secs(1)), 0);
        assert_eq!(e.nanos(t0 + Duration::from_millis(1500)), 500_000_000);
        assert_eq!(e.nanos(t0), 0);
        assert_eq!(
            e.instant(250),
            Some(t0 + Duration::from_secs(1) + Duration::from_nanos(250))
        );
    }

    #[test]
    fn duration_nanos_saturates() {
        assert_eq!(duration_nanos(Duration::from_micros(3)), 3_000);
        assert_eq!(duration_nanos(Duration::MAX), u64::MAX);
    }
}
