//! Compact and delta status sync (`docs/status-sync.md`): the full compact body of every list
//! (`GET /v1/status-compact`), re-signed whenever the bundle is, and the history that serves a
//! delta from an earlier version (`GET /v1/status-compact?since=`).
//!
//! Versions are counted, not dated: every rebuild that sees a list change seals a new *epoch*
//! of this process's history, and the cursor a response names (`Cellproof-Cursor`, this
//! process's instance and epoch) is what a client sends back as `since`. A delta never depends
//! on the signer's clock going forward (a `validFrom` after a clock jump back can be older than
//! the client's newest one). A `since` in Unix seconds (clients before the cursor) is mapped to
//! the epochs whose newest `validFrom` it is (and so is another instance's cursor, by the
//! newest `validFrom` it carries); one the history cannot place (ahead of every version held,
//! older than the history) gets the full body.
//!
//! The history is in memory and bounded: per list, the versions of the last
//! [`HISTORY_SECONDS`] and at most [`HISTORY_POSITIONS`] changed bits over all lists; a client
//! whose version is older (or a replica that started after it) gets a full record for that
//! list instead of a delta record, which is always correct, only larger.
//!
//! Deltas are cached per head epoch and per placed `since` (every `since` the history places
//! is one of its epochs, or a range of them): any number of `since` values costs at most
//! [`MAX_DELTA_BODIES`] builds and signatures per published change and at most
//! [`MAX_DELTA_BUILDS`] at once, built outside the mutex the tick takes under the registry
//! lock. Past either bound a request gets the full body: correct, only larger.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

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

/// Most changed bits kept over all lists (8 bytes each: 64 MiB).
pub const HISTORY_POSITIONS: usize = 8 * 1024 * 1024;

/// Seconds below a `since` in seconds within which a list version may be newer than the
/// client's copy (`MAX_LEAD` plus a second of rounding), where the history cannot tell.
pub const SYNC_SLACK: u64 = super::MAX_LEAD + 1;

/// Most epochs whose newest `validFrom` is kept for `since` in Unix seconds (16 bytes each).
const MAX_EPOCHS: usize = 1 << 20;

/// Most delta bodies built for one head epoch; a `since` not among them past it gets the full
/// body (correct, only larger). Clients that synced at the same publication share one body.
pub const MAX_DELTA_BODIES: usize = 64;

/// Most deltas built at once; a request past it gets the full body instead of waiting.
pub const MAX_DELTA_BUILDS: usize = 2;

/// The response header naming the version a compact body or delta brings its client to, to
/// send back as `?since=` (`docs/status-sync.md`, "Incremental sync").
pub const CURSOR_HEADER: &str = "cellproof-cursor";

/// The current version of a list, shared by deltas being built (never changed in place).
#[derive(Debug)]
struct Current {
    bits: Bitstring,
    valid_from: u64,
    valid_until: u64,
    ttl_ms: u64,
    /// The epoch this version was first seen in.
    epoch: u64,
}

/// One published version of a list: what changed since the previous one.
#[derive(Debug)]
struct Version {
    /// The epoch it was first seen in.
    epoch: u64,
    /// `validFrom` of the version before.
    from: u64,
    /// `validFrom` of this version.
    to: u64,
    /// Bits that flipped between the two.
    changed: Vec<u64>,
}

#[derive(Debug)]
struct ListHistory {
    cur: Arc<Current>,
    /// Every version seen after `known_since`, oldest first.
    versions: VecDeque<Arc<Version>>,
    /// The history of this list is complete after this epoch (its first epoch, or the epoch
    /// of the newest version trimmed).
    known_since: u64,
}

/// A `since` the history could place: the client holds, for every list, the version of some
/// epoch in `lo..=hi` (a cursor: `lo == hi`), and, when `edge` is set (a `since` in seconds
/// at the history's first epoch), maybe not a version of `lo` dated after `edge`.
type Range = (u64, u64, Option<u64>);

