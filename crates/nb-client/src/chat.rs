//! `chat().create()` and `chat().stream()`.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use nb_diagnose::Diagnosis;
use nb_transport::{ChatCompletion, EndpointKind};
use tracing::Instrument;

use crate::cache::{self, Cached};
use crate::cascade::{self, AttemptCtx, Attempter, CallState, Launched};
use crate::client::NeuralBridge;
use crate::degrade;
use crate::equivalence::{Constrained, constrain};
use crate::error::Error;
use crate::exchange::send_whole;
use crate::failure::{
    AttemptError, body_failure, malformed, refusal, schema_violation, transport_failure,
};
use crate::guard::Guard;
use crate::observe;
use crate::policy::Fallback;
use crate::request::{BodyError, ChatRequest, LastBody, cost, encode, format, serialize};
use crate::response::{ChatResponse, upstream};
use crate::shared::Inner;
use crate::stream::{self, ChatStream};
use crate::target::{HedgeKind, TargetId};

impl NeuralBridge {
    /// Chat completions: [`Chat::create`] and [`Chat::stream`].
    pub fn chat(&self) -> Chat<'_> {
        Chat::new(self)
    }
}

/// Chat completions through the cascade; from [`NeuralBridge::chat`].
#[derive(Debug, Clone)]
pub struct Chat<'a> {
    client: &'a NeuralBridge,
    fallback: Fallback,
}

impl<'a> Chat<'a> {
    pub(crate) fn new(client: &'a NeuralBridge) -> Self {
        Self {
            client,
            fallback: Fallback::Any,
        }
    }

    /// Holds the next call to `fallback`'s models: the cascade never serves
    /// it from another (see [`Fallback`]). Default: [`Fallback::Any`].
    ///
    /// ```no_run
    /// # async fn run(client: nb_client::NeuralBridge) -> Result<(), nb_client::Error> {
    /// use nb_client::ChatRequest;
    /// use nb_client::policy::Fallback;
    ///
    /// let exact = ChatRequest::new("gpt-4o").user_message("Refactor this function: ...");
    /// let response = client.chat().fallback(Fallback::SameModel).create(exact).await?;
    /// assert!(response.is_requested_model());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// Sends `request` (non-streamed) through the cascade: its model first,
    /// then the fallbacks, retrying and falling back per the policy table
    /// until a target serves it, under the client's deadline.
    ///
    /// `request.model` may be a model name, `model@endpoint` to pin an
    /// endpoint, or the name of a chain given to
    /// [`chain`](crate::NeuralBridgeBuilder::chain). `stream` is ignored (use
    /// [`stream`](Self::stream)).
    pub async fn create(&self, request: ChatRequest) -> Result<ChatResponse, Error> {
        crate::fleet::ensure_started(&self.client.inner);
        let span = observe::call_span(&request.model, false);
        let started = observe::call_started(&span);
        let result = create(&self.client.inner, request, &self.fallback)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(r) => observe::call_served(
                &span,
                started,
                (r.served_by(), r.endpoint()),
                r.attempts().len(),
                r.degradation(),
            ),
            Err(e) => observe::call_failed(&span, started, e),
        }
        result
    }

    /// Opens a stream through the cascade: failures before the first content
    /// (errors, a slow first token, a cut or stall) fail over transparently;
    /// returns once content is flowing. What happens after content depends
    /// on the [`StreamPolicy`](crate::policy::StreamPolicy).
    pub async fn stream(&self, request: ChatRequest) -> Result<ChatStream, Error> {
        crate::fleet::ensure_started(&self.client.inner);
        let span = observe::call_span(&request.model, true);
        let started = observe::call_started(&span);
        let result = stream::open(
            Arc::clone(&self.client.inner),
            request,
            &self.fallback,
            span.clone(),
        )
        .instrument(span.clone())
        .await;
        if let Err(e) = &result {
            observe::call_failed(&span, started, e);
        }
        result
    }
}

/// One non-streamed attempt.
struct Create {
    request: ChatRequest,
    body: LastBody,
    guard: Option<Guard>,
}

impl Create {
    /// The body for `target`: made once per model and format.
    fn body(&mut self, target: &TargetId) -> Result<Bytes, BodyError> {
        let request = &mut self.request;
        let wire = &target.wire;
        self.body
            .get_or_make(&target.model, false, format(wire), |hint| {
                encode(wire, request, &target.model, hint)
            })
    }
}

