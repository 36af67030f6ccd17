//! Healing back, with the client's **default** configuration against
//! nb-mock on loopback: a model that recovers gets its traffic back within
//! seconds, a model that mostly works keeps most of it, and the tail does
//! not wait on a failing model. The primary answers in about 30 ms and the
//! fallback in about 50 ms when healthy. Time is tokio's paused clock (the
//! mock's latencies, the breaker's opens and the hedge delays all pass in
//! virtual time); each test asserts what the callers got and what the
//! server saw.

use std::sync::Arc;
use std::time::Duration;

use nb_client::{ErrorCategory, NeuralBridge};
use nb_mock::{Fault, ModelBehavior, ScenarioRule};
use nb_tests::client::{FALLBACK, PRIMARY, chat, start};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);

fn primary() -> ModelBehavior {
    ModelBehavior::new(PRIMARY).latency(MS * 25).jitter(MS * 10)
}

fn fallback() -> ModelBehavior {
    ModelBehavior::new(FALLBACK)
        .latency(MS * 45)
        .jitter(MS * 10)
}

/// One call as a caller saw it.
#[derive(Debug)]
struct Call {
    /// When it started, from the start of the load.
    at: Duration,
    latency: Duration,
    /// The model that served it (`None`: it failed).
    served_by: Option<String>,
    /// Requests it sent upstream (hedges included).
    upstream: usize,
    /// Whether one of its attempts was a hedge.
    hedged: bool,
}

/// `callers` callers sending requests back to back for `run`.
async fn closed_loop(client: &Arc<NeuralBridge>, callers: usize, run: Duration) -> Vec<Call> {
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let client = Arc::clone(client);
        tasks.spawn(async move {
            let mut calls = Vec::new();
            while t0.elapsed() < run {
                let at = t0.elapsed();
                let started = Instant::now();
                let result = client.chat().create(chat(PRIMARY)).await;
                let latency = started.elapsed();
                calls.push(match result {
                    Ok(r) => Call {
                        at,
                        latency,
                        served_by: Some(r.served_by().to_owned()),
                        upstream: r.attempts().len(),
                        hedged: r.attempts().iter().any(|a| a.is_hedge()),
                    },
                    Err(e) => Call {
                        at,
                        latency,
                        served_by: None,
                        upstream: e.attempts().len(),
                        hedged: e.attempts().iter().any(|a| a.is_hedge()),
                    },
                });
            }
            calls
        });
    }
    let mut calls: Vec<Call> = tasks.join_all().await.into_iter().flatten().collect();
    calls.sort_by_key(|c| c.at);
    calls
}

/// The share of the calls started in `from..to` that `model` served.
fn share(calls: &[Call], model: &str, from: Duration, to: Duration) -> f64 {
    let window: Vec<&Call> = calls.iter().filter(|c| c.at >= from && c.at < to).collect();
    assert!(!window.is_empty(), "no call in {from:?}..{to:?}");
    let served = window
        .iter()
        .filter(|c| c.served_by.as_deref() == Some(model))
        .count();
    served as f64 / window.len() as f64
}

/// The nearest-rank `q` quantile of the calls' latencies.
fn quantile(calls: &[Call], q: f64) -> Duration {
    let mut latencies: Vec<Duration> = calls.iter().map(|c| c.latency).collect();
    latencies.sort();
    let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
    latencies[rank - 1]
}

fn failures(calls: &[Call]) -> usize {
    calls.iter().filter(|c| c.served_by.is_none()).count()
}

