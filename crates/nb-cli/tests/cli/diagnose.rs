//! `neuralbridge diagnose` against nb-mock faults served from this test process.

use serde_json::Value;

use crate::common::{assert_contains_all, mock, run, run_async};

const SCENARIO: &str = r#"
[[models]]
name = "gpt-4o"

[[models]]
name = "limited"
[[models.rules]]
fault = { kind = "rate_limit", retry_after_s = 7 }

[[models]]
name = "revoked"
[[models.rules]]
fault = "invalid_api_key"

[[models]]
name = "echoing"
[[models.rules]]
fault = { kind = "custom", status = 401, body = '{"error":{"message":"Invalid API key 0123456789abcdef0123456789abcdef.","code":"invalid_api_key"}}' }

[[models]]
name = "hung"
[[models.rules]]
fault = "hang"

[[models]]
name = "broken"
[[models.rules]]
fault = "truncated_json"
"#;

const SECRET: &str = "sk-nbtest-DO-NOT-PRINT-9f8e7d6c";

fn args<'a>(base: &'a str, model: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["diagnose", "--base-url", base, "--model", model];
    a.extend_from_slice(extra);
    a
}

#[tokio::test]
async fn healthy_endpoint_exits_0() {
    let server = mock(SCENARIO).await;
    let base = server.base_url();
    let r = run_async(&args(&base, "gpt-4o", &["--api-key", SECRET]), &[]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("│ ✓ HEALTHY"), "{}", r.stdout);
    assert!(r.stdout.contains("Served by: gpt-4o"), "{}", r.stdout);
    assert!(r.stdout.contains("Response time:"), "{}", r.stdout);
    assert!(!r.all().contains(SECRET));
    assert_eq!(server.log().attempts("gpt-4o"), 1, "one request, no retry");
    let seen = &server.log().requests_for("gpt-4o")[0];
    assert_eq!(seen.credential.last4(), Some("7d6c"), "the key was sent");
}

#[tokio::test]
async fn rate_limit_is_transient_exit_1() {
    let server = mock(SCENARIO).await;
    let base = server.base_url();
    let r = run_async(&args(&base, "limited", &[]), &[]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert_contains_all(
        &r.stdout,
        &[
            "│ ✗ RATE LIMIT",
            "SEVERITY: MEDIUM",
            "HTTP 429",
            "ROOT CAUSE",
            "FIX SUGGESTIONS",
            "NEXT STEP",
            "sleep 7 && neuralbridge diagnose",
        ],
    );
}

#[tokio::test]
async fn bad_key_needs_a_fix_exit_3_and_the_key_is_never_printed() {
    let server = mock(SCENARIO).await;
    let base = server.base_url();
    let envs = [("NB_TEST_KEY", SECRET)];
    for key_args in [
        &["--api-key", SECRET][..],
        &["--api-key-env", "NB_TEST_KEY"],
    ] {
        for json in [false, true] {
            let mut extra = key_args.to_vec();
            if json {
                extra.push("--json");
            }
            let r = run_async(&args(&base, "revoked", &extra), &envs).await;
            assert_eq!(r.code, 3, "{r:?}");
            assert!(!r.all().contains(SECRET), "key printed:\n{}", r.all());
            assert!(!r.all().contains("9f8e7d6c"), "part of the key printed");
            if json {
                let v: Value = serde_json::from_str(&r.stdout).unwrap();
                assert_eq!(v["healthy"], false);
                assert_eq!(v["diagnosis"]["category"], "auth");
            } else {
                assert!(r.stdout.contains("│ ✗ AUTH"), "{}", r.stdout);
                assert!(r.stdout.contains("SEVERITY: CRITICAL"), "{}", r.stdout);
            }
        }
    }
}

#[tokio::test]
async fn a_key_the_provider_echoes_without_a_prefix_is_scrubbed() {
    // Azure-style: 32 hex digits, nothing nb-diagnose's shape-based masking recognises.
    const HEX_KEY: &str = "0123456789abcdef0123456789abcdef";
    let server = mock(SCENARIO).await;
    let base = server.base_url();
    for json in [false, true] {
        let mut extra = vec!["--api-key", HEX_KEY];
        if json {
            extra.push("--json");
        }
        let r = run_async(&args(&base, "echoing", &extra), &[]).await;
        assert_eq!(r.code, 3, "{r:?}");
        assert!(!r.all().contains(HEX_KEY), "key printed:\n{}", r.all());
        assert!(r.stdout.contains("Invalid API key ***."), "{}", r.stdout);
    }
}

#[tokio::test]
async fn hung_model_times_out_at_the_given_timeout() {
    let server = mock(SCENARIO).await;
    let base = server.base_url();
    let r = run_async(&args(&base, "hung", &["--timeout", "300ms", "--json"]), &[]).await;
    assert_eq!(r.code, 1, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["diagnosis"]["category"], "timeout");
    assert_eq!(v["status"], Value::Null);
    assert_eq!(server.log().attempts("hung"), 1);
    // Far above 300 ms, far below the 30 s default: the flag, not the default, ended it.
    let waited = v["latency_ms"].as_f64().unwrap();
    assert!(waited < 10_000.0, "{waited} ms");
}

#[tokio::test]
async fn a_broken_success_body_is_malformed() {
    let server = mock(SCENARIO).await;
    let base = server.base_url();
    let r = run_async(&args(&base, "broken", &["--json"]), &[]).await;
    assert_eq!(r.code, 1, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["diagnosis"]["category"], "malformed_response");
}

#[tokio::test]
async fn nothing_listening_is_a_network_failure() {
    // Port 1 is below the ephemeral range: no other test's server can take
    // it between the choice and the call, as a port freed by one could be.
    let base = "http://127.0.0.1:1/v1";
    let r = run_async(&args(base, "gpt-4o", &["--timeout", "2"]), &[]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("│ ✗ NETWORK"), "{}", r.stdout);
    assert!(r.stdout.contains("curl -sv"), "{}", r.stdout);
}

#[test]
fn usage_errors_exit_2_before_any_request() {
    let r = run(&[
        "diagnose",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--api-key-env",
        "NB_CLI_TEST_UNSET_VARIABLE",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("NB_CLI_TEST_UNSET_VARIABLE is not set"),
        "{}",
        r.stderr
    );

    let r = run(&["diagnose", "--base-url", "not a url", "--model", "m"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--base-url"), "{}", r.stderr);

    let r = run(&[
        "diagnose",
        "--base-url",
        "http://x/v1",
        "--model",
        "m",
        "--timeout",
        "0",
    ]);
    assert_eq!(r.code, 2);

    let r = run(&[
        "diagnose",
        "--base-url",
        "http://x/v1",
        "--model",
        "m",
        "--api-key",
        "k",
        "--api-key-env",
        "V",
    ]);
    assert_eq!(r.code, 2, "--api-key and --api-key-env conflict");
}
