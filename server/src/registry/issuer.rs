//! The issuer protocol (SPEC.md section 6.1): `registry-request+jwt` requests authenticated by
//! the core ([`ParsedRequest`]) against a [`Gate`] snapshot, outside the registry mutex, then
//! status updates and index allocation applied under it, durably, before the answer.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use cellproof_core::lifecycle::{LifecycleEvent, EVENT, EVENT_ROLES};
use cellproof_core::{
    Bitstring, Error as CoreError, Expect, Op, Operation, ParsedRequest, Purpose, TrustStore,
};
use serde_json::json;

use super::{
    digest_hex, random_bytes, PurposeState, Registry, LIST_ENTRIES, MAX_ALLOCATE, MAX_LEAD,
};
use crate::clock::Clock;
use crate::errors::UpdateError;
use crate::store::{Batch, BitChange, IndexClaim, JtiRow, NewAudit, SignedList, StoreError};

/// What authenticating a request needs, as one immutable snapshot: the accepted trust lists,
/// the registry's public URL (the `aud` requests must carry) and each onboarded issuer's
/// binding. The registry publishes a new snapshot after every change to them; handlers take
/// a pointer to the current one and check a request without holding the registry mutex.
#[derive(Debug, Default)]
pub struct Gate {
    /// Every accepted trust list (issuers that are not onboarded: refused as not owning the
    /// list once their signature checked out).
    trust: TrustStore,
    /// Per home ecosystem, a store holding that ecosystem's list alone (with the lists that
    /// recognise it, for a recognised one): an issuer is resolved where it is bound, so
    /// another ecosystem listing its DID can neither speak for it nor make it ambiguous.
    homes: BTreeMap<String, TrustStore>,
    public_url: String,
    /// Largest document accepted (read by handlers without the registry mutex).
    max_document: usize,
    /// Issuer DID -> (slug, home ecosystem, list ids).
    bindings: BTreeMap<String, Binding>,
    /// Grows with each snapshot the registry publishes: a request authenticated against an
    /// older one is checked again at commit (`Registry::apply_group`).
    generation: u64,
    /// Whether the registry is one of several replicas (`Registry::fresh_gate`).
    replicated: bool,
}

#[derive(Debug)]
struct Binding {
    slug: String,
    eco: Option<String>,
    lists: BTreeSet<String>,
}

/// A request whose signature, trust, audience, operation and list ownership are checked. The
/// `jti` is checked at commit, in the same transaction as the change.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub(super) iss: String,
    pub(super) iat: u64,
    pub(super) jti: String,
    slug: String,
    pub(super) operation: Operation,
    digest: String,
    /// The request as authenticated, and the snapshot's generation: checked again at commit
    /// when the snapshot changed since (a key removed meanwhile, through another replica).
    text: Arc<str>,
    generation: u64,
    /// `op: "lifecycle"`: the event, verified as its signer's credential.
    pub(super) event: Option<Arc<CheckedEvent>>,
}

/// A lifecycle event checked at the door (SPEC.md 3.4): a `BatteryLifecycleEvent` `vc+jwt`
/// signed by the requester, its issuer found with an event role, its subject read.
#[derive(Debug)]
pub struct CheckedEvent {
    /// The compact `vc+jwt`.
    pub jws: String,
    /// Base64url SHA-256 of `jws`.
    pub digest: String,
    /// Its subject.
    pub event: LifecycleEvent,
    /// The signer's roles in its home trust list.
    pub roles: Vec<String>,
}

/// Roles that may own status lists: manufacturers and operators for their credentials and
/// passports, certifiers for their attestations (SPEC.md section 3.3: an attestation may carry
/// a `credentialStatus`). Only onboarded issuers own lists.
pub const STATUS_ROLES: [&str; 3] = ["manufacturer", "operator", "certifier"];

/// Roles that may upload documents (SPEC.md section 6.2: a manufacturer or a certifier).
pub const DOCUMENT_ROLES: [&str; 3] = ["manufacturer", "operator", "certifier"];

/// A document upload's envelope, checked; the `jti` is checked at commit.
#[derive(Clone, Debug)]
pub struct DocumentRequest {
    /// The requester.
    pub iss: String,
    /// `iat`.
    pub iat: u64,
    /// `jti`.
    pub jti: String,
    /// SHA-256 (hex) of the envelope, for the audit log.
    pub digest: String,
}

pub(super) fn verify_error(e: CoreError, iat: u64, now: u64) -> UpdateError {
    match e {
        CoreError::AudienceMismatch { .. } => UpdateError::AudienceMismatch {
            detail: e.to_string(),
        },
        CoreError::OpMismatch { .. } => UpdateError::OpMismatch {
            detail: e.to_string(),
        },
        CoreError::Expired { .. } => UpdateError::IatStale { iat, now },
        CoreError::NotYetValid { iat, .. } => UpdateError::IatInFuture { iat, now },
        CoreError::IssuerUnknown { iss } => UpdateError::UnknownIssuer { iss },
        CoreError::SignatureInvalid { .. } => UpdateError::BadSignature { code: e.code() },
        e => UpdateError::NotTrusted {
            code: e.code(),
            detail: e.to_string(),
        },
    }
}

pub(super) fn malformed(e: &CoreError) -> UpdateError {
    UpdateError::Malformed {
        detail: e.to_string(),
        code: Some(e.code()),
    }
}

