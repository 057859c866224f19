//! The full passport, its version chain, its documents and the attestations behind its claims
//! (SPEC.md sections 3.1 to 3.3 and the `passport` and `attestations` stages of section 7).
//!
//! The label's credential commits to version 1 of the passport (`bp.dig`); each later version
//! names its predecessor's SHA-256, so a verifier given the chain follows it back and nobody can
//! swap the passport the label committed to. The passport lists attestations (supplier
//! certifications, carbon-footprint verification, recycled-content audit, declaration of
//! conformity) by topic, materials, subject and digest; each is checked as a credential of a
//! `certifier`, within its accreditation and, across ecosystems, within the recognition's scope.
//! Attestation results are reported per topic and never turn a genuine battery into a forged one.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::credential::Credential;
use crate::error::Error;
use crate::gs1::DigitalLink;
use crate::json::Obj;
use crate::jws::{b64_encode, Jws, Typ};
use crate::status::{has_type, Purpose, StatusStore, VC_CONTEXT};
use crate::time::parse_rfc3339;
use crate::trust::{IssuerMatch, Scope, TrustStore};
use crate::vc::{self, verify_vc, UnverifiedVc};
use crate::verify::MAX_CLOCK_SKEW;

/// Largest passport version or attestation accepted, as compact JWS text.
pub const MAX_PASSPORT: usize = 256 * 1024;

/// Most versions a chain may have (a passport is updated on repurposing, remanufacturing and
/// state-of-health reports: a few dozen over a battery's life).
pub const MAX_VERSIONS: usize = 256;

/// Most attestations a passport may list; more is `limit_exceeded`.
pub const MAX_LISTINGS: usize = 64;

/// Most `credentialStatus` entries a passport version or an attestation may carry (one per
/// purpose is the rule; 8 leaves room). More is `limit_exceeded`, never the first 8 read: a
/// revocation among the rest would be ignored.
pub const MAX_STATUS_ENTRIES: usize = 8;

/// Most `assessment` entries an attestation may carry; more is `limit_exceeded`.
pub const MAX_ASSESSMENTS: usize = 64;

/// Roles that may sign attestations (SPEC.md section 1).
pub const CERTIFIER_ROLES: [&str; 1] = ["certifier"];

/// Topics a verifier knows by name (SPEC.md section 3.3).
pub mod topics {
    /// Responsible sourcing of Co, Li, Ni, natural graphite (Art. 48-52).
    pub const SOURCING: &str = "sourcing.due-diligence";
    /// Recycled content (Art. 8).
    pub const RECYCLED: &str = "content.recycled";
    /// Carbon footprint (Art. 7).
    pub const CARBON: &str = "emissions.carbon-footprint";
    /// EU declaration of conformity (Art. 18).
    pub const CONFORMITY: &str = "conformity.declaration";
}

/// Base64url SHA-256 (43 characters) of bytes: a document's or an attestation's `hashDigest`,
/// and a passport version's `predecessor` (SPEC.md sections 3.1 and 3.2).
pub fn sha256_b64(bytes: &[u8]) -> String {
    b64_encode(&sha2::Sha256::digest(bytes))
}

/// Checks a downloaded document against the digest its link object gives (SPEC.md section 3.2).
pub fn check_document(bytes: &[u8], hash_digest: &str) -> Result<(), Error> {
    let got = sha256_b64(bytes);
    if got == hash_digest {
        Ok(())
    } else {
        Err(Error::DocumentDigestMismatch {
            expected: hash_digest.to_owned(),
            got,
        })
    }
}

/// What a verifier holds of a battery's passport: what `GET /v1/passports/{gtin}/{serial}`
/// serves (`{"versions": [jws, ...], "attestations": {hashDigest: jws}}`), or an inspector's
/// pack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassportChain {
    /// Every version's compact JWS, oldest (version 1) first.
    pub versions: Vec<String>,
    /// Attestations by the `hashDigest` the passport lists them under.
    pub attestations: BTreeMap<String, String>,
}

