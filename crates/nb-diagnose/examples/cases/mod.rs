//! The `diagnose` benchmark's failures, shared with
//! `benches/benches/diagnose.rs` so that the instructions counted here are
//! those of the cases timed there.

use std::time::{Duration, SystemTime};

use nb_diagnose::{Failure, TimeoutPhase, TransportErrorKind};

/// An OpenAI 429, as a client receives it.
pub(crate) const TYPICAL: &str = r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 14567, Requested 24754. Please try again in 18.642s. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;

/// The fixed clock every case is diagnosed at.
pub(crate) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// [`TYPICAL`] with its rate-limit headers, base URL and model.
pub(crate) fn typical() -> Failure<'static> {
    Failure::http(429, TYPICAL)
        .header("x-ratelimit-remaining-tokens", "0")
        .header("x-ratelimit-reset-tokens", "18.642s")
        .header("x-request-id", "req_123")
        .with_base_url("https://api.openai.com/v1")
        .with_model("gpt-4o")
}

/// A 503 with an empty body.
pub(crate) fn status_only() -> Failure<'static> {
    Failure::http(503, "").with_base_url("https://api.deepseek.com")
}

/// A DashScope rate limit known only by its message.
pub(crate) fn bare_message() -> Failure<'static> {
    Failure::message("throttling.ratequota: 请求速度超限")
}

/// A message no rule reads, whose category is guessed from its words.
pub(crate) fn guessed_message() -> Failure<'static> {
    Failure::message("your organization ran out of prepaid credit balance")
}

/// A stream that stopped with a client's words no rule reads, which the
/// stream's words model reads as a chunk that could not be used.
pub(crate) fn guessed_stream_stop() -> Failure<'static> {
    Failure::stream_interrupted("AttributeError: 'NoneType' object has no attribute 'delta'")
}

/// A first-byte timeout.
pub(crate) fn transport_timeout() -> Failure<'static> {
    Failure::transport(TransportErrorKind::Timeout(TimeoutPhase::FirstByte), None)
        .with_base_url("https://api.anthropic.com/v1")
}

/// Pseudo-random printable junk, 1 MiB, for a 500's body: only the first
/// 64 KiB are read.
pub(crate) fn junk_1mib() -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b' ' + (x % 95) as u8
        })
        .collect()
}
