//! `neuralbridge diagnose`: send one minimal chat request to a live endpoint, time it, and
//! diagnose what came back.

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use nb_client::transport::{
    Endpoint, HyperTransport, RequestOptions, Timeouts, Transport, TransportError,
};
use nb_client::wire::ChatCompletionRequest;
use nb_client::{ApiKey, ChatCompletion};
use nb_diagnose::{
    Diagnosis, DiagnosisEngine, ErrorCategory, Failure, ObservedLimits, Provider, detect_provider,
    get_profile, rate_limit_headers,
};
use serde::Serialize;

use crate::args::print;
use crate::diagnose_error::WithAction;
use crate::exit::{CliError, CliResult, Exit};
use crate::render;

/// The prompt of the test request: short, cheap, and answerable by any chat model.
const PROMPT: &str = "Reply with the single word: ok";

/// The largest success body read (a one-word answer is a few hundred bytes).
const MAX_SUCCESS_BODY: usize = 1 << 20;

/// Where the key comes from. The key itself is only ever handed to the request builder.
#[derive(Debug)]
pub(crate) enum KeySource {
    /// No key: the request goes without `Authorization`.
    None,
    /// `--api-key`.
    Flag(ApiKey),
    /// `--api-key-env VAR`.
    Env { var: String, key: ApiKey },
}

impl KeySource {
    /// Resolves `--api-key` / `--api-key-env` (clap makes them exclusive).
    pub(crate) fn resolve(key: Option<&str>, env: Option<&str>) -> Result<Self, CliError> {
        if let Some(key) = key {
            if key.trim().is_empty() {
                return Err(CliError::usage("--api-key is empty"));
            }
            return Ok(Self::Flag(ApiKey::new(key.trim())));
        }
        let Some(var) = env else {
            return Ok(Self::None);
        };
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(Self::Env {
                var: var.to_owned(),
                key: ApiKey::new(key.trim()),
            }),
            Ok(_) => Err(CliError::usage(format!(
                "environment variable {var} is empty"
            ))),
            Err(_) => Err(CliError::usage(format!(
                "environment variable {var} is not set (export {var}=... or pass --api-key)"
            ))),
        }
    }

    fn key(&self) -> Option<&ApiKey> {
        match self {
            Self::None => None,
            Self::Flag(key) | Self::Env { key, .. } => Some(key),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::None => "none (pass --api-key-env VAR to send one)".to_owned(),
            Self::Flag(_) => "given with --api-key (not shown)".to_owned(),
            Self::Env { var, .. } => format!("from ${var} (not shown)"),
        }
    }
}

/// The `diagnose` command's inputs, validated.
#[derive(Debug)]
pub(crate) struct Probe {
    pub(crate) base_url: String,
    pub(crate) model: String,
    pub(crate) key: KeySource,
    pub(crate) timeout: Duration,
    pub(crate) json: bool,
}

/// What the test request produced.
#[derive(Debug)]
enum Outcome {
    Healthy {
        completion: ChatCompletion,
        limits: ObservedLimits,
    },
    Failed(Diagnosis),
}

