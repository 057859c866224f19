//! Inspectors (SPEC.md sections 6.3 and 6.4, `docs/inspection.md`): restricted sections and
//! who may read which tier, inspection reports sealed over a verdict and re-checked later from
//! their evidence pack alone, and the attacks on each.

use std::collections::BTreeMap;

use cellproof_core::{
    assemble_report, check_report_upload, check_restricted_upload, passport_digest, readable_tiers,
    report_payload, report_signing_input, seal_report, sha256_b64, sign_json, topics, verify,
    verify_report, verify_restricted, Artifacts, Context, EvidencePack, Hint, KeyPair, Overall,
    PassportChain, PublicKey, Purpose, ReportCheck, StatusStore, Tier, TrustStore, Typ, UnixTime,
    Verdict,
};
use cellproof_world::{derive_key, Listed, World, DAY, YEAR};
use serde_json::Value;

const T0: u64 = 1_796_083_200;
const URL: &str = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000123";
const CO_SUPPLIER: &str = "did:web:refinery.kobalt.example";
const VALID: (u64, u64) = (T0 - YEAR, T0 + YEAR);
/// When the inspector scanned the label.
const SCAN_AT: u64 = T0 + 60;

struct Fixture {
    w: World,
    trust: TrustStore,
    status: StatusStore,
    label: String,
    chain: PassportChain,
}

fn fixture() -> Fixture {
    let w = World::new("inspection-test", "https://registry.example", T0);
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &w.root("catena-x").public());
    for r in trust.insert_all(w.signed_trust_lists().iter().map(String::as_str)) {
        r.unwrap();
    }
    let mut status = StatusStore::new();
    for p in Purpose::ALL {
        status
            .insert(&w.status_list(&w.acme, "3", p, &[], T0, T0 + DAY), &trust)
            .unwrap();
    }
    let listed = vec![
        Listed {
            topic: topics::SOURCING.into(),
            materials: vec!["Co".into()],
            subject: CO_SUPPLIER.into(),
            jws: w.attestation(&w.certifier, CO_SUPPLIER, topics::SOURCING, &["Co"], VALID),
        },
        Listed {
            topic: topics::CARBON.into(),
            materials: vec![],
            subject: URL.into(),
            jws: w.attestation(&w.certifier, URL, topics::CARBON, &[], VALID),
        },
    ];
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, &listed, T0 - 40 * DAY),
    );
    let v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 2, Some(&v1), &listed, T0 - 10 * DAY),
    );
    let mut claims = w.reference_claims();
    if let Some(Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(&v1).into());
    }
    let label = w.issue(&w.acme, &claims, T0 - 30 * DAY).unwrap().url();
    let chain = PassportChain {
        events: Vec::new(),
        predecessors: Default::default(),
        versions: vec![v1, v2],
        attestations: listed
            .iter()
            .map(|l| (sha256_b64(l.jws.as_bytes()), l.jws.clone()))
            .collect::<BTreeMap<_, _>>(),
    };
    Fixture {
        w,
        trust,
        status,
        label,
        chain,
    }
}

impl Fixture {
    fn verdict(&self, now: u64) -> Verdict {
        let mut ctx = Context::new(&self.trust, &self.status, UnixTime(now));
        ctx.chain = Some(&self.chain);
        verify(&self.label, &ctx)
    }

    fn artifacts(&self, v: &Verdict) -> Artifacts {
        Artifacts::used(&self.label, v, &self.trust, &self.status, Some(&self.chain))
    }

    /// A report sealed by the world's inspector at `SCAN_AT`, and its pack.
    fn sealed(&self) -> (String, EvidencePack) {
        let v = self.verdict(SCAN_AT);
        assert_eq!(v.overall, Overall::Valid, "{v:#?}");
        self.w
            .inspection_report(&self.artifacts(&v), &v, &[], SCAN_AT + 5)
            .unwrap()
    }

    /// The report checked by a verifier holding what the inspector held.
    fn check(&self, report: &str, pack: &EvidencePack) -> ReportCheck {
        verify_report(
            report,
            Some(pack),
            &self.trust,
            &self.status,
            UnixTime(T0 + 200 * DAY),
        )
    }

    fn section(&self, tier: Tier) -> String {
        self.w
            .restricted_section(&self.w.acme, URL, tier, T0 - 5 * DAY)
    }
}

/// A verifier's trust store with only these roots pinned.
fn pins(roots: &[(String, PublicKey)]) -> TrustStore {
    let mut t = TrustStore::new();
    for (eco, key) in roots {
        t.pin_root(eco, key);
    }
    t
}

fn codes(c: &ReportCheck) -> Vec<&'static str> {
    c.problems.iter().map(|p| p.code).collect()
}

