//! `neuralbridge serve`'s answer guards and equivalence constraints, in
//! front of nb-mock: structured answers checked against the request's
//! schema, and fallbacks held to what a request accepts.

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::common::mock;
use crate::serve::{Sidecar, sidecar_from, sse_events};

/// `primary` answers in the wrong shape (and calls a tool with bad
/// arguments); `peer` (its tier) and `backup` answer well.
const SCENARIO: &str = r#"
[[models]]
name = "primary"
reply = '{"name": "Ada", "age": "thirty-six"}'

[[models.rules]]
contains = "save me"
fault = { kind = "custom", status = 200, body = '{"id":"x","object":"chat.completion","model":"primary","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"save_person","arguments":"{\"name\": \"Ada\"}"}}]},"finish_reason":"tool_calls"}]}' }

[[models]]
name = "peer"
reply = '{"name": "Ada", "age": 36}'

[[models]]
name = "backup"
reply = '{"name": "Ada", "age": 36}'
"#;

fn config(mock_url: &str, extra: &str) -> String {
    format!(
        r#"
[policy]
max_retries = 0
{extra}

[[endpoints]]
name = "mock"
base_url = "{mock_url}"
api_key_env = "NB_TEST_MOCK_KEY"
models = ["primary", "peer", "backup"]

[aliases]
smart = ["primary", "backup", "peer"]

[tiers]
large = ["primary", "peer"]
"#
    )
}

fn person() -> Value {
    json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"]
    })
}

fn structured(stream: bool) -> Value {
    json!({
        "model": "smart",
        "stream": stream,
        "messages": [{"role": "user", "content": "Who is Ada?"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": person()}}
    })
}

async fn post(s: &Sidecar, body: Value, headers: &[(&str, String)]) -> crate::serve::Reply {
    let bytes = Bytes::from(body.to_string());
    s.send_with(Method::POST, "/v1/chat/completions", bytes, headers)
        .await
}

#[tokio::test]
async fn an_answer_off_the_schema_is_fallen_back_from_and_the_header_says_so() {
    let server = mock(SCENARIO).await;
    let s = sidecar_from("guard-schema", &config(&server.base_url(), ""), &[]).await;
    let r = s.chat(structured(false), None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
    assert_eq!(r.header("x-neuralbridge-served-requested"), "false");
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        r#"{"name": "Ada", "age": 36}"#
    );
    assert_eq!(server.log().attempts("primary"), 1);

    // A plain request is not checked: the primary's text is served.
    let plain = json!({"model": "smart", "messages": [{"role": "user", "content": "Hi"}]});
    let r = s.chat(plain, None).await;
    assert_eq!(r.header("x-neuralbridge-served-by"), "primary");
    assert_eq!(r.header("x-neuralbridge-served-requested"), "true");
}

#[tokio::test]
async fn tool_call_arguments_off_the_parameters_are_fallen_back_from() {
    let server = mock(SCENARIO).await;
    let s = sidecar_from("guard-tools", &config(&server.base_url(), ""), &[]).await;
    let body = json!({
        "model": "smart",
        "messages": [{"role": "user", "content": "save me, please"}],
        "tools": [{"type": "function", "function": {"name": "save_person", "parameters": person()}}]
    });
    let r = s.chat(body, None).await;
    assert_eq!(r.status, 200);
    // The backup answers with text, which a request offering tools may.
    assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
    assert_eq!(server.log().attempts("primary"), 1);
}

#[tokio::test]
async fn same_model_and_tier_requests_are_never_served_from_outside() {
    let server = mock(SCENARIO).await;
    let s = sidecar_from("guard-fallback", &config(&server.base_url(), ""), &[]).await;
    let same = [("x-nb-fallback", "same-model".to_owned())];
    let r = post(&s, structured(false), &same).await;
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(server.log().attempts("backup"), 0);
    assert_eq!(server.log().attempts("peer"), 0);

    let tier = [("x-nb-fallback", "tier".to_owned())];
    let r = post(&s, structured(false), &tier).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-neuralbridge-served-by"), "peer");
    assert_eq!(r.header("x-neuralbridge-served-requested"), "false");
    assert_eq!(server.log().attempts("backup"), 0, "outside the tier");

    let bad = [("x-nb-fallback", "whatever".to_owned())];
    let r = post(&s, structured(false), &bad).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "invalid_fallback");
}

#[tokio::test]
async fn the_configured_constraint_holds_unless_a_header_widens_it() {
    let server = mock(SCENARIO).await;
    let text = config(&server.base_url(), "fallback = \"tier\"");
    let s = sidecar_from("guard-configured", &text, &[]).await;
    let r = s.chat(structured(false), None).await;
    assert_eq!(r.header("x-neuralbridge-served-by"), "peer");
    let any = [("x-nb-fallback", "any".to_owned())];
    let r = post(&s, structured(false), &any).await;
    assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
}

#[tokio::test]
async fn a_streamed_answer_off_the_schema_ends_in_an_error_never_done() {
    let server = mock(SCENARIO).await;
    let s = sidecar_from("guard-stream", &config(&server.base_url(), ""), &[]).await;
    let r = s.chat(structured(true), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-neuralbridge-served-by"), "primary");
    let events = sse_events(&r.body);
    assert!(!events.iter().any(|e| e == "[DONE]"), "{events:?}");
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "answer_rejected", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("schema"),
        "{last}"
    );
}

#[tokio::test]
async fn the_schema_guard_can_be_turned_off() {
    let server = mock(SCENARIO).await;
    let text = config(&server.base_url(), "schema_guard = false");
    let s = sidecar_from("guard-off", &text, &[]).await;
    let r = s.chat(structured(false), None).await;
    assert_eq!(r.header("x-neuralbridge-served-by"), "primary");
}
