//! L2 of NeuralBridge: decide where the next request should go.
//!
//! A [`LoadBalancer`] spreads requests over models (or any [`Target`], such
//! as "model M at endpoint E with key K") with one of seven
//! [strategies](LoadBalancingStrategy), keeps fixed-size stats per target,
//! scores each target's health, excludes unhealthy ones and lets them back in
//! for probes. It is sans-IO: every time-dependent method takes `now`, so it
//! runs under any runtime and is testable in virtual time.
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! use nb_route::{LoadBalancer, LoadBalancerConfig, LoadBalancingStrategy};
//!
//! let lb = LoadBalancer::new(
//!     ["qwen-max", "gpt-4o", "deepseek-chat", "gpt-4o-mini"],
//!     LoadBalancerConfig {
//!         strategy: LoadBalancingStrategy::WeightedResponseTime,
//!         health_check_interval: Duration::from_secs(60),
//!         enable_auto_recovery: true,
//!         fallback_strategy: LoadBalancingStrategy::Random,
//!         seed: Some(7), // reproducible choices for this example
//!         ..LoadBalancerConfig::default()
//!     },
//! );
//!
//! let mut now = Instant::now();
//! let selected = lb.select_model(now).expect("four healthy models");
//! lb.record_result(selected.target(), Duration::from_millis(142), true, now);
//!
//! // Simulate 1000 requests: deepseek-chat answers fastest.
//! let latency = |model: &str| match model {
//!     "deepseek-chat" => 120,
//!     "qwen-max" => 300,
//!     "gpt-4o-mini" => 350,
//!     _ => 500,
//! };
//! for _ in 0..1000 {
//!     now += Duration::from_millis(20);
//!     let selected = lb.select_model(now).expect("a model");
//!     let ms = latency(selected.name());
//!     lb.record_result(selected.target(), Duration::from_millis(ms), true, now);
//! }
//!
//! // Weighted response time: traffic in proportion to 1 / latency, so the
//! // fastest model got the most, but not all of it.
//! let stats = lb.get_all_stats(now);
//! for (model, s) in &stats {
//!     println!("{model}: health_score={:.2}, p95={:?}", s.health_score, s.p95);
//! }
//! let busiest = stats.iter().max_by_key(|(_, s)| s.requests).expect("stats");
//! assert_eq!(busiest.0, "deepseek-chat");
//! assert!(stats.iter().all(|(_, s)| s.requests > 0 && !s.excluded()));
//! let fastest = lb.stats("deepseek-chat", now).expect("known model");
//! assert!(fastest.health_score > 0.95);
//! ```
//!
//! # Selecting for one attempt
//!
//! A caller that retries (such as the `nb-client` facade) passes the
//! targets already tried and an availability filter, holds an [`InFlight`]
//! guard while the request runs, and records the result:
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! use nb_route::{LoadBalancer, LoadBalancerConfig, LoadBalancingStrategy};
//!
//! let lb = LoadBalancer::new(
//!     ["primary", "secondary", "tertiary"],
//!     LoadBalancerConfig {
//!         strategy: LoadBalancingStrategy::Fallback,
//!         ..LoadBalancerConfig::default()
//!     },
//! );
//! let now = Instant::now();
//! let breaker_open = |model: &str| model == "secondary";
//!
//! let tried = vec![String::from("primary")];
//! let selection = lb
//!     .select(&tried, |t| !breaker_open(t), now)
//!     .expect("tertiary is available");
//! assert_eq!(selection.name(), "tertiary");
//!
//! let request = selection.start(); // counts one request in flight
//! // ... send the request ...
//! lb.finish(request, Duration::from_millis(230), true, now);
//! ```
//!
//! [`LoadBalancer::finish`] records the result and ends the in-flight count
//! in one call without looking the target up;
//! [`record_result`](LoadBalancer::record_result) does the same by target,
//! for callers that do not hold a guard.
//!
//! # Health
//!
//! Each target's **health score** is `0.7 × success rate + 0.3 × latency
//! score` (see [`ModelStats`] for the definitions; a new target starts from
//! the [`Prior`]). A target scoring below `0.5` is excluded; with
//! auto-recovery it is let back in for one probe after
//! `health_check_interval`, and returns to rotation when a success lifts its
//! score to `0.6` (hysteresis, so it does not flap). At most half the targets
//! are excluded at once, and when fewer than half are healthy the balancer
//! enters **panic mode** and spreads traffic over all of them rather than
//! crushing the last healthy ones. All of this is in [`HealthPolicy`].
//!
//! # Cost
//!
//! Selection reads the target set through `arc-swap` and per-target atomics:
//! no lock, no allocation. Recording is a handful of atomic operations; a
//! lock is taken only when a target's health changes category or the set of
//! targets changes. Each target takes a fixed 2,104 bytes for a `String`
//! target (a ring of six window slots, each with packed counts and an
//! 80-bucket latency histogram, plus the estimates), and its name once more
//! in the lookup index; nothing grows with traffic. See `docs/BENCHMARKS.md`
//! for select + record timings.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod balancer;
mod clock;
mod config;
mod hash;
mod health;
mod predictor;
mod stats;
mod target;

pub use balancer::{InFlight, LoadBalancer, Selection, SelectionKind};
pub use config::{HealthPolicy, LoadBalancerConfig, LoadBalancingStrategy, Prior};
pub use health::HealthState;
pub use predictor::Predictor;
pub use stats::ModelStats;
pub use target::Target;

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
