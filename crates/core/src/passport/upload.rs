//! The registry's checks of an uploaded passport version and attestation (SPEC.md section
//! 6.2): a verifier's checks plus the chain against the versions already held.

use serde_json::Value;

use super::attestation::{assessments, listings, provenance, within_scope};
use super::{invalid, sha256_b64, subject, subject_link, vc_envelope, MAX_PASSPORT};
use crate::error::Error;
use crate::gs1::DigitalLink;
use crate::json::Obj;
use crate::jws::{Jws, Typ};
use crate::trust::TrustStore;
use crate::vc::{self, verify_vc};

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
    // Every listing is recorded or the upload refused: a listing dropped here would be stored
    // unlisted while verifiers report it failed (SPEC.md sections 3.3 and 6.2).
    let listed = listings(cs)?
        .into_iter()
        .map(|l| l.map(|l| l.digest))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|bad| Error::PassportInvalid { detail: bad.detail })?;
    // What a verifier refuses is not stored (chain.rs reads the same).
    provenance(cs)?;
    meta.opt_str("passportIdentifier")
        .map_err(|e| invalid(&e))?;
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
