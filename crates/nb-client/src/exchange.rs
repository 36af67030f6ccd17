//! One exchange with a target: send the request through the transport,
//! feed the target's limiter with the response's rate-limit headers, and
//! hand back a 2xx response or the diagnosed failure.

use http::HeaderMap;
use nb_diagnose::{ResponseHeaders, read_rate_limits};
use nb_transport::{RequestOptions, ResponseBody};

use crate::failure::{AttemptError, http_failure, transport_failure};
use crate::shared::Inner;
use crate::target::TargetId;
use crate::time::now;

/// Sends `request` to `target` and returns a 2xx response's head and body;
/// a transport error, or a non-2xx response (its body read under the error
/// cap), comes back diagnosed. Every response feeds the target's limiter.
pub(crate) async fn send(
    inner: &Inner,
    target: &TargetId,
    request: http::Request<bytes::Bytes>,
    options: RequestOptions,
) -> Result<(http::response::Parts, ResponseBody), AttemptError> {
    let response = inner
        .transport
        .send(request, options)
        .await
        .map_err(|e| transport_failure(inner, target, &e))?;
    let (parts, body) = response.into_parts();
    observe_limits(inner, target, &parts.headers);
    if parts.status.is_success() {
        return Ok((parts, body));
    }
    // A body cut short still leaves the status to diagnose.
    let body = body
        .collect_capped(options.max_error_body)
        .await
        .unwrap_or_default();
    let d = http_failure(inner, target, parts.status.as_u16(), &parts.headers, &body);
    Err(AttemptError::diagnosed(d, false))
}

/// Feeds the target's limiter with any rate-limit headers of a response
/// (successes too, so the limiter paces before the next 429). Cheap when
/// there are none: one pass over the header names.
pub(crate) fn observe_limits(inner: &Inner, target: &TargetId, headers: &HeaderMap) {
    let relevant =
        |name: &str| name.starts_with("x-ratelimit") || name.starts_with("anthropic-ratelimit");
    if !headers.keys().any(|n| relevant(n.as_str())) {
        return;
    }
    let kept: ResponseHeaders<'_> = headers
        .iter()
        .filter(|(n, _)| relevant(n.as_str()))
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    observe_limit_headers(inner, target, &kept);
}

/// Feeds the target's limiter with the rate-limit headers among `headers`
/// (any others are ignored).
pub(crate) fn observe_limit_headers(
    inner: &Inner,
    target: &TargetId,
    headers: &ResponseHeaders<'_>,
) {
    let now = now();
    let observed = read_rate_limits(headers, inner.wall(now));
    target.limiter.observe(observed, now);
}
