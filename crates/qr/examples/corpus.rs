//! Decodes every image of the QR corpus and prints one JSON line per image.
//!
//! Used by `scripts/qr_compare.py` to put this decoder side by side with zxing-cpp on the same
//! images in the same run. Usage:
//!
//! ```text
//! cargo run --release -p cellproof-qr --example corpus -- [CORPUS_DIR] [--fast]
//! ```
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

use cellproof_qr::{decode_luma_report, DecodeOptions};

fn main() {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/qr-corpus");
    let mut options = DecodeOptions::thorough();
    let mut flat = false;
    for arg in std::env::args().skip(1) {
        if arg == "--fast" {
            options = DecodeOptions::fast();
        } else if arg == "--dir" {
            flat = true;
        } else {
            dir = PathBuf::from(arg);
        }
    }
    if flat {
        decode_dir(&dir, &options);
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
        let start = Instant::now();
        let report = decode_luma_report(w, h, luma.as_raw(), &options);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
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

fn decode_dir(dir: &Path, options: &DecodeOptions) {
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
        let start = Instant::now();
        let report = decode_luma_report(w, h, luma.as_raw(), options);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
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
