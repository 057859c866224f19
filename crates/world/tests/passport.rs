//! Full passports with versions and the attestations behind their claims (SPEC.md sections 3
//! and 7): the chain back to the label's `bp.dig`, certifier scope across Catena-X and Ouranos,
//! subjects, digests, validity and status, and the claims only declared.

use std::collections::BTreeMap;

use cellproof_core::{
    passport_digest, sha256_b64, topics, verify, AttestationOutcome, AttestationResult, Context,
    Overall, PassportChain, Purpose, Stage, StatusStore, TrustStore, UnixTime, Verdict,
};
use cellproof_world::{Listed, World, DAY, YEAR};
use serde_json::Value;

const T0: u64 = 1_796_083_200;
const URL: &str = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000123";
const CO_SUPPLIER: &str = "did:web:refinery.kobalt.example";
const LI_SUPPLIER: &str = "did:web:lithium.sanriku.example";
const NI_SUPPLIER: &str = "did:web:nickel.nordic.example";
const MODEL: &str = "urn:gtin:04012345000016";

struct Fixture {
    w: World,
    trust: TrustStore,
    status: StatusStore,
}

fn fixture() -> Fixture {
    let w = World::new("passport-test", "https://registry.example", T0);
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &w.root("catena-x").public());
    for r in trust.insert_all([
        w.sign_trust_list(&w.trust_list("catena-x")).as_str(),
        w.sign_trust_list(&w.trust_list("ouranos")).as_str(),
    ]) {
        r.unwrap();
    }
    let mut status = StatusStore::new();
    for p in Purpose::ALL {
        status
            .insert(&w.status_list(&w.acme, "3", p, &[], T0, T0 + DAY), &trust)
            .unwrap();
    }
    Fixture { w, trust, status }
}

fn listed(topic: &str, materials: &[&str], subject: &str, jws: String) -> Listed {
    Listed {
        topic: topic.into(),
        materials: materials.iter().map(|m| (*m).to_owned()).collect(),
        subject: subject.into(),
        jws,
    }
}

const VALID: (u64, u64) = (T0 - YEAR, T0 + YEAR);

/// The demo's four attestations: Co by a Catena-X certifier, Li by an Ouranos certifier that
/// Catena-X recognises for mineral sourcing, the carbon footprint and the recycled content.
fn four(f: &Fixture) -> Vec<Listed> {
    let w = &f.w;
    vec![
        listed(
            topics::SOURCING,
            &["Co"],
            CO_SUPPLIER,
            w.attestation(&w.certifier, CO_SUPPLIER, topics::SOURCING, &["Co"], VALID),
        ),
        listed(
            topics::SOURCING,
            &["Li"],
            LI_SUPPLIER,
            w.attestation(&w.jqa, LI_SUPPLIER, topics::SOURCING, &["Li"], VALID),
        ),
        listed(
            topics::CARBON,
            &[],
            URL,
            w.attestation(&w.certifier, URL, topics::CARBON, &[], VALID),
        ),
        listed(
            topics::RECYCLED,
            &["Co", "Li", "Ni"],
            MODEL,
            w.attestation(
                &w.certifier,
                MODEL,
                topics::RECYCLED,
                &["Co", "Li", "Ni"],
                VALID,
            ),
        ),
    ]
}

/// Versions 1 and 2 listing `list`, the label committing to version 1, verified.
fn run_with(f: &Fixture, list: &[Listed], edit: impl Fn(&mut PassportChain)) -> Verdict {
    let w = &f.w;
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, list, T0 - 40 * DAY),
    );
    let v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 2, Some(&v1), list, T0 - 10 * DAY),
    );
    let mut claims = w.reference_claims();
    if let Some(Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(&v1).into());
    }
    let label = w.issue(&w.acme, &claims, T0 - 30 * DAY).unwrap().url();
    let mut chain = PassportChain {
        events: Vec::new(),
        predecessors: Default::default(),
        versions: vec![v1, v2],
        attestations: list
            .iter()
            .map(|l| (sha256_b64(l.jws.as_bytes()), l.jws.clone()))
            .collect::<BTreeMap<_, _>>(),
    };
    edit(&mut chain);
    let mut ctx = Context::new(&f.trust, &f.status, UnixTime(T0 + 60));
    ctx.chain = Some(&chain);
    verify(&label, &ctx)
}

fn run(f: &Fixture, list: &[Listed]) -> Verdict {
    run_with(f, list, |_| {})
}

