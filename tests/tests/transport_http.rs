//! HyperTransport over loopback: pooling, body caps, every timeout phase,
//! connect failures, and streams that are cut or stall.
//!
//! Every server is started by the test on 127.0.0.1:0. Deadlines that must
//! fire are short (≤ 200 ms) against servers that never answer, so no test
//! depends on how fast the machine is.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use nb_mock::{Fault, MockServer, ModelBehavior, Scenario, ScenarioRule};
use nb_transport::{
    ChatCompletionRequest, ChunkEvent, ChunkStream, Endpoint, HyperTransport, RequestOptions,
    ResponseBody, StreamError, TimeoutPhase, Timeouts, Transport, TransportError,
    TransportErrorKind,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const SHORT: Duration = Duration::from_millis(100);

/// A loopback hyper HTTP/1.1 server that counts accepted connections.
struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    async fn start<F>(handler: F) -> Self
    where
        F: Fn(Request<Incoming>) -> Response<ResponseBody> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let handler = Arc::new(handler);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let handler = Arc::clone(&handler);
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let response = handler(req);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, accepted }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A loopback TCP server that runs `script` on every accepted connection,
/// after reading the request head.
async fn raw_server<F, Fut>(script: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            read_head(&mut stream).await;
            tokio::spawn(script(stream));
        }
    });
    addr
}

