//! `wasm-bindgen-test` tests of the decoder binding, run in Node by `wasm-bindgen-test-runner`
//! (`cargo xtask browser-test`). Natively the file compiles to nothing.
#![cfg(target_arch = "wasm32")]

use cellproof_wasm_decode::{decode_luma, merge_codes_js};
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

#[wasm_bindgen_test]
fn decoder_reports_every_code_with_its_corners() {
    use cellproof_qr::encode::{encode_bytes, Ecc};
    // Two different codes side by side on a white 400x200 frame, 4 px per module.
    let (w, h) = (400u32, 200u32);
    let mut frame = vec![255u8; (w * h) as usize];
    let mut origins = Vec::new();
    for (i, text) in ["https://a.example/1", "https://b.example/2"]
        .iter()
        .enumerate()
    {
        let (cw, ch, luma) = encode_bytes(text, Ecc::M).expect("encodes").to_luma(4);
        let (ox, oy) = (20 + 200 * i as u32, 20);
        for y in 0..ch {
            for x in 0..cw {
                frame[((oy + y) * w + ox + x) as usize] = luma[(y * cw + x) as usize];
            }
        }
        origins.push((text.to_string(), ox as f64, (ox + cw) as f64));
    }
    let r = json(decode_luma(w, h, &frame, false));
    assert_eq!(r["error"], Value::Null);
    let codes = r["codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 2, "{r}");
    for (text, x0, x1) in origins {
        let code = codes
            .iter()
            .find(|c| c["text"] == text.as_str())
            .expect("each code reported");
        let corners = code["corners"].as_array().expect("corners");
        assert_eq!(corners.len(), 4);
        for p in corners {
            let x = p[0].as_f64().expect("x");
            assert!(
                (x0..=x1).contains(&x),
                "{text}: corner x {x} outside [{x0}, {x1}]"
            );
        }
        assert!(r["texts"]
            .as_array()
            .expect("texts")
            .contains(&Value::from(text.as_str())));
    }
}

#[wasm_bindgen_test]
fn merge_codes_keeps_two_labels_and_drops_one_symbol_read_twice() {
    let code = |text: &str, x: f64| serde_json::json!({"text": text, "corners": [[x, 0.0], [x + 100.0, 0.0], [x + 100.0, 100.0], [x, 100.0]]});
    // The same symbol read twice (3 px apart), the same text on a second label 300 px away,
    // and another text.
    let input = serde_json::json!([
        code("a", 0.0),
        code("a", 3.0),
        code("a", 300.0),
        code("b", 0.0)
    ]);
    let input =
        serde::Serialize::serialize(&input, &serde_wasm_bindgen::Serializer::json_compatible())
            .expect("a JS array");
    let out = json(merge_codes_js(input));
    let xs: Vec<(String, f64)> = out
        .as_array()
        .expect("an array")
        .iter()
        .map(|c| {
            (
                c["text"].as_str().unwrap_or_default().to_owned(),
                c["corners"][0][0].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(
        xs,
        vec![("a".into(), 0.0), ("a".into(), 300.0), ("b".into(), 0.0)]
    );
    // Anything but an array of codes is null, not a throw.
    assert!(merge_codes_js(JsValue::from_str("nope")).is_null());
}
