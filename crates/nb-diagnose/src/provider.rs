//! Providers, their detection from a base URL or a model name, and their profiles.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use crate::matcher::Matcher;

/// An LLM API provider (or a family of servers speaking one dialect).
///
/// Detected with [`detect_provider`]; each has a [`ProviderProfile`]
/// (see [`get_profile`]). Serialized as the `snake_case` name returned by
/// [`Provider::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Provider {
    /// OpenAI (`api.openai.com`).
    OpenAi,
    /// Azure OpenAI (`*.openai.azure.com`, Azure AI services).
    AzureOpenAi,
    /// Anthropic (`api.anthropic.com`).
    Anthropic,
    /// Google Gemini API (`generativelanguage.googleapis.com`).
    Gemini,
    /// Google Vertex AI (`*-aiplatform.googleapis.com`).
    Vertex,
    /// DeepSeek (`api.deepseek.com`).
    DeepSeek,
    /// Alibaba Cloud DashScope / Model Studio (Qwen), native and compatible mode.
    DashScope,
    /// Mistral AI (`api.mistral.ai`).
    Mistral,
    /// Groq (`api.groq.com`).
    Groq,
    /// OpenRouter (`openrouter.ai`), which relays other providers' errors.
    OpenRouter,
    /// AWS Bedrock runtime.
    Bedrock,
    /// Cohere (`api.cohere.com`, `api.cohere.ai`).
    Cohere,
    /// Together AI (`api.together.xyz`).
    Together,
    /// Fireworks AI (`api.fireworks.ai`).
    Fireworks,
    /// xAI (`api.x.ai`).
    XAi,
    /// A local Ollama server (port 11434).
    Ollama,
    /// A vLLM server (OpenAI-compatible).
    Vllm,
    /// A llama.cpp server (`llama-server`).
    LlamaCpp,
    /// Not recognised.
    Unknown,
}

impl Provider {
    /// Every provider, in declaration order.
    pub const ALL: [Provider; 19] = [
        Self::OpenAi,
        Self::AzureOpenAi,
        Self::Anthropic,
        Self::Gemini,
        Self::Vertex,
        Self::DeepSeek,
        Self::DashScope,
        Self::Mistral,
        Self::Groq,
        Self::OpenRouter,
        Self::Bedrock,
        Self::Cohere,
        Self::Together,
        Self::Fireworks,
        Self::XAi,
        Self::Ollama,
        Self::Vllm,
        Self::LlamaCpp,
        Self::Unknown,
    ];

    /// The `snake_case` name used in JSON, sub-categories and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::AzureOpenAi => "azure_openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Vertex => "vertex",
            Self::DeepSeek => "deepseek",
            Self::DashScope => "dashscope",
            Self::Mistral => "mistral",
            Self::Groq => "groq",
            Self::OpenRouter => "openrouter",
            Self::Bedrock => "bedrock",
            Self::Cohere => "cohere",
            Self::Together => "together",
            Self::Fireworks => "fireworks",
            Self::XAi => "xai",
            Self::Ollama => "ollama",
            Self::Vllm => "vllm",
            Self::LlamaCpp => "llama_cpp",
            Self::Unknown => "unknown",
        }
    }

    /// A human-readable name ("DashScope (Qwen)").
    pub const fn display_name(self) -> &'static str {
        get_profile(self).name
    }

    /// Whether this is a server the user runs on their own machine.
    pub const fn is_local(self) -> bool {
        matches!(self, Self::Ollama | Self::Vllm | Self::LlamaCpp)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no [`Provider`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProviderName(pub String);

impl fmt::Display for UnknownProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a known provider", self.0)
    }
}

impl std::error::Error for UnknownProviderName {}

impl FromStr for Provider {
    type Err = UnknownProviderName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProviderName(s.to_owned()))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// What NeuralBridge assumes about a provider until it learns better.
