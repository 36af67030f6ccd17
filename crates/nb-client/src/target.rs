//! Endpoints, targets ("model M at endpoint E") and fallback chains, and the
//! registry that resolves a model name to its chain.
//!
//! The hot path is one lock-free read: [`Registry::chain`] looks the
//! request's model up in an `ArcSwap`ed map of chains. Chains and targets
//! for models first seen at call time are built under a mutex and published
//! copy-on-write; their number is capped so that arbitrary model names
//! cannot grow memory without bound.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use nb_breaker::{CircuitBreaker, CircuitBreakerConfig, RateLimiter, RateLimits};
use nb_diagnose::{Provider, ProviderProfile, detect_provider, get_profile};
use nb_learn::PredictiveEngine;
use nb_route::{LoadBalancer, LoadBalancerConfig, Predictor, Target};
use nb_transport::{ApiKey, Endpoint, EndpointError, EndpointKind};

/// Most chains (and targets) built for model names first seen at call time.
/// Beyond it, calls still work, with a chain built for the call alone.
pub(crate) const MAX_DYNAMIC: usize = 1024;

/// Most keys in one endpoint's pool (a call tracks the keys it tried in a `u64`).
pub(crate) const MAX_KEYS: usize = 64;

/// How an endpoint shapes its URL.
#[derive(Debug)]
pub(crate) enum Shape {
    /// One URL for every model (OpenAI-compatible or Anthropic's).
    OpenAi(Box<Endpoint>),
    /// One deployment per model.
    Azure {
        resource_url: String,
        api_version: String,
    },
    /// Gemini: one URL per model.
    Gemini { base_url: String },
}

/// An endpoint as the running client keeps it.
pub(crate) struct EndpointState {
    pub(crate) index: usize,
    pub(crate) name: Arc<str>,
    pub(crate) base_url: Arc<str>,
    pub(crate) shape: Shape,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) keys: Vec<ApiKey>,
    active_key: AtomicUsize,
    pub(crate) provider: Option<Provider>,
    pub(crate) profile: Option<ProviderProfile>,
    pub(crate) supports_prefill: Option<bool>,
    pub(crate) rate_limits: RateLimits,
    pub(crate) models: Vec<String>,
    pub(crate) windows: HashMap<String, u64>,
    /// The breaker of this endpoint's targets, if not the client's.
    pub(crate) breaker: Option<CircuitBreakerConfig>,
}

impl fmt::Debug for EndpointState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointState")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("keys", &self.keys.len())
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}

impl EndpointState {
    /// The protocol this endpoint speaks.
    pub(crate) fn protocol(&self) -> EndpointKind {
        match &self.shape {
            Shape::OpenAi(endpoint) => endpoint.kind(),
            Shape::Azure { .. } => EndpointKind::Azure,
            Shape::Gemini { .. } => EndpointKind::Gemini,
        }
    }

    #[allow(clippy::too_many_arguments)] // built in one place, from the builder's config
    pub(crate) fn new(
        index: usize,
        name: Arc<str>,
        base_url: Arc<str>,
        shape: Shape,
        headers: Vec<(String, String)>,
        keys: Vec<ApiKey>,
        provider: Option<Provider>,
        profile: Option<ProviderProfile>,
        supports_prefill: Option<bool>,
        rate_limits: RateLimits,
        models: Vec<String>,
        windows: HashMap<String, u64>,
        breaker: Option<CircuitBreakerConfig>,
    ) -> Self {
        Self {
            index,
            name,
            base_url,
            shape,
            headers,
            keys,
            active_key: AtomicUsize::new(0),
            provider,
            profile,
            supports_prefill,
            rate_limits,
            models,
            windows,
            breaker,
        }
    }

    /// The index of the key in use, if the endpoint has keys.
    pub(crate) fn active_key(&self) -> Option<usize> {
        (!self.keys.is_empty()).then(|| self.active_key.load(Ordering::Relaxed) % self.keys.len())
    }

