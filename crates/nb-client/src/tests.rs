//! The policy table and its edge cases, against a scripted `MockTransport`
//! in virtual time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, RETRY_AFTER};
use http::{Response, StatusCode};
use nb_breaker::CircuitBreakerConfig;
use nb_transport::{
    EndpointKind, MockReply, MockTransport, RecordedRequest, ResponseBody, TransportError,
    TransportErrorKind,
};
use serde_json::json;

use crate::diagnosis::Provider;
use crate::health::*;
use crate::policy::*;
use crate::*;

const URL: &str = "https://api.openai.com/v1";

/// Counts calls per model and answers with `script(model, n)` (n from 0).
pub(crate) fn scripted<F>(script: F) -> MockTransport
where
    F: Fn(&str, usize) -> MockReply + Send + 'static,
{
    let counts: Mutex<HashMap<String, usize>> = Mutex::new(HashMap::new());
    MockTransport::from_fn(move |r: &RecordedRequest| {
        let model = r.chat_request().map(|c| c.model).unwrap_or_default();
        let mut counts = counts.lock().unwrap();
        let n = counts.entry(model.clone()).or_default();
        let reply = script(&model, *n);
        *n += 1;
        reply
    })
}

pub(crate) fn ok(model: &str) -> MockReply {
    MockReply::chat(model, &format!("answer from {model}"))
}

fn error(status: u16, body: serde_json::Value) -> MockReply {
    MockReply::json(StatusCode::from_u16(status).unwrap(), &body)
}

pub(crate) fn openai_error(status: u16, code: &str, message: &str) -> MockReply {
    error(
        status,
        json!({"error": {"message": message, "type": code, "code": code}}),
    )
}

/// Each model down in its own way (the same failure everywhere would be the
/// request's: a query of death).
pub(crate) fn down(model: &str) -> MockReply {
    match model {
        "primary" => openai_error(500, "server_error", "The server had an error"),
        "secondary" => openai_error(502, "bad_gateway", "Bad gateway"),
        "tertiary" => openai_error(503, "service_unavailable", "Service unavailable"),
        _ => openai_error(504, "gateway_timeout", "Gateway timeout"),
    }
}

pub(crate) fn builder(mock: &MockTransport) -> NeuralBridgeBuilder {
    NeuralBridge::builder()
        .base_url(URL)
        .api_key("sk-test-key-0001")
        .fallback_models(["primary", "secondary", "tertiary"])
        .transport(Arc::new(mock.clone()))
        .seed(7)
}

/// `b` with the same-target-first policy on every category the defaults
/// send elsewhere first, overloads aside: for the tests of the retry
/// mechanics themselves (backoff, server waits, retry limits) and of an
/// overload's fall-back-first policy beside them.
fn retry_first(b: NeuralBridgeBuilder) -> NeuralBridgeBuilder {
    use ErrorCategory as C;
    let b = [
        C::RateLimit,
        C::ServerError,
        C::Network,
        C::MalformedResponse,
        C::StreamInterrupted,
        C::Unknown,
    ]
    .into_iter()
    .fold(b, |b, c| b.policy(c, CategoryPolicy::retry_then_fallback()));
    b.policy(
        C::Timeout,
        CategoryPolicy::retry_then_fallback().retries(Retries::UpTo(1)),
    )
}

pub(crate) fn models(mock: &MockTransport) -> Vec<String> {
    mock.requests()
        .iter()
        .map(|r| r.chat_request().unwrap().model)
        .collect()
}

pub(crate) fn calls(mock: &MockTransport, model: &str) -> usize {
    models(mock).iter().filter(|m| *m == model).count()
}

pub(crate) fn request() -> ChatRequest {
    ChatRequest::new("primary").user_message("Hello")
}

fn categories(attempts: &[Attempt]) -> Vec<Option<ErrorCategory>> {
    attempts
        .iter()
        .map(|a| a.diagnosis().map(|d| d.category))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_go_elsewhere_first_by_default() {
    fn fault(kind: usize) -> MockReply {
        match kind {
            0 => openai_error(429, "rate_limit_exceeded", "Rate limit reached")
                .header(RETRY_AFTER, "2"),
            1 => openai_error(500, "server_error", "The server had an error"),
            2 => openai_error(503, "overloaded", "The engine is currently overloaded"),
            3 => MockReply::status(StatusCode::OK, "{\"choices\": [ broken"),
            _ => MockReply::error(TransportError::new(TransportErrorKind::Reset)),
        }
    }
    for kind in 0..5 {
        let mock = scripted(move |model, n| match (model, n) {
            ("primary", 0) => fault(kind),
            (m, _) => ok(m),
        });
        let client = builder(&mock).build().unwrap();
        let start = tokio::time::Instant::now();
        let response = client.chat().create(request()).await.unwrap();
        assert_eq!(models(&mock), ["primary", "secondary"]);
        assert_eq!(decisions(response.attempts()), ["fallback", "served"]);
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "no wait before the fallback"
        );
        // The primary was set aside for this call only: the next call
        // after the server's wait (a 429's pauses the target for everyone)
        // goes there again.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let next = client.chat().create(request()).await.unwrap();
        assert_eq!(next.served_by(), "primary");
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_wait_under_the_threshold_is_waited_on_the_same_target() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => openai_error(429, "rate_limit_exceeded", "Rate limit reached")
            .header(HeaderName::from_static("retry-after-ms"), "300"),
        (m, _) => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(models(&mock), ["primary", "primary"]);
    assert_eq!(
        response.attempts()[0].decision(),
        Decision::Retry {
            after: Duration::from_millis(300)
        }
    );
    // Above the threshold it goes elsewhere.
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => openai_error(429, "rate_limit_exceeded", "Rate limit reached")
            .header(HeaderName::from_static("retry-after-ms"), "300"),
        (m, _) => ok(m),
    });
    let client = builder(&mock)
        .wait_threshold(Duration::from_millis(200))
        .build()
        .unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
}