///
/// The timeouts are tiers for one attempt: `fast_fail` for short prompts
/// where a quick answer matters, `standard` for an ordinary chat
/// completion, `patient` for long contexts and reasoning models. The retry
/// counts pair with the standard and patient tiers. `rpm_limit` is a
/// conservative requests-per-minute hint for a new paid account where the
/// provider publishes one (`None` where it publishes none, or for local
/// servers); real limits vary by tier and model, so treat it as a starting
/// pace, not a promise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderProfile {
    /// The provider this profile describes.
    pub provider: Provider,
    /// A human-readable name.
    pub name: &'static str,
    /// Timeout for short requests where a fast failure is better than a slow answer.
    pub fast_fail: Duration,
    /// Timeout for an ordinary chat completion.
    pub standard: Duration,
    /// Timeout for long contexts and reasoning models.
    pub patient: Duration,
    /// Retries on the same model with the standard tier.
    pub standard_retries: u32,
    /// Retries on the same model with the patient tier.
    pub patient_retries: u32,
    /// Requests-per-minute hint, if the provider publishes one.
    pub rpm_limit: Option<u32>,
    /// Case-insensitive substrings of a base URL that identify the provider.
    pub url_patterns: &'static [&'static str],
    /// Case-insensitive prefixes of a model name that identify the provider.
    pub model_prefixes: &'static [&'static str],
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[allow(clippy::too_many_arguments)]
const fn profile(
    provider: Provider,
    name: &'static str,
    tiers: [u64; 3],
    retries: [u32; 2],
    rpm_limit: Option<u32>,
    url_patterns: &'static [&'static str],
    model_prefixes: &'static [&'static str],
) -> ProviderProfile {
    ProviderProfile {
        provider,
        name,
        fast_fail: secs(tiers[0]),
        standard: secs(tiers[1]),
        patient: secs(tiers[2]),
        standard_retries: retries[0],
        patient_retries: retries[1],
        rpm_limit,
        url_patterns,
        model_prefixes,
    }
}

