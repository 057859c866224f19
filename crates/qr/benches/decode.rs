//! Decode cost on 640x480 video frames: with a realistic passport code, and without any code
//! (what the scanner pays on most frames), for both effort levels.

use std::hint::black_box;

use cellproof_qr::encode::{encode_url_numeric, Ecc};
use cellproof_qr::{decode_luma_with, DecodeOptions, Engine};
use criterion::{criterion_main, Criterion};

const W: u32 = 640;
const H: u32 = 480;

/// Deterministic xorshift noise so every run benchmarks the same frames.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Roughly triangular noise in -amp..=amp.
    fn noise(&mut self, amp: i32) -> i32 {
        let a = (self.next() % (amp as u64 + 1)) as i32;
        let b = (self.next() % (amp as u64 + 1)) as i32;
        a - b
    }
}

/// A mid-gray label-like background: a brightness gradient (uneven light) and a few dark
/// "text" bars, so the finder-pattern scan has edges to chew on as in a real frame.
fn background(rng: &mut Rng) -> Vec<i32> {
    let mut px: Vec<i32> = (0..H)
        .flat_map(|y| (0..W).map(move |x| 150 + (x as i32 - 320) / 16 + (y as i32 - 240) / 24))
        .collect();
    for _ in 0..40 {
        let (x0, y0) = ((rng.next() % 600) as u32, (rng.next() % 460) as u32);
        let (bw, bh) = (4 + (rng.next() % 30) as u32, 6 + (rng.next() % 8) as u32);
        for y in y0..(y0 + bh).min(H) {
            for x in x0..(x0 + bw).min(W) {
                px[(y * W + x) as usize] = 60;
            }
        }
    }
    px
}

/// 3x3 box blur plus sensor noise, then clamp to u8.
fn finish(px: &[i32], rng: &mut Rng) -> Vec<u8> {
    let (w, h) = (W as i32, H as i32);
    let at = |x: i32, y: i32| px[(y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) as usize];
    let mut out = Vec::with_capacity(px.len());
    for y in 0..h {
        for x in 0..w {
            let mut s = 0;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    s += at(x + dx, y + dy);
                }
            }
            out.push((s / 9 + rng.noise(10)).clamp(0, 255) as u8);
        }
    }
    out
}

/// The digit count that makes the realistic prefix land on version 15 at ECC M.
fn passport_digits() -> (String, String) {
    let prefix = "https://passport.cellproof.example/v1#".to_owned();
    let mut n = 100;
    loop {
        let digits: String = (0..n)
            .map(|i| char::from(b'0' + ((i * 7 + 3) % 10) as u8))
            .collect();
        let code = encode_url_numeric(&prefix, &digits, Ecc::M).expect("fits");
        if code.version >= 15 {
            return (prefix, digits);
        }
        n += 10;
    }
}

fn frame_with_code() -> (Vec<u8>, String) {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut px = background(&mut rng);
    let (prefix, digits) = passport_digits();
    let code = encode_url_numeric(&prefix, &digits, Ecc::M).expect("fits");
    // 4 px per module: a version-15 code (77 modules + quiet zone) spans 340 px, about 70% of
    // the frame height, as when a user holds the cell in front of the camera.
    let (cw, _, cpx) = code.to_luma(4);
    let (x0, y0) = ((W - cw) / 2 + 17, (H - cw) / 2 - 9);
    for (y, row) in cpx.chunks_exact(cw as usize).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            // Printed label contrast, not pure black/white.
            let level = if v == 0 { 45 } else { 205 };
            px[((y0 + y as u32) * W + x0 + x as u32) as usize] = level;
        }
    }
    (finish(&px, &mut rng), format!("{prefix}{digits}"))
}

fn frame_without_code() -> Vec<u8> {
    let mut rng = Rng(0x0fed_cba9_8765_4321);
    let px = background(&mut rng);
    finish(&px, &mut rng)
}

fn bench(c: &mut Criterion) {
    let (with_code, expected) = frame_with_code();
    let without = frame_without_code();
    // The shipped engine, and each engine alone for comparison (docs/qr-decoder.md).
    for (name, opts) in [
        ("fast", DecodeOptions::fast()),
        ("thorough", DecodeOptions::thorough()),
        (
            "fast-rxing",
            DecodeOptions::fast().with_engine(Engine::Rxing),
        ),
        (
            "thorough-rxing",
            DecodeOptions::thorough().with_engine(Engine::Rxing),
        ),
        (
            "fast-zxing-cpp",
            DecodeOptions::fast().with_engine(Engine::ZxingCpp),
        ),
        (
            "thorough-zxing-cpp",
            DecodeOptions::thorough().with_engine(Engine::ZxingCpp),
        ),
    ] {
        let found = decode_luma_with(W, H, &with_code, &opts).expect("valid frame");
        assert_eq!(
            found.first().map(|d| d.text.as_str()),
            Some(expected.as_str())
        );
        assert!(decode_luma_with(W, H, &without, &opts)
            .expect("valid")
            .is_empty());

        c.bench_function(&format!("{name}/640x480_v15_code"), |b| {
            b.iter(|| decode_luma_with(W, H, black_box(&with_code), &opts))
        });
        c.bench_function(&format!("{name}/640x480_no_code"), |b| {
            b.iter(|| decode_luma_with(W, H, black_box(&without), &opts))
        });
    }
}

// criterion_group! expands to an undocumented `pub fn benches()`; the workspace's
// missing_docs lint would otherwise fail clippy on this macro output.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;

criterion_main!(benches);
