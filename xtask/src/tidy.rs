//! Repository hygiene checks, run as ordinary tests so `cargo test
//! --workspace` enforces them (the rust-analyzer `tidy.rs` habit).
//!
//! Besides READMEs, `forbid(unsafe_code)` and CI, they hold the
//! architecture's invariants: the crate graph is exactly the one
//! `docs/ARCHITECTURE.md` lists, the leaf crates are sans-IO (no tokio, no
//! sockets, no sleeping), and no source file outside tests is longer than
//! 1,000 lines.

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

/// The `nb-` crates of one line of the crate graph in `docs/ARCHITECTURE.md`:
/// `nb-cli → nb-client, nb-mock` or `nb-diagnose, nb-route → no nb- crate`.
fn graph_line(line: &str) -> Option<(Vec<String>, Vec<String>)> {
    let (crates, deps) = line.split_once('→')?;
    let names = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|n| n.starts_with("nb-") && !n.contains(' '))
            .map(str::to_owned)
            .collect()
    };
    Some((names(crates), names(deps)))
}

/// The crate graph as `docs/ARCHITECTURE.md` lists it: each crate with its
/// allowed normal `nb-` dependencies and the line it is on.
fn documented_graph() -> std::collections::BTreeMap<String, (usize, Vec<String>)> {
    let arch = fs::read_to_string(workspace_root().join("docs/ARCHITECTURE.md")).unwrap();
    let mut graph = std::collections::BTreeMap::new();
    let mut in_block = false;
    let mut found_block = false;
    for (n, line) in arch.lines().enumerate() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        let Some((crates, deps)) = graph_line(line) else {
            continue;
        };
        found_block = true;
        for krate in crates {
            let previous = graph.insert(krate.clone(), (n, deps.clone()));
            assert!(
                previous.is_none(),
                "docs/ARCHITECTURE.md lists {krate} twice in the crate graph"
            );
        }
    }
    assert!(
        found_block,
        "docs/ARCHITECTURE.md has no crate graph block (`crate → deps` lines)"
    );
    graph
}

/// The names of a manifest's normal dependencies (`[dependencies]`,
/// `[target.'cfg(..)'.dependencies]` and `[dependencies.name]` tables,
/// optional ones included; dev- and build-dependencies are not).
fn normal_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']').trim();
            let table = header.strip_prefix("target.").map_or(header, |rest| {
                // `target.'cfg(unix)'.dependencies`: the part after the cfg.
                rest.rsplit_once("'.")
                    .or_else(|| rest.rsplit_once("\"."))
                    .or_else(|| rest.split_once('.'))
                    .map_or(rest, |(_, table)| table)
            });
            in_deps = table == "dependencies";
            if let Some(name) = table.strip_prefix("dependencies.") {
                deps.push(name.trim_matches('"').to_owned());
            }
            continue;
        }
        if in_deps {
            let key = line.split(['=', '.']).next().unwrap_or("").trim();
            if !key.is_empty() {
                deps.push(key.trim_matches('"').to_owned());
            }
        }
    }
    deps
}

#[test]
fn normal_dependencies_reads_every_table_form() {
    let manifest = r#"
[package]
name = "x"

[dependencies]
nb-route.workspace = true
nb-diagnose = { workspace = true, features = ["serde"] }
"serde" = "1"

[dependencies.nb-breaker]
workspace = true

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[dev-dependencies]
nb-mock.workspace = true

[build-dependencies]
cc = "1"
"#;
    assert_eq!(
        normal_dependencies(manifest),
        ["nb-route", "nb-diagnose", "serde", "nb-breaker", "libc"]
    );
    assert_eq!(
        graph_line("nb-cli       → nb-client, nb-mock"),
        Some((
            vec!["nb-cli".into()],
            vec!["nb-client".into(), "nb-mock".into()]
        ))
    );
    assert_eq!(
        graph_line("nb-diagnose, nb-route → no nb- crate"),
        Some((vec!["nb-diagnose".into(), "nb-route".into()], vec![]))
    );
}

