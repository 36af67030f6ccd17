//! Project automation for NeuralBridge, run as `cargo xtask <task>`.
//!
//! Tasks:
//! - `test [ARGS...]`: the README's test command: makes sure `redis-server`
//!   is here (installing Debian's package when it runs as root), runs
//!   `cargo test --workspace ARGS...`, then builds the Python package
//!   (`crates/nb-python`) into a virtual environment under the target
//!   directory and runs its pytest suite against nb-mock.
//! - `ci`: what CI runs: fmt check, clippy with warnings denied, a check of
//!   each feature set the workspace build does not compile, the test suite
//!   (doctests included, with `redis-server` made sure of as `test` does),
//!   rustdoc with broken links denied, and the Python package's fmt,
//!   clippy and pytest suite.
//! - `python`: the Python package's part of `test` alone.
//! - `bench [--quick] [TARGET...]`: runs the criterion benches in `benches/`
//!   and rewrites their generated tables in `docs/BENCHMARKS.md`.
//! - `chaos [--quick] [SCENARIO...]`: runs nb-mock's chaos scenarios through
//!   nb-client under concurrent load (the `chaos` binary of `nb-benches`)
//!   and rewrites the chaos table in `docs/BENCHMARKS.md`.
//!
//! - `load`: `neuralbridge serve` under load beside the mock it fronts
//!   (three processes on loopback), written into `docs/BENCHMARKS.md`.
//!
//! `tidy` is not a task: it runs as an ordinary test (`cargo test -p xtask`).
#![forbid(unsafe_code)]

mod bench;
mod chaos;
mod ci;
mod load;
mod python;
mod services;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// `cargo xtask test`: the README's test command.
fn test(args: &[String]) -> Result<(), String> {
    services::ensure_redis()?;
    let mut command = vec!["test", "--workspace"];
    command.extend(args.iter().map(String::as_str));
    cargo(&command, &[])?;
    python::test()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("ci") => ci::run(),
        Some("python") => python::test(),
        Some("bench") if args.get(1).is_some_and(|a| a == "python") => python::bench(),
        Some("bench") => bench::run(&args[1..]),
        Some("chaos") => chaos::run(&args[1..]),
        Some("load") => load::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test [ARGS..]               make sure redis-server is here (installing Debian's
                              package as root), cargo test --workspace ARGS, then
                              the Python package's tests (as `python`)
  python                      build crates/nb-python into a venv under the target
                              directory and run its pytest suite against nb-mock
  ci                          fmt --check, clippy -D warnings, feature-set checks,
                              test --workspace, doc, the Python package's
                              fmt, clippy and tests
  bench [--quick] [TARGET..]  run criterion benches, update docs/BENCHMARKS.md
                              targets: breaker diagnose route learn transport
                              cascade fleet guard; `bench python`: the Python
                              client against the openai SDK and LiteLLM
  chaos [--quick] [SCENARIO..]
                              run nb-client under load against nb-mock scenarios
                              (names in crates/nb-mock/scenarios/, demo included,
                              or paths; default: all of them, about 5 min;
                              --quick: 2 s each), update docs/BENCHMARKS.md
  load                        serve under open- and closed-loop load and 10,000
                              connections, beside the mock called directly
                              (about 1.5 min), update docs/BENCHMARKS.md
";

/// The workspace root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs `cargo` with `args` in the workspace root, echoing the command.
pub(crate) fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}
