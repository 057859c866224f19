//! What `cargo xtask demo`, `cargo xtask test` and `cargo xtask browser-test` need besides a
//! Rust toolchain with rustup, checked and installed in one step before any build (README,
//! "What the two commands need").
//!
//! The step first looks at the machine and collects, for everything that is missing and cannot
//! be installed here (apt-get without root, no rustup, no PostgreSQL), one sentence saying what
//! and how to provide it; it fails with all of them at once. Only then does it install what is
//! missing, each install failing with a sentence naming the package registry it needs. So a
//! fresh machine learns in seconds what it lacks, never after twenty minutes of clippy, and a
//! machine that has everything makes no network request at all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

use crate::{root, sh};

/// The wasm-bindgen version pinned in `crates/wasm*/Cargo.toml` and in xtask's
/// `wasm-bindgen-cli-support`: the test runner installed for `browser-test` must match it.
pub(crate) const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// npm trees installed with `npm ci` from their lock files.
pub(crate) const ZXING_WASM_DIR: &str = "vendor/zxing-wasm";
const BROWSER_TESTS_DIR: &str = "tests/browser";

/// What a task needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Needs {
    /// `web/pkg/`: the wasm32 target, wasm-opt (binaryen), Node and npm, zxing-wasm's npm copy.
    pub web: bool,
    /// The native build of `cellproof-qr` (zxing-cpp's C++): cmake, g++, ccache.
    pub cpp: bool,
    /// The browser suites: Chromium and `tests/browser`'s npm tree.
    pub browser: bool,
    /// The bindings' `wasm-bindgen-test` suites: the test runner of the pinned version.
    pub wasm_tests: bool,
    /// The registry's suites on PostgreSQL: a server answering at [`postgres_url`], and git for
    /// the check that the tests leave the tree as they found it.
    pub postgres: bool,
}

/// `cargo xtask demo`: the page and the registry (SQLite).
pub(crate) const DEMO: Needs = Needs {
    web: true,
    cpp: false,
    browser: false,
    wasm_tests: false,
    postgres: false,
};

/// `cargo xtask browser-test` (its server build is `cargo test --workspace`'s, with the QR
/// decoder's C++).
pub(crate) const BROWSER: Needs = Needs {
    web: true,
    cpp: true,
    browser: true,
    wasm_tests: true,
    postgres: false,
};

/// `cargo xtask bench-first-verdict`: the page, the release server, Chromium.
pub(crate) const BENCH: Needs = Needs {
    web: true,
    cpp: false,
    browser: true,
    wasm_tests: false,
    postgres: false,
};

/// `cargo xtask test`: everything.
pub(crate) const TEST: Needs = Needs {
    web: true,
    cpp: true,
    browser: true,
    wasm_tests: true,
    postgres: true,
};

/// The machine's PostgreSQL (CI starts it before the run: trust auth, database `test`);
/// `CELLPROOF_TEST_DATABASE` names another.
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL URL the registry's suites use.
pub(crate) fn postgres_url() -> String {
    std::env::var("CELLPROOF_TEST_DATABASE")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| POSTGRES.to_owned())
}

/// `host:port` of a `postgres://user@host:port/db` URL (port 5432 when absent).
pub(crate) fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// What is missing on this machine.
#[derive(Debug, Default)]
struct Missing {
    /// Debian packages to install, with the program each stands for.
    apt: BTreeSet<(&'static str, &'static str)>,
    /// `rustup target add wasm32-unknown-unknown`.
    wasm_target: bool,
    /// npm trees whose `node_modules` does not match their lock file.
    npm: Vec<PathBuf>,
    /// `cargo install wasm-bindgen-cli` (the test runner of the pinned version).
    bindgen_runner: bool,
}

impl Missing {
    fn nothing(&self) -> bool {
        self.apt.is_empty() && !self.wasm_target && self.npm.is_empty() && !self.bindgen_runner
    }
}

/// True when `program --version` runs and succeeds.
fn works(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The Chromium the browser tests drive (`tests/browser/support/env.mjs`: `CHROMIUM_BIN`, else
/// Debian's).
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn wasm_target_installed() -> bool {
    output("rustup", &["target", "list", "--installed"])
        .is_some_and(|s| s.lines().any(|l| l.trim() == "wasm32-unknown-unknown"))
}

/// True when `dir/node_modules` holds exactly the versions of `dir/package-lock.json` (npm's
/// own record of what it installed, `node_modules/.package-lock.json`), so `npm ci` would
/// change nothing. Optional packages (other platforms' binaries) are not required.
pub(crate) fn npm_tree_current(dir: &Path) -> bool {
    let read = |p: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(p).ok()?).ok()
    };
    let (Some(lock), Some(installed)) = (
        read(dir.join("package-lock.json")),
        read(dir.join("node_modules/.package-lock.json")),
    ) else {
        return false;
    };
    let Some(wanted) = lock["packages"].as_object() else {
        return false;
    };
    wanted
        .iter()
        .filter(|(name, p)| !name.is_empty() && p["optional"] != serde_json::Value::Bool(true))
        .all(|(name, p)| installed["packages"][name]["version"] == p["version"])
}

