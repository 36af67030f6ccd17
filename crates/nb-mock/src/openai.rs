//! The OpenAI-compatible JSON the server reads and writes.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;

use bytes::Bytes;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::billing::Tokens;
use crate::fault::Fault;

/// The parts of a chat completion request the server looks at; everything else is ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatRequest<'a> {
    #[serde(default, borrow)]
    pub(crate) model: Option<Text<'a>>,
    #[serde(default)]
    pub(crate) stream: Option<bool>,
    #[serde(default)]
    pub(crate) stream_options: Option<StreamOptions>,
    #[serde(borrow)]
    pub(crate) messages: Vec<Message<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StreamOptions {
    #[serde(default)]
    pub(crate) include_usage: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Message<'a> {
    #[serde(borrow)]
    pub(crate) role: Text<'a>,
    #[serde(default, borrow)]
    pub(crate) content: Text<'a>,
}

impl ChatRequest<'_> {
    pub(crate) fn stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    pub(crate) fn include_usage(&self) -> bool {
        self.stream()
            && self
                .stream_options
                .as_ref()
                .and_then(|options| options.include_usage)
                .unwrap_or(false)
    }

    pub(crate) fn prefill(&self) -> bool {
        self.messages
            .last()
            .is_some_and(|message| message.role.0 == "assistant")
    }

    pub(crate) fn last_user_text(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|message| message.role.0 == "user")
            .map_or("", |message| &message.content.0)
    }

    fn prompt_bytes(&self) -> usize {
        self.messages
            .iter()
            .map(|message| message.content.0.len())
            .sum()
    }
}

/// A string borrowed from the request body when it has no escapes. As message content it also
/// accepts `null` (empty) and an array of parts (their `text` fields joined).
#[derive(Debug, Default)]
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, null or an array of content parts")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text)))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text::default())
            }

            fn visit_none<E: de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text::default())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut parts: A) -> Result<Text<'de>, A::Error> {
                #[derive(Deserialize)]
                struct Part<'a> {
                    #[serde(default, borrow)]
                    text: Option<Text<'a>>,
                }

                let mut joined = String::new();
                while let Some(part) = parts.next_element::<Part<'de>>()? {
                    if let Some(text) = part.text {
                        joined.push_str(&text.0);
                    }
                }
                Ok(Text(Cow::Owned(joined)))
            }
        }

        deserializer.deserialize_any(TextVisitor)
    }
}

/// The answer a model gives, ready to render whole or as a stream.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    pub(crate) id: String,
    pub(crate) created: u64,
    pub(crate) model: &'a str,
    pub(crate) text: String,
    pub(crate) chunks: u32,
    pub(crate) usage: Usage,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

impl<'a> Answer<'a> {
    /// The deterministic answer of `model` to `request`: the fixed reply, or an echo of the last
    /// user message (its first 200 characters).
    pub(crate) fn new(
        model: &'a str,
        attempt: u32,
        reply: Option<&str>,
        chunks: u32,
        request: &ChatRequest<'_>,
    ) -> Self {
        let text = match reply {
            Some(reply) => reply.to_owned(),
            None => {
                let user = request.last_user_text();
                let end = user
                    .char_indices()
                    .nth(200)
                    .map_or(user.len(), |(index, _)| index);
                format!("Echo from {model}: {}", &user[..end])
            }
        };
        let prompt_tokens = tokens(request.prompt_bytes());
        let completion_tokens = tokens(text.len());
        Answer {
            id: format!("chatcmpl-nbmock-{attempt}"),
            created: unix_now(),
            model,
            text,
            chunks,
            usage: Usage {
                prompt_tokens,
                completion_tokens,
                total_tokens: prompt_tokens + completion_tokens,
            },
        }
    }

    /// What the answer bills.
    pub(crate) fn tokens(&self) -> Tokens {
        Tokens {
            prompt: self.usage.prompt_tokens,
            completion: self.usage.completion_tokens,
        }
    }

