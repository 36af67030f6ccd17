//! Building the request: its type, the token estimate the limiter is
//! asked for, and the body serialized for each target.

use std::sync::Arc;

use bytes::Bytes;
use nb_transport::{ChatCompletionRequest, Message};

use crate::error::Error;
use crate::target::Chain;

/// The request type: OpenAI's chat-completion request (`model`, `messages`
/// and every option, unknown fields kept).
pub type ChatRequest = ChatCompletionRequest;

/// The token estimate the limiter is asked for: 0 (requests only) unless a
/// target of the chain has a token limit; then about a token per four
/// characters of text plus the requested completion tokens.
pub(crate) fn cost(chain: &Chain, request: &ChatRequest) -> u64 {
    let counts_tokens = chain
        .targets
        .iter()
        .any(|t| t.limiter.limits().tokens_per_minute.is_some());
    if !counts_tokens {
        return 0;
    }
    let chars: usize = request
        .messages
        .iter()
        .filter_map(Message::text)
        .map(str::len)
        .sum();
    let completion = request
        .max_completion_tokens
        .or(request.max_tokens)
        .unwrap_or(0);
    (chars as u64).div_ceil(4).saturating_add(completion)
}

/// Serializes `request` with `model` on the wire, reusing the caller's
/// buffer size as a hint.
pub(crate) fn serialize(
    request: &mut ChatRequest,
    model: &str,
    hint: usize,
) -> Result<Bytes, Error> {
    if request.model != model {
        request.model.clear();
        request.model.push_str(model);
    }
    let mut buf = Vec::with_capacity(hint.max(128));
    serde_json::to_writer(&mut buf, &*request)
        .map_err(|e| Error::config(format!("the request cannot be serialized: {e}")))?;
    Ok(Bytes::from(buf))
}

/// The body an attempter last serialized, reused while the attempts name
/// the same model (and, for a stream, carry the prefill or not alike).
#[derive(Debug, Default)]
pub(crate) struct LastBody(Option<(Arc<str>, bool, Bytes)>);

impl LastBody {
    /// The body for `model` and `prefill`: the last one if it was made for
    /// them, else `make(size hint)`, kept for the next attempt.
    pub(crate) fn get_or_make(
        &mut self,
        model: &Arc<str>,
        prefill: bool,
        make: impl FnOnce(usize) -> Result<Bytes, Error>,
    ) -> Result<Bytes, Error> {
        if let Some((m, p, body)) = &self.0
            && m == model
            && *p == prefill
        {
            return Ok(body.clone());
        }
        let hint = self.0.as_ref().map_or(0, |(_, _, b)| b.len());
        let body = make(hint)?;
        self.0 = Some((Arc::clone(model), prefill, body.clone()));
        Ok(body)
    }
}
