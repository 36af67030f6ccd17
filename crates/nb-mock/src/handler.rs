//! One request: route it, read it, decide, and answer (or misbehave).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER,
};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::json;

use crate::anthropic;
use crate::billing::{Ledger, Meter};
use crate::body::{Ending, MockBody};
use crate::embeddings;
use crate::fault::Fault;
use crate::gemini;
use crate::log::{Arrival, Credential, Shared};
use crate::openai::{Answer, ChatRequest, ErrorReply, StreamShape};
use crate::plan::{Decision, Plan};
use crate::scenario::ModelBehavior;
use crate::server::ConnControl;

/// The largest request body the server reads.
const MAX_BODY: usize = 8 * 1024 * 1024;

static FAULT_HEADER: HeaderName = HeaderName::from_static("x-nb-mock-fault");
static RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");

enum Route {
    Chat(Option<String>),
    /// Anthropic's Messages API.
    Messages,
    /// Gemini's `generateContent` (false) or `streamGenerateContent` (true) for a model.
    Gemini(String, bool),
    /// Embeddings: OpenAI's (the model in the body, or an Azure deployment's in the
    /// path), or Gemini's `batchEmbedContents` (true) for the model in the path.
    Embeddings(Option<String>, bool),
    Models,
    Unknown,
}

/// The protocol a chat request came in, and its answer goes out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    OpenAi,
    Anthropic,
    /// Gemini, with whether the method streams (its body does not say).
    Gemini(bool),
}

fn route(path: &str) -> Route {
    if let Some((model, method)) = gemini::route(path) {
        return match method {
            gemini::Method::Generate => Route::Gemini(model, false),
            gemini::Method::StreamGenerate => Route::Gemini(model, true),
            gemini::Method::BatchEmbed => Route::Embeddings(Some(model), true),
        };
    }
    if let Some(deployment) = path
        .strip_prefix("/openai/deployments/")
        .and_then(|rest| rest.strip_suffix("/embeddings"))
        .filter(|d| !d.is_empty() && !d.contains('/'))
    {
        return Route::Embeddings(Some(deployment.to_owned()), false);
    }
    match path {
        "/v1/chat/completions" | "/chat/completions" => Route::Chat(None),
        "/v1/embeddings" | "/embeddings" => Route::Embeddings(None, false),
        "/v1/messages" | "/messages" => Route::Messages,
        "/v1/models" | "/models" => Route::Models,
        _ => match path
            .strip_prefix("/openai/deployments/")
            .and_then(|rest| rest.strip_suffix("/chat/completions"))
        {
            Some(deployment) if !deployment.is_empty() && !deployment.contains('/') => {
                Route::Chat(Some(deployment.to_owned()))
            }
            _ => Route::Unknown,
        },
    }
}

pub(crate) async fn handle(
    shared: Arc<Shared>,
    control: Arc<ConnControl>,
    request: Request<Incoming>,
) -> Result<Response<MockBody>, Infallible> {
    let response = match (request.method(), route(request.uri().path())) {
        (&Method::POST, Route::Chat(deployment)) => {
            let watch = Abandoned {
                shared: &shared,
                answered: false,
            };
            let response = chat(&shared, control, request, deployment, Protocol::OpenAi).await;
            watch.answered();
            response
        }
        (&Method::POST, Route::Messages) => {
            let watch = Abandoned {
                shared: &shared,
                answered: false,
            };
            let response = chat(&shared, control, request, None, Protocol::Anthropic).await;
            watch.answered();
            response
        }
        (&Method::POST, Route::Gemini(model, stream)) => {
            let watch = Abandoned {
                shared: &shared,
                answered: false,
            };
            let response = chat(
                &shared,
                control,
                request,
                Some(model),
                Protocol::Gemini(stream),
            )
            .await;
            watch.answered();
            response
        }
        (&Method::POST, Route::Embeddings(model, gemini)) => {
            let watch = Abandoned {
                shared: &shared,
                answered: false,
            };
            let response = embeddings(&shared, control, request, model, gemini).await;
            watch.answered();
            response
        }
        (&Method::GET, Route::Models) => models(&shared.plan()),
        (
            _,
            Route::Chat(_)
            | Route::Messages
            | Route::Gemini(..)
            | Route::Embeddings(..)
            | Route::Models,
        ) => error(ErrorReply::invalid_request(
            405,
            &format!(
                "Method {} is not allowed on {}.",
                request.method(),
                request.uri().path()
            ),
        )),
        (_, Route::Unknown) => error(ErrorReply::openai(
            404,
            &format!(
                "Unknown request URL: {} {}.",
                request.method(),
                request.uri().path()
            ),
            Some("invalid_request_error"),
            None,
            Some("unknown_url"),
        )),
    };
    Ok(response)
}

