use super::*;

fn s(t: Option<Text<'_>>) -> Option<String> {
    t.map(|t| t.decode(1000))
}

#[test]
fn reads_the_openai_shape() {
    let body = br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    let f = scan(body, false);
    assert!(f.complete && f.has_error);
    assert_eq!(s(f.message()).as_deref(), Some("Rate limit reached"));
    assert_eq!(s(f.kind()).as_deref(), Some("requests"));
    assert_eq!(s(f.code()).as_deref(), Some("rate_limit_exceeded"));
}

#[test]
fn reads_anthropic_google_and_dashscope_shapes() {
    let a = scan(
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#,
        false,
    );
    assert!(a.has_error);
    assert_eq!(s(a.kind()).as_deref(), Some("overloaded_error"));
    assert_eq!(s(a.request_id).as_deref(), Some("req_1"));

    let g = scan(
        br#"[{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"x.RetryInfo","retryDelay":"37s"}]}}]"#,
        false,
    );
    assert_eq!(g.numeric_status, Some(429));
    assert_eq!(s(g.code()).as_deref(), Some("RESOURCE_EXHAUSTED"));
    assert_eq!(s(g.retry_delay).as_deref(), Some("37s"));

    let d = scan(
        br#"{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded","request_id":"abc"}"#,
        false,
    );
    assert_eq!(s(d.code()).as_deref(), Some("Throttling.RateQuota"));
    assert_eq!(
        s(d.message()).as_deref(),
        Some("Requests rate limit exceeded")
    );
}