    /// Moves the endpoint from key `from` to the first key after it that is
    /// not in `tried` (a bit per key index; pools hold at most
    /// [`MAX_KEYS`] keys); returns the key now in use, or `None` when every
    /// key was tried. Concurrent calls that saw the same key fail rotate
    /// once between them.
    pub(crate) fn rotate_key(&self, from: usize, tried: u64) -> Option<usize> {
        let n = self.keys.len().min(MAX_KEYS);
        let next = (1..n)
            .map(|step| (from + step) % n)
            .find(|&k| tried & (1 << k) == 0)?;
        match self
            .active_key
            .compare_exchange(from, next, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => Some(next),
            // Someone rotated already: use their choice if this call has not tried it.
            Err(current) => {
                let current = current % n;
                if tried & (1 << current) != 0 {
                    Some(next)
                } else {
                    Some(current)
                }
            }
        }
    }

    /// The transport endpoint for `model`. (The builder checked the URL,
    /// the version and the headers with a probe deployment.)
    fn wire(&self, model: &str) -> Result<Endpoint, String> {
        match &self.shape {
            Shape::OpenAi(endpoint) => Ok(Endpoint::clone(endpoint)),
            Shape::Azure {
                resource_url,
                api_version,
            } => Endpoint::azure(resource_url, model, api_version)
                .and_then(|endpoint| with_headers(endpoint, &self.headers)),
            Shape::Gemini { base_url } => Endpoint::gemini(base_url, model)
                .and_then(|endpoint| with_headers(endpoint, &self.headers)),
        }
        .map_err(|e| {
            format!(
                "endpoint {}: deployment {model:?} is not usable: {e}",
                self.name
            )
        })
    }
}

/// `endpoint` with an endpoint's configured headers.
pub(crate) fn with_headers(
    endpoint: Endpoint,
    headers: &[(String, String)],
) -> Result<Endpoint, EndpointError> {
    headers
        .iter()
        .try_fold(endpoint, |endpoint, (name, value)| {
            endpoint.with_header(name, value)
        })
}

/// One target: a model at an endpoint, with its breaker and rate limiter.
pub(crate) struct TargetState {
    pub(crate) id: u32,
    /// The routing name: the model, or `model@endpoint` when the model's
    /// bare name resolves to another endpoint.
    pub(crate) name: Arc<str>,
    /// The model on the wire.
    pub(crate) model: Arc<str>,
    pub(crate) endpoint: Arc<EndpointState>,
    pub(crate) wire: Endpoint,
    pub(crate) provider: Provider,
    pub(crate) profile: ProviderProfile,
    pub(crate) breaker: Arc<CircuitBreaker>,
    pub(crate) limiter: RateLimiter,
    pub(crate) context_window: Option<u64>,
    /// The predictor's last answer for this target, reused for a second.
    pub(crate) prediction: PredictionCache,
    /// The traffic ramp after the target comes back.
    pub(crate) slow_start: SlowStart,
    /// Its successful latencies, for the hedge delay.
    pub(crate) hedge_delays: HedgeDelays,
}

/// What a success measures for a target's hedge delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HedgeKind {
    /// A whole non-streamed answer.
    Completion,
    /// A stream's first content.
    FirstToken,
}

/// A target's successful latencies of one kind, as TCP's retransmission
/// timer estimates round trips (Jacobson): a smoothed mean and a smoothed
/// mean deviation, whose `srtt + 4 × rttvar` sits above nearly every
/// normal latency. One atomic word, `srtt_us << 32 | rttvar_us` (0: no
/// sample); racing updates may lose one sample, which an estimate can
/// afford.
#[derive(Debug, Default)]
pub(crate) struct LatencyEstimate {
    word: AtomicU64,
}

