//! A 2xx response given for diagnosis (or a body the caller rejected): an
//! error object inside it, a JSON-lines error, a broken or empty body, an
//! HTML page, or a stream that errs, is cut, or never finishes.

use super::scan::{head, reads_as_sse, reason_status, starts_json, without_bom};
use super::{DiagnosisEngine, Evidence, MAX_BODY_BYTES, Verdict, is_provider_error};
use crate::ErrorCategory;
use crate::catalogue::Sub;
use crate::failure::{H, ResponseHeaders};
use crate::json::{self, Fields, Text};
use crate::provider::contains_ignore_case;

/// How near its start a body that does not parse must say "error" to be
/// read as a printed error object.
const PRINTED_ERROR_HEAD: usize = 64;

impl DiagnosisEngine {
    /// A 2xx response given for diagnosis, or a body the caller rejected.
    pub(super) fn success_body<'b>(
        &self,
        body: &'b [u8],
        headers: &ResponseHeaders<'_>,
        reason: Option<&str>,
        ev: &mut Evidence,
        fields: &mut Fields<'b>,
    ) -> Verdict {
        let body = without_bom(body);
        let sse_header = headers
            .at(H::ContentType)
            .is_some_and(|ct| contains_ignore_case(&ct[..ct.len().min(256)], b"event-stream"));
        let trimmed = body.trim_ascii_start();
        // A stream may open with comments (`: keep-alive`) before its events.
        let sse_body = reads_as_sse(trimmed) || trimmed.starts_with(b":");
        // A JSON error sent under an event-stream content type is still JSON.
        if sse_body || (sse_header && !starts_json(trimmed)) {
            return self.sse(body, reason, ev, fields);
        }
        let body = head(body);
        let trimmed = body.trim_ascii();
        if trimmed.is_empty() {
            return empty(Sub::EmptyBody);
        }
        if starts_json(trimmed) {
            *fields = json::scan(trimmed, false);
            if !fields.has_error
                && !fields.complete
                && let Some(line) = ndjson_error(trimmed)
            {
                // Ollama streams JSON lines; an error comes as one of them.
                *fields = json::scan(line, false);
                return self.error_in_success(line, ev, fields);
            }
            if fields.has_error || fields.coded_error() {
                return self.error_in_success(body, ev, fields);
            }
            if fields.bare_message() {
                let v = self.error_in_success(body, ev, fields);
                if v.sub != Sub::ErrorInSuccessResponse {
                    return v;
                }
                *ev = Evidence::default();
            }
            if fields.filtered {
                return Verdict::new(ErrorCategory::ContentFilter, Sub::SafetyBlock, 88);
            }
            if !fields.complete {
                return self.printed_error(trimmed, ev).unwrap_or_else(|| {
                    // A printout whose words name nothing was likely a
                    // whole object, printed: unexplained, not surely broken.
                    // (Only by its first key: Python's words may be inside
                    // a JSON string cut short.)
                    if printed_first_key(trimmed) {
                        unexplained_success()
                    } else {
                        Verdict::new(ErrorCategory::MalformedResponse, Sub::BrokenJson, 85)
                    }
                });
            }
            if fields.empty_answer() {
                return empty(Sub::EmptyAnswer);
            }
            return complete_success(reason);
        }
        if trimmed.starts_with(b"<") {
            return Verdict::new(ErrorCategory::MalformedResponse, Sub::HtmlPage, 80);
        }
        self.scan(body, ev, 0);
        // A body that is only a reason phrase ("Internal Server Error")
        // names the status the response should have carried.
        let named = reason_status(trimmed).filter(|s| *s >= 400);
        let v = self.classify(ev, fields, named, true);
        // An error object printed without its braces (`"error": {…}`) is an
        // error whatever its words' weight: its type alone may name it.
        if named.is_some()
            || v.priority >= 50
            || (opens_with_error_key(trimmed) && is_provider_error(v.category))
        {
            v
        } else {
            unexplained_success()
        }
    }

    /// An error object printed in another language's syntax (a Python
    /// dict, a JavaScript object literal) does not parse as JSON, but its
    /// words name the cause when it opens as an error or a printout does.
    fn printed_error(&self, body: &[u8], ev: &mut Evidence) -> Option<Verdict> {
        if !printout(body)
            && !contains_ignore_case(&body[..body.len().min(PRINTED_ERROR_HEAD)], b"error")
        {
            return None;
        }
        // A printed error object (`{'error': {…}}`) is an error whatever
        // its words' weight, as one printed without its braces is.
        let error_object = body
            .strip_prefix(b"{")
            .is_some_and(|rest| opens_with_error_key(rest.trim_ascii_start()));
        self.scan(body, ev, 0);
        let v = self.classify(ev, &Fields::default(), None, false);
        if is_provider_error(v.category) && (v.priority >= 60 || error_object) {
            return Some(v);
        }
        *ev = Evidence::default();
        None
    }

    /// An error object inside a success response (OpenRouter relays upstream
    /// errors with a 200 and the upstream status in `error.code`).
    ///
    /// When the error object has its own message, type or code, only those
    /// are read: the rest of a success body (a Responses `response` echoing
    /// its settings, `"moderation": null`) is the request's, not the error's.
    fn error_in_success(&self, body: &[u8], ev: &mut Evidence, fields: &Fields<'_>) -> Verdict {
        let mut own = [fields.error_message, fields.error_type, fields.error_code];
        if own[2].is_none() && own[..2].iter().any(Option::is_some) {
            // A top-level `code` beside `"error": "…"` is the error's code.
            own[2] = fields.top_code;
        }
        if own.iter().any(Option::is_some) {
            for (order, text) in (0u8..).zip(own.iter().chain([&fields.error_status]).flatten()) {
                self.scan(text.raw, ev, order);
            }
            if let Some(m) = fields.error_message.filter(Text::has_unicode_escape) {
                self.scan(m.decode(MAX_BODY_BYTES).as_bytes(), ev, 4);
            }
            self.scan_code_words(fields, ev);
        } else {
            self.scan_text(body, fields, ev);
        }
        // A status the error's words name ("APIConnectionError: 500
        // Internal error", or a message that is only "Not Found") stands in
        // for the one the 200 did not carry.
        let status = fields
            .numeric_status
            .or(ev.status)
            .or_else(|| fields.message().and_then(|m| reason_status(m.raw)))
            .or(ev.named_status)
            .filter(|s| *s >= 400);
        let v = self.classify(ev, fields, status, true);
        if v.category == ErrorCategory::Unknown {
            unnamed_error()
        } else {
            v
        }
    }

    /// A streamed body: an error event, a safety stop, or no finish signal.
    fn sse<'b>(
        &self,
        body: &'b [u8],
        reason: Option<&str>,
        ev: &mut Evidence,
        fields: &mut Fields<'b>,
    ) -> Verdict {
        let tail = if body.len() > MAX_BODY_BYTES {
            let t = &body[body.len() - MAX_BODY_BYTES..];
            // Drop the partial first line.
            t.iter()
                .position(|c| *c == b'\n')
                .map_or(&t[..0], |i| &t[i + 1..])
        } else {
            body
        };
        let (mut done, mut finished, mut filtered, mut truncated) = (false, false, false, false);
        let (mut events, mut silent, mut chat) = (0usize, 0usize, false);
        let mut error_next = false;
        let mut error: Option<Fields<'b>> = None;
        for line in tail.split(|c| *c == b'\n') {
            let line = line.trim_ascii();
            if let Some(name) = line.strip_prefix(b"event:") {
                let name = name.trim_ascii();
                error_next = is_error_event(name);
                finished |= name == b"message_stop";
                continue;
            }
            let Some(data) = line.strip_prefix(b"data:") else {
                continue;
            };
            let data = data.trim_ascii();
            if data == b"[DONE]" {
                done = true;
                continue;
            }
            events += 1;
            let f = json::scan(data, false);
            // Whether every event said nothing, and whether any was a chat
            // answer's chunk, which says nothing until its finish signal.
            silent += usize::from(f.says_nothing());
            chat |= f.chat_answer;
            if (f.has_error || error_next) && error.is_none() {
                error = Some(f);
            }
            finished |= f.finished;
            filtered |= f.filtered;
            truncated = !f.complete;
            error_next = false;
        }
        if let Some(f) = error {
            *fields = f;
            return self.error_in_success(tail, ev, fields);
        }
        if filtered {
            return Verdict::new(ErrorCategory::ContentFilter, Sub::SafetyBlock, 88);
        }
        if !(done || finished) && truncated && contains_ignore_case(tail, b"\"error\"") {
            // An error event whose JSON spans several lines (only the first
            // carries `data:`): its words still name the cause.
            return self.error_in_success(tail, ev, fields);
        }
        if done && events == 0 && body.len() <= MAX_BODY_BYTES {
            // A stream that finished without a single event: an empty answer.
            return empty(Sub::EmptyBody);
        }
        if events > 0
            && silent == events
            && !truncated
            && (done || finished || !chat)
            && body.len() <= MAX_BODY_BYTES
        {
            // Every event an answer that says nothing (a Gemini candidate
            // with no part, a choice with no text), the last one whole, and
            // OpenAI's or Ollama's finished: the stream said nothing.
            return empty(Sub::EmptyAnswer);
        }
        if !(done || finished) {
            let sub = if truncated {
                Sub::TruncatedEvent
            } else {
                Sub::NoFinishSignal
            };
            return Verdict::new(ErrorCategory::StreamInterrupted, sub, 85);
        }
        complete_success(reason)
    }
}

