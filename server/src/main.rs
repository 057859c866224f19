//! `cellproof-server` binary.

fn main() {}
