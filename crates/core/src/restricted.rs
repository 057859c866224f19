//! Restricted passport sections (SPEC.md section 6.3): the Annex XIII data that the regulation
//! reserves for persons with a legitimate interest and for authorities (detailed composition,
//! state of health, test reports, dismantling information).
//!
//! A section is a `vc+jwt` `BatteryPassportRestricted` by the passport's issuer, with a `tier`
//! and the passport's `credentialSubject.id`. Three things live here, one each for the three
//! places that handle sections: [`check_restricted_upload`] (the registry, before it stores
//! one), [`readable_tiers`] (the registry, before it answers a read: which tiers a requester's
//! roles may see) and [`verify_restricted`] (a verifier, before it shows one: the section
//! against the battery's passport).

use serde_json::{Map, Value};

use crate::error::Error;
use crate::gs1::DigitalLink;
use crate::json::Obj;
use crate::jws::{Jws, Typ};
use crate::passport::{sha256_b64, subject, subject_link, vc_envelope, MAX_PASSPORT};
use crate::status::has_type;
use crate::trust::{IssuerMatch, TrustStore};
use crate::vc::{self, verify_vc, UnverifiedVc};

/// The VC type of a restricted section.
pub const RESTRICTED_TYPE: &str = "BatteryPassportRestricted";

/// Whether an upload's payload is a restricted section (SPEC.md section 6.3): its `type`, a
/// string or an array, includes [`RESTRICTED_TYPE`]. The one classification of
/// `POST /v1/passports`: such a payload goes to [`check_restricted_upload`] alone, and
/// `check_passport_upload` refuses it, so a section never enters by another reading of `type`.
pub fn is_restricted_section(payload: &Map<String, Value>) -> bool {
    has_type(payload.get("type"), RESTRICTED_TYPE)
}

/// Roles that read the authority tier (SPEC.md sections 4 and 6.3): market-surveillance and
/// other authorities' inspectors. They may read the legitimate-interest tier too.
pub const INSPECTOR_ROLES: [&str; 1] = ["inspector"];

/// Roles with a legitimate interest (Regulation (EU) 2023/1542 Art. 77(2)(b) and Annex XIII
/// point 2: repairers, remanufacturers, recyclers and others acting on the battery): they read
/// the `legitimate-interest` tier only.
pub const LEGITIMATE_INTEREST_ROLES: [&str; 2] = ["recycler", "repairer"];

/// Every role that may send a restricted read (`Expect::roles` of the registry's route).
pub const RESTRICTED_READ_ROLES: [&str; 3] = ["inspector", "recycler", "repairer"];

/// A restricted section's tier (SPEC.md section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// Persons with a legitimate interest (Annex XIII point 2).
    LegitimateInterest,
    /// Notified bodies, market-surveillance authorities and the Commission (Annex XIII
    /// point 3).
    Authority,
}

