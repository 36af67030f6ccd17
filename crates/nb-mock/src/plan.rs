//! A scenario prepared for serving: name lookup and the per-request decision.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::fault::Fault;
use crate::rule::Conditions;
use crate::scenario::{ModelBehavior, Scenario, UnknownModel};

/// Salt of the jitter draw; rule draws use the rule's index, far below it.
const JITTER_SALT: u64 = u64::MAX;
/// Salt of the generation-time draw, independent of the latency's.
const GENERATION_SALT: u64 = u64::MAX - 1;

/// A scenario with its models indexed by name.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) scenario: Scenario,
    models: Vec<PlannedModel>,
    by_name: HashMap<Arc<str>, usize>,
}

#[derive(Debug)]
struct PlannedModel {
    name: Arc<str>,
    hash: u64,
}

/// What the server decided to do with one request.
#[derive(Debug)]
pub(crate) struct Decision {
    /// Index of the model in the scenario, `None` for a model it does not name.
    pub(crate) model: Option<usize>,
    /// The model's name, shared with the log.
    pub(crate) name: Arc<str>,
    /// Which request for this model it is, from 1.
    pub(crate) attempt: u32,
    /// The fault to commit, if any.
    pub(crate) fault: Option<Fault>,
    /// Whether the model failed every request like this one at this moment (a rule with no
    /// probability and no attempt range applied): the request could not have succeeded.
    pub(crate) certain_failure: bool,
    /// Latency to pay before anything else.
    pub(crate) latency: Duration,
    /// How long writing the whole answer takes, after the latency.
    pub(crate) generation: Duration,
}

impl Plan {
    pub(crate) fn new(scenario: Scenario) -> Self {
        let models: Vec<PlannedModel> = scenario
            .models()
            .iter()
            .map(|model| PlannedModel {
                name: Arc::from(model.name()),
                hash: fnv1a(model.name()),
            })
            .collect();
        let by_name = models
            .iter()
            .enumerate()
            .map(|(index, model)| (Arc::clone(&model.name), index))
            .collect();
        Plan {
            scenario,
            models,
            by_name,
        }
    }

    /// The shared name for `model`: the scenario's own when it names the model.
    pub(crate) fn name(&self, model: &str) -> Option<&Arc<str>> {
        self.by_name
            .get(model)
            .map(|&index| &self.models[index].name)
    }

    pub(crate) fn behavior(&self, index: usize) -> Option<&ModelBehavior> {
        self.scenario.models().get(index)
    }

    /// Decides what happens to a request for `name`.
    pub(crate) fn decide(&self, name: Arc<str>, request: &Conditions<'_>) -> Decision {
        let attempt = request.attempt;
        let Some(&index) = self.by_name.get(&*name) else {
            let fault = match self.scenario.unknown_model() {
                UnknownModel::Serve => None,
                UnknownModel::NotFound => Some(Fault::ModelNotFound),
            };
            return Decision {
                model: None,
                name,
                attempt,
                certain_failure: fault.is_some(),
                fault,
                latency: Duration::ZERO,
                generation: Duration::ZERO,
            };
        };
        let behavior = &self.scenario.models()[index];
        let hash = self.models[index].hash;
        let seed = self.scenario.seed();
        let fault = behavior
            .rules()
            .iter()
            .enumerate()
            .find(|(position, rule)| {
                rule.selects(request)
                    && rule
                        .chance()
                        .is_none_or(|p| draw(seed, hash, attempt, *position as u64) < p)
            })
            .map(|(_, rule)| rule.fault().clone());
        let certain_failure = fault.as_ref().is_some_and(Fault::is_failure)
            && behavior
                .rules()
                .iter()
                .any(|rule| rule.fails_every(request));
        let jittered = |base: Duration, jitter: Duration, salt: u64| {
            if jitter.is_zero() {
                base
            } else {
                base + jitter.mul_f64(draw(seed, hash, attempt, salt))
            }
        };
        Decision {
            model: Some(index),
            name,
            attempt,
            fault,
            certain_failure,
            latency: jittered(behavior.base_latency(), behavior.max_jitter(), JITTER_SALT),
            generation: jittered(
                behavior.base_generation(),
                behavior.max_generation_jitter(),
                GENERATION_SALT,
            ),
        }
    }
}

