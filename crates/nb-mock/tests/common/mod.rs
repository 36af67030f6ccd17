//! A raw HTTP/1.1 client that shows exactly what came over the wire, and how it ended.
#![allow(dead_code)] // each test file uses a different part
#![allow(clippy::unwrap_used)] // a test helper panics on purpose

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use nb_mock::{MockServer, Scenario};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How the read side of the exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// The server closed the connection (FIN).
    Eof,
    /// The server reset the connection (RST).
    Reset,
    /// Nothing more arrived before the deadline, the socket still open.
    Silent,
    /// Another I/O error.
    Error(String),
}

/// Everything that came back, with when each byte arrived.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) raw: Vec<u8>,
    /// (offset where the read started, time since the request was sent)
    pub(crate) reads: Vec<(usize, Duration)>,
    pub(crate) end: End,
}

/// A parsed response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HashMap<String, String>,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
    /// Whether the body was complete: the final chunk, or all of `Content-Length`.
    pub(crate) complete: bool,
    pub(crate) end: End,
    /// When the end of the head arrived.
    pub(crate) head_at: Duration,
    /// When the first `data:` event arrived, for streams.
    pub(crate) first_event_at: Option<Duration>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The payloads of the `data:` events, in order.
    pub(crate) fn events(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }

    /// The events' JSON (panics on a malformed one; use `events` for those).
    pub(crate) fn chunks(&self) -> Vec<Value> {
        self.events()
            .iter()
            .filter(|e| *e != "[DONE]")
            .map(|e| serde_json::from_str(e).unwrap())
            .collect()
    }

    /// The streamed text, joined.
    pub(crate) fn streamed_text(&self) -> String {
        self.chunks()
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    }
}

/// A chat request body.
pub(crate) fn chat(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "stream": stream,
        "messages": [
            { "role": "system", "content": "Be brief." },
            { "role": "user", "content": "Hello there" }
        ]
    })
}

/// `POST path` with `body` and extra headers, `Connection: close`.
pub(crate) fn post(path: &str, body: &Value, headers: &[(&str, &str)]) -> Vec<u8> {
    let body = body.to_string();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// Sends `request` and reads until the server closes, resets, or stays silent for `patience`.
pub(crate) async fn exchange(addr: SocketAddr, request: &[u8], patience: Duration) -> Exchange {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let sent = Instant::now();
    let mut raw = Vec::new();
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        match tokio::time::timeout(patience, stream.read(&mut buf)).await {
            Err(_) => break End::Silent,
            Ok(Ok(0)) => break End::Eof,
            Ok(Ok(n)) => {
                reads.push((raw.len(), sent.elapsed()));
                raw.extend_from_slice(&buf[..n]);
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => break End::Reset,
            Ok(Err(e)) => break End::Error(e.to_string()),
        }
    };
    Exchange { raw, reads, end }
}

impl Exchange {
    fn arrival(&self, offset: usize) -> Duration {
        self.reads
            .iter()
            .rev()
            .find(|(start, _)| *start <= offset)
            .map_or(Duration::ZERO, |(_, at)| *at)
    }

    pub(crate) fn parse(self) -> Reply {
        let text = &self.raw;
        let head_end = find(text, b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(text)));
        let head = std::str::from_utf8(&text[..head_end]).unwrap();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next().unwrap()[9..12].parse().unwrap();
        let headers: HashMap<String, String> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let rest = &text[head_end + 4..];
        let (body, complete) = if headers
            .get("transfer-encoding")
            .is_some_and(|v| v == "chunked")
        {
            dechunk(rest)
        } else {
            let length: usize = headers
                .get("content-length")
                .map_or(rest.len(), |v| v.parse().unwrap());
            (rest.to_vec(), rest.len() == length)
        };
        let first_event_at = find(text, b"data: ").map(|offset| self.arrival(offset));
        Reply {
            status,
            headers,
            body,
            complete,
            end: self.end.clone(),
            head_at: self.arrival(head_end + 3),
            first_event_at,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes chunked transfer encoding; `complete` when the final zero-size chunk arrived.
fn dechunk(mut data: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(data, b"\r\n") else {
            return (body, false);
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return (body, true);
        }
        if data.len() < size + 2 {
            body.extend_from_slice(&data[..size.min(data.len())]);
            return (body, false);
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Sends a chat request to `server` and reads as [`exchange`] does.
pub(crate) async fn chat_exchange(
    server: &MockServer,
    body: &Value,
    patience: Duration,
) -> Exchange {
    exchange(
        server.addr(),
        &post("/v1/chat/completions", body, &[]),
        patience,
    )
    .await
}

/// Sends a chat request and parses the reply (patience: 30 s).
pub(crate) async fn call(server: &MockServer, body: &Value) -> Reply {
    call_with(server, body, &[]).await
}

pub(crate) async fn call_with(
    server: &MockServer,
    body: &Value,
    headers: &[(&str, &str)],
) -> Reply {
    exchange(
        server.addr(),
        &post("/v1/chat/completions", body, headers),
        Duration::from_secs(30),
    )
    .await
    .parse()
}

pub(crate) async fn start(toml: &str) -> MockServer {
    MockServer::start(Scenario::from_toml_str(toml).unwrap())
        .await
        .unwrap()
}
