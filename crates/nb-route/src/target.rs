//! What a balancer balances over.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

/// Something a [`LoadBalancer`](crate::LoadBalancer) can send a request to:
/// a model name, or a richer "model M at endpoint E with key K".
///
/// Two targets are the same target when they are equal; stats are kept per
/// target. [`name`](Target::name) is the key shown in stats and passed to a
/// [`Predictor`](crate::Predictor), so targets that share a model name share
/// its predicted failure probability.
///
/// Implemented for `String`, `Arc<str>` and `&'static str`. A richer target
/// is a small struct:
///
/// ```
/// use std::sync::Arc;
///
/// use nb_route::Target;
///
/// #[derive(Debug, Clone, PartialEq, Eq, Hash)]
/// struct Endpoint {
///     model: Arc<str>,
///     base_url: Arc<str>,
///     key_id: u32, // an index into a key pool, never the key itself
/// }
///
/// impl Target for Endpoint {
///     fn name(&self) -> &str {
///         &self.model
///     }
/// }
/// ```
///
/// Cloning a target should be cheap (the balancer clones it for
/// [`targets`](crate::LoadBalancer::targets) and stats snapshots, never on
/// the selection hot path).
pub trait Target: Clone + Eq + Hash + fmt::Debug + Send + Sync + 'static {
    /// The model name: the key shown in stats and passed to the predictor.
    fn name(&self) -> &str;
}

impl Target for String {
    fn name(&self) -> &str {
        self
    }
}

impl Target for Arc<str> {
    fn name(&self) -> &str {
        self
    }
}

impl Target for &'static str {
    fn name(&self) -> &str {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provided_target_is_named_by_its_string() {
        assert_eq!(Target::name(&String::from("gpt-4o")), "gpt-4o");
        assert_eq!(Target::name(&Arc::<str>::from("qwen-max")), "qwen-max");
        assert_eq!(Target::name(&"deepseek-chat"), "deepseek-chat");
    }
}