/// A payload's JSON, edited and signed again with `key`.
fn resign(jws: &str, key: &KeyPair, edit: impl Fn(&mut Value)) -> String {
    let j = cellproof_core::Jws::parse(jws, Typ::Vc, 1 << 20).unwrap();
    let mut p = Value::Object(j.unverified_payload().clone());
    edit(&mut p);
    sign_json(Typ::Vc, &p, key)
}

// ---- restricted sections ----

#[test]
fn restricted_sections_verify_against_the_passport() {
    let f = fixture();
    let current = f.chain.versions.last().unwrap();
    for tier in Tier::ALL {
        let s = verify_restricted(&f.section(tier), current, &f.trust, SCAN_AT).unwrap();
        assert_eq!(s.tier, tier);
        assert_eq!(s.issuer, f.w.acme.did);
        assert_eq!(s.eco, "catena-x");
        assert!(s.subject.get("data").is_some());
        let up = check_restricted_upload(&f.section(tier), &f.chain.versions, &f.trust, SCAN_AT)
            .unwrap();
        assert_eq!(up.tier, tier);
        assert_eq!(up.path, "01/04012345000016/21/SN2026A000123");
        assert_eq!(up.digest, sha256_b64(f.section(tier).as_bytes()));
    }
}

#[test]
fn a_restricted_section_signed_by_another_manufacturer_is_refused() {
    let f = fixture();
    let current = f.chain.versions.last().unwrap();
    // Denchi (ouranos, recognised by catena-x for manufacturers) signs a section for ACME's
    // battery: a real key of a trusted manufacturer, but not the passport's issuer.
    let forged =
        f.w.restricted_section(&f.w.denchi, URL, Tier::Authority, T0 - DAY);
    let e = verify_restricted(&forged, current, &f.trust, SCAN_AT).unwrap_err();
    assert_eq!(e.code(), "restricted_issuer_mismatch");
    let e = check_restricted_upload(&forged, &f.chain.versions, &f.trust, SCAN_AT).unwrap_err();
    // Denchi does not own ACME's GS1 prefix: refused before the passport is even compared.
    assert!(
        ["gtin_not_issuer", "restricted_issuer_mismatch"].contains(&e.code()),
        "{e}"
    );
    // Claiming to be ACME with Denchi's key: no such key of ACME.
    let impostor = resign(&f.section(Tier::Authority), &f.w.denchi.key, |_| {});
    let e = verify_restricted(&impostor, current, &f.trust, SCAN_AT).unwrap_err();
    assert!(
        ["signature_invalid", "key_unknown"].contains(&e.code()),
        "{e}"
    );
}

#[test]
fn a_restricted_section_about_another_battery_is_refused() {
    let f = fixture();
    let other = "https://id.cells.acme.example/01/04012345000016/21/SN-OTHER-1";
    let s =
        f.w.restricted_section(&f.w.acme, other, Tier::Authority, T0 - DAY);
    let current = f.chain.versions.last().unwrap();
    let e = verify_restricted(&s, current, &f.trust, SCAN_AT).unwrap_err();
    assert_eq!(e.code(), "restricted_subject_mismatch");
    let e = check_restricted_upload(&s, &f.chain.versions, &f.trust, SCAN_AT).unwrap_err();
    assert_eq!(e.code(), "restricted_subject_mismatch");
    // Without the public passport there is nothing to attach a section to.
    let e =
        check_restricted_upload(&f.section(Tier::Authority), &[], &f.trust, SCAN_AT).unwrap_err();
    assert_eq!(e.code(), "passport_chain_broken");
}

#[test]
fn a_tampered_tier_is_refused() {
    let f = fixture();
    let current = f.chain.versions.last().unwrap();
    // Flipping the tier in the payload without the issuer's key breaks the signature.
    let s = f.section(Tier::LegitimateInterest);
    let parts: Vec<&str> = s.split('.').collect();
    let payload = String::from_utf8(cellproof_core::b64_decode(parts[1], "payload").unwrap())
        .unwrap()
        .replace("legitimate-interest", "authority");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        cellproof_core::b64_encode(payload.as_bytes()),
        parts[2]
    );
    let e = verify_restricted(&tampered, current, &f.trust, SCAN_AT).unwrap_err();
    assert_eq!(e.code(), "signature_invalid");
    // Signed tiers that are not one of the two, or that disagree, are malformed.
    for edit in [
        |p: &mut Value| p["credentialSubject"]["tier"] = "public".into(),
        |p: &mut Value| p["tier"] = "authority".into(),
        |p: &mut Value| {
            p["credentialSubject"]
                .as_object_mut()
                .unwrap()
                .remove("tier");
        },
    ] {
        let s = resign(&f.section(Tier::LegitimateInterest), &f.w.acme.key, edit);
        let e = verify_restricted(&s, current, &f.trust, SCAN_AT).unwrap_err();
        assert_eq!(e.code(), "restricted_invalid", "{e}");
    }
    // A public passport is not a restricted section.
    let e = verify_restricted(current, current, &f.trust, SCAN_AT).unwrap_err();
    assert_eq!(e.code(), "restricted_invalid");
}