impl Gate {
    /// Parses and verifies a request body for `op` at `now`: JWS profile and `typ`, strict
    /// members, `aud` (this registry, exactly), `op` (the route's), `iat` window, the issuer
    /// in its one home ecosystem with role manufacturer or operator and the key valid at
    /// `iat`, the signature, and that the issuer owns the list.
    pub fn authenticate(
        &self,
        body: &[u8],
        op: Op,
        now: u64,
    ) -> Result<Authenticated, UpdateError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| UpdateError::Malformed {
                detail: "the body is not UTF-8".into(),
                code: None,
            })?
            .trim();
        let parsed = ParsedRequest::parse(text).map_err(|e| match e {
            CoreError::TypUnexpected { .. } => UpdateError::WrongTyp {
                detail: e.to_string(),
            },
            e => malformed(&e),
        })?;
        if op == Op::Lifecycle {
            return self.authenticate_lifecycle(parsed, body, text, now);
        }
        let iat = parsed.unverified().iat;
        let binding = self.bindings.get(&parsed.unverified().iss);
        let (home, trust) = self.home_trust(&parsed.unverified().iss)?;
        let expect = Expect {
            aud: &self.public_url,
            op,
            roles: &STATUS_ROLES,
            home,
        };
        let verified = parsed
            .verify(trust, &expect, now)
            .map_err(|e| verify_error(e, iat, now))?;
        let r = verified.request;
        let list = match &r.operation {
            Operation::Status { list, .. } | Operation::Allocate { list, .. } => list.clone(),
            // Not routed here (SPEC.md sections 6.2, 6.3): refused as the wrong operation
            // by `verify` above already.
            _ => return Err(UpdateError::Internal),
        };
        let slug = binding
            .filter(|b| b.lists.contains(&list))
            .map(|b| b.slug.clone())
            .ok_or(UpdateError::ListNotOwned { list })?;
        Ok(Authenticated {
            iss: r.iss,
            iat: r.iat,
            jti: r.jti,
            slug,
            operation: r.operation,
            digest: digest_hex(body),
            text: Arc::from(text),
            generation: self.generation,
            event: None,
        })
    }

    /// Where a requester is authenticated (SPEC.md section 4): an onboarded issuer in its one
    /// home ecosystem alone (`issuer-not-bound` for one onboarded before bindings existed),
    /// anyone else against every accepted trust list.
    fn home_trust(&self, iss: &str) -> Result<(Option<&str>, &TrustStore), UpdateError> {
        let binding = self.bindings.get(iss);
        if binding.is_some_and(|b| b.eco.is_none()) {
            return Err(UpdateError::NotBound {
                iss: iss.to_owned(),
            });
        }
        let home = binding.and_then(|b| b.eco.as_deref());
        let trust = home
            .and_then(|eco| self.homes.get(eco))
            .unwrap_or(&self.trust);
        Ok((home, trust))
    }

    /// `op: "lifecycle"` (SPEC.md 1.2 section 6.2): the envelope from an entity with an event
    /// role (SPEC.md 3.4 table, or the issuer roles), in its home ecosystem when onboarded;
    /// the event a `BatteryLifecycleEvent` signed by the same entity, verified as its
    /// credential (`event-invalid` otherwise), about the request's `item`. Who may record
    /// what, and whether it follows the held status, is checked at commit.
    fn authenticate_lifecycle(
        &self,
        parsed: ParsedRequest,
        body: &[u8],
        text: &str,
        now: u64,
    ) -> Result<Authenticated, UpdateError> {
        let iat = parsed.unverified().iat;
        let (home, trust) = self.home_trust(&parsed.unverified().iss)?;
        let expect = Expect {
            aud: &self.public_url,
            op: Op::Lifecycle,
            roles: &EVENT_ROLES,
            home,
        };
        let verified = parsed
            .verify(trust, &expect, now)
            .map_err(|e| verify_error(e, iat, now))?;
        let r = verified.request;
        let Operation::Lifecycle { item, event } = &r.operation else {
            return Err(UpdateError::Internal);
        };
        let invalid = |detail: String| UpdateError::EventInvalid { detail };
        let vc = cellproof_core::verify_vc(event, &EVENT, trust, now)
            .map_err(|e| invalid(format!("{} ({})", e, e.code())))?;
        if vc.issuer != r.iss || vc.signer.eco != verified.issuer.eco {
            return Err(invalid(format!(
                "the event is signed by {}, the request by {}: an actor records its own events",
                vc.issuer, r.iss
            )));
        }
        let ev = LifecycleEvent::from_payload(vc.payload()).map_err(|e| invalid(e.to_string()))?;
        let dl = cellproof_core::DigitalLink::parse_path(item).map_err(|e| malformed(&e))?;
        if ev.battery != dl {
            return Err(invalid(format!(
                "the event is about {}, the request about {}",
                ev.battery.path(),
                dl.path()
            )));
        }
        let checked = CheckedEvent {
            jws: event.trim().to_owned(),
            digest: cellproof_core::sha256_b64(event.trim().as_bytes()),
            event: ev,
            roles: vc.signer.entity.roles.clone(),
        };
        Ok(Authenticated {
            iss: r.iss,
            iat: r.iat,
            jti: r.jti,
            slug: String::new(),
            operation: r.operation,
            digest: digest_hex(body),
            text: Arc::from(text),
            generation: self.generation,
            event: Some(Arc::new(checked)),
        })
    }
}

impl Gate {
    /// Checks `a` again against this snapshot when it was authenticated against an older one
    /// (same checks, same refusals as [`Gate::authenticate`]); `None` when it was checked
    /// against this one (generations only grow).
    fn recheck(&self, a: &Authenticated, now: u64) -> Option<Result<Authenticated, UpdateError>> {
        if a.generation >= self.generation {
            return None;
        }
        let op = match a.operation {
            Operation::Allocate { .. } => Op::Allocate,
            Operation::Lifecycle { .. } => Op::Lifecycle,
            _ => Op::Status,
        };
        Some(self.authenticate(a.text.as_bytes(), op, now))
    }

    /// Whether the registry publishing this snapshot is one of several replicas: then a
    /// snapshot may be up to a poll interval behind the database (`Registry::fresh_gate`).
    pub fn replicated(&self) -> bool {
        self.replicated
    }

    /// Every accepted trust list (attestations are checked in it: certifiers need not be
    /// onboarded, and a recognised ecosystem's certifier is scoped by the recognition).
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Largest document `PUT /v1/documents/{digest}` accepts, bytes.
    pub fn max_document(&self) -> usize {
        self.max_document
    }

