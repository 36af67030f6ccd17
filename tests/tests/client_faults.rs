//! nb-client against nb-mock over loopback, one fault per test: what the
//! caller got, and what the server saw (attempts per model, the gaps
//! between them). Time is tokio's paused clock: nb-mock's latencies and
//! hangs, the client's timeouts, backoffs and Retry-After waits all pass in
//! virtual time, so nothing here waits on the wall clock.

use std::time::Duration;

use nb_client::{
    ChatRequest, ErrorCategory, ErrorKind,
    health::{CircuitState, ModelStatus},
    policy::{CategoryPolicy, CircuitBreakerConfig, Decision},
};
use nb_mock::{Fault, ModelBehavior, ScenarioRule};
use nb_tests::client::{
    FALLBACK, KEY, PRIMARY, between, categories, chat, decisions, handoff, models, scenario, start,
};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The backoff's floor: a retry never comes sooner.
const BACKOFF_FLOOR: Duration = Duration::from_millis(100);

fn always(fault: Fault) -> ModelBehavior {
    ModelBehavior::new(PRIMARY).rule(ScenarioRule::new(fault))
}

fn once(fault: Fault) -> ModelBehavior {
    ModelBehavior::new(PRIMARY).rule(ScenarioRule::new(fault).attempts(1..=1))
}

fn fallback() -> ModelBehavior {
    ModelBehavior::new(FALLBACK)
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_goes_elsewhere_at_once_and_pauses_the_model_for_everyone() {
    let f = start(
        scenario([once(Fault::rate_limit_after(2)), fallback()]),
        |b| b,
    )
    .await;
    let start = Instant::now();
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::RateLimit), None]
    );
    assert_eq!(decisions(response.attempts()), ["fallback", "served"]);
    assert!(
        start.elapsed() < BACKOFF_FLOOR,
        "no wait: {:?}",
        start.elapsed()
    );
    // While the server's wait runs, the next caller skips the primary
    // without asking it (the wait is shared, nobody waits it twice) ...
    let next = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(models(next.attempts()), [FALLBACK]);
    // ... and once it is over, the primary serves again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let back = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(models(back.attempts()), [PRIMARY]);
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 2);
    assert_eq!(log.attempts(FALLBACK), 2);
}

#[tokio::test(start_paused = true)]
async fn a_retry_first_policy_waits_what_the_retry_after_header_says() {
    let f = start(
        scenario([once(Fault::rate_limit_after(2)), fallback()]),
        |b| {
            b.policy(
                ErrorCategory::RateLimit,
                CategoryPolicy::retry_then_fallback(),
            )
        },
    )
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), PRIMARY);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::RateLimit), None]
    );
    assert_eq!(
        response.attempts()[0].decision(),
        Decision::Retry {
            after: Duration::from_secs(2)
        }
    );
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 2);
    assert_eq!(log.attempts(FALLBACK), 0);
    assert!(
        log.gaps(PRIMARY)[0] >= Duration::from_secs(2),
        "{:?}",
        log.gaps(PRIMARY)
    );
}

#[tokio::test(start_paused = true)]
async fn persistent_rate_limit_without_retry_after_backs_off_then_falls_back_under_retry_first() {
    let f = start(scenario([always(Fault::rate_limit()), fallback()]), |b| {
        b.policy(
            ErrorCategory::RateLimit,
            CategoryPolicy::retry_then_fallback(),
        )
    })
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        decisions(response.attempts()),
        ["retry", "retry", "fallback", "served"]
    );
    let log = f.server.log();
    assert_eq!(
        log.attempts(PRIMARY),
        3,
        "one attempt and two retries, then no more"
    );
    assert_eq!(log.attempts(FALLBACK), 1);
    // Jittered exponential backoff with a floor: never a tight loop.
    let gaps = log.gaps(PRIMARY);
    assert!(between(gaps[0], ms(100), ms(500)), "{gaps:?}");
    assert!(between(gaps[1], ms(100), ms(1000)), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn quota_exhausted_falls_back_at_once_without_retrying() {
    let f = start(
        scenario([always(Fault::InsufficientQuota), fallback()]),
        |b| b,
    )
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::QuotaExhausted), None]
    );
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 1);
    assert_eq!(log.attempts(FALLBACK), 1);
    let requests = log.requests();
    assert_eq!(
        requests[1].at - requests[0].at,
        Duration::ZERO,
        "no wait before the fallback"
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_key_is_not_retried_on_that_key_and_a_pool_rotates() {
    // One key: the model is given up after one attempt.
    let f = start(scenario([always(Fault::InvalidApiKey), fallback()]), |b| b).await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::Auth), None]
    );
    assert_eq!(f.server.log().attempts(PRIMARY), 1);

    // A pool of two: the second key is tried on the same model, once.
    let f = start(scenario([once(Fault::InvalidApiKey), fallback()]), |b| {
        b.api_key("sk-test-client-0002")
    })
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(response.served_by(), PRIMARY);
    assert_eq!(decisions(response.attempts()), ["rotate_key", "served"]);
    let keys: Vec<String> = f
        .server
        .log()
        .requests_for(PRIMARY)
        .iter()
        .map(|r| r.credential.last4().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        keys,
        [&KEY[KEY.len() - 4..], "0002"],
        "the fixture's key, then the pool's"
    );
    // The bad key is not used again.
    f.client.chat().create(chat(PRIMARY)).await.unwrap();
    let last = f.server.log().last().unwrap();
    assert_eq!(last.credential.last4(), Some("0002"));
}

