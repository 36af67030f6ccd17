//! Shared state for a fleet of NeuralBridge replicas, on Redis.
//!
//! [`RedisBreakers`] implements nb-breaker's [`SharedBreakers`]: give it to
//! each replica's client with
//! [`shared_breakers`](https://docs.rs/nb-client/latest/nb_client/struct.NeuralBridgeBuilder.html#method.shared_breakers),
//! and an outage one replica sees opens the breaker of every replica within
//! a second, one replica probes when the open time ends, and the fleet
//! closes with its verdict.
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let breakers = nb_redis::RedisBreakers::new("redis://127.0.0.1:6379/0")?.prefix("checkout");
//! let client = nb_client::NeuralBridge::builder()
//!     .base_url("https://api.openai.com/v1")
//!     .api_key("sk-...")
//!     .shared_breakers(breakers)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! What it keeps, per target, under `{prefix}:v1:breaker:{model@endpoint}`:
//! `open:{unix ms}` until the open time ends (and for [`ENDED_GRACE`]
//! after, so the fleet sees that it ended and claims the probe), then
//! `recovered` for [`RECOVERED_FOR`]; the probe's claim lives under
//! `{prefix}:v1:probe:{model@endpoint}` for its hold. Every key has a
//! lifetime, carries the format's version, and holds nothing secret: a
//! target's name and a time.
//!
//! Redis being down never fails a request: the client calls the store from
//! a background task, each call bounded, and runs on its own breakers while
//! it is away. Creating a [`RedisBreakers`] does not connect; the first call
//! does, and a failed call drops the connection so the next one reconnects
//! (the client calls every 250 ms, which is the backoff).

#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nb_breaker::{FleetRecord, FleetState, SharedBreakers, SharedError, SharedFuture};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError};
use tokio::sync::Mutex;

/// How long an ended open record stays readable, so every replica sees
/// that the open time ended and one claims the probe.
pub const ENDED_GRACE: Duration = Duration::from_secs(30);

/// How long a recovery stays readable for the replicas to close with it.
pub const RECOVERED_FOR: Duration = Duration::from_secs(10);

/// The longest a connection attempt or a command may take.
pub const TIMEOUT: Duration = Duration::from_millis(150);

/// The key format's version, in every key.
const VERSION: &str = "v1";

/// A fleet's breakers on Redis.
#[derive(Debug)]
pub struct RedisBreakers {
    client: Client,
    prefix: String,
    /// This replica's name in probe claims.
    replica: String,
    connection: Mutex<Option<MultiplexedConnection>>,
}

impl RedisBreakers {
    /// A store on the Redis server at `url` (`redis://host:port/db`, with
    /// a password in the URL if the server wants one), keys under the
    /// prefix `neuralbridge`. Only the URL is checked here: nothing
    /// connects until the first call.
    pub fn new(url: &str) -> Result<Self, RedisError> {
        Ok(Self {
            client: Client::open(url)?,
            prefix: "neuralbridge".to_owned(),
            replica: format!("{:016x}", fastrand::u64(..)),
            connection: Mutex::new(None),
        })
    }

    /// Puts every key under `prefix` (one fleet per prefix on a shared server).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, kind: &str, target: &str) -> String {
        format!("{}:{VERSION}:{kind}:{target}", self.prefix)
    }

    /// The connection, made if there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, SharedError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| SharedError::with_source("cannot connect", e))?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Runs `command`; a failure drops the connection so the next call
    /// reconnects.
    async fn run<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, SharedError> {
        let mut connection = self.connection().await?;
        match command.query_async(&mut connection).await {
            Ok(value) => Ok(value),
            Err(e) => {
                *self.connection.lock().await = None;
                Err(SharedError::with_source("command failed", e))
            }
        }
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

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

impl SharedBreakers for RedisBreakers {
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
            if targets.is_empty() {
                return Ok(Vec::new());
            }
            let mut command = redis::cmd("MGET");
            for target in &targets {
                command.arg(self.key("breaker", target));
            }
            let values: Vec<Option<String>> = self.run(command).await?;
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
        let store = RedisBreakers::new("redis://127.0.0.1:1/0")
            .unwrap()
            .prefix("fleet-a");
        assert_eq!(
            store.key("breaker", "gpt-4o@openai"),
            "fleet-a:v1:breaker:gpt-4o@openai"
        );
        assert!(RedisBreakers::new("not a url").is_err());
    }
}

#[cfg(feature = "testing")]
pub mod testing;

/// Compiles the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