    /// The non-streaming response body.
    pub(crate) fn completion(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Completion<'a> {
            id: &'a str,
            object: &'static str,
            created: u64,
            model: &'a str,
            system_fingerprint: &'static str,
            choices: [Choice<'a>; 1],
            usage: Usage,
        }
        #[derive(Serialize)]
        struct Choice<'a> {
            index: u32,
            message: AnswerMessage<'a>,
            logprobs: Option<()>,
            finish_reason: &'static str,
        }
        #[derive(Serialize)]
        struct AnswerMessage<'a> {
            role: &'static str,
            content: &'a str,
        }

        let completion = Completion {
            id: &self.id,
            object: "chat.completion",
            created: self.created,
            model: self.model,
            system_fingerprint: "nb-mock",
            choices: [Choice {
                index: 0,
                message: AnswerMessage {
                    role: "assistant",
                    content: &self.text,
                },
                logprobs: None,
                finish_reason: "stop",
            }],
            usage: self.usage,
        };
        // Serializing plain structs of strings and numbers into a Vec cannot fail.
        serde_json::to_vec(&completion).unwrap_or_default()
    }

    /// The text cut into `chunks` pieces of nearly equal length (padded with dots when the text
    /// has fewer characters than chunks).
    pub(crate) fn pieces(&self) -> Vec<Cow<'_, str>> {
        let chunks = self.chunks.max(1) as usize;
        let chars = self.text.chars().count();
        let text: Cow<'_, str> = if chars < chunks {
            Cow::Owned(format!("{}{}", self.text, ".".repeat(chunks - chars)))
        } else {
            Cow::Borrowed(&self.text)
        };
        let total = chars.max(chunks);
        let mut bounds: Vec<usize> = text.char_indices().map(|(index, _)| index).collect();
        bounds.push(text.len());
        (0..chunks)
            .map(|i| {
                let (start, end) = (bounds[i * total / chunks], bounds[(i + 1) * total / chunks]);
                match &text {
                    Cow::Borrowed(text) => Cow::Borrowed(&text[start..end]),
                    Cow::Owned(text) => Cow::Owned(text[start..end].to_owned()),
                }
            })
            .collect()
    }

    /// The server-sent events of a stream of this answer, shaped by `shape`.
    pub(crate) fn events(&self, include_usage: bool, shape: StreamShape) -> Vec<Bytes> {
        #[derive(Serialize)]
        struct Chunk<'a> {
            id: &'a str,
            object: &'static str,
            created: u64,
            model: &'a str,
            system_fingerprint: &'static str,
            choices: &'a [ChunkChoice<'a>],
            #[serde(skip_serializing_if = "Option::is_none")]
            usage: Option<Option<Usage>>,
        }
        #[derive(Serialize)]
        struct ChunkChoice<'a> {
            index: u32,
            delta: Delta<'a>,
            logprobs: Option<()>,
            finish_reason: Option<&'static str>,
        }
        #[derive(Serialize)]
        struct Delta<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            role: Option<&'static str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            content: Option<&'a str>,
        }

        let pieces = self.pieces();
        let content = shape.content.min(pieces.len());
        let mut buf = Vec::with_capacity(256 * (content + 3));
        let mut ends = Vec::with_capacity(content + 4);
        let null_usage = include_usage.then_some(None);
        let push =
            |buf: &mut Vec<u8>, choice: Option<ChunkChoice<'_>>, usage: Option<Option<Usage>>| {
                let choices = choice.map(|c| [c]);
                let chunk = Chunk {
                    id: &self.id,
                    object: "chat.completion.chunk",
                    created: self.created,
                    model: self.model,
                    system_fingerprint: "nb-mock",
                    choices: choices.as_ref().map_or(&[], |c| c.as_slice()),
                    usage,
                };
                buf.extend_from_slice(b"data: ");
                // Serializing plain structs of strings and numbers into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *buf, &chunk);
                buf.extend_from_slice(b"\n\n");
            };
        for (index, piece) in pieces[..content].iter().enumerate() {
            if shape.malformed_at == Some(index) {
                push_malformed(&mut buf, &self.id);
                ends.push(buf.len());
            }
            let choice = ChunkChoice {
                index: 0,
                delta: Delta {
                    role: (index == 0).then_some("assistant"),
                    content: Some(piece),
                },
                logprobs: None,
                finish_reason: None,
            };
            push(&mut buf, Some(choice), null_usage);
            ends.push(buf.len());
        }
        if shape.malformed_at.is_some_and(|at| at >= content) {
            push_malformed(&mut buf, &self.id);
            ends.push(buf.len());
        }
        if shape.finish {
            let choice = ChunkChoice {
                index: 0,
                delta: Delta {
                    role: None,
                    content: None,
                },
                logprobs: None,
                finish_reason: Some("stop"),
            };
            push(&mut buf, Some(choice), null_usage);
            ends.push(buf.len());
            if include_usage {
                push(&mut buf, None, Some(Some(self.usage)));
                ends.push(buf.len());
            }
        }
        if shape.done {
            buf.extend_from_slice(b"data: [DONE]\n\n");
            ends.push(buf.len());
        }
        let all = Bytes::from(buf);
        let mut start = 0;
        ends.into_iter()
            .map(|end| {
                let frame = all.slice(start..end);
                start = end;
                frame
            })
            .collect()
    }
}

