//! `cargo xtask ci`: the same checks `.ci/run` makes, in the same order.

use crate::cargo;

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
    cargo(&["test", "--workspace"], &[])?;
    cargo(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D rustdoc::broken_intra_doc_links")],
    )?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
}
