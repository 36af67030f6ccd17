//! State shared with the other replicas of a fleet, through a store
//! (Redis, with `nb-redis`): breakers ([`SharedBreakers`]), rate limits
//! ([`SharedLimits`]) and learning ([`SharedLearning`]).
//!
//! A background task, never a request, talks to the store, every
//! [`SYNC_EVERY`]:
//! - breakers: it publishes the breakers that opened here, reads the
//!   fleet's records and holds a target open here as long as the fleet says
//!   (an outage one replica saw stops the others' traffic within a second),
//!   coordinates the probe when an open time ends (one replica probes, the
//!   others wait for its verdict), and closes with the fleet when that probe
//!   finds the target well;
//! - rate limits: it leases a batch of each shared limit's units, sized to
//!   what requests asked since the last lease, which requests spend locally,
//!   and tells the fleet when a provider said to pause;
//! - learning ([`SharedLearning`], every [`LEARN_EVERY`] instead): it adds
//!   what this replica learned since the last exchange to the fleet's
//!   counters and takes in their sum, which outlives every replica.
//!
//! Every store call is bounded by [`STORE_TIMEOUT`]; a store that is down
//! or slow leaves every replica on its own breakers and limits, logged once
//! when it goes and once when it is back, and is tried again after a wait
//! that doubles up to [`RECONNECT_MAX`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use nb_breaker::{SharedBreakers, SharedError, SharedLimits};
use nb_learn::SharedLearning;

use crate::shared::Inner;
use crate::target::TargetId;

mod breakers;
mod learning;
mod limits;

/// How often a replica publishes and reads the fleet's state.
pub(crate) const SYNC_EVERY: Duration = Duration::from_millis(250);

/// The longest a store call may take before the replica carries on alone.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_millis(200);

/// How often a replica exchanges what it learned with the fleet (at
/// start, then on this beat): learned patterns are about hours of the
/// week, so this is plenty.
pub(crate) const LEARN_EVERY: Duration = Duration::from_secs(10);

/// The longest a replica waits between two tries of a store that is away
/// (the wait doubles from [`SYNC_EVERY`] up to this).
pub(crate) const RECONNECT_MAX: Duration = Duration::from_secs(1);

/// How long a replica that lost the probe waits for the winner's verdict
/// before it may claim the next one.
pub(crate) const PROBE_HOLD: Duration = Duration::from_secs(2);

/// The stores a client shares state through.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stores {
    pub(crate) breakers: Option<Arc<dyn SharedBreakers>>,
    pub(crate) limits: Option<Arc<dyn SharedLimits>>,
    pub(crate) learning: Option<Arc<dyn SharedLearning>>,
}

/// A client's link to its fleet.
#[derive(Debug)]
pub(crate) struct Fleet {
    stores: Stores,
    started: AtomicBool,
    reachable: AtomicBool,
    /// Store calls that failed or timed out.
    pub(crate) errors: AtomicU64,
}

impl Fleet {
    /// The link, if any state is shared.
    pub(crate) fn new(stores: Stores) -> Option<Self> {
        let any = stores.breakers.is_some() || stores.limits.is_some() || stores.learning.is_some();
        any.then(|| Self {
            stores,
            started: AtomicBool::new(false),
            reachable: AtomicBool::new(true),
            errors: AtomicU64::new(0),
        })
    }

    /// Whether the store answered the last call.
    pub(crate) fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// Runs `call` under [`STORE_TIMEOUT`]; a failure is counted and logged
    /// when the store goes away, and its return logged once.
    async fn call<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, SharedError>>,
    ) -> Option<T> {
        let result = match tokio::time::timeout(STORE_TIMEOUT, call).await {
            Ok(result) => result,
            Err(_) => Err(SharedError::new(format!(
                "no answer within {} ms",
                STORE_TIMEOUT.as_millis()
            ))),
        };
        match result {
            Ok(value) => {
                if !self.reachable.swap(true, Ordering::Relaxed) {
                    tracing::info!("shared store is back: breakers and limits resynchronised");
                }
                Some(value)
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if self.reachable.swap(false, Ordering::Relaxed) {
                    tracing::warn!(
                        "{e}; breakers and rate limits run on this replica's state until it is back"
                    );
                }
                None
            }
        }
    }
}

/// Starts the client's sync task, once, when a tokio runtime is at hand
/// (at build, or at the first call).
pub(crate) fn ensure_started(inner: &Arc<Inner>) {
    let Some(fleet) = &inner.fleet else {
        return;
    };
    if fleet.started.load(Ordering::Relaxed) {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if fleet.started.swap(true, Ordering::AcqRel) {
        return;
    }
    runtime.spawn(run(Arc::downgrade(inner)));
}

async fn run(inner: Weak<Inner>) {
    // By target id: targets live as long as the client.
    let mut breakers: HashMap<u32, breakers::Seen> = HashMap::new();
    let mut limits: HashMap<u32, limits::Seen> = HashMap::new();
    let mut learned = learning::Seen::default();
    let mut learned_at: Option<tokio::time::Instant> = None;
    let mut backoff = SYNC_EVERY;
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(SYNC_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let at = tick.tick().await;
        // The task ends with the client.
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let Some(fleet) = &inner.fleet else {
            return;
        };
        if retry_at.is_some_and(|retry| at < retry) {
            continue;
        }
        let targets = inner.registry.targets();
        if let Some(store) = &fleet.stores.limits {
            limits::sync(&inner, fleet, &**store, &targets, &mut limits).await;
        }
        if let Some(store) = &fleet.stores.breakers {
            breakers::sync(&inner, fleet, &**store, &targets, &mut breakers).await;
        }
        if let Some(store) = &fleet.stores.learning
            && learned_at.is_none_or(|last| at >= last + LEARN_EVERY)
        {
            learned_at = Some(at);
            learning::exchange(&inner, fleet, &**store, &mut learned).await;
        }
        // A store that is away is tried again after a wait that doubles,
        // up to RECONNECT_MAX.
        if fleet.reachable() {
            backoff = SYNC_EVERY;
            retry_at = None;
        } else {
            backoff = (backoff * 2).min(RECONNECT_MAX);
            retry_at = Some(at + backoff);
        }
    }
}

/// The name a target has in the fleet.
fn key(t: &TargetId) -> String {
    format!("{}@{}", t.model, t.endpoint.name)
}

#[cfg(test)]
mod tests;
