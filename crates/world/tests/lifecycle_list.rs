//! The lifecycle list as a verifier reads it (SPEC.md 1.2 sections 3.4, 5 and 7): three bits
//! per entry under W3C's `message` purpose, `recycled` deciding before `revoked` as
//! `passport_ceased` (final even on an expired list), `waste` a notice, `0x6`/`0x7` an unknown
//! lifecycle for that battery alone, no list never a failure; the list in its compact form;
//! and the attacks: a list shadowing another ecosystem's, a list that lies about its purpose or
//! size, an index past the end.

use cellproof_core::{
    lifecycle::LifecycleStatus, set_positions, sign_compact, sign_status_list, status_list_payload,
    verify, Authority, Bitstring, CompactRecord, Context, Entity, Outcome, Overall, Purpose,
    StatusListSpec, StatusState, StatusStore, TrustStore, UnixTime, MIN_ENTRIES,
};
use cellproof_world::{derive_key, World, DAY};

// (The lineage tests below build passports with `World::passport` and `sign_vc`.)

const T0: u64 = 1_796_083_200;
const INDEX: u64 = 7;

fn world() -> World {
    World::new("lifecycle-list-test", "https://registry.example", T0)
}

fn trust(w: &World) -> TrustStore {
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    t.insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    t
}

/// The three one-bit lists of list "3" (revocation bits `revoked`, refresh bits `refreshed`).
fn one_bit_lists(w: &World, t: &TrustStore, revoked: &[u64], refreshed: &[u64]) -> StatusStore {
    let mut s = StatusStore::new();
    for p in Purpose::ALL {
        let set = match p {
            Purpose::Revocation => revoked,
            Purpose::Refresh => refreshed,
            _ => &[],
        };
        s.insert(&w.status_list(&w.acme, "3", p, set, T0, T0 + DAY), t)
            .unwrap();
    }
    s
}

/// A valid label of ACME at list "3", index `index`.
fn label(w: &World, index: u64) -> String {
    let claims = w.sample_claims(
        &w.acme,
        "SN1",
        Some(&format!("3/{index}")),
        "https://id.example",
    );
    w.issue(&w.acme, &claims, T0 - DAY).unwrap().url()
}

fn lifecycle_check(v: &cellproof_core::Verdict) -> &cellproof_core::StatusCheck {
    v.status
        .iter()
        .find(|s| s.purpose == Purpose::Lifecycle)
        .expect("the status stage reports the lifecycle purpose")
}

fn has_notice(v: &cellproof_core::Verdict, code: &str) -> bool {
    v.notices.iter().any(|n| n.code == code)
}

#[test]
fn no_lifecycle_list_is_not_checked_never_a_failure() {
    let w = world();
    let t = trust(&w);
    let s = one_bit_lists(&w, &t, &[], &[]);
    let v = verify(&label(&w, INDEX), &Context::new(&t, &s, UnixTime(T0 + 60)));
    assert_eq!(v.overall, Overall::Valid, "{:?}", v.code);
    assert_eq!(lifecycle_check(&v).state, StatusState::NotChecked);
    assert_eq!(v.lifecycle, None);
}

#[test]
fn recycled_is_passport_ceased_before_revoked_and_final_on_an_expired_list() {
    let w = world();
    let t = trust(&w);
    // The registry sets the revocation bit with `recycled` (so 1.1 verifiers say revoked).
    let mut s = one_bit_lists(&w, &t, &[INDEX], &[]);
    s.insert(
        &w.lifecycle_list(&w.acme, "3", &[(INDEX, 5)], T0, T0 + DAY),
        &t,
    )
    .unwrap();
    let url = label(&w, INDEX);
    let v = verify(&url, &Context::new(&t, &s, UnixTime(T0 + 60)));
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("passport_ceased"), "decides before revoked");
    assert_eq!(lifecycle_check(&v).state, StatusState::Ceased);
    assert_eq!(
        v.lifecycle.as_ref().map(|l| l.status),
        Some(LifecycleStatus::Recycled)
    );
    // Two days later every list has expired: recycled is still final (like revoked).
    let v = verify(&url, &Context::new(&t, &s, UnixTime(T0 + 2 * DAY)));
    assert_eq!(v.code, Some("passport_ceased"));
    // Another battery of the same list is untouched.
    let v = verify(&label(&w, 8), &Context::new(&t, &s, UnixTime(T0 + 60)));
    assert_eq!(v.overall, Overall::Valid);
    assert_eq!(
        v.lifecycle.map(|l| l.status),
        Some(LifecycleStatus::Original)
    );
}

