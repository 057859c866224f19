//! `cargo xtask test`: every check the project has, in one command (README, `.ci/run`).
//!
//! It installs what it needs (the wasm target, Chromium, npm packages, the wasm-bindgen test
//! runner), then runs format, lints, the wasm build of the pure crates, every Rust test, the
//! browser tests, and the docs with warnings denied.

use anyhow::Result;

use crate::sh;

pub(crate) fn run(_rest: &[String]) -> Result<()> {
    let started = std::time::Instant::now();
    // The core and the QR decoder must build for the browser (ARCHITECTURE.md invariant).
    sh("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    sh("cargo", &["fmt", "--all", "--check"])?;
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
    )?;
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
    )?;
    // Includes xtask's replay of the kept fuzz corpus through the uninstrumented targets
    // (xtask/src/fuzz.rs). The AFL++ runs are `cargo xtask fuzz`: their instrumented build alone
    // costs minutes of this pipeline's budget (fuzz/README.md has the figures).
    sh("cargo", &["test", "--workspace"])?;
    // The binding in Node (wasm-bindgen-test) and the page in real Chromium against the real
    // registry; installs Chromium and the npm packages when missing.
    crate::web::browser_tests()?;
    std::env::set_var("RUSTDOCFLAGS", "-D warnings");
    sh("cargo", &["doc", "--workspace", "--no-deps"])?;
    eprintln!(
        "xtask test: all checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub(crate) fn qr_compare() -> Result<()> {
    sh(
        "python3",
        &["-m", "pip", "install", "--quiet", "zxing-cpp", "pillow"],
    )?;
    sh("python3", &["scripts/qr_compare.py"])
}
