//! Replicas of a client adding up what they learn in one Redis, against
//! nb-mock on loopback, in real time with the shipped defaults.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

use std::time::{Duration, SystemTime};

use nb_client::health::LearnState;
use nb_client::layers::learn::{CounterKind, HourOfWeek};
use nb_client::{ChatRequest, NeuralBridgeBuilder};
use nb_learn::testing::rate_limited_this_hour;
use nb_mock::MockServer;
use nb_redis::RedisStore;
use nb_redis::testing::RedisServer;

mod support;
use support::healthy;

fn replica(mock: &MockServer, redis: &str) -> NeuralBridgeBuilder {
    support::replica(mock).shared_state(RedisStore::new(redis).unwrap().prefix("learn"))
}

/// Calls to `model` counted in the hour of the week we are in.
fn calls_this_hour(state: &LearnState, model: &str) -> u32 {
    let (week, hour) = this_week_and_hour();
    state
        .counters()
        .into_iter()
        .filter(|(c, _)| c.model == model && c.week == week && c.kind == CounterKind::Calls(hour))
        .map(|(_, n)| n)
        .sum()
}

fn this_week_and_hour() -> (u32, HourOfWeek) {
    let now = SystemTime::now();
    let hours = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 3600;
    // Weeks count from Monday 1969-12-29, 72 hours before the epoch.
    (
        u32::try_from((hours + 72) / 168).unwrap(),
        HourOfWeek::of(now),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_replicas_learn_adds_up_and_outlives_every_replica() {
    let redis = RedisServer::start();
    let mock = MockServer::start(healthy()).await.unwrap();
    // `a` knows a pattern from its state file; `b` knows nothing.
    let a = replica(&mock, &redis.url())
        .state_store(rate_limited_this_hour("primary", "neuralbridge"))
        .build()
        .unwrap();
    let b = replica(&mock, &redis.url()).build().unwrap();
    assert!(!a.learned_patterns().is_empty());
    assert!(b.learned_patterns().is_empty());
    // Let both make their first exchange, then each calls `backup` 4 times.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for r in [&a, &b] {
        for _ in 0..4 {
            let served = r
                .chat()
                .create(ChatRequest::new("backup").user_message("Hello"))
                .await
                .unwrap();
            assert_eq!(served.served_by(), "backup");
        }
    }
    // The next exchange is 10 s after the first.
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    let fleet_patterns = a.learned_patterns();
    assert!(
        !b.learned_patterns().is_empty(),
        "b learned a's pattern from the fleet"
    );
    drop((a, b));

    // Every replica restarted: the fleet still knows.
    let c = replica(&mock, &redis.url()).build().unwrap();
    let mut known = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !c.learned_patterns().is_empty() {
            known = true;
            break;
        }
    }
    assert!(known, "the learned pattern outlives every replica");
    assert_eq!(c.learned_patterns(), fleet_patterns);
    assert_eq!(
        calls_this_hour(&c.learned_state(), "backup"),
        8,
        "both replicas' calls add up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_loaded_again_at_a_restart_is_not_counted_twice() {
    let redis = RedisServer::start();
    let mock = MockServer::start(healthy()).await.unwrap();
    let store = rate_limited_this_hour("primary", "neuralbridge");
    let taught_state = nb_client::layers::learn::StateStore::load(&store, "neuralbridge")
        .unwrap()
        .unwrap();
    let total = |s: &LearnState| -> u64 { s.counters().iter().map(|(_, n)| u64::from(*n)).sum() };

    // A replica with the state file joins an empty fleet: the fleet takes
    // it in once.
    let a = replica(&mock, &redis.url())
        .state_store(store.clone())
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(total(&a.learned_state()), total(&taught_state));
    drop(a);

    // Restarted with the same file: nothing is added again.
    let b = replica(&mock, &redis.url())
        .state_store(store)
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(total(&b.learned_state()), total(&taught_state));
}
