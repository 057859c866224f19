//! Building and sealing a report (SPEC.md section 6.4): the artifacts a verdict used, their
//! evidence entries, the payload and its signing, the claims read back, the registry's upload
//! check.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::verify::origin_of;
use super::{INSPECTION, MAX_EVIDENCE, MAX_REPORT, REPORT_TYPE};
use crate::credential::Scan;
use crate::error::Error;
use crate::gs1::DigitalLink;
use crate::issue::{sign_json, KeyPair};
use crate::json::Obj;
use crate::jws::{b64_decode, b64_encode, Jws, Typ};
use crate::passport::{
    sha256_b64, status_entries, subject, subject_link, vc_envelope, PassportChain, MAX_PASSPORT,
};
use crate::status::{StatusStore, VC_CONTEXT};
use crate::time::{format_rfc3339, parse_rfc3339, UnixTime};
use crate::trust::{PublicKey, TrustList, TrustStore};
use crate::vc::{self, UnverifiedVc};
use crate::verdict::Verdict;
use crate::verify::MAX_CLOCK_SKEW;

/// A photo taken during the inspection (of the label, the battery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Photo {
    /// `image/jpeg`, `image/png`, ...
    pub media_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A session observation the inspector adds to the report (`possible_copied_label`): a hint,
/// never a verdict, and not recomputed (SPEC.md section 6.4, issue "clone hints").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Hint {
    /// Stable code.
    pub code: String,
    /// English sentence.
    pub message: String,
}

/// Everything a verdict used, as the verifier held it: what an evidence pack carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Artifacts {
    /// The scanned text (the label's URL with its fragment, or the compact credential).
    pub scan: String,
    /// The passport chain and attestations given to `verify`.
    pub chain: Option<PassportChain>,
    /// Trust lists (compact JWS).
    pub trust_lists: Vec<String>,
    /// Status lists (compact JWS).
    pub status_lists: Vec<String>,
    /// Photos.
    pub photos: Vec<Photo>,
}

impl Artifacts {
    /// The artifacts `verdict` used: every trust list held (the credential's issuer, the
    /// certifiers and the inspector are found in them, recognition included), the status
    /// lists the credential, the passport versions and the attestations point at, and the
    /// chain. Status lists held only in the compact form (no JWS kept) cannot be packed and
    /// are left out.
    pub fn used(
        scan: &str,
        verdict: &Verdict,
        trust: &TrustStore,
        status: &StatusStore,
        chain: Option<&PassportChain>,
    ) -> Artifacts {
        let mut ids: BTreeSet<String> = verdict.status.iter().map(|s| s.list.clone()).collect();
        ids.extend(
            verdict
                .data
                .iter()
                .filter(|a| a.kind == "status_list")
                .map(|a| a.id.clone()),
        );
        if let Some(c) = chain {
            for jws in c.versions.iter().chain(c.attestations.values()) {
                if let Ok(j) = Jws::parse(jws.trim(), Typ::Vc, MAX_PASSPORT) {
                    if let Ok(entries) = status_entries(j.unverified_payload()) {
                        ids.extend(entries.into_iter().map(|e| e.list));
                    }
                }
            }
        }
        Artifacts {
            scan: scan.trim().to_owned(),
            chain: chain.cloned(),
            trust_lists: trust.raw_lists().map(str::to_owned).collect(),
            status_lists: status
                .lists()
                .filter(|l| ids.contains(&l.id) && !l.raw().is_empty())
                .map(|l| l.raw().to_owned())
                .collect(),
            photos: Vec::new(),
        }
    }
}

/// The RFC 7638 JWK thumbprint of a public key: base64url SHA-256 of
/// `{"crv":"Ed25519","kty":"OKP","x":"..."}` (required members in lexicographic order, no
/// whitespace). The fingerprint an inspector reads out to the authority that enrols its key.
pub fn jwk_thumbprint(key: &PublicKey) -> String {
    let canonical = format!(
        "{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{}\"}}",
        b64_encode(&key.x)
    );
    sha256_b64(canonical.as_bytes())
}

