use super::report::FALLBACK_CONFIDENCE;
use super::scan::{
    MAX_NAME, grpc_status_after, leading_status, limit_before, number_after, rejected_before,
    spell_name, status_after, status_after_exception, zero_follows,
};
use super::*;
use crate::catalogue::KEY_PREFIXES;

#[test]
fn builtin_catalogue_compiles() {
    let e = DiagnosisEngine::new();
    assert!(e.compiled.ascii.len() > 500 && e.compiled.wide.len() > 10);
    // Clones share the compiled catalogue, and so do engines without
    // user rules, however they are built.
    assert!(Arc::ptr_eq(&e.compiled, &e.clone().compiled));
    assert!(Arc::ptr_eq(&e.compiled, &DiagnosisEngine::new().compiled));
    let built = DiagnosisEngine::builder()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(Arc::ptr_eq(&e.compiled, &built.compiled));
    // User rules get their own.
    let mut custom = DiagnosisEngine::new();
    custom
        .add_rule(Rule::new(ErrorCategory::Overloaded, "x").pattern("shed"))
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(!Arc::ptr_eq(&e.compiled, &custom.compiled));
    assert!(Arc::ptr_eq(&e.compiled, &DiagnosisEngine::new().compiled));
}

#[test]
fn header_fields_are_masked_and_cut_on_a_char_boundary() {
    // An odd-length prefix, so that byte `MAX_MESSAGE` falls inside an `é`.
    let long = format!("sk-abcdefghi {}", "é".repeat(MAX_MESSAGE));
    let headers: ResponseHeaders<'_> = [("x-request-id", long.as_str())].into_iter().collect();
    let e = provider_error(&Fields::default(), &headers, false)
        .and_then(|e| e.request_id)
        .unwrap_or_default();
    assert!(e.starts_with("sk-*** éé"), "{e}");
    assert!(e.len() <= MAX_MESSAGE && !e.contains('\u{fffd}'), "{e}");
}

