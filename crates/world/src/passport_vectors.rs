//! Passport and attestation vectors (`tests/vectors/passports/`, SPEC.md sections 3 and 7): one
//! case per passport-stage code and per attestation code, each with the label, the chain as the
//! registry serves it, and the expected verdict and per-topic outcomes. Expectations are written
//! by intent, not read back from the verifier.

use std::collections::BTreeMap;

use cellproof_core::{format_rfc3339, passport_digest, sha256_b64, sign_json, Error, Purpose, Typ};
use serde_json::{json, Map, Value};

use crate::vectors::VectorFile;
use crate::{Issuer, Listed, World, DAY, YEAR};

const URL: &str = "https://id.cells.acme.example/01/04012345000016/21/SN2026A000123";
const MODEL: &str = "urn:gtin:04012345000016";
const CO: &str = "did:web:refinery.kobalt.example";
const LI: &str = "did:web:lithium.sanriku.example";
const SOURCING: &str = "sourcing.due-diligence";
const CARBON: &str = "emissions.carbon-footprint";
const RECYCLED: &str = "content.recycled";
const CONFORMITY: &str = "conformity.declaration";
/// Index of the certifier's revocation list whose bit is set.
const REVOKED_CERT: u64 = 77;

fn listed(topic: &str, materials: &[&str], subject: &str, jws: String) -> Listed {
    Listed {
        topic: topic.into(),
        materials: materials.iter().map(|m| (*m).to_owned()).collect(),
        subject: subject.into(),
        jws,
    }
}

/// An attestation with a revocation entry in the certifier's list 1.
fn attestation_with_status(w: &World, subject: &str, index: u64, valid: (u64, u64)) -> String {
    let payload = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"],
        "type": ["VerifiableCredential", "ConformityAttestation"],
        "id": crate::urn_uuid(&[&w.seed, "attestation", subject, &index.to_string()]),
        "issuer": w.certifier.did,
        "validFrom": format_rfc3339(valid.0),
        "validUntil": format_rfc3339(valid.1),
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": index.to_string(),
            "statusListCredential": format!("{}1", w.status_base(&w.certifier))},
        "credentialSubject": {"id": subject, "attestationType": "certification",
            "assessment": [{"topic": SOURCING, "materials": ["Co"], "conformance": true}]}
    });
    sign_json(Typ::Vc, &payload, &w.certifier.key)
}

struct PCase {
    name: &'static str,
    description: &'static str,
    label: String,
    chain: Value,
    overall: &'static str,
    code: Option<&'static str>,
    passport: &'static str,
    attestations_stage: &'static str,
    /// `(topic, materials, outcome, code)` in the verdict's order.
    results: Vec<(
        &'static str,
        Vec<&'static str>,
        &'static str,
        Option<&'static str>,
    )>,
}

/// The results of the valid passport: four listings verified, nickel sourcing and the
/// declaration of conformity only declared.
fn valid_results() -> Vec<(
    &'static str,
    Vec<&'static str>,
    &'static str,
    Option<&'static str>,
)> {
    vec![
        (SOURCING, vec!["Co"], "verified", None),
        (SOURCING, vec!["Li"], "verified", None),
        (CARBON, vec![], "verified", None),
        (RECYCLED, vec!["Co", "Li", "Ni"], "verified", None),
        (SOURCING, vec!["Ni"], "declared", None),
        (CONFORMITY, vec![], "declared", None),
    ]
}

fn with_result(
    index: usize,
    outcome: &'static str,
    code: Option<&'static str>,
) -> Vec<(
    &'static str,
    Vec<&'static str>,
    &'static str,
    Option<&'static str>,
)> {
    let mut r = valid_results();
    if let Some(slot) = r.get_mut(index) {
        slot.2 = outcome;
        slot.3 = code;
    }
    r
}

struct Builder<'a> {
    w: &'a World,
    iat: u64,
}

