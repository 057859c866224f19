//! The trust holes an outside review found, each as the attack it would be (SPEC.md 1.1
//! sections 4 and 5): a recognised ecosystem borrowing a pinned entity's name, a clock floor
//! pushed to 2100, a status list shadowed under someone else's URL, trust that outlives the key
//! that granted it, a certifier's scope taken from the wrong recognition, a GTIN of another
//! company. Every test here failed on the code before these rules.

use cellproof_core::{
    status_list_payload, verify, Bitstring, Context, Entity, KeyPair, Purpose, Recognition, Scope,
    StatusListSpec, StatusStore, TrustList, TrustStore, UnixTime, CREDENTIAL_ROLES, MAX_PENDING,
    MIN_ENTRIES,
};
use cellproof_world::{derive_key, World, DAY, YEAR};

const T0: u64 = 1_796_083_200;
/// 2100-01-01T00:00:00Z.
const Y2100: u64 = 4_102_444_800;

fn world() -> World {
    World::new("attacks-test", "https://registry.example", T0)
}

/// Pinned to catena-x, with ouranos accepted through catena-x's recognition.
fn catena_with(w: &World, ouranos: &TrustList) -> TrustStore {
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    for r in t.insert_all([
        w.sign_trust_list(&w.trust_list("catena-x")).as_str(),
        w.sign_trust_list(ouranos).as_str(),
    ]) {
        r.unwrap();
    }
    t
}

fn acme_entry(w: &World) -> Entity {
    w.trust_list("catena-x")
        .entities
        .into_iter()
        .find(|e| e.id == w.acme.did)
        .unwrap()
}

/// Ouranos (recognised) lists an entity with ACME's DID, name and status base, and its own key.
fn ouranos_borrowing(w: &World, rogue: &KeyPair) -> TrustList {
    let mut ou = w.trust_list("ouranos");
    ou.entities.push(Entity {
        keys: vec![rogue.public()],
        ..acme_entry(w)
    });
    ou
}

fn status_lists(w: &World, t: &TrustStore, revoked: &[u64], valid_from: u64) -> StatusStore {
    let mut s = StatusStore::new();
    for p in Purpose::ALL {
        let set = if p == Purpose::Revocation {
            revoked
        } else {
            &[]
        };
        s.insert(
            &w.status_list(&w.acme, "3", p, set, valid_from, valid_from + DAY),
            t,
        )
        .unwrap();
    }
    s
}

fn signed_list(id: &str, issuer: &str, key: &KeyPair, valid_from: u64) -> String {
    let spec = StatusListSpec {
        id,
        issuer,
        purpose: Purpose::Revocation,
        valid_from,
        valid_until: valid_from + DAY,
        ttl_ms: 1,
    };
    cellproof_core::sign_status_list(
        &status_list_payload(&spec, &Bitstring::zeroed(MIN_ENTRIES)),
        key,
    )
}

#[test]
fn recognised_root_cannot_borrow_a_pinned_entitys_identity() {
    let w = world();
    let rogue = derive_key("attacks-test", "rogue-acme", "k2");
    let t = catena_with(&w, &ouranos_borrowing(&w, &rogue));
    let s = status_lists(&w, &t, &[], T0);
    let forger = cellproof_world::Issuer {
        key: rogue,
        ..w.acme.clone()
    };
    let claims = w.sample_claims(&w.acme, "SN1", Some("3/7"), "https://id.example");
    let url = w.issue(&forger, &claims, T0 - DAY).unwrap().url();
    let v = verify(&url, &Context::new(&t, &s, UnixTime(T0 + 60)));
    // Before: the recognised entry was tried after the pinned one failed, and the forgery
    // verified as "ACME Cells GmbH".
    assert_eq!(v.code, Some("key_unknown"), "{v:?}");
    assert!(v.issuer.is_none());
    // The genuine ACME credential still resolves to its one home, catena-x.
    let genuine = w.issue(&w.acme, &claims, T0 - DAY).unwrap().url();
    let v = verify(&genuine, &Context::new(&t, &s, UnixTime(T0 + 60)));
    assert_eq!(v.code, None, "{v:?}");
    assert_eq!(v.issuer.unwrap().eco, "catena-x");
}

#[test]
fn an_entity_listed_with_one_kid_by_two_pinned_ecosystems_is_ambiguous() {
    let w = world();
    let mut ou = w.trust_list("ouranos");
    ou.entities.push(Entity {
        keys: vec![derive_key("attacks-test", "twin", "k1").public()],
        ..acme_entry(&w)
    });
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    t.pin_root("ouranos", &w.root("ouranos").public());
    t.insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    t.insert(&w.sign_trust_list(&ou)).unwrap();
    let r = t.resolve(&w.acme.did, "k1", T0, &CREDENTIAL_ROLES, T0);
    let e = r.result.unwrap_err();
    assert_eq!(e.code(), "issuer_ambiguous");
    assert_eq!(e.class(), cellproof_core::Class::Unverifiable);
    assert!(r.key.is_none(), "no key is chosen for an ambiguous issuer");
}