    /// The registry's public URL: the `aud` every request must carry.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The home ecosystem and its trust store of an onboarded issuer (passports are verified
    /// there alone, SPEC.md section 4); `None` when `iss` is not onboarded with an ecosystem.
    pub fn home_of(&self, iss: &str) -> Option<(&str, &TrustStore)> {
        let eco = self.bindings.get(iss)?.eco.as_deref()?;
        Some((eco, self.homes.get(eco)?))
    }

    /// Checks a document upload's `Authorization: Cellproof` envelope: `op: "document"` for
    /// exactly `digest`, this registry's `aud`, the `iat` window, an entity of an accepted
    /// trust list with role manufacturer, operator or certifier (in its home ecosystem when
    /// onboarded), and the signature.
    pub fn authenticate_document(
        &self,
        envelope: &str,
        digest: &str,
        now: u64,
    ) -> Result<DocumentRequest, crate::errors::UploadError> {
        use crate::errors::UploadError;
        let parsed = ParsedRequest::parse(envelope.trim()).map_err(|e| {
            UploadError::Envelope(match e {
                CoreError::TypUnexpected { .. } => UpdateError::WrongTyp {
                    detail: e.to_string(),
                },
                e => malformed(&e),
            })
        })?;
        let iat = parsed.unverified().iat;
        let (home, trust) = self
            .home_trust(&parsed.unverified().iss)
            .map_err(UploadError::Envelope)?;
        let expect = Expect {
            aud: &self.public_url,
            op: Op::Document,
            roles: &DOCUMENT_ROLES,
            home,
        };
        let verified = parsed
            .verify(trust, &expect, now)
            .map_err(|e| UploadError::Envelope(verify_error(e, iat, now)))?;
        let r = verified.request;
        let Operation::Document { digest: signed } = &r.operation else {
            return Err(UploadError::Internal);
        };
        if signed != digest {
            return Err(UploadError::EnvelopeDigest {
                path: digest.to_owned(),
                signed: signed.clone(),
            });
        }
        Ok(DocumentRequest {
            iss: r.iss,
            iat: r.iat,
            jti: r.jti,
            digest: digest_hex(envelope.as_bytes()),
        })
    }
}

/// What `POST /v1/status` answers.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UpdateAck {
    /// The list URL of the purpose changed.
    pub url: String,
    /// List id.
    pub list: String,
    /// Index.
    pub index: u64,
    /// Purpose.
    pub purpose: Purpose,
    /// The value now held.
    pub value: bool,
    /// Whether the bit changed.
    pub changed: bool,
    /// Whether the served list already shows it (else within a second).
    pub published: bool,
    /// Audit entry.
    pub audit: i64,
}

/// What `POST /v1/allocate` answers (SPEC.md section 6.1).
#[derive(Clone, Debug, serde::Serialize)]
pub struct AllocateAck {
    /// List id.
    pub list: String,
    /// Fresh random indexes.
    pub indexes: Vec<u64>,
}

fn internal(e: impl std::fmt::Display) -> UpdateError {
    tracing::error!(error = %e, "status request failed");
    UpdateError::Internal
}

impl Registry {
    /// The list `list_id` of the issuer `slug` whose DID is `iss` (ownership was checked on a
    /// snapshot; lists are never removed, but look it up under the lock all the same).
    fn owned_list(
        &self,
        slug: &str,
        iss: &str,
        list_id: &str,
    ) -> Result<&super::ListState, UpdateError> {
        self.issuers
            .get(slug)
            .filter(|i| i.did == iss)
            .and_then(|i| i.lists.get(list_id))
            .ok_or_else(|| UpdateError::ListNotOwned {
                list: list_id.to_owned(),
            })
    }

