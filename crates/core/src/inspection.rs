//! Inspection reports and evidence packs (SPEC.md section 6.4, `docs/inspection.md`).
//!
//! An inspector's verdict is sealed as a `vc+jwt` `ConformityAttestation` with
//! `attestationType: "inspection"`: the battery, the effective time, a summary of the verdict
//! and the SHA-256 of every artifact the verdict used (the QR credential, passport versions,
//! attestations, trust lists by `eco` and `seq`, status lists by `id` and `validFrom`, photos).
//! The artifacts themselves travel in an evidence pack beside it. [`verify_report`] re-checks a
//! report later with nothing but the pack, pinned roots and a time: the inspector's signature
//! and enrolment (trust lists from the pack), every artifact's digest, and the verdict
//! recomputed with [`crate::verify`] at the report's effective time, field by field.
//!
//! Pure like the rest of the core: the page seals and checks reports offline with the same
//! code. Signing is split ([`report_signing_input`], [`assemble_report`]) so a key that never
//! leaves WebCrypto can sign; [`seal_report`] signs with a [`KeyPair`] in one step.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::credential::{Credential, Scan};
use crate::error::Error;
use crate::error::Stage;
use crate::gs1::DigitalLink;
use crate::issue::{sign_json, KeyPair};
use crate::json::Obj;
use crate::jws::{b64_decode, b64_encode, Jws, Typ};
use crate::passport::{
    sha256_b64, status_entries, subject, subject_link, vc_envelope, PassportChain, MAX_PASSPORT,
};
use crate::restricted::INSPECTOR_ROLES;
use crate::status::{Purpose, StatusStore, VC_CONTEXT};
use crate::time::{format_rfc3339, parse_rfc3339, UnixTime};
use crate::trust::{PublicKey, TrustList, TrustStore};
use crate::vc::{self, UnverifiedVc};
use crate::verdict::{Outcome, StatusState, Verdict};
use crate::verify::{verify, Context, MAX_CLOCK_SKEW};

/// The VC type of a report (SPEC.md sections 3.3 and 6.4).
pub const REPORT_TYPE: &str = "ConformityAttestation";
/// `credentialSubject.attestationType` of a report.
pub const INSPECTION: &str = "inspection";
/// Largest report, as compact JWS text.
pub const MAX_REPORT: usize = 256 * 1024;
/// Largest evidence pack, as JSON text (status lists are up to 24 MiB each, but a real one,
/// mostly zeros, compresses to a few hundred bytes).
pub const MAX_PACK: usize = 64 * 1024 * 1024;
/// Most evidence entries in a report (and artifacts per kind in a pack).
pub const MAX_EVIDENCE: usize = 1024;
/// Largest photo in a pack, in bytes.
pub const MAX_PHOTO: usize = 8 * 1024 * 1024;
/// The `format` member of an evidence pack.
pub const PACK_FORMAT: &str = "cellproof-evidence-pack/1";

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
fn trust_list_id(jws: &str) -> Result<(String, u64), Error> {
    let j = Jws::parse(jws.trim(), Typ::TrustList, crate::trust::MAX_TRUST_LIST)?;
    let l = TrustList::from_payload(j.unverified_payload())?;
    Ok((l.eco, l.seq))
}

/// `id` and `validFrom` of a status list, read without verifying it.
fn status_list_id(jws: &str) -> Result<(String, u64), Error> {
    let j = Jws::parse(jws.trim(), Typ::Vc, crate::status::MAX_STATUS_LIST)?;
    let o = Obj::new(j.unverified_payload(), "");
    let id = o.str("id")?.to_owned();
    let from = parse_rfc3339(o.str("validFrom")?)?;
    Ok((id, from))
}

/// The verdict as a report records it, and as [`verify_report`] compares it: `overall`,
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
        "@context": [VC_CONTEXT],
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

