//! L4 of NeuralBridge: learn from every outcome what to expect next.
//!
//! Feed an [`Outcome`] after every attempt. The crate keeps each model's
//! recent reliability (per-minute windows), learns recurring degradation by
//! UTC hour of the week ([`FlywheelLearner`], reported as [`Pattern`]s),
//! predicts each model's failure probability ([`PredictiveEngine`], which
//! implements [`nb_route::Predictor`] so the `Predictive` strategy routes
//! away before failures happen), builds the [`HealthReport`] behind
//! `client.health_status()`, and saves what it learned through a
//! [`StateStore`]. [`FlywheelEngine`] bundles all of it. Sans-IO apart from
//! the optional JSON file store: time is an argument, nothing sleeps.
//!
//! ```
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//! use nb_diagnose::ErrorCategory;
//! use nb_learn::{FlywheelEngine, Outcome};
//!
//! let engine = FlywheelEngine::default();
//! // Three weeks of one call a minute in virtual time, starting on
//! // Monday 2024-01-01; deepseek-chat is rate-limited every Monday 09:00-10:00 UTC.
//! let monday = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
//! let minute = Duration::from_secs(60);
//! for m in 0..3 * 7 * 24 * 60 {
//!     let at = monday + m * minute;
//!     let latency = Duration::from_millis(300);
//!     let monday_nine = m % (7 * 24 * 60) / 60 == 9;
//!     engine.record(&if monday_nine {
//!         Outcome::failure("deepseek-chat", at, latency, ErrorCategory::RateLimit)
//!     } else {
//!         Outcome::success("deepseek-chat", at, latency)
//!     });
//! }
//!
//! let week4 = monday + 3 * 7 * 24 * 60 * minute;
//! let patterns = engine.patterns(week4);
//! assert_eq!(
//!     patterns[0].to_string(),
//!     "deepseek-chat: rate_limit on Mondays 09:00-10:00 UTC, 100% failure vs 0% baseline, \
//!      seen in 3 of the last 3 weeks"
//! );
//!
//! // The predictor expects trouble from 09:00 on, before anything fails.
//! let predictor = engine.predictor();
//! assert!(predictor.failure_probability_at("deepseek-chat", week4 + 8 * 60 * minute) < 0.05);
//! assert!(predictor.failure_probability_at("deepseek-chat", week4 + 9 * 60 * minute) > 0.9);
//!
//! // And the health report says so in plain words.
//! let report = engine.health_report(week4 + 8 * 60 * minute + 40 * minute);
//! assert!(report.recommendations[0].starts_with("Expect deepseek-chat to degrade in 20 minutes"));
//! ```
//!
//! Memory per model is fixed: about 1.3 KiB of recent window and 4.4 KiB
//! of learned history with the defaults (see [`PredictiveEngine`] and
//! [`LearnerConfig`]).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod engine;
mod fleet;
mod health;
mod history;
mod learner;
mod outcome;
mod predict;
mod recent;
mod state;
mod stats;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(test)]
mod testkit;
mod time;

pub use engine::{FlywheelEngine, FlywheelEngineBuilder};
pub use fleet::{CounterKind, LearnCounter, SharedLearning};
pub use health::{
    Exclusion, ExclusionEnd, ExclusionReason, HealthConfig, HealthReport, ModelHealth, ModelStatus,
    Verdict,
};
pub use history::{LearnerConfig, WEEKS_KEPT};
pub use learner::{FlywheelLearner, Pattern};
pub use outcome::{Outcome, counts_against_model};
pub use predict::{Forecast, PredictiveConfig, PredictiveEngine};
pub use recent::{MAX_RECENT_MINUTES, Reliability};
pub use state::{LearnState, STATE_VERSION};
pub use store::{JsonFileStore, MemoryStore, StateStore, StoreError};
pub use time::{ClockAnchor, HOURS_PER_WEEK, HourOfWeek, HourOutOfRange, Weekday};