fn find<'a>(v: &'a Verdict, topic: &str, material: &str) -> &'a AttestationResult {
    v.attestations
        .iter()
        .find(|a| {
            a.topic == topic && (material.is_empty() || a.materials.iter().any(|m| m == material))
        })
        .unwrap_or_else(|| panic!("no result for {topic} {material}: {:#?}", v.attestations))
}

fn stage(v: &Verdict, s: Stage) -> (cellproof_core::Outcome, Option<&'static str>) {
    let r = v.stages.iter().find(|r| r.stage == s).unwrap();
    (r.outcome, r.code)
}

#[test]
fn a_two_version_passport_with_four_attestations_verifies() {
    let f = fixture();
    let v = run(&f, &four(&f));
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(
        stage(&v, Stage::Passport).0,
        cellproof_core::Outcome::Passed
    );
    assert_eq!(
        stage(&v, Stage::Attestations).0,
        cellproof_core::Outcome::Passed
    );
    let p = v.passport.as_ref().unwrap();
    assert_eq!(p.version, 2);
    assert_eq!(p.digests.len(), 2);
    let co = find(&v, topics::SOURCING, "Co");
    assert_eq!(co.outcome, AttestationOutcome::Verified);
    assert_eq!(co.eco.as_deref(), Some("catena-x"));
    let li = find(&v, topics::SOURCING, "Li");
    assert_eq!(li.outcome, AttestationOutcome::Verified, "{li:?}");
    assert_eq!(li.path.as_deref(), Some("ouranos, recognised by catena-x"));
    assert_eq!(
        li.issuer_name.as_deref(),
        Some("Japan Quality Assurance (example)")
    );
    assert_eq!(li.valid_until, Some(T0 + YEAR));
    assert_eq!(
        find(&v, topics::CARBON, "").outcome,
        AttestationOutcome::Verified
    );
    assert_eq!(
        find(&v, topics::RECYCLED, "Ni").outcome,
        AttestationOutcome::Verified
    );
    // Nickel's supplier has no certification listed: declared by the manufacturer only.
    let ni = find(&v, topics::SOURCING, "Ni");
    assert_eq!(ni.outcome, AttestationOutcome::Declared);
    assert_eq!(ni.subject.as_deref(), Some(NI_SUPPLIER));
    assert_eq!(
        find(&v, topics::CONFORMITY, "").outcome,
        AttestationOutcome::Declared
    );
    // Lead's recycled shares are 0 in the reference passport: nothing to declare.
    assert!(!v
        .attestations
        .iter()
        .any(|a| a.materials.iter().any(|m| m == "Pb")));
}

#[test]
fn a_passport_other_than_the_one_the_label_committed_to_is_digest_mismatch() {
    let f = fixture();
    let list = four(&f);
    let w = &f.w;
    // Another validly signed version 1 (different validFrom): the registry swapped it.
    let other = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, &list, T0 - 39 * DAY),
    );
    let v = run_with(&f, &list, |c| {
        c.versions = vec![other.clone()];
    });
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("digest_mismatch"));
    assert!(v.attestations.is_empty());
}

#[test]
fn a_version_that_does_not_name_its_predecessor_breaks_the_chain() {
    let f = fixture();
    let list = four(&f);
    let w = &f.w;
    let v = run_with(&f, &list, |c| {
        // Version 2 pointing at some other text, and a chain out of order.
        let forged = w.sign_vc(
            &w.acme,
            &w.passport(&w.acme, URL, 2, Some("x.y.z"), &list, T0),
        );
        c.versions[1] = forged;
    });
    assert_eq!(v.code, Some("passport_chain_broken"));
    let v = run_with(&f, &list, |c| c.versions.reverse());
    assert_eq!(v.code, Some("passport_chain_broken"));
    let v = run_with(&f, &list, |c| c.versions.truncate(1));
    assert_eq!(
        v.overall,
        Overall::Valid,
        "version 1 alone is a valid chain"
    );
}

#[test]
fn a_passport_signed_by_another_issuer_is_refused() {
    let f = fixture();
    let list = four(&f);
    let w = &f.w;
    let v = run_with(&f, &list, |c| {
        let mut p = w.passport(&w.denchi, URL, 2, Some(&c.versions[0]), &list, T0);
        p["issuer"] = w.denchi.did.clone().into();
        c.versions[1] = w.sign_vc(&w.denchi, &p);
    });
    assert_eq!(v.code, Some("passport_issuer_mismatch"));
    // ACME's DID in the passport but Denchi's key: the signature fails under ACME's key.
    let v = run_with(&f, &list, |c| {
        let p = w.passport(&w.acme, URL, 2, Some(&c.versions[0]), &list, T0);
        let forger = cellproof_world::Issuer {
            key: w.denchi.key.clone(),
            ..w.acme.clone()
        };
        c.versions[1] = w.sign_vc(&forger, &p);
    });
    assert_eq!(v.code, Some("signature_invalid"));
}

