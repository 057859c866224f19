//! Passports, attestations and documents (SPEC.md sections 3 and 6.2), and the registry's one
//! upload pipeline: every self-authenticating upload (passport versions, restricted sections,
//! attestations, inspection reports) goes through `ingest`, and every document through
//! `Registry::ingest_document`, for the routes and the demo's seeding alike. Uploads are
//! verified by the core as a verifier would (`check_passport_upload`,
//! `check_restricted_upload`, `check_attestation_upload`, `check_report_upload`,
//! `check_document`) before the registry mutex is taken; under it only what the check assumed
//! is re-read (the versions held), the change is committed, and then memory and the served
//! bytes change. Restricted sections (section 6.3) are stored apart and never published.
//!
//! Served under [`Published`](super::Published): `passport/{path}` (the chain JSON of
//! `GET /v1/passports/{gtin}/{serial}`) and `passport-current/{path}` (the current version,
//! for the resolver's `Accept: application/vc+jwt`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use cellproof_core::{
    check_attestation_upload, check_document, check_passport_upload, check_report_upload,
    check_restricted_upload, is_restricted_section, sha256_b64, CheckedAttestation,
    CheckedPassport, DigitalLink, Error as CoreError, Jws, Typ, Via, MAX_PASSPORT, MAX_REPORT,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::inspector::ReportAck;
use super::publication::Artifact;
use super::{DocumentRequest, Gate, Registry, VC_JWT};
use crate::errors::{UpdateError, UploadError};
use crate::store::{AttestationRow, Batch, DocumentRow, JtiRow, NewAudit, PassportRow, StoreError};

/// Default largest document (`--max-document-bytes`, `max_document_bytes`): 10 MiB.
pub const DEFAULT_MAX_DOCUMENT: usize = 10 * 1024 * 1024;

/// Default storage quota of one uploader's documents (`document_quota_bytes`): 1 GiB.
pub const DEFAULT_DOCUMENT_QUOTA: u64 = 1024 * 1024 * 1024;

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

/// A chain as `GET /v1/passports/{gtin}/{serial}` serves it (SPEC.md section 6.2): every
/// version, oldest first, and `(digest, jws)` of those attestations the current version lists
/// that `held` returns (from memory, or from the store as of a time). `None` without a version.
pub fn chain_document<E>(
    versions: &[String],
    held: impl FnOnce(&[String]) -> Result<Vec<(String, String)>, E>,
) -> Result<Option<Value>, E> {
    let Some(current) = versions.last() else {
        return Ok(None);
    };
    let attestations: Map<String, Value> = held(&listed_digests(current))?
        .into_iter()
        .map(|(d, jws)| (d, Value::String(jws)))
        .collect();
    Ok(Some(
        json!({"versions": versions, "attestations": attestations}),
    ))
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

/// Document digest -> the issuers of the stored passport versions that link it (a link object
/// with `linkURL` and `hashDigest`, SPEC.md section 3.2), built on first use and kept in step
/// with the versions stored here; rebuilt when versions arrived another way (a replica's
/// follower), which the count of versions tells.
#[derive(Debug, Default)]
pub struct DocumentLinks {
    versions: usize,
    links: BTreeMap<String, BTreeSet<String>>,
}

/// Appends every document digest (`hashDigest` of a link object with a `linkURL`, SPEC.md
/// section 3.2) under `v` to `out`, in document order, each once. Attestation listings carry a
/// `hashDigest` but no `linkURL`, so they are not documents. No count limit: a stored passport
/// was bounded by `MAX_PASSPORT` and its nesting by the core's JSON depth (64) at upload, so
/// every link it holds is named (a cap here silently left documents out of packs).
pub fn document_digests(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(o) => {
            if let (Some(_), Some(d)) = (
                o.get("linkURL").and_then(Value::as_str),
                o.get("hashDigest").and_then(Value::as_str),
            ) {
                if valid_digest(d) && !out.iter().any(|x| x == d) {
                    out.push(d.to_owned());
                }
                return;
            }
            for c in o.values() {
                document_digests(c, out, depth + 1);
            }
        }
        Value::Array(a) => {
            for c in a {
                document_digests(c, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Every document digest a passport version's subject links, each once (as the pack and the
/// linkset read them: a link object with a `linkURL` and a `hashDigest`).
pub fn linked_documents(jws: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(cs) = subject_of(jws) {
        document_digests(&Value::Object(cs), &mut out, 0);
    }
    out
}

/// The issuer of a stored (verified) passport version.
fn issuer_of_stored(jws: &str) -> Option<String> {
    let j = Jws::parse(jws.trim(), Typ::Vc, MAX_PASSPORT).ok()?;
    Some(issuer_of(j.unverified_payload())).filter(|i| !i.is_empty())
}

/// How the upload pipeline reaches the registry: the routes lock the shared mutex for each
/// step (the core's checks run between them, unlocked); the demo's seeding already holds it.
pub trait RegistryAccess {
    /// Runs `f` on the registry.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Registry) -> Result<T, UploadError>,
    ) -> Result<T, UploadError>;
}

impl RegistryAccess for Arc<Mutex<Registry>> {
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Registry) -> Result<T, UploadError>,
    ) -> Result<T, UploadError> {
        let mut reg = self.lock().map_err(|_| UploadError::Internal)?;
        f(&mut reg)
    }
}

impl RegistryAccess for &mut Registry {
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Registry) -> Result<T, UploadError>,
    ) -> Result<T, UploadError> {
        f(self)
    }
}

