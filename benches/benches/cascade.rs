//! nb-client: the whole cascade on the success path against bare hyper, both
//! talking to nb-mock on loopback, with 1 and with 64 concurrent callers.
//!
//! The baseline is what an application does without NeuralBridge: clone its
//! request, serialize it, POST it with hyper-util over a pooled connection,
//! read the body and parse the completion. The subject is
//! `client.chat().create(request.clone())` with the default configuration
//! (chain lookup, selection with breaker / limiter / predictor checks, a
//! breaker permit and a limiter slot, the timeout ladder, `HyperTransport`,
//! validation, recording in breaker, balancer and learner, the attempt list
//! and the response).
//!
//! Besides criterion's table, the bench writes p50/p99 per-request
//! latencies of both (interleaved) to `$CARGO_TARGET_DIR/nb-bench/cascade.md`,
//! which `cargo xtask bench cascade` appends under the table.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nb_benches::{latency_table, quantile, write_fragment};
use nb_client::{ChatCompletion, ChatRequest, NeuralBridge};
use nb_mock::{MockServer, Scenario};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const MODEL: &str = "gpt-4o-mini";
/// The fallback the client is configured with (never called: the primary
/// answers).
const FALLBACK: &str = "gpt-4o";
const KEY: &str = "sk-bench-0000";
const CALLERS: usize = 64;

type Bare = Client<HttpConnector, Full<Bytes>>;

/// Both clients and the server they call.
struct Setup {
    _server: MockServer,
    url: String,
    request: ChatRequest,
    client: NeuralBridge,
    bare: Bare,
}

impl Setup {
    fn start(rt: &Runtime) -> Arc<Self> {
        rt.block_on(async {
            let server = MockServer::builder(Scenario::healthy([MODEL]))
                .log_limit(0)
                .start()
                .await
                .expect("nb-mock starts");
            // A fallback is configured, as in most deployments: the
            // cascade then arms a hedge timer for every attempt.
            let client = NeuralBridge::builder()
                .base_url(server.base_url())
                .api_key(KEY)
                .fallback_models([FALLBACK])
                .build()
                .expect("client");
            let setup = Arc::new(Self {
                url: format!("{}/chat/completions", server.base_url()),
                _server: server,
                request: ChatRequest::new(MODEL).user_message("Say hello in five words."),
                client,
                bare: Client::builder(TokioExecutor::new()).build_http(),
            });
            // Warm both pools and the client's chain.
            setup.bare_once().await;
            setup.client_once().await;
            setup
        })
    }

    /// Bare hyper: serialize, send, read, parse.
    async fn bare_once(&self) -> usize {
        let request = self.request.clone();
        let body = serde_json::to_vec(&request).expect("serialize");
        let http = Request::post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("authorization", format!("Bearer {KEY}"))
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let response = self.bare.request(http).await.expect("bare hyper request");
        assert!(response.status().is_success());
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let completion: ChatCompletion = serde_json::from_slice(&bytes).expect("completion");
        completion.choices.len()
    }

    /// The whole cascade.
    async fn client_once(&self) -> usize {
        let response = self
            .client
            .chat()
            .create(self.request.clone())
            .await
            .expect("served");
        response.completion().choices.len()
    }
}

/// 64 concurrent calls; each returns its own latency.
async fn batch(setup: &Arc<Setup>, bare: bool) -> Vec<Duration> {
    let mut tasks = JoinSet::new();
    for _ in 0..CALLERS {
        let setup = Arc::clone(setup);
        tasks.spawn(async move {
            let t = Instant::now();
            if bare {
                setup.bare_once().await;
            } else {
                setup.client_once().await;
            }
            t.elapsed()
        });
    }
    let mut latencies = Vec::with_capacity(CALLERS);
    while let Some(latency) = tasks.join_next().await {
        latencies.push(latency.expect("task"));
    }
    latencies
}

fn one_caller(c: &mut Criterion, md: &mut String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let setup = Setup::start(&rt);
    let mut g = c.benchmark_group("cascade/one_caller");
    g.bench_function("baseline_bare_hyper", |b| {
        b.iter(|| rt.block_on(setup.bare_once()))
    });
    g.bench_function("nb_client_create", |b| {
        b.iter(|| rt.block_on(setup.client_once()))
    });
    g.finish();

    const N: usize = 3000;
    let (mut bare, mut ours) = (Vec::with_capacity(N), Vec::with_capacity(N));
    for _ in 0..N {
        let t = Instant::now();
        rt.block_on(setup.bare_once());
        bare.push(t.elapsed());
        let t = Instant::now();
        rt.block_on(setup.client_once());
        ours.push(t.elapsed());
    }
    table(
        md,
        &format!("1 caller, {N} interleaved requests each"),
        bare,
        ours,
    );
}

fn many_callers(c: &mut Criterion, md: &mut String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let setup = Setup::start(&rt);
    // Open enough pooled connections for 64 callers before measuring.
    rt.block_on(async {
        batch(&setup, true).await;
        batch(&setup, false).await;
    });
    let mut g = c.benchmark_group("cascade/64_callers");
    g.throughput(Throughput::Elements(CALLERS as u64));
    g.bench_function("baseline_bare_hyper", |b| {
        b.iter(|| rt.block_on(batch(&setup, true)))
    });
    g.bench_function("nb_client_create", |b| {
        b.iter(|| rt.block_on(batch(&setup, false)))
    });
    g.finish();

    const BATCHES: usize = 200;
    let (mut bare, mut ours) = (Vec::new(), Vec::new());
    let (mut bare_batches, mut our_batches) = (Vec::new(), Vec::new());
    for _ in 0..BATCHES {
        let t = Instant::now();
        bare.extend(rt.block_on(batch(&setup, true)));
        bare_batches.push(t.elapsed());
        let t = Instant::now();
        ours.extend(rt.block_on(batch(&setup, false)));
        our_batches.push(t.elapsed());
    }
    let title = format!(
        "{CALLERS} concurrent callers on 2 worker threads, {BATCHES} interleaved batches each \
         (each request also queues behind the other {})",
        CALLERS - 1
    );
    table(md, &title, bare, ours);
    bare_batches.sort_unstable();
    our_batches.sort_unstable();
    let median_us = |v: &[Duration]| quantile(v, 0.5).as_secs_f64() * 1e6;
    let (b, o) = (median_us(&bare_batches), median_us(&our_batches));
    let _ = writeln!(
        md,
        "Median batch of {CALLERS}: bare hyper-util {b:.1} µs, nb-client {o:.1} µs; the cascade \
         adds {:+.2} µs of work per request under {CALLERS} concurrent callers.",
        (o - b) / CALLERS as f64
    );
}

/// Appends a p50/p99 table for one setting.
fn table(md: &mut String, title: &str, bare: Vec<Duration>, ours: Vec<Duration>) {
    let heading = format!("Per-request latency, {title}");
    md.push_str(&latency_table(
        &heading,
        "nb-client cascade",
        "the cascade",
        bare,
        ours,
    ));
    md.push('\n');
}

fn cascade(c: &mut Criterion) {
    let mut md = String::new();
    one_caller(c, &mut md);
    many_callers(c, &mut md);
    write_fragment("cascade", &md);
}

criterion_group!(benches, cascade);
criterion_main!(benches);
