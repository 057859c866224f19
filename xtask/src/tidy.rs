//! Repository rules checked by plain `cargo test` (rust-analyzer's `xtask/src/tidy.rs`):
//! documented error codes, file headers, no silent skips or stubs, READMEs, the two commands.

#![cfg(test)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cellproof_core::{Class, CODES};

fn root() -> PathBuf {
    crate::root()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | ".git")
                && !name.starts_with("target-")
            {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in ["crates", "server", "xtask", "fuzz"] {
        rust_files(&root().join(d), &mut files);
    }
    files
}

#[test]
fn error_codes_are_documented_in_one_place() {
    let doc = std::fs::read_to_string(root().join("docs/error-codes.md")).unwrap();
    let mut documented = BTreeSet::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, code, stage, class, _, _] = cells.as_slice() {
            if let Some(code) = code.strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
                documented.insert((code.to_owned(), stage.to_string(), class.to_string()));
            }
        }
    }
    let defined: BTreeSet<(String, String, String)> = CODES
        .iter()
        .map(|(code, stage, class)| {
            let class = match class {
                Class::Invalid => "invalid",
                Class::Unverifiable => "unverifiable",
                Class::Notice => "notice",
            };
            (
                (*code).to_owned(),
                stage.name().to_owned(),
                class.to_owned(),
            )
        })
        .collect();
    assert_eq!(
        documented, defined,
        "docs/error-codes.md and crates/core/src/error.rs CODES differ"
    );
    // Every code `Error::code()` can return is in CODES, and nothing else is.
    let src = std::fs::read_to_string(root().join("crates/core/src/error.rs")).unwrap();
    let body = src
        .split("pub fn code(&self)")
        .nth(1)
        .and_then(|b| b.split("pub fn ").next())
        .unwrap();
    let returned: BTreeSet<String> = body
        .lines()
        .filter_map(|l| l.split("=> \"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect();
    let in_table: BTreeSet<String> = CODES.iter().map(|(c, _, _)| (*c).to_owned()).collect();
    assert_eq!(returned, in_table, "Error::code() and CODES differ");
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let bad: Vec<_> = all_rust_files()
        .into_iter()
        .filter(|p| {
            !std::fs::read_to_string(p)
                .unwrap_or_default()
                .trim_start()
                .starts_with("//!")
        })
        .collect();
    assert!(bad.is_empty(), "files without a leading //! line: {bad:?}");
}

#[test]
fn no_silent_skips_or_stubs() {
    // Built from pieces so this file does not match itself.
    let banned = [
        format!("#[{}]", "ignore"),
        format!("{}!(", "todo"),
        format!("{}!(", "unimplemented"),
        format!("#[{}", "should_panic"),
    ];
    let mut found = Vec::new();
    for p in all_rust_files() {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        for b in &banned {
            if text.contains(b.as_str()) {
                found.push(format!("{}: {b}", p.display()));
            }
        }
    }
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn every_crate_has_a_readme_and_is_in_the_architecture() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for dir in [
        "crates/core",
        "crates/qr",
        "crates/world",
        "crates/cli",
        "server",
        "xtask",
    ] {
        assert!(root().join(dir).join("Cargo.toml").exists(), "{dir}");
        if dir != "xtask" {
            assert!(
                root().join(dir).join("README.md").exists(),
                "{dir}/README.md is missing"
            );
        }
        assert!(
            arch.contains(&format!("`{dir}`")),
            "ARCHITECTURE.md does not mention `{dir}`"
        );
    }
}

#[test]
fn readme_opens_with_the_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .split("```")
        .nth(1)
        .expect("a code block near the top");
    let commands: Vec<&str> = block
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        commands,
        ["cargo xtask demo", "cargo xtask test"],
        "the first code block of README.md"
    );
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.contains("cargo xtask test"),
        ".ci/run runs the README's test command"
    );
}
