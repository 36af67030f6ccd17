//! `cargo xtask bench`: run the criterion benches and write their figures
//! into `docs/BENCHMARKS.md`.
//!
//! Each bench target names its criterion groups `<target>/<subject>`, and a
//! group's function whose name contains `baseline` is the reference the
//! others are compared with, so every figure is a ratio against something
//! measured in the same run on the same machine. The table for a target
//! replaces whatever stands between `<!-- bench:<target>:start -->` and
//! `<!-- bench:<target>:end -->` in `docs/BENCHMARKS.md`; prose outside the
//! markers is left alone. A bench may also write extra markdown (figures
//! criterion cannot express, such as latency percentiles) to
//! `target/nb-bench/<target>.md`; it is appended to that target's table.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

use crate::{cargo, workspace_root};

/// Every bench target in `benches/Cargo.toml`, in the order they are run.
pub(crate) const TARGETS: [&str; 8] = [
    "breaker",
    "diagnose",
    "route",
    "learn",
    "transport",
    "cascade",
    "fleet",
    "guard",
];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let mut targets: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    for t in &targets {
        if !TARGETS.contains(t) {
            return Err(format!(
                "unknown bench target `{t}` (known: {})",
                TARGETS.join(", ")
            ));
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }

    if targets.contains(&"fleet") {
        // The fleet bench starts its own redis-server.
        crate::services::ensure_redis()?;
    }
    let started = SystemTime::now();
    let extra_dir = target_dir().join("nb-bench");
    fs::create_dir_all(&extra_dir).map_err(|e| format!("{}: {e}", extra_dir.display()))?;
    for t in &targets {
        // A stale fragment from an earlier run must not be mistaken for this one's.
        let _ = fs::remove_file(extra_dir.join(format!("{t}.md")));
        let mut cmd = vec!["bench", "-p", "nb-benches", "--bench", t, "--"];
        if quick {
            cmd.push("--quick");
        }
        cargo(&cmd, &[])?;
    }

    let results = collect(&target_dir().join("criterion"), started)?;
    let doc_path = workspace_root().join("docs").join("BENCHMARKS.md");
    let mut doc = fs::read_to_string(&doc_path).unwrap_or_default();
    let command = if quick {
        "cargo xtask bench --quick"
    } else {
        "cargo xtask bench"
    };
    for t in &targets {
        let extra = fs::read_to_string(extra_dir.join(format!("{t}.md"))).ok();
        let table = render(t, &results, extra.as_deref(), command);
        doc = splice(&doc, t, &table);
    }
    fs::write(&doc_path, doc).map_err(|e| format!("{}: {e}", doc_path.display()))?;
    eprintln!("xtask bench: wrote {}", doc_path.display());
    Ok(())
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// One measured benchmark: criterion's ids and its median time per iteration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measured {
    pub(crate) group: String,
    pub(crate) function: String,
    pub(crate) median_ns: f64,
    pub(crate) mean_ns: f64,
    pub(crate) throughput: Option<String>,
}

/// Reads every `new/benchmark.json` under `dir` written after `since`.
fn collect(dir: &Path, since: SystemTime) -> Result<Vec<Measured>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let is_new = path.parent().and_then(Path::file_name) == Some("new".as_ref());
            if !is_new || path.file_name() != Some("benchmark.json".as_ref()) {
                continue;
            }
            let fresh = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since);
            if !fresh {
                continue;
            }
            if let Some(m) = read_measured(&path) {
                out.push(m);
            }
        }
    }
    out.sort_by(|a, b| (&a.group, &a.function).cmp(&(&b.group, &b.function)));
    Ok(out)
}

fn read_measured(benchmark_json: &Path) -> Option<Measured> {
    let bench: Value = serde_json::from_str(&fs::read_to_string(benchmark_json).ok()?).ok()?;
    let estimates_path = benchmark_json.with_file_name("estimates.json");
    let est: Value = serde_json::from_str(&fs::read_to_string(estimates_path).ok()?).ok()?;
    let group = bench.get("group_id")?.as_str()?.to_owned();
    let mut function = bench
        .get("function_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if let Some(v) = bench.get("value_str").and_then(Value::as_str) {
        if function.is_empty() {
            function = v.to_owned();
        } else {
            function = format!("{function}/{v}");
        }
    }
    let throughput = bench.get("throughput").and_then(|t| {
        let obj = t.as_object()?;
        let (kind, n) = obj.iter().next()?;
        Some(format!("{} {}", n, kind.to_lowercase()))
    });
    Some(Measured {
        group,
        function,
        median_ns: est.pointer("/median/point_estimate")?.as_f64()?,
        mean_ns: est.pointer("/mean/point_estimate")?.as_f64()?,
        throughput,
    })
}

