//! Publication: signing status lists (on change and past half their freshness), the bytes GETs
//! serve (trust lists, status lists, the offline bundle, the signed audit head), and the
//! periodic tick. GETs never sign: they copy a pointer out of [`Published`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix_web::web::Bytes;
use cellproof_core::{
    b64_encode, decode_encoded_list, sign_json, sign_status_list, status_list_payload, Bitstring,
    Jws, Purpose, StatusListSpec, Typ,
};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::{
    PurposeState, Registry, AUDIT_HEAD_JWT, HEAD_REFRESH, IAT_WINDOW, TRUST_LIST_JWT, VC_JWT,
};
use crate::store::{Batch, SignedList, StatusRow, StoreError};

/// Key of the signed audit head in [`Published`] (`GET /v1/audit/head`).
pub const AUDIT_HEAD_KEY: &str = "audit/head";

/// A published artifact: the exact bytes served, with their validator.
#[derive(Debug)]
pub struct Artifact {
    /// Body.
    pub body: Bytes,
    /// Weak entity tag (weak because gzip may re-encode the bytes).
    pub etag: String,
    /// Media type.
    pub content_type: &'static str,
    /// The body gzipped, made on the first GET that accepts gzip (`routes/publish.rs`).
    pub gzip: std::sync::OnceLock<Bytes>,
}

impl Artifact {
    pub(super) fn new(body: impl Into<Bytes>, content_type: &'static str) -> Self {
        let body = body.into();
        let digest = Sha256::digest(&body);
        let tag = b64_encode(digest.get(..16).unwrap_or_default());
        Artifact {
            body,
            etag: format!("W/\"{tag}\""),
            content_type,
            gzip: std::sync::OnceLock::new(),
        }
    }
}

/// The bytes GETs serve, by key (`trust-list/{eco}`, `status/{slug}/{list}[-purpose]`,
/// `bundle`, `audit/head`). Reads take a read lock for a pointer copy; writers replace whole
/// entries.
#[derive(Debug, Default)]
pub struct Published {
    map: RwLock<HashMap<String, Arc<Artifact>>>,
    /// Versions of every list, for compact and delta sync (`registry/sync.rs`).
    pub sync: std::sync::Mutex<super::SyncHistory>,
    /// The bundle and the compact body no longer match the lists: rebuilt by the next GET of
    /// either (or of a delta) or the next tick, not by every group of updates (each costs
    /// work over every list: at 100 million entries, 1,526 lists, far more than a group).
    stale: std::sync::atomic::AtomicBool,
}

impl Published {
    /// The artifact under a key.
    pub fn get(&self, key: &str) -> Option<Arc<Artifact>> {
        self.map.read().ok()?.get(key).cloned()
    }

    /// Whether the bundle and the compact body wait for a rebuild
    /// (`Registry::refresh_published`).
    pub fn is_stale(&self) -> bool {
        self.stale.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(super) fn put(&self, key: String, a: Artifact) {
        if let Ok(mut m) = self.map.write() {
            m.insert(key, Arc::new(a));
        }
    }
}

impl PurposeState {
    /// A list's state from its stored row. `held` is what memory held for it: while the
    /// signed list is the same, its signed bits are kept; otherwise a dirty row's signed bits
    /// are read from its `jws` (they are not the stored bits, which other replicas changed
    /// since).
    pub(super) fn from_row(
        bits: Bitstring,
        jws: String,
        valid_from: u64,
        valid_until: u64,
        dirty: bool,
        held: Option<&PurposeState>,
    ) -> PurposeState {
        let signed = if !dirty {
            None
        } else if let Some(h) = held.filter(|h| h.jws == jws) {
            Some(h.signed_bits().clone())
        } else {
            signed_bits_of(&jws)
        };
        PurposeState {
            bits,
            signed,
            jws,
            valid_from,
            valid_until,
            dirty,
        }
    }

