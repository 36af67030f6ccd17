use bytes::Bytes;
use proptest::prelude::*;

use super::*;

fn drain(dec: &mut SseDecoder) -> Vec<Result<SseEvent, SseError>> {
    std::iter::from_fn(|| dec.next_event()).collect()
}

fn decode_all(input: &[u8]) -> Vec<Result<SseEvent, SseError>> {
    let mut dec = SseDecoder::new();
    dec.feed(input);
    let mut out = drain(&mut dec);
    dec.finish();
    out.extend(drain(&mut dec));
    out
}

fn data(ev: &Result<SseEvent, SseError>) -> &str {
    &ev.as_ref().unwrap().data
}

#[test]
fn line_endings_comments_and_fields() {
    for input in [
        &b"data: a\n\ndata: b\n\n"[..],
        b"data: a\r\n\r\ndata: b\r\n\r\n",
        b"data: a\r\rdata: b\r\r",
        b"\xEF\xBB\xBF: hi\ndata:a\n\n:x\ndata: b\n\n",
    ] {
        let evs = decode_all(input);
        assert_eq!(evs.len(), 2, "{input:?}");
        assert_eq!(data(&evs[0]), "a");
        assert_eq!(data(&evs[1]), "b");
    }
    let evs =
        decode_all(b"event: delta\nid: 7\nretry: 1500\ndata: x\ndata:  y\ndata\nunknown: z\n\n");
    let ev = evs[0].as_ref().unwrap();
    assert_eq!(ev.event.as_deref(), Some("delta"));
    assert_eq!(ev.id.as_deref(), Some("7"));
    assert_eq!(ev.data, "x\n y\n");
    let mut dec = SseDecoder::new();
    dec.feed(b"id: 9\nretry: 20\nretry: x\ndata: q\n\n");
    assert!(dec.next_event().is_some());
    assert_eq!((dec.last_event_id(), dec.retry_ms()), ("9", Some(20)));
}

#[test]
fn events_without_data_are_not_dispatched_but_empty_data_is() {
    let evs = decode_all(b"event: ping\n\n: comment\n\ndata:\n\n");
    assert_eq!(evs.len(), 1);
    assert_eq!(data(&evs[0]), "");
    assert_eq!(
        evs[0].as_ref().unwrap().event,
        None,
        "event type reset after the empty frame"
    );
}

#[test]
fn finish_flushes_an_unterminated_last_event() {
    let mut dec = SseDecoder::new();
    dec.feed(b"data: [DONE]");
    assert!(dec.next_event().is_none());
    dec.finish();
    assert_eq!(dec.next_event().unwrap().unwrap().data, "[DONE]");
    assert!(dec.next_event().is_none());
}

#[test]
fn cr_lf_split_across_chunks_is_one_line_ending() {
    let mut dec = SseDecoder::new();
    dec.feed(b"data: a\r");
    assert!(dec.next_event().is_none());
    dec.feed(b"\n\r");
    assert_eq!(dec.next_event().unwrap().unwrap().data, "a");
    dec.feed(b"\ndata: b\n\n");
    assert_eq!(dec.next_event().unwrap().unwrap().data, "b");
    assert!(dec.next_event().is_none());
}

#[test]
fn oversized_events_are_dropped_and_decoding_resumes() {
    // A complete oversized data line.
    let mut dec = SseDecoder::with_max_event_size(16);
    dec.feed(b"data: 0123456789abcdefXYZ\ndata: more\n\ndata: ok\n\n");
    assert_eq!(
        dec.next_event().unwrap().unwrap_err(),
        SseError::EventTooLarge { limit: 16 }
    );
    assert_eq!(dec.next_event().unwrap().unwrap().data, "ok");

    // An endless line: memory stays bounded and one error is reported.
    let mut dec = SseDecoder::with_max_event_size(64);
    dec.feed(b"data: ");
    let mut errors = 0;
    for _ in 0..1000 {
        dec.feed(&[b'x'; 100]);
        while let Some(item) = dec.next_event() {
            assert!(item.is_err());
            errors += 1;
        }
        assert!(
            dec.buf.capacity() < 1024,
            "the decoder does not keep the endless line"
        );
    }
    assert_eq!(errors, 1);
    dec.feed(b"\ndata: tail\n\ndata: ok\n\n");
    assert_eq!(
        dec.next_event().unwrap().unwrap().data,
        "ok",
        "the rest of the oversized event is skipped"
    );

    // Many data lines adding up past the limit.
    let mut dec = SseDecoder::with_max_event_size(10);
    dec.feed(b"data: 12345\ndata: 67890\ndata: x\n\ndata: y\n\n");
    assert!(dec.next_event().unwrap().is_err());
    assert_eq!(dec.next_event().unwrap().unwrap().data, "y");
}

#[test]
fn line_end_search_matches_a_plain_search() {
    for len in [0, 1, 31, 32, 33, 64, 100] {
        for at in 0..=len {
            let mut bytes = vec![b'x'; len];
            if at < len {
                bytes[at] = if at % 2 == 0 { b'\n' } else { b'\r' };
            }
            let expected = bytes.iter().position(|&b| b == b'\n' || b == b'\r');
            assert_eq!(find_line_end(&bytes), expected, "len {len}, eol at {at}");
        }
    }
}

