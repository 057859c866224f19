//! The verification vectors in `tests/vectors/`: the generator's output must not drift, and the
//! verifier must give every case's expected verdict, code and per-stage outcomes.

use std::path::PathBuf;

use cellproof_core::{verify, Context, PublicKey, StatusStore, TrustStore, UnixTime};
use cellproof_world::generate_vectors;
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(dir().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// Guards against the checked-in vectors and the generator going apart (webpki `testgen.yml`).
#[test]
fn generator_output_has_not_drifted() {
    let mut drifted = Vec::new();
    for f in generate_vectors().unwrap() {
        match std::fs::read_to_string(dir().join(&f.path)) {
            Ok(on_disk) if on_disk == f.content => {}
            _ => drifted.push(f.path),
        }
    }
    assert!(
        drifted.is_empty(),
        "run `cargo xtask vectors`; these files differ: {drifted:?}"
    );
}

#[test]
fn every_case_gets_its_expected_verdict() {
    let cases: Value = serde_json::from_str(&read("cases.json")).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 30,
        "expected the full case set, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut codes_seen = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut trust = TrustStore::new();
        for (eco, path) in case["roots"].as_object().unwrap() {
            let jwk: Value = serde_json::from_str(&read(path.as_str().unwrap())).unwrap();
            trust.pin_root(eco, &PublicKey::from_jwk(&jwk).unwrap());
        }
        let lists: Vec<String> = case["trust_lists"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| read(p.as_str().unwrap()))
            .collect();
        for r in trust.insert_all(lists.iter().map(String::as_str)) {
            r.unwrap_or_else(|e| panic!("{name}: trust list refused: {e}"));
        }
        let mut status = StatusStore::new();
        for p in case["status_lists"].as_array().unwrap() {
            status
                .insert(&read(p.as_str().unwrap()), &trust)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let ctx = Context::new(&trust, &status, UnixTime(case["at"].as_u64().unwrap()));
        let v = verify(case["input"].as_str().unwrap(), &ctx);
        let got = serde_json::to_value(&v).unwrap();
        let want = &case["expected"];
        if got["overall"] != want["overall"] || got["code"] != want["code"] {
            failures.push(format!(
                "{name}: got {} / {}, want {} / {}",
                got["overall"], got["code"], want["overall"], want["code"]
            ));
        }
        for stage in got["stages"].as_array().unwrap() {
            let s = stage["stage"].as_str().unwrap();
            if stage["outcome"] != want["stages"][s] {
                failures.push(format!(
                    "{name}: stage {s} got {} want {} ({})",
                    stage["outcome"], want["stages"][s], stage["message"]
                ));
            }
        }
        if let Some(c) = v.code {
            codes_seen.insert(c);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every verdict-level code of SPEC.md section 8 that a vector can show is shown.
    for code in [
        "signature_invalid",
        "issuer_unknown",
        "key_not_valid_at_iat",
        "role_missing",
        "trust_list_stale",
        "sub_mismatch",
        "expired",
        "not_yet_valid",
        "revoked",
        "suspended",
        "status_unknown",
        "status_stale",
        "status_index_out_of_range",
        "typ_unexpected",
        "alg_unsupported",
        "fragment_not_numeric",
        "base64url_invalid",
        "inflate_too_large",
        "json_duplicate_member",
    ] {
        assert!(codes_seen.contains(code), "no vector decides with {code}");
    }
}

#[test]
fn recognised_path_is_named_in_the_verdict() {
    let cases: Value = serde_json::from_str(&read("cases.json")).unwrap();
    let case = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "recognised-by-ouranos")
        .unwrap();
    let mut trust = TrustStore::new();
    let jwk: Value = serde_json::from_str(&read("roots/ouranos.jwk")).unwrap();
    trust.pin_root("ouranos", &PublicKey::from_jwk(&jwk).unwrap());
    // catena-x first: it can only be accepted once ouranos' recognition is known.
    let lists = [
        read("trust-lists/catena-x.jws"),
        read("trust-lists/ouranos.jws"),
    ];
    for r in trust.insert_all(lists.iter().map(String::as_str)) {
        r.unwrap();
    }
    let mut status = StatusStore::new();
    for p in case["status_lists"].as_array().unwrap() {
        status.insert(&read(p.as_str().unwrap()), &trust).unwrap();
    }
    let v = verify(
        case["input"].as_str().unwrap(),
        &Context::new(&trust, &status, UnixTime(case["at"].as_u64().unwrap())),
    );
    let issuer = v.issuer.expect("issuer");
    assert_eq!(issuer.path, "catena-x, recognised by ouranos");
    assert_eq!(issuer.recognized_by.as_deref(), Some("ouranos"));
    assert_eq!(issuer.name, "ACME Cells GmbH");
    assert_eq!(
        v.data.iter().filter(|d| d.kind == "trust_list").count(),
        2,
        "both lists' ages are reported"
    );
}
