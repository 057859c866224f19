//! The battery's life after its first use on the registry (SPEC.md 1.2 sections 3.4 and 6.2):
//! `POST /v1/lifecycle` (`op: "lifecycle"`) planned inside the issuer group commit
//! ([`Registry::apply_group`]), so an event, its lifecycle value, the side-effect bits a 1.1
//! verifier reads (refresh for a successor, revocation for `recycled`), the signed lists and
//! the audit entry `lifecycle.update` are one transaction, durable before the 200. The
//! event's row at (battery, seq) is the compare-and-set: two replicas applying events on the
//! same status cannot both commit (`store::Batch::events`).

use cellproof_core::lifecycle::{check_transition, side_effects, Actor, LifecycleStatus};
use cellproof_core::{DigitalLink, Error as CoreError, Operation, Purpose};
use serde_json::{json, Value};

use super::issuer::{Authenticated, Planned, Work};
use super::{PurposeState, Registry, LIST_ENTRIES};
use crate::errors::UpdateError;
use crate::store::{EventRow, StatusRow};

/// What `POST /v1/lifecycle` answers.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LifecycleAck {
    /// The battery's Digital Link path.
    pub item: String,
    /// The event's `id`.
    pub event: String,
    /// The status before.
    pub previous: LifecycleStatus,
    /// The status now held.
    pub status: LifecycleStatus,
    /// The event's position among the battery's events, from 1.
    pub seq: u64,
    /// The successor passports' paths it names.
    pub successors: Vec<String>,
    /// Whether the served lists already show it (else within a second).
    pub published: bool,
    /// Audit entry.
    pub audit: i64,
}

fn event_error(e: CoreError) -> UpdateError {
    match e {
        CoreError::LifecycleConflict { .. } => UpdateError::LifecycleConflict {
            detail: e.to_string(),
        },
        CoreError::LifecycleTransitionForbidden { .. } => UpdateError::TransitionForbidden {
            detail: e.to_string(),
        },
        e => UpdateError::EventInvalid {
            detail: e.to_string(),
        },
    }
}

fn internal(e: impl std::fmt::Display) -> UpdateError {
    tracing::error!(error = %e, "lifecycle request failed");
    UpdateError::Internal
}

/// Whether a passport version lists the battery `path` among its `metadata.predecessors`
/// (SPEC.md 3.4), by the predecessor's Digital Link URL.
fn lists_predecessor(jws: &str, path: &str) -> bool {
    super::subject_of(jws).is_some_and(|cs| {
        cellproof_core::lineage::listed(&cs)
            .iter()
            .any(|p| p.battery.as_ref().is_some_and(|b| b.path() == path))
    })
}

impl Registry {
    /// Keeps an applied event in memory (load, own commit, another replica's).
    pub(super) fn hold_event(&mut self, e: EventRow) {
        let held = self.events.entry(e.path.clone()).or_default();
        if held.iter().any(|h| h.seq == e.seq) {
            return;
        }
        self.event_ids.insert(e.event_id.clone(), e.path.clone());
        held.push(e);
        held.sort_by_key(|h| h.seq);
    }

    /// The applied events of a battery, oldest first.
    pub fn events_of(&self, path: &str) -> Vec<String> {
        self.events
            .get(path)
            .map(|v| v.iter().map(|e| e.jws.clone()).collect())
            .unwrap_or_default()
    }

    /// The successor paths the battery's applied events name (SPEC.md 6.2 `successors`).
    pub fn successors_of(&self, path: &str) -> Vec<String> {
        event_successors_all(&self.events_of(path))
    }