/// Runs the probe and prints the report.
pub(crate) async fn run(probe: Probe) -> CliResult {
    let endpoint = Endpoint::openai_compatible(&probe.base_url)
        .map_err(|e| CliError::usage(format!("--base-url {}: {e}", probe.base_url)))?;
    if probe.model.trim().is_empty() {
        return Err(CliError::usage("--model is empty"));
    }
    let transport = HyperTransport::builder()
        .connect_timeout(Some(probe.timeout))
        .build()
        .map_err(|e| CliError::runtime(format!("cannot set up HTTP: {e}")))?;
    let provider = detect_provider(Some(endpoint.base_url()), Some(&probe.model));

    if !probe.json {
        let mut head = String::new();
        let _ = writeln!(head, "NeuralBridge diagnostic: is this endpoint healthy?\n");
        let _ = writeln!(head, "  Testing:  {}", endpoint.base_url());
        let _ = writeln!(head, "  Model:    {}", probe.model);
        let _ = writeln!(head, "  Provider: {}", render::provider_name(provider));
        let _ = writeln!(head, "  Key:      {}", probe.key.describe());
        let _ = writeln!(head, "  Timeout:  {:.1} s\n", probe.timeout.as_secs_f64());
        let _ = writeln!(head, "▶ Sending test request...");
        print(&head)?;
    }

    let engine = DiagnosisEngine::new();
    let started = Instant::now();
    let sent = send(&transport, &endpoint, &probe).await;
    let elapsed = started.elapsed();
    let (status, outcome) = match sent? {
        Sent::Response {
            status,
            headers,
            body,
        } => (
            Some(status.as_u16()),
            judge(&engine, &endpoint, &probe, status, &headers, &body),
        ),
        Sent::Failed(e) => {
            let text = e.to_string();
            let failure = Failure::transport(e.kind(), text.as_str());
            let failure = failure
                .with_base_url(endpoint.base_url())
                .with_model(&probe.model);
            (None, Outcome::Failed(engine.diagnose(&failure)))
        }
    };

    let mut out = String::new();
    if probe.json {
        let (healthy, served_by, diagnosis) = match &outcome {
            Outcome::Healthy { completion, .. } => (true, Some(completion.model.as_str()), None),
            Outcome::Failed(d) => (false, None, Some(d)),
        };
        let report = JsonReport {
            healthy,
            base_url: endpoint.base_url(),
            model: &probe.model,
            provider: provider.as_str(),
            status,
            latency_ms: elapsed.as_secs_f64() * 1000.0,
            served_by,
            diagnosis: diagnosis.map(WithAction::of),
        };
        out = serde_json::to_string_pretty(&report).map_err(CliError::runtime)?;
        out.push('\n');
    } else {
        let status_text = status.map_or_else(|| "no response".to_owned(), |s| format!("HTTP {s}"));
        let _ = writeln!(
            out,
            "  Response time: {} ({status_text})\n",
            render::duration(elapsed)
        );
        let _ = writeln!(out, "▶ Running diagnosis...\n");
        match &outcome {
            Outcome::Healthy { completion, limits } => {
                healthy_report(&mut out, completion, limits, elapsed, provider);
            }
            Outcome::Failed(d) => {
                render::diagnosis(&mut out, d);
                if let Some(step) = next_step(d, &probe, endpoint.base_url(), provider) {
                    render::section(&mut out, "NEXT STEP");
                    let _ = writeln!(out, "{step}");
                }
            }
        }
    }
    if let Some(key) = probe.key.key() {
        out = scrub_key(out, key.expose());
    }
    print(&out)?;
    Ok(match &outcome {
        Outcome::Healthy { .. } => Exit::Ok,
        Outcome::Failed(d) => Exit::for_diagnosis(d),
    })
}

/// Keys shorter than this are not scrubbed: masking every three-letter run
/// that happens to equal a toy key would garble the report, and no provider
/// issues keys that short.
const SHORTEST_SCRUBBED_KEY: usize = 8;

/// The report with every copy of `key` masked. nb-diagnose already masks
/// what looks like a key (`sk-...`, `Bearer ...`), but a provider may echo a
/// key with no recognisable prefix (Azure's hex keys, a self-hosted server's
/// token); here the exact key is known, so no shape needs guessing.
fn scrub_key(report: String, key: &str) -> String {
    if key.len() < SHORTEST_SCRUBBED_KEY {
        return report;
    }
    let mut report = report;
    // In --json output the key may appear escaped.
    let escaped = serde_json::to_string(key).unwrap_or_default();
    let escaped = escaped.trim_matches('"');
    for form in [key, escaped] {
        if !form.is_empty() && report.contains(form) {
            report = report.replace(form, "***");
        }
    }
    report
}

/// `diagnose --json`'s report.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    healthy: bool,
    base_url: &'a str,
    model: &'a str,
    provider: &'a str,
    status: Option<u16>,
    latency_ms: f64,
    served_by: Option<&'a str>,
    diagnosis: Option<WithAction<'a>>,
}

/// What the wire gave back: a whole response, or a transport error.
#[derive(Debug)]
enum Sent {
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    Failed(TransportError),
}

