//! Anthropic's Messages API (`POST /v1/messages`), translated to and from the OpenAI shapes
//! of this crate, without I/O: a [`ChatCompletionRequest`] becomes a Messages request
//! ([`to_messages_request`]), a Messages response becomes a [`ChatCompletion`]
//! ([`from_messages_response`]), and a Messages stream's events become
//! [`ChatCompletionChunk`]s ([`MessagesStream`]).
//!
//! What the translation does with each field:
//! - system and developer messages become the top-level `system` text, in order;
//! - user and assistant text and images become content blocks (an image `data:` URI becomes
//!   a base64 source, any other URL a URL source); an assistant's tool calls become
//!   `tool_use` blocks, a `tool` message a `tool_result` block of a user turn;
//! - a last assistant message is a prefill: Anthropic continues it natively;
//! - `max_completion_tokens` (or `max_tokens`) becomes the required `max_tokens`,
//!   [`DEFAULT_MAX_TOKENS`] when neither is given; `stop` becomes `stop_sequences`; `user`
//!   becomes `metadata.user_id`; tools and `tool_choice` map one to one (`required` is `any`,
//!   `parallel_tool_calls: false` is `disable_parallel_tool_use`);
//! - `presence_penalty`, `frequency_penalty` and `seed` are dropped: sampling hints with no
//!   equivalent, which do not change what a correct answer is;
//! - `n` above 1, `logprobs`, `response_format` other than text, audio input, and the
//!   OpenAI-only options in [`OPENAI_ONLY`] are a [`TranslateError`]: the caller relies on
//!   them, and Anthropic cannot honour them;
//! - any other field the request carries unmodelled (`thinking`, `top_k`, `metadata`,
//!   `service_tier`, ...) passes through untouched, for Anthropic to use.

use serde_json::{Map, Value, json};

pub use super::translate::TranslateError;
use super::translate::unsupported;
use super::*;

/// The `anthropic-version` header the translation is written against.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The `max_tokens` sent when the request sets no limit (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Unmodelled OpenAI request options Anthropic has no equivalent of.
pub const OPENAI_ONLY: [&str; 7] = [
    "logit_bias",
    "modalities",
    "audio",
    "prediction",
    "store",
    "web_search_options",
    "functions",
];

/// The Messages request body for `req`.
pub fn to_messages_request(req: &ChatCompletionRequest) -> Result<Value, TranslateError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(unsupported("n", "send one request per answer"));
    }
    if req.logprobs == Some(true) || req.top_logprobs.is_some() {
        return Err(unsupported(
            "logprobs",
            "Anthropic returns no log probabilities",
        ));
    }
    if let Some(format) = &req.response_format
        && format.kind != "text"
    {
        return Err(unsupported(
            "response_format",
            "describe the JSON in the prompt, or call a tool whose input schema it is",
        ));
    }
    if let Some(key) = OPENAI_ONLY.iter().find(|k| req.extra.contains_key(**k)) {
        return Err(unsupported(key, "an OpenAI-only option"));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for message in &req.messages {
        match message.role {
            Role::System | Role::Developer => system.push(text_of(message, "system")?),
            Role::Tool => messages.push(json!({
                "role": "user",
                "content": [{
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id.clone().unwrap_or_default(),
                    "content": text_of(message, "tool")?,
                }],
            })),
            Role::User | Role::Assistant => messages.push(turn(message)?),
            ref other => {
                return Err(unsupported(
                    &format!("messages[].role = {other}"),
                    "use tool messages for tool results",
                ));
            }
        }
    }
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages));
    let max = req
        .max_completion_tokens
        .or(req.max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    body.insert("max_tokens".into(), json!(max));
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(stop) = &req.stop {
        let sequences = match stop {
            Stop::One(s) => vec![s.clone()],
            Stop::Many(v) => v.clone(),
        };
        body.insert("stop_sequences".into(), json!(sequences));
    }
    if req.stream == Some(true) {
        body.insert("stream".into(), json!(true));
    }
    if let Some(user) = &req.user {
        body.insert("metadata".into(), json!({ "user_id": user }));
    }
    if let Some(tools) = &req.tools {
        let tools: Vec<Value> = tools
            .iter()
            .filter_map(|t| t.function.as_ref())
            .map(|f| {
                let mut tool = Map::new();
                tool.insert("name".into(), json!(f.name));
                if let Some(d) = &f.description {
                    tool.insert("description".into(), json!(d));
                }
                let schema = f
                    .parameters
                    .clone()
                    .unwrap_or_else(|| json!({ "type": "object" }));
                tool.insert("input_schema".into(), schema);
                Value::Object(tool)
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    let mut choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Mode(mode)) => match mode.as_str() {
            "auto" => Some(json!({ "type": "auto" })),
            "none" => Some(json!({ "type": "none" })),
            "required" => Some(json!({ "type": "any" })),
            _ => {
                return Err(unsupported(
                    "tool_choice",
                    "use auto, none, required or a name",
                ));
            }
        },
        Some(ToolChoice::Named(named)) => {
            Some(json!({ "type": "tool", "name": named.function.name }))
        }
        Some(ToolChoice::Other(_)) => {
            return Err(unsupported(
                "tool_choice",
                "use auto, none, required or a name",
            ));
        }
    };
    if req.parallel_tool_calls == Some(false) {
        let c = choice.get_or_insert_with(|| json!({ "type": "auto" }));
        c["disable_parallel_tool_use"] = json!(true);
    }
    if let Some(c) = choice {
        body.insert("tool_choice".into(), c);
    }
    for (key, value) in &req.extra {
        body.entry(key.clone()).or_insert_with(|| value.clone());
    }
    Ok(Value::Object(body))
}

/// A message's plain text (its text parts joined), for a place that takes only text.
fn text_of(message: &Message, place: &'static str) -> Result<String, TranslateError> {
    match &message.content {
        None => Ok(String::new()),
        Some(Content::Text(t)) => Ok(t.clone()),
        Some(Content::Parts(parts)) => parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text, .. } => Ok(text.as_str()),
                other => Err(unsupported(
                    &format!("{place} content of type {}", other.kind()),
                    "only text can go there",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|texts| texts.concat()),
    }
}

/// A user or assistant turn with its content blocks.
fn turn(message: &Message) -> Result<Value, TranslateError> {
    let mut blocks = Vec::new();
    match &message.content {
        None => {}
        Some(Content::Text(t)) => blocks.push(json!({ "type": "text", "text": t })),
        Some(Content::Parts(parts)) => {
            for part in parts {
                blocks.push(block(part)?);
            }
        }
    }
    for call in message.tool_calls.iter().flatten() {
        let input: Value = serde_json::from_str(&call.function.arguments).map_err(|e| {
            TranslateError::Invalid {
                field: "tool_calls[].function.arguments",
                reason: format!("not JSON: {e}"),
            }
        })?;
        blocks.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": input,
        }));
    }
    let role = if message.role == Role::Assistant {
        "assistant"
    } else {
        "user"
    };
    Ok(json!({ "role": role, "content": blocks }))
}

