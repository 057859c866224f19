//! Online resolution (SPEC.md 1.2 section 2.2): where a verifier asks for a label without an
//! embedded credential, which linkset link it follows, and the verdict about the passport it
//! fetched: the passport is the credential the verdict is about (signature, trust, binding to
//! the scanned GTIN and serial, time, status, chain, attestations, `source`). Each rule has the
//! attack that would break it.

use std::collections::BTreeMap;

use cellproof_core::p256::ecdsa::{Signature, SigningKey};
use cellproof_core::{
    passport_links, plan, sha256_b64, verify, verify_resolved, Ask, Context, Fetched, Outcome,
    Overall, PassportChain, Purpose, Stage, StatusStore, TrustStore, UnixTime, Verdict,
};
use cellproof_core::{AnyKey, Typ};
use cellproof_world::{World, DAY, YEAR};
use serde_json::{json, Value};

const T0: u64 = 1_796_083_200;
const GTIN: &str = "04012345000016";
const SERIAL: &str = "SN2026A000123";
const URL: &str = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000123";
const CHAIN_URL: &str = "https://id.cells.acme.example/v1/passports/04012345000016/SN2026A000123";

struct Fixture {
    w: World,
    trust: TrustStore,
    status: StatusStore,
}

fn fixture_with(revoked: &[u64]) -> Fixture {
    let w = World::new("resolve-test", "https://registry.example", T0);
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
        let set = if p == Purpose::Revocation {
            revoked
        } else {
            &[]
        };
        status
            .insert(&w.status_list(&w.acme, "3", p, set, T0, T0 + DAY), &trust)
            .unwrap();
    }
    Fixture { w, trust, status }
}

fn fixture() -> Fixture {
    fixture_with(&[])
}

/// Versions 1 and 2 of the passport of `subject`, each passed through `edit` before signing.
fn chain_with(f: &Fixture, subject: &str, edit: impl Fn(&mut Value)) -> PassportChain {
    let w = &f.w;
    let mut p1 = w.passport(&w.acme, subject, 1, None, &[], T0 - 40 * DAY);
    edit(&mut p1);
    let v1 = w.sign_vc(&w.acme, &p1);
    let mut p2 = w.passport(&w.acme, subject, 2, Some(&v1), &[], T0 - 10 * DAY);
    edit(&mut p2);
    let v2 = w.sign_vc(&w.acme, &p2);
    PassportChain {
        events: Vec::new(),
        predecessors: Default::default(),
        versions: vec![v1, v2],
        attestations: BTreeMap::new(),
    }
}

fn chain(f: &Fixture) -> PassportChain {
    chain_with(f, URL, |_| {})
}

fn chain_json(c: &PassportChain) -> String {
    json!({"versions": c.versions, "attestations": c.attestations}).to_string()
}

fn ctx(f: &Fixture) -> Context<'_> {
    Context::new(&f.trust, &f.status, UnixTime(T0 + 60))
}

fn resolved(f: &Fixture, input: &str, body: &str) -> Verdict {
    verify_resolved(
        input,
        &Fetched::Chain {
            url: CHAIN_URL,
            body,
        },
        &ctx(f),
    )
}

fn stage(v: &Verdict, s: Stage) -> (Outcome, Option<&'static str>) {
    let r = v
        .stages
        .iter()
        .find(|r| r.stage == s)
        .unwrap_or_else(|| panic!("no {s:?} stage: {v:#?}"));
    (r.outcome, r.code)
}

#[test]
fn a_plain_digital_link_resolved_to_its_passport_chain_is_valid_and_says_where_it_came_from() {
    let f = fixture();
    // Offline, the plain link is unverifiable, never invalid.
    let offline = verify(URL, &ctx(&f));
    assert_eq!(offline.overall, Overall::Unverifiable);
    assert_eq!(offline.code, Some("no_embedded_credential"));
    let v = resolved(&f, URL, &chain_json(&chain(&f)));
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(v.code, None);
    assert_eq!(stage(&v, Stage::Resolve).0, Outcome::Passed);
    for s in [
        Stage::Decode,
        Stage::Signature,
        Stage::Trust,
        Stage::Binding,
        Stage::Time,
        Stage::Passport,
    ] {
        assert_eq!(stage(&v, s).0, Outcome::Passed, "{s:?}: {v:#?}");
    }
    // This passport carries no credentialStatus: its status is not checked, and says so.
    assert_eq!(stage(&v, Stage::Status).0, Outcome::NotChecked);
    let src = v.source.as_ref().unwrap();
    assert_eq!(src.kind, "resolved");
    assert_eq!(src.url.as_deref(), Some(CHAIN_URL));
    assert_eq!(v.issuer.as_ref().unwrap().id, f.w.acme.did);
    assert_eq!(v.passport.as_ref().unwrap().version, 2);
    assert_eq!(v.label.as_ref().unwrap().form.as_str(), "digital-link");
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["source"]["kind"], "resolved");
    assert!(json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stage"] == "resolve" && s["outcome"] == "passed"));
    // A 1.1 verdict keeps its shape: no `source`, no `resolve` stage.
    let json = serde_json::to_value(&offline).unwrap();
    assert!(json.get("source").is_none());
    assert!(!json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stage"] == "resolve"));
}

#[test]
fn an_element_string_and_a_bracketed_one_resolve_like_the_link() {
    let f = fixture();
    let body = chain_json(&chain(&f));
    for input in [
        format!("]d201{GTIN}21{SERIAL}"),
        format!("(01){GTIN}(21){SERIAL}"),
    ] {
        let v = resolved(&f, &input, &body);
        assert_eq!(v.overall, Overall::Valid, "{input}: {v:#?}");
        assert_eq!(v.label.as_ref().unwrap().form.as_str(), "element-string");
    }
}

#[test]
fn the_current_version_alone_as_a_jws_or_an_enveloped_credential_is_valid() {
    let f = fixture();
    let c = chain_with(&f, URL, |_| {});
    // Version 1 alone (a single-version passport) as the resolver's dpp link serves it.
    let v1 = &c.versions[0];
    let enveloped = json!({"@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "EnvelopedVerifiableCredential", "id": format!("data:application/vc+jwt,{v1}")})
    .to_string();
    for body in [v1.clone(), enveloped] {
        let v = verify_resolved(
            URL,
            &Fetched::Passport {
                url: URL,
                body: &body,
            },
            &ctx(&f),
        );
        assert_eq!(v.overall, Overall::Valid, "{v:#?}");
        assert_eq!(v.passport.as_ref().unwrap().version, 1);
    }
    // Version 2 alone cannot show its history: the chain is broken, never valid.
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &c.versions[1],
        },
        &ctx(&f),
    );
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("passport_chain_broken"));
    // An enveloped credential of another media type is not read.
    let other = json!({"type": "EnvelopedVerifiableCredential",
        "id": format!("data:application/vc+sd-jwt,{v1}")})
    .to_string();
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &other,
        },
        &ctx(&f),
    );
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("passport_invalid"));
}

