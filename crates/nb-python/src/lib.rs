//! `neuralbridge._native`: the Rust engine behind the `neuralbridge` Python
//! package. The Python layer (`python/neuralbridge`) gives it the SDK's
//! names and shapes; this module moves JSON across and runs the engine on
//! its own tokio runtime, with the GIL released while it works.
//!
//! Calls cross as JSON text: requests in, responses, chunks, diagnoses and
//! errors out. That keeps this layer thin (the wire types are serde's) and
//! costs a few microseconds against calls that take hundreds of
//! milliseconds.

#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use nb_client::health::HealthReport;
use nb_client::policy::{CategoryPolicy, Fallback, RateLimits, StreamPolicy};
use nb_client::{
    Attempt, ChatRequest, ChatStream, EndpointConfig, Error, ErrorCategory, FailureReport,
    NeuralBridge, StreamEvent,
};
use nb_diagnose::Diagnosis;
use pyo3::IntoPyObjectExt;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use serde_json::{Value, json};

mod parts;

use parts::{Balancer, Breaker, Permit, detect_provider, diagnose, get_profile};

create_exception!(
    _native,
    NativeError,
    PyException,
    "A failed call; its argument is the error as JSON (the Python layer raises NeuralBridgeError)."
);

/// The engine's runtime, shared by every client of the process.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("neuralbridge")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("neuralbridge cannot start its runtime: {e}"))
    })
}

/// Runs `f` (which takes the GIL) without holding up the engine: on one of
/// the runtime's workers it first hands the worker's other tasks to
/// another thread, so Python code waiting for the GIL never stalls the
/// engine's I/O.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A synchronous call made from inside the engine (a validator, a `heal`
/// operation) would block the thread the engine runs it on: refused with
/// a clear error instead.
fn outside_the_engine() -> PyResult<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "a synchronous neuralbridge call cannot run inside the engine (from a validator \
             or a heal operation); use AsyncNeuralBridge there, or call it outside",
        ));
    }
    Ok(())
}

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

// ---- JSON of the engine's results --------------------------------------

fn diagnosis_json(d: &Diagnosis) -> Value {
    json!({
        "category": d.category.as_str(),
        "sub_category": d.sub_category,
        "provider": d.provider.as_str(),
        "confidence": d.confidence,
        "retryable": d.retryable,
        "retry_after": d.retry_after.map(|w| w.as_secs_f64()),
        "status": d.status,
        "root_cause": d.root_cause,
        "suggestions": d
            .suggestions
            .iter()
            .map(|s| json!({"title": s.title, "command": s.command, "why": s.why}))
            .collect::<Vec<_>>(),
    })
}

fn attempt_json(a: &Attempt) -> Value {
    json!({
        "number": a.number(),
        "model": a.model(),
        "endpoint": a.endpoint(),
        "latency": a.latency().as_secs_f64(),
        "success": a.is_success(),
        "hedge": a.is_hedge(),
        "decision": a.decision().as_str(),
        "diagnosis": a.diagnosis().map(diagnosis_json),
    })
}

fn attempts_json(attempts: &[Attempt]) -> Value {
    Value::Array(attempts.iter().map(attempt_json).collect())
}

fn error_json(e: &Error) -> String {
    json!({
        "kind": e.kind().as_str(),
        "message": e.to_string(),
        "diagnosis": e.diagnosis().map(diagnosis_json),
        "attempts": attempts_json(e.attempts()),
        "partial": e.partial(),
        "retry_after": e.retry_after().map(|w| w.as_secs_f64()),
    })
    .to_string()
}

fn native_error(e: &Error) -> PyErr {
    NativeError::new_err(error_json(e))
}

