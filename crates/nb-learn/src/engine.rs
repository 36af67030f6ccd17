//! `FlywheelEngine`: the bundle the facade holds.

use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::health::{HealthConfig, HealthReport};
use crate::learner::Pattern;
use crate::outcome::Outcome;
use crate::predict::{PredictiveConfig, PredictiveEngine};
use crate::state::LearnState;
use crate::store::{StateStore, StoreError};

/// L4 in one piece: reliability, the health report, the pattern learner and
/// the predictor over shared per-model state, plus an optional
/// [`StateStore`] so learning survives restarts.
///
/// Feed it an [`Outcome`] after every attempt; give
/// [`predictor()`](Self::predictor) to the `Predictive` balancer; call
/// [`load`](Self::load) at startup and [`save`](Self::save) now and then (the
/// engine does no I/O on its own). It is `Send + Sync`; share it in an `Arc`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use nb_diagnose::ErrorCategory;
/// use nb_learn::{FlywheelEngine, MemoryStore, Outcome, PredictiveConfig};
///
/// let engine = FlywheelEngine::builder()
///     .fallback_models(["qwen-max", "gpt-4o", "deepseek-chat"])
///     .predictive_config(PredictiveConfig {
///         window_minutes: 60,
///         degradation_threshold: 0.7,
///         ..Default::default()
///     })
///     .enable_learning(true)
///     .store(MemoryStore::new(), "learn")
///     .build();
/// assert_eq!(engine.load().unwrap(), false); // nothing saved yet
///
/// let now = SystemTime::now();
/// for _ in 0..20 {
///     engine.record(&Outcome::failure("gpt-4o", now, Duration::from_millis(50), ErrorCategory::RateLimit));
///     engine.record(&Outcome::success("qwen-max", now, Duration::from_millis(380)));
/// }
/// let report = engine.health_report(now);
/// // gpt-4o fails every call: the client serves, but not at full strength.
/// assert_eq!(report.verdict, nb_learn::Verdict::Degraded);
/// assert_eq!(report.failed_models, ["gpt-4o"]);
/// assert_eq!(report.active_models, ["deepseek-chat", "qwen-max"]);
/// assert!(engine.save().unwrap());
/// ```
pub struct FlywheelEngine {
    engine: Arc<PredictiveEngine>,
    health: HealthConfig,
    store: Option<(Arc<dyn StateStore>, String)>,
}

impl fmt::Debug for FlywheelEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlywheelEngine")
            .field("engine", &self.engine)
            .field("health", &self.health)
            .field("store_key", &self.store.as_ref().map(|(_, key)| key))
            .finish()
    }
}

impl Default for FlywheelEngine {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl FlywheelEngine {
    /// A builder with the default configuration and no store.
    pub fn builder() -> FlywheelEngineBuilder {
        FlywheelEngineBuilder::default()
    }

    /// Feeds one attempt's outcome.
    pub fn record(&self, outcome: &Outcome<'_>) {
        self.engine.record(outcome);
    }

    /// The health of every model over the configured window ending at `now`.
    pub fn health_report(&self, now: SystemTime) -> HealthReport {
        self.engine.health_report(now, &self.health)
    }

    /// The learned patterns supported by the evidence kept at `now`.
    pub fn patterns(&self, now: SystemTime) -> Vec<Pattern> {
        self.engine.patterns(now)
    }

    /// The predictor, to hand to the `Predictive` balancer as an
    /// `Arc<dyn nb_route::Predictor>`. It shares this engine's state.
    pub fn predictor(&self) -> Arc<PredictiveEngine> {
        Arc::clone(&self.engine)
    }

    /// The health thresholds.
    pub fn health_config(&self) -> &HealthConfig {
        &self.health
    }

    /// Everything learned so far, in the form a store keeps.
    pub fn state(&self) -> LearnState {
        self.engine.state()
    }

    /// Takes in a fleet's learned state (see
    /// [`PredictiveEngine::absorb`]): the fleet's counters plus what this
    /// engine learned since it took `sent`.
    pub fn absorb(&self, fleet: &LearnState, sent: &LearnState) {
        self.engine.absorb(fleet, sent);
    }

