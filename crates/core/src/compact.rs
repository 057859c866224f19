//! Compact and delta status sync (`docs/status-sync.md`): the bits of many W3C status lists,
//! as Golomb-Rice coded gaps between set bits, under one signature of their status authority.
//!
//! A body is `JWS LF stream`. The JWS (`typ: status-list-compact+jwt`) signs the stream's
//! length and SHA-256; the stream holds one record per list: its `id`, `validFrom`,
//! `validUntil`, `ttl`, entry count and either every set bit (a full record) or the bits that
//! changed since the version with `validFrom` = `base` (a delta record). A decoded record
//! becomes a [`StatusList`] with the same `id`, `validFrom` and [`Bitstring`] as the W3C list
//! and is kept by the same rules ([`StatusStore`]): the same authority key, valid at the
//! list's `validFrom`, under a trust list naming an entity whose `statusBase` the `id` is
//! under; newest wins; the same `validFrom` with other bits is a conflict.

use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::issue::{sign_json, KeyPair};
use crate::json::Obj;
use crate::jws::{b64_encode, Jws, Typ};
use crate::status::{candidates, Bitstring, Purpose, StatusList, StatusStore, MAX_BITSTRING};
use crate::Error;

/// Media type of a compact or delta body.
pub const COMPACT_MEDIA_TYPE: &str = "application/vnd.cellproof.status-compact";

/// Largest body accepted.
pub const MAX_COMPACT: usize = 64 * 1024 * 1024;

/// Largest signed head (the JWS before the line feed).
const MAX_HEAD: usize = 16 * 1024;

/// Most entries one body may describe, summed over its records (a body of a few bytes must not
/// make the verifier allocate gigabytes).
pub const MAX_COMPACT_ENTRIES: u64 = 1 << 31;

/// Longest list `id`.
const MAX_ID: u64 = 2048;

/// Largest Rice parameter: the gap's low part never needs more bits than a list's largest
/// index has (2^27 entries at the core's `MAX_BITSTRING`).
pub const MAX_RICE: u8 = 27;

fn invalid(reason: &'static str) -> Error {
    Error::StatusListInvalid { reason }
}

/// One list in a compact or delta body, for encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactRecord {
    /// The list URL (the W3C credential's `id`).
    pub id: String,
    /// `validFrom`, Unix seconds.
    pub valid_from: u64,
    /// `validUntil`, Unix seconds (not before `valid_from`).
    pub valid_until: u64,
    /// `credentialSubject.ttl`, milliseconds.
    pub ttl_ms: u64,
    /// `None` for a full record; for a delta, the `validFrom` of the version it applies to.
    pub base: Option<u64>,
    /// Bits of the list: its entries times its `statusSize` (3 for a lifecycle list, SPEC.md
    /// 3.4, whose positions are then bit positions).
    pub entries: u64,
    /// Strictly increasing indexes: the set bits (full) or the flipped bits (delta).
    pub positions: Vec<u64>,
}

/// The indexes of the set bits of a one-bit-per-entry list, ascending.
pub fn set_positions(bits: &Bitstring) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, b) in (0u64..).zip(bits.bytes()) {
        if *b == 0 {
            continue;
        }
        for j in 0..8u64 {
            if (b >> (7 - j)) & 1 == 1 {
                out.push(i * 8 + j);
            }
        }
    }
    out
}

/// The indexes where two lists of the same length differ, ascending (a delta's positions).
pub fn changed_positions(old: &Bitstring, new: &Bitstring) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, (a, b)) in (0u64..).zip(old.bytes().iter().zip(new.bytes())) {
        let x = a ^ b;
        if x == 0 {
            continue;
        }
        for j in 0..8u64 {
            if (x >> (7 - j)) & 1 == 1 {
                out.push(i * 8 + j);
            }
        }
    }
    out
}

