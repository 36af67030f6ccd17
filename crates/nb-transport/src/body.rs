//! The response body every transport returns, and the boxed future alias.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};

use crate::error::{TransportError, TransportErrorKind};

/// A boxed `Send` future, the return type of object-safe async trait methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type BoxBody = Pin<Box<dyn Body<Data = Bytes, Error = TransportError> + Send + 'static>>;

/// A response body, readable whole (under a size cap) or chunk by chunk.
///
/// It erases the body type of whichever [`Transport`](crate::Transport)
/// produced it: any [`http_body::Body`] whose data is [`Bytes`] and whose
/// error is [`TransportError`] fits ([`ResponseBody::new`]), and it is an
/// `http_body::Body` itself, so `http-body-util` combinators work on it.
///
/// A body can carry a size cap ([`ResponseBody::limit`]); reading past it
/// yields [`TransportErrorKind::BodyTooLarge`] and ends the body, so a hostile
/// server cannot make the reader buffer without bound.
///
/// ```
/// use bytes::Bytes;
/// use nb_transport::{ResponseBody, TransportErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), nb_transport::TransportError> {
/// let body = ResponseBody::from_chunks([Ok(Bytes::from("hel")), Ok(Bytes::from("lo"))]);
/// assert_eq!(body.collect_capped(1024).await?, "hello");
///
/// let huge = ResponseBody::full(vec![b'x'; 1 << 20]);
/// let err = huge.collect_capped(64 * 1024).await.unwrap_err();
/// assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
/// # Ok(()) }
/// ```
pub struct ResponseBody {
    inner: Inner,
    limit: Option<Limit>,
}

enum Inner {
    Full(Option<Bytes>),
    Chunks(VecDeque<Result<Bytes, TransportError>>),
    Boxed(BoxBody),
}

#[derive(Clone, Copy)]
struct Limit {
    max: usize,
    seen: usize,
}

impl ResponseBody {
    /// Wraps any body whose data is `Bytes` and whose error is `TransportError`.
    pub fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes, Error = TransportError> + Send + 'static,
    {
        Self {
            inner: Inner::Boxed(Box::pin(body)),
            limit: None,
        }
    }

    /// An empty body.
    #[must_use]
    pub const fn empty() -> Self {
        Self {
            inner: Inner::Full(None),
            limit: None,
        }
    }

