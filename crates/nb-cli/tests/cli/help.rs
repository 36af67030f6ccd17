//! `--help` on every command: examples that run it, and the exit codes.

use crate::common::run;

#[test]
fn every_command_has_help_with_examples() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Exit codes:"), "{}", r.stdout);
    for command in [
        "diagnose",
        "diagnose-error",
        "providers",
        "demo",
        "mock",
        "serve",
    ] {
        assert!(r.stdout.contains(command), "{command} listed");
        let r = run(&[command, "--help"]);
        assert_eq!(r.code, 0, "{command}: {r:?}");
        let examples = r
            .stdout
            .split_once("Examples:")
            .unwrap_or_else(|| panic!("{command} --help has no examples:\n{}", r.stdout))
            .1;
        assert!(
            examples.contains(&format!("neuralbridge {command}")),
            "{command}: the examples run the command:\n{examples}"
        );
    }
}
