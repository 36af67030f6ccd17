//! Wall-clock arithmetic done by hand from UNIX seconds: minutes, hours,
//! weeks and the UTC hour of the week.
//!
//! 1970-01-01 was a Thursday, so UNIX hour 0 is hour 72 of its week when
//! weeks start on Monday 00:00 UTC. Every index here counts from that Monday
//! (1969-12-29): `week = (unix_hour + 72) / 168` and
//! `hour_of_week = (unix_hour + 72) % 168`. The learner's counters index
//! by `u32` minutes, hours and weeks: there, times before 1970 count as the
//! epoch and times past the year 10136 saturate. [`HourOfWeek::of`] is exact
//! for any time.

use std::fmt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Maps monotonic [`Instant`]s to wall-clock time through one pair taken
/// together: `wall = anchor_wall + (at - anchor_instant)`.
///
/// Routing and breakers run on a monotonic clock (virtual in tests), while
/// patterns need the UTC hour. Anchoring once keeps both views coherent: a
/// virtual-time test that advances its instants moves through the week too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockAnchor {
    instant: Instant,
    wall: SystemTime,
}

impl ClockAnchor {
    /// `instant` happened at the wall-clock time `wall`.
    pub fn new(instant: Instant, wall: SystemTime) -> Self {
        Self { instant, wall }
    }

    /// The current `(Instant, SystemTime)`.
    pub fn now() -> Self {
        Self::new(Instant::now(), SystemTime::now())
    }

    /// The wall-clock time of `at`; the anchor's own time if it cannot be
    /// represented.
    pub fn wall_clock(&self, at: Instant) -> SystemTime {
        if at >= self.instant {
            self.wall.checked_add(at - self.instant)
        } else {
            self.wall.checked_sub(self.instant - at)
        }
        .unwrap_or(self.wall)
    }
}

/// Hours in a week: the number of [`HourOfWeek`] buckets.
pub const HOURS_PER_WEEK: usize = 168;

/// Hours from Monday 1969-12-29 00:00 UTC to the UNIX epoch (a Thursday).
const EPOCH_HOUR_OF_WEEK: u64 = 72;

/// Whole seconds since the UNIX epoch; instants before it count as 0.
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The UNIX minute of `t`, saturating at `u32::MAX` (the year 10136).
pub(crate) fn unix_minute(t: SystemTime) -> u32 {
    saturate(unix_secs(t) / 60)
}

/// The UNIX hour of `t`, saturating at `u32::MAX`.
pub(crate) fn unix_hour(t: SystemTime) -> u32 {
    saturate(unix_secs(t) / 3600)
}

/// The week (Monday 00:00 UTC to Monday 00:00 UTC) holding UNIX hour `hour`,
/// counted from the week of the epoch.
pub(crate) fn week_of_hour(hour: u32) -> u32 {
    saturate((u64::from(hour) + EPOCH_HOUR_OF_WEEK) / HOURS_PER_WEEK as u64)
}

/// The UNIX hour at which week `week` starts (Monday 00:00 UTC).
pub(crate) fn week_start_hour(week: u32) -> u64 {
    (u64::from(week) * HOURS_PER_WEEK as u64).saturating_sub(EPOCH_HOUR_OF_WEEK)
}

fn saturate(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// A day of the week, Monday first (ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
        Self::Saturday,
        Self::Sunday,
    ];

    /// The English name, e.g. `"Monday"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Monday => "Monday",
            Self::Tuesday => "Tuesday",
            Self::Wednesday => "Wednesday",
            Self::Thursday => "Thursday",
            Self::Friday => "Friday",
            Self::Saturday => "Saturday",
            Self::Sunday => "Sunday",
        }
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One of the 168 UTC hours of a week: 0 is Monday 00:00-01:00 UTC, 167 is
/// Sunday 23:00-24:00 UTC.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use nb_learn::{HourOfWeek, Weekday};
///
/// // 2024-01-01 09:30 UTC was a Monday.
/// let t = UNIX_EPOCH + Duration::from_secs(1_704_101_400);
/// let h = HourOfWeek::of(t);
/// assert_eq!((h.weekday(), h.hour()), (Weekday::Monday, 9));
/// assert_eq!(h.to_string(), "Mondays 09:00-10:00 UTC");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u8", into = "u8")]
pub struct HourOfWeek(u8);

