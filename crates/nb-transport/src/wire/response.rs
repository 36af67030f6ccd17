//! The response side of the wire: completions, stream chunks and usage.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

/// Token usage of a request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Their sum, as the provider reports it.
    #[serde(default)]
    pub total_tokens: u64,
    /// Unmodelled fields (`prompt_tokens_details`, `completion_tokens_details`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A non-streamed chat-completion response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// The response id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// `chat.completion`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub object: String,
    /// Unix time of creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that served the request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The generated choices.
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The backend configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The service tier that served the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatCompletion {
    /// The first choice's text, when it is plain text.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.choices.first().and_then(|c| c.message.text())
    }

    /// The first choice's finish reason.
    #[must_use]
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.choices.first().and_then(|c| c.finish_reason.as_ref())
    }
}

/// One choice of a [`ChatCompletion`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// The choice's index.
    #[serde(default)]
    pub index: u32,
    /// The generated message.
    pub message: Message,
    /// Why generation stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Log probabilities, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One chunk of a streamed chat completion (one SSE `data:` payload).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// The response id, the same in every chunk.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// `chat.completion.chunk`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub object: String,
    /// Unix time of creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that served the request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The choices' deltas (empty in the final usage chunk).
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Token usage, in the last chunk when `include_usage` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The backend configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Unmodelled fields (an in-stream `error` object lands here).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatCompletionChunk {
    /// The first choice's content delta.
    #[must_use]
    pub fn content(&self) -> Option<&str> {
        self.choices
            .first()
            .and_then(|c| c.delta.content.as_deref())
    }

    /// The first choice's finish reason, in its last chunk.
    #[must_use]
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.choices.first().and_then(|c| c.finish_reason.as_ref())
    }

    /// An in-stream `error` object, which some providers send as a data
    /// payload instead of an HTTP error once the stream has started.
    #[must_use]
    pub fn error(&self) -> Option<&Value> {
        self.extra.get("error")
    }
}

/// One choice's delta in a [`ChatCompletionChunk`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// The choice's index.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds.
    #[serde(default)]
    pub delta: Delta,
    /// Why generation stopped, in the choice's last chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Log probabilities, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What one chunk adds to a choice.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Delta {
    /// The role, in the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// A piece of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// A piece of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Pieces of tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Unmodelled fields (e.g. `reasoning_content`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A piece of a tool call in a stream; pieces with the same `index` join up.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call this piece belongs to.
    #[serde(default)]
    pub index: u32,
    /// The call's id, in its first piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool type, in its first piece.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Pieces of the function name and arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A piece of a function call in a stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    /// The name, in the first piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A piece of the JSON arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}
