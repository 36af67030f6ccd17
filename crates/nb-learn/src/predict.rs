//! The thread-safe engine: records outcomes, predicts failures, implements
//! `nb_route::Predictor`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use nb_route::Predictor;

use crate::health::{Entry, HealthConfig, HealthReport};
use crate::history::{History, LearnerConfig, PatternStats};
use crate::learner::Pattern;
use crate::outcome::Outcome;
use crate::recent::{MAX_RECENT_MINUTES, RecentWindow, Reliability};
use crate::state::LearnState;
use crate::time::{ClockAnchor, HOURS_PER_WEEK, HourOfWeek, unix_minute, week_of_hour};

/// How [`PredictiveEngine`] predicts. The defaults are
/// `window_minutes: 60` (forecast the coming hour, the span of a learned
/// weekly pattern) and `degradation_threshold: 0.7` (act only on a strong
/// forecast), the values of the NeuralBridge Python SDK.
///
/// ```
/// use nb_learn::PredictiveConfig;
///
/// let config = PredictiveConfig {
///     window_minutes: 60,
///     degradation_threshold: 0.7,
///     ..Default::default()
/// };
/// assert_eq!(config.trend_minutes, 15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictiveConfig {
    /// How far ahead a [`Forecast`] looks, in minutes (default 60, at most a
    /// week).
    pub window_minutes: u32,
    /// The failure probability at which a model counts as degraded, now or
    /// within the window (default 0.7). Give the `Predictive` balancer the
    /// same threshold.
    pub degradation_threshold: f64,
    /// How many recent minutes of outcomes inside a pattern's hour weigh
    /// against its expectation (default 15, at most `recent_minutes`).
    pub trend_minutes: u32,
    /// How many recent calls weigh as much as the learned expectation
    /// (default 10): the prior's strength in the blend described on
    /// [`PredictiveEngine`]. NaN or negative counts as 0 (the trend alone),
    /// anything above 10¹² as 10¹² (the expectation alone).
    pub prior_weight: f64,
    /// Minutes of per-minute history kept per model (default 15, 1 to 60,
    /// 88 bytes a minute). Bounds the trend and the health report's window.
    pub recent_minutes: u32,
    /// Most models tracked (default 256). Outcomes for further models are
    /// ignored, so memory stays bounded whatever names arrive.
    pub max_models: usize,
    /// The pattern learner's settings.
    pub learner: LearnerConfig,
}

/// The largest prior weight used: beyond it the trend no longer moves the
/// prediction, and an infinite weight would make the blend `inf / inf`.
const MAX_PRIOR_WEIGHT: f64 = 1e12;

impl PredictiveConfig {
    /// The config with every field in its documented range.
    fn sanitized(mut self) -> Self {
        self.recent_minutes = self.recent_minutes.clamp(1, MAX_RECENT_MINUTES);
        self.trend_minutes = self.trend_minutes.clamp(1, self.recent_minutes);
        self.window_minutes = self.window_minutes.min(HOURS_PER_WEEK as u32 * 60);
        // NaN and negative weights count as 0; an infinite one as "the prior
        // alone", which a very large finite weight gives without inf / inf.
        self.prior_weight = if self.prior_weight > 0.0 {
            self.prior_weight.min(MAX_PRIOR_WEIGHT)
        } else {
            0.0
        };
        self
    }
}

impl Default for PredictiveConfig {
    fn default() -> Self {
        Self {
            window_minutes: 60,
            degradation_threshold: 0.7,
            trend_minutes: 15,
            prior_weight: 10.0,
            recent_minutes: 15,
            max_models: 256,
            learner: LearnerConfig::default(),
        }
    }
}

/// What one model looks like now and over the coming window, from
/// [`PredictiveEngine::forecast`].
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The model.
    pub model: String,
    /// The failure probability of a call made now.
    pub probability: f64,
    /// The highest failure probability expected within the window: now, or
    /// the start of an hour a learned pattern covers.
    pub peak_probability: f64,
    /// When the peak begins (now, if now is the worst).
    pub peak_at: SystemTime,
    /// The strongest learned pattern behind the peak, if one is.
    pub pattern: Option<Pattern>,
    /// Whether `peak_probability` reaches the configured
    /// `degradation_threshold`.
    pub degraded: bool,
}