/// One profile per [`Provider`], in the order of [`Provider::ALL`].
static PROFILES: [ProviderProfile; 19] = [
    // Tier-1 gpt-4o: 500 RPM.
    profile(
        Provider::OpenAi,
        "OpenAI",
        [3, 10, 60],
        [2, 4],
        Some(500),
        &["api.openai.com", "openai.com/v1"],
        &[
            "gpt-",
            "chatgpt-",
            "o1",
            "o3",
            "o4-",
            "codex-",
            "computer-use-",
            "davinci",
            "babbage",
            "text-embedding-",
            "dall-e",
            "whisper",
            "tts-",
        ],
    ),
    // Limits are set per deployment (TPM-derived); none is universal.
    profile(
        Provider::AzureOpenAi,
        "Azure OpenAI",
        [3, 10, 60],
        [2, 4],
        None,
        &[
            "openai.azure.com",
            "cognitiveservices.azure.com",
            "services.ai.azure.com",
            "azure",
        ],
        &["azure/"],
    ),
    // Tier 1: 50 RPM.
    profile(
        Provider::Anthropic,
        "Anthropic",
        [3, 15, 90],
        [2, 4],
        Some(50),
        &["api.anthropic.com", "anthropic"],
        &["claude"],
    ),
    // Tier 1 gemini-2.5-pro: 150 RPM.
    profile(
        Provider::Gemini,
        "Google Gemini",
        [3, 10, 60],
        [2, 4],
        Some(150),
        &["generativelanguage.googleapis.com"],
        &["gemini", "models/gemini", "gemma-", "learnlm-"],
    ),
    // Vertex quotas are per project and region.
    profile(
        Provider::Vertex,
        "Google Vertex AI",
        [3, 10, 60],
        [2, 4],
        None,
        &["aiplatform.googleapis.com", "vertex"],
        &["publishers/google/"],
    ),
    // DeepSeek publishes no fixed limit ("dynamic"); answers can be slow under load.
    profile(
        Provider::DeepSeek,
        "DeepSeek",
        [3, 15, 90],
        [2, 4],
        None,
        &["deepseek"],
        &["deepseek"],
    ),
    // Timeouts 2/8/25 s, 2 and 4 retries, 120 RPM: the DashScope profile of the
    // NeuralBridge Python SDK, unchanged.
    profile(
        Provider::DashScope,
        "DashScope (Qwen)",
        [2, 8, 25],
        [2, 4],
        Some(120),
        &["dashscope"],
        &["qwen-", "qwq-", "qvq-", "qwen2", "qwen3"],
    ),
    // Free tier: 1 request per second.
    profile(
        Provider::Mistral,
        "Mistral AI",
        [3, 10, 45],
        [2, 4],
        Some(60),
        &["api.mistral.ai", "mistral.ai"],
        &[
            "mistral-",
            "open-mistral",
            "open-mixtral",
            "codestral",
            "devstral",
            "magistral",
            "ministral",
            "pixtral",
        ],
    ),
    // Free tier: 30 RPM; inference is fast, so tiers are short.
    profile(
        Provider::Groq,
        "Groq",
        [2, 5, 20],
        [2, 4],
        Some(30),
        &["api.groq.com", "groq.com"],
        &[],
    ),
    // Free models: 20 RPM; paid models are limited upstream.
    profile(
        Provider::OpenRouter,
        "OpenRouter",
        [3, 15, 60],
        [2, 4],
        Some(20),
        &["openrouter.ai"],
        &["openrouter/"],
    ),
    // On-demand quotas vary by model and region.
    profile(
        Provider::Bedrock,
        "AWS Bedrock",
        [3, 15, 60],
        [2, 4],
        None,
        &["bedrock"],
        &[
            "anthropic.",
            "us.anthropic.",
            "eu.anthropic.",
            "apac.anthropic.",
            "amazon.",
            "us.amazon.",
            "meta.llama",
            "us.meta.",
            "cohere.",
            "ai21.",
            "mistral.",
            "arn:aws:bedrock",
        ],
    ),
    // Production keys: 500 RPM for chat.
    profile(
        Provider::Cohere,
        "Cohere",
        [3, 10, 45],
        [2, 4],
        Some(500),
        &["cohere.com", "cohere.ai"],
        &["command", "c4ai-"],
    ),
    // Tier 1: 600 RPM.
    profile(
        Provider::Together,
        "Together AI",
        [3, 10, 60],
        [2, 4],
        Some(600),
        &["together.xyz", "together.ai"],
        &["togethercomputer/"],
    ),
    // Serverless default: 600 RPM.
    profile(
        Provider::Fireworks,
        "Fireworks AI",
        [3, 10, 60],
        [2, 4],
        Some(600),
        &["fireworks.ai"],
        &["accounts/fireworks/"],
    ),
    // Limits are per team and model.
    profile(
        Provider::XAi,
        "xAI",
        [3, 15, 60],
        [2, 4],
        None,
        &["api.x.ai"],
        &["grok-"],
    ),
    // Local: the connect fails fast, generation on a CPU can be slow.
    profile(
        Provider::Ollama,
        "Ollama",
        [2, 30, 180],
        [1, 2],
        None,
        &[":11434", "ollama"],
        &[],
    ),
    profile(
        Provider::Vllm,
        "vLLM",
        [2, 30, 180],
        [1, 2],
        None,
        &["vllm"],
        &[],
    ),
    profile(
        Provider::LlamaCpp,
        "llama.cpp",
        [2, 30, 180],
        [1, 2],
        None,
        &["llama.cpp", "llamacpp", "llama-cpp", "llama-server"],
        &[],
    ),
    profile(
        Provider::Unknown,
        "the provider",
        [5, 30, 120],
        [2, 3],
        None,
        &[],
        &[],
    ),
];

