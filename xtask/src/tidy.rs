//! Repository hygiene checks, run as ordinary tests so `cargo test
//! --workspace` enforces them (the rust-analyzer `tidy.rs` habit).

use std::fs;
use std::path::{Path, PathBuf};

use crate::workspace_root;

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(workspace_root().join("crates"))
        .expect("crates/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn name_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_crate_has_a_readme_and_is_in_the_architecture_doc() {
    let arch = fs::read_to_string(workspace_root().join("docs/ARCHITECTURE.md")).unwrap();
    let readme = fs::read_to_string(workspace_root().join("README.md")).unwrap();
    for dir in crate_dirs() {
        let name = name_of(&dir);
        assert!(dir.join("README.md").is_file(), "{name} has no README.md");
        assert!(
            arch.contains(&format!("`{name}`")),
            "docs/ARCHITECTURE.md does not describe {name}"
        );
        assert!(readme.contains(&name), "README.md does not list {name}");
    }
}

#[test]
fn every_crate_root_forbids_unsafe() {
    for dir in crate_dirs() {
        for root in ["src/lib.rs", "src/main.rs"] {
            let path = dir.join(root);
            if let Ok(text) = fs::read_to_string(&path) {
                assert!(
                    text.contains("#![forbid(unsafe_code)]"),
                    "{} lacks #![forbid(unsafe_code)]",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn no_unfinished_markers_in_library_code() {
    let mut files = Vec::new();
    for dir in crate_dirs() {
        rust_files(&dir.join("src"), &mut files);
    }
    let banned = [
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("dbg", "!("),
    ];
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for marker in banned {
            assert!(
                !text.contains(marker),
                "{} contains {marker}",
                file.display()
            );
        }
    }
}

#[test]
fn ci_is_defined_once_and_runs_the_readme_test_command() {
    let root = workspace_root();
    let ci = fs::read_to_string(root.join(".ci/run")).unwrap();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    // `.ci/run` only calls `cargo xtask ci`: one cargo command, that one.
    let cargo_lines: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains("cargo "))
        .collect();
    assert_eq!(
        cargo_lines,
        ["cargo run --locked --quiet --package xtask -- ci"],
        ".ci/run must run `cargo xtask ci` and nothing else"
    );
    let steps: Vec<String> = crate::ci::steps()
        .iter()
        .map(|s| format!("cargo {}", s.args.join(" ")))
        .collect();
    let runs = |command: &str| steps.iter().any(|s| s == command);
    let test_command = "cargo test --workspace";
    assert!(
        readme.contains(test_command),
        "README lacks `{test_command}`"
    );
    let mut expected = vec![
        "cargo fmt --all --check".to_owned(),
        "cargo clippy --workspace --all-targets --locked -- -D warnings".to_owned(),
        format!("{test_command} --locked"),
        "cargo doc --workspace --no-deps --locked".to_owned(),
    ];
    for features in crate::ci::FEATURE_CHECKS {
        expected.push(format!("cargo check --locked {features}"));
    }
    for command in expected {
        assert!(runs(&command), "cargo xtask ci does not run `{command}`");
    }
    let doc = crate::ci::steps()
        .into_iter()
        .find(|s| s.args.first() == Some(&"doc"))
        .unwrap();
    assert!(
        doc.envs
            .contains(&("RUSTDOCFLAGS", "-D rustdoc::broken_intra_doc_links")),
        "rustdoc does not deny broken intra-doc links"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(root.join(".ci/run"))
            .unwrap()
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, ".ci/run is not executable");
    }
}

#[test]
fn cargo_lock_is_committed_alongside_the_manifest() {
    assert!(workspace_root().join("Cargo.lock").is_file());
}
