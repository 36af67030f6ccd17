//! `neuralbridge serve` speaking Anthropic's Messages API to its callers
//! (`POST /v1/messages`), with OpenAI-compatible and Anthropic endpoints behind
//! it: answers, streams, failover across protocols, errors in Anthropic's shape.

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use nb_transport::{HyperTransport, RequestOptions, Transport};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use crate::common::{Server, TempDir, mock, start_server};

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

const TOKEN: &str = "nb-sidecar-token-5678";

struct Sidecar {
    _server: Server,
    base: String,
    transport: HyperTransport,
    _dir: TempDir,
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `(event, data)` pairs of a Messages stream.
    fn events(&self) -> Vec<(String, Value)> {
        let text = std::str::from_utf8(&self.body).unwrap();
        assert!(text.ends_with("\n\n"), "{text:?}");
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                let (name, data) = e.split_once('\n').unwrap();
                let name = name.strip_prefix("event: ").unwrap().to_owned();
                let data = data.strip_prefix("data: ").unwrap();
                (name, serde_json::from_str(data).unwrap())
            })
            .collect()
    }
}

async fn sidecar(mock_url: &str, name: &str) -> Sidecar {
    let dir = TempDir::new(&format!("serve-messages-{name}"));
    let config = format!(
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
    );
    let path = dir.file("serve.toml", &config);
    let args = ["serve", "--config", &path, "--listen", "127.0.0.1:0"];
    let envs = [
        ("NB_TEST_MOCK_KEY", "sk-mock-upstream-key"),
        ("NB_TEST_SERVE_TOKEN", TOKEN),
    ];
    let mut server = start_server(&args, &envs, "neuralbridge serve listening on").await;
    let mut pipe = server.stdout.take().unwrap();
    tokio::spawn(async move {
        let mut line = String::new();
        while pipe.read_line(&mut line).await.is_ok_and(|n| n > 0) {
            line.clear();
        }
    });
    Sidecar {
        base: server.base.strip_suffix("/v1").unwrap().to_owned(),
        _server: server,
        transport: HyperTransport::new().unwrap(),
        _dir: dir,
    }
}

impl Sidecar {
    /// A Messages call, the way Anthropic's SDKs send it (`x-api-key`, `anthropic-version`).
    async fn messages(&self, body: &Value, key: &str) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/v1/messages", self.base))
            .header("content-type", "application/json")
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .body(Bytes::from(body.to_string()))
            .unwrap();
        let response = self
            .transport
            .send(request, RequestOptions::default())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect_capped(1 << 20).await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }
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
    let r = s.messages(&hello("smart", false), TOKEN).await;
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
    assert_eq!(r.headers["x-neuralbridge-served-by"], "backup");
    assert_eq!(r.headers["x-neuralbridge-attempts"], "2");
    // What the OpenAI upstream saw: the system prompt and the user's text, and the key.
    let seen = server.log().requests_for("backup");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].messages, 2, "system and user");

    // An Anthropic model behind the sidecar, overloaded, then an OpenAI one.
    let r = s.messages(&hello("claude-first", false), TOKEN).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["model"], "backup");
    assert_eq!(server.log().attempts("claude-busy"), 1);
}

#[tokio::test]
async fn a_messages_stream_is_relayed_as_messages_events() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server.base_url(), "stream").await;
    let r = s.messages(&hello("smart", true), TOKEN).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.headers["content-type"], "text/event-stream");
    let events = r.events();
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
    let r = s.messages(&hello("cut", true), TOKEN).await;
    assert_eq!(r.status, 200);
    let events = r.events();
    assert_eq!(events.last().unwrap().0, "message_stop", "{events:?}");
    assert!(events.iter().all(|(n, _)| n != "error"));
    // One message, one text block, whichever model wrote each part.
    let starts = events.iter().filter(|(n, _)| n == "message_start").count();
    assert_eq!(starts, 1);
    assert_eq!(server.log().attempts("claude-ok"), 1);
    assert!(server.log().requests_for("claude-ok")[0].prefill);

    // With nowhere to continue, the stream ends with Anthropic's in-band error, never a
    // truncated message_stop.
    let r = s.messages(&hello("cutter", true), TOKEN).await;
    let events = r.events();
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
    let r = s.messages(&hello("backup", false), "wrong").await;
    assert_eq!(r.status, 401);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");

    // No max_tokens, as Anthropic requires: invalid_request_error naming the field.
    let mut body = hello("backup", false);
    body.as_object_mut().unwrap().remove("max_tokens");
    let r = s.messages(&body, TOKEN).await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["param"], "max_tokens");
    assert_eq!(server.log().len(), 0, "nothing went upstream");

    // Every target down: the sidecar's verdict, with its diagnosis kept.
    let r = s.messages(&hello("down", false), TOKEN).await;
    assert!(r.status >= 500, "{}", r.status);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert!(v["error"]["message"].is_string());
    assert!(v["error"]["neuralbridge"].is_object(), "{v}");

    // The method and the unknown-model answers too.
    let r = s.messages(&hello("nope", false), TOKEN).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["type"], "not_found_error");
}
