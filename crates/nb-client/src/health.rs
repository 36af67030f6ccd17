//! How the client's targets are doing: the report of
//! [`health_status`](crate::NeuralBridge::health_status) ([`HealthReport`],
//! one [`ModelHealth`] per model, the overall [`Verdict`]), each target's
//! state from [`targets`](crate::NeuralBridge::targets) ([`TargetStatus`],
//! its [`CircuitState`]), why a target is not called now and until when
//! ([`Exclusion`]), and where what the learner learned is kept
//! ([`StateStore`], and the [`StoreError`] of
//! [`save_state`](crate::NeuralBridge::save_state)).
//!
//! The learner cannot see breakers or limiters, so the client fills them
//! in, for each target: an open breaker (until a probe succeeds), a
//! rate-limit pause (the breaker's throttle or the client's own limiter,
//! until the wait ends), and a predictor skip (a learned pattern covers
//! the current hour and the failure probability is at or above the
//! threshold, until the hour ends).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nb_breaker::RejectReason;
use nb_diagnose::Provider;
use nb_learn::HourOfWeek;

pub use nb_breaker::CircuitState;
pub use nb_learn::{
    Exclusion, ExclusionEnd, ExclusionReason, HealthReport, JsonFileStore, LearnState, MemoryStore,
    ModelHealth, ModelStatus, Pattern, StateStore, StoreError, Verdict,
};

/// How the client's link to a fleet's shared store fares
/// ([`NeuralBridge::shared_store`](crate::NeuralBridge::shared_store)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedStoreStatus {
    /// The store answered the last call. While it does not, breakers and
    /// rate limits run on this replica's own state.
    pub reachable: bool,
    /// Store calls that failed or took longer than their bound, since the
    /// client was built.
    pub errors: u64,
}

use crate::shared::Inner;
use crate::target::TargetState;
use crate::time::FAR;

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
    /// How many times its breaker has opened since the client started.
    pub opened: u64,
    /// How long until it admits calls again, when it does not now.
    pub reopens_in: Option<Duration>,
    /// Its status in the [`health_status`](crate::NeuralBridge::health_status)
    /// report: [`ModelStatus::Excluded`] whenever `exclusion` is set, never
    /// active while its breaker is open.
    pub status: ModelStatus,
    /// Why it is not called now and until when, if it is not (an open
    /// breaker, a rate-limit pause, a predictor skip).
    pub exclusion: Option<Exclusion>,
    /// The configured context window, if any.
    pub context_window: Option<u64>,
}

/// Why `target` is not called at `now`, and until when; `None` when it
/// may be called. The first that applies: the breaker (open, forced open
/// or throttled by a server's wait), the rate limiter (no room even for an
/// empty request), the predictor ([`predicted_skip`]).
pub(crate) fn exclusion(inner: &Inner, target: &TargetState, now: Instant) -> Option<Exclusion> {
    let wall = inner.wall(now);
    if let Err(rejected) = target.breaker.check(now) {
        let end = at(wall, rejected.retry_after);
        return Some(match rejected.reason {
            RejectReason::Throttled => {
                Exclusion::new(ExclusionReason::RateLimited, ExclusionEnd::At(end))
            }
            RejectReason::ForcedOpen => {
                Exclusion::new(ExclusionReason::ForcedOpen, ExclusionEnd::Manual)
            }
            // Open, or half-open with every probe slot taken: back when a
            // probe succeeds.
            _ => Exclusion::new(
                ExclusionReason::BreakerOpen,
                ExclusionEnd::Probe {
                    next_probe: Some(end),
                },
            ),
        });
    }
    if let Err(denied) = target.limiter.check(0, now) {
        let until = match denied.retry_after() {
            Some(wait) => ExclusionEnd::At(at(wall, wait)),
            None => ExclusionEnd::Probe { next_probe: None },
        };
        return Some(Exclusion::new(ExclusionReason::RateLimited, until));
    }
    predicted_skip(inner, target, now)
}

