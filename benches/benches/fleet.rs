//! nb-client with its state shared through Redis against the same client
//! without it, on the success path, both talking to nb-mock on loopback,
//! with a `redis-server` of their own on loopback too.
//!
//! Both clients hold the same rate limit (so the shared one spends a
//! lease on every request) and the same fallback. The shared client's
//! breakers, limits and learning sync with Redis in a background task;
//! the bench measures what that costs a request: the lease taken from the
//! limiter, and the background task's share of the machine.
//!
//! Besides criterion's table, the bench writes p50/p99 per-request
//! latencies of both (interleaved) to `$CARGO_TARGET_DIR/nb-bench/fleet.md`,
//! which `cargo xtask bench fleet` appends under the table.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use nb_benches::{latency_table_against, write_fragment};
use nb_client::policy::RateLimits;
use nb_client::{ChatRequest, EndpointConfig, NeuralBridge, NeuralBridgeBuilder};
use nb_mock::{MockServer, Scenario};
use nb_redis::RedisStore;
use nb_redis::testing::RedisServer;

const MODEL: &str = "gpt-4o-mini";
const FALLBACK: &str = "gpt-4o";

fn builder(server: &MockServer) -> NeuralBridgeBuilder {
    NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("mock", server.base_url())
                .api_key("sk-bench-0000")
                .models([MODEL, FALLBACK])
                // High enough never to refuse the bench, so every request
                // passes the limiter (and the shared client's lease).
                .rate_limits(RateLimits::per_minute(10_000_000, 10_000_000_000)),
        )
        .fallback_models([MODEL, FALLBACK])
}

async fn once(client: &NeuralBridge, request: &ChatRequest) -> bool {
    let response = client.chat().create(request.clone()).await.expect("served");
    response.served_by() == MODEL
}

fn fleet(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let redis = RedisServer::start();
    let (_server, local, shared) = rt.block_on(async {
        let server = MockServer::builder(Scenario::healthy([MODEL, FALLBACK]))
            .log_limit(0)
            .start()
            .await
            .expect("nb-mock starts");
        let local = builder(&server).build().expect("client");
        let shared = builder(&server)
            .shared_state(RedisStore::new(&redis.url()).expect("url").prefix("bench"))
            .build()
            .expect("client");
        (server, local, shared)
    });
    let request = ChatRequest::new(MODEL).user_message("Say hello in five words.");
    rt.block_on(async {
        once(&local, &request).await;
        once(&shared, &request).await;
        // The first lease and learning exchange.
        tokio::time::sleep(Duration::from_millis(600)).await;
    });
    assert!(
        shared.shared_store().is_some_and(|s| s.reachable),
        "the shared client reaches Redis"
    );

    let mut g = c.benchmark_group("fleet/call");
    g.bench_function("baseline_local_state", |b| {
        b.iter(|| rt.block_on(once(&local, &request)))
    });
    g.bench_function("shared_state_redis", |b| {
        b.iter(|| rt.block_on(once(&shared, &request)))
    });
    g.finish();

    const N: usize = 3000;
    let (mut base, mut ours) = (Vec::with_capacity(N), Vec::with_capacity(N));
    let mut elsewhere = 0;
    for _ in 0..N {
        let t = Instant::now();
        rt.block_on(once(&local, &request));
        base.push(t.elapsed());
        let t = Instant::now();
        elsewhere += usize::from(!rt.block_on(once(&shared, &request)));
        ours.push(t.elapsed());
    }
    let store = shared.shared_store().expect("shared");
    assert!(store.reachable && store.errors == 0, "{store:?}");
    let md = latency_table_against(
        &format!("Per-request latency, 1 caller, {N} interleaved requests each"),
        "nb-client, local state",
        "nb-client, state shared on Redis",
        "sharing through Redis",
        base,
        ours,
    );
    // A lease sized to the last 250 ms runs dry when a burst follows a
    // quiet spell, and those requests go to the fallback: counted here.
    let md = format!(
        "{md}\nOf the shared client's {N} interleaved requests, {elsewhere} found its lease \
         of the primary's limit empty and were served by the fallback.\n"
    );
    write_fragment("fleet", &md);
}

criterion_group!(benches, fleet);
criterion_main!(benches);
