//! The fleet's learning: every [`LEARN_EVERY`], send what this replica
//! learned since the last exchange, and take in the fleet's whole state
//! (the sum of every replica's, kept by the store across restarts).

use nb_learn::{LearnState, SharedLearning};

use super::Fleet;
use crate::shared::Inner;

/// What this replica last exchanged with the fleet.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The fleet's state as last taken in: what this replica's state is
    /// measured against to find what it learned since. `None` before the
    /// first exchange.
    baseline: Option<LearnState>,
}

pub(super) async fn exchange(
    inner: &Inner,
    fleet: &Fleet,
    store: &dyn SharedLearning,
    seen: &mut Seen,
) {
    let sent = inner.learner.state();
    // At the first exchange what this replica holds (a state file it
    // loaded, kept from when it last took in the fleet's) is not news:
    // sending it would count it again. What the fleet lacks of it is made
    // up below.
    let baseline = seen.baseline.get_or_insert_with(|| sent.clone());
    let delta = sent.since(baseline);
    // Not taken by the store: sent again, with whatever comes next.
    let Some(mut state) = fleet.call(store.add(&delta)).await else {
        return;
    };
    // The fleet holds less than this replica knows: it never had it (a
    // state file from before the fleet shared), or it lost it (Redis
    // restarted without persistence, the key expired). Adding the
    // difference keeps what was learned; several replicas doing so after
    // a loss may count some of it more than once, which the learner's
    // rates (failures over calls) mostly absorb.
    let missing = sent.since(&state);
    if !missing.is_empty() {
        match fleet.call(store.add(&missing)).await {
            Some(restored) => state = restored,
            None => return,
        }
    }
    inner.learner.absorb(&state, &sent);
    seen.baseline = Some(state);
}