impl Tier {
    /// Both tiers, the wider audience first.
    pub const ALL: [Tier; 2] = [Tier::LegitimateInterest, Tier::Authority];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::LegitimateInterest => "legitimate-interest",
            Tier::Authority => "authority",
        }
    }

    /// The tier of a wire name.
    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The tiers a requester holding `roles` may read when it asks for `asked` (SPEC.md section
/// 6.3, which names only inspectors; the rest is this project's reading, `docs/inspection.md`):
///
/// - role `inspector`: asking `authority` gives both tiers, asking `legitimate-interest` that
///   tier only (an authority sees everything a repairer sees);
/// - role `recycler` or `repairer`: `legitimate-interest` only; asking `authority` is
///   `tier_forbidden`;
/// - any other requester: `role_missing`.
///
/// The tiers come back in [`Tier::ALL`] order.
pub fn readable_tiers<S: AsRef<str>>(roles: &[S], asked: Tier) -> Result<Vec<Tier>, Error> {
    let holds = |set: &[&str]| roles.iter().any(|r| set.contains(&r.as_ref()));
    if holds(&INSPECTOR_ROLES) {
        return Ok(match asked {
            Tier::Authority => Tier::ALL.to_vec(),
            Tier::LegitimateInterest => vec![Tier::LegitimateInterest],
        });
    }
    if holds(&LEGITIMATE_INTEREST_ROLES) {
        return match asked {
            Tier::LegitimateInterest => Ok(vec![Tier::LegitimateInterest]),
            Tier::Authority => Err(Error::TierForbidden {
                tier: asked.as_str().to_owned(),
            }),
        };
    }
    Err(Error::RoleMissing {
        needed: "inspector",
    })
}

/// A restricted section the registry may store (SPEC.md sections 6.2 and 6.3). Only the
/// core's upload check makes one (`#[non_exhaustive]`):
///
/// ```compile_fail,E0639
/// let forged = cellproof_core::CheckedRestricted {
///     link: cellproof_core::DigitalLink::parse_path("/01/04012345000016/21/X").unwrap(),
///     path: String::new(),
///     tier: cellproof_core::Tier::Authority,
///     issuer: String::new(),
///     eco: String::new(),
///     digest: String::new(),
/// };
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckedRestricted {
    /// The battery.
    pub link: DigitalLink,
    /// Its Digital Link path `01/{gtin}/21/{serial}` (the registry's key).
    pub path: String,
    /// The tier.
    pub tier: Tier,
    /// The issuer's DID.
    pub issuer: String,
    /// The issuer's home ecosystem.
    pub eco: String,
    /// Base64url SHA-256 of the compact JWS.
    pub digest: String,
}

/// A restricted section after [`verify_restricted`]: safe to show as the issuer's.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RestrictedSection {
    /// The tier.
    pub tier: Tier,
    /// The issuer's DID (the passport's issuer).
    pub issuer: String,
    /// The issuer's home ecosystem.
    pub eco: String,
    /// `validFrom`, Unix seconds.
    #[serde(rename = "validFrom")]
    pub valid_from: u64,
    /// Base64url SHA-256 of the compact JWS.
    pub digest: String,
    /// The section's `credentialSubject`, for display.
    pub subject: Map<String, Value>,
}

/// The section's `tier`: `credentialSubject.tier`, or the payload's top-level `tier` (both are
/// accepted, as the registry always has; when both are present they must agree).
fn tier_of(p: &Map<String, Value>, cs: &Map<String, Value>) -> Result<Tier, Error> {
    let bad = |detail: &str| Error::RestrictedInvalid {
        detail: detail.to_owned(),
    };
    let read = |v: Option<&Value>| match v {
        None => Ok(None),
        Some(Value::String(s)) => Tier::parse(s)
            .map(Some)
            .ok_or_else(|| bad("tier must be legitimate-interest or authority")),
        Some(_) => Err(bad("tier must be a string")),
    };
    match (read(p.get("tier"))?, read(cs.get("tier"))?) {
        (Some(a), Some(b)) if a != b => {
            Err(bad("the top-level tier and credentialSubject.tier differ"))
        }
        (Some(t), _) | (None, Some(t)) => Ok(t),
        (None, None) => Err(bad(
            "a restricted section needs tier legitimate-interest or authority",
        )),
    }
}

/// What the signed payload of a restricted section says, after signature and trust.
struct Section {
    m: IssuerMatch,
    link: DigitalLink,
    tier: Tier,
    valid_from: u64,
    subject: Map<String, Value>,
}

