//! `wasm-bindgen-test` tests (in Node) of the verdict's one JSON shape through the binding:
//! every verdict converts, integers beyond 2^53 included, and what the binding returns is the
//! core's `VerdictJson`, the same JSON `cellproof verify --json` prints (docs/verdict-json.md).
#![cfg(target_arch = "wasm32")]

use cellproof_core::{
    issue_credential, verify, Context, KeyPair, StatusStore, TrustStore, UnixTime, VerdictJson,
    CSV_COLUMNS,
};
use cellproof_wasm::{csv_columns, Verifier};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const CASES: &str = include_str!("../../../tests/vectors/cases.json");
const CATENA_ROOT: &str = include_str!("../../../tests/vectors/roots/catena-x.jwk");
const CATENA_LIST: &str = include_str!("../../../tests/vectors/trust-lists/catena-x.jws");
const ACME_3: &str = include_str!("../../../tests/vectors/status-lists/acme-3.jws");

fn json_of(v: impl Into<JsValue>) -> Value {
    let v: JsValue = v.into();
    assert!(!v.is_undefined(), "the binding returned undefined");
    serde_wasm_bindgen::from_value(v).expect("a plain JS object")
}

/// A credential signed by a key no trust list names, with the given claims: enough for the
/// binding to decode the claims and return a verdict that carries them.
fn crafted(iat: u64, extra: Value) -> String {
    let key = KeyPair::from_secret("k1", &[7u8; 32]);
    let mut claims = json!({
        "iss": "did:web:rogue.example",
        "sub": "01/04012345000016/21/SN1",
        "bp": {"cat": "ev", "mfr": "BPNL000000000666", "chem": "NMC811"},
        "url": "https://id.example/01/04012345000016/21/SN1",
    });
    if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    let claims = claims.as_object().expect("object").clone();
    issue_credential(&claims, iat, &key).expect("signs").url()
}

#[wasm_bindgen_test]
fn integers_beyond_2_53_convert_instead_of_vanishing() {
    // Before: serde_wasm_bindgen refused u64 above 2^53, the binding returned `undefined` and
    // the page showed nothing at all for such a label.
    let v = Verifier::new();
    let url = crafted(
        (1u64 << 53) + 1,
        json!({"exp": u64::MAX, "bp": {"cat": "ev", "mfr": "BPNL000000000666", "chem": "NMC811",
               "kg": u64::MAX, "kwh": (1u64 << 53) + 1, "ah": 12}}),
    );
    let verdict = json_of(v.verify(&url, 1_800_000_000.0, None));
    assert_eq!(verdict["claims"]["iat"], "9007199254740993");
    assert_eq!(verdict["claims"]["exp"], "18446744073709551615");
    assert_eq!(verdict["claims"]["bp"]["kg"], "18446744073709551615");
    assert_eq!(verdict["claims"]["bp"]["kwh"], "9007199254740993");
    assert_eq!(verdict["claims"]["bp"]["ah"], 12);
    assert_ne!(verdict["overall"], "valid");
    // The batch path converts the same way.
    let many = json_of(v.verify_many(vec![url.clone(), url], 1_800_000_000.0));
    assert_eq!(many[1]["claims"]["exp"], "18446744073709551615");
    // An iat of u64::MAX too.
    let url = crafted(u64::MAX, json!({}));
    let verdict = json_of(v.verify(&url, 1_800_000_000.0, None));
    assert_eq!(verdict["claims"]["iat"], "18446744073709551615");
}

#[wasm_bindgen_test]
fn binding_verdict_is_the_shared_verdict_json() {
    // One shape: the object the page gets is, member for member, the core's VerdictJson, which
    // is what `cellproof verify --json` prints (crates/cli/tests/output.rs checks that side).
    let mut v = Verifier::new();
    assert_eq!(json_of(v.pin_root("catena-x", CATENA_ROOT))["ok"], true);
    assert_eq!(json_of(v.load_trust_list(CATENA_LIST))["ok"], true);
    assert_eq!(json_of(v.load_status_list(ACME_3))["ok"], true);
    let mut trust = TrustStore::new();
    let root: Value = serde_json::from_str(CATENA_ROOT).expect("jwk");
    trust.pin_root(
        "catena-x",
        &cellproof_core::PublicKey::from_jwk(&root).expect("key"),
    );
    trust.insert(CATENA_LIST.trim()).expect("list");
    let mut status = StatusStore::new();
    status.insert(ACME_3.trim(), &trust).expect("status");
    let cases: Value = serde_json::from_str(CASES).expect("cases.json");
    let mut compared = 0;
    for case in cases["cases"].as_array().expect("cases") {
        let at = case["at"].as_u64().expect("at");
        let input = case["input"].as_str().expect("input");
        let from_binding = json_of(v.verify(input, at as f64, None));
        let ctx = Context::new(&trust, &status, UnixTime(at));
        let shared = serde_json::to_value(VerdictJson::from(&verify(input, &ctx))).expect("json");
        assert_eq!(from_binding, shared, "{}", case["name"]);
        compared += 1;
    }
    assert!(compared >= 30);
}

#[wasm_bindgen_test]
fn csv_columns_are_the_cores() {
    assert_eq!(csv_columns(), CSV_COLUMNS.map(str::to_owned).to_vec());
}
