//! Breakers shared with the other replicas of a fleet, through a
//! [`SharedBreakers`] store (Redis, with `nb-redis`).
//!
//! A background task, never a request, talks to the store: every
//! [`SYNC_EVERY`] it publishes the breakers that opened here, reads the
//! fleet's records and holds a target open here as long as the fleet says
//! (an outage one replica saw stops the others' traffic within a second),
//! coordinates the probe when an open time ends (one replica probes, the
//! others wait for its verdict), and closes with the fleet when that probe
//! finds the target well. Every store call is bounded by [`STORE_TIMEOUT`];
//! a store that is down or slow leaves every replica on its own breakers,
//! logged once when it goes and once when it is back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use nb_breaker::{CircuitState, FleetState, SharedBreakers, SharedError};

use crate::shared::Inner;
use crate::target::TargetId;
use crate::time::now;

/// How often a replica publishes and reads the fleet's breakers.
pub(crate) const SYNC_EVERY: Duration = Duration::from_millis(250);

/// The longest a store call may take before the replica carries on alone.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_millis(200);

/// How long a replica that lost the probe waits for the winner's verdict
/// before it may claim the next one.
pub(crate) const PROBE_HOLD: Duration = Duration::from_secs(2);

/// A client's link to its fleet.
#[derive(Debug)]
pub(crate) struct Fleet {
    store: Arc<dyn SharedBreakers>,
    started: AtomicBool,
    reachable: AtomicBool,
    /// Store calls that failed or timed out.
    pub(crate) errors: AtomicU64,
}

impl Fleet {
    pub(crate) fn new(store: Arc<dyn SharedBreakers>) -> Self {
        Self {
            store,
            started: AtomicBool::new(false),
            reachable: AtomicBool::new(true),
            errors: AtomicU64::new(0),
        }
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
                    tracing::info!("shared breaker store is back: breakers resynchronised");
                }
                Some(value)
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if self.reachable.swap(false, Ordering::Relaxed) {
                    tracing::warn!("{e}; breakers run on this replica's state until it is back");
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

/// What this replica last saw of a target.
#[derive(Debug, Default)]
struct Seen {
    /// The breaker's open count when last looked at.
    opened: u64,
    /// This replica published an open record not yet answered by a recovery.
    published: bool,
    /// The breaker is held open for the fleet, not for a failure seen here.
    adopted: bool,
    /// Until when this replica holds the fleet's probe.
    probing_until: Option<Instant>,
}

async fn run(inner: Weak<Inner>) {
    // By target id: targets live as long as the client.
    let mut seen: HashMap<u32, Seen> = HashMap::new();
    let mut tick = tokio::time::interval(SYNC_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        // The task ends with the client.
        let Some(inner) = inner.upgrade() else {
            return;
        };
        sync(&inner, &mut seen).await;
    }
}

/// The name a target has in the fleet.
fn key(t: &TargetId) -> String {
    format!("{}@{}", t.model, t.endpoint.name)
}

/// Sets `t`'s breaker to `state` (open for `open_for`) without touching its
/// counters.
fn set(t: &TargetId, state: CircuitState, open_for: Duration, now: Instant) {
    let mut snapshot = t.breaker.snapshot(now);
    snapshot.state = state;
    snapshot.open_remaining = open_for;
    t.breaker.restore(&snapshot, now);
}

async fn sync(inner: &Inner, seen: &mut HashMap<u32, Seen>) {
    let Some(fleet) = &inner.fleet else {
        return;
    };
    let store = &*fleet.store;
    let targets = inner.registry.targets();
    let now = now();
    let wall = inner.wall(now);

    // What happened here since the last look.
    for t in &targets {
        let s = seen.entry(t.id).or_default();
        let opened = t.breaker.metrics().opened;
        let state = t.breaker.state(now);
        if opened > s.opened && state == CircuitState::Open {
            // An open the store did not take is offered again next time.
            let remaining = t.breaker.snapshot(now).open_remaining;
            if fleet
                .call(store.open(&key(t), wall + remaining))
                .await
                .is_some()
            {
                s.opened = opened;
                s.published = true;
                s.adopted = false;
            }
        } else {
            s.opened = opened;
        }
        if state == CircuitState::Closed && s.published && !s.adopted {
            // This replica's probe found it well: the fleet closes with it.
            if fleet.call(store.recovered(&key(t))).await.is_some() {
                s.published = false;
            }
        }
    }

    // What the fleet says.
    let keys: Vec<String> = targets.iter().map(key).collect();
    let Some(records) = fleet.call(store.states(&keys)).await else {
        return;
    };
    let records: HashMap<&str, FleetState> = records
        .iter()
        .map(|r| (r.target.as_str(), r.state))
        .collect();
    for t in &targets {
        let Some(s) = seen.get_mut(&t.id) else {
            continue;
        };
        let state = t.breaker.state(now);
        let k = key(t);
        match records.get(k.as_str()) {
            Some(FleetState::Open { until }) if *until > wall => {
                let remaining = until.duration_since(wall).unwrap_or_default();
                let local_remaining = t.breaker.snapshot(now).open_remaining;
                // Held open for as long as the fleet says (longer than here:
                // another replica saw more).
                if matches!(state, CircuitState::Closed | CircuitState::HalfOpen)
                    || (state == CircuitState::Open && remaining > local_remaining + SYNC_EVERY)
                {
                    set(t, CircuitState::Open, remaining, now);
                    s.opened = t.breaker.metrics().opened;
                    s.adopted = true;
                } else if state == CircuitState::Open && remaining <= SYNC_EVERY {
                    claim(fleet, t, s, now).await;
                }
            }
            // The fleet's open time ended: one replica probes.
            Some(FleetState::Open { .. })
                if matches!(state, CircuitState::Open | CircuitState::HalfOpen) =>
            {
                claim(fleet, t, s, now).await;
            }
            Some(FleetState::Recovered) => {
                if s.adopted && state != CircuitState::Closed {
                    set(t, CircuitState::Closed, Duration::ZERO, now);
                    s.opened = t.breaker.metrics().opened;
                }
                s.adopted = false;
                s.published = false;
            }
            _ => {}
        }
    }
}

/// The target's open time ends: claims the fleet's probe, or waits for the
/// winner's verdict with the breaker held open.
async fn claim(fleet: &Fleet, t: &TargetId, s: &mut Seen, now: Instant) {
    if s.probing_until.is_some_and(|until| now < until) {
        return;
    }
    let store = &*fleet.store;
    match fleet.call(store.claim_probe(&key(t), PROBE_HOLD)).await {
        // This replica probes, and answers for the verdict.
        Some(true) => {
            s.adopted = false;
            s.published = true;
            s.probing_until = Some(now + PROBE_HOLD);
        }
        None => {}
        Some(false) => {
            set(t, CircuitState::Open, PROBE_HOLD, now);
            s.opened = t.breaker.metrics().opened;
            s.adopted = true;
        }
    }
}

#[cfg(test)]
mod tests;