    /// Restores learned history from the store. `Ok(false)` when there is
    /// no store or nothing saved. On error (corrupt, newer version, I/O) the
    /// engine keeps its current state and keeps working; the error is for
    /// the caller to log.
    pub fn load(&self) -> Result<bool, StoreError> {
        let Some((store, key)) = &self.store else {
            return Ok(false);
        };
        match store.load(key)? {
            Some(state) => {
                self.engine.restore(&state);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Saves learned history to the store; `Ok(false)` when there is none.
    pub fn save(&self) -> Result<bool, StoreError> {
        let Some((store, key)) = &self.store else {
            return Ok(false);
        };
        store.save(key, &self.engine.state())?;
        Ok(true)
    }
}

/// Builds a [`FlywheelEngine`].
#[derive(Default)]
pub struct FlywheelEngineBuilder {
    models: Vec<String>,
    predictive: PredictiveConfig,
    health: HealthConfig,
    store: Option<(Arc<dyn StateStore>, String)>,
    anchor: Option<(Instant, SystemTime)>,
}

impl fmt::Debug for FlywheelEngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlywheelEngineBuilder")
            .field("models", &self.models)
            .field("predictive", &self.predictive)
            .field("health", &self.health)
            .field("store_key", &self.store.as_ref().map(|(_, key)| key))
            .field("anchor", &self.anchor)
            .finish()
    }
}

impl FlywheelEngineBuilder {
    /// Models to track from the start, so the health report lists them
    /// before their first outcome (the client's `fallback_models`).
    pub fn fallback_models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.models.extend(models.into_iter().map(Into::into));
        self
    }

    /// The predictor's configuration (it includes the learner's).
    pub fn predictive_config(mut self, config: PredictiveConfig) -> Self {
        self.predictive = config;
        self
    }

    /// Whether outcomes teach recurring patterns (default true).
    pub fn enable_learning(mut self, enabled: bool) -> Self {
        self.predictive.learner.enabled = enabled;
        self
    }

    /// The health report's thresholds.
    pub fn health_config(mut self, config: HealthConfig) -> Self {
        self.health = config;
        self
    }

    /// Where [`load`](FlywheelEngine::load) and [`save`](FlywheelEngine::save)
    /// keep state, under `key`.
    pub fn store(mut self, store: impl StateStore + 'static, key: impl Into<String>) -> Self {
        self.store = Some((Arc::new(store), key.into()));
        self
    }

    /// Maps the monotonic `instant` to wall-clock `wall` for the predictor
    /// (virtual time); see [`PredictiveEngine::with_clock_anchor`].
    pub fn clock_anchor(mut self, instant: Instant, wall: SystemTime) -> Self {
        self.anchor = Some((instant, wall));
        self
    }

