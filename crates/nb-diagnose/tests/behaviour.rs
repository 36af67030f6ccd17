//! Engine behaviour: waits and their precedence, `x-should-retry`, the wait
//! cap, user rules, the body cap, and the serialized shape.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use nb_diagnose::ErrorCategory::*;
use nb_diagnose::{
    DiagnosisEngine, Failure, MAX_BODY_BYTES, Provider, Rule, RuleError, Severity, get_profile,
};

fn engine() -> &'static DiagnosisEngine {
    static ENGINE: OnceLock<DiagnosisEngine> = OnceLock::new();
    ENGINE.get_or_init(DiagnosisEngine::new)
}

/// 2025-06-15T15:06:40Z = Sun, 15 Jun 2025 15:06:40 GMT.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

const RATE_LIMIT: &str = r#"{"error":{"message":"Rate limit reached. Please try again in 7s.","type":"requests","code":"rate_limit_exceeded"}}"#;

#[test]
fn waits_follow_their_precedence() {
    let e = engine();
    let wait = |f: Failure<'_>| e.diagnose_at(&f, now()).retry_after;
    // The message's hint when nothing else is given.
    assert_eq!(
        wait(Failure::http(429, RATE_LIMIT)),
        Some(Duration::from_secs(7))
    );
    // retry-after beats the hint; retry-after-ms beats retry-after.
    assert_eq!(
        wait(Failure::http(429, RATE_LIMIT).header("retry-after", "3")),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        wait(
            Failure::http(429, RATE_LIMIT)
                .header("retry-after", "3")
                .header("retry-after-ms", "1250")
        ),
        Some(Duration::from_millis(1250))
    );
    // An HTTP-date resolves against `now`.
    assert_eq!(
        wait(Failure::http(503, "").header("Retry-After", "Sun, 15 Jun 2025 15:07:10 GMT")),
        Some(Duration::from_secs(30))
    );
    // With no explicit wait, the exhausted window's reset.
    assert_eq!(
        wait(
            Failure::http(429, "{}")
                .header("x-ratelimit-remaining-requests", "0")
                .header("x-ratelimit-reset-requests", "6m0s")
                .header("x-ratelimit-remaining-tokens", "100")
                .header("x-ratelimit-reset-tokens", "20ms")
        ),
        Some(Duration::from_secs(360))
    );
    // A window that is not exhausted says nothing about this 429.
    assert_eq!(
        wait(Failure::http(429, "{}").header("x-ratelimit-reset-tokens", "20ms")),
        None
    );
    // Waits mean nothing for a request that cannot succeed.
    assert_eq!(
        wait(Failure::http(401, "{}").header("retry-after", "5")),
        None
    );
}

#[test]
fn a_rate_limit_is_retryable_with_or_without_a_wait() {
    let d = engine().diagnose(&Failure::http(429, RATE_LIMIT));
    assert!(d.retryable && d.retry_after == Some(Duration::from_secs(7)));
    let d = engine().diagnose(&Failure::http(429, "{}"));
    assert!(d.retryable && d.retry_after.is_none());
}

#[test]
fn plain_diagnose_agrees_with_diagnose_at_for_relative_waits() {
    let f = Failure::http(429, RATE_LIMIT).header("retry-after", "4");
    assert_eq!(engine().diagnose(&f), engine().diagnose_at(&f, now()));
}

#[test]
fn should_retry_header_overrides_the_status() {
    let d = engine().diagnose(&Failure::http(500, "{}").header("x-should-retry", "false"));
    assert_eq!((d.category, d.retryable), (ServerError, false));
    let d = engine().diagnose(&Failure::http(409, "{}").header("x-should-retry", "true"));
    assert!(d.retryable);
    let d = engine().diagnose(&Failure::http(500, "{}").header("x-should-retry", "maybe"));
    assert!(d.retryable, "an unreadable value is ignored");
}

/// The diagnosis has no wait cap: a long wait is reported as given, the
/// model is still one that can succeed later, and deciding whether to wait
/// is the client's (its backoff's `max_wait`).
#[test]
fn a_long_wait_is_reported_as_given() {
    let f = Failure::http(429, RATE_LIMIT).header("retry-after", "600");
    let d = engine().diagnose(&f);
    assert_eq!(d.category, RateLimit);
    assert_eq!(d.retry_after, Some(Duration::from_secs(600)));
    assert!(d.retryable);
    assert_eq!(d.severity, Severity::Medium);
    let d = engine().diagnose(&Failure::http(429, "{}").header("retry-after", "86400"));
    assert!(d.retryable && d.retry_after == Some(Duration::from_secs(86_400)));
}

