//! Which requests a rule picks: attempt numbers, time windows, probability, streaming; latency.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

mod common;

use std::time::Duration;

use common::{call, chat, start};
use nb_mock::{Fault, MockServer, ModelBehavior, Scenario, ScenarioRule};

fn statuses(replies: &[common::Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn attempt_rules_fail_the_first_attempts_then_serve() {
    let server = start(
        r#"
        [[models]]
        name = "primary"
        [[models.rules]]
        attempts = "1-3"
        fault = "server_error"
        [[models.rules]]
        attempts = 5
        fault = "overloaded"
        [[models]]
        name = "other"
        "#,
    )
    .await;
    let mut replies = Vec::new();
    for _ in 0..6 {
        replies.push(call(&server, &chat("primary", false)).await);
    }
    assert_eq!(statuses(&replies), [500, 500, 500, 200, 529, 200]);
    // Counting is per model.
    assert_eq!(call(&server, &chat("other", false)).await.status, 200);
    let log = server.log();
    assert_eq!(log.attempts("primary"), 6);
    assert_eq!(log.attempts("other"), 1);
    let attempts: Vec<u32> = log
        .requests_for("primary")
        .iter()
        .map(|r| r.attempt)
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn open_ended_attempt_ranges_keep_failing() {
    let scenario = Scenario::builder()
        .model(ModelBehavior::new("m").rule(ScenarioRule::new(Fault::InvalidApiKey).attempts(3..)))
        .build()
        .unwrap();
    let server = MockServer::start(scenario).await.unwrap();
    let mut replies = Vec::new();
    for _ in 0..5 {
        replies.push(call(&server, &chat("m", false)).await);
    }
    assert_eq!(statuses(&replies), [200, 200, 401, 401, 401]);
}

#[tokio::test(start_paused = true)]
async fn a_time_window_is_an_outage_and_a_recovery() {
    let server = start(
        r#"
        [[models]]
        name = "m"
        [[models.rules]]
        from_ms = 5000
        until_ms = 15000
        fault = { kind = "service_unavailable" }
        "#,
    )
    .await;
    assert_eq!(call(&server, &chat("m", false)).await.status, 200);
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(call(&server, &chat("m", false)).await.status, 503);
    tokio::time::advance(Duration::from_millis(9_999)).await;
    assert_eq!(call(&server, &chat("m", false)).await.status, 503);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(call(&server, &chat("m", false)).await.status, 200);
    let at: Vec<Duration> = server.log().requests().iter().map(|r| r.at).collect();
    assert_eq!(
        at,
        [0, 5_000, 14_999, 15_000].map(Duration::from_millis),
        "the log uses the same (virtual) clock"
    );
    assert_eq!(server.elapsed(), Duration::from_secs(15));
}

#[tokio::test]
async fn probability_rules_are_deterministic_for_a_seed() {
    async fn faults(seed: u64) -> Vec<bool> {
        let scenario = Scenario::builder()
            .seed(seed)
            .model(
                ModelBehavior::new("m")
                    .rule(ScenarioRule::new(Fault::ServerError).probability(0.3)),
            )
            .build()
            .unwrap();
        let server = MockServer::start(scenario).await.unwrap();
        let mut failed = Vec::new();
        for _ in 0..60 {
            failed.push(call(&server, &chat("m", false)).await.status == 500);
        }
        failed
    }
    let first = faults(42).await;
    assert_eq!(first, faults(42).await);
    assert_ne!(first, faults(43).await);
    let share = first.iter().filter(|f| **f).count();
    assert!((5..=35).contains(&share), "{share} of 60 failed at p = 0.3");
}

#[tokio::test]
async fn probability_zero_never_and_one_always_applies() {
    let scenario = Scenario::builder()
        .model(
            ModelBehavior::new("never")
                .rule(ScenarioRule::new(Fault::ServerError).probability(0.0)),
        )
        .model(
            ModelBehavior::new("always")
                .rule(ScenarioRule::new(Fault::ServerError).probability(1.0)),
        )
        .build()
        .unwrap();
    let server = MockServer::start(scenario).await.unwrap();
    for _ in 0..10 {
        assert_eq!(call(&server, &chat("never", false)).await.status, 200);
        assert_eq!(call(&server, &chat("always", false)).await.status, 500);
    }
}

#[tokio::test]
async fn streaming_rules_pick_only_their_kind_of_request() {
    let scenario = Scenario::builder()
        .model(
            ModelBehavior::new("m")
                .rule(ScenarioRule::new(Fault::StreamCut { after_chunks: 1 }).streaming(true))
                .rule(ScenarioRule::new(Fault::TruncatedJson).streaming(false)),
        )
        .build()
        .unwrap();
    let server = MockServer::start(scenario).await.unwrap();
    assert!(!call(&server, &chat("m", true)).await.complete);
    let whole = call(&server, &chat("m", false)).await;
    assert!(whole.complete && serde_json::from_slice::<serde_json::Value>(&whole.body).is_err());
    assert!(!call(&server, &chat("m", true)).await.complete);
    let faults: Vec<Option<&'static str>> = server
        .log()
        .requests()
        .iter()
        .map(|r| r.fault.as_ref().map(Fault::name))
        .collect();
    assert_eq!(
        faults,
        [
            Some("stream_cut"),
            Some("truncated_json"),
            Some("stream_cut")
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn latency_and_jitter_are_paid_before_the_head_and_repeat_with_the_seed() {
    async fn latencies() -> Vec<Duration> {
        let scenario = Scenario::builder()
            .seed(9)
            .model(
                ModelBehavior::new("m")
                    .latency(Duration::from_millis(200))
                    .jitter(Duration::from_millis(100)),
            )
            .build()
            .unwrap();
        let server = MockServer::start(scenario).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(call(&server, &chat("m", false)).await.head_at);
        }
        seen
    }
    let first = latencies().await;
    for latency in &first {
        assert!(
            *latency >= Duration::from_millis(200) && *latency < Duration::from_millis(301),
            "{latency:?}"
        );
    }
    assert!(
        first.iter().any(|l| *l != first[0]),
        "jitter varies: {first:?}"
    );
    assert_eq!(first, latencies().await);
}

#[tokio::test(start_paused = true)]
async fn latency_comes_before_faults_too() {
    let server = start(
        r#"
        [[models]]
        name = "m"
        latency_ms = 750
        rules = [{ fault = "insufficient_quota" }]
        "#,
    )
    .await;
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 429);
    assert!(reply.head_at >= Duration::from_millis(750));
}

#[tokio::test(start_paused = true)]
async fn chunks_are_spaced_by_the_interval() {
    let server = start("[[models]]\nname = \"m\"\nchunks = 3\nchunk_interval_ms = 400").await;
    let exchange = common::chat_exchange(&server, &chat("m", true), Duration::from_secs(30)).await;
    let last = exchange.reads.last().unwrap().1;
    let reply = exchange.parse();
    assert!(reply.complete);
    assert_eq!(reply.chunks().len(), 4);
    // Three content chunks and the finish chunk: three intervals after the first.
    assert!(last >= Duration::from_millis(1200), "{last:?}");
}

#[tokio::test(start_paused = true)]
async fn a_long_answer_holds_back_a_completions_head_and_paces_a_stream() {
    let server = start(
        r#"
        [[models]]
        name = "m"
        latency_ms = 30
        generation_ms = 40000
        chunks = 4
        "#,
    )
    .await;
    let whole = common::chat_exchange(&server, &chat("m", false), Duration::from_secs(90))
        .await
        .parse();
    assert_eq!(whole.status, 200);
    assert!(whole.complete);
    assert!(
        whole.head_at >= Duration::from_secs(40) && whole.head_at < Duration::from_secs(41),
        "{:?}",
        whole.head_at
    );

    let exchange = common::chat_exchange(&server, &chat("m", true), Duration::from_secs(90)).await;
    let last = exchange.reads.last().unwrap().1;
    let stream = exchange.parse();
    assert!(stream.complete);
    let first_token = stream.first_event_at.unwrap();
    assert!(first_token < Duration::from_secs(1), "{first_token:?}");
    // Four content chunks and the finish chunk: four pauses of 10 s.
    assert!(
        last >= Duration::from_secs(40) && last < Duration::from_secs(52),
        "{last:?}"
    );
    assert_eq!(server.log().requests()[1].fault, None);
}

#[tokio::test(start_paused = true)]
async fn fast_faults_do_not_wait_for_the_generation_time() {
    let server = start(
        r#"
        [[models]]
        name = "m"
        latency_ms = 30
        generation_ms = 40000
        rules = [{ fault = "service_unavailable" }]
        "#,
    )
    .await;
    let reply = call(&server, &chat("m", false)).await;
    assert_eq!(reply.status, 503);
    assert!(
        reply.head_at < Duration::from_secs(1),
        "{:?}",
        reply.head_at
    );
}

/// A request whose last user message says `text`.
fn asking(model: &str, text: &str, stream: bool) -> serde_json::Value {
    serde_json::json!({
        "model": model,
        "stream": stream,
        "messages": [{ "role": "user", "content": text }]
    })
}

#[tokio::test(start_paused = true)]
async fn a_contains_rule_picks_requests_by_their_text_and_a_long_answer_takes_its_time() {
    let server = start(
        r#"
        [[models]]
        name = "m"
        [[models.rules]]
        contains = "poison"
        fault = "server_error"
        [[models.rules]]
        contains = "report"
        fault = { kind = "long_answer", generation_ms = 15000 }
        "#,
    )
    .await;
    assert_eq!(
        call(&server, &asking("m", "a poison pill", false))
            .await
            .status,
        500
    );
    assert_eq!(
        call(&server, &asking("m", "hello", false)).await.status,
        200
    );
    let started = tokio::time::Instant::now();
    let report = call(&server, &asking("m", "the weekly report", false)).await;
    assert_eq!(report.status, 200, "a long answer is not a failure");
    assert!(started.elapsed() >= Duration::from_secs(15));
    let streamed = call(&server, &asking("m", "the weekly report", true)).await;
    assert!(streamed.events().last().is_some_and(|e| e == "[DONE]"));
    let faults: Vec<Option<&str>> = server
        .log()
        .requests()
        .iter()
        .map(|r| r.fault.as_ref().map(Fault::name))
        .collect();
    assert_eq!(
        faults,
        [
            Some("server_error"),
            None,
            Some("long_answer"),
            Some("long_answer")
        ]
    );
    // Every request asking for the poison fails: it could not have succeeded.
    let certain: Vec<bool> = server
        .log()
        .requests()
        .iter()
        .map(|r| r.certain_failure)
        .collect();
    assert_eq!(certain, [true, false, false, false]);
}

#[tokio::test]
async fn a_request_is_a_certain_failure_only_when_every_request_would_fail() {
    let server = start(
        r#"
        [[models]]
        name = "m"
        [[models.rules]]
        probability = 0.5
        fault = "overloaded"
        [[models.rules]]
        until_ms = 600000
        fault = "insufficient_quota"
        [[models]]
        name = "chance"
        [[models.rules]]
        probability = 0.5
        fault = "server_error"
        [[models.rules]]
        attempts = "1-100"
        fault = "server_error"
        "#,
    )
    .await;
    for _ in 0..20 {
        call(&server, &chat("m", false)).await;
        call(&server, &chat("chance", false)).await;
    }
    let log = server.log();
    // The outage rule fails every request, whichever fault the draw picked.
    assert!(log.requests_for("m").iter().all(|r| r.certain_failure));
    let faults: Vec<&str> = log
        .requests_for("m")
        .iter()
        .filter_map(|r| r.fault.as_ref().map(Fault::name))
        .collect();
    assert!(faults.contains(&"overloaded") && faults.contains(&"insufficient_quota"));
    // Chance and attempt numbers are not a state of the model.
    assert!(
        log.requests_for("chance")
            .iter()
            .all(|r| !r.certain_failure)
    );
}

#[tokio::test]
async fn the_bill_counts_answers_written_and_answers_abandoned() {
    let server = start(
        r#"
        [[models]]
        name = "m"
        chunks = 4
        [[models.rules]]
        attempts = 2
        fault = { kind = "stream_cut", after_chunks = 1 }
        [[models.rules]]
        attempts = 3
        fault = "server_error"
        "#,
    )
    .await;
    call(&server, &chat("m", true)).await;
    call(&server, &chat("m", true)).await;
    call(&server, &chat("m", false)).await;
    let bill = server.log().billing()["m"];
    assert!(
        bill.answered.prompt > 0 && bill.answered.completion > 0,
        "{bill:?}"
    );
    // The cut stream billed its prompt and part of its answer; the 500 nothing.
    assert_eq!(bill.abandoned.prompt, bill.answered.prompt);
    assert!(
        bill.abandoned.completion > 0 && bill.abandoned.completion < bill.answered.completion,
        "{bill:?}"
    );
    server.log().clear();
    assert!(server.log().billing().is_empty());
}