#[test]
fn a_passport_for_another_battery_is_refused() {
    let f = fixture();
    let list = four(&f);
    let w = &f.w;
    let v = run_with(&f, &list, |c| {
        let other = URL.replace("SN2026A000123", "SN2026A000999");
        c.versions[1] = w.sign_vc(
            &w.acme,
            &w.passport(&w.acme, &other, 2, Some(&c.versions[0]), &list, T0),
        );
    });
    assert_eq!(v.code, Some("passport_subject_mismatch"));
}

fn failed_code(v: &Verdict, topic: &str, material: &str) -> Option<&'static str> {
    let a = find(v, topic, material);
    assert_eq!(a.outcome, AttestationOutcome::Failed, "{a:?}");
    assert_eq!(
        v.overall,
        Overall::Valid,
        "attestations never fail the battery"
    );
    assert!(v.notices.iter().any(|n| n.code == "attestation_failed"));
    assert_eq!(
        stage(v, Stage::Attestations),
        (cellproof_core::Outcome::Notice, Some("attestation_failed"))
    );
    a.code
}

#[test]
fn a_certifier_accredited_for_cobalt_cannot_attest_lithium() {
    let f = fixture();
    let w = &f.w;
    let mut list = four(&f);
    list[1] = listed(
        topics::SOURCING,
        &["Li"],
        LI_SUPPLIER,
        w.attestation(&w.certifier, LI_SUPPLIER, topics::SOURCING, &["Li"], VALID),
    );
    let v = run(&f, &list);
    assert_eq!(
        failed_code(&v, topics::SOURCING, "Li"),
        Some("attestation_out_of_scope")
    );
}

#[test]
fn a_recognised_certifier_is_limited_to_the_recognitions_scope() {
    let f = fixture();
    let w = &f.w;
    // JQA is accredited in Ouranos for recycled lithium, but Catena-X recognises Ouranos
    // certifiers for mineral sourcing only.
    let mut list = four(&f);
    list[3] = listed(
        topics::RECYCLED,
        &["Li"],
        MODEL,
        w.attestation(&w.jqa, MODEL, topics::RECYCLED, &["Li"], VALID),
    );
    let v = run(&f, &list);
    assert_eq!(
        failed_code(&v, topics::RECYCLED, "Li"),
        Some("recognition_out_of_scope")
    );
}

#[test]
fn an_attestation_about_a_supplier_the_passport_does_not_name_is_refused() {
    let f = fixture();
    let w = &f.w;
    let other = "did:web:other-refinery.example";
    let mut list = four(&f);
    list[0] = listed(
        topics::SOURCING,
        &["Co"],
        other,
        w.attestation(&w.certifier, other, topics::SOURCING, &["Co"], VALID),
    );
    let v = run(&f, &list);
    assert_eq!(
        failed_code(&v, topics::SOURCING, "Co"),
        Some("attestation_subject_mismatch")
    );
    // Listed for the right supplier, but about another one.
    let mut list = four(&f);
    list[0].jws = w.attestation(&w.certifier, other, topics::SOURCING, &["Co"], VALID);
    let v = run(&f, &list);
    assert_eq!(
        failed_code(&v, topics::SOURCING, "Co"),
        Some("attestation_subject_mismatch")
    );
}

#[test]
fn an_attestation_swapped_under_a_listed_digest_is_refused() {
    let f = fixture();
    let list = four(&f);
    let swapped = list[2].jws.clone();
    let v = run_with(&f, &list, |c| {
        let key = sha256_b64(list[0].jws.as_bytes());
        c.attestations.insert(key, swapped.clone());
    });
    assert_eq!(
        failed_code(&v, topics::SOURCING, "Co"),
        Some("attestation_digest_mismatch")
    );
}