/// Sends the test request and reads the whole response (this is what is timed).
async fn send(
    transport: &HyperTransport,
    endpoint: &Endpoint,
    probe: &Probe,
) -> Result<Sent, CliError> {
    let request = ChatCompletionRequest::new(probe.model.trim()).user_message(PROMPT);
    let request = endpoint
        .chat_request(probe.key.key(), &request)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let options = RequestOptions {
        timeouts: Timeouts {
            total: Some(probe.timeout),
            ..Timeouts::default()
        },
        max_body: Some(MAX_SUCCESS_BODY),
        ..RequestOptions::default()
    };
    let response = match transport.send(request, options).await {
        Ok(response) => response,
        Err(e) => return Ok(Sent::Failed(e)),
    };
    let (parts, body) = response.into_parts();
    Ok(match body.collect_capped(MAX_SUCCESS_BODY).await {
        Ok(body) => Sent::Response {
            status: parts.status,
            headers: parts.headers,
            body,
        },
        Err(e) => Sent::Failed(e),
    })
}

/// Judges a whole response: a chat completion with at least one choice is healthy;
/// anything else is diagnosed.
fn judge(
    engine: &DiagnosisEngine,
    endpoint: &Endpoint,
    probe: &Probe,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Outcome {
    let pairs = || headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()));
    let diagnose = |f: Failure<'_>| {
        let f = f
            .with_base_url(endpoint.base_url())
            .with_model(&probe.model);
        Outcome::Failed(engine.diagnose(&f))
    };
    if !status.is_success() {
        return diagnose(Failure::http_response(status.as_u16(), pairs(), body));
    }
    match serde_json::from_slice::<ChatCompletion>(body) {
        Ok(completion) if !completion.choices.is_empty() => Outcome::Healthy {
            limits: rate_limit_headers(pairs(), SystemTime::now()),
            completion,
        },
        Ok(_) => {
            diagnose(Failure::malformed(body, "the completion has no choices").headers(pairs()))
        }
        Err(e) => {
            let reason = format!("the body is not a chat completion: {e}");
            diagnose(Failure::malformed(body, &reason).headers(pairs()))
        }
    }
}

/// A command to run next, with the user's own base URL, model and key variable (never the
/// key): what to check or how to try again, depending on what failed.
fn next_step(d: &Diagnosis, probe: &Probe, base_url: &str, provider: Provider) -> Option<String> {
    let var = match &probe.key {
        KeySource::Env { var, .. } => var.clone(),
        KeySource::None | KeySource::Flag(_) => key_variable(provider),
    };
    let rerun = |key: bool, timeout: Duration| {
        let key = if key {
            format!(" --api-key-env {var}")
        } else {
            String::new()
        };
        format!(
            "neuralbridge diagnose --base-url {base_url} --model {}{key} --timeout {}",
            probe.model,
            timeout.as_secs_f64()
        )
    };
    let has_key = !matches!(probe.key, KeySource::None);
    let step = match d.category {
        // A wrong path or an operation the endpoint does not offer: its address.
        ErrorCategory::InvalidRequest if d.about_target => format!(
            "Check the endpoint's address: the base URL is everything before /chat/completions \
             (for example https://api.openai.com/v1):\n  {}",
            rerun(has_key, probe.timeout)
        ),
        ErrorCategory::Auth => format!(
            "Put a valid key in the environment and try again:\n  export {var}=...\n  {}",
            rerun(true, probe.timeout)
        ),
        ErrorCategory::ModelNotFound | ErrorCategory::Permission => format!(
            "List the models this key may use, then pass one with --model:\n  curl -s {base_url}/models -H \"Authorization: Bearer ${var}\""
        ),
        ErrorCategory::Timeout => format!(
            "Try again with a longer timeout to see whether it answers at all:\n  {}",
            rerun(has_key, probe.timeout.saturating_mul(2))
        ),
        ErrorCategory::Network => {
            format!("See where the connection fails:\n  curl -sv {base_url}/models -o /dev/null")
        }
        ErrorCategory::RateLimit | ErrorCategory::Overloaded | ErrorCategory::ServerError => {
            let wait = d.retry_after.map_or(30, |w| w.as_secs_f64().ceil() as u64);
            format!(
                "Check again once the provider has had time to recover:\n  sleep {wait} && {}",
                rerun(has_key, probe.timeout)
            )
        }
        _ => return None,
    };
    Some(step)
}