/// What the learned history says about each hour, evaluated once per hour.
#[derive(Debug, Clone, Default)]
struct Expectations {
    /// The UNIX hour this was evaluated at (`None`: never).
    hour: Option<u32>,
    patterns: Vec<PatternStats>,
    /// Bit `h` is set when a pattern covers hour of the week `h`.
    covered: [u64; HOURS_PER_WEEK.div_ceil(64)],
    /// The model's failure rate over the kept weeks.
    baseline: f64,
}

impl Expectations {
    fn covers(&self, h: HourOfWeek) -> bool {
        self.covers_index(usize::from(h.index()))
    }

    fn covers_index(&self, i: usize) -> bool {
        self.covered[i / 64] & (1 << (i % 64)) != 0
    }

    /// The expected failure rate in hour `h` if a pattern covers it: the
    /// patterns' rates plus the baseline, capped at 1.
    fn expected(&self, h: HourOfWeek) -> Option<f64> {
        self.covers(h).then(|| {
            let patterns: f64 = self.patterns_at(h).map(PatternStats::failure_rate).sum();
            (self.baseline + patterns).min(1.0)
        })
    }

    /// The UTC hour of the day at which the run of consecutive hours covered
    /// by patterns, starting with UNIX hour `hour`, ends (`hour + 1` if
    /// `hour` is not covered).
    fn run_end(&self, hour: u32) -> u8 {
        let start = usize::from(HourOfWeek::of_unix_hour(hour).index());
        // At most a week: a pattern in every hour has no end.
        let run = (1..HOURS_PER_WEEK)
            .map(|i| (start + i) % HOURS_PER_WEEK)
            .take_while(|&i| self.covers_index(i))
            .count();
        // The remainder is below 24.
        ((start + 1 + run) % 24) as u8
    }

    fn patterns_at(&self, h: HourOfWeek) -> impl Iterator<Item = &PatternStats> {
        self.patterns.iter().filter(move |p| p.hour == h)
    }

    fn strongest_at(&self, h: HourOfWeek) -> Option<&PatternStats> {
        self.patterns_at(h)
            .max_by(|a, b| a.failure_rate().total_cmp(&b.failure_rate()))
    }
}

/// Everything kept about one model.
#[derive(Debug)]
struct ModelSlot {
    recent: RecentWindow,
    history: History,
    expectations: Expectations,
    endpoint: Option<Box<str>>,
}

impl ModelSlot {
    fn new(config: &PredictiveConfig) -> Self {
        Self {
            recent: RecentWindow::new(config.recent_minutes),
            history: History::with_capacity(config.learner.max_cells),
            expectations: Expectations::default(),
            endpoint: None,
        }
    }

    fn record(&mut self, o: &Outcome<'_>, config: &PredictiveConfig) {
        let minute = unix_minute(o.at);
        self.recent.record(minute, o.latency, o.failure);
        if config.learner.learns_from(o.failure) {
            self.history
                .record(minute / 60, o.failure, config.learner.max_cells);
        }
        self.refresh(minute / 60, &config.learner);
        if let Some(e) = o.endpoint
            && self.endpoint.as_deref() != Some(e)
        {
            self.endpoint = Some(e.into());
        }
    }

    /// Re-evaluates the learned patterns when time has moved into a later
    /// hour, or into another week (which weeks count depends only on the
    /// week). A late outcome from an earlier hour of the same week reuses the
    /// evaluation; one from another week, or a clock stepped back after a
    /// future-dated outcome, gets its own, so a single wrong timestamp cannot
    /// freeze the expectations until that date.
    fn refresh(&mut self, hour: u32, learner: &LearnerConfig) {
        if self
            .expectations
            .hour
            .is_some_and(|h| h >= hour && week_of_hour(h) == week_of_hour(hour))
        {
            return;
        }
        let ex = &mut self.expectations;
        // The buffer is reused: it allocates only when a model has more
        // patterns than it ever had.
        ex.baseline = self.history.evaluate_into(hour, learner, &mut ex.patterns);
        ex.covered = [0; HOURS_PER_WEEK.div_ceil(64)];
        for p in &ex.patterns {
            let i = usize::from(p.hour.index());
            ex.covered[i / 64] |= 1 << (i % 64);
        }
        ex.hour = Some(hour);
    }

