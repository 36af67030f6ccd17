//! Every fault, observed on the wire with a raw HTTP/1.1 client.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod common;

use std::time::Duration;

use common::{End, call, call_with, chat, chat_exchange, exchange, post, start};
use nb_mock::{Fault, MockServer, ModelBehavior, Scenario, ScenarioRule};
use serde_json::json;

/// A server whose model `m` always commits `fault`.
async fn always(fault: Fault) -> MockServer {
    let scenario = Scenario::builder()
        .model(
            ModelBehavior::new("m")
                .chunks(4)
                .rule(ScenarioRule::new(fault)),
        )
        .build()
        .unwrap();
    MockServer::start(scenario).await.unwrap()
}

#[tokio::test]
async fn a_healthy_completion_names_the_model_and_reports_usage() {
    let server = always(Fault::ServerError).await;
    server.set_model(ModelBehavior::new("m")).unwrap();
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.complete);
    assert_eq!(reply.header("x-nb-mock-fault"), None);
    let json = reply.json();
    assert_eq!(json["object"], "chat.completion");
    assert_eq!(json["model"], "m");
    assert_eq!(json["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        json["choices"][0]["message"]["content"],
        "Echo from m: Hello there"
    );
    assert_eq!(json["choices"][0]["finish_reason"], "stop");
    let usage = &json["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(usage["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        )
    );
}

#[tokio::test]
async fn a_healthy_stream_has_the_configured_chunks_a_finish_and_done() {
    let server = start(
        r#"
        [[models]]
        name = "m"
        chunks = 6
        reply = "The quick brown fox jumps."
        "#,
    )
    .await;
    let reply = call(&server, &chat("m", true)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert!(reply.complete, "the terminating chunk arrived");
    assert_eq!(reply.end, End::Eof);
    let events = reply.events();
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = reply.chunks();
    // six content chunks and the finish chunk; no usage was asked for
    assert_eq!(chunks.len(), 7);
    assert!(
        chunks
            .iter()
            .all(|c| c["model"] == "m" && c["object"] == "chat.completion.chunk")
    );
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[6]["choices"][0]["finish_reason"], "stop");
    assert_eq!(reply.streamed_text(), "The quick brown fox jumps.");
}

#[tokio::test]
async fn include_usage_adds_a_usage_chunk_before_done() {
    let server = start("[[models]]\nname = \"m\"\nchunks = 2").await;
    let mut body = chat("m", true);
    body["stream_options"] = json!({ "include_usage": true });
    let reply = call(&server, &body).await;
    let chunks = reply.chunks();
    assert_eq!(chunks.len(), 4);
    assert!(
        chunks[..3]
            .iter()
            .all(|c| c["usage"].is_null() && c.get("usage").is_some())
    );
    let last = &chunks[3];
    assert_eq!(last["choices"], json!([]));
    assert!(last["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert!(server.log().last().unwrap().include_usage);
}

/// Error faults: status, content type, and a check of the body.
#[tokio::test]
async fn error_faults_have_their_status_and_body_shape() {
    type Check = fn(&serde_json::Value);
    let cases: [(Fault, u16, Check); 10] = [
        (Fault::InsufficientQuota, 429, |b| {
            assert_eq!(b["error"]["code"], "insufficient_quota")
        }),
        (Fault::InvalidApiKey, 401, |b| {
            assert_eq!(b["error"]["code"], "invalid_api_key")
        }),
        (Fault::PermissionDenied, 403, |b| {
            assert_eq!(b["error"]["type"], "permission_error")
        }),
        (Fault::ModelNotFound, 404, |b| {
            assert_eq!(b["error"]["code"], "model_not_found");
            assert!(b["error"]["message"].as_str().unwrap().contains("`m`"));
        }),
        (Fault::ContextLengthExceeded, 400, |b| {
            assert_eq!(b["error"]["code"], "context_length_exceeded");
            assert_eq!(b["error"]["param"], "messages");
        }),
        (Fault::ContentFilter, 400, |b| {
            assert_eq!(b["error"]["code"], "content_filter");
            let result = &b["error"]["innererror"]["content_filter_result"];
            assert_eq!(result["violence"]["filtered"], true);
        }),
        (Fault::ServerError, 500, |b| {
            assert_eq!(b["error"]["type"], "server_error")
        }),
        (
            Fault::ServiceUnavailable {
                retry_after_s: None,
            },
            503,
            |b| {
                assert_eq!(b["error"]["code"], "service_unavailable");
            },
        ),
        (Fault::Overloaded, 529, |b| {
            assert_eq!(b["type"], "error");
            assert_eq!(b["error"]["type"], "overloaded_error");
        }),
        (Fault::RejectPrefill, 400, |b| {
            assert_eq!(b["error"]["code"], "prefill_not_supported")
        }),
    ];
    for (fault, status, check) in cases {
        let server = always(fault.clone()).await;
        let mut body = chat("m", false);
        body["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "role": "assistant", "content": "Sure," }));
        let reply = call(&server, &body).await;
        assert_eq!(reply.status, status, "{fault}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{fault}"
        );
        assert_eq!(reply.header("x-nb-mock-fault"), Some(fault.name()));
        assert!(reply.header("retry-after").is_none(), "{fault}");
        check(&reply.json());
        assert_eq!(server.log().last().unwrap().fault, Some(fault));
    }
}

#[tokio::test]
async fn rate_limits_carry_retry_after_only_when_told() {
    let server = always(Fault::RateLimit {
        retry_after_s: Some(2),
        retry_after_ms: Some(1500),
    })
    .await;
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("2"));
    assert_eq!(reply.header("retry-after-ms"), Some("1500"));
    let json = reply.json();
    assert_eq!(json["error"]["code"], "rate_limit_exceeded");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("try again in 2s")
    );

    let server = always(Fault::rate_limit()).await;
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), None);
    assert_eq!(reply.header("retry-after-ms"), None);
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!message.contains("try again"), "{message}");
}

