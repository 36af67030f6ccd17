//! The schema guard through the cascade, against a scripted transport.

use http::StatusCode;
use nb_diagnose::ErrorCategory;
use nb_transport::{MockReply, ResponseFormat, Tool};
use serde_json::json;

use crate::error::ErrorKind;
use crate::tests::{builder, calls, chunk, drain, finish, request, scripted, sse};
use crate::{ChatRequest, SCHEMA_VIOLATION};

fn person() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": false
    })
}

fn structured() -> ChatRequest {
    request().response_format(ResponseFormat::json_schema("person", person()))
}

fn tool_call(model: &str, name: &str, arguments: &str) -> MockReply {
    MockReply::json(
        StatusCode::OK,
        &json!({"id": "x", "object": "chat.completion", "model": model, "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": name, "arguments": arguments}
            }]},
            "finish_reason": "tool_calls"
        }]}),
    )
}

#[tokio::test(start_paused = true)]
async fn an_answer_off_the_schema_is_fallen_back_from_and_the_valid_one_served() {
    let mock = scripted(|model, _| match model {
        // Well-formed JSON, the wrong shape: `age` is a string.
        "primary" => MockReply::chat(model, r#"{"name": "Ada", "age": "thirty-six"}"#),
        m => MockReply::chat(m, r#"{"name": "Ada", "age": 36}"#),
    });
    let client = builder(&mock).max_retries(0).build().unwrap();
    let response = client.chat().create(structured()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    assert_eq!(response.text(), Some(r#"{"name": "Ada", "age": 36}"#));
    let d = response.attempts()[0].diagnosis().unwrap();
    assert_eq!(d.category, ErrorCategory::MalformedResponse);
    assert_eq!(d.sub_category, SCHEMA_VIOLATION);
    assert!(d.root_cause.contains("/age"), "{}", d.root_cause);
}

#[tokio::test(start_paused = true)]
async fn text_that_is_not_json_violates_a_schema_too() {
    let mock = scripted(|model, _| match model {
        "primary" => MockReply::chat(model, "Ada, 36"),
        m => MockReply::chat(m, r#"{"name": "Ada", "age": 36}"#),
    });
    let client = builder(&mock).max_retries(0).build().unwrap();
    let response = client.chat().create(structured()).await.unwrap();
    assert_eq!(response.served_by(), "secondary");
    let d = response.attempts()[0].diagnosis().unwrap();
    assert_eq!(d.sub_category, SCHEMA_VIOLATION);
}

#[tokio::test(start_paused = true)]
async fn tool_call_arguments_off_the_tools_parameters_are_fallen_back_from() {
    let mock = scripted(|model, _| match model {
        "primary" => tool_call(model, "save_person", r#"{"name": "Ada"}"#),
        "secondary" => tool_call(model, "delete_everything", "{}"),
        m => tool_call(m, "save_person", r#"{"name": "Ada", "age": 36}"#),
    });
    let client = builder(&mock).max_retries(0).build().unwrap();
    let request = request().tool(Tool::function("save_person", "Saves a person", person()));
    let response = client.chat().create(request).await.unwrap();
    assert_eq!(response.served_by(), "tertiary");
    let causes: Vec<String> = response
        .attempts()
        .iter()
        .filter_map(|a| a.diagnosis().map(|d| d.root_cause.to_string()))
        .collect();
    assert!(causes[0].contains("save_person"), "{causes:?}");
    assert!(causes[1].contains("did not offer"), "{causes:?}");
}

#[tokio::test(start_paused = true)]
async fn a_request_without_structure_gets_no_guard_and_an_uncompilable_schema_is_left_to_the_provider()
 {
    let mock = scripted(|model, _| MockReply::chat(model, "plain words"));
    let client = builder(&mock).build().unwrap();
    let plain = client.chat().create(request()).await.unwrap();
    assert_eq!(plain.served_by(), "primary");
    let odd = request().response_format(ResponseFormat::json_schema(
        "odd",
        json!({"type": "no-such-type"}),
    ));
    let served = client.chat().create(odd).await.unwrap();
    assert_eq!(served.served_by(), "primary");
    assert_eq!(calls(&mock, "primary"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_streamed_answer_off_the_schema_is_never_reported_complete() {
    let mock = scripted(|model, _| {
        sse(&[
            &chunk(model, r#"{"name": "Ada", "#),
            &chunk(model, r#""age": "old"}"#),
            &finish(model),
            "[DONE]",
        ])
    });
    let client = builder(&mock).build().unwrap();
    let stream = client.chat().stream(structured()).await.unwrap();
    let (text, end, _) = drain(stream).await;
    let error = end.unwrap_err();
    assert_eq!(
        error.kind(),
        &ErrorKind::AnswerRejected {
            partial: text.clone()
        }
    );
    assert_eq!(error.partial(), Some(r#"{"name": "Ada", "age": "old"}"#));
    let d = error.diagnosis().unwrap();
    assert_eq!(d.sub_category, SCHEMA_VIOLATION);
    // The serving attempt is recorded as the failure it was.
    let last = error.attempts().last().unwrap();
    assert_eq!(
        last.diagnosis().map(|d| d.category),
        Some(ErrorCategory::MalformedResponse)
    );
}

#[tokio::test(start_paused = true)]
async fn a_streamed_answer_on_the_schema_completes_and_the_validator_sees_streams_too() {
    let mock = scripted(|model, _| {
        sse(&[
            &chunk(model, r#"{"name": "Ada", "#),
            &chunk(model, r#""age": 36}"#),
            &finish(model),
            "[DONE]",
        ])
    });
    let client = builder(&mock).build().unwrap();
    let (_, end, _) = drain(client.chat().stream(structured()).await.unwrap()).await;
    assert_eq!(end.unwrap().served_by(), "primary");

    let strict = builder(&mock)
        .validate(|c| match c.text() {
            Some(t) if t.contains("Grace") => Ok(()),
            _ => Err("not Grace".to_owned()),
        })
        .build()
        .unwrap();
    let (_, end, _) = drain(strict.chat().stream(structured()).await.unwrap()).await;
    let error = end.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::AnswerRejected { .. }));
    assert!(error.diagnosis().unwrap().root_cause.contains("not Grace"));
}

#[tokio::test(start_paused = true)]
async fn the_guard_can_be_turned_off() {
    let mock = scripted(|model, _| MockReply::chat(model, r#"{"name": 1}"#));
    let client = builder(&mock).schema_guard(false).build().unwrap();
    let served = client.chat().create(structured()).await.unwrap();
    assert_eq!(served.served_by(), "primary");
}

#[tokio::test(start_paused = true)]
async fn a_streamed_tool_call_is_assembled_and_checked() {
    let delta = |model: &str, name: Option<&str>, arguments: &str| {
        json!({"model": model, "choices": [{"index": 0, "delta": {"tool_calls": [{
            "index": 0, "function": {"name": name, "arguments": arguments}
        }]}}]})
        .to_string()
    };
    let mock = scripted(move |model, _| {
        let (first, rest) = match model {
            "primary" => (r#"{"name": "#, r#""Ada"}"#),
            _ => (r#"{"name": "Ada", "#, r#""age": 36}"#),
        };
        sse(&[
            &delta(model, Some("save_person"), first),
            &delta(model, None, rest),
            &finish(model),
            "[DONE]",
        ])
    });
    let client = builder(&mock).build().unwrap();
    let request = request().tool(Tool::function("save_person", "Saves a person", person()));
    let (_, end, _) = drain(client.chat().stream(request.clone()).await.unwrap()).await;
    let error = end.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::AnswerRejected { .. }));
    assert!(
        error
            .diagnosis()
            .unwrap()
            .root_cause
            .contains("save_person"),
        "{error}"
    );
    // The same stream with arguments that follow the parameters completes.
    let mut on_secondary = request;
    on_secondary.model = "secondary".to_owned();
    let (_, end, _) = drain(client.chat().stream(on_secondary).await.unwrap()).await;
    assert_eq!(end.unwrap().served_by(), "secondary");
}
