//! `wasm-bindgen-test` tests of the binding, run in Node by `wasm-bindgen-test-runner`
//! (`cargo xtask browser-test`): every case of `tests/vectors/cases.json` through the JS-facing
//! API, plus the load and table functions (the decoder's tests are in `crates/wasm-decode`).
//! Natively the file compiles to nothing.
#![cfg(target_arch = "wasm32")]

use cellproof_wasm::{error_codes, recycled_minimums, Verifier};
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const CASES: &str = include_str!("../../../tests/vectors/cases.json");

/// The vector files a case may name (include_str! needs literal paths).
fn vector_file(path: &str) -> &'static str {
    match path {
        "roots/catena-x.jwk" => include_str!("../../../tests/vectors/roots/catena-x.jwk"),
        "roots/ouranos.jwk" => include_str!("../../../tests/vectors/roots/ouranos.jwk"),
        "trust-lists/catena-x.jws" => {
            include_str!("../../../tests/vectors/trust-lists/catena-x.jws")
        }
        "trust-lists/catena-x-stale.jws" => {
            include_str!("../../../tests/vectors/trust-lists/catena-x-stale.jws")
        }
        "trust-lists/ouranos.jws" => include_str!("../../../tests/vectors/trust-lists/ouranos.jws"),
        "trust-lists/ouranos-borrows-acme.jws" => {
            include_str!("../../../tests/vectors/trust-lists/ouranos-borrows-acme.jws")
        }
        "trust-lists/ouranos-lists-acme.jws" => {
            include_str!("../../../tests/vectors/trust-lists/ouranos-lists-acme.jws")
        }
        "trust-lists/ouranos-rogue.jws" => {
            include_str!("../../../tests/vectors/trust-lists/ouranos-rogue.jws")
        }
        "status-lists/acme-3-shadow.jws" => {
            include_str!("../../../tests/vectors/status-lists/acme-3-shadow.jws")
        }
        "trust-lists/ouranos-certifiers-only.jws" => {
            include_str!("../../../tests/vectors/trust-lists/ouranos-certifiers-only.jws")
        }
        "trust-lists/ouranos-recognition-ended.jws" => {
            include_str!("../../../tests/vectors/trust-lists/ouranos-recognition-ended.jws")
        }
        "status-lists/acme-3.jws" => include_str!("../../../tests/vectors/status-lists/acme-3.jws"),
        "status-lists/acme-3-stale.jws" => {
            include_str!("../../../tests/vectors/status-lists/acme-3-stale.jws")
        }
        "status-lists/acme-3-suspension.jws" => {
            include_str!("../../../tests/vectors/status-lists/acme-3-suspension.jws")
        }
        "status-lists/acme-3-refresh.jws" => {
            include_str!("../../../tests/vectors/status-lists/acme-3-refresh.jws")
        }
        other => panic!("unknown vector file {other}"),
    }
}

fn json(v: impl Into<JsValue>) -> Value {
    serde_wasm_bindgen::from_value(v.into()).expect("a plain JS object")
}

fn case_verifier(case: &Value) -> Verifier {
    let mut v = Verifier::new();
    for (eco, path) in case["roots"].as_object().expect("roots") {
        let r = json(v.pin_root(eco, vector_file(path.as_str().expect("path"))));
        assert_eq!(r["ok"], true, "pin {eco}");
    }
    let bundle = serde_json::json!({
        "trustLists": case["trust_lists"].as_array().expect("lists").iter()
            .map(|p| vector_file(p.as_str().expect("path"))).collect::<Vec<_>>(),
        "statusLists": case["status_lists"].as_array().expect("lists").iter()
            .map(|p| vector_file(p.as_str().expect("path"))).collect::<Vec<_>>(),
    });
    let report = json(v.load_bundle(&bundle.to_string()));
    assert_eq!(report["ok"], true);
    v
}

#[wasm_bindgen_test]
fn every_vector_case_gives_the_expected_verdict_through_the_binding() {
    let cases: Value = serde_json::from_str(CASES).expect("cases.json");
    let cases = cases["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let v = case_verifier(case);
        let at = case["at"].as_f64().expect("at");
        let verdict = json(v.verify(case["input"].as_str().expect("input"), at, None));
        let want = &case["expected"];
        assert_eq!(verdict["overall"], want["overall"], "{name}: overall");
        assert_eq!(verdict["code"], want["code"], "{name}: code");
        for stage in verdict["stages"].as_array().expect("stages") {
            let s = stage["stage"].as_str().expect("stage");
            assert_eq!(stage["outcome"], want["stages"][s], "{name}: stage {s}");
        }
    }
}

#[wasm_bindgen_test]
fn valid_verdict_carries_issuer_path_claims_and_data_ages() {
    let cases: Value = serde_json::from_str(CASES).expect("cases.json");
    let case = cases["cases"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "recognised-by-ouranos"))
        .expect("case");
    let v = case_verifier(case);
    let verdict = json(v.verify(
        case["input"].as_str().expect("input"),
        case["at"].as_f64().expect("at"),
        None,
    ));
    assert_eq!(verdict["issuer"]["name"], "ACME Cells GmbH");
    assert_eq!(verdict["issuer"]["recognizedBy"], "ouranos");
    assert_eq!(verdict["claims"]["bp"]["chem"], "NMC811");
    assert_eq!(verdict["claims"]["gtin"], "04012345000016");
    let kinds: Vec<&str> = verdict["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"trust_list") && kinds.contains(&"status_list"));
    // The same verifier, held lists persisted and loaded again, gives the same verdict.
    let held = json(v.held());
    let mut again = Verifier::new();
    again.pin_root("ouranos", vector_file("roots/ouranos.jwk"));
    assert_eq!(json(again.load_bundle(&held.to_string()))["ok"], true);
    let verdict2 = json(again.verify(
        case["input"].as_str().expect("input"),
        case["at"].as_f64().expect("at"),
        None,
    ));
    assert_eq!(verdict2["overall"], "valid");
}

#[wasm_bindgen_test]
fn clock_floor_survives_reloading_the_held_lists() {
    // SPEC.md section 5: a device clock of 0 cannot go below the newest list verified.
    let mut v = Verifier::new();
    v.pin_root("catena-x", vector_file("roots/catena-x.jwk"));
    assert_eq!(
        json(v.load_trust_list(vector_file("trust-lists/catena-x.jws")))["ok"],
        true
    );
    assert!(v.effective_now(0.0) > 1_700_000_000);
}

#[wasm_bindgen_test]
fn refusals_come_back_as_codes_not_exceptions() {
    let mut v = Verifier::new();
    let r = json(v.load_trust_list(vector_file("trust-lists/catena-x.jws")));
    assert_eq!(r["ok"], false);
    assert_eq!(r["code"], "trust_list_untrusted");
    assert_eq!(json(v.pin_root("x", "{not json"))["code"], "key_invalid");
    assert_eq!(json(v.load_bundle("[]"))["code"], "bundle_invalid");
    let verdict = json(v.verify("not a credential", 0.0, None));
    assert_eq!(verdict["overall"], "invalid");
    assert_eq!(verdict["code"], "jws_malformed");
}

#[wasm_bindgen_test]
fn tables_match_the_core() {
    let codes = json(error_codes());
    assert_eq!(
        codes.as_array().map(Vec::len),
        Some(cellproof_core::CODES.len())
    );
    let mins = json(recycled_minimums());
    assert_eq!(mins[0]["element"], "Co");
    assert_eq!(mins[0]["min2031"], 16.0);
}