#[test]
fn tiers_follow_the_requesters_role() {
    let f = fixture();
    assert_eq!(
        readable_tiers(&f.w.msa.roles, Tier::Authority).unwrap(),
        Tier::ALL.to_vec()
    );
    assert_eq!(
        readable_tiers(&f.w.recycler.roles, Tier::LegitimateInterest).unwrap(),
        vec![Tier::LegitimateInterest]
    );
    assert_eq!(
        readable_tiers(&f.w.recycler.roles, Tier::Authority)
            .unwrap_err()
            .code(),
        "tier_forbidden"
    );
    for who in [&f.w.acme, &f.w.certifier] {
        assert_eq!(
            readable_tiers(&who.roles, Tier::LegitimateInterest)
                .unwrap_err()
                .code(),
            "role_missing"
        );
    }
}

// ---- reports ----

#[test]
fn a_sealed_report_stands_with_its_pack() {
    let f = fixture();
    let (report, pack) = f.sealed();
    let c = f.check(&report, &pack);
    assert!(c.stands, "{:#?}", c.problems);
    assert_eq!(c.inspector.as_ref().unwrap().id, "did:web:msa.example");
    assert_eq!(c.effective_time, Some(SCAN_AT));
    assert_eq!(c.reported, c.recomputed);
    assert_eq!(c.subject.as_deref(), Some(URL));
    // The one-file export reads back to the same pack and the same outcome.
    let back = EvidencePack::from_json(&pack.to_json()).unwrap();
    assert_eq!(back, pack);
    assert!(f.check(&report, &back).stands);
    // The registry takes it, and names the battery and the inspector.
    let up = check_report_upload(&report, &f.trust, SCAN_AT + 10).unwrap();
    assert_eq!(up.path, "01/04012345000016/21/SN2026A000123");
    assert_eq!(up.inspector, "did:web:msa.example");
    // Evidence names the credential, two versions, two attestations, two trust lists, three
    // status lists.
    assert_eq!(up.claims.evidence.len(), 1 + 2 + 2 + 2 + 3);
}

#[test]
fn a_report_signed_outside_the_core_verifies_the_same() {
    // The page signs with WebCrypto: signing input out, signature in.
    let f = fixture();
    let v = f.verdict(SCAN_AT);
    let a = f.artifacts(&v);
    let payload = report_payload(&f.w.msa.did, &a, &v, &[], UnixTime(SCAN_AT)).unwrap();
    let input = report_signing_input(&payload, &f.w.msa.key.kid);
    use ed25519_dalek::Signer as _;
    let sig = f.w.msa.key.signing.sign(input.as_bytes()).to_bytes();
    let report = assemble_report(&input, &sig, &f.w.msa.key.public()).unwrap();
    assert_eq!(report, seal_report(&payload, &f.w.msa.key));
    assert!(f.check(&report, &EvidencePack::new(None, &a)).stands);
    // A signature by another key is caught when assembling.
    let other = derive_key("x", "y", "k1");
    let bad = other.signing.sign(input.as_bytes()).to_bytes();
    let e = assemble_report(&input, &bad, &f.w.msa.key.public()).unwrap_err();
    assert_eq!(e.code(), "signature_invalid");
    let e = assemble_report(&input, &bad[..63], &f.w.msa.key.public()).unwrap_err();
    assert_eq!(e.code(), "signature_invalid");
}

#[test]
fn a_report_by_an_entity_without_role_inspector_does_not_stand() {
    let f = fixture();
    let v = f.verdict(SCAN_AT);
    let a = f.artifacts(&v);
    for who in [&f.w.acme, &f.w.recycler] {
        let payload = report_payload(&who.did, &a, &v, &[], UnixTime(SCAN_AT)).unwrap();
        let report = seal_report(&payload, &who.key);
        let c = f.check(&report, &EvidencePack::new(Some(&report), &a));
        assert!(!c.stands);
        assert_eq!(codes(&c), vec!["role_missing"], "{:#?}", c.problems);
        let e = check_report_upload(&report, &f.trust, SCAN_AT).unwrap_err();
        assert_eq!(e.code(), "role_missing");
    }
    // A key nobody enrolled, under the inspector's name.
    let payload = report_payload(&f.w.msa.did, &a, &v, &[], UnixTime(SCAN_AT)).unwrap();
    let stranger = derive_key("someone", "else", &f.w.msa.key.kid);
    let report = seal_report(&payload, &stranger);
    let c = f.check(&report, &EvidencePack::new(Some(&report), &a));
    assert_eq!(codes(&c), vec!["signature_invalid"]);
}