fn survey(needs: Needs) -> Missing {
    let mut m = Missing::default();
    let mut program = |program: &'static str, package: &'static str| {
        if !works(program) {
            m.apt.insert((package, program));
        }
    };
    // rustc links with `cc`, and rusqlite's bundled SQLite is C: rustup installs neither.
    program("cc", "gcc");
    if needs.web {
        // `CELLPROOF_NO_WASM_OPT` ships the unoptimised modules (web.rs): no binaryen then.
        if std::env::var_os("CELLPROOF_NO_WASM_OPT").is_none() {
            program("wasm-opt", "binaryen");
        }
        // Debian's npm brings Node; Node runs the wasm-opt smoke test and the browser suites.
        program("node", "nodejs");
        program("npm", "npm");
    }
    if needs.cpp {
        program("cmake", "cmake");
        program("c++", "g++");
        program("ccache", "ccache");
    }
    if needs.postgres {
        program("git", "git");
    }
    if needs.browser && !chromium().exists() {
        m.apt.insert(("chromium", "chromium"));
    }
    if needs.web {
        m.wasm_target = !wasm_target_installed();
        let zxing = root().join(ZXING_WASM_DIR);
        if !npm_tree_current(&zxing) {
            m.npm.push(zxing);
        }
    }
    if needs.browser {
        let tests = root().join(BROWSER_TESTS_DIR);
        if !npm_tree_current(&tests) {
            m.npm.push(tests);
        }
    }
    if needs.wasm_tests {
        m.bindgen_runner = !output("wasm-bindgen-test-runner", &["--version"])
            .is_some_and(|v| v.contains(WASM_BINDGEN_VERSION));
    }
    m
}

/// True when this process runs as root (apt-get installs need it).
fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|s| s.trim() == "0")
}

/// Fails, saying so, when nothing answers at the PostgreSQL address (never a silent skip).
fn postgres_sentence(url: &str) -> Option<String> {
    use std::net::ToSocketAddrs as _;
    let addr = host_port(url);
    let reached = addr.to_socket_addrs().is_ok_and(|mut addrs| {
        addrs.any(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(5)).is_ok()
        })
    });
    if reached {
        eprintln!("xtask: PostgreSQL reachable at {addr}");
        return None;
    }
    Some(format!(
        "PostgreSQL is not reachable at {addr} ({url}): the registry's tests need a running \
         server there with trust authentication and a database `test` (or set \
         CELLPROOF_TEST_DATABASE to another server's URL)."
    ))
}

/// One sentence per thing this machine lacks that this step cannot install.
fn blockers(needs: Needs, m: &Missing) -> Vec<String> {
    let mut out = Vec::new();
    if !m.apt.is_empty() {
        let packages: Vec<&str> = m.apt.iter().map(|(p, _)| *p).collect();
        let programs: Vec<&str> = m.apt.iter().map(|(_, p)| *p).collect();
        if !works("apt-get") {
            out.push(format!(
                "{} not found and apt-get is not available to install them: install Debian's \
                 packages {} (or your system's equivalents) first.",
                programs.join(", "),
                packages.join(" ")
            ));
        } else if !is_root() {
            out.push(format!(
                "{} not found, and installing Debian's {} with apt-get needs root: run this as \
                 root, or first run `sudo apt-get install {}`.",
                programs.join(", "),
                packages.join(" "),
                packages.join(" ")
            ));
        }
    }
    if m.wasm_target && !works("rustup") {
        out.push(
            "the wasm32-unknown-unknown target is not installed and rustup is not on PATH to \
             add it: install Rust with rustup, or add the target to your toolchain."
                .to_owned(),
        );
    }
    if needs.postgres {
        out.extend(postgres_sentence(&postgres_url()));
    }
    out
}

