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
