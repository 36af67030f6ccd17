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
//! Each open-loop rate runs as alternating pairs (the mock directly, then
//! through serve, back to back), and the table reports medians over the
//! pairs: two cores shared by three processes drift during a run, and a
//! single pair measured mostly that drift.
//!
//! Bounded: about two minutes of load in all, loopback only, and every
//! child is killed at the end, even on an error.

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

/// Pairs of runs per open-loop rate: the machine's load drifts during a run, and the
/// median of pairwise differences is robust to it where a single pair is not.
const PAIRS: usize = 5;

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
    let open = |rate| {
        vec![
            "open",
            "--rate",
            rate,
            "--connections",
            "64",
            "--seconds",
            "3",
        ]
    };
    for (label, shape, pairs) in [
        ("1,000 requests/s, 64 connections", open("1000"), PAIRS),
        ("5,000 requests/s, 64 connections", open("5000"), PAIRS),
        (
            "closed loop, 100 connections",
            vec!["closed", "--connections", "100", "--seconds", "5"],
            1,
        ),
        (
            "closed loop, 1,000 connections",
            vec!["closed", "--connections", "1000", "--seconds", "5"],
            1,
        ),
    ] {
        let mut runs = Vec::new();
        for _ in 0..pairs {
            let base = generate(&load, &direct, &shape)?;
            let subject = generate(&load, &sidecar, &shape)?;
            runs.push((base, subject));
        }
        rows.push((label, runs));
    }
    let mut bursts = Vec::new();
    for _ in 0..BURST_ROUNDS {
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

/// Rounds of 10,000 connections: enough to see whether memory after a
/// round levels off or keeps growing.
const BURST_ROUNDS: usize = 5;

/// A load row: its label, and its runs against the mock directly and through serve, in
/// the order they ran (each pair back to back).
type Row<'a> = (&'a str, Vec<(Value, Value)>);

/// The median of `values` (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn render(rows: &[Row<'_>], bursts: &[(Value, u64)], idle_kb: u64, peak_kb: u64) -> String {
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
    // Each figure is the median over the row's pairs; an added figure is the median of
    // the pairs' differences, so a drift of the machine between pairs cancels out.
    for (label, runs) in rows {
        let direct = |key: &str| median(runs.iter().map(|(b, _)| f(b, key)).collect());
        let served = |key: &str| median(runs.iter().map(|(_, s)| f(s, key)).collect());
        let added = |key: &str| median(runs.iter().map(|(b, s)| f(s, key) - f(b, key)).collect());
        let errors: u64 = runs
            .iter()
            .map(|(_, s)| s["errors"].as_u64().unwrap_or(0))
            .sum();
        let _ = writeln!(
            out,
            "| {label} | {:.0} / {:.0} µs | {:.0} / {:.0} µs | {:+.0} / {:+.0} µs | {} | {:.0} / {:.0} req/s |",
            direct("p50_us"),
            direct("p99_us"),
            served("p50_us"),
            served("p99_us"),
            added("p50_us"),
            added("p99_us"),
            errors,
            direct("throughput_rps"),
            served("throughput_rps"),
        );
    }
    let paired: Vec<&Row<'_>> = rows.iter().filter(|(_, runs)| runs.len() > 1).collect();
    if !paired.is_empty() {
        let _ = writeln!(
            out,
            "\nThe open-loop rows are medians over {PAIRS} pairs of 3 s runs, direct then through serve, back to back. Added p50 of each pair, in order:\n"
        );
        for (label, runs) in paired {
            let each: Vec<String> = runs
                .iter()
                .map(|(b, s)| format!("{:+.0}", f(s, "p50_us") - f(b, "p50_us")))
                .collect();
            let _ = writeln!(out, "- {label}: {} µs", each.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "\n10,000 concurrent connections, one request each, {BURST_ROUNDS} rounds (serve's default caps; memory is serve's resident set):\n"
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
