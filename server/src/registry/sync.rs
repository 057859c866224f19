//! Compact and delta status sync (`docs/status-sync.md`): the full compact body of every list
//! (`GET /v1/status-compact`), re-signed whenever the bundle is, and the history that serves a
//! delta from an earlier `validFrom` (`GET /v1/status-compact?since=T`).
//!
//! The history is in memory and bounded: per list, the versions of the last
//! [`HISTORY_SECONDS`] and at most [`HISTORY_POSITIONS`] changed bits over all lists; a client
//! whose version is older (or a replica that started after it) gets a full record for that
//! list instead of a delta record, which is always correct, only larger.

use std::collections::{BTreeMap, VecDeque};

use cellproof_core::{
    changed_positions, set_positions, sign_compact, Bitstring, CompactRecord, KeyPair,
    COMPACT_MEDIA_TYPE,
};

use super::publication::Artifact;
use super::Registry;

/// Key of the full compact body in [`super::Published`].
pub const COMPACT_KEY: &str = "status-compact";

/// How far back deltas reach (a week: a daily sync always gets one).
pub const HISTORY_SECONDS: u64 = 7 * 24 * 3600;

/// Seconds below a client's `since` within which a list version may be newer than the
/// client's copy (`MAX_LEAD` plus a second of rounding): lists dated there get full records.
pub const SYNC_SLACK: u64 = super::MAX_LEAD + 1;

/// Most changed bits kept over all lists (8 bytes each: 64 MiB).
pub const HISTORY_POSITIONS: usize = 8 * 1024 * 1024;

/// One published version of a list: what changed since the previous one.
#[derive(Debug)]
struct Version {
    /// `validFrom` of the version before.
    from: u64,
    /// `validFrom` of this version.
    to: u64,
    /// Bits that flipped between the two.
    changed: Vec<u64>,
}

#[derive(Debug)]
struct ListHistory {
    bits: Bitstring,
    valid_from: u64,
    valid_until: u64,
    ttl_ms: u64,
    versions: VecDeque<Version>,
}

/// The newest version of every list and how each got there; what delta GETs are made from.
#[derive(Debug, Default)]
pub struct SyncHistory {
    lists: BTreeMap<String, ListHistory>,
    positions: usize,
    /// The authority that signs bodies, and its active key.
    signer: Option<(String, KeyPair)>,
}

impl SyncHistory {
    /// Records the current version of a list (a no-op when its `validFrom` is the one held).
    fn observe(&mut self, id: &str, bits: &Bitstring, vf: u64, vu: u64, ttl_ms: u64) {
        match self.lists.get_mut(id) {
            Some(h) if h.valid_from == vf => {}
            Some(h) if vf > h.valid_from && h.bits.entries() == bits.entries() => {
                let changed = changed_positions(&h.bits, bits);
                self.positions += changed.len();
                h.versions.push_back(Version {
                    from: h.valid_from,
                    to: vf,
                    changed,
                });
                h.bits.clone_from(bits);
                h.valid_from = vf;
                h.valid_until = vu;
                h.ttl_ms = ttl_ms;
            }
            _ => {
                self.lists.insert(
                    id.to_owned(),
                    ListHistory {
                        bits: bits.clone(),
                        valid_from: vf,
                        valid_until: vu,
                        ttl_ms,
                        versions: VecDeque::new(),
                    },
                );
            }
        }
    }

    /// Forgets versions older than the window, then the oldest until under the bit budget.
    fn trim(&mut self, now: u64) {
        let floor = now.saturating_sub(HISTORY_SECONDS);
        for h in self.lists.values_mut() {
            while h.versions.front().is_some_and(|v| v.to < floor) {
                if let Some(v) = h.versions.pop_front() {
                    self.positions = self.positions.saturating_sub(v.changed.len());
                }
            }
        }
        while self.positions > HISTORY_POSITIONS {
            // The list whose oldest version is oldest loses it.
            let Some(h) = self
                .lists
                .values_mut()
                .filter(|h| !h.versions.is_empty())
                .min_by_key(|h| h.versions.front().map_or(u64::MAX, |v| v.to))
            else {
                break;
            };
            if let Some(v) = h.versions.pop_front() {
                self.positions = self.positions.saturating_sub(v.changed.len());
            }
        }
    }

    fn full(id: &str, h: &ListHistory) -> CompactRecord {
        CompactRecord {
            id: id.to_owned(),
            valid_from: h.valid_from,
            valid_until: h.valid_until,
            ttl_ms: h.ttl_ms,
            base: None,
            entries: h.bits.entries(),
            positions: set_positions(&h.bits),
        }
    }

    /// The signed full body of every list.
    pub fn full_body(&self) -> Option<Vec<u8>> {
        let (iss, key) = self.signer.as_ref()?;
        let records: Vec<CompactRecord> =
            self.lists.iter().map(|(id, h)| Self::full(id, h)).collect();
        Some(sign_compact(iss, &records, key))
    }

    /// The signed delta for a verifier holding every list as it was at `since` (the newest
    /// `validFrom` it holds from this registry): a delta record from the version current at
    /// `since` for each list changed after it, a full record where the history does not reach
    /// back or the list is new. Lists unchanged since then are not in it.
    pub fn delta_body(&self, since: u64) -> Option<Vec<u8>> {
        let (iss, key) = self.signer.as_ref()?;
        Some(sign_compact(iss, &self.delta_records(since), key))
    }