#[test]
fn user_rules_extend_the_catalogue_by_priority() {
    let rule = Rule::new(Overloaded, "acme_gateway_shedding")
        .patterns(["shedding load", "brownout"])
        .provider(Provider::OpenAi);
    let mut e = DiagnosisEngine::builder()
        .rule(rule)
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let d = e.diagnose(&Failure::message("upstream: BROWNOUT in progress"));
    assert_eq!(
        (d.category, &*d.sub_category),
        (Overloaded, "acme_gateway_shedding")
    );
    assert_eq!(d.provider, Provider::OpenAi);
    assert!(d.confidence >= 0.9);

    // A low-priority rule loses to a provider's own code...
    e.add_rule(
        Rule::new(ServerError, "weak")
            .pattern("insufficient_quota")
            .priority(20),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let d = e.diagnose(&Failure::http(
        429,
        r#"{"error":{"code":"insufficient_quota"}}"#,
    ));
    assert_eq!(d.category, QuotaExhausted);
    // ...and a high one wins, with its retryability.
    e.add_rule(
        Rule::new(RateLimit, "org_policy")
            .pattern("insufficient_quota")
            .priority(120)
            .retryable(true),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let d = e.diagnose(&Failure::http(
        429,
        r#"{"error":{"code":"insufficient_quota"}}"#,
    ));
    assert_eq!(
        (d.category, &*d.sub_category, d.retryable),
        (RateLimit, "org_policy", true)
    );

    assert_eq!(e.add_rule(Rule::new(Auth, "x")), Err(RuleError::NoPatterns));
    let bad = DiagnosisEngine::builder()
        .rule(Rule::new(Auth, "x").pattern(""))
        .build();
    assert_eq!(bad.err(), Some(RuleError::EmptyPattern));
}

#[test]
fn only_the_first_bytes_of_a_body_are_read() {
    let mut body = " ".repeat(MAX_BODY_BYTES);
    body.push_str("insufficient_quota");
    let d = engine().diagnose(&Failure::http(500, body.as_str()));
    assert_eq!(d.category, ServerError, "the literal lies past the cap");
    let d = engine().diagnose(&Failure::http(500, &body[MAX_BODY_BYTES - 100..]));
    assert_eq!(d.category, QuotaExhausted);
    // A huge message is read up to the cap too.
    let d = engine().diagnose(&Failure::message(&body));
    assert_eq!(d.category, nb_diagnose::ErrorCategory::Unknown);
}

#[test]
fn a_long_stream_is_judged_by_its_end() {
    let chunk =
        "data: {\"choices\":[{\"delta\":{\"content\":\"token \"},\"finish_reason\":null}]}\n\n";
    let mut body = chunk.repeat(MAX_BODY_BYTES / chunk.len() * 3);
    let d = engine().diagnose(&Failure::http(200, body.as_str()));
    assert_eq!(d.category, StreamInterrupted);
    body.push_str(
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
    );
    let d = engine().diagnose(&Failure::http(200, body.as_str()));
    assert_eq!(d.category, nb_diagnose::ErrorCategory::Unknown, "complete");
}

#[test]
fn status_only_failures_are_diagnosed_with_less_confidence() {
    let d = engine().diagnose(&Failure::http(503, "").with_base_url("https://api.deepseek.com"));
    assert_eq!((d.category, d.provider), (Overloaded, Provider::DeepSeek));
    assert_eq!(d.sub_category, "deepseek_service_unavailable");
    assert!(d.confidence < 0.7);
    assert_eq!(get_profile(d.provider).name, "DeepSeek");
    let d = engine().diagnose(&Failure::message("something odd happened"));
    assert_eq!(d.category, nb_diagnose::ErrorCategory::Unknown);
    assert!(d.confidence <= 0.2 && !d.retryable);
}

#[test]
fn an_error_object_in_a_rejected_body_wins() {
    let body = r#"{"error":{"message":"Rate limit exceeded","code":429}}"#;
    let d = engine().diagnose(&Failure::malformed(body, "no choices"));
    assert_eq!(
        (d.category, d.status),
        (RateLimit, Some(429)),
        "the body carries its status"
    );
}

#[cfg(feature = "serde")]
#[test]
fn diagnoses_serialize_with_stable_names() {
    let f = Failure::http(429, RATE_LIMIT)
        .header("retry-after", "2.5")
        .header("x-request-id", "req_1")
        .with_base_url("https://api.groq.com/openai/v1");
    let v = serde_json::to_value(engine().diagnose(&f)).unwrap_or_default();
    assert_eq!(v["category"], "rate_limit");
    assert_eq!(v["sub_category"], "groq_rate_limit");
    assert_eq!(v["provider"], "groq");
    assert_eq!(v["retryable"], true);
    assert_eq!(v["retry_after_s"], 2.5);
    // A description, not a decision: what to do is the client's policy table.
    assert!(v.get("fallback").is_none() && v.get("action").is_none());
    assert_eq!(v["severity"], "medium");
    assert_eq!(v["status"], 429);
    assert!(
        v["confidence"]
            .as_f64()
            .is_some_and(|c| c > 0.9 && c <= 1.0)
    );
    assert!(v["root_cause"].as_str().is_some_and(|s| s.ends_with('.')));
    assert!(v["suggestions"][0]["title"].is_string());
    assert!(v["suggestions"][0]["command"].is_string());
    assert!(v["suggestions"][0]["why"].is_string());
    assert_eq!(v["provider_error"]["type"], "requests");
    assert_eq!(v["provider_error"]["code"], "rate_limit_exceeded");
    assert_eq!(v["provider_error"]["request_id"], "req_1");
    let v = serde_json::to_value(engine().diagnose(&Failure::http(500, ""))).unwrap_or_default();
    assert!(v["retry_after_s"].is_null() && v["provider_error"].is_null());
    assert_eq!(v["provider"], "unknown");
    // Categories, providers and severities read back.
    let p: Provider = serde_json::from_str("\"dashscope\"").unwrap_or(Provider::Unknown);
    assert_eq!(p, Provider::DashScope);
    assert!(serde_json::from_str::<Provider>("\"nope\"").is_err());
    let s: Severity = serde_json::from_str("\"critical\"").unwrap_or(Severity::Low);
    assert_eq!(s, Severity::Critical);
}

#[test]
fn failures_without_a_body_are_diagnosed_without_allocating_text() {
    use std::borrow::Cow;
    let failures = [
        Failure::http(503, "").with_base_url("https://api.deepseek.com"),
        Failure::transport(
            nb_diagnose::TransportErrorKind::Timeout(nb_diagnose::TimeoutPhase::FirstByte),
            None,
        )
        .with_base_url("https://api.anthropic.com/v1"),
        Failure::http(429, "").header("retry-after", "2"),
    ];
    for f in &failures {
        let d = engine().diagnose_at(f, now());
        assert!(
            matches!(
                (&d.sub_category, &d.root_cause, &d.suggestions),
                (Cow::Borrowed(_), Cow::Borrowed(_), Cow::Borrowed(_))
            ),
            "{d:?}"
        );
        assert!(d.provider_error.is_none());
        // The same text, from the same table, for the next one.
        let again = engine().diagnose_at(f, now());
        assert!(std::ptr::eq(&*d.sub_category, &*again.sub_category));
    }
    let d = engine().diagnose_at(&failures[0], now());
    assert_eq!(d.sub_category, "deepseek_service_unavailable");
    assert_eq!(
        engine().diagnose_at(&failures[2], now()).sub_category,
        "rate_limit"
    );
}

#[test]
fn a_rejection_reason_is_quoted_without_secrets() {
    let f = Failure::malformed("{}", "validator saw sk-live1234567890abcdef in the output");
    let d = engine().diagnose_at(&f, now());
    assert!(
        d.root_cause.contains("validator saw sk-*** in the output"),
        "{}",
        d.root_cause
    );
    assert!(!d.root_cause.contains("1234567890"));
}

#[test]
fn only_the_start_of_a_content_type_is_read() {
    // A body that is neither JSON nor SSE, under a content type that names
    // event-stream only past its first 256 bytes: not read as a stream.
    let long = format!("text/plain; x={}; event-stream", "y".repeat(300));
    let d = engine().diagnose_at(
        &Failure::http(200, "partial answer").header("content-type", long.as_str()),
        now(),
    );
    assert_eq!(d.category, MalformedResponse);
    let short = "text/event-stream";
    let d = engine().diagnose_at(
        &Failure::http(200, "partial answer").header("content-type", short),
        now(),
    );
    assert_eq!(d.category, StreamInterrupted);
}

#[test]
fn the_request_field_an_error_is_about_is_kept() {
    let body = r#"{"error": {"message": "Invalid value for 'temperature': must be at most 2.", "type": "invalid_request_error", "param": "temperature", "code": "invalid_value"}}"#;
    let d = engine().diagnose(&Failure::http(400, body));
    assert_eq!(d.category, InvalidRequest);
    let e = d.provider_error.unwrap();
    assert_eq!(e.param.as_deref(), Some("temperature"));
    assert_eq!(e.code.as_deref(), Some("invalid_value"));
    assert!(
        e.message
            .unwrap()
            .starts_with("Invalid value for 'temperature'")
    );
    // A null param is none.
    let d = engine().diagnose(&Failure::http(
        429,
        r#"{"error": {"message": "Slow down", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}"#,
    ));
    assert_eq!(d.provider_error.unwrap().param, None);
}
