//! The event fed in after every attempt.

use std::time::{Duration, SystemTime};

use nb_diagnose::ErrorCategory;

/// What happened on one attempt: fed to the engine after every call,
/// success or not.
///
/// `model` is the name the balancer routes by: a model name, or a target
/// name such as `gpt-4o@azure-east` when one model is served by several
/// endpoints. Everything is tracked per `model`; `endpoint` is an optional
/// label carried into the health report. The event borrows its strings, so
/// recording one allocates nothing.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use nb_diagnose::ErrorCategory;
/// use nb_learn::Outcome;
///
/// let now = SystemTime::now();
/// let ok = Outcome::success("qwen-max", now, Duration::from_millis(380));
/// let failed = Outcome::failure("deepseek-chat", now, Duration::from_millis(40), ErrorCategory::RateLimit)
///     .with_endpoint("https://api.deepseek.com");
/// assert!(ok.is_success());
/// assert_eq!(failed.failure, Some(ErrorCategory::RateLimit));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome<'a> {
    /// The model (or routing target) that was called.
    pub model: &'a str,
    /// Where it was called, if the caller distinguishes endpoints.
    pub endpoint: Option<&'a str>,
    /// When the attempt finished, by the wall clock.
    pub at: SystemTime,
    /// How long the attempt took.
    pub latency: Duration,
    /// `None` on success, else the diagnosed failure category.
    pub failure: Option<ErrorCategory>,
}

impl<'a> Outcome<'a> {
    /// A successful attempt.
    pub fn success(model: &'a str, at: SystemTime, latency: Duration) -> Self {
        Self {
            model,
            endpoint: None,
            at,
            latency,
            failure: None,
        }
    }

    /// A failed attempt and its category.
    pub fn failure(
        model: &'a str,
        at: SystemTime,
        latency: Duration,
        category: ErrorCategory,
    ) -> Self {
        Self {
            failure: Some(category),
            ..Self::success(model, at, latency)
        }
    }

    /// The same outcome, labelled with the endpoint that served it.
    #[must_use]
    pub fn with_endpoint(self, endpoint: &'a str) -> Self {
        Self {
            endpoint: Some(endpoint),
            ..self
        }
    }

    /// Whether the attempt succeeded.
    pub fn is_success(&self) -> bool {
        self.failure.is_none()
    }
}

/// Whether a failure of `category` says something about the model rather
/// than about the request.
///
/// `invalid_request`, `context_length` and `content_filter` are the
/// request's fault: they are counted per category in reports but are
/// neither a success nor a failure of the model, so they do not lower its
/// success rate, teach the learner a pattern or raise a prediction. Every
/// other category, `unknown` included, counts against the model.
pub fn counts_against_model(category: ErrorCategory) -> bool {
    !matches!(
        category,
        ErrorCategory::InvalidRequest | ErrorCategory::ContextLength | ErrorCategory::ContentFilter
    )
}

/// The position of `category` in [`ErrorCategory::ALL`], used to index
/// per-category counters.
pub(crate) fn category_index(category: ErrorCategory) -> usize {
    ErrorCategory::ALL
        .iter()
        .position(|c| *c == category)
        // `ALL` lists every category; `unknown` is the honest fallback.
        .unwrap_or(CATEGORY_COUNT - 1)
}

/// How many categories there are.
pub(crate) const CATEGORY_COUNT: usize = ErrorCategory::ALL.len();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_faults_do_not_count_against_the_model() {
        let neutral: Vec<_> = ErrorCategory::ALL
            .into_iter()
            .filter(|c| !counts_against_model(*c))
            .collect();
        assert_eq!(
            neutral,
            [
                ErrorCategory::ContextLength,
                ErrorCategory::ContentFilter,
                ErrorCategory::InvalidRequest
            ]
        );
    }

    #[test]
    fn category_indices_are_distinct() {
        for (i, c) in ErrorCategory::ALL.into_iter().enumerate() {
            assert_eq!(category_index(c), i);
        }
        assert_eq!(
            ErrorCategory::ALL[CATEGORY_COUNT - 1],
            ErrorCategory::Unknown
        );
    }
}
