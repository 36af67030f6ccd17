//! The health report behind `client.health_status()`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
/// despite the few calls: from three calls on, it is failed (or degraded)
/// when even the upper end of the 95% Wilson interval of its success rate
/// is under the threshold. Four failures out of four is failed (the
/// interval reaches only 49%), three out of three degraded. One or two
/// calls that all failed make a model degraded (not failed: it may be bad
/// luck, but it is not known to serve), so readiness means something from
/// the first call; a model without calls is active.
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

/// Fewest calls for a verdict from the interval: one or two failures may be
/// bad luck.
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
    /// The status a model's recent reliability earns ([`ModelStatus::Active`],
    /// [`Degraded`](ModelStatus::Degraded) or [`Failed`](ModelStatus::Failed);
    /// exclusions are the client's to add, see [`HealthReport::exclude`]).
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
        } else if r.successes == 0 {
            // Every call so far failed: not known to serve.
            return ModelStatus::Degraded;
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

/// A model's standing in the [`HealthReport`], and in the client's
/// `targets()`: one vocabulary everywhere, serialized `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModelStatus {
    /// Serving well, or no calls yet.
    Active,
    /// Under the degraded threshold, or every one of its first calls
    /// failed: still called, but not known to serve well.
    Degraded,
    /// Under the failed threshold: still called when nothing better is
    /// available.
    Failed,
    /// Not called now, for the reason and until the end its
    /// [`Exclusion`] gives.
    Excluded,
}

impl ModelStatus {
    /// The `snake_case` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Degraded => "degraded",
            Self::Failed => "failed",
            Self::Excluded => "excluded",
        }
    }

    /// Whether a model in this status takes calls now (all but excluded).
    pub const fn can_serve(self) -> bool {
        !matches!(self, Self::Excluded)
    }
}

impl fmt::Display for ModelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The overall verdict of a [`HealthReport`], derived from the models'
/// statuses alone ([`Verdict::of`]), serialized `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Every model is active (or no model is known yet).
    Healthy,
    /// Calls can be served, but not at full strength: some model is
    /// degraded, failed or excluded, and at least one active or degraded
    /// model takes calls.
    Degraded,
    /// No model can serve well: every model is failed or excluded.
    Unhealthy,
}

impl Verdict {
    /// The verdict for a set of model statuses:
    ///
    /// 1. no models, or every model active: [`Healthy`](Self::Healthy);
    /// 2. no model active or degraded (every one failed or excluded):
    ///    [`Unhealthy`](Self::Unhealthy);
    /// 3. otherwise [`Degraded`](Self::Degraded): in particular whenever
    ///    the primary is degraded, failed or excluded and another model
    ///    serves.
    pub fn of(statuses: impl IntoIterator<Item = ModelStatus>) -> Self {
        let (mut all_active, mut any_serving) = (true, false);
        for status in statuses {
            all_active &= status == ModelStatus::Active;
            any_serving |= matches!(status, ModelStatus::Active | ModelStatus::Degraded);
        }
        if all_active {
            Self::Healthy
        } else if any_serving {
            Self::Degraded
        } else {
            Self::Unhealthy
        }
    }

    /// The `snake_case` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unhealthy => "unhealthy",
        }
    }

    /// Whether calls can be served (healthy or degraded). The CLI's
    /// `/health` answers 200 then, 503 when unhealthy.
    pub const fn can_serve(self) -> bool {
        !matches!(self, Self::Unhealthy)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a model is excluded (not called now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExclusionReason {
    /// Its circuit breaker is open (or half-open with every probe slot
    /// taken): it lets calls through again once a probe succeeds.
    BreakerOpen,
    /// Its circuit breaker was forced open by the application.
    ForcedOpen,
    /// The provider rate-limited it (a server-given wait), or the client's
    /// own rate limiter has no room: it is paused until the wait ends.
    RateLimited,
    /// A learned pattern covers the current hour and the predictor's failure
    /// probability is at or above its threshold.
    PredictedFailure,
    /// Its health score fell below the balancer's exclusion bar.
    HealthScore,
}

impl ExclusionReason {
    /// The `snake_case` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BreakerOpen => "breaker_open",
            Self::ForcedOpen => "forced_open",
            Self::RateLimited => "rate_limited",
            Self::PredictedFailure => "predicted_failure",
            Self::HealthScore => "health_score",
        }
    }

    /// The reason in plain words.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::BreakerOpen => "circuit breaker open",
            Self::ForcedOpen => "circuit breaker forced open",
            Self::RateLimited => "rate-limited",
            Self::PredictedFailure => "a learned pattern predicts failure in this hour",
            Self::HealthScore => "health score below the exclusion bar",
        }
    }
}

