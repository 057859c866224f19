//! The registry's state and the operations that change it, split along the routes:
//! `publication.rs` (signing and publishing status lists, trust lists, the bundle and the
//! signed audit head; re-signing on the tick), `issuer.rs` (the signed issuer protocol:
//! authentication outside the lock, status updates, allocation) and `operator.rs` (trust-list
//! upload, onboarding, authority keys). This file holds the state and loading it.
//!
//! One [`Registry`] lives behind a mutex; every change runs on the blocking pool, builds one
//! storage [`Batch`], commits it (on disk when `commit` returns), and only then changes
//! memory and the [`Published`] bytes that GETs serve. Signing happens here, never on GET.
//! Issuer requests are parsed and verified against a [`Gate`] snapshot before the mutex is
//! taken: unauthenticated input never holds the lock.

mod follow;
mod inspector;
mod issuer;
mod lifecycle;

pub use lifecycle::event_successors_all;
mod operator;
mod passport;
mod publication;
mod sync;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use cellproof_core::{
    Bitstring, Jws, KeyPair, PublicKey, Purpose, TrustStore, Typ, MAX_REQUEST, MIN_ENTRIES,
    REQUEST_IAT_WINDOW,
};
use serde_json::{json, Value};

use crate::store::{AuthorityKeyRow, Batch, EventRow, ItemRow, NewAudit, Store, StoreError};

pub use follow::settled;
pub use inspector::{ReadRequest, ReportsAnswer, RestrictedAnswer};
pub use issuer::{
    AllocateAck, Authenticated, Committer, DocumentRequest, Gate, IssuerAck, UpdateAck,
};
pub use operator::{valid_list_id, Onboard};
pub use passport::{
    chain_document, document_digests, subject_of, valid_digest, DocumentAck, PassportAck,
    DEFAULT_DOCUMENT_QUOTA, DEFAULT_MAX_DOCUMENT, MAX_PACK_ITEMS,
};
pub use publication::{Artifact, Published, AUDIT_HEAD_KEY};
pub use sync::{DeltaPlan, Since, SyncHistory, COMPACT_KEY, CURSOR_HEADER};

/// Entries per list (W3C minimum: herd privacy).
pub const LIST_ENTRIES: u64 = MIN_ENTRIES;
/// Most indexes one allocation request may ask for.
pub const MAX_ALLOCATE: u64 = 1000;
/// Accepted distance between a request's `iat` and the server clock (SPEC.md section 6.1).
pub const IAT_WINDOW: u64 = REQUEST_IAT_WINDOW;
/// Body limit for issuer-signed requests.
pub const MAX_JWS_BODY: usize = MAX_REQUEST;
/// Body limit for a trust-list upload.
pub const MAX_TRUST_LIST_BODY: usize = 1024 * 1024;
/// How far ahead of the clock a list's `validFrom` may run when a request publishes it
/// directly; beyond that the change waits for the next tick (at most a second), so a burst
/// of updates to one list coalesces instead of pushing `validFrom` ever further ahead.
pub const MAX_LEAD: u64 = 1;
/// Seconds between re-signings of the audit head when nothing changes (its `iat` says how
/// recently the registry vouched for it).
pub const HEAD_REFRESH: u64 = 60;

/// Media type of a status list.
pub const VC_JWT: &str = "application/vc+jwt";
/// Media type of a trust list.
pub const TRUST_LIST_JWT: &str = "application/trust-list+jwt";
/// Media type of the signed audit head.
pub const AUDIT_HEAD_JWT: &str = "application/audit-head+jwt";

/// The current Unix time from the system clock.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// SHA-256 of bytes as lower-case hex (request digests in the audit log).
pub fn digest_hex(bytes: &[u8]) -> String {
    crate::store::hex_digest(bytes)
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b)?;
    Ok(b)
}

/// Settings the registry signs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Public URL, no trailing slash: the `aud` every request must carry.
    pub public_url: String,
    /// Status authority DID.
    pub authority_did: String,
    /// `validUntil - validFrom`, seconds.
    pub freshness: u64,
    /// `ttl`, seconds.
    pub ttl: u64,
    /// Largest document accepted by `PUT /v1/documents/{digest}`, bytes.
    pub max_document: usize,
    /// Bytes of documents one uploader may hold (`document_quota_bytes`).
    pub document_quota: u64,
}

#[derive(Clone, Debug)]
struct PurposeState {
    /// Every acknowledged change (of every replica, as last read).
    bits: Bitstring,
    /// The bits `jws` carries, when they differ from `bits` (changes not yet signed).
    signed: Option<Bitstring>,
    jws: String,
    valid_from: u64,
    valid_until: u64,
    dirty: bool,
}