impl PassportChain {
    /// Reads the registry's JSON form.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let map = crate::json::parse_object(text.as_bytes())?;
        let o = Obj::new(&map, "");
        let versions = o.strings("versions")?;
        if versions.is_empty() || versions.len() > MAX_VERSIONS {
            return Err(o.err("versions", "must hold 1 to 256 passport versions"));
        }
        let mut attestations = BTreeMap::new();
        if let Some(a) = o.opt_obj("attestations")? {
            if a.len() > MAX_LISTINGS * 4 {
                return Err(o.err("attestations", "holds too many attestations"));
            }
            for (k, v) in a {
                let jws = v
                    .as_str()
                    .ok_or_else(|| o.err("attestations", "must map digests to compact JWS"))?;
                attestations.insert(k.clone(), jws.to_owned());
            }
        }
        Ok(PassportChain {
            versions,
            attestations,
        })
    }
}

/// The passport as the verdict shows it: the current version's subject, after the chain
/// verified.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PassportInfo {
    /// `metadata.version` of the current version.
    pub version: u64,
    /// `metadata.passportIdentifier`, when given.
    #[serde(rename = "passportIdentifier", skip_serializing_if = "Option::is_none")]
    pub passport_identifier: Option<String>,
    /// Base64url SHA-256 of each version's compact JWS, oldest first (for inspectors).
    pub digests: Vec<String>,
    /// The current version's `credentialSubject`, for display.
    pub subject: Map<String, Value>,
}

/// How one attestation listing or declared claim came out (SPEC.md section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationOutcome {
    /// Checked and holds: signature, certifier trust and scope, time, status, subject.
    Verified,
    /// A claim of the passport with no attestation behind it.
    Declared,
    /// Listed, but the attestation is not held or its status is unknown.
    NotChecked,
    /// Checked and does not hold; `code` says why.
    Failed,
}

/// One result per listing and per declared claim (SPEC.md section 3.3).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AttestationResult {
    /// The topic (`sourcing.due-diligence`, ...).
    pub topic: String,
    /// The materials, empty for topics without material.
    pub materials: Vec<String>,
    /// The subject: the battery, its model, a supplier or a facility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The outcome.
    pub outcome: AttestationOutcome,
    /// Why, for `failed` and some `not_checked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// An English sentence for logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The certifier's DID, when the attestation was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The certifier's display name, when verified.
    #[serde(rename = "issuerName", skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    /// The certifier's ecosystem, when verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eco: Option<String>,
    /// The trust path ("ouranos, recognised by catena-x"), when verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// End of the attestation's validity (Unix seconds), when given.
    #[serde(rename = "validUntil", skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<u64>,
    /// The listing's `hashDigest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl AttestationResult {
    fn new(topic: &str, materials: &[String], subject: Option<&str>) -> Self {
        AttestationResult {
            topic: topic.to_owned(),
            materials: materials.to_vec(),
            subject: subject.map(str::to_owned),
            outcome: AttestationOutcome::Declared,
            code: None,
            message: None,
            issuer: None,
            issuer_name: None,
            eco: None,
            path: None,
            valid_until: None,
            digest: None,
        }
    }

    fn fail(mut self, e: &Error) -> Self {
        self.outcome = AttestationOutcome::Failed;
        self.code = Some(e.code());
        self.message = Some(e.to_string());
        self
    }
}

/// What the passport stage produced.
#[derive(Debug)]
pub(crate) struct PassportOutcome {
    /// The stage result.
    pub result: Result<(), Error>,
    /// The passport, when the chain verified.
    pub info: Option<PassportInfo>,
    /// Attestation results (empty unless the chain verified).
    pub attestations: Vec<AttestationResult>,
}

/// Everything the passport checks need from the verification around them.
pub(crate) struct PassportCtx<'a> {
    pub cred: &'a Credential,
    pub issuer: &'a IssuerMatch,
    pub trust: &'a TrustStore,
    pub status: &'a StatusStore,
    pub now: u64,
}

fn invalid(e: &Error) -> Error {
    Error::PassportInvalid {
        detail: e.to_string(),
    }
}

