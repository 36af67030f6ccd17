//! Learning: [`SharedLearning`] on Redis, one hash of counters the
//! replicas add to with `HINCRBY`, so two replicas adding at once both
//! count.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nb_breaker::SharedFuture;
use nb_learn::{LearnCounter, LearnState, SharedLearning, WEEKS_KEPT};

use crate::{RedisStore, millis};

/// How long the fleet's learning outlives its last exchange: the weeks it
/// keeps, and one more.
pub const LEARNED_FOR: Duration = Duration::from_secs(7 * 24 * 3600 * (WEEKS_KEPT as u64 + 1));

/// The week `now` falls in, counted as the learner counts weeks (from
/// Monday 1969-12-29, 72 hours before the epoch).
fn week_of(now: SystemTime) -> u32 {
    let hours = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 3600);
    u32::try_from((hours + 72) / 168).unwrap_or(u32::MAX)
}

/// The counters of `fields` (a field this version cannot read is skipped),
/// and the fields to delete: weeks too old to keep, and weeks more than
/// one ahead of `now` (a replica whose clock ran ahead must not push
/// everyone's weeks out).
fn read(fields: Vec<(String, String)>, now: SystemTime) -> (LearnState, Vec<String>) {
    let this_week = week_of(now);
    let counters: Vec<(LearnCounter, u32, String)> = fields
        .into_iter()
        .filter_map(|(field, count)| {
            let counter = LearnCounter::parse(&field)?;
            let count = count.parse::<u64>().ok()?;
            Some((counter, u32::try_from(count).unwrap_or(u32::MAX), field))
        })
        .collect();
    let newest = counters
        .iter()
        .map(|(c, ..)| c.week)
        .filter(|w| *w <= this_week.saturating_add(1))
        .max()
        .unwrap_or(0);
    let (kept, old): (Vec<_>, Vec<_>) = counters.into_iter().partition(|(c, ..)| {
        c.week + WEEKS_KEPT as u32 > newest && c.week <= this_week.saturating_add(1)
    });
    let state = LearnState::from_counters(kept.into_iter().map(|(c, n, _)| (c, n)));
    (state, old.into_iter().map(|(.., field)| field).collect())
}

impl SharedLearning for RedisStore {
    fn add(&self, delta: &LearnState) -> SharedFuture<'_, LearnState> {
        let key = self.key("learn", "counters");
        let mut add = redis::pipe();
        add.atomic();
        for (counter, n) in delta.counters() {
            add.cmd("HINCRBY")
                .arg(&key)
                .arg(counter.to_string())
                .arg(n)
                .ignore();
        }
        add.cmd("PEXPIRE")
            .arg(&key)
            .arg(millis(LEARNED_FOR))
            .ignore();
        add.cmd("HGETALL").arg(&key);
        Box::pin(async move {
            let (fields,): (Vec<(String, String)>,) = self.run_pipeline(&add).await?;
            let (state, old) = read(fields, SystemTime::now());
            if !old.is_empty() {
                let mut prune = redis::cmd("HDEL");
                prune.arg(&key).arg(old);
                // Best effort: the next exchange prunes what this one did not.
                let _ = self.run::<u64>(prune).await;
            }
            Ok(state)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_skipping_junk_old_weeks_and_weeks_from_the_future() {
        let field = |s: &str, n: &str| (s.to_owned(), n.to_owned());
        // Week 3000 began on Monday 2027-06-28.
        let now = UNIX_EPOCH + Duration::from_secs((3000 * 168 - 72 + 30) * 3600);
        assert_eq!(week_of(now), 3000);
        let (state, old) = read(
            vec![
                field("3000|c9|gpt-4o", "12"),
                field("3000|x9.rate_limit|gpt-4o", "3"),
                field("3000|frate_limit|gpt-4o", "3"),
                field("2990|c9|gpt-4o", "5"),
                field("3100|c9|gpt-4o", "7"),
                field("3000|c9|other", "not a number"),
                field("v2 field", "1"),
            ],
            now,
        );
        assert_eq!(old, ["2990|c9|gpt-4o", "3100|c9|gpt-4o"]);
        let counters = state.counters();
        assert_eq!(counters.len(), 3);
        assert!(
            counters
                .iter()
                .all(|(c, _)| c.week == 3000 && c.model == "gpt-4o")
        );
    }
}
