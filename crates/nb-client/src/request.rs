//! Building the request: its type, the token estimate the limiter is
//! asked for, and the body serialized for each target.

use std::sync::Arc;

use bytes::Bytes;
use nb_transport::{ChatCompletionRequest, Endpoint, EndpointKind, Message, TransportError};

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

/// The format of a body: OpenAI's (OpenAI-compatible and Azure endpoints),
/// or the protocol it was translated to.
pub(crate) fn format(endpoint: &Endpoint) -> EndpointKind {
    match endpoint.kind() {
        EndpointKind::Azure => EndpointKind::OpenAiCompatible,
        kind => kind,
    }
}

/// Why a body for a target could not be made.
pub(crate) enum BodyError {
    /// The request itself cannot be serialized: no target can take it.
    Request(Error),
    /// The target's protocol cannot carry it (a translation refused it).
    Target(TransportError),
}

/// The body of `request` with `model` for `endpoint`: serialized (reusing
/// `hint` as the buffer size) for an OpenAI-shaped endpoint, translated for
/// an Anthropic or Gemini one.
pub(crate) fn encode(
    endpoint: &Endpoint,
    request: &mut ChatRequest,
    model: &str,
    hint: usize,
) -> Result<Bytes, BodyError> {
    if !endpoint.translates() {
        return serialize(request, model, hint).map_err(BodyError::Request);
    }
    if request.model != model {
        request.model.clear();
        request.model.push_str(model);
    }
    endpoint.body(request).map_err(BodyError::Target)
}

/// The body an attempter last made, reused while the attempts name the
/// same model in the same format (and, for a stream, carry the prefill or
/// not alike): a retry or a hedge on the same target costs no serialization
/// or translation.
#[derive(Debug, Default)]
pub(crate) struct LastBody(Option<(Arc<str>, bool, EndpointKind, Bytes)>);

impl LastBody {
    /// The body for `model`, `prefill` and `format`: the last one if it was
    /// made for them, else `make(size hint)`, kept for the next attempt.
    pub(crate) fn get_or_make<E>(
        &mut self,
        model: &Arc<str>,
        prefill: bool,
        format: EndpointKind,
        make: impl FnOnce(usize) -> Result<Bytes, E>,
    ) -> Result<Bytes, E> {
        if let Some((m, p, f, body)) = &self.0
            && m == model
            && *p == prefill
            && *f == format
        {
            return Ok(body.clone());
        }
        let hint = self.0.as_ref().map_or(0, |(_, _, _, b)| b.len());
        let body = make(hint)?;
        self.0 = Some((Arc::clone(model), prefill, format, body.clone()));
        Ok(body)
    }
}
