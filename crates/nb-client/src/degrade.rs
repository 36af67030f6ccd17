//! Graceful degradation: the last good answer per request
//! (`Degradation::LastGood`) or a static one, for completions and streams.

use std::sync::Arc;

use nb_transport::wire::{FunctionCallDelta, ToolCallDelta};
use nb_transport::{
    ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, Delta, FinishReason, Message, Usage,
};

use crate::error::{Error, ErrorKind};
use crate::policy::STATIC_MODEL;
use crate::response::{ChatResponse, DegradationSource, Degraded};
use crate::shared::Inner;
use crate::time::now;

/// The degraded answer for a failed call, if degradation is on and the
/// failure is not the request's fault (every candidate failed, cooled down
/// or ran out of time); else the error.
/// What [`answer`] may serve: the requested model, and the models a
/// request's equivalence constraint allows (`None`: any).
pub(crate) struct Allowed<'a> {
    pub(crate) requested: &'a Arc<str>,
    pub(crate) models: Option<&'a [Arc<str>]>,
}

pub(crate) fn answer(
    inner: &Inner,
    key: Option<u64>,
    error: Error,
    allowed: &Allowed<'_>,
) -> Result<ChatResponse, Error> {
    let Some(policy) = &inner.degradation else {
        return Err(error);
    };
    if !matches!(
        error.kind(),
        ErrorKind::Exhausted | ErrorKind::CoolingDown { .. } | ErrorKind::DeadlineExceeded
    ) {
        return Err(error);
    }
    if let (Some(max_age), Some(cache), Some(key)) = (policy.max_age(), &inner.last_good, key)
        && let Some(cached) = cache.get(key)
        // A request held to some models takes no other model's answer.
        && allowed.models.is_none_or(|m| m.contains(&cached.served_by))
    {
        let age = now().saturating_duration_since(cached.at);
        if age <= max_age {
            return Ok(ChatResponse {
                completion: cached.completion.clone(),
                served_by: Arc::clone(&cached.served_by),
                endpoint: Arc::clone(&cached.endpoint),
                protocol: Some(cached.protocol),
                attempts: error.attempts().to_vec(),
                degradation: Some(Box::new(Degraded {
                    source: DegradationSource::LastGood { age },
                    error,
                })),
                upstream_headers: http::HeaderMap::new(),
                requested: Arc::clone(allowed.requested),
            });
        }
    }
    // A static answer is no model's: not for a request held to some.
    let Some(answer) = policy.static_answer().filter(|_| allowed.models.is_none()) else {
        return Err(error);
    };
    let completion = ChatCompletion {
        object: "chat.completion".to_owned(),
        model: STATIC_MODEL.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: Message::assistant(answer),
            finish_reason: Some(FinishReason::Stop),
            logprobs: None,
            extra: serde_json::Map::new(),
        }],
        ..ChatCompletion::default()
    };
    Ok(ChatResponse {
        completion,
        served_by: STATIC_MODEL.into(),
        endpoint: "neuralbridge".into(),
        protocol: None,
        attempts: error.attempts().to_vec(),
        degradation: Some(Box::new(Degraded {
            source: DegradationSource::Static,
            error,
        })),
        upstream_headers: http::HeaderMap::new(),
        requested: Arc::clone(allowed.requested),
    })
}

/// A whole completion as one stream chunk: each choice's message as its
/// delta (content, refusal, tool calls), with its finish reason and the
/// usage.
pub(crate) fn as_chunk(completion: &ChatCompletion) -> ChatCompletionChunk {
    let delta = |m: &Message| Delta {
        role: Some(m.role.clone()),
        content: m.text().map(str::to_owned),
        refusal: m.refusal.clone(),
        tool_calls: m.tool_calls.as_ref().map(|calls| {
            calls
                .iter()
                .zip(0..)
                .map(|(call, index)| ToolCallDelta {
                    index,
                    id: Some(call.id.clone()),
                    kind: Some(call.kind.clone()),
                    function: Some(FunctionCallDelta {
                        name: Some(call.function.name.clone()),
                        arguments: Some(call.function.arguments.clone()),
                        extra: serde_json::Map::new(),
                    }),
                    extra: serde_json::Map::new(),
                })
                .collect()
        }),
        extra: serde_json::Map::new(),
    };
    ChatCompletionChunk {
        id: completion.id.clone(),
        object: "chat.completion.chunk".to_owned(),
        created: completion.created,
        model: completion.model.clone(),
        choices: completion
            .choices
            .iter()
            .map(|c| ChunkChoice {
                index: c.index,
                delta: delta(&c.message),
                finish_reason: c.finish_reason.clone(),
                logprobs: None,
                extra: serde_json::Map::new(),
            })
            .collect(),
        usage: completion.usage.clone(),
        system_fingerprint: completion.system_fingerprint.clone(),
        extra: serde_json::Map::new(),
    }
}

/// A streamed plain-text answer as the completion the cache keeps.
pub(crate) fn streamed(
    model: &str,
    text: String,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
) -> ChatCompletion {
    ChatCompletion {
        object: "chat.completion".to_owned(),
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: Message::assistant(text),
            finish_reason,
            logprobs: None,
            extra: serde_json::Map::new(),
        }],
        usage,
        ..ChatCompletion::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_replays_as_one_chunk_with_every_part_of_each_choice() {
        let completion: ChatCompletion = serde_json::from_value(serde_json::json!({
            "id": "c1", "model": "m",
            "choices": [
                {"index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": "calling",
                    "tool_calls": [{"id": "t1", "type": "function",
                                    "function": {"name": "f", "arguments": "{}"}}]}},
                {"index": 1, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": null, "refusal": "no"}}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
        }))
        .unwrap();
        let chunk = serde_json::to_value(as_chunk(&completion)).unwrap();
        assert_eq!(
            chunk,
            serde_json::json!({
                "id": "c1", "object": "chat.completion.chunk", "model": "m",
                "choices": [
                    {"index": 0, "finish_reason": "tool_calls", "delta": {
                        "role": "assistant", "content": "calling",
                        "tool_calls": [{"index": 0, "id": "t1", "type": "function",
                                        "function": {"name": "f", "arguments": "{}"}}]}},
                    {"index": 1, "finish_reason": "stop",
                     "delta": {"role": "assistant", "refusal": "no"}}
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
            })
        );
    }
}