#[test]
fn a_recognised_ecosystem_dated_2100_does_not_move_the_clock() {
    let w = world();
    let mut ou = w.trust_list("ouranos");
    ou.iat = Y2100;
    ou.exp = Y2100 + DAY;
    let t = catena_with(&w, &ou);
    let s = status_lists(&w, &t, &[], T0);
    let ctx = Context::new(&t, &s, UnixTime(T0 + 60));
    // Before: the floor jumped to 2100 and every credential read expired or stale.
    assert_eq!(ctx.effective_now(), T0 + 60);
    let claims = w.sample_claims(&w.acme, "SN1", Some("3/7"), "https://id.example");
    let url = w.issue(&w.acme, &claims, T0 - DAY).unwrap().url();
    assert_eq!(verify(&url, &ctx).code, None);
}

#[test]
fn a_recognised_authority_dated_2100_neither_moves_the_clock_nor_shadows_a_list() {
    let w = world();
    let rogue_authority = derive_key("attacks-test", "rogue-authority", "ra1");
    let mut ou = ouranos_borrowing(&w, &derive_key("attacks-test", "rogue-acme", "k2"));
    ou.authorities.push(cellproof_core::Authority {
        id: "did:web:rogue-authority.example".into(),
        keys: vec![rogue_authority.public()],
    });
    let t = catena_with(&w, &ou);
    let mut s = status_lists(&w, &t, &[7], T0);
    let acme_url = format!("{}3", w.status_base(&w.acme));
    // Ouranos lists an entity with ACME's status base, so the list is held under ouranos...
    let shadow = signed_list(
        &acme_url,
        "did:web:rogue-authority.example",
        &rogue_authority,
        Y2100,
    );
    let held = s.insert(&shadow, &t).unwrap();
    assert_eq!(held.eco, "ouranos");
    // ...where it neither raises the clock floor nor replaces ACME's catena-x list.
    let ctx = Context::new(&t, &s, UnixTime(T0 + 60));
    assert_eq!(ctx.effective_now(), T0 + 60);
    let claims = w.sample_claims(&w.acme, "SN1", Some("3/7"), "https://id.example");
    let url = w.issue(&w.acme, &claims, T0 - DAY).unwrap().url();
    // Before: the 2100 list replaced ACME's by id, and the revocation read "unknown".
    assert_eq!(verify(&url, &ctx).code, Some("revoked"));
    // A newer genuine list is still accepted for catena-x (no rollback against the shadow).
    s.insert(
        &w.status_list(
            &w.acme,
            "3",
            Purpose::Revocation,
            &[7, 8],
            T0 + 10,
            T0 + DAY,
        ),
        &t,
    )
    .unwrap();
    let held = s.get("catena-x", &acme_url, &t).unwrap();
    assert_eq!(held.bits.get(8), Ok(1));
}

#[test]
fn a_pinned_authority_still_raises_the_clock_floor() {
    // The positive control of the two tests above: SPEC.md section 5's floor still works.
    let w = world();
    let t = catena_with(&w, &w.trust_list("ouranos"));
    let s = status_lists(&w, &t, &[], T0 + 3600);
    assert_eq!(
        Context::new(&t, &s, UnixTime(T0)).effective_now(),
        T0 + 3600
    );
}

#[test]
fn a_status_list_under_nobodys_status_base_is_refused() {
    let w = world();
    let t = catena_with(&w, &w.trust_list("ouranos"));
    let mut s = StatusStore::new();
    for id in [
        "https://evil.example/v1/status/acme/3".to_owned(),
        // The base itself, with no list id after it.
        w.status_base(&w.acme),
        // A prefix that is not a whole path segment of the base.
        format!("{}3", w.status_base(&w.acme).trim_end_matches('/')),
    ] {
        let e = s
            .insert(&signed_list(&id, &w.authority_did, &w.authority, T0), &t)
            .unwrap_err();
        assert_eq!(e.code(), "status_list_foreign", "{id}");
    }
}

#[test]
fn authority_keys_follow_their_windows() {
    let w = world();
    let mut cx = w.trust_list("catena-x");
    for a in &mut cx.authorities {
        for k in &mut a.keys {
            k.exp = Some(T0);
        }
    }
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    t.insert(&w.sign_trust_list(&cx)).unwrap();
    let mut s = StatusStore::new();
    let late = w.status_list(&w.acme, "3", Purpose::Revocation, &[], T0 + 1, T0 + DAY);
    assert_eq!(
        s.insert(&late, &t).unwrap_err().code(),
        "key_not_valid_at_iat"
    );
    let early = w.status_list(&w.acme, "3", Purpose::Revocation, &[], T0 - 1, T0 + DAY);
    s.insert(&early, &t).unwrap();
}