/// The gaps of strictly increasing positions: the first position, then each distance minus 1.
fn gaps(positions: &[u64]) -> impl Iterator<Item = u64> + '_ {
    let mut prev: Option<u64> = None;
    positions.iter().map(move |&p| {
        let g = match prev {
            None => p,
            Some(q) => p.saturating_sub(q).saturating_sub(1),
        };
        prev = Some(p);
        g
    })
}

/// The Rice parameter that codes these positions in the fewest bits (exact, not estimated
/// from the density: the cost of every parameter is summed).
pub fn best_rice(positions: &[u64]) -> u8 {
    let mut best = (u64::MAX, 0u8);
    for r in 0..=MAX_RICE {
        let cost = gaps(positions).fold(0u64, |acc, g| {
            acc.saturating_add((g >> r).saturating_add(1).saturating_add(u64::from(r)))
        });
        if cost < best.0 {
            best = (cost, r);
        }
    }
    best.1
}

struct BitWriter {
    out: Vec<u8>,
    cur: u8,
    n: u32,
}

impl BitWriter {
    fn bit(&mut self, b: bool) {
        self.cur = (self.cur << 1) | u8::from(b);
        self.n += 1;
        if self.n == 8 {
            self.out.push(self.cur);
            self.cur = 0;
            self.n = 0;
        }
    }

    /// Pads the last byte with zero bits.
    fn align(&mut self) {
        while self.n != 0 {
            self.bit(false);
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let low = u8::try_from(v & 0x7f).unwrap_or(0);
        v >>= 7;
        if v == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Encodes records as the stream of a body (`docs/status-sync.md`, "Stream").
pub fn encode_records(records: &[CompactRecord]) -> Vec<u8> {
    let mut w = BitWriter {
        out: Vec::new(),
        cur: 0,
        n: 0,
    };
    let mut prev_id: &str = "";
    for r in records {
        w.out.push(u8::from(r.base.is_some()));
        let shared = prev_id
            .char_indices()
            .zip(r.id.char_indices())
            .take_while(|((_, a), (_, b))| a == b)
            .last()
            .map_or(0, |((i, c), _)| i + c.len_utf8());
        let suffix = r.id.get(shared..).unwrap_or_default();
        put_varint(&mut w.out, u64::try_from(shared).unwrap_or(0));
        put_varint(&mut w.out, u64::try_from(suffix.len()).unwrap_or(0));
        w.out.extend_from_slice(suffix.as_bytes());
        put_varint(&mut w.out, r.valid_from);
        if let Some(b) = r.base {
            put_varint(&mut w.out, b);
        }
        put_varint(&mut w.out, r.valid_until.saturating_sub(r.valid_from));
        put_varint(&mut w.out, r.ttl_ms);
        put_varint(&mut w.out, r.entries);
        put_varint(&mut w.out, u64::try_from(r.positions.len()).unwrap_or(0));
        let rice = best_rice(&r.positions);
        w.out.push(rice);
        for g in gaps(&r.positions) {
            for _ in 0..(g >> rice) {
                w.bit(true);
            }
            w.bit(false);
            for k in (0..u32::from(rice)).rev() {
                w.bit((g >> k) & 1 == 1);
            }
        }
        w.align();
        prev_id = &r.id;
    }
    w.out
}

/// Signs records as a compact (or delta) body: `JWS LF stream`, the JWS signing the stream's
/// length and SHA-256 with the status authority's key.
pub fn sign_compact(issuer: &str, records: &[CompactRecord], authority: &KeyPair) -> Vec<u8> {
    let stream = encode_records(records);
    let head = json!({
        "iss": issuer,
        "lists": records.len(),
        "bytes": stream.len(),
        "sha256": b64_encode(&Sha256::digest(&stream)),
    });
    let jws = sign_json(Typ::StatusCompact, &head, authority);
    let mut body = Vec::with_capacity(jws.len() + 1 + stream.len());
    body.extend_from_slice(jws.as_bytes());
    body.push(b'\n');
    body.extend_from_slice(&stream);
    body
}

/// A cursor over a stream: bytes for the record fields, bits for the Rice codes.
struct Reader<'a> {
    data: &'a [u8],
    /// Position in bits.
    bit: u64,
}

impl Reader<'_> {
    fn byte_pos(&self) -> Option<usize> {
        usize::try_from(self.bit / 8).ok()
    }

    fn done(&self) -> bool {
        self.byte_pos().is_some_and(|p| p >= self.data.len())
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let b = self
            .byte_pos()
            .and_then(|p| self.data.get(p))
            .copied()
            .ok_or_else(|| invalid("compact stream is truncated"))?;
        self.bit += 8;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let low = u64::from(b & 0x7f);
            if shift == 63 && low > 1 {
                return Err(invalid("compact stream has a number larger than 64 bits"));
            }
            v |= low << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(invalid("compact stream has a number larger than 64 bits"))
    }

    fn bytes(&mut self, n: u64) -> Result<&[u8], Error> {
        let start = self.byte_pos().unwrap_or(usize::MAX);
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| start.checked_add(n))
            .ok_or_else(|| invalid("compact stream is truncated"))?;
        let s = self
            .data
            .get(start..end)
            .ok_or_else(|| invalid("compact stream is truncated"))?;
        self.bit = self.bit.saturating_add(n.saturating_mul(8));
        Ok(s)
    }

