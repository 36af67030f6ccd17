//! OpenAI-compatible chat-completion wire types.
//!
//! Every object keeps the fields it does not model in an `extra` map
//! (`#[serde(flatten)]`), so a provider's extensions (`reasoning_content`,
//! `prompt_cache_hit_tokens`, `cache_control`, ...) survive a parse and a
//! re-serialize. Optional fields that are absent stay absent on output.
//! Response fields that some providers omit (`id`, `object`, `created`,
//! `model`, token counts) are parsed leniently with defaults. Floats go
//! through serde_json's default parser, which may move a value by one ulp.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use translate::TranslateError;

/// A JSON object holding fields a type does not model.
pub type Extra = Map<String, Value>;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The wire value.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from(v))
                    }
                }
                deserializer.deserialize_str(V)
            }
        }
    };
}

string_enum! {
    /// Who wrote a message.
    Role {
        /// Instructions from the application.
        System => "system",
        /// Instructions from the developer (OpenAI's newer name for system).
        Developer => "developer",
        /// The end user.
        User => "user",
        /// The model.
        Assistant => "assistant",
        /// The result of a tool call.
        Tool => "tool",
        /// The result of a legacy function call.
        Function => "function",
    }
}

string_enum! {
    /// Why the model stopped generating a choice.
    FinishReason {
        /// A natural stop or a stop sequence.
        Stop => "stop",
        /// The token limit was reached: the answer is truncated.
        Length => "length",
        /// The model called tools.
        ToolCalls => "tool_calls",
        /// Output withheld by a content filter.
        ContentFilter => "content_filter",
        /// The model called a legacy function.
        FunctionCall => "function_call",
    }
}

/// A message's content: plain text or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Multi-part content (text, images, audio, ...).
    Parts(Vec<ContentPart>),
}

impl Content {
    /// The text, when the content is plain text.
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::Parts(_) => None,
        }
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