#[tokio::test]
async fn service_unavailable_can_carry_retry_after() {
    let server = always(Fault::ServiceUnavailable {
        retry_after_s: Some(7),
    })
    .await;
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (503, Some("7"))
    );
}

#[tokio::test]
async fn bad_gateway_is_an_html_page() {
    let server = always(Fault::BadGateway).await;
    let reply = call(&server, &chat("m", true)).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert!(reply.text().starts_with("<html>"));
    assert!(reply.text().contains("502 Bad Gateway"));
}

#[tokio::test]
async fn custom_faults_send_what_they_say() {
    let scenario = Scenario::from_toml_str(
        r#"
        [[models]]
        name = "m"
        [[models.rules]]
        fault = { kind = "custom", status = 402, body = '{"error":{"message":"Arrearage"}}', headers = { "x-trace" = "abc" } }
        "#,
    )
    .unwrap();
    let server = MockServer::start(scenario).await.unwrap();
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 402);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("x-trace"), Some("abc"));
    assert_eq!(reply.json()["error"]["message"], "Arrearage");
}

#[tokio::test(start_paused = true)]
async fn a_hang_sends_nothing_and_ends_when_the_client_leaves() {
    let server = always(Fault::Hang).await;
    let exchange = chat_exchange(&server, &chat("m", false), Duration::from_secs(600)).await;
    assert_eq!(exchange.end, End::Silent);
    assert!(exchange.raw.is_empty());
    assert_eq!(server.log().last().unwrap().fault, Some(Fault::Hang));
    // The client's socket is closed now; the server notices and lets the connection go.
    for _ in 0..1000 {
        if server.open_connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(server.open_connections(), 0);
}

#[tokio::test]
async fn a_reset_drops_the_connection_before_any_byte() {
    let server = always(Fault::ConnectionReset).await;
    let exchange = chat_exchange(&server, &chat("m", true), Duration::from_secs(30)).await;
    assert_eq!(exchange.end, End::Reset);
    assert!(exchange.raw.is_empty());
    assert_eq!(server.log().attempts("m"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_token_comes_after_the_head() {
    let delay = Duration::from_secs(3);
    let server = always(Fault::SlowFirstToken {
        delay,
        before_headers: false,
    })
    .await;
    let reply = call(&server, &chat("m", true)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.head_at < delay, "head at {:?}", reply.head_at);
    assert!(reply.first_event_at.unwrap() >= delay);
    assert_eq!(reply.events().last().map(String::as_str), Some("[DONE]"));

    // Not streaming: the head at once, the body after the delay.
    let exchange = chat_exchange(&server, &chat("m", false), Duration::from_secs(30)).await;
    let body_at = exchange.reads.last().unwrap().1;
    let reply = exchange.parse();
    assert!(reply.head_at < delay && body_at >= delay);
    assert!(reply.complete);
    assert_eq!(reply.json()["model"], "m");
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_token_can_delay_the_head() {
    let delay = Duration::from_millis(1500);
    let server = always(Fault::SlowFirstToken {
        delay,
        before_headers: true,
    })
    .await;
    let reply = call(&server, &chat("m", true)).await;
    assert!(reply.head_at >= delay);
    assert!(reply.complete);
}

#[tokio::test]
async fn a_cut_stream_stops_after_n_chunks_without_any_terminator() {
    let server = always(Fault::StreamCut { after_chunks: 2 }).await;
    let reply = call(&server, &chat("m", true)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.end, End::Eof);
    assert!(!reply.complete, "no terminating HTTP chunk");
    let events = reply.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(!events.contains(&"[DONE]".to_owned()));
    assert!(
        reply
            .chunks()
            .iter()
            .all(|c| c["choices"][0]["finish_reason"].is_null())
    );
}

#[tokio::test]
async fn a_cut_before_any_chunk_sends_only_the_head() {
    let server = always(Fault::StreamCut { after_chunks: 0 }).await;
    let reply = call(&server, &chat("m", true)).await;
    assert_eq!(reply.status, 200);
    assert!(!reply.complete);
    assert!(reply.events().is_empty());
}

#[tokio::test]
async fn a_cut_completion_is_shorter_than_its_content_length() {
    let server = always(Fault::StreamCut { after_chunks: 1 }).await;
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 200);
    let length: usize = reply.header("content-length").unwrap().parse().unwrap();
    assert!(!reply.complete && reply.body.len() < length && !reply.body.is_empty());
    assert_eq!(reply.end, End::Eof);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_stream_goes_silent_with_the_socket_open() {
    let server = always(Fault::StreamStall { after_chunks: 1 }).await;
    let stalled = chat_exchange(&server, &chat("m", true), Duration::from_secs(300)).await;
    assert_eq!(stalled.end, End::Silent);
    let reply = stalled.parse();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.events().len(), 1);
    assert!(!reply.complete);

    // Not streaming: half the body, then silence.
    let stalled = chat_exchange(&server, &chat("m", false), Duration::from_secs(300)).await;
    assert_eq!(stalled.end, End::Silent);
    let reply = stalled.parse();
    let length: usize = reply.header("content-length").unwrap().parse().unwrap();
    assert!(!reply.complete && !reply.body.is_empty() && reply.body.len() < length);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_connection_is_let_go_when_the_client_leaves() {
    let server = always(Fault::StreamStall { after_chunks: 1 }).await;
    for stream in [true, false] {
        let stalled = chat_exchange(&server, &chat("m", stream), Duration::from_secs(300)).await;
        assert_eq!(stalled.end, End::Silent);
        // The client's socket is closed now; the stalled body must not hold the connection.
        for _ in 0..1000 {
            if server.open_connections() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(server.open_connections(), 0, "stream: {stream}");
    }
}

#[tokio::test]
async fn a_malformed_chunk_sits_mid_stream_and_the_stream_completes() {
    let server = always(Fault::MalformedChunk { after_chunks: 1 }).await;
    let reply = call(&server, &chat("m", true)).await;
    assert!(reply.complete);
    let events = reply.events();
    // content, broken, 3 content, finish, [DONE]
    assert_eq!(events.len(), 7, "{events:?}");
    assert!(serde_json::from_str::<serde_json::Value>(&events[0]).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&events[1]).is_err());
    assert!(
        events[2..6]
            .iter()
            .all(|e| serde_json::from_str::<serde_json::Value>(e).is_ok())
    );
    assert_eq!(events[6], "[DONE]");

    // Not streaming: a 200 whose JSON is broken.
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&reply.body).is_err());
}

#[tokio::test]
async fn a_stream_error_is_an_in_band_error_after_content_and_a_clean_end() {
    let server = always(Fault::StreamError { after_chunks: 2 }).await;
    let reply = call(&server, &chat("m", true)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.complete, "the HTTP stream itself ends cleanly");
    assert_eq!(reply.header("x-nb-mock-fault"), Some("stream_error"));
    let events = reply.events();
    // 2 content chunks, then the error chunk; no finish, no [DONE].
    assert_eq!(events.len(), 3, "{events:?}");
    let error: serde_json::Value = serde_json::from_str(&events[2]).unwrap();
    assert_eq!(error["error"]["type"], "server_error");

    // Not streaming: the overload as an error response.
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 503);
    assert!(reply.json()["error"]["message"].is_string());
}

#[tokio::test]
async fn a_stream_without_done_ends_cleanly_with_or_without_a_finish() {
    let server = always(Fault::NoDone {
        finish_reason: false,
    })
    .await;
    let reply = call(&server, &chat("m", true)).await;
    assert!(reply.complete, "the HTTP body ends normally");
    let events = reply.events();
    assert!(!events.contains(&"[DONE]".to_owned()));
    assert_eq!(events.len(), 4);
    assert!(
        reply
            .chunks()
            .iter()
            .all(|c| c["choices"][0]["finish_reason"].is_null())
    );

    let server = always(Fault::NoDone {
        finish_reason: true,
    })
    .await;
    let reply = call(&server, &chat("m", true)).await;
    assert!(reply.complete);
    let chunks = reply.chunks();
    assert_eq!(chunks.len(), 5);
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    assert!(!reply.events().contains(&"[DONE]".to_owned()));
}

#[tokio::test]
async fn truncated_json_is_a_complete_200_with_half_a_completion() {
    let server = always(Fault::TruncatedJson).await;
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.complete);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<serde_json::Value>(&reply.body).is_err());
    assert!(reply.text().starts_with("{\"id\":\"chatcmpl-"));
}

