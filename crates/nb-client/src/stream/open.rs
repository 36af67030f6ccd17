//! One streamed attempt: open a target's stream and read it up to its
//! first content (what the cascade fails over on), and what a stream error
//! means.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use nb_diagnose::{Diagnosis, ErrorCategory, TimeoutPhase};
use nb_transport::{
    ChatCompletionChunk, ChunkEvent, Message, RequestOptions, StreamError, Timeouts,
    TransportErrorKind,
};

use crate::cascade::{AttemptCtx, Attempter, Launched};
use crate::error::Error;
use crate::exchange::send;
use crate::failure::{
    AttemptError, body_failure, interrupted, malformed, own_timeout, refusal, transport_failure,
};
use crate::request::{BodyError, ChatRequest, LastBody, encode, format};
use crate::response::upstream;
use crate::shared::Inner;
use crate::target::{HedgeKind, TargetId};

/// Whether a chunk carries part of the answer: content, a refusal, tool
/// calls or a finish reason (not just a role, or usage alone).
pub(super) fn carries_content(chunk: &ChatCompletionChunk) -> bool {
    chunk.choices.iter().any(|c| {
        c.finish_reason.is_some()
            || c.delta.content.as_deref().is_some_and(|t| !t.is_empty())
            || c.delta.refusal.as_deref().is_some_and(|t| !t.is_empty())
            || c.delta.tool_calls.as_ref().is_some_and(|t| !t.is_empty())
    })
}

/// A stream, open and read up to its first content.
pub(super) struct Opened {
    pub(super) stream: nb_transport::ChunkStream,
    pub(super) buffered: Vec<ChatCompletionChunk>,
    pub(super) prefill: bool,
    /// The response head's request id and rate-limit headers.
    pub(super) headers: http::HeaderMap,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("buffered", &self.buffered.len())
            .field("prefill", &self.prefill)
            .finish()
    }
}

/// What a stream problem means.
pub(super) enum Problem {
    /// A chunk to skip (broken JSON, an oversized event).
    Skip,
    /// The stream failed (and whether our own timer measured it).
    Fail(Box<Diagnosis>, bool),
    /// Our own host ran short (descriptors, memory) while reading: not the
    /// provider's failure, and nothing is recorded against it.
    Local(Error),
}

/// Classifies a stream error. Before content, transport failures keep
/// their own category (a first-byte timeout is a hung provider); after it,
/// everything but a provider's own error event is a `stream_interrupted`.
pub(super) fn problem(
    inner: &Inner,
    target: &TargetId,
    error: StreamError,
    started: bool,
) -> Problem {
    match error {
        StreamError::Malformed { source, .. } => {
            tracing::warn!(model = %target.model, endpoint = %target.endpoint.name, "skipping a malformed chunk: {source}");
            Problem::Skip
        }
        StreamError::Sse(e) => {
            tracing::warn!(model = %target.model, endpoint = %target.endpoint.name, "skipping an event: {e}");
            Problem::Skip
        }
        StreamError::Provider { data, .. } => {
            Problem::Fail(Box::new(interrupted(inner, target, &data)), false)
        }
        StreamError::Transport(e) if e.kind() == TransportErrorKind::LocalResource => {
            Problem::Local(Error::local_resource(format!(
                "endpoint {}: {e}",
                target.endpoint.name
            )))
        }
        StreamError::Transport(e) if !started => match transport_failure(inner, target, &e) {
            AttemptError::Failed(f) => Problem::Fail(Box::new(f.diagnosis), f.own_timeout),
            AttemptError::Fatal(_) => {
                Problem::Fail(Box::new(interrupted(inner, target, &e.to_string())), false)
            }
        },
        other => Problem::Fail(
            Box::new(interrupted(inner, target, &other.to_string())),
            false,
        ),
    }
}

/// Opens a stream on one target and reads it up to its first content.
pub(super) struct Open<'s> {
    pub(super) request: &'s mut ChatRequest,
    /// The partial answer to continue (after an interruption, `Continue` policy).
    pub(super) partial: Option<&'s str>,
    pub(super) body: LastBody,
    /// Malformed chunks skipped before content, by every attempt (hedges
    /// run beside each other, so it is shared).
    pub(super) malformed: Arc<AtomicU32>,
}

impl Open<'_> {
    fn body(&mut self, target: &TargetId, prefill: bool) -> Result<Bytes, BodyError> {
        let request = &mut *self.request;
        let partial = self.partial.filter(|_| prefill);
        let wire = &target.wire;
        let model = &target.model;
        self.body
            .get_or_make(model, prefill, format(wire), |hint| match partial {
                Some(partial) => {
                    request.messages.push(Message::assistant(partial));
                    let body = encode(wire, request, model, hint);
                    request.messages.pop();
                    body
                }
                None => encode(wire, request, model, hint),
            })
    }
}

