//! The fleet's rate limits: lease each shared limit's units in batches
//! sized to what requests asked, spent locally by the limiter; tell the
//! fleet when a provider said to pause.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use nb_breaker::{LeaseAsk, LimitKind, RejectReason, SharedLimits};

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

fn kind_name(kind: LimitKind) -> &'static str {
    match kind {
        LimitKind::Requests => "requests",
        _ => "tokens",
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
    // Gone since the last round (a breaker call may have found out): the
    // leases end before any is spent against a store that is away.
    let mut away = false;
    let gone = !fleet.reachable();
    for t in targets {
        if t.limiter.lease_rate(LimitKind::Requests).is_none()
            && t.limiter.lease_rate(LimitKind::Tokens).is_none()
        {
            continue;
        }
        let s = seen.entry(t.id).or_default();
        // A pause is news once, and again only when it grows.
        let pause = pause(inner, t).filter(|until| {
            s.paused_until
                .is_none_or(|told| *until > told + Duration::from_secs(1))
        });
        for kind in KINDS {
            let Some(rate) = t.limiter.lease_rate(kind) else {
                continue;
            };
            let i = kind_index(kind);
            if gone {
                s.refund[i] += t.limiter.lease_end(kind);
            }
            if away {
                // The store failed this round: every lease ends, and the
                // limiter's own limits rule until it is back.
                s.refund[i] += t.limiter.lease_end(kind);
                continue;
            }
            let need = t.limiter.lease_need(kind);
            let ask = LeaseAsk {
                want: need.want(rate),
                refund: s.refund[i],
                pause_until: pause,
            };
            if ask.want == 0 && ask.refund == 0 && pause.is_none() && t.limiter.is_leased(kind) {
                continue;
            }
            let name = format!("{}:{}", key(t), kind_name(kind));
            match fleet.call(store.lease(&name, rate, ask)).await {
                Some(grant) => {
                    t.limiter.lease_grant(kind, grant, SYNC_EVERY, now());
                    s.refund[i] = 0;
                    if pause.is_some() {
                        s.paused_until = pause;
                    }
                }
                None => {
                    s.refund[i] += t.limiter.lease_end(kind);
                    away = true;
                }
            }
        }
    }
}
