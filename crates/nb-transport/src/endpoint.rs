//! Endpoint shapes (OpenAI-compatible and Azure OpenAI) and the redacting API key.

use std::fmt;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};

use crate::error::{TransportError, TransportErrorKind};
use crate::sse::ChunkStreamDecoder;
use crate::wire::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::wire::{ChatCompletion, ChatCompletionRequest};

/// An API key. `Debug` and `Display` print `[redacted]`; the key is only
/// reachable through [`ApiKey::expose`], and the request builders mark the
/// header that carries it as sensitive.
///
/// ```
/// use nb_transport::ApiKey;
///
/// let key = ApiKey::new("sk-live-123");
/// assert_eq!(format!("{key} {key:?}"), "[redacted] ApiKey([redacted])");
/// assert_eq!(key.expose(), "sk-live-123");
/// ```
#[derive(Clone)]
pub struct ApiKey(Box<str>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into().into_boxed_str())
    }

    /// The key itself. The name makes every use visible in review.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn header_value(&self, prefix: &str) -> Result<HeaderValue, TransportError> {
        let mut bytes = Vec::with_capacity(prefix.len() + self.0.len());
        bytes.extend_from_slice(prefix.as_bytes());
        bytes.extend_from_slice(self.0.as_bytes());
        // The error from `from_bytes` carries no part of the value.
        let mut value = HeaderValue::from_maybe_shared(Bytes::from(bytes)).map_err(|_| {
            TransportError::new(TransportErrorKind::InvalidRequest)
                .with_detail("the API key contains characters not allowed in a header")
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        Self::new(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        Self::new(key)
    }
}

/// The shape of an endpoint: how its URL is built and how the key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointKind {
    /// `{base}/chat/completions` with `Authorization: Bearer {key}`.
    OpenAiCompatible,
    /// `{base}/openai/deployments/{deployment}/chat/completions?api-version={v}`
    /// with `api-key: {key}`.
    Azure,
    /// Anthropic's Messages API: `{base}/messages` with `x-api-key: {key}` and
    /// `anthropic-version`; [`Endpoint::chat_request`] translates the request
    /// ([`wire::anthropic`](crate::wire::anthropic)).
    Anthropic,
    /// Google's Gemini API: `{base}/models/{model}:generateContent` (and
    /// `:streamGenerateContent?alt=sse` for a stream) with `x-goog-api-key`;
    /// the request is translated ([`wire::gemini`](crate::wire::gemini)).
    Gemini,
}

/// Why an [`Endpoint`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The base URL is not an absolute `http` or `https` URL without query or fragment.
    #[error("invalid base URL: {reason}")]
    InvalidBaseUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A path or query component (Azure deployment or api-version) is empty
    /// or holds characters other than letters, digits, `-`, `_` and `.`.
    #[error("invalid {what}: use letters, digits, '-', '_' and '.' only")]
    InvalidComponent {
        /// `"deployment"` or `"api-version"`.
        what: &'static str,
    },
    /// An extra header has an invalid name or value.
    #[error("invalid extra header")]
    InvalidHeader,
}

/// Where chat completions are sent and how a request to it is shaped.
///
/// The chat-completions URI is computed once, at construction, so building a
/// request costs a few reference-count bumps and one header per key.
///
/// ```
/// use nb_transport::{ApiKey, ChatCompletionRequest, Endpoint};
///
/// let openai = Endpoint::openai_compatible("https://api.openai.com/v1/")?;
/// assert_eq!(openai.chat_completions_uri(), "https://api.openai.com/v1/chat/completions");
///
/// let azure = Endpoint::azure("https://my-res.openai.azure.com", "gpt-4o-prod", "2024-10-21")?;
/// let req = ChatCompletionRequest::new("gpt-4o").user_message("Hello");
/// let http = azure.chat_request(Some(&ApiKey::new("k")), &req)?;
/// assert_eq!(
///     http.uri(),
///     "https://my-res.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
/// );
/// assert!(http.headers()["api-key"].is_sensitive());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Endpoint {
    kind: EndpointKind,
    base_url: Box<str>,
    chat_uri: Uri,
    /// Where a stream goes, when not to `chat_uri` (Gemini's).
    stream_uri: Option<Uri>,
    /// Where embeddings go; `None` for a protocol without them (Anthropic's).
    embeddings_uri: Option<Uri>,
    headers: HeaderMap,
}

