//! The SSE decoder on a recorded chat stream: split at every byte boundary
//! (and at random sets of boundaries) it decodes exactly as in one piece,
//! and the same stream served over loopback HTTP in small writes reads the
//! same through `ChunkStream`.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use nb_transport::{
    ChunkStream, ChunkStreamDecoder, HyperTransport, RequestOptions, ResponseBody, Timeouts,
    Transport,
};
use proptest::prelude::*;
use tokio::net::TcpListener;

/// A stream as an OpenAI-compatible server sends it: a role chunk, content
/// chunks (one with a multi-byte character), a keep-alive comment, a tool
/// call in pieces, a provider extension, the finish chunk, the usage chunk
/// and `[DONE]`.
const RECORDED: &str = concat!(
    ": OPENROUTER PROCESSING\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Grüße\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" aus 東京\",\"reasoning_content\":\"hm\"},\"finish_reason\":null}]}\n\n",
    ": keep-alive\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"q\\\":1}\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9,\"total_tokens\":21}}\n\n",
    "data: [DONE]\n\n",
);

/// The decoded stream in comparable form: each event or error's Debug text.
fn decode(pieces: &[&[u8]]) -> Vec<String> {
    let mut decoder = ChunkStreamDecoder::new();
    let mut out = Vec::new();
    for piece in pieces {
        decoder.feed(piece);
        out.extend(std::iter::from_fn(|| decoder.next_event()).map(|e| format!("{e:?}")));
    }
    decoder.finish();
    out.extend(std::iter::from_fn(|| decoder.next_event()).map(|e| format!("{e:?}")));
    // Complete exactly when neither an interruption nor a provider error was reported.
    assert_eq!(
        decoder.is_complete(),
        !decoder.failed() && out.iter().all(|e| !e.contains("Interrupted"))
    );
    out
}

fn crlf() -> String {
    RECORDED.replace('\n', "\r\n")
}

#[test]
fn the_recorded_stream_decodes_to_the_expected_events() {
    let events = decode(&[RECORDED.as_bytes()]);
    assert_eq!(events.len(), 8, "{events:#?}");
    assert!(events.iter().all(|e| e.starts_with("Ok(")), "{events:#?}");
    assert_eq!(events.last().map(String::as_str), Some("Ok(Done)"));
    assert!(events[2].contains("東京") && events[2].contains("reasoning_content"));
}

#[test]
fn every_single_split_decodes_identically() {
    for text in [RECORDED.to_owned(), crlf(), RECORDED.replace('\n', "\r")] {
        let bytes = text.as_bytes();
        let whole = decode(&[bytes]);
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            assert_eq!(decode(&[a, b]), whole, "split at byte {at}");
        }
    }
}

#[test]
fn byte_by_byte_decodes_identically() {
    let text = crlf();
    let pieces: Vec<&[u8]> = text.as_bytes().chunks(1).collect();
    assert_eq!(decode(&pieces), decode(&[text.as_bytes()]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_set_of_splits_decodes_identically(
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..24),
        use_crlf in any::<bool>(),
    ) {
        let text = if use_crlf { crlf() } else { RECORDED.to_owned() };
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut at = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            pieces.push(&bytes[at..p]);
            at = p;
        }
        prop_assert_eq!(decode(&pieces), decode(&[bytes]));
    }

    #[test]
    fn no_panic_on_any_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..256), 0..8)) {
        let pieces: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let _ = decode(&pieces);
    }
}

#[tokio::test]
async fn the_recorded_stream_over_http_in_small_writes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
            let (tx, body) = ResponseBody::channel();
            tokio::spawn(async move {
                for piece in crlf().as_bytes().chunks(7) {
                    tx.send(Bytes::copy_from_slice(piece));
                    // Let each piece go out as its own write.
                    tokio::task::yield_now().await;
                }
                tx.finish();
            });
            Ok::<_, Infallible>(Response::new(body))
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });

    let transport = HyperTransport::new().unwrap();
    let request = Request::post(format!("http://{addr}/v1/chat/completions"))
        .body(Bytes::from("{}"))
        .unwrap();
    let options = RequestOptions::with_timeouts(Timeouts {
        total: Some(Duration::from_secs(30)),
        ..Timeouts::default()
    });
    let response = transport.send(request, options).await.unwrap();
    let mut stream = ChunkStream::new(response.into_body());
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(format!("{event:?}"));
    }
    assert!(stream.is_complete());
    assert_eq!(events, decode(&[RECORDED.as_bytes()]));
    assert!(events.iter().any(|e| e.contains("Done")));
}
