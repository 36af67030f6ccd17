//! `cargo xtask ci`: what CI runs. This is the one definition of CI:
//! `.ci/run` sets up the environment and calls this task.

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

/// One step of CI: a heading, `cargo`'s arguments and extra environment.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) heading: &'static str,
    pub(crate) args: Vec<&'static str>,
    pub(crate) envs: &'static [(&'static str, &'static str)],
}

fn step(heading: &'static str, args: &'static str) -> Step {
    Step {
        heading,
        args: args.split(' ').collect(),
        envs: &[],
    }
}

/// Every step, in order. Each builds with `--locked`: CI uses the committed
/// `Cargo.lock`.
pub(crate) fn steps() -> Vec<Step> {
    let mut steps = vec![
        step("fmt", "fmt --all --check"),
        step(
            "clippy",
            "clippy --workspace --all-targets --locked -- -D warnings",
        ),
    ];
    for features in FEATURE_CHECKS {
        let mut args = vec!["check", "--locked"];
        args.extend(features.split(' '));
        steps.push(Step {
            heading: "features (combinations the workspace build does not compile)",
            args,
            envs: &[],
        });
    }
    steps.push(step(
        "test (the README's test command, `cargo xtask test`)",
        "test --workspace --locked",
    ));
    steps.push(Step {
        heading: "doc",
        args: "doc --workspace --no-deps --locked".split(' ').collect(),
        envs: &[("RUSTDOCFLAGS", "-D rustdoc::broken_intra_doc_links")],
    });
    steps
}

pub(crate) fn run() -> Result<(), String> {
    crate::services::ensure_redis()?;
    let mut last_heading = "";
    for step in steps() {
        if step.heading != last_heading {
            eprintln!("== {}", step.heading);
            last_heading = step.heading;
        }
        cargo(&step.args, step.envs)?;
    }
    eprintln!("== the Python package (crates/nb-python): fmt, clippy, pytest");
    crate::python::lint()?;
    crate::python::test()?;
    eprintln!("== ok");
    Ok(())
}