/// An object printed in another language's syntax, not JSON cut short:
/// one whose first key is a printout's, or with a value in Python's words
/// (`"code": None`).
fn printout(body: &[u8]) -> bool {
    printed_first_key(body) || python_value(body)
}

/// JSON quotes its keys with `"`; a first key bare or in `'` is a
/// printout's (`{ success: false, …}`, `{'code': …}`).
fn printed_first_key(body: &[u8]) -> bool {
    body.strip_prefix(b"{")
        .and_then(|rest| rest.trim_ascii_start().first())
        .is_some_and(|c| *c != b'"' && *c != b'}')
}

/// How Python prints the values JSON spells `null`, `true` and `false`.
const PYTHON_VALUES: [&[u8]; 3] = [b"None", b"True", b"False"];

/// A value in Python's words right after a quoted key (`'code': None,`),
/// not the same word in prose ("Known issues: None.").
fn python_value(body: &[u8]) -> bool {
    body.windows(3).enumerate().any(|(i, w)| {
        matches!(w, [b'"' | b'\'', b':', b' '])
            && PYTHON_VALUES.iter().any(|v| {
                let rest = &body[i + 3..];
                rest.starts_with(v)
                    && rest
                        .get(v.len())
                        .is_none_or(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
            })
    })
}

/// Whether a body opens with a quoted `error` key holding an object or a
/// string (`"error": {…}`, `'error': '…'`), not a null beside an answer.
fn opens_with_error_key(body: &[u8]) -> bool {
    let [quote @ (b'"' | b'\''), rest @ ..] = body else {
        return false;
    };
    rest.get(..5)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"error"))
        && rest[5..]
            .strip_prefix(&[*quote])
            .and_then(|after| after.trim_ascii_start().strip_prefix(b":"))
            .and_then(|value| value.trim_ascii_start().first())
            .is_some_and(|c| matches!(c, b'{' | b'"' | b'\''))
}

