//! Connection hygiene: a caller's connection that carries no request and
//! moves no byte for `idle_timeout` is closed, so idle keep-alive, idle h2c
//! and abandoned half-open connections cannot hold the sidecar's
//! connection slots (and descriptors) for ever. A connection with a request
//! in flight is never idle, however long the answer takes.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Requests in flight on one connection; the service holds an [`Active`]
/// for each.
#[derive(Debug, Default)]
pub(crate) struct Requests(AtomicUsize);

/// One request in flight on a connection.
#[derive(Debug)]
pub(crate) struct Active(Arc<Requests>);

impl Requests {
    pub(crate) fn start(self: &Arc<Self>) -> Active {
        self.0.fetch_add(1, Ordering::Relaxed);
        Active(Arc::clone(self))
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An IO that fails its reads with `TimedOut` once it has been idle (no
/// request in flight, no byte read or written) for `timeout`.
#[derive(Debug)]
pub(crate) struct IdleTimeout<T> {
    io: T,
    requests: Arc<Requests>,
    timeout: Duration,
    idle: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    pub(crate) fn new(io: T, requests: Arc<Requests>, timeout: Duration) -> Self {
        Self {
            io,
            requests,
            timeout,
            idle: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn touch(&mut self) {
        self.idle.as_mut().reset(Instant::now() + self.timeout);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                if self.requests.any() {
                    // Waiting for an answer is not idleness.
                    self.touch();
                    return Poll::Pending;
                }
                match self.idle.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the connection was idle for too long",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A response body that counts as a request in flight until it is sent
/// (or dropped): a long answer streamed slowly keeps its connection.
#[derive(Debug)]
pub(crate) struct Sending<B> {
    body: B,
    _active: Active,
}

impl<B> Sending<B> {
    pub(crate) fn new(body: B, active: Active) -> Self {
        Self {
            body,
            _active: active,
        }
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Sending<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_times_out_but_not_while_a_request_is_in_flight() {
        let (near, mut far) = tokio::io::duplex(64);
        let requests = Arc::new(Requests::default());
        let mut io = IdleTimeout::new(near, Arc::clone(&requests), Duration::from_secs(5));
        // Bytes keep it alive.
        far.write_all(b"hello").await.unwrap();
        let mut buf = [0; 5];
        io.read_exact(&mut buf).await.unwrap();
        // A request in flight for a minute: not idle.
        let active = requests.start();
        let read = tokio::time::timeout(Duration::from_secs(60), io.read(&mut buf)).await;
        assert!(read.is_err(), "still waiting, not timed out");
        drop(active);
        // Nothing at all: closed after the timeout.
        let started = Instant::now();
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