impl Builder<'_> {
    fn four(&self) -> Vec<Listed> {
        let w = self.w;
        let valid = (w.t0 - YEAR, w.t0 + YEAR);
        vec![
            listed(
                SOURCING,
                &["Co"],
                CO,
                w.attestation(&w.certifier, CO, SOURCING, &["Co"], valid),
            ),
            listed(
                SOURCING,
                &["Li"],
                LI,
                w.attestation(&w.jqa, LI, SOURCING, &["Li"], valid),
            ),
            listed(
                CARBON,
                &[],
                URL,
                w.attestation(&w.certifier, URL, CARBON, &[], valid),
            ),
            listed(
                RECYCLED,
                &["Co", "Li", "Ni"],
                MODEL,
                w.attestation(&w.certifier, MODEL, RECYCLED, &["Co", "Li", "Ni"], valid),
            ),
        ]
    }

    /// Versions 1 and 2 of ACME's passport listing `list`; the label committing to version 1.
    fn chain(&self, list: &[Listed]) -> (String, Vec<String>, BTreeMap<String, String>) {
        let w = self.w;
        let v1 = w.sign_vc(
            &w.acme,
            &w.passport(&w.acme, URL, 1, None, list, w.t0 - 40 * DAY),
        );
        let v2 = w.sign_vc(
            &w.acme,
            &w.passport(&w.acme, URL, 2, Some(&v1), list, w.t0 - 10 * DAY),
        );
        let atts = list
            .iter()
            .map(|l| (sha256_b64(l.jws.as_bytes()), l.jws.clone()))
            .collect();
        (self.label(&v1), vec![v1, v2], atts)
    }

    fn label(&self, v1: &str) -> String {
        let w = self.w;
        let mut claims = w.reference_claims();
        if let Some(Value::Object(bp)) = claims.get_mut("bp") {
            bp.insert("dig".into(), passport_digest(v1).into());
        }
        w.issue(&w.acme, &claims, self.iat)
            .map(|c| c.url())
            .unwrap_or_default()
    }
}

fn chain_json(versions: &[String], atts: &BTreeMap<String, String>) -> Value {
    json!({"versions": versions, "attestations": atts})
}

fn signed_by(w: &World, issuer: &Issuer, payload: &Value) -> String {
    w.sign_vc(issuer, payload)
}

