//! The failure taxonomy: every failure maps to exactly one [`ErrorCategory`].

use std::fmt;
use std::str::FromStr;

use crate::Severity;

/// What kind of failure happened, independent of the provider.
///
/// The categories are listed in the crate docs; what the client does with
/// each is its policy table (`nb_client::policy::CategoryPolicy`, tabled in
/// `docs/ARCHITECTURE.md`). [`ErrorCategory::Unknown`] is allowed but
/// counted: it means no rule recognised the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// A per-minute (or per-day) throttle that resets: 429, `Throttling.RateQuota`.
    RateLimit,
    /// Billing, credits or quota used up: waiting will not help.
    QuotaExhausted,
    /// The credential is missing, invalid, revoked or expired.
    Auth,
    /// The credential is valid but not allowed this model, region or action.
    Permission,
    /// The model or deployment does not exist or is not served here.
    ModelNotFound,
    /// The prompt (plus the requested output) is longer than the model's window.
    ContextLength,
    /// A safety or policy filter rejected the prompt or the answer.
    ContentFilter,
    /// The request itself is malformed: retrying or switching models will not help.
    InvalidRequest,
    /// The provider failed internally (500, 502, 520).
    ServerError,
    /// The provider is out of capacity (503 overloaded, Anthropic 529).
    Overloaded,
    /// A connect, first-byte, idle or total timeout, or a 408/504/522/524.
    Timeout,
    /// Connection refused or reset, DNS or TLS failure.
    Network,
    /// A success status whose body is broken JSON, an HTML page or failed validation.
    MalformedResponse,
    /// A stream cut, stalled, or ended without its finish signal.
    StreamInterrupted,
    /// No rule recognised the failure, or it happened in this program: before
    /// anything was sent (a library it needs could not be loaded:
    /// sub-category `local_setup`), in reading an error object it never
    /// got, which lost the cause (`error_unreadable`), or behind an app's
    /// own message, which names none (`cause_hidden`: the caller's, or an
    /// app's between it and the provider).
    Unknown,
}

impl ErrorCategory {
    /// Every category, in declaration order.
    pub const ALL: [ErrorCategory; 15] = [
        Self::RateLimit,
        Self::QuotaExhausted,
        Self::Auth,
        Self::Permission,
        Self::ModelNotFound,
        Self::ContextLength,
        Self::ContentFilter,
        Self::InvalidRequest,
        Self::ServerError,
        Self::Overloaded,
        Self::Timeout,
        Self::Network,
        Self::MalformedResponse,
        Self::StreamInterrupted,
        Self::Unknown,
    ];

    /// The taxonomy's `snake_case` name, as used in JSON and the corpus.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RateLimit => "rate_limit",
            Self::QuotaExhausted => "quota_exhausted",
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::ModelNotFound => "model_not_found",
            Self::ContextLength => "context_length",
            Self::ContentFilter => "content_filter",
            Self::InvalidRequest => "invalid_request",
            Self::ServerError => "server_error",
            Self::Overloaded => "overloaded",
            Self::Timeout => "timeout",
            Self::Network => "network",
            Self::MalformedResponse => "malformed_response",
            Self::StreamInterrupted => "stream_interrupted",
            Self::Unknown => "unknown",
        }
    }
}

impl ErrorCategory {
    /// Whether the same request on the same model can succeed later, before
    /// any provider-specific evidence: yes for rate limits, server errors,
    /// overload, timeouts, network failures, malformed responses and cut
    /// streams; no for the rest (nothing is retried that cannot succeed).
    pub const fn retryable_by_default(self) -> bool {
        matches!(
            self,
            Self::RateLimit
                | Self::ServerError
                | Self::Overloaded
                | Self::Timeout
                | Self::Network
                | Self::MalformedResponse
                | Self::StreamInterrupted
        )
    }

    /// How bad this category is for the application, before any evidence.
    pub const fn default_severity(self) -> Severity {
        match self {
            Self::Timeout | Self::Network | Self::MalformedResponse | Self::StreamInterrupted => {
                Severity::Low
            }
            Self::RateLimit | Self::ServerError | Self::Overloaded | Self::Unknown => {
                Severity::Medium
            }
            Self::ModelNotFound
            | Self::ContextLength
            | Self::ContentFilter
            | Self::InvalidRequest => Severity::High,
            Self::Auth | Self::Permission | Self::QuotaExhausted => Severity::Critical,
        }
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no [`ErrorCategory`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCategoryName(pub String);

impl fmt::Display for UnknownCategoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a failure category", self.0)
    }
}

impl std::error::Error for UnknownCategoryName {}

impl FromStr for ErrorCategory {
    type Err = UnknownCategoryName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCategoryName(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in ErrorCategory::ALL {
            assert_eq!(c.as_str().parse::<ErrorCategory>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert!("rate-limit".parse::<ErrorCategory>().is_err());
    }

    #[test]
    fn defaults_follow_the_design_table() {
        use ErrorCategory::*;
        for c in [
            Auth,
            Permission,
            QuotaExhausted,
            ModelNotFound,
            ContextLength,
            ContentFilter,
            InvalidRequest,
        ] {
            assert!(
                !c.retryable_by_default(),
                "{c} must never be retried on the same model"
            );
        }
        for c in [
            RateLimit,
            ServerError,
            Overloaded,
            Timeout,
            Network,
            MalformedResponse,
            StreamInterrupted,
        ] {
            assert!(c.retryable_by_default(), "{c}");
        }
        assert_eq!(Auth.default_severity(), Severity::Critical);
        assert_eq!(Network.default_severity(), Severity::Low);
    }
}