fn health_json(report: &HealthReport) -> Value {
    let models: Vec<Value> = report
        .models
        .iter()
        .map(|m| {
            json!({
                "model": m.model,
                "status": m.status.as_str(),
                "endpoint": m.endpoint,
                "success_rate": m.success_rate,
                "failure_probability": m.failure_probability,
                "calls": m.reliability.calls,
                "mean_latency_ms": m.reliability.mean_latency_ms,
            })
        })
        .collect();
    json!({
        "healthy": report.verdict.as_str() == "healthy",
        "verdict": report.verdict.as_str(),
        "active_models": report.active_models,
        "degraded_models": report.degraded_models,
        "failed_models": report.failed_models,
        "excluded_models": report.excluded_models,
        "recommendations": report.recommendations,
        "window_minutes": report.window_minutes,
        "models": models,
    })
}

// ---- The client's configuration ----------------------------------------

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn endpoint(e: &Value) -> PyResult<EndpointConfig> {
    let name = e.get("name").and_then(Value::as_str).unwrap_or("default");
    let url = e
        .get("base_url")
        .and_then(Value::as_str)
        .ok_or_else(|| value_error(format!("endpoint {name:?} has no base_url")))?;
    let mut config = match e.get("protocol").and_then(Value::as_str) {
        None | Some("openai") => EndpointConfig::openai_compatible(name, url),
        Some("anthropic") => EndpointConfig::anthropic(name, url),
        Some("gemini") => EndpointConfig::gemini(name, url),
        Some(other) => {
            return Err(value_error(format!(
                "endpoint {name:?}: protocol {other:?} is not openai, anthropic or gemini"
            )));
        }
    };
    if let Some(key) = e.get("api_key").and_then(Value::as_str) {
        config = config.api_key(key);
    }
    for key in strings(e, "api_keys") {
        config = config.api_key(key);
    }
    let models = strings(e, "models");
    if !models.is_empty() {
        config = config.models(models);
    }
    let rpm = e.get("rpm").and_then(Value::as_u64);
    let tpm = e.get("tpm").and_then(Value::as_u64);
    if rpm.is_some() || tpm.is_some() {
        config = config.rate_limits(RateLimits {
            requests_per_minute: rpm.map(|r| u32::try_from(r).unwrap_or(u32::MAX)),
            tokens_per_minute: tpm,
            ..RateLimits::default()
        });
    }
    Ok(config)
}

fn policy(name: &str) -> PyResult<CategoryPolicy> {
    Ok(match name {
        "fail" => CategoryPolicy::fail(),
        "fallback" => CategoryPolicy::fallback(),
        "retry_then_fallback" => CategoryPolicy::retry_then_fallback(),
        "fallback_else_retry" => CategoryPolicy::fallback_else_retry(),
        other => {
            return Err(value_error(format!(
                "policy {other:?} is not fail, fallback, retry_then_fallback or fallback_else_retry"
            )));
        }
    })
}

/// A fallback constraint: `any`, `same_model` (or `same-model`),
/// `same_tier` (or `tier`), or a JSON list of the models accepted.
fn fallback(name: Option<&str>) -> PyResult<Fallback> {
    match name {
        None | Some("any") => Ok(Fallback::Any),
        Some("same_model" | "same-model") => Ok(Fallback::SameModel),
        Some("same_tier" | "tier") => Ok(Fallback::SameTier),
        Some(list) if list.starts_with('[') => serde_json::from_str::<Vec<String>>(list)
            .map(Fallback::Models)
            .map_err(|e| value_error(format!("fallback models: {e}"))),
        Some(other) => Err(value_error(format!(
            "fallback {other:?} is not any, same_model, same_tier or a list of models"
        ))),
    }
}