    /// The engine. Does no I/O: call [`FlywheelEngine::load`] next.
    pub fn build(self) -> FlywheelEngine {
        let mut engine = PredictiveEngine::new(self.predictive);
        if let Some((instant, wall)) = self.anchor {
            engine = engine.with_clock_anchor(instant, wall);
        }
        for m in &self.models {
            engine.register(m);
        }
        FlywheelEngine {
            engine: Arc::new(engine),
            health: self.health,
            store: self.store,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use nb_route::Predictor;

    use super::*;
    use crate::store::{JsonFileStore, MemoryStore};
    use crate::testkit::{HOUR, MIN, WEEK, each_minute, flaky, monday, temp_dir};
    use crate::time::{HourOfWeek, Weekday};

    /// Three weeks of one call a minute to `flaky`, rate-limited on Mondays
    /// 09:00-10:00 UTC.
    fn three_weeks(engine: &FlywheelEngine) {
        each_minute(3, |at, monday_nine| engine.record(&flaky(at, monday_nine)));
    }

    #[test]
    fn learning_survives_a_restart_through_a_json_file() {
        let dir = temp_dir("restart");
        let week4 = monday() + 3 * WEEK;
        let first = FlywheelEngine::builder()
            .store(JsonFileStore::new(&dir), "learn")
            .build();
        three_weeks(&first);
        let learned = first.patterns(week4);
        assert_eq!(learned.len(), 1);
        assert!(first.save().unwrap());

        let second = FlywheelEngine::builder()
            .store(JsonFileStore::new(&dir), "learn")
            .build();
        assert!(second.patterns(week4).is_empty());
        assert!(second.load().unwrap());
        assert_eq!(second.patterns(week4), learned);
        let p = second
            .predictor()
            .failure_probability_at("flaky", week4 + 9 * HOUR);
        assert!(p > 0.95, "{p}");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A corrupt or newer-version file is reported, ignored, and the engine
    /// goes on with empty state.
    #[test]
    fn a_corrupt_or_future_file_leaves_a_working_empty_engine() {
        let dir = temp_dir("corrupt");
        fs::create_dir_all(&dir).unwrap();
        for (contents, future) in [
            (
                &b"{\"version\":1,\"models\":{\"flaky\":{\"weeks\":[{\"week\":"[..],
                false,
            ),
            (b"\x00\x01garbage", false),
            (
                br#"{"version":7,"models":{"flaky":"a shape from the future"}}"#,
                true,
            ),
        ] {
            fs::write(dir.join("learn.json"), contents).unwrap();
            let base = Instant::now();
            let engine = FlywheelEngine::builder()
                .store(JsonFileStore::new(&dir), "learn")
                .clock_anchor(base, monday())
                .build();
            match engine.load() {
                Err(StoreError::UnsupportedVersion { found: 7, .. }) => assert!(future),
                Err(StoreError::Corrupt { .. }) => assert!(!future),
                other => panic!("unexpected {other:?}"),
            }
            assert!(engine.patterns(monday()).is_empty());
            three_weeks(&engine);
            assert_eq!(engine.patterns(monday() + 3 * WEEK).len(), 1);
            let predictor: Arc<dyn Predictor> = engine.predictor();
            assert!(predictor.failure_probability("flaky", base + 3 * WEEK + 9 * HOUR) > 0.95);
            assert!(
                engine
                    .health_report(monday() + 3 * WEEK)
                    .verdict
                    .can_serve()
            );
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn memory_store_and_no_store() {
        let store = MemoryStore::new();
        let engine = FlywheelEngine::builder().store(store.clone(), "a").build();
        three_weeks(&engine);
        assert!(engine.save().unwrap());
        let other = FlywheelEngine::builder().store(store, "a").build();
        assert!(other.load().unwrap());
        assert_eq!(other.patterns(monday() + 3 * WEEK).len(), 1);

        let bare = FlywheelEngine::default();
        assert!(!bare.load().unwrap());
        assert!(!bare.save().unwrap());
        assert!(format!("{bare:?}").contains("store_key: None"));
    }

    #[test]
    fn health_report_lists_registered_models_and_upcoming_patterns() {
        let engine = FlywheelEngine::builder()
            .fallback_models(["flaky", "spare"])
            .build();
        let fresh = engine.health_report(monday());
        assert_eq!(fresh.active_models, ["flaky", "spare"]);
        assert!(fresh.recommendations.is_empty());
        three_weeks(&engine);
        let soon = engine.health_report(monday() + 3 * WEEK + 8 * HOUR + 35 * MIN);
        assert_eq!(
            soon.recommendations,
            [
                "Expect flaky to degrade in 25 minutes: rate_limit on Mondays 09:00-10:00 UTC, \
              100% failure vs 0% baseline, seen in 3 of the last 3 weeks"
            ]
        );
        let now = engine.health_report(monday() + 3 * WEEK + 9 * HOUR + 10 * MIN);
        assert_eq!(now.recommendations.len(), 1);
        assert!(
            now.recommendations[0].starts_with("Avoid flaky until 10:00 UTC: rate_limit"),
            "{:?}",
            now.recommendations
        );
        assert_eq!(now.models[0].failure_probability, 1.0);
    }

    /// A problem that spans several hours is avoided until its last hour ends.
    #[test]
    fn advice_covers_a_run_of_pattern_hours() {
        let engine = FlywheelEngine::default();
        each_minute(3, |at, _| {
            let hour = HourOfWeek::of(at);
            let two_hours = hour.weekday() == Weekday::Monday && matches!(hour.hour(), 9 | 10);
            engine.record(&flaky(at, two_hours));
        });
        let week4 = monday() + 3 * WEEK;
        assert_eq!(engine.patterns(week4).len(), 2);
        let now = engine.health_report(week4 + 9 * HOUR + 10 * MIN);
        assert!(
            now.recommendations[0].starts_with("Avoid flaky until 11:00 UTC: rate_limit"),
            "{:?}",
            now.recommendations
        );
        let later = engine.health_report(week4 + 10 * HOUR + 59 * MIN);
        assert!(
            later.recommendations[0].starts_with("Avoid flaky until 11:00 UTC: rate_limit"),
            "{:?}",
            later.recommendations
        );
    }

    #[test]
    fn the_engine_and_its_stores_are_shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<FlywheelEngine>();
        send_sync::<PredictiveEngine>();
        send_sync::<JsonFileStore>();
        send_sync::<MemoryStore>();
        let _: Box<dyn StateStore> = Box::new(MemoryStore::new());
    }

    #[test]
    fn learning_can_be_switched_off() {
        let engine = FlywheelEngine::builder().enable_learning(false).build();
        three_weeks(&engine);
        assert!(engine.patterns(monday() + 3 * WEEK).is_empty());
        assert!(engine.predictor().state().is_empty());
        assert_eq!(engine.health_config(), &HealthConfig::default());
    }
}
