//! The `serve` configuration file: parsed, validated up front, turned into a client.
//!
//! Keys are never written in the file, only the names of the environment variables that
//! hold them.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nb_client::{
    EndpointConfig, ErrorCategory,
    diagnosis::Provider,
    policy::{
        CategoryPolicy, CircuitBreakerConfig, Degradation, Fallback, FallbackRule, Hedging,
        LoadBalancingStrategy, RateLimits, RetryBudgetConfig, SlidingWindow, StreamPolicy, Tier,
        TripPolicy,
    },
};
use nb_transport::{ApiKey, Endpoint};
use regex::Regex;
use serde::Deserialize;

use crate::ServeError;
use crate::validation::AnswerRules;
pub(crate) use defaults::*;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerFile,
    #[serde(default)]
    policy: PolicyFile,
    #[serde(default)]
    endpoints: Vec<EndpointFile>,
    #[serde(default)]
    aliases: BTreeMap<String, Vec<String>>,
    catch_all: Option<CatchAllFile>,
    /// Breakers of single models (`model` or `model@endpoint`).
    #[serde(default)]
    breakers: BTreeMap<String, BreakerFile>,
    validation: Option<ValidationFile>,
    /// Prices by served model name, for the cost metric.
    #[serde(default)]
    prices: BTreeMap<String, PriceFile>,
    state: Option<StateFile>,
    /// Capability tiers: models that may stand in for each other.
    #[serde(default)]
    tiers: BTreeMap<String, Vec<String>>,
}

/// Where a fleet of sidecars shares its breakers, rate limits and learning.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    redis_url: String,
    prefix: Option<String>,
}

/// A model's price, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    input: f64,
    output: f64,
}

/// A model's price, in US dollars per million input and output tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Price {
    pub(crate) input: f64,
    pub(crate) output: f64,
}

/// What a non-streamed answer's text must satisfy to be served.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidationFile {
    max_chars: Option<usize>,
    #[serde(default)]
    required_json_fields: Vec<String>,
    pattern: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    listen: Option<String>,
    auth_token_env: Option<String>,
    max_body_bytes: Option<usize>,
    state_dir: Option<PathBuf>,
    stream_limit_s: Option<f64>,
    drain_s: Option<f64>,
    max_in_flight: Option<usize>,
    max_queued: Option<usize>,
    queue_timeout_s: Option<f64>,
    max_connections: Option<usize>,
    idle_timeout_s: Option<f64>,
    header_timeout_s: Option<f64>,
    body_timeout_s: Option<f64>,
    workers: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    max_retries: Option<u32>,
    deadline_s: Option<f64>,
    stream: Option<String>,
    timeout_ladder: Option<Vec<toml::Value>>,
    idle_timeout_s: Option<f64>,
    failure_threshold: Option<u32>,
    recovery_s: Option<f64>,
    learning: Option<bool>,
    #[serde(default)]
    on: BTreeMap<String, String>,
    strategy: Option<String>,
    wait_threshold_s: Option<f64>,
    retry_ratio: Option<f32>,
    hedging: Option<bool>,
    hedge_max_share: Option<f32>,
    failure_rate: Option<f32>,
    window_s: Option<f64>,
    minimum_calls: Option<u32>,
    max_recovery_s: Option<f64>,
    open_growth_percent: Option<u32>,
    degrade_answer: Option<String>,
    degrade_last_good_s: Option<f64>,
    fallback: Option<String>,
    schema_guard: Option<bool>,
}

impl PolicyFile {
    /// The breaker settings among the policy's.
    fn breaker(&self) -> BreakerFile {
        BreakerFile {
            failure_threshold: self.failure_threshold,
            failure_rate: self.failure_rate,
            window_s: self.window_s,
            minimum_calls: self.minimum_calls,
            recovery_s: self.recovery_s,
            max_recovery_s: self.max_recovery_s,
            open_growth_percent: self.open_growth_percent,
        }
    }
}