/// The route a self-authenticating upload came by (SPEC.md sections 6.2 to 6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Passports,
    Attestations,
    Reports,
}

/// What an accepted self-authenticating upload answers.
enum Accepted {
    Passport(PassportAck),
    Attestation(DocumentAck),
    Report(ReportAck),
}

/// `issuer` of a VC payload as the core reads it (a string, or an object's `id`), unverified:
/// it only picks the trust store the core then verifies in.
/// Refuses an upload whose signature verifies under none of the keys the snapshot `gate`
/// lists for its issuer and `kid` (the code the full check gives, `signature_invalid`): that
/// refusal stands whatever other replicas committed since. An issuer or kid the snapshot
/// does not list passes here: it may be one another replica just added, and the check after
/// the catch-up decides.
fn forged(jws: &Jws, gate: &Gate, iss: &str) -> Result<(), UploadError> {
    let kid = jws.header().kid.as_str();
    let keys: Vec<[u8; 32]> = gate
        .trust()
        .accepted()
        .flat_map(|(list, _)| list.entities.iter())
        .filter(|e| e.id == iss)
        .flat_map(|e| e.keys.iter())
        .filter(|k| {
            k.kid
                .as_deref()
                .is_some_and(|k| cellproof_core::same_kid(iss, k, kid))
        })
        .map(|k| k.x)
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    jws.clone()
        .verify_any(&keys)
        .map(|_| ())
        .map_err(|e| UploadError::core(&e))
}

