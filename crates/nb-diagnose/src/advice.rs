//! Root-cause sentences and ranked fix suggestions, per category.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::ErrorCategory::{self, *};
use crate::catalogue;
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

const UPGRADE_THE_APP: &[FixSuggestion] = &[
    s(
        "Upgrade the app",
        "Install the current release of the app or CLI that made the call (VS Code, Codex, ...)",
        "The provider serves this model only to newer versions of the app; other models still work.",
    ),
    FALL_BACK,
];

const OLLAMA_TOO_OLD: &[FixSuggestion] = &[
    s(
        "Upgrade Ollama",
        "Install the current Ollama release, restart the server, then pull the model again",
        "This Ollama version cannot run the model; pulling it again will not help until Ollama is upgraded.",
    ),
    FALL_BACK,
];

const OUT_OF_LOCAL_RESOURCES: &[FixSuggestion] = &[
    s(
        "Raise this process's limits",
        "Raise the open-file limit (ulimit -n, LimitNOFILE) or lower the concurrency; check for leaked connections",
        "This host ran out of descriptors, memory or ports before anything was sent.",
    ),
    RETRY_NETWORK,
];

const LOCAL_POLICY: &[FixSuggestion] = &[
    s(
        "Let this host connect",
        "Allow the provider's address in this host's firewall, network policy (a Kubernetes NetworkPolicy, a CNI's egress rules) or sandbox",
        "This host's own policy refused the socket before anything was sent.",
    ),
    FALL_BACK,
];

const LOCAL_SETUP: &[FixSuggestion] = &[s(
    "Fix the program's environment",
    "Install the missing package where the program runs (pip install, npm install), or align the versions that clash (upgrade the SDK, or pin the library it builds on, e.g. httpx<0.28 for an SDK that passes `proxies`)",
    "A library the program needs is missing or does not fit the others, so no request was sent.",
)];

const ERROR_UNREADABLE: &[FixSuggestion] = &[s(
    "Find the failure the program lost",
    "Log the failed response's status and body (or the exception) before the code that reads its fields, and guard that code against an error object that is not there",
    "The program read a field of an error it never received, so the failure's own cause was lost.",
)];

const CAUSE_HIDDEN: &[FixSuggestion] = &[s(
    "Find the failure the app hid",
    "Read the app's own log, or run it with debug logging, for the exception behind its message; then add a Rule for it",
    "The app put its own message in place of the failure, and that message names no cause.",
)];

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
        ModelNotFound
            if provider == Provider::Ollama && sub.ends_with(catalogue::VERSION_TOO_OLD) =>
        {
            OLLAMA_TOO_OLD
        }
        ModelNotFound if provider == Provider::Ollama => OLLAMA_MODEL_NOT_FOUND,
        ModelNotFound => MODEL_NOT_FOUND,
        ContextLength => CONTEXT,
        ContentFilter => CONTENT,
        InvalidRequest if sub.ends_with(catalogue::CLIENT_TOO_OLD) => UPGRADE_THE_APP,
        InvalidRequest => INVALID,
        ServerError => SERVER,
        Overloaded => OVERLOADED,
        Timeout => TIMEOUT,
        Network if sub.ends_with("tls_certificate") => TLS_CERTIFICATE,
        Network if sub.ends_with(catalogue::Sub::LocalResource.name()) => OUT_OF_LOCAL_RESOURCES,
        Network if sub.ends_with(catalogue::Sub::LocalPolicy.name()) => LOCAL_POLICY,
        Network if provider.is_local() && sub.ends_with("connect_refused") => LOCAL_NOT_LISTENING,
        Network => NETWORK,
        MalformedResponse => MALFORMED,
        StreamInterrupted => STREAM,
        Unknown if sub.ends_with(catalogue::LOCAL_SETUP) => LOCAL_SETUP,
        Unknown if sub.ends_with(catalogue::ERROR_UNREADABLE) => ERROR_UNREADABLE,
        Unknown if sub.ends_with(catalogue::CAUSE_HIDDEN) => CAUSE_HIDDEN,
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
    pub(crate) reason: Option<&'a str>,
}

