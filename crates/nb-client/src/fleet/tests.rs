//! Three replicas sharing one in-memory store, in virtual time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use nb_breaker::{
    CircuitBreakerConfig, FleetRecord, FleetState, SharedBreakers, SharedError, SharedFuture,
};
use nb_transport::{MockTransport, RecordedRequest};

use crate::health::CircuitState;
use crate::tests::{ok, openai_error, request};
use crate::{NeuralBridge, NeuralBridgeBuilder};

/// A fleet's store in memory; `down` makes every call fail. Each replica
/// gets its own handle (`replica`), as each would its own connection.
#[derive(Debug, Default, Clone)]
struct Memory {
    records: Arc<Mutex<HashMap<String, FleetState>>>,
    probes: Arc<Mutex<HashMap<String, (usize, tokio::time::Instant)>>>,
    down: Arc<AtomicBool>,
    /// Every call, answered or not.
    calls: Arc<AtomicUsize>,
    id: usize,
}

impl Memory {
    fn handle(&self, id: usize) -> Self {
        Self { id, ..self.clone() }
    }

    fn answer<T: Send + 'static>(&self, value: impl FnOnce() -> T) -> SharedFuture<'_, T> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = if self.down.load(std::sync::atomic::Ordering::Relaxed) {
            Err(SharedError::new("down"))
        } else {
            Ok(value())
        };
        Box::pin(async move { result })
    }
}

impl SharedBreakers for Memory {
    fn open(&self, target: &str, until: SystemTime) -> SharedFuture<'_, ()> {
        self.answer(|| {
            self.records
                .lock()
                .unwrap()
                .insert(target.to_owned(), FleetState::Open { until });
        })
    }

    fn recovered(&self, target: &str) -> SharedFuture<'_, ()> {
        self.answer(|| {
            self.records
                .lock()
                .unwrap()
                .insert(target.to_owned(), FleetState::Recovered);
        })
    }

    fn states(&self, targets: &[String]) -> SharedFuture<'_, Vec<FleetRecord>> {
        self.answer(|| {
            let records = self.records.lock().unwrap();
            targets
                .iter()
                .filter_map(|t| {
                    records.get(t).map(|state| FleetRecord {
                        target: t.clone(),
                        state: *state,
                    })
                })
                .collect()
        })
    }

    fn claim_probe(&self, target: &str, hold: Duration) -> SharedFuture<'_, bool> {
        self.answer(|| {
            let now = tokio::time::Instant::now();
            let mut probes = self.probes.lock().unwrap();
            match probes.get(target) {
                Some((holder, until)) if *until > now => *holder == self.id,
                _ => {
                    probes.insert(target.to_owned(), (self.id, now + hold));
                    true
                }
            }
        })
    }
}

/// A transport whose `primary` is up while `up` says so, counting its calls.
fn provider(up: Arc<AtomicBool>, primary_calls: Arc<AtomicUsize>) -> MockTransport {
    MockTransport::from_fn(move |r: &RecordedRequest| {
        let model = r.chat_request().map(|c| c.model).unwrap_or_default();
        if model == "primary" {
            primary_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if !up.load(std::sync::atomic::Ordering::Relaxed) {
                return openai_error(500, "server_error", "The server had an error");
            }
        }
        ok(&model)
    })
}

fn replica(store: &Memory, id: usize, transport: &MockTransport) -> NeuralBridge {
    NeuralBridgeBuilder::default()
        .base_url("https://api.openai.com/v1")
        .api_key("sk-test-key-0001")
        .fallback_models(["primary", "backup"])
        .transport(Arc::new(transport.clone()))
        .breaker(CircuitBreakerConfig::consecutive_failures(2))
        .shared_breakers(store.handle(id))
        .seed(7)
        .build()
        .unwrap()
}

fn primary_state(client: &NeuralBridge) -> CircuitState {
    client
        .targets()
        .into_iter()
        .find(|t| t.model == "primary")
        .unwrap()
        .breaker
}

/// Lets the replicas' sync tasks run for `d` of virtual time.
async fn run_for(d: Duration) {
    let step = Duration::from_millis(50);
    let mut left = d;
    while !left.is_zero() {
        tokio::time::sleep(step.min(left)).await;
        left = left.saturating_sub(step);
    }
}