impl LatencyEstimate {
    /// Adds one successful latency.
    pub(crate) fn record(&self, latency: Duration) {
        let x = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, u64::from(u32::MAX));
        let word = self.word.load(Ordering::Relaxed);
        let (srtt, rttvar) = if word == 0 {
            (x, x / 2)
        } else {
            let (srtt, rttvar) = (word >> 32, word & u64::from(u32::MAX));
            ((7 * srtt + x) / 8, (3 * rttvar + srtt.abs_diff(x)) / 4)
        };
        // Both fit in 32 bits: averages of values that do.
        self.word
            .store(srtt.max(1) << 32 | rttvar, Ordering::Relaxed);
    }

    /// The hedge delay: `srtt + 4 × rttvar` within `min..=max`, or `None`
    /// without a sample.
    pub(crate) fn delay(&self, min: Duration, max: Duration) -> Option<Duration> {
        let word = self.word.load(Ordering::Relaxed);
        if word == 0 {
            return None;
        }
        let (srtt, rttvar) = (word >> 32, word & u64::from(u32::MAX));
        Some(Duration::from_micros(srtt + 4 * rttvar).clamp(min, max.max(min)))
    }
}

/// A target's latency estimates, one per kind of attempt.
#[derive(Debug, Default)]
pub(crate) struct HedgeDelays {
    completion: LatencyEstimate,
    first_token: LatencyEstimate,
}

impl HedgeDelays {
    pub(crate) fn of(&self, kind: HedgeKind) -> &LatencyEstimate {
        match kind {
            HedgeKind::Completion => &self.completion,
            HedgeKind::FirstToken => &self.first_token,
        }
    }
}

/// How long a target that comes back from an exclusion (its breaker closed
/// after successful probes) takes to get its whole share of traffic back.
pub(crate) const SLOW_START_WINDOW: Duration = Duration::from_secs(3);

/// The share of picks a returning target gets at the start of its ramp.
const SLOW_START_FLOOR: f64 = 0.2;

/// Envoy's slow start, for a target back from an outage: its share of the
/// picks that would choose it rises linearly from 20 % to all of them over
/// [`SLOW_START_WINDOW`], so a provider that just recovered is not hit by
/// every waiting caller at once, and a relapse costs a fraction of the
/// traffic. Lock-free: one word, the ramp's start in ms since `created`
/// plus one (0: not ramping).
#[derive(Debug)]
pub(crate) struct SlowStart {
    created: Instant,
    started: AtomicU64,
}

impl SlowStart {
    pub(crate) fn new(created: Instant) -> Self {
        Self {
            created,
            started: AtomicU64::new(0),
        }
    }

    fn ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.created).as_millis())
            .unwrap_or(u64::MAX - 1)
            + 1
    }

    /// Starts the ramp at `now`.
    pub(crate) fn start(&self, now: Instant) {
        self.started.store(self.ms(now), Ordering::Relaxed);
    }

    /// The share of picks the target gets at `now` (1 when not ramping).
    pub(crate) fn share(&self, now: Instant) -> f64 {
        let started = self.started.load(Ordering::Relaxed);
        if started == 0 {
            return 1.0;
        }
        let window = SLOW_START_WINDOW.as_millis() as f64;
        let elapsed = self.ms(now).saturating_sub(started) as f64;
        if elapsed >= window {
            // Done: later picks skip the arithmetic (a racing restart wins).
            let _ = self
                .started
                .compare_exchange(started, 0, Ordering::Relaxed, Ordering::Relaxed);
            return 1.0;
        }
        SLOW_START_FLOOR + (1.0 - SLOW_START_FLOOR) * elapsed / window
    }
}

/// How often a target the predictor skips still gets one call: the probe
/// whose outcome is the evidence that talks a forecast down (two successes
/// in the forecast hour bring a strong one under the threshold).
pub(crate) const PREDICTION_PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// A failure probability cached for [`PredictionCache::TTL`], so that
/// selection does not take the learner's per-model lock on every call (a
/// forecast moves on a scale of minutes). Lock-free: the probability (as
/// `f32` bits) and the tick it was computed at share one atomic word; two
/// racing refreshes both store a fresh value.
#[derive(Debug)]
pub(crate) struct PredictionCache {
    created: Instant,
    /// `probability bits << 32 | tick + 1` (0: empty); a tick is 100 ms
    /// since `created`.
    word: AtomicU64,
    /// When the last probe past a skip was admitted, in ms since `created`
    /// plus one (0: never).
    last_probe: AtomicU64,
}

