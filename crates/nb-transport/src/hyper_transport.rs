//! The hyper + rustls implementation of [`Transport`].

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiAddrs, GaiResolver, Name};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::body::{BoxFuture, ResponseBody};
use crate::error::{TimeoutPhase, TransportError, TransportErrorKind};
use crate::transport::{RequestOptions, Transport};

type BoxError = Box<dyn StdError + Send + Sync>;
type HyperClient = Client<Connector, Full<Bytes>>;

/// A pooled HTTP/1.1 + HTTP/2 client over rustls, built on hyper-util.
///
/// - Connections are pooled per host and reused; HTTP/2 is negotiated by
///   ALPN on `https` (plain `http://` speaks HTTP/1.1, for local servers).
/// - Certificates are checked against the webpki roots, or the operating
///   system's store with the `native-roots` feature; extra roots or a whole
///   rustls `ClientConfig` can be given to the builder.
/// - The connect deadline (DNS + TCP + TLS handshake) is set on the builder,
///   10 s by default, and a request may shorten it
///   ([`Timeouts::connect`](crate::Timeouts::connect)); the other deadlines
///   come with each request ([`RequestOptions`]) and are enforced while the
///   head and the body are read.
/// - Body caps from the request options are enforced while reading.
///
/// Cloning is cheap and shares the pool. It must be used inside a tokio
/// runtime (with the time driver enabled).
///
/// ```no_run
/// use std::time::Duration;
/// use nb_transport::HyperTransport;
///
/// let transport = HyperTransport::builder()
///     .connect_timeout(Some(Duration::from_secs(3)))
///     .pool_idle_timeout(Some(Duration::from_secs(30)))
///     .build()?;
/// # Ok::<(), nb_transport::TransportError>(())
/// ```
#[derive(Clone)]
pub struct HyperTransport {
    client: HyperClient,
    config: Arc<HyperTransportBuilder>,
}

impl HyperTransport {
    /// A transport with the default settings (see [`HyperTransportBuilder`]).
    pub fn new() -> Result<Self, TransportError> {
        Self::builder().build()
    }

    /// A builder with the default settings.
    #[must_use]
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }

    async fn send_inner(
        &self,
        request: Request<Bytes>,
        options: RequestOptions,
    ) -> Result<Response<ResponseBody>, TransportError> {
        check_request(&request)?;
        let timeouts = options.timeouts;
        let start = Instant::now();
        let total_deadline = deadline(start, timeouts.total);
        let head_deadline = sooner(
            deadline(start, timeouts.response_head).map(|t| (t, TimeoutPhase::ResponseHead)),
            total_deadline.map(|t| (t, TimeoutPhase::Total)),
            |&(at, _)| at,
        );
        // hyper-util opens connections inside this future (or hands one
        // from the pool), so the connector reads the request's deadline from
        // the task-local scope.
        let sent = REQUEST_CONNECT_TIMEOUT.scope(
            timeouts.connect,
            self.client.request(request.map(Full::new)),
        );
        let result = match head_deadline {
            Some((deadline, phase)) => match tokio::time::timeout_at(deadline, sent).await {
                Ok(result) => result,
                Err(_elapsed) => return Err(TransportError::timeout(phase)),
            },
            None => sent.await,
        };
        let response = result.map_err(|e| classify_send_error(&e).with_source(e))?;
        let response = response.map(|incoming| {
            ResponseBody::new(TimedBody::new(
                incoming,
                timeouts.first_byte,
                timeouts.idle,
                total_deadline,
            ))
        });
        Ok(options.limit_response(response))
    }
}

impl Transport for HyperTransport {
    fn send(
        &self,
        request: Request<Bytes>,
        options: RequestOptions,
    ) -> BoxFuture<'_, Result<Response<ResponseBody>, TransportError>> {
        Box::pin(self.send_inner(request, options))
    }

    /// Every phase's deadline is enforced here, the idle and total ones
    /// also while the body is read.
    fn enforces_deadlines(&self) -> bool {
        true
    }
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`HyperTransport`].
///
/// Defaults: connect timeout 10 s, idle pooled connections closed after
/// 90 s, unlimited idle connections per host, HTTP/2 offered by ALPN, TCP
/// keep-alive 60 s, `TCP_NODELAY` on, webpki roots (OS roots with the
/// `native-roots` feature).
#[derive(Clone)]
pub struct HyperTransportBuilder {
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    http2: bool,
    tcp_keepalive: Option<Duration>,
    tls_config: Option<ClientConfig>,
    extra_roots: Vec<CertificateDer<'static>>,
}