/// One artifact a report names (`credentialSubject.evidence[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The QR credential: SHA-256 of its compact JWS.
    Credential {
        /// Digest.
        digest: String,
    },
    /// A passport version.
    Passport {
        /// `metadata.version` (its place in the chain).
        version: u64,
        /// Digest of the compact JWS.
        digest: String,
    },
    /// An attestation (digest of the compact JWS: the passport's listing `hashDigest`).
    Attestation {
        /// Digest.
        digest: String,
    },
    /// A trust list.
    TrustList {
        /// Its ecosystem.
        eco: String,
        /// Its sequence number.
        seq: u64,
        /// Digest of the compact JWS.
        digest: String,
    },
    /// A status list.
    StatusList {
        /// Its `id` (URL).
        id: String,
        /// Its `validFrom`, Unix seconds.
        valid_from: u64,
        /// Digest of the compact JWS.
        digest: String,
    },
    /// A photo.
    Photo {
        /// Media type.
        media_type: String,
        /// Digest of the bytes.
        digest: String,
    },
}

impl Evidence {
    /// The digest.
    pub fn digest(&self) -> &str {
        match self {
            Evidence::Credential { digest }
            | Evidence::Passport { digest, .. }
            | Evidence::Attestation { digest }
            | Evidence::TrustList { digest, .. }
            | Evidence::StatusList { digest, .. }
            | Evidence::Photo { digest, .. } => digest,
        }
    }

    /// A short English name for messages (`trust list catena-x seq 3`).
    pub fn describe(&self) -> String {
        match self {
            Evidence::Credential { .. } => "the QR credential".into(),
            Evidence::Passport { version, .. } => format!("passport version {version}"),
            Evidence::Attestation { digest } => format!("attestation {digest}"),
            Evidence::TrustList { eco, seq, .. } => format!("trust list {eco} seq {seq}"),
            Evidence::StatusList { id, valid_from, .. } => {
                format!("status list {id} of {}", format_rfc3339(*valid_from))
            }
            Evidence::Photo { digest, .. } => format!("photo {digest}"),
        }
    }

    fn to_json(&self) -> Value {
        let mut v = match self {
            Evidence::Credential { .. } => json!({"type": "credential"}),
            Evidence::Passport { version, .. } => json!({"type": "passport", "version": version}),
            Evidence::Attestation { .. } => json!({"type": "attestation"}),
            Evidence::TrustList { eco, seq, .. } => {
                json!({"type": "trust-list", "eco": eco, "seq": seq})
            }
            Evidence::StatusList { id, valid_from, .. } => {
                json!({"type": "status-list", "id": id, "validFrom": format_rfc3339(*valid_from)})
            }
            Evidence::Photo { media_type, .. } => {
                json!({"type": "photo", "mediaType": media_type})
            }
        };
        if let Some(o) = v.as_object_mut() {
            o.insert("hashDigest".into(), self.digest().into());
            o.insert("hashMethod".into(), "SHA-256".into());
        }
        v
    }

    fn from_json(v: &Value) -> Result<Evidence, Error> {
        let bad = |detail: &str| Error::ReportInvalid {
            detail: format!("evidence: {detail}"),
        };
        let m = v
            .as_object()
            .ok_or_else(|| bad("entries must be objects"))?;
        let o = Obj::new(m, "evidence");
        let map_err = |e: Error| bad(&e.to_string());
        let digest = o.str("hashDigest").map_err(map_err)?;
        if digest.len() != 43 || b64_decode(digest, "payload").is_err() {
            return Err(bad("hashDigest must be base64url SHA-256 (43 characters)"));
        }
        if o.opt_str("hashMethod")
            .map_err(map_err)?
            .is_some_and(|h| h != "SHA-256")
        {
            return Err(bad("hashMethod must be SHA-256"));
        }
        let digest = digest.to_owned();
        Ok(match o.str("type").map_err(map_err)? {
            "credential" => Evidence::Credential { digest },
            "passport" => Evidence::Passport {
                version: o.u64("version").map_err(map_err)?,
                digest,
            },
            "attestation" => Evidence::Attestation { digest },
            "trust-list" => Evidence::TrustList {
                eco: o.str("eco").map_err(map_err)?.to_owned(),
                seq: o.u64("seq").map_err(map_err)?,
                digest,
            },
            "status-list" => Evidence::StatusList {
                id: o.str("id").map_err(map_err)?.to_owned(),
                valid_from: parse_rfc3339(o.str("validFrom").map_err(map_err)?)
                    .map_err(|_| bad("validFrom is not an RFC 3339 date-time"))?,
                digest,
            },
            "photo" => Evidence::Photo {
                media_type: o.str("mediaType").map_err(map_err)?.to_owned(),
                digest,
            },
            _ => return Err(bad(
                "type must be credential, passport, attestation, trust-list, status-list or photo",
            )),
        })
    }
}

