//! `neuralbridge demo`: the embedded scenario (shortened) and a user's scenario.

use crate::common::{TempDir, assert_contains_all, run};

/// The number in a summary row such as `  fallbacks          43  (answered by ...)`.
fn row(stdout: &str, name: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no {name} row in\n{stdout}"));
    line.trim_start()[name.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('%')
        .parse::<f64>()
        .unwrap() as u64
}

#[test]
fn the_demo_runs_and_ends_with_a_summary_and_the_health_report() {
    let r = run(&["demo", "--duration", "3"]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = &r.stdout;
    assert_contains_all(
        out,
        &[
            "Chain:    gpt-4o → claude-sonnet → deepseek-chat → qwen-plus",
            "Versus:   a plain retry loop",
            "│ SUMMARY",
            "NeuralBridge   plain retry loop",
            "success rate",
            "latency p50",
            "latency p99",
            "upstream calls",
            // Every number is defined under the table.
            "  requests        requests made",
            "  success rate    requests answered in full",
            "  latency         time to the whole answer",
            "  fallbacks       answers from a model other than gpt-4o",
            "  upstream calls  HTTP calls to the providers",
            "  retries saved   the calls per request the plain loop needed",
            "MODEL",
            "│ HEALTH REPORT",
        ],
    );
    assert!(row(out, "requests") > 0);
    let plain = out
        .lines()
        .find(|l| l.trim_start().starts_with("requests "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        plain.is_some_and(|n| n > 0),
        "the plain loop ran too:\n{out}"
    );
    // Not a terminal: one progress line per second, no cursor movement.
    let progress = out
        .lines()
        .filter(|l| l.contains("% ok (plain loop ") && l.contains("serving"))
        .count();
    assert!(progress >= 2, "{out}");
    assert!(
        !out.contains('\x1b'),
        "no escape codes when stdout is not a terminal"
    );
}

#[test]
fn a_users_scenario_shows_the_fallback_at_work() {
    let dir = TempDir::new("demo");
    let path = dir.file(
        "down.toml",
        r#"
description = "The primary is down the whole time"
[[models]]
name = "primary"
[[models.rules]]
fault = "service_unavailable"
[[models]]
name = "backup"
"#,
    );
    let r = run(&["demo", "--duration", "2", "--scenario", &path]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = &r.stdout;
    assert!(out.contains("The primary is down the whole time"), "{out}");
    let requests = row(out, "requests");
    assert!(requests > 0);
    assert_eq!(
        row(out, "fallbacks"),
        requests,
        "every answer came from the backup:\n{out}"
    );
    assert_eq!(row(out, "success rate"), 100, "{out}");
    assert!(
        row(out, "retries saved") > 0,
        "the open breaker saved calls:\n{out}"
    );
    assert!(
        out.contains("breaker primary closed → OPEN"),
        "the breaker change is shown:\n{out}"
    );
    assert!(
        out.contains("failed calls: primary overloaded"),
        "what failed is shown:\n{out}"
    );

    let path = dir.file("typo.toml", "[[models]]\nnam = \"x\"\n");
    let r = run(&["demo", "--scenario", &path]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("typo.toml"), "{}", r.stderr);
}