impl PredictionCache {
    /// How long a prediction is reused, in ticks of 100 ms.
    const TTL: u64 = 10;

    pub(crate) fn new(created: Instant) -> Self {
        Self {
            created,
            word: AtomicU64::new(0),
            last_probe: AtomicU64::new(0),
        }
    }

    /// Whether a call may go to the target despite a forecast that skips
    /// it: once per [`PREDICTION_PROBE_INTERVAL`], for one caller.
    pub(crate) fn admit_probe(&self, now: Instant) -> bool {
        let ms = u64::try_from(now.saturating_duration_since(self.created).as_millis())
            .unwrap_or(u64::MAX - 1)
            + 1;
        let last = self.last_probe.load(Ordering::Relaxed);
        let interval = PREDICTION_PROBE_INTERVAL.as_millis() as u64;
        (last == 0 || ms.saturating_sub(last) >= interval)
            && self
                .last_probe
                .compare_exchange(last, ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// The cached probability at `now`, or `compute()`'s, stored.
    pub(crate) fn get(&self, now: Instant, compute: impl FnOnce() -> f64) -> f64 {
        let ms = now.saturating_duration_since(self.created).as_millis();
        let tick = u64::try_from(ms / 100)
            .unwrap_or(u64::MAX >> 32)
            .min(u64::from(u32::MAX - 1));
        let word = self.word.load(Ordering::Relaxed);
        let stored = word & u64::from(u32::MAX);
        if stored != 0 && tick.saturating_sub(stored - 1) < Self::TTL && stored - 1 <= tick {
            return f64::from(f32::from_bits((word >> 32) as u32));
        }
        let p = compute();
        // `as` keeps the nearest f32; probabilities need no more precision.
        let bits = u64::from((p as f32).to_bits());
        self.word.store(bits << 32 | (tick + 1), Ordering::Relaxed);
        p
    }
}

/// A cheap handle on a target (an `Arc`); equal when it is the same target.
#[derive(Clone)]
pub(crate) struct TargetId(Arc<TargetState>);

impl std::ops::Deref for TargetId {
    type Target = TargetState;

    fn deref(&self) -> &TargetState {
        &self.0
    }
}

impl PartialEq for TargetId {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for TargetId {}

impl Hash for TargetId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}

impl fmt::Debug for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.model, self.endpoint.name)
    }
}

impl Target for TargetId {
    fn name(&self) -> &str {
        &self.0.name
    }
}

/// The targets a call for one model may use, in priority order, and the
/// balancer that chooses among them.
#[derive(Debug)]
pub(crate) struct Chain {
    pub(crate) targets: Vec<TargetId>,
    pub(crate) balancer: LoadBalancer<TargetId>,
}

/// Settings every target and chain is built with.
#[derive(Debug, Clone)]
pub(crate) struct TargetDefaults {
    pub(crate) breaker: CircuitBreakerConfig,
    pub(crate) balancer: LoadBalancerConfig,
    /// Context windows given on the client builder, by target spec.
    pub(crate) windows: HashMap<String, u64>,
    /// Breakers given on the client builder, by target spec.
    pub(crate) breakers: HashMap<String, CircuitBreakerConfig>,
    /// The predictor of the `Predictive` strategy, installed on every chain.
    pub(crate) predictor: Option<Arc<PredictiveEngine>>,
}

