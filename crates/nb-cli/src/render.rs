//! Human output: the banner, section rules, wrapped text and the diagnosis report.
//!
//! No colour: the output reads the same in a terminal, a pipe and a log file.

use std::fmt::Write as _;

use nb_client::policy::NextStep;
use nb_diagnose::{Diagnosis, ErrorCategory, Provider};

/// The width of banners and rules, in terminal columns.
pub(crate) const WIDTH: usize = 60;

/// The column at which text is wrapped (an 80-column terminal, less a margin).
pub(crate) const WRAP: usize = 78;

/// Columns a character takes in a terminal: 2 for East Asian wide characters, else 1.
fn char_width(c: char) -> usize {
    let wide = matches!(
        u32::from(c),
        0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x20000..=0x3FFFD
    );
    if wide { 2 } else { 1 }
}

/// Columns `s` takes in a terminal.
pub(crate) fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// A boxed one-line banner, e.g. `│ ✗ RATE LIMIT │`.
pub(crate) fn banner(out: &mut String, text: &str) {
    // A text longer than the usual width widens the box rather than breaking it.
    let inner = (WIDTH - 2).max(display_width(text) + 2);
    let pad = inner.saturating_sub(display_width(text) + 1);
    let _ = writeln!(out, "┌{}┐", "─".repeat(inner));
    let _ = writeln!(out, "│ {text}{}│", " ".repeat(pad));
    let _ = writeln!(out, "└{}┘", "─".repeat(inner));
}

/// A section heading between two rules.
pub(crate) fn section(out: &mut String, title: &str) {
    rule(out);
    let _ = writeln!(out, "{title}");
    rule(out);
}

/// A horizontal rule.
pub(crate) fn rule(out: &mut String) {
    let _ = writeln!(out, "{}", "─".repeat(WIDTH));
}

/// Writes `text` wrapped at [`WRAP`] columns: the first line starts with `first`, the
/// following ones with as many spaces as `first` is wide.
pub(crate) fn wrapped(out: &mut String, first: &str, text: &str) {
    let indent = " ".repeat(display_width(first));
    let mut line = String::from(first);
    let mut width = display_width(first);
    let mut empty = true;
    for word in text.split_whitespace() {
        let w = display_width(word);
        if !empty && width + 1 + w > WRAP {
            let _ = writeln!(out, "{line}");
            line.clear();
            line.push_str(&indent);
            width = indent.len();
            empty = true;
        }
        if !empty {
            line.push(' ');
            width += 1;
        }
        line.push_str(word);
        width += w;
        empty = false;
    }
    let _ = writeln!(out, "{line}");
}

/// A provider's human name; the unknown provider's profile name ("the provider") reads
/// badly on its own.
pub(crate) fn provider_name(p: Provider) -> &'static str {
    if p == Provider::Unknown {
        "unknown provider"
    } else {
        p.display_name()
    }
}

/// `rate_limit` → `RATE LIMIT`.
pub(crate) fn shout(category: ErrorCategory) -> String {
    category.as_str().replace('_', " ").to_uppercase()
}

/// A duration for people: `850 ms`, `1.42 s`, `2 s`.
pub(crate) fn duration(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 0.01 {
        format!("{:.1} ms", secs * 1000.0)
    } else if secs < 1.0 {
        format!("{} ms", d.as_millis())
    } else if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.2} s")
    }
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Cuts `line` to at most `columns` terminal columns (no marker, no trimming): for lines
/// redrawn in place, which must each fit one row.
pub(crate) fn fit(line: &str, columns: usize) -> &str {
    let mut width = 0;
    for (i, c) in line.char_indices() {
        width += char_width(c);
        if width > columns {
            return &line[..i];
        }
    }
    line
}