#[tokio::test]
async fn prefill_is_rejected_only_when_the_last_message_is_the_assistants() {
    let server = always(Fault::RejectPrefill).await;
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 200);
    let mut body = chat("m", true);
    body["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "role": "assistant", "content": "Partial answer" }));
    let reply = call(&server, &body).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("prefill")
    );
    let log = server.log().requests();
    assert_eq!((log[0].prefill, log[0].fault.clone()), (false, None));
    assert_eq!(
        (log[1].prefill, log[1].fault.clone()),
        (true, Some(Fault::RejectPrefill))
    );
}

#[tokio::test]
async fn unknown_models_get_404_or_are_served_as_configured() {
    let server = start("[[models]]\nname = \"m\"").await;
    let reply = call(&server, &chat("nope", false)).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"]["code"], "model_not_found");
    let record = server.log().last().unwrap();
    assert!(!record.known_model);
    assert_eq!(record.fault, Some(Fault::ModelNotFound));

    let server = start("unknown_model = \"serve\"").await;
    let reply = call(&server, &chat("anything", true)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.chunks()[0]["model"], "anything");
    assert_eq!(server.log().attempts("anything"), 1);
}

#[tokio::test]
async fn models_are_listed_in_scenario_order() {
    let server = start("[[models]]\nname = \"b\"\n[[models]]\nname = \"a\"").await;
    let request = b"GET /v1/models HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n";
    let reply = exchange(server.addr(), request, Duration::from_secs(30))
        .await
        .parse();
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["object"], "list");
    let ids: Vec<&str> = json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b", "a"]);
    assert!(server.log().is_empty());
}

