//! Google Wycheproof Ed25519 vectors through `verify_ed25519_strict`, the signature check the
//! JWS verifier uses (webpki's `x509_limbo.rs` style: the suite as it is, an exceptions file
//! with a reason per entry, and outcome counts printed).

// The test reads the suite's files; the core itself does no I/O (crates/core/clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use cellproof_core::{verify_ed25519_many, verify_ed25519_strict};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/wycheproof")
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex in vector: {e}"))
}

fn run(file: &str, exceptions: &BTreeMap<String, String>) -> (usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(dir().join(file)).unwrap();
    let suite: Value = serde_json::from_str(&text).unwrap();
    let (mut passed, mut excepted, mut failures) = (0, 0, Vec::new());
    for group in suite["testGroups"].as_array().unwrap() {
        // The two files name the key differently: publicKey.pk or key.pk.
        let pk = group["publicKey"]["pk"]
            .as_str()
            .or(group["key"]["pk"].as_str())
            .unwrap();
        let pk = hex(pk);
        for t in group["tests"].as_array().unwrap() {
            let id = format!("{file}#{}", t["tcId"]);
            let expected = t["result"].as_str().unwrap();
            let got = verify_ed25519_strict(
                &pk,
                &hex(t["msg"].as_str().unwrap()),
                &hex(t["sig"].as_str().unwrap()),
            );
            // "acceptable" would let either outcome pass; the suites here use valid/invalid only.
            let ok = match expected {
                "valid" => got.is_ok(),
                "invalid" => got.is_err(),
                other => panic!("{id}: unknown result {other}"),
            };
            match (ok, exceptions.get(&id)) {
                (true, None) => passed += 1,
                (false, Some(_)) => excepted += 1,
                (true, Some(_)) => failures.push(format!(
                    "{id}: listed as an exception but now agrees; remove it"
                )),
                (false, None) => failures.push(format!(
                    "{id}: expected {expected}, got {got:?} ({})",
                    t["comment"]
                )),
            }
        }
    }
    (passed, excepted, failures)
}

#[test]
fn wycheproof_ed25519_vectors() {
    let exceptions: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir().join("exceptions.json")).unwrap())
            .unwrap();
    let mut total = 0;
    let mut all_failures = Vec::new();
    for file in ["wycheproof_ed25519_test.json", "wycheproof_eddsa_test.json"] {
        let (passed, excepted, failures) = run(file, &exceptions);
        println!(
            "{file}: {passed} agree, {excepted} known exceptions, {} disagree",
            failures.len()
        );
        total += passed + excepted;
        all_failures.extend(failures);
    }
    assert!(all_failures.is_empty(), "{}", all_failures.join("\n"));
    assert_eq!(total, 295, "every vector of both files ran");
}

/// The batch path must never accept what strict verification rejects: run every vector of a
/// file through one `verify_ed25519_many` call (valid and invalid mixed, so the batch fails and
/// falls back) and through batches of the valid ones only, and compare with one by one.
#[test]
fn wycheproof_batch_path_equals_strict() {
    for file in ["wycheproof_ed25519_test.json", "wycheproof_eddsa_test.json"] {
        let text = std::fs::read_to_string(dir().join(file)).unwrap();
        let suite: Value = serde_json::from_str(&text).unwrap();
        let mut owned = Vec::new();
        for group in suite["testGroups"].as_array().unwrap() {
            let pk = hex(group["publicKey"]["pk"]
                .as_str()
                .or(group["key"]["pk"].as_str())
                .unwrap());
            for t in group["tests"].as_array().unwrap() {
                owned.push((
                    pk.clone(),
                    hex(t["msg"].as_str().unwrap()),
                    hex(t["sig"].as_str().unwrap()),
                ));
            }
        }
        let items: Vec<(&[u8], &[u8], &[u8])> = owned
            .iter()
            .map(|(p, m, s)| (p.as_slice(), m.as_slice(), s.as_slice()))
            .collect();
        let single: Vec<_> = items
            .iter()
            .map(|(p, m, s)| verify_ed25519_strict(p, m, s))
            .collect();
        assert_eq!(verify_ed25519_many(&items), single, "{file}: mixed batch");
        let valid: Vec<_> = items
            .iter()
            .zip(&single)
            .filter(|(_, r)| r.is_ok())
            .map(|(i, _)| *i)
            .collect();
        assert!(valid.len() > 50);
        assert!(
            verify_ed25519_many(&valid).iter().all(Result::is_ok),
            "{file}: all-valid batch"
        );
    }
}