async fn read_head(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Keeps a connection open and silent until the client goes away.
async fn hold(mut stream: TcpStream) {
    let mut buf = [0u8; 64];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

fn get(url: &str) -> Request<Bytes> {
    Request::get(url).body(Bytes::new()).unwrap()
}

fn with(timeouts: Timeouts) -> RequestOptions {
    RequestOptions::with_timeouts(timeouts)
}

fn transport() -> HyperTransport {
    HyperTransport::new().unwrap()
}

/// The whole body, under the cap the request options set (none of its own).
async fn read_all(response: Response<ResponseBody>) -> Result<Bytes, TransportError> {
    response.into_body().collect_capped(usize::MAX).await
}

/// `GET http://{addr}/` on a fresh default transport.
async fn send_to(
    addr: SocketAddr,
    options: RequestOptions,
) -> Result<Response<ResponseBody>, TransportError> {
    transport()
        .send(get(&format!("http://{addr}/")), options)
        .await
}

const CHUNKED_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunk(data: &str) -> Vec<u8> {
    format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
}

const SSE_CHUNK: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";

#[tokio::test]
async fn pooled_connections_are_reused() {
    let server = Server::start(|_| Response::new(ResponseBody::full("ok"))).await;
    let transport = transport();
    for _ in 0..5 {
        let response = transport
            .send(get(&server.url("/")), RequestOptions::default())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.into_body().collect_capped(64).await.unwrap(), "ok");
    }
    assert_eq!(
        server.accepted.load(Ordering::SeqCst),
        1,
        "five requests, one connection"
    );

    // A transport with pooling off opens one connection per request: the
    // count above is not an artefact of the server.
    let unpooled = HyperTransport::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..3 {
        let response = unpooled
            .send(get(&server.url("/")), RequestOptions::default())
            .await
            .unwrap();
        response.into_body().collect_capped(64).await.unwrap();
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn request_method_headers_and_body_arrive() {
    let server = Server::start(|req| {
        let echo = format!(
            "{} {} {}",
            req.method(),
            req.uri().path(),
            req.headers()
                .get("x-probe")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
        );
        Response::new(ResponseBody::full(echo))
    })
    .await;
    let request = Request::post(server.url("/v1/chat/completions"))
        .header("x-probe", "42")
        .body(Bytes::from("{}"))
        .unwrap();
    let response = transport()
        .send(request, RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_11);
    assert_eq!(
        response.into_body().collect_capped(1024).await.unwrap(),
        "POST /v1/chat/completions 42"
    );
}

#[tokio::test]
async fn success_body_cap_is_enforced() {
    let server = Server::start(|_| Response::new(ResponseBody::full(vec![b'x'; 1 << 20]))).await;
    let transport = transport();
    let capped = RequestOptions {
        max_body: Some(64 * 1024),
        ..RequestOptions::default()
    };

    let response = transport.send(get(&server.url("/")), capped).await.unwrap();
    let err = read_all(response).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);

    // Streamed reads hit the same cap.
    let mut body = transport
        .send(get(&server.url("/")), capped)
        .await
        .unwrap()
        .into_body();
    let mut read = 0;
    let err = loop {
        match body.chunk().await {
            Some(Ok(chunk)) => read += chunk.len(),
            Some(Err(e)) => break e,
            None => panic!("the body ended without hitting the cap"),
        }
    };
    assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
    assert!(read <= 64 * 1024);

    // Without the cap the whole body arrives.
    let uncapped = RequestOptions {
        max_body: None,
        ..RequestOptions::default()
    };
    let response = transport
        .send(get(&server.url("/")), uncapped)
        .await
        .unwrap();
    assert_eq!(read_all(response).await.unwrap().len(), 1 << 20);
}

#[tokio::test]
async fn error_bodies_are_capped_at_64_kib_by_default() {
    let server = Server::start(|req| {
        let size = if req.uri().path() == "/huge" {
            100 * 1024
        } else {
            512
        };
        let mut response = Response::new(ResponseBody::full(vec![b'<'; size]));
        *response.status_mut() = StatusCode::BAD_GATEWAY;
        response
    })
    .await;
    let transport = transport();
    let response = transport
        .send(get(&server.url("/huge")), RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let err = read_all(response).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);

    let response = transport
        .send(get(&server.url("/small")), RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(read_all(response).await.unwrap().len(), 512);
}

#[tokio::test]
async fn response_head_timeout() {
    let addr = raw_server(hold).await;
    let timeouts = Timeouts {
        response_head: Some(SHORT),
        ..Timeouts::NONE
    };
    let err = send_to(addr, with(timeouts)).await.unwrap_err();
    assert_eq!(
        err.kind(),
        TransportErrorKind::Timeout(TimeoutPhase::ResponseHead)
    );
    assert!(err.is_timeout() && !err.is_connect() && !err.is_interrupted());
}

#[tokio::test]
async fn timeouts_too_long_for_the_clock_mean_no_deadline() {
    let server = Server::start(|_| Response::new(ResponseBody::full("ok"))).await;
    let forever = Timeouts {
        connect: Some(Duration::MAX),
        response_head: Some(Duration::MAX),
        first_byte: Some(Duration::MAX),
        idle: Some(Duration::MAX),
        total: Some(Duration::MAX),
    };
    let response = transport()
        .send(get(&server.url("/")), with(forever))
        .await
        .unwrap();
    assert_eq!(response.into_body().collect_capped(64).await.unwrap(), "ok");
}

#[tokio::test]
async fn total_timeout_before_the_head_reports_total() {
    let addr = raw_server(hold).await;
    let timeouts = Timeouts {
        response_head: Some(Duration::from_secs(30)),
        total: Some(SHORT),
        ..Timeouts::NONE
    };
    let err = send_to(addr, with(timeouts)).await.unwrap_err();
    assert_eq!(err.timeout_phase(), Some(TimeoutPhase::Total));
}

#[tokio::test]
async fn first_byte_timeout() {
    let addr = raw_server(|mut stream| async move {
        stream.write_all(CHUNKED_HEAD).await.unwrap();
        hold(stream).await;
    })
    .await;
    let timeouts = Timeouts {
        first_byte: Some(SHORT),
        idle: Some(Duration::from_secs(30)),
        ..Timeouts::NONE
    };
    let response = send_to(addr, with(timeouts)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let err = response.into_body().chunk().await.unwrap().unwrap_err();
    assert_eq!(err.timeout_phase(), Some(TimeoutPhase::FirstByte));
    assert!(!err.is_interrupted(), "nothing had arrived yet");

    // Without a first-byte deadline, the idle deadline covers that wait.
    let timeouts = Timeouts {
        idle: Some(SHORT),
        ..Timeouts::NONE
    };
    let response = send_to(addr, with(timeouts)).await.unwrap();
    let err = response.into_body().chunk().await.unwrap().unwrap_err();
    assert_eq!(err.timeout_phase(), Some(TimeoutPhase::Idle));
}

#[tokio::test]
async fn idle_timeout_is_a_stall_and_an_interruption() {
    let addr = raw_server(|mut stream| async move {
        stream.write_all(CHUNKED_HEAD).await.unwrap();
        stream.write_all(&chunk(SSE_CHUNK)).await.unwrap();
        hold(stream).await;
    })
    .await;
    let timeouts = Timeouts {
        first_byte: Some(Duration::from_secs(30)),
        idle: Some(SHORT),
        ..Timeouts::NONE
    };
    let response = send_to(addr, with(timeouts)).await.unwrap();

    let mut stream = ChunkStream::new(response.into_body());
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChunkEvent::Chunk(_)))
    ));
    let err = stream.next().await.unwrap().unwrap_err();
    let StreamError::Transport(transport_err) = &err else {
        panic!("expected a transport error, got {err:?}")
    };
    assert_eq!(transport_err.timeout_phase(), Some(TimeoutPhase::Idle));
    assert!(err.is_interrupted(), "a stall is stream_interrupted");
    assert!(stream.next().await.is_none());
    assert!(!stream.is_complete());
}