/// Builds a client from the Python layer's configuration (JSON) and an
/// optional validator.
fn build(config: &Value, validator: Option<Py<PyAny>>) -> PyResult<NeuralBridge> {
    let mut b = NeuralBridge::builder();
    if let Some(url) = config.get("base_url").and_then(Value::as_str) {
        b = b.base_url(url);
    }
    if let Some(key) = config.get("api_key").and_then(Value::as_str) {
        b = b.api_key(key);
    }
    for e in config
        .get("endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        b = b.endpoint(endpoint(e)?);
    }
    let fallbacks = strings(config, "fallback_models");
    if !fallbacks.is_empty() {
        b = b.fallback_models(fallbacks);
    }
    if let Some(chains) = config.get("chains").and_then(Value::as_object) {
        for (name, _) in chains {
            b = b.chain(name, strings(&config["chains"], name));
        }
    }
    if let Some(tiers) = config.get("tiers").and_then(Value::as_object) {
        for (name, _) in tiers {
            b = b.capability_tier(name, strings(&config["tiers"], name));
        }
    }
    if let Some(n) = config.get("max_retries").and_then(Value::as_u64) {
        b = b.max_retries(u32::try_from(n).unwrap_or(u32::MAX));
    }
    if let Some(s) = config.get("deadline").and_then(Value::as_f64) {
        b = b.deadline(Duration::try_from_secs_f64(s).map_err(value_error)?);
    }
    if let Some(on) = config.get("verbose").and_then(Value::as_bool) {
        b = b.verbose(on);
    }
    if let Some(on) = config.get("learning").and_then(Value::as_bool) {
        b = b.learning(on);
    }
    if let Some(on) = config.get("schema_guard").and_then(Value::as_bool) {
        b = b.schema_guard(on);
    }
    match config.get("stream_policy").and_then(Value::as_str) {
        None | Some("error") => {}
        Some("continue") => b = b.stream_policy(StreamPolicy::Continue),
        Some(other) => {
            return Err(value_error(format!(
                "stream_policy {other:?} is not error or continue"
            )));
        }
    }
    if let Some(policies) = config.get("policies").and_then(Value::as_object) {
        for (category, name) in policies {
            let c: ErrorCategory = category
                .parse()
                .map_err(|_| value_error(format!("{category:?} is not an error category")))?;
            b = b.policy(c, policy(name.as_str().unwrap_or_default())?);
        }
    }
    if let Some(validator) = validator {
        // Called on an engine thread: takes the GIL for the Python check,
        // which answers `None` (accept) or the reason it rejects.
        b = b.validate(move |completion| {
            let text = serde_json::to_string(completion).unwrap_or_default();
            blocking(|| {
                Python::attach(|py| match validator.call1(py, (text,)) {
                    Ok(reason) if reason.is_none(py) => Ok(()),
                    Ok(reason) => Err(reason.to_string()),
                    Err(e) => Err(format!("the validator raised: {e}")),
                })
            })
        });
    }
    b.build().map_err(value_error)
}

// ---- The client ------------------------------------------------------------

/// The engine's client; the Python `NeuralBridge` and `AsyncNeuralBridge`
/// wrap it.
#[pyclass(frozen, module = "neuralbridge._native")]
struct Client {
    client: NeuralBridge,
}

fn request(text: &str) -> PyResult<ChatRequest> {
    serde_json::from_str(text).map_err(|e| value_error(format!("not a chat request: {e}")))
}

fn response_text(r: &nb_client::ChatResponse) -> String {
    json!({
        "completion": r.completion(),
        "served_by": r.served_by(),
        "endpoint": r.endpoint(),
        "requested_model": r.requested_model(),
        "is_requested_model": r.is_requested_model(),
        "attempts": attempts_json(r.attempts()),
        "degraded": r.degradation().is_some(),
    })
    .to_string()
}

