//! The attestations a passport lists and the claims it only declares (SPEC.md section 3.3):
//! listings, assessments within the certifier's accreditation and the recognition's scope,
//! one result per topic.

use serde_json::{Map, Value};

use super::chain::check_status;
use super::{
    sha256_b64, topics, AttestationOutcome, AttestationResult, PassportChain, PassportCtx,
    MAX_ASSESSMENTS, MAX_LISTINGS,
};
use crate::error::Error;
use crate::json::Obj;
use crate::time::parse_rfc3339;
use crate::trust::{IssuerMatch, Scope};
use crate::vc::{self, verify_vc, VerifiedVc};
use crate::verify::MAX_CLOCK_SKEW;

/// A listing of the passport's `attestations[]`.
pub(super) struct Listing {
    topic: String,
    materials: Vec<String>,
    subject: String,
    pub(super) digest: String,
}

/// A listing that cannot be read (SPEC.md section 3.3): never dropped. A verifier reports it
/// `failed` with `attestation_invalid` (section 7); the registry refuses the upload.
pub(super) struct BadListing {
    /// What went wrong, naming the listing by its index.
    pub(super) detail: String,
    /// What could be read of the listing, for the verifier's result.
    topic: Option<String>,
    materials: Vec<String>,
    subject: Option<String>,
}

impl BadListing {
    fn result(&self) -> AttestationResult {
        AttestationResult::new(
            self.topic.as_deref().unwrap_or("unknown"),
            &self.materials,
            self.subject.as_deref(),
        )
        .fail(&Error::AttestationInvalid {
            detail: self.detail.clone(),
        })
    }
}

/// `materials` of a listing or an assessment: absent is none (topics without material, SPEC.md
/// section 3.3); anything but an array of strings is an error, never read in part (a dropped
/// entry would make the listing or assessment about fewer materials than was signed).
pub(super) fn materials(v: Option<&Value>, at: &str) -> Result<Vec<String>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(j, m)| {
                m.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{at}.materials[{j}] is not a string"))
            })
            .collect(),
        Some(_) => Err(format!("{at}.materials must be an array of strings")),
    }
}

/// The listings of a passport subject; more than [`MAX_LISTINGS`] is `limit_exceeded`. A
/// listing that cannot be read is a [`BadListing`] in its place, never left out.
pub(super) fn listings(cs: &Map<String, Value>) -> Result<Vec<Result<Listing, BadListing>>, Error> {
    let items = match cs.get("attestations") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Ok(vec![Err(BadListing {
                detail: "credentialSubject.attestations must be an array".into(),
                topic: None,
                materials: Vec::new(),
                subject: None,
            })])
        }
    };
    if items.len() > MAX_LISTINGS {
        return Err(Error::LimitExceeded {
            what: "credentialSubject.attestations",
            limit: MAX_LISTINGS,
        });
    }
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let at = format!("credentialSubject.attestations[{i}]");
            let m = v.as_object();
            let s = |k: &str| m.and_then(|m| m.get(k)).and_then(Value::as_str);
            let (topic, subject) = (
                s("topic").map(str::to_owned),
                s("subject").map(str::to_owned),
            );
            let bad = |detail: String, materials: Vec<String>| BadListing {
                detail,
                topic: topic.clone(),
                materials,
                subject: subject.clone(),
            };
            let Some(m) = m else {
                return Err(bad(format!("{at} is not an object"), Vec::new()));
            };
            let materials = materials(m.get("materials"), &at).map_err(|e| bad(e, Vec::new()))?;
            let missing: Vec<&str> = ["topic", "subject", "hashDigest"]
                .into_iter()
                .filter(|k| s(k).is_none())
                .collect();
            match (&topic, &subject, s("hashDigest")) {
                (Some(topic), Some(subject), Some(digest)) => Ok(Listing {
                    topic: topic.clone(),
                    materials,
                    subject: subject.clone(),
                    digest: digest.to_owned(),
                }),
                _ => Err(bad(
                    format!(
                        "{at} needs topic, subject and hashDigest as strings ({} missing)",
                        missing.join(", ")
                    ),
                    materials,
                )),
            }
        })
        .collect())
}