/// The evidence entries for `artifacts`, in a fixed order: credential, passport versions,
/// attestations, trust lists, status lists, photos.
fn evidence_of(artifacts: &Artifacts) -> Result<Vec<Evidence>, Error> {
    let scan = Scan::parse(&artifacts.scan)?;
    let mut out = vec![Evidence::Credential {
        digest: sha256_b64(scan.compact.as_bytes()),
    }];
    if let Some(c) = &artifacts.chain {
        for (i, v) in c.versions.iter().enumerate() {
            out.push(Evidence::Passport {
                version: u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1),
                digest: sha256_b64(v.trim().as_bytes()),
            });
        }
        for a in c.attestations.values() {
            out.push(Evidence::Attestation {
                digest: sha256_b64(a.trim().as_bytes()),
            });
        }
    }
    for t in &artifacts.trust_lists {
        let (eco, seq) = trust_list_id(t)?;
        out.push(Evidence::TrustList {
            eco,
            seq,
            digest: sha256_b64(t.trim().as_bytes()),
        });
    }
    for s in &artifacts.status_lists {
        let (id, valid_from) = status_list_id(s)?;
        out.push(Evidence::StatusList {
            id,
            valid_from,
            digest: sha256_b64(s.trim().as_bytes()),
        });
    }
    for p in &artifacts.photos {
        out.push(Evidence::Photo {
            media_type: p.media_type.clone(),
            digest: sha256_b64(&p.bytes),
        });
    }
    if out.len() > MAX_EVIDENCE {
        return Err(Error::ReportInvalid {
            detail: format!("more than {MAX_EVIDENCE} artifacts"),
        });
    }
    Ok(out)
}

/// `eco` and `seq` of a trust list, read without verifying it.
pub(super) fn trust_list_id(jws: &str) -> Result<(String, u64), Error> {
    let j = Jws::parse(jws.trim(), Typ::TrustList, crate::trust::MAX_TRUST_LIST)?;
    let l = TrustList::from_payload(j.unverified_payload())?;
    Ok((l.eco, l.seq))
}

/// `id` and `validFrom` of a status list, read without verifying it.
pub(super) fn status_list_id(jws: &str) -> Result<(String, u64), Error> {
    let j = Jws::parse(jws.trim(), Typ::Vc, crate::status::MAX_STATUS_LIST)?;
    let o = Obj::new(j.unverified_payload(), "");
    let id = o.str("id")?.to_owned();
    let from = parse_rfc3339(o.str("validFrom")?)?;
    Ok((id, from))
}

/// The verdict as a report records it, and as [`verify_report`](super::verify_report) compares it: `overall`,
/// `code`, every stage's outcome and code (by stage name), the notices' codes (without
/// `clock_floor`, which depends on the device clock), the passport version and every
/// attestation result (topic, materials, subject, outcome, code).
pub fn verdict_summary(v: &Verdict) -> Value {
    let stages: Map<String, Value> = v
        .stages
        .iter()
        .map(|s| {
            let outcome = serde_json::to_value(s.outcome).unwrap_or(Value::Null);
            (
                s.stage.name().to_owned(),
                json!({"outcome": outcome, "code": s.code}),
            )
        })
        .collect();
    let notices: Vec<&str> = v
        .notices
        .iter()
        .map(|n| n.code)
        .filter(|c| *c != "clock_floor")
        .collect();
    let attestations: Vec<Value> = v
        .attestations
        .iter()
        .map(|a| {
            json!({"topic": a.topic, "materials": a.materials, "subject": a.subject,
                   "outcome": serde_json::to_value(a.outcome).unwrap_or(Value::Null),
                   "code": a.code})
        })
        .collect();
    json!({
        "overall": v.overall.as_str(),
        "code": v.code,
        "stages": stages,
        "notices": notices,
        "passportVersion": v.passport.as_ref().map(|p| p.version),
        "attestations": attestations,
    })
}

