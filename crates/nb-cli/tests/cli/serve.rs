//! `neuralbridge serve` in front of nb-mock, driven by a plain HTTP client.

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use nb_mock::MockServer;
use nb_transport::{HyperTransport, RequestOptions, Transport};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use crate::common::{Server, TempDir, mock, run, start_server};

pub(crate) const SCENARIO: &str = r#"
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
name = "down-a"
[[models.rules]]
fault = "service_unavailable"

[[models]]
name = "down-b"
[[models.rules]]
fault = "service_unavailable"

[[models]]
name = "unlisted"

[[models]]
name = "slow"
chunks = 6
chunk_interval_ms = 150

[[models]]
name = "leaky"
[[models.rules]]
fault = { kind = "custom", status = 401, body = '{"error":{"message":"Incorrect API key provided: sk-mock-upstream-key. Bearer sk-mock-upstream-key","type":"invalid_request_error","code":"invalid_api_key"}}' }

# Answers with the provider's request id and rate-limit headers, whole and streamed.
[[models]]
name = "identified"
[[models.rules]]
streaming = false
fault = { kind = "custom", status = 200, body = '{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"identified-2026","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}', headers = { "x-request-id" = "req_upstream_1", "x-ratelimit-remaining-requests" = "99", "x-other" = "not passed on" } }
[[models.rules]]
streaming = true
fault = { kind = "custom", status = 200, content_type = "text/event-stream", body = """
data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"identified-2026","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"identified-2026","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: [DONE]

""", headers = { "request-id" = "req_upstream_2", "anthropic-ratelimit-requests-remaining" = "7" } }

# The same, for a streamed call: a rejected key opens its target's breaker at once.
[[models]]
name = "leaky-stream"
[[models.rules]]
fault = { kind = "custom", status = 401, body = '{"error":{"message":"Incorrect API key provided: sk-mock-upstream-key. Bearer sk-mock-upstream-key","type":"invalid_request_error","code":"invalid_api_key"}}' }
"#;

pub(crate) const TOKEN: &str = "nb-sidecar-token-1234";

/// The key the sidecar sends upstream.
pub(crate) const UPSTREAM_KEY: &str = "sk-mock-upstream-key";

/// The `[server]` line that makes callers send [`TOKEN`].
pub(crate) const WITH_TOKEN: &str = "auth_token_env = \"NB_TEST_SERVE_TOKEN\"";

/// A running sidecar in front of a mock.
pub(crate) struct Sidecar {
    pub(crate) server: Server,
    /// `http://127.0.0.1:<port>`, without `/v1`.
    pub(crate) base: String,
    transport: HyperTransport,
    /// Everything printed on stdout after the first line.
    pub(crate) stdout: std::sync::Arc<std::sync::Mutex<String>>,
    /// The task reading stdout: it ends when the sidecar closes it (exits).
    pub(crate) stdout_closed: Option<tokio::task::JoinHandle<()>>,
    /// Holds the config file (and the state directory, when there is one).
    pub(crate) dir: TempDir,
}

fn config(mock_url: &str, extra_server: &str) -> String {
    format!(
        r#"
[server]
{extra_server}
max_body_bytes = 4096

[policy]
max_retries = 1
failure_threshold = 2
recovery_s = 60
timeout_ladder = [5]

[[endpoints]]
name = "mock"
base_url = "{mock_url}"
api_key_env = "NB_TEST_MOCK_KEY"
models = ["primary", "backup", "cutter", "down-a", "down-b", "slow", "leaky", "leaky-stream", "identified"]

[aliases]
smart = ["primary", "backup"]
dead = ["down-a", "down-b"]
leaky-only = ["leaky"]
leaky-stream-only = ["leaky-stream"]

[catch_all]
endpoint = "mock"
fallbacks = ["backup"]
"#
    )
}

async fn sidecar(server: &MockServer, name: &str, token: bool) -> Sidecar {
    sidecar_with(server, name, if token { WITH_TOKEN } else { "" }, &[]).await
}

/// A sidecar whose `[server]` section has `extra_server` added, with extra environment.
pub(crate) async fn sidecar_with(
    server: &MockServer,
    name: &str,
    extra_server: &str,
    envs: &[(&str, &str)],
) -> Sidecar {
    sidecar_from(name, &config(&server.base_url(), extra_server), envs).await
}