impl HyperTransportBuilder {
    /// The default connect deadline: 10 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// The deadline for opening a connection: DNS, TCP connect and the TLS
    /// handshake together, reported as [`TimeoutPhase::Connect`]. A request's
    /// own [`Timeouts::connect`](crate::Timeouts::connect) may shorten it.
    /// `None` waits as long as the operating system does (or the request's
    /// deadline, if it has one).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an unused pooled connection is kept; `None` keeps it until
    /// the server closes it.
    #[must_use]
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The most idle connections kept per host (0 disables reuse).
    #[must_use]
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// Whether to offer HTTP/2 by ALPN on `https` (default `true`).
    #[must_use]
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// TCP keep-alive probe interval; `None` turns keep-alive off.
    #[must_use]
    pub fn tcp_keepalive(mut self, interval: Option<Duration>) -> Self {
        self.tcp_keepalive = interval;
        self
    }

    /// Uses this rustls configuration (roots, client certificates, crypto
    /// provider) instead of the built-in one. Its ALPN protocols are replaced
    /// by the ones this transport speaks; roots from
    /// [`add_root_certificate`](Self::add_root_certificate) are not added.
    #[must_use]
    pub fn tls_config(mut self, config: ClientConfig) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Trusts one more root certificate (DER), on top of the built-in roots:
    /// for a private CA, or a self-signed test server.
    #[must_use]
    pub fn add_root_certificate(mut self, der: CertificateDer<'static>) -> Self {
        self.extra_roots.push(der);
        self
    }

    /// Builds the transport. Fails with [`TransportErrorKind::Tls`] when the
    /// TLS setup is invalid (an unparsable extra root, or no usable OS roots).
    pub fn build(self) -> Result<HyperTransport, TransportError> {
        let tls = match &self.tls_config {
            Some(config) => config.clone(),
            None => default_tls_config(&self.extra_roots)?,
        };
        let mut http = HttpConnector::new_with_resolver(Resolver(GaiResolver::new()));
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(self.tcp_keepalive);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1();
        let https = if self.http2 {
            https.enable_http2().wrap_connector(http)
        } else {
            https.wrap_connector(http)
        };
        let connector = Connector {
            inner: https,
            timeout: self.connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .build(connector);
        Ok(HyperTransport {
            client,
            config: Arc::new(self),
        })
    }
}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Some(Self::DEFAULT_CONNECT_TIMEOUT),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: usize::MAX,
            http2: true,
            tcp_keepalive: Some(Duration::from_secs(60)),
            tls_config: None,
            extra_roots: Vec::new(),
        }
    }
}

impl fmt::Debug for HyperTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransportBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("http2", &self.http2)
            .field("tcp_keepalive", &self.tcp_keepalive)
            .field("custom_tls_config", &self.tls_config.is_some())
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

fn tls_error(detail: &'static str) -> impl FnOnce(rustls::Error) -> TransportError {
    move |e| {
        TransportError::new(TransportErrorKind::Tls)
            .with_detail(detail)
            .with_source(e)
    }
}

fn default_tls_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<ClientConfig, TransportError> {
    let mut roots = RootCertStore::empty();
    add_platform_roots(&mut roots)?;
    for der in extra_roots {
        roots
            .add(der.clone())
            .map_err(tls_error("an extra root certificate is invalid"))?;
    }
    // rustls 0.23.48 deprecates ring's provider (no post-quantum key
    // exchange yet). It stays ours because it builds with nothing but the
    // Rust toolchain; the deprecation is acknowledged here instead of being
    // printed in every downstream build.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error(
            "the crypto provider supports no safe protocol version",
        ))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(not(feature = "native-roots"))]
fn add_platform_roots(roots: &mut RootCertStore) -> Result<(), TransportError> {
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(())
}

#[cfg(feature = "native-roots")]
fn add_platform_roots(roots: &mut RootCertStore) -> Result<(), TransportError> {
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(TransportError::new(TransportErrorKind::Tls)
            .with_detail("no usable root certificate in the OS store"));
    }
    Ok(())
}