/// One content part as a content block.
fn block(part: &ContentPart) -> Result<Value, TranslateError> {
    match part {
        ContentPart::Text { text, extra } => {
            let mut b = json!({ "type": "text", "text": text });
            // `cache_control` and other block options pass through.
            for (k, v) in extra {
                b[k] = v.clone();
            }
            Ok(b)
        }
        ContentPart::ImageUrl { image_url, .. } => {
            let url = &image_url.url;
            match url
                .strip_prefix("data:")
                .and_then(|rest| rest.split_once(";base64,"))
            {
                Some((media_type, data)) => Ok(json!({
                    "type": "image",
                    "source": { "type": "base64", "media_type": media_type, "data": data },
                })),
                None => Ok(json!({ "type": "image", "source": { "type": "url", "url": url } })),
            }
        }
        other => Err(unsupported(
            &format!("content of type {}", other.kind()),
            "Anthropic takes text and images here",
        )),
    }
}

/// The finish reason of an Anthropic `stop_reason`.
fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Usage from Anthropic's `usage`: input tokens (cached ones included) and output tokens.
fn usage(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let prompt =
        n("input_tokens") + n("cache_creation_input_tokens") + n("cache_read_input_tokens");
    let completion = n("output_tokens");
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        extra: Extra::new(),
    }
}

/// The completion of a Messages response body: its text blocks joined as the content,
/// its `tool_use` blocks as tool calls, `thinking` kept as `reasoning_content`.
pub fn from_messages_response(body: &[u8]) -> Result<ChatCompletion, serde_json::Error> {
    let v: Value = serde_json::from_slice(body)?;
    let mut text = String::new();
    let mut thinking = String::new();
    let mut calls = Vec::new();
    for b in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("thinking") => {
                thinking.push_str(b.get("thinking").and_then(Value::as_str).unwrap_or(""));
            }
            Some("tool_use") => calls.push(ToolCall {
                id: str_of(b, "id"),
                kind: function_kind(),
                function: FunctionCall {
                    name: str_of(b, "name"),
                    arguments: b
                        .get("input")
                        .map_or_else(|| "{}".to_owned(), Value::to_string),
                    extra: Extra::new(),
                },
                extra: Extra::new(),
            }),
            _ => {}
        }
    }
    let mut message = Message::assistant(text);
    if !calls.is_empty() {
        message.tool_calls = Some(calls);
    }
    if !thinking.is_empty() {
        message
            .extra
            .insert("reasoning_content".into(), Value::String(thinking));
    }
    Ok(ChatCompletion {
        id: str_of(&v, "id"),
        object: "chat.completion".into(),
        created: None,
        model: str_of(&v, "model"),
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: v
                .get("stop_reason")
                .and_then(Value::as_str)
                .map(finish_reason),
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: v.get("usage").map(usage),
        system_fingerprint: None,
        service_tier: None,
        extra: Extra::new(),
    })
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// What one event of a Messages stream amounts to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamStep {
    /// A chunk for the caller.
    Chunk(ChatCompletionChunk),
    /// Nothing to pass on (`ping`, a block's start or stop).
    Skip,
    /// `message_stop`: the answer is complete.
    Done,
    /// An in-band `error` event (`overloaded_error` mid-stream): its data, as sent.
    Error(String),
}

