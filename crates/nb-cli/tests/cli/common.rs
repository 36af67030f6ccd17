//! Running the binary, and a few helpers shared by the command tests.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use nb_mock::{MockServer, Scenario};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_neuralbridge");

/// What a run printed, and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from_output(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }

    /// Everything printed, for "must not contain" checks.
    pub(crate) fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Asserts that `text` contains each of `parts`, naming the one missing.
#[track_caller]
pub(crate) fn assert_contains_all(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} missing in\n{text}");
    }
}

/// Runs the binary to completion with `stdin` as its input.
pub(crate) fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // Written from a thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    Run::from_output(out)
}

/// Runs the binary to completion with no input.
pub(crate) fn run(args: &[&str]) -> Run {
    Run::from_output(
        Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

/// Runs the binary without blocking the runtime, so a mock server in this process keeps
/// serving while the binary talks to it.
pub(crate) async fn run_async(args: &[&str], envs: &[(&str, &str)]) -> Run {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    Run::from_output(out)
}

/// A mock server for a scenario written in TOML.
pub(crate) async fn mock(toml: &str) -> MockServer {
    MockServer::start(Scenario::from_toml_str(toml).unwrap())
        .await
        .unwrap()
}

/// A directory for a test's files, removed when dropped.
#[derive(Debug)]
pub(crate) struct TempDir(std::path::PathBuf);

impl TempDir {
    /// A fresh directory named after the test and this process.
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nb-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// Writes `contents` to `name` in the directory; returns its path as a string.
    pub(crate) fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server started from the binary.
#[derive(Debug)]
pub(crate) struct Server {
    /// The process (killed when dropped).
    pub(crate) child: tokio::process::Child,
    /// The base URL it printed on its first line.
    pub(crate) base: String,
    /// The rest of its stdout (for the test to take).
    pub(crate) stdout: Option<tokio::io::BufReader<tokio::process::ChildStdout>>,
    /// Everything it wrote to stderr so far (read continually, so it never blocks).
    pub(crate) stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Sends SIGINT (Ctrl-C) to the process.
    #[cfg(unix)]
    pub(crate) fn interrupt(&self) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// What it wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// Starts the binary as a server and reads the base URL from its first line, which must
/// start with `banner`.
pub(crate) async fn start_server(args: &[&str], envs: &[(&str, &str)], banner: &str) -> Server {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut err_pipe = child.stderr.take().unwrap();
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = std::sync::Arc::clone(&stderr);
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = err_pipe.read(&mut buf).await {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut first = String::new();
    stdout.read_line(&mut first).await.unwrap();
    let base = first
        .trim()
        .strip_prefix(banner)
        .unwrap_or_else(|| panic!("first line: {first:?}, stderr: {}", stderr.lock().unwrap()))
        .trim()
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Server {
        child,
        base,
        stdout: Some(stdout),
        stderr,
    }
}