impl Attempter for Open<'_> {
    type Output = Opened;

    fn prefill(&self, target: &TargetId, drop_prefill: bool) -> bool {
        self.partial.is_some() && !drop_prefill && target.endpoint.supports_prefill != Some(false)
    }

    fn refusal(&mut self, inner: &Inner, target: &TargetId) -> Option<Diagnosis> {
        let prefill = Attempter::prefill(self, target, false);
        let error = self.body(target, prefill).err()?;
        refusal(inner, target, &error)
    }

    async fn attempt(&mut self, inner: &Inner, ctx: &AttemptCtx) -> Result<Opened, AttemptError> {
        self.start(inner, ctx.clone()).await
    }

    fn launch<'a>(
        &mut self,
        inner: &'a Inner,
        ctx: AttemptCtx,
    ) -> Option<(HedgeKind, Launched<'a, Opened>)> {
        Some((HedgeKind::FirstToken, self.start(inner, ctx)))
    }
}

impl Open<'_> {
    /// One attempt, holding nothing of `self` once started.
    fn start<'a>(&mut self, inner: &'a Inner, ctx: AttemptCtx) -> Launched<'a, Opened> {
        let target = ctx.target.clone();
        let prefill = Attempter::prefill(self, &target, ctx.drop_prefill);
        let request = self
            .body(&target, prefill)
            .map_err(|e| body_failure(inner, &target, e))
            .and_then(|body| {
                target
                    .wire
                    .native_request(ctx.api_key(), body, true)
                    .map_err(|e| transport_failure(inner, &target, &e))
            });
        let skipped = Arc::clone(&self.malformed);
        let head = Arc::clone(&ctx.head);
        Box::pin(async move {
            let request = request?;
            let target = &target;
            let first_token = ctx.deadline.saturating_duration_since(ctx.started);
            let options = RequestOptions::with_timeouts(Timeouts {
                connect: Some(ctx.connect),
                response_head: Some(first_token),
                first_byte: Some(first_token),
                idle: Some(inner.settings.idle_timeout),
                total: None,
            });
            let open = async {
                let (headers, body) = match send(inner, target, request, options).await {
                    Ok((parts, body)) => {
                        head.store(true, Ordering::Relaxed);
                        (upstream(&parts.headers), body)
                    }
                    Err(AttemptError::Failed(mut f)) => {
                        // A 4xx invalid request to a prefilled request: the
                        // prefill is what it refused.
                        f.prefill_rejected = prefill
                            && f.diagnosis.category == ErrorCategory::InvalidRequest
                            && f.diagnosis.status.is_some_and(|s| (400..500).contains(&s));
                        return Err(AttemptError::Failed(f));
                    }
                    Err(fatal) => return Err(fatal),
                };
                let mut stream =
                    nb_transport::ChunkStream::with_decoder(body, target.wire.chunk_decoder());
                let mut buffered = Vec::new();
                loop {
                    match stream.next().await {
                        Some(Ok(ChunkEvent::Chunk(chunk))) => {
                            let content = carries_content(&chunk);
                            buffered.push(chunk);
                            if content {
                                return Ok((stream, buffered, headers));
                            }
                        }
                        // `[DONE]` before any content or finish reason: an
                        // empty answer, like a completion without choices. (No
                        // headers: an event-stream type would read as a cut.)
                        Some(Ok(ChunkEvent::Done)) | None => {
                            return Err(malformed(
                                inner,
                                target,
                                &http::HeaderMap::new(),
                                b"",
                                "an empty answer: no choice carried content or a finish reason",
                            ));
                        }
                        Some(Err(e)) => match problem(inner, target, e, false) {
                            Problem::Skip => {
                                skipped.fetch_add(1, Ordering::Relaxed);
                            }
                            Problem::Local(error) => return Err(AttemptError::Fatal(error)),
                            Problem::Fail(diagnosis, own) => {
                                return Err(AttemptError::diagnosed(*diagnosis, own));
                            }
                        },
                    }
                }
            };
            match tokio::time::timeout_at(ctx.deadline.into(), open).await {
                Ok(result) => result.map(|(stream, buffered, headers)| Opened {
                    stream,
                    buffered,
                    prefill,
                    headers,
                }),
                Err(_elapsed) => Err(own_timeout(inner, target, TimeoutPhase::FirstByte)),
            }
        })
    }
}
