//! `wasm-bindgen-test` tests of the decoder binding, run in Node by `wasm-bindgen-test-runner`
//! (`cargo xtask browser-test`). Natively the file compiles to nothing.
#![cfg(target_arch = "wasm32")]

use cellproof_wasm_decode::decode_luma;
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn json(v: impl Into<JsValue>) -> Value {
    serde_wasm_bindgen::from_value(v.into()).expect("a plain JS object")
}

#[wasm_bindgen_test]
fn decoder_reports_codes_and_finds_nothing_in_a_blank_frame() {
    let blank = vec![255u8; 64 * 48];
    let r = json(decode_luma(64, 48, &blank, false));
    assert_eq!(r["texts"], serde_json::json!([]));
    assert_eq!(r["error"], Value::Null);
    assert_eq!(
        json(decode_luma(64, 48, &blank[..10], false))["error"],
        "buffer_size_mismatch"
    );
    assert_eq!(json(decode_luma(0, 0, &[], true))["error"], "empty_image");
}
