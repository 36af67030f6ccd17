//! Google's Gemini API (`models/{model}:generateContent`, and
//! `:streamGenerateContent?alt=sse` for streams), translated to and from the OpenAI shapes
//! of this crate, without I/O: a [`ChatCompletionRequest`] becomes a `GenerateContent`
//! request ([`to_generate_request`]; the model goes in the URL, not the body), a response
//! becomes a [`ChatCompletion`] ([`from_generate_response`]), and each event of a stream
//! (one response each) becomes a [`ChatCompletionChunk`] ([`chunk_from_event`]).
//!
//! What the translation does with each field:
//! - system and developer messages become `systemInstruction`; user turns stay `user`,
//!   assistant turns become `model`; an assistant's tool calls become `functionCall` parts,
//!   a `tool` message a `functionResponse` part (its function's name is the one of the
//!   call it answers; text that is not a JSON object is wrapped as `{"content": text}`);
//! - images and audio given as `data:` URIs become `inlineData`;
//! - `temperature`, `top_p`, the token limit, `stop`, `n`, `seed` and the two penalties go
//!   into `generationConfig`; a JSON `response_format` sets `responseMimeType` (and
//!   `responseJsonSchema` for a schema);
//! - tools become `functionDeclarations`; `tool_choice` becomes `functionCallingConfig`
//!   (`required` is `ANY`, a name `ANY` with that name allowed);
//! - `logprobs`, an image by URL and the OpenAI-only options of
//!   [`anthropic::OPENAI_ONLY`] are a [`TranslateError`];
//!   `user` and `parallel_tool_calls` are dropped (Gemini has neither, and neither changes
//!   what a correct answer is);
//! - any other field the request carries unmodelled (`safetySettings`, `cachedContent`,
//!   ...) passes through untouched;
//! - a safety block (a `SAFETY`, `PROHIBITED_CONTENT`, ... finish, or a prompt blocked
//!   before any candidate) comes back as the `content_filter` finish reason.

use serde_json::{Map, Value, json};

use super::translate::unsupported;
use super::*;