#[derive(Clone, Debug)]
struct ListState {
    allocated: Bitstring,
    purposes: BTreeMap<Purpose, PurposeState>,
}

#[derive(Clone, Debug)]
struct IssuerState {
    did: String,
    /// The one ecosystem the issuer is authenticated in (SPEC.md section 4); `None` only for
    /// issuers onboarded before bindings existed, whose requests are refused until the
    /// operator onboards them again with an `eco`.
    eco: Option<String>,
    lists: BTreeMap<String, ListState>,
}

#[derive(Clone, Debug)]
struct AuthorityKey {
    kp: KeyPair,
    created: u64,
    active: bool,
}

/// The registry.
pub struct Registry {
    store: Arc<dyn Store>,
    settings: Settings,
    /// The pinned ecosystem roots the trust lists are accepted under.
    pins: Vec<(String, PublicKey)>,
    trust: TrustStore,
    /// The compact bytes of each accepted trust list, by ecosystem, as uploaded (what is
    /// stored and served); the parsed lists live in `trust` alone.
    trust_raw: BTreeMap<String, String>,
    issuers: BTreeMap<String, IssuerState>,
    keys: Vec<AuthorityKey>,
    items: BTreeMap<String, ItemRow>,
    /// Public passport versions by battery path, oldest first.
    passports: BTreeMap<String, Vec<String>>,
    /// Applied lifecycle events by battery path, in `seq` order (SPEC.md 1.2 section 3.4).
    events: BTreeMap<String, Vec<EventRow>>,
    /// Every applied event's `id` -> its battery path (an event is applied once).
    event_ids: BTreeMap<String, String>,
    /// Digest of every public version -> (battery path, version).
    passport_digests: BTreeMap<String, (String, u64)>,
    /// Who may set a document's media type: the issuers whose versions link it.
    document_links: passport::DocumentLinks,
    /// Digest of every restricted section -> (battery path, tier); the bytes stay in the store.
    restricted: BTreeMap<String, (String, String)>,
    /// Attestations by digest.
    attestations: BTreeMap<String, String>,
    /// Inspection reports: digest -> (battery path, inspector); the bytes stay in the store.
    reports: BTreeMap<String, (String, String)>,
    published: Arc<Published>,
    gate: Arc<RwLock<Arc<Gate>>>,
    last_prune: u64,
    last_head: u64,
    /// Whether this process signs status lists: always alone on a store; among replicas only
    /// while it holds the lease (`replica.rs`), the others record bits and leave the lists
    /// dirty for it.
    signs: bool,
    /// One of several replicas of its store (`follow.rs`).
    replicated: bool,
}