    /// The current authentication snapshot (a pointer copy).
    pub fn gate(&self) -> Arc<Gate> {
        self.gate.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// The shared slot handlers read the snapshot from.
    pub fn gate_handle(&self) -> Arc<std::sync::RwLock<Arc<Gate>>> {
        self.gate.clone()
    }

    /// Publishes a new snapshot after trust lists or issuers changed.
    pub(super) fn refresh_gate(&self) {
        let homes = self
            .issuers
            .values()
            .filter_map(|i| i.eco.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter_map(|eco| Some((eco.clone(), self.home_store(&eco)?)))
            .collect();
        let generation = self.gate().generation + 1;
        let gate = Gate {
            generation,
            replicated: self.replicated,
            trust: self.trust.clone(),
            homes,
            public_url: self.settings.public_url.clone(),
            max_document: self.settings.max_document,
            bindings: self
                .issuers
                .iter()
                .map(|(slug, i)| {
                    (
                        i.did.clone(),
                        Binding {
                            slug: slug.clone(),
                            eco: i.eco.clone(),
                            lists: i.lists.keys().cloned().collect(),
                        },
                    )
                })
                .collect(),
        };
        if let Ok(mut g) = self.gate.write() {
            *g = Arc::new(gate);
        }
    }

    /// A store with the pinned roots and only the lists needed to accept `eco`'s: its own,
    /// and for a recognised ecosystem the pinned lists that recognise it. `None` while no
    /// list of `eco` is accepted (the full store then answers `issuer_unknown`).
    fn home_store(&self, eco: &str) -> Option<TrustStore> {
        self.trust.list(eco)?;
        let mut store = TrustStore::new();
        for (e, root) in &self.pins {
            store.pin_root(e, root);
        }
        let mut lists: Vec<&str> = Vec::new();
        if !self.pins.iter().any(|(e, _)| e == eco) {
            for (e, _) in &self.pins {
                let recognises = self
                    .trust
                    .list(e)
                    .is_some_and(|l| l.recognizes.iter().any(|r| r.eco == eco));
                if let (true, Some(raw)) = (recognises, self.trust_raw.get(e)) {
                    lists.push(raw);
                }
            }
        }
        lists.push(self.trust_raw.get(eco)?);
        for r in store.insert_all(lists) {
            if let Err(e) = r {
                tracing::warn!(eco, code = e.code(), "home trust store incomplete");
            }
        }
        Some(store)
    }

    /// `POST /v1/status` for one request (a group of one: see [`Registry::apply_group`]).
    pub fn status_update(&mut self, a: Authenticated, now: u64) -> Result<UpdateAck, UpdateError> {
        match self.apply_group(vec![a], now).pop() {
            Some(Ok(IssuerAck::Status(ack))) => Ok(ack),
            Some(Err(e)) => Err(e),
            _ => Err(UpdateError::Internal),
        }
    }

    /// `POST /v1/allocate` for one request (a group of one: see [`Registry::apply_group`]).
    pub fn allocate(&mut self, a: Authenticated, now: u64) -> Result<AllocateAck, UpdateError> {
        match self.apply_group(vec![a], now).pop() {
            Some(Ok(IssuerAck::Allocate(ack))) => Ok(ack),
            Some(Err(e)) => Err(e),
            _ => Err(UpdateError::Internal),
        }
    }

    /// Group commit: applies authenticated status updates and allocations in order, each
    /// checked on its own against the state the requests before it in the group leave (a
    /// replayed `jti`, an index out of range or not allocated, an un-revocation: that request
    /// alone is refused), then commits everything accepted in ONE batch (one transaction, one
    /// fsync): the `jti`s, the status bits, each changed list signed once, the allocated
    /// indexes (claimed bit by bit) and one audit entry per accepted request. Memory changes
    /// only once the batch is durable; when the commit fails every accepted request of the
    /// group gets an error and nothing changes. Answers in the order of `reqs`.
    ///
    /// Replicas: when another replica got there first (an index this group picked was
    /// allocated since the re-read, a list was signed since), the store refuses the whole
    /// batch as a conflict; the group is re-read and planned again, so an acknowledged index
    /// is never lost nor handed out twice, and no `validFrom` is signed twice.
    pub fn apply_group(
        &mut self,
        reqs: Vec<Authenticated>,
        now: u64,
    ) -> Vec<Result<IssuerAck, UpdateError>> {
        let mut attempt = 1;
        loop {
            match self.try_group(&reqs, now) {
                Ok(acks) => return acks,
                Err(e) if attempt < CONFLICT_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "group planned again");
                    attempt += 1;
                    if !self.replicated {
                        // (`try_group` re-reads only on replicas.)
                        if let Err(e) = self.reload() {
                            let e = internal(e);
                            return reqs.iter().map(|_| Err(e.clone())).collect();
                        }
                    }
                }
                Err(e) => {
                    let e = internal(e);
                    return reqs.iter().map(|_| Err(e.clone())).collect();
                }
            }
        }
    }

    /// One attempt at [`Registry::apply_group`]; `Err` only for a conflict (nothing of the
    /// group was committed).
    fn try_group(
        &mut self,
        reqs: &[Authenticated],
        now: u64,
    ) -> Result<Vec<Result<IssuerAck, UpdateError>>, StoreError> {
        let t0 = std::time::Instant::now();
        if self.replicated {
            // Other replicas commit too: check each request against what they committed.
            if let Err(e) = self.reload() {
                let e = internal(e);
                return Ok(reqs.iter().map(|_| Err(e.clone())).collect());
            }
        }
        let rows: Vec<JtiRow> = reqs
            .iter()
            .map(|a| JtiRow {
                iss: a.iss.clone(),
                jti: a.jti.clone(),
                iat: a.iat,
            })
            .collect();
        // Each request checked again against the snapshot the re-read (or an operator action
        // since it was authenticated) published: a key removed meanwhile, through any replica,
        // gets the refusal it gets at the door. One integer comparison when nothing changed.
        let gate = self.gate();
        let rechecked: Vec<Option<Result<Authenticated, UpdateError>>> =
            reqs.iter().map(|a| gate.recheck(a, now)).collect();
        let t_reload = t0.elapsed();
        let seen = match self.store.jtis_seen(&rows) {
            Ok(seen) if seen.len() == rows.len() => seen,
            Ok(_) => return Ok(reqs.iter().map(|_| Err(UpdateError::Internal)).collect()),
            Err(e) => {
                let e = internal(e);
                return Ok(reqs.iter().map(|_| Err(e.clone())).collect());
            }
        };
        let mut w = Work {
            now,
            ..Work::default()
        };
        let planned: Vec<Result<Planned, UpdateError>> = reqs
            .iter()
            .zip(seen)
            .zip(&rechecked)
            .map(|((a, seen), fresh)| match fresh {
                None => self.plan(a, seen, &mut w),
                Some(Ok(fresh)) => self.plan(fresh, seen, &mut w),
                Some(Err(e)) => Err(e.clone()),
            })
            .collect();
        if w.batch.jtis.is_empty() {
            // Every request refused: nothing to commit.
            return Ok(planned
                .into_iter()
                .map(|p| p.and(Err(UpdateError::Internal)))
                .collect());
        }
        // Each changed list signed once for the whole group, when its validFrom may advance
        // now (else published by the next tick, within a second).
        let mut signed = BTreeSet::new();
        for key in &w.changed {
            let Some(s) = w.purposes.get_mut(key) else {
                continue;
            };
            if self.signs && s.valid_from.saturating_add(1) <= now.saturating_add(MAX_LEAD) {
                let replaces = s.valid_from;
                self.sign_next(&key.0, &key.1, key.2, s, now);
                w.batch.signed.push(SignedList {
                    row: Self::status_row(&key.0, &key.1, key.2, s),
                    replaces,
                });
                signed.insert(key.clone());
            } else {
                s.dirty = true;
            }
        }
        let t_plan = t0.elapsed();
        let seqs = match self.commit(&w.batch, now) {
            Ok(seqs) => seqs,
            Err(e @ StoreError::Conflict(_)) => return Err(e),
            // A `jti` recorded since the check (another replica): one request at a time.
            Err(StoreError::Replay) if reqs.len() > 1 => {
                return Ok(reqs
                    .iter()
                    .map(|a| {
                        self.apply_group(vec![a.clone()], now)
                            .pop()
                            .unwrap_or(Err(UpdateError::Internal))
                    })
                    .collect());
            }
            Err(e) => {
                let e = match e {
                    StoreError::Replay => UpdateError::JtiReplayed,
                    e => internal(e),
                };
                return Ok(planned
                    .into_iter()
                    .map(|p| p.and_then(|_| Err(e.clone())))
                    .collect());
            }
        };
        let t_commit = t0.elapsed();
        // Durable: now memory and the served bytes.
        for key in &w.changed {
            if let (Some(s), Some(slot)) = (
                w.purposes.remove(key),
                self.purpose_state_mut(&key.0, &key.1, key.2),
            ) {
                *slot = s;
            }
        }
        for ((slug, list_id), bits) in w.allocated {
            if let Some(l) = self
                .issuers
                .get_mut(&slug)
                .and_then(|i| i.lists.get_mut(&list_id))
            {
                l.allocated = bits;
            }
        }
        for e in std::mem::take(&mut w.batch.events) {
            self.hold_event(e);
        }
        for key in &signed {
            self.publish_status(&key.0, &key.1, key.2);
        }
        if !signed.is_empty() {
            self.publish_bundle();
        }
        tracing::debug!(
            group = reqs.len(),
            reload_us = t_reload.as_micros(),
            plan_us = (t_plan - t_reload).as_micros(),
            commit_us = (t_commit - t_plan).as_micros(),
            publish_us = (t0.elapsed() - t_commit).as_micros(),
            "group committed"
        );
        let mut seqs = seqs.into_iter();
        Ok(planned
            .into_iter()
            .map(|p| {
                let p = p?;
                let audit = seqs.next().unwrap_or(0);
                Ok(match p {
                    Planned::Status {
                        url,
                        list,
                        index,
                        purpose,
                        value,
                        changed,
                        key,
                    } => IssuerAck::Status(UpdateAck {
                        url,
                        list,
                        index,
                        purpose,
                        value,
                        changed,
                        published: !changed || signed.contains(&key),
                        audit,
                    }),
                    Planned::Allocate { list, indexes } => {
                        IssuerAck::Allocate(AllocateAck { list, indexes })
                    }
                    Planned::Lifecycle { mut ack, keys } => {
                        ack.published = keys.iter().all(|k| signed.contains(k));
                        ack.audit = audit;
                        // The chain route lists the battery's events, and a successor's
                        // chain its originals' (`predecessors`): serve them at once.
                        self.publish_passport(&ack.item);
                        for s in &ack.successors {
                            self.publish_passport(s);
                        }
                        IssuerAck::Lifecycle(ack)
                    }
                })
            })
            .collect())
    }