/// Hands `result` to the Python side's `resolve(ok, payload)` (which moves
/// it onto its event loop), from the runtime's blocking pool: a worker
/// never waits for the GIL.
fn resolve(resolver: Py<PyAny>, result: Result<String, String>) {
    tokio::task::spawn_blocking(move || {
        Python::attach(|py| {
            let (ok, payload) = match result {
                Ok(v) => (true, v),
                Err(e) => (false, e),
            };
            if let Err(e) = resolver.call1(py, (ok, payload)) {
                // The loop is gone (closed): nobody is waiting any more.
                e.print(py);
            }
        });
    });
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (config, validator=None))]
    fn new(config: &str, validator: Option<Py<PyAny>>) -> PyResult<Self> {
        let config: Value = serde_json::from_str(config).map_err(value_error)?;
        Ok(Self {
            client: build(&config, validator)?,
        })
    }

    /// A completion through the cascade, the GIL released meanwhile.
    #[pyo3(signature = (request_json, fallback=None))]
    fn create(
        &self,
        py: Python<'_>,
        request_json: &str,
        fallback: Option<&str>,
    ) -> PyResult<String> {
        outside_the_engine()?;
        let req = request(request_json)?;
        let fallback = self::fallback(fallback)?;
        let client = &self.client;
        let result = py.detach(|| runtime().block_on(client.chat().fallback(fallback).create(req)));
        result
            .map(|r| response_text(&r))
            .map_err(|e| native_error(&e))
    }

    /// The same, answered through `resolve(ok, payload)` when done.
    #[pyo3(signature = (request_json, resolver, fallback=None))]
    fn create_async(
        &self,
        request_json: &str,
        resolver: Py<PyAny>,
        fallback: Option<&str>,
    ) -> PyResult<()> {
        let req = request(request_json)?;
        let fallback = self::fallback(fallback)?;
        let client = self.client.clone();
        runtime().spawn(async move {
            let result = client.chat().fallback(fallback).create(req).await;
            resolve(
                resolver,
                result
                    .map(|r| response_text(&r))
                    .map_err(|e| error_json(&e)),
            );
        });
        Ok(())
    }

    /// Opens a stream (failing over until content flows).
    #[pyo3(signature = (request_json, fallback=None))]
    fn stream(
        &self,
        py: Python<'_>,
        request_json: &str,
        fallback: Option<&str>,
    ) -> PyResult<Stream> {
        outside_the_engine()?;
        let req = request(request_json)?;
        let fallback = self::fallback(fallback)?;
        let client = &self.client;
        let opened = py.detach(|| runtime().block_on(client.chat().fallback(fallback).stream(req)));
        let stream = opened.map_err(|e| native_error(&e))?;
        Ok(Stream::new(stream))
    }

    /// Opens a stream, answered through `resolve(ok, payload)` with the
    /// stream kept for [`Stream`]: `payload` is empty when it opened.
    #[pyo3(signature = (request_json, resolver, fallback=None))]
    fn stream_async(
        &self,
        request_json: &str,
        resolver: Py<PyAny>,
        fallback: Option<&str>,
    ) -> PyResult<Stream> {
        let req = request(request_json)?;
        let fallback = self::fallback(fallback)?;
        let client = self.client.clone();
        let handle = Stream::empty();
        let slot = Arc::clone(&handle.stream);
        runtime().spawn(async move {
            match client.chat().fallback(fallback).stream(req).await {
                Ok(s) => {
                    let mut slot = lock(&slot);
                    // Closed while opening: the stream drops here.
                    if !matches!(*slot, Slot::Closed) {
                        *slot = Slot::Ready(s);
                    }
                    drop(slot);
                    resolve(resolver, Ok(String::new()));
                }
                Err(e) => resolve(resolver, Err(error_json(&e))),
            }
        });
        Ok(handle)
    }

    /// The health report, as JSON.
    fn health_status(&self) -> String {
        health_json(&self.client.health_status()).to_string()
    }

    /// Runs `op(model)` (a Python callable) under the cascade: retried or
    /// moved to the next model per the diagnosis of what it raised.
    /// Returns `(value, served_by, attempts JSON)`.
    fn heal(
        &self,
        py: Python<'_>,
        op: Py<PyAny>,
        current_model: &str,
    ) -> PyResult<(Py<PyAny>, String, String)> {
        outside_the_engine()?;
        let client = &self.client;
        let interrupt = Interrupt::default();
        let result = py.detach(|| {
            runtime().block_on(client.heal_with(
                current_model,
                |model| call_op(&op, model, &interrupt),
                classify,
            ))
        });
        healed(py, result, &interrupt)
    }

    /// [`heal`](Self::heal) for an `async def` operation, run on `loop`,
    /// answered through `resolve(ok, payload)` with the payload an index
    /// into `results`, a list the Python side reads.
    fn heal_async(
        &self,
        op: Py<PyAny>,
        current_model: String,
        event_loop: Py<PyAny>,
        resolver: Py<PyAny>,
    ) -> PyResult<()> {
        let client = self.client.clone();
        runtime().spawn(async move {
            let interrupt = Interrupt::default();
            let result = client
                .heal_with(
                    &current_model,
                    |model| {
                        let (op, event_loop) =
                            Python::attach(|py| (op.clone_ref(py), event_loop.clone_ref(py)));
                        let interrupt = interrupt.clone();
                        async move {
                            tokio::task::spawn_blocking(move || {
                                run_coroutine(&op, &event_loop, &model, &interrupt)
                            })
                            .await
                            .unwrap_or_else(|e| Err(Raised::message(e.to_string())))
                        }
                    },
                    classify,
                )
                .await;
            // Settled from the blocking pool: a worker never waits for the GIL.
            tokio::task::spawn_blocking(move || {
                Python::attach(|py| {
                    let settled = healed(py, result, &interrupt).and_then(|t| t.into_py_any(py));
                    let (ok, payload) = match settled {
                        Ok(value) => (true, value),
                        Err(e) => (false, e.into_value(py).into_any()),
                    };
                    if let Err(e) = resolver.call1(py, (ok, payload)) {
                        e.print(py);
                    }
                });
            });
        });
        Ok(())
    }
}

