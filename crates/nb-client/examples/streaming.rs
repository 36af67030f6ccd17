//! A streamed answer with failover: errors, a slow first token, or a cut
//! before any content fail over transparently; a cut after content continues
//! on the next model with the partial answer as a prefill.
//!
//! ```sh
//! OPENAI_API_KEY=sk-... cargo run -p nb-client --example streaming
//! ```

use std::io::Write;
use std::time::Duration;

use nb_client::{
    ChatRequest, NeuralBridge, StreamEvent,
    policy::{StreamPolicy, Tier},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = NeuralBridge::builder()
        .api_key_env("OPENAI_API_KEY")
        .base_url("https://api.openai.com/v1")
        .fallback_models(["gpt-4o", "gpt-4o-mini"])
        .stream_policy(StreamPolicy::Continue)
        // Time to first token: the profile's fast-fail tier, then standard.
        .timeout_ladder([Tier::FastFail, Tier::Standard])
        .idle_timeout(Duration::from_secs(20))
        .build()?;

    let request = ChatRequest::new("gpt-4o").user_message("Write a haiku about retries.");
    let mut stream = client.chat().stream(request).await?;
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::Chunk(chunk) => {
                print!("{}", chunk.content().unwrap_or_default());
                std::io::stdout().flush()?;
            }
            StreamEvent::Restarted { model, reason, .. } => {
                // The partial answer could not be continued: start over.
                println!("\n--- restarted on {model} ({}) ---", reason.category);
            }
            StreamEvent::Done(summary) => {
                println!(
                    "\n\nserved by {} after {} attempt(s); usage: {:?}",
                    summary.served_by(),
                    summary.attempts().len(),
                    summary.usage()
                );
            }
            _ => {}
        }
    }
    Ok(())
}