/// The `GenerateContent` request body for `req` (the model is in the URL).
pub fn to_generate_request(req: &ChatCompletionRequest) -> Result<Value, TranslateError> {
    if req.logprobs == Some(true) || req.top_logprobs.is_some() {
        return Err(unsupported(
            "logprobs",
            "this translation sends no logprobs request",
        ));
    }
    if let Some(key) = super::anthropic::OPENAI_ONLY
        .iter()
        .find(|k| req.extra.contains_key(**k))
    {
        return Err(unsupported(key, "an OpenAI-only option"));
    }
    let mut body = Map::new();
    let mut system = Vec::new();
    let mut contents = Vec::new();
    for message in &req.messages {
        match message.role {
            Role::System | Role::Developer => system.extend(parts(message)?),
            Role::User => contents.push(json!({ "role": "user", "parts": parts(message)? })),
            Role::Assistant => {
                let mut p = parts(message)?;
                for call in message.tool_calls.iter().flatten() {
                    let args: Value =
                        serde_json::from_str(&call.function.arguments).map_err(|e| {
                            TranslateError::Invalid {
                                field: "tool_calls[].function.arguments",
                                reason: format!("not JSON: {e}"),
                            }
                        })?;
                    p.push(json!({ "functionCall": { "name": call.function.name, "args": args } }));
                }
                contents.push(json!({ "role": "model", "parts": p }));
            }
            Role::Tool => {
                let id = message.tool_call_id.as_deref().unwrap_or("");
                let name = req
                    .messages
                    .iter()
                    .flat_map(|m| m.tool_calls.iter().flatten())
                    .find(|c| c.id == id)
                    .map_or(id, |c| c.function.name.as_str());
                let text = message.text().unwrap_or("");
                let response = match serde_json::from_str::<Value>(text) {
                    Ok(v @ Value::Object(_)) => v,
                    _ => json!({ "content": text }),
                };
                contents.push(json!({ "role": "user", "parts": [
                    { "functionResponse": { "name": name, "response": response } }
                ]}));
            }
            ref other => {
                return Err(unsupported(
                    &format!("messages[].role = {other}"),
                    "use tool messages for tool results",
                ));
            }
        }
    }
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    body.insert("contents".into(), Value::Array(contents));
    let mut config = Map::new();
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            config.insert(key.into(), v);
        }
    };
    set("temperature", req.temperature.map(|t| json!(t)));
    set("topP", req.top_p.map(|t| json!(t)));
    set(
        "maxOutputTokens",
        req.max_completion_tokens
            .or(req.max_tokens)
            .map(|t| json!(t)),
    );
    set("candidateCount", req.n.map(|n| json!(n)));
    set("seed", req.seed.map(|s| json!(s)));
    set("presencePenalty", req.presence_penalty.map(|p| json!(p)));
    set("frequencyPenalty", req.frequency_penalty.map(|p| json!(p)));
    set(
        "stopSequences",
        req.stop.as_ref().map(|s| match s {
            Stop::One(one) => json!([one]),
            Stop::Many(many) => json!(many),
        }),
    );
    if let Some(format) = &req.response_format {
        match format.kind.as_str() {
            "text" => {}
            "json_object" => set("responseMimeType", Some(json!("application/json"))),
            "json_schema" => {
                set("responseMimeType", Some(json!("application/json")));
                let schema = format.json_schema.as_ref().and_then(|s| s.schema.clone());
                set("responseJsonSchema", schema);
            }
            _ => {
                return Err(unsupported(
                    "response_format",
                    "use text, json_object or json_schema",
                ));
            }
        }
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    if let Some(tools) = &req.tools {
        let declarations: Vec<Value> = tools
            .iter()
            .filter_map(|t| t.function.as_ref())
            .map(|f| {
                let mut d = Map::new();
                d.insert("name".into(), json!(f.name));
                if let Some(desc) = &f.description {
                    d.insert("description".into(), json!(desc));
                }
                if let Some(p) = &f.parameters {
                    d.insert("parameters".into(), p.clone());
                }
                Value::Object(d)
            })
            .collect();
        body.insert(
            "tools".into(),
            json!([{ "functionDeclarations": declarations }]),
        );
    }
    let calling = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Mode(mode)) => match mode.as_str() {
            "auto" => Some(json!({ "mode": "AUTO" })),
            "none" => Some(json!({ "mode": "NONE" })),
            "required" => Some(json!({ "mode": "ANY" })),
            _ => {
                return Err(unsupported(
                    "tool_choice",
                    "use auto, none, required or a name",
                ));
            }
        },
        Some(ToolChoice::Named(named)) => Some(json!({
            "mode": "ANY", "allowedFunctionNames": [named.function.name]
        })),
        Some(ToolChoice::Other(_)) => {
            return Err(unsupported(
                "tool_choice",
                "use auto, none, required or a name",
            ));
        }
    };
    if let Some(c) = calling {
        body.insert("toolConfig".into(), json!({ "functionCallingConfig": c }));
    }
    for (key, value) in &req.extra {
        body.entry(key.clone()).or_insert_with(|| value.clone());
    }
    Ok(Value::Object(body))
}

/// A message's content as Gemini parts.
fn parts(message: &Message) -> Result<Vec<Value>, TranslateError> {
    match &message.content {
        None => Ok(Vec::new()),
        Some(Content::Text(t)) => Ok(vec![json!({ "text": t })]),
        Some(Content::Parts(parts)) => parts.iter().map(part).collect(),
    }
}

fn part(p: &ContentPart) -> Result<Value, TranslateError> {
    let inline =
        |mime: &str, data: &str| json!({ "inlineData": { "mimeType": mime, "data": data } });
    match p {
        ContentPart::Text { text, .. } => Ok(json!({ "text": text })),
        ContentPart::ImageUrl { image_url, .. } => match image_url
            .url
            .strip_prefix("data:")
            .and_then(|rest| rest.split_once(";base64,"))
        {
            Some((mime, data)) => Ok(inline(mime, data)),
            None => Err(unsupported(
                "image_url with a URL",
                "send the image as a data: URI",
            )),
        },
        ContentPart::InputAudio { input_audio, .. } => Ok(inline(
            &format!("audio/{}", input_audio.format),
            &input_audio.data,
        )),
        other => Err(unsupported(
            &format!("content of type {}", other.kind()),
            "Gemini takes text, images and audio here",
        )),
    }
}

/// The finish reason of a Gemini `finishReason`.
fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        other => FinishReason::Other(other.to_lowercase()),
    }
}

fn usage(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let prompt = n("promptTokenCount");
    let completion = n("candidatesTokenCount") + n("thoughtsTokenCount");
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: u
            .get("totalTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(prompt + completion),
        extra: Extra::new(),
    }
}

/// One candidate's text, thoughts and function calls, and its finish reason.
struct Candidate {
    text: String,
    thoughts: String,
    calls: Vec<(String, String)>,
    finish: Option<FinishReason>,
}

