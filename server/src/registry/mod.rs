//! The registry's state and every operation that changes it: trust-list upload, issuer
//! onboarding, index allocation, status updates, re-signing, authority key rotation.
//!
//! One [`Registry`] lives behind a mutex; every operation runs on the blocking pool, builds
//! one storage [`Batch`], commits it (on disk when `commit` returns), and only then changes
//! memory and the [`Published`] bytes that GETs serve. Signing happens here, never on GET.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use actix_web::web::Bytes;
use cellproof_core::{
    b64_encode, sign_status_list, status_list_payload, Accepted, Bitstring, Error as CoreError,
    Jws, KeyPair, PublicKey, Purpose, StatusListSpec, TrustList, TrustStore, Typ, CREDENTIAL_ROLES,
    MIN_ENTRIES,
};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::errors::{OperatorError, UpdateError};
use crate::store::{
    AuthorityKeyRow, Batch, IssuerRow, ItemRow, JtiRow, ListRow, NewAudit, StatusRow, Store,
    StoreError,
};

/// Entries per list (W3C minimum: herd privacy).
pub const LIST_ENTRIES: u64 = MIN_ENTRIES;
/// Most indexes one allocation request may ask for.
pub const MAX_ALLOCATE: u64 = 1000;
/// Accepted distance between a request's `iat` and the server clock (SPEC.md section 6).
pub const IAT_WINDOW: u64 = 300;
/// Body limit for issuer-signed requests.
pub const MAX_JWS_BODY: usize = 64 * 1024;
/// Body limit for a trust-list upload.
pub const MAX_TRUST_LIST_BODY: usize = 1024 * 1024;
/// Longest `jti` accepted.
pub const MAX_JTI: usize = 128;
/// How far ahead of the clock a re-signed list's `validFrom` may run before publication is
/// deferred to the next tick (bursts of updates to one list coalesce instead of pushing
/// `validFrom` ever further into the future).
pub const MAX_LEAD: u64 = 1;

/// Media type of a status list.
pub const VC_JWT: &str = "application/vc+jwt";
/// Media type of a trust list.
pub const TRUST_LIST_JWT: &str = "application/trust-list+jwt";

/// The current Unix time.
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

/// A published artifact: the exact bytes served, with their validator.
#[derive(Debug)]
pub struct Artifact {
    /// Body.
    pub body: Bytes,
    /// Weak entity tag (weak because gzip may re-encode the bytes).
    pub etag: String,
    /// Media type.
    pub content_type: &'static str,
}

impl Artifact {
    fn new(body: impl Into<Bytes>, content_type: &'static str) -> Self {
        let body = body.into();
        let digest = Sha256::digest(&body);
        let tag = b64_encode(digest.get(..16).unwrap_or_default());
        Artifact {
            body,
            etag: format!("W/\"{tag}\""),
            content_type,
        }
    }
}

/// The bytes GETs serve, by key (`trust-list/{eco}`, `status/{slug}/{list}[-purpose]`,
/// `bundle`). Reads take a read lock for a pointer copy; writers replace whole entries.
#[derive(Debug, Default)]
pub struct Published {
    map: RwLock<HashMap<String, Arc<Artifact>>>,
}

impl Published {
    /// The artifact under a key.
    pub fn get(&self, key: &str) -> Option<Arc<Artifact>> {
        self.map.read().ok()?.get(key).cloned()
    }

    fn put(&self, key: String, a: Artifact) {
        if let Ok(mut m) = self.map.write() {
            m.insert(key, Arc::new(a));
        }
    }
}

/// Settings the registry signs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Public URL, no trailing slash.
    pub public_url: String,
    /// Status authority DID.
    pub authority_did: String,
    /// `validUntil - validFrom`, seconds.
    pub freshness: u64,
    /// `ttl`, seconds.
    pub ttl: u64,
}

#[derive(Clone, Debug)]
struct PurposeState {
    bits: Bitstring,
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
    lists: BTreeMap<String, ListState>,
}

