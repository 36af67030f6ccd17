//! A small JSON scanner that pulls out the few fields diagnosis needs.
//!
//! Error bodies are small and shaped alike, so instead of building a value
//! tree this walks the bytes once, remembers where the interesting strings
//! are (borrowed, still escaped) and decodes only the ones that end up in a
//! [`crate::Diagnosis`]. In lenient mode it also reads the Python `repr` that
//! SDKs print (`{'error': {'code': 'insufficient_quota', 'param': None}}`).
//! It never recurses deeper than [`MAX_DEPTH`], every step consumes input,
//! and on malformed or truncated input it stops and keeps what it found.

use crate::provider::contains_ignore_case;

/// Containers nested deeper than this stop the scan.
const MAX_DEPTH: usize = 32;

/// A string (or number, or raw object text) inside the scanned bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Text<'a> {
    /// The bytes between the quotes (or the number, or the object's text).
    pub(crate) raw: &'a [u8],
    /// Whether `raw` contains backslash escapes.
    pub(crate) escaped: bool,
}

impl<'a> Text<'a> {
    pub(crate) fn is(&self, s: &str) -> bool {
        !self.escaped && self.raw.eq_ignore_ascii_case(s.as_bytes())
    }

    /// Whether the text says "error" (any case).
    pub(crate) fn says_error(&self) -> bool {
        contains_ignore_case(self.raw, b"error")
    }

    /// Whether the text holds a `\uXXXX` escape (non-ASCII text sent escaped).
    pub(crate) fn has_unicode_escape(&self) -> bool {
        self.escaped && self.raw.windows(2).any(|w| w == b"\\u")
    }

    /// The decoded text, cut to at most `max` bytes on a character boundary.
    pub(crate) fn decode(&self, max: usize) -> String {
        if !self.escaped {
            let raw = &self.raw[..self.raw.len().min(max)];
            return match std::str::from_utf8(raw) {
                Ok(s) => s.to_owned(),
                // Cut mid-character, or not UTF-8 at all.
                Err(e) if e.error_len().is_none() => {
                    String::from_utf8_lossy(&raw[..e.valid_up_to()]).into_owned()
                }
                Err(_) => String::from_utf8_lossy(raw).into_owned(),
            };
        }
        let mut out = Vec::with_capacity(self.raw.len().min(max));
        let b = self.raw;
        let mut i = 0;
        while i < b.len() && out.len() < max {
            if b[i] != b'\\' || !self.escaped || i + 1 >= b.len() {
                out.push(b[i]);
                i += 1;
                continue;
            }
            let e = b[i + 1];
            i += 2;
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' | b'f' => out.push(b' '),
                b'u' => {
                    let (c, used) = decode_unicode_escape(&b[i..]);
                    i += used;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                other => out.push(other),
            }
        }
        let mut s = String::from_utf8_lossy(&out).into_owned();
        s.truncate(cut(&s, max).len());
        s
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Decodes the hex digits after `\u` (and a following low surrogate);
/// returns the character and how many bytes it consumed.
fn decode_unicode_escape(b: &[u8]) -> (char, usize) {
    let Some(hi) = hex4(b) else {
        return (char::REPLACEMENT_CHARACTER, 0);
    };
    if (0xD800..0xDC00).contains(&hi)
        && b.len() >= 10
        && b[4] == b'\\'
        && b[5] == b'u'
        && let Some(lo) = hex4(&b[6..])
        && (0xDC00..0xE000).contains(&lo)
    {
        let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        return (char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER), 10);
    }
    (char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER), 4)
}

fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    let mut v = 0u32;
    for &d in digits {
        v = v * 16 + char::from(d).to_digit(16)?;
    }
    Some(v)
}