/// One `materialsProvenance` entry: `(material, supplier, facility)`.
pub(super) type Provenance = (String, Option<String>, Option<String>);

/// `materialsProvenance[]` as `(material, supplier, facility)` (SPEC.md section 3.1). An entry
/// that is no object, has no `material`, or a `supplier` or `facility` that is no string is
/// `passport_invalid`, never skipped: a skipped entry would hide a declared claim (section
/// 3.3) and change which subjects a listing may name.
pub(super) fn provenance(cs: &Map<String, Value>) -> Result<Vec<Provenance>, Error> {
    let items = match cs.get("materialsProvenance") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(Error::PassportInvalid {
                detail: "credentialSubject.materialsProvenance must be an array".into(),
            })
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let at = format!("credentialSubject.materialsProvenance[{i}]");
            let bad = |what: &str| Error::PassportInvalid {
                detail: format!("{at}{what}"),
            };
            let m = m.as_object().ok_or_else(|| bad(" is not an object"))?;
            let opt = |k: &str| match m.get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(&format!(".{k} is not a string"))),
            };
            let material = opt("material")?.ok_or_else(|| bad(".material is missing"))?;
            Ok((material, opt("supplier")?, opt("facility")?))
        })
        .collect()
}

pub(super) fn check_attestations(
    chain: &PassportChain,
    cs: &Map<String, Value>,
    cx: &PassportCtx<'_>,
) -> Vec<AttestationResult> {
    let battery = cs.get("id").and_then(Value::as_str).unwrap_or_default();
    let model = format!("urn:gtin:{}", cx.sub.gtin);
    // check_chain refused a version whose provenance cannot be read, so this is never empty
    // for want of reading it.
    let prov = provenance(cs).unwrap_or_default();
    let mut out = Vec::new();
    let mut covered: Vec<(String, Vec<String>)> = Vec::new();
    // check_chain refused a version with too many listings, so this is never the error.
    for l in listings(cs).unwrap_or_default() {
        let l = match l {
            Ok(l) => l,
            Err(bad) => {
                out.push(bad.result());
                continue;
            }
        };
        covered.push((l.topic.clone(), l.materials.clone()));
        let mut r = AttestationResult::new(&l.topic, &l.materials, Some(&l.subject));
        r.digest = Some(l.digest.clone());
        // SPEC.md section 3.3: the subject is the battery, its model, or a supplier or facility
        // that the provenance names for every material of the listing.
        let subject_ok = l.subject == battery
            || l.subject == model
            || (!l.materials.is_empty()
                && l.materials.iter().all(|mat| {
                    prov.iter().any(|(pm, sup, fac)| {
                        pm == mat
                            && (sup.as_deref() == Some(l.subject.as_str())
                                || fac.as_deref() == Some(l.subject.as_str()))
                    })
                }));
        let Some(jws) = chain.attestations.get(&l.digest) else {
            if !subject_ok {
                out.push(r.fail(&Error::AttestationSubjectMismatch {
                    subject: l.subject.clone(),
                }));
                continue;
            }
            r.outcome = AttestationOutcome::NotChecked;
            r.message = Some("the attestation is not held".into());
            out.push(r);
            continue;
        };
        let checked = match check_one(jws, &l, subject_ok, cx) {
            Ok(verified) => AttestationResult {
                digest: r.digest.clone(),
                ..verified
            },
            Err(e) => r.fail(&e),
        };
        out.push(checked);
    }
    declared(cs, &covered, &prov, &mut out);
    out
}

