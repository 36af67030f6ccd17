//! An error that arrived inside a stream: an error event or chunk the
//! provider sent, a client's printout of one, or the words of a cut.

use super::scan::{embedded_json, head, reads_as_sse, starts_json, starts_sse_field};
use super::success::{complete_success, is_error_event, unnamed_error};
use super::{DiagnosisEngine, Evidence, Verdict, is_provider_error};
use crate::ErrorCategory;
use crate::catalogue::Sub;
use crate::failure::ResponseHeaders;
use crate::json::{self, Fields};

impl DiagnosisEngine {
    /// A stream cut short; an error event in its text (Anthropic sends
    /// `overloaded_error` mid-stream) names the real cause.
    ///
    /// An event (JSON, or SSE lines) is read as a 200's body would be: an
    /// error object names its cause in its words, or else in its type, its
    /// code or the status it carries (`originalStatusCode`); an error
    /// object that names nothing is the provider's server error, and an
    /// event that does not parse is a malformed response. Bare text is
    /// scanned, with any status it names; there, words of a cut connection
    /// mean the stream broke, and what names no cause clearly is
    /// `stream_interrupted`.
    pub(super) fn stream<'b>(
        &self,
        detail: &'b str,
        ev: &mut Evidence,
        fields: &mut Fields<'b>,
    ) -> Verdict {
        use ErrorCategory::{MalformedResponse, Network, StreamInterrupted, Timeout};
        let text = head(detail.as_bytes());
        let trimmed = text.trim_ascii_start();
        let sse = reads_as_sse(trimmed);
        // The one event the detail holds, if it holds one.
        let event = if sse {
            lone_event_data(trimmed)
        } else {
            Some(trimmed)
        };
        if event.is_some_and(null_chunk) && !names_an_error_event(trimmed) {
            return Verdict::new(MalformedResponse, Sub::EmptyAnswer, 75);
        }
        let structured = sse || starts_json(trimmed);
        let object = structured
            .then(|| self.success_body(text, &ResponseHeaders::new(), None, ev, fields))
            .map(|v| match event {
                Some(data) if sse && v.sub == Sub::TruncatedEvent => broken_event(data),
                // The usual last chunk of a stream says nothing; given alone
                // it tells nothing of the chunks before it, unless it says
                // no output was made.
                Some(chunk) if v.sub == Sub::EmptyAnswer && !said_it_said_nothing(chunk) => {
                    complete_success(None)
                }
                _ => v,
            });
        // The provider's own error object names its cause, a deadline it
        // met before output began included ("code": "timeout").
        let named_by_provider = |v: &Verdict| {
            is_provider_error(v.category)
                || (v.category == Timeout && fields.has_error && !ev.mid_body)
        };
        if let Some(v) =
            object.filter(|v| named_by_provider(v) && v.sub != Sub::ErrorInSuccessResponse)
        {
            return v;
        }
        if structured && let Some(v) = self.named_by_object(fields, false) {
            return v;
        }
        // An error object that names nothing, or an event that does not
        // parse (not a line of prose in brackets), unless the words around
        // it say more.
        let object_like = sse || trimmed.starts_with(b"{");
        let fallback = object
            .filter(|v| {
                v.sub == Sub::ErrorInSuccessResponse
                    || (object_like && v.category == MalformedResponse)
            })
            .or_else(|| (structured && lone_message_event(trimmed)).then(unnamed_error));
        *ev = Evidence::default();
        *fields = embedded_json(text);
        // A client's printout of the provider's error object ("OpenRouter
        // Mid-Stream Error: {\"code\": 502, …}") names its cause as the
        // object itself would.
        if !structured
            && let Some(v) = self
                .named_by_object(fields, true)
                .or_else(|| self.named_by_object(fields, false))
        {
            return v;
        }
        self.scan_text(text, fields, ev);
        let status = fields
            .numeric_status
            .or(ev.status)
            .or(ev.named_status)
            .filter(|s| (400..600).contains(s));
        // The stream began with a 200: words of a body that did not parse
        // count, as in a 200's body.
        let v = self.classify(ev, fields, status, status.is_none());
        // A status the text names needs a rule to agree; bare words must be
        // clear.
        let agreed = ev
            .best
            .is_some_and(|h| self.rule(h.rule).category == v.category);
        // A parser's words, even generic ones ("failed to parse"), are about
        // a chunk: inside a stream that is a malformed answer, not a cut.
        let least = if status.is_some() && agreed {
            30
        } else if v.category == MalformedResponse {
            50
        } else {
            60
        };
        // Words of a cut, unless a parser's words outrank them ("APIConnectionError:
        // Error parsing chunk").
        let cut = v.category != MalformedResponse
            && ev
                .best
                .is_some_and(|h| matches!(self.rule(h.rule).category, Network | StreamInterrupted));
        // A timeout the text names clearly ("BodyTimeoutError") is why the
        // stream stopped, before its first token; a vague "timed out", or a
        // deadline met while reading the body, is a cut after output began.
        let named = match v.category {
            Timeout => v.priority >= 60 && !ev.mid_body,
            c => c == MalformedResponse || is_provider_error(c),
        };
        if cut {
            Verdict::new(StreamInterrupted, Sub::StreamInterrupted, 90)
        } else if named && v.priority >= least {
            v
        } else {
            fallback.unwrap_or_else(Verdict::unexplained_stop)
        }
    }

    /// The provider error an error object names: by its message, type,
    /// code and any HTTP status it carries, or, without `words`, by its
    /// machine-readable fields alone, for when its words only describe a
    /// connection ("Provider disconnected" with the code `server_error` is
    /// the provider's server error).
    fn named_by_object(&self, fields: &Fields<'_>, words: bool) -> Option<Verdict> {
        let status = fields.numeric_status.filter(|s| (400..600).contains(s));
        let an_error = fields.has_error || (status.is_some() && fields.message().is_some());
        if !an_error {
            return None;
        }
        let mut ev = Evidence::default();
        let message = fields.message().filter(|_| words);
        for t in [message, fields.kind(), fields.code()]
            .into_iter()
            .flatten()
        {
            self.scan(t.raw, &mut ev, 0);
        }
        let v = self.classify(&ev, &Fields::default(), status, false);
        is_provider_error(v.category).then_some(v)
    }
}