impl Registry {
    /// Loads the state from the store, creates a status authority key on first start,
    /// re-signs what needs it (public URL changed, deferred updates) and publishes.
    pub fn open(
        store: Arc<dyn Store>,
        settings: Settings,
        pins: &[(String, PublicKey)],
        published: Arc<Published>,
        now: u64,
    ) -> anyhow::Result<Registry> {
        let snap = store.load()?;
        let mut trust = TrustStore::new();
        for (eco, root) in pins {
            trust.pin_root(eco, root);
        }
        let mut trust_raw = BTreeMap::new();
        for (r, (eco, _, jws)) in trust
            .insert_all(snap.trust_lists.iter().map(|(_, _, j)| j.as_str()))
            .into_iter()
            .zip(&snap.trust_lists)
        {
            match r {
                Ok(_) => {
                    trust_raw.insert(eco.clone(), jws.clone());
                }
                Err(e) => {
                    tracing::warn!(eco, code = e.code(), "held trust list no longer accepted")
                }
            }
        }
        let mut reg = Registry {
            store,
            settings,
            pins: pins.to_vec(),
            trust,
            trust_raw,
            issuers: BTreeMap::new(),
            keys: Vec::new(),
            items: snap
                .items
                .into_iter()
                .map(|i| (i.path.clone(), i))
                .collect(),
            passports: BTreeMap::new(),
            events: BTreeMap::new(),
            event_ids: BTreeMap::new(),
            passport_digests: BTreeMap::new(),
            document_links: Default::default(),
            restricted: snap
                .restricted
                .into_iter()
                .map(|r| (r.digest, (r.path, r.tier)))
                .collect(),
            attestations: snap
                .attestations
                .into_iter()
                .map(|a| (a.digest, a.jws))
                .collect(),
            reports: snap
                .reports
                .into_iter()
                .map(|r| (r.digest, (r.path, r.issuer)))
                .collect(),
            published,
            gate: Arc::default(),
            last_prune: 0,
            last_head: 0,
            signs: true,
            replicated: false,
        };
        for e in snap.events {
            reg.hold_event(e);
        }
        // Ordered by path and version: each battery's versions arrive oldest first.
        for p in snap.passports {
            reg.passport_digests
                .insert(p.digest, (p.path.clone(), p.version));
            reg.passports.entry(p.path).or_default().push(p.jws);
        }
        for k in snap.authority_keys {
            reg.keys.push(AuthorityKey {
                kp: KeyPair::from_secret(&k.kid, &k.secret),
                created: k.created,
                active: k.active,
            });
        }
        if !reg.keys.iter().any(|k| k.active) {
            let row = new_key_row(now, &reg.keys, true)?;
            reg.store.commit(
                &Batch {
                    authority_keys: vec![row.clone()],
                    audit: vec![NewAudit {
                        actor: "server".into(),
                        action: "authority.create".into(),
                        detail: json!({ "kid": row.kid }),
                        digest: String::new(),
                    }],
                    ..Batch::default()
                },
                now,
            )?;
            reg.keys.push(AuthorityKey {
                kp: KeyPair::from_secret(&row.kid, &row.secret),
                created: row.created,
                active: true,
            });
        }
        for i in snap.issuers {
            if i.eco.is_none() {
                tracing::warn!(
                    did = %i.did,
                    "issuer onboarded without an ecosystem: its requests are refused until it \
                     is onboarded again with \"eco\""
                );
            }
            reg.issuers.insert(
                i.slug,
                IssuerState {
                    did: i.did,
                    eco: i.eco,
                    lists: BTreeMap::new(),
                },
            );
        }
        for l in snap.lists {
            let allocated = Bitstring::new(l.allocated, 1)
                .map_err(|e| anyhow::anyhow!("allocation bitmap of {}: {e}", l.list_id))?;
            if let Some(iss) = reg.issuers.get_mut(&l.slug) {
                iss.lists.insert(
                    l.list_id,
                    ListState {
                        allocated,
                        purposes: BTreeMap::new(),
                    },
                );
            }
        }
        for s in snap.status {
            let purpose = Purpose::parse_any(&s.purpose)
                .ok_or_else(|| anyhow::anyhow!("unknown purpose {}", s.purpose))?;
            let bits = Bitstring::new(s.bits, purpose.status_size())
                .map_err(|e| anyhow::anyhow!("bits of {}: {e}", s.list_id))?;
            // A changed public URL or authority DID changes the list's id or issuer: re-sign.
            let expected = purpose.list_url(&reg.status_base(&s.slug), &s.list_id);
            let current = jws_id_issuer(&s.jws);
            let stale = current
                != Some((
                    expected.clone(),
                    reg.settings.authority_did.clone(),
                    reg.active_kid().to_owned(),
                ));
            if let Some(list) = reg
                .issuers
                .get_mut(&s.slug)
                .and_then(|i| i.lists.get_mut(&s.list_id))
            {
                let state = PurposeState::from_row(
                    bits,
                    s.jws,
                    s.valid_from,
                    s.valid_until,
                    s.dirty || stale,
                    None,
                );
                list.purposes.insert(purpose, state);
            }
        }
        reg.add_lifecycle_lists(now)?;
        reg.resign(now)?;
        reg.publish_everything();
        reg.publish_passports();
        reg.sign_head(now)?;
        reg.refresh_gate();
        Ok(reg)
    }

    /// Settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `{public_url}/v1/status/{slug}/` (SPEC.md section 6.1).
    pub fn status_base(&self, slug: &str) -> String {
        format!("{}/v1/status/{slug}/", self.settings.public_url)
    }

