//! The load balancer: selection, recording, health transitions and the
//! runtime-mutable target set.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use fastrand::Rng;

use crate::clock::{Clock, Nanos, duration_nanos};
use crate::config::{LoadBalancerConfig, LoadBalancingStrategy};
use crate::hash::BuildWordHasher;
use crate::health::{AtomicStatus, HealthState, Status};
use crate::predictor::Predictor;
use crate::stats::{Meter, MeterParams, ModelStats, SLOTS, health_score, latency_score};
use crate::target::Target;

mod selection;

pub use selection::{InFlight, Selection, SelectionKind};

/// One target and everything the balancer knows about it. `repr(C)` keeps
/// what selection reads in the first cache line (see [`Meter`]).
#[repr(C)]
struct Entry<T> {
    status: AtomicStatus,
    in_flight: AtomicU32,
    /// Set (under the writer lock) when the target is removed: results that
    /// arrive later are ignored.
    removed: AtomicBool,
    target: T,
    meter: Meter,
}

impl<T: Target> Entry<T> {
    fn new(target: T, params: &MeterParams) -> Self {
        Self {
            target,
            in_flight: AtomicU32::new(0),
            removed: AtomicBool::new(false),
            status: AtomicStatus::new(),
            meter: Meter::new(params),
        }
    }
}

/// An immutable snapshot of the targets, swapped whole on `add`/`remove`.
struct TargetSet<T> {
    entries: Box<[Arc<Entry<T>>]>,
    index: HashMap<T, usize, BuildWordHasher>,
    /// Entries not `Healthy`. Changed only under the writer lock.
    unhealthy: AtomicUsize,
    /// Entries `Excluded` or `Probing`. Changed only under the writer lock.
    excluded: AtomicUsize,
}

impl<T: Target> TargetSet<T> {
    /// Must be called under the writer lock, so the counts are exact.
    fn new(entries: Vec<Arc<Entry<T>>>) -> Self {
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.target.clone(), i))
            .collect();
        let states = entries.iter().map(|e| e.status.load().state());
        let unhealthy = states
            .clone()
            .filter(|s| *s != HealthState::Healthy)
            .count();
        let excluded = states.filter(|s| s.is_excluded()).count();
        Self {
            entries: entries.into_boxed_slice(),
            index,
            unhealthy: AtomicUsize::new(unhealthy),
            excluded: AtomicUsize::new(excluded),
        }
    }

    fn find<Q>(&self, target: &Q) -> Option<&Arc<Entry<T>>>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.get(target).map(|&i| &self.entries[i])
    }

    /// Adjusts the counters for an entry of this set moving between states.
    fn count(&self, from: HealthState, to: HealthState) {
        let step = |c: &AtomicUsize, was: bool, is: bool| match (was, is) {
            (false, true) => {
                c.fetch_add(1, Relaxed);
            }
            (true, false) => {
                c.fetch_sub(1, Relaxed);
            }
            _ => {}
        };
        let unhealthy = |s: HealthState| s != HealthState::Healthy;
        step(&self.unhealthy, unhealthy(from), unhealthy(to));
        step(&self.excluded, from.is_excluded(), to.is_excluded());
    }
}

/// Where the balancer's randomness comes from.
#[derive(Debug)]
enum Entropy {
    /// A shared wyrand-style state: reproducible from one thread.
    Seeded(AtomicU64),
    /// fastrand's per-thread generator: no shared cache line.
    ThreadLocal,
}

impl Entropy {
    /// A generator for one selection.
    fn rng(&self) -> Rng {
        match self {
            Self::Seeded(state) => Rng::with_seed(state.fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed)),
            Self::ThreadLocal => Rng::new(),
        }
    }
}