#[derive(Clone, Debug)]
struct AuthorityKey {
    kp: KeyPair,
    created: u64,
    active: bool,
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

/// What `POST /v1/allocate` answers (SPEC.md section 6).
#[derive(Clone, Debug, serde::Serialize)]
pub struct AllocateAck {
    /// List id.
    pub list: String,
    /// Fresh random indexes.
    pub indexes: Vec<u64>,
}

/// An onboarding request: which DID owns which list ids under which slug.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Onboard {
    /// URL slug.
    pub slug: String,
    /// Issuer DID.
    pub did: String,
    /// List ids to create (existing ones are kept).
    pub lists: Vec<String>,
}

/// An authenticated issuer request.
struct Authenticated {
    iss: String,
    iat: u64,
    jti: String,
    slug: String,
    list: String,
    payload: Map<String, Value>,
}

fn malformed(detail: impl Into<String>) -> UpdateError {
    UpdateError::Malformed {
        detail: detail.into(),
        code: None,
    }
}

fn internal(e: impl std::fmt::Display) -> UpdateError {
    tracing::error!(error = %e, "status request failed");
    UpdateError::Internal
}

fn op_internal(e: impl std::fmt::Display) -> OperatorError {
    tracing::error!(error = %e, "operator request failed");
    OperatorError::Internal
}

