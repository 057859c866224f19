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
    // Every workspace member, read from the root Cargo.toml, so a new crate cannot slip by.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("the workspace lists its members on one line");
    let members: Vec<&str> = members.split('"').skip(1).step_by(2).collect();
    assert!(members.len() >= 8, "{members:?}");
    for dir in members {
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

/// ARCHITECTURE.md: "the core does no I/O, reads no clock, draws no randomness, starts no
/// thread". Clippy enforces it on resolved paths (`crates/core/clippy.toml`); this scan also
/// catches what clippy's lists cannot name (a glob import, a module alias, a new API).
#[test]
fn core_is_pure_no_io_clock_threads_env_or_randomness_in_its_source() {
    // Built from pieces so this file does not match itself.
    let banned = [
        format!("std::{}", "fs"),
        format!("std::{}", "net"),
        format!("std::{}", "process"),
        format!("std::{}", "env"),
        format!("std::{}", "thread"),
        format!("std::{}", "io::stdin"),
        format!("System{}", "Time"),
        format!("Instant{}", "::now"),
        format!("{}random", "get"),
        format!("{}Rng", "Os"),
        format!("thread_{}", "rng"),
        format!("{}::", "rand"),
        format!("Random{}", "State"),
        format!("Hash{}", "Map"),
        format!("Hash{}", "Set"),
    ];
    let mut files = Vec::new();
    rust_files(&root().join("crates/core/src"), &mut files);
    assert!(!files.is_empty(), "crates/core/src has no .rs files");
    let mut found = Vec::new();
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for b in &banned {
                if code.contains(b.as_str()) {
                    found.push(format!("{}:{}: {b}", p.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core must stay pure (ARCHITECTURE.md): {found:?}"
    );
}

/// The packages `cargo tree` lists for a package, with its features, one `name|features` per
/// line; `edges` as cargo tree's `-e`. Per package (`-p`), so features enabled only by other
/// workspace members do not count, exactly as `cargo build -p` resolves them.
fn cargo_tree(package: &str, edges: &str) -> Vec<(String, String)> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--quiet", "--package", package, "--edges", edges])
        .args(["--target", "all", "--prefix", "none", "--format", "{p}|{f}"])
        .current_dir(root())
        .output()
        .expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(p, f)| {
            let name = p.split_whitespace().next().unwrap_or_default().to_owned();
            (name, f.trim_end_matches(" (*)").to_owned())
        })
        .collect()
}

/// What the core builds with (for the browser too) holds no source of randomness, no JS and
/// no HTTP, SQL or async runtime: purity is a property of the dependency graph as well.
#[test]
fn core_depends_on_no_randomness_js_http_or_sql_crate() {
    let banned = [
        // randomness
        "getrandom",
        "rand",
        "rand_chacha",
        "ring",
        // JS
        "wasm-bindgen",
        "js-sys",
        "web-sys",
        // network, HTTP, SQL, async runtimes, clocks
        "tokio",
        "mio",
        "socket2",
        "hyper",
        "actix-web",
        "actix-rt",
        "reqwest",
        "ureq",
        "rusqlite",
        "libsqlite3-sys",
        "chrono",
    ];
    let tree = cargo_tree("cellproof-core", "normal,build");
    assert!(
        tree.iter().any(|(n, _)| n == "ed25519-dalek"),
        "cargo tree output not understood: {tree:?}"
    );
    let mut found: Vec<String> = tree
        .iter()
        .filter(|(n, _)| {
            banned.contains(&n.as_str()) || n.starts_with("cellproof-") && n != "cellproof-core"
        })
        .map(|(n, _)| n.clone())
        .collect();
    // rand_core itself is a trait crate (ed25519-dalek's batch API); only its OS source is not.
    found.extend(
        tree.iter()
            .filter(|(n, f)| {
                n == "rand_core" && f.split(',').any(|f| f == "getrandom" || f == "std")
            })
            .map(|(n, f)| format!("{n} with features {f}")),
    );
    found.sort();
    found.dedup();
    assert!(
        found.is_empty(),
        "cellproof-core must stay pure: it depends on {found:?}"
    );
}

/// The dependency arrows that must never exist (ARCHITECTURE.md): only the server knows HTTP
/// and SQL, only the bindings know JS, only the CLI knows terminals and files, and the core
/// knows none of them. Checked on every kind of dependency, dev-dependencies included.
#[test]
fn forbidden_crate_dependency_arrows_do_not_exist() {
    let forbidden: &[(&str, &[&str])] = &[
        (
            "cellproof-core",
            &[
                "cellproof-server",
                "cellproof-wasm",
                "cellproof-wasm-decode",
                "cellproof-wasm-inspect",
                "cellproof-cli",
            ],
        ),
        ("cellproof-qr", &["cellproof-server"]),
        ("cellproof-cli", &["cellproof-server"]),
        // The verifier module is what a consumer downloads: the QR decoder stays in its own
        // module (docs/web.md, "Two modules").
        ("cellproof-wasm", &["cellproof-server", "cellproof-qr"]),
        ("cellproof-wasm-decode", &["cellproof-server"]),
        // Inspector mode's module: a binding like the verifier's, never the server or the QR
        // decoder.
        (
            "cellproof-wasm-inspect",
            &["cellproof-server", "cellproof-qr"],
        ),
    ];
    let members = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut found = Vec::new();
    for (from, tos) in forbidden {
        // A crate that is not (or no longer) in the workspace has no arrows to check.
        let dir = from.trim_start_matches("cellproof-");
        if !members.contains(&format!("\"crates/{dir}\"")) {
            continue;
        }
        let tree = cargo_tree(from, "normal,build,dev");
        assert!(
            tree.first().is_some_and(|(n, _)| n == from),
            "cargo tree -p {from} output not understood"
        );
        for to in *tos {
            if tree.iter().any(|(n, _)| n == to) {
                found.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(found.is_empty(), "forbidden dependency arrows: {found:?}");
}
