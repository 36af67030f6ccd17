//! The `NeuralBridge` client and the state every call shares.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use nb_breaker::{Backoff, CircuitState, RetryBudget};
use nb_diagnose::{Diagnosis, DiagnosisEngine, Failure, Provider};
use nb_learn::{
    ClockAnchor, Exclusion, FlywheelEngine, HealthReport, ModelStatus, PredictiveEngine, StoreError,
};
use nb_transport::{ChatCompletion, Transport};

use crate::builder::NeuralBridgeBuilder;
use crate::chat::Chat;
use crate::degrade::LastGood;
use crate::policy::{Degradation, Hedging, NextStep, PolicyTable, StreamPolicy, Tier};
use crate::target::{Registry, TargetId};

/// The current time on tokio's clock, so that `tokio::time::pause()` moves
/// every breaker, balancer, limiter and learner together with the sleeps.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The longest wait the client hands to a timer or a transport: a
/// hundred years, which every clock can add (`Duration::MAX` cannot).
pub(crate) const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `at + d`, saturating at [`FAR`] instead of overflowing (a deadline or
/// backoff of `Duration::MAX` means "never").
pub(crate) fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d.min(FAR)).unwrap_or(at)
}

/// A user's response validator.
pub(crate) type Validator = Arc<dyn Fn(&ChatCompletion) -> Result<(), String> + Send + Sync>;

/// Per-call settings, fixed at build.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
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
    pub(crate) settings: Settings,
    pub(crate) validator: Option<Validator>,
    pub(crate) degradation: Option<Degradation>,
    pub(crate) last_good: Option<LastGood>,
    /// `(instant, wall clock)` taken at build: maps tokio's clock to UTC.
    pub(crate) anchor: ClockAnchor,
    pub(crate) seed: Option<u64>,
    pub(crate) calls: AtomicU64,
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

/// A self-healing client for OpenAI-compatible chat APIs.
///
/// Cheap to clone (an `Arc`); clones share endpoints, breakers, limiters,
/// the balancer and the learner. Build one with [`NeuralBridge::builder`].
/// See the [crate docs](crate) for the cascade every call runs.
#[derive(Clone)]
pub struct NeuralBridge {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for NeuralBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// One target's state, for dashboards and the CLI.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TargetStatus {
    /// The routing name: the model, or `model@endpoint` when the model's bare
    /// name resolves to another endpoint.
    pub name: String,
    /// The model on the wire.
    pub model: String,
    /// The endpoint's name.
    pub endpoint: String,
    /// The provider it is treated as.
    pub provider: Provider,
    /// The circuit breaker's state.
    pub breaker: CircuitState,
    /// How long until it admits calls again, when it does not now.
    pub reopens_in: Option<Duration>,
    /// Its status in the [`health_status`](NeuralBridge::health_status)
    /// report: [`ModelStatus::Excluded`] whenever `exclusion` is set, never
    /// active while its breaker is open.
    pub status: ModelStatus,
    /// Why it is not called now and until when, if it is not (an open
    /// breaker, a rate-limit pause, a predictor skip).
    pub exclusion: Option<Exclusion>,
    /// The configured context window, if any.
    pub context_window: Option<u64>,
}

impl NeuralBridge {
    /// A builder with the documented defaults.
    pub fn builder() -> NeuralBridgeBuilder {
        NeuralBridgeBuilder::default()
    }

    /// Chat completions: [`Chat::create`] and [`Chat::stream`].
    pub fn chat(&self) -> Chat<'_> {
        Chat::new(self)
    }

    /// Which models serve well, which do not, and what to do about it: the
    /// learner's report over its window (each model's status from every
    /// attempt's outcome), with every target the client does not call now
    /// marked [`ModelStatus::Excluded`] with its reason and end (an open
    /// breaker until a probe succeeds, a rate-limit pause until its wait
    /// ends, a predictor skip until the pattern hour ends). The report's
    /// `verdict` follows from the models' statuses.
    pub fn health_status(&self) -> HealthReport {
        self.snapshot(now()).0
    }

    /// Every target the client knows, with its breaker state, its status in
    /// the [`health_status`](Self::health_status) report and its exclusion.
    pub fn targets(&self) -> Vec<TargetStatus> {
        let now = now();
        let (report, targets) = self.snapshot(now);
        targets
            .into_iter()
            .map(|(t, exclusion)| {
                let status = match exclusion {
                    Some(_) => ModelStatus::Excluded,
                    None => report
                        .models
                        .iter()
                        .find(|m| *m.model == *t.name)
                        .map_or(ModelStatus::Active, |m| m.status),
                };
                TargetStatus {
                    name: t.name.to_string(),
                    model: t.model.to_string(),
                    endpoint: t.endpoint.name.to_string(),
                    provider: t.provider,
                    breaker: t.breaker.state(now),
                    reopens_in: t.breaker.check(now).err().map(|r| r.retry_after),
                    status,
                    exclusion,
                    context_window: t.context_window,
                }
            })
            .collect()
    }

    /// The health report and every target with its exclusion, at `now`.
    fn snapshot(&self, now: Instant) -> (HealthReport, Vec<(TargetId, Option<Exclusion>)>) {
        let inner = &self.inner;
        let mut report = inner.learner.health_report(inner.wall(now));
        let targets: Vec<(TargetId, Option<Exclusion>)> = inner
            .registry
            .targets()
            .into_iter()
            .map(|t| {
                let exclusion = crate::health::exclusion(inner, &t, now);
                (t, exclusion)
            })
            .collect();
        for (t, exclusion) in &targets {
            if let Some(exclusion) = exclusion {
                report.exclude(&t.name, *exclusion);
            }
        }
        (report, targets)
    }

    /// Saves what the learner learned to the configured
    /// [`state_store`](NeuralBridgeBuilder::state_store); `Ok(false)` when
    /// there is none.
    pub fn save_state(&self) -> Result<bool, StoreError> {
        self.inner.learner.save()
    }

    /// What this client does after a failure diagnosed as `diagnosis`: its
    /// policy table's entry for the category (the one decision authority)
    /// narrowed by the diagnosis and the backoff's `max_wait`.
    pub fn next_step(&self, diagnosis: &Diagnosis) -> NextStep {
        let settings = &self.inner.settings;
        settings
            .policies
            .get(diagnosis.category)
            .next_step(diagnosis, &settings.backoff)
    }

    /// The diagnosis engine the client uses (to diagnose errors of your own).
    pub fn diagnosis_engine(&self) -> &DiagnosisEngine {
        &self.inner.engine
    }
}