/// One part of a multi-part message, tagged by `type` on the wire.
///
/// A part whose `type` is not modelled here (or whose known fields have an
/// unexpected shape) is kept whole as [`ContentPart::Other`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ContentPart {
    /// `{"type": "text", "text": ...}`
    Text {
        /// The text.
        text: String,
        /// Unmodelled fields (e.g. `cache_control`).
        extra: Extra,
    },
    /// `{"type": "image_url", "image_url": {"url": ..., "detail": ...}}`
    ImageUrl {
        /// The image (a URL or a `data:` URI).
        image_url: ImageUrl,
        /// Unmodelled fields.
        extra: Extra,
    },
    /// `{"type": "input_audio", "input_audio": {"data": ..., "format": ...}}`
    InputAudio {
        /// The audio.
        input_audio: InputAudio,
        /// Unmodelled fields.
        extra: Extra,
    },
    /// Any other part (e.g. `file`), kept verbatim including its `type`.
    Other(Extra),
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            extra: Extra::new(),
        }
    }

    /// An image part from a URL or `data:` URI.
    pub fn image_url(url: impl Into<String>) -> Self {
        Self::ImageUrl {
            image_url: ImageUrl {
                url: url.into(),
                detail: None,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }

    /// An audio part from base64 `data` in `format` (`wav`, `mp3`).
    pub fn input_audio(data: impl Into<String>, format: impl Into<String>) -> Self {
        Self::InputAudio {
            input_audio: InputAudio {
                data: data.into(),
                format: format.into(),
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }

    /// The wire `type` of this part.
    #[must_use]
    pub fn kind(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::ImageUrl { .. } => "image_url",
            Self::InputAudio { .. } => "input_audio",
            Self::Other(map) => map.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }
}

/// The image of an `image_url` part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// A URL or a `data:` URI.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The audio of an `input_audio` part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputAudio {
    /// Base64-encoded audio.
    pub data: String,
    /// `wav` or `mp3`.
    pub format: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn tagged<S: Serializer, T: Serialize + ?Sized>(
            serializer: S,
            kind: &str,
            key: &str,
            value: &T,
            extra: &Extra,
        ) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(None)?;
            map.serialize_entry("type", kind)?;
            map.serialize_entry(key, value)?;
            for (k, v) in extra.iter().filter(|(k, _)| *k != "type" && *k != key) {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
        match self {
            Self::Text { text, extra } => tagged(serializer, "text", "text", text, extra),
            Self::ImageUrl { image_url, extra } => {
                tagged(serializer, "image_url", "image_url", image_url, extra)
            }
            Self::InputAudio { input_audio, extra } => {
                tagged(serializer, "input_audio", "input_audio", input_audio, extra)
            }
            Self::Other(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Extra::deserialize(deserializer)?;
        let kind = match map.get("type").and_then(Value::as_str) {
            Some("text") => "text",
            Some("image_url") => "image_url",
            Some("input_audio") => "input_audio",
            _ => return Ok(Self::Other(map)),
        };
        match kind {
            "text" => {
                if let Some(Value::String(_)) = map.get("text") {
                    map.remove("type");
                    if let Some(Value::String(text)) = map.remove("text") {
                        return Ok(Self::Text { text, extra: map });
                    }
                }
                Ok(Self::Other(map))
            }
            "image_url" => Ok(typed_part(map, "image_url", |image_url, extra| {
                Self::ImageUrl { image_url, extra }
            })),
            "input_audio" => Ok(typed_part(map, "input_audio", |input_audio, extra| {
                Self::InputAudio { input_audio, extra }
            })),
            _ => Ok(Self::Other(map)),
        }
    }
}

/// Takes `key` out of a part and parses it as `T`, or keeps the whole part
/// as `Other` when it does not fit.
fn typed_part<T: for<'de> Deserialize<'de>>(
    mut map: Extra,
    key: &str,
    make: impl FnOnce(T, Extra) -> ContentPart,
) -> ContentPart {
    let Some(value) = map.remove(key) else {
        return ContentPart::Other(map);
    };
    match T::deserialize(&value) {
        Ok(inner) => {
            map.remove("type");
            make(inner, map)
        }
        Err(_) => {
            map.insert(key.to_owned(), value);
            ContentPart::Other(map)
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// The content; absent (or `null`) on an assistant message that only calls tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// An optional participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// A refusal written by the model instead of content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Unmodelled fields (e.g. `reasoning_content`, `audio`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Message {
    /// A message with `role` and text content.
    pub fn new(role: Role, content: impl Into<Content>) -> Self {
        Self {
            role,
            content: Some(content.into()),
            name: None,
            tool_calls: None,
            tool_call_id: None,
            refusal: None,
            extra: Extra::new(),
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, Content::Text(text.into()))
    }

    /// A developer message.
    pub fn developer(text: impl Into<String>) -> Self {
        Self::new(Role::Developer, Content::Text(text.into()))
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, Content::Text(text.into()))
    }

    /// A user message with multi-part content.
    #[must_use]
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        Self::new(Role::User, Content::Parts(parts))
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, Content::Text(text.into()))
    }

    /// A tool result answering `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(tool_call_id.into()),
            ..Self::new(Role::Tool, Content::Text(text.into()))
        }
    }

    /// The text content, when it is plain text.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.content.as_ref().and_then(Content::as_text)
    }
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed by the `tool` message that answers it.
    pub id: String,
    /// The tool type, `function`.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    /// The function called.
    pub function: FunctionCall,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

fn function_kind() -> String {
    "function".to_owned()
}

/// The function of a [`ToolCall`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function's name.
    pub name: String,
    /// The arguments, a JSON document as a string (possibly invalid).
    #[serde(default)]
    pub arguments: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool type, `function` unless a provider defines others.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    /// The function, for `function` tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDefinition>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Tool {
    /// A function tool with a JSON Schema for its parameters.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Self {
            kind: function_kind(),
            function: Some(FunctionDefinition {
                name: name.into(),
                description: Some(description.into()),
                parameters: Some(parameters),
                strict: None,
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// The function's name.
    pub name: String,
    /// What it does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON Schema for its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Whether the arguments must follow the schema exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which tool the model must (or may) call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolChoice {
    /// `"none"`, `"auto"` or `"required"`.
    Mode(String),
    /// `{"type": "function", "function": {"name": ...}}`
    Named(NamedToolChoice),
    /// Any other shape, kept verbatim.
    Other(Value),
}

impl ToolChoice {
    /// `"auto"`: the model decides.
    #[must_use]
    pub fn auto() -> Self {
        Self::Mode("auto".to_owned())
    }

    /// `"none"`: no tool calls.
    #[must_use]
    pub fn none() -> Self {
        Self::Mode("none".to_owned())
    }

    /// `"required"`: at least one tool call.
    #[must_use]
    pub fn required() -> Self {
        Self::Mode("required".to_owned())
    }

    /// Call this function.
    pub fn function(name: impl Into<String>) -> Self {
        Self::Named(NamedToolChoice {
            kind: function_kind(),
            function: FunctionName {
                name: name.into(),
                extra: Extra::new(),
            },
            extra: Extra::new(),
        })
    }
}

/// A [`ToolChoice`] naming one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedToolChoice {
    /// `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function to call.
    pub function: FunctionName,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A function named by a [`NamedToolChoice`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionName {
    /// The function's name.
    pub name: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The output format: `text`, `json_object` or `json_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFormat {
    /// `text`, `json_object` or `json_schema`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The schema, for `json_schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<JsonSchemaFormat>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponseFormat {
    /// Free text.
    #[must_use]
    pub fn text() -> Self {
        Self {
            kind: "text".to_owned(),
            json_schema: None,
            extra: Extra::new(),
        }
    }

    /// Any JSON object.
    #[must_use]
    pub fn json_object() -> Self {
        Self {
            kind: "json_object".to_owned(),
            json_schema: None,
            extra: Extra::new(),
        }
    }

    /// JSON following `schema`, strictly.
    pub fn json_schema(name: impl Into<String>, schema: Value) -> Self {
        Self {
            kind: "json_schema".to_owned(),
            json_schema: Some(JsonSchemaFormat {
                name: name.into(),
                description: None,
                schema: Some(schema),
                strict: Some(true),
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        }
    }
}

/// The schema of a `json_schema` [`ResponseFormat`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    /// The schema's name.
    pub name: String,
    /// What the output is, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Whether the output must follow the schema exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Stop sequences: one string or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// One sequence.
    One(String),
    /// Several sequences.
    Many(Vec<String>),
}

/// Options for a streamed response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with the token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A chat-completion request (`POST /chat/completions`).
///
/// ```
/// use nb_transport::ChatCompletionRequest;
///
/// let req = ChatCompletionRequest::new("gpt-4o-mini")
///     .system("Be brief.")
///     .user_message("Hello")
///     .temperature(0.2)
///     .stream(true);
/// let json = serde_json::to_value(&req)?;
/// assert_eq!(json["messages"][1]["content"], "Hello");
/// assert_eq!(json["stream_options"]["include_usage"], true);
/// assert!(json.get("top_p").is_none(), "unset options stay off the wire");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model (or Azure deployment's model) to use.
    #[serde(default)]
    pub model: String,
    /// The conversation so far.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Legacy output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Output token limit, reasoning included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// Number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Seed for best-effort determinism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Return log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// How many top log probabilities per token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Stream the answer as server-sent events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Streaming options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Which tool to call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether several tool calls may come in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// The output format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Reasoning effort for reasoning models (`low`, `medium`, `high`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// The end user's id, for abuse monitoring (not a message; see
    /// [`ChatCompletionRequest::user_message`] for adding a user message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Unmodelled fields (`logit_bias`, `metadata`, `modalities`, provider
    /// extensions), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatCompletionRequest {
    /// An empty request for `model`.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            ..Self::default()
        }
    }

    /// Appends a message.
    #[must_use]
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends a system message.
    #[must_use]
    pub fn system(self, text: impl Into<String>) -> Self {
        self.message(Message::system(text))
    }

    /// Appends a user message. (Named apart from the `user` *field*, the
    /// end user's id that OpenAI's API takes for abuse monitoring.)
    #[must_use]
    pub fn user_message(self, text: impl Into<String>) -> Self {
        self.message(Message::user(text))
    }

    /// Appends an assistant message (a prior turn, or a prefill).
    #[must_use]
    pub fn assistant(self, text: impl Into<String>) -> Self {
        self.message(Message::assistant(text))
    }

    /// Sets the sampling temperature.
    #[must_use]
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets `max_tokens`.
    #[must_use]
    pub fn max_tokens(mut self, max_tokens: u64) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Adds a tool.
    #[must_use]
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.get_or_insert_with(Vec::new).push(tool);
        self
    }

    /// Sets the response format.
    #[must_use]
    pub fn response_format(mut self, format: ResponseFormat) -> Self {
        self.response_format = Some(format);
        self
    }

    /// Turns streaming on or off. On also asks for the usage chunk
    /// (`stream_options.include_usage`); off removes the stream options.
    #[must_use]
    pub fn stream(mut self, stream: bool) -> Self {
        self.stream = Some(stream);
        if stream {
            self.stream_options
                .get_or_insert_with(StreamOptions::default)
                .include_usage = Some(true);
        } else {
            self.stream_options = None;
        }
        self
    }

    /// Whether the last message is from the assistant (a prefill the model
    /// is asked to continue).
    #[must_use]
    pub fn ends_with_assistant(&self) -> bool {
        self.messages
            .last()
            .is_some_and(|m| m.role == Role::Assistant)
    }
}

pub mod anthropic;
pub mod embeddings;
pub mod gemini;
mod response;
#[cfg(test)]
mod tests;
mod translate;

pub use response::{
    ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, Delta, FunctionCallDelta,
    ToolCallDelta, Usage,
};
