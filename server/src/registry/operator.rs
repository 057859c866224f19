//! Operator actions: trust-list upload (verified by the core against the pinned roots),
//! issuer onboarding (each issuer bound to one home ecosystem, SPEC.md section 4), items for
//! the linkset, and status authority key rotation.

use std::collections::BTreeMap;

use cellproof_core::{Accepted, Bitstring, Error as CoreError, KeyPair, Purpose, TrustList};
use serde_json::{json, Value};

use super::{
    new_key_row, AuthorityKey, IssuerState, ListState, PurposeState, Registry, LIST_ENTRIES,
};
use crate::errors::OperatorError;
use crate::store::{AuthorityKeyRow, Batch, IssuerRow, ItemRow, ListRow, NewAudit, StoreError};

/// An onboarding request: which DID owns which list ids under which slug, authenticated in
/// which one ecosystem.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Onboard {
    /// URL slug.
    pub slug: String,
    /// Issuer DID.
    pub did: String,
    /// The issuer's home ecosystem: its requests are authenticated against this ecosystem's
    /// trust list alone (another ecosystem listing the same DID cannot speak for it).
    pub eco: String,
    /// List ids to create (existing ones are kept).
    pub lists: Vec<String>,
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

impl Registry {
    /// Re-reads what other replicas committed before an operator action decides anything
    /// (`follow.rs`): a replica checks an upload against the lists the database holds, not
    /// the ones it read at its last poll. A registry alone on its store holds everything.
    fn fresh(&mut self) -> Result<(), OperatorError> {
        self.catch_up().map_err(op_internal)
    }