/// Delta bodies of one head epoch, by placed range `(lo, hi)`; cleared when a new epoch is
/// sealed.
#[derive(Debug, Default)]
struct DeltaCache {
    bodies: HashMap<Range, Arc<OnceLock<Arc<Artifact>>>>,
}

/// The newest version of every list and how each got there; what delta GETs are made from.
#[derive(Debug)]
pub struct SyncHistory {
    lists: BTreeMap<String, ListHistory>,
    positions: usize,
    /// The authority that signs bodies, and its active key.
    signer: Option<(String, KeyPair)>,
    /// The newest sealed epoch (0: none yet).
    epoch: u64,
    /// Whether an observed change waits for [`SyncHistory::seal`].
    pending: bool,
    /// Names this process's epochs in cursors: a cursor of another process (a restart, another
    /// replica) is not placed.
    instance: u64,
    /// `(epoch, newest validFrom over all lists)` of every sealed epoch kept, both increasing.
    maxes: VecDeque<(u64, u64)>,
    /// The newest full body and the cursor it brings a client to (built after the epoch is
    /// sealed, outside this mutex: until it is in place, the one before is served with its
    /// own cursor).
    full: Option<(Arc<Artifact>, String)>,
    cache: DeltaCache,
    /// Deltas being built now.
    building: Arc<AtomicUsize>,
}