#[tokio::test(start_paused = true)]
async fn after_three_transient_503s_the_next_calls_go_to_the_primary() {
    let store = nb_client::health::MemoryStore::default();
    let f = start(
        nb_tests::client::scenario([
            primary().rule(
                ScenarioRule::new(Fault::ServiceUnavailable {
                    retry_after_s: None,
                })
                .attempts(1..=3),
            ),
            fallback(),
        ]),
        |b| b.state_store(store.clone()),
    )
    .await;
    for _ in 0..3 {
        let r = f.client.chat().create(chat(PRIMARY)).await.unwrap();
        assert_eq!(r.served_by(), FALLBACK, "each 503 went elsewhere at once");
    }
    // Saved and loaded by a restarted client: nothing keeps it away.
    assert!(f.client.save_state().unwrap());
    let restarted = NeuralBridge::builder()
        .base_url(f.server.base_url())
        .api_key(nb_tests::client::KEY)
        .fallback_models([PRIMARY, FALLBACK])
        .state_store(store)
        .build()
        .unwrap();
    for _ in 0..20 {
        let r = restarted.chat().create(chat(PRIMARY)).await.unwrap();
        assert_eq!(r.served_by(), PRIMARY);
    }
    // Right after, an hour later, a week later: the primary serves.
    for wait in [Duration::ZERO, S * 3600, S * 7 * 24 * 3600] {
        tokio::time::sleep(wait).await;
        for _ in 0..10 {
            let r = f.client.chat().create(chat(PRIMARY)).await.unwrap();
            assert_eq!(r.served_by(), PRIMARY);
            assert_eq!(r.attempts().len(), 1);
        }
    }
    let log = f.server.log();
    assert_eq!(log.attempts(PRIMARY), 53);
    assert_eq!(log.attempts(FALLBACK), 3);
    let status = f.client.health_status();
    assert!(
        status.active_models.iter().any(|m| m == PRIMARY),
        "{status:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn after_a_429_burst_the_primary_is_back_within_3_s_and_nobody_waits_twice() {
    let burst = S * 5..S * 13;
    let f = start(
        nb_tests::client::scenario([
            primary().rule(ScenarioRule::new(Fault::rate_limit_after(2)).window(burst.clone())),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let client = Arc::new(f.client);
    let calls = closed_loop(&client, 16, S * 25).await;

    assert_eq!(failures(&calls), 0);
    // Nobody waited out a Retry-After: every call took about one
    // answer (a 429 is sent elsewhere at once).
    let slowest = calls.iter().map(|c| c.latency).max().unwrap();
    assert!(
        slowest < S * 2,
        "no caller waits a Retry-After: {slowest:?}"
    );
    // During the burst the fallback serves; within 3 s of its end the
    // primary serves nearly everything again.
    assert!(share(&calls, FALLBACK, S * 6, S * 12) > 0.9);
    assert!(share(&calls, PRIMARY, burst.end + S * 3, S * 25) >= 0.9);
    // The server saw about one 429 per Retry-After, not one per caller per
    // request: the wait is shared.
    let log = f.server.log();
    let in_burst = log
        .requests_for(PRIMARY)
        .iter()
        .filter(|r| burst.contains(&r.at))
        .count();
    assert!(
        in_burst <= 16 * 5,
        "{in_burst} requests to a rate-limited primary"
    );
}

#[tokio::test(start_paused = true)]
async fn a_10_s_outage_costs_no_request_and_the_primary_is_back_within_5_s() {
    let outage = S * 5..S * 15;
    let f = start(
        nb_tests::client::scenario([
            primary().rule(
                ScenarioRule::new(Fault::ServiceUnavailable {
                    retry_after_s: None,
                })
                .window(outage.clone()),
            ),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let client = Arc::new(f.client);
    let calls = closed_loop(&client, 16, S * 30).await;

    assert_eq!(failures(&calls), 0, "no request fails");
    // The outage costs at most the fallback's latency (plus the primary's
    // fast 503 for the calls before its breaker opened).
    let during: Vec<Call> = calls.into_iter().filter(|c| c.at >= outage.start).collect();
    let outage_calls: Vec<&Call> = during.iter().filter(|c| c.at < outage.end).collect();
    let worst = outage_calls.iter().map(|c| c.latency).max().unwrap();
    assert!(worst <= MS * 150, "{worst:?}");
    // Back: 80 % within 5 s of the recovery, and it stays.
    assert!(share(&during, PRIMARY, outage.end + S * 4, outage.end + S * 5) >= 0.8);
    assert!(share(&during, PRIMARY, outage.end + S * 5, S * 30) >= 0.95);
    // The primary was not hammered while down.
    let log = f.server.log();
    let hammer = log
        .requests_for(PRIMARY)
        .iter()
        .filter(|r| outage.contains(&r.at))
        .count();
    assert!(hammer < 200, "{hammer} requests to a dead primary");
}

/// A primary failing 30 % of its calls fast with `fault`: it keeps most of
/// the traffic, the tail stays near the fallback's latency, and each fault
/// costs one extra upstream call, not an ejection.
async fn thirty_percent(fault: Fault) {
    let f = start(
        nb_tests::client::scenario([
            primary().rule(ScenarioRule::new(fault.clone()).probability(0.3)),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let client = Arc::new(f.client);
    let calls = closed_loop(&client, 16, S * 20).await;

    assert_eq!(failures(&calls), 0, "{fault:?}");
    // A fast fault is never hedged, and never ejects the primary.
    assert!(calls.iter().all(|c| !c.hedged), "{fault:?}");
    let primary = client
        .targets()
        .into_iter()
        .find(|t| t.name == PRIMARY)
        .unwrap();
    assert_eq!(
        primary.breaker,
        nb_client::health::CircuitState::Closed,
        "{fault:?}"
    );
    let kept = share(&calls, PRIMARY, Duration::ZERO, S * 20);
    assert!(kept >= 0.6, "{fault:?}: the primary kept {kept:.2}");
    let p99 = quantile(&calls, 0.99);
    assert!(p99 <= MS * 110, "{fault:?}: p99 {p99:?}");
    let upstream = calls.iter().map(|c| c.upstream).sum::<usize>() as f64 / calls.len() as f64;
    assert!(
        upstream <= 1.4,
        "{fault:?}: {upstream:.2} upstream calls per request"
    );
    let log = f.server.log();
    let seen = log.attempts(PRIMARY) + log.attempts(FALLBACK);
    assert_eq!(seen, calls.iter().map(|c| c.upstream).sum::<usize>());
}

#[tokio::test(start_paused = true)]
async fn thirty_percent_503s_keep_the_primary() {
    thirty_percent(Fault::ServiceUnavailable {
        retry_after_s: None,
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn thirty_percent_malformed_200s_keep_the_primary() {
    thirty_percent(Fault::TruncatedJson).await;
}

#[tokio::test(start_paused = true)]
async fn thirty_percent_resets_keep_the_primary() {
    thirty_percent(Fault::ConnectionReset).await;
}

#[tokio::test(start_paused = true)]
async fn thirty_percent_hangs_are_hedged_within_a_second_and_the_losers_closed() {
    let f = start(
        nb_tests::client::scenario([
            primary().rule(ScenarioRule::new(Fault::Hang).probability(0.3)),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let client = Arc::new(f.client);
    let calls = closed_loop(&client, 16, S * 20).await;

    assert_eq!(failures(&calls), 0);
    let kept = share(&calls, PRIMARY, Duration::ZERO, S * 20);
    assert!(kept >= 0.6, "the primary kept {kept:.2}");
    // The first hangs wait the initial delay (no success measured yet);
    // after the first second every hang is hedged at the floor.
    let settled: Vec<Call> = calls.into_iter().filter(|c| c.at >= S).collect();
    let p99 = quantile(&settled, 0.99);
    assert!(p99 <= S, "p99 {p99:?}");
    let hedged = settled.iter().filter(|c| c.hedged).count();
    assert!(hedged > 0);
    // Every hedge's loser was the hung attempt: the server saw each closed.
    tokio::time::sleep(MS * 100).await;
    let abandoned = f.server.abandoned_requests();
    let all_hedged = settled.iter().filter(|c| c.hedged).count() as u64;
    assert!(
        abandoned >= all_hedged,
        "{abandoned} closed, {all_hedged} hedged"
    );
    // Within the default budget, and the primary's breaker stays closed.
    let primary = client
        .targets()
        .into_iter()
        .find(|t| t.name == PRIMARY)
        .unwrap();
    assert_eq!(primary.breaker, nb_client::health::CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn hedge_delays_follow_each_targets_own_latency_and_stay_in_budget() {
    // A fast target (30 ms) and a slow-but-working one (2 s, jitter 1 s):
    // the slow one is hedged rarely, the fast one at its own delay.
    let f = start(
        nb_tests::client::scenario([
            ModelBehavior::new(PRIMARY)
                .latency(S * 2)
                .jitter(S)
                .rule(ScenarioRule::new(Fault::Hang).attempts(41..=41)),
            // (Its 41st call is the primary's hedge.)
            ModelBehavior::new(FALLBACK)
                .latency(MS * 30)
                .rule(ScenarioRule::new(Fault::Hang).attempts(42..=42)),
        ]),
        |b| b,
    )
    .await;
    let slow = Arc::new(f.client);
    // Forty sequential calls each, non-streamed: both learn their delays.
    let mut hedged = 0;
    for _ in 0..40 {
        let r = slow.chat().create(chat(PRIMARY)).await.unwrap();
        hedged += usize::from(r.attempts().iter().any(|a| a.is_hedge()));
        let r = slow.chat().create(chat(FALLBACK)).await.unwrap();
        assert_eq!(r.served_by(), FALLBACK);
    }
    assert!(
        hedged <= 4,
        "a slow but working target is rarely hedged: {hedged}"
    );
    // Its 41st call hangs: hedged after its own delay, seconds, not the
    // fast target's 250 ms.
    let started = Instant::now();
    let r = slow.chat().create(chat(PRIMARY)).await.unwrap();
    let slow_delay = started.elapsed();
    assert_eq!(r.served_by(), FALLBACK);
    assert!(slow_delay > S * 3 && slow_delay < S * 20, "{slow_delay:?}");
    // The fast target's next call hangs: hedged at the floor (to the
    // primary, which takes its 2 s).
    let started = Instant::now();
    let r = slow.chat().create(chat(FALLBACK)).await.unwrap();
    assert!(r.attempts()[1].is_hedge());
    assert_eq!(r.attempts()[1].started_at(), MS * 250);
    assert!(started.elapsed() < S * 4);

    // The same for streams: first tokens.
    let mut streams = 0;
    for _ in 0..20 {
        let s = slow.chat().stream(chat(PRIMARY)).await.unwrap();
        let summary = nb_tests::client::read(s).await.end.unwrap();
        streams += usize::from(summary.attempts().iter().any(|a| a.is_hedge()));
    }
    assert!(streams <= 2, "{streams} streams hedged");
}

#[tokio::test(start_paused = true)]
async fn a_60_s_answer_from_a_healthy_model_succeeds() {
    let f = start(
        nb_tests::client::scenario([ModelBehavior::new(PRIMARY).generation(S * 60), fallback()]),
        |b| b,
    )
    .await;
    let started = Instant::now();
    let r = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert!(started.elapsed() >= S * 60);
    // The first answer of a new target may be hedged once (no delay learnt
    // yet); whoever answers, nothing timed out.
    assert!(r.attempts().iter().all(|a| {
        a.diagnosis()
            .is_none_or(|d| d.category != ErrorCategory::Timeout)
    }));
    // Once it has answered, the next 60 s answer is neither hedged nor cut.
    let r = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(r.served_by(), PRIMARY);
    assert_eq!(r.attempts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_primary_with_a_few_faults_is_not_dropped_by_a_second_rule() {
    // A primary ten times slower than its fallback and failing 30 % of its
    // calls: the balancer would score it under its exclusion bar, but only
    // the breaker (which sees a 30 % failure rate) takes a target out.
    let f = start(
        nb_tests::client::scenario([
            ModelBehavior::new(PRIMARY).latency(MS * 500).rule(
                ScenarioRule::new(Fault::ServiceUnavailable {
                    retry_after_s: None,
                })
                .probability(0.3),
            ),
            fallback(),
        ]),
        |b| b,
    )
    .await;
    let client = Arc::new(f.client);
    let calls = closed_loop(&client, 4, S * 60).await;
    assert_eq!(failures(&calls), 0);
    let kept = share(&calls, PRIMARY, Duration::ZERO, S * 60);
    assert!(kept >= 0.6, "the primary kept {kept:.2}");
    let status = client.health_status();
    assert!(status.excluded_models.is_empty(), "{status:?}");
}

#[tokio::test(start_paused = true)]
async fn a_weekly_pattern_is_avoided_in_its_hours_and_the_model_returns_after() {
    const HOUR: Duration = Duration::from_secs(3600);
    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
    // The primary is rate-limited for the same three hours of four weeks
    // in a row, and healthy otherwise (its behaviour is swapped live).
    let f = start(nb_tests::client::scenario([primary(), fallback()]), |b| b).await;
    let limited = || primary().rule(ScenarioRule::new(Fault::rate_limit_after(30)));
    let t0 = Instant::now();
    let at = |offset: Duration| tokio::time::sleep_until(t0 + offset);
    // Three weeks of traffic: one call every 31 s through the bad hours and
    // through three healthy hours later the same day.
    for week in 0..3 {
        for (start, behavior) in [
            (WEEK * week, limited()),
            (WEEK * week + HOUR * 5, primary()),
        ] {
            f.server.set_model(behavior).unwrap();
            for i in 0..(3 * 3600 / 31) {
                at(start + Duration::from_secs(31 * i)).await;
                f.client.chat().create(chat(PRIMARY)).await.unwrap();
            }
        }
    }
    f.server.set_model(limited()).unwrap();
    // Week four, an hour into the bad hours: the primary is skipped, with
    // one probe every 5 s.
    at(WEEK * 3 + HOUR).await;
    let before = f.server.log().attempts(PRIMARY);
    for _ in 0..60 {
        let r = f.client.chat().create(chat(PRIMARY)).await.unwrap();
        assert_eq!(r.served_by(), FALLBACK);
        tokio::time::sleep(S).await;
    }
    let probes = f.server.log().attempts(PRIMARY) - before;
    assert!(
        (1..=13).contains(&probes),
        "{probes} calls to the primary in a minute"
    );
    let health = f.client.health_status();
    assert!(
        health.excluded_models.iter().any(|m| m == PRIMARY),
        "{health:?}"
    );
    // After the bad hours (the clock hour the last one ends in included:
    // patterns are by UTC hour) it serves at once.
    f.server.set_model(primary()).unwrap();
    at(WEEK * 3 + HOUR * 4 + S).await;
    let r = f.client.chat().create(chat(PRIMARY)).await.unwrap();
    assert_eq!(r.served_by(), PRIMARY);
    assert_eq!(r.attempts().len(), 1);
}
