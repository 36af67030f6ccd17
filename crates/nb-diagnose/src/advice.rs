//! Root-cause sentences and ranked fix suggestions, per category.

use std::time::Duration;

use crate::ErrorCategory::{self, *};
use crate::{FixSuggestion, Provider, TimeoutPhase};

const fn s(title: &'static str, command: &'static str, why: &'static str) -> FixSuggestion {
    FixSuggestion::new(title, command, why)
}

const FALL_BACK: FixSuggestion = s(
    "Fall back to another model",
    "Put a model from another family or provider next in the fallback chain",
    "Other models and providers have their own capacity, limits and accounts.",
);

const RATE_LIMIT: &[FixSuggestion] = &[
    s(
        "Wait, then retry",
        "Honour the server's wait (Retry-After, x-ratelimit-reset-*), else back off exponentially with jitter",
        "The limit resets within its window; an immediate retry only burns more quota.",
    ),
    FALL_BACK,
    s(
        "Pace requests below the limit",
        "Feed the rate-limit headers of successful responses (rate_limit_headers) to the rate limiter",
        "Slowing down before the limit avoids the 429 altogether.",
    ),
    s(
        "Raise the limit",
        "Request a higher usage tier or quota in the provider's console",
        "Per-minute limits grow with the account's tier.",
    ),
];

const REQUEST_TOO_LARGE: &[FixSuggestion] = &[
    s(
        "Shrink the request",
        "Lower max_tokens or trim the prompt below the per-minute token limit",
        "A single request larger than the per-minute budget can never pass, however long you wait.",
    ),
    s(
        "Re-route to a model with a higher limit",
        "Fall back to a model or tier whose tokens-per-minute limit fits the request",
        "Limits differ per model and tier.",
    ),
];

const QUOTA: &[FixSuggestion] = &[
    s(
        "Add credits or raise the spending limit",
        "Top up the balance, settle arrears or raise the billing limit in the provider's console",
        "The account has nothing left to spend; waiting will not refill it.",
    ),
    FALL_BACK,
    s(
        "Check the plan covers this model",
        "Move off a free tier whose limit for this model is zero",
        "Free tiers often allow no requests at all for some models.",
    ),
];

const AUTH: &[FixSuggestion] = &[
    s(
        "Check the API key",
        "Verify the key is active and belongs to this base URL (and region); replace it if it was revoked or expired",
        "The provider rejected the credential itself; no retry with the same key can pass.",
    ),
    s(
        "Rotate to another key",
        "Configure a key pool so the client switches keys on an auth failure",
        "A second valid key restores service without a deploy.",
    ),
    FALL_BACK,
];

const PERMISSION: &[FixSuggestion] = &[
    s(
        "Grant access to the model",
        "Enable the model for this account, project, workspace or IAM role, in a supported region",
        "The credential is valid but not authorised for this model, region or operation.",
    ),
    FALL_BACK,
];

const CHECK_MODEL_NAME: FixSuggestion = s(
    "Check the model name",
    "Compare the model (or Azure deployment) name with the provider's model list",
    "The name is misspelt, retired, not deployed here or not visible to this account.",
);

const MODEL_NOT_FOUND: &[FixSuggestion] = &[CHECK_MODEL_NAME, FALL_BACK];

const CONTEXT: &[FixSuggestion] = &[
    s(
        "Shorten the input",
        "Trim or summarise the conversation history, or lower max_tokens",
        "The prompt plus the requested output must fit the model's context window.",
    ),
    s(
        "Re-route to a larger window",
        "Fall back to a model with a larger context window",
        "Windows range from a few thousand tokens to over a million.",
    ),
];

const CONTENT: &[FixSuggestion] = &[
    s(
        "Revise the prompt",
        "Remove or rephrase the content the filter flagged (see the provider's message)",
        "The same input will be blocked again.",
    ),
    s(
        "Use a model with another policy",
        "Fall back only if your own content policy allows it",
        "Providers filter differently; the filter's reason is kept in the diagnosis.",
    ),
];

const INVALID: &[FixSuggestion] = &[
    s(
        "Fix the request",
        "Check the parameter named in the provider's message against its API reference",
        "The request itself is wrong; no model will accept it unchanged.",
    ),
    s(
        "Do not retry",
        "Return the error to the caller",
        "Retrying an invalid request only wastes time and quota.",
    ),
];

