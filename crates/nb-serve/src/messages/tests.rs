use nb_transport::{ChatCompletionChunk, Role, ToolChoice};
use serde_json::{Value, json};

use super::*;

fn chat(body: Value) -> ChatRequest {
    to_chat(body.to_string().as_bytes()).unwrap()
}

/// The data of each `event:` in a Messages stream, with its name.
fn events(stream: &str) -> Vec<(String, Value)> {
    stream
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_owned();
            let data = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            (name, data)
        })
        .collect()
}

#[test]
fn a_documented_messages_request_reads_as_the_chat_it_means() {
    let request = chat(json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{ "type": "text", "text": "Be brief.", "cache_control": { "type": "ephemeral" } }],
        "messages": [
            { "role": "user", "content": [
                { "type": "image", "source": { "type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ" } },
                { "type": "text", "text": "What is this?" }
            ]},
            { "role": "assistant", "content": [
                { "type": "thinking", "thinking": "...", "signature": "sig" },
                { "type": "text", "text": "Let me look it up." },
                { "type": "tool_use", "id": "toolu_01", "name": "lookup", "input": { "q": "cat" } }
            ]},
            { "role": "user", "content": [
                { "type": "tool_result", "tool_use_id": "toolu_01", "content": [{ "type": "text", "text": "a cat" }] },
                { "type": "text", "text": "And now?" }
            ]}
        ],
        "temperature": 0.2,
        "top_k": 5,
        "service_tier": "auto",
        "stop_sequences": ["END"],
        "metadata": { "user_id": "u-42" },
        "tools": [{ "name": "lookup", "description": "Look up", "input_schema": { "type": "object" } }],
        "tool_choice": { "type": "any", "disable_parallel_tool_use": true },
        "thinking": { "type": "disabled" }
    }));
    assert_eq!(request.model, "claude-sonnet-4-5");
    assert_eq!(request.max_tokens, Some(1024));
    let roles: Vec<&Role> = request.messages.iter().map(|m| &m.role).collect();
    assert_eq!(
        roles,
        [
            &Role::System,
            &Role::User,
            &Role::Assistant,
            &Role::Tool,
            &Role::User
        ]
    );
    assert_eq!(request.messages[0].text(), Some("Be brief."));
    let user = serde_json::to_value(&request.messages[1]).unwrap();
    assert_eq!(
        user["content"][0]["image_url"]["url"],
        "data:image/jpeg;base64,/9j/4AAQ"
    );
    let assistant = &request.messages[2];
    assert_eq!(
        assistant.text(),
        Some("Let me look it up."),
        "thinking dropped"
    );
    let call = &assistant.tool_calls.as_ref().unwrap()[0];
    assert_eq!(
        (call.id.as_str(), call.function.name.as_str()),
        ("toolu_01", "lookup")
    );
    assert_eq!(call.function.arguments, r#"{"q":"cat"}"#);
    assert_eq!(
        request.messages[3].tool_call_id.as_deref(),
        Some("toolu_01")
    );
    assert_eq!(request.messages[3].text(), Some("a cat"));
    assert_eq!(request.messages[4].text(), Some("And now?"));
    assert_eq!(request.temperature, Some(0.2));
    assert_eq!(request.user.as_deref(), Some("u-42"));
    let tools = request.tools.as_ref().unwrap();
    assert_eq!(tools[0].function.as_ref().unwrap().name, "lookup");
    assert!(matches!(&request.tool_choice, Some(ToolChoice::Mode(m)) if m == "required"));
    assert_eq!(request.parallel_tool_calls, Some(false));
    // Hints with no common meaning are dropped, not passed to targets that would refuse them.
    assert!(request.extra.is_empty(), "{:?}", request.extra);
    let stop = serde_json::to_value(&request.stop).unwrap();
    assert_eq!(stop, json!(["END"]));
}

#[test]
fn a_streamed_request_asks_for_usage() {
    let request = chat(json!({
        "model": "m", "max_tokens": 10, "stream": true,
        "messages": [{ "role": "user", "content": "Hi" }]
    }));
    assert_eq!(request.stream, Some(true));
    assert_eq!(
        request
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage),
        Some(true)
    );
}

#[test]
fn what_cannot_be_carried_is_a_clear_error_naming_the_field() {
    let cases = [
        (
            json!({ "model": "m", "messages": [{ "role": "user", "content": "Hi" }] }),
            "max_tokens",
        ),
        (json!({ "model": "m", "max_tokens": 5 }), "messages"),
        (
            json!({ "model": "m", "max_tokens": 5, "messages": [{ "role": "user", "content": [
                { "type": "document", "source": { "type": "base64", "media_type": "application/pdf", "data": "" } }
            ]}]}),
            "messages",
        ),
        (
            json!({ "model": "m", "max_tokens": 5, "messages": [{ "role": "user", "content": "Hi" }],
                    "tools": [{ "type": "web_search_20250305", "name": "web_search" }] }),
            "tools",
        ),
        (
            json!({ "model": "m", "max_tokens": 5, "messages": [{ "role": "user", "content": "Hi" }],
                    "tool_choice": { "type": "sometimes" } }),
            "tool_choice",
        ),
        (
            json!({ "model": "m", "max_tokens": 5, "messages": [{ "role": "system", "content": "Hi" }] }),
            "messages",
        ),
        (
            json!({ "model": "m", "max_tokens": 5, "messages": [{ "role": "user", "content": "Hi" }],
                    "thinking": { "type": "enabled", "budget_tokens": 2048 } }),
            "thinking",
        ),
    ];
    for (body, param) in cases {
        let err = to_chat(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.param, Some(param), "{body}");
        assert!(!err.message.is_empty());
    }
    let unknown = json!({ "model": "m", "max_tokens": 5,
        "messages": [{ "role": "user", "content": "Hi" }], "mcp_servers": [] });
    let err = to_chat(unknown.to_string().as_bytes()).unwrap_err();
    assert!(err.message.contains("mcp_servers"), "{}", err.message);
    assert_eq!(to_chat(b"[1, 2]").unwrap_err().param, None);
    assert_eq!(to_chat(b"\xff\xfe").unwrap_err().param, None);
}

