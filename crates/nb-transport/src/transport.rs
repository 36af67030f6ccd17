//! The `Transport` trait and its per-request options.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};

use crate::body::{BoxFuture, ResponseBody};
use crate::error::TransportError;

/// Sends one HTTP request and returns the response head and its body.
///
/// The trait is object safe: callers hold an `Arc<dyn Transport>` and any
/// HTTP stack can sit behind it. The returned future is `Send`. Request and
/// response are the `http` crate's types; the request body is the whole
/// payload as [`Bytes`] (chat requests are small and must be replayable on
/// retry), the response body a [`ResponseBody`] readable whole or as a stream.
///
/// An implementation must:
/// - resolve with the response as soon as its head arrives (status and
///   headers), leaving the body to be read;
/// - honour [`RequestOptions::timeouts`] for every phase it controls and report
///   an elapsed deadline as [`TransportErrorKind::Timeout`] with its
///   [`TimeoutPhase`], including deadlines that elapse while the body is read;
/// - cap the body as [`RequestOptions::body_limit`] says;
/// - never put the request's headers, body or URL in an error.
///
/// A transport that enforces every deadline of [`RequestOptions::timeouts`]
/// itself, including the total one while the body is read, declares it with
/// [`enforces_deadlines`](Self::enforces_deadlines); a caller then needs no
/// timer of its own around it.
///
/// [`TransportErrorKind::Timeout`]: crate::TransportErrorKind::Timeout
/// [`TimeoutPhase`]: crate::TimeoutPhase
pub trait Transport: fmt::Debug + Send + Sync {
    /// Sends `request` and resolves once the response head has arrived.
    fn send(
        &self,
        request: Request<Bytes>,
        options: RequestOptions,
    ) -> BoxFuture<'_, Result<Response<ResponseBody>, TransportError>>;

    /// Whether this transport enforces every deadline in
    /// [`RequestOptions::timeouts`] itself (connect, response head, first
    /// byte, idle and total, the last two also while the body is read).
    /// `false` by default, so a caller that needs a deadline to hold keeps
    /// a timer of its own; [`HyperTransport`](crate::HyperTransport)
    /// says `true`.
    fn enforces_deadlines(&self) -> bool {
        false
    }
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(
        &self,
        request: Request<Bytes>,
        options: RequestOptions,
    ) -> BoxFuture<'_, Result<Response<ResponseBody>, TransportError>> {
        (**self).send(request, options)
    }
    fn enforces_deadlines(&self) -> bool {
        (**self).enforces_deadlines()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(
        &self,
        request: Request<Bytes>,
        options: RequestOptions,
    ) -> BoxFuture<'_, Result<Response<ResponseBody>, TransportError>> {
        (**self).send(request, options)
    }
    fn enforces_deadlines(&self) -> bool {
        (**self).enforces_deadlines()
    }
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(
        &self,
        request: Request<Bytes>,
        options: RequestOptions,
    ) -> BoxFuture<'_, Result<Response<ResponseBody>, TransportError>> {
        (**self).send(request, options)
    }
    fn enforces_deadlines(&self) -> bool {
        (**self).enforces_deadlines()
    }
}

/// Deadlines for the phases of one request; `None` means no deadline, and so
/// does a duration too long for the clock to add (e.g. `Duration::MAX`).
///
/// A transport may have deadlines of its own:
/// [`HyperTransport`](crate::HyperTransport) caps connecting at its builder's
/// `connect_timeout` (10 s by default) for every request, and a request's
/// `connect` deadline can only shorten that.
///
/// `Timeouts::default()` is: `connect` none (the transport's own only),
/// `response_head` none, `first_byte` none, `idle` 60 s, `total` none. A
/// non-streamed LLM answer sends its head only once the whole answer is
/// generated, which can take minutes, so the facade sets the head, first-byte
/// and total deadlines per attempt from the provider profile; the default
/// idle deadline still catches a stream that went silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timeouts {
    /// Opening a new connection: DNS, TCP connect and the TLS handshake
    /// together, reported as [`TimeoutPhase::Connect`](crate::TimeoutPhase::Connect).
    /// It applies only when the request needs a new connection (a pooled one
    /// is reused at once), and the shorter of it and the transport's own
    /// connect deadline wins.
    pub connect: Option<Duration>,
    /// From sending the request until the response status and headers have
    /// arrived (includes connecting and the TLS handshake when a new
    /// connection is needed).
    pub response_head: Option<Duration>,
    /// From the response head until the first body byte. When `None`, the
    /// `idle` deadline also covers this wait (and is reported as `Idle`).
    pub first_byte: Option<Duration>,
    /// The longest silence between two body chunks once data flows.
    pub idle: Option<Duration>,
    /// From sending the request until the end of the body.
    pub total: Option<Duration>,
}

impl Timeouts {
    /// No deadline in any phase.
    pub const NONE: Self = Self {
        connect: None,
        response_head: None,
        first_byte: None,
        idle: None,
        total: None,
    };

    /// The default idle deadline between two body chunks: 60 s.
    pub const DEFAULT_IDLE: Duration = Duration::from_secs(60);
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            idle: Some(Self::DEFAULT_IDLE),
            ..Self::NONE
        }
    }
}

