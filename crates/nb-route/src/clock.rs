//! Instants as signed nanoseconds, so they fit in an atomic.
//!
//! The origin is the first `now` the balancer is given; no clock is ever
//! read. Instants before the origin (a caller's threads may race) are
//! negative.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Nanoseconds since the origin.
pub(crate) type Nanos = i64;

/// "Never happened": below every representable time.
pub(crate) const NEVER: Nanos = i64::MIN;

/// Converts between [`Instant`] and [`Nanos`].
#[derive(Debug, Default)]
pub(crate) struct Clock {
    origin: OnceLock<Instant>,
}

/// A duration as nanoseconds, saturating at `i64::MAX`.
#[inline]
pub(crate) fn duration_nanos(d: Duration) -> Nanos {
    // Cheaper than going through `as_nanos()`'s `u128`.
    match i64::try_from(d.as_secs()) {
        Ok(secs) if secs < i64::MAX / 1_000_000_000 => {
            secs * 1_000_000_000 + i64::from(d.subsec_nanos())
        }
        _ => i64::MAX,
    }
}

impl Clock {
    /// `now` as nanoseconds since the origin (set by the first call).
    #[inline]
    pub(crate) fn nanos(&self, now: Instant) -> Nanos {
        let origin = *self.origin.get_or_init(|| now);
        match now.checked_duration_since(origin) {
            Some(d) => duration_nanos(d),
            // Never NEVER itself: that means "no time".
            None => (-duration_nanos(origin.saturating_duration_since(now))).max(NEVER + 1),
        }
    }

    /// The instant `t` stands for, if `t` is a time and representable.
    pub(crate) fn instant(&self, t: Nanos) -> Option<Instant> {
        let origin = *self.origin.get()?;
        if t == NEVER {
            return None;
        }
        let d = Duration::from_nanos(t.unsigned_abs());
        if t >= 0 {
            origin.checked_add(d)
        } else {
            origin.checked_sub(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_instant_is_the_origin_and_earlier_ones_are_negative() {
        let base = Instant::now();
        let c = Clock::default();
        assert_eq!(c.instant(0), None, "no origin yet");
        assert_eq!(c.nanos(base + Duration::from_secs(1)), 0);
        assert_eq!(c.nanos(base + Duration::from_secs(3)), 2_000_000_000);
        assert_eq!(c.nanos(base), -1_000_000_000);
        assert_eq!(c.instant(-1_000_000_000), Some(base));
        assert_eq!(c.instant(NEVER), None);
    }
}