#[test]
fn removing_an_authority_key_orphans_the_lists_it_signed() {
    let w = world();
    let mut t = catena_with(&w, &w.trust_list("ouranos"));
    let mut s = status_lists(&w, &t, &[], T0);
    let url = format!("{}3", w.status_base(&w.acme));
    assert!(s.get("catena-x", &url, &t).is_some());
    let mut cx = w.trust_list("catena-x");
    cx.seq = 2;
    cx.authorities.clear();
    t.insert(&w.sign_trust_list(&cx)).unwrap();
    assert!(s.get("catena-x", &url, &t).is_none(), "re-checked at use");
    s.retain_trusted(&t);
    assert_eq!(s.lists().count(), 0);
}

#[test]
fn replacing_a_pin_drops_lists_the_old_root_signed() {
    let w = world();
    let mut t = catena_with(&w, &w.trust_list("ouranos"));
    assert!(t.list("catena-x").is_some() && t.list("ouranos").is_some());
    // Before: a replaced pin (same ecosystem, new key) kept the old lists trusted.
    t.pin_root(
        "catena-x",
        &derive_key("attacks-test", "new-root", "r2").public(),
    );
    assert!(t.list("catena-x").is_none());
    assert!(t.list("ouranos").is_none(), "its recognition went with it");
    let r = t.resolve(&w.denchi.did, "k1", T0, &CREDENTIAL_ROLES, T0);
    assert_eq!(r.result.unwrap_err().code(), "issuer_unknown");
}

#[test]
fn a_rotated_recognition_root_drops_lists_the_old_root_signed() {
    let w = world();
    let mut t = catena_with(&w, &w.trust_list("ouranos"));
    let mut cx = w.trust_list("catena-x");
    cx.seq = 2;
    for r in &mut cx.recognizes {
        r.root = derive_key("attacks-test", "ouranos-root-2", "r2").public();
    }
    t.insert(&w.sign_trust_list(&cx)).unwrap();
    // Before: the ouranos list signed by the old root stayed trusted.
    assert!(t.list("ouranos").is_none());
}

#[test]
fn the_scope_applied_is_the_recognition_whose_root_verified_the_list() {
    let w = world();
    let new_root = derive_key("attacks-test", "ouranos-root-2", "r2");
    let mut cx = w.trust_list("catena-x");
    let old = cx.recognizes[0].clone();
    cx.recognizes = vec![
        Recognition {
            scope: vec![Scope {
                topic: "content.recycled".into(),
                materials: vec!["Li".into()],
            }],
            ..old.clone()
        },
        Recognition {
            root: new_root.public(),
            scope: vec![Scope {
                topic: "sourcing.due-diligence".into(),
                materials: vec!["Co".into(), "Li".into(), "Ni".into()],
            }],
            ..old
        },
    ];
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    t.insert(&w.sign_trust_list(&cx)).unwrap();
    t.insert(&cellproof_core::sign_trust_list(
        &w.trust_list("ouranos"),
        &new_root,
    ))
    .unwrap();
    let m = t
        .resolve(&w.denchi.did, "k1", T0, &CREDENTIAL_ROLES, T0)
        .result
        .unwrap();
    // Before: the first `recognizes` entry for ouranos was applied, whichever root verified.
    let scope = m.recognition_scope.unwrap();
    assert_eq!(scope.len(), 1);
    assert!(scope[0].covers("sourcing.due-diligence", &["Co".into()]));
    assert!(!scope[0].covers("content.recycled", &["Li".into()]));
}

#[test]
fn a_manufacturer_cannot_sign_for_another_companys_gtin() {
    let w = world();
    let t = catena_with(&w, &w.trust_list("ouranos"));
    let s = status_lists(&w, &t, &[], T0);
    // Nippon Denchi's sample GTIN, under its prefix 4589012, signed by ACME.
    let denchi = w.sample_claims(&w.denchi, "SN1", None, "https://id.example");
    let mut claims = w.sample_claims(&w.acme, "SN1", Some("3/7"), "https://id.example");
    claims.insert("sub".into(), denchi["sub"].clone());
    claims.insert("url".into(), denchi["url"].clone());
    let url = w.issue(&w.acme, &claims, T0 - DAY).unwrap().url();
    let v = verify(&url, &Context::new(&t, &s, UnixTime(T0 + 60)));
    assert_eq!(v.code, Some("gtin_not_issuer"), "{v:?}");
    assert_eq!(v.overall, cellproof_core::Overall::Invalid);
}

