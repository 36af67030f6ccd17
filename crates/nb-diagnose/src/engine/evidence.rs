//! What the scans find: rule hits and signals, gathered by running the
//! automata over a body or a message.

use std::cmp::Reverse;
use std::time::Duration;

use super::scan::{
    MAX_NAME, grpc_status_after, is_camel_code, limit_before, number_after, printed_alone,
    rejected_before, spell_name, status_after, status_after_exception, zero_follows,
};
use super::{Boundary, DiagnosisEngine, MAX_BODY_BYTES, Target, What};
use crate::catalogue::{MODEL_MISSING_SPAN, Signal};
use crate::json::{Fields, Text};
use crate::matcher::Matcher;
use crate::{ErrorCategory, Provider, waits};

/// The least priority of an overloaded rule that outranks a rate limit.
pub(super) const CAPACITY_WORDS: u8 = 60;

/// How near a word about the prompt's size and a word of excess must be.
const SIZE_SPAN: usize = 80;

impl DiagnosisEngine {
    /// Runs the automata over `hay`, collecting rule hits and signals.
    pub(super) fn scan(&self, hay: &[u8], ev: &mut Evidence, order: u8) {
        ev.model_at = None;
        ev.resource_at = None;
        ev.prompt_at = None;
        ev.excess_at = None;
        self.scan_with(&self.compiled.ascii, hay, ev, order);
        if !hay.is_ascii() {
            self.scan_with(&self.compiled.wide, hay, ev, order);
        }
        let names = std::mem::take(&mut ev.exception_names);
        for &(from, to) in names.iter().flatten() {
            let mut words = [0u8; 2 * MAX_NAME];
            let n = spell_name(&hay[from..to], &mut words);
            ev.model_at = None;
            ev.resource_at = None;
            // After every haystack: a provider named in the text wins.
            self.scan_with(&self.compiled.ascii, &words[..n], ev, order + 8);
        }
    }