/// The VC 2.0 envelope of a passport or attestation: context, type, issuer, `validFrom`.
pub(crate) fn vc_envelope(p: &Map<String, Value>, vc_type: &str) -> Result<(String, u64), String> {
    let ctx_ok = match p.get("@context") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str) == Some(VC_CONTEXT),
        _ => false,
    };
    if !ctx_ok {
        return Err("@context must start with the VC 2.0 context".into());
    }
    if !has_type(p.get("type"), vc_type) {
        return Err(format!("type must include {vc_type}"));
    }
    let issuer = match p.get("issuer") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => m
            .get("id")
            .and_then(Value::as_str)
            .ok_or("issuer has no id")?
            .to_owned(),
        _ => return Err("issuer is missing".into()),
    };
    let valid_from = p
        .get("validFrom")
        .and_then(Value::as_str)
        .ok_or("validFrom is missing")
        .and_then(|s| parse_rfc3339(s).map_err(|_| "validFrom is not an RFC 3339 date-time"))?;
    Ok((issuer, valid_from))
}

pub(crate) fn subject(p: &Map<String, Value>) -> Option<&Map<String, Value>> {
    p.get("credentialSubject").and_then(Value::as_object)
}

/// The Digital Link of a passport subject `id` (the battery's URL without fragment).
pub(crate) fn subject_link(id: &str) -> Option<DigitalLink> {
    crate::credential::parse_link_url(id).ok()
}

/// Verifies the chain (SPEC.md section 3.1) and, when it holds, the attestations its current
/// version lists (section 3.3).
pub(crate) fn check(chain: &PassportChain, cx: &PassportCtx<'_>) -> PassportOutcome {
    match check_chain(chain, cx) {
        Ok((info, current)) => {
            let attestations = check_attestations(chain, &current, cx);
            PassportOutcome {
                result: Ok(()),
                info: Some(info),
                attestations,
            }
        }
        Err(e) => PassportOutcome {
            result: Err(e),
            info: None,
            attestations: Vec::new(),
        },
    }
}

fn check_chain(
    chain: &PassportChain,
    cx: &PassportCtx<'_>,
) -> Result<(PassportInfo, Map<String, Value>), Error> {
    if chain.versions.is_empty() || chain.versions.len() > MAX_VERSIONS {
        return Err(Error::PassportChainBroken {
            version: 0,
            reason: "the chain must hold 1 to 256 versions",
        });
    }
    let mut digests: Vec<String> = Vec::with_capacity(chain.versions.len());
    let mut current = None;
    for (i, compact) in chain.versions.iter().enumerate() {
        let compact = compact.trim();
        let n = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1);
        let vc = UnverifiedVc::parse(compact, &vc::PASSPORT)?;
        // SPEC.md section 3.1: signed by the same issuer entity as the label's credential
        // (compared before the trust lookup, so another issuer's passport says so).
        if vc.issuer != cx.cred.iss {
            return Err(Error::PassportIssuerMismatch {
                passport: vc.issuer,
                credential: cx.cred.iss.clone(),
            });
        }
        let vc = vc.verify(cx.trust, cx.now)?;
        let m = &vc.signer;
        if m.eco != cx.issuer.eco || m.entity.id != cx.issuer.entity.id {
            return Err(Error::PassportIssuerMismatch {
                passport: format!("{} in {}", m.entity.id, m.eco),
                credential: format!("{} in {}", cx.issuer.entity.id, cx.issuer.eco),
            });
        }
        let p = vc.payload();
        let cs = vc.subject()?;
        let cso = Obj::new(cs, "credentialSubject");
        let id = cso.str("id").map_err(|e| invalid(&e))?;
        if subject_link(id).as_ref() != Some(&cx.cred.sub) {
            return Err(Error::PassportSubjectMismatch {
                subject: id.to_owned(),
                battery: cx.cred.sub.path(),
            });
        }
        if !m.entity.owns_gtin(&cx.cred.sub.gtin) {
            return Err(Error::GtinNotIssuer {
                gtin: cx.cred.sub.gtin.clone(),
                iss: m.entity.id.clone(),
            });
        }
        let meta = cso.obj("metadata").map_err(|e| invalid(&e))?;
        let meta = Obj::new(meta, "metadata");
        let version = meta.u64("version").map_err(|e| invalid(&e))?;
        if version != n {
            return Err(Error::PassportChainBroken {
                version: n,
                reason: "metadata.version is not its place in the chain",
            });
        }
        if let Some(prev) = digests.last() {
            // SPEC.md section 3.1: version n > 1 names version n-1's SHA-256.
            if meta.opt_str("predecessor").map_err(|e| invalid(&e))? != Some(prev.as_str()) {
                return Err(Error::PassportChainBroken {
                    version: n,
                    reason: "metadata.predecessor is not the previous version's digest",
                });
            }
        } else {
            // Version 1 is the one the label committed to.
            let dig = cx.cred.bp_str("dig").ok_or(Error::PassportChainBroken {
                version: 1,
                reason: "the label carries no bp.dig to bind a passport to",
            })?;
            if crate::verify::passport_digest(compact) != dig {
                return Err(Error::DigestMismatch);
            }
        }
        check_status(p, m, cx).map_err(|e| match e {
            Error::Revoked | Error::Suspended | Error::LimitExceeded { .. } => e,
            other => invalid(&other),
        })?;
        // A passport listing more attestations than the limit is refused, not read in part.
        listings(cs)?;
        digests.push(sha256_b64(compact.as_bytes()));
        let pid = meta
            .opt_str("passportIdentifier")
            .ok()
            .flatten()
            .map(str::to_owned);
        current = Some((version, pid, cs.clone()));
    }
    let (version, passport_identifier, subject) = current.ok_or(Error::PassportChainBroken {
        version: 0,
        reason: "the chain is empty",
    })?;
    Ok((
        PassportInfo {
            version,
            passport_identifier,
            digests,
            subject: subject.clone(),
        },
        subject,
    ))
}