impl Default for SyncHistory {
    fn default() -> Self {
        let mut r = [0u8; 8];
        // Without randomness the instance is the time in nanoseconds: still distinct per start.
        if getrandom::getrandom(&mut r).is_err() {
            let ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            r = (ns as u64).to_le_bytes();
        }
        SyncHistory {
            lists: BTreeMap::new(),
            positions: 0,
            signer: None,
            epoch: 0,
            pending: false,
            instance: u64::from_le_bytes(r),
            maxes: VecDeque::new(),
            full: None,
            cache: DeltaCache::default(),
            building: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// What a `since` is: Unix seconds (clients before the cursor) or a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// The newest `validFrom` the client holds.
    Seconds(u64),
    /// A `Cellproof-Cursor` value: instance, epoch, and the newest `validFrom` of that epoch
    /// (what another instance places it by, as [`Since::Seconds`]).
    Cursor(u64, u64, u64),
}

impl Since {
    /// Parses a `since` value: decimal Unix seconds, or a cursor
    /// `{instance:016x}-{epoch}-{newest validFrom}`.
    pub fn parse(v: &str) -> Option<Since> {
        let decimal = |d: &str| {
            (!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .then(|| d.parse::<u64>().ok())
                .flatten()
        };
        if !v.contains('-') {
            return decimal(v).map(Since::Seconds);
        }
        let mut parts = v.split('-');
        let (i, e, t) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || i.len() != 16
            || !i.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        Some(Since::Cursor(
            u64::from_str_radix(i, 16).ok()?,
            decimal(e)?,
            decimal(t)?,
        ))
    }
}

/// What is needed to build one delta, taken under the mutex in microseconds (pointer copies).
#[derive(Debug)]
enum Item {
    Full(String, Arc<Current>),
    Delta(String, Arc<Current>, u64, Vec<Arc<Version>>),
}

/// A delta to build outside the mutex, into `slot` (shared by every request of its range).
#[derive(Debug)]
pub struct DeltaBuild {
    slot: Arc<OnceLock<Arc<Artifact>>>,
    items: Vec<Item>,
    signer: (String, KeyPair),
    building: Arc<AtomicUsize>,
}

/// How a `since` is answered.
#[derive(Debug)]
pub enum DeltaPlan {
    /// A body ready to serve: the full body (a `since` not placed, or past the cache's bound)
    /// or a cached delta.
    Ready(Arc<Artifact>),
    /// A delta to build ([`DeltaBuild::run`]), then serve.
    Build(Box<DeltaBuild>),
}

impl Drop for DeltaBuild {
    fn drop(&mut self) {
        self.building.fetch_sub(1, Ordering::AcqRel);
    }
}

impl DeltaBuild {
    /// Builds and signs the delta (once per range: concurrent requests of the range wait for
    /// the first); `built` is called when this call did the work. Run it on the blocking pool.
    pub fn run(self, built: impl FnOnce()) -> Arc<Artifact> {
        self.slot
            .get_or_init(|| {
                built();
                let records: Vec<CompactRecord> = self.items.iter().map(record).collect();
                let (iss, key) = &self.signer;
                Arc::new(Artifact::new(
                    sign_compact(iss, &records, key),
                    COMPACT_MEDIA_TYPE,
                ))
            })
            .clone()
    }
}

fn full_record(id: &str, c: &Current) -> CompactRecord {
    CompactRecord {
        id: id.to_owned(),
        valid_from: c.valid_from,
        valid_until: c.valid_until,
        ttl_ms: c.ttl_ms,
        base: None,
        entries: c.bits.bit_len(),
        positions: set_positions(&c.bits),
    }
}

fn record(item: &Item) -> CompactRecord {
    match item {
        Item::Full(id, c) => full_record(id, c),
        Item::Delta(id, c, base, versions) => {
            let mut flips: Vec<u64> = versions
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
            CompactRecord {
                id: id.clone(),
                valid_from: c.valid_from,
                valid_until: c.valid_until,
                ttl_ms: c.ttl_ms,
                base: Some(*base),
                entries: c.bits.bit_len(),
                positions: out,
            }
        }
    }
}

impl SyncHistory {
    /// Records the current version of a list (a no-op when its `validFrom` is the one held);
    /// a change joins the epoch the next [`SyncHistory::seal`] closes.
    fn observe(&mut self, id: &str, bits: &Bitstring, vf: u64, vu: u64, ttl_ms: u64) {
        let epoch = self.epoch + 1;
        let cur = Arc::new(Current {
            bits: bits.clone(),
            valid_from: vf,
            valid_until: vu,
            ttl_ms,
            epoch,
        });
        match self.lists.get_mut(id) {
            Some(h) if h.cur.valid_from == vf => return,
            Some(h) if vf > h.cur.valid_from && h.cur.bits.entries() == bits.entries() => {
                let changed = changed_positions(&h.cur.bits, bits);
                self.positions += changed.len();
                h.versions.push_back(Arc::new(Version {
                    epoch,
                    from: h.cur.valid_from,
                    to: vf,
                    changed,
                }));
                h.cur = cur;
            }
            _ => {
                // New, or a version that does not follow the one held: history starts here.
                let old = self.lists.insert(
                    id.to_owned(),
                    ListHistory {
                        cur,
                        versions: VecDeque::new(),
                        known_since: epoch,
                    },
                );
                let dropped: usize = old
                    .iter()
                    .flat_map(|h| h.versions.iter())
                    .map(|v| v.changed.len())
                    .sum();
                self.positions = self.positions.saturating_sub(dropped);
            }
        }
        self.pending = true;
    }

    /// Closes the epoch of the changes observed since the last call (a no-op without one):
    /// cursors name it from now on, and the deltas cached for the previous head are dropped.
    fn seal(&mut self) {
        if !self.pending {
            return;
        }
        self.pending = false;
        self.epoch += 1;
        self.cache.bodies.clear();
        let newest = self
            .lists
            .values()
            .map(|h| h.cur.valid_from)
            .max()
            .unwrap_or(0);
        if self.maxes.back().is_some_and(|(_, m)| *m > newest) {
            // A list went back (reset by a replica reload): seconds no longer order the
            // epochs before; a `since` in seconds from before gets the full body.
            self.maxes.clear();
        }
        self.maxes.push_back((self.epoch, newest));
        while self.maxes.len() > MAX_EPOCHS {
            self.maxes.pop_front();
        }
    }

    /// Forgets versions older than the window, then the oldest until under the bit budget.
    fn trim(&mut self, now: u64) {
        let floor = now.saturating_sub(HISTORY_SECONDS);
        for h in self.lists.values_mut() {
            while h.versions.front().is_some_and(|v| v.to < floor) {
                if let Some(v) = h.versions.pop_front() {
                    self.positions = self.positions.saturating_sub(v.changed.len());
                    h.known_since = h.known_since.max(v.epoch);
                }
            }
        }
        while self.maxes.front().is_some_and(|(_, m)| *m < floor) {
            self.maxes.pop_front();
        }
        while self.positions > HISTORY_POSITIONS {
            // The list whose oldest version is oldest loses it.
            let Some(h) = self
                .lists
                .values_mut()
                .filter(|h| !h.versions.is_empty())
                .min_by_key(|h| h.versions.front().map_or(u64::MAX, |v| v.epoch))
            else {
                break;
            };
            if let Some(v) = h.versions.pop_front() {
                self.positions = self.positions.saturating_sub(v.changed.len());
                h.known_since = h.known_since.max(v.epoch);
            }
        }
    }

    /// What the full body of the newest epoch is made of, with its signer and cursor
    /// (pointer copies: built and signed after the mutex is released).
    fn full_snapshot(&self) -> Option<(Vec<Item>, (String, KeyPair), String)> {
        let items = self
            .lists
            .iter()
            .map(|(id, h)| Item::Full(id.clone(), h.cur.clone()))
            .collect();
        Some((items, self.signer.clone()?, self.cursor()))
    }

    /// The cursor of the newest epoch (`Cellproof-Cursor`).
    pub fn cursor(&self) -> String {
        let newest = self.maxes.back().map_or(0, |(_, m)| *m);
        format!("{:016x}-{}-{newest}", self.instance, self.epoch)
    }

    /// The full body with the cursor it brings a client to.
    pub fn full(&self) -> Option<(Arc<Artifact>, String)> {
        self.full.clone()
    }

    /// The epochs a client sending `since` may be at, when the history can tell.
    fn place(&self, since: Since) -> Option<Range> {
        match since {
            // Another instance's (a restart, another replica behind the same name): placed by
            // its newest validFrom, as a `since` in seconds.
            Since::Cursor(i, _, t) if i != self.instance => self.place(Since::Seconds(t)),
            Since::Cursor(_, e, _) => (e <= self.epoch).then_some((e, e, None)),
            Since::Seconds(t) => {
                // A client's newest validFrom only grows with the registry's versions, so the
                // client holds at least the versions of the last epoch whose newest validFrom
                // is below `t`, and at most those of the last epoch at `t` (lists are signed
                // one by one: a list may be signed after the client synced with a validFrom at
                // or below `t`, so the epochs at `t` are a range, not a point). A `t` between
                // two epochs (from another replica, which saw other states) is placed after the
                // lower one: a list it holds newer gets `status_delta_base`, never a gap.
                let first = self.maxes.partition_point(|(_, m)| *m < t);
                let past = self.maxes.partition_point(|(_, m)| *m <= t);
                if past == self.maxes.len() && first == past {
                    // After every version held (a clock ahead, another registry): anything.
                    return None;
                }
                if first > 0 {
                    let lo = self.maxes.get(first - 1)?.0;
                    let hi = if past > first {
                        self.maxes.get(past - 1)?.0
                    } else {
                        lo
                    };
                    return Some((lo, hi, None));
                }
                if past == 0 {
                    // Older than the history.
                    return None;
                }
                // At the history's first epoch (a registry just started): the client may hold
                // a state from before it, as the bodies before the cursor assumed (lists
                // dated within SYNC_SLACK below `t` come whole). A clock that jumped back
                // just before a restart can defeat this; the cursor cannot be.
                let lo = self.maxes.front()?.0;
                let hi = self.maxes.get(past - 1)?.0;
                Some((lo, hi, Some(t.saturating_sub(SYNC_SLACK))))
            }
        }
    }

    /// What the delta from a range is made of.
    fn items(&self, (lo, hi, edge): Range) -> Vec<Item> {
        let mut items = Vec::new();
        for (id, h) in &self.lists {
            if let Some(edge) = edge {
                // The version of `lo`: the newest, or the one the first version after it
                // replaced.
                let at_lo = h
                    .versions
                    .iter()
                    .find(|v| v.epoch > lo)
                    .map_or(h.cur.valid_from, |v| v.from);
                if at_lo > edge {
                    items.push(Item::Full(id.clone(), h.cur.clone()));
                    continue;
                }
            }
            if h.cur.epoch <= lo {
                // Unchanged since before the range: the client holds it.
                continue;
            }
            // Changed inside the range (the client may hold that version, or not: a full record
            // it holds is a no-op), or the history does not reach back to `lo`: whole.
            let inside = h.versions.iter().any(|v| v.epoch > lo && v.epoch <= hi);
            if lo < h.known_since || inside {
                items.push(Item::Full(id.clone(), h.cur.clone()));
                continue;
            }
            let after: Vec<Arc<Version>> = h
                .versions
                .iter()
                .filter(|v| v.epoch > hi)
                .cloned()
                .collect();
            match after.first() {
                Some(first) => {
                    let base = first.from;
                    items.push(Item::Delta(id.clone(), h.cur.clone(), base, after));
                }
                None => items.push(Item::Full(id.clone(), h.cur.clone())),
            }
        }
        items
    }

    /// How to answer `?since=`, with the cursor of the answer (a delta's: the head now; the
    /// full body's own). Called under the mutex: it copies pointers only; the build and
    /// signature happen after it is released.
    pub fn plan(&mut self, since: Since) -> Option<(DeltaPlan, String)> {
        let (full, full_cursor) = self.full()?;
        let signer = self.signer.clone()?;
        let cursor = self.cursor();
        let ready_full = || Some((DeltaPlan::Ready(full.clone()), full_cursor.clone()));
        let Some(range) = self.place(since) else {
            return ready_full();
        };
        let key = range;
        let slot = match self.cache.bodies.get(&key) {
            Some(s) => {
                if let Some(a) = s.get() {
                    return Some((DeltaPlan::Ready(a.clone()), cursor));
                }
                s.clone()
            }
            None if self.cache.bodies.len() >= MAX_DELTA_BODIES => return ready_full(),
            None => {
                let s = Arc::new(OnceLock::new());
                self.cache.bodies.insert(key, s.clone());
                s
            }
        };
        if self.building.fetch_add(1, Ordering::AcqRel) >= MAX_DELTA_BUILDS {
            self.building.fetch_sub(1, Ordering::AcqRel);
            return ready_full();
        }
        let build = DeltaBuild {
            slot,
            items: self.items(key),
            signer,
            building: self.building.clone(),
        };
        Some((DeltaPlan::Build(Box::new(build)), cursor))
    }
}

impl Registry {
    /// Records every list's current version in the sync history and publishes the full
    /// compact body beside the bundle. Called wherever the bundle is published.
    ///
    /// The full body is built and signed after the sync mutex is released (delta GETs and
    /// full-body GETs take it on actix workers); publishers are serialised by the registry
    /// mutex the caller holds.
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
                    // The signed bits: a replica holds bits other replicas set that no signed
                    // list shows yet, and a body under this validFrom must not show them.
                    h.observe(&id, s.signed_bits(), s.valid_from, s.valid_until, ttl_ms);
                    now = now.max(s.valid_from);
                }
            }
        }
        h.seal();
        h.trim(now);
        h.signer = self
            .active()
            .map(|k| (self.settings.authority_did.clone(), k.kp.clone()));
        let Some((items, (iss, key), cursor)) = h.full_snapshot() else {
            return;
        };
        drop(h);
        let records: Vec<CompactRecord> = items.iter().map(record).collect();
        let a = Artifact::new(sign_compact(&iss, &records, &key), COMPACT_MEDIA_TYPE);
        // The same bytes and tag beside the cursor they bring a client to (routes/publish.rs
        // serves the pair together).
        let pair = Arc::new(Artifact {
            body: a.body.clone(),
            etag: a.etag.clone(),
            content_type: a.content_type,
            gzip: OnceLock::new(),
        });
        if let Ok(mut h) = self.published.sync.lock() {
            h.full = Some((pair, cursor));
        }
        self.published.put(COMPACT_KEY.into(), a);
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