/// The report for a diagnosed failure: banner, severity and confidence, what the engine
/// found, the root cause and the numbered fix suggestions.
pub(crate) fn diagnosis(out: &mut String, d: &Diagnosis) {
    banner(out, &format!("✗ {}", shout(d.category)));
    let _ = writeln!(
        out,
        "SEVERITY: {} | CONFIDENCE: {:.0}%",
        d.severity.as_str().to_uppercase(),
        d.confidence * 100.0
    );
    let mut found = format!("{} · {}", provider_name(d.provider), d.sub_category);
    if let Some(status) = d.status {
        let _ = write!(found, " · HTTP {status}");
    }
    wrapped(out, "Found:    ", &found);
    wrapped(out, "Action:   ", &action_line(d));
    if let Some(caveat) = caveat(d) {
        wrapped(out, "Caveat:   ", caveat);
    }
    let _ = writeln!(out);

    section(out, "ROOT CAUSE");
    wrapped(out, "", &d.root_cause);
    if let Some(pe) = &d.provider_error {
        let mut said = Vec::new();
        if let Some(code) = pe.code.as_deref().or(pe.error_type.as_deref()) {
            said.push(format!("code {code}"));
        }
        if let Some(upstream) = &pe.upstream_provider {
            said.push(format!("relayed from {upstream}"));
        }
        if let Some(id) = &pe.request_id {
            said.push(format!("request id {id}"));
        }
        if let Some(message) = &pe.message {
            wrapped(
                out,
                "Provider said: ",
                &format!("\"{}\"", clip(message, 300)),
            );
        }
        if !said.is_empty() {
            wrapped(out, "               ", &said.join(", "));
        }
    }
    let _ = writeln!(out);

    if d.suggestions.is_empty() {
        return;
    }
    section(out, "FIX SUGGESTIONS");
    for (i, s) in d.suggestions.iter().enumerate() {
        let number = format!("{}. ", i + 1);
        wrapped(out, &number, &s.title);
        let pad = " ".repeat(number.len());
        wrapped(out, &format!("{pad}Command: "), &s.command);
        wrapped(out, &format!("{pad}Why:     "), &s.why);
    }
}

/// What NeuralBridge does after this failure: the client's own policy table for the
/// category, with its defaults, narrowed by the diagnosis. The CLI shows this and nothing
/// else, so its advice is what the client does.
pub(crate) fn client_step(d: &Diagnosis) -> NextStep {
    NextStep::with_defaults(d)
}

/// What a diagnosis of little evidence rests on, said plainly: a guess from
/// words, whatever its confidence, or a reading below 0.7, where the engine
/// had no phrase or code it knows (the HTTP status alone, a generic word, a
/// body no rule explained, or nothing).
fn caveat(d: &Diagnosis) -> Option<&'static str> {
    if d.is_guess() {
        Some(
            "no known phrase or code matched; the category is a guess from the words the \
             failure shares with known errors.",
        )
    } else if d.confidence >= 0.7 {
        None
    } else if d.category == nb_diagnose::ErrorCategory::Unknown {
        Some("nothing in the failure matched a known cause.")
    } else {
        Some(
            "judged from little evidence (the HTTP status, a generic phrase, or a body no rule \
             explained): read the provider's message before acting on the category.",
        )
    }
}