fn push_malformed(buf: &mut Vec<u8>, id: &str) {
    let _ = write!(
        buf,
        "data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"\n\n"
    );
}

/// Which events a stream carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamShape {
    /// How many content chunks to send (at most the answer's).
    pub(crate) content: usize,
    /// Insert a broken event after this many content chunks.
    pub(crate) malformed_at: Option<usize>,
    /// Send the finish chunk (and usage, when asked for).
    pub(crate) finish: bool,
    /// Send `data: [DONE]`.
    pub(crate) done: bool,
    /// End with the provider's in-band error event after the content.
    pub(crate) error: bool,
}

impl StreamShape {
    pub(crate) const COMPLETE: StreamShape = StreamShape {
        content: usize::MAX,
        malformed_at: None,
        finish: true,
        done: true,
        error: false,
    };

    /// The first `chunks` content chunks and nothing after them.
    pub(crate) fn truncated(chunks: u32) -> StreamShape {
        StreamShape {
            content: chunks as usize,
            malformed_at: None,
            finish: false,
            done: false,
            error: false,
        }
    }
}

/// The in-band error chunk an OpenAI-compatible host sends when generation fails after the
/// 200 (OpenRouter's shape, and OpenAI's own `server_error` wording).
pub(crate) const STREAM_ERROR_EVENT: &[u8] = b"data: {\"error\":{\"message\":\"The server had an error while processing your request. Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":\"server_error\"}}\n\n";

/// A rough token count: four bytes a token, at least one.
fn tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4).max(1)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// An error response: status, content type and body.
#[derive(Debug)]
pub(crate) struct ErrorReply {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
}

impl ErrorReply {
    /// OpenAI's error shape.
    pub(crate) fn openai(
        status: u16,
        message: &str,
        kind: Option<&str>,
        param: Option<&str>,
        code: Option<&str>,
    ) -> Self {
        let body = json!({
            "error": { "message": message, "type": kind, "param": param, "code": code }
        });
        ErrorReply {
            status,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
        }
    }

    /// The response for an error fault; `None` for faults that are not a plain error response.
    pub(crate) fn for_fault(fault: &Fault, model: &str) -> Option<Self> {
        let reply = match fault {
            Fault::RateLimit { retry_after_s, .. } => {
                let hint = match retry_after_s {
                    Some(seconds) => format!(" Please try again in {seconds}s."),
                    None => String::new(),
                };
                ErrorReply::openai(
                    429,
                    &format!(
                        "Rate limit reached for {model} in organization org-nbmock on requests per min (RPM): Limit 60, Used 60, Requested 1.{hint}"
                    ),
                    Some("requests"),
                    None,
                    Some("rate_limit_exceeded"),
                )
            }
            Fault::InsufficientQuota => ErrorReply::openai(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                Some("insufficient_quota"),
                None,
                Some("insufficient_quota"),
            ),
            Fault::InvalidApiKey => ErrorReply::openai(
                401,
                "Incorrect API key provided. You can find your API key in your account settings.",
                Some("invalid_request_error"),
                None,
                Some("invalid_api_key"),
            ),
            Fault::PermissionDenied => ErrorReply::openai(
                403,
                &format!("You do not have permission to use the model `{model}` with this API key."),
                Some("permission_error"),
                None,
                Some("permission_denied"),
            ),
            Fault::ModelNotFound => ErrorReply::not_found(model),
            Fault::ContextLengthExceeded => ErrorReply::openai(
                400,
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
                Some("invalid_request_error"),
                Some("messages"),
                Some("context_length_exceeded"),
            ),
            Fault::ContentFilter => ErrorReply::content_filter(),
            Fault::ServerError => ErrorReply::openai(
                500,
                "The server had an error while processing your request. Sorry about that!",
                Some("server_error"),
                None,
                None,
            ),
            Fault::BadGateway => ErrorReply {
                status: 502,
                content_type: "text/html",
                body: b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_vec(),
            },
            Fault::ServiceUnavailable { .. } => ErrorReply::openai(
                503,
                "The service is temporarily unavailable. Please try again later.",
                Some("server_error"),
                None,
                Some("service_unavailable"),
            ),
            Fault::Overloaded => ErrorReply {
                status: 529,
                content_type: "application/json",
                body: br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
                    .to_vec(),
            },
            Fault::RejectPrefill => ErrorReply::openai(
                400,
                &format!(
                    "The model `{model}` does not support assistant message prefill: the last message must be a user or tool message."
                ),
                Some("invalid_request_error"),
                Some("messages"),
                Some("prefill_not_supported"),
            ),
            _ => return None,
        };
        Some(reply)
    }

