//! The schema guard: what checking a typical structured answer against its
//! request's JSON schema costs, against parsing the answer alone (which
//! every call does anyway).
//!
//! The answer is a chat completion of about 600 bytes whose content is a
//! JSON object of eight fields (strings, numbers, an enum, an array of
//! strings, a nested object), the size of a typical extraction. The guard
//! parses the content and validates it with the compiled schema; the
//! schema is compiled once per request shape and cached, so the
//! compilation is not in the loop (it is measured on its own).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use nb_client::wire::ResponseFormat;
use nb_client::{ChatCompletion, ChatRequest, SchemaGuard};
use serde_json::json;

fn schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0},
            "email": {"type": "string"},
            "role": {"enum": ["engineer", "manager", "other"]},
            "skills": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "number"},
            "active": {"type": "boolean"},
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
                "required": ["city", "country"],
                "additionalProperties": false
            }
        },
        "required": ["name", "age", "email", "role", "skills", "score", "active", "address"],
        "additionalProperties": false
    })
}

fn answer() -> Vec<u8> {
    let content = json!({
        "name": "Ada Lovelace", "age": 36, "email": "ada@example.com", "role": "engineer",
        "skills": ["mathematics", "analysis", "poetry"], "score": 9.5, "active": true,
        "address": {"city": "London", "country": "UK"}
    })
    .to_string();
    json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000u64,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 60, "total_tokens": 180}
    })
    .to_string()
    .into_bytes()
}

fn guard(c: &mut Criterion) {
    let request = ChatRequest::new("gpt-4o-mini")
        .user_message("Extract the person.")
        .response_format(ResponseFormat::json_schema("person", schema()));
    let guard = SchemaGuard::for_request(&request).expect("a schema");
    let body = answer();
    let parsed: ChatCompletion = serde_json::from_slice(&body).expect("parses");
    assert!(guard.check(&parsed).is_ok());

    let mut g = c.benchmark_group("guard/structured_answer");
    g.bench_function("baseline_parse_answer", |b| {
        b.iter(|| serde_json::from_slice::<ChatCompletion>(black_box(&body)).expect("parses"))
    });
    g.bench_function("parse_and_guard", |b| {
        b.iter(|| {
            let completion: ChatCompletion =
                serde_json::from_slice(black_box(&body)).expect("parses");
            guard.check(&completion).expect("valid");
            completion
        })
    });
    g.bench_function("compile_schema_once_per_shape", |b| {
        b.iter(|| SchemaGuard::for_request(black_box(&request)).expect("a schema"))
    });
    g.finish();
}

criterion_group!(benches, guard);
criterion_main!(benches);
