//! `NeuralBridge::builder()`: endpoints, chains, policies and knobs, each
//! with a documented default.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use nb_breaker::{
    Backoff, CircuitBreakerConfig, ConfigError, RetryBudget, RetryBudgetConfig, SharedBreakers,
    SharedLimits,
};
use nb_diagnose::{DiagnosisEngine, ErrorCategory};
use nb_learn::{ClockAnchor, FlywheelEngine, PredictiveConfig, SharedLearning, StateStore};
use nb_route::{HealthPolicy, LoadBalancerConfig, LoadBalancingStrategy};
use nb_transport::{ApiKey, ChatCompletion, EndpointError, Transport, TransportError};

use crate::cache::LastGood;
use crate::client::NeuralBridge;
use crate::policy::{
    CategoryPolicy, DEFAULT_WAIT_THRESHOLD, Degradation, Hedging, PolicyTable, StreamPolicy, Tier,
    default_backoff,
};
use crate::shared::{Inner, Settings, Validator};
use crate::stream::DEFAULT_FINISH_GRACE;
use crate::target::{EndpointState, Registry, TargetDefaults};
use crate::time::{FAR, now};

mod endpoint;

pub use endpoint::EndpointConfig;
use endpoint::{KeySource, endpoint_state};

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An environment variable that should hold a key is not set (or empty).
    #[error("the environment variable {var} is not set")]
    MissingEnv {
        /// The variable's name.
        var: String,
    },
    /// An endpoint's URL (or Azure component, or extra header) is invalid.
    #[error("endpoint {endpoint}: {source}")]
    InvalidEndpoint {
        /// The endpoint's name.
        endpoint: String,
        /// What is wrong.
        #[source]
        source: EndpointError,
    },
    /// Two endpoints share a name.
    #[error("two endpoints are named {name:?}")]
    DuplicateEndpoint {
        /// The name.
        name: String,
    },
    /// No endpoint: neither `base_url` nor `endpoint` was given.
    #[error("no endpoint: set .base_url(..) or add one with .endpoint(..)")]
    NoEndpoint,
    /// A fallback model or chain entry cannot be resolved (an unknown
    /// endpoint after `@`, an unusable Azure deployment name).
    #[error("target {target:?}: {reason}")]
    InvalidTarget {
        /// The target as written.
        target: String,
        /// What is wrong.
        reason: String,
    },
    /// A chain was given no targets.
    #[error("the chain {name:?} has no targets")]
    EmptyChain {
        /// The chain's name.
        name: String,
    },
    /// No transport: the `hyper` feature is off and none was given.
    #[error("no transport: enable the `hyper` feature or pass one with .transport(..)")]
    NoTransport,
    /// The default transport could not be built.
    #[error("the HTTP transport could not be built: {0}")]
    Transport(#[source] TransportError),
    /// The breaker configuration is invalid.
    #[error("invalid breaker configuration: {0}")]
    Breaker(#[source] ConfigError),
    /// Another setting is invalid.
    #[error("invalid configuration: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
}

/// Builds a [`NeuralBridge`]. Every knob has a default; see each method.
pub struct NeuralBridgeBuilder {
    base_url: Option<String>,
    keys: Vec<KeySource>,
    endpoints: Vec<EndpointConfig>,
    fallback_models: Vec<String>,
    chains: Vec<(String, Vec<String>)>,
    windows: Vec<(String, u64)>,
    max_retries: u32,
    deadline: Duration,
    strategy: LoadBalancingStrategy,
    breaker: CircuitBreakerConfig,
    breakers: Vec<(String, CircuitBreakerConfig)>,
    backoff: Backoff,
    retry_budget: RetryBudgetConfig,
    ladder: Vec<Tier>,
    idle_timeout: Duration,
    finish_grace: Duration,
    wait_threshold: Duration,
    hedging: Hedging,
    policies: PolicyTable,
    stream_policy: StreamPolicy,
    tiers: Vec<(String, Vec<Arc<str>>)>,
    schema_guard: bool,
    validator: Option<Validator>,
    degradation: Option<Degradation>,
    learning: bool,
    predictive: PredictiveConfig,
    store: Option<Arc<dyn StateStore>>,
    shared: crate::fleet::Stores,
    transport: Option<Arc<dyn Transport>>,
    engine: Option<DiagnosisEngine>,
    verbose: bool,
    seed: Option<u64>,
}

impl fmt::Debug for NeuralBridgeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NeuralBridgeBuilder")
            .field("base_url", &self.base_url)
            .field("keys", &self.keys)
            .field("endpoints", &self.endpoints)
            .field("fallback_models", &self.fallback_models)
            .field("chains", &self.chains)
            .field("max_retries", &self.max_retries)
            .field("deadline", &self.deadline)
            .field("strategy", &self.strategy)
            .field("ladder", &self.ladder)
            .field("stream_policy", &self.stream_policy)
            .field("degradation", &self.degradation)
            .field("learning", &self.learning)
            .field("transport", &self.transport)
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

impl NeuralBridge {
    /// A builder with the documented defaults.
    pub fn builder() -> NeuralBridgeBuilder {
        NeuralBridgeBuilder::default()
    }
}

impl Default for NeuralBridgeBuilder {
    fn default() -> Self {
        Self {
            base_url: None,
            keys: Vec::new(),
            endpoints: Vec::new(),
            fallback_models: Vec::new(),
            chains: Vec::new(),
            windows: Vec::new(),
            max_retries: 2,
            deadline: Duration::from_secs(600),
            strategy: LoadBalancingStrategy::Fallback,
            breaker: CircuitBreakerConfig::default(),
            breakers: Vec::new(),
            backoff: default_backoff(),
            retry_budget: RetryBudgetConfig::default(),
            ladder: vec![Tier::Standard, Tier::Patient],
            idle_timeout: Duration::from_secs(30),
            finish_grace: DEFAULT_FINISH_GRACE,
            wait_threshold: DEFAULT_WAIT_THRESHOLD,
            hedging: Hedging::default(),
            policies: PolicyTable::default(),
            stream_policy: StreamPolicy::Error,
            tiers: Vec::new(),
            schema_guard: true,
            validator: None,
            degradation: None,
            learning: true,
            predictive: PredictiveConfig::default(),
            store: None,
            shared: crate::fleet::Stores::default(),
            transport: None,
            engine: None,
            verbose: false,
            seed: None,
        }
    }
}

impl NeuralBridgeBuilder {
    /// The key of the default endpoint (the one [`base_url`](Self::base_url)
    /// names); call again for a key pool.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.keys.push(KeySource::Literal(key.into()));
        self
    }

    /// The default endpoint's key, read from `var` at build (a missing or
    /// empty variable is [`BuildError::MissingEnv`]).
    #[must_use]
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.keys.push(KeySource::Env(var.into()));
        self
    }

    /// The default endpoint (named `"default"`): an OpenAI-compatible base
    /// URL. Models no endpoint lists go here.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Another endpoint. Without [`base_url`](Self::base_url), the first
    /// endpoint added is the default.
    #[must_use]
    pub fn endpoint(mut self, endpoint: EndpointConfig) -> Self {
        self.endpoints.push(endpoint);
        self
    }

    /// The models tried, in order, after the one a request asks for
    /// (without repeating it). A model may be `model@endpoint`, so the chain
    /// can cross endpoints. Default: none.
    #[must_use]
    pub fn fallback_models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fallback_models = models.into_iter().map(Into::into).collect();
        self
    }

    /// An explicit chain for requests asking for `name` (a model or an
    /// alias): exactly these targets, in order, instead of `[name] +
    /// fallback_models`.
    #[must_use]
    pub fn chain<I, S>(mut self, name: impl Into<String>, targets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.chains
            .push((name.into(), targets.into_iter().map(Into::into).collect()));
        self
    }

    /// The context window of a model (or `model@endpoint`), in tokens.
    #[must_use]
    pub fn context_window(mut self, target: impl Into<String>, tokens: u64) -> Self {
        self.windows.push((target.into(), tokens));
        self
    }

    /// Retries on the same target per call, at most (a policy can only
    /// lower it). Default: 2.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The deadline of a whole call, across retries and fallbacks (for a
    /// stream: until content flows; a `Continue` continuation after an
    /// interruption gets a fresh one to reach content again; after that,
    /// [`idle_timeout`](Self::idle_timeout) bounds each wait). It is also
    /// the only bound on a non-streamed answer, whose response arrives
    /// once it is generated: long outputs and reasoning models take
    /// minutes, and a hang is caught by a hedge, not by a short timeout.
    /// Default: 600 s, as the official OpenAI and Anthropic SDKs.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// How a chain's balancer picks among available targets. Default:
    /// [`Fallback`](LoadBalancingStrategy::Fallback), chain order: the
    /// caller named a primary, so it serves whenever its breaker, its rate
    /// limit and the predictor let it. (The balancer's own health-score
    /// exclusion is off: the breaker is the one rule that takes a target
    /// out of rotation, visibly and until a probe succeeds.)
    #[must_use]
    pub fn strategy(mut self, strategy: LoadBalancingStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Each target's circuit breaker. Default: nb-breaker's
    /// (`CircuitBreakerConfig::default()`): open at a 50 % failure rate
    /// over 10 s (at least 10 calls, judged by the 95 % lower bound) or 20
    /// failures in a row, first open 2 s, each open at least a quarter of
    /// the incident's age (up to 5 min), 2 probes to close.
    #[must_use]
    pub fn breaker(mut self, config: CircuitBreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// The circuit breaker of one model (every endpoint's) or of one
    /// `model@endpoint`, instead of its endpoint's or the client's. The
    /// most specific wins: `model@endpoint`, then the model, then the
    /// endpoint ([`EndpointConfig::breaker`]), then [`breaker`](Self::breaker).
    #[must_use]
    pub fn breaker_for(mut self, target: impl Into<String>, config: CircuitBreakerConfig) -> Self {
        self.breakers.push((target.into(), config));
        self
    }

    /// The delay before retrying a target. Default: [`default_backoff`].
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The retry budget shared by every call (retries at most a ratio of
    /// recent calls). Default: tower's, 20% plus 10 per second.
    #[must_use]
    pub fn retry_budget(mut self, config: RetryBudgetConfig) -> Self {
        self.retry_budget = config;
        self
    }

    /// The first-token deadline of each attempt of a stream (and the
    /// timeout of an operation under [`heal`](NeuralBridge::heal)), by its
    /// position; the last tier repeats. Default: `[Standard, Patient]` from
    /// each endpoint's provider profile. A non-streamed completion has no
    /// tier: its answer's head arrives only once it is generated, so it is
    /// bounded by the [`deadline`](Self::deadline) and caught by a hedge
    /// when it hangs. Every attempt's connect deadline is the profile's
    /// `fast_fail` tier.
    #[must_use]
    pub fn timeout_ladder<I: IntoIterator<Item = Tier>>(mut self, ladder: I) -> Self {
        self.ladder = ladder.into_iter().collect();
        self
    }

    /// The longest silence between two chunks of a stream (or of a body)
    /// before it counts as stalled. Default: 30 s.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a stream that sent its finish reason waits for the usage
    /// chunk and `[DONE]` before completing anyway. Default: 1 s.
    #[must_use]
    pub fn finish_grace(mut self, grace: Duration) -> Self {
        self.finish_grace = grace;
        self
    }

    /// The longest server-given wait (Retry-After and the like) that is
    /// waited out on the same target even though another target is
    /// available: a wait this short costs less than a fallback's latency
    /// and keeps the call on the model it asked for. A longer wait sends
    /// the call elsewhere at once. Default: 500 ms.
    #[must_use]
    pub fn wait_threshold(mut self, threshold: Duration) -> Self {
        self.wait_threshold = threshold;
        self
    }

    /// Whether answers to requests with a JSON schema (`response_format`,
    /// tools' parameters) are checked against it: an answer off the schema
    /// is a `malformed_response` of sub-category `schema_violation`,
    /// fallen back from like any other. Needs the `schema` feature (without
    /// it nothing is checked). Default: on.
    #[must_use]
    pub fn schema_guard(mut self, on: bool) -> Self {
        self.schema_guard = on;
        self
    }

    /// Declares a capability tier: models that may stand in for each other
    /// in a request held to [`Fallback::SameTier`](crate::policy::Fallback::SameTier)
    /// (say `"frontier"`: `["gpt-4o", "claude-sonnet-4-5"]`). A model may
    /// be in several tiers; its peers are all of theirs. Declaring a name
    /// again replaces it. Default: none.
    #[must_use]
    pub fn capability_tier<I, S>(mut self, name: impl Into<String>, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let name = name.into();
        let models = models.into_iter().map(|m| Arc::from(m.as_ref())).collect();
        self.tiers.retain(|(n, _)| *n != name);
        self.tiers.push((name, models));
        self
    }

    /// Delayed hedging of slow and hung attempts (see [`Hedging`]).
    /// Default: on, with [`Hedging::default`]'s delays and budget.
    #[must_use]
    pub fn hedging(mut self, hedging: Hedging) -> Self {
        self.hedging = hedging;
        self
    }

    /// The action after a failure of `category`, instead of the default
    /// (see [`CategoryPolicy::default_for`]).
    #[must_use]
    pub fn policy(mut self, category: ErrorCategory, policy: CategoryPolicy) -> Self {
        self.policies.set(category, policy);
        self
    }

    /// What a stream does when it fails after content. Default:
    /// [`StreamPolicy::Error`].
    #[must_use]
    pub fn stream_policy(mut self, policy: StreamPolicy) -> Self {
        self.stream_policy = policy;
        self
    }

    /// A validator for non-streamed completions: an `Err(reason)` makes the
    /// response a `malformed_response`, retried or fallen back like one.
    #[must_use]
    pub fn validate<F>(mut self, validator: F) -> Self
    where
        F: Fn(&ChatCompletion) -> Result<(), String> + Send + Sync + 'static,
    {
        self.validator = Some(Arc::new(validator));
        self
    }

    /// Graceful degradation when every candidate fails. Default: off.
    #[must_use]
    pub fn degrade(mut self, degradation: Degradation) -> Self {
        self.degradation = Some(degradation);
        self
    }

    /// Whether the learner learns recurring patterns and the predictor may
    /// skip targets it expects to fail. Outcomes are recorded for
    /// [`health_status`](NeuralBridge::health_status) either way. Default: on.
    #[must_use]
    pub fn learning(mut self, on: bool) -> Self {
        self.learning = on;
        self
    }

    /// The predictor's configuration (its `degradation_threshold` is the
    /// probability at which a target is skipped). Default: nb-learn's.
    #[must_use]
    pub fn predictive_config(mut self, config: PredictiveConfig) -> Self {
        self.predictive = config;
        self
    }

    /// Where learned state is kept: loaded at build (a failure is logged,
    /// not fatal), saved by [`NeuralBridge::save_state`].
    #[must_use]
    pub fn state_store(mut self, store: impl StateStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Shares this client's breakers with the other replicas of a fleet
    /// through `store` (`nb-redis`'s `RedisStore`, say): an outage one
    /// replica sees opens the breaker of every replica within a second,
    /// one replica probes when the open time ends, and the fleet closes
    /// with its verdict. A background task does the talking (every 250 ms,
    /// each call bounded at 200 ms); requests never wait on the store, and
    /// while it is down every replica runs on its own breakers.
    #[must_use]
    pub fn shared_breakers(mut self, store: impl SharedBreakers + 'static) -> Self {
        self.shared.breakers = Some(Arc::new(store));
        self
    }

    /// Holds every configured rate limit (`rate_limits` of an endpoint)
    /// across the replicas of a fleet together, through `store`
    /// (`nb-redis`'s `RedisStore`, say): a limit of 600 requests per
    /// minute is 600 for the fleet, not 600 per replica. Each replica
    /// leases batches of the limit from the store in the background and
    /// spends them locally, so a request never waits on the store; a
    /// provider's `Retry-After` or exhausted rate-limit headers pause the
    /// whole fleet. While the store is down each replica holds the limits
    /// on its own (fail-open, as Envoy's rate-limit filter does by
    /// default).
    #[must_use]
    pub fn shared_limits(mut self, store: impl SharedLimits + 'static) -> Self {
        self.shared.limits = Some(Arc::new(store));
        self
    }

    /// Adds what this client learns to a fleet's learning through `store`
    /// (`nb-redis`'s `RedisStore`, say), and learns from every replica's
    /// outcomes in turn: at start, then every 10 s, a background task sends
    /// the counters learned since the last exchange and takes in the
    /// fleet's sum. The store keeps it across restarts, so a restarted
    /// replica knows the learned patterns at once. A state loaded from a
    /// [`state_store`](Self::state_store) is added to the fleet's at the
    /// first exchange.
    #[must_use]
    pub fn shared_learning(mut self, store: impl SharedLearning + 'static) -> Self {
        self.shared.learning = Some(Arc::new(store));
        self
    }

    /// Shares breakers, rate limits and learning
    /// ([`shared_breakers`](Self::shared_breakers),
    /// [`shared_limits`](Self::shared_limits),
    /// [`shared_learning`](Self::shared_learning)) through one store.
    #[must_use]
    pub fn shared_state(
        mut self,
        store: impl SharedBreakers + SharedLimits + SharedLearning + 'static,
    ) -> Self {
        let store = Arc::new(store);
        self.shared.breakers = Some(store.clone());
        self.shared.limits = Some(store.clone());
        self.shared.learning = Some(store);
        self
    }

    /// The transport. Default: `HyperTransport` (feature `hyper`).
    #[must_use]
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// A diagnosis engine with your own rules. The client reads failures
    /// with its rules alone, whatever its `guess_from_words` says.
    #[must_use]
    pub fn diagnosis_engine(mut self, engine: DiagnosisEngine) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Print one line per attempt to stderr (model, endpoint, category,
    /// latency, what happens next; never a key). Default: off.
    #[must_use]
    pub fn verbose(mut self, on: bool) -> Self {
        self.verbose = on;
        self
    }

    /// Seeds the jitter and the balancer, for reproducible tests.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builds the client: reads key variables, checks every URL, endpoint
    /// name and chain, and loads learned state.
    pub fn build(self) -> Result<NeuralBridge, BuildError> {
        let endpoints = self.endpoint_states()?;
        self.breaker.validate().map_err(BuildError::Breaker)?;
        for config in self
            .breakers
            .iter()
            .map(|(_, c)| c)
            .chain(self.endpoints.iter().filter_map(|e| e.breaker.as_ref()))
        {
            config.validate().map_err(BuildError::Breaker)?;
        }
        let threshold = self.predictive.degradation_threshold;
        let (instant, wall) = (now(), SystemTime::now());
        let anchor = ClockAnchor::new(instant, wall);
        let mut learner = FlywheelEngine::builder()
            .predictive_config(self.predictive)
            .enable_learning(self.learning)
            .clock_anchor(instant, wall);
        if let Some(store) = self.store {
            learner = learner.store(store, "neuralbridge");
        }
        let learner = learner.build();
        if let Err(e) = learner.load() {
            tracing::warn!("learned state not loaded: {e}");
        }
        let predictor = learner.predictor();
        let mut overrides = HashMap::new();
        for (name, targets) in &self.chains {
            if targets.is_empty() {
                return Err(BuildError::EmptyChain { name: name.clone() });
            }
            overrides.insert(name.clone(), targets.clone());
        }
        let registry = Registry::new(
            endpoints,
            0,
            self.fallback_models.clone(),
            overrides,
            TargetDefaults {
                breaker: self.breaker.clone(),
                // The breaker is the one thing that takes a target out of
                // rotation (visibly, with an end); the balancer's stats
                // weigh and order the targets, and its own health-score
                // exclusion is off, so that a slow target with a few
                // faults is not dropped by a second, unreported rule.
                balancer: LoadBalancerConfig {
                    strategy: self.strategy,
                    health_check_interval: self.breaker.recovery_timeout,
                    predictive_threshold: threshold,
                    seed: self.seed,
                    health: HealthPolicy {
                        max_excluded_fraction: 0.0,
                        ..HealthPolicy::default()
                    },
                    ..LoadBalancerConfig::default()
                },
                windows: self.windows.iter().cloned().collect(),
                breakers: self.breakers.iter().cloned().collect(),
                predictor: (self.strategy == LoadBalancingStrategy::Predictive)
                    .then(|| Arc::clone(&predictor)),
            },
        );
        // Every configured name must resolve now, not at the first call; the
        // health report lists their targets from the start.
        let names = self
            .fallback_models
            .iter()
            .chain(self.chains.iter().map(|(name, _)| name))
            .chain(registry.endpoints.iter().flat_map(|e| e.models.iter()));
        for name in names {
            let chain = registry
                .chain(name)
                .map_err(|reason| BuildError::InvalidTarget {
                    target: name.clone(),
                    reason,
                })?;
            for target in &chain.targets {
                predictor.register(&target.name);
            }
        }
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport()?,
        };
        let last_good = self
            .degradation
            .as_ref()
            .and_then(Degradation::max_age)
            .map(|_| LastGood::default());
        let inner = Inner {
            registry,
            transport,
            // The cascade acts only on what a rule or a status read, and on
            // the cut it saw, even with an engine given guesses: a guess
            // from words is wrong often enough (a text's two times in three
            // on samples sealed after the model was built) to set a model
            // aside or end a call for nothing.
            engine: self.engine.unwrap_or_default().guess_from_words(false),
            learner,
            predictor: self.learning.then_some((predictor, threshold)),
            budget: RetryBudget::new(self.retry_budget),
            // A minute: longer than a hedge delay, so the calls that fund
            // a hedge are still counted when it is due.
            hedge_budget: RetryBudget::new(RetryBudgetConfig {
                ttl: Duration::from_secs(60),
                min_retries_per_second: 1,
                retry_ratio: self.hedging.max_share.clamp(0.0, 1.0),
            }),
            // No free allowance: a hedge that pays for a second generation
            // is always earned by calls.
            generating_hedge_budget: RetryBudget::new(RetryBudgetConfig {
                ttl: Duration::from_secs(60),
                min_retries_per_second: 0,
                retry_ratio: self.hedging.max_generating_share.clamp(0.0, 1.0),
            }),
            settings: Settings {
                max_retries: self.max_retries,
                deadline: self.deadline,
                backoff: self.backoff,
                ladder: self.ladder,
                idle_timeout: self.idle_timeout.min(FAR),
                finish_grace: self.finish_grace,
                wait_threshold: self.wait_threshold,
                hedging: self.hedging,
                policies: self.policies,
                stream_policy: self.stream_policy,
                verbose: self.verbose,
                tiers: self.tiers,
                schema_guard: self.schema_guard,
            },
            validator: self.validator,
            degradation: self.degradation,
            last_good,
            anchor,
            seed: self.seed,
            calls: AtomicU64::new(0),
            fleet: crate::fleet::Fleet::new(self.shared),
            schemas: crate::guard::compiled::Cache::default(),
        };
        let inner = Arc::new(inner);
        if inner.fleet.is_some() {
            inner.registry.prepare_listed();
        }
        crate::fleet::ensure_started(&inner);
        Ok(NeuralBridge { inner })
    }

    /// The endpoints, the default first, with keys read and URLs checked.
    fn endpoint_states(&self) -> Result<Vec<Arc<EndpointState>>, BuildError> {
        let mut configs = Vec::new();
        match &self.base_url {
            Some(url) => {
                let mut default = EndpointConfig::openai_compatible("default", url.clone());
                default.keys = self.keys.clone();
                configs.push(default);
            }
            None if !self.keys.is_empty() => {
                return Err(BuildError::Invalid {
                    reason: "a key was given without .base_url(..); give endpoints their own keys"
                        .to_owned(),
                });
            }
            None => {}
        }
        configs.extend(self.endpoints.iter().cloned());
        if configs.is_empty() {
            return Err(BuildError::NoEndpoint);
        }
        let mut states = Vec::with_capacity(configs.len());
        for (index, config) in configs.into_iter().enumerate() {
            if states
                .iter()
                .any(|s: &Arc<EndpointState>| *s.name == *config.name)
            {
                return Err(BuildError::DuplicateEndpoint { name: config.name });
            }
            states.push(Arc::new(endpoint_state(index, config)?));
        }
        Ok(states)
    }
}

#[cfg(feature = "hyper")]
fn default_transport() -> Result<Arc<dyn Transport>, BuildError> {
    nb_transport::HyperTransport::new()
        .map(|t| Arc::new(t) as Arc<dyn Transport>)
        .map_err(BuildError::Transport)
}

#[cfg(not(feature = "hyper"))]
fn default_transport() -> Result<Arc<dyn Transport>, BuildError> {
    Err(BuildError::NoTransport)
}
