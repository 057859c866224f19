//! `cargo xtask bench-scale [LISTS]`: the status sync of 100 million batteries, in a release
//! build (`crates/world/examples/bench_scale.rs`; `docs/BENCHMARKS.md`, "Status at 100 million
//! entries"). Not in CI: it signs 1,526 lists twice and holds a few hundred MiB.

use anyhow::Result;

/// Runs the example with the arguments given (the number of lists, 763 by default).
pub fn run(rest: &[String]) -> Result<()> {
    let mut args = vec![
        "run",
        "--quiet",
        "--release",
        "--package",
        "cellproof-world",
        "--example",
        "bench_scale",
        "--",
    ];
    args.extend(rest.iter().map(String::as_str));
    crate::sh("cargo", &args)
}
