//! Trust and status stores over their lifetime: rollbacks, newest-wins, recognition that comes
//! and goes, one hop only, authorities of the wrong ecosystem, the clock floor, the passport
//! digest. (Per-verdict cases live in `tests/vectors/`.)

use cellproof_core::{
    passport_digest, status_list_payload, verify, Bitstring, Context, Purpose, Recognition,
    StatusListSpec, StatusStore, TrustStore, UnixTime, Via,
};
use cellproof_world::{World, DAY, YEAR};

const T0: u64 = 1_796_083_200;

fn world() -> World {
    World::new("stores-test", "https://registry.example", T0)
}

fn pinned(w: &World, eco: &str) -> TrustStore {
    let mut t = TrustStore::new();
    t.pin_root(eco, &w.root(eco).public());
    t
}

#[test]
fn trust_list_seq_only_grows() {
    let w = world();
    let mut t = pinned(&w, "catena-x");
    let v1 = w.trust_list("catena-x");
    let v2 = cellproof_core::TrustList {
        seq: 2,
        iat: T0 + 10,
        ..v1.clone()
    };
    let (s1, s2) = (w.sign_trust_list(&v1), w.sign_trust_list(&v2));
    assert!(!t.insert(&s1).unwrap().unchanged);
    assert!(
        t.insert(&s1).unwrap().unchanged,
        "the same list again is a no-op"
    );
    assert_eq!(t.insert(&s2).unwrap().seq, 2);
    let e = t.insert(&s1).unwrap_err();
    assert_eq!(e.code(), "trust_list_rollback");
    // Same seq, other content: no newer, refused.
    let other = cellproof_core::TrustList {
        exp: T0 + 99 * DAY,
        ..v2.clone()
    };
    assert_eq!(
        t.insert(&w.sign_trust_list(&other)).unwrap_err().code(),
        "trust_list_rollback"
    );
    assert_eq!(t.list("catena-x").unwrap().seq, 2);
}

#[test]
fn lists_not_signed_by_a_known_root_are_refused() {
    let w = world();
    let mut t = pinned(&w, "catena-x");
    // catena-x list signed by the ouranos root: signature fails against the pin.
    let forged = cellproof_core::sign_trust_list(&w.trust_list("catena-x"), &w.ouranos_root);
    assert_eq!(t.insert(&forged).unwrap_err().code(), "signature_invalid");
    // An ecosystem nobody pins or recognises.
    let mut t = TrustStore::new();
    let e = t
        .insert(&w.sign_trust_list(&w.trust_list("ouranos")))
        .unwrap_err();
    assert_eq!(e.code(), "trust_list_untrusted");
}

#[test]
fn recognition_is_one_hop_and_follows_the_recogniser() {
    let w = world();
    let mut t = pinned(&w, "ouranos");
    let catena = w.sign_trust_list(&w.trust_list("catena-x"));
    // Arrives before its recogniser: pending, then accepted once ouranos is in.
    assert_eq!(
        t.insert(&catena).unwrap_err().code(),
        "trust_list_untrusted"
    );
    t.insert(&w.sign_trust_list(&w.trust_list("ouranos")))
        .unwrap();
    assert_eq!(
        t.via("catena-x"),
        Some(&Via::Recognized {
            by: "ouranos".into()
        })
    );

    // catena-x recognises a third ecosystem; pinned to ouranos, that is two hops: refused.
    let third_root = cellproof_world::derive_key("stores-test", "root/third", "third-root-1");
    let mut cx = w.trust_list("catena-x");
    cx.seq = 2;
    cx.recognizes.push(Recognition {
        eco: "third".into(),
        root: third_root.public(),
        roles: vec!["manufacturer".into()],
        until: None,
        scope: Vec::new(),
    });
    t.insert(&w.sign_trust_list(&cx)).unwrap();
    let third = cellproof_core::TrustList {
        eco: "third".into(),
        ..w.trust_list("catena-x")
    };
    let third = cellproof_core::sign_trust_list(&third, &third_root);
    assert_eq!(t.insert(&third).unwrap_err().code(), "trust_list_untrusted");

    // ouranos withdraws the recognition: the catena-x list is no longer trusted.
    let mut ou = w.trust_list("ouranos");
    ou.seq = 2;
    ou.recognizes.clear();
    t.insert(&w.sign_trust_list(&ou)).unwrap();
    assert!(t.list("catena-x").is_none());
    let r = t.resolve(&w.acme.did, "k1", T0, &cellproof_core::CREDENTIAL_ROLES, T0);
    assert_eq!(r.result.unwrap_err().code(), "issuer_unknown");
}

