//! `cargo xtask test`: every test the project has, in one command (README, `.ci/run`).

use anyhow::Result;

use crate::sh;

pub(crate) fn run(_rest: &[String]) -> Result<()> {
    sh("cargo", &["test", "--workspace"])
}

pub(crate) fn qr_compare() -> Result<()> {
    sh("python3", &["scripts/qr_compare.py"])
}