#[tokio::test]
async fn bad_requests_get_openai_errors_and_are_not_recorded() {
    let server = start("[[models]]\nname = \"m\"").await;
    let raw = |request: String| {
        let addr = server.addr();
        async move {
            exchange(addr, request.as_bytes(), Duration::from_secs(30))
                .await
                .parse()
        }
    };
    let bad_json = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope".to_owned();
    let reply = raw(bad_json).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");

    let reply = call(
        &server,
        &json!({ "messages": [{ "role": "user", "content": "hi" }] }),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model")
    );

    let reply = call(&server, &json!({ "model": "m", "messages": [] })).await;
    assert_eq!(reply.status, 400);

    let reply =
        raw("GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned())
            .await;
    assert_eq!(reply.status, 405);
    let reply =
        raw("GET /v2/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned()).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"]["code"], "unknown_url");
    assert!(server.log().is_empty());
}

#[tokio::test]
async fn azure_deployments_are_models_and_api_keys_are_credentials() {
    let server = start("[[models]]\nname = \"gpt-4o\"").await;
    let body = json!({ "model": "ignored", "messages": [{ "role": "user", "content": "hi" }] });
    let request = post(
        "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        &body,
        &[("api-key", "azure-key-wxyz")],
    );
    let reply = exchange(server.addr(), &request, Duration::from_secs(30))
        .await
        .parse();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["model"], "gpt-4o");
    let record = server.log().last().unwrap();
    assert_eq!(&*record.model, "gpt-4o");
    assert_eq!(format!("{:?}", record.credential), "ApiKey(…wxyz)");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let server = start("[[models]]\nname = \"m\"").await;
    let huge = "x".repeat(8 * 1024 * 1024 + 1024);
    let reply = call_with(
        &server,
        &json!({ "model": "m", "messages": [{ "role": "user", "content": huge }] }),
        &[],
    )
    .await;
    assert_eq!(reply.status, 413);
    assert!(server.log().is_empty());
}

