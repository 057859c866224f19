//! Inspectors and other readers (SPEC.md sections 6.3 and 6.4): restricted sections uploaded
//! by the passport's issuer, reads of them by enrolled readers, and inspection reports.
//!
//! A reader is a trust-list entity with role `inspector` (both tiers), `recycler` or `repairer`
//! (the legitimate-interest tier: the core's `readable_tiers`), enrolled by its ecosystem's
//! root like any entity: the registry keeps no reader accounts of its own. A request is
//! authenticated in the requester's one home ecosystem (an onboarded issuer's binding, else
//! the core's one-home rule over the accepted lists), outside the registry mutex, whatever its
//! role; a reader whose list this registry accepts only by recognition reads nothing here.
//! From then on every outcome, the sections or reports answered and every refusal, is
//! appended to the audit log (`restricted.read`, `restricted.refused`, `report.read`,
//! `report.refused`) in the same transaction as the request's `jti`, before the answer leaves.

use cellproof_core::{
    readable_tiers, CheckedReport, CheckedRestricted, DigitalLink, Error as CoreError, Expect, Op,
    Operation, ParsedRequest, Tier, TrustStore, INSPECTOR_ROLES,
};
use serde::Serialize;
use serde_json::{json, Value};

use super::issuer::{malformed, verify_error};
use super::{digest_hex, Gate, PassportAck, Registry};
use crate::errors::{ReadError, UpdateError, UploadError};
use crate::store::{Batch, JtiRow, NewAudit, ReportRow, RestrictedRow, StoreError};

/// Every role a trust-list entity may hold: a read is authenticated whatever the requester's
/// role, so that a refusal for the role is a refusal of a known requester, and audited.
const ANY_ROLE: [&str; 7] = [
    "inspector",
    "recycler",
    "repairer",
    "manufacturer",
    "operator",
    "certifier",
    "authority",
];

/// A read request whose envelope, signature and trust are checked (its role, tier and item
/// are not: those refusals are audited).
#[derive(Clone, Debug)]
pub struct ReadRequest {
    /// The requester.
    pub iss: String,
    /// `iat`.
    pub iat: u64,
    /// `jti`.
    pub jti: String,
    /// The requester's home ecosystem.
    pub eco: String,
    /// The pinned ecosystem that recognises `eco`, when the requester's list is accepted by
    /// recognition only (it reads nothing here).
    pub recognized_by: Option<String>,
    /// Its roles there.
    pub roles: Vec<String>,
    /// `item` as signed.
    pub item: String,
    /// `tier` as signed.
    pub tier: String,
    /// SHA-256 (hex) of the envelope, for the audit log.
    pub digest: String,
}

impl ReadRequest {
    fn audit(&self, action: &str, mut detail: Value) -> NewAudit {
        if let Value::Object(m) = &mut detail {
            m.insert("jti".into(), self.jti.clone().into());
            m.insert("iat".into(), self.iat.into());
            m.insert("eco".into(), self.eco.clone().into());
            m.insert("roles".into(), json!(self.roles));
        }
        NewAudit {
            actor: self.iss.clone(),
            action: action.into(),
            detail,
            digest: self.digest.clone(),
        }
    }

    /// The tiers this requester may read for what it asked (`readable_tiers`), and the
    /// battery path it names.
    pub fn decide(&self) -> Result<(String, Vec<Tier>), ReadError> {
        if self.recognized_by.is_some() {
            return Err(ReadError::NotHome {
                iss: self.iss.clone(),
                eco: self.eco.clone(),
            });
        }
        let tier = Tier::parse(&self.tier).ok_or_else(|| ReadError::TierInvalid {
            tier: self.tier.clone(),
        })?;
        let tiers = readable_tiers(&self.roles, tier)
            .map_err(|e| ReadError::policy(&e, &self.iss, &self.tier))?;
        let path = DigitalLink::parse_path(&self.item)
            .map_err(|e| ReadError::ItemInvalid {
                code: e.code(),
                detail: e.to_string(),
            })?
            .path();
        Ok((path, tiers))
    }

