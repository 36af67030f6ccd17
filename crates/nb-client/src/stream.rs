//! `chat().stream()`: failover before the first content, the stream policy
//! after it.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::Stream;
use nb_diagnose::Diagnosis;
use nb_transport::wire::{Extra, FunctionCall, ToolCall};
use nb_transport::{
    ChatCompletion, ChatCompletionChunk, ChunkEvent, EndpointKind, FinishReason, Usage,
};
use tracing::{Instrument, Span};

use crate::attempt::Attempt;
use crate::cache::{self, Cached};
use crate::cascade::{self, CallState, Lease};
use crate::degrade;
use crate::equivalence::{Constrained, constrain};
use crate::error::{Error, ErrorKind};
use crate::failure::{interrupted, malformed_diagnosis, schema_violation};
use crate::guard::Guard;
use crate::observe;
use crate::policy::Decision;
use crate::policy::Fallback;
use crate::policy::{FallbackRule, StreamPolicy};
use crate::request::{ChatRequest, LastBody, cost};
use crate::response::Degraded;
use crate::shared::Inner;
use crate::time::{later, now};

mod open;

use open::{Open, Opened, Problem, problem};

/// What a [`ChatStream`] yields.
#[derive(Debug, Clone)]
// `Done` comes once per stream; boxing the chunk would cost an allocation per chunk.
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
pub enum StreamEvent {
    /// A chunk of the answer, as the serving provider sent it.
    Chunk(ChatCompletionChunk),
    /// The stream restarted from scratch on another target (it could not
    /// continue the partial answer): discard what was shown; the chunks
    /// that follow are a new answer.
    Restarted {
        /// The model that restarted it.
        model: String,
        /// Its endpoint.
        endpoint: String,
        /// Why the previous stream ended.
        reason: Diagnosis,
    },
    /// The answer is complete.
    Done(StreamSummary),
}

/// A degraded answer replayed as a stream: who served it, and why.
struct Replayed {
    served_by: Arc<str>,
    endpoint: Arc<str>,
    protocol: Option<EndpointKind>,
    degradation: Box<Degraded>,
}

/// How a completed stream went.
#[derive(Debug, Clone)]
pub struct StreamSummary {
    served_by: Arc<str>,
    endpoint: Arc<str>,
    protocol: Option<EndpointKind>,
    usage: Option<Usage>,
    attempts: Vec<Attempt>,
    malformed_chunks_skipped: u32,
    finish_reason: Option<FinishReason>,
    restarted: bool,
    degradation: Option<Box<Degraded>>,
    requested: Arc<str>,
}

impl StreamSummary {
    /// The model the request asked for (the first of its chain).
    pub fn requested_model(&self) -> &str {
        &self.requested
    }

    /// Whether the model that served is the one the request asked for:
    /// `false` after a fallback (or a restart) on another model.
    pub fn is_requested_model(&self) -> bool {
        self.served_by == self.requested
    }

    /// The model that finished the answer.
    pub fn served_by(&self) -> &str {
        &self.served_by
    }

    /// Its endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The protocol of the endpoint that finished it; `None` for a static
    /// answer.
    pub fn protocol(&self) -> Option<EndpointKind> {
        self.protocol
    }

    /// The usage the serving model reported (asked for with
    /// `stream_options.include_usage`).
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// Every attempt of the call, in order; the last one served it.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// Chunks whose JSON was broken, skipped.
    pub fn malformed_chunks_skipped(&self) -> u32 {
        self.malformed_chunks_skipped
    }

    /// The first choice's finish reason, if one was sent.
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.finish_reason.as_ref()
    }

    /// Whether the answer restarted from scratch after an interruption.
    pub fn restarted(&self) -> bool {
        self.restarted
    }

    /// `Some` when the answer is degraded: every candidate failed before
    /// content, and the stream replayed the last good or static answer
    /// (see [`Degradation`](crate::policy::Degradation)) as one chunk.
    pub fn degradation(&self) -> Option<&Degraded> {
        self.degradation.as_deref()
    }
}

