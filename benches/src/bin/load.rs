//! The load generator behind `cargo xtask load`: chat requests over HTTP/1.1
//! keep-alive connections to one URL on loopback, in one of three shapes,
//! printing one JSON object of what it saw.
//!
//! ```sh
//! load --url http://127.0.0.1:PORT/v1/chat/completions open --rate 5000 --connections 64 --seconds 5
//! load --url ... closed --connections 100 --seconds 5
//! load --url ... burst --connections 10000
//! ```
//!
//! - `open`: requests scheduled at a fixed rate, evenly spaced (a pacer
//!   thread, not tokio's millisecond timer) and spread over the
//!   connections; each latency is measured from its scheduled time, so a
//!   slow server is charged for the requests it delayed (no coordinated
//!   omission).
//! - `closed`: each connection sends its next request when the last one
//!   ends; reports the throughput.
//! - `burst`: every connection opens at once and sends one request; reports
//!   how many failed.
//!
//! Bounded: at most `--seconds` (60 at most) of sending, a 30 s limit per
//! request, and 20,000 connections at most. Loopback only: the URL must be
//! on 127.0.0.0/8.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use nb_benches::quantile;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

const BODY: &str =
    r#"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello in five words."}]}"#;
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

struct Args {
    url: http::Uri,
    shape: String,
    rate: f64,
    connections: usize,
    seconds: f64,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut shape = None;
    let (mut rate, mut connections, mut seconds) = (1000.0, 64, 5.0);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => url = Some(value()?),
            "--rate" => rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--connections" => {
                connections = value()?
                    .parse()
                    .map_err(|e| format!("--connections: {e}"))?;
            }
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "open" | "closed" | "burst" => shape = Some(a.clone()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let url: http::Uri = url
        .ok_or("--url is required")?
        .parse()
        .map_err(|e| format!("--url: {e}"))?;
    let loopback = url
        .host()
        .and_then(|h| h.parse::<std::net::Ipv4Addr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    if !loopback {
        return Err("--url must be on 127.0.0.0/8".to_owned());
    }
    if !(1..=20_000).contains(&connections) || !(0.0..=60.0).contains(&seconds) || rate <= 0.0 {
        return Err("--connections 1..=20000, --seconds 0..=60, --rate > 0".to_owned());
    }
    Ok(Args {
        url,
        shape: shape.ok_or("give a shape: open, closed or burst")?,
        rate,
        connections,
        seconds,
    })
}

async fn connect(url: &http::Uri) -> Result<SendRequest<Full<Bytes>>, String> {
    let authority = url.authority().ok_or("no authority")?.as_str().to_owned();
    let tcp = TcpStream::connect(&authority)
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(send)
}

/// One request; `Ok` only for a 200 whose body was read whole.
async fn one(send: &mut SendRequest<Full<Bytes>>, url: &http::Uri) -> Result<(), String> {
    let request = http::Request::post(url.clone())
        .header("host", url.authority().map_or("", |a| a.as_str()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .map_err(|e| e.to_string())?;
    let exchange = async {
        send.ready().await.map_err(|e| e.to_string())?;
        let response = send
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    };
    tokio::time::timeout(REQUEST_LIMIT, exchange)
        .await
        .map_err(|_| "timed out".to_owned())?
}

/// What one connection's task saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    errors: u64,
    /// Errors by what went wrong, to say why when there are any.
    reasons: BTreeMap<String, u64>,
}

impl Seen {
    fn failed(&mut self, reason: String) {
        self.errors += 1;
        *self.reasons.entry(reason).or_default() += 1;
    }
}

async fn run(args: Args) -> serde_json::Value {
    let url = Arc::new(args.url);
    let n = args.connections;
    let t0 = Instant::now() + Duration::from_millis(200);
    let end = t0 + Duration::from_secs_f64(args.seconds);
    let mut tasks = JoinSet::new();
    let mut schedules: Vec<mpsc::UnboundedSender<Instant>> = Vec::new();
    for _ in 0..n {
        let url = Arc::clone(&url);
        let shape = args.shape.clone();
        let schedule = (shape == "open").then(|| {
            let (due, schedule) = mpsc::unbounded_channel();
            schedules.push(due);
            schedule
        });
        tasks.spawn(async move {
            let mut seen = Seen::default();
            let mut send = match connect(&url).await {
                Ok(s) => s,
                Err(e) => {
                    seen.failed(format!("connect: {e}"));
                    return seen;
                }
            };
            match shape.as_str() {
                "open" => {
                    // This connection's share of the schedule, handed over
                    // by the pacer at each request's time.
                    if let Some(mut due) = schedule {
                        while let Some(at) = due.recv().await {
                            match one(&mut send, &url).await {
                                Ok(()) => seen.latencies.push(at.elapsed()),
                                Err(e) => seen.failed(e),
                            }
                        }
                    }
                }
                "closed" => {
                    tokio::time::sleep_until(t0).await;
                    while Instant::now() < end {
                        let started = Instant::now();
                        match one(&mut send, &url).await {
                            Ok(()) => seen.latencies.push(started.elapsed()),
                            Err(e) => seen.failed(e),
                        }
                    }
                }
                _ => {
                    tokio::time::sleep_until(t0).await;
                    let started = Instant::now();
                    match one(&mut send, &url).await {
                        Ok(()) => seen.latencies.push(started.elapsed()),
                        Err(e) => seen.failed(e),
                    }
                }
            }
            seen
        });
    }
    if !schedules.is_empty() {
        let interval = Duration::from_secs_f64(1.0 / args.rate);
        let (t0, end) = (t0.into_std(), end.into_std());
        std::thread::spawn(move || pace(&schedules, t0, end, interval));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut reasons = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(seen) => {
                latencies.extend(seen.latencies);
                errors += seen.errors;
                for (reason, count) in seen.reasons {
                    *reasons.entry(reason).or_insert(0u64) += count;
                }
            }
            Err(e) => {
                errors += 1;
                *reasons.entry(format!("connection task: {e}")).or_insert(0) += 1;
            }
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    latencies.sort();
    let us = |q: f64| quantile(&latencies, q).as_secs_f64() * 1e6;
    json!({
        "shape": args.shape,
        "connections": n,
        "requests": latencies.len() as u64 + errors,
        "errors": errors,
        "error_reasons": reasons,
        "p50_us": us(0.5),
        "p99_us": us(0.99),
        "throughput_rps": latencies.len() as f64 / elapsed.max(1e-9),
    })
}

/// Hands each scheduled request to its connection at its time, round robin.
///
/// A thread of its own, because tokio's timer fires on whole milliseconds:
/// at 5,000 requests/s it would send them in bursts of five every
/// millisecond, and a server would be measured on how it queues a burst
/// rather than at the rate. The thread's sleep wakes within tens of
/// microseconds of each time; a request whose connection is still busy
/// waits in its queue with its scheduled time, so the server is charged
/// for it.
fn pace(
    connections: &[mpsc::UnboundedSender<Instant>],
    t0: std::time::Instant,
    end: std::time::Instant,
    interval: Duration,
) {
    let mut at = t0;
    for turn in (0..connections.len()).cycle() {
        if at >= end {
            return;
        }
        if let Some(wait) = at.checked_duration_since(std::time::Instant::now()) {
            std::thread::sleep(wait);
        }
        let _ = connections[turn].send(Instant::from_std(at));
        at += interval;
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load: {e}");
            return ExitCode::from(4);
        }
    };
    println!("{}", runtime.block_on(run(args)));
    ExitCode::SUCCESS
}
