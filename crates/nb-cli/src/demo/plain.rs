//! The plain retry loop the demo compares against: what a careful engineer writes without
//! NeuralBridge, not a straw man. The same chain in order; on each model up to three tries with
//! exponential backoff that honours `Retry-After`, as the official OpenAI SDKs retry (408, 409,
//! 429, 5xx, a broken connection or answer, a timeout); an error no retry can fix (any other
//! 4xx) goes to the next model at once; every attempt has the same time limit.

use std::sync::Arc;
use std::time::Duration;

use nb_client::transport::{Endpoint, HyperTransport, RequestOptions, Timeouts, Transport};
use nb_client::wire::ChatCompletionRequest;
use nb_client::{ApiKey, ChatCompletion};

use crate::exit::CliError;

/// Tries per model.
pub(super) const TRIES: u32 = 3;

/// The first backoff; it doubles with each retry on the same model.
pub(super) const BACKOFF: Duration = Duration::from_millis(500);

/// Each attempt's time limit, whole answer included: long enough for the scenario's 15 s
/// reports with room to spare, as a careful engineer sets it for an LLM.
pub(super) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest `Retry-After` honoured (the OpenAI SDKs' cap).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The largest answer read.
const MAX_BODY: usize = 1 << 20;

/// How a request through the loop went.
#[derive(Debug, Default)]
pub(super) struct Served {
    /// The model that answered in full, if one did.
    pub(super) model: Option<String>,
    /// Upstream calls made, hedges aside (the loop has none).
    pub(super) calls: usize,
    /// A stream broke off after text had reached the caller, and the loop started the
    /// answer again.
    pub(super) truncated: bool,
}

/// One attempt's result.
enum Tried {
    Answered,
    /// Worth another try on the same model, after `retry_after` if the server said.
    Retryable {
        retry_after: Option<Duration>,
        /// Text had reached the caller before the stream broke.
        shown: bool,
    },
    /// No retry can fix it: the next model.
    Final,
}

// The loop, as the docs show it (docs/DEMO.md quotes it between these markers).
// loop:begin
impl Plain {
    /// One request: each model of the chain in order, up to [`TRIES`] tries each.
    pub(super) async fn call(&self, prompt: &str, stream: bool) -> Served {
        let mut served = Served::default();
        for model in self.chain.iter() {
            for tried in 1..=TRIES {
                served.calls += 1;
                match self.attempt(model, prompt, stream).await {
                    Tried::Answered => {
                        served.model = Some(model.clone());
                        return served;
                    }
                    Tried::Final => break,
                    Tried::Retryable { retry_after, shown } => {
                        served.truncated |= shown;
                        if tried < TRIES {
                            let backoff = BACKOFF * 2u32.pow(tried - 1);
                            let wait = retry_after.map_or(backoff, |s| s.min(MAX_RETRY_AFTER));
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
            }
        }
        served
    }
}
// loop:end

/// The loop's HTTP client: the same transport NeuralBridge uses, with none of its logic.
#[derive(Debug, Clone)]
pub(super) struct Plain {
    transport: HyperTransport,
    endpoint: Arc<Endpoint>,
    key: Arc<ApiKey>,
    chain: Arc<[String]>,
}

impl Plain {
    pub(super) fn new(base_url: &str, chain: Vec<String>) -> Result<Self, CliError> {
        let transport = HyperTransport::builder()
            .connect_timeout(Some(ATTEMPT_TIMEOUT))
            .build()
            .map_err(|e| CliError::runtime(format!("cannot set up HTTP: {e}")))?;
        let endpoint = Endpoint::openai_compatible(base_url).map_err(CliError::runtime)?;
        Ok(Self {
            transport,
            endpoint: Arc::new(endpoint),
            key: Arc::new(ApiKey::new("demo-key-not-a-real-one")),
            chain: chain.into(),
        })
    }

    /// One upstream call: a whole answer (ending in `[DONE]` when streamed) is an answer.
    async fn attempt(&self, model: &str, prompt: &str, stream: bool) -> Tried {
        let request = ChatCompletionRequest::new(model)
            .user_message(prompt)
            .stream(stream);
        let Ok(request) = self.endpoint.chat_request(Some(&self.key), &request) else {
            return Tried::Final;
        };
        let options = RequestOptions {
            timeouts: Timeouts {
                total: Some(ATTEMPT_TIMEOUT),
                ..Timeouts::default()
            },
            max_body: Some(MAX_BODY),
            ..RequestOptions::default()
        };
        let retry = |shown| Tried::Retryable {
            retry_after: None,
            shown,
        };
        let Ok(response) = self.transport.send(request, options).await else {
            return retry(false);
        };
        let status = response.status().as_u16();
        if status != 200 {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return match status {
                408 | 409 | 429 | 500.. => Tried::Retryable {
                    retry_after,
                    shown: false,
                },
                _ => Tried::Final,
            };
        }
        let mut body = response.into_body();
        let mut read = Vec::new();
        loop {
            match body.chunk().await {
                Some(Ok(chunk)) => read.extend_from_slice(&chunk),
                // A stream passes text on as it comes: a break after some is a truncated answer.
                Some(Err(_)) => return retry(stream && shows_text(&read)),
                None => break,
            }
            if read.len() > MAX_BODY {
                return retry(stream && shows_text(&read));
            }
        }
        let whole = if stream {
            read.windows(12).any(|w| w == b"data: [DONE]")
        } else {
            serde_json::from_slice::<ChatCompletion>(&read).is_ok_and(|c| !c.choices.is_empty())
        };
        if whole {
            Tried::Answered
        } else {
            retry(stream && shows_text(&read))
        }
    }
}

/// Whether the stream read so far carried answer text.
fn shows_text(read: &[u8]) -> bool {
    read.windows(11).any(|w| w == br#""content":""#)
}
