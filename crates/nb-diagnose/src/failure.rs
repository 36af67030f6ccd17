//! What went wrong, as the caller saw it: the input of a diagnosis.

use std::fmt;

use nb_types::TransportErrorKind;

/// A failed (or suspicious) call, borrowed from the caller's data.
///
/// Build one with a constructor for what happened, then add context:
///
/// ```
/// use nb_diagnose::{Failure, TimeoutPhase, TransportErrorKind};
///
/// let body = r#"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#;
/// let http = Failure::http(429, body)
///     .header("retry-after", "2")
///     .with_base_url("https://api.openai.com/v1")
///     .with_model("gpt-4o");
/// assert_eq!(http.status(), Some(429));
///
/// let timeout = Failure::transport(TransportErrorKind::Timeout(TimeoutPhase::FirstByte), None);
/// let text = Failure::message("throttling.ratequota: 请求速度超限").with_status(429);
/// let broken = Failure::malformed("{\"choices\":[", "unexpected end of JSON");
/// let cut = Failure::stream_interrupted("stream ended without [DONE]");
/// # let _ = (timeout, text, broken, cut);
/// ```
///
/// Building a `Failure` copies nothing: bodies, messages and header values
/// are borrowed, and only the headers diagnosis reads are kept (see
/// [`ResponseHeaders`]).
#[derive(Debug, Clone)]
pub struct Failure<'a> {
    kind: FailureKind<'a>,
    headers: ResponseHeaders<'a>,
    base_url: Option<&'a str>,
    model: Option<&'a str>,
}

/// The shape of a [`Failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind<'a> {
    /// An HTTP response: its status and body (headers are on the [`Failure`]).
    /// A 2xx status means the caller found the response wanting: the body
    /// decides (an error object, a safety block, a cut stream, broken JSON).
    #[non_exhaustive]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The response body, as received.
        body: &'a [u8],
    },
    /// No (complete) response: the connection or its timing failed.
    #[non_exhaustive]
    Transport {
        /// What failed.
        kind: TransportErrorKind,
        /// The error text, if any (it can refine the diagnosis, e.g. a
        /// certificate that does not verify).
        message: Option<&'a str>,
    },
    /// Only an error's text is known (any error's `Display`, an SDK's
    /// printout), optionally with the HTTP status it came with.
    #[non_exhaustive]
    Message {
        /// The error text.
        text: &'a str,
        /// The HTTP status, if known.
        status: Option<u16>,
    },
    /// A success response whose body is not what was expected (broken JSON,
    /// an HTML page, a failed validator).
    #[non_exhaustive]
    Malformed {
        /// The body, as received.
        body: &'a [u8],
        /// Why the caller rejected it.
        reason: &'a str,
    },
    /// A stream that was cut, stalled or ended without its finish signal.
    #[non_exhaustive]
    StreamInterrupted {
        /// What the caller saw (an error text, or the last event received).
        detail: &'a str,
    },
}

impl<'a> Failure<'a> {
    fn new(kind: FailureKind<'a>) -> Self {
        Self {
            kind,
            headers: ResponseHeaders::new(),
            base_url: None,
            model: None,
        }
    }

    /// An HTTP response with `status` and `body` (add headers with
    /// [`Failure::header`] or [`Failure::headers`]).
    pub fn http<B: AsRef<[u8]> + ?Sized>(status: u16, body: &'a B) -> Self {
        Self::new(FailureKind::Http {
            status,
            body: body.as_ref(),
        })
    }

