//! Incremental, sans-IO server-sent-events decoding, and the chat-stream
//! layer on top of it that knows when a stream is complete.
//!
//! [`SseDecoder`] turns bytes into [`SseEvent`]s following the WHATWG
//! event-stream rules: lines end in CRLF, LF or CR (a frame may be split
//! anywhere across chunks, even between CR and LF), `:` starts a comment,
//! `data:` lines join with `\n`, `event:`, `id:` and `retry:` are kept, a
//! leading byte-order mark is dropped, and a blank line dispatches the event.
//!
//! [`ChunkStreamDecoder`] reads chat-completion chunks from those events and
//! applies the **finish rule**: a stream is complete once it has sent
//! `data: [DONE]`, or once every choice it mentioned (at least the request's
//! `n`, given with [`ChunkStreamDecoder::expect_choices`]) has carried a
//! `finish_reason`. Either is a finish signal. A stream that ends at the HTTP
//! level without one is reported as [`StreamError::Interrupted`], never as a
//! complete answer. (The usage chunk that follows a finish reason is
//! optional: a stream cut right after the finish reason is complete, without
//! usage.) An error the provider reports inside the stream
//! ([`StreamError::Provider`]) fails it: the stream is never complete
//! afterwards, whatever follows (some gateways still send `[DONE]`).
//!
//! Memory is bounded: an event (or a line) longer than the decoder's limit
//! yields [`SseError::EventTooLarge`], its bytes are dropped, and decoding
//! resumes at the next event. A malformed event does not stop the decoder.

use std::fmt;

use crate::body::ResponseBody;
use crate::error::TransportError;
use crate::wire::anthropic::{MessagesStream, StreamStep};
use crate::wire::{ChatCompletionChunk, FinishReason};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; `None` for the default type (`message`).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The `id:` field of this event, if it had one.
    pub id: Option<String>,
}

/// A problem with the event stream itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// An event or line exceeded the decoder's size limit; it was dropped.
    #[error("server-sent event larger than {limit} bytes")]
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Discard {
    /// Decoding normally.
    No,
    /// Dropping the rest of an oversized line, then the rest of its event.
    Line,
    /// Dropping lines until the blank line that ends the oversized event.
    Event,
}

/// An incremental server-sent-events decoder.
///
/// Feed it bytes as they arrive with [`feed`](Self::feed), take events with
/// [`next_event`](Self::next_event) until it returns `None`, and call
/// [`finish`](Self::finish) at the end of the body to flush a last event
/// that lacks its closing blank line. It allocates per event, not per byte:
/// a chunk is appended to one reused buffer and lines are read in place.
///
/// ```
/// use nb_transport::SseDecoder;
///
/// let mut dec = SseDecoder::new();
/// dec.feed(b": keep-alive\r\nevent: update\r\ndata: hel");
/// assert!(dec.next_event().is_none(), "the frame is not complete yet");
/// dec.feed(b"lo\r\ndata: world\r\n\r\n");
/// let ev = dec.next_event().unwrap()?;
/// assert_eq!(ev.event.as_deref(), Some("update"));
/// assert_eq!(ev.data, "hello\nworld");
/// # Ok::<(), nb_transport::SseError>(())
/// ```
pub struct SseDecoder {
    buf: Vec<u8>,
    pos: usize,
    /// How many bytes from `pos` are known to hold no line ending, so a line
    /// that arrives in many small pieces is scanned once, not once per piece.
    scanned: usize,
    max_event_size: usize,
    skip_lf: bool,
    bom_checked: bool,
    finished: bool,
    discard: Discard,
    /// An event was handed out and its fields are still in place.
    dispatched: bool,
    data: Vec<u8>,
    has_data: bool,
    event: Option<String>,
    id: Option<String>,
    last_event_id: String,
    retry_ms: Option<u64>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseDecoder {
    /// The default limit on one event (and one line): 1 MiB.
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 1024 * 1024;

    /// A decoder with the default event size limit.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_event_size(Self::DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that rejects events (and lines) over `max` bytes.
    #[must_use]
    pub fn with_max_event_size(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            max_event_size: max,
            skip_lf: false,
            bom_checked: false,
            finished: false,
            discard: Discard::No,
            dispatched: false,
            data: Vec::new(),
            has_data: false,
            event: None,
            id: None,
            last_event_id: String::new(),
            retry_ms: None,
        }
    }