    fn probability(&mut self, now: SystemTime, config: &PredictiveConfig) -> f64 {
        let minute = unix_minute(now);
        let hour = minute / 60;
        self.refresh(hour, &config.learner);
        let ex = &self.expectations;
        let trend = config.trend_minutes;
        // Outside a learned pattern's hour there is no forecast: recent
        // trouble is the circuit breaker's business, and a lifetime failure
        // rate says nothing about the next call.
        let Some(prior) = ex.expected(HourOfWeek::of_unix_hour(hour)) else {
            return 0.0;
        };
        // Inside it only this hour's outcomes are evidence.
        let (n, k) = self
            .recent
            .calls_and_failures(minute, trend, |m| m / 60 == hour);
        let w = config.prior_weight;
        let denom = n as f64 + w;
        if denom <= 0.0 {
            return prior;
        }
        ((k as f64 + w * prior) / denom).clamp(0.0, 1.0)
    }

    fn forecast(&mut self, model: &str, now: SystemTime, config: &PredictiveConfig) -> Forecast {
        let probability = self.probability(now, config);
        let hour = unix_minute(now) / 60;
        let ex = &self.expectations;
        let current = HourOfWeek::of_unix_hour(hour);
        let mut peak = (probability, now, ex.covers(current).then_some(current));
        let window = Duration::from_secs(60 * u64::from(config.window_minutes));
        let end = now.checked_add(window).unwrap_or(now);
        for ahead in 1..=HOURS_PER_WEEK as u32 {
            let h = hour.saturating_add(ahead);
            let start = UNIX_EPOCH.checked_add(Duration::from_secs(u64::from(h) * 3600));
            let Some(start) = start.filter(|s| *s < end) else {
                break;
            };
            let how = HourOfWeek::of_unix_hour(h);
            if let Some(e) = ex.expected(how)
                && e > peak.0
            {
                peak = (e, start, Some(how));
            }
        }
        let (peak_probability, peak_at, hour) = peak;
        Forecast {
            model: model.to_owned(),
            probability,
            peak_probability,
            peak_at,
            pattern: hour
                .and_then(|h| ex.strongest_at(h))
                .map(|s| Pattern::new(model, s)),
            degraded: peak_probability >= config.degradation_threshold,
        }
    }
}

type ModelMap = HashMap<Arc<str>, Arc<Mutex<ModelSlot>>>;

fn lock(slot: &Mutex<ModelSlot>) -> MutexGuard<'_, ModelSlot> {
    // Nothing panics while holding the lock; if something ever did, the
    // counters are still usable.
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Predicts each model's failure probability from its recent trend and its
/// learned weekly patterns; implements [`nb_route::Predictor`].
///
/// **The prediction acts on evidence only.** A model is forecast to fail
/// only in an hour of the week a learned [`Pattern`] covers: a recurring
/// problem seen in at least `min_weeks` distinct weeks with at least
/// `min_samples` calls (see [`LearnerConfig`]). Outside such hours the
/// probability is 0: recent trouble is the circuit breaker's business, and
/// a lifetime failure rate says nothing about the next call. Inside one,
/// let `e` be the expected failure rate of the hour (the patterns' rates
/// plus the model's baseline, capped at 1) and `k` of `n` calls made since
/// the hour began (within the last `trend_minutes`) have failed; the
/// prediction is the Beta-binomial posterior mean `(k + w·e) / (n + w)`,
/// with `w = prior_weight`. So a learned pattern raises the probability
/// the moment its hour starts, before any call fails, and a few successes
/// in that hour (a skipped model's probes) talk it back down.
///
/// **Time.** Outcomes carry wall-clock time ([`SystemTime`]) because
/// patterns are about UTC hours; [`Predictor`] is asked with a monotonic
/// [`Instant`]. The engine maps one to the other through an anchor pair
/// `(Instant, SystemTime)` taken at construction:
/// `wall = anchor_wall + (instant - anchor_instant)`. Tests and simulations
/// set the pair with [`with_clock_anchor`](Self::with_clock_anchor) and run
/// in virtual time. (A wall clock stepped after construction is not
/// followed; at hour granularity the drift does not matter.)
///
/// **Concurrency and cost.** `record` and the predictions take `&self`: the
/// engine is shared in an `Arc`. The model map is read through an
/// [`ArcSwap`] (no lock) and each model has its own mutex, held for a few
/// dozen nanoseconds; patterns are re-evaluated once per model when time
/// moves into a later hour (or into another week, should the clock step
/// back). Nothing on the record or predict path allocates once a model is
/// known (its counters are reserved up front and the evaluation reuses its
/// buffer), unless its endpoint label changes or it has more patterns than
/// ever before. Memory per model: `88 × recent_minutes` bytes of recent window
/// (1.3 KiB by default) plus the learner's history (4.4 KiB by default, see
/// [`FlywheelLearner`](crate::FlywheelLearner)).
pub struct PredictiveEngine {
    config: PredictiveConfig,
    anchor: ClockAnchor,
    models: ArcSwap<ModelMap>,
    /// Serialises adding models; never taken on the hot path.
    grow: Mutex<()>,
}