/// A `BaseException` that is not an `Exception` (`KeyboardInterrupt`,
/// `SystemExit`, `asyncio.CancelledError`) raised by a `heal` operation:
/// the heal stops at once and re-raises it.
#[derive(Clone, Default)]
struct Interrupt(Arc<Mutex<Option<PyErr>>>);

impl Interrupt {
    /// Keeps `e` if it interrupts (and says so).
    fn keep(&self, py: Python<'_>, e: &PyErr) -> bool {
        if e.is_instance_of::<PyException>(py) {
            return false;
        }
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.clone_ref(py));
        true
    }

    fn take(&self) -> Option<PyErr> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// What a Python operation raised, with its text for the diagnosis.
struct Raised {
    text: String,
    status: Option<u16>,
    body: Option<String>,
    headers: Vec<(String, String)>,
    // Boxed: a PyErr is large, and this travels in every `Result`.
    error: Option<Box<PyErr>>,
}

impl Raised {
    fn message(text: String) -> Self {
        Self {
            text,
            status: None,
            body: None,
            headers: Vec::new(),
            error: None,
        }
    }

    /// An exception's text, and the status, body and headers of an SDK's
    /// HTTP error, as the Python layer read them (`__neuralbridge_http__`:
    /// the same reading `DiagnosisEngine.diagnose` makes).
    fn of(py: Python<'_>, e: PyErr) -> Self {
        let value = e.value(py);
        let text = value.str().map(|s| s.to_string()).unwrap_or_default();
        type Parts = (Option<u16>, Option<String>, Option<Vec<(String, String)>>);
        let (status, body, headers) = value
            .getattr("__neuralbridge_http__")
            .ok()
            .and_then(|parts| parts.extract::<Parts>().ok())
            .unwrap_or_default();
        Self {
            text,
            status,
            body,
            headers: headers.unwrap_or_default(),
            error: Some(Box::new(e)),
        }
    }

    /// An interruption: diagnosed as the caller's (an invalid request,
    /// which nothing retries), and re-raised as it was.
    fn interrupted() -> Self {
        Self {
            status: Some(400),
            body: Some(
                "the operation was interrupted (KeyboardInterrupt, SystemExit or a cancellation)"
                    .to_owned(),
            ),
            ..Self::message("interrupted".to_owned())
        }
    }
}

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn classify(r: &Raised) -> FailureReport {
    let report = match (r.status, &r.body) {
        (Some(status), Some(body)) => FailureReport::http(status, body.clone()),
        (Some(status), None) => FailureReport::message(r.text.clone()).with_status(status),
        _ => FailureReport::message(r.text.clone()),
    };
    r.headers
        .iter()
        .fold(report, |report, (name, value)| report.header(name, value))
}

