//! The diagnosis engine: evidence in, [`Diagnosis`] out.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use crate::advice::{self, Cause};
use crate::catalogue::{AMBIGUOUS_QUOTA, CATALOGUE, Entry, SIGNALS, Signal, Sub, status_rule};
use crate::failure::H;
use crate::json::{self, Fields};
use crate::matcher::Matcher;
use crate::waits;
use crate::words::{self, Question};
use crate::{
    Diagnosis, ErrorCategory, Failure, FailureKind, ResponseHeaders, Rule, RuleError, Severity,
    TimeoutPhase,
};
use crate::{Provider, detect_provider, profiles};

mod evidence;
mod printed;
mod report;
mod scan;
mod stream;
mod success;

use evidence::Evidence;
pub(crate) use report::redact;
use report::{SUB_NAMES, confidence, prefixed, provider_error, rule_names};
use scan::{head, parse_bool, starts_json};
pub(crate) use scan::{starts_sse_field, without_bom};

/// At most this many bytes of a body or message are read (64 KiB): error
/// bodies are far smaller, and a huge body must stay cheap. For a streamed
/// (SSE) body the *last* 64 KiB are read, where the finish signal would be.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest wait that makes a spent quota a window that resets: a day,
/// as a periodic limit's "per day" does.
const WINDOW_AT_MOST: Duration = Duration::from_secs(24 * 60 * 60);

/// Provider messages kept in a [`ProviderError`](crate::ProviderError) are cut to this many bytes.
const MAX_MESSAGE: usize = 500;

/// Turns failures into [`Diagnosis`]es: a pure function of the failure and
/// the catalogue (built-in plus user [`Rule`]s).
///
/// A diagnosis describes the failure; it decides nothing. A server-given
/// wait is reported as it is, however long (`retry_after`): whether it is
/// worth waiting is the client's decision (NeuralBridge's policy table and
/// its backoff's `max_wait`, the one wait cap).
///
/// The built-in catalogue is compiled into automata once per process, on
/// first use (tens of milliseconds, more in a debug build), and shared by
/// every engine without user rules, so [`DiagnosisEngine::new`] is cheap
/// after the first call. Each engine with user rules compiles its own. It is
/// `Send + Sync`, and clones share the compiled catalogue.
///
/// ```
/// use std::time::Duration;
/// use nb_diagnose::{DiagnosisEngine, ErrorCategory, Failure};
///
/// let engine = DiagnosisEngine::new();
/// let d = engine.diagnose(&Failure::http(429, "{}").header("retry-after", "600"));
/// assert_eq!(d.category, ErrorCategory::RateLimit);
/// assert!(d.retryable, "the same model can succeed once the wait is over");
/// assert_eq!(d.retry_after, Some(Duration::from_secs(600)));
/// ```
#[derive(Debug, Clone)]
pub struct DiagnosisEngine {
    user_rules: Vec<Rule>,
    compiled: Arc<Compiled>,
    /// Whether a text no rule reads, or a stream's stop no rule explains,
    /// is given a guess from its words.
    guesses: bool,
}

/// The catalogue and the user rules, compiled.
#[derive(Debug)]
struct Compiled {
    rules: Vec<RuleData>,
    /// Literals made of ASCII bytes only.
    ascii: Matcher<Target>,
    /// The others (Chinese phrases), run only over text that is not ASCII:
    /// kept apart, their bytes would multiply the byte classes, and so the
    /// size, of the main automaton.
    wide: Matcher<Target>,
}

/// The built-in catalogue, compiled once per process and shared by every
/// engine without user rules (compiling it is the slow part of `new()`).
fn builtin() -> Arc<Compiled> {
    static BUILTIN: OnceLock<Arc<Compiled>> = OnceLock::new();
    BUILTIN
        .get_or_init(|| {
            #[allow(clippy::expect_used)]
            // The built-in catalogue has no user rule to refuse and always
            // compiles (test `builtin_catalogue_compiles`).
            Arc::new(Compiled::build(&[]).expect("the built-in catalogue compiles"))
        })
        .clone()
}