/// Circuit-breaker settings: `[policy]`'s for every target, or a table of an endpoint's
/// or of `[breakers]` for some, over `[policy]`'s.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakerFile {
    failure_threshold: Option<u32>,
    failure_rate: Option<f32>,
    window_s: Option<f64>,
    minimum_calls: Option<u32>,
    recovery_s: Option<f64>,
    max_recovery_s: Option<f64>,
    open_growth_percent: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointFile {
    name: String,
    /// `"openai"` (the default), `"anthropic"` or `"gemini"`; Azure is told by its fields.
    protocol: Option<String>,
    base_url: Option<String>,
    azure_resource: Option<String>,
    api_version: Option<String>,
    api_key_env: Option<String>,
    #[serde(default)]
    api_key_envs: Vec<String>,
    #[serde(default)]
    models: Vec<String>,
    provider: Option<String>,
    supports_prefill: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    context_windows: BTreeMap<String, u64>,
    rpm: Option<u32>,
    tpm: Option<u64>,
    breaker: Option<BreakerFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatchAllFile {
    endpoint: String,
    #[serde(default)]
    fallbacks: Vec<String>,
}

/// A validated `serve` configuration (see the crate's README for the file).
#[derive(Debug)]
pub struct ServeConfig {
    /// Where to listen.
    pub(crate) listen: SocketAddr,
    /// The environment variable holding the callers' bearer token, if callers must send one.
    pub(crate) auth_token_env: Option<String>,
    /// The largest request body accepted.
    pub(crate) max_body: usize,
    /// The longest a relayed stream may run, first byte to last.
    pub(crate) stream_limit: Duration,
    /// How long a shutdown lets requests in flight finish.
    pub(crate) drain: Duration,
    /// Chat requests served at once; more wait in the queue.
    pub(crate) max_in_flight: usize,
    /// Chat requests waiting at most.
    pub(crate) max_queued: usize,
    /// How long a request waits for a slot.
    pub(crate) queue_timeout: Duration,
    /// Callers' connections open at once; more wait to be accepted.
    pub(crate) max_connections: usize,
    /// How long a connection with no request in flight may move no byte.
    pub(crate) idle_timeout: Duration,
    /// How long a request's headers may take to arrive.
    pub(crate) header_timeout: Duration,
    /// How long a request's body may take to arrive.
    pub(crate) body_timeout: Duration,
    workers: usize,
    /// Where learned state is loaded from at start and saved to (every minute and at
    /// shutdown), if anywhere.
    pub(crate) state_dir: Option<PathBuf>,
    /// Every model name a caller may ask for without the catch-all: aliases first, then
    /// each endpoint's models, with the endpoint that serves it (`None` for an alias).
    pub(crate) models: Vec<(String, Option<String>)>,
    /// The endpoint unnamed models go to, if any.
    pub(crate) catch_all: Option<String>,
    /// Prices by served model name (`[prices]`), for `nb_cost_usd_total`.
    pub(crate) prices: BTreeMap<String, Price>,
    /// The Redis URL and key prefix the fleet's breakers, rate limits and learning are shared under (`[state]`).
    pub(crate) shared_state: Option<(String, String)>,
    /// Which models may serve a request in place of the one it names, unless its
    /// `x-nb-fallback` header says otherwise (`policy.fallback`).
    pub(crate) fallback: Fallback,
    endpoint_names: HashSet<String>,
    builder_parts: BuilderParts,
}

/// What the client is built from (kept so building can happen after validation).
#[derive(Debug, Clone)]
struct BuilderParts {
    endpoints: Vec<EndpointConfig>,
    aliases: Vec<(String, Vec<String>)>,
    fallbacks: Vec<String>,
    max_retries: Option<u32>,
    deadline: Option<Duration>,
    stream: Option<StreamPolicy>,
    ladder: Option<Vec<Tier>>,
    idle_timeout: Option<Duration>,
    breaker: CircuitBreakerConfig,
    breakers: Vec<(String, CircuitBreakerConfig)>,
    validation: Option<AnswerRules>,
    learning: Option<bool>,
    policies: Vec<(ErrorCategory, CategoryPolicy)>,
    strategy: Option<LoadBalancingStrategy>,
    wait_threshold: Option<Duration>,
    retry_budget: Option<RetryBudgetConfig>,
    hedging: Hedging,
    degradation: Option<Degradation>,
    tiers: Vec<(String, Vec<String>)>,
    schema_guard: Option<bool>,
}

/// Collects every problem of a file so one run reports them all.
#[derive(Debug, Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, problem: impl Into<String>) {
        self.0.push(problem.into());
    }
}

