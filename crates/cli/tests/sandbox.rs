//! The QR decoder runs in a child process (`crates/cli/src/sandbox.rs`): zxing-cpp is C++
//! reading untrusted images, so a fault in it (abort, segfault, allocation without end, hang)
//! must end as an error with a stable code and exit 2, not take the CLI down. The faults are
//! injected in the child through an environment variable only debug builds (tests) read.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::text;
use serde_json::Value;

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cellproof"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("running cellproof")
}

fn demo(dir: &Path) -> String {
    let o = run(&["demo", "--out", dir.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    dir.join("credential.png").to_str().unwrap().to_owned()
}

#[test]
fn a_fault_in_the_decoder_is_an_error_with_its_code() {
    let tmp = tempfile::tempdir().unwrap();
    let img = demo(tmp.path());
    let url = std::fs::read_to_string(tmp.path().join("credential.url")).unwrap();
    let root = format!("ouranos={}", tmp.path().join("ouranos-root.jwk").display());
    let cases = [
        ("abort", "qr_decoder_crashed", "SIGABRT"),
        ("segv", "qr_decoder_crashed", "SIGSEGV"),
        ("oom", "qr_decoder_crashed", "memory limit"),
        ("hang", "qr_decoder_timeout", "did not finish"),
    ];
    for (fault, code, why) in cases {
        // Only the hang waits for the timeout, shortened here; the other faults end the child at
        // once and keep the default, so a loaded machine cannot turn them into timeouts.
        let timeout = if fault == "hang" { "1500" } else { "90000" };
        let env = [
            ("CELLPROOF_TEST_DECODE_FAULT", fault),
            ("CELLPROOF_TEST_DECODE_TIMEOUT_MS", timeout),
        ];
        // `decode --json`: the image's line names the error, the run exits 2.
        let o = run(&["decode", "--json", &img], &env);
        assert_eq!(o.status.code(), Some(2), "{fault}: {}", text(&o));
        let line: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
        let err = line["error"].as_str().unwrap_or_default();
        assert!(
            err.contains(code) && err.contains(why),
            "{fault}: {}",
            text(&o)
        );
        // `verify --image`: exit 2 with the sentence and its code, no verdict printed.
        let o = run(&["verify", "--image", &img, "--root", &root], &env);
        assert_eq!(o.status.code(), Some(2), "{fault}: {}", text(&o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains(code) && stderr.contains(why),
            "{fault}: {}",
            text(&o)
        );
        assert!(o.stdout.is_empty(), "{fault}: {}", text(&o));
    }
    // Without a fault the child decodes: the same image, the code and its corners.
    let o = run(&["decode", "--json", &img], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let line: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(line["codes"][0]["text"], url.trim());
    assert_eq!(
        line["codes"][0]["corners"][2],
        serde_json::json!([712.0, 712.0])
    );
}

#[test]
fn the_child_passes_the_decoders_refusal_with_its_code() {
    // A frame shorter than its size says: the decoder's own code, exit 0 for the child, an
    // error for whoever asked.
    let o = Command::new(env!("CARGO_BIN_EXE_cellproof"))
        .args(["__decode", "10", "10"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["error"]["code"], "buffer_size_mismatch");
    let o = Command::new(env!("CARGO_BIN_EXE_cellproof"))
        .args(["__decode", "40000", "40000"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["error"]["code"], "image_too_large");
}
