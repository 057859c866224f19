//! Re-checking a report (SPEC.md section 6.4, `docs/inspection.md`): the inspector first, the
//! verifier's own newer lists, the pack, the verdict recomputed at the report's time, and the
//! evidence the verifier knows to be overtaken.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::evidence::EvidencePack;
use super::report::{
    status_list_id, trust_list_id, verdict_summary, Evidence, Hint, Photo, ReportClaims,
};
use crate::credential::{Credential, Scan};
use crate::error::{Error, Stage};
use crate::jws::{Jws, Typ};
use crate::passport::{sha256_b64, status_entries, PassportChain, MAX_PASSPORT};
use crate::restricted::INSPECTOR_ROLES;
use crate::status::{Purpose, StatusStore};
use crate::time::{format_rfc3339, UnixTime};
use crate::trust::TrustStore;
use crate::vc::{self, UnverifiedVc};
use crate::verdict::{Outcome, StatusState, Verdict};
use crate::verify::{verify, Context, MAX_CLOCK_SKEW};

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
            events: Vec::new(),
            predecessors: Default::default(),
            versions: versions.values().map(|v| v.trim().to_owned()).collect(),
            attestations: attestations.clone(),
        });
        let ctx = Context {
            trust: &ev_trust,
            status: &ev_status,
            now: UnixTime(claims.effective_time),
            passport: None,
            chain: chain.as_ref(),
            did_document: None,
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
pub(super) fn origin_of(url: &str) -> Option<String> {
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