impl Create {
    /// One attempt, holding nothing of `self` once started.
    fn start<'a>(
        &mut self,
        inner: &'a Inner,
        ctx: AttemptCtx,
    ) -> Launched<'a, (ChatCompletion, HeaderMap)> {
        let target = ctx.target.clone();
        let request = self
            .body(&target)
            .map_err(|e| body_failure(inner, &target, e))
            .and_then(|body| {
                target
                    .wire
                    .native_request(ctx.api_key(), body, false)
                    .map_err(|e| transport_failure(inner, &target, &e))
            });
        let guard = self.guard.clone();
        Box::pin(async move {
            let (parts, body) = send_whole(inner, &ctx, request?).await?;
            validate(inner, guard.as_ref(), &ctx.target, &parts.headers, &body)
                .map(|completion| (completion, upstream(&parts.headers)))
        })
    }
}

impl Attempter for Create {
    type Output = (ChatCompletion, HeaderMap);

    fn refusal(&mut self, inner: &Inner, target: &TargetId) -> Option<Diagnosis> {
        let error = self.body(target).err()?;
        refusal(inner, target, &error)
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

/// Whether a 2xx body is an HTML page rather than JSON.
fn looks_like_html(headers: &HeaderMap, body: &[u8]) -> bool {
    let html_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("html"));
    html_type || body.trim_ascii_start().starts_with(b"<")
}

/// Parses and validates a 2xx body: broken JSON, an HTML page, no choices,
/// an answer off the request's schema, or the user's validator saying no
/// make it a malformed response.
fn validate(
    inner: &Inner,
    guard: Option<&Guard>,
    target: &crate::target::TargetId,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ChatCompletion, AttemptError> {
    let completion: ChatCompletion = match target.wire.parse_completion(body) {
        Ok(c) => c,
        Err(e) => {
            let reason = if looks_like_html(headers, body) {
                "an HTML page instead of a JSON completion".to_owned()
            } else {
                format!("the completion is not valid JSON: {e}")
            };
            return Err(malformed(inner, target, headers, body, &reason));
        }
    };
    if completion.choices.is_empty() {
        return Err(malformed(
            inner,
            target,
            headers,
            body,
            "the completion has no choices",
        ));
    }
    if let Some(guard) = guard
        && let Err(reason) = guard.check(&completion)
    {
        let diagnosis = schema_violation(inner, target, headers, body, &reason);
        return Err(AttemptError::diagnosed(diagnosis, false));
    }
    if let Some(validator) = &inner.validator
        && let Err(reason) = validator(&completion)
    {
        let reason = format!("the validator rejected the completion: {reason}");
        return Err(malformed(inner, target, headers, body, &reason));
    }
    Ok(completion)
}

async fn create(
    inner: &Inner,
    mut request: ChatRequest,
    fallback: &Fallback,
) -> Result<ChatResponse, Error> {
    let Constrained {
        chain,
        allowed,
        requested,
    } = constrain(inner, &request.model, fallback)?;
    request.stream = None;
    request.stream_options = None;
    let cost = cost(&chain, &request);
    let mut call = CallState::new(chain, inner.settings.deadline, cost).allow_only(allowed.clone());
    let guard = Guard::for_request(inner.settings.schema_guard, &request, &inner.schemas);
    let mut create = Create {
        request,
        body: LastBody::default(),
        guard,
    };
    // The degradation cache keys requests by their body as sent, before any
    // model is swapped in; that body is also the first attempt's when the
    // request names its model plainly.
    let cache_key = match inner.last_good {
        Some(_) => {
            let model: Arc<str> = create.request.model.as_str().into();
            let request = &mut create.request;
            let body =
                create
                    .body
                    .get_or_make(&model, false, EndpointKind::OpenAiCompatible, |hint| {
                        serialize(request, &model, hint)
                    })?;
            Some(cache::key(&body))
        }
        None => None,
    };
    match cascade::run(inner, &mut call, &mut create).await {
        Ok(((completion, upstream_headers), lease)) => {
            let target = lease.target.clone();
            let now = lease.ended;
            lease.succeed(inner, &mut call, now);
            if let (Some(cache), Some(key)) = (&inner.last_good, cache_key) {
                cache.store(
                    key,
                    Cached {
                        completion: completion.clone(),
                        served_by: Arc::clone(&target.model),
                        endpoint: Arc::clone(&target.endpoint.name),
                        protocol: target.endpoint.protocol(),
                        at: now,
                    },
                );
            }
            Ok(ChatResponse {
                completion,
                served_by: Arc::clone(&target.model),
                endpoint: Arc::clone(&target.endpoint.name),
                protocol: Some(target.endpoint.protocol()),
                attempts: call.attempts,
                degradation: None,
                upstream_headers,
                requested,
            })
        }
        Err(error) => {
            let allowed = degrade::Allowed {
                requested: &requested,
                models: allowed.as_deref(),
            };
            degrade::answer(inner, cache_key, error, &allowed)
        }
    }
}