fn check_request(request: &Request<Bytes>) -> Result<(), TransportError> {
    let uri = request.uri();
    let scheme_ok = uri.scheme() == Some(&Scheme::HTTP) || uri.scheme() == Some(&Scheme::HTTPS);
    if !scheme_ok {
        return Err(TransportError::new(TransportErrorKind::InvalidRequest)
            .with_detail("the URI must be absolute, http or https"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(TransportError::new(TransportErrorKind::InvalidRequest)
            .with_detail("the URI has no host"));
    }
    Ok(())
}

/// `now + timeout`; `None` without a timeout, or when the sum is past what
/// an `Instant` can hold (a timeout such as `Duration::MAX` means "never").
fn deadline(now: Instant, timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|d| now.checked_add(d))
}

/// The sooner of two optional limits (`None` is no limit), compared by
/// `key`; `a` on a tie. Picks between deadlines with their phases, and
/// between the transport's and the request's connect timeouts.
fn sooner<T, K: Ord>(a: Option<T>, b: Option<T>, key: impl Fn(&T) -> K) -> Option<T> {
    a.into_iter().chain(b).min_by_key(key)
}

/// Marks a DNS failure in the error chain, so it is classified by type.
#[derive(Debug)]
struct DnsError(io::Error);

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DNS resolution failed: {}", self.0)
    }
}

impl StdError for DnsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

/// Marks an elapsed connect deadline in the error chain.
#[derive(Debug)]
struct ConnectTimedOut;

impl fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connect deadline elapsed")
    }
}

impl StdError for ConnectTimedOut {}

/// hyper-util's getaddrinfo resolver, with its errors marked as DNS errors.
#[derive(Clone)]
struct Resolver(GaiResolver);

impl tower_service::Service<Name> for Resolver {
    type Response = GaiAddrs;
    type Error = DnsError;
    type Future = Pin<Box<dyn Future<Output = Result<GaiAddrs, DnsError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), DnsError>> {
        self.0.poll_ready(cx).map_err(DnsError)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let lookup = self.0.call(name);
        Box::pin(async move { lookup.await.map_err(DnsError) })
    }
}

tokio::task_local! {
    /// The connect deadline of the request being sent ([`Timeouts::connect`](crate::Timeouts::connect)).
    static REQUEST_CONNECT_TIMEOUT: Option<Duration>;
}

/// The https-or-http connector with one deadline over DNS, TCP and TLS.
#[derive(Clone)]
struct Connector {
    inner: HttpsConnector<HttpConnector<Resolver>>,
    timeout: Option<Duration>,
}

type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;

impl tower_service::Service<http::Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        // hyper-util calls the connector on the request future's first poll,
        // inside `send_inner`'s scope; the deadline is fixed here, so a connect
        // that goes on in the background after the request took a pooled
        // connection keeps it. Outside any scope only the transport's applies.
        let requested = REQUEST_CONNECT_TIMEOUT.try_with(|t| *t).ok().flatten();
        let timeout = sooner(self.timeout, requested, |&d| d);
        Box::pin(async move {
            match timeout {
                Some(limit) => tokio::time::timeout(limit, connecting)
                    .await
                    .map_err(|_| BoxError::from(ConnectTimedOut))?,
                None => connecting.await,
            }
        })
    }
}

fn classify_send_error(error: &hyper_util::client::legacy::Error) -> TransportError {
    let connecting = error.is_connect();
    let kind = classify_chain(error, connecting);
    TransportError::new(kind)
}