/// Counts a chat request whose handler is dropped before it answers: hyper
/// drops it when the client closes the connection.
struct Abandoned<'a> {
    shared: &'a Shared,
    answered: bool,
}

impl Abandoned<'_> {
    fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.shared.abandoned.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn chat(
    shared: &Shared,
    control: Arc<ConnControl>,
    request: Request<Incoming>,
    deployment: Option<String>,
    protocol: Protocol,
) -> Response<MockBody> {
    let (version, credential, body) = match read_request(request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    // Gemini's body is read as the OpenAI one it means; its model and streaming are in the path.
    let body = match (protocol, &deployment) {
        (Protocol::Gemini(stream), Some(model)) => match gemini::as_chat(&body, model, stream) {
            Ok(converted) => Bytes::from(converted),
            Err(cause) => {
                return error(ErrorReply::invalid_request(
                    400,
                    &format!("Invalid JSON payload received. {cause}"),
                ));
            }
        },
        _ => body,
    };
    let chat: ChatRequest<'_> = match serde_json::from_slice(&body) {
        Ok(chat) => chat,
        Err(cause) => {
            return error(ErrorReply::invalid_request(
                400,
                &format!("We could not parse the JSON body of your request: {cause}."),
            ));
        }
    };
    // Azure and Gemini route by the model in the path, whatever the body says.
    let model = match (&deployment, &chat.model) {
        (Some(deployment), _) => deployment.as_str(),
        (None, Some(model)) if !model.0.is_empty() => &*model.0,
        _ => {
            return error(ErrorReply::invalid_request(
                400,
                "You must provide a model parameter.",
            ));
        }
    };
    if chat.messages.is_empty() {
        return error(ErrorReply::invalid_request(
            400,
            "'messages' must contain at least one message.",
        ));
    }
    let (plan, decision) = shared.admit(Arrival {
        model,
        stream: chat.stream(),
        include_usage: chat.include_usage(),
        prefill: chat.prefill(),
        messages: chat.messages.len(),
        text: chat.last_user_text(),
        credential,
        version,
        connection: control.id,
    });
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let context = Context {
        control,
        http2: version == Version::HTTP_2,
        ledger: Arc::clone(&shared.ledger),
        protocol,
    };
    respond(&plan, decision, &chat, context).await
}

/// A request's HTTP version, credential and whole body, or the error answer when the body
/// is too large or cannot be read.
async fn read_request(
    request: Request<Incoming>,
) -> Result<(Version, Credential, Bytes), Response<MockBody>> {
    let version = request.version();
    let credential = Credential::from_headers(request.headers());
    match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok((version, credential, collected.to_bytes())),
        Err(cause) if cause.is::<LengthLimitError>() => Err(error(ErrorReply::invalid_request(
            413,
            &format!("The request body is larger than {MAX_BODY} bytes."),
        ))),
        Err(_) => Err(error(ErrorReply::invalid_request(
            400,
            "The request body could not be read.",
        ))),
    }
}

