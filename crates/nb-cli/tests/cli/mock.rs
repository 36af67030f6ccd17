//! `neuralbridge mock`: nb-mock standalone.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::common::{BIN, run};

const SCENARIO: &str = r#"
[[models]]
name = "gpt-4o"
reply = "Hello from the mock."

[[models]]
name = "limited"
[[models.rules]]
fault = { kind = "rate_limit", retry_after_s = 2 }
"#;

/// Starts `neuralbridge mock` on a free port and returns it with its base URL, read from
/// the first line it prints.
async fn start(dir: &std::path::Path) -> (Child, String, BufReader<tokio::process::ChildStdout>) {
    let path = dir.join("scenario.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    let mut child = Command::new(BIN)
        .args(["mock", "--scenario", path.to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).await.unwrap();
    let base = first
        .trim()
        .strip_prefix("nb-mock listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    (child, base, stdout)
}

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

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nb-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn mock_serves_its_scenario_until_stopped() {
    let dir = temp_dir("mock");
    let (mut child, base, mut stdout) = start(&dir).await;
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
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_scenario_that_does_not_load_is_a_usage_error() {
    let dir = temp_dir("bad-scenario");
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[[models]]\nname = \"m\"\nlatency = 5\n").unwrap();
    let r = run(&["mock", "--scenario", path.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("bad.toml"), "{}", r.stderr);
    assert!(
        r.stderr.contains("latency"),
        "names the unknown field: {}",
        r.stderr
    );
    let r = run(&["mock", "--scenario", "/nonexistent/scenario.toml"]);
    assert_eq!(r.code, 2, "{r:?}");
    let _ = std::fs::remove_dir_all(dir);
}