impl fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When an exclusion ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExclusionEnd {
    /// By itself at this wall-clock time.
    At(SystemTime),
    /// When a probe call succeeds; the next probe may go at `next_probe`
    /// (`None`: as soon as a call comes, or not known).
    Probe {
        /// When the next probe is let through, if known.
        next_probe: Option<SystemTime>,
    },
    /// Only when the application lifts it (a breaker forced open).
    Manual,
}

impl ExclusionEnd {
    /// The time the exclusion ends ([`At`](Self::At)) or the next probe may
    /// go ([`Probe`](Self::Probe)), if known.
    pub fn time(&self) -> Option<SystemTime> {
        match *self {
            Self::At(t) => Some(t),
            Self::Probe { next_probe } => next_probe,
            Self::Manual => None,
        }
    }
}

impl fmt::Display for ExclusionEnd {
    /// `until 05:31:12 UTC`, `until a probe succeeds (next probe at 05:31:12 UTC)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::At(t) => write!(f, "until {}", Clock(t)),
            Self::Probe {
                next_probe: Some(t),
            } => write!(f, "until a probe succeeds (next probe at {})", Clock(t)),
            Self::Probe { next_probe: None } => f.write_str("until a probe succeeds"),
            Self::Manual => f.write_str("until the application closes it"),
        }
    }
}

/// A wall-clock time as `HH:MM:SS UTC`.
struct Clock(SystemTime);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = unix_ms(self.0) / 1000;
        let day = secs % 86_400;
        write!(
            f,
            "{:02}:{:02}:{:02} UTC",
            day / 3600,
            day % 3600 / 60,
            day % 60
        )
    }
}

/// Milliseconds since the epoch, 0 before it, saturating.
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why a model is not called now, and until when.
///
/// Serializes flat: `{"reason": "breaker_open", "until": "probe",
/// "at_unix_ms": 1765000012000}`, where `until` is `"time"` (the exclusion
/// ends by itself at `at_unix_ms`), `"probe"` (it ends when a probe
/// succeeds; `at_unix_ms` is when the next probe may go, or `null`) or
/// `"manual"` (`at_unix_ms` is `null`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "ExclusionRepr", from = "ExclusionRepr")]
pub struct Exclusion {
    /// Why.
    pub reason: ExclusionReason,
    /// Until when.
    pub until: ExclusionEnd,
}

impl Exclusion {
    /// An exclusion for `reason` until `until`.
    pub const fn new(reason: ExclusionReason, until: ExclusionEnd) -> Self {
        Self { reason, until }
    }
}

impl fmt::Display for Exclusion {
    /// `circuit breaker open, until a probe succeeds`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.reason.describe(), self.until)
    }
}

/// The JSON shape of an [`Exclusion`].
#[derive(serde::Serialize, serde::Deserialize)]
struct ExclusionRepr {
    reason: ExclusionReason,
    until: EndKind,
    at_unix_ms: Option<u64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum EndKind {
    Time,
    Probe,
    Manual,
}

impl From<Exclusion> for ExclusionRepr {
    fn from(e: Exclusion) -> Self {
        let until = match e.until {
            ExclusionEnd::At(_) => EndKind::Time,
            ExclusionEnd::Probe { .. } => EndKind::Probe,
            ExclusionEnd::Manual => EndKind::Manual,
        };
        Self {
            reason: e.reason,
            until,
            at_unix_ms: e.until.time().map(unix_ms),
        }
    }
}

impl From<ExclusionRepr> for Exclusion {
    fn from(r: ExclusionRepr) -> Self {
        let at = r
            .at_unix_ms
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        let until = match (r.until, at) {
            (EndKind::Time, Some(t)) => ExclusionEnd::At(t),
            (EndKind::Time | EndKind::Probe, next_probe) => ExclusionEnd::Probe { next_probe },
            (EndKind::Manual, _) => ExclusionEnd::Manual,
        };
        Self {
            reason: r.reason,
            until,
        }
    }
}

/// One model in the [`HealthReport`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelHealth {
    /// The model.
    pub model: String,
    /// The endpoint of its latest outcome, if outcomes name one.
    pub endpoint: Option<String>,
    /// Its status: from its recent reliability, or
    /// [`Excluded`](ModelStatus::Excluded) while `exclusion` is set.
    pub status: ModelStatus,
    /// Why it is not called now and until when, if it is not.
    #[serde(default)]
    pub exclusion: Option<Exclusion>,
    /// What its recent reliability alone earns (the status before any
    /// exclusion).
    pub observed: ModelStatus,
    /// Success rate over the window, `None` without calls.
    pub success_rate: Option<f64>,
    /// The predicted failure probability of a call made now.
    pub failure_probability: f64,
    /// The counts behind the status.
    pub reliability: Reliability,
    /// The advice about this model in plain words, if any (also listed in
    /// the report's `recommendations`).
    #[serde(default)]
    pub advice: Option<String>,
}