/// Checks what `needs` requires, fails with one sentence per missing thing that cannot be
/// installed here, then installs the rest. Prints what it found; no network when nothing is
/// missing.
pub(crate) fn ensure(needs: Needs) -> Result<()> {
    let missing = survey(needs);
    let blockers = blockers(needs, &missing);
    if !blockers.is_empty() {
        let mut text = String::from("this machine lacks what the task needs:");
        for b in &blockers {
            text.push_str("\n  - ");
            text.push_str(b);
        }
        bail!("{text}");
    }
    if missing.nothing() {
        eprintln!("xtask: everything needed is installed");
        return Ok(());
    }
    if !missing.apt.is_empty() {
        let packages: Vec<&str> = missing.apt.iter().map(|(p, _)| *p).collect();
        sh("apt-get", &["update"]).context(
            "apt-get update failed: installing Debian's packages needs the network to the \
             machine's Debian package mirror",
        )?;
        let mut args = vec!["install", "-y"];
        args.extend(&packages);
        sh("apt-get", &args).with_context(|| {
            format!(
                "apt-get could not install {}: Debian's package mirror must be reachable and \
                 carry them",
                packages.join(" ")
            )
        })?;
    }
    if missing.wasm_target {
        sh("rustup", &["target", "add", "wasm32-unknown-unknown"]).context(
            "rustup could not add the wasm32-unknown-unknown target: it downloads it from the \
             Rust toolchain's distribution server, which must be reachable",
        )?;
    }
    for dir in &missing.npm {
        run_in(dir, "npm", &["ci", "--no-audit", "--no-fund"]).with_context(|| {
            format!(
                "npm ci in {} failed: it installs the lock file's packages from the npm \
                 registry, which must be reachable",
                dir.display()
            )
        })?;
    }
    if missing.bindgen_runner {
        // `--locked` is left out on purpose: the CLI's lock file may name crate versions a
        // registry mirror does not carry; TLS features are not needed by the test runner.
        sh(
            "cargo",
            &[
                "install",
                "wasm-bindgen-cli",
                "--version",
                &format!("={WASM_BINDGEN_VERSION}"),
                "--no-default-features",
            ],
        )
        .context(
            "cargo install wasm-bindgen-cli failed: it builds the test runner from crates.io, \
             which must be reachable",
        )?;
    }
    Ok(())
}

/// Runs `program args` in `dir`, failing on a non-zero exit.
pub(crate) fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ (cd {}) {program} {}", dir.display(), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("{program} {} failed with {status}", args.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_host_and_port_in_database_urls() {
        assert_eq!(
            host_port("postgres://postgres@127.0.0.1:5432/test"),
            "127.0.0.1:5432"
        );
        assert_eq!(
            host_port("postgres://u:p@db.example/x?sslmode=disable"),
            "db.example:5432"
        );
        assert_eq!(host_port("postgresql://localhost:6543"), "localhost:6543");
    }

    #[test]
    fn an_unreachable_postgres_is_one_sentence_naming_the_address() {
        // Port 1 on loopback: nothing listens there.
        let s = postgres_sentence("postgres://postgres@127.0.0.1:1/test").unwrap();
        assert!(
            s.starts_with("PostgreSQL is not reachable at 127.0.0.1:1"),
            "{s}"
        );
        assert!(s.contains("CELLPROOF_TEST_DATABASE"), "{s}");
    }

    #[test]
    fn missing_packages_without_root_or_apt_are_named_with_the_command_to_install_them() {
        let mut m = Missing::default();
        m.apt.insert(("binaryen", "wasm-opt"));
        m.apt.insert(("chromium", "chromium"));
        let out = blockers(DEMO, &m);
        if is_root() && works("apt-get") {
            // apt-get as root installs them: nothing blocks.
            assert!(out.is_empty(), "{out:?}");
        } else {
            assert_eq!(out.len(), 1, "{out:?}");
            assert!(out[0].contains("binaryen chromium"), "{out:?}");
            assert!(out[0].contains("wasm-opt"), "{out:?}");
        }
        // The demo never asks for PostgreSQL.
        assert!(!out.iter().any(|s| s.contains("PostgreSQL")), "{out:?}");
    }

    #[test]
    fn an_npm_tree_is_current_only_when_every_locked_version_is_installed() {
        let dir = std::env::temp_dir().join(format!("xtask-npm-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("node_modules")).unwrap();
        let lock = serde_json::json!({"packages": {
            "": {"name": "x"},
            "node_modules/a": {"version": "1.0.0"},
            "node_modules/fsevents": {"version": "2.0.0", "optional": true},
        }});
        std::fs::write(dir.join("package-lock.json"), lock.to_string()).unwrap();
        assert!(!npm_tree_current(&dir), "nothing installed");
        let installed = |v: &str| {
            serde_json::json!({"packages": {"node_modules/a": {"version": v}}}).to_string()
        };
        let hidden = dir.join("node_modules/.package-lock.json");
        std::fs::write(&hidden, installed("0.9.0")).unwrap();
        assert!(!npm_tree_current(&dir), "another version installed");
        std::fs::write(&hidden, installed("1.0.0")).unwrap();
        assert!(
            npm_tree_current(&dir),
            "the locked version, optional ones absent"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
