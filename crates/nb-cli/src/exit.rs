//! Exit codes and the error type every command returns.

use std::fmt;
use std::process::ExitCode;

use nb_diagnose::Diagnosis;

/// The exit codes, as documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success; for `diagnose`, the endpoint is healthy.
    Ok = 0,
    /// `diagnose`: the endpoint failed in a way that can heal by itself (rate limit,
    /// overload, server error, timeout, network): retry later or fall back.
    Transient = 1,
    /// Bad flags, a config or scenario file that does not load, a missing environment
    /// variable (clap uses 2 for its own usage errors too).
    Usage = 2,
    /// `diagnose`: the endpoint failed in a way that needs a person (key, quota,
    /// permission, model name, request).
    NeedsFix = 3,
    /// The command could not run: a port that cannot be bound, an I/O error.
    Runtime = 4,
}

impl Exit {
    /// The exit code for a diagnosed failure.
    pub(crate) fn for_diagnosis(d: &Diagnosis) -> Self {
        if d.retryable {
            Self::Transient
        } else {
            Self::NeedsFix
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// The `--help` text that documents the exit codes.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success; for `diagnose`, the endpoint is healthy
  1  `diagnose`: a transient failure (rate limit, overload, server error, timeout,
     network): retry later or fall back
  2  usage error: bad flags, a config or scenario file that does not load,
     a missing environment variable
  3  `diagnose`: a failure that needs a fix (key, quota, permission, model, request)
  4  the command could not run (a port that cannot be bound, an I/O error)";

/// Why a command stopped.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The user asked for something that cannot work (exit 2).
    Usage(String),
    /// Something failed while running (exit 4).
    Runtime(String),
    /// Whoever reads our output went away (`| head`): stop quietly (exit 0).
    Closed,
}

impl CliError {
    pub(crate) fn usage(message: impl fmt::Display) -> Self {
        Self::Usage(message.to_string())
    }

    pub(crate) fn runtime(message: impl fmt::Display) -> Self {
        Self::Runtime(message.to_string())
    }

    pub(crate) fn exit(&self) -> Exit {
        match self {
            Self::Usage(_) => Exit::Usage,
            Self::Runtime(_) => Exit::Runtime,
            Self::Closed => Exit::Ok,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) | Self::Runtime(m) => f.write_str(m),
            Self::Closed => f.write_str("output closed"),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Self::Closed
        } else {
            Self::runtime(e)
        }
    }
}

/// What a command returns: the exit code to end with, or why it stopped.
pub(crate) type CliResult = Result<Exit, CliError>;
