//! Anthropic's Messages API (`POST /v1/messages`): the same answers, faults and stream
//! shapes as the OpenAI route, in Anthropic's message, event and error formats.

use bytes::Bytes;
use serde_json::json;

use crate::fault::Fault;
use crate::openai::{Answer, ErrorReply, StreamShape};

/// A non-streamed answer as a Messages response.
pub(crate) fn message(answer: &Answer<'_>) -> Vec<u8> {
    let tokens = answer.tokens();
    json!({
        "id": format!("msg_{}", answer.id),
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": [{ "type": "text", "text": answer.text }],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": { "input_tokens": tokens.prompt, "output_tokens": tokens.completion },
    })
    .to_string()
    .into_bytes()
}

/// A stream of the answer as Messages events, shaped by `shape`: `message_start`, a text
/// block's start and one `text_delta` a content chunk (the first event also carries the
/// start), then the block's stop, `message_delta` and `message_stop` when the shape
/// finishes and ends.
pub(crate) fn events(answer: &Answer<'_>, shape: StreamShape) -> Vec<Bytes> {
    let tokens = answer.tokens();
    let event = |name: &str, data: serde_json::Value| format!("event: {name}\ndata: {data}\n\n");
    let start = event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_{}", answer.id), "type": "message", "role": "assistant",
            "model": answer.model, "content": [], "stop_reason": null,
            "usage": { "input_tokens": tokens.prompt, "output_tokens": 1 }}}),
    ) + &event(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    );
    let pieces = answer.pieces();
    let content = shape.content.min(pieces.len());
    let mut frames = Vec::with_capacity(content + 3);
    for (index, piece) in pieces[..content].iter().enumerate() {
        let mut frame = if index == 0 {
            start.clone()
        } else {
            String::new()
        };
        if shape.malformed_at == Some(index) {
            frame.push_str("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\n\n");
        }
        frame.push_str(&event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}),
        ));
        frames.push(Bytes::from(frame));
    }
    if content == 0 {
        frames.push(Bytes::from(start));
    }
    if shape.finish {
        frames.push(Bytes::from(
            event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ) + &event(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                       "usage": {"output_tokens": tokens.completion}}),
            ),
        ));
    }
    if shape.done {
        frames.push(Bytes::from(event(
            "message_stop",
            json!({"type": "message_stop"}),
        )));
    }
    frames
}

/// Anthropic's in-band error event, sent mid-stream when the model is overloaded after the 200.
pub(crate) const STREAM_ERROR_EVENT: &[u8] = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";

/// An error fault in Anthropic's shape, `{"type": "error", "error": {"type", "message"}}`,
/// with the status Anthropic gives it; `None` for faults that are not a plain error.
pub(crate) fn error_for_fault(fault: &Fault, model: &str) -> Option<ErrorReply> {
    let (status, kind, message) = match fault {
        Fault::RateLimit { .. } => (
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.".to_owned(),
        ),
        Fault::InsufficientQuota => (
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.".to_owned(),
        ),
        Fault::InvalidApiKey => (401, "authentication_error", "invalid x-api-key".to_owned()),
        Fault::PermissionDenied => (
            403,
            "permission_error",
            "Your API key does not have permission to use the specified resource.".to_owned(),
        ),
        Fault::ModelNotFound => (404, "not_found_error", format!("model: {model}")),
        Fault::ContextLengthExceeded => (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum".to_owned(),
        ),
        Fault::ServerError => (500, "api_error", "Internal server error".to_owned()),
        Fault::ServiceUnavailable { .. } | Fault::Overloaded => {
            (529, "overloaded_error", "Overloaded".to_owned())
        }
        Fault::RejectPrefill => (
            400,
            "invalid_request_error",
            "This model does not support assistant message prefill.".to_owned(),
        ),
        // Azure's content filter and a proxy's HTML page have no Anthropic form: as on OpenAI.
        other => return ErrorReply::for_fault(other, model),
    };
    Some(ErrorReply {
        status,
        content_type: "application/json",
        body: json!({"type": "error", "error": {"type": kind, "message": message}})
            .to_string()
            .into_bytes(),
    })
}