    fn scan_with(&self, matcher: &Matcher<Target>, hay: &[u8], ev: &mut Evidence, order: u8) {
        matcher.each_match(hay, &mut |t, end| {
            let start = end.saturating_sub(usize::from(t.len));
            let alnum = |i: Option<&u8>| i.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
            let start_ok = start == 0 || !alnum(hay.get(start - 1));
            let ok = match t.boundary {
                Boundary::None => true,
                Boundary::Start => start_ok,
                Boundary::Both => start_ok && !alnum(hay.get(end)),
                Boundary::Last => {
                    hay[end..].iter().all(u8::is_ascii_whitespace) && printed_alone(&hay[..start])
                }
            };
            if !ok {
                return;
            }
            match t.what {
                What::Rule(id) => {
                    let r = self.rule(id);
                    let hit = Hit {
                        rule: id,
                        priority: r.priority,
                        len: t.len,
                    };
                    let slot = if r.success_only {
                        &mut ev.best_success
                    } else {
                        &mut ev.best
                    };
                    if slot.is_none_or(|b| hit.key() > b.key()) {
                        *slot = Some(hit);
                    }
                    if r.category == ErrorCategory::Overloaded
                        && r.priority >= CAPACITY_WORDS
                        && ev.capacity.is_none_or(|b| hit.key() > b.key())
                    {
                        ev.capacity = Some(hit);
                    }
                }
                What::Signal(Signal::Wait) => {
                    if ev.wait.is_none() {
                        ev.wait = waits::parse_hint(&hay[end..]);
                    }
                }
                What::Signal(Signal::Status) => {
                    if ev.status.is_none() {
                        ev.status = status_after(&hay[end..]);
                    }
                    if ev.named_status.is_none() {
                        ev.named_status = grpc_status_after(&hay[end..]);
                    }
                }
                What::Signal(Signal::QuotaValue) => {
                    ev.zero_limit |= zero_follows(&hay[end..]);
                }
                What::Signal(Signal::ZeroLimit) => {
                    // "limit: 0", not "limit: 0.5" or "limit: 05"; words
                    // that deny any allowance ("doesn't have a free quota
                    // tier") need no number.
                    let ends_in_digit = hay[end - 1].is_ascii_digit();
                    let next = hay.get(end);
                    ev.zero_limit |=
                        !ends_in_digit || !next.is_some_and(|c| c.is_ascii_digit() || *c == b'.');
                }
                What::Signal(Signal::ExceptionName) => {
                    // `…Error` and `…Exception` written in CamelCase after
                    // at least one other word (`EOFException`, `HTTPError`).
                    let camel = start > 0
                        && hay[start].is_ascii_uppercase()
                        && hay[start + 1].is_ascii_lowercase()
                        && hay[start - 1].is_ascii_alphanumeric()
                        && !alnum(hay.get(end));
                    if !camel {
                        return;
                    }
                    // "APIConnectionError: 500 Internal error": the status
                    // the exception was raised for.
                    if ev.status.is_none() {
                        ev.status = status_after_exception(&hay[end..]);
                    }
                    if ev.named_status.is_none() {
                        ev.named_status = grpc_status_after(&hay[end..]);
                    }
                    let from = hay[..start]
                        .iter()
                        .rposition(|c| !c.is_ascii_alphanumeric())
                        .map_or(0, |i| i + 1);
                    let slot = ev.exception_names.iter_mut().find(|s| s.is_none());
                    if let Some(slot) = slot.filter(|_| end - from <= MAX_NAME) {
                        *slot = Some((from, end));
                    }
                }
                What::Signal(Signal::Periodic) => ev.periodic = true,
                What::Signal(Signal::Tokens) => ev.tokens = true,
                What::Signal(Signal::RequestedValue) => {
                    // "limit" alone is too common a word to watch for; it is
                    // looked for only here, where it matters.
                    if ev.requested_value.is_none() {
                        ev.requested_value = number_after(&hay[end..]);
                        ev.limit_value = limit_before(&hay[..start]);
                    }
                }
                What::Signal(Signal::Monthly) => ev.monthly = true,
                What::Signal(s @ (Signal::PromptSize | Signal::Excess)) => {
                    // Either word may come first.
                    let (seen, other) = if s == Signal::PromptSize {
                        (&mut ev.prompt_at, ev.excess_at)
                    } else {
                        (&mut ev.excess_at, ev.prompt_at)
                    };
                    *seen = Some(end);
                    ev.oversize |= other.is_some_and(|at| start.saturating_sub(at) <= SIZE_SPAN);
                }
                What::Signal(Signal::OtherSize) => ev.other_size = true,
                What::Signal(Signal::MidBody) => ev.mid_body = true,
                What::Signal(Signal::ApiKey) => ev.bad_key |= rejected_before(&hay[..start]),
                What::Signal(Signal::Secret) => ev.secret = true,
                What::Signal(Signal::Model) => {
                    ev.model_at = Some(end);
                    ev.model_named = true;
                }
                What::Signal(Signal::Resource) => ev.resource_at = Some(end),
                What::Signal(Signal::Missing) => {
                    // A model shortly before "not found" is what is missing
                    // ("pull model manifest: file does not exist"); else an
                    // object named there is.
                    let near = |at: Option<usize>| {
                        at.is_some_and(|at| start >= at && start - at <= MODEL_MISSING_SPAN)
                    };
                    if near(ev.model_at) {
                        ev.model_missing = true;
                    } else if near(ev.resource_at) {
                        ev.resource_missing = true;
                    }
                }
                What::Signal(Signal::Names(p)) => {
                    let key = (order, start, Reverse(t.len));
                    if ev.names.is_none_or(|(k, _)| key < k) {
                        ev.names = Some((key, p));
                    }
                }
            }
        });
    }

    /// Scans `text`, plus its decoded form when `fields` found `\u` escapes
    /// (non-ASCII messages sent escaped, which literals cannot match raw).
    pub(super) fn scan_text(&self, text: &[u8], fields: &Fields<'_>, ev: &mut Evidence) {
        self.scan(text, ev, 0);
        if let Some(m) = fields.message().filter(Text::has_unicode_escape) {
            self.scan(m.decode(MAX_BODY_BYTES).as_bytes(), ev, 1);
        }
        self.scan_code_words(fields, ev);
    }

