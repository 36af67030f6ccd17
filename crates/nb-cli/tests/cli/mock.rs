//! `neuralbridge mock`: nb-mock standalone.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TempDir, run, start_server};

const SCENARIO: &str = r#"
[[models]]
name = "gpt-4o"
reply = "Hello from the mock."

[[models]]
name = "limited"
[[models.rules]]
fault = { kind = "rate_limit", retry_after_s = 2 }
"#;

/// One HTTP/1.1 POST; returns the status and the body.
async fn post(base: &str, body: &str) -> (u16, String) {
    let authority = base
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/v1"))
        .unwrap();
    let mut stream = TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[tokio::test]
async fn mock_serves_its_scenario_until_stopped() {
    let dir = TempDir::new("mock");
    let path = dir.file("scenario.toml", SCENARIO);
    let args = ["mock", "--scenario", &path, "--port", "0"];
    let server = start_server(&args, &[], "nb-mock listening on").await;
    let (mut child, base, mut stdout) = (server.child, server.base, server.stdout.unwrap());
    let (status, body) = post(
        &base,
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("Hello from the mock."), "{body}");
    let (status, _) = post(
        &base,
        r#"{"model":"limited","messages":[{"role":"user","content":"Hi"}]}"#,
    )
    .await;
    assert_eq!(status, 429);

    // The live log shows both requests with their fault.
    let mut seen = String::new();
    while !(seen.contains("gpt-4o") && seen.contains("rate_limit")) {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).await.unwrap() > 0, "{seen}");
        seen.push_str(&line);
    }

    #[cfg(unix)]
    {
        // Ctrl-C: a clean stop with a summary.
        let pid = child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status();
        if killed.is_ok_and(|s| s.success()) {
            let mut rest = String::new();
            stdout.read_to_string(&mut rest).await.unwrap();
            assert!(rest.contains("Stopped. Requests per model:"), "{rest}");
            assert!(child.wait().await.unwrap().success());
        }
    }
    let _ = child.kill().await;
}

#[test]
fn a_scenario_that_does_not_load_is_a_usage_error() {
    let dir = TempDir::new("bad-scenario");
    let path = dir.file("bad.toml", "[[models]]\nname = \"m\"\nlatency = 5\n");
    let r = run(&["mock", "--scenario", &path]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("bad.toml"), "{}", r.stderr);
    assert!(
        r.stderr.contains("latency"),
        "names the unknown field: {}",
        r.stderr
    );
    let r = run(&["mock", "--scenario", "/nonexistent/scenario.toml"]);
    assert_eq!(r.code, 2, "{r:?}");
}
