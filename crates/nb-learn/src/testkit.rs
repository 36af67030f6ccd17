//! Fixtures shared by the unit tests.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nb_diagnose::ErrorCategory;

use crate::outcome::Outcome;

pub(crate) const MIN: Duration = Duration::from_secs(60);
pub(crate) const HOUR: Duration = Duration::from_secs(3600);
pub(crate) const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
pub(crate) const MS: Duration = Duration::from_millis(200);

/// 2024-01-01 00:00 UTC, a Monday.
pub(crate) fn monday() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

/// Calls `f(at, monday_nine)` once a minute for `weeks` weeks from
/// [`monday`]; `monday_nine` says whether `at` is on a Monday 09:00-10:00 UTC.
pub(crate) fn each_minute(weeks: u32, mut f: impl FnMut(SystemTime, bool)) {
    for minute in 0..weeks * 7 * 24 * 60 {
        f(monday() + MIN * minute, minute % (7 * 24 * 60) / 60 == 9);
    }
}

/// A call to `flaky`, rate-limited on Mondays 09:00-10:00 UTC.
pub(crate) fn flaky(at: SystemTime, monday_nine: bool) -> Outcome<'static> {
    if monday_nine {
        Outcome::failure("flaky", at, MS, ErrorCategory::RateLimit)
    } else {
        Outcome::success("flaky", at, MS)
    }
}

/// A directory for test `name` under the system's temp dir, removed if it
/// was left over.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nb-learn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