fn issuer_of(p: &Map<String, Value>) -> String {
    match p.get("issuer") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// The battery an upload names, by the core's one strict parser of a battery's URL
/// (`DigitalLink::parse_item_url`), unverified: only to read the versions held. `None` when
/// it names none; the core then refuses the upload itself.
fn item_path(p: &Map<String, Value>) -> Option<String> {
    let id = p.get("credentialSubject")?.get("id")?.as_str()?;
    DigitalLink::parse_item_url(id).ok().map(|l| l.path())
}

/// The home-ecosystem rule (SPEC.md section 4): what an onboarded issuer signs is checked in
/// its home ecosystem alone and must resolve there.
fn at_home(eco: &str, home: Option<&str>, kid: &str) -> Result<(), UploadError> {
    match home {
        Some(h) if h != eco => Err(UploadError::core(&CoreError::KeyUnknown {
            kid: kid.to_owned(),
        })),
        _ => Ok(()),
    }
}

/// The one pipeline of every self-authenticating upload (SPEC.md section 6.2: passport
/// versions, restricted sections, attestations, inspection reports), for the routes and the
/// demo's seeding alike: parse; the same bytes again get the same answer; classify with the
/// core (`is_restricted_section`); pick the trust store (an onboarded issuer's home ecosystem
/// alone; passports and sections only from onboarded issuers); read what the check needs
/// (the versions held of the one battery `item_path` names); check with the core, unlocked;
/// refuse what resolved outside its issuer's home, or names another battery than the one
/// whose versions were read; store (the store re-checks what the check assumed).
fn ingest(
    route: Route,
    text: &str,
    gate: &Gate,
    reg: &mut impl RegistryAccess,
    now: u64,
) -> Result<Accepted, UploadError> {
    let text = text.trim();
    let limit = match route {
        Route::Reports => MAX_REPORT,
        Route::Passports | Route::Attestations => MAX_PASSPORT,
    };
    let jws = Jws::parse(text, Typ::Vc, limit).map_err(|e| UploadError::core(&e))?;
    let kid = jws.header().kid.clone();
    let p = jws.unverified_payload();
    let digest = sha256_b64(text.as_bytes());
    let iss = issuer_of(p);
    if gate.replicated() {
        // Before the mutex and a replica's catch-up (issue 16): a forgery costs no round trip.
        forged(&jws, gate, &iss)?;
    }
    let (held, fresh) = reg.with(|r| {
        // Replicas: what the others stored counts (`follow.rs`), and the uploader is checked
        // against the trust data caught up with, not the snapshot the handler took.
        r.catch_up().map_err(internal)?;
        let ack = match route {
            Route::Passports => r.passport_ack(&digest).map(Accepted::Passport),
            Route::Attestations => r.attestation_ack(&digest).map(Accepted::Attestation),
            Route::Reports => r.report_ack(&digest).map(Accepted::Report),
        };
        Ok((ack, r.replicated().then(|| r.gate())))
    })?;
    if let Some(ack) = held {
        return Ok(ack);
    }
    let gate: &Gate = fresh.as_deref().unwrap_or(gate);
    let core = |e: CoreError| UploadError::core(&e);
    match route {
        Route::Attestations => {
            let (home, trust) = gate.upload_store(&iss);
            let c = check_attestation_upload(text, trust, now).map_err(core)?;
            at_home(&c.eco, home, &kid)?;
            reg.with(|r| r.store_attestation(c, text, now))
                .map(Accepted::Attestation)
        }
        Route::Reports => {
            let (home, trust) = gate.upload_store(&iss);
            let c = check_report_upload(text, trust, now).map_err(core)?;
            at_home(&c.eco, home, &kid)?;
            if gate.trust().via(&c.eco) != Some(&Via::Pinned) {
                // As for reads: an inspector of an ecosystem this registry only recognises.
                return Err(UploadError::Refused {
                    code: "role_missing",
                    detail: format!(
                        "{} is an inspector of {}, which this registry only recognises",
                        c.inspector, c.eco
                    ),
                });
            }
            reg.with(|r| r.store_report(c, text, now))
                .map(Accepted::Report)
        }
        Route::Passports => {
            // SPEC.md section 6.2: passports and sections only from onboarded issuers, checked
            // in their home ecosystem.
            let (home, trust) = gate
                .home_of(&iss)
                .ok_or_else(|| UploadError::NotOnboarded { iss: iss.clone() })?;
            let path = item_path(p);
            let held = match &path {
                Some(path) => reg.with(|r| Ok(r.versions(path)))?,
                None => Vec::new(),
            };
            // The core reads the battery with the same parser from the same (now verified)
            // bytes: a difference would file a version under another battery's chain.
            let other_battery = |checked: &str| {
                if path.as_deref() == Some(checked) {
                    Ok(())
                } else {
                    Err(UploadError::core(&CoreError::DigitalLinkInvalid {
                        reason: "the upload names another battery than the one it was checked \
                                 against",
                    }))
                }
            };
            if is_restricted_section(p) {
                // Section 6.3: only through the section's own check, with its signed tier.
                let c = check_restricted_upload(text, &held, trust, now).map_err(core)?;
                at_home(&c.eco, Some(home), &kid)?;
                other_battery(&c.path)?;
                reg.with(|r| r.store_restricted(c, text, now))
                    .map(Accepted::Passport)
            } else {
                // Verified outside the mutex, against the versions held a moment ago; the store
                // refuses the change if another version got in between.
                let c = check_passport_upload(text, &held, trust, now).map_err(core)?;
                at_home(&c.eco, Some(home), &kid)?;
                other_battery(&c.link.path())?;
                reg.with(|r| r.store_passport(c, text, held.len(), now))
                    .map(Accepted::Passport)
            }
        }
    }
}

impl Registry {
    /// `POST /v1/passports` (and the demo's passports and sections): a passport version or a
    /// restricted section through the one upload pipeline.
    pub fn ingest_passport(
        text: &str,
        gate: &Gate,
        mut reg: impl RegistryAccess,
        now: u64,
    ) -> Result<PassportAck, UploadError> {
        match ingest(Route::Passports, text, gate, &mut reg, now)? {
            Accepted::Passport(a) => Ok(a),
            _ => Err(UploadError::Internal),
        }
    }

    /// `POST /v1/attestations` (and the demo's attestations) through the one upload pipeline.
    pub fn ingest_attestation(
        text: &str,
        gate: &Gate,
        mut reg: impl RegistryAccess,
        now: u64,
    ) -> Result<DocumentAck, UploadError> {
        match ingest(Route::Attestations, text, gate, &mut reg, now)? {
            Accepted::Attestation(a) => Ok(a),
            _ => Err(UploadError::Internal),
        }
    }

    /// `POST /v1/reports` through the one upload pipeline.
    pub fn ingest_report(
        text: &str,
        gate: &Gate,
        mut reg: impl RegistryAccess,
        now: u64,
    ) -> Result<ReportAck, UploadError> {
        match ingest(Route::Reports, text, gate, &mut reg, now)? {
            Accepted::Report(a) => Ok(a),
            _ => Err(UploadError::Internal),
        }
    }

    /// The issuers whose stored passport versions link a document digest.
    fn document_linkers(&mut self, digest: &str) -> BTreeSet<String> {
        let versions = self.passport_digests.len();
        if self.document_links.versions != versions {
            let mut links: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for jws in self.passports.values().flatten() {
                if let Some(iss) = issuer_of_stored(jws) {
                    for d in linked_documents(jws) {
                        links.entry(d).or_default().insert(iss.clone());
                    }
                }
            }
            self.document_links = DocumentLinks { versions, links };
        }
        self.document_links
            .links
            .get(digest)
            .cloned()
            .unwrap_or_default()
    }

    /// Keeps the document links in step with a version stored here.
    fn note_links(&mut self, jws: &str) {
        let in_step = self.document_links.versions + 1 == self.passport_digests.len();
        if in_step {
            self.document_links.versions += 1;
            if let Some(iss) = issuer_of_stored(jws) {
                for d in linked_documents(jws) {
                    self.document_links
                        .links
                        .entry(d)
                        .or_default()
                        .insert(iss.clone());
                }
            }
        }
    }

    /// `PUT /v1/documents/{digest}` (and the demo's documents) once the envelope is
    /// authenticated (`Gate::authenticate_document`): the bytes against the digest
    /// (`check_document`), then, under the registry, who may fix the media type and the
    /// store with the envelope's `jti` (`store_document`).
    pub fn ingest_document(
        auth: DocumentRequest,
        digest: &str,
        media_type: &str,
        bytes: Vec<u8>,
        mut reg: impl RegistryAccess,
        now: u64,
    ) -> Result<DocumentAck, UploadError> {
        check_document(&bytes, digest).map_err(|e| UploadError::core(&e))?;
        reg.with(|r| r.store_document(auth, digest, media_type, bytes, now))
    }

    /// The answer to an attestation already held, by its digest.
    fn attestation_ack(&self, digest: &str) -> Option<DocumentAck> {
        self.attestations.contains_key(digest).then(|| DocumentAck {
            digest: digest.to_owned(),
            url: format!("{}/v1/attestations/{digest}", self.settings.public_url),
        })
    }

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

    /// Stores a checked public passport version (restricted sections have their own check and
    /// store: `store_restricted`). `held` is how many versions the check saw: if another upload
    /// got in between, this one is no longer the next version.
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
        self.note_links(jws);
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
        // The first upload of a digest fixes its media type (the store keeps the first row):
        // once a stored passport version links the digest, only its issuer may be that first
        // uploader, so no one else fixes how another issuer's document is served.
        let linkers = self.document_linkers(digest);
        if !linkers.is_empty() && !linkers.contains(&req.iss) {
            return Err(UploadError::Refused {
                code: "document_not_linked",
                detail: format!(
                    "{} links no document {digest} in a passport held here; its media type is \
                     set by the issuer whose passport links it ({})",
                    req.iss,
                    linkers.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
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
                uploader: req.iss.clone(),
            }],
            // Checked by the store in the commit's transaction, against every replica's rows.
            document_quota: Some(self.settings.document_quota),
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
            Err(StoreError::QuotaExceeded { used }) => {
                return Err(UploadError::QuotaExceeded {
                    iss: req.iss,
                    used,
                    size: size as u64,
                    quota: self.settings.document_quota,
                })
            }
            Err(e) => return Err(internal(e)),
        }
        Ok(DocumentAck {
            digest: digest.to_owned(),
            url: format!("{}/v1/documents/{digest}", self.settings.public_url),
        })
    }

    /// The chain JSON of a battery: every public version, oldest first, and every attestation
    /// the current version lists that the registry holds.
    ///
    /// From 1.2 (SPEC.md section 6.2), for a battery with a life after its first use: its
    /// applied lifecycle `events` (oldest first) and the `successors` they name (paths); both
    /// absent while it has none, so a 1.1 chain keeps its shape.
    fn chain_json(&self, path: &str) -> Option<Value> {
        let versions = self.passports.get(path)?;
        let mut doc = chain_document(versions, |listed| {
            Ok::<_, std::convert::Infallible>(
                listed
                    .iter()
                    .filter_map(|d| Some((d.clone(), self.attestations.get(d)?.clone())))
                    .collect(),
            )
        })
        .unwrap_or_default()?;
        let events = self.events_of(path);
        if let (false, Some(m)) = (events.is_empty(), doc.as_object_mut()) {
            m.insert("events".into(), json!(events));
            m.insert("successors".into(), json!(self.successors_of(path)));
        }
        // A successor passport: the originals' chains this registry holds (SPEC.md 1.2
        // section 6.2 `predecessors`), so a verifier checks its lineage in one fetch.
        let originals: serde_json::Map<String, Value> = versions
            .last()
            .and_then(|c| subject_of(c))
            .map(|cs| cellproof_core::lineage::listed(&cs))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.battery)
            .map(|dl| dl.path())
            .filter(|p| p != path)
            .filter_map(|p| {
                let v = self.passports.get(&p)?;
                Some((
                    p.clone(),
                    json!({"versions": v, "events": self.events_of(&p)}),
                ))
            })
            .collect();
        if let (false, Some(m)) = (originals.is_empty(), doc.as_object_mut()) {
            m.insert("predecessors".into(), Value::Object(originals));
        }
        Some(doc)
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