/// Finds the first error in the chain that says what happened. `io::Error`
/// is entered through `get_ref()`, because its `source()` skips the error
/// it wraps.
fn classify_chain(error: &(dyn StdError + 'static), connecting: bool) -> TransportErrorKind {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<ConnectTimedOut>() {
            return TransportErrorKind::Timeout(TimeoutPhase::Connect);
        }
        if e.is::<DnsError>() {
            return TransportErrorKind::Dns;
        }
        if e.is::<rustls::Error>() {
            return TransportErrorKind::Tls;
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if let Some(kind) = local_exhaustion(io).or_else(|| io_kind(io.kind(), connecting)) {
                return kind;
            }
            current = io.get_ref().map(|inner| inner as &(dyn StdError + 'static));
            continue;
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_parse() {
                return TransportErrorKind::Protocol;
            }
            if h.is_incomplete_message() || h.is_closed() {
                return TransportErrorKind::Reset;
            }
        }
        current = e.source();
    }
    if connecting {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    }
}

fn io_kind(kind: io::ErrorKind, connecting: bool) -> Option<TransportErrorKind> {
    use io::ErrorKind as K;
    Some(match kind {
        K::ConnectionRefused => TransportErrorKind::ConnectRefused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            TransportErrorKind::Reset
        }
        K::TimedOut if connecting => TransportErrorKind::Timeout(TimeoutPhase::Connect),
        K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown => TransportErrorKind::Connect,
        // On connect this is the host's ephemeral ports running out.
        K::AddrNotAvailable | K::OutOfMemory => TransportErrorKind::LocalResource,
        // EPERM or EACCES on connect: this host's firewall, network policy
        // or sandbox refused the socket (a remote refusal is ECONNREFUSED or
        // EHOSTUNREACH).
        K::PermissionDenied if connecting => TransportErrorKind::LocalPolicy,
        _ => return None,
    })
}

/// Errors that say this process or host ran out of something (descriptors,
/// kernel memory or socket buffers). `std` gives them no stable
/// `ErrorKind`, so they are recognised by their OS code.
fn local_exhaustion(error: &io::Error) -> Option<TransportErrorKind> {
    #[cfg(unix)]
    const CODES: &[i32] = &[
        12, // ENOMEM
        23, // ENFILE
        24, // EMFILE
        #[cfg(target_os = "linux")]
        105, // ENOBUFS
        #[cfg(target_vendor = "apple")]
        55, // ENOBUFS
    ];
    #[cfg(windows)]
    const CODES: &[i32] = &[
        8,     // ERROR_NOT_ENOUGH_MEMORY
        10024, // WSAEMFILE
        10055, // WSAENOBUFS
    ];
    #[cfg(not(any(unix, windows)))]
    const CODES: &[i32] = &[];
    let code = error.raw_os_error()?;
    CODES
        .contains(&code)
        .then_some(TransportErrorKind::LocalResource)
}

/// A body with the first-byte, idle and total deadlines (hyper's `Incoming`
/// in production; generic so the deadlines can be tested on any body).
struct TimedBody<B = Incoming> {
    inner: B,
    first_byte: Option<Duration>,
    idle: Option<Duration>,
    total_deadline: Option<Instant>,
    /// The armed deadline and the phase it reports; `None` when no deadline applies.
    sleep: Option<(Pin<Box<Sleep>>, TimeoutPhase)>,
    started: bool,
    done: bool,
}

impl<B> TimedBody<B> {
    fn new(
        inner: B,
        first_byte: Option<Duration>,
        idle: Option<Duration>,
        total_deadline: Option<Instant>,
    ) -> Self {
        let mut body = Self {
            inner,
            first_byte,
            idle,
            total_deadline,
            sleep: None,
            started: false,
            done: false,
        };
        body.arm(Instant::now());
        body
    }

    /// Arms the deadline for the next wait: first byte (or idle) before any
    /// data, idle afterwards, capped by the total deadline.
    fn arm(&mut self, now: Instant) {
        let (timeout, phase) = match self.first_byte {
            Some(first_byte) if !self.started => (Some(first_byte), TimeoutPhase::FirstByte),
            _ => (self.idle, TimeoutPhase::Idle),
        };
        let wait = deadline(now, timeout).map(|t| (t, phase));
        let Some((deadline, phase)) = sooner(
            wait,
            self.total_deadline.map(|t| (t, TimeoutPhase::Total)),
            |&(at, _)| at,
        ) else {
            self.sleep = None;
            return;
        };
        match &mut self.sleep {
            Some((sleep, armed)) => {
                sleep.as_mut().reset(deadline);
                *armed = phase;
            }
            None => self.sleep = Some((Box::pin(tokio::time::sleep_until(deadline)), phase)),
        }
    }

