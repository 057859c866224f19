//! Checking an exported copy of the audit log without trusting the registry's disk
//! (`cellproof-server audit verify`): every hash link from the first entry, then the head the
//! registry signed with its status authority key (`GET /v1/audit/head`, `audit-head+jwt`),
//! with the key taken from a trust list accepted under a pinned root. Someone who rewrote
//! the database can recompute every hash; they cannot sign a head that matches.

use cellproof_core::{Jws, TrustStore, Typ};
use serde_json::Value;

use crate::store::chain_hash;

/// Largest signed head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// What a successful check established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: usize,
    /// The sequence number the signed head vouches for.
    pub head_seq: i64,
    /// When the head was signed.
    pub head_iat: u64,
    /// The registry named in the head.
    pub registry: String,
    /// The status authority that signed it.
    pub authority: String,
    /// Entries after the head (appended after it was signed): linked, but not yet vouched for.
    pub unsigned_tail: usize,
}

/// Why a copy fails the check, each with the sentence an auditor reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditError {
    /// The log file is not the JSON `GET /v1/audit` answers.
    LogUnreadable(String),
    /// The copy does not start at sequence number 1.
    NotFromStart {
        /// The first sequence number found.
        first: i64,
    },
    /// A sequence number is missing.
    Gap {
        /// The last entry before the gap.
        after: i64,
        /// The entry found next.
        found: i64,
    },
    /// An entry's content does not give its hash.
    HashMismatch {
        /// The entry.
        seq: i64,
    },
    /// The head is not a valid `audit-head+jwt` signed by the authority.
    HeadInvalid(String),
    /// The head vouches for more entries than the copy holds.
    HeadBeyondLog {
        /// The head's sequence number.
        head_seq: i64,
        /// The copy's last one.
        last: i64,
    },
    /// The head's hash differs from the copy's hash at the same sequence number.
    HeadMismatch {
        /// The sequence number.
        seq: i64,
    },
}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditError::LogUnreadable(why) => {
                write!(f, "the log copy is not an audit export: {why}")
            }
            AuditError::NotFromStart { first } => write!(
                f,
                "the log copy starts at entry {first}, not 1: export it from the beginning"
            ),
            AuditError::Gap { after, found } => write!(
                f,
                "entry {} is missing (entry {after} is followed by entry {found}): rows were \
                 deleted",
                after.saturating_add(1)
            ),
            AuditError::HashMismatch { seq } => write!(
                f,
                "entry {seq} does not match its hash link: the row was edited"
            ),
            AuditError::HeadInvalid(why) => write!(f, "the signed head is not valid: {why}"),
            AuditError::HeadBeyondLog { head_seq, last } => write!(
                f,
                "the signed head vouches for {head_seq} entries but the copy ends at entry \
                 {last}: rows were deleted from the end"
            ),
            AuditError::HeadMismatch { seq } => write!(
                f,
                "the signed head's hash differs from the copy's at entry {seq}: the log was \
                 rewritten"
            ),
        }
    }
}

impl std::error::Error for AuditError {}

struct Row {
    seq: i64,
    hash: String,
}

fn rows(log: &Value) -> Result<Vec<Row>, AuditError> {
    let entries = match log {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get("entries")
            .and_then(Value::as_array)
            .ok_or_else(|| AuditError::LogUnreadable("no \"entries\" array".into()))?,
        _ => return Err(AuditError::LogUnreadable("not a JSON object".into())),
    };
    let mut out = Vec::with_capacity(entries.len());
    let mut prev = String::new();
    let mut last: Option<i64> = None;
    for e in entries {
        let text = |k: &str| {
            e.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| AuditError::LogUnreadable(format!("an entry has no string {k}")))
        };
        let seq = e
            .get("seq")
            .and_then(Value::as_i64)
            .ok_or_else(|| AuditError::LogUnreadable("an entry has no seq".into()))?;
        let at = e
            .get("at")
            .and_then(Value::as_u64)
            .ok_or_else(|| AuditError::LogUnreadable(format!("entry {seq} has no at")))?;
        let detail = e
            .get("detail")
            .ok_or_else(|| AuditError::LogUnreadable(format!("entry {seq} has no detail")))?;
        match last {
            None if seq != 1 => return Err(AuditError::NotFromStart { first: seq }),
            Some(l) if Some(seq) != l.checked_add(1) => {
                return Err(AuditError::Gap {
                    after: l,
                    found: seq,
                })
            }
            _ => {}
        }
        let hash = text("hash")?;
        let want = chain_hash(
            &prev,
            seq,
            at,
            text("actor")?,
            text("action")?,
            &detail.to_string(),
            text("digest")?,
        );
        if want != hash {
            return Err(AuditError::HashMismatch { seq });
        }
        prev = hash.to_owned();
        last = Some(seq);
        out.push(Row {
            seq,
            hash: hash.to_owned(),
        });
    }
    Ok(out)
}

