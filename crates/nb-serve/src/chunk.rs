//! Answers in the shape OpenAI's clients expect, whatever the upstream left out: every chunk
//! of a stream carries the same `id` and `created` (also when the answer continued on another
//! model), `object` is set, and each choice has `finish_reason` (`null` until the last).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use nb_transport::{ChatCompletion, ChatCompletionChunk, ChunkChoice, Delta, FinishReason, Usage};
use serde::Serialize;
use serde_json::{Map, Value};

/// The identity of one answer, the same on each of its chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    id: String,
    created: u64,
}

impl Identity {
    /// The upstream's id and creation time, or made-up ones where it sent none.
    pub(crate) fn new(id: &str, created: Option<u64>) -> Self {
        let created = created.unwrap_or_else(unix_now);
        let id = if id.is_empty() {
            made_up_id(created)
        } else {
            id.to_owned()
        };
        Self { id, created }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `chatcmpl-nb-<unix time in hex>-<counter>`: unique within the process and across restarts.
fn made_up_id(created: u64) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "chatcmpl-nb-{created:x}-{}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A chunk as OpenAI writes one.
#[derive(Debug, Serialize)]
struct ChunkOut<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChoiceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<&'a Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_fingerprint: Option<&'a str>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

#[derive(Debug, Serialize)]
struct ChoiceOut<'a> {
    index: u32,
    delta: &'a Delta,
    /// Always written: `null` until the choice ends.
    finish_reason: Option<&'a FinishReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<&'a Value>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl<'a> ChoiceOut<'a> {
    fn new(c: &'a ChunkChoice) -> Self {
        Self {
            index: c.index,
            delta: &c.delta,
            finish_reason: c.finish_reason.as_ref(),
            logprobs: c.logprobs.as_ref(),
            extra: &c.extra,
        }
    }
}

/// `chunk` as the JSON of one server-sent event, under `identity`, naming `model`.
pub(crate) fn chunk_json(
    chunk: &ChatCompletionChunk,
    identity: &Identity,
    model: &str,
) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&ChunkOut {
        id: &identity.id,
        object: "chat.completion.chunk",
        created: identity.created,
        model,
        choices: chunk.choices.iter().map(ChoiceOut::new).collect(),
        usage: chunk.usage.as_ref(),
        system_fingerprint: chunk.system_fingerprint.as_deref(),
        extra: &chunk.extra,
    })
}

/// Fills in the `id`, `object` and `created` an upstream left out of a completion.
pub(crate) fn complete_identity(c: &mut ChatCompletion) {
    if c.id.is_empty() || c.created.is_none() {
        let identity = Identity::new(&c.id, c.created);
        c.id = identity.id;
        c.created = Some(identity.created);
    }
    if c.object.is_empty() {
        "chat.completion".clone_into(&mut c.object);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_chunk_gets_openais_fields() {
        let chunk: ChatCompletionChunk =
            serde_json::from_str(r#"{"choices":[{"delta":{"content":"Hi"}}],"x_vendor":1}"#)
                .unwrap();
        let identity = Identity::new(&chunk.id, chunk.created);
        let v: Value =
            serde_json::from_slice(&chunk_json(&chunk, &identity, "served").unwrap()).unwrap();
        assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-nb-"), "{v}");
        assert_eq!(v["object"], "chat.completion.chunk");
        assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
        assert_eq!(v["model"], "served");
        assert_eq!(v["choices"][0]["index"], 0);
        assert_eq!(v["choices"][0]["delta"]["content"], "Hi");
        assert_eq!(
            v["choices"][0].get("finish_reason"),
            Some(&Value::Null),
            "present and null until the end: {v}"
        );
        assert_eq!(v["x_vendor"], 1, "unmodelled fields pass through");
        assert!(v.get("usage").is_none());
    }

    #[test]
    fn every_chunk_of_an_answer_keeps_the_first_identity() {
        let first: ChatCompletionChunk = serde_json::from_str(
            r#"{"id":"up-1","created":7,"choices":[{"index":0,"delta":{"content":"a"}}]}"#,
        )
        .unwrap();
        let later: ChatCompletionChunk = serde_json::from_str(
            r#"{"id":"other-9","created":9,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        let identity = Identity::new(&first.id, first.created);
        let v: Value =
            serde_json::from_slice(&chunk_json(&later, &identity, "m").unwrap()).unwrap();
        assert_eq!(v["id"], "up-1");
        assert_eq!(v["created"], 7);
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn made_up_ids_differ() {
        assert_ne!(Identity::new("", Some(1)), Identity::new("", Some(1)));
    }

    #[test]
    fn a_bare_completion_gets_an_identity() {
        let mut c: ChatCompletion = serde_json::from_str(r#"{"choices":[]}"#).unwrap();
        complete_identity(&mut c);
        assert!(c.id.starts_with("chatcmpl-nb-"));
        assert_eq!(c.object, "chat.completion");
        assert!(c.created.is_some());
        let mut c: ChatCompletion = serde_json::from_str(
            r#"{"id":"x","object":"chat.completion","created":5,"choices":[]}"#,
        )
        .unwrap();
        complete_identity(&mut c);
        assert_eq!((c.id.as_str(), c.created), ("x", Some(5)));
    }
}