/// The artifacts themselves, beside the report (`docs/inspection.md`): one JSON file.
/// Artifacts are keyed by the digest the report names them under (passport versions by
/// place, as the chain is ordered), so each is matched to its evidence entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidencePack {
    /// The report (compact JWS), when the pack is the one-file export.
    pub report: Option<String>,
    /// The scanned text.
    pub scan: Option<String>,
    /// Passport versions, oldest first.
    pub versions: Vec<String>,
    /// Attestations by digest.
    pub attestations: BTreeMap<String, String>,
    /// Trust lists by digest.
    pub trust_lists: BTreeMap<String, String>,
    /// Status lists by digest.
    pub status_lists: BTreeMap<String, String>,
    /// Photos by digest.
    pub photos: BTreeMap<String, Photo>,
}

impl EvidencePack {
    /// The pack of a report and the artifacts it was built from.
    pub fn new(report: Option<&str>, artifacts: &Artifacts) -> EvidencePack {
        let by_digest = |items: &[String]| -> BTreeMap<String, String> {
            items
                .iter()
                .map(|t| (sha256_b64(t.trim().as_bytes()), t.trim().to_owned()))
                .collect()
        };
        let (versions, attestations) = match &artifacts.chain {
            Some(c) => (
                c.versions.iter().map(|v| v.trim().to_owned()).collect(),
                c.attestations
                    .values()
                    .map(|a| (sha256_b64(a.trim().as_bytes()), a.trim().to_owned()))
                    .collect(),
            ),
            None => (Vec::new(), BTreeMap::new()),
        };
        EvidencePack {
            report: report.map(|r| r.trim().to_owned()),
            scan: Some(artifacts.scan.trim().to_owned()),
            versions,
            attestations,
            trust_lists: by_digest(&artifacts.trust_lists),
            status_lists: by_digest(&artifacts.status_lists),
            photos: artifacts
                .photos
                .iter()
                .map(|p| (sha256_b64(&p.bytes), p.clone()))
                .collect(),
        }
    }

    /// The pack's JSON (`docs/inspection.md`).
    pub fn to_json(&self) -> String {
        let photos: Map<String, Value> = self
            .photos
            .iter()
            .map(|(d, p)| {
                (
                    d.clone(),
                    json!({"mediaType": p.media_type, "data": b64_encode(&p.bytes)}),
                )
            })
            .collect();
        let mut v = json!({
            "format": PACK_FORMAT,
            "passport": {"versions": self.versions, "attestations": self.attestations},
            "trustLists": self.trust_lists,
            "statusLists": self.status_lists,
            "photos": photos,
        });
        if let Some(o) = v.as_object_mut() {
            if let Some(r) = &self.report {
                o.insert("report".into(), r.clone().into());
            }
            if let Some(s) = &self.scan {
                o.insert("scan".into(), s.clone().into());
            }
        }
        v.to_string()
    }