/// Options for one request: its deadlines and body caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestOptions {
    /// The per-phase deadlines.
    pub timeouts: Timeouts,
    /// The cap on a success (2xx) body, streamed or read whole; `None` for no
    /// cap. Default: [`RequestOptions::DEFAULT_MAX_BODY`] (64 MiB).
    pub max_body: Option<usize>,
    /// The cap on any other body (an error page or error JSON). Default:
    /// [`RequestOptions::DEFAULT_MAX_ERROR_BODY`] (64 KiB).
    pub max_error_body: usize,
}

impl RequestOptions {
    /// Default cap on a success body: 64 MiB, room for a very long stream.
    pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;
    /// Default cap on an error body: 64 KiB, more than any provider's error.
    pub const DEFAULT_MAX_ERROR_BODY: usize = 64 * 1024;

    /// Default options with these deadlines.
    #[must_use]
    pub fn with_timeouts(timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            ..Self::default()
        }
    }

    /// The body cap that applies to a response with `status`.
    #[must_use]
    pub fn body_limit(&self, status: StatusCode) -> Option<usize> {
        if status.is_success() {
            self.max_body
        } else {
            Some(self.max_error_body)
        }
    }

    /// Applies [`body_limit`](Self::body_limit) to a response's body: what
    /// every transport does before handing the response out.
    #[must_use]
    pub fn limit_response(&self, response: Response<ResponseBody>) -> Response<ResponseBody> {
        match self.body_limit(response.status()) {
            Some(max) => response.map(|body| body.limit(max)),
            None => response,
        }
    }
}

impl Default for RequestOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            max_body: Some(Self::DEFAULT_MAX_BODY),
            max_error_body: Self::DEFAULT_MAX_ERROR_BODY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;
    use crate::error::TransportErrorKind;

    // Compile-time proof that the trait is object safe and its futures are Send.
    fn _obj_safe(_: &dyn Transport) {}
    fn _arc_dyn(t: Arc<dyn Transport>) -> impl Send {
        async move {
            t.send(Request::new(Bytes::new()), RequestOptions::default())
                .await
        }
    }

    #[test]
    fn deadline_enforcement_is_declared_and_forwarded() {
        #[derive(Debug)]
        struct Enforcing;
        impl Transport for Enforcing {
            fn send(
                &self,
                _: Request<Bytes>,
                _: RequestOptions,
            ) -> BoxFuture<'_, Result<Response<ResponseBody>, TransportError>> {
                Box::pin(async { Err(TransportError::new(TransportErrorKind::Other)) })
            }
            fn enforces_deadlines(&self) -> bool {
                true
            }
        }
        assert!(!Echo.enforces_deadlines(), "not declared: false");
        let shared: Arc<dyn Transport> = Arc::new(Enforcing);
        assert!(shared.enforces_deadlines());
        assert!(Box::new(Enforcing).enforces_deadlines());
        assert!(Transport::enforces_deadlines(&&Enforcing));
        assert!(!Arc::new(Echo).enforces_deadlines());
    }

    #[derive(Debug)]
    struct Echo;

    impl Transport for Echo {
        fn send(
            &self,
            request: Request<Bytes>,
            options: RequestOptions,
        ) -> BoxFuture<'_, Result<Response<ResponseBody>, TransportError>> {
            Box::pin(async move {
                let status = if request.body().is_empty() {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::OK
                };
                let mut response = Response::new(ResponseBody::full(request.into_body()));
                *response.status_mut() = status;
                Ok(options.limit_response(response))
            })
        }
    }

    #[test]
    fn blanket_impls_forward() {
        let t: Arc<dyn Transport> = Arc::new(Echo);
        let boxed: Box<dyn Transport> = Box::new(Arc::clone(&t));
        let response =
            block_on(boxed.send(Request::new(Bytes::from("hi")), RequestOptions::default()))
                .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            block_on(response.into_body().collect_capped(10)).unwrap(),
            "hi"
        );
    }

    #[test]
    fn error_bodies_get_the_error_cap() {
        let options = RequestOptions {
            max_body: None,
            max_error_body: 4,
            ..RequestOptions::default()
        };
        assert_eq!(options.body_limit(StatusCode::OK), None);
        assert_eq!(options.body_limit(StatusCode::TOO_MANY_REQUESTS), Some(4));
        let ok = block_on(Echo.send(Request::new(Bytes::from("0123456789")), options)).unwrap();
        assert_eq!(
            block_on(ok.into_body().collect_capped(usize::MAX))
                .unwrap()
                .len(),
            10
        );

        let limited = options.limit_response(
            Response::builder()
                .status(500)
                .body(ResponseBody::full("0123456789"))
                .unwrap(),
        );
        let err = block_on(limited.into_body().collect_capped(usize::MAX)).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::BodyTooLarge);
    }

    #[test]
    fn defaults_are_documented_values() {
        let o = RequestOptions::default();
        assert_eq!(o.max_error_body, 64 * 1024);
        assert_eq!(o.max_body, Some(64 * 1024 * 1024));
        assert_eq!(
            o.timeouts,
            Timeouts {
                idle: Some(Duration::from_secs(60)),
                ..Timeouts::NONE
            }
        );
    }
}
