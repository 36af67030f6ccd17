//! The health report behind `client.health_status()`.

use std::time::SystemTime;

use crate::learner::Evidence;
use crate::predict::Forecast;
use crate::recent::Reliability;
use crate::stats::{Percent, wilson};
use crate::time::unix_minute;

/// Thresholds for the [`HealthReport`].
///
/// Over the last `window_minutes`, a model with at least `min_calls` calls
/// (successes plus failures that count against it) is **failed** below
/// `failed_below` success, **degraded** below `degraded_below`, and
/// **active** otherwise.
///
/// A model with fewer calls is judged only on evidence that is strong
/// despite the few calls: it is failed (or degraded) when even the upper
/// end of the 95% Wilson interval of its success rate is under the
/// threshold. Four failures out of four is failed (the interval reaches
/// only 49%), three out of three degraded. Fewer than three calls are not
/// judged at all: the model is active.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HealthConfig {
    /// The window, in minutes (default 15; at most the engine's
    /// `recent_minutes`).
    pub window_minutes: u32,
    /// Success rate under which a model is degraded (default 0.90).
    pub degraded_below: f64,
    /// Success rate under which a model is failed (default 0.50).
    pub failed_below: f64,
    /// Fewest calls in the window for a verdict (default 10).
    pub min_calls: u64,
}

/// 95% two-sided: the width of the interval used below `min_calls`.
const SMALL_SAMPLE_Z: f64 = 1.96;

/// Fewest calls for any verdict: one or two failures may be bad luck.
const SMALL_SAMPLE_MIN_CALLS: u64 = 3;

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            window_minutes: 15,
            degraded_below: 0.90,
            failed_below: 0.50,
            min_calls: 10,
        }
    }
}

impl HealthConfig {
    /// The verdict on a model's recent reliability.
    pub fn status(&self, r: &Reliability) -> ModelStatus {
        let Some(rate) = r.success_rate() else {
            return ModelStatus::Active;
        };
        // With enough calls the rate itself decides; with fewer, the most
        // favourable rate the calls are consistent with.
        let judged = if r.calls >= self.min_calls.max(1) {
            rate
        } else if r.calls >= SMALL_SAMPLE_MIN_CALLS {
            wilson(r.successes, r.calls, SMALL_SAMPLE_Z).1
        } else {
            return ModelStatus::Active;
        };
        if judged < self.failed_below {
            ModelStatus::Failed
        } else if judged < self.degraded_below {
            ModelStatus::Degraded
        } else {
            ModelStatus::Active
        }
    }
}

/// A model's standing in the [`HealthReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModelStatus {
    /// Serving well, or too little traffic to say otherwise.
    Active,
    /// Under the degraded threshold.
    Degraded,
    /// Under the failed threshold.
    Failed,
}

/// One model in the [`HealthReport`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelHealth {
    /// The model.
    pub model: String,
    /// The endpoint of its latest outcome, if outcomes name one.
    pub endpoint: Option<String>,
    /// The verdict.
    pub status: ModelStatus,
    /// Success rate over the window, `None` without calls.
    pub success_rate: Option<f64>,
    /// The predicted failure probability of a call made now.
    pub failure_probability: f64,
    /// The counts behind the verdict.
    pub reliability: Reliability,
}

/// What `client.health_status()` returns: which models serve well, which
/// do not, and what to do about it, in plain words.
///
/// `healthy` is true when at least one model is active (the client can
/// serve), or when no model is known yet. Serializes to the JSON the CLI's
/// `/health` endpoint returns:
///
/// ```json
/// {"healthy": true, "active_models": ["qwen-max", "deepseek-chat"],
///  "degraded_models": ["gpt-4o"], "failed_models": ["claude-3-opus"],
///  "recommendations": ["Avoid claude-3-opus: 12% success over the last 15 minutes, mostly overloaded", "…"],
///  "window_minutes": 15, "models": [{"model": "qwen-max", "status": "active", "success_rate": 0.98, "…": "…"}]}
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HealthReport {
    /// Whether at least one model is active (or none is known).
    pub healthy: bool,
    /// Models serving well, by name.
    pub active_models: Vec<String>,
    /// Models under the degraded threshold.
    pub degraded_models: Vec<String>,
    /// Models under the failed threshold.
    pub failed_models: Vec<String>,
    /// Advice in plain words, worst first.
    pub recommendations: Vec<String>,
    /// The window the rates cover, in minutes.
    pub window_minutes: u32,
    /// Every model with its rates.
    pub models: Vec<ModelHealth>,
}