#[test]
fn expired_and_missing_attestations() {
    let f = fixture();
    let w = &f.w;
    let mut list = four(&f);
    list[2] = listed(
        topics::CARBON,
        &[],
        URL,
        w.attestation(
            &w.certifier,
            URL,
            topics::CARBON,
            &[],
            (T0 - 2 * YEAR, T0 - DAY),
        ),
    );
    let v = run(&f, &list);
    assert_eq!(
        failed_code(&v, topics::CARBON, ""),
        Some("attestation_expired")
    );
    // Dated a month ahead: not valid yet.
    list[2] = listed(
        topics::CARBON,
        &[],
        URL,
        w.attestation(
            &w.certifier,
            URL,
            topics::CARBON,
            &[],
            (T0 + 30 * DAY, T0 + YEAR),
        ),
    );
    let v = run(&f, &list);
    assert_eq!(
        failed_code(&v, topics::CARBON, ""),
        Some("attestation_expired")
    );
    // Dated in 2100: past the certifier key's window, so not the certifier's at all.
    list[2] = listed(
        topics::CARBON,
        &[],
        URL,
        w.attestation(
            &w.certifier,
            URL,
            topics::CARBON,
            &[],
            (4_102_444_800, 4_102_444_800 + YEAR),
        ),
    );
    let v = run(&f, &list);
    assert_eq!(
        failed_code(&v, topics::CARBON, ""),
        Some("key_not_valid_at_iat")
    );
    // Not held (offline without a pack): not checked, and the battery is still valid.
    let list = four(&f);
    let v = run_with(&f, &list, |c| c.attestations.clear());
    assert_eq!(v.overall, Overall::Valid);
    assert!(v
        .attestations
        .iter()
        .filter(|a| a.digest.is_some())
        .all(|a| a.outcome == AttestationOutcome::NotChecked));
}

#[test]
fn a_revoked_certification_fails_its_topic() {
    let mut f = fixture();
    let w = &f.w;
    let status_url = format!("{}1", w.status_base(&w.certifier));
    let revoked = w.status_list(&w.certifier, "1", Purpose::Revocation, &[42], T0, T0 + DAY);
    f.status.insert(&revoked, &f.trust).unwrap();
    let payload = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "ConformityAttestation"],
        "issuer": w.certifier.did,
        "validFrom": cellproof_core::format_rfc3339(T0 - YEAR),
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                             "statusListIndex": "42", "statusListCredential": status_url},
        "credentialSubject": {"id": CO_SUPPLIER, "assessment": [
            {"topic": topics::SOURCING, "materials": ["Co"], "conformance": true}]}
    });
    let mut list = four(&f);
    list[0].jws = cellproof_core::sign_json(cellproof_core::Typ::Vc, &payload, &w.certifier.key);
    let v = run(&f, &list);
    assert_eq!(failed_code(&v, topics::SOURCING, "Co"), Some("revoked"));
    // Index 43 is clear: verified.
    let payload = serde_json::to_string(&payload)
        .unwrap()
        .replace("\"42\"", "\"43\"");
    list[0].jws = cellproof_core::sign_json(
        cellproof_core::Typ::Vc,
        &serde_json::from_str(&payload).unwrap(),
        &w.certifier.key,
    );
    let v = run(&f, &list);
    assert_eq!(
        find(&v, topics::SOURCING, "Co").outcome,
        AttestationOutcome::Verified
    );
}

#[test]
fn documents_open_only_when_their_digest_matches() {
    let doc = b"%PDF-1.7 declaration of conformity";
    let digest = sha256_b64(doc);
    assert!(cellproof_core::check_document(doc, &digest).is_ok());
    let e = cellproof_core::check_document(b"%PDF-1.7 something else", &digest).unwrap_err();
    assert_eq!(e.code(), "document_digest_mismatch");
}