/// A load balancer over targets: model names by default, or any [`Target`].
///
/// All methods take `&self` and the balancer is `Send + Sync`: share it
/// behind an `Arc`. Selection reads the target set through an
/// [`ArcSwap`] and per-target atomics, takes no lock and does not allocate.
/// A lock is taken only to add or remove targets and when a target's health
/// changes category (rare events).
///
/// See the [crate docs](crate) for the whole picture.
pub struct LoadBalancer<T: Target = String> {
    config: LoadBalancerConfig,
    params: MeterParams,
    interval: Nanos,
    set: ArcSwap<TargetSet<T>>,
    predictor: ArcSwapOption<Arc<dyn Predictor>>,
    entropy: Entropy,
    /// Round-robin position.
    next: AtomicUsize,
    clock: Clock,
    /// Serialises changes to the target set and health-category changes.
    writer: Mutex<()>,
}

impl LoadBalancer<String> {
    /// A balancer over model names, in priority order (the order
    /// [`Fallback`](LoadBalancingStrategy::Fallback) tries them).
    /// Duplicates are ignored.
    ///
    /// ```
    /// use nb_route::{LoadBalancer, LoadBalancerConfig};
    ///
    /// let lb = LoadBalancer::new(["qwen-max", "gpt-4o"], LoadBalancerConfig::default());
    /// assert_eq!(lb.targets(), ["qwen-max", "gpt-4o"]);
    /// ```
    pub fn new<I>(models: I, config: LoadBalancerConfig) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::from_targets(models.into_iter().map(Into::into), config)
    }
}

/// Outcome of checking one target during a selection pass.
enum Check {
    /// Already tried for this request, or refused by the caller's filter.
    Rejected,
    /// Accepted by the caller, but out of rotation for health.
    Excluded,
    Eligible,
    /// The target was excluded and has just been granted a probe: the
    /// status it was moved to.
    Probe(Status),
}

/// The chosen index and, for a probe, the status it was granted with.
struct Pick {
    index: usize,
    probe: Option<Status>,
}

impl Pick {
    fn normal(index: usize) -> Self {
        Self { index, probe: None }
    }

    fn probe(index: usize, granted: Status) -> Self {
        Self {
            index,
            probe: Some(granted),
        }
    }
}

/// One selection pass: the request's constraints and what it has seen.
struct Pass<'a, T, F> {
    exclusions: &'a [T],
    filter: F,
    now: Instant,
    clock: &'a Clock,
    /// `now` as nanoseconds, computed when first needed.
    t: Option<Nanos>,
    /// `false` in panic mode and for the fallback strategy.
    respect_health: bool,
    /// The probe interval, if auto-recovery is on.
    recovery: Option<Nanos>,
    /// Whether any target passed the caller's exclusions and filter.
    saw_candidate: bool,
}

impl<T: Target, F: FnMut(&T) -> bool> Pass<'_, T, F> {
    fn t(&mut self) -> Nanos {
        *self.t.get_or_insert_with(|| self.clock.nanos(self.now))
    }

    /// Checks one target, remembering whether the caller accepted it.
    #[inline(always)]
    fn check(&mut self, e: &Entry<T>) -> Check {
        let (exclusions, respect_health) = (self.exclusions, self.respect_health);
        let check = self.classify(e, exclusions, respect_health);
        self.saw_candidate |= !matches!(check, Check::Rejected);
        check
    }

    /// [`check`](Self::check) with the pass's fields passed in, so that a
    /// loop can keep them in registers (the optimiser cannot hoist them
    /// across the filter call). Inlined into every strategy's loop: the
    /// common case is a few loads.
    #[inline(always)]
    fn classify(&mut self, e: &Entry<T>, exclusions: &[T], respect_health: bool) -> Check {
        let tried = !exclusions.is_empty() && exclusions.contains(&e.target);
        if tried || !(self.filter)(&e.target) {
            return Check::Rejected;
        }
        if !respect_health {
            return Check::Eligible;
        }
        let status = e.status.load();
        if !status.is_excluded() {
            return Check::Eligible;
        }
        self.try_probe(e, status)
    }

    /// An excluded target: a probe is due at `status.at()`. A probing one:
    /// its probe expires then (so a probe whose result never came is not
    /// waited on forever).
    #[cold]
    fn try_probe(&mut self, e: &Entry<T>, status: Status) -> Check {
        let Some(interval) = self.recovery else {
            return Check::Excluded;
        };
        let t = self.t();
        let probe = Status::new(HealthState::Probing, t.saturating_add(interval));
        if t >= status.at() && e.status.transition(status, probe) {
            Check::Probe(probe)
        } else {
            Check::Excluded
        }
    }

    /// Checks every entry in order, calling `eligible` for each eligible
    /// one; stops at a granted probe and returns it.
    #[inline(always)]
    fn scan(
        &mut self,
        entries: &[Arc<Entry<T>>],
        mut eligible: impl FnMut(usize, &Entry<T>),
    ) -> Option<Pick> {
        let (exclusions, respect_health) = (self.exclusions, self.respect_health);
        let mut saw = false;
        let mut probe = None;
        for (i, e) in entries.iter().enumerate() {
            match self.classify(e, exclusions, respect_health) {
                Check::Rejected => continue,
                Check::Excluded => {}
                Check::Eligible => eligible(i, e),
                Check::Probe(granted) => probe = Some(Pick::probe(i, granted)),
            }
            saw = true;
            if probe.is_some() {
                break;
            }
        }
        self.saw_candidate |= saw;
        probe
    }
}

