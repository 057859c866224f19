//! Project chores: `cargo xtask demo|test|vectors|...` (rust-analyzer's xtask pattern).
//!
//! Every multi-step chore lives here so the README's two commands and `.ci/run` stay one line.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

mod fuzz;
mod native;
mod prereq;
mod scale;
mod test;
mod tidy;
mod web;

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

const TASKS: &str = "tasks: demo, test, vectors, wasm, web, browser-test, qr-compare, fuzz, \
                     bench-scale, bench-first-verdict, docs-images";

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        bail!("usage: cargo xtask <task>; {TASKS}")
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "vectors" => vectors(),
        "test" => test::run(rest),
        "demo" => demo(rest),
        "qr-compare" => test::qr_compare(),
        "fuzz" => fuzz::run(rest),
        "wasm" => prereq::ensure(prereq::DEMO).and_then(|()| web::wasm()),
        "web" => prereq::ensure(prereq::DEMO).and_then(|()| web::web()),
        "browser-test" => web::browser_tests(),
        "bench-scale" => scale::run(rest),
        "bench-first-verdict" => web::bench_first_verdict(rest),
        "docs-images" => web::docs_images(),
        other => bail!("unknown task {other:?}; {TASKS}"),
    }
}

/// The repository root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs a command from the repository root, failing on a non-zero exit.
pub(crate) fn sh(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("{program} {} failed with {status}", args.join(" "));
    }
    Ok(())
}

/// Writes `tests/vectors/` from the generator.
fn vectors() -> Result<()> {
    let dir = root().join("tests/vectors");
    let mut written = 0;
    for f in cellproof_world::generate_vectors()? {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(f.content.as_str()) {
            std::fs::write(&path, &f.content)
                .with_context(|| format!("writing {}", path.display()))?;
            written += 1;
        }
    }
    eprintln!("tests/vectors: {written} file(s) updated");
    Ok(())
}

/// Runs the product on its embedded defaults: the registry with a demo world (SQLite under
/// `target/demo-data`, kept between runs), serving the scanner page. Extra arguments go to
/// `cellproof-server` (e.g. `--listen 127.0.0.1:9000`).
fn demo(rest: &[String]) -> Result<()> {
    // What a fresh machine lacks (the wasm32 target, wasm-opt, Node and npm, zxing-wasm's npm
    // copy), before any build: the same step `cargo xtask test` starts with.
    prereq::ensure(prereq::DEMO)?;
    // The page the server serves needs the WebAssembly build in web/pkg/.
    web::web()?;
    let data = root().join("target/demo-data");
    let data = data.to_str().context("non-UTF-8 path")?;
    let mut args = vec![
        "run",
        "--quiet",
        "--release",
        "--package",
        "cellproof-server",
        "--",
        "--data",
        data,
        "--demo",
    ];
    if !rest.iter().any(|a| a == "--listen") {
        args.extend(["--listen", "127.0.0.1:8080"]);
    }
    args.extend(rest.iter().map(String::as_str));
    sh("cargo", &args)
}
