//! `cargo xtask test`: every check the project has, in one command (README, `.ci/run`).
//!
//! First what the machine lacks, before any build (`prereq.rs`: root or the packages present,
//! PostgreSQL reachable, one sentence per missing thing; then the installs). Then format,
//! lints, the docs with warnings denied (right after clippy: a doc failure shows in minutes,
//! not after the whole pipeline), the wasm build of the pure crates, every Rust test, the
//! registry's suites on PostgreSQL, the page's unit and browser tests, and a check that the
//! tests left the working tree as they found it. Each step's wall time is printed when it ends,
//! and a table of all of them at the end, also when a step failed.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::prereq::{self, postgres_url};
use crate::{root, sh};

/// The server's test suites that run a second time against PostgreSQL.
const POSTGRES_SUITES: &[&str] = &["api", "durability", "security", "passports", "lifecycle"];

fn postgres_suites(url: &str) -> Result<()> {
    let mut args = vec!["test", "--workspace"];
    for t in POSTGRES_SUITES {
        args.extend(["--test", t]);
    }
    eprintln!("$ CELLPROOF_TEST_DATABASE={url} cargo {}", args.join(" "));
    let status = Command::new("cargo")
        .args(&args)
        .env("CELLPROOF_TEST_DATABASE", url)
        .current_dir(root())
        .status()
        .context("starting cargo")?;
    if !status.success() {
        bail!("the registry's suites on PostgreSQL ({url}) failed with {status}");
    }
    Ok(())
}

/// The pipeline's steps with their wall times.
#[derive(Default)]
pub(crate) struct Steps {
    done: Vec<(&'static str, Duration, &'static str)>,
}

impl Steps {
    /// Runs one step, printing its wall time when it ends (passed or not).
    pub(crate) fn run<T>(
        &mut self,
        name: &'static str,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        eprintln!("xtask: == {name}");
        let started = Instant::now();
        let result = f();
        let took = started.elapsed();
        let outcome = if result.is_ok() { "ok" } else { "FAILED" };
        eprintln!("xtask: == {name}: {outcome} in {}", secs(took));
        self.done.push((name, took, outcome));
        result
    }