#[test]
fn waste_is_a_notice_on_a_valid_verdict_and_repurposed_is_superseded() {
    let w = world();
    let t = trust(&w);
    let mut s = one_bit_lists(&w, &t, &[], &[8]);
    s.insert(
        &w.lifecycle_list(&w.acme, "3", &[(INDEX, 4), (8, 1)], T0, T0 + DAY),
        &t,
    )
    .unwrap();
    let ctx = Context::new(&t, &s, UnixTime(T0 + 60));
    let v = verify(&label(&w, INDEX), &ctx);
    assert_eq!(v.overall, Overall::Valid);
    assert!(has_notice(&v, "lifecycle_waste"));
    assert_eq!(
        v.lifecycle.as_ref().map(|l| l.status),
        Some(LifecycleStatus::Waste)
    );
    let v = verify(&label(&w, 8), &ctx);
    assert_eq!(v.overall, Overall::Valid);
    assert!(has_notice(&v, "superseded"));
    assert!(!has_notice(&v, "lifecycle_waste"));
    assert_eq!(
        v.lifecycle.as_ref().map(|l| l.status),
        Some(LifecycleStatus::Repurposed)
    );
    // Waste from an expired list is still shown, with its age and status_stale.
    let v = verify(
        &label(&w, INDEX),
        &Context::new(&t, &s, UnixTime(T0 + 2 * DAY)),
    );
    assert!(has_notice(&v, "lifecycle_waste"));
    assert_eq!(lifecycle_check(&v).state, StatusState::Stale);
}

#[test]
fn an_undefined_value_makes_that_batterys_lifecycle_unknown_and_the_rest_usable() {
    let w = world();
    let t = trust(&w);
    let mut s = one_bit_lists(&w, &t, &[], &[]);
    s.insert(
        &w.lifecycle_list(&w.acme, "3", &[(INDEX, 7), (8, 6), (9, 5)], T0, T0 + DAY),
        &t,
    )
    .unwrap();
    let ctx = Context::new(&t, &s, UnixTime(T0 + 60));
    for index in [INDEX, 8] {
        let v = verify(&label(&w, index), &ctx);
        assert_eq!(v.overall, Overall::Valid, "{index}: {:?}", v.code);
        assert!(has_notice(&v, "status_list_invalid"), "{index}");
        assert_eq!(lifecycle_check(&v).state, StatusState::Unknown);
        assert_eq!(v.lifecycle, None);
    }
    assert_eq!(verify(&label(&w, 9), &ctx).code, Some("passport_ceased"));
}

#[test]
fn an_index_past_the_end_is_refused_by_the_revocation_list_and_unknown_for_lifecycle() {
    let w = world();
    let t = trust(&w);
    let mut s = one_bit_lists(&w, &t, &[], &[]);
    s.insert(&w.lifecycle_list(&w.acme, "3", &[], T0, T0 + DAY), &t)
        .unwrap();
    let v = verify(
        &label(&w, 1_000_000),
        &Context::new(&t, &s, UnixTime(T0 + 60)),
    );
    assert_eq!(v.code, Some("status_index_out_of_range"));
    assert_eq!(lifecycle_check(&v).state, StatusState::Unknown);
    assert!(has_notice(&v, "status_index_out_of_range"));
}

