//! The client a configuration describes.

use nb_client::health::JsonFileStore;
use nb_client::{NeuralBridge, NeuralBridgeBuilder};

use super::ServeConfig;

impl ServeConfig {
    /// The client builder for this configuration (with the keys read at validation).
    pub(crate) fn builder(&self) -> NeuralBridgeBuilder {
        let parts = self.builder_parts.clone();
        let mut b = NeuralBridge::builder();
        for e in parts.endpoints {
            b = b.endpoint(e);
        }
        for (alias, chain) in parts.aliases {
            b = b.chain(alias, chain);
        }
        b = b.fallback_models(parts.fallbacks).breaker(parts.breaker);
        for (target, breaker) in parts.breakers {
            b = b.breaker_for(target, breaker);
        }
        if let Some(rules) = parts.validation {
            b = b.validate(move |completion| rules.check(completion));
        }
        if let Some(n) = parts.max_retries {
            b = b.max_retries(n);
        }
        if let Some(d) = parts.deadline {
            b = b.deadline(d);
        }
        if let Some(s) = parts.stream {
            b = b.stream_policy(s);
        }
        if let Some(l) = parts.ladder {
            b = b.timeout_ladder(l);
        }
        if let Some(t) = parts.idle_timeout {
            b = b.idle_timeout(t);
        }
        if let Some(on) = parts.learning {
            b = b.learning(on);
        }
        if let Some(dir) = &self.state_dir {
            b = b.state_store(JsonFileStore::new(dir));
        }
        // The URL was checked when the file was read.
        if let Some((url, prefix)) = &self.shared_state
            && let Ok(store) = nb_redis::RedisStore::new(url)
        {
            b = b.shared_state(store.prefix(prefix));
        }
        for (name, models) in parts.tiers {
            b = b.capability_tier(name, models);
        }
        if let Some(on) = parts.schema_guard {
            b = b.schema_guard(on);
        }
        for (category, policy) in parts.policies {
            b = b.policy(category, policy);
        }
        if let Some(s) = parts.strategy {
            b = b.strategy(s);
        }
        if let Some(t) = parts.wait_threshold {
            b = b.wait_threshold(t);
        }
        if let Some(r) = parts.retry_budget {
            b = b.retry_budget(r);
        }
        if let Some(d) = parts.degradation {
            b = b.degrade(d);
        }
        b.hedging(parts.hedging)
    }
}
