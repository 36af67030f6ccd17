//! An endpoint's configuration ([`EndpointConfig`]): its protocol and URL, keys,
//! provider, models and per-endpoint settings, and the running state built from it.

use std::fmt;

use nb_breaker::{CircuitBreakerConfig, RateLimits};
use nb_diagnose::{Provider, ProviderProfile};
use nb_transport::{ApiKey, Endpoint};

use super::BuildError;
use crate::target::{EndpointState, MAX_KEYS, Shape, with_headers};

/// Where a key comes from.
#[derive(Clone)]
pub(super) enum KeySource {
    Literal(ApiKey),
    Env(String),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(_) => f.write_str("Literal([redacted])"),
            Self::Env(var) => write!(f, "Env({var})"),
        }
    }
}

impl KeySource {
    pub(super) fn resolve(&self) -> Result<ApiKey, BuildError> {
        match self {
            Self::Literal(key) => Ok(key.clone()),
            Self::Env(var) => match std::env::var(var) {
                Ok(value) if !value.trim().is_empty() => Ok(ApiKey::new(value.trim())),
                _ => Err(BuildError::MissingEnv { var: var.clone() }),
            },
        }
    }
}

#[derive(Debug, Clone)]
enum ShapeConfig {
    OpenAi {
        base_url: String,
    },
    Anthropic {
        base_url: String,
    },
    Gemini {
        base_url: String,
    },
    Azure {
        resource_url: String,
        api_version: String,
    },
}

/// One endpoint: its URL shape, key or key pool, provider profile and
/// models. Add it with [`NeuralBridgeBuilder::endpoint`](crate::NeuralBridgeBuilder::endpoint).
///
/// ```
/// use nb_client::{EndpointConfig, NeuralBridge};
///
/// let builder = NeuralBridge::builder()
///     .endpoint(
///         EndpointConfig::openai_compatible("openai", "https://api.openai.com/v1")
///             .api_key_env("OPENAI_API_KEY")
///             .models(["gpt-4o", "gpt-4o-mini"]),
///     )
///     .endpoint(
///         EndpointConfig::openai_compatible("deepseek", "https://api.deepseek.com/v1")
///             .api_key_envs(["DEEPSEEK_KEY_1", "DEEPSEEK_KEY_2"]) // a key pool
///             .models(["deepseek-chat"]),
///     )
///     .endpoint(
///         EndpointConfig::openai_compatible("local", "http://127.0.0.1:8000/v1")
///             .models(["llama-3.1-8b"])
///             .supports_prefill(true),
///     )
///     .fallback_models(["gpt-4o", "deepseek-chat", "llama-3.1-8b"]);
/// # let _ = builder;
/// ```
///
/// `Debug` shows extra headers by name only (a header may hold a secret)
/// and keys not at all.
#[derive(Clone)]
pub struct EndpointConfig {
    pub(super) name: String,
    shape: ShapeConfig,
    pub(super) keys: Vec<KeySource>,
    models: Vec<String>,
    provider: Option<Provider>,
    profile: Option<ProviderProfile>,
    supports_prefill: Option<bool>,
    headers: Vec<(String, String)>,
    rate_limits: RateLimits,
    windows: Vec<(String, u64)>,
    pub(super) breaker: Option<CircuitBreakerConfig>,
}