/// The crate graph in `docs/ARCHITECTURE.md` is exactly what the manifests
/// declare, and every edge points to a line further down (no cycles).
#[test]
fn crate_graph_matches_the_architecture_doc() {
    let graph = documented_graph();
    let mut seen = Vec::new();
    for dir in crate_dirs() {
        let name = name_of(&dir);
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let mut actual: Vec<String> = normal_dependencies(&manifest)
            .into_iter()
            .filter(|d| d.starts_with("nb-"))
            .collect();
        actual.sort();
        let Some((line, allowed)) = graph.get(&name) else {
            panic!("docs/ARCHITECTURE.md's crate graph does not list {name}");
        };
        let mut allowed = allowed.clone();
        allowed.sort();
        assert_eq!(
            actual, allowed,
            "{name}'s normal nb- dependencies (left: Cargo.toml) differ from \
             docs/ARCHITECTURE.md's crate graph (right)"
        );
        for dep in &allowed {
            let below = graph.get(dep).is_some_and(|(dep_line, _)| dep_line > line);
            assert!(
                below,
                "{name} → {dep}: the graph must point down, to a line further down"
            );
        }
        seen.push(name);
    }
    for name in graph.keys() {
        assert!(
            seen.contains(name),
            "docs/ARCHITECTURE.md's crate graph lists {name}, which is not in crates/"
        );
    }
}

/// The sans-IO crates: no async runtime, no sockets, no sleeping.
const LEAF_CRATES: &[&str] = &["nb-diagnose", "nb-breaker", "nb-route", "nb-learn"];

#[test]
fn leaf_crates_are_sans_io() {
    let banned_deps = [
        "tokio",
        "mio",
        "socket2",
        "hyper",
        "hyper-util",
        "async-std",
        "smol",
        "reqwest",
    ];
    let banned_text = [
        "tokio",
        "std::net",
        "TcpStream",
        "TcpListener",
        "UdpSocket",
        "thread::sleep",
    ];
    let root = workspace_root();
    for name in LEAF_CRATES {
        let dir = root.join("crates").join(name);
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        for dep in normal_dependencies(&manifest) {
            assert!(
                !banned_deps.contains(&dep.as_str()),
                "{name} depends on {dep}: the leaf crates are sans-IO"
            );
        }
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        assert!(!files.is_empty(), "{name} has no source files");
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for word in banned_text {
                    assert!(
                        !line.contains(word),
                        "{}:{}: `{word}` in a sans-IO crate (no runtime, sockets or sleeping)",
                        file.display(),
                        n + 1
                    );
                }
            }
        }
    }
}

/// The most lines a source file may have; split a longer one along its seams.
const MAX_LINES: usize = 1000;

/// Files allowed over [`MAX_LINES`] for now, each with its reason (none).
const LONG_FILES: &[&str] = &[];

/// Every `.rs` file of the repository except tests: `tests/` directories,
/// files named `tests.rs` and files that are `#![cfg(test)]` throughout.
fn non_test_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(name.as_ref(), "tests" | "target" | ".git") && !name.starts_with('.') {
                non_test_sources(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            let test_only = fs::read_to_string(&path).is_ok_and(|text| {
                text.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("//"))
                    == Some("#![cfg(test)]")
            });
            if !test_only {
                out.push(path);
            }
        }
    }
}

#[test]
fn no_source_file_is_longer_than_a_thousand_lines() {
    let root = workspace_root();
    let mut files = Vec::new();
    non_test_sources(&root, &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut too_long = Vec::new();
    for file in &files {
        let lines = fs::read_to_string(file).unwrap().lines().count();
        let relative = file.strip_prefix(&root).unwrap().to_string_lossy();
        let relative = relative.replace('\\', "/");
        let allowed = LONG_FILES.contains(&relative.as_str());
        if lines > MAX_LINES && !allowed {
            too_long.push(format!("{relative} ({lines} lines)"));
        }
    }
    assert!(
        too_long.is_empty(),
        "longer than {MAX_LINES} lines; split along their seams: {too_long:?}"
    );
    for path in LONG_FILES {
        let lines = fs::read_to_string(root.join(path)).map_or(0, |t| t.lines().count());
        assert!(
            lines > MAX_LINES,
            "{path} is allowed to be long but no longer is: remove it from LONG_FILES"
        );
    }
}