impl Compiled {
    /// Compiles the catalogue, the signals and `user_rules` into automata.
    fn build(user_rules: &[Rule]) -> Result<Self, RuleError> {
        let mut rules = Vec::with_capacity(CATALOGUE.len() + user_rules.len());
        let mut entries: Vec<(&str, Target)> = Vec::new();
        for e in CATALOGUE {
            let id = rule_id(rules.len());
            rules.push(RuleData::builtin(e));
            let b = match (e.word, e.last) {
                // `last` implies its own boundary (a catalogue test keeps
                // `word` off such entries).
                (_, true) => Boundary::Last,
                (true, false) => Boundary::Both,
                (false, false) => Boundary::None,
            };
            entries.extend(e.patterns.iter().map(|p| entry(p, What::Rule(id), b)));
        }
        for (signal, literals) in SIGNALS {
            // Object names must be whole words ("file", not "profile");
            // a window may sit inside a quota id ("RequestsPerDayPerProject"),
            // and an exception name's last word inside the name.
            let b = match signal {
                Signal::Resource => Boundary::Both,
                // Some missing-words start at a closing quote
                // (`'x' is not supported`); a key's name may run into "api_key"
                // (`BAIDU_API_KEY`).
                Signal::Periodic | Signal::ExceptionName | Signal::Missing | Signal::ApiKey => {
                    Boundary::None
                }
                _ => Boundary::Start,
            };
            entries.extend(literals.iter().map(|p| entry(p, What::Signal(*signal), b)));
        }
        for profile in profiles() {
            // Model-name prefixes name a provider in free text, except plain
            // English words and Bedrock's `vendor.` ids (which name the
            // model's maker, not the host).
            if profile.provider == Provider::Bedrock {
                continue;
            }
            for p in profile.model_prefixes {
                let brand = p.bytes().any(|c| !c.is_ascii_alphabetic())
                    || matches!(
                        *p,
                        "claude" | "gemini" | "deepseek" | "codestral" | "devstral"
                    );
                if p.len() >= 4 && brand {
                    let what = What::Signal(Signal::Names(profile.provider));
                    entries.push(entry(p, what, Boundary::Start));
                }
            }
        }
        for r in user_rules {
            let id = rule_id(rules.len());
            rules.push(RuleData::user(r));
            entries.extend(
                r.patterns
                    .iter()
                    .map(|p| entry(p, What::Rule(id), Boundary::None)),
            );
        }
        let (ascii, wide): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(p, _)| p.is_ascii());
        let build = |entries: Vec<(&str, Target)>| {
            Matcher::build(entries).map_err(|e| RuleError::Automaton(e.to_string()))
        };
        Ok(Self {
            rules,
            ascii: build(ascii)?,
            wide: build(wide)?,
        })
    }
}

/// Builds a [`DiagnosisEngine`] with user rules.
#[derive(Debug, Clone, Default)]
pub struct DiagnosisEngineBuilder {
    rules: Vec<Rule>,
}

impl DiagnosisEngineBuilder {
    /// Adds a user rule.
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Compiles the catalogue and the rules.
    pub fn build(self) -> Result<DiagnosisEngine, RuleError> {
        for r in &self.rules {
            r.validate()?;
        }
        DiagnosisEngine::compile(self.rules)
    }
}

/// A compiled rule (built-in or user).
#[derive(Debug, Clone)]
struct RuleData {
    category: ErrorCategory,
    sub: Cow<'static, str>,
    /// Built-in suffixes get the provider's name in front; user names do not.
    prefixed: bool,
    priority: u8,
    provider: Option<Provider>,
    retryable: Option<bool>,
    shrink: bool,
    success_only: bool,
    /// About the target's setup ([`Diagnosis::about_target`]).
    target: bool,
    /// A relay's wrapper words, which name no cause.
    wrapper: bool,
}

