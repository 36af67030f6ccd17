//! nb-client streams against nb-mock over loopback, one fault per test:
//! transparent failover before content, the stream policy after it, stalls,
//! malformed chunks, a missing `[DONE]`, and a fallback that rejects
//! prefill. Time is tokio's paused clock.

use std::time::Duration;

use nb_client::{
    ErrorCategory, ErrorKind,
    policy::{StreamPolicy, Tier},
};
use nb_mock::{Fault, ModelBehavior, ScenarioRule};
use nb_tests::client::{
    FALLBACK, Fixture, PRIMARY, categories, chat, decisions, models, read, scenario, start,
};
use tokio::time::Instant;

fn faulty(fault: Fault) -> ModelBehavior {
    // Sixteen characters: four chunks of four ("one ", "two ", ...).
    ModelBehavior::new(PRIMARY)
        .reply("one two six ten ")
        .rule(ScenarioRule::new(fault))
}

fn fallback() -> ModelBehavior {
    ModelBehavior::new(FALLBACK).reply("five six seven eight")
}

/// Streams [`PRIMARY`], whose first content never comes: the call gives it
/// up after the two-second rung of the ladder (`why`), without a retry, and
/// [`fallback`] serves the whole answer.
async fn fails_over_after_two_seconds(f: &Fixture, why: &str) {
    let start = Instant::now();
    let stream = f.client.chat().stream(chat(PRIMARY)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(2), "{why}");
    let got = read(stream).await;
    assert_eq!(got.text, "five six seven eight");
    let summary = got.end.unwrap();
    assert_eq!(summary.served_by(), FALLBACK);
    assert_eq!(
        categories(summary.attempts()),
        [Some(ErrorCategory::Timeout), None]
    );
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 1, "a hung model is not retried");
    assert_eq!(log.attempts(FALLBACK), 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_token_fails_over_at_the_ladder_timeout() {
    let slow = Fault::SlowFirstToken {
        delay: Duration::from_secs(20),
        before_headers: false,
    };
    let f = start(scenario([faulty(slow), fallback()]), |b| {
        b.timeout_ladder([Tier::Fixed(Duration::from_secs(2))])
    })
    .await;
    fails_over_after_two_seconds(&f, "given up at the first-token limit").await;
    let log = f.server.log();
    assert!(log.requests().iter().all(|r| r.stream && r.include_usage));
}

#[tokio::test(start_paused = true)]
async fn a_stream_cut_before_content_fails_over_and_after_content_is_an_error() {
    // Cut before any content: transparent (elsewhere at once).
    let f = start(
        scenario([faulty(Fault::StreamCut { after_chunks: 0 }), fallback()]),
        |b| b,
    )
    .await;
    let got = read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    assert_eq!(got.text, "five six seven eight");
    let summary = got.end.unwrap();
    assert_eq!(models(summary.attempts()), [PRIMARY, FALLBACK]);
    assert_eq!(f.server.log().attempts(PRIMARY), 1);

    // Cut after content: the default policy reports it, with the partial text.
    let f = start(
        scenario([faulty(Fault::StreamCut { after_chunks: 2 }), fallback()]),
        |b| b,
    )
    .await;
    let got = read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    let err = got.end.unwrap_err();
    assert_eq!(err.partial(), Some("one two "));
    assert_eq!(got.text, "one two ");
    assert_eq!(err.category(), Some(ErrorCategory::StreamInterrupted));
    assert!(matches!(err.kind(), ErrorKind::StreamInterrupted { .. }));
    assert_eq!(f.server.log().attempts(PRIMARY), 1);
    assert_eq!(
        f.server.log().attempts(FALLBACK),
        0,
        "never a silent switch"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stream_cut_after_content_continues_with_a_prefill_under_the_continue_policy() {
    let f = start(
        scenario([faulty(Fault::StreamCut { after_chunks: 2 }), fallback()]),
        |b| b.stream_policy(StreamPolicy::Continue),
    )
    .await;
    let got = read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    let summary = got.end.unwrap();
    assert_eq!(summary.served_by(), FALLBACK);
    assert!(!summary.restarted());
    assert_eq!(got.text, "one two five six seven eight");
    assert_eq!(
        categories(summary.attempts()),
        [Some(ErrorCategory::StreamInterrupted), None]
    );
    let fb = &f.server.log().requests_for(FALLBACK)[0];
    assert!(
        fb.prefill,
        "the partial answer went as an assistant prefill"
    );
    assert_eq!(fb.messages, 2);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_stream_is_interrupted_at_the_idle_timeout() {
    let f = start(
        scenario([faulty(Fault::StreamStall { after_chunks: 1 }), fallback()]),
        |b| b.idle_timeout(Duration::from_secs(3)),
    )
    .await;
    let stream = f.client.chat().stream(chat(PRIMARY)).await.unwrap();
    let start = Instant::now();
    let got = read(stream).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    let err = got.end.unwrap_err();
    assert_eq!(err.partial(), Some("one "));
    assert_eq!(err.category(), Some(ErrorCategory::StreamInterrupted));
    assert_eq!(f.server.log().attempts(PRIMARY), 1);
    assert_eq!(f.server.log().attempts(FALLBACK), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stall_before_any_content_fails_over_transparently() {
    let f = start(
        scenario([faulty(Fault::StreamStall { after_chunks: 0 }), fallback()]),
        |b| {
            b.timeout_ladder([Tier::Fixed(Duration::from_secs(2))])
                .idle_timeout(Duration::from_secs(30))
        },
    )
    .await;
    fails_over_after_two_seconds(
        &f,
        "given up at the first-content limit, not the idle timeout",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_malformed_chunk_is_skipped_and_counted() {
    let f = start(
        scenario([
            faulty(Fault::MalformedChunk { after_chunks: 1 }),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let got = read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    let summary = got.end.unwrap();
    assert_eq!(got.text, "one two six ten ");
    assert_eq!(summary.malformed_chunks_skipped(), 1);
    assert_eq!(summary.served_by(), PRIMARY);
    assert!(summary.usage().is_some());
    assert_eq!(f.server.log().attempts(PRIMARY), 1);
}

#[tokio::test(start_paused = true)]
async fn no_done_completes_after_a_finish_reason_and_is_interrupted_without_one() {
    let f = start(
        scenario([
            faulty(Fault::NoDone {
                finish_reason: true,
            }),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let stream = f.client.chat().stream(chat(PRIMARY)).await.unwrap();
    let began = Instant::now();
    let got = read(stream).await;
    assert!(
        began.elapsed() < Duration::from_secs(1),
        "completes promptly"
    );
    let summary = got.end.unwrap();
    assert_eq!(got.text, "one two six ten ");
    let usage = summary
        .usage()
        .expect("the usage chunk came before the end");
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    assert_eq!(f.server.log().attempts(PRIMARY), 1);

    let f = start(
        scenario([
            faulty(Fault::NoDone {
                finish_reason: false,
            }),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let got = read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    let err = got.end.unwrap_err();
    assert_eq!(
        err.partial(),
        Some("one two six ten "),
        "never a truncated success"
    );
    assert_eq!(err.category(), Some(ErrorCategory::StreamInterrupted));
}

#[tokio::test(start_paused = true)]
async fn a_fallback_rejecting_prefill_restarts_cleanly_and_never_masks_the_cause() {
    // The fallback refuses the prefill, then serves a fresh answer.
    let f = start(
        scenario([
            faulty(Fault::StreamCut { after_chunks: 1 }),
            fallback().rule(ScenarioRule::new(Fault::RejectPrefill)),
        ]),
        |b| b.stream_policy(StreamPolicy::Continue),
    )
    .await;
    let got = read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    let summary = got.end.unwrap();
    assert!(summary.restarted());
    assert_eq!(
        got.events[..2],
        ["chunk:one ".to_owned(), format!("restarted:{FALLBACK}")]
    );
    assert_eq!(got.text, "five six seven eight");
    assert_eq!(
        decisions(summary.attempts()),
        ["fallback", "drop_prefill", "served"]
    );
    let fb: Vec<bool> = f
        .server
        .log()
        .requests_for(FALLBACK)
        .iter()
        .map(|r| r.prefill)
        .collect();
    assert_eq!(fb, [true, false]);

    // Everything after the cut fails: the cut stays the reported cause.
    let f = start(
        scenario([
            faulty(Fault::StreamCut { after_chunks: 1 }),
            fallback()
                .rule(ScenarioRule::new(Fault::RejectPrefill))
                .rule(ScenarioRule::new(Fault::InsufficientQuota)),
        ]),
        |b| b.stream_policy(StreamPolicy::Continue),
    )
    .await;
    let got = read(f.client.chat().stream(chat(PRIMARY)).await.unwrap()).await;
    let err = got.end.unwrap_err();
    assert_eq!(err.partial(), Some("one "));
    assert_eq!(err.category(), Some(ErrorCategory::StreamInterrupted));
    assert_eq!(
        categories(err.attempts()),
        [
            Some(ErrorCategory::StreamInterrupted),
            Some(ErrorCategory::InvalidRequest),
            Some(ErrorCategory::QuotaExhausted)
        ]
    );
    assert_eq!(f.server.log().attempts(FALLBACK), 2);
}
