//! `neuralbridge demo`: the embedded scenario (shortened), `--json`, prices and a user's
//! scenario. The whole embedded scenario runs in virtual time in the crate's unit tests.

use crate::common::{TempDir, assert_contains_all, run};

/// The first number in a summary row such as `  fallbacks          43   12`.
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
            "━━ Healthy ━━",
            "│ SUMMARY",
            "NeuralBridge   plain retry loop",
            "success rate",
            "latency p50",
            "latency p99",
            "upstream calls",
            "wasted calls",
            "truncated answers",
            // Every number is defined under the table.
            "  requests        requests started",
            "  success rate    requests answered in full",
            "  latency         time to the whole answer",
            "  wasted calls    calls to a model while it failed every call",
            "  wasted cost     give --price",
            "  truncated       streamed answers that broke off",
            "  fallbacks       answers from a model other than gpt-4o",
            "MODEL",
            "│ HEALTH REPORT",
        ],
    );
    let requests = out
        .lines()
        .find(|l| l.trim_start().starts_with("requests "))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>())
        .unwrap();
    assert!(requests[0] != "0", "{out}");
    assert_eq!(
        requests[0], requests[1],
        "the same requests on both sides:\n{out}"
    );
    // Not a terminal: one progress line per second, no cursor movement.
    let progress = out
        .lines()
        .filter(|l| l.contains("wasted calls; plain loop ") && l.contains("serving"))
        .count();
    assert!(progress >= 2, "{out}");
    assert!(
        !out.contains('\x1b'),
        "no escape codes when stdout is not a terminal"
    );
}

#[test]
fn json_prints_one_object_and_prices_price_the_waste() {
    let prices = [
        "--price",
        "gpt-4o=2.5/10",
        "--price",
        "claude-sonnet=3/15",
        "--price",
        "deepseek-chat=0.27/1.1",
        "--price",
        "qwen-plus=0.4/1.2",
    ];
    let mut args = vec!["demo", "--duration", "2", "--json"];
    args.extend(prices);
    let r = run(&args);
    assert_eq!(r.code, 0, "{r:?}");
    let value: serde_json::Value = serde_json::from_str(&r.stdout).expect("one JSON object");
    for side in ["neuralbridge", "plain_retry"] {
        assert!(value[side]["requests"].as_u64().unwrap() > 0, "{value}");
        assert!(value[side]["wasted_cost_usd"].is_number(), "{value}");
    }
    assert!(value["health"]["verdict"].is_string(), "{value}");

    let r = run(&["demo", "--duration", "1", "--price", "gpt-4o=2.5/10"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("missing: claude-sonnet"), "{}", r.stderr);
    let r = run(&["demo", "--price", "gpt-4o"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("MODEL=IN/OUT"), "{}", r.stderr);
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
    let r = run(&["demo", "--duration", "4", "--scenario", &path]);
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
        row(out, "wasted calls") * 2 < requests,
        "the open breaker spared the dead primary most calls:\n{out}"
    );
    assert!(
        out.contains("breaker primary closed → OPEN"),
        "the breaker change is shown:\n{out}"
    );
    assert!(
        out.contains("failed calls: primary overloaded"),
        "what failed is shown:\n{out}"
    );
    assert!(
        !out.contains("back on the primary"),
        "no recovery, no row:\n{out}"
    );

    let path = dir.file("typo.toml", "[[models]]\nnam = \"x\"\n");
    let r = run(&["demo", "--scenario", &path]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("typo.toml"), "{}", r.stderr);
}