    /// Reads a pack: strict JSON (no duplicate members at any depth), the `format`, strings
    /// where artifacts go, bounded counts and sizes.
    pub fn from_json(text: &str) -> Result<EvidencePack, Error> {
        if text.len() > MAX_PACK {
            return Err(Error::InputTooLarge {
                what: "evidence pack",
                limit: MAX_PACK,
            });
        }
        let map = crate::json::parse_object(text.as_bytes())?;
        let bad = |detail: &str| Error::EvidencePackInvalid {
            detail: detail.to_owned(),
        };
        let o = Obj::new(&map, "");
        let map_err = |e: Error| Error::EvidencePackInvalid {
            detail: e.to_string(),
        };
        if o.str("format").map_err(map_err)? != PACK_FORMAT {
            return Err(bad("format must be cellproof-evidence-pack/1"));
        }
        let strings = |m: Option<&Map<String, Value>>, what: &str| {
            let mut out = BTreeMap::new();
            let Some(m) = m else { return Ok(out) };
            if m.len() > MAX_EVIDENCE {
                return Err(bad(&format!(
                    "{what} holds more than {MAX_EVIDENCE} entries"
                )));
            }
            for (k, v) in m {
                let s = v
                    .as_str()
                    .ok_or_else(|| bad(&format!("{what} must map digests to compact JWS")))?;
                out.insert(k.clone(), s.to_owned());
            }
            Ok(out)
        };
        let (versions, attestations) = match o.opt_obj("passport").map_err(map_err)? {
            None => (Vec::new(), BTreeMap::new()),
            Some(p) => {
                let po = Obj::new(p, "passport");
                let versions = match po.opt_array("versions").map_err(map_err)? {
                    None => Vec::new(),
                    Some(a) if a.len() > MAX_EVIDENCE => {
                        return Err(bad("passport.versions holds too many versions"))
                    }
                    Some(a) => a
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| bad("passport.versions must hold compact JWS"))?,
                };
                let att = strings(
                    po.opt_obj("attestations").map_err(map_err)?,
                    "passport.attestations",
                )?;
                (versions, att)
            }
        };
        let mut photos = BTreeMap::new();
        if let Some(m) = o.opt_obj("photos").map_err(map_err)? {
            if m.len() > MAX_EVIDENCE {
                return Err(bad("photos holds too many photos"));
            }
            for (k, v) in m {
                let p = v
                    .as_object()
                    .ok_or_else(|| bad("photos must map digests to {mediaType, data}"))?;
                let po = Obj::new(p, "photos");
                let data = po.str("data").map_err(map_err)?;
                if data.len() > MAX_PHOTO.saturating_mul(4) / 3 + 4 {
                    return Err(bad("a photo is larger than 8 MiB"));
                }
                let bytes =
                    b64_decode(data, "payload").map_err(|_| bad("photo data is not base64url"))?;
                photos.insert(
                    k.clone(),
                    Photo {
                        media_type: po.str("mediaType").map_err(map_err)?.to_owned(),
                        bytes,
                    },
                );
            }
        }
        Ok(EvidencePack {
            report: o.opt_str("report").map_err(map_err)?.map(str::to_owned),
            scan: o.opt_str("scan").map_err(map_err)?.map(str::to_owned),
            versions,
            attestations,
            trust_lists: strings(o.opt_obj("trustLists").map_err(map_err)?, "trustLists")?,
            status_lists: strings(o.opt_obj("statusLists").map_err(map_err)?, "statusLists")?,
            photos,
        })
    }
}

/// One problem found by [`verify_report`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Stable code (`docs/error-codes.md`).
    pub code: &'static str,
    /// English sentence.
    pub message: String,
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        Problem {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The inspector as [`verify_report`] found it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InspectorInfo {
    /// DID.
    pub id: String,
    /// Display name from the trust list.
    pub name: String,
    /// Home ecosystem.
    pub eco: String,
    /// Trust path ("catena-x").
    pub path: String,
    /// The key id that signed.
    pub kid: String,
}

/// One list of a report's evidence that the verifier holds a newer version of.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StaleEvidence {
    /// `trust_list` or `status_list`.
    pub kind: &'static str,
    /// The ecosystem (trust list) or the list URL (status list).
    pub id: String,
    /// The evidence's `seq` or `validFrom` (Unix seconds).
    pub evidence: u64,
    /// The held list's `seq` or `validFrom`.
    pub held: u64,
}