/// What the report needs about one model.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) reliability: Reliability,
    pub(crate) forecast: Forecast,
    pub(crate) endpoint: Option<String>,
    /// The UTC hour of the day (0-23) at which the run of consecutive
    /// pattern hours holding now ends.
    pub(crate) patterns_end: u8,
}

impl HealthReport {
    /// Builds the report from each model's window and forecast (in name order).
    pub(crate) fn new(
        now: SystemTime,
        config: &HealthConfig,
        minutes: u32,
        entries: Vec<Entry>,
    ) -> Self {
        let mut report = Self {
            healthy: true,
            active_models: Vec::new(),
            degraded_models: Vec::new(),
            failed_models: Vec::new(),
            recommendations: Vec::new(),
            window_minutes: minutes,
            models: Vec::with_capacity(entries.len()),
        };
        let mut advice: Vec<(u8, String)> = Vec::new();
        for entry in entries {
            let Entry {
                reliability,
                forecast,
                endpoint,
                patterns_end,
            } = entry;
            let model = forecast.model.clone();
            let status = config.status(&reliability);
            let observed = |verb: &str| {
                let mut s = format!(
                    "{verb} {model}: {} success over the last {minutes} minutes",
                    Percent(reliability.success_rate().unwrap_or(0.0)),
                );
                if let Some(c) = reliability.dominant_failure() {
                    s.push_str(&format!(", mostly {c}"));
                }
                s
            };
            match status {
                ModelStatus::Failed => {
                    advice.push((0, observed("Avoid")));
                    report.failed_models.push(model.clone());
                }
                ModelStatus::Degraded => {
                    advice.push((1, observed("Prefer other models to")));
                    report.degraded_models.push(model.clone());
                }
                ModelStatus::Active => {
                    if let Some(text) = expected_trouble(now, &forecast, patterns_end) {
                        advice.push((2, text));
                    }
                    report.active_models.push(model.clone());
                }
            }
            report.models.push(ModelHealth {
                model,
                endpoint,
                status,
                success_rate: reliability.success_rate(),
                failure_probability: forecast.probability,
                reliability,
            });
        }
        report.healthy = report.models.is_empty() || !report.active_models.is_empty();
        if !report.healthy {
            advice.push((
                0,
                "No model is serving well: check credentials, quotas and the network, or add a fallback model"
                    .to_owned(),
            ));
        }
        advice.sort_by_key(|(rank, _)| *rank);
        report.recommendations = advice.into_iter().map(|(_, s)| s).collect();
        report
    }
}