impl Endpoint {
    /// An OpenAI-compatible endpoint: `base_url` is everything before
    /// `/chat/completions`, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:11434/v1`. A trailing `/` is ignored.
    pub fn openai_compatible(base_url: &str) -> Result<Self, EndpointError> {
        let base = normalize_base(base_url)?;
        let chat_uri = parse_uri(&format!("{base}/chat/completions"))?;
        Ok(Self {
            embeddings_uri: Some(parse_uri(&format!("{base}/embeddings"))?),
            ..Self::with_parts(EndpointKind::OpenAiCompatible, base, chat_uri)
        })
    }

    /// An Azure OpenAI deployment: `resource_url` is the resource's root,
    /// e.g. `https://my-resource.openai.azure.com`.
    pub fn azure(
        resource_url: &str,
        deployment: &str,
        api_version: &str,
    ) -> Result<Self, EndpointError> {
        let base = normalize_base(resource_url)?;
        check_component(deployment, "deployment")?;
        check_component(api_version, "api-version")?;
        let chat_uri = parse_uri(&format!(
            "{base}/openai/deployments/{deployment}/chat/completions?api-version={api_version}"
        ))?;
        let embeddings_uri = parse_uri(&format!(
            "{base}/openai/deployments/{deployment}/embeddings?api-version={api_version}"
        ))?;
        Ok(Self {
            embeddings_uri: Some(embeddings_uri),
            ..Self::with_parts(EndpointKind::Azure, base, chat_uri)
        })
    }

    /// Anthropic's Messages API: `base_url` is everything before `/messages`,
    /// e.g. `https://api.anthropic.com/v1`.
    pub fn anthropic(base_url: &str) -> Result<Self, EndpointError> {
        let base = normalize_base(base_url)?;
        let chat_uri = parse_uri(&format!("{base}/messages"))?;
        Ok(Self::with_parts(EndpointKind::Anthropic, base, chat_uri))
    }

    /// One model of Google's Gemini API: `base_url` is everything before
    /// `/models`, e.g. `https://generativelanguage.googleapis.com/v1beta`.
    pub fn gemini(base_url: &str, model: &str) -> Result<Self, EndpointError> {
        let base = normalize_base(base_url)?;
        check_component(model, "model")?;
        let chat_uri = parse_uri(&format!("{base}/models/{model}:generateContent"))?;
        let stream_uri = parse_uri(&format!(
            "{base}/models/{model}:streamGenerateContent?alt=sse"
        ))?;
        let embeddings_uri = parse_uri(&format!("{base}/models/{model}:batchEmbedContents"))?;
        Ok(Self {
            stream_uri: Some(stream_uri),
            embeddings_uri: Some(embeddings_uri),
            ..Self::with_parts(EndpointKind::Gemini, base, chat_uri)
        })
    }

    fn with_parts(kind: EndpointKind, base: &str, chat_uri: Uri) -> Self {
        Self {
            kind,
            base_url: base.into(),
            chat_uri,
            stream_uri: None,
            embeddings_uri: None,
            headers: HeaderMap::new(),
        }
    }

    /// Adds a header sent with every request (e.g. `OpenAI-Organization`,
    /// OpenRouter's `HTTP-Referer`). A header whose name looks like it
    /// carries a credential (it contains `auth`, `key`, `token`, `secret`,
    /// `cookie`, `password`, `signature` or `credential`, as `x-api-key`
    /// does) is marked sensitive, so `Debug` never prints it; use
    /// [`with_secret_header`](Self::with_secret_header) for any other secret.
    pub fn with_header(self, name: &str, value: &str) -> Result<Self, EndpointError> {
        let sensitive = looks_secret(name);
        self.push_header(name, value, sensitive)
    }