/// An embeddings request: deterministic vectors, or the fault its model's rules pick.
/// Faults that only make sense for a chat answer (a cut stream, a missing `[DONE]`) treat
/// the body as a whole answer: cut or stalled halfway, or served.
async fn embeddings(
    shared: &Shared,
    control: Arc<ConnControl>,
    request: Request<Incoming>,
    path_model: Option<String>,
    gemini_shape: bool,
) -> Response<MockBody> {
    let (version, credential, body) = match read_request(request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let (body_model, texts) = match embeddings::read(&body, gemini_shape) {
        Ok(read) => read,
        Err(cause) => {
            return error(ErrorReply::invalid_request(
                400,
                &format!("Invalid embeddings request: {cause}."),
            ));
        }
    };
    let Some(model) = path_model.or(body_model).filter(|m| !m.is_empty()) else {
        return error(ErrorReply::invalid_request(
            400,
            "You must provide a model parameter.",
        ));
    };
    let (_plan, decision) = shared.admit(Arrival {
        model: &model,
        stream: false,
        include_usage: false,
        prefill: false,
        messages: texts.len(),
        text: &texts[0],
        credential,
        version,
        connection: control.id,
    });
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let protocol = if gemini_shape {
        Protocol::Gemini(false)
    } else {
        Protocol::OpenAi
    };
    let answer = Bytes::from(if gemini_shape {
        embeddings::gemini(&decision.name, &texts)
    } else {
        embeddings::openai(&decision.name, &texts)
    });
    let Some(fault) = decision.fault.clone() else {
        return json_response(StatusCode::OK, answer);
    };
    let http2 = version == Version::HTTP_2;
    let half = |ending| {
        let length = answer.len();
        let body = MockBody::frames(
            vec![answer.slice(..length / 2)],
            Duration::ZERO,
            Duration::ZERO,
            ending,
            Arc::clone(&control),
            http2,
        );
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        response
    };
    let mut response = match &fault {
        Fault::Hang => std::future::pending().await,
        Fault::ConnectionReset => {
            control.reset();
            std::future::pending().await
        }
        Fault::SlowFirstToken { delay, .. } => {
            tokio::time::sleep(*delay).await;
            json_response(StatusCode::OK, answer.clone())
        }
        Fault::LongAnswer { generation } => {
            tokio::time::sleep(*generation).await;
            json_response(StatusCode::OK, answer.clone())
        }
        Fault::StreamCut { .. } => half(Ending::Cut),
        Fault::StreamStall { .. } => half(Ending::Stall),
        Fault::MalformedChunk { .. } | Fault::TruncatedJson => {
            json_response(StatusCode::OK, answer.slice(..answer.len() / 2))
        }
        Fault::NoDone { .. } | Fault::RejectPrefill => {
            json_response(StatusCode::OK, answer.clone())
        }
        Fault::Custom {
            status,
            body,
            content_type,
            headers,
        } => custom(*status, body, content_type.as_deref(), headers),
        Fault::StreamError { .. } => error(error_reply(protocol, &overload(protocol), &model)),
        other => error(error_reply(protocol, other, &decision.name)),
    };
    fault_headers(&mut response, &fault);
    response
}

/// Where an answer goes: its connection, the ledger that bills it, its protocol.
struct Context {
    control: Arc<ConnControl>,
    http2: bool,
    ledger: Arc<Ledger>,
    protocol: Protocol,
}

/// Everything the answer needs, gathered once.
struct Reply<'a> {
    answer: Answer<'a>,
    stream: bool,
    include_usage: bool,
    interval: Duration,
    control: Arc<ConnControl>,
    http2: bool,
    ledger: Arc<Ledger>,
    /// The bill of a non-streamed answer, running while the model writes it.
    meter: Option<Meter>,
    protocol: Protocol,
}

impl Reply<'_> {
    /// A 200 answer: whole, or a stream of `shape` that ends with `ending`, after `first_delay`.
    fn answer(
        &mut self,
        shape: StreamShape,
        first_delay: Duration,
        ending: Ending,
    ) -> Response<MockBody> {
        if self.stream {
            let mut events = match self.protocol {
                Protocol::OpenAi => self.answer.events(self.include_usage, shape),
                Protocol::Anthropic => anthropic::events(&self.answer, shape),
                Protocol::Gemini(_) => gemini::events(&self.answer, shape),
            };
            if shape.error {
                events.push(Bytes::from_static(match self.protocol {
                    Protocol::OpenAi => crate::openai::STREAM_ERROR_EVENT,
                    Protocol::Anthropic => anthropic::STREAM_ERROR_EVENT,
                    Protocol::Gemini(_) => gemini::STREAM_ERROR_EVENT,
                }));
            }
            // Billed by the content chunks of the whole answer that go out (the frames after
            // them, finish and `[DONE]`, only add up to the whole).
            let meter = Meter::stream(
                Arc::clone(&self.ledger),
                Arc::from(self.answer.model),
                self.answer.tokens(),
                self.answer.chunks as usize,
            );
            let body = MockBody::frames(
                events,
                first_delay,
                self.interval,
                ending,
                Arc::clone(&self.control),
                self.http2,
            )
            .metered(Some(meter));
            let mut response = Response::new(body);
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            return response;
        }
        let completion = Bytes::from(match self.protocol {
            Protocol::OpenAi => self.answer.completion(),
            Protocol::Anthropic => anthropic::message(&self.answer),
            Protocol::Gemini(_) => gemini::message(&self.answer),
        });
        let meter = self.meter.take().or_else(|| self.whole_meter());
        if first_delay.is_zero() && ending == Ending::Complete {
            return json_response(StatusCode::OK, completion).map(|body| body.metered(meter));
        }
        // Sent after a delay, or only its first half: the head announces the full length.
        let length = completion.len();
        let sent = if ending == Ending::Complete {
            completion
        } else {
            completion.slice(..length / 2)
        };
        let body = MockBody::frames(
            vec![sent],
            first_delay,
            Duration::ZERO,
            ending,
            Arc::clone(&self.control),
            self.http2,
        )
        .metered(meter);
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        response
    }

    fn whole_meter(&self) -> Option<Meter> {
        Some(Meter::whole(
            Arc::clone(&self.ledger),
            Arc::from(self.answer.model),
            self.answer.tokens(),
        ))
    }

    fn truncated_json(&self) -> Response<MockBody> {
        let completion = Bytes::from(self.answer.completion());
        json_response(StatusCode::OK, completion.slice(..completion.len() / 2))
    }
}

