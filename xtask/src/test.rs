//! `cargo xtask test`: every check the project has, in one command (README, `.ci/run`).
//!
//! It installs what it needs (the wasm target, Chromium, npm packages, the wasm-bindgen test
//! runner), then runs format, lints, the wasm build of the pure crates, every Rust test, the
//! browser tests, and the docs with warnings denied.

use std::process::Command;

use anyhow::{bail, Context as _, Result};

use crate::{root, sh};

/// The machine's PostgreSQL (CI starts it before the run: trust auth, database `test`);
/// `CELLPROOF_TEST_DATABASE` names another.
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The server's test suites that run a second time against PostgreSQL.
const POSTGRES_SUITES: &[&str] = &["api", "durability", "security", "passports"];

fn postgres_url() -> String {
    std::env::var("CELLPROOF_TEST_DATABASE")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| POSTGRES.to_owned())
}

/// `host:port` of a `postgres://user@host:port/db` URL (port 5432 when absent).
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// Fails, saying so, when nothing answers at the PostgreSQL address (never a silent skip).
fn postgres_reachable(url: &str) -> Result<()> {
    use std::net::ToSocketAddrs as _;
    let addr = host_port(url);
    let reached = addr
        .to_socket_addrs()
        .with_context(|| format!("resolving {addr}"))?
        .any(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(5)).is_ok()
        });
    if !reached {
        bail!(
            "PostgreSQL is not reachable at {addr}: the registry's PostgreSQL tests need it \
             (start it with trust auth and a database `test`, or set CELLPROOF_TEST_DATABASE \
             to a server's URL)"
        );
    }
    eprintln!("xtask test: PostgreSQL reachable at {addr}");
    Ok(())
}

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

pub(crate) fn run(_rest: &[String]) -> Result<()> {
    let started = std::time::Instant::now();
    // The core and the QR decoder must build for the browser (ARCHITECTURE.md invariant).
    sh("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    sh("cargo", &["fmt", "--all", "--check"])?;
    // cellproof-qr's native build compiles zxing-cpp's C++ library (cmake, g++).
    crate::native::ensure_cpp_toolchain()?;
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
    // The registry's store tests need the machine's PostgreSQL: say so before building.
    let database = postgres_url();
    postgres_reachable(&database)?;
    sh("cargo", &["test", "--workspace"])?;
    // The registry's API, durability (SIGKILL), refusal and passport suites again, on
    // PostgreSQL: the same test binaries (no new build), each server in a schema of its own.
    postgres_suites(&database)?;
    // The binding in Node (wasm-bindgen-test) and the page in real Chromium against the real
    // registry; installs Chromium and the npm packages when missing.
    crate::web::browser_tests()?;
    // The page's pure modules in Node, with the binding browser_tests built (tests/web-unit).
    page_unit_tests()?;
    std::env::set_var("RUSTDOCFLAGS", "-D warnings");
    sh("cargo", &["doc", "--workspace", "--no-deps"])?;
    eprintln!(
        "xtask test: all checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
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
    use super::host_port;

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
}