    fn history() -> SyncHistory {
        SyncHistory {
            signer: Some(("did:web:a".into(), KeyPair::from_secret("k", &[7; 32]))),
            full: Some((
                Arc::new(Artifact::new(Vec::new(), COMPACT_MEDIA_TYPE)),
                String::new(),
            )),
            ..SyncHistory::default()
        }
    }

    /// Observes `lists` as one publication (one epoch).
    fn publish(h: &mut SyncHistory, lists: &[(&str, &[u64], u64)]) {
        for (id, set, vf) in lists {
            h.observe(id, &bits(set), *vf, vf + 100, 0);
        }
        h.seal();
    }

    /// A record as `(id, base, positions)`.
    type Rec = (String, Option<u64>, Vec<u64>);

    fn items(h: &SyncHistory, since: Since) -> Option<Vec<Rec>> {
        let key = h.place(since)?;
        Some(
            h.items(key)
                .iter()
                .map(record)
                .map(|r| (r.id, r.base, r.positions))
                .collect(),
        )
    }

    #[test]
    fn history_is_trimmed_by_age() {
        let mut h = history();
        publish(&mut h, &[("a", &[], 10)]);
        publish(&mut h, &[("a", &[1], 20)]);
        let later = 20 + HISTORY_SECONDS + 5;
        publish(&mut h, &[("a", &[1, 2], later)]);
        assert_eq!(h.positions, 2);
        // The version that ended at 20 is older than the window: gone; the newest stays, and
        // a client from before it gets a full record.
        h.trim(later);
        assert_eq!(h.lists["a"].versions.len(), 1);
        assert_eq!(h.positions, 1);
        let c = Since::Cursor(h.instance, 1, 0);
        assert_eq!(items(&h, c), Some(vec![("a".into(), None, vec![1, 2])]));
    }