    fn read_bit(&mut self) -> Result<bool, Error> {
        let byte = self
            .byte_pos()
            .and_then(|p| self.data.get(p))
            .copied()
            .ok_or_else(|| invalid("compact stream is truncated"))?;
        let v = (byte >> (7 - self.bit % 8)) & 1 == 1;
        self.bit += 1;
        Ok(v)
    }

    /// Skips to the next byte; the skipped padding must be zero (one encoding per stream).
    fn align(&mut self) -> Result<(), Error> {
        while self.bit & 7 != 0 {
            if self.read_bit()? {
                return Err(invalid("compact stream has non-zero padding"));
            }
        }
        Ok(())
    }
}

/// A record as read from a stream.
struct Decoded {
    id: String,
    valid_from: u64,
    valid_until: u64,
    ttl_ms: u64,
    base: Option<u64>,
    entries: u64,
    count: u64,
    rice: u8,
    /// Bit offset of the Rice codes in the stream.
    codes_at: u64,
}

fn read_record(r: &mut Reader<'_>, prev_id: &str, budget: &mut u64) -> Result<Decoded, Error> {
    let base_flag = match r.byte()? {
        0 => false,
        1 => true,
        _ => return Err(invalid("compact record kind must be 0 (full) or 1 (delta)")),
    };
    let shared = r.varint()?;
    let prefix = usize::try_from(shared)
        .ok()
        .and_then(|n| prev_id.get(..n))
        .ok_or_else(|| invalid("compact record shares more of the id than the last one has"))?;
    let len = r.varint()?;
    if len > MAX_ID {
        return Err(invalid("compact record id is too long"));
    }
    let suffix = std::str::from_utf8(r.bytes(len)?)
        .map_err(|_| invalid("compact record id is not UTF-8"))?;
    let id = format!("{prefix}{suffix}");
    if u64::try_from(id.len()).unwrap_or(u64::MAX) > MAX_ID || id.is_empty() {
        return Err(invalid("compact record id is too long or empty"));
    }
    let valid_from = r.varint()?;
    let base = if base_flag {
        let b = r.varint()?;
        if b >= valid_from {
            return Err(invalid("a delta's base is not older than its validFrom"));
        }
        Some(b)
    } else {
        None
    };
    let valid_until = valid_from
        .checked_add(r.varint()?)
        .ok_or_else(|| invalid("validUntil overflows"))?;
    let ttl_ms = r.varint()?;
    let entries = r.varint()?;
    let max_entries = u64::try_from(MAX_BITSTRING)
        .unwrap_or(u64::MAX)
        .saturating_mul(8);
    if entries & 7 != 0 || entries > max_entries {
        return Err(invalid(
            "compact record entries must be a multiple of 8 within the bitstring limit",
        ));
    }
    *budget = budget
        .checked_sub(entries)
        .ok_or_else(|| invalid("compact body describes more entries than the limit"))?;
    let count = r.varint()?;
    if count > entries {
        return Err(invalid("compact record has more set bits than entries"));
    }
    let rice = r.byte()?;
    if rice > MAX_RICE {
        return Err(invalid("compact record Rice parameter is larger than 27"));
    }
    // Every gap takes at least one bit: a count the stream cannot hold is refused before
    // anything is allocated for it.
    let left = u64::try_from(r.data.len())
        .unwrap_or(u64::MAX)
        .saturating_mul(8)
        .saturating_sub(r.bit);
    if count > left {
        return Err(invalid("compact stream is truncated"));
    }
    let codes_at = r.bit;
    // This pass checks the codes only; positions are decoded again straight into the list's
    // bits when it is kept (no allocation proportional to the count).
    codes(r, count, rice, entries, &mut |_| Ok(()))?;
    Ok(Decoded {
        id,
        valid_from,
        valid_until,
        ttl_ms,
        base,
        entries,
        count,
        rice,
        codes_at,
    })
}

