//! The battery's life after first use (SPEC.md 1.2 section 3.4): the 3-bit values, the event's
//! form, every row of the transition table and every refusal, each with the attack that would
//! break it, and an event signed in the demo world verified end to end.

use cellproof_core::lifecycle::{
    check_transition, roles_for, side_effects, status_messages, Actor, LifecycleEvent,
    LifecycleStatus as L, SideEffects, EVENT,
};
use cellproof_core::{format_rfc3339, DigitalLink, Purpose, TrustStore};
use cellproof_world::{World, DAY};
use serde_json::{json, Map, Value};

const T: u64 = 1_796_083_200;
const URL: &str = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000123";
const NEXT: &str = "https://id.second-life.example/01/04012345000023/21/SL0001";

fn item() -> DigitalLink {
    DigitalLink::parse_path("/01/04012345000016/21/SN2026A000123").unwrap()
}

/// An event payload from `prev` to `new`, with a successor and a responsible party as asked.
fn payload(prev: &str, new: &str, successor: bool, responsible: bool) -> Map<String, Value> {
    let mut cs = json!({"id": URL, "passportIdentifier": "urn:uuid:3f2b8c1e-6a8d-4b7f-9c1e-2d4a5b6c7d8e",
        "previousStatus": prev, "newStatus": new, "eventDate": format_rfc3339(T - DAY)});
    if successor {
        cs["successor"] = json!({"id": NEXT, "passportIdentifier": "urn:uuid:00000000-0000-4000-8000-000000000001"});
    }
    if responsible {
        cs["responsibleParty"] =
            json!({"id": "did:web:pro.example", "name": "Example PRO", "role": "pro"});
    }
    let v = json!({"@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "BatteryLifecycleEvent"],
        "id": "urn:uuid:6f0c9a52-2d0e-4c1b-9f57-1a2b3c4d5e6f",
        "issuer": "did:web:recycling.example", "validFrom": format_rfc3339(T - DAY),
        "credentialSubject": cs});
    v.as_object().unwrap().clone()
}

/// The event `prev -> new` carrying what the table says `new` carries.
fn event(prev: L, new: L) -> LifecycleEvent {
    let successor = matches!(new, L::Repurposed | L::Remanufactured);
    LifecycleEvent::from_payload(&payload(
        prev.as_str(),
        new.as_str(),
        successor,
        new == L::Waste,
    ))
    .unwrap()
}

fn by(roles: &[&str]) -> Vec<String> {
    roles.iter().map(|r| (*r).to_owned()).collect()
}

fn check(held: L, e: &LifecycleEvent, roles: &[String], issuer: bool) -> Result<(), &'static str> {
    let actor = Actor {
        roles,
        speaks_for_issuer: issuer,
    };
    check_transition(&item(), held, e, actor, T).map_err(|e| e.code())
}

#[test]
fn values_and_messages_are_the_specs_and_6_and_7_are_unknown() {
    for (v, l) in L::ALL.into_iter().enumerate() {
        assert_eq!(usize::from(l.value()), v);
        assert_eq!(L::from_value(l.value()), Some(l));
        assert_eq!(L::parse(l.as_str()), Some(l));
    }
    for v in [6, 7, 8, 255] {
        assert_eq!(L::from_value(v), None, "{v}");
    }
    let m = status_messages();
    let m = m.as_array().unwrap();
    assert_eq!(m.len(), 8, "2^statusSize messages, as W3C requires");
    assert_eq!(m[0], json!({"status": "0x0", "message": "original"}));
    assert_eq!(m[5], json!({"status": "0x5", "message": "recycled"}));
    assert_eq!(m[6], json!({"status": "0x6", "message": "undefined"}));
    assert_eq!(m[7], json!({"status": "0x7", "message": "undefined"}));
    assert_eq!(L::parse("Recycled"), None, "names are exact");
}

#[test]
fn every_row_of_the_table_admits_its_roles_and_refuses_every_other() {
    const ROLES: [&str; 9] = [
        "manufacturer",
        "operator",
        "repairer",
        "repurposer",
        "remanufacturer",
        "waste-operator",
        "recycler",
        "inspector",
        "certifier",
    ];
    let table: [(L, &[&str]); 5] = [
        (
            L::Reused,
            &["repairer", "repurposer", "remanufacturer", "waste-operator"],
        ),
        (L::Repurposed, &["repurposer", "waste-operator"]),
        (L::Remanufactured, &["remanufacturer"]),
        (L::Waste, &["waste-operator", "recycler"]),
        (L::Recycled, &["recycler"]),
    ];
    for (new, allowed) in table {
        assert_eq!(roles_for(new), allowed);
        let e = event(L::Original, new);
        for role in ROLES {
            let r = check(L::Original, &e, &by(&[role]), false);
            if allowed.contains(&role) {
                assert_eq!(r, Ok(()), "{role} may record {}", new.as_str());
            } else {
                assert_eq!(
                    r,
                    Err("lifecycle_transition_forbidden"),
                    "{role} may not record {}",
                    new.as_str()
                );
            }
        }
        // The passport's issuer (or its agent) may record any of them, whatever its roles.
        assert_eq!(check(L::Original, &e, &by(&["manufacturer"]), true), Ok(()));
    }
}

