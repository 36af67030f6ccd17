//! Response bodies and OpenAI-shaped JSON and error responses.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame};
use serde::Serialize;
use tokio::sync::mpsc;

/// Every response body the sidecar sends.
pub(crate) type ResBody = BoxBody<Bytes, Infallible>;

/// A whole body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> ResBody {
    Full::new(bytes.into()).boxed()
}

/// A body fed chunk by chunk from a channel (server-sent events); it ends when every
/// sender is dropped. Dropping the body (the caller went away) closes the channel, which
/// the producer sees as a failed send.
#[derive(Debug)]
pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl ChannelBody {
    /// A body and the sender that feeds it.
    pub(crate) fn channel(capacity: usize) -> (mpsc::Sender<Bytes>, ResBody) {
        let (tx, rx) = mpsc::channel(capacity);
        (tx, Self { rx }.boxed())
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

/// A JSON response.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<ResBody> {
    // Serializing our own plain structs and values cannot fail; an empty object is the
    // harmless answer if it ever did.
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`, plus what
/// NeuralBridge knows about the failure under `error.neuralbridge` when there is one.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorFields<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    neuralbridge: Option<serde_json::Value>,
}

/// An error response in OpenAI's shape.
pub(crate) fn error(
    status: StatusCode,
    kind: &str,
    code: &str,
    message: &str,
    detail: Option<serde_json::Value>,
) -> Response<ResBody> {
    error_with_param(status, kind, code, None, message, detail)
}

/// An error response in OpenAI's shape naming the request field at fault (`param`).
pub(crate) fn error_with_param(
    status: StatusCode,
    kind: &str,
    code: &str,
    param: Option<&str>,
    message: &str,
    detail: Option<serde_json::Value>,
) -> Response<ResBody> {
    let body = ErrorBody {
        error: ErrorFields {
            message,
            kind,
            param,
            code,
            neuralbridge: detail,
        },
    };
    json(status, &body)
}

/// A 400 `invalid_request_error`; `param` names the field at fault, if one is.
pub(crate) fn bad_request(code: &str, param: Option<&str>, message: &str) -> Response<ResBody> {
    error_with_param(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        code,
        param,
        message,
        None,
    )
}

/// One server-sent event carrying `data`.
pub(crate) fn sse_data(data: &[u8]) -> Bytes {
    let mut event = Vec::with_capacity(data.len() + 8);
    event.extend_from_slice(b"data: ");
    event.extend_from_slice(data);
    event.extend_from_slice(b"\n\n");
    Bytes::from(event)
}

/// The event that ends an OpenAI stream.
pub(crate) const SSE_DONE: &[u8] = b"data: [DONE]\n\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_bodies_have_openais_shape() {
        let r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "cooling_down",
            "every model is cooling down",
            None,
        );
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["type"], "server_error");
        assert_eq!(v["error"]["code"], "cooling_down");
        assert_eq!(v["error"]["param"], serde_json::Value::Null);
        assert!(v["error"].get("neuralbridge").is_none());
    }

    #[tokio::test]
    async fn a_channel_body_ends_when_the_sender_goes() {
        let (tx, body) = ChannelBody::channel(4);
        tx.send(sse_data(b"{}")).await.unwrap();
        tx.send(Bytes::from_static(SSE_DONE)).await.unwrap();
        drop(tx);
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(&all[..], b"data: {}\n\ndata: [DONE]\n\n");
    }
}
