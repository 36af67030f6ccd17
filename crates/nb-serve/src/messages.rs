//! Anthropic's Messages API as a front (`POST /v1/messages`), so the official Anthropic
//! SDKs get the same failover, to any protocol behind the sidecar. A Messages request is
//! read as the chat request it means ([`to_chat`]); the answer goes back as a Messages
//! response ([`to_message`]) or as Messages stream events ([`MessagesEvents`]), and errors
//! in Anthropic's shape ([`error_body`]).
//!
//! What the front does with each request field:
//! - `system` (a string or text blocks) becomes the system message;
//! - text and image blocks (base64 or URL sources) become content parts; an assistant's
//!   `tool_use` blocks its tool calls, a user's `tool_result` blocks tool messages (before
//!   the rest of that turn), so a tool loop survives a failover to any protocol;
//! - `max_tokens` (required, as Anthropic requires it), `temperature`, `top_p`,
//!   `stop_sequences`, `metadata.user_id`, `tools` and `tool_choice`
//!   (`disable_parallel_tool_use` included) map one to one;
//! - `top_k` and `service_tier` are dropped (a sampling hint and a billing tier with no
//!   common meaning across providers); `cache_control` markers are dropped (prompt caching
//!   is not carried across protocols); `thinking` blocks of earlier assistant turns are
//!   dropped, and `thinking: {type: "disabled"}` is nothing to carry;
//! - extended thinking (`thinking: {type: "enabled"}`), document blocks, server tools (a
//!   tool with a `type`) and any other top-level field are a 400 naming it: this front
//!   cannot carry them to every protocol behind it (a signed thinking block, for one,
//!   means something only to the model that wrote it), and an unknown field passed on
//!   would make every target that does not know it refuse the call.

use bytes::Bytes;
use nb_client::ChatRequest;
use nb_transport::{ChatCompletion, ChatCompletionChunk, FinishReason};
use serde_json::{Map, Value, json};

/// Why a Messages request could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestError {
    /// The field at fault, when one is.
    pub(crate) param: Option<&'static str>,
    pub(crate) message: String,
}

fn invalid(param: &'static str, message: impl Into<String>) -> RequestError {
    RequestError {
        param: Some(param),
        message: message.into(),
    }
}

/// The chat request a Messages request body means.
pub(crate) fn to_chat(body: &[u8]) -> Result<ChatRequest, RequestError> {
    let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(body) else {
        return Err(RequestError {
            param: None,
            message: "The request body is not a JSON object.".into(),
        });
    };
    let mut chat = Map::new();
    let mut messages = Vec::new();
    match request.remove("system") {
        None | Some(Value::Null) => {}
        Some(system) => {
            messages.push(json!({ "role": "system", "content": text_of(&system, "system")? }))
        }
    }
    let Some(Value::Array(turns)) = request.remove("messages") else {
        return Err(invalid(
            "messages",
            "messages: Field required (a list of turns).",
        ));
    };
    for turn in &turns {
        read_turn(turn, &mut messages)?;
    }
    chat.insert("messages".into(), Value::Array(messages));
    match request.remove("max_tokens") {
        Some(max @ Value::Number(_)) => {
            chat.insert("max_tokens".into(), max);
        }
        _ => {
            return Err(invalid(
                "max_tokens",
                "max_tokens: Field required (a number).",
            ));
        }
    }
    if let Some(stop) = request.remove("stop_sequences") {
        chat.insert("stop".into(), stop);
    }
    if let Some(user) = request
        .remove("metadata")
        .and_then(|m| m.get("user_id").cloned())
    {
        chat.insert("user".into(), user);
    }
    if let Some(tools) = request.remove("tools") {
        chat.insert("tools".into(), read_tools(&tools)?);
    }
    if let Some(choice) = request.remove("tool_choice") {
        read_tool_choice(&choice, &mut chat)?;
    }
    if request.get("stream") == Some(&Value::Bool(true)) {
        // The usage closes the stream's `message_delta`.
        chat.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    match request.remove("thinking") {
        None | Some(Value::Null) => {}
        Some(t) if t.get("type").and_then(Value::as_str) == Some("disabled") => {}
        Some(_) => {
            return Err(invalid(
                "thinking",
                "thinking: extended thinking is not carried through this sidecar (its signed \
                 blocks mean something only to the model that wrote them); leave it out.",
            ));
        }
    }
    for dropped in ["top_k", "service_tier"] {
        request.remove(dropped);
    }
    // `model`, `stream`, `temperature` and `top_p` mean the same in both shapes.
    for (key, value) in request {
        if !matches!(key.as_str(), "model" | "stream" | "temperature" | "top_p") {
            return Err(RequestError {
                param: None,
                message: format!("`{key}` is not supported by this sidecar's Messages API."),
            });
        }
        chat.insert(key, value);
    }
    serde_json::from_value(Value::Object(chat)).map_err(|e| RequestError {
        param: None,
        message: format!("The request is not a valid Messages request: {e}"),
    })
}

/// The text of a `system` value or a `tool_result` content: a string, or text blocks.
fn text_of(value: &Value, param: &'static str) -> Result<String, RequestError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut text = Vec::new();
            for b in blocks {
                match (b.get("type").and_then(Value::as_str), b.get("text")) {
                    (Some("text"), Some(Value::String(t))) => text.push(t.as_str()),
                    _ => {
                        return Err(invalid(
                            param,
                            format!("{param}: only text blocks are supported here."),
                        ));
                    }
                }
            }
            Ok(text.join("\n"))
        }
        _ => Err(invalid(
            param,
            format!("{param}: a string or a list of text blocks."),
        )),
    }
}

