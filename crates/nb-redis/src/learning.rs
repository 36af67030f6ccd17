//! Learning: [`SharedLearning`] on Redis, one hash of counters the
//! replicas add to with `HINCRBY`, so two replicas adding at once both
//! count.

use std::time::Duration;

use nb_breaker::SharedFuture;
use nb_learn::{LearnCounter, LearnState, SharedLearning, WEEKS_KEPT};

use crate::{RedisStore, millis};

/// How long the fleet's learning outlives its last exchange: the weeks it
/// keeps, and one more.
pub const LEARNED_FOR: Duration = Duration::from_secs(7 * 24 * 3600 * (WEEKS_KEPT as u64 + 1));

/// The counters of `fields` (a field this version cannot read is skipped),
/// and the fields of weeks too old to keep, to delete.
fn read(fields: Vec<(String, String)>) -> (LearnState, Vec<String>) {
    let counters: Vec<(LearnCounter, u32, String)> = fields
        .into_iter()
        .filter_map(|(field, count)| {
            let counter = LearnCounter::parse(&field)?;
            let count = count.parse::<u64>().ok()?;
            Some((counter, u32::try_from(count).unwrap_or(u32::MAX), field))
        })
        .collect();
    let newest = counters.iter().map(|(c, ..)| c.week).max().unwrap_or(0);
    let (kept, old): (Vec<_>, Vec<_>) = counters
        .into_iter()
        .partition(|(c, ..)| c.week + WEEKS_KEPT as u32 > newest);
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
            let (state, old) = read(fields);
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
    fn fields_read_back_skipping_junk_and_old_weeks() {
        let field = |s: &str, n: &str| (s.to_owned(), n.to_owned());
        let (state, old) = read(vec![
            field("3000|c9|gpt-4o", "12"),
            field("3000|x9.rate_limit|gpt-4o", "3"),
            field("3000|frate_limit|gpt-4o", "3"),
            field("2990|c9|gpt-4o", "5"),
            field("3000|c9|other", "not a number"),
            field("v2 field", "1"),
        ]);
        assert_eq!(old, ["2990|c9|gpt-4o"]);
        let counters = state.counters();
        assert_eq!(counters.len(), 3);
        assert!(
            counters
                .iter()
                .all(|(c, _)| c.week == 3000 && c.model == "gpt-4o")
        );
    }
}
