use serde_json::json;

use super::*;

fn request(messages: Vec<Message>) -> ChatCompletionRequest {
    ChatCompletionRequest {
        messages,
        ..ChatCompletionRequest::new("gemini-2.5-flash")
    }
}

#[test]
fn a_chat_request_becomes_a_generate_content_request() {
    let mut call = Message::assistant("Checking.");
    call.tool_calls = Some(vec![ToolCall {
        id: "call_7".into(),
        kind: "function".into(),
        function: FunctionCall {
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    }]);
    let mut req = request(vec![
        Message::system("Be brief."),
        Message::user_parts(vec![
            ContentPart::text("What is this?"),
            ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
        ]),
        call,
        Message::tool("call_7", "18 °C"),
    ]);
    req.max_completion_tokens = Some(100);
    req.temperature = Some(0.3);
    req.stop = Some(Stop::One("END".into()));
    req.seed = Some(9);
    req.user = Some("dropped".into());
    req.tools = Some(vec![
        serde_json::from_value(json!({
            "type": "function",
            "function": {"name": "get_weather", "parameters": {"type": "object"}}
        }))
        .unwrap(),
    ]);
    req.tool_choice = Some(ToolChoice::function("get_weather"));
    req.extra.insert(
        "safetySettings".into(),
        json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]),
    );
    let body = to_generate_request(&req).unwrap();
    assert_eq!(
        body,
        json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [
                {"role": "user", "parts": [
                    {"text": "What is this?"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                ]},
                {"role": "model", "parts": [
                    {"text": "Checking."},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"content": "18 °C"}}}
                ]},
            ],
            "generationConfig": {"temperature": 0.3, "maxOutputTokens": 100, "seed": 9, "stopSequences": ["END"]},
            "tools": [{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "object"}}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        })
    );
    let mut structured = request(vec![Message::user("JSON please")]);
    structured.response_format = Some(
        serde_json::from_value(json!({
            "type": "json_schema",
            "json_schema": {"name": "a", "schema": {"type": "object", "required": ["x"]}}
        }))
        .unwrap(),
    );
    let body = to_generate_request(&structured).unwrap();
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        body["generationConfig"]["responseJsonSchema"]["required"][0],
        "x"
    );
}

#[test]
fn what_gemini_cannot_honour_is_a_typed_error() {
    let by_url = request(vec![Message::user_parts(vec![ContentPart::image_url(
        "https://example.com/cat.jpg",
    )])]);
    assert!(matches!(
        to_generate_request(&by_url),
        Err(TranslateError::Unsupported { .. })
    ));
    let logprobs = ChatCompletionRequest {
        logprobs: Some(true),
        ..request(vec![Message::user("Hi")])
    };
    assert!(to_generate_request(&logprobs).is_err());
}

#[test]
fn a_response_becomes_a_completion_and_a_safety_block_a_content_filter() {
    let body = br#"{"candidates":[{"content":{"role":"model","parts":[
            {"text":"Thinking it over","thought":true},
            {"text":"Hello"},{"functionCall":{"name":"f","args":{"a":1}}}]},
        "finishReason":"STOP"}],
        "usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":6,"thoughtsTokenCount":2,"totalTokenCount":12},
        "modelVersion":"gemini-2.5-flash","responseId":"r1"}"#;
    let c = from_generate_response(body).unwrap();
    assert_eq!(c.text(), Some("Hello"));
    assert_eq!(c.model, "gemini-2.5-flash");
    assert_eq!(c.finish_reason(), Some(&FinishReason::ToolCalls));
    let call = &c.choices[0].message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(
        (
            call.function.name.as_str(),
            call.function.arguments.as_str()
        ),
        ("f", r#"{"a":1}"#)
    );
    assert_eq!(
        c.choices[0].message.extra["reasoning_content"],
        "Thinking it over"
    );
    let u = c.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (4, 8, 12)
    );

    let blocked = br#"{"candidates":[{"finishReason":"SAFETY","safetyRatings":[]}]}"#;
    let c = from_generate_response(blocked).unwrap();
    assert_eq!(c.finish_reason(), Some(&FinishReason::ContentFilter));
    let prompt_blocked = br#"{"promptFeedback":{"blockReason":"SAFETY"}}"#;
    let c = from_generate_response(prompt_blocked).unwrap();
    assert_eq!(c.finish_reason(), Some(&FinishReason::ContentFilter));
    assert_eq!(
        from_generate_response(
            br#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"MAX_TOKENS"}]}"#
        )
        .unwrap()
        .finish_reason(),
        Some(&FinishReason::Length)
    );
}

#[test]
fn stream_events_become_chunks() {
    let first = chunk_from_event(
        br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}],"modelVersion":"gemini-2.5-flash"}"#,
        0,
    )
    .unwrap();
    assert_eq!(first.content(), Some("Hel"));
    assert_eq!(first.finish_reason(), None);
    assert!(first.usage.is_none());
    let last = chunk_from_event(
        br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP"}],
            "usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}"#,
        0,
    )
    .unwrap();
    assert_eq!(last.content(), Some("lo"));
    assert_eq!(last.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(last.usage.as_ref().map(|u| u.total_tokens), Some(5));
    let call = chunk_from_event(
        br#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]}}]}"#,
        2,
    )
    .unwrap();
    let tc = &call.choices[0].delta.tool_calls.as_ref().unwrap()[0];
    assert_eq!((tc.index, tc.id.as_deref()), (2, Some("call_2")));
    assert!(chunk_from_event(b"{broken", 0).is_err());
}
