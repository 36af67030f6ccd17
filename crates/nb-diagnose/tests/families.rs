//! The failure families of the unseen corpus, as structural behaviour: what
//! decides a category when the wording is new (a 404 that never names a
//! model, an error inside a 200 or a stream, network words behind an HTTP
//! status, a window hidden in a quota id).

mod common;

use std::sync::OnceLock;

use common::{assert_read, assert_read_as};

use nb_diagnose::ErrorCategory::*;
use nb_diagnose::{Diagnosis, DiagnosisEngine, ErrorCategory, Failure, Provider};

fn engine() -> &'static DiagnosisEngine {
    static ENGINE: OnceLock<DiagnosisEngine> = OnceLock::new();
    ENGINE.get_or_init(DiagnosisEngine::new)
}

/// The engine with its words models on ([`DiagnosisEngine::guess_from_words`]).
fn guessing() -> &'static DiagnosisEngine {
    static ENGINE: OnceLock<DiagnosisEngine> = OnceLock::new();
    ENGINE.get_or_init(|| DiagnosisEngine::new().guess_from_words(true))
}

fn http(status: u16, body: &str) -> Diagnosis {
    engine().diagnose(&Failure::http(status, body))
}

fn category(d: &Diagnosis) -> ErrorCategory {
    d.category
}

#[test]
fn a_404_that_never_names_a_model_is_about_the_path_not_the_model() {
    for body in [
        r#"{"detail":"Not Found"}"#,
        "404 page not found",
        r#"{"error":{"code":404,"message":"Method not found.","status":"NOT_FOUND"}}"#,
    ] {
        let d = http(404, body);
        assert_eq!(category(&d), InvalidRequest, "{body}");
        assert!(d.about_target, "a wrong route fails every request: {body}");
    }
    let d = http(
        404,
        r#"{"error":{"message":"The model `gpt-9` does not exist","code":"model_not_found"}}"#,
    );
    assert_eq!(category(&d), ModelNotFound);
    assert!(!d.about_target);
    // An invalid request about the content is not about the target.
    let d = http(
        400,
        r#"{"error":{"message":"Invalid value for 'temperature'"}}"#,
    );
    assert_eq!(category(&d), InvalidRequest);
    assert!(!d.about_target);
}

#[test]
fn an_error_object_inside_a_200_decides_by_its_words() {
    let baidu = http(
        200,
        r#"{"error_code":336501,"error_msg":"Rate limit reached for RPM"}"#,
    );
    assert_eq!(category(&baidu), RateLimit);
    assert!(baidu.retryable);
    let bedrock = http(
        200,
        r#"{"internalServerException":{"message":"The system encountered an unexpected error during processing."}}"#,
    );
    assert_eq!(category(&bedrock), ServerError);
    let lines = "{\"model\":\"llama3.1\",\"message\":{\"role\":\"assistant\",\"content\":\"Sure\"},\"done\":false}\n{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n";
    assert_eq!(
        category(&http(200, lines)),
        ServerError,
        "a JSON-lines error"
    );
}

#[test]
fn errors_inside_a_stream_use_the_stream() {
    let cut = ": keep-alive\n\n: keep-alive\n\ndata: {\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let\"},\"finish_reason\":null}]}\n\n";
    assert_eq!(
        category(&http(200, cut)),
        StreamInterrupted,
        "comments first"
    );
    let failed = "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"An error occurred while processing your request.\"}}}\n\n";
    assert_eq!(category(&http(200, failed)), ServerError, "response.failed");
    let spread = "data: {\n  \"type\": \"error\",\n  \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}\n}\n";
    assert_eq!(category(&http(200, spread)), Overloaded, "JSON over lines");
}

#[test]
fn network_words_behind_an_http_status_leave_the_status_to_decide() {
    let d = engine().diagnose(
        &Failure::message(
            "LLM proxy error 503 from https://proxy.example/v1: Service temporarily unavailable",
        )
        .with_status(503),
    );
    assert_eq!(category(&d), Overloaded);
    // Without a status, they decide.
    let d = engine().diagnose(&Failure::message("ProxyError: tunnel connection failed"));
    assert_eq!(category(&d), Network);
    // "Temporarily unavailable" in a 500 is the server's error.
    let d = http(
        500,
        r#"{"code":"Internal error","error":"Service temporarily unavailable. Please try again later."}"#,
    );
    assert_eq!(category(&d), ServerError);
}

#[test]
fn a_window_inside_a_quota_id_makes_googles_quota_a_rate_limit() {
    let body = r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaValue":"250"}]}]}}"#;
    let d = http(429, body);
    assert_eq!(category(&d), RateLimit);
    assert!(d.retryable);
}

#[test]
fn size_is_a_byte_limit_or_a_context_overflow() {
    assert_eq!(
        category(&http(
            413,
            r#"{"error":{"message":"Request Entity Too Large"}}"#
        )),
        InvalidRequest
    );
    assert_eq!(
        category(&http(
            400,
            r#"{"error":{"message":"Invalid request: Your request exceeded model token limit: 8192"}}"#
        )),
        ContextLength
    );
}

fn bodies_diagnose_as(status: u16, cases: &[(&str, ErrorCategory)]) {
    for &(body, want) in cases {
        assert_eq!(category(&http(status, body)), want, "{body}");
    }
}

fn in_stream(detail: &str) -> Diagnosis {
    engine().diagnose(&Failure::stream_interrupted(detail))
}

fn guessed_in_stream(detail: &str) -> Diagnosis {
    guessing().diagnose(&Failure::stream_interrupted(detail))
}

#[test]
fn an_error_event_inside_a_stream_is_read_as_a_200s_body_would_be() {
    // The event's own code stands in for the status the stream began without.
    for (event, want) in [
        (
            r#"data: {"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"#,
            ServerError,
        ),
        (
            r#"{"id":"gen-1","error":{"code":429,"message":"Provider returned error"},"choices":[]}"#,
            RateLimit,
        ),
        (
            r#"{"serviceUnavailableException":{"message":"Bedrock is unable to process your request."}}"#,
            Overloaded,
        ),
        (
            r#"data: {"error":{"message":"Failed to call a function.","type":"invalid_request_error","code":"tool_use_failed"}}"#,
            InvalidRequest,
        ),
        (
            "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\",\"message\":\"An error occurred while processing your request.\"}}}",
            ServerError,
        ),
    ] {
        assert_eq!(category(&in_stream(event)), want, "{event}");
    }
    // An error object's code names its cause when its words only describe
    // a connection: the provider reported the failure.
    let relayed = r#"data: {"error":{"code":502,"message":"Upstream error: peer closed connection without sending complete message body"}}"#;
    assert_eq!(category(&in_stream(relayed)), ServerError);
    let typed = r#"{"object":"chat.completion.chunk","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#;
    assert_eq!(category(&in_stream(typed)), ServerError);
    let top_level = r#"{"code":502,"message":"Network connection lost.","metadata":{"error_type":"provider_unavailable"}}"#;
    assert_eq!(category(&in_stream(top_level)), ServerError);
    // An error object that names nothing is still the provider's error.
    assert_eq!(
        category(&in_stream(r#"{"error":{"message":"oops"}}"#)),
        ServerError
    );
    // An error object that does not parse to its end still counts.
    let unclosed = "data: {\"error\":{\"message\":\"The server experienced an error while processing your request.\", \"type\":\"server_error\", \"code\":null)}\n\ndata: [DONE]";
    assert_eq!(category(&in_stream(unclosed)), ServerError);
}

#[test]
fn a_responses_failure_is_read_from_its_error_not_from_the_settings_it_echoes() {
    // `"moderation": null` is a setting of the response, not a filter.
    let failed = r#"event: response.failed
data: {"response":{"error":{"code":"server_error","message":"An error occurred while processing your request."},"moderation":null,"safety_identifier":"user-1","status":"failed","max_output_tokens":null},"type":"response.failed"}"#;
    let d = in_stream(failed);
    assert_eq!((category(&d), d.retryable), (ServerError, true));
    // Outside a stream too: a 200 carrying the failed response.
    let body = failed.lines().nth(1).unwrap().trim_start_matches("data: ");
    assert_eq!(category(&http(200, body)), ServerError);
}

#[test]
fn a_chunk_that_does_not_parse_is_a_malformed_response() {
    for text in [
        r#"{"id":"chatcmpl-1","choices":[{"delta":{"content":"Hi"}}]]}"#,
        "error decoding streaming response: invalid character ':' looking for beginning of value",
        "Failed to process chunk: failed to parse Gemini stream response: json: cannot unmarshal string into Go value",
    ] {
        assert_eq!(category(&in_stream(text)), MalformedResponse, "{text}");
    }
    // A stall or a cut is not a parse failure, even in brackets.
    for text in [
        "[API Error: No stream activity for 120000ms after 19 chunks",
        "the stream stalled: no data for 30.0 s",
        "peer closed connection without sending complete message body (incomplete chunked read)",
    ] {
        assert_eq!(category(&in_stream(text)), StreamInterrupted, "{text}");
    }
}

#[test]
fn bare_text_inside_a_stream_must_name_its_cause_clearly() {
    let d = in_stream(
        "TypeError: terminated\n  [cause]: BodyTimeoutError: Body Timeout Error {\n    code: 'UND_ERR_BODY_TIMEOUT'\n  }",
    );
    assert_eq!(category(&d), Timeout);
    assert_eq!(category(&in_stream("request timed out")), StreamInterrupted);
    // A status alone, with no words that agree, is not enough.
    assert_eq!(
        category(&in_stream("Error code: 401 - ")),
        StreamInterrupted
    );
    let d = in_stream(
        "EventStreamError: An error occurred (serviceUnavailableException) when calling the ConverseStream operation: Service unavailable.",
    );
    assert_eq!(category(&d), Overloaded);
}

#[test]
fn generic_server_words_under_a_specific_5xx_leave_the_status_to_decide() {
    let body = r#"{"error":{"message":"Service Unavailable","type":"internal_server_error"}}"#;
    assert_eq!(category(&http(503, body)), Overloaded);
    assert_eq!(category(&http(504, body)), Timeout);
    assert_eq!(category(&http(500, body)), ServerError);
}

#[test]
fn a_daily_limit_waits_and_a_total_or_bought_one_does_not() {
    let daily = http(
        200,
        r#"{"error_code":17,"error_msg":"Open api daily request limit reached"}"#,
    );
    assert_eq!((category(&daily), daily.retryable), (RateLimit, true));
    let total = http(
        200,
        r#"{"error_code":19,"error_msg":"Open api total request limit reached"}"#,
    );
    assert_eq!((category(&total), total.retryable), (QuotaExhausted, false));
    let extra = http(
        429,
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"Extra usage is required for long context requests."}}"#,
    );
    assert_eq!((category(&extra), extra.retryable), (QuotaExhausted, false));
}

#[test]
fn transport_wording_of_other_stacks() {
    let d = engine().diagnose(&Failure::message(
        r#"Post "https://llm.example.com/v1/chat/completions": http2: server sent GOAWAY and closed the connection; LastStreamID=1999, ErrCode=NO_ERROR"#,
    ));
    assert_eq!((category(&d), d.retryable), (Network, true));
    assert_read([
        (
            "java.net.UnknownHostException: api.openai.com",
            Network,
            true,
        ),
        ("net::ERR_NAME_NOT_RESOLVED", Network, true),
        ("net::ERR_CONNECTION_CLOSED", Network, true),
        ("net::ERR_TIMED_OUT", Timeout, true),
        (
            "Error: unable to verify the first certificate",
            Network,
            false,
        ),
        ("SSL routines::wrong_version_number", Network, false),
    ]);
}

#[test]
fn capacity_phrased_as_a_limit_and_deadlines_inside_a_503() {
    let busy = http(
        429,
        r#"{"error":{"message":"Model is busy, please retry later","code":"model_busy"}}"#,
    );
    assert_eq!(category(&busy), Overloaded);
    let deadline = http(
        503,
        r#"{"error":{"code":503,"message":"Deadline expired before operation could complete.","status":"UNAVAILABLE"}}"#,
    );
    assert_eq!(category(&deadline), Timeout);
    let window = http(
        400,
        r#"{"error":{"message":"input length exceeds the maximum length of the model","type":"invalid_request_error"}}"#,
    );
    assert_eq!(category(&window), ContextLength);
}

#[test]
fn a_stream_error_that_is_not_an_error_object_is_read_as_text() {
    // A Responses `response.failed` object sent without SSE framing.
    let failed = "{\n  \"type\": \"response.failed\",\n  \"response\": {\"status\": \"failed\", \"error\": {\"code\": \"rate_limit_exceeded\", \"message\": \"Requests have exceeded token rate limit\"}}\n}";
    assert_eq!(category(&in_stream(failed)), RateLimit);
    // A relay's JSON with only a message, and a line after it.
    let relay = "{\"message\":\"Too many tokens, please wait before trying again.\"}\nError: Provider finish_reason: error_finish";
    assert_eq!(category(&in_stream(relay)), RateLimit);
    // boto's printout of an event-stream exception names AWS's own code.
    let boto = "EventStreamError: An error occurred (validationException) when calling the InvokeModelWithResponseStream operation: messages.4: Did not find 1 `tool_result` block(s)";
    let d = in_stream(boto);
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
}

#[test]
fn a_realtime_response_that_failed_is_read_from_its_status_details() {
    // The Realtime API ends a failed turn with `response.done`, its error
    // under `response.status_details`.
    let done = |error: &str| {
        in_stream(&format!(
            r#"{{"type":"response.done","event_id":"event_1","response":{{"id":"resp_1","object":"realtime.response","status":"failed","status_details":{{"type":"failed","error":{error}}},"output":[],"usage":{{"total_tokens":0}}}}}}"#
        ))
    };
    let server = done(r#"{"type":"server_error"}"#);
    assert_eq!((category(&server), server.retryable), (ServerError, true));
    // The error's own fields are the provider's error, not the settings
    // the response echoes.
    let limited = done(r#"{"type":"rate_limit_exceeded","code":"rate_limit_exceeded"}"#);
    assert_eq!(category(&limited), RateLimit);
    let own = limited.provider_error.as_ref();
    assert_eq!(
        own.and_then(|e| e.error_type.as_deref()),
        Some("rate_limit_exceeded")
    );
    // A turn that ended normally names no error.
    let completed = in_stream(
        r#"{"type":"response.done","response":{"status":"completed","status_details":null,"output":[]}}"#,
    );
    assert_eq!(category(&completed), StreamInterrupted);
}

#[test]
fn a_gemini_answer_with_no_part_is_an_empty_answer() {
    let empty = r#"{"candidates":[{"content":{"role":"model"},"finishReason":"OTHER","index":0}],"usageMetadata":{"promptTokenCount":9}}"#;
    let d = http(200, empty);
    assert_eq!(
        (category(&d), d.retryable, &*d.sub_category),
        (MalformedResponse, true, "empty_answer")
    );
    // Streamed: every chunk without a part, to the end.
    let streamed = "data: {\"candidates\": [{\"content\": {},\"index\": 0}]}\n\n";
    assert_eq!(category(&in_stream(streamed)), MalformedResponse);
    assert_eq!(category(&http(200, streamed)), MalformedResponse);
    // A filter that says why stays a filter.
    let blocked = r#"{"candidates":[{"finishReason":"SAFETY","index":0}]}"#;
    assert_eq!(category(&http(200, blocked)), ContentFilter);
    // An answer with a part, or a stream that said something before it
    // stopped, is not empty.
    let answered = r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP"}]}"#;
    assert_eq!(category(&http(200, answered)), Unknown);
    let begun = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]}}]}\n\ndata: {\"candidates\": [{\"content\": {}}]}\n\n";
    assert_eq!(category(&in_stream(begun)), StreamInterrupted);
    // Every chunk of a longer stream empty, and an empty list of parts.
    let chunks = "data: {\"candidates\": [{\"content\": {\"role\": \"model\"}}]}\n\ndata: {\"candidates\": [{\"content\": {\"parts\": []}, \"finishReason\": \"STOP\"}]}\n\n";
    assert_eq!(category(&http(200, chunks)), MalformedResponse);
    // An output budget spent before any part (a thinking model's) is the
    // request's limit, not a broken answer: it is not read as empty.
    let spent = r#"{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}]}"#;
    assert_ne!(category(&http(200, spent)), MalformedResponse);
    // A candidate whose content is a string (the retired PaLM API) is not
    // Gemini's shape.
    let palm = r#"{"candidates":[{"author":"1","content":"Hello"}]}"#;
    assert_eq!(category(&http(200, palm)), Unknown);
    // A byte-order mark before the JSON does not hide it.
    let bom = format!("\u{feff}{empty}");
    assert_eq!(category(&http(200, &bom)), MalformedResponse);
    let healthy = format!("\u{feff}{answered}");
    assert_eq!(category(&http(200, &healthy)), Unknown);
}

#[test]
fn limits_named_by_their_window_or_their_balance() {
    let per_minute = engine().diagnose(
        &Failure::message("Tokens per minute limit exceeded - too many tokens processed.")
            .with_status(429),
    );
    assert_eq!(
        (category(&per_minute), per_minute.retryable),
        (RateLimit, true)
    );
    let credits = http(
        429,
        r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"reason":"INSUFFICIENT_G1_CREDITS_BALANCE"}]}}"#,
    );
    assert_eq!(category(&credits), QuotaExhausted);
    let paused = engine().diagnose(&Failure::message(
        "Your account has reached the set inference limit for the model, and the model service has been paused.",
    ).with_status(429));
    assert_eq!(
        (category(&paused), paused.retryable),
        (QuotaExhausted, false)
    );
    let busy = engine().diagnose(
        &Failure::message("Too many connections, please wait before trying again.")
            .with_status(503),
    );
    assert_eq!(category(&busy), Overloaded);
    // A model with no free tier has no allowance to wait for, whatever
    // window its quota id names.
    let no_free_tier = http(
        429,
        r#"{"error":{"code":429,"message":"Gemini 2.5 Pro Preview doesn't have a free quota tier.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}}"#,
    );
    assert_eq!(
        (category(&no_free_tier), no_free_tier.retryable),
        (QuotaExhausted, false)
    );
    // A free tier that exists is a window like any other.
    let free_tier = http(
        429,
        r#"{"error":{"code":429,"message":"You have a free quota tier of 10 requests per minute. Please retry in 30s.","status":"RESOURCE_EXHAUSTED"}}"#,
    );
    assert_eq!(
        (category(&free_tier), free_tier.retryable),
        (RateLimit, true)
    );
}

#[test]
fn credentials_and_windows_in_other_words() {
    for body in [
        r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}"#,
        r#"{"status":403,"title":"Forbidden","detail":"Authorization failed"}"#,
    ] {
        assert_eq!(category(&http(403, body)), Auth, "{body}");
    }
    for (status, body) in [
        (
            400,
            r#"{"error":{"message":"model max length exceeded, max length:8192"}}"#,
        ),
        (
            422,
            r#"{"error":"Input validation error: `inputs` must have less than 4096 tokens. Given: 4545","error_type":"validation"}"#,
        ),
    ] {
        assert_eq!(category(&http(status, body)), ContextLength, "{body}");
    }
}

#[test]
fn transport_codes_of_grpc_dotnet_node_and_rustls() {
    assert_read([
        (
            "Error: 4 DEADLINE_EXCEEDED: Deadline exceeded after 30.000s,name resolution: 0.270s,LB pick: 0.269s",
            Timeout,
            true,
        ),
        (
            "Retry failed after 4 tries. (An error occurred while sending the request.)",
            Network,
            true,
        ),
        (
            "Failed to connect to api.anthropic.com: UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
            Network,
            false,
        ),
        (
            "error reading a body from connection: cannot decrypt peer's message",
            Network,
            true,
        ),
    ]);
}

#[test]
fn stream_words_under_an_http_error_status_leave_the_status_to_decide() {
    let d = engine().diagnose(
        &Failure::message(
            r#"Gemini generate context stream error: {"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}"#,
        )
        .with_status(400),
    );
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
}

