//! The first pass of the native engine: zxing-cpp (the zxing-cpp project's own Rust crate,
//! C++ library v3.1.1 built from source by its `bundled` feature).
//!
//! Measured on the hard set and the ZXing corpus (docs/qr-decoder.md, "Choosing the engine"),
//! zxing-cpp finds more codes than our rxing cascade in frames of many small labels, and our
//! cascade finds codes zxing-cpp misses (curved cells, damaged labels, some corpus photos). So
//! [`crate::decode_luma`] runs this pass first and the cascade where it found nothing. Not built
//! for wasm32: the scanner page runs the same C++ version as WebAssembly (npm `zxing-wasm`) in
//! its worker, before our `cellproof-decode` module.
//!
//! Everything coming back over the FFI is treated as untrusted: the image size is validated
//! before the call (`decode::validate`, and the crate's own length check), a C++ error or a
//! panic in the wrapper becomes "nothing found" (our cascade then runs), and only valid QR
//! Code results with a text are kept.

use std::panic::{catch_unwind, AssertUnwindSafe};

use zxingcpp::{BarcodeFormat, ImageFormat, ImageView, PointI, TextMode};

use crate::decode::{Decoded, Effort};

/// What zxing-cpp made of an image.
pub(crate) struct Read {
    /// The codes it decoded.
    pub(crate) codes: Vec<Decoded>,
    /// Whether it located a symbol it could not decode (a checksum or format error), or
    /// failed: the cases in which the rxing cascade is worth its time on a video frame.
    pub(crate) unread_symbol: bool,
}

/// Reads every QR Code (zxing-cpp's `QRCode` family) in an 8-bit grayscale
/// image whose size the caller has validated (`width * height == luma.len()`, within
/// `MAX_PIXELS`/`MAX_SIDE`, so both fit a C `int`). A library error or panic is reported as
/// "nothing read, an unread symbol": the caller then falls back on the rxing cascade.
pub(crate) fn read(width: u32, height: u32, luma: &[u8], effort: Effort) -> Read {
    let run = || -> Result<Read, zxingcpp::Error> {
        let view = ImageView::from_slice(luma, width, height, ImageFormat::Lum)?;
        // zxing-cpp's defaults (as in its PyPI build, which the comparison script runs) except
        // for the formats: try-harder (finder scan on every line), try-downscale (large frames),
        // and for stills try-invert (light-on-dark labels). Try-rotate only matters for linear
        // codes, which are not enabled. Video frames skip inversion: the next frame is another
        // chance, and an inverted pass doubles the cost of frames without a code.
        let reader = zxingcpp::read()
            // The whole QR family, as the PyPI build is measured with: zxing-cpp's fallback for
            // clean, tightly cropped symbols (`readPure`) runs only when the set holds
            // `QRCode` itself, and `QRCodeModel2` alone loses `zxingcpp-qrcode-2/#940.png`.
            // Micro QR and rMQR results are texts that are no passport URL: harmless, and
            // none was seen on the corpus or the hard set.
            .formats([BarcodeFormat::QRCode])
            .try_harder(true)
            .try_downscale(true)
            .try_rotate(false)
            .try_invert(effort == Effort::Thorough)
            // The symbol's text as encoded (ECI honoured), like rxing's: zxing-cpp's default
            // "human readable" mode rewrites control characters as `<GS>` and GS1 data with
            // parentheses, which is not the credential URL the verifier parses.
            .text_mode(TextMode::Plain)
            // Symbols it located but could not decode come back too (not valid): they tell a
            // video frame with a damaged or curved label from a frame without any code.
            .return_errors(true);
        let found = reader.from(view)?;
        let unread_symbol = found.iter().any(|b| !b.is_valid());
        let codes = found
            .into_iter()
            .filter(|b| b.is_valid() && !b.text().is_empty())
            .map(|b| {
                let p = b.position();
                Decoded {
                    text: b.text(),
                    corners: [
                        point(p.top_left),
                        point(p.top_right),
                        point(p.bottom_right),
                        point(p.bottom_left),
                    ],
                }
            })
            .collect();
        Ok(Read {
            codes,
            unread_symbol,
        })
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(read)) => read,
        Ok(Err(_)) | Err(_) => Read {
            codes: Vec::new(),
            unread_symbol: true,
        },
    }
}

/// zxing-cpp's integer pixel position, in the caller's image (no transform on our side).
fn point(p: PointI) -> [f32; 2] {
    // Coordinates are within the image (at most MAX_SIDE = 32768), exact in f32.
    [p.x as f32, p.y as f32]
}