#[tokio::test(start_paused = true)]
async fn rate_limit_with_retry_after_retries_the_same_target_after_the_wait() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => {
            openai_error(429, "rate_limit_exceeded", "Rate limit reached").header(RETRY_AFTER, "2")
        }
        (m, _) => ok(m),
    });
    let client = retry_first(builder(&mock)).build().unwrap();
    let start = tokio::time::Instant::now();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "primary");
    assert_eq!(models(&mock), ["primary", "primary"]);
    let first = &response.attempts()[0];
    assert_eq!(
        first.diagnosis().unwrap().category,
        ErrorCategory::RateLimit
    );
    assert_eq!(
        first.decision(),
        Decision::Retry {
            after: Duration::from_secs(2)
        }
    );
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert_eq!(response.attempts()[1].started_at(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_wait_beyond_the_max_wait_falls_back_at_once() {
    let mock = scripted(|model, _| match model {
        "primary" => {
            openai_error(429, "rate_limit_exceeded", "Rate limit reached").header(RETRY_AFTER, "30")
        }
        m => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    let start = tokio::time::Instant::now();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(models(&mock), ["primary", "secondary"]);
    assert_eq!(response.attempts()[0].decision(), Decision::Fallback);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn persistent_rate_limits_back_off_with_jitter_then_fall_back() {
    let mock = scripted(|model, _| match model {
        "primary" => openai_error(429, "rate_limit_exceeded", "Rate limit reached"),
        m => ok(m),
    });
    let client = retry_first(builder(&mock)).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(
        calls(&mock, "primary"),
        3,
        "one attempt and max_retries (2) retries"
    );
    let waits: Vec<Duration> = response.attempts()[..2]
        .iter()
        .map(|a| match a.decision() {
            Decision::Retry { after } => after,
            other => panic!("expected a retry, got {other:?}"),
        })
        .collect();
    // Full jitter over 500 ms then 1 s, with a 100 ms floor: never a tight loop.
    assert!(waits[0] >= Duration::from_millis(100) && waits[0] <= Duration::from_millis(500));
    assert!(waits[1] >= Duration::from_millis(100) && waits[1] <= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn categories_that_cannot_succeed_are_never_retried_on_the_same_target() {
    let cases = [
        (
            429,
            "insufficient_quota",
            "You exceeded your current quota",
            ErrorCategory::QuotaExhausted,
        ),
        (
            401,
            "invalid_api_key",
            "Incorrect API key provided",
            ErrorCategory::Auth,
        ),
        (
            403,
            "permission_denied",
            "You are not allowed to use this model",
            ErrorCategory::Permission,
        ),
        (
            404,
            "model_not_found",
            "The model `primary` does not exist",
            ErrorCategory::ModelNotFound,
        ),
    ];
    for (status, code, message, category) in cases {
        // Even a server that says "retry me" does not change that.
        let mock = scripted(move |model, _| match model {
            "primary" => openai_error(status, code, message)
                .header(HeaderName::from_static("x-should-retry"), "true"),
            m => ok(m),
        });
        let client = builder(&mock).build().unwrap();
        let response = client.chat().create(request()).await.unwrap();
        assert_eq!(models(&mock), ["primary", "secondary"], "{category}");
        assert_eq!(categories(response.attempts()), [Some(category), None]);
        assert_eq!(response.attempts()[0].decision(), Decision::Fallback);
    }
}

#[tokio::test(start_paused = true)]
async fn request_faults_fail_at_once_and_never_touch_the_breaker() {
    let cases = [
        (
            400,
            "invalid_request_error",
            "'messages' must contain at least one message",
            ErrorCategory::InvalidRequest,
        ),
        (
            400,
            "content_filter",
            "The response was filtered due to the prompt triggering content management policy",
            ErrorCategory::ContentFilter,
        ),
        (
            400,
            "context_length_exceeded",
            "This model's maximum context length is 8192 tokens",
            ErrorCategory::ContextLength,
        ),
    ];
    for (status, code, message, category) in cases {
        let mock = scripted(move |_, _| {
            openai_error(status, code, message)
                .header(HeaderName::from_static("x-should-retry"), "true")
        });
        let client = builder(&mock)
            .breaker(CircuitBreakerConfig::consecutive_failures(1))
            .build()
            .unwrap();
        let err = client.chat().create(request()).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Aborted, "{category}");
        assert_eq!(err.category(), Some(category));
        assert_eq!(models(&mock), ["primary"], "{category}");
        // The breaker ignored it: a threshold of one failure would have opened it.
        let primary = client
            .targets()
            .into_iter()
            .find(|t| t.name == "primary")
            .unwrap();
        assert_eq!(primary.breaker, CircuitState::Closed, "{category}");
    }
}

#[tokio::test(start_paused = true)]
async fn server_errors_retry_with_backoff_then_fall_back() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", _) => openai_error(500, "server_error", "The server had an error"),
        ("secondary", 0) => openai_error(503, "overloaded", "The engine is currently overloaded"),
        (m, _) => ok(m),
    });
    let client = retry_first(builder(&mock)).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    // A 500 is retried on the same target; an overload goes on at once
    // while another target is open.
    assert_eq!(
        models(&mock),
        ["primary", "primary", "primary", "secondary", "tertiary"]
    );
    assert_eq!(response.served_by(), "tertiary");
    assert_eq!(
        decisions(response.attempts()),
        ["retry", "retry", "fallback", "fallback", "served"]
    );
}

fn overloaded() -> MockReply {
    openai_error(503, "overloaded", "The engine is currently overloaded")
}

fn decisions(attempts: &[Attempt]) -> Vec<&'static str> {
    attempts.iter().map(|a| a.decision().as_str()).collect()
}

/// The retries' waits, in order.
fn retry_waits(attempts: &[Attempt]) -> Vec<Duration> {
    attempts
        .iter()
        .filter_map(|a| match a.decision() {
            Decision::Retry { after } => Some(after),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_overload_falls_back_at_once_while_another_target_is_open() {
    let mock = scripted(|model, _| match model {
        "primary" => overloaded(),
        m => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    let started = tokio::time::Instant::now();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(decisions(response.attempts()), ["fallback", "served"]);
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::Overloaded), None]
    );
    assert_eq!(models(&mock), ["primary", "secondary"], "no retry");
    // No backoff: the fallback starts when the overload is known.
    assert_eq!(response.attempts()[1].started_at(), Duration::ZERO);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn an_overloaded_target_left_for_a_fallback_is_tried_again_when_the_fallbacks_fail() {
    fn quota() -> MockReply {
        openai_error(429, "insufficient_quota", "You exceeded your current quota")
    }
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => overloaded(),
        ("primary", _) => ok("primary"),
        _ => quota(),
    });
    let client = builder(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    // The overload sent the call on at once; when every fallback turned out
    // to be out of quota, the primary got the retry it was owed.
    assert_eq!(response.served_by(), "primary");
    assert_eq!(
        models(&mock),
        ["primary", "secondary", "tertiary", "primary"]
    );
    assert_eq!(
        decisions(response.attempts()),
        ["fallback", "fallback", "fallback", "served"]
    );
    // Its retry counted: a second overload with nothing left is retried
    // only up to max_retries (2 here, one already spent).
    let mock = scripted(|model, _| match model {
        "primary" => overloaded(),
        _ => quota(),
    });
    let client = builder(&mock).build().unwrap();
    let error = client.chat().create(request()).await.unwrap_err();
    assert_eq!(error.category(), Some(ErrorCategory::Overloaded));
    assert_eq!(
        models(&mock),
        ["primary", "secondary", "tertiary", "primary", "primary"]
    );
}

#[tokio::test(start_paused = true)]
async fn an_overload_on_the_last_open_target_is_retried_with_backoff() {
    let mock = scripted(|model, n| match (model, n) {
        ("tertiary", 2..) => ok("tertiary"),
        _ => overloaded(),
    });
    let client = builder(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "tertiary");
    assert_eq!(
        models(&mock),
        ["primary", "secondary", "tertiary", "tertiary", "tertiary"]
    );
    assert_eq!(
        decisions(response.attempts()),
        ["fallback", "fallback", "retry", "retry", "served"]
    );
    let waits = retry_waits(response.attempts());
    assert!(
        waits.iter().all(|w| *w >= Duration::from_millis(100)),
        "the backoff's floor: {waits:?}"
    );
    assert!(
        response.attempts()[4].started_at() >= waits.iter().sum::<Duration>(),
        "each retry waited its backoff"
    );
}

/// A client on `[primary, secondary]` whose breakers open after three
/// consecutive failures, with `secondary`'s breaker open (it failed three
/// 500s; `primary` served that call and stays closed).
async fn with_secondary_open(mock: &MockTransport, recovery_timeout: Duration) -> NeuralBridge {
    let client = retry_first(builder(mock))
        .fallback_models(["primary", "secondary"])
        .breaker(CircuitBreakerConfig {
            recovery_timeout,
            ..CircuitBreakerConfig::consecutive_failures(3)
        })
        .build()
        .unwrap();
    let opening = client
        .chat()
        .create(ChatRequest::new("secondary").user_message("Hello"))
        .await
        .unwrap();
    assert_eq!(
        models_of(opening.attempts()),
        ["secondary", "secondary", "secondary", "primary"]
    );
    let state = |name: &str| {
        client
            .targets()
            .into_iter()
            .find(|t| t.name == name)
            .unwrap()
            .breaker
    };
    assert_eq!(state("secondary"), CircuitState::Open);
    assert_eq!(state("primary"), CircuitState::Closed);
    client
}

#[tokio::test(start_paused = true)]
async fn an_overload_is_retried_when_the_only_alternative_is_cooling_down() {
    let mock = scripted(|model, n| match (model, n) {
        ("secondary", _) => openai_error(500, "server_error", "The server had an error"),
        // Serves the call that opens secondary's breaker, then is
        // overloaded twice.
        ("primary", 1 | 2) => overloaded(),
        (m, _) => ok(m),
    });
    let client = with_secondary_open(&mock, Duration::from_secs(60)).await;
    let before = mock.calls();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "primary");
    assert_eq!(decisions(response.attempts()), ["retry", "retry", "served"]);
    assert_eq!(models(&mock)[before..], ["primary", "primary", "primary"]);
    let waits = retry_waits(response.attempts());
    assert!(
        waits.iter().all(|w| *w >= Duration::from_millis(100)),
        "{waits:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retried_overload_falls_back_once_the_alternative_reopens() {
    let mock = scripted(|model, n| match (model, n) {
        ("secondary", 0..3) => openai_error(500, "server_error", "The server had an error"),
        ("primary", 1..) => overloaded(),
        (m, _) => ok(m),
    });
    // secondary's breaker lets a probe through before the backoff's floor.
    let client = with_secondary_open(&mock, Duration::from_millis(50)).await;
    let before = mock.calls();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(
        decisions(response.attempts()),
        ["retry", "fallback", "served"]
    );
    assert_eq!(models(&mock)[before..], ["primary", "primary", "secondary"]);
}

#[tokio::test(start_paused = true)]
async fn retry_then_fallback_restores_retrying_an_overload_first() {
    let mock = scripted(|model, _| match model {
        "primary" => overloaded(),
        m => ok(m),
    });
    let client = builder(&mock)
        .policy(
            ErrorCategory::Overloaded,
            CategoryPolicy::retry_then_fallback(),
        )
        .build()
        .unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(
        models(&mock),
        ["primary", "primary", "primary", "secondary"]
    );
    assert_eq!(
        decisions(response.attempts()),
        ["retry", "retry", "fallback", "served"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_same_provider_fallback_first_policy_retries_when_the_provider_has_no_other_target() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => overloaded(),
        (m, _) => ok(m),
    });
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("openai", URL)
                .api_key("sk-openai-000000")
                .models(["primary"]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("deepseek", "https://api.deepseek.com/v1")
                .api_key("sk-deepseek-0000")
                .models(["secondary"]),
        )
        .fallback_models(["primary", "secondary"])
        .policy(
            ErrorCategory::Overloaded,
            CategoryPolicy::fallback_else_retry().same_provider(),
        )
        .transport(Arc::new(mock.clone()))
        .seed(7)
        .build()
        .unwrap();
    let response = client.chat().create(request()).await.unwrap();
    // secondary is open, but on another provider: not an alternative here.
    assert_eq!(response.served_by(), "primary");
    assert_eq!(decisions(response.attempts()), ["retry", "served"]);
}

#[tokio::test(start_paused = true)]
async fn x_should_retry_false_wins_over_the_policy() {
    let mock = scripted(|model, _| match model {
        "primary" => openai_error(500, "server_error", "The server had an error")
            .header(HeaderName::from_static("x-should-retry"), "false"),
        m => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(models(&mock), ["primary", "secondary"]);
    assert_eq!(response.attempts()[0].decision(), Decision::Fallback);
}

#[tokio::test(start_paused = true)]
async fn max_retries_zero_never_retries() {
    let mock = scripted(|model, _| match model {
        "primary" => openai_error(500, "server_error", "The server had an error"),
        m => ok(m),
    });
    let client = builder(&mock).max_retries(0).build().unwrap();
    client.chat().create(request()).await.unwrap();
    assert_eq!(models(&mock), ["primary", "secondary"]);
}

#[tokio::test(start_paused = true)]
async fn an_empty_retry_budget_turns_retries_into_fallbacks() {
    let mock = scripted(|model, _| match model {
        "primary" => openai_error(500, "server_error", "The server had an error"),
        m => ok(m),
    });
    let client = builder(&mock)
        .retry_budget(RetryBudgetConfig {
            min_retries_per_second: 0,
            retry_ratio: 0.0,
            ..RetryBudgetConfig::default()
        })
        .build()
        .unwrap();
    client.chat().create(request()).await.unwrap();
    assert_eq!(models(&mock), ["primary", "secondary"]);
}

/// The model `primary` on an endpoint with two keys, then `secondary`.
fn key_pool(mock: &MockTransport) -> NeuralBridgeBuilder {
    NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("pool", URL)
                .api_keys(["sk-pool-key-aaaa", "sk-pool-key-bbbb"])
                .models(["primary"]),
        )
        .fallback_models(["primary", "secondary"])
        .transport(Arc::new(mock.clone()))
}

#[tokio::test(start_paused = true)]
async fn auth_rotates_through_the_key_pool_before_falling_back() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => openai_error(401, "invalid_api_key", "Incorrect API key provided"),
        (m, _) => ok(m),
    });
    let client = key_pool(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "primary");
    let keys: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["Bearer sk-pool-key-aaaa", "Bearer sk-pool-key-bbbb"]);
    assert_eq!(response.attempts()[0].decision(), Decision::RotateKey);
    assert_eq!(response.attempts()[0].key_index(), Some(0));
    assert_eq!(response.attempts()[1].key_index(), Some(1));
    // The rotation sticks: the next call starts with the good key.
    client.chat().create(request()).await.unwrap();
    assert_eq!(
        mock.requests()[2].headers["authorization"],
        "Bearer sk-pool-key-bbbb"
    );
}

#[tokio::test(start_paused = true)]
async fn a_connection_our_hosts_policy_refuses_rotates_no_key() {
    // Even under a network policy that rotates keys, a refusal by this
    // host's firewall moves no caller off a working key: it falls back.
    let mock = scripted(|model, _| match model {
        "primary" => MockReply::error(TransportError::new(TransportErrorKind::LocalPolicy)),
        m => ok(m),
    });
    let client = key_pool(&mock)
        .policy(
            ErrorCategory::Network,
            CategoryPolicy::fallback().rotate_key(true),
        )
        .build()
        .unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(response.attempts()[0].decision(), Decision::Fallback);
    assert_eq!(calls(&mock, "primary"), 1);
    let keys: Vec<String> = mock
        .requests()
        .iter()
        .filter(|r| r.chat_request().unwrap().model == "primary")
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["Bearer sk-pool-key-aaaa"]);
}

#[tokio::test(start_paused = true)]
async fn when_every_key_fails_the_next_model_gets_one_try_with_the_last_key() {
    let mock = MockTransport::from_fn(|r| {
        if r.uri.host() == Some("pool.example") {
            openai_error(401, "invalid_api_key", "Incorrect API key provided")
        } else {
            ok(&r.chat_request().unwrap().model)
        }
    });
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("pool", "https://pool.example/v1")
                .api_keys(["sk-pool-key-aaaa", "sk-pool-key-bbbb"])
                .models(["a", "b"]),
        )
        .endpoint(EndpointConfig::openai_compatible("other", URL).models(["c"]))
        .fallback_models(["a", "b", "c"])
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let response = client
        .chat()
        .create(ChatRequest::new("a").user_message("Hi"))
        .await
        .unwrap();
    assert_eq!(response.served_by(), "c");
    assert_eq!(response.endpoint(), "other");
    // a with both keys, b once with the key in use (no second rotation in
    // one call), then the other endpoint.
    assert_eq!(models(&mock), ["a", "a", "b", "c"]);
}

#[tokio::test(start_paused = true)]
async fn context_length_falls_back_only_to_larger_windows() {
    let mock = scripted(|model, _| match model {
        "primary" | "secondary" => openai_error(
            400,
            "context_length_exceeded",
            "This model's maximum context length is 8192 tokens",
        ),
        m => ok(m),
    });
    let client = builder(&mock)
        .context_window("primary", 8_192)
        .context_window("secondary", 4_096)
        .context_window("tertiary", 128_000)
        .build()
        .unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "tertiary");
    assert_eq!(models(&mock), ["primary", "tertiary"]);

    // Without windows there is no telling where it fits: fail with the diagnosis.
    let mock = scripted(|_, _| {
        openai_error(
            400,
            "context_length_exceeded",
            "This model's maximum context length is 8192 tokens",
        )
    });
    let client = builder(&mock).build().unwrap();
    let err = client.chat().create(request()).await.unwrap_err();
    assert!(err.is_aborted());
    assert_eq!(err.category(), Some(ErrorCategory::ContextLength));
    assert_eq!(models(&mock), ["primary"]);

    // No larger window anywhere: aborted after the one attempt.
    let mock = scripted(|_, _| {
        openai_error(
            400,
            "context_length_exceeded",
            "This model's maximum context length is 8192 tokens",
        )
    });
    let client = builder(&mock)
        .context_window("primary", 8_192)
        .build()
        .unwrap();
    let err = client.chat().create(request()).await.unwrap_err();
    assert!(err.is_aborted());
    assert_eq!(models(&mock), ["primary"]);
}

#[tokio::test(start_paused = true)]
async fn policies_can_be_overridden_per_category() {
    let filtered = |model: &str, _: usize| match model {
        "primary" => openai_error(
            400,
            "content_filter",
            "The response was filtered due to the prompt triggering content management policy",
        ),
        m => ok(m),
    };
    let mock = scripted(filtered);
    let client = builder(&mock)
        .policy(ErrorCategory::ContentFilter, CategoryPolicy::fallback())
        .build()
        .unwrap();
    assert_eq!(
        client.chat().create(request()).await.unwrap().served_by(),
        "secondary"
    );

    // Never across providers: the fallbacks live on another provider's endpoint.
    let mock = scripted(|model, _| match model {
        "primary" => openai_error(
            400,
            "context_length_exceeded",
            "This model's maximum context length is 8192 tokens",
        ),
        m => ok(m),
    });
    let client = NeuralBridge::builder()
        .base_url(URL)
        .endpoint(
            EndpointConfig::openai_compatible("deepseek", "https://api.deepseek.com/v1")
                .models(["big"]),
        )
        .fallback_models(["primary", "big"])
        .context_window("primary", 8_192)
        .context_window("big", 64_000)
        .policy(
            ErrorCategory::ContextLength,
            CategoryPolicy::fallback_to(FallbackRule::LargerContext).same_provider(),
        )
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let err = client.chat().create(request()).await.unwrap_err();
    assert!(err.is_aborted());
    assert_eq!(models(&mock), ["primary"]);

    // Fail on rate limits instead of retrying.
    let mock = scripted(|_, _| openai_error(429, "rate_limit_exceeded", "Rate limit reached"));
    let client = builder(&mock)
        .policy(ErrorCategory::RateLimit, CategoryPolicy::fail())
        .build()
        .unwrap();
    let err = client.chat().create(request()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Exhausted);
    assert_eq!(models(&mock), ["primary"]);
}