#[tokio::test(start_paused = true)]
async fn model_not_found_falls_back_at_once() {
    let f = start(scenario([always(Fault::ModelNotFound), fallback()]), |b| b).await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::ModelNotFound), None]
    );
    assert_eq!(f.server.log().attempts(PRIMARY), 1);
    assert_eq!(f.server.log().attempts(FALLBACK), 1);
}

#[tokio::test(start_paused = true)]
async fn a_single_server_error_goes_elsewhere_at_once_and_the_next_call_to_the_primary() {
    let f = start(scenario([once(Fault::ServerError), fallback()]), |b| b).await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::ServerError), None]
    );
    let handoff = handoff(f.server.log(), PRIMARY, FALLBACK).unwrap();
    assert!(handoff < BACKOFF_FLOOR, "no backoff first: {handoff:?}");
    let next = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(models(next.attempts()), [PRIMARY]);
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 2);
    assert_eq!(log.attempts(FALLBACK), 1);
}

#[tokio::test(start_paused = true)]
async fn persistent_503_falls_back_at_once_while_the_fallback_is_open() {
    let f = start(
        scenario([
            always(Fault::ServiceUnavailable {
                retry_after_s: None,
            }),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let start = Instant::now();
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(models(response.attempts()), [PRIMARY, FALLBACK]);
    assert_eq!(decisions(response.attempts()), ["fallback", "served"]);
    let first = response.attempts()[0].diagnosis().unwrap();
    assert_eq!(
        (first.status, first.category),
        (Some(503), ErrorCategory::Overloaded)
    );
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 1, "no retry on the overloaded model");
    assert_eq!(log.attempts(FALLBACK), 1);
    let handoff = handoff(log, PRIMARY, FALLBACK).unwrap();
    assert!(handoff < BACKOFF_FLOOR, "no backoff first: {handoff:?}");
    assert!(start.elapsed() < BACKOFF_FLOOR, "{:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn persistent_529_overload_falls_back_at_once_while_the_fallback_is_open() {
    let f = start(scenario([always(Fault::Overloaded), fallback()]), |b| b).await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::Overloaded), None]
    );
    assert_eq!(response.attempts()[0].decision(), Decision::Fallback);
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 1);
    assert_eq!(log.attempts(FALLBACK), 1);
    let handoff = handoff(log, PRIMARY, FALLBACK).unwrap();
    assert!(handoff < BACKOFF_FLOOR, "{handoff:?}");
}

