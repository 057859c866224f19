//! Replicas (several processes on one PostgreSQL database, `crate::replica`): the registry's
//! side. A replica that does not hold the lease records status bits and leaves the lists
//! dirty (it never signs them); every replica re-reads issuers, allocation bitmaps, status
//! lists, trust lists, authority keys, passport versions and attestations from the store when
//! another one changed them (at its next poll, `replica::POLL`), and before each group of
//! issuer requests and each operator action, so a request is checked against what every
//! replica committed: a key removed from a trust list through one replica is refused by all
//! (the authentication snapshot, `Gate`, is rebuilt when trust lists change).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

use cellproof_core::{Bitstring, KeyPair, Purpose};

use super::passport::listed_digests;
use super::{Artifact, AuthorityKey, Gate, IssuerState, ListState, PurposeState, Registry, VC_JWT};
use crate::errors::UpdateError;
use crate::metrics::Metrics;
use crate::store::{AttestationRow, AuthorityKeyRow, PassportRow, Store, StoreError};

/// `/metrics` counter: database round trips replicas made to check a request against the
/// trust data committed now (`Registry::fresh_gate`: version probes and catch-ups).
pub const CHANGE_PROBES: &str = "cellproof_replica_change_probes_total";

/// Whether the held snapshot's refusal of a request stands whatever other replicas committed
/// since (`Registry::fresh_gate` is skipped, no round trip, no mutex): the body is malformed,
/// names another audience or operation, is outside its `iat` window, or its signature does
/// not verify under the key its `kid` names in the snapshot (a forgery). An unknown issuer or
/// key, or trust refused, may be a change another replica made: those go to the fresh check.
pub fn settled(e: &UpdateError) -> bool {
    matches!(
        e,
        UpdateError::Malformed { .. }
            | UpdateError::WrongTyp { .. }
            | UpdateError::AudienceMismatch { .. }
            | UpdateError::OpMismatch { .. }
            | UpdateError::IatStale { .. }
            | UpdateError::IatInFuture { .. }
            | UpdateError::BadSignature { .. }
    )
}

impl Registry {
    /// Marks this registry as one of several replicas of its store: it signs status lists
    /// only while [`Registry::set_signer`] says it holds the lease, and re-reads the store
    /// before each group of issuer requests.
    pub fn replicate(&mut self) {
        self.replicated = true;
        self.signs = false;
        self.refresh_gate();
    }

    /// The authentication snapshot to check a request against now: `held` (the one a handler
    /// took) when this registry is alone on its store (it publishes every change itself, so
    /// nothing is taken or read); on a replica, one holding everything committed before this
    /// call, so an inspector or key removed through another replica a moment ago is refused
    /// here too, not for up to a poll interval more (docs/deploy.md).
    ///
    /// Call it only for a request the held snapshot accepted or could not judge (`settled`
    /// says which refusals stand without it): a forged request costs no round trip. The
    /// database's change version is read outside the registry mutex by a single-flight probe
    /// (`Store::probe_version`: concurrent callers share one, at most about one per round
    /// trip whatever the request rate); when this process has applied
    /// that version the published snapshot is current and no lock is taken; otherwise the
    /// mutex is taken to catch up (`changes()`), once for all callers that waited on it.
    pub fn fresh_gate(
        registry: &Mutex<Registry>,
        slot: &RwLock<Arc<Gate>>,
        store: &dyn Store,
        metrics: &Metrics,
        held: Arc<Gate>,
    ) -> Result<Arc<Gate>, StoreError> {
        if !held.replicated() {
            return Ok(held);
        }
        let Some(probe) = store.probe_version()? else {
            return Ok(held);
        };
        if probe.ran {
            metrics.count(CHANGE_PROBES);
        }
        if store.applied_version() >= probe.version {
            // `mark_applied` follows the snapshot's publication (`reload`): the one in the
            // slot now holds everything committed before the probe started.
            return Ok(slot.read().map_or(held, |g| g.clone()));
        }
        let mut reg = registry
            .lock()
            .map_err(|_| StoreError::Backend("the registry mutex is poisoned".into()))?;
        // Another caller may have caught up while this one waited for the mutex.
        if store.applied_version() < probe.version {
            metrics.count(CHANGE_PROBES);
            reg.catch_up()?;
        }
        Ok(reg.gate())
    }

