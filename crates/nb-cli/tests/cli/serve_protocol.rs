//! `neuralbridge serve` at the protocol level: HTTP/1.1 keep-alive and h2c, headers, the
//! caller token, secrets, and a graceful shutdown that finishes streams and saves state.

use bytes::Bytes;
use http::{Method, Request, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::common::mock;
use crate::serve::{SCENARIO, TOKEN, UPSTREAM_KEY, WITH_TOKEN, hello, sidecar_with, sse_events};

fn authority(base: &str) -> &str {
    base.strip_prefix("http://").unwrap()
}

fn post(base: &str, body: &Value) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(format!("{base}/v1/chat/completions"))
        .header("host", authority(base))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn get(base: &str, path: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .uri(format!("{base}{path}"))
        .header("host", authority(base))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

#[tokio::test]
async fn http1_keeps_the_connection_alive_and_h2c_is_served() {
    let server = mock(SCENARIO).await;
    let s = sidecar_with(&server, "protocols", "", &[]).await;

    // HTTP/1.1: three requests on one connection.
    let tcp = TcpStream::connect(authority(&s.base)).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    let driver = tokio::spawn(conn);
    for request in [
        get(&s.base, "/v1/models"),
        post(&s.base, &hello("backup")),
        get(&s.base, "/health"),
    ] {
        let r = send.send_request(request).await.unwrap();
        assert_eq!(r.version(), Version::HTTP_11);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let _: Value = serde_json::from_slice(&body).unwrap();
    }
    assert!(!driver.is_finished(), "the connection is still open");
    drop(send);

    // HTTP/2 with prior knowledge (h2c): a completion and a stream on one connection.
    let tcp = TcpStream::connect(authority(&s.base)).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let r = send
        .send_request(post(&s.base, &hello("backup")))
        .await
        .unwrap();
    assert_eq!(r.version(), Version::HTTP_2);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-neuralbridge-served-by"], "backup");
    let body = r.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "backup");

    let mut streamed = hello("backup");
    streamed["stream"] = json!(true);
    let r = send.send_request(post(&s.base, &streamed)).await.unwrap();
    assert_eq!(r.version(), Version::HTTP_2);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let body = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(sse_events(&body).last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn token_scheme_methods_and_params_follow_http_and_openai() {
    let server = mock(SCENARIO).await;
    let s = sidecar_with(&server, "details", WITH_TOKEN, &[]).await;

    let r = s.get("/v1/models", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), "Bearer");

    // The scheme is case-insensitive.
    let tcp = TcpStream::connect(authority(&s.base)).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut request = get(&s.base, "/v1/models");
    request
        .headers_mut()
        .insert("authorization", format!("bearer {TOKEN}").parse().unwrap());
    assert_eq!(send.send_request(request).await.unwrap().status(), 200);

    let r = s
        .send(
            Method::GET,
            "/v1/chat/completions",
            Bytes::new(),
            Some(TOKEN),
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), "POST");
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");

    let r = s
        .chat(json!({ "model": "backup", "messages": [] }), Some(TOKEN))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["param"], "messages");
    let r = s
        .chat(
            json!({ "messages": [{ "role": "user", "content": "Hi" }] }),
            Some(TOKEN),
        )
        .await;
    assert_eq!(r.json()["error"]["param"], "model");
    assert_eq!(r.json()["error"]["code"], "missing_model");
}