#[test]
fn removed_key_invalidates_what_it_signed() {
    let w = world();
    let mut t = pinned(&w, "catena-x");
    let mut list = w.trust_list("catena-x");
    t.insert(&w.sign_trust_list(&list)).unwrap();
    assert!(t
        .resolve(&w.acme.did, "k1", T0, &cellproof_core::CREDENTIAL_ROLES, T0)
        .result
        .is_ok());
    list.seq = 2;
    list.entities[0].keys.clear();
    t.insert(&w.sign_trust_list(&list)).unwrap();
    let r = t.resolve(&w.acme.did, "k1", T0, &cellproof_core::CREDENTIAL_ROLES, T0);
    assert_eq!(r.result.unwrap_err().code(), "key_unknown");
}

#[test]
fn status_lists_newest_wins_and_older_are_refused() {
    let w = world();
    let mut t = pinned(&w, "catena-x");
    t.insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    let old = w.status_list(&w.acme, "3", Purpose::Revocation, &[5], T0, T0 + DAY);
    let new = w.status_list(&w.acme, "3", Purpose::Revocation, &[], T0 + 60, T0 + DAY);
    let mut s = StatusStore::new();
    s.insert(&new, &t).unwrap();
    // A replayed older list cannot bring the revocation back (or hide a newer one).
    assert_eq!(
        s.insert(&old, &t).unwrap_err().code(),
        "status_list_rollback"
    );
    let mut s = StatusStore::new();
    assert_eq!(s.insert(&old, &t).unwrap().bits.get(5), Ok(1));
    assert_eq!(
        s.insert(&new, &t).unwrap().bits.get(5),
        Ok(0),
        "the newer list replaces the older"
    );
    assert_eq!(s.newest_valid_from(&t), T0 + 60);
}

#[test]
fn malformed_or_foreign_status_lists_are_refused() {
    let w = world();
    let mut t = pinned(&w, "catena-x");
    t.insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    let base = w.status_base(&w.acme);
    let sign = |id: &str, purpose, bits: &Bitstring| {
        let spec = StatusListSpec {
            id,
            issuer: &w.authority_did,
            purpose,
            valid_from: T0,
            valid_until: T0 + DAY,
            ttl_ms: 1,
        };
        cellproof_core::sign_status_list(&status_list_payload(&spec, bits), &w.authority)
    };
    let mut s = StatusStore::new();
    let short = Bitstring::zeroed(131_064);
    let e = s
        .insert(&sign(&format!("{base}3"), Purpose::Revocation, &short), &t)
        .unwrap_err();
    assert_eq!(e.code(), "status_list_too_short");
    let full = Bitstring::zeroed(131_072);
    let e = s
        .insert(
            &sign(&format!("{base}3-suspension"), Purpose::Revocation, &full),
            &t,
        )
        .unwrap_err();
    assert_eq!(
        e.code(),
        "status_list_invalid",
        "purpose must match the id suffix"
    );
    // Signed by a key that is not a listed authority.
    let spec = StatusListSpec {
        id: &format!("{base}3"),
        issuer: &w.authority_did,
        purpose: Purpose::Revocation,
        valid_from: T0,
        valid_until: T0 + DAY,
        ttl_ms: 1,
    };
    let forged = cellproof_core::sign_status_list(&status_list_payload(&spec, &full), &w.acme.key);
    assert!(matches!(
        s.insert(&forged, &t).unwrap_err().code(),
        "status_list_untrusted" | "signature_invalid"
    ));
}

