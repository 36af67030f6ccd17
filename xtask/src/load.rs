//! `cargo xtask load`: `neuralbridge serve` under load on loopback, beside
//! the mock it fronts called directly, in one run, written into
//! `docs/BENCHMARKS.md`.
//!
//! Three processes: nb-mock (`neuralbridge mock`, a healthy model that
//! answers at once), the sidecar (`neuralbridge serve` with its default
//! caps, in front of the mock), and the load generator (the `load` binary
//! of `nb-benches`). Descriptor limits are per process, so the generator's
//! 10,000 connections do not count against the sidecar's.
//!
//! Bounded: about a minute of load in all, loopback only, and every child
//! is killed at the end, even on an error.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::bench::{machine_summary, splice, target_dir};
use crate::{cargo, workspace_root};

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bin args`, and reads its stdout until a line containing
/// `marker`; returns the process and the `http://…` URL on that line.
fn start(bin: &Path, args: &[&str], marker: &str) -> Result<(Running, String), String> {
    let mut child = Command::new(bin)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let running = Running(child);
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.contains(marker)
            && let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://"))
        {
            return Ok((running, url.trim_end_matches('/').to_owned()));
        }
    }
    Err(format!("{} ended before saying `{marker}`", bin.display()))
}

/// Kilobytes of a `/proc/<pid>/status` field (`VmRSS`, `VmHWM`).
fn memory_kb(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn generate(load: &Path, url: &str, shape: &[&str]) -> Result<Value, String> {
    let output = Command::new(load)
        .args(["--url", url])
        .args(shape)
        .output()
        .map_err(|e| format!("{}: {e}", load.display()))?;
    if !output.status.success() {
        return Err(format!(
            "load {shape:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("load output: {e}"))
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(other) = args.first() {
        return Err(format!("load takes no arguments (got `{other}`)"));
    }
    cargo(
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "nb-cli",
            "-p",
            "nb-benches",
            "--bin",
            "neuralbridge",
            "--bin",
            "load",
        ],
        &[],
    )?;
    let release = target_dir().join("release");
    let (neuralbridge, load) = (release.join("neuralbridge"), release.join("load"));
    let work = target_dir().join("nb-bench").join("load");
    fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let scenario = work.join("healthy.toml");
    fs::write(&scenario, "[[models]]\nname = \"gpt-4o\"\n").map_err(|e| e.to_string())?;

    let scenario_arg = scenario.display().to_string();
    let (_mock, mock_base) = start(
        &neuralbridge,
        &["mock", "--scenario", &scenario_arg, "--quiet"],
        "nb-mock listening on",
    )?;
    let config = work.join("serve.toml");
    fs::write(
        &config,
        format!(
            "[[endpoints]]\nname = \"mock\"\nbase_url = \"{mock_base}\"\nmodels = [\"gpt-4o\"]\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let config_arg = config.display().to_string();
    let (serve, serve_base) = start(
        &neuralbridge,
        &["serve", "--config", &config_arg, "--listen", "127.0.0.1:0"],
        "serve listening on",
    )?;
    let pid = serve.0.id();
    let idle_kb = memory_kb(pid, "VmRSS").unwrap_or(0);
    let direct = format!("{mock_base}/chat/completions");
    let sidecar = format!("{serve_base}/chat/completions");

    let mut rows = Vec::new();
    for (label, shape) in [
        (
            "1,000 requests/s, 64 connections",
            vec![
                "open",
                "--rate",
                "1000",
                "--connections",
                "64",
                "--seconds",
                "5",
            ],
        ),
        (
            "5,000 requests/s, 64 connections",
            vec![
                "open",
                "--rate",
                "5000",
                "--connections",
                "64",
                "--seconds",
                "5",
            ],
        ),
        (
            "closed loop, 100 connections",
            vec!["closed", "--connections", "100", "--seconds", "5"],
        ),
        (
            "closed loop, 1,000 connections",
            vec!["closed", "--connections", "1000", "--seconds", "5"],
        ),
    ] {
        let base = generate(&load, &direct, &shape)?;
        let subject = generate(&load, &sidecar, &shape)?;
        rows.push((label, base, subject));
    }
    let mut bursts = Vec::new();
    for _ in 0..3 {
        let burst = generate(&load, &sidecar, &["burst", "--connections", "10000"])?;
        std::thread::sleep(std::time::Duration::from_secs(2));
        let after = memory_kb(pid, "VmRSS").unwrap_or(0);
        bursts.push((burst, after));
    }
    let peak_kb = memory_kb(pid, "VmHWM").unwrap_or(0);
    drop(serve);

    let markdown = render(&rows, &bursts, idle_kb, peak_kb);
    print!("{markdown}");
    let doc_path = workspace_root().join("docs/BENCHMARKS.md");
    let doc = fs::read_to_string(&doc_path).map_err(|e| format!("{}: {e}", doc_path.display()))?;
    fs::write(&doc_path, splice(&doc, "load", &markdown))
        .map_err(|e| format!("{}: {e}", doc_path.display()))?;
    println!("xtask load: wrote {}", doc_path.display());
    Ok(())
}

fn render(
    rows: &[(&str, Value, Value)],
    bursts: &[(Value, u64)],
    idle_kb: u64,
    peak_kb: u64,
) -> String {
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured with `cargo xtask load` on {}.\n",
        machine_summary()
    );
    let _ = writeln!(
        out,
        "| load | mock direct p50 / p99 | through serve p50 / p99 | added p50 / p99 | errors | throughput direct / serve |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for (label, base, subject) in rows {
        let _ = writeln!(
            out,
            "| {label} | {:.0} / {:.0} µs | {:.0} / {:.0} µs | {:+.0} / {:+.0} µs | {} | {:.0} / {:.0} req/s |",
            f(base, "p50_us"),
            f(base, "p99_us"),
            f(subject, "p50_us"),
            f(subject, "p99_us"),
            f(subject, "p50_us") - f(base, "p50_us"),
            f(subject, "p99_us") - f(base, "p99_us"),
            subject["errors"].as_u64().unwrap_or(0),
            f(base, "throughput_rps"),
            f(subject, "throughput_rps"),
        );
    }
    let _ = writeln!(
        out,
        "\n10,000 concurrent connections, one request each, three rounds (serve's default caps; memory is serve's resident set):\n"
    );
    let _ = writeln!(out, "| round | requests | errors | p99 | memory after |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
    for (i, (burst, after_kb)) in bursts.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} ms | {:.1} MB |",
            i + 1,
            burst["requests"].as_u64().unwrap_or(0),
            burst["errors"].as_u64().unwrap_or(0),
            f(burst, "p99_us") / 1000.0,
            *after_kb as f64 / 1024.0,
        );
    }
    let _ = writeln!(
        out,
        "\nserve's memory: {:.1} MB idle, {:.1} MB peak (VmHWM).",
        idle_kb as f64 / 1024.0,
        peak_kb as f64 / 1024.0
    );
    out
}
