//! Decodes every image of the QR corpus and prints one JSON line per image.
//!
//! Used by `scripts/qr_compare.py` to put this decoder side by side with zxing-cpp on the same
//! images in the same run. Usage:
//!
//! ```text
//! cargo run --release -p cellproof-qr --example corpus -- [CORPUS_DIR] [--fast]
//!     [--engine combined|rxing|zxing-cpp]
//! ```
//!
//! `--engine` picks the decoders (`Engine`): the shipped combination (default), our rxing
//! cascade alone, or zxing-cpp alone (the crate's bundled C++ build). `--repeat N` decodes
//! each image N times and reports the fastest (on a shared machine the minimum is the figure
//! least disturbed by other processes).
//!
//! Output lines: `{"file": "zxing-qrcode-1/1.png", "expected_ok": true, "ms": 3.2,
//! "step": "full", "found": 1}`. `file` is relative to the corpus folder; `ms` times only the
//! decode call (image loading and luma conversion excluded, as in the Python side).
//!
//! With `--dir DIR` (the hard set, `tests/qr-hard/`) it decodes every image directly in `DIR`
//! and prints `{"file": "blur-00.jpg", "texts": [...], "ms": 3.2, "step": "full"}`; the
//! comparison script matches the texts against `DIR/labels.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cellproof_qr::{decode_luma_report, DecodeOptions, Engine};

fn main() {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/qr-corpus");
    let mut options = DecodeOptions::thorough();
    let mut flat = false;
    let mut engine = Engine::Combined;
    let mut repeat = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--fast" {
            options = DecodeOptions::fast();
        } else if arg == "--engine" {
            engine = match args.next().as_deref() {
                Some("combined") => Engine::Combined,
                Some("rxing") => Engine::Rxing,
                Some("zxing-cpp") => Engine::ZxingCpp,
                other => {
                    eprintln!("--engine: expected combined, rxing or zxing-cpp, got {other:?}");
                    std::process::exit(2);
                }
            };
        } else if arg == "--repeat" {
            repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
        } else if arg == "--dir" {
            flat = true;
        } else {
            dir = PathBuf::from(arg);
        }
    }
    let options = options.with_engine(engine);
    if flat {
        decode_dir(&dir, &options, repeat);
        return;
    }
    let mut images = corpus_images(&dir);
    images.sort();
    for (rel, path, expected) in images {
        let luma = match image::open(&path) {
            Ok(img) => img.to_luma8(),
            Err(e) => {
                eprintln!("cannot load {}: {e}", path.display());
                continue;
            }
        };
        let (w, h) = luma.dimensions();
        let (report, ms) = timed(repeat, || decode_luma_report(w, h, luma.as_raw(), &options));
        let (ok, step, found) = match &report {
            Ok(r) => (
                r.codes.iter().any(|c| c.text == expected),
                r.step.unwrap_or(""),
                r.codes.len(),
            ),
            Err(_) => (false, "", 0),
        };
        println!(
            "{{\"file\": {}, \"expected_ok\": {ok}, \"ms\": {ms:.3}, \"step\": {}, \"found\": {found}}}",
            json_str(&rel),
            json_str(step)
        );
    }
}

fn decode_dir(dir: &Path, options: &DecodeOptions, repeat: usize) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("png" | "jpg" | "jpeg" | "webp")
        )
    });
    paths.sort();
    for path in paths {
        let luma = match image::open(&path) {
            Ok(img) => img.to_luma8(),
            Err(e) => {
                eprintln!("cannot load {}: {e}", path.display());
                continue;
            }
        };
        let (w, h) = luma.dimensions();
        let (report, ms) = timed(repeat, || decode_luma_report(w, h, luma.as_raw(), options));
        let (texts, step) = match &report {
            Ok(r) => (
                r.codes
                    .iter()
                    .map(|c| json_str(&c.text))
                    .collect::<Vec<_>>(),
                r.step.unwrap_or(""),
            ),
            Err(_) => (Vec::new(), ""),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{{\"file\": {}, \"texts\": [{}], \"ms\": {ms:.3}, \"step\": {}}}",
            json_str(&name),
            texts.join(", "),
            json_str(step)
        );
    }
}

/// `(relative name, path, expected text)` for every image that has a `NAME.txt` beside it.
/// The structured-append parts `zxingcpp-qrcode-7/01-*.png` have none and are skipped.
fn corpus_images(dir: &Path) -> Vec<(String, PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(folders) = std::fs::read_dir(dir) else {
        eprintln!("corpus folder {} not found", dir.display());
        return out;
    };
    for folder in folders.flatten() {
        let Ok(files) = std::fs::read_dir(folder.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            let is_image = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("png" | "jpg" | "jpeg" | "webp")
            );
            if !is_image {
                continue;
            }
            let Ok(expected) = std::fs::read_to_string(path.with_extension("txt")) else {
                continue;
            };
            let rel = format!(
                "{}/{}",
                folder.file_name().to_string_lossy(),
                file.file_name().to_string_lossy()
            );
            out.push((rel, path, expected));
        }
    }
    out
}

/// Runs `f` `repeat` times (at least once): its last result and the fastest time, in ms.
fn timed<T>(repeat: usize, mut f: impl FnMut() -> T) -> (T, f64) {
    let start = Instant::now();
    let mut out = f();
    let mut best = start.elapsed().as_secs_f64() * 1000.0;
    for _ in 1..repeat {
        let start = Instant::now();
        out = f();
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
    }
    (out, best)
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
