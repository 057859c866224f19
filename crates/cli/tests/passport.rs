//! The passport workflow through the `cellproof` binary (SPEC.md section 3): an attestation
//! signed with `attest`, its `digest`, passport versions 1 and 2 with `passport sign`, a label
//! bound to version 1 with `issue --passport`, and `verify --passport --document`.

use std::path::Path;
use std::process::{Command, Output};

use cellproof_world::{Listed, World, DAY, YEAR};
use serde_json::{json, Value};

const T0: u64 = 1_796_083_200;
const URL: &str = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000123";
const CO_SUPPLIER: &str = "did:web:refinery.kobalt.example";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cellproof"))
        .args(args)
        .output()
        .expect("running cellproof")
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn issuer_and_certifier_workflow_verifies_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = World::new("cli-passport", "https://registry.example", T0);
    let acme_key = write(d, "acme.jwk", &w.acme.key.to_private_jwk().to_string());
    let cert_key = write(d, "cert.jwk", &w.certifier.key.to_private_jwk().to_string());
    let root = write(
        d,
        "root.jwk",
        &w.root("catena-x").public().to_jwk().to_string(),
    );
    let trust = write(d, "cx.jws", &w.sign_trust_list(&w.trust_list("catena-x")));
    let status = write(
        d,
        "acme-3.jws",
        &w.status_list(
            &w.acme,
            "3",
            cellproof_core::Purpose::Revocation,
            &[],
            T0,
            T0 + DAY,
        ),
    );

    // A certifier signs a supplier certification; `digest` gives its hashDigest.
    let attestation = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "ConformityAttestation"],
        "issuer": w.certifier.did,
        "validFrom": cellproof_core::format_rfc3339(T0 - YEAR),
        "validUntil": cellproof_core::format_rfc3339(T0 + YEAR),
        "credentialSubject": {"id": CO_SUPPLIER, "attestationType": "certification",
            "assessment": [{"topic": "sourcing.due-diligence", "materials": ["Co"], "conformance": true}]}
    });
    let a_json = write(d, "a.json", &attestation.to_string());
    let a_jws_path = d.join("a.jws");
    ok(&run(&[
        "attest",
        "--key",
        &cert_key,
        "--claims",
        &a_json,
        "--out",
        a_jws_path.to_str().unwrap(),
    ]));
    let a_jws = std::fs::read_to_string(&a_jws_path).unwrap();
    let digest_out = ok(&run(&["digest", a_jws_path.to_str().unwrap()]));
    let digest = digest_out.split_whitespace().next().unwrap().to_owned();
    assert_eq!(digest, cellproof_core::sha256_b64(a_jws.as_bytes()));
    // Signed as VC 2.0 JSON-LD (SPEC.md 1.2 section 3): the undefined-terms context added last,
    // a random urn:uuid id added, neither given in the claims.
    let signed: Value = serde_json::from_slice(
        &cellproof_core::b64_decode(a_jws.split('.').nth(1).unwrap(), "payload").unwrap(),
    )
    .unwrap();
    assert_eq!(
        signed["@context"],
        json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/undefined-terms/v2"
        ])
    );
    let id = signed["id"].as_str().unwrap();
    assert!(
        id.len() == 45 && id.starts_with("urn:uuid:") && id.as_bytes()[23] == b'4',
        "{id}"
    );
    // A context that does not start with VC 2.0's is refused, not patched.
    let foreign = write(
        d,
        "foreign.json",
        &json!({"@context": ["https://evil.example/ctx", "https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "ConformityAttestation"], "issuer": w.certifier.did,
            "credentialSubject": {"id": CO_SUPPLIER, "assessment": [{"topic": "x", "conformance": true}]}})
        .to_string(),
    );
    let o = run(&["attest", "--key", &cert_key, "--claims", &foreign]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("@context"));
    // Not an attestation: refused with a sentence, exit 2.
    let bad = write(d, "bad.json", r#"{"type":["VerifiableCredential"]}"#);
    let o = run(&["attest", "--key", &cert_key, "--claims", &bad]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ConformityAttestation"));

    // Passport versions 1 and 2; version 2 must name version 1.
    let listed = [Listed {
        topic: "sourcing.due-diligence".into(),
        materials: vec!["Co".into()],
        subject: CO_SUPPLIER.into(),
        jws: a_jws.clone(),
    }];
    let p1 = write(
        d,
        "p1.json",
        &w.passport(&w.acme, URL, 1, None, &listed, T0 - 40 * DAY)
            .to_string(),
    );
    let mut p2v = w.passport(&w.acme, URL, 2, None, &listed, T0 - 10 * DAY);
    let p2 = write(d, "p2.json", &p2v.to_string());
    let v1 = d.join("v1.jws");
    let v2 = d.join("v2.jws");
    ok(&run(&[
        "passport",
        "sign",
        "--key",
        &acme_key,
        "--passport",
        &p1,
        "--out",
        v1.to_str().unwrap(),
    ]));
    let o = run(&[
        "passport",
        "sign",
        "--key",
        &acme_key,
        "--passport",
        &p2,
        "--out",
        v2.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "version 2 without --prev is refused"
    );
    p2v["credentialSubject"]["metadata"]["version"] = 3.into();
    let p3 = write(d, "p3.json", &p2v.to_string());
    let o = run(&[
        "passport",
        "sign",
        "--key",
        &acme_key,
        "--passport",
        &p3,
        "--prev",
        v1.to_str().unwrap(),
        "--out",
        v2.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "version 3 after version 1 is refused"
    );
    ok(&run(&[
        "passport",
        "sign",
        "--key",
        &acme_key,
        "--passport",
        &p2,
        "--prev",
        v1.to_str().unwrap(),
        "--out",
        v2.to_str().unwrap(),
    ]));

    // The label commits to version 1.
    let mut claims = w.reference_claims();
    claims.insert("url".into(), URL.into());
    let claims = write(d, "claims.json", &Value::Object(claims).to_string());
    let issued = ok(&run(&[
        "issue",
        "--key",
        &acme_key,
        "--claims",
        &claims,
        "--passport",
        v1.to_str().unwrap(),
        "--at",
        &(T0 - 30 * DAY).to_string(),
        "--json",
    ]));
    let url = serde_json::from_str::<Value>(&issued).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();

    let chain = json!({
        "versions": [std::fs::read_to_string(&v1).unwrap(), std::fs::read_to_string(&v2).unwrap()],
        "attestations": {digest.clone(): a_jws},
    });
    let chain = write(d, "chain.json", &chain.to_string());
    let doc = write(
        d,
        "cf.pdf",
        "Carbon footprint declaration (example document)",
    );
    let at = (T0 + 60).to_string();
    let base = [
        "verify",
        url.as_str(),
        "--root",
        &format!("catena-x={root}"),
        "--trust-list",
        &trust,
        "--status-list",
        &status,
        "--at",
        &at,
        "--passport",
        &chain,
    ];
    let mut args = base.to_vec();
    args.extend(["--json", "--document", &doc]);
    let out = ok(&run(&args));
    let j: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["overall"], "valid", "{j:#}");
    assert_eq!(j["passport"]["version"], 2);
    let co = j["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["topic"] == "sourcing.due-diligence" && a["materials"] == json!(["Co"]))
        .unwrap();
    assert_eq!(co["outcome"], "verified");
    assert_eq!(co["issuerName"], "Example Audit GmbH");
    // Li and Ni have no listing: declared.
    let declared = j["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["outcome"] == "declared")
        .count();
    assert!(declared >= 2, "{j:#}");
    assert_eq!(j["documents"][0]["outcome"], "matched");

    // Another document under the same name: not the one the passport links; exit 1.
    let forged = write(d, "forged.pdf", "Carbon footprint declaration (edited)");
    let mut args = base.to_vec();
    args.extend(["--json", "--document", &forged]);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["documents"][0]["code"], "document_digest_mismatch");

    // The text form names the certifier.
    let text = ok(&run(&base));
    assert!(
        text.contains("verified   sourcing.due-diligence Co by Example Audit GmbH (catena-x)"),
        "{text}"
    );
    assert!(text.contains("passport: version 2"), "{text}");

    // A chain file that is not one: exit 2 with the reason.
    let junk = write(d, "junk.json", r#"{"versions": []}"#);
    let mut args = base.to_vec();
    args.pop();
    args.push(&junk);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a passport chain"));
}

/// Inspectors (SPEC.md section 6.4, `docs/inspection.md`): `report seal` over a scan with the
/// world's market-surveillance inspector key, `report verify` accepting it (with the pack
/// beside it, or the one-file export) and naming what differs in a tampered copy;
/// `request sign` for a restricted read; `keygen`'s thumbprint.
#[test]
fn inspection_reports_seal_and_verify_through_the_binary() {
    use cellproof_core::{passport_digest, sha256_b64};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = World::new("cli-inspection", "https://registry.example", T0);
    let msa_key = write(d, "msa.jwk", &w.msa.key.to_private_jwk().to_string());
    let root = write(
        d,
        "root.jwk",
        &w.root("catena-x").public().to_jwk().to_string(),
    );
    let cx = write(d, "cx.jws", &w.sign_trust_list(&w.trust_list("catena-x")));
    let ou = write(d, "ou.jws", &w.sign_trust_list(&w.trust_list("ouranos")));
    let mut lists = Vec::new();
    for (i, p) in cellproof_core::Purpose::ALL.into_iter().enumerate() {
        lists.push(write(
            d,
            &format!("s{i}.jws"),
            &w.status_list(&w.acme, "3", p, &[], T0, T0 + DAY),
        ));
    }
    let a_jws = w.attestation(
        &w.certifier,
        CO_SUPPLIER,
        "sourcing.due-diligence",
        &["Co"],
        (T0 - YEAR, T0 + YEAR),
    );
    let listed = [Listed {
        topic: "sourcing.due-diligence".into(),
        materials: vec!["Co".into()],
        subject: CO_SUPPLIER.into(),
        jws: a_jws.clone(),
    }];
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, &listed, T0 - 40 * DAY),
    );
    let chain = write(
        d,
        "chain.json",
        &json!({"versions": [v1], "attestations": {sha256_b64(a_jws.as_bytes()): a_jws}})
            .to_string(),
    );
    let mut claims = w.reference_claims();
    if let Some(Value::Object(bp)) = claims.get_mut("bp") {
        bp.insert("dig".into(), passport_digest(&v1).into());
    }
    let label = w.issue(&w.acme, &claims, T0 - 30 * DAY).unwrap().url();
    let photo = write(d, "label.jpg", "\u{ff}\u{d8} a label photo");
    let report = d.join("report.jws");
    let pack = d.join("pack.json");
    let mut args = vec![
        "report",
        "seal",
        "--key",
        &msa_key,
        "--iss",
        "did:web:msa.example",
        "--scan",
        &label,
        "--root",
        "",
        "--trust-list",
        &cx,
        "--trust-list",
        &ou,
        "--passport",
        &chain,
        "--photo",
        &photo,
        "--hint",
        "possible_copied_label=seen on two labels",
        "--out",
        report.to_str().unwrap(),
        "--pack",
        pack.to_str().unwrap(),
    ];
    let root_arg = format!("catena-x={root}");
    args[9] = &root_arg;
    for l in &lists {
        args.push("--status-list");
        args.push(l);
    }
    let at = (T0 + 60).to_string();
    args.extend(["--at", &at]);
    let out = ok(&run(&args));
    assert!(out.starts_with("sealed: valid"), "{out}");

    let later = (T0 + DAY).to_string();
    let verify = |extra: &[&str]| {
        // The verifier's clock a day after the inspection (T0 is after the real clock of
        // the day this test was written: a report from the future is refused).
        let mut a = vec!["report", "verify", "--root", &root_arg, "--at", &later];
        a.extend_from_slice(extra);
        run(&a)
    };
    // With the pack beside it, and as the one-file export.
    let o = verify(&[
        report.to_str().unwrap(),
        "--evidence",
        pack.to_str().unwrap(),
    ]);
    let text = ok(&o);
    assert!(text.contains("report STANDS"), "{text}");
    assert!(text.contains("Market surveillance authority"), "{text}");
    assert!(text.contains("hint possible_copied_label"), "{text}");
    let o = verify(&[pack.to_str().unwrap(), "--json"]);
    let j: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(j["stands"], true);
    assert_eq!(j["inspector"]["id"], "did:web:msa.example");
    assert_eq!(j["reported"], j["recomputed"]);

    // A tampered copy: a trust list edited in the pack, exit 1, the artifact named.
    let mut p: Value = serde_json::from_str(&std::fs::read_to_string(&pack).unwrap()).unwrap();
    let lists = p["trustLists"].as_object_mut().unwrap();
    let k = lists.keys().next().unwrap().clone();
    let edited = lists[&k].as_str().unwrap().replacen('A', "B", 1);
    lists.insert(k, edited.into());
    let bad = write(d, "bad-pack.json", &p.to_string());
    let o = verify(&[bad.as_str()]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("DIFFERS report_digest_mismatch"), "{text}");
    // A report whose verdict the inspector's key re-signed as "invalid": the evidence says
    // otherwise, field by field.
    let r = std::fs::read_to_string(&report).unwrap();
    let jws = cellproof_core::Jws::parse(&r, cellproof_core::Typ::Vc, 1 << 20).unwrap();
    let mut payload = Value::Object(jws.unverified_payload().clone());
    payload["credentialSubject"]["verdict"]["overall"] = "invalid".into();
    let lie = cellproof_core::seal_report(&payload, &w.msa.key);
    let lie_path = write(d, "lie.jws", &lie);
    let o = verify(&[lie_path.as_str(), "--evidence", pack.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("DIFFERS report_verdict_differs") && text.contains("overall"),
        "{text}"
    );
    // No roots pinned: a usage error, exit 2.
    let o = run(&["report", "verify", report.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    // Verified by a clock before the report was sealed: from the future, exit 1.
    let o = run(&[
        "report",
        "verify",
        "--root",
        &root_arg,
        "--at",
        &(T0 - DAY).to_string(),
        pack.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("not_yet_valid"));

    // Issue 16: the verifier's own lists. A newer catena-x list without the inspector refuses
    // the report (exit 1) and names the older evidence; a newer status list that leaves the
    // battery clear only names it (exit 0).
    let mut removed = w.trust_list("catena-x");
    removed.seq += 1;
    removed.entities.retain(|e| e.id != w.msa.did);
    let newer = write(d, "cx-newer.jws", &w.sign_trust_list(&removed));
    let o = verify(&[pack.to_str().unwrap(), "--trust-list", &newer]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("DIFFERS report_inspector_withdrawn"),
        "{text}"
    );
    assert!(text.contains("note report_evidence_stale"), "{text}");
    let clear = write(
        d,
        "s-newer.jws",
        &w.status_list(
            &w.acme,
            "3",
            cellproof_core::Purpose::Revocation,
            &[],
            T0 + DAY / 2,
            T0 + 2 * DAY,
        ),
    );
    let o = verify(&[
        pack.to_str().unwrap(),
        "--trust-list",
        &cx,
        "--status-list",
        &clear,
        "--json",
    ]);
    let j: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(j["stands"], true);
    assert_eq!(j["stale"][0]["kind"], "status_list");

    // A restricted read request, as the registry parses and verifies it.
    let o = run(&[
        "request",
        "sign",
        "--op",
        "read",
        "--item",
        "01/04012345000016/21/SN2026A000123",
        "--tier",
        "authority",
        "--aud",
        "https://registry.example",
        "--key",
        &msa_key,
        "--iss",
        "did:web:msa.example",
        "--at",
        &at,
    ]);
    let jws = ok(&o);
    let parsed = cellproof_core::ParsedRequest::parse(jws.trim()).unwrap();
    let mut trust = cellproof_core::TrustStore::new();
    trust.pin_root("catena-x", &w.root("catena-x").public());
    trust
        .insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    let v = parsed
        .verify(
            &trust,
            &cellproof_core::Expect {
                aud: "https://registry.example",
                op: cellproof_core::Op::Read,
                roles: &cellproof_core::RESTRICTED_READ_ROLES,
                home: Some("catena-x"),
            },
            T0 + 60,
        )
        .unwrap();
    assert_eq!(
        v.request.operation,
        cellproof_core::Operation::Read {
            item: "01/04012345000016/21/SN2026A000123".into(),
            tier: "authority".into()
        }
    );
    // --op read without --item is a usage error.
    let o = run(&[
        "request", "sign", "--op", "read", "--aud", "x", "--key", &msa_key, "--iss", "y",
    ]);
    assert_eq!(o.status.code(), Some(2));

    // keygen: the public JWK on stdout, its RFC 7638 thumbprint on stderr.
    let o = run(&[
        "keygen",
        "--kid",
        "i1",
        "--out",
        d.join("i1.jwk").to_str().unwrap(),
    ]);
    let jwk: Value = serde_json::from_str(&ok(&o)).unwrap();
    let key = cellproof_core::PublicKey::from_jwk(&jwk).unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&cellproof_core::jwk_thumbprint(&key)), "{err}");
}