    /// Uploads a trust list signed offline by an ecosystem root: verified against the pinned
    /// roots with the core's `TrustStore` (which refuses `seq` rollback), stored, published.
    /// Returns what was accepted and warnings about what verifiers would trip over.
    ///
    /// Only the uploaded ecosystem's row is written, and the store refuses to lower its
    /// `seq` (another replica may have stored a newer list since this one re-read them):
    /// that refusal is a `trust-list-rollback` conflict, like the core's. `unchanged` means
    /// the store holds these very bytes (as re-read just before).
    pub fn upload_trust_list(
        &mut self,
        body: &[u8],
        actor: &str,
        now: u64,
    ) -> Result<(Accepted, Vec<String>), OperatorError> {
        self.fresh()?;
        let text = std::str::from_utf8(body)
            .map_err(|_| OperatorError::Invalid {
                detail: "the body is not UTF-8".into(),
            })?
            .trim();
        // A refused list (even one merely pending a recognition) leaves the held store as is.
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
        // This ecosystem's row alone, with the bytes as uploaded: writing back the other
        // lists held here would replace newer ones another replica stored meanwhile.
        let row = (accepted.eco.clone(), accepted.seq, text.to_owned());
        let committed = self.commit(
            &Batch {
                trust_lists: vec![row],
                audit: vec![NewAudit {
                    actor: actor.into(),
                    action: "trust-list.upload".into(),
                    detail: json!({"eco": accepted.eco, "seq": accepted.seq,
                        "via": accepted.via}),
                    digest: super::digest_hex(body),
                }],
                ..Batch::default()
            },
            now,
        );
        match committed {
            Ok(_) => {}
            Err(StoreError::Conflict(detail)) => {
                return Err(OperatorError::TrustListRollback { detail })
            }
            Err(e) => return Err(op_internal(e)),
        }
        self.trust = trust;
        self.trust_raw.insert(accepted.eco.clone(), text.to_owned());
        self.publish_everything();
        self.refresh_gate();
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

    /// Onboards an issuer (or adds lists to it): binds it to its home ecosystem, creates and
    /// signs its empty status lists.
    pub fn onboard(
        &mut self,
        req: &Onboard,
        digest: String,
        actor: &str,
        now: u64,
    ) -> Result<Value, OperatorError> {
        self.fresh()?;
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
        if !(self.trust.pinned().any(|p| p == req.eco) || self.trust.list(&req.eco).is_some()) {
            return Err(invalid(format!(
                "eco {:?} is neither a pinned ecosystem nor one whose trust list is held",
                req.eco
            )));
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
            if let Some(eco) = i.eco.as_deref().filter(|e| *e != req.eco) {
                // Moving an issuer to another ecosystem would let that ecosystem's root speak
                // for it: not something a routine onboarding call may do.
                return Err(OperatorError::Conflict {
                    detail: format!("{} is bound to the ecosystem {eco}", req.did),
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
            for p in Purpose::LISTS {
                let bits = Bitstring::zeroed_sized(LIST_ENTRIES, p.status_size());
                let jws = self.sign(&req.slug, lid, p, &bits, now);
                let s = PurposeState {
                    bits,
                    signed: None,
                    jws,
                    valid_from: now,
                    valid_until: now.saturating_add(self.settings.freshness),
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
        let bound_before = self.issuers.get(&req.slug).is_some_and(|i| i.eco.is_some());
        if new_lists.is_empty() && bound_before {
            // Nothing to change (the demo re-onboards at every start): no audit entry.
            return Ok(self.onboard_answer(req));
        }
        let batch = Batch {
            issuers: vec![IssuerRow {
                slug: req.slug.clone(),
                did: req.did.clone(),
                eco: Some(req.eco.clone()),
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
                detail: json!({"slug": req.slug, "did": req.did, "eco": req.eco,
                    "lists": new_lists.iter().map(|(l, _)| l).collect::<Vec<_>>()}),
                digest,
            }],
            ..Batch::default()
        };
        self.commit(&batch, now).map_err(op_internal)?;
        let entry = self
            .issuers
            .entry(req.slug.clone())
            .or_insert_with(|| IssuerState {
                did: req.did.clone(),
                eco: None,
                lists: BTreeMap::new(),
            });
        entry.eco = Some(req.eco.clone());
        entry.lists.extend(new_lists);
        self.publish_everything();
        self.refresh_gate();
        Ok(self.onboard_answer(req))
    }

    fn onboard_answer(&self, req: &Onboard) -> Value {
        let mut warnings = Vec::new();
        let listed = self
            .trust
            .list(&req.eco)
            .is_some_and(|l| l.entities.iter().any(|e| e.id == req.did));
        if !listed {
            warnings.push(format!(
                "{} is in no accepted trust list of {} yet: its requests will be refused",
                req.did, req.eco
            ));
        }
        json!({
            "slug": req.slug, "did": req.did, "eco": req.eco,
            "statusBase": self.status_base(&req.slug),
            "lists": self.issuers.get(&req.slug).map(|i| i.lists.keys().cloned().collect::<Vec<_>>()),
            "warnings": warnings,
        })
    }

    /// Registers an item (battery) for the Digital Link linkset.
    pub fn register_item(&mut self, item: ItemRow, now: u64) -> Result<(), OperatorError> {
        self.commit(
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
        self.fresh()?;
        let row = new_key_row(now, &self.keys, false).map_err(op_internal)?;
        self.commit(
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
        self.fresh()?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kp.kid == kid)
            .ok_or_else(|| OperatorError::UnknownKey { kid: kid.into() })?;
        let x = key.kp.public().x;
        let missing: Vec<String> = self
            .accepted_trust_lists()
            .filter_map(|(eco, _)| {
                let l = self.trust.list(eco)?;
                let listed = l.authorities.iter().any(|a| {
                    a.id == self.settings.authority_did
                        && a.keys
                            .iter()
                            .any(|k| k.x == x && k.kid.as_deref() == Some(kid))
                });
                (!listed).then(|| eco.clone())
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
        self.commit(
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
        // From now on the head is vouched for by the key now active.
        self.sign_head(now).map_err(op_internal)?;
        for i in self.issuers.values_mut() {
            for l in i.lists.values_mut() {
                for s in l.purposes.values_mut() {
                    s.dirty = true;
                }
            }
        }
        let n = self.resign(now).map_err(op_internal)?;
        Ok(json!({"active": kid, "resigned": n}))
    }
}