#[tokio::test]
async fn total_timeout_while_the_body_trickles() {
    let addr = raw_server(|mut stream| async move {
        stream.write_all(CHUNKED_HEAD).await.unwrap();
        // A chunk every 10 ms, forever: never idle, never done.
        loop {
            if stream.write_all(&chunk(": tick\n")).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let timeouts = Timeouts {
        idle: Some(Duration::from_secs(30)),
        total: Some(Duration::from_millis(150)),
        ..Timeouts::NONE
    };
    // On a loaded machine the deadline may even elapse before the head: the
    // phase is `Total` either way.
    let err = match send_to(addr, with(timeouts)).await {
        Err(e) => e,
        Ok(response) => {
            let mut body = response.into_body();
            loop {
                match body.chunk().await {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break e,
                    None => panic!("the trickle never ends"),
                }
            }
        }
    };
    assert_eq!(err.timeout_phase(), Some(TimeoutPhase::Total));
}

/// A listener that never accepts, with the smallest backlog: once its accept
/// queue is full the kernel drops further SYNs, so connecting to it hangs.
/// Keep the returned values alive while connecting.
async fn unanswered_address() -> (SocketAddr, TcpListener, Vec<TcpStream>) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    while let Ok(Ok(stream)) =
        tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await
    {
        fillers.push(stream);
        assert!(fillers.len() < 64, "the backlog never filled");
    }
    (addr, listener, fillers)
}

fn assert_connect_timeout(err: &TransportError) {
    assert_eq!(
        err.kind(),
        TransportErrorKind::Timeout(TimeoutPhase::Connect),
        "{err:?}"
    );
    assert!(err.is_connect() && err.is_timeout());
}

#[tokio::test]
async fn connect_timeout_against_a_full_backlog() {
    let (addr, _listener, _fillers) = unanswered_address().await;
    let url = format!("http://{addr}/");

    // The transport's deadline holds even when the request asks for longer.
    let impatient = HyperTransport::builder()
        .connect_timeout(Some(SHORT))
        .build()
        .unwrap();
    let timeouts = Timeouts {
        connect: Some(Duration::from_secs(30)),
        response_head: Some(Duration::from_secs(30)),
        ..Timeouts::NONE
    };
    let err = impatient.send(get(&url), with(timeouts)).await.unwrap_err();
    assert_connect_timeout(&err);

    // A request's shorter deadline wins over the transport's 10 s default:
    // without it this would take 10 s and trip the 5 s guard.
    let timeouts = Timeouts {
        connect: Some(SHORT),
        response_head: Some(Duration::from_secs(30)),
        ..Timeouts::NONE
    };
    let default = transport();
    let sent = default.send(get(&url), with(timeouts));
    let err = tokio::time::timeout(Duration::from_secs(5), sent)
        .await
        .expect("the request's connect deadline was ignored")
        .unwrap_err();
    assert_connect_timeout(&err);
}

#[tokio::test]
async fn connection_refused() {
    // Port 1 is below the ephemeral range: no other test's server can take
    // it between the choice and the call, as a port freed by one could be.
    let addr: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
    let err = send_to(addr, RequestOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::ConnectRefused, "{err:?}");
    assert!(err.is_connect());
    assert!(
        std::error::Error::source(&err).is_some(),
        "the underlying error is kept"
    );
}

#[tokio::test]
async fn reset_before_the_head() {
    let addr = raw_server(|stream| async move {
        // SO_LINGER 0: closing sends RST instead of FIN.
        stream.set_zero_linger().unwrap();
        drop(stream);
    })
    .await;
    let err = send_to(addr, RequestOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Reset, "{err:?}");
    assert!(
        !err.is_connect(),
        "the connection was made; the request may have been seen"
    );
}

#[tokio::test]
async fn stream_cut_mid_body_is_interrupted() {
    let addr = raw_server(|mut stream| async move {
        stream.write_all(CHUNKED_HEAD).await.unwrap();
        stream.write_all(&chunk(SSE_CHUNK)).await.unwrap();
        // Drop the connection without the terminating zero-length chunk.
    })
    .await;
    let response = send_to(addr, RequestOptions::default()).await.unwrap();
    let mut stream = ChunkStream::new(response.into_body());
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChunkEvent::Chunk(_)))
    ));
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(
        matches!(&err, StreamError::Transport(e) if e.kind() == TransportErrorKind::StreamInterrupted),
        "{err:?}"
    );
    assert!(err.is_interrupted());
    assert!(!stream.is_complete());
}