/// What a scan found.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Fields<'a> {
    /// `error.message` (or `error` itself when it is a string). Node's
    /// printed `cause` object is read as `error`.
    pub(crate) error_message: Option<Text<'a>>,
    /// A top-level `message`, `Message`, `msg`, `detail` or `retmsg`.
    pub(crate) top_message: Option<Text<'a>>,
    /// `error.type` / `error.error_type`.
    pub(crate) error_type: Option<Text<'a>>,
    /// A top-level `type` (other than `"error"`), `__type` or `name`.
    pub(crate) top_type: Option<Text<'a>>,
    /// `error.code`.
    pub(crate) error_code: Option<Text<'a>>,
    /// A top-level `code` (or `retcode`).
    pub(crate) top_code: Option<Text<'a>>,
    /// `error.status` as a string (Google's `RESOURCE_EXHAUSTED`).
    pub(crate) error_status: Option<Text<'a>>,
    /// An HTTP status carried inside the body (`error.code: 502`, `httpStatusCode`).
    pub(crate) numeric_status: Option<u16>,
    /// `request_id` / `requestId`, top-level or inside `error`.
    pub(crate) request_id: Option<Text<'a>>,
    /// Google's `RetryInfo.retryDelay` (`"37s"`).
    pub(crate) retry_delay: Option<Text<'a>>,
    /// OpenRouter's `error.metadata.provider_name`.
    pub(crate) upstream: Option<Text<'a>>,
    /// `error.param`: the request field the error is about (OpenAI's shape).
    pub(crate) param: Option<Text<'a>>,
    /// The value is an error: it has a non-null `error` (or `cause`),
    /// `"type": "error"` or `"object": "error"`.
    pub(crate) has_error: bool,
    /// A finish or block reason that means a safety filter stopped the answer.
    pub(crate) filtered: bool,
    /// A non-null finish reason, or an Anthropic `message_stop` event.
    pub(crate) finished: bool,
    /// One whole value was read and only whitespace follows it.
    pub(crate) complete: bool,
    /// Some Gemini candidate has a `content` object.
    pub(crate) candidate_content: bool,
    /// Some candidate's `content.parts` holds a part: the answer says
    /// something.
    pub(crate) answer_parts: bool,
    /// A chat answer in OpenAI's shape (a `choices` list) or Ollama's (a
    /// top-level `message.content` or `response` string).
    pub(crate) chat_answer: bool,
    /// Some field of a choice's message or delta (or of Ollama's message),
    /// other than its role, holds a value: text, reasoning, a refusal, a
    /// tool call, audio, images. What it is does not matter, only that it
    /// is there.
    pub(crate) chat_content: bool,
    /// `"choices": null`: a chunk or completion with no choice at all.
    pub(crate) no_choices: bool,
    /// An output token count of zero (`completion_tokens`, `output_tokens`,
    /// Ollama's `eval_count`): the answer says it said nothing.
    pub(crate) no_output: bool,
    /// A finish reason `MAX_TOKENS`: the output budget ran out, which a
    /// retry of the same request meets again.
    pub(crate) out_of_tokens: bool,
    /// How many keys the top-level object has (saturating).
    pub(crate) top_keys: u8,
}

impl<'a> Fields<'a> {
    /// An answer, or a chunk of one, that says nothing, with no filter or
    /// spent output budget to say why: Gemini candidates that hold no part,
    /// choices (or Ollama's message) with nothing but a role, or `choices:
    /// null`.
    pub(crate) fn says_nothing(&self) -> bool {
        let unexplained = !self.filtered && !self.out_of_tokens;
        let silent_gemini = self.candidate_content && !self.answer_parts;
        let silent_chat = self.chat_answer && !self.chat_content;
        self.no_choices || (unexplained && (silent_gemini || silent_chat))
    }

    /// A whole answer with nothing to use: one that says nothing and, in
    /// OpenAI's or Ollama's shape, finished (a chunk before the last may
    /// say nothing yet).
    pub(crate) fn empty_answer(&self) -> bool {
        self.says_nothing() && (self.finished || !self.chat_answer)
    }

