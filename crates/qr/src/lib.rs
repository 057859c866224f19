//! QR decoding and encoding for Cellproof battery passports.
//!
//! * [`decode_luma`] / [`decode_luma_with`] find every QR code in an 8-bit grayscale image.
//!   Natively they run zxing-cpp (C++, built from source by the `zxing-cpp` crate) first and,
//!   where it found nothing, our cascade around [`rxing`]: retries (downscaling, other
//!   binarizer, try-harder, quiet-zone padding, inversion) that only run when the cheaper
//!   attempts found nothing, so a video frame with a readable code stays fast while a hard
//!   still photo still gets every chance. On wasm32 only the cascade is built (the scanner
//!   page runs zxing-cpp's WebAssembly build first, in its worker). [`Engine`] picks one
//!   engine alone, for measurements.
//! * With the `encode` cargo feature, `encode::encode_url_numeric` builds the compact
//!   "URL prefix in byte mode + digits in numeric mode" symbols that Cellproof prints on cells.
//!
//! The decoder builds for `wasm32-unknown-unknown` (pure Rust there); the encoder is feature-gated so the
//! scanner page does not carry it.

mod decode;
#[cfg(feature = "encode")]
pub mod encode;
#[cfg(not(target_arch = "wasm32"))]
mod zxing;

pub use decode::{
    decode_luma, decode_luma_report, decode_luma_with, merge_codes, DecodeError, DecodeOptions,
    DecodeReport, Decoded, Effort, Engine, MAX_PIXELS, MAX_SIDE,
};
