use std::time::{Duration, UNIX_EPOCH};

use nb_client::health::{Exclusion, ExclusionEnd, ExclusionReason, ModelStatus, Verdict};
use nb_client::layers::learn::FlywheelEngine;

use super::report::{health, parse_price, quantile};
use super::*;

#[test]
fn prices_parse_and_must_cover_the_chain() {
    let (model, price) = parse_price("gpt-4o=2.5/10").unwrap();
    assert_eq!(model, "gpt-4o");
    let prices: Prices = [(model, price)].into_iter().collect();
    assert!(prices.check(&["gpt-4o".to_owned()]).is_ok());
    let err = prices
        .check(&["gpt-4o".to_owned(), "qwen-plus".to_owned()])
        .unwrap_err();
    assert!(err.to_string().contains("missing: qwen-plus"), "{err}");
    let err = prices.check(&["other".to_owned()]).unwrap_err();
    assert!(
        err.to_string().contains("not in the scenario's chain"),
        "{err}"
    );
    assert!(Prices::default().check(&["any".to_owned()]).is_ok());
    for bad in ["gpt-4o", "gpt-4o=2.5", "=1/2", "m=x/1", "m=1/-2", "m=1/NaN"] {
        assert!(parse_price(bad).is_err(), "{bad}");
    }
}

#[test]
fn quantiles_of_sorted_latencies() {
    let ms: Vec<(Duration, bool)> = (1..=100)
        .map(|m| (Duration::from_millis(m), false))
        .collect();
    assert_eq!(quantile(&ms, 0.5), Duration::from_millis(50));
    assert_eq!(quantile(&ms, 0.99), Duration::from_millis(99));
    assert_eq!(quantile(&ms[..1], 0.99), Duration::from_millis(1));
    assert_eq!(quantile::<bool>(&[], 0.5), Duration::ZERO);
}

#[test]
fn the_embedded_scenario_tells_its_story_in_phases() {
    let s = embedded().unwrap();
    assert_eq!(s.models().len(), 4);
    assert_eq!(s.duration(), Some(Duration::from_secs(30)));
    let titles: Vec<&str> = s.phases().iter().map(|p| p.title()).collect();
    assert_eq!(titles.len(), 7, "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("quota")));
    assert!(titles.iter().any(|t| t.contains("hangs")));
    assert!(titles.iter().any(|t| t.contains("recovers")));
}

/// The report's verdict follows the models: an excluded primary is never shown healthy,
/// and says why and until when.
#[test]
fn the_health_report_shows_the_verdict_and_each_exclusion() {
    let now = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
    let engine = FlywheelEngine::builder()
        .fallback_models(["gpt-4o", "claude-sonnet"])
        .build();
    let mut report = engine.health_report(now);
    let mut out = String::new();
    health(&mut out, &report);
    assert!(out.contains("HEALTH REPORT  ✓ HEALTHY"), "{out}");

    report.exclude(
        "gpt-4o",
        Exclusion::new(
            ExclusionReason::BreakerOpen,
            ExclusionEnd::Probe {
                next_probe: Some(now + Duration::from_secs(30)),
            },
        ),
    );
    let mut out = String::new();
    health(&mut out, &report);
    assert!(out.contains("HEALTH REPORT  ~ DEGRADED"), "{out}");
    assert!(!out.contains("HEALTHY"), "{out}");
    assert!(out.contains("  excluded   gpt-4o"), "{out}");
    assert!(out.contains("  active     claude-sonnet"), "{out}");
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(
            "gpt-4o excluded not called: circuit breaker open, until a probe succeeds (next \
             probe at 00:00:30 UTC)"
        ),
        "{out}"
    );

    report.exclude(
        "claude-sonnet",
        Exclusion::new(ExclusionReason::ForcedOpen, ExclusionEnd::Manual),
    );
    let mut out = String::new();
    health(&mut out, &report);
    assert!(out.contains("HEALTH REPORT  ✗ UNHEALTHY"), "{out}");
}

