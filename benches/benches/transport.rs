//! nb-transport: one chat completion over `HyperTransport` to nb-mock on
//! loopback, against the same request sent with bare hyper-util (the
//! baseline); the SSE chat-stream decoder on a recorded stream, against
//! parsing the same chunks' JSON alone; building a request; and translating
//! a typical request and its answer to and from Anthropic's and Gemini's
//! protocols.
//!
//! Besides criterion's table, the bench writes p50/p99 latencies of the
//! loopback request (both clients, interleaved) to
//! `$CARGO_TARGET_DIR/nb-bench/transport.md`, which `cargo xtask bench`
//! appends under the table.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nb_benches::{latency_table, write_fragment};
use nb_mock::{MockServer, Scenario};
use nb_transport::{
    ApiKey, ChatCompletionChunk, ChatCompletionRequest, ChunkEvent, ChunkStreamDecoder, Endpoint,
    HyperTransport, RequestOptions, SseDecoder, Timeouts, Transport,
};
use tokio::runtime::Runtime;

const MODEL: &str = "gpt-4o-mini";

struct Loopback {
    rt: Runtime,
    _server: MockServer,
    request: Request<Bytes>,
    transport: HyperTransport,
    bare: Client<HttpConnector, Full<Bytes>>,
}

impl Loopback {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(async {
            MockServer::builder(Scenario::healthy([MODEL]))
                .log_limit(0)
                .start()
                .await
                .expect("nb-mock starts")
        });
        let endpoint = Endpoint::openai_compatible(&server.base_url()).expect("endpoint");
        let body = ChatCompletionRequest::new(MODEL).user_message("Say hello in five words.");
        let request = endpoint
            .chat_request(Some(&ApiKey::new("sk-bench")), &body)
            .expect("request");
        let (transport, bare) = rt.block_on(async {
            let transport = HyperTransport::new().expect("transport");
            let bare = Client::builder(TokioExecutor::new()).build_http();
            (transport, bare)
        });
        Self {
            rt,
            _server: server,
            request,
            transport,
            bare,
        }
    }

    fn copy(&self) -> Request<Bytes> {
        let mut request = Request::new(self.request.body().clone());
        *request.method_mut() = self.request.method().clone();
        *request.uri_mut() = self.request.uri().clone();
        *request.headers_mut() = self.request.headers().clone();
        request
    }

    /// Bare hyper: send, read the whole body.
    async fn bare_once(&self, request: Request<Bytes>) -> usize {
        let response = self
            .bare
            .request(request.map(Full::new))
            .await
            .expect("bare hyper request");
        assert!(response.status().is_success());
        let body = response.into_body().collect().await.expect("body");
        body.to_bytes().len()
    }

    /// HyperTransport with realistic options (a total deadline, the default
    /// idle deadline and body caps): send, read the whole body under a cap.
    async fn transport_once(&self, request: Request<Bytes>) -> usize {
        let options = RequestOptions::with_timeouts(Timeouts {
            total: Some(Duration::from_secs(30)),
            ..Timeouts::default()
        });
        let response = self
            .transport
            .send(request, options)
            .await
            .expect("transport request");
        assert!(response.status().is_success());
        let body = response
            .into_body()
            .collect_capped(1 << 20)
            .await
            .expect("body");
        body.len()
    }
}

fn loopback(c: &mut Criterion) {
    let lb = Loopback::start();
    // Warm both pools so every measured request reuses a connection.
    lb.rt.block_on(async {
        lb.bare_once(lb.copy()).await;
        lb.transport_once(lb.copy()).await;
    });

    let mut g = c.benchmark_group("transport/loopback_request");
    g.bench_function("baseline_bare_hyper", |b| {
        b.iter(|| lb.rt.block_on(lb.bare_once(lb.copy())))
    });
    g.bench_function("hyper_transport", |b| {
        b.iter(|| lb.rt.block_on(lb.transport_once(lb.copy())))
    });
    g.finish();

    write_percentiles(&lb);
}

/// p50 and p99 of both clients over the same interleaved run.
fn write_percentiles(lb: &Loopback) {
    const N: usize = 2000;
    let mut bare = Vec::with_capacity(N);
    let mut ours = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        lb.rt.block_on(lb.bare_once(lb.copy()));
        bare.push(t.elapsed());
        let t = Instant::now();
        lb.rt.block_on(lb.transport_once(lb.copy()));
        ours.push(t.elapsed());
    }
    let heading = format!("Loopback request latency over {N} interleaved requests per client");
    let md = latency_table(&heading, "HyperTransport", "HyperTransport", bare, ours);
    write_fragment("transport", &md);
}