#[tokio::test(start_paused = true)]
async fn malformed_successes_are_retried_then_fallen_back() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => {
            MockReply::status(StatusCode::OK, r#"{"id":"x","choices":[{"index":0,"mess"#)
        }
        ("primary", 1) => {
            MockReply::status(StatusCode::OK, "<html><body>502 Bad Gateway</body></html>")
        }
        ("primary", 2) => MockReply::json(StatusCode::OK, &json!({"id": "x", "choices": []})),
        (m, _) => ok(m),
    });
    let client = retry_first(builder(&mock)).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(
        categories(response.attempts()),
        [
            Some(ErrorCategory::MalformedResponse),
            Some(ErrorCategory::MalformedResponse),
            Some(ErrorCategory::MalformedResponse),
            None
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_validator_rejection_is_a_malformed_response() {
    let mock = scripted(|model, _| match model {
        "primary" => MockReply::chat(model, "not json at all"),
        m => MockReply::chat(m, r#"{"ok": true}"#),
    });
    let client = builder(&mock)
        .max_retries(0)
        .validate(|c| {
            serde_json::from_str::<serde_json::Value>(c.text().unwrap_or_default())
                .map(drop)
                .map_err(|e| format!("the answer is not JSON: {e}"))
        })
        .build()
        .unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    let d = response.attempts()[0].diagnosis().unwrap();
    assert_eq!(d.category, ErrorCategory::MalformedResponse);
}

/// A response whose body never arrives: a hung provider.
fn hang() -> MockReply {
    let (sender, body) = ResponseBody::channel();
    // Keep the sender alive forever: the body neither ends nor fails.
    std::mem::forget(sender);
    MockReply::response(Response::new(body))
}

/// A completion whose body arrives `after` the response head.
fn slow(model: &str, after: Duration) -> MockReply {
    let (sender, body) = ResponseBody::channel();
    let answer = json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "slow"}, "finish_reason": "stop"}]
    })
    .to_string();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        sender.send(answer);
        sender.finish();
    });
    MockReply::response(Response::new(body)).header(http::header::CONTENT_TYPE, "application/json")
}

#[tokio::test(start_paused = true)]
async fn a_hung_completion_is_hedged_and_the_loser_cancelled() {
    // The primary answers five calls, then hangs.
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 5..) => hang(),
        (m, _) => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    for _ in 0..5 {
        assert_eq!(
            client.chat().create(request()).await.unwrap().served_by(),
            "primary"
        );
    }
    let start = tokio::time::Instant::now();
    let response = client.chat().create(request()).await.unwrap();
    // Its answers were instant: the hedge went at the 250 ms floor.
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(models(&mock)[5..], ["primary", "secondary"]);
    let attempts = response.attempts();
    assert_eq!(decisions(attempts), ["cancelled", "served"]);
    assert!(!attempts[0].is_hedge() && attempts[1].is_hedge());
    assert!(attempts[0].diagnosis().is_none() && !attempts[0].is_success());
    // A cancelled loser is not a failure of its target: no breaker count.
    let primary = client
        .targets()
        .into_iter()
        .find(|t| t.name == "primary")
        .unwrap();
    assert_eq!(primary.breaker, CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn without_a_measured_success_a_hang_is_hedged_at_the_initial_delay_and_off_means_off() {
    let mock = scripted(|model, _| match model {
        "primary" => hang(),
        m => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    let start = tokio::time::Instant::now();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(start.elapsed(), Hedging::default().initial_delay);

    // Hedging off: a hung completion holds the call until its deadline.
    let client = builder(&mock)
        .hedging(Hedging::off())
        .deadline(Duration::from_secs(90))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let err = client.chat().create(request()).await.unwrap_err();
    assert!(err.is_deadline(), "{err}");
    assert_eq!(start.elapsed(), Duration::from_secs(90));
}

#[tokio::test(start_paused = true)]
async fn a_slow_healthy_completion_is_neither_timed_out_nor_hedged() {
    // Every answer takes 60 s: no tier cuts a completion short, and no
    // hedge fires before the answer, neither before the target's first
    // success (the initial delay is two minutes) nor after it taught the
    // target its own delay.
    let mock = scripted(|model, _| slow(model, Duration::from_secs(60)));
    let client = builder(&mock).build().unwrap();
    for _ in 0..3 {
        let start = tokio::time::Instant::now();
        let response = client.chat().create(request()).await.unwrap();
        assert_eq!(response.served_by(), "primary");
        assert_eq!(response.attempts().len(), 1);
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }
}

#[tokio::test(start_paused = true)]
async fn the_timeout_ladder_comes_from_each_endpoints_provider_profile() {
    let attempt_latencies = |err: &Error| -> Vec<(String, u64)> {
        err.attempts()
            .iter()
            .map(|a| (a.model().to_owned(), a.latency().as_secs()))
            .collect()
    };
    // The ladder bounds a stream's first token (a completion's answer has
    // only the call's deadline). The default ladder: DashScope's standard
    // tier (8 s), then patient (25 s), which repeats.
    let mock = scripted(|_, _| hang());
    let client = NeuralBridge::builder()
        .base_url("https://dashscope.aliyuncs.com/compatible-mode/v1")
        .api_key("sk-test-key-0001")
        .fallback_models(["qwen-max", "qwen-plus", "qwen-turbo"])
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let err = client
        .chat()
        .stream(ChatRequest::new("qwen-max").user_message("Hi"))
        .await
        .unwrap_err();
    assert_eq!(
        attempt_latencies(&err),
        [
            ("qwen-max".to_owned(), 8),
            ("qwen-plus".to_owned(), 25),
            ("qwen-turbo".to_owned(), 25)
        ]
    );
    assert_eq!(err.kind(), &ErrorKind::Exhausted);

    // An endpoint's own profile, and a ladder from fast-fail up.
    let mut profile = nb_diagnose::get_profile(Provider::OpenAi).clone();
    profile.fast_fail = Duration::from_secs(1);
    profile.standard = Duration::from_secs(3);
    profile.patient = Duration::from_secs(7);
    let mock = scripted(|_, _| hang());
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("tuned", URL)
                .models(["primary", "secondary", "tertiary"])
                .profile(profile),
        )
        .fallback_models(["primary", "secondary", "tertiary"])
        .timeout_ladder([Tier::FastFail, Tier::Standard, Tier::Patient])
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let err = client.chat().stream(request()).await.unwrap_err();
    assert_eq!(
        attempt_latencies(&err),
        [
            ("primary".to_owned(), 1),
            ("secondary".to_owned(), 3),
            ("tertiary".to_owned(), 7)
        ]
    );
    assert_eq!(models(&mock), ["primary", "secondary", "tertiary"]);
}

#[tokio::test(start_paused = true)]
async fn a_server_timeout_is_retried_at_most_once() {
    let mock = scripted(|model, _| match model {
        "primary" => MockReply::status(StatusCode::GATEWAY_TIMEOUT, "upstream timed out"),
        m => ok(m),
    });
    let client = retry_first(builder(&mock)).max_retries(5).build().unwrap();
    client.chat().create(request()).await.unwrap();
    assert_eq!(models(&mock), ["primary", "primary", "secondary"]);
}

#[tokio::test(start_paused = true)]
async fn network_failures_are_retried() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => MockReply::error(TransportError::new(TransportErrorKind::Reset)),
        (m, _) => ok(m),
    });
    let client = retry_first(builder(&mock)).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "primary");
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::Network), None]
    );
}

fn out_of_descriptors() -> MockReply {
    MockReply::error(TransportError::new(TransportErrorKind::LocalResource))
}

