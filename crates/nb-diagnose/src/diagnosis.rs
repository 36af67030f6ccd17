//! The output of a diagnosis.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::catalogue::{LOCAL_SETUP, Sub};
use crate::{ErrorCategory, Provider};

/// What went wrong, how sure the engine is, and how to fix it: a
/// description of the failure, not a decision.
///
/// What a client does about it (retry, fall back, rotate a key, stop) is
/// decided in one place, NeuralBridge's per-category policy table
/// (`nb_client::policy::CategoryPolicy`), from the `category` (an invalid
/// request `about_target` takes the missing model's policy), `retryable` and
/// `retry_after` given here; the CLI shows that same decision.
///
/// With the `serde` feature it serializes with `snake_case` field names;
/// `category` and `provider` as their names, and `retry_after` as
/// `retry_after_s`, a number of seconds or `null`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Diagnosis {
    /// The taxonomy category.
    pub category: ErrorCategory,
    /// A provider-specific refinement, `provider_reason` (`dashscope_rate_limit`,
    /// `openai_insufficient_quota`, `anthropic_overloaded`); the bare reason
    /// when the provider is unknown; a user rule's name as given. Borrowed
    /// from a static table except for user rules.
    pub sub_category: Cow<'static, str>,
    /// The provider, from the context (base URL, model) or else from the
    /// failure's own vocabulary.
    pub provider: Provider,
    /// How sure the engine is, in 0..=1: about 0.95 for a provider's own
    /// error code, 0.65 for a bare HTTP status (or a stream that stopped
    /// with words naming no cause it knows), 0.5 for a generic word or a
    /// success no word explained (its body, or the text a program printed
    /// under its 2xx), 0.2 for an `unknown` no rule read. Below 0.7 the
    /// category is a reading of little evidence. It grades the evidence read,
    /// not a probability: how often each band is right on errors collected
    /// from the wild is in the corpus README. A guess from words
    /// ([`Diagnosis::is_guess`]) carries the share of such guesses that were
    /// right: for a text's, the share of its category's (from 0.16 for
    /// `stream_interrupted` to 0.68 for `auth`; 0.45 over all of them), and
    /// 0.75 for a stream's stop read as a broken chunk. Check `is_guess()`
    /// before weighing a confidence against the bands: a guess at 0.75 rests
    /// on less than a phrase at 0.7.
    pub confidence: f32,
    /// How bad it is for the application.
    pub severity: Severity,
    /// Whether the same request on the same model can succeed later (after
    /// `retry_after`, when the server gave a wait, however long).
    pub retryable: bool,
    /// The wait the server asked for (headers, body or message), if any,
    /// as given: whether it is worth waiting is the client's decision.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "retry_after_s", serialize_with = "secs_opt")
    )]
    pub retry_after: Option<Duration>,
    /// The HTTP status, when there was one (possibly read from the body or
    /// the message), or the one a gRPC status's name in the text stands
    /// for (`StatusCode.INTERNAL`: 500) where no HTTP status came.
    pub status: Option<u16>,
    /// The root cause, in one sentence (borrowed from a static table unless
    /// it quotes a rejection reason). The wait itself is in `retry_after`.
    pub root_cause: Cow<'static, str>,
    /// Ranked fixes, most useful first (borrowed from static tables unless
    /// someone edits them).
    pub suggestions: Cow<'static, [FixSuggestion]>,
    /// The provider's own error fields, when the body or message had them.
    pub provider_error: Option<ProviderError>,
    /// For an `invalid_request`: the target's setup is wrong, not the
    /// request's content (a wrong path or base URL, an operation or a
    /// throughput mode the deployment does not offer, an account's data or
    /// provider policy). Every request to this target fails the same way,
    /// so another target may well serve it.
    pub about_target: bool,
}

#[cfg(feature = "serde")]
fn secs_opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

impl Diagnosis {
    /// Whether the failure happened in this program before anything was
    /// sent: a library it needs could not be loaded, or two of its
    /// libraries clash (`unknown`, sub-category `local_setup`). Every
    /// target would fail the same way, and none of them is to blame.
    ///
    /// ```
    /// use nb_diagnose::{DiagnosisEngine, Failure};
    ///
    /// let engine = DiagnosisEngine::new();
    /// let missing = Failure::message("ModuleNotFoundError: No module named 'openai'");
    /// assert!(engine.diagnose(&missing).is_local_setup());
    /// assert!(!engine.diagnose(&Failure::http(503, "")).is_local_setup());
    /// ```
    pub fn is_local_setup(&self) -> bool {
        self.category == ErrorCategory::Unknown && self.sub_category.ends_with(LOCAL_SETUP)
    }

    /// Whether this host's own policy (a firewall, a network policy, a
    /// sandbox) refused the connection (a `network` failure whose
    /// sub-category ends `local_policy`): nothing reached the provider, the
    /// same policy refuses a retry, and another destination may be allowed.
    ///
    /// ```
    /// use nb_diagnose::{DiagnosisEngine, Failure, TransportErrorKind};
    ///
    /// let engine = DiagnosisEngine::new();
    /// let refused = Failure::transport(TransportErrorKind::LocalPolicy, None);
    /// let d = engine.diagnose(&refused);
    /// assert!(d.is_local_policy() && !d.retryable);
    /// let reset = Failure::transport(TransportErrorKind::Reset, None);
    /// assert!(!engine.diagnose(&reset).is_local_policy());
    /// ```
    pub fn is_local_policy(&self) -> bool {
        self.category == ErrorCategory::Network
            && self.sub_category.ends_with(Sub::LocalPolicy.name())
    }