/// One `BitstringStatusListEntry` (index as a string, as W3C writes it, or an integer).
pub(crate) struct Entry {
    pub(crate) purpose: Purpose,
    pub(crate) index: u64,
    pub(crate) list: String,
}

pub(crate) fn status_entries(p: &Map<String, Value>) -> Result<Vec<Entry>, Error> {
    let items: Vec<&Value> = match p.get("credentialStatus") {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
    };
    if items.len() > MAX_STATUS_ENTRIES {
        return Err(Error::LimitExceeded {
            what: "credentialStatus",
            limit: MAX_STATUS_ENTRIES,
        });
    }
    let bad = |reason| Error::ClaimInvalid {
        field: "credentialStatus".into(),
        reason,
    };
    items
        .into_iter()
        .map(|v| {
            let m = v.as_object().ok_or(bad("must be an object"))?;
            let purpose = m
                .get("statusPurpose")
                .and_then(Value::as_str)
                .and_then(Purpose::parse)
                .ok_or(bad(
                    "statusPurpose must be revocation, suspension or refresh",
                ))?;
            let index = match m.get("statusListIndex") {
                Some(Value::String(s)) => s.parse::<u64>().ok(),
                Some(Value::Number(n)) => n.as_u64(),
                _ => None,
            }
            .ok_or(bad("statusListIndex must be a non-negative integer"))?;
            let list = m
                .get("statusListCredential")
                .and_then(Value::as_str)
                .ok_or(bad("statusListCredential is missing"))?
                .to_owned();
            Ok(Entry {
                purpose,
                index,
                list,
            })
        })
        .collect()
}

/// Status of a passport version or an attestation: a set revocation or suspension bit fails;
/// a list not held is `Ok(false)` ("not checked"); `Ok(true)` when every entry was checked.
fn check_status(
    p: &Map<String, Value>,
    m: &IssuerMatch,
    cx: &PassportCtx<'_>,
) -> Result<bool, Error> {
    let mut all_checked = true;
    for e in status_entries(p)? {
        // Only a list held under the signer's home ecosystem speaks for it (SPEC.md section 5).
        let Some(list) = cx.status.get(&m.eco, &e.list, cx.trust) else {
            all_checked = false;
            continue;
        };
        let set = list.bits.get(e.index)? != 0;
        match (e.purpose, set) {
            (Purpose::Revocation, true) => return Err(Error::Revoked),
            (Purpose::Suspension, true) if !list.age(cx.now).stale => return Err(Error::Suspended),
            (Purpose::Suspension, true) => all_checked = false,
            _ => {}
        }
    }
    Ok(all_checked)
}

