//! `cargo xtask fuzz [--minutes N] [--target T]... [--minimise]`: coverage-guided fuzzing of
//! every parser entry point with AFL++ through afl.rs, on stable Rust (`fuzz/README.md`).
//!
//! It installs `cargo-afl` by package name when missing (the crate builds AFL++ from its bundled
//! source), builds the instrumented targets of `fuzz/` into `target/fuzz/`, runs each target in
//! turn from its kept corpus `fuzz/corpus/<target>/`, prints executions per second and edges
//! from AFL++'s `fuzzer_stats`, and fails when a target crashed or hung. `--minimise` rewrites
//! the kept corpus: the seeds stay, plus the smallest of `afl-cmin`'s pick over it and the run.
//!
//! `--seeds` writes the seeds that are signed for the fuzzer (the compact status bodies and the
//! evidence packs of the vector world, [`seeds`]) instead of fuzzing.
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
    "compact",
    "evidence",
];

/// An input that runs longer than this is a hang (a finding, like a crash). The slowest target
/// (the thorough QR cascade on a 160x160 frame) takes a few milliseconds per input.
const HANG_MS: &str = "2000";

struct Options {
    minutes: f64,
    targets: Vec<String>,
    minimise: bool,
    seeds: bool,
}

fn parse(rest: &[String]) -> Result<Options> {
    let mut o = Options {
        minutes: 1.0,
        targets: Vec::new(),
        minimise: false,
        seeds: false,
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
            "--seeds" => o.seeds = true,
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask fuzz [--minutes N] \
                 [--target T]... [--minimise] | cargo xtask fuzz --seeds"
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
    if o.seeds {
        return write_seeds();
    }
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

/// The vector world's registry and `T0` (`crates/world/src/vectors.rs`): the status lists'
/// `id`s and the keys of the seeds below are that world's.
const VECTOR_REGISTRY: &str = "https://registry.cellproof.example";
const VECTOR_T0: u64 = 1_796_083_200;

/// One generated file under `fuzz/`: path relative to it, and content.
struct Seed {
    path: String,
    content: Vec<u8>,
}

fn seed(path: &str, content: impl Into<Vec<u8>>) -> Seed {
    Seed {
        path: path.to_owned(),
        content: content.into(),
    }
}

/// A vector file (`tests/vectors/`).
fn vector(path: &str) -> Result<String> {
    let p = root().join("tests/vectors").join(path);
    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
}

/// The seeds that need the vector world's private keys: compact and delta status bodies
/// signed by its status authority (with the authority's key for the `compact` target, which
/// signs fuzzed streams afresh), and evidence packs sealed by its inspector (`msa`) over the
/// verdicts of the `passport-valid` and `reference-valid` vector cases.
fn seeds() -> Result<Vec<Seed>> {
    use cellproof_core::{
        encode_records, sha256_b64, sign_compact, sign_json, verify, Artifacts, CompactRecord,
        Context, Hint, Overall, PassportChain, Photo, Purpose, StatusStore, TrustStore, Typ,
        UnixTime,
    };
    use cellproof_world::{World, DAY, VECTOR_SEED};
    use serde_json::{json, Value};

    let w = World::new(VECTOR_SEED, VECTOR_REGISTRY, VECTOR_T0);
    let t0 = VECTOR_T0;
    let mut out = Vec::new();
    let authority = json!({"iss": w.authority_did, "key": w.authority.to_private_jwk()});
    out.push(seed(
        "keys/status-authority.json",
        format!("{}\n", serde_json::to_string_pretty(&authority)?),
    ));

    // Compact bodies over acme's list 3, whose W3C lists (validFrom T0, bits 1001, 2002 and
    // 3003 set) the fuzz targets' reference store holds.
    let id = |p: Purpose| p.list_url(&w.status_base(&w.acme), "3");
    let rec = |p: Purpose, base: Option<u64>, from: u64, positions: &[u64]| CompactRecord {
        id: id(p),
        valid_from: from,
        valid_until: from + 2 * DAY,
        ttl_ms: 300_000,
        base,
        entries: 131_072,
        positions: positions.to_vec(),
    };
    let day1 = t0 + DAY;
    let full = [
        rec(Purpose::Revocation, None, day1, &[4_711, 131_071]),
        rec(Purpose::Suspension, None, day1, &[2_002, 2_003]),
        rec(Purpose::Refresh, None, day1, &[3_003]),
    ];
    // The same day-1 bits as changes from the held T0 lists.
    let delta = [
        rec(
            Purpose::Revocation,
            Some(t0),
            day1,
            &[1_001, 4_711, 131_071],
        ),
        rec(Purpose::Suspension, Some(t0), day1, &[2_003]),
    ];
    let same = [
        rec(Purpose::Revocation, None, t0, &[1_001]),
        rec(Purpose::Suspension, None, t0, &[2_002]),
        rec(Purpose::Refresh, None, t0, &[3_003]),
    ];
    let chain = [
        rec(Purpose::Revocation, None, day1, &[4_711]),
        rec(
            Purpose::Revocation,
            Some(day1),
            t0 + 2 * DAY,
            &[0, 4_711, 65_536],
        ),
    ];
    let sign = |records: &[CompactRecord]| sign_compact(&w.authority_did, records, &w.authority);
    let full_body = sign(&full);
    // A correctly signed head over a stream the decoder must refuse.
    let signed_stream = |stream: &[u8], lists: usize| {
        let head = json!({
            "iss": w.authority_did, "lists": lists, "bytes": stream.len(),
            "sha256": sha256_b64(stream),
        });
        let mut b = sign_json(Typ::StatusCompact, &head, &w.authority).into_bytes();
        b.push(b'\n');
        b.extend_from_slice(stream);
        b
    };
    let mut trailing = encode_records(&same[..1]);
    trailing.push(0);
    let past_end = encode_records(&[rec(Purpose::Revocation, None, day1, &[131_072])]);
    let cut = full_body.len() - 5;
    out.extend([
        seed("corpus/compact/seed-full", full_body.clone()),
        seed("corpus/compact/seed-delta", sign(&delta)),
        seed("corpus/compact/seed-same-as-w3c", sign(&same)),
        seed("corpus/compact/seed-full-then-delta", sign(&chain)),
        seed("corpus/compact/seed-truncated", &full_body[..cut]),
        seed(
            "corpus/compact/seed-trailing-byte",
            signed_stream(&trailing, 1),
        ),
        seed(
            "corpus/compact/seed-gap-past-end",
            signed_stream(&past_end, 1),
        ),
    ]);

    // Evidence packs: the vector case verified as its `at`, the verdict sealed two minutes
    // later by the inspector over what it used, with a photo and a hint.
    let cases: Value = serde_json::from_str(&vector("cases.json")?)?;
    let passports: Value = serde_json::from_str(&vector("passports/cases.json")?)?;
    for (name, case) in [
        (
            "passport",
            passports["cases"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["name"] == "passport-valid")),
        ),
        (
            "reference",
            cases["cases"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["name"] == "reference-valid")),
        ),
    ] {
        let case = case.with_context(|| format!("no {name}-valid vector case"))?;
        let mut trust = TrustStore::new();
        trust.pin_root("catena-x", &w.root("catena-x").public());
        let lists = |k: &str| -> Result<Vec<String>> {
            case[k]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(vector)
                .collect()
        };
        let trust_lists = lists("trust_lists")?;
        for r in trust.insert_all(trust_lists.iter().map(|l| l.trim())) {
            r.map_err(|e| anyhow::anyhow!("{name}: vector trust list: {e}"))?;
        }
        let mut status = StatusStore::new();
        for l in lists("status_lists")? {
            status
                .insert(l.trim(), &trust)
                .map_err(|e| anyhow::anyhow!("{name}: vector status list: {e}"))?;
        }
        let chain = match case["passport"].as_str() {
            Some(p) => Some(
                PassportChain::from_json(&vector(p)?)
                    .map_err(|e| anyhow::anyhow!("{name}: vector chain: {e}"))?,
            ),
            None => None,
        };
        let at = case["at"].as_u64().context("case without at")?;
        let scan = case["input"].as_str().context("case without input")?;
        let mut ctx = Context::new(&trust, &status, UnixTime(at));
        ctx.chain = chain.as_ref();
        let verdict = verify(scan, &ctx);
        if verdict.overall != Overall::Valid {
            bail!("{name}-valid is not valid: {:?}", verdict.code);
        }
        let mut artifacts = Artifacts::used(scan, &verdict, &trust, &status, chain.as_ref());
        artifacts.photos.push(Photo {
            media_type: "image/jpeg".into(),
            bytes: b"\xff\xd8\xff\xe0 a label photo, shortened \xff\xd9".to_vec(),
        });
        let hints = [Hint {
            code: "possible_copied_label".into(),
            message: "this label was scanned in two places within an hour".into(),
        }];
        let (_, pack) = w
            .inspection_report(&artifacts, &verdict, &hints, at + 120)
            .map_err(|e| anyhow::anyhow!("{name}: sealing: {e}"))?;
        out.push(seed(
            &format!("corpus/evidence/seed-{name}-pack"),
            pack.to_json(),
        ));
    }
    out.push(seed(
        "corpus/evidence/seed-empty-pack",
        r#"{"format":"cellproof-evidence-pack/1"}"#,
    ));
    Ok(out)
}