/// How a request's model is routed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// Send the model name as it is (an alias, a listed model or `model@endpoint`).
    AsIs,
    /// An unnamed model: send it to the catch-all endpoint under its own name.
    CatchAll(String),
    /// Nothing serves it.
    Unknown,
}

impl ServeConfig {
    /// Reads and validates `path`. A relative `server.state_dir` is taken relative to the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Self, ServeError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServeError::Config(format!("config {}: {e}", path.display())))?;
        let mut config = Self::parse(&text, &|var| std::env::var(var).ok())
            .map_err(|e| ServeError::Config(format!("config {}: {e}", path.display())))?;
        if let (Some(dir), Some(base)) = (&mut config.state_dir, path.parent())
            && dir.is_relative()
        {
            *dir = base.join(&*dir);
        }
        if let Some(dir) = &config.state_dir
            && dir.exists()
            && !dir.is_dir()
        {
            return Err(ServeError::Config(format!(
                "config {}: server.state_dir: {} is not a directory",
                path.display(),
                dir.display()
            )));
        }
        Ok(config)
    }

    /// How many threads serve requests (`server.workers`, default 1): whoever
    /// builds the runtime reads it.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Parses and validates a configuration; `env` looks up environment variables (every
    /// variable named must be set and non-empty).
    pub(crate) fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut p = Problems::default();
        let set = |var: &str| env(var).is_some_and(|v| !v.trim().is_empty());

        // [server]
        let listen = match &file.server.listen {
            None => DEFAULT_LISTEN,
            Some(text) => text.parse().unwrap_or_else(|_| {
                p.add(format!(
                    "server.listen: `{text}` is not an address like {DEFAULT_LISTEN}"
                ));
                DEFAULT_LISTEN
            }),
        };
        if let Some(var) = &file.server.auth_token_env
            && !set(var)
        {
            p.add(format!(
                "server.auth_token_env: environment variable {var} is not set"
            ));
        }
        let stream_limit = server_seconds(file.server.stream_limit_s, "stream_limit_s", &mut p)
            .unwrap_or(DEFAULT_STREAM_LIMIT);
        let drain = server_seconds(file.server.drain_s, "drain_s", &mut p).unwrap_or(DEFAULT_DRAIN);
        let queue_timeout = server_seconds(file.server.queue_timeout_s, "queue_timeout_s", &mut p)
            .unwrap_or(DEFAULT_QUEUE_TIMEOUT);
        let idle_timeout = server_seconds(file.server.idle_timeout_s, "idle_timeout_s", &mut p)
            .unwrap_or(DEFAULT_IDLE_TIMEOUT);
        let header_timeout =
            server_seconds(file.server.header_timeout_s, "header_timeout_s", &mut p)
                .unwrap_or(DEFAULT_HEADER_TIMEOUT);
        let body_timeout = server_seconds(file.server.body_timeout_s, "body_timeout_s", &mut p)
            .unwrap_or(DEFAULT_BODY_TIMEOUT);
        let max_connections = file
            .server
            .max_connections
            .unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if !(1..=1_000_000).contains(&max_connections) {
            p.add("server.max_connections: must be between 1 and 1000000");
        }
        let workers = file.server.workers.unwrap_or(DEFAULT_WORKERS);
        if !(1..=1024).contains(&workers) {
            p.add("server.workers: must be between 1 and 1024");
        }
        let max_in_flight = file.server.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT);
        if !(1..=1_000_000).contains(&max_in_flight) {
            p.add("server.max_in_flight: must be between 1 and 1000000");
        }
        let max_queued = file.server.max_queued.unwrap_or(4 * max_in_flight);
        if max_queued > 10_000_000 {
            p.add("server.max_queued: must be at most 10000000");
        }
        let max_body = file.server.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY);
        if !(1024..=256 * 1024 * 1024).contains(&max_body) {
            p.add("server.max_body_bytes: must be between 1024 and 268435456");
        }
        if file
            .server
            .state_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            p.add("server.state_dir: must not be empty (leave it out to keep no state)");
        }

        // [[endpoints]]
        if file.endpoints.is_empty() {
            p.add("no [[endpoints]]: name at least one (name, base_url, models)");
        }
        // Every breaker table starts from [policy]'s.
        let breaker = breaker_config(
            CircuitBreakerConfig::default(),
            &file.policy.breaker(),
            "policy",
            &mut p,
        );
        let mut names = HashSet::new();
        let mut served: Vec<(String, String)> = Vec::new();
        let mut endpoints = Vec::new();
        for (i, e) in file.endpoints.iter().enumerate() {
            let at = format!("endpoints[{i}] ({})", e.name);
            if e.name.trim().is_empty() || e.name.contains('@') {
                p.add(format!(
                    "endpoints[{i}].name: must be non-empty, without '@'"
                ));
            } else if !names.insert(e.name.clone()) {
                p.add(format!("{at}: a second endpoint with this name"));
            }
            if let Some(mut endpoint) = endpoint_config(e, &at, env, &mut p) {
                if let Some(b) = &e.breaker {
                    let at = format!("{at}.breaker");
                    endpoint = endpoint.breaker(breaker_config(breaker.clone(), b, &at, &mut p));
                }
                endpoints.push(endpoint);
            }
            for m in &e.models {
                if m.trim().is_empty() || m.contains('@') {
                    p.add(format!("{at}.models: `{m}` must be non-empty, without '@'"));
                } else if !served.iter().any(|(s, _)| s == m) {
                    served.push((m.clone(), e.name.clone()));
                }
            }
            for model in e.context_windows.keys() {
                if !e.models.contains(model) {
                    p.add(format!(
                        "{at}.context_windows: `{model}` is not in this endpoint's models"
                    ));
                }
            }
        }
        let target_ok = |t: &str| match t.split_once('@') {
            Some((model, endpoint)) => !model.is_empty() && names.contains(endpoint),
            None => served.iter().any(|(s, _)| s == t),
        };

        // [aliases]
        for (alias, chain) in &file.aliases {
            if alias.trim().is_empty() || alias.contains('@') {
                p.add(format!("aliases: `{alias}` must be non-empty, without '@'"));
            }
            if chain.is_empty() {
                p.add(format!("aliases.{alias}: the chain is empty"));
            }
            for t in chain.iter().filter(|t| !target_ok(t)) {
                p.add(format!(
                    "aliases.{alias}: `{t}` is not served by any endpoint (list it in an \
                     endpoint's models, or write model@endpoint)"
                ));
            }
        }

        // [catch_all]
        let (catch_all, fallbacks) = match &file.catch_all {
            Some(c) => {
                if !names.contains(&c.endpoint) {
                    p.add(format!(
                        "catch_all.endpoint: no endpoint is named `{}`",
                        c.endpoint
                    ));
                }
                for t in c.fallbacks.iter().filter(|t| !target_ok(t)) {
                    p.add(format!(
                        "catch_all.fallbacks: `{t}` is not served by any endpoint (list it in \
                         an endpoint's models, or write model@endpoint)"
                    ));
                }
                (Some(c.endpoint.clone()), c.fallbacks.clone())
            }
            None => (None, Vec::new()),
        };

        // [breakers]
        let mut breakers = Vec::new();
        for (target, b) in &file.breakers {
            if !target_ok(target) {
                p.add(format!(
                    "breakers: `{target}` is not served by any endpoint (list it in an \
                     endpoint's models, or write model@endpoint)"
                ));
            }
            let at = format!("breakers.\"{target}\"");
            breakers.push((
                target.clone(),
                breaker_config(breaker.clone(), b, &at, &mut p),
            ));
        }

        // [validation]
        let validation = file.validation.as_ref().map(|v| answer_rules(v, &mut p));

        // [state]
        if let Some(state) = &file.state
            && let Err(e) = nb_redis::RedisStore::new(&state.redis_url)
        {
            p.add(format!("state.redis_url: not a Redis URL ({e})"));
        }
        let shared_state = file.state.as_ref().map(|s| {
            let prefix = s.prefix.clone().unwrap_or_else(|| "neuralbridge".into());
            (s.redis_url.clone(), prefix)
        });

        // [prices]
        let mut prices = BTreeMap::new();
        for (model, price) in &file.prices {
            let valid = |v: f64| v.is_finite() && v >= 0.0;
            if !valid(price.input) || !valid(price.output) {
                p.add(format!(
                    "prices.\"{model}\": input and output are US dollars per million tokens, \
                     at least 0"
                ));
                continue;
            }
            prices.insert(
                model.clone(),
                Price {
                    input: price.input,
                    output: price.output,
                },
            );
        }

        // [tiers]
        let mut tiers = Vec::new();
        for (name, models) in &file.tiers {
            if models.is_empty() {
                p.add(format!("tiers.{name}: list at least one model"));
            }
            tiers.push((name.clone(), models.clone()));
        }
        let fallback = match file.policy.fallback.as_deref() {
            None => Fallback::Any,
            Some(s) => parse_fallback(s).unwrap_or_else(|| {
                p.add(format!(
                    "policy.fallback: `{s}` is not \"any\", \"tier\" or \"same-model\""
                ));
                Fallback::Any
            }),
        };
        if fallback == Fallback::SameTier && tiers.is_empty() {
            p.add("policy.fallback = \"tier\" needs a [tiers] section");
        }

        // [policy]
        let parts = policy_parts(&file.policy, breaker, &mut p).map(|policy| BuilderParts {
            endpoints,
            aliases: file.aliases.clone().into_iter().collect(),
            fallbacks,
            breakers,
            validation,
            tiers,
            schema_guard: file.policy.schema_guard,
            ..policy
        });

        if !p.0.is_empty() {
            let mut message = String::from("the configuration has problems:");
            for problem in &p.0 {
                let _ = write!(message, "\n  - {problem}");
            }
            return Err(message);
        }
        let Some(builder_parts) = parts else {
            return Err("the configuration has problems".to_owned());
        };
        let models = file
            .aliases
            .keys()
            .map(|a| (a.clone(), None))
            .chain(served.into_iter().map(|(m, e)| (m, Some(e))))
            .collect();
        Ok(Self {
            listen,
            auth_token_env: file.server.auth_token_env,
            max_body,
            stream_limit,
            drain,
            max_in_flight,
            max_queued,
            queue_timeout,
            max_connections,
            idle_timeout,
            header_timeout,
            body_timeout,
            workers,
            state_dir: file.server.state_dir,
            models,
            catch_all,
            prices,
            shared_state,
            fallback,
            endpoint_names: names,
            builder_parts,
        })
    }

    /// How a request asking for `model` is routed.
    pub(crate) fn route(&self, model: &str) -> Route {
        if let Some((_, endpoint)) = model.split_once('@') {
            return if self.endpoint_names.contains(endpoint) {
                Route::AsIs
            } else {
                Route::Unknown
            };
        }
        if self.models.iter().any(|(m, _)| m == model) {
            return Route::AsIs;
        }
        match &self.catch_all {
            Some(endpoint) => Route::CatchAll(format!("{model}@{endpoint}")),
            None => Route::Unknown,
        }
    }
}