    /// Refuses, before the registry lock and without an audit entry, a requester that can
    /// never read by this route: one listed only by an ecosystem this registry recognises
    /// (`reader-not-home`), or one holding none of `roles` (`role-missing`, `needed` naming
    /// them). Any entity of an accepted list can sign a read; were each of its refusals
    /// committed, anyone enrolled for nothing could grow the audit log and hold the lock at
    /// will. The refusal is still counted and logged by the route. Readers (a role of
    /// `roles` at home) are audited for every outcome, refusals included.
    pub fn never_reads(&self, roles: &[&str], needed: &'static str) -> Result<(), ReadError> {
        if self.recognized_by.is_some() {
            return Err(ReadError::NotHome {
                iss: self.iss.clone(),
                eco: self.eco.clone(),
            });
        }
        if !self.roles.iter().any(|r| roles.contains(&r.as_str())) {
            return Err(ReadError::RoleMissing {
                iss: self.iss.clone(),
                needed,
            });
        }
        Ok(())
    }

    /// Whether the requester holds the inspector role (report listings are for authorities).
    pub fn is_inspector(&self) -> bool {
        self.roles
            .iter()
            .any(|r| INSPECTOR_ROLES.contains(&r.as_str()))
    }
}

/// The code an audited refusal is recorded with.
fn refusal_code(e: &ReadError) -> &'static str {
    let p = e.problem();
    p.code.unwrap_or(p.kind)
}

impl Gate {
    /// The trust store and home a requester is resolved in: an onboarded issuer in its home
    /// ecosystem alone (as for its own requests); anyone else in every accepted list, where
    /// the core's one-home rule applies (SPEC.md section 4: only pinned ecosystems' entries
    /// count when a pinned one lists the DID, and the `kid` picks exactly one of them).
    fn requester_store(&self, iss: &str) -> (Option<&str>, &TrustStore) {
        match self.home_of(iss) {
            Some((eco, store)) => (Some(eco), store),
            None => (None, self.trust()),
        }
    }

    /// Checks a read envelope (`op: "read"`, SPEC.md sections 6.1 and 6.3): JWS profile and
    /// members, `aud` exactly this registry, `op`, the `iat` window, the requester's key in
    /// its one home ecosystem valid at `iat`, and the signature. Its role, tier and item are
    /// for `ReadRequest::decide`; the `jti` is checked when the outcome is recorded.
    pub fn authenticate_read(&self, envelope: &str, now: u64) -> Result<ReadRequest, ReadError> {
        let parsed = ParsedRequest::parse(envelope.trim()).map_err(|e| {
            ReadError::Envelope(match e {
                CoreError::TypUnexpected { .. } => UpdateError::WrongTyp {
                    detail: e.to_string(),
                },
                e => malformed(&e),
            })
        })?;
        let (iss, iat) = (parsed.unverified().iss.clone(), parsed.unverified().iat);
        let (home, trust) = self.requester_store(&iss);
        let expect = Expect {
            aud: self.public_url(),
            op: Op::Read,
            roles: &ANY_ROLE,
            home,
        };
        let verified = parsed
            .verify(trust, &expect, now)
            .map_err(|e| ReadError::Envelope(verify_error(e, iat, now)))?;
        let Operation::Read { item, tier } = verified.request.operation else {
            return Err(ReadError::Internal);
        };
        Ok(ReadRequest {
            iss: verified.request.iss,
            iat: verified.request.iat,
            jti: verified.request.jti,
            eco: verified.issuer.eco,
            recognized_by: verified.issuer.recognized_by,
            roles: verified.issuer.entity.roles,
            item,
            tier,
            digest: digest_hex(envelope.trim().as_bytes()),
        })
    }

    /// The home ecosystem (when onboarded) and trust store a self-authenticating upload's
    /// issuer is checked in (attestations, inspection reports): as for reads, its home.
    pub(super) fn upload_store(&self, iss: &str) -> (Option<&str>, &TrustStore) {
        self.requester_store(iss)
    }
}

/// One restricted section as answered to a reader.
#[derive(Clone, Debug, Serialize)]
pub struct SectionOut {
    /// `legitimate-interest` or `authority`.
    pub tier: String,
    /// Base64url SHA-256 of `jws`.
    pub digest: String,
    /// The compact `vc+jwt`, as the issuer uploaded it.
    pub jws: String,
}

/// What `POST /v1/restricted` answers.
#[derive(Clone, Debug, Serialize)]
pub struct RestrictedAnswer {
    /// The battery.
    pub item: String,
    /// The tier asked for.
    pub tier: String,
    /// The tiers the requester's role reads for that request.
    pub tiers: Vec<Tier>,
    /// The sections of those tiers, oldest first.
    pub sections: Vec<SectionOut>,
    /// The audit entry recording this read.
    pub audit: i64,
}