#[test]
fn another_batterys_passport_behind_the_link_is_sub_mismatch() {
    let f = fixture();
    let other = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000124";
    let v = resolved(&f, URL, &chain_json(&chain_with(&f, other, |_| {})));
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("sub_mismatch"));
    // The same battery under another host is the same battery (binding is by GTIN and serial).
    let mirror = "https://mirror.example/01/04012345000016/21/SN2026A000123";
    let v = resolved(&f, mirror, &chain_json(&chain(&f)));
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
}

#[test]
fn a_passport_for_a_gtin_its_issuer_does_not_own_is_gtin_not_issuer() {
    let f = fixture();
    // GS1's example GTIN, not in ACME's company prefixes: ACME signs a passport for it.
    let url = "https://id.gs1.org/01/09506000134352/21/ABC123";
    let v = resolved(&f, url, &chain_json(&chain_with(&f, url, |_| {})));
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("gtin_not_issuer"));
}

#[test]
fn a_passport_signed_outside_the_trust_lists_is_unverifiable_never_valid() {
    let f = fixture();
    // The same issuer DID and shape, another world's key: not the listed key.
    let stranger = World::new("someone-else", "https://registry.example", T0);
    let p = f.w.passport(&f.w.acme, URL, 1, None, &[], T0 - DAY);
    let forged = stranger.sign_vc(&stranger.acme, &p);
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &forged,
        },
        &ctx(&f),
    );
    assert_ne!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(v.code, Some("signature_invalid"), "{v:#?}");
    // An issuer no list names at all: unverifiable issuer_unknown.
    let mut p = p.clone();
    p["issuer"] = "did:web:unknown.example".into();
    let unknown = stranger.sign_vc(&stranger.acme, &p);
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &unknown,
        },
        &ctx(&f),
    );
    assert_eq!(v.overall, Overall::Unverifiable, "{v:#?}");
    assert_eq!(v.code, Some("issuer_unknown"));
    assert_eq!(stage(&v, Stage::Passport).0, Outcome::Skipped);
}

#[test]
fn a_tampered_passport_is_signature_invalid() {
    let f = fixture();
    let c = chain(&f);
    let v2 = &c.versions[1];
    let (head, sig) = v2.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &sig[1..]);
    let body = json!({"versions": [c.versions[0].clone(), tampered]}).to_string();
    let v = resolved(&f, URL, &body);
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("signature_invalid"));
}

#[test]
fn a_revoked_passport_is_revoked_and_an_unheld_list_is_status_unknown() {
    let with_status = |p: &mut Value, f: &World, list: &str| {
        p["credentialStatus"] = json!({"type": "BitstringStatusListEntry",
            "statusPurpose": "revocation", "statusListIndex": "7",
            "statusListCredential": Purpose::Revocation.list_url(&f.status_base(&f.acme), list)});
    };
    let f = fixture_with(&[7]);
    let c = chain_with(&f, URL, |p| with_status(p, &f.w, "3"));
    let v = resolved(&f, URL, &chain_json(&c));
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("revoked"));
    // The same index clear: valid, and the status check is reported.
    let f = fixture();
    let c = chain_with(&f, URL, |p| with_status(p, &f.w, "3"));
    let v = resolved(&f, URL, &chain_json(&c));
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(v.status.len(), 1);
    // A list the verifier does not hold: unverifiable, never valid.
    let c = chain_with(&f, URL, |p| with_status(p, &f.w, "99"));
    let v = resolved(&f, URL, &chain_json(&c));
    assert_eq!(v.overall, Overall::Unverifiable, "{v:#?}");
    assert_eq!(v.code, Some("status_unknown"));
    // An index at u64::MAX: out of range, not a panic and not valid.
    let c = chain_with(&f, URL, |p| {
        with_status(p, &f.w, "3");
        p["credentialStatus"]["statusListIndex"] = u64::MAX.to_string().into();
    });
    let v = resolved(&f, URL, &chain_json(&c));
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("status_index_out_of_range"));
}

#[test]
fn a_passport_from_2100_is_not_yet_valid_and_one_past_valid_until_is_expired() {
    let f = fixture();
    let w = &f.w;
    let year_2100 = 4_102_444_800;
    let p = w.passport(&w.acme, URL, 1, None, &[], year_2100);
    let body = w.sign_vc(&w.acme, &p);
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &body,
        },
        &ctx(&f),
    );
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    // The issuer's key window ends long before 2100: refused at trust, before time.
    assert_eq!(v.code, Some("key_not_valid_at_iat"));
    let p = w.passport(&w.acme, URL, 1, None, &[], T0 + 2 * DAY);
    let body = w.sign_vc(&w.acme, &p);
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &body,
        },
        &ctx(&f),
    );
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("not_yet_valid"));
    let mut p = w.passport(&w.acme, URL, 1, None, &[], T0 - YEAR);
    p["validUntil"] = "2026-01-01T00:00:00Z".into();
    let body = w.sign_vc(&w.acme, &p);
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &body,
        },
        &ctx(&f),
    );
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("expired"));
}

#[test]
fn a_broken_chain_is_invalid_even_without_a_label_digest() {
    let f = fixture();
    let mut c = chain(&f);
    // Version 1 swapped for another validly signed version 1: version 2's predecessor no
    // longer matches.
    let w = &f.w;
    c.versions[0] = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, &[], T0 - 39 * DAY),
    );
    let v = resolved(&f, URL, &chain_json(&c));
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("passport_chain_broken"));
}

#[test]
fn resolution_failures_are_unverifiable_with_the_resolve_stage_failed() {
    let f = fixture();
    for (code, want) in [
        ("resolver_unreachable", "resolver_unreachable"),
        ("resolution_limit", "resolution_limit"),
        ("passport_not_linked", "passport_not_linked"),
        ("linkset_invalid", "linkset_invalid"),
        ("anything else", "resolver_unreachable"),
    ] {
        let v = verify_resolved(
            URL,
            &Fetched::Failed {
                url: Some(URL),
                code,
                detail: "connection refused",
            },
            &ctx(&f),
        );
        assert_eq!(v.overall, Overall::Unverifiable, "{code}");
        assert_eq!(v.code, Some(want));
        assert_eq!(stage(&v, Stage::Resolve), (Outcome::Failed, Some(want)));
        assert!(v.source.is_none());
    }
    // Garbage where the chain should be: invalid, the fetched artifact is not a passport.
    let v = resolved(&f, URL, "<html>hello</html>");
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(stage(&v, Stage::Resolve).0, Outcome::Passed);
    assert_eq!(stage(&v, Stage::Decode).0, Outcome::Failed);
}

