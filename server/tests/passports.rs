//! Passports, attestations, documents, the resolver's passport and linkset, offline packs
//! (SPEC.md sections 3 and 6.2), against the real server on port 0 with a real SQLite file:
//! upload round trips, every refusal with its problem type and code, durability across a
//! restart, restricted sections never served, documents served inert, and the demo's passport
//! samples verified by the core with the chain fetched over HTTP (the page's contract).

mod common;

use cellproof_core::{
    check_document, format_rfc3339, sha256_b64, sign_json, verify, AttestationOutcome, Context,
    KeyPair, Overall, PassportChain, Typ, UnixTime,
};
use cellproof_server::Application;
use cellproof_world::{Listed, World, DAY, YEAR};
use common::{now, spawn_app, spawn_app_with, TestApp, TOKEN};
use serde_json::{json, Value};

const SOURCING: &str = "sourcing.due-diligence";
const CARBON: &str = "emissions.carbon-footprint";
const CO: &str = "did:web:refinery.kobalt.example";
const LI: &str = "did:web:lithium.sanriku.example";

fn sample<'a>(app: &'a TestApp, name: &str) -> &'a Value {
    app.manifest["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no sample {name}"))
}

/// A fresh ACME battery (not a demo sample): its path and Digital Link URL.
fn battery(app: &TestApp, serial: &str) -> (String, String) {
    let path = format!("01/04012345000016/21/{serial}");
    (path.clone(), format!("{}/{path}", app.address))
}

/// The same JWS with its signature's first character changed (still canonical base64url).
fn forge(jws: &str) -> String {
    let (head, sig) = jws.rsplit_once('.').unwrap();
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    format!("{head}.{first}{}", &sig[1..])
}

fn listed(topic: &str, materials: &[&str], subject: &str, jws: String) -> Listed {
    Listed {
        topic: topic.into(),
        materials: materials.iter().map(|m| (*m).to_owned()).collect(),
        subject: subject.into(),
        jws,
    }
}

/// A validity window no demo artifact can share: the demo signs with `(t - 30 days, t + 1
/// year)` at its own start `t`, and equal bytes would make an upload here a repeat of a demo
/// artifact (a refused one already held, or one "not held yet" that is).
fn valid() -> (u64, u64) {
    (now() - 30 * DAY + 17, now() + YEAR - 17)
}

async fn post_vc(app: &TestApp, path: &str, jws: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url(path))
        .header("Content-Type", "application/vc+jwt")
        .body(jws.to_owned())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn assert_problem(r: &(u16, Value), status: u16, kind: &str, code: Option<&str>) {
    assert_eq!(r.0, status, "{}", r.1);
    assert_eq!(
        r.1["type"].as_str().unwrap(),
        format!("https://cellproof.dev/problems/{kind}"),
        "{}",
        r.1
    );
    assert_eq!(r.1["code"].as_str(), code, "{}", r.1);
}

fn envelope(w: &World, aud: &str, key: &KeyPair, iss: &str, op: &str, digest: &str) -> String {
    let mut p = json!({"iss": iss, "iat": now(), "jti": common::jti(), "aud": aud, "op": op});
    let o = p.as_object_mut().unwrap();
    match op {
        "document" => {
            o.insert("digest".into(), digest.into());
        }
        _ => {
            o.insert("list".into(), "3".into());
            o.insert("count".into(), 1.into());
        }
    }
    let _ = w;
    sign_json(Typ::RegistryRequest, &p, key)
}