fn valid_slug(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

/// List ids: letters, digits and `_` (no `-`, which would be ambiguous with the purpose
/// suffix of SPEC.md section 5).
pub fn valid_list_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The registry.
pub struct Registry {
    store: Arc<dyn Store>,
    settings: Settings,
    trust: TrustStore,
    issuers: BTreeMap<String, IssuerState>,
    keys: Vec<AuthorityKey>,
    items: BTreeMap<String, ItemRow>,
    published: Arc<Published>,
    last_prune: u64,
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
        for (r, (eco, _, _)) in trust
            .insert_all(snap.trust_lists.iter().map(|(_, _, j)| j.as_str()))
            .into_iter()
            .zip(&snap.trust_lists)
        {
            if let Err(e) = r {
                tracing::warn!(eco, code = e.code(), "held trust list no longer accepted");
            }
        }
        let mut reg = Registry {
            store,
            settings,
            trust,
            issuers: BTreeMap::new(),
            keys: Vec::new(),
            items: snap
                .items
                .into_iter()
                .map(|i| (i.path.clone(), i))
                .collect(),
            published,
            last_prune: 0,
        };
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
            reg.issuers.insert(
                i.slug,
                IssuerState {
                    did: i.did,
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
            let purpose = Purpose::parse(&s.purpose)
                .ok_or_else(|| anyhow::anyhow!("unknown purpose {}", s.purpose))?;
            let bits = Bitstring::new(s.bits, 1)
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
                list.purposes.insert(
                    purpose,
                    PurposeState {
                        bits,
                        jws: s.jws,
                        valid_from: s.valid_from,
                        valid_until: s.valid_until,
                        dirty: s.dirty || stale,
                    },
                );
            }
        }
        reg.resign(now, true)?;
        reg.publish_everything();
        Ok(reg)
    }

    /// Settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `{public_url}/v1/status/{slug}/` (SPEC.md section 6).
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
                    json!({"slug": slug, "did": i.did, "statusBase": self.status_base(slug),
                       "lists": i.lists.keys().collect::<Vec<_>>()})
                })
                .collect(),
        )
    }

    /// The item registered for a Digital Link path, with its status list URLs.
    pub fn item(&self, path: &str) -> Option<(ItemRow, Vec<(Purpose, String)>)> {
        let it = self.items.get(path)?;
        let base = self.status_base(&it.slug);
        let urls = Purpose::ALL
            .iter()
            .map(|p| (*p, p.list_url(&base, &it.list_id)))
            .collect();
        Some((it.clone(), urls))
    }

    fn sign(&self, slug: &str, list_id: &str, p: Purpose, bits: &Bitstring, vf: u64) -> String {
        let url = p.list_url(&self.status_base(slug), list_id);
        let spec = StatusListSpec {
            id: &url,
            issuer: &self.settings.authority_did,
            purpose: p,
            valid_from: vf,
            valid_until: vf + self.settings.freshness,
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

    fn status_row(slug: &str, list_id: &str, p: Purpose, s: &PurposeState) -> StatusRow {
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

    /// Re-signs the lists that need it: deferred changes (when `validFrom` can move without
    /// running ahead of the clock, or always when `force`) and lists past half their
    /// freshness. Returns how many were re-signed.
    pub fn resign(&mut self, now: u64, force: bool) -> Result<usize, StoreError> {
        let half = self.settings.freshness / 2;
        let mut todo = Vec::new();
        for (slug, i) in &self.issuers {
            for (lid, l) in &i.lists {
                for (p, s) in &l.purposes {
                    let next = now.max(s.valid_from + 1);
                    let due = (s.dirty && (force || next <= now + MAX_LEAD))
                        || now >= s.valid_from + half;
                    if due {
                        todo.push((slug.clone(), lid.clone(), *p, next));
                    }
                }
            }
        }
        let mut rows = Vec::new();
        let mut updated = Vec::new();
        for (slug, lid, p, vf) in todo {
            let Some(s) = self.purpose_state(&slug, &lid, p) else {
                continue;
            };
            let mut s = s.clone();
            s.jws = self.sign(&slug, &lid, p, &s.bits, vf);
            s.valid_from = vf;
            s.valid_until = vf + self.settings.freshness;
            s.dirty = false;
            rows.push(Self::status_row(&slug, &lid, p, &s));
            updated.push((slug, lid, p, s));
        }
        if rows.is_empty() {
            return Ok(0);
        }
        self.store.commit(
            &Batch {
                status: rows,
                ..Batch::default()
            },
            now,
        )?;
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

    /// The periodic task: re-sign what is due, forget old `jti`s once a minute.
    pub fn tick(&mut self, now: u64) -> Result<usize, StoreError> {
        if now >= self.last_prune + 60 {
            self.store.prune_jtis(now.saturating_sub(2 * IAT_WINDOW))?;
            self.last_prune = now;
        }
        self.resign(now, false)
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

    // ---- publication ----

    fn publish_status(&self, slug: &str, lid: &str, p: Purpose) {
        if let Some(s) = self.purpose_state(slug, lid, p) {
            self.published.put(
                format!("status/{slug}/{lid}{}", p.suffix()),
                Artifact::new(s.jws.clone(), VC_JWT),
            );
        }
    }

    fn raw_trust_lists(&self) -> Vec<(String, String)> {
        self.trust
            .raw_lists()
            .filter_map(|raw| {
                let jws = Jws::parse(raw, Typ::TrustList, MAX_TRUST_LIST_BODY).ok()?;
                let eco = jws.unverified_payload().get("eco")?.as_str()?.to_owned();
                Some((eco, raw.to_owned()))
            })
            .collect()
    }

    fn publish_bundle(&self) {
        let trust: Vec<String> = self.raw_trust_lists().into_iter().map(|(_, r)| r).collect();
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
    }

    fn publish_everything(&self) {
        for (eco, raw) in self.raw_trust_lists() {
            self.published.put(
                format!("trust-list/{eco}"),
                Artifact::new(raw, TRUST_LIST_JWT),
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
    }

    // ---- issuer requests (SPEC.md section 6) ----

    /// Checks an issuer-signed request: JWS form and `typ`, `iat` window, issuer trust (an
    /// entity with role manufacturer or operator in an accepted list; `kid` picks the key;
    /// key window at `iat`), signature, and list ownership. The `jti` is checked at commit.
    fn authenticate(&self, body: &[u8], now: u64) -> Result<Authenticated, UpdateError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| malformed("the body is not UTF-8"))?
            .trim();
        let jws = Jws::parse(text, Typ::StatusUpdate, MAX_JWS_BODY).map_err(|e| match e {
            CoreError::TypUnexpected { .. } => UpdateError::WrongTyp {
                detail: e.to_string(),
            },
            e => UpdateError::Malformed {
                detail: e.to_string(),
                code: Some(e.code()),
            },
        })?;
        let p = jws.unverified_payload();
        let str_of = |k: &str| -> Result<String, UpdateError> {
            p.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| malformed(format!("{k} must be a string")))
        };
        let iss = str_of("iss")?;
        let jti = str_of("jti")?;
        let list = str_of("list")?;
        let iat = p
            .get("iat")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("iat must be a non-negative integer"))?;
        if jti.is_empty() || jti.len() > MAX_JTI {
            return Err(malformed(format!("jti must be 1 to {MAX_JTI} characters")));
        }
        if iat + IAT_WINDOW < now {
            return Err(UpdateError::IatStale { iat, now });
        }
        if iat > now + IAT_WINDOW {
            return Err(UpdateError::IatInFuture { iat, now });
        }
        let kid = jws.header().kid.clone();
        let m = self
            .trust
            .resolve(&iss, &kid, iat, &CREDENTIAL_ROLES, now)
            .result
            .map_err(|e| match e {
                CoreError::IssuerUnknown { iss } => UpdateError::UnknownIssuer { iss },
                e => UpdateError::NotTrusted {
                    code: e.code(),
                    detail: e.to_string(),
                },
            })?;
        let payload = p.clone();
        jws.verify(&m.key.x)
            .map_err(|e| UpdateError::BadSignature { code: e.code() })?;
        let slug = self
            .issuers
            .iter()
            .find(|(_, i)| i.did == iss && i.lists.contains_key(&list))
            .map(|(s, _)| s.clone())
            .ok_or_else(|| UpdateError::ListNotOwned { list: list.clone() })?;
        Ok(Authenticated {
            iss,
            iat,
            jti,
            slug,
            list,
            payload,
        })
    }

    fn commit_issuer(&self, b: &Batch, now: u64) -> Result<i64, UpdateError> {
        match self.store.commit(b, now) {
            Ok(seqs) => Ok(seqs.first().copied().unwrap_or(0)),
            Err(StoreError::Replay) => Err(UpdateError::JtiReplayed),
            Err(e) => Err(internal(e)),
        }
    }

    /// `POST /v1/status`: sets or clears one bit, durably, then publishes.
    pub fn status_update(&mut self, body: &[u8], now: u64) -> Result<UpdateAck, UpdateError> {
        let a = self.authenticate(body, now)?;
        let p = &a.payload;
        let index = p
            .get("index")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("index must be a non-negative integer"))?;
        let purpose = p
            .get("purpose")
            .and_then(Value::as_str)
            .and_then(Purpose::parse)
            .ok_or_else(|| malformed("purpose must be revocation, suspension or refresh"))?;
        let value = match p.get("value") {
            Some(Value::Bool(b)) => *b,
            Some(v) if v.as_u64() == Some(1) => true,
            Some(v) if v.as_u64() == Some(0) => false,
            _ => return Err(malformed("value must be true, false, 1 or 0")),
        };
        if index >= LIST_ENTRIES {
            return Err(UpdateError::IndexOutOfRange { index });
        }
        let list = self
            .issuers
            .get(&a.slug)
            .and_then(|i| i.lists.get(&a.list))
            .ok_or(UpdateError::Internal)?;
        if list.allocated.get(index).map_err(internal)? == 0 {
            return Err(UpdateError::IndexNotAllocated { index });
        }
        let mut s = list
            .purposes
            .get(&purpose)
            .cloned()
            .ok_or(UpdateError::Internal)?;
        let old = s.bits.get(index).map_err(internal)? == 1;
        if purpose == Purpose::Revocation && old && !value {
            return Err(UpdateError::RevocationPermanent { index });
        }
        let changed = old != value;
        let mut published = false;
        if changed {
            s.bits.set(index, value).map_err(internal)?;
            let next = now.max(s.valid_from + 1);
            if next <= now + MAX_LEAD {
                s.jws = self.sign(&a.slug, &a.list, purpose, &s.bits, next);
                s.valid_from = next;
                s.valid_until = next + self.settings.freshness;
                s.dirty = false;
                published = true;
            } else {
                s.dirty = true;
            }
        }
        let url = purpose.list_url(&self.status_base(&a.slug), &a.list);
        let batch = Batch {
            jti: Some(JtiRow {
                iss: a.iss.clone(),
                jti: a.jti.clone(),
                iat: a.iat,
            }),
            status: if changed {
                vec![Self::status_row(&a.slug, &a.list, purpose, &s)]
            } else {
                Vec::new()
            },
            audit: vec![NewAudit {
                actor: a.iss.clone(),
                action: "status.update".into(),
                detail: json!({"jti": a.jti, "iat": a.iat, "list": url, "listId": a.list,
                    "index": index, "purpose": purpose.as_str(), "value": value,
                    "changed": changed}),
                digest: digest_hex(body),
            }],
            ..Batch::default()
        };
        let audit = self.commit_issuer(&batch, now)?;
        if changed {
            if let Some(slot) = self.purpose_state_mut(&a.slug, &a.list, purpose) {
                *slot = s;
            }
            if published {
                self.publish_status(&a.slug, &a.list, purpose);
                self.publish_bundle();
            }
        }
        Ok(UpdateAck {
            url,
            list: a.list,
            index,
            purpose,
            value,
            changed,
            published: published || !changed,
            audit,
        })
    }

    /// `POST /v1/allocate`: fresh random free indexes (herd privacy), durably recorded.
    pub fn allocate(&mut self, body: &[u8], now: u64) -> Result<AllocateAck, UpdateError> {
        let a = self.authenticate(body, now)?;
        let count = a
            .payload
            .get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("count must be a non-negative integer"))?;
        if count == 0 || count > MAX_ALLOCATE {
            return Err(UpdateError::CountInvalid { count });
        }
        let list = self
            .issuers
            .get(&a.slug)
            .and_then(|i| i.lists.get(&a.list))
            .ok_or(UpdateError::Internal)?;
        let used: u64 = list
            .allocated
            .bytes()
            .iter()
            .map(|b| u64::from(b.count_ones()))
            .sum();
        let free = LIST_ENTRIES.saturating_sub(used);
        if count > free {
            return Err(UpdateError::ListFull { free });
        }
        let mut allocated = list.allocated.clone();
        let mut indexes = Vec::new();
        while u64::try_from(indexes.len()).unwrap_or(u64::MAX) < count {
            // LIST_ENTRIES is a power of two, so the remainder is unbiased.
            let r = u64::from_le_bytes(random_bytes::<8>().map_err(internal)?) % LIST_ENTRIES;
            if allocated.get(r).map_err(internal)? == 0 {
                allocated.set(r, true).map_err(internal)?;
                indexes.push(r);
            }
        }
        let batch = Batch {
            jti: Some(JtiRow {
                iss: a.iss.clone(),
                jti: a.jti.clone(),
                iat: a.iat,
            }),
            lists: vec![ListRow {
                slug: a.slug.clone(),
                list_id: a.list.clone(),
                allocated: allocated.bytes().to_vec(),
            }],
            audit: vec![NewAudit {
                actor: a.iss.clone(),
                action: "allocate".into(),
                detail: json!({"jti": a.jti, "iat": a.iat, "listId": a.list,
                    "issuer": a.slug, "count": count, "indexes": indexes}),
                digest: digest_hex(body),
            }],
            ..Batch::default()
        };
        self.commit_issuer(&batch, now)?;
        if let Some(l) = self
            .issuers
            .get_mut(&a.slug)
            .and_then(|i| i.lists.get_mut(&a.list))
        {
            l.allocated = allocated;
        }
        Ok(AllocateAck {
            list: a.list,
            indexes,
        })
    }

    // ---- operator actions ----

    /// Uploads a trust list signed offline by an ecosystem root: verified against the pinned
    /// roots with the core's `TrustStore` (which refuses `seq` rollback), stored, published.
    /// Returns what was accepted and warnings about what verifiers would trip over.
    pub fn upload_trust_list(
        &mut self,
        body: &[u8],
        actor: &str,
        now: u64,
    ) -> Result<(Accepted, Vec<String>), OperatorError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| OperatorError::Invalid {
                detail: "the body is not UTF-8".into(),
            })?
            .trim();
        let mut trust = self.trust.clone();
        let accepted = trust.insert(text).map_err(|e| match e {
            CoreError::TrustListRollback { .. } => OperatorError::TrustListRollback {
                detail: e.to_string(),
            },
            e => OperatorError::TrustListRejected {
                code: e.code(),
                detail: e.to_string(),
            },
        })?;
        let warnings = trust
            .list(&accepted.eco)
            .map(|l| self.trust_list_warnings(l))
            .unwrap_or_default();
        if accepted.unchanged {
            return Ok((accepted, warnings));
        }
        let mut rows = Vec::new();
        for raw in trust.raw_lists() {
            if let Ok(j) = Jws::parse(raw, Typ::TrustList, MAX_TRUST_LIST_BODY) {
                if let Ok(l) = TrustList::from_payload(j.unverified_payload()) {
                    rows.push((l.eco, l.seq, raw.to_owned()));
                }
            }
        }
        self.store
            .commit(
                &Batch {
                    trust_lists: rows,
                    audit: vec![NewAudit {
                        actor: actor.into(),
                        action: "trust-list.upload".into(),
                        detail: json!({"eco": accepted.eco, "seq": accepted.seq,
                            "via": accepted.via}),
                        digest: digest_hex(body),
                    }],
                    ..Batch::default()
                },
                now,
            )
            .map_err(op_internal)?;
        self.trust = trust;
        self.publish_everything();
        Ok((accepted, warnings))
    }

    fn trust_list_warnings(&self, l: &TrustList) -> Vec<String> {
        let mut w = Vec::new();
        let active = self.active().map(|k| k.kp.public());
        let listed = l.authorities.iter().any(|a| {
            a.id == self.settings.authority_did
                && active.as_ref().is_some_and(|k| {
                    a.keys
                        .iter()
                        .any(|x| x.x == k.x && x.kid.as_deref() == k.kid.as_deref())
                })
        });
        if !listed {
            w.push(format!(
                "authorities does not list {} with the active status authority key {}: \
                 verifiers will refuse this registry's status lists",
                self.settings.authority_did,
                self.active_kid()
            ));
        }
        for e in &l.entities {
            if let Some((slug, _)) = self.issuers.iter().find(|(_, i)| i.did == e.id) {
                let want = self.status_base(slug);
                if e.status_base.as_deref() != Some(want.as_str()) {
                    w.push(format!("{}: statusBase should be {want}", e.id));
                }
            }
        }
        w
    }

    /// Onboards an issuer (or adds lists to it): creates and signs its empty status lists.
    pub fn onboard(
        &mut self,
        req: &Onboard,
        digest: String,
        actor: &str,
        now: u64,
    ) -> Result<Value, OperatorError> {
        let invalid = |d: String| OperatorError::Invalid { detail: d };
        if !valid_slug(&req.slug) {
            return Err(invalid(format!(
                "slug {:?} must be 1 to 63 of a-z, 0-9 and -",
                req.slug
            )));
        }
        if !req.did.starts_with("did:") || req.did.len() > 512 {
            return Err(invalid("did must be a DID".into()));
        }
        if req.lists.is_empty() || req.lists.len() > 100 {
            return Err(invalid("lists must hold 1 to 100 list ids".into()));
        }
        if let Some(bad) = req.lists.iter().find(|l| !valid_list_id(l)) {
            return Err(invalid(format!(
                "list id {bad:?} must be 1 to 64 of A-Z, a-z, 0-9 and _"
            )));
        }
        if let Some(i) = self.issuers.get(&req.slug) {
            if i.did != req.did {
                return Err(OperatorError::Conflict {
                    detail: format!("slug {} belongs to {}", req.slug, i.did),
                });
            }
        }
        if let Some((s, _)) = self
            .issuers
            .iter()
            .find(|(s, i)| i.did == req.did && **s != req.slug)
        {
            return Err(OperatorError::Conflict {
                detail: format!("{} is onboarded under slug {s}", req.did),
            });
        }
        let existing: Vec<String> = self
            .issuers
            .get(&req.slug)
            .map(|i| i.lists.keys().cloned().collect())
            .unwrap_or_default();
        let mut new_lists = Vec::new();
        let mut rows = Vec::new();
        for lid in &req.lists {
            if existing.contains(lid) || new_lists.iter().any(|(l, _)| l == lid) {
                continue;
            }
            let mut purposes = BTreeMap::new();
            for p in Purpose::ALL {
                let bits = Bitstring::zeroed(LIST_ENTRIES);
                let jws = self.sign(&req.slug, lid, p, &bits, now);
                let s = PurposeState {
                    bits,
                    jws,
                    valid_from: now,
                    valid_until: now + self.settings.freshness,
                    dirty: false,
                };
                rows.push(Self::status_row(&req.slug, lid, p, &s));
                purposes.insert(p, s);
            }
            new_lists.push((
                lid.clone(),
                ListState {
                    allocated: Bitstring::zeroed(LIST_ENTRIES),
                    purposes,
                },
            ));
        }
        let batch = Batch {
            issuers: vec![IssuerRow {
                slug: req.slug.clone(),
                did: req.did.clone(),
            }],
            lists: new_lists
                .iter()
                .map(|(lid, l)| ListRow {
                    slug: req.slug.clone(),
                    list_id: lid.clone(),
                    allocated: l.allocated.bytes().to_vec(),
                })
                .collect(),
            status: rows,
            audit: vec![NewAudit {
                actor: actor.into(),
                action: "issuer.onboard".into(),
                detail: json!({"slug": req.slug, "did": req.did,
                    "lists": new_lists.iter().map(|(l, _)| l).collect::<Vec<_>>()}),
                digest,
            }],
            ..Batch::default()
        };
        self.store.commit(&batch, now).map_err(op_internal)?;
        let entry = self
            .issuers
            .entry(req.slug.clone())
            .or_insert_with(|| IssuerState {
                did: req.did.clone(),
                lists: BTreeMap::new(),
            });
        entry.lists.extend(new_lists);
        self.publish_everything();
        let mut warnings = Vec::new();
        if self
            .trust
            .resolve(&req.did, "", now, &CREDENTIAL_ROLES, now)
            .result
            .as_ref()
            .is_err_and(|e| e.code() == "issuer_unknown")
        {
            warnings.push(format!(
                "{} is in no accepted trust list yet: its requests will be refused",
                req.did
            ));
        }
        let base = self.status_base(&req.slug);
        Ok(json!({
            "slug": req.slug, "did": req.did, "statusBase": base,
            "lists": self.issuers.get(&req.slug).map(|i| i.lists.keys().cloned().collect::<Vec<_>>()),
            "warnings": warnings,
        }))
    }

    /// Registers an item (battery) for the Digital Link linkset.
    pub fn register_item(&mut self, item: ItemRow, now: u64) -> Result<(), OperatorError> {
        self.store
            .commit(
                &Batch {
                    items: vec![item.clone()],
                    ..Batch::default()
                },
                now,
            )
            .map_err(op_internal)?;
        self.items.insert(item.path.clone(), item);
        Ok(())
    }

    /// Creates a new, inactive status authority key; returns its public JWK, to be listed
    /// in the trust lists' `authorities` before activation.
    pub fn new_authority_key(&mut self, digest: String, now: u64) -> Result<Value, OperatorError> {
        let row = new_key_row(now, &self.keys, false).map_err(op_internal)?;
        self.store
            .commit(
                &Batch {
                    authority_keys: vec![row.clone()],
                    audit: vec![NewAudit {
                        actor: "operator".into(),
                        action: "authority.create".into(),
                        detail: json!({"kid": row.kid}),
                        digest,
                    }],
                    ..Batch::default()
                },
                now,
            )
            .map_err(op_internal)?;
        let kp = KeyPair::from_secret(&row.kid, &row.secret);
        let jwk = kp.public().to_jwk();
        self.keys.push(AuthorityKey {
            kp,
            created: row.created,
            active: false,
        });
        Ok(json!({"id": self.settings.authority_did, "kid": row.kid, "jwk": jwk}))
    }

    /// Activates an authority key and re-signs every status list with it. Refused unless
    /// every held trust list lists it under the server's authority DID (else verifiers would
    /// refuse every list), unless `force`.
    pub fn activate_authority_key(
        &mut self,
        kid: &str,
        force: bool,
        digest: String,
        now: u64,
    ) -> Result<Value, OperatorError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.kp.kid == kid)
            .ok_or_else(|| OperatorError::UnknownKey { kid: kid.into() })?;
        let x = key.kp.public().x;
        let missing: Vec<String> = self
            .raw_trust_lists()
            .into_iter()
            .filter_map(|(eco, _)| {
                let l = self.trust.list(&eco)?;
                let listed = l.authorities.iter().any(|a| {
                    a.id == self.settings.authority_did
                        && a.keys
                            .iter()
                            .any(|k| k.x == x && k.kid.as_deref() == Some(kid))
                });
                (!listed).then_some(eco)
            })
            .collect();
        if !missing.is_empty() && !force {
            return Err(OperatorError::KeyNotListed {
                detail: format!(
                    "the trust lists of {} do not list key {kid} of {}; upload lists that do, \
                     or pass \"force\": true",
                    missing.join(", "),
                    self.settings.authority_did
                ),
            });
        }
        let rows: Vec<AuthorityKeyRow> = self
            .keys
            .iter()
            .map(|k| AuthorityKeyRow {
                kid: k.kp.kid.clone(),
                secret: k.kp.signing.to_bytes(),
                created: k.created,
                active: k.kp.kid == kid,
            })
            .collect();
        self.store
            .commit(
                &Batch {
                    authority_keys: rows,
                    audit: vec![NewAudit {
                        actor: "operator".into(),
                        action: "authority.activate".into(),
                        detail: json!({"kid": kid, "forced": force && !missing.is_empty()}),
                        digest,
                    }],
                    ..Batch::default()
                },
                now,
            )
            .map_err(op_internal)?;
        for k in &mut self.keys {
            k.active = k.kp.kid == kid;
        }
        for i in self.issuers.values_mut() {
            for l in i.lists.values_mut() {
                for s in l.purposes.values_mut() {
                    s.dirty = true;
                }
            }
        }
        let n = self.resign(now, true).map_err(op_internal)?;
        Ok(json!({"active": kid, "resigned": n}))
    }
}