#[test]
fn a_label_without_a_serial_is_never_a_batterys_verdict() {
    let f = fixture();
    let model = "https://id.cells.acme.example/01/04012345000016";
    let v = resolved(&f, model, &chain_json(&chain(&f)));
    assert_eq!(v.overall, Overall::Unverifiable);
    assert_eq!(v.code, Some("item_not_serialised"));
}

#[test]
fn a_cellproof_label_uses_the_resolved_chain_as_its_passport() {
    let f = fixture();
    let w = &f.w;
    let c = chain(&f);
    let mut claims = w.reference_claims();
    if let Some(Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert(
            "dig".into(),
            cellproof_core::passport_digest(&c.versions[0]).into(),
        );
    }
    let label = w.issue(&w.acme, &claims, T0 - 30 * DAY).unwrap().url();
    let v = resolved(&f, &label, &chain_json(&c));
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(stage(&v, Stage::Passport).0, Outcome::Passed);
    assert!(v.credential.is_some());
}

#[test]
fn plan_asks_the_labels_own_resolver_and_element_strings_the_configured_ones() {
    let asks = plan(
        &format!("{URL}?17=261231&linkType=gs1:pip#chapter1"),
        &["https://ignored.example"],
    )
    .unwrap();
    assert_eq!(
        asks,
        vec![Ask {
            url: format!("{URL}?17=261231&linkType=linkset"),
            linkset: true
        }]
    );
    let asks = plan(
        &format!("(01){GTIN}(21){SERIAL}"),
        &["http://127.0.0.1:8080/", "https://id.gs1.org", "ftp://nope"],
    )
    .unwrap();
    let urls: Vec<&str> = asks.iter().map(|a| a.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            format!("http://127.0.0.1:8080/01/{GTIN}/21/{SERIAL}?linkType=linkset"),
            format!("https://id.gs1.org/01/{GTIN}/21/{SERIAL}?linkType=linkset"),
        ]
    );
    // A UNTP link is fetched at its payload's uri, directly.
    let q = "%7B%22payload%22%3A%7B%22uri%22%3A%22https%3A%2F%2Fexample.com%2Fdpp.json%22%7D%7D";
    let asks = plan(&format!("https://verify.example/?q={q}"), &[]).unwrap();
    assert_eq!(
        asks,
        vec![Ask {
            url: "https://example.com/dpp.json".into(),
            linkset: false
        }]
    );
    assert!(plan("not a label at all", &[]).unwrap().is_empty());
    assert_eq!(
        plan("https://x.example/01/04012345000017/21/A", &[])
            .unwrap_err()
            .code(),
        "gtin_invalid"
    );
}

#[test]
fn passport_links_take_the_items_context_and_never_another_batterys() {
    let base = format!("{URL}?linkType=linkset");
    let linkset = json!({"linkset": [
        {"anchor": "https://id.cells.acme.example/01/04012345000016",
         "https://gs1.org/voc/dpp": [{"href": "https://model.example/dpp"}]},
        {"anchor": "https://id.cells.acme.example/01/04012345000016/21/SN2026A000124",
         "https://cellproof.dev/rel/passport": [{"href": "https://other.example/p"}]},
        {"anchor": URL,
         "https://gs1.org/voc/pip": [{"href": "https://acme.example/pip", "type": "text/html"}],
         "https://cellproof.dev/rel/passport": [
            {"href": "/01/04012345000016/21/SN2026A000123", "type": "application/vc+jwt"}],
         "https://cellproof.dev/rel/passport-chain": [
            {"href": "/v1/passports/04012345000016/SN2026A000123", "type": "application/json"}]}
    ]})
    .to_string();
    let links = passport_links(&linkset, URL, &base).unwrap();
    assert_eq!(links.chain.as_deref(), Some(CHAIN_URL));
    assert_eq!(links.passport.as_deref(), Some(URL));
    // Only the model's context: its dpp link (a model passport, bound or refused later).
    let model_only = json!({"linkset": [
        {"anchor": "https://id.cells.acme.example/01/04012345000016",
         "gs1:dpp": [{"href": "https://model.example/dpp", "type": "text/html"},
                     {"href": "https://model.example/dpp.jwt"}]}]})
    .to_string();
    let links = passport_links(&model_only, URL, &base).unwrap();
    assert_eq!(
        links.passport.as_deref(),
        Some("https://model.example/dpp.jwt")
    );
    assert_eq!(links.chain, None);
    // Only another battery's context: nothing for this one.
    let other_only = json!({"linkset": [
        {"anchor": "https://id.cells.acme.example/01/04012345000016/21/SN2026A000124",
         "https://cellproof.dev/rel/passport": [{"href": "https://other.example/p"}]}]})
    .to_string();
    assert_eq!(
        passport_links(&other_only, URL, &base).unwrap_err().code(),
        "passport_not_linked"
    );
    // A UNTP dpp link type and a sustainabilityInfo fallback.
    let untp = json!({"linkset": [{"anchor": URL,
        "https://gs1.org/voc/sustainabilityInfo": [{"href": "https://s.example/vc"}],
        "https://test.uncefact.org/vocabulary/untp/dpp": [{"href": "https://u.example/dpp"}]}]})
    .to_string();
    assert_eq!(
        passport_links(&untp, URL, &base)
            .unwrap()
            .passport
            .as_deref(),
        Some("https://u.example/dpp")
    );
    // Only a product page: not linked. A javascript: href is never followed.
    let page_only = json!({"linkset": [{"anchor": URL,
        "https://gs1.org/voc/pip": [{"href": "https://acme.example/pip"}],
        "https://gs1.org/voc/dpp": [{"href": "javascript:alert(1)"}]}]})
    .to_string();
    assert_eq!(
        passport_links(&page_only, URL, &base).unwrap_err().code(),
        "passport_not_linked"
    );
    for bad in [
        "[]",
        "{\"linkset\": {}}",
        "{\"links\": []}",
        "{\"linkset\": [{\"anchor\": 5}]}",
        "{\"linkset\": [1]}",
        "not json",
        "{\"linkset\": [], \"linkset\": []}",
    ] {
        assert_eq!(
            passport_links(bad, URL, &base).unwrap_err().code(),
            "linkset_invalid",
            "{bad}"
        );
    }
    let huge = format!(
        "{{\"linkset\": [], \"pad\": \"{}\"}}",
        "x".repeat(300 * 1024)
    );
    assert_eq!(
        passport_links(&huge, URL, &base).unwrap_err().code(),
        "resolution_limit"
    );
}

