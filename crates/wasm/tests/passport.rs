//! `wasm-bindgen-test` tests of the passport side of the binding (SPEC.md sections 3 and 7):
//! every case of `tests/vectors/passports/cases.json` through `verifyWithChain`, the chain a
//! registry or a pack could serve wrongly, and `checkDocument`. Natively the file compiles to
//! nothing.
#![cfg(target_arch = "wasm32")]

use cellproof_wasm::{check_document, Verifier};
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const CASES: &str = include_str!("../../../tests/vectors/passports/cases.json");

/// The vector files a passport case may name (include_str! needs literal paths).
fn vector_file(path: &str) -> &'static str {
    macro_rules! files {
        ($($p:literal),* $(,)?) => {
            match path {
                $($p => include_str!(concat!("../../../tests/vectors/", $p)),)*
                other => panic!("unknown vector file {other}"),
            }
        };
    }
    files!(
        "roots/catena-x.jwk",
        "trust-lists/catena-x.jws",
        "trust-lists/ouranos.jws",
        "status-lists/acme-3.jws",
        "status-lists/acme-3-suspension.jws",
        "status-lists/acme-3-refresh.jws",
        "status-lists/certifier-1.jws",
        "passports/passport-valid.chain.json",
        "passports/passport-tampered.chain.json",
        "passports/passport-chain-broken.chain.json",
        "passports/passport-invalid.chain.json",
        "passports/passport-issuer-mismatch.chain.json",
        "passports/passport-subject-mismatch.chain.json",
        "passports/attestation-digest-mismatch.chain.json",
        "passports/attestation-expired.chain.json",
        "passports/attestation-nonconformant.chain.json",
        "passports/attestation-not-held.chain.json",
        "passports/attestation-out-of-scope.chain.json",
        "passports/attestation-revoked.chain.json",
        "passports/attestation-subject-mismatch.chain.json",
        "passports/attestation-topic-mismatch.chain.json",
        "passports/recognition-out-of-scope.chain.json",
    )
}

fn json(v: impl Into<JsValue>) -> Value {
    serde_wasm_bindgen::from_value(v.into()).expect("a plain JS object")
}

fn cases() -> Vec<Value> {
    let cases: Value = serde_json::from_str(CASES).expect("passports/cases.json");
    cases["cases"].as_array().expect("cases").clone()
}

fn case(name: &str) -> Value {
    cases()
        .into_iter()
        .find(|c| c["name"] == name)
        .expect("case")
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
    assert_eq!(json(v.load_bundle(&bundle.to_string()))["ok"], true);
    v
}

fn verify_case(case: &Value, chain: Option<String>) -> Value {
    let v = case_verifier(case);
    json(v.verify_with_chain(
        case["input"].as_str().expect("input"),
        case["at"].as_f64().expect("at"),
        chain,
    ))
}

fn chain_of(case: &Value) -> String {
    vector_file(case["passport"].as_str().expect("passport")).to_owned()
}

#[wasm_bindgen_test]
fn every_passport_vector_gives_the_expected_verdict_and_attestations_through_the_binding() {
    let all = cases();
    assert!(all.len() >= 15);
    for case in &all {
        let name = case["name"].as_str().expect("name");
        let verdict = verify_case(case, Some(chain_of(case)));
        let want = &case["expected"];
        assert_eq!(verdict["overall"], want["overall"], "{name}: overall");
        assert_eq!(verdict["code"], want["code"], "{name}: code");
        let stage = |s: &str| {
            verdict["stages"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["stage"] == s))
                .map(|x| x["outcome"].clone())
                .unwrap_or(Value::Null)
        };
        assert_eq!(
            stage("passport"),
            want["passport"],
            "{name}: passport stage"
        );
        assert_eq!(
            stage("attestations"),
            want["attestations_stage"],
            "{name}: attestations stage"
        );
        let got: Vec<Value> = verdict["attestations"]
            .as_array()
            .expect("attestations")
            .iter()
            .map(|a| {
                serde_json::json!({
                    "topic": a["topic"], "materials": a["materials"], "outcome": a["outcome"],
                    "code": a.get("code").cloned().unwrap_or(Value::Null),
                })
            })
            .collect();
        assert_eq!(
            Value::Array(got),
            want["attestations"],
            "{name}: attestations"
        );
    }
}

#[wasm_bindgen_test]
fn valid_chain_gives_the_passport_subject_digests_and_who_certified_each_mineral() {
    let case = case("passport-valid");
    let verdict = verify_case(&case, Some(chain_of(&case)));
    assert_eq!(verdict["overall"], "valid");
    let p = &verdict["passport"];
    assert_eq!(
        p["digests"].as_array().map(Vec::len),
        Some(2),
        "versions 1 and 2"
    );
    assert!(p["subject"]["materialsProvenance"].is_array());
    let li = verdict["attestations"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| x["materials"] == serde_json::json!(["Li"]))
        })
        .expect("lithium result");
    assert_eq!(li["outcome"], "verified");
    assert_eq!(li["eco"], "ouranos");
    assert!(li["issuerName"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(li["path"].as_str().is_some_and(|p| p.contains("catena-x")));
}

#[wasm_bindgen_test]
fn label_alone_leaves_passport_and_attestations_not_checked() {
    let case = case("passport-valid");
    let verdict = verify_case(&case, None);
    assert_eq!(verdict["overall"], "valid");
    assert_eq!(verdict["attestations"], serde_json::json!([]));
    assert!(verdict.get("passport").is_none_or(Value::is_null));
}

#[wasm_bindgen_test]
fn unreadable_chain_is_never_shown_as_the_labels_passport() {
    // A registry (or a pack) serving something that is not a chain must not leave a genuine
    // verdict with the passport stage silently skipped.
    let case = case("passport-valid");
    for bad in [
        "",
        "[]",
        "{\"versions\": []}",
        "{\"versions\": \"x\"}",
        "not json",
    ] {
        let verdict = verify_case(&case, Some(bad.to_owned()));
        assert_eq!(verdict["overall"], "invalid", "{bad:?}");
        assert_eq!(verdict["code"], "passport_chain_broken", "{bad:?}");
    }
}

#[wasm_bindgen_test]
fn check_document_opens_only_the_bytes_the_digest_names() {
    let bytes = b"%PDF-1.7 declaration of conformity";
    let digest = json(check_document(bytes, "x"))["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    assert_eq!(digest.len(), 43, "base64url SHA-256");
    let ok = json(check_document(bytes, &digest));
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["code"], Value::Null);
    // One byte changed: refused with the stable code, never opened as the issuer's.
    let tampered = b"%PDF-1.7 declaration of conformitY";
    let bad = json(check_document(tampered, &digest));
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["code"], "document_digest_mismatch");
    assert_ne!(bad["digest"], Value::String(digest));
}