#[test]
fn every_key_prefix_is_seen_and_masked_in_body_fields() {
    let e = DiagnosisEngine::new();
    for p in KEY_PREFIXES {
        let body = format!(r#"{{"error":{{"message":"bad key {p}abcdef123456 given"}}}}"#);
        let d = e.diagnose(&Failure::http(401, body.as_str()));
        let message = d.provider_error.and_then(|pe| pe.message);
        assert_eq!(message, Some(format!("bad key {p}*** given")), "{p}");
    }
}

#[test]
fn redaction_masks_keys_but_not_words() {
    assert_eq!(
        redact("Incorrect API key provided: sk-PMafP****E873. You can".into()),
        "Incorrect API key provided: sk-***. You can"
    );
    assert_eq!(
        redact("key AIzaSyD-abcdefghijk ok".into()),
        "key AIza*** ok"
    );
    assert_eq!(
        redact("Authorization: Bearer abc.def.ghi".into()),
        "Authorization: Bearer ***"
    );
    assert_eq!(redact("task-force sk-short".into()), "task-force sk-short");
    // The shortest key there is, and one character less.
    assert_eq!(redact("sk-abcdef".into()), "sk-***");
    assert_eq!(redact("sk-abcde".into()), "sk-abcde");
    assert_eq!(redact("请求 sk-abcdefgh 结束".into()), "请求 sk-*** 结束");
}

#[test]
fn statuses_in_text() {
    assert_eq!(
        leading_status(b"429 Free allocated quota exceeded."),
        Some(429)
    );
    assert_eq!(leading_status(b"<400> InternalError.Algo"), Some(400));
    assert_eq!(leading_status(b"4290 tokens"), None);
    assert_eq!(leading_status(b"200ms later"), None);
    assert_eq!(status_after(b": 429 - {"), Some(429));
    assert_eq!(status_after(b" '503 Service"), Some(503));
    assert_eq!(status_after(b" 4290"), None);
    assert_eq!(
        status_after_exception(b"$BadRequest: 400 Bad Request from POST"),
        Some(400)
    );
    assert_eq!(
        status_after_exception(b".TooManyRequests: 429 Too Many Requests"),
        Some(429)
    );
    assert_eq!(status_after_exception(b": 503 Service"), Some(503));
    assert_eq!(status_after_exception(b".java:429)"), None);
}

#[test]
fn grpc_status_names_after_a_status_word_in_each_stacks_form() {
    for (after, want) in [
        // Python's enum, after "status".
        (&b" = StatusCode.INTERNAL\n details"[..], Some(500)),
        (b" = StatusCode.PERMISSION_DENIED", Some(403)),
        // Capitals, as Java and the C core print them.
        (b": INTERNAL: Internal error", Some(500)),
        (b": DEADLINE_EXCEEDED", Some(504)),
        // Go's CamelCase, with its description after.
        (
            b" = DeadlineExceeded desc = context deadline exceeded",
            Some(504),
        ),
        (b" = InvalidArgument desc = bad", Some(400)),
        // .NET's quoted name and Connect's bracketed one.
        (b"=\"Internal\", Detail=", Some(500)),
        (b"=\"NotFound\"", Some(404)),
        (b" [resource_exhausted] rate limit", Some(429)),
        (b" [unauthenticated] Error", Some(401)),
        // A reason phrase, a word alone, a provider's code in JSON, a
        // longer code, a name run into digits: none is a name.
        (b": Internal Server Error", None),
        (b": internal error", None),
        (b": Internal", None),
        (b"\": \"internal\"", None),
        (b": INTERNAL_ERROR", None),
        (b": INTERNAL2", None),
        (b" = Internal description", None),
        // Names that map to no status.
        (b" [unknown] CreateFile", None),
        (b": CANCELLED", None),
        (b": UNKNOWN", None),
        // A connection that failed and a server that shed load alike.
        (b": UNAVAILABLE: ipv4:1.2.3.4:443", None),
        (b" = StatusCode.UNAVAILABLE", None),
        (b" [unavailable] Error", None),
        // Too short to read.
        (b"", None),
        (b"StatusCode.", None),
        (b": [Errno 111] x", None),
    ] {
        assert_eq!(
            grpc_status_after(after),
            want,
            "{}",
            String::from_utf8_lossy(after)
        );
    }
    // A printed status is digits; a name has its own reading.
    assert_eq!(status_after(b" = StatusCode.INTERNAL"), None);
}

#[test]
fn zero_limits() {
    assert!(zero_follows(b"\"\n  value: \"0\"\n}"));
    assert!(!zero_follows(b"\": \"250000\""));
    assert!(!zero_follows(b"\": \"0.5\""));
    assert!(!zero_follows(b"no digits here"));
}

#[test]
fn confidence_is_in_range_and_monotone() {
    let mut last = 0.0;
    for p in [0u8, 20, 30, 45, 60, 75, 90, 120] {
        let mut v = Verdict::new(ErrorCategory::ServerError, Sub::InternalError, p);
        let c = confidence(&v);
        assert!((0.0..=1.0).contains(&c) && c >= last);
        last = c;
        v.agrees = true;
        assert!(confidence(&v) <= 0.99);
    }
}

#[test]
fn readings_no_word_decided_say_how_little_was_read() {
    let e = DiagnosisEngine::new();
    // An error object inside a 200 whose words name nothing known.
    let object = e.diagnose(&Failure::http(
        200,
        r#"{"error": {"message": "zorp flumbled"}}"#,
    ));
    assert_eq!(object.sub_category, "error_in_success_response");
    // A 200 body that is neither an answer nor an error.
    let prose = e.diagnose(&Failure::http(200, "zorp flumbled the wibble"));
    assert_eq!(prose.sub_category, "unexpected_body");
    for d in [object, prose] {
        assert_eq!(d.confidence, FALLBACK_CONFIDENCE, "{d:?}");
    }
    // A stream that stopped with words naming no known cause is read from
    // the stream alone, as sure as a bare status (the rules' reading; a
    // guess from its words may add to it); a cut it names is sure.
    let rules_only = e.clone().guess_from_words(false);
    let unexplained = rules_only.diagnose(&Failure::stream_interrupted("zorp flumbled the wibble"));
    // (These words the stream's words model reads as a cut too.)
    assert_eq!(
        e.clone()
            .guess_from_words(true)
            .diagnose(&Failure::stream_interrupted("zorp flumbled the wibble")),
        unexplained
    );
    let bare_status = e.diagnose(&Failure::http(503, ""));
    assert_eq!(unexplained.category, ErrorCategory::StreamInterrupted);
    assert_eq!(unexplained.confidence, bare_status.confidence);
    let cut = e.diagnose(&Failure::stream_interrupted("connection reset by peer"));
    assert_eq!(cut.category, ErrorCategory::StreamInterrupted);
    assert!(cut.confidence >= 0.9, "{cut:?}");
    // A catalogue rule with the same sub-category is not a fallback.
    let worded = e.diagnose(&Failure::http(200, "the model returned no response"));
    assert_eq!(worded.sub_category, "unexpected_body");
    assert!(worded.confidence > FALLBACK_CONFIDENCE);
}

#[test]
fn transport_kinds_read_as_one_vocabulary() {
    use crate::{TimeoutPhase, TransportErrorKind as K};
    let e = DiagnosisEngine::new();
    let d = |kind| e.diagnose(&Failure::transport(kind, None));
    // Waiting for the head of a chat answer is waiting for its first byte.
    let head = d(K::Timeout(TimeoutPhase::ResponseHead));
    let first = d(K::Timeout(TimeoutPhase::FirstByte));
    assert_eq!(head.category, ErrorCategory::Timeout);
    assert_eq!(head.sub_category, first.sub_category);
    // Kinds the taxonomy has no own name for read as an unknown transport error.
    for kind in [K::Connect, K::Protocol, K::BodyTooLarge, K::InvalidRequest] {
        let got = d(kind);
        let other = d(K::Other);
        assert_eq!(got.category, other.category);
        assert_eq!(got.sub_category, other.sub_category);
        assert_eq!(got.confidence, other.confidence);
    }
    assert_eq!(
        d(K::StreamInterrupted).category,
        ErrorCategory::StreamInterrupted
    );
}

#[test]
fn exception_names_are_spelled_as_words() {
    for (name, words) in [
        ("AccountOverdueError", "account overdue error"),
        ("APIConnectionError", "api connection error"),
        ("HTTP2Exception", "http2 exception"),
        ("ThrottlingException", "throttling exception"),
    ] {
        let mut out = [0u8; 2 * MAX_NAME];
        let n = spell_name(name.as_bytes(), &mut out);
        assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), words);
    }
}