/// Root-cause sentences: the text before and after the provider's name.
const SENTENCES: [(&str, &str); 35] = [
    // 0
    (
        "This single request needs more tokens than ",
        " allows per minute, so waiting will not help",
    ),
    (
        "Requests or tokens sent to ",
        " exceed the account's rate limit for the current window",
    ),
    (
        "The account has no quota for this model at ",
        " (a limit of 0, typically a free tier), so waiting will not help",
    ),
    (
        "The account's credits, balance or quota at ",
        " are used up, so waiting will not help",
    ),
    (
        "The credential was rejected by ",
        ": the API key is missing, invalid, revoked or expired",
    ),
    // 5
    (
        "The credential is valid but not allowed to use this model, region or operation at ",
        "",
    ),
    (
        "The requested model or deployment is not served at ",
        ", or this account cannot see it",
    ),
    (
        "The prompt plus the requested output is longer than the model's context window at ",
        "",
    ),
    (
        "A safety or policy filter at ",
        " rejected the prompt or the answer",
    ),
    (
        "The request was rejected by ",
        " as malformed or invalid, so retrying it unchanged cannot succeed",
    ),
    // 10
    ("An internal error at ", " failed the request"),
    ("The model at ", " is out of capacity right now"),
    ("Connecting to ", " timed out"),
    ("The response head from ", " did not arrive in time"),
    (
        "The stream from ",
        " stalled between chunks for longer than the idle timeout",
    ),
    // 15
    ("The attempt at ", " took longer than its deadline"),
    (
        "The request to ",
        " timed out before a complete answer arrived",
    ),
    (
        "Could not reach ",
        ": its TLS certificate could not be verified (an intercepting proxy or a missing CA), so retrying will not help",
    ),
    ("Could not reach ", ": its host name did not resolve"),
    (
        "Could not reach ",
        ": the connection was refused, nothing listens at that address and port",
    ),
    // 20
    (
        "Could not reach ",
        ": the network route to it is unreachable",
    ),
    (
        "Could not reach ",
        ": the connection was reset or closed before a response arrived",
    ),
    ("Could not reach ", ": the TLS handshake failed"),
    (
        "Could not reach ",
        ": the connection failed before a response arrived",
    ),
    (
        "The response from ",
        " had a success status but was rejected: ",
    ),
    // 25
    (
        "The response from ",
        " had a success status but its body is not a valid answer (broken JSON, an HTML page or a failed check)",
    ),
    (
        "The stream from ",
        " ended before its finish signal, so the answer is incomplete",
    ),
    ("No rule recognised this failure from ", ""),
    (
        "Nothing was sent to ",
        ": this host ran out of file descriptors, memory or local ports first",
    ),
    (
        "Nothing was sent to ",
        ": a library this program needs is missing or does not fit the others",
    ),
    // 30
    (
        "The cause of a failure from ",
        " was lost: this program read a field of an error object it never received",
    ),
    (
        "Nothing was sent to ",
        ": this host's own firewall, network policy or sandbox refused the connection",
    ),
    (
        "The app that called ",
        " is too old for this model: the model is served to newer versions",
    ),
    (
        "This version of ",
        " cannot run this model until it is upgraded",
    ),
    (
        "The app calling ",
        " put its own message in place of a failure, naming no cause",
    ),
];

/// Which of [`SENTENCES`] describes `c`.
fn sentence(c: &Cause<'_>) -> usize {
    match c.category {
        RateLimit if c.shrink => 0,
        RateLimit => 1,
        QuotaExhausted if c.sub.ends_with("zero_quota_limit") => 2,
        QuotaExhausted => 3,
        Auth => 4,
        Permission => 5,
        ModelNotFound if c.sub.ends_with(catalogue::VERSION_TOO_OLD) => 33,
        ModelNotFound => 6,
        ContextLength => 7,
        ContentFilter => 8,
        InvalidRequest if c.sub.ends_with(catalogue::CLIENT_TOO_OLD) => 32,
        InvalidRequest => 9,
        ServerError => 10,
        Overloaded => 11,
        Timeout => match c.phase {
            Some(TimeoutPhase::Connect) => 12,
            Some(TimeoutPhase::FirstByte) => 13,
            Some(TimeoutPhase::Idle) => 14,
            Some(TimeoutPhase::Total) => 15,
            _ => 16,
        },
        Network if c.sub.ends_with(catalogue::Sub::LocalPolicy.name()) => 31,
        Network => match c.sub.rsplit('_').next().unwrap_or_default() {
            "certificate" => 17,
            "dns" => 18,
            "refused" => 19,
            "unreachable" => 20,
            "reset" => 21,
            "tls" => 22,
            "resource" => 28,
            _ => 23,
        },
        MalformedResponse if c.reason.is_some() => 24,
        MalformedResponse => 25,
        StreamInterrupted => 26,
        Unknown if c.sub.ends_with(catalogue::LOCAL_SETUP) => 29,
        Unknown if c.sub.ends_with(catalogue::ERROR_UNREADABLE) => 30,
        Unknown if c.sub.ends_with(catalogue::CAUSE_HIDDEN) => 34,
        _ => 27,
    }
}