/// The outcome of [`verify_report`], which alone makes one:
///
/// ```compile_fail,E0639
/// let forged = cellproof_core::ReportCheck {
///     stands: true,
///     problems: Vec::new(),
///     notes: Vec::new(),
///     inspector: None,
///     subject: None,
///     valid_from: None,
///     effective_time: None,
///     reported: None,
///     recomputed: None,
///     hints: Vec::new(),
///     stale: Vec::new(),
///     digest: None,
/// };
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ReportCheck {
    /// Signature, enrolment, every artifact and the recomputed verdict all hold.
    pub stands: bool,
    /// Everything that does not hold, in the order found.
    pub problems: Vec<Problem>,
    /// Observations that do not fail the report (artifacts in the pack the report does not
    /// name, lists the verifier's roots do not accept but the verdict did not need).
    pub notes: Vec<Problem>,
    /// The inspector, when found with role `inspector` in an accepted trust list.
    pub inspector: Option<InspectorInfo>,
    /// `credentialSubject.id`.
    pub subject: Option<String>,
    /// `validFrom`.
    #[serde(rename = "validFrom")]
    pub valid_from: Option<u64>,
    /// `effectiveTime`.
    #[serde(rename = "effectiveTime")]
    pub effective_time: Option<u64>,
    /// The report's verdict summary.
    pub reported: Option<Value>,
    /// The verdict recomputed from the evidence (only when every artifact is present and
    /// matches: recomputing from other data than the inspector's says nothing).
    pub recomputed: Option<Value>,
    /// The session hints the report carries.
    pub hints: Vec<Hint>,
    /// Evidence older than what the verifier holds: each trust list (by `eco`, `seq`) and
    /// status list (by `id`, `validFrom`) of the report for which the verifier holds a newer
    /// one. Named, not refused by itself; a status the newer list contradicts is a problem.
    pub stale: Vec<StaleEvidence>,
    /// Base64url SHA-256 of the report.
    pub digest: Option<String>,
}

impl ReportCheck {
    fn problem(&mut self, e: &Error) {
        self.problems.push(e.into());
    }
}

