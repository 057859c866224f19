//! What the native build of `cellproof-qr` needs on a fresh machine: the `zxing-cpp` crate's
//! `bundled` feature builds zxing-cpp's C++ library (v3.1.1) with cmake and a C++ compiler
//! (docs/qr-decoder.md, "Choosing the engine"). Installed from Debian, like Chromium and
//! wasm-opt, before any cargo command that compiles the crate for the host. ccache too:
//! `cargo clippy`, `cargo test` and `cargo doc` each build the C++ library in a folder of their
//! own, and `crates/qr/cmake-qr-only.sh` compiles through ccache when it is installed, so the
//! second and third builds reuse the first one's objects (docs/qr-decoder.md, "Build cost").

use std::process::{Command, Stdio};

use anyhow::Result;

use crate::sh;

/// Installs cmake, g++ and ccache with apt-get when any is missing.
pub(crate) fn ensure_cpp_toolchain() -> Result<()> {
    let works = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works("cmake") && works("c++") && works("ccache") {
        return Ok(());
    }
    sh("apt-get", &["update"])?;
    sh("apt-get", &["install", "-y", "cmake", "g++", "ccache"])
}
