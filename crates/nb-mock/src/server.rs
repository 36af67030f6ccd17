//! The server: a listener, one task per connection, and the handle tests hold.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::handler;
use crate::log::{RequestLog, Shared};
use crate::plan::Plan;
use crate::scenario::{ModelBehavior, Scenario, ScenarioError};

/// How many records the log keeps by default (the most recent ones).
const DEFAULT_LOG_LIMIT: usize = 100_000;

/// A running fault-injecting OpenAI-compatible server.
///
/// Serves HTTP/1.1 and HTTP/2 without TLS (h2c, prior knowledge) on a loopback port:
/// `POST /v1/chat/completions` (also `/chat/completions` and Azure's
/// `/openai/deployments/{deployment}/chat/completions`) and `GET /v1/models`.
/// It stops when dropped or on [`MockServer::shutdown`]; it runs on the tokio runtime that
/// started it, so a test under `tokio::time::pause()` moves the server's clock too.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    log: RequestLog,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The address could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Configures a [`MockServer`] before it starts.
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    scenario: Scenario,
    addr: SocketAddr,
    log_limit: usize,
}

impl MockServerBuilder {
    /// The address to bind (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The port to bind on the current address (0 for a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// How many records the request log keeps, the most recent first to stay (default
    /// 100 000; 0 keeps none, for long benchmarks). Attempt counts are exact either way.
    pub fn log_limit(mut self, limit: usize) -> Self {
        self.log_limit = limit;
        self
    }

    /// Binds the address and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<MockServer, MockError> {
        let bind_error = |source| MockError::Bind {
            addr: self.addr,
            source,
        };
        let listener = TcpListener::bind(self.addr).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let shared = Arc::new(Shared::new(Plan::new(self.scenario), self.log_limit));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        Ok(MockServer {
            addr,
            log: RequestLog::new(Arc::clone(&shared)),
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

impl MockServer {
    /// Starts a server for `scenario` on `127.0.0.1` and a free port.
    pub async fn start(scenario: Scenario) -> Result<MockServer, MockError> {
        MockServer::builder(scenario).start().await
    }

    /// Configures a server for `scenario`.
    pub fn builder(scenario: Scenario) -> MockServerBuilder {
        MockServerBuilder {
            scenario,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            log_limit: DEFAULT_LOG_LIMIT,
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OpenAI-compatible base URL, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// Time since the server started, on tokio's clock: the clock time windows use.
    pub fn elapsed(&self) -> Duration {
        self.shared.elapsed()
    }

    /// The scenario in force.
    pub fn scenario(&self) -> Scenario {
        self.shared.plan().scenario.clone()
    }

    /// Replaces the scenario for the requests that arrive from now on. Attempt counts and the
    /// clock of time windows carry on; [`RequestLog::clear`] restarts the counts.
    pub fn set_scenario(&self, scenario: Scenario) {
        self.shared.set_plan(Plan::new(scenario));
    }

    /// Adds a model to the scenario in force, or replaces the model of the same name: how a test
    /// brings a failing primary back.
    pub fn set_model(&self, model: ModelBehavior) -> Result<(), ScenarioError> {
        let mut scenario = self.scenario();
        scenario.upsert(model)?;
        self.set_scenario(scenario);
        Ok(())
    }

    /// How many client connections are open.
    pub fn open_connections(&self) -> usize {
        self.shared.open_connections.load(Ordering::Relaxed)
    }

    /// How many chat requests were abandoned: the client closed the
    /// connection before the server sent the response head (a hung answer
    /// whose caller gave up, or the losing attempt of a hedge).
    pub fn abandoned_requests(&self) -> u64 {
        self.shared.abandoned.load(Ordering::Relaxed)
    }

    /// How many client connections the server has accepted since it started: with
    /// [`RequestRecord::connection`](crate::RequestRecord::connection), how a test sees
    /// connection reuse.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Stops accepting, closes every connection (hung requests included) and waits until they
    /// are closed.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Without a running accept loop the connections go with it: aborting drops the JoinSet,
        // which aborts every connection task.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared), Arc::clone(&builder)));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "nb-mock: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    builder: Arc<auto::Builder<TokioExecutor>>,
) {
    let _open = OpenConnection::new(Arc::clone(&shared));
    // Small SSE frames must leave at once.
    let _ = stream.set_nodelay(true);
    let id = shared.accepted.fetch_add(1, Ordering::Relaxed) + 1;
    let control = Arc::new(ConnControl::new(id));
    let io = TokioIo::new(ConnIo {
        stream,
        control: Arc::clone(&control),
    });
    let service = {
        let control = Arc::clone(&control);
        service_fn(move |request| {
            handler::handle(Arc::clone(&shared), Arc::clone(&control), request)
        })
    };
    let connection = builder.serve_connection(io, service);
    tokio::select! {
        biased;
        () = control.close.notified() => {}
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "nb-mock: connection ended with an error");
            }
        }
    }
}

/// Lets a request or a body close its own connection.
#[derive(Debug)]
pub(crate) struct ConnControl {
    /// The connection's number, from 1, in order of acceptance.
    pub(crate) id: u64,
    reset: AtomicBool,
    close: Notify,
}

impl ConnControl {
    fn new(id: u64) -> Self {
        ConnControl {
            id,
            reset: AtomicBool::new(false),
            close: Notify::new(),
        }
    }

    /// Closes the connection without a response (FIN).
    pub(crate) fn close(&self) {
        self.close.notify_one();
    }

    /// Closes the connection with a TCP reset (RST).
    pub(crate) fn reset(&self) {
        self.reset.store(true, Ordering::Relaxed);
        self.close.notify_one();
    }
}

/// Counts an open connection for as long as it lives.
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn new(shared: Arc<Shared>) -> Self {
        shared.open_connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(shared)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The socket, which resets the connection instead of closing it when asked to.
struct ConnIo {
    stream: TcpStream,
    control: Arc<ConnControl>,
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.control.reset.load(Ordering::Relaxed) {
            // A zero linger makes close() send RST at once; only a non-zero linger blocks, which
            // is why tokio deprecated the general setter (`set_zero_linger` needs tokio 1.50).
            #[allow(deprecated)]
            let _ = self.stream.set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