#[test]
fn passport_chain_json_is_read_strictly() {
    let ok =
        PassportChain::from_json(r#"{"versions":["a.b.c"],"attestations":{"d":"x.y.z"}}"#).unwrap();
    assert_eq!(ok.versions.len(), 1);
    for bad in [
        r#"{"versions":[]}"#,
        r#"{"versions":"a.b.c"}"#,
        r#"{"versions":["a"],"versions":["b"]}"#,
        r#"{"versions":["a"],"attestations":{"d":1}}"#,
        "[]",
    ] {
        assert!(PassportChain::from_json(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_registry_stores_only_the_next_version_of_a_passport() {
    use cellproof_core::check_passport_upload as upload;
    let f = fixture();
    let w = &f.w;
    let list = four(&f);
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, &list, T0 - 40 * DAY),
    );
    let v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 2, Some(&v1), &list, T0 - 10 * DAY),
    );
    let now = T0 + 60;
    let c1 = upload(&v1, &[], &f.trust, now).unwrap();
    assert_eq!((c1.version, c1.link.serial.as_str()), (1, "SN2026A000123"));
    assert_eq!(c1.listed.len(), 4);
    assert_eq!(c1.eco, "catena-x");
    assert_eq!(
        upload(&v2, std::slice::from_ref(&v1), &f.trust, now)
            .unwrap()
            .version,
        2
    );
    let code =
        |r: Result<cellproof_core::CheckedPassport, cellproof_core::Error>| r.unwrap_err().code();
    // Version 2 with nothing held, version 1 again, and a fork of version 2.
    assert_eq!(
        code(upload(&v2, &[], &f.trust, now)),
        "passport_chain_broken"
    );
    assert_eq!(
        code(upload(&v1, std::slice::from_ref(&v1), &f.trust, now)),
        "passport_chain_broken"
    );
    let fork = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 2, Some(&v1), &list, T0 - 9 * DAY),
    );
    assert_eq!(
        code(upload(&fork, &[v1.clone(), v2.clone()], &f.trust, now)),
        "passport_chain_broken"
    );
    // Nippon Denchi cannot upload a passport for ACME's GTIN.
    let mut p = w.passport(&w.denchi, URL, 1, None, &list, T0);
    p["issuer"] = w.denchi.did.clone().into();
    assert_eq!(
        code(upload(&w.sign_vc(&w.denchi, &p), &[], &f.trust, now)),
        "gtin_not_issuer"
    );
    // Nor continue ACME's chain under its own name for its own GTIN range... or ACME's.
    let gtin = cellproof_core::gtin_with_check_digit("0458901200001").unwrap();
    let denchi_url = format!("https://id.denchi.example/01/{gtin}/21/X1");
    let mut p = w.passport(&w.denchi, &denchi_url, 1, None, &[], T0);
    p["issuer"] = w.denchi.did.clone().into();
    let own = w.sign_vc(&w.denchi, &p);
    assert_eq!(
        code(upload(&own, std::slice::from_ref(&v1), &f.trust, now)),
        "passport_issuer_mismatch"
    );
    // A forged signature under ACME's name.
    let forger = cellproof_world::Issuer {
        key: w.denchi.key.clone(),
        ..w.acme.clone()
    };
    let forged = w.sign_vc(&forger, &w.passport(&w.acme, URL, 1, None, &list, T0));
    assert_eq!(
        code(upload(&forged, &[], &f.trust, now)),
        "signature_invalid"
    );
}

#[test]
fn the_registry_stores_attestations_only_within_scope() {
    use cellproof_core::check_attestation_upload as upload;
    let f = fixture();
    let w = &f.w;
    let now = T0 + 60;
    let ok = upload(
        &w.attestation(&w.jqa, LI_SUPPLIER, topics::SOURCING, &["Li"], VALID),
        &f.trust,
        now,
    )
    .unwrap();
    assert_eq!(
        (ok.eco.as_str(), ok.subject.as_str()),
        ("ouranos", LI_SUPPLIER)
    );
    let code = |jws: String| upload(&jws, &f.trust, now).unwrap_err().code();
    assert_eq!(
        code(w.attestation(&w.certifier, LI_SUPPLIER, topics::SOURCING, &["Li"], VALID)),
        "attestation_out_of_scope"
    );
    assert_eq!(
        code(w.attestation(&w.jqa, MODEL, topics::RECYCLED, &["Li"], VALID)),
        "recognition_out_of_scope"
    );
    // A manufacturer is no certifier.
    assert_eq!(
        code(w.attestation(&w.acme, CO_SUPPLIER, topics::SOURCING, &["Co"], VALID)),
        "role_missing"
    );
}