async fn respond(
    plan: &Plan,
    mut decision: Decision,
    chat: &ChatRequest<'_>,
    context: Context,
) -> Response<MockBody> {
    let behavior = decision.model.and_then(|index| plan.behavior(index));
    let mut fault = decision.fault.take();
    if let Some(Fault::LongAnswer { generation }) = fault {
        // Not a failure: a normal answer that takes this long to write.
        decision.generation = generation;
        fault = None;
    }
    let mut reply = reply(&decision, behavior, chat, context);
    let Some(fault) = fault else {
        // A stream paces its events by the generation time instead (see `reply`).
        if !reply.stream && !decision.generation.is_zero() {
            // Billed from here: a client that leaves while the model writes still pays.
            reply.meter = reply.whole_meter();
            tokio::time::sleep(decision.generation).await;
        }
        return reply.answer(StreamShape::COMPLETE, Duration::ZERO, Ending::Complete);
    };
    let mut response = match &fault {
        Fault::Hang => std::future::pending().await,
        Fault::ConnectionReset => {
            reply.control.reset();
            std::future::pending().await
        }
        Fault::SlowFirstToken {
            delay,
            before_headers: true,
        } => {
            tokio::time::sleep(*delay).await;
            reply.answer(StreamShape::COMPLETE, Duration::ZERO, Ending::Complete)
        }
        Fault::SlowFirstToken { delay, .. } => {
            reply.answer(StreamShape::COMPLETE, *delay, Ending::Complete)
        }
        Fault::StreamCut { after_chunks } => reply.answer(
            StreamShape::truncated(*after_chunks),
            Duration::ZERO,
            Ending::Cut,
        ),
        Fault::StreamStall { after_chunks } => reply.answer(
            StreamShape::truncated(*after_chunks),
            Duration::ZERO,
            Ending::Stall,
        ),
        Fault::MalformedChunk { after_chunks } if reply.stream => {
            let shape = StreamShape {
                malformed_at: Some(*after_chunks as usize),
                ..StreamShape::COMPLETE
            };
            reply.answer(shape, Duration::ZERO, Ending::Complete)
        }
        Fault::MalformedChunk { .. } | Fault::TruncatedJson => reply.truncated_json(),
        Fault::StreamError { after_chunks } if reply.stream => {
            let shape = StreamShape {
                error: true,
                ..StreamShape::truncated(*after_chunks)
            };
            reply.answer(shape, Duration::ZERO, Ending::Complete)
        }
        Fault::StreamError { .. } => error(error_reply(
            reply.protocol,
            &overload(reply.protocol),
            &decision.name,
        )),
        Fault::NoDone { finish_reason } => {
            let shape = StreamShape {
                finish: *finish_reason,
                done: false,
                ..StreamShape::COMPLETE
            };
            reply.answer(shape, Duration::ZERO, Ending::Complete)
        }
        Fault::Custom {
            status,
            body,
            content_type,
            headers,
        } => custom(*status, body, content_type.as_deref(), headers),
        // Every other fault is a plain error response.
        other => error(error_reply(reply.protocol, other, &decision.name)),
    };
    fault_headers(&mut response, &fault);
    response
}

/// The headers a fault's response carries: its waits, and which fault it was.
fn fault_headers(response: &mut Response<MockBody>, fault: &Fault) {
    let headers = response.headers_mut();
    match fault {
        Fault::RateLimit {
            retry_after_s,
            retry_after_ms,
        } => {
            if let Some(seconds) = retry_after_s {
                headers.insert(RETRY_AFTER, HeaderValue::from(*seconds));
            }
            if let Some(ms) = retry_after_ms {
                headers.insert(RETRY_AFTER_MS.clone(), HeaderValue::from(*ms));
            }
        }
        Fault::ServiceUnavailable {
            retry_after_s: Some(seconds),
        } => {
            headers.insert(RETRY_AFTER, HeaderValue::from(*seconds));
        }
        _ => {}
    }
    headers.insert(FAULT_HEADER.clone(), HeaderValue::from_static(fault.name()));
}