const SERVER: &[FixSuggestion] = &[
    s(
        "Retry with backoff",
        "Retry a bounded number of times with exponential backoff and jitter",
        "Internal errors are usually transient.",
    ),
    FALL_BACK,
    s(
        "Check the provider's status page",
        "Look for an ongoing incident before raising retries",
        "A persistent 5xx is an outage, and retries add load to it.",
    ),
];

const OVERLOADED: &[FixSuggestion] = &[
    s(
        "Retry with backoff",
        "Back off exponentially with jitter, honouring any Retry-After",
        "Capacity usually frees up within seconds to minutes.",
    ),
    s(
        "Fall back to another model",
        "Route to a lighter model or another provider while this one is saturated",
        "Other models rarely run out of capacity at the same moment.",
    ),
];

const TIMEOUT: &[FixSuggestion] = &[
    s(
        "Retry once",
        "Retry at most once on the same model, then fall back",
        "One slow answer can be chance; two in a row mean the model is slow now.",
    ),
    s(
        "Use the patient tier",
        "Give long prompts and reasoning models the profile's patient timeout",
        "Long outputs legitimately take longer than the standard tier.",
    ),
    s(
        "Stream the answer",
        "Use streaming so the first token arrives early and idle timeouts apply",
        "A stream shows progress long before a complete answer would.",
    ),
];

const RETRY_NETWORK: FixSuggestion = s(
    "Retry with backoff",
    "Retry a few times with backoff; fall back if it persists",
    "Resets and refused connections are often transient.",
);

const NETWORK: &[FixSuggestion] = &[
    RETRY_NETWORK,
    s(
        "Check connectivity",
        "Check the base URL, DNS, proxy settings and that the server is up",
        "No response was received at all.",
    ),
    FALL_BACK,
];

const TLS_CERTIFICATE: &[FixSuggestion] = &[
    s(
        "Trust the right certificate authority",
        "Install the intercepting proxy's CA, or point SSL_CERT_FILE at the right bundle",
        "The certificate chain does not verify; every retry sees the same chain.",
    ),
    s(
        "Check the base URL's scheme and port",
        "Use https:// on a TLS port, http:// on a plain one",
        "Speaking TLS to a plain-text port fails the same way every time.",
    ),
];

const MALFORMED: &[FixSuggestion] = &[
    s(
        "Retry",
        "Retry the request and validate the body before using it",
        "Broken bodies are usually transient: a proxy's error page or a connection cut mid-body.",
    ),
    s(
        "Check proxies and gateways",
        "Look for a proxy or CDN answering with HTML instead of the API's JSON",
        "An HTML page with a 200 status usually comes from something in between.",
    ),
    FALL_BACK,
];

const STREAM: &[FixSuggestion] = &[
    s(
        "Restart the stream",
        "Retry the request, or continue from the text received if your policy allows",
        "A stream without its finish signal is not a complete answer.",
    ),
    s(
        "Raise the idle timeout",
        "Allow longer gaps between chunks for slow or reasoning models",
        "Some models pause for a long time before or between tokens.",
    ),
    FALL_BACK,
];

const UNKNOWN: &[FixSuggestion] = &[
    s(
        "Inspect the raw error",
        "Log the status, headers and body, then add a Rule for it",
        "No built-in rule recognised this failure.",
    ),
    FALL_BACK,
];

const OLLAMA_MODEL_NOT_FOUND: &[FixSuggestion] = &[
    s(
        "Pull the model",
        "ollama pull <model>",
        "Ollama serves only models that have been pulled to this machine.",
    ),
    CHECK_MODEL_NAME,
    FALL_BACK,
];

const LOCAL_NOT_LISTENING: &[FixSuggestion] = &[
    s(
        "Start the local server",
        "Start it (ollama serve, llama-server, vllm serve) and check the port in the base URL",
        "Nothing is listening at that address.",
    ),
    RETRY_NETWORK,
    FALL_BACK,
];