/// Checks an exported log (`{"entries": [...]}` or the bare array) against a signed head,
/// with the authority's keys from the trust lists `trust` accepted under its pinned roots.
pub fn verify_audit(
    log: &Value,
    head: &str,
    trust: &TrustStore,
) -> Result<AuditReport, AuditError> {
    let rows = rows(log)?;
    let jws = Jws::parse(head.trim(), Typ::AuditHead, MAX_HEAD)
        .map_err(|e| AuditError::HeadInvalid(e.to_string()))?;
    let p = jws.unverified_payload();
    let iss = p
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| AuditError::HeadInvalid("it names no iss".into()))?
        .to_owned();
    let kid = jws.header().kid.clone();
    // The authority's keys as listed by the lists of pinned ecosystems.
    let keys: Vec<[u8; 32]> = trust
        .pinned()
        .filter_map(|eco| trust.list(eco))
        .flat_map(|l| l.authorities.iter())
        .filter(|a| a.id == iss)
        .flat_map(|a| a.keys.iter())
        .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
        .map(|k| k.x)
        .collect();
    if keys.is_empty() {
        return Err(AuditError::HeadInvalid(format!(
            "no trust list accepted under the pinned roots lists the authority {iss} with key \
             {kid}"
        )));
    }
    let verified = keys
        .iter()
        .find_map(|k| jws.clone().verify(k).ok())
        .ok_or_else(|| {
            AuditError::HeadInvalid(format!(
                "the signature does not verify under {iss}'s key {kid}: the head is forged"
            ))
        })?;
    let p = verified.payload();
    let seq = p
        .get("seq")
        .and_then(Value::as_i64)
        .ok_or_else(|| AuditError::HeadInvalid("it has no seq".into()))?;
    let hash = p
        .get("hash")
        .and_then(Value::as_str)
        .ok_or_else(|| AuditError::HeadInvalid("it has no hash".into()))?;
    let last = rows.last().map_or(0, |r| r.seq);
    if seq > last {
        return Err(AuditError::HeadBeyondLog {
            head_seq: seq,
            last,
        });
    }
    let at_head = rows
        .iter()
        .find(|r| r.seq == seq)
        .map_or("", |r| r.hash.as_str());
    if at_head != hash {
        return Err(AuditError::HeadMismatch { seq });
    }
    Ok(AuditReport {
        entries: rows.len(),
        head_seq: seq,
        head_iat: p.get("iat").and_then(Value::as_u64).unwrap_or(0),
        registry: p
            .get("registry")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        authority: iss,
        unsigned_tail: rows.iter().filter(|r| r.seq > seq).count(),
    })
}

/// `cellproof-server audit verify`: reads the files (log pages in order), pins the roots,
/// accepts the trust lists, checks the copy. `Err` is a usage or I/O problem; `Ok(Err)` a copy that fails the check.
pub fn verify_files(
    logs: &[std::path::PathBuf],
    head: &std::path::Path,
    trust_lists: &[std::path::PathBuf],
    roots: &[String],
) -> anyhow::Result<Result<AuditReport, AuditError>> {
    use anyhow::Context as _;
    let mut trust = TrustStore::new();
    for r in roots {
        let (eco, file) = r
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--root {r}: expected eco=FILE"))?;
        let jwk: Value = serde_json::from_slice(
            &std::fs::read(file).with_context(|| format!("reading {file}"))?,
        )
        .with_context(|| format!("{file} is not JSON"))?;
        let pk = cellproof_core::PublicKey::from_jwk(&jwk)
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        trust.pin_root(eco, &pk);
    }
    let texts: Vec<String> = trust_lists
        .iter()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
        .collect::<anyhow::Result<_>>()?;
    for (r, p) in trust
        .insert_all(texts.iter().map(|t| t.trim()))
        .into_iter()
        .zip(trust_lists)
    {
        r.map_err(|e| anyhow::anyhow!("trust list {}: {e}", p.display()))?;
    }
    let mut entries = Vec::new();
    for path in logs {
        let page: Value = serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not JSON", path.display()))?;
        match page {
            Value::Object(mut o) => match o.remove("entries") {
                Some(Value::Array(a)) => entries.extend(a),
                _ => anyhow::bail!("{}: no \"entries\" array", path.display()),
            },
            Value::Array(a) => entries.extend(a),
            _ => anyhow::bail!("{}: not an audit export", path.display()),
        }
    }
    let log = Value::Array(entries);
    let head =
        std::fs::read_to_string(head).with_context(|| format!("reading {}", head.display()))?;
    Ok(verify_audit(&log, &head, &trust))
}