#[test]
fn the_real_flows_of_the_spec_pass() {
    let waste_op = by(&["waste-operator"]);
    let recycler = by(&["recycler"]);
    let flows: [&[(L, L, &Vec<String>)]; 4] = [
        // original -> reused -> reused (a second repair).
        &[
            (L::Original, L::Reused, &waste_op),
            (L::Reused, L::Reused, &waste_op),
        ],
        // original -> repurposed -> waste -> recycled.
        &[
            (L::Original, L::Repurposed, &waste_op),
            (L::Repurposed, L::Waste, &waste_op),
            (L::Waste, L::Recycled, &recycler),
        ],
        // original -> waste -> repurposed (a waste battery prepared for repurposing).
        &[
            (L::Original, L::Waste, &recycler),
            (L::Waste, L::Repurposed, &waste_op),
        ],
        // original -> remanufactured (by its issuer).
        &[(L::Original, L::Remanufactured, &waste_op)],
    ];
    for flow in flows {
        for (held, new, roles) in flow {
            let issuer = *new == L::Remanufactured;
            assert_eq!(
                check(*held, &event(*held, *new), roles, issuer),
                Ok(()),
                "{held:?} -> {new:?}"
            );
        }
    }
}

#[test]
fn the_attacks_are_refused_with_their_codes() {
    let recycler = by(&["recycler"]);
    // A recycler declaring a battery repurposed.
    assert_eq!(
        check(
            L::Original,
            &event(L::Original, L::Repurposed),
            &recycler,
            false
        ),
        Err("lifecycle_transition_forbidden")
    );
    // The original issuer's key recording `original` after `recycled`, or anything after it.
    for new in L::ALL {
        assert_eq!(
            check(
                L::Recycled,
                &event(L::Recycled, new),
                &by(&["manufacturer"]),
                true
            ),
            Err("lifecycle_transition_forbidden"),
            "{new:?} after recycled"
        );
    }
    // Back to original, even by the issuer.
    assert_eq!(
        check(
            L::Waste,
            &event(L::Waste, L::Original),
            &by(&["manufacturer"]),
            true
        ),
        Err("lifecycle_transition_forbidden")
    );
    // A stale previousStatus: the battery became waste meanwhile.
    assert_eq!(
        check(L::Waste, &event(L::Original, L::Recycled), &recycler, false),
        Err("lifecycle_conflict")
    );
    // The same status again without a further successor.
    assert_eq!(
        check(L::Waste, &event(L::Waste, L::Waste), &recycler, false),
        Err("lifecycle_transition_forbidden")
    );
    // An event replayed on another battery.
    let other = DigitalLink::parse_path("/01/04012345000016/21/OTHER1").unwrap();
    let e = event(L::Original, L::Recycled);
    let actor = Actor {
        roles: &recycler,
        speaks_for_issuer: false,
    };
    assert_eq!(
        check_transition(&other, L::Original, &e, actor, T)
            .unwrap_err()
            .code(),
        "event_invalid"
    );
    // A date in 2100.
    let mut p = payload("original", "recycled", false, false);
    p["credentialSubject"]["eventDate"] = "2100-01-01T00:00:00Z".into();
    let e = LifecycleEvent::from_payload(&p).unwrap();
    assert_eq!(
        check(L::Original, &e, &recycler, false),
        Err("event_invalid")
    );
    // What a status must carry, and must not.
    let cases: [(&str, &str, bool, bool); 5] = [
        ("original", "repurposed", false, false), // no successor (77(7))
        ("original", "remanufactured", false, false),
        ("original", "waste", false, false), // no responsible party
        ("original", "recycled", true, false), // a successor on recycled
        ("original", "reused", false, true), // a responsible party off waste
    ];
    let all = by(&["repurposer", "remanufacturer", "waste-operator", "recycler"]);
    for (prev, new, s, r) in cases {
        let e = LifecycleEvent::from_payload(&payload(prev, new, s, r)).unwrap();
        assert_eq!(
            check(L::Original, &e, &all, false),
            Err("event_invalid"),
            "{new} {s} {r}"
        );
    }
}

