//! What the diagnosis reports besides its category: sub-category names,
//! confidence, the provider's error fields, and key redaction.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::{MAX_MESSAGE, Verdict};
use crate::catalogue::{CATALOGUE, KEY_PREFIXES, Sub};
use crate::failure::H;
use crate::json::{Fields, Text};
use crate::{Provider, ProviderError, ResponseHeaders};

/// One cell per provider (`Provider as usize` is its index in
/// [`Provider::ALL`], checked by `profiles_are_indexed_by_provider`).
pub(super) type Names = [OnceLock<Box<str>>; Provider::ALL.len()];

/// `provider_suffix` names of the verdicts no rule gives, composed on first
/// use and shared by every engine.
pub(super) static SUB_NAMES: [Names; Sub::COUNT] =
    [const { [const { OnceLock::new() }; Provider::ALL.len()] }; Sub::COUNT];

/// `provider_suffix` names of the built-in rules, by rule id, composed on
/// first use and shared by every engine.
pub(super) fn rule_names() -> &'static [Names] {
    static RULE_NAMES: OnceLock<Box<[Names]>> = OnceLock::new();
    RULE_NAMES.get_or_init(|| {
        (0..CATALOGUE.len())
            .map(|_| std::array::from_fn(|_| OnceLock::new()))
            .collect()
    })
}

/// `suffix` with the provider's name in front (`dashscope_rate_limit`), or
/// alone when the provider is unknown; composed once into `cell`.
pub(super) fn prefixed<'c>(
    provider: Provider,
    suffix: &'static str,
    cell: &'c OnceLock<Box<str>>,
) -> Cow<'c, str> {
    if provider == Provider::Unknown {
        return Cow::Borrowed(suffix);
    }
    Cow::Borrowed(cell.get_or_init(|| [provider.as_str(), "_", suffix].concat().into_boxed_str()))
}

/// The confidence of a reading no word or code decided: the body was an
/// error object whose words name nothing known, or neither an answer nor an
/// error, or a program printed words naming no cause under a 2xx. On the
/// first readings of seven sealed sets the first two were right 8 times in
/// 23, so they say they are guesses.
pub(super) const FALLBACK_CONFIDENCE: f32 = 0.5;

pub(super) fn confidence(v: &Verdict) -> f32 {
    if v.rule.is_none() && matches!(v.sub, Sub::ErrorInSuccessResponse | Sub::UnexpectedBody) {
        return FALLBACK_CONFIDENCE;
    }
    match v.sub {
        Sub::GuessedFromWords => return crate::words::guess_confidence(v.category),
        Sub::ChunkGuessedFromWords => return crate::words::STREAM_GUESS_CONFIDENCE,
        _ => {}
    }
    let base = match v.priority {
        85.. => 0.95,
        70..=84 => 0.9,
        55..=69 => 0.8,
        40..=54 => 0.7,
        30..=39 => 0.65,
        10..=29 => 0.5,
        _ => 0.2,
    };
    if v.agrees && v.priority != 30 {
        f32::min(base + 0.04, 0.99)
    } else {
        base
    }
}

/// The provider's error fields. Text from the body is redacted when the scan
/// saw the start of a key in it (`secret`); header values always are.
pub(super) fn provider_error(
    fields: &Fields<'_>,
    headers: &ResponseHeaders<'_>,
    secret: bool,
) -> Option<ProviderError> {
    let text = |t: Option<Text<'_>>| {
        t.map(|t| {
            let s = t.decode(MAX_MESSAGE);
            if secret { redact(s) } else { s }
        })
    };
    let plain = |raw| Text {
        raw,
        escaped: false,
    };
    let header_text = |h: H| headers.at(h).map(|v| redact(plain(v).decode(MAX_MESSAGE)));
    let amzn = headers.at(H::AmznErrorType).map(|v| {
        // `ThrottlingException:http://internal.amazon.com/coral/...`
        let name = v.split(|c| *c == b':').next().unwrap_or(v);
        plain(name).decode(MAX_MESSAGE)
    });
    let request_id = text(fields.request_id)
        .or_else(|| header_text(H::RequestId))
        .or_else(|| header_text(H::XRequestId))
        .or_else(|| header_text(H::AmznRequestId))
        .or_else(|| header_text(H::ApimRequestId));
    if !fields.any() && amzn.is_none() && request_id.is_none() {
        return None;
    }
    Some(ProviderError {
        error_type: text(fields.kind()).or(amzn),
        code: text(fields.code()),
        message: text(fields.message()),
        request_id,
        upstream_provider: text(fields.upstream),
        param: text(fields.param),
    })
}

/// Masks anything shaped like an API key (`sk-...`, `AIza...`, `gsk_...`,
/// `Bearer ...`), keeping its prefix: `sk-***`.
pub(crate) fn redact(s: String) -> String {
    /// Fewer characters after a prefix are not a key.
    const KEY_LEN: usize = 6;
    /// The shortest text that can hold a key.
    const SHORTEST: usize = {
        let (mut min, mut i) = (usize::MAX, 0);
        while i < KEY_PREFIXES.len() {
            if KEY_PREFIXES[i].len() < min {
                min = KEY_PREFIXES[i].len();
            }
            i += 1;
        }
        min + KEY_LEN
    };
    /// The bytes a prefix starts with.
    const FIRST: [bool; 256] = {
        let (mut first, mut i) = ([false; 256], 0);
        while i < KEY_PREFIXES.len() {
            first[KEY_PREFIXES[i].as_bytes()[0] as usize] = true;
            i += 1;
        }
        first
    };
    if s.len() < SHORTEST {
        return s;
    }
    let b = s.as_bytes();
    let key_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'*' | b'.');
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let at_word = FIRST[usize::from(b[i])] && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        let prefix = if at_word {
            KEY_PREFIXES
                .iter()
                .find(|p| b[i..].starts_with(p.as_bytes()))
        } else {
            None
        };
        if let Some(p) = prefix {
            let start = i + p.len();
            let mut end = start + b[start..].iter().take_while(|c| key_char(**c)).count();
            // A sentence's full stop is not part of the key.
            while end > start && b[end - 1] == b'.' {
                end -= 1;
            }
            if end - start >= KEY_LEN {
                let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
                o.push_str(&s[copied..start]);
                o.push_str("***");
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    match out {
        Some(mut o) => {
            o.push_str(&s[copied..]);
            o
        }
        None => s,
    }
}