#[test]
fn authority_of_another_ecosystem_says_nothing_about_an_issuer() {
    let w = world();
    // Only ouranos is held; its authority signs a list at ACME's URL. ACME (catena-x) is found
    // through recognition, but the list's authority is vouched for by ouranos only if ouranos
    // lists it: here a different authority key, listed only by ouranos.
    let other = cellproof_world::derive_key("stores-test", "other-authority", "oa1");
    let mut ou = w.trust_list("ouranos");
    ou.authorities = vec![cellproof_core::Authority {
        id: "did:web:other.example".into(),
        keys: vec![other.public()],
    }];
    let mut t = pinned(&w, "ouranos");
    t.insert_all([
        w.sign_trust_list(&ou).as_str(),
        w.sign_trust_list(&w.trust_list("catena-x")).as_str(),
    ]);
    let id = format!("{}3", w.status_base(&w.acme));
    let spec = StatusListSpec {
        id: &id,
        issuer: "did:web:other.example",
        purpose: Purpose::Revocation,
        valid_from: T0,
        valid_until: T0 + DAY,
        ttl_ms: 1,
    };
    let mut s = StatusStore::new();
    // SPEC.md section 5: ouranos lists no entity whose statusBase holds ACME's URL.
    let e = s
        .insert(
            &cellproof_core::sign_status_list(
                &status_list_payload(&spec, &Bitstring::zeroed(131_072)),
                &other,
            ),
            &t,
        )
        .unwrap_err();
    assert_eq!(e.code(), "status_list_foreign");
    let claims = w.sample_claims(&w.acme, "SN1", Some("3/7"), "https://id.example");
    let url = w.issue(&w.acme, &claims, T0 - DAY).unwrap().url();
    let v = verify(&url, &Context::new(&t, &s, UnixTime(T0 + 60)));
    assert_eq!(
        v.code,
        Some("status_unknown"),
        "a list from an ouranos-only authority is not ACME's"
    );
}

#[test]
fn clock_floor_and_passport_digest() {
    let w = world();
    let mut t = pinned(&w, "catena-x");
    t.insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    let mut s = StatusStore::new();
    for p in Purpose::ALL {
        s.insert(
            &w.status_list(&w.acme, "3", p, &[], T0 + 3600, T0 + DAY),
            &t,
        )
        .unwrap();
    }
    let mut claims = w.reference_claims();
    claims.insert("sub".into(), "01/04012345000016/21/SN2026A000123".into());
    claims.insert("exp".into(), (T0 + 1800).into());
    let issued = w.issue(&w.acme, &claims, T0 - YEAR / 2).unwrap();
    // Device clock at T0 (before exp), but a list with validFrom T0 + 3600 was verified.
    let ctx = Context::new(&t, &s, UnixTime(T0));
    assert_eq!(ctx.effective_now(), T0 + 3600);
    let v = verify(&issued.url(), &ctx);
    assert_eq!(v.code, Some("expired"));
    assert!(v.notices.iter().any(|n| n.code == "clock_floor"));

    // The passport stage: bp.dig against a fetched, signed version 1 (SPEC.md section 3.1).
    let url = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000123";
    let passport = w.sign_vc(&w.acme, &w.passport(&w.acme, url, 1, None, &[], T0 - DAY));
    let other = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, url, 1, None, &[], T0 - 2 * DAY),
    );
    let mut claims = w.reference_claims();
    claims.shift_remove("st");
    if let Some(serde_json::Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(&passport).into());
    }
    let issued = w.issue(&w.acme, &claims, T0 - DAY).unwrap();
    let mut ctx = Context::new(&t, &s, UnixTime(T0 + 7200));
    ctx.passport = Some(&passport);
    let v = verify(&issued.url(), &ctx);
    assert_eq!(v.code, None, "{v:?}");
    let stage = v
        .stages
        .iter()
        .find(|s| s.stage == cellproof_core::Stage::Passport)
        .unwrap();
    assert_eq!(stage.outcome, cellproof_core::Outcome::Passed);
    ctx.passport = Some(&other);
    assert_eq!(verify(&issued.url(), &ctx).code, Some("digest_mismatch"));
    // An unsigned text with the right digest is no passport.
    let unsigned = "eyJhbGciOiJFZERTQSJ9.e30.c2ln";
    let mut claims = w.reference_claims();
    claims.shift_remove("st");
    if let Some(serde_json::Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(unsigned).into());
    }
    let issued = w.issue(&w.acme, &claims, T0 - DAY).unwrap();
    ctx.passport = Some(unsigned);
    assert_eq!(
        verify(&issued.url(), &ctx).overall,
        cellproof_core::Overall::Invalid
    );
}