#[test]
fn camel_case_codes_are_told_from_other_codes() {
    use super::scan::is_camel_code;
    assert!(is_camel_code(b"FailedOperation.ServiceNotActivated"));
    assert!(is_camel_code(b"InvalidEndpoint.NotFound"));
    for other in [
        &b"rate_limit_exceeded"[..],
        b"RESOURCE_EXHAUSTED",
        b"429",
        b"has a space",
    ] {
        assert!(!is_camel_code(other), "{}", String::from_utf8_lossy(other));
    }
    let mut out = [0u8; 2 * MAX_NAME];
    let n = spell_name(b"FailedOperation.ServiceNotActivated", &mut out);
    assert_eq!(&out[..n], b"failed operation service not activated");
}

#[test]
fn numbers_after_a_word_read_with_or_without_separators() {
    for (text, want) in [
        (" 7000, Used 0", Some(7000)),
        (" ~12903. Please", Some(12_903)),
        (": 1,000,000, model", Some(1_000_000)),
        ("=42", Some(42)),
        (" reached for model", None),
        // A comma that ends a number is not a separator.
        (": 100, see", Some(100)),
        (" 99999999999999999999999", None),
    ] {
        assert_eq!(number_after(text.as_bytes()), want, "{text}");
    }
}

#[test]
fn the_limit_before_a_requested_amount_is_the_last_one_named() {
    assert_eq!(
        limit_before(b"rate limit reached: Limit 7000, Used 0, "),
        Some(7000)
    );
    assert_eq!(limit_before(b"Rate limit reached for model, "), None);
    // Only the last few bytes are read.
    let far = format!("Limit 5, {}", "x".repeat(100));
    assert_eq!(limit_before(far.as_bytes()), None);
}

#[test]
fn a_key_is_rejected_only_by_a_word_in_its_own_clause() {
    assert!(rejected_before(b"Invalid xAI "));
    assert!(rejected_before(b"Error: incorrect Fireworks "));
    assert!(rejected_before(b"No OpenAI "));
    assert!(!rejected_before(b"Cannot read your "));
    assert!(!rejected_before(b"No retry. Check your "));
    // The window's first bytes end "casino", not the word "no".
    let casino = format!("casino {} ", "x".repeat(20));
    assert!(!rejected_before(casino.as_bytes()));
    assert!(!rejected_before(b"Invalid value. Check your "));
    assert!(!rejected_before(b"invalid model, \"hint\": \"set your "));
    let far = format!("invalid {}", "x".repeat(40));
    assert!(!rejected_before(far.as_bytes()));
}
