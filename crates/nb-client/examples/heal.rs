//! `heal()` around a call of your own: here a raw HTTP request to an
//! in-process nb-mock server, whose primary model is rate-limited once and
//! whose `flaky-model` is down. Runs anywhere, no key needed.
//!
//! ```sh
//! cargo run -p nb-client --example heal
//! ```

use std::sync::Arc;

use nb_client::transport::{Endpoint, HyperTransport, RequestOptions, Transport};
use nb_client::{ChatRequest, FailureReport, NeuralBridge};
use nb_mock::{Fault, MockServer, ModelBehavior, Scenario, ScenarioRule};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = MockServer::start(
        Scenario::builder()
            .model(ModelBehavior::new("flaky-model").rule(ScenarioRule::new(Fault::Overloaded)))
            .model(
                ModelBehavior::new("steady-model")
                    .rule(ScenarioRule::new(Fault::rate_limit_after(1)).attempts(1..=1)),
            )
            .build()?,
    )
    .await?;
    let client = NeuralBridge::builder()
        .base_url(server.base_url())
        .fallback_models(["flaky-model", "steady-model"])
        .verbose(true)
        .build()?;

    // "My own API call": it takes the model to use, and fails with a status
    // and a body the cascade can diagnose.
    let transport = Arc::new(HyperTransport::new()?);
    let endpoint = Arc::new(Endpoint::openai_compatible(&server.base_url())?);
    let my_api_call = |model: Arc<str>| {
        let (transport, endpoint) = (Arc::clone(&transport), Arc::clone(&endpoint));
        async move {
            let body = ChatRequest::new(&*model).user_message("Summarise: retries need budgets.");
            let request = endpoint
                .chat_request(None, &body)
                .map_err(|e| (0, e.to_string()))?;
            let response = transport
                .send(request, RequestOptions::default())
                .await
                .map_err(|e| (0, e.to_string()))?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect_capped(1 << 20)
                .await
                .map_err(|e| (status, e.to_string()))?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if status == 200 {
                Ok(text)
            } else {
                Err((status, text))
            }
        }
    };

    let healed = client
        .heal_with(
            "flaky-model",
            my_api_call,
            |(status, body): &(u16, String)| {
                if *status == 0 {
                    FailureReport::message(body.clone())
                } else {
                    FailureReport::http(*status, body.clone())
                }
            },
        )
        .await?;
    println!(
        "healed by {} after {} attempts: {} bytes",
        healed.served_by(),
        healed.attempts().len(),
        healed.value().len()
    );
    println!(
        "the server saw flaky-model {} time(s), steady-model {} time(s)",
        server.log().attempts("flaky-model"),
        server.log().attempts("steady-model")
    );
    Ok(())
}