fn read_turn(turn: &Value, messages: &mut Vec<Value>) -> Result<(), RequestError> {
    let role = match turn.get("role").and_then(Value::as_str) {
        Some(role @ ("user" | "assistant")) => role,
        _ => return Err(invalid("messages", "messages[].role: user or assistant.")),
    };
    let blocks = match turn.get("content") {
        Some(Value::String(text)) => {
            messages.push(json!({ "role": role, "content": text }));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks,
        _ => {
            return Err(invalid(
                "messages",
                "messages[].content: a string or a list of blocks.",
            ));
        }
    };
    let mut parts = Vec::new();
    let mut calls = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => parts.push(json!({
                "type": "text",
                "text": block.get("text").and_then(Value::as_str).unwrap_or_default(),
            })),
            Some("image") => parts.push(json!({
                "type": "image_url",
                "image_url": { "url": image_url(block.get("source"))? },
            })),
            Some("tool_use") if role == "assistant" => calls.push(json!({
                "id": block.get("id").and_then(Value::as_str).unwrap_or_default(),
                "type": "function",
                "function": {
                    "name": block.get("name").and_then(Value::as_str).unwrap_or_default(),
                    "arguments": block.get("input").map_or_else(|| "{}".to_owned(), Value::to_string),
                },
            })),
            Some("tool_result") if role == "user" => {
                let content = match block.get("content") {
                    None | Some(Value::Null) => String::new(),
                    Some(content) => text_of(content, "messages")?,
                };
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id").and_then(Value::as_str).unwrap_or_default(),
                    "content": content,
                }));
            }
            Some("thinking" | "redacted_thinking") if role == "assistant" => {}
            other => {
                return Err(invalid(
                    "messages",
                    format!(
                        "messages[].content: a `{}` block in a {role} turn is not supported by this sidecar.",
                        other.unwrap_or("(untyped)")
                    ),
                ));
            }
        }
    }
    if parts.is_empty() && calls.is_empty() {
        return Ok(());
    }
    let mut message = Map::new();
    message.insert("role".into(), json!(role));
    let only_text = parts.iter().all(|p| p["type"] == "text");
    let content = if only_text {
        let text: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        (!text.is_empty()).then(|| json!(text.concat()))
    } else {
        Some(Value::Array(parts))
    };
    message.insert("content".into(), content.unwrap_or(Value::Null));
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    messages.push(Value::Object(message));
    Ok(())
}

/// An image block's source as an image URL (a base64 source as a `data:` URI).
fn image_url(source: Option<&Value>) -> Result<String, RequestError> {
    let source = source.unwrap_or(&Value::Null);
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => Ok(format!(
            "data:{};base64,{}",
            source
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or("image/png"),
            source
                .get("data")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )),
        Some("url") => Ok(source
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()),
        _ => Err(invalid(
            "messages",
            "messages[].content: an image source is base64 or url.",
        )),
    }
}

