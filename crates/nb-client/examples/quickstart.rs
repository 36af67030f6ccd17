//! The NeuralBridge Python SDK's quick start, in Rust: DashScope (Qwen) with two fallbacks.
//!
//! ```sh
//! DASHSCOPE_API_KEY=sk-... cargo run -p nb-client --example quickstart
//! ```
//!
//! If qwen-max fails, the call falls back to qwen-plus, then qwen-turbo;
//! `verbose(true)` prints one line per attempt (never the key).

use nb_client::{ChatRequest, NeuralBridge};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = NeuralBridge::builder()
        .api_key_env("DASHSCOPE_API_KEY")
        .base_url("https://dashscope.aliyuncs.com/compatible-mode/v1")
        .fallback_models(["qwen-max", "qwen-plus", "qwen-turbo"])
        .max_retries(3)
        .verbose(true)
        .build()?;

    let response = client
        .chat()
        .create(ChatRequest::new("qwen-max").user_message("Hello"))
        .await?;
    println!("{}", response.text().unwrap_or_default());
    println!(
        "{} answered after {} attempts",
        response.served_by(),
        response.attempts().len()
    );
    println!("{:?}", client.health_status());
    Ok(())
}
