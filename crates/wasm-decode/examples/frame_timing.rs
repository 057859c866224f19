//! Native counterpart of `tests/browser/figures.test.mjs`: decodes the same 640x480 textured
//! frame without a code with `Effort::Fast` and prints the median, so docs/web.md can compare
//! wasm in Chromium with native code on identical input.
//!
//! `cargo run --release -p cellproof-wasm-decode --example frame_timing`

use cellproof_qr::{decode_luma_with, DecodeOptions};

fn main() {
    let mut x: u32 = 2_463_534_242;
    let frame: Vec<u8> = (0..640u32 * 480)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let shade = 120 * (i % 640) / 640;
            let noise = (u64::from(x) * 60) >> 32;
            u8::try_from(60 + u64::from(shade) + noise).unwrap_or(u8::MAX)
        })
        .collect();
    let mut times: Vec<f64> = (0..40)
        .map(|_| {
            let t = std::time::Instant::now();
            let found = decode_luma_with(640, 480, &frame, &DecodeOptions::fast());
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            assert!(matches!(found, Ok(ref c) if c.is_empty()));
            ms
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "native decode 640x480 fast, no code: median {:.2} ms",
        times[times.len() / 2]
    );
}