/// What an operation's exception becomes: an interruption stops the heal.
fn raised(py: Python<'_>, e: PyErr, interrupt: &Interrupt) -> Raised {
    if interrupt.keep(py, &e) {
        Raised::interrupted()
    } else {
        Raised::of(py, e)
    }
}

/// Calls the operation with the model's name, under the GIL.
async fn call_op(
    op: &Py<PyAny>,
    model: Arc<str>,
    interrupt: &Interrupt,
) -> Result<Py<PyAny>, Raised> {
    Python::attach(|py| {
        op.call1(py, (&*model,))
            .map_err(|e| raised(py, e, interrupt))
    })
}

/// Runs `op(model)`'s coroutine on the caller's event loop and waits for it
/// (on a blocking thread; the wait releases the GIL).
fn run_coroutine(
    op: &Py<PyAny>,
    event_loop: &Py<PyAny>,
    model: &str,
    interrupt: &Interrupt,
) -> Result<Py<PyAny>, Raised> {
    Python::attach(|py| {
        let run = || -> PyResult<Py<PyAny>> {
            let coroutine = op.call1(py, (model,))?;
            let asyncio = py.import("asyncio")?;
            let future = asyncio
                .call_method1("run_coroutine_threadsafe", (coroutine, event_loop.bind(py)))?;
            Ok(future.call_method0("result")?.unbind())
        };
        run().map_err(|e| raised(py, e, interrupt))
    })
}

/// A heal's result for Python: the value, who served and the attempts, or
/// the error (with the operation's last exception as its cause).
fn healed(
    py: Python<'_>,
    result: Result<nb_client::Healed<Py<PyAny>>, nb_client::HealError<Raised>>,
    interrupt: &Interrupt,
) -> PyResult<(Py<PyAny>, String, String)> {
    if let Some(e) = interrupt.take() {
        return Err(e);
    }
    match result {
        Ok(h) => {
            let served_by = h.served_by().to_owned();
            let attempts = attempts_json(h.attempts()).to_string();
            Ok((h.into_inner(), served_by, attempts))
        }
        Err(e) => {
            let (error, last) = e.into_parts();
            let err = native_error(&error);
            if let Some(cause) = last.and_then(|r| r.error) {
                err.set_cause(py, Some(*cause));
            }
            Err(err)
        }
    }
}

// ---- Streams ---------------------------------------------------------------

/// A stream being read: `next()` blocks with the GIL released;
/// `next_async(resolve)` answers on the event loop.
#[pyclass(frozen, module = "neuralbridge._native")]
struct Stream {
    stream: Arc<Mutex<Slot>>,
}

/// Where a stream is.
enum Slot {
    /// Not open yet (an asyncio open under way).
    Opening,
    Ready(ChatStream),
    /// A read is under way (the stream is with it).
    Reading,
    /// Closed by the caller: the upstream request is cancelled.
    Closed,
}

impl Stream {
    fn new(stream: ChatStream) -> Self {
        Self {
            stream: Arc::new(Mutex::new(Slot::Ready(stream))),
        }
    }