async fn put_doc(
    app: &TestApp,
    digest: &str,
    bytes: &[u8],
    media: &str,
    auth: Option<String>,
) -> (u16, Value) {
    let mut r = app
        .client
        .put(app.url(&format!("/v1/documents/{digest}")))
        .header("Content-Type", media)
        .body(bytes.to_vec());
    if let Some(a) = auth {
        r = r.header("Authorization", format!("Cellproof {a}"));
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn doc_auth(app: &TestApp, digest: &str) -> String {
    let w = &app.world;
    envelope(
        w,
        &app.address,
        &w.acme.key,
        &w.acme.did,
        "document",
        digest,
    )
}

async fn chain(app: &TestApp, url: &str) -> (u16, String) {
    let r = app.client.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn each_demo_passport_sample_shows_what_its_name_says() {
    let app = spawn_app().await;
    let (trust, status) = app.stores().await;
    let at = UnixTime(now());
    let verdict = |label: &str, chain: Option<&PassportChain>| {
        let mut ctx = Context::new(&trust, &status, at);
        ctx.chain = chain;
        verify(label, &ctx)
    };
    let outcome = |v: &cellproof_core::Verdict, topic: &str, material: &str| {
        v.attestations
            .iter()
            .find(|a| {
                a.topic == topic
                    && (material.is_empty() || a.materials.iter().any(|m| m == material))
            })
            .map(|a| (a.outcome, a.code))
            .unwrap_or_else(|| panic!("no {topic} {material}: {:#?}", v.attestations))
    };
    let fetch = |name: &str| {
        let s = sample(&app, name);
        (
            s["url"].as_str().unwrap().to_owned(),
            s["passport"].as_str().map(str::to_owned),
        )
    };

    // passport-valid: two versions, four attestations verified across both data spaces.
    let (label, url) = fetch("passport-valid");
    let (s, body) = chain(&app, url.as_deref().unwrap()).await;
    assert_eq!(s, 200, "{body}");
    let c = PassportChain::from_json(&body).unwrap();
    assert_eq!(c.versions.len(), 2);
    assert_eq!(c.attestations.len(), 4);
    let v = verdict(&label, Some(&c));
    assert_eq!((v.overall, v.code), (Overall::Valid, None), "{v:#?}");
    assert_eq!(v.passport.as_ref().unwrap().version, 2);
    for m in ["Co", "Li", "Ni"] {
        assert_eq!(
            outcome(&v, SOURCING, m),
            (AttestationOutcome::Verified, None),
            "{m}"
        );
    }
    assert_eq!(
        outcome(&v, CARBON, ""),
        (AttestationOutcome::Verified, None)
    );
    let li = v
        .attestations
        .iter()
        .find(|a| a.materials.iter().any(|m| m == "Li") && a.topic == SOURCING)
        .unwrap();
    assert_eq!(li.eco.as_deref(), Some("ouranos"));
    // The documents the current version links are in the registry, with their digests.
    let cs: Value = serde_json::from_slice(
        &cellproof_core::b64_decode(c.versions[1].split('.').nth(1).unwrap(), "payload").unwrap(),
    )
    .unwrap();
    for ptr in [
        "/credentialSubject/sustainability/carbonFootprint/0/declaration",
        "/credentialSubject/conformity/declarationOfConformity",
    ] {
        let link = cs.pointer(ptr).unwrap();
        let r = app
            .client
            .get(link["linkURL"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{ptr}");
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let bytes = r.bytes().await.unwrap();
        check_document(&bytes, link["hashDigest"].as_str().unwrap()).unwrap();
    }

    // attestation-out-of-scope: still a genuine battery; lithium's attestation failed.
    let (label, url) = fetch("attestation-out-of-scope");
    let c = PassportChain::from_json(&chain(&app, url.as_deref().unwrap()).await.1).unwrap();
    let v = verdict(&label, Some(&c));
    assert_eq!((v.overall, v.code), (Overall::Valid, None), "{v:#?}");
    assert_eq!(
        outcome(&v, SOURCING, "Li"),
        (AttestationOutcome::Failed, Some("attestation_out_of_scope"))
    );
    assert!(v.notices.iter().any(|n| n.code == "attestation_failed"));
    assert_eq!(
        outcome(&v, SOURCING, "Co"),
        (AttestationOutcome::Verified, None)
    );

    // attestation-revoked: the certifier revoked cobalt's attestation on its own list.
    let (label, url) = fetch("attestation-revoked");
    let c = PassportChain::from_json(&chain(&app, url.as_deref().unwrap()).await.1).unwrap();
    let v = verdict(&label, Some(&c));
    assert_eq!((v.overall, v.code), (Overall::Valid, None), "{v:#?}");
    assert_eq!(
        outcome(&v, SOURCING, "Co"),
        (AttestationOutcome::Failed, Some("revoked"))
    );
    assert_eq!(
        outcome(&v, SOURCING, "Li"),
        (AttestationOutcome::Verified, None)
    );

    // passport-tampered: the registry serves another version 1 than the label committed to.
    let (label, url) = fetch("passport-tampered");
    let c = PassportChain::from_json(&chain(&app, url.as_deref().unwrap()).await.1).unwrap();
    let v = verdict(&label, Some(&c));
    assert_eq!(
        (v.overall, v.code),
        (Overall::Invalid, Some("digest_mismatch")),
        "{v:#?}"
    );

    // gtin-not-issuer: ACME's label for a GTIN outside its company prefix.
    let (label, url) = fetch("gtin-not-issuer");
    assert!(url.is_none());
    let v = verdict(&label, None);
    assert_eq!(
        (v.overall, v.code),
        (Overall::Invalid, Some("gtin_not_issuer")),
        "{v:#?}"
    );
}

/// Uploads the attestations, then versions 1 and 2 of a fresh battery; returns them.
async fn upload_two_versions(app: &TestApp, url: &str) -> (Vec<Listed>, String, String) {
    let w = &app.world;
    let list = vec![
        listed(
            SOURCING,
            &["Co"],
            CO,
            w.attestation(&w.certifier, CO, SOURCING, &["Co"], valid()),
        ),
        listed(
            SOURCING,
            &["Li"],
            LI,
            w.attestation(&w.jqa, LI, SOURCING, &["Li"], valid()),
        ),
    ];
    for l in &list {
        let r = post_vc(app, "/v1/attestations", &l.jws).await;
        assert_eq!(r.0, 200, "{}", r.1);
        assert_eq!(r.1["digest"], sha256_b64(l.jws.as_bytes()).as_str());
    }
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, url, 1, None, &list, now() - 2 * DAY),
    );
    let v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, url, 2, Some(&v1), &list, now() - DAY),
    );
    let r = post_vc(app, "/v1/passports", &v1).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["version"], 1);
    let r = post_vc(app, "/v1/passports", &v2).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["version"], 2);
    (list, v1, v2)
}

#[tokio::test]
async fn uploads_round_trip_and_repeats_get_the_same_answer() {
    let app = spawn_app().await;
    let (path, url) = battery(&app, "RT0001");
    let (list, v1, v2) = upload_two_versions(&app, &url).await;
    // Idempotent: the same bytes again, the same answer.
    let again = post_vc(&app, "/v1/passports", &v1).await;
    assert_eq!(
        again.1,
        json!({"item": path, "version": 1, "digest": sha256_b64(v1.as_bytes()),
               "restricted": false})
    );
    let a1 = post_vc(&app, "/v1/attestations", &list[0].jws).await;
    let a2 = post_vc(&app, "/v1/attestations", &list[0].jws).await;
    assert_eq!((a1.0, &a1.1), (a2.0, &a2.1));
    // The chain, oldest first, with the listed attestations.
    let (s, body) = chain(&app, &app.url("/v1/passports/04012345000016/RT0001")).await;
    assert_eq!(s, 200);
    let c = PassportChain::from_json(&body).unwrap();
    assert_eq!(c.versions, vec![v1.clone(), v2.clone()]);
    assert_eq!(c.attestations.len(), 2);
    for l in &list {
        assert_eq!(c.attestations[&sha256_b64(l.jws.as_bytes())], l.jws);
        let served = app
            .get_text(&format!(
                "/v1/attestations/{}",
                sha256_b64(l.jws.as_bytes())
            ))
            .await;
        assert_eq!(served, l.jws);
    }
    // The resolver's passport is the current version.
    let r = app
        .client
        .get(&url)
        .header("Accept", "application/vc+jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vc+jwt");
    assert_eq!(r.text().await.unwrap(), v2);
    // Every accepted upload is in the audit log.
    let log = app.operator_get("/v1/audit?after=0&limit=1000").await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .or(log.as_array())
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.iter().filter(|a| **a == "passport.upload").count() >= 2);
    assert!(actions.contains(&"attestation.upload"));
}

#[tokio::test]
async fn an_attestation_uploaded_after_its_passport_joins_the_served_chain() {
    let app = spawn_app().await;
    let w = &app.world;
    let (_, url) = battery(&app, "LATE0001");
    let co = w.attestation(&w.certifier, CO, SOURCING, &["Co"], valid());
    let list = vec![listed(SOURCING, &["Co"], CO, co.clone())];
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 1, None, &list, now() - DAY),
    );
    let r = post_vc(&app, "/v1/passports", &v1).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let chain_url = app.url("/v1/passports/04012345000016/LATE0001");
    let get = || chain(&app, &chain_url);
    let before = PassportChain::from_json(&get().await.1).unwrap();
    assert!(before.attestations.is_empty(), "not held yet: not served");
    let r = post_vc(&app, "/v1/attestations", &co).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let after = PassportChain::from_json(&get().await.1).unwrap();
    assert_eq!(after.attestations[&sha256_b64(co.as_bytes())], co);
}