/// Turns the events of one Messages stream into OpenAI chunks, in order.
///
/// ```
/// use nb_transport::wire::anthropic::{MessagesStream, StreamStep};
///
/// let mut s = MessagesStream::default();
/// s.event("message_start", r#"{"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4","usage":{"input_tokens":9,"output_tokens":1}}}"#).unwrap();
/// let StreamStep::Chunk(c) = s.event("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#).unwrap() else { panic!() };
/// assert_eq!(c.content(), Some("Hi"));
/// assert_eq!(c.model, "claude-sonnet-4");
/// ```
#[derive(Debug, Clone, Default)]
pub struct MessagesStream {
    id: String,
    model: String,
    input_tokens: Usage,
    /// Content-block index → tool-call index, for `tool_use` blocks.
    tools: Vec<(u64, u32)>,
}

impl MessagesStream {
    /// One event: its name (the SSE `event:` field) and its data.
    pub fn event(&mut self, name: &str, data: &str) -> Result<StreamStep, serde_json::Error> {
        if name == "ping" {
            return Ok(StreamStep::Skip);
        }
        if name == "error" {
            return Ok(StreamStep::Error(data.to_owned()));
        }
        let v: Value = serde_json::from_str(data)?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(name);
        let delta = match kind {
            "message_start" => {
                let m = v.get("message").cloned().unwrap_or(Value::Null);
                self.id = str_of(&m, "id");
                self.model = str_of(&m, "model");
                self.input_tokens = m.get("usage").map(usage).unwrap_or_default();
                Delta {
                    role: Some(Role::Assistant),
                    ..Delta::default()
                }
            }
            "content_block_start" => {
                let b = v.get("content_block").cloned().unwrap_or(Value::Null);
                if b.get("type").and_then(Value::as_str) != Some("tool_use") {
                    return Ok(StreamStep::Skip);
                }
                let block = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let index = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
                self.tools.push((block, index));
                Delta {
                    tool_calls: Some(vec![ToolCallDelta {
                        index,
                        id: Some(str_of(&b, "id")),
                        kind: Some(function_kind()),
                        function: Some(FunctionCallDelta {
                            name: Some(str_of(&b, "name")),
                            arguments: Some(String::new()),
                            extra: Extra::new(),
                        }),
                        extra: Extra::new(),
                    }]),
                    ..Delta::default()
                }
            }
            "content_block_delta" => {
                let d = v.get("delta").cloned().unwrap_or(Value::Null);
                match d.get("type").and_then(Value::as_str) {
                    Some("text_delta") => Delta {
                        content: Some(str_of(&d, "text")),
                        ..Delta::default()
                    },
                    Some("thinking_delta") => {
                        let mut delta = Delta::default();
                        delta
                            .extra
                            .insert("reasoning_content".into(), json!(str_of(&d, "thinking")));
                        delta
                    }
                    Some("input_json_delta") => {
                        let block = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                        let Some(&(_, index)) = self.tools.iter().find(|(b, _)| *b == block) else {
                            return Ok(StreamStep::Skip);
                        };
                        Delta {
                            tool_calls: Some(vec![ToolCallDelta {
                                index,
                                function: Some(FunctionCallDelta {
                                    arguments: Some(str_of(&d, "partial_json")),
                                    ..FunctionCallDelta::default()
                                }),
                                ..ToolCallDelta::default()
                            }]),
                            ..Delta::default()
                        }
                    }
                    _ => return Ok(StreamStep::Skip),
                }
            }
            "message_delta" => {
                let stop = v
                    .pointer("/delta/stop_reason")
                    .and_then(Value::as_str)
                    .map(finish_reason);
                let mut chunk = self.chunk(Delta::default());
                if let Some(choice) = chunk.choices.first_mut() {
                    choice.finish_reason = stop;
                }
                if let Some(u) = v.get("usage") {
                    let out = usage(u);
                    let prompt = self.input_tokens.prompt_tokens;
                    chunk.usage = Some(Usage {
                        prompt_tokens: prompt,
                        completion_tokens: out.completion_tokens,
                        total_tokens: prompt + out.completion_tokens,
                        extra: Extra::new(),
                    });
                }
                return Ok(StreamStep::Chunk(chunk));
            }
            "message_stop" => return Ok(StreamStep::Done),
            "error" => return Ok(StreamStep::Error(data.to_owned())),
            _ => return Ok(StreamStep::Skip),
        };
        Ok(StreamStep::Chunk(self.chunk(delta)))
    }

    fn chunk(&self, delta: Delta) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: None,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: None,
                logprobs: None,
                extra: Extra::new(),
            }],
            usage: None,
            system_fingerprint: None,
            extra: Extra::new(),
        }
    }
}

#[cfg(test)]
mod tests;