    /// An HTTP response with its headers, e.g. from an `http::HeaderMap`:
    ///
    /// ```
    /// # use nb_diagnose::Failure;
    /// let headers = [("Retry-After", "30"), ("Content-Type", "application/json")];
    /// let f = Failure::http_response(503, headers.iter().map(|(n, v)| (*n, *v)), "{}");
    /// // with http: Failure::http_response(s, map.iter().map(|(n, v)| (n.as_str(), v)), &body)
    /// assert_eq!(f.response_headers().get("retry-after"), Some(&b"30"[..]));
    /// ```
    pub fn http_response<'n, I, V, B>(status: u16, headers: I, body: &'a B) -> Self
    where
        I: IntoIterator<Item = (&'n str, &'a V)>,
        V: AsRef<[u8]> + ?Sized + 'a,
        B: AsRef<[u8]> + ?Sized,
    {
        Self::http(status, body).headers(headers)
    }

    /// A transport failure, with the error's text if there is one.
    pub fn transport(kind: TransportErrorKind, message: impl Into<Option<&'a str>>) -> Self {
        Self::new(FailureKind::Transport {
            kind,
            message: message.into(),
        })
    }

    /// Only the error's text is known; add the status with [`Failure::with_status`].
    pub fn message(text: &'a str) -> Self {
        Self::new(FailureKind::Message { text, status: None })
    }

    /// A success response whose body the caller rejected, and why.
    pub fn malformed<B: AsRef<[u8]> + ?Sized>(body: &'a B, reason: &'a str) -> Self {
        Self::new(FailureKind::Malformed {
            body: body.as_ref(),
            reason,
        })
    }

    /// A stream that ended before its finish signal; `detail` is what was
    /// seen: an error event or chunk the provider sent (diagnosed by the
    /// cause it names), a client's printout of one, or the words of a cut.
    ///
    /// ```
    /// use nb_diagnose::{DiagnosisEngine, ErrorCategory, Failure};
    ///
    /// let engine = DiagnosisEngine::new();
    /// let event = r#"data: {"error":{"type":"server_error","message":"Provider disconnected"}}"#;
    /// let d = engine.diagnose(&Failure::stream_interrupted(event));
    /// assert_eq!(d.category, ErrorCategory::ServerError);
    /// let cut = engine.diagnose(&Failure::stream_interrupted("connection reset by peer"));
    /// assert_eq!(cut.category, ErrorCategory::StreamInterrupted);
    /// ```
    pub fn stream_interrupted(detail: &'a str) -> Self {
        Self::new(FailureKind::StreamInterrupted { detail })
    }

    /// Sets the HTTP status of a [`FailureKind::Message`] or
    /// [`FailureKind::Http`] failure; other kinds have none and ignore it.
    ///
    /// A message under a 2xx says an answer arrived and could not be used:
    /// words that name no cause read as a retryable malformed response.
    /// A failure of the caller's own code after a good answer is not the
    /// provider's; leave the status off it.
    #[must_use]
    pub fn with_status(mut self, new: u16) -> Self {
        match &mut self.kind {
            FailureKind::Message { status, .. } => *status = Some(new),
            FailureKind::Http { status, .. } => *status = new,
            _ => {}
        }
        self
    }

    /// Adds one response header (kept only if diagnosis reads it).
    #[must_use]
    pub fn header<V: AsRef<[u8]> + ?Sized>(mut self, name: &str, value: &'a V) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Adds response headers (those diagnosis does not read are skipped).
    #[must_use]
    pub fn headers<'n, I, V>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = (&'n str, &'a V)>,
        V: AsRef<[u8]> + ?Sized + 'a,
    {
        self.headers.extend(headers);
        self
    }

    /// The base URL of the call (used to detect the provider).
    #[must_use]
    pub fn with_base_url(mut self, base_url: &'a str) -> Self {
        self.base_url = Some(base_url);
        self
    }

    /// The model the call asked for (used to detect the provider).
    #[must_use]
    pub fn with_model(mut self, model: &'a str) -> Self {
        self.model = Some(model);
        self
    }

    /// What happened.
    pub fn kind(&self) -> &FailureKind<'a> {
        &self.kind
    }

    /// The response headers kept for diagnosis.
    pub fn response_headers(&self) -> &ResponseHeaders<'a> {
        &self.headers
    }

    /// The HTTP status, if the failure has one.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            FailureKind::Http { status, .. } => Some(status),
            FailureKind::Message { status, .. } => status,
            _ => None,
        }
    }

    /// The base URL, if given.
    pub fn base_url(&self) -> Option<&'a str> {
        self.base_url
    }

    /// The model, if given.
    pub fn model(&self) -> Option<&'a str> {
        self.model
    }
}

/// The response headers diagnosis reads, borrowed; all others are dropped.
///
/// Names are matched case-insensitively against [`ResponseHeaders::KNOWN`];
/// the first value of a repeated header is kept. Storage is a fixed array,
/// so building one never allocates.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseHeaders<'a> {
    values: [Option<&'a [u8]>; KNOWN.len()],
}

/// Index into [`KNOWN`] of each header the engine reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum H {
    RetryAfter = 0,
    RetryAfterMs,
    ShouldRetry,
    AmznErrorType,
    ContentType,
    RequestId,
    XRequestId,
    AmznRequestId,
    ApimRequestId,
    LimitRequests,
    LimitTokens,
    RemainingRequests,
    RemainingTokens,
    ResetRequests,
    ResetTokens,
    AnthropicRequestsLimit,
    AnthropicRequestsRemaining,
    AnthropicRequestsReset,
    AnthropicTokensLimit,
    AnthropicTokensRemaining,
    AnthropicTokensReset,
    AnthropicInputLimit,
    AnthropicInputRemaining,
    AnthropicInputReset,
    AnthropicOutputLimit,
    AnthropicOutputRemaining,
    AnthropicOutputReset,
    Limit,
    Remaining,
    Reset,
}