#[test]
fn a_long_line_in_tiny_pieces_is_scanned_once() {
    let mut dec = SseDecoder::new();
    dec.feed(b"data: ");
    for _ in 0..10_000 {
        dec.feed(b"ab");
        assert!(dec.next_event().is_none());
        assert_eq!(
            dec.scanned,
            dec.buf.len() - dec.pos,
            "known line-free bytes are not rescanned"
        );
    }
    dec.feed(b"\n\n");
    assert_eq!(dec.next_event().unwrap().unwrap().data.len(), 20_000);
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let evs = decode_all(b"data: \xFF\xFEok\n\n");
    assert_eq!(data(&evs[0]), "\u{FFFD}\u{FFFD}ok");
}

const CHUNK: &str = r#"{"choices":[{"index":0,"delta":{"content":"x"}}]}"#;
const LAST: &str = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;

fn chat(input: &str) -> (Vec<Result<ChunkEvent, StreamError>>, bool) {
    let mut dec = ChunkStreamDecoder::new();
    dec.feed(input.as_bytes());
    let mut out: Vec<_> = std::iter::from_fn(|| dec.next_event()).collect();
    dec.finish();
    out.extend(std::iter::from_fn(|| dec.next_event()));
    (out, dec.is_complete())
}

#[test]
fn finish_rule() {
    let (evs, complete) = chat(&format!("data: {CHUNK}\n\ndata: [DONE]\n\n"));
    assert!(complete);
    assert!(matches!(evs.last(), Some(Ok(ChunkEvent::Done))));

    let (evs, complete) = chat(&format!("data: {CHUNK}\n\ndata: {LAST}\n\n"));
    assert!(complete, "a finish_reason is a finish signal");
    assert_eq!(evs.len(), 2);

    let (evs, complete) = chat(&format!("data: {CHUNK}\n\n"));
    assert!(!complete);
    assert!(matches!(evs.last(), Some(Err(StreamError::Interrupted))));
    assert!(evs.last().unwrap().as_ref().unwrap_err().is_interrupted());

    let (evs, complete) = chat("");
    assert!(!complete, "an empty body is not a complete answer");
    assert_eq!(evs.len(), 1);

    // Two choices: only one finished, then the stream ends.
    let two = r#"{"choices":[{"index":0,"delta":{}},{"index":1,"delta":{}}]}"#;
    let (_, complete) = chat(&format!("data: {two}\n\ndata: {LAST}\n\n"));
    assert!(!complete, "choice 1 never finished");
}

#[test]
fn expected_choices_must_all_finish() {
    let input = format!("data: {LAST}\n\n");
    let decode = |mut dec: ChunkStreamDecoder| {
        dec.feed(input.as_bytes());
        let mut out: Vec<_> = std::iter::from_fn(|| dec.next_event()).collect();
        dec.finish();
        out.extend(std::iter::from_fn(|| dec.next_event()));
        (out, dec.is_complete())
    };
    // Choice 0 finished; choice 1 of n = 2 never appeared before the end.
    let (evs, complete) = decode(ChunkStreamDecoder::new().expect_choices(2));
    assert!(!complete);
    assert!(matches!(evs.last(), Some(Err(StreamError::Interrupted))));
    // Without the hint only the mentioned choices count.
    assert!(decode(ChunkStreamDecoder::new()).1);
    assert!(decode(ChunkStreamDecoder::new().expect_choices(1)).1);
    // [DONE] is a finish signal whatever the count.
    let mut dec = ChunkStreamDecoder::new().expect_choices(2);
    dec.feed(b"data: [DONE]\n\n");
    assert!(dec.next_event().is_some() && dec.is_complete());
}

#[test]
fn tracked_choices_are_bounded() {
    let mut dec = ChunkStreamDecoder::new();
    for i in 0..1000 {
        dec.feed(
            format!("data: {{\"choices\":[{{\"index\":{i},\"delta\":{{}}}}]}}\n\n").as_bytes(),
        );
        assert!(dec.next_event().unwrap().is_ok());
    }
    assert_eq!(dec.choices.len(), MAX_TRACKED_CHOICES);
    assert!(!dec.is_complete());
}