/// The action line: what the client does, and the server's wait when the client does not
/// sit it out.
fn action_line(d: &Diagnosis) -> String {
    let step = client_step(d);
    let mut line = format!("NeuralBridge: {step}");
    if !d.retryable && step.no_retry.is_none() {
        line.push_str(" (not retryable on this model)");
    }
    if let Some(wait) = d.retry_after
        && step.wait.is_none()
        && step.no_retry.is_none()
    {
        let _ = write!(
            line,
            "; the server asked to wait {:.3} s",
            wait.as_secs_f64()
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use nb_diagnose::{DiagnosisEngine, Failure};

    use super::*;

    #[test]
    fn wrapping_keeps_lines_within_the_width() {
        let mut out = String::new();
        let text = "word ".repeat(40);
        wrapped(&mut out, "Why:     ", &text);
        assert!(out.lines().count() > 1);
        for line in out.lines() {
            assert!(display_width(line) <= WRAP, "{line:?}");
        }
        assert!(out.lines().skip(1).all(|l| l.starts_with("         word")));
    }

    #[test]
    fn a_word_longer_than_the_width_gets_its_own_line() {
        let mut out = String::new();
        let long = "x".repeat(WRAP + 10);
        wrapped(&mut out, "", &format!("a {long} b"));
        assert_eq!(out.lines().collect::<Vec<_>>(), ["a", long.as_str(), "b"]);
    }

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(display_width("请求速度超限"), 12);
        assert_eq!(display_width("abc"), 3);
        let mut out = String::new();
        banner(&mut out, "✗ 请求");
        let widths: Vec<usize> = out.lines().map(display_width).collect();
        assert_eq!(widths, [WIDTH, WIDTH, WIDTH]);
    }

    #[test]
    fn durations_read_naturally() {
        use std::time::Duration;
        assert_eq!(duration(Duration::from_micros(3400)), "3.4 ms");
        assert_eq!(duration(Duration::from_micros(420)), "0.4 ms");
        assert_eq!(duration(Duration::from_millis(42)), "42 ms");
        assert_eq!(duration(Duration::from_millis(1420)), "1.42 s");
        assert_eq!(duration(Duration::from_secs(25)), "25 s");
    }

    #[test]
    fn fit_cuts_by_columns() {
        assert_eq!(fit("  abc", 4), "  ab");
        assert_eq!(fit("请求速度", 5), "请求");
        assert_eq!(fit("short", 79), "short");
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("  short ", 10), "short");
        assert_eq!(clip("请求速度超限", 2), "请求…");
    }

    #[test]
    fn the_report_has_every_part() {
        let d = DiagnosisEngine::new()
            .diagnose(&Failure::message("throttling.ratequota: 请求速度超限").with_status(429));
        let mut out = String::new();
        diagnosis(&mut out, &d);
        for part in [
            "│ ✗ RATE LIMIT",
            "SEVERITY: MEDIUM | CONFIDENCE: 9",
            "dashscope_rate_limit · HTTP 429",
            "ROOT CAUSE",
            "FIX SUGGESTIONS",
            "1. ",
            "   Command: ",
            "   Why:     ",
        ] {
            assert!(out.contains(part), "missing {part:?} in\n{out}");
        }
        assert!(
            !out.contains("Caveat:"),
            "a provider's own code is evidence:\n{out}"
        );
    }

    #[test]
    fn a_low_confidence_diagnosis_says_so() {
        let engine = DiagnosisEngine::new().guess_from_words(true);
        let mut out = String::new();
        diagnosis(&mut out, &engine.diagnose(&Failure::http(503, "")));
        assert!(
            out.contains("Caveat:   judged from little evidence"),
            "{out}"
        );
        let mut out = String::new();
        diagnosis(
            &mut out,
            // Words no error has: neither a rule nor the model reads them.
            &engine.diagnose(&Failure::message("zxqv wklm")),
        );
        assert!(
            out.contains("Caveat:   nothing in the failure matched"),
            "{out}"
        );
        let mut out = String::new();
        diagnosis(
            &mut out,
            &engine.diagnose(&Failure::message(
                "your organization ran out of prepaid credit balance",
            )),
        );
        assert!(
            out.contains("Caveat:   no known phrase or code matched; the category is a guess from"),
            "{out}"
        );
        // A stream's stop guessed a broken chunk is surer (0.75), and still
        // a guess.
        let stop = engine.diagnose(&Failure::stream_interrupted(
            "AttributeError: 'NoneType' object has no attribute 'delta'",
        ));
        assert!(stop.is_guess() && stop.confidence >= 0.7, "{stop:?}");
        let mut out = String::new();
        diagnosis(&mut out, &stop);
        assert!(
            out.contains("Caveat:   no known phrase or code matched; the category is a guess from"),
            "{out}"
        );
    }

    /// The action the CLI shows for a diagnosis is what the client does: for every
    /// category (and for a wait beyond the cap and an `x-should-retry: false`), a default
    /// client on a scripted transport fails once on the primary, and its first decision
    /// must be the one `client_step` (what `diagnose-error` prints) announces.
    #[tokio::test]
    async fn the_shown_action_is_what_the_client_does_for_every_category() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        use http::StatusCode;
        use nb_client::{
            ChatRequest, NeuralBridge,
            policy::{Decision, FallbackRule},
        };
        use nb_transport::{MockReply, MockTransport, TransportError, TransportErrorKind};

        fn openai(status: u16, kind: &str, code: &str, message: &str) -> MockReply {
            let body =
                serde_json::json!({"error": {"message": message, "type": kind, "code": code}});
            MockReply::json(StatusCode::from_u16(status).unwrap(), &body)
        }
        fn status(code: u16, body: &'static str) -> MockReply {
            MockReply::status(StatusCode::from_u16(code).unwrap(), body)
        }
        let cases: Vec<(ErrorCategory, fn() -> MockReply)> = vec![
            (ErrorCategory::RateLimit, || {
                openai(429, "requests", "rate_limit_exceeded", "Rate limit reached")
                    .header(http::header::RETRY_AFTER, "1")
            }),
            (ErrorCategory::RateLimit, || {
                openai(429, "requests", "rate_limit_exceeded", "Rate limit reached")
                    .header(http::header::RETRY_AFTER, "30")
            }),
            (ErrorCategory::QuotaExhausted, || {
                openai(
                    429,
                    "insufficient_quota",
                    "insufficient_quota",
                    "You exceeded your current quota",
                )
            }),
            (ErrorCategory::Auth, || {
                openai(
                    401,
                    "invalid_request_error",
                    "invalid_api_key",
                    "Incorrect API key provided",
                )
            }),
            (ErrorCategory::Permission, || {
                openai(
                    403,
                    "permission_error",
                    "unsupported_country_region_territory",
                    "Country, region, or territory not supported",
                )
            }),
            (ErrorCategory::ModelNotFound, || {
                openai(
                    404,
                    "invalid_request_error",
                    "model_not_found",
                    "The model `x` does not exist",
                )
            }),
            (ErrorCategory::ContextLength, || {
                openai(
                    400,
                    "invalid_request_error",
                    "context_length_exceeded",
                    "This model's maximum context length is 8192 tokens",
                )
            }),
            (ErrorCategory::ContentFilter, || {
                openai(
                    400,
                    "invalid_request_error",
                    "content_filter",
                    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy",
                )
            }),
            (ErrorCategory::InvalidRequest, || {
                openai(
                    400,
                    "invalid_request_error",
                    "invalid_value",
                    "Invalid value for 'temperature'",
                )
            }),
            (ErrorCategory::Overloaded, || {
                status(
                    529,
                    r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                )
            }),
            (ErrorCategory::ServerError, || {
                openai(
                    500,
                    "server_error",
                    "server_error",
                    "The server had an error",
                )
            }),
            (ErrorCategory::ServerError, || {
                openai(
                    500,
                    "server_error",
                    "server_error",
                    "The server had an error",
                )
                .header(
                    http::header::HeaderName::from_static("x-should-retry"),
                    "false",
                )
            }),
            (ErrorCategory::Timeout, || status(504, "upstream timed out")),
            (ErrorCategory::Network, || {
                MockReply::error(TransportError::new(TransportErrorKind::Reset))
            }),
            (ErrorCategory::MalformedResponse, || {
                status(200, "<html>not json</html>")
            }),
            (ErrorCategory::StreamInterrupted, || {
                MockReply::error(TransportError::new(TransportErrorKind::StreamInterrupted))
            }),
            (ErrorCategory::Unknown, || {
                status(302, "something odd happened")
            }),
        ];
        for category in ErrorCategory::ALL {
            assert!(
                cases.iter().any(|(c, _)| *c == category),
                "no case for {category}"
            );
        }
        for (category, reply) in cases {
            let fails_once = Arc::new(AtomicUsize::new(0));
            let count = Arc::clone(&fails_once);
            let mock = MockTransport::from_fn(move |r| {
                let model = r.chat_request().map(|c| c.model).unwrap_or_default();
                if model == "primary" && count.fetch_add(1, Ordering::Relaxed) == 0 {
                    reply()
                } else {
                    MockReply::chat(&model, "ok")
                }
            });
            let client = NeuralBridge::builder()
                .base_url("https://api.openai.com/v1")
                .api_key("sk-test-key-0001")
                .fallback_models(["primary", "secondary"])
                .transport(Arc::new(mock))
                .seed(1)
                .build()
                .unwrap();
            let request = ChatRequest::new("primary").user_message("Hello");
            let attempts = match client.chat().create(request).await {
                Ok(response) => response.attempts().to_vec(),
                Err(e) => e.attempts().to_vec(),
            };
            let first = &attempts[0];
            let d = first.diagnosis().unwrap();
            assert_eq!(d.category, category, "the case diagnoses as {category}");
            let shown = client_step(d);
            // The CLI prints the same step as the client's own table reports.
            assert_eq!(shown, client.next_step(d), "{category}");
            let mut out = String::new();
            diagnosis(&mut out, d);
            let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(words.contains(&format!("NeuralBridge: {shown}")), "{out}");
            let expected = if shown.retries_same_target() && !shown.policy.falls_back_first() {
                "retry"
            } else if shown.policy.fallback_rule() == FallbackRule::Any {
                "fallback"
            } else {
                // `fail`, or a larger window that no target has.
                "stop"
            };
            assert_eq!(
                first.decision().as_str(),
                expected,
                "{category}: the CLI shows `{shown}`, the client did {:?}",
                first.decision()
            );
            if let (Decision::Retry { after }, Some(wait)) = (first.decision(), shown.wait) {
                assert_eq!(after, wait, "{category}: the server's wait");
            }
        }
    }
}
