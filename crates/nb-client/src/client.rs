//! The `NeuralBridge` client: its calls, reports and state.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use nb_diagnose::{Diagnosis, DiagnosisEngine};
use nb_learn::{Exclusion, HealthReport, LearnState, ModelStatus, Pattern, StoreError};

use crate::health::{SharedStoreStatus, TargetStatus};
use crate::policy::NextStep;
use crate::shared::Inner;
use crate::target::TargetId;
use crate::time::now;

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

impl NeuralBridge {
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
                    opened: t.breaker.metrics().opened,
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
    /// [`state_store`](crate::NeuralBridgeBuilder::state_store); `Ok(false)` when
    /// there is none.
    pub fn save_state(&self) -> Result<bool, StoreError> {
        self.inner.learner.save()
    }

    /// Everything the learner knows (each model's kept weeks), in the form
    /// a [`StateStore`](crate::health::StateStore) saves; with
    /// [`shared_learning`](crate::NeuralBridgeBuilder::shared_learning),
    /// the fleet's sum as last taken in plus what this replica learned
    /// since.
    pub fn learned_state(&self) -> LearnState {
        self.inner.learner.state()
    }

    /// The recurring failure patterns the learner's evidence supports now.
    pub fn learned_patterns(&self) -> Vec<Pattern> {
        self.inner.learner.patterns(self.inner.wall(now()))
    }

    /// How the link to the fleet's shared store fares, if state is shared.
    pub fn shared_store(&self) -> Option<SharedStoreStatus> {
        let fleet = self.inner.fleet.as_ref()?;
        Some(SharedStoreStatus {
            reachable: fleet.reachable(),
            errors: fleet.errors.load(std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// What this client does after a failure diagnosed as `diagnosis`: its
    /// policy table's entry for the category (the one decision authority)
    /// narrowed by the diagnosis and the backoff's `max_wait`.
    pub fn next_step(&self, diagnosis: &Diagnosis) -> NextStep {
        let settings = &self.inner.settings;
        settings
            .policies
            .for_diagnosis(diagnosis)
            .next_step(diagnosis, &settings.backoff)
    }

    /// The diagnosis engine the client uses (to diagnose errors of your own).
    pub fn diagnosis_engine(&self) -> &DiagnosisEngine {
        &self.inner.engine
    }
}
