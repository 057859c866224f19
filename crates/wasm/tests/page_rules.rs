//! `wasm-bindgen-test` tests (in Node) of the core rules the page takes through the binding
//! instead of keeping JavaScript copies of them: the session CSV row (`csvRow`, `csvCell`), the
//! recycled content beside the Art. 8 minimums (`recycledContent`) and the RFC 7638 thumbprint
//! of a root or an inspector key (`jwkThumbprint`).
#![cfg(target_arch = "wasm32")]

use cellproof_core::{csv_cell as core_csv_cell, CSV_COLUMNS};
use cellproof_wasm::{csv_cell, csv_row, jwk_thumbprint, recycled_content, Verifier};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const CATENA_ROOT: &str = include_str!("../../../tests/vectors/roots/catena-x.jwk");
const CATENA_LIST: &str = include_str!("../../../tests/vectors/trust-lists/catena-x.jws");
const ACME_3: &str = include_str!("../../../tests/vectors/status-lists/acme-3.jws");
const CASES: &str = include_str!("../../../tests/vectors/cases.json");

fn json_of(v: impl Into<JsValue>) -> Value {
    let v: JsValue = v.into();
    assert!(!v.is_undefined(), "the binding returned undefined");
    serde_wasm_bindgen::from_value(v).expect("a plain JS object")
}