#[tokio::test]
async fn keys_and_tokens_never_reach_callers_health_or_logs() {
    let server = mock(SCENARIO).await;
    let s = sidecar_with(&server, "secrets", WITH_TOKEN, &[("RUST_LOG", "debug")]).await;

    // The upstream rejects the key and quotes it back in its error body.
    let r = s.chat(hello("leaky-only"), Some(TOKEN)).await;
    assert_eq!(
        r.status, 502,
        "the sidecar's upstream key is not the caller's fault"
    );
    assert_eq!(r.json()["error"]["neuralbridge"]["category"], "auth");
    let mut streamed = hello("leaky-stream-only");
    streamed["stream"] = json!(true);
    let streamed = s.chat(streamed, Some(TOKEN)).await;
    let health = s.get("/health", None).await;
    let wrong = s.chat(hello("backup"), Some("not-the-token")).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        (
            server.log().attempts("leaky"),
            server.log().attempts("leaky-stream")
        ),
        (1, 1),
        "both calls went upstream"
    );

    let log = s.server.stderr();
    assert!(
        log.contains("/v1/chat/completions"),
        "requests are logged: {log}"
    );
    for (what, text) in [
        ("response", String::from_utf8_lossy(&r.body).into_owned()),
        (
            "stream",
            String::from_utf8_lossy(&streamed.body).into_owned(),
        ),
        ("health", String::from_utf8_lossy(&health.body).into_owned()),
        ("log", log),
        ("stdout", s.stdout.lock().unwrap().clone()),
    ] {
        for secret in [UPSTREAM_KEY, TOKEN] {
            assert!(!text.contains(secret), "{secret} in the {what}:\n{text}");
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_lets_streams_in_flight_finish_and_saves_learned_state() {
    let server = mock(SCENARIO).await;
    let mut s = sidecar_with(&server, "shutdown", "state_dir = \"state\"", &[]).await;

    // One completed call, so there is something to save.
    assert_eq!(s.chat(hello("backup"), None).await.status, 200);

    // A slow stream (6 chunks, 150 ms apart) is under way when Ctrl-C arrives.
    let tcp = TcpStream::connect(authority(&s.base)).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut streamed = hello("slow");
    streamed["stream"] = json!(true);
    let r = send.send_request(post(&s.base, &streamed)).await.unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"data: {"), "{first:?}");
    s.server.interrupt();

    let rest = body.collect().await.unwrap().to_bytes();
    let all = [&first[..], &rest[..]].concat();
    let events = sse_events(&all);
    assert_eq!(
        events.last().unwrap(),
        "[DONE]",
        "the stream finished: {events:?}"
    );

    let status = s.server.child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
    s.stdout_closed.take().unwrap().await.unwrap();
    let stdout = s.stdout.lock().unwrap().clone();
    assert!(stdout.contains("learned state kept in"), "{stdout}");
    assert!(stdout.contains("Stopped."), "{stdout}");
    let saved = s.dir.path().join("state").join("neuralbridge.json");
    let state: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert!(state.to_string().contains("backup"), "{state}");
}

/// SCENARIO plus a stream that goes silent after its first chunk and one that
/// keeps sending for 20 s.
fn with_streams() -> String {
    format!(
        r#"{SCENARIO}
[[models]]
name = "stall"
chunks = 4
[[models.rules]]
streaming = true
fault = {{ kind = "stream_stall", after_chunks = 1 }}

[[models]]
name = "endless"
chunks = 200
chunk_interval_ms = 100
"#
    )
}

/// Opens a stream of `model` on the sidecar and reads its first event.
async fn first_event(
    base: &str,
    model: &str,
) -> (
    hyper::body::Incoming,
    Bytes,
    hyper::client::conn::http1::SendRequest<Full<Bytes>>,
) {
    let tcp = TcpStream::connect(authority(base)).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut streamed = hello(model);
    streamed["stream"] = json!(true);
    let r = send.send_request(post(base, &streamed)).await.unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"data: {"), "{first:?}");
    (body, first, send)
}

#[tokio::test]
async fn a_caller_leaving_a_silent_stream_cancels_the_upstream_at_once() {
    let server = mock(&with_streams()).await;
    let s = sidecar_with(&server, "leave-silent", "", &[]).await;
    let (body, _, send) = first_event(&s.base, "stall").await;
    // The upstream is silent after its first chunk; the caller leaves.
    assert_eq!(server.open_connections(), 1);
    drop(body);
    drop(send);
    let left = std::time::Instant::now();
    while server.open_connections() > 0 {
        assert!(
            left.elapsed() < std::time::Duration::from_secs(3),
            "the upstream call is still open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_stream_that_keeps_sending_ends_at_the_stream_limit_with_an_error_event() {
    let server = mock(&with_streams()).await;
    let s = sidecar_with(&server, "stream-limit", "stream_limit_s = 1", &[]).await;
    let started = std::time::Instant::now();
    let (body, first, _send) = first_event(&s.base, "endless").await;
    let rest = body.collect().await.unwrap().to_bytes();
    let events = sse_events(&[&first[..], &rest[..]].concat());
    let last = events.last().unwrap();
    assert!(last.contains("\"stream_limit\""), "{last}");
    assert!(
        !events.iter().any(|e| e == "[DONE]"),
        "never a truncated success"
    );
    // Far from the 20 s the upstream would have taken.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(server.open_connections(), 0, "the upstream was cancelled");
}

#[cfg(unix)]
#[tokio::test]
async fn a_shutdown_turns_new_calls_away_answers_health_and_ends_long_streams_with_an_error() {
    let server = mock(&with_streams()).await;
    let mut s = sidecar_with(&server, "drain", "drain_s = 1", &[]).await;
    let (body, first, _send) = first_event(&s.base, "endless").await;
    s.server.interrupt();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Draining: health answers, a new chat is a 503 with Retry-After.
    assert_eq!(s.get("/health", None).await.status, 200);
    let refused = s.chat(hello("backup"), None).await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["error"]["code"], "shutting_down");
    assert_eq!(refused.header("retry-after"), "1");
    // The stream outlives the 1 s drain: it ends with an error event.
    let rest = body.collect().await.unwrap().to_bytes();
    let events = sse_events(&[&first[..], &rest[..]].concat());
    assert!(
        events.last().unwrap().contains("\"shutting_down\""),
        "{events:?}"
    );
    let status = s.server.child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
}

/// One non-streamed chat request on its own connection, with `priority`;
/// the status and the body.
async fn chat_with_priority(base: &str, model: &str, priority: &str) -> (u16, Value, String) {
    let tcp = TcpStream::connect(authority(base)).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut request = post(base, &hello(model));
    request
        .headers_mut()
        .insert("x-nb-priority", priority.parse().unwrap());
    let r = send.send_request(request).await.unwrap();
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap(), retry_after)
}