/// The first line of a JSON-lines body (one JSON object a line, more than
/// one line) that carries an error.
fn ndjson_error(body: &[u8]) -> Option<&[u8]> {
    let mut lines = body
        .split(|c| *c == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty());
    let first = lines.next()?;
    if !first.starts_with(b"{") {
        return None;
    }
    std::iter::once(first)
        .chain(lines)
        .skip(1)
        .find(|l| l.starts_with(b"{") && json::scan(l, false).has_error)
}

/// An error object whose words, type and code name no cause the rules
/// know: the provider's failure, and a guess.
pub(super) fn unnamed_error() -> Verdict {
    Verdict::new(ErrorCategory::ServerError, Sub::ErrorInSuccessResponse, 40)
}

/// A success that said nothing: no body, no event, or no part of an answer.
fn empty(sub: Sub) -> Verdict {
    Verdict::new(ErrorCategory::MalformedResponse, sub, 75)
}

/// A success whose content could not be used, in words no rule explains:
/// a fallback, which says it is a guess (`report::FALLBACK_CONFIDENCE`).
pub(super) fn unexplained_success() -> Verdict {
    Verdict::new(ErrorCategory::MalformedResponse, Sub::UnexpectedBody, 60)
}

/// An SSE event name that says its data is an error: `error`, and the
/// Responses API's `response.failed`.
pub(super) fn is_error_event(name: &[u8]) -> bool {
    name == b"error" || name.ends_with(b".failed")
}

pub(super) fn complete_success(reason: Option<&str>) -> Verdict {
    match reason {
        Some(_) => Verdict::new(ErrorCategory::MalformedResponse, Sub::ValidationFailed, 70),
        None => Verdict::new(ErrorCategory::Unknown, Sub::SuccessResponse, 0),
    }
}