    /// Appends bytes from the stream. Take the events they complete with
    /// [`next_event`](Self::next_event).
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
        } else if self.pos > 0 {
            self.buf.drain(..self.pos);
        }
        self.pos = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// Marks the end of the stream. A last line without its line ending and
    /// a last event without its blank line are then decoded too: a server
    /// that omits the final blank line has still sent the whole event (the
    /// chat layer checks the content for a finish signal).
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether [`finish`](Self::finish) was called.
    #[must_use]
    pub const fn is_finished(&self) -> bool {
        self.finished
    }

    /// The last `id:` seen, to send as `Last-Event-ID` when reconnecting.
    #[must_use]
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection delay the server asked for with `retry:`, in ms.
    #[must_use]
    pub const fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// The next complete event, or `None` when more bytes are needed.
    pub fn next_event(&mut self) -> Option<Result<SseEvent, SseError>> {
        let ready = self.advance()?;
        Some(ready.map(|()| SseEvent {
            event: self.event.take(),
            data: String::from_utf8_lossy(&self.data).into_owned(),
            id: self.id.take(),
        }))
    }

    /// Decodes up to the next complete event. `Ok(())` means one is ready in
    /// `data`, `event` and `id`, where it stays until the next call; this is
    /// how the chat layer parses an event in place, without a copy.
    fn advance(&mut self) -> Option<Result<(), SseError>> {
        if self.dispatched {
            self.dispatched = false;
            self.reset_event();
        }
        loop {
            if !self.bom_checked {
                let rest = &self.buf[self.pos..];
                if rest.len() < BOM.len() && BOM.starts_with(rest) && !self.finished {
                    return None;
                }
                if rest.starts_with(BOM) {
                    self.pos += BOM.len();
                }
                self.bom_checked = true;
            }
            if self.skip_lf && self.pos < self.buf.len() {
                if self.buf[self.pos] == b'\n' {
                    self.pos += 1;
                }
                self.skip_lf = false;
            }
            let rest = &self.buf[self.pos..];
            let found =
                find_line_end(&rest[self.scanned.min(rest.len())..]).map(|i| i + self.scanned);
            self.scanned = 0;
            let (start, end) = match found {
                Some(i) => {
                    let start = self.pos;
                    self.pos += i + 1;
                    if rest[i] == b'\r' {
                        self.skip_lf = true;
                    }
                    (start, start + i)
                }
                None if rest.is_empty() => {
                    return (self.finished && self.dispatch()).then_some(Ok(()));
                }
                None if self.finished => {
                    let start = self.pos;
                    self.pos = self.buf.len();
                    (start, self.buf.len())
                }
                None => {
                    if self.discard == Discard::Line {
                        self.pos = self.buf.len();
                        return None;
                    }
                    if rest.len() > self.max_event_size.saturating_sub(self.data.len()) {
                        self.pos = self.buf.len();
                        return Some(Err(self.overflow(Discard::Line)));
                    }
                    self.scanned = rest.len();
                    return None;
                }
            };
            if let Some(item) = self.line(start, end) {
                return Some(item);
            }
        }
    }

    fn overflow(&mut self, discard: Discard) -> SseError {
        self.discard = discard;
        self.reset_event();
        SseError::EventTooLarge {
            limit: self.max_event_size,
        }
    }

    /// Processes the line `buf[start..end]`; returns an event or an error
    /// when the line completes one.
    fn line(&mut self, start: usize, end: usize) -> Option<Result<(), SseError>> {
        match self.discard {
            Discard::Line => {
                // This line ending closes the oversized line; its event goes too.
                self.discard = Discard::Event;
                return None;
            }
            Discard::Event => {
                if start == end {
                    self.discard = Discard::No;
                }
                return None;
            }
            Discard::No => {}
        }
        let line = &self.buf[start..end];
        if line.is_empty() {
            return self.dispatch().then_some(Ok(()));
        }
        if line[0] == b':' {
            return None;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &line[line.len()..]),
        };
        match field {
            b"data" => {
                let needed = self.data.len() + value.len() + usize::from(self.has_data);
                if needed > self.max_event_size {
                    return Some(Err(self.overflow(Discard::Event)));
                }
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"id" if !value.contains(&0) => {
                let id = String::from_utf8_lossy(value).into_owned();
                self.last_event_id.clone_from(&id);
                self.id = Some(id);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // All ASCII digits, so valid UTF-8; too many digits overflow and are ignored.
                if let Ok(ms) = std::str::from_utf8(value).unwrap_or("").parse() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
        None
    }

    /// Ends the current event: returns whether it is ready to be handed
    /// out (it has data and was not dropped for its size).
    fn dispatch(&mut self) -> bool {
        if self.discard != Discard::No || !self.has_data {
            self.discard = Discard::No;
            self.reset_event();
            return false;
        }
        self.dispatched = true;
        true
    }

    fn reset_event(&mut self) {
        self.data.clear();
        self.has_data = false;
        self.event = None;
        self.id = None;
    }
}

/// The index of the first CR or LF. Scans 32-byte blocks with a
/// branch-free test the compiler vectorizes, then finds the byte in the
/// block that has one: several times faster than a byte-by-byte search on
/// long `data:` lines.
fn find_line_end(bytes: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    let is_eol = |b: &u8| *b == b'\n' || *b == b'\r';
    let mut blocks = bytes.chunks_exact(BLOCK);
    let mut offset = 0;
    for block in blocks.by_ref() {
        if block.iter().fold(false, |seen, b| seen | is_eol(b)) {
            return block.iter().position(is_eol).map(|i| offset + i);
        }
        offset += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(is_eol)
        .map(|i| offset + i)
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SseDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseDecoder")
            .field("buffered", &(self.buf.len() - self.pos))
            .field("pending_data", &self.data.len())
            .field("max_event_size", &self.max_event_size)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// The most distinct choice indices the finish rule tracks (the API allows
/// `n` up to 128); further indices are ignored.
const MAX_TRACKED_CHOICES: usize = 128;

/// What a [`ChunkStream`] yields: the wire-level events of one SSE body.
#[derive(Debug, Clone, PartialEq)]
// `Done` comes once per stream; boxing the chunk would cost an allocation per chunk.
#[allow(clippy::large_enum_variant)]
pub enum ChunkEvent {
    /// A chunk of the answer.
    Chunk(ChatCompletionChunk),
    /// The `data: [DONE]` sentinel.
    Done,
}

/// A problem in a chat stream.
///
/// [`StreamError::is_interrupted`] is the one question a caller needs for the
/// `stream_interrupted` category: the body was cut, it stalled, or it ended
/// without a finish signal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// An event's data is not a valid chunk. The decoder carries on.
    #[error("malformed stream event: {source}")]
    Malformed {
        /// The event's data.
        data: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The provider reported an error inside the stream: an `event: error`
    /// frame, a chunk with an `error` object (OpenAI, OpenRouter), a chunk
    /// whose `object` is `"error"` (vLLM), or a choice whose `finish_reason`
    /// is `"error"` (OpenRouter). The stream has failed: it is not complete
    /// even if a finish signal follows, and no
    /// [`Interrupted`](Self::Interrupted) is reported after it.
    #[error("the provider sent an error event")]
    Provider {
        /// The `event:` field, if any.
        event: Option<String>,
        /// The event's data, usually a JSON error body.
        data: String,
    },
    /// An event exceeded the size limit and was dropped.
    #[error(transparent)]
    Sse(#[from] SseError),
    /// The stream ended without a finish signal (`[DONE]` or a finish reason
    /// for every choice).
    #[error("the stream ended without a finish signal")]
    Interrupted,
    /// Reading the body failed (cut, stalled, timed out, too large).
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl StreamError {
    /// Whether this is the `stream_interrupted` category: ended without a
    /// finish signal, cut mid-body, or stalled past the idle deadline.
    #[must_use]
    pub fn is_interrupted(&self) -> bool {
        match self {
            Self::Interrupted => true,
            Self::Transport(e) => e.is_interrupted(),
            _ => false,
        }
    }
}

/// Decodes a chat-completion event stream and applies the finish rule.
///
/// ```
/// use nb_transport::{ChunkStreamDecoder, StreamError, ChunkEvent};
///
/// let mut dec = ChunkStreamDecoder::new();
/// dec.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
/// let Some(Ok(ChunkEvent::Chunk(chunk))) = dec.next_event() else { panic!() };
/// assert_eq!(chunk.content(), Some("Hi"));
///
/// // The connection closes here: no [DONE], no finish_reason.
/// dec.finish();
/// assert!(matches!(dec.next_event(), Some(Err(StreamError::Interrupted))));
/// assert!(dec.next_event().is_none());
/// assert!(!dec.is_complete());
/// ```
#[derive(Debug, Default)]
pub struct ChunkStreamDecoder {
    sse: SseDecoder,
    done: bool,
    /// Choices seen so far: (index, has finished), at most
    /// [`MAX_TRACKED_CHOICES`] of them.
    choices: Vec<(u32, bool)>,
    interruption_reported: bool,
    /// The provider reported an error inside the stream.
    failed: bool,
    /// How many choices the request asked for (`n`); 0 when unknown.
    expected_choices: usize,
    /// Reading Anthropic's Messages events instead of OpenAI chunks.
    anthropic: Option<MessagesStream>,
    /// Reading Gemini's responses instead of OpenAI chunks: the function
    /// calls seen so far, to number the next ones.
    gemini: Option<usize>,
}

impl ChunkStreamDecoder {
    /// A decoder with the default event size limit.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder of Anthropic's Messages stream: its events come out as the
    /// same chunks ([`MessagesStream`]); `message_stop` counts as `[DONE]`,
    /// and an in-band `error` event is the provider's error.
    #[must_use]
    pub fn anthropic() -> Self {
        Self {
            anthropic: Some(MessagesStream::default()),
            ..Self::default()
        }
    }

    /// A decoder of Gemini's `alt=sse` stream: each event is a whole response,
    /// read as a chunk ([`chunk_from_event`](crate::wire::gemini::chunk_from_event));
    /// the finish reason ends it (Gemini sends no `[DONE]`).
    #[must_use]
    pub fn gemini() -> Self {
        Self {
            gemini: Some(0),
            ..Self::default()
        }
    }

    /// A decoder over a configured [`SseDecoder`].
    #[must_use]
    pub fn with_sse(sse: SseDecoder) -> Self {
        Self {
            sse,
            ..Self::default()
        }
    }

    /// Expects `n` choices, the request's `n`. Without `[DONE]` the stream is
    /// then complete only once `n` choices have each carried a finish
    /// reason, so a stream cut before a choice ever appeared is not taken
    /// for a whole answer. Without this, the rule counts the choices the
    /// stream mentioned.
    #[must_use]
    pub fn expect_choices(mut self, n: u32) -> Self {
        self.expected_choices = usize::try_from(n)
            .unwrap_or(MAX_TRACKED_CHOICES)
            .min(MAX_TRACKED_CHOICES);
        self
    }

    /// Appends bytes from the body.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.sse.feed(bytes);
    }

    /// Marks the end of the body. The remaining events follow from
    /// [`next_event`](Self::next_event), then, if no finish signal was seen
    /// (and no provider error was reported), one [`StreamError::Interrupted`].
    pub fn finish(&mut self) {
        self.sse.finish();
    }

    /// Whether a finish signal has been seen and the provider reported no
    /// error inside the stream.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        !self.failed
            && (self.done
                || (!self.choices.is_empty()
                    && self.choices.len() >= self.expected_choices
                    && self.choices.iter().all(|&(_, finished)| finished)))
    }

    /// Whether the provider reported an error inside the stream
    /// ([`StreamError::Provider`]).
    #[must_use]
    pub const fn failed(&self) -> bool {
        self.failed
    }

    /// Whether `[DONE]` has been seen.
    #[must_use]
    pub const fn saw_done(&self) -> bool {
        self.done
    }

    /// The next event or error, or `None` when more bytes are needed (or,
    /// after [`finish`](Self::finish), when the stream is over).
    pub fn next_event(&mut self) -> Option<Result<ChunkEvent, StreamError>> {
        loop {
            match self.sse.advance() {
                Some(Ok(())) => {
                    if let Some(item) = self.on_event() {
                        return Some(item);
                    }
                }
                Some(Err(e)) => return Some(Err(e.into())),
                None => {
                    if self.sse.is_finished()
                        && !self.is_complete()
                        && !self.failed
                        && !self.interruption_reported
                    {
                        self.interruption_reported = true;
                        return Some(Err(StreamError::Interrupted));
                    }
                    return None;
                }
            }
        }
    }

    /// Interprets the event the SSE decoder holds, parsing its data in place.
    fn on_event(&mut self) -> Option<Result<ChunkEvent, StreamError>> {
        let data = &self.sse.data;
        let owned_data = || String::from_utf8_lossy(data).into_owned();
        if self.sse.event.as_deref() == Some("error") {
            self.failed = true;
            let event = self.sse.event.clone();
            return Some(Err(StreamError::Provider {
                event,
                data: owned_data(),
            }));
        }
        let payload = data.trim_ascii();
        if payload.is_empty() {
            return None;
        }
        if let Some(messages) = &mut self.anthropic {
            let text = String::from_utf8_lossy(payload).into_owned();
            let step = messages.event(self.sse.event.as_deref().unwrap_or(""), &text);
            return match step {
                Ok(StreamStep::Chunk(chunk)) => {
                    self.track(&chunk);
                    Some(Ok(ChunkEvent::Chunk(chunk)))
                }
                Ok(StreamStep::Done) => {
                    self.done = true;
                    Some(Ok(ChunkEvent::Done))
                }
                Ok(StreamStep::Error(data)) => {
                    self.failed = true;
                    let event = self.sse.event.clone();
                    Some(Err(StreamError::Provider { event, data }))
                }
                Ok(_) => None,
                Err(source) => Some(Err(StreamError::Malformed { data: text, source })),
            };
        }
        if let Some(calls) = self.gemini {
            return match crate::wire::gemini::chunk_from_event(payload, calls) {
                Ok(chunk) if reports_error(&chunk) => {
                    self.failed = true;
                    let event = self.sse.event.clone();
                    Some(Err(StreamError::Provider {
                        event,
                        data: owned_data(),
                    }))
                }
                Ok(chunk) => {
                    let new = chunk
                        .choices
                        .iter()
                        .filter_map(|c| c.delta.tool_calls.as_ref())
                        .map(Vec::len)
                        .sum::<usize>();
                    self.gemini = Some(calls + new);
                    self.track(&chunk);
                    Some(Ok(ChunkEvent::Chunk(chunk)))
                }
                Err(source) => Some(Err(StreamError::Malformed {
                    data: owned_data(),
                    source,
                })),
            };
        }
        if payload == b"[DONE]" {
            self.done = true;
            return Some(Ok(ChunkEvent::Done));
        }
        let chunk: ChatCompletionChunk = match serde_json::from_slice(payload) {
            Ok(chunk) => chunk,
            Err(source) => {
                return Some(Err(StreamError::Malformed {
                    data: owned_data(),
                    source,
                }));
            }
        };
        if reports_error(&chunk) {
            self.failed = true;
            let event = self.sse.event.clone();
            return Some(Err(StreamError::Provider {
                event,
                data: owned_data(),
            }));
        }
        self.track(&chunk);
        Some(Ok(ChunkEvent::Chunk(chunk)))
    }

    /// Notes which choices the chunk names and which it finishes.
    fn track(&mut self, chunk: &ChatCompletionChunk) {
        for choice in &chunk.choices {
            let finished = choice
                .finish_reason
                .as_ref()
                .is_some_and(|r| !matches!(r, FinishReason::Other(s) if s.is_empty()));
            if let Some(entry) = self
                .choices
                .iter_mut()
                .find(|(index, _)| *index == choice.index)
            {
                entry.1 |= finished;
            } else if self.choices.len() < MAX_TRACKED_CHOICES {
                // A hostile stream could name endless indices: track a bounded number.
                self.choices.push((choice.index, finished));
            }
        }
    }
}

/// Whether a chunk is the provider's report of an error rather than part of
/// the answer.
fn reports_error(chunk: &ChatCompletionChunk) -> bool {
    chunk.error().is_some_and(|e| !e.is_null())
        || chunk.object == "error"
        || chunk.choices.iter().any(|c| {
            c.finish_reason
                .as_ref()
                .is_some_and(|r| r.as_str() == "error")
        })
}

/// A chat stream read from a [`ResponseBody`]: body errors, SSE problems and
/// the finish rule in one `next()`.
///
/// ```
/// use bytes::Bytes;
/// use nb_transport::{ChunkStream, ResponseBody, ChunkEvent, TransportError, TransportErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cut = TransportError::new(TransportErrorKind::StreamInterrupted);
/// let body = ResponseBody::from_chunks([
///     Ok(Bytes::from("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n")),
///     Err(cut),
/// ]);
/// let mut stream = ChunkStream::new(body);
/// assert!(matches!(stream.next().await, Some(Ok(ChunkEvent::Chunk(_)))));
/// let err = stream.next().await.unwrap().unwrap_err();
/// assert!(err.is_interrupted());
/// assert!(stream.next().await.is_none());
/// # }
/// ```
#[derive(Debug)]
pub struct ChunkStream {
    body: ResponseBody,
    decoder: ChunkStreamDecoder,
    body_over: bool,
}

impl ChunkStream {
    /// Reads `body` with a default [`ChunkStreamDecoder`].
    #[must_use]
    pub fn new(body: ResponseBody) -> Self {
        Self::with_decoder(body, ChunkStreamDecoder::new())
    }

    /// Reads `body` with `decoder`.
    #[must_use]
    pub fn with_decoder(body: ResponseBody, decoder: ChunkStreamDecoder) -> Self {
        Self {
            body,
            decoder,
            body_over: false,
        }
    }

    /// The next event or error; `None` once the stream is over. A body error
    /// ends the stream after it is returned; once the stream is complete
    /// (see [`is_complete`](Self::is_complete)) a body error just ends it, so
    /// a connection cut right after `[DONE]` or the last finish reason is not
    /// reported as an interruption.
    pub async fn next(&mut self) -> Option<Result<ChunkEvent, StreamError>> {
        loop {
            if let Some(item) = self.decoder.next_event() {
                return Some(item);
            }
            if self.body_over {
                return None;
            }
            match self.body.chunk().await {
                Some(Ok(bytes)) => self.decoder.feed(&bytes),
                Some(Err(e)) => {
                    self.body_over = true;
                    if self.decoder.is_complete() {
                        // The answer is whole: a connection that drops or
                        // stalls after the finish signal does not take it back.
                        self.decoder.finish();
                        continue;
                    }
                    return Some(Err(e.into()));
                }
                None => {
                    self.body_over = true;
                    self.decoder.finish();
                }
            }
        }
    }

    /// Whether a finish signal has been seen.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.decoder.is_complete()
    }
}

#[cfg(test)]
mod tests;