/// `credentialSubject.assessment[]` as `(topic and materials, conformance)`; more than
/// [`MAX_ASSESSMENTS`] is `limit_exceeded` (an unread assessment could be the one outside the
/// certifier's accreditation).
pub(super) fn assessments(cs: &Map<String, Value>) -> Result<Vec<(Scope, bool)>, Error> {
    let a = match cs.get("assessment") {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(Error::AttestationInvalid {
                detail: "credentialSubject.assessment must be an array".into(),
            })
        }
    };
    if a.len() > MAX_ASSESSMENTS {
        return Err(Error::LimitExceeded {
            what: "credentialSubject.assessment",
            limit: MAX_ASSESSMENTS,
        });
    }
    a.iter()
        .enumerate()
        .map(|(i, a)| {
            // Every assessment is read or the attestation refused: one skipped, or read for
            // fewer materials than signed, could be the one outside the certifier's scope.
            let at = format!("credentialSubject.assessment[{i}]");
            let invalid = |detail: String| Error::AttestationInvalid { detail };
            let a = a
                .as_object()
                .ok_or_else(|| invalid(format!("{at} is not an object")))?;
            let topic = a
                .get("topic")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{at}.topic is missing or not a string")))?;
            let materials = materials(a.get("materials"), &at).map_err(invalid)?;
            // Anything but `true` is no conformance: the safe reading, nothing is widened.
            let conformance = a.get("conformance").and_then(Value::as_bool) == Some(true);
            let scope = Scope {
                topic: topic.to_owned(),
                materials,
            };
            Ok((scope, conformance))
        })
        .collect()
}

/// SPEC.md section 3.3: every assessment within an accreditation of the certifier valid at
/// `validFrom` and, across ecosystems, within the scope of the recognition the path went
/// through. One check for verifiers and the registry alike.
pub(super) fn within_scope(
    m: &IssuerMatch,
    valid_from: u64,
    assessments: &[(Scope, bool)],
) -> Result<(), Error> {
    for (a, _) in assessments {
        let accredited = m.entity.accreditation.iter().any(|acc| {
            acc.until.is_none_or(|u| valid_from <= u) && acc.scope.covers(&a.topic, &a.materials)
        });
        if !accredited {
            return Err(Error::AttestationOutOfScope {
                topic: a.topic.clone(),
                materials: a.materials.clone(),
            });
        }
        if let Some(scope) = &m.recognition_scope {
            if !scope.iter().any(|s| s.covers(&a.topic, &a.materials)) {
                return Err(Error::RecognitionOutOfScope {
                    topic: a.topic.clone(),
                    by: m.recognized_by.clone().unwrap_or_default(),
                });
            }
        }
    }
    Ok(())
}

fn check_one(
    jws: &str,
    l: &Listing,
    subject_ok: bool,
    cx: &PassportCtx<'_>,
) -> Result<AttestationResult, Error> {
    let jws = jws.trim();
    let got = sha256_b64(jws.as_bytes());
    if got != l.digest {
        return Err(Error::AttestationDigestMismatch {
            expected: l.digest.clone(),
            got,
        });
    }
    let vc = verify_vc(jws, &vc::ATTESTATION, cx.trust, cx.now)?;
    let cs = vc.subject()?;
    let cso = Obj::new(cs, "credentialSubject");
    let subject_id = cso.str("id").map_err(|e| Error::AttestationInvalid {
        detail: e.to_string(),
    })?;
    if subject_id != l.subject || !subject_ok {
        return Err(Error::AttestationSubjectMismatch {
            subject: subject_id.to_owned(),
        });
    }
    let assessments = assessments(cs)?;
    speaks_for(&vc, &l.topic, &l.materials, &l.subject, &assessments, cx)
}

