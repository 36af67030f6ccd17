//! Shared state for a fleet of NeuralBridge replicas, on Redis.
//!
//! [`RedisStore`] implements nb-breaker's [`SharedBreakers`] and
//! [`SharedLimits`] and nb-learn's [`SharedLearning`]: give it to each
//! replica's client with
//! [`shared_state`](https://docs.rs/nb-client/latest/nb_client/struct.NeuralBridgeBuilder.html#method.shared_state),
//! and an outage one replica sees opens the breaker of every replica within
//! a second (one replica probes when the open time ends, and the fleet
//! closes with its verdict), every configured rate limit holds for the
//! fleet together, and what the replicas learn adds up and outlives them.
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = nb_redis::RedisStore::new("redis://127.0.0.1:6379/0")?.prefix("checkout");
//! let client = nb_client::NeuralBridge::builder()
//!     .base_url("https://api.openai.com/v1")
//!     .api_key("sk-...")
//!     .shared_state(store)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! What it keeps, all under `{prefix}:v1:`: per target,
//! `breaker:{model@endpoint}` holds `open:{unix ms}` until the open time
//! ends (and for [`ENDED_GRACE`] after, so the fleet sees that it ended
//! and claims the probe), then `recovered` for [`RECOVERED_FOR`];
//! `probe:{model@endpoint}` holds the probe's claim for its hold;
//! `limit:{model@endpoint}:{requests|tokens}` holds a limit's GCRA arrival
//! time on the server's clock; and `learn:counters` is a hash of the
//! fleet's learned counters, kept [`LEARNED_FOR`]. Every key has a lifetime,
//! carries the format's version, and holds nothing secret: names, times
//! and counts.
//!
//! Redis being down never fails a request: the client calls the store from
//! a background task, each call bounded, and runs on its own state while
//! it is away. Creating a [`RedisStore`] does not connect; the first call
//! does, and a failed call drops the connection so the next one reconnects
//! (the client tries again after a wait that doubles from 250 ms to 1 s).
//!
//! [`SharedBreakers`]: nb_breaker::SharedBreakers
//! [`SharedLimits`]: nb_breaker::SharedLimits
//! [`SharedLearning`]: nb_learn::SharedLearning

#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nb_breaker::SharedError;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError};
use tokio::sync::Mutex;

/// The longest a connection attempt or a command may take.
pub const TIMEOUT: Duration = Duration::from_millis(150);

/// The key format's version, in every key.
const VERSION: &str = "v1";

/// A fleet's shared state on Redis: breakers, rate limits and learning.
#[derive(Debug)]
pub struct RedisStore {
    client: Client,
    prefix: String,
    /// This replica's name in probe claims.
    replica: String,
    connection: Mutex<Option<MultiplexedConnection>>,
}

impl RedisStore {
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

    pub(crate) fn key(&self, kind: &str, target: &str) -> String {
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
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        command: redis::Cmd,
    ) -> Result<T, SharedError> {
        let mut connection = self.connection().await?;
        let result = command.query_async(&mut connection).await;
        self.checked(result).await
    }

    /// The values of `kind`'s keys for `targets`, in order (`None` where
    /// there is none).
    pub(crate) async fn values(
        &self,
        kind: &str,
        targets: &[String],
    ) -> Result<Vec<Option<String>>, SharedError> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let mut command = redis::cmd("MGET");
        for target in targets {
            command.arg(self.key(kind, target));
        }
        self.run(command).await
    }

    /// Runs `pipeline` (atomically if it says so), like [`run`](Self::run).
    pub(crate) async fn run_pipeline<T: redis::FromRedisValue>(
        &self,
        pipeline: &redis::Pipeline,
    ) -> Result<T, SharedError> {
        let mut connection = self.connection().await?;
        let result = pipeline.query_async(&mut connection).await;
        self.checked(result).await
    }

    async fn checked<T>(&self, result: redis::RedisResult<T>) -> Result<T, SharedError> {
        match result {
            Ok(value) => Ok(value),
            Err(e) => {
                *self.connection.lock().await = None;
                Err(SharedError::with_source("command failed", e))
            }
        }
    }
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

mod breakers;
mod learning;
mod limits;

pub use breakers::{ENDED_GRACE, RECOVERED_FOR};
pub use learning::LEARNED_FOR;

#[cfg(feature = "testing")]
pub mod testing;

/// Compiles the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