#[test]
fn malformed_and_error_events_do_not_stop_the_decoder() {
    let input = format!(
        "data: {{\"choices\":[{{\"delta\"\n\nevent: error\ndata: {{\"error\":{{\"type\":\"overloaded\"}}}}\n\n\
         data: {{\"error\":{{\"message\":\"boom\"}}}}\n\n: ping\n\ndata:\n\ndata: {CHUNK}\n\ndata: [DONE]\n\n"
    );
    let (evs, complete) = chat(&input);
    assert!(
        matches!(&evs[0], Err(StreamError::Malformed { data, .. }) if data.starts_with("{\"choices"))
    );
    assert!(
        matches!(&evs[1], Err(StreamError::Provider { event: Some(e), data }) if e == "error" && data.contains("overloaded"))
    );
    assert!(
        matches!(&evs[2], Err(StreamError::Provider { event: None, data }) if data.contains("boom"))
    );
    assert!(matches!(&evs[3], Ok(ChunkEvent::Chunk(c)) if c.content() == Some("x")));
    assert!(matches!(&evs[4], Ok(ChunkEvent::Done)));
    assert_eq!(
        evs.len(),
        5,
        "no Interrupted after the provider's own error"
    );
    assert!(!evs[0].as_ref().unwrap_err().is_interrupted());
    assert!(
        !complete,
        "a provider error fails the stream, [DONE] or not"
    );

    // A malformed event alone does not fail the stream.
    let (evs, complete) = chat(&format!(
        "data: {{\"choices\"\n\ndata: {CHUNK}\n\ndata: [DONE]\n\n"
    ));
    assert!(complete);
    assert_eq!(evs.len(), 3);
}

#[test]
fn in_stream_errors_of_every_known_shape_fail_the_stream() {
    for error in [
        // OpenRouter: an error object and a choice finished with "error".
        r#"{"id":"gen-1","object":"chat.completion.chunk","error":{"code":502,"message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#,
        // OpenAI: an error object and no choices.
        r#"{"error":{"message":"The server had an error","type":"server_error"}}"#,
        // vLLM: the chunk itself is the error.
        r#"{"object":"error","message":"Engine died","type":"InternalServerError","code":500}"#,
        // A finish reason of "error" with nothing else.
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"error"}]}"#,
    ] {
        let (evs, complete) = chat(&format!(
            "data: {CHUNK}\n\ndata: {error}\n\ndata: [DONE]\n\n"
        ));
        assert!(!complete, "{error}");
        assert!(
            matches!(&evs[1], Err(StreamError::Provider { data, .. }) if data == error),
            "{evs:?}"
        );
        assert_eq!(evs.len(), 3, "{evs:?}");
    }
    // `"error": null` is no error.
    let (_, complete) = chat(
        r#"data: {"error":null,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

"#,
    );
    assert!(complete);
}

/// Every item `ChunkStream` yields, then whether it was complete.
fn read_stream(chunks: Vec<Result<&'static str, TransportError>>) -> (Vec<String>, bool) {
    let body = ResponseBody::from_chunks(chunks.into_iter().map(|c| c.map(Bytes::from)));
    let mut stream = ChunkStream::new(body);
    let mut seen = Vec::new();
    crate::block_on(async {
        while let Some(item) = stream.next().await {
            seen.push(match item {
                Ok(ChunkEvent::Chunk(_)) => "chunk".to_owned(),
                Ok(ChunkEvent::Done) => "done".to_owned(),
                Err(e) => format!("error interrupted={}", e.is_interrupted()),
            });
        }
    });
    (seen, stream.is_complete())
}

#[test]
fn a_body_error_after_the_finish_signal_is_not_an_interruption() {
    use crate::error::{TimeoutPhase, TransportErrorKind};
    let cut = || Err(TransportError::new(TransportErrorKind::StreamInterrupted));
    let stall = || Err(TransportError::timeout(TimeoutPhase::Idle));
    let chunk = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n";
    let last = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";

    // Cut after the finish reason, before the usage chunk and [DONE].
    let (seen, complete) = read_stream(vec![Ok(chunk), Ok(last), cut()]);
    assert_eq!(seen, ["chunk", "chunk"]);
    assert!(complete);

    // [DONE], then the server keeps the connection silent until the idle deadline.
    let (seen, complete) = read_stream(vec![Ok(chunk), Ok(last), Ok("data: [DONE]\n\n"), stall()]);
    assert_eq!(seen, ["chunk", "chunk", "done"]);
    assert!(complete);

    // Before the finish signal the same errors are interruptions.
    for error in [cut(), stall()] {
        let (seen, complete) = read_stream(vec![Ok(chunk), error]);
        assert_eq!(seen, ["chunk", "error interrupted=true"]);
        assert!(!complete);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_panic_and_bounded_on_any_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16)) {
        let mut dec = ChunkStreamDecoder::with_sse(SseDecoder::with_max_event_size(128));
        for chunk in &chunks {
            dec.feed(chunk);
            while dec.next_event().is_some() {}
            prop_assert!(dec.sse.buf.len() - dec.sse.pos <= 128 + 64);
            prop_assert!(dec.sse.data.len() <= 128);
        }
        dec.finish();
        let mut rest = 0;
        while dec.next_event().is_some() {
            rest += 1;
            prop_assert!(rest < 10_000);
        }
    }

    #[test]
    fn any_split_decodes_like_one_feed(
        text in "((data|event|id|:c)(: ?[a-z{}\\[\\]\"]{0,6})?(\r\n|\n|\r)){0,12}",
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let bytes = text.as_bytes();
        let whole = decode_all(bytes);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut dec = SseDecoder::new();
        let mut out = Vec::new();
        let mut at = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            dec.feed(&bytes[at..p]);
            out.extend(drain(&mut dec));
            at = p;
        }
        dec.finish();
        out.extend(drain(&mut dec));
        prop_assert_eq!(out, whole);
    }
}
