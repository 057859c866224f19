//! A successor passport's lineage (SPEC.md 1.2 section 3.4): a repurposed or remanufactured
//! battery's passport lists the originals it was made from in `metadata.predecessors`
//! (`[{"passportIdentifier", "id": <original's Digital Link URL>, "digest": <base64url SHA-256
//! of the original's latest version>}]`). Each is checked against the original's chain the
//! verifier holds: the latest version hashes to `digest`, the chain verifies under the
//! original's own issuer, and one of the original's applied events, verified, names this
//! battery as its successor. One entry per predecessor: `verified`, `not_checked` (its chain
//! not held), or `failed` with its code; any failure is the notice `lineage_failed`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::gs1::DigitalLink;
use crate::lifecycle::{LifecycleEvent, EVENT};
use crate::passport::{sha256_b64, Committed, PassportChain, PassportCtx};
use crate::status::StatusStore;
use crate::trust::{TrustStore, CREDENTIAL_ROLES};
use crate::vc::{verify_vc, UnverifiedVc, PASSPORT};

/// Most predecessors a successor may list (a pack rebuilt from many modules).
pub const MAX_PREDECESSORS: usize = 64;

/// One predecessor's result.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LineageEntry {
    /// The original's Digital Link URL, as the successor lists it.
    pub id: String,
    /// Its `passportIdentifier`, as listed.
    #[serde(rename = "passportIdentifier")]
    pub passport_identifier: String,
    /// `verified`, `not_checked` or `failed`.
    pub outcome: &'static str,
    /// Why it failed or was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// The original's issuer (DID), when its chain verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Its name in the trust list.
    #[serde(rename = "issuerName", skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
}

impl LineageEntry {
    fn new(id: &str, pid: &str, outcome: &'static str, code: Option<&'static str>) -> Self {
        LineageEntry {
            id: id.to_owned(),
            passport_identifier: pid.to_owned(),
            outcome,
            code,
            issuer: None,
            issuer_name: None,
        }
    }
}

/// One `metadata.predecessors` item of a passport subject, as listed (unverified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The original's Digital Link URL.
    pub id: String,
    /// Its `passportIdentifier`.
    pub passport_identifier: String,
    /// Base64url SHA-256 of its latest version.
    pub digest: String,
    /// The battery `id` names, when it is a Digital Link URL.
    pub battery: Option<DigitalLink>,
}

/// The `metadata.predecessors` a passport subject lists (SPEC.md 1.2 section 3.4), at most
/// [`MAX_PREDECESSORS`] of them; the one reader for the verifier and the registry.
pub fn listed(subject: &Map<String, Value>) -> Vec<Listed> {
    subject
        .get("metadata")
        .and_then(|m| m.get("predecessors"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .take(MAX_PREDECESSORS)
                .map(|p| {
                    let text = |k: &str| {
                        p.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    Listed {
                        battery: crate::credential::parse_link_url(&text("id")).ok(),
                        id: text("id"),
                        passport_identifier: text("passportIdentifier"),
                        digest: text("digest"),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The lineage of a successor whose current version's subject is `current` and whose battery
/// is `successor`, against the originals' chains in `held` (by Digital Link path). Empty when
/// the passport lists no predecessors.
pub(crate) fn check(
    current: &Map<String, Value>,
    successor: &DigitalLink,
    held: &BTreeMap<String, PassportChain>,
    trust: &TrustStore,
    status: &StatusStore,
    now: u64,
) -> Vec<LineageEntry> {
    let count = current
        .get("metadata")
        .and_then(|m| m.get("predecessors"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut out = Vec::new();
    for p in listed(current) {
        let (id, pid, digest) = (&p.id, &p.passport_identifier, p.digest.as_str());
        let entry = |outcome, code| LineageEntry::new(id, pid, outcome, code);
        let Some(original) = p.battery.clone() else {
            out.push(entry("failed", Some("passport_invalid")));
            continue;
        };
        if original == *successor || digest.is_empty() {
            out.push(entry("failed", Some("passport_invalid")));
            continue;
        }
        let Some(chain) = held.get(&original.path()) else {
            out.push(entry("not_checked", None));
            continue;
        };
        out.push(
            match one(chain, &original, successor, digest, trust, status, now) {
                Ok((did, name)) => LineageEntry {
                    issuer: Some(did),
                    issuer_name: Some(name),
                    ..entry("verified", None)
                },
                Err(e) => entry("failed", Some(e.code())),
            },
        );
    }
    if count > MAX_PREDECESSORS {
        out.push(LineageEntry::new("", "", "failed", Some("limit_exceeded")));
    }
    out
}

/// One original: digest, chain under its own issuer, an event naming the successor.
fn one(
    chain: &PassportChain,
    original: &DigitalLink,
    successor: &DigitalLink,
    digest: &str,
    trust: &TrustStore,
    status: &StatusStore,
    now: u64,
) -> Result<(String, String), Error> {
    let latest = chain
        .versions
        .last()
        .ok_or(Error::PredecessorDigestMismatch)?;
    if sha256_b64(latest.trim().as_bytes()) != digest {
        return Err(Error::PredecessorDigestMismatch);
    }
    let first = chain
        .versions
        .first()
        .ok_or(Error::PredecessorDigestMismatch)?;
    let v1 = UnverifiedVc::parse(first, &PASSPORT)?;
    let issuer = trust
        .resolve(&v1.issuer, v1.kid(), v1.valid_from, &CREDENTIAL_ROLES, now)
        .result?;
    let cx = PassportCtx {
        iss: &v1.issuer,
        sub: original,
        committed: Committed::Resolved,
        issuer: &issuer,
        trust,
        status,
        now,
    };
    crate::passport::check(chain, &cx).result?;
    // The original's own record of it: an applied event, verified, naming this successor.
    let named = chain.events.iter().any(|jws| {
        verify_vc(jws, &EVENT, trust, now)
            .ok()
            .and_then(|vc| LifecycleEvent::from_payload(vc.payload()).ok())
            .is_some_and(|e| {
                e.battery == *original && e.successors.iter().any(|s| s.battery == *successor)
            })
    });
    if !named {
        return Err(Error::PredecessorUnconfirmed {
            original: original.path(),
        });
    }
    Ok((issuer.entity.id.clone(), issuer.entity.name.clone()))
}
