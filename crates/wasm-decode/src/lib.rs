//! The browser binding of Cellproof's QR decoder: every QR code in a camera frame, with the
//! same `cellproof-qr` cascade as the CLI (docs/qr-decoder.md).
//!
//! It is a module of its own, separate from the verifier binding (`crates/wasm`), because
//! rxing is most of the bytes and a consumer who opens a battery URL never decodes an image:
//! the page loads this module only in the scanner's Web Worker, when the camera starts
//! (docs/web.md, "Two modules"). Results cross into JS as plain objects built from serde DTOs;
//! nothing throws on data. A panic (rxing has had some on crafted images) traps the instance:
//! the worker reports it and the page replaces the worker.

use cellproof_qr::{decode_luma_with, merge_codes, DecodeOptions, Decoded};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
export interface DecodedCode {
  text: string;
  /** Symbol corners in frame pixels: top-left, top-right, bottom-right, bottom-left of the
   * symbol (a code upside down has its "top-left" near the frame's bottom-right). */
  corners: [[number, number], [number, number], [number, number], [number, number]];
}
export interface DecodeResult {
  /** Every code in the frame, in the order found; the same text twice is reported once. */
  codes: DecodedCode[];
  /** `codes[i].text`, for callers that want only the texts. */
  texts: string[];
  /** `empty_image`, `buffer_size_mismatch`, `image_too_large`, or null. */
  error: string | null;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A `DecodeResult` (TypeScript type above).
    #[wasm_bindgen(typescript_type = "DecodeResult")]
    pub type JsDecodeResult;
}

/// Decodes every QR code in an RGBA frame (`ImageData.data`), full frame, with the same
/// decoder as the CLI: `Effort::Fast` for live video, `Effort::Thorough` for stills.
#[wasm_bindgen(js_name = decodeRgba)]
pub fn decode_rgba(width: u32, height: u32, rgba: &[u8], thorough: bool) -> JsDecodeResult {
    // ITU-R BT.601 luma in fixed point; a 1920x1080 frame converts in about a millisecond.
    let luma: Vec<u8> = rgba
        .chunks_exact(4)
        .map(|p| match p {
            [r, g, b, _] => {
                let y = 77 * u32::from(*r) + 150 * u32::from(*g) + 29 * u32::from(*b);
                u8::try_from(y >> 8).unwrap_or(u8::MAX)
            }
            _ => 0,
        })
        .collect();
    decode_luma(width, height, &luma, thorough)
}

/// Decodes every QR code in an 8-bit grayscale buffer (`width * height` bytes, no padding).
#[wasm_bindgen(js_name = decodeLuma)]
pub fn decode_luma(width: u32, height: u32, luma: &[u8], thorough: bool) -> JsDecodeResult {
    let options = if thorough {
        DecodeOptions::thorough()
    } else {
        DecodeOptions::fast()
    };
    let dto = match decode_luma_with(width, height, luma, &options) {
        Ok(codes) => DecodeDto {
            texts: codes.iter().map(|c| c.text.clone()).collect(),
            codes: codes
                .into_iter()
                .map(|c| CodeDto {
                    text: c.text,
                    corners: c.corners,
                })
                .collect(),
            error: None,
        },
        Err(e) => DecodeDto {
            codes: Vec::new(),
            texts: Vec::new(),
            error: Some(e.code()),
        },
    };
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    // Strings, finite numbers and null only: serialisation cannot fail. Should it ever, the worker gets
    // `undefined`, which it treats like a trap (the page replaces the worker).
    dto.serialize(&ser)
        .unwrap_or(JsValue::UNDEFINED)
        .unchecked_into()
}

/// The codes of another decoder (the worker's zxing-wasm pass) without the repeats, by the
/// same rule as `cellproof_qr::merge_codes` natively: the same text at the same place is one
/// code, the same text at two places two labels. `codes` is `DecodedCode[]`; anything else
/// gives `null`.
#[wasm_bindgen(js_name = mergeCodes)]
pub fn merge_codes_js(codes: JsValue) -> JsValue {
    let Ok(codes) = serde_wasm_bindgen::from_value::<Vec<CodeDto>>(codes) else {
        return JsValue::NULL;
    };
    let merged = merge_codes(
        codes
            .into_iter()
            .map(|c| Decoded {
                text: c.text,
                corners: c.corners,
            })
            .collect(),
    );
    let dto: Vec<CodeDto> = merged
        .into_iter()
        .map(|c| CodeDto {
            text: c.text,
            corners: c.corners,
        })
        .collect();
    dto.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// Traps the instance the way a panic inside rxing does (`unreachable` in wasm, a
/// `WebAssembly.RuntimeError` in JS). Only the browser tests call it, through the worker's test
/// message, to prove the page's recovery path on the real failure mode; nothing else does.
#[wasm_bindgen(js_name = trapForTests)]
pub fn trap_for_tests() {
    // The same trap a panic ends in on wasm32-unknown-unknown (panics abort there), not a JS
    // exception: what the page must survive is exactly this.
    std::process::abort();
}

#[derive(Serialize)]
struct DecodeDto {
    codes: Vec<CodeDto>,
    texts: Vec<String>,
    error: Option<&'static str>,
}

#[derive(Serialize, Deserialize)]
struct CodeDto {
    text: String,
    corners: [[f32; 2]; 4],
}