/// A sidecar running the config file `config`, with the mock's key and the caller token
/// in the environment (`NB_TEST_MOCK_KEY`, `NB_TEST_SERVE_TOKEN`) and `envs`.
pub(crate) async fn sidecar_from(name: &str, config: &str, envs: &[(&str, &str)]) -> Sidecar {
    let dir = TempDir::new(&format!("serve-{name}"));
    let path = dir.file("serve.toml", config);
    let args = ["serve", "--config", &path, "--listen", "127.0.0.1:0"];
    let mut all_envs = vec![
        ("NB_TEST_MOCK_KEY", UPSTREAM_KEY),
        ("NB_TEST_SERVE_TOKEN", TOKEN),
    ];
    all_envs.extend_from_slice(envs);
    let mut server = start_server(&args, &all_envs, "neuralbridge serve listening on").await;
    // Keep draining stdout so the sidecar never blocks on a full pipe.
    let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut pipe = server.stdout.take().unwrap();
    let sink = std::sync::Arc::clone(&stdout);
    let reader = tokio::spawn(async move {
        let mut line = String::new();
        while pipe.read_line(&mut line).await.is_ok_and(|n| n > 0) {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    Sidecar {
        base: server.base.strip_suffix("/v1").unwrap().to_owned(),
        server,
        transport: HyperTransport::new().unwrap(),
        stdout,
        stdout_closed: Some(reader),
        dir,
    }
}

/// A response: status, headers, whole body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    /// The `(event, data)` pairs of an SSE body whose events are named (Anthropic's
    /// Messages streams), checking the framing on the way.
    pub(crate) fn named_events(&self) -> Vec<(String, Value)> {
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

impl Sidecar {
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        token: Option<&str>,
    ) -> Reply {
        let headers = token.map(|t| ("authorization", format!("Bearer {t}")));
        self.send_with(method, path, body, headers.as_slice()).await
    }

    /// A request with these extra headers.
    pub(crate) async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        headers: &[(&str, String)],
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let response = self
            .transport
            .send(req.body(body).unwrap(), RequestOptions::default())
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

    pub(crate) async fn chat(&self, body: Value, token: Option<&str>) -> Reply {
        let bytes = Bytes::from(body.to_string());
        self.send(Method::POST, "/v1/chat/completions", bytes, token)
            .await
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, Bytes::new(), token).await
    }
}

/// A POST with a chunked body (no Content-Length), over a raw connection; returns the status.
async fn chunked_post(base: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = base.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    // The server may answer and close before reading everything.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    std::str::from_utf8(&response[9..12])
        .unwrap()
        .parse()
        .unwrap()
}

pub(crate) fn hello(model: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": "Hi" }] })
}

/// The `data:` payloads of an SSE body, checking the framing on the way.
pub(crate) fn sse_events(body: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(body).unwrap();
    assert!(
        text.ends_with("\n\n"),
        "every event ends with a blank line: {text:?}"
    );
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data event: {e:?}"))
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_fallback_serves_the_call_and_health_shows_it() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "fallback", false).await;

    let r = s.chat(hello("smart"), None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["model"], "backup", "the model that served, not the alias");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Echo from backup: Hi"
    );
    assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
    let seen = server.log().attempts("primary") + server.log().attempts("backup");
    assert_eq!(seen, 2, "primary, then the backup at once");
    assert_eq!(r.header("x-neuralbridge-attempts"), seen.to_string());

    // The primary's second failure opens its breaker (failure_threshold = 2) ...
    let r = s.chat(hello("smart"), None).await;
    assert_eq!(r.header("x-neuralbridge-attempts"), "2");
    // ... so the next call goes straight to the backup.
    let r = s.chat(hello("smart"), None).await;
    assert_eq!(r.json()["model"], "backup");
    assert_eq!(r.header("x-neuralbridge-attempts"), "1");
    assert_eq!(
        server.log().attempts("primary"),
        2,
        "no call to an open breaker"
    );

    let h = s.get("/health", None).await;
    assert_eq!(h.status, 200);
    let h = h.json();
    let target = |name: &str| {
        h["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["model"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(target("primary")["breaker"], "open");
    assert!(target("primary")["reopens_in_s"].as_f64().unwrap() > 0.0);
    assert_eq!(target("backup")["breaker"], "closed");
    let primary = h["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "primary")
        .unwrap();
    assert_eq!(primary["reliability"]["successes"], 0);
    assert_eq!(primary["reliability"]["calls"], 2);
    // An open breaker is never reported healthy: the primary is excluded
    // until a probe succeeds, and the verdict is degraded (still a 200:
    // the backup serves).
    assert_eq!(primary["status"], "excluded");
    assert_eq!(primary["observed"], "degraded", "two calls, both failed");
    assert_eq!(primary["exclusion"]["reason"], "breaker_open");
    assert_eq!(primary["exclusion"]["until"], "probe");
    assert!(primary["exclusion"]["at_unix_ms"].as_u64().unwrap() > 0);
    assert_eq!(target("primary")["status"], "excluded");
    assert_eq!(target("primary")["exclusion"]["reason"], "breaker_open");
    assert_eq!(target("backup")["status"], "active");
    assert_eq!(h["verdict"], "degraded");
    assert!(h.get("healthy").is_none(), "one vocabulary: the verdict");
    let listed = |key: &str| h[key].as_array().unwrap().iter().any(|m| m == "primary");
    assert!(listed("excluded_models") && !listed("active_models"));
    assert!(
        h["recommendations"][0]
            .as_str()
            .unwrap()
            .starts_with("Avoid primary until a probe succeeds"),
        "{}",
        h["recommendations"]
    );
}

#[tokio::test]
async fn the_providers_request_id_and_rate_limit_headers_reach_the_caller() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "identified", false).await;
    let r = s.chat(hello("identified"), None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-request-id"), "req_upstream_1");
    assert_eq!(r.header("x-ratelimit-remaining-requests"), "99");
    assert_eq!(r.header("x-other"), "", "only the id and the limits");
    assert_eq!(
        r.json()["model"],
        "identified-2026",
        "as the provider named it"
    );
    assert_eq!(r.header("x-neuralbridge-served-by"), "identified");

    let mut body = hello("identified");
    body["stream"] = json!(true);
    let r = s.chat(body, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("request-id"), "req_upstream_2");
    assert_eq!(r.header("anthropic-ratelimit-requests-remaining"), "7");
    assert_eq!(sse_events(&r.body).last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn streaming_relays_openais_sse_format() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "stream", false).await;

    let mut body = hello("smart");
    body["stream"] = json!(true);
    let r = s.chat(body.clone(), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "text/event-stream");
    assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
    assert_eq!(r.header("cache-control"), "no-cache");
    let events = sse_events(&r.body);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let mut text = String::new();
    for (i, chunk) in chunks.iter().enumerate() {
        // OpenAI's chunk: id, object, created, model, choices[].{index, delta, finish_reason}.
        assert!(
            chunk["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{chunk}"
        );
        assert_eq!(chunk["id"], chunks[0]["id"], "one id for the whole answer");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk["created"].as_u64().is_some(), "{chunk}");
        assert_eq!(chunk["model"], "backup");
        let choices = chunk["choices"].as_array().unwrap();
        assert!(!choices.is_empty(), "no usage-only chunk unless asked for");
        assert_eq!(choices[0]["index"], 0);
        assert!(choices[0]["delta"].is_object(), "{chunk}");
        let finish = choices[0]
            .get("finish_reason")
            .expect("finish_reason is always there");
        if i + 1 == chunks.len() {
            assert_eq!(finish, "stop");
        } else {
            assert!(finish.is_null(), "{chunk}");
        }
        assert!(chunk.get("usage").is_none());
        text.push_str(
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or_default(),
        );
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(text, "Echo from backup: Hi");

    // Asked for, usage comes in its own chunk before [DONE].
    body["stream_options"] = json!({ "include_usage": true });
    let r = s.chat(body, None).await;
    let events = sse_events(&r.body);
    let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_stream_cut_after_content_ends_with_an_error_event_not_done() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "cut", false).await;
    let mut body = hello("cutter");
    body["stream"] = json!(true);
    let r = s.chat(body, None).await;
    assert_eq!(r.status, 200, "content was flowing when the stream broke");
    let events = sse_events(&r.body);
    assert!(
        !events.iter().any(|e| e == "[DONE]"),
        "never a truncated success"
    );
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_interrupted", "{last}");
    assert_eq!(last["error"]["type"], "server_error", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Part of the answer was sent before the stream broke."),
        "{last}"
    );
    assert!(
        events.len() >= 2,
        "content came before the error: {events:?}"
    );
}

#[tokio::test]
async fn every_model_cooling_down_is_a_503_with_retry_after() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "cooling", false).await;
    let r = s.chat(hello("dead"), None).await;
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    // The provider's own code passes through; the diagnosis is beside it.
    assert_eq!(r.json()["error"]["code"], "service_unavailable");
    assert_eq!(r.json()["error"]["neuralbridge"]["category"], "overloaded");
    assert_eq!(r.header("x-nb-category"), "overloaded");
    assert_eq!(
        r.json()["error"]["neuralbridge"]["attempts"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let r = s.chat(hello("dead"), None).await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["error"]["code"], "cooling_down");
    assert_eq!(v["error"]["type"], "server_error");
    let wait: u64 = r.header("retry-after").parse().unwrap();
    assert!((1..=10).contains(&wait), "capped at 10 s: {wait}");
    assert_eq!(
        server.log().attempts("down-a"),
        2,
        "no call while cooling down"
    );
    assert_eq!(server.log().attempts("down-b"), 2);
}

#[tokio::test]
async fn caller_token_size_cap_and_malformed_requests() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "guard", true).await;

    for token in [None, Some("wrong-token")] {
        let r = s.chat(hello("backup"), token).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error"]["code"], "invalid_api_key");
    }
    assert_eq!(s.get("/v1/models", None).await.status, 401);
    assert_eq!(server.log().len(), 0, "rejected calls never go upstream");
    let ok = s.chat(hello("backup"), Some(TOKEN)).await;
    assert_eq!(ok.status, 200);
    let seen = &server.log().requests_for("backup")[0];
    assert_eq!(
        seen.credential.last4(),
        Some("-key"),
        "upstream gets the configured key, not the caller's token"
    );

    let bad = s
        .send(
            Method::POST,
            "/v1/chat/completions",
            Bytes::from_static(b"{not json"),
            Some(TOKEN),
        )
        .await;
    assert_eq!(bad.status, 400);
    let v = bad.json();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "invalid_json");
    assert!(v["error"].get("param").is_some());

    let r = s
        .chat(json!({ "model": "backup", "messages": [] }), Some(TOKEN))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "missing_messages");

    let big =
        json!({ "model": "backup", "messages": [{ "role": "user", "content": "x".repeat(8000) }] });
    let r = s.chat(big, Some(TOKEN)).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "request_too_large");

    // Without a Content-Length the cap applies while reading.
    let status = chunked_post(&s.base, &"x".repeat(5000)).await;
    assert_eq!(status, 413);

    let r = s.get("/v2/anything", Some(TOKEN)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    assert_eq!(server.log().len(), 1, "only the good call went upstream");
}