#[tokio::test]
async fn forged_foreign_forked_and_older_passports_are_refused_with_the_core_code() {
    let app = spawn_app().await;
    let w = &app.world;
    let (_, url) = battery(&app, "REF0001");
    let (list, v1, v2) = upload_two_versions(&app, &url).await;

    // A forged signature.
    let forged = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 3, Some(&v2), &list, now() - 60),
    );
    let forged = forge(&forged);
    let r = post_vc(&app, "/v1/passports", &forged).await;
    assert_problem(&r, 401, "bad-signature", Some("signature_invalid"));

    // A fork: version 3 naming version 1 as its predecessor.
    let fork = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 3, Some(&v1), &list, now() - 60),
    );
    let r = post_vc(&app, "/v1/passports", &fork).await;
    assert_problem(
        &r,
        409,
        "passport-chain-broken",
        Some("passport_chain_broken"),
    );

    // An older version: another version 1, and another version 2.
    for (version, prev) in [(1, None), (2, Some(v1.as_str()))] {
        let old = w.sign_vc(
            &w.acme,
            &w.passport(&w.acme, &url, version, prev, &list, now() - 3 * DAY),
        );
        let r = post_vc(&app, "/v1/passports", &old).await;
        assert_problem(
            &r,
            409,
            "passport-chain-broken",
            Some("passport_chain_broken"),
        );
    }

    // A GTIN outside ACME's company prefix.
    let foreign = format!(
        "https://x.example/01/{}/21/GCP0001",
        cellproof_core::gtin_with_check_digit("0409999900001").unwrap()
    );
    let gcp = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &foreign, 1, None, &list, now() - 60),
    );
    let r = post_vc(&app, "/v1/passports", &gcp).await;
    assert_problem(&r, 403, "gtin-not-issuer", Some("gtin_not_issuer"));

    // Another manufacturer taking over ACME's battery (Nippon Denchi, onboarded in Ouranos).
    let mut taken = w.passport(&w.denchi, &url, 3, Some(&v2), &list, now() - 60);
    taken["issuer"] = w.denchi.did.clone().into();
    let r = post_vc(&app, "/v1/passports", &w.sign_vc(&w.denchi, &taken)).await;
    assert_eq!(r.0, 403, "{}", r.1);
    assert_eq!(r.1["code"], "gtin_not_issuer", "{}", r.1);

    // A certifier is no manufacturer; an issuer not onboarded is refused before any check.
    let by_certifier = w.sign_vc(
        &w.certifier,
        &w.passport(&w.certifier, &url, 3, Some(&v2), &list, now() - 60),
    );
    let r = post_vc(&app, "/v1/passports", &by_certifier).await;
    assert_problem(&r, 403, "issuer-not-trusted", Some("role_missing"));
    let by_stranger = w.sign_vc(
        &w.jqa,
        &w.passport(&w.jqa, &url, 3, Some(&v2), &list, now() - 60),
    );
    let r = post_vc(&app, "/v1/passports", &by_stranger).await;
    assert_problem(&r, 403, "issuer-not-onboarded", None);

    // Not a JWS, wrong media type.
    let r = post_vc(&app, "/v1/passports", "not a jws").await;
    assert_eq!(r.0, 400, "{}", r.1);
    let r = app
        .client
        .post(app.url("/v1/passports"))
        .header("Content-Type", "text/plain")
        .body(v1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // Nothing refused reached the chain.
    let c = PassportChain::from_json(
        &chain(&app, &app.url("/v1/passports/04012345000016/REF0001"))
            .await
            .1,
    )
    .unwrap();
    assert_eq!(c.versions, vec![v1, v2]);
}