    /// A body of one chunk.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let inner = if bytes.is_empty() {
            Inner::Full(None)
        } else {
            Inner::Full(Some(bytes))
        };
        Self { inner, limit: None }
    }

    /// A body that yields these chunks in order. An `Err` item is yielded as
    /// the body's error and ends it, which is how a scripted stream is cut.
    pub fn from_chunks<I>(chunks: I) -> Self
    where
        I: IntoIterator<Item = Result<Bytes, TransportError>>,
    {
        Self {
            inner: Inner::Chunks(chunks.into_iter().collect()),
            limit: None,
        }
    }

    /// A body fed by hand through the returned [`BodySender`]: chunks arrive
    /// when sent, the body waits (stalls) while nothing is sent, and it ends
    /// cleanly on [`BodySender::finish`] or with
    /// [`StreamInterrupted`](TransportErrorKind::StreamInterrupted) when the
    /// sender is dropped unfinished. No runtime needed.
    #[must_use]
    pub fn channel() -> (BodySender, Self) {
        let shared = Arc::new(Mutex::new(Channel::default()));
        let body = ChannelBody {
            shared: Arc::clone(&shared),
        };
        (
            BodySender {
                shared: Some(shared),
            },
            Self::new(body),
        )
    }

    /// Caps the body at `max` bytes (keeping any smaller cap already set).
    /// Reading past the cap yields [`TransportErrorKind::BodyTooLarge`].
    #[must_use]
    pub fn limit(mut self, max: usize) -> Self {
        let max = self.limit.map_or(max, |l| l.max.min(max));
        let seen = self.limit.map_or(0, |l| l.seen);
        self.limit = Some(Limit { max, seen });
        self
    }

    /// The next chunk of data, `None` at the clean end of the body. Empty
    /// chunks and trailers are skipped. After an error the body is over.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, TransportError>> {
        loop {
            match poll_fn(|cx| Pin::new(&mut *self).poll_frame(cx)).await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => return Some(Ok(data)),
                    // An empty chunk or trailers: nothing to hand out.
                    Ok(_) | Err(_) => {}
                },
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Reads the whole body, failing with
    /// [`BodyTooLarge`](TransportErrorKind::BodyTooLarge) as soon as more
    /// than `max` bytes arrive (or at once, when the declared length is
    /// already larger). A single-chunk body is returned without copying.
    pub async fn collect_capped(self, max: usize) -> Result<Bytes, TransportError> {
        let mut body = self.limit(max);
        if body.size_hint().lower() > max as u64 {
            return Err(too_large());
        }
        let Some(first) = body.chunk().await.transpose()? else {
            return Ok(Bytes::new());
        };
        let Some(second) = body.chunk().await.transpose()? else {
            return Ok(first);
        };
        // The declared length is the server's word: reserve no more of it
        // than a typical answer needs, and let larger bodies grow the buffer.
        let rest = usize::try_from(body.size_hint().lower()).unwrap_or(max);
        let capacity = (first.len() + second.len())
            .saturating_add(rest)
            .min(max)
            .min(MAX_PREALLOCATION);
        let mut buf = BytesMut::with_capacity(capacity);
        buf.extend_from_slice(&first);
        buf.extend_from_slice(&second);
        while let Some(chunk) = body.chunk().await.transpose()? {
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    fn end(&mut self) {
        self.inner = Inner::Full(None);
    }
}

/// The most [`ResponseBody::collect_capped`] reserves up front from a
/// declared length (`Content-Length`), so a small body that claims to be
/// huge costs no more than this.
const MAX_PREALLOCATION: usize = 1024 * 1024;

fn too_large() -> TransportError {
    TransportError::new(TransportErrorKind::BodyTooLarge)
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        let this = &mut *self;
        let next = match &mut this.inner {
            Inner::Full(bytes) => bytes.take().map(|b| Ok(Frame::data(b))),
            Inner::Chunks(queue) => queue.pop_front().map(|item| item.map(Frame::data)),
            Inner::Boxed(body) => match body.as_mut().poll_frame(cx) {
                Poll::Ready(next) => next,
                Poll::Pending => return Poll::Pending,
            },
        };
        match next {
            Some(Ok(frame)) => {
                if let (Some(limit), Some(data)) = (&mut this.limit, frame.data_ref()) {
                    limit.seen = limit.seen.saturating_add(data.len());
                    if limit.seen > limit.max {
                        this.end();
                        return Poll::Ready(Some(Err(too_large())));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                this.end();
                Poll::Ready(Some(Err(e)))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Chunks(queue) => queue.is_empty(),
            Inner::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Chunks(queue) => {
                let mut hint = SizeHint::new();
                let known: u64 = queue
                    .iter()
                    .filter_map(|c| c.as_ref().ok())
                    .map(|b| b.len() as u64)
                    .sum();
                hint.set_lower(known);
                if queue.iter().all(Result::is_ok) {
                    hint.set_upper(known);
                }
                hint
            }
            Inner::Boxed(body) => body.size_hint(),
        }
    }
}

impl Default for ResponseBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner {
            Inner::Full(_) => "full",
            Inner::Chunks(_) => "chunks",
            Inner::Boxed(_) => "boxed",
        };
        f.debug_struct("ResponseBody")
            .field("kind", &kind)
            .field("limit", &self.limit.map(|l| l.max))
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Channel {
    queue: VecDeque<Bytes>,
    end: Option<Result<(), TransportError>>,
    waker: Option<Waker>,
    receiver_gone: bool,
}

fn lock(shared: &Mutex<Channel>) -> MutexGuard<'_, Channel> {
    // The lock guards plain data and no code panics while holding it, so a
    // poisoned lock still holds consistent state.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sending half of [`ResponseBody::channel`].
///
/// Dropping it without calling [`finish`](BodySender::finish) ends the body
/// with [`StreamInterrupted`](TransportErrorKind::StreamInterrupted), like a
/// connection that drops mid-stream.
pub struct BodySender {
    shared: Option<Arc<Mutex<Channel>>>,
}

impl BodySender {
    /// Sends a chunk; returns `false` if the body was dropped.
    pub fn send(&self, chunk: impl Into<Bytes>) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        let mut ch = lock(shared);
        if ch.receiver_gone {
            return false;
        }
        ch.queue.push_back(chunk.into());
        if let Some(w) = ch.waker.take() {
            w.wake();
        }
        true
    }

    /// Ends the body cleanly after the chunks already sent.
    pub fn finish(mut self) {
        self.close(Ok(()));
    }

    /// Ends the body with `error` after the chunks already sent.
    pub fn abort(mut self, error: TransportError) {
        self.close(Err(error));
    }

    fn close(&mut self, end: Result<(), TransportError>) {
        if let Some(shared) = self.shared.take() {
            let mut ch = lock(&shared);
            ch.end = Some(end);
            if let Some(w) = ch.waker.take() {
                w.wake();
            }
        }
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        self.close(Err(TransportError::new(
            TransportErrorKind::StreamInterrupted,
        )
        .with_detail("body sender dropped before finishing")));
    }
}

impl fmt::Debug for BodySender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodySender")
            .field("open", &self.shared.is_some())
            .finish()
    }
}

