//! `neuralbridge serve` speaking Anthropic's Messages API to its callers
//! (`POST /v1/messages`), with OpenAI-compatible and Anthropic endpoints behind
//! it: answers, streams, failover across protocols, errors in Anthropic's shape.

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::common::mock;
use crate::serve::{Reply, Sidecar, TOKEN, sidecar_from};

const SCENARIO: &str = r#"
[[models]]
name = "primary"
[[models.rules]]
fault = "server_error"

[[models]]
name = "backup"
chunks = 3

[[models]]
name = "cutter"
chunks = 4
[[models.rules]]
streaming = true
fault = { kind = "stream_cut", after_chunks = 2 }

[[models]]
name = "claude-busy"
[[models.rules]]
fault = "overloaded"

[[models]]
name = "claude-ok"
chunks = 3

[[models]]
name = "down"
[[models.rules]]
fault = "service_unavailable"
"#;

fn config(mock_url: &str) -> String {
    format!(
        r#"
[server]
auth_token_env = "NB_TEST_SERVE_TOKEN"

[policy]
max_retries = 1
timeout_ladder = [5]
stream = "continue"

[[endpoints]]
name = "openai"
base_url = "{mock_url}"
api_key_env = "NB_TEST_MOCK_KEY"
models = ["primary", "backup", "cutter", "down"]

[[endpoints]]
name = "anthropic"
protocol = "anthropic"
base_url = "{mock_url}"
api_key_env = "NB_TEST_MOCK_KEY"
models = ["claude-busy", "claude-ok"]

[aliases]
smart = ["primary", "backup"]
claude-first = ["claude-busy", "backup"]
cut = ["cutter", "claude-ok"]
"#
    )
}

async fn sidecar(mock_url: &str, name: &str) -> Sidecar {
    sidecar_from(&format!("messages-{name}"), &config(mock_url), &[]).await
}

/// A Messages call, the way Anthropic's SDKs send it (`x-api-key`, `anthropic-version`).
async fn messages(s: &Sidecar, body: &Value, key: &str) -> Reply {
    let headers = [
        ("x-api-key", key.to_owned()),
        ("anthropic-version", "2023-06-01".to_owned()),
    ];
    s.send_with(
        Method::POST,
        "/v1/messages",
        Bytes::from(body.to_string()),
        &headers,
    )
    .await
}

fn hello(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 256,
        "system": "Be brief.",
        "stream": stream,
        "messages": [{ "role": "user", "content": [{ "type": "text", "text": "Hi" }] }],
    })
}

#[tokio::test]
async fn a_messages_call_fails_over_to_openai_and_comes_back_as_a_message() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server.base_url(), "failover").await;
    let r = messages(&s, &hello("smart", false), TOKEN).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "backup");
    assert_eq!(v["content"][0]["type"], "text");
    assert_eq!(v["content"][0]["text"], "Echo from backup: Hi");
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
    assert_eq!(r.header("x-neuralbridge-attempts"), "2");
    // What the OpenAI upstream saw: the system prompt and the user's text, and the key.
    let seen = server.log().requests_for("backup");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].messages, 2, "system and user");

    // An Anthropic model behind the sidecar, overloaded, then an OpenAI one.
    let r = messages(&s, &hello("claude-first", false), TOKEN).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["model"], "backup");
    assert_eq!(server.log().attempts("claude-busy"), 1);
}

#[tokio::test]
async fn a_messages_stream_is_relayed_as_messages_events() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server.base_url(), "stream").await;
    let r = messages(&s, &hello("smart", true), TOKEN).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "text/event-stream");
    let events = r.named_events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names[1], "content_block_start");
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Echo from backup: Hi");
    let delta = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_stream_cut_mid_answer_continues_on_an_anthropic_model_without_a_seam() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server.base_url(), "continue").await;
    let r = messages(&s, &hello("cut", true), TOKEN).await;
    assert_eq!(r.status, 200);
    let events = r.named_events();
    assert_eq!(events.last().unwrap().0, "message_stop", "{events:?}");
    assert!(events.iter().all(|(n, _)| n != "error"));
    // One message, one text block, whichever model wrote each part.
    let starts = events.iter().filter(|(n, _)| n == "message_start").count();
    assert_eq!(starts, 1);
    assert_eq!(server.log().attempts("claude-ok"), 1);
    assert!(server.log().requests_for("claude-ok")[0].prefill);

    // With nowhere to continue, the stream ends with Anthropic's in-band error, never a
    // truncated message_stop.
    let r = messages(&s, &hello("cutter", true), TOKEN).await;
    let events = r.named_events();
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error", "{events:?}");
    assert_eq!(data["error"]["type"], "api_error");
    assert!(events.iter().all(|(n, _)| n != "message_stop"));
}

#[tokio::test]
async fn errors_come_back_in_anthropics_shape() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server.base_url(), "errors").await;

    // A wrong key: authentication_error.
    let r = messages(&s, &hello("backup", false), "wrong").await;
    assert_eq!(r.status, 401);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");

    // No max_tokens, as Anthropic requires: invalid_request_error naming the field.
    let mut body = hello("backup", false);
    body.as_object_mut().unwrap().remove("max_tokens");
    let r = messages(&s, &body, TOKEN).await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["param"], "max_tokens");
    assert_eq!(server.log().len(), 0, "nothing went upstream");

    // Every target down: the sidecar's verdict, with its diagnosis kept.
    let r = messages(&s, &hello("down", false), TOKEN).await;
    assert!(r.status >= 500, "{}", r.status);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert!(v["error"]["message"].is_string());
    assert!(v["error"]["neuralbridge"].is_object(), "{v}");

    // The method and the unknown-model answers too.
    let r = messages(&s, &hello("nope", false), TOKEN).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["type"], "not_found_error");
}
