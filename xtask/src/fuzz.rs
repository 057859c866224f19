//! `cargo xtask fuzz [--minutes N] [--target T]... [--minimise]`: coverage-guided fuzzing of
//! every parser entry point with AFL++ through afl.rs, on stable Rust (`fuzz/README.md`).
//!
//! It installs `cargo-afl` by package name when missing (the crate builds AFL++ from its bundled
//! source), builds the instrumented targets of `fuzz/` into `target/fuzz/`, runs each target in
//! turn from its kept corpus `fuzz/corpus/<target>/`, prints executions per second and edges
//! from AFL++'s `fuzzer_stats`, and fails when a target crashed or hung. `--minimise` rewrites
//! the kept corpus: the seeds stay, plus the smallest of `afl-cmin`'s pick over it and the run.
//!
//! The tests at the end replay the kept corpus and the fixed crash reproducers through the same
//! target functions, uninstrumented, in every `cargo test` (the CI cost of the instrumented
//! build is in `fuzz/README.md`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

use crate::{root, sh};

/// The afl.rs release used: `cargo-afl` (the driver) and the `afl` crate in `fuzz/Cargo.toml`
/// must be the same version.
const CARGO_AFL: &str = "0.18.2";

/// Target names: the binaries of `fuzz/Cargo.toml` and the folders of `fuzz/corpus/`.
const TARGETS: &[&str] = &[
    "scan",
    "trust_list",
    "status_list",
    "qr",
    "request",
    "passport",
];

/// An input that runs longer than this is a hang (a finding, like a crash). The slowest target
/// (the thorough QR cascade on a 160x160 frame) takes a few milliseconds per input.
const HANG_MS: &str = "2000";

struct Options {
    minutes: f64,
    targets: Vec<String>,
    minimise: bool,
}

fn parse(rest: &[String]) -> Result<Options> {
    let mut o = Options {
        minutes: 1.0,
        targets: Vec::new(),
        minimise: false,
    };
    let mut args = rest.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--minutes" => {
                let v = args.next().context("--minutes needs a number")?;
                o.minutes = v
                    .parse()
                    .ok()
                    .filter(|m: &f64| m.is_finite() && *m > 0.0)
                    .with_context(|| format!("--minutes {v:?} is not a positive number"))?;
            }
            "--target" => {
                let t = args.next().context("--target needs a name")?;
                if !TARGETS.contains(&t.as_str()) {
                    bail!("unknown fuzz target {t:?}; targets: {}", TARGETS.join(", "));
                }
                o.targets.push(t.clone());
            }
            "--minimise" => o.minimise = true,
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask fuzz [--minutes N] \
                 [--target T]... [--minimise]"
            ),
        }
    }
    if o.targets.is_empty() {
        o.targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    Ok(o)
}

pub(crate) fn run(rest: &[String]) -> Result<()> {
    let o = parse(rest)?;
    install()?;
    // The QR target builds cellproof-qr natively, zxing-cpp's C++ library included.
    crate::native::ensure_cpp_toolchain()?;
    let dir = root().join("target/fuzz");
    let dir_s = dir.to_str().context("non-UTF-8 path")?.to_owned();
    let manifest = root().join("fuzz/Cargo.toml");
    let manifest = manifest.to_str().context("non-UTF-8 path")?;
    sh(
        "cargo",
        &[
            "afl",
            "build",
            "--release",
            "--manifest-path",
            manifest,
            "--target-dir",
            &dir_s,
        ],
    )?;
    // Whole seconds, at least one: AFL++'s -V takes seconds.
    let seconds = format!("{:.0}", (o.minutes * 60.0).max(1.0));
    let mut findings = Vec::new();
    let mut summary = Vec::new();
    for t in &o.targets {
        let out = dir.join("out").join(t);
        if out.exists() {
            std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
        }
        std::fs::create_dir_all(dir.join("out"))?;
        let corpus = root().join("fuzz/corpus").join(t);
        let binary = dir.join("release").join(t);
        let status = Command::new("cargo")
            .args(["afl", "fuzz", "-t", HANG_MS, "-V", &seconds, "-i"])
            .arg(&corpus)
            .arg("-o")
            .arg(&out)
            .arg("--")
            .arg(&binary)
            .envs(afl_env())
            .current_dir(root())
            .status()
            .context("starting cargo afl fuzz")?;
        if !status.success() {
            bail!("cargo afl fuzz for {t} failed with {status}");
        }
        let stats = Stats::read(&out.join("default/fuzzer_stats"))?;
        summary.push(format!("{t}: {stats}"));
        for kind in ["crashes", "hangs"] {
            findings.extend(files(&out.join("default").join(kind)));
        }
        if o.minimise {
            minimise(t, &out, &binary)?;
        }
    }
    eprintln!("xtask fuzz ({seconds} s per target):");
    for s in &summary {
        eprintln!("  {s}");
    }
    if !findings.is_empty() {
        let list: Vec<String> = findings.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "fuzzing found {} crashing or hanging input(s); reproduce one with \
             `target/fuzz/release/<target> < FILE`:\n  {}",
            list.len(),
            list.join("\n  ")
        );
    }
    Ok(())
}