    /// Checks one request of a group against the group's working state and, when accepted,
    /// records its changes there and in the group's batch.
    fn plan(&self, a: &Authenticated, seen: bool, w: &mut Work) -> Result<Planned, UpdateError> {
        let key = (a.iss.clone(), a.jti.clone());
        if seen || w.jtis.contains(&key) {
            return Err(UpdateError::JtiReplayed);
        }
        let (planned, detail, action) = match &a.operation {
            Operation::Status {
                list,
                index,
                purpose,
                value,
            } => self.plan_status(a, list, *index, *purpose, *value, w)?,
            Operation::Allocate { list, count } => self.plan_allocate(a, list, *count, w)?,
            Operation::Lifecycle { .. } => self.plan_lifecycle(a, w)?,
            _ => return Err(UpdateError::Internal),
        };
        w.batch.jtis.push(JtiRow {
            iss: a.iss.clone(),
            jti: a.jti.clone(),
            iat: a.iat,
        });
        w.batch.audit.push(NewAudit {
            actor: a.iss.clone(),
            action: action.into(),
            detail,
            digest: a.digest.clone(),
        });
        w.jtis.insert(key);
        Ok(planned)
    }

    /// The allocation bitmap of a list as the group has it so far.
    fn work_allocated<'w>(
        &self,
        a: &Authenticated,
        list_id: &str,
        w: &'w mut Work,
    ) -> Result<&'w mut Bitstring, UpdateError> {
        let key = (a.slug.clone(), list_id.to_owned());
        if !w.allocated.contains_key(&key) {
            let bits = self.owned_list(&a.slug, &a.iss, list_id)?.allocated.clone();
            w.allocated.insert(key.clone(), bits);
        }
        w.allocated.get_mut(&key).ok_or(UpdateError::Internal)
    }

    /// The working copy of one list purpose of the group.
    pub(super) fn work_state<'w>(
        &self,
        key: &(String, String, Purpose),
        w: &'w mut Work,
    ) -> Result<&'w mut PurposeState, UpdateError> {
        if !w.purposes.contains_key(key) {
            let s = self
                .purpose_state(&key.0, &key.1, key.2)
                .cloned()
                .ok_or(UpdateError::Internal)?;
            w.purposes.insert(key.clone(), s);
        }
        w.purposes.get_mut(key).ok_or(UpdateError::Internal)
    }

    /// Sets entry `index` of a list purpose to `value` in the group's working state and
    /// records each flipped bit for the store (bit positions of the bitstring: a lifecycle
    /// entry is three of them).
    pub(super) fn work_set(
        &self,
        key: &(String, String, Purpose),
        index: u64,
        value: u8,
        w: &mut Work,
    ) -> Result<(), UpdateError> {
        let s = self.work_state(key, w)?;
        let old = s.bits.get(index).map_err(internal)?;
        if old == value {
            return Ok(());
        }
        if s.signed.is_none() {
            // The signed list keeps the bits it was signed with until it is re-signed
            // (compact bodies and deltas are made from signed bits only).
            s.signed = Some(s.bits.clone());
        }
        s.bits.set_value(index, value).map_err(internal)?;
        let size = u64::from(key.2.status_size());
        let mut changes = Vec::new();
        for k in 0..size {
            let shift = size - 1 - k;
            let (was, now) = ((old >> shift) & 1, (value >> shift) & 1);
            if was != now {
                changes.push(BitChange {
                    slug: key.0.clone(),
                    list_id: key.1.clone(),
                    purpose: key.2.as_str().into(),
                    index: index * size + k,
                    value: now == 1,
                });
            }
        }
        w.batch.bits.extend(changes);
        w.changed.insert(key.clone());
        Ok(())
    }

    fn plan_status(
        &self,
        a: &Authenticated,
        list_id: &str,
        index: u64,
        purpose: Purpose,
        value: bool,
        w: &mut Work,
    ) -> Result<(Planned, serde_json::Value, &'static str), UpdateError> {
        if index >= LIST_ENTRIES {
            return Err(UpdateError::IndexOutOfRange { index });
        }
        self.owned_list(&a.slug, &a.iss, list_id)?;
        if self
            .work_allocated(a, list_id, w)?
            .get(index)
            .map_err(internal)?
            == 0
        {
            return Err(UpdateError::IndexNotAllocated { index });
        }
        let key = (a.slug.clone(), list_id.to_owned(), purpose);
        let old = self
            .work_state(&key, w)?
            .bits
            .get(index)
            .map_err(internal)?
            == 1;
        if purpose == Purpose::Revocation && old && !value {
            return Err(UpdateError::RevocationPermanent { index });
        }
        let changed = old != value;
        self.work_set(&key, index, u8::from(value), w)?;
        let url = purpose.list_url(&self.status_base(&a.slug), list_id);
        let detail = json!({"jti": a.jti, "iat": a.iat, "list": url, "listId": list_id,
            "index": index, "purpose": purpose.as_str(), "value": value, "changed": changed});
        let planned = Planned::Status {
            url,
            list: list_id.to_owned(),
            index,
            purpose,
            value,
            changed,
            key,
        };
        Ok((planned, detail, "status.update"))
    }

    fn plan_allocate(
        &self,
        a: &Authenticated,
        list_id: &str,
        count: u64,
        w: &mut Work,
    ) -> Result<(Planned, serde_json::Value, &'static str), UpdateError> {
        if count == 0 || count > MAX_ALLOCATE {
            return Err(UpdateError::CountInvalid { count });
        }
        let current = self.work_allocated(a, list_id, w)?;
        let used: u64 = current
            .bytes()
            .iter()
            .map(|b| u64::from(b.count_ones()))
            .sum();
        let free = LIST_ENTRIES.saturating_sub(used);
        if count > free {
            return Err(UpdateError::ListFull { free });
        }
        let mut allocated = current.clone();
        let mut indexes = Vec::new();
        while u64::try_from(indexes.len()).unwrap_or(u64::MAX) < count {
            // LIST_ENTRIES is a power of two, so the remainder is unbiased.
            let r = u64::from_le_bytes(random_bytes::<8>().map_err(internal)?) % LIST_ENTRIES;
            if allocated.get(r).map_err(internal)? == 0 {
                allocated.set(r, true).map_err(internal)?;
                indexes.push(r);
            }
        }
        *current = allocated;
        // Claimed in the database bit by bit: an index another replica allocated since this
        // one re-read the bitmap fails the commit, which is then planned again.
        w.batch
            .claims
            .extend(indexes.iter().map(|index| IndexClaim {
                slug: a.slug.clone(),
                list_id: list_id.to_owned(),
                index: *index,
            }));
        let detail = json!({"jti": a.jti, "iat": a.iat, "listId": list_id,
            "issuer": a.slug, "count": count, "indexes": indexes});
        let planned = Planned::Allocate {
            list: list_id.to_owned(),
            indexes,
        };
        Ok((planned, detail, "allocate"))
    }
}

