//! Passports, attestations and documents (SPEC.md sections 3 and 6.2). Uploads are verified by
//! the core as a verifier would (`check_passport_upload`, `check_attestation_upload`,
//! `check_document`) before the registry mutex is taken; under it only what the check assumed
//! is re-read (the versions held), the change is committed, and then memory and the served
//! bytes change. Restricted sections (section 6.3) are stored apart and never published.
//!
//! Served under [`Published`](super::Published): `passport/{path}` (the chain JSON of
//! `GET /v1/passports/{gtin}/{serial}`) and `passport-current/{path}` (the current version,
//! for the resolver's `Accept: application/vc+jwt`).

use cellproof_core::{CheckedAttestation, CheckedPassport, Jws, Typ, MAX_PASSPORT};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::publication::Artifact;
use super::{DocumentRequest, Registry, VC_JWT};
use crate::errors::{UpdateError, UploadError};
use crate::store::{
    AttestationRow, Batch, DocumentRow, JtiRow, NewAudit, PassportRow, RestrictedRow, StoreError,
};

/// Default largest document (`--max-document-bytes`, `max_document_bytes`): 10 MiB.
pub const DEFAULT_MAX_DOCUMENT: usize = 10 * 1024 * 1024;

/// Most batteries one offline pack may name.
pub const MAX_PACK_ITEMS: usize = 200;

/// What `POST /v1/passports` answers; the same for the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PassportAck {
    /// `01/{gtin}/21/{serial}`.
    pub item: String,
    /// `metadata.version` (0 for a restricted section).
    pub version: u64,
    /// Base64url SHA-256 of the compact JWS.
    pub digest: String,
    /// A restricted section (never served publicly).
    pub restricted: bool,
    /// The section's tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// What `POST /v1/attestations` and `PUT /v1/documents/{digest}` answer; the same for the same
/// bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocumentAck {
    /// Base64url SHA-256: the key it is served under.
    pub digest: String,
    /// Where it is served.
    pub url: String,
}