impl RuleData {
    fn builtin(e: &Entry) -> Self {
        Self {
            category: e.category,
            sub: Cow::Borrowed(e.sub),
            prefixed: true,
            priority: e.priority,
            provider: e.provider,
            retryable: e.retryable,
            shrink: e.shrink,
            success_only: e.success_only,
            target: e.target,
            wrapper: e.wrapper,
        }
    }

    fn user(r: &Rule) -> Self {
        Self {
            category: r.category,
            sub: Cow::Owned(r.sub_category.clone()),
            prefixed: false,
            priority: r.priority,
            provider: r.provider,
            retryable: r.retryable,
            shrink: false,
            success_only: false,
            target: false,
            wrapper: false,
        }
    }
}

/// What a literal means.
#[derive(Debug, Clone, Copy)]
enum What {
    Rule(u32),
    Signal(Signal),
}

/// Which sides of a match must not touch a letter or digit, or, for
/// `Last`, that it ends the scanned text (whitespace aside) and stands at
/// its start or after a separator. A body is scanned up to its first
/// 64 KiB, so past that a `Last` literal is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    None,
    Start,
    Both,
    Last,
}

/// One literal of an automaton.
#[derive(Debug, Clone, Copy)]
struct Target {
    what: What,
    len: u16,
    boundary: Boundary,
}

impl Default for DiagnosisEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl DiagnosisEngine {
    /// An engine with the built-in catalogue.
    ///
    /// The catalogue is compiled on the first call in a process; later
    /// engines share it, so building one is cheap.
    pub fn new() -> Self {
        Self {
            user_rules: Vec::new(),
            compiled: builtin(),
            guesses: false,
        }
    }

    /// Whether a text no rule reads and no status decides is given a
    /// category guessed from its words, or left `unknown` (off by default);
    /// and whether a stream that stopped with words naming no cause may be
    /// guessed a broken chunk (`malformed_response`) rather than a cut. A
    /// guess says it is one ([`Diagnosis::is_guess`]). Replayed over the
    /// corpora a text's guess was right about half the time, but on the
    /// three samples sealed after the model was built it was right 20 times
    /// in 60 and cost more answers than it mended (most of the texts it
    /// guessed at name no cause at all), so an engine guesses only when
    /// asked to: to tell a person where to look, never to act on unattended.
    ///
    /// ```
    /// use nb_diagnose::{DiagnosisEngine, ErrorCategory, Failure};
    ///
    /// let text = Failure::message("your organization ran out of prepaid credit balance");
    /// let engine = DiagnosisEngine::new();
    /// assert_eq!(engine.diagnose(&text).category, ErrorCategory::Unknown);
    /// let guessing = engine.guess_from_words(true);
    /// assert!(guessing.diagnose(&text).is_guess());
    /// ```
    #[must_use]
    pub fn guess_from_words(mut self, on: bool) -> Self {
        self.guesses = on;
        self
    }

    /// A builder for user rules.
    pub fn builder() -> DiagnosisEngineBuilder {
        DiagnosisEngineBuilder::default()
    }

    /// Adds a user rule at runtime. This recompiles the catalogue (tens of
    /// milliseconds), so add many rules at once with the builder; clones made
    /// earlier keep the catalogue they had.
    pub fn add_rule(&mut self, rule: Rule) -> Result<(), RuleError> {
        rule.validate()?;
        let mut rules = self.user_rules.clone();
        rules.push(rule);
        *self = Self::compile(rules)?.guess_from_words(self.guesses);
        Ok(())
    }

    fn compile(user_rules: Vec<Rule>) -> Result<Self, RuleError> {
        let compiled = if user_rules.is_empty() {
            builtin()
        } else {
            Arc::new(Compiled::build(&user_rules)?)
        };
        Ok(Self {
            user_rules,
            compiled,
            guesses: false,
        })
    }

