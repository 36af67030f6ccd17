//! `cargo xtask chaos`: nb-client under concurrent load against nb-mock's
//! chaos scenarios, with the figures written into `docs/BENCHMARKS.md`.
//!
//! The load runs in the `chaos` binary of `nb-benches` (release build, real
//! time, loopback), which writes its figures as JSON; this task picks the
//! scenario files, runs that binary, renders the JSON as markdown and
//! replaces what stands between `<!-- bench:chaos:start -->` and
//! `<!-- bench:chaos:end -->`. With no scenario named, every file in
//! `crates/nb-mock/scenarios/` runs, `demo.toml` included (its outage and
//! recovery is the story the other files tell one at a time).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::bench::{format_ns, machine_summary, splice, target_dir};
use crate::{cargo, workspace_root};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(flag) = args.iter().find(|a| a.starts_with("--") && *a != "--quick") {
        return Err(format!("unknown flag `{flag}` for chaos"));
    }
    let named: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let scenarios = if named.is_empty() {
        default_scenarios()?
    } else {
        named
            .iter()
            .map(|a| resolve(a))
            .collect::<Result<Vec<_>, _>>()?
    };

    let out_dir = target_dir().join("nb-bench");
    fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let json_path = out_dir.join("chaos.json");
    // A stale file from an earlier run must not be mistaken for this one's.
    let _ = fs::remove_file(&json_path);
    let json_arg = json_path.display().to_string();
    // Relative to the workspace root, where cargo runs the binary, when they can be.
    let root = workspace_root();
    let paths: Vec<String> = scenarios
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .collect();
    let mut cmd = vec![
        "run",
        "--release",
        "-p",
        "nb-benches",
        "--bin",
        "chaos",
        "--",
        "--json",
        &json_arg,
    ];
    if quick {
        cmd.push("--quick");
    }
    cmd.extend(paths.iter().map(String::as_str));
    cargo(&cmd, &[])?;

    let text = fs::read_to_string(&json_path).map_err(|e| format!("{json_arg}: {e}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("{json_arg}: {e}"))?;
    let results = Run::from_json(&value).map_err(|e| format!("{json_arg}: {e}"))?;
    let command = if quick {
        "cargo xtask chaos --quick"
    } else {
        "cargo xtask chaos"
    };
    let table = render(&results, command, &machine_summary());
    println!("\n{table}");
    let doc_path = workspace_root().join("docs").join("BENCHMARKS.md");
    let doc = fs::read_to_string(&doc_path).unwrap_or_default();
    fs::write(&doc_path, splice(&doc, "chaos", &table))
        .map_err(|e| format!("{}: {e}", doc_path.display()))?;
    eprintln!("xtask chaos: wrote {}", doc_path.display());
    Ok(())
}

fn scenarios_dir() -> PathBuf {
    workspace_root().join("crates/nb-mock/scenarios")
}

/// Every `.toml` scenario in nb-mock's directory, by name.
fn default_scenarios() -> Result<Vec<PathBuf>, String> {
    let dir = scenarios_dir();
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// A scenario argument: a name in nb-mock's directory (`flaky`), or a path.
fn resolve(arg: &str) -> Result<PathBuf, String> {
    let path = Path::new(arg);
    let is_path = path.extension().is_some() || arg.contains(std::path::MAIN_SEPARATOR);
    let file = if is_path {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    } else {
        scenarios_dir().join(format!("{arg}.toml"))
    };
    if file.is_file() {
        Ok(file)
    } else {
        let known: Vec<String> = default_scenarios()?
            .iter()
            .filter_map(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
            .collect();
        Err(format!(
            "no scenario `{arg}` ({} does not exist; known: {})",
            file.display(),
            known.join(", ")
        ))
    }
}

/// What the runner measured, as its JSON says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    /// How the runner's client is configured.
    pub(crate) client: String,
    pub(crate) scenarios: Vec<ScenarioResult>,
}

/// One scenario's figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScenarioResult {
    pub(crate) name: String,
    pub(crate) duration_ms: f64,
    pub(crate) callers: u64,
    pub(crate) primary: String,
    pub(crate) requests: u64,
    pub(crate) succeeded: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) upstream_calls: u64,
    /// The share of the successful requests the primary served; `None`
    /// when none succeeded.
    pub(crate) primary_share: Option<f64>,
    pub(crate) recovery: Recovery,
    /// Failed requests by final category, by name.
    pub(crate) failures: Vec<(String, u64)>,
    pub(crate) models: Vec<ModelResult>,
}

