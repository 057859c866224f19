//! The passport vectors in `tests/vectors/passports/`: every case's verdict, passport and
//! attestations stages, and every attestation result by topic, materials, outcome and code.

mod common;

use cellproof_core::{verify, Context, PassportChain, UnixTime};
use common::{case_stores, dir, read};
use serde_json::Value;

#[test]
fn every_passport_case_gets_its_expected_results() {
    let index: Value = serde_json::from_str(&read("passports/cases.json")).unwrap();
    let cases = index["cases"].as_array().unwrap();
    assert!(cases.len() >= 15, "found {} passport cases", cases.len());
    let mut failures = Vec::new();
    let mut codes = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (trust, status) = case_stores(case);
        let chain = PassportChain::from_json(&read(case["passport"].as_str().unwrap())).unwrap();
        let mut ctx = Context::new(&trust, &status, UnixTime(case["at"].as_u64().unwrap()));
        ctx.chain = Some(&chain);
        let v = verify(case["input"].as_str().unwrap(), &ctx);
        let got = serde_json::to_value(&v).unwrap();
        let want = &case["expected"];
        if got["overall"] != want["overall"] || got["code"] != want["code"] {
            failures.push(format!(
                "{name}: got {} / {}, want {} / {}",
                got["overall"], got["code"], want["overall"], want["code"]
            ));
        }
        for (stage, key) in [
            ("passport", "passport"),
            ("attestations", "attestations_stage"),
        ] {
            let s = got["stages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["stage"] == stage)
                .unwrap();
            if s["outcome"] != want[key] {
                failures.push(format!(
                    "{name}: stage {stage} got {} want {} ({})",
                    s["outcome"], want[key], s["message"]
                ));
            }
        }
        let got_results: Vec<Value> = v
            .attestations
            .iter()
            .map(|a| {
                serde_json::json!({"topic": a.topic, "materials": a.materials,
                    "outcome": serde_json::to_value(a.outcome).unwrap(), "code": a.code})
            })
            .collect();
        if Value::Array(got_results.clone()) != want["attestations"] {
            failures.push(format!(
                "{name}: attestations\n got  {}\n want {}",
                Value::Array(got_results),
                want["attestations"]
            ));
        }
        codes.extend(v.code);
        codes.extend(v.attestations.iter().filter_map(|a| a.code));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // One vector per passport and attestation code of SPEC.md 1.1 section 8.
    for code in [
        "digest_mismatch",
        "passport_chain_broken",
        "passport_issuer_mismatch",
        "passport_subject_mismatch",
        "passport_invalid",
        "attestation_out_of_scope",
        "recognition_out_of_scope",
        "attestation_subject_mismatch",
        "attestation_topic_mismatch",
        "attestation_nonconformant",
        "attestation_expired",
        "attestation_digest_mismatch",
        "revoked",
    ] {
        assert!(codes.contains(code), "no passport vector shows {code}");
    }
    let _ = dir();
}
