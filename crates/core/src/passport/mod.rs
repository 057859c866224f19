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
//!
//! Split by concern: `chain.rs` (the version chain and status entries), `attestation.rs` (the
//! listings and declared claims), `upload.rs` (the registry's upload checks).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::credential::Credential;
use crate::error::Error;
use crate::gs1::DigitalLink;
use crate::json::Obj;
use crate::jws::b64_encode;
use crate::status::{has_type, StatusStore, VC_CONTEXT};
use crate::time::parse_rfc3339;
use crate::trust::{IssuerMatch, TrustStore};

mod attestation;
mod chain;
mod untp;
mod upload;

use attestation::check_attestations;
use chain::check_chain;
pub(crate) use chain::status_entries;
pub(crate) use untp::{check_claims as untp_claims, product_id as untp_product_id};
pub use upload::{
    check_attestation_upload, check_passport_upload, CheckedAttestation, CheckedPassport,
};

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

/// Lower-case hex SHA-256 of bytes, as UNTP writes digests (SPEC.md sections 2.2 and 3.2).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 32 bytes written as 64 hex digits (a UNTP key or SHA-256), else `None`.
pub(crate) fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        let pair = s.get(i * 2..i * 2 + 2)?;
        // `from_str_radix` would take a sign: hex digits only.
        if !pair.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *b = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
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
    /// The battery's applied lifecycle events, oldest first (SPEC.md 1.2 section 6.2: the
    /// chain's `events`); empty for a 1.1 chain.
    pub events: Vec<String>,
    /// For a successor passport, the originals' chains (`versions` and `events`) by Digital
    /// Link path (SPEC.md 1.2 section 6.2: the chain's `predecessors`).
    pub predecessors: BTreeMap<String, PassportChain>,
}

/// Most lifecycle events a chain may carry (a battery's life has few transitions).
pub const MAX_EVENTS: usize = 64;

impl PassportChain {
    /// Reads the registry's JSON form.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let map = crate::json::parse_object(text.as_bytes())?;
        let mut chain = Self::from_map(&map)?;
        if let Some(p) = Obj::new(&map, "").opt_obj("predecessors")? {
            if p.len() > crate::lineage::MAX_PREDECESSORS {
                return Err(Obj::new(&map, "").err("predecessors", "holds too many chains"));
            }
            for (path, v) in p {
                let m = v.as_object().ok_or_else(|| {
                    Obj::new(&map, "").err("predecessors", "must map paths to chains")
                })?;
                // One level: an original's own predecessors are not followed.
                let mut c = Self::from_map(m)?;
                c.predecessors.clear();
                chain.predecessors.insert(path.clone(), c);
            }
        }
        Ok(chain)
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self, Error> {
        let o = Obj::new(map, "");
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
        let events = match map.get("events") {
            None => Vec::new(),
            Some(_) => o.strings("events")?,
        };
        if events.len() > MAX_EVENTS {
            return Err(o.err("events", "holds too many lifecycle events"));
        }
        Ok(PassportChain {
            events,
            versions,
            attestations,
            predecessors: BTreeMap::new(),
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
    /// The issuer entity the passport must be signed by (the label credential's `iss`, or for
    /// a resolved passport its own issuer).
    pub iss: &'a str,
    /// The battery the passport must be about.
    pub sub: &'a DigitalLink,
    /// What version 1 must match.
    pub committed: Committed<'a>,
    pub issuer: &'a IssuerMatch,
    pub trust: &'a TrustStore,
    pub status: &'a StatusStore,
    pub now: u64,
}

/// What binds version 1 of a chain (SPEC.md sections 3.1 and 2.2).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Committed<'a> {
    /// The label's credential: its `bp.dig` (none: the chain cannot be bound).
    Label(Option<&'a str>),
    /// A passport resolved online for a label without a credential: no `bp.dig` exists; the
    /// chain is checked from version 1 on without it (SPEC.md section 2.2).
    Resolved,
}

impl<'a> PassportCtx<'a> {
    /// The context for a label credential.
    pub(crate) fn for_credential(
        cred: &'a Credential,
        issuer: &'a IssuerMatch,
        trust: &'a TrustStore,
        status: &'a StatusStore,
        now: u64,
    ) -> Self {
        PassportCtx {
            iss: &cred.iss,
            sub: &cred.sub,
            committed: Committed::Label(cred.bp_str("dig")),
            issuer,
            trust,
            status,
            now,
        }
    }
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