/// Whether the predictor skips `target` at `now`: learning is on, the
/// target's forecast has a learned pattern for the current hour of the
/// week, and its failure probability now is at or above the predictor's
/// threshold. The skip lasts until the end of the hour (then the next
/// hour's forecast decides).
pub(crate) fn predicted_skip(
    inner: &Inner,
    target: &TargetState,
    now: Instant,
) -> Option<Exclusion> {
    let (predictor, threshold) = inner.predictor.as_ref()?;
    let wall = inner.wall(now);
    let forecast = predictor.forecast(&target.name, wall)?;
    let hour = HourOfWeek::of(wall);
    let covers_now = forecast.pattern.as_ref().is_some_and(|p| p.hour == hour);
    (covers_now && forecast.probability >= *threshold).then(|| {
        Exclusion::new(
            ExclusionReason::PredictedFailure,
            ExclusionEnd::At(end_of_hour(wall)),
        )
    })
}

/// `wall + wait`, saturating far in the future.
fn at(wall: SystemTime, wait: Duration) -> SystemTime {
    wall.checked_add(wait.min(FAR)).unwrap_or(wall)
}

/// The start of the UTC hour after the one holding `wall`.
fn end_of_hour(wall: SystemTime) -> SystemTime {
    let secs = wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs((secs / 3600 + 1) * 3600)
}

#[cfg(test)]
mod tests {
    use http::header::RETRY_AFTER;
    use nb_breaker::CircuitBreakerConfig;
    use nb_learn::{HealthReport, ModelStatus, Verdict};

    use super::*;
    use crate::NeuralBridge;
    use crate::tests::{builder, calls, down, ok, openai_error, request, scripted};
    use crate::time::now;

    #[test]
    fn the_hour_ends_on_the_hour() {
        let t = UNIX_EPOCH + Duration::from_secs(1_704_101_400); // 09:30
        assert_eq!(
            end_of_hour(t),
            UNIX_EPOCH + Duration::from_secs(1_704_103_200)
        );
        let on = UNIX_EPOCH + Duration::from_secs(1_704_103_200);
        assert_eq!(end_of_hour(on), on + Duration::from_secs(3600));
        assert_eq!(at(t, Duration::MAX), t + FAR);
    }

    fn target(client: &NeuralBridge, name: &str) -> TargetStatus {
        client
            .targets()
            .into_iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no target {name}"))
    }