#[test]
fn a_lifecycle_list_under_another_ecosystems_authority_does_not_speak_for_acme() {
    let w = world();
    let mut t = trust(&w);
    // Ouranos (recognised by catena-x) lists an authority of its own and an entity with ACME's
    // status base: its "recycled" list for ACME's URL is held under ouranos only.
    let rogue = derive_key("lifecycle-list-test", "rogue-authority", "k1");
    let mut ou = w.trust_list("ouranos");
    let acme = w
        .trust_list("catena-x")
        .entities
        .into_iter()
        .find(|e| e.id == w.acme.did)
        .unwrap();
    ou.entities.push(Entity {
        id: "did:web:copycat.example".into(),
        keys: vec![derive_key("lifecycle-list-test", "copycat", "k1").public()],
        ..acme
    });
    ou.authorities.push(Authority {
        id: "did:web:rogue-authority.example".into(),
        keys: vec![rogue.public()],
    });
    t.insert(&w.sign_trust_list(&ou)).unwrap();
    let mut s = one_bit_lists(&w, &t, &[], &[]);
    let id = Purpose::Lifecycle.list_url(&w.status_base(&w.acme), "3");
    let mut bits = Bitstring::zeroed_sized(MIN_ENTRIES, 3);
    bits.set_value(INDEX, 5).unwrap();
    let spec = StatusListSpec {
        id: &id,
        issuer: "did:web:rogue-authority.example",
        purpose: Purpose::Lifecycle,
        valid_from: T0 + 10,
        valid_until: T0 + DAY,
        ttl_ms: 1,
    };
    let shadow = sign_status_list(&status_list_payload(&spec, &bits), &rogue);
    assert_eq!(s.insert(&shadow, &t).unwrap().eco, "ouranos");
    let v = verify(&label(&w, INDEX), &Context::new(&t, &s, UnixTime(T0 + 60)));
    assert_eq!(v.overall, Overall::Valid, "{:?}", v.code);
    assert_eq!(lifecycle_check(&v).state, StatusState::NotChecked);
}

#[test]
fn a_list_that_lies_about_its_purpose_size_or_messages_is_refused() {
    let w = world();
    let t = trust(&w);
    let lifecycle_id = Purpose::Lifecycle.list_url(&w.status_base(&w.acme), "3");
    let revocation_id = Purpose::Revocation.list_url(&w.status_base(&w.acme), "3");
    let sign =
        |id: &str, purpose: Purpose, bits: &Bitstring, edit: &dyn Fn(&mut serde_json::Value)| {
            let spec = StatusListSpec {
                id,
                issuer: &w.authority_did,
                purpose,
                valid_from: T0,
                valid_until: T0 + DAY,
                ttl_ms: 1,
            };
            let mut p = status_list_payload(&spec, bits);
            edit(&mut p);
            sign_status_list(&p, &w.authority)
        };
    let three = Bitstring::zeroed_sized(MIN_ENTRIES, 3);
    let one = Bitstring::zeroed(MIN_ENTRIES);
    let cases: Vec<(&str, String)> = vec![
        // A one-bit list under the lifecycle suffix.
        (
            "one bit",
            sign(&lifecycle_id, Purpose::Lifecycle, &one, &|_| {}),
        ),
        // A lifecycle list under the revocation URL (would read 3 bits as revocations).
        (
            "revocation url",
            sign(&revocation_id, Purpose::Lifecycle, &three, &|_| {}),
        ),
        (
            "statusPurpose revocation",
            sign(&lifecycle_id, Purpose::Lifecycle, &three, &|p| {
                p["credentialSubject"]["statusPurpose"] = "revocation".into();
            }),
        ),
        (
            "no statusMessage",
            sign(&lifecycle_id, Purpose::Lifecycle, &three, &|p| {
                p["credentialSubject"]
                    .as_object_mut()
                    .unwrap()
                    .remove("statusMessage");
            }),
        ),
        (
            "recycled renamed",
            sign(&lifecycle_id, Purpose::Lifecycle, &three, &|p| {
                p["credentialSubject"]["statusMessage"][5]["message"] = "original".into();
            }),
        ),
    ];
    for (what, list) in cases {
        let e = StatusStore::new().insert(&list, &t).unwrap_err();
        assert_eq!(e.code(), "status_list_invalid", "{what}: {e}");
    }
    // W3C's plural spelling is accepted.
    let plural = sign(&lifecycle_id, Purpose::Lifecycle, &three, &|p| {
        let cs = p["credentialSubject"].as_object_mut().unwrap();
        let m = cs.remove("statusMessage").unwrap();
        cs.insert("statusMessages".into(), m);
    });
    StatusStore::new().insert(&plural, &t).unwrap();
}