/// Endpoints, targets and chains.
pub(crate) struct Registry {
    pub(crate) endpoints: Vec<Arc<EndpointState>>,
    default_endpoint: usize,
    fallbacks: Vec<String>,
    overrides: HashMap<String, Vec<String>>,
    defaults: TargetDefaults,
    /// Targets by `model@endpoint`.
    targets: ArcSwap<HashMap<Box<str>, TargetId>>,
    /// Chains by the model name a request asks for.
    chains: ArcSwap<HashMap<Box<str>, Arc<Chain>>>,
    /// Chains of one model on every endpoint serving it (embeddings).
    same_model_chains: ArcSwap<HashMap<Box<str>, Arc<Chain>>>,
    /// Serialises building targets and chains (never taken on a hit).
    grow: Mutex<()>,
    next_id: AtomicU32,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("endpoints", &self.endpoints)
            .field("fallbacks", &self.fallbacks)
            .field("targets", &self.targets.load().len())
            .field("chains", &self.chains.load().len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    pub(crate) fn new(
        endpoints: Vec<Arc<EndpointState>>,
        default_endpoint: usize,
        fallbacks: Vec<String>,
        overrides: HashMap<String, Vec<String>>,
        defaults: TargetDefaults,
    ) -> Self {
        Self {
            endpoints,
            default_endpoint,
            fallbacks,
            overrides,
            defaults,
            targets: ArcSwap::from_pointee(HashMap::new()),
            chains: ArcSwap::from_pointee(HashMap::new()),
            same_model_chains: ArcSwap::from_pointee(HashMap::new()),
            grow: Mutex::new(()),
            next_id: AtomicU32::new(0),
        }
    }

    /// The endpoint named `name`.
    fn endpoint_named(&self, name: &str) -> Option<&Arc<EndpointState>> {
        self.endpoints.iter().find(|e| &*e.name == name)
    }

    /// The endpoint a bare model name goes to: the first that lists it,
    /// else the default one.
    fn home_of(&self, model: &str) -> &Arc<EndpointState> {
        self.endpoints
            .iter()
            .find(|e| e.models.iter().any(|m| m == model))
            .unwrap_or(&self.endpoints[self.default_endpoint])
    }

    /// Splits a target spec, `model` or `model@endpoint`, into its endpoint
    /// and model.
    pub(crate) fn resolve<'s>(
        &self,
        spec: &'s str,
    ) -> Result<(&Arc<EndpointState>, &'s str), String> {
        match spec.rsplit_once('@') {
            Some((model, endpoint)) => {
                if model.is_empty() {
                    return Err(format!("{spec:?} names no model"));
                }
                let e = self.endpoint_named(endpoint).ok_or_else(|| {
                    format!("{spec:?} names the endpoint {endpoint:?}, which is not configured")
                })?;
                Ok((e, model))
            }
            None if spec.is_empty() => Err("the request names no model".to_owned()),
            None => Ok((self.home_of(spec), spec)),
        }
    }

    /// The chain for requests asking for `model`. One lock-free map read
    /// when the chain exists.
    pub(crate) fn chain(&self, model: &str) -> Result<Arc<Chain>, String> {
        self.cached(&self.chains, model, Self::build_chain)
    }

    /// The chain of `model` itself on every endpoint that lists it (the
    /// model's home endpoint when none does; only that endpoint for
    /// `model@endpoint`): never another model. For embeddings, whose
    /// vectors are comparable only within one model.
    pub(crate) fn same_model_chain(&self, model: &str) -> Result<Arc<Chain>, String> {
        self.cached(&self.same_model_chains, model, Self::build_same_model_chain)
    }

    /// The chain for `model` in `chains`, built (and kept, up to a cap) on
    /// a miss. One lock-free map read on a hit.
    fn cached(
        &self,
        chains: &ArcSwap<HashMap<Box<str>, Arc<Chain>>>,
        model: &str,
        build: impl FnOnce(&Self, &str) -> Result<Chain, String>,
    ) -> Result<Arc<Chain>, String> {
        if let Some(chain) = chains.load().get(model) {
            return Ok(Arc::clone(chain));
        }
        let _grow = self.grow.lock().unwrap_or_else(PoisonError::into_inner);
        let current = chains.load_full();
        if let Some(chain) = current.get(model) {
            return Ok(Arc::clone(chain));
        }
        let chain = Arc::new(build(self, model)?);
        if current.len() < MAX_DYNAMIC + self.overrides.len() + 1 {
            let mut next = HashMap::clone(&current);
            next.insert(model.into(), Arc::clone(&chain));
            chains.store(Arc::new(next));
        }
        Ok(chain)
    }