const KNOWN: [&str; 30] = [
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "x-amzn-errortype",
    "content-type",
    "request-id",
    "x-request-id",
    "x-amzn-requestid",
    "apim-request-id",
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-limit",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-limit",
    "anthropic-ratelimit-output-tokens-remaining",
    "anthropic-ratelimit-output-tokens-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

impl<'a> ResponseHeaders<'a> {
    /// The header names kept (lower-case): waits, `x-should-retry`,
    /// Bedrock's `x-amzn-errortype`, `content-type`, request ids, and the
    /// OpenAI-style, Anthropic and generic rate-limit headers.
    pub const KNOWN: &'static [&'static str] = &KNOWN;

    /// No headers.
    pub const fn new() -> Self {
        Self {
            values: [None; KNOWN.len()],
        }
    }

    /// Keeps `value` if `name` is one diagnosis reads and is not set yet;
    /// returns whether it was kept.
    pub fn insert<V: AsRef<[u8]> + ?Sized>(&mut self, name: &str, value: &'a V) -> bool {
        let Some(i) = KNOWN
            .iter()
            .position(|k| k.eq_ignore_ascii_case(name.trim()))
        else {
            return false;
        };
        if self.values[i].is_some() {
            return false;
        }
        self.values[i] = Some(value.as_ref());
        true
    }

    /// The value of `name` (case-insensitive), if kept.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        let i = KNOWN.iter().position(|k| k.eq_ignore_ascii_case(name))?;
        self.values[i]
    }

    pub(crate) fn at(&self, h: H) -> Option<&'a [u8]> {
        self.values[h as usize]
    }

    /// Whether no header was kept.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// The kept headers, as (lower-case name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'a [u8])> + '_ {
        KNOWN
            .iter()
            .zip(self.values.iter())
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
    }
}

impl fmt::Debug for ResponseHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (k, String::from_utf8_lossy(v))))
            .finish()
    }
}

impl<'a, 'n, V: AsRef<[u8]> + ?Sized + 'a> Extend<(&'n str, &'a V)> for ResponseHeaders<'a> {
    fn extend<I: IntoIterator<Item = (&'n str, &'a V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.insert(name, value);
        }
    }
}

impl<'a, 'n, V: AsRef<[u8]> + ?Sized + 'a> FromIterator<(&'n str, &'a V)> for ResponseHeaders<'a> {
    fn from_iter<I: IntoIterator<Item = (&'n str, &'a V)>>(iter: I) -> Self {
        let mut h = Self::new();
        h.extend(iter);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_indices_line_up() {
        assert_eq!(KNOWN[H::RetryAfter as usize], "retry-after");
        assert_eq!(KNOWN[H::ShouldRetry as usize], "x-should-retry");
        assert_eq!(KNOWN[H::ResetTokens as usize], "x-ratelimit-reset-tokens");
        assert_eq!(
            KNOWN[H::AnthropicOutputReset as usize],
            "anthropic-ratelimit-output-tokens-reset"
        );
        assert_eq!(KNOWN[H::Reset as usize], "x-ratelimit-reset");
    }

    #[test]
    fn headers_keep_only_known_names_case_insensitively() {
        let mut h = ResponseHeaders::new();
        assert!(h.is_empty());
        assert!(h.insert("Retry-After", "5"));
        assert!(!h.insert("retry-after", "9"), "the first value wins");
        assert!(!h.insert("x-custom", "1"));
        assert_eq!(h.get("RETRY-AFTER"), Some(&b"5"[..]));
        assert_eq!(h.get("x-custom"), None);
        assert_eq!(h.iter().count(), 1);
        assert!(format!("{h:?}").contains("retry-after"));
    }

    #[test]
    fn status_and_context_accessors() {
        let f = Failure::message("boom").with_status(503).with_model("m");
        assert_eq!(f.status(), Some(503));
        assert_eq!(f.model(), Some("m"));
        assert_eq!(f.base_url(), None);
        let f = Failure::http(500, "x").with_status(502);
        assert_eq!(f.status(), Some(502));
        let f = Failure::stream_interrupted("cut").with_status(200);
        assert_eq!(f.status(), None);
        let v: Vec<u8> = b"body".to_vec();
        let f = Failure::http_response(404, [("x-request-id", "r1")], &v);
        assert_eq!(f.response_headers().get("x-request-id"), Some(&b"r1"[..]));
        assert!(matches!(f.kind(), FailureKind::Http { status: 404, body } if body == b"body"));
    }
}