    /// Re-reads what other replicas committed when this registry is one of several (a
    /// registry alone on its store holds everything): before an upload is checked against
    /// the versions held, so a version another replica stored a moment ago is the one the
    /// upload must follow (or repeats), not a primary-key failure at commit.
    pub fn catch_up(&mut self) -> Result<(), StoreError> {
        if self.replicated {
            self.reload()?;
        }
        Ok(())
    }

    /// Whether this replica is replicated.
    pub fn replicated(&self) -> bool {
        self.replicated
    }

    /// Takes or gives up the signing of status lists (the replica lease).
    pub fn set_signer(&mut self, signs: bool) {
        self.signs = signs;
    }

    /// Whether this process signs status lists now.
    pub fn signs(&self) -> bool {
        self.signs
    }

    /// Re-reads issuers, allocation bitmaps and status lists from the store (another replica
    /// changed them) and publishes the lists whose signed form changed. Returns how many
    /// changed.
    pub fn reload(&mut self) -> Result<usize, StoreError> {
        // Only the rows written since this process last read or wrote (a version check
        // when nothing was: a replica under load does not re-read every list per group).
        let Some(mut snap) = self.store.changes()? else {
            self.store.mark_applied();
            return Ok(0);
        };
        // Keys first: a new active key marks every list for re-signing before the status
        // rows below bring what the other replicas signed.
        self.follow_authority_keys(std::mem::take(&mut snap.authority_keys));
        let trust_changed = self.follow_trust_lists(std::mem::take(&mut snap.trust_lists));
        self.follow_passports(
            std::mem::take(&mut snap.passports),
            std::mem::take(&mut snap.attestations),
        );
        for e in std::mem::take(&mut snap.events) {
            let path = e.path.clone();
            let successors = super::event_successors_all(std::slice::from_ref(&e.jws));
            self.hold_event(e);
            self.publish_passport(&path);
            for s in successors {
                self.publish_passport(&s);
            }
        }
        let mut new_issuers = false;
        for i in snap.issuers {
            let e = self.issuers.entry(i.slug).or_insert_with(|| {
                new_issuers = true;
                IssuerState {
                    did: i.did.clone(),
                    eco: i.eco.clone(),
                    lists: BTreeMap::new(),
                }
            });
            if e.did != i.did || e.eco != i.eco {
                (e.did, e.eco) = (i.did, i.eco);
                new_issuers = true;
            }
        }
        for l in snap.lists {
            let Ok(allocated) = Bitstring::new(l.allocated, 1) else {
                continue;
            };
            if let Some(i) = self.issuers.get_mut(&l.slug) {
                match i.lists.get_mut(&l.list_id) {
                    Some(held) => held.allocated = allocated,
                    None => {
                        new_issuers = true;
                        i.lists.insert(
                            l.list_id,
                            ListState {
                                allocated,
                                purposes: BTreeMap::new(),
                            },
                        );
                    }
                }
            }
        }
        let mut changed = Vec::new();
        for s in snap.status {
            let Some(p) = Purpose::parse_any(&s.purpose) else {
                continue;
            };
            let Ok(bits) = Bitstring::new(s.bits, p.status_size()) else {
                continue;
            };
            let Some(list) = self
                .issuers
                .get_mut(&s.slug)
                .and_then(|i| i.lists.get_mut(&s.list_id))
            else {
                continue;
            };
            let fresh = PurposeState::from_row(
                bits,
                s.jws,
                s.valid_from,
                s.valid_until,
                s.dirty,
                list.purposes.get(&p),
            );
            let republish = list
                .purposes
                .get(&p)
                .is_none_or(|held| held.jws != fresh.jws);
            list.purposes.insert(p, fresh);
            if republish {
                changed.push((s.slug, s.list_id, p));
            }
        }
        for (slug, lid, p) in &changed {
            self.publish_status(slug, lid, *p);
        }
        if !changed.is_empty() {
            self.publish_bundle();
        }
        if trust_changed {
            // The served trust lists and bundle, and the authentication snapshot.
            self.publish_everything();
            self.refresh_gate();
        } else if new_issuers {
            self.refresh_gate();
        }
        // After the snapshot's publication: `fresh_gate` takes the slot's as current then.
        self.store.mark_applied();
        Ok(changed.len())
    }
}