    /// The accepted trust lists.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    fn active(&self) -> Option<&AuthorityKey> {
        self.keys.iter().find(|k| k.active)
    }

    fn active_kid(&self) -> &str {
        self.active().map(|k| k.kp.kid.as_str()).unwrap_or_default()
    }

    /// Public keys of the status authority (all, newest last): what trust lists must list.
    pub fn authority_public_keys(&self) -> Vec<PublicKey> {
        self.keys.iter().map(|k| k.kp.public()).collect()
    }

    /// The authority keys as JSON for the operator.
    pub fn authority_json(&self) -> Value {
        json!({
            "id": self.settings.authority_did,
            "keys": self.keys.iter().map(|k| json!({
                "kid": k.kp.kid, "jwk": k.kp.public().to_jwk(), "created": k.created,
                "active": k.active,
            })).collect::<Vec<_>>(),
        })
    }

    /// Onboarded issuers as JSON.
    pub fn issuers_json(&self) -> Value {
        Value::Array(
            self.issuers
                .iter()
                .map(|(slug, i)| {
                    json!({"slug": slug, "did": i.did, "eco": i.eco,
                       "statusBase": self.status_base(slug),
                       "lists": i.lists.keys().collect::<Vec<_>>()})
                })
                .collect(),
        )
    }

    /// The item registered for a Digital Link path, with its status list URLs.
    pub fn item(&self, path: &str) -> Option<(ItemRow, Vec<(Purpose, String)>)> {
        let it = self.items.get(path)?;
        let base = self.status_base(&it.slug);
        let urls = Purpose::LISTS
            .iter()
            .map(|p| (*p, p.list_url(&base, &it.list_id)))
            .collect();
        Some((it.clone(), urls))
    }

    /// Commits a batch; when it appends to the audit log, signs and publishes the new head
    /// (every change batch is covered by a signed head as soon as it is acknowledged).
    fn commit(&mut self, batch: &Batch, now: u64) -> Result<Vec<i64>, StoreError> {
        let seqs = self.store.commit(batch, now)?;
        if !batch.audit.is_empty() {
            // The change is committed: a failure to read the head back only delays the
            // signed head to the next tick, it does not undo the acknowledgement.
            if let Err(e) = self.sign_head(now) {
                tracing::error!(error = %e, "signing the audit head failed");
            }
        }
        Ok(seqs)
    }

    fn purpose_state(&self, slug: &str, lid: &str, p: Purpose) -> Option<&PurposeState> {
        self.issuers.get(slug)?.lists.get(lid)?.purposes.get(&p)
    }

    fn purpose_state_mut(
        &mut self,
        slug: &str,
        lid: &str,
        p: Purpose,
    ) -> Option<&mut PurposeState> {
        self.issuers
            .get_mut(slug)?
            .lists
            .get_mut(lid)?
            .purposes
            .get_mut(&p)
    }
}

fn new_key_row(now: u64, keys: &[AuthorityKey], active: bool) -> anyhow::Result<AuthorityKeyRow> {
    let secret = random_bytes::<32>().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let tag = random_bytes::<3>().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let mut kid = format!("sa-{now}-{}", cellproof_core::b64_encode(&tag));
    while keys.iter().any(|k| k.kp.kid == kid) {
        kid.push('x');
    }
    Ok(AuthorityKeyRow {
        kid,
        secret,
        created: now,
        active,
    })
}

