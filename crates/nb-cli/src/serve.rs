//! `neuralbridge serve`: runs nb-serve's sidecar until Ctrl-C (or SIGTERM).

use std::net::SocketAddr;
use std::path::Path;

use nb_serve::{ServeConfig, ServeError, Sidecar};

use crate::args::print;
use crate::exit::{CliError, CliResult, Exit};

impl From<ServeError> for CliError {
    fn from(e: ServeError) -> Self {
        match e {
            ServeError::Config(m) => CliError::usage(m),
            other => CliError::runtime(other.to_string()),
        }
    }
}

/// Loads the configuration (a bad file is a usage error, exit 2).
pub(crate) fn load(path: &Path) -> Result<ServeConfig, CliError> {
    Ok(ServeConfig::load(path)?)
}

/// Checks the configuration (`--check`) or binds, prints the base URL and
/// serves until Ctrl-C.
pub(crate) async fn run(config: ServeConfig, listen: Option<SocketAddr>, check: bool) -> CliResult {
    if check {
        print(&nb_serve::check(config)?)?;
        return Ok(Exit::Ok);
    }
    let sidecar = Sidecar::bind(config, listen).await?;
    let bound = sidecar.local_addr();
    if !bound.ip().is_loopback() {
        eprintln!(
            "warning: listening on {bound}, reachable from other machines{}",
            if sidecar.requires_token() {
                ""
            } else {
                " with no auth_token_env: anyone who can reach it can spend your keys"
            }
        );
    }
    print(&sidecar.summary())?;
    sidecar.serve(nb_serve::shutdown_signal()).await;
    print("Stopped.\n")?;
    Ok(Exit::Ok)
}