/// `cargo xtask fuzz --seeds`: writes [`seeds`] under `fuzz/`.
fn write_seeds() -> Result<()> {
    let dir = root().join("fuzz");
    for s in seeds()? {
        let p = dir.join(&s.path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, &s.content).with_context(|| format!("writing {}", p.display()))?;
        eprintln!("fuzz/{}: {} bytes", s.path, s.content.len());
    }
    Ok(())
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

    #[test]
    fn kept_fuzz_corpus_never_panics_the_compact_status_parser() {
        replay("compact");
    }

    #[test]
    fn kept_fuzz_corpus_never_panics_the_evidence_pack_checker() {
        replay("evidence");
    }

    /// The signed seeds reach what they are named for: the full bodies are kept whole, the
    /// delta applies to the reference store's lists only, the broken streams pass the
    /// signature and are refused by the decoder, and both sealed reports stand.
    #[test]
    fn signed_fuzz_seeds_reach_what_they_are_named_for() {
        let read = |t: &str, n: &str| std::fs::read(root().join("fuzz/corpus").join(t).join(n));
        let ok = |n: usize| Some(vec!["ok"; n]);
        for (name, empty, held) in [
            ("seed-full", ok(3), ok(3)),
            ("seed-same-as-w3c", ok(3), ok(3)),
            ("seed-full-then-delta", ok(2), ok(2)),
            (
                "seed-delta",
                Some(vec!["status_delta_base"; 2]),
                Some(vec!["ok"; 2]),
            ),
            ("seed-truncated", None, None),
            ("seed-trailing-byte", None, None),
            ("seed-gap-past-end", None, None),
        ] {
            let got = targets::compact_outcomes(&read("compact", name).unwrap());
            assert_eq!(got, [empty, held], "{name}");
        }
        for (name, stands) in [
            ("seed-passport-pack", true),
            ("seed-reference-pack", true),
            ("seed-empty-pack", false),
        ] {
            let data = read("evidence", name).unwrap();
            assert_eq!(targets::accepted("evidence", &data), stands, "{name}");
        }
    }

    /// The signed seeds on disk are the generator's (`cargo xtask fuzz --seeds`): new vector
    /// keys or a changed body format would otherwise leave the fuzzer in front of the
    /// signature check with nothing failing.
    #[test]
    fn signed_fuzz_seeds_are_the_generators() {
        for s in seeds().unwrap() {
            let held = std::fs::read(root().join("fuzz").join(&s.path)).unwrap_or_default();
            assert!(
                held == s.content,
                "fuzz/{} differs from `cargo xtask fuzz --seeds`",
                s.path
            );
        }
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