    #[test]
    fn a_cursor_gets_every_list_changed_after_it_whatever_its_validfrom() {
        let mut h = history();
        publish(&mut h, &[("a", &[], 1000), ("b", &[], 1000)]);
        // The clock jumped back: b is re-signed with a validFrom older than a's.
        publish(&mut h, &[("a", &[1], 5000)]);
        let cursor = Since::Cursor(h.instance, h.epoch, 0);
        publish(&mut h, &[("b", &[7], 1001)]);
        assert_eq!(
            items(&h, cursor),
            Some(vec![("b".into(), Some(1000), vec![7])])
        );
        // The client's newest validFrom (5000) is placed too: b comes, whole or as a delta.
        let r = items(&h, Since::Seconds(5000)).unwrap();
        assert!(
            r.iter().any(|(id, _, p)| id == "b" && p == &vec![7]),
            "{r:?}"
        );
        // A time in the future, another instance's cursor, an epoch not reached yet: not
        // placed (the full body answers).
        assert_eq!(h.place(Since::Seconds(9000)), None);
        // The full body answers with its own cursor, not the head's: it may be the one of an
        // epoch before (the new one is built outside the mutex).
        match h.plan(Since::Seconds(9000)) {
            Some((DeltaPlan::Ready(_), c)) => assert_eq!(c, ""),
            other => panic!("{other:?}"),
        }
        assert_eq!(h.place(Since::Cursor(h.instance ^ 1, 1, 9000)), None);
        assert_eq!(h.place(Since::Cursor(h.instance, h.epoch + 1, 0)), None);
        // The head: nothing to send.
        assert_eq!(
            items(&h, Since::Cursor(h.instance, h.epoch, 0)),
            Some(vec![])
        );
    }

