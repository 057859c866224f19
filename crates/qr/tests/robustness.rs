//! Degenerate and random inputs must never panic: the decoder runs inside a WebAssembly page,
//! where a panic aborts the whole module.

use cellproof_qr::{decode_luma, decode_luma_with, DecodeOptions, MAX_PIXELS};

/// Small deterministic PRNG (xorshift64*), so failures reproduce without a `rand` dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

fn both(w: u32, h: u32, px: &[u8]) {
    let thorough = decode_luma(w, h, px).expect("valid size");
    let fast = decode_luma_with(w, h, px, &DecodeOptions::fast()).expect("valid size");
    // Noise, flat fields and stripes contain no QR code; anything found would be a false positive.
    assert!(thorough.is_empty(), "{w}x{h}: false positive {thorough:?}");
    assert!(fast.is_empty(), "{w}x{h}: false positive {fast:?}");
}

#[test]
fn flat_images_of_every_shape() {
    for &(w, h) in &[
        (1, 1),
        (1, 2),
        (2, 1),
        (3, 3),
        (7, 1000),
        (1000, 7),
        (21, 21),
        (64, 48),
    ] {
        for v in [0u8, 255, 128] {
            both(w, h, &vec![v; (w * h) as usize]);
        }
    }
    both(640, 480, &vec![0; 640 * 480]);
    both(640, 480, &vec![255; 640 * 480]);
}

#[test]
fn noise_and_patterns() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for &(w, h) in &[(1, 1), (5, 5), (33, 17), (100, 100), (320, 240), (641, 479)] {
        let noise: Vec<u8> = (0..w * h).map(|_| rng.byte()).collect();
        both(w, h, &noise);
        // Binary noise at a few block sizes: the closest random input to module-like blobs.
        for block in [1u32, 3, 8] {
            let cols = w.div_ceil(block);
            let cells: Vec<u8> = (0..cols * h.div_ceil(block))
                .map(|_| if rng.byte() < 128 { 0 } else { 255 })
                .collect();
            let px: Vec<u8> = (0..h)
                .flat_map(|y| (0..w).map(move |x| (y / block) * cols + x / block))
                .map(|i| cells[i as usize])
                .collect();
            both(w, h, &px);
        }
        let stripes: Vec<u8> = (0..h)
            .flat_map(|_| (0..w).map(|x| if x % 2 == 0 { 0 } else { 255 }))
            .collect();
        both(w, h, &stripes);
    }
}

#[test]
fn bad_sizes_are_errors_not_panics() {
    assert_eq!(decode_luma(0, 0, &[]).unwrap_err().code(), "empty_image");
    assert_eq!(
        decode_luma(0, 5, &[0; 5]).unwrap_err().code(),
        "empty_image"
    );
    assert_eq!(
        decode_luma(2, 2, &[0; 3]).unwrap_err().code(),
        "buffer_size_mismatch"
    );
    assert_eq!(
        decode_luma(2, 2, &[0; 5]).unwrap_err().code(),
        "buffer_size_mismatch"
    );
    assert_eq!(
        decode_luma(u32::MAX, u32::MAX, &[]).unwrap_err().code(),
        "image_too_large"
    );
    let side = (MAX_PIXELS as f64).sqrt() as u32 + 1;
    let err = decode_luma(side, side, &[]).unwrap_err();
    assert_eq!(err.code(), "image_too_large");
    assert!(!err.to_string().is_empty());
}