fn candidate(response: &Value) -> Candidate {
    let c = response.pointer("/candidates/0");
    let mut out = Candidate {
        text: String::new(),
        thoughts: String::new(),
        calls: Vec::new(),
        finish: c
            .and_then(|c| c.get("finishReason"))
            .and_then(Value::as_str)
            .map(finish_reason),
    };
    let parts = c
        .and_then(|c| c.pointer("/content/parts"))
        .and_then(Value::as_array);
    for p in parts.into_iter().flatten() {
        if let Some(t) = p.get("text").and_then(Value::as_str) {
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                out.thoughts.push_str(t);
            } else {
                out.text.push_str(t);
            }
        }
        if let Some(call) = p.get("functionCall") {
            let name = call.get("name").and_then(Value::as_str).unwrap_or("");
            let args = call
                .get("args")
                .map_or_else(|| "{}".to_owned(), Value::to_string);
            out.calls.push((name.to_owned(), args));
        }
    }
    if c.is_none() && response.pointer("/promptFeedback/blockReason").is_some() {
        // The prompt was blocked before any candidate.
        out.finish = Some(FinishReason::ContentFilter);
    }
    if !out.calls.is_empty() && out.finish == Some(FinishReason::Stop) {
        out.finish = Some(FinishReason::ToolCalls);
    }
    out
}

fn tool_call(index: usize, name: String, arguments: String) -> ToolCall {
    ToolCall {
        id: format!("call_{index}"),
        kind: function_kind(),
        function: FunctionCall {
            name,
            arguments,
            extra: Extra::new(),
        },
        extra: Extra::new(),
    }
}

/// The completion of a `GenerateContent` response body.
pub fn from_generate_response(body: &[u8]) -> Result<ChatCompletion, serde_json::Error> {
    let v: Value = serde_json::from_slice(body)?;
    let c = candidate(&v);
    let mut message = Message::assistant(c.text);
    if !c.calls.is_empty() {
        message.tool_calls = Some(
            c.calls
                .into_iter()
                .enumerate()
                .map(|(i, (name, args))| tool_call(i, name, args))
                .collect(),
        );
    }
    if !c.thoughts.is_empty() {
        message
            .extra
            .insert("reasoning_content".into(), Value::String(c.thoughts));
    }
    Ok(ChatCompletion {
        id: str_of(&v, "responseId"),
        object: "chat.completion".into(),
        created: None,
        model: str_of(&v, "modelVersion"),
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: c.finish,
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: v.get("usageMetadata").map(usage),
        system_fingerprint: None,
        service_tier: None,
        extra: Extra::new(),
    })
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// One event of a `streamGenerateContent?alt=sse` stream (a whole response) as a chunk:
/// its text, its function calls whole (`first_call` numbers them across the stream), its
/// finish reason, and its usage once it finishes.
pub fn chunk_from_event(
    data: &[u8],
    first_call: usize,
) -> Result<ChatCompletionChunk, serde_json::Error> {
    let v: Value = serde_json::from_slice(data)?;
    let c = candidate(&v);
    let mut delta = Delta {
        role: Some(Role::Assistant),
        ..Delta::default()
    };
    if !c.text.is_empty() {
        delta.content = Some(c.text);
    }
    if !c.thoughts.is_empty() {
        delta
            .extra
            .insert("reasoning_content".into(), Value::String(c.thoughts));
    }
    if !c.calls.is_empty() {
        delta.tool_calls = Some(
            c.calls
                .into_iter()
                .enumerate()
                .map(|(i, (name, args))| {
                    let index = first_call + i;
                    ToolCallDelta {
                        index: u32::try_from(index).unwrap_or(u32::MAX),
                        id: Some(format!("call_{index}")),
                        kind: Some(function_kind()),
                        function: Some(FunctionCallDelta {
                            name: Some(name),
                            arguments: Some(args),
                            extra: Extra::new(),
                        }),
                        extra: Extra::new(),
                    }
                })
                .collect(),
        );
    }
    let finished = c.finish.is_some();
    // An error object in a stream event is the provider's error.
    let mut extra = Extra::new();
    if let Some(error) = v.get("error") {
        extra.insert("error".into(), error.clone());
    }
    Ok(ChatCompletionChunk {
        id: str_of(&v, "responseId"),
        object: "chat.completion.chunk".into(),
        created: None,
        model: str_of(&v, "modelVersion"),
        choices: vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: c.finish,
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: v.get("usageMetadata").filter(|_| finished).map(usage),
        system_fingerprint: None,
        extra,
    })
}

#[cfg(test)]
mod tests;