fn read_tools(tools: &Value) -> Result<Value, RequestError> {
    let Value::Array(tools) = tools else {
        return Err(invalid("tools", "tools: a list of tools."));
    };
    tools
        .iter()
        .map(|tool| {
            if tool.get("type").is_some_and(|t| t != "custom") {
                return Err(invalid(
                    "tools",
                    "tools: server tools (a tool with a `type`) are not supported by this sidecar.",
                ));
            }
            let mut function = Map::new();
            function.insert(
                "name".into(),
                tool.get("name").cloned().unwrap_or(json!("")),
            );
            if let Some(description) = tool.get("description") {
                function.insert("description".into(), description.clone());
            }
            if let Some(schema) = tool.get("input_schema") {
                function.insert("parameters".into(), schema.clone());
            }
            Ok(json!({ "type": "function", "function": function }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn read_tool_choice(choice: &Value, chat: &mut Map<String, Value>) -> Result<(), RequestError> {
    let mapped = match choice.get("type").and_then(Value::as_str) {
        Some("auto") => json!("auto"),
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => json!({
            "type": "function",
            "function": { "name": choice.get("name").and_then(Value::as_str).unwrap_or_default() },
        }),
        _ => {
            return Err(invalid(
                "tool_choice",
                "tool_choice: auto, any, tool or none.",
            ));
        }
    };
    chat.insert("tool_choice".into(), mapped);
    if choice.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
        chat.insert("parallel_tool_calls".into(), json!(false));
    }
    Ok(())
}

/// Anthropic's `stop_reason` for a finish reason.
fn stop_reason(finish: Option<&FinishReason>) -> &'static str {
    match finish {
        Some(FinishReason::Length) => "max_tokens",
        Some(FinishReason::ToolCalls | FinishReason::FunctionCall) => "tool_use",
        Some(FinishReason::ContentFilter) => "refusal",
        _ => "end_turn",
    }
}

/// A message id: the upstream's when it is one, else one made from the upstream's id.
fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{id}")
    }
}

/// A completion as a Messages response; `model` names it when the upstream did not.
pub(crate) fn to_message(completion: &ChatCompletion, model: &str) -> Value {
    let choice = completion.choices.first();
    let mut content = Vec::new();
    if let Some(text) = completion.text().filter(|t| !t.is_empty()) {
        content.push(json!({ "type": "text", "text": text }));
    }
    for call in choice
        .and_then(|c| c.message.tool_calls.as_deref())
        .unwrap_or_default()
    {
        content.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": tool_input(&call.function.arguments),
        }));
    }
    let usage = completion.usage.as_ref();
    json!({
        "id": message_id(&completion.id),
        "type": "message",
        "role": "assistant",
        "model": if completion.model.is_empty() { model } else { &completion.model },
        "content": content,
        "stop_reason": stop_reason(completion.finish_reason()),
        "stop_sequence": null,
        "usage": {
            "input_tokens": usage.map_or(0, |u| u.prompt_tokens),
            "output_tokens": usage.map_or(0, |u| u.completion_tokens),
        },
    })
}

/// A tool call's arguments as the `input` object Anthropic's clients read (an empty object
/// when the model sent none or broken JSON).
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({}),
    }
}

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// Which content block is open in a stream being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    /// A tool call: its index in the OpenAI chunks.
    Tool(u32),
}

/// Writes a stream's chunks as Messages events: `message_start`, then a content block per
/// text run or tool call (`content_block_start`, `content_block_delta`s,
/// `content_block_stop`), then `message_delta` with the stop reason and usage, and
/// `message_stop`.
#[derive(Debug, Default)]
pub(crate) struct MessagesEvents {
    started: bool,
    /// The open block and its index.
    open: Option<(Open, u32)>,
    next_index: u32,
    finish: Option<FinishReason>,
    input_tokens: u64,
    output_tokens: u64,
}

impl MessagesEvents {
    fn start(&mut self, out: &mut String, id: &str, model: &str) {
        if self.started {
            return;
        }
        self.started = true;
        out.push_str(&event(
            "message_start",
            &json!({ "type": "message_start", "message": {
                "id": message_id(id), "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": { "input_tokens": self.input_tokens, "output_tokens": 0 },
            }}),
        ));
    }

    fn close(&mut self, out: &mut String) {
        if let Some((_, index)) = self.open.take() {
            out.push_str(&event(
                "content_block_stop",
                &json!({ "type": "content_block_stop", "index": index }),
            ));
        }
    }