/// A 60-chunk stream as an OpenAI-compatible server sends it.
fn recorded_stream() -> (String, Vec<String>) {
    let mut payloads = vec![
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#.to_owned(),
    ];
    for i in 0..58 {
        payloads.push(format!(
            r#"{{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-mini","choices":[{{"index":0,"delta":{{"content":" word{i}"}},"logprobs":null,"finish_reason":null}}]}}"#
        ));
    }
    payloads.push(r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#.to_owned());
    let mut text: String = payloads.iter().map(|p| format!("data: {p}\n\n")).collect();
    text.push_str("data: [DONE]\n\n");
    (text, payloads)
}

fn sse(c: &mut Criterion) {
    let (text, payloads) = recorded_stream();
    // As it arrives from the network: ~1.5 KB reads, frames split anywhere.
    let reads: Vec<&[u8]> = text.as_bytes().chunks(1500).collect();

    let mut g = c.benchmark_group("transport/sse_stream");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("baseline_json_parse_only", |b| {
        b.iter(|| {
            let mut n = 0;
            for p in &payloads {
                let chunk: ChatCompletionChunk = serde_json::from_str(black_box(p)).expect("chunk");
                n += chunk.choices.len();
            }
            n
        })
    });
    g.bench_function("sse_framing_only", |b| {
        b.iter(|| {
            let mut decoder = SseDecoder::new();
            let mut n = 0;
            for read in &reads {
                decoder.feed(black_box(read));
                while let Some(Ok(event)) = decoder.next_event() {
                    n += event.data.len();
                }
            }
            n
        })
    });
    g.bench_function("chat_stream_decoder", |b| {
        b.iter(|| {
            let mut decoder = ChunkStreamDecoder::new();
            let mut n = 0;
            for read in &reads {
                decoder.feed(black_box(read));
                while let Some(event) = decoder.next_event() {
                    if let Ok(ChunkEvent::Chunk(chunk)) = event {
                        n += chunk.choices.len();
                    }
                }
            }
            decoder.finish();
            assert!(decoder.next_event().is_none() && decoder.is_complete());
            n
        })
    });
    g.finish();
}

fn request_building(c: &mut Criterion) {
    let endpoint = Endpoint::openai_compatible("https://api.openai.com/v1").expect("endpoint");
    let key = ApiKey::new("sk-bench-0123456789abcdef");
    let body = ChatCompletionRequest::new(MODEL)
        .system("You are terse.")
        .user_message("Say hello in five words.")
        .temperature(0.2);
    let mut g = c.benchmark_group("transport/build_request");
    g.bench_function("baseline_serialize_body", |b| {
        b.iter(|| serde_json::to_vec(black_box(&body)).expect("json"))
    });
    g.bench_function("endpoint_chat_request", |b| {
        b.iter(|| {
            endpoint
                .chat_request(Some(black_box(&key)), black_box(&body))
                .expect("request")
        })
    });
    g.finish();
}

/// A typical request, as the cascade sends it to each protocol: a system
/// prompt, three turns, a temperature and a token cap.
fn typical_request() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL)
        .system("You are a concise assistant for a support team.")
        .user_message("My order #1234 has not arrived. What can I do?")
        .assistant("I am sorry to hear that. Do you have the tracking number?")
        .user_message("Yes: ZX-99812. It says delivered but it is not here.")
        .temperature(0.3)
        .max_tokens(400)
}

/// The same answer as each protocol's provider sends it.
const OPENAI_ANSWER: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Please open a claim with the carrier and we will reship your order today."},"finish_reason":"stop"}],"usage":{"prompt_tokens":62,"completion_tokens":17,"total_tokens":79}}"#;
const ANTHROPIC_ANSWER: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Please open a claim with the carrier and we will reship your order today."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":62,"output_tokens":17}}"#;
const GEMINI_ANSWER: &str = r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Please open a claim with the carrier and we will reship your order today."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":62,"candidatesTokenCount":17,"totalTokenCount":79},"modelVersion":"gemini-2.5-flash"}"#;

/// What speaking a native protocol costs: the request built for Anthropic
/// and Gemini against the OpenAI body serialized alone (and the OpenAI
/// endpoint's own request), and each answer read back against parsing the
/// OpenAI one.
fn translation(c: &mut Criterion) {
    let key = ApiKey::new("sk-bench-0123456789abcdef");
    let body = typical_request();
    let openai = Endpoint::openai_compatible("https://api.openai.com/v1").expect("endpoint");
    let anthropic = Endpoint::anthropic("https://api.anthropic.com/v1").expect("endpoint");
    let gemini = Endpoint::gemini(
        "https://generativelanguage.googleapis.com/v1beta",
        "gemini-2.5-flash",
    )
    .expect("endpoint");
    let mut g = c.benchmark_group("transport/translate_request");
    g.bench_function("baseline_serialize_body", |b| {
        b.iter(|| serde_json::to_vec(black_box(&body)).expect("json"))
    });
    for (name, endpoint) in [
        ("openai_chat_request", &openai),
        ("anthropic_chat_request", &anthropic),
        ("gemini_chat_request", &gemini),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                endpoint
                    .chat_request(Some(black_box(&key)), black_box(&body))
                    .expect("request")
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("transport/translate_response");
    g.bench_function("baseline_parse_openai", |b| {
        b.iter(|| {
            openai
                .parse_completion(black_box(OPENAI_ANSWER.as_bytes()))
                .expect("parses")
        })
    });
    g.bench_function("anthropic_parse", |b| {
        b.iter(|| {
            anthropic
                .parse_completion(black_box(ANTHROPIC_ANSWER.as_bytes()))
                .expect("parses")
        })
    });
    g.bench_function("gemini_parse", |b| {
        b.iter(|| {
            gemini
                .parse_completion(black_box(GEMINI_ANSWER.as_bytes()))
                .expect("parses")
        })
    });
    g.finish();
}

criterion_group!(benches, loopback, sse, request_building, translation);
criterion_main!(benches);
