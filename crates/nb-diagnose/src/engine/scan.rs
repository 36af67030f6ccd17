//! Byte-level scans of a message or body: where JSON starts, a status at
//! the front or after "Error code", a zero limit, a boolean.

use super::MAX_BODY_BYTES;
use crate::json::{self, Fields};
use crate::provider::contains_ignore_case;
use crate::waits::skip_separators;

pub(super) fn head(b: &[u8]) -> &[u8] {
    let b = without_bom(b);
    &b[..b.len().min(MAX_BODY_BYTES)]
}

/// The text without a leading UTF-8 byte-order mark, which some servers
/// put before their JSON.
pub(crate) fn without_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// Whether a text begins with a field of a server-sent event: `data:`,
/// `event:`, `id:` or `retry:`. (A comment line, `: keep-alive`, is an
/// event stream's too, but says nothing of one on its own.)
pub(crate) fn starts_sse_field(b: &[u8]) -> bool {
    [&b"data:"[..], b"event:", b"id:", b"retry:"]
        .iter()
        .any(|field| b.starts_with(field))
}

/// Whether a text reads as an event stream: it begins with an SSE field and
/// carries an event's `data:` or `event:` line. (`id: 123` alone is as
/// likely the first line of a plain-text body.)
pub(super) fn reads_as_sse(b: &[u8]) -> bool {
    starts_sse_field(b)
        && head(b).split(|c| *c == b'\n').any(|line| {
            let line = line.trim_ascii_start();
            line.starts_with(b"data:") || line.starts_with(b"event:")
        })
}

pub(super) fn starts_json(b: &[u8]) -> bool {
    matches!(b.trim_ascii_start().first(), Some(b'{' | b'['))
}

/// The structured error inside a message: an SDK's printout of the body
/// (`Error code: 429 - {'error': {...}}`), JSON or Python `repr`.
pub(super) fn embedded_json(text: &[u8]) -> Fields<'_> {
    let start = if starts_json(text) {
        text.iter().position(|c| matches!(c, b'{' | b'['))
    } else {
        text.iter().position(|c| *c == b'{')
    };
    start.map_or_else(Fields::default, |i| json::scan(&text[i..], true))
}

/// A status at the very start of a message: `429 Free allocated quota
/// exceeded.`, `<400> InternalError...`.
pub(super) fn leading_status(text: &[u8]) -> Option<u16> {
    let t = text.trim_ascii_start();
    let t = t.strip_prefix(b"<").unwrap_or(t);
    let digits = t.get(..3)?;
    let next = t.get(3).copied();
    if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.') {
        return None;
    }
    json::parse_status(digits)
}

/// HTTP's reason phrases for the error statuses an API sends.
const REASONS: [(&[u8], u16); 12] = [
    (b"bad request", 400),
    (b"unauthorized", 401),
    (b"forbidden", 403),
    (b"not found", 404),
    (b"method not allowed", 405),
    (b"payload too large", 413),
    (b"request entity too large", 413),
    (b"unprocessable entity", 422),
    (b"too many requests", 429),
    (b"internal server error", 500),
    (b"bad gateway", 502),
    (b"service unavailable", 503),
];

/// gRPC's status names, with the HTTP status Google's APIs map each to
/// (not UNIMPLEMENTED: a method the server lacks is the request's, unless a
/// 5xx says otherwise).
const GRPC_CODES: [(&[u8], u16); 9] = [
    (b"invalid_argument", 400),
    (b"failed_precondition", 400),
    (b"unauthenticated", 401),
    (b"permission_denied", 403),
    (b"not_found", 404),
    (b"resource_exhausted", 429),
    (b"internal", 500),
    (b"unavailable", 503),
    (b"deadline_exceeded", 504),
];

/// The longest name in `names`.
const fn longest(names: &[(&[u8], u16)]) -> usize {
    let mut longest = 0;
    let mut i = 0;
    while i < names.len() {
        if names[i].0.len() > longest {
            longest = names[i].0.len();
        }
        i += 1;
    }
    longest
}

/// The longest text that can be a status's name: the longest name and its
/// full stop.
const LONGEST_NAME: usize = {
    let (http, grpc) = (longest(&REASONS), longest(&GRPC_CODES));
    (if http > grpc { http } else { grpc }) + 1
};