/// The checks a section passes wherever it is read: VC shape and type, issuer trusted with a
/// credential role at `validFrom` (key window, one home), strict signature, subject a battery's
/// Digital Link URL whose GTIN the issuer owns, and a tier.
fn check_section(compact: &str, trust: &TrustStore, now: u64) -> Result<Section, Error> {
    let vc = verify_vc(compact, &vc::RESTRICTED, trust, now)?;
    // Read from the verified payload: only signed bytes decide.
    let (m, valid_from) = (vc.signer.clone(), vc.valid_from);
    let p = vc.payload();
    let cs = vc.subject()?;
    let id = Obj::new(cs, "credentialSubject")
        .str("id")
        .map_err(|e| Error::RestrictedInvalid {
            detail: e.to_string(),
        })?;
    let link = subject_link(id).ok_or_else(|| Error::RestrictedInvalid {
        detail: format!("credentialSubject.id {id} is not a battery's Digital Link URL"),
    })?;
    if !m.entity.owns_gtin(&link.gtin) {
        return Err(Error::GtinNotIssuer {
            gtin: link.gtin.clone(),
            iss: m.entity.id.clone(),
        });
    }
    let tier = tier_of(p, cs)?;
    Ok(Section {
        m,
        link,
        tier,
        valid_from,
        subject: cs.clone(),
    })
}

/// The issuer and battery of a passport version, from its payload (not verified: the caller
/// has verified the chain, or the registry holds only verified versions).
fn passport_anchor(version: &str) -> Result<(String, Option<DigitalLink>), Error> {
    let jws = Jws::parse(version.trim(), Typ::Vc, MAX_PASSPORT)?;
    let p = jws.unverified_payload();
    let (issuer, _) =
        vc_envelope(p, "BatteryPassport").map_err(|detail| Error::PassportInvalid { detail })?;
    let link = subject(p)
        .and_then(|cs| cs.get("id"))
        .and_then(Value::as_str)
        .and_then(subject_link);
    Ok((issuer, link))
}

/// Checks an uploaded restricted section (SPEC.md section 6.3) against `held`, the battery's
/// public passport versions the registry stores, oldest first (a section needs the public
/// passport first: `passport_chain_broken` with version 0 otherwise). The section must be by
/// the passport's issuer (`restricted_issuer_mismatch`) about the same battery
/// (`restricted_subject_mismatch`), signed by a trusted `manufacturer` or `operator` key.
/// As for passport versions (SPEC.md section 6.2, from 1.2), the issuer's `gcp` must cover the
/// GTIN (none listed: `gtin_not_issuer`) and `credentialSubject.id` must be exactly one
/// battery's URL (`DigitalLink::parse_item_url`). The tier is the one read from the signed
/// section (top-level and subject `tier` must agree). `now` is the registry's clock.
pub fn check_restricted_upload(
    compact: &str,
    held: &[String],
    trust: &TrustStore,
    now: u64,
) -> Result<CheckedRestricted, Error> {
    let compact = compact.trim();
    let s = check_section(compact, trust, now)?;
    let id = s
        .subject
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let strict = DigitalLink::parse_item_url(id).map_err(|e| Error::RestrictedInvalid {
        detail: format!("credentialSubject.id {id} is not one battery's Digital Link URL: {e}"),
    })?;
    if strict != s.link {
        return Err(Error::RestrictedInvalid {
            detail: format!("credentialSubject.id {id} names more than one battery"),
        });
    }
    let Some(first) = held.first() else {
        return Err(Error::PassportChainBroken {
            version: 0,
            reason: "a restricted section needs the battery's public passport first",
        });
    };
    let (passport_issuer, passport_link) = passport_anchor(first)?;
    if passport_issuer != s.m.entity.id {
        return Err(Error::RestrictedIssuerMismatch {
            section: s.m.entity.id,
            passport: passport_issuer,
        });
    }
    if passport_link.as_ref() != Some(&s.link) {
        return Err(Error::RestrictedSubjectMismatch {
            subject: s.link.path(),
            battery: passport_link.map(|l| l.path()).unwrap_or_default(),
        });
    }
    // After the issuer comparison, which names the more useful refusal for someone else's
    // battery; a passport stored before 1.2 may be by an issuer listing no prefix.
    if s.m.entity.gcp.is_empty() || !s.m.entity.owns_gtin(&s.link.gtin) {
        return Err(Error::GtinNotIssuer {
            gtin: s.link.gtin.clone(),
            iss: s.m.entity.id.clone(),
        });
    }
    Ok(CheckedRestricted {
        path: s.link.path(),
        link: s.link,
        tier: s.tier,
        issuer: s.m.entity.id,
        eco: s.m.eco,
        digest: sha256_b64(compact.as_bytes()),
    })
}