    /// The best message: `error.message`, else the top-level one.
    pub(crate) fn message(&self) -> Option<Text<'a>> {
        self.error_message.or(self.top_message)
    }

    /// An object with nothing but a message (`{"detail": "…"}`, FastAPI's
    /// error shape, or `{"message": "…"}`), or, in an object of at most
    /// four keys, a message with a type (OpenAI's error object sent without
    /// its `error` wrapper: message, type, code, param) or a message that
    /// says "error" (`{"message": "OpenAI API error.", "details": {…}}`):
    /// no answer, so an error if its words name one.
    pub(crate) fn bare_message(&self) -> bool {
        self.complete
            && self.top_message.is_some_and(|m| {
                self.top_keys == 1
                    || (self.top_keys <= 4 && (self.top_type.is_some() || m.says_error()))
            })
    }

    /// A top-level `code` that is not a success, with a message or a type
    /// and no answer (`{"code": 20012, "message": "Model does not exist"}`,
    /// `{"code": "UNAUTHORIZED", "name": "TRPCError"}`): an error in a 200,
    /// as Baidu, SiliconFlow, tRPC and many relays send it. `0`, `200`,
    /// `ok` and `success` are how such APIs say success.
    pub(crate) fn coded_error(&self) -> bool {
        const SUCCESS: [&[u8]; 6] = [b"0", b"200", b"ok", b"success", b"succeed", b"succeeded"];
        !self.finished
            && (self.top_message.is_some() || self.top_type.is_some())
            && self.top_code.is_some_and(|c| {
                // A code with a leading minus is a code too (`"code": -1000`).
                let raw = c.raw.strip_prefix(b"-").unwrap_or(c.raw);
                !raw.is_empty()
                    && raw.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    && !SUCCESS.iter().any(|s| c.raw.eq_ignore_ascii_case(s))
            })
    }

    /// The provider's error type.
    pub(crate) fn kind(&self) -> Option<Text<'a>> {
        self.error_type.or(self.top_type)
    }

    /// The provider's error code; Google's status string (`RESOURCE_EXHAUSTED`)
    /// wins over its numeric code, which only repeats the HTTP status.
    pub(crate) fn code(&self) -> Option<Text<'a>> {
        self.error_status.or(self.error_code).or(self.top_code)
    }

    /// Whether anything worth reporting was found.
    pub(crate) fn any(&self) -> bool {
        self.message().is_some() || self.kind().is_some() || self.code().is_some()
    }
}

/// Whether a value, seen from its first byte, holds something: a string
/// that is not empty, a list with an item, an object with a key (not a
/// null, a number or a boolean).
fn holds_something(value: &[u8]) -> bool {
    match value {
        [b'"', rest @ ..] => !rest.starts_with(b"\""),
        [open @ (b'[' | b'{'), rest @ ..] => {
            let close = if *open == b'[' { b']' } else { b'}' };
            rest.trim_ascii_start().first().is_some_and(|c| *c != close)
        }
        _ => false,
    }
}

/// Scans one JSON value at the start of `bytes` (after whitespace).
///
/// `lenient` also accepts single-quoted strings and Python's `None`, `True`
/// and `False`; `complete` is only set for strict, well-formed input.
pub(crate) fn scan(bytes: &[u8], lenient: bool) -> Fields<'_> {
    let mut p = Parser {
        b: bytes,
        i: 0,
        lenient,
        depth: 0,
        path: [Key::Other; MAX_DEPTH],
        path_len: 0,
        out: Fields::default(),
    };
    p.ws();
    if p.value().is_ok() {
        p.ws();
        p.out.complete = !lenient && p.i == p.b.len();
    }
    p.out
}