#[test]
fn an_inspector_of_an_ecosystem_the_verifier_does_not_pin_does_not_stand() {
    let f = fixture();
    let (report, pack) = f.sealed();
    // A verifier pinned to ouranos only: catena-x is recognised for manufacturers and
    // certifiers, not for inspectors; and one pinned to nothing knows no one.
    let ouranos = vec![("ouranos".to_owned(), f.w.root("ouranos").public())];
    let none = StatusStore::new();
    let c = verify_report(
        &report,
        Some(&pack),
        &pins(&ouranos),
        &none,
        UnixTime(T0 + DAY),
    );
    assert!(!c.stands);
    assert!(
        codes(&c).contains(&"recognition_scope"),
        "{:#?}",
        c.problems
    );
    let c = verify_report(&report, Some(&pack), &pins(&[]), &none, UnixTime(T0 + DAY));
    assert!(codes(&c).contains(&"issuer_unknown"), "{:#?}", c.problems);
    // A rogue "catena-x" root the verifier never pinned cannot vouch for anyone.
    let rogue = vec![(
        "catena-x".to_owned(),
        derive_key("rogue", "root", "r").public(),
    )];
    let c = verify_report(
        &report,
        Some(&pack),
        &pins(&rogue),
        &none,
        UnixTime(T0 + DAY),
    );
    assert!(codes(&c).contains(&"issuer_unknown"), "{:#?}", c.problems);
}

#[test]
fn an_edited_verdict_breaks_the_signature_and_an_edited_pack_its_digest() {
    let f = fixture();
    let (report, pack) = f.sealed();
    // Editing the report's verdict without the inspector's key.
    let parts: Vec<&str> = report.split('.').collect();
    let payload = String::from_utf8(cellproof_core::b64_decode(parts[1], "payload").unwrap())
        .unwrap()
        .replacen("\"overall\":\"valid\"", "\"overall\":\"invalid\"", 1);
    let edited = format!(
        "{}.{}.{}",
        parts[0],
        cellproof_core::b64_encode(payload.as_bytes()),
        parts[2]
    );
    let c = f.check(
        &edited,
        &EvidencePack::new(None, &f.artifacts(&f.verdict(SCAN_AT))),
    );
    // Issue 16: the signature decides first; a report nobody signed is not recomputed (the
    // old order hashed every artifact and recomputed the verdict, adding
    // `report_verdict_differs`).
    assert_eq!(codes(&c), vec!["signature_invalid"], "{:#?}", c.problems);
    assert!(c.recomputed.is_none() && c.inspector.is_none());
    // The inspector lying on purpose: a signed verdict that the evidence does not give.
    let lie = resign(&report, &f.w.msa.key, |p| {
        p["credentialSubject"]["verdict"]["overall"] = "invalid".into();
        p["credentialSubject"]["verdict"]["stages"]["status"]["code"] = "revoked".into();
    });
    let c = f.check(
        &lie,
        &EvidencePack::new(None, &f.artifacts(&f.verdict(SCAN_AT))),
    );
    assert_eq!(
        codes(&c),
        vec!["report_verdict_differs", "report_verdict_differs"]
    );
    let fields: Vec<&str> = c.problems.iter().map(|p| p.message.as_str()).collect();
    assert!(fields.iter().any(|m| m.contains("overall")), "{fields:?}");
    assert!(
        fields.iter().any(|m| m.contains("stages.status.code")),
        "{fields:?}"
    );
    // Editing an artifact in the pack: its digest no longer matches.
    let mut edited_pack = pack.clone();
    // The list of the other ecosystem (the inspector's own must still enrol it, or the
    // check stops at the report's signer).
    let (k, v) = edited_pack
        .trust_lists
        .iter()
        .find(|(_, v)| {
            let payload = v.split('.').nth(1).unwrap();
            let json = cellproof_core::b64_decode(payload, "payload").unwrap();
            !String::from_utf8_lossy(&json).contains(&f.w.msa.did)
        })
        .unwrap();
    let (k, v) = (k.clone(), v.clone());
    // One character of the payload (after the header, which must still parse).
    let dot = v.find('.').unwrap();
    let at = dot + 1 + v[dot + 1..].find('A').unwrap();
    let mut edited = v.clone();
    edited.replace_range(at..=at, "B");
    edited_pack.trust_lists.insert(k, edited);
    let c = f.check(&report, &edited_pack);
    assert!(!c.stands);
    assert!(
        codes(&c).contains(&"report_digest_mismatch"),
        "{:#?}",
        c.problems
    );
    assert!(c.recomputed.is_none());
    // The report in the pack swapped for another one.
    let mut other = pack.clone();
    other.report = Some(lie.clone());
    assert!(codes(&f.check(&report, &other)).contains(&"report_digest_mismatch"));
}

