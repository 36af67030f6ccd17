//! A scripted [`Transport`] for unit tests of code above the transport.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use serde_json::{Value, json};

use crate::body::{BoxFuture, ResponseBody};
use crate::error::{TransportError, TransportErrorKind};
use crate::transport::{RequestOptions, Transport};
use crate::wire::ChatCompletionRequest;

/// One scripted answer of a [`MockTransport`]: a response (whole, streamed,
/// or fed by hand) or an error.
#[derive(Debug)]
pub struct MockReply(Result<Response<ResponseBody>, TransportError>);

impl MockReply {
    /// A response with any body, e.g. one from [`ResponseBody::channel`].
    #[must_use]
    pub fn response(response: Response<ResponseBody>) -> Self {
        Self(Ok(response))
    }

    /// A response with `status` and a whole `body`.
    pub fn status(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Self::response(with_status(status, ResponseBody::full(body)))
    }

    /// A JSON response.
    #[must_use]
    pub fn json(status: StatusCode, body: &Value) -> Self {
        Self::status(status, body.to_string()).header(CONTENT_TYPE, "application/json")
    }

    /// A `200` chat completion from `model` answering `text`, with usage.
    #[must_use]
    pub fn chat(model: &str, text: &str) -> Self {
        Self::json(
            StatusCode::OK,
            &json!({
                "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            }),
        )
    }

    /// A `200` event stream: one chunk per piece of `pieces`, then a chunk
    /// with `finish_reason: stop`, then `[DONE]`.
    #[must_use]
    pub fn chat_stream(model: &str, pieces: &[&str]) -> Self {
        let mut events: Vec<String> = pieces
            .iter()
            .map(|p| {
                json!({"model": model, "choices": [{"index": 0, "delta": {"content": p}}]})
                    .to_string()
            })
            .collect();
        events.push(json!({"model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).to_string());
        events.push("[DONE]".to_owned());
        Self::sse(events.iter().map(|e| Ok(e.as_str())))
    }

    /// A `200` event stream with one `data:` event per `Ok` item; an `Err`
    /// item cuts the stream there (include `"[DONE]"` to end it properly).
    pub fn sse<'a>(events: impl IntoIterator<Item = Result<&'a str, TransportError>>) -> Self {
        let chunks = events
            .into_iter()
            .map(|e| e.map(|data| Bytes::from(format!("data: {data}\n\n"))));
        Self::stream(StatusCode::OK, chunks).header(CONTENT_TYPE, "text/event-stream")
    }

    /// A response whose body yields `chunks` in order (an `Err` cuts it).
    pub fn stream(
        status: StatusCode,
        chunks: impl IntoIterator<Item = Result<Bytes, TransportError>>,
    ) -> Self {
        Self::response(with_status(status, ResponseBody::from_chunks(chunks)))
    }

    /// A transport error instead of a response.
    #[must_use]
    pub fn error(error: TransportError) -> Self {
        Self(Err(error))
    }

    /// Adds a response header (no effect on an error).
    #[must_use]
    pub fn header(mut self, name: http::header::HeaderName, value: &'static str) -> Self {
        if let Ok(response) = &mut self.0 {
            response
                .headers_mut()
                .append(name, HeaderValue::from_static(value));
        }
        self
    }
}

fn with_status(status: StatusCode, body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// A request a [`MockTransport`] received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The URI.
    pub uri: Uri,
    /// The headers (key headers built by [`Endpoint`](crate::Endpoint) are
    /// marked sensitive, so `Debug` hides them).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The options it was sent with.
    pub options: RequestOptions,
}

impl RecordedRequest {
    /// The body parsed as a chat-completion request.
    pub fn chat_request(&self) -> Result<ChatCompletionRequest, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

type Responder = Box<dyn FnMut(&RecordedRequest) -> MockReply + Send>;

struct State {
    queue: VecDeque<MockReply>,
    responder: Option<Responder>,
    requests: Vec<RecordedRequest>,
}

/// A [`Transport`] that answers from a script and records what it was sent.
///
/// Replies are taken from a queue in order ([`push`](Self::push)); when the
/// queue is empty, the responder closure answers
/// ([`from_fn`](Self::from_fn)); with neither, the call fails with a
/// [`TransportErrorKind::Other`] error. Clones share the script and the
/// record, so a test keeps one clone and gives the other to the code under
/// test. Body caps in the request options are applied as a real transport
/// would; deadlines are recorded but not enforced (the mock has no clock):
/// script a [`TransportError::timeout`], as the reply or as the error that
/// ends a streamed body, to test one. No runtime is needed.
///
/// ```
/// use http::StatusCode;
/// use nb_transport::{Endpoint, MockReply, MockTransport, RequestOptions, Transport, ChatCompletionRequest};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = MockTransport::new();
/// mock.push(MockReply::status(StatusCode::TOO_MANY_REQUESTS, r#"{"error":{"type":"rate_limit"}}"#))
///     .push(MockReply::chat("gpt-4o-mini", "Hello!"));
///
/// let endpoint = Endpoint::openai_compatible("http://mock/v1")?;
/// let request = ChatCompletionRequest::new("gpt-4o-mini").user_message("Hi");
/// let first = mock.send(endpoint.chat_request(None, &request)?, RequestOptions::default()).await?;
/// assert_eq!(first.status(), 429);
/// let second = mock.send(endpoint.chat_request(None, &request)?, RequestOptions::default()).await?;
/// assert_eq!(second.status(), 200);
///
/// assert_eq!(mock.calls(), 2);
/// assert_eq!(mock.requests()[1].chat_request()?.model, "gpt-4o-mini");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockTransport {
    state: Arc<Mutex<State>>,
}

impl MockTransport {
    /// A mock with an empty script.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                queue: VecDeque::new(),
                responder: None,
                requests: Vec::new(),
            })),
        }
    }

    /// A mock that answers every call with `responder` (after any queued replies).
    pub fn from_fn<F>(responder: F) -> Self
    where
        F: FnMut(&RecordedRequest) -> MockReply + Send + 'static,
    {
        let mock = Self::new();
        mock.lock().responder = Some(Box::new(responder));
        mock
    }

    /// Queues a reply for the next call.
    pub fn push(&self, reply: MockReply) -> &Self {
        self.lock().queue.push_back(reply);
        self
    }

    /// Every request received so far, in order.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many calls were made.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.lock().requests.len()
    }

    /// How many queued replies are left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.lock().queue.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock (the responder is user code,
        // but a panic there fails the test anyway); the state stays usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn answer(
        &self,
        request: Request<Bytes>,
        options: RequestOptions,
    ) -> Result<Response<ResponseBody>, TransportError> {
        let (parts, body) = request.into_parts();
        let recorded = RecordedRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
            options,
        };
        let mut state = self.lock();
        let reply = match state.queue.pop_front() {
            Some(reply) => Some(reply),
            None => state.responder.as_mut().map(|respond| respond(&recorded)),
        };
        state.requests.push(recorded);
        drop(state);
        match reply {
            Some(MockReply(result)) => result.map(|response| options.limit_response(response)),
            None => Err(TransportError::new(TransportErrorKind::Other)
                .with_detail("mock transport script exhausted")),
        }
    }
}

