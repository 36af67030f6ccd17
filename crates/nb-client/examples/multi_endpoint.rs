//! Several endpoints in one client: OpenAI first, DeepSeek (with a pool of
//! two keys) second, a local vLLM server last. The chain crosses all three.
//!
//! ```sh
//! OPENAI_API_KEY=... DEEPSEEK_API_KEY=... DEEPSEEK_API_KEY_2=... \
//!     cargo run -p nb-client --example multi_endpoint
//! ```

use std::time::Duration;

use nb_client::{
    ChatRequest, EndpointConfig, ErrorCategory, NeuralBridge,
    policy::{CategoryPolicy, FallbackRule, RateLimits},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = NeuralBridge::builder()
        .endpoint(
            EndpointConfig::openai_compatible("openai", "https://api.openai.com/v1")
                .api_key_env("OPENAI_API_KEY")
                .models(["gpt-4o", "gpt-4o-mini"])
                .context_window("gpt-4o", 128_000)
                .context_window("gpt-4o-mini", 128_000),
        )
        .endpoint(
            EndpointConfig::openai_compatible("deepseek", "https://api.deepseek.com/v1")
                // A key pool: an auth failure on one key rotates to the next.
                .api_key_envs(["DEEPSEEK_API_KEY", "DEEPSEEK_API_KEY_2"])
                .models(["deepseek-chat"])
                .context_window("deepseek-chat", 64_000)
                .rate_limits(RateLimits {
                    requests_per_minute: Some(60),
                    ..RateLimits::default()
                }),
        )
        .endpoint(
            EndpointConfig::openai_compatible("local", "http://127.0.0.1:8000/v1")
                .models(["meta-llama/Llama-3.1-8B-Instruct"])
                .context_window("meta-llama/Llama-3.1-8B-Instruct", 8_192)
                .supports_prefill(true),
        )
        .fallback_models([
            "gpt-4o",
            "deepseek-chat",
            "meta-llama/Llama-3.1-8B-Instruct",
        ])
        // Too long for one window? Only a larger one, and only at the same provider.
        .policy(
            ErrorCategory::ContextLength,
            CategoryPolicy::fallback_to(FallbackRule::LargerContext).same_provider(),
        )
        .deadline(Duration::from_secs(60))
        .verbose(true)
        .build()?;

    let response = client
        .chat()
        .create(ChatRequest::new("gpt-4o").user_message("Name three prime numbers."))
        .await?;
    println!("{}", response.text().unwrap_or_default());
    for attempt in response.attempts() {
        println!(
            "  #{} {} at {}: {} in {:?}",
            attempt.number(),
            attempt.model(),
            attempt.endpoint(),
            attempt
                .diagnosis()
                .map_or("served".to_owned(), |d| d.category.to_string()),
            attempt.latency()
        );
    }
    for target in client.targets() {
        println!(
            "{} @ {}: breaker {}",
            target.model, target.endpoint, target.breaker
        );
    }
    Ok(())
}