#[test]
fn more_stacks_and_gateways_in_their_own_words() {
    assert_read([
        (
            r#"Post "https://api.groq.com/openai/v1/chat/completions": dial tcp: lookup api.groq.com on 127.0.0.53:53: server misbehaving"#,
            Network,
            true,
        ),
        (
            "javax.net.ssl.SSLHandshakeException: No subject alternative names matching IP address 10.0.0.12 found",
            Network,
            false,
        ),
        ("curl: Recv failure:连接被对方重设", Network, true),
        (
            "reqwest::Error { kind: Request, source: hyper_util::client::legacy::Error(SendRequest, hyper::Error(ChannelClosed)) }",
            Network,
            true,
        ),
        (
            // Every deployment cooling down after 429s: LiteLLM raises a
            // rate-limit error, and the cooldown ends by itself.
            "LiteLLM.Router: An error occurred: No models available",
            RateLimit,
            true,
        ),
    ]);
    // A worker's concurrency is not an account's total.
    let worker = engine().diagnose(&Failure::message(
        "Worker local total request limit reached (33/32)",
    ));
    assert_ne!(category(&worker), QuotaExhausted);
    let budget = http(
        400,
        r#"{"error":{"message":"Budget has been exceeded! Current cost: 10.0123, Max budget: 10.0","type":"budget_exceeded"}}"#,
    );
    assert_eq!(
        (category(&budget), budget.retryable),
        (QuotaExhausted, false)
    );
    let kv = in_stream(
        r#"data: {"error":{"code":500,"message":"Input prompt is too big compared to KV size. Please try increasing KV size.","type":"server_error"}}"#,
    );
    assert_eq!(category(&kv), ContextLength);
}

#[test]
fn an_exception_class_names_its_cause_in_words() {
    // Class names no catalogue lists, from SDKs of any language: their
    // words are read as a phrase.
    for (text, want) in [
        ("AccountOverdueError: 403 Forbidden", QuotaExhausted),
        ("sdk.errors.TokenExpiredError: request rejected", Auth),
        ("client.ServiceUnavailableError: try later", Overloaded),
        ("erniebot.errors.RequestLimitError: 并发超限", RateLimit),
        ("java.nio.channels.ClosedChannelException", Network),
        ("java.io.EOFException", Network),
    ] {
        assert_eq!(
            category(&engine().diagnose(&Failure::message(text))),
            want,
            "{text}"
        );
    }
    // A lower-case or one-word name is not split.
    assert_eq!(
        category(&engine().diagnose(&Failure::message("Error: something odd"))),
        Unknown
    );
}

#[test]
fn an_allowance_that_resets_within_a_day_is_a_rate_limit_whatever_its_code() {
    let d = http(
        402,
        r#"{"error":{"message":"Free quota used (30 requests / 5h). Resets at 10:00 UTC.","type":"insufficient_quota","code":"free_quota_exceeded"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (RateLimit, true));
    // Without a window it is the account's money.
    let d = http(
        429,
        r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (QuotaExhausted, false));
}

#[test]
fn a_proxy_asking_for_its_credentials_is_auth() {
    for failure in [
        Failure::message("OSError: Tunnel connection failed: 407 Proxy Authentication Required"),
        Failure::message("Error: Request failed with status code 407"),
    ] {
        let d = engine().diagnose(&failure);
        assert_eq!((category(&d), d.retryable), (Auth, false), "{failure:?}");
    }
}

#[test]
fn capacity_named_clearly_outranks_the_rate_limit_it_comes_in() {
    for text in [
        "litellm.RateLimitError: RateLimitError: CerebrasException - We're experiencing high traffic right now! Please try again soon.",
        r#"Error: 429 {"error":{"type":"rate_limit_error","message":"The engine is currently overloaded, please try again later"},"type":"error"}"#,
    ] {
        let d = engine().diagnose(&Failure::message(text).with_status(429));
        assert_eq!((category(&d), d.retryable), (Overloaded, true), "{text}");
    }
    // A window the caller hit is the caller's limit, whatever the demand.
    let window = r#"{"error":{"message":"Rate limit exceeded: limit_rpm/x. High demand for x on OpenRouter - limited to 1 requests per minute.","code":429}}"#;
    assert_eq!(category(&http(429, window)), RateLimit);
}

#[test]
fn a_prompt_too_long_is_recognised_in_words_no_rule_lists() {
    for text in [
        r#"{"code": 20015, "message": "length of prompt_tokens (147509) must be less than max_seq_len (65536).", "data": null}"#,
        r#""Cannot truncate prompt with n_keep (15028) >= n_ctx (7424)""#,
        "Input length (700001 tokens) exceeds the maximum allowed length (536826 tokens).",
    ] {
        assert_eq!(category(&http(400, text)), ContextLength, "{text}");
    }
    // Not the prompt's size: a parameter's range, a byte limit, a payment,
    // a window.
    for (status, text, want) in [
        (
            422,
            r#"{"detail":"- input.max_new_tokens: Must be less than or equal to 4096"}"#,
            InvalidRequest,
        ),
        (
            400,
            "invalid_request_error: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
            InvalidRequest,
        ),
        (
            413,
            "Payload too large: input exceeds 10 MB",
            InvalidRequest,
        ),
        (
            402,
            "Prompt tokens limit exceeded: 64128 > 6964. Upgrade to a paid account",
            QuotaExhausted,
        ),
        (
            429,
            "Input tokens per minute exceeded: more than 30000",
            RateLimit,
        ),
    ] {
        assert_eq!(category(&http(status, text)), want, "{text}");
    }
}

#[test]
fn a_printout_of_an_error_object_in_a_stream_is_read_as_the_object() {
    let printout = r#"OpenRouter Mid-Stream Error: {
  "message": "Upstream error from AtlasCloud: Unexpected token 173781 while expecting start token 200006",
  "code": 502
}"#;
    assert_eq!(category(&in_stream(printout)), ServerError);
    let words = r#"error: {"code":400,"message":"the request exceeds the available context size","type":"invalid_request_error"}"#;
    assert_eq!(category(&in_stream(words)), ContextLength);
}

#[test]
fn a_parser_or_schema_failing_on_a_success_is_a_malformed_response() {
    for text in [
        "SyntaxError: Unexpected non-whitespace character after JSON at position 124 (line 2 column 1)",
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for ChatCompletionStreamResponse",
        "AI_TypeValidationError: Type validation failed: Value: {}",
    ] {
        assert_eq!(category(&in_stream(text)), MalformedResponse, "{text}");
        let d = engine().diagnose(&Failure::message(text).with_status(200));
        assert_eq!(category(&d), MalformedResponse, "{text}");
    }
}

#[test]
fn a_nonzero_base_resp_status_in_a_200_is_an_error() {
    for (status_msg, want) in [
        ("invalid api key", Auth),
        ("not authorized", Auth),
        ("invisible character ratio limit", InvalidRequest),
        (
            "the model is not available on your current token plan",
            Permission,
        ),
    ] {
        let body =
            format!(r#"{{"base_resp": {{"status_code": 2049, "status_msg": "{status_msg}"}}}}"#);
        assert_eq!(category(&http(200, &body)), want, "{status_msg}");
    }
    // Status 0 is MiniMax's success.
    let ok = r#"{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"base_resp":{"status_code":0,"status_msg":""}}"#;
    assert_ne!(category(&http(200, ok)), Auth);
}

#[test]
fn a_camel_case_error_code_names_its_cause_in_words() {
    // Tencent Cloud's shape, codes no rule lists: their words are read.
    for (code, want) in [
        ("FailedOperation.FreeResourcePackExhausted", QuotaExhausted),
        ("RequestLimitExceeded.JobNumExceed", RateLimit),
        ("FailedOperation.ServiceNotActivated", Permission),
        ("InputImageSensitiveContentDetected", ContentFilter),
    ] {
        let body = format!(
            r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"..."}},"RequestId":"0"}}}}"#
        );
        assert_eq!(category(&http(200, &body)), want, "{code}");
    }
}

