//! The Python package (`crates/nb-python`): built into a virtual environment
//! of its own under the target directory (the system Python may refuse
//! installs) and tested with pytest against nb-mock. It stays out of the
//! workspace, so `cargo test --workspace` never needs Python.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench::target_dir;
use crate::{cargo, workspace_root};

/// The tools the environment gets, pinned.
pub(crate) const TOOLS: &[&str] = &["maturin==1.16.0", "pytest==8.4.2"];

/// The package's virtual environment, made (with [`TOOLS`]) if needed.
pub(crate) fn venv() -> Result<PathBuf, String> {
    let dir = target_dir().join("nb-python").join("venv");
    let python = dir.join("bin").join("python");
    if !python.is_file() {
        let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(
            Command::new(&system).args(["-m", "venv"]).arg(&dir),
            &format!(
                "the Python tests need `{system}` with its `venv` module (Debian: \
                 `apt-get install python3-venv`; or set PYTHON to an interpreter that has it)"
            ),
        )?;
    }
    pip(&dir, &["install", "--quiet", "--upgrade", "pip"])?;
    let mut args = vec!["install", "--quiet"];
    args.extend(TOOLS);
    pip(&dir, &args)?;
    Ok(dir)
}

fn pip(venv: &Path, args: &[&str]) -> Result<(), String> {
    run(
        Command::new(venv.join("bin").join("python"))
            .args(["-m", "pip"])
            .args(args),
        "pip failed (the Python tests need PyPI for maturin and pytest)",
    )
}

fn run(command: &mut Command, hint: &str) -> Result<(), String> {
    eprintln!("$ {command:?}");
    let status = command.status().map_err(|e| format!("{e}: {hint}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status}): {hint}"))
    }
}

/// Builds the package as a user would (`pip install ./crates/nb-python`,
/// maturin as the PEP 517 backend), into `venv`. Tests take the dev
/// profile: the same code, built in a fraction of the time.
pub(crate) fn install(venv: &Path, profile: &str) -> Result<(), String> {
    let package = workspace_root().join("crates").join("nb-python");
    run(
        Command::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-build-isolation",
                "--force-reinstall",
                "--no-deps",
            ])
            .arg(&package)
            // The backend runs the venv's `maturin` binary.
            .env("PATH", with_venv_path(venv))
            .env(
                "CARGO_TARGET_DIR",
                target_dir().join("nb-python").join("cargo"),
            )
            .env("MATURIN_PEP517_ARGS", format!("--profile {profile}")),
        "the package did not build",
    )
}

/// `PATH` with the venv's `bin` first.
fn with_venv_path(venv: &Path) -> std::ffi::OsString {
    let mut paths = vec![venv.join("bin")];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap_or_default()
}

/// `cargo xtask test`'s Python part: the package built and installed, then
/// its pytest suite against nb-mock (the `neuralbridge` binary).
pub(crate) fn test() -> Result<(), String> {
    let venv = venv()?;
    install(&venv, "dev")?;
    cargo(&["build", "-p", "nb-cli", "--locked"], &[])?;
    let mock = target_dir().join("debug").join("neuralbridge");
    run(
        Command::new(venv.join("bin").join("python"))
            .args(["-m", "pytest", "-q"])
            .arg(
                workspace_root()
                    .join("crates")
                    .join("nb-python")
                    .join("tests"),
            )
            .env("NB_MOCK_BIN", &mock),
        "the Python tests failed",
    )
}

/// The Rust side of the package, checked as the workspace is: formatting,
/// and clippy with warnings denied (PyO3's build needs the venv's Python).
pub(crate) fn lint() -> Result<(), String> {
    let venv = venv()?;
    let manifest = workspace_root()
        .join("crates")
        .join("nb-python")
        .join("Cargo.toml");
    let manifest = manifest.to_string_lossy().into_owned();
    cargo(&["fmt", "--manifest-path", &manifest, "--check"], &[])?;
    let python = venv.join("bin").join("python");
    let python = python.to_string_lossy().into_owned();
    let target = target_dir().join("nb-python").join("cargo");
    let target = target.to_string_lossy().into_owned();
    cargo(
        &[
            "clippy",
            "--manifest-path",
            &manifest,
            "--locked",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[("PYO3_PYTHON", &python), ("CARGO_TARGET_DIR", &target)],
    )
}
