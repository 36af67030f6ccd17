//! `neuralbridge`: the NeuralBridge command.
//!
//! ```text
//! neuralbridge demo                                  # the client against misbehaving providers
//! neuralbridge diagnose-error "throttling.ratequota: 请求速度超限" --status-code 429
//! neuralbridge diagnose --base-url https://api.openai.com/v1 --model gpt-4o-mini --api-key-env OPENAI_API_KEY
//! neuralbridge providers
//! neuralbridge mock --scenario crates/nb-mock/scenarios/demo.toml --port 8081
//! neuralbridge serve --config crates/nb-serve/config/serve.toml
//! ```
//!
//! Every command's `--help` has examples; the exit codes are listed in `neuralbridge --help`
//! and in the crate's README, which also documents the `serve` configuration.
#![forbid(unsafe_code)]

mod args;
mod demo;
mod diagnose_error;
mod exit;
mod mock_cmd;
mod probe;
mod providers;
mod render;
mod serve;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use nb_client::ApiKey;

use crate::exit::{CliError, CliResult, EXIT_CODES_HELP, Exit};

/// NeuralBridge: a self-healing client for LLM APIs, and the tools around it.
#[derive(Debug, Parser)]
#[command(name = "neuralbridge", version, after_help = EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send one minimal chat request to a live endpoint and diagnose the outcome.
    #[command(after_help = DIAGNOSE_HELP)]
    Diagnose(DiagnoseArgs),
    /// Diagnose an error you already have (or many, as JSON lines on stdin).
    #[command(after_help = DIAGNOSE_ERROR_HELP)]
    DiagnoseError(DiagnoseErrorArgs),
    /// List the provider profiles: timeouts, retries, RPM hints, detection patterns.
    #[command(after_help = PROVIDERS_HELP)]
    Providers(ProvidersArgs),
    /// Watch the self-healing client survive misbehaving providers (no key, no network).
    #[command(after_help = DEMO_HELP)]
    Demo(DemoArgs),
    /// Run nb-mock, a fault-injecting OpenAI-compatible server, until Ctrl-C.
    #[command(after_help = MOCK_HELP)]
    Mock(MockArgs),
    /// Serve the self-healing client as an OpenAI-compatible HTTP endpoint (a sidecar).
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
}

const DIAGNOSE_HELP: &str = "\
Examples:
  neuralbridge diagnose --base-url https://dashscope.aliyuncs.com/compatible-mode/v1 \\
      --model qwen-max --api-key-env DASHSCOPE_API_KEY
  neuralbridge diagnose --base-url http://127.0.0.1:11434/v1 --model llama3.2 --timeout 5
  neuralbridge diagnose --base-url https://api.openai.com/v1 --model gpt-4o-mini \\
      --api-key-env OPENAI_API_KEY --json

The key is sent only to the endpoint and never printed. Prefer --api-key-env: a key on the
command line is visible to other users of the machine (ps, shell history).

Exit codes: 0 healthy; 1 transient failure (retry later or fall back); 2 usage error;
3 a failure that needs a fix (key, quota, permission, model); 4 the command could not run.";

const DIAGNOSE_ERROR_HELP: &str = "\
Examples:
  neuralbridge diagnose-error \"throttling.ratequota: 请求速度超限\" --status-code 429
  neuralbridge diagnose-error \"billing hard limit reached\"
  neuralbridge diagnose-error \"model not found: deepseek-v4\" --json
  neuralbridge diagnose-error '{\"error\":{\"message\":\"Rate limit reached\",\"code\":\"rate_limit_exceeded\"}}' \\
      --status-code 429 --header 'Retry-After: 20' --base-url https://api.openai.com/v1