    #[test]
    fn a_list_signed_within_the_seconds_range_comes_as_a_full_record() {
        let mut h = history();
        publish(&mut h, &[("a", &[], 100), ("b", &[], 100)]);
        publish(&mut h, &[("a", &[1], 200)]);
        // Signed after a client synced at 200, with a validFrom at or below 200 (lists are
        // signed one by one): the client may hold it or not.
        publish(&mut h, &[("b", &[5], 150)]);
        publish(&mut h, &[("a", &[1, 2], 300)]);
        // Every list with a version in the epochs whose newest validFrom is 200 comes whole
        // (a's version 200 too: the 200 the client names may have been another list's).
        let r = items(&h, Since::Seconds(200)).unwrap();
        assert_eq!(
            r,
            vec![("a".into(), None, vec![1, 2]), ("b".into(), None, vec![5])]
        );
        // By cursor there is no doubt: the client of epoch 3 holds b's version.
        let r = items(&h, Since::Cursor(h.instance, 3, 0)).unwrap();
        assert_eq!(r, vec![("a".into(), Some(200), vec![2])]);
    }

    #[test]
    fn any_number_of_since_values_costs_a_bounded_number_of_builds() {
        let mut h = history();
        publish(&mut h, &[("a", &[], 100)]);
        for vf in 101..2000 {
            publish(&mut h, &[("a", &[vf], vf)]);
        }
        let mut builds = 0;
        let mut full = 0;
        for round in 0..2 {
            for e in 0..=h.epoch + 5 {
                for since in [
                    Since::Cursor(h.instance, e, 0),
                    Since::Seconds(e + 99),
                    Since::Cursor(h.instance ^ 1, e, 0),
                ] {
                    match h.plan(since) {
                        Some((DeltaPlan::Build(b), _)) => {
                            b.run(|| builds += 1);
                        }
                        Some((DeltaPlan::Ready(a), _)) if a.body.is_empty() => full += 1,
                        _ => {}
                    }
                }
            }
            // The first round built MAX_DELTA_BODIES, the second none.
            assert_eq!(builds, MAX_DELTA_BODIES, "round {round}");
        }
        assert!(full > 2 * 2000, "{full}");
        // A new publication: new bodies.
        publish(&mut h, &[("a", &[7], 5000)]);
        assert!(matches!(
            h.plan(Since::Cursor(h.instance, 1, 0)),
            Some((DeltaPlan::Build(_), _))
        ));
    }