    pub(crate) fn not_found(model: &str) -> Self {
        ErrorReply::openai(
            404,
            &format!("The model `{model}` does not exist or you do not have access to it."),
            Some("invalid_request_error"),
            None,
            Some("model_not_found"),
        )
    }

    pub(crate) fn invalid_request(status: u16, message: &str) -> Self {
        ErrorReply::openai(status, message, Some("invalid_request_error"), None, None)
    }

    fn content_filter() -> Self {
        let category =
            |filtered: bool, severity: &str| json!({ "filtered": filtered, "severity": severity });
        let body = json!({
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
                "type": null,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {
                        "hate": category(false, "safe"),
                        "self_harm": category(false, "safe"),
                        "sexual": category(false, "safe"),
                        "violence": category(true, "medium"),
                    }
                }
            }
        });
        ErrorReply {
            status: 400,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> ChatRequest<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn requests_parse_text_parts_and_null_content() {
        let req = request(
            r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"temperature":0.2,
               "messages":[{"role":"system","content":null},
                           {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"there"}]},
                           {"role":"assistant","content":"Sure\nthing"}]}"#,
        );
        assert!(req.stream() && req.include_usage() && req.prefill());
        assert_eq!(req.last_user_text(), "Hi there");
        assert_eq!(req.prompt_bytes(), "Hi there".len() + "Sure\nthing".len());
        assert!(matches!(req.model.unwrap().0, Cow::Borrowed("m")));
    }

    #[test]
    fn pieces_cover_the_text_exactly() {
        let req = request(r#"{"messages":[{"role":"user","content":"héllo wörld"}]}"#);
        for chunks in [1, 3, 4, 7, 40] {
            let answer = Answer::new("m", 1, None, chunks, &req);
            let pieces = answer.pieces();
            assert_eq!(pieces.len(), chunks as usize);
            let joined: String = pieces.concat();
            assert!(joined.starts_with(&answer.text));
            assert!(pieces.iter().all(|p| !p.is_empty()));
        }
    }

    #[test]
    fn events_follow_the_shape() {
        let req = request(r#"{"messages":[{"role":"user","content":"abcdefgh"}]}"#);
        let answer = Answer::new("m", 1, Some("abcd"), 4, &req);
        let all = answer.events(true, StreamShape::COMPLETE);
        // 4 content, finish, usage, [DONE]
        assert_eq!(all.len(), 7);
        assert!(all[0].starts_with(b"data: {") && all[0].ends_with(b"\n\n"));
        assert_eq!(&all[6][..], b"data: [DONE]\n\n");
        let cut = answer.events(true, StreamShape::truncated(2));
        assert_eq!(cut.len(), 2);
        let shape = StreamShape {
            malformed_at: Some(1),
            ..StreamShape::COMPLETE
        };
        let broken = answer.events(false, shape);
        assert_eq!(broken.len(), 7);
        let json = &broken[1][6..broken[1].len() - 2];
        assert!(serde_json::from_slice::<serde_json::Value>(json).is_err());
    }
}