    /// Diagnoses `failure`. The clock is read only when a wait is given as an
    /// absolute time (an HTTP-date `Retry-After`, an RFC 3339 or epoch reset);
    /// use [`DiagnosisEngine::diagnose_at`] to make that deterministic.
    pub fn diagnose(&self, failure: &Failure<'_>) -> Diagnosis {
        self.run(failure, &Clock::Lazy(Cell::new(None)))
    }

    /// Diagnoses `failure`, resolving absolute waits against `now`.
    pub fn diagnose_at(&self, failure: &Failure<'_>, now: SystemTime) -> Diagnosis {
        self.run(failure, &Clock::At(now))
    }

    fn run(&self, failure: &Failure<'_>, clock: &Clock) -> Diagnosis {
        let headers = failure.response_headers();
        let mut ev = Evidence::default();
        let mut fields = Fields::default();
        let mut reason = None;
        let verdict = match *failure.kind() {
            FailureKind::Http { status, body } => {
                if (200..300).contains(&status) {
                    self.success_body(body, headers, None, &mut ev, &mut fields)
                } else {
                    self.error_body(status, body, headers, &mut ev, &mut fields)
                }
            }
            FailureKind::Malformed { body, reason: r } => {
                reason = Some(r);
                self.success_body(body, headers, Some(r), &mut ev, &mut fields)
            }
            FailureKind::Message { text, status } => {
                self.message(text, status, &mut ev, &mut fields)
            }
            FailureKind::Transport { kind, message } => {
                self.transport(kind, message, &mut ev, &mut fields)
            }
            FailureKind::StreamInterrupted { detail } => self.stream(detail, &mut ev, &mut fields),
        };
        let verdict = match failure.kind() {
            FailureKind::Message { .. } | FailureKind::Transport { .. } => verdict,
            // In a response or a stream, a server said it about itself.
            _ => self.servers_own(verdict),
        };
        // No rule read it and no status decided: the words may still point
        // somewhere, and the diagnosis says it is a guess.
        let unread = verdict.category == ErrorCategory::Unknown
            && verdict.rule.is_none()
            && verdict.sub == Sub::Unrecognised;
        let asked = self.guesses && (unread || verdict.is_unexplained_stop());
        let guess = match asked.then(|| words::question(failure)).flatten() {
            Some(Question::Text(text)) if unread => words::model()
                .guess(text)
                .map(|category| (category, Sub::GuessedFromWords)),
            Some(Question::StreamStop(detail)) if verdict.is_unexplained_stop() => {
                words::stream_model()
                    .guess(detail)
                    .filter(|&category| category != verdict.category)
                    .map(|category| (category, Sub::ChunkGuessedFromWords))
            }
            _ => None,
        };
        let verdict = guess.map_or(verdict, |(category, sub)| Verdict {
            category,
            sub,
            ..verdict
        });
        self.finish(failure, verdict, &ev, &fields, reason, clock)
    }

    fn rule(&self, id: u32) -> &RuleData {
        &self.compiled.rules[id as usize]
    }

    /// `v`, read in words a server sent about itself. A library that could
    /// not be loaded, or an error object that could not be read (the
    /// built-in `unknown`s), is this program's only when this program says
    /// so; a server saying it had its own failure. A user's own `unknown`
    /// rule stands as written.
    fn servers_own(&self, v: Verdict) -> Verdict {
        if v.category == ErrorCategory::Unknown && v.rule.is_some_and(|id| self.rule(id).prefixed) {
            Verdict::new(ErrorCategory::ServerError, Sub::InternalError, v.priority)
        } else {
            v
        }
    }

