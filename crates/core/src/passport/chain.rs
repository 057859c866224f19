//! The version chain back to the label's `bp.dig` (SPEC.md section 3.1) and the status of a
//! passport version or an attestation (`credentialStatus`, at most `MAX_STATUS_ENTRIES`).

use serde_json::{Map, Value};

use super::attestation::{listings, provenance};
use super::{
    invalid, sha256_b64, subject_link, Committed, PassportChain, PassportCtx, PassportInfo,
    MAX_STATUS_ENTRIES, MAX_VERSIONS,
};
use crate::error::Error;
use crate::json::Obj;
use crate::lifecycle::LifecycleStatus;
use crate::status::Purpose;
use crate::trust::IssuerMatch;
use crate::vc::{self, UnverifiedVc};

pub(super) fn check_chain(
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
        if vc.issuer != cx.iss {
            return Err(Error::PassportIssuerMismatch {
                passport: vc.issuer,
                credential: cx.iss.to_owned(),
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
        if subject_link(id).as_ref() != Some(cx.sub) {
            return Err(Error::PassportSubjectMismatch {
                subject: id.to_owned(),
                battery: cx.sub.path(),
            });
        }
        if !m.entity.owns_gtin(&cx.sub.gtin) {
            return Err(Error::GtinNotIssuer {
                gtin: cx.sub.gtin.clone(),
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
            if let Committed::Label(dig) = cx.committed {
                let dig = dig.ok_or(Error::PassportChainBroken {
                    version: 1,
                    reason: "the label carries no bp.dig to bind a passport to",
                })?;
                if crate::verify::passport_digest(compact) != dig {
                    return Err(Error::DigestMismatch);
                }
            }
        }
        check_status(p, m, cx).map_err(|e| match e {
            Error::Revoked | Error::Suspended | Error::LimitExceeded { .. } => e,
            other => invalid(&other),
        })?;
        // A passport listing more attestations than the limit is refused, not read in part.
        listings(cs)?;
        // Nor is a provenance entry or an identifier that cannot be read skipped.
        provenance(cs)?;
        let pid = meta
            .opt_str("passportIdentifier")
            .map_err(|e| invalid(&e))?
            .map(str::to_owned);
        digests.push(sha256_b64(compact.as_bytes()));
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
            // SPEC.md 3.4: a lifecycle entry is W3C's `message` purpose.
            let purpose = m
                .get("statusPurpose")
                .and_then(Value::as_str)
                .and_then(|s| match s {
                    "message" => Some(Purpose::Lifecycle),
                    s => Purpose::parse(s),
                })
                .ok_or(bad(
                    "statusPurpose must be revocation, suspension, refresh or message",
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
pub(super) fn check_status(
    p: &Map<String, Value>,
    m: &IssuerMatch,
    cx: &PassportCtx<'_>,
) -> Result<bool, Error> {
    let mut all_checked = true;
    for e in status_entries(p)? {
        // Only a list held under the signer's home ecosystem speaks for it (SPEC.md section 5).
        // A list of another purpose than the entry names says nothing for it (its bits mean
        // something else: a lifecycle list's 3 bits are no revocation bit).
        let Some(list) = cx
            .status
            .get(&m.eco, &e.list, cx.trust)
            .filter(|l| l.purpose == e.purpose)
        else {
            all_checked = false;
            continue;
        };
        if e.purpose == Purpose::Lifecycle {
            // SPEC.md 3.4: only `recycled` fails a passport; an undefined value or an
            // index outside the list leaves its lifecycle unknown.
            if list
                .bits
                .get(e.index)
                .ok()
                .and_then(LifecycleStatus::from_value)
                == Some(LifecycleStatus::Recycled)
            {
                return Err(Error::PassportCeased);
            }
            continue;
        }
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
