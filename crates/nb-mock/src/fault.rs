//! The faults a mock model can be told to commit.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::value::{MapAccessDeserializer, MapDeserializer};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::scenario::duration_ms;

/// What a model does wrong on one request.
///
/// In scenario files a fault is a table whose `kind` is the variant's snake_case name, with the
/// variant's fields beside it (`{ kind = "rate_limit", retry_after_s = 2 }`); a fault whose fields
/// all have defaults can also be written as its bare name (`fault = "server_error"`).
///
/// Error bodies follow the shape of the provider family that sends them: OpenAI's
/// `{"error": {"message", "type", "param", "code"}}` unless a variant says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Fault {
    /// 429 `rate_limit_exceeded`. With `retry_after_s` the response carries `Retry-After` (and
    /// the body says "Please try again in Ns."); with `retry_after_ms` it also carries
    /// `retry-after-ms`. Without either, nothing in the response says how long to wait.
    RateLimit {
        /// Seconds for the `Retry-After` header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_s: Option<u64>,
        /// Milliseconds for the `retry-after-ms` header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// 429 `insufficient_quota`: the account is out of credit.
    InsufficientQuota,
    /// 401 `invalid_api_key`.
    InvalidApiKey,
    /// 403 `permission_denied`: the key may not use this model.
    PermissionDenied,
    /// 404 `model_not_found`.
    ModelNotFound,
    /// 400 `context_length_exceeded`.
    ContextLengthExceeded,
    /// 400 `content_filter` in the Azure OpenAI shape (`innererror.content_filter_result`).
    ContentFilter,
    /// 500 `server_error`.
    ServerError,
    /// 502 with an HTML page, as a proxy in front of the provider sends it.
    BadGateway,
    /// 503: the service is unavailable, optionally with `Retry-After`.
    ServiceUnavailable {
        /// Seconds for the `Retry-After` header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_s: Option<u64>,
    },
    /// 529 with Anthropic's `overloaded_error` body.
    Overloaded,
    /// No response at all: the request is read and then nothing happens until the client leaves.
    Hang,
    /// The request is read, then the TCP connection is reset (RST) before any response byte.
    /// Over HTTP/2 this resets the whole connection, not just the stream.
    ConnectionReset,
    /// The first content byte comes late. A stream sends its headers at once and its first chunk
    /// after `delay_ms`; a non-streaming response sends its headers at once and its body after
    /// the delay. With `before_headers = true` the delay comes before the headers instead.
    SlowFirstToken {
        /// How long the first token is held back.
        #[serde(rename = "delay_ms", with = "duration_ms")]
        delay: Duration,
        /// Delay the response head rather than the first body byte.
        #[serde(default, skip_serializing_if = "is_false")]
        before_headers: bool,
    },
    /// Not a failure: a whole, correct answer that takes `generation_ms` to write, as
    /// [`ModelBehavior::generation`](crate::ModelBehavior::generation) but for the requests
    /// this rule selects (say, with `contains`, the ones asking for a long report). A stream
    /// sends its first token at the latency and spreads the rest over the time; a
    /// non-streamed answer's head waits for the whole text.
    LongAnswer {
        /// How long the whole answer takes to write.
        #[serde(rename = "generation_ms", with = "duration_ms")]
        generation: Duration,
    },
    /// A stream is cut after `after_chunks` content chunks (default 1): the connection is closed
    /// with no finish chunk, no `[DONE]` and no terminating HTTP chunk. A non-streaming response
    /// is cut halfway through its body (fewer bytes than its `Content-Length`). Over HTTP/2 the
    /// stream is reset instead of the connection.
    StreamCut {
        /// Content chunks delivered before the cut.
        #[serde(default = "one")]
        after_chunks: u32,
    },
    /// A stream goes silent after `after_chunks` content chunks (default 1) with the socket left
    /// open, until the client leaves. A non-streaming response stalls halfway through its body.
    StreamStall {
        /// Content chunks delivered before the stall.
        #[serde(default = "one")]
        after_chunks: u32,
    },
    /// A stream carries one event whose JSON is broken after `after_chunks` content chunks
    /// (default 1), then goes on normally to `[DONE]`. A non-streaming request gets a 200 whose
    /// JSON is truncated, as with [`Fault::TruncatedJson`].
    MalformedChunk {
        /// Content chunks delivered before the broken event.
        #[serde(default = "one")]
        after_chunks: u32,
    },
    /// A stream is answered with a 200 and `after_chunks` content chunks (default 1), then the
    /// provider's in-band overload error, and ends cleanly: Anthropic's `event: error` with
    /// `overloaded_error`, an OpenAI-style `data: {"error": ...}` chunk (as OpenRouter and
    /// others send), Gemini's error object with `UNAVAILABLE`. A non-streamed request gets the
    /// protocol's overload as an error response instead.
    StreamError {
        /// Content chunks delivered before the error.
        #[serde(default = "one")]
        after_chunks: u32,
    },
    /// A stream ends cleanly at the HTTP level but never sends `[DONE]`. Without `finish_reason`
    /// it also never sends a finish reason (an interrupted answer); with `finish_reason = true`
    /// the finish chunk (and usage, if asked for) is sent and only `[DONE]` is missing.
    /// Non-streaming requests are served normally.
    NoDone {
        /// Send the finish chunk before ending.
        #[serde(default, skip_serializing_if = "is_false")]
        finish_reason: bool,
    },
    /// A 200 `application/json` response whose body is a completion cut off halfway.
    TruncatedJson,
    /// 400 when the request's last message is an assistant message (prefill). Requests that do
    /// not end with an assistant message are served normally and the rule does not count as
    /// applied.
    RejectPrefill,
    /// Any response: a status, a body, a content type and extra headers.
    Custom {
        /// The status code (200 to 599).
        status: u16,
        /// The response body.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        body: String,
        /// The `Content-Type` header; `application/json` when absent and the body is not empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
        /// Extra response headers.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
}

fn one() -> u32 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

impl Fault {
    /// A 429 that says to retry after `seconds` (`Retry-After`).
    pub fn rate_limit_after(seconds: u64) -> Self {
        Fault::RateLimit {
            retry_after_s: Some(seconds),
            retry_after_ms: None,
        }
    }

    /// A 429 that says nothing about when to retry.
    pub fn rate_limit() -> Self {
        Fault::RateLimit {
            retry_after_s: None,
            retry_after_ms: None,
        }
    }

    /// Whether the request fails: every fault but [`Fault::SlowFirstToken`] and
    /// [`Fault::LongAnswer`], which only take their time.
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            Fault::SlowFirstToken { .. } | Fault::LongAnswer { .. }
        )
    }

    fn is_unit(&self) -> bool {
        matches!(
            self,
            Fault::InsufficientQuota
                | Fault::InvalidApiKey
                | Fault::PermissionDenied
                | Fault::ModelNotFound
                | Fault::ContextLengthExceeded
                | Fault::ContentFilter
                | Fault::ServerError
                | Fault::BadGateway
                | Fault::Overloaded
                | Fault::Hang
                | Fault::ConnectionReset
                | Fault::TruncatedJson
                | Fault::RejectPrefill
        )
    }

    /// The variant's snake_case name, as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::RateLimit { .. } => "rate_limit",
            Fault::InsufficientQuota => "insufficient_quota",
            Fault::InvalidApiKey => "invalid_api_key",
            Fault::PermissionDenied => "permission_denied",
            Fault::ModelNotFound => "model_not_found",
            Fault::ContextLengthExceeded => "context_length_exceeded",
            Fault::ContentFilter => "content_filter",
            Fault::ServerError => "server_error",
            Fault::BadGateway => "bad_gateway",
            Fault::ServiceUnavailable { .. } => "service_unavailable",
            Fault::Overloaded => "overloaded",
            Fault::Hang => "hang",
            Fault::ConnectionReset => "connection_reset",
            Fault::SlowFirstToken { .. } => "slow_first_token",
            Fault::LongAnswer { .. } => "long_answer",
            Fault::StreamCut { .. } => "stream_cut",
            Fault::StreamStall { .. } => "stream_stall",
            Fault::MalformedChunk { .. } => "malformed_chunk",
            Fault::StreamError { .. } => "stream_error",
            Fault::NoDone { .. } => "no_done",
            Fault::TruncatedJson => "truncated_json",
            Fault::RejectPrefill => "reject_prefill",
            Fault::Custom { .. } => "custom",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Deserializes a fault written either as a table or as its bare name.
pub(crate) fn fault_or_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Fault, D::Error> {
    struct FaultVisitor;

    impl<'de> Visitor<'de> for FaultVisitor {
        type Value = Fault;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a fault name such as \"server_error\" or a table with a `kind`")
        }

        fn visit_str<E: de::Error>(self, name: &str) -> Result<Fault, E> {
            Fault::deserialize(MapDeserializer::new(std::iter::once(("kind", name))))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Fault, A::Error> {
            // Serde lets a unit variant of an internally tagged enum ignore other keys; a typo
            // beside `kind = "hang"` must not pass silently, so the keys are checked here.
            let table = serde_json::Map::deserialize(MapAccessDeserializer::new(map))?;
            let fault = Fault::deserialize(serde_json::Value::Object(table.clone()))
                .map_err(de::Error::custom)?;
            if fault.is_unit()
                && let Some(extra) = table.keys().find(|key| *key != "kind")
            {
                return Err(de::Error::custom(format!(
                    "unknown field `{extra}`: the fault `{}` takes no fields",
                    fault.name()
                )));
            }
            Ok(fault)
        }
    }

    deserializer.deserialize_any(FaultVisitor)
}
