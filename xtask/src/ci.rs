//! `cargo xtask ci`: the same checks `.ci/run` makes, in the same order.

use crate::cargo;

/// Feature sets the workspace build never compiles (it unifies features), each
/// a way a user may depend on one crate alone.
pub(crate) const FEATURE_CHECKS: &[&str] = &[
    "-p nb-diagnose --no-default-features",
    "-p nb-transport --no-default-features",
    "-p nb-transport --no-default-features --features mock",
    "-p nb-transport --features native-roots",
    "-p nb-client --no-default-features",
];

pub(crate) fn run() -> Result<(), String> {
    cargo(&["fmt", "--all", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    for check in FEATURE_CHECKS {
        let mut args = vec!["check"];
        args.extend(check.split(' '));
        cargo(&args, &[])?;
    }
    cargo(&["test", "--workspace"], &[])?;
    cargo(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D rustdoc::broken_intra_doc_links")],
    )?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
}