#[tokio::test(start_paused = true)]
async fn an_overload_on_the_last_open_model_is_retried_with_backoff() {
    let f = start(
        scenario([
            always(Fault::Overloaded),
            ModelBehavior::new(FALLBACK).rule(ScenarioRule::new(Fault::Overloaded).attempts(1..=2)),
        ]),
        |b| b,
    )
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        models(response.attempts()),
        [PRIMARY, FALLBACK, FALLBACK, FALLBACK]
    );
    assert_eq!(
        decisions(response.attempts()),
        ["fallback", "retry", "retry", "served"]
    );
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 1);
    assert_eq!(log.attempts(FALLBACK), 3);
    let gaps = log.gaps(FALLBACK);
    assert!(gaps.iter().all(|g| *g >= BACKOFF_FLOOR), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn an_overload_is_retried_on_the_same_model_while_the_fallbacks_breaker_is_open() {
    let f = start(
        scenario([
            // Serves the call that opens the fallback's breaker, then is
            // overloaded twice.
            ModelBehavior::new(PRIMARY).rule(ScenarioRule::new(Fault::Overloaded).attempts(2..=3)),
            ModelBehavior::new(FALLBACK).rule(ScenarioRule::new(Fault::ServerError)),
        ]),
        |b| {
            b.breaker(CircuitBreakerConfig {
                recovery_timeout: Duration::from_secs(60),
                ..CircuitBreakerConfig::consecutive_failures(3)
            })
            .policy(
                ErrorCategory::ServerError,
                CategoryPolicy::retry_then_fallback(),
            )
        },
    )
    .await;
    // Three 500s (an attempt and two retries) open the fallback's breaker.
    let opening = f.client.chat().create(chat(FALLBACK)).await.unwrap();
    assert_eq!(
        models(opening.attempts()),
        [FALLBACK, FALLBACK, FALLBACK, PRIMARY]
    );
    let breaker = |name: &str| {
        let targets = f.client.targets();
        targets.iter().find(|t| t.name == name).unwrap().breaker
    };
    assert_eq!(breaker(FALLBACK), CircuitState::Open);
    assert_eq!(breaker(PRIMARY), CircuitState::Closed);

    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(response.served_by(), PRIMARY);
    assert_eq!(decisions(response.attempts()), ["retry", "retry", "served"]);
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 4);
    assert_eq!(log.attempts(FALLBACK), 3, "not called while open");
    let gaps = log.gaps(PRIMARY);
    assert!(gaps[1..].iter().all(|g| *g >= BACKOFF_FLOOR), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_then_fallback_restores_backing_off_on_an_overloaded_model() {
    let f = start(scenario([always(Fault::Overloaded), fallback()]), |b| {
        b.policy(
            ErrorCategory::Overloaded,
            CategoryPolicy::retry_then_fallback(),
        )
    })
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [
            Some(ErrorCategory::Overloaded),
            Some(ErrorCategory::Overloaded),
            Some(ErrorCategory::Overloaded),
            None
        ]
    );
    assert_eq!(
        decisions(response.attempts()),
        ["retry", "retry", "fallback", "served"]
    );
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 3);
    assert_eq!(log.attempts(FALLBACK), 1);
    let gaps = log.gaps(PRIMARY);
    assert!(gaps.iter().all(|g| *g >= BACKOFF_FLOOR), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn a_tcp_reset_goes_elsewhere_at_once() {
    let f = start(scenario([once(Fault::ConnectionReset), fallback()]), |b| b).await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::Network), None]
    );
    assert_eq!(f.server.log().attempts(PRIMARY), 1);
    assert_eq!(f.server.log().attempts(FALLBACK), 1);
}

#[tokio::test(start_paused = true)]
async fn a_hung_model_is_hedged_and_the_server_sees_the_loser_closed() {
    let f = start(
        scenario([
            ModelBehavior::new(PRIMARY).rule(ScenarioRule::new(Fault::Hang).attempts(4..)),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    // Three answers teach the primary its hedge delay (the floor, 250 ms:
    // nb-mock answers at once).
    for _ in 0..3 {
        let served = f.client.chat().create(chat(PRIMARY)).await.unwrap();
        assert_eq!(served.served_by(), PRIMARY);
    }
    let start = Instant::now();
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(decisions(response.attempts()), ["cancelled", "served"]);
    assert!(response.attempts()[1].is_hedge());
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "hedged at 250 ms: {:?}",
        start.elapsed()
    );
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 4);
    assert_eq!(log.attempts(FALLBACK), 1);
    // The loser's connection was dropped: the server saw it go.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(f.server.abandoned_requests(), 1);
    // Not a failure of the primary: its breaker stays closed.
    let primary = f
        .client
        .targets()
        .into_iter()
        .find(|t| t.name == PRIMARY)
        .unwrap();
    assert_eq!(primary.breaker, CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn context_length_goes_only_to_a_larger_window() {
    let f = start(
        scenario([
            always(Fault::ContextLengthExceeded),
            ModelBehavior::new("gpt-3.5-turbo"),
            ModelBehavior::new("gpt-4.1"),
        ]),
        |b| {
            b.fallback_models([PRIMARY, "gpt-3.5-turbo", "gpt-4.1"])
                .context_window(PRIMARY, 128_000)
                .context_window("gpt-3.5-turbo", 16_385)
                .context_window("gpt-4.1", 1_047_576)
        },
    )
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), "gpt-4.1");
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::ContextLength), None]
    );
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 1);
    assert_eq!(
        log.attempts("gpt-3.5-turbo"),
        0,
        "a smaller window is skipped"
    );
    assert_eq!(log.attempts("gpt-4.1"), 1);
}