/// The cells of one CSV row as written (every cell quoted, `""` for a quote; no cell here holds
/// a comma or a line break outside quotes).
fn cells(row: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[wasm_bindgen_test]
fn csv_row_of_every_vector_verdict_as_the_page_stores_it() {
    let mut v = Verifier::new();
    assert_eq!(json_of(v.pin_root("catena-x", CATENA_ROOT))["ok"], true);
    assert_eq!(json_of(v.load_trust_list(CATENA_LIST))["ok"], true);
    assert_eq!(json_of(v.load_status_list(ACME_3))["ok"], true);
    let cases: Value = serde_json::from_str(CASES).expect("cases.json");
    let mut valid = 0;
    for case in cases["cases"].as_array().expect("cases") {
        let at = case["at"].as_u64().expect("at");
        let input = case["input"].as_str().expect("input");
        // The page stores the binding's object and hands `JSON.stringify` of it back.
        let verdict = json_of(v.verify(input, at as f64, None));
        let row = cells(&csv_row(
            7,
            "2026-12-07T03:00:00.000Z",
            2,
            &verdict.to_string(),
            input,
        ));
        let name = &case["name"];
        assert_eq!(row.len(), CSV_COLUMNS.len(), "{name}");
        assert_eq!(&row[..3], ["7", "2026-12-07T03:00:00.000Z", "2"], "{name}");
        assert_eq!(
            row[3],
            verdict["overall"].as_str().unwrap_or_default(),
            "{name}"
        );
        assert_eq!(
            row[4],
            verdict["code"].as_str().unwrap_or_default(),
            "{name}"
        );
        let link = if verdict["claims"].is_object() {
            &verdict["claims"]
        } else {
            &verdict["scanned"]
        };
        // Without claims or a decoded credential, the battery the label names (its
        // `label.identifier`, `01/{gtin14}/...`): the core's CSV rule since 9de3dfe.
        let from_label = verdict["label"]["identifier"]
            .as_str()
            .and_then(|id| id.strip_prefix("01/"))
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default();
        let gtin = match link["gtin"].as_str() {
            Some(g) if !g.is_empty() => g,
            _ => from_label,
        };
        assert_eq!(row[9], gtin, "{name}");
        assert_eq!(
            row[18],
            core_csv_cell(input.trim())
                .trim_matches('"')
                .replace("\"\"", "\""),
            "{name}"
        );
        if row[3] == "valid" {
            valid += 1;
            assert_eq!(
                row[6],
                verdict["issuer"]["name"].as_str().expect("issuer"),
                "{name}"
            );
            assert_eq!(row[11], "ok", "{name}: revocation");
            assert_eq!(row[16], "no", "{name}: nothing stale");
        }
    }
    assert!(valid >= 2, "the vectors' valid cases were exported");
}

#[wasm_bindgen_test]
fn csv_row_neutralises_formulas_and_reads_big_integers_as_strings() {
    // A stored verdict with integers beyond 2^53 (strings) and attacker text in every cell the
    // label decides: no cell of the row can start a formula or carry a control character.
    let verdict = json!({
        "overall": "invalid", "code": "signature_invalid", "notices": [],
        "claims": {"iss": "=cmd|' /C calc'!A0", "gtin": "+1", "serial": "@SUM(A1)"},
        "issuer": null, "status": [], "attestations": [],
        "data": [{"age": "18446744073709551615", "stale": false}], "now": "18446744073709551615",
    });
    let row = csv_row(1, "", 1, &verdict.to_string(), "-2+3\u{1b}[31m");
    let row = cells(&row);
    assert_eq!(row[7], "'=cmd|' /C calc'!A0");
    assert_eq!(row[9], "'+1");
    assert_eq!(row[10], "'@SUM(A1)");
    assert_eq!(row[15], "18446744073709551615");
    assert!(
        row[17].starts_with("584554"),
        "a date for u64::MAX seconds, as the CLI writes: {}",
        row[17]
    );
    assert_eq!(row[18], "'-2+3\\u{1b}[31m");
    // Not JSON: the scan's cells and empty verdict cells, never an exception.
    let row = cells(&csv_row(3, "t", 1, "{", "x"));
    assert_eq!(row.len(), CSV_COLUMNS.len());
    assert_eq!(
        (row[0].as_str(), row[3].as_str(), row[18].as_str()),
        ("3", "", "x")
    );
    // The header through the same cell rule.
    assert_eq!(csv_cell("=1"), core_csv_cell("=1"));
    assert_eq!(csv_cell("overall"), "\"overall\"");
}

#[wasm_bindgen_test]
fn recycled_content_applies_the_lead_minimum_only_to_lead_batteries() {
    let rc = r#"{"Co": [10, 8], "Li": [2, 1], "Pb": [1, 2]}"#;
    let li = json_of(recycled_content(rc, Some("NMC811".into())));
    let elements: Vec<&str> = li
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["element"].as_str().expect("element"))
        .collect();
    assert_eq!(elements, ["Co", "Li", "Pb"]);
    assert_eq!(li[0]["total"], 18.0);
    assert_eq!(
        (li[0]["meets2031"].as_bool(), li[0]["meets2036"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(li[1]["meets2031"], false);
    // Lead on a lithium battery: shown, no minimum applies, never a cross.
    assert_eq!(
        (li[2]["applies"].as_bool(), li[2]["meets2031"].as_bool()),
        (Some(false), Some(true))
    );
    let pb = json_of(recycled_content(rc, Some("lead-acid".into())));
    assert_eq!(
        (pb[2]["applies"].as_bool(), pb[2]["meets2031"].as_bool()),
        (Some(true), Some(false))
    );
    // A zero Pb share on a lithium battery is not listed; not an object lists nothing.
    let zero = json_of(recycled_content(r#"{"Pb": [0, 0]}"#, None));
    assert_eq!(zero, json!([]));
    assert_eq!(json_of(recycled_content("[1,2]", None)), json!([]));
    assert_eq!(json_of(recycled_content("not json", None)), json!([]));
}

#[wasm_bindgen_test]
fn jwk_thumbprint_is_rfc_7638() {
    // RFC 8037 appendix A.3: the thumbprint of the Ed25519 key of appendix A.2.
    let rfc = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    assert_eq!(
        jwk_thumbprint(rfc).as_deref(),
        Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    );
    // Members in another order and extra members do not change it.
    let root: Value = serde_json::from_str(CATENA_ROOT).expect("jwk");
    let reordered = json!({"x": root["x"], "use": "sig", "crv": "Ed25519", "kty": "OKP"});
    assert_eq!(
        jwk_thumbprint(&reordered.to_string()),
        jwk_thumbprint(CATENA_ROOT)
    );
    // Not an Ed25519 public key: no thumbprint, never one of something else.
    for bad in [
        "",
        "{",
        r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
        r#"{"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        r#"{"kty":"OKP","crv":"Ed25519","x":"short"}"#,
    ] {
        assert_eq!(jwk_thumbprint(bad), None, "{bad}");
    }
}
