//! The `[server]` defaults, each with the reason it is what it is (the
//! crate README tables them).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// The default listen address: loopback only.
pub(crate) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));

/// The default limit on how long a relayed stream runs: the client's own
/// default deadline, so a stream that keeps sending cannot hold a
/// connection and an upstream call forever.
pub(crate) const DEFAULT_STREAM_LIMIT: Duration = Duration::from_secs(600);

/// The default cap on chat requests served at once: each holds an upstream
/// connection (a file descriptor) and its buffers, so the cap bounds both;
/// more wait in the queue (four times as many by default).
pub(crate) const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

/// The default cap on callers' connections open at once (more wait in the
/// kernel's accept queue): each is a descriptor, and the in-flight ones
/// hold an upstream connection too, so it stays well under a typical
/// 20,000-descriptor limit.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The default idle timeout of a caller's connection: longer than the
/// client's 30 s idle timeout between stream chunks, so only a connection
/// with nothing in flight is ever closed by it.
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The default time a request's headers may take (hyper's own default is
/// 30 s; a caller that cannot send a few hundred bytes in 10 s is gone).
pub(crate) const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The default time a request's body may take to arrive.
pub(crate) const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The default number of threads serving requests: one, as Linkerd runs its
/// sidecar proxies. A sidecar shares its machine with the application it
/// serves, and one thread both leaves it the other cores and keeps a
/// request and its upstream call on the thread that woke for them; an LLM
/// call is mostly waiting, and one thread relays tens of thousands a second.
pub(crate) const DEFAULT_WORKERS: usize = 1;

/// The default longest wait in the queue for a slot.
pub(crate) const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default time a shutdown gives requests in flight to finish.
pub(crate) const DEFAULT_DRAIN: Duration = Duration::from_secs(10);

/// The default cap on a request body.
pub(crate) const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;
