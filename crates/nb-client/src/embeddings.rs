//! Embeddings through the cascade, failing over only between endpoints that
//! serve the same model: vectors from different models live in different
//! spaces and cannot be compared, so the model never changes.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use nb_diagnose::Diagnosis;
use nb_transport::{ApiKey, EmbeddingRequest, EmbeddingResponse, EndpointKind, TransportError};
use tracing::Instrument;

use crate::attempt::Attempt;
use crate::cascade::{self, AttemptCtx, Attempter, CallState, Launched};
use crate::client::NeuralBridge;
use crate::error::Error;
use crate::exchange::send_whole;
use crate::failure::{AttemptError, body_failure, malformed, refusal};
use crate::observe;
use crate::request::BodyError;
use crate::response::upstream;
use crate::shared::Inner;
use crate::target::{HedgeKind, TargetId};

impl NeuralBridge {
    /// Embeddings: [`Embeddings::create`].
    pub fn embeddings(&self) -> Embeddings<'_> {
        Embeddings { client: self }
    }
}

/// Embeddings through the cascade; from [`NeuralBridge::embeddings`].
#[derive(Debug, Clone, Copy)]
pub struct Embeddings<'a> {
    client: &'a NeuralBridge,
}

impl Embeddings<'_> {
    /// Embeds `request.input` with `request.model`, retrying and failing
    /// over per the policy table, but only between the endpoints that list
    /// the model (every `model@endpoint` of it; the model's own endpoint
    /// when none lists it), never to another model, whatever the
    /// fallbacks: another model's vectors would not be comparable with the
    /// ones already stored. `model@endpoint` pins one endpoint; a chain's
    /// name is a configuration error.
    ///
    /// OpenAI-compatible and Azure endpoints take the request as it is;
    /// a Gemini endpoint gets it as `batchEmbedContents` (text only, floats
    /// only); Anthropic has no embeddings API, so its endpoints are skipped
    /// without a call.
    ///
    /// ```no_run
    /// # async fn run(client: nb_client::NeuralBridge) -> Result<(), nb_client::Error> {
    /// use nb_client::EmbeddingRequest;
    /// let response = client
    ///     .embeddings()
    ///     .create(EmbeddingRequest::new("text-embedding-3-small", ["first", "second"]))
    ///     .await?;
    /// assert_eq!(response.embeddings().data.len(), 2);
    /// println!("served by {} at {}", response.served_by(), response.endpoint());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create(&self, request: EmbeddingRequest) -> Result<EmbeddingsResponse, Error> {
        crate::fleet::ensure_started(&self.client.inner);
        let span = observe::call_span(&request.model, false);
        let started = observe::call_started(&span);
        let result = create(&self.client.inner, request)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(r) => observe::call_served(
                &span,
                started,
                (r.served_by(), r.endpoint()),
                r.attempts().len(),
                None,
            ),
            Err(e) => observe::call_failed(&span, started, e),
        }
        result
    }
}

/// Embeddings and how the cascade got them.
#[derive(Debug, Clone)]
pub struct EmbeddingsResponse {
    embeddings: EmbeddingResponse,
    served_by: Arc<str>,
    endpoint: Arc<str>,
    protocol: EndpointKind,
    attempts: Vec<Attempt>,
    upstream_headers: HeaderMap,
}

impl EmbeddingsResponse {
    /// The vectors, as OpenAI's API returns them.
    pub fn embeddings(&self) -> &EmbeddingResponse {
        &self.embeddings
    }

    /// The vectors, owned.
    pub fn into_embeddings(self) -> EmbeddingResponse {
        self.embeddings
    }

    /// The model that served (always the one asked for).
    pub fn served_by(&self) -> &str {
        &self.served_by
    }

    /// The endpoint that served.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The protocol of the endpoint that served.
    pub fn protocol(&self) -> EndpointKind {
        self.protocol
    }

    /// Every attempt, in order; the last one served.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The serving answer's request id and rate-limit headers.
    pub fn upstream_headers(&self) -> &HeaderMap {
        &self.upstream_headers
    }
}

/// One embeddings attempt.
struct Embed {
    /// Shared with the attempts in flight, which read the answer against it.
    request: Arc<EmbeddingRequest>,
}

impl Embed {
    /// The request for `target` (the model named as the target names it,
    /// without any `@endpoint`).
    fn request_for(
        &mut self,
        target: &TargetId,
        key: Option<&ApiKey>,
    ) -> Result<http::Request<Bytes>, TransportError> {
        if *self.request.model != *target.model {
            let request = Arc::make_mut(&mut self.request);
            request.model.clear();
            request.model.push_str(&target.model);
        }
        target.wire.embeddings_request(key, &self.request)
    }

    fn start<'a>(
        &mut self,
        inner: &'a Inner,
        ctx: AttemptCtx,
    ) -> Launched<'a, (EmbeddingResponse, HeaderMap)> {
        let request = self
            .request_for(&ctx.target, ctx.api_key())
            .map_err(|e| body_failure(inner, &ctx.target, BodyError::Target(e)));
        let asked = Arc::clone(&self.request);
        Box::pin(async move {
            let (parts, body) = send_whole(inner, &ctx, request?).await?;
            let (target, headers) = (&ctx.target, &parts.headers);
            match target.wire.parse_embeddings(&body, &asked) {
                // One vector per input, each at its own index: a short or
                // misnumbered answer would pair vectors with the wrong texts.
                Ok(e)
                    if e.data.len() == asked.inputs()
                        && e.data.iter().all(|d| (d.index as usize) < asked.inputs()) =>
                {
                    Ok((e, upstream(headers)))
                }
                Ok(e) => {
                    let reason =
                        format!("{} embeddings for {} inputs", e.data.len(), asked.inputs());
                    Err(malformed(inner, target, headers, &body, &reason))
                }
                Err(e) => {
                    let reason = format!("the embeddings are not valid JSON: {e}");
                    Err(malformed(inner, target, headers, &body, &reason))
                }
            }
        })
    }
}

impl Attempter for Embed {
    type Output = (EmbeddingResponse, HeaderMap);

    fn refusal(&mut self, inner: &Inner, target: &TargetId) -> Option<Diagnosis> {
        let error = self.request_for(target, None).err()?;
        refusal(inner, target, &BodyError::Target(error))
    }

    async fn attempt(
        &mut self,
        inner: &Inner,
        ctx: &AttemptCtx,
    ) -> Result<Self::Output, AttemptError> {
        self.start(inner, ctx.clone()).await
    }

    fn launch<'a>(
        &mut self,
        inner: &'a Inner,
        ctx: AttemptCtx,
    ) -> Option<(HedgeKind, Launched<'a, Self::Output>)> {
        Some((HedgeKind::Completion, self.start(inner, ctx)))
    }
}

async fn create(inner: &Inner, request: EmbeddingRequest) -> Result<EmbeddingsResponse, Error> {
    let chain = inner
        .registry
        .same_model_chain(&request.model)
        .map_err(Error::config)?;
    let mut call = CallState::new(chain, inner.settings.deadline, 0);
    let mut embed = Embed {
        request: Arc::new(request),
    };
    let ((embeddings, upstream_headers), lease) =
        cascade::run(inner, &mut call, &mut embed).await?;
    let target = lease.target.clone();
    let now = lease.ended;
    lease.succeed(inner, &mut call, now);
    Ok(EmbeddingsResponse {
        embeddings,
        served_by: Arc::clone(&target.model),
        endpoint: Arc::clone(&target.endpoint.name),
        protocol: target.endpoint.protocol(),
        attempts: call.attempts,
        upstream_headers,
    })
}
