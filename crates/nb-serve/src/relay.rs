//! Relaying a stream to its caller as server-sent events (OpenAI's chunks or
//! Anthropic's Messages events), until it ends, the caller leaves, it runs
//! past its limit or the sidecar shuts down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nb_client::{ChatStream, ErrorCategory, ErrorKind, StreamEvent};
use serde_json::json;

use crate::admission::Ticket;
use crate::calls::message;
use crate::chunk::{Identity, chunk_json};
use crate::http::{SSE_DONE, sse_data};
use crate::messages::{self, MessagesEvents};
use crate::metrics::Metrics;

/// The shape a stream is relayed in.
pub(crate) enum Wire {
    /// OpenAI's chat completion chunks and `[DONE]`; the usage chunk only when asked for.
    Chat {
        include_usage: bool,
        /// The first chunk's id and creation time, for every chunk of the answer.
        identity: Option<Identity>,
    },
    /// Anthropic's Messages events.
    Messages(MessagesEvents),
}

impl Wire {
    /// The frame for one chunk; `None` when it has nothing for the caller.
    fn chunk(
        &mut self,
        mut chunk: nb_transport::ChatCompletionChunk,
        served_by: &str,
    ) -> Option<Bytes> {
        match self {
            Wire::Chat {
                include_usage,
                identity,
            } => {
                if chunk.choices.is_empty() && !*include_usage {
                    // The usage chunk the client asks for on the wire; a caller that did
                    // not ask for it may index `choices[0]`.
                    return None;
                }
                if !*include_usage {
                    chunk.usage = None;
                }
                let identity =
                    identity.get_or_insert_with(|| Identity::new(&chunk.id, chunk.created));
                // The model as the provider named it, else the configured name.
                let model = Some(chunk.model.as_str())
                    .filter(|m| !m.is_empty())
                    .unwrap_or(served_by);
                chunk_json(&chunk, identity, model)
                    .ok()
                    .map(|data| sse_data(&data))
            }
            Wire::Messages(events) => {
                let frames = events.chunk(&chunk, served_by);
                (!frames.is_empty()).then(|| Bytes::from(frames))
            }
        }
    }

    /// The frames that end a complete answer.
    fn done(&mut self, served_by: &str) -> Bytes {
        match self {
            Wire::Chat { .. } => Bytes::from_static(SSE_DONE),
            Wire::Messages(events) => Bytes::from(events.finish("nb", served_by)),
        }
    }

    /// An error event after part of the answer was sent; `code` is the sidecar's code or
    /// the failure's category.
    fn error(&self, code: &str, message: &str) -> Bytes {
        match self {
            Wire::Chat { .. } => stream_error(code, message),
            Wire::Messages(_) => {
                let kind = match code {
                    "overloaded" => "overloaded_error",
                    "rate_limit" => "rate_limit_error",
                    _ => "api_error",
                };
                messages::stream_error(kind, message)
            }
        }
    }
}

/// What ends a relayed stream besides the stream itself.
pub(crate) struct Ends {
    /// The longest it may run.
    pub(crate) limit: Duration,
    /// Turns true when the sidecar's drain is over.
    pub(crate) end_streams: tokio::sync::watch::Receiver<bool>,
    /// The stream's admission slot, held until it ends.
    pub(crate) _ticket: Ticket,
    /// Where its attempts, tokens and duration are counted when it ends.
    pub(crate) metrics: Arc<Metrics>,
    /// When the call started.
    pub(crate) started: Instant,
}

/// Why a relay stopped waiting for the upstream.
enum Cut {
    /// The caller went away: nothing to send.
    CallerLeft,
    /// The stream ran longer than its limit.
    Limit(Duration),
    /// The sidecar is shutting down.
    ShuttingDown,
}

/// Relays a stream's events as SSE until it ends, the caller leaves, it runs
/// past its limit or the sidecar shuts down. Returning drops the stream,
/// which cancels the upstream call at once, whether or not the upstream is
/// sending anything.
pub(crate) async fn relay(
    mut stream: ChatStream,
    tx: tokio::sync::mpsc::Sender<Bytes>,
    mut wire: Wire,
    mut ends: Ends,
) {
    let limit = tokio::time::sleep(ends.limit);
    tokio::pin!(limit);
    loop {
        let event = tokio::select! {
            event = stream.next() => Ok(event),
            () = tx.closed() => Err(Cut::CallerLeft),
            () = &mut limit => Err(Cut::Limit(ends.limit)),
            Ok(_) = ends.end_streams.wait_for(|end| *end) => Err(Cut::ShuttingDown),
        };
        let event = match event {
            Ok(Some(event)) => event,
            Ok(None) => return,
            Err(Cut::CallerLeft) => return,
            Err(Cut::Limit(limit)) => {
                let message = format!(
                    "The stream ran longer than this sidecar's limit of {} s (server.stream_limit_s); \
                     the partial answer is incomplete.",
                    limit.as_secs()
                );
                let _ = tx.send(wire.error("stream_limit", &message)).await;
                return;
            }
            Err(Cut::ShuttingDown) => {
                let message = "This sidecar is shutting down; the partial answer is incomplete.";
                let _ = tx.send(wire.error("shutting_down", message)).await;
                return;
            }
        };
        let frame = match event {
            Ok(StreamEvent::Chunk(chunk)) => {
                match wire.chunk(chunk, stream.served_by().unwrap_or_default()) {
                    Some(frame) => frame,
                    None => continue,
                }
            }
            Ok(StreamEvent::Done(summary)) => {
                ends.metrics.call(
                    summary.attempts(),
                    summary.usage(),
                    Some(summary.served_by()),
                );
                ends.metrics.duration(true, ends.started.elapsed());
                let _ = tx.send(wire.done(summary.served_by())).await;
                return;
            }
            Ok(StreamEvent::Restarted { model, .. }) => {
                // What the caller already received cannot be taken back.
                let message = format!(
                    "The stream was interrupted and could only restart from scratch on {model}; \
                     the partial answer is incomplete."
                );
                let _ = tx.send(wire.error("stream_interrupted", &message)).await;
                return;
            }
            Ok(_) => continue,
            Err(e) => {
                ends.metrics.call(e.attempts(), None, None);
                ends.metrics.duration(true, ends.started.elapsed());
                let (code, lead) = match e.kind() {
                    ErrorKind::AnswerRejected { .. } => (
                        "answer_rejected",
                        "The whole answer was sent, but it was rejected: do not use it.",
                    ),
                    _ => (
                        e.category()
                            .map_or("stream_interrupted", ErrorCategory::as_str),
                        "Part of the answer was sent before the stream broke.",
                    ),
                };
                let message = format!("{lead} {}", message(&e));
                let _ = tx.send(wire.error(code, &message)).await;
                return;
            }
        };
        if tx.send(frame).await.is_err() {
            return;
        }
    }
}

/// An error event in a stream, as OpenAI sends one (the SDKs raise it as an API error).
fn stream_error(code: &str, message: &str) -> Bytes {
    let body = json!({
        "error": { "message": message, "type": "server_error", "param": null, "code": code }
    });
    sse_data(body.to_string().as_bytes())
}