    /// The bits the signed list (`jws`) carries: what the compact body and deltas show
    /// (never bits nobody signed yet).
    pub(super) fn signed_bits(&self) -> &Bitstring {
        self.signed.as_ref().unwrap_or(&self.bits)
    }
}

/// The bits of one of our own signed lists, read from its payload (`None`, with an error
/// logged, when it is not one: the list is re-signed by the next tick).
fn signed_bits_of(jws: &str) -> Option<Bitstring> {
    let bits = Jws::parse(jws, Typ::Vc, super::MAX_TRUST_LIST_BODY)
        .ok()
        .and_then(|j| {
            let encoded = j
                .unverified_payload()
                .get("credentialSubject")?
                .get("encodedList")?
                .as_str()?
                .to_owned();
            decode_encoded_list(&encoded).ok()
        })
        .and_then(|b| Bitstring::new(b, 1).ok());
    if bits.is_none() {
        tracing::error!(
            "a stored status list does not carry its bits: served as is until re-signed"
        );
    }
    bits
}

impl Registry {
    pub(super) fn sign(
        &self,
        slug: &str,
        list_id: &str,
        p: Purpose,
        bits: &Bitstring,
        vf: u64,
    ) -> String {
        let url = p.list_url(&self.status_base(slug), list_id);
        let spec = StatusListSpec {
            id: &url,
            issuer: &self.settings.authority_did,
            purpose: p,
            valid_from: vf,
            valid_until: vf.saturating_add(self.settings.freshness),
            ttl_ms: self.settings.ttl.saturating_mul(1000),
        };
        let payload = status_list_payload(&spec, bits);
        match self.active() {
            Some(k) => sign_status_list(&payload, &k.kp),
            // Unreachable after `open` (which creates a key); an empty string is never served
            // as a valid list, and the next tick re-signs.
            None => String::new(),
        }
    }

    /// Signs a list's bits with the next strictly increasing `validFrom`
    /// (`max(now, previous + 1)`: verifiers refuse a list not newer than the one they hold).
    pub(super) fn sign_next(
        &self,
        slug: &str,
        list_id: &str,
        p: Purpose,
        s: &mut PurposeState,
        now: u64,
    ) {
        let next = now.max(s.valid_from.saturating_add(1));
        s.jws = self.sign(slug, list_id, p, &s.bits, next);
        s.valid_from = next;
        s.valid_until = next.saturating_add(self.settings.freshness);
        s.dirty = false;
        s.signed = None;
    }

    pub(super) fn status_row(slug: &str, list_id: &str, p: Purpose, s: &PurposeState) -> StatusRow {
        StatusRow {
            slug: slug.into(),
            list_id: list_id.into(),
            purpose: p.as_str().into(),
            bits: s.bits.bytes().to_vec(),
            jws: s.jws.clone(),
            valid_from: s.valid_from,
            valid_until: s.valid_until,
            dirty: s.dirty,
        }
    }

    /// Re-signs the lists that need it: every change waiting to be published, and lists past
    /// half their freshness. Returns how many were re-signed.
    ///
    /// A waiting change is published now even when `previous validFrom + 1` is ahead of the
    /// clock (after the clock jumped forward and back): waiting for the clock to catch up
    /// would hide a revocation for as long as the jump. Requests defer at most to this tick,
    /// which runs every second, so `validFrom` advances by at most one second per second and
    /// a burst cannot run it away.
    ///
    /// A list is signed over every bit memory holds, and recorded only over the signed
    /// version memory holds (`store::SignedList`): when another replica signed since, nothing
    /// is recorded nor published, memory is re-read, and the next tick signs after it.
    pub fn resign(&mut self, now: u64) -> Result<usize, StoreError> {
        if !self.signs {
            // A replica without the lease: the one holding it signs (`follow.rs`).
            return Ok(0);
        }
        let half = self.settings.freshness / 2;
        let mut todo = Vec::new();
        for (slug, i) in &self.issuers {
            for (lid, l) in &i.lists {
                for (p, s) in &l.purposes {
                    if s.dirty || now >= s.valid_from.saturating_add(half) {
                        todo.push((slug.clone(), lid.clone(), *p));
                    }
                }
            }
        }
        let mut rows = Vec::new();
        let mut updated = Vec::new();
        for (slug, lid, p) in todo {
            let Some(s) = self.purpose_state(&slug, &lid, p) else {
                continue;
            };
            let mut s = s.clone();
            let replaces = s.valid_from;
            self.sign_next(&slug, &lid, p, &mut s, now);
            rows.push(SignedList {
                row: Self::status_row(&slug, &lid, p, &s),
                replaces,
            });
            updated.push((slug, lid, p, s));
        }
        if rows.is_empty() {
            return Ok(0);
        }
        let batch = Batch {
            // Bits other replicas set since memory read them leave the list dirty, for the
            // next tick; a list signed since by another replica refuses the batch.
            signed: rows,
            ..Batch::default()
        };
        match self.commit(&batch, now) {
            Ok(_) => {}
            Err(StoreError::Conflict(e)) => {
                tracing::warn!(error = %e, "signing refused: re-reading");
                self.reload()?;
                return Ok(0);
            }
            Err(e) => return Err(e),
        }
        let n = updated.len();
        for (slug, lid, p, s) in updated {
            if let Some(slot) = self.purpose_state_mut(&slug, &lid, p) {
                *slot = s;
            }
            self.publish_status(&slug, &lid, p);
        }
        self.publish_bundle();
        Ok(n)
    }