/// One report as listed to an inspector.
#[derive(Clone, Debug, Serialize)]
pub struct ReportOut {
    /// Base64url SHA-256 of `jws`.
    pub digest: String,
    /// The inspector who signed it.
    pub issuer: String,
    /// The compact `vc+jwt`.
    pub jws: String,
}

/// What `GET /v1/reports/{gtin}/{serial}` answers.
#[derive(Clone, Debug, Serialize)]
pub struct ReportsAnswer {
    /// The battery.
    pub item: String,
    /// Its reports, oldest first.
    pub reports: Vec<ReportOut>,
    /// The audit entry recording this read.
    pub audit: i64,
}

/// What `POST /v1/reports` answers; the same for the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportAck {
    /// The battery.
    pub item: String,
    /// Base64url SHA-256 of the compact JWS: the report's key.
    pub digest: String,
    /// The inspector.
    pub issuer: String,
}

fn read_internal(e: impl std::fmt::Display) -> ReadError {
    tracing::error!(error = %e, "recording a read failed");
    ReadError::Internal
}

fn upload_internal(e: impl std::fmt::Display) -> UploadError {
    tracing::error!(error = %e, "upload failed");
    UploadError::Internal
}

impl Registry {
    /// Whether the registry holds anything about a battery (a passport, a status entry or
    /// restricted sections).
    pub fn knows_item(&self, path: &str) -> bool {
        self.passports.contains_key(path)
            || self.items.contains_key(path)
            || self.restricted_held(path)
    }

    /// Whether a battery has restricted sections.
    pub fn restricted_held(&self, path: &str) -> bool {
        self.restricted.values().any(|(p, _)| p == path)
    }

    /// Appends the outcome of an authenticated read to the audit log with its `jti`, in one
    /// transaction (a replayed request is refused and leaves no entry); returns the entry.
    pub fn record_read(
        &mut self,
        r: &ReadRequest,
        action: &str,
        detail: Value,
        now: u64,
    ) -> Result<i64, ReadError> {
        let batch = Batch {
            jtis: vec![JtiRow {
                iss: r.iss.clone(),
                jti: r.jti.clone(),
                iat: r.iat,
            }],
            audit: vec![r.audit(action, detail)],
            ..Batch::default()
        };
        match self.commit(&batch, now) {
            Ok(seqs) => Ok(seqs.first().copied().unwrap_or(0)),
            Err(StoreError::Replay) => Err(ReadError::Envelope(UpdateError::JtiReplayed)),
            Err(e) => Err(read_internal(e)),
        }
    }

    /// Records a refused read (role, tier, item) and returns the refusal, or the replay.
    pub fn refuse_read(
        &mut self,
        r: &ReadRequest,
        action: &str,
        e: ReadError,
        now: u64,
    ) -> ReadError {
        let detail = json!({"item": r.item, "tier": r.tier, "refused": refusal_code(&e)});
        match self.record_read(r, action, detail, now) {
            Ok(_) => e,
            Err(replay) => replay,
        }
    }

    /// Answers `POST /v1/restricted` for an authenticated request whose sections were read
    /// from the store (`held`, every tier): checks role, tier and item, and records the
    /// outcome. `decision` is `ReadRequest::decide`.
    pub fn answer_restricted(
        &mut self,
        r: &ReadRequest,
        decision: Result<(String, Vec<Tier>), ReadError>,
        held: Vec<RestrictedRow>,
        now: u64,
    ) -> Result<RestrictedAnswer, ReadError> {
        let decided = decision.and_then(|(path, tiers)| {
            if held.is_empty() && !self.knows_item(&path) {
                return Err(ReadError::ItemUnknown { item: path });
            }
            Ok((path, tiers))
        });
        let (path, tiers) = match decided {
            Ok(d) => d,
            Err(e) => return Err(self.refuse_read(r, "restricted.refused", e, now)),
        };
        let sections: Vec<SectionOut> = held
            .into_iter()
            .filter(|s| s.path == path && tiers.iter().any(|t| t.as_str() == s.tier))
            .map(|s| SectionOut {
                tier: s.tier,
                digest: s.digest,
                jws: s.jws,
            })
            .collect();
        let detail = json!({"item": path, "tier": r.tier,
            "tiers": tiers.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "sections": sections.iter().map(|s| s.digest.as_str()).collect::<Vec<_>>()});
        let audit = self.record_read(r, "restricted.read", detail, now)?;
        Ok(RestrictedAnswer {
            item: path,
            tier: r.tier.clone(),
            tiers,
            sections,
            audit,
        })
    }

