//! Recurring degradation by hour of the week.

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use nb_diagnose::ErrorCategory;

use crate::history::{History, LearnerConfig, PatternStats};
use crate::outcome::Outcome;
use crate::state::LearnState;
use crate::stats::Percent;
use crate::time::{HourOfWeek, unix_hour};

/// A recurring degradation: one model, one UTC hour of the week, one
/// failure category, with the evidence behind it.
///
/// ```
/// # use nb_diagnose::ErrorCategory;
/// # use nb_learn::{HourOfWeek, Pattern, Weekday};
/// let p = Pattern {
///     model: "deepseek-chat".into(),
///     hour: HourOfWeek::at(Weekday::Monday, 9).unwrap(),
///     category: ErrorCategory::RateLimit,
///     failure_rate: 0.61,
///     baseline_rate: 0.03,
///     calls: 240,
///     failures: 146,
///     weeks_seen: 3,
///     weeks_observed: 4,
/// };
/// assert_eq!(
///     p.to_string(),
///     "deepseek-chat: rate_limit on Mondays 09:00-10:00 UTC, 61% failure vs 3% baseline, \
///      seen in 3 of the last 4 weeks"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pattern {
    /// The model.
    pub model: String,
    /// The hour of the week it recurs in.
    pub hour: HourOfWeek,
    /// The failure category that recurs.
    pub category: ErrorCategory,
    /// Failures of `category` per call in this hour, pooled over the kept weeks.
    pub failure_rate: f64,
    /// Failures of `category` per call in every other hour.
    pub baseline_rate: f64,
    /// Calls in this hour over the kept weeks.
    pub calls: u64,
    /// Failures of `category` among them.
    pub failures: u64,
    /// Weeks in which this hour alone cleared the baseline by the lift.
    pub weeks_seen: u8,
    /// Kept weeks with any call in this hour.
    pub weeks_observed: u8,
}

impl Pattern {
    pub(crate) fn new(model: &str, s: &PatternStats) -> Self {
        Self {
            model: model.to_owned(),
            hour: s.hour,
            category: s.category,
            failure_rate: s.failure_rate(),
            baseline_rate: s.baseline_rate(),
            calls: s.calls,
            failures: s.failures,
            weeks_seen: s.weeks_seen,
            weeks_observed: s.weeks_observed,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.model, Evidence(self))
    }
}

/// A pattern without its model name: `rate_limit on Mondays 09:00-10:00
/// UTC, 61% failure vs 3% baseline, seen in 3 of the last 4 weeks`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Evidence<'a>(pub(crate) &'a Pattern);

impl fmt::Display for Evidence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        write!(
            f,
            "{} on {}, {} failure vs {} baseline, seen in {} of the last {} weeks",
            p.category,
            p.hour,
            Percent(p.failure_rate),
            Percent(p.baseline_rate),
            p.weeks_seen,
            p.weeks_observed
        )
    }
}

/// Learns recurring degradation per model from outcomes, by UTC hour of the
/// week and failure category, and reports it as [`Pattern`]s.
///
/// The statistical test and the decay of old evidence are documented on
/// [`LearnerConfig`]. Memory per model is fixed: about 2.9 KiB of weekly
/// counters plus 24 bytes per (hour, category) counter, at most
/// [`LearnerConfig::max_cells`] of them (4.4 KiB in all with the defaults).
///
/// This is the single-threaded learner, for use on its own (for example
/// over a log of past outcomes). It keeps every model it is fed; the
/// caller bounds how many names arrive (the engine caps them at
/// [`PredictiveConfig::max_models`](crate::PredictiveConfig::max_models)). [`PredictiveEngine`](crate::PredictiveEngine)
/// keeps the same history per model behind its own locks.
#[derive(Debug, Clone)]
pub struct FlywheelLearner {
    config: LearnerConfig,
    models: HashMap<String, History>,
}

impl Default for FlywheelLearner {
    fn default() -> Self {
        Self::new(LearnerConfig::default())
    }
}