#[tokio::test]
async fn models_catch_all_and_unknown_endpoints() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "routes", false).await;

    let m = s.get("/v1/models", None).await.json();
    assert_eq!(m["object"], "list");
    let ids: Vec<&str> = m["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"smart") && ids.contains(&"backup"), "{ids:?}");
    let one = s.get("/v1/models/backup", None).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["id"], "backup");
    assert_eq!(one.json()["object"], "model");
    let none = s.get("/v1/models/nope", None).await;
    assert_eq!(none.status, 404);
    assert_eq!(none.json()["error"]["code"], "model_not_found");

    // Not named in the config: the catch-all endpoint serves it under its own name.
    let r = s.chat(hello("unlisted"), None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["model"], "unlisted");
    assert_eq!(server.log().attempts("unlisted"), 1);

    let r = s.chat(hello("x@no-such-endpoint"), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "model_not_found");
}

#[test]
fn a_bad_config_is_refused_up_front_with_every_problem() {
    let dir = TempDir::new("serve-bad");
    let path = dir.file(
        "bad.toml",
        "[[endpoints]]\nname = \"a\"\nbase_url = \"http://127.0.0.1:1/v1\"\n\
         api_key_env = \"NB_CLI_TEST_SURELY_UNSET\"\nmodels = [\"m\"]\n\
         [aliases]\nx = [\"ghost\"]\n",
    );
    let r = run(&["serve", "--config", &path, "--check"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("NB_CLI_TEST_SURELY_UNSET is not set"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("aliases.x: `ghost`"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[tokio::test]
async fn metrics_count_requests_attempts_failures_and_tokens_and_carry_no_secret() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "metrics", true).await;
    let r = s.chat(hello("smart"), Some(TOKEN)).await;
    assert_eq!(r.status, 200);
    let m = s.get("/metrics", None).await;
    assert_eq!(m.status, 200, "no token needed, as for /health");
    assert!(
        m.header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(m.body.to_vec()).unwrap();
    for line in [
        "nb_requests_total{route=\"chat\",status=\"200\"} 1",
        "nb_attempts_total{model=\"primary\",endpoint=\"mock\",outcome=\"failed\"} 1",
        "nb_attempts_total{model=\"backup\",endpoint=\"mock\",outcome=\"served\"} 1",
        "nb_request_duration_seconds_count{stream=\"false\"} 1",
        "nb_breaker_state{model=\"primary\",endpoint=\"mock\"}",
        "# TYPE nb_breaker_opened_total counter",
        "nb_breaker_opened_total{model=\"backup\",endpoint=\"mock\"} 0",
        "nb_in_flight 0",
        "# TYPE nb_attempt_failures_total counter",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    assert!(
        text.contains("nb_attempt_failures_total{model=\"primary\",endpoint=\"mock\","),
        "{text}"
    );
    assert!(
        text.contains("nb_tokens_total{model=\"backup\",kind=\"completion\"}"),
        "{text}"
    );
    assert!(
        !text.contains(TOKEN) && !text.contains(UPSTREAM_KEY),
        "no secret: {text}"
    );

    // The primary's second failure opens its breaker (failure_threshold = 2): counted once.
    s.chat(hello("smart"), Some(TOKEN)).await;
    let text = String::from_utf8(s.get("/metrics", None).await.body.to_vec()).unwrap();
    assert!(
        text.contains("nb_breaker_opened_total{model=\"primary\",endpoint=\"mock\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn an_upstream_error_reaches_the_caller_in_the_providers_own_words() {
    let scenario = format!(
        r#"{SCENARIO}
[[models]]
name = "strict"
[[models.rules]]
fault = {{ kind = "custom", status = 400, headers = {{ "x-request-id" = "req_abc123" }}, body = '{{"error":{{"message":"Invalid value for temperature: must be at most 2.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}}}' }}
"#
    );
    let server = mock(&scenario).await;
    let s = sidecar(&server, "fidelity", false).await;
    let r = s.chat(hello("strict"), None).await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        v["error"]["message"],
        "Invalid value for temperature: must be at most 2."
    );
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["param"], "temperature");
    assert_eq!(v["error"]["code"], "invalid_value");
    assert_eq!(v["error"]["neuralbridge"]["category"], "invalid_request");
    assert_eq!(r.header("x-nb-category"), "invalid_request");
    assert_eq!(r.header("x-request-id"), "req_abc123");
}

#[tokio::test]
async fn embeddings_are_served_by_the_model_asked_for_and_never_another() {
    let server = mock(SCENARIO).await;
    let s = sidecar(&server, "embeddings", false).await;
    let body = json!({ "model": "backup", "input": ["first", "second"] });
    let r = s
        .send(
            Method::POST,
            "/v1/embeddings",
            Bytes::from(body.to_string()),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "backup");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let second: Vec<f32> = serde_json::from_value(v["data"][1]["embedding"].clone()).unwrap();
    assert_eq!(second, nb_mock::embeddings::vector("backup", "second"));
    assert_eq!(r.header("x-neuralbridge-served-by"), "backup");
    assert_eq!(r.header("x-neuralbridge-endpoint"), "mock");

    // The alias `smart` falls back from primary to backup for chat; an
    // embeddings call for primary fails rather than mixing models' vectors.
    let body = json!({ "model": "primary", "input": "x" });
    let r = s
        .send(
            Method::POST,
            "/v1/embeddings",
            Bytes::from(body.to_string()),
            None,
        )
        .await;
    assert!(r.status >= 500, "{}", r.status);
    assert_eq!(
        r.json()["error"]["neuralbridge"]["category"],
        "server_error"
    );
    assert_eq!(server.log().attempts("backup"), 1, "only the first call");

    // A body that is not an embeddings request.
    let r = s
        .send(
            Method::POST,
            "/v1/embeddings",
            Bytes::from_static(b"{\"model\":\"backup\"}"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "invalid_json");
}