/// The primary's recovery and the return of the traffic to it (the
/// runner's time back on the primary: when its share over a sliding 1 s
/// window first reached 80 %).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Recovery {
    /// The scenario has no time-window fault on the primary.
    None,
    /// The primary recovers after the run ended (a `--quick` run).
    AfterRun { at_ms: f64 },
    /// The primary took the traffic back `after_ms` after recovering.
    Back { at_ms: f64, after_ms: f64 },
    /// The primary recovered, but never took the traffic back in the run.
    NotBack { at_ms: f64 },
}

/// What one model of the chain did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModelResult {
    pub(crate) name: String,
    /// Requests it served.
    pub(crate) served: u64,
    /// Calls the server saw for it.
    pub(crate) calls: u64,
    /// Faults the server injected into those calls.
    pub(crate) faults: u64,
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a Value, String> {
    v.get(key).ok_or_else(|| format!("no `{key}`"))
}

fn num(v: &Value, key: &str) -> Result<f64, String> {
    field(v, key)?
        .as_f64()
        .ok_or_else(|| format!("`{key}` is not a number"))
}

fn int(v: &Value, key: &str) -> Result<u64, String> {
    field(v, key)?
        .as_u64()
        .ok_or_else(|| format!("`{key}` is not a count"))
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    field(v, key)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("`{key}` is not text"))
}

impl Run {
    pub(crate) fn from_json(v: &Value) -> Result<Self, String> {
        let scenarios = field(v, "scenarios")?
            .as_array()
            .ok_or("`scenarios` is not a list")?
            .iter()
            .map(ScenarioResult::from_json)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            client: text(v, "client")?,
            scenarios,
        })
    }
}