impl Registry {
    /// Takes in the trust lists another replica stored, through the core's `TrustStore`
    /// like an upload (signature under the pinned roots; a list no newer than the one held
    /// is left out, SPEC.md section 4). Returns whether the accepted lists changed.
    fn follow_trust_lists(&mut self, rows: Vec<(String, u64, String)>) -> bool {
        let rows: Vec<(String, u64, String)> = rows
            .into_iter()
            .filter(|(eco, _, jws)| self.trust_raw.get(eco) != Some(jws))
            .collect();
        if rows.is_empty() {
            return false;
        }
        let mut trust = self.trust.clone();
        let mut changed = false;
        let results = trust.insert_all(rows.iter().map(|(_, _, j)| j.as_str()));
        for (r, (eco, seq, jws)) in results.into_iter().zip(&rows) {
            match r {
                Ok(a) => {
                    changed |= !a.unchanged;
                    self.trust_raw.insert(eco.clone(), jws.clone());
                }
                Err(e) => tracing::warn!(
                    eco,
                    seq,
                    code = e.code(),
                    "a trust list another replica stored is not accepted here"
                ),
            }
        }
        if changed {
            self.trust = trust;
        }
        changed
    }

    /// Takes in authority keys another replica created or activated. When the active key
    /// changed, every list is marked for re-signing with it (the signer signs them at its
    /// next tick; a follower keeps the signed lists the store brings).
    fn follow_authority_keys(&mut self, rows: Vec<AuthorityKeyRow>) {
        if rows.is_empty() {
            return;
        }
        let before = self.active_kid().to_owned();
        for k in rows {
            match self.keys.iter_mut().find(|h| h.kp.kid == k.kid) {
                Some(held) => held.active = k.active,
                None => self.keys.push(AuthorityKey {
                    kp: KeyPair::from_secret(&k.kid, &k.secret),
                    created: k.created,
                    active: k.active,
                }),
            }
        }
        if self.active_kid() != before {
            for s in self
                .issuers
                .values_mut()
                .flat_map(|i| i.lists.values_mut())
                .flat_map(|l| l.purposes.values_mut())
            {
                s.dirty = true;
            }
        }
    }

    /// Takes in passport versions and attestations another replica accepted, and publishes
    /// the chains they change (versions arrive oldest first per battery; one that does not
    /// follow the versions held is left out, with a warning, rather than served out of order).
    fn follow_passports(&mut self, passports: Vec<PassportRow>, attestations: Vec<AttestationRow>) {
        let mut touched = BTreeSet::new();
        let mut new_attestations = Vec::new();
        for a in attestations {
            if self.attestations.contains_key(&a.digest) {
                continue;
            }
            self.published.put(
                format!("attestation/{}", a.digest),
                Artifact::new(a.jws.clone(), VC_JWT),
            );
            new_attestations.push(a.digest.clone());
            self.attestations.insert(a.digest, a.jws);
        }
        for p in passports {
            if self.passport_digests.contains_key(&p.digest) {
                continue;
            }
            let held = self.passports.get(&p.path).map_or(0, Vec::len) as u64;
            if p.version != held + 1 {
                tracing::warn!(
                    path = %p.path,
                    version = p.version,
                    held,
                    "a passport version another replica stored does not follow the versions \
                     held here"
                );
                continue;
            }
            self.passport_digests
                .insert(p.digest, (p.path.clone(), p.version));
            self.passports
                .entry(p.path.clone())
                .or_default()
                .push(p.jws);
            touched.insert(p.path);
        }
        if !new_attestations.is_empty() {
            // A chain serves the attestations its current version lists that are held.
            for (path, versions) in &self.passports {
                let lists = versions.last().is_some_and(|cur| {
                    let listed = listed_digests(cur);
                    new_attestations.iter().any(|d| listed.contains(d))
                });
                if lists {
                    touched.insert(path.clone());
                }
            }
        }
        for path in &touched {
            self.publish_passport(path);
        }
    }
}