/// The next event of a [`StreamState`], with the state handed back: what a
/// [`ChatStream`] polled as a [`Stream`] keeps in flight between polls.
type InFlight =
    Pin<Box<dyn Future<Output = (Box<StreamState>, Option<Result<StreamEvent, Error>>)> + Send>>;

/// A streamed answer. Read it with [`next`](Self::next) until
/// [`StreamEvent::Done`] (then `None`), or an error; or use it as a
/// [`futures_core::Stream`] (with `StreamExt::next` from `futures` or
/// `tokio-stream`, or any stream combinator).
///
/// Dropping it cancels the request; the attempt then counts as neither a
/// success nor a failure.
pub struct ChatStream {
    /// The state, when no poll is in flight.
    state: Option<Box<StreamState>>,
    /// A [`Stream::poll_next`] that returned `Pending`: it owns the state
    /// until it completes.
    in_flight: Option<InFlight>,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("state", &self.state)
            .field("in_flight", &self.in_flight.is_some())
            .finish()
    }
}

impl ChatStream {
    fn new(state: StreamState) -> Self {
        Self {
            state: Some(Box::new(state)),
            in_flight: None,
        }
    }

    /// The next event: chunks, possibly a [`StreamEvent::Restarted`], then
    /// [`StreamEvent::Done`] with the summary; `None` after that (or after
    /// an error). An error after content is
    /// [`ErrorKind::StreamInterrupted`] with the partial text.
    ///
    /// Cancel-safe while chunks flow (a dropped `next()` loses nothing).
    /// Dropped while a `Continue` continuation is being opened, it ends
    /// the stream: the following call returns the interruption. (A poll
    /// of the [`Stream`] implementation that returned `Pending` is
    /// finished first.)
    pub async fn next(&mut self) -> Option<Result<StreamEvent, Error>> {
        if self.in_flight.is_some() {
            return std::future::poll_fn(|cx| self.poll_in_flight(cx)).await;
        }
        match self.state.as_mut() {
            Some(state) => state.next().await,
            None => None,
        }
    }

    /// Polls the event in flight, taking the state back when it is ready.
    fn poll_in_flight(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StreamEvent, Error>>> {
        let Some(in_flight) = self.in_flight.as_mut() else {
            return Poll::Ready(None);
        };
        let (state, event) = ready!(in_flight.as_mut().poll(cx));
        self.in_flight = None;
        self.state = Some(state);
        Poll::Ready(event)
    }

    /// The content delivered so far (since the last restart); empty while
    /// a poll of the [`Stream`] implementation is pending.
    pub fn text(&self) -> &str {
        self.state.as_ref().map_or("", |s| &s.text)
    }

    /// The model serving now; `None` once the stream has ended (the
    /// summary names it), and while a poll of the [`Stream`]
    /// implementation is pending.
    pub fn served_by(&self) -> Option<&str> {
        let current = self.state.as_ref()?.current.as_ref()?;
        Some(&current.lease.target.model)
    }

    /// The model the request asked for (the first of its chain); `None`
    /// while a poll of the [`Stream`] implementation is pending.
    pub fn requested_model(&self) -> Option<&str> {
        Some(&self.state.as_ref()?.requested)
    }

    /// The serving answer's request id and rate-limit headers, as the
    /// provider sent them with its response head (see
    /// [`ChatResponse::upstream_headers`](crate::ChatResponse::upstream_headers));
    /// `None` when [`served_by`](Self::served_by) is.
    pub fn upstream_headers(&self) -> Option<&http::HeaderMap> {
        Some(&self.state.as_ref()?.current.as_ref()?.headers)
    }

    /// The attempts so far (the serving one is added when it ends); empty
    /// while a poll of the [`Stream`] implementation is pending.
    pub fn attempts(&self) -> &[Attempt] {
        self.state.as_ref().map_or(&[], |s| &s.call.attempts)
    }
}

/// The same events as [`ChatStream::next`]. An event not ready yet keeps
/// the stream's state in flight (one allocation per event polled this
/// way), so a pending poll is resumed, never lost.
impl Stream for ChatStream {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.in_flight.is_none() {
            let Some(mut state) = this.state.take() else {
                return Poll::Ready(None);
            };
            this.in_flight = Some(Box::pin(async move {
                let event = state.next().await;
                (state, event)
            }));
        }
        this.poll_in_flight(cx)
    }
}