    /// Reads an error's CamelCase type and code as words, as exception
    /// names are: `FailedOperation.FreeResourcePackExhausted` names its
    /// cause in words the catalogue knows, whatever the provider.
    pub(super) fn scan_code_words(&self, fields: &Fields<'_>, ev: &mut Evidence) {
        for code in [fields.kind(), fields.code()].into_iter().flatten() {
            if is_camel_code(code.raw) {
                let mut words = [0u8; 2 * MAX_NAME];
                let n = spell_name(code.raw, &mut words);
                ev.model_at = None;
                ev.resource_at = None;
                self.scan_with(&self.compiled.ascii, &words[..n], ev, 9);
            }
        }
    }
}

/// What the scans found.
#[derive(Debug, Default)]
pub(super) struct Evidence {
    pub(super) best: Option<Hit>,
    pub(super) best_success: Option<Hit>,
    /// The best hit naming the provider's capacity ("overloaded", "high
    /// demand") clearly.
    pub(super) capacity: Option<Hit>,
    /// Where the last word about the prompt's size ("prompt", "input",
    /// "n_ctx") and the last word of excess ("exceeds", "too long") ended.
    pub(super) prompt_at: Option<usize>,
    pub(super) excess_at: Option<usize>,
    /// The two met within [`SIZE_SPAN`] bytes: the text says the prompt is
    /// too long, in whatever words.
    pub(super) oversize: bool,
    /// The text names a size that is not the prompt's (a parameter's range,
    /// an image, a file): a number compared with it is that size's bound.
    pub(super) other_size: bool,
    pub(super) wait: Option<Duration>,
    /// A status the text prints ("Error code: 429").
    pub(super) status: Option<u16>,
    /// The status a gRPC status's name in the text stands for
    /// (`StatusCode.INTERNAL`): read only where no other status came.
    pub(super) named_status: Option<u16>,
    /// The earliest provider name: (haystack, position, longest first).
    pub(super) names: Option<(NameKey, Provider)>,
    pub(super) zero_limit: bool,
    pub(super) periodic: bool,
    /// A limit is counted in tokens ([`Signal::Tokens`]).
    pub(super) tokens: bool,
    /// The number after the first "requested", and after the "limit"
    /// shortly before it: a request larger than the limit itself cannot
    /// pass by waiting.
    pub(super) limit_value: Option<u64>,
    pub(super) requested_value: Option<u64>,
    /// The text names a month or a billing period as the limit's span.
    pub(super) monthly: bool,
    /// Exception names (`AccountOverdueError`) found in the current
    /// haystack, as byte ranges; their words are read after it.
    pub(super) exception_names: [Option<(usize, usize)>; 3],
    /// Some text looked like the start of a key: redact what is copied out.
    pub(super) secret: bool,
    /// "Invalid … API key": the credential was rejected.
    pub(super) bad_key: bool,
    /// A deadline passed while the body was being read ([`Signal::MidBody`]).
    pub(super) mid_body: bool,
    /// Where the last "model" ended, in the current haystack.
    pub(super) model_at: Option<usize>,
    /// "not found" (or similar) shortly after "model".
    pub(super) model_missing: bool,
    /// The text says "model" somewhere.
    pub(super) model_named: bool,
    /// Where the last [`Signal::Resource`] word ended, in the current haystack.
    pub(super) resource_at: Option<usize>,
    /// "not found" (or similar) shortly after an object that is not a model.
    pub(super) resource_missing: bool,
}

type NameKey = (u8, usize, Reverse<u16>);

#[derive(Debug, Clone, Copy)]
pub(super) struct Hit {
    pub(super) rule: u32,
    pub(super) priority: u8,
    pub(super) len: u16,
}

impl Hit {
    /// Higher priority, then the longer literal, then the earlier rule.
    pub(super) fn key(self) -> (u8, u16, Reverse<u32>) {
        (self.priority, self.len, Reverse(self.rule))
    }
}
