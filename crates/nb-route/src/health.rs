//! A target's place in rotation, as one atomic word.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::clock::Nanos;

/// Where a target stands with the balancer's health tracking.
///
/// The transitions (scores and bars from
/// [`HealthPolicy`](crate::HealthPolicy)):
///
/// - `Healthy` or `Degraded` → `Excluded` when a result leaves the score
///   below `exclude_below` (after at least `min_requests` results in the
///   window) and the cap on excluded targets allows; → `Degraded` instead
///   when the cap is reached.
/// - `Degraded` → `Healthy` when its score is back at `exclude_below`.
/// - `Excluded` → `Probing` when, with auto-recovery, `health_check_interval`
///   has passed and a selection lets it back in for one request.
/// - `Probing` → `Excluded` when the probe fails (the next waits a full
///   interval), when it succeeds but the score is still below `restore_at`
///   (the next probe may go at once), or when its result never comes (after
///   an interval, another probe is let through).
/// - `Excluded` or `Probing` → `Healthy` when a success (a probe, or traffic
///   from panic mode or the fallback strategy) lifts the score to
///   `restore_at`, or on [`LoadBalancer::restore`](crate::LoadBalancer::restore).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum HealthState {
    /// In rotation.
    Healthy,
    /// Below the exclusion bar but kept in rotation because the cap on
    /// excluded targets is reached. Counts as unhealthy for panic mode.
    Degraded,
    /// Out of rotation; let back in for a probe once
    /// `health_check_interval` has passed (with auto-recovery).
    Excluded,
    /// Out of rotation with one probe request outstanding.
    Probing,
}

impl HealthState {
    /// Whether the target is out of normal rotation.
    #[inline]
    pub fn is_excluded(self) -> bool {
        matches!(self, Self::Excluded | Self::Probing)
    }

    fn bits(self) -> u64 {
        match self {
            Self::Healthy => 0,
            Self::Degraded => 1,
            Self::Excluded => 2,
            Self::Probing => 3,
        }
    }

    #[inline]
    fn from_bits(bits: u64) -> Self {
        match bits & 3 {
            0 => Self::Healthy,
            1 => Self::Degraded,
            2 => Self::Excluded,
            _ => Self::Probing,
        }
    }
}

/// A state and the time that goes with it: for `Excluded`, when a probe is
/// due; for `Probing`, when the outstanding probe is given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status(u64);

/// Times are stored in the upper 62 bits: about ±73 years around the origin.
const LIMIT: Nanos = i64::MAX >> 2;

impl Status {
    pub(crate) const HEALTHY: Self = Self(0);

    #[inline]
    pub(crate) fn new(state: HealthState, at: Nanos) -> Self {
        let at = at.clamp(-LIMIT, LIMIT);
        Self(((at << 2) as u64) | state.bits())
    }

    #[inline]
    pub(crate) fn state(self) -> HealthState {
        HealthState::from_bits(self.0)
    }

    /// `state().is_excluded()`, from the bits: `Excluded` and `Probing` are
    /// the states with bit 1 set.
    #[inline]
    pub(crate) fn is_excluded(self) -> bool {
        self.0 & 2 != 0
    }

    #[inline]
    pub(crate) fn at(self) -> Nanos {
        (self.0 as i64) >> 2
    }
}

/// An atomic [`Status`].
#[derive(Debug)]
pub(crate) struct AtomicStatus(AtomicU64);

impl AtomicStatus {
    pub(crate) fn new() -> Self {
        Self(AtomicU64::new(Status::HEALTHY.0))
    }

    #[inline]
    pub(crate) fn load(&self) -> Status {
        Status(self.0.load(Relaxed))
    }

    /// Moves from `current` to `new`; fails if another thread moved first.
    #[inline]
    pub(crate) fn transition(&self, current: Status, new: Status) -> bool {
        current == new
            || self
                .0
                .compare_exchange(current.0, new.0, Relaxed, Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_packs_state_and_signed_time() {
        for state in [
            HealthState::Healthy,
            HealthState::Degraded,
            HealthState::Excluded,
            HealthState::Probing,
        ] {
            for at in [0, 1, -1, 60_000_000_000, -60_000_000_000, LIMIT, -LIMIT] {
                let s = Status::new(state, at);
                assert_eq!((s.state(), s.at()), (state, at));
                assert_eq!(s.is_excluded(), state.is_excluded());
            }
        }
        assert_eq!(Status::new(HealthState::Excluded, i64::MAX).at(), LIMIT);
        assert_eq!(Status::HEALTHY.state(), HealthState::Healthy);
    }

    #[test]
    fn a_transition_from_a_stale_status_fails() {
        let a = AtomicStatus::new();
        let excluded = Status::new(HealthState::Excluded, 5);
        assert!(a.transition(Status::HEALTHY, excluded));
        assert!(!a.transition(Status::HEALTHY, Status::new(HealthState::Degraded, 0)));
        assert_eq!(a.load(), excluded);
    }
}
