//! The evidence literals: words that are not a category's rule but a piece
//! of evidence the engine weighs (a wait, a status, a quota's value, a
//! missing model, an API key), read by the same automaton as the catalogue.

use crate::Provider::{self, *};

/// A literal that is not a category rule but a piece of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A wait follows ("try again in 6.78s").
    Wait,
    /// An HTTP status follows ("Error code: 429").
    Status,
    /// A quota limit whose value follows; zero means a free tier with no quota.
    QuotaValue,
    /// A quota limit of zero ("limit: 0").
    ZeroLimit,
    /// The limit resets in a window of a day or less (per minute, per hour,
    /// daily, "resets at 10:00").
    Periodic,
    /// A limit counted in tokens, at the end of a sentence ("Max size: 8000
    /// tokens."): a window's, not a byte limit's. Not bare "tokens", which
    /// most rate limits say and every match costs.
    Tokens,
    /// What the request asked for follows (`Requested ~12903`), and the
    /// limit it is held to comes shortly before (`Limit 7000, Used 0,`).
    RequestedValue,
    /// The limit is a month's or a billing period's: waiting a window does
    /// not bring it back.
    Monthly,
    /// Names a provider (used only when the context names none).
    Names(Provider),
    /// Something shaped like the start of an API key: text taken from this
    /// failure is passed through redaction.
    Secret,
    /// The word "model"; see [`Signal::Missing`].
    Model,
    /// An API object that is not a model ("file", "thread", "tool"), as a
    /// whole word; see [`Signal::Missing`].
    Resource,
    /// "not found", "does not exist": within [`MODEL_MISSING_SPAN`] bytes
    /// after "model" it means the model is missing, however the provider
    /// words the rest ("The requested model was not found: x", "model 'x'
    /// not found (status code: 404)"); else, after a [`Signal::Resource`]
    /// word ("File file-x not found"), the request names a missing object
    /// and is invalid, whatever a 404 alone would suggest.
    Missing,
    /// "Error" or "Exception" ending a CamelCase name (`AccountOverdueError`,
    /// `ThrottlingException`): the name's words are read as a phrase too, so
    /// an SDK's exception class names its cause in words the catalogue
    /// knows, whatever the SDK.
    ExceptionName,
    /// A word about the prompt's size ("prompt", "input", "n_ctx"); near a
    /// [`Signal::Excess`] it says the prompt is too long.
    PromptSize,
    /// A word of excess ("exceeds", "too long", "must be less than").
    Excess,
    /// A size that is not the prompt's: a parameter's range (`max_tokens`,
    /// "greater than or equal to"), an image's or a file's.
    OtherSize,
    /// A deadline passed while the body was being read ("Client.Timeout or
    /// context cancellation while reading body"): inside a stream, output
    /// had begun, so the stream stalled rather than never started.
    MidBody,
    /// "API key": with "invalid", "incorrect", "wrong" or "missing" shortly
    /// before, whatever names the key between ("Invalid xAI API Key",
    /// "missing BAIDU_API_KEY"), the key is bad or absent.
    ApiKey,
}

/// How far after "model" a [`Signal::Missing`] still refers to it.
pub(crate) const MODEL_MISSING_SPAN: usize = 80;

/// How API keys start (`sk-...`, `AIza...`, `Bearer ...`): seeing one marks
/// the text as holding a secret ([`Signal::Secret`], matched ignoring case),
/// and `redact` masks what follows each (case as written).
pub(crate) const KEY_PREFIXES: [&str; 9] = [
    "sk-", "sk_", "AIza", "gsk_", "xai-", "hf_", "nvapi-", "Bearer ", "r8_",
];

/// The evidence literals; model-name prefixes of the provider profiles are
/// added to these as [`Signal::Names`] at build time.
#[rustfmt::skip]
pub(crate) static SIGNALS: &[(Signal, &[&str])] = &[
    (Signal::Wait, &["retry after", "retry-after", "retry_after", "try again in", "try again after", "retry in", "retrydelay", "retry_delay", "retry delay", "wait", "resets in", "reset after", "resets after", "请在", "请于"]),
    (Signal::Status, &["error:", "error code", "status code", "status_code", "statuscode", "http code", "http status", "http", "status", "code", "状态码", "状态码：", "状态码为", "状态码是", "http状态码"]),
    (Signal::QuotaValue, &["quota_limit_value", "quotavalue"]),
    (Signal::ZeroLimit, &["limit: 0", "limit of 0", "limit 0", "doesn't have a free quota tier", "does not have a free quota tier"]),
    (Signal::Secret, &KEY_PREFIXES),
    (Signal::Model, &["model", "模型"]),
    (Signal::Resource, &["file", "container", "thread", "assistant", "vector store", "vector_store", "item", "batch", "upload", "tool", "function"]),
    (Signal::Missing, &["not found", "is not supported", "does not exist", "doesn't exist", "no longer exists", "is not available", "no longer available"]),
    (Signal::ExceptionName, &["error", "exception"]),
    (Signal::PromptSize, &["prompt", "input", "length of messages", "message length", "n_ctx", "num_ctx", "seq_len", "max_seq_len", "sequence length", "model_len"]),
    (Signal::OtherSize, &["max_tokens", "max_new_tokens", "max_completion_tokens", "max_output_tokens", "or equal to", "image", "file size", "audio", "video"]),
    (Signal::Excess, &["too long", "exceed", "greater than", "less than", "longer than", "more than", "too large", "truncate", ">="]),
    (Signal::Tokens, &["tokens.", "tokens)"]),
    (Signal::ApiKey, &["api key", "api-key", "api_key"]),
    (Signal::MidBody, &["while reading body", "while reading the body", "partial response received", "stream drop"]),
    (Signal::RequestedValue, &["requested"]),
    (Signal::Monthly, &["monthly limit", "monthly usage", "monthly quota", "monthly token", "monthly request", "monthly spend", "monthly budget", "per month", "this month", "month allocated", "billing cycle", "billing period", "每月", "本月", "月度"]),
    (Signal::Periodic, &["perminute", "per minute", "per_minute", "perday", "per day", "per_day", "per min", "per hour", "per_hour", "perhour", "/ 5h", "/5h", "5-hour", "resets at", "will reset after", "will reset in", "daily"]),
    (Signal::Names(OpenAi), &["api.openai.com", "platform.openai.com", "openai.com/"]),
    (Signal::Names(AzureOpenAi), &["azure"]),
    (Signal::Names(Anthropic), &["anthropic"]),
    (Signal::Names(Gemini), &["generativelanguage", "googlegenerativeai", "ai.google.dev", "google.genai", "google.generativeai", "google.api_core"]),
    (Signal::Names(Vertex), &["aiplatform", "vertex"]),
    (Signal::Names(DeepSeek), &["deepseek"]),
    (Signal::Names(DashScope), &["dashscope", "aliyun", "qwen", "qwq-"]),
    (Signal::Names(Mistral), &["mistral"]),
    (Signal::Names(Groq), &["groq"]),
    (Signal::Names(OpenRouter), &["openrouter"]),
    (Signal::Names(Bedrock), &["bedrock", "botocore", "amazonaws"]),
    (Signal::Names(Cohere), &["cohere"]),
    (Signal::Names(Together), &["together.ai", "together.xyz", "togetherai"]),
    (Signal::Names(Fireworks), &["fireworks"]),
    (Signal::Names(XAi), &["x.ai/", "console.x.ai", "grok-"]),
    (Signal::Names(Ollama), &["ollama"]),
    (Signal::Names(Vllm), &["vllm"]),
    (Signal::Names(LlamaCpp), &["llama.cpp", "llama-server"]),
];