#[test]
fn validation_words_decide_only_when_no_status_does() {
    // An error object in a 200 that names no cause but a rule the request broke.
    let baidu =
        r#"{"error_code": 336006, "error_msg": "the length of messages must be an odd number"}"#;
    assert_eq!(category(&http(200, baidu)), InvalidRequest);
    // Baidu's error objects in a 200, in words no status backs.
    for (code, message, want) in [
        (100, "Invalid parameter", InvalidRequest),
        (14, "IAM Certification failed", Auth),
        (6, "No permission to access data", Permission),
        (
            336103,
            "the length of messages exceeds max length",
            ContextLength,
        ),
        (336200, "system prompt content check failed", ContentFilter),
    ] {
        let body = format!(r#"{{"error_code": {code}, "error_msg": "{message}"}}"#);
        assert_eq!(category(&http(200, &body)), want, "{message}");
    }
    // Under a 5xx the status decides.
    let internal = r#"{"error":{"message":"field must be set by the worker"}}"#;
    assert_eq!(category(&http(500, internal)), ServerError);
}

#[test]
fn a_parsers_words_outrank_the_cut_its_wrapper_names() {
    // A wrapper calls every stream failure a connection error; the parser's
    // words under it say the chunk did not parse.
    for text in [
        "APIConnectionError: Error parsing chunk: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "Couldn't deserialize SSE data as CompletionChunk: data did not match any variant of untagged enum CompletionChunk",
        "stream error: Failed to parse chunk: missing field `choices` at line 1 column 42",
    ] {
        assert_eq!(category(&in_stream(text)), MalformedResponse, "{text}");
    }
    // A cut whose text then names the provider's failure is that failure.
    let d = in_stream(
        "stream disconnected before completion: An error occurred while processing your request. You can retry your request.",
    );
    assert_eq!((category(&d), d.retryable), (ServerError, true));
}

#[test]
fn windows_go_and_dotnet_word_their_timeouts_and_lookups() {
    assert_read([
        (
            "HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded (Caused by NewConnectionError('Failed to establish a new connection: [WinError 10060] A connection attempt failed because the connected party did not properly respond after a period of time'))",
            Timeout,
            true,
        ),
        (
            "IOException: Unable to read data from the transport connection: Operation canceled.\nTimeoutException: The operation was canceled.",
            Timeout,
            true,
        ),
        (
            "Post \"https://api.example.com/v1/chat/completions\": dial tcp: lookup api.example.com: i/o timeout while resolving",
            Network,
            true,
        ),
        (
            "Failed to perform, ErrCode: 35, Reason: 'SSL_connect: Connection was reset in connection to api.example.com:443'",
            Network,
            true,
        ),
    ]);
}

#[test]
fn printouts_of_a_block_or_finish_reason_are_a_content_filter() {
    assert_read([
        (
            "PromptFeedback(block_reason=<BlockedReason.PROHIBITED_CONTENT: 'PROHIBITED_CONTENT'>, safety_ratings=None)",
            ContentFilter,
            false,
        ),
        (
            "[\"finishReason\"]=> enum(Gemini\\Enums\\FinishReason::SAFETY)",
            ContentFilter,
            false,
        ),
    ]);
}

#[test]
fn local_servers_and_restricted_credentials_in_their_own_words() {
    assert_read([
        (
            "400 Failed to load model \"qwen3-8b\". Error: not enough memory.",
            ServerError,
            true,
        ),
        (
            r#"{"error":{"message":"No models loaded. Please load a model in the developer page.","type":"invalid_request_error"}}"#,
            ModelNotFound,
            false,
        ),
        (
            r#"400 {"type":"error","error":{"type":"invalid_request_error","message":"This credential is only authorized for use with the desktop app."}}"#,
            Permission,
            false,
        ),
    ]);
}

#[test]
fn an_accounts_state_decides_whatever_status_carries_it() {
    // Zhipu sends its account errors as 429s; none of them is a throttle.
    for (message, want) in [
        (
            "Your account has been locked, please contact support",
            Permission,
        ),
        (
            "Account has irregular activities and has been locked",
            Permission,
        ),
        (
            "Your account is in arrears, please recharge",
            QuotaExhausted,
        ),
        ("Your coding plan package has expired", QuotaExhausted),
        ("Your account does not exist", Auth),
    ] {
        let body = format!(r#"{{"error":{{"code":"1100","message":"{message}"}}}}"#);
        let d = http(429, &body);
        assert_eq!((category(&d), d.retryable), (want, false), "{message}");
    }
    for (code, message, want) in [
        (
            "OperationDenied.ServiceOverdue",
            "Operation is denied because your account balance is overdue.",
            QuotaExhausted,
        ),
        (
            "QuotaExceeded",
            "Your account has exhausted its free trial quota for the model.",
            QuotaExhausted,
        ),
        (
            "InvalidEndpointOrModel.ModelIDAccessDisabled",
            "Accessing the model via Model ID is not allowed for your account.",
            Permission,
        ),
        (
            "InvalidParameter.UnsupportedModel",
            "The request failed because the selected model does not support the stream mode.",
            InvalidRequest,
        ),
    ] {
        let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
        assert_eq!(category(&http(403, &body)), want, "{code}");
    }
}

#[test]
fn an_image_or_a_file_too_large_is_not_a_prompt_too_long() {
    let body = r#"{"error":{"code":"InvalidParameter","message":"The size of the input image exceeds the limit."}}"#;
    assert_eq!(category(&http(400, body)), InvalidRequest);
    let body = r#"{"error":{"message":"The input exceeds the model's maximum length."}}"#;
    assert_eq!(category(&http(400, body)), ContextLength);
}

#[test]
fn a_limit_counted_in_tokens_is_a_window_or_the_models() {
    // Too many tokens in a day: the allowance comes back tomorrow.
    let d = http(
        429,
        r#"{"message":"Tokens per day limit exceeded - too many tokens processed.","code":"token_quota_exceeded"}"#,
    );
    assert_eq!((category(&d), d.retryable), (RateLimit, true));
    // A 413 counted in tokens is the model's window, not a byte limit.
    let d = http(
        413,
        r#"{"error":{"code":"tokens_limit_reached","message":"Request body too large for this model. Max size: 8000 tokens."}}"#,
    );
    assert_eq!(category(&d), ContextLength);
    assert_eq!(
        category(&http(
            413,
            "<html><body>413 Request Entity Too Large</body></html>"
        )),
        InvalidRequest
    );
}

#[test]
fn apple_ruby_dart_elixir_and_okhttp_word_their_transport_failures() {
    assert_read([
        (
            "Error Domain=NSURLErrorDomain Code=-1005 \"The network connection was lost.\"",
            Network,
            true,
        ),
        (
            "Error Domain=NSURLErrorDomain Code=-1003 \"A server with the specified hostname could not be found.\"",
            Network,
            true,
        ),
        ("EOFError: end of file reached", Network, true),
        (
            "ClientException: Connection closed while receiving data",
            Network,
            true,
        ),
        ("%Mint.TransportError{reason: :timeout}", Timeout, true),
        (
            "{:error, %HTTPoison.Error{id: nil, reason: :nxdomain}}",
            Network,
            true,
        ),
        (
            "okhttp3.internal.http2.StreamResetException: stream was reset: INTERNAL_ERROR",
            Network,
            true,
        ),
        (
            "java.nio.channels.UnresolvedAddressException",
            Network,
            true,
        ),
    ]);
}

#[test]
fn gateways_guardrails_and_relays_in_their_own_words() {
    for (status, body, want) in [
        (
            446,
            r#"{"error":{"message":"The guardrail checks defined in the config failed.","type":"hooks_failed"}}"#,
            ContentFilter,
        ),
        (
            400,
            r#"{"error":{"message":"Project `p` is not allowed to use Publisher Model `gemini-2.5-pro`"}}"#,
            Permission,
        ),
        (
            401,
            r#"{"error":{"message":"该令牌额度已用尽 (request id: 1)","type":"new_api_error"}}"#,
            QuotaExhausted,
        ),
    ] {
        assert_eq!(category(&http(status, body)), want, "{body}");
    }
}

#[test]
fn a_nonzero_code_in_a_status_header_is_an_error() {
    // iFlytek Spark answers with a `header` whose non-zero code is an error.
    for (code, message, want) in [
        (10013, "input content audit failed", ContentFilter),
        (11202, "授权错误：秒级流控超限", RateLimit),
        (10907, "token数量超过上限", ContextLength),
    ] {
        let body = format!(
            r#"{{"header":{{"code":{code},"message":"{message}","sid":"cht0","status":2}}}}"#
        );
        assert_eq!(category(&http(200, &body)), want, "{message}");
    }
    let ok = r#"{"header":{"code":0,"message":"Success","sid":"cht0","status":2},"payload":{"choices":{"text":[{"content":"hi"}]}}}"#;
    assert_eq!(category(&http(200, ok)), Unknown, "code 0 is success");
}

#[test]
fn a_months_allowance_does_not_come_back_by_waiting() {
    for body in [
        r#"{"error":{"type":"rate_limit_error","message":"You've reached your monthly usage limit"}}"#,
        r#"{"error":{"message":"Monthly token quota exceeded. Please upgrade your plan."}}"#,
    ] {
        let d = http(429, body);
        assert_eq!(
            (category(&d), d.retryable),
            (QuotaExhausted, false),
            "{body}"
        );
    }
    // A monthly plan merely mentioned is not the limit's span.
    let d = http(
        429,
        r#"{"error":{"message":"Rate limit exceeded. Upgrade to a monthly plan for higher limits."}}"#,
    );
    assert_eq!(category(&d), RateLimit);
    // A window named beside it keeps it a rate limit.
    let d = http(
        429,
        r#"{"error":{"message":"Rate limit of 60 requests per minute reached on your monthly plan"}}"#,
    );
    assert_eq!(category(&d), RateLimit);
}

#[test]
fn a_nonzero_top_level_code_with_a_message_in_a_200_is_an_error() {
    bodies_diagnose_as(
        200,
        &[
            (
                r#"{"code": 336502, "msg": "Rate limit reached for TPM"}"#,
                RateLimit,
            ),
            (
                r#"{"code":20012,"message":"Model does not exist. Please check it carefully.","data":null}"#,
                ModelNotFound,
            ),
            (
                r#"{"error":"API key 无效或已停用","code":"api_key_invalid"}"#,
                Auth,
            ),
        ],
    );
    // Zero and 200 are how such APIs say success.
    for ok in [
        r#"{"code":0,"msg":"success","data":{"text":"hi"}}"#,
        r#"{"code":200,"message":"ok","data":{"text":"hi"}}"#,
    ] {
        assert_eq!(category(&http(200, ok)), Unknown, "{ok}");
    }
}

#[test]
fn a_servers_own_missing_file_or_template_mismatch_is_told_apart() {
    // Under a 5xx, a missing file is the server's own.
    let d = http(
        500,
        "Server error: 500 - [Errno 2] No such file or directory: '/data/bge-m3'",
    );
    assert_eq!((category(&d), d.retryable), (ServerError, true));
    // A chat template that cannot render the request is the request's,
    // whatever the status.
    let d = http(
        500,
        r#"{"error":{"code":500,"message":"Jinja Exception: conversation roles must alternate user/assistant/user/assistant","type":"server_error"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
    // A quoted model that is not supported is not served here.
    let d = http(
        400,
        "HTTPException: 400: Model 'acme/llm-9b' is not supported",
    );
    assert_eq!(category(&d), ModelNotFound);
}

#[test]
fn a_wrappers_words_leave_the_cause_it_names_to_decide() {
    // "Upstream request failed: <cause>": the cause decides.
    let d = http(
        402,
        r#"{"type":"server_error","message":"Upstream request failed: Insufficient account funds"}"#,
    );
    assert_eq!((category(&d), d.retryable), (QuotaExhausted, false));
    // A proxy's upstream words leave the status to decide.
    let envoy = "upstream connect error or disconnect/reset before headers. reset reason: overflow";
    assert_eq!(category(&http(503, envoy)), Overloaded);
    assert_eq!(category(&http(502, envoy)), ServerError);
    // A content filter that failed to run is a server error, not a block.
    let d = in_stream(
        r#"{"error": {"code": "content_filter_error", "message": "The contents are not filtered"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (ServerError, true));
    // Go's certificate failure behind a local server's 500 is still one.
    let d = http(
        500,
        r#"Error: 500 Internal Server Error: Post "https://example.com/api/chat": tls: failed to verify certificate: x509: certificate signed by unknown authority"#,
    );
    assert_eq!((category(&d), d.retryable), (Network, false));
}

#[test]
fn a_success_a_client_could_not_use_is_a_malformed_response() {
    for text in [
        "TypeError: Received response with null value for `choices`.",
        "content = response.choices[0].message.content\nTypeError: 'NoneType' object is not subscriptable",
        // Firebase's AI SDKs on a shape they do not know.
        "Unhandled format for Content: {}",
        // Dart's cast of a JSON value the answer did not hold.
        "type 'Null' is not a subtype of type 'String' in type cast",
    ] {
        let d = engine().diagnose(&Failure::message(text).with_status(200));
        assert_eq!(category(&d), MalformedResponse, "{text}");
        // Read by a rule, not by the fallback for a 200 no word explains.
        assert!(d.confidence > 0.5, "{text}: {d:?}");
    }
    // A 200 arrived, then the calling code failed on it in words that name
    // no cause: read as a 200 body no rule explains is, and said to be a guess.
    for text in [
        "IllegalStateException: The content is not a string!",
        "ValueError: too many values to unpack (expected 3)",
    ] {
        let d = engine().diagnose(&Failure::message(text).with_status(200));
        assert_eq!(
            (category(&d), d.retryable, &*d.sub_category),
            (MalformedResponse, true, "unexpected_body"),
            "{text}"
        );
        assert!(d.confidence <= 0.5, "{text}: {d:?}");
        // Without the status nothing says an answer arrived: no rule reads
        // it, and only the words guess.
        let rules_only = DiagnosisEngine::new().guess_from_words(false);
        assert_eq!(
            category(&rules_only.diagnose(&Failure::message(text))),
            Unknown,
            "{text}"
        );
    }
    // A status the text prints counts as one.
    let printed = engine().diagnose(&Failure::message("HTTP 200 size=0"));
    assert_eq!(category(&printed), MalformedResponse);
    // A user's own rule stands under a 200, even one that says `unknown`.
    let mine = DiagnosisEngine::builder()
        .rule(nb_diagnose::Rule::new(Unknown, "ours").pattern("zorp flumbled"))
        .build()
        .unwrap();
    let d = mine.diagnose(&Failure::message("zorp flumbled").with_status(200));
    assert_eq!((category(&d), &*d.sub_category), (Unknown, "ours"));
    // Words that name a cause still decide under a 200.
    let filtered =
        engine().diagnose(&Failure::message("Response was blocked due to SAFETY").with_status(200));
    assert_eq!(category(&filtered), ContentFilter);
}

#[test]
fn a_plan_or_tier_that_excludes_the_model_is_a_permission() {
    for (status, body) in [
        (
            401,
            r#"{"error": "This model is only available to Pro users"}"#,
        ),
        (
            400,
            r#"{"error":{"message":"Invalid service_tier argument: The requested service tier is not allowed for this project.","param":"service_tier"}}"#,
        ),
    ] {
        assert_eq!(category(&http(status, body)), Permission, "{body}");
    }
}

#[test]
fn a_request_larger_than_the_windows_budget_cannot_pass_by_waiting() {
    let d = http(
        429,
        r#"{"error":{"message":"Rate limit reached for model `llama3-70b` in organization `org_1` on tokens per minute (TPM): Limit 7000, Used 0, Requested ~12903. Please try again in 50.5s.","type":"tokens","code":"rate_limit_exceeded"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (RateLimit, false));
    assert!(
        d.sub_category.ends_with("request_exceeds_rate_limit"),
        "{}",
        d.sub_category
    );
    // Within the budget, it waits.
    let d = http(
        429,
        r#"{"error":{"message":"Rate limit reached on tokens per minute (TPM): Limit 7000, Used 6000, Requested 1200. Please try again in 8.5s."}}"#,
    );
    assert_eq!((category(&d), d.retryable), (RateLimit, true));
}

#[test]
fn busy_slots_crashed_clients_and_unsupported_tools_in_their_own_words() {
    assert_read([
        (
            "ollama._types.ResponseError: no slots available after 10 retries",
            Overloaded,
            true,
        ),
        ("Context deadline reached", Timeout, true),
        (
            "聊得很愉快，但你已达到每日限制。请明天再试。",
            RateLimit,
            true,
        ),
    ]);
    let d = engine().diagnose(
        &Failure::message(
            "An error occurred while processing the request: Cannot read properties of undefined (reading 'role')",
        )
        .with_status(200),
    );
    assert_eq!(category(&d), MalformedResponse);
    // A model that lacks tools, under a generic server-error type.
    let d = http(
        400,
        r#"{"error":{"message":"tinyllm:latest does not support tools","type":"api_error"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
    // A tRPC error: a code that is not a success, with a type.
    assert_eq!(
        category(&http(200, r#"{"code":"UNAUTHORIZED","name":"TRPCError"}"#)),
        Auth
    );
    assert_eq!(
        category(&http(
            200,
            r#"{"code":"SUCCESS","message":"done","data":{}}"#
        )),
        Unknown
    );
}

#[test]
fn a_cdns_own_response_is_not_a_network_failure() {
    // Cloudflare's 521 and 523 come over a working connection: the hop
    // behind the CDN failed.
    for status in [521, 523, 525] {
        let d = http(status, "<html><title>Origin is unreachable</title></html>");
        assert_eq!((category(&d), d.retryable), (ServerError, true), "{status}");
    }
}

#[test]
fn a_routers_own_restrictions_and_a_streams_idle_timer_are_named_as_such() {
    // OpenRouter's guardrail restrictions are the account's routing policy,
    // not a content filter.
    let d = http(
        404,
        r#"{"error":{"message":"No endpoints available matching your guardrail restrictions and data policy.","code":404}}"#,
    );
    assert_eq!(category(&d), ModelNotFound);
    let d = in_stream("API Error: Stream idle timeout - no chunks received");
    assert_eq!((category(&d), d.retryable), (Timeout, true));
    assert_read([(
        "ValueError: no candidates were returned.\n\nblock_reason: SAFETY\nsafety_ratings {\n  category: HARM_CATEGORY_HARASSMENT\n}",
        ContentFilter,
        false,
    )]);
}

#[test]
fn an_sdks_rate_limit_class_does_not_outrank_the_words_it_carries() {
    // OpenAI's spent quota, raised by SDKs as `RateLimitError`.
    let d = engine().diagnose(
        &Failure::message(
            "Exception Type: RateLimitError, Error Details: You exceeded your current quota, please check your plan and billing details.",
        )
        .with_status(429),
    );
    assert_eq!((category(&d), d.retryable), (QuotaExhausted, false));
    // Google's same words with a per-minute metric stay a rate limit.
    let d = http(
        429,
        r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: generate_content_requests_per_minute","status":"RESOURCE_EXHAUSTED"}}"#,
    );
    assert_eq!(category(&d), RateLimit);
}

#[test]
fn something_deprecated_is_the_model_only_when_a_model_is_named() {
    assert_read([
        (
            "Error: Live search is deprecated. Please switch to the Agent Tools API",
            InvalidRequest,
            false,
        ),
        (
            "The model `text-davinci-003` has been deprecated",
            ModelNotFound,
            false,
        ),
    ]);
}

#[test]
fn dotnet_swift_and_dart_clients_in_their_own_words() {
    assert_read([(
        "System.Threading.Tasks.TaskCanceledException: The operation was cancelled because it exceeded the configured timeout of 0:01:40.\n ---> System.IO.IOException: Unable to read data from the transport connection",
        Timeout,
        true,
    )]);
    for text in [
        "keyNotFound(CodingKeys(stringValue: \"system_fingerprint\", intValue: nil), Swift.DecodingError.Context(codingPath: []))",
        "Unhandled Exception: FormatException: Unexpected end of input (at character 2)",
    ] {
        assert_eq!(category(&in_stream(text)), MalformedResponse, "{text}");
    }
}

#[test]
fn an_error_printed_in_another_languages_syntax_is_read_by_its_words() {
    // A Python dict and a JavaScript object literal do not parse as JSON;
    // opening as an error, their words name the cause.
    let python = http(
        200,
        "{'error': 'Model org/some-11b is currently loading', 'estimated_time': 1809.18}",
    );
    assert_eq!((category(&python), python.retryable), (Overloaded, true));
    let js = http(
        200,
        "{ error: { message: 'You exceeded your current quota, please check your plan and billing details' } }",
    );
    assert_eq!(category(&js), QuotaExhausted);
    // A truncated answer is still a broken body, whatever it says.
    let cut = http(
        200,
        r#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"message":{"content":"Too many requests make a rate limit"#,
    );
    assert_eq!(category(&cut), MalformedResponse);
}

#[test]
fn a_failed_turn_recorded_with_an_error_stop_reason_is_an_error() {
    let d = http(
        200,
        r#"{"role":"assistant","content":[],"stopReason":"error","errorMessage":"Request timed out."}"#,
    );
    assert_eq!((category(&d), d.retryable), (Timeout, true));
    let d = http(
        200,
        r#"{"choices":[{"delta":{},"finish_reason":"error"}],"message":"Upstream overloaded, try again"}"#,
    );
    assert_eq!(category(&d), Overloaded);
}

#[test]
fn a_key_rejected_by_any_providers_name_is_auth() {
    assert_read([
        ("Invalid xAI API Key. Try again?", Auth, false),
        ("Error: incorrect Fireworks API key provided", Auth, false),
    ]);
    // A wrapper's guess does not outrank the cause it wraps.
    assert_read([(
        "Invalid Gemini API key: [429 Too Many Requests] You exceeded your current quota. Quota exceeded for metric: generate_content_free_tier_requests, limit: 20. Please retry in 51s.",
        RateLimit,
        true,
    )]);
    // "Invalid" in another clause is not about the key.
    let d = http(
        400,
        r#"{"error":{"message":"Invalid value for 'top_p'. Check the API key docs for limits."}}"#,
    );
    assert_eq!(category(&d), InvalidRequest);
}

#[test]
fn a_relays_wrapper_words_defer_to_the_errors_type_then_the_status() {
    let refused = http(
        400,
        r#"{"error":{"message":"Error from provider: Upstream request failed","type":"invalid_request_error"}}"#,
    );
    assert_eq!(
        (category(&refused), refused.retryable),
        (InvalidRequest, false)
    );
    let failed = http(
        400,
        r#"{"message":"Error from provider: Upstream request failed","type":"server_error"}"#,
    );
    assert_eq!((category(&failed), failed.retryable), (ServerError, true));
    let d = engine()
        .diagnose(&Failure::message("[ERROR] [400]: relay upstream error (400)").with_status(400));
    assert_eq!(category(&d), InvalidRequest);
}

#[test]
fn a_deadline_met_while_reading_the_body_of_a_stream_is_a_cut() {
    let text = "Stream: partial response delivered then failed (context deadline exceeded (Client.Timeout or context cancellation while reading body))";
    assert_eq!(category(&in_stream(text)), StreamInterrupted);
    // Outside a stream, the deadline is a timeout.
    assert_read([(
        "context deadline exceeded (Client.Timeout or context cancellation while reading body)",
        Timeout,
        true,
    )]);
}

#[test]
fn a_quota_that_names_its_reset_and_a_plans_usage_window_are_rate_limits() {
    assert_read([
        (
            "HTTP 429: quota exhausted (Your quota will reset after 49s.)",
            RateLimit,
            true,
        ),
        (
            "You have hit your ChatGPT usage limit (team plan). Try again in ~42 min.",
            RateLimit,
            true,
        ),
        (
            "You've reached your monthly usage limit.",
            QuotaExhausted,
            false,
        ),
    ]);
}

#[test]
fn clients_words_for_bodies_they_could_not_use() {
    assert_read([
        (
            "ChatGPT error (nil): Malformed JSON in response.",
            MalformedResponse,
            true,
        ),
        (
            "error: Could not parse HTTP response.",
            MalformedResponse,
            true,
        ),
        (
            "AI_APICallError: Failed to process successful response",
            MalformedResponse,
            true,
        ),
        (
            "Expected to have received response.created before response.in_progress",
            MalformedResponse,
            true,
        ),
        (
            "curl: (60) server certificate verification failed. CAfile: none",
            Network,
            false,
        ),
        ("TypeError: Network request failed", Network, true),
        (
            "ValueError: Request length 71599 + 2048 is greater than max_seq_len 65536",
            ContextLength,
            false,
        ),
    ]);
}

#[test]
fn a_body_with_nothing_but_a_message_is_an_error_when_its_words_name_one() {
    let d = http(
        200,
        r#"{"detail":"Quota exceeded and account balance is $0.0, please top up"}"#,
    );
    assert_eq!((category(&d), d.retryable), (QuotaExhausted, false));
    let d = http(
        200,
        r#"{"message":"All backends error: invalid request: message must be at least 1 token long"}"#,
    );
    assert_eq!(category(&d), InvalidRequest);
    // Words that name nothing leave it a success the caller rejected.
    assert_eq!(category(&http(200, r#"{"message":"ok"}"#)), Unknown);
}

#[test]
fn a_status_named_inside_an_error_outranks_a_relays_generic_type() {
    // The exception was raised for a 500: the connection words are a hop's.
    let event = r#"data: {"error": {"message": "litellm.APIConnectionError: 500 Internal error encountered."}}"#;
    assert_eq!(category(&in_stream(event)), ServerError);
    // A relay's 500 carrying the upstream's 429; an `api_error` carrying a 401.
    let d = http(
        500,
        r#"{"error":{"message":"Request failed with status code 429","type":"api_error","code":500}}"#,
    );
    assert_eq!((category(&d), d.retryable), (RateLimit, true));
    let d = http(
        401,
        r#"{"error":{"message":"Upstream API error: HTTP 401 - \"\"","type":"api_error"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (Auth, false));
}

#[test]
fn request_and_account_wording_of_relays_gateways_and_clouds() {
    assert_read([
        (
            r#"{"error": true, "message": "missing BAIDU_API_KEY or BAIDU_SECRET_KEY in server env vars"}"#,
            Auth,
            false,
        ),
        (
            "An error occurred (ValidationException) when calling the InvokeModel operation: Your account is not authorized to invoke this API operation.",
            Permission,
            false,
        ),
        (
            "status_code: 401, body: {'error': {'message': '[sk-abc***] Token amount has been exhausted token.RemainQuota = 0'}}",
            QuotaExhausted,
            false,
        ),
        (
            "LLM Provider NOT provided. Pass in the LLM provider you are trying to call.",
            InvalidRequest,
            false,
        ),
        (
            "AI_APICallError: not implemented (request id: 1)",
            InvalidRequest,
            false,
        ),
    ]);
}

#[test]
fn azures_filter_results_in_every_chunk_are_not_a_block() {
    // Every Azure chunk reports its filters, blocked or not; a parser that
    // choked on one is the failure.
    let text = r#"JSONParseError: JSON parsing failed: Text: {"id":"","prompt_filter_results":[{"content_filter_results":{"hate":{"filtered":false}}}],"choices":[]}"#;
    assert_eq!(category(&in_stream(text)), MalformedResponse);
    assert_eq!(
        category(&in_stream(
            "JSON error: missing field `content` at line 36 column 5"
        )),
        MalformedResponse
    );
    assert_eq!(
        category(&in_stream(
            "Error: completions stream timed out while waiting for the first event"
        )),
        Timeout
    );
}

#[test]
fn sdks_and_self_hosted_servers_in_their_own_words() {
    assert_read([
        (
            "the server closed connection before returning the first response byte",
            Network,
            true,
        ),
        (
            "EOF occurred in violation of protocol (_ssl.c:992)",
            Network,
            true,
        ),
        (
            "System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception.",
            Network,
            true,
        ),
        (
            "Next OpenAI\\Exceptions\\UnserializableResponse: Syntax error",
            MalformedResponse,
            true,
        ),
        (
            "CompletionError: Response contained no message or tool call (empty)",
            MalformedResponse,
            true,
        ),
        (
            "error: No completion choice available",
            MalformedResponse,
            true,
        ),
        (
            "LLM generation failed: list index out of range",
            MalformedResponse,
            true,
        ),
        (
            "Response stopped due to malformed function call.",
            MalformedResponse,
            true,
        ),
        (
            "Error code: 403 - {'code': 30003, 'message': 'Model disabled.'}",
            ModelNotFound,
            false,
        ),
        (
            "Request failed during generation: Server error: Out of available cache blocks: asked 107, only 4 free blocks",
            Overloaded,
            true,
        ),
        (
            "json mode cannot be combined with tool/function calling",
            InvalidRequest,
            false,
        ),
    ]);
    assert_eq!(
        category(&in_stream("Content generation stopped. Reason: RECITATION")),
        ContentFilter
    );
    assert_eq!(
        category(&in_stream("Stream error: queue_exceeded")),
        Overloaded
    );
    assert_eq!(
        category(&in_stream(
            "The system encountered an unexpected error during processing. Try your request again."
        )),
        ServerError
    );
}

#[test]
fn a_relays_api_error_type_does_not_outrank_the_limit_its_words_name() {
    let d = engine().diagnose(
        &Failure::message(
            r#"API Error (429 {"error":{"message":"Error from provider: {\"errors\":{\"message\":\"Request limit exceeded.\"}}","type":"api_error"}})"#,
        )
        .with_status(429),
    );
    assert_eq!((category(&d), d.retryable), (RateLimit, true));
}

#[test]
fn errors_in_chinese_and_other_locales_of_the_same_failures() {
    assert_read([
        (
            "添加模型失败：请求服务失败，请检查网络后重试 (997)",
            Network,
            true,
        ),
        (
            "Io Error: 由于连接方在一段时间后没有正确答复或连接的主机没有反应，连接尝试失败。 (os error 10060)",
            Timeout,
            true,
        ),
        ("发生SSL错误，无法建立到该服务器的安全连接。", Network, true),
        (
            "error trying to connect: 接收到的消息异常，或格式不正确。 (os error -2146893018)",
            Network,
            false,
        ),
        ("现在是未授权状态，请在设置页填写授权码", Auth, false),
        ("LobeHub API Key 不正确或为空，请检查后重试。", Auth, false),
        (
            "抱歉，您的请求包含不安全内容，已被系统拦截。",
            ContentFilter,
            false,
        ),
        (
            "Raison : Please check your firewall rules and network connection then try again. Error Code: net::ERR_FAILED.",
            Network,
            true,
        ),
    ]);
}

/// The words model of every category is asked only about a text without a
/// status: what a client reads (a response, a broken answer, a transport
/// failure) is read by its status, the answer or its kind, whatever its
/// words. (A stream's stop is asked only whether it was a cut or a broken
/// chunk; see the next test.)
#[test]
fn only_a_text_without_a_status_is_guessed_from_its_words() {
    use nb_diagnose::{TimeoutPhase, TransportErrorKind};
    let text = "your organization ran out of prepaid credit balance";
    // Off by default: the rules alone leave it unread.
    let unread = engine().diagnose(&Failure::message(text));
    assert_eq!((category(&unread), unread.is_guess()), (Unknown, false));
    let guessed = guessing().diagnose(&Failure::message(text));
    assert_eq!(
        (category(&guessed), guessed.is_guess()),
        (QuotaExhausted, true)
    );
    // The share of the replayed quota guesses that were right, drawn toward
    // the share of all guesses.
    assert!((guessed.confidence - 0.37).abs() < 1e-6, "{guessed:?}");
    assert!(guessed.sub_category.ends_with("guessed_from_words"));
    for (failure, want) in [
        (Failure::http(200, text), MalformedResponse),
        (Failure::http(402, text), QuotaExhausted),
        (Failure::http(500, text), ServerError),
        (Failure::malformed(text, "no choices"), MalformedResponse),
        (Failure::message(text).with_status(200), MalformedResponse),
        (Failure::message(text).with_status(418), InvalidRequest),
        // A redirect the client did not follow: read by its status, which
        // names no cause, not guessed from the page's words.
        (
            Failure::http(
                302,
                "<html><head><title>302 Found</title></head><body><center><h1>302 Found</h1></center><hr><center>nginx</center></body></html>",
            ),
            Unknown,
        ),
        (Failure::message(text).with_status(307), Unknown),
        (
            Failure::transport(
                TransportErrorKind::Timeout(TimeoutPhase::FirstByte),
                Some(text),
            ),
            Timeout,
        ),
    ] {
        let d = guessing().diagnose(&failure);
        assert_eq!((category(&d), d.is_guess()), (want, false), "{failure:?}");
    }
}

/// An event is read the same whichever SSE field comes first: a reader may
/// hand over its `id:` or `retry:` line with its `data:`. A plain body whose
/// first line happens to be `id: …` is not an event stream.
#[test]
fn an_event_reads_the_same_whatever_field_leads_it() {
    for event in [
        r#"data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        "event: error\ndata: {\"error\":{\"type\":\"insufficient_quota\",\"message\":\"You exceeded your current quota\"}}",
        r#"data: {"choices":[{"delta":{"content":"Hel"#,
        r#"data: {not json}"#,
    ] {
        let plain = in_stream(event);
        for field in ["id: 7", "retry: 3000", "id: 7\nretry: 3000"] {
            let led = in_stream(&format!("{field}\n{event}"));
            assert_eq!(
                (category(&led), &*led.sub_category),
                (category(&plain), &*plain.sub_category),
                "{field} before {event}"
            );
            let body = http(200, &format!("{field}\n{event}"));
            let plain = http(200, event);
            assert_eq!(
                (category(&body), &*body.sub_category),
                (category(&plain), &*plain.sub_category),
                "a 200's body: {field} before {event}"
            );
        }
    }
    // Without an event's line, a body that begins `id:` is read by its words.
    let d = http(200, "id: 42\nerror: you exceeded your monthly quota");
    assert_eq!(category(&d), QuotaExhausted, "{d:?}");
    let d = http(200, "id: 42\nstatus: ok");
    assert_ne!(category(&d), StreamInterrupted, "{d:?}");
}

/// A stream that stopped with a client's words naming no cause the rules
/// know is a cut, unless its words are those of a chunk that could not be
/// used: then it is guessed a broken chunk, and says so.
#[test]
fn a_stream_stop_in_a_parsers_words_is_guessed_a_broken_chunk() {
    let rules_only = DiagnosisEngine::new().guess_from_words(false);
    for text in [
        "AttributeError: 'NoneType' object has no attribute 'delta'",
        "ValueError: expected str, got NoneType for field delta.content",
    ] {
        let d = guessed_in_stream(text);
        assert_eq!(
            (category(&d), d.retryable, d.is_guess(), &*d.sub_category),
            (MalformedResponse, true, true, "chunk_guessed_from_words"),
            "{text}"
        );
        assert!((d.confidence - 0.75).abs() < 1e-6, "{d:?}");
        let cut = rules_only.diagnose(&Failure::stream_interrupted(text));
        assert_eq!(
            (category(&cut), cut.is_guess(), cut.confidence),
            (StreamInterrupted, false, 0.65),
            "{text}"
        );
    }
    // Words of a stop stay a cut, read from the stream alone.
    for text in [
        "stream stopped",
        "The response ended before the answer was complete.",
    ] {
        let d = guessed_in_stream(text);
        assert_eq!(
            (category(&d), d.is_guess(), d.confidence),
            (StreamInterrupted, false, 0.65),
            "{text}"
        );
    }
    // From a known provider the sub-category is prefixed, and still a guess.
    let openai = guessing().diagnose(
        &Failure::stream_interrupted("AttributeError: 'NoneType' object has no attribute 'delta'")
            .with_base_url("https://api.openai.com/v1"),
    );
    assert_eq!(
        (category(&openai), &*openai.sub_category, openai.is_guess()),
        (MalformedResponse, "openai_chunk_guessed_from_words", true)
    );
    // A log line's brackets are not JSON: its words are asked about.
    let logged =
        guessed_in_stream("[ERROR] AttributeError: 'NoneType' object has no attribute 'delta'");
    assert_eq!(
        (category(&logged), logged.is_guess()),
        (MalformedResponse, true)
    );
    // What a rule reads is not asked about, nor is an event the stream
    // sent, in any of SSE's fields or as JSON: a whole chunk given alone is
    // the last one before a cut.
    let chunk = r#"{"choices":[{"index":0,"delta":{"content":"NoneType has no attribute"}}]}"#;
    for (text, want) in [
        (
            "connection closed before message completed".to_owned(),
            StreamInterrupted,
        ),
        (
            "Error: unexpected token at line 1 column 5".to_owned(),
            MalformedResponse,
        ),
        (format!("data: {chunk}"), StreamInterrupted),
        (format!("id: 7\ndata: {chunk}"), StreamInterrupted),
        (format!("retry: 3000\ndata: {chunk}"), StreamInterrupted),
        (format!(": keep-alive\n\ndata: {chunk}"), StreamInterrupted),
        (chunk.to_owned(), StreamInterrupted),
        (format!("[{chunk}]"), StreamInterrupted),
    ] {
        let d = guessed_in_stream(&text);
        assert_eq!((category(&d), d.is_guess()), (want, false), "{text}");
    }
    // The model tells only a cut from a broken chunk: the words of another
    // cause, in a stream, are read as one of the two. Which one depends on
    // counts that learn every sealed set (a broken chunk until the
    // twenty-second sample); pinned to the committed counts.
    let other = guessed_in_stream("your organization ran out of prepaid credit balance");
    assert_eq!(
        (category(&other), other.is_guess()),
        (StreamInterrupted, false)
    );
}

#[test]
fn words_that_name_no_cause_are_read_by_no_rule() {
    // No rule reads them, as the labels' ruling has it (a failure that names
    // no cause is `unknown`), though their words are those of errors that do.
    // What a guess from words makes of them depends on counts that learn
    // every sealed set; the words model's own tests measure its guesses.
    let rules_only = DiagnosisEngine::new().guess_from_words(false);
    for text in [
        "Model Request failed. Please try again later. (4054)",
        "error: \"Unexpected error\"",
    ] {
        let d = rules_only.diagnose(&Failure::message(text));
        assert_eq!((category(&d), d.retryable), (Unknown, false), "{text}");
    }
    // With a cause, the cause decides.
    let d = http(
        503,
        r#"{"error":{"code":503,"message":"The model is overloaded. Please try again later."}}"#,
    );
    assert_eq!(category(&d), Overloaded);
}

#[test]
fn apps_and_relays_words_for_accounts_bodies_and_queues() {
    assert_read([
        (
            "API Error: 403 {\"error\":{\"message\":\"Your User ID temporarily is suspended. We've locked your account as a security precaution.\",\"type\":\"permission_error\",\"code\":\"insufficient_quota\"}}",
            Permission,
            false,
        ),
        (
            "user [3446] quota [-20847155]preConsumedQuota [743]is not enough",
            QuotaExhausted,
            false,
        ),
        (
            "Too many current requests. Your queue position is 140. Please wait or switch models.",
            Overloaded,
            true,
        ),
        ("CodeBuddy: Authentication required", Auth, false),
        (
            "The data couldn't be read because it isn't in the correct format.",
            MalformedResponse,
            true,
        ),
        ("TypeError: Load failed", Network, true),
        (
            "NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE.\n(error_code: 50003, HTTPConnectionPool(host='localhost', port=21002): Read timed out.)",
            Timeout,
            true,
        ),
        (
            "NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE.",
            Overloaded,
            true,
        ),
        (
            "google.api_core.exceptions.RetryError: Deadline of 120.0s exceeded while calling target function",
            Timeout,
            true,
        ),
    ]);
    // A server's complaint about the request's JSON is not a broken answer.
    let d = http(
        200,
        r#"{"detail":"Invalid JSON body (Expecting property name enclosed in double quotes: line 5 column 1)"}"#,
    );
    assert_eq!(category(&d), InvalidRequest);
    // A JavaScript printout whose first key is bare is read by its words.
    let d = http(
        200,
        "{\n  success: true,\n  data: { success: false, data: { code: 'unauthorized', details: 'Token has expired, please log in again.' } }\n}",
    );
    assert_eq!(category(&d), Auth);
    // gRPC's UNIMPLEMENTED: the request's, unless a 5xx says the server's.
    assert_read([(
        "Error: rpc error: code = Unknown desc = unimplemented",
        InvalidRequest,
        false,
    )]);
    let d = http(
        500,
        r#"{"error":{"code":500,"message":"rpc error: code = Unknown desc = unimplemented"}}"#,
    );
    assert_eq!(category(&d), ServerError);
}

#[test]
fn batch_jobs_workers_and_cloud_credentials_in_their_own_words() {
    assert_read([
        (
            "BatchError(code='token_limit_exceeded', message='Enqueued token limit reached for gpt-4o-mini. Limit: 2,000,000 enqueued tokens.')",
            RateLimit,
            true,
        ),
        (
            "BatchError(code=\"invalid_json_line\", line=1, message=\"This line is not parseable as valid JSON.\")",
            InvalidRequest,
            false,
        ),
        ("Batch expired (error_file_id: file-1)", Timeout, true),
        (
            "InvalidWorkerCreation: worker did not respond in time",
            Timeout,
            true,
        ),
        (
            "You have exhausted your daily quota on this model.",
            RateLimit,
            true,
        ),
        (
            "The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.",
            ServerError,
            true,
        ),
        (
            "An error occurred (ResourceNotFoundException) when calling the InvokeModel operation: Could not resolve the foundation model from the provided model identifier.",
            ModelNotFound,
            false,
        ),
        (
            "API Error: Could not load credentials from any providers",
            Auth,
            false,
        ),
        ("Could not refresh access token", Auth, false),
        (
            "Outbound network access is restricted. The hostname is not in the allowed FQDN list for this resource.",
            Permission,
            false,
        ),
        (
            "infer: stream error: stream ID 1007; INTERNAL_ERROR; received from peer",
            Network,
            true,
        ),
        ("no content in Gemini response", MalformedResponse, true),
        (
            "Error: No candidates returned in API response.",
            MalformedResponse,
            true,
        ),
        // An app's guess after the failure does not outrank the failure.
        (
            "Failed to call OpenAI API: Connection error.\n[FAILURE] Invalid OpenAI API key.",
            Network,
            true,
        ),
    ]);
    let d = engine().diagnose(
        &Failure::message(
            "[API Error: 429 Request didn't generate first token before the given deadline]",
        )
        .with_status(429),
    );
    assert_eq!(category(&d), Timeout);
    let d = http(
        401,
        r#"{"success":false,"error":{"code":"UNAUTHORIZED","message":"Invalid 'Authorization' header or token."}}"#,
    );
    assert_eq!(category(&d), Auth);
    let d = http(
        503,
        r#"{"detail":"503: NVIDIA_NIM_API_KEY is not set. Add it to your .env file."}"#,
    );
    assert_eq!(category(&d), Auth);
    // Ollama's memory is freed when other models unload.
    let d = http(
        500,
        r#"{"error":"model requires more system memory (11.3 GiB) than is available (11.2 GiB)"}"#,
    );
    assert_eq!((category(&d), d.retryable), (ServerError, true));
}

#[test]
fn a_request_the_endpoint_or_model_does_not_take_in_generic_words() {
    assert_read([
        ("Unsupported option for this model", InvalidRequest, false),
        (
            "Thinking mode does not support this tool_choice",
            InvalidRequest,
            false,
        ),
        (
            "Tool call context circulation is not enabled for models/gemini-2.5-flash",
            InvalidRequest,
            false,
        ),
        (
            "Reasoning is mandatory for this endpoint and cannot be disabled",
            InvalidRequest,
            false,
        ),
        (
            "Unexpected role user after role tool",
            InvalidRequest,
            false,
        ),
        (
            "No tool output found for tool call call-a",
            InvalidRequest,
            false,
        ),
        ("reasoning_content is missing", InvalidRequest, false),
        ("Corrupted thought signature", InvalidRequest, false),
        (
            "Failed to deserialize the JSON body into the target type: tools[0]: missing field `name`",
            InvalidRequest,
            false,
        ),
        (
            "`temperature` is deprecated for this model.",
            InvalidRequest,
            false,
        ),
    ]);
    // Under a status that says more, the status decides.
    let d = engine()
        .diagnose(&Failure::message("gateway is not enabled for this team").with_status(403));
    assert_eq!(category(&d), Permission);
    // Under a 403 a blocked request is the gateway refusing the caller; with
    // no status, a filter.
    let d = engine().diagnose(&Failure::message("Your request was blocked").with_status(403));
    assert_eq!(category(&d), Permission);
    assert_read([("Error: Your request was blocked", ContentFilter, false)]);
    // A signature the thinking block carries is not the key's.
    let d = engine().diagnose(
        &Failure::message("HTTP 400: \"Invalid signature in thinking block\"").with_status(400),
    );
    assert_eq!(category(&d), InvalidRequest);
}

#[test]
fn credits_capacity_and_concurrency_named_in_few_words() {
    assert_read([
        (
            "Usage credits are required for long context requests",
            QuotaExhausted,
            false,
        ),
        ("Credit balance too low", QuotaExhausted, false),
        (
            "ResourceExhausted: 429 Rate of traffic exceeds capacity. Ramp your traffic up more slowly.",
            Overloaded,
            true,
        ),
        ("All connection attempts failed", Network, true),
        ("Session token not found or invalid", Auth, false),
        ("model not available in region: global", Permission, false),
    ]);
    assert_eq!(
        category(&in_stream(
            r#"event: error data: {"error":{"code":"1302","message":"High concurrency, please slow down"}}"#
        )),
        RateLimit
    );
}

#[test]
fn the_final_slices_families_in_their_own_words() {
    assert_read([
        (
            "RateLimitError: Error code: 429 - {'error': {'message': 'You do not have enough quota to make this request.', 'code': 'too_many_requests'}}",
            QuotaExhausted,
            false,
        ),
        (
            "error code from baidu: IamSignatureInvalid, cause: Could not find credential.",
            Auth,
            false,
        ),
        ("NGHTTP2_FRAME_SIZE_ERROR", Network, false),
        (
            "Error code: 404 - {'error': {'message': 'This model is only supported in v1/responses and not in v1/chat/completions.', 'type': 'invalid_request_error'}}",
            InvalidRequest,
            false,
        ),
    ]);
    assert_eq!(
        category(&in_stream(
            "EventStreamError('An error occurred (dependencyFailedException) when calling the InvokeAgent operation: received model timeout/error exception')"
        )),
        ServerError
    );
}

#[test]
fn an_error_object_sent_without_its_wrapper_decides_by_its_words() {
    bodies_diagnose_as(
        200,
        &[
            (
                r#"{"message":"Rate limit reached for requests","type":"requests"}"#,
                RateLimit,
            ),
            (
                r#"{"message": "The server had an error processing your request.","type":"server_error","param":null,"code":null}"#,
                ServerError,
            ),
            (
                r#"{"message": "text blocked by content policy", "type": "pii_blocked"}"#,
                ContentFilter,
            ),
        ],
    );
    // A message and a type that name no error are an answer.
    assert_eq!(
        category(&http(200, r#"{"message":"Hello there","type":"text"}"#)),
        Unknown
    );
}

#[test]
fn a_phrase_wrapped_over_lines_still_names_its_cause() {
    let d = engine().diagnose(
        &Failure::message("registry.ollama.ai/library/gemma3:270m does not support\ntools")
            .with_status(400),
    );
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
    // The phrase itself is read, not only the generic "does not support".
    assert!(
        d.sub_category.ends_with("not_supported"),
        "{}",
        d.sub_category
    );
}

#[test]
fn the_twentieth_sets_families_in_their_own_words() {
    bodies_diagnose_as(
        200,
        &[
            (
                r#"{"error":{"message":"You have exhausted your capacity on this model. Your quota will reset after 1h43m56s."}}"#,
                RateLimit,
            ),
            (
                r#"{"model_remains":null,"base_resp":{"status_code":2062,"status_msg":"no active token plan subscription"}}"#,
                QuotaExhausted,
            ),
            (
                r#"{"error": {"message": "API key not provided. Please provide a valid API key."}}"#,
                Auth,
            ),
            (
                r#"{"error":"please check the model you provided"}"#,
                ModelNotFound,
            ),
        ],
    );
    assert_read([
        ("UND_ERR_SOCKET", Network, true),
        (
            "VertexAIException InternalServerError - File ~/.config/gcloud/application_default_credentials.json was not found.",
            Auth,
            false,
        ),
        (
            "RefreshError: Certificate config or certificate file not found after multiple retries.",
            Auth,
            false,
        ),
        (
            "Error code: 404 - {'message': 'Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days.'}",
            ModelNotFound,
            false,
        ),
        (
            "Error code: 400 - {'error': {'message': 'Model openai/claude-3-5-sonnet is not available', 'code': 400}}",
            ModelNotFound,
            false,
        ),
    ]);
}

#[test]
fn an_error_printed_with_pythons_values_is_read_by_its_words() {
    let d = http(
        200,
        r#"{"message": "n > 1 is not supported with streaming.", "type": "invalid_request_error", "param": "n", "code": None}"#,
    );
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
    // A cut JSON body without them is still a broken answer.
    assert_eq!(
        category(&http(
            200,
            r#"{"id": "chatcmpl-1", "choices": [{"index": 0, "#
        )),
        MalformedResponse
    );
}

#[test]
fn requests_limits_and_cuts_without_a_status() {
    bodies_diagnose_as(
        200,
        &[
            (
                r#"{"error":{"code":"model_cooldown","message":"All credentials for model gpt-5.5 are cooling down","reset_seconds":13792}}"#,
                RateLimit,
            ),
            (
                r#"{"error":{"code":"websocket_connection_limit_reached","type":"server_error","message":"too many websocket connections"}}"#,
                RateLimit,
            ),
            (
                r#"{"error":{"message":"Item with id 'rs_item_1' not found"}}"#,
                InvalidRequest,
            ),
            (
                r#"{"error":{"message":"Only one of max_tokens or max_completion_tokens may be specified."}}"#,
                InvalidRequest,
            ),
            (
                r#"{"code": "response_cancel_not_active", "message": "No active response to cancel"}"#,
                InvalidRequest,
            ),
            (
                r#"{"error":{"message":"Invalid JSON payload received. Unknown name \"id\" at 'generation_config': Cannot find field."}}"#,
                InvalidRequest,
            ),
        ],
    );
    assert_eq!(
        category(&in_stream(
            r#"event: error data: {"error":{"message":"Upstream overload"}}"#
        )),
        Overloaded
    );
    assert_eq!(
        category(&in_stream(
            r#"{"type":"error","message":"Reconnecting... 1/5"}"#
        )),
        StreamInterrupted
    );
    assert_read([(
        "Failed to sign in. Message: Your current account is not eligible because it is not currently available in your location.",
        Permission,
        false,
    )]);
    let d = engine().diagnose(
        &Failure::message("openai.ConflictError: Error code: 409 - {'detail': \"Cannot cancel response 'resp_1': only background responses can be cancelled\"}")
            .with_status(409),
    );
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
}

#[test]
fn a_token_or_trial_quota_is_used_up_unless_a_window_is_named() {
    assert_read([
        (
            "Your organization has exceeded its token quota for this billing period.",
            QuotaExhausted,
            false,
        ),
        (
            "You have used up your trial quota. Please upgrade your plan.",
            QuotaExhausted,
            false,
        ),
        (
            "Daily token quota of your free plan is used up.",
            RateLimit,
            true,
        ),
    ]);
}

#[test]
fn a_websocket_closed_with_a_code_that_names_its_cause() {
    for (detail, want, retryable) in [
        (
            "error in receive task: received 1011 (internal error) Internal error occurred.; then sent 1011 (internal error) Internal error occurred.",
            ServerError,
            true,
        ),
        (
            "websockets.client - < CLOSE 1008 (policy violation) Request trace id: 5abe86: application/json isn't supported",
            InvalidRequest,
            false,
        ),
        (
            "websockets.exceptions.ConnectionClosedOK: received 1001 (going away) Your session hit the maximum duration of 60 minutes.",
            InvalidRequest,
            false,
        ),
    ] {
        let d = in_stream(detail);
        assert_eq!((category(&d), d.retryable), (want, retryable), "{detail}");
    }
    // Without a code, a closed socket is a cut.
    assert_eq!(
        category(&in_stream(
            "websockets.exceptions.ConnectionClosedError: no close frame received or sent"
        )),
        StreamInterrupted
    );
}

#[test]
fn an_error_printed_as_its_cause_or_under_ret_keys_is_read_as_an_error() {
    let d = http(
        200,
        r#"{"cause": {"name": "ConnectTimeoutError", "code": "UND_ERR_CONNECT_TIMEOUT", "message": "Connect Timeout Error"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (Timeout, true));
    let d = http(
        200,
        r#"{"data":null,"retcode":100,"retmsg":"Account abnormal. Please ensure it's on good standing to use the model"}"#,
    );
    assert_eq!((category(&d), d.retryable), (QuotaExhausted, false));
    // A success code is an answer.
    assert_eq!(
        category(&http(
            200,
            r#"{"data":{"answer":"hi"},"retcode":0,"retmsg":"success"}"#
        )),
        Unknown
    );
}

#[test]
fn a_stream_timeout_after_a_partial_response_is_a_cut() {
    let d = in_stream("Error: Stream idle timeout - partial response received");
    assert_eq!(category(&d), StreamInterrupted);
    assert_eq!(
        category(&in_stream("Stream idle timeout")),
        Timeout,
        "no output yet: the stream stalled before its first token"
    );
}

#[test]
fn the_twenty_second_sets_families_in_their_own_words() {
    assert_read([
        (
            "You've hit your session limit · resets 12:50pm (Europe/Paris)",
            RateLimit,
            true,
        ),
        (
            "You've hit your weekly limit · resets 4am (Europe/Madrid)",
            RateLimit,
            true,
        ),
        (
            "The model meta-llama/Meta-Llama-3.1-405B-FP8 is too large to be loaded automatically (162GB > 10GB).",
            ModelNotFound,
            false,
        ),
        (
            "InferenceClientInputError: We have not been able to find inference provider information for model Qwen/Qwen2.5-72B-Instruct.",
            ModelNotFound,
            false,
        ),
        (
            "Unable to resolve host \"generativelanguage.googleapis.com\"",
            Network,
            true,
        ),
        ("fetch failed | Headers Timeout Error", Timeout, true),
        (
            "Error: Model requires a Pro subscription; check out hf.co/pricing to learn more.",
            Permission,
            false,
        ),
        (
            "We couldn't find a secret with the name \"MISTRAL_API_KEY\".",
            Auth,
            false,
        ),
        (
            "Input validation error: inputs must have less than 512 tokens",
            ContextLength,
            false,
        ),
        ("服务器已经满载,请更换模型,或者稍后再试", Overloaded, true),
        (
            "Error parsing Ollama response: error parsing tool call: raw='ls -R', err=invalid character 'l' looking for beginning of value",
            ServerError,
            true,
        ),
    ]);
    for (status, body, want) in [
        (
            200,
            r#"{"error": {"message": "4006: you have used up your daily free allocation of 10,000 neurons", "code": "internal_error"}}"#,
            RateLimit,
        ),
        (
            429,
            r#"{"error":{"code":429,"message":"Gemini 2.5 Pro Preview doesn't have a free quota tier.","status":"RESOURCE_EXHAUSTED"}}"#,
            QuotaExhausted,
        ),
        (
            200,
            r#"{"detail": "Model not allowed for this user"}"#,
            Permission,
        ),
        (
            200,
            "{'code': -1000, 'message': '系统异常', 'data': None}",
            ServerError,
        ),
    ] {
        assert_eq!(category(&http(status, body)), want, "{body}");
    }
}

#[test]
fn the_natural_samples_families_in_their_own_words() {
    assert_read([
        (
            "bedrock error: A conversation must alternate between user and assistant roles.",
            InvalidRequest,
            false,
        ),
        (
            "ApiError: GenerateContentRequest.contents: contents is not specified",
            InvalidRequest,
            false,
        ),
        (
            "API 调用参数有误，请检查文档。 (code: 1210)",
            InvalidRequest,
            false,
        ),
        (
            "model default does not work with your current plan or API key",
            Permission,
            false,
        ),
        ("Error refusing to load model", ServerError, true),
        ("错误: 网络错误 — 可能原因：1) 网络不通", Network, true),
        ("ConnectionClosed", Network, true),
    ]);
    assert_eq!(
        category(&http(
            200,
            r#"{"message":"The requested operation is not recognized by the service."}"#
        )),
        InvalidRequest
    );
    // A negative code is a code: the body is an error, read by its words.
    let d = http(
        200,
        r#"{"code": -1000, "message": "getaddrinfo EAI_AGAIN kimi.moonshot.cn", "data": null}"#,
    );
    assert_eq!((category(&d), d.retryable), (Network, true));
}

#[test]
fn narrow_words_do_not_catch_other_failures() {
    // Python's values only after a quoted key: a cut answer that says
    // "None" in prose is still a broken answer.
    assert_eq!(
        category(&http(
            200,
            r#"{"choices":[{"message":{"content":"Known issues: None. except openai.RateLimitError: retry"#
        )),
        MalformedResponse
    );
    // A client that sends 1011 reports its own keepalive timeout: a cut.
    let keepalive = "ConnectionClosedError: sent 1011 (internal error) keepalive ping timeout; no close frame received";
    assert_eq!(category(&in_stream(keepalive)), StreamInterrupted);
    assert_read([
        (keepalive, Network, true),
        (
            "Too many requests for the model you provided, retry in 20s",
            RateLimit,
            true,
        ),
        (
            "Rate limit exceeded: 60 requests per minute allowed with your current plan. Retry in 12s",
            RateLimit,
            true,
        ),
        (
            "Token quota exceeded. Retry after 60 seconds.",
            RateLimit,
            true,
        ),
        (
            "RefreshError: Failed to retrieve token from the metadata server due to ConnectionResetError: [Errno 104] Connection reset by peer",
            Network,
            true,
        ),
    ]);
    let d = engine().diagnose(&Failure::message(
        "TypeError: Cannot cancel a locked stream",
    ));
    assert_ne!(category(&d), InvalidRequest);
    let d = engine().diagnose(&Failure::message(
        "See which models are available in your location before you start.",
    ));
    assert_ne!(category(&d), Permission);
    // A model "not available" under a 5xx is the server's state, not a missing model.
    let d = http(
        503,
        r#"{"error":"The model llama3 is not available at the moment, please try again later"}"#,
    );
    assert_eq!((category(&d), d.retryable), (Overloaded, true));
    // undici's connect timeout is a connect timeout, not a read timeout.
    let d = engine().diagnose(&Failure::message(
        "ConnectTimeoutError: Connect Timeout Error (attempt 1, timeout 10000ms)",
    ));
    assert_eq!(
        (category(&d), &*d.sub_category),
        (Timeout, "connect_timeout")
    );
    // An object of more than four keys with a message and a type is not an
    // unwrapped error object.
    assert_eq!(
        category(&http(
            200,
            r#"{"message":"Rate limit reached","type":"notice","id":"1","role":"system","model":"m"}"#
        )),
        Unknown
    );
}

#[test]
fn a_message_that_is_only_a_reason_phrase_stands_for_its_status() {
    let d = http(200, r#"{"detail": "Not Found"}"#);
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
    let d = in_stream(
        r#"data: {"error":{"code":"api_error","message":"Internal server error","param":null,"type":"invalid_request_error"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (ServerError, true));
    // A message that only contains the phrase is read by its words.
    assert_eq!(
        category(&http(200, r#"{"detail": "Model not found: gpt-9"}"#)),
        ModelNotFound
    );
}

#[test]
fn a_message_that_says_error_over_its_details_is_an_error_object() {
    let d = http(
        200,
        r#"{"message":"OpenAI API error.","details":{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota"}}}"#,
    );
    assert_eq!((category(&d), d.retryable), (QuotaExhausted, false));
}

#[test]
fn the_second_natural_samples_families_in_their_own_words() {
    assert_read([
        (
            "Unexpected API Response: The language model did not provide any assistant messages.",
            MalformedResponse,
            true,
        ),
        ("响应格式不正确", MalformedResponse, true),
        (
            "API Error: Unexpected line format in response.",
            MalformedResponse,
            true,
        ),
        (
            "AI_NoObjectGeneratedError: No object generated: the tool was not called.",
            MalformedResponse,
            true,
        ),
        ("身份验证失败,请检查API密钥是否正确", Auth, false),
        (
            "Run failed: [tongyi] Incorrect model credentials provided, please check and try again.",
            Auth,
            false,
        ),
        (
            "After the (optional) system message(s), user or tool message(s) should alternate with assistant message(s).",
            InvalidRequest,
            false,
        ),
        (
            "invalid params, invalid chat setting (2013)",
            InvalidRequest,
            false,
        ),
    ]);
    let d = engine().diagnose(&Failure::message(
        "https://ark.cn-beijing.volces.com/api/v3/chat/completions not found, verify your API base.",
    ));
    assert_eq!(category(&d), InvalidRequest);
    assert!(d.about_target);
    assert_eq!(
        category(&http(
            403,
            r#"{"Message":"Authorization header is missing"}"#
        )),
        Auth
    );
}

#[test]
fn the_third_natural_samples_families_in_their_own_words() {
    // Gemini stops on a function call it could not form: a broken answer.
    let d = http(
        200,
        r#"{"candidates":[{"content":{},"finishReason":"MALFORMED_FUNCTION_CALL"}],"usageMetadata":{"promptTokenCount":33168}}"#,
    );
    assert_eq!((category(&d), d.retryable), (MalformedResponse, true));
    // Cloudflare lists its errors under `errors`.
    let d = http(
        200,
        r#"{"result":null,"success":false,"errors":[{"code":7009,"message":"Upstream service unavailable"}],"messages":[]}"#,
    );
    assert_eq!((category(&d), d.retryable), (Overloaded, true));
    assert_eq!(
        category(&http(
            200,
            r#"{"result":{"response":"hi"},"success":true,"errors":[],"messages":[]}"#
        )),
        Unknown
    );
    // A stream dropped after output began is a cut, whatever timed out.
    assert_eq!(
        category(&in_stream(
            "Stream drop on attempt 2/3 -- retrying. error_type=ReadTimeout elapsed=601.51s"
        )),
        StreamInterrupted
    );
    assert_read([
        (
            "UnexpectedModelBehavior: Content field missing from Gemini response",
            MalformedResponse,
            true,
        ),
        (
            "AttributeError: 'str' object has no attribute 'choices'",
            MalformedResponse,
            true,
        ),
        (
            "Error raised during decoding response from inference endpoint",
            MalformedResponse,
            true,
        ),
        (
            "Error: Azure OpenAI API instance name not found",
            InvalidRequest,
            false,
        ),
        (
            "Couldn't connect with these settings. The resource you are requesting could not be found",
            InvalidRequest,
            false,
        ),
        (
            "API Key is not provided for the model: GPT 3.5",
            Auth,
            false,
        ),
        ("OpenAI: Network Problem", Network, true),
        (
            "invalid temperature: only 1 is allowed for this model",
            InvalidRequest,
            false,
        ),
        (
            "Anthropic doesn't support tool calling without tools= param specified",
            InvalidRequest,
            false,
        ),
        (
            "Missing reasoning_content field in the assistant message at message index 2",
            InvalidRequest,
            false,
        ),
    ]);
}

#[test]
fn a_client_called_with_arguments_it_does_not_take_is_the_requests_fault() {
    // Written in Python's own words, not any case's: the code that builds
    // the request must change, so no retry can help.
    assert_read([
        (
            "TypeError: Completions.create() got an unexpected keyword argument 'max_output_tokens'",
            InvalidRequest,
            false,
        ),
        (
            "TypeError: ChatOpenAI.invoke() got multiple values for argument 'input'",
            InvalidRequest,
            false,
        ),
        (
            "TypeError: Messages.create() missing 1 required positional argument: 'messages'",
            InvalidRequest,
            false,
        ),
        (
            "TypeError: embed() takes 2 positional arguments but 3 were given",
            InvalidRequest,
            false,
        ),
    ]);
    // An SDK's error constructor failing hides the error it was reporting:
    // no rule reads it, and only the words of a bad call guess at it.
    let d = guessing().diagnose(&Failure::message(
        "TypeError: APIStatusError.__init__() missing 2 required keyword-only arguments: 'response' and 'body'",
    ));
    assert_eq!((category(&d), d.is_guess()), (InvalidRequest, true));
}

#[test]
fn a_message_that_is_only_a_status_name_stands_for_that_status() {
    // Names no catalogue word holds: only the whole message names them.
    assert_read([
        ("Method Not Allowed", InvalidRequest, false),
        ("INTERNAL", ServerError, true),
        ("internal.", ServerError, true),
        ("  FAILED_PRECONDITION  ", InvalidRequest, false),
        // A method the server lacks is the request's.
        ("UNIMPLEMENTED", InvalidRequest, false),
    ]);
    // Only the whole message: a word inside a sentence names nothing.
    assert_read([("internal tool failed", Unknown, false)]);
}

#[test]
fn an_error_object_printed_without_its_braces_is_read_by_its_type() {
    for body in [
        r#""error": {"message": "Bad Request", "type": "error"}"#,
        "'error': {'type': 'invalid_request_error', 'message': 'tools.0.name: Field required'}",
    ] {
        let d = engine().diagnose(&Failure::http(200, body));
        assert_eq!(
            (category(&d), d.retryable),
            (InvalidRequest, false),
            "{body}"
        );
    }
    // Text that does not open with an error key, or opens with an empty
    // one beside an answer, is still an unexpected body.
    for body in [
        "Bad Request: the service said no",
        r#""error": null, "answer": "bad request handling is explained below""#,
    ] {
        assert_eq!(category(&http(200, body)), MalformedResponse, "{body}");
    }
}

#[test]
fn validators_words_decide_only_where_no_status_does() {
    assert_read([
        (
            "tools.2.input_schema: Field required",
            InvalidRequest,
            false,
        ),
        (
            "Unrecognized key(s) in object: 'seed'",
            InvalidRequest,
            false,
        ),
        (
            "Unknown parameter: 'reasoning.summary'.",
            InvalidRequest,
            false,
        ),
        (
            "Display name may only contain letters, digits and dashes",
            InvalidRequest,
            false,
        ),
        (
            "Request validation failed: messages is empty",
            InvalidRequest,
            false,
        ),
        (
            "Invalid image: the data is not a PNG, JPEG, GIF or WebP",
            InvalidRequest,
            false,
        ),
        (
            "Unknown request URL: POST /v1/chat/complete. Please check the URL",
            InvalidRequest,
            false,
        ),
    ]);
    // Under a status, the status decides.
    let d = engine().diagnose(&Failure::message("Upstream validation failed").with_status(503));
    assert_eq!(category(&d), Overloaded);
}

#[test]
fn agents_parsers_and_old_sdks_in_their_own_words() {
    assert_read([
        (
            "OutputParserException: Could not parse LLM output: `I will now answer`",
            MalformedResponse,
            true,
        ),
        (
            "UnexpectedModelBehavior: Received empty model response",
            MalformedResponse,
            true,
        ),
        (
            "pydantic_core.ValidationError: 2 validation errors for ChatResponse",
            MalformedResponse,
            true,
        ),
        (
            "TypeError: 'NoneType' object is not iterable",
            MalformedResponse,
            true,
        ),
        (
            "openai.error.APIConnectionError: Error communicating with OpenAI: Connection aborted",
            Network,
            true,
        ),
        (
            "APIRemovedInV1: You tried to access openai.Completion, but this is no longer supported in openai>=1.0.0",
            InvalidRequest,
            false,
        ),
        (
            "The reasoning_content is missing in the assistant message at index 3",
            InvalidRequest,
            false,
        ),
        (
            "tool_use_failed: Failed to call a function. Please adjust your prompt.",
            InvalidRequest,
            false,
        ),
    ]);
    // A key the server was never given is the caller's, whatever status carries it.
    let d =
        engine().diagnose(&Failure::message("OpenRouter API key not configured").with_status(500));
    assert_eq!((category(&d), d.retryable), (Auth, false));
}

#[test]
fn a_service_not_responding_and_a_feature_not_enabled_for_the_account() {
    assert_read([
        ("The reranker service is not responding", Timeout, true),
        // A failure to reach it, named with it, is the network's.
        (
            "The model server could not be reached or is not responding",
            Network,
            true,
        ),
        (
            "The requested audio url is not accessible",
            InvalidRequest,
            false,
        ),
    ]);
    let d = http(
        400,
        r#"{"error":{"message":"image input is not enabled for your account","type":"invalid_request_error"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (Permission, false));
}

#[test]
fn the_last_rounds_words_do_not_catch_other_failures() {
    // A certificate revoked is the TLS layer's, not a key to rotate.
    let d = engine().diagnose(&Failure::message(
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: Certificate has been revoked, reason: KEY_COMPROMISE",
    ));
    assert_eq!((category(&d), d.retryable), (Network, false));
    // Access revoked under a 403 is the status's permission.
    assert_eq!(
        category(&engine().diagnose(
            &Failure::message("Your access to this model has been revoked").with_status(403)
        )),
        Permission
    );
    // A server refusing the caller's own JSON is the request's, not a broken answer.
    let d = http(
        400,
        r#"{"error":"JSON parse error: No content to map due to end-of-input"}"#,
    );
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
    // A server's own credentials failing upstream is its failure.
    let d = engine().diagnose(&Failure::message("upstream authentication failed").with_status(500));
    assert_eq!((category(&d), d.retryable), (ServerError, true));
    // .NET's TLS alert, worded as an authentication failure.
    let d = engine().diagnose(&Failure::message(
        "System.Security.Authentication.AuthenticationException: Authentication failed because the remote party sent a TLS alert: 'HandshakeFailure'.",
    ));
    assert_eq!(category(&d), Network);
    // Real-name verification is not a credential.
    assert_ne!(
        category(&engine().diagnose(&Failure::message("请先完成实名身份验证"))),
        Auth
    );
    // Zhipu's "frequency too high" is not DashScope's.
    let d = engine().diagnose(&Failure::message(
        "您当前使用该API的频率过高，请降低频率，或联系客服增加限额。",
    ));
    assert_eq!(category(&d), RateLimit);
    assert_ne!(d.provider, Provider::DashScope);
}

#[test]
fn a_host_out_of_descriptors_or_ports_is_named_local_not_the_providers() {
    for text in [
        "Error: EMFILE: too many open files, open '/tmp/x'",
        "OSError: [Errno 24] Too many open files",
        // Even when the lookup of the provider's host is what failed.
        "dial tcp: lookup api.openai.com: too many open files",
        "connect EADDRNOTAVAIL 10.0.0.5:443 - Local (0.0.0.0:0)",
        "dial tcp 10.0.0.5:443: connect: cannot assign requested address",
        "[Errno 105] No buffer space available",
    ] {
        let d = engine().diagnose(&Failure::message(text));
        assert_eq!(category(&d), Network, "{text}");
        assert!(
            d.sub_category.ends_with("local_resource"),
            "{text}: {}",
            d.sub_category
        );
        // Under a server's error status, the words are the server's own.
        let d = engine().diagnose(&Failure::message(text).with_status(500));
        assert_eq!(category(&d), ServerError, "500: {text}");
    }
}

#[test]
fn a_socket_this_hosts_own_policy_refused_is_named_local_not_the_providers() {
    for text in [
        // Go's words for EPERM and EACCES on connect: a firewall, a network
        // policy (Cilium's), a sandbox.
        r#"Post "http://localai.svc.cluster.local/v1/chat/completions": dial tcp 10.43.182.197:80: connect: operation not permitted"#,
        "dial tcp 10.0.0.5:443: connect: permission denied",
    ] {
        let d = engine().diagnose(&Failure::message(text));
        assert_eq!(category(&d), Network, "{text}");
        assert!(d.sub_category.ends_with("local_policy"), "{text}: {d:?}");
        assert!(d.root_cause.contains("firewall"), "{}", d.root_cause);
        assert!(
            d.suggestions
                .iter()
                .any(|s| s.command.contains("network policy")),
            "{:?}",
            d.suggestions
        );
        // Under an error status the words are the server's own.
        let d = engine().diagnose(&Failure::message(text).with_status(502));
        assert!(!d.sub_category.ends_with("local_policy"), "502: {text}");
    }
    // The transport's own kind reads the same.
    let d = engine().diagnose(&Failure::transport(
        nb_diagnose::TransportErrorKind::LocalPolicy,
        "Permission denied (os error 13)",
    ));
    assert_eq!(category(&d), Network);
    assert!(d.sub_category.ends_with("local_policy"), "{d:?}");
}

#[test]
fn a_library_this_program_cannot_load_is_local_not_a_missing_model() {
    for text in [
        "ModuleNotFoundError: No module named 'dashscope'",
        "ImportError: No module named cohere",
        "Error: Cannot find module '@anthropic-ai/sdk'",
        "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'openai' imported from /app/index.js",
        "Connection failed: Ollama Python SDK is not installed",
        "TypeError: AsyncClient.__init__() got an unexpected keyword argument 'proxies'",
    ] {
        let d = engine().diagnose(&Failure::message(text));
        assert_eq!((category(&d), d.retryable), (Unknown, false), "{text}");
        assert!(d.is_local_setup(), "{text}: {}", d.sub_category);
        assert!(
            d.root_cause.starts_with("Nothing was sent"),
            "{}",
            d.root_cause
        );
        assert!(d.suggestions[0].command.contains("pip install"), "{text}");
    }
    // The advice for libraries that clash names the clash.
    let d = engine().diagnose(&Failure::message(
        "TypeError: AsyncClient.__init__() got an unexpected keyword argument 'proxies'",
    ));
    assert!(d.suggestions[0].command.contains("httpx<0.28"), "{d:?}");
    // In a response or a stream, a server said it about itself.
    let text = "ModuleNotFoundError: No module named 'flash_attn'";
    for d in [
        http(500, text),
        http(200, text),
        http(200, &format!(r#"{{"error": "{text}"}}"#)),
        engine().diagnose(&Failure::message(&format!(
            "APIStatusError: 502 Bad Gateway: {text}"
        ))),
    ] {
        assert_eq!((category(&d), d.retryable), (ServerError, true), "{d:?}");
    }
    // A user's own `unknown` rule is not turned into the server's failure.
    let user = DiagnosisEngine::builder()
        .rule(nb_diagnose::Rule::new(Unknown, "our_batch_job").pattern("flash_attn"))
        .build()
        .unwrap();
    let d = user.diagnose(&Failure::http(200, text));
    assert_eq!((category(&d), &*d.sub_category), (Unknown, "our_batch_job"));
    // Inside a stream it names no cause of the provider's: a cut.
    let d = engine().diagnose(&Failure::stream_interrupted(text));
    assert_eq!(category(&d), StreamInterrupted);
    // A provider's own "not found" is still the provider's, and a call
    // with an argument its method does not take is the request's, whatever
    // class it was made on.
    let d = engine().diagnose(&Failure::message("NotFoundError: model 'gpt-9' not found"));
    assert_eq!(category(&d), ModelNotFound);
    for text in [
        "TypeError: Completions.create() got an unexpected keyword argument 'tempreature'",
        "TypeError: MistralClient.__init__() got an unexpected keyword argument 'endpoint'",
    ] {
        assert_eq!(
            category(&engine().diagnose(&Failure::message(text))),
            InvalidRequest
        );
    }
}

#[test]
fn a_success_body_that_is_only_a_reason_phrase_names_its_status() {
    for (body, want, status) in [
        ("Internal Server Error", ServerError, 500),
        ("Service Unavailable\n", Overloaded, 503),
        ("Too Many Requests", RateLimit, 429),
        ("Unauthorized", Auth, 401),
    ] {
        let d = http(200, body);
        assert_eq!((category(&d), d.status), (want, Some(status)), "{body}");
    }
    // A sentence that only contains the phrase is still an unexpected body.
    for body in [
        "we logged an internal server error for this run, see the dashboard",
        "hello there",
    ] {
        assert_eq!(category(&http(200, body)), MalformedResponse, "{body}");
    }
}

#[test]
fn axios_codes_stand_for_their_status_only_where_none_was_kept() {
    let d = engine().diagnose(&Failure::message(
        "Unable to connect to Anthropic services\n\n Failed to connect to api.anthropic.com: ERR_BAD_REQUEST",
    ));
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
    let d = engine().diagnose(&Failure::message(
        "AxiosError: Request failed, code ERR_BAD_RESPONSE",
    ));
    assert_eq!((category(&d), d.retryable), (ServerError, true));
    // The status, when kept, says which 4xx it was.
    let d = engine().diagnose(&Failure::message("AxiosError: ERR_BAD_REQUEST").with_status(401));
    assert_eq!(category(&d), Auth);
    let d = engine().diagnose(&Failure::message("AxiosError: ERR_BAD_REQUEST").with_status(429));
    assert_eq!(category(&d), RateLimit);
}

#[test]
fn maintenance_comes_back_by_itself_unless_a_status_says_otherwise() {
    let d = engine().diagnose(&Failure::message(
        "Our website is currently under maintenance.",
    ));
    assert_eq!((category(&d), d.retryable), (Overloaded, true));
    let d = http(
        500,
        r#"{"message": "The model is under maintenance, please contact support.", "statusCode": "500"}"#,
    );
    assert_eq!((category(&d), d.retryable), (ServerError, true));
}

#[test]
fn a_method_the_endpoint_does_not_take_is_the_request_even_under_a_500() {
    for text in [
        "openai.error.APIError: HTTP code 500 from API (Request method 'GET' not supported)",
        "org.springframework.web.HttpRequestMethodNotSupportedException: Request method 'POST' is not supported",
    ] {
        let d = engine().diagnose(&Failure::message(text));
        assert_eq!(
            (category(&d), d.retryable),
            (InvalidRequest, false),
            "{text}"
        );
        assert!(d.about_target, "{text}");
    }
}

#[test]
fn this_rounds_words_in_their_families() {
    assert_read([
        // A model a local server or a host does not have.
        (
            r#"Error in RPC handler: {"displayData": {"code":"generic.noModelMatchingQuery"}, "title":"No model found that fits the query."}"#,
            ModelNotFound,
            false,
        ),
        (
            "System.ClientModel.ClientResultException: HTTP 400 (: unavailable_model)\n\nUnavailable model: gpt-5-mini",
            ModelNotFound,
            false,
        ),
        (
            r#"{"error": "'llama3.2-vision' is no longer compatible with your version of Ollama and has been replaced by a newer version. To re-download, run 'ollama pull llama3.2-vision'"}"#,
            ModelNotFound,
            false,
        ),
        // A feature the model does not offer, an old prompt format, an SDK's argument check.
        (
            "data retention mode 'default' is not available for this model",
            InvalidRequest,
            false,
        ),
        (
            r#"prompt must start with "\n\nHuman:" turn"#,
            InvalidRequest,
            false,
        ),
        (
            "AI_InvalidArgumentError (Validation failed: expected object, received string)",
            InvalidRequest,
            false,
        ),
        ("messages:输入不能为空", InvalidRequest, false),
        (
            r#"{"message":"Route POST:/v1/chat/completion not found","error":"Not Found","statusCode":404}"#,
            InvalidRequest,
            false,
        ),
        // An account without a licence for the product.
        (
            "You do not have a valid license of this product. Please contact your administrator to request a license.",
            Permission,
            false,
        ),
        // A client that could not use what came back.
        (
            "RuntimeError: Unexpected return from OpenAI API",
            MalformedResponse,
            true,
        ),
        ("Invalid content-type: null", MalformedResponse, true),
        (
            r#"! Unexpected content type "text/plain"."#,
            MalformedResponse,
            true,
        ),
    ]);
}

#[test]
fn inside_a_stream_a_parsers_words_are_a_malformed_chunk_and_a_bare_done_an_empty_answer() {
    assert_read_as(
        [
            (
                "Failed to parse response.please check your response format: $.choices[0].delta.content origin responses is:",
                MalformedResponse,
                true,
            ),
            (
                "failed to parse chunk: unexpected character at line 1 column 1",
                MalformedResponse,
                true,
            ),
            // Words of a cut still say the stream broke.
            (
                "failed to parse: connection reset by peer",
                StreamInterrupted,
                true,
            ),
            (
                "failed to parse response: connection closed",
                StreamInterrupted,
                true,
            ),
            (
                "Failed to parse: unexpected end of stream",
                StreamInterrupted,
                true,
            ),
        ],
        Failure::stream_interrupted,
    );
    // A stream that finished without one event is an empty answer, not a cut.
    let d = engine().diagnose(&Failure::stream_interrupted("data: [DONE]"));
    assert_eq!((category(&d), d.retryable), (MalformedResponse, true));
    assert_eq!(category(&http(200, "data: [DONE]\n\n")), MalformedResponse);
    // With an answer before it, it is a finished stream: no failure at all.
    let answer = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let d = http(200, answer);
    assert_eq!(
        (category(&d), &*d.sub_category),
        (Unknown, "success_response")
    );
}

#[test]
fn a_feature_not_available_for_the_model_leaves_a_status_to_decide() {
    let text = "data retention mode 'default' is not available for this model";
    assert_eq!(
        category(&engine().diagnose(&Failure::message(text))),
        InvalidRequest
    );
    assert_eq!(
        category(&http(
            400,
            &format!(r#"{{"error":{{"message":"{text}"}}}}"#)
        )),
        InvalidRequest
    );
    let busy = r#"{"error":{"message":"Capacity is not available for this model right now, please try again later"}}"#;
    let d = http(503, busy);
    assert_eq!((category(&d), d.retryable), (Overloaded, true));
    let d = http(
        429,
        r#"{"error":{"message":"Free tier is not available for this model at this rate"}}"#,
    );
    assert_eq!(category(&d), RateLimit);
}

#[test]
fn an_event_given_whole_that_does_not_parse_was_sent_broken() {
    // One event, as a stream's reader hands it over: malformed, surely
    // when its JSON closes, less so when it stops half-way or is prose.
    for (event, sub, sure) in [
        ("data: {not json}", "broken_json", true),
        (
            "event: message_start\r\ndata: {not json}\r\n",
            "broken_json",
            true,
        ),
        (
            r#"data: {"id":"x","object":"chat.completion.chunk","choices":[{"delta":{"content":"Hel"#,
            "broken_json",
            false,
        ),
        ("data: this isn't json", "unexpected_body", false),
        ("data: ", "unexpected_body", false),
    ] {
        let d = in_stream(event);
        assert_eq!(
            (category(&d), d.retryable, &*d.sub_category),
            (MalformedResponse, true, sub),
            "{event}"
        );
        assert_eq!(d.confidence > 0.9, sure, "{event}: {}", d.confidence);
    }
    // A 200's body that ends in such an event was cut there.
    let d = http(200, "data: {\"choices\":[{\"delta\":{\"content\":\"Hel");
    assert_eq!(
        (category(&d), &*d.sub_category),
        (StreamInterrupted, "truncated_event")
    );
    // So was a detail holding the events before the cut.
    let events = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hel";
    assert_eq!(category(&in_stream(events)), StreamInterrupted);
    // A whole chunk given alone is the last one before a cut.
    let chunk = r#"data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#;
    assert_eq!(category(&in_stream(chunk)), StreamInterrupted);
    // Not one event: the end marker with more after it, and a printout
    // whose JSON runs over a line that is no SSE field.
    for text in [
        "data: [DONE][LIMIT_CONVERSATION]",
        "data:{\"code\": 500, \"message\": \"failed to encode response: json:\nunsupported value: NaN\"}",
    ] {
        assert_ne!(category(&in_stream(text)), MalformedResponse, "{text}");
    }
}

#[test]
fn a_providers_error_event_that_names_a_deadline_is_a_timeout() {
    for event in [
        r#"{"type":"response.failed","response":{"status":"failed","error":{"code":"timeout","message":"Request timed out"}}}"#,
        r#"data: {"error":{"code":"timeout","message":"Request timed out"}}"#,
    ] {
        let d = in_stream(event);
        assert_eq!((category(&d), d.retryable), (Timeout, true), "{event}");
    }
    // A deadline met after output began, or words describing a cut, still
    // say the stream broke.
    for event in [
        r#"{"error":{"code":"timeout","message":"Stream idle timeout - partial response received"}}"#,
        r#"event: error
data: {"type":"error","error":{"code":"request_timeout","message":"stream error: stream disconnected before completion: stream closed before response.completed"}}"#,
        "Request timed out",
    ] {
        assert_eq!(category(&in_stream(event)), StreamInterrupted, "{event}");
    }
}

#[test]
fn a_printed_error_object_is_an_error_however_weak_its_words() {
    let printed = "{'error': {'message': 'Internal Server Error'...}}";
    for d in [in_stream(printed), http(200, printed)] {
        assert_eq!((category(&d), d.retryable), (ServerError, true));
    }
    // A null error beside a cut answer is not one, whatever the answer says.
    let cut = r#"{"error": null, "choices":[{"delta":{"content":"Internal Server Error"#;
    assert_eq!(category(&http(200, cut)), MalformedResponse);
}

#[test]
fn inappropriate_content_and_an_unparseable_reply_from_any_provider() {
    let naga = r#"{"error":{"type":"inappropriate_content","message":"We got a bad response from the source. Status 403. Error message: Unable to show the generated image."}}"#;
    let d = in_stream(naga);
    assert_eq!((category(&d), d.retryable), (ContentFilter, false));
    let d = in_stream(r#"event: error … "primary provider returned an unparseable reply""#);
    assert_eq!((category(&d), d.retryable), (MalformedResponse, true));
    // Under an error status the same words are the server's own failure.
    let d = http(
        502,
        r#"{"error":{"message":"upstream returned an unparseable response"}}"#,
    );
    assert_eq!(category(&d), ServerError);
}

#[test]
fn an_answer_that_finished_saying_nothing_is_malformed_not_a_cut() {
    // The finish signal came, so the stream was not cut, and the chunk
    // says no output was made: nothing in the answer could be used.
    // `choices: null` holds no answer at all.
    for chunk in [
        r#"data: {"id":"","object":"","created":0,"model":"","choices":null,"usage":null}"#,
        r#"data: {"object":"chat.completion.chunk","model":"vllm","choices":[{"index":0,"finish_reason":"stop","delta":{"content":""}}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}"#,
        r#"{"model":"qwen3:4b","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":0}"#,
        r#"{"model":"llama3","response":"","done":true,"done_reason":"stop","eval_count":0}"#,
    ] {
        let d = in_stream(chunk);
        assert_eq!(
            (category(&d), d.retryable),
            (MalformedResponse, true),
            "{chunk}"
        );
        assert!(d.sub_category.ends_with("empty_answer"), "{chunk}");
    }
    let empty = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"stop"}]}"#;
    assert_eq!(&*http(200, empty).sub_category, "empty_answer");
    let said_nothing = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n\
                        data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    assert_eq!(&*http(200, said_nothing).sub_category, "empty_answer");

    // An answer that says something (text, reasoning, a tool call, a
    // refusal, audio, images), or that spent its output budget, is not
    // empty.
    for answer in [
        r#"{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
        r#"{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#,
        r#"{"choices":[{"message":{"content":"","reasoning_content":"Thinking..."},"finish_reason":"stop"}]}"#,
        r#"{"choices":[{"message":{"content":null,"audio":{"id":"a","transcript":"Hi"}},"finish_reason":"stop"}]}"#,
        r#"{"choices":[{"message":{"content":"","images":[{"type":"image_url"}]},"finish_reason":"stop"}]}"#,
        r#"{"choices":[{"message":{"content":""},"finish_reason":"length"}]}"#,
        r#"{"choices":[{"text":"Hello","finish_reason":"stop"}]}"#,
        r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{}}}]},"done":true,"done_reason":"stop"}"#,
        r#"{"message":{"role":"assistant","content":"","thinking":"Let me see."},"done":true,"done_reason":"stop"}"#,
    ] {
        assert_ne!(&*http(200, answer).sub_category, "empty_answer", "{answer}");
    }
    let spoke = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    assert_eq!(category(&http(200, spoke)), Unknown);
    // Chunks that say nothing yet, with no finish signal, were cut.
    let unfinished =
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
    assert_eq!(
        (
            category(&http(200, unfinished)),
            &*http(200, unfinished).sub_category
        ),
        (StreamInterrupted, "no_finish_signal")
    );
    let mid_answer = r#"{"model":"llama3","response":"The","done":false}"#;
    assert_eq!(category(&in_stream(mid_answer)), StreamInterrupted);
    // The usual last chunk of a stream, given alone, tells nothing of the
    // chunks before it: still the last one received before a cut.
    for last in [
        r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"model":"llama3","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":212}"#,
    ] {
        assert_eq!(category(&in_stream(last)), StreamInterrupted, "{last}");
    }
}

#[test]
fn an_event_that_is_only_a_message_is_the_providers_error() {
    // Bedrock's exception payloads carry only their message.
    let d = in_stream(r#"{"message":"Bedrock is unable to process your request."}"#);
    assert_eq!((category(&d), d.retryable), (ServerError, true));
    let d = in_stream(r#"data: {"message":"Something unexpected happened."}"#);
    assert_eq!(category(&d), ServerError);
    // A log line with a message among other fields is not, and a 200's
    // body with only a message may be an application's answer.
    let log = r#"{"level":"error","message":"Error in LLM proxy handler: terminated","timestamp":"2025-07-30T15:09:08.564Z"}"#;
    assert_eq!(category(&in_stream(log)), StreamInterrupted);
    // A message that is an object is an answer's (Ollama's) or a
    // validator's detail, not an error's words.
    for event in [
        r#"{"message":{"role":"assistant","content":"Hello"}}"#,
        r#"data: {"detail":{"loc":["body"],"msg":"x"}}"#,
    ] {
        assert_ne!(category(&in_stream(event)), ServerError, "{event}");
    }
    assert_eq!(category(&http(200, r#"{"message":"Hello"}"#)), Unknown);
}

#[test]
fn a_chunk_that_is_nothing_is_malformed_not_a_cut() {
    // Some relays send `data: null` between chunks; SDKs print it as `None`.
    for chunk in ["data: null", "data:null\n\n", "None", "null"] {
        let d = in_stream(chunk);
        assert_eq!(
            (category(&d), d.retryable, &*d.sub_category),
            (MalformedResponse, true, "empty_answer"),
            "{chunk:?}"
        );
    }
    // Words that begin so, and a null among other events, are not one.
    for text in [
        "None of the chunks arrived before the connection closed",
        "data: null\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
    ] {
        assert_eq!(category(&in_stream(text)), StreamInterrupted, "{text}");
    }
    // Nor is an error event with no data: it is an error naming nothing.
    let d = in_stream("event: error\ndata: null");
    assert_eq!((category(&d), d.retryable), (ServerError, true));
}

#[test]
fn an_error_event_names_load_shedding_and_a_policy_classifier() {
    // A capacity controller shedding load is an overload, whatever words of
    // a cut wrap it.
    let grok = r#"{"result":{"response":{"error":{"message":"Stream aborted by server or connection error: Status { code: ResourceExhausted, message: \"Admission denied by perf_based_admission_controller: load_shed_probability=0.848480\", source: None }"}}}}"#;
    let d = in_stream(grok);
    assert_eq!((category(&d), d.retryable), (Overloaded, true));
    // OpenAI's cybersecurity classifier refuses under the type of a bad
    // request: the content decides.
    let cyber = r#"data: {"type":"error","error":{"type":"invalid_request","code":"cyber_policy","message":"This content was flagged for possible cybersecurity risk.","param":null},"sequence_number":3}"#;
    let d = in_stream(cyber);
    assert_eq!((category(&d), d.retryable), (ContentFilter, false));
    let d = http(
        400,
        r#"{"error":{"type":"invalid_request_error","code":"cyber_policy","message":"Request blocked."}}"#,
    );
    assert_eq!(category(&d), ContentFilter);
}

#[test]
fn a_printout_that_names_nothing_is_unexplained_not_surely_broken() {
    // A Python dict or a JavaScript literal was likely a whole object,
    // printed: its words name no cause the rules know, so the reading is a
    // guess, not the sure one of JSON cut short.
    for printed in [
        "{'message': None, 'conversation_id': 'f9a3', 'error': 'Error in message stream'}",
        "{\n  message_type: 'status',\n  detail: 'done'\n}",
    ] {
        for d in [in_stream(printed), http(200, printed)] {
            assert_eq!(
                (category(&d), &*d.sub_category),
                (MalformedResponse, "unexpected_body"),
                "{printed}"
            );
            assert!(d.confidence < 0.7, "{printed}: {}", d.confidence);
        }
    }
    // JSON cut short is surely broken, Python's words inside its strings
    // included.
    for cut in [
        r#"{"id":"chatcmpl-1","choices":[{"delta":{"content":"Hel"#,
        r#"{"choices":[{"delta":{"content":"cfg = {'debug': True, 'x': None}"#,
    ] {
        let d = http(200, cut);
        assert_eq!(&*d.sub_category, "broken_json", "{cut}");
        assert!(d.confidence > 0.9, "{cut}: {}", d.confidence);
    }
}

#[test]
fn a_client_that_could_not_use_an_answer_says_so_in_its_own_words() {
    // Vim's JSON decoder given an empty body, Python's string methods on a
    // content that was None, a Chinese client's stream it could not parse:
    // the answer was there and unusable, so another try may do.
    assert_read([
        (
            "The coroutine failed with this message: Vim:E474: Attempt to decode a blank string",
            MalformedResponse,
            true,
        ),
        (
            "failed to generate video script: Error: 'NoneType' object has no attribute 'replace'",
            MalformedResponse,
            true,
        ),
        (
            "Error: 'NoneType' object has no attribute 'strip'",
            MalformedResponse,
            true,
        ),
        // A method no answer's text would be read with is another slip.
        (
            "Error: 'NoneType' object has no attribute 'keys'",
            Unknown,
            false,
        ),
        (
            "ERROR | src.client:_execute_request: 231 - 解析流式输出错误",
            MalformedResponse,
            true,
        ),
    ]);
    // Anthropic's SDK told of a stop for a message that never began: a
    // stream that broke its own order, not a cut.
    let d = in_stream("Received message_stop without a current message");
    assert_eq!(
        (category(&d), d.retryable),
        (MalformedResponse, true),
        "{d:?}"
    );
    // Under an error status the status decides: the client failed reading
    // an error, not an answer.
    let d = http(
        400,
        "AttributeError: 'NoneType' object has no attribute 'replace'",
    );
    assert_eq!(category(&d), InvalidRequest, "{d:?}");
}

#[test]
fn a_request_the_server_could_not_read_is_the_requests_fault() {
    // A parser's words alone are an answer's; said of the request, they
    // are the request's, and another try sends the same bytes.
    assert_read([
        (
            r#"{"error":"failed to parse the request JSON buffer: The document is empty. at 0"}"#,
            InvalidRequest,
            false,
        ),
        (
            "Invalid request: Invalid request: unexpected end of JSON input (request id: 2026031218)",
            InvalidRequest,
            false,
        ),
        (
            "LLM route only supports llm chat type requests",
            InvalidRequest,
            false,
        ),
    ]);
    let d = engine().diagnose(&Failure::message(
        "SyntaxError: Unexpected end of JSON input",
    ));
    assert_eq!(category(&d), MalformedResponse, "{d:?}");
    // A provider's refusal of the request decides over the status a
    // server or relay in front of it put on its answer: llama.cpp's 500
    // for a content of the wrong type, a relay's 502 around DeepSeek's 400.
    assert_refused_under_status([
        (
            500,
            r#"{"code":500,"message":"Expected 'content' to be a string or an array","type":"server_error"}"#,
        ),
        (
            502,
            r#"unexpected status 502 Bad Gateway: DeepSeek 400: {"error":{"message":"An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.","type":"invalid_request_error"}}"#,
        ),
    ]);
}

#[test]
fn an_api_or_a_client_its_provider_retired_is_the_request_not_the_model() {
    assert_read([
        (
            "[ERROR] OpenAI error: The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
            InvalidRequest,
            false,
        ),
        (
            "This version of Antigravity is no longer supported. Please upgrade to receive the latest features",
            InvalidRequest,
            false,
        ),
    ]);
}

#[test]
fn a_model_too_new_for_the_local_server_is_one_it_cannot_serve() {
    // Ollama's runner stops on a model its version cannot run: the same
    // request fails until Ollama is upgraded, so the model is out of reach
    // here, not a server failing by chance.
    // The advice is to upgrade Ollama, not to pull the model again.
    let d = engine().diagnose(&Failure::message(
        "Error: 412: this model requires a newer version of Ollama",
    ));
    assert_eq!(d.suggestions[0].title, "Upgrade Ollama", "{d:?}");
    assert_read([
        (
            "ResponseError: llama runner process has terminated: this model is not supported by your version of Ollama. You may need to upgrade",
            ModelNotFound,
            false,
        ),
        (
            "Error: 412: this model requires a newer version of Ollama",
            ModelNotFound,
            false,
        ),
        // The runner stopping for any other reason is the server's.
        (
            "llama runner process has terminated: signal: killed",
            ServerError,
            true,
        ),
        // A GPU fault inside the server's runner.
        (
            "ollama[1198394]: CUDA error: an illegal memory access was encountered",
            ServerError,
            true,
        ),
    ]);
}

#[test]
fn googles_sdk_exceptions_for_a_blocked_prompt_or_answer_are_the_filter() {
    // google-generativeai raises these when a block stopped the prompt or
    // the candidate; the same request is blocked again.
    assert_read([
        (
            "google.generativeai.types.generation_types.StopCandidateException",
            ContentFilter,
            false,
        ),
        (
            "google.generativeai.types.generation_types.BlockedPromptException",
            ContentFilter,
            false,
        ),
        // The exception is raised for any stop but a natural one: a finish
        // reason named beside it decides, and a tool call the model could
        // not form is tried again.
        (
            "google.generativeai.types.generation_types.StopCandidateException: finish_reason: MALFORMED_FUNCTION_CALL",
            MalformedResponse,
            true,
        ),
    ]);
}

#[test]
fn a_request_that_timed_out_is_a_timeout_whatever_the_network_words_around_it() {
    assert_read([(
        "Network error: Request timed out — check your network connection and try again.",
        Timeout,
        true,
    )]);
    // Inside a stream the same words are a vague deadline: a cut.
    let d = in_stream("Network error: Request timed out");
    assert_eq!(category(&d), StreamInterrupted, "{d:?}");
}

#[test]
fn an_account_or_resource_blocked_for_its_behaviour_is_permission_not_the_filter() {
    // Azure's block of a whole resource, Google's of an account: no
    // request is let through, whatever its content, until the block is
    // lifted; a filtered request is the content's.
    assert_read_as(
        [(
            r#"{"error":{"code":"Forbidden","message":"Your resource has been temporarily blocked because we detected behavior that may violate our content policy."}}"#,
            Permission,
            false,
        )],
        |text| Failure::http(403, text),
    );
    assert_read([
        (
            "Gemini has been disabled in this account for violation of Terms of Service.",
            Permission,
            false,
        ),
        // A key restricted away from the method called.
        ("GenerateContent are blocked", Permission, false),
        (
            "400 This request has been blocked by our content filters.",
            ContentFilter,
            false,
        ),
    ]);
    // Genkit's blocked candidate, inside a stream as it came; an app's own
    // "generation blocked" names no filter.
    let d = in_stream("[Error [GenkitError]: FAILED_PRECONDITION: Generation blocked.]");
    assert_eq!((category(&d), d.retryable), (ContentFilter, false), "{d:?}");
    let d = engine().diagnose(&Failure::message(
        "Report generation blocked: 429 Too Many Requests",
    ));
    assert_eq!(category(&d), RateLimit, "{d:?}");
}

#[test]
fn a_key_not_configured_is_auth_in_any_clients_words() {
    assert_read([
        (
            "[WARN] Skipping role 'main' (Provider: google): API key not set or invalid.",
            Auth,
            false,
        ),
        // A log line that all keys are set names no failure.
        (
            "All required API keys are set. Rate limit exceeded",
            RateLimit,
            true,
        ),
    ]);
    // "Token invalid" under a 403: the credential, not its rights.
    assert_read_as([("Token invalid", Auth, false)], |text| {
        Failure::http(403, text)
    });
}

#[test]
fn a_relay_not_set_up_for_a_model_has_no_model_to_serve() {
    // new-api's (and its forks') model without a price: the relay will not
    // route it, as One API's "no available channel" says, whatever status
    // it puts on that.
    let d = http(
        500,
        r#"{"error":{"type":"veloera_error","message":"模型 claude-opus-4-1 倍率或价格未配置，请联系管理员设置或开始自用模式；Model claude-opus-4-1 ratio or price not set, please set or start self-use mode"},"type":"error"}"#,
    );
    assert_eq!((category(&d), d.retryable), (ModelNotFound, false), "{d:?}");
}

#[test]
fn clients_words_for_an_answer_they_could_not_use_in_other_stacks() {
    assert_read([
        // .NET's System.Text.Json on a body it could not read (a gzip
        // stream left undecoded).
        (
            "translation error: '0x1F' is an invalid start of a value. Path: $ | LineNumber: 0 | BytePositionInLine: 0.",
            MalformedResponse,
            true,
        ),
        // serde_json's error as Rust's Debug prints it.
        (
            r#"Pipeline processing failed: is_decode error: wreq::Error { kind: Decode, source: Error("expected value", line: 1, column: 1) }"#,
            MalformedResponse,
            true,
        ),
        // Genkit's schema check says the same of a flow's input as of a
        // model's output: the request's, where nothing tells them apart.
        (
            "GenkitError: INVALID_ARGUMENT: Schema validation failed. Parse Errors:\n\n- (root): must have required property 'commentaryText'\n\nProvided data:\n\n{}",
            InvalidRequest,
            false,
        ),
    ]);
    // A body cut inside a stream, in reqwest's Debug words, is still a cut.
    let d = in_stream(
        "Request failed with error: Transport(reqwest::Error { kind: Decode, source: hyper::Error(Body, Error { kind: Reset(StreamId(19), INTERNAL_ERROR, Remote) }) })",
    );
    assert_eq!(category(&d), StreamInterrupted, "{d:?}");
}

#[test]
fn a_request_the_provider_could_not_complete_from_its_content_is_the_request() {
    assert_read([
        // LM Studio's template finding no turn to answer.
        (
            "Error parsing chat history: no user/tool message found",
            InvalidRequest,
            false,
        ),
        // OpenAI fetching an image the request pointed at: the status
        // quoted is the image host's, not OpenAI's.
        (
            "invalid_value · invalid_request_error · Error while downloading file. Upstream status code: 407.",
            InvalidRequest,
            false,
        ),
    ]);
}

#[test]
fn a_wrappers_sentence_alone_names_no_cause_but_openais_whole_one_does() {
    // OpenAI's server error says what to do next; clients print its first
    // sentence alone for any failure they do not explain.
    assert_read([
        (
            "An error occurred while processing your request.",
            Unknown,
            false,
        ),
        (
            "An error occurred while processing your request. Please try again later.",
            Unknown,
            false,
        ),
        (
            "An error occurred while processing your request. You can retry your request, or contact us through our help center at help.openai.com if the error persists.",
            ServerError,
            true,
        ),
        // The same, wrapped across a line.
        (
            "An error occurred while processing your request.\r\n  You can retry your request, or contact us through our help center at help.openai.com",
            ServerError,
            true,
        ),
        // A server that owns the fault names it so.
        (
            r#"{"detail":"Oops! Something went wrong on our end. Please try again in a few minutes."}"#,
            ServerError,
            true,
        ),
        // Cloudflare's 520 hedges about an overload it cannot know of.
        (
            "The origin web server returned an invalid or incomplete response to Cloudflare. This typically indicates the origin is overloaded or misconfigured.",
            ServerError,
            true,
        ),
    ]);
}

#[test]
fn a_requests_shape_refused_in_any_providers_words_is_the_request() {
    assert_read([
        // Anthropic's and Gemini's rules for a conversation's turns, and a
        // server's chat template failing on them.
        (
            "messages.2: `tool_use` blocks can only be in `assistant` messages",
            InvalidRequest,
            false,
        ),
        (
            "(APIServer pid=1058477) ERROR [chat_utils.py:1475] An error occurred in `transformers` while applying chat template",
            InvalidRequest,
            false,
        ),
        // One API binding a request body it could not read.
        (
            "bind_request_body_failed json: cannot unmarshal array into Go struct field Message.messages.content of type string",
            InvalidRequest,
            false,
        ),
        // lmdeploy's code for an input over the model's length.
        (
            "internal error happened, status codeResponseType.INPUT_LENGTH_ERROR",
            ContextLength,
            false,
        ),
    ]);
    // Over the 5xx a relay or app put on them.
    assert_refused_under_status([
        (
            500,
            r#"{'error': 'DeepSeek API error: 400 Bad Request', 'status': 500, 'details': {'error': {'message': 'Invalid max_tokens value, the valid range of max_tokens is [1, 8192]'}}}"#,
        ),
        (
            500,
            r#"Error code: 500 - {'error': 'status 400: {"error": {"code": 400, "message": "Please use a valid role: user, model.", "status": "INVALID_ARGUMENT"}}'}"#,
        ),
    ]);
    // Claude Code says its relay, not the model, is at fault: the target's
    // setup, which another target may not share.
    let d = http(
        404,
        "Custom gateway request failed with 404 for model qwen3.6-plus. This usually means the relay endpoint is incompatible with Claude Code's current request shape, rather than the model name itself.",
    );
    assert_eq!(
        (category(&d), d.retryable, d.about_target),
        (InvalidRequest, false, true),
        "{d:?}"
    );
}

#[test]
fn springs_io_error_is_the_network_unless_it_names_a_deadline() {
    assert_read([
        (
            r#"org.springframework.web.client.ResourceAccessException: I/O error on POST request for "https://dashscope.aliyuncs.com/api/v1/services/embeddings": null"#,
            Network,
            true,
        ),
        (
            r#"org.springframework.web.client.ResourceAccessException: I/O error on POST request for "https://api.deepseek.com/chat/completions": Connect timed out"#,
            Timeout,
            true,
        ),
        ("Unable to reach the AI service", Network, true),
        // A tool refused where the caller is.
        (
            "Error: Junie is not available in this country",
            Permission,
            false,
        ),
    ]);
}

/// Asserts that each text, under its status, is read as a request refused
/// (not retried), whatever the status says.
fn assert_refused_under_status<'a>(rows: impl IntoIterator<Item = (u16, &'a str)>) {
    for (status, text) in rows {
        let d = http(status, text);
        assert_eq!(
            (category(&d), d.retryable),
            (InvalidRequest, false),
            "{status} {text}"
        );
    }
}

#[test]
fn an_app_too_old_for_a_model_is_the_request_not_a_missing_model() {
    // The model is served; the caller's app must be upgraded to reach it.
    assert_read([
        (
            r#"Request Failed: 400 {"error":{"message":"model gpt-5-codex is not supported in this VS Code version. Please update it to version 1.104.1 or newer","code":"model_not_supported_in_version"}}"#,
            InvalidRequest,
            false,
        ),
        (
            r#"{"detail":"The 'gpt-5.5' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try again."}"#,
            InvalidRequest,
            false,
        ),
        // A model kept from how the app signed in is the account's.
        (
            r#"{"detail":"The 'gpt-5.4' model is not supported when using Codex with a ChatGPT account."}"#,
            Permission,
            false,
        ),
    ]);
    // About the caller's setup, not the request's content: another model
    // still works, and the advice is to upgrade the app.
    let d = engine().diagnose(&Failure::message(
        "model gpt-5-codex is not supported in this VS Code version (model_not_supported_in_version)",
    ));
    assert!(d.about_target, "{d:?}");
    assert_eq!(d.suggestions[0].title, "Upgrade the app", "{d:?}");
    assert!(d.root_cause.contains("too old for this model"), "{d:?}");
    // A local server too old says so of itself.
    let d = engine().diagnose(&Failure::message(
        "Error: 412: this model requires a newer version of Ollama",
    ));
    assert!(d.root_cause.contains("cannot run this model"), "{d:?}");
}

#[test]
fn more_requests_and_answers_in_their_providers_words() {
    assert_read([
        // Google's web responses begin with an anti-JSON-hijacking prefix
        // and carry a `wrb.fr` envelope: a client printing one could not
        // read it.
        (
            r#"Response Error: b')]}'\n\n38\n[["wrb.fr",null,null,null,null,[8]]]\n55\n[["di",70],["af.httprm",70,"-2165490944187691766",6]]\n'."#,
            MalformedResponse,
            true,
        ),
        ("Response Error: )]}'", MalformedResponse, true),
        // A cause printed beside the envelope decides.
        (
            r#"Response Error: )]}' [["wrb.fr",null]] Invalid API key provided"#,
            Auth,
            false,
        ),
        // AWS's words for a resource id that names nothing.
        (
            "InvokeAgent operation: Failed to retrieve resource because it doesn't exist. Retry the request with a different resource identifier",
            InvalidRequest,
            false,
        ),
        (
            "Exception: Bard API Key must be provided or extracted from browser.",
            Auth,
            false,
        ),
    ]);
    // Mistral's refusal of an image's format, under the 500 it was sent with.
    assert_refused_under_status([(
        500,
        "Error: 500: invalid_request_error - Image https://example.com/cat.avif has an invalid format.Allowed formats are JPEG,PNG,WEBP,GIF.",
    )]);
}

#[test]
fn a_key_error_over_a_part_of_the_answer_is_a_broken_answer() {
    // Python prints a KeyError as the missing key alone, quoted; clients
    // print that after their own words, or alone.
    assert_read([
        ("'parts'", MalformedResponse, true),
        ("'candidates'\n", MalformedResponse, true),
        (
            "Attempt 1: Error generating response: 'choices'",
            MalformedResponse,
            true,
        ),
        (
            "[CODE OUTPUT] Error in generating model output: 'tool_calls'",
            MalformedResponse,
            true,
        ),
        ("出现故障！原因：'choices'", MalformedResponse, true),
        // Keys a caller's own data uses (a prompt template's) are not read,
        // nor an error object's, whose cause was lost.
        ("Error formatting prompt: 'text'", Unknown, false),
        ("Request failed: 'error'", Unknown, false),
        // A field named inside a sentence, or in the middle of the text,
        // is not the key: the words around it decide.
        (
            "'choices' must be a non-empty list of prompts",
            InvalidRequest,
            false,
        ),
        (
            "data/messages must have required property 'content'",
            InvalidRequest,
            false,
        ),
    ]);
    // Under an error status the words are the server's, naming the
    // request's fault.
    let d = http(400, "unknown variant 'tool_call', expected 'text'");
    assert_eq!((category(&d), d.retryable), (InvalidRequest, false));
}

#[test]
fn answers_keys_and_connections_in_more_clients_words() {
    assert_read([
        // An answer without the part the client needed.
        (
            "Response does not contain any content.",
            MalformedResponse,
            true,
        ),
        (
            "1. The API response does not contain usage data, AND\n2. No tokenizer has been specified or found.",
            MalformedResponse,
            true,
        ),
        (
            "camel.runtimes.llm_guard_runtime - ERROR - No tool call found in response.",
            MalformedResponse,
            true,
        ),
        (
            r#"io.cequence.openaiscala.OpenAIScalaClientException: Error thrown while processing a JSON '{"id":"gpt-3.5-turbo","object":"model"}'. Cause: Unexpected JSON"#,
            MalformedResponse,
            true,
        ),
        (
            "failed to unmarshal response from provider API",
            MalformedResponse,
            true,
        ),
        // OpenAI's refusal of a tool output without its call is the request.
        (
            "No tool call found for function call output with call_id call_1",
            InvalidRequest,
            false,
        ),
        // Google's RESOURCE_EXHAUSTED in words.
        ("Resource exhausted", RateLimit, true),
        // A credential missing, or a sign-in that could not be renewed.
        ("Error: auth token is required", Auth, false),
        ("Error: ChatGPT failed to refresh auth token.", Auth, false),
        (
            "ChatGPT failed to refresh auth token. TypeError: fetch failed",
            Network,
            true,
        ),
        // A cause named with the renewal's failure decides.
        (
            "ChatGPT failed to refresh auth token. FetchError: invalid json response body at https://chatgpt.example/api/auth/session reason: Unexpected token < in JSON",
            MalformedResponse,
            true,
        ),
        // Refused where the caller is, or until it passes a bot check.
        (
            "sa@project.iam.gserviceaccount.com does not have the permission to access or use the endpoint.",
            Permission,
            false,
        ),
        (
            r#"Response failure, please try again. Error message: {"detail":{"message":"Client challenge required","code":"challenge_required"}}"#,
            Permission,
            false,
        ),
        // Node's HTTP parser on an answer that is not HTTP, its connection
        // attempts all failing (AggregateError), and a client's Chinese for
        // "could not connect to".
        (
            "bot error: GError: Parse Error: Invalid status code",
            Network,
            true,
        ),
        ("Error: Parse Error: Expected HTTP/", Network, true),
        (
            "bot error?:  GError [AggregateError]\n    at AxiosError.from (/app/node_modules/axios/dist/node/axios.cjs:841:14)",
            Network,
            true,
        ),
        ("Upstream response: 无法连接到 API 服务。", Network, true),
    ]);
    let d = http(
        400,
        r#"{"error":{"message":"No credentials for embedding provider: gemini","type":"invalid_request_error","code":"bad_request"}}"#,
    );
    assert_eq!((category(&d), d.retryable), (Auth, false));
}

#[test]
fn an_apps_own_words_in_place_of_a_failure_name_no_cause() {
    for text in [
        "I'm sorry, an internal error has occurred.",
        "Agent execution terminated due to error.",
    ] {
        let d = engine().diagnose(&Failure::message(text));
        assert_eq!(
            (category(&d), d.retryable, &*d.sub_category),
            (Unknown, false, "cause_hidden"),
            "{text}"
        );
        assert!(d.root_cause.contains("its own message"), "{d:?}");
        assert_eq!(d.suggestions[0].title, "Find the failure the app hid");
    }
    // Under an error status the status decides.
    let d = http(500, "I'm sorry, an internal error has occurred.");
    assert_eq!((category(&d), d.retryable), (ServerError, true));
    // A cause printed after them decides.
    let d = engine().diagnose(&Failure::message(
        "Agent execution terminated due to error: Rate limit exceeded",
    ));
    assert_eq!((category(&d), d.retryable), (RateLimit, true));
}

#[test]
fn keys_bots_filters_and_paths_in_more_apps_words() {
    assert_read([
        // A key refused in an app's or a host's words.
        ("Please enter a valid Gemini API key", Auth, false),
        (
            "Please provide a valid API key in the provider data header",
            Auth,
            false,
        ),
        // A cause printed beside the app's hint decides.
        (
            "Error: fetch failed. Please enter a valid API key",
            Network,
            true,
        ),
        (
            "ValueError: Error raised by inference API: Authorization header is correct, but the token seems invalid",
            Auth,
            false,
        ),
        // Poe's bots are its models.
        (
            "ValueError: Bot chinchilla not found. Make sure the bot exists before creating new chat.",
            ModelNotFound,
            false,
        ),
        // Apple Shortcuts reading a part of an answer that is not there.
        (
            "Shortcut says. \"In\", no value was found for dictionary \"choices\".",
            MalformedResponse,
            true,
        ),
        // A key of the shortcut's own data is not the answer's.
        (
            "No value was found for dictionary key \"name\".",
            Unknown,
            false,
        ),
        // google-generativeai's accessor over an answer a filter emptied.
        (
            "The `response.parts` quick accessor only works for a single candidate, but none were returned. Check the `response.prompt_feedback` to see if the prompt was blocked.",
            ContentFilter,
            false,
        ),
        (
            "You don't have access to Rovo Dev Standard\nAsk your organization admin to add you to Rovo Dev Standard.",
            Permission,
            false,
        ),
    ]);
    // Vim's JSON decoder on a chunk it could not read.
    let d = in_stream(
        "Vim:E474: Unexpected end of input: {\nstack traceback:\n^I[C]: in function 'json_decode'",
    );
    assert_eq!((category(&d), d.retryable), (MalformedResponse, true));
    // Go's default 404 page is a path the server does not have, whatever
    // model the caller's log names beside it.
    let d = engine().diagnose(
        &Failure::message("[embeddings] provider=openai-compatible model=qwen3-embedding baseUrl=http://10.0.0.3:11434 error=404 404 page not found")
            .with_status(404),
    );
    assert_eq!((category(&d), d.about_target), (InvalidRequest, true));
}

#[test]
fn keys_refusals_and_deadlines_in_more_sdks_words() {
    assert_read([
        // A key or credential the client was never given.
        (
            "Error occurred while processing message: api_key is not present in llm_config or OPENAI_API_KEY env variable for agent primary_assistant.",
            Auth,
            false,
        ),
        (
            "agent_framework.exceptions.ServiceInitializationError: Azure credential is required when agents_client is not provided.",
            Auth,
            false,
        ),
        (
            "Amazon.Runtime.AmazonClientException: Failed to resolve bearer token in DefaultAWSTokenIdentityResolver",
            Auth,
            false,
        ),
        // An AWS refusal, whatever exception carries it.
        (
            "botocore.errorfactory.ResourceNotFoundException: An error occurred (ResourceNotFoundException) when calling the ConverseStream operation: Access denied. ",
            Permission,
            false,
        ),
        (
            "An error occurred (ValidationException) when calling the CreateAgentRuntime operation: Access denied while validating ECR URI",
            Permission,
            false,
        ),
        // Bedrock's missing resource without a refusal stays a missing model.
        (
            "An error occurred (ResourceNotFoundException) when calling the InvokeModel operation: Could not find the model.",
            ModelNotFound,
            false,
        ),
        // A Legacy model is gone, whatever the refusal beside it says.
        (
            "An error occurred (ResourceNotFoundException) when calling the InvokeModel operation: Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days.",
            ModelNotFound,
            false,
        ),
        (
            "Invalid subscription ID, does not have access to Agents.",
            Permission,
            false,
        ),
        // gRPC's own status, as each stack prints it: no such method.
        (
            "_InactiveRpcError: <_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.UNIMPLEMENTED\n\tdetails = \"Method not found.\"\n>",
            InvalidRequest,
            false,
        ),
        (
            "RPC that terminated: UNKNOWN:Error received from peer {grpc_message:\"Method not found.\", grpc_status:12}",
            InvalidRequest,
            false,
        ),
        (
            "{\"created\":\"@1704700000\",\"description\":\"Error received from peer\",\"grpc_message\":\"Method not found\",\"grpc_status\":12}",
            InvalidRequest,
            false,
        ),
        (
            "rpc error: code = Unimplemented desc = unknown service inference.GRPCInferenceService",
            InvalidRequest,
            false,
        ),
        (
            "io.grpc.StatusRuntimeException: UNIMPLEMENTED: Method not found: llm.Generate/Stream",
            InvalidRequest,
            false,
        ),
        (
            "Grpc.Core.RpcException: Status(StatusCode=\"Unimplemented\", Detail=\"Method is unimplemented.\")",
            InvalidRequest,
            false,
        ),
        // Go's strict decoder refusing a field of the request.
        (
            "json: unknown field \"prompt_cache_key\"",
            InvalidRequest,
            false,
        ),
        // A deployment stopped by its owner serves no model.
        (
            "Error: 400 {\"type\":\"error\",\"error\":{\"type\":\"BadRequest\",\"message\":\"The requested endpoint has been stopped and is currently unavailable.\"}}",
            ModelNotFound,
            false,
        ),
        (
            "[error: Copilot error: text-too-long]",
            ContextLength,
            false,
        ),
        // Dart's Dio on a connection that did not open in time.
        (
            "The request connection took longer than 0:00:20.000000. It was aborted.",
            Timeout,
            true,
        ),
        // A Swift client's answer with no choices in it.
        (
            "OpenAI<TextResult>(object: nil, model: nil, choices: nil, usage: nil, data: nil)",
            MalformedResponse,
            true,
        ),
    ]);
    // Vertex's missing model stays one under a relay's 5xx.
    let d = engine().diagnose(
        &Failure::message("litellm.InternalServerError: VertexAIException - Publisher Model `projects/p/locations/us-central1/publishers/google/models/gemini-9` was not found or your project does not have access to it.")
            .with_status(500),
    );
    assert_eq!(category(&d), ModelNotFound);
    // gRPC's UNIMPLEMENTED is about the target, not the request's content.
    let d = engine().diagnose(&Failure::message(
        "rpc error: code = Unimplemented desc = unknown service inference.GRPCInferenceService",
    ));
    assert!(d.about_target);
    // A gateway's queue ran out after the stream had begun.
    let d = in_stream(
        "[AIStudioToAPI] - Request processing error (headers already sent): Queue timeout, request ID: req_1788852435918",
    );
    assert_eq!((category(&d), d.retryable), (Timeout, true));
}

#[test]
fn credentials_targets_and_answers_in_the_twenty_second_samples_words() {
    assert_read([
        // A credential the client was never given or could not load.
        (
            "Error preparing retriever: Environment variable OPENAI_API_KEY must be set",
            Auth,
            false,
        ),
        (
            "Error: Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.",
            Auth,
            false,
        ),
        (
            "Could not resolve API token from the environment",
            Auth,
            false,
        ),
        (
            "No project ID found for Gemini CLI. Please try signing out and signing in again to provision a project.",
            Auth,
            false,
        ),
        ("额度获取失败：Gemini CLI 凭证缺少 Project ID", Auth, false),
        // A request's field said to be required stays the request.
        ("stream must be set to true", InvalidRequest, false),
        // An account switched off for a reason other than payment.
        (r#"{"error":"This user is inactive."}"#, Permission, false),
        // Axios's code for a request that got no response.
        ("LangChain error: ERR_NETWORK", Network, true),
        // Answers a client could not use.
        (
            "错误类型：UnknownError，错误：AI 返回了空响应",
            MalformedResponse,
            true,
        ),
        (
            "The model produced an invalid tool call, trying again.",
            MalformedResponse,
            true,
        ),
        ("No valid XML found in response", MalformedResponse, true),
        (
            "binary.lua:82: Expected value but found unexpected end of string at character 65537",
            MalformedResponse,
            true,
        ),
        // Targets: an AWS endpoint without the operation, Vertex's dedicated
        // endpoint through the shared domain, Azure's missing resource.
        (
            "Error listing Bedrock models: An error occurred (404) when calling the ListFoundationModels operation: <UnknownOperationException/>",
            InvalidRequest,
            false,
        ),
        (
            "rpc error: code = FailedPrecondition desc = Dedicated Endpoint cannot be accessed through the shared Vertex AI domain aiplatform.googleapis.com.",
            InvalidRequest,
            false,
        ),
        ("Resource not found", InvalidRequest, false),
        // Bedrock's guardrail refusing the request's shape, not its content.
        (
            "ValidationException: Guardrail was enabled but input is in incorrect format.",
            InvalidRequest,
            false,
        ),
        (
            "HttpResponseError: (None) A value is not provided for the 'input_data' parameter.",
            InvalidRequest,
            false,
        ),
        (
            "GenerateContentRequest.tools[0].function_declarations[11].parameters.properties[appearance].enum: only allowed for STRING type",
            InvalidRequest,
            false,
        ),
        // Squid's page is a gateway's answer, whatever it reports behind it.
        (
            "Request failed: ERROR The requested URL could not be retrieved. Read Error. The system returned: (104) Connection reset by peer",
            ServerError,
            true,
        ),
    ]);
    let d = engine().diagnose(&Failure::message("Resource not found"));
    assert!(d.about_target, "{d:?}");
    // Squid's title decides only where no status came; its own cause lines
    // decide above it, and its access rule is the caller's own proxy.
    for (status, page, want, retryable) in [
        (
            504,
            "ERROR: The requested URL could not be retrieved. Read Timeout. The system returned: (110) Connection timed out. A Timeout occurred while waiting to read data from the network.",
            Timeout,
            true,
        ),
        (
            403,
            "ERROR: The requested URL could not be retrieved. Access Denied. Access control configuration prevents your request from being allowed at this time.",
            Network,
            false,
        ),
        (
            413,
            "ERROR: The requested URL could not be retrieved. The request or reply is too large.",
            InvalidRequest,
            false,
        ),
    ] {
        let d = engine().diagnose(&Failure::message(page).with_status(status));
        assert_eq!((category(&d), d.retryable), (want, retryable), "{page}");
    }
    // Without a status, the cause lines still decide above the title.
    assert_read([
        (
            "ERROR: The requested URL could not be retrieved. Read Timeout. A Timeout occurred while waiting to read data from the network.",
            Timeout,
            true,
        ),
        (
            "ERROR: The requested URL could not be retrieved. The request or reply is too large.",
            InvalidRequest,
            false,
        ),
    ]);
    // The title alone yields to any status.
    let d = engine().diagnose(
        &Failure::message("ERROR: The requested URL could not be retrieved").with_status(403),
    );
    assert_eq!(category(&d), Permission);
    // Chromium's codes: a network that changed is retried, its firewall
    // refusal is not.
    assert_read([
        ("net::ERR_NETWORK_CHANGED", Network, true),
        ("net::ERR_NETWORK_ACCESS_DENIED", Network, false),
    ]);
    // An app's own "Project ID missing" under a 400 is the request.
    let d = engine().diagnose(&Failure::http(400, r#"{"error":"缺少 Project ID"}"#));
    assert_eq!(category(&d), InvalidRequest);
}

#[test]
fn an_http2_reset_is_the_connection_and_ollama_without_a_runner_is_the_server() {
    assert_read([
        // hyper's h2 on a request the peer reset, outside a stream: the
        // connection, though "stream error" is in its words.
        (
            "failed with error: error sending request for https://api.openai.com/v1/chat/completions: client error (SendRequest): http2 error: stream error received: unspecific protocol error detected",
            Network,
            true,
        ),
        // Ollama's scheduler with no runner to serve the model.
        ("Error: no suitable llama servers found", ServerError, true),
    ]);
    // Inside a stream, the same reset is the cut it caused.
    let d = in_stream("http2 error: stream error received: unspecific protocol error detected");
    assert_eq!((category(&d), d.retryable), (StreamInterrupted, true));
}

#[test]
fn a_grpc_status_printed_by_name_is_read_as_the_status_it_names() {
    assert_read([
        // Python's channel error: "terminated" is the call's, not a stream
        // cut; the status names the cause.
        (
            "grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.INTERNAL\n\tdetails = \"Internal error encountered.\"",
            ServerError,
            true,
        ),
        // A status printed in digits decides above a name.
        (
            "_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.INTERNAL\n\tdetails = \"Request failed with status code 401\"",
            Auth,
            false,
        ),
        // A reset the call ended with as INTERNAL is the status's: retried
        // as the reset would be.
        (
            "status = StatusCode.INTERNAL\n\tdetails = \"Received RST_STREAM with error code 2\"",
            ServerError,
            true,
        ),
        // Go's, Java's and .NET's printouts.
        (
            "rpc error: code = Internal desc = internal error",
            ServerError,
            true,
        ),
        (
            "io.grpc.StatusRuntimeException: INTERNAL: Received unexpected EOS on DATA frame from server",
            ServerError,
            true,
        ),
        (
            r#"Grpc.Core.RpcException: Status(StatusCode="Internal", Detail="Bad gRPC response.")"#,
            ServerError,
            true,
        ),
        // Connect's error, by its code: not a connect failure.
        ("ConnectError: [internal] internal error", ServerError, true),
        ("ConnectError: [resource_exhausted] Error", RateLimit, true),
        ("ConnectError: [permission_denied] Error", Permission, false),
        (
            "ConnectError: [unimplemented] Method not found",
            InvalidRequest,
            false,
        ),
        // Its code `unknown` names no cause, unless a cause follows.
        (
            "Unable to generate commit message: ConnectError: [unknown] CreateFile .... The filename, directory name, or volume label syntax is incorrect.",
            Unknown,
            false,
        ),
        ("ConnectError: [unknown] fetch failed", Network, true),
        // UNAVAILABLE is read by the words after it: a connection that
        // failed stays the connection, and Connect's with no words is its
        // class name's.
        (
            "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:43369: connect: connection refused\"",
            Network,
            true,
        ),
        (
            "status = StatusCode.UNAVAILABLE\n\tdetails = \"failed to connect to all addresses\"",
            Network,
            true,
        ),
        ("ConnectError: [unavailable] Error", Network, true),
        // httpx's ConnectError is a connect failure, whatever follows it.
        (
            "httpx.ConnectError: [Errno 22] Invalid argument",
            Network,
            true,
        ),
        // A reason phrase after "error:" is not a gRPC name.
        (
            "Chat completion request error: Internal Server Error (status 403)",
            Permission,
            false,
        ),
    ]);
    // Inside a stream, a Vertex 400 that ends in its status name is the
    // request, not the cut.
    let d = in_stream(
        "Response stream finished unexpectedly with internal error: Vertex AI API error: Error 400, Message: The GenerateContentRequest proto is invalid: [REQUIRED_FIELD_MISSING], Status: INVALID_ARGUMENT, Details: []",
    );
    assert_eq!(
        (category(&d), d.retryable),
        (InvalidRequest, false),
        "{d:?}"
    );
}

#[test]
fn keys_quotas_and_chromium_codes_in_the_twenty_fourth_samples_words() {
    assert_read([
        // NovelAI's refusal of the key.
        (
            "novelai.exceptions.AuthError: Access token is incorrect. Message from NovelAI: Incorrect access key.",
            Auth,
            false,
        ),
        // A quota reached, with no window: spent; with one, a rate limit.
        ("Error: Reached your quota", QuotaExhausted, false),
        (
            "You have reached your quota of 60 requests per minute",
            RateLimit,
            true,
        ),
        // Chromium's codes for a refused connection, a failed lookup and a
        // certificate it does not trust (no retry cures the last).
        (
            "Failed to load resource: net::ERR_CONNECTION_REFUSED",
            Network,
            true,
        ),
        ("net::ERR_NAME_RESOLUTION_FAILED", Network, true),
        ("net::ERR_CERT_AUTHORITY_INVALID", Network, false),
        ("net::ERR_CERT_COMMON_NAME_INVALID", Network, false),
        ("net::ERR_CERT_REVOKED", Network, false),
        // "Either the token is incorrect or the endpoint is down" names no
        // cause, as before.
        (
            "OpenAI status check failed. Either Access Token is incorrect or API endpoint is down.",
            Unknown,
            false,
        ),
        // Claude Code's note on every failed connection ("might not be
        // available in your country") is a hedge: the failure decides.
        (
            "Unable to connect to Anthropic services\n\nFailed to connect to api.anthropic.com: ECONNREFUSED\n\nPlease check your internet connection and network settings.\n\nNote: Claude Code might not be available in your country. Check supported countries at https://anthropic.com/supported-countries",
            Network,
            true,
        ),
    ]);
}