/// Advice about a learned pattern that covers now (avoid the model until
/// `patterns_end`, the end of the run of pattern hours) or starts within the
/// forecast window.
fn expected_trouble(now: SystemTime, f: &Forecast, patterns_end: u8) -> Option<String> {
    let p = f.pattern.as_ref().filter(|_| f.degraded)?;
    let evidence = Evidence(p);
    let minutes = unix_minute(f.peak_at).saturating_sub(unix_minute(now));
    Some(if f.peak_at > now && minutes > 0 {
        format!(
            "Expect {} to degrade in {minutes} minutes: {evidence}",
            f.model
        )
    } else {
        format!(
            "Avoid {} until {patterns_end:02}:00 UTC: {evidence}",
            f.model
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};

    use nb_diagnose::ErrorCategory;

    use super::*;

    fn reliability(calls: u64, successes: u64, failures: &[(ErrorCategory, u64)]) -> Reliability {
        Reliability {
            minutes: 15,
            calls,
            successes,
            failures: failures.iter().copied().collect::<BTreeMap<_, _>>(),
            mean_latency_ms: Some(300.0),
            max_latency_ms: Some(900.0),
        }
    }

    fn entry(reliability: Reliability, forecast: Forecast, endpoint: Option<String>) -> Entry {
        Entry {
            reliability,
            forecast,
            endpoint,
            patterns_end: 0,
        }
    }

    fn quiet(model: &str, now: SystemTime) -> Forecast {
        Forecast {
            model: model.to_owned(),
            probability: 0.01,
            peak_probability: 0.01,
            peak_at: now,
            pattern: None,
            degraded: false,
        }
    }

    #[test]
    fn thresholds() {
        let c = HealthConfig::default();
        assert_eq!(c.status(&reliability(100, 95, &[])), ModelStatus::Active);
        assert_eq!(c.status(&reliability(100, 90, &[])), ModelStatus::Active);
        assert_eq!(c.status(&reliability(100, 89, &[])), ModelStatus::Degraded);
        assert_eq!(c.status(&reliability(100, 50, &[])), ModelStatus::Degraded);
        assert_eq!(c.status(&reliability(100, 49, &[])), ModelStatus::Failed);
        // Under ten calls only strong evidence counts: the upper end of the
        // 95% interval of the success rate must be under the threshold.
        assert_eq!(c.status(&reliability(0, 0, &[])), ModelStatus::Active);
        assert_eq!(c.status(&reliability(1, 0, &[])), ModelStatus::Active);
        assert_eq!(c.status(&reliability(2, 0, &[])), ModelStatus::Active);
        assert_eq!(c.status(&reliability(3, 0, &[])), ModelStatus::Degraded);
        assert_eq!(c.status(&reliability(4, 0, &[])), ModelStatus::Failed);
        assert_eq!(c.status(&reliability(9, 0, &[])), ModelStatus::Failed);
        assert_eq!(c.status(&reliability(9, 4, &[])), ModelStatus::Degraded);
        assert_eq!(c.status(&reliability(3, 2, &[])), ModelStatus::Active);
        assert_eq!(c.status(&reliability(9, 8, &[])), ModelStatus::Active);
    }

    #[test]
    fn the_seed_example() {
        let now = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        let entries = vec![
            entry(
                reliability(
                    100,
                    12,
                    &[(ErrorCategory::Overloaded, 80), (ErrorCategory::Timeout, 8)],
                ),
                quiet("claude-3-opus", now),
                Some("https://api.anthropic.com".to_owned()),
            ),
            entry(reliability(40, 40, &[]), quiet("deepseek-chat", now), None),
            entry(
                reliability(100, 65, &[(ErrorCategory::RateLimit, 35)]),
                quiet("gpt-4o", now),
                None,
            ),
            entry(
                reliability(50, 49, &[(ErrorCategory::Network, 1)]),
                quiet("qwen-max", now),
                None,
            ),
        ];
        let r = HealthReport::new(now, &HealthConfig::default(), 15, entries);
        assert!(r.healthy);
        assert_eq!(r.active_models, ["deepseek-chat", "qwen-max"]);
        assert_eq!(r.degraded_models, ["gpt-4o"]);
        assert_eq!(r.failed_models, ["claude-3-opus"]);
        assert_eq!(
            r.recommendations,
            [
                "Avoid claude-3-opus: 12% success over the last 15 minutes, mostly overloaded",
                "Prefer other models to gpt-4o: 65% success over the last 15 minutes, mostly rate_limit",
            ]
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["failed_models"][0], "claude-3-opus");
        assert_eq!(json["models"][0]["status"], "failed");
        assert_eq!(json["models"][0]["endpoint"], "https://api.anthropic.com");
        assert_eq!(
            json["models"][0]["reliability"]["failures"]["overloaded"],
            80
        );
        let back: HealthReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn nothing_serving_is_unhealthy_and_says_so() {
        let now = UNIX_EPOCH;
        let entries = vec![entry(
            reliability(20, 2, &[(ErrorCategory::Auth, 18)]),
            quiet("only", now),
            None,
        )];
        let r = HealthReport::new(now, &HealthConfig::default(), 15, entries);
        assert!(!r.healthy);
        assert_eq!(r.recommendations.len(), 2);
        assert!(r.recommendations[0].starts_with("Avoid only: 10% success"));
        assert!(r.recommendations[1].starts_with("No model is serving well"));
        let empty = HealthReport::new(now, &HealthConfig::default(), 15, Vec::new());
        assert!(empty.healthy && empty.recommendations.is_empty());
    }
}