/// The unsigned report payload (SPEC.md section 6.4, `docs/inspection.md`): issued by
/// `inspector` (a DID), about the battery of the scan (the label's URL without fragment, or
/// the passport's subject when scanned without a URL), with the verdict's effective time
/// (`verdict.now`), its summary, the session's `hints` and the evidence of `artifacts`.
/// `validFrom` is `now` (the device clock), raised to the effective time when the device
/// clock is behind it.
pub fn report_payload(
    inspector: &str,
    artifacts: &Artifacts,
    verdict: &Verdict,
    hints: &[Hint],
    now: UnixTime,
) -> Result<Value, Error> {
    let scan = Scan::parse(&artifacts.scan)?;
    let battery = match &scan.url {
        Some(url) => url.clone(),
        None => artifacts
            .chain
            .as_ref()
            .and_then(|c| c.versions.last())
            .and_then(|v| Jws::parse(v.trim(), Typ::Vc, MAX_PASSPORT).ok())
            .and_then(|j| {
                subject(j.unverified_payload())
                    .and_then(|cs| cs.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or(Error::ReportInvalid {
                detail: "the battery's Digital Link URL is unknown (scanned without a URL and no passport)".into(),
            })?,
    };
    if subject_link(&battery).is_none() {
        return Err(Error::ReportInvalid {
            detail: format!("{battery} is not a battery's Digital Link URL"),
        });
    }
    let evidence: Vec<Value> = evidence_of(artifacts)?
        .iter()
        .map(Evidence::to_json)
        .collect();
    let hints: Vec<Value> = hints
        .iter()
        .map(|h| json!({"code": h.code, "message": h.message}))
        .collect();
    let mut payload = json!({
        "@context": [VC_CONTEXT, crate::status::UNDEFINED_TERMS_CONTEXT],
        "type": ["VerifiableCredential", REPORT_TYPE],
        "issuer": inspector,
        "validFrom": format_rfc3339(now.secs().max(verdict.now)),
        "credentialSubject": {
            "id": battery,
            "attestationType": INSPECTION,
            "effectiveTime": format_rfc3339(verdict.now),
            "verdict": verdict_summary(verdict),
            "hints": hints,
            "evidence": evidence,
        }
    });
    // The origin the label was read from (SPEC.md 6.4 names the battery by its Digital Link
    // URL; the origin of the scan is signed beside it so a pack cannot move the scan to
    // another resolver). RFC 6454 serialisation: scheme and host, lower case.
    if let (Some(origin), Some(cs)) = (
        scan.url.as_deref().and_then(origin_of),
        payload
            .get_mut("credentialSubject")
            .and_then(Value::as_object_mut),
    ) {
        cs.insert("scannedOrigin".into(), origin.into());
    }
    Ok(payload)
}

/// The JWS signing input `header.payload` for a report signed with the key `kid`: the
/// header is `{"alg":"EdDSA","kid":..,"typ":"vc+jwt"}`, exactly what [`seal_report`] writes.
/// Sign its ASCII bytes with Ed25519 and hand the signature to [`assemble_report`].
pub fn report_signing_input(payload: &Value, kid: &str) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), "EdDSA".into());
    header.insert("kid".into(), kid.into());
    header.insert("typ".into(), Typ::Vc.as_str().into());
    format!(
        "{}.{}",
        b64_encode(Value::Object(header).to_string().as_bytes()),
        b64_encode(payload.to_string().as_bytes())
    )
}

/// The compact report from a signing input and the 64-byte Ed25519 signature over it, checked
/// with strict verification under `public` (the inspector's key) so a broken external signer
/// is caught on the device, not later.
pub fn assemble_report(
    signing_input: &str,
    signature: &[u8],
    public: &PublicKey,
) -> Result<String, Error> {
    if signature.len() != 64 {
        return Err(Error::SignatureInvalid {
            reason: "signature is not 64 bytes",
        });
    }
    let compact = format!("{signing_input}.{}", b64_encode(signature));
    Jws::parse(&compact, Typ::Vc, MAX_REPORT)?.verify(&public.x)?;
    Ok(compact)
}

/// Signs a report payload with the inspector's key in one step (CLI, wasm-held keys).
pub fn seal_report(payload: &Value, key: &KeyPair) -> String {
    sign_json(Typ::Vc, payload, key)
}

/// What a report claims, read from its payload.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportClaims {
    /// The inspector's DID.
    pub issuer: String,
    /// `validFrom`: when it was sealed.
    pub valid_from: u64,
    /// `credentialSubject.id`.
    pub subject: String,
    /// The battery.
    pub link: DigitalLink,
    /// `effectiveTime`: the verdict's time.
    pub effective_time: u64,
    /// The verdict summary ([`verdict_summary`]).
    pub verdict: Value,
    /// Session hints.
    pub hints: Vec<Hint>,
    /// The artifacts named.
    pub evidence: Vec<Evidence>,
    /// `credentialSubject.scannedOrigin`: the origin (`https://host`) of the URL the label
    /// was read from, absent when the credential was scanned without a URL (and in reports
    /// sealed before it was written).
    pub scanned_origin: Option<String>,
}

