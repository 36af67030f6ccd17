//! Property tests: any status, headers, body or message is diagnosed without
//! a panic, within the taxonomy's rules, and work is bounded by the body cap.
//! (The cargo-fuzz target in `fuzz/` explores the same space for longer.)

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use nb_diagnose::ErrorCategory::*;
use nb_diagnose::{
    Diagnosis, DiagnosisEngine, Failure, MAX_BODY_BYTES, ResponseHeaders, TimeoutPhase,
    TransportErrorKind, rate_limit_headers,
};
use proptest::prelude::*;

fn engine() -> &'static DiagnosisEngine {
    static ENGINE: OnceLock<DiagnosisEngine> = OnceLock::new();
    ENGINE.get_or_init(DiagnosisEngine::new)
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// What every diagnosis must satisfy, whatever the input.
fn check_invariants(d: &Diagnosis, should_retry_header: bool) {
    assert!((0.0..=1.0).contains(&d.confidence), "{d:?}");
    assert!(!d.sub_category.is_empty());
    assert!(d.root_cause.ends_with('.'));
    assert!(!d.suggestions.is_empty());
    let never = [
        Auth,
        Permission,
        QuotaExhausted,
        ModelNotFound,
        ContextLength,
        ContentFilter,
        InvalidRequest,
    ];
    if never.contains(&d.category) && !should_retry_header {
        assert!(!d.retryable, "{} must not be retried: {d:?}", d.category);
    }
    if let Some(w) = d.retry_after {
        assert!(w <= Duration::from_secs(366 * 86_400));
    }
}

/// Fragments that steer random bodies into the parser's and matcher's paths.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "'",
    "\\",
    "\\u8bf7",
    "\\ud83d",
    "null",
    "None",
    "True",
    "\"error\"",
    "\"message\"",
    "\"type\"",
    "\"code\"",
    "\"status\"",
    "\"details\"",
    "\"retryDelay\"",
    "\"37s\"",
    "\"finishReason\"",
    "\"SAFETY\"",
    "\"quotaValue\"",
    "\"0\"",
    "429",
    "502",
    "data: ",
    "event: error\n",
    "[DONE]",
    "\n\n",
    "rate limit",
    "try again in ",
    "1m30.5s",
    "limit: 0",
    "insufficient_quota",
    "overloaded_error",
    "请求速度超限",
    "模型不存在",
    "sk-abcdefghijkl",
    "Bearer xyz.abc.def",
    "<html>",
    "Error code: 401 - ",
    "maximum context length",
    "certificate verify failed",
    "other side closed",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            "[ -~]{0,12}",
            any::<char>().prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let names = ResponseHeaders::KNOWN
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>();
    prop::collection::vec(
        (
            prop_oneof![prop::sample::select(names), "[a-zA-Z-]{1,20}"],
            prop_oneof![
                "[ -~]{0,40}",
                "[0-9]{1,20}",
                "[0-9]{1,3}(\\.[0-9]{1,3})?(ms|s|m|h)",
                "(true|false|TRUE)",
                Just("Sun, 15 Jun 2025 15:07:10 GMT".to_owned()),
                Just("2025-06-15T15:07:10Z".to_owned()),
            ],
        ),
        0..8,
    )
}

fn build<'a>(status: u16, headers: &'a [(String, String)], body: &'a [u8]) -> Failure<'a> {
    Failure::http(status, body).headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

fn has_should_retry(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("x-should-retry"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_http_response_is_diagnosed(
        status in 0u16..1000,
        headers in headers(),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        url in prop_oneof![Just(None), Just(Some("https://api.anthropic.com/v1")), Just(Some("http://localhost:11434"))],
    ) {
        let mut f = build(status, &headers, &body);
        if let Some(u) = url {
            f = f.with_base_url(u);
        }
        let d = engine().diagnose_at(&f, now());
        check_invariants(&d, has_should_retry(&headers));
        // Rate-limit headers read alone never panic either.
        let _ = rate_limit_headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())), now());
    }

    #[test]
    fn any_json_like_body_is_diagnosed(
        status in prop_oneof![Just(200u16), Just(400), Just(429), Just(500), Just(503), 100u16..600],
        headers in headers(),
        body in fragments(),
    ) {
        let d = engine().diagnose_at(&build(status, &headers, body.as_bytes()), now());
        check_invariants(&d, has_should_retry(&headers));
        let d = engine().diagnose_at(&Failure::malformed(body.as_str(), "validator"), now());
        check_invariants(&d, false);
        let d = engine().diagnose_at(&Failure::stream_interrupted(&body), now());
        check_invariants(&d, false);
        // Inside a stream, another cause is named only by a rule or a status.
        prop_assert!(matches!(d.category, StreamInterrupted) || d.confidence >= 0.5);
    }

    #[test]
    fn any_message_is_diagnosed(
        text in prop_oneof![fragments(), any::<String>()],
        status in prop::option::of(0u16..1000),
        model in prop::option::of("[a-z0-9./:-]{0,24}"),
    ) {
        let mut f = Failure::message(&text);
        if let Some(s) = status {
            f = f.with_status(s);
        }
        if let Some(m) = &model {
            f = f.with_model(m);
        }
        check_invariants(&engine().diagnose(&f), false);
    }

    #[test]
    fn any_transport_failure_is_diagnosed(
        kind in prop::sample::select(vec![
            TransportErrorKind::ConnectRefused,
            TransportErrorKind::Dns,
            TransportErrorKind::Tls,
            TransportErrorKind::Reset,
            TransportErrorKind::Timeout(TimeoutPhase::Connect),
            TransportErrorKind::Timeout(TimeoutPhase::FirstByte),
            TransportErrorKind::Timeout(TimeoutPhase::Idle),
            TransportErrorKind::Timeout(TimeoutPhase::Total),
            TransportErrorKind::StreamInterrupted,
            TransportErrorKind::LocalResource,
            TransportErrorKind::LocalPolicy,
            TransportErrorKind::Other,
        ]),
        message in prop::option::of(fragments()),
    ) {
        let d = engine().diagnose(&Failure::transport(kind, message.as_deref()));
        check_invariants(&d, false);
        if matches!(kind, TransportErrorKind::Timeout(_)) {
            prop_assert_eq!(d.category, Timeout);
        }
    }
}

proptest! {
    // Bodies past the cap are large; a few cases make the point.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn bytes_past_the_cap_change_nothing(
        head in fragments(),
        tail in prop::collection::vec(any::<u8>(), 1..4096),
        status in prop_oneof![Just(400u16), Just(429), Just(500)],
    ) {
        let mut body = head.into_bytes();
        body.resize(MAX_BODY_BYTES, b' ');
        let capped = engine().diagnose_at(&Failure::http(status, &body), now());
        body.extend_from_slice(&tail);
        let longer = engine().diagnose_at(&Failure::http(status, &body), now());
        prop_assert_eq!(capped, longer);
    }
}