/// The target currently streaming.
struct Current {
    stream: nb_transport::ChunkStream,
    lease: Lease,
    headers: http::HeaderMap,
}

/// The state of a streamed answer, behind [`ChatStream`].
struct StreamState {
    inner: Arc<Inner>,
    call: CallState,
    request: ChatRequest,
    current: Option<Current>,
    buffered: VecDeque<ChatCompletionChunk>,
    restart: Option<StreamEvent>,
    /// Why the serving stream broke, while a continuation is under way.
    interruption: Option<Diagnosis>,
    text: String,
    /// The tool calls of the answer so far, by index: name and arguments.
    tool_calls: Vec<(String, String)>,
    /// The request's schema guard, checked with the validator on the
    /// complete answer.
    guard: Option<Guard>,
    /// The model the request asked for.
    requested: Arc<str>,
    usage: Option<Usage>,
    finish_reason: Option<FinishReason>,
    malformed: u32,
    restarted: bool,
    finished: bool,
    /// The degradation cache's key for this request (when it is on).
    cache_key: Option<u64>,
    /// Whether the answer is plain text on one choice (cacheable as such).
    plain: bool,
    /// A degraded answer being replayed.
    degraded: Option<Replayed>,
    span: Span,
    /// When the call started, if its span is enabled.
    started: Option<std::time::Instant>,
}

impl fmt::Debug for StreamState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamState")
            .field("serving", &self.current.as_ref().map(|c| &c.lease.target))
            .field("text_len", &self.text.len())
            .field("attempts", &self.call.attempts.len())
            .field("finished", &self.finished)
            .field("degraded", &self.degraded.is_some())
            .finish()
    }
}

/// Runs the cascade until a stream delivers content.
pub(crate) async fn open(
    inner: Arc<Inner>,
    request: ChatRequest,
    fallback: &Fallback,
    span: Span,
) -> Result<ChatStream, Error> {
    let Constrained {
        chain,
        allowed,
        requested,
    } = constrain(&inner, &request.model, fallback)?;
    let mut request = request;
    request.stream = None;
    request.stream_options = None;
    let cache_key = match inner.last_good {
        Some(_) => Some(cache::request_key(&request)?),
        None => None,
    };
    let mut request = request.stream(true);
    let cost = cost(&chain, &request);
    let mut call = CallState::new(chain, inner.settings.deadline, cost).allow_only(allowed.clone());
    let mut open = Open {
        request: &mut request,
        partial: None,
        body: LastBody::default(),
        malformed: Arc::default(),
    };
    let result = cascade::run(&inner, &mut call, &mut open).await;
    let malformed = open.malformed.load(Ordering::Relaxed);
    let (opened, lease) = match result {
        Ok(opened) => opened,
        Err(error) => {
            // Degradation (when on): the answer replayed as one chunk, then
            // a summary that says it is degraded.
            let allowed = degrade::Allowed {
                requested: &requested,
                models: allowed.as_deref(),
            };
            let response = degrade::answer(&inner, cache_key, error, &allowed)?;
            call.attempts = response.attempts;
            let chunk = degrade::as_chunk(&response.completion);
            return Ok(ChatStream::new(StreamState {
                buffered: VecDeque::from([chunk]),
                degraded: response.degradation.map(|degradation| Replayed {
                    served_by: response.served_by,
                    endpoint: response.endpoint,
                    protocol: response.protocol,
                    degradation,
                }),
                ..StreamState::new(inner, call, request, malformed, cache_key, span, requested)
            }));
        }
    };
    let mut stream = StreamState::new(inner, call, request, malformed, cache_key, span, requested);
    stream.serve(opened, lease);
    Ok(ChatStream::new(stream))
}