/// Every file of `tests/vectors/passports/` plus the certifier's status list.
pub(crate) fn files(w: &World, at: u64, iat: u64) -> Result<Vec<VectorFile>, Error> {
    let b = Builder { w, iat };
    let mut files = Vec::new();
    let until = w.t0 + 7 * DAY;
    files.push(VectorFile {
        path: "status-lists/certifier-1.jws".into(),
        content: w.status_list(
            &w.certifier,
            "1",
            Purpose::Revocation,
            &[REVOKED_CERT],
            w.t0,
            until,
        ),
    });
    let valid = (w.t0 - YEAR, w.t0 + YEAR);
    let four = b.four();
    let mut cases = Vec::new();

    let (label, versions, atts) = b.chain(&four);
    cases.push(PCase {
        name: "passport-valid",
        description: "ACME's passport, versions 1 and 2, with four attestations: Co by a Catena-X certifier, Li by an Ouranos certifier that Catena-X recognises for mineral sourcing, the carbon footprint and the recycled content; Ni sourcing and the declaration of conformity only declared.",
        label: label.clone(),
        chain: chain_json(&versions, &atts),
        overall: "valid", code: None, passport: "passed", attestations_stage: "passed",
        results: valid_results(),
    });

    // The registry serves a different, validly signed version 1.
    let other_v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 1, None, &four, w.t0 - 39 * DAY),
    );
    cases.push(PCase {
        name: "passport-tampered",
        description: "The registry serves another validly signed version 1 than the one the label committed to in bp.dig.",
        label: label.clone(),
        chain: chain_json(std::slice::from_ref(&other_v1), &atts),
        overall: "invalid", code: Some("digest_mismatch"), passport: "failed", attestations_stage: "skipped",
        results: vec![],
    });
    let broken_v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, URL, 2, Some(&other_v1), &four, w.t0 - 10 * DAY),
    );
    cases.push(PCase {
        name: "passport-chain-broken",
        description: "Version 2 names another version 1 as its predecessor than the one served.",
        label: label.clone(),
        chain: chain_json(
            &[versions.first().cloned().unwrap_or_default(), broken_v2],
            &atts,
        ),
        overall: "invalid",
        code: Some("passport_chain_broken"),
        passport: "failed",
        attestations_stage: "skipped",
        results: vec![],
    });
    let mut denchi_v2 = w.passport(
        &w.denchi,
        URL,
        2,
        versions.first().map(String::as_str),
        &four,
        w.t0,
    );
    denchi_v2["issuer"] = w.denchi.did.clone().into();
    cases.push(PCase {
        name: "passport-issuer-mismatch",
        description: "Version 2 is signed by Nippon Denchi, not by ACME, the label's issuer.",
        label: label.clone(),
        chain: chain_json(
            &[
                versions.first().cloned().unwrap_or_default(),
                signed_by(w, &w.denchi, &denchi_v2),
            ],
            &atts,
        ),
        overall: "invalid",
        code: Some("passport_issuer_mismatch"),
        passport: "failed",
        attestations_stage: "skipped",
        results: vec![],
    });
    let other_battery = URL.replace("SN2026A000123", "SN2026A000999");
    let v2_other = w.sign_vc(
        &w.acme,
        &w.passport(
            &w.acme,
            &other_battery,
            2,
            versions.first().map(String::as_str),
            &four,
            w.t0,
        ),
    );
    cases.push(PCase {
        name: "passport-subject-mismatch",
        description: "Version 2 is another battery's passport.",
        label: label.clone(),
        chain: chain_json(
            &[versions.first().cloned().unwrap_or_default(), v2_other],
            &atts,
        ),
        overall: "invalid",
        code: Some("passport_subject_mismatch"),
        passport: "failed",
        attestations_stage: "skipped",
        results: vec![],
    });
    let mut untyped = w.passport(&w.acme, URL, 1, None, &four, w.t0 - 40 * DAY);
    untyped["type"] = json!(["VerifiableCredential"]);
    let untyped = w.sign_vc(&w.acme, &untyped);
    cases.push(PCase {
        name: "passport-invalid",
        description: "Version 1 is a VC without the BatteryPassport type; the label commits to it.",
        label: b.label(&untyped),
        chain: chain_json(&[untyped], &atts),
        overall: "invalid",
        code: Some("passport_invalid"),
        passport: "failed",
        attestations_stage: "skipped",
        results: vec![],
    });

    // Attestation failures: each replaces one listing; the battery stays valid.
    let mut attestation_case =
        |name: &'static str,
         description: &'static str,
         index: usize,
         replacement: Listed,
         code: Option<&'static str>,
         chain_edit: &dyn Fn(&mut BTreeMap<String, String>)| {
            let mut list = four.clone();
            if let Some(slot) = list.get_mut(index) {
                *slot = replacement;
            }
            let (label, versions, mut atts) = b.chain(&list);
            chain_edit(&mut atts);
            cases.push(PCase {
                name,
                description,
                label,
                chain: chain_json(&versions, &atts),
                overall: "valid",
                code: None,
                passport: "passed",
                attestations_stage: if code.is_some() { "notice" } else { "passed" },
                results: with_result(
                    index,
                    if code.is_some() {
                        "failed"
                    } else {
                        "not_checked"
                    },
                    code,
                ),
            });
        };
    let none = |_: &mut BTreeMap<String, String>| {};
    attestation_case(
        "attestation-out-of-scope",
        "A certifier accredited for Co and Ni attests Li sourcing.",
        1,
        listed(
            SOURCING,
            &["Li"],
            LI,
            w.attestation(&w.certifier, LI, SOURCING, &["Li"], valid),
        ),
        Some("attestation_out_of_scope"),
        &none,
    );
    attestation_case("recognition-out-of-scope", "The Ouranos certifier attests recycled lithium, listed for Li only: accredited in Ouranos, outside Catena-X's recognition scope.", 3,
        listed(RECYCLED, &["Li"], MODEL, w.attestation(&w.jqa, MODEL, RECYCLED, &["Li"], valid)), Some("recognition_out_of_scope"), &none);
    attestation_case(
        "attestation-subject-mismatch",
        "The Co certification is about a refinery the passport's provenance does not name.",
        0,
        listed(
            SOURCING,
            &["Co"],
            "did:web:other-refinery.example",
            w.attestation(
                &w.certifier,
                "did:web:other-refinery.example",
                SOURCING,
                &["Co"],
                valid,
            ),
        ),
        Some("attestation_subject_mismatch"),
        &none,
    );
    attestation_case(
        "attestation-expired",
        "The carbon-footprint verification ended a day before the validation clock.",
        2,
        listed(
            CARBON,
            &[],
            URL,
            w.attestation(
                &w.certifier,
                URL,
                CARBON,
                &[],
                (w.t0 - 2 * YEAR, w.t0 - DAY),
            ),
        ),
        Some("attestation_expired"),
        &none,
    );
    attestation_case(
        "attestation-topic-mismatch",
        "The listing says Co sourcing, the attestation assesses the carbon footprint.",
        0,
        listed(
            SOURCING,
            &["Co"],
            URL,
            w.attestation(&w.certifier, URL, CARBON, &[], valid),
        ),
        Some("attestation_topic_mismatch"),
        &none,
    );
    attestation_case(
        "attestation-revoked",
        "The certifier revoked the Co certification.",
        0,
        listed(
            SOURCING,
            &["Co"],
            CO,
            attestation_with_status(w, CO, REVOKED_CERT, valid),
        ),
        Some("revoked"),
        &none,
    );
    let swapped = four.get(2).map(|l| l.jws.clone()).unwrap_or_default();
    let co_digest = four
        .first()
        .map(|l| sha256_b64(l.jws.as_bytes()))
        .unwrap_or_default();
    attestation_case(
        "attestation-digest-mismatch",
        "Under the Co listing's digest the chain holds the carbon-footprint attestation.",
        0,
        four.first()
            .cloned()
            .unwrap_or_else(|| listed(SOURCING, &[], CO, String::new())),
        Some("attestation_digest_mismatch"),
        &move |atts| {
            atts.insert(co_digest.clone(), swapped.clone());
        },
    );
    let li_digest = four
        .get(1)
        .map(|l| sha256_b64(l.jws.as_bytes()))
        .unwrap_or_default();
    attestation_case(
        "attestation-not-held",
        "The Li attestation is not in the chain (offline without a pack): not checked.",
        1,
        four.get(1)
            .cloned()
            .unwrap_or_else(|| listed(SOURCING, &[], LI, String::new())),
        None,
        &move |atts| {
            atts.remove(&li_digest);
        },
    );
    let mut nonconformant = serde_json::from_str::<Value>(&String::from_utf8_lossy(
        &cellproof_core::b64_decode(
            w.attestation(&w.certifier, CO, SOURCING, &["Co"], valid)
                .split('.')
                .nth(1)
                .unwrap_or_default(),
            "payload",
        )
        .unwrap_or_default(),
    ))
    .unwrap_or_default();
    nonconformant["credentialSubject"]["assessment"][0]["conformance"] = false.into();
    attestation_case(
        "attestation-nonconformant",
        "The Co certification's assessment says conformance false.",
        0,
        listed(
            SOURCING,
            &["Co"],
            CO,
            sign_json(Typ::Vc, &nonconformant, &w.certifier.key),
        ),
        Some("attestation_nonconformant"),
        &none,
    );

    // Listed for Li only, so recycled Co and Ni are claims without a listing: declared.
    if let Some(c) = cases
        .iter_mut()
        .find(|c| c.name == "recognition-out-of-scope")
    {
        c.results = vec![
            (SOURCING, vec!["Co"], "verified", None),
            (SOURCING, vec!["Li"], "verified", None),
            (CARBON, vec![], "verified", None),
            (
                RECYCLED,
                vec!["Li"],
                "failed",
                Some("recognition_out_of_scope"),
            ),
            (SOURCING, vec!["Ni"], "declared", None),
            (RECYCLED, vec!["Co"], "declared", None),
            (RECYCLED, vec!["Ni"], "declared", None),
            (CONFORMITY, vec![], "declared", None),
        ];
    }
    let mut index = Vec::new();
    for c in cases {
        let chain_path = format!("passports/{}.chain.json", c.name);
        files.push(VectorFile {
            path: chain_path.clone(),
            content: pretty(&c.chain),
        });
        let results: Vec<Value> = c
            .results
            .iter()
            .map(|(t, m, o, code)| json!({"topic": t, "materials": m, "outcome": o, "code": code}))
            .collect();
        let mut expected = Map::new();
        expected.insert("overall".into(), c.overall.into());
        expected.insert("code".into(), c.code.into());
        expected.insert("passport".into(), c.passport.into());
        expected.insert("attestations_stage".into(), c.attestations_stage.into());
        expected.insert("attestations".into(), results.into());
        index.push(json!({
            "name": c.name,
            "description": c.description,
            "input": c.label,
            "at": at,
            "roots": {"catena-x": "roots/catena-x.jwk"},
            "trust_lists": ["trust-lists/catena-x.jws", "trust-lists/ouranos.jws"],
            "status_lists": ["status-lists/acme-3.jws", "status-lists/acme-3-suspension.jws", "status-lists/acme-3-refresh.jws", "status-lists/certifier-1.jws"],
            "passport": chain_path,
            "expected": expected,
        }));
    }
    files.push(VectorFile {
        path: "passports/cases.json".into(),
        content: pretty(&json!({
            "description": "Passport and attestation vectors (SPEC.md sections 3 and 7): like cases.json, plus `passport`, the chain as GET /v1/passports/{gtin}/{serial} serves it, and the expected outcome of the passport and attestations stages and of every attestation result (topic, materials, outcome, code) in the verdict's order.",
            "generator": "cargo xtask vectors",
            "cases": index,
        })),
    });
    Ok(files)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