/// An endpoint section as the client's `EndpointConfig`, or `None` (with problems noted).
/// Keys are read here, through `env`, so a missing variable is reported with the others.
fn endpoint_config(
    e: &EndpointFile,
    at: &str,
    env: &dyn Fn(&str) -> Option<String>,
    p: &mut Problems,
) -> Option<EndpointConfig> {
    let protocol = e.protocol.as_deref().unwrap_or("openai");
    if !matches!(protocol, "openai" | "anthropic" | "gemini") {
        p.add(format!(
            "{at}.protocol: `{protocol}` is not \"openai\", \"anthropic\" or \"gemini\""
        ));
        return None;
    }
    let mut config = match (&e.base_url, &e.azure_resource, &e.api_version) {
        (Some(url), None, None) if protocol == "anthropic" => {
            if let Err(err) = Endpoint::anthropic(url) {
                p.add(format!("{at}.base_url: {err}"));
                return None;
            }
            EndpointConfig::anthropic(&e.name, url)
        }
        (Some(url), None, None) if protocol == "gemini" => {
            if let Err(err) = Endpoint::gemini(url, "model") {
                p.add(format!("{at}.base_url: {err}"));
                return None;
            }
            EndpointConfig::gemini(&e.name, url)
        }
        (Some(url), None, None) => {
            if let Err(err) = Endpoint::openai_compatible(url) {
                p.add(format!("{at}.base_url: {err}"));
                return None;
            }
            EndpointConfig::openai_compatible(&e.name, url)
        }
        (None, Some(resource), Some(version)) => {
            if let Err(err) = Endpoint::azure(resource, "deployment", version) {
                p.add(format!("{at}: {err}"));
                return None;
            }
            EndpointConfig::azure(&e.name, resource, version)
        }
        _ => {
            p.add(format!(
                "{at}: give either base_url, or azure_resource and api_version"
            ));
            return None;
        }
    };
    if e.models.is_empty() {
        p.add(format!("{at}.models: list the models this endpoint serves"));
    }
    config = config.models(e.models.iter().cloned());
    for var in e.api_key_env.iter().chain(&e.api_key_envs) {
        match env(var).filter(|k| !k.trim().is_empty()) {
            Some(key) => config = config.api_key(ApiKey::new(key.trim())),
            None => p.add(format!("{at}: environment variable {var} is not set")),
        }
    }
    if let Some(name) = &e.provider {
        match name.parse::<Provider>() {
            Ok(provider) => config = config.provider(provider),
            Err(err) => p.add(format!(
                "{at}.provider: {err} (see `neuralbridge providers`)"
            )),
        }
    }
    if let Some(prefill) = e.supports_prefill {
        config = config.supports_prefill(prefill);
    }
    for (name, value) in &e.headers {
        if http::HeaderName::try_from(name.as_str()).is_err()
            || http::HeaderValue::try_from(value.as_str()).is_err()
        {
            p.add(format!("{at}.headers: `{name}` is not a valid header"));
        }
        config = config.header(name, value);
    }
    for (model, tokens) in &e.context_windows {
        config = config.context_window(model, *tokens);
    }
    if e.rpm == Some(0) || e.tpm == Some(0) {
        p.add(format!(
            "{at}: rpm and tpm must be positive (leave them out for no limit)"
        ));
    }
    if e.rpm.is_some() || e.tpm.is_some() {
        config = config.rate_limits(RateLimits {
            requests_per_minute: e.rpm,
            tokens_per_minute: e.tpm,
            ..RateLimits::default()
        });
    }
    Some(config)
}