impl StreamState {
    fn new(
        inner: Arc<Inner>,
        call: CallState,
        request: ChatRequest,
        malformed: u32,
        cache_key: Option<u64>,
        span: Span,
        requested: Arc<str>,
    ) -> Self {
        let guard = Guard::for_request(inner.settings.schema_guard, &request, &inner.schemas);
        Self {
            started: (!span.is_disabled()).then_some(call.started),
            inner,
            call,
            request,
            current: None,
            buffered: VecDeque::new(),
            restart: None,
            interruption: None,
            text: String::new(),
            tool_calls: Vec::new(),
            guard,
            requested,
            usage: None,
            finish_reason: None,
            malformed,
            restarted: false,
            finished: false,
            cache_key,
            plain: true,
            degraded: None,
            span,
        }
    }

    /// The next event (see [`ChatStream::next`]).
    async fn next(&mut self) -> Option<Result<StreamEvent, Error>> {
        let span = self.span.clone();
        let event = self.next_event().instrument(span).await;
        match &event {
            Some(Ok(StreamEvent::Done(s))) => observe::call_served(
                &self.span,
                self.started,
                (s.served_by(), s.endpoint()),
                s.attempts().len(),
                s.degradation(),
            ),
            Some(Err(e)) => observe::call_failed(&self.span, self.started, e),
            _ => {}
        }
        event
    }

    /// Takes over a freshly opened target.
    fn serve(&mut self, opened: Opened, lease: Lease) {
        self.buffered.extend(opened.buffered);
        self.current = Some(Current {
            stream: opened.stream,
            lease,
            headers: opened.headers,
        });
    }