    /// An error status (not 2xx).
    fn error_body<'b>(
        &self,
        status: u16,
        body: &'b [u8],
        headers: &ResponseHeaders<'_>,
        ev: &mut Evidence,
        fields: &mut Fields<'b>,
    ) -> Verdict {
        let body = head(body);
        if starts_json(body) {
            *fields = json::scan(body.trim_ascii_start(), false);
        }
        self.scan_text(body, fields, ev);
        if let Some(t) = headers.at(H::AmznErrorType) {
            self.scan(&t[..t.len().min(256)], ev, 2);
        }
        self.classify(ev, fields, Some(status), false)
    }

    /// The provider error an error's type names on its own
    /// (`invalid_request_error`, `server_error`), just above a status.
    fn typed(&self, kind: &[u8]) -> Option<Verdict> {
        let mut ev = Evidence::default();
        self.scan(kind, &mut ev, 0);
        let hit = ev.best?;
        let category = self.rule(hit.rule).category;
        is_provider_error(category).then(|| Verdict {
            rule: Some(hit.rule),
            ..Verdict::new(category, Sub::Unrecognised, 31)
        })
    }

    /// Weighs the rule hits, the structured fields and the status.
    fn classify(
        &self,
        ev: &Evidence,
        fields: &Fields<'_>,
        status: Option<u16>,
        allow_success_only: bool,
    ) -> Verdict {
        let mut best = ev.best;
        if allow_success_only
            && let Some(h) = ev.best_success
            && best.is_none_or(|b| h.key() > b.key())
        {
            best = Some(h);
        }
        let mut v = best.map_or_else(
            || Verdict::new(ErrorCategory::Unknown, Sub::Unrecognised, 0),
            |h| {
                let r = self.rule(h.rule);
                Verdict {
                    rule: Some(h.rule),
                    ..Verdict::new(r.category, Sub::Unrecognised, r.priority)
                }
            },
        );
        if v.category == ErrorCategory::RateLimit
            && !ev.zero_limit
            && !ev.periodic
            && let Some(h) = ev.capacity
        {
            // The provider's capacity, named clearly, outranks the limit
            // wording it comes in ("RateLimitError: we're experiencing high
            // traffic", a `rate_limit_error` whose message says overloaded):
            // no limit of the caller's was reached, unless the text names
            // its window ("limited to 1 request per minute").
            v = Verdict {
                rule: Some(h.rule),
                ..Verdict::new(ErrorCategory::Overloaded, Sub::Unrecognised, h.priority)
            };
        }
        if fields.filtered && v.priority < 88 {
            v = Verdict::new(ErrorCategory::ContentFilter, Sub::SafetyBlock, 88);
        }
        let server_status = status.is_some_and(|s| (500..600).contains(&s));
        if ev.model_missing && v.priority < 80 && !server_status {
            v = Verdict::new(ErrorCategory::ModelNotFound, Sub::ModelNotFound, 80);
        } else if ev.resource_missing && v.priority < 60 && !server_status {
            // "File x not found": the request names an object that does not
            // exist; a 404 or a generic "does not exist" would say model.
            v = Verdict::new(ErrorCategory::InvalidRequest, Sub::ResourceNotFound, 60);
        }
        if v.priority < 30
            && v.rule.is_some_and(|id| self.rule(id).wrapper)
            && let Some(typed) = fields.kind().and_then(|kind| self.typed(kind.raw))
        {
            // A relay's wrapper words ("Upstream request failed") name no
            // cause; the error's own type does, above the status.
            v = typed;
        }
        if v.category == ErrorCategory::ServerError
            && v.priority < 80
            && let Some((category, sub)) = ev
                .status
                .filter(|s| (400..500).contains(s))
                .and_then(status_rule)
        {
            // A client error the error's words name ("Request failed with
            // status code 429" in a relay's 500, "API error: HTTP 401" typed
            // `api_error`) is the upstream's answer; the server-error type
            // is only the relay's.
            v = Verdict::new(category, sub, 31);
        }
        if ev.bad_key && v.priority < 50 {
            // "Invalid xAI API Key": however the provider names its key, when
            // nothing more specific ("Connection error.") says what failed.
            v = Verdict::new(ErrorCategory::Auth, Sub::InvalidApiKey, 60);
        }
        let by_status = status.and_then(status_rule);
        // Under a 5xx, a file or tensor that is missing is the server's own
        // ("[Errno 2] No such file or directory: '/data/bge-m3'").
        let servers_own_object = server_status
            && v.category == ErrorCategory::InvalidRequest
            && v.priority < 60
            && v.rule
                .is_some_and(|id| self.rule(id).sub == "resource_not_found");
        // Generic server-error words ("internal_server_error" as the type of
        // a 503) say less than a specific 5xx status: 503 is capacity, 504 a
        // deadline.
        let generic_server_words =
            v.category == ErrorCategory::ServerError && v.priority < 50 && server_status;
        // An HTTP error status came over a working connection: network words
        // in its text ("proxy error") describe a hop behind the responder,
        // and no stream was cut ("stream error" in a 400 is a wrapper's word).
        let connection_words = matches!(
            v.category,
            ErrorCategory::Network | ErrorCategory::StreamInterrupted
        ) && v.priority < 85;
        if let Some((category, sub)) = by_status
            && (v.priority < 30
                || connection_words
                || generic_server_words
                || servers_own_object
                || (cdn_status(status) && v.priority < 90))
        {
            // A CDN's own status (Cloudflare 520-527) comes with the CDN's
            // page, whose prose ("the origin may be overloaded") describes
            // the CDN failure, not the provider's: the status decides.
            let priority = if cdn_status(status) { 85 } else { 30 };
            v = Verdict::new(category, sub, priority);
        }
        if status == Some(404)
            && v.category == ErrorCategory::ModelNotFound
            && v.priority < 80
            && !ev.model_named
        {
            // A 404 that never says "model" is about the path or an object
            // the request names: a wrong base URL or route, not a model. Which
            // of the two is a guess, and its confidence says so.
            v = Verdict {
                target: true,
                ..Verdict::new(
                    ErrorCategory::InvalidRequest,
                    Sub::NotFound,
                    v.priority.min(45),
                )
            };
        }
        if v.category == ErrorCategory::ModelNotFound
            && !ev.model_named
            && v.rule
                .is_some_and(|id| self.rule(id).sub == "model_deprecated")
        {
            // "Live search is deprecated": a feature or an endpoint the
            // request uses, not the model.
            v = Verdict::new(
                ErrorCategory::InvalidRequest,
                Sub::FeatureDeprecated,
                v.priority,
            );
        }
        if ev.oversize
            && v.priority < 50
            && !ev.periodic
            && !ev.other_size
            && !matches!(status, Some(402 | 413 | 429))
            && matches!(
                v.category,
                ErrorCategory::InvalidRequest | ErrorCategory::Unknown | ErrorCategory::ServerError
            )
        {
            // "prompt tokens must be less than max_seq_len", "cannot truncate
            // prompt with n_keep >= n_ctx": a prompt too long for the model,
            // however it is worded (a byte limit is a 413's, a window a
            // rate limit's).
            v = Verdict::new(ErrorCategory::ContextLength, Sub::PromptTooLong, 50);
        }
        if v.category == ErrorCategory::RateLimit && ev.monthly && !ev.periodic {
            // "You've reached your monthly usage limit": a month's allowance
            // does not come back by waiting a window.
            v = Verdict::new(
                ErrorCategory::QuotaExhausted,
                Sub::BillingPeriod,
                v.priority,
            );
        } else if v.category == ErrorCategory::ContextLength && ev.periodic && v.priority < 90 {
            // "Tokens per day limit exceeded - too many tokens processed": a
            // window's allowance, not the model's.
            v = Verdict::new(ErrorCategory::RateLimit, Sub::QuotaWindow, v.priority);
        } else if v.sub == Sub::RequestTooLarge && ev.tokens && !ev.periodic {
            // A 413 whose limit is counted in tokens ("Max size: 8000
            // tokens.") is the model's window, not a byte limit.
            v = Verdict::new(ErrorCategory::ContextLength, Sub::PromptTooLong, 50);
        }
        if v.category == ErrorCategory::RateLimit
            && let (Some(limit), Some(requested)) = (ev.limit_value, ev.requested_value)
            && requested > limit
        {
            // "Limit 7000, Used 0, Requested ~12903": this one request is
            // larger than the window's whole budget.
            v = Verdict::new(
                ErrorCategory::RateLimit,
                Sub::RequestExceedsLimit,
                v.priority,
            );
        }
        let quota_like = matches!(
            v.category,
            ErrorCategory::RateLimit | ErrorCategory::QuotaExhausted
        );
        if quota_like && ev.zero_limit {
            // A limit of zero is not a throttle: the plan has no quota at all.
            v = Verdict::new(
                ErrorCategory::QuotaExhausted,
                Sub::ZeroQuotaLimit,
                v.priority.max(80),
            );
        } else if v.category == ErrorCategory::QuotaExhausted
            && (ev.periodic || ev.wait.is_some_and(|w| w <= WINDOW_AT_MOST))
        {
            // An allowance that resets within a day comes back by waiting,
            // whatever its code calls it ("insufficient_quota … 30 requests
            // / 5h. Resets at 10:00 UTC", "Token quota exceeded. Retry after
            // 60 seconds").
            v = Verdict::new(ErrorCategory::RateLimit, Sub::QuotaWindow, v.priority);
        } else if v
            .rule
            .is_some_and(|id| self.rule(id).sub == AMBIGUOUS_QUOTA)
            && (fields.retry_delay.is_some() || ev.periodic || ev.wait.is_some())
        {
            // Google words every RESOURCE_EXHAUSTED as "exceeded your current
            // quota"; a window that resets makes it a rate limit.
            v = Verdict::new(ErrorCategory::RateLimit, Sub::ResourceExhausted, v.priority);
        }
        v.agrees = by_status.is_some_and(|(c, _)| c == v.category);
        v.status = status;
        v
    }

    fn finish(
        &self,
        failure: &Failure<'_>,
        v: Verdict,
        ev: &Evidence,
        fields: &Fields<'_>,
        reason: Option<&str>,
        clock: &Clock,
    ) -> Diagnosis {
        let headers = failure.response_headers();
        let rule = v.rule.map(|id| self.rule(id));
        let category = v.category;
        let status = v.status.or(failure.status());

        let context = detect_provider(failure.base_url(), failure.model());
        let provider = if context != Provider::Unknown {
            context
        } else if let Some(p) = rule.and_then(|r| r.provider) {
            p
        } else if let Some((_, p)) = ev.names {
            p
        } else if headers.at(H::AmznErrorType).is_some() {
            Provider::Bedrock
        } else {
            Provider::Unknown
        };

        let sub_category = match (v.rule, rule) {
            // A user rule's name, as given.
            (_, Some(r)) if !r.prefixed => Cow::Owned(r.sub.to_string()),
            // Built-in rules come first, so their ids index the catalogue.
            (Some(id), Some(r)) => {
                let id = id as usize;
                match (CATALOGUE.get(id), rule_names().get(id)) {
                    (Some(e), Some(cells)) => prefixed(provider, e.sub, &cells[provider as usize]),
                    // Unreachable: built-in rule ids index the catalogue.
                    _ => Cow::Owned(r.sub.to_string()),
                }
            }
            _ => prefixed(
                provider,
                v.sub.name(),
                &SUB_NAMES[v.sub as usize][provider as usize],
            ),
        };

        let wait = if reports_wait(category) {
            let now = || clock.now();
            waits::retry_after_header(headers, now)
                .or_else(|| {
                    fields
                        .retry_delay
                        .and_then(|t| waits::parse_duration(t.raw))
                })
                .or(ev.wait)
                .or_else(|| {
                    (category == ErrorCategory::RateLimit && !headers.is_empty())
                        .then(|| waits::read_limits(headers, &now).exhausted_reset())
                        .flatten()
                })
        } else {
            None
        };

        let over_limit = v.rule.is_none() && v.sub == Sub::RequestExceedsLimit;
        // This host's policy refuses a retry as it refused the first try.
        let refused_locally = v.rule.is_none() && v.sub == Sub::LocalPolicy;
        let mut retryable = rule
            .and_then(|r| r.retryable)
            .unwrap_or(category.retryable_by_default())
            && !over_limit
            && !refused_locally;
        if let Some(v) = headers.at(H::ShouldRetry).and_then(parse_bool) {
            retryable = v;
        }
        let shrink = over_limit || rule.is_some_and(|r| r.shrink);

        let mut severity = category.default_severity();
        if shrink && severity < Severity::High {
            severity = Severity::High;
        }

        let root_cause = advice::root_cause(&Cause {
            category,
            sub: &sub_category,
            provider,
            shrink,
            phase: v.phase,
            reason,
        });
        let suggestions = Cow::Borrowed(advice::suggestions(
            category,
            &sub_category,
            provider,
            shrink,
        ));

        Diagnosis {
            category,
            sub_category,
            provider,
            confidence: confidence(&v),
            severity,
            retryable,
            retry_after: wait,
            status,
            root_cause,
            suggestions,
            provider_error: provider_error(fields, headers, ev.secret),
            about_target: category == ErrorCategory::InvalidRequest
                && (v.target || rule.is_some_and(|r| r.target)),
        }
    }
}

