//! The request log, runtime changes of the scenario, HTTP/2, keep-alive and shutdown.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{call, call_with, chat, start};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use nb_mock::{Credential, Fault, MockServer, ModelBehavior, Scenario, ScenarioRule};
use serde_json::json;
use tokio::net::TcpStream;

fn request(model: &str, stream: bool) -> http::Request<Full<Bytes>> {
    http::Request::post("/v1/chat/completions")
        .header("host", "mock")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(chat(model, stream).to_string())))
        .unwrap()
}

#[tokio::test]
async fn records_say_what_the_request_was() {
    let server = start("[[models]]\nname = \"m\"").await;
    call_with(
        &server,
        &chat("m", false),
        &[("Authorization", "Bearer sk-live-abcdefgh")],
    )
    .await;
    let mut body = chat("m", true);
    body["stream_options"] = json!({ "include_usage": true });
    body["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "role": "assistant", "content": "So" }));
    call(&server, &body).await;

    let records = server.log().requests();
    assert_eq!(records.len(), 2);
    let (first, second) = (&records[0], &records[1]);
    assert_eq!(
        (&*first.model, first.attempt, first.known_model),
        ("m", 1, true)
    );
    assert_eq!(
        (first.stream, first.include_usage, first.prefill),
        (false, false, false)
    );
    assert_eq!(first.messages, 2);
    assert_eq!(first.version, http::Version::HTTP_11);
    assert_eq!(
        (first.connection, second.connection),
        (1, 2),
        "Connection: close each time"
    );
    assert_eq!(
        first.credential,
        Credential::Bearer {
            last4: "efgh".into()
        }
    );
    assert!(
        !format!("{first:?}").contains("sk-live"),
        "the key is never stored"
    );
    assert_eq!(second.attempt, 2);
    assert_eq!(
        (second.stream, second.include_usage, second.prefill),
        (true, true, true)
    );
    assert_eq!(second.messages, 3);
    assert!(!second.credential.is_present());
    assert!(second.instant >= first.instant && second.at >= first.at);
    assert_eq!(server.log().last().as_ref(), Some(second));
}

#[tokio::test(start_paused = true)]
async fn gaps_are_the_time_between_a_models_attempts() {
    let server = start("[[models]]\nname = \"a\"\n[[models]]\nname = \"b\"").await;
    call(&server, &chat("a", false)).await;
    tokio::time::advance(Duration::from_millis(250)).await;
    call(&server, &chat("b", false)).await;
    call(&server, &chat("a", false)).await;
    tokio::time::advance(Duration::from_secs(1)).await;
    call(&server, &chat("a", false)).await;
    let log = server.log();
    assert_eq!(
        log.gaps("a"),
        [Duration::from_millis(250), Duration::from_secs(1)]
    );
    assert!(log.gaps("b").is_empty());
    assert!(log.gaps("never").is_empty());
    assert_eq!(log.requests_for("b").len(), 1);
}

#[tokio::test]
async fn set_model_brings_the_primary_back() {
    let server = start(
        r#"
        [[models]]
        name = "primary"
        rules = [{ fault = "service_unavailable" }]
        [[models]]
        name = "fallback"
        "#,
    )
    .await;
    assert_eq!(call(&server, &chat("primary", false)).await.status, 503);
    assert_eq!(call(&server, &chat("primary", false)).await.status, 503);
    server.set_model(ModelBehavior::new("primary")).unwrap();
    let reply = call(&server, &chat("primary", false)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        server.log().attempts("primary"),
        3,
        "attempts keep counting"
    );
    let scenario = server.scenario();
    assert_eq!(scenario.models().len(), 2);
    assert!(scenario.model("primary").unwrap().rules().is_empty());
    // A new model can be added too, and a bad one is refused.
    server.set_model(ModelBehavior::new("late")).unwrap();
    assert_eq!(call(&server, &chat("late", false)).await.status, 200);
    let error = server
        .set_model(ModelBehavior::new("bad").chunks(0))
        .unwrap_err();
    assert_eq!(error.field(), Some("models[3].chunks"));
}

#[tokio::test]
async fn set_scenario_replaces_everything_and_clear_restarts_the_counts() {
    let server =
        start("[[models]]\nname = \"m\"\nrules = [{ attempts = 2, fault = \"server_error\" }]")
            .await;
    assert_eq!(call(&server, &chat("m", false)).await.status, 200);
    server.set_scenario(Scenario::healthy(["n"]));
    assert_eq!(call(&server, &chat("m", false)).await.status, 404);
    assert_eq!(call(&server, &chat("n", false)).await.status, 200);
    server.log().clear();
    assert!(server.log().is_empty());
    assert_eq!(server.log().attempts("m"), 0);
    server.set_scenario(
        Scenario::builder()
            .model(
                ModelBehavior::new("m").rule(ScenarioRule::new(Fault::ServerError).attempts(2..=2)),
            )
            .build()
            .unwrap(),
    );
    assert_eq!(call(&server, &chat("m", false)).await.status, 200);
    assert_eq!(call(&server, &chat("m", false)).await.status, 500);
}

#[tokio::test]
async fn the_log_limit_keeps_the_latest_records_and_exact_counts() {
    let server = MockServer::builder(Scenario::healthy(["m"]))
        .log_limit(3)
        .start()
        .await
        .unwrap();
    for _ in 0..5 {
        call(&server, &chat("m", false)).await;
    }
    let attempts: Vec<u32> = server.log().requests().iter().map(|r| r.attempt).collect();
    assert_eq!(attempts, [3, 4, 5]);
    assert_eq!(server.log().attempts("m"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_attempts_are_counted_once_each_per_model() {
    let server = std::sync::Arc::new(
        start(
            "[[models]]\nname = \"a\"\nrules = [{ attempts = \"1-5\", fault = \"server_error\" }]\n\
             [[models]]\nname = \"b\"",
        )
        .await,
    );
    let calls: Vec<_> = (0..48)
        .map(|i| {
            let server = std::sync::Arc::clone(&server);
            let model = if i % 2 == 0 { "a" } else { "b" };
            tokio::spawn(async move { (model, call(&server, &chat(model, false)).await.status) })
        })
        .collect();
    let mut failed = 0;
    for call in calls {
        let (model, status) = call.await.unwrap();
        if status == 500 {
            assert_eq!(model, "a");
            failed += 1;
        }
    }
    assert_eq!(failed, 5, "exactly the first five attempts of `a` failed");
    let log = server.log();
    for model in ["a", "b"] {
        assert_eq!(log.attempts(model), 24);
        let mut attempts: Vec<u32> = log.requests_for(model).iter().map(|r| r.attempt).collect();
        attempts.sort_unstable();
        assert_eq!(
            attempts,
            (1..=24).collect::<Vec<u32>>(),
            "{model}: no number lost or repeated"
        );
    }
    let faulted: Vec<u32> = log
        .requests_for("a")
        .iter()
        .filter(|r| r.fault.is_some())
        .map(|r| r.attempt)
        .collect();
    assert_eq!(faulted.len(), 5);
    assert!(faulted.iter().all(|a| *a <= 5), "{faulted:?}");
}

#[tokio::test]
async fn keep_alive_connections_decide_per_request() {
    let server =
        start("[[models]]\nname = \"m\"\nrules = [{ attempts = 2, fault = \"connection_reset\" }]")
            .await;
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    let first = sender.send_request(request("m", false)).await.unwrap();
    assert_eq!(first.headers().get("x-nb-mock-fault"), None);
    assert_eq!(first.status(), 200);
    first.into_body().collect().await.unwrap();
    let second = sender.send_request(request("m", false)).await;
    let error = second.unwrap_err();
    let io = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    assert_eq!(io, Some(std::io::ErrorKind::ConnectionReset), "{error:?}");
    assert!(sender.ready().await.is_err(), "the connection died");
    driver.await.unwrap().ok();
    assert_eq!(server.log().attempts("m"), 2);
    let connections: Vec<u64> = server
        .log()
        .requests()
        .iter()
        .map(|r| r.connection)
        .collect();
    assert_eq!(
        connections,
        [1, 1],
        "both requests came over one kept-alive connection"
    );
    assert_eq!(server.connections_accepted(), 1);
}

/// An HTTP/2 client connection with prior knowledge (no TLS, no upgrade).
async fn h2c(server: &MockServer) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

#[tokio::test]
async fn http2_prior_knowledge_is_served() {
    let server = start("[[models]]\nname = \"m\"\nchunks = 3").await;
    let mut sender = h2c(&server).await;
    let response = sender.send_request(request("m", true)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert_eq!(server.log().last().unwrap().version, http::Version::HTTP_2);
}

#[tokio::test]
async fn an_http2_cut_resets_the_stream_after_its_chunks() {
    let server = start("[[models]]\nname = \"m\"\nrules = [{ fault = { kind = \"stream_cut\", after_chunks = 2 } }]").await;
    let mut sender = h2c(&server).await;
    let response = sender.send_request(request("m", true)).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut received = Vec::new();
    let error = loop {
        match body.frame().await {
            Some(Ok(frame)) => received.extend_from_slice(frame.data_ref().unwrap()),
            Some(Err(error)) => break error,
            None => panic!("the stream ended cleanly"),
        }
    };
    // h2 reports RST_STREAM from the remote; the connection itself lives on.
    assert!(
        format!("{error:?}").contains("Reset(StreamId(1), INTERNAL_ERROR, Remote)"),
        "{error:?}"
    );
    let text = String::from_utf8(received).unwrap();
    assert_eq!(text.matches("data: ").count(), 2, "{text}");
}

#[tokio::test]
async fn shutdown_closes_the_port_and_hung_connections() {
    let server = start("[[models]]\nname = \"m\"\nrules = [{ fault = \"hang\" }]").await;
    let addr = server.addr();
    let mut hung = TcpStream::connect(addr).await.unwrap();
    let request = common::post("/v1/chat/completions", &chat("m", false), &[]);
    tokio::io::AsyncWriteExt::write_all(&mut hung, &request)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while server.log().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    assert_eq!(server.open_connections(), 1);
    server.shutdown().await;
    let mut buf = [0u8; 16];
    let read = tokio::io::AsyncReadExt::read(&mut hung, &mut buf).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the hung connection was closed: {read:?}"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = MockServer::start(Scenario::healthy(["m"])).await.unwrap();
    let addr = server.addr();
    assert_eq!(server.base_url(), format!("http://{addr}/v1"));
    drop(server);
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused);
}

#[tokio::test]
async fn a_fixed_port_can_be_asked_for() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let server = MockServer::builder(Scenario::healthy(["m"]))
        .port(port)
        .start()
        .await
        .unwrap();
    assert_eq!(server.addr().port(), port);
    let error = MockServer::builder(Scenario::healthy(["m"]))
        .port(port)
        .start()
        .await
        .unwrap_err();
    assert!(error.to_string().contains(&port.to_string()), "{error}");
}
