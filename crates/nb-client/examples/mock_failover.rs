//! A fallback happening, with no key and no network: nb-mock runs in
//! process, its gpt-4o is overloaded and its gpt-4o-mini healthy.
//!
//! ```sh
//! cargo run -p nb-client --example mock_failover
//! ```

use nb_client::{ChatRequest, NeuralBridge};
use nb_mock::{Fault, MockServer, ModelBehavior, Scenario, ScenarioRule};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = MockServer::start(
        Scenario::builder()
            .model(ModelBehavior::new("gpt-4o").rule(ScenarioRule::new(Fault::Overloaded)))
            .model(ModelBehavior::new("gpt-4o-mini").reply("Hello from the fallback!"))
            .build()?,
    )
    .await?;

    let client = NeuralBridge::builder()
        .base_url(server.base_url())
        .api_key("sk-mock-example")
        .fallback_models(["gpt-4o", "gpt-4o-mini"])
        .max_retries(1)
        .verbose(true)
        .build()?;

    let response = client
        .chat()
        .create(ChatRequest::new("gpt-4o").user_message("Hello"))
        .await?;
    println!("{}", response.text().unwrap_or_default());
    println!(
        "{} answered after {} attempts",
        response.served_by(),
        response.attempts().len()
    );
    for attempt in response.attempts() {
        match attempt.diagnosis() {
            Some(d) => println!(
                "  {}: {} -> {}",
                attempt.model(),
                d,
                attempt.decision().as_str()
            ),
            None => println!("  {}: served in {:?}", attempt.model(), attempt.latency()),
        }
    }
    println!(
        "the server saw gpt-4o {} time(s), gpt-4o-mini {} time(s)",
        server.log().attempts("gpt-4o"),
        server.log().attempts("gpt-4o-mini")
    );
    let health = client.health_status();
    println!(
        "health: active {:?}, degraded {:?}, failed {:?}",
        health.active_models, health.degraded_models, health.failed_models
    );
    Ok(())
}