/// The answer to one issuer request of a group.
#[derive(Clone, Debug)]
pub enum IssuerAck {
    /// `POST /v1/status`.
    Status(UpdateAck),
    /// `POST /v1/allocate`.
    Allocate(AllocateAck),
    /// `POST /v1/lifecycle`.
    Lifecycle(super::lifecycle::LifecycleAck),
}

/// What an accepted request of a group will answer once the group is committed.
pub(super) enum Planned {
    Lifecycle {
        ack: super::lifecycle::LifecycleAck,
        /// The lifecycle list it changes (published with it or by the next tick).
        keys: Vec<(String, String, Purpose)>,
    },
    Status {
        url: String,
        list: String,
        index: u64,
        purpose: Purpose,
        value: bool,
        changed: bool,
        key: (String, String, Purpose),
    },
    Allocate {
        list: String,
        indexes: Vec<u64>,
    },
}

/// A group's working state: copies of what its requests change, and the batch.
#[derive(Default)]
pub(super) struct Work {
    pub(super) purposes: BTreeMap<(String, String, Purpose), PurposeState>,
    pub(super) changed: BTreeSet<(String, String, Purpose)>,
    allocated: BTreeMap<(String, String), Bitstring>,
    jtis: HashSet<(String, String)>,
    pub(super) batch: Batch,
    /// Lifecycle event ids the group applies.
    pub(super) event_ids: HashSet<String>,
    /// The group's time.
    pub(super) now: u64,
}

/// Attempts of a group that another replica's commit got in the way of (each re-reads).
const CONFLICT_ATTEMPTS: usize = 8;

/// Most requests one group commit takes.
pub const MAX_GROUP: usize = 1024;

type Reply = tokio::sync::oneshot::Sender<Result<IssuerAck, UpdateError>>;

/// The group committer: one thread that takes every authenticated status update and
/// allocation waiting (up to [`MAX_GROUP`]), applies them as one group under the registry
/// mutex ([`Registry::apply_group`]: one transaction, one fsync), then answers each. While
/// it commits, the next group gathers; under load a group is as large as what arrives during
/// one fsync.
#[derive(Clone, Debug)]
pub struct Committer {
    tx: std::sync::mpsc::SyncSender<(Authenticated, Reply)>,
}