    /// Whether this host ran out of something the request needs (file
    /// descriptors, memory, local ports: a `network` failure whose
    /// sub-category ends `local_resource`): nothing reached the provider,
    /// and every other target would meet the same limit.
    ///
    /// ```
    /// use nb_diagnose::{DiagnosisEngine, Failure};
    ///
    /// let engine = DiagnosisEngine::new();
    /// let out = engine.diagnose(&Failure::message("OSError: [Errno 24] Too many open files"));
    /// assert!(out.is_local_resource());
    /// assert!(!engine.diagnose(&Failure::http(503, "")).is_local_resource());
    /// ```
    pub fn is_local_resource(&self) -> bool {
        self.category == ErrorCategory::Network
            && self.sub_category.ends_with(Sub::LocalResource.name())
    }

    /// Whether no rule read the failure and its category was guessed from
    /// the words it shares with known errors (a sub-category ending
    /// `guessed_from_words`). Two kinds of failure are guessed at: a text
    /// without a status that no rule reads (an SDK's printout, a log line),
    /// and a stream that stopped with words naming no cause, which may be
    /// guessed a broken chunk (`chunk_guessed_from_words`). Anything with a
    /// status is read by it at least, and a transport failure by its kind. See
    /// [`DiagnosisEngine::guess_from_words`](crate::DiagnosisEngine::guess_from_words).
    ///
    /// ```
    /// use nb_diagnose::{DiagnosisEngine, ErrorCategory, Failure};
    ///
    /// let engine = DiagnosisEngine::new().guess_from_words(true);
    /// let d = engine.diagnose(&Failure::message(
    ///     "your organization ran out of prepaid credit balance",
    /// ));
    /// assert!(d.is_guess());
    /// assert_eq!(d.category, ErrorCategory::QuotaExhausted);
    /// assert!(d.confidence < 0.7);
    /// assert!(!engine.diagnose(&Failure::http(429, "")).is_guess());
    ///
    /// // A stream that stopped in a client's words for a chunk it could not use.
    /// let stop = engine.diagnose(&Failure::stream_interrupted(
    ///     "AttributeError: 'NoneType' object has no attribute 'delta'",
    /// ));
    /// assert!(stop.is_guess());
    /// assert_eq!(stop.category, ErrorCategory::MalformedResponse);
    /// assert_eq!(stop.sub_category, "chunk_guessed_from_words");
    /// ```
    pub fn is_guess(&self) -> bool {
        self.sub_category.ends_with(Sub::GuessedFromWords.name())
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {:.0}% confidence): {}",
            self.category,
            self.sub_category,
            self.confidence * 100.0,
            self.root_cause
        )
    }
}

/// How bad a failure is for the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Severity {
    /// Transient and usually healed by one retry (network, timeout, cut stream).
    Low,
    /// Transient but capacity is short (rate limit, overload, server error).
    Medium,
    /// This request or this model cannot succeed as it is (model not found,
    /// context too long, filtered, malformed request, a request larger than
    /// a rate limit's whole window).
    High,
    /// The account or credential is broken: every call fails until a person
    /// acts (auth, permission, quota).
    Critical,
}

impl Severity {
    /// The `snake_case` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ranked fix: what to do, concretely, and why it helps.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FixSuggestion {
    /// A short imperative title ("Wait, then retry").
    pub title: Cow<'static, str>,
    /// The concrete step (a setting, a command, a link).
    pub command: Cow<'static, str>,
    /// Why it helps.
    pub why: Cow<'static, str>,
}

impl FixSuggestion {
    /// A suggestion from static text.
    pub const fn new(title: &'static str, command: &'static str, why: &'static str) -> Self {
        Self {
            title: Cow::Borrowed(title),
            command: Cow::Borrowed(command),
            why: Cow::Borrowed(why),
        }
    }
}

/// The provider's own error fields, as parsed from the body or message.
///
/// Text is decoded, cut to 500 bytes, and anything shaped like an API key is
/// masked (`sk-***`): a diagnosis never carries a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ProviderError {
    /// The error type (`rate_limit_error`, `ThrottlingException`).
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub error_type: Option<String>,
    /// The error code (`insufficient_quota`, `Throttling.RateQuota`, `RESOURCE_EXHAUSTED`).
    pub code: Option<String>,
    /// The error message.
    pub message: Option<String>,
    /// The request id, for the provider's support.
    pub request_id: Option<String>,
    /// The upstream provider an aggregator (OpenRouter) relayed the error from.
    pub upstream_provider: Option<String>,
    /// The request field the error is about (OpenAI's `error.param`,
    /// `temperature` in "Invalid value for 'temperature'").
    pub param: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case() {
        assert_eq!(Severity::Critical.to_string(), "critical");
        assert!(Severity::Low < Severity::Critical);
    }
}
