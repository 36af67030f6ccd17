//! Turning what an attempt saw into a diagnosis.

use http::HeaderMap;
use nb_diagnose::{Diagnosis, ErrorCategory, Failure, Severity, TimeoutPhase, TransportErrorKind};
use nb_transport::TransportError;

use crate::error::Error;
use crate::request::BodyError;
use crate::shared::Inner;
use crate::target::TargetId;

/// A failed attempt, diagnosed.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) diagnosis: Diagnosis,
    /// Our own timer fired (the provider hung): never retried on the same
    /// target, whatever the policy.
    pub(crate) own_timeout: bool,
    /// The target rejected the assistant prefill: try it again at once
    /// without.
    pub(crate) prefill_rejected: bool,
}

/// Why an attempt did not succeed.
#[derive(Debug)]
pub(crate) enum AttemptError {
    /// A diagnosed failure: the cascade acts on it.
    Failed(Box<Failed>),
    /// The call cannot go on (the request cannot be built).
    Fatal(Error),
}

impl AttemptError {
    pub(crate) fn diagnosed(diagnosis: Diagnosis, own_timeout: bool) -> Self {
        Self::Failed(Box::new(Failed {
            diagnosis,
            own_timeout,
            prefill_rejected: false,
        }))
    }
}

/// Adds the target's model and base URL to a failure.
pub(crate) fn in_context<'a>(failure: Failure<'a>, target: &'a TargetId) -> Failure<'a> {
    failure
        .with_model(&target.model)
        .with_base_url(&target.endpoint.base_url)
}

/// Diagnoses a non-2xx response.
pub(crate) fn http_failure(
    inner: &Inner,
    target: &TargetId,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Diagnosis {
    let failure = in_context(
        Failure::http_response(
            status,
            headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
            body,
        ),
        target,
    );
    inner.diagnose(&failure)
}

/// Diagnoses a 2xx response the client rejected.
pub(crate) fn malformed(
    inner: &Inner,
    target: &TargetId,
    headers: &HeaderMap,
    body: &[u8],
    reason: &str,
) -> AttemptError {
    AttemptError::diagnosed(
        malformed_diagnosis(inner, target, headers, body, reason),
        false,
    )
}

/// The diagnosis of a malformed 2xx answer (`body`, with `headers`).
pub(crate) fn malformed_diagnosis(
    inner: &Inner,
    target: &TargetId,
    headers: &HeaderMap,
    body: &[u8],
    reason: &str,
) -> Diagnosis {
    let failure = in_context(
        Failure::malformed(body, reason)
            .headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))),
        target,
    );
    inner.diagnose(&failure)
}

/// A 2xx answer whose JSON does not follow the request's schema: a
/// malformed response of the `schema_violation` sub-category.
pub(crate) fn schema_violation(
    inner: &Inner,
    target: &TargetId,
    headers: &HeaderMap,
    body: &[u8],
    reason: &str,
) -> Diagnosis {
    let mut diagnosis = malformed_diagnosis(inner, target, headers, body, reason);
    diagnosis.sub_category = std::borrow::Cow::Borrowed(crate::guard::SCHEMA_VIOLATION);
    diagnosis
}

/// A timeout our own timer measured.
pub(crate) fn own_timeout(inner: &Inner, target: &TargetId, phase: TimeoutPhase) -> AttemptError {
    let failure = in_context(
        Failure::transport(TransportErrorKind::Timeout(phase), None),
        target,
    );
    AttemptError::diagnosed(inner.diagnose(&failure), true)
}

/// A stream that ended, stalled or broke before its finish signal;
/// `detail` is what was seen (an in-stream error event names the real
/// cause, such as an overload).
pub(crate) fn interrupted(inner: &Inner, target: &TargetId, detail: &str) -> Diagnosis {
    inner.diagnose(&in_context(Failure::stream_interrupted(detail), target))
}

/// The sub-category of a request the target's protocol cannot carry (a
/// translation refused it): nothing was sent, and another target may serve it.
pub(crate) const UNSUPPORTED: &str = "unsupported_by_protocol";

/// A body that could not be made for `target`. The request's own fault ends
/// the call; what the target's protocol cannot carry is caught before the
/// attempt (see [`refusal`]), so reaching here with it is a configuration
/// error like any request that cannot be sent as built.
pub(crate) fn body_failure(inner: &Inner, target: &TargetId, error: BodyError) -> AttemptError {
    match error {
        BodyError::Request(e) => AttemptError::Fatal(e),
        BodyError::Target(e) => transport_failure(inner, target, &e),
    }
}

/// The diagnosis of a target whose protocol cannot carry the request, from
/// the translation's refusal; `None` for any other failure to build it.
pub(crate) fn refusal(inner: &Inner, target: &TargetId, error: &BodyError) -> Option<Diagnosis> {
    let BodyError::Target(e) = error else {
        return None;
    };
    if e.kind() != TransportErrorKind::InvalidRequest {
        return None;
    }
    let failure = in_context(
        Failure::transport(TransportErrorKind::InvalidRequest, None),
        target,
    );
    let mut diagnosis = inner.diagnose(&failure);
    diagnosis.category = ErrorCategory::InvalidRequest;
    diagnosis.sub_category = UNSUPPORTED.into();
    diagnosis.confidence = 1.0;
    diagnosis.severity = Severity::High;
    diagnosis.retryable = false;
    diagnosis.retry_after = None;
    diagnosis.status = None;
    diagnosis.about_target = false;
    diagnosis.root_cause = format!(
        "endpoint {} cannot carry this request: {}",
        target.endpoint.name,
        std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string)
    )
    .into();
    Some(diagnosis)
}

/// Diagnoses a transport error. A request that cannot be sent as built (a
/// key with characters no header allows) is a configuration error; a
/// local resource running out ends the call without blaming the target.
pub(crate) fn transport_failure(
    inner: &Inner,
    target: &TargetId,
    error: &TransportError,
) -> AttemptError {
    use TransportErrorKind as K;
    let kind = match error.kind() {
        K::InvalidRequest => {
            return AttemptError::Fatal(Error::config(format!(
                "endpoint {}: the request cannot be sent: {error}",
                target.endpoint.name
            )));
        }
        K::LocalResource => {
            return AttemptError::Fatal(Error::local_resource(format!(
                "endpoint {}: {error}",
                target.endpoint.name
            )));
        }
        K::BodyTooLarge => {
            return malformed(
                inner,
                target,
                &HeaderMap::new(),
                b"",
                "the response body exceeds the size cap",
            );
        }
        kind => kind,
    };
    let text = error.to_string();
    let failure = in_context(Failure::transport(kind, text.as_str()), target);
    // Every deadline the transport enforces is one the client set.
    AttemptError::diagnosed(inner.diagnose(&failure), error.is_timeout())
}