impl ScenarioResult {
    fn from_json(v: &Value) -> Result<Self, String> {
        let recovery = match v.get("recovery_ms").and_then(Value::as_f64) {
            None => Recovery::None,
            Some(at_ms) if v.get("recovery_in_run") != Some(&Value::Bool(true)) => {
                Recovery::AfterRun { at_ms }
            }
            Some(at_ms) => match v.get("back_on_primary_ms").and_then(Value::as_f64) {
                Some(after_ms) => Recovery::Back { at_ms, after_ms },
                None => Recovery::NotBack { at_ms },
            },
        };
        let failures = field(v, "failures")?
            .as_object()
            .ok_or("`failures` is not a map")?
            .iter()
            .map(|(k, n)| Ok((k.clone(), n.as_u64().ok_or("a failure count")?)))
            .collect::<Result<_, String>>()?;
        let models = field(v, "models")?
            .as_array()
            .ok_or("`models` is not a list")?
            .iter()
            .map(|m| {
                Ok(ModelResult {
                    name: text(m, "name")?,
                    served: int(m, "served")?,
                    calls: int(m, "calls")?,
                    faults: int(m, "faults")?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            name: text(v, "scenario")?,
            duration_ms: num(v, "duration_ms")?,
            callers: int(v, "callers")?,
            primary: text(v, "primary")?,
            requests: int(v, "requests")?,
            succeeded: int(v, "succeeded")?,
            p50_ms: num(v, "latency_p50_ms")?,
            p99_ms: num(v, "latency_p99_ms")?,
            upstream_calls: int(v, "upstream_calls")?,
            primary_share: match field(v, "primary_share")? {
                Value::Null => None,
                share => Some(share.as_f64().ok_or("`primary_share` is not a number")?),
            },
            recovery,
            failures,
            models,
        })
    }
}

/// A duration in milliseconds, readably: `46.54 ms`, `1.59 s`.
fn format_ms(ms: f64) -> String {
    format_ns(ms * 1e6)
}

/// `part` as a percentage of `whole` (0 % of nothing).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn time_back_cell(recovery: Recovery) -> String {
    let s = |ms: f64| format!("{:.1} s", ms / 1000.0);
    match recovery {
        Recovery::None => "n/a".to_owned(),
        Recovery::AfterRun { at_ms } => format!("n/a (recovers at {}, after the run)", s(at_ms)),
        Recovery::Back { at_ms, after_ms } => {
            format!("{} (recovery at {})", format_ms(after_ms), s(at_ms))
        }
        Recovery::NotBack { at_ms } => format!("never (recovery at {})", s(at_ms)),
    }
}

fn primary_share_cell(share: Option<f64>) -> String {
    share.map_or_else(|| "n/a".to_owned(), |s| format!("{:.1} %", 100.0 * s))
}

fn failures_cell(r: &ScenarioResult) -> String {
    let failed = r.requests.saturating_sub(r.succeeded);
    if r.failures.is_empty() {
        return failed.to_string();
    }
    let list: Vec<String> = r.failures.iter().map(|(c, n)| format!("{c} {n}")).collect();
    format!("{failed}: {}", list.join(", "))
}

/// The markdown for the chaos section.
pub(crate) fn render(run: &Run, command: &str, machine: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Measured with `{command}` on {machine}.\n");
    let _ = writeln!(
        s,
        "Load: the callers send requests back to back, every other one streamed, for the \
         scenario's duration. Client: {}.\n",
        run.client
    );
    if run.scenarios.is_empty() {
        s.push_str("_No results: no scenario ran in this invocation._\n");
        return s;
    }
    s.push_str(
        "| scenario | callers | requests | success | p50 | p99 | upstream calls / request \
         | primary share | time back on the primary | failed (final category) |\n",
    );
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for r in &run.scenarios {
        let _ = writeln!(
            s,
            "| `{}` ({:.0} s) | {} | {} | {:.2} % | {} | {} | {:.2} | {} | {} | {} |",
            r.name,
            r.duration_ms / 1000.0,
            r.callers,
            r.requests,
            percent(r.succeeded, r.requests),
            format_ms(r.p50_ms),
            format_ms(r.p99_ms),
            if r.requests == 0 {
                0.0
            } else {
                r.upstream_calls as f64 / r.requests as f64
            },
            primary_share_cell(r.primary_share),
            time_back_cell(r.recovery),
            failures_cell(r),
        );
    }
    s.push_str(
        "\nBy model, in chain order (the first is the primary): requests served, calls the \
         server saw, faults it injected into them.\n\n",
    );
    s.push_str("| scenario | model | served | upstream calls | faults injected |\n");
    s.push_str("|---|---|---:|---:|---:|\n");
    for r in &run.scenarios {
        for m in &r.models {
            let primary = if m.name == r.primary {
                " (primary)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "| `{}` | `{}`{primary} | {} | {} | {} |",
                r.name, m.name, m.served, m.calls, m.faults
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Run {
        let model = |name: &str, served, calls, faults| ModelResult {
            name: name.to_owned(),
            served,
            calls,
            faults,
        };
        Run {
            client: "the defaults".to_owned(),
            scenarios: vec![
                ScenarioResult {
                    name: "outage_recovery".to_owned(),
                    duration_ms: 12_000.0,
                    callers: 16,
                    primary: "gpt-4o".to_owned(),
                    requests: 2000,
                    succeeded: 1990,
                    p50_ms: 46.54,
                    p99_ms: 1590.0,
                    upstream_calls: 2040,
                    primary_share: Some(1490.0 / 1990.0),
                    recovery: Recovery::Back {
                        at_ms: 7000.0,
                        after_ms: 1112.4,
                    },
                    failures: vec![("cooling_down".to_owned(), 4), ("timeout".to_owned(), 6)],
                    models: vec![
                        model("gpt-4o", 1490, 1530, 17),
                        model("claude-sonnet", 500, 510, 0),
                    ],
                },
                ScenarioResult {
                    name: "flaky".to_owned(),
                    duration_ms: 3000.0,
                    callers: 8,
                    primary: "gpt-4o".to_owned(),
                    requests: 0,
                    succeeded: 0,
                    p50_ms: 0.0,
                    p99_ms: 0.0,
                    upstream_calls: 0,
                    primary_share: None,
                    recovery: Recovery::None,
                    failures: Vec::new(),
                    models: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn render_gives_a_row_per_scenario_and_per_model() {
        let table = render(&sample(), "cargo xtask chaos", "a test machine");
        assert!(table.starts_with("Measured with `cargo xtask chaos` on a test machine.\n"));
        assert!(table.contains("Client: the defaults."), "{table}");
        assert!(
            table.contains(
                "| `outage_recovery` (12 s) | 16 | 2000 | 99.50 % | 46.54 ms | 1.59 s | 1.02 \
                 | 74.9 % | 1.11 s (recovery at 7.0 s) | 10: cooling_down 4, timeout 6 |"
            ),
            "{table}"
        );
        // No requests: no division by zero, nothing failed.
        assert!(
            table.contains(
                "| `flaky` (3 s) | 8 | 0 | 0.00 % | 0.0 ns | 0.0 ns | 0.00 | n/a | n/a | 0 |"
            ),
            "{table}"
        );
        assert!(table.contains("| `outage_recovery` | `gpt-4o` (primary) | 1490 | 1530 | 17 |"));
        assert!(table.contains("| `outage_recovery` | `claude-sonnet` | 500 | 510 | 0 |"));
    }

    #[test]
    fn every_recovery_reads_as_what_happened() {
        assert_eq!(time_back_cell(Recovery::None), "n/a");
        assert_eq!(
            time_back_cell(Recovery::AfterRun { at_ms: 8000.0 }),
            "n/a (recovers at 8.0 s, after the run)"
        );
        assert_eq!(
            time_back_cell(Recovery::NotBack { at_ms: 16_000.0 }),
            "never (recovery at 16.0 s)"
        );
        assert_eq!(
            time_back_cell(Recovery::Back {
                at_ms: 10_000.0,
                after_ms: 366.0
            }),
            "366.00 ms (recovery at 10.0 s)"
        );
        assert_eq!(primary_share_cell(Some(0.8125)), "81.2 %");
        assert_eq!(primary_share_cell(None), "n/a");
    }

    #[test]
    fn the_runners_json_reads_back() {
        let json = serde_json::json!({
            "client": "c",
            "quick": false,
            "scenarios": [
                {
                    "scenario": "demo", "duration_ms": 20000.0, "ran_ms": 20300.0,
                    "callers": 16, "primary": "gpt-4o", "requests": 10, "succeeded": 9,
                    "latency_p50_ms": 1.5, "latency_p99_ms": 9.0, "upstream_calls": 12,
                    "fallbacks": 2, "primary_share": 0.75, "recovery_ms": 16000.0,
                    "recovery_in_run": true,
                    "back_on_primary_ms": null, "failures": { "stream_interrupted": 1 },
                    "models": [{ "name": "gpt-4o", "served": 7, "calls": 9, "faults": 2 }],
                    "primary_share_per_second": [100, null]
                },
                {
                    "scenario": "outage_recovery", "duration_ms": 3000.0, "callers": 8,
                    "primary": "gpt-4o", "requests": 1, "succeeded": 1, "latency_p50_ms": 1.0,
                    "latency_p99_ms": 1.0, "upstream_calls": 1, "fallbacks": 0,
                    "primary_share": null,
                    "recovery_ms": 7000.0, "recovery_in_run": false, "back_on_primary_ms": null,
                    "failures": {}, "models": []
                }
            ]
        });
        let run = Run::from_json(&json).unwrap();
        assert_eq!(run.client, "c");
        let demo = &run.scenarios[0];
        assert_eq!(demo.recovery, Recovery::NotBack { at_ms: 16_000.0 });
        assert_eq!(demo.failures, [("stream_interrupted".to_owned(), 1)]);
        assert_eq!(demo.models[0].calls, 9);
        assert_eq!(demo.primary_share, Some(0.75));
        assert_eq!(run.scenarios[1].primary_share, None);
        assert_eq!(
            run.scenarios[1].recovery,
            Recovery::AfterRun { at_ms: 7000.0 }
        );
        let broken = serde_json::json!({ "client": "c", "scenarios": [{ "scenario": "x" }] });
        assert!(Run::from_json(&broken).is_err());
    }

    #[test]
    fn scenarios_resolve_by_name_or_path() {
        let all = default_scenarios().unwrap();
        assert!(all.iter().any(|p| p.ends_with("outage_recovery.toml")));
        assert!(all.iter().any(|p| p.ends_with("demo.toml")));
        assert!(
            resolve("flaky")
                .unwrap()
                .ends_with("crates/nb-mock/scenarios/flaky.toml")
        );
        let missing = resolve("no_such_scenario").unwrap_err();
        assert!(
            missing.contains("known:") && missing.contains("flaky"),
            "{missing}"
        );
    }
}