#[test]
fn the_compact_form_carries_the_lifecycle_list_bit_for_bit() {
    let w = world();
    let t = trust(&w);
    let values = [(INDEX, 5u8), (8, 4), (9, 1), (MIN_ENTRIES - 1, 3)];
    let w3c = w.lifecycle_list(&w.acme, "3", &values, T0, T0 + DAY);
    let mut from_w3c = StatusStore::new();
    from_w3c.insert(&w3c, &t).unwrap();
    let id = Purpose::Lifecycle.list_url(&w.status_base(&w.acme), "3");
    let held = from_w3c.get("catena-x", &id, &t).unwrap().bits.clone();
    let record = CompactRecord {
        id: id.clone(),
        valid_from: T0,
        valid_until: T0 + DAY,
        ttl_ms: 300_000,
        base: None,
        entries: held.bit_len(),
        positions: set_positions(&held),
    };
    let body = sign_compact(&w.authority_did, &[record], &w.authority);
    let mut from_compact = StatusStore::new();
    let out = from_compact.insert_compact(&body, &t).unwrap();
    assert!(out.iter().all(|(_, r)| r.is_ok()), "{out:?}");
    let l = from_compact.get("catena-x", &id, &t).unwrap();
    assert_eq!(l.purpose, Purpose::Lifecycle);
    assert_eq!(l.bits, held);
    for (i, v) in values {
        assert_eq!(l.bits.get(i), Ok(v));
    }
    // The W3C form offered after is the same list (a no-op), not a conflict.
    from_compact.insert(&w3c, &t).unwrap();
    let mut s = one_bit_lists(&w, &t, &[], &[]);
    s.insert_compact(&body, &t).unwrap();
    let v = verify(&label(&w, INDEX), &Context::new(&t, &s, UnixTime(T0 + 60)));
    assert_eq!(v.code, Some("passport_ceased"));
    assert!(v
        .stages
        .iter()
        .any(|r| r.outcome == Outcome::Failed && r.code == Some("passport_ceased")));
}

/// A successor passport made from two originals (SPEC.md 1.2 section 3.4), its chain with the
/// originals' chains as the registry serves them (`predecessors`).
struct Lineage {
    w: World,
    trust: TrustStore,
    label: String,
    chain: cellproof_core::PassportChain,
    a_path: String,
    b_path: String,
}

fn lineage_fixture(list_b_digest: Option<&str>, b_names_successor: bool) -> Lineage {
    use cellproof_core::{passport_digest, PassportChain};
    let w = world();
    let t = trust(&w);
    let host = "https://id.example";
    let original = |serial: &str| {
        let url = format!("{host}/01/04012345000016/21/{serial}");
        let p = w.passport(&w.acme, &url, 1, None, &[], T0 - 3 * DAY);
        (url, w.sign_vc(&w.acme, &p))
    };
    let (a_url, a_v1) = original("ORIGA");
    let (b_url, b_v1) = original("ORIGB");
    let s_serial = "SL0001";
    let s_url = format!("{host}/01/04071234000018/21/{s_serial}");
    let s_pid = "urn:uuid:00000000-0000-4000-8000-00000000e001";
    let named = vec![(s_url.clone(), s_pid.to_owned())];
    let event_a = w.lifecycle_event(
        &w.repurposer,
        &a_url,
        LifecycleStatus::Original,
        LifecycleStatus::Repurposed,
        &named,
        T0 - 2 * DAY,
    );
    let event_b = w.lifecycle_event(
        &w.repurposer,
        &b_url,
        LifecycleStatus::Original,
        LifecycleStatus::Waste,
        &[],
        T0 - 2 * DAY,
    );
    let digest = |jws: &str| cellproof_core::sha256_b64(jws.as_bytes());
    let mut s = w.passport(&w.repurposer, &s_url, 1, None, &[], T0 - DAY);
    s["credentialSubject"]["id"] = s_url.clone().into();
    s["credentialSubject"]["metadata"]["passportIdentifier"] = s_pid.into();
    s["credentialSubject"]["metadata"]["predecessors"] = serde_json::json!([
        {"passportIdentifier": "urn:uuid:a", "id": a_url, "digest": digest(&a_v1)},
        {"passportIdentifier": "urn:uuid:b", "id": b_url,
         "digest": list_b_digest.map_or_else(|| digest(&b_v1), str::to_owned)},
    ]);
    let s_v1 = w.sign_vc(&w.repurposer, &s);
    let mut claims = w.sample_claims(&w.repurposer, s_serial, None, host);
    claims.insert(
        "sub".into(),
        format!("01/04071234000018/21/{s_serial}").into(),
    );
    claims.insert("url".into(), s_url.clone().into());
    if let Some(serde_json::Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(&s_v1).into());
    }
    let label = w.issue(&w.repurposer, &claims, T0 - DAY).unwrap().url();
    let a_path = "01/04012345000016/21/ORIGA".to_owned();
    let b_path = "01/04012345000016/21/ORIGB".to_owned();
    let mut chain = PassportChain {
        versions: vec![s_v1],
        ..Default::default()
    };
    chain.predecessors.insert(
        a_path.clone(),
        PassportChain {
            versions: vec![a_v1],
            events: vec![event_a],
            ..Default::default()
        },
    );
    let mut b_events = vec![event_b];
    if b_names_successor {
        b_events.push(w.lifecycle_event(
            &w.waste_operator,
            &b_url,
            LifecycleStatus::Waste,
            LifecycleStatus::Repurposed,
            &named,
            T0 - DAY,
        ));
    }
    chain.predecessors.insert(
        b_path.clone(),
        PassportChain {
            versions: vec![b_v1],
            events: b_events,
            ..Default::default()
        },
    );
    Lineage {
        w,
        trust: t,
        label,
        chain,
        a_path,
        b_path,
    }
}