    /// Adds a header whose value is a secret (e.g. a gateway's own key),
    /// marked sensitive so `Debug` never prints it.
    pub fn with_secret_header(self, name: &str, value: &ApiKey) -> Result<Self, EndpointError> {
        self.push_header(name, value.expose(), true)
    }

    fn push_header(
        mut self,
        name: &str,
        value: &str,
        sensitive: bool,
    ) -> Result<Self, EndpointError> {
        let name = HeaderName::try_from(name).map_err(|_| EndpointError::InvalidHeader)?;
        let mut value = HeaderValue::from_str(value).map_err(|_| EndpointError::InvalidHeader)?;
        value.set_sensitive(sensitive);
        self.headers.append(name, value);
        Ok(self)
    }

    /// The endpoint's shape.
    #[must_use]
    pub const fn kind(&self) -> EndpointKind {
        self.kind
    }

    /// The base URL as given, without a trailing `/`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The full chat-completions URI.
    #[must_use]
    pub const fn chat_completions_uri(&self) -> &Uri {
        &self.chat_uri
    }

    /// Builds the `POST` for a chat completion whose JSON `body` is already
    /// serialized (an OpenAI chat request; for an Anthropic endpoint it is
    /// translated, and what Anthropic cannot honour is an `InvalidRequest`
    /// error whose source says which field). `key` is `None` for servers that
    /// need none (a local model).
    /// `stream` sets `Accept: text/event-stream` instead of `application/json`.
    pub fn build_request(
        &self,
        key: Option<&ApiKey>,
        body: Bytes,
        stream: bool,
    ) -> Result<Request<Bytes>, TransportError> {
        let body = if self.translates() {
            let request: ChatCompletionRequest = serde_json::from_slice(&body).map_err(|e| {
                invalid_request("the request body is not a chat request").with_source(e)
            })?;
            self.body(&request)?
        } else {
            body
        };
        self.native_request(key, body, stream)
    }

    /// Whether this endpoint's bodies are not OpenAI's (Anthropic, Gemini):
    /// [`Endpoint::body`] translates them.
    #[must_use]
    pub fn translates(&self) -> bool {
        matches!(self.kind, EndpointKind::Anthropic | EndpointKind::Gemini)
    }

    /// The JSON body this endpoint takes for `request`: the request itself
    /// for an OpenAI-compatible or Azure endpoint, its translation for an
    /// Anthropic or Gemini one (what that protocol cannot honour is an
    /// `InvalidRequest` error whose source says which field).
    pub fn body(&self, request: &ChatCompletionRequest) -> Result<Bytes, TransportError> {
        let value = match self.kind {
            EndpointKind::Anthropic => crate::wire::anthropic::to_messages_request(request)
                .map_err(|e| {
                    invalid_request("the request cannot be sent to Anthropic").with_source(e)
                })?,
            EndpointKind::Gemini => {
                crate::wire::gemini::to_generate_request(request).map_err(|e| {
                    invalid_request("the request cannot be sent to Gemini").with_source(e)
                })?
            }
            _ => {
                return serde_json::to_vec(request).map(Bytes::from).map_err(|e| {
                    invalid_request("the request body cannot be serialized").with_source(e)
                });
            }
        };
        serde_json::to_vec(&value)
            .map(Bytes::from)
            .map_err(|e| invalid_request("the request body cannot be serialized").with_source(e))
    }

    /// Builds the `POST` for a body already in this endpoint's own format
    /// (from [`Endpoint::body`]); `stream` picks the stream URL where the
    /// protocol has one and `Accept: text/event-stream`.
    pub fn native_request(
        &self,
        key: Option<&ApiKey>,
        body: Bytes,
        stream: bool,
    ) -> Result<Request<Bytes>, TransportError> {
        let uri = match (&self.stream_uri, stream) {
            (Some(uri), true) => uri.clone(),
            _ => self.chat_uri.clone(),
        };
        self.post(uri, key, body, stream)
    }

