//! What the fleet tests share: a healthy primary and backup on nb-mock, a
//! replica calling them, the request it sends, and a poll with a time limit.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it

use std::time::{Duration, Instant};

use nb_client::{ChatRequest, EndpointConfig, NeuralBridge, NeuralBridgeBuilder};
use nb_mock::{MockServer, ModelBehavior, Scenario};

/// A healthy `primary` and `backup`.
pub(crate) fn healthy() -> Scenario {
    Scenario::builder()
        .model(ModelBehavior::new("primary"))
        .model(ModelBehavior::new("backup"))
        .build()
        .unwrap()
}

/// A replica calling `mock`'s `primary`, falling back to `backup`; each
/// test adds what it shares.
pub(crate) fn replica(mock: &MockServer) -> NeuralBridgeBuilder {
    NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("mock", mock.base_url())
                .api_key("sk-fleet-0001")
                .models(["primary", "backup"]),
        )
        .fallback_models(["primary", "backup"])
}

/// A request for `primary`.
pub(crate) fn ask() -> ChatRequest {
    ChatRequest::new("primary").user_message("Hello")
}

/// Waits up to `limit` for `done`, polling; returns how long it took.
pub(crate) async fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done().then(|| start.elapsed())
}