/// Regression (issue 16, silent truncation): `credentialStatus` entries past the 8th were
/// skipped, so a passport whose 9th entry is revoked verified `valid`. Now more than
/// `MAX_STATUS_ENTRIES` is refused whole with `limit_exceeded`; the same revoked entry within
/// the limit is `revoked`.
#[test]
fn a_passport_whose_ninth_status_entry_is_revoked_is_not_valid() {
    let mut f = fixture();
    let w = &f.w;
    let list_url = format!("{}3", w.status_base(&w.acme));
    // A newer revocation list 3 with index 42 set.
    let revoked = w.status_list(&w.acme, "3", Purpose::Revocation, &[42], T0 + 1, T0 + DAY);
    f.status.insert(&revoked, &f.trust).unwrap();
    let entry = |i: u64| {
        serde_json::json!({"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                           "statusListIndex": i.to_string(), "statusListCredential": list_url})
    };
    let run_entries = |entries: Vec<Value>| {
        let mut p = w.passport(&w.acme, URL, 1, None, &[], T0 - 40 * DAY);
        p["credentialStatus"] = Value::Array(entries);
        let v1 = w.sign_vc(&w.acme, &p);
        let mut claims = w.reference_claims();
        if let Some(Value::Object(bp)) = claims.get_mut("bp") {
            bp.insert("dig".into(), passport_digest(&v1).into());
        }
        let label = w.issue(&w.acme, &claims, T0 - 30 * DAY).unwrap().url();
        let chain = PassportChain {
            events: Vec::new(),
            predecessors: Default::default(),
            versions: vec![v1],
            attestations: BTreeMap::new(),
        };
        let mut ctx = Context::new(&f.trust, &f.status, UnixTime(T0 + 60));
        ctx.chain = Some(&chain);
        verify(&label, &ctx)
    };
    // Eight clear entries and the revoked one ninth.
    let mut nine: Vec<Value> = (1..=8).map(entry).collect();
    nine.push(entry(42));
    let v = run_entries(nine);
    assert_ne!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(stage(&v, Stage::Passport).1, Some("limit_exceeded"));
    assert_eq!(v.code, Some("limit_exceeded"));
    // Within the limit the revoked entry decides.
    let mut eight: Vec<Value> = (1..=7).map(entry).collect();
    eight.push(entry(42));
    let v = run_entries(eight);
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(stage(&v, Stage::Passport).1, Some("revoked"));
    // And eight clear entries pass.
    let v = run_entries((1..=8).map(entry).collect());
    assert_eq!(
        stage(&v, Stage::Passport).0,
        cellproof_core::Outcome::Passed
    );
}

/// Regression (issue 16): assessments past the 64th were skipped, so one outside the
/// certifier's accreditation could hide there. 65 are refused with `limit_exceeded`, at upload
/// and by a verifier; a passport listing 65 attestations is refused too.
#[test]
fn sixty_five_assessments_or_listings_are_refused_with_the_code() {
    use cellproof_core::{check_attestation_upload, MAX_ASSESSMENTS, MAX_LISTINGS};
    let f = fixture();
    let w = &f.w;
    let assessment =
        serde_json::json!({"topic": topics::SOURCING, "materials": ["Co"], "conformance": true});
    let with = |n: usize| {
        let payload = serde_json::json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "ConformityAttestation"],
            "issuer": w.certifier.did,
            "validFrom": cellproof_core::format_rfc3339(T0 - YEAR),
            "credentialSubject": {"id": CO_SUPPLIER,
                                  "assessment": vec![assessment.clone(); n]}
        });
        cellproof_core::sign_json(cellproof_core::Typ::Vc, &payload, &w.certifier.key)
    };
    assert!(check_attestation_upload(&with(MAX_ASSESSMENTS), &f.trust, T0).is_ok());
    let e = check_attestation_upload(&with(MAX_ASSESSMENTS + 1), &f.trust, T0).unwrap_err();
    assert_eq!(e.code(), "limit_exceeded", "{e}");
    // A verifier reading the same attestation under a listing fails its topic with the code.
    let mut list = four(&f);
    list[0].jws = with(MAX_ASSESSMENTS + 1);
    let v = run(&f, &list);
    assert_eq!(
        failed_code(&v, topics::SOURCING, "Co"),
        Some("limit_exceeded")
    );
    // 65 listings: the passport itself is refused, not its first 64 read.
    let many: Vec<Listed> = (0..=MAX_LISTINGS).map(|_| four(&f).remove(2)).collect();
    let v = run(&f, &many);
    assert_eq!(stage(&v, Stage::Passport).1, Some("limit_exceeded"));
    assert_ne!(v.overall, Overall::Valid);
}