fn new_key_row(now: u64, keys: &[AuthorityKey], active: bool) -> anyhow::Result<AuthorityKeyRow> {
    let secret = random_bytes::<32>().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let tag = random_bytes::<3>().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let mut kid = format!("sa-{now}-{}", b64_encode(&tag));
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

    fn registry(dir: &std::path::Path, t: u64) -> Registry {
        let settings = Settings {
            public_url: "http://registry.example".into(),
            authority_did: "did:web:registry.example".into(),
            freshness: 100,
            ttl: 10,
        };
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let mut reg = Registry::open(store, settings, &[], Arc::default(), t).unwrap();
        let o = Onboard {
            slug: "a".into(),
            did: "did:web:a.example".into(),
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
        assert_eq!(reg.tick(t + 50).unwrap(), 3, "half-life: every purpose");
        let s = reg.purpose_state("a", "1", Purpose::Revocation).unwrap();
        assert_eq!((s.valid_from, s.valid_until), (t + 50, t + 150));
        assert_ne!(served.body, reg.published.get("status/a/1").unwrap().body);
        // A change re-signed with the clock set back does not move validFrom back.
        reg.purpose_state_mut("a", "1", Purpose::Revocation)
            .unwrap()
            .dirty = true;
        assert_eq!(reg.resign(t, true).unwrap(), 1);
        let s = reg.purpose_state("a", "1", Purpose::Revocation).unwrap();
        assert_eq!(s.valid_from, t + 51);
    }

    #[test]
    fn reopening_keeps_valid_from_and_re_signs_for_a_new_public_url() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let reg = registry(dir.path(), t);
        let before = reg.published.get("status/a/1-refresh").unwrap();
        drop(reg);
        let settings = Settings {
            public_url: "http://moved.example".into(),
            authority_did: "did:web:registry.example".into(),
            freshness: 100,
            ttl: 10,
        };
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let reg = Registry::open(store, settings, &[], Arc::default(), t).unwrap();
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