/// The order in which URL patterns are tried: hosts that embed another
/// provider's name in their paths (Azure, Vertex, Bedrock, OpenRouter) first.
const URL_ORDER: [Provider; 18] = [
    Provider::AzureOpenAi,
    Provider::Vertex,
    Provider::Bedrock,
    Provider::OpenRouter,
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Gemini,
    Provider::DeepSeek,
    Provider::DashScope,
    Provider::Mistral,
    Provider::Groq,
    Provider::Cohere,
    Provider::Together,
    Provider::Fireworks,
    Provider::XAi,
    Provider::Ollama,
    Provider::Vllm,
    Provider::LlamaCpp,
];

/// The profile of `provider`: tiered timeouts, retries, RPM hint, URL patterns
/// and model prefixes.
///
/// The name keeps the `get_` prefix the project's style otherwise avoids,
/// because it mirrors `get_profile` of the NeuralBridge Python SDK.
///
/// ```
/// use std::time::Duration;
/// use nb_diagnose::{get_profile, Provider};
///
/// let p = get_profile(Provider::DashScope);
/// assert_eq!(p.fast_fail, Duration::from_secs(2));
/// assert_eq!((p.standard_retries, p.patient_retries, p.rpm_limit), (2, 4, Some(120)));
/// ```
pub const fn get_profile(provider: Provider) -> &'static ProviderProfile {
    // `Provider` has no explicit discriminants, so `as usize` is its index in
    // declaration order, which is the order of `PROFILES` (checked by a test).
    &PROFILES[provider as usize]
}

/// Every profile, in the order of [`Provider::ALL`] (for tables such as the
/// CLI's `providers` command).
pub fn profiles() -> &'static [ProviderProfile] {
    &PROFILES
}

/// Works out the provider from the call's base URL, or else from the model name.
///
/// The URL wins: `deepseek-chat` served through OpenRouter is OpenRouter.
/// A model name in `vendor/model` form is matched on its last segment
/// (`openai/gpt-4o` → OpenAI) unless a vendor prefix itself identifies a host
/// (`accounts/fireworks/...`). Matching is case-insensitive.
///
/// ```
/// use nb_diagnose::{detect_provider, Provider};
///
/// let url = "https://dashscope.aliyuncs.com/compatible-mode/v1";
/// assert_eq!(detect_provider(Some(url), None), Provider::DashScope);
/// assert_eq!(detect_provider(None, Some("claude-sonnet-4-5")), Provider::Anthropic);
/// assert_eq!(detect_provider(None, None), Provider::Unknown);
/// ```
pub fn detect_provider(base_url: Option<&str>, model: Option<&str>) -> Provider {
    if let Some(provider) = base_url.and_then(provider_of_url) {
        return provider;
    }
    model.map_or(Provider::Unknown, provider_of_model)
}

/// Every URL pattern, with the rank of its provider in [`URL_ORDER`].
fn url_patterns() -> impl Iterator<Item = (usize, &'static str)> {
    URL_ORDER
        .iter()
        .enumerate()
        .flat_map(|(rank, p)| get_profile(*p).url_patterns.iter().map(move |u| (rank, *u)))
}

/// One automaton over every URL pattern (valued by rank), built on first use.
fn url_matcher() -> Option<&'static Matcher<usize>> {
    static MATCHER: OnceLock<Option<Matcher<usize>>> = OnceLock::new();
    MATCHER
        .get_or_init(|| Matcher::build(url_patterns().map(|(rank, u)| (u, rank))).ok())
        .as_ref()
}

