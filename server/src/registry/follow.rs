//! Replicas (several processes on one PostgreSQL database, `crate::replica`): the registry's
//! side. A replica that does not hold the lease records status bits and leaves the lists
//! dirty (it never signs them); every replica re-reads issuers, allocation bitmaps and status
//! lists from the store when another one changed them, and before each group of issuer
//! requests, so a request is checked against what every replica committed.

use std::collections::BTreeMap;

use cellproof_core::{Bitstring, Purpose};

use super::{IssuerState, ListState, PurposeState, Registry};
use crate::store::StoreError;

impl Registry {
    /// Marks this registry as one of several replicas of its store: it signs status lists
    /// only while [`Registry::set_signer`] says it holds the lease, and re-reads the store
    /// before each group of issuer requests.
    pub fn replicate(&mut self) {
        self.replicated = true;
        self.signs = false;
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
        let Some(snap) = self.store.changes()? else {
            return Ok(0);
        };
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
            let (Some(p), Ok(bits)) = (Purpose::parse(&s.purpose), Bitstring::new(s.bits, 1))
            else {
                continue;
            };
            let Some(list) = self
                .issuers
                .get_mut(&s.slug)
                .and_then(|i| i.lists.get_mut(&s.list_id))
            else {
                continue;
            };
            let fresh = PurposeState {
                bits,
                jws: s.jws,
                valid_from: s.valid_from,
                valid_until: s.valid_until,
                dirty: s.dirty,
            };
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
        if new_issuers {
            self.refresh_gate();
        }
        Ok(changed.len())
    }
}
