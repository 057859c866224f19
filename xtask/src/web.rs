//! `cargo xtask wasm`, `cargo xtask web` and `cargo xtask browser-test`: the browser build and
//! its tests.
//!
//! The wasm binding is built for `wasm32-unknown-unknown` and turned into an ES module with the
//! `wasm-bindgen-cli-support` library (pinned to the `wasm-bindgen` crate's exact version, so no
//! separately installed CLI can drift from it), optimised with Debian's `wasm-opt` when present,
//! and written to `web/pkg/`, which the registry server serves with the rest of `web/`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

use crate::{root, sh};

/// Must equal the `wasm-bindgen` version pinned in `crates/wasm/Cargo.toml` (and of the
/// `wasm-bindgen-cli-support` dependency of xtask): the runner used by `browser-test`.
const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// Files the service worker caches (`web/sw.js` `SHELL`): `web()` checks they exist.
const SHELL: &[&str] = &[
    "index.html",
    "app.js",
    "i18n.js",
    "store.js",
    "scanner.js",
    "scan-worker.js",
    "style.css",
    "manifest.webmanifest",
    "icon.svg",
    "icon-192.png",
    "icon-512.png",
    "sw.js",
    "pkg/cellproof_wasm.js",
    "pkg/cellproof_wasm_bg.wasm",
];

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Builds `web/pkg/`: release wasm, wasm-bindgen (target `web`, TypeScript declarations),
/// `wasm-opt -Oz` when available; prints raw and gzipped sizes.
pub(crate) fn wasm() -> Result<()> {
    sh(
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            "cellproof-wasm",
            "--target",
            "wasm32-unknown-unknown",
        ],
    )?;
    let raw = target_dir().join("wasm32-unknown-unknown/release/cellproof_wasm.wasm");
    let out = root().join("web/pkg");
    let before = std::fs::metadata(&raw)
        .with_context(|| format!("reading {}", raw.display()))?
        .len();
    // wasm-opt runs on rustc's output, before wasm-bindgen: binaryen releases as old as Debian
    // 12's (108) corrupt the externref table wasm-bindgen adds, but handle the raw module.
    let optimised = optimise(&raw)?;
    bindgen(optimised.as_deref().unwrap_or(&raw), &out)?;
    if optimised.is_some() && !smoke_test(&out)? {
        eprintln!("the wasm-opt output does not work with the glue; using the unoptimised module");
        bindgen(&raw, &out)?;
    }
    let wasm = out.join("cellproof_wasm_bg.wasm");
    let bytes = std::fs::read(&wasm)?;
    let js = std::fs::read(out.join("cellproof_wasm.js"))?;
    eprintln!(
        "web/pkg/cellproof_wasm_bg.wasm: {} bytes raw, {} bytes gzipped (rustc output: {} bytes)",
        bytes.len(),
        gzip_len(&bytes)?,
        before
    );
    eprintln!(
        "web/pkg/cellproof_wasm.js: {} bytes raw, {} bytes gzipped",
        js.len(),
        gzip_len(&js)?
    );
    Ok(())
}

/// Runs wasm-bindgen (target `web`, TypeScript declarations) on `input`, replacing `out`.
fn bindgen(input: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(out)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(input)
        .out_name("cellproof_wasm")
        .web(true)?
        .typescript(true)
        // The library's default omits `new URL('cellproof_wasm_bg.wasm', import.meta.url)`;
        // the CLI keeps it, and so do we: `await init()` must work for integrators as is.
        .omit_default_module_path(false)
        .generate(out)
        .with_context(|| format!("wasm-bindgen on {}", input.display()))
}

