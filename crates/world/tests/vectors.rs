//! The verification vectors in `tests/vectors/`: the generator's output must not drift, and the
//! verifier must give every case's expected verdict, code and per-stage outcomes.

mod common;

use cellproof_core::{verify, Context, UnixTime};
use cellproof_world::generate_vectors;
use common::{case, case_stores, cases, dir};

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
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "expected the full case set, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut codes_seen = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let (trust, status) = case_stores(case);
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
    // Lists in the case's order: catena-x first, accepted once ouranos' recognition is known.
    let case = case("recognised-by-ouranos");
    assert_eq!(case["trust_lists"][0], "trust-lists/catena-x.jws");
    let (trust, status) = case_stores(&case);
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