impl fmt::Debug for PredictiveEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PredictiveEngine")
            .field("config", &self.config)
            .field("anchor", &self.anchor)
            .field("models", &self.models.load().len())
            .finish()
    }
}

impl Default for PredictiveEngine {
    fn default() -> Self {
        Self::new(PredictiveConfig::default())
    }
}

impl PredictiveEngine {
    /// An engine with no history, its clock anchored at the current
    /// `(Instant, SystemTime)`. Out-of-range settings are clamped into the
    /// ranges [`PredictiveConfig`] documents.
    pub fn new(config: PredictiveConfig) -> Self {
        Self {
            config: config.sanitized(),
            anchor: ClockAnchor::now(),
            models: ArcSwap::from_pointee(HashMap::new()),
            grow: Mutex::new(()),
        }
    }

    /// The same engine with `instant` mapped to the wall-clock time `wall`
    /// (for virtual time).
    #[must_use]
    pub fn with_clock_anchor(mut self, instant: Instant, wall: SystemTime) -> Self {
        self.anchor = ClockAnchor::new(instant, wall);
        self
    }

    /// The wall-clock time of the monotonic instant `at`.
    pub fn wall_clock(&self, at: Instant) -> SystemTime {
        self.anchor.wall_clock(at)
    }

    /// The configuration.
    pub fn config(&self) -> &PredictiveConfig {
        &self.config
    }

    /// The models tracked, by name.
    pub fn models(&self) -> Vec<String> {
        let mut names: Vec<String> = self.models.load().keys().map(|k| k.to_string()).collect();
        names.sort();
        names
    }

    /// Starts tracking `model` before its first outcome (so the health report
    /// lists it). Does nothing if it is known or `max_models` are tracked.
    pub fn register(&self, model: &str) {
        let _ = self.slot_or_insert(model);
    }

    fn slot_or_insert(&self, model: &str) -> Option<Arc<Mutex<ModelSlot>>> {
        if let Some(slot) = self.models.load().get(model) {
            return Some(Arc::clone(slot));
        }
        let _grow = self.grow.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.models.load_full();
        if let Some(slot) = current.get(model) {
            return Some(Arc::clone(slot));
        }
        if current.len() >= self.config.max_models {
            return None;
        }
        let slot = Arc::new(Mutex::new(ModelSlot::new(&self.config)));
        let mut next = ModelMap::clone(&current);
        next.insert(Arc::from(model), Arc::clone(&slot));
        self.models.store(Arc::new(next));
        Some(slot)
    }

    /// Feeds one attempt's outcome. Allocation-free once the model is known.
    pub fn record(&self, outcome: &Outcome<'_>) {
        if let Some(slot) = self.models.load().get(outcome.model) {
            lock(slot).record(outcome, &self.config);
            return;
        }
        if let Some(slot) = self.slot_or_insert(outcome.model) {
            lock(&slot).record(outcome, &self.config);
        }
    }

    /// The probability that a call to `model` at wall-clock time `now`
    /// fails (see the type's docs); 0 for a model never seen.
    pub fn failure_probability_at(&self, model: &str, now: SystemTime) -> f64 {
        match self.models.load().get(model) {
            Some(slot) => lock(slot).probability(now, &self.config),
            None => 0.0,
        }
    }

    /// The model's outlook over the coming `window_minutes`, or `None` for
    /// a model never seen.
    pub fn forecast(&self, model: &str, now: SystemTime) -> Option<Forecast> {
        let map = self.models.load();
        let slot = map.get(model)?;
        Some(lock(slot).forecast(model, now, &self.config))
    }

    /// Every model's forecast, by name.
    pub fn forecasts(&self, now: SystemTime) -> Vec<Forecast> {
        self.each(|name, slot| slot.forecast(name, now, &self.config))
    }

