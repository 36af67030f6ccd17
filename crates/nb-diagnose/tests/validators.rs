//! The words each common validator prints for a request it refused:
//! pydantic (v1 and v2), JSON Schema (ajv, Python's jsonschema), Joi,
//! class-validator, Go's validator, serde, axum, .NET and Java argument
//! checks, and the providers' own parameter errors (OpenAI, Anthropic,
//! Gemini). A client often quotes such a refusal without the status it came
//! with; the words alone must then name a request that will not pass
//! however often it is sent. Under a status, the status decides.
//!
//! Left out on purpose: words a client also prints for a response it could
//! not read (pydantic's "validation error for <model>", zod's "Expected
//! string, received …", Go's "cannot unmarshal", serde's "missing field"),
//! which read as a broken answer, and a token count over a limit, which is
//! the context's.

use nb_diagnose::ErrorCategory::*;
use nb_diagnose::{DiagnosisEngine, Failure};

const REFUSALS: &[&str] = &[
    r##"temperature
  Input should be less than or equal to 2 [type=less_than_equal, input_value=3, input_type=int]"##,
    r##"stream_options
  Extra inputs are not permitted [type=extra_forbidden, input_value={}, input_type=dict]"##,
    r##"max_tokens
  Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input_value='abc', input_type=str]"##,
    r##"messages.0.role
  Input should be 'system', 'user' or 'assistant' [type=literal_error, input_value='bot', input_type=str]"##,
    r##"messages -> 0 -> content
  field required (type=value_error.missing)"##,
    r##"temperature
  ensure this value is less than or equal to 2 (type=value_error.number.not_le; limit_value=2)"##,
    r##"extra fields not permitted (type=value_error.extra)"##,
    r##"n
  value is not a valid integer (type=type_error.integer)"##,
    r##"Number must be less than or equal to 2 at "temperature""##,
    r##"String must contain at least 1 character(s) at "messages[1].content""##,
    r##"data/messages must have required property 'content'"##,
    r##"data must NOT have additional properties"##,
    r##"data/temperature must be <= 2"##,
    r##"data/tool_choice must be equal to one of the allowed values"##,
    r##"'messages' is a required property"##,
    r##"Additional properties are not allowed ('top_k' was unexpected)"##,
    r##"'high' is not one of ['low', 'medium', 'auto']"##,
    r##"3 is greater than the maximum of 2"##,
    r##"None is not of type 'string'"##,
    r##"Key: 'ChatRequest.Model' Error:Field validation for 'Model' failed on the 'required' tag"##,
    r##""messages" is required"##,
    r##""temperature" must be less than or equal to 2"##,
    r##""top_k" is not allowed"##,
    r##"temperature must not be greater than 2"##,
    r##"model should not be empty"##,
    r##"property top_k should not exist"##,
    r##"Unrecognized request argument supplied: top_k"##,
    r##"Unknown parameter: 'top_k'."##,
    r##"Invalid type for 'temperature': expected a decimal, but got a string instead."##,
    r##"Missing required parameter: 'messages'."##,
    r##"'bot' is not one of ['system', 'assistant', 'user', 'tool'] - 'messages.0.role'"##,
    r##"Invalid value for 'n': expected an integer, but got a string."##,
    r##"Invalid 'messages[2].tool_calls': empty array. Expected an array with minimum length 1."##,
    r##"messages: field required"##,
    r##"max_tokens: Input should be a valid integer"##,
    r##"messages.1.content.0.type: Input tag 'img' found using 'type' does not match any of the expected tags"##,
    r##"messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row"##,
    r##"Invalid JSON payload received. Unknown name "topK" at 'generation_config': Cannot find field."##,
    r##"* GenerateContentRequest.contents: contents is not specified"##,
    r##"Invalid value at 'generation_config.temperature' (TYPE_FLOAT), "hot""##,
    r##"Request contains an invalid argument."##,
    r##"unknown field `top_k`, expected one of `model`, `messages`, `stream`"##,
    r##"invalid type: string "2", expected u32 at line 1 column 42"##,
    r##"Failed to deserialize the JSON body into the target type: messages[0]: missing field `role` at line 1 column 30"##,
    r##"Value error, `max_tokens` must be at least 1, got 0."##,
    r##"ValueError: temperature must be between 0 and 2"##,
    r##"IllegalArgumentException: maxTokens must be positive"##,
    r##"ArgumentOutOfRangeException: Specified argument was out of the range of valid values. (Parameter 'temperature')"##,
    r##"Invalid schema for response_format 'answer': In context=(), 'required' is required to be supplied and to be an array including every key in properties."##,
    r##"Invalid schema for function 'get_weather': 'object' is not valid under any of the given schemas."##,
    r##"'tools[0].function.name' does not match '^[a-zA-Z0-9_-]{1,64}$'"##,
    r##"unexpected keyword argument 'max_completion_tokens'"##,
];

#[test]
fn every_validators_refusal_is_an_invalid_request() {
    let engine = DiagnosisEngine::new();
    let wrong: Vec<String> = REFUSALS
        .iter()
        .filter_map(|&text| {
            let d = engine.diagnose(&Failure::message(text));
            ((d.category, d.retryable) != (InvalidRequest, false)).then(|| {
                format!(
                    "{text}\n  got {:?}/{} ({})",
                    d.category, d.retryable, d.sub_category
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn under_a_server_status_the_status_decides() {
    let engine = DiagnosisEngine::new();
    for &text in REFUSALS {
        let d = engine.diagnose(&Failure::message(text).with_status(400));
        assert_eq!(d.category, InvalidRequest, "400: {text}");
    }
    // Validators' generic words are not a cause a server error can be
    // blamed on: a 503 that quotes them is still capacity.
    for text in [
        "value is not a valid integer",
        "'high' is not one of ['low', 'auto']",
        "property top_k should not exist",
    ] {
        let d = engine.diagnose(&Failure::message(text).with_status(503));
        assert_eq!((d.category, d.retryable), (Overloaded, true), "503: {text}");
    }
}