#[test]
fn gcp_and_resolvers_are_checked_on_input() {
    let w = world();
    let root = w.root("catena-x");
    for (gcp, resolvers) in [
        (vec!["40123x5"], vec![]),
        (vec!["401"], vec![]),
        (vec!["4012345678901"], vec![]),
        (vec![], vec!["https://id.example/path"]),
        (vec![], vec!["ftp://id.example"]),
        (vec![], vec!["https://user@id.example"]),
    ] {
        let mut cx = w.trust_list("catena-x");
        cx.entities[0].gcp = gcp.iter().map(|s| (*s).to_owned()).collect();
        cx.entities[0].resolvers = resolvers.iter().map(|s| (*s).to_owned()).collect();
        let mut t = TrustStore::new();
        t.pin_root("catena-x", &root.public());
        let e = t.insert(&w.sign_trust_list(&cx)).unwrap_err();
        assert_eq!(e.code(), "claim_invalid", "{gcp:?} {resolvers:?}");
    }
    let e = Entity {
        gcp: vec!["4012345".into()],
        ..Entity::default()
    };
    assert!(e.owns_gtin("04012345000016"));
    assert!(e.owns_gtin("14012345000013"), "indicator digit is skipped");
    assert!(!e.owns_gtin("04589012000016"));
    assert!(!e.owns_gtin("0"));
    assert!(!e.owns_gtin(""));
}

#[test]
fn a_label_on_an_unlisted_resolver_gets_a_notice() {
    let w = world();
    let mut cx = w.trust_list("catena-x");
    cx.entities[0].resolvers = vec!["https://id.cells.acme.example".into()];
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    t.insert(&w.sign_trust_list(&cx)).unwrap();
    let s = status_lists(&w, &t, &[], T0);
    let ctx = Context::new(&t, &s, UnixTime(T0 + 60));
    for (host, flagged) in [
        ("https://id.cells.acme.example", false),
        ("HTTPS://ID.CELLS.ACME.EXAMPLE", false),
        ("https://copy.example", true),
        ("https://id.cells.acme.example.evil.example", true),
    ] {
        let claims = w.sample_claims(&w.acme, "SN1", Some("3/7"), host);
        let url = w.issue(&w.acme, &claims, T0 - DAY).unwrap().url();
        let v = verify(&url, &ctx);
        assert_eq!(v.code, None, "a notice, never a failure: {host}");
        assert_eq!(
            v.notices.iter().any(|n| n.code == "resolver_unlisted"),
            flagged,
            "{host}"
        );
    }
}

#[test]
fn a_flood_of_unverifiable_lists_stays_bounded() {
    let w = world();
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    for i in 0..(MAX_PENDING + 50) {
        let list = TrustList {
            eco: format!("nobody-{i}"),
            ..w.trust_list("catena-x")
        };
        let signed = cellproof_core::sign_trust_list(&list, &w.catena_root);
        assert_eq!(
            t.insert(&signed).unwrap_err().code(),
            "trust_list_untrusted"
        );
    }
    // Still works after the flood.
    t.insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    assert!(t.list("catena-x").is_some());
    let _ = YEAR;
}

/// Issue 16: a status list is inflated only after its signature held. A list whose
/// `encodedList` inflates past `MAX_BITSTRING` (a GZIP bomb: 17 MiB of zeros in a few KiB)
/// under a signature that does not verify answers `signature_invalid`; the old order inflated
/// first and answered `status_list_invalid` after doing the work. Correctly signed, the same
/// payload is refused by its size.
#[test]
fn a_status_list_bomb_under_a_bad_signature_is_a_signature_error() {
    use cellproof_core::{encode_list, sign_json, Jws, Typ};
    let w = World::new("bomb-test", "https://registry.example", 1_796_083_200);
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &w.root("catena-x").public());
    for r in trust.insert_all(w.signed_trust_lists().iter().map(String::as_str)) {
        r.unwrap();
    }
    let genuine = w.status_list(
        &w.acme,
        "3",
        Purpose::Revocation,
        &[],
        1_796_083_200,
        1_796_083_200 + 86_400,
    );
    let j = Jws::parse(&genuine, Typ::Vc, 1 << 20).unwrap();
    let kid = j.header().kid.clone();
    let mut p = serde_json::Value::Object(j.unverified_payload().clone());
    // 17 MiB of zeros, past MAX_BITSTRING (16 MiB).
    p["credentialSubject"]["encodedList"] = encode_list(&vec![0u8; 17 << 20]).into();
    let forger = cellproof_world::derive_key("forger", "status", &kid);
    let bomb = sign_json(Typ::Vc, &p, &forger);
    let e = StatusStore::new().insert(&bomb, &trust).unwrap_err();
    assert_eq!(e.code(), "signature_invalid", "{e}");
    let signed = sign_json(Typ::Vc, &p, &w.authority);
    let e = StatusStore::new().insert(&signed, &trust).unwrap_err();
    assert_eq!(e.code(), "status_list_invalid", "{e}");
}