/// Keys the scanner cares about, recognised ignoring case, `_`, `-` and `$`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Error,
    Message,
    Type,
    Code,
    Status,
    RequestId,
    RetryDelay,
    Metadata,
    ProviderName,
    FinishReason,
    BlockReason,
    StopReason,
    HttpStatus,
    Object,
    Param,
    /// Baidu's `error_msg` beside its `error_code`, in a 200: an error.
    ErrorMsg,
    /// An AWS event-stream exception as a JSON key (`internalServerException`,
    /// `modelStreamErrorException`): an error.
    Exception,
    /// The Responses API's `response` object, whose `error` is the error.
    Response,
    /// The Realtime API's `response.status_details`, whose `error` is the
    /// error of a `response.done` that failed.
    StatusDetails,
    /// Gemini's answer: `candidates[].content.parts`.
    Candidates,
    Content,
    Parts,
    /// OpenAI's answer: `choices[].message` or `choices[].delta` (with a
    /// `role` beside what it says), or `choices[].text`.
    Choices,
    Delta,
    Role,
    Text,
    /// Output token counts: `completion_tokens`, `output_tokens`, Ollama's
    /// `eval_count`.
    OutputTokens,
    /// A status envelope: MiniMax's `base_resp` (`status_code`,
    /// `status_msg`) and iFlytek Spark's `header` (`code`, `message`). A
    /// non-zero code with its message is an error, in a 200.
    Envelope,
    StatusMsg,
    Other,
}

/// `response.error…` (the Responses API) and
/// `response.status_details.error…` (the Realtime API) read as `error…`.
fn error_path(path: &[Key]) -> &[Key] {
    match path {
        [Key::Response, Key::Error, ..] => &path[1..],
        [Key::Response, Key::StatusDetails, Key::Error, ..] => &path[2..],
        _ => path,
    }
}

/// Keys as error bodies usually spell them, classified without copying
/// (test `usual_keys_classify_as_normalised`).
const USUAL_KEYS: [(&[u8], Key); 12] = [
    (b"error", Key::Error),
    (b"message", Key::Message),
    (b"type", Key::Type),
    (b"code", Key::Code),
    (b"status", Key::Status),
    (b"param", Key::Param),
    (b"details", Key::Other),
    (b"@type", Key::Other),
    (b"reason", Key::Other),
    (b"domain", Key::Other),
    (b"index", Key::Other),
    (b"choices", Key::Choices),
];

fn classify(raw: &[u8]) -> Key {
    match USUAL_KEYS.iter().find(|(k, _)| *k == raw) {
        Some(&(_, key)) => key,
        None => normalised(raw),
    }
}