/// When the clock is read.
enum Clock {
    At(SystemTime),
    /// `SystemTime::now()`, read at most once and only if needed.
    Lazy(Cell<Option<SystemTime>>),
}

impl Clock {
    fn now(&self) -> SystemTime {
        match self {
            Self::At(t) => *t,
            Self::Lazy(cell) => *cell.get().get_or_insert_with(SystemTime::now),
        }
    }
}

/// The engine's running conclusion.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    category: ErrorCategory,
    /// The sub-category suffix when no rule decided.
    sub: Sub,
    priority: u8,
    rule: Option<u32>,
    status: Option<u16>,
    phase: Option<TimeoutPhase>,
    /// The HTTP status alone would have said the same.
    agrees: bool,
    /// An invalid request about the target's setup ([`Diagnosis::about_target`]).
    target: bool,
}

impl Verdict {
    fn new(category: ErrorCategory, sub: Sub, priority: u8) -> Self {
        Self {
            category,
            sub,
            priority,
            rule: None,
            status: None,
            phase: None,
            agrees: false,
            target: false,
        }
    }
}

fn entry(p: &str, what: What, boundary: Boundary) -> (&str, Target) {
    let len = u16::try_from(p.len()).unwrap_or(u16::MAX);
    (
        p,
        Target {
            what,
            len,
            boundary,
        },
    )
}

