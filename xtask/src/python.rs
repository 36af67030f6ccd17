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

/// What `bench python` installs beside the package, pinned (LiteLLM: a
/// release other than 1.82.7 and 1.82.8, the two compromised in March 2026).
pub(crate) const BENCH_PACKAGES: &[&str] = &["openai==2.8.1", "litellm==1.80.0"];

/// `cargo xtask bench python`: the package (release build) against the
/// `openai` SDK alone and LiteLLM's Router on the same nb-mock and load,
/// and the wheel's size, written into `docs/BENCHMARKS.md`.
pub(crate) fn bench() -> Result<(), String> {
    let venv = venv()?;
    let mut args = vec!["install", "--quiet"];
    args.extend(BENCH_PACKAGES);
    pip(&venv, &args)?;
    install(&venv, "release")?;
    cargo(&["build", "--release", "-p", "nb-cli", "--locked"], &[])?;
    let mock = target_dir().join("release").join("neuralbridge");
    let package = workspace_root().join("crates").join("nb-python");

    // The wheel a user would get, for its size.
    let wheels = target_dir().join("nb-python").join("wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    run(
        Command::new(venv.join("bin").join("maturin"))
            .args(["build", "--release", "--quiet", "--out"])
            .arg(&wheels)
            .arg("--manifest-path")
            .arg(package.join("Cargo.toml"))
            .env(
                "CARGO_TARGET_DIR",
                target_dir().join("nb-python").join("cargo"),
            ),
        "maturin could not build the wheel",
    )?;
    let wheel = std::fs::read_dir(&wheels)
        .map_err(|e| format!("{}: {e}", wheels.display()))?
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "whl"))
        .ok_or("maturin built no wheel")?;
    let size = wheel.metadata().map(|m| m.len()).unwrap_or(0);

    eprintln!("$ bench.py (about 3 minutes)");
    let out = Command::new(venv.join("bin").join("python"))
        .arg(package.join("bench").join("bench.py"))
        .arg("--mock-bin")
        .arg(&mock)
        .output()
        .map_err(|e| format!("bench.py: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "bench.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let table = String::from_utf8_lossy(&out.stdout);
    let body = format!(
        "Measured with `cargo xtask bench python` (nb-mock's release build on loopback).\n\n{table}\n\
         The wheel ({}) is {:.1} MB, with no Python dependencies.\n",
        wheel.file_name().to_string_lossy(),
        size as f64 / 1e6
    );
    let path = workspace_root().join("docs").join("BENCHMARKS.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, crate::bench::splice(&doc, "python", &body))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask bench python: wrote {}", path.display());
    Ok(())
}