/// A uniform number in `[0, 1)`, a pure function of its inputs.
fn draw(seed: u64, model: u64, attempt: u32, salt: u64) -> f64 {
    let mut x = seed;
    x = splitmix64(x ^ model);
    x = splitmix64(x ^ u64::from(attempt));
    x = splitmix64(x ^ salt);
    // The top 53 bits fill an f64 mantissa exactly.
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a: a stable hash of a model name (std's hasher is seeded per process).
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::ScenarioRule;
    use crate::scenario::ModelBehavior;

    fn plan(model: ModelBehavior) -> Plan {
        Plan::new(Scenario::builder().seed(7).model(model).build().unwrap())
    }

    fn conditions(attempt: u32, elapsed: Duration, text: &str) -> Conditions<'_> {
        Conditions {
            attempt,
            elapsed,
            stream: false,
            prefill: false,
            text,
        }
    }

    fn decide(plan: &Plan, attempt: u32) -> Decision {
        plan.decide(Arc::from("m"), &conditions(attempt, Duration::ZERO, ""))
    }

    #[test]
    fn draws_are_uniform_enough_and_reproducible() {
        let draws: Vec<f64> = (0..10_000).map(|a| draw(1, 2, a, 3)).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert_eq!(draw(1, 2, 5, 3), draws[5]);
        assert_ne!(draw(1, 2, 5, 3), draw(2, 2, 5, 3));
    }

    #[test]
    fn probability_rules_fail_a_fixed_share_of_attempts() {
        let plan = plan(
            ModelBehavior::new("m").rule(ScenarioRule::new(Fault::ServerError).probability(0.25)),
        );
        let failed: Vec<u32> = (1..=2000)
            .filter(|&a| decide(&plan, a).fault.is_some())
            .collect();
        let share = failed.len() as f64 / 2000.0;
        assert!((share - 0.25).abs() < 0.04, "share {share}");
        let again: Vec<u32> = (1..=2000)
            .filter(|&a| decide(&plan, a).fault.is_some())
            .collect();
        assert_eq!(failed, again);
    }

    #[test]
    fn jitter_stays_within_bounds_and_varies() {
        let plan = plan(
            ModelBehavior::new("m")
                .latency(Duration::from_millis(100))
                .jitter(Duration::from_millis(50)),
        );
        let latencies: Vec<Duration> = (1..=100).map(|a| decide(&plan, a).latency).collect();
        assert!(
            latencies
                .iter()
                .all(|l| *l >= Duration::from_millis(100) && *l < Duration::from_millis(150))
        );
        assert!(latencies.iter().any(|l| *l != latencies[0]));
    }

    #[test]
    fn generation_time_stays_within_bounds_and_is_drawn_apart_from_latency() {
        let ms = Duration::from_millis;
        let long = plan(
            ModelBehavior::new("m")
                .latency(ms(30))
                .jitter(ms(10))
                .generation(ms(20_000))
                .generation_jitter(ms(40_000)),
        );
        let decisions: Vec<Decision> = (1..=200).map(|a| decide(&long, a)).collect();
        assert!(
            decisions
                .iter()
                .all(|d| d.generation >= ms(20_000) && d.generation < ms(60_000))
        );
        assert!(decisions.iter().all(|d| d.latency < ms(40)));
        let shortest = decisions.iter().map(|d| d.generation).min().unwrap();
        let longest = decisions.iter().map(|d| d.generation).max().unwrap();
        assert!(
            shortest < ms(25_000) && longest > ms(55_000),
            "{shortest:?} to {longest:?}"
        );
        // A draw of its own: not the latency's fraction of its jitter.
        let fraction = |value: Duration, base: u64, jitter: u64| {
            (value.as_secs_f64() * 1000.0 - base as f64) / jitter as f64
        };
        assert!(decisions.iter().any(|d| {
            (fraction(d.latency, 30, 10) - fraction(d.generation, 20_000, 40_000)).abs() > 0.1
        }));
        assert_eq!(
            decide(&plan(ModelBehavior::new("m")), 1).generation,
            Duration::ZERO
        );
    }

    #[test]
    fn first_matching_rule_wins() {
        let plan = plan(
            ModelBehavior::new("m")
                .rule(ScenarioRule::new(Fault::InvalidApiKey).attempts(2..=2))
                .rule(ScenarioRule::new(Fault::ServerError).attempts(..=3)),
        );
        let faults: Vec<Option<&str>> = (1..=4)
            .map(|a| decide(&plan, a).fault.map(|f| f.name()))
            .collect();
        assert_eq!(
            faults,
            [
                Some("server_error"),
                Some("invalid_api_key"),
                Some("server_error"),
                None
            ]
        );
    }

    #[test]
    fn unknown_models_follow_the_scenario_setting() {
        let plan = plan(ModelBehavior::new("m"));
        let decision = plan.decide(Arc::from("other"), &conditions(1, Duration::ZERO, ""));
        assert_eq!(decision.fault, Some(Fault::ModelNotFound));
        assert_eq!(decision.model, None);
    }
}