/// The documented base URLs, whose answer is known without running the
/// automaton (test `known_base_urls_agree_with_the_patterns`): most clients
/// use one of these, and this check costs a few length comparisons.
const KNOWN_BASE_URLS: [(&str, Provider); 20] = [
    ("https://api.openai.com/v1", Provider::OpenAi),
    ("https://api.anthropic.com/v1", Provider::Anthropic),
    ("https://api.anthropic.com", Provider::Anthropic),
    (
        "https://generativelanguage.googleapis.com/v1beta",
        Provider::Gemini,
    ),
    (
        "https://generativelanguage.googleapis.com/v1beta/openai",
        Provider::Gemini,
    ),
    ("https://api.deepseek.com", Provider::DeepSeek),
    ("https://api.deepseek.com/v1", Provider::DeepSeek),
    (
        "https://dashscope.aliyuncs.com/compatible-mode/v1",
        Provider::DashScope,
    ),
    (
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        Provider::DashScope,
    ),
    ("https://dashscope.aliyuncs.com/api/v1", Provider::DashScope),
    ("https://api.mistral.ai/v1", Provider::Mistral),
    ("https://api.groq.com/openai/v1", Provider::Groq),
    ("https://openrouter.ai/api/v1", Provider::OpenRouter),
    ("https://api.cohere.com/v2", Provider::Cohere),
    ("https://api.together.xyz/v1", Provider::Together),
    ("https://api.fireworks.ai/inference/v1", Provider::Fireworks),
    ("https://api.x.ai/v1", Provider::XAi),
    ("http://localhost:11434", Provider::Ollama),
    ("http://localhost:11434/v1", Provider::Ollama),
    ("http://127.0.0.1:11434/v1", Provider::Ollama),
];

fn provider_of_url(url: &str) -> Option<Provider> {
    let trimmed = url.strip_suffix('/').unwrap_or(url);
    if let Some((_, p)) = KNOWN_BASE_URLS.iter().find(|(u, _)| *u == trimmed) {
        return Some(*p);
    }
    provider_of_url_patterns(url)
}

/// The provider of the first-ranked URL pattern found in `url`.
fn provider_of_url_patterns(url: &str) -> Option<Provider> {
    let best = match url_matcher() {
        Some(m) => {
            let mut best = None;
            m.each_match(url.as_bytes(), &mut |rank, _| {
                best = Some(best.map_or(rank, |b: usize| b.min(rank)));
            });
            best
        }
        // Unreachable in practice (the patterns are fixed and small); the
        // plain search gives the same answer, only slower.
        None => url_patterns()
            .filter(|(_, u)| contains_ignore_case(url.as_bytes(), u.as_bytes()))
            .map(|(rank, _)| rank)
            .min(),
    };
    best.map(|rank| URL_ORDER[rank])
}