    /// The periodic task: re-sign what is due, re-sign the audit head once a minute, forget
    /// old `jti`s once a minute.
    pub fn tick(&mut self, now: u64) -> Result<usize, StoreError> {
        if self.replicated && self.signs {
            // Sign what every replica committed, over the signed versions they left.
            self.reload()?;
        }
        if now >= self.last_prune.saturating_add(60) {
            self.store.prune_jtis(now.saturating_sub(2 * IAT_WINDOW))?;
            self.last_prune = now;
        }
        if now >= self.last_head.saturating_add(HEAD_REFRESH) || now < self.last_head {
            self.sign_head(now)?;
        }
        let n = self.resign(now)?;
        self.refresh_published();
        Ok(n)
    }

    /// Signs the audit log's head (`seq`, `hash`, time) with the active status authority key
    /// and publishes it: anyone holding an exported copy of the log can check that the
    /// registry vouched for exactly that chain (`cellproof-server audit verify`).
    pub(super) fn sign_head(&mut self, now: u64) -> Result<(), StoreError> {
        let (seq, hash) = self.store.head()?.unwrap_or((0, String::new()));
        let Some(k) = self.active() else {
            return Ok(());
        };
        let payload = json!({
            "iss": self.settings.authority_did,
            "registry": self.settings.public_url,
            "seq": seq,
            "hash": hash,
            "iat": now,
        });
        let jws = sign_json(Typ::AuditHead, &payload, &k.kp);
        self.published
            .put(AUDIT_HEAD_KEY.into(), Artifact::new(jws, AUDIT_HEAD_JWT));
        self.last_head = now;
        Ok(())
    }

    pub(super) fn publish_status(&self, slug: &str, lid: &str, p: Purpose) {
        if let Some(s) = self.purpose_state(slug, lid, p) {
            self.published.put(
                format!("status/{slug}/{lid}{}", p.suffix()),
                Artifact::new(s.jws.clone(), VC_JWT),
            );
        }
    }

    /// The stored bytes of every trust list the core's store accepts now, by ecosystem.
    pub(super) fn accepted_trust_lists(&self) -> impl Iterator<Item = (&String, &String)> {
        self.trust_raw
            .iter()
            .filter(|(eco, _)| self.trust.list(eco).is_some())
    }

    /// Marks the bundle and the compact body for a rebuild: the lists changed.
    pub(super) fn publish_bundle(&self) {
        self.published
            .stale
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Rebuilds the bundle and the compact body (and records the lists' versions for deltas)
    /// when the lists changed since the last rebuild. Called by GETs of the bundle, the
    /// compact body and deltas when `Published::is_stale`, and by the tick.
    /// The flag is cleared only once the new bytes are in place (every writer that marks it
    /// holds the registry mutex, as the caller does), so a GET that sees it clear never gets
    /// the previous bundle.
    pub fn refresh_published(&self) {
        if self.published.is_stale() {
            self.build_bundle();
            self.published
                .stale
                .store(false, std::sync::atomic::Ordering::Release);
        }
    }

    fn build_bundle(&self) {
        let trust: Vec<&str> = self
            .accepted_trust_lists()
            .map(|(_, raw)| raw.as_str())
            .collect();
        let status: Vec<&str> = self
            .issuers
            .values()
            .flat_map(|i| i.lists.values())
            .flat_map(|l| l.purposes.values())
            .map(|s| s.jws.as_str())
            .collect();
        let body = json!({
            "registry": self.settings.public_url,
            "trustLists": trust,
            "statusLists": status,
        });
        self.published.put(
            "bundle".into(),
            Artifact::new(body.to_string(), "application/json"),
        );
        self.publish_compact();
    }

    pub(super) fn publish_everything(&self) {
        for (eco, raw) in self.accepted_trust_lists() {
            self.published.put(
                format!("trust-list/{eco}"),
                Artifact::new(raw.clone(), TRUST_LIST_JWT),
            );
        }
        for (slug, i) in &self.issuers {
            for (lid, l) in &i.lists {
                for p in l.purposes.keys() {
                    self.publish_status(slug, lid, *p);
                }
            }
        }
        self.publish_bundle();
        self.refresh_published();
    }
}