/// Decodes `count` Rice codes into positions, each handed to `sink`, then skips the padding.
fn codes(
    r: &mut Reader<'_>,
    count: u64,
    rice: u8,
    entries: u64,
    sink: &mut dyn FnMut(u64) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut next = 0u64; // smallest index the next set bit may have
    let max_q = entries >> rice;
    for _ in 0..count {
        let mut q = 0u64;
        while r.read_bit()? {
            q += 1;
            if q > max_q {
                return Err(invalid("compact record gap runs past the end of the list"));
            }
        }
        let mut low = 0u64;
        for _ in 0..rice {
            low = (low << 1) | u64::from(r.read_bit()?);
        }
        let pos = next
            .checked_add((q << rice) | low)
            .filter(|p| *p < entries)
            .ok_or_else(|| invalid("compact record gap runs past the end of the list"))?;
        sink(pos)?;
        next = pos + 1;
    }
    r.align()
}

/// The positions of a checked record, decoded again from the stream.
fn positions_into(
    stream: &[u8],
    d: &Decoded,
    sink: &mut dyn FnMut(u64) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut r = Reader {
        data: stream,
        bit: d.codes_at,
    };
    codes(&mut r, d.count, d.rice, d.entries, sink)
}

/// Decodes a whole stream (the records of a body), checking its form only.
fn decode_stream(stream: &[u8], lists: u64) -> Result<Vec<Decoded>, Error> {
    let mut r = Reader {
        data: stream,
        bit: 0,
    };
    let mut out: Vec<Decoded> = Vec::new();
    let mut budget = MAX_COMPACT_ENTRIES;
    while !r.done() {
        if u64::try_from(out.len()).unwrap_or(u64::MAX) >= lists {
            return Err(invalid("compact stream has bytes after its last record"));
        }
        let prev = out.last().map_or("", |d| d.id.as_str());
        let d = read_record(&mut r, prev, &mut budget)?;
        out.push(d);
    }
    if u64::try_from(out.len()).unwrap_or(0) != lists {
        return Err(invalid(
            "compact stream has fewer records than its head says",
        ));
    }
    Ok(out)
}

/// What [`StatusStore::insert_compact`] did with each record: the list id, kept or refused.
pub type CompactOutcome = Vec<(String, Result<(), Error>)>;