/// Version 1 given as a payload (edited as a test needs), signed by ACME, the label committing
/// to it, verified with `list`'s attestations held.
fn run_payload(f: &Fixture, p: &Value, list: &[Listed]) -> Verdict {
    let w = &f.w;
    let v1 = w.sign_vc(&w.acme, p);
    let mut claims = w.reference_claims();
    if let Some(Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(&v1).into());
    }
    let label = w.issue(&w.acme, &claims, T0 - 30 * DAY).unwrap().url();
    let chain = PassportChain {
        events: Vec::new(),
        predecessors: Default::default(),
        versions: vec![v1],
        attestations: list
            .iter()
            .map(|l| (sha256_b64(l.jws.as_bytes()), l.jws.clone()))
            .collect(),
    };
    let mut ctx = Context::new(&f.trust, &f.status, UnixTime(T0 + 60));
    ctx.chain = Some(&chain);
    verify(&label, &ctx)
}

/// Regression (issue 16, silent truncation): `check_passport_upload` dropped a listing without
/// `hashDigest` from what it recorded, and a number among a listing's `materials` was skipped
/// (the listing then read as one for fewer materials) at upload and by a verifier. Now the
/// upload is refused with `passport_invalid` naming the listing, and a verifier reports the
/// listing `failed` with `attestation_invalid` (SPEC.md section 7), never omits or narrows it.
#[test]
fn a_malformed_listing_is_refused_at_upload_and_failed_by_a_verifier() {
    use cellproof_core::check_passport_upload as upload;
    let f = fixture();
    let w = &f.w;
    let list = four(&f);
    let now = T0 + 60;
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut p = w.passport(&w.acme, URL, 1, None, &list, T0 - 40 * DAY);
        edit(&mut p["credentialSubject"]["attestations"][1]);
        p
    };
    let no_digest = edited(&|l| {
        l.as_object_mut().unwrap().remove("hashDigest");
    });
    let number = edited(&|l| l["materials"] = serde_json::json!(["Li", 3]));
    let not_array = edited(&|l| l["materials"] = "Li".into());
    for p in [&no_digest, &number, &not_array] {
        let e = upload(&w.sign_vc(&w.acme, p), &[], &f.trust, now).unwrap_err();
        assert_eq!(e.code(), "passport_invalid", "{e}");
        assert!(e.to_string().contains("attestations[1]"), "{e}");
    }
    // A verifier: the listing is failed with the code, the other three still verified.
    for p in [&no_digest, &number, &not_array] {
        let v = run_payload(&f, p, &list);
        // One result per listing (the bad one among them), plus Li declared: a listing that
        // cannot be read covers no claim.
        let listed = v
            .attestations
            .iter()
            .filter(|a| a.outcome != AttestationOutcome::Declared)
            .count();
        assert_eq!(listed, 4, "{:#?}", v.attestations);
        let bad: Vec<_> = v
            .attestations
            .iter()
            .filter(|a| a.outcome == AttestationOutcome::Failed)
            .collect();
        assert_eq!(bad.len(), 1, "{:#?}", v.attestations);
        assert_eq!(bad[0].topic, topics::SOURCING);
        assert_eq!(bad[0].code, Some("attestation_invalid"));
        assert!(
            bad[0]
                .message
                .as_deref()
                .unwrap()
                .contains("attestations[1]"),
            "{:?}",
            bad[0].message
        );
        assert_eq!(
            find(&v, topics::SOURCING, "Co").outcome,
            AttestationOutcome::Verified
        );
    }
}

/// Regression (issue 16): a number among an assessment's `materials`, or an assessment that is
/// no object or has no topic, was skipped, so an attestation read as covering less than it
/// signed. It is refused with `attestation_invalid` at upload and failed by a verifier.
#[test]
fn a_malformed_assessment_is_refused_at_upload_and_failed_by_a_verifier() {
    use cellproof_core::check_attestation_upload;
    let f = fixture();
    let w = &f.w;
    let with = |assessment: Value| {
        let payload = serde_json::json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "ConformityAttestation"],
            "issuer": w.certifier.did,
            "validFrom": cellproof_core::format_rfc3339(T0 - YEAR),
            "credentialSubject": {"id": CO_SUPPLIER, "assessment": [
                {"topic": topics::SOURCING, "materials": ["Co"], "conformance": true},
                assessment]}
        });
        cellproof_core::sign_json(cellproof_core::Typ::Vc, &payload, &w.certifier.key)
    };
    let good = with(
        serde_json::json!({"topic": topics::SOURCING, "materials": ["Co"], "conformance": true}),
    );
    assert!(check_attestation_upload(&good, &f.trust, T0).is_ok());
    for bad in [
        serde_json::json!({"topic": topics::SOURCING, "materials": ["Co", 7], "conformance": true}),
        serde_json::json!({"materials": ["Co"], "conformance": true}),
        serde_json::json!("sourcing.due-diligence"),
    ] {
        let jws = with(bad);
        let e = check_attestation_upload(&jws, &f.trust, T0).unwrap_err();
        assert_eq!(e.code(), "attestation_invalid", "{e}");
        assert!(e.to_string().contains("assessment[1]"), "{e}");
        let mut list = four(&f);
        list[0].jws = jws;
        let v = run(&f, &list);
        assert_eq!(
            failed_code(&v, topics::SOURCING, "Co"),
            Some("attestation_invalid")
        );
    }
}