#[test]
fn a_resolved_verdict_binds_the_attestations_the_passport_lists() {
    let f = fixture();
    let w = &f.w;
    let att = w.attestation(
        &w.certifier,
        URL,
        cellproof_core::topics::CARBON,
        &[],
        (T0 - YEAR, T0 + YEAR),
    );
    let listed = vec![cellproof_world::Listed {
        topic: cellproof_core::topics::CARBON.into(),
        materials: vec![],
        subject: URL.into(),
        jws: att.clone(),
    }];
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, &listed, T0 - DAY),
    );
    let body =
        json!({"versions": [v1], "attestations": {sha256_b64(att.as_bytes()): att}}).to_string();
    let v = resolved(&f, URL, &body);
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(stage(&v, Stage::Attestations).0, Outcome::Passed);
    assert!(v
        .attestations
        .iter()
        .any(|a| a.topic == cellproof_core::topics::CARBON
            && a.outcome == cellproof_core::AttestationOutcome::Verified));
}

const DPP_DID: &str = "did:web:dpp.example.org";

/// A passport signed by `did:web:dpp.example.org` (no trust list names it) with `key`, and
/// that DID's document listing `doc_key` under `relations`.
fn did_web_case(
    f: &Fixture,
    key: &cellproof_core::KeyPair,
    doc_key: &cellproof_core::KeyPair,
    relations: &[&str],
) -> (String, String) {
    let mut p = f.w.passport(&f.w.acme, URL, 1, None, &[], T0 - DAY);
    p["issuer"] = DPP_DID.into();
    let issuer = cellproof_world::Issuer {
        key: cellproof_core::KeyPair::from_secret(&key.kid, &key.signing.to_bytes()),
        ..f.w.acme.clone()
    };
    let jws = f.w.sign_vc(&issuer, &p);
    let vm_id = format!("{DPP_DID}#{}", doc_key.kid);
    let mut doc = json!({"@context": ["https://www.w3.org/ns/did/v1"], "id": DPP_DID,
        "verificationMethod": [{"id": vm_id, "type": "JsonWebKey", "controller": DPP_DID,
            "publicKeyJwk": doc_key.public().to_jwk()}]});
    for r in relations {
        doc[*r] = json!([vm_id]);
    }
    (jws, doc.to_string())
}

fn with_did(f: &Fixture, jws: &str, doc: Option<&str>) -> Verdict {
    let mut c = ctx(f);
    c.did_document = doc;
    verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: jws,
        },
        &c,
    )
}

#[test]
fn a_did_web_issuer_outside_the_trust_lists_is_named_and_unverifiable_never_valid() {
    let f = fixture();
    let key = cellproof_core::KeyPair::from_secret("k1", &[7; 32]);
    let (jws, doc) = did_web_case(&f, &key, &key, &["assertionMethod"]);
    // Without its DID document: issuer_unknown naming the DID, the signature not checked.
    let v = with_did(&f, &jws, None);
    assert_eq!(v.overall, Overall::Unverifiable, "{v:#?}");
    assert_eq!(v.code, Some("issuer_unknown"));
    assert_eq!(v.issuer_did.as_deref(), Some(DPP_DID));
    assert_eq!(stage(&v, Stage::Signature).0, Outcome::NotChecked);
    // With it: the signature holds under the document's key; still unverifiable, never valid.
    let v = with_did(&f, &jws, Some(&doc));
    assert_eq!(v.overall, Overall::Unverifiable, "{v:#?}");
    assert_eq!(v.code, Some("issuer_unknown"));
    assert_eq!(stage(&v, Stage::Signature).0, Outcome::Passed);
    assert_eq!(stage(&v, Stage::Binding).0, Outcome::Passed);
    let json = serde_json::to_value(cellproof_core::VerdictJson::from(&v)).unwrap();
    assert_eq!(json["issuerDid"], DPP_DID);
    // Signed by another key than the document lists: a forgery, invalid.
    let other = cellproof_core::KeyPair::from_secret("k1", &[8; 32]);
    let (forged, _) = did_web_case(&f, &other, &key, &["assertionMethod"]);
    let v = with_did(&f, &forged, Some(&doc));
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("signature_invalid"));
}

#[test]
fn a_did_document_that_does_not_vouch_for_the_key_gives_no_key() {
    let f = fixture();
    let key = cellproof_core::KeyPair::from_secret("k1", &[7; 32]);
    // Listed for authentication only, not assertionMethod: key_unknown.
    let (jws, doc) = did_web_case(&f, &key, &key, &["authentication"]);
    let v = with_did(&f, &jws, Some(&doc));
    assert_eq!(v.overall, Overall::Unverifiable);
    assert_eq!(v.code, Some("key_unknown"));
    // Another DID's document (an attacker's server answering for the DID): did_unresolvable.
    let (jws, doc) = did_web_case(&f, &key, &key, &["assertionMethod"]);
    let foreign = doc.replace(
        &format!("\"id\":\"{DPP_DID}\""),
        "\"id\":\"did:web:evil.example\"",
    );
    assert_ne!(foreign, doc);
    let v = with_did(&f, &jws, Some(&foreign));
    assert_eq!(v.overall, Overall::Unverifiable);
    assert_eq!(v.code, Some("did_unresolvable"));
    // Not JSON at all, or far too large: did_unresolvable, no panic.
    for bad in ["<html>", &"x".repeat(70 * 1024)] {
        let v = with_did(&f, &jws, Some(bad));
        assert_eq!(v.code, Some("did_unresolvable"));
    }
    // An EC key on another curve than P-256 (here Ed25519's name): not a key this reads.
    let ec = doc.replace("\"kty\":\"OKP\"", "\"kty\":\"EC\"");
    let v = with_did(&f, &jws, Some(&ec));
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("key_invalid"));
    // A JWK carrying its private part: refused as a key.
    let mut with_d: Value = serde_json::from_str(&doc).unwrap();
    with_d["verificationMethod"][0]["publicKeyJwk"]["d"] = "AAAA".into();
    let v = with_did(&f, &jws, Some(&with_d.to_string()));
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("key_invalid"));
    // A did:web issuer that claims the GTIN of a listed company does not become it: the
    // verdict names the DID, not ACME.
    assert!(v.issuer.is_none());
}