fn rule_id(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn timeout_sub(phase: TimeoutPhase) -> Sub {
    match phase {
        TimeoutPhase::Connect => Sub::ConnectTimeout,
        TimeoutPhase::FirstByte => Sub::FirstByteTimeout,
        TimeoutPhase::Idle => Sub::IdleTimeout,
        _ => Sub::TotalTimeout,
    }
}

/// A failure the provider reported, as opposed to one of the connection.
fn is_provider_error(category: ErrorCategory) -> bool {
    use ErrorCategory::*;
    matches!(
        category,
        RateLimit
            | QuotaExhausted
            | Auth
            | Permission
            | ModelNotFound
            | ContextLength
            | ContentFilter
            | InvalidRequest
            | ServerError
            | Overloaded
    )
}

/// Statuses a CDN (Cloudflare) generates itself; 529 is Anthropic's own.
fn cdn_status(status: Option<u16>) -> bool {
    status.is_some_and(|s| (520..=527).contains(&s))
}

/// Categories where a server-given wait means something.
fn reports_wait(c: ErrorCategory) -> bool {
    use ErrorCategory::*;
    !matches!(
        c,
        Auth | Permission | ModelNotFound | ContextLength | ContentFilter | InvalidRequest
    )
}

#[cfg(test)]
mod tests;