#[tokio::test]
async fn attestations_outside_accreditation_forged_or_by_a_manufacturer_are_refused() {
    let app = spawn_app().await;
    let w = &app.world;
    // The Catena-X certifier is accredited for cobalt and nickel sourcing, not lithium.
    let li = w.attestation(&w.certifier, LI, SOURCING, &["Li"], valid());
    let r = post_vc(&app, "/v1/attestations", &li).await;
    assert_problem(
        &r,
        422,
        "attestation-out-of-scope",
        Some("attestation_out_of_scope"),
    );
    // A manufacturer is no certifier.
    let by_acme = w.attestation(&w.acme, CO, SOURCING, &["Co"], valid());
    let r = post_vc(&app, "/v1/attestations", &by_acme).await;
    assert_problem(&r, 403, "issuer-not-trusted", Some("role_missing"));
    // Forged.
    let forged = w.attestation(&w.certifier, CO, SOURCING, &["Co"], valid());
    let forged = forge(&forged);
    let r = post_vc(&app, "/v1/attestations", &forged).await;
    assert_problem(&r, 401, "bad-signature", Some("signature_invalid"));
    let r = app
        .client
        .get(app.url(&format!("/v1/attestations/{}", sha256_b64(li.as_bytes()))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a refused attestation is not served");
}

#[tokio::test]
async fn documents_need_a_signed_envelope_for_their_digest_and_matching_bytes() {
    let app = spawn_app_with(|c| c.max_document_bytes = 1024).await;
    let w = &app.world;
    let bytes = b"%PDF-1.4\n% test declaration\n%%EOF\n".to_vec();
    let d = sha256_b64(&bytes);
    // Unauthenticated.
    let r = put_doc(&app, &d, &bytes, "application/pdf", None).await;
    assert_problem(&r, 401, "unauthenticated", None);
    // An envelope for another operation, another registry, another document.
    let other_op = envelope(w, &app.address, &w.acme.key, &w.acme.did, "allocate", &d);
    let r = put_doc(&app, &d, &bytes, "application/pdf", Some(other_op)).await;
    assert_problem(&r, 400, "op-mismatch", Some("op_mismatch"));
    let other_aud = envelope(
        w,
        "https://other-registry.example",
        &w.acme.key,
        &w.acme.did,
        "document",
        &d,
    );
    let r = put_doc(&app, &d, &bytes, "application/pdf", Some(other_aud)).await;
    assert_problem(&r, 400, "audience-mismatch", Some("audience_mismatch"));
    let other_doc = doc_auth(&app, &sha256_b64(b"another document"));
    let r = put_doc(&app, &d, &bytes, "application/pdf", Some(other_doc)).await;
    assert_problem(&r, 400, "envelope-digest-mismatch", None);
    // Signed by a key that is not the entity's.
    let stranger = KeyPair::from_secret("k1", &[7; 32]);
    let forged = envelope(w, &app.address, &stranger, &w.acme.did, "document", &d);
    let r = put_doc(&app, &d, &bytes, "application/pdf", Some(forged)).await;
    assert_problem(&r, 401, "bad-signature", Some("signature_invalid"));
    // Bytes that do not hash to the digest.
    let wrong = sha256_b64(b"something else");
    let r = put_doc(
        &app,
        &wrong,
        &bytes,
        "application/pdf",
        Some(doc_auth(&app, &wrong)),
    )
    .await;
    assert_problem(
        &r,
        422,
        "document-digest-mismatch",
        Some("document_digest_mismatch"),
    );
    // Over the configured limit.
    let big = vec![b'x'; 2048];
    let bd = sha256_b64(&big);
    let r = put_doc(
        &app,
        &bd,
        &big,
        "application/pdf",
        Some(doc_auth(&app, &bd)),
    )
    .await;
    assert_problem(&r, 413, "body-too-large", None);
    // Not a digest.
    let r = put_doc(
        &app,
        "abc",
        &bytes,
        "application/pdf",
        Some(doc_auth(&app, "abc")),
    )
    .await;
    assert_problem(&r, 400, "digest-invalid", None);
    // Accepted, by a certifier too; a replayed envelope is refused.
    let auth = envelope(
        w,
        &app.address,
        &w.certifier.key,
        &w.certifier.did,
        "document",
        &d,
    );
    let r = put_doc(&app, &d, &bytes, "application/pdf", Some(auth.clone())).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["digest"], d.as_str());
    let r = put_doc(&app, &d, &bytes, "application/pdf", Some(auth)).await;
    assert_problem(&r, 409, "jti-replayed", None);
    for refused in [&wrong, &bd] {
        let r = app
            .client
            .get(app.url(&format!("/v1/documents/{refused}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
}

#[tokio::test]
async fn an_issuer_given_as_an_object_is_read_as_the_core_reads_it() {
    // The route read `issuer` only as a string, so a passport whose issuer is the VC form
    // `{"id": ...}` was refused as not onboarded though the core accepts it; the pipeline
    // reads it as the core does, and checks it in the issuer's home ecosystem.
    let app = spawn_app().await;
    let w = &app.world;
    let (path, url) = battery(&app, "ISSOBJ01");
    let mut p = w.passport(&w.acme, &url, 1, None, &[], now() - 60);
    p["issuer"] = json!({"id": w.acme.did, "name": "ACME Cells GmbH"});
    let v1 = w.sign_vc(&w.acme, &p);
    let r = post_vc(&app, "/v1/passports", &v1).await;
    assert_eq!((r.0, &r.1["item"]), (200, &json!(path)), "{}", r.1);
    // And an object naming an issuer that is not onboarded is still refused as such.
    let mut p = w.passport(&w.jqa, &url, 2, Some(&v1), &[], now() - 30);
    p["issuer"] = json!({"id": w.jqa.did});
    let r = post_vc(&app, "/v1/passports", &w.sign_vc(&w.jqa, &p)).await;
    assert_problem(&r, 403, "issuer-not-onboarded", None);
}

#[tokio::test]
async fn a_second_uploader_cannot_fix_the_media_type_of_another_issuers_document() {
    // The store keeps the first upload of a digest, media type included: whoever uploaded a
    // document's bytes first decided how it was served, though another issuer's passport
    // links it.
    let app = spawn_app().await;
    let w = &app.world;
    let bytes = b"%PDF-1.4\n% ACME's declaration of conformity\n%%EOF\n".to_vec();
    let d = sha256_b64(&bytes);
    let (_, url) = battery(&app, "DOCLINK01");
    let mut p = w.passport(&w.acme, &url, 1, None, &[], now() - 60);
    let doc = p
        .pointer_mut("/credentialSubject/conformity/declarationOfConformity")
        .and_then(Value::as_object_mut)
        .expect("the reference passport has a declaration of conformity");
    doc.insert(
        "linkURL".into(),
        app.url(&format!("/v1/documents/{d}")).into(),
    );
    doc.insert("hashDigest".into(), d.clone().into());
    let r = post_vc(&app, "/v1/passports", &w.sign_vc(&w.acme, &p)).await;
    assert_eq!(r.0, 200, "{}", r.1);
    // Nippon Denchi (a manufacturer onboarded in Ouranos) has the bytes and uploads first.
    let by_denchi = envelope(
        w,
        &app.address,
        &w.denchi.key,
        &w.denchi.did,
        "document",
        &d,
    );
    let r = put_doc(&app, &d, &bytes, "text/html", Some(by_denchi)).await;
    assert_problem(&r, 403, "document-not-linked", Some("document_not_linked"));
    let r = app
        .client
        .get(app.url(&format!("/v1/documents/{d}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "nothing stored");
    // ACME, whose passport links it, sets the type.
    let r = put_doc(
        &app,
        &d,
        &bytes,
        "application/pdf",
        Some(doc_auth(&app, &d)),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = app
        .client
        .get(app.url(&format!("/v1/documents/{d}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn documents_are_served_immutable_and_never_run_as_the_registry_page() {
    let app = spawn_app().await;
    let pdf = b"%PDF-1.4\n% inline\n%%EOF\n".to_vec();
    let html = b"<!doctype html><script>alert(document.cookie)</script>".to_vec();
    for (bytes, media) in [(&pdf, "application/pdf"), (&html, "text/html")] {
        let d = sha256_b64(bytes);
        let r = put_doc(&app, &d, bytes, media, Some(doc_auth(&app, &d))).await;
        assert_eq!(r.0, 200, "{}", r.1);
    }
    let get = |d: String| {
        let c = app.client.clone();
        let u = app.url(&format!("/v1/documents/{d}"));
        async move { c.get(u).send().await.unwrap() }
    };
    let d = sha256_b64(&pdf);
    let r = get(d.clone()).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["etag"], format!("\"{d}\"").as_str());
    assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.get("content-disposition").is_none());
    assert_eq!(r.bytes().await.unwrap().as_ref(), pdf.as_slice());
    let r = app
        .client
        .get(app.url(&format!("/v1/documents/{d}")))
        .header("If-None-Match", format!("\"{d}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    // A stored HTML document is an attachment in a sandbox, never the registry's page.
    let r = get(sha256_b64(&html)).await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
}

fn restricted_section(w: &World, url: &str) -> String {
    w.sign_vc(
        &w.acme,
        &json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "BatteryPassportRestricted"],
            "issuer": w.acme.did,
            "validFrom": format_rfc3339(now() - 60),
            "tier": "legitimate-interest",
            "credentialSubject": {"id": url, "tier": "legitimate-interest",
                "stateOfHealth": {"capacityFadePercent": 3.2, "marker": "RESTRICTED-MARKER"}}
        }),
    )
}

#[tokio::test]
async fn restricted_sections_are_stored_but_never_served() {
    let app = spawn_app().await;
    let (path, url) = battery(&app, "RES0001");
    let section = restricted_section(&app.world, &url);
    // Not before the public passport.
    let r = post_vc(&app, "/v1/passports", &section).await;
    assert_problem(
        &r,
        409,
        "passport-chain-broken",
        Some("passport_chain_broken"),
    );
    upload_two_versions(&app, &url).await;
    let r = post_vc(&app, "/v1/passports", &section).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["restricted"], true);
    assert_eq!(r.1["tier"], "legitimate-interest");
    let digest = sha256_b64(section.as_bytes());
    let leaks = |body: &str| body.contains(&section) || body.contains("RESTRICTED-MARKER");
    let mut bodies = Vec::new();
    bodies.push(
        chain(&app, &app.url("/v1/passports/04012345000016/RES0001"))
            .await
            .1,
    );
    for accept in ["application/vc+jwt", "application/linkset+json"] {
        let r = app
            .client
            .get(&url)
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        bodies.push(r.text().await.unwrap());
    }
    bodies.push(app.get_text("/v1/bundle").await);
    bodies.push(app.get_text(&format!("/v1/pack?items={path}")).await);
    bodies.push(
        app.client
            .get(app.url(&format!("/v1/attestations/{digest}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    for b in &bodies {
        assert!(!leaks(b), "restricted data served: {b}");
    }
    // The payload of what is served never decodes to the restricted section either.
    let c = PassportChain::from_json(&bodies[0]).unwrap();
    assert!(c
        .versions
        .iter()
        .all(|v| sha256_b64(v.as_bytes()) != digest));
}

#[tokio::test]
async fn acknowledged_uploads_survive_a_restart() {
    let first = spawn_app().await;
    let (_, url) = battery(&first, "DUR0001");
    let (list, v1, v2) = upload_two_versions(&first, &url).await;
    let doc = b"%PDF-1.4\n% durable\n%%EOF\n".to_vec();
    let d = sha256_b64(&doc);
    let r = put_doc(
        &first,
        &d,
        &doc,
        "application/pdf",
        Some(doc_auth(&first, &d)),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    // A second server on the same directory (new port) loads what the first acknowledged.
    let second = Application::build(first.config()).await.unwrap();
    let address = second.public_url().to_owned();
    tokio::spawn(second.run_until_stopped());
    let client = reqwest::Client::new();
    let body = client
        .get(format!("{address}/v1/passports/04012345000016/DUR0001"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let c = PassportChain::from_json(&body).unwrap();
    assert_eq!(c.versions, vec![v1, v2]);
    for l in &list {
        assert_eq!(c.attestations[&sha256_b64(l.jws.as_bytes())], l.jws);
    }
    let r = client
        .get(format!("{address}/v1/documents/{d}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), doc.as_slice());
}

#[tokio::test]
async fn the_linkset_names_the_passport_its_attestations_and_documents_by_gs1_link_type() {
    let app = spawn_app().await;
    let s = sample(&app, "passport-valid");
    let url = s["url"]
        .as_str()
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned();
    let r = app
        .client
        .get(&url)
        .header("Accept", "application/linkset+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/linkset+json");
    let ls: Value = r.json().await.unwrap();
    let links = &ls["linkset"][0];
    assert_eq!(links["anchor"], url.as_str());
    assert_eq!(links["https://gs1.org/voc/pip"][0]["type"], "text/html");
    let cert = links["https://gs1.org/voc/certificationInfo"]
        .as_array()
        .unwrap();
    // Four attestations and the declaration of conformity.
    assert_eq!(cert.len(), 5, "{cert:?}");
    let attestations: Vec<&Value> = cert
        .iter()
        .filter(|l| l["type"] == "application/vc+jwt")
        .collect();
    assert_eq!(attestations.len(), 4);
    for a in &attestations {
        let href = a["href"].as_str().unwrap();
        assert!(href.starts_with(&app.url("/v1/attestations/")), "{href}");
        assert_eq!(app.client.get(href).send().await.unwrap().status(), 200);
    }
    let sust = links["https://gs1.org/voc/sustainabilityInfo"]
        .as_array()
        .unwrap();
    assert_eq!(sust.len(), 1);
    assert_eq!(sust[0]["type"], "application/pdf");
    let carbon_doc = sust[0]["href"].as_str().unwrap().to_owned();
    assert!(carbon_doc.starts_with(&app.url("/v1/documents/")));
    assert_eq!(
        links["https://cellproof.dev/rel/passport-chain"][0]["href"],
        s["passport"]
    );
    // ?linkType=: the linkset for all, a 307 to the first link of a type, 404 for none.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(format!("{url}?linkType=gs1:sustainabilityInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(r.headers()["location"], carbon_doc.as_str());
    let r = no_redirect
        .get(format!("{url}?linkType=all"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let all: Value = r.json().await.unwrap();
    assert_eq!(all, ls);
    let r = no_redirect
        .get(format!("{url}?linkType=gs1:recallStatus"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        p["type"],
        "https://cellproof.dev/problems/link-type-not-found"
    );
}

#[tokio::test]
async fn packs_carry_the_named_chains_with_their_size_and_are_bounded() {
    let app = spawn_app().await;
    let path = |name: &str| {
        let u = sample(&app, name)["url"].as_str().unwrap().to_owned();
        u.split('#')
            .next()
            .unwrap()
            .strip_prefix(&format!("{}/", app.address))
            .unwrap()
            .to_owned()
    };
    let (valid, revoked, plain) = (
        path("passport-valid"),
        path("attestation-revoked"),
        path("valid"),
    );
    let r = app
        .client
        .get(app.url(&format!("/v1/pack?items={valid},{revoked},{plain}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let size: usize = r.headers()["x-pack-size"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(size, body.len());
    let pack: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(pack["passports"].as_object().unwrap().len(), 2);
    assert_eq!(pack["missing"], json!([plain]));
    assert!(!pack["trustLists"].as_array().unwrap().is_empty());
    assert!(!pack["statusLists"].as_array().unwrap().is_empty());
    // Offline: the pack alone verifies the battery as online.
    let mut trust = cellproof_core::TrustStore::new();
    for e in app.manifest["ecosystems"].as_array().unwrap() {
        trust.pin_root(
            e["eco"].as_str().unwrap(),
            &cellproof_core::PublicKey::from_jwk(&e["root"]).unwrap(),
        );
    }
    for t in pack["trustLists"].as_array().unwrap() {
        trust.insert(t.as_str().unwrap()).unwrap();
    }
    let mut status = cellproof_core::StatusStore::new();
    for s in pack["statusLists"].as_array().unwrap() {
        status.insert(s.as_str().unwrap(), &trust).unwrap();
    }
    let c = PassportChain::from_json(&pack["passports"][&valid].to_string()).unwrap();
    let mut ctx = Context::new(&trust, &status, UnixTime(now()));
    ctx.chain = Some(&c);
    let v = verify(
        sample(&app, "passport-valid")["url"].as_str().unwrap(),
        &ctx,
    );
    assert_eq!((v.overall, v.code), (Overall::Valid, None));
    assert!(
        v.attestations
            .iter()
            .filter(|a| a.outcome == AttestationOutcome::Verified)
            .count()
            >= 4
    );
    // POST with a list; bounds.
    let r = app
        .client
        .post(app.url("/v1/pack"))
        .json(&json!({"items": [valid]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let too_many: Vec<String> = (0..201)
        .map(|i| format!("01/04012345000016/21/P{i}"))
        .collect();
    let r = app
        .client
        .post(app.url("/v1/pack"))
        .json(&json!({ "items": too_many }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for bad in ["", "items=", "items=01/123/21/x"] {
        let r = app
            .client
            .get(app.url(&format!("/v1/pack?{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn another_ecosystem_listing_acmes_did_cannot_publish_for_acme() {
    // The Ouranos root lists ACME's DID with its own key and ACME's company prefix: the
    // registry resolves ACME in its home ecosystem (Catena-X) alone, so that key signs nothing
    // for ACME here.
    let app = spawn_app().await;
    let w = &app.world;
    let (trust, _) = app.stores().await;
    let mut list = trust.list("ouranos").unwrap().clone();
    let mut borrowed = list.entities[0].clone();
    let evil = KeyPair::from_secret("k-evil", &[66; 32]);
    borrowed.id = w.acme.did.clone();
    borrowed.name = "ACME Cells GmbH".into();
    borrowed.keys = vec![evil.public()];
    borrowed.gcp = vec!["4012345".into()];
    list.entities.push(borrowed);
    list.seq += 1;
    let root: Value = serde_json::from_slice(
        &std::fs::read(app.dir.path().join("demo/keys/ouranos-root.jwk")).unwrap(),
    )
    .unwrap();
    let r = app
        .client
        .post(app.url("/v1/operator/trust-lists"))
        .bearer_auth(TOKEN)
        .header("Content-Type", "application/jwt")
        .body(cellproof_core::sign_trust_list(
            &list,
            &KeyPair::from_private_jwk(&root).unwrap(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the list itself is well signed");
    let (_, url) = battery(&app, "EVIL0001");
    let payload = w.passport(&w.acme, &url, 1, None, &[], now() - 60);
    let r = post_vc(&app, "/v1/passports", &sign_json(Typ::Vc, &payload, &evil)).await;
    assert_problem(&r, 403, "issuer-not-trusted", Some("key_unknown"));
    let bytes = b"%PDF-1.4\n% not ACME's\n%%EOF\n";
    let d = sha256_b64(bytes);
    let env = envelope(w, &app.address, &evil, &w.acme.did, "document", &d);
    let r = put_doc(&app, &d, bytes, "application/pdf", Some(env)).await;
    assert_problem(&r, 403, "issuer-not-trusted", Some("key_unknown"));
    // ACME itself still publishes.
    let r = post_vc(&app, "/v1/passports", &w.sign_vc(&w.acme, &payload)).await;
    assert_eq!(r.0, 200, "{}", r.1);
}

/// The pack of `items` (GET), with an optional `maxDocumentBytes`.
async fn pack_of(app: &TestApp, items: &str, max: Option<&str>) -> (u16, Value) {
    let q = match max {
        Some(m) => format!("/v1/pack?items={items}&maxDocumentBytes={m}"),
        None => format!("/v1/pack?items={items}"),
    };
    let r = app.client.get(app.url(&q)).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The document digests a pack carries.
fn packed(pack: &Value) -> Vec<String> {
    pack["documents"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn packs_carry_the_public_documents_of_the_named_batteries_within_a_byte_bound() {
    let app = spawn_app().await;
    let w = &app.world;
    let url = sample(&app, "passport-valid")["url"].as_str().unwrap();
    let valid = url
        .split('#')
        .next()
        .unwrap()
        .strip_prefix(&format!("{}/", app.address))
        .unwrap()
        .to_owned();

    // passport-valid: every document its current version links, bytes matching the digest.
    let (s, pack) = pack_of(&app, &valid, None).await;
    assert_eq!(s, 200, "{pack}");
    let versions = pack["passports"][&valid]["versions"].as_array().unwrap();
    let current = versions.last().unwrap().as_str().unwrap();
    let cs: Value = serde_json::from_slice(
        &cellproof_core::b64_decode(current.split('.').nth(1).unwrap(), "payload").unwrap(),
    )
    .unwrap();
    let carbon = cs
        .pointer("/credentialSubject/sustainability/carbonFootprint/0/declaration/hashDigest")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let conformity = cs
        .pointer("/credentialSubject/conformity/declarationOfConformity/hashDigest")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    for d in [&carbon, &conformity] {
        let doc = &pack["documents"][d];
        assert_eq!(doc["mediaType"], "application/pdf", "{d}");
        let bytes = cellproof_core::b64_decode(doc["data"].as_str().unwrap(), "data").unwrap();
        check_document(&bytes, d).unwrap();
        assert_eq!(&sha256_b64(&bytes), d);
        // The same bytes as the registry serves.
        let served = app
            .client
            .get(app.url(&format!("/v1/documents/{d}")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(served.as_ref(), bytes.as_slice());
    }
    let mut expected = vec![carbon.clone(), conformity.clone()];
    expected.dedup();
    assert_eq!(packed(&pack), expected);
    assert_eq!(pack["documentsOmitted"], json!([]));
    assert_eq!(pack["documentsMissing"], json!([]));

    // Another battery links its own document (3000 bytes) and one the registry never got.
    let (other, other_url) = battery(&app, "PACKDOC1");
    let own = [b"Declaration of conformity of PACKDOC1. ".as_slice(); 80].concat()[..3000].to_vec();
    let own_d = sha256_b64(&own);
    let r = put_doc(
        &app,
        &own_d,
        &own,
        "application/pdf",
        Some(doc_auth(&app, &own_d)),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let absent = sha256_b64(b"never uploaded");
    let mut p = w.passport(&w.acme, &other_url, 1, None, &[], now() - DAY);
    // Its carbon declaration: a small document of its own.
    let small_doc = b"Carbon footprint study of PACKDOC1".to_vec();
    let other_carbon = sha256_b64(&small_doc);
    let r = put_doc(
        &app,
        &other_carbon,
        &small_doc,
        "application/pdf",
        Some(doc_auth(&app, &other_carbon)),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let link = |d: &str| {
        json!({"linkURL": app.url(&format!("/v1/documents/{d}")), "linkType": "gs1:certificationInfo",
               "name": "document", "mediaType": "application/pdf", "hashDigest": d,
               "hashMethod": "SHA-256"})
    };
    *p.pointer_mut("/credentialSubject/conformity/declarationOfConformity")
        .unwrap() = link(&own_d);
    p["credentialSubject"]["conformity"]["documents"] = json!([link(&absent)]);
    *p.pointer_mut("/credentialSubject/sustainability/carbonFootprint/0/declaration")
        .unwrap() = link(&other_carbon);
    let r = post_vc(&app, "/v1/passports", &w.sign_vc(&w.acme, &p)).await;
    assert_eq!(r.0, 200, "{}", r.1);

    // Its document is not in passport-valid's pack (nor anything not linked).
    let (_, pack) = pack_of(&app, &valid, None).await;
    assert_eq!(packed(&pack), expected);
    assert!(!pack.to_string().contains(&own_d));
    // Both batteries: each document once, the absent one named as missing.
    let (s, both) = pack_of(&app, &format!("{valid},{other}"), None).await;
    assert_eq!(s, 200, "{both}");
    let mut all = packed(&both);
    all.sort();
    let mut want = expected.clone();
    want.extend([own_d.clone(), other_carbon.clone()]);
    want.sort();
    want.dedup();
    assert_eq!(all, want);
    assert_eq!(both["documentsMissing"], json!([absent]));
    assert_eq!(both["documentsOmitted"], json!([]));
    let own_packed =
        cellproof_core::b64_decode(both["documents"][&own_d]["data"].as_str().unwrap(), "data")
            .unwrap();
    assert_eq!(own_packed, own);

    // The bound: the small carbon declaration fits, the 3000-byte document does not and is
    // named, so the page can say it is not offline.
    let carbon_len = cellproof_core::b64_decode(
        both["documents"][&other_carbon]["data"].as_str().unwrap(),
        "data",
    )
    .unwrap()
    .len();
    assert!(carbon_len < 2000);
    let bound = (carbon_len + 1000).to_string();
    let (s, small) = pack_of(&app, &other, Some(&bound)).await;
    assert_eq!(s, 200, "{small}");
    assert_eq!(packed(&small), vec![other_carbon.clone()]);
    assert_eq!(small["documentsOmitted"], json!([own_d]));
    assert_eq!(small["documentsMissing"], json!([absent]));
    let (_, none) = pack_of(&app, &other, Some("0")).await;
    assert_eq!(packed(&none), Vec::<String>::new());
    let mut omitted: Vec<String> =
        serde_json::from_value(none["documentsOmitted"].clone()).unwrap();
    omitted.sort();
    let mut other_docs = vec![own_d.clone(), other_carbon.clone()];
    other_docs.sort();
    assert_eq!(omitted, other_docs);
    // Exactly at the bound fits; a request cannot raise the server's bound past its own.
    let exact = (carbon_len + own.len()).to_string();
    let (_, at) = pack_of(&app, &other, Some(&exact)).await;
    assert_eq!(at["documentsOmitted"], json!([]));
    assert_eq!(packed(&at).len(), 2);
    let (s, big) = pack_of(&app, &other, Some(&u64::MAX.to_string())).await;
    assert_eq!(s, 200);
    assert_eq!(big["documentsOmitted"], json!([]));
    // POST takes the bound too; a bound that is not a non-negative integer is refused.
    let r = app
        .client
        .post(app.url("/v1/pack"))
        .json(&json!({"items": [other], "maxDocumentBytes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(packed(&v), Vec::<String>::new());
    for bad in [json!(-1), json!("10"), json!(1.5), json!(null)] {
        let r = app
            .client
            .post(app.url("/v1/pack"))
            .json(&json!({"items": [other], "maxDocumentBytes": bad}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    for bad in ["-1", "x", "1e3", "18446744073709551616"] {
        let (s, v) = pack_of(&app, &other, Some(bad)).await;
        assert_eq!(s, 400, "{bad}");
        assert_eq!(
            v["type"].as_str().unwrap().rsplit('/').next(),
            Some("pack-invalid")
        );
    }
}

/// SPEC.md 1.2 section 6.2, point in time: `?at=` answers the chain as the registry had
/// accepted it then (a version or attestation counts from the request that stored it), read
/// from the store; before the first version 404; a future time (year 9999) as of now; a time
/// before 1970 (year 0) before everything; anything but one RFC 3339 date-time 400
/// `at-invalid`. Runs on PostgreSQL too when the suite is pointed at it.
#[tokio::test]
async fn a_chain_read_as_of_a_time_shows_what_was_accepted_then() {
    use cellproof_server::{Clock, ManualClock};
    use std::sync::Arc;
    let t0 = now();
    let clock = Arc::new(ManualClock::new(t0));
    let c: Arc<dyn Clock> = clock.clone();
    let app = spawn_app_with(move |config| config.clock = c).await;
    let w = &app.world;
    let (_, url) = battery(&app, "ASOF0001");
    let co = w.attestation(&w.certifier, CO, SOURCING, &["Co"], valid());
    let list = vec![listed(SOURCING, &["Co"], CO, co.clone())];
    // t0: version 1, which lists an attestation not held yet.
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 1, None, &list, t0 - 2 * DAY),
    );
    assert_eq!(post_vc(&app, "/v1/passports", &v1).await.0, 200);
    // t0 + 100: the attestation, then version 2.
    clock.set(t0 + 100);
    assert_eq!(post_vc(&app, "/v1/attestations", &co).await.0, 200);
    let v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 2, Some(&v1), &list, t0 - DAY),
    );
    assert_eq!(post_vc(&app, "/v1/passports", &v2).await.0, 200);
    clock.set(t0 + 200);
    let base = app.url("/v1/passports/04012345000016/ASOF0001");
    let at = |t: &str| format!("{base}?at={t}");
    let rfc = |t: u64| format_rfc3339(t);
    let get = |u: String| {
        let client = app.client.clone();
        async move {
            let r = client.get(u).send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.text().await.unwrap())
        }
    };
    let co_digest = sha256_b64(co.as_bytes());
    // Before the first version: 404.
    let (s, body) = get(at(&rfc(t0 - 1))).await;
    assert_eq!(s, 404, "{body}");
    assert!(body.contains("passport-not-held"), "{body}");
    // At t0 and t0 + 99: version 1 alone, its attestation not yet accepted.
    for t in [t0, t0 + 50, t0 + 99] {
        let (s, body) = get(at(&rfc(t))).await;
        assert_eq!(s, 200, "{body}");
        let c = PassportChain::from_json(&body).unwrap();
        assert_eq!(c.versions, vec![v1.clone()], "at {t}");
        assert!(c.attestations.is_empty(), "at {t}: {body}");
    }
    // At t0 + 100: both versions and the attestation.
    let (s, body) = get(at(&rfc(t0 + 100))).await;
    assert_eq!(s, 200, "{body}");
    let c = PassportChain::from_json(&body).unwrap();
    assert_eq!(c.versions, vec![v1.clone(), v2.clone()]);
    assert_eq!(c.attestations[&co_digest], co);
    // The same instant with an offset, its `+` percent-encoded or not.
    let plus_one = rfc(t0 + 100 + 3600).replace('Z', "+01:00");
    for q in [plus_one.replace('+', "%2B"), plus_one.clone()] {
        let (s, body) = get(at(&q)).await;
        assert_eq!(s, 200, "{q}: {body}");
        assert_eq!(
            PassportChain::from_json(&body).unwrap().versions.len(),
            2,
            "{q}"
        );
    }
    // The future (year 9999) is now; year 0 is before everything.
    let (s_now, now_body) = get(base.clone()).await;
    assert_eq!(s_now, 200);
    let (s, body) = get(at("9999-12-31T23:59:59Z")).await;
    assert_eq!((s, &body), (200, &now_body));
    let (s, body) = get(at("0000-01-01T00:00:00Z")).await;
    assert_eq!(s, 404, "{body}");
    // Anything else: 400 at-invalid, never a guess.
    for bad in [
        "",
        "yesterday",
        "1796083200",
        "2027-01-01",
        "2027-01-01T00:00:00",
        "2027-13-01T00:00:00Z",
        "2027-01-01T00:00:00Z&at=2027-01-02T00:00:00Z",
        "%ZZ",
    ] {
        let (s, body) = get(at(bad)).await;
        assert_eq!(s, 400, "{bad}: {body}");
        assert!(body.contains("at-invalid"), "{bad}: {body}");
    }
    // Many distinct times: each one answered from the store, none kept (no cache to fill).
    for i in 0..200 {
        let (s, _) = get(at(&rfc(t0 - 1000 + i * 7))).await;
        assert!(s == 200 || s == 404, "{s}");
    }
    // A battery without any passport: 404 at any time.
    let (s, _) = get(app.url(&format!(
        "/v1/passports/04012345000016/NOPE1?at={}",
        rfc(t0)
    )))
    .await;
    assert_eq!(s, 404);
}

/// SPEC.md 1.2 section 3.1: the demo's passports carry their battery's status entries (the list
/// and index of the label's `st`), so a verifier that resolved a plain link, holding the
/// passport and not the label, sees the battery revoked once its issuer revokes it.
#[tokio::test]
async fn a_resolved_passport_carries_its_batterys_status_and_a_revocation_reaches_it() {
    let app = spawn_app().await;
    let s = sample(&app, "passport-valid");
    let label = s["url"].as_str().unwrap();
    let plain = label.split('#').next().unwrap().to_owned();
    let chain_url = s["passport"].as_str().unwrap().to_owned();
    let index = s["index"].as_u64().unwrap();
    let resolved =
        |trust: &cellproof_core::TrustStore, status: &cellproof_core::StatusStore, body: &str| {
            let ctx = Context::new(trust, status, UnixTime(now()));
            cellproof_core::verify_resolved(
                &plain,
                &cellproof_core::Fetched::Chain {
                    url: &chain_url,
                    body,
                },
                &ctx,
            )
        };
    let (_, body) = chain(&app, &chain_url).await;
    let c = PassportChain::from_json(&body).unwrap();
    for v in &c.versions {
        let payload: Value = serde_json::from_slice(
            &cellproof_core::b64_decode(v.split('.').nth(1).unwrap(), "payload").unwrap(),
        )
        .unwrap();
        let entries = payload["credentialStatus"].as_array().unwrap();
        let purposes: Vec<&str> = entries
            .iter()
            .map(|e| e["statusPurpose"].as_str().unwrap())
            .collect();
        assert_eq!(purposes, ["revocation", "suspension"]);
        for e in entries {
            assert_eq!(e["statusListIndex"], index.to_string().as_str());
        }
        assert_eq!(
            entries[0]["statusListCredential"],
            app.url("/v1/status/acme/3").as_str()
        );
    }
    let (trust, status) = app.stores().await;
    let v = resolved(&trust, &status, &body);
    assert_eq!((v.overall, v.code), (Overall::Valid, None), "{v:#?}");
    let st = v
        .stages
        .iter()
        .find(|s| s.stage == cellproof_core::Stage::Status)
        .unwrap();
    assert_eq!(st.outcome, cellproof_core::Outcome::Passed, "{v:#?}");
    // ACME revokes the battery: the resolved passport alone now says so.
    let (iss, key) = app.acme();
    let r = app
        .post_jwt(
            "/v1/status",
            common::update(&app.address, &key, &iss, "3", index, "revocation", true),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let mut revoked = None;
    for _ in 0..50 {
        let (trust, status) = app.stores().await;
        let v = resolved(&trust, &status, &body);
        if v.code == Some("revoked") {
            revoked = Some(v);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let v = revoked.expect("the revocation reaches the resolved passport within 5 s");
    assert_eq!(v.overall, Overall::Invalid);
}