#[tokio::test(start_paused = true)]
async fn an_outage_one_replica_sees_opens_every_replicas_breaker_and_the_fleet_recovers_together() {
    let store = Memory::default();
    let up = Arc::new(AtomicBool::new(true));
    let calls: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let transports: Vec<MockTransport> = calls
        .iter()
        .map(|c| provider(Arc::clone(&up), Arc::clone(c)))
        .collect();
    let replicas: Vec<NeuralBridge> = transports
        .iter()
        .enumerate()
        .map(|(i, t)| replica(&store, i, t))
        .collect();
    for r in &replicas {
        assert_eq!(
            r.chat().create(request()).await.unwrap().served_by(),
            "primary"
        );
    }

    // The primary goes down; only the first replica meets it.
    up.store(false, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..2 {
        assert_eq!(
            replicas[0]
                .chat()
                .create(request())
                .await
                .unwrap()
                .served_by(),
            "backup"
        );
    }
    assert_eq!(primary_state(&replicas[0]), CircuitState::Open);
    run_for(Duration::from_millis(600)).await;
    for r in &replicas[1..] {
        assert_eq!(
            primary_state(r),
            CircuitState::Open,
            "within a second, no call of its own"
        );
        assert_eq!(
            r.chat().create(request()).await.unwrap().served_by(),
            "backup"
        );
    }
    let primary_calls = |i: usize| calls[i].load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        (primary_calls(1), primary_calls(2)),
        (1, 1),
        "the others never met the outage"
    );

    // It recovers. When the open time ends one replica probes, and the fleet closes.
    up.store(true, std::sync::atomic::Ordering::Relaxed);
    let before: usize = (0..3).map(primary_calls).sum();
    for _ in 0..40 {
        run_for(Duration::from_millis(250)).await;
        for r in &replicas {
            let _ = r.chat().create(request()).await.unwrap();
        }
        if replicas
            .iter()
            .all(|r| primary_state(r) == CircuitState::Closed)
        {
            break;
        }
    }
    assert!(
        replicas
            .iter()
            .all(|r| primary_state(r) == CircuitState::Closed),
        "{:?}",
        replicas.iter().map(primary_state).collect::<Vec<_>>()
    );
    let probes: usize = (0..3).map(primary_calls).sum::<usize>() - before;
    // The winner's probes (its breaker lets two through), then the fleet's
    // calls once closed: at most one round of three.
    assert!(
        probes <= 2 + 3,
        "{probes} calls to the primary around its recovery"
    );
}

#[tokio::test(start_paused = true)]
async fn a_store_that_is_down_leaves_every_replica_on_its_own_breakers() {
    let store = Memory::default();
    store.down.store(true, std::sync::atomic::Ordering::Relaxed);
    let up = Arc::new(AtomicBool::new(true));
    let transport = provider(Arc::clone(&up), Arc::new(AtomicUsize::new(0)));
    let a = replica(&store, 0, &transport);
    let b = replica(&store, 1, &transport);
    for r in [&a, &b] {
        assert_eq!(
            r.chat().create(request()).await.unwrap().served_by(),
            "primary"
        );
    }
    up.store(false, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..2 {
        assert_eq!(
            a.chat().create(request()).await.unwrap().served_by(),
            "backup"
        );
    }
    run_for(Duration::from_secs(1)).await;
    assert_eq!(primary_state(&a), CircuitState::Open);
    assert_eq!(
        primary_state(&b),
        CircuitState::Closed,
        "nothing shared, nothing lost"
    );
    assert!(
        a.inner
            .fleet
            .as_ref()
            .unwrap()
            .errors
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );

    // Back: within the longest wait between tries and a round, `a` offers
    // its open again and `b` takes it, still in force.
    store
        .down
        .store(false, std::sync::atomic::Ordering::Relaxed);
    run_for(super::RECONNECT_MAX + Duration::from_millis(300)).await;
    assert_eq!(primary_state(&b), CircuitState::Open, "resynchronised");
    assert_eq!(
        b.chat().create(request()).await.unwrap().served_by(),
        "backup"
    );
}

#[tokio::test(start_paused = true)]
async fn a_store_that_is_away_is_tried_again_after_a_doubling_wait_and_reported() {
    let store = Memory::default();
    let transport = provider(
        Arc::new(AtomicBool::new(true)),
        Arc::new(AtomicUsize::new(0)),
    );
    let client = replica(&store, 0, &transport);
    assert_eq!(
        client.chat().create(request()).await.unwrap().served_by(),
        "primary"
    );
    run_for(Duration::from_millis(600)).await;
    let status = client.shared_store().unwrap();
    assert!(status.reachable && status.errors == 0, "{status:?}");

    store.down.store(true, std::sync::atomic::Ordering::Relaxed);
    let before = store.calls.load(std::sync::atomic::Ordering::Relaxed);
    run_for(Duration::from_secs(10)).await;
    let tries = store.calls.load(std::sync::atomic::Ordering::Relaxed) - before;
    // 250 ms, 500 ms, then every second: about a dozen tries, not the 40
    // rounds of 250 ms.
    assert!((8..=14).contains(&tries), "{tries} tries in 10 s");
    let status = client.shared_store().unwrap();
    assert!(!status.reachable, "{status:?}");
    assert_eq!(status.errors, u64::try_from(tries).unwrap());
    // Requests never wait on it.
    assert_eq!(
        client.chat().create(request()).await.unwrap().served_by(),
        "primary"
    );

    store
        .down
        .store(false, std::sync::atomic::Ordering::Relaxed);
    run_for(Duration::from_millis(1_100)).await;
    assert!(client.shared_store().unwrap().reachable);
}