    /// Builds the `POST` of an embeddings request (`{base}/embeddings`, an
    /// Azure deployment's, or Gemini's `batchEmbedContents`, translated).
    /// Anthropic has no embeddings API: an `InvalidRequest` error.
    pub fn embeddings_request(
        &self,
        key: Option<&ApiKey>,
        request: &EmbeddingRequest,
    ) -> Result<Request<Bytes>, TransportError> {
        let Some(uri) = &self.embeddings_uri else {
            return Err(invalid_request(
                "this endpoint's protocol has no embeddings API",
            ));
        };
        let body = if self.kind == EndpointKind::Gemini {
            let value = crate::wire::embeddings::to_gemini_batch(request).map_err(|e| {
                invalid_request("the request cannot be sent to Gemini").with_source(e)
            })?;
            serde_json::to_vec(&value)
        } else {
            serde_json::to_vec(request)
        }
        .map_err(|e| invalid_request("the request body cannot be serialized").with_source(e))?;
        self.post(uri.clone(), key, Bytes::from(body), false)
    }

    /// The embeddings in a 2xx response body of this endpoint, answering
    /// `request` (Gemini's translated, in the format `request` asks for).
    pub fn parse_embeddings(
        &self,
        body: &[u8],
        request: &EmbeddingRequest,
    ) -> Result<EmbeddingResponse, serde_json::Error> {
        match self.kind {
            EndpointKind::Gemini => crate::wire::embeddings::from_gemini_batch(body, request),
            _ => serde_json::from_slice(body),
        }
    }

    fn post(
        &self,
        uri: Uri,
        key: Option<&ApiKey>,
        body: Bytes,
        stream: bool,
    ) -> Result<Request<Bytes>, TransportError> {
        let mut request = Request::new(body);
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.reserve(4 + self.headers.len());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        if let Some(key) = key {
            match self.kind {
                EndpointKind::OpenAiCompatible => {
                    headers.insert(AUTHORIZATION, key.header_value("Bearer ")?)
                }
                EndpointKind::Azure => {
                    headers.insert(HeaderName::from_static("api-key"), key.header_value("")?)
                }
                EndpointKind::Anthropic => {
                    headers.insert(HeaderName::from_static("x-api-key"), key.header_value("")?)
                }
                EndpointKind::Gemini => headers.insert(
                    HeaderName::from_static("x-goog-api-key"),
                    key.header_value("")?,
                ),
            };
        }
        if self.kind == EndpointKind::Anthropic {
            headers.insert(
                HeaderName::from_static("anthropic-version"),
                HeaderValue::from_static(crate::wire::anthropic::ANTHROPIC_VERSION),
            );
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        Ok(request)
    }

    /// Serializes `body` and builds its `POST` ([`build_request`](Self::build_request)
    /// translates it for an Anthropic endpoint); `Accept` follows `body.stream`.
    pub fn chat_request(
        &self,
        key: Option<&ApiKey>,
        body: &ChatCompletionRequest,
    ) -> Result<Request<Bytes>, TransportError> {
        self.native_request(key, self.body(body)?, body.stream == Some(true))
    }

    /// The completion in a 2xx response body of this endpoint (an Anthropic
    /// message is translated).
    pub fn parse_completion(&self, body: &[u8]) -> Result<ChatCompletion, serde_json::Error> {
        match self.kind {
            EndpointKind::Anthropic => crate::wire::anthropic::from_messages_response(body),
            EndpointKind::Gemini => crate::wire::gemini::from_generate_response(body),
            _ => serde_json::from_slice(body),
        }
    }

    /// The decoder of this endpoint's streams (Anthropic's events come out as
    /// the same chunks).
    #[must_use]
    pub fn chunk_decoder(&self) -> ChunkStreamDecoder {
        match self.kind {
            EndpointKind::Anthropic => ChunkStreamDecoder::anthropic(),
            EndpointKind::Gemini => ChunkStreamDecoder::gemini(),
            _ => ChunkStreamDecoder::new(),
        }
    }
}

/// `body` (an OpenAI chat request as JSON) in `protocol`'s shape, by `translate`.
fn invalid_request(detail: &'static str) -> TransportError {
    TransportError::new(TransportErrorKind::InvalidRequest).with_detail(detail)
}

fn normalize_base(url: &str) -> Result<&str, EndpointError> {
    let base = url.trim().trim_end_matches('/');
    let bad = |reason| EndpointError::InvalidBaseUrl { reason };
    let uri: Uri = base.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err(bad("the scheme must be http or https")),
        None => return Err(bad("the URL must be absolute (http:// or https://)")),
    }
    let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
        return Err(bad("the URL has no host"));
    };
    if authority.as_str().contains('@') {
        // It would be printed wherever the URL is, and never sent as a credential.
        return Err(bad(
            "the URL must not carry credentials (user:password@); pass the key as an ApiKey",
        ));
    }
    if base.contains(['?', '#']) {
        return Err(bad("the URL must not have a query or fragment"));
    }
    Ok(base)
}