#[test]
fn an_artifact_swapped_or_missing_in_the_pack_is_named() {
    let f = fixture();
    let (report, pack) = f.sealed();
    // A status list swapped for another of the same id with the revocation bit set, filed
    // under the digest the report names.
    let revoked = f.w.status_list(
        &f.w.acme,
        "3",
        Purpose::Revocation,
        &[0, 1, 2, 3, 4, 5, 6, 7],
        T0,
        T0 + DAY,
    );
    let mut swapped = pack.clone();
    let key = swapped
        .status_lists
        .iter()
        .find(|(_, v)| !v.is_empty())
        .map(|(k, _)| k.clone())
        .unwrap();
    swapped.status_lists.insert(key, revoked);
    let c = f.check(&report, &swapped);
    assert_eq!(
        codes(&c),
        vec!["report_digest_mismatch"],
        "{:#?}",
        c.problems
    );
    // A passport version missing, an attestation missing, no scan.
    let mut missing = pack.clone();
    missing.versions.pop();
    missing.attestations.clear();
    missing.scan = None;
    let c = f.check(&report, &missing);
    assert_eq!(
        codes(&c)
            .iter()
            .filter(|c| **c == "report_artifact_missing")
            .count(),
        4,
        "{:#?}",
        c.problems
    );
    // No pack at all: nothing to find the inspector with.
    let c = verify_report(&report, None, &f.trust, &f.status, UnixTime(T0 + DAY));
    assert!(!c.stands);
    assert!(codes(&c).contains(&"report_artifact_missing"));
    // An extra, newer status list in the pack is not named, so it is not used: the verdict
    // recomputed at the report's time is the same.
    let mut extra = pack.clone();
    let newer = f.w.status_list(
        &f.w.acme,
        "3",
        Purpose::Revocation,
        &[0, 1, 2, 3, 4, 5, 6, 7],
        T0 + 30 * DAY,
        T0 + 31 * DAY,
    );
    extra
        .status_lists
        .insert(sha256_b64(newer.as_bytes()), newer);
    let c = f.check(&report, &extra);
    assert!(c.stands, "{:#?}", c.problems);
    assert_eq!(c.notes.first().map(|n| n.code), Some("evidence_unnamed"));
}

#[test]
fn a_report_is_rechecked_at_its_own_time_not_the_verifiers() {
    let f = fixture();
    let (report, pack) = f.sealed();
    // Years later every list in the pack is stale and the credential may have expired; the
    // report still stands because the verdict is recomputed at its effective time.
    for later in [T0 + DAY, T0 + 3 * YEAR, T0 + 50 * YEAR] {
        let c = verify_report(&report, Some(&pack), &f.trust, &f.status, UnixTime(later));
        assert!(c.stands, "{later}: {:#?}", c.problems);
    }
    // A report dated in 2100 is refused by a verifier in 2027, and the inspector's key was
    // not valid then either.
    let v = f.verdict(SCAN_AT);
    let a = f.artifacts(&v);
    let y2100 = 4_102_444_800;
    let payload = report_payload(&f.w.msa.did, &a, &v, &[], UnixTime(y2100)).unwrap();
    let future = seal_report(&payload, &f.w.msa.key);
    let c = f.check(&future, &EvidencePack::new(None, &a));
    assert!(codes(&c).contains(&"not_yet_valid"), "{:#?}", c.problems);
    assert!(codes(&c).contains(&"key_not_valid_at_iat"));
    let e = check_report_upload(&future, &f.trust, SCAN_AT).unwrap_err();
    assert!(["key_not_valid_at_iat", "not_yet_valid"].contains(&e.code()));
    // An effective time after the sealing time is malformed.
    let late = resign(&report, &f.w.msa.key, |p| {
        p["credentialSubject"]["effectiveTime"] = "2030-01-01T00:00:00Z".into();
    });
    let c = f.check(&late, &pack);
    assert!(codes(&c).contains(&"report_invalid"), "{:#?}", c.problems);
}