/// The status a message that is nothing but its reason phrase ("Not
/// Found") or its gRPC status name ("INTERNAL") stands for.
pub(super) fn reason_status(text: &[u8]) -> Option<u16> {
    let t = text.trim_ascii();
    if t.len() > LONGEST_NAME {
        return None;
    }
    let t = t.strip_suffix(b".").unwrap_or(t);
    REASONS
        .iter()
        .chain(&GRPC_CODES)
        .find(|(phrase, _)| t.eq_ignore_ascii_case(phrase))
        .map(|&(_, status)| status)
}

/// A status after an exception's name, past the nested class Spring's
/// `WebClientResponseException` and `HttpClientErrorException` name each
/// status by (`WebClientResponseException$BadRequest: 400 Bad Request from
/// POST …`, `HttpClientErrorException.TooManyRequests: 429 …`).
pub(super) fn status_after_exception(b: &[u8]) -> Option<u16> {
    let nested = match b {
        [b'$' | b'.', first, rest @ ..] if first.is_ascii_uppercase() => {
            let len = rest
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            &rest[len..]
        }
        _ => b,
    };
    status_after(nested)
}

/// A status after "Error code:" and similar.
pub(super) fn status_after(b: &[u8]) -> Option<u16> {
    let b = skip_separators(b, b" :='\"(-");
    if b.get(3).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    json::parse_status(b.get(..3)?)
}

/// The status a gRPC status's name after a status word or an exception's
/// colon stands for, in the forms the stacks print it: Python's `status =
/// StatusCode.INTERNAL`, capitals (`Status: INVALID_ARGUMENT`, Java's
/// `StatusRuntimeException: INTERNAL:`), Go's `code = Internal desc =`,
/// .NET's `StatusCode="Internal"`, Connect's `ConnectError: [internal]`.
/// Not a capitalised or lower-case word alone ("Error: Internal Server
/// Error" is a reason phrase, JSON's `"code": "internal"` a provider's
/// code), nor a name run into more letters, `_` or digits (`INTERNAL_ERROR`).
/// Node's `13 INTERNAL:` is not read: its number leads. `UNAVAILABLE` names
/// no status here, though a message that is only that name reads 503
/// ([`reason_status`]): the stacks print it for a connection that failed
/// as much as for a server that shed load, and as a 503 it would turn a
/// refused connection into capacity, so the words after it decide.
pub(super) fn grpc_status_after(b: &[u8]) -> Option<u16> {
    const PREFIX: &[u8] = b"statuscode.";
    let b = skip_separators(b, b" :='\"(-[");
    let (b, prefixed) = match b.get(..PREFIX.len()) {
        Some(p) if p.eq_ignore_ascii_case(PREFIX) => (&b[PREFIX.len()..], true),
        _ => (b, false),
    };
    // Most words after a status word name no gRPC status: two letters
    // tell, before the word is read.
    let head = b.get(..2)?;
    if !GRPC_CODES
        .iter()
        .any(|(name, _)| head.eq_ignore_ascii_case(&name[..2]))
    {
        return None;
    }
    let len = b
        .iter()
        .take(LONGEST_NAME + 1)
        .take_while(|c| c.is_ascii_alphabetic() || **c == b'_')
        .count();
    let (word, rest) = b.split_at(len);
    let no_capitals = word.iter().all(|c| !c.is_ascii_uppercase());
    let printed_as_name = prefixed
        || word.iter().all(|c| !c.is_ascii_lowercase())
        || rest.first() == Some(&b']')
        || (rest.first() == Some(&b'"') && !no_capitals)
        || rest.starts_with(b" desc =");
    if !printed_as_name || rest.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let first = head[0].to_ascii_lowercase();
    let same_letters = |name: &[u8]| {
        word.iter()
            .filter(|c| **c != b'_')
            .map(u8::to_ascii_lowercase)
            .eq(name.iter().copied().filter(|c| *c != b'_'))
    };
    GRPC_CODES
        .iter()
        .filter(|(name, _)| *name != b"unavailable")
        .find(|(name, _)| name[0] == first && same_letters(name))
        .map(|&(_, status)| status)
}

/// Whether the first number within the next few bytes is exactly `0`.
pub(super) fn zero_follows(b: &[u8]) -> bool {
    let b = &b[..b.len().min(48)];
    let Some(i) = b.iter().position(u8::is_ascii_digit) else {
        return false;
    };
    b[i] == b'0'
        && !b
            .get(i + 1)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
}