impl HourOfWeek {
    /// The hour of the week `index` hours after Monday 00:00 UTC, if
    /// `index < 168`.
    pub const fn new(index: u8) -> Option<Self> {
        if (index as usize) < HOURS_PER_WEEK {
            Some(Self(index))
        } else {
            None
        }
    }

    /// The hour `hour` (0-23) of `day`, if `hour < 24`.
    pub const fn at(day: Weekday, hour: u8) -> Option<Self> {
        if hour < 24 {
            Some(Self(day as u8 * 24 + hour))
        } else {
            None
        }
    }

    /// The UTC hour of the week holding the wall-clock time `t`, for any
    /// `t`, before the epoch or millennia ahead.
    pub fn of(t: SystemTime) -> Self {
        // Seconds since the epoch, floored: half a second before it is -1.
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i128::from(d.as_secs()),
            Err(e) => {
                let d = e.duration();
                -i128::from(d.as_secs()) - i128::from(d.subsec_nanos() > 0)
            }
        };
        let index = (secs.div_euclid(3600) + i128::from(EPOCH_HOUR_OF_WEEK))
            .rem_euclid(HOURS_PER_WEEK as i128);
        // `rem_euclid` leaves 0..168, which fits a u8.
        Self(index as u8)
    }

    pub(crate) fn of_unix_hour(hour: u32) -> Self {
        // The remainder is below 168, so it fits a u8.
        Self(((u64::from(hour) + EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK as u64) as u8)
    }

    /// `0..168`, counted from Monday 00:00 UTC.
    pub const fn index(self) -> u8 {
        self.0
    }

    /// The day this hour falls on.
    pub const fn weekday(self) -> Weekday {
        Weekday::ALL[(self.0 / 24) as usize]
    }

    /// The hour of the day, `0..24`, UTC.
    pub const fn hour(self) -> u8 {
        self.0 % 24
    }
}

impl fmt::Display for HourOfWeek {
    /// `Mondays 09:00-10:00 UTC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.hour();
        write!(
            f,
            "{}s {h:02}:00-{:02}:00 UTC",
            self.weekday(),
            (h + 1) % 24
        )
    }
}

impl From<HourOfWeek> for u8 {
    fn from(h: HourOfWeek) -> u8 {
        h.0
    }
}

/// The error when a number is not an hour of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not an hour of the week (0..168)")]
pub struct HourOutOfRange(pub u8);

impl TryFrom<u8> for HourOfWeek {
    type Error = HourOutOfRange;

    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Self::new(v).ok_or(HourOutOfRange(v))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn the_epoch_was_a_thursday() {
        let h = HourOfWeek::of(UNIX_EPOCH);
        assert_eq!(
            (h.weekday(), h.hour(), h.index()),
            (Weekday::Thursday, 0, 72)
        );
        assert_eq!(week_of_hour(0), 0);
        // The first Monday after the epoch (1970-01-05) starts week 1.
        assert_eq!(week_of_hour(4 * 24), 1);
        assert_eq!(week_of_hour(4 * 24 - 1), 0);
        assert_eq!(week_start_hour(1), 4 * 24);
    }