    /// Answers `GET /v1/reports/{gtin}/{serial}` (`url_path`, canonical) for an authenticated
    /// request whose reports were read from the store: inspectors only, the signed item must
    /// be the URL's; records the outcome.
    pub fn answer_reports(
        &mut self,
        r: &ReadRequest,
        url_path: &str,
        held: Vec<ReportRow>,
        now: u64,
    ) -> Result<ReportsAnswer, ReadError> {
        let decided = r.decide().and_then(|(path, _)| {
            if !r.is_inspector() {
                return Err(ReadError::RoleMissing {
                    iss: r.iss.clone(),
                    needed: "inspector",
                });
            }
            if path != url_path {
                return Err(ReadError::ItemMismatch {
                    path: url_path.to_owned(),
                    signed: path,
                });
            }
            if held.is_empty() && !self.knows_item(&path) {
                return Err(ReadError::ItemUnknown { item: path });
            }
            Ok(path)
        });
        let path = match decided {
            Ok(p) => p,
            Err(e) => return Err(self.refuse_read(r, "report.refused", e, now)),
        };
        let reports: Vec<ReportOut> = held
            .into_iter()
            .filter(|x| x.path == path)
            .map(|x| ReportOut {
                digest: x.digest,
                issuer: x.issuer,
                jws: x.jws,
            })
            .collect();
        let detail = json!({"item": path,
            "reports": reports.iter().map(|x| x.digest.as_str()).collect::<Vec<_>>()});
        let audit = self.record_read(r, "report.read", detail, now)?;
        Ok(ReportsAnswer {
            item: path,
            reports,
            audit,
        })
    }

    /// Stores a checked restricted section (never published). Idempotent for the same bytes.
    pub fn store_restricted(
        &mut self,
        c: CheckedRestricted,
        jws: &str,
        now: u64,
    ) -> Result<PassportAck, UploadError> {
        let ack = PassportAck {
            item: c.path.clone(),
            version: 0,
            digest: c.digest.clone(),
            restricted: true,
            tier: Some(c.tier.as_str().to_owned()),
        };
        if self.restricted.contains_key(&c.digest) {
            return Ok(ack);
        }
        let batch = Batch {
            restricted: vec![RestrictedRow {
                digest: c.digest.clone(),
                path: c.path.clone(),
                tier: c.tier.as_str().to_owned(),
                jws: jws.to_owned(),
            }],
            audit: vec![NewAudit {
                actor: c.issuer.clone(),
                action: "restricted.upload".into(),
                detail: json!({"item": c.path, "tier": c.tier.as_str(), "digest": c.digest,
                               "eco": c.eco}),
                digest: digest_hex(jws.as_bytes()),
            }],
            ..Batch::default()
        };
        self.commit(&batch, now).map_err(upload_internal)?;
        self.restricted
            .insert(c.digest, (c.path, c.tier.as_str().to_owned()));
        Ok(ack)
    }

    /// The answer to a report already held, by digest.
    pub fn report_ack(&self, digest: &str) -> Option<ReportAck> {
        self.reports.get(digest).map(|(item, issuer)| ReportAck {
            item: item.clone(),
            digest: digest.to_owned(),
            issuer: issuer.clone(),
        })
    }

    /// Stores a checked inspection report under its digest. Idempotent for the same bytes.
    pub fn store_report(
        &mut self,
        c: CheckedReport,
        jws: &str,
        now: u64,
    ) -> Result<ReportAck, UploadError> {
        if let Some(ack) = self.report_ack(&c.digest) {
            return Ok(ack);
        }
        let batch = Batch {
            reports: vec![ReportRow {
                digest: c.digest.clone(),
                path: c.path.clone(),
                issuer: c.inspector.clone(),
                jws: jws.to_owned(),
            }],
            audit: vec![NewAudit {
                actor: c.inspector.clone(),
                action: "report.upload".into(),
                detail: json!({"item": c.path, "digest": c.digest, "eco": c.eco}),
                digest: digest_hex(jws.as_bytes()),
            }],
            ..Batch::default()
        };
        self.commit(&batch, now).map_err(upload_internal)?;
        self.reports
            .insert(c.digest.clone(), (c.path.clone(), c.inspector.clone()));
        Ok(ReportAck {
            item: c.path,
            digest: c.digest,
            issuer: c.inspector,
        })
    }
}