#[test]
fn malformed_events_are_event_invalid_never_a_panic() {
    let base = payload("original", "repurposed", true, false);
    let mut cases: Vec<Map<String, Value>> = Vec::new();
    let mut with = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut p = base.clone();
        f(&mut p);
        cases.push(p);
    };
    with(&|p| {
        p.remove("id");
    });
    with(&|p| {
        p["id"] = "https://example.org/event/1".into();
    });
    with(&|p| {
        p.remove("credentialSubject");
    });
    with(&|p| p["credentialSubject"]["newStatus"] = "scrapped".into());
    with(&|p| p["credentialSubject"]["previousStatus"] = 5.into());
    with(&|p| p["credentialSubject"]["eventDate"] = "2029-03-14".into());
    with(&|p| p["credentialSubject"]["id"] = "not a url".into());
    with(&|p| {
        p["credentialSubject"]["id"] = "https://id.example/01/04012345000016/21/SN1#fragment".into()
    });
    with(&|p| p["credentialSubject"]["id"] = "https://id.example/01/04012345000016".into());
    with(&|p| p["credentialSubject"]["successor"] = json!([]));
    with(&|p| p["credentialSubject"]["successor"] = json!({"id": URL, "passportIdentifier": "x"}));
    with(&|p| p["credentialSubject"]["successor"] = json!({"id": NEXT}));
    with(&|p| p["credentialSubject"]["successor"] = json!("urn:x"));
    with(&|p| {
        p["credentialSubject"]["successor"] = Value::Array(
            (0..65)
                .map(|i| json!({"id": format!("https://x.example/01/04012345000016/21/S{i}"), "passportIdentifier": "p"}))
                .collect(),
        )
    });
    with(&|p| {
        p["credentialSubject"]["responsibleParty"] =
            json!({"id": "did:web:x", "name": "X", "role": "janitor"})
    });
    with(&|p| p["credentialSubject"]["responsibleParty"] = json!("did:web:x"));
    with(&|p| {
        p["credentialSubject"]
            .as_object_mut()
            .unwrap()
            .remove("passportIdentifier");
    });
    for (i, p) in cases.iter().enumerate() {
        let e = LifecycleEvent::from_payload(p).unwrap_err();
        assert_eq!(e.code(), "event_invalid", "case {i}: {e}");
    }
    // Several successors (one original's modules feeding several packs) are read.
    let mut p = base.clone();
    p["credentialSubject"]["successor"] = json!([
        {"id": NEXT, "passportIdentifier": "urn:uuid:00000000-0000-4000-8000-000000000001"},
        {"id": "https://id.second-life.example/01/04012345000023/21/SL0002", "passportIdentifier": "urn:uuid:00000000-0000-4000-8000-000000000002"}]);
    assert_eq!(
        LifecycleEvent::from_payload(&p).unwrap().successors.len(),
        2
    );
}

#[test]
fn side_effects_set_refresh_on_a_successor_and_revocation_on_recycled() {
    assert_eq!(
        side_effects(&event(L::Original, L::Repurposed)),
        SideEffects {
            refresh: true,
            revocation: false
        }
    );
    assert_eq!(
        side_effects(&event(L::Waste, L::Recycled)),
        SideEffects {
            refresh: false,
            revocation: true
        }
    );
    assert_eq!(
        side_effects(&event(L::Original, L::Waste)),
        SideEffects::default()
    );
    // The bits are the 1.1 purposes a 1.1 verifier reads.
    assert_eq!(Purpose::Refresh.as_str(), "refresh");
    assert_eq!(Purpose::Revocation.as_str(), "revocation");
}

#[test]
fn an_event_signed_in_the_demo_world_verifies_and_its_signer_is_the_actor() {
    let w = World::new("lifecycle-test", "https://registry.example", T);
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &w.root("catena-x").public());
    trust
        .insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    let mut p = Value::Object(payload("original", "recycled", false, false));
    p["issuer"] = w.recycler.did.clone().into();
    let signed = w.sign_vc(&w.recycler, &p);
    let v = cellproof_core::verify_vc(&signed, &EVENT, &trust, T).unwrap();
    let e = LifecycleEvent::from_payload(v.payload()).unwrap();
    let roles = v.signer.entity.roles.clone();
    assert_eq!(roles, ["recycler"]);
    let actor = Actor {
        roles: &roles,
        speaks_for_issuer: v.issuer == w.acme.did,
    };
    assert_eq!(check_transition(&item(), L::Original, &e, actor, T), Ok(()));
    // The same event by the market-surveillance inspector: a role no event may have.
    let mut p2 = p.clone();
    p2["issuer"] = w.msa.did.clone().into();
    let jws = w.sign_vc(&w.msa, &p2);
    assert_eq!(
        cellproof_core::verify_vc(&jws, &EVENT, &trust, T)
            .unwrap_err()
            .code(),
        "role_missing"
    );
    // The recycler's event with its signature changed: signature_invalid.
    let (head, sig) = signed.rsplit_once('.').unwrap();
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{head}.{first}{}", &sig[1..]);
    assert_eq!(
        cellproof_core::verify_vc(&forged, &EVENT, &trust, T)
            .unwrap_err()
            .code(),
        "signature_invalid"
    );
}