Batch mode (--jsonl) reads JSON objects from stdin, one a line, each with any of
`status`, `headers` (an object), `body` (a string), `message`, `base_url`, `model`
(other fields are ignored; `id` is echoed), and writes one JSON diagnosis a line, in
order: `line` (the input line number), `category`, `sub_category`, `provider`,
`confidence`, `severity`, `retryable`, `fallback`, `action`, `retry_after_s`, `status`,
`root_cause`, `suggestions`, `provider_error`. A line that cannot be read gets
{\"line\": N, \"error\": {\"kind\", \"message\"}} and the run goes on; blank lines are skipped.
  echo '{\"status\":429,\"headers\":{\"retry-after\":\"3\"},\"body\":\"{}\"}' | neuralbridge diagnose-error --jsonl";

const PROVIDERS_HELP: &str = "\
Examples:
  neuralbridge providers
  neuralbridge providers --json";

const DEMO_HELP: &str = "\
Examples:
  neuralbridge demo
  neuralbridge demo --json
  neuralbridge demo --price gpt-4o=2.5/10 --price claude-sonnet=3/15 \\
                    --price deepseek-chat=0.27/1.1 --price qwen-plus=0.4/1.2
  neuralbridge demo --scenario crates/nb-mock/scenarios/outage_recovery.toml

Starts nb-mock in this process with a scenario in which providers misbehave (by default
the embedded crates/nb-mock/scenarios/demo.toml, 30 s: the primary's quota runs out, a 429
burst, an outage with a hung fallback and the recovery, cut streams, long answers) and
drives, on the same faults and load, a NeuralBridge client with its shipped defaults and a
plain retry loop (3 tries per model with backoff that honours Retry-After). It announces
each phase live, then compares success rate, p50/p99, upstream and wasted calls, wasted
tokens (and their cost with --price), the time back on the primary and truncated answers,
and ends with the health report. The scenario's first model is the primary, the others its
fallback chain. No key, no network.";

const MOCK_HELP: &str = "\
Examples:
  neuralbridge mock --scenario crates/nb-mock/scenarios/demo.toml
  neuralbridge mock --scenario my-faults.toml --port 8080
  # then point any OpenAI-compatible client at the printed base URL, e.g.
  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=test python my_app.py

The first line printed is `nb-mock listening on <base URL>`. Scenario files (TOML or JSON)
are documented in crates/nb-mock/README.md; crates/nb-mock/scenarios/ holds ready-made ones.";

const SERVE_HELP: &str = "\
Examples:
  neuralbridge serve --config crates/nb-serve/config/serve.toml
  neuralbridge serve --config serve.toml --check        # validate and exit
  neuralbridge serve --config serve.toml --listen 127.0.0.1:9000
  # then, unchanged OpenAI or Anthropic SDK code:
  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=<token or anything> python app.py
  ANTHROPIC_BASE_URL=http://127.0.0.1:8080 ANTHROPIC_API_KEY=<token or anything> python app.py

Routes: POST /v1/chat/completions (streamed or not), POST /v1/messages (Anthropic's
Messages API), POST /v1/embeddings, GET /v1/models, GET /health, GET /metrics.
Responses name the model that served (`model`, x-neuralbridge-served-by) and how many
attempts it took (x-neuralbridge-attempts). When every model of a chain is cooling down
the caller gets a 503 with Retry-After. Errors use the caller's protocol's error JSON
(OpenAI's, or Anthropic's on /v1/messages). The config file (TOML) is documented in
crates/nb-serve/README.md; keys are read from the environment variables it names. Logs
go to stderr (RUST_LOG=debug for more).";

#[derive(Debug, Args)]
struct DiagnoseArgs {
    /// The OpenAI-compatible base URL (everything before /chat/completions).
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// The model to ask.
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// Read the API key from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "api_key")]
    api_key_env: Option<String>,
    /// The API key itself (prefer --api-key-env).
    #[arg(long, value_name = "KEY", value_parser = args::api_key)]
    api_key: Option<ApiKey>,
    /// Give up after this long: seconds (30, 2.5) or with a unit (500ms, 1m).
    #[arg(long, value_name = "S", default_value = "30", value_parser = args::duration)]
    timeout: Duration,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DiagnoseErrorArgs {
    /// The error text (an exception's message, an SDK's printout, a response body).
    #[arg(
        value_name = "MESSAGE",
        required_unless_present = "jsonl",
        conflicts_with = "jsonl"
    )]
    message: Option<String>,
    /// The HTTP status the error came with.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(100..=599))]
    status_code: Option<u16>,
    /// A response header, as 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = args::header)]
    headers: Vec<(String, String)>,
    /// The base URL of the call (helps detect the provider).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// The model of the call (helps detect the provider).
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// Print the diagnosis as JSON.
    #[arg(long)]
    json: bool,
    /// For a text without a status that no rule reads, guess a cause from its words
    /// (each guess says it is one).
    #[arg(long)]
    guess: bool,
    /// Batch mode: JSON objects on stdin, one JSON diagnosis per line on stdout.
    #[arg(long, conflicts_with_all = ["status_code", "headers", "base_url", "model", "json"])]
    jsonl: bool,
}