impl FlywheelLearner {
    /// A learner with no history.
    pub fn new(config: LearnerConfig) -> Self {
        Self {
            config,
            models: HashMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LearnerConfig {
        &self.config
    }

    /// Learns from one attempt. Failures that are the request's fault
    /// (see [`counts_against_model`](crate::counts_against_model)) are
    /// ignored, and so is everything when learning is off.
    pub fn record(&mut self, outcome: &Outcome<'_>) {
        if !self.config.learns_from(outcome.failure) {
            return;
        }
        let history = match self.models.get_mut(outcome.model) {
            Some(h) => h,
            None => self
                .models
                .entry(outcome.model.to_owned())
                .or_insert_with(|| History::with_capacity(self.config.max_cells)),
        };
        history.record(
            unix_hour(outcome.at),
            outcome.failure,
            self.config.max_cells,
        );
    }

    /// The patterns supported by the evidence kept at `now`, by model, hour
    /// and category.
    pub fn patterns(&self, now: SystemTime) -> Vec<Pattern> {
        let hour = unix_hour(now);
        let mut out: Vec<Pattern> = self
            .models
            .iter()
            .flat_map(|(model, h)| {
                h.evaluate(hour, &self.config)
                    .patterns
                    .into_iter()
                    .map(move |s| Pattern::new(model, &s))
            })
            .collect();
        out.sort_by(|a, b| (&a.model, a.hour, a.category).cmp(&(&b.model, b.hour, b.category)));
        out
    }

    /// Everything learned, for a [`StateStore`](crate::StateStore).
    pub fn state(&self) -> LearnState {
        let mut state = LearnState::new();
        for (model, h) in &self.models {
            state.insert(model, h.to_state());
        }
        state
    }

    /// Replaces the history of every model in `state` with the saved one.
    pub fn restore(&mut self, state: &LearnState) {
        for (model, s) in state.model_states() {
            self.models.insert(
                model.to_owned(),
                History::from_state(s, self.config.max_cells),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{MS, WEEK, each_minute, flaky, monday};
    use crate::time::Weekday;

    /// Three weeks, one call a minute to two models; `flaky` rate-limits on
    /// Mondays 09:00-10:00 UTC, and `ok` fails with bad requests there.
    fn three_weeks(learner: &mut FlywheelLearner) {
        each_minute(3, |at, monday_nine| {
            learner.record(&flaky(at, monday_nine));
            learner.record(&if monday_nine {
                Outcome::failure("ok", at, MS, ErrorCategory::InvalidRequest)
            } else {
                Outcome::success("ok", at, MS)
            });
        });
    }

    #[test]
    fn learns_the_recurring_hour_and_ignores_request_faults() {
        let mut learner = FlywheelLearner::default();
        three_weeks(&mut learner);
        let patterns = learner.patterns(monday() + 3 * WEEK);
        assert_eq!(patterns.len(), 1, "{patterns:?}");
        let p = &patterns[0];
        assert_eq!(p.model, "flaky");
        assert_eq!(p.hour, HourOfWeek::at(Weekday::Monday, 9).unwrap());
        assert_eq!((p.calls, p.failures), (180, 180));
        assert_eq!(
            p.to_string(),
            "flaky: rate_limit on Mondays 09:00-10:00 UTC, 100% failure vs 0% baseline, \
             seen in 3 of the last 3 weeks"
        );
    }

    #[test]
    fn state_round_trip_keeps_the_pattern() {
        let mut learner = FlywheelLearner::default();
        three_weeks(&mut learner);
        let state = learner.state();
        assert_eq!(state.models().collect::<Vec<_>>(), ["flaky", "ok"]);
        let mut fresh = FlywheelLearner::default();
        fresh.restore(&state);
        let now = monday() + 3 * WEEK;
        assert_eq!(fresh.patterns(now), learner.patterns(now));
        assert_eq!(fresh.state(), state);
    }

    #[test]
    fn disabled_learner_keeps_nothing() {
        let mut learner = FlywheelLearner::new(LearnerConfig {
            enabled: false,
            ..LearnerConfig::default()
        });
        three_weeks(&mut learner);
        assert!(learner.state().is_empty());
        assert!(learner.config().min_samples > 0);
    }
}
