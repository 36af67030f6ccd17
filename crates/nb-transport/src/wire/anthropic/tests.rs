use serde_json::json;

use super::*;

fn request(messages: Vec<Message>) -> ChatCompletionRequest {
    ChatCompletionRequest {
        messages,
        ..ChatCompletionRequest::new("claude-sonnet-4-5")
    }
}

#[test]
fn a_chat_request_becomes_a_messages_request() {
    let mut req = request(vec![
        Message::system("Be brief."),
        Message::developer("Answer in French."),
        Message::user_parts(vec![
            ContentPart::text("What is this?"),
            ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
            ContentPart::image_url("https://example.com/cat.jpg"),
        ]),
        Message::assistant("C'est"),
    ]);
    req.max_completion_tokens = Some(256);
    req.temperature = Some(0.2);
    req.stop = Some(Stop::One("END".into()));
    req.stream = Some(true);
    req.user = Some("user-7".into());
    req.seed = Some(3);
    req.presence_penalty = Some(0.5);
    req.extra.insert(
        "thinking".into(),
        json!({"type": "enabled", "budget_tokens": 1024}),
    );
    let body = to_messages_request(&req).unwrap();
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5",
            "system": "Be brief.\n\nAnswer in French.",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                ]},
                // The last assistant message is a prefill Anthropic continues.
                {"role": "assistant", "content": [{"type": "text", "text": "C'est"}]},
            ],
            "max_tokens": 256,
            "temperature": 0.2,
            "stop_sequences": ["END"],
            "stream": true,
            "metadata": {"user_id": "user-7"},
            "thinking": {"type": "enabled", "budget_tokens": 1024},
        })
    );
    // No limit given: the documented default, which Anthropic requires.
    let body = to_messages_request(&request(vec![Message::user("Hi")])).unwrap();
    assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
    assert!(body.get("system").is_none());
}

#[test]
fn tools_calls_and_results_map_one_to_one() {
    let mut call = Message::assistant("");
    call.content = None;
    call.tool_calls = Some(vec![ToolCall {
        id: "toolu_1".into(),
        kind: "function".into(),
        function: FunctionCall {
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    }]);
    let mut req = request(vec![
        Message::user("Weather in Paris?"),
        call,
        Message::tool("toolu_1", "18 °C"),
    ]);
    req.tools = Some(vec![serde_json::from_value(json!({
        "type": "function",
        "function": {"name": "get_weather", "description": "Current weather",
                     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    }))
    .unwrap()]);
    req.tool_choice = Some(ToolChoice::required());
    req.parallel_tool_calls = Some(false);
    let body = to_messages_request(&req).unwrap();
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 °C"}
        ]})
    );
    assert_eq!(
        body["tools"],
        json!([{"name": "get_weather", "description": "Current weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    req.tool_choice = Some(ToolChoice::function("get_weather"));
    req.parallel_tool_calls = None;
    let body = to_messages_request(&req).unwrap();
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "get_weather"})
    );
}

#[test]
fn what_anthropic_cannot_honour_is_a_typed_error() {
    let field = |req: &ChatCompletionRequest| match to_messages_request(req) {
        Err(TranslateError::Unsupported { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let base = || request(vec![Message::user("Hi")]);
    assert_eq!(
        field(&ChatCompletionRequest {
            n: Some(2),
            ..base()
        }),
        "n"
    );
    assert_eq!(
        field(&ChatCompletionRequest {
            logprobs: Some(true),
            ..base()
        }),
        "logprobs"
    );
    assert_eq!(
        field(&ChatCompletionRequest {
            response_format: Some(ResponseFormat::json_object()),
            ..base()
        }),
        "response_format"
    );
    let mut req = base();
    req.extra
        .insert("logit_bias".into(), json!({"50256": -100}));
    assert_eq!(field(&req), "logit_bias");
    let audio = request(vec![Message::user_parts(vec![ContentPart::input_audio(
        "AAAA", "wav",
    )])]);
    assert_eq!(field(&audio), "content of type input_audio");
    let mut bad = Message::assistant("");
    bad.tool_calls = Some(vec![ToolCall {
        id: "t".into(),
        kind: "function".into(),
        function: FunctionCall {
            name: "f".into(),
            arguments: "{not json".into(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    }]);
    assert!(matches!(
        to_messages_request(&request(vec![Message::user("Hi"), bad])),
        Err(TranslateError::Invalid { .. })
    ));
}

#[test]
fn a_messages_response_becomes_a_completion() {
    let body = br#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",
        "content":[{"type":"thinking","thinking":"Paris, so...","signature":"x"},
                   {"type":"text","text":"Let me check."},
                   {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
        "stop_reason":"tool_use","stop_sequence":null,
        "usage":{"input_tokens":20,"cache_read_input_tokens":5,"output_tokens":12}}"#;
    let c = from_messages_response(body).unwrap();
    assert_eq!(
        (c.id.as_str(), c.model.as_str()),
        ("msg_01", "claude-sonnet-4-5")
    );
    assert_eq!(c.text(), Some("Let me check."));
    assert_eq!(c.finish_reason(), Some(&FinishReason::ToolCalls));
    let call = &c.choices[0].message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.name, "get_weather");
    assert_eq!(call.function.arguments, r#"{"city":"Paris"}"#);
    assert_eq!(
        c.choices[0].message.extra["reasoning_content"],
        "Paris, so..."
    );
    let u = c.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (25, 12, 37)
    );
    for (stop, reason) in [
        ("end_turn", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("refusal", FinishReason::ContentFilter),
    ] {
        let body =
            format!(r#"{{"content":[{{"type":"text","text":"x"}}],"stop_reason":"{stop}"}}"#);
        let c = from_messages_response(body.as_bytes()).unwrap();
        assert_eq!(c.finish_reason(), Some(&reason), "{stop}");
    }
    assert!(from_messages_response(b"not json").is_err());
}

#[test]
fn a_messages_stream_becomes_chunks() {
    let events = [
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":1}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":15}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ];
    let mut s = MessagesStream::default();
    let steps: Vec<StreamStep> = events
        .iter()
        .map(|(name, data)| s.event(name, data).unwrap())
        .collect();
    let chunks: Vec<&ChatCompletionChunk> = steps
        .iter()
        .filter_map(|s| match s {
            StreamStep::Chunk(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(chunks.len(), 6, "{steps:?}");
    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    assert_eq!(chunks[1].content(), Some("Hello"));
    assert!(
        chunks
            .iter()
            .all(|c| c.id == "msg_1" && c.model == "claude-sonnet-4-5")
    );
    let first = &chunks[2].choices[0].delta.tool_calls.as_ref().unwrap()[0];
    assert_eq!((first.index, first.id.as_deref()), (0, Some("toolu_1")));
    let args: String = chunks[3..5]
        .iter()
        .map(|c| {
            c.choices[0].delta.tool_calls.as_ref().unwrap()[0]
                .function
                .as_ref()
                .unwrap()
                .arguments
                .clone()
                .unwrap()
        })
        .collect();
    assert_eq!(args, r#"{"city": "Paris"}"#);
    assert_eq!(chunks[5].finish_reason(), Some(&FinishReason::ToolCalls));
    let u = chunks[5].usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (25, 15));
    assert_eq!(steps.last(), Some(&StreamStep::Done));

    // An in-band error event mid-stream, as Anthropic sends an overload.
    let data = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    assert_eq!(
        s.event("error", data).unwrap(),
        StreamStep::Error(data.to_owned())
    );
    assert!(s.event("content_block_delta", "{broken").is_err());
}