/// Verifies a restricted section against the battery's passport before it is shown (SPEC.md
/// section 6.3): `passport` is the current version's compact JWS, which the caller has verified
/// with the label first (`verify` with the chain: the `passport` stage passed). The passport's
/// issuer is resolved and its signature checked again here, so the anchor is never taken on
/// faith; the section must be by that same entity in the same home ecosystem
/// (`restricted_issuer_mismatch`), about the same battery (`restricted_subject_mismatch`),
/// signed with a key valid at its `validFrom`, with a tier. `now` is the verifier's time
/// (`Context::effective_now`).
pub fn verify_restricted(
    section: &str,
    passport: &str,
    trust: &TrustStore,
    now: u64,
) -> Result<RestrictedSection, Error> {
    let section = section.trim();
    let passport = passport.trim();
    let pv = verify_vc(passport, &vc::PASSPORT, trust, now)?;
    let pm = pv.signer.clone();
    let passport_link = subject(pv.payload())
        .and_then(|cs| cs.get("id"))
        .and_then(Value::as_str)
        .and_then(subject_link)
        .ok_or(Error::PassportInvalid {
            detail: "credentialSubject.id is not a battery's Digital Link URL".into(),
        })?;
    // The issuer is compared before the section's key is looked up, so a section by another
    // manufacturer says so rather than whatever its own trust lookup would say.
    if let Ok(s) = UnverifiedVc::parse(section, &vc::RESTRICTED) {
        if s.issuer != pm.entity.id {
            return Err(Error::RestrictedIssuerMismatch {
                section: s.issuer,
                passport: pm.entity.id,
            });
        }
    }
    let s = check_section(section, trust, now)?;
    if s.m.entity.id != pm.entity.id || s.m.eco != pm.eco {
        return Err(Error::RestrictedIssuerMismatch {
            section: format!("{} in {}", s.m.entity.id, s.m.eco),
            passport: format!("{} in {}", pm.entity.id, pm.eco),
        });
    }
    if s.link != passport_link {
        return Err(Error::RestrictedSubjectMismatch {
            subject: s.link.path(),
            battery: passport_link.path(),
        });
    }
    Ok(RestrictedSection {
        tier: s.tier,
        issuer: s.m.entity.id,
        eco: s.m.eco,
        valid_from: s.valid_from,
        digest: sha256_b64(section.as_bytes()),
        subject: s.subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_policy_follows_roles() {
        assert_eq!(
            readable_tiers(&["inspector"], Tier::Authority),
            Ok(Tier::ALL.to_vec())
        );
        assert_eq!(
            readable_tiers(&["inspector"], Tier::LegitimateInterest),
            Ok(vec![Tier::LegitimateInterest])
        );
        assert_eq!(
            readable_tiers(&["recycler"], Tier::LegitimateInterest),
            Ok(vec![Tier::LegitimateInterest])
        );
        let e = readable_tiers(&["repairer", "manufacturer"], Tier::Authority);
        assert_eq!(e.map_err(|e| e.code()), Err("tier_forbidden"));
        for roles in [&["manufacturer"][..], &["certifier", "operator"], &[]] {
            for asked in Tier::ALL {
                let e = readable_tiers(roles, asked);
                assert_eq!(e.map_err(|e| e.code()), Err("role_missing"), "{roles:?}");
            }
        }
        assert_eq!(Tier::parse("Authority"), None);
        assert_eq!(Tier::parse("authority"), Some(Tier::Authority));
    }
}