    /// The table of every step run so far, and their sum.
    pub(crate) fn table(&self) -> String {
        let width = self
            .done
            .iter()
            .map(|(n, ..)| n.len())
            .max()
            .unwrap_or(4)
            .max(5);
        let mut out = format!("{:<width$}  {:>8}  outcome\n", "step", "time");
        for (name, took, outcome) in &self.done {
            out.push_str(&format!("{name:<width$}  {:>8}  {outcome}\n", secs(*took)));
        }
        let total: Duration = self.done.iter().map(|(_, t, _)| *t).sum();
        out.push_str(&format!("{:<width$}  {:>8}\n", "total", secs(total)));
        out
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

pub(crate) fn run(_rest: &[String]) -> Result<()> {
    let mut steps = Steps::default();
    let result = pipeline(&mut steps);
    eprintln!("xtask test: step times\n{}", steps.table());
    result?;
    eprintln!("xtask test: all checks passed");
    Ok(())
}

fn pipeline(steps: &mut Steps) -> Result<()> {
    steps.run("prerequisites", || prereq::ensure(prereq::TEST))?;
    // What was changed in the tree before the tests ran (a developer's own edits), taken once
    // git is there; the installs write only ignored paths (node_modules).
    let before = steps.run("tree state before", tree_state)?;
    let before = before_or_note(before);
    steps.run("fmt", || sh("cargo", &["fmt", "--all", "--check"]))?;
    steps.run("clippy", || {
        sh(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        )
    })?;
    steps.run("doc", doc)?;
    // The core and the QR decoder must build for the browser (ARCHITECTURE.md invariant).
    steps.run("wasm build", || {
        sh(
            "cargo",
            &[
                "build",
                "--package",
                "cellproof-core",
                "--package",
                "cellproof-qr",
                "--target",
                "wasm32-unknown-unknown",
            ],
        )
    })?;
    // Includes xtask's replay of the kept fuzz corpus through the uninstrumented targets
    // (xtask/src/fuzz.rs). The AFL++ runs are `cargo xtask fuzz`: their instrumented build alone
    // costs minutes of this pipeline's budget (fuzz/README.md has the figures).
    steps.run("cargo test", || sh("cargo", &["test", "--workspace"]))?;
    // The registry's API, durability (SIGKILL), refusal and passport suites again, on
    // PostgreSQL: the same test binaries (no new build), each server in a schema of its own.
    steps.run("PostgreSQL suites", || postgres_suites(&postgres_url()))?;
    // The binding in Node (wasm-bindgen-test) and the page in real Chromium against the real
    // registry.
    steps.run("wasm-bindgen tests", crate::web::wasm_bindgen_tests)?;
    steps.run("web build", crate::web::web)?;
    // The page's pure modules in Node, with the binding the web build made (tests/web-unit).
    steps.run("page unit tests", page_unit_tests)?;
    steps.run("browser tests", crate::web::e2e)?;
    if let Some(before) = before {
        steps.run("tree unchanged", || tree_unchanged(&before))?;
    }
    Ok(())
}

/// `node --test` in `tests/web-unit`: the page's modules without a browser (web/pkg built).
fn page_unit_tests() -> Result<()> {
    let status = Command::new("node")
        .arg("--test")
        .current_dir(root().join("tests/web-unit"))
        .status()
        .context("starting node --test in tests/web-unit")?;
    if !status.success() {
        bail!("page unit tests (tests/web-unit) failed with {status}");
    }
    Ok(())
}

/// `cargo doc` of the workspace with warnings denied (broken or private intra-doc links).
/// `RUSTDOCFLAGS` is set for this command only: on `cargo test` it would apply to doctests.
fn doc() -> Result<()> {
    eprintln!("$ RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps");
    let status = Command::new("cargo")
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .current_dir(root())
        .status()
        .context("starting cargo doc")?;
    if !status.success() {
        bail!("cargo doc (warnings denied) failed with {status}");
    }
    Ok(())
}

/// `git status` of the tree: changed or untracked path -> (status letters, content hash).
type TreeState = BTreeMap<String, (String, u64)>;

/// The tree's state, or `None` outside a git checkout (said loudly, never silently skipped).
fn tree_state() -> Result<Option<TreeState>> {
    let out = Command::new("git")
        .args(["status", "--porcelain=v1", "-z", "--untracked-files=all"])
        .current_dir(root())
        .output()
        .context("starting git")?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(Some(parse_status(&out.stdout, |path| {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::fs::read(root().join(path)).ok().hash(&mut h);
        h.finish()
    })))
}

fn before_or_note(state: Option<TreeState>) -> Option<TreeState> {
    if state.is_none() {
        eprintln!(
            "xtask test: NOT CHECKED: `git status` failed here (not a git checkout, or git \
             refuses the directory's owner), so the check that the tests leave the tree \
             unchanged cannot run"
        );
    }
    state
}

/// Parses `git status --porcelain=v1 -z`: `XY path\0`, a rename or copy followed by its
/// source path as one more field.
fn parse_status(bytes: &[u8], hash: impl Fn(&str) -> u64) -> TreeState {
    let mut state = TreeState::new();
    let mut fields = bytes.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(field) = fields.next() {
        let text = String::from_utf8_lossy(field);
        let (xy, path) = (text.get(..2).unwrap_or(""), text.get(3..).unwrap_or(""));
        if xy.contains('R') || xy.contains('C') {
            fields.next();
        }
        state.insert(path.to_owned(), (xy.to_owned(), hash(path)));
    }
    state
}

/// The paths whose status or content differs between two states.
fn changed(before: &TreeState, after: &TreeState) -> Vec<String> {
    let mut out: Vec<String> = after
        .iter()
        .filter(|(p, s)| before.get(*p) != Some(s))
        .map(|(p, (xy, _))| format!("{xy} {p}"))
        .collect();
    out.extend(
        before
            .keys()
            .filter(|p| !after.contains_key(*p))
            .map(|p| format!("restored to HEAD: {p}")),
    );
    out
}

/// Fails when the run changed the working tree: tests write to temporary or `target/`
/// directories only (the docs' screenshots are regenerated by hand, `tests/browser/README.md`).
fn tree_unchanged(before: &TreeState) -> Result<()> {
    let Some(after) = tree_state()? else {
        bail!("git status failed after the tests, though it worked before them");
    };
    let changed = changed(before, &after);
    if !changed.is_empty() {
        bail!(
            "the tests changed the working tree (git status --porcelain, compared with before \
             the run; a developer's edit during the run shows here too): {}",
            changed.join(", ")
        );
    }
    eprintln!("xtask test: the working tree is as the tests found it");
    Ok(())
}

pub(crate) fn qr_compare() -> Result<()> {
    crate::native::ensure_cpp_toolchain()?;
    sh(
        "python3",
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "zxing-cpp==3.1.1",
            "pillow",
        ],
    )?;
    // The fastest of 5 decodes per image and engine: the figure least disturbed by other
    // processes on a shared machine (docs/qr-decoder.md).
    sh("python3", &["scripts/qr_compare.py", "--repeat", "5"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_written_by_a_test_is_a_change_and_a_developers_earlier_edit_is_not() {
        let hash = |p: &str| p.len() as u64;
        let before = parse_status(b" M README.md\0?? notes.txt\0", hash);
        assert_eq!(before.len(), 2);
        // Nothing new: the developer's own edits were there before.
        assert!(changed(&before, &before).is_empty());
        // A test overwrote a tracked image.
        let after = parse_status(
            b" M README.md\0?? notes.txt\0 M docs/img/passport-valid.png\0",
            hash,
        );
        assert_eq!(changed(&before, &after), [" M docs/img/passport-valid.png"]);
        // A test rewrote a file the developer had changed already: same status, other bytes.
        let other = parse_status(b" M README.md\0?? notes.txt\0", |p| p.len() as u64 + 1);
        assert_eq!(changed(&before, &other).len(), 2);
        // A rename's source path is one more field, not an entry.
        let renamed = parse_status(b"R  new.rs\0old.rs\0", hash);
        assert_eq!(renamed.keys().collect::<Vec<_>>(), ["new.rs"]);
    }

    #[test]
    fn the_step_table_lists_every_step_with_its_time_and_the_total() {
        let mut steps = Steps::default();
        steps.run("fmt", || Ok(())).unwrap();
        assert!(steps
            .run("clippy", || -> Result<()> { bail!("lint") })
            .is_err());
        let table = steps.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(
            lines[1].starts_with("fmt") && lines[1].ends_with("ok"),
            "{table}"
        );
        assert!(
            lines[2].starts_with("clippy") && lines[2].ends_with("FAILED"),
            "{table}"
        );
        assert!(lines[3].starts_with("total"), "{table}");
    }
}