impl ReportClaims {
    /// Reads a report payload: VC envelope, type `ConformityAttestation`, `attestationType`
    /// `inspection`, subject a Digital Link URL, effective time, verdict object, evidence.
    pub fn from_payload(p: &Map<String, Value>) -> Result<ReportClaims, Error> {
        let (issuer, valid_from) =
            vc_envelope(p, REPORT_TYPE).map_err(|detail| Error::ReportInvalid { detail })?;
        let bad = |detail: String| Error::ReportInvalid { detail };
        let cs = subject(p).ok_or_else(|| bad("credentialSubject is missing".into()))?;
        let o = Obj::new(cs, "credentialSubject");
        let map_err = |e: Error| bad(e.to_string());
        if o.str("attestationType").map_err(map_err)? != INSPECTION {
            return Err(bad("attestationType must be inspection".into()));
        }
        let id = o.str("id").map_err(map_err)?;
        let link = subject_link(id)
            .ok_or_else(|| bad(format!("{id} is not a battery's Digital Link URL")))?;
        let effective_time = parse_rfc3339(o.str("effectiveTime").map_err(map_err)?)
            .map_err(|_| bad("effectiveTime is not an RFC 3339 date-time".into()))?;
        let verdict = Value::Object(o.obj("verdict").map_err(map_err)?.clone());
        let items = o.array("evidence").map_err(map_err)?;
        if items.len() > MAX_EVIDENCE {
            return Err(bad(format!("more than {MAX_EVIDENCE} evidence entries")));
        }
        let evidence = items
            .iter()
            .map(Evidence::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        let hints = match o.opt_array("hints").map_err(map_err)? {
            None => Vec::new(),
            Some(a) if a.len() > MAX_EVIDENCE => {
                return Err(Error::LimitExceeded {
                    what: "credentialSubject.hints",
                    limit: MAX_EVIDENCE,
                })
            }
            Some(a) => a
                .iter()
                .map(|h| {
                    let s = |k: &str| h.get(k).and_then(Value::as_str).map(str::to_owned);
                    match (s("code"), s("message")) {
                        (Some(code), Some(message)) => Ok(Hint { code, message }),
                        _ => Err(bad("hints must be {code, message} objects".into())),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let scanned_origin = o
            .opt_str("scannedOrigin")
            .map_err(map_err)?
            .map(str::to_owned);
        Ok(ReportClaims {
            scanned_origin,
            issuer,
            valid_from,
            subject: id.to_owned(),
            link,
            effective_time,
            verdict,
            hints,
            evidence,
        })
    }
}

/// A report the registry may store (SPEC.md section 6.4). Only [`check_report_upload`]
/// makes one (`#[non_exhaustive]`: no struct literal outside the core).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CheckedReport {
    /// The battery.
    pub link: DigitalLink,
    /// Its Digital Link path (the registry's key).
    pub path: String,
    /// The inspector's DID.
    pub inspector: String,
    /// The inspector's home ecosystem.
    pub eco: String,
    /// Base64url SHA-256 of the compact JWS.
    pub digest: String,
    /// `validFrom`.
    pub valid_from: u64,
    /// The report's claims.
    pub claims: ReportClaims,
}

/// Checks an uploaded report (`POST /v1/reports`): shape, an issuer with role `inspector`
/// whose key was valid at `validFrom` in the registry's trust lists, strict signature, a
/// `validFrom` not in the future of `now` (the registry's clock, with the usual skew).
pub fn check_report_upload(
    compact: &str,
    trust: &TrustStore,
    now: u64,
) -> Result<CheckedReport, Error> {
    let compact = compact.trim();
    let vc = UnverifiedVc::parse(compact, &vc::REPORT)?;
    // The report's own form is judged before its issuer is looked up.
    ReportClaims::from_payload(vc.unverified_payload())?;
    let vc = vc.verify(trust, now)?;
    let claims = ReportClaims::from_payload(vc.payload())?;
    let m = vc.signer;
    if claims.valid_from > now.saturating_add(MAX_CLOCK_SKEW) {
        return Err(Error::NotYetValid {
            iat: claims.valid_from,
            now,
        });
    }
    if claims.effective_time > claims.valid_from.saturating_add(MAX_CLOCK_SKEW) {
        return Err(Error::ReportInvalid {
            detail: "effectiveTime is after validFrom".into(),
        });
    }
    Ok(CheckedReport {
        path: claims.link.path(),
        link: claims.link.clone(),
        inspector: m.entity.id,
        eco: m.eco,
        digest: sha256_b64(compact.as_bytes()),
        valid_from: claims.valid_from,
        claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.3: the thumbprint of the appendix A.2 Ed25519 public key.
    #[test]
    fn thumbprint_matches_rfc_8037() {
        let key = PublicKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}))
        .unwrap();
        assert_eq!(
            jwk_thumbprint(&key),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
