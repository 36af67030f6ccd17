//! The fleet's breakers: publish what opened here, hold open what the
//! fleet says, coordinate the probe, close with its verdict.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nb_breaker::{CircuitState, FleetState, SharedBreakers};

use super::{Fleet, PROBE_HOLD, SYNC_EVERY, key};
use crate::shared::Inner;
use crate::target::TargetId;
use crate::time::now;

/// What this replica last saw of a target.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The breaker's open count when last looked at.
    opened: u64,
    /// This replica published an open record not yet answered by a recovery.
    published: bool,
    /// The breaker is held open for the fleet, not for a failure seen here.
    adopted: bool,
    /// Until when this replica holds the fleet's probe.
    probing_until: Option<Instant>,
}

/// Sets `t`'s breaker to `state` (open for `open_for`) without touching its
/// counters.
fn set(t: &TargetId, state: CircuitState, open_for: Duration, now: Instant) {
    let mut snapshot = t.breaker.snapshot(now);
    snapshot.state = state;
    snapshot.open_remaining = open_for;
    t.breaker.restore(&snapshot, now);
}

pub(super) async fn sync(
    inner: &Inner,
    fleet: &Fleet,
    store: &dyn SharedBreakers,
    targets: &[TargetId],
    seen: &mut HashMap<u32, Seen>,
) {
    let now = now();
    let wall = inner.wall(now);

    // What happened here since the last look.
    for t in targets {
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
    for t in targets {
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
                    claim(fleet, store, t, s, now).await;
                }
            }
            // The fleet's open time ended: one replica probes.
            Some(FleetState::Open { .. })
                if matches!(state, CircuitState::Open | CircuitState::HalfOpen) =>
            {
                claim(fleet, store, t, s, now).await;
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
async fn claim(
    fleet: &Fleet,
    store: &dyn SharedBreakers,
    t: &TargetId,
    s: &mut Seen,
    now: Instant,
) {
    if s.probing_until.is_some_and(|until| now < until) {
        return;
    }
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