/// Re-checks a report (SPEC.md section 6.4) against the pack and against what the verifier
/// itself holds (`trust`: its pinned roots and synced trust lists; `status`: its synced status
/// lists), in this order, cheapest and most decisive first:
///
/// 1. shape and times (`validFrom` not in the verifier's future, `effectiveTime` not after it);
/// 2. the inspector: an entity with role `inspector`, key valid at `validFrom`, in a trust
///    list of the pack accepted under the verifier's pins and fresh at the effective time, and
///    the strict signature under that key. When this fails the check ends here: no other
///    artifact is hashed and no verdict recomputed for a report nobody vouches for;
/// 3. the inspector again in the verifier's own trust list of its home ecosystem when that one
///    is newer (higher `seq`) than the evidence's: a removed key or role there refuses the
///    report (`report_inspector_withdrawn`), so a removed inspector cannot seal with an older,
///    unexpired list;
/// 4. every artifact the report names against the pack (`report_artifact_missing`,
///    `report_digest_mismatch`, a photo's media type, the scanned origin);
/// 5. the verdict recomputed from the pack's artifacts alone at the report's effective time,
///    each differing field a `report_verdict_differs`;
/// 6. evidence older than what the verifier holds: each such list is named in
///    [`ReportCheck::stale`] (a note), and a status the newer held list contradicts (revoked
///    or suspended now where the evidence said otherwise) is a `report_evidence_stale` problem.
///
/// `now` is the verifier's time. Pure: the page runs the same check.
pub fn verify_report(
    report: &str,
    pack: Option<&EvidencePack>,
    trust: &TrustStore,
    status: &StatusStore,
    now: UnixTime,
) -> ReportCheck {
    let report = report.trim();
    let mut out = ReportCheck {
        stands: false,
        problems: Vec::new(),
        notes: Vec::new(),
        inspector: None,
        subject: None,
        valid_from: None,
        effective_time: None,
        reported: None,
        recomputed: None,
        hints: Vec::new(),
        stale: Vec::new(),
        digest: Some(sha256_b64(report.as_bytes())),
    };
    let vc = match UnverifiedVc::parse(report, &vc::REPORT) {
        Ok(v) => v,
        Err(e) => {
            out.problem(&e);
            return out;
        }
    };
    let claims = match ReportClaims::from_payload(vc.unverified_payload()) {
        Ok(c) => c,
        Err(e) => {
            out.problem(&e);
            return out;
        }
    };
    out.subject = Some(claims.subject.clone());
    out.valid_from = Some(claims.valid_from);
    out.effective_time = Some(claims.effective_time);
    out.reported = Some(claims.verdict.clone());
    out.hints = claims.hints.clone();
    if claims.valid_from > now.secs().saturating_add(MAX_CLOCK_SKEW) {
        out.problem(&Error::NotYetValid {
            iat: claims.valid_from,
            now: now.secs(),
        });
    }
    if claims.effective_time > claims.valid_from.saturating_add(MAX_CLOCK_SKEW) {
        out.problem(&Error::ReportInvalid {
            detail: "effectiveTime is after validFrom".into(),
        });
    }
    let empty = EvidencePack::default();
    let pack = match pack {
        Some(p) => p,
        None => {
            out.problem(&Error::ReportArtifactMissing {
                artifact: "the evidence pack (trust lists to find the inspector, artifacts to recompute the verdict)".into(),
            });
            &empty
        }
    };
    // Trust: the verifier's pins and the trust lists the report names, as the pack holds them
    // (only those whose digest is the named one; the rest are checked in step 4).
    let mut ev_trust = trust.pins_only();
    let named_lists: Vec<&str> = claims
        .evidence
        .iter()
        .filter(|ev| matches!(ev, Evidence::TrustList { .. }))
        .filter_map(|ev| pack.trust_lists.get(ev.digest()))
        .map(|t| t.trim())
        .filter(|t| named_digest(&claims.evidence, &sha256_b64(t.as_bytes())))
        .collect();
    for (r, l) in ev_trust
        .insert_all(named_lists.iter().copied())
        .iter()
        .zip(&named_lists)
    {
        if let Err(e) = r {
            let (eco, seq) = trust_list_id(l).unwrap_or_default();
            out.notes.push(Problem {
                code: e.code(),
                message: format!("trust list {eco} seq {seq} not accepted: {e}"),
            });
        }
    }
    // The inspector: role `inspector`, key valid when the report was sealed, lists fresh at
    // the effective time, and the signature; nothing else is worth checking without them.
    let kid = vc.kid().to_owned();
    let m = match vc.verify(&ev_trust, claims.effective_time) {
        Ok(v) => v.signer,
        Err(e) => {
            out.problem(&e);
            return out;
        }
    };
    // The verifier's own list of the inspector's home ecosystem, when newer than the
    // evidence's, must still enrol the key (judged at that list's own issue time, so a held
    // list past its `exp` still speaks for what it removed).
    let ev_seq = ev_trust.list(&m.eco).map_or(0, |l| l.seq);
    if let Some(held) = trust.list(&m.eco).filter(|l| l.seq > ev_seq) {
        if let Err(e) = trust
            .resolve(
                &claims.issuer,
                &kid,
                claims.valid_from,
                &INSPECTOR_ROLES,
                held.iat,
            )
            .result
        {
            out.problem(&Error::ReportInspectorWithdrawn {
                eco: m.eco.clone(),
                held_seq: held.seq,
                evidence_seq: ev_seq,
                reason: e.to_string(),
            });
        }
    }
    out.inspector = Some(InspectorInfo {
        id: m.entity.id,
        name: m.entity.name,
        eco: m.eco,
        path: m.path,
        kid,
    });
    if let Some(r) = &pack.report {
        if r.trim() != report {
            out.problem(&Error::ReportDigestMismatch {
                artifact: "the pack's report".into(),
                expected: sha256_b64(report.as_bytes()),
                got: sha256_b64(r.trim().as_bytes()),
            });
        }
    }
    let mut complete = true;
    // Each evidence entry against the pack.
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut status_lists: Vec<(u64, &str)> = Vec::new();
    let mut versions: BTreeMap<u64, &str> = BTreeMap::new();
    let mut attestations: BTreeMap<String, String> = BTreeMap::new();
    let mut scan: Option<&str> = None;
    let mut credentials = 0usize;
    for ev in &claims.evidence {
        let digest = ev.digest();
        named.insert(digest.to_owned());
        let held: Option<Result<&str, &Photo>> = match ev {
            Evidence::Credential { .. } => pack.scan.as_deref().map(Ok),
            Evidence::Passport { version, .. } => usize::try_from(version.saturating_sub(1))
                .ok()
                .filter(|_| *version > 0)
                .and_then(|i| pack.versions.get(i))
                .map(|s| Ok(s.as_str())),
            Evidence::Attestation { .. } => pack.attestations.get(digest).map(|s| Ok(s.as_str())),
            Evidence::TrustList { .. } => pack.trust_lists.get(digest).map(|s| Ok(s.as_str())),
            Evidence::StatusList { .. } => pack.status_lists.get(digest).map(|s| Ok(s.as_str())),
            Evidence::Photo { .. } => pack.photos.get(digest).map(Err),
        };
        let Some(held) = held else {
            complete = false;
            out.problem(&Error::ReportArtifactMissing {
                artifact: ev.describe(),
            });
            continue;
        };
        let got = match (&held, ev) {
            (Err(photo), _) => sha256_b64(&photo.bytes),
            // The credential's digest is over its compact JWS, wherever it was scanned from.
            (Ok(text), Evidence::Credential { .. }) => match Scan::parse(text) {
                Ok(s) => sha256_b64(s.compact.as_bytes()),
                Err(_) => sha256_b64(text.trim().as_bytes()),
            },
            (Ok(text), _) => sha256_b64(text.trim().as_bytes()),
        };
        if got != digest {
            complete = false;
            out.problem(&Error::ReportDigestMismatch {
                artifact: ev.describe(),
                expected: digest.to_owned(),
                got,
            });
            continue;
        }
        // The same bytes, so the description must be theirs too: a trust list's eco and seq,
        // a status list's id and validFrom, and a photo's media type (the report signs it, so
        // a pack cannot make a viewer read the same bytes as another type).
        let described = match (ev, &held) {
            (Evidence::TrustList { eco, seq, .. }, Ok(text)) => {
                trust_list_id(text).ok() == Some((eco.clone(), *seq))
            }
            (Evidence::StatusList { id, valid_from, .. }, Ok(text)) => {
                status_list_id(text).ok() == Some((id.clone(), *valid_from))
            }
            (Evidence::Photo { media_type, .. }, Err(photo)) => photo.media_type == *media_type,
            _ => true,
        };
        if !described {
            complete = false;
            out.problem(&Error::ReportDigestMismatch {
                artifact: ev.describe(),
                expected: ev.describe(),
                got: "an artifact that says otherwise".into(),
            });
            continue;
        }
        let Ok(text) = held else { continue };
        match ev {
            Evidence::Credential { .. } => {
                credentials = credentials.saturating_add(1);
                scan = Some(text);
            }
            Evidence::Passport { version, .. } => {
                versions.insert(*version, text);
            }
            Evidence::Attestation { digest } => {
                attestations.insert(digest.clone(), text.trim().to_owned());
            }
            Evidence::StatusList { valid_from, .. } => status_lists.push((*valid_from, text)),
            Evidence::TrustList { .. } | Evidence::Photo { .. } => {}
        }
    }
    if credentials != 1 {
        complete = false;
        out.problem(&Error::ReportInvalid {
            detail: "the evidence must name exactly one QR credential".into(),
        });
    }
    let unnamed = pack
        .trust_lists
        .keys()
        .chain(pack.status_lists.keys())
        .chain(pack.attestations.keys())
        .chain(pack.photos.keys())
        .filter(|d| !named.contains(*d))
        .count();
    if unnamed > 0 {
        out.notes.push(Problem {
            code: "evidence_unnamed",
            message: format!(
                "the pack holds {unnamed} artifacts the report does not name; they were not used"
            ),
        });
    }
    // The battery of the evidence must be the report's, read from the origin it names.
    if let Some(text) = scan {
        if let Ok(s) = Scan::parse(text) {
            if let Ok(c) = Credential::from_payload(s.jws.unverified_payload()) {
                if c.sub != claims.link {
                    out.problem(&Error::ReportSubjectMismatch {
                        subject: claims.subject.clone(),
                        battery: c.sub.path(),
                    });
                }
            }
            let origin = s.url.as_deref().and_then(origin_of);
            match (&claims.scanned_origin, origin) {
                (Some(signed), got) if got.as_deref() != Some(signed.as_str()) => {
                    out.problem(&Error::ReportDigestMismatch {
                        artifact: "the scanned origin".into(),
                        expected: signed.clone(),
                        got: got.unwrap_or_else(|| "a scan without a URL".to_owned()),
                    });
                }
                (None, Some(got)) => out.notes.push(Problem {
                    code: "scanned_origin_unbound",
                    message: format!(
                        "the report does not name the origin the label was read from; the pack says {got}"
                    ),
                }),
                _ => {}
            }
        }
    }
    // The verdict, recomputed from the evidence alone at the report's effective time.
    let chain_ok = versions
        .keys()
        .copied()
        .eq((1..).take(versions.len()).map(|n: u64| n));
    if !chain_ok {
        complete = false;
        out.problem(&Error::ReportInvalid {
            detail: "the passport versions named are not 1 to n".into(),
        });
    }
    let mut recomputed_verdict = None;
    if let (true, Some(text)) = (complete, scan) {
        let mut ev_status = StatusStore::new();
        status_lists.sort_by_key(|(from, _)| *from);
        for (_, l) in &status_lists {
            if let Err(e) = ev_status.insert(l, &ev_trust) {
                out.notes.push(Problem {
                    code: e.code(),
                    message: format!("a status list was not accepted: {e}"),
                });
            }
        }
        let chain = (!versions.is_empty()).then(|| PassportChain {
            versions: versions.values().map(|v| v.trim().to_owned()).collect(),
            attestations: attestations.clone(),
        });
        let ctx = Context {
            trust: &ev_trust,
            status: &ev_status,
            now: UnixTime(claims.effective_time),
            passport: None,
            chain: chain.as_ref(),
        };
        let v = verify(text, &ctx);
        if v.now != claims.effective_time {
            out.problem(&Error::ReportVerdictDiffers {
                field: "effectiveTime".into(),
                reported: claims.effective_time.to_string(),
                recomputed: v.now.to_string(),
            });
        }
        let recomputed = verdict_summary(&v);
        let mut diffs = Vec::new();
        diff("", &claims.verdict, &recomputed, &mut diffs);
        if diffs.len() > MAX_DIFFS {
            diffs.truncate(MAX_DIFFS);
            out.problem(&Error::LimitExceeded {
                what: "the verdict's differing fields (the first are named)",
                limit: MAX_DIFFS,
            });
        }
        for (field, reported, recomputed) in diffs {
            out.problem(&Error::ReportVerdictDiffers {
                field,
                reported,
                recomputed,
            });
        }
        out.recomputed = Some(recomputed);
        recomputed_verdict = Some(v);
    }
    stale_evidence(
        &claims,
        recomputed_verdict.as_ref(),
        &versions,
        trust,
        status,
        &mut out,
    );
    out.stands = out.problems.is_empty();
    out
}