/// Every sentence for every provider, composed on first use: most
/// diagnoses borrow one instead of formatting a string.
static COMPOSED: [[OnceLock<Box<str>>; Provider::ALL.len()]; SENTENCES.len()] =
    [const { [const { OnceLock::new() }; Provider::ALL.len()] }; SENTENCES.len()];

/// The root cause, in one sentence. Borrowed from a table unless it has to
/// quote the caller's reason.
pub(crate) fn root_cause(c: &Cause<'_>) -> Cow<'static, str> {
    let id = sentence(c);
    let (before, after) = SENTENCES[id];
    let reason = c.reason.filter(|_| c.category == MalformedResponse);
    if reason.is_none() {
        // `Provider` has no explicit discriminants: `as usize` is its index
        // in `Provider::ALL` (checked by `profiles_are_indexed_by_provider`).
        let cell = &COMPOSED[id][c.provider as usize];
        return Cow::Borrowed(cell.get_or_init(|| {
            [before, c.provider.display_name(), after, "."]
                .concat()
                .into_boxed_str()
        }));
    }
    let mut out = String::with_capacity(200);
    out.push_str(before);
    out.push_str(c.provider.display_name());
    out.push_str(after);
    if let Some(reason) = reason {
        // The caller's text: mask anything shaped like a key.
        out.push_str(&crate::engine::redact(
            crate::json::cut(reason, 200).to_owned(),
        ));
    }
    out.push('.');
    Cow::Owned(out)
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
    fn sentences_name_the_provider() {
        let s = root_cause(&cause(RateLimit, "dashscope_rate_limit"));
        assert!(s.contains("DashScope (Qwen)"), "{s}");
        let s = root_cause(&cause(Network, "dashscope_dns"));
        assert!(s.contains("did not resolve"), "{s}");
        let s = root_cause(&cause(Network, "tls_certificate"));
        assert!(s.contains("could not be verified"), "{s}");
        let s = root_cause(&cause(Network, "dashscope_local_resource"));
        assert!(s.starts_with("Nothing was sent to DashScope"), "{s}");
        let fixes = suggestions(
            Network,
            "dashscope_local_resource",
            Provider::DashScope,
            false,
        );
        assert!(fixes[0].command.contains("ulimit"), "{fixes:?}");
    }

    #[test]
    fn fixed_sentences_are_borrowed_and_only_dynamic_ones_formatted() {
        let c = cause(RateLimit, "dashscope_rate_limit");
        let (a, b) = (root_cause(&c), root_cause(&c));
        assert!(matches!((&a, &b), (Cow::Borrowed(x), Cow::Borrowed(y)) if std::ptr::eq(*x, *y)));
        assert_eq!(
            a,
            "Requests or tokens sent to DashScope (Qwen) exceed the account's rate limit for the current window."
        );
        // Each provider gets its own sentence.
        let mut other = cause(RateLimit, "openai_rate_limit");
        other.provider = Provider::OpenAi;
        assert!(root_cause(&other).contains("sent to OpenAI exceed"));
        // A caller's reason is quoted.
        let mut rejected = cause(MalformedResponse, "validation_failed");
        rejected.reason = Some("missing field `usage`");
        let s = root_cause(&rejected);
        assert!(
            matches!(s, Cow::Owned(_)) && s.ends_with("missing field `usage`."),
            "{s}"
        );
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
        // A server too old for the model is upgraded, not pulled from again.
        let s = suggestions(
            ModelNotFound,
            "ollama_version_too_old",
            Provider::Ollama,
            false,
        );
        assert_eq!(s[0].title, "Upgrade Ollama");
        let s = suggestions(Network, "ollama_connect_refused", Provider::Ollama, false);
        assert_eq!(s[0].title, "Start the local server");
        let s = suggestions(RateLimit, "x", Provider::OpenAi, true);
        assert_eq!(s[0].title, "Shrink the request");
    }
}
