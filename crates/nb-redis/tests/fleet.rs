//! Three replicas of a client sharing their breakers through one Redis,
//! against nb-mock on loopback, in real time with the shipped defaults.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on purpose

use std::time::{Duration, Instant};

use nb_client::NeuralBridge;
use nb_client::health::CircuitState;
use nb_mock::{Fault, MockServer, ModelBehavior, ScenarioRule};
use nb_redis::RedisStore;
use nb_redis::testing::RedisServer;

mod support;
use support::{ask, healthy, within};

fn replica(mock: &MockServer, redis: &str, prefix: &str) -> NeuralBridge {
    support::replica(mock)
        .shared_breakers(RedisStore::new(redis).unwrap().prefix(prefix))
        .build()
        .unwrap()
}

fn primary(client: &NeuralBridge) -> CircuitState {
    client
        .targets()
        .into_iter()
        .find(|t| t.model == "primary")
        .unwrap()
        .breaker
}

/// Opens the primary's breaker on `client` by calling through an outage.
async fn open_primary(client: &NeuralBridge) {
    for _ in 0..40 {
        let served = client.chat().create(ask()).await.unwrap();
        assert_eq!(served.served_by(), "backup");
        if primary(client) == CircuitState::Open {
            return;
        }
    }
    panic!("the primary's breaker never opened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_one_replica_sees_stops_the_fleet_within_a_second_and_one_probe_brings_it_back() {
    let redis = RedisServer::start();
    let mock = MockServer::start(healthy()).await.unwrap();
    let fleet: Vec<NeuralBridge> = (0..3)
        .map(|_| replica(&mock, &redis.url(), "outage"))
        .collect();
    for r in &fleet {
        assert_eq!(r.chat().create(ask()).await.unwrap().served_by(), "primary");
    }

    mock.set_model(ModelBehavior::new("primary").rule(ScenarioRule::new(Fault::ServerError)))
        .unwrap();
    open_primary(&fleet[0]).await;
    let seen_by_the_others = within(Duration::from_secs(1), || {
        fleet[1..].iter().all(|r| primary(r) == CircuitState::Open)
    })
    .await;
    assert!(
        seen_by_the_others.is_some(),
        "every breaker open within 1 s"
    );
    let before = mock.log().attempts("primary");
    for r in &fleet[1..] {
        assert_eq!(r.chat().create(ask()).await.unwrap().served_by(), "backup");
    }
    assert_eq!(
        mock.log().attempts("primary"),
        before,
        "the others sent it nothing"
    );

    // It recovers; the fleet keeps calling every 100 ms.
    mock.set_model(ModelBehavior::new("primary")).unwrap();
    let at_recovery = mock.log().attempts("primary");
    let mut first_closed = None;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        for r in &fleet {
            r.chat().create(ask()).await.unwrap();
        }
        if first_closed.is_none() && fleet.iter().any(|r| primary(r) == CircuitState::Closed) {
            first_closed = Some(mock.log().attempts("primary") - at_recovery);
        }
        if fleet.iter().all(|r| primary(r) == CircuitState::Closed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        fleet.iter().all(|r| primary(r) == CircuitState::Closed),
        "the fleet closes with the probe's verdict"
    );
    let probes = first_closed.unwrap();
    assert!(
        probes <= 3,
        "{probes} calls reached the primary before the first breaker closed: one replica probes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_fails_no_request_and_the_fleet_resynchronises_when_it_returns() {
    let redis = RedisServer::start();
    let url = redis.url();
    let mock = MockServer::start(healthy()).await.unwrap();
    let a = replica(&mock, &url, "killed");
    let b = replica(&mock, &url, "killed");
    for r in [&a, &b] {
        assert_eq!(r.chat().create(ask()).await.unwrap().served_by(), "primary");
    }
    let port = redis.kill();

    // Every call still succeeds, on the replica's own breakers.
    for r in [&a, &b] {
        for _ in 0..3 {
            let started = Instant::now();
            r.chat().create(ask()).await.unwrap();
            assert!(started.elapsed() < Duration::from_secs(1));
        }
    }
    mock.set_model(ModelBehavior::new("primary").rule(ScenarioRule::new(Fault::ServerError)))
        .unwrap();
    open_primary(&a).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        primary(&b),
        CircuitState::Closed,
        "nothing shared while Redis is away"
    );

    // Back: `a` offers its open again, and `b` takes it.
    let _redis = RedisServer::start_on(port);
    let resynchronised = within(Duration::from_millis(1500), || {
        primary(&b) == CircuitState::Open
    })
    .await;
    assert!(
        resynchronised.is_some(),
        "b holds the primary open once Redis is back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_started_during_an_outage_knows_of_it_before_its_first_call() {
    let redis = RedisServer::start();
    let mock = MockServer::start(healthy()).await.unwrap();
    mock.set_model(ModelBehavior::new("primary").rule(ScenarioRule::new(Fault::ServerError)))
        .unwrap();
    let a = replica(&mock, &redis.url(), "restart");
    open_primary(&a).await;
    // Its next sync (within 250 ms) tells the fleet; then every replica restarts.
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(a);

    let before = mock.log().attempts("primary");
    let restarted = replica(&mock, &redis.url(), "restart");
    let known = within(Duration::from_secs(1), || {
        primary(&restarted) == CircuitState::Open
    })
    .await;
    assert!(
        known.is_some(),
        "the fleet's open breaker is known after a restart"
    );
    assert_eq!(
        restarted.chat().create(ask()).await.unwrap().served_by(),
        "backup"
    );
    assert_eq!(mock.log().attempts("primary"), before);
}