/// The key, ignoring case, `_`, `-` and `$`.
fn normalised(raw: &[u8]) -> Key {
    let mut buf = [0u8; 32];
    let mut n = 0;
    for &c in raw {
        if matches!(c, b'_' | b'-' | b'$') {
            continue;
        }
        if n == buf.len() || c == b'\\' {
            return Key::Other;
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    match &buf[..n] {
        // Node prints an error's `cause` as an object of its own;
        // Cloudflare and GraphQL list errors under `errors`; OpenAI's
        // Assistants runs and vector store files that failed hold theirs in
        // `last_error` (`null` while all is well).
        b"error" | b"cause" | b"errors" | b"lasterror" => Key::Error,
        b"message" | b"msg" | b"errormessage" | b"detail" | b"retmsg" => Key::Message,
        b"type" | b"errortype" | b"name" => Key::Type,
        b"code" | b"errorcode" | b"retcode" => Key::Code,
        b"status" => Key::Status,
        b"requestid" => Key::RequestId,
        b"retrydelay" => Key::RetryDelay,
        b"metadata" => Key::Metadata,
        b"providername" => Key::ProviderName,
        // Ollama's `done_reason` ends its last chunk as a finish reason does.
        b"finishreason" | b"donereason" => Key::FinishReason,
        b"blockreason" => Key::BlockReason,
        b"stopreason" => Key::StopReason,
        b"httpstatuscode" | b"rawstatuscode" | b"statuscode" | b"originalstatuscode" => {
            Key::HttpStatus
        }
        b"object" => Key::Object,
        b"param" => Key::Param,
        b"response" => Key::Response,
        b"statusdetails" => Key::StatusDetails,
        b"candidates" => Key::Candidates,
        b"content" => Key::Content,
        b"parts" => Key::Parts,
        b"choices" => Key::Choices,
        b"delta" => Key::Delta,
        b"role" => Key::Role,
        b"text" => Key::Text,
        b"completiontokens" | b"outputtokens" | b"evalcount" => Key::OutputTokens,
        b"baseresp" | b"header" => Key::Envelope,
        b"statusmsg" => Key::StatusMsg,
        b"errormsg" => Key::ErrorMsg,
        k if k.ends_with(b"exception") => Key::Exception,
        _ => Key::Other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Str,
    Num,
    Null,
    Bool,
}

/// Finish reasons (OpenAI, Gemini, Anthropic) that mean a safety filter acted.
const FILTER_REASONS: [&str; 9] = [
    "content_filter",
    // Zhipu's.
    "sensitive",
    "safety",
    "prohibited_content",
    "blocklist",
    "spii",
    "image_safety",
    "recitation",
    "refusal",
];

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    lenient: bool,
    depth: usize,
    path: [Key; MAX_DEPTH],
    path_len: usize,
    out: Fields<'a>,
}

/// The scan stopped: malformed, truncated or too deep input.
struct Stop;

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn value(&mut self) -> Result<(), Stop> {
        match self.peek().ok_or(Stop)? {
            b'{' => self.container(true),
            b'[' => self.container(false),
            b'"' => {
                let t = self.string(b'"')?;
                self.scalar(Scalar::Str, t);
                Ok(())
            }
            b'\'' if self.lenient => {
                let t = self.string(b'\'')?;
                self.scalar(Scalar::Str, t);
                Ok(())
            }
            b'-' | b'0'..=b'9' => {
                let t = self.number();
                self.scalar(Scalar::Num, t);
                Ok(())
            }
            _ => self.word(),
        }
    }

    fn word(&mut self) -> Result<(), Stop> {
        let rest = &self.b[self.i..];
        let words: &[(&[u8], Scalar, bool)] = &[
            (b"null", Scalar::Null, false),
            (b"true", Scalar::Bool, false),
            (b"false", Scalar::Bool, false),
            (b"None", Scalar::Null, true),
            (b"True", Scalar::Bool, true),
            (b"False", Scalar::Bool, true),
        ];
        for &(w, kind, lenient_only) in words {
            if rest.starts_with(w) && (self.lenient || !lenient_only) {
                let t = Text {
                    raw: &rest[..w.len()],
                    escaped: false,
                };
                self.i += w.len();
                self.scalar(kind, t);
                return Ok(());
            }
        }
        Err(Stop)
    }

    fn number(&mut self) -> Text<'a> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            self.i += 1;
        }
        Text {
            raw: &self.b[start..self.i],
            escaped: false,
        }
    }

    /// Reads a string starting at the opening `quote`.
    #[inline(always)]
    fn string(&mut self, quote: u8) -> Result<Text<'a>, Stop> {
        let start = self.i + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            let rest = self.b.get(i..).ok_or(Stop)?;
            let n = find_either(rest, quote, b'\\').ok_or(Stop)?;
            i += n;
            if self.b[i] == quote {
                self.i = i + 1;
                return Ok(Text {
                    raw: &self.b[start..i],
                    escaped,
                });
            }
            escaped = true;
            i += 2;
        }
    }

    fn container(&mut self, object: bool) -> Result<(), Stop> {
        if self.depth >= MAX_DEPTH {
            return Err(Stop);
        }
        let start = self.i;
        let close = if object { b'}' } else { b']' };
        self.depth += 1;
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
        } else {
            loop {
                if object {
                    let key = match self.peek() {
                        Some(b'"') => self.string(b'"')?,
                        Some(b'\'') if self.lenient => self.string(b'\'')?,
                        _ => return Err(Stop),
                    };
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(Stop);
                    }
                    self.i += 1;
                    self.ws();
                    let k = if key.escaped {
                        Key::Other
                    } else {
                        classify(key.raw)
                    };
                    if self.depth == 1 {
                        self.out.top_keys = self.out.top_keys.saturating_add(1);
                        if matches!(k, Key::Choices | Key::Response) {
                            self.answer_key(k);
                        }
                    } else if matches!(k, Key::Content | Key::Parts | Key::Text)
                        || matches!(
                            self.path[..self.path_len],
                            [Key::Message] | [Key::Choices, Key::Message | Key::Delta]
                        )
                    {
                        self.answer_key(k);
                    }
                    // Arrays push nothing, so `depth` bounds `path_len`.
                    self.path[self.path_len] = k;
                    self.path_len += 1;
                    let r = self.value();
                    self.path_len -= 1;
                    r?;
                } else {
                    self.value()?;
                }
                self.ws();
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.ws();
                        // Tolerate a trailing comma.
                        if self.peek() == Some(close) {
                            self.i += 1;
                            break;
                        }
                    }
                    Some(c) if c == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(Stop),
                }
            }
        }
        self.depth -= 1;
        self.container_done(object, start);
        Ok(())
    }

    /// The keys of an answer, seen at the key, before the value is read:
    /// Gemini's `candidates[].content.parts`, OpenAI's `choices` and what a
    /// choice's message or delta holds, Ollama's `message` and `response`.
    /// Whether there is an answer, and whether it says something.
    fn answer_key(&mut self, k: Key) {
        let path = &self.path[..self.path_len];
        let value = &self.b[self.i..];
        let out = &mut self.out;
        match (path, k) {
            ([Key::Candidates], Key::Content) => out.candidate_content |= value.starts_with(b"{"),
            ([Key::Candidates, Key::Content], Key::Parts) => {
                out.answer_parts |= holds_something(value)
            }
            ([], Key::Choices) => {
                out.chat_answer |= value.starts_with(b"[");
                out.no_choices |= value.starts_with(b"null");
            }
            ([], Key::Response) | ([Key::Message], Key::Content) if value.starts_with(b"\"") => {
                out.chat_answer = true;
                out.chat_content |= holds_something(value);
            }
            // Whatever else a message or delta holds (tool calls, thinking,
            // audio, images, a refusal) says something; its role does not.
            ([Key::Message] | [Key::Choices, Key::Message | Key::Delta], _) if k != Key::Role => {
                out.chat_content |= holds_something(value);
            }
            ([Key::Choices], Key::Text) => out.chat_content |= holds_something(value),
            _ => {}
        }
    }

    /// An object-valued `error.message` (Mistral's validation details) is
    /// kept as its raw text.
    fn container_done(&mut self, object: bool, start: usize) {
        if !object {
            return;
        }
        let t = Text {
            raw: &self.b[start..self.i],
            escaped: true,
        };
        match error_path(&self.path[..self.path_len]) {
            [Key::Error] | [Key::Exception] => self.out.has_error = true,
            [Key::Error, Key::Message] => {
                self.out.error_message.get_or_insert(t);
            }
            [Key::Message] => {
                self.out.top_message.get_or_insert(t);
            }
            _ => {}
        }
    }

    #[inline(always)]
    fn scalar(&mut self, kind: Scalar, t: Text<'a>) {
        let out = &mut self.out;
        let path = error_path(&self.path[..self.path_len]);
        let Some(&last) = path.last() else {
            return;
        };
        let is_str = kind == Scalar::Str;
        let set = |slot: &mut Option<Text<'a>>| {
            if slot.is_none() {
                *slot = Some(t);
            }
        };
        if kind == Scalar::Num
            && matches!(last, Key::Code | Key::Status | Key::HttpStatus)
            && let Some(s) = parse_status(t.raw)
        {
            out.numeric_status.get_or_insert(s);
        }
        match path {
            [Key::Error] => match kind {
                Scalar::Str => {
                    out.has_error = true;
                    set(&mut out.error_message);
                }
                Scalar::Null => {}
                _ => out.has_error = true,
            },
            // An error object counts once it has said something, even if
            // the rest of it does not parse.
            [Key::Error, Key::Message] if is_str => {
                out.has_error = true;
                set(&mut out.error_message);
            }
            [Key::Error, Key::Type] if is_str => {
                out.has_error = true;
                set(&mut out.error_type);
            }
            [Key::Error, Key::Code] if kind != Scalar::Null => set(&mut out.error_code),
            [Key::Error, Key::Status] if is_str => set(&mut out.error_status),
            [Key::Error, Key::RequestId] | [Key::RequestId] if is_str => set(&mut out.request_id),
            [Key::Error, Key::Metadata, Key::ProviderName] if is_str => set(&mut out.upstream),
            [Key::Error, Key::Param] if is_str => set(&mut out.param),
            [Key::Message] if is_str => set(&mut out.top_message),
            [Key::Envelope, Key::HttpStatus | Key::Code]
                if kind == Scalar::Num && t.raw != b"0" =>
            {
                out.has_error = true;
            }
            [Key::Envelope, Key::StatusMsg | Key::Message] if is_str => set(&mut out.error_message),
            [Key::ErrorMsg] if is_str => {
                out.has_error = true;
                set(&mut out.error_message);
            }
            [Key::Type] if is_str => {
                // `error`, and the Responses API's `response.failed`.
                if t.is("error") || (!t.escaped && t.raw.ends_with(b".failed")) {
                    out.has_error = true;
                } else if t.is("message_stop") {
                    out.finished = true;
                } else {
                    set(&mut out.top_type);
                }
            }
            [Key::Object] if is_str && t.is("error") => out.has_error = true,
            [Key::Code] if kind != Scalar::Null => set(&mut out.top_code),
            _ => {}
        }
        match last {
            Key::RetryDelay if is_str => set(&mut out.retry_delay),
            Key::OutputTokens if kind == Scalar::Num => out.no_output |= t.raw == b"0",
            Key::FinishReason | Key::StopReason if is_str => {
                out.finished = true;
                // OpenRouter ends a stream it lost upstream with
                // `finish_reason: "error"`; agent runtimes record a failed
                // turn as `stopReason: "error"` beside its message; Gemini
                // stops on a function call it could not form.
                out.has_error |= t.is("error") || t.is("malformed_function_call");
                // OpenAI spells the spent output budget `length`.
                out.out_of_tokens |= t.is("max_tokens") || t.is("length");
                if FILTER_REASONS.iter().any(|r| t.is(r)) {
                    out.filtered = true;
                }
            }
            Key::BlockReason if is_str && !t.is("block_reason_unspecified") => {
                out.filtered = true;
            }
            _ => {}
        }
    }
}

/// The first `x` or `y` in `b`, eight bytes at a time (string bodies are most
/// of an error body's bytes).
fn find_either(b: &[u8], x: u8, y: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let (mx, my) = (LO * u64::from(x), LO * u64::from(y));
    // Non-zero exactly where a byte of `w` is zero; the lowest set bit is
    // exact (borrows only disturb the bytes above it).
    let zero = |w: u64| w.wrapping_sub(LO) & !w & HI;
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let w = u64::from_le_bytes(word);
        let hit = zero(w ^ mx) | zero(w ^ my);
        if hit != 0 {
            return Some(at + (hit.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|c| *c == x || *c == y).map(|i| at + i)
}

/// An HTTP status in 100..=599 written as digits (or a JSON number).
pub(crate) fn parse_status(raw: &[u8]) -> Option<u16> {
    if raw.len() != 3 || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = raw
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    (100..=599).contains(&v).then_some(v)
}

#[cfg(test)]
mod tests;
