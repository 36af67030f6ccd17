//! `neuralbridge providers`.

use serde_json::Value;

use crate::common::{assert_contains_all, run};

#[test]
fn the_table_shows_timeouts_retries_rpm_and_detection() {
    let r = run(&["providers"]);
    assert_eq!(r.code, 0);
    let header = r.stdout.lines().next().unwrap();
    assert_contains_all(
        header,
        &["PROVIDER", "TIMEOUTS", "RETRIES", "RPM", "DETECTED BY"],
    );
    let dashscope = r
        .stdout
        .lines()
        .find(|l| l.starts_with("dashscope"))
        .unwrap();
    assert_contains_all(
        dashscope,
        &[
            "2s / 8s / 25s",
            "2 / 4",
            "120",
            "url: dashscope",
            "model: qwen-, qwq-",
        ],
    );
    for provider in [
        "openai",
        "anthropic",
        "deepseek",
        "bedrock",
        "ollama",
        "unknown",
    ] {
        assert!(
            r.stdout.lines().any(|l| l.starts_with(provider)),
            "{provider}"
        );
    }
}

#[test]
fn json_lists_every_profile() {
    let r = run(&["providers", "--json"]);
    assert_eq!(r.code, 0);
    let all: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    assert!(all.len() >= 19, "{}", all.len());
    let dashscope = all.iter().find(|p| p["provider"] == "dashscope").unwrap();
    assert_eq!(dashscope["timeouts_s"]["patient"], 25.0);
    assert_eq!(dashscope["rpm_limit"], 120);
    assert_eq!(dashscope["url_patterns"][0], "dashscope");
}