    /// The model's reliability over the `minutes` (at most `recent_minutes`)
    /// ending at `now`, or `None` for a model never seen.
    pub fn reliability(&self, model: &str, now: SystemTime, minutes: u32) -> Option<Reliability> {
        let map = self.models.load();
        let slot = map.get(model)?;
        Some(lock(slot).recent.summary(unix_minute(now), minutes))
    }

    /// The learned patterns supported by the evidence kept at `now`, by
    /// model, hour and category.
    pub fn patterns(&self, now: SystemTime) -> Vec<Pattern> {
        let hour = unix_minute(now) / 60;
        self.each(|name, slot| {
            slot.history
                .evaluate(hour, &self.config.learner)
                .patterns
                .iter()
                .map(|s| Pattern::new(name, s))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    }

    /// The health of every model over `config.window_minutes` (at most
    /// `recent_minutes`) ending at `now`.
    pub fn health_report(&self, now: SystemTime, config: &HealthConfig) -> HealthReport {
        let minutes = config.window_minutes.clamp(1, self.config.recent_minutes);
        let entries = self.each(|name, slot| {
            let forecast = slot.forecast(name, now, &self.config);
            Entry {
                reliability: slot.recent.summary(unix_minute(now), minutes),
                endpoint: slot.endpoint.as_deref().map(str::to_owned),
                patterns_end: slot.expectations.run_end(unix_minute(now) / 60),
                forecast,
            }
        });
        HealthReport::new(now, config, minutes, entries)
    }

    /// Everything learned, for a [`StateStore`](crate::StateStore).
    pub fn state(&self) -> LearnState {
        let mut state = LearnState::new();
        for (name, s) in self.each(|name, slot| (name.to_owned(), slot.history.to_state())) {
            state.insert(&name, s);
        }
        state
    }

    /// Replaces the learned history of every model in `state` (within
    /// `max_models`) with the saved one. Recent windows are left alone.
    pub fn restore(&self, state: &LearnState) {
        for model in state.models() {
            let (Some(saved), Some(slot)) = (state.model(model), self.slot_or_insert(model)) else {
                continue;
            };
            let mut slot = lock(&slot);
            slot.history = History::from_state(saved, self.config.learner.max_cells);
            slot.expectations = Expectations::default();
        }
    }

    /// Takes in a fleet's learned state: each model's history becomes the
    /// fleet's plus what this engine learned since `sent` (the state it
    /// sent to the fleet) was taken, one model's lock at a time so no
    /// outcome recorded meanwhile is lost. Recent windows are left alone.
    pub fn absorb(&self, fleet: &LearnState, sent: &LearnState) {
        // A model in neither learned everything since `sent` here: it
        // stays as it is.
        let names: std::collections::BTreeSet<&str> = fleet.models().chain(sent.models()).collect();
        for model in names {
            let Some(slot) = self.slot_or_insert(model) else {
                continue;
            };
            let mut slot = lock(&slot);
            let local = slot.history.to_state();
            let merged = crate::fleet::absorbed(fleet.model(model), &local, sent.model(model));
            slot.history = History::from_state(&merged, self.config.learner.max_cells);
            slot.expectations = Expectations::default();
        }
    }

    /// Runs `f` on each model in name order, one lock at a time.
    fn each<T>(&self, mut f: impl FnMut(&str, &mut ModelSlot) -> T) -> Vec<T> {
        let map = self.models.load_full();
        let mut names: Vec<&Arc<str>> = map.keys().collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|name| map.get(name).map(|slot| f(name, &mut lock(slot))))
            .collect()
    }
}

impl Predictor for PredictiveEngine {
    fn failure_probability(&self, model: &str, now: Instant) -> f64 {
        self.failure_probability_at(model, self.wall_clock(now))
    }
}

#[cfg(test)]
mod tests {
    use nb_diagnose::ErrorCategory;

    use super::*;
    use crate::testkit::{HOUR, MIN, MS, WEEK, each_minute, flaky, monday};

    /// `weeks` weeks, one call a minute to `flaky` (rate-limited on Mondays
    /// 09:00-10:00 UTC) and to `steady`.
    fn learn(engine: &PredictiveEngine, weeks: u32) {
        each_minute(weeks, |at, monday_nine| {
            engine.record(&flaky(at, monday_nine));
            engine.record(&Outcome::success("steady", at, MS));
        });
    }

