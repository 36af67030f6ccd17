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