#[test]
fn answers_that_say_nothing() {
    let says_nothing = |b: &[u8]| scan(b, false).says_nothing();
    let empty = |b: &[u8]| scan(b, false).empty_answer();
    assert!(empty(br#"{"choices":null}"#));
    assert!(empty(
        br#"{"choices":[{"delta":{"content":""},"finish_reason":"stop"}]}"#
    ));
    assert!(empty(
        br#"{"message":{"content":""},"done":true,"done_reason":"stop"}"#
    ));
    // Not finished yet: a first chunk says nothing, and is no answer.
    let first = br#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#;
    assert!(says_nothing(first) && !empty(first));
    for spoke in [
        &br#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#[..],
        br#"{"choices":[{"message":{"tool_calls":[{"id":"c"}]},"finish_reason":"tool_calls"}]}"#,
        br#"{"choices":[{"message":{"content":[{"type":"text"}]},"finish_reason":"stop"}]}"#,
        br#"{"choices":[{"delta":{"reasoning":"so"},"finish_reason":"stop"}]}"#,
        br#"{"choices":[{"delta":{"audio":{"transcript":"Hi"}},"finish_reason":"stop"}]}"#,
        br#"{"response":"The","done":true,"done_reason":"stop"}"#,
        br#"{"message":{"content":"","tool_calls":[{"function":{}}]},"done":true,"done_reason":"stop"}"#,
        br#"{"message":{"content":"","thinking":"hm"},"done":true,"done_reason":"stop"}"#,
    ] {
        assert!(!says_nothing(spoke), "{}", String::from_utf8_lossy(spoke));
    }
    // Its role, a null and an empty list say nothing.
    assert!(empty(
        br#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[],"refusal":null},"finish_reason":"stop"}]}"#
    ));
    // A count of zero output tokens is read wherever usage sits.
    for counted in [
        &br#"{"usage":{"completion_tokens":0}}"#[..],
        br#"{"usage":{"output_tokens":0}}"#,
        br#"{"done":true,"eval_count":0}"#,
    ] {
        assert!(scan(counted, false).no_output);
    }
    assert!(!scan(br#"{"usage":{"completion_tokens":10}}"#, false).no_output);
    // The output budget ran out: why it is empty, not a silent answer.
    assert!(!empty(
        br#"{"choices":[{"message":{"content":""},"finish_reason":"length"}]}"#
    ));
    // Neither an error body nor an Anthropic message is in these shapes.
    assert!(!says_nothing(br#"{"error":{"message":"x"}}"#));
    assert!(!says_nothing(
        br#"{"type":"message","content":[],"stop_reason":"end_turn"}"#
    ));
}

#[test]
fn decodes_escapes_and_unicode() {
    let f = scan(
        br#"{"message":"\u8bf7\u6c42\u901f\u5ea6\u8d85\u9650 \"x\" \ud83d\ude00"}"#,
        false,
    );
    let m = f.message().map(|t| t.decode(1000));
    assert_eq!(m.as_deref(), Some("请求速度超限 \"x\" 😀"));
    assert!(f.message().is_some_and(|t| t.has_unicode_escape()));
}

#[test]
fn lenient_mode_reads_python_reprs() {
    let text = b"{'error': {'message': \"It's over\", 'type': None, 'code': 'insufficient_quota'}}";
    let f = scan(text, true);
    assert_eq!(s(f.code()).as_deref(), Some("insufficient_quota"));
    assert_eq!(s(f.message()).as_deref(), Some("It's over"));
    assert!(!f.complete);
    // Strict mode refuses the same text.
    assert!(!scan(text, false).any());
}

#[test]
fn truncated_input_keeps_what_was_found() {
    let f = scan(
        br#"{"error":{"message":"Overloaded","type":"overloaded_err"#,
        false,
    );
    assert!(!f.complete);
    assert_eq!(s(f.message()).as_deref(), Some("Overloaded"));
}

#[test]
fn finish_reasons_mark_filters_and_ends() {
    let f = scan(
        br#"{"candidates":[{"finishReason":"SAFETY"}],"promptFeedback":{}}"#,
        false,
    );
    assert!(f.filtered && f.finished && !f.has_error);
    let f = scan(br#"{"choices":[{"finish_reason":null}]}"#, false);
    assert!(!f.finished && !f.filtered);
    let f = scan(br#"{"choices":[{"finish_reason":"stop"}]}"#, false);
    assert!(f.finished && !f.filtered);
    let f = scan(br#"{"promptFeedback":{"blockReason":"OTHER"}}"#, false);
    assert!(f.filtered);
    let f = scan(
        br#"{"choices":[{"finish_reason":"error"}],"error":null}"#,
        false,
    );
    assert!(f.has_error);
    let f = scan(br#"{"stopReason":"error","errorMessage":"x"}"#, false);
    assert!(f.has_error && s(f.message()).as_deref() == Some("x"));
}

#[test]
fn object_messages_are_kept_raw() {
    let f = scan(
        br#"{"object":"error","message":{"detail":[{"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error"}"#,
        false,
    );
    assert!(f.has_error);
    assert!(s(f.message()).is_some_and(|m| m.contains("Extra inputs")));
}

#[test]
fn depth_is_bounded() {
    let deep = "[".repeat(10_000);
    let f = scan(deep.as_bytes(), false);
    assert!(!f.complete);
    let deep = "{\"a\":".repeat(10_000);
    assert!(!scan(deep.as_bytes(), true).any());
}

#[test]
fn decode_cuts_on_a_char_boundary() {
    let t = Text {
        raw: "ééé".as_bytes(),
        escaped: false,
    };
    assert_eq!(t.decode(3), "é");
    let t = Text {
        raw: br"\u00e9\u00e9\u00e9",
        escaped: true,
    };
    assert_eq!(t.decode(3), "é");
    assert_eq!(cut("ééé", 3), "é");
    assert_eq!(cut("abc", 10), "abc");
}

#[test]
fn usual_keys_classify_as_normalised() {
    for (raw, key) in USUAL_KEYS {
        assert_eq!(normalised(raw), key, "{}", String::from_utf8_lossy(raw));
    }
    assert_eq!(classify(b"Error_Message"), Key::Message);
    assert_eq!(classify(b"request-id"), Key::RequestId);
}

#[test]
fn find_either_matches_a_plain_search() {
    let text = b"abcdefgh\\ijklmnop\"qrstuvwxyz0123456789'x";
    for start in 0..text.len() {
        for (x, y) in [(b'"', b'\\'), (b'\'', b'\\'), (b'z', b'q'), (b'#', b'%')] {
            let hay = &text[start..];
            let want = hay.iter().position(|c| *c == x || *c == y);
            assert_eq!(find_either(hay, x, y), want, "{start} {x} {y}");
        }
    }
    let high = [0x80u8, 0xff, 0x7f, 0x22, 0x00, 0x01, 0xfe, 0x81, 0x5c];
    assert_eq!(find_either(&high, b'"', b'\\'), Some(3));
}

#[test]
fn statuses_are_three_digits_in_range() {
    assert_eq!(parse_status(b"429"), Some(429));
    assert_eq!(parse_status(b"42"), None);
    assert_eq!(parse_status(b"600"), None);
    assert_eq!(parse_status(b"4.2"), None);
}