struct ChannelBody {
    shared: Arc<Mutex<Channel>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        let mut ch = lock(&self.shared);
        if let Some(chunk) = ch.queue.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match ch.end.take() {
            Some(Ok(())) => {
                ch.end = Some(Ok(()));
                Poll::Ready(None)
            }
            Some(Err(e)) => {
                // Report the error once; the body is over afterwards.
                ch.end = Some(Ok(()));
                Poll::Ready(Some(Err(e)))
            }
            None => {
                ch.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for ChannelBody {
    fn drop(&mut self) {
        lock(&self.shared).receiver_gone = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;

    #[test]
    fn chunks_then_clean_end() {
        let mut body = ResponseBody::from_chunks([
            Ok(Bytes::from("a")),
            Ok(Bytes::new()),
            Ok(Bytes::from("b")),
        ]);
        assert_eq!(
            block_on(body.chunk()).map(Result::ok),
            Some(Some(Bytes::from("a")))
        );
        assert_eq!(
            block_on(body.chunk()).map(Result::ok),
            Some(Some(Bytes::from("b")))
        );
        assert!(block_on(body.chunk()).is_none());
        assert!(body.is_end_stream());
    }

    #[test]
    fn collect_capped_enforces_the_cap() {
        let body = ResponseBody::from_chunks((0..10).map(|_| Ok(Bytes::from(vec![b'x'; 100]))));
        let err = block_on(body.collect_capped(999)).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);

        let body = ResponseBody::from_chunks((0..10).map(|_| Ok(Bytes::from(vec![b'x'; 100]))));
        assert_eq!(block_on(body.collect_capped(1000)).unwrap().len(), 1000);

        // A declared length over the cap fails before reading anything.
        let err = block_on(ResponseBody::full(vec![0u8; 2048]).collect_capped(2047)).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
    }

    /// Two small chunks under a declared length of `declared` bytes.
    struct Claims {
        declared: u64,
        chunks: VecDeque<Bytes>,
    }

    impl Body for Claims {
        type Data = Bytes;
        type Error = TransportError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
            Poll::Ready(self.chunks.pop_front().map(|c| Ok(Frame::data(c))))
        }

        fn size_hint(&self) -> SizeHint {
            let mut hint = SizeHint::new();
            hint.set_lower(self.declared);
            hint
        }
    }

    #[test]
    fn a_declared_length_reserves_a_bounded_buffer() {
        // Sizing the buffer by these claims would panic (capacity overflow).
        for declared in [u64::MAX, 1 << 62] {
            let body = ResponseBody::new(Claims {
                declared,
                chunks: VecDeque::from([Bytes::from("ab"), Bytes::from("cd")]),
            });
            let whole = block_on(body.collect_capped(usize::MAX)).unwrap();
            assert_eq!(whole, "abcd");
        }
    }

    #[test]
    fn limit_applies_to_streamed_reads_and_keeps_the_smaller_cap() {
        let mut body =
            ResponseBody::from_chunks([Ok(Bytes::from("12345")), Ok(Bytes::from("678"))])
                .limit(7)
                .limit(100);
        assert!(block_on(body.chunk()).unwrap().is_ok());
        let err = block_on(body.chunk()).unwrap().unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
        assert!(
            block_on(body.chunk()).is_none(),
            "the body is over after an error"
        );
    }

    #[test]
    fn error_item_ends_the_body() {
        let cut = TransportError::new(TransportErrorKind::StreamInterrupted);
        let mut body =
            ResponseBody::from_chunks([Ok(Bytes::from("a")), Err(cut), Ok(Bytes::from("never"))]);
        assert!(block_on(body.chunk()).unwrap().is_ok());
        assert!(
            block_on(body.chunk())
                .unwrap()
                .unwrap_err()
                .is_interrupted()
        );
        assert!(block_on(body.chunk()).is_none());
    }

    #[test]
    fn channel_body_delivers_finishes_and_interrupts() {
        let (tx, mut body) = ResponseBody::channel();
        assert!(tx.send("one"));
        tx.finish();
        assert_eq!(block_on(body.chunk()).unwrap().unwrap(), "one");
        assert!(block_on(body.chunk()).is_none());

        let (tx, mut body) = ResponseBody::channel();
        assert!(tx.send("one"));
        drop(tx);
        assert!(block_on(body.chunk()).unwrap().is_ok());
        assert!(
            block_on(body.chunk())
                .unwrap()
                .unwrap_err()
                .is_interrupted()
        );
        assert!(block_on(body.chunk()).is_none());

        let (tx, body) = ResponseBody::channel();
        drop(body);
        assert!(!tx.send("nobody listens"));
    }

    #[tokio::test]
    async fn channel_body_wakes_the_reader() {
        let (tx, body) = ResponseBody::channel();
        let reader = tokio::spawn(async move { body.collect_capped(64).await });
        tokio::task::yield_now().await;
        tx.send("late");
        tx.finish();
        assert_eq!(reader.await.unwrap().unwrap(), "late");
    }
}
