//! `cargo xtask wasm`, `cargo xtask web` and `cargo xtask browser-test`: the browser build and
//! its tests.
//!
//! Two wasm modules, one per concern (docs/web.md, "Two modules"): the verifier
//! (`crates/wasm`, `cellproof-core` only: all a consumer who opens a battery URL needs) and the
//! decoder (`crates/wasm-decode`, rxing: loaded by the scanner's Web Worker only). Both are
//! built for `wasm32-unknown-unknown` with the size profile `wasm`, optimised with Debian's
//! `wasm-opt` (installed here like Chromium), turned into ES modules with the
//! `wasm-bindgen-cli-support` library (pinned to the `wasm-bindgen` crate's exact version, so
//! no separately installed CLI can drift from it) and written to `web/pkg/`, an npm package
//! (`package.json`) that the registry server serves with the rest of `web/`. `cargo xtask web`
//! also writes the gzip and brotli copies the server hands out by content negotiation.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

use crate::prereq::ZXING_WASM_DIR;
use crate::{root, sh};

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
    "pkg/cellproof_decode.js",
    "pkg/cellproof_decode_bg.wasm",
];

/// One wasm-bindgen module of the page.
struct Module {
    /// Cargo package.
    package: &'static str,
    /// rustc's output file name (`{lib name}.wasm`).
    artifact: &'static str,
    /// wasm-bindgen `out_name`: `web/pkg/{out_name}.js`, `{out_name}_bg.wasm`, `.d.ts`.
    out_name: &'static str,
    /// A JS expression over the instantiated module `m` that must be true (the wasm-opt check).
    smoke: &'static str,
}

const MODULES: [Module; 4] = [
    Module {
        package: "cellproof-wasm",
        artifact: "cellproof_wasm",
        out_name: "cellproof_wasm",
        smoke: "new m.Verifier().verify('x', 0).code === 'jws_malformed'",
    },
    Module {
        package: "cellproof-wasm-decode",
        artifact: "cellproof_wasm_decode",
        out_name: "cellproof_decode",
        smoke: "m.decodeLuma(8, 8, new Uint8Array(64), false).error === null",
    },
    // Inspector mode only (web/inspector.js imports it on entry): restricted data, signed
    // requests and inspection reports stay out of the consumer's verifier module.
    Module {
        package: "cellproof-wasm-inspect",
        artifact: "cellproof_wasm_inspect",
        out_name: "cellproof_inspect",
        smoke: "new m.Inspector('[]', '{}').entityByKey('x') === null",
    },
    // Online resolution only (web/resolve.js imports it when a label without a credential is
    // checked online, SPEC.md 2.2): the consumer's first visit does not carry it.
    Module {
        package: "cellproof-wasm-resolve",
        artifact: "cellproof_wasm_resolve",
        out_name: "cellproof_resolve",
        smoke: "new m.Resolver('[]', '{}').didWebUrl('did:web:a.example') === 'https://a.example/.well-known/did.json'",
    },
];