#[tokio::test(start_paused = true)]
async fn running_out_of_local_resources_never_counts_against_the_provider() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0..30) => out_of_descriptors(),
        (m, _) => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    // More than enough failures in a row to open the default breaker.
    for _ in 0..30 {
        let err = client.chat().create(request()).await.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::LocalResource { .. }),
            "{err}"
        );
        assert_eq!(err.label(), "local_resource");
        assert!(err.to_string().contains("local resource"), "{err}");
    }
    // The other targets would hit the same limit: none was tried.
    assert_eq!(calls(&mock, "secondary"), 0);
    let report = client.health_status();
    let primary = report.models.iter().find(|m| m.model == "primary").unwrap();
    assert_eq!(primary.reliability.calls, 0, "nothing was recorded");
    assert_eq!(client.targets()[0].breaker, CircuitState::Closed);
    // Once descriptors are free again the chosen model serves at once.
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "primary");

    // Streams open through the same path.
    let mock = scripted(|_, _| out_of_descriptors());
    let client = builder(&mock).build().unwrap();
    let err = client.chat().stream(request()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::LocalResource { .. }),
        "{err}"
    );
    assert_eq!(client.targets()[0].breaker, CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_connection_our_hosts_policy_refuses_falls_back_and_blames_no_one() {
    // A firewall or network policy that refuses one destination (EPERM on
    // connect) may allow another: the call falls back at once, without a
    // retry the same policy would refuse, and nothing counts against the
    // refused target.
    let mock = scripted(|model, _| match model {
        "primary" => MockReply::error(TransportError::new(TransportErrorKind::LocalPolicy)),
        m => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    for _ in 0..30 {
        let response = client.chat().create(request()).await.unwrap();
        assert_eq!(response.served_by(), "secondary");
        let first = &response.attempts()[0];
        let d = first.diagnosis().unwrap();
        assert_eq!(d.category, ErrorCategory::Network);
        assert!(d.sub_category.ends_with("local_policy"), "{d:?}");
    }
    assert_eq!(calls(&mock, "primary"), 30, "one attempt a call, no retry");
    let report = client.health_status();
    let primary = report.models.iter().find(|m| m.model == "primary").unwrap();
    assert_eq!(primary.reliability.calls, 0, "nothing was recorded");
    assert_eq!(client.targets()[0].breaker, CircuitState::Closed);

    // Where the policy refuses every target, each is tried once, none is
    // retried after a backoff, and the error says whose refusal it was.
    let mock =
        scripted(|_, _| MockReply::error(TransportError::new(TransportErrorKind::LocalPolicy)));
    let client = builder(&mock).build().unwrap();
    let err = client.chat().create(request()).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Exhausted), "{err}");
    for model in ["primary", "secondary", "tertiary"] {
        assert_eq!(calls(&mock, model), 1, "{model}");
    }
    assert!(
        err.attempts().iter().all(|a| a
            .diagnosis()
            .is_some_and(|d| d.is_local_policy() && !d.retryable)),
        "{err}"
    );
    assert!(err.to_string().contains("firewall"), "{err}");
    assert!(
        client
            .targets()
            .iter()
            .all(|t| t.breaker == CircuitState::Closed)
    );
    // A stream opens through the same path.
    let err = client.chat().stream(request()).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Exhausted), "{err}");
    assert_eq!(calls(&mock, "primary"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_hedge_our_host_cannot_send_leaves_the_first_attempt_running() {
    let mock = scripted(|model, _| match model {
        "primary" => slow(model, Duration::from_secs(150)),
        _ => out_of_descriptors(),
    });
    let client = builder(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "primary");
    // The hedge went at the initial delay and failed locally; the primary's
    // answer still came back, and the failed hedge blamed no one.
    assert_eq!(models(&mock), ["primary", "secondary"]);
    assert_eq!(client.targets()[1].breaker, CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_bounds_the_whole_call() {
    let mock = scripted(|_, _| hang());
    let client = builder(&mock)
        .deadline(Duration::from_secs(3))
        .timeout_ladder([Tier::Fixed(Duration::from_secs(2))])
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let err = client.chat().stream(request()).await.unwrap_err();
    assert!(err.is_deadline(), "{err}");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    // The second attempt got only what was left of the deadline.
    assert_eq!(models(&mock), ["primary", "secondary"]);
    assert_eq!(err.attempts()[1].latency(), Duration::from_secs(1));
    assert_eq!(err.category(), Some(ErrorCategory::Timeout));
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_does_not_fit_the_deadline_falls_back() {
    let mock = scripted(|model, _| match model {
        "primary" => {
            openai_error(429, "rate_limit_exceeded", "Rate limit reached").header(RETRY_AFTER, "5")
        }
        m => ok(m),
    });
    let client = builder(&mock)
        .deadline(Duration::from_secs(4))
        .build()
        .unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(models(&mock), ["primary", "secondary"]);
}

#[tokio::test(start_paused = true)]
async fn when_everything_cools_down_calls_fail_fast_with_the_reopening_time() {
    let mock = scripted(|model, _| down(model));
    let client = builder(&mock)
        .max_retries(0)
        .breaker(CircuitBreakerConfig {
            recovery_timeout: Duration::from_secs(30),
            ..CircuitBreakerConfig::consecutive_failures(1)
        })
        .build()
        .unwrap();
    let err = client.chat().create(request()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Exhausted);
    assert_eq!(mock.calls(), 3);

    tokio::time::advance(Duration::from_secs(10)).await;
    let err = client.chat().create(request()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::CoolingDown {
            retry_in: Duration::from_secs(20)
        }
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
    assert!(err.attempts().is_empty());
    assert_eq!(mock.calls(), 3, "no call while every breaker is open");
    let open: Vec<Option<Duration>> = client.targets().iter().map(|t| t.reopens_in).collect();
    assert_eq!(open, [Some(Duration::from_secs(20)); 3]);
}

#[tokio::test(start_paused = true)]
async fn a_call_waits_for_a_refill_within_a_second_instead_of_failing() {
    let mock = scripted(|model, _| ok(model));
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("limited", URL)
                .models(["primary"])
                .rate_limits(RateLimits {
                    requests_per_minute: Some(120),
                    request_burst: Some(1),
                    ..RateLimits::default()
                }),
        )
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(
            client.chat().create(request()).await.unwrap().served_by(),
            "primary"
        );
    }
    // A slot every 500 ms: the second and third calls waited for theirs.
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    // A refill further away than the wait allows is the caller's to wait for.
    let slow = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("limited", URL)
                .models(["primary"])
                .rate_limits(RateLimits {
                    requests_per_minute: Some(30),
                    request_burst: Some(1),
                    ..RateLimits::default()
                }),
        )
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    assert!(slow.chat().create(request()).await.is_ok());
    let err = slow.chat().create(request()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::CoolingDown {
            retry_in: Duration::from_secs(2)
        }
    );
}

#[tokio::test(start_paused = true)]
async fn client_side_rate_limits_skip_a_target_until_it_refills() {
    let mock = scripted(|model, _| ok(model));
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("limited", URL)
                .models(["primary", "secondary"])
                .rate_limits(RateLimits {
                    requests_per_minute: Some(1),
                    request_burst: Some(1),
                    ..RateLimits::default()
                }),
        )
        .fallback_models(["primary", "secondary"])
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    assert_eq!(
        client.chat().create(request()).await.unwrap().served_by(),
        "primary"
    );
    assert_eq!(
        client.chat().create(request()).await.unwrap().served_by(),
        "secondary"
    );
    let err = client.chat().create(request()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::CoolingDown {
            retry_in: Duration::from_secs(60)
        }
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(
        client.chat().create(request()).await.unwrap().served_by(),
        "primary"
    );
}

#[tokio::test(start_paused = true)]
async fn provider_rate_limit_headers_pace_the_target() {
    let mock = scripted(|model, _| {
        ok(model)
            .header(
                HeaderName::from_static("x-ratelimit-remaining-requests"),
                "0",
            )
            .header(HeaderName::from_static("x-ratelimit-reset-requests"), "20s")
    });
    let client = builder(&mock).build().unwrap();
    assert_eq!(
        client.chat().create(request()).await.unwrap().served_by(),
        "primary"
    );
    // primary said "no requests left for 20 s": the next call goes elsewhere.
    assert_eq!(
        client.chat().create(request()).await.unwrap().served_by(),
        "secondary"
    );
}

#[tokio::test(start_paused = true)]
async fn degradation_serves_the_last_good_answer_then_a_static_one() {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let down = Arc::clone(&failing);
    let mock = MockTransport::from_fn(move |r| {
        if down.load(std::sync::atomic::Ordering::Relaxed) {
            openai_error(503, "overloaded", "The engine is currently overloaded")
        } else {
            ok(&r.chat_request().unwrap().model)
        }
    });
    let client = builder(&mock)
        .max_retries(0)
        .degrade(Degradation::LastGoodOrStatic {
            max_age: Duration::from_secs(60),
            answer: "Sorry, try again later.".to_owned(),
        })
        .build()
        .unwrap();
    let fresh = client.chat().create(request()).await.unwrap();
    assert!(fresh.degradation().is_none());
    failing.store(true, std::sync::atomic::Ordering::Relaxed);
    tokio::time::advance(Duration::from_secs(5)).await;

    let cached = client.chat().create(request()).await.unwrap();
    let degraded = cached.degradation().expect("degraded");
    assert_eq!(
        degraded.source(),
        DegradationSource::LastGood {
            age: Duration::from_secs(5)
        }
    );
    assert_eq!(degraded.error().kind(), &ErrorKind::Exhausted);
    assert_eq!(cached.served_by(), "primary");
    assert_eq!(cached.protocol(), Some(EndpointKind::OpenAiCompatible));
    assert_eq!(cached.text(), fresh.text());
    assert!(cached.attempts().iter().all(|a| !a.is_success()));

    // Another request has no cached answer: the static one.
    let other = client
        .chat()
        .create(ChatRequest::new("primary").user_message("Something else"))
        .await
        .unwrap();
    assert_eq!(other.served_by(), STATIC_MODEL);
    assert_eq!(other.protocol(), None);
    assert_eq!(other.text(), Some("Sorry, try again later."));
    assert_eq!(
        other.degradation().unwrap().source(),
        DegradationSource::Static
    );

    // Too old: static too.
    tokio::time::advance(Duration::from_secs(120)).await;
    let old = client.chat().create(request()).await.unwrap();
    assert_eq!(old.served_by(), STATIC_MODEL);
}

#[tokio::test(start_paused = true)]
async fn streams_degrade_too_and_share_last_good_answers_with_completions() {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let down = Arc::clone(&failing);
    let mock = MockTransport::from_fn(move |r| {
        let sent = r.chat_request().unwrap();
        let m = sent.model.as_str();
        if down.load(std::sync::atomic::Ordering::Relaxed) {
            openai_error(503, "overloaded", "The engine is currently overloaded")
        } else if sent.stream == Some(true) {
            sse(&[
                &chunk(m, "streamed "),
                &chunk(m, "answer"),
                &finish(m),
                &usage(m),
                "[DONE]",
            ])
        } else {
            ok(m)
        }
    });
    let client = builder(&mock)
        .max_retries(0)
        .degrade(Degradation::LastGoodOrStatic {
            max_age: Duration::from_secs(60),
            answer: "Sorry, try again later.".to_owned(),
        })
        .build()
        .unwrap();
    let asked = || ChatRequest::new("primary").user_message("Hello");
    let other = || ChatRequest::new("primary").user_message("Streamed");
    // A completion and a stream, each cached while everything is up.
    client.chat().create(asked()).await.unwrap();
    let (text, summary, _) = drain(client.chat().stream(other()).await.unwrap()).await;
    assert_eq!(text, "streamed answer");
    assert!(summary.unwrap().degradation().is_none());
    failing.store(true, std::sync::atomic::Ordering::Relaxed);
    tokio::time::advance(Duration::from_secs(5)).await;
    let before = mock.calls();

    // The stream of the completed request replays its answer, marked.
    let (text, summary, events) = drain(client.chat().stream(asked()).await.unwrap()).await;
    let summary = summary.unwrap();
    assert_eq!(text, "answer from primary");
    assert_eq!(events.len(), 1, "one chunk: {events:?}");
    assert_eq!(summary.served_by(), "primary");
    let degraded = summary.degradation().expect("marked degraded");
    assert_eq!(
        degraded.source(),
        DegradationSource::LastGood {
            age: Duration::from_secs(5)
        }
    );
    assert_eq!(degraded.error().kind(), &ErrorKind::Exhausted);
    assert_eq!(
        categories(summary.attempts()),
        [Some(ErrorCategory::Overloaded); 3],
        "every candidate was tried first"
    );
    assert_eq!(mock.calls(), before + 3);

    // The completion of the streamed request replays the streamed answer.
    let replayed = client.chat().create(other()).await.unwrap();
    assert_eq!(replayed.text(), Some("streamed answer"));
    assert_eq!(replayed.usage().unwrap().total_tokens, 5);
    assert!(replayed.degradation().is_some());

    // Nothing cached: the static answer.
    let fresh = ChatRequest::new("primary").user_message("Never asked");
    let (text, summary, _) = drain(client.chat().stream(fresh).await.unwrap()).await;
    let summary = summary.unwrap();
    assert_eq!(text, "Sorry, try again later.");
    assert_eq!(summary.served_by(), STATIC_MODEL);
    assert_eq!(summary.protocol(), None);
    assert_eq!(
        summary.degradation().unwrap().source(),
        DegradationSource::Static
    );
}

#[tokio::test(start_paused = true)]
async fn degradation_never_hides_a_wrong_request() {
    let mock = scripted(|_, _| {
        openai_error(
            400,
            "invalid_request_error",
            "'messages' must contain at least one message",
        )
    });
    let client = builder(&mock)
        .degrade(Degradation::StaticAnswer("static".to_owned()))
        .build()
        .unwrap();
    assert!(
        client
            .chat()
            .create(request())
            .await
            .unwrap_err()
            .is_aborted()
    );
    assert!(
        client
            .chat()
            .stream(request())
            .await
            .unwrap_err()
            .is_aborted()
    );
}

#[tokio::test(start_paused = true)]
async fn chains_cross_endpoints_and_pinned_models_go_where_they_say() {
    let mock = scripted(|model, _| match model {
        "gpt-4o" => openai_error(503, "overloaded", "The engine is currently overloaded"),
        m => ok(m),
    });
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("openai", URL)
                .api_key("sk-openai-000000")
                .models(["gpt-4o"]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("deepseek", "https://api.deepseek.com/v1")
                .api_key("sk-deepseek-0000")
                .models(["deepseek-chat"]),
        )
        .endpoint(EndpointConfig::openai_compatible(
            "local",
            "http://127.0.0.1:8000/v1",
        ))
        .fallback_models(["gpt-4o", "deepseek-chat", "llama@local"])
        .max_retries(0)
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let response = client
        .chat()
        .create(ChatRequest::new("gpt-4o").user_message("Hi"))
        .await
        .unwrap();
    assert_eq!(
        (response.served_by(), response.endpoint()),
        ("deepseek-chat", "deepseek")
    );
    let requests = mock.requests();
    assert_eq!(
        requests[0].uri,
        "https://api.openai.com/v1/chat/completions"
    );
    assert_eq!(
        requests[0].headers["authorization"],
        "Bearer sk-openai-000000"
    );
    assert_eq!(
        requests[1].uri,
        "https://api.deepseek.com/v1/chat/completions"
    );
    assert_eq!(
        requests[1].headers["authorization"],
        "Bearer sk-deepseek-0000"
    );

    let pinned = client
        .chat()
        .create(ChatRequest::new("llama@local").user_message("Hi"))
        .await
        .unwrap();
    assert_eq!((pinned.served_by(), pinned.endpoint()), ("llama", "local"));
    let last = mock.requests().pop().unwrap();
    assert_eq!(last.uri, "http://127.0.0.1:8000/v1/chat/completions");
    assert!(last.headers.get("authorization").is_none());
    assert_eq!(
        last.chat_request().unwrap().model,
        "llama",
        "the wire carries the bare model"
    );

    let err = client
        .chat()
        .create(ChatRequest::new("x@nowhere").user_message("Hi"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Config { .. }));
}

#[tokio::test(start_paused = true)]
async fn explicit_chains_replace_the_fallbacks() {
    let mock = scripted(|model, _| match model {
        "b" => openai_error(503, "overloaded", "The engine is currently overloaded"),
        m => ok(m),
    });
    let client = builder(&mock)
        .chain("fast", ["b", "c"])
        .max_retries(0)
        .build()
        .unwrap();
    let response = client
        .chat()
        .create(ChatRequest::new("fast").user_message("Hi"))
        .await
        .unwrap();
    assert_eq!(response.served_by(), "c");
    assert_eq!(models(&mock), ["b", "c"]);
}

#[tokio::test(start_paused = true)]
async fn the_request_is_serialized_once_per_model() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => openai_error(500, "server_error", "The server had an error"),
        (m, _) => ok(m),
    });
    let client = retry_first(builder(&mock)).build().unwrap();
    client
        .chat()
        .create(request().temperature(0.5).stream(true))
        .await
        .unwrap();
    let requests = mock.requests();
    assert_eq!(requests[0].body, requests[1].body, "the same bytes, reused");
    let sent = requests[0].chat_request().unwrap();
    assert_eq!(sent.temperature, Some(0.5));
    assert_eq!(sent.stream, None, "create() is never streamed");
}

#[tokio::test(start_paused = true)]
async fn errors_and_verbose_lines_never_carry_the_key() {
    let mock = scripted(|_, _| {
        openai_error(
            401,
            "invalid_api_key",
            "Incorrect API key provided: sk-test-key-0001",
        )
    });
    let client = builder(&mock).build().unwrap();
    let err = client.chat().create(request()).await.unwrap_err();
    let printed = format!("{err} {err:?}");
    for a in err.attempts() {
        let line = crate::observe::verbose_line(a, a.model());
        assert!(!line.contains("sk-test-key-0001"), "{line}");
    }
    assert!(!printed.contains("sk-test-key-0001"), "{printed}");
    assert!(printed.contains("auth"), "{printed}");
    assert!(!format!("{client:?}").contains("sk-test-key-0001"));
}

#[tokio::test(start_paused = true)]
async fn recent_failures_alone_never_make_the_predictor_skip_a_target() {
    let mock = scripted(|model, _| match model {
        "primary" => {
            openai_error(429, "rate_limit_exceeded", "Rate limit reached").header(RETRY_AFTER, "30")
        }
        m => ok(m),
    });
    let client = builder(&mock)
        .fallback_models(["primary", "secondary"])
        .build()
        .unwrap();
    // A rate limit pauses the primary for its wait; after each wait it is
    // tried again, however often it failed: only a learned weekly pattern
    // makes the predictor skip a target, recent trouble is the breaker's.
    for round in 1..=20 {
        tokio::time::advance(Duration::from_secs(31)).await;
        client.chat().create(request()).await.unwrap();
        assert_eq!(calls(&mock, "primary"), round);
    }
}