/// The `hashDigest`s the passport's `attestations[]` lists (our own stored, verified bytes).
pub fn listed_digests(jws: &str) -> Vec<String> {
    subject_of(jws)
        .and_then(|cs| cs.get("attestations").cloned())
        .and_then(|a| match a {
            Value::Array(a) => Some(a),
            _ => None,
        })
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.get("hashDigest").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// `credentialSubject` of a stored passport, unverified (it was verified at upload).
pub fn subject_of(jws: &str) -> Option<Map<String, Value>> {
    let j = Jws::parse(jws.trim(), Typ::Vc, MAX_PASSPORT).ok()?;
    match j.unverified_payload().get("credentialSubject") {
        Some(Value::Object(cs)) => Some(cs.clone()),
        _ => None,
    }
}

fn internal(e: impl std::fmt::Display) -> UploadError {
    tracing::error!(error = %e, "upload failed");
    UploadError::Internal
}

/// Whether a path segment is a base64url SHA-256 (43 characters of the URL-safe alphabet).
pub fn valid_digest(d: &str) -> bool {
    d.len() == 43
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Registry {
    /// The answer to bytes already accepted (idempotent uploads), by their digest.
    pub fn passport_ack(&self, digest: &str) -> Option<PassportAck> {
        if let Some((item, version)) = self.passport_digests.get(digest) {
            return Some(PassportAck {
                item: item.clone(),
                version: *version,
                digest: digest.to_owned(),
                restricted: false,
                tier: None,
            });
        }
        self.restricted.get(digest).map(|(item, tier)| PassportAck {
            item: item.clone(),
            version: 0,
            digest: digest.to_owned(),
            restricted: true,
            tier: Some(tier.clone()),
        })
    }

    /// The public versions held for a battery, oldest first.
    pub fn versions(&self, path: &str) -> Vec<String> {
        self.passports.get(path).cloned().unwrap_or_default()
    }

    /// Stores a checked passport version (or restricted section). `held` is how many versions
    /// the check saw: if another upload got in between, this one is no longer the next version.
    pub fn store_passport(
        &mut self,
        c: CheckedPassport,
        jws: &str,
        held: usize,
        now: u64,
    ) -> Result<PassportAck, UploadError> {
        if let Some(ack) = self.passport_ack(&c.digest) {
            return Ok(ack);
        }
        let item = c.link.path();
        let body_digest = super::digest_hex(jws.as_bytes());
        if c.restricted {
            let tier = c.tier.clone().unwrap_or_default();
            let batch = Batch {
                restricted: vec![RestrictedRow {
                    digest: c.digest.clone(),
                    path: item.clone(),
                    tier: tier.clone(),
                    jws: jws.to_owned(),
                }],
                audit: vec![NewAudit {
                    actor: c.issuer.clone(),
                    action: "restricted.upload".into(),
                    detail: json!({"item": item, "tier": tier, "digest": c.digest}),
                    digest: body_digest,
                }],
                ..Batch::default()
            };
            self.commit(&batch, now).map_err(internal)?;
            self.restricted
                .insert(c.digest.clone(), (item.clone(), tier.clone()));
            return Ok(PassportAck {
                item,
                version: 0,
                digest: c.digest,
                restricted: true,
                tier: Some(tier),
            });
        }
        let now_held = self.passports.get(&item).map_or(0, Vec::len);
        if now_held != held {
            return Err(UploadError::core(
                &cellproof_core::Error::PassportChainBroken {
                    version: c.version,
                    reason: "another version was stored meanwhile: not the next version any more",
                },
            ));
        }
        let batch = Batch {
            passports: vec![PassportRow {
                path: item.clone(),
                version: c.version,
                digest: c.digest.clone(),
                jws: jws.to_owned(),
            }],
            audit: vec![NewAudit {
                actor: c.issuer.clone(),
                action: "passport.upload".into(),
                detail: json!({"item": item, "version": c.version, "digest": c.digest,
                               "eco": c.eco}),
                digest: body_digest,
            }],
            ..Batch::default()
        };
        self.commit(&batch, now).map_err(internal)?;
        self.passport_digests
            .insert(c.digest.clone(), (item.clone(), c.version));
        self.passports
            .entry(item.clone())
            .or_default()
            .push(jws.to_owned());
        self.publish_passport(&item);
        Ok(PassportAck {
            item,
            version: c.version,
            digest: c.digest,
            restricted: false,
            tier: None,
        })
    }

    /// Stores a checked attestation under its digest; republishes the chains that list it.
    pub fn store_attestation(
        &mut self,
        c: CheckedAttestation,
        jws: &str,
        now: u64,
    ) -> Result<DocumentAck, UploadError> {
        let url = format!("{}/v1/attestations/{}", self.settings.public_url, c.digest);
        if self.attestations.contains_key(&c.digest) {
            return Ok(DocumentAck {
                digest: c.digest,
                url,
            });
        }
        let batch = Batch {
            attestations: vec![AttestationRow {
                digest: c.digest.clone(),
                jws: jws.to_owned(),
            }],
            audit: vec![NewAudit {
                actor: c.issuer.clone(),
                action: "attestation.upload".into(),
                detail: json!({"digest": c.digest, "subject": c.subject, "eco": c.eco}),
                digest: super::digest_hex(jws.as_bytes()),
            }],
            ..Batch::default()
        };
        self.commit(&batch, now).map_err(internal)?;
        self.attestations.insert(c.digest.clone(), jws.to_owned());
        self.published.put(
            format!("attestation/{}", c.digest),
            Artifact::new(jws.to_owned(), VC_JWT),
        );
        let listing: Vec<String> = self
            .passports
            .iter()
            .filter(|(_, v)| {
                v.last()
                    .is_some_and(|cur| listed_digests(cur).contains(&c.digest))
            })
            .map(|(p, _)| p.clone())
            .collect();
        for p in listing {
            self.publish_passport(&p);
        }
        Ok(DocumentAck {
            digest: c.digest,
            url,
        })
    }

    /// Stores a document whose bytes were checked against `digest`, with the upload's `jti`
    /// (a replayed envelope is refused in the same transaction).
    pub fn store_document(
        &mut self,
        req: DocumentRequest,
        digest: &str,
        media_type: &str,
        bytes: Vec<u8>,
        now: u64,
    ) -> Result<DocumentAck, UploadError> {
        let size = bytes.len();
        let batch = Batch {
            jtis: vec![JtiRow {
                iss: req.iss.clone(),
                jti: req.jti.clone(),
                iat: req.iat,
            }],
            documents: vec![DocumentRow {
                digest: digest.to_owned(),
                media_type: media_type.to_owned(),
                bytes,
            }],
            audit: vec![NewAudit {
                actor: req.iss.clone(),
                action: "document.upload".into(),
                detail: json!({"jti": req.jti, "iat": req.iat, "digest": digest,
                               "mediaType": media_type, "size": size}),
                digest: req.digest,
            }],
            ..Batch::default()
        };
        match self.commit(&batch, now) {
            Ok(_) => {}
            Err(StoreError::Replay) => return Err(UploadError::Envelope(UpdateError::JtiReplayed)),
            Err(e) => return Err(internal(e)),
        }
        Ok(DocumentAck {
            digest: digest.to_owned(),
            url: format!("{}/v1/documents/{digest}", self.settings.public_url),
        })
    }

    /// The chain JSON of a battery: every public version, oldest first, and every attestation
    /// the current version lists that the registry holds.
    fn chain_json(&self, path: &str) -> Option<Value> {
        let versions = self.passports.get(path)?;
        let current = versions.last()?;
        let attestations: Map<String, Value> = listed_digests(current)
            .into_iter()
            .filter_map(|d| {
                let jws = self.attestations.get(&d)?.clone();
                Some((d, Value::String(jws)))
            })
            .collect();
        Some(json!({"versions": versions, "attestations": attestations}))
    }

    /// Publishes a battery's chain and current version.
    pub(super) fn publish_passport(&self, path: &str) {
        let (Some(chain), Some(current)) = (
            self.chain_json(path),
            self.passports.get(path).and_then(|v| v.last()),
        ) else {
            return;
        };
        self.published.put(
            format!("passport/{path}"),
            Artifact::new(chain.to_string(), "application/json"),
        );
        self.published.put(
            format!("passport-current/{path}"),
            Artifact::new(current.clone(), VC_JWT),
        );
    }

    /// Publishes every battery's chain (start-up).
    pub(super) fn publish_passports(&self) {
        for (digest, jws) in &self.attestations {
            self.published.put(
                format!("attestation/{digest}"),
                Artifact::new(jws.clone(), VC_JWT),
            );
        }
        for path in self.passports.keys() {
            self.publish_passport(path);
        }
    }

    /// Seeds an artifact the registry's own checks would refuse, straight into the store, for
    /// the demo's failure samples (`attestation-out-of-scope`, `passport-tampered`): an
    /// attestation under its digest, or a version 1 for a battery that holds none. Audited
    /// as `demo.seed`.
    pub fn seed_unchecked(
        &mut self,
        path: Option<&str>,
        jws: &str,
        now: u64,
    ) -> Result<String, UploadError> {
        let digest = cellproof_core::sha256_b64(jws.trim().as_bytes());
        let mut batch = Batch {
            audit: vec![NewAudit {
                actor: "demo".into(),
                action: "demo.seed".into(),
                detail: json!({"item": path, "digest": digest,
                    "kind": if path.is_some() { "passport" } else { "attestation" }}),
                digest: super::digest_hex(jws.as_bytes()),
            }],
            ..Batch::default()
        };
        match path {
            Some(p) => {
                if self.passports.contains_key(p) {
                    return Ok(digest);
                }
                batch.passports.push(PassportRow {
                    path: p.to_owned(),
                    version: 1,
                    digest: digest.clone(),
                    jws: jws.to_owned(),
                });
            }
            None => {
                if self.attestations.contains_key(&digest) {
                    return Ok(digest);
                }
                batch.attestations.push(AttestationRow {
                    digest: digest.clone(),
                    jws: jws.to_owned(),
                });
            }
        }
        self.commit(&batch, now).map_err(internal)?;
        match path {
            Some(p) => {
                self.passport_digests
                    .insert(digest.clone(), (p.to_owned(), 1));
                self.passports
                    .entry(p.to_owned())
                    .or_default()
                    .push(jws.to_owned());
                self.publish_passport(p);
            }
            None => {
                self.attestations.insert(digest.clone(), jws.to_owned());
                self.publish_passports();
            }
        }
        Ok(digest)
    }
}