    fn empty() -> Self {
        Self {
            stream: Arc::new(Mutex::new(Slot::Opening)),
        }
    }
}

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One event as `(kind, JSON)`: `chunk`, `restarted`, `done`; `None` at
/// the end; an error as `Err`.
fn event_json(
    event: Option<Result<StreamEvent, Error>>,
) -> Result<Option<(String, String)>, Error> {
    let Some(event) = event else {
        return Ok(None);
    };
    Ok(Some(match event? {
        StreamEvent::Chunk(chunk) => (
            "chunk".to_owned(),
            serde_json::to_string(&chunk).unwrap_or_default(),
        ),
        StreamEvent::Restarted {
            model,
            endpoint,
            reason,
        } => (
            "restarted".to_owned(),
            json!({"model": model, "endpoint": endpoint, "reason": diagnosis_json(&reason)})
                .to_string(),
        ),
        StreamEvent::Done(summary) => (
            "done".to_owned(),
            json!({
                "served_by": summary.served_by(),
                "endpoint": summary.endpoint(),
                "usage": summary.usage(),
                "attempts": attempts_json(summary.attempts()),
                "requested_model": summary.requested_model(),
                "is_requested_model": summary.is_requested_model(),
                "restarted": summary.restarted(),
            })
            .to_string(),
        ),
        _ => ("other".to_owned(), "{}".to_owned()),
    }))
}

/// Why a read cannot start.
const BUSY: &str =
    "another read of this stream is under way: read a stream from one place at a time";
const NOT_OPEN: &str = "the stream is not open yet";

/// The next event; `Err` when a read cannot start.
async fn next_of(slot: &Mutex<Slot>) -> Result<Option<Result<StreamEvent, Error>>, &'static str> {
    let mut stream = {
        let mut guard = lock(slot);
        match std::mem::replace(&mut *guard, Slot::Reading) {
            Slot::Ready(stream) => stream,
            Slot::Reading => return Err(BUSY),
            Slot::Opening => {
                *guard = Slot::Opening;
                return Err(NOT_OPEN);
            }
            Slot::Closed => {
                *guard = Slot::Closed;
                return Ok(None);
            }
        }
    };
    // If the reader goes away (a cancelled `__anext__`), the stream goes
    // back for the next read, with this event lost to no one: it was not
    // read yet when the future was dropped.
    let event = stream.next().await;
    let mut guard = lock(slot);
    if matches!(*guard, Slot::Reading) {
        *guard = Slot::Ready(stream);
    }
    // Else it was closed meanwhile: the stream drops here.
    Ok(event)
}

fn busy(reason: &str) -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err(reason.to_owned())
}

#[pymethods]
impl Stream {
    /// The next event, or `None` at the end.
    fn next(&self, py: Python<'_>) -> PyResult<Option<(String, String)>> {
        outside_the_engine()?;
        let slot = &self.stream;
        let event = py
            .detach(|| runtime().block_on(next_of(slot)))
            .map_err(busy)?;
        event_json(event).map_err(|e| native_error(&e))
    }

    /// The next event through `resolve(ok, payload)`: the payload is
    /// `[kind, json]` as JSON, or `null` at the end, or the error.
    fn next_async(&self, resolver: Py<PyAny>) {
        let slot = Arc::clone(&self.stream);
        runtime().spawn(async move {
            let result = match next_of(&slot).await {
                Ok(event) => event_json(event)
                    .map(|e| serde_json::to_string(&e).unwrap_or_default())
                    .map_err(|e| error_json(&e)),
                Err(reason) => Err(json!({"kind": "config", "message": reason}).to_string()),
            };
            resolve(resolver, result);
        });
    }

    /// The model serving now, if any.
    fn served_by(&self) -> Option<String> {
        match &*lock(&self.stream) {
            Slot::Ready(stream) => stream.served_by().map(str::to_owned),
            _ => None,
        }
    }

    /// Ends the stream, cancelling the upstream request (at once, or when
    /// a read under way returns).
    fn close(&self) {
        *lock(&self.stream) = Slot::Closed;
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add_class::<Client>()?;
    m.add_class::<Stream>()?;
    m.add_class::<Breaker>()?;
    m.add_class::<Permit>()?;
    m.add_class::<Balancer>()?;
    m.add_function(wrap_pyfunction!(diagnose, m)?)?;
    m.add_function(wrap_pyfunction!(detect_provider, m)?)?;
    m.add_function(wrap_pyfunction!(get_profile, m)?)?;
    Ok(())
}
