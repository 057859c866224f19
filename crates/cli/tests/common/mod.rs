//! Helpers shared by the CLI's integration tests (each test file is a crate of its own and
//! uses what it needs of this module).

#![allow(dead_code)]

pub mod http;

use std::process::Output;

/// A finished `cellproof` run as an assertion message: exit code, stdout and stderr.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