/// The `[validation]` section's rules, with problems noted.
fn answer_rules(v: &ValidationFile, p: &mut Problems) -> AnswerRules {
    if v.max_chars == Some(0) {
        p.add("validation.max_chars: must be at least 1");
    }
    if v.required_json_fields.iter().any(|f| f.is_empty()) {
        p.add("validation.required_json_fields: a field name is empty");
    }
    let pattern = v
        .pattern
        .as_deref()
        .and_then(|text| match Regex::new(text) {
            Ok(re) => Some(re),
            Err(e) => {
                p.add(format!("validation.pattern: {e}"));
                None
            }
        });
    AnswerRules {
        max_chars: v.max_chars,
        required_json_fields: v.required_json_fields.clone(),
        pattern,
    }
}

/// `base` with the settings of `f` (at `at` in the file) over it.
fn breaker_config(
    base: CircuitBreakerConfig,
    f: &BreakerFile,
    at: &str,
    p: &mut Problems,
) -> CircuitBreakerConfig {
    let mut breaker = base;
    let rate_fields = f.failure_rate.is_some() || f.window_s.is_some() || f.minimum_calls.is_some();
    match f.failure_threshold {
        Some(n) if rate_fields => {
            p.add(format!(
                "{at}: failure_rate, window_s and minimum_calls do not go with failure_threshold"
            ));
            breaker.policy = CircuitBreakerConfig::consecutive_failures(n).policy;
        }
        Some(n) => breaker.policy = CircuitBreakerConfig::consecutive_failures(n).policy,
        None if rate_fields && !matches!(breaker.policy, TripPolicy::FailureRate(_)) => {
            breaker.policy = CircuitBreakerConfig::default().policy;
        }
        None => {}
    }
    if let TripPolicy::FailureRate(rate) = &mut breaker.policy {
        if let Some(pct) = f.failure_rate {
            rate.failure_rate_threshold = pct;
        }
        if let Some(w) = in_range(f.window_s, &format!("{at}.window_s"), p) {
            rate.window = SlidingWindow::Time(w);
        }
        if let Some(n) = f.minimum_calls {
            rate.minimum_calls = n;
        }
    }
    if let Some(d) = in_range(f.recovery_s, &format!("{at}.recovery_s"), p) {
        breaker.recovery_timeout = d;
        breaker.max_recovery_timeout = breaker.max_recovery_timeout.max(d);
    }
    if let Some(d) = in_range(f.max_recovery_s, &format!("{at}.max_recovery_s"), p) {
        breaker.max_recovery_timeout = d;
    }
    if let Some(pct) = f.open_growth_percent {
        breaker.recovery_age_percent = pct;
    }
    if let Err(e) = breaker.validate() {
        p.add(format!("{at}: {e}"));
    }
    breaker
}