/// AFL++'s settings for a shared machine: no CPU pinning (others build on the same cores), no
/// frequency check (VMs have no governor), plain status lines instead of the curses screen.
fn afl_env() -> [(&'static str, &'static str); 4] {
    [
        ("AFL_SKIP_CPUFREQ", "1"),
        ("AFL_NO_AFFINITY", "1"),
        ("AFL_NO_UI", "1"),
        ("AFL_NO_CRASH_README", "1"),
    ]
}

/// `cargo-afl` by package name (like `cargo xtask test` installs Chromium); installing it
/// builds AFL++ from the crate's bundled source for this toolchain.
fn install() -> Result<()> {
    let version = Command::new("cargo").args(["afl", "--version"]).output();
    let installed = version
        .as_ref()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(CARGO_AFL))
        .unwrap_or(false);
    if !installed {
        sh(
            "cargo",
            &["install", "--locked", "cargo-afl", "--version", CARGO_AFL],
        )?;
    }
    // A new toolchain needs AFL++ built for it; an existing build answers "already built".
    let config = Command::new("cargo")
        .args(["afl", "config", "--build"])
        .output()
        .context("starting cargo afl config")?;
    let said = String::from_utf8_lossy(&config.stderr);
    if !config.status.success() && !said.contains("already built") {
        bail!("cargo afl config --build failed:\n{said}");
    }
    Ok(())
}

/// Bytes of fuzzer-found inputs kept per target besides the seeds: the kept corpus is for
/// replay in `cargo test` and as a start, a few hundred KB in all; full queues stay in
/// `target/fuzz/out/`.
const KEPT_BYTES: usize = 40 * 1024;

/// Rewrites `fuzz/corpus/<target>/`: the seeds (`seed-*`, from the vectors) stay as they are;
/// the other files become `afl-cmin -e`'s minimum of the old corpus plus the run's queue,
/// smallest first, up to [`KEPT_BYTES`].
fn minimise(target: &str, out: &Path, binary: &Path) -> Result<()> {
    let corpus = root().join("fuzz/corpus").join(target);
    let all = out.join("cmin-in");
    let min = out.join("cmin-out");
    std::fs::create_dir_all(&all)?;
    for (i, f) in files(&corpus)
        .into_iter()
        .chain(files(&out.join("default/queue")))
        .enumerate()
    {
        std::fs::copy(&f, all.join(format!("{i:06}")))?;
    }
    // afl-cmin.bash, not the Python afl-cmin `cargo afl cmin` runs: with afl.rs's persistent,
    // shared-memory targets the Python one records no tuples and keeps nothing (AFL++ 4.40c).
    let bin = afl_bin()?;
    let status = Command::new(bin.join("afl-cmin.bash"))
        .args(["-e", "-t", HANG_MS, "-i"])
        .arg(&all)
        .arg("-o")
        .arg(&min)
        .arg("--")
        .arg(binary)
        .envs(afl_env())
        .env("AFL_PATH", &bin)
        .stdout(std::process::Stdio::null())
        .current_dir(root())
        .status()
        .context("starting afl-cmin.bash")?;
    if !status.success() {
        bail!("afl-cmin for {target} failed with {status}");
    }
    let is_seed = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("seed-"))
    };
    let seeds: Vec<Vec<u8>> = files(&corpus)
        .iter()
        .filter(|p| is_seed(p))
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    let mut found: Vec<Vec<u8>> = files(&min)
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|d| !seeds.contains(d))
        .collect();
    if found.is_empty() && seeds.is_empty() {
        bail!("afl-cmin kept nothing for {target}; the corpus is left as it was");
    }
    found.sort_by_key(Vec::len);
    for p in files(&corpus).iter().filter(|p| !is_seed(p)) {
        std::fs::remove_file(p)?;
    }
    let mut bytes = 0;
    let mut kept = 0;
    for d in found {
        bytes += d.len();
        if bytes > KEPT_BYTES {
            break;
        }
        std::fs::write(corpus.join(format!("min-{kept:04}")), d)?;
        kept += 1;
    }
    eprintln!(
        "{target}: kept corpus is {} seeds and {kept} fuzzer inputs",
        seeds.len()
    );
    Ok(())
}

/// AFL++'s programs as afl.rs built them for this toolchain:
/// `$XDG_DATA_HOME/afl.rs/rustc-<version>-<commit>/afl.rs-<version>/afl/bin`.
fn afl_bin() -> Result<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .context("neither XDG_DATA_HOME nor HOME is set")?;
    let rustc = Command::new("rustc").arg("--version").output()?;
    let version = String::from_utf8_lossy(&rustc.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    files_and_dirs(&data.join("afl.rs"))
        .into_iter()
        .filter(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("rustc-{version}-")))
        })
        .map(|d| d.join(format!("afl.rs-{CARGO_AFL}/afl/bin")))
        .find(|b| b.join("afl-cmin.bash").is_file())
        .with_context(|| {
            format!(
                "no AFL++ build for rustc {version} under {}",
                data.display()
            )
        })
}

