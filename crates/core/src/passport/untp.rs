//! UNTP credentials read as Cellproof's (SPEC.md 1.2 sections 3.3 and 3.5): a resolved
//! `DigitalProductPassport` 0.6 is a passport whose `conformityClaim[]` entries are its
//! listings, and a `DigitalConformityCredential` 0.6 is an attestation, checked like any other
//! (signature, certifier trust and scope, time, status) once its members are mapped.

use serde_json::{Map, Value};

use super::attestation::speaks_for;
use super::{sha256_b64, AttestationOutcome, AttestationResult, PassportChain, PassportCtx};
use crate::error::Error;
use crate::trust::Scope;
use crate::vc::{self, verify_vc};

/// Most conformity claims read from a UNTP passport; more is `limit_exceeded`.
pub const MAX_CLAIMS: usize = 64;

/// UNTP conformity topics mapped to Cellproof's (SPEC.md section 3.3 table); any other
/// matches no listing.
pub(crate) fn map_topic(untp: &str) -> Option<&'static str> {
    match untp {
        "environment.emissions" => Some(super::topics::CARBON),
        "circularity.content" => Some(super::topics::RECYCLED),
        "social.rights" => Some(super::topics::SOURCING),
        "governance.compliance" => Some(super::topics::CONFORMITY),
        _ => None,
    }
}

/// The product a UNTP passport is about: `credentialSubject.product.id`, else
/// `credentialSubject.id` (SPEC.md section 2.2).
pub(crate) fn product_id(cs: &Map<String, Value>) -> Option<&str> {
    cs.get("product")
        .and_then(|p| p.get("id"))
        .and_then(Value::as_str)
        .or_else(|| cs.get("id").and_then(Value::as_str))
}

/// A SecureLink `hashDigest` as base64url SHA-256: 43 base64url characters as they are, 64
/// hex digits (as UNTP examples write it) converted; anything else `None`.
pub(crate) fn digest_b64(d: &str) -> Option<String> {
    if d.len() == 43
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Some(d.to_owned());
    }
    super::hex32(d).map(|b| crate::jws::b64_encode(&b))
}

/// The results of a UNTP passport's conformity claims (SPEC.md section 3.5): a claim whose
/// topic maps to Cellproof's and whose `conformityEvidence` is a SecureLink with a
/// `hashDigest` is a listing, checked against the held Digital Conformity Credential of that
/// digest (`not_checked` when not held); any other claim is `declared` under its own topic.
pub(crate) fn check_claims(
    chain: &PassportChain,
    cs: &Map<String, Value>,
    cx: &PassportCtx<'_>,
) -> Result<Vec<AttestationResult>, Error> {
    let claims = match cs.get("conformityClaim") {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(Error::PassportInvalid {
                detail: "credentialSubject.conformityClaim must be an array".into(),
            })
        }
    };
    if claims.len() > MAX_CLAIMS {
        return Err(Error::LimitExceeded {
            what: "credentialSubject.conformityClaim",
            limit: MAX_CLAIMS,
        });
    }
    let product = product_id(cs).unwrap_or_default();
    let mut out = Vec::with_capacity(claims.len());
    for (i, c) in claims.iter().enumerate() {
        let raw_topic = c
            .get("conformityTopic")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let mapped = map_topic(raw_topic);
        let topic = mapped.unwrap_or(raw_topic);
        let mut r = AttestationResult::new(topic, &[], Some(product));
        let digest = c
            .get("conformityEvidence")
            .and_then(|e| e.get("hashDigest"))
            .and_then(Value::as_str);
        let (Some(_), Some(digest)) = (mapped, digest) else {
            // Declared: no evidence with a digest, or a topic Cellproof has no listing for.
            out.push(r);
            continue;
        };
        let Some(digest) = digest_b64(digest) else {
            out.push(r.fail(&Error::AttestationInvalid {
                detail: format!(
                    "conformityClaim[{i}].conformityEvidence.hashDigest is neither base64url nor hex SHA-256"
                ),
            }));
            continue;
        };
        r.digest = Some(digest.clone());
        let Some(jws) = chain.attestations.get(&digest) else {
            r.outcome = AttestationOutcome::NotChecked;
            r.message = Some("the conformity credential is not held".into());
            out.push(r);
            continue;
        };
        out.push(match check_dcc(jws, topic, &digest, product, cx) {
            Ok(v) => AttestationResult {
                digest: Some(digest),
                ..v
            },
            Err(e) => r.fail(&e),
        });
    }
    Ok(out)
}