#[test]
fn evidence_with_extreme_numbers_is_a_mismatch_not_a_panic() {
    let f = fixture();
    let (report, pack) = f.sealed();
    let edited = resign(&report, &f.w.msa.key, |p| {
        for e in p["credentialSubject"]["evidence"].as_array_mut().unwrap() {
            if e["type"] == "trust-list" {
                e["seq"] = u64::MAX.into();
            }
            if e["type"] == "passport" {
                e["version"] = u64::MAX.into();
            }
        }
    });
    let c = f.check(&edited, &pack);
    assert!(!c.stands);
    assert!(
        codes(&c).contains(&"report_digest_mismatch"),
        "{:#?}",
        c.problems
    );
    assert!(codes(&c).contains(&"report_artifact_missing"));
    // A validFrom past year 9999 is no RFC 3339 date: malformed.
    let edited = resign(&report, &f.w.msa.key, |p| {
        for e in p["credentialSubject"]["evidence"].as_array_mut().unwrap() {
            if e["type"] == "status-list" {
                e["validFrom"] = cellproof_core::format_rfc3339(u64::MAX).into();
            }
        }
    });
    let c = f.check(&edited, &pack);
    assert_eq!(codes(&c), vec!["report_invalid"], "{:#?}", c.problems);
}

#[test]
fn packs_are_read_strictly() {
    let f = fixture();
    let (_, pack) = f.sealed();
    let json = pack.to_json();
    // A duplicate member anywhere.
    let dup = json.replacen("{\"format\"", "{\"format\":\"x\",\"format\"", 1);
    assert_eq!(
        EvidencePack::from_json(&dup).unwrap_err().code(),
        "json_duplicate_member"
    );
    let dup = json.replacen(
        "\"trustLists\":{",
        "\"trustLists\":{\"k\":\"a\",\"k\":\"b\",",
        1,
    );
    assert_eq!(
        EvidencePack::from_json(&dup).unwrap_err().code(),
        "json_duplicate_member"
    );
    for bad in [
        json.replace(cellproof_core::PACK_FORMAT, "cellproof-evidence-pack/9"),
        json.replacen("\"trustLists\":{", "\"trustLists\":{\"k\":1,", 1),
        "[]".to_owned(),
        "{\"format\":\"cellproof-evidence-pack/1\",\"photos\":{\"d\":{\"mediaType\":\"image/png\",\"data\":\"+/\"}}}".to_owned(),
    ] {
        let e = EvidencePack::from_json(&bad).unwrap_err();
        assert!(
            ["evidence_pack_invalid", "json_not_object"].contains(&e.code()),
            "{e}"
        );
    }
    // Reports with duplicate members never get that far: the JWS payload is strict JSON.
    let c = verify_report(
        "not.a.report",
        Some(&pack),
        &f.trust,
        &f.status,
        UnixTime(T0),
    );
    assert!(!c.stands);
}

#[test]
fn hints_and_photos_travel_with_the_report() {
    let f = fixture();
    let v = f.verdict(SCAN_AT);
    let mut a = f.artifacts(&v);
    a.photos.push(cellproof_core::Photo {
        media_type: "image/jpeg".into(),
        bytes: b"\xff\xd8\xff\xe0 label photo".to_vec(),
    });
    let hints = [Hint {
        code: "possible_copied_label".into(),
        message: "the same credential was seen on two labels in this session".into(),
    }];
    let payload = report_payload(&f.w.msa.did, &a, &v, &hints, UnixTime(SCAN_AT)).unwrap();
    let report = seal_report(&payload, &f.w.msa.key);
    let pack = EvidencePack::new(Some(&report), &a);
    let c = f.check(&report, &pack);
    assert!(c.stands, "{:#?}", c.problems);
    assert_eq!(c.hints, hints.to_vec());
    // A different photo under the same digest.
    let mut other = EvidencePack::from_json(&pack.to_json()).unwrap();
    for p in other.photos.values_mut() {
        p.bytes.push(0);
    }
    assert_eq!(
        codes(&f.check(&report, &other)),
        vec!["report_digest_mismatch"]
    );
}

#[test]
fn a_report_about_another_battery_than_its_evidence_does_not_stand() {
    let f = fixture();
    let (report, pack) = f.sealed();
    let other = resign(&report, &f.w.msa.key, |p| {
        p["credentialSubject"]["id"] =
            "https://id.cells.acme.example/01/04012345000016/21/SN-OTHER-1".into();
    });
    let c = f.check(&other, &pack);
    assert!(
        codes(&c).contains(&"report_subject_mismatch"),
        "{:#?}",
        c.problems
    );
}

