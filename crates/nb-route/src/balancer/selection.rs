//! What [`LoadBalancer::select`] hands out: a [`Selection`], and the
//! [`InFlight`] guard it turns into when the request starts.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::Entry;
use crate::health::Status;
use crate::target::Target;

// Named by the docs' links only.
#[cfg(doc)]
use super::LoadBalancer;
#[cfg(doc)]
use crate::config::LoadBalancingStrategy;

/// Why a target was selected.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectionKind {
    /// Chosen by the configured strategy among eligible targets.
    Normal,
    /// An excluded target let back in for one probe request: its result
    /// decides whether it returns to rotation.
    Probe,
    /// Chosen in panic mode: too few targets were healthy, so health was
    /// ignored.
    Panic,
    /// Every target the caller would accept was excluded for health, so the
    /// fallback strategy chose among them, ignoring health.
    FallbackStrategy,
}

/// A target chosen by [`LoadBalancer::select`].
///
/// Holds the target's shared state, so it stays valid (and
/// [`start`](Self::start) still counts) if the target is removed meanwhile.
pub struct Selection<T: Target = String> {
    pub(super) entry: Arc<Entry<T>>,
    pub(super) kind: SelectionKind,
    /// For a probe: the status it was granted with, and the one that puts
    /// it back ("excluded, probe due when this one was granted").
    pub(super) probe: Option<(Status, Status)>,
}

impl<T: Target> Selection<T> {
    /// The chosen target.
    pub fn target(&self) -> &T {
        &self.entry.target
    }

    /// The chosen target's name.
    pub fn name(&self) -> &str {
        self.entry.target.name()
    }

    /// Why it was chosen.
    pub fn kind(&self) -> SelectionKind {
        self.kind
    }

    /// Whether this is a probe of an excluded target.
    pub fn is_probe(&self) -> bool {
        self.kind == SelectionKind::Probe
    }

    /// Counts a request in flight to the target until the guard is dropped
    /// or passed to [`LoadBalancer::finish`]. This is what
    /// [`LeastConnections`](LoadBalancingStrategy::LeastConnections) and
    /// [`PowerOfTwoChoices`](LoadBalancingStrategy::PowerOfTwoChoices) see.
    pub fn start(self) -> InFlight<T> {
        self.entry.in_flight.fetch_add(1, Relaxed);
        InFlight {
            entry: self.entry,
            kind: self.kind,
        }
    }

    /// Gives the selection back unused, for a caller that chose a target
    /// but then could not call it (its own breaker or rate limiter refused
    /// in a race). For a [`Probe`](SelectionKind::Probe), the probe is due
    /// again at once instead of lapsing for a whole `health_check_interval`;
    /// for any other selection this is the same as dropping it.
    ///
    /// Merely dropping a selection does not give a probe back, because the
    /// NeuralBridge Python SDK's API selects, drops the selection and
    /// reports the result later with [`LoadBalancer::record_result`].
    pub fn abandon(self) {
        if let Some((granted, due)) = self.probe {
            // Fails harmlessly if the status moved on meanwhile.
            self.entry.status.transition(granted, due);
        }
    }
}

impl<T: Target> fmt::Debug for Selection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selection")
            .field("target", &self.entry.target)
            .field("kind", &self.kind)
            .finish()
    }
}

/// A request in flight to a target: dropping the guard ends it.
#[must_use = "dropping the guard ends the request at once"]
pub struct InFlight<T: Target = String> {
    pub(super) entry: Arc<Entry<T>>,
    pub(super) kind: SelectionKind,
}

impl<T: Target> InFlight<T> {
    /// The target the request went to.
    pub fn target(&self) -> &T {
        &self.entry.target
    }

    /// Why the target was chosen.
    pub fn kind(&self) -> SelectionKind {
        self.kind
    }
}

impl<T: Target> Drop for InFlight<T> {
    fn drop(&mut self) {
        self.entry.in_flight.fetch_sub(1, Relaxed);
    }
}

impl<T: Target> fmt::Debug for InFlight<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("target", &self.entry.target)
            .field("kind", &self.kind)
            .finish()
    }
}
