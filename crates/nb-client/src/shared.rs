//! The state every call of one client shares ([`Inner`]) and its per-call
//! settings.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use nb_breaker::{Backoff, RetryBudget};
use nb_diagnose::{Diagnosis, DiagnosisEngine, Failure};
use nb_learn::{ClockAnchor, FlywheelEngine, PredictiveEngine};
use nb_transport::{ChatCompletion, Transport};

use crate::cache::LastGood;
use crate::policy::{Degradation, Hedging, PolicyTable, StreamPolicy, Tier};
use crate::target::Registry;
use crate::time::now;

/// A user's response validator.
pub(crate) type Validator = Arc<dyn Fn(&ChatCompletion) -> Result<(), String> + Send + Sync>;

/// Per-call settings, fixed at build.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Capability tiers, by name: models that may stand in for each other
    /// under [`Fallback::SameTier`](crate::policy::Fallback::SameTier).
    pub(crate) tiers: Vec<(String, Vec<Arc<str>>)>,
    /// Whether answers are checked against the request's schema.
    pub(crate) schema_guard: bool,
    pub(crate) max_retries: u32,
    pub(crate) deadline: Duration,
    pub(crate) backoff: Backoff,
    pub(crate) ladder: Vec<Tier>,
    pub(crate) idle_timeout: Duration,
    pub(crate) finish_grace: Duration,
    /// Server waits up to this are waited out rather than fallen back from.
    pub(crate) wait_threshold: Duration,
    pub(crate) hedging: Hedging,
    pub(crate) policies: PolicyTable,
    pub(crate) stream_policy: StreamPolicy,
    pub(crate) verbose: bool,
}

impl Settings {
    /// The ladder's tier for the call's attempt `index` (from 0); the last
    /// tier repeats.
    pub(crate) fn tier(&self, index: usize) -> Tier {
        self.ladder
            .get(index)
            .or(self.ladder.last())
            .copied()
            .unwrap_or(Tier::Standard)
    }
}

/// What every call of one client shares.
pub(crate) struct Inner {
    pub(crate) registry: Registry,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) engine: DiagnosisEngine,
    pub(crate) learner: FlywheelEngine,
    /// The predictor the availability filter asks (learning on), and its threshold.
    pub(crate) predictor: Option<(Arc<PredictiveEngine>, f64)>,
    pub(crate) budget: RetryBudget,
    /// Hedges at most `hedging.max_share` of the calls.
    pub(crate) hedge_budget: RetryBudget,
    /// Hedges of attempts already generating are at most
    /// `hedging.max_generating_share` of the calls.
    pub(crate) generating_hedge_budget: RetryBudget,
    pub(crate) settings: Settings,
    pub(crate) validator: Option<Validator>,
    pub(crate) degradation: Option<Degradation>,
    pub(crate) last_good: Option<LastGood>,
    /// `(instant, wall clock)` taken at build: maps tokio's clock to UTC.
    pub(crate) anchor: ClockAnchor,
    pub(crate) seed: Option<u64>,
    pub(crate) calls: AtomicU64,
    /// The fleet whose breakers this client shares, if any.
    pub(crate) fleet: Option<crate::fleet::Fleet>,
    /// Compiled response schemas (the `schema` feature).
    pub(crate) schemas: crate::guard::compiled::Cache,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NeuralBridge")
            .field("registry", &self.registry)
            .field("transport", &self.transport)
            .field("settings", &self.settings)
            .field("learning", &self.predictor.is_some())
            .field("degradation", &self.degradation)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The wall-clock time of `at` (virtual under a paused tokio clock).
    pub(crate) fn wall(&self, at: Instant) -> SystemTime {
        self.anchor.wall_clock(at)
    }

    /// Diagnoses `failure` now.
    pub(crate) fn diagnose(&self, failure: &Failure<'_>) -> Diagnosis {
        self.engine.diagnose_at(failure, self.wall(now()))
    }

    /// A fresh jitter generator for one call: seeded from the client's seed
    /// and the call's number when a seed is set.
    pub(crate) fn rng(&self) -> nb_breaker::fastrand::Rng {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        match self.seed {
            Some(seed) => nb_breaker::fastrand::Rng::with_seed(seed.wrapping_add(n)),
            None => nb_breaker::fastrand::Rng::new(),
        }
    }
}