/// `(id, issuer, kid)` of a signed status list, without verifying it (our own bytes).
fn jws_id_issuer(jws: &str) -> Option<(String, String, String)> {
    // Our own lists: 16 KiB of bits at most before GZIP, far below this bound.
    let j = Jws::parse(jws, Typ::Vc, MAX_TRUST_LIST_BODY).ok()?;
    let p = j.unverified_payload();
    Some((
        p.get("id")?.as_str()?.to_owned(),
        p.get("issuer")?.as_str()?.to_owned(),
        j.header().kid.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    pub(super) fn settings(url: &str) -> Settings {
        Settings {
            public_url: url.into(),
            authority_did: "did:web:registry.example".into(),
            freshness: 100,
            ttl: 10,
            max_document: DEFAULT_MAX_DOCUMENT,
            document_quota: DEFAULT_DOCUMENT_QUOTA,
        }
    }

    pub(super) fn registry(dir: &std::path::Path, t: u64) -> Registry {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let pins = [(
            "test-eco".to_owned(),
            KeyPair::from_secret("r1", &[1; 32]).public(),
        )];
        let mut reg = Registry::open(
            store,
            settings("http://registry.example"),
            &pins,
            Arc::default(),
            t,
        )
        .unwrap();
        let o = Onboard {
            slug: "a".into(),
            did: "did:web:a.example".into(),
            eco: "test-eco".into(),
            lists: vec!["1".into()],
        };
        reg.onboard(&o, String::new(), "test", t).unwrap();
        reg
    }

    #[test]
    fn re_signs_past_half_life_only() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let mut reg = registry(dir.path(), t);
        let served = reg.published.get("status/a/1").unwrap();
        assert_eq!(reg.tick(t + 10).unwrap(), 0, "young lists are left alone");
        assert!(Arc::ptr_eq(
            &served,
            &reg.published.get("status/a/1").unwrap()
        ));
        assert_eq!(
            reg.tick(t + 50).unwrap(),
            4,
            "half-life: every purpose, the lifecycle list too"
        );
        let s = reg.purpose_state("a", "1", Purpose::Revocation).unwrap();
        assert_eq!((s.valid_from, s.valid_until), (t + 50, t + 150));
        assert_ne!(served.body, reg.published.get("status/a/1").unwrap().body);
        // A change re-signed with the clock set back does not move validFrom back.
        reg.purpose_state_mut("a", "1", Purpose::Revocation)
            .unwrap()
            .dirty = true;
        assert_eq!(reg.resign(t).unwrap(), 1);
        let s = reg.purpose_state("a", "1", Purpose::Revocation).unwrap();
        assert_eq!(s.valid_from, t + 51);
    }

    #[test]
    fn a_change_after_a_clock_jump_back_is_published_at_the_next_tick() {
        // Cause: the clock jumped three hours ahead (a list got re-signed with validFrom in
        // that future), then back; a change then waited for the clock to catch up with
        // `validFrom + 1` before publication: revocations hidden for hours.
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let mut reg = registry(dir.path(), t);
        let ahead = t + 3 * 3600;
        assert_eq!(
            reg.tick(ahead).unwrap(),
            4,
            "half-life passed in the jumped clock"
        );
        let back = t + 20;
        reg.purpose_state_mut("a", "1", Purpose::Revocation)
            .unwrap()
            .dirty = true;
        assert_eq!(reg.tick(back).unwrap(), 1, "published at the first tick");
        let s = reg.purpose_state("a", "1", Purpose::Revocation).unwrap();
        assert!(!s.dirty);
        assert_eq!(s.valid_from, ahead + 1, "strictly increasing validFrom");
        // A burst does not run validFrom away: one step per tick at most.
        for i in 1..=5 {
            reg.purpose_state_mut("a", "1", Purpose::Revocation)
                .unwrap()
                .dirty = true;
            reg.tick(back + i).unwrap();
        }
        let s = reg.purpose_state("a", "1", Purpose::Revocation).unwrap();
        assert_eq!(s.valid_from, ahead + 6);
    }

    #[test]
    fn an_issuer_onboarded_before_bindings_is_refused_until_bound() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let did = "did:web:a.example";
        let row = crate::store::IssuerRow {
            slug: "a".into(),
            did: did.into(),
            eco: None,
        };
        store
            .commit(
                &Batch {
                    issuers: vec![row],
                    ..Batch::default()
                },
                t,
            )
            .unwrap();
        let pins = [(
            "test-eco".to_owned(),
            KeyPair::from_secret("r1", &[1; 32]).public(),
        )];
        let url = "http://registry.example";
        let mut reg = Registry::open(store, settings(url), &pins, Arc::default(), t).unwrap();
        let body = cellproof_core::sign_json(
            Typ::RegistryRequest,
            &json!({"iss": did, "iat": t, "jti": "j", "aud": url, "op": "allocate",
                    "list": "1", "count": 1}),
            &KeyPair::from_secret("k1", &[5; 32]),
        );
        let op = cellproof_core::Op::Allocate;
        assert_eq!(
            reg.gate().authenticate(body.as_bytes(), op, t).unwrap_err(),
            crate::errors::UpdateError::NotBound { iss: did.into() }
        );
        let o = Onboard {
            slug: "a".into(),
            did: did.into(),
            eco: "test-eco".into(),
            lists: vec!["1".into()],
        };
        reg.onboard(&o, String::new(), "test", t).unwrap();
        // Bound now: the request goes on to the trust check (no trust list held here).
        let e = reg.gate().authenticate(body.as_bytes(), op, t).unwrap_err();
        assert_eq!(e.problem().kind, "unknown-issuer");
    }

    #[test]
    fn reopening_keeps_valid_from_and_re_signs_for_a_new_public_url() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let reg = registry(dir.path(), t);
        let before = reg.published.get("status/a/1-refresh").unwrap();
        drop(reg);
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let reg = Registry::open(
            store,
            settings("http://moved.example"),
            &[],
            Arc::default(),
            t,
        )
        .unwrap();
        let s = reg.purpose_state("a", "1", Purpose::Refresh).unwrap();
        assert_eq!(
            s.valid_from,
            t + 1,
            "strictly newer than the list it replaces"
        );
        let after = reg.published.get("status/a/1-refresh").unwrap();
        assert_ne!(before.body, after.body);
        let (id, _, _) = jws_id_issuer(std::str::from_utf8(&after.body).unwrap()).unwrap();
        assert_eq!(id, "http://moved.example/v1/status/a/1-refresh");
    }
}
