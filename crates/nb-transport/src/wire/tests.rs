use serde::de::DeserializeOwned;
use serde_json::json;

use super::*;

/// Parses `value` as `T`, serializes it back, and checks nothing was lost.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(value: &Value) -> T {
    let parsed: T = serde_json::from_value(value.clone()).unwrap();
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(&back, value, "lossless round trip");
    let again: T = serde_json::from_value(back).unwrap();
    assert_eq!(again, parsed);
    parsed
}

#[test]
fn request_with_everything_round_trips() {
    let value = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": "Be terse."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?", "cache_control": {"type": "ephemeral"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-1"}},
                {"type": "image_url", "image_url": "https://bare.string/not/an/object.png"}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":1}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "42"},
            {"role": "critic", "content": "unknown roles survive", "reasoning_content": "hm"}
        ],
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 100,
        "max_completion_tokens": 200,
        "n": 1,
        "stop": ["\n\n", "END"],
        "seed": -7,
        "stream": true,
        "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "d",
                    "parameters": {"type": "object"}, "strict": true}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "parallel_tool_calls": false,
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}, "strict": true}},
        "user": "end-user-7",
        "logit_bias": {"50256": -100},
        "enable_thinking": false
    });
    // `"content": null` is dropped on output: compare without it.
    let mut expected = value.clone();
    expected["messages"][2]
        .as_object_mut()
        .unwrap()
        .remove("content");
    let req: ChatCompletionRequest = serde_json::from_value(value).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), expected);
    round_trip::<ChatCompletionRequest>(&expected);

    assert_eq!(req.messages[4].role, Role::Other("critic".to_owned()));
    assert_eq!(req.messages[4].extra["reasoning_content"], "hm");
    assert_eq!(req.extra["enable_thinking"], false);
    let Some(Content::Parts(parts)) = &req.messages[1].content else {
        panic!("parts")
    };
    let kinds: Vec<_> = parts.iter().map(ContentPart::kind).collect();
    assert_eq!(
        kinds,
        ["text", "image_url", "input_audio", "file", "image_url"]
    );
    assert!(
        matches!(&parts[0], ContentPart::Text { extra, .. } if extra.contains_key("cache_control"))
    );
    assert!(
        matches!(&parts[4], ContentPart::Other(_)),
        "an unexpected shape is kept whole"
    );
    assert_eq!(req.tool_choice, Some(ToolChoice::function("lookup")));
    assert_eq!(
        req.messages[2].tool_calls.as_ref().unwrap()[0]
            .function
            .name,
        "lookup"
    );
}

#[test]
fn builders_make_the_expected_json() {
    let req = ChatCompletionRequest::new("m")
        .system("s")
        .user_message("u")
        .assistant("a")
        .max_tokens(5)
        .tool(Tool::function("f", "does f", json!({"type": "object"})))
        .response_format(ResponseFormat::json_object())
        .stream(true);
    assert!(req.ends_with_assistant());
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(
        v,
        json!({
            "model": "m",
            "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                         {"role": "assistant", "content": "a"}],
            "max_tokens": 5,
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "f", "description": "does f",
                       "parameters": {"type": "object"}}}],
            "response_format": {"type": "json_object"}
        })
    );
    assert_eq!(req.stream(false).stream_options, None);
    let parts = Message::user_parts(vec![
        ContentPart::text("t"),
        ContentPart::image_url("u"),
        ContentPart::input_audio("d", "mp3"),
    ]);
    assert_eq!(
        serde_json::to_value(&parts).unwrap(),
        json!({"role": "user", "content": [{"type": "text", "text": "t"},
            {"type": "image_url", "image_url": {"url": "u"}},
            {"type": "input_audio", "input_audio": {"data": "d", "format": "mp3"}}]})
    );
    assert_eq!(
        serde_json::to_value(ToolChoice::required()).unwrap(),
        "required"
    );
    let tool = Message::tool("c1", "out");
    assert_eq!(
        serde_json::to_value(&tool).unwrap(),
        json!({"role": "tool", "content": "out", "tool_call_id": "c1"})
    );
}

#[test]
fn response_and_usage_round_trip() {
    let value = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000u64, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": null,
                      "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10,
                  "prompt_tokens_details": {"cached_tokens": 0}},
        "system_fingerprint": "fp_1", "service_tier": "default", "x_groq": {"id": "g"}
    });
    let mut expected = value.clone();
    expected["choices"][0]
        .as_object_mut()
        .unwrap()
        .remove("logprobs");
    expected["choices"][0]["message"]
        .as_object_mut()
        .unwrap()
        .remove("refusal");
    let resp: ChatCompletion = round_trip(&expected);
    assert_eq!(
        serde_json::from_value::<ChatCompletion>(value).unwrap(),
        resp
    );
    assert_eq!(resp.text(), Some("Hi"));
    assert_eq!(resp.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(
        resp.usage.as_ref().unwrap().extra["prompt_tokens_details"]["cached_tokens"],
        0
    );
    assert_eq!(resp.extra["x_groq"]["id"], "g");

    // Sparse providers: no id, object, created, index; still parses (the index is written back as 0).
    let sparse: ChatCompletion = round_trip(
        &json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"},
                                                                  "finish_reason": "eos_token"}]}),
    );
    let sparser: ChatCompletion = serde_json::from_value(
        json!({"choices": [{"message": {"role": "assistant", "content": "x"},
                                                                  "finish_reason": "eos_token"}]}),
    )
    .unwrap();
    assert_eq!(sparser, sparse);
    assert_eq!(
        sparse.finish_reason(),
        Some(&FinishReason::Other("eos_token".to_owned()))
    );
}