#[tokio::test]
async fn clean_close_without_finish_signal_is_interrupted() {
    // A close-delimited body: the HTTP layer sees a clean end, so only the
    // finish rule can tell the answer is incomplete.
    let addr = raw_server(|mut stream| async move {
        let head =
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
        stream.write_all(head).await.unwrap();
        stream.write_all(SSE_CHUNK.as_bytes()).await.unwrap();
        stream.shutdown().await.unwrap();
    })
    .await;
    let response = send_to(addr, RequestOptions::default()).await.unwrap();
    let mut stream = ChunkStream::new(response.into_body());
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChunkEvent::Chunk(_)))
    ));
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, StreamError::Interrupted), "{err:?}");
    assert!(err.is_interrupted());
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_connection_left_mid_body_is_not_reused() {
    // nb-mock stalls the first stream of `m` after one chunk, then serves.
    let scenario = Scenario::builder()
        .model(
            ModelBehavior::new("m")
                .rule(ScenarioRule::new(Fault::StreamStall { after_chunks: 1 }).attempts(1..=1)),
        )
        .build()
        .unwrap();
    let server = MockServer::start(scenario).await.unwrap();
    let endpoint = Endpoint::openai_compatible(&server.base_url()).unwrap();
    let body = ChatCompletionRequest::new("m")
        .user_message("hi")
        .stream(true);
    let options = with(Timeouts {
        idle: Some(SHORT),
        ..Timeouts::NONE
    });
    let transport = transport();

    let stalled = transport
        .send(endpoint.chat_request(None, &body).unwrap(), options)
        .await
        .unwrap();
    let mut stream = ChunkStream::new(stalled.into_body());
    let err = loop {
        match stream.next().await {
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the stall ended"),
        }
    };
    assert!(err.is_interrupted(), "{err:?}");
    drop(stream);

    for _ in 0..2 {
        let response = transport
            .send(endpoint.chat_request(None, &body).unwrap(), options)
            .await
            .unwrap();
        let mut stream = ChunkStream::new(response.into_body());
        while let Some(event) = stream.next().await {
            event.unwrap();
        }
        assert!(stream.is_complete());
    }
    assert_eq!(server.log().attempts("m"), 3);
    let connections: Vec<u64> = server
        .log()
        .requests()
        .iter()
        .map(|r| r.connection)
        .collect();
    assert_eq!(
        connections,
        [1, 2, 2],
        "the stalled connection was dropped, the healthy one reused"
    );
}

#[test]
fn hyper_transport_declares_that_it_enforces_deadlines() {
    // So a client given one (built by the user) adds no second timer.
    assert!(transport().enforces_deadlines());
}
