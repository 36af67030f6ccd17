//! Helpers for the `client_*` tests: an nb-mock server with a client pointed
//! at it, and readers for what came back.

use std::time::Duration;

use nb_client::{
    Attempt, ChatRequest, ChatStream, ErrorCategory, NeuralBridge, NeuralBridgeBuilder,
    StreamEvent, StreamSummary,
};
use nb_mock::{MockServer, ModelBehavior, RequestLog, Scenario};

/// The primary model of the fixtures' chain.
pub const PRIMARY: &str = "gpt-4o";
/// Its first fallback.
pub const FALLBACK: &str = "gpt-4o-mini";
/// The key the fixtures' client sends (its last four: `0001`).
pub const KEY: &str = "sk-test-client-0001";

/// An nb-mock server and a client whose default endpoint is that server.
#[derive(Debug)]
pub struct Fixture {
    /// The server, with its request log.
    pub server: MockServer,
    /// The client.
    pub client: NeuralBridge,
}

/// A scenario with these model behaviours.
pub fn scenario(models: impl IntoIterator<Item = ModelBehavior>) -> Scenario {
    let mut builder = Scenario::builder().seed(1);
    for model in models {
        builder = builder.model(model);
    }
    builder.build().expect("a valid scenario")
}

/// Starts `scenario` and a client on it: chain `[PRIMARY, FALLBACK]`, key
/// [`KEY`], seeded jitter; `configure` adjusts the builder.
pub async fn start(
    scenario: Scenario,
    configure: impl FnOnce(NeuralBridgeBuilder) -> NeuralBridgeBuilder,
) -> Fixture {
    let server = MockServer::start(scenario).await.expect("nb-mock starts");
    let builder = NeuralBridge::builder()
        .base_url(server.base_url())
        .api_key(KEY)
        .fallback_models([PRIMARY, FALLBACK])
        .seed(1);
    let client = configure(builder).build().expect("the client builds");
    Fixture { server, client }
}

/// A one-message request for `model`.
pub fn chat(model: &str) -> ChatRequest {
    ChatRequest::new(model).user_message("Say hello")
}

/// Each attempt's category (`None` for the serving attempt).
pub fn categories(attempts: &[Attempt]) -> Vec<Option<ErrorCategory>> {
    attempts
        .iter()
        .map(|a| a.diagnosis().map(|d| d.category))
        .collect()
}

/// Each attempt's model.
pub fn models(attempts: &[Attempt]) -> Vec<&str> {
    attempts.iter().map(Attempt::model).collect()
}

/// Each attempt's decision, by name.
pub fn decisions(attempts: &[Attempt]) -> Vec<&'static str> {
    attempts.iter().map(|a| a.decision().as_str()).collect()
}

/// A stream read to its end.
#[derive(Debug)]
pub struct Streamed {
    /// The text as the caller should show it (cleared at a restart).
    pub text: String,
    /// `chunk:<text>` and `restarted:<model>`, in order.
    pub events: Vec<String>,
    /// The summary, or the error the stream ended with.
    pub end: Result<StreamSummary, nb_client::Error>,
}

/// Reads `stream` to its end, checking that nothing follows the last event.
pub async fn read(mut stream: ChatStream) -> Streamed {
    let mut text = String::new();
    let mut events = Vec::new();
    loop {
        let end = match stream.next().await {
            Some(Ok(StreamEvent::Chunk(chunk))) => {
                if let Some(t) = chunk.content().filter(|t| !t.is_empty()) {
                    text.push_str(t);
                    events.push(format!("chunk:{t}"));
                }
                continue;
            }
            Some(Ok(StreamEvent::Restarted { model, .. })) => {
                text.clear();
                events.push(format!("restarted:{model}"));
                continue;
            }
            Some(Ok(StreamEvent::Done(summary))) => Ok(summary),
            Some(Ok(other)) => panic!("unexpected event {other:?}"),
            Some(Err(error)) => Err(error),
            None => panic!("a stream ends with Done or an error, not silence"),
        };
        assert!(stream.next().await.is_none(), "nothing after the end");
        return Streamed { text, events, end };
    }
}

/// The time between the last request for `from` and the first one for
/// `to` that followed it, as the server saw them (`None` if `to` was not
/// called after `from`).
pub fn handoff(log: &RequestLog, from: &str, to: &str) -> Option<Duration> {
    let requests = log.requests();
    let last = requests.iter().rposition(|r| &*r.model == from)?;
    let next = requests[last..].iter().find(|r| &*r.model == to)?;
    Some(next.at.saturating_sub(requests[last].at))
}

/// Whether `d` is within `[lo, hi]`.
pub fn between(d: Duration, lo: Duration, hi: Duration) -> bool {
    lo <= d && d <= hi
}
