//! L1 of NeuralBridge: work out what went wrong with an LLM API call.
//!
//! ```
//! use nb_diagnose::{DiagnosisEngine, ErrorCategory, Failure, Provider};
//!
//! let engine = DiagnosisEngine::new();
//!
//! // A DashScope rate limit, known only by its message.
//! let d = engine.diagnose(&Failure::message("throttling.ratequota: 请求速度超限"));
//! assert_eq!(d.category, ErrorCategory::RateLimit);
//! assert_eq!(d.sub_category, "dashscope_rate_limit");
//! assert_eq!(d.provider, Provider::DashScope);
//! assert!(d.retryable && d.confidence >= 0.95);
//!
//! // An OpenAI billing limit: waiting will not help.
//! let d = engine.diagnose(&Failure::message("billing hard limit reached"));
//! assert_eq!(d.category, ErrorCategory::QuotaExhausted);
//! assert_eq!(d.sub_category, "openai_billing_hard_limit");
//! assert!(!d.retryable);
//!
//! // A model that does not exist; the provider comes from the model's name.
//! let d = engine.diagnose(&Failure::message("model not found: deepseek-v4"));
//! assert_eq!(d.category, ErrorCategory::ModelNotFound);
//! assert_eq!(d.sub_category, "deepseek_model_not_found");
//! assert_eq!(d.provider, Provider::DeepSeek);
//! ```
//!
//! # What goes in
//!
//! A [`Failure`] is an HTTP response (status, headers, body), a transport
//! failure ([`TransportErrorKind`], with its [`TimeoutPhase`]), a bare error
//! message (optionally with a status), a success response whose body is not
//! what was expected, or a stream cut short; plus the call's base URL and
//! model. Everything is borrowed; at most [`MAX_BODY_BYTES`] of a body or
//! message are read, so a 1 MiB junk body costs no more than a 64 KiB one.
//!
//! ```
//! use nb_diagnose::{DiagnosisEngine, ErrorCategory, Failure};
//! use std::time::Duration;
//!
//! let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
//! let failure = Failure::http(529, body)
//!     .header("retry-after", "3")
//!     .with_base_url("https://api.anthropic.com/v1");
//! let d = DiagnosisEngine::new().diagnose(&failure);
//! assert_eq!(d.category, ErrorCategory::Overloaded);
//! assert_eq!(d.sub_category, "anthropic_overloaded");
//! assert!(d.retryable);
//! assert_eq!(d.retry_after, Some(Duration::from_secs(3)));
//! ```
//!
//! # What comes out
//!
//! A [`Diagnosis`]: one [`ErrorCategory`] of the taxonomy (or `unknown`), a
//! provider-specific `sub_category`, the [`Provider`], a confidence, a
//! [`Severity`], whether the same model can succeed later (`retryable`),
//! the server-given wait, a one-sentence root cause, ranked
//! [`FixSuggestion`]s and the provider's own error fields ([`ProviderError`],
//! with anything shaped like a key masked).
//!
//! A diagnosis describes; it does not decide. What a client does after a
//! failure (retry, fall back, rotate a key, stop) is decided by one table,
//! NeuralBridge's per-category policy (`nb_client::policy::CategoryPolicy`), which
//! reads `category`, `retryable` and `retry_after`; the CLI shows what that
//! table does, so advice and behaviour cannot disagree.
//!
//! Retryability follows the taxonomy: rate limits, server errors, overload,
//! timeouts, network failures, malformed responses and cut streams are
//! retryable; auth, permission, quota, model-not-found, context-length,
//! content-filter and invalid-request failures never are. An
//! `x-should-retry: true|false` header overrides that (as the official
//! OpenAI SDK does). A server-given wait is reported as given, however
//! long; whether it is worth waiting is the client's call (its backoff's
//! `max_wait`, the one wait cap).
//!
//! # Waits
//!
//! `retry-after-ms`, `Retry-After` (seconds or HTTP-date), Google's
//! `RetryInfo.retryDelay`, hints in messages ("Please try again in 6.78s",
//! "retry after 86400 seconds"), and for rate limits the reset of an
//! exhausted window (`x-ratelimit-reset-*` as `6m0s`, Anthropic's RFC 3339
//! `anthropic-ratelimit-*-reset`), in that order. [`rate_limit_headers`]
//! reads the remaining/limit/reset headers of any response so a limiter can
//! pace before a 429. [`DiagnosisEngine::diagnose`] reads the clock only to
//! resolve an absolute time; [`DiagnosisEngine::diagnose_at`] takes it.
//!
//! # Knowledge
//!
//! The pattern catalogue (provider error codes, SDK exception names,
//! English and Chinese phrases) is data in one table, matched
//! case-insensitively in one pass by an Aho-Corasick automaton (the few
//! non-ASCII literals sit in a second, small one that only runs over
//! non-ASCII text); users add [`Rule`]s with priorities.
//! Error bodies are read structurally for every provider family (OpenAI and
//! compatible hosts, Azure, Anthropic, Gemini/Vertex, DashScope native,
//! Bedrock, OpenRouter, Mistral, Ollama, ...), including the Python `repr`
//! that SDKs print. [`detect_provider`] and [`get_profile`] give each
//! provider's tiered timeouts, retries and RPM hint.
//!
//! # Features
//!
//! - `serde` (default): `Serialize` for [`Diagnosis`] and its parts;
//!   `Serialize`/`Deserialize` for [`ErrorCategory`], [`Provider`] and
//!   [`Severity`].
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod advice;
mod catalogue;
mod category;
mod diagnosis;
mod engine;
mod failure;
mod json;
mod matcher;
mod provider;
mod rule;
mod waits;
mod words;

pub use category::{ErrorCategory, UnknownCategoryName};
pub use diagnosis::{Diagnosis, FixSuggestion, ProviderError, Severity};
pub use engine::{DiagnosisEngine, DiagnosisEngineBuilder, MAX_BODY_BYTES};
pub use failure::{Failure, FailureKind, ResponseHeaders};
pub use nb_types::{ObservedLimits, TimeoutPhase, TransportErrorKind};
pub use provider::{
    Provider, ProviderProfile, UnknownProviderName, detect_provider, get_profile, profiles,
};
pub use rule::{MAX_PATTERN_LEN, Rule, RuleError};
pub use waits::{rate_limit_headers, read_rate_limits};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