#[tokio::test]
async fn embeddings_answer_on_each_route_and_take_the_same_faults() {
    use common::{exchange, post};
    let server = MockServer::start(
        Scenario::builder()
            .model(ModelBehavior::new("emb"))
            .model(
                ModelBehavior::new("cut")
                    .rule(ScenarioRule::new(Fault::StreamCut { after_chunks: 1 })),
            )
            .model(
                ModelBehavior::new("limited").rule(ScenarioRule::new(Fault::RateLimit {
                    retry_after_s: Some(3),
                    retry_after_ms: None,
                })),
            )
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let patience = Duration::from_secs(5);
    let send = |path: &str, body: serde_json::Value| {
        let request = post(path, &body, &[]);
        let addr = server.addr();
        async move { exchange(addr, &request, patience).await.parse() }
    };

    let reply = send(
        "/v1/embeddings",
        json!({ "model": "emb", "input": ["a", "b"] }),
    )
    .await;
    assert_eq!(reply.status, 200);
    let v = reply.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "emb");
    let first: Vec<f32> = serde_json::from_value(v["data"][0]["embedding"].clone()).unwrap();
    assert_eq!(first, nb_mock::embeddings::vector("emb", "a"));
    assert_eq!(v["data"][1]["index"], 1);
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    // Azure routes by the deployment in the path.
    let reply = send(
        "/openai/deployments/emb/embeddings?api-version=2024-10-21",
        json!({ "input": "a" }),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["data"][0]["embedding"],
        v["data"][0]["embedding"]
    );

    // Gemini's batchEmbedContents.
    let reply = send(
        "/v1beta/models/emb:batchEmbedContents",
        json!({ "requests": [{ "model": "models/emb", "content": { "parts": [{ "text": "b" }] } }] }),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["embeddings"][0]["values"],
        v["data"][1]["embedding"]
    );

    // Faults: an error with its headers; a stream fault cuts the body halfway.
    let reply = send(
        "/v1/embeddings",
        json!({ "model": "limited", "input": "a" }),
    )
    .await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("3"));
    let reply = send("/v1/embeddings", json!({ "model": "cut", "input": "a" })).await;
    assert_eq!(reply.status, 200);
    assert!(!reply.complete);

    // A body that is not an embeddings request.
    let reply = send("/v1/embeddings", json!({ "model": "emb" })).await;
    assert_eq!(reply.status, 400);
    assert_eq!(server.log().attempts("emb"), 3);
}
