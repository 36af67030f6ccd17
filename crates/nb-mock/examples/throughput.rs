//! How many healthy requests per second nb-mock serves on one core.
//!
//! The server runs on a single-threaded tokio runtime of its own thread; a load generator on
//! another thread keeps 32 HTTP/1.1 keep-alive connections busy. Run it with
//! `cargo run --release -p nb-mock --example throughput`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use nb_mock::{MockServer, Scenario};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 32;
const REQUESTS_PER_CONNECTION: usize = 1_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || -> Result<(), std::io::Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let server = MockServer::builder(Scenario::healthy(["m"]))
                .log_limit(0)
                .start()
                .await
                .map_err(std::io::Error::other)?;
            let _ = addr_tx.send(server.addr());
            let _ = stop_rx.await;
            server.shutdown().await;
            Ok(())
        })
    });
    let addr = addr_rx.recv()?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for stream in [false, true] {
        let body = Bytes::from(format!(
            r#"{{"model":"m","stream":{stream},"messages":[{{"role":"user","content":"Hello there"}}]}}"#
        ));
        let (count, elapsed) = client.block_on(load(addr, body))?;
        let rate = count as f64 / elapsed.as_secs_f64();
        let kind = if stream {
            "streaming (4 chunks)"
        } else {
            "non-streaming"
        };
        println!("{kind:>22}: {count} requests in {elapsed:.2?} = {rate:.0} requests/s");
    }
    let _ = stop_tx.send(());
    server.join().map_err(|_| "the server thread panicked")??;
    Ok(())
}

async fn load(
    addr: std::net::SocketAddr,
    body: Bytes,
) -> Result<(usize, Duration), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let body = body.clone();
        tasks.spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            for _ in 0..REQUESTS_PER_CONNECTION {
                let request = http::Request::post("/v1/chat/completions")
                    .header("host", "mock")
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))?;
                let response = sender.send_request(request).await?;
                if response.status() != 200 {
                    return Err(format!("status {}", response.status()).into());
                }
                response.into_body().collect().await?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result?.map_err(|e| e.to_string())?;
    }
    Ok((CONNECTIONS * REQUESTS_PER_CONNECTION, started.elapsed()))
}