    /// The records of the delta from `since`: full records or changes from a held base.
    fn delta_records(&self, since: u64) -> Vec<CompactRecord> {
        let mut records = Vec::new();
        // `since` is the newest validFrom the client holds, but lists are signed one by one
        // and a validFrom runs up to MAX_LEAD ahead of the clock: a version dated within
        // SYNC_SLACK below `since` may have been published after the client synced. Such
        // lists get full records (a full record the client already holds is a no-op); a
        // delta's base is always a version older than that window, which the client holds.
        let edge = since.saturating_sub(SYNC_SLACK);
        for (id, h) in &self.lists {
            if h.valid_from <= edge {
                continue;
            }
            // Versions after the window's edge; the first one's `from` is the version the
            // client holds when none of them falls inside the window.
            let newer: Vec<&Version> = h.versions.iter().filter(|v| v.to > edge).collect();
            let ambiguous = newer.iter().any(|v| v.to <= since);
            match newer.first() {
                Some(first) if first.from <= edge && !ambiguous => {
                    let mut flips: Vec<u64> = newer
                        .iter()
                        .flat_map(|v| v.changed.iter().copied())
                        .collect();
                    flips.sort_unstable();
                    // A bit flipped twice is back where it was.
                    let mut out: Vec<u64> = Vec::with_capacity(flips.len());
                    for p in flips {
                        if out.last() == Some(&p) {
                            out.pop();
                        } else {
                            out.push(p);
                        }
                    }
                    records.push(CompactRecord {
                        id: id.clone(),
                        valid_from: h.valid_from,
                        valid_until: h.valid_until,
                        ttl_ms: h.ttl_ms,
                        base: Some(first.from),
                        entries: h.bits.entries(),
                        positions: out,
                    });
                }
                _ => records.push(Self::full(id, h)),
            }
        }
        records
    }
}

impl SyncHistory {
    /// [`SyncHistory::delta_body`] as an artifact to serve.
    pub fn delta_artifact(&self, since: u64) -> Option<Artifact> {
        self.delta_body(since)
            .map(|b| Artifact::new(b, COMPACT_MEDIA_TYPE))
    }
}

impl Registry {
    /// Records every list's current version in the sync history and publishes the full
    /// compact body beside the bundle. Called wherever the bundle is published.
    pub(super) fn publish_compact(&self) {
        let Ok(mut h) = self.published.sync.lock() else {
            return;
        };
        let ttl_ms = self.settings.ttl.saturating_mul(1000);
        let mut now = 0;
        for (slug, i) in &self.issuers {
            let base = self.status_base(slug);
            for (lid, l) in &i.lists {
                for (p, s) in &l.purposes {
                    if s.jws.is_empty() {
                        continue;
                    }
                    let id = p.list_url(&base, lid);
                    h.observe(&id, &s.bits, s.valid_from, s.valid_until, ttl_ms);
                    now = now.max(s.valid_from);
                }
            }
        }
        h.trim(now);
        h.signer = self
            .active()
            .map(|k| (self.settings.authority_did.clone(), k.kp.clone()));
        if let Some(body) = h.full_body() {
            self.published
                .put(COMPACT_KEY.into(), Artifact::new(body, COMPACT_MEDIA_TYPE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(set: &[u64]) -> Bitstring {
        let mut b = Bitstring::zeroed(131_072);
        for i in set {
            b.set(*i, true).unwrap();
        }
        b
    }

    #[test]
    fn history_is_trimmed_by_age() {
        let mut h = SyncHistory::default();
        h.observe("a", &bits(&[]), 10, 20, 0);
        h.observe("a", &bits(&[1]), 20, 30, 0);
        let later = 20 + HISTORY_SECONDS + 5;
        h.observe("a", &bits(&[1, 2]), later, 0, 0);
        assert_eq!(h.positions, 2);
        // The version that ended at 20 is older than the window: gone; the newest stays.
        h.trim(later);
        assert_eq!(h.lists["a"].versions.len(), 1);
        assert_eq!(h.positions, 1);
    }

    fn records(h: &SyncHistory, since: u64) -> Vec<(String, Option<u64>, Vec<u64>)> {
        h.delta_records(since)
            .into_iter()
            .map(|r| (r.id, r.base, r.positions))
            .collect()
    }

    #[test]
    fn a_version_dated_just_below_since_comes_as_a_full_record() {
        let mut h = SyncHistory::default();
        // "a" was signed at 100 and 200; "b" at 101 and then at 199, after a client synced
        // at 200 holding "a"@200 and "b"@101 (b's 199 is older than the client's since).
        h.observe("a", &bits(&[]), 100, 0, 0);
        h.observe("a", &bits(&[1]), 200, 0, 0);
        h.observe("b", &bits(&[]), 101, 0, 0);
        h.observe("b", &bits(&[5]), 199, 0, 0);
        let r = records(&h, 200);
        // "b"@199 may be newer than the client's copy: it comes whole, never skipped.
        assert!(
            r.iter()
                .any(|(id, base, p)| id == "b" && base.is_none() && p == &vec![5]),
            "{r:?}"
        );
        // A change well after the window comes as a delta from the version before it.
        h.observe("a", &bits(&[1, 2]), 300, 0, 0);
        let r = records(&h, 250);
        assert_eq!(r, vec![("a".to_owned(), Some(200), vec![2])]);
    }
}