/// Ranked suggestions for a diagnosis.
pub(crate) fn suggestions(
    category: ErrorCategory,
    sub: &str,
    provider: Provider,
    shrink: bool,
) -> &'static [FixSuggestion] {
    match category {
        RateLimit if shrink => REQUEST_TOO_LARGE,
        RateLimit => RATE_LIMIT,
        QuotaExhausted => QUOTA,
        Auth => AUTH,
        Permission => PERMISSION,
        ModelNotFound if provider == Provider::Ollama => OLLAMA_MODEL_NOT_FOUND,
        ModelNotFound => MODEL_NOT_FOUND,
        ContextLength => CONTEXT,
        ContentFilter => CONTENT,
        InvalidRequest => INVALID,
        ServerError => SERVER,
        Overloaded => OVERLOADED,
        Timeout => TIMEOUT,
        Network if sub.ends_with("tls_certificate") => TLS_CERTIFICATE,
        Network if provider.is_local() && sub.ends_with("connect_refused") => LOCAL_NOT_LISTENING,
        Network => NETWORK,
        MalformedResponse => MALFORMED,
        StreamInterrupted => STREAM,
        _ => UNKNOWN,
    }
}

/// What the root cause sentence needs to know.
pub(crate) struct Cause<'a> {
    pub(crate) category: ErrorCategory,
    pub(crate) sub: &'a str,
    pub(crate) provider: Provider,
    pub(crate) shrink: bool,
    pub(crate) phase: Option<TimeoutPhase>,
    pub(crate) wait: Option<Duration>,
    pub(crate) max_wait: Option<Duration>,
    pub(crate) reason: Option<&'a str>,
}

/// The root cause, in one sentence: a text before and after the provider's name.
fn sentence(c: &Cause<'_>) -> (&'static str, &'static str) {
    match c.category {
        RateLimit if c.shrink => (
            "This single request needs more tokens than ",
            " allows per minute, so waiting will not help",
        ),
        RateLimit => (
            "Requests or tokens sent to ",
            " exceed the account's rate limit for the current window",
        ),
        QuotaExhausted if c.sub.ends_with("zero_quota_limit") => (
            "The account has no quota for this model at ",
            " (a limit of 0, typically a free tier), so waiting will not help",
        ),
        QuotaExhausted => (
            "The account's credits, balance or quota at ",
            " are used up, so waiting will not help",
        ),
        Auth => (
            "The credential was rejected by ",
            ": the API key is missing, invalid, revoked or expired",
        ),
        Permission => (
            "The credential is valid but not allowed to use this model, region or operation at ",
            "",
        ),
        ModelNotFound => (
            "The requested model or deployment is not served at ",
            ", or this account cannot see it",
        ),
        ContextLength => (
            "The prompt plus the requested output is longer than the model's context window at ",
            "",
        ),
        ContentFilter => (
            "A safety or policy filter at ",
            " rejected the prompt or the answer",
        ),
        InvalidRequest => (
            "The request was rejected by ",
            " as malformed or invalid, so retrying it unchanged cannot succeed",
        ),
        ServerError => ("An internal error at ", " failed the request"),
        Overloaded => ("The model at ", " is out of capacity right now"),
        Timeout => match c.phase {
            Some(TimeoutPhase::Connect) => ("Connecting to ", " timed out"),
            Some(TimeoutPhase::FirstByte) => ("The response head from ", " did not arrive in time"),
            Some(TimeoutPhase::Idle) => (
                "The stream from ",
                " stalled between chunks for longer than the idle timeout",
            ),
            Some(TimeoutPhase::Total) => ("The attempt at ", " took longer than its deadline"),
            _ => (
                "The request to ",
                " timed out before a complete answer arrived",
            ),
        },
        Network => (
            "Could not reach ",
            match c.sub.rsplit('_').next().unwrap_or_default() {
                "certificate" => {
                    ": its TLS certificate could not be verified (an intercepting proxy or a missing CA), so retrying will not help"
                }
                "dns" => ": its host name did not resolve",
                "refused" => {
                    ": the connection was refused, nothing listens at that address and port"
                }
                "unreachable" => ": the network route to it is unreachable",
                "reset" => ": the connection was reset or closed before a response arrived",
                "tls" => ": the TLS handshake failed",
                _ => ": the connection failed before a response arrived",
            },
        ),
        MalformedResponse if c.reason.is_some() => (
            "The response from ",
            " had a success status but was rejected: ",
        ),
        MalformedResponse => (
            "The response from ",
            " had a success status but its body is not a valid answer (broken JSON, an HTML page or a failed check)",
        ),
        StreamInterrupted => (
            "The stream from ",
            " ended before its finish signal, so the answer is incomplete",
        ),
        _ => ("No rule recognised this failure from ", ""),
    }
}