    /// Gives every list that has none its lifecycle list (lists onboarded before 1.2): all
    /// `original`, signed and stored at start.
    pub(super) fn add_lifecycle_lists(&mut self, now: u64) -> anyhow::Result<()> {
        let missing: Vec<(String, String)> = self
            .issuers
            .iter()
            .flat_map(|(slug, i)| {
                i.lists
                    .iter()
                    .filter(|(_, l)| !l.purposes.contains_key(&Purpose::Lifecycle))
                    .map(move |(lid, _)| (slug.clone(), lid.clone()))
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut rows: Vec<StatusRow> = Vec::new();
        for (slug, lid) in &missing {
            let p = Purpose::Lifecycle;
            let bits = cellproof_core::Bitstring::zeroed_sized(LIST_ENTRIES, p.status_size());
            let jws = self.sign(slug, lid, p, &bits, now);
            let s = PurposeState::from_row(
                bits,
                jws,
                now,
                now.saturating_add(self.settings.freshness),
                false,
                None,
            );
            rows.push(Self::status_row(slug, lid, p, &s));
            if let Some(l) = self
                .issuers
                .get_mut(slug)
                .and_then(|i| i.lists.get_mut(lid))
            {
                l.purposes.insert(p, s);
            }
        }
        self.store.commit(
            &crate::store::Batch {
                status: rows,
                ..Default::default()
            },
            now,
        )?;
        tracing::info!(lists = missing.len(), "lifecycle lists added");
        Ok(())
    }

    /// Checks one `op: "lifecycle"` request of a group against the group's working state
    /// (SPEC.md 3.4 and 6.2) and records its changes.
    pub(super) fn plan_lifecycle(
        &self,
        a: &Authenticated,
        w: &mut Work,
    ) -> Result<(Planned, Value, &'static str), UpdateError> {
        let ce = a.event.as_ref().ok_or(UpdateError::Internal)?;
        let Operation::Lifecycle { item, .. } = &a.operation else {
            return Err(UpdateError::Internal);
        };
        let dl = DigitalLink::parse_path(item).map_err(|e| UpdateError::Malformed {
            detail: format!("item: {e}"),
            code: Some(e.code()),
        })?;
        let path = dl.path();
        let it = self
            .items
            .get(&path)
            .cloned()
            .ok_or_else(|| UpdateError::ItemUnknown { path: path.clone() })?;
        if self.event_ids.contains_key(&ce.event.id) || w.event_ids.contains(&ce.event.id) {
            return Err(UpdateError::EventReplayed {
                id: ce.event.id.clone(),
            });
        }
        let lkey = (it.slug.clone(), it.list_id.clone(), Purpose::Lifecycle);
        let held_value = self
            .work_state(&lkey, w)?
            .bits
            .get(it.index)
            .map_err(internal)?;
        let held = LifecycleStatus::from_value(held_value)
            .ok_or_else(|| internal(format!("lifecycle value {held_value} held for {path}")))?;
        if held == LifecycleStatus::Recycled {
            return Err(UpdateError::PassportCeased { path });
        }
        let issuer = self.issuers.get(&it.slug).map(|i| i.did.as_str());
        let actor = Actor {
            roles: &ce.roles,
            speaks_for_issuer: issuer == Some(a.iss.as_str()),
        };
        check_transition(&dl, held, &ce.event, actor, w.now).map_err(event_error)?;
        // A successor passport already held must name this battery among its predecessors.
        for s in &ce.event.successors {
            let sp = s.battery.path();
            if let Some(current) = self.passports.get(&sp).and_then(|v| v.last()) {
                if !lists_predecessor(current, &path) {
                    return Err(UpdateError::LineageMismatch {
                        detail: format!(
                            "the passport of {sp} does not list {path} among its predecessors"
                        ),
                    });
                }
            }
        }
        self.work_set(&lkey, it.index, ce.event.new.value(), w)?;
        let fx = side_effects(&ce.event);
        if fx.refresh {
            let k = (it.slug.clone(), it.list_id.clone(), Purpose::Refresh);
            self.work_set(&k, it.index, 1, w)?;
        }
        if fx.revocation {
            let k = (it.slug.clone(), it.list_id.clone(), Purpose::Revocation);
            self.work_set(&k, it.index, 1, w)?;
        }
        let planned_before = w.batch.events.iter().filter(|e| e.path == path).count();
        let held_events = self.events.get(&path).map_or(0, Vec::len);
        let seq = u64::try_from(held_events + planned_before + 1).map_err(internal)?;
        w.batch.events.push(EventRow {
            path: path.clone(),
            seq,
            event_id: ce.event.id.clone(),
            digest: ce.digest.clone(),
            jws: ce.jws.clone(),
            accepted_at: w.now,
        });
        w.event_ids.insert(ce.event.id.clone());
        let successors: Vec<String> = ce
            .event
            .successors
            .iter()
            .map(|s| s.battery.path())
            .collect();
        let detail = json!({"jti": a.jti, "iat": a.iat, "item": path, "event": ce.event.id,
            "digest": ce.digest, "seq": seq, "previous": held.as_str(),
            "status": ce.event.new.as_str(), "successors": successors,
            "refresh": fx.refresh, "revocation": fx.revocation});
        let ack = LifecycleAck {
            item: path,
            event: ce.event.id.clone(),
            previous: held,
            status: ce.event.new,
            seq,
            successors,
            published: false,
            audit: 0,
        };
        Ok((
            Planned::Lifecycle {
                ack,
                keys: vec![lkey],
            },
            detail,
            "lifecycle.update",
        ))
    }
}

/// The successor paths applied events name, each once, in order.
pub fn event_successors_all(events: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        for s in event_successors(e) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The successor paths an applied event names (its stored, verified bytes).
fn event_successors(jws: &str) -> Vec<String> {
    let Ok(j) = cellproof_core::Jws::parse(
        jws.trim(),
        cellproof_core::Typ::Vc,
        cellproof_core::lifecycle::EVENT.max,
    ) else {
        return Vec::new();
    };
    cellproof_core::lifecycle::LifecycleEvent::from_payload(j.unverified_payload())
        .map(|e| e.successors.iter().map(|s| s.battery.path()).collect())
        .unwrap_or_default()
}