fn verdict_with(f: &Lineage, chain: &cellproof_core::PassportChain) -> cellproof_core::Verdict {
    let s = StatusStore::new();
    let mut ctx = Context::new(&f.trust, &s, UnixTime(T0 + 60));
    ctx.chain = Some(chain);
    verify(&f.label, &ctx)
}

#[test]
fn a_successor_made_from_two_originals_verifies_each_under_its_own_issuer() {
    let f = lineage_fixture(None, true);
    let v = verdict_with(&f, &f.chain);
    // The label has no status entry: no revocation list to need.
    assert!(v.passport.is_some(), "{:?} {:?}", v.code, v.message);
    let outcomes: Vec<(&str, Option<&str>)> =
        v.lineage.iter().map(|l| (l.outcome, l.code)).collect();
    assert_eq!(outcomes, vec![("verified", None), ("verified", None)]);
    assert_eq!(v.lineage[0].issuer.as_deref(), Some(f.w.acme.did.as_str()));
    assert!(!has_notice(&v, "lineage_failed"));
    // Offline, or a registry that does not hold the originals: not checked, never failed.
    let mut alone = f.chain.clone();
    alone.predecessors.clear();
    let v = verdict_with(&f, &alone);
    assert!(v.lineage.iter().all(|l| l.outcome == "not_checked"));
    assert!(!has_notice(&v, "lineage_failed"));
}

#[test]
fn a_successor_claiming_an_original_that_never_named_it_fails_that_entry() {
    // B's events never name the successor: the successor cannot make itself B's.
    let f = lineage_fixture(None, false);
    let v = verdict_with(&f, &f.chain);
    let b = v.lineage.iter().find(|l| l.id.ends_with("ORIGB")).unwrap();
    assert_eq!(
        (b.outcome, b.code),
        ("failed", Some("predecessor_unconfirmed"))
    );
    assert!(has_notice(&v, "lineage_failed"));
    // The battery itself is still what its own passport says: lineage is a notice.
    assert!(v.passport.is_some());
    assert!(f.chain.predecessors.contains_key(&f.b_path));
}

#[test]
fn a_predecessor_digest_that_matches_nothing_fails_that_entry() {
    let f = lineage_fixture(Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), true);
    let v = verdict_with(&f, &f.chain);
    let b = v.lineage.iter().find(|l| l.id.ends_with("ORIGB")).unwrap();
    assert_eq!(
        (b.outcome, b.code),
        ("failed", Some("predecessor_digest_mismatch"))
    );
    let a = v.lineage.iter().find(|l| l.id.ends_with("ORIGA")).unwrap();
    assert_eq!(a.outcome, "verified");
    // An original's chain swapped for another passport (the successor's own, under A's path):
    // its latest version is not the one listed, so that entry fails.
    let mut swapped = f.chain.clone();
    let own = f.chain.versions.clone();
    swapped.predecessors.get_mut(&f.a_path).unwrap().versions = own;
    let v = verdict_with(&f, &swapped);
    let a = v.lineage.iter().find(|l| l.id.ends_with("ORIGA")).unwrap();
    assert_eq!(a.outcome, "failed");
    assert!(has_notice(&v, "lineage_failed"));
}
