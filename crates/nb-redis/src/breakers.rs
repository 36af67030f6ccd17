//! Breakers: [`SharedBreakers`] on Redis.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nb_breaker::{FleetRecord, FleetState, SharedBreakers, SharedFuture};

use crate::{RedisStore, millis, unix_ms};

/// How long an ended open record stays readable, so every replica sees
/// that the open time ended and one claims the probe.
pub const ENDED_GRACE: Duration = Duration::from_secs(30);

/// How long a recovery stays readable for the replicas to close with it.
pub const RECOVERED_FOR: Duration = Duration::from_secs(10);

/// A record's value as stored.
fn parse(value: &str) -> Option<FleetState> {
    match value {
        "recovered" => Some(FleetState::Recovered),
        _ => {
            let ms: u64 = value.strip_prefix("open:")?.parse().ok()?;
            Some(FleetState::Open {
                until: UNIX_EPOCH + Duration::from_millis(ms),
            })
        }
    }
}

impl SharedBreakers for RedisStore {
    fn open(&self, target: &str, until: SystemTime) -> SharedFuture<'_, ()> {
        let key = self.key("breaker", target);
        let open_for = until.duration_since(SystemTime::now()).unwrap_or_default();
        let mut command = redis::cmd("SET");
        command
            .arg(key)
            .arg(format!("open:{}", unix_ms(until)))
            .arg("PX")
            .arg(millis(open_for + ENDED_GRACE));
        Box::pin(async move { self.run::<()>(command).await })
    }

    fn recovered(&self, target: &str) -> SharedFuture<'_, ()> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.key("breaker", target))
            .arg("recovered")
            .arg("PX")
            .arg(millis(RECOVERED_FOR));
        Box::pin(async move { self.run::<()>(command).await })
    }

    fn states(&self, targets: &[String]) -> SharedFuture<'_, Vec<FleetRecord>> {
        let targets = targets.to_vec();
        Box::pin(async move {
            let values = self.values("breaker", &targets).await?;
            Ok(targets
                .into_iter()
                .zip(values)
                .filter_map(|(target, value)| {
                    // A value this version cannot read is no record at all.
                    let state = parse(value.as_deref()?)?;
                    Some(FleetRecord { target, state })
                })
                .collect())
        })
    }

    fn claim_probe(&self, target: &str, hold: Duration) -> SharedFuture<'_, bool> {
        let key = self.key("probe", target);
        Box::pin(async move {
            let mut set = redis::cmd("SET");
            set.arg(&key)
                .arg(&self.replica)
                .arg("NX")
                .arg("PX")
                .arg(millis(hold));
            let taken: Option<String> = self.run(set).await?;
            if taken.is_some() {
                return Ok(true);
            }
            let mut get = redis::cmd("GET");
            get.arg(&key);
            let holder: Option<String> = self.run(get).await?;
            Ok(holder.as_deref() == Some(self.replica.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_and_unknown_values_are_no_record() {
        assert_eq!(parse("recovered"), Some(FleetState::Recovered));
        assert_eq!(
            parse("open:1700000000000"),
            Some(FleetState::Open {
                until: UNIX_EPOCH + Duration::from_secs(1_700_000_000)
            })
        );
        assert_eq!(parse("open:soon"), None);
        assert_eq!(parse("v2-something"), None);
    }

    #[test]
    fn keys_carry_the_prefix_and_the_version() {
        let store = RedisStore::new("redis://127.0.0.1:1/0")
            .unwrap()
            .prefix("fleet-a");
        assert_eq!(
            store.key("breaker", "gpt-4o@openai"),
            "fleet-a:v1:breaker:gpt-4o@openai"
        );
        assert!(RedisStore::new("not a url").is_err());
    }
}