/// The checks every attestation passes once its signature, digest and subject hold (SPEC.md
/// section 3.3): an assessment of the listing's topic whose materials include the listing's,
/// conformance, every assessment within the certifier's accreditation and recognition,
/// `validFrom`..`validUntil`, status. Shared by Cellproof attestations and UNTP Digital
/// Conformity Credentials (3.5), which differ only in how their assessments are read.
pub(super) fn speaks_for(
    vc: &VerifiedVc,
    topic: &str,
    materials: &[String],
    subject: &str,
    assessments: &[(Scope, bool)],
    cx: &PassportCtx<'_>,
) -> Result<AttestationResult, Error> {
    let (m, valid_from) = (&vc.signer, vc.valid_from);
    let p = vc.payload();
    // The attestation must speak to the listing: an assessment of its topic whose materials
    // include the listing's.
    let Some((_, conformance)) = assessments
        .iter()
        .find(|(a, _)| a.topic == topic && materials.iter().all(|m| a.materials.contains(m)))
    else {
        return Err(Error::AttestationTopicMismatch {
            topic: topic.to_owned(),
        });
    };
    if !conformance {
        return Err(Error::AttestationNonconformant {
            topic: topic.to_owned(),
        });
    }
    within_scope(m, valid_from, assessments)?;
    let valid_until = match p.get("validUntil").and_then(Value::as_str) {
        Some(s) => Some(parse_rfc3339(s).map_err(|_| Error::AttestationInvalid {
            detail: "validUntil is not an RFC 3339 date-time".into(),
        })?),
        None => None,
    };
    if valid_from > cx.now.saturating_add(MAX_CLOCK_SKEW)
        || valid_until.is_some_and(|u| cx.now >= u)
    {
        return Err(Error::AttestationExpired {
            valid_from,
            valid_until,
            now: cx.now,
        });
    }
    let status_checked = check_status(p, m, cx)?;
    let mut r = AttestationResult::new(topic, materials, Some(subject));
    r.outcome = AttestationOutcome::Verified;
    r.issuer = Some(m.entity.id.clone());
    r.issuer_name = Some(m.entity.name.clone());
    r.eco = Some(m.eco.clone());
    r.path = Some(m.path.clone());
    r.valid_until = valid_until;
    if !status_checked {
        r.outcome = AttestationOutcome::NotChecked;
        r.code = Some("status_unknown");
        r.message = Some("the attestation's status list is not held".into());
    }
    Ok(r)
}

/// SPEC.md section 3.3: claims without a listing are reported as `declared`, one result each.
fn declared(
    cs: &Map<String, Value>,
    covered: &[(String, Vec<String>)],
    prov: &[Provenance],
    out: &mut Vec<AttestationResult>,
) {
    let covers = |topic: &str, material: Option<&str>| {
        covered
            .iter()
            .any(|(t, ms)| t == topic && material.is_none_or(|m| ms.iter().any(|x| x == m)))
    };
    for (material, supplier, _) in prov {
        if ["Co", "Li", "Ni", "graphite"].contains(&material.as_str())
            && !covers(topics::SOURCING, Some(material))
        {
            out.push(AttestationResult::new(
                topics::SOURCING,
                std::slice::from_ref(material),
                supplier.as_deref(),
            ));
        }
    }
    let non_empty = |v: Option<&Value>| match v {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    let sustainability = cs.get("sustainability").and_then(Value::as_object);
    if non_empty(sustainability.and_then(|s| s.get("carbonFootprint")))
        && !covers(topics::CARBON, None)
    {
        out.push(AttestationResult::new(topics::CARBON, &[], None));
    }
    let active = cs
        .get("materials")
        .and_then(|m| m.get("active"))
        .and_then(Value::as_object);
    for (name, symbol) in [
        ("cobalt", "Co"),
        ("lithium", "Li"),
        ("nickel", "Ni"),
        ("lead", "Pb"),
    ] {
        let shares = active.and_then(|a| a.get(name)).and_then(Value::as_object);
        let any_share = shares.is_some_and(|s| {
            ["preConsumerShare", "postConsumerShare"]
                .iter()
                .any(|k| s.get(*k).and_then(Value::as_f64).is_some_and(|v| v > 0.0))
        });
        if any_share && !covers(topics::RECYCLED, Some(symbol)) {
            out.push(AttestationResult::new(
                topics::RECYCLED,
                &[symbol.to_owned()],
                None,
            ));
        }
    }
    let conformity = cs.get("conformity").and_then(Value::as_object);
    if non_empty(conformity.and_then(|c| c.get("declarationOfConformity")))
        && !covers(topics::CONFORMITY, None)
    {
        out.push(AttestationResult::new(topics::CONFORMITY, &[], None));
    }
}