#[derive(Debug, Args)]
struct ProvidersArgs {
    /// Print the profiles as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// How long to drive traffic (default: the scenario's duration_ms, else 20 s).
    #[arg(long, value_name = "S", value_parser = args::duration)]
    duration: Option<Duration>,
    /// A scenario file (TOML or JSON) instead of the embedded demo scenario.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Print the summary as one JSON object instead of the live display and the tables.
    #[arg(long)]
    json: bool,
    /// A model's price in US dollars per million input and output tokens, to price the
    /// wasted tokens (repeat for every model of the chain).
    #[arg(long = "price", value_name = "MODEL=IN/OUT", value_parser = demo::parse_price)]
    prices: Vec<(String, demo::Price)>,
}

#[derive(Debug, Args)]
struct MockArgs {
    /// The scenario file (TOML or JSON).
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
    /// The port to listen on (0: any free port).
    #[arg(long, value_name = "P", default_value_t = 0)]
    port: u16,
    /// The address to listen on. Anything but loopback exposes the mock to the network.
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Do not print a line per request.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Listen here instead of the config's server.listen (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Validate the configuration (and the environment variables it names), then exit.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(CliError::Closed) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("error: {e}");
            e.exit().into()
        }
    }
}

fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Diagnose(a) => {
            let probe = probe::Probe {
                key: probe::KeySource::resolve(
                    a.api_key.as_ref().map(ApiKey::expose),
                    a.api_key_env.as_deref(),
                )?,
                base_url: a.base_url,
                model: a.model,
                timeout: a.timeout,
                json: a.json,
            };
            current_thread()?.block_on(probe::run(probe))
        }
        Command::DiagnoseError(a) => match &a.message {
            None => diagnose_error::batch_stdio(a.guess),
            Some(message) => diagnose_error::single(&diagnose_error::Single {
                message,
                status: a.status_code,
                headers: &a.headers,
                base_url: a.base_url.as_deref(),
                model: a.model.as_deref(),
                json: a.json,
                guess: a.guess,
            }),
        },
        Command::Providers(a) => providers::run(a.json),
        Command::Demo(a) => {
            let (scenario, source) = match &a.scenario {
                Some(path) => (mock_cmd::load_scenario(path)?, path.display().to_string()),
                None => (
                    demo::embedded()?,
                    "built-in (crates/nb-mock/scenarios/demo.toml)".to_owned(),
                ),
            };
            let demo = demo::Demo {
                scenario,
                source,
                duration: a.duration,
                json: a.json,
                prices: a.prices.into_iter().collect(),
            };
            multi_thread(None)?.block_on(demo::run(demo))
        }
        Command::Mock(a) => {
            let scenario = mock_cmd::load_scenario(&a.scenario)?;
            current_thread()?.block_on(mock_cmd::run(scenario, a.host, a.port, a.quiet))
        }
        Command::Serve(a) => {
            let config = serve::load(&a.config)?;
            init_logging();
            // A worker thread even for one, not the current-thread runtime:
            // measured with `cargo xtask load`, that one shed about 2,000 of
            // 10,000 concurrent requests a round and kept 343 MB after three
            // rounds, where one worker shed none and kept 141 MB after five.
            multi_thread(Some(config.workers()))?.block_on(serve::run(config, a.listen, a.check))
        }
    }
}

/// Logs to stderr: warnings, and the sidecar's one line per request (`RUST_LOG` overrides).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,neuralbridge=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// A runtime with `workers` threads (a worker per core if `None`), for the
/// demo and the sidecar.
fn multi_thread(workers: Option<usize>) -> Result<tokio::runtime::Runtime, CliError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    builder
        .enable_all()
        .build()
        .map_err(|e| CliError::runtime(format!("cannot start the async runtime: {e}")))
}

/// A single-threaded runtime: enough for one request or a test server, and quick to start.
fn current_thread() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::runtime(format!("cannot start the async runtime: {e}")))
}
