//! The engine's parts on their own: diagnosis, providers, nb-breaker's
//! breaker and nb-route's load balancer.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use nb_diagnose::{DiagnosisEngine, Failure, Provider};
use pyo3::prelude::*;
use serde_json::json;

use crate::{diagnosis_json, value_error};

/// Diagnoses an error: its text, and the HTTP status, body, headers, base
/// URL and model when known. Returns the diagnosis as JSON.
#[pyfunction]
#[pyo3(signature = (message, status=None, body=None, headers=None, base_url=None, model=None))]
pub(crate) fn diagnose(
    message: &str,
    status: Option<u16>,
    body: Option<&str>,
    headers: Option<Vec<(String, String)>>,
    base_url: Option<&str>,
    model: Option<&str>,
) -> String {
    static ENGINE: OnceLock<DiagnosisEngine> = OnceLock::new();
    let engine = ENGINE.get_or_init(DiagnosisEngine::default);
    let headers = headers.unwrap_or_default();
    let mut failure = match (status, body) {
        (Some(status), Some(body)) => Failure::http_response(
            status,
            headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
            body,
        ),
        (None, Some(body)) => Failure::message(body),
        (Some(status), None) => Failure::message(message).with_status(status),
        (None, None) => Failure::message(message),
    };
    if let Some(url) = base_url {
        failure = failure.with_base_url(url);
    }
    if let Some(model) = model {
        failure = failure.with_model(model);
    }
    diagnosis_json(&engine.diagnose(&failure)).to_string()
}

/// The provider a base URL or a model name belongs to (`"dashscope"`).
#[pyfunction]
#[pyo3(signature = (base_url=None, model=None))]
pub(crate) fn detect_provider(base_url: Option<&str>, model: Option<&str>) -> &'static str {
    nb_diagnose::detect_provider(base_url, model).as_str()
}

/// A provider's profile as JSON: its timeouts, retries and known limits.
#[pyfunction]
pub(crate) fn get_profile(provider: &str) -> PyResult<String> {
    let p: Provider = provider
        .parse()
        .map_err(|_| value_error(format!("{provider:?} is not a known provider")))?;
    let profile = nb_diagnose::get_profile(p);
    Ok(json!({
        "provider": profile.provider.as_str(),
        "name": profile.name,
        "fast_fail_timeout": profile.fast_fail.as_secs_f64(),
        "standard_timeout": profile.standard.as_secs_f64(),
        "patient_timeout": profile.patient.as_secs_f64(),
        "standard_retries": profile.standard_retries,
        "patient_retries": profile.patient_retries,
        "rpm_limit": profile.rpm_limit,
        "url_patterns": profile.url_patterns,
        "model_prefixes": profile.model_prefixes,
    })
    .to_string())
}

/// nb-breaker's circuit breaker, with a consecutive-failures policy.
#[pyclass(frozen, module = "neuralbridge._native")]
pub(crate) struct Breaker {
    // On the heap: the breaker is cache-line aligned, which Python's
    // allocator of the object does not honour. Shared with the permits.
    breaker: Arc<nb_breaker::CircuitBreaker>,
}

/// A call the breaker admitted, to be recorded once it ends.
#[pyclass(frozen, module = "neuralbridge._native")]
pub(crate) struct Permit {
    permit: Mutex<Option<nb_breaker::Permit<Arc<nb_breaker::CircuitBreaker>>>>,
}

#[pymethods]
impl Permit {
    /// Records the call's outcome (once; later calls do nothing).
    fn record(&self, success: bool) {
        let permit = self
            .permit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let now = Instant::now();
        match permit {
            Some(p) if success => p.success(now),
            Some(p) => p.failure(now),
            None => {}
        }
    }
}

#[pymethods]
impl Breaker {
    #[new]
    fn new(
        failure_threshold: u32,
        recovery_timeout: f64,
        success_threshold: u32,
    ) -> PyResult<Self> {
        let mut config = nb_breaker::CircuitBreakerConfig::consecutive_failures(failure_threshold);
        config.recovery_timeout =
            Duration::try_from_secs_f64(recovery_timeout).map_err(value_error)?;
        config.success_threshold = success_threshold.max(1);
        config.validate().map_err(value_error)?;
        Ok(Self {
            breaker: Arc::new(nb_breaker::CircuitBreaker::new(config)),
        })
    }

    /// `None` when a call may go now, else the seconds until it may.
    fn check(&self) -> Option<f64> {
        self.breaker
            .check(Instant::now())
            .err()
            .map(|r| r.retry_after.as_secs_f64())
    }

    /// Admits a call (a permit to record its outcome with), or `None` when
    /// the breaker refuses it.
    fn acquire(&self) -> Option<Permit> {
        let permit = self.breaker.try_acquire_owned(Instant::now()).ok()?;
        Some(Permit {
            permit: Mutex::new(Some(permit)),
        })
    }

    /// Records one call's outcome; `false` if the breaker refused it.
    fn record(&self, success: bool) -> bool {
        let now = Instant::now();
        match self.breaker.try_acquire(now) {
            Ok(permit) if success => {
                permit.success(now);
                true
            }
            Ok(permit) => {
                permit.failure(now);
                true
            }
            Err(_) => false,
        }
    }

    /// `closed`, `open`, `half_open`, ...
    fn state(&self) -> String {
        self.breaker
            .state(Instant::now())
            .to_string()
            .replace('-', "_")
    }
}

/// nb-route's load balancer over model names.
#[pyclass(frozen, module = "neuralbridge._native")]
pub(crate) struct Balancer {
    // Boxed for its alignment, as the breaker.
    balancer: Box<nb_route::LoadBalancer<String>>,
}

#[pymethods]
impl Balancer {
    #[new]
    fn new(models: Vec<String>, strategy: &str) -> PyResult<Self> {
        use nb_route::LoadBalancingStrategy as S;
        let strategy = match strategy {
            "fallback" => S::Fallback,
            "round_robin" => S::RoundRobin,
            "random" => S::Random,
            "weighted_response_time" => S::WeightedResponseTime,
            "least_connections" => S::LeastConnections,
            "power_of_two_choices" => S::PowerOfTwoChoices,
            other => {
                return Err(value_error(format!(
                    "{other:?} is not a load-balancing strategy"
                )));
            }
        };
        let config = nb_route::LoadBalancerConfig {
            strategy,
            ..nb_route::LoadBalancerConfig::default()
        };
        Ok(Self {
            balancer: Box::new(nb_route::LoadBalancer::new(models, config)),
        })
    }

    /// The model to call next, `None` if every model is out of rotation.
    fn select_model(&self) -> Option<String> {
        let selection = self.balancer.select_model(Instant::now())?;
        let model = selection.target().clone();
        selection.abandon();
        Some(model)
    }

    /// Records a call's result: its latency in seconds and whether it
    /// succeeded.
    fn record_result(&self, model: &str, latency: f64, success: bool) {
        let latency = Duration::try_from_secs_f64(latency).unwrap_or_default();
        self.balancer
            .record_result(model, latency, success, Instant::now());
    }
}