/// A listing of the passport's `attestations[]`.
struct Listing {
    topic: String,
    materials: Vec<String>,
    subject: String,
    digest: String,
}

/// The listings of a passport subject; more than [`MAX_LISTINGS`] is `limit_exceeded`.
fn listings(
    cs: &Map<String, Value>,
) -> Result<Vec<Result<Listing, Box<AttestationResult>>>, Error> {
    let Some(Value::Array(items)) = cs.get("attestations") else {
        return Ok(Vec::new());
    };
    if items.len() > MAX_LISTINGS {
        return Err(Error::LimitExceeded {
            what: "credentialSubject.attestations",
            limit: MAX_LISTINGS,
        });
    }
    Ok(items
        .iter()
        .map(|v| {
            let m = v.as_object();
            let s = |k: &str| m.and_then(|m| m.get(k)).and_then(Value::as_str);
            let materials: Vec<String> = match m.and_then(|m| m.get("materials")) {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            };
            match (s("topic"), s("subject"), s("hashDigest")) {
                (Some(topic), Some(subject), Some(digest)) => Ok(Listing {
                    topic: topic.to_owned(),
                    materials,
                    subject: subject.to_owned(),
                    digest: digest.to_owned(),
                }),
                (topic, subject, _) => Err(Box::new(
                    AttestationResult::new(topic.unwrap_or("unknown"), &materials, subject).fail(
                        &Error::AttestationInvalid {
                            detail: "the listing needs topic, subject and hashDigest".into(),
                        },
                    ),
                )),
            }
        })
        .collect())
}

/// `materialsProvenance[]` as `(material, supplier, facility)`.
fn provenance(cs: &Map<String, Value>) -> Vec<(String, Option<String>, Option<String>)> {
    let Some(Value::Array(items)) = cs.get("materialsProvenance") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|m| {
            let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
            Some((s("material")?, s("supplier"), s("facility")))
        })
        .collect()
}

