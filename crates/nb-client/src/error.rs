//! The error a call returns when the cascade could not serve it.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use nb_diagnose::{Diagnosis, ErrorCategory};

use crate::attempt::Attempt;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Every candidate of the chain was tried and given up.
    Exhausted,
    /// The request itself is wrong (invalid request, content filter, a
    /// context too long for every allowed target): no target can serve it.
    Aborted,
    /// Every remaining candidate is cooling down (open breakers, exhausted
    /// rate limits); the first one may be called again after `retry_in`.
    CoolingDown {
        /// Time until the first candidate reopens.
        retry_in: Duration,
    },
    /// The call's overall deadline passed.
    DeadlineExceeded,
    /// A stream failed after content had reached the caller; `partial` is
    /// the text delivered so far. Never a truncated success.
    StreamInterrupted {
        /// The content delivered before the failure.
        partial: String,
    },
    /// A streamed answer reached its end but failed the request's schema
    /// (see the `schema` feature) or the client's validator after its
    /// content had reached the caller; `partial` is the answer as
    /// delivered. Never reported complete, whatever the stream policy.
    AnswerRejected {
        /// The content delivered.
        partial: String,
    },
    /// The client or the request is misconfigured (an unknown endpoint in a
    /// model name, a key that cannot go in a header), or an operation given
    /// to [`heal`](crate::NeuralBridge::heal) cannot run in this program (a
    /// library it needs is missing or clashes: the diagnosis says
    /// `local_setup`). No target is tried further or counted against.
    Config {
        /// What is wrong.
        reason: Cow<'static, str>,
    },
    /// This process or host ran out of something the call needs (file
    /// descriptors, memory, local ports) before anything reached a provider.
    /// No breaker, balancer or learner counts it against the target: the
    /// provider is not at fault, and every other target would hit the same
    /// limit. Retry once the pressure is gone.
    LocalResource {
        /// What ran out, as the operating system said it.
        reason: Cow<'static, str>,
    },
}

impl ErrorKind {
    /// The kind's `snake_case` name (`"cooling_down"`, `"exhausted"`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Exhausted => "exhausted",
            Self::Aborted => "aborted",
            Self::CoolingDown { .. } => "cooling_down",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::StreamInterrupted { .. } => "stream_interrupted",
            Self::AnswerRejected { .. } => "answer_rejected",
            Self::Config { .. } => "config",
            Self::LocalResource { .. } => "local_resource",
        }
    }
}