/// The Cargo profile of the browser modules (root `Cargo.toml`).
const PROFILE: &str = "wasm";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Builds `web/pkg/`: both modules with the `wasm` profile, `wasm-opt -Oz` (checked, with the
/// unoptimised module as fallback), wasm-bindgen (target `web`, TypeScript declarations), the
/// npm `package.json`; prints raw and compressed sizes.
pub(crate) fn wasm() -> Result<()> {
    let mut args = vec![
        "build",
        "--profile",
        PROFILE,
        "--target",
        "wasm32-unknown-unknown",
    ];
    for m in &MODULES {
        args.extend(["-p", m.package]);
    }
    sh("cargo", &args)?;
    let wasm_opt = ensure_wasm_opt();
    let out = root().join("web/pkg");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    for m in &MODULES {
        let raw = target_dir()
            .join("wasm32-unknown-unknown")
            .join(PROFILE)
            .join(format!("{}.wasm", m.artifact));
        let before = std::fs::metadata(&raw)
            .with_context(|| format!("reading {}", raw.display()))?
            .len();
        // wasm-opt runs on rustc's output, before wasm-bindgen: binaryen releases as old as
        // Debian 12's (108) corrupt the externref table wasm-bindgen adds, but handle the raw
        // module.
        let optimised = match &wasm_opt {
            Some(tool) => optimise(tool, &raw)?,
            None => None,
        };
        bindgen(m, optimised.as_deref().unwrap_or(&raw), &out)?;
        if optimised.is_some() && !smoke_test(m, &out)? {
            eprintln!(
                "the wasm-opt output of {} does not work with the glue; using the unoptimised module",
                m.package
            );
            bindgen(m, &raw, &out)?;
        }
        for file in [
            format!("{}_bg.wasm", m.out_name),
            format!("{}.js", m.out_name),
        ] {
            let bytes = std::fs::read(out.join(&file))?;
            eprintln!(
                "web/pkg/{file}: {} B raw, {} B gzip -9, {} B brotli",
                bytes.len(),
                gzip(&bytes)?.len(),
                brotli(&bytes)?.len(),
            );
        }
        eprintln!("  (rustc output of {}: {before} B)", m.package);
    }
    write_package_json(&out)?;
    zxing_wasm(&out)
}

/// Runs wasm-bindgen (target `web`, TypeScript declarations) on `input` into `out`.
fn bindgen(m: &Module, input: &Path, out: &Path) -> Result<()> {
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(input)
        .out_name(m.out_name)
        .web(true)?
        .typescript(true)
        // The library's default omits `new URL('..._bg.wasm', import.meta.url)`; the CLI keeps
        // it, and so do we: `await init()` must work for integrators as is.
        .omit_default_module_path(false)
        .generate(out)
        .with_context(|| format!("wasm-bindgen on {}", input.display()))
}

/// The `wasm-opt` to use: on PATH, else Debian's `binaryen` installed the way `browser-test`
/// installs Chromium (a fresh machine must not ship the unoptimised module). `None`, with a
/// note, when `CELLPROOF_NO_WASM_OPT` is set or the install failed: the page works either way,
/// and the budget test in `tests/browser/weight.test.mjs` says so loudly.
fn ensure_wasm_opt() -> Option<String> {
    if std::env::var_os("CELLPROOF_NO_WASM_OPT").is_some() {
        eprintln!("CELLPROOF_NO_WASM_OPT set: skipping wasm-opt");
        return None;
    }
    let version = || {
        Command::new("wasm-opt")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    if let Some(v) = version() {
        eprintln!("using {v}");
        return Some("wasm-opt".into());
    }
    eprintln!("wasm-opt not found: installing Debian's binaryen");
    let installed = sh("apt-get", &["update"])
        .and_then(|()| sh("apt-get", &["install", "-y", "binaryen"]))
        .map_err(|e| eprintln!("installing binaryen failed ({e:#}): web/pkg is not size-optimised"))
        .is_ok();
    let v = version().filter(|_| installed)?;
    eprintln!("using {v}");
    Some("wasm-opt".into())
}

/// `wasm-opt -Oz` with the features rustc's wasm32 target enables by default, into a new file
/// next to `raw`; `None` (with a note) when wasm-opt fails.
fn optimise(tool: &str, raw: &Path) -> Result<Option<PathBuf>> {
    let opt = raw.with_extension("opt.wasm");
    let status = Command::new(tool)
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

/// Instantiates `out`'s module with its generated glue in Node and checks `m.smoke`.
fn smoke_test(m: &Module, out: &Path) -> Result<bool> {
    let script = format!(
        "const fs = require('fs'); import({glue:?}).then(m => {{ \
           m.initSync({{ module: fs.readFileSync({wasm:?}) }}); \
           if (!({smoke})) process.exit(3); \
         }}).catch(e => {{ console.error(String(e)); process.exit(2); }});",
        glue = out.join(format!("{}.js", m.out_name)).display().to_string(),
        wasm = out
            .join(format!("{}_bg.wasm", m.out_name))
            .display()
            .to_string(),
        smoke = m.smoke,
    );
    match Command::new("node").args(["-e", &script]).status() {
        Ok(s) => Ok(s.success()),
        Err(_) => {
            eprintln!("node not found: cannot check the optimised module, not using it");
            Ok(false)
        }
    }
}

/// `web/pkg/package.json`: the binding as an ES-module npm package for integrators (the
/// verifier is the main entry, the decoder `cellproof-wasm/decode`), tested as a package by
/// `tests/browser/package.test.mjs`.
fn write_package_json(out: &Path) -> Result<()> {
    let mut files = Vec::new();
    for m in &MODULES {
        let n = m.out_name;
        files.extend([
            format!("{n}.js"),
            format!("{n}_bg.wasm"),
            format!("{n}.d.ts"),
        ]);
    }
    let pkg = serde_json::json!({
        "name": "cellproof-wasm",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Cellproof battery-passport verifier (and QR decoder) in WebAssembly: \
                        verify a credential against pinned roots, trust lists and status lists.",
        "license": "Apache-2.0",
        "type": "module",
        "main": "cellproof_wasm.js",
        "module": "cellproof_wasm.js",
        "types": "cellproof_wasm.d.ts",
        "exports": {
            ".": { "types": "./cellproof_wasm.d.ts", "default": "./cellproof_wasm.js" },
            "./decode": { "types": "./cellproof_decode.d.ts", "default": "./cellproof_decode.js" },
            "./inspect": { "types": "./cellproof_inspect.d.ts", "default": "./cellproof_inspect.js" },
            "./resolve": { "types": "./cellproof_resolve.d.ts", "default": "./cellproof_resolve.js" },
            // For bundlers and Node, which load the module bytes themselves.
            "./cellproof_wasm_bg.wasm": "./cellproof_wasm_bg.wasm",
            "./cellproof_decode_bg.wasm": "./cellproof_decode_bg.wasm",
            "./cellproof_inspect_bg.wasm": "./cellproof_inspect_bg.wasm",
            "./cellproof_resolve_bg.wasm": "./cellproof_resolve_bg.wasm",
            "./package.json": "./package.json",
        },
        "files": files,
        "sideEffects": false,
    });
    let text = serde_json::to_string_pretty(&pkg)? + "\n";
    std::fs::write(out.join("package.json"), text).context("writing web/pkg/package.json")
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).context("brotli")?;
    Ok(out)
}

/// Extensions of the files the server may hand out compressed (text and wasm; PNGs are
/// compressed already).
const COMPRESSIBLE: &[&str] = &[
    "html",
    "js",
    "css",
    "wasm",
    "svg",
    "webmanifest",
    "json",
    "ts",
];

/// Writes `F.gz` and `F.br` next to every compressible file `F` of `web/` (the server's
/// content negotiation picks them; see `server/src/static_files.rs`) and removes copies whose
/// original is gone. Returns the number of files compressed.
fn precompress(dir: &Path) -> Result<usize> {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext == "gz" || ext == "br" {
                if !path.with_extension("").is_file() {
                    std::fs::remove_file(&path)?;
                }
                continue;
            }
            if !COMPRESSIBLE.contains(&ext) {
                continue;
            }
            let bytes = std::fs::read(&path)?;
            let name = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            std::fs::write(path.with_file_name(format!("{name}.gz")), gzip(&bytes)?)?;
            std::fs::write(path.with_file_name(format!("{name}.br")), brotli(&bytes)?)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Everything the page needs: `web/pkg/`, a check that every file of the app shell (what the
/// service worker caches for offline use) is there, and the precompressed copies.
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
    let n = precompress(&dir)?;
    eprintln!("web/: {n} files precompressed (.gz, .br)");
    eprintln!("web/ is ready: serve it with `cargo run -p cellproof-server -- --demo ...`");
    Ok(())
}

/// `cargo xtask browser-test`: installs what is missing (`prereq.rs`), then runs the
/// `wasm-bindgen-test` suites of the bindings (in Node), builds the page and runs the browser
/// end-to-end suite (real Chromium against the real server with `--demo`).
pub(crate) fn browser_tests() -> Result<()> {
    crate::prereq::ensure(crate::prereq::BROWSER)?;
    wasm_bindgen_tests()?;
    web()?;
    e2e()
}

/// The `wasm-bindgen-test` suites of the verifier and decoder bindings, in Node.
pub(crate) fn wasm_bindgen_tests() -> Result<()> {
    let status = Command::new("cargo")
        .args([
            "test",
            "-p",
            "cellproof-wasm",
            "-p",
            "cellproof-wasm-decode",
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
    Ok(())
}

/// The server binary the browser suites start, built as `cargo test --workspace` builds it
/// (the integration tests need it too): with the same feature set nothing is rebuilt when the
/// Rust tests ran first, where a plain `cargo build -p cellproof-server` would compile actix
/// again with other features.
pub(crate) fn test_server() -> Result<PathBuf> {
    sh("cargo", &["test", "--workspace", "--no-run"])?;
    Ok(target_dir().join("debug/cellproof-server"))
}

/// The browser end-to-end suite (`tests/browser/*.test.mjs`, one file at a time) against the
/// test build of the server; `web/pkg/` must be built.
pub(crate) fn e2e() -> Result<()> {
    let server = test_server()?;
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1"])
        .env("CELLPROOF_SERVER_BIN", &server)
        .current_dir(root().join("tests/browser"))
        .status()
        .context("running node --test")?;
    if !status.success() {
        bail!("browser end-to-end tests failed with {status}");
    }
    Ok(())
}

/// `cargo xtask docs-images`: regenerates the README's screenshots in `docs/img/`
/// (`tests/browser/docs-images.mjs`) with the test build of the server. By hand only: the test
/// suite never writes into the tracked tree.
pub(crate) fn docs_images() -> Result<()> {
    crate::prereq::ensure(crate::prereq::BROWSER)?;
    web()?;
    let server = test_server()?;
    let status = Command::new("node")
        .arg("docs-images.mjs")
        .env("CELLPROOF_SERVER_BIN", &server)
        .current_dir(root().join("tests/browser"))
        .status()
        .context("running node docs-images.mjs")?;
    if !status.success() {
        bail!("docs-images.mjs failed with {status}");
    }
    Ok(())
}

/// `cargo xtask bench-first-verdict [RUNS]`: the phone-profile first verdict measured from
/// outside the page (`tests/browser/bench-first-verdict.mjs`, `docs/BENCHMARKS.md`), against
/// the release build of the server that `cargo xtask demo` runs. Not in CI: a wall-clock
/// figure depends on the machine's load.
pub(crate) fn bench_first_verdict(rest: &[String]) -> Result<()> {
    crate::prereq::ensure(crate::prereq::BENCH)?;
    web()?;
    sh(
        "cargo",
        &[
            "build",
            "--quiet",
            "--release",
            "--package",
            "cellproof-server",
        ],
    )?;
    let server = target_dir().join("release/cellproof-server");
    let mut args = vec!["bench-first-verdict.mjs".to_owned()];
    args.extend(rest.iter().cloned());
    let status = Command::new("node")
        .args(&args)
        .env("CELLPROOF_SERVER_BIN", &server)
        .current_dir(root().join("tests/browser"))
        .status()
        .context("running node bench-first-verdict.mjs")?;
    if !status.success() {
        bail!("bench-first-verdict.mjs failed with {status}");
    }
    Ok(())
}

// npm `zxing-wasm` (MIT), pinned with its lock file in `vendor/zxing-wasm/`
// (`prereq::ZXING_WASM_DIR`): the scanner worker's first decoder (zxing-cpp 3.1 as
// WebAssembly, docs/qr-decoder.md).

/// The files of zxing-wasm's reader-only ES build the worker loads, relative to the package's
/// `dist/` (the same tree under `web/pkg/zxing-wasm/`: `index.js` imports `../share.js`), and
/// the licence, which must travel with them.
const ZXING_WASM_FILES: &[(&str, &str)] = &[
    ("dist/es/reader/index.js", "es/reader/index.js"),
    ("dist/es/share.js", "es/share.js"),
    ("dist/reader/zxing_reader.wasm", "reader/zxing_reader.wasm"),
    ("LICENSE", "LICENSE"),
];

/// Copies the reader build of `vendor/zxing-wasm/` (installed by `npm ci` from its lock file,
/// `prereq.rs`) into `out/zxing-wasm/`, from where the server serves it on our own origin (no
/// CDN: the scanner works offline).
fn zxing_wasm(out: &Path) -> Result<()> {
    let dir = root().join(ZXING_WASM_DIR);
    if !crate::prereq::npm_tree_current(&dir) {
        crate::prereq::ensure(crate::prereq::DEMO)?;
    }
    let installed = std::fs::read(dir.join("node_modules/zxing-wasm/package.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned));
    let package = dir.join("node_modules/zxing-wasm");
    for (from, to) in ZXING_WASM_FILES {
        let to = out.join("zxing-wasm").join(to);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(package.join(from), &to)
            .with_context(|| format!("copying zxing-wasm's {from} to {}", to.display()))?;
    }
    let wasm = std::fs::read(out.join("zxing-wasm/reader/zxing_reader.wasm"))?;
    eprintln!(
        "web/pkg/zxing-wasm/reader/zxing_reader.wasm ({}): {} B raw, {} B gzip -9, {} B brotli",
        installed.as_deref().unwrap_or("?"),
        wasm.len(),
        gzip(&wasm)?.len(),
        brotli(&wasm)?.len(),
    );
    Ok(())
}