/// A passport of `DPP_DID` signed with ES256 under `sk` (kid `{DPP_DID}#p256-1`, a DID URL),
/// and that DID's document listing the P-256 public key `jwk` for assertions.
fn es256_case(f: &Fixture, sk: &SigningKey, jwk: Value) -> (String, String) {
    let kid = format!("{DPP_DID}#p256-1");
    let mut p = f.w.passport(&f.w.acme, URL, 1, None, &[], T0 - DAY);
    p["issuer"] = DPP_DID.into();
    let jws = cellproof_core::sign_es256(Typ::Vc, &kid, p.to_string().as_bytes(), sk);
    let doc = json!({"@context": ["https://www.w3.org/ns/did/v1"], "id": DPP_DID,
        "verificationMethod": [{"id": kid, "type": "JsonWebKey", "controller": DPP_DID,
            "publicKeyJwk": jwk}],
        "assertionMethod": [kid]});
    (jws, doc.to_string())
}

/// The compact JWS with its signature replaced.
fn with_signature(jws: &str, sig: &[u8]) -> String {
    let (input, _) = jws.rsplit_once('.').unwrap();
    format!("{input}.{}", cellproof_core::b64_encode(sig))
}

#[test]
fn es256_passports_of_did_web_issuers_verify_under_their_p256_key_only() {
    let f = fixture();
    let sk = SigningKey::from_slice(&[9; 32]).unwrap();
    let jwk = AnyKey::P256(*sk.verifying_key()).to_jwk();
    let (jws, doc) = es256_case(&f, &sk, jwk.clone());
    let v = with_did(&f, &jws, Some(&doc));
    assert_eq!(v.overall, Overall::Unverifiable, "{v:#?}");
    assert_eq!(v.code, Some("issuer_unknown"));
    assert_eq!(v.issuer_did.as_deref(), Some(DPP_DID));
    assert_eq!(stage(&v, Stage::Signature).0, Outcome::Passed, "{v:#?}");
    assert_eq!(stage(&v, Stage::Binding).0, Outcome::Passed);

    // Signed by another P-256 key than the document lists: a forgery.
    let other = SigningKey::from_slice(&[10; 32]).unwrap();
    let (forged, _) = es256_case(&f, &other, jwk.clone());
    let v = with_did(&f, &forged, Some(&doc));
    assert_eq!(
        (v.overall, v.code),
        (Overall::Invalid, Some("signature_invalid"))
    );

    // JOSE does not forbid a high S: (r, n - s) verifies as (r, s) does.
    let sig = cellproof_core::b64_decode(jws.rsplit('.').next().unwrap(), "signature").unwrap();
    let parsed = Signature::from_slice(&sig).unwrap();
    let (r, s) = parsed.split_scalars();
    let flipped = Signature::from_scalars(r, -s).unwrap();
    assert_ne!(flipped.to_bytes().as_slice(), sig.as_slice());
    let v = with_did(&f, &with_signature(&jws, &flipped.to_bytes()), Some(&doc));
    assert_eq!(stage(&v, Stage::Signature).0, Outcome::Passed, "{v:#?}");

    // r zero, s at the group order or above, a DER signature: signature_invalid, never a panic.
    const N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    let n: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&N[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut r0 = sig.clone();
    r0[..32].fill(0);
    let mut s_n = sig.clone();
    s_n[32..].copy_from_slice(&n);
    let mut s_max = sig.clone();
    s_max[32..].fill(0xff);
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend_from_slice(&sig[..32]);
    der.extend_from_slice(&[0x02, 0x20]);
    der.extend_from_slice(&sig[32..]);
    for bad in [r0, s_n, s_max, der] {
        let v = with_did(&f, &with_signature(&jws, &bad), Some(&doc));
        assert_eq!(
            (v.overall, v.code),
            (Overall::Invalid, Some("signature_invalid")),
            "{v:#?}"
        );
    }

    // A point off the curve, a coordinate of 31 bytes, a private key in the JWK, another
    // curve: key_invalid.
    let mut off = jwk.clone();
    let mut y = cellproof_core::b64_decode(jwk["y"].as_str().unwrap(), "payload").unwrap();
    y[31] ^= 1;
    off["y"] = cellproof_core::b64_encode(&y).into();
    let mut short = jwk.clone();
    short["x"] = cellproof_core::b64_encode(&[1; 31]).into();
    let mut private = jwk.clone();
    private["d"] = cellproof_core::b64_encode(&sk.to_bytes()).into();
    let mut p384 = jwk.clone();
    p384["crv"] = "P-384".into();
    for bad in [off, short, private, p384] {
        let (_, doc) = es256_case(&f, &sk, bad.clone());
        let v = with_did(&f, &jws, Some(&doc));
        assert_eq!(
            (v.overall, v.code),
            (Overall::Invalid, Some("key_invalid")),
            "{bad}"
        );
    }

    // The document gives an Ed25519 key under that kid: the alg is not the key's.
    let ed = cellproof_core::KeyPair::from_secret("p256-1", &[7; 32]);
    let (_, ed_doc) = es256_case(&f, &sk, ed.public().to_jwk());
    let v = with_did(&f, &jws, Some(&ed_doc));
    assert_eq!(
        (v.overall, v.code),
        (Overall::Invalid, Some("signature_invalid"))
    );
}

#[test]
fn es256_is_refused_everywhere_but_a_did_web_passport() {
    let f = fixture();
    let sk = SigningKey::from_slice(&[9; 32]).unwrap();
    // ACME, which a trust list names, signing ES256: trust-list keys stay Ed25519.
    let p = f.w.passport(&f.w.acme, URL, 1, None, &[], T0 - DAY);
    let kid = f.w.acme.key.kid.clone();
    let jws = cellproof_core::sign_es256(Typ::Vc, &kid, p.to_string().as_bytes(), &sk);
    let v = with_did(&f, &jws, None);
    assert_eq!(
        (v.overall, v.code),
        (Overall::Invalid, Some("alg_unsupported")),
        "{v:#?}"
    );
    // A label's own credential signed ES256 (header alg only): refused at decode.
    let header = cellproof_core::b64_encode(br#"{"alg":"ES256","kid":"k1","typ":"vc+jwt"}"#);
    let vc = format!(
        "{header}.{}.{}",
        cellproof_core::b64_encode(b"{}"),
        "A".repeat(86)
    );
    assert_eq!(
        cellproof_core::Jws::parse(&vc, Typ::Vc, 10_000)
            .unwrap_err()
            .code(),
        "alg_unsupported"
    );
    assert!(cellproof_core::Jws::parse_resolved(&vc, Typ::Vc, 10_000).is_ok());
    // Only a vc+jwt may be ES256 even when resolving: a status list or trust list may not.
    let header = cellproof_core::b64_encode(br#"{"alg":"ES256","kid":"k1","typ":"bp+jwt"}"#);
    let bp = format!(
        "{header}.{}.{}",
        cellproof_core::b64_encode(b"{}"),
        "A".repeat(86)
    );
    assert_eq!(
        cellproof_core::Jws::parse_resolved(&bp, Typ::Credential, 10_000)
            .unwrap_err()
            .code(),
        "alg_unsupported"
    );
}

#[test]
fn a_kid_written_as_a_did_url_names_the_listed_key() {
    let f = fixture();
    // ACME's passport signed under `{did}#{kid}` (SPEC.md section 1): the same key.
    let p = f.w.passport(&f.w.acme, URL, 1, None, &[], T0 - DAY);
    let issuer = cellproof_world::Issuer {
        key: cellproof_core::KeyPair::from_secret(
            &format!("{}#{}", f.w.acme.did, f.w.acme.key.kid),
            &f.w.acme.key.signing.to_bytes(),
        ),
        ..f.w.acme.clone()
    };
    let v = with_did(&f, &f.w.sign_vc(&issuer, &p), None);
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    // Another entity's DID in front of ACME's kid is not ACME's key (a mandated agent's form).
    let issuer = cellproof_world::Issuer {
        key: cellproof_core::KeyPair::from_secret(
            &format!("{}#{}", f.w.denchi.did, f.w.acme.key.kid),
            &f.w.acme.key.signing.to_bytes(),
        ),
        ..f.w.acme.clone()
    };
    let v = with_did(&f, &f.w.sign_vc(&issuer, &p), None);
    assert_eq!(
        (v.overall, v.code),
        (Overall::Unverifiable, Some("key_unknown")),
        "{v:#?}"
    );
    assert!(cellproof_core::same_kid("did:web:a", "k1", "did:web:a#k1"));
    assert!(cellproof_core::same_kid("did:web:a", "did:web:a#k1", "k1"));
    assert!(!cellproof_core::same_kid(
        "did:web:a",
        "k1",
        "did:web:ab#k1"
    ));
    assert!(!cellproof_core::same_kid("did:web:a", "k1", "did:web:a#"));
}

#[test]
fn did_web_urls_of_loopback_hosts_are_http_only_where_the_shell_allows_it() {
    use cellproof_core::did_web_url_dev;
    let local = "did:web:127.0.0.1%3A8081";
    assert_eq!(
        did_web_url_dev(local, true).as_deref(),
        Some("http://127.0.0.1:8081/.well-known/did.json")
    );
    assert_eq!(
        did_web_url_dev(local, false).as_deref(),
        Some("https://127.0.0.1:8081/.well-known/did.json")
    );
    assert_eq!(
        did_web_url_dev("did:web:localhost:issuers:x", true).as_deref(),
        Some("http://localhost/issuers/x/did.json")
    );
    // Not loopback: https whatever the shell allows (a name that starts like one, a private
    // address).
    for did in [
        "did:web:127.0.0.1.evil.example",
        "did:web:localhost.evil.example",
        "did:web:10.0.0.1",
        "did:web:127.1",
        "did:web:127.0.0.256",
        "did:web:127.0.0.01a",
        "did:web:dpp.example.org",
    ] {
        assert!(
            did_web_url_dev(did, true).unwrap().starts_with("https://"),
            "{did}"
        );
    }
}

#[test]
fn did_web_urls_follow_the_method_and_refuse_tricks() {
    use cellproof_core::did_web_url;
    assert_eq!(
        did_web_url("did:web:dpp.example.org").as_deref(),
        Some("https://dpp.example.org/.well-known/did.json")
    );
    assert_eq!(
        did_web_url("did:web:example.com:issuers:acme").as_deref(),
        Some("https://example.com/issuers/acme/did.json")
    );
    assert_eq!(
        did_web_url("did:web:localhost%3A8443").as_deref(),
        Some("https://localhost:8443/.well-known/did.json")
    );
    for bad in [
        "did:key:z6Mk",
        "did:web:",
        "did:web:evil.example/..",
        "did:web:a.example:..:b",
        "did:web:user@evil.example",
        "did:web:a.example#frag",
        "did:web:a.example?x=1",
        "did:web:a.example:",
    ] {
        assert_eq!(did_web_url(bad), None, "{bad}");
    }
}

/// A UNTP Digital Conformity Credential 0.6 by `certifier` assessing `topic` for `product`.
fn untp_dcc(w: &World, certifier: &cellproof_world::Issuer, topic: &str, product: &str) -> String {
    let p = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://test.uncefact.org/vocabulary/untp/dcc/0.6.0/"],
        "type": ["VerifiableCredential", "DigitalConformityCredential"],
        "id": "urn:uuid:6f0c9a52-2d0e-4c1b-9f57-1a2b3c4d5e6f",
        "issuer": {"id": certifier.did, "name": certifier.name},
        "validFrom": cellproof_core::format_rfc3339(T0 - 30 * DAY),
        "validUntil": cellproof_core::format_rfc3339(T0 + YEAR),
        "credentialSubject": {
            "type": ["ConformityAttestation"],
            "id": "https://certifier.example/attestations/1",
            "assessment": [{
                "type": ["ConformityAssessment"],
                "conformityTopic": topic,
                "assessedProduct": [{"product": {"id": product, "name": "EV battery"}}],
                "declaredValue": [{"metricName": "GHG emissions intensity",
                                   "metricValue": {"value": 61.5, "unit": "KGM"}}],
                "conformance": true}]}});
    w.sign_vc(certifier, &p)
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A UNTP Digital Product Passport 0.6 signed by ACME for `product`, with two conformity
/// claims (emissions and waste) whose evidence carries `digest` when given.
fn untp_dpp(w: &World, product: &str, digest: Option<&str>) -> String {
    let evidence = |name: &str| {
        let mut e = json!({"type": ["Link"], "linkURL": format!("https://certifier.example/{name}.json"),
            "linkName": name, "linkType": "https://test.uncefact.org/vocabulary/linkTypes/dcc"});
        if let Some(d) = digest {
            e["hashDigest"] = d.into();
            e["hashMethod"] = "SHA-256".into();
        }
        e
    };
    let p = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://test.uncefact.org/vocabulary/untp/dpp/0.6.0/"],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "id": "urn:uuid:2a7e4b1c-8d3f-4e5a-b6c7-d8e9f0a1b2c3",
        "issuer": {"id": w.acme.did, "name": w.acme.name},
        "validFrom": cellproof_core::format_rfc3339(T0 - 20 * DAY),
        "credentialSubject": {
            "type": ["ProductPassport"],
            "id": "https://id.cells.acme.example/passports/1",
            "product": {"id": product, "name": "EV battery pack"},
            "conformityClaim": [
                {"id": "https://acme.example/claims/1", "conformityTopic": "environment.emissions",
                 "conformance": true, "conformityEvidence": evidence("emissions")},
                {"id": "https://acme.example/claims/2", "conformityTopic": "environment.waste",
                 "conformance": true, "conformityEvidence": evidence("waste")}]}});
    w.sign_vc(&w.acme, &p)
}