    #[test]
    fn known_dates() {
        // 2024-01-01 00:00 UTC, a Monday.
        let monday = 1_704_067_200;
        assert_eq!(HourOfWeek::of(at(monday)).index(), 0);
        assert_eq!(HourOfWeek::of(at(monday - 1)).index(), 167);
        // 2024-02-29 13:45 UTC, a Thursday (leap day).
        let h = HourOfWeek::of(at(1_709_214_300));
        assert_eq!((h.weekday(), h.hour()), (Weekday::Thursday, 13));
        // 2000-01-01 was a Saturday.
        let h = HourOfWeek::of(at(946_684_800));
        assert_eq!((h.weekday(), h.hour()), (Weekday::Saturday, 0));
        let week = week_of_hour(unix_hour(at(monday)));
        assert_eq!(week_start_hour(week) * 3600, monday);
    }

    #[test]
    fn before_the_epoch_and_far_future_do_not_panic() {
        let before = UNIX_EPOCH - Duration::from_secs(3600);
        // The counters' index clamps to the epoch; the hour of the week does not.
        assert_eq!((unix_minute(before), unix_hour(before)), (0, 0));
        assert_eq!(HourOfWeek::of(before).index(), 71);
        // Past the year 10136, where a u32 of minutes runs out.
        let far = UNIX_EPOCH + Duration::from_secs(2 * 60 * u64::from(u32::MAX));
        assert_eq!(unix_minute(far), u32::MAX);
        // 143 165 576 hours after the epoch: a Thursday, 08:00-09:00 UTC.
        assert_eq!(HourOfWeek::of(far).index(), 80);
        // The last u32 hour still falls in a week a u32 can count.
        assert_eq!(week_of_hour(u32::MAX), 25_565_281);
    }

    /// The public mapping is exact for any time, not only for the range
    /// the learner's counters index.
    #[test]
    fn hour_of_week_before_the_epoch_and_far_ahead() {
        let before = |secs: u64| UNIX_EPOCH - Duration::from_secs(secs);
        // 1969-12-29 09:30 UTC, the Monday before the epoch.
        let h = HourOfWeek::of(before(62 * 3600 + 1800));
        assert_eq!((h.weekday(), h.hour()), (Weekday::Monday, 9));
        // Half a second before the epoch is Wednesday 23:00-24:00.
        let h = HourOfWeek::of(UNIX_EPOCH - Duration::from_millis(500));
        assert_eq!((h.weekday(), h.hour()), (Weekday::Wednesday, 23));
        // 1900-01-01 00:00 UTC was a Monday.
        assert_eq!(HourOfWeek::of(before(2_208_988_800)).index(), 0);
        // Thirty million weeks after a Monday 09:30 (past u32 hours) is one too.
        let monday_nine = 1_704_067_200 + 9 * 3600 + 1800;
        let far = at(monday_nine + 30_000_000 * 7 * 24 * 3600);
        assert!(unix_hour(far) == u32::MAX);
        let h = HourOfWeek::of(far);
        assert_eq!((h.weekday(), h.hour()), (Weekday::Monday, 9));
    }

    #[test]
    fn display_and_constructors() {
        let h = HourOfWeek::at(Weekday::Sunday, 23).unwrap();
        assert_eq!(h.index(), 167);
        assert_eq!(h.to_string(), "Sundays 23:00-00:00 UTC");
        assert_eq!(HourOfWeek::at(Weekday::Monday, 24), None);
        assert_eq!(HourOfWeek::new(168), None);
        assert_eq!(HourOfWeek::try_from(200), Err(HourOutOfRange(200)));
        assert_eq!(
            serde_json::from_str::<HourOfWeek>("9").unwrap(),
            HourOfWeek::at(Weekday::Monday, 9).unwrap()
        );
        assert!(serde_json::from_str::<HourOfWeek>("168").is_err());
    }

    #[test]
    fn every_hour_of_a_week_once() {
        let monday = 1_704_067_200u64;
        for i in 0..HOURS_PER_WEEK as u64 {
            let h = HourOfWeek::of(at(monday + i * 3600 + 1800));
            assert_eq!(u64::from(h.index()), i);
        }
    }
}
