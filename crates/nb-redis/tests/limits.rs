//! Three replicas of a client holding one rate limit together through one
//! Redis, against nb-mock on loopback, in real time with the shipped
//! defaults.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

use std::sync::Arc;
use std::time::{Duration, Instant};

use nb_client::policy::RateLimits;
use nb_client::{EndpointConfig, NeuralBridge};
use nb_mock::{Fault, MockServer, ModelBehavior, ScenarioRule};
use nb_redis::RedisStore;
use nb_redis::testing::RedisServer;

mod support;
use support::{ask, healthy};

/// A replica whose primary is held to 600 requests per minute (the
/// default burst: a second's worth), with an unlimited backup.
fn replica(mock: &MockServer, redis: &str, prefix: &str) -> NeuralBridge {
    NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("limited", mock.base_url())
                .api_key("sk-fleet-0001")
                .models(["primary"])
                .rate_limits(RateLimits {
                    requests_per_minute: Some(600),
                    ..RateLimits::default()
                }),
        )
        .endpoint(
            EndpointConfig::openai_compatible("spare", mock.base_url())
                .api_key("sk-fleet-0002")
                .models(["backup"]),
        )
        .fallback_models(["primary", "backup"])
        .shared_state(RedisStore::new(redis).unwrap().prefix(prefix))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_offered_twice_a_shared_600_rpm_send_600_in_the_minute() {
    let redis = RedisServer::start();
    let mock = MockServer::start(healthy()).await.unwrap();
    let fleet: Vec<Arc<NeuralBridge>> = (0..3)
        .map(|_| Arc::new(replica(&mock, &redis.url(), "rpm")))
        .collect();
    // Let each replica take its first lease.
    tokio::time::sleep(Duration::from_millis(600)).await;

    // 1,200 requests over the minute, 400 per replica, on a fixed beat
    // whatever the answers (an open loop).
    const PER_REPLICA: u32 = 400;
    let beat = Duration::from_secs(60) / PER_REPLICA;
    let start = Instant::now();
    let mut calls = Vec::new();
    for (i, client) in fleet.iter().enumerate() {
        let client = Arc::clone(client);
        calls.push(tokio::spawn(async move {
            // The replicas' beats interleave.
            tokio::time::sleep(beat / 3 * u32::try_from(i).unwrap()).await;
            let mut tick = tokio::time::interval(beat);
            let mut inflight = Vec::new();
            for _ in 0..PER_REPLICA {
                tick.tick().await;
                let client = Arc::clone(&client);
                inflight.push(tokio::spawn(async move {
                    client
                        .chat()
                        .create(ask())
                        .await
                        .map(|r| r.served_by().to_owned())
                }));
            }
            let mut served = Vec::new();
            for call in inflight {
                served.push(call.await.unwrap());
            }
            served
        }));
    }
    let mut by_primary = 0;
    let mut total = 0;
    for call in calls {
        for served in call.await.unwrap() {
            let served = served.expect("every request is served: the backup takes the excess");
            total += 1;
            by_primary += usize::from(served == "primary");
        }
    }
    let elapsed = start.elapsed();
    let reached = mock.log().attempts("primary");
    eprintln!(
        "{total} requests in {elapsed:.1?}: {reached} reached the primary, {by_primary} served by it"
    );
    assert_eq!(total, 1200);
    assert!(
        (570..=630).contains(&reached),
        "{reached} requests reached the primary in the minute; the fleet's limit is 600"
    );
    assert_eq!(by_primary, reached, "the primary failed none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_one_replica_meets_pauses_the_fleet() {
    let redis = RedisServer::start();
    let mock = MockServer::start(healthy()).await.unwrap();
    let fleet: Vec<NeuralBridge> = (0..3)
        .map(|_| replica(&mock, &redis.url(), "pause"))
        .collect();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The primary's first answer is a 429 with `Retry-After: 3`.
    mock.set_model(
        ModelBehavior::new("primary")
            .rule(ScenarioRule::new(Fault::rate_limit_after(3)).attempts(1..=1)),
    )
    .unwrap();
    let paused_at = Instant::now();
    let first = fleet[0].chat().create(ask()).await.unwrap();
    assert_eq!(first.served_by(), "backup");
    // `a`'s next lease round tells the fleet, and the others' next round
    // hears it: two rounds of 250 ms.
    tokio::time::sleep(Duration::from_millis(600)).await;

    let before = mock.log().attempts("primary");
    while paused_at.elapsed() < Duration::from_millis(2_500) {
        for r in &fleet[1..] {
            assert!(r.chat().create(ask()).await.is_ok());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let during = mock.log().attempts("primary") - before;
    assert!(
        during <= 2,
        "{during} requests reached the primary in its pause: at most the one unit each other replica held"
    );

    // The pause ends for the whole fleet.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    for r in &fleet[1..] {
        assert_eq!(r.chat().create(ask()).await.unwrap().served_by(), "primary");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_pauses_the_fleet_on_a_model_with_no_configured_limit_too() {
    let redis = RedisServer::start();
    let mock = MockServer::start(healthy()).await.unwrap();
    let fleet: Vec<NeuralBridge> = (0..3)
        .map(|_| {
            support::replica(&mock)
                .shared_state(RedisStore::new(&redis.url()).unwrap().prefix("unlimited"))
                .build()
                .unwrap()
        })
        .collect();
    mock.set_model(
        ModelBehavior::new("primary")
            .rule(ScenarioRule::new(Fault::rate_limit_after(3)).attempts(1..=1)),
    )
    .unwrap();
    let paused_at = Instant::now();
    assert_eq!(
        fleet[0].chat().create(ask()).await.unwrap().served_by(),
        "backup"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = mock.log().attempts("primary");
    while paused_at.elapsed() < Duration::from_millis(2_500) {
        for r in &fleet[1..] {
            assert_eq!(r.chat().create(ask()).await.unwrap().served_by(), "backup");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        mock.log().attempts("primary"),
        before,
        "the others sent the paused model nothing"
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    for r in &fleet[1..] {
        assert_eq!(r.chat().create(ask()).await.unwrap().served_by(), "primary");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_away_leaves_each_replica_on_its_own_limit_and_fails_nothing() {
    let redis = RedisServer::start();
    let mock = MockServer::start(healthy()).await.unwrap();
    let client = replica(&mock, &redis.url(), "away");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let port = redis.kill();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The lease ended: the replica's own limit (a burst of 10) rules.
    let mut by_primary = 0;
    for _ in 0..15 {
        let started = Instant::now();
        let served = client.chat().create(ask()).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        by_primary += usize::from(served.served_by() == "primary");
    }
    assert!(
        (10..=12).contains(&by_primary),
        "{by_primary} of 15 back-to-back requests on the primary: its own burst of 10"
    );
    let _redis = RedisServer::start_on(port);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(client.chat().create(ask()).await.is_ok());
}