fn untp_verdict(f: &Fixture, dpp: &str, held: &[&str]) -> Verdict {
    let body = json!({"versions": [dpp],
        "attestations": held.iter().map(|a| (sha256_b64(a.as_bytes()), json!(a)))
            .collect::<serde_json::Map<_, _>>()})
    .to_string();
    resolved(f, URL, &body)
}

#[test]
fn a_untp_product_passport_is_read_as_a_passport_and_its_claims_as_listings() {
    let f = fixture();
    let w = &f.w;
    let dcc = untp_dcc(w, &w.certifier, "environment.emissions", URL);
    // As UNTP's examples publish them: evidence links without hashDigest, both claims
    // declared.
    let v = untp_verdict(&f, &untp_dpp(w, URL, None), &[]);
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(v.passport.as_ref().unwrap().version, 1);
    let outcomes: Vec<_> = v
        .attestations
        .iter()
        .map(|a| (a.topic.as_str(), a.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                "emissions.carbon-footprint",
                cellproof_core::AttestationOutcome::Declared
            ),
            (
                "environment.waste",
                cellproof_core::AttestationOutcome::Declared
            ),
        ]
    );
    // With the held DCC's digest (hex, as UNTP writes it): the mapped claim is verified by the
    // certifier, the waste claim (no Cellproof topic) stays declared.
    let v = untp_verdict(&f, &untp_dpp(w, URL, Some(&hex_sha256(&dcc))), &[&dcc]);
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    let emissions = &v.attestations[0];
    assert_eq!(
        emissions.outcome,
        cellproof_core::AttestationOutcome::Verified,
        "{emissions:?}"
    );
    assert_eq!(emissions.issuer.as_deref(), Some(w.certifier.did.as_str()));
    assert_eq!(
        v.attestations[1].outcome,
        cellproof_core::AttestationOutcome::Declared
    );
    // The digest given but the credential not held: not checked, never verified.
    let v = untp_verdict(&f, &untp_dpp(w, URL, Some(&hex_sha256(&dcc))), &[]);
    assert_eq!(
        v.attestations[0].outcome,
        cellproof_core::AttestationOutcome::NotChecked
    );
}

