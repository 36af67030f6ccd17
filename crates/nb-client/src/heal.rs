//! `heal()`: the cascade around any async operation that takes a model name.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use nb_diagnose::{Failure, ResponseHeaders, TimeoutPhase, TransportErrorKind};
use tracing::Instrument;

use crate::attempt::Attempt;
use crate::cascade::{self, AttemptCtx, Attempter, CallState};
use crate::client::NeuralBridge;
use crate::error::{Error, ErrorKind};
use crate::exchange::observe_limit_headers;
use crate::failure::{AttemptError, in_context, own_timeout};
use crate::observe;
use crate::shared::Inner;

/// What a healed operation's error looked like, for diagnosis: an HTTP
/// status with headers and body, a transport failure, or just a message.
///
/// ```
/// use nb_client::{transport::TransportErrorKind, FailureReport};
///
/// let from_status = FailureReport::http(429, r#"{"error":{"code":"rate_limit_exceeded"}}"#)
///     .header("retry-after", "2");
/// let from_text = FailureReport::message("throttling.ratequota: 请求速度超限");
/// let refused = FailureReport::transport(TransportErrorKind::ConnectRefused);
/// # let _ = (from_status, from_text, refused);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FailureReport {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Option<String>,
    message: Option<String>,
    transport: Option<TransportErrorKind>,
}

impl FailureReport {
    /// Only the error's text is known.
    pub fn message(text: impl Into<String>) -> Self {
        Self {
            message: Some(text.into()),
            ..Self::default()
        }
    }

    /// An HTTP response with `status` and `body`.
    pub fn http(status: u16, body: impl Into<String>) -> Self {
        Self {
            status: Some(status),
            body: Some(body.into()),
            ..Self::default()
        }
    }

    /// A transport failure (refused, reset, timed out, ...).
    pub fn transport(kind: TransportErrorKind) -> Self {
        Self {
            transport: Some(kind),
            ..Self::default()
        }
    }

    /// The HTTP status that came with a message.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Adds a response header (`retry-after`, rate-limit headers, ...).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The borrowed failure diagnosis reads.
    fn failure(&self) -> Failure<'_> {
        let headers = self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let failure = match (&self.transport, self.status, &self.body, &self.message) {
            (Some(kind), ..) => Failure::transport(*kind, self.message.as_deref()),
            (None, Some(status), Some(body), _) => Failure::http(status, body.as_str()),
            (None, status, body, message) => {
                let text = message.as_deref().or(body.as_deref()).unwrap_or_default();
                let failure = Failure::message(text);
                match status {
                    Some(s) => failure.with_status(s),
                    None => failure,
                }
            }
        };
        failure.headers(headers)
    }
}

/// A healed operation's value and how the cascade got it.
#[derive(Debug, Clone)]
pub struct Healed<T> {
    value: T,
    served_by: Arc<str>,
    endpoint: Arc<str>,
    attempts: Vec<Attempt>,
}

impl<T> Healed<T> {
    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, by value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The model that succeeded.
    pub fn served_by(&self) -> &str {
        &self.served_by
    }

    /// Its endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every attempt, in order; the last one succeeded.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }
}

/// A healed operation that failed on every candidate: the cascade's error,
/// and the operation's own last error (none when the last attempt timed
/// out or no attempt was made).
pub struct HealError<E> {
    error: Error,
    last: Option<E>,
}

impl<E> HealError<E> {
    /// The cascade's error: kind, final diagnosis, attempts.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The operation's last error.
    pub fn last_error(&self) -> Option<&E> {
        self.last.as_ref()
    }

    /// Both parts.
    pub fn into_parts(self) -> (Error, Option<E>) {
        (self.error, self.last)
    }
}

impl<E: fmt::Debug> fmt::Debug for HealError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealError")
            .field("error", &self.error)
            .field("last", &self.last)
            .finish()
    }
}

/// The cascade's error (whose diagnosis describes the last failure); the
/// operation's own error is [`last_error`](HealError::last_error).
impl<E> fmt::Display for HealError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<E: fmt::Debug> std::error::Error for HealError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// One attempt of the user's operation.
struct Heal<F, C, E> {
    op: F,
    classify: C,
    last: Option<E>,
}

