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
    /// measured against to find what it learned since.
    baseline: LearnState,
}

pub(super) async fn exchange(
    inner: &Inner,
    fleet: &Fleet,
    store: &dyn SharedLearning,
    seen: &mut Seen,
) {
    let sent = inner.learner.state();
    let delta = sent.since(&seen.baseline);
    // Not taken by the store: sent again, with whatever comes next.
    if let Some(state) = fleet.call(store.add(&delta)).await {
        inner.learner.absorb(&state, &sent);
        seen.baseline = state;
    }
}
