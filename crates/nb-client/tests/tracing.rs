//! Tracing output: a span per call and per attempt with model, endpoint,
//! category and latency, and never a key. In its own test binary because
//! `tracing` caches callsite interest process-wide: tests without a
//! subscriber running in parallel would race with this one.

use std::sync::{Arc, Mutex, PoisonError};

use http::StatusCode;
use http::header::RETRY_AFTER;
use nb_client::{ChatRequest, NeuralBridge};
use nb_transport::{MockReply, MockTransport};
use serde_json::json;

const KEY: &str = "sk-test-key-0001";

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written so far.
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The lines that close a call's span (not an attempt's inside it).
fn closed_call_spans(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            l.contains("neuralbridge.call")
                && !l.contains("neuralbridge.attempt")
                && l.contains("close")
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn spans_name_the_call_and_each_attempt_and_never_the_key() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let mock = MockTransport::new();
    let limited = json!({"error": {
        "message": format!("Rate limit reached for key {KEY}"),
        "code": "rate_limit_exceeded"
    }});
    mock.push(MockReply::json(StatusCode::TOO_MANY_REQUESTS, &limited).header(RETRY_AFTER, "1"))
        .push(MockReply::chat("primary", "hi"));
    let client = NeuralBridge::builder()
        .base_url("https://api.openai.com/v1")
        .api_key(KEY)
        .transport(Arc::new(mock.clone()))
        .build()
        .unwrap();
    client
        .chat()
        .create(ChatRequest::new("primary").user_message("Hello"))
        .await
        .unwrap();

    let out = captured.text();
    let attempt_spans: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("neuralbridge.attempt") && l.contains("close"))
        .collect();
    assert_eq!(attempt_spans.len(), 2, "{out}");
    assert!(attempt_spans[0].contains("attempt=1"), "{out}");
    assert!(attempt_spans[0].contains("model=primary"), "{out}");
    assert!(attempt_spans[0].contains("endpoint=default"), "{out}");
    assert!(
        attempt_spans[0].contains("category=\"rate_limit\""),
        "{out}"
    );
    assert!(attempt_spans[0].contains("latency_ms="), "{out}");
    assert!(attempt_spans[1].contains("category=\"success\""), "{out}");
    let call_spans = closed_call_spans(&out);
    assert_eq!(call_spans.len(), 1, "{out}");
    let call = call_spans[0];
    for field in [
        "model=primary",
        "stream=false",
        "served_by=\"primary\"",
        "endpoint=\"default\"",
        "attempts=2",
        "category=\"success\"",
        "degraded=false",
        "latency_ms=1000",
    ] {
        assert!(call.contains(field), "{field} in {call}");
    }
    assert!(
        out.contains("attempt failed"),
        "a warn event per failed attempt: {out}"
    );

    // A stream, and a call that fails: their call spans say so too.
    let sse = [
        r#"{"choices":[{"index":0,"delta":{"content":"hi"}}]}"#,
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        "[DONE]",
    ];
    mock.push(MockReply::sse(sse.map(Ok)));
    let mut stream = client
        .chat()
        .stream(ChatRequest::new("primary").user_message("Hello"))
        .await
        .unwrap();
    while let Some(event) = stream.next().await {
        event.unwrap();
    }
    // The call's span closes with the stream.
    drop(stream);
    let denied = json!({"error": {
        "message": format!("Incorrect API key provided: {KEY}"),
        "code": "invalid_api_key"
    }});
    mock.push(MockReply::json(StatusCode::UNAUTHORIZED, &denied));
    client
        .chat()
        .create(ChatRequest::new("primary").user_message("Hello"))
        .await
        .unwrap_err();

    let out = captured.text();
    let calls = closed_call_spans(&out);
    assert_eq!(calls.len(), 3, "{out}");
    assert!(calls[1].contains("stream=true"), "{}", calls[1]);
    assert!(calls[1].contains("category=\"success\""), "{}", calls[1]);
    assert!(calls[1].contains("attempts=1"), "{}", calls[1]);
    assert!(calls[2].contains("category=\"auth\""), "{}", calls[2]);
    assert!(calls[2].contains("attempts=1"), "{}", calls[2]);
    assert!(!calls[2].contains("served_by"), "{}", calls[2]);
    assert!(!out.contains(KEY), "{out}");
}