/// The markdown table for one bench target.
pub(crate) fn render(
    target: &str,
    results: &[Measured],
    extra: Option<&str>,
    command: &str,
) -> String {
    let prefix = format!("{target}/");
    let mut groups: BTreeMap<&str, Vec<&Measured>> = BTreeMap::new();
    for m in results.iter().filter(|m| m.group.starts_with(&prefix)) {
        groups.entry(m.group.as_str()).or_default().push(m);
    }
    let mut s = String::new();
    s.push_str(&format!(
        "Measured with `{command}` on {}.\n\n",
        machine_summary()
    ));
    if groups.is_empty() {
        s.push_str("_No results: the bench did not run in this invocation._\n");
    } else {
        s.push_str("| group | benchmark | median | mean | vs baseline |\n");
        s.push_str("|---|---|---:|---:|---:|\n");
        for (group, rows) in &groups {
            let baseline = rows
                .iter()
                .find(|m| m.function.contains("baseline"))
                .map(|m| m.median_ns);
            for m in rows {
                let ratio = match baseline {
                    Some(b) if b > 0.0 && !m.function.contains("baseline") => {
                        format!("{:.2}×", m.median_ns / b)
                    }
                    Some(_) => "1.00× (baseline)".to_owned(),
                    None => "–".to_owned(),
                };
                s.push_str(&format!(
                    "| `{group}` | `{}` | {} | {} | {ratio} |\n",
                    m.function,
                    format_ns(m.median_ns),
                    format_ns(m.mean_ns),
                ));
            }
        }
    }
    if let Some(extra) = extra {
        s.push('\n');
        s.push_str(extra.trim_end());
        s.push('\n');
    }
    s
}

pub(crate) fn format_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.1} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else {
        format!("{:.2} s", ns / 1_000_000_000.0)
    }
}

/// Replaces the marked section for `target` in `doc`, appending one if absent.
pub(crate) fn splice(doc: &str, target: &str, body: &str) -> String {
    let start = format!("<!-- bench:{target}:start -->");
    let end = format!("<!-- bench:{target}:end -->");
    let section = format!("{start}\n{body}{end}");
    match (doc.find(&start), doc.find(&end)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{}{}", &doc[..a], section, &doc[b + end.len()..])
        }
        _ => {
            let mut out = doc.trim_end().to_owned();
            out.push_str(&format!("\n\n## {target}\n\n{section}\n"));
            out
        }
    }
}

pub(crate) fn machine_summary() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "an unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "rustc (unknown version)".to_owned());
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {rustc}, {date}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, function: &str, median_ns: f64) -> Measured {
        Measured {
            group: group.to_owned(),
            function: function.to_owned(),
            median_ns,
            mean_ns: median_ns,
            throughput: None,
        }
    }

    #[test]
    fn render_compares_with_the_groups_baseline() {
        let results = [
            m("breaker/permit", "baseline_atomic", 10.0),
            m("breaker/permit", "closed", 25.0),
            m("route/select", "p2c", 99.0),
        ];
        let table = render("breaker", &results, None, "cargo xtask bench");
        assert!(table.contains("| `breaker/permit` | `closed` | 25.0 ns | 25.0 ns | 2.50× |"));
        assert!(table.contains("1.00× (baseline)"));
        assert!(!table.contains("route/select"));
    }

    #[test]
    fn splice_replaces_only_the_marked_section() {
        let doc =
            "# B\n\nprose\n<!-- bench:route:start -->\nold\n<!-- bench:route:end -->\nafter\n";
        let out = splice(doc, "route", "new\n");
        assert_eq!(
            out,
            "# B\n\nprose\n<!-- bench:route:start -->\nnew\n<!-- bench:route:end -->\nafter\n"
        );
        let appended = splice("# B\n", "learn", "t\n");
        assert!(
            appended
                .ends_with("## learn\n\n<!-- bench:learn:start -->\nt\n<!-- bench:learn:end -->\n")
        );
    }

    #[test]
    fn format_ns_picks_a_readable_unit() {
        assert_eq!(format_ns(12.34), "12.3 ns");
        assert_eq!(format_ns(1_500.0), "1.50 µs");
        assert_eq!(format_ns(2_500_000.0), "2.50 ms");
    }
}
