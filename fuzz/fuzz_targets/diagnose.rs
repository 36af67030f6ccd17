//! Fuzz nb-diagnose: any status, headers, body, message or transport failure
//! must be diagnosed without a panic, within the taxonomy's rules.
//!
//! Input layout: byte 0 picks the failure shape, bytes 1-2 the status, byte 3
//! the number of headers; then `name\0value\0` pairs and the body (or text).
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use nb_diagnose::{
    DiagnosisEngine, Failure, ResponseHeaders, TimeoutPhase,
    TransportErrorKind, rate_limit_headers,
};

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static ENGINE: DiagnosisEngine = DiagnosisEngine::new();
    }
    if data.len() < 4 {
        return;
    }
    let (shape, status, n_headers) = (data[0], u16::from_le_bytes([data[1], data[2]]), data[3]);
    let mut rest = &data[4..];
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    for _ in 0..n_headers % 8 {
        let mut parts = rest.splitn(3, |b| *b == 0);
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            break;
        };
        // Known names are more interesting than random ones.
        let name = match name.first() {
            Some(&i) if name.len() == 1 => {
                ResponseHeaders::KNOWN[usize::from(i) % ResponseHeaders::KNOWN.len()]
            }
            _ => std::str::from_utf8(name).unwrap_or("x"),
        };
        headers.push((name, value));
        rest = parts.next().unwrap_or_default();
    }
    let text = String::from_utf8_lossy(rest);
    let failure = match shape % 5 {
        0 => Failure::http(status, rest).headers(headers.iter().map(|(n, v)| (*n, *v))),
        1 => Failure::message(&text).with_status(status),
        2 => Failure::malformed(rest, "fuzz"),
        3 => Failure::stream_interrupted(&text),
        _ => {
            let kinds = [
                TransportErrorKind::ConnectRefused,
                TransportErrorKind::Dns,
                TransportErrorKind::Tls,
                TransportErrorKind::Reset,
                TransportErrorKind::Timeout(TimeoutPhase::Idle),
                TransportErrorKind::StreamInterrupted,
                TransportErrorKind::Other,
            ];
            Failure::transport(kinds[usize::from(status) % kinds.len()], Some(&*text))
        }
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let d = ENGINE.with(|e| e.diagnose_at(&failure, now));
    assert!((0.0..=1.0).contains(&d.confidence));
    assert!(d.retry_after.is_none_or(|w| w <= Duration::from_secs(366 * 86_400)));
    let _ = rate_limit_headers(headers.iter().map(|(n, v)| (*n, *v)), now);
});