/// The root cause, in one sentence.
pub(crate) fn root_cause(c: &Cause<'_>) -> String {
    let (before, after) = sentence(c);
    let mut out = String::with_capacity(200);
    out.push_str(before);
    out.push_str(c.provider.display_name());
    out.push_str(after);
    if let (MalformedResponse, Some(reason)) = (c.category, c.reason) {
        out.push_str(cut(reason, 200));
    }
    if let Some(wait) = c.wait {
        out.push_str("; the server asks to wait ");
        push_secs(&mut out, wait);
        if let Some(cap) = c.max_wait {
            out.push_str(", longer than the ");
            push_secs(&mut out, cap);
            out.push_str(" cap, so do not retry this model now");
        }
    }
    out.push('.');
    out
}

/// Appends `d` as seconds with at most three decimals (`18.642 s`, `120 s`).
fn push_secs(out: &mut String, d: Duration) {
    // Waits are capped well below u64::MAX milliseconds.
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    push_u64(out, ms / 1000);
    let frac = ms % 1000;
    if frac != 0 {
        let digits = [frac / 100, frac / 10 % 10, frac % 10].map(|d| char::from(b'0' + d as u8));
        let keep = 3 - digits.iter().rev().take_while(|d| **d == '0').count();
        out.push('.');
        out.extend(&digits[..keep]);
    }
    out.push_str(" s");
}

fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.extend(buf[i..].iter().map(|b| char::from(*b)));
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(category: ErrorCategory, sub: &str) -> Cause<'_> {
        Cause {
            category,
            sub,
            provider: Provider::DashScope,
            shrink: false,
            phase: None,
            wait: None,
            max_wait: None,
            reason: None,
        }
    }

    #[test]
    fn every_category_has_a_sentence_and_suggestions() {
        for c in ErrorCategory::ALL {
            let s = root_cause(&cause(c, "x"));
            assert!(s.ends_with('.') && s.matches(". ").count() == 0, "{s}");
            assert!(!suggestions(c, "x", Provider::Unknown, false).is_empty());
        }
    }

    #[test]
    fn sentences_name_the_provider_and_the_wait() {
        let mut c = cause(RateLimit, "dashscope_rate_limit");
        c.wait = Some(Duration::from_secs(86_400));
        c.max_wait = Some(Duration::from_secs(120));
        let s = root_cause(&c);
        assert!(
            s.contains("DashScope (Qwen)") && s.contains("wait 86400 s") && s.contains("120 s cap"),
            "{s}"
        );
        let s = root_cause(&cause(Network, "dashscope_dns"));
        assert!(s.contains("did not resolve"), "{s}");
        let s = root_cause(&cause(Network, "tls_certificate"));
        assert!(s.contains("could not be verified"), "{s}");
    }

    #[test]
    fn provider_specific_suggestions_come_first() {
        let s = suggestions(
            ModelNotFound,
            "ollama_model_not_pulled",
            Provider::Ollama,
            false,
        );
        assert_eq!(s[0].command, "ollama pull <model>");
        let s = suggestions(Network, "ollama_connect_refused", Provider::Ollama, false);
        assert_eq!(s[0].title, "Start the local server");
        let s = suggestions(RateLimit, "x", Provider::OpenAi, true);
        assert_eq!(s[0].title, "Shrink the request");
    }

    #[test]
    fn seconds_are_written_briefly() {
        let f = |ms| {
            let mut s = String::new();
            push_secs(&mut s, Duration::from_millis(ms));
            s
        };
        assert_eq!(f(18_642), "18.642 s");
        assert_eq!(f(2_500), "2.5 s");
        assert_eq!(f(120), "0.12 s");
        assert_eq!(f(120_000), "120 s");
        assert_eq!(f(0), "0 s");
    }

    #[test]
    fn cut_respects_char_boundaries() {
        assert_eq!(cut("ééé", 3), "é");
        assert_eq!(cut("abc", 10), "abc");
    }
}