    #[test]
    fn seconds_between_versions_or_at_the_first_are_placed_conservatively() {
        let mut h = history();
        publish(&mut h, &[("a", &[], 100), ("b", &[], 100), ("c", &[], 50)]);
        publish(&mut h, &[("a", &[1], 200)]);
        publish(&mut h, &[("b", &[2], 300)]);
        // 250 (another replica's state between two of these): after the version at 200.
        assert_eq!(
            items(&h, Since::Seconds(250)),
            Some(vec![("b".into(), Some(100), vec![2])])
        );
        // 100, the first epoch's: lists dated within SYNC_SLACK below it come whole (the client
        // may hold a state from before this history); c, older, is held.
        assert_eq!(
            items(&h, Since::Seconds(100)),
            Some(vec![
                ("a".into(), None, vec![1]),
                ("b".into(), None, vec![2])
            ])
        );
        // Another instance's cursor is placed by the newest validFrom it carries.
        assert_eq!(
            items(&h, Since::Cursor(h.instance ^ 1, 77, 250)),
            items(&h, Since::Seconds(250))
        );
        assert_eq!(
            items(&h, Since::Seconds(99)),
            None,
            "older than the history"
        );
        assert_eq!(
            items(&h, Since::Seconds(301)),
            None,
            "ahead of every version"
        );
    }

    #[test]
    fn since_is_seconds_or_a_cursor_of_this_form() {
        assert_eq!(Since::parse("17"), Some(Since::Seconds(17)));
        assert_eq!(
            Since::parse("00000000000000ff-3-17"),
            Some(Since::Cursor(255, 3, 17))
        );
        for bad in [
            "",
            "-1",
            "abc",
            "18446744073709551616",
            "ff-3-1",
            "00000000000000ff-3",
            "00000000000000FF-3-1",
            "00000000000000ff--1",
            "00000000000000ff-3-",
            "00000000000000ff-x-1",
            "00000000000000ff-3-1-1",
            "00000000000000ff-18446744073709551616-1",
        ] {
            assert_eq!(Since::parse(bad), None, "{bad}");
        }
    }
}