#[test]
fn an_unverifiable_verdict_seals_and_rechecks_as_unverifiable() {
    // Offline without status lists: the inspector's verdict is unverifiable, and the report
    // says so faithfully; re-checking gives the same.
    let f = fixture();
    let empty = StatusStore::new();
    let mut ctx = Context::new(&f.trust, &empty, UnixTime(SCAN_AT));
    ctx.chain = Some(&f.chain);
    let v = verify(&f.label, &ctx);
    assert_eq!(v.overall, Overall::Unverifiable);
    let a = Artifacts::used(&f.label, &v, &f.trust, &empty, Some(&f.chain));
    let (report, pack) = f.w.inspection_report(&a, &v, &[], SCAN_AT).unwrap();
    let c = f.check(&report, &pack);
    assert!(c.stands, "{:#?}", c.problems);
    assert_eq!(c.recomputed.unwrap()["overall"], "unverifiable");
}

#[test]
fn a_report_with_duplicate_members_is_refused_before_anything_else() {
    let f = fixture();
    let (report, pack) = f.sealed();
    let parts: Vec<&str> = report.split('.').collect();
    let payload = String::from_utf8(cellproof_core::b64_decode(parts[1], "payload").unwrap())
        .unwrap()
        .replacen(
            "\"attestationType\":\"inspection\"",
            "\"attestationType\":\"inspection\",\"attestationType\":\"certification\"",
            1,
        );
    // Signed by the inspector's own key: the strict parser still refuses it.
    let input = format!(
        "{}.{}",
        parts[0],
        cellproof_core::b64_encode(payload.as_bytes())
    );
    use ed25519_dalek::Signer as _;
    let sig = f.w.msa.key.signing.sign(input.as_bytes()).to_bytes();
    let dup = format!("{input}.{}", cellproof_core::b64_encode(&sig));
    let c = f.check(&dup, &pack);
    assert_eq!(codes(&c), vec!["json_duplicate_member"]);
    let e = check_report_upload(&dup, &f.trust, SCAN_AT).unwrap_err();
    assert_eq!(e.code(), "json_duplicate_member");
}

/// Issue 16, "a report standing on stale evidence": an inspector the authority removed seals a
/// report with the older, still unexpired trust list and yesterday's status lists, about a
/// battery revoked since. A verifier holding the newer lists refuses it: the newer trust list
/// no longer enrols the inspector (`report_inspector_withdrawn`), the newer status list says
/// revoked (`report_evidence_stale`), and each older list of the evidence is named. Before,
/// `verify_report` saw only the pack and said the report stands and the battery is `valid`.
#[test]
fn a_report_on_evidence_the_verifier_knows_is_overtaken_does_not_stand() {
    let f = fixture();
    let w = &f.w;
    let (report, pack) = f.sealed();
    let v = f.verdict(SCAN_AT);
    let label_status = v
        .status
        .iter()
        .find(|s| s.purpose == Purpose::Revocation)
        .expect("the label has a revocation entry")
        .clone();
    // What the verifier synced since: catena-x seq + 1 without the inspector, and revocation
    // list 3 with the label's index set.
    let mut removed = w.trust_list("catena-x");
    let old_seq = removed.seq;
    removed.seq += 1;
    removed.entities.retain(|e| e.id != w.msa.did);
    let mut newer_trust = f.trust.clone();
    newer_trust
        .insert(&w.sign_trust_list(&removed))
        .expect("the newer list is accepted");
    let revoked = w.status_list(
        &w.acme,
        "3",
        Purpose::Revocation,
        &[label_status.index],
        T0 + 2 * DAY,
        T0 + 3 * DAY,
    );
    let mut newer_status = f.status.clone();
    newer_status.insert(&revoked, &f.trust).unwrap();
    let at = UnixTime(T0 + 2 * DAY + 60);

    // The inspector removed: refused, whatever the status.
    let c = verify_report(&report, Some(&pack), &newer_trust, &f.status, at);
    assert!(!c.stands);
    assert_eq!(
        codes(&c),
        vec!["report_inspector_withdrawn"],
        "{:#?}",
        c.problems
    );
    assert!(c.stale.iter().any(|s| s.kind == "trust_list"
        && s.id == "catena-x"
        && s.evidence == old_seq
        && s.held == old_seq + 1));

    // The battery revoked since: refused, the list named with both validFroms.
    let c = verify_report(&report, Some(&pack), &f.trust, &newer_status, at);
    assert!(!c.stands);
    assert_eq!(
        codes(&c),
        vec!["report_evidence_stale"],
        "{:#?}",
        c.problems
    );
    let stale = c
        .stale
        .iter()
        .find(|s| s.kind == "status_list" && s.id == label_status.list)
        .expect("the status list is named");
    assert_eq!((stale.evidence, stale.held), (T0, T0 + 2 * DAY));
    assert!(c.problems[0].message.contains("revoked"));
    // The report's own claim still recomputes: it was valid on its evidence.
    assert_eq!(c.recomputed.as_ref().unwrap()["overall"], "valid");

    // Newer but not contradicting: the report stands and the older evidence is named.
    let clear = w.status_list(
        &w.acme,
        "3",
        Purpose::Revocation,
        &[],
        T0 + 2 * DAY,
        T0 + 3 * DAY,
    );
    let mut newer_clear = f.status.clone();
    newer_clear.insert(&clear, &f.trust).unwrap();
    let c = verify_report(&report, Some(&pack), &f.trust, &newer_clear, at);
    assert!(c.stands, "{:#?}", c.problems);
    assert_eq!(c.stale.len(), 1);
    assert!(c.notes.iter().any(|n| n.code == "report_evidence_stale"));

    // Holding exactly the evidence: nothing stale.
    assert!(f.check(&report, &pack).stale.is_empty());
}

