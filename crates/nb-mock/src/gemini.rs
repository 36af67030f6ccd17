//! Google's Gemini API (`POST /v1beta/models/{model}:generateContent` and
//! `:streamGenerateContent`): the same answers, faults and stream shapes as the OpenAI
//! route, in Gemini's request, response, event and error formats.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::fault::Fault;
use crate::openai::{Answer, ErrorReply, StreamShape};

/// What a Gemini path asks of its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Generate,
    StreamGenerate,
    BatchEmbed,
}

/// A Gemini route: the model in the path, and what it asks.
pub(crate) fn route(path: &str) -> Option<(String, Method)> {
    let rest = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, method) = rest.split_once(':')?;
    let method = match method {
        "generateContent" => Method::Generate,
        "streamGenerateContent" => Method::StreamGenerate,
        "batchEmbedContents" => Method::BatchEmbed,
        _ => return None,
    };
    (!model.is_empty() && !model.contains('/')).then(|| (model.to_owned(), method))
}

/// A Gemini request body as the OpenAI one the rest of the server reads: its turns'
/// text (a `model` turn is the assistant's), and whether it streams.
pub(crate) fn as_chat(body: &[u8], model: &str, stream: bool) -> Result<Vec<u8>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let messages: Vec<Value> = v
        .get("contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|turn| {
            let role = match turn.get("role").and_then(Value::as_str) {
                Some("model") => "assistant",
                _ => "user",
            };
            let text: String = turn
                .get("parts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            json!({ "role": role, "content": text })
        })
        .collect();
    Ok(
        json!({ "model": model, "stream": stream, "messages": messages })
            .to_string()
            .into_bytes(),
    )
}

fn response(answer: &Answer<'_>, text: &str, finish: bool) -> Value {
    let tokens = answer.tokens();
    let mut candidate = json!({ "content": { "role": "model", "parts": [{ "text": text }] } });
    let mut body = json!({ "modelVersion": answer.model, "responseId": answer.id });
    if finish {
        candidate["finishReason"] = json!("STOP");
        body["usageMetadata"] = json!({
            "promptTokenCount": tokens.prompt,
            "candidatesTokenCount": tokens.completion,
            "totalTokenCount": tokens.prompt + tokens.completion,
        });
    }
    body["candidates"] = json!([candidate]);
    body
}

/// A non-streamed answer as a `GenerateContent` response.
pub(crate) fn message(answer: &Answer<'_>) -> Vec<u8> {
    response(answer, &answer.text, true)
        .to_string()
        .into_bytes()
}

/// A stream of the answer as `alt=sse` events, one a content chunk, the last carrying
/// the finish reason and usage when the shape finishes (Gemini sends no `[DONE]`).
pub(crate) fn events(answer: &Answer<'_>, shape: StreamShape) -> Vec<Bytes> {
    let pieces = answer.pieces();
    let content = shape.content.min(pieces.len());
    let finish_with_last = shape.finish && content == pieces.len();
    let mut frames: Vec<Bytes> = pieces[..content]
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut frame = String::new();
            if shape.malformed_at == Some(i) {
                frame.push_str("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\n\n");
            }
            let last = finish_with_last && i + 1 == content;
            frame.push_str(&format!("data: {}\n\n", response(answer, piece, last)));
            Bytes::from(frame)
        })
        .collect();
    if shape.finish && !finish_with_last {
        frames.push(Bytes::from(format!(
            "data: {}\n\n",
            response(answer, "", true)
        )));
    }
    frames
}

/// Gemini's error object as a stream event, sent when the model fails after the 200.
pub(crate) const STREAM_ERROR_EVENT: &[u8] = b"data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}\n\n";

/// An error fault in Gemini's shape, `{"error": {"code", "message", "status"}}`, with the
/// status Google gives it; `None` for faults that are not a plain error.
pub(crate) fn error_for_fault(fault: &Fault, model: &str) -> Option<ErrorReply> {
    let (code, status, message) = match fault {
        Fault::RateLimit { .. } => (
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).".to_owned(),
        ),
        Fault::InsufficientQuota => (
            429,
            "RESOURCE_EXHAUSTED",
            format!("You exceeded your current quota, please check your plan and billing details. * Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: {model}"),
        ),
        Fault::InvalidApiKey => (
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.".to_owned(),
        ),
        Fault::PermissionDenied => (
            403,
            "PERMISSION_DENIED",
            "Permission denied on resource project nb-mock.".to_owned(),
        ),
        Fault::ModelNotFound => (
            404,
            "NOT_FOUND",
            format!("models/{model} is not found for API version v1beta, or is not supported for generateContent."),
        ),
        Fault::ContextLengthExceeded => (
            400,
            "INVALID_ARGUMENT",
            "The input token count (1048580) exceeds the maximum number of tokens allowed (1048576).".to_owned(),
        ),
        Fault::ServerError => (500, "INTERNAL", "An internal error has occurred.".to_owned()),
        Fault::ServiceUnavailable { .. } | Fault::Overloaded => (
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.".to_owned(),
        ),
        other => return ErrorReply::for_fault(other, model),
    };
    Some(ErrorReply {
        status: code,
        content_type: "application/json",
        body: json!({ "error": { "code": code, "message": message, "status": status } })
            .to_string()
            .into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gemini_body_reads_as_the_chat_it_means() {
        let body = br#"{"systemInstruction":{"parts":[{"text":"Be brief."}]},
            "contents":[{"role":"user","parts":[{"text":"Hi "},{"text":"there"}]},
                        {"role":"model","parts":[{"text":"Hello"}]},
                        {"role":"user","parts":[{"text":"Again"}]}]}"#;
        let chat: Value =
            serde_json::from_slice(&as_chat(body, "gemini-x", true).unwrap()).unwrap();
        assert_eq!(chat["model"], "gemini-x");
        assert_eq!(chat["stream"], true);
        let roles: Vec<&str> = chat["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(chat["messages"][0]["content"], "Hi there");
        assert!(as_chat(b"{not json", "m", false).is_err());
    }
}