/// Weighted selection buffers the weights of this many targets at a time on
/// the stack.
const BUFFERED: usize = 32;

/// Rejection-sampling tries before P2C falls back to a full scan.
const P2C_TRIES: usize = 4;

impl<T: Target> LoadBalancer<T> {
    /// A balancer over any [`Target`]s, in priority order. Duplicates are
    /// ignored.
    pub fn from_targets<I>(targets: I, config: LoadBalancerConfig) -> Self
    where
        I: IntoIterator<Item = T>,
    {
        let config = config.sanitized();
        let slot_nanos = (duration_nanos(config.window) / SLOTS as i64).max(1);
        let params = MeterParams {
            slot_nanos,
            ewma_alpha: config.ewma_alpha,
            peak_tau: config.peak_ewma_decay.as_nanos() as f64,
            prior_latency: config.prior.latency.as_nanos() as f64,
            prior_success_rate: config.prior.success_rate,
            prior_weight: config.prior.weight,
        };
        let mut seen = HashSet::new();
        let entries: Vec<_> = targets
            .into_iter()
            .filter(|t| seen.insert(t.clone()))
            .map(|t| Arc::new(Entry::new(t, &params)))
            .collect();
        let entropy = match config.seed {
            Some(seed) => Entropy::Seeded(AtomicU64::new(seed)),
            None => Entropy::ThreadLocal,
        };
        Self {
            interval: duration_nanos(config.health_check_interval),
            params,
            set: ArcSwap::from_pointee(TargetSet::new(entries)),
            predictor: ArcSwapOption::empty(),
            entropy,
            next: AtomicUsize::new(0),
            clock: Clock::default(),
            writer: Mutex::new(()),
            config,
        }
    }

    /// The configuration in force (with out-of-range values clamped).
    pub fn config(&self) -> &LoadBalancerConfig {
        &self.config
    }

    /// Sets the predictor the [`Predictive`](LoadBalancingStrategy::Predictive)
    /// strategy asks.
    pub fn set_predictor(&self, predictor: Arc<dyn Predictor>) {
        self.predictor.store(Some(Arc::new(predictor)));
    }