impl StatusStore {
    /// Verifies a compact or delta body (`docs/status-sync.md`) and keeps each list it carries
    /// exactly as [`StatusStore::insert`] keeps a W3C list. The outer error refuses the whole
    /// body (form, signature, digest); each record then has its own outcome (an `id` under a
    /// foreign `statusBase`, a key outside its window at the list's `validFrom`, a rollback,
    /// a conflict with the W3C form, a delta whose base is not held).
    pub fn insert_compact(
        &mut self,
        body: &[u8],
        trust: &crate::TrustStore,
    ) -> Result<CompactOutcome, Error> {
        if body.len() > MAX_COMPACT {
            return Err(Error::InputTooLarge {
                what: "compact status body",
                limit: MAX_COMPACT,
            });
        }
        let nl = body
            .iter()
            .position(|b| *b == b'\n')
            .filter(|n| *n <= MAX_HEAD)
            .ok_or_else(|| invalid("compact body has no signed head line"))?;
        let head = body
            .get(..nl)
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or_else(|| invalid("compact body head is not text"))?;
        let stream = body.get(nl + 1..).unwrap_or_default();
        let jws = Jws::parse(head, Typ::StatusCompact, MAX_HEAD)?;
        let iss = Obj::new(jws.unverified_payload(), "")
            .str("iss")
            .map_err(|_| invalid("compact head has no iss"))?
            .to_owned();
        let kid = jws.header().kid.clone();
        // Every authority key that may have signed it; the per-list rules come after.
        let mut keys: Vec<[u8; 32]> = trust
            .accepted()
            .flat_map(|(tl, _)| tl.authorities.iter())
            .filter(|a| a.id == iss)
            .flat_map(|a| a.keys.iter())
            .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
            .map(|k| k.x)
            .collect();
        if keys.is_empty() {
            return Err(Error::StatusListUntrusted { issuer: iss });
        }
        keys.sort_unstable();
        keys.dedup();
        let (verified, i) = jws.verify_any(&keys)?;
        let key = keys.get(i).copied().unwrap_or_default();
        let o = Obj::new(verified.payload(), "");
        let signed_iss = o
            .str("iss")
            .map_err(|_| invalid("compact head has no iss"))?;
        let lists = o
            .u64("lists")
            .map_err(|_| invalid("compact head has no lists count"))?;
        let bytes = o
            .u64("bytes")
            .map_err(|_| invalid("compact head has no stream length"))?;
        let digest = o
            .str("sha256")
            .map_err(|_| invalid("compact head has no stream digest"))?;
        if signed_iss != iss
            || u64::try_from(stream.len()).ok() != Some(bytes)
            || b64_encode(&Sha256::digest(stream)) != digest
        {
            return Err(invalid("compact stream does not match its signed head"));
        }
        let records = decode_stream(stream, lists)?;
        let mut out = Vec::with_capacity(records.len());
        for d in records {
            let id = d.id.clone();
            let r = self.keep_record(stream, d, &iss, &kid, key, trust);
            out.push((id, r));
        }
        Ok(out)
    }

    fn keep_record(
        &mut self,
        stream: &[u8],
        d: Decoded,
        iss: &str,
        kid: &str,
        key: [u8; 32],
        trust: &crate::TrustStore,
    ) -> Result<(), Error> {
        let cands: Vec<(String, [u8; 32])> = candidates(trust, iss, kid, &d.id, d.valid_from)?
            .into_iter()
            .filter(|(_, k)| *k == key)
            .collect();
        if cands.is_empty() {
            return Err(Error::StatusListUntrusted {
                issuer: iss.to_owned(),
            });
        }
        // A record counts bits (SPEC.md 3.4: a lifecycle list's three bits per entry are
        // coded bit by bit, like a one-bit list's); the id's suffix says how to read them.
        let purpose = Purpose::of_id(&d.id);
        let mut bits = match d.base {
            None => Bitstring::zeroed(d.entries),
            Some(base) => {
                let held = cands
                    .iter()
                    .find_map(|(eco, _)| self.held_at(eco, &d.id, base))
                    .filter(|l| {
                        l.bits.bit_len() == d.entries
                            && l.bits.status_size() == purpose.status_size()
                    })
                    .ok_or_else(|| Error::StatusDeltaBase { list: d.id.clone() })?;
                held.bits.clone().resized(1)?
            }
        };
        let min_bits = crate::status::MIN_ENTRIES * u64::from(purpose.status_size());
        if bits.entries() < min_bits {
            return Err(Error::StatusListTooShort {
                entries: bits.entries() / u64::from(purpose.status_size()),
            });
        }
        let delta = d.base.is_some();
        positions_into(stream, &d, &mut |p| {
            let on = !delta || bits.get(p)? == 0;
            bits.set(p, on)
        })?;
        let bits = bits.resized(purpose.status_size())?;
        let list = StatusList {
            purpose,
            id: d.id,
            issuer: iss.to_owned(),
            kid: kid.to_owned(),
            valid_from: d.valid_from,
            valid_until: Some(d.valid_until),
            ttl_ms: Some(d.ttl_ms),
            bits,
            eco: String::new(),
            key,
            raw: String::new(),
        };
        self.keep(list, &cands, trust).map(|_| ())
    }
}