fn files_and_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect()
}

/// The regular files of a folder, sorted (AFL++'s README and dot files left out).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.') && n != "README.txt")
        })
        .collect();
    v.sort();
    v
}

/// The figures of one run, from AFL++'s `fuzzer_stats` (`key : value` lines).
struct Stats {
    execs: String,
    per_sec: String,
    edges: String,
    total_edges: String,
    corpus: String,
}

impl Stats {
    fn read(path: &Path) -> Result<Stats> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let get = |key: &str| {
            text.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_else(|| "?".to_owned())
        };
        Ok(Stats {
            execs: get("execs_done"),
            per_sec: get("execs_per_sec"),
            edges: get("edges_found"),
            total_edges: get("total_edges"),
            corpus: get("corpus_count"),
        })
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} execs, {} exec/s, {} of {} edges, {} inputs in the queue",
            self.execs, self.per_sec, self.edges, self.total_edges, self.corpus
        )
    }
}

/// The target functions themselves: the file the AFL++ binaries call, compiled here without
/// instrumentation.
#[cfg(test)]
#[path = "../../fuzz/src/lib.rs"]
mod targets;

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through
    /// the target; a panic in any of them fails with the file's name.
    fn replay(target: &str) {
        let f = targets::TARGETS
            .iter()
            .find(|(name, _)| *name == target)
            .map(|(_, f)| *f)
            .unwrap_or_else(|| panic!("no target function {target}"));
        let mut inputs = files(&root().join("fuzz/corpus").join(target));
        assert!(!inputs.is_empty(), "fuzz/corpus/{target} is empty");
        inputs.extend(files(&root().join("fuzz/regressions").join(target)));
        let mut failed = Vec::new();
        for p in &inputs {
            let data = std::fs::read(p).unwrap();
            if std::panic::catch_unwind(|| f(&data)).is_err() {
                failed.push(p.display().to_string());
            }
        }
        assert!(failed.is_empty(), "{target} panicked on {failed:?}");
    }

    #[test]
    fn kept_fuzz_corpus_never_panics_the_scan_verifier() {
        replay("scan");
    }

    #[test]
    fn kept_fuzz_corpus_never_panics_the_trust_list_parser() {
        replay("trust_list");
    }

    #[test]
    fn kept_fuzz_corpus_never_panics_the_status_list_parser() {
        replay("status_list");
    }

    #[test]
    fn kept_fuzz_corpus_never_panics_the_qr_decoder() {
        replay("qr");
    }

    #[test]
    fn kept_fuzz_corpus_never_panics_the_registry_request_parser() {
        replay("request");
    }

    #[test]
    fn kept_fuzz_corpus_never_panics_the_passport_parser() {
        replay("passport");
    }

    /// The xtask's list, the target functions, the binaries in `fuzz/Cargo.toml` and the
    /// corpus folders name the same targets: a new target cannot be left out of the runs.
    #[test]
    fn every_fuzz_target_is_built_run_and_replayed() {
        let functions: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
        assert_eq!(functions, TARGETS, "fuzz/src/lib.rs TARGETS and xtask's");
        let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
        let mut bins: Vec<&str> = manifest
            .split("[[bin]]")
            .skip(1)
            .filter_map(|b| b.split("name = \"").nth(1))
            .filter_map(|b| b.split('"').next())
            .collect();
        bins.sort_unstable();
        let mut expected = TARGETS.to_vec();
        expected.sort_unstable();
        assert_eq!(bins, expected, "[[bin]] targets of fuzz/Cargo.toml");
        let mut corpora: Vec<String> = std::fs::read_dir(root().join("fuzz/corpus"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        corpora.sort_unstable();
        assert_eq!(corpora, expected, "folders of fuzz/corpus");
    }

    /// Every target's kept corpus holds inputs that pass all its checks, so the fuzzer starts
    /// behind the signature check; regenerated vectors with new keys would leave it in front.
    #[test]
    fn kept_fuzz_corpus_holds_genuine_inputs_for_every_target() {
        for t in TARGETS {
            let genuine = files(&root().join("fuzz/corpus").join(t))
                .iter()
                .filter(|p| targets::accepted(t, &std::fs::read(p).unwrap()))
                .count();
            assert!(
                genuine > 0,
                "fuzz/corpus/{t} holds no input that passes its checks"
            );
        }
    }

    /// The kept corpus is for replay and as seeds, not an archive: a few hundred KB in all.
    #[test]
    fn kept_fuzz_corpus_stays_small() {
        let total: u64 = TARGETS
            .iter()
            .flat_map(|t| files(&root().join("fuzz/corpus").join(t)))
            .filter_map(|p| p.metadata().ok())
            .map(|m| m.len())
            .sum();
        assert!(total <= 512 * 1024, "fuzz/corpus holds {total} bytes");
    }
}