    /// Removes the predictor: `Predictive` then behaves like
    /// `WeightedResponseTime`.
    pub fn clear_predictor(&self) {
        self.predictor.store(None);
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The lock guards no data of its own, so a poisoned lock is usable.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a target at the end of the priority order, with fresh stats and
    /// the prior. Returns `false` if it is already present.
    pub fn add(&self, target: T) -> bool {
        let _guard = self.lock();
        let set = self.set.load();
        if set.index.contains_key(&target) {
            return false;
        }
        let mut entries = set.entries.to_vec();
        entries.push(Arc::new(Entry::new(target, &self.params)));
        self.set.store(Arc::new(TargetSet::new(entries)));
        true
    }

    /// Removes a target. Requests in flight to it finish normally (their
    /// guards still count down), and results recorded for it afterwards are
    /// ignored. Adding it again starts from fresh stats. Returns `false` if
    /// it was not present.
    pub fn remove<Q>(&self, target: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _guard = self.lock();
        let set = self.set.load();
        let Some(&i) = set.index.get(target) else {
            return false;
        };
        let mut entries = set.entries.to_vec();
        entries.remove(i).removed.store(true, Relaxed);
        self.set.store(Arc::new(TargetSet::new(entries)));
        true
    }

    /// The targets, in priority order.
    pub fn targets(&self) -> Vec<T> {
        let set = self.set.load();
        set.entries.iter().map(|e| e.target.clone()).collect()
    }

    /// Whether `target` is present.
    pub fn contains<Q>(&self, target: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.set.load().index.contains_key(target)
    }

    /// How many targets there are.
    pub fn len(&self) -> usize {
        self.set.load().entries.len()
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Chooses a target for a request, or `None` if the caller accepts none.
    ///
    /// - `exclusions`: targets already tried for this request; never chosen.
    /// - `filter`: the caller's availability test (an open breaker, an
    ///   exhausted rate limit); a target it rejects is never chosen. It may
    ///   be called more than once per target (a few times at most), so it
    ///   should be cheap and give the same answer each time.
    /// - `now`: the current time (virtual in tests).
    ///
    /// Among the targets the caller accepts, the strategy chooses among
    /// those in rotation (in panic mode, among all of them). An excluded
    /// target whose probe is due is taken as a
    /// [`Probe`](SelectionKind::Probe), one at a time per target, as soon as
    /// the strategy's scan reaches it: at once for the strategies that look
    /// at every target, in their order for round-robin and fallback, when
    /// sampled for power of two choices. If every accepted target is
    /// excluded for health, the fallback strategy chooses among them. The
    /// result is `None` only when the caller's exclusions and filter leave
    /// nothing (or there are no targets).
    pub fn select<F>(&self, exclusions: &[T], filter: F, now: Instant) -> Option<Selection<T>>
    where
        F: FnMut(&T) -> bool,
    {
        let set = self.set.load();
        let entries = &set.entries[..];
        if entries.is_empty() {
            return None;
        }
        let panic = self.in_panic(&set);
        let mut rng = self.entropy.rng();
        let mut pass = Pass {
            exclusions,
            filter,
            now,
            clock: &self.clock,
            t: None,
            respect_health: !panic,
            recovery: self.config.enable_auto_recovery.then_some(self.interval),
            saw_candidate: false,
        };
        if let Some(pick) = self.pick(self.config.strategy, entries, &mut pass, &mut rng) {
            let (kind, probe) = match (pick.probe, panic) {
                (Some(granted), _) => {
                    // `granted` expires one interval after the probe was
                    // granted, which is when it became due.
                    let since = granted.at().saturating_sub(self.interval);
                    let due = Status::new(HealthState::Excluded, since);
                    (SelectionKind::Probe, Some((granted, due)))
                }
                (None, true) => (SelectionKind::Panic, None),
                (None, false) => (SelectionKind::Normal, None),
            };
            return Some(Selection {
                entry: Arc::clone(&entries[pick.index]),
                kind,
                probe,
            });
        }
        if panic || !pass.saw_candidate {
            return None;
        }
        pass.respect_health = false;
        let pick = self.pick(self.config.fallback_strategy, entries, &mut pass, &mut rng)?;
        Some(Selection {
            entry: Arc::clone(&entries[pick.index]),
            kind: SelectionKind::FallbackStrategy,
            probe: None,
        })
    }

    /// [`select`](Self::select) with no exclusions and no filter: the
    /// NeuralBridge Python SDK's `select_model()`.
    pub fn select_model(&self, now: Instant) -> Option<Selection<T>> {
        self.select(&[], |_| true, now)
    }

    /// Whether fewer than `panic_threshold` of the targets are healthy.
    fn in_panic(&self, set: &TargetSet<T>) -> bool {
        let n = set.entries.len();
        let healthy = n.saturating_sub(set.unhealthy.load(Relaxed));
        (healthy as f64) < self.config.health.panic_threshold * n as f64
    }

    fn pick<F>(
        &self,
        strategy: LoadBalancingStrategy,
        entries: &[Arc<Entry<T>>],
        pass: &mut Pass<'_, T, F>,
        rng: &mut Rng,
    ) -> Option<Pick>
    where
        F: FnMut(&T) -> bool,
    {
        use LoadBalancingStrategy as S;
        match strategy {
            S::Random => self.weighted(entries, pass, rng, |_| Ok(1.0)),
            S::WeightedResponseTime => self.weighted(entries, pass, rng, |e| Ok(e.meter.speed())),
            S::Predictive => {
                let predictor = self.predictor.load();
                let Some(predictor) = predictor.as_deref() else {
                    return self.pick(S::WeightedResponseTime, entries, pass, rng);
                };
                let (now, threshold) = (pass.now, self.config.predictive_threshold);
                self.weighted(entries, pass, rng, |e| {
                    let p = predictor.failure_probability(e.target.name(), now);
                    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
                    if p >= threshold {
                        Err(p)
                    } else {
                        Ok((1.0 - p) * e.meter.speed())
                    }
                })
            }
            S::RoundRobin => {
                let n = entries.len();
                let start = self.next.fetch_add(1, Relaxed) % n;
                self.first_eligible(entries, pass, (start..n).chain(0..start))
            }
            S::Fallback => self.first_eligible(entries, pass, 0..entries.len()),
            S::LeastConnections => {
                let mut chosen = None;
                let mut least = u32::MAX;
                let mut ties = 0;
                let probe = pass.scan(entries, |i, e| {
                    let n = e.in_flight.load(Relaxed);
                    if n < least || chosen.is_none() {
                        (least, ties, chosen) = (n, 1, Some(i));
                    } else if n == least {
                        // Uniform among ties, by reservoir sampling.
                        ties += 1;
                        if rng.usize(..ties) == 0 {
                            chosen = Some(i);
                        }
                    }
                });
                probe.or(chosen.map(Pick::normal))
            }
            S::PowerOfTwoChoices => self.two_choices(entries, pass, rng),
        }
    }

    /// The first eligible target in `order`.
    fn first_eligible<F>(
        &self,
        entries: &[Arc<Entry<T>>],
        pass: &mut Pass<'_, T, F>,
        order: impl Iterator<Item = usize>,
    ) -> Option<Pick>
    where
        F: FnMut(&T) -> bool,
    {
        for i in order {
            match pass.check(&entries[i]) {
                Check::Rejected | Check::Excluded => {}
                Check::Probe(granted) => return Some(Pick::probe(i, granted)),
                Check::Eligible => return Some(Pick::normal(i)),
            }
        }
        None
    }

    /// Weighted random choice. `weight` gives an eligible target's weight,
    /// or `Err(p)` to avoid it for a predicted failure probability `p`; if
    /// every eligible target is avoided, the one with the lowest `p` is
    /// chosen.
    fn weighted<F, W>(
        &self,
        entries: &[Arc<Entry<T>>],
        pass: &mut Pass<'_, T, F>,
        rng: &mut Rng,
        mut weight: W,
    ) -> Option<Pick>
    where
        F: FnMut(&T) -> bool,
        W: FnMut(&Entry<T>) -> Result<f64, f64>,
    {
        let mut total = 0.0;
        let mut avoided: Option<(f64, usize)> = None;
        let mut avoid = |p: f64, i: usize| {
            if avoided.is_none_or(|(best, _)| p < best) {
                avoided = Some((p, i));
            }
        };
        // Targets go through a stack buffer of weights, a chunk at a time.
        // Within a chunk one draw picks a target in proportion to its
        // weight; across chunks, each chunk takes over the choice with
        // probability (its total) / (total so far), which is weighted
        // reservoir sampling over chunks. Together: every target in
        // proportion to its weight, with no allocation and two draws per
        // chunk at most.
        let mut chosen = None;
        for (c, chunk) in entries.chunks(BUFFERED).enumerate() {
            let base = c * BUFFERED;
            let mut weights = [0.0; BUFFERED];
            let mut chunk_total = 0.0;
            let probe = pass.scan(chunk, |j, e| match weight(e) {
                Ok(w) => {
                    weights[j] = w;
                    chunk_total += w;
                }
                Err(p) => avoid(p, base + j),
            });
            if let Some(Pick {
                index,
                probe: Some(granted),
            }) = probe
            {
                return Some(Pick::probe(base + index, granted));
            }
            if chunk_total <= 0.0 {
                continue;
            }
            total += chunk_total;
            if chosen.is_none() || rng.f64() * total < chunk_total {
                let mut r = rng.f64() * chunk_total;
                for (j, &w) in weights[..chunk.len()].iter().enumerate() {
                    if w > 0.0 {
                        // The last positive weight takes any rounding
                        // remainder.
                        chosen = Some(base + j);
                        if r < w {
                            break;
                        }
                        r -= w;
                    }
                }
            }
        }
        chosen.or(avoided.map(|(_, i)| i)).map(Pick::normal)
    }

    /// Power of two choices by `peak_ewma × (in_flight + 1)`.
    fn two_choices<F>(
        &self,
        entries: &[Arc<Entry<T>>],
        pass: &mut Pass<'_, T, F>,
        rng: &mut Rng,
    ) -> Option<Pick>
    where
        F: FnMut(&T) -> bool,
    {
        let n = entries.len();
        let t = pass.t();
        let cheaper = |a: usize, b: usize| {
            let cost = |e: &Entry<T>| {
                e.meter.peak(&self.params, t) * (f64::from(e.in_flight.load(Relaxed)) + 1.0)
            };
            if cost(&entries[b]) < cost(&entries[a]) {
                b
            } else {
                a
            }
        };
        // Fast path: draw indices until two distinct eligible ones turn up.
        let mut first = None;
        for _ in 0..P2C_TRIES {
            let i = rng.usize(..n);
            if first == Some(i) {
                continue;
            }
            match pass.check(&entries[i]) {
                Check::Rejected | Check::Excluded => {}
                Check::Probe(granted) => return Some(Pick::probe(i, granted)),
                Check::Eligible => match first {
                    None => first = Some(i),
                    Some(a) => return Some(Pick::normal(cheaper(a, i))),
                },
            }
        }
        // Slow path (few eligible targets): a uniform pair by reservoir
        // sampling over one scan.
        let mut pair = [None; 2];
        let mut seen = 0;
        let probe = pass.scan(entries, |i, _| {
            seen += 1;
            let slot = if seen <= 2 {
                seen - 1
            } else {
                rng.usize(..seen)
            };
            if let Some(s) = pair.get_mut(slot) {
                *s = Some(i);
            }
        });
        if probe.is_some() {
            return probe;
        }
        match pair {
            [Some(a), Some(b)] => Some(Pick::normal(cheaper(a, b))),
            [Some(a), None] => Some(Pick::normal(a)),
            _ => None,
        }
    }

    /// Records the result of a request to `target` that took `latency`, and
    /// updates its health. Returns the target's new health state if this
    /// result changed it, `None` otherwise (also for an unknown or removed
    /// target, whose results are ignored).
    ///
    /// Call it once per attempt, success or failure; classifying what counts
    /// as a failure (a `400` is the request's fault, not the model's) is the
    /// caller's job.
    pub fn record_result<Q>(
        &self,
        target: &Q,
        latency: Duration,
        success: bool,
        now: Instant,
    ) -> Option<HealthState>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let set = self.set.load();
        self.record(set.find(target)?, latency, success, now)
    }

    /// Ends a request started with [`Selection::start`] and records its
    /// result, like [`record_result`](Self::record_result) but without
    /// looking the target up: the cheapest way to close an attempt.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// use nb_route::{LoadBalancer, LoadBalancerConfig};
    ///
    /// let lb = LoadBalancer::new(["a", "b"], LoadBalancerConfig::default());
    /// let now = Instant::now();
    /// let request = lb.select_model(now).expect("a model").start();
    /// // ... send it ...
    /// lb.finish(request, Duration::from_millis(180), true, now);
    /// assert!(lb.get_all_stats(now).iter().all(|(_, s)| s.in_flight == 0));
    /// ```
    pub fn finish(
        &self,
        request: InFlight<T>,
        latency: Duration,
        success: bool,
        now: Instant,
    ) -> Option<HealthState> {
        self.record(&request.entry, latency, success, now)
    }

    fn record(
        &self,
        e: &Arc<Entry<T>>,
        latency: Duration,
        success: bool,
        now: Instant,
    ) -> Option<HealthState> {
        if e.removed.load(Relaxed) {
            return None;
        }
        let t = self.clock.nanos(now);
        e.meter.record(&self.params, t, latency, success);
        self.judge(e, t, success)
    }

    /// Applies the health rules after a result.
    fn judge(&self, e: &Arc<Entry<T>>, t: Nanos, success: bool) -> Option<HealthState> {
        let h = &self.config.health;
        let status = e.status.load();
        if success && status == Status::HEALTHY {
            // A healthy target is judged at its failures: a success never
            // lowers its success rate (and latency alone cannot exclude it
            // at the default bar). The hot path stops here.
            return None;
        }
        let set = self.set.load();
        let counts = e.meter.counts(&self.params, t);
        let rate = self.params.success_rate(counts);
        match status.state() {
            HealthState::Healthy | HealthState::Degraded => {
                let judged = counts.requests >= u64::from(h.min_requests);
                let low = judged && !self.scores_at_least(&set, e, rate, h.exclude_below);
                match (status.state(), low) {
                    (HealthState::Healthy, false) => None,
                    (_, true) => self.exclude(e, status, t),
                    (_, false) => self.change(e, status, Status::HEALTHY),
                }
            }
            HealthState::Excluded | HealthState::Probing => {
                let probing = status.state() == HealthState::Probing;
                let new = if !success {
                    // The wait for the next probe starts again.
                    Status::new(HealthState::Excluded, t.saturating_add(self.interval))
                } else if self.scores_at_least(&set, e, rate, h.restore_at) {
                    return self.change(e, status, Status::HEALTHY);
                } else if probing {
                    // A good probe that has not cleared the bar yet: the
                    // next one may go at once.
                    Status::new(HealthState::Excluded, t)
                } else {
                    return None;
                };
                (e.status.transition(status, new) && probing).then_some(HealthState::Excluded)
            }
        }
    }

    /// Whether `e`'s health score, with success rate `rate`, is at least
    /// `bar`. The latency score (which needs every target's latency) is
    /// computed only when the success rate alone does not decide.
    fn scores_at_least(&self, set: &TargetSet<T>, e: &Entry<T>, rate: f64, bar: f64) -> bool {
        if health_score(rate, 0.0) >= bar {
            return true;
        }
        if health_score(rate, 1.0) < bar {
            return false;
        }
        let latency = latency_score(self.fastest(set), e.meter.latency(&self.params));
        health_score(rate, latency) >= bar
    }

    /// The lowest latency EWMA (or prior) among all targets.
    fn fastest(&self, set: &TargetSet<T>) -> f64 {
        set.entries
            .iter()
            .map(|e| e.meter.latency(&self.params))
            .fold(f64::INFINITY, f64::min)
    }

    /// Excludes `e` if the cap allows, otherwise marks it degraded.
    fn exclude(&self, e: &Arc<Entry<T>>, from: Status, t: Nanos) -> Option<HealthState> {
        let _guard = self.lock();
        let set = self.set.load();
        let cap = (set.entries.len() as f64 * self.config.health.max_excluded_fraction) as usize;
        let to = if set.excluded.load(Relaxed) < cap {
            Status::new(HealthState::Excluded, t.saturating_add(self.interval))
        } else {
            Status::new(HealthState::Degraded, 0)
        };
        self.change_locked(&set, e, from, to)
    }

    /// Moves `e` from `from` to `to`, keeping the set's counters exact.
    fn change(&self, e: &Arc<Entry<T>>, from: Status, to: Status) -> Option<HealthState> {
        let _guard = self.lock();
        let set = self.set.load();
        self.change_locked(&set, e, from, to)
    }

    fn change_locked(
        &self,
        set: &TargetSet<T>,
        e: &Arc<Entry<T>>,
        from: Status,
        to: Status,
    ) -> Option<HealthState> {
        // A removed target's results are ignored; so is a stale `from`
        // (another thread moved first).
        let removed = e.removed.load(Relaxed);
        if from.state() == to.state() || removed || !e.status.transition(from, to) {
            return None;
        }
        set.count(from.state(), to.state());
        Some(to.state())
    }

    /// Puts a target back into rotation at once, whatever its health.
    /// Returns `false` if it is unknown or already healthy.
    pub fn restore<Q>(&self, target: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _guard = self.lock();
        let set = self.set.load();
        let Some(e) = set.find(target) else {
            return false;
        };
        loop {
            let from = e.status.load();
            if from.state() == HealthState::Healthy {
                return false;
            }
            if self.change_locked(&set, e, from, Status::HEALTHY).is_some() {
                return true;
            }
            // A probe was granted meanwhile: try again from the new status.
        }
    }

    /// A snapshot of one target's stats at `now`.
    pub fn stats<Q>(&self, target: &Q, now: Instant) -> Option<ModelStats>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let set = self.set.load();
        let e = set.find(target)?;
        Some(self.snapshot(e, self.fastest(&set), self.clock.nanos(now)))
    }