/// The information-theoretic minimum, in bits, of a list of `n` entries with `k` set:
/// log2 C(n, k), summed as log2 of the factors (exact to floating-point rounding).
pub fn entropy_bound_bits(n: u64, k: u64) -> f64 {
    let k = k.min(n);
    let k = k.min(n - k);
    let mut bits = 0.0f64;
    for i in 0..k {
        bits += f64_from(n - i).log2() - f64_from(i + 1).log2();
    }
    bits
}

fn f64_from(v: u64) -> f64 {
    // Exact below 2^53, which every list length is.
    u32::try_from(v).map_or_else(|_| f64::from(u32::MAX), f64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(positions: Vec<u64>) -> CompactRecord {
        CompactRecord {
            id: "https://r.example/v1/status/acme/0".into(),
            valid_from: 1_700_000_000,
            valid_until: 1_700_086_400,
            ttl_ms: 300_000,
            base: None,
            entries: 131_072,
            positions,
        }
    }

    #[test]
    fn round_trips_positions_at_every_density() {
        for positions in [
            vec![],
            vec![0],
            vec![131_071],
            vec![0, 1, 2, 3, 131_071],
            (0..131_072).step_by(97).collect::<Vec<u64>>(),
            (0..131_072).collect::<Vec<u64>>(),
        ] {
            let rec = record(positions.clone());
            let stream = encode_records(std::slice::from_ref(&rec));
            let back = decode_stream(&stream, 1).unwrap();
            assert_eq!(back.len(), 1);
            let mut got = Vec::new();
            positions_into(&stream, &back[0], &mut |p| {
                got.push(p);
                Ok(())
            })
            .unwrap();
            assert_eq!(got, positions);
            assert_eq!(back[0].id, rec.id);
            assert_eq!(back[0].valid_until, rec.valid_until);
        }
    }

    #[test]
    fn ids_share_prefixes() {
        let mut a = record(vec![5]);
        let mut b = record(vec![7]);
        a.id = "https://r.example/v1/status/acme/0".into();
        b.id = "https://r.example/v1/status/acme/0-suspension".into();
        let s = encode_records(&[a.clone(), b.clone()]);
        let back = decode_stream(&s, 2).unwrap();
        assert_eq!(back[1].id, b.id);
        // The second record costs less than its id: only the suffix is written.
        let one = encode_records(std::slice::from_ref(&a));
        assert!(
            s.len() - one.len() < b.id.len(),
            "{} {}",
            s.len(),
            one.len()
        );
    }

    #[test]
    fn rice_parameter_follows_density() {
        let sparse: Vec<u64> = (0..131_072).step_by(1000).collect();
        let dense: Vec<u64> = (0..131_072).step_by(3).collect();
        assert!(best_rice(&sparse) >= 8, "{}", best_rice(&sparse));
        assert!(best_rice(&dense) <= 2, "{}", best_rice(&dense));
    }

    #[test]
    fn entropy_bound_matches_known_values() {
        assert!(entropy_bound_bits(131_072, 0).abs() < 1e-9);
        assert!((entropy_bound_bits(131_072, 1) - 17.0).abs() < 1e-9);
        // C(4, 2) = 6.
        assert!((entropy_bound_bits(4, 2) - 6f64.log2()).abs() < 1e-9);
        assert!((entropy_bound_bits(4, 3) - 2.0).abs() < 1e-9);
    }
}
