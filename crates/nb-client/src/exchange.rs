//! One exchange with a target: send the request through the transport,
//! feed the target's limiter with the response's rate-limit headers, and
//! hand back a 2xx response or the diagnosed failure.

use bytes::Bytes;
use http::HeaderMap;
use nb_diagnose::{ResponseHeaders, TimeoutPhase, read_rate_limits};
use nb_transport::{RequestOptions, ResponseBody, Timeouts};

use crate::cascade::AttemptCtx;
use crate::failure::{AttemptError, http_failure, own_timeout, transport_failure};
use crate::shared::Inner;
use crate::target::TargetId;
use crate::time::now;

/// A non-streamed exchange under the attempt's deadlines: sends `request`
/// and reads a 2xx body whole. Its head arrives only once the answer is
/// generated, so nothing short bounds it: a slow but healthy model gets the
/// call's deadline, and a hung one is caught by a hedge. A transport that
/// declares it enforces the deadlines it is given (HyperTransport does)
/// needs no second timer; any other gets one of the client's, so the
/// deadline holds even if it ignores the options.
pub(crate) async fn send_whole(
    inner: &Inner,
    ctx: &AttemptCtx,
    request: http::Request<Bytes>,
) -> Result<(http::response::Parts, Bytes), AttemptError> {
    let target = &ctx.target;
    let options = RequestOptions::with_timeouts(Timeouts {
        connect: Some(ctx.connect),
        response_head: None,
        first_byte: None,
        idle: Some(inner.settings.idle_timeout),
        total: Some(ctx.call_deadline.saturating_duration_since(ctx.started)),
    });
    let exchange = async {
        let (parts, body) = send(inner, target, request, options).await?;
        let body = body
            .collect_capped(options.max_body.unwrap_or(usize::MAX))
            .await
            .map_err(|e| transport_failure(inner, target, &e))?;
        Ok((parts, body))
    };
    if inner.transport.enforces_deadlines() {
        return exchange.await;
    }
    match tokio::time::timeout_at(ctx.call_deadline.into(), exchange).await {
        Ok(result) => result,
        Err(_elapsed) => Err(own_timeout(inner, target, TimeoutPhase::Total)),
    }
}

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
