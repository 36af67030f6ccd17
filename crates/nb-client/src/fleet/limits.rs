//! The fleet's rate limits: lease each shared limit's units in batches
//! sized to what requests asked, spent locally by the limiter; tell the
//! fleet when a provider said to pause.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use nb_breaker::{LeaseAsk, LimitKind, ObservedLimits, RejectReason, SharedLimits};

use super::{Fleet, SYNC_EVERY, key};
use crate::shared::Inner;
use crate::target::TargetId;
use crate::time::now;

const KINDS: [LimitKind; 2] = [LimitKind::Requests, LimitKind::Tokens];

/// What this replica owes and told the fleet of a target's limits.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Units held when the store went away, to hand back when it returns
    /// (requests, tokens).
    refund: [u64; 2],
    /// The last pause this replica told the fleet of.
    paused_until: Option<SystemTime>,
}

fn kind_index(kind: LimitKind) -> usize {
    match kind {
        LimitKind::Requests => 0,
        _ => 1,
    }
}

/// Until when the provider said to send `t` nothing (its rate-limit
/// headers with nothing remaining, or a `Retry-After` the breaker holds).
fn pause(inner: &Inner, t: &TargetId) -> Option<SystemTime> {
    let now = now();
    let headers = t.limiter.exhausted_for(now);
    let retry_after = match t.breaker.check(now) {
        Err(r) if r.reason == RejectReason::Throttled => Some(r.retry_after),
        _ => None,
    };
    let longest = headers.max(retry_after)?;
    Some(inner.wall(now) + longest)
}

pub(super) async fn sync(
    inner: &Inner,
    fleet: &Fleet,
    store: &dyn SharedLimits,
    targets: &[TargetId],
    seen: &mut HashMap<u32, Seen>,
) {
    let mut away = false;

    // A provider's pause is news once, and again only when it grows.
    for t in targets {
        let s = seen.entry(t.id).or_default();
        let Some(until) = pause(inner, t) else {
            continue;
        };
        if away
            || s.paused_until
                .is_some_and(|told| until <= told + Duration::from_secs(1))
        {
            continue;
        }
        match fleet.call(store.pause(&key(t), until)).await {
            Some(()) => s.paused_until = Some(until),
            None => away = true,
        }
    }

    for t in targets {
        let Some(s) = seen.get_mut(&t.id) else {
            continue;
        };
        for kind in KINDS {
            let Some(rate) = t.limiter.lease_rate(kind) else {
                continue;
            };
            let i = kind_index(kind);
            if away {
                break;
            }
            let need = t.limiter.lease_need(kind);
            let wall = inner.wall(now());
            let ask = LeaseAsk {
                want: need.want(rate),
                refund: s.refund[i],
                pause_until: s.paused_until.filter(|until| *until > wall),
            };
            let name = format!("{}:{kind}", key(t));
            match fleet.call(store.lease(&name, rate, ask)).await {
                Some(grant) => {
                    t.limiter.lease_grant(kind, grant, SYNC_EVERY, now());
                    s.refund[i] = 0;
                }
                None => away = true,
            }
        }
    }
    // The store is away (this round found out, or an earlier call did and
    // nothing here tried it since): every lease ends, and the limiters' own
    // limits rule until it is back. What they held is handed back then.
    if away || !fleet.reachable() {
        for t in targets {
            let s = seen.entry(t.id).or_default();
            for kind in KINDS {
                s.refund[kind_index(kind)] += t.limiter.lease_end(kind);
            }
        }
        return;
    }

    // The fleet's pauses: a target another replica was told to leave alone
    // gets nothing from here either, until the pause ends.
    let keys: Vec<String> = targets.iter().map(key).collect();
    let Some(pauses) = fleet.call(store.pauses(&keys)).await else {
        return;
    };
    let now = now();
    let wall = inner.wall(now);
    for (name, until) in pauses {
        let Some(t) = targets.iter().find(|t| key(t) == name) else {
            continue;
        };
        let Some(remaining) = until.duration_since(wall).ok() else {
            continue;
        };
        let known = t.limiter.exhausted_for(now).unwrap_or_default();
        if remaining > known + Duration::from_millis(100) {
            let paused = ObservedLimits {
                remaining_requests: Some(0),
                reset_requests: Some(remaining),
                ..ObservedLimits::default()
            };
            t.limiter.observe(paused, now);
        }
        let s = seen.entry(t.id).or_default();
        // Adopted, not news: this replica does not tell it again.
        s.paused_until = s.paused_until.max(Some(until));
    }
}