#[test]
fn a_untp_conformity_credential_about_another_product_or_by_a_non_certifier_fails_its_claim() {
    let f = fixture();
    let w = &f.w;
    let other = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000124";
    for (dcc, code) in [
        (
            untp_dcc(w, &w.certifier, "environment.emissions", other),
            "attestation_subject_mismatch",
        ),
        // ACME certifying its own battery: not a certifier.
        (
            untp_dcc(w, &w.acme, "environment.emissions", URL),
            "role_missing",
        ),
        // A DCC about another topic than the claim's.
        (
            untp_dcc(w, &w.certifier, "circularity.content", URL),
            "attestation_topic_mismatch",
        ),
    ] {
        let v = untp_verdict(&f, &untp_dpp(w, URL, Some(&hex_sha256(&dcc))), &[&dcc]);
        // A failed claim never turns a genuine battery into a fake one: a notice.
        assert_eq!(v.overall, Overall::Valid, "{code}: {v:#?}");
        assert!(v.notices.iter().any(|n| n.code == "attestation_failed"));
        assert_eq!(
            v.attestations[0].outcome,
            cellproof_core::AttestationOutcome::Failed
        );
        assert_eq!(v.attestations[0].code, Some(code), "{v:#?}");
    }
    // Held bytes that do not hash to the claim's digest.
    let dcc = untp_dcc(w, &w.certifier, "environment.emissions", URL);
    let dpp = untp_dpp(w, URL, Some(&hex_sha256(&dcc)));
    let body = json!({"versions": [dpp],
        "attestations": {sha256_b64(dcc.as_bytes()): format!("{dcc}x")}})
    .to_string();
    let v = resolved(&f, URL, &body);
    assert_eq!(v.attestations[0].code, Some("attestation_digest_mismatch"));
    // A malformed digest: the claim fails, it is not silently declared.
    let v = untp_verdict(&f, &untp_dpp(w, URL, Some("not-a-digest")), &[]);
    assert_eq!(v.attestations[0].code, Some("attestation_invalid"));
}

#[test]
fn a_untp_passport_for_another_product_or_with_versions_is_refused() {
    let f = fixture();
    let w = &f.w;
    let other = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000124";
    let v = untp_verdict(&f, &untp_dpp(w, other, None), &[]);
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("sub_mismatch"));
    // Two "versions" of a UNTP passport cannot be chained: never shown as one history.
    let dpp = untp_dpp(w, URL, None);
    let body = json!({"versions": [dpp.clone(), dpp]}).to_string();
    let v = resolved(&f, URL, &body);
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("passport_chain_broken"));
    // A credential of neither type: passport_invalid.
    let mut p: Value = json!({"@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "SomethingElse"], "issuer": w.acme.did,
        "validFrom": cellproof_core::format_rfc3339(T0 - DAY),
        "credentialSubject": {"id": URL}});
    let body = w.sign_vc(&w.acme, &p);
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &body,
        },
        &ctx(&f),
    );
    assert_eq!(v.code, Some("passport_invalid"));
    p["type"] = json!(["VerifiableCredential", "DigitalProductPassport"]);
    p["credentialSubject"]["conformityClaim"] = json!("not an array");
    let body = w.sign_vc(&w.acme, &p);
    let v = verify_resolved(
        URL,
        &Fetched::Passport {
            url: URL,
            body: &body,
        },
        &ctx(&f),
    );
    assert_eq!(v.overall, Overall::Invalid);
    assert_eq!(v.code, Some("passport_invalid"));
}

/// A UNTP verification link for `uri` with the given `key` and `hash` (64 hex each).
fn untp_link(uri: &str, key: Option<&str>, hash: Option<&str>) -> String {
    let mut payload = json!({"uri": uri});
    if let Some(k) = key {
        payload["key"] = k.into();
    }
    if let Some(h) = hash {
        payload["hash"] = h.into();
    }
    let q: String = json!({"payload": payload})
        .to_string()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("https://verify.example/?q={q}")
}

/// `{"cipherText", "iv", "tag", "type": "aes-256-gcm"}` of `text` under `key`, as UNTP's
/// reference implementation writes it.
fn untp_encrypt(text: &str, key: &[u8; 32], iv: &[u8; 12]) -> String {
    use aes_gcm::aead::{Aead, KeyInit};
    use base64::Engine as _;
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(key).unwrap();
    let mut out = cipher
        .encrypt(aes_gcm::Nonce::from_slice(iv), text.as_bytes())
        .unwrap();
    let tag = out.split_off(out.len() - 16);
    let b = |x: &[u8]| base64::engine::general_purpose::STANDARD.encode(x);
    json!({"cipherText": b(&out), "iv": b(iv), "tag": b(&tag), "type": "aes-256-gcm"}).to_string()
}