/// Issue 16: a photo's media type and the origin the label was read from are signed in the
/// report. A pack that relabels the photo (same bytes, `image/svg+xml`) or moves the scan to
/// another resolver's URL (same credential, same path) does not stand.
#[test]
fn the_photo_media_type_and_the_scanned_origin_are_bound() {
    let f = fixture();
    let v = f.verdict(SCAN_AT);
    let mut a = f.artifacts(&v);
    a.photos.push(cellproof_core::Photo {
        media_type: "image/jpeg".into(),
        bytes: b"\xff\xd8\xff\xe0 label photo".to_vec(),
    });
    let payload = report_payload(&f.w.msa.did, &a, &v, &[], UnixTime(SCAN_AT)).unwrap();
    assert_eq!(
        payload["credentialSubject"]["scannedOrigin"],
        "https://id.cells.acme.example"
    );
    let report = seal_report(&payload, &f.w.msa.key);
    let pack = EvidencePack::new(Some(&report), &a);
    assert!(f.check(&report, &pack).stands);
    let mut relabelled = pack.clone();
    for p in relabelled.photos.values_mut() {
        p.media_type = "image/svg+xml".into();
    }
    assert_eq!(
        codes(&f.check(&report, &relabelled)),
        vec!["report_digest_mismatch"]
    );
    let mut moved = pack.clone();
    moved.scan = Some(f.label.replace(
        "https://id.cells.acme.example/",
        "https://resolver.elsewhere.example/",
    ));
    assert_eq!(
        codes(&f.check(&report, &moved)),
        vec!["report_digest_mismatch"]
    );
}

/// Issue 16, the passport half of stale evidence: a report sealed while the passport's own
/// status entry was clear, checked by a verifier holding a newer list that revokes that
/// passport version, does not stand (`report_evidence_stale` naming the list); the label's
/// index in the same list stays clear, so only the passport is contradicted.
#[test]
fn a_passport_revoked_since_the_report_does_not_stand() {
    let mut f = fixture();
    let list_url = format!("{}3", f.w.status_base(&f.w.acme));
    let mut p1 = f.w.passport(&f.w.acme, URL, 1, None, &[], T0 - 40 * DAY);
    p1["credentialStatus"] = serde_json::json!({"type": "BitstringStatusListEntry",
        "statusPurpose": "revocation", "statusListIndex": "77",
        "statusListCredential": list_url});
    let v1 = f.w.sign_vc(&f.w.acme, &p1);
    let mut claims = f.w.reference_claims();
    if let Some(Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(&v1).into());
    }
    f.label = f.w.issue(&f.w.acme, &claims, T0 - 30 * DAY).unwrap().url();
    f.chain = PassportChain {
        events: Vec::new(),
        predecessors: Default::default(),
        versions: vec![v1],
        attestations: BTreeMap::new(),
    };
    let (report, pack) = f.sealed();
    let revoked = f.w.status_list(
        &f.w.acme,
        "3",
        Purpose::Revocation,
        &[77],
        T0 + 2 * DAY,
        T0 + 3 * DAY,
    );
    let mut held = f.status.clone();
    held.insert(&revoked, &f.trust).unwrap();
    let c = verify_report(
        &report,
        Some(&pack),
        &f.trust,
        &held,
        UnixTime(T0 + 2 * DAY + 60),
    );
    assert_eq!(
        codes(&c),
        vec!["report_evidence_stale"],
        "{:#?}",
        c.problems
    );
    assert!(c.problems[0].message.contains("index 77 is revoked"));
    // Holding the same list as the evidence: it stands.
    assert!(f.check(&report, &pack).stands);
}
