//! QR decoding and encoding for Cellproof battery passports.
//!
//! * [`decode_luma`] / [`decode_luma_with`] find every QR code in an 8-bit grayscale image. They
//!   wrap [`rxing`] in a cascade of retries (downscaling, other binarizer, try-harder, quiet-zone
//!   padding, inversion) that only runs when the cheaper attempts found nothing, so a video frame
//!   with a readable code stays fast while a hard still photo still gets every chance.
//! * With the `encode` cargo feature, `encode::encode_url_numeric` builds the compact
//!   "URL prefix in byte mode + digits in numeric mode" symbols that Cellproof prints on cells.
//!
//! The decoder builds for `wasm32-unknown-unknown`; the encoder is feature-gated so the
//! scanner page does not carry it.

mod decode;
#[cfg(feature = "encode")]
pub mod encode;

pub use decode::{
    decode_luma, decode_luma_report, decode_luma_with, DecodeError, DecodeOptions, DecodeReport,
    Decoded, Effort, MAX_PIXELS, MAX_SIDE,
};
