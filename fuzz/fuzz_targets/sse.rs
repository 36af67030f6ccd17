//! The incremental SSE decoder and the chat-stream layer on arbitrary bytes:
//! no panic, bounded memory, and the same result however the input is split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nb_transport::{ChatStreamDecoder, SseDecoder};

const LIMIT: usize = 4096;

fn decode(pieces: &[&[u8]]) -> Vec<String> {
    let mut decoder = ChatStreamDecoder::with_sse(SseDecoder::with_max_event_size(LIMIT));
    let mut out = Vec::new();
    for piece in pieces {
        decoder.feed(piece);
        out.extend(std::iter::from_fn(|| decoder.next_event()).map(|e| format!("{e:?}")));
    }
    decoder.finish();
    out.extend(std::iter::from_fn(|| decoder.next_event()).map(|e| format!("{e:?}")));
    out
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks a split point, the rest is the stream.
    let Some((&split, stream)) = data.split_first() else { return };
    let at = usize::from(split) * stream.len() / 255;
    let whole = decode(&[stream]);
    let (a, b) = stream.split_at(at.min(stream.len()));
    // Splitting can only differ when an oversized line is cut before the
    // decoder sees its end; below the limit the results must be identical.
    if stream.len() <= LIMIT {
        assert_eq!(decode(&[a, b]), whole);
    } else {
        decode(&[a, b]);
    }
});