    fn open(&mut self, out: &mut String, kind: Open, block: Value) -> u32 {
        if let Some((open, index)) = self.open
            && open == kind
        {
            return index;
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((kind, index));
        out.push_str(&event(
            "content_block_start",
            &json!({ "type": "content_block_start", "index": index, "content_block": block }),
        ));
        index
    }

    /// The events for one chunk (possibly none); `model` names the answer when the chunk
    /// does not.
    pub(crate) fn chunk(&mut self, chunk: &ChatCompletionChunk, model: &str) -> String {
        let mut out = String::new();
        if let Some(usage) = &chunk.usage {
            self.input_tokens = usage.prompt_tokens;
            self.output_tokens = usage.completion_tokens;
        }
        let Some(choice) = chunk.choices.first() else {
            return out;
        };
        let model = if chunk.model.is_empty() {
            model
        } else {
            &chunk.model
        };
        self.start(&mut out, &chunk.id, model);
        if let Some(text) = choice.delta.content.as_deref().filter(|t| !t.is_empty()) {
            let index = self.open(&mut out, Open::Text, json!({ "type": "text", "text": "" }));
            out.push_str(&event(
                "content_block_delta",
                &json!({ "type": "content_block_delta", "index": index,
                         "delta": { "type": "text_delta", "text": text } }),
            ));
        }
        for call in choice.delta.tool_calls.as_deref().unwrap_or_default() {
            let function = call.function.as_ref();
            let block = json!({
                "type": "tool_use",
                "id": call.id.as_deref().unwrap_or_default(),
                "name": function.and_then(|f| f.name.as_deref()).unwrap_or_default(),
                "input": {},
            });
            let index = self.open(&mut out, Open::Tool(call.index), block);
            if let Some(arguments) = function
                .and_then(|f| f.arguments.as_deref())
                .filter(|a| !a.is_empty())
            {
                out.push_str(&event(
                    "content_block_delta",
                    &json!({ "type": "content_block_delta", "index": index,
                             "delta": { "type": "input_json_delta", "partial_json": arguments } }),
                ));
            }
        }
        if let Some(finish) = &choice.finish_reason {
            self.finish = Some(finish.clone());
        }
        out
    }

    /// The events that end the message.
    pub(crate) fn finish(&mut self, id: &str, model: &str) -> String {
        let mut out = String::new();
        self.start(&mut out, id, model);
        self.close(&mut out);
        out.push_str(&event(
            "message_delta",
            &json!({ "type": "message_delta",
                     "delta": { "stop_reason": stop_reason(self.finish.as_ref()), "stop_sequence": null },
                     "usage": { "input_tokens": self.input_tokens, "output_tokens": self.output_tokens } }),
        ));
        out.push_str(&event("message_stop", &json!({ "type": "message_stop" })));
        out
    }
}

/// Anthropic's error `type` for an HTTP status.
pub(crate) fn error_type(status: u16) -> &'static str {
    match status {
        400 | 405 | 408 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    }
}

/// An OpenAI-shaped error body (`{"error": {"message", ...}}`) in Anthropic's shape,
/// `{"type": "error", "error": {"type", "message"}}`, keeping what NeuralBridge adds
/// (`error.neuralbridge`, the code as `error.code`).
pub(crate) fn error_body(status: u16, openai: &[u8]) -> Vec<u8> {
    let parsed: Value = serde_json::from_slice(openai).unwrap_or(Value::Null);
    let fields = &parsed["error"];
    let mut error = Map::new();
    error.insert("type".into(), json!(error_type(status)));
    error.insert(
        "message".into(),
        fields
            .get("message")
            .cloned()
            .unwrap_or_else(|| json!("The request failed.")),
    );
    for key in ["code", "param", "neuralbridge"] {
        if let Some(value) = fields.get(key).filter(|v| !v.is_null()) {
            error.insert(key.into(), value.clone());
        }
    }
    json!({ "type": "error", "error": error })
        .to_string()
        .into_bytes()
}

/// An in-band error event, as Anthropic sends one mid-stream.
pub(crate) fn stream_error(kind: &str, message: &str) -> Bytes {
    Bytes::from(event(
        "error",
        &json!({ "type": "error", "error": { "type": kind, "message": message } }),
    ))
}

#[cfg(test)]
mod tests;
