//! `neuralbridge diagnose-error`: the README's examples, JSON output, and batch mode over the
//! provider error corpus.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::{assert_contains_all, run, run_with_stdin};

#[test]
fn a_dashscope_rate_limit_gets_the_full_report() {
    let r = run(&[
        "diagnose-error",
        "throttling.ratequota: 请求速度超限",
        "--status-code",
        "429",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_contains_all(
        &r.stdout,
        &[
            "│ ✗ RATE LIMIT",
            "SEVERITY: MEDIUM | CONFIDENCE:",
            "dashscope_rate_limit",
            "HTTP 429",
            "ROOT CAUSE",
            "FIX SUGGESTIONS",
            "1. Wait, then retry",
            "   Command: ",
            "   Why:     ",
        ],
    );
}

#[test]
fn a_billing_limit_is_quota_exhausted() {
    let r = run(&["diagnose-error", "billing hard limit reached"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("│ ✗ QUOTA EXHAUSTED"), "{}", r.stdout);
    assert!(r.stdout.contains("SEVERITY: CRITICAL"), "{}", r.stdout);
    assert!(r.stdout.contains("not retryable"), "{}", r.stdout);
}

#[test]
fn a_model_not_found_as_json() {
    let r = run(&["diagnose-error", "model not found: deepseek-v4", "--json"]);
    assert_eq!(r.code, 0);
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["category"], "model_not_found");
    assert_eq!(d["sub_category"], "deepseek_model_not_found");
    assert_eq!(d["provider"], "deepseek");
    assert_eq!(d["retryable"], false);
    assert!(d["suggestions"].as_array().is_some_and(|s| !s.is_empty()));
}

#[test]
fn a_guess_from_words_only_when_asked() {
    let text = "your organization ran out of prepaid credit balance";
    let r = run(&["diagnose-error", text, "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["category"], "unknown", "{d}");
    let r = run(&["diagnose-error", text, "--json", "--guess"]);
    assert_eq!(r.code, 0, "{r:?}");
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (&d["category"], &d["sub_category"]),
        (&"quota_exhausted".into(), &"guessed_from_words".into()),
        "{d}"
    );
    let r = run(&["diagnose-error", text, "--guess"]);
    assert!(
        r.stdout.contains("the category is a guess from"),
        "{}",
        r.stdout
    );
    let line = format!("{{\"message\":\"{text}\"}}\n");
    for (flags, want) in [(&[][..], "unknown"), (&["--guess"][..], "quota_exhausted")] {
        let args: Vec<&str> = ["diagnose-error", "--jsonl"]
            .iter()
            .chain(flags)
            .copied()
            .collect();
        let r = run_with_stdin(&args, line.as_bytes());
        let d: Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(d["category"], want, "{flags:?}: {d}");
    }
}

#[test]
fn headers_and_context_reach_the_diagnosis() {
    let body = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    let r = run(&[
        "diagnose-error",
        body,
        "--status-code",
        "429",
        "--header",
        "Retry-After: 20",
        "--base-url",
        "https://api.groq.com/openai/v1",
        "--model",
        "llama-3.3-70b-versatile",
        "--json",
    ]);
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["category"], "rate_limit");
    assert_eq!(d["provider"], "groq");
    assert_eq!(d["retry_after_s"], 20.0);
    // The action shown is the client's (its policy table and its one wait cap), and the
    // diagnosis carries no competing advice.
    assert_eq!(
        d["client_action"],
        "fall back (the server's 20 s wait is longer than the 10 s cap)"
    );
    assert!(d.get("action").is_none() && d.get("fallback").is_none());
}

#[test]
fn bad_flags_are_usage_errors() {
    let r = run(&["diagnose-error", "x", "--header", "no colon here"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("'Name: value'"), "{}", r.stderr);
    let r = run(&["diagnose-error", "x", "--status-code", "42"]);
    assert_eq!(r.code, 2);
    let r = run(&["diagnose-error"]);
    assert_eq!(r.code, 2, "a message or --jsonl is required");
    let r = run(&["diagnose-error", "x", "--jsonl"]);
    assert_eq!(r.code, 2, "a message and --jsonl conflict");
}

/// Runs a corpus through `diagnose-error --jsonl` and holds it to nb-diagnose's bars: 95%
/// category, 97% retryable, every server-given wait found (within 1% or 50 ms).
fn check_corpus(name: &str, corpus: &str) {
    let r = run_with_stdin(&["diagnose-error", "--jsonl"], corpus.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cases: Vec<Value> = corpus
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let answers: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), cases.len(), "one answer per line");
    let (mut category, mut retryable) = (0, 0);
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut missed_waits = Vec::new();
    for (case, answer) in cases.iter().zip(&answers) {
        assert_eq!(answer["id"], case["id"], "answers come back in order");
        for field in [
            "category",
            "retryable",
            "retry_after_s",
            "provider",
            "sub_category",
            "confidence",
        ] {
            assert!(answer.get(field).is_some(), "{field} missing in {answer}");
        }
        let (want, got) = (&case["category"], &answer["category"]);
        if want == got {
            category += 1;
        } else {
            *confusion
                .entry((want.to_string(), got.to_string()))
                .or_default() += 1;
        }
        retryable += usize::from(case["retryable"] == answer["retryable"]);
        if let Some(want) = case["retry_after_s"].as_f64() {
            let found = answer["retry_after_s"]
                .as_f64()
                .is_some_and(|got| (got - want).abs() <= (want * 0.01).max(0.05));
            if !found {
                missed_waits.push((case["id"].clone(), answer["retry_after_s"].clone()));
            }
        }
    }
    let n = cases.len() as f64;
    let (cat_pct, retry_pct) = (100.0 * category as f64 / n, 100.0 * retryable as f64 / n);
    eprintln!(
        "{name} corpus via the CLI: {} cases, category {cat_pct:.1}%, retryable {retry_pct:.1}%, misses (want, got): {confusion:?}",
        cases.len()
    );
    assert!(
        cat_pct >= 95.0,
        "{name}: category accuracy {cat_pct:.1}%: {confusion:?}"
    );
    assert!(
        retry_pct >= 97.0,
        "{name}: retryable accuracy {retry_pct:.1}%"
    );
    assert!(
        missed_waits.is_empty(),
        "{name}: waits missed: {missed_waits:?}"
    );
}

#[test]
fn jsonl_over_the_dev_corpus_meets_the_accuracy_bar() {
    check_corpus(
        "dev",
        include_str!("../../../nb-diagnose/tests/corpus/dev_errors.jsonl"),
    );
}

#[test]
fn jsonl_over_the_heldout_corpus_meets_the_accuracy_bar() {
    check_corpus(
        "held-out",
        include_str!("../../../nb-diagnose/tests/corpus/heldout_errors.jsonl"),
    );
}

#[test]
fn jsonl_bad_lines_get_an_error_object_and_the_run_goes_on() {
    let input = concat!(
        "{\"message\":\"model not found: deepseek-v4\"}\n",
        "{\"status\": 429, \"headers\": \n",
        "[1, 2, 3]\n",
        "{\"status\":503,\"headers\":{\"retry-after\":\"9\"},\"body\":\"{}\"}\n",
    );
    let r = run_with_stdin(&["diagnose-error", "--jsonl"], input.as_bytes());
    assert_eq!(r.code, 0);
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["category"], "model_not_found");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["error"]["kind"], "invalid_json");
    assert!(lines[1].get("category").is_none());
    assert_eq!(lines[2]["error"]["kind"], "invalid_json");
    assert_eq!(lines[3]["category"], "overloaded");
    assert_eq!(lines[3]["retry_after_s"], 9.0);
}

#[test]
fn jsonl_answers_each_line_before_the_next_arrives() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let mut child = Command::new(crate::common::BIN)
        .args(["diagnose-error", "--jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for (message, category) in [
        ("billing hard limit reached", "quota_exhausted"),
        ("model not found: deepseek-v4", "model_not_found"),
    ] {
        writeln!(stdin, "{{\"message\":\"{message}\"}}").unwrap();
        stdin.flush().unwrap();
        // stdin stays open: the answer must come without the end of the input.
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["category"], category);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