impl Committer {
    /// Starts the committer thread for `registry` (it stops when every handle is dropped).
    pub fn start(
        registry: Arc<Mutex<Registry>>,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Committer> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Authenticated, Reply)>(4 * MAX_GROUP);
        std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(r) => group.push(r),
                            Err(_) => break,
                        }
                    }
                    let (reqs, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
                    let n = reqs.len();
                    let results = match registry.lock() {
                        Ok(mut reg) => reg.apply_group(reqs, clock.now()),
                        Err(_) => (0..n).map(|_| Err(UpdateError::Internal)).collect(),
                    };
                    for (r, reply) in results.into_iter().zip(replies) {
                        // The client may have gone: its change is committed all the same.
                        let _ = reply.send(r);
                    }
                }
            })?;
        Ok(Committer { tx })
    }

    /// Queues an authenticated request unless the queue is full (then it is handed back, to
    /// be queued with [`Committer::submit`] off the async worker); the receiver answers once
    /// its group is durable.
    #[allow(clippy::result_large_err)]
    pub fn try_submit(
        &self,
        a: Authenticated,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<IssuerAck, UpdateError>>, Authenticated> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        match self.tx.try_send((a, reply)) {
            Ok(()) => Ok(rx),
            Err(
                std::sync::mpsc::TrySendError::Full((a, _))
                | std::sync::mpsc::TrySendError::Disconnected((a, _)),
            ) => Err(a),
        }
    }

    /// Queues an authenticated request (blocks while the queue is full: back-pressure);
    /// the receiver answers once its group is durable.
    pub fn submit(
        &self,
        a: Authenticated,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<IssuerAck, UpdateError>>, UpdateError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send((a, reply))
            .map_err(|_| UpdateError::Internal)?;
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::COMPACT_KEY;
    use crate::store::{AuditEntry, Snapshot, Store};

    const ISS: &str = "did:web:a.example";

    fn req(jti: &str, operation: Operation) -> Authenticated {
        Authenticated {
            iss: ISS.into(),
            iat: 1,
            jti: jti.into(),
            slug: "a".into(),
            operation,
            digest: format!("digest-{jti}"),
            // Built here, not authenticated: never older than the registry's snapshot.
            text: Arc::from(""),
            generation: u64::MAX,
            event: None,
        }
    }

    fn status(jti: &str, index: u64, purpose: Purpose, value: bool) -> Authenticated {
        let op = Operation::Status {
            list: "1".into(),
            index,
            purpose,
            value,
        };
        req(jti, op)
    }

    fn allocated(reg: &mut Registry, jti: &str, count: u64, t: u64) -> Vec<u64> {
        let op = Operation::Allocate {
            list: "1".into(),
            count,
        };
        reg.allocate(req(jti, op), t).unwrap().indexes
    }

    #[test]
    fn a_group_marks_the_bundle_and_compact_body_stale_and_one_refresh_rebuilds_them() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let mut reg = super::super::tests::registry(dir.path(), t);
        assert!(!reg.published.is_stale(), "built at start");
        let bundle = reg.published.get("bundle").unwrap();
        let compact = reg.published.get(COMPACT_KEY).unwrap();
        let idx = allocated(&mut reg, "alloc", 2, t);
        for (n, i) in idx.iter().enumerate() {
            let acks = reg.apply_group(
                vec![status(&format!("s{n}"), *i, Purpose::Revocation, true)],
                t + 1 + n as u64,
            );
            assert!(acks[0].is_ok());
        }
        // Groups publish the changed W3C list at once and leave the rest to one rebuild.
        assert!(reg.published.is_stale());
        assert!(Arc::ptr_eq(&bundle, &reg.published.get("bundle").unwrap()));
        assert!(Arc::ptr_eq(
            &compact,
            &reg.published.get(COMPACT_KEY).unwrap()
        ));
        let list = reg.published.get("status/a/1").unwrap();
        reg.refresh_published();
        assert!(!reg.published.is_stale());
        let fresh = reg.published.get("bundle").unwrap();
        let text = std::str::from_utf8(&fresh.body).unwrap();
        assert!(text.contains(std::str::from_utf8(&list.body).unwrap()));
        assert_ne!(compact.body, reg.published.get(COMPACT_KEY).unwrap().body);
        // Nothing changed since: the next refresh keeps the same bytes.
        reg.refresh_published();
        assert!(Arc::ptr_eq(&fresh, &reg.published.get("bundle").unwrap()));
    }

    #[test]
    fn an_allocation_that_lost_the_race_to_another_writer_is_planned_again() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let mut reg = super::super::tests::registry(dir.path(), t);
        // Another replica (straight to the store) allocates all but ten indexes of list 1;
        // this registry's memory does not know: its first plan picks taken indexes.
        let free: BTreeSet<u64> = (0..10).map(|k| k * 1000 + 7).collect();
        let claims = (0..LIST_ENTRIES)
            .filter(|i| !free.contains(i))
            .map(|index| IndexClaim {
                slug: "a".into(),
                list_id: "1".into(),
                index,
            })
            .collect();
        reg.store
            .commit(
                &Batch {
                    claims,
                    ..Batch::default()
                },
                t,
            )
            .unwrap();
        let got = allocated(&mut reg, "j1", 3, t + 1);
        assert!(got.iter().all(|i| free.contains(i)), "{got:?}");
        let held = reg.store.load().unwrap().lists;
        let list = held.iter().find(|l| l.list_id == "1").unwrap();
        let ones: u64 = list
            .allocated
            .iter()
            .map(|b| u64::from(b.count_ones()))
            .sum();
        assert_eq!(ones, LIST_ENTRIES - 7, "the other writer's and these three");
    }

    /// A store whose commits fail (a full disk), reads pass through.
    struct Failing(Arc<dyn Store>);

    impl Store for Failing {
        fn load(&self) -> Result<Snapshot, StoreError> {
            self.0.load()
        }
        fn commit(&self, _: &Batch, _: u64) -> Result<Vec<i64>, StoreError> {
            Err(StoreError::Backend("disk full".into()))
        }
        fn audit(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
            self.0.audit(after, limit)
        }
        fn prune_jtis(&self, before: u64) -> Result<usize, StoreError> {
            self.0.prune_jtis(before)
        }
        fn head(&self) -> Result<Option<(i64, String)>, StoreError> {
            self.0.head()
        }
        fn document(&self, digest: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
            self.0.document(digest)
        }
        fn jtis_seen(&self, jtis: &[JtiRow]) -> Result<Vec<bool>, StoreError> {
            self.0.jtis_seen(jtis)
        }
    }

    #[test]
    fn a_group_refuses_each_bad_request_alone_and_commits_the_rest_once() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let mut reg = super::super::tests::registry(dir.path(), t);
        let idx = allocated(&mut reg, "j0", 2, t);
        let head = reg.store.head().unwrap().unwrap().0;
        let group = vec![
            status("j1", idx[0], Purpose::Revocation, true),
            // The same jti again in the group: refused alone.
            status("j1", idx[1], Purpose::Suspension, true),
            status("j2", LIST_ENTRIES, Purpose::Suspension, true),
            status("j3", u64::MAX, Purpose::Suspension, true),
            // Sees the revocation earlier in the group: permanent.
            status("j4", idx[0], Purpose::Revocation, false),
            // Not allocated (allocated indexes are random: find a free one).
            status(
                "j5",
                (0..LIST_ENTRIES).find(|i| !idx.contains(i)).unwrap(),
                Purpose::Suspension,
                true,
            ),
            status("j6", idx[1], Purpose::Suspension, true),
            req(
                "j7",
                Operation::Allocate {
                    list: "1".into(),
                    count: 0,
                },
            ),
            req(
                "j8",
                Operation::Allocate {
                    list: "2".into(),
                    count: 1,
                },
            ),
            req(
                "j9",
                Operation::Allocate {
                    list: "1".into(),
                    count: 3,
                },
            ),
        ];
        let r = reg.apply_group(group, t + 1);
        let kinds: Vec<&str> = r
            .iter()
            .map(|r| r.as_ref().err().map_or("ok", |e| e.problem().kind))
            .collect();
        assert_eq!(
            kinds,
            [
                "ok",
                "jti-replayed",
                "index-out-of-range",
                "index-out-of-range",
                "revocation-permanent",
                "index-not-allocated",
                "ok",
                "count-invalid",
                "list-not-owned",
                "ok"
            ]
        );
        // One audit entry per accepted request, in order, in one commit.
        let audits: Vec<i64> = r
            .iter()
            .filter_map(|r| match r {
                Ok(IssuerAck::Status(a)) => Some(a.audit),
                _ => None,
            })
            .collect();
        assert_eq!(audits, [head + 1, head + 2]);
        let log = reg.store.audit(head, 10).unwrap();
        assert_eq!(log.len(), 3);
        let jtis: Vec<&str> = log
            .iter()
            .map(|e| e.detail["jti"].as_str().unwrap())
            .collect();
        assert_eq!(jtis, ["j1", "j6", "j9"]);
        let rev = reg.purpose_state("a", "1", Purpose::Revocation).unwrap();
        assert_eq!(rev.bits.get(idx[0]).unwrap(), 1);
        // The store holds what memory holds.
        let held = reg.store.load().unwrap();
        let row = held
            .status
            .iter()
            .find(|s| s.list_id == "1" && s.purpose == "revocation")
            .unwrap();
        assert_eq!(row.bits, rev.bits.bytes());
        // A jti committed by an earlier group is refused by the store check.
        let again = reg.apply_group(
            vec![status("j6", idx[1], Purpose::Suspension, false)],
            t + 2,
        );
        assert_eq!(again[0].as_ref().unwrap_err(), &UpdateError::JtiReplayed);
    }

    #[test]
    fn a_failed_group_commit_answers_every_request_with_an_error_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let mut reg = super::super::tests::registry(dir.path(), t);
        let idx = allocated(&mut reg, "j0", 2, t);
        let before = reg
            .purpose_state("a", "1", Purpose::Suspension)
            .unwrap()
            .clone();
        let served = reg.published.get("status/a/1-suspension").unwrap();
        let good = reg.store.clone();
        reg.store = Arc::new(Failing(good.clone()));
        let r = reg.apply_group(
            vec![
                status("j1", idx[0], Purpose::Suspension, true),
                status("j2", idx[1], Purpose::Suspension, true),
                status("j3", LIST_ENTRIES, Purpose::Suspension, true),
            ],
            t + 1,
        );
        assert_eq!(r[0].as_ref().unwrap_err(), &UpdateError::Internal);
        assert_eq!(r[1].as_ref().unwrap_err(), &UpdateError::Internal);
        assert_eq!(
            r[2].as_ref().unwrap_err().problem().kind,
            "index-out-of-range"
        );
        let after = reg.purpose_state("a", "1", Purpose::Suspension).unwrap();
        assert_eq!(
            (after.bits.bytes(), after.valid_from),
            (before.bits.bytes(), before.valid_from)
        );
        assert!(Arc::ptr_eq(
            &served,
            &reg.published.get("status/a/1-suspension").unwrap()
        ));
        // The same requests go through once the store is back: nothing of them was recorded.
        reg.store = good;
        let r = reg.apply_group(
            vec![
                status("j1", idx[0], Purpose::Suspension, true),
                status("j2", idx[1], Purpose::Suspension, true),
            ],
            t + 1,
        );
        assert!(r.iter().all(Result::is_ok), "{r:?}");
        let s = reg.purpose_state("a", "1", Purpose::Suspension).unwrap();
        assert_eq!(
            (s.bits.get(idx[0]).unwrap(), s.bits.get(idx[1]).unwrap()),
            (1, 1)
        );
    }
}