    fn fail(
        &mut self,
        error: TransportError,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        self.done = true;
        self.sleep = None;
        Poll::Ready(Some(Err(error)))
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: StdError + Send + Sync + 'static,
{
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if frame.data_ref().is_some_and(|d| !d.is_empty()) {
                    // The timer is only polled while the body waits, so a
                    // body that always has data ready must meet the total
                    // deadline here.
                    let now = Instant::now();
                    if this.total_deadline.is_some_and(|total| now >= total) {
                        return this.fail(TransportError::timeout(TimeoutPhase::Total));
                    }
                    let first = !this.started;
                    this.started = true;
                    // Re-arm when the phase changes or the idle deadline slides.
                    if first || this.idle.is_some() {
                        this.arm(now);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let error = match classify_chain(&e, false) {
                    TransportErrorKind::Protocol => TransportErrorKind::Protocol,
                    _ => TransportErrorKind::StreamInterrupted,
                };
                this.fail(TransportError::new(error).with_source(e))
            }
            Poll::Ready(None) => {
                this.done = true;
                this.sleep = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if let Some((sleep, phase)) = &mut this.sleep
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    let phase = *phase;
                    return this.fail(TransportError::timeout(phase));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_kind(error: BoxError, connecting: bool) -> TransportErrorKind {
        classify_chain(&*error, connecting)
    }

    #[test]
    fn connect_phase_errors_are_classified_by_type() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            chain_kind(Box::new(refused), true),
            TransportErrorKind::ConnectRefused
        );

        // DNS failures are marked by our resolver; they sit under an io wrapper.
        let dns = io::Error::other(DnsError(io::Error::other("no such host")));
        assert_eq!(chain_kind(Box::new(dns), true), TransportErrorKind::Dns);

        // Our connect deadline, and a TimedOut io error while connecting.
        assert_eq!(
            chain_kind(Box::new(ConnectTimedOut), true),
            TransportErrorKind::Timeout(TimeoutPhase::Connect)
        );
        let timed_out = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(
            chain_kind(Box::new(timed_out), true),
            TransportErrorKind::Timeout(TimeoutPhase::Connect)
        );

        // hyper-rustls wraps tokio-rustls's io::Error (which wraps rustls::Error) in io::Error::other.
        let tls = io::Error::other(io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::DecryptError,
        ));
        assert_eq!(chain_kind(Box::new(tls), true), TransportErrorKind::Tls);

        let unreachable = io::Error::from(io::ErrorKind::HostUnreachable);
        assert_eq!(
            chain_kind(Box::new(unreachable), true),
            TransportErrorKind::Connect
        );
        assert_eq!(
            chain_kind("something odd".into(), true),
            TransportErrorKind::Connect
        );
        assert_eq!(
            chain_kind("something odd".into(), false),
            TransportErrorKind::Other
        );

        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(
            chain_kind(Box::new(reset), false),
            TransportErrorKind::Reset
        );
    }

    #[test]
    fn running_out_of_local_resources_is_not_a_network_failure() {
        // What tokio's connect returns when this process has no descriptor
        // left, wrapped the way hyper-util's connector wraps it.
        #[cfg(unix)]
        let exhausted = [12, 23, 24];
        #[cfg(windows)]
        let exhausted = [8, 10024, 10055];
        for code in exhausted {
            let error = io::Error::other(io::Error::from_raw_os_error(code));
            assert_eq!(
                chain_kind(Box::new(error), true),
                TransportErrorKind::LocalResource,
                "os error {code}"
            );
        }
        let no_port = io::Error::from(io::ErrorKind::AddrNotAvailable);
        assert_eq!(
            chain_kind(Box::new(no_port), true),
            TransportErrorKind::LocalResource
        );
        // This host's firewall or sandbox refusing the socket (EPERM on
        // connect) is its own policy, not the provider's doing; the same
        // code on an open connection is not about connecting.
        #[cfg(unix)]
        assert_eq!(
            chain_kind(Box::new(io::Error::from_raw_os_error(1)), true),
            TransportErrorKind::LocalPolicy
        );
        #[cfg(unix)]
        assert_ne!(
            chain_kind(Box::new(io::Error::from_raw_os_error(1)), false),
            TransportErrorKind::LocalPolicy
        );
        // A provider's own failure with an unrelated code stays a network one.
        #[cfg(target_os = "linux")]
        assert_eq!(
            chain_kind(Box::new(io::Error::from_raw_os_error(113)), true), // EHOSTUNREACH
            TransportErrorKind::Connect
        );
    }

    #[test]
    fn the_shorter_connect_limit_wins() {
        let s = Duration::from_secs;
        let shortest = |a, b| sooner(a, b, |&d: &Duration| d);
        assert_eq!(shortest(Some(s(10)), Some(s(2))), Some(s(2)));
        assert_eq!(shortest(Some(s(1)), Some(s(2))), Some(s(1)));
        assert_eq!(shortest(None, Some(s(2))), Some(s(2)));
        assert_eq!(shortest(Some(s(10)), None), Some(s(10)));
        assert_eq!(shortest(None, None), None);
    }

    #[test]
    fn earliest_deadline_names_its_phase() {
        let earliest = |a, b| sooner(a, b, |&(at, _): &(Instant, TimeoutPhase)| at);
        let now = Instant::now();
        let head = Some((now + Duration::from_secs(5), TimeoutPhase::ResponseHead));
        let total = Some((now + Duration::from_secs(2), TimeoutPhase::Total));
        assert_eq!(
            earliest(head, total).map(|x| x.1),
            Some(TimeoutPhase::Total)
        );
        assert_eq!(
            earliest(head, None).map(|x| x.1),
            Some(TimeoutPhase::ResponseHead)
        );
        assert_eq!(earliest(None, None), None);
    }

    /// A body that always has another chunk ready: a server flooding data.
    struct Flood;

    impl Body for Flood {
        type Data = Bytes;
        type Error = io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"data: x\n\n")))))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_total_deadline_holds_while_data_is_always_ready() {
        let total = Instant::now() + Duration::from_secs(1);
        let mut body = ResponseBody::new(TimedBody::new(
            Flood,
            None,
            Some(Duration::from_secs(60)),
            Some(total),
        ));
        assert!(body.chunk().await.unwrap().is_ok());
        tokio::time::advance(Duration::from_secs(2)).await;
        let err = body.chunk().await.unwrap().unwrap_err();
        assert_eq!(err.timeout_phase(), Some(TimeoutPhase::Total));
        assert!(body.chunk().await.is_none(), "the body is over");
    }

    #[tokio::test(start_paused = true)]
    async fn the_idle_deadline_restarts_with_every_chunk() {
        let ms = Duration::from_millis;
        let (tx, inner) = ResponseBody::channel();
        let mut body =
            ResponseBody::new(TimedBody::new(inner, Some(ms(2000)), Some(ms(1000)), None));
        // The first byte may take longer than the idle deadline: its own phase applies.
        let first = tokio::time::timeout(ms(1500), body.chunk()).await;
        assert!(
            first.is_err(),
            "still waiting within the first-byte deadline"
        );
        tx.send("a");
        assert!(body.chunk().await.unwrap().is_ok());
        for piece in ["b", "c", "d"] {
            // 900 ms of silence, then a chunk: never idle for a whole second.
            let quiet = tokio::time::timeout(ms(900), body.chunk()).await;
            assert!(
                quiet.is_err(),
                "no deadline within 900 ms of the last chunk"
            );
            tx.send(piece);
            assert!(body.chunk().await.unwrap().is_ok());
        }
        let start = Instant::now();
        let err = body.chunk().await.unwrap().unwrap_err();
        assert_eq!(err.timeout_phase(), Some(TimeoutPhase::Idle));
        assert_eq!(
            Instant::now() - start,
            ms(1000),
            "a full idle period after the last chunk"
        );
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn timeouts_past_the_end_of_time_mean_no_deadline() {
        let mut body = ResponseBody::new(TimedBody::new(
            Flood,
            Some(Duration::MAX),
            Some(Duration::MAX),
            deadline(Instant::now(), Some(Duration::MAX)),
        ));
        for _ in 0..3 {
            assert!(body.chunk().await.unwrap().is_ok());
        }
        assert_eq!(deadline(Instant::now(), Some(Duration::MAX)), None);
        assert_eq!(deadline(Instant::now(), None), None);
    }

    #[tokio::test]
    async fn invalid_requests_fail_before_any_io() {
        let transport = HyperTransport::new().unwrap();
        for uri in ["/relative", "ftp://host/x"] {
            let request = Request::builder().uri(uri).body(Bytes::new()).unwrap();
            let err = transport
                .send(request, RequestOptions::default())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), TransportErrorKind::InvalidRequest, "{uri}");
        }
    }
}