    fn absorb(&mut self, chunk: &ChatCompletionChunk) {
        if self.cache_key.is_some() {
            self.plain &= chunk
                .choices
                .iter()
                .all(|c| c.index == 0 && c.delta.tool_calls.is_none() && c.delta.refusal.is_none());
        }
        if let Some(text) = chunk.content() {
            self.text.push_str(text);
        }
        let deltas = chunk.choices.iter().filter(|c| c.index == 0);
        for call in deltas.flat_map(|c| c.delta.tool_calls.iter().flatten()) {
            let Ok(i) = usize::try_from(call.index) else {
                continue;
            };
            // An index far past the calls so far is not a call to keep.
            if i > self.tool_calls.len() + 64 {
                continue;
            }
            if self.tool_calls.len() <= i {
                self.tool_calls.resize_with(i + 1, Default::default);
            }
            if let Some(f) = &call.function {
                let (name, arguments) = &mut self.tool_calls[i];
                name.push_str(f.name.as_deref().unwrap_or_default());
                arguments.push_str(f.arguments.as_deref().unwrap_or_default());
            }
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        if let Some(reason) = chunk.finish_reason() {
            self.finish_reason = Some(reason.clone());
        }
    }

    async fn next_event(&mut self) -> Option<Result<StreamEvent, Error>> {
        loop {
            if let Some(event) = self.restart.take() {
                return Some(Ok(event));
            }
            if let Some(chunk) = self.buffered.pop_front() {
                self.absorb(&chunk);
                return Some(Ok(StreamEvent::Chunk(chunk)));
            }
            if self.finished {
                return None;
            }
            let Some(current) = self.current.as_mut() else {
                self.finished = true;
                if let Some(replayed) = self.degraded.take() {
                    let mut summary =
                        self.summary(replayed.served_by, replayed.endpoint, replayed.protocol);
                    summary.degradation = Some(replayed.degradation);
                    return Some(Ok(StreamEvent::Done(summary)));
                }
                // Only a continuation cancelled half-way (its `next()`
                // future dropped) leaves no stream behind: the answer
                // cannot go on.
                return Some(Err(Error::new(
                    ErrorKind::StreamInterrupted {
                        partial: self.text.clone(),
                    },
                    self.interruption.take(),
                    std::mem::take(&mut self.call.attempts),
                )));
            };
            // After the finish signal, wait only a short grace for the usage
            // chunk and `[DONE]`; before it, up to the idle timeout.
            let complete = current.stream.is_complete();
            let settings = &self.inner.settings;
            let wait = if complete {
                settings.finish_grace
            } else {
                settings.idle_timeout
            };
            let diagnosis = match tokio::time::timeout(wait, current.stream.next()).await {
                Err(_elapsed) if complete => return Some(self.complete()),
                Err(_elapsed) => interrupted(
                    &self.inner,
                    &current.lease.target,
                    &format!(
                        "the stream stalled: no data for {:.1} s",
                        wait.as_secs_f64()
                    ),
                ),
                Ok(Some(Ok(ChunkEvent::Chunk(chunk)))) => {
                    self.absorb(&chunk);
                    return Some(Ok(StreamEvent::Chunk(chunk)));
                }
                Ok(Some(Ok(ChunkEvent::Done)) | None) => return Some(self.complete()),
                Ok(Some(Err(e))) => match problem(&self.inner, &current.lease.target, e, true) {
                    Problem::Skip => {
                        self.malformed += 1;
                        continue;
                    }
                    Problem::Fail(diagnosis, _) => *diagnosis,
                    Problem::Local(error) => {
                        // The serving attempt ends unrecorded: dropping its
                        // lease counts it neither a success nor a failure.
                        self.current = None;
                        self.finished = true;
                        let attempts = std::mem::take(&mut self.call.attempts);
                        return Some(Err(error.with_attempts(attempts)));
                    }
                },
            };
            if let Err(error) = self.interrupted(diagnosis).await {
                self.finished = true;
                return Some(Err(error));
            }
        }
    }

    /// The answer as it stands, as one completion (for the guard and the
    /// validator).
    fn assembled(&self, model: &str) -> ChatCompletion {
        let mut completion = degrade::streamed(
            model,
            self.text.clone(),
            self.finish_reason.clone(),
            self.usage.clone(),
        );
        if !self.tool_calls.is_empty() {
            let calls = self
                .tool_calls
                .iter()
                .enumerate()
                .map(|(i, (name, arguments))| ToolCall {
                    id: format!("call_{i}"),
                    kind: "function".to_owned(),
                    function: FunctionCall {
                        name: name.clone(),
                        arguments: arguments.clone(),
                        extra: Extra::new(),
                    },
                    extra: Extra::new(),
                })
                .collect();
            if let Some(choice) = completion.choices.first_mut() {
                choice.message.tool_calls = Some(calls);
                if self.text.is_empty() {
                    choice.message.content = None;
                }
            }
        }
        completion
    }

    /// Why the complete answer is rejected, if it is: off the request's
    /// schema, or refused by the client's validator.
    fn rejection(&self, current: &Current) -> Option<Diagnosis> {
        if self.guard.is_none() && self.inner.validator.is_none() {
            return None;
        }
        let target = &current.lease.target;
        let completion = self.assembled(&target.model);
        let body = self.text.as_bytes();
        if let Some(Err(reason)) = self.guard.as_ref().map(|g| g.check(&completion)) {
            let inner = &self.inner;
            return Some(schema_violation(
                inner,
                target,
                &current.headers,
                body,
                &reason,
            ));
        }
        let validator = self.inner.validator.as_ref()?;
        let reason = validator(&completion).err()?;
        let reason = format!("the validator rejected the completion: {reason}");
        Some(malformed_diagnosis(
            &self.inner,
            target,
            &current.headers,
            body,
            &reason,
        ))
    }

    /// Checks the complete answer, records the serving attempt, keeps a
    /// plain answer for degradation, and builds the summary. An answer the
    /// guard or the validator rejects is an error carrying what was
    /// delivered, never a success: its content already reached the caller.
    fn complete(&mut self) -> Result<StreamEvent, Error> {
        self.finished = true;
        let Some(current) = self.current.take() else {
            // `complete` is only called with a stream in hand.
            return Ok(StreamEvent::Done(self.summary("".into(), "".into(), None)));
        };
        let target = current.lease.target.clone();
        let now = now();
        if let Some(diagnosis) = self.rejection(&current) {
            let inner = Arc::clone(&self.inner);
            current.lease.fail(
                &inner,
                &mut self.call,
                diagnosis.clone(),
                Decision::Stop,
                now,
            );
            return Err(Error::new(
                ErrorKind::AnswerRejected {
                    partial: self.text.clone(),
                },
                Some(diagnosis),
                std::mem::take(&mut self.call.attempts),
            ));
        }
        current.lease.succeed(&self.inner, &mut self.call, now);
        if let (Some(cache), Some(key)) = (&self.inner.last_good, self.cache_key)
            && self.plain
            && !self.text.is_empty()
        {
            let completion = degrade::streamed(
                &target.model,
                self.text.clone(),
                self.finish_reason.clone(),
                self.usage.clone(),
            );
            cache.store(
                key,
                Cached {
                    completion,
                    served_by: Arc::clone(&target.model),
                    endpoint: Arc::clone(&target.endpoint.name),
                    protocol: target.endpoint.protocol(),
                    at: now,
                },
            );
        }
        let summary = self.summary(
            Arc::clone(&target.model),
            Arc::clone(&target.endpoint.name),
            Some(target.endpoint.protocol()),
        );
        Ok(StreamEvent::Done(summary))
    }

    fn summary(
        &mut self,
        served_by: Arc<str>,
        endpoint: Arc<str>,
        protocol: Option<EndpointKind>,
    ) -> StreamSummary {
        StreamSummary {
            served_by,
            endpoint,
            protocol,
            usage: self.usage.take(),
            attempts: std::mem::take(&mut self.call.attempts),
            malformed_chunks_skipped: self.malformed,
            finish_reason: self.finish_reason.take(),
            restarted: self.restarted,
            degradation: None,
            requested: Arc::clone(&self.requested),
        }
    }

    /// The stream failed after content: end with the partial text, or
    /// continue elsewhere, per the stream policy. The interruption stays the
    /// reported cause if the continuation fails too.
    async fn interrupted(&mut self, diagnosis: Diagnosis) -> Result<(), Error> {
        let Some(current) = self.current.take() else {
            return Err(Error::new(
                ErrorKind::StreamInterrupted {
                    partial: self.text.clone(),
                },
                Some(diagnosis),
                std::mem::take(&mut self.call.attempts),
            ));
        };
        let inner = Arc::clone(&self.inner);
        let now = now();
        // `Continue` goes on elsewhere unless the failure's own policy is
        // to fail (a content filter or invalid request named in the
        // stream: the answer must not be carried to another model).
        let ends_here = inner
            .settings
            .policies
            .get(diagnosis.category)
            .fallback_rule()
            == FallbackRule::Never;
        let decision = match inner.settings.stream_policy {
            StreamPolicy::Continue if !ends_here => Decision::Fallback,
            _ => Decision::Stop,
        };
        let target = current.lease.target.clone();
        current
            .lease
            .fail(&inner, &mut self.call, diagnosis.clone(), decision, now);
        self.call.give_up(target);
        let interrupted = |text: &str, attempts: Vec<Attempt>| {
            Error::new(
                ErrorKind::StreamInterrupted {
                    partial: text.to_owned(),
                },
                Some(diagnosis.clone()),
                attempts,
            )
        };
        if decision == Decision::Stop {
            return Err(interrupted(
                &self.text,
                std::mem::take(&mut self.call.attempts),
            ));
        }
        self.interruption = Some(diagnosis.clone());
        // A fresh deadline to reach content again.
        self.call.deadline = later(now, inner.settings.deadline);
        let mut open = Open {
            request: &mut self.request,
            partial: Some(&self.text),
            body: LastBody::default(),
            malformed: Arc::default(),
        };
        let result = cascade::run(&inner, &mut self.call, &mut open).await;
        self.interruption = None;
        self.malformed += open.malformed.load(Ordering::Relaxed);
        match result {
            Ok((opened, lease)) => {
                if !opened.prefill {
                    self.restart = Some(StreamEvent::Restarted {
                        model: lease.target.model.to_string(),
                        endpoint: lease.target.endpoint.name.to_string(),
                        reason: diagnosis,
                    });
                    self.text.clear();
                    self.tool_calls.clear();
                    self.restarted = true;
                }
                self.serve(opened, lease);
                Ok(())
            }
            Err(error) => {
                let mut attempts = error.attempts().to_vec();
                if attempts.is_empty() {
                    attempts = std::mem::take(&mut self.call.attempts);
                }
                Err(interrupted(&self.text, attempts))
            }
        }
    }
}

/// How long a finished stream waits for its usage chunk and `[DONE]`.
pub(crate) const DEFAULT_FINISH_GRACE: Duration = Duration::from_secs(1);