/// Regression (issue 16): a `materialsProvenance` entry without a string `material` was
/// skipped (its declared sourcing claim vanished from the verdict) and a `passportIdentifier`
/// that is no string was read as absent. Both are `passport_invalid`, at upload and by a
/// verifier, so what the registry stores is what verifiers accept.
#[test]
fn an_unreadable_provenance_entry_or_identifier_is_passport_invalid() {
    use cellproof_core::check_passport_upload as upload;
    let f = fixture();
    let w = &f.w;
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut p = w.passport(&w.acme, URL, 1, None, &[], T0 - 40 * DAY);
        edit(&mut p["credentialSubject"]);
        p
    };
    let cases = [
        edited(&|cs| cs["materialsProvenance"][1]["material"] = 3.into()),
        edited(&|cs| cs["materialsProvenance"][0]["supplier"] = serde_json::json!({"id": 1})),
        edited(&|cs| cs["materialsProvenance"] = "Co".into()),
        edited(&|cs| cs["metadata"]["passportIdentifier"] = 5.into()),
    ];
    for p in &cases {
        let e = upload(&w.sign_vc(&w.acme, p), &[], &f.trust, T0 + 60).unwrap_err();
        assert_eq!(e.code(), "passport_invalid", "{e}");
        let v = run_payload(&f, p, &[]);
        assert_eq!(
            stage(&v, Stage::Passport),
            (cellproof_core::Outcome::Failed, Some("passport_invalid")),
            "{v:#?}"
        );
    }
    // The unedited passport passes both, so the edits are what is refused.
    let p = edited(&|_| {});
    assert!(upload(&w.sign_vc(&w.acme, &p), &[], &f.trust, T0 + 60).is_ok());
    let v = run_payload(&f, &p, &[]);
    assert_eq!(
        stage(&v, Stage::Passport).0,
        cellproof_core::Outcome::Passed
    );
    assert!(v
        .attestations
        .iter()
        .any(|a| a.topic == topics::SOURCING && a.outcome == AttestationOutcome::Declared));
}

/// A passport's `credentialStatus` entry naming one purpose and pointing at a list of another
/// (SPEC.md sections 5 and 1.2 3.4): a `revocation` entry at the battery's `-lifecycle` list,
/// whose entry holds `repurposed` (0x1). Before, the three bits read as a set revocation bit
/// and a genuine, repurposed battery's passport was `revoked`; a list of another purpose now
/// says nothing for the entry.
#[test]
fn a_status_entry_pointing_at_a_list_of_another_purpose_is_not_read_as_that_purpose() {
    let mut f = fixture();
    let w = &f.w;
    let lifecycle_url = Purpose::Lifecycle.list_url(&w.status_base(&w.acme), "3");
    let list = w.lifecycle_list(&w.acme, "3", &[(42, 1)], T0, T0 + DAY);
    f.status.insert(&list, &f.trust).unwrap();
    let mut p = w.passport(&w.acme, URL, 1, None, &[], T0 - 40 * DAY);
    p["credentialStatus"] = serde_json::json!([{"type": "BitstringStatusListEntry",
        "statusPurpose": "revocation", "statusListIndex": "42",
        "statusListCredential": lifecycle_url}]);
    let v1 = w.sign_vc(&w.acme, &p);
    let mut claims = w.reference_claims();
    if let Some(Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(&v1).into());
    }
    let label = w.issue(&w.acme, &claims, T0 - 30 * DAY).unwrap().url();
    let chain = PassportChain {
        versions: vec![v1],
        ..Default::default()
    };
    let mut ctx = Context::new(&f.trust, &f.status, UnixTime(T0 + 60));
    ctx.chain = Some(&chain);
    let v = verify(&label, &ctx);
    assert_ne!(stage(&v, Stage::Passport).1, Some("revoked"), "{v:#?}");
    assert_eq!(v.overall, Overall::Valid, "{:?}", v.code);
}