/// The error of a call: its kind, the final diagnosis, and every attempt.
///
/// Like hyper's error it is an opaque struct with predicates; nothing in
/// it is secret (keys never reach a diagnosis, an attempt or a message).
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    diagnosis: Option<Diagnosis>,
    attempts: Vec<Attempt>,
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        diagnosis: Option<Diagnosis>,
        attempts: Vec<Attempt>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                diagnosis,
                attempts,
            }),
        }
    }

    pub(crate) fn config(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorKind::Config {
                reason: reason.into(),
            },
            None,
            Vec::new(),
        )
    }

    pub(crate) fn local_resource(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorKind::LocalResource {
                reason: reason.into(),
            },
            None,
            Vec::new(),
        )
    }

    pub(crate) fn with_attempts(mut self, attempts: Vec<Attempt>) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The final diagnosis: the last failed attempt's, or for an
    /// interrupted stream the interruption's (never masked by what a
    /// continuation attempt hit afterwards).
    pub fn diagnosis(&self) -> Option<&Diagnosis> {
        self.inner.diagnosis.as_ref()
    }

    /// The category of the final diagnosis.
    pub fn category(&self) -> Option<ErrorCategory> {
        self.diagnosis().map(|d| d.category)
    }

    /// One word for why the call failed, for metrics, logs and tables:
    /// the kind when the call ended for a reason of its own (cooling down,
    /// deadline, configuration, local resources), else the final diagnosis's category, else
    /// the kind.
    pub fn label(&self) -> &'static str {
        match (&self.inner.kind, self.category()) {
            (
                ErrorKind::CoolingDown { .. }
                | ErrorKind::DeadlineExceeded
                | ErrorKind::Config { .. }
                | ErrorKind::LocalResource { .. },
                _,
            )
            | (_, None) => self.inner.kind.as_str(),
            (_, Some(category)) => category.as_str(),
        }
    }

    /// Every attempt of the call, in order, each with its diagnosis.
    pub fn attempts(&self) -> &[Attempt] {
        &self.inner.attempts
    }

    /// When to try again: the cooling-down time, else the server's wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.inner.kind {
            ErrorKind::CoolingDown { retry_in } => Some(retry_in),
            _ => self.diagnosis().and_then(|d| d.retry_after),
        }
    }

    /// Whether every candidate was cooling down.
    pub fn is_cooling_down(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::CoolingDown { .. })
    }

    /// Whether the overall deadline passed.
    pub fn is_deadline(&self) -> bool {
        self.inner.kind == ErrorKind::DeadlineExceeded
    }

    /// Whether the request itself was rejected.
    pub fn is_aborted(&self) -> bool {
        self.inner.kind == ErrorKind::Aborted
    }

    /// The partial text of an interrupted stream, or the delivered text of
    /// a rejected one.
    pub fn partial(&self) -> Option<&str> {
        match &self.inner.kind {
            ErrorKind::StreamInterrupted { partial } | ErrorKind::AnswerRejected { partial } => {
                Some(partial)
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("diagnosis", &self.inner.diagnosis)
            .field("attempts", &self.inner.attempts.len())
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.inner.attempts.len();
        let plural = if n == 1 { "" } else { "s" };
        match &self.inner.kind {
            ErrorKind::Exhausted => write!(f, "every candidate failed ({n} attempt{plural})")?,
            ErrorKind::Aborted => f.write_str("the request was rejected")?,
            ErrorKind::CoolingDown { retry_in } => write!(
                f,
                "every candidate is cooling down; the first reopens in {:.3} s",
                retry_in.as_secs_f64()
            )?,
            ErrorKind::DeadlineExceeded => {
                write!(f, "the call's deadline passed ({n} attempt{plural})")?;
            }
            ErrorKind::StreamInterrupted { partial } => write!(
                f,
                "the stream was interrupted after {} bytes of content",
                partial.len()
            )?,
            ErrorKind::AnswerRejected { partial } => write!(
                f,
                "the streamed answer was rejected after {} bytes of content",
                partial.len()
            )?,
            ErrorKind::Config { reason } => return write!(f, "configuration error: {reason}"),
            ErrorKind::LocalResource { reason } => {
                return write!(f, "this host ran out of a local resource: {reason}");
            }
        }
        if let Some(d) = &self.inner.diagnosis {
            write!(f, ": {}", d.category)?;
            // A generic sub-category repeats the category: say it once.
            if *d.sub_category != *d.category.as_str() {
                write!(f, " ({})", d.sub_category)?;
            }
            write!(f, ": {}", d.root_cause)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use nb_diagnose::{DiagnosisEngine, Failure};

    use super::*;

    #[test]
    fn display_names_the_category_once_and_the_sub_category_when_it_says_more() {
        let engine = DiagnosisEngine::new();
        let mut cut = engine.diagnose(&Failure::stream_interrupted("connection closed"));
        cut.sub_category = cut.category.as_str().into();
        let error = Error::new(
            ErrorKind::StreamInterrupted {
                partial: "Hello".into(),
            },
            Some(cut),
            Vec::new(),
        );
        let text = error.to_string();
        assert_eq!(text.matches("stream_interrupted").count(), 1, "{text}");

        let quota = engine.diagnose(
            &Failure::http(
                429,
                r#"{"error":{"code":"insufficient_quota","message":"You exceeded your current quota"}}"#,
            )
            .with_base_url("https://api.openai.com/v1"),
        );
        let sub = quota.sub_category.to_string();
        assert_ne!(sub, "quota_exhausted");
        let error = Error::new(ErrorKind::Exhausted, Some(quota), Vec::new());
        let text = error.to_string();
        assert!(
            text.contains(&format!("quota_exhausted ({sub}): ")),
            "{text}"
        );
    }

    #[test]
    fn label_says_why_the_call_ended() {
        let engine = DiagnosisEngine::new();
        let quota = engine.diagnose(&Failure::message("insufficient_quota").with_status(429));
        let label = |kind, diagnosis| Error::new(kind, diagnosis, Vec::new()).label();
        // The diagnosis names an exhausted call's cause ...
        assert_eq!(
            label(ErrorKind::Exhausted, Some(quota.clone())),
            "quota_exhausted"
        );
        // ... but not a call that stopped for its own reasons.
        let cooling = ErrorKind::CoolingDown {
            retry_in: Duration::from_secs(3),
        };
        assert_eq!(label(cooling, Some(quota.clone())), "cooling_down");
        assert_eq!(
            label(ErrorKind::DeadlineExceeded, Some(quota)),
            "deadline_exceeded"
        );
        assert_eq!(label(ErrorKind::Exhausted, None), "exhausted");
    }
}