#[test]
fn chunks_round_trip() {
    let first: ChatCompletionChunk = round_trip(
        &json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "reasoning_content": "think"}}]}),
    );
    assert_eq!(first.content(), Some(""));
    assert_eq!(first.choices[0].delta.extra["reasoning_content"], "think");
    let tool: ChatCompletionChunk = round_trip(
        &json!({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_9", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}]}}]}),
    );
    assert_eq!(
        tool.choices[0].delta.tool_calls.as_ref().unwrap()[0]
            .id
            .as_deref(),
        Some("call_9")
    );
    let last: ChatCompletionChunk =
        round_trip(&json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}));
    assert_eq!(last.finish_reason(), Some(&FinishReason::Length));
    let usage: ChatCompletionChunk = round_trip(
        &json!({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}),
    );
    assert_eq!(usage.usage.unwrap().total_tokens, 3);
    // `choices` is always written, as OpenAI does in its usage chunk.
    let err: ChatCompletionChunk = round_trip(
        &json!({"choices": [], "error": {"message": "overloaded", "type": "server_error"}}),
    );
    assert_eq!(err.error().unwrap()["type"], "server_error");
}

/// JSON trees built from the wire types' own field names and values, so
/// that many of them parse into the typed paths.
fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    const KEYS: &[&str] = &[
        "model",
        "messages",
        "role",
        "content",
        "type",
        "text",
        "image_url",
        "url",
        "input_audio",
        "data",
        "format",
        "tool_calls",
        "id",
        "function",
        "name",
        "arguments",
        "tools",
        "tool_choice",
        "stop",
        "stream",
        "stream_options",
        "include_usage",
        "choices",
        "delta",
        "message",
        "finish_reason",
        "index",
        "usage",
        "prompt_tokens",
        "response_format",
        "json_schema",
        "schema",
        "error",
        "temperature",
        "n",
        "extra_field",
    ];
    const WORDS: &[&str] = &[
        "user",
        "assistant",
        "tool",
        "text",
        "image_url",
        "function",
        "stop",
        "auto",
        "[DONE]",
        "",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..100).prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..6).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// Whatever parses as `T` re-serializes to something that parses back
/// to the same value.
fn reparses<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(value: &Value) -> bool {
    let Ok(parsed) = serde_json::from_value::<T>(value.clone()) else {
        return false;
    };
    let text = serde_json::to_string(&parsed).unwrap();
    let again: T = serde_json::from_str(&text).unwrap();
    assert_eq!(again, parsed, "{text}");
    true
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    #[test]
    fn generated_json_round_trips(value in json_value()) {
        reparses::<ChatCompletionRequest>(&value);
        reparses::<ChatCompletion>(&value);
        reparses::<ChatCompletionChunk>(&value);
        reparses::<Message>(&value);
        reparses::<ContentPart>(&value);
    }

    #[test]
    fn no_panic_on_any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<ChatCompletionRequest>(&bytes);
        let _ = serde_json::from_slice::<ChatCompletion>(&bytes);
        let _ = serde_json::from_slice::<ChatCompletionChunk>(&bytes);
        let _ = anthropic::from_messages_response(&bytes);
    }

    /// The Anthropic translation never panics: any request that parses
    /// translates or says why not, and any response or event is read or
    /// refused.
    #[test]
    fn the_protocol_translations_never_panic(value in json_value(), name in "[a-z_]{0,24}") {
        if let Ok(request) = serde_json::from_value::<ChatCompletionRequest>(value.clone()) {
            let _ = anthropic::to_messages_request(&request);
        }
        let text = value.to_string();
        let _ = anthropic::from_messages_response(text.as_bytes());
        let _ = gemini::from_generate_response(text.as_bytes());
        let _ = gemini::chunk_from_event(text.as_bytes(), 0);
        if let Ok(request) = serde_json::from_value::<ChatCompletionRequest>(value.clone()) {
            let _ = gemini::to_generate_request(&request);
        }
        let mut stream = anthropic::MessagesStream::default();
        for event in ["message_start", "content_block_start", "content_block_delta", "message_delta", name.as_str()] {
            let _ = stream.event(event, &text);
        }
    }
}

#[test]
fn the_generator_reaches_the_typed_paths() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let parsed = (0..2000)
        .filter(|_| {
            let value = json_value().new_tree(&mut runner).unwrap().current();
            reparses::<Message>(&value) || reparses::<ChatCompletionChunk>(&value)
        })
        .count();
    assert!(parsed > 20, "only {parsed} of 2000 generated values parsed");
}

#[test]
fn string_enums_keep_unknown_values() {
    for (s, known) in [("assistant", true), ("tool", true), ("narrator", false)] {
        let role: Role = serde_json::from_value(json!(s)).unwrap();
        assert_eq!(role.as_str(), s);
        assert_eq!(matches!(role, Role::Other(_)), !known);
        assert_eq!(serde_json::to_value(&role).unwrap(), s);
    }
    assert!(serde_json::from_value::<Role>(json!(3)).is_err());
    assert_eq!(
        FinishReason::from("content_filter"),
        FinishReason::ContentFilter
    );
    assert_eq!(FinishReason::ToolCalls.to_string(), "tool_calls");
}