/// The whole embedded scenario, 30 s of it, in virtual time: the mock's latencies and
/// faults, NeuralBridge's breakers and hedges and the plain loop's backoffs and timeouts all
/// run on tokio's paused clock. Counts only, no wall-clock figure.
#[tokio::test(start_paused = true)]
async fn the_demo_shows_the_difference() {
    let demo = Demo {
        scenario: embedded().unwrap(),
        source: "test".to_owned(),
        duration: None,
        json: true,
        prices: [
            ("gpt-4o", 2.5, 10.0),
            ("claude-sonnet", 3.0, 15.0),
            ("deepseek-chat", 0.27, 1.1),
            ("qwen-plus", 0.4, 1.2),
        ]
        .into_iter()
        .map(|(m, i, o)| parse_price(&format!("{m}={i}/{o}")).unwrap())
        .collect(),
    };
    let m = measure(demo, false).await.unwrap();
    let (ours, theirs) = (&m.summary.neuralbridge, &m.summary.plain_retry);
    let json = serde_json::to_string_pretty(&m.summary).unwrap();
    // The same requests on both sides: 240 questions and 3 reports.
    assert_eq!(ours.requests, 243, "{json}");
    assert_eq!(theirs.requests, ours.requests, "{json}");
    // The plain loop retries the spent quota and waits on the hung model; NeuralBridge
    // pays a few calls to see each state.
    assert!(
        ours.wasted_calls * 3 < theirs.wasted_calls,
        "NeuralBridge wastes far fewer calls: {json}"
    );
    assert!(
        ours.wasted_calls > 0,
        "the faults reached NeuralBridge: {json}"
    );
    assert_eq!(ours.truncated, 0, "{json}");
    assert!(
        theirs.truncated > 0,
        "the cut streams reached the plain loop: {json}"
    );
    assert!(ours.success_rate > theirs.success_rate, "{json}");
    assert!(ours.success_rate >= 0.99, "{json}");
    assert!(
        theirs.unfinished > 0,
        "the hung model holds plain callers: {json}"
    );
    assert_eq!(ours.unfinished, 0, "{json}");
    assert!(ours.wasted_cost_usd.is_some(), "{json}");
    assert_eq!(m.summary.primary_recovered_at_s, Some(18.0));
    let back = ours
        .back_on_primary_s
        .expect("NeuralBridge came back to gpt-4o");
    assert!(back < 5.0, "{json}");
    // The verdict follows the models' states, and every excluded model says why.
    let states: Vec<ModelStatus> = m.health.models.iter().map(|m| m.status).collect();
    assert_eq!(m.summary.health.verdict, Verdict::of(states), "{json}");
    for model in &m.summary.health.models {
        assert!(!model.reason.is_empty(), "{json}");
        if model.state == "excluded" {
            assert!(model.reason.starts_with("not called: "), "{json}");
        }
    }
    // The JSON has the documented shape, rates in 0..1.
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    for side in ["neuralbridge", "plain_retry"] {
        for field in [
            "requests",
            "success_rate",
            "p50_ms",
            "p99_ms",
            "upstream_calls",
            "wasted_calls",
            "back_on_primary_s",
            "truncated",
        ] {
            assert!(value[side].get(field).is_some(), "{side}.{field} in {json}");
        }
        let rate = value[side]["success_rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&rate));
    }
    assert!(value["health"]["verdict"].is_string());
    assert_eq!(value["health"]["models"].as_array().unwrap().len(), 4);
}

/// docs/DEMO.md shows the plain loop's code: the very code the demo runs.
#[test]
fn the_docs_quote_the_plain_loop_as_it_is() {
    let source = include_str!("plain.rs");
    let begin = source.find("// loop:begin\n").unwrap() + "// loop:begin\n".len();
    let end = source.find("// loop:end").unwrap();
    let docs = include_str!("../../../../docs/DEMO.md");
    assert!(
        docs.contains(&format!("```rust\n{}```", &source[begin..end])),
        "docs/DEMO.md quotes the loop between the markers of plain.rs"
    );
}