/// What `client.health_status()` returns: an overall verdict, each model's
/// status (and exclusion, if it is not called now), and what to do about it,
/// in plain words.
///
/// The verdict follows the models' statuses ([`Verdict::of`]): `healthy`
/// only when every model is active, `unhealthy` when none is active or
/// degraded, `degraded` otherwise. Serializes to the JSON the CLI's
/// `/health` endpoint returns (which adds `targets`):
///
/// ```json
/// {"verdict": "degraded", "active_models": ["deepseek-chat", "qwen-max"],
///  "degraded_models": ["gpt-4o"], "failed_models": [], "excluded_models": ["claude-3-opus"],
///  "recommendations": ["Avoid claude-3-opus until a probe succeeds (next probe at 05:31:12 UTC): circuit breaker open; 12% success over the last 15 minutes, mostly overloaded", "…"],
///  "window_minutes": 15,
///  "models": [{"model": "claude-3-opus", "endpoint": null, "status": "excluded",
///              "exclusion": {"reason": "breaker_open", "until": "probe", "at_unix_ms": 1765000272000},
///              "observed": "failed", "success_rate": 0.12, "failure_probability": 0.85,
///              "reliability": {"…": "…"}, "advice": "Avoid claude-3-opus until …"}, "…"]}
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HealthReport {
    /// The overall verdict, from the models' statuses.
    pub verdict: Verdict,
    /// Models serving well, by name.
    pub active_models: Vec<String>,
    /// Models under the degraded threshold (or failing every first call).
    pub degraded_models: Vec<String>,
    /// Models under the failed threshold.
    pub failed_models: Vec<String>,
    /// Models not called now (see each model's `exclusion`).
    #[serde(default)]
    pub excluded_models: Vec<String>,
    /// Advice in plain words, worst first.
    pub recommendations: Vec<String>,
    /// The window the rates cover, in minutes.
    pub window_minutes: u32,
    /// Every model with its status and rates.
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

/// The advice when no model serves well.
const NOTHING_SERVES: &str =
    "No model is serving well: check credentials, quotas and the network, or add a fallback model";

impl HealthReport {
    /// Builds the report from each model's window and forecast (in name order).
    pub(crate) fn new(
        now: SystemTime,
        config: &HealthConfig,
        minutes: u32,
        entries: Vec<Entry>,
    ) -> Self {
        let mut report = Self {
            verdict: Verdict::Healthy,
            active_models: Vec::new(),
            degraded_models: Vec::new(),
            failed_models: Vec::new(),
            excluded_models: Vec::new(),
            recommendations: Vec::new(),
            window_minutes: minutes,
            models: Vec::with_capacity(entries.len()),
        };
        for entry in entries {
            let Entry {
                reliability,
                forecast,
                endpoint,
                patterns_end,
            } = entry;
            let model = forecast.model.clone();
            let status = config.status(&reliability);
            let advice = match status {
                ModelStatus::Failed => Some(format!(
                    "Avoid {model}: {}",
                    observed(&reliability, minutes)
                )),
                ModelStatus::Degraded => Some(format!(
                    "Prefer other models to {model}: {}",
                    observed(&reliability, minutes)
                )),
                _ => expected_trouble(now, &forecast, patterns_end),
            };
            report.models.push(ModelHealth {
                model,
                endpoint,
                status,
                exclusion: None,
                observed: status,
                success_rate: reliability.success_rate(),
                failure_probability: forecast.probability,
                reliability,
                advice,
            });
        }
        report.summarize();
        report
    }

    /// Marks `model` excluded (not called now) for `exclusion`'s reason and
    /// until its end, adding the model if the report does not list it; the
    /// lists, the advice and the verdict follow. The client calls this for
    /// what only it sees: open breakers, rate-limit pauses, predictor skips
    /// and health-score exclusions.
    pub fn exclude(&mut self, model: &str, exclusion: Exclusion) {
        let minutes = self.window_minutes;
        let i = match self.models.iter().position(|m| m.model == model) {
            Some(i) => i,
            None => {
                self.models.push(ModelHealth {
                    model: model.to_owned(),
                    endpoint: None,
                    status: ModelStatus::Active,
                    exclusion: None,
                    observed: ModelStatus::Active,
                    success_rate: None,
                    failure_probability: 0.0,
                    reliability: Reliability::empty(minutes),
                    advice: None,
                });
                self.models.len() - 1
            }
        };
        let m = &mut self.models[i];
        let mut advice = format!(
            "Avoid {model} {}: {}",
            exclusion.until,
            exclusion.reason.describe()
        );
        if m.reliability.calls > 0 {
            advice.push_str("; ");
            advice.push_str(&observed(&m.reliability, minutes));
        }
        m.status = ModelStatus::Excluded;
        m.exclusion = Some(exclusion);
        m.advice = Some(advice);
        self.summarize();
    }

    /// Rebuilds the lists, the recommendations and the verdict from the
    /// models.
    fn summarize(&mut self) {
        self.active_models.clear();
        self.degraded_models.clear();
        self.failed_models.clear();
        self.excluded_models.clear();
        let mut advice: Vec<(u8, &str)> = Vec::new();
        for m in &self.models {
            let (list, rank) = match m.status {
                ModelStatus::Active => (&mut self.active_models, 2),
                ModelStatus::Degraded => (&mut self.degraded_models, 1),
                ModelStatus::Failed => (&mut self.failed_models, 0),
                ModelStatus::Excluded => (&mut self.excluded_models, 0),
            };
            list.push(m.model.clone());
            if let Some(text) = &m.advice {
                advice.push((rank, text));
            }
        }
        // Stable: models keep their order within a rank.
        advice.sort_by_key(|(rank, _)| *rank);
        let mut recommendations: Vec<String> =
            advice.into_iter().map(|(_, s)| s.to_owned()).collect();
        self.verdict = Verdict::of(self.models.iter().map(|m| m.status));
        if !self.models.is_empty() && self.active_models.is_empty() {
            recommendations.push(NOTHING_SERVES.to_owned());
        }
        self.recommendations = recommendations;
    }
}

/// `12% success over the last 15 minutes, mostly overloaded`.
fn observed(r: &Reliability, minutes: u32) -> String {
    let mut s = format!(
        "{} success over the last {minutes} minutes",
        Percent(r.success_rate().unwrap_or(0.0)),
    );
    if let Some(c) = r.dominant_failure() {
        s.push_str(&format!(", mostly {c}"));
    }
    s
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
        assert_eq!(c.status(&reliability(3, 0, &[])), ModelStatus::Degraded);
        assert_eq!(c.status(&reliability(4, 0, &[])), ModelStatus::Failed);
        assert_eq!(c.status(&reliability(9, 0, &[])), ModelStatus::Failed);
        assert_eq!(c.status(&reliability(9, 4, &[])), ModelStatus::Degraded);
        assert_eq!(c.status(&reliability(3, 2, &[])), ModelStatus::Active);
        assert_eq!(c.status(&reliability(9, 8, &[])), ModelStatus::Active);
    }

    /// Readiness from the first call: one or two calls that all failed are
    /// not "active"; one success among them is.
    #[test]
    fn first_calls_that_all_failed_are_degraded() {
        let c = HealthConfig::default();
        assert_eq!(c.status(&reliability(1, 0, &[])), ModelStatus::Degraded);
        assert_eq!(c.status(&reliability(2, 0, &[])), ModelStatus::Degraded);
        assert_eq!(c.status(&reliability(1, 1, &[])), ModelStatus::Active);
        assert_eq!(c.status(&reliability(2, 1, &[])), ModelStatus::Active);
    }

    use ModelStatus::{Active, Degraded, Excluded, Failed};

    #[test]
    fn verdict_no_models_is_healthy() {
        assert_eq!(Verdict::of([]), Verdict::Healthy);
    }

    #[test]
    fn verdict_every_model_active_is_healthy() {
        assert_eq!(Verdict::of([Active, Active, Active]), Verdict::Healthy);
    }

    #[test]
    fn verdict_a_primary_not_active_while_others_serve_is_degraded() {
        assert_eq!(Verdict::of([Degraded, Active, Active]), Verdict::Degraded);
        assert_eq!(Verdict::of([Excluded, Active]), Verdict::Degraded);
        assert_eq!(Verdict::of([Failed, Active]), Verdict::Degraded);
        // A fallback in trouble costs strength too.
        assert_eq!(Verdict::of([Active, Failed]), Verdict::Degraded);
    }

    #[test]
    fn verdict_only_degraded_models_left_is_degraded() {
        assert_eq!(Verdict::of([Degraded, Failed, Excluded]), Verdict::Degraded);
    }

    #[test]
    fn verdict_nothing_active_or_degraded_is_unhealthy() {
        assert_eq!(Verdict::of([Failed, Excluded]), Verdict::Unhealthy);
        assert_eq!(Verdict::of([Excluded]), Verdict::Unhealthy);
        assert!(!Verdict::Unhealthy.can_serve());
        assert!(Verdict::Degraded.can_serve() && Verdict::Healthy.can_serve());
        assert_eq!(
            serde_json::to_value(Verdict::Unhealthy).unwrap(),
            "unhealthy"
        );
    }

    #[test]
    fn a_four_model_report_lists_each_state_and_is_degraded() {
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
        assert_eq!(r.verdict, Verdict::Degraded);
        assert_eq!(r.active_models, ["deepseek-chat", "qwen-max"]);
        assert_eq!(r.degraded_models, ["gpt-4o"]);
        assert_eq!(r.failed_models, ["claude-3-opus"]);
        assert!(r.excluded_models.is_empty());
        assert_eq!(
            r.recommendations,
            [
                "Avoid claude-3-opus: 12% success over the last 15 minutes, mostly overloaded",
                "Prefer other models to gpt-4o: 65% success over the last 15 minutes, mostly rate_limit",
            ]
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["verdict"], "degraded");
        assert_eq!(json["failed_models"][0], "claude-3-opus");
        assert_eq!(json["models"][0]["status"], "failed");
        assert_eq!(json["models"][0]["exclusion"], serde_json::Value::Null);
        assert_eq!(json["models"][0]["endpoint"], "https://api.anthropic.com");
        assert_eq!(
            json["models"][0]["reliability"]["failures"]["overloaded"],
            80
        );
        let back: HealthReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn an_excluded_model_is_never_active_and_says_why_and_until_when() {
        let now = UNIX_EPOCH + Duration::from_secs(1_704_067_200); // 00:00 UTC
        let entries = vec![
            // Two calls, both failed: degraded, not active.
            entry(
                reliability(2, 0, &[(ErrorCategory::ServerError, 2)]),
                quiet("primary", now),
                None,
            ),
            entry(reliability(5, 5, &[]), quiet("secondary", now), None),
        ];
        let mut r = HealthReport::new(now, &HealthConfig::default(), 15, entries);
        assert_eq!(r.degraded_models, ["primary"]);
        assert_eq!(r.verdict, Verdict::Degraded);
        let probe_at = now + Duration::from_secs(30);
        r.exclude(
            "primary",
            Exclusion::new(
                ExclusionReason::BreakerOpen,
                ExclusionEnd::Probe {
                    next_probe: Some(probe_at),
                },
            ),
        );
        assert_eq!(r.verdict, Verdict::Degraded);
        assert_eq!(r.excluded_models, ["primary"]);
        assert!(r.degraded_models.is_empty());
        assert_eq!(r.models[0].status, ModelStatus::Excluded);
        assert_eq!(r.models[0].observed, ModelStatus::Degraded);
        assert_eq!(
            r.recommendations[0],
            "Avoid primary until a probe succeeds (next probe at 00:00:30 UTC): circuit breaker \
             open; 0% success over the last 15 minutes, mostly server_error"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["models"][0]["exclusion"],
            serde_json::json!({"reason": "breaker_open", "until": "probe", "at_unix_ms": 1_704_067_230_000_u64})
        );
        let back: HealthReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);

        // A model the learner never saw is added; with every model
        // excluded, nothing serves.
        r.exclude(
            "secondary",
            Exclusion::new(
                ExclusionReason::RateLimited,
                ExclusionEnd::At(now + Duration::from_secs(2)),
            ),
        );
        r.exclude(
            "tertiary",
            Exclusion::new(ExclusionReason::ForcedOpen, ExclusionEnd::Manual),
        );
        assert_eq!(r.verdict, Verdict::Unhealthy);
        assert_eq!(r.excluded_models, ["primary", "secondary", "tertiary"]);
        assert!(r.recommendations.contains(
            &"Avoid secondary until 00:00:02 UTC: rate-limited; 100% success over the last 15 minutes"
                .to_owned()
        ));
        assert_eq!(r.recommendations.last().unwrap(), NOTHING_SERVES);
        let json = serde_json::to_value(r.models[2].exclusion).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"reason": "forced_open", "until": "manual", "at_unix_ms": null})
        );
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
        assert_eq!(r.verdict, Verdict::Unhealthy);
        assert_eq!(r.recommendations.len(), 2);
        assert!(r.recommendations[0].starts_with("Avoid only: 10% success"));
        assert!(r.recommendations[1].starts_with("No model is serving well"));
        let empty = HealthReport::new(now, &HealthConfig::default(), 15, Vec::new());
        assert!(empty.verdict == Verdict::Healthy && empty.recommendations.is_empty());
    }
}
