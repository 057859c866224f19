//! The registry request envelope against real trust lists (SPEC.md 1.1 sections 4 and 6.1):
//! an issuer is authenticated in its one home ecosystem, whatever another ecosystem lists.

use cellproof_core::{
    sign_json, Expect, KeyPair, Op, Operation, ParsedRequest, TrustStore, Typ, CREDENTIAL_ROLES,
};
use serde_json::json;

const AUD: &str = "https://registry.example";

#[test]
fn an_issuer_is_authenticated_in_its_home_ecosystem_only() {
    // Both ecosystems pinned (as in the registry); Ouranos lists ACME's DID with its own
    // key. Only the registry's binding of ACME to Catena-X keeps that key out.
    let t0 = 1_800_000_000;
    let w = cellproof_world::World::new("request-home", AUD, t0);
    let mut trust = TrustStore::new();
    for eco in ["catena-x", "ouranos"] {
        trust.pin_root(eco, &w.root(eco).public());
    }
    let evil = KeyPair::from_secret("k-evil", &[66; 32]);
    let mut ouranos = w.trust_list("ouranos");
    let mut borrowed = ouranos.entities[0].clone();
    borrowed.id = w.acme.did.clone();
    borrowed.keys = vec![evil.public()];
    ouranos.entities.push(borrowed);
    trust
        .insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    trust.insert(&w.sign_trust_list(&ouranos)).unwrap();
    let now = t0 + 60;
    let req = |key: &KeyPair| {
        ParsedRequest::parse(&sign_json(
            Typ::RegistryRequest,
            &json!({"iss": w.acme.did, "iat": now, "jti": "j", "aud": AUD,
                    "op": "allocate", "list": "3", "count": 1}),
            key,
        ))
        .unwrap()
    };
    let home = |eco: Option<&'static str>| Expect {
        aud: AUD,
        op: Op::Allocate,
        roles: &CREDENTIAL_ROLES,
        home: eco,
    };
    let ok = req(&w.acme.key)
        .verify(&trust, &home(Some("catena-x")), now)
        .unwrap();
    assert_eq!(ok.issuer.eco, "catena-x");
    assert_eq!(
        ok.request.operation,
        Operation::Allocate {
            list: "3".into(),
            count: 1
        }
    );
    let e = req(&evil)
        .verify(&trust, &home(Some("catena-x")), now)
        .unwrap_err();
    assert_eq!(e.code(), "key_unknown");
    // Without the binding the borrowed key resolves in Ouranos: the binding is the guard.
    let borrowed = req(&evil).verify(&trust, &home(None), now).unwrap();
    assert_eq!(borrowed.issuer.eco, "ouranos");
    // A forged signature under ACME's own kid fails the signature, not the trust check.
    let forger = KeyPair::from_secret(&w.acme.key.kid, &[67; 32]);
    let e = req(&forger)
        .verify(&trust, &home(Some("catena-x")), now)
        .unwrap_err();
    assert_eq!(e.code(), "signature_invalid");
}