#[tokio::test(start_paused = true)]
async fn content_filter_fails_with_the_reason_unless_the_policy_falls_back() {
    let f = start(scenario([always(Fault::ContentFilter), fallback()]), |b| b).await;
    let err = f.client.chat().create(chat(PRIMARY)).await.unwrap_err();

    assert_eq!(err.kind(), &ErrorKind::Aborted);
    assert_eq!(err.category(), Some(ErrorCategory::ContentFilter));
    assert!(!err.diagnosis().unwrap().root_cause.is_empty());
    assert_eq!(f.server.log().attempts(PRIMARY), 1);
    assert_eq!(f.server.log().attempts(FALLBACK), 0);

    let f = start(scenario([always(Fault::ContentFilter), fallback()]), |b| {
        b.policy(ErrorCategory::ContentFilter, CategoryPolicy::fallback())
    })
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(f.server.log().attempts(PRIMARY), 1);
}

#[tokio::test(start_paused = true)]
async fn a_truncated_200_is_a_malformed_response_and_goes_elsewhere_at_once() {
    let f = start(scenario([once(Fault::TruncatedJson), fallback()]), |b| b).await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::MalformedResponse), None]
    );
    assert_eq!(f.server.log().attempts(PRIMARY), 1);
}

#[tokio::test(start_paused = true)]
async fn a_validator_rejection_falls_back_like_a_broken_response() {
    let f = start(
        scenario([
            ModelBehavior::new(PRIMARY).reply("not json"),
            ModelBehavior::new(FALLBACK).reply(r#"{"answer": 42}"#),
        ]),
        |b| {
            b.validate(|c| {
                serde_json::from_str::<serde_json::Value>(c.text().unwrap_or_default())
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        },
    )
    .await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(response.text(), Some(r#"{"answer": 42}"#));
    assert_eq!(
        f.server.log().attempts(PRIMARY),
        1,
        "gone elsewhere at once, like any malformed response"
    );
}

#[tokio::test(start_paused = true)]
async fn the_response_accounts_for_the_fallback_that_served() {
    let f = start(scenario([always(Fault::ModelNotFound), fallback()]), |b| b).await;
    let response = f.client.chat().create(chat(PRIMARY)).await.unwrap();

    assert_eq!(response.served_by(), FALLBACK);
    assert_eq!(
        response.completion().model,
        FALLBACK,
        "the provider's own field agrees"
    );
    let usage = response.usage().expect("usage reported");
    assert!(usage.total_tokens > 0);
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    let attempts = response.attempts();
    assert_eq!(models(attempts), [PRIMARY, FALLBACK]);
    assert!(!attempts[0].is_success() && attempts[1].is_success());
    assert!(
        attempts
            .iter()
            .filter(|a| a.is_success())
            .all(|a| a.model() == FALLBACK)
    );
    assert_eq!(
        attempts[1].started_at(),
        attempts[0].started_at() + attempts[0].latency()
    );
    let report = f.client.health_status();
    let primary = report.models.iter().find(|m| m.model == PRIMARY).unwrap();
    assert_eq!(primary.reliability.calls, 1);
    assert_eq!(primary.reliability.successes, 0);
    let fb = report.models.iter().find(|m| m.model == FALLBACK).unwrap();
    assert_eq!(fb.reliability.successes, 1);
}

/// A query of death: a request whose content makes every model answer the
/// same 500. Sent over and over among normal traffic, with the default
/// configuration, it never opens a breaker; within each call its repeat on
/// the fallback is counted against no one, so the fallback's health never
/// hears of it.
#[tokio::test(start_paused = true)]
async fn a_query_of_death_trips_no_breaker_and_costs_the_fallback_nothing() {
    let poison = || ScenarioRule::new(Fault::ServerError).contains("poison");
    let f = start(
        scenario([
            ModelBehavior::new(PRIMARY).rule(poison()),
            ModelBehavior::new(FALLBACK).rule(poison()),
        ]),
        |b| b,
    )
    .await;
    let poisoned = || ChatRequest::new(PRIMARY).user_message("a poison pill");
    for round in 0..40 {
        let err = f.client.chat().create(poisoned()).await.unwrap_err();
        // Tried on the primary, then on the fallback: the chain is walked
        // as for any failure.
        assert_eq!(
            models(&err.attempts()[..2]),
            [PRIMARY, FALLBACK],
            "round {round}"
        );
        for _ in 0..2 {
            let ok = f.client.chat().create(chat(PRIMARY)).await.unwrap();
            assert_eq!(ok.served_by(), PRIMARY, "round {round}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for t in f.client.targets() {
        assert_eq!(t.breaker, CircuitState::Closed, "{}", t.name);
    }
    let report = f.client.health_status();
    let fallback = report.models.iter().find(|m| m.model == FALLBACK).unwrap();
    assert_eq!(fallback.status, ModelStatus::Active);
    assert!(
        fallback.reliability.failures.is_empty(),
        "the repeats are not the fallback's: {:?}",
        fallback.reliability.failures
    );
    assert!(
        f.server.log().attempts(FALLBACK) >= 40,
        "each poisoned call reached it"
    );
}