    #[test]
    fn a_learned_pattern_raises_the_probability_when_its_hour_starts() {
        let engine = PredictiveEngine::default();
        learn(&engine, 3);
        let week4 = monday() + 3 * WEEK;
        let before = engine.failure_probability_at("flaky", week4 + 9 * HOUR - MIN);
        let at_nine = engine.failure_probability_at("flaky", week4 + 9 * HOUR);
        let after = engine.failure_probability_at("flaky", week4 + 10 * HOUR);
        assert!(before < 0.05, "{before}");
        assert!(at_nine > 0.95, "{at_nine}");
        assert!(after < 0.05, "{after}");
        assert!(engine.failure_probability_at("steady", week4 + 9 * HOUR) < 0.01);
        assert_eq!(engine.failure_probability_at("never-seen", week4), 0.0);
    }

    /// One outcome stamped decades ahead (a wall clock that was wrong for a
    /// moment) must not switch the learned patterns off until that date.
    #[test]
    fn a_future_dated_outcome_does_not_freeze_the_expectations() {
        let engine = PredictiveEngine::default();
        learn(&engine, 3);
        let week4 = monday() + 3 * WEEK;
        // 400 weeks ahead: the same week slot as week 4, which holds nothing yet.
        engine.record(&Outcome::success("flaky", week4 + 400 * WEEK, MS));
        let at_nine = engine.failure_probability_at("flaky", week4 + 9 * HOUR);
        assert!(at_nine > 0.95, "{at_nine}");
        assert_eq!(engine.patterns(week4).len(), 1);
        // A query back in an earlier week is answered for that week too.
        let week3_nine = monday() + 2 * WEEK + 9 * HOUR;
        assert!(engine.failure_probability_at("flaky", week3_nine) > 0.95);
        let week1_nine = monday() + 9 * HOUR;
        assert!(engine.failure_probability_at("flaky", week1_nine) < 0.05);
    }

    /// Re-evaluating the patterns each hour reuses the model's buffer.
    #[test]
    fn hourly_re_evaluation_reuses_its_buffer() {
        let engine = PredictiveEngine::default();
        learn(&engine, 3);
        let week4 = monday() + 3 * WEEK;
        let buffer = || {
            let map = engine.models.load();
            let slot = lock(&map["flaky"]);
            (slot.expectations.hour, slot.expectations.patterns.as_ptr())
        };
        let _ = engine.failure_probability_at("flaky", week4);
        let (first_hour, ptr) = buffer();
        for h in 1..48 {
            engine.record(&Outcome::success("flaky", week4 + h * HOUR, MS));
            let _ = engine.failure_probability_at("flaky", week4 + h * HOUR);
        }
        let (last_hour, same) = buffer();
        assert_eq!(last_hour, first_hour.map(|h| h + 47));
        assert_eq!(same, ptr);
    }

    /// A wall clock that ran a day ahead and was stepped back (a host that
    /// booted on a local-time RTC, say) leaves the recent window working at
    /// the corrected time, not blind until the wrong time comes round.
    #[test]
    fn a_clock_stepped_back_leaves_the_recent_window_working() {
        let engine = PredictiveEngine::default();
        let t = monday() + 12 * HOUR;
        for i in 0..30 {
            engine.record(&Outcome::success("m", t + 24 * HOUR + i * MIN, MS));
        }
        for i in 0..10 {
            engine.record(&Outcome::failure(
                "m",
                t + i * MIN,
                MS,
                ErrorCategory::Overloaded,
            ));
        }
        let r = engine.reliability("m", t + 10 * MIN, 15).unwrap();
        assert_eq!((r.calls, r.successes), (10, 0));
    }

    #[test]
    fn recent_successes_in_the_hour_talk_a_pattern_down() {
        let engine = PredictiveEngine::default();
        learn(&engine, 3);
        let nine = monday() + 3 * WEEK + 9 * HOUR;
        for i in 0..20 {
            engine.record(&Outcome::success("flaky", nine + i * MIN, MS));
        }
        let p = engine.failure_probability_at("flaky", nine + 20 * MIN);
        // The 15-minute trend holds 14 of those successes: (0 + 10 × 1.0) / (14 + 10).
        assert!((p - 10.0 / 24.0).abs() < 0.01, "{p}");
    }