/// The environment variable people usually keep a provider's key in.
fn key_variable(provider: Provider) -> String {
    match provider {
        Provider::Unknown => "API_KEY".to_owned(),
        Provider::AzureOpenAi => "AZURE_OPENAI_API_KEY".to_owned(),
        Provider::Vertex => "GOOGLE_API_KEY".to_owned(),
        p => format!("{}_API_KEY", p.as_str().to_uppercase()),
    }
}

fn healthy_report(
    out: &mut String,
    completion: &ChatCompletion,
    limits: &ObservedLimits,
    elapsed: Duration,
    provider: Provider,
) {
    render::banner(out, "✓ HEALTHY");
    let profile = get_profile(provider);
    let tier = if elapsed <= profile.fast_fail {
        format!(
            "within the fast-fail tier ({})",
            render::duration(profile.fast_fail)
        )
    } else if elapsed <= profile.standard {
        format!(
            "within the standard tier ({})",
            render::duration(profile.standard)
        )
    } else {
        format!(
            "slower than the standard tier ({}): expect timeouts under load",
            render::duration(profile.standard)
        )
    };
    let served = if completion.model.is_empty() {
        "(the response does not say)"
    } else {
        completion.model.as_str()
    };
    let _ = writeln!(out, "Served by: {served}");
    render::wrapped(
        out,
        "Latency:   ",
        &format!("{}, {tier}", render::duration(elapsed)),
    );
    if let Some(text) = completion.text() {
        render::wrapped(
            out,
            "Answer:    ",
            &format!("\"{}\"", render::clip(text, 120)),
        );
    }
    if let Some(u) = &completion.usage {
        let _ = writeln!(
            out,
            "Usage:     {} prompt + {} completion = {} tokens",
            u.prompt_tokens, u.completion_tokens, u.total_tokens
        );
    }
    if !limits.is_empty() {
        let mut parts = Vec::new();
        if let Some(r) = limits.remaining_requests {
            let of = limits
                .limit_requests
                .map(|l| format!(" of {l}"))
                .unwrap_or_default();
            parts.push(format!("{r}{of} requests"));
        }
        if let Some(r) = limits.remaining_tokens {
            let of = limits
                .limit_tokens
                .map(|l| format!(" of {l}"))
                .unwrap_or_default();
            parts.push(format!("{r}{of} tokens"));
        }
        if !parts.is_empty() {
            render::wrapped(
                out,
                "Remaining: ",
                &format!("{} in this window", parts.join(", ")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_flag_or_the_environment() {
        assert!(matches!(
            KeySource::resolve(None, None),
            Ok(KeySource::None)
        ));
        let k = KeySource::resolve(Some(" sk-1 "), None).unwrap();
        assert_eq!(k.key().map(ApiKey::expose), Some("sk-1"));
        assert!(!k.describe().contains("sk-1"));
        let err = KeySource::resolve(None, Some("NB_CLI_TEST_SURELY_UNSET_VAR")).unwrap_err();
        assert!(
            err.to_string()
                .contains("NB_CLI_TEST_SURELY_UNSET_VAR is not set")
        );
        assert_eq!(err.exit(), Exit::Usage);
        assert!(KeySource::resolve(Some("  "), None).is_err());
    }

    #[test]
    fn the_exact_key_is_scrubbed_in_any_form() {
        let key = "0123456789abcdef\"quoted";
        let text = format!("invalid key {key}; again {key}");
        assert_eq!(scrub_key(text, key), "invalid key ***; again ***");
        let json = serde_json::to_string(&format!("echo {key}")).unwrap();
        assert_eq!(scrub_key(json, key), "\"echo ***\"");
        assert_eq!(
            scrub_key("a short key: abc".to_owned(), "abc"),
            "a short key: abc",
            "keys too short to be real are left alone"
        );
    }
}