/// The number right after a word (`Limit 7000`, `Requested ~12903`,
/// `limit: 1,000,000`), written with or without thousands separators.
pub(super) fn number_after(b: &[u8]) -> Option<u64> {
    let b = skip_separators(b, b" :=~\"");
    let mut value: u64 = 0;
    let mut digits = 0;
    for (i, &c) in b.iter().enumerate().take(24) {
        match c {
            b'0'..=b'9' => {
                value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                digits += 1;
            }
            // A separator between digits groups ("1,000,000").
            b',' | b'_'
                if digits > 0
                    && b.get(i + 1..i + 4)
                        .is_some_and(|g| g.iter().all(u8::is_ascii_digit)) => {}
            _ => break,
        }
    }
    (digits > 0).then_some(value)
}

/// How far before "requested" its limit is looked for.
const LIMIT_SPAN: usize = 48;

/// The number after the last "limit" in the few bytes that end `b`
/// (`Limit 7000, Used 0, ` before `Requested ~12903`).
pub(super) fn limit_before(b: &[u8]) -> Option<u64> {
    let b = &b[b.len().saturating_sub(LIMIT_SPAN)..];
    let at = (0..b.len().saturating_sub(4))
        .rev()
        .find(|&i| b[i] | 0x20 == b'l' && b[i..i + 5].eq_ignore_ascii_case(b"limit"))?;
    number_after(&b[at + 5..])
}

/// How far before "API key" a word rejecting it still refers to it.
const REJECTED_SPAN: usize = 24;

/// Whether a word rejecting a key ("invalid", "incorrect", "wrong",
/// "missing", or "no" as a word) ends the text shortly, in the same clause
/// ("Invalid xAI API Key", "No OpenAI API key provided", not "Invalid
/// value. Check your API key").
pub(super) fn rejected_before(b: &[u8]) -> bool {
    let from = b.len().saturating_sub(REJECTED_SPAN);
    let mut b = &b[from..];
    // A window that begins inside a word ("casi|no API key") drops it.
    if from > 0 && b.first().is_some_and(u8::is_ascii_alphanumeric) {
        let partial = b.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        b = &b[partial..];
    }
    let clause = b
        .iter()
        .rposition(|c| matches!(c, b'.' | b':' | b';' | b'\n' | b'"' | b','))
        .map_or(b, |i| &b[i + 1..]);
    [&b"invalid"[..], b"incorrect", b"wrong", b"missing"]
        .iter()
        .any(|w| contains_ignore_case(clause, w))
        || clause
            .split(|c| !c.is_ascii_alphanumeric())
            .any(|w| w.eq_ignore_ascii_case(b"no"))
}

/// Whether what comes before a match leaves it printed on its own: the
/// text's start, or a separator (`:`, `-`, `：`, whitespace aside) a
/// client put between its words and a printed exception. Trailing
/// punctuation after the match ("'choices'.") is not Python's printout,
/// and is not read.
pub(super) fn printed_alone(before: &[u8]) -> bool {
    let before = before.trim_ascii_end();
    before.is_empty()
        || before.ends_with(b":")
        || before.ends_with(b"-")
        || before.ends_with("：".as_bytes())
}

pub(super) fn parse_bool(v: &[u8]) -> Option<bool> {
    let v = v.trim_ascii();
    if v.eq_ignore_ascii_case(b"true") {
        Some(true)
    } else if v.eq_ignore_ascii_case(b"false") {
        Some(false)
    } else {
        None
    }
}

/// The longest exception name whose words are read.
pub(super) const MAX_NAME: usize = 64;

/// `AccountOverdueError` as `account overdue error`, `APIConnectionError`
/// as `api connection error`, `FailedOperation.FreeResourcePackExhausted` as
/// `failed operation free resource pack exhausted`, into `out` (twice the
/// name's length at most); returns the length written.
pub(super) fn spell_name(name: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    for (i, &c) in name.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            out[n] = b' ';
            n += 1;
            continue;
        }
        let prev = i.checked_sub(1).map(|j| name[j]);
        let next = name.get(i + 1);
        let starts_word = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(u8::is_ascii_lowercase))
            });
        if starts_word {
            out[n] = b' ';
            n += 1;
        }
        out[n] = c.to_ascii_lowercase();
        n += 1;
    }
    n
}

/// Whether `code` is a CamelCase identifier (`InputImageSensitiveContentDetected`,
/// `FailedOperation.ServiceNotActivated`) short enough to spell.
pub(super) fn is_camel_code(code: &[u8]) -> bool {
    code.len() <= MAX_NAME
        && code
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        && code
            .windows(2)
            .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}