    fn model<'r>(report: &'r HealthReport, name: &str) -> &'r nb_learn::ModelHealth {
        report.models.iter().find(|m| m.model == name).unwrap()
    }

    /// A model whose breaker is open is excluded until a probe succeeds,
    /// in `targets()` and in `health_status()`, never active; once the
    /// breaker lets a probe through it is back, and a success makes it
    /// active again.
    #[tokio::test(start_paused = true)]
    async fn an_open_breaker_is_an_exclusion_until_a_probe_succeeds() {
        let mock = scripted(|model, n| match (model, n) {
            ("primary", 0) => openai_error(500, "server_error", "boom"),
            (m, _) => ok(m),
        });
        let client = builder(&mock)
            .fallback_models(["primary", "secondary"])
            .max_retries(0)
            .breaker(CircuitBreakerConfig {
                recovery_timeout: Duration::from_secs(30),
                ..CircuitBreakerConfig::consecutive_failures(1)
            })
            .build()
            .unwrap();
        let fresh = client.health_status();
        assert_eq!(fresh.verdict, Verdict::Healthy);
        let response = client.chat().create(request()).await.unwrap();
        assert_eq!(response.served_by(), "secondary");

        let wall = client.inner.wall(now());
        let primary = target(&client, "primary");
        assert_eq!(primary.breaker, CircuitState::Open);
        assert_eq!(primary.status, ModelStatus::Excluded);
        let excluded = Exclusion::new(
            ExclusionReason::BreakerOpen,
            ExclusionEnd::Probe {
                next_probe: Some(wall + Duration::from_secs(30)),
            },
        );
        assert_eq!(primary.exclusion, Some(excluded));
        assert_eq!(target(&client, "secondary").status, ModelStatus::Active);
        assert_eq!(target(&client, "secondary").exclusion, None);

        let report = client.health_status();
        assert_eq!(report.verdict, Verdict::Degraded);
        assert!(!report.active_models.contains(&"primary".to_owned()));
        assert!(report.excluded_models.contains(&"primary".to_owned()));
        assert_eq!(model(&report, "primary").exclusion, Some(excluded));
        assert_eq!(model(&report, "primary").observed, ModelStatus::Degraded);
        assert!(
            report.recommendations[0].starts_with("Avoid primary until a probe succeeds"),
            "{:?}",
            report.recommendations
        );

        // The breaker lets a probe through: no longer excluded, but one
        // failed call is not "active" either.
        tokio::time::advance(Duration::from_secs(30)).await;
        let primary = target(&client, "primary");
        assert_eq!(primary.exclusion, None);
        assert_eq!(primary.status, ModelStatus::Degraded);
        let response = client.chat().create(request()).await.unwrap();
        assert_eq!(response.served_by(), "primary");
        assert_eq!(target(&client, "primary").status, ModelStatus::Active);
        assert_eq!(client.health_status().verdict, Verdict::Healthy);
    }

    /// A server-given wait pauses the target: rate-limited until it ends.
    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_pause_is_an_exclusion_until_the_wait_ends() {
        let mock = scripted(|model, n| match (model, n) {
            ("primary", 0) => openai_error(429, "rate_limit_exceeded", "Rate limit reached")
                .header(RETRY_AFTER, "30"),
            (m, _) => ok(m),
        });
        let client = builder(&mock)
            .fallback_models(["primary", "secondary"])
            .build()
            .unwrap();
        client.chat().create(request()).await.unwrap();
        let wall = client.inner.wall(now());
        let primary = target(&client, "primary");
        assert_eq!(primary.status, ModelStatus::Excluded);
        assert_eq!(
            primary.exclusion,
            Some(Exclusion::new(
                ExclusionReason::RateLimited,
                ExclusionEnd::At(wall + Duration::from_secs(30)),
            ))
        );
        let report = client.health_status();
        assert_eq!(report.excluded_models, ["primary"]);
        assert_eq!(report.verdict, Verdict::Degraded);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(target(&client, "primary").exclusion, None);
    }

    /// Every model excluded: the report is unhealthy.
    #[tokio::test(start_paused = true)]
    async fn nothing_to_call_is_unhealthy() {
        let mock = scripted(|model, _| down(model));
        let client = builder(&mock)
            .fallback_models(["primary", "secondary"])
            .max_retries(0)
            .breaker(CircuitBreakerConfig::consecutive_failures(1))
            .build()
            .unwrap();
        let _ = client.chat().create(request()).await.unwrap_err();
        let report = client.health_status();
        assert_eq!(report.verdict, Verdict::Unhealthy);
        assert!(report.active_models.is_empty() && report.degraded_models.is_empty());
        assert!(
            client
                .targets()
                .iter()
                .all(|t| t.status == ModelStatus::Excluded)
        );
    }

    /// A learned pattern that covers the current hour, with a forecast at
    /// or above the threshold, is a predictor skip until the hour ends.
    #[tokio::test(start_paused = true)]
    async fn a_predictor_skip_is_an_exclusion_until_the_pattern_hour_ends() {
        // Primary, rate-limited in the hour of the week we are in now for
        // three weeks, saved where the client loads it.
        let store = nb_learn::testing::rate_limited_this_hour("primary", "neuralbridge");

        let mock = scripted(|model, _| ok(model));
        let client = builder(&mock)
            .fallback_models(["primary", "secondary"])
            .state_store(store)
            .build()
            .unwrap();
        // The first call is the skip's probe (one every few seconds); the
        // next is skipped.
        let probe = client.chat().create(request()).await.unwrap();
        assert_eq!(probe.served_by(), "primary");
        let response = client.chat().create(request()).await.unwrap();
        assert_eq!(
            response.served_by(),
            "secondary",
            "the predictor skips primary"
        );
        assert_eq!(calls(&mock, "primary"), 1);
        let primary = target(&client, "primary");
        assert_eq!(primary.breaker, CircuitState::Closed);
        assert_eq!(primary.status, ModelStatus::Excluded);
        let end = end_of_hour(client.inner.wall(now()));
        assert_eq!(
            primary.exclusion,
            Some(Exclusion::new(
                ExclusionReason::PredictedFailure,
                ExclusionEnd::At(end),
            ))
        );
        let report = client.health_status();
        assert_eq!(report.excluded_models, ["primary"]);
        assert_eq!(report.verdict, Verdict::Degraded);
        // Learning off: no predictor, no skip.
        let off = builder(&mock)
            .fallback_models(["primary", "secondary"])
            .learning(false)
            .build()
            .unwrap();
        off.chat().create(request()).await.unwrap();
        assert_eq!(target(&off, "primary").exclusion, None);
    }
}