/// One Digital Conformity Credential for a claim of `topic` about `product`.
fn check_dcc(
    jws: &str,
    topic: &str,
    digest: &str,
    product: &str,
    cx: &PassportCtx<'_>,
) -> Result<AttestationResult, Error> {
    let jws = jws.trim();
    let got = sha256_b64(jws.as_bytes());
    if got != digest {
        return Err(Error::AttestationDigestMismatch {
            expected: digest.to_owned(),
            got,
        });
    }
    let vc = verify_vc(jws, &vc::UNTP_DCC, cx.trust, cx.now)?;
    let cs = vc.subject()?;
    let invalid = |detail: String| Error::AttestationInvalid { detail };
    let items = match cs.get("assessment") {
        Some(Value::Array(a)) => a,
        _ => {
            return Err(invalid(
                "credentialSubject.assessment must be an array".into(),
            ))
        }
    };
    if items.len() > super::MAX_ASSESSMENTS {
        return Err(Error::LimitExceeded {
            what: "credentialSubject.assessment",
            limit: super::MAX_ASSESSMENTS,
        });
    }
    // The subjects the DCC assesses (3.3 table): assessed products, facilities, organisation.
    let mut subjects: Vec<&str> = Vec::new();
    if let Some(id) = cs
        .get("assessedOrganisation")
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
    {
        subjects.push(id);
    }
    let mut assessments = Vec::with_capacity(items.len());
    for (i, a) in items.iter().enumerate() {
        let a = a.as_object().ok_or_else(|| {
            invalid(format!(
                "credentialSubject.assessment[{i}] is not an object"
            ))
        })?;
        let t = a
            .get("conformityTopic")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid(format!(
                    "credentialSubject.assessment[{i}].conformityTopic is missing"
                ))
            })?;
        for (list, inner) in [
            ("assessedProduct", "product"),
            ("assessedFacility", "facility"),
        ] {
            for x in a.get(list).and_then(Value::as_array).into_iter().flatten() {
                if let Some(id) = x
                    .get(inner)
                    .and_then(|p| p.get("id"))
                    .and_then(Value::as_str)
                {
                    subjects.push(id);
                }
            }
        }
        let conformance = a.get("conformance").and_then(Value::as_bool) == Some(true);
        // An unmapped topic is kept as written: it matches no listing, and the certifier's
        // accreditation must still cover it (nothing is widened by a topic we cannot read).
        let scope = Scope {
            topic: map_topic(t).unwrap_or(t).to_owned(),
            materials: Vec::new(),
        };
        assessments.push((scope, conformance));
    }
    if !subjects.contains(&product) {
        return Err(Error::AttestationSubjectMismatch {
            subject: subjects.first().copied().unwrap_or_default().to_owned(),
        });
    }
    speaks_for(&vc, topic, &[], product, &assessments, cx)
}

#[cfg(test)]
mod tests {
    use super::digest_b64;

    /// A digest is 43 base64url characters or 64 hex digits, nothing looser: `from_str_radix`
    /// would read `+f` as 15, so a signed pair must not pass as hex.
    #[test]
    fn digests_are_base64url_or_hex_and_nothing_else() {
        let hex = "00".repeat(32);
        assert_eq!(
            digest_b64(&hex).as_deref(),
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        );
        assert!(digest_b64(&hex.to_uppercase()).is_some());
        for bad in [
            format!("+f{}", "00".repeat(31)),
            "0".repeat(63),
            "0".repeat(65),
            format!("zz{}", "00".repeat(31)),
            "A".repeat(42),
            format!("{}=", "A".repeat(42)),
        ] {
            assert_eq!(digest_b64(&bad), None, "{bad}");
        }
    }
}