impl<T, E, F, Fut, C> Attempter for Heal<F, C, E>
where
    F: FnMut(Arc<str>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: FnMut(&E) -> FailureReport,
{
    type Output = T;

    async fn attempt(&mut self, inner: &Inner, ctx: &AttemptCtx) -> Result<T, AttemptError> {
        let target = &ctx.target;
        let run = (self.op)(Arc::clone(&target.model));
        match tokio::time::timeout_at(ctx.deadline.into(), run).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                let report = (self.classify)(&e);
                if !report.headers.is_empty() {
                    // Rate-limit headers pace the target, as for a chat call.
                    let headers: ResponseHeaders<'_> = report
                        .headers
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    observe_limit_headers(inner, target, &headers);
                }
                let diagnosis = inner.diagnose(&in_context(report.failure(), target));
                self.last = Some(e);
                if diagnosis.is_local_setup() {
                    // The operation cannot run in this program (a library
                    // missing or clashing): every target would fail the same
                    // way, and none of them is to blame.
                    let reason = format!("the operation cannot run: {}", diagnosis.root_cause);
                    return Err(AttemptError::Fatal(Error::new(
                        ErrorKind::Config {
                            reason: reason.into(),
                        },
                        Some(diagnosis),
                        Vec::new(),
                    )));
                }
                if diagnosis.is_local_resource() {
                    // This host ran out of descriptors, memory or ports: the
                    // same limit meets every target, and none is to blame.
                    return Err(AttemptError::Fatal(Error::local_resource(format!(
                        "endpoint {}: {}",
                        target.endpoint.name, diagnosis.root_cause
                    ))));
                }
                Err(AttemptError::diagnosed(diagnosis, false))
            }
            Err(_elapsed) => {
                self.last = None;
                Err(own_timeout(inner, target, TimeoutPhase::Total))
            }
        }
    }
}

impl NeuralBridge {
    /// Runs `op` under the cascade, starting with `start_model` and its
    /// fallbacks: `op` is told which model to use on each attempt, and its
    /// error (by its `Display`) is diagnosed like any provider error. The
    /// Rust form of the NeuralBridge Python SDK's
    /// `engine.heal(my_api_call, current_model, model_ref)`.
    ///
    /// Each attempt runs under the timeout ladder and the call under the
    /// client's deadline; breakers, balancer, retry budget and learner see
    /// every attempt, as for [`chat`](Self::chat).
    pub async fn heal<T, E, F, Fut>(
        &self,
        start_model: &str,
        op: F,
    ) -> Result<Healed<T>, HealError<E>>
    where
        F: FnMut(Arc<str>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: fmt::Display,
    {
        self.heal_with(start_model, op, |e: &E| {
            FailureReport::message(e.to_string())
        })
        .await
    }

    /// [`heal`](Self::heal) for operations whose errors carry more than a
    /// message: `classify` turns one into a [`FailureReport`] (status,
    /// headers, body, or a transport failure).
    pub async fn heal_with<T, E, F, Fut, C>(
        &self,
        start_model: &str,
        op: F,
        classify: C,
    ) -> Result<Healed<T>, HealError<E>>
    where
        F: FnMut(Arc<str>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: FnMut(&E) -> FailureReport,
    {
        crate::fleet::ensure_started(&self.inner);
        let span = observe::call_span(start_model, false);
        let started = observe::call_started(&span);
        let result = heal(&self.inner, start_model, op, classify)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(h) => observe::call_served(
                &span,
                started,
                (h.served_by(), h.endpoint()),
                h.attempts().len(),
                None,
            ),
            Err(e) => observe::call_failed(&span, started, e.error()),
        }
        result
    }
}

async fn heal<T, E, F, Fut, C>(
    inner: &Inner,
    start_model: &str,
    op: F,
    classify: C,
) -> Result<Healed<T>, HealError<E>>
where
    F: FnMut(Arc<str>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: FnMut(&E) -> FailureReport,
{
    let chain = match inner.registry.chain(start_model) {
        Ok(chain) => chain,
        Err(reason) => {
            return Err(HealError {
                error: Error::config(reason),
                last: None,
            });
        }
    };
    let mut call = CallState::new(chain, inner.settings.deadline, 0);
    let mut heal = Heal {
        op,
        classify,
        last: None,
    };
    match cascade::run(inner, &mut call, &mut heal).await {
        Ok((value, lease)) => {
            let target = lease.target.clone();
            let ended = lease.ended;
            lease.succeed(inner, &mut call, ended);
            Ok(Healed {
                value,
                served_by: Arc::clone(&target.model),
                endpoint: Arc::clone(&target.endpoint.name),
                attempts: call.attempts,
            })
        }
        Err(error) => Err(HealError {
            error,
            last: heal.last,
        }),
    }
}