#[test]
fn a_completion_reads_back_as_a_message_with_its_tool_calls() {
    let completion: ChatCompletion = serde_json::from_value(json!({
        "id": "chatcmpl-9", "model": "gpt-4o",
        "choices": [{ "index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Looking.",
            "tool_calls": [{ "id": "call_1", "type": "function",
                             "function": { "name": "lookup", "arguments": "{\"q\":\"cat\"}" } }]
        }}],
        "usage": { "prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19 }
    }))
    .unwrap();
    let message = to_message(&completion, "fallback-name");
    assert_eq!(message["id"], "msg_chatcmpl-9");
    assert_eq!(message["type"], "message");
    assert_eq!(message["model"], "gpt-4o");
    assert_eq!(
        message["content"][0],
        json!({ "type": "text", "text": "Looking." })
    );
    assert_eq!(message["content"][1]["type"], "tool_use");
    assert_eq!(message["content"][1]["input"], json!({ "q": "cat" }));
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(
        message["usage"],
        json!({ "input_tokens": 12, "output_tokens": 7 })
    );

    let length: ChatCompletion = serde_json::from_value(json!({
        "choices": [{ "finish_reason": "length", "message": { "role": "assistant", "content": "Cut" } }]
    }))
    .unwrap();
    let message = to_message(&length, "served");
    assert_eq!(message["model"], "served");
    assert_eq!(message["stop_reason"], "max_tokens");
}

fn chunk(value: Value) -> ChatCompletionChunk {
    serde_json::from_value(value).unwrap()
}

#[test]
fn chunks_become_messages_events_block_by_block() {
    let mut writer = MessagesEvents::default();
    let mut out = String::new();
    for c in [
        json!({ "id": "c1", "model": "gpt-4o", "choices": [{ "delta": { "role": "assistant", "content": "" } }] }),
        json!({ "id": "c1", "model": "gpt-4o", "choices": [{ "delta": { "content": "Hel" } }] }),
        json!({ "id": "c1", "model": "gpt-4o", "choices": [{ "delta": { "content": "lo" } }] }),
        json!({ "id": "c1", "model": "gpt-4o", "choices": [{ "delta": { "tool_calls": [
            { "index": 0, "id": "call_1", "type": "function", "function": { "name": "lookup", "arguments": "" } }
        ]}}]}),
        json!({ "id": "c1", "model": "gpt-4o", "choices": [{ "delta": { "tool_calls": [
            { "index": 0, "function": { "arguments": "{\"q\":" } }
        ]}}]}),
        json!({ "id": "c1", "model": "gpt-4o", "choices": [{ "delta": { "tool_calls": [
            { "index": 0, "function": { "arguments": "\"cat\"}" } }
        ]}, "finish_reason": "tool_calls" }]}),
        json!({ "id": "c1", "model": "gpt-4o", "choices": [],
                "usage": { "prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13 } }),
    ] {
        out.push_str(&writer.chunk(&chunk(c), "served"));
    }
    out.push_str(&writer.finish("nb", "served"));
    let events = events(&out);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert_eq!(events[0].1["message"]["id"], "msg_c1");
    assert_eq!(events[0].1["message"]["model"], "gpt-4o");
    assert_eq!(
        events[2].1["delta"],
        json!({ "type": "text_delta", "text": "Hel" })
    );
    assert_eq!(events[5].1["index"], 1);
    assert_eq!(events[5].1["content_block"]["name"], "lookup");
    assert_eq!(events[7].1["delta"]["partial_json"], "\"cat\"}");
    assert_eq!(events[9].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(events[9].1["usage"]["output_tokens"], 4);
    assert_eq!(events[9].1["usage"]["input_tokens"], 9);
}

#[test]
fn a_stream_with_no_content_is_still_a_whole_message() {
    let mut writer = MessagesEvents::default();
    let names: Vec<String> = events(&writer.finish("nb", "served"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["message_start", "message_delta", "message_stop"]);
}

#[test]
fn errors_take_anthropics_shape_and_keep_what_neuralbridge_adds() {
    let openai = json!({ "error": { "message": "All targets failed.", "type": "server_error",
        "param": null, "code": "overloaded", "neuralbridge": { "category": "overloaded" } } });
    let body: Value =
        serde_json::from_slice(&error_body(529, openai.to_string().as_bytes())).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "overloaded_error");
    assert_eq!(body["error"]["message"], "All targets failed.");
    assert_eq!(body["error"]["code"], "overloaded");
    assert_eq!(body["error"]["neuralbridge"]["category"], "overloaded");
    assert!(body["error"].get("param").is_none());
    for (status, kind) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (503, "overloaded_error"),
        (502, "api_error"),
    ] {
        let body: Value = serde_json::from_slice(&error_body(status, b"not json")).unwrap();
        assert_eq!(body["error"]["type"], kind, "{status}");
        assert!(body["error"]["message"].is_string());
    }
    let event = String::from_utf8(stream_error("overloaded_error", "Overloaded").to_vec()).unwrap();
    assert_eq!(events(&event)[0].0, "error");
    assert_eq!(events(&event)[0].1["error"]["type"], "overloaded_error");
}