    /// The specs of the chain for `model`: an explicit chain if one is
    /// configured for that name, else `[model] + fallback_models` without
    /// duplicates.
    fn specs<'a>(&'a self, model: &'a str) -> Vec<&'a str> {
        if let Some(chain) = self.overrides.get(model) {
            return chain.iter().map(String::as_str).collect();
        }
        std::iter::once(model)
            .chain(self.fallbacks.iter().map(String::as_str))
            .collect()
    }

    /// Builds the chain for `model` (the caller holds `grow`).
    fn build_chain(&self, model: &str) -> Result<Chain, String> {
        self.chain_of(self.specs(model))
    }

    /// Builds the same-model chain for `model` (the caller holds `grow`).
    fn build_same_model_chain(&self, model: &str) -> Result<Chain, String> {
        if self.overrides.contains_key(model) {
            return Err(format!(
                "{model:?} names a chain of models; embeddings take one model's name \
                 (vectors of different models are not comparable)"
            ));
        }
        if model.contains('@') {
            return self.chain_of([model]);
        }
        let specs: Vec<String> = self
            .endpoints
            .iter()
            .filter(|e| e.models.iter().any(|m| m == model))
            .map(|e| format!("{model}@{}", e.name))
            .collect();
        if specs.is_empty() {
            return self.chain_of([model]);
        }
        self.chain_of(specs.iter().map(String::as_str))
    }