fn provider_of_model(model: &str) -> Provider {
    let last = model.rsplit('/').next().unwrap_or(model);
    let candidates: &[&str] = if last.len() == model.len() {
        &[model]
    } else {
        &[model, last]
    };
    candidates
        .iter()
        .find_map(|candidate| {
            let first = candidate.bytes().next()?.to_ascii_lowercase();
            URL_ORDER.into_iter().find(|provider| {
                get_profile(*provider).model_prefixes.iter().any(|p| {
                    p.as_bytes().first() == Some(&first) && starts_with_ignore_case(candidate, p)
                })
            })
        })
        .unwrap_or(Provider::Unknown)
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

pub(crate) fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_indexed_by_provider() {
        for p in Provider::ALL {
            assert_eq!(get_profile(p).provider, p);
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p));
        }
        assert_eq!(profiles().len(), Provider::ALL.len());
        assert!("open_ai".parse::<Provider>().is_err());
    }

    #[test]
    fn every_profile_has_ordered_tiers_and_a_name() {
        for p in profiles() {
            assert!(p.fast_fail < p.standard && p.standard < p.patient, "{p:?}");
            assert!(p.standard_retries <= p.patient_retries, "{p:?}");
            assert!(!p.name.is_empty());
            if p.provider != Provider::Unknown {
                assert!(
                    !p.url_patterns.is_empty(),
                    "{:?} has no URL pattern",
                    p.provider
                );
            }
            for pat in p.url_patterns.iter().chain(p.model_prefixes) {
                assert!(!pat.is_empty() && pat.to_lowercase() == *pat, "{pat:?}");
            }
        }
    }

    #[test]
    fn dashscope_profile_matches_the_design() {
        let p = get_profile(Provider::DashScope);
        assert_eq!(
            (p.fast_fail, p.standard, p.patient),
            (secs(2), secs(8), secs(25))
        );
        assert_eq!((p.standard_retries, p.patient_retries), (2, 4));
        assert_eq!(p.rpm_limit, Some(120));
        assert!(p.url_patterns.contains(&"dashscope"));
        assert!(p.model_prefixes.contains(&"qwen-") && p.model_prefixes.contains(&"qwq-"));
    }

    #[test]
    fn urls_identify_providers() {
        let cases = [
            ("https://api.openai.com/v1", Provider::OpenAi),
            (
                "https://my-res.openai.azure.com/openai/deployments/gpt4o",
                Provider::AzureOpenAi,
            ),
            ("https://api.anthropic.com/v1", Provider::Anthropic),
            (
                "https://generativelanguage.googleapis.com/v1beta",
                Provider::Gemini,
            ),
            (
                "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude",
                Provider::Vertex,
            ),
            ("https://api.deepseek.com", Provider::DeepSeek),
            (
                "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
                Provider::DashScope,
            ),
            ("https://api.mistral.ai/v1", Provider::Mistral),
            ("https://api.groq.com/openai/v1", Provider::Groq),
            ("https://openrouter.ai/api/v1", Provider::OpenRouter),
            (
                "https://bedrock-runtime.eu-west-1.amazonaws.com",
                Provider::Bedrock,
            ),
            ("https://api.cohere.com/v2", Provider::Cohere),
            ("https://api.together.xyz/v1", Provider::Together),
            ("https://api.fireworks.ai/inference/v1", Provider::Fireworks),
            ("https://api.x.ai/v1", Provider::XAi),
            ("http://127.0.0.1:11434/v1", Provider::Ollama),
            ("http://gpu-box:8000/vllm/v1", Provider::Vllm),
            ("http://localhost/llama-server/v1", Provider::LlamaCpp),
            ("HTTPS://API.OPENAI.COM/V1", Provider::OpenAi),
            ("https://example.com/v1", Provider::Unknown),
        ];
        for (url, want) in cases {
            assert_eq!(detect_provider(Some(url), None), want, "{url}");
        }
    }

    #[test]
    fn known_base_urls_agree_with_the_patterns() {
        assert!(url_matcher().is_some(), "the URL patterns compile");
        for (url, p) in KNOWN_BASE_URLS {
            assert_eq!(provider_of_url_patterns(url), Some(p), "{url}");
            assert_eq!(detect_provider(Some(&format!("{url}/")), None), p);
        }
    }

    #[test]
    fn models_identify_providers_when_the_url_does_not() {
        let cases = [
            ("gpt-4o-mini", Provider::OpenAi),
            ("o3-mini", Provider::OpenAi),
            ("claude-3-5-haiku-latest", Provider::Anthropic),
            ("gemini-2.5-flash", Provider::Gemini),
            ("deepseek-reasoner", Provider::DeepSeek),
            ("qwen-max", Provider::DashScope),
            ("qwq-32b", Provider::DashScope),
            ("Qwen3-Coder-Plus", Provider::DashScope),
            ("mistral-large-latest", Provider::Mistral),
            (
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                Provider::Bedrock,
            ),
            ("command-r-plus", Provider::Cohere),
            ("grok-4", Provider::XAi),
            ("openai/gpt-4o", Provider::OpenAi),
            (
                "accounts/fireworks/models/llama-v3p1-8b-instruct",
                Provider::Fireworks,
            ),
            ("llama3.1:8b", Provider::Unknown),
        ];
        for (model, want) in cases {
            assert_eq!(detect_provider(None, Some(model)), want, "{model}");
        }
        // The URL wins over the model.
        assert_eq!(
            detect_provider(
                Some("https://openrouter.ai/api/v1"),
                Some("deepseek/deepseek-chat")
            ),
            Provider::OpenRouter
        );
    }
}
