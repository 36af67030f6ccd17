//! Response bodies: whole, or a timed sequence of frames that may end badly.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

use crate::billing::Meter;
use crate::server::ConnControl;

/// How a sequence of frames ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The body ends normally.
    Complete,
    /// The connection is dropped (HTTP/1) or the stream reset (HTTP/2).
    Cut,
    /// Nothing more is sent and the body never ends.
    Stall,
}

/// A response body, with the bill of the answer it carries, if it carries one.
#[derive(Debug)]
pub(crate) struct MockBody {
    kind: Kind,
    meter: Option<Meter>,
}

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    Frames(Box<Frames>),
}

#[derive(Debug)]
struct Frames {
    frames: std::vec::IntoIter<Bytes>,
    /// Delay before the first frame, then between frames.
    next_delay: Duration,
    interval: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    ending: Ending,
    phase: Phase,
    control: Arc<ConnControl>,
    http2: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Sending,
    /// The last frame was handed over; one yield lets hyper flush it before the cut.
    Flushing,
    Done,
}

impl MockBody {
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        MockBody {
            kind: Kind::Full(Some(bytes.into())),
            meter: None,
        }
    }

    /// Bills the answer this body carries as it goes out.
    pub(crate) fn metered(mut self, meter: Option<Meter>) -> Self {
        self.meter = meter;
        self
    }

    /// `frames`, the first after `first_delay` and the others `interval` apart, then `ending`.
    pub(crate) fn frames(
        frames: Vec<Bytes>,
        first_delay: Duration,
        interval: Duration,
        ending: Ending,
        control: Arc<ConnControl>,
        http2: bool,
    ) -> Self {
        MockBody {
            kind: Kind::Frames(Box::new(Frames {
                frames: frames.into_iter(),
                next_delay: first_delay,
                interval,
                sleep: None,
                ending,
                phase: Phase::Sending,
                control,
                http2,
            })),
            meter: None,
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let body = self.get_mut();
        let polled = match &mut body.kind {
            Kind::Full(bytes) => {
                let frame = bytes.take().map(|bytes| Ok(Frame::data(bytes)));
                if let Some(meter) = &mut body.meter {
                    meter.finish();
                }
                return Poll::Ready(frame);
            }
            Kind::Frames(frames) => ready!(frames.poll_frame(cx)),
        };
        if let Some(meter) = &mut body.meter {
            match &polled {
                Some(Ok(_)) => meter.sent_frame(),
                None => meter.finish(),
                Some(Err(_)) => {}
            }
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.kind, Kind::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Frames(_) => SizeHint::default(),
        }
    }
}

impl Frames {
    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        loop {
            if let Some(sleep) = self.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                self.sleep = None;
                self.next_delay = Duration::ZERO;
            }
            match self.phase {
                Phase::Sending => {
                    if self.frames.as_slice().is_empty() {
                        self.phase = Phase::Flushing;
                        continue;
                    }
                    if !self.next_delay.is_zero() {
                        self.sleep = Some(Box::pin(tokio::time::sleep(self.next_delay)));
                        continue;
                    }
                    self.next_delay = self.interval;
                    return Poll::Ready(self.frames.next().map(|frame| Ok(Frame::data(frame))));
                }
                Phase::Flushing => match self.ending {
                    Ending::Complete => {
                        self.phase = Phase::Done;
                        return Poll::Ready(None);
                    }
                    Ending::Stall => return Poll::Pending,
                    Ending::Cut => {
                        // Give the connection one turn to write out what it has buffered.
                        self.phase = Phase::Done;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                },
                Phase::Done => {
                    if self.ending != Ending::Cut {
                        return Poll::Ready(None);
                    }
                    if self.http2 {
                        // An error resets this stream only; the connection lives on.
                        return Poll::Ready(Some(Err(std::io::Error::other(
                            "nb-mock cut the stream",
                        ))));
                    }
                    // The connection task drops the socket; nothing more is written.
                    self.control.close();
                    return Poll::Pending;
                }
            }
        }
    }
}