fn untp_fetch(f: &Fixture, link: &str, body: &str) -> Verdict {
    verify_resolved(
        link,
        &Fetched::Passport {
            url: "https://dpp.example/p.jwt",
            body,
        },
        &ctx(f),
    )
}

#[test]
fn a_untp_link_commits_to_its_credential_by_hash_and_names_no_battery() {
    let f = fixture();
    let c = chain(&f);
    let jws = &c.versions[0];
    let uri = "https://dpp.example/p.jwt";
    // Its hash: the credential served verifies, bound to nothing scanned.
    let link = untp_link(uri, None, Some(&hex_sha256(jws)));
    assert_eq!(plan(&link, &[]).unwrap()[0].url, uri);
    let v = untp_fetch(&f, &link, jws);
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    assert_eq!(stage(&v, Stage::Binding).0, Outcome::NotChecked);
    assert_eq!(v.scanned.as_ref().unwrap().serial, SERIAL);
    assert_eq!(v.label.as_ref().unwrap().form.as_str(), "untp-link");
    // Another genuine credential of the same issuer served instead: the hash says so.
    let other = chain_with(&f, URL, |p| p["validFrom"] = "2026-11-01T00:00:00Z".into());
    let v = untp_fetch(&f, &link, &other.versions[0]);
    assert_eq!(v.overall, Overall::Invalid, "{v:#?}");
    assert_eq!(v.code, Some("untp_hash_mismatch"));
    assert_eq!(
        stage(&v, Stage::Resolve),
        (Outcome::Failed, Some("untp_hash_mismatch"))
    );
    // The hash of the JSON.stringify form of an enveloped credential (the reference computeHash).
    let enveloped = json!({"@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "EnvelopedVerifiableCredential", "id": format!("data:application/vc+jwt,{jws}")});
    let pretty = serde_json::to_string_pretty(&enveloped).unwrap();
    let link = untp_link(uri, None, Some(&hex_sha256(&enveloped.to_string())));
    let v = untp_fetch(&f, &link, &pretty);
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
}

#[test]
fn a_untp_link_with_a_key_decrypts_what_it_points_to_and_refuses_anything_else() {
    let f = fixture();
    let jws = chain(&f).versions[0].clone();
    let key = [9u8; 32];
    let key_hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let uri = "https://dpp.example/p.enc";
    let sealed = untp_encrypt(&jws, &key, &[1; 12]);
    // The hash is of the credential, after decryption, never of the envelope.
    let link = untp_link(uri, Some(&key_hex), Some(&hex_sha256(&jws)));
    let v = untp_fetch(&f, &link, &sealed);
    assert_eq!(v.overall, Overall::Valid, "{v:#?}");
    let wrong_hash = untp_link(uri, Some(&key_hex), Some(&hex_sha256(&sealed)));
    assert_eq!(
        untp_fetch(&f, &wrong_hash, &sealed).code,
        Some("untp_hash_mismatch")
    );
    // Another key, a flipped ciphertext byte, a plain body, a short IV: untp_decrypt_failed,
    // unverifiable (the verifier could not read it), never valid.
    let other_key: String = [8u8; 32].iter().map(|b| format!("{b:02x}")).collect();
    let mut flipped: Value = serde_json::from_str(&sealed).unwrap();
    let ct = flipped["cipherText"].as_str().unwrap().to_owned();
    let first = if ct.starts_with('A') { "B" } else { "A" };
    flipped["cipherText"] = format!("{first}{}", &ct[1..]).into();
    let mut short_iv: Value = serde_json::from_str(&sealed).unwrap();
    short_iv["iv"] = "AAAA".into();
    for (link, body) in [
        (untp_link(uri, Some(&other_key), None), sealed.clone()),
        (untp_link(uri, Some(&key_hex), None), flipped.to_string()),
        (untp_link(uri, Some(&key_hex), None), jws.clone()),
        (untp_link(uri, Some(&key_hex), None), short_iv.to_string()),
    ] {
        let v = untp_fetch(&f, &link, &body);
        assert_eq!(v.overall, Overall::Unverifiable, "{v:#?}");
        assert_eq!(v.code, Some("untp_decrypt_failed"));
    }
}

#[test]
fn the_walk_over_the_plan_is_one_policy_for_every_shell() {
    use cellproof_core::resolve::{ask_next, deciding_failure, LIMITS};
    // No answer, or no passport there: ask the next place. A broken limit or a linkset that is
    // no linkset ends the resolution (a resolver that answers garbage is not skipped silently
    // for GS1's, nor is a redirect to http).
    assert!(ask_next("resolver_unreachable"));
    assert!(ask_next("passport_not_linked"));
    for stop in [
        "resolution_limit",
        "linkset_invalid",
        "untp_decrypt_failed",
        "",
        "anything",
    ] {
        assert!(!ask_next(stop), "{stop}");
    }
    // The verdict reports the first answer, not the silence of a resolver that was down.
    assert_eq!(
        deciding_failure(&["resolver_unreachable", "passport_not_linked"]),
        1
    );
    assert_eq!(
        deciding_failure(&["passport_not_linked", "resolver_unreachable"]),
        0
    );
    assert_eq!(
        deciding_failure(&["resolver_unreachable", "resolution_limit"]),
        1
    );
    assert_eq!(deciding_failure(&["resolver_unreachable"]), 0);
    assert_eq!(deciding_failure(&[]), 0);
    assert_eq!(
        (
            LIMITS.request_ms,
            LIMITS.total_ms,
            LIMITS.body,
            LIMITS.chain,
            LIMITS.did,
            LIMITS.redirects
        ),
        (10_000, 30_000, 256 * 1024, 4 * 1024 * 1024, 64 * 1024, 5)
    );
}

#[test]
fn the_core_writes_the_untp_envelope_byte_for_byte_as_the_reference_does() {
    let (key, iv) = ([3u8; 32], [4u8; 12]);
    let text = "eyJhbGciOiJFZERTQSJ9.e30.sig";
    let ours = cellproof_core::resolve::untp_encrypt(text, &key, &iv);
    assert_eq!(ours, untp_encrypt(text, &key, &iv));
    let payload = cellproof_core::UntpPayload {
        uri: "https://dpp.example/p".into(),
        key: Some("03".repeat(32)),
        hash: None,
    };
    assert_eq!(
        cellproof_core::resolve::untp_open(&ours, &payload).unwrap(),
        text
    );
}