impl Default for MockTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MockTransport")
            .field("queued", &state.queue.len())
            .field("has_responder", &state.responder.is_some())
            .field("calls", &state.requests.len())
            .finish()
    }
}

impl Transport for MockTransport {
    fn send(
        &self,
        request: Request<Bytes>,
        options: RequestOptions,
    ) -> BoxFuture<'_, Result<Response<ResponseBody>, TransportError>> {
        let result = self.answer(request, options);
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;
    use crate::sse::{ChunkEvent, ChunkStream};
    use crate::{ApiKey, Endpoint, TimeoutPhase};

    fn post(mock: &MockTransport) -> Result<Response<ResponseBody>, TransportError> {
        let ep = Endpoint::openai_compatible("https://example.test/v1").unwrap();
        let req = ep
            .chat_request(
                Some(&ApiKey::new("sk-1")),
                &ChatCompletionRequest::new("m").user_message("q"),
            )
            .unwrap();
        block_on(mock.send(req, RequestOptions::default()))
    }

    #[test]
    fn queue_then_responder_then_exhausted() {
        let mock = MockTransport::from_fn(|req| {
            let model = req.chat_request().map(|r| r.model).unwrap_or_default();
            MockReply::chat(&model, "from fn")
        });
        mock.push(MockReply::error(TransportError::timeout(
            TimeoutPhase::FirstByte,
        )));
        assert_eq!(
            post(&mock).unwrap_err().timeout_phase(),
            Some(TimeoutPhase::FirstByte)
        );
        let body = block_on(post(&mock).unwrap().into_body().collect_capped(4096)).unwrap();
        let completion: crate::ChatCompletion = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (completion.model.as_str(), completion.text()),
            ("m", Some("from fn"))
        );

        let empty = MockTransport::new();
        assert_eq!(post(&empty).unwrap_err().kind(), TransportErrorKind::Other);
        assert_eq!(empty.calls(), 1, "failed calls are recorded too");
    }

    #[test]
    fn records_requests_and_hides_the_key() {
        let mock = MockTransport::new();
        let handle = mock.clone();
        mock.push(MockReply::chat("m", "a"));
        post(&mock).unwrap();
        let seen = handle.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, Method::POST);
        assert_eq!(seen[0].uri, "https://example.test/v1/chat/completions");
        assert_eq!(seen[0].headers["authorization"], "Bearer sk-1");
        assert!(!format!("{seen:?}").contains("sk-1"));
        assert_eq!(seen[0].options, RequestOptions::default());
        assert_eq!(handle.remaining(), 0);
    }

    #[test]
    fn streams_and_cuts() {
        let mock = MockTransport::new();
        mock.push(MockReply::chat_stream("m", &["He", "llo"]));
        mock.push(MockReply::sse([
            Ok(r#"{"choices":[{"delta":{"content":"x"}}]}"#),
            Err(TransportError::new(TransportErrorKind::StreamInterrupted)),
        ]));

        let mut stream = ChunkStream::new(post(&mock).unwrap().into_body());
        let mut text = String::new();
        while let Some(event) = block_on(stream.next()) {
            if let ChunkEvent::Chunk(c) = event.unwrap() {
                text.push_str(c.content().unwrap_or(""));
            }
        }
        assert_eq!(text, "Hello");
        assert!(stream.is_complete());

        let response = post(&mock).unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
        let mut stream = ChunkStream::new(response.into_body());
        assert!(block_on(stream.next()).unwrap().is_ok());
        assert!(
            block_on(stream.next())
                .unwrap()
                .unwrap_err()
                .is_interrupted()
        );
        assert!(!stream.is_complete());
    }

    #[test]
    fn error_body_cap_applies() {
        let mock = MockTransport::new();
        mock.push(MockReply::status(
            StatusCode::BAD_GATEWAY,
            vec![b'<'; 100 * 1024],
        ));
        let err =
            block_on(post(&mock).unwrap().into_body().collect_capped(usize::MAX)).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
    }
}