/// The overload `protocol` answers with when there is no stream to carry an in-band error.
fn overload(protocol: Protocol) -> Fault {
    match protocol {
        Protocol::OpenAi => Fault::ServiceUnavailable {
            retry_after_s: None,
        },
        Protocol::Anthropic | Protocol::Gemini(_) => Fault::Overloaded,
    }
}

/// A plain error fault as `protocol`'s error response.
fn error_reply(protocol: Protocol, fault: &Fault, model: &str) -> ErrorReply {
    match protocol {
        Protocol::OpenAi => ErrorReply::for_fault(fault, model),
        Protocol::Anthropic => anthropic::error_for_fault(fault, model),
        Protocol::Gemini(_) => gemini::error_for_fault(fault, model),
    }
    .unwrap_or_else(|| {
        ErrorReply::openai(
            500,
            "nb-mock has no response for this fault",
            None,
            None,
            None,
        )
    })
}

fn reply<'a>(
    decision: &'a Decision,
    behavior: Option<&ModelBehavior>,
    chat: &ChatRequest<'_>,
    context: Context,
) -> Reply<'a> {
    let chunks = behavior.map_or(4, |model| model.chunk_count());
    let fixed = behavior.and_then(|model| model.fixed_reply());
    Reply {
        answer: Answer::new(&decision.name, decision.attempt, fixed, chunks, chat),
        stream: chat.stream(),
        include_usage: chat.include_usage(),
        interval: behavior.map_or(Duration::ZERO, |model| model.interval())
            + decision.generation / chunks.max(1),
        control: context.control,
        http2: context.http2,
        ledger: context.ledger,
        meter: None,
        protocol: context.protocol,
    }
}

fn custom(
    status: u16,
    body: &str,
    content_type: Option<&str>,
    headers: &std::collections::BTreeMap<String, String>,
) -> Response<MockBody> {
    let mut response = Response::new(MockBody::full(body.to_owned()));
    // Validation keeps the status between 200 and 599.
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    let content_type = content_type.or((!body.is_empty()).then_some("application/json"));
    if let Some(value) = content_type.and_then(|value| HeaderValue::from_str(value).ok()) {
        map.insert(CONTENT_TYPE, value);
    }
    for (name, value) in headers {
        // Validation checked names and values; a bad one is skipped rather than trusted.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(name, value);
        }
    }
    response
}

fn models(plan: &Plan) -> Response<MockBody> {
    let data: Vec<serde_json::Value> = plan
        .scenario
        .models()
        .iter()
        .map(|model| json!({ "id": model.name(), "object": "model", "created": 0, "owned_by": "nb-mock" }))
        .collect();
    let body = json!({ "object": "list", "data": data });
    json_response(StatusCode::OK, Bytes::from(body.to_string()))
}

fn error(reply: ErrorReply) -> Response<MockBody> {
    let mut response = Response::new(MockBody::full(reply.body));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    response
}

fn json_response(status: StatusCode, body: Bytes) -> Response<MockBody> {
    let mut response = Response::new(MockBody::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert!(matches!(route("/v1/chat/completions"), Route::Chat(None)));
        assert!(matches!(route("/chat/completions"), Route::Chat(None)));
        assert!(matches!(
            route("/openai/deployments/gpt-4o/chat/completions"),
            Route::Chat(Some(d)) if d == "gpt-4o"
        ));
        assert!(matches!(
            route("/openai/deployments//chat/completions"),
            Route::Unknown
        ));
        assert!(matches!(route("/v1/models"), Route::Models));
        assert!(matches!(
            route("/v1/embeddings"),
            Route::Embeddings(None, false)
        ));
        assert!(matches!(
            route("/openai/deployments/emb/embeddings"),
            Route::Embeddings(Some(d), false) if d == "emb"
        ));
        assert!(matches!(
            route("/v1beta/models/text-embedding-004:batchEmbedContents"),
            Route::Embeddings(Some(m), true) if m == "text-embedding-004"
        ));
        assert!(matches!(route("/v1/completions"), Route::Unknown));
        assert!(matches!(
            route("/v1beta/models/gemini-2.0-flash:generateContent"),
            Route::Gemini(m, false) if m == "gemini-2.0-flash"
        ));
        assert!(matches!(
            route("/v1beta/models/gemini-2.0-flash:streamGenerateContent"),
            Route::Gemini(m, true) if m == "gemini-2.0-flash"
        ));
        assert!(matches!(
            route("/v1beta/models/gemini-2.0-flash:countTokens"),
            Route::Unknown
        ));
        assert!(matches!(
            route("/v1beta/models/:generateContent"),
            Route::Unknown
        ));
    }
}