/// `wasm-opt -Oz` with the features rustc's wasm32 target enables by default, into a new file
/// next to `raw`. `None` (with a note) when Debian's `binaryen` is not installed, when
/// `CELLPROOF_NO_WASM_OPT` is set, or when wasm-opt fails: the page works either way.
fn optimise(raw: &Path) -> Result<Option<PathBuf>> {
    if std::env::var_os("CELLPROOF_NO_WASM_OPT").is_some() {
        eprintln!("CELLPROOF_NO_WASM_OPT set: skipping wasm-opt");
        return Ok(None);
    }
    let found = Command::new("wasm-opt").arg("--version").output();
    let Some(found) = found.ok().filter(|o| o.status.success()) else {
        eprintln!("wasm-opt not found (apt-get install binaryen): web/pkg is not size-optimised");
        return Ok(None);
    };
    eprintln!("using {}", String::from_utf8_lossy(&found.stdout).trim());
    let opt = raw.with_extension("opt.wasm");
    let status = Command::new("wasm-opt")
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-mutable-globals",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(raw)
        .arg("-o")
        .arg(&opt)
        .status()
        .context("running wasm-opt")?;
    if !status.success() {
        eprintln!("wasm-opt failed ({status}); using the unoptimised module");
        return Ok(None);
    }
    Ok(Some(opt))
}

/// Instantiates `out`'s wasm with its generated glue in Node and calls into it.
fn smoke_test(out: &Path) -> Result<bool> {
    let script = format!(
        "const fs = require('fs'); import({glue:?}).then(m => {{ \
           m.initSync({{ module: fs.readFileSync({wasm:?}) }}); \
           const v = new m.Verifier(); \
           if (v.verify('x', 0).code !== 'jws_malformed') process.exit(3); \
         }}).catch(e => {{ console.error(String(e)); process.exit(2); }});",
        glue = out.join("cellproof_wasm.js").display().to_string(),
        wasm = out.join("cellproof_wasm_bg.wasm").display().to_string(),
    );
    match Command::new("node").args(["-e", &script]).status() {
        Ok(s) => Ok(s.success()),
        Err(_) => {
            eprintln!("node not found: cannot check the optimised module, not using it");
            Ok(false)
        }
    }
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?.len())
}

/// Everything the page needs: `web/pkg/` plus a check that every file of the app shell (what
/// the service worker caches for offline use) is there.
pub(crate) fn web() -> Result<()> {
    wasm()?;
    let dir = root().join("web");
    let missing: Vec<&str> = SHELL
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        bail!("web/ lacks files of the app shell: {missing:?}");
    }
    eprintln!("web/ is ready: serve it with `cargo run -p cellproof-server -- --demo ...`");
    Ok(())
}

/// Installs what is missing (wasm target, Chromium, the npm packages, the wasm-bindgen test
/// runner), then runs the `wasm-bindgen-test` suite of `crates/wasm` (in Node) and the browser
/// end-to-end suite (real Chromium against the real server with `--demo`).
pub(crate) fn browser_tests() -> Result<()> {
    sh("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    if !Path::new("/usr/bin/chromium").exists() {
        sh("apt-get", &["update"])?;
        sh("apt-get", &["install", "-y", "chromium"])?;
    }
    let runner = Command::new("wasm-bindgen-test-runner")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains(WASM_BINDGEN_VERSION));
    if runner.is_none() {
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
        )?;
    }
    let status = Command::new("cargo")
        .args([
            "test",
            "-p",
            "cellproof-wasm",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .current_dir(root())
        .status()
        .context("running the wasm-bindgen-test suite")?;
    if !status.success() {
        bail!("wasm-bindgen-test suite failed with {status}");
    }
    web()?;
    // The server binary as `cargo test --workspace` builds it (the integration tests need it
    // too): with the same feature set nothing is rebuilt when the Rust tests ran first, where a
    // plain `cargo build -p cellproof-server` would compile actix again with other features.
    sh("cargo", &["test", "--workspace", "--no-run"])?;
    let browser = root().join("tests/browser");
    run_in(&browser, "npm", &["ci", "--no-audit", "--no-fund"])?;
    let server = target_dir().join("debug/cellproof-server");
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1"])
        .env("CELLPROOF_SERVER_BIN", &server)
        .current_dir(&browser)
        .status()
        .context("running node --test")?;
    if !status.success() {
        bail!("browser end-to-end tests failed with {status}");
    }
    Ok(())
}

fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<()> {
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