    /// A chain of the targets `specs` name, in order, without duplicates.
    fn chain_of<'a>(&self, specs: impl IntoIterator<Item = &'a str>) -> Result<Chain, String> {
        let mut targets: Vec<TargetId> = Vec::new();
        for spec in specs {
            let target = self.target_locked(spec)?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        let balancer =
            LoadBalancer::from_targets(targets.iter().cloned(), self.defaults.balancer.clone());
        if let Some(predictor) = &self.defaults.predictor {
            balancer.set_predictor(Arc::clone(predictor) as Arc<dyn Predictor>);
        }
        Ok(Chain { targets, balancer })
    }

    /// The target for `spec`, built if needed (the caller holds `grow`).
    fn target_locked(&self, spec: &str) -> Result<TargetId, String> {
        let (endpoint, model) = self.resolve(spec)?;
        let key = format!("{model}@{}", endpoint.name);
        let current = self.targets.load_full();
        if let Some(t) = current.get(key.as_str()) {
            return Ok(t.clone());
        }
        let home = Arc::ptr_eq(self.home_of(model), endpoint);
        let name: Arc<str> = if home {
            model.into()
        } else {
            key.as_str().into()
        };
        let provider = endpoint
            .provider
            .unwrap_or_else(|| detect_provider(Some(&endpoint.base_url), Some(model)));
        let profile = endpoint
            .profile
            .clone()
            .unwrap_or_else(|| get_profile(provider).clone());
        let context_window = endpoint
            .windows
            .get(model)
            .or_else(|| self.defaults.windows.get(key.as_str()))
            .or_else(|| self.defaults.windows.get(model))
            .copied();
        let breaker = self
            .defaults
            .breakers
            .get(key.as_str())
            .or_else(|| self.defaults.breakers.get(model))
            .or(endpoint.breaker.as_ref())
            .unwrap_or(&self.defaults.breaker)
            .clone();
        let target = TargetId(Arc::new(TargetState {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            name,
            model: model.into(),
            wire: endpoint.wire(model)?,
            endpoint: Arc::clone(endpoint),
            provider,
            profile,
            breaker: Arc::new(CircuitBreaker::new(breaker)),
            limiter: RateLimiter::new(endpoint.rate_limits),
            context_window,
            prediction: PredictionCache::new(crate::time::now()),
            slow_start: SlowStart::new(crate::time::now()),
            hedge_delays: HedgeDelays::default(),
        }));
        if current.len() < MAX_DYNAMIC + 64 {
            let mut next = HashMap::clone(&current);
            next.insert(key.into_boxed_str(), target.clone());
            self.targets.store(Arc::new(next));
        }
        Ok(target)
    }

    /// Every target built so far, in creation order.
    /// Builds the chain of every model an endpoint lists, so its targets
    /// exist before the first call (a fleet shares their breakers from the
    /// start).
    pub(crate) fn prepare_listed(&self) {
        for endpoint in &self.endpoints {
            for model in &endpoint.models {
                if let Err(e) = self.chain(model) {
                    tracing::debug!("no chain for {model}: {e}");
                }
            }
        }
    }

    pub(crate) fn targets(&self) -> Vec<TargetId> {
        let mut all: Vec<TargetId> = self.targets.load().values().cloned().collect();
        all.sort_by_key(|t| t.id);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(index: usize, name: &str, models: &[&str], keys: usize) -> Arc<EndpointState> {
        let base = format!("https://{name}.example/v1");
        Arc::new(EndpointState::new(
            index,
            name.into(),
            base.as_str().into(),
            Shape::OpenAi(Box::new(Endpoint::openai_compatible(&base).unwrap())),
            Vec::new(),
            (0..keys).map(|k| ApiKey::new(format!("key-{k}"))).collect(),
            None,
            None,
            None,
            RateLimits::default(),
            models.iter().map(|m| (*m).to_owned()).collect(),
            HashMap::new(),
            None,
        ))
    }

    fn registry(fallbacks: &[&str]) -> Registry {
        Registry::new(
            vec![
                endpoint(0, "default", &[], 1),
                endpoint(1, "deepseek", &["deepseek-chat"], 2),
            ],
            0,
            fallbacks.iter().map(|m| (*m).to_owned()).collect(),
            HashMap::from([("fast".to_owned(), vec!["b".to_owned(), "a".to_owned()])]),
            TargetDefaults {
                breaker: CircuitBreakerConfig::default(),
                balancer: LoadBalancerConfig::default(),
                windows: HashMap::new(),
                breakers: HashMap::new(),
                predictor: None,
            },
        )
    }

    fn names(chain: &Chain) -> Vec<String> {
        chain.targets.iter().map(|t| format!("{t:?}")).collect()
    }

    #[test]
    fn a_chain_is_the_model_then_the_fallbacks_without_duplicates() {
        let r = registry(&["qwen-max", "deepseek-chat", "qwen-turbo"]);
        let chain = r.chain("deepseek-chat").unwrap();
        assert_eq!(
            names(&chain),
            [
                "deepseek-chat@deepseek",
                "qwen-max@default",
                "qwen-turbo@default"
            ]
        );
        // Cached: the same chain comes back.
        assert!(Arc::ptr_eq(&chain, &r.chain("deepseek-chat").unwrap()));
        // Targets are shared between chains.
        let other = r.chain("qwen-max").unwrap();
        assert_eq!(other.targets[0], chain.targets[1]);
    }

    #[test]
    fn explicit_chains_and_pinned_endpoints() {
        let r = registry(&[]);
        assert_eq!(names(&r.chain("fast").unwrap()), ["b@default", "a@default"]);
        let pinned = r.chain("qwen-max@deepseek").unwrap();
        assert_eq!(names(&pinned), ["qwen-max@deepseek"]);
        // Not its home endpoint: the routing name says where.
        assert_eq!(pinned.targets[0].name(), "qwen-max@deepseek");
        assert_eq!(&*pinned.targets[0].model, "qwen-max");
        assert_eq!(
            r.chain("deepseek-chat").unwrap().targets[0].name(),
            "deepseek-chat"
        );
        let err = r.chain("qwen-max@nowhere").unwrap_err();
        assert!(err.contains("\"nowhere\""), "{err}");
        assert!(r.chain("").is_err());
        assert!(r.chain("@deepseek").is_err());
    }

    #[test]
    fn key_rotation_skips_tried_keys_and_rotates_once_for_concurrent_callers() {
        let e = endpoint(0, "pool", &[], 3);
        assert_eq!(e.active_key(), Some(0));
        assert_eq!(e.rotate_key(0, 0b001), Some(1));
        assert_eq!(e.active_key(), Some(1));
        // A second caller that also saw key 0 fail adopts key 1.
        assert_eq!(e.rotate_key(0, 0b001), Some(1));
        assert_eq!(e.active_key(), Some(1));
        // Key 1 fails too: key 2, then nothing left.
        assert_eq!(e.rotate_key(1, 0b011), Some(2));
        assert_eq!(e.rotate_key(2, 0b111), None);
        let single = endpoint(0, "one", &[], 1);
        assert_eq!(single.rotate_key(0, 0b1), None);
        assert_eq!(endpoint(0, "none", &[], 0).active_key(), None);
    }

    #[test]
    fn predictions_are_reused_for_a_second() {
        let t0 = Instant::now();
        let cache = PredictionCache::new(t0);
        let calls = std::cell::Cell::new(0);
        let compute = |p: f64| {
            calls.set(calls.get() + 1);
            p
        };
        assert_eq!(cache.get(t0, || compute(0.25)), 0.25);
        let ms = std::time::Duration::from_millis;
        assert_eq!(cache.get(t0 + ms(999), || compute(0.75)), 0.25);
        assert_eq!(calls.get(), 1);
        assert_eq!(cache.get(t0 + ms(1000), || compute(0.75)), 0.75);
        assert_eq!(cache.get(t0 + ms(1500), || compute(0.5)), 0.75);
        assert_eq!(calls.get(), 2);
        // An earlier instant than the cached tick recomputes too.
        let later = PredictionCache::new(t0);
        assert_eq!(later.get(t0 + ms(5000), || 0.5), 0.5);
        assert_eq!(later.get(t0, || 0.125), 0.125);
    }

    #[test]
    fn slow_start_ramps_from_a_fifth_to_everything_in_three_seconds() {
        let t0 = Instant::now();
        let ms = std::time::Duration::from_millis;
        let ramp = SlowStart::new(t0);
        assert_eq!(ramp.share(t0 + ms(10)), 1.0, "not ramping");
        ramp.start(t0 + ms(1000));
        assert!((ramp.share(t0 + ms(1000)) - 0.2).abs() < 1e-9);
        assert!((ramp.share(t0 + ms(2500)) - 0.6).abs() < 1e-9);
        assert_eq!(ramp.share(t0 + ms(4000)), 1.0);
        assert_eq!(ramp.started.load(Ordering::Relaxed), 0, "done");
    }

    #[test]
    fn hedge_delays_follow_successes_within_their_bounds() {
        let ms = std::time::Duration::from_millis;
        let (min, max) = (ms(250), ms(60_000));
        let fast = LatencyEstimate::default();
        assert_eq!(fast.delay(min, max), None, "no sample yet");
        for _ in 0..50 {
            fast.record(ms(30));
        }
        assert_eq!(
            fast.delay(min, max),
            Some(min),
            "a 30 ms target hedges at the floor"
        );
        let slow = LatencyEstimate::default();
        for i in 0..200 {
            slow.record(ms(2000 + 100 * (i % 5)));
        }
        let delay = slow.delay(min, max).unwrap();
        assert!(
            delay > ms(2200) && delay < ms(3500),
            "above the usual 2.0-2.4 s: {delay:?}"
        );
        slow.record(std::time::Duration::MAX);
        assert_eq!(slow.delay(min, max), Some(max));
    }

    #[test]
    fn a_skipped_target_gets_one_probe_per_interval() {
        let t0 = Instant::now();
        let cache = PredictionCache::new(t0);
        assert!(cache.admit_probe(t0));
        assert!(!cache.admit_probe(t0), "one caller");
        assert!(!cache.admit_probe(t0 + PREDICTION_PROBE_INTERVAL / 2));
        assert!(cache.admit_probe(t0 + PREDICTION_PROBE_INTERVAL));
    }

    #[test]
    fn dynamic_chains_are_capped() {
        let r = registry(&[]);
        for i in 0..MAX_DYNAMIC + 10 {
            r.chain(&format!("model-{i}")).unwrap();
        }
        assert!(r.chains.load().len() <= MAX_DYNAMIC + 2);
        assert!(r.targets.load().len() <= MAX_DYNAMIC + 64);
    }
}