#[tokio::test]
async fn past_the_in_flight_cap_requests_queue_then_are_shed_and_no_breaker_is_touched() {
    let server = mock(&with_streams()).await;
    let s = sidecar_with(
        &server,
        "admission",
        "max_in_flight = 1\nmax_queued = 1\nqueue_timeout_s = 1",
        &[],
    )
    .await;
    // A long stream holds the one slot.
    let (_body, _first, _send) = first_event(&s.base, "endless").await;
    // A normal request waits in the queue ...
    let base = s.base.clone();
    let queued = tokio::spawn(async move { chat_with_priority(&base, "backup", "normal").await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let health = s.get("/health", None).await.json();
    assert_eq!(health["sidecar"]["in_flight"], 1, "{health}");
    assert_eq!(health["sidecar"]["queued"], 1, "{health}");
    // ... a low-priority one finds the queue full: 429, come back in 1 s ...
    let (status, body, retry_after) = chat_with_priority(&s.base, "backup", "low").await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "sidecar_busy");
    assert_eq!(retry_after, "1");
    // ... and the queued one gives up after the queue timeout: 503.
    let (status, body, retry_after) = queued.await.unwrap();
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], "sidecar_overloaded");
    assert_eq!(retry_after, "1");
    // Our own limit: no upstream call, no breaker, no health verdict moved.
    assert_eq!(server.log().attempts("backup"), 0);
    let health = s.get("/health", None).await.json();
    let backup = health["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["model"] == "backup")
        .unwrap()
        .clone();
    assert_eq!(backup["breaker"], "closed", "{health}");
    assert_eq!(backup["status"], "active", "{health}");
    // A bad priority is the caller's mistake.
    let (status, body, _) = chat_with_priority(&s.base, "backup", "urgent").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_priority");
}

/// Reads from `tcp` until the sidecar closes it (or `limit` passes); how
/// long that took, or `None`.
async fn closed_within(
    tcp: &mut TcpStream,
    limit: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((started + limit).into(), tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_elapsed) => return None,
        }
    }
}

#[tokio::test]
async fn idle_half_sent_and_stalled_connections_are_closed_and_free_their_slots() {
    use tokio::io::AsyncWriteExt;
    let server = mock(SCENARIO).await;
    let s = sidecar_with(
        &server,
        "hygiene",
        "max_connections = 1\nidle_timeout_s = 1\nheader_timeout_s = 1\nbody_timeout_s = 1",
        &[],
    )
    .await;
    let secs = std::time::Duration::from_secs;
    // An idle connection holds the one slot ...
    let mut idle = TcpStream::connect(authority(&s.base)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // ... so a caller waits for it to be closed, then is served: no error.
    let started = std::time::Instant::now();
    let served = s.chat(hello("backup"), None).await;
    assert_eq!(served.status, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(500));
    assert!(
        closed_within(&mut idle, secs(1)).await.is_some(),
        "the idle one was closed"
    );

    // Headers that never finish: closed.
    let mut partial = TcpStream::connect(authority(&s.base)).await.unwrap();
    partial
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut partial, secs(4)).await.is_some(),
        "half-sent headers"
    );

    // A body that stalls: a 408, then closed.
    let mut stalled = TcpStream::connect(authority(&s.base)).await.unwrap();
    stalled
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"model\":",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    use tokio::io::AsyncReadExt;
    while let Ok(Ok(n)) = tokio::time::timeout(secs(4), stalled.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");

    // An h2c connection that sends its preface and then nothing: closed.
    let mut h2 = TcpStream::connect(authority(&s.base)).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut h2, secs(25)).await.is_some(), "idle h2c");
}