/// Whether a header name suggests its value is a credential.
fn looks_secret(name: &str) -> bool {
    const MARKS: [&str; 8] = [
        "auth",
        "key",
        "token",
        "secret",
        "cookie",
        "password",
        "signature",
        "credential",
    ];
    let name = name.to_ascii_lowercase();
    MARKS.iter().any(|mark| name.contains(mark))
}

fn check_component(value: &str, what: &'static str) -> Result<(), EndpointError> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(EndpointError::InvalidComponent { what })
    }
}

fn parse_uri(s: &str) -> Result<Uri, EndpointError> {
    s.parse().map_err(|_| EndpointError::InvalidBaseUrl {
        reason: "not a URL",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_go_where_each_protocol_takes_them() {
        let key = ApiKey::new("sk-test-1234");
        let request = EmbeddingRequest::new("text-embedding-3-small", ["a", "b"]);

        let openai = Endpoint::openai_compatible("https://api.openai.com/v1").unwrap();
        let http = openai.embeddings_request(Some(&key), &request).unwrap();
        assert_eq!(http.uri(), "https://api.openai.com/v1/embeddings");
        assert_eq!(http.headers()[AUTHORIZATION], "Bearer sk-test-1234");
        let sent: serde_json::Value = serde_json::from_slice(http.body()).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({ "model": "text-embedding-3-small", "input": ["a", "b"] })
        );

        let azure = Endpoint::azure("https://r.openai.azure.com", "emb", "2024-10-21").unwrap();
        let http = azure.embeddings_request(Some(&key), &request).unwrap();
        assert_eq!(
            http.uri(),
            "https://r.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21"
        );
        assert_eq!(http.headers()["api-key"], "sk-test-1234");

        let gemini = Endpoint::gemini(
            "https://generativelanguage.googleapis.com/v1beta",
            "text-embedding-004",
        )
        .unwrap();
        let mut for_gemini = EmbeddingRequest::new("text-embedding-004", "hello");
        for_gemini.dimensions = Some(256);
        let http = gemini.embeddings_request(Some(&key), &for_gemini).unwrap();
        assert_eq!(
            http.uri(),
            "https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents"
        );
        assert_eq!(http.headers()["x-goog-api-key"], "sk-test-1234");
        let sent: serde_json::Value = serde_json::from_slice(http.body()).unwrap();
        assert_eq!(
            sent["requests"][0],
            serde_json::json!({
                "model": "models/text-embedding-004",
                "content": { "parts": [{ "text": "hello" }] },
                "outputDimensionality": 256,
            })
        );
        let answer = br#"{"embeddings":[{"values":[0.5,-0.25]}]}"#;
        let parsed = gemini.parse_embeddings(answer, &for_gemini).unwrap();
        assert_eq!(parsed.model, "text-embedding-004");
        assert_eq!(
            parsed.data[0].embedding,
            crate::EmbeddingVector::Floats(vec![0.5, -0.25])
        );

        // What cannot be carried is a clear InvalidRequest, nothing sent.
        let anthropic = Endpoint::anthropic("https://api.anthropic.com/v1").unwrap();
        let err = anthropic
            .embeddings_request(Some(&key), &request)
            .unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::InvalidRequest);
        let tokens = EmbeddingRequest::new(
            "text-embedding-004",
            crate::EmbeddingInput::Tokens(vec![1, 2]),
        );
        let err = gemini.embeddings_request(Some(&key), &tokens).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::InvalidRequest);
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("input"),
            "{err}"
        );

        let answer = br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAAPw=="}],"model":"m","usage":{"prompt_tokens":2,"total_tokens":2}}"#;
        let parsed = openai.parse_embeddings(answer, &request).unwrap();
        assert_eq!(
            parsed.data[0].embedding,
            crate::EmbeddingVector::Base64("AAAAPw==".into())
        );
        assert_eq!(parsed.usage.unwrap().prompt_tokens, 2);
    }

    #[test]
    fn an_anthropic_endpoint_sends_a_translated_messages_request() {
        let ep = Endpoint::anthropic("https://api.anthropic.com/v1/").unwrap();
        assert_eq!(ep.kind(), EndpointKind::Anthropic);
        assert_eq!(
            ep.chat_completions_uri(),
            "https://api.anthropic.com/v1/messages"
        );
        let body = ChatCompletionRequest::new("claude-sonnet-4-5")
            .system("Be brief.")
            .user_message("Hi")
            .stream(true);
        let req = ep
            .chat_request(Some(&ApiKey::new("sk-ant-secret")), &body)
            .unwrap();
        assert_eq!(req.headers()["x-api-key"], "sk-ant-secret");
        assert!(req.headers()["x-api-key"].is_sensitive());
        assert!(req.headers().get(AUTHORIZATION).is_none());
        assert_eq!(req.headers()["anthropic-version"], "2023-06-01");
        assert_eq!(req.headers()[ACCEPT], "text/event-stream");
        let sent: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(sent["system"], "Be brief.");
        assert_eq!(sent["messages"][0]["content"][0]["text"], "Hi");
        assert_eq!(
            sent["max_tokens"],
            crate::wire::anthropic::DEFAULT_MAX_TOKENS
        );
        // What Anthropic cannot honour is refused before anything is sent.
        let mut two = body.clone();
        two.n = Some(2);
        let err = ep.chat_request(None, &two).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::InvalidRequest);
        assert!(format!("{err:?}").contains("field: \"n\""), "{err:?}");
    }

    #[test]
    fn api_key_never_prints() {
        let key = ApiKey::new("sk-very-secret");
        for printed in [
            format!("{key}"),
            format!("{key:?}"),
            format!("{key:#?}"),
            format!("{:?}", Some(key.clone())),
        ] {
            assert!(!printed.contains("sk-very"), "{printed}");
            assert!(printed.contains("[redacted]"));
        }
        let ep = Endpoint::openai_compatible("https://api.openai.com/v1").unwrap();
        let req = ep.build_request(Some(&key), Bytes::new(), false).unwrap();
        assert!(
            !format!("{req:?}").contains("sk-very"),
            "request Debug hides the key"
        );
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer sk-very-secret");

        let bad = ApiKey::new("sk-bad\nInjected: 1");
        let err = ep
            .build_request(Some(&bad), Bytes::new(), false)
            .unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::InvalidRequest);
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("sk-bad") && !shown.contains("Injected"),
            "{shown}"
        );
    }

    #[test]
    fn secret_extra_headers_never_print() {
        let ep = Endpoint::openai_compatible("https://gateway.example/v1")
            .unwrap()
            .with_header("x-api-key", "sk-extra-1")
            .unwrap()
            .with_header("X-Goog-Api-Key", "sk-extra-2")
            .unwrap()
            .with_secret_header("x-portal", &ApiKey::new("sk-extra-3"))
            .unwrap()
            .with_header("x-title", "visible")
            .unwrap();
        let req = ep.build_request(None, Bytes::new(), false).unwrap();
        let shown = format!("{ep:?} {req:?}");
        assert!(!shown.contains("sk-extra"), "{shown}");
        assert!(shown.contains("visible"), "ordinary headers stay readable");
        assert_eq!(req.headers()["x-api-key"], "sk-extra-1");
        assert_eq!(req.headers()["x-portal"], "sk-extra-3");
        assert!(req.headers()["x-goog-api-key"].is_sensitive());
        assert!(!req.headers()["x-title"].is_sensitive());
    }

    #[test]
    fn credentials_in_the_base_url_are_refused() {
        let err =
            Endpoint::openai_compatible("https://user:sk-in-url@host.example/v1").unwrap_err();
        assert!(matches!(err, EndpointError::InvalidBaseUrl { .. }));
        assert!(!format!("{err} {err:?}").contains("sk-in-url"));
        assert!(Endpoint::azure("https://k@r.openai.azure.com", "d", "v").is_err());
    }

    #[test]
    fn openai_compatible_shape() {
        let ep = Endpoint::openai_compatible(" http://127.0.0.1:11434/v1/ ")
            .unwrap()
            .with_header("X-Title", "nb")
            .unwrap();
        assert_eq!(ep.kind(), EndpointKind::OpenAiCompatible);
        assert_eq!(ep.base_url(), "http://127.0.0.1:11434/v1");
        let body = ChatCompletionRequest::new("llama3")
            .user_message("hi")
            .stream(true);
        let req = ep.chat_request(None, &body).unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "http://127.0.0.1:11434/v1/chat/completions");
        assert_eq!(req.headers()[ACCEPT], "text/event-stream");
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(req.headers()["x-title"], "nb");
        assert!(req.headers().get(AUTHORIZATION).is_none());
        let sent: ChatCompletionRequest = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(sent, body);
    }

    #[test]
    fn azure_shape() {
        let ep = Endpoint::azure("https://r.openai.azure.com/", "dep-1", "2024-10-21").unwrap();
        let req = ep
            .build_request(Some(&ApiKey::new("az")), Bytes::from("{}"), false)
            .unwrap();
        assert_eq!(
            req.uri(),
            "https://r.openai.azure.com/openai/deployments/dep-1/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(req.headers()["api-key"], "az");
        assert!(req.headers()["api-key"].is_sensitive());
        assert!(req.headers().get(AUTHORIZATION).is_none());
        assert_eq!(req.headers()[ACCEPT], "application/json");
    }

    #[test]
    fn bad_endpoints_are_rejected() {
        for url in [
            "",
            "api.openai.com/v1",
            "ftp://x/v1",
            "https://x/v1?key=1",
            "https://",
        ] {
            assert!(
                matches!(
                    Endpoint::openai_compatible(url),
                    Err(EndpointError::InvalidBaseUrl { .. })
                ),
                "{url}"
            );
        }
        assert_eq!(
            Endpoint::azure("https://r", "a/../b", "v1").unwrap_err(),
            EndpointError::InvalidComponent { what: "deployment" }
        );
        assert_eq!(
            Endpoint::azure("https://r", "d", "").unwrap_err(),
            EndpointError::InvalidComponent {
                what: "api-version"
            }
        );
        let ep = Endpoint::openai_compatible("https://x").unwrap();
        assert_eq!(
            ep.with_header("bad header", "v").unwrap_err(),
            EndpointError::InvalidHeader
        );
    }
}