impl fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("EndpointConfig")
            .field("name", &self.name)
            .field("shape", &self.shape)
            .field("keys", &self.keys)
            .field("models", &self.models)
            .field("provider", &self.provider)
            .field("supports_prefill", &self.supports_prefill)
            .field("headers", &headers)
            .field("rate_limits", &self.rate_limits)
            .field("windows", &self.windows)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl EndpointConfig {
    fn new(name: impl Into<String>, shape: ShapeConfig) -> Self {
        Self {
            name: name.into(),
            shape,
            keys: Vec::new(),
            models: Vec::new(),
            provider: None,
            profile: None,
            supports_prefill: None,
            headers: Vec::new(),
            rate_limits: RateLimits::default(),
            windows: Vec::new(),
            breaker: None,
        }
    }

    /// An OpenAI-compatible endpoint: `base_url` is everything before
    /// `/chat/completions`.
    pub fn openai_compatible(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        Self::new(
            name,
            ShapeConfig::OpenAi {
                base_url: base_url.into(),
            },
        )
    }

    /// Anthropic's Messages API: `base_url` is everything before `/messages`
    /// (`https://api.anthropic.com/v1`). Requests are translated and answers
    /// and streams read back into the same shapes; a field Anthropic cannot
    /// honour fails the call with a configuration error that names it. A
    /// partial answer is continued natively (assistant prefill).
    pub fn anthropic(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        Self {
            supports_prefill: Some(true),
            ..Self::new(
                name,
                ShapeConfig::Anthropic {
                    base_url: base_url.into(),
                },
            )
        }
    }

    /// Google's Gemini API: `base_url` is everything before `/models`
    /// (`https://generativelanguage.googleapis.com/v1beta`); each model has
    /// its own URL. Requests are translated, answers and streams read back
    /// into the same shapes, and a safety block is a content filter.
    pub fn gemini(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        Self::new(
            name,
            ShapeConfig::Gemini {
                base_url: base_url.into(),
            },
        )
    }

    /// An Azure OpenAI resource: each model is a deployment name.
    pub fn azure(
        name: impl Into<String>,
        resource_url: impl Into<String>,
        api_version: impl Into<String>,
    ) -> Self {
        Self::new(
            name,
            ShapeConfig::Azure {
                resource_url: resource_url.into(),
                api_version: api_version.into(),
            },
        )
    }

    /// A key (added to the pool).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.keys.push(KeySource::Literal(key.into()));
        self
    }

    /// A key read from an environment variable at build (added to the pool).
    #[must_use]
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.keys.push(KeySource::Env(var.into()));
        self
    }

    /// A pool of keys: an auth failure rotates to the next one.
    #[must_use]
    pub fn api_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<ApiKey>,
    {
        self.keys
            .extend(keys.into_iter().map(|k| KeySource::Literal(k.into())));
        self
    }

    /// A pool of keys read from environment variables at build.
    #[must_use]
    pub fn api_key_envs<I, S>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys
            .extend(vars.into_iter().map(|v| KeySource::Env(v.into())));
        self
    }

    /// The models this endpoint serves: a request for one of them goes here
    /// unless pinned elsewhere with `model@endpoint`.
    #[must_use]
    pub fn models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.models.extend(models.into_iter().map(Into::into));
        self
    }

    /// The provider, when detection from the URL and model would be wrong.
    #[must_use]
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// A provider profile (timeout tiers) instead of the detected provider's.
    #[must_use]
    pub fn profile(mut self, profile: ProviderProfile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Whether the endpoint continues an assistant prefill (default:
    /// unknown, tried and dropped if rejected; `false` restarts streams
    /// from scratch here).
    #[must_use]
    pub fn supports_prefill(mut self, supports: bool) -> Self {
        self.supports_prefill = Some(supports);
        self
    }

    /// A header sent with every request (`OpenAI-Organization`, ...).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Client-side rate limits for each of this endpoint's targets (the
    /// provider's rate-limit headers apply in any case).
    #[must_use]
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// The context window of one model here, in tokens (for context-length
    /// fallbacks).
    #[must_use]
    pub fn context_window(mut self, model: impl Into<String>, tokens: u64) -> Self {
        self.windows.push((model.into(), tokens));
        self
    }

    /// The circuit breaker of this endpoint's targets, instead of the
    /// client's ([`NeuralBridgeBuilder::breaker`](crate::NeuralBridgeBuilder::breaker)); a model's own
    /// ([`NeuralBridgeBuilder::breaker_for`](crate::NeuralBridgeBuilder::breaker_for)) still wins.
    #[must_use]
    pub fn breaker(mut self, config: CircuitBreakerConfig) -> Self {
        self.breaker = Some(config);
        self
    }
}

pub(super) fn endpoint_state(
    index: usize,
    config: EndpointConfig,
) -> Result<EndpointState, BuildError> {
    let invalid = |source| BuildError::InvalidEndpoint {
        endpoint: config.name.clone(),
        source,
    };
    if config.name.is_empty() || config.name.contains('@') {
        return Err(BuildError::Invalid {
            reason: format!(
                "endpoint name {:?}: it must be non-empty and without '@'",
                config.name
            ),
        });
    }
    let keys = config
        .keys
        .iter()
        .map(KeySource::resolve)
        .collect::<Result<Vec<_>, _>>()?;
    if keys.len() > MAX_KEYS {
        return Err(BuildError::Invalid {
            reason: format!("endpoint {}: at most {MAX_KEYS} keys", config.name),
        });
    }
    let (shape, base_url) = match &config.shape {
        ShapeConfig::OpenAi { base_url } => {
            let endpoint = Endpoint::openai_compatible(base_url)
                .and_then(|endpoint| with_headers(endpoint, &config.headers))
                .map_err(invalid)?;
            let base = endpoint.base_url().to_owned();
            (Shape::OpenAi(Box::new(endpoint)), base)
        }
        ShapeConfig::Anthropic { base_url } => {
            let endpoint = Endpoint::anthropic(base_url)
                .and_then(|endpoint| with_headers(endpoint, &config.headers))
                .map_err(invalid)?;
            let base = endpoint.base_url().to_owned();
            (Shape::OpenAi(Box::new(endpoint)), base)
        }
        ShapeConfig::Gemini { base_url } => {
            // Checks the URL and the headers once; models are checked as
            // their targets are built.
            let probe = Endpoint::gemini(base_url, "model")
                .and_then(|probe| with_headers(probe, &config.headers))
                .map_err(invalid)?;
            (
                Shape::Gemini {
                    base_url: base_url.clone(),
                },
                probe.base_url().to_owned(),
            )
        }
        ShapeConfig::Azure {
            resource_url,
            api_version,
        } => {
            // Checks the URL, the version and the headers once; deployments
            // are checked as their targets are built.
            let probe = Endpoint::azure(resource_url, "deployment", api_version)
                .and_then(|probe| with_headers(probe, &config.headers))
                .map_err(invalid)?;
            (
                Shape::Azure {
                    resource_url: resource_url.clone(),
                    api_version: api_version.clone(),
                },
                probe.base_url().to_owned(),
            )
        }
    };
    Ok(EndpointState::new(
        index,
        config.name.as_str().into(),
        base_url.as_str().into(),
        shape,
        config.headers,
        keys,
        config.provider,
        config.profile,
        config.supports_prefill,
        config.rate_limits,
        config.models,
        config.windows.into_iter().collect(),
        config.breaker,
    ))
}