    #[test]
    fn a_burst_of_failures_without_a_pattern_forecasts_nothing() {
        let engine = PredictiveEngine::default();
        let t = monday() + 12 * HOUR;
        for i in 0..30 {
            engine.record(&Outcome::success("m", t + i * MIN / 2, MS));
        }
        assert_eq!(engine.failure_probability_at("m", t + 15 * MIN), 0.0);
        for i in 0..30 {
            engine.record(&Outcome::failure(
                "m",
                t + 15 * MIN + i * MIN / 2,
                MS,
                ErrorCategory::Overloaded,
            ));
        }
        // Thirty failures in a row are the breaker's business, not a
        // forecast: nothing recurring backs them.
        assert_eq!(
            engine.failure_probability_at("m", t + 30 * MIN - MIN / 2),
            0.0
        );
        // Nor does a high failure rate over the kept weeks.
        let later = t + 2 * WEEK;
        assert_eq!(engine.failure_probability_at("m", later), 0.0);
        // Request faults do not count.
        for i in 0..100 {
            engine.record(&Outcome::failure(
                "n",
                t + i * MIN / 10,
                MS,
                ErrorCategory::InvalidRequest,
            ));
        }
        assert_eq!(engine.failure_probability_at("n", t + 10 * MIN), 0.0);
    }

    #[test]
    fn forecast_sees_the_pattern_coming_within_the_window() {
        let engine = PredictiveEngine::default();
        learn(&engine, 3);
        let week4 = monday() + 3 * WEEK;
        let f = engine
            .forecast("flaky", week4 + 8 * HOUR + 20 * MIN)
            .unwrap();
        assert!(f.probability < 0.05);
        assert!(f.degraded && f.peak_probability > 0.95);
        assert_eq!(f.peak_at, week4 + 9 * HOUR);
        let pattern = f.pattern.unwrap();
        assert_eq!(pattern.category, ErrorCategory::RateLimit);
        // Ninety minutes ahead is outside a 60-minute window.
        let f = engine
            .forecast("flaky", week4 + 7 * HOUR + 30 * MIN)
            .unwrap();
        assert!(!f.degraded && f.pattern.is_none());
        let f = engine
            .forecast("flaky", week4 + 9 * HOUR + 5 * MIN)
            .unwrap();
        assert!(f.degraded);
        assert_eq!(f.peak_at, week4 + 9 * HOUR + 5 * MIN);
        assert!(engine.forecast("nobody", week4).is_none());
        assert_eq!(engine.forecasts(week4).len(), 2);
    }

    #[test]
    fn predictor_maps_instants_through_the_anchor() {
        let base = Instant::now();
        let engine = PredictiveEngine::default().with_clock_anchor(base, monday() + 3 * WEEK);
        learn(&engine, 3);
        let p: &dyn Predictor = &engine;
        assert!(p.failure_probability("flaky", base + 9 * HOUR) > 0.95);
        assert!(p.failure_probability("flaky", base + 8 * HOUR) < 0.05);
        assert_eq!(engine.wall_clock(base + HOUR), monday() + 3 * WEEK + HOUR);
        // Instants before the anchor map to earlier wall-clock times: anchor
        // one week after `base` so `base` itself is a week before it.
        let later = PredictiveEngine::default().with_clock_anchor(base + WEEK, monday() + 3 * WEEK);
        assert_eq!(later.wall_clock(base), monday() + 2 * WEEK);
        assert_eq!(
            later.wall_clock(base + 9 * HOUR),
            monday() + 2 * WEEK + 9 * HOUR
        );
    }

    #[test]
    fn a_registered_model_without_data_expects_nothing() {
        let engine = PredictiveEngine::default();
        engine.register("spare");
        assert_eq!(engine.models(), ["spare"]);
        assert_eq!(engine.failure_probability_at("spare", monday()), 0.0);
        let f = engine.forecast("spare", monday()).unwrap();
        assert!(!f.degraded && f.pattern.is_none() && f.peak_probability == 0.0);
        let r = engine.reliability("spare", monday(), 15).unwrap();
        assert_eq!((r.calls, r.success_rate()), (0, None));
        assert!(engine.patterns(monday()).is_empty());
        assert!(engine.state().is_empty());
    }