/// A positive number of seconds as a duration, or a problem.
fn seconds(value: Option<f64>, field: &str, p: &mut Problems) -> Option<Duration> {
    in_range(value, &format!("policy.{field}"), p)
}

/// A `[server]` duration in seconds, checked like [`seconds`].
fn server_seconds(value: Option<f64>, field: &str, p: &mut Problems) -> Option<Duration> {
    in_range(value, &format!("server.{field}"), p)
}

fn in_range(value: Option<f64>, key: &str, p: &mut Problems) -> Option<Duration> {
    let v = value?;
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Some(Duration::from_secs_f64(v))
    } else {
        p.add(format!("{key}: must be between 0 and 86400 seconds"));
        None
    }
}

/// A fallback constraint as the config and the `x-nb-fallback` header write it:
/// `any`, `tier` or `same-model`.
pub(crate) fn parse_fallback(s: &str) -> Option<Fallback> {
    match s.trim() {
        "any" => Some(Fallback::Any),
        "tier" => Some(Fallback::SameTier),
        "same-model" => Some(Fallback::SameModel),
        _ => None,
    }
}

/// The `[policy]` section (everything but the routes).
fn policy_parts(
    f: &PolicyFile,
    breaker: CircuitBreakerConfig,
    p: &mut Problems,
) -> Option<BuilderParts> {
    let before = p.0.len();
    let stream = match f.stream.as_deref() {
        None => None,
        Some("error") => Some(StreamPolicy::Error),
        Some("continue") => Some(StreamPolicy::Continue),
        Some(other) => {
            p.add(format!(
                "policy.stream: `{other}` is not \"error\" or \"continue\""
            ));
            None
        }
    };
    let ladder = f.timeout_ladder.as_ref().map(|rungs| {
        if rungs.is_empty() {
            p.add("policy.timeout_ladder: give at least one rung");
        }
        rungs
            .iter()
            .filter_map(|r| match r {
                toml::Value::String(s) if s == "fast_fail" => Some(Tier::FastFail),
                toml::Value::String(s) if s == "standard" => Some(Tier::Standard),
                toml::Value::String(s) if s == "patient" => Some(Tier::Patient),
                toml::Value::Integer(n @ 1..=86_400) => {
                    Some(Tier::Fixed(Duration::from_secs(n.unsigned_abs())))
                }
                toml::Value::Float(x) if x.is_finite() && *x > 0.0 && *x <= 86_400.0 => {
                    Some(Tier::Fixed(Duration::from_secs_f64(*x)))
                }
                other => {
                    p.add(format!(
                        "policy.timeout_ladder: `{other}` is not \"fast_fail\", \"standard\", \
                         \"patient\" or a number of seconds (up to 86400)"
                    ));
                    None
                }
            })
            .collect()
    });
    let mut policies = Vec::new();
    for (name, action) in &f.on {
        let Ok(category) = name.parse::<ErrorCategory>() else {
            p.add(format!("policy.on: `{name}` is not a failure category"));
            continue;
        };
        let policy = match action.as_str() {
            "fail" => CategoryPolicy::fail(),
            "fallback" => CategoryPolicy::fallback(),
            "fallback_larger_context" => CategoryPolicy::fallback_to(FallbackRule::LargerContext),
            "retry_then_fallback" => CategoryPolicy::retry_then_fallback(),
            "fallback_else_retry" => CategoryPolicy::fallback_else_retry(),
            other => {
                p.add(format!(
                    "policy.on.{name}: `{other}` is not \"fail\", \"fallback\", \
                     \"fallback_larger_context\", \"retry_then_fallback\" or \
                     \"fallback_else_retry\""
                ));
                continue;
            }
        };
        policies.push((category, policy));
    }
    let strategy = f.strategy.as_deref().and_then(|name| {
        let strategy = match name {
            "fallback" => LoadBalancingStrategy::Fallback,
            "round_robin" => LoadBalancingStrategy::RoundRobin,
            "random" => LoadBalancingStrategy::Random,
            "weighted_response_time" => LoadBalancingStrategy::WeightedResponseTime,
            "least_connections" => LoadBalancingStrategy::LeastConnections,
            "predictive" => LoadBalancingStrategy::Predictive,
            "power_of_two_choices" => LoadBalancingStrategy::PowerOfTwoChoices,
            other => {
                p.add(format!(
                    "policy.strategy: `{other}` is not \"fallback\", \"round_robin\", \
                     \"random\", \"weighted_response_time\", \"least_connections\", \
                     \"predictive\" or \"power_of_two_choices\""
                ));
                return None;
            }
        };
        Some(strategy)
    });
    let share = |v: Option<f32>, key: &str, p: &mut Problems| {
        v.filter(|x| {
            let ok = (0.0..=1.0).contains(x);
            if !ok {
                p.add(format!("policy.{key}: must be between 0 and 1"));
            }
            ok
        })
    };
    let retry_budget = share(f.retry_ratio, "retry_ratio", p).map(|ratio| RetryBudgetConfig {
        retry_ratio: ratio,
        ..RetryBudgetConfig::default()
    });
    let mut hedging = match f.hedging {
        Some(false) => Hedging::off(),
        _ => Hedging::default(),
    };
    if let Some(max) = share(f.hedge_max_share, "hedge_max_share", p) {
        hedging.max_share = max;
    }
    let last_good = seconds(f.degrade_last_good_s, "degrade_last_good_s", p);
    let degradation = match (f.degrade_answer.clone(), last_good) {
        (None, None) => None,
        (Some(answer), None) => Some(Degradation::StaticAnswer(answer)),
        (None, Some(max_age)) => Some(Degradation::LastGood { max_age }),
        (Some(answer), Some(max_age)) => Some(Degradation::LastGoodOrStatic { max_age, answer }),
    };
    let parts = BuilderParts {
        strategy,
        wait_threshold: seconds(f.wait_threshold_s, "wait_threshold_s", p),
        retry_budget,
        hedging,
        degradation,
        endpoints: Vec::new(),
        aliases: Vec::new(),
        fallbacks: Vec::new(),
        max_retries: f.max_retries,
        deadline: seconds(f.deadline_s, "deadline_s", p),
        stream,
        ladder,
        idle_timeout: seconds(f.idle_timeout_s, "idle_timeout_s", p),
        breaker,
        breakers: Vec::new(),
        validation: None,
        learning: f.learning,
        policies,
        tiers: Vec::new(),
        schema_guard: None,
    };
    (p.0.len() == before).then_some(parts)
}

mod client;
mod defaults;
#[cfg(test)]
mod tests;