#[tokio::test(start_paused = true)]
async fn a_learned_weekly_pattern_is_skipped_in_its_hours_with_probes_and_ends() {
    use std::sync::atomic::{AtomicBool, Ordering};
    const HOUR: Duration = Duration::from_secs(3600);
    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
    let bad = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&bad);
    let mock = scripted(move |model, _| match model {
        "primary" if flag.load(Ordering::Relaxed) => {
            openai_error(429, "rate_limit_exceeded", "Rate limit reached").header(RETRY_AFTER, "30")
        }
        m => ok(m),
    });
    let client = builder(&mock)
        .fallback_models(["primary", "secondary"])
        .chain("solo", ["primary"])
        .build()
        .unwrap();
    let t0 = tokio::time::Instant::now();
    let at = |offset: Duration| tokio::time::sleep_until(t0 + offset);
    // Three weeks in which the primary is rate-limited for the same three
    // hours, and healthy for three hours later that day.
    for week in 0..3 {
        let start = WEEK * week;
        bad.store(true, Ordering::Relaxed);
        for i in 0..(3 * 3600 / 31) {
            at(start + Duration::from_secs(31 * i)).await;
            client.chat().create(request()).await.unwrap();
        }
        bad.store(false, Ordering::Relaxed);
        for i in 0..(3 * 3600 / 31) {
            at(start + HOUR * 5 + Duration::from_secs(31 * i)).await;
            client.chat().create(request()).await.unwrap();
        }
    }
    // Week four, an hour into the bad hours, the primary still failing: the
    // predictor skips it, but one call per probe interval still goes there.
    bad.store(true, Ordering::Relaxed);
    at(WEEK * 3 + HOUR).await;
    let before = calls(&mock, "primary");
    let mut tried_primary = 0;
    for _ in 0..60 {
        let response = client.chat().create(request()).await.unwrap();
        assert_eq!(response.served_by(), "secondary");
        tried_primary += usize::from(response.attempts().len() > 1);
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    let probes = calls(&mock, "primary") - before;
    assert!(
        (1..=13).contains(&probes),
        "skipped, with a probe every 5 s at most: {probes}"
    );
    assert_eq!(probes, tried_primary);
    // A chain of the skipped model alone still calls it: never refused on
    // a forecast alone.
    let solo = client
        .chat()
        .create(ChatRequest::new("solo").user_message("Hello"))
        .await;
    assert!(solo.is_err());
    assert_eq!(calls(&mock, "primary"), before + probes + 1);
    // (Its 429 paused the primary for 30 s.)
    tokio::time::advance(Duration::from_secs(31)).await;
    // Healthy again in the bad hour: two successful probes in the hour talk
    // the forecast down and the primary serves again.
    bad.store(false, Ordering::Relaxed);
    let mut back = None;
    for second in 0..60 {
        let response = client.chat().create(request()).await.unwrap();
        if response.served_by() == "primary" && back.is_none() {
            back = Some(second);
        }
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    let back = back.expect("the primary returns within the hour");
    assert!(back <= 15, "back after {back} s");
    // After the bad hours the primary serves at once.
    bad.store(false, Ordering::Relaxed);
    at(WEEK * 3 + HOUR * 5).await;
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "primary");
    assert_eq!(response.attempts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn heal_runs_any_operation_under_the_cascade() {
    let mock = MockTransport::new();
    let client = builder(&mock).build().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let healed = client
        .heal("primary", move |model: Arc<str>| {
            let log = Arc::clone(&log);
            async move {
                log.lock().unwrap().push(model.to_string());
                match &*model {
                    "primary" => Err("billing hard limit reached".to_owned()),
                    m => Ok(format!("done by {m}")),
                }
            }
        })
        .await
        .unwrap();
    assert_eq!(healed.value(), "done by secondary");
    assert_eq!(healed.served_by(), "secondary");
    assert_eq!(*seen.lock().unwrap(), ["primary", "secondary"]);
    assert_eq!(
        healed.attempts()[0].diagnosis().unwrap().category,
        ErrorCategory::QuotaExhausted
    );
    assert_eq!(mock.calls(), 0, "heal never touches the transport");
}

#[tokio::test(start_paused = true)]
async fn the_cascade_does_not_act_on_a_category_guessed_from_words() {
    // An engine with its words models on guesses a spent quota from these
    // words, which would set the model aside; the client turns guesses off
    // even in an engine given to it, so they stay unknown, and an unknown
    // failure is tried elsewhere without blaming the model for long.
    let text = "your organization ran out of prepaid credit balance";
    let guessing = nb_diagnose::DiagnosisEngine::new().guess_from_words(true);
    assert!(
        guessing
            .diagnose(&nb_diagnose::Failure::message(text))
            .is_guess()
    );
    let client = builder(&MockTransport::new())
        .diagnosis_engine(guessing.clone())
        .build()
        .unwrap();
    for _ in 0..2 {
        let healed = client
            .heal("primary", |model: Arc<str>| async move {
                match &*model {
                    "primary" => Err(text),
                    _ => Ok(model),
                }
            })
            .await
            .unwrap();
        assert_eq!(&**healed.value(), "secondary");
        let first = healed.attempts()[0].diagnosis().unwrap();
        assert_eq!(first.category, ErrorCategory::Unknown);
        assert!(!first.is_guess());
        // The second call still starts on the primary: nothing set it aside.
        assert_eq!(healed.attempts()[0].model(), "primary");
    }
    // Nor does a stream's stop, which the engine alone may guess a broken
    // chunk from a client's words: the client reads it as the cut it saw.
    let stop = nb_diagnose::Failure::stream_interrupted(
        "AttributeError: 'NoneType' object has no attribute 'delta'",
    );
    assert!(guessing.diagnose(&stop).is_guess());
    let read = client.inner.diagnose(&stop);
    assert_eq!(
        (read.category, read.is_guess()),
        (ErrorCategory::StreamInterrupted, false)
    );
}

#[tokio::test(start_paused = true)]
async fn heal_with_classifies_rich_errors_and_times_out_hung_operations() {
    let mock = MockTransport::new();
    let client = builder(&mock)
        .timeout_ladder([Tier::Fixed(Duration::from_secs(1))])
        .build()
        .unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&calls);
    let healed = client
        .heal_with(
            "primary",
            move |model: Arc<str>| {
                let log = Arc::clone(&log);
                async move {
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(model.to_string());
                        log.len()
                    };
                    match n {
                        1 => Err((429_u16, "2")),
                        2 => std::future::pending().await,
                        _ => Ok(model),
                    }
                }
            },
            |&(status, wait): &(u16, &str)| {
                FailureReport::http(status, r#"{"error":{"code":"rate_limit_exceeded"}}"#)
                    .header("retry-after", wait)
            },
        )
        .await
        .unwrap();
    // 429 on primary → elsewhere first: secondary → hangs → timeout →
    // never again → tertiary.
    assert_eq!(*calls.lock().unwrap(), ["primary", "secondary", "tertiary"]);
    assert_eq!(&**healed.value(), "tertiary");
    let categories = categories(healed.attempts());
    assert_eq!(
        categories,
        [
            Some(ErrorCategory::RateLimit),
            Some(ErrorCategory::Timeout),
            None
        ]
    );

    let err = client
        .heal("primary", |_model: Arc<str>| async {
            Err::<(), _>("invalid api key")
        })
        .await
        .unwrap_err();
    assert_eq!(err.last_error(), Some(&"invalid api key"));
    assert_eq!(err.error().category(), Some(ErrorCategory::Auth));
    assert!(err.to_string().contains("auth"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_healed_operation_that_cannot_run_here_blames_no_target() {
    let client = builder(&MockTransport::new()).build().unwrap();
    let tried = Arc::new(Mutex::new(Vec::new()));
    // More than enough failures in a row to open the default breaker.
    for _ in 0..30 {
        let log = Arc::clone(&tried);
        let err = client
            .heal("primary", move |model: Arc<str>| {
                log.lock().unwrap().push(model.to_string());
                async { Err::<(), _>("ModuleNotFoundError: No module named 'openai'") }
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err.error().kind(), ErrorKind::Config { .. }),
            "{err}"
        );
        assert_eq!(err.error().category(), Some(ErrorCategory::Unknown));
        assert!(err.to_string().contains("cannot run"), "{err}");
    }
    // Every other target would fail the same way: none was tried, and
    // nothing was counted against the one that was.
    assert!(tried.lock().unwrap().iter().all(|m| m == "primary"));
    assert_eq!(tried.lock().unwrap().len(), 30);
    let report = client.health_status();
    let primary = report.models.iter().find(|m| m.model == "primary").unwrap();
    assert_eq!(primary.reliability.calls, 0, "nothing was recorded");
    assert_eq!(client.targets()[0].breaker, CircuitState::Closed);
    // Out of descriptors here: the same limit meets every target, and none
    // of them is to blame.
    let err = client
        .heal("primary", |_model: Arc<str>| async {
            Err::<(), _>("OSError: [Errno 24] Too many open files")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err.error().kind(), ErrorKind::LocalResource { .. }),
        "{err}"
    );
    let report = client.health_status();
    let primary = report.models.iter().find(|m| m.model == "primary").unwrap();
    assert_eq!(primary.reliability.calls, 0, "nothing was recorded");
    // A provider's own failure still falls back.
    let healed = client
        .heal("primary", |model: Arc<str>| async move {
            match &*model {
                "primary" => Err("503 Service Unavailable"),
                _ => Ok(model),
            }
        })
        .await
        .unwrap();
    assert_eq!(&**healed.value(), "secondary");
}

#[tokio::test(start_paused = true)]
async fn heal_feeds_reported_rate_limit_headers_to_the_limiter() {
    let client = builder(&MockTransport::new())
        .max_retries(0)
        .build()
        .unwrap();
    let op = |model: Arc<str>| async move {
        match &*model {
            "primary" => Err(500_u16),
            _ => Ok(model),
        }
    };
    let classify = |status: &u16| {
        FailureReport::http(
            *status,
            r#"{"error":{"message":"The server had an error"}}"#,
        )
        .header("X-RateLimit-Remaining-Requests", "0")
        .header("X-RateLimit-Reset-Requests", "20s")
    };
    let first = client.heal_with("primary", op, classify).await.unwrap();
    assert_eq!(models_of(first.attempts()), ["primary", "secondary"]);
    // primary said "no requests left for 20 s": the next call goes straight on.
    let second = client.heal_with("primary", op, classify).await.unwrap();
    assert_eq!(models_of(second.attempts()), ["secondary"]);
    tokio::time::advance(Duration::from_secs(20)).await;
    let third = client.heal_with("primary", op, classify).await.unwrap();
    assert_eq!(models_of(third.attempts())[0], "primary");
}

fn models_of(attempts: &[Attempt]) -> Vec<&str> {
    attempts.iter().map(Attempt::model).collect()
}

#[test]
fn builder_errors_say_what_is_wrong() {
    let err = NeuralBridge::builder()
        .api_key_env("NB_CLIENT_TEST_SURELY_UNSET")
        .base_url(URL)
        .transport(Arc::new(MockTransport::new()))
        .build()
        .unwrap_err();
    assert!(matches!(&err, BuildError::MissingEnv { var } if var == "NB_CLIENT_TEST_SURELY_UNSET"));
    let no_endpoint = NeuralBridge::builder().build().unwrap_err();
    assert!(matches!(no_endpoint, BuildError::NoEndpoint));
    let bad_url = NeuralBridge::builder()
        .base_url("ftp://x")
        .build()
        .unwrap_err();
    assert!(matches!(bad_url, BuildError::InvalidEndpoint { .. }));
    let unknown = NeuralBridge::builder()
        .base_url(URL)
        .fallback_models(["a@nowhere"])
        .transport(Arc::new(MockTransport::new()))
        .build()
        .unwrap_err();
    assert!(matches!(&unknown, BuildError::InvalidTarget { target, .. } if target == "a@nowhere"));
    let empty = NeuralBridge::builder()
        .base_url(URL)
        .chain("alias", Vec::<String>::new())
        .transport(Arc::new(MockTransport::new()))
        .build()
        .unwrap_err();
    assert!(matches!(empty, BuildError::EmptyChain { .. }));
    let dup = NeuralBridge::builder()
        .base_url(URL)
        .endpoint(EndpointConfig::openai_compatible("default", URL))
        .transport(Arc::new(MockTransport::new()))
        .build()
        .unwrap_err();
    assert!(matches!(dup, BuildError::DuplicateEndpoint { .. }));
    let stray_key = NeuralBridge::builder()
        .api_key("sk-x")
        .endpoint(EndpointConfig::openai_compatible("a", URL))
        .build()
        .unwrap_err();
    assert!(matches!(stray_key, BuildError::Invalid { .. }));
    assert!(
        !format!("{:?}", NeuralBridge::builder().api_key("sk-secret-99")).contains("sk-secret-99")
    );
}

#[test]
fn debug_output_never_shows_a_key_or_a_header_value() {
    let secrets = ["sk-default-7777", "sk-pool-8888", "hdr-secret-9999"];
    let builder = NeuralBridge::builder()
        .base_url(URL)
        .api_key(secrets[0])
        .endpoint(
            EndpointConfig::openai_compatible("gateway", "https://gw.example/v1")
                .api_keys([secrets[1]])
                .header("x-api-key", secrets[2])
                .models(["gw-model"]),
        )
        .transport(Arc::new(MockTransport::new()));
    let before = format!("{builder:?}");
    let client = builder.build().unwrap();
    let after = format!("{client:?} {:?}", client.targets());
    for printed in [&before, &after] {
        for secret in secrets {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
    }
    assert!(before.contains("x-api-key"), "header names stay: {before}");
}

#[tokio::test(start_paused = true)]
async fn azure_endpoints_send_each_model_to_its_deployment() {
    let mock = scripted(|model, _| ok(model));
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::azure("azure", "https://my-res.openai.azure.com", "2024-10-21")
                .api_key("azure-key-000")
                .models(["gpt-4o-prod"]),
        )
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    client
        .chat()
        .create(ChatRequest::new("gpt-4o-prod").user_message("Hi"))
        .await
        .unwrap();
    let r = &mock.requests()[0];
    assert_eq!(
        r.uri,
        "https://my-res.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(r.headers["api-key"], "azure-key-000");
}

#[test]
fn futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let client = NeuralBridge::builder()
        .base_url(URL)
        .transport(Arc::new(MockTransport::new()))
        .build()
        .unwrap();
    send(&client.chat().create(request()));
    send(&client.chat().stream(request()));
    send(&client.heal("m", |_m: Arc<str>| async { Ok::<_, String>(()) }));
}

// ---- streams -------------------------------------------------------------

pub(crate) fn chunk(model: &str, content: &str) -> String {
    json!({"model": model, "choices": [{"index": 0, "delta": {"content": content}}]}).to_string()
}

pub(crate) fn finish(model: &str) -> String {
    json!({"model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        .to_string()
}

fn usage(model: &str) -> String {
    json!({"model": model, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}).to_string()
}

pub(crate) fn sse(events: &[&str]) -> MockReply {
    MockReply::sse(events.iter().map(|e| Ok(*e)))
}

fn cut_after(events: &[&str]) -> MockReply {
    MockReply::sse(
        events
            .iter()
            .map(|e| Ok(*e))
            .chain([Err(TransportError::new(
                TransportErrorKind::StreamInterrupted,
            ))]),
    )
}

/// Reads a stream to its end: the text, the summary or the error, and the events.
pub(crate) async fn drain(
    mut stream: ChatStream,
) -> (String, Result<StreamSummary, Error>, Vec<String>) {
    let mut text = String::new();
    let mut events = Vec::new();
    loop {
        match stream.next().await {
            Some(Ok(StreamEvent::Chunk(c))) => {
                if let Some(t) = c.content() {
                    text.push_str(t);
                    events.push(format!("chunk:{t}"));
                }
            }
            Some(Ok(StreamEvent::Restarted { model, .. })) => {
                text.clear();
                events.push(format!("restarted:{model}"));
            }
            Some(Ok(StreamEvent::Done(summary))) => {
                assert!(stream.next().await.is_none());
                return (text, Ok(summary), events);
            }
            Some(Err(e)) => {
                assert!(stream.next().await.is_none());
                return (text, Err(e), events);
            }
            None => panic!("a stream ends with Done or an error"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_fails_over_transparently_before_content() {
    let mock = scripted(|model, _| match model {
        "primary" => cut_after(&[]),
        m => sse(&[
            &chunk(m, "Hel"),
            &chunk(m, "lo"),
            &finish(m),
            &usage(m),
            "[DONE]",
        ]),
    });
    let client = builder(&mock).max_retries(0).build().unwrap();
    let stream = client.chat().stream(request()).await.unwrap();
    let (text, summary, _) = drain(stream).await;
    let summary = summary.unwrap();
    assert_eq!(text, "Hello");
    assert_eq!(summary.served_by(), "secondary");
    assert_eq!(summary.usage().unwrap().total_tokens, 5);
    assert_eq!(
        summary.finish_reason(),
        Some(&nb_transport::FinishReason::Stop)
    );
    assert_eq!(
        categories(summary.attempts()),
        [Some(ErrorCategory::StreamInterrupted), None]
    );
    let sent = mock.requests()[0].chat_request().unwrap();
    assert_eq!(sent.stream, Some(true));
    assert_eq!(sent.stream_options.unwrap().include_usage, Some(true));
}

#[tokio::test(start_paused = true)]
async fn after_content_the_error_policy_reports_the_partial_text() {
    let mock = scripted(|model, _| match model {
        "primary" => cut_after(&[&chunk(model, "Hel")]),
        m => sse(&[&chunk(m, "other"), &finish(m), "[DONE]"]),
    });
    let client = builder(&mock).build().unwrap();
    let stream = client.chat().stream(request()).await.unwrap();
    let (text, result, _) = drain(stream).await;
    assert_eq!(text, "Hel");
    let err = result.unwrap_err();
    assert_eq!(err.partial(), Some("Hel"));
    assert_eq!(err.category(), Some(ErrorCategory::StreamInterrupted));
    assert_eq!(
        models(&mock),
        ["primary"],
        "never a silent switch after content"
    );
    assert_eq!(err.attempts()[0].decision(), Decision::Stop);
}

/// A stream cut after "Hel" under the continue policy, continued with "lo"
/// by the next target.
async fn cut_then_continued() -> (MockTransport, ChatStream) {
    let mock = scripted(|model, _| match model {
        "primary" => cut_after(&[&chunk(model, "Hel")]),
        m => sse(&[&chunk(m, "lo"), &finish(m), "[DONE]"]),
    });
    let client = builder(&mock)
        .stream_policy(StreamPolicy::Continue)
        .build()
        .unwrap();
    let stream = client.chat().stream(request()).await.unwrap();
    (mock, stream)
}

#[tokio::test(start_paused = true)]
async fn the_continue_policy_prefills_the_partial_answer_on_the_next_target() {
    let (mock, stream) = cut_then_continued().await;
    let (text, summary, events) = drain(stream).await;
    let summary = summary.unwrap();
    assert_eq!(text, "Hello");
    assert_eq!(events, ["chunk:Hel", "chunk:lo"]);
    assert!(!summary.restarted());
    assert_eq!(summary.served_by(), "secondary");
    let continued = mock.requests()[1].chat_request().unwrap();
    assert!(continued.ends_with_assistant());
    assert_eq!(continued.messages.last().unwrap().text(), Some("Hel"));
    assert!(summary.attempts()[1].prefill());
}

#[tokio::test(start_paused = true)]
async fn the_continue_policy_never_carries_a_filtered_answer_elsewhere() {
    let filtered = json!({"error": {
        "message": "The response was filtered due to the prompt triggering content management policy",
        "type": "content_filter", "code": "content_filter"
    }})
    .to_string();
    let mock = scripted(move |model, _| match model {
        "primary" => sse(&[&chunk(model, "Hel"), &filtered]),
        m => sse(&[&chunk(m, "lo"), &finish(m), "[DONE]"]),
    });
    let client = builder(&mock)
        .stream_policy(StreamPolicy::Continue)
        .build()
        .unwrap();
    let (text, result, _) = drain(client.chat().stream(request()).await.unwrap()).await;
    assert_eq!(text, "Hel");
    let err = result.unwrap_err();
    assert_eq!(err.category(), Some(ErrorCategory::ContentFilter));
    assert_eq!(err.partial(), Some("Hel"));
    assert_eq!(err.attempts()[0].decision(), Decision::Stop);
    assert_eq!(
        models(&mock),
        ["primary"],
        "the content filter's policy is to fail"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_prefill_restarts_cleanly_and_says_so() {
    let mock = MockTransport::from_fn(|r| {
        let sent = r.chat_request().unwrap();
        match sent.model.as_str() {
            "primary" => cut_after(&[&chunk("primary", "Hel")]),
            _ if sent.ends_with_assistant() => openai_error(
                400,
                "invalid_request_error",
                "assistant prefill is not supported",
            ),
            m => sse(&[
                &chunk(m, "Hello"),
                &chunk(m, " again"),
                &finish(m),
                "[DONE]",
            ]),
        }
    });
    let client = builder(&mock)
        .stream_policy(StreamPolicy::Continue)
        .build()
        .unwrap();
    let stream = client.chat().stream(request()).await.unwrap();
    let (text, summary, events) = drain(stream).await;
    let summary = summary.unwrap();
    assert_eq!(
        events,
        [
            "chunk:Hel",
            "restarted:secondary",
            "chunk:Hello",
            "chunk: again"
        ]
    );
    assert_eq!(text, "Hello again");
    assert!(summary.restarted());
    let decisions: Vec<&str> = summary
        .attempts()
        .iter()
        .map(|a| a.decision().as_str())
        .collect();
    assert_eq!(decisions, ["fallback", "drop_prefill", "served"]);
    // The rejection did not count against secondary.
    let secondary = client
        .targets()
        .into_iter()
        .find(|t| t.name == "secondary")
        .unwrap();
    assert_eq!(secondary.breaker, CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_failed_continuation_reports_the_interruption_not_the_prefill_rejection() {
    let mock = scripted(|model, _| match model {
        "primary" => cut_after(&[&chunk(model, "Hel")]),
        _ => openai_error(
            400,
            "invalid_request_error",
            "assistant prefill is not supported",
        ),
    });
    let client = builder(&mock)
        .stream_policy(StreamPolicy::Continue)
        .build()
        .unwrap();
    let stream = client.chat().stream(request()).await.unwrap();
    let (_, result, _) = drain(stream).await;
    let err = result.unwrap_err();
    assert_eq!(err.partial(), Some("Hel"));
    assert_eq!(err.category(), Some(ErrorCategory::StreamInterrupted));
    assert!(err.attempts().len() >= 3);
}

/// A stream cut after "Hel" under the continue policy, whose continuation
/// on every other target hangs (10 s first-token limit).
async fn cut_with_a_hung_continuation() -> (MockTransport, ChatStream) {
    let mock = scripted(|model, _| match model {
        "primary" => cut_after(&[&chunk(model, "Hel")]),
        _ => hang(),
    });
    let client = builder(&mock)
        .stream_policy(StreamPolicy::Continue)
        .timeout_ladder([Tier::Fixed(Duration::from_secs(10))])
        .build()
        .unwrap();
    let stream = client.chat().stream(request()).await.unwrap();
    (mock, stream)
}

#[tokio::test(start_paused = true)]
async fn a_continuation_cancelled_half_way_ends_with_the_interruption_not_silence() {
    let (mock, mut stream) = cut_with_a_hung_continuation().await;
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::Chunk(_)))
    ));
    // The caller gives up on the next event while the continuation waits
    // for secondary's first token ...
    let waited = tokio::time::timeout(Duration::from_secs(1), stream.next()).await;
    assert!(waited.is_err(), "still waiting for the continuation");
    // ... and asks again: the answer cannot go on, and says so.
    let err = match stream.next().await {
        Some(Err(err)) => err,
        other => panic!("expected the interruption, got {other:?}"),
    };
    assert_eq!(err.partial(), Some("Hel"));
    assert_eq!(err.category(), Some(ErrorCategory::StreamInterrupted));
    assert!(stream.next().await.is_none());
    assert_eq!(models(&mock), ["primary", "secondary"]);
}

#[tokio::test(start_paused = true)]
async fn endpoints_without_prefill_restart_from_scratch() {
    let mock = scripted(|model, _| match model {
        "primary" => cut_after(&[&chunk(model, "Hel")]),
        m => sse(&[&chunk(m, "Fresh"), &finish(m), "[DONE]"]),
    });
    let client = NeuralBridge::builder()
        .base_url(URL)
        .endpoint(
            EndpointConfig::openai_compatible("noprefill", "https://other.example/v1")
                .models(["secondary"])
                .supports_prefill(false),
        )
        .fallback_models(["primary", "secondary"])
        .stream_policy(StreamPolicy::Continue)
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let stream = client.chat().stream(request()).await.unwrap();
    let (text, summary, events) = drain(stream).await;
    assert_eq!(events, ["chunk:Hel", "restarted:secondary", "chunk:Fresh"]);
    assert_eq!(text, "Fresh");
    assert!(summary.unwrap().restarted());
    assert!(
        !mock.requests()[1]
            .chat_request()
            .unwrap()
            .ends_with_assistant()
    );
}

#[tokio::test(start_paused = true)]
async fn a_stream_without_an_answer_is_a_malformed_response_and_fails_over() {
    let role =
        json!({"model": "primary", "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
            .to_string();
    for empty in [
        vec!["[DONE]".to_owned()],
        vec![role, usage("primary"), "[DONE]".to_owned()],
    ] {
        let mock = scripted(move |model, _| match model {
            "primary" => sse(&empty.iter().map(String::as_str).collect::<Vec<_>>()),
            m => sse(&[&chunk(m, "ok"), &finish(m), "[DONE]"]),
        });
        let client = builder(&mock).max_retries(0).build().unwrap();
        let (text, summary, _) = drain(client.chat().stream(request()).await.unwrap()).await;
        let summary = summary.unwrap();
        assert_eq!(text, "ok");
        assert_eq!(summary.served_by(), "secondary");
        assert_eq!(
            categories(summary.attempts()),
            [Some(ErrorCategory::MalformedResponse), None]
        );
        assert_eq!(models(&mock), ["primary", "secondary"]);
    }
}

#[tokio::test(start_paused = true)]
async fn malformed_chunks_are_skipped_and_counted() {
    let mock = scripted(|m, _| {
        sse(&[
            &chunk(m, "a"),
            "{\"choices\":[{\"delta\":",
            &chunk(m, "b"),
            &finish(m),
            "[DONE]",
        ])
    });
    let client = builder(&mock).build().unwrap();
    let (text, summary, _) = drain(client.chat().stream(request()).await.unwrap()).await;
    assert_eq!(text, "ab");
    assert_eq!(summary.unwrap().malformed_chunks_skipped(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_finished_stream_without_done_completes_promptly() {
    let (sender, body) = ResponseBody::channel();
    let open = Arc::new(Mutex::new(Some(body)));
    let mock = MockTransport::from_fn(move |_| {
        let body = open
            .lock()
            .unwrap()
            .take()
            .unwrap_or_else(ResponseBody::empty);
        MockReply::response(Response::new(body))
    });
    let client = builder(&mock).build().unwrap();
    sender.send(Bytes::from(format!("data: {}\n\n", chunk("primary", "Hi"))));
    let mut stream = client.chat().stream(request()).await.unwrap();
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::Chunk(_)))
    ));
    sender.send(Bytes::from(format!("data: {}\n\n", finish("primary"))));
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::Chunk(_)))
    ));
    // No usage, no [DONE], the socket left open: done after the 1 s grace,
    // not the 30 s idle timeout.
    let start = tokio::time::Instant::now();
    let Some(Ok(StreamEvent::Done(summary))) = stream.next().await else {
        panic!("expected Done");
    };
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(summary.served_by(), "primary");
    drop(sender);
}

#[tokio::test(start_paused = true)]
async fn a_stall_after_content_is_an_interruption_at_the_idle_timeout() {
    let (sender, body) = ResponseBody::channel();
    let open = Arc::new(Mutex::new(Some(body)));
    let mock = MockTransport::from_fn(move |_| {
        let body = open
            .lock()
            .unwrap()
            .take()
            .unwrap_or_else(ResponseBody::empty);
        MockReply::response(Response::new(body))
    });
    let client = builder(&mock)
        .idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    sender.send(Bytes::from(format!("data: {}\n\n", chunk("primary", "Hi"))));
    let stream = client.chat().stream(request()).await.unwrap();
    let start = tokio::time::Instant::now();
    let (text, result, _) = drain(stream).await;
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(text, "Hi");
    let err = result.unwrap_err();
    assert_eq!(err.category(), Some(ErrorCategory::StreamInterrupted));
    drop(sender);
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_ends_without_finish_or_done_is_interrupted() {
    let mock = scripted(|m, _| sse(&[&chunk(m, "Hal")]));
    let client = builder(&mock).build().unwrap();
    let (text, result, _) = drain(client.chat().stream(request()).await.unwrap()).await;
    assert_eq!(text, "Hal");
    assert_eq!(result.unwrap_err().partial(), Some("Hal"));
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_token_fails_over_at_the_ladder_timeout() {
    let (sender, body) = ResponseBody::channel();
    let slow = Arc::new(Mutex::new(Some(body)));
    let mock = scripted(move |model, _| match model {
        "primary" => MockReply::response(Response::new(
            slow.lock()
                .unwrap()
                .take()
                .unwrap_or_else(ResponseBody::empty),
        )),
        m => sse(&[&chunk(m, "fast"), &finish(m), "[DONE]"]),
    });
    let client = builder(&mock)
        .timeout_ladder([Tier::Fixed(Duration::from_secs(3))])
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let stream = client.chat().stream(request()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    let (text, summary, _) = drain(stream).await;
    assert_eq!(text, "fast");
    let summary = summary.unwrap();
    assert_eq!(
        categories(summary.attempts()),
        [Some(ErrorCategory::Timeout), None]
    );
    assert_eq!(models(&mock), ["primary", "secondary"]);
    drop(sender);
}

#[tokio::test(start_paused = true)]
async fn an_in_stream_provider_error_before_content_is_diagnosed() {
    let mock = scripted(|model, _| match model {
        "primary" => {
            sse(&[r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#])
        }
        m => sse(&[&chunk(m, "ok"), &finish(m), "[DONE]"]),
    });
    let client = builder(&mock).build().unwrap();
    let (_, summary, _) = drain(client.chat().stream(request()).await.unwrap()).await;
    let summary = summary.unwrap();
    assert_eq!(
        categories(summary.attempts()),
        [Some(ErrorCategory::Overloaded), None]
    );
    // An overload falls back at once in a stream too.
    assert_eq!(decisions(summary.attempts()), ["fallback", "served"]);
    assert_eq!(models(&mock), ["primary", "secondary"]);
}

#[tokio::test(start_paused = true)]
async fn a_long_answer_is_not_a_slow_call_for_the_breaker() {
    use nb_breaker::{FailureRatePolicy, SlidingWindow, TripPolicy};
    let mock = scripted(|m, _| sse(&[&chunk(m, "a"), &chunk(m, "b"), &finish(m), "[DONE]"]));
    let client = builder(&mock)
        .breaker(CircuitBreakerConfig {
            policy: TripPolicy::FailureRate(FailureRatePolicy {
                window: SlidingWindow::Count(10),
                minimum_calls: 2,
                failure_rate_threshold: 50.0,
                slow_call_duration: Some(Duration::from_secs(5)),
                slow_call_rate_threshold: 100.0,
                consecutive_failures: None,
                confidence_z: None,
            }),
            ..CircuitBreakerConfig::default()
        })
        .build()
        .unwrap();
    for _ in 0..4 {
        let mut stream = client.chat().stream(request()).await.unwrap();
        assert!(matches!(
            stream.next().await,
            Some(Ok(StreamEvent::Chunk(_)))
        ));
        // The caller takes its time over a long answer: 10 s until the end.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (_, summary, _) = drain(stream).await;
        let summary = summary.unwrap();
        assert_eq!(summary.served_by(), "primary");
        assert_eq!(summary.attempts()[0].latency(), Duration::from_secs(10));
    }
    // The first content came at once every time: the target is not slow.
    assert_eq!(client.targets()[0].breaker, CircuitState::Closed);
    assert_eq!(calls(&mock, "secondary"), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_stream_counts_neither_success_nor_failure() {
    let mock = scripted(|m, _| sse(&[&chunk(m, "a"), &chunk(m, "b"), &finish(m), "[DONE]"]));
    let client = builder(&mock)
        .breaker(CircuitBreakerConfig::consecutive_failures(1))
        .build()
        .unwrap();
    let mut stream = client.chat().stream(request()).await.unwrap();
    assert!(stream.next().await.is_some());
    drop(stream);
    let report = client.health_status();
    let primary = report.models.iter().find(|m| m.model == "primary").unwrap();
    assert_eq!(primary.reliability.calls, 0);
    assert_eq!(client.targets()[0].breaker, CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn learned_state_is_saved_to_the_store() {
    let store = MemoryStore::default();
    let mock = scripted(|model, _| ok(model));
    let client = builder(&mock).state_store(store.clone()).build().unwrap();
    client.chat().create(request()).await.unwrap();
    assert!(client.save_state().unwrap());
    let saved = store.load("neuralbridge").unwrap().expect("state saved");
    assert!(
        saved.models().any(|m| m == "primary"),
        "{:?}",
        saved.models().collect::<Vec<_>>()
    );
    // Without a store there is nothing to save.
    assert!(!builder(&mock).build().unwrap().save_state().unwrap());
}

#[tokio::test(start_paused = true)]
async fn every_strategy_serves_the_chain() {
    for strategy in [
        LoadBalancingStrategy::Fallback,
        LoadBalancingStrategy::Predictive,
        LoadBalancingStrategy::RoundRobin,
        LoadBalancingStrategy::PowerOfTwoChoices,
    ] {
        let mock = scripted(|model, _| ok(model));
        let client = builder(&mock).strategy(strategy).build().unwrap();
        let mut served = std::collections::BTreeSet::new();
        for _ in 0..6 {
            let response = client.chat().create(request()).await.unwrap();
            assert_eq!(response.attempts().len(), 1, "{strategy:?}: a healthy pick");
            served.insert(response.served_by().to_owned());
        }
        assert_eq!(mock.calls(), 6, "{strategy:?}: one request per call");
        match strategy {
            LoadBalancingStrategy::Fallback => {
                assert_eq!(Vec::from_iter(&served), ["primary"], "the primary only");
            }
            LoadBalancingStrategy::RoundRobin => assert_eq!(served.len(), 3, "{served:?}"),
            LoadBalancingStrategy::PowerOfTwoChoices => {
                assert!(served.len() > 1, "two random choices spread: {served:?}");
            }
            _ => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn unbounded_settings_do_not_overflow() {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 0) => openai_error(500, "server_error", "The server had an error"),
        (m, _) => ok(m),
    });
    let client = retry_first(builder(&mock))
        .deadline(Duration::MAX)
        .idle_timeout(Duration::MAX)
        .timeout_ladder([Tier::Fixed(Duration::MAX)])
        .backoff(Backoff::constant(Duration::from_millis(10)).with_max_wait(Duration::MAX))
        .build()
        .unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "primary");
    assert_eq!(models(&mock), ["primary", "primary"]);
}

/// Polls `stream` once as a `futures_core::Stream`.
async fn poll_stream(stream: &mut ChatStream) -> Option<Result<StreamEvent, Error>> {
    use futures_core::Stream;
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

#[tokio::test(start_paused = true)]
async fn a_chat_stream_is_a_futures_stream_with_the_same_events() {
    let (_mock, mut stream) = cut_then_continued().await;
    let mut text = String::new();
    let summary = loop {
        match poll_stream(&mut stream).await {
            Some(Ok(StreamEvent::Chunk(c))) => {
                text.extend(c.choices.iter().filter_map(|c| c.delta.content.clone()));
                // Between polls the state is back: the accessors see it.
                assert_eq!(stream.text(), text);
            }
            Some(Ok(StreamEvent::Done(summary))) => break summary,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(text, "Hello");
    assert_eq!(summary.served_by(), "secondary");
    assert!(poll_stream(&mut stream).await.is_none());
    assert!(stream.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_pending_stream_poll_is_resumed_by_next_not_lost() {
    let (_mock, mut stream) = cut_with_a_hung_continuation().await;
    assert!(matches!(
        poll_stream(&mut stream).await,
        Some(Ok(StreamEvent::Chunk(_)))
    ));
    let started = tokio::time::Instant::now();
    // A poll that is still pending when the caller looks away ...
    let waited = tokio::time::timeout(Duration::from_secs(1), poll_stream(&mut stream)).await;
    assert!(waited.is_err(), "still waiting for the continuation");
    assert_eq!(stream.text(), "", "the state is in flight");
    // ... is finished by the next `next()`: the continuation got its time.
    let err = match stream.next().await {
        Some(Err(err)) => err,
        other => panic!("expected the interruption, got {other:?}"),
    };
    assert!(started.elapsed() >= Duration::from_secs(10));
    assert_eq!(err.partial(), Some("Hel"));
    assert!(stream.next().await.is_none());
}

/// `MockTransport` declaring that it enforces the deadlines it is given
/// (it does not: it lets the test see whether the client adds a timer).
#[derive(Debug)]
struct DeclaresDeadlines(MockTransport);

impl crate::transport::Transport for DeclaresDeadlines {
    fn send(
        &self,
        request: http::Request<Bytes>,
        options: nb_transport::RequestOptions,
    ) -> nb_transport::BoxFuture<'_, Result<Response<ResponseBody>, TransportError>> {
        self.0.send(request, options)
    }

    fn enforces_deadlines(&self) -> bool {
        true
    }
}

#[tokio::test(start_paused = true)]
async fn a_transport_that_declares_its_deadlines_gets_no_second_timer() {
    let mock = scripted(|_, _| hang());
    let client = builder(&mock)
        .transport(Arc::new(DeclaresDeadlines(mock.clone())))
        .hedging(Hedging::off())
        .deadline(Duration::from_secs(90))
        .build()
        .unwrap();
    // The client leaves the deadline to the transport (which here ignores
    // it): nothing of the client's ends the call.
    let waited =
        tokio::time::timeout(Duration::from_secs(600), client.chat().create(request())).await;
    assert!(waited.is_err(), "the client added a timer of its own");
    assert_eq!(models(&mock), ["primary"]);
}

/// A client whose primary streams answer at once 20 times, then stall after
/// their response head (the provider accepted the request and is slow to
/// the first token); the stalled call's attempts.
async fn a_stall_after_the_head(hedging: Hedging) -> (Vec<Attempt>, Duration) {
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 20..) => hang(),
        (m, _) => sse(&[&chunk(m, "Hi"), &finish(m), "[DONE]"]),
    });
    let client = builder(&mock).hedging(hedging).build().unwrap();
    for _ in 0..20 {
        let (_, summary, _) = drain(client.chat().stream(request()).await.unwrap()).await;
        assert_eq!(summary.unwrap().served_by(), "primary");
    }
    let start = tokio::time::Instant::now();
    let attempts = match client.chat().stream(request()).await {
        Ok(stream) => drain(stream).await.1.unwrap().attempts().to_vec(),
        Err(e) => e.attempts().to_vec(),
    };
    (attempts, start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_hedge_of_a_stream_already_generating_needs_the_smaller_budget() {
    // Twenty calls earned two generating hedges (10 %): this one is hedged.
    let (attempts, took) = a_stall_after_the_head(Hedging::default()).await;
    assert!(attempts.iter().any(Attempt::is_hedge), "{attempts:?}");
    assert_eq!(took, Duration::from_millis(250));
    // With no share for them, it is not: it waits for its first-token
    // deadline and falls back.
    let (attempts, took) = a_stall_after_the_head(Hedging {
        max_generating_share: 0.0,
        ..Hedging::default()
    })
    .await;
    assert!(!attempts.iter().any(Attempt::is_hedge), "{attempts:?}");
    assert_eq!(
        attempts[0].diagnosis().map(|d| d.category),
        Some(ErrorCategory::Timeout)
    );
    assert!(took > Duration::from_secs(1), "{took:?}");
    // A completion's head comes with its answer: a late one is never
    // "generating", and is hedged from the main budget.
    let mock = scripted(|model, n| match (model, n) {
        ("primary", 3..) => hang(),
        (m, _) => ok(m),
    });
    let client = builder(&mock)
        .hedging(Hedging {
            max_generating_share: 0.0,
            ..Hedging::default()
        })
        .build()
        .unwrap();
    for _ in 0..3 {
        client.chat().create(request()).await.unwrap();
    }
    let response = client.chat().create(request()).await.unwrap();
    assert!(response.attempts()[1].is_hedge());
}

/// The breaker a target gets: its `model@endpoint`'s, else its model's,
/// else its endpoint's, else the client's.
#[tokio::test(start_paused = true)]
async fn breakers_can_be_set_per_endpoint_per_model_and_per_target() {
    let mock = scripted(|model, _| down(model));
    let one = || CircuitBreakerConfig::consecutive_failures(1);
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("openai", URL)
                .api_key("sk-openai-000000")
                .models(["primary", "secondary"])
                .breaker(one()),
        )
        .endpoint(
            EndpointConfig::openai_compatible("deepseek", "https://api.deepseek.com/v1")
                .api_key("sk-deepseek-0000")
                .models(["tertiary", "fourth"]),
        )
        .fallback_models(["primary", "secondary", "tertiary", "fourth"])
        .breaker(CircuitBreakerConfig::consecutive_failures(5))
        .breaker_for("secondary", CircuitBreakerConfig::consecutive_failures(5))
        .breaker_for("fourth@deepseek", one())
        .max_retries(0)
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let _ = client.chat().create(request()).await.unwrap_err();
    let state = |name: &str| {
        client
            .targets()
            .into_iter()
            .find(|t| t.model == name)
            .map(|t| t.breaker)
    };
    // One failure each: only the breakers set to open on one did.
    assert_eq!(state("primary"), Some(CircuitState::Open), "the endpoint's");
    assert_eq!(
        state("secondary"),
        Some(CircuitState::Closed),
        "the model's"
    );
    assert_eq!(
        state("tertiary"),
        Some(CircuitState::Closed),
        "the client's"
    );
    assert_eq!(state("fourth"), Some(CircuitState::Open), "the target's");

    let invalid = CircuitBreakerConfig {
        success_threshold: 0,
        ..CircuitBreakerConfig::default()
    };
    let err = builder(&mock)
        .breaker_for("primary", invalid.clone())
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::Breaker(_)), "{err}");
    let err = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("openai", URL)
                .api_key("sk-openai-000000")
                .breaker(invalid),
        )
        .transport(Arc::new(mock))
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::Breaker(_)), "{err}");
}

#[tokio::test(start_paused = true)]
async fn the_serving_answers_request_id_and_rate_limit_headers_are_kept() {
    let mock = scripted(|model, _| match model {
        "primary" => down(model).header(HeaderName::from_static("x-request-id"), "req_failed"),
        m => ok(m)
            .header(HeaderName::from_static("x-request-id"), "req_served")
            .header(
                HeaderName::from_static("x-ratelimit-remaining-tokens"),
                "1000",
            )
            .header(HeaderName::from_static("set-cookie"), "not=kept"),
    });
    let client = builder(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    let kept = response.upstream_headers();
    assert_eq!(kept["x-request-id"], "req_served", "the serving attempt's");
    assert_eq!(kept["x-ratelimit-remaining-tokens"], "1000");
    assert_eq!(kept.len(), 2, "{kept:?}");
}

/// An invalid request about the target's setup fails every request there,
/// so the call goes elsewhere; a known phrase (an operation the deployment
/// does not offer) opens the target's breaker at once, a bare 404 that names
/// no model (a wrong route, or an object id that no longer exists) counts as
/// an ordinary failure. One about the content stops the call.
#[tokio::test(start_paused = true)]
async fn an_invalid_request_about_the_target_falls_back_and_opens_its_breaker() {
    let mock = scripted(|model, _| match model {
        "primary" => error(404, json!({"detail": "Not Found"})),
        m => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    let first = response.attempts()[0].diagnosis().unwrap();
    assert_eq!(first.category, ErrorCategory::InvalidRequest);
    assert!(first.about_target);
    // What the client says it does is what it did.
    let step = client.next_step(first);
    assert!(step.to_string().starts_with("fall back"), "{step}");
    assert_eq!(NextStep::with_defaults(first).to_string(), step.to_string());
    let breaker = |client: &NeuralBridge| {
        client
            .targets()
            .into_iter()
            .find(|t| t.model == "primary")
            .unwrap()
            .breaker
    };
    assert_eq!(
        breaker(&client),
        CircuitState::Closed,
        "a guess: not at once"
    );

    let mock = scripted(|model, _| match model {
        "primary" => error(
            400,
            json!({"error": {"code": "OperationNotSupported", "message": "The chatCompletion operation does not work with the specified model, text-embedding-ada-002."}}),
        ),
        m => ok(m),
    });
    let client = builder(&mock).build().unwrap();
    let response = client.chat().create(request()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert!(response.attempts()[0].diagnosis().unwrap().about_target);
    assert_eq!(
        breaker(&client),
        CircuitState::Open,
        "a known phrase: at once"
    );

    let mock = scripted(|_, _| {
        openai_error(
            400,
            "invalid_request_error",
            "Invalid value for 'temperature'",
        )
    });
    let client = builder(&mock).build().unwrap();
    let err = client.chat().create(request()).await.unwrap_err();
    assert_eq!(err.attempts().len(), 1, "the request itself is wrong");
}

/// Our own host running short while a stream is read is not the
/// provider's failure: the stream ends with `LocalResource`, never a
/// truncated success, and nothing is recorded against the serving target.
#[tokio::test(start_paused = true)]
async fn running_out_of_local_resources_mid_stream_is_not_the_providers_failure() {
    let mock = scripted(|model, _| {
        let first = chunk(model, "Hel");
        MockReply::sse([
            Ok(first.as_str()),
            Err(TransportError::new(TransportErrorKind::LocalResource)),
        ])
    });
    let client = builder(&mock)
        .stream_policy(StreamPolicy::Continue)
        .build()
        .unwrap();
    let stream = client.chat().stream(request()).await.unwrap();
    let (text, result, _) = drain(stream).await;
    assert_eq!(text, "Hel");
    let err = result.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::LocalResource { .. }),
        "{err}"
    );
    assert_eq!(calls(&mock, "secondary"), 0, "no other target was tried");
    let report = client.health_status();
    let primary = report.models.iter().find(|m| m.model == "primary").unwrap();
    assert_eq!(primary.reliability.calls, 0, "nothing was recorded");
    assert_eq!(client.targets()[0].breaker, CircuitState::Closed);
}

/// An Anthropic endpoint in a chain: the request is translated and sent
/// with Anthropic's headers, the answer and the stream read back into the
/// same shapes, and an overload there falls back to an OpenAI endpoint.
#[tokio::test(start_paused = true)]
async fn an_anthropic_endpoint_serves_and_fails_over_in_one_chain() {
    let anthropic_message = |model: &str| {
        MockReply::json(
            StatusCode::OK,
            &json!({"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": "Bonjour"}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 10, "output_tokens": 3}}),
        )
    };
    let overloaded = || {
        error(
            529,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        )
    };
    let mock = MockTransport::from_fn(move |request| {
        let anthropic = request.uri.path().ends_with("/messages");
        let model = request.chat_request().map(|r| r.model).unwrap_or_default();
        match (anthropic, model.as_str()) {
            (true, "claude-busy") => overloaded(),
            (true, m) => anthropic_message(m),
            (false, m) => ok(m),
        }
    });
    let build = |chain: &[&str]| {
        NeuralBridge::builder()
            .endpoint(
                EndpointConfig::anthropic("anthropic", "https://api.anthropic.com/v1")
                    .api_key("sk-ant-0000000000")
                    .models(["claude-sonnet-4-5", "claude-busy"]),
            )
            .endpoint(
                EndpointConfig::openai_compatible("openai", URL)
                    .api_key("sk-openai-000000")
                    .models(["gpt-4o"]),
            )
            .fallback_models(chain.iter().copied())
            .transport(Arc::new(mock.clone()))
            .build()
            .unwrap()
    };

    let client = build(&["claude-sonnet-4-5", "gpt-4o"]);
    let request = ChatRequest::new("claude-sonnet-4-5")
        .system("Answer in French.")
        .user_message("Hello");
    let response = client.chat().create(request).await.unwrap();
    assert_eq!(response.served_by(), "claude-sonnet-4-5");
    assert_eq!(response.text(), Some("Bonjour"));
    assert_eq!(response.usage().map(|u| u.total_tokens), Some(13));
    let sent = &mock.requests()[0];
    assert_eq!(
        sent.uri.to_string(),
        "https://api.anthropic.com/v1/messages"
    );
    assert_eq!(sent.headers["x-api-key"], "sk-ant-0000000000");
    assert_eq!(sent.headers["anthropic-version"], "2023-06-01");
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["system"], "Answer in French.");
    assert!(body["max_tokens"].is_u64(), "{body}");

    // Anthropic's 529 is diagnosed as an overload and the chain moves on.
    let client = build(&["claude-busy", "gpt-4o"]);
    let response = client
        .chat()
        .create(ChatRequest::new("claude-busy").user_message("Hello"))
        .await
        .unwrap();
    assert_eq!(response.served_by(), "gpt-4o");
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::Overloaded), None]
    );
}

#[tokio::test(start_paused = true)]
async fn an_anthropic_stream_reads_as_chunks_and_its_error_event_fails_over() {
    let events = |text: &'static str, end: &'static str| {
        let body = format!(
            "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{{\"input_tokens\":5,\"output_tokens\":1}}}}}}\n\n\
             event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}}}\n\n{end}"
        );
        MockReply::stream(StatusCode::OK, [Ok(Bytes::from(body))])
            .header(http::header::CONTENT_TYPE, "text/event-stream")
    };
    let finish = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":4}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let overloaded = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let mock = MockTransport::from_fn(move |request| {
        if request.uri.path().ends_with("/messages") {
            let model = request.chat_request().map(|r| r.model).unwrap_or_default();
            if model == "claude-busy" {
                events("Hel", overloaded)
            } else {
                events("Hello", finish)
            }
        } else {
            MockReply::chat_stream("gpt-4o", &["lo"])
        }
    });
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::anthropic("anthropic", "https://api.anthropic.com/v1")
                .api_key("sk-ant-0000000000")
                .models(["claude-sonnet-4-5", "claude-busy"]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("openai", URL)
                .api_key("sk-openai-000000")
                .models(["gpt-4o"]),
        )
        .fallback_models(["claude-busy", "gpt-4o"])
        .stream_policy(StreamPolicy::Continue)
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let stream = client
        .chat()
        .stream(ChatRequest::new("claude-sonnet-4-5").user_message("Hi"))
        .await
        .unwrap();
    let (text, summary, _) = drain(stream).await;
    assert_eq!(text, "Hello");
    assert_eq!(summary.unwrap().served_by(), "claude-sonnet-4-5");

    // An in-band overload after content: continued on the next model.
    let stream = client
        .chat()
        .stream(ChatRequest::new("claude-busy").user_message("Hi"))
        .await
        .unwrap();
    let (text, summary, _) = drain(stream).await;
    let summary = summary.unwrap();
    assert_eq!(summary.served_by(), "gpt-4o");
    assert_eq!(text, "Hello", "the partial answer, continued");
    assert_eq!(
        summary.attempts()[0].diagnosis().unwrap().category,
        ErrorCategory::Overloaded
    );
}

/// A Gemini endpoint: one URL per model, the request translated, the answer
/// and the stream read back; its `RESOURCE_EXHAUSTED` diagnosed and fallen
/// back from.
#[tokio::test(start_paused = true)]
async fn a_gemini_endpoint_serves_streams_and_fails_over() {
    let mock = MockTransport::from_fn(|request| {
        let path = request.uri.path().to_owned();
        if path.ends_with("gemini-busy:generateContent") {
            return error(
                429,
                json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}}),
            );
        }
        if path.ends_with(":streamGenerateContent") {
            let body = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"modelVersion\":\"gemini-2.5-flash\"}\n\n\
                        data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,\"totalTokenCount\":5}}\n\n";
            return MockReply::stream(StatusCode::OK, [Ok(Bytes::from(body))])
                .header(http::header::CONTENT_TYPE, "text/event-stream");
        }
        if path.ends_with(":generateContent") {
            return MockReply::json(
                StatusCode::OK,
                &json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}]}, "finishReason": "STOP"}],
                        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4},
                        "modelVersion": "gemini-2.5-flash"}),
            );
        }
        let model = request.chat_request().map(|r| r.model).unwrap_or_default();
        ok(&model)
    });
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::gemini("google", "https://generativelanguage.googleapis.com/v1beta")
                .api_key("AIza-test-key-0000")
                .models(["gemini-2.5-flash", "gemini-busy"]),
        )
        .endpoint(
            EndpointConfig::openai_compatible("openai", URL)
                .api_key("sk-openai-000000")
                .models(["gpt-4o"]),
        )
        .fallback_models(["gemini-busy", "gpt-4o"])
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    let response = client
        .chat()
        .create(ChatRequest::new("gemini-2.5-flash").user_message("Hi"))
        .await
        .unwrap();
    assert_eq!(response.served_by(), "gemini-2.5-flash");
    assert_eq!(response.text(), Some("Hello"));
    let sent = &mock.requests()[0];
    assert_eq!(
        sent.uri.to_string(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(sent.headers["x-goog-api-key"], "AIza-test-key-0000");
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["contents"][0]["parts"][0]["text"], "Hi");
    assert!(body.get("model").is_none(), "the model is in the URL");

    let stream = client
        .chat()
        .stream(ChatRequest::new("gemini-2.5-flash").user_message("Hi"))
        .await
        .unwrap();
    let (text, summary, _) = drain(stream).await;
    assert_eq!(text, "Hello");
    assert_eq!(summary.unwrap().served_by(), "gemini-2.5-flash");
    assert!(
        mock.requests()[1]
            .uri
            .to_string()
            .ends_with(":streamGenerateContent?alt=sse")
    );

    let response = client
        .chat()
        .create(ChatRequest::new("gemini-busy").user_message("Hi"))
        .await
        .unwrap();
    assert_eq!(response.served_by(), "gpt-4o");
    assert_eq!(
        categories(response.attempts()),
        [Some(ErrorCategory::RateLimit), None]
    );
}