    #[test]
    fn model_count_is_capped_and_registration_lists_models() {
        let engine = PredictiveEngine::new(PredictiveConfig {
            max_models: 2,
            ..PredictiveConfig::default()
        });
        engine.register("b");
        engine.register("a");
        engine.record(&Outcome::success("c", monday(), MS));
        assert_eq!(engine.models(), ["a", "b"]);
        assert!(engine.reliability("c", monday(), 15).is_none());
        assert!(format!("{engine:?}").contains("models: 2"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever arrives, in whatever order and at whatever time (before
        /// the epoch, centuries ahead), predictions stay in `0..=1`, reports
        /// build, and the learned state survives a JSON round trip.
        #[test]
        fn arbitrary_outcomes_keep_the_engine_sane(
            events in proptest::collection::vec(
                (0usize..3, -10_000i64..10_000_000_000, 0u64..100_000, proptest::option::of(0usize..15)),
                0..200,
            ),
            probe in -10_000i64..10_000_000_000,
        ) {
            let engine = PredictiveEngine::default();
            let at = |secs: i64| {
                let d = Duration::from_secs(secs.unsigned_abs());
                if secs >= 0 { UNIX_EPOCH + d } else { UNIX_EPOCH - d }
            };
            for (model, secs, ms, failure) in events {
                engine.record(&Outcome {
                    model: ["a", "b", "c"][model],
                    endpoint: Some("e"),
                    at: at(secs),
                    latency: Duration::from_millis(ms),
                    failure: failure.map(|i| ErrorCategory::ALL[i]),
                });
            }
            for model in ["a", "b", "c", "unknown"] {
                let p = engine.failure_probability_at(model, at(probe));
                proptest::prop_assert!((0.0..=1.0).contains(&p), "{p}");
            }
            let report = engine.health_report(at(probe), &HealthConfig::default());
            proptest::prop_assert_eq!(report.models.len(), engine.models().len());
            let _ = engine.forecasts(at(probe));
            let state = engine.state();
            let back = LearnState::from_json("k", &state.to_json().unwrap()).unwrap();
            proptest::prop_assert_eq!(back, state);
        }
    }

    #[test]
    fn out_of_range_settings_are_clamped() {
        let engine = PredictiveEngine::new(PredictiveConfig {
            recent_minutes: 1000,
            trend_minutes: 0,
            window_minutes: u32::MAX,
            ..PredictiveConfig::default()
        });
        let c = engine.config();
        assert_eq!(
            (c.recent_minutes, c.trend_minutes, c.window_minutes),
            (60, 1, 168 * 60)
        );
        engine.record(&Outcome::success("m", monday(), MS));
        let report = engine.health_report(
            monday(),
            &HealthConfig {
                window_minutes: 90,
                ..HealthConfig::default()
            },
        );
        assert_eq!(
            (report.window_minutes, report.models[0].reliability.minutes),
            (60, 60)
        );
    }

    /// An infinite or NaN prior weight still yields a probability in
    /// `0..=1`: infinite trusts the learned expectation alone (1 here), NaN
    /// or negative the hour's recent calls alone (all successes here).
    #[test]
    fn extreme_prior_weights_stay_probabilities() {
        for (w, expect) in [(f64::INFINITY, 1.0), (f64::NAN, 0.0), (-5.0, 0.0)] {
            let engine = PredictiveEngine::new(PredictiveConfig {
                prior_weight: w,
                ..PredictiveConfig::default()
            });
            learn(&engine, 3);
            let nine = monday() + 3 * WEEK + 9 * HOUR;
            for i in 0..5 {
                engine.record(&Outcome::success("flaky", nine + i * MIN, MS));
            }
            let p = engine.failure_probability_at("flaky", nine + 5 * MIN);
            assert!((p - expect).abs() < 1e-6, "prior_weight {w}: {p}");
        }
    }

    #[test]
    fn shared_across_threads() {
        let engine = Arc::new(PredictiveEngine::default());
        std::thread::scope(|s| {
            for t in 0..4u32 {
                let engine = Arc::clone(&engine);
                s.spawn(move || {
                    let names = ["a", "b", "c", "d"];
                    for i in 0..1000u32 {
                        let at = monday() + Duration::from_millis(u64::from(i));
                        engine.record(&Outcome::success(names[(i + t) as usize % 4], at, MS));
                        let _ = engine.failure_probability_at(names[i as usize % 4], at);
                    }
                });
            }
        });
        let total: u64 = ["a", "b", "c", "d"]
            .iter()
            .map(|m| engine.reliability(m, monday() + MIN, 15).unwrap().calls)
            .sum();
        assert_eq!(total, 4000);
    }
}