    /// A snapshot of every target's stats at `now`, in priority order.
    pub fn get_all_stats(&self, now: Instant) -> Vec<(T, ModelStats)> {
        let set = self.set.load();
        let fastest = self.fastest(&set);
        let t = self.clock.nanos(now);
        set.entries
            .iter()
            .map(|e| (e.target.clone(), self.snapshot(e, fastest, t)))
            .collect()
    }

    fn snapshot(&self, e: &Entry<T>, fastest: f64, t: Nanos) -> ModelStats {
        let p = &self.params;
        let counts = e.meter.counts(p, t);
        let success_rate = p.success_rate(counts);
        let latency = e.meter.latency(p);
        let latency_score = latency_score(fastest, latency);
        let [p50, p95, p99] = e.meter.percentiles(p, t);
        ModelStats {
            requests: counts.requests,
            successes: counts.successes,
            success_rate,
            latency: Duration::from_nanos(latency as u64),
            latency_score,
            health_score: health_score(success_rate, latency_score),
            p50,
            p95,
            p99,
            in_flight: e.in_flight.load(Relaxed),
            last_success: self.clock.instant(e.meter.last_success()),
            last_failure: self.clock.instant(e.meter.last_failure()),
            state: e.status.load().state(),
        }
    }
}

impl<T: Target> fmt::Debug for LoadBalancer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.set.load();
        let targets: Vec<&str> = set.entries.iter().map(|e| e.target.name()).collect();
        f.debug_struct("LoadBalancer")
            .field("strategy", &self.config.strategy)
            .field("targets", &targets)
            .field("predictor", &self.predictor.load().is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
