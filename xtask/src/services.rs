//! The servers the tests start themselves, and making sure this machine has
//! them: `redis-server` for nb-redis's tests. When it is missing and the
//! task runs as root on a Debian-based system (CI does), the Debian package
//! is installed; otherwise the task stops and says how to install it. A test
//! never skips because a server is absent.

use std::process::Command;

/// Whether `program` runs here.
fn present(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let status = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("{program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Makes sure `redis-server` is on the PATH, installing Debian's package
/// when it may.
pub(crate) fn ensure_redis() -> Result<(), String> {
    if present("redis-server") {
        return Ok(());
    }
    let how = "the tests need `redis-server` (nb-redis starts its own on a free loopback port): \
               install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: \
               `brew install redis`) and run again";
    if !is_root() || !present("apt-get") {
        return Err(how.to_owned());
    }
    eprintln!("xtask: redis-server is missing; installing Debian's package");
    run("apt-get", &["update", "-qq"])?;
    run(
        "apt-get",
        &[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "redis-server",
        ],
    )?;
    if present("redis-server") {
        Ok(())
    } else {
        Err(how.to_owned())
    }
}