/// Whether `digest` is the digest of a trust list the evidence names.
fn named_digest(evidence: &[Evidence], digest: &str) -> bool {
    evidence
        .iter()
        .any(|ev| matches!(ev, Evidence::TrustList { .. }) && ev.digest() == digest)
}

/// The origin (`scheme://host[:port]`) of a URL, lower-cased as RFC 6454 compares it.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .filter(|h| !h.is_empty())?;
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    ))
}

/// Step 6 of [`verify_report`]: each trust list and status list of the evidence older than the
/// one the verifier holds is named (a note and an entry of [`ReportCheck::stale`]); a status
/// bit of the label's credential or a passport version that a newer held list sets, where the
/// recomputed verdict found it clear, is a `report_evidence_stale` problem: the report stands
/// on evidence its verifier knows to be overtaken.
fn stale_evidence(
    claims: &ReportClaims,
    v: Option<&Verdict>,
    versions: &BTreeMap<u64, &str>,
    trust: &TrustStore,
    status: &StatusStore,
    out: &mut ReportCheck,
) {
    for ev in &claims.evidence {
        match ev {
            Evidence::TrustList { eco, seq, .. } => {
                if let Some(held) = trust.list(eco).filter(|l| l.seq > *seq) {
                    out.stale.push(StaleEvidence {
                        kind: "trust_list",
                        id: eco.clone(),
                        evidence: *seq,
                        held: held.seq,
                    });
                }
            }
            Evidence::StatusList { id, valid_from, .. } => {
                let held = status
                    .lists()
                    .filter(|l| l.id == *id && status.get(&l.eco, &l.id, trust).is_some())
                    .map(|l| l.valid_from)
                    .max();
                if let Some(held) = held.filter(|h| h > valid_from) {
                    out.stale.push(StaleEvidence {
                        kind: "status_list",
                        id: id.clone(),
                        evidence: *valid_from,
                        held,
                    });
                }
            }
            _ => {}
        }
    }
    for s in &out.stale {
        let (what, ev, held) = if s.kind == "trust_list" {
            (
                format!("trust list {}", s.id),
                format!("seq {}", s.evidence),
                format!("seq {}", s.held),
            )
        } else {
            (
                format!("status list {}", s.id),
                format!("validFrom {}", format_rfc3339(s.evidence)),
                format!("validFrom {}", format_rfc3339(s.held)),
            )
        };
        out.notes.push(Problem {
            code: "report_evidence_stale",
            message: format!("{what}: the evidence has {ev}, the verifier holds {held}"),
        });
    }
    // The statuses the evidence decided, read again in the newer held lists.
    let Some(v) = v else { return };
    let Some(eco) = v.issuer.as_ref().map(|i| i.eco.as_str()) else {
        return;
    };
    let mut entries: Vec<(Purpose, String, u64)> = v
        .status
        .iter()
        .filter(|s| !matches!(s.state, StatusState::Revoked | StatusState::Suspended))
        .map(|s| (s.purpose, s.list.clone(), s.index))
        .collect();
    // The passport versions' entries only when the evidence found the passport good: a
    // passport already failed (revoked, say) is what the report said, not contradicted.
    let passport_passed = v
        .stages
        .iter()
        .any(|s| s.stage == Stage::Passport && s.outcome == Outcome::Passed);
    for text in versions.values().filter(|_| passport_passed) {
        if let Ok(j) = Jws::parse(text.trim(), Typ::Vc, MAX_PASSPORT) {
            if let Ok(es) = status_entries(j.unverified_payload()) {
                entries.extend(es.into_iter().map(|e| (e.purpose, e.list, e.index)));
            }
        }
    }
    for (purpose, list, index) in entries {
        if !matches!(purpose, Purpose::Revocation | Purpose::Suspension) {
            continue;
        }
        let Some(s) = out
            .stale
            .iter()
            .find(|s| s.kind == "status_list" && s.id == list)
        else {
            continue;
        };
        let (evidence, held_from) = (s.evidence, s.held);
        let set = status
            .get(eco, &list, trust)
            .is_some_and(|l| l.bits.get(index).is_ok_and(|b| b != 0));
        if set {
            let now = if purpose == Purpose::Revocation {
                "revoked"
            } else {
                "suspended"
            };
            out.problems.push(
                (&Error::ReportEvidenceStale {
                    artifact: format!("status list {list}"),
                    detail: format!(
                        "index {index} is {now} in the list the verifier holds (validFrom {}), newer than the evidence's (validFrom {})",
                        format_rfc3339(held_from),
                        format_rfc3339(evidence)
                    ),
                })
                    .into(),
            );
        }
    }
}

/// Most differing fields [`verify_report`] names one by one; past it, one more problem says
/// how the rest was cut (the report fails either way).
pub const MAX_DIFFS: usize = 256;

/// Field-by-field differences between two JSON values, with dotted paths (`stages.status.code`,
/// `attestations[2].outcome`). At most [`MAX_DIFFS`] plus one are collected; the caller names
/// the cut.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, String, String)>) {
    if out.len() > MAX_DIFFS {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (
                    x.get(k.as_str()).unwrap_or(&Value::Null),
                    y.get(k.as_str()).unwrap_or(&Value::Null),
                );
                diff(&join(k), va, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if a == b => {}
        _ => out.push((path.to_owned(), a.to_string(), b.to_string())),
    }
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