fn check_attestations(
    chain: &PassportChain,
    cs: &Map<String, Value>,
    cx: &PassportCtx<'_>,
) -> Vec<AttestationResult> {
    let battery = cs.get("id").and_then(Value::as_str).unwrap_or_default();
    let model = format!("urn:gtin:{}", cx.cred.sub.gtin);
    let prov = provenance(cs);
    let mut out = Vec::new();
    let mut covered: Vec<(String, Vec<String>)> = Vec::new();
    // check_chain refused a version with too many listings, so this is never the error.
    for l in listings(cs).unwrap_or_default() {
        let l = match l {
            Ok(l) => l,
            Err(r) => {
                out.push(*r);
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
fn assessments(cs: &Map<String, Value>) -> Result<Vec<(Scope, bool)>, Error> {
    let Some(Value::Array(a)) = cs.get("assessment") else {
        return Ok(Vec::new());
    };
    if a.len() > MAX_ASSESSMENTS {
        return Err(Error::LimitExceeded {
            what: "credentialSubject.assessment",
            limit: MAX_ASSESSMENTS,
        });
    }
    Ok(a.iter()
        .filter_map(Value::as_object)
        .map(|a| {
            let topic = a.get("topic").and_then(Value::as_str).unwrap_or_default();
            let materials = match a.get("materials") {
                Some(Value::Array(m)) => m
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            };
            let conformance = a.get("conformance").and_then(Value::as_bool) == Some(true);
            let scope = Scope {
                topic: topic.to_owned(),
                materials,
            };
            (scope, conformance)
        })
        .collect())
}

/// SPEC.md section 3.3: every assessment within an accreditation of the certifier valid at
/// `validFrom` and, across ecosystems, within the scope of the recognition the path went
/// through. One check for verifiers and the registry alike.
fn within_scope(
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
    let (m, valid_from) = (&vc.signer, vc.valid_from);
    let p = vc.payload();
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
    // The attestation must speak to the listing: an assessment of its topic whose materials
    // include the listing's.
    let Some((_, conformance)) = assessments
        .iter()
        .find(|(a, _)| a.topic == l.topic && l.materials.iter().all(|m| a.materials.contains(m)))
    else {
        return Err(Error::AttestationTopicMismatch {
            topic: l.topic.clone(),
        });
    };
    if !conformance {
        return Err(Error::AttestationNonconformant {
            topic: l.topic.clone(),
        });
    }
    within_scope(m, valid_from, &assessments)?;
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
    let mut r = AttestationResult::new(&l.topic, &l.materials, Some(&l.subject));
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
    prov: &[(String, Option<String>, Option<String>)],
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

/// A passport version the registry may store (SPEC.md section 6.2), after the checks a
/// verifier makes: VC shape, issuer trust and role, signature, subject, GS1 company prefix,
/// and the version chain against the versions already held.
///
/// Only [`check_passport_upload`] makes one (`#[non_exhaustive]`: no struct literal outside
/// the core):
///
/// ```compile_fail,E0639
/// let forged = cellproof_core::CheckedPassport {
///     link: cellproof_core::DigitalLink::parse_path("/01/04012345000016/21/X").unwrap(),
///     version: 1,
///     issuer: String::new(),
///     eco: String::new(),
///     digest: String::new(),
///     listed: Vec::new(),
/// };
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckedPassport {
    /// The battery.
    pub link: DigitalLink,
    /// `metadata.version`.
    pub version: u64,
    /// The issuer's DID.
    pub issuer: String,
    /// The issuer's home ecosystem.
    pub eco: String,
    /// Base64url SHA-256 of the compact JWS.
    pub digest: String,
    /// The passport's attestation listings' `hashDigest`s.
    pub listed: Vec<String>,
}

/// Checks an uploaded public passport version (`BatteryPassport`) against `held`, the versions
/// of the same battery already stored, oldest first. Version 1 needs an empty chain; version
/// n > 1 must name version n-1's digest and come from the same issuer, about the same battery.
/// An older or forked version, or `held` of another battery, is `passport_chain_broken`.
///
/// The registry's rules on top of a verifier's (SPEC.md section 6.2, from 1.2): the issuer's
/// `gcp` must cover the GTIN (an issuer listing no prefix uploads none: `gtin_not_issuer`), and
/// `credentialSubject.id` must be exactly one battery's URL (`DigitalLink::parse_item_url`: no
/// query, no fragment). A credential whose `type` includes `BatteryPassportRestricted` (as a
/// string or in an array) is no public version (`passport_invalid`): restricted sections enter
/// only through `check_restricted_upload`, with the tier it reads from the signed section.
pub fn check_passport_upload(
    compact: &str,
    held: &[String],
    trust: &TrustStore,
    now: u64,
) -> Result<CheckedPassport, Error> {
    let compact = compact.trim();
    let jws = Jws::parse(compact, Typ::Vc, MAX_PASSPORT)?;
    let p = jws.unverified_payload();
    if crate::restricted::is_restricted_section(p) {
        return Err(Error::PassportInvalid {
            detail: "a BatteryPassportRestricted section is not a public passport version \
                     (SPEC.md section 6.3: it is checked and stored as a restricted section)"
                .into(),
        });
    }
    let vc = verify_vc(compact, &vc::PASSPORT, trust, now)?;
    let (issuer, m) = (vc.issuer.clone(), vc.signer.clone());
    let cs = vc.subject()?;
    let cso = Obj::new(cs, "credentialSubject");
    let id = cso.str("id").map_err(|e| invalid(&e))?;
    let link = DigitalLink::parse_item_url(id).map_err(|e| Error::PassportInvalid {
        detail: format!("credentialSubject.id {id} is not one battery's Digital Link URL: {e}"),
    })?;
    // SPEC.md section 6.2 (1.2): an issuer without `gcp` uploads no passport, so no one
    // without a prefix can take a battery's version 1 before its manufacturer.
    if m.entity.gcp.is_empty() || !m.entity.owns_gtin(&link.gtin) {
        return Err(Error::GtinNotIssuer {
            gtin: link.gtin.clone(),
            iss: m.entity.id.clone(),
        });
    }
    // The issuer of what is held must be the same entity.
    if let Some(first) = held.first() {
        let first_issuer = Jws::parse(first.trim(), Typ::Vc, MAX_PASSPORT)
            .ok()
            .and_then(|j| vc_envelope(j.unverified_payload(), "BatteryPassport").ok())
            .map(|(iss, _)| iss);
        if first_issuer.as_deref() != Some(issuer.as_str()) {
            return Err(Error::PassportIssuerMismatch {
                passport: issuer,
                credential: first_issuer.unwrap_or_default(),
            });
        }
        // And the versions held must be this battery's: a version checked against one chain
        // is never filed as the next version of another.
        let held_link = Jws::parse(first.trim(), Typ::Vc, MAX_PASSPORT)
            .ok()
            .and_then(|j| {
                subject(j.unverified_payload())
                    .and_then(|cs| cs.get("id"))
                    .and_then(Value::as_str)
                    .and_then(subject_link)
            });
        if held_link.as_ref() != Some(&link) {
            return Err(Error::PassportChainBroken {
                version: 0,
                reason: "the versions held are another battery's",
            });
        }
    }
    let digest = sha256_b64(compact.as_bytes());
    let meta = cso.obj("metadata").map_err(|e| invalid(&e))?;
    let meta = Obj::new(meta, "metadata");
    let version = meta.u64("version").map_err(|e| invalid(&e))?;
    let expected = u64::try_from(held.len())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    if version != expected {
        return Err(Error::PassportChainBroken {
            version,
            reason: "not the next version of the passport held (older, repeated or skipped)",
        });
    }
    if let Some(prev) = held.last() {
        let want = sha256_b64(prev.trim().as_bytes());
        if meta.opt_str("predecessor").map_err(|e| invalid(&e))? != Some(want.as_str()) {
            return Err(Error::PassportChainBroken {
                version,
                reason: "metadata.predecessor is not the held version's digest (a fork)",
            });
        }
    }
    let listed = listings(cs)?
        .into_iter()
        .filter_map(Result::ok)
        .map(|l| l.digest)
        .collect();
    Ok(CheckedPassport {
        link,
        version,
        issuer,
        eco: m.eco,
        digest,
        listed,
    })
}

/// An attestation the registry may store under its digest (SPEC.md section 6.2). Only
/// [`check_attestation_upload`] makes one:
///
/// ```compile_fail,E0639
/// let forged = cellproof_core::CheckedAttestation {
///     digest: String::new(),
///     issuer: String::new(),
///     eco: String::new(),
///     subject: String::new(),
/// };
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckedAttestation {
    /// Base64url SHA-256 of the compact JWS: the key it is stored and listed under.
    pub digest: String,
    /// The certifier's DID.
    pub issuer: String,
    /// The certifier's home ecosystem.
    pub eco: String,
    /// `credentialSubject.id`.
    pub subject: String,
}

/// Checks an uploaded attestation as a verifier would, short of the passport that lists it:
/// VC shape, certifier trust and role, signature, every assessment within the certifier's
/// accreditation at `validFrom` and, across ecosystems, within the recognition's scope.
pub fn check_attestation_upload(
    compact: &str,
    trust: &TrustStore,
    now: u64,
) -> Result<CheckedAttestation, Error> {
    let compact = compact.trim();
    let vc = verify_vc(compact, &vc::ATTESTATION, trust, now)?;
    let (issuer, valid_from, m) = (vc.issuer.clone(), vc.valid_from, &vc.signer);
    let cs = vc.subject()?;
    let subject_id = cs
        .get("id")
        .and_then(Value::as_str)
        .ok_or(Error::AttestationInvalid {
            detail: "credentialSubject.id is missing".into(),
        })?;
    let assessments = assessments(cs)?;
    if assessments.is_empty() {
        return Err(Error::AttestationInvalid {
            detail: "credentialSubject.assessment must be a non-empty array".into(),
        });
    }
    within_scope(m, valid_from, &assessments)?;
    Ok(CheckedAttestation {
        digest: sha256_b64(compact.as_bytes()),
        issuer,
        eco: m.eco.clone(),
        subject: subject_id.to_owned(),
    })
}