impl Verdict {
    /// A stream that stopped with words naming no cause the engine knows:
    /// read from the stream alone, as a bare status is read from the status
    /// alone, and as sure.
    fn unexplained_stop() -> Self {
        Verdict::new(ErrorCategory::StreamInterrupted, Sub::StreamInterrupted, 30)
    }

    /// Whether this is [`Verdict::unexplained_stop`], which the words of the
    /// stop may still read as a chunk that could not be used.
    pub(super) fn is_unexplained_stop(&self) -> bool {
        let stop = Self::unexplained_stop();
        (self.category, self.sub, self.priority, self.rule)
            == (stop.category, stop.sub, stop.priority, stop.rule)
    }
}

/// The data of a detail made of SSE fields with one `data:` line (one
/// event as a stream's reader hands it over), unless it is the end marker.
fn lone_event_data(detail: &[u8]) -> Option<&[u8]> {
    let mut data = None;
    for line in detail.split(|c| *c == b'\n').map(<[u8]>::trim_ascii) {
        if let Some(d) = line.strip_prefix(b"data:") {
            if data.replace(d.trim_ascii()).is_some() {
                return None;
            }
        } else if !(line.is_empty() || line.starts_with(b":") || starts_sse_field(line)) {
            return None;
        }
    }
    data.filter(|d| !d.starts_with(b"[DONE"))
}

/// A chunk that is nothing, as JSON or Python prints it (`data: null`,
/// `None`): no answer in it, and no cut.
fn null_chunk(data: &[u8]) -> bool {
    [&b"null"[..], b"None"].contains(&data.trim_ascii())
}

/// Whether an SSE `event:` line names an error (`error`, `response.failed`).
fn names_an_error_event(detail: &[u8]) -> bool {
    detail
        .split(|c| *c == b'\n')
        .filter_map(|line| line.trim_ascii().strip_prefix(b"event:"))
        .any(|name| is_error_event(name.trim_ascii()))
}

/// A chunk that says nothing and says so itself: `choices: null`, an output
/// token count of zero, or Gemini candidates with no part (which no chunk
/// of a healthy answer is).
fn said_it_said_nothing(chunk: &[u8]) -> bool {
    let f = json::scan(chunk, false);
    f.no_choices || f.no_output || !f.chat_answer
}

/// An event that is nothing but a message string (`{"message": "…"}`): no
/// answer, so an error's, as Bedrock sends its exceptions' payloads.
fn lone_message_event(detail: &[u8]) -> bool {
    let data = lone_event_data(detail).unwrap_or(detail);
    let fields = json::scan(data, false);
    let string_value = data
        .iter()
        .position(|c| *c == b':')
        .is_some_and(|i| data[i + 1..].trim_ascii_start().starts_with(b"\""));
    fields.complete && fields.top_keys == 1 && fields.top_message.is_some() && string_value
}

/// One whole event whose data does not parse. A 200's body whose last
/// event does not parse ended there: a cut. A stream's reader hands over
/// only whole events, so one given as the failure was sent broken, as a
/// chunk of a 200's body is: surely when its JSON closes; less so when it
/// stops half-way (a reader that hands over lines, not events, would show
/// a cut so) or is prose, which may be an error's words the rules do not
/// know.
fn broken_event(data: &[u8]) -> Verdict {
    use ErrorCategory::MalformedResponse;
    if !starts_json(data) {
        return Verdict::new(MalformedResponse, Sub::UnexpectedBody, 45);
    }
    let closed = matches!(data.last(), Some(b'}' | b']'));
    Verdict::new(
        MalformedResponse,
        Sub::BrokenJson,
        if closed { 85 } else { 45 },
    )
}
