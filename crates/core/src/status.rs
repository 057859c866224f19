//! W3C Bitstring Status List v1.0 lists secured as `vc+jwt` (SPEC.md section 5).
//!
//! `encodedList` is multibase `u` + base64url(GZIP(bitstring)); index 0 is the most significant
//! bit of byte 0; a list has at least 131,072 entries. A [`StatusStore`] keeps the newest list
//! per id (by `validFrom`) and refuses older ones, so a replayed list cannot undo a revocation.

use std::collections::BTreeMap;
use std::io::Read as _;

use serde_json::{Map, Value};

use crate::json::Obj;
use crate::jws::{b64_decode, b64_encode, Jws, Typ};
use crate::time::{format_rfc3339, parse_rfc3339};
use crate::trust::{key_window, ListAge, TrustList, TrustStore, Via};
use crate::Error;

/// Minimum number of entries (W3C Bitstring Status List: 16 KiB of bits, for herd privacy).
pub const MIN_ENTRIES: u64 = 131_072;

/// Largest inflated bitstring accepted (a GZIP bomb stops here).
pub const MAX_BITSTRING: usize = 16 * 1024 * 1024;

/// Largest status list credential accepted, as compact JWS text.
pub const MAX_STATUS_LIST: usize = 24 * 1024 * 1024;

/// The W3C context that maps every term no other context defines under
/// `https://www.w3.org/ns/credentials/undefined-term#`, last in the `@context` of every
/// credential Cellproof issues with its own terms (SPEC.md 1.2 section 3), so that JSON-LD
/// expansion in safe mode drops nothing.
pub const UNDEFINED_TERMS_CONTEXT: &str = "https://www.w3.org/ns/credentials/undefined-terms/v2";

/// VC 2.0 base context, first in every `@context`.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

/// A list's purpose; one list has one purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Permanent.
    Revocation,
    /// Reversible.
    Suspension,
    /// A newer passport exists (repurposed or remanufactured battery).
    Refresh,
    /// The battery's lifecycle status (SPEC.md 1.2 section 3.4): W3C `statusPurpose`
    /// `message`, three bits per entry, the values of [`crate::lifecycle::LifecycleStatus`].
    Lifecycle,
}

impl Purpose {
    /// The one-bit purposes, in the order the status stage checks them; the only ones a
    /// status update (`op: "status"`) may set.
    pub const ALL: [Purpose; 3] = [Purpose::Revocation, Purpose::Suspension, Purpose::Refresh];

    /// Every list a list id has (SPEC.md sections 5 and 3.4): the one-bit purposes, then the
    /// lifecycle list.
    pub const LISTS: [Purpose; 4] = [
        Purpose::Revocation,
        Purpose::Suspension,
        Purpose::Refresh,
        Purpose::Lifecycle,
    ];

    /// The purpose's name in verdicts, requests and the registry's store (`lifecycle` for the
    /// lifecycle list, whose W3C `statusPurpose` is [`Purpose::w3c`] `message`).
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
            Purpose::Refresh => "refresh",
            Purpose::Lifecycle => "lifecycle",
        }
    }

    /// The W3C `statusPurpose` value.
    pub fn w3c(self) -> &'static str {
        match self {
            Purpose::Lifecycle => "message",
            p => p.as_str(),
        }
    }

    /// Parses a one-bit purpose's name (a status update's `purpose`, a `statusPurpose`).
    pub fn parse(s: &str) -> Option<Self> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Parses any purpose's name, `lifecycle` included (the registry's store).
    pub fn parse_any(s: &str) -> Option<Self> {
        Purpose::LISTS.into_iter().find(|p| p.as_str() == s)
    }

    /// Bits per entry: 3 for the lifecycle list, 1 for the others.
    pub fn status_size(self) -> u8 {
        match self {
            Purpose::Lifecycle => crate::lifecycle::LIFECYCLE_STATUS_SIZE,
            _ => 1,
        }
    }

    /// The purpose a list id's suffix names (SPEC.md sections 5 and 3.4).
    pub fn of_id(id: &str) -> Purpose {
        Purpose::LISTS
            .into_iter()
            .rev()
            .find(|p| !p.suffix().is_empty() && id.ends_with(p.suffix()))
            .unwrap_or(Purpose::Revocation)
    }

    /// The suffix after `{statusBase}{listId}` (SPEC.md section 5).
    pub fn suffix(self) -> &'static str {
        match self {
            Purpose::Revocation => "",
            Purpose::Suspension => "-suspension",
            Purpose::Refresh => "-refresh",
            Purpose::Lifecycle => "-lifecycle",
        }
    }

    /// The list URL for a status base and list id.
    pub fn list_url(self, status_base: &str, list_id: &str) -> String {
        format!("{status_base}{list_id}{}", self.suffix())
    }
}

/// Decodes an `encodedList` into the bitstring bytes.
pub fn decode_encoded_list(encoded: &str) -> Result<Vec<u8>, Error> {
    let b64 = encoded.strip_prefix('u').ok_or(Error::StatusListInvalid {
        reason: "encodedList is not multibase base64url ('u')",
    })?;
    let gz = b64_decode(b64, "payload").map_err(|_| Error::StatusListInvalid {
        reason: "encodedList is not base64url",
    })?;
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_BITSTRING).unwrap_or(u64::MAX) + 1;
    flate2::read::GzDecoder::new(gz.as_slice())
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| Error::StatusListInvalid {
            reason: "encodedList is not valid GZIP",
        })?;
    if out.len() > MAX_BITSTRING {
        return Err(Error::StatusListInvalid {
            reason: "bitstring is larger than the limit",
        });
    }
    Ok(out)
}

/// Encodes bitstring bytes as an `encodedList` (GZIP with a zero mtime, so output is stable).
pub fn encode_list(bits: &[u8]) -> String {
    use std::io::Write as _;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(bits);
    let bytes = gz.finish().unwrap_or_default();
    format!("u{}", b64_encode(&bytes))
}

/// A bitstring with its entry size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
    status_size: u8,
}

impl Bitstring {
    /// Wraps bytes; checks the minimum length (SPEC.md section 5).
    pub fn new(bytes: Vec<u8>, status_size: u8) -> Result<Self, Error> {
        if !(1..=8).contains(&status_size) {
            return Err(Error::StatusListInvalid {
                reason: "statusSize must be 1 to 8",
            });
        }
        let b = Bitstring { bytes, status_size };
        if b.entries() < MIN_ENTRIES {
            return Err(Error::StatusListTooShort {
                entries: b.entries(),
            });
        }
        Ok(b)
    }

    /// An all-zero list of `entries` entries of one bit.
    pub fn zeroed(entries: u64) -> Self {
        Self::zeroed_sized(entries, 1)
    }

    /// An all-zero list of `entries` entries of `status_size` bits (1 to 8).
    pub fn zeroed_sized(entries: u64, status_size: u8) -> Self {
        let status_size = status_size.clamp(1, 8);
        let bits = entries.saturating_mul(u64::from(status_size));
        let n = usize::try_from(bits.div_ceil(8)).unwrap_or(0);
        Bitstring {
            bytes: vec![0; n],
            status_size,
        }
    }

    /// Length in bits (a multiple of 8): what a compact record's `entries` counts.
    pub fn bit_len(&self) -> u64 {
        u64::try_from(self.bytes.len()).unwrap_or(0) * 8
    }

    /// The same bytes read with another entry size (a compact record decoded bit by bit,
    /// then read as the lifecycle list it is).
    pub fn resized(self, status_size: u8) -> Result<Self, Error> {
        Self::new(self.bytes, status_size)
    }

    /// Number of entries.
    pub fn entries(&self) -> u64 {
        let bits = u64::try_from(self.bytes.len()).unwrap_or(0) * 8;
        bits / u64::from(self.status_size)
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bits per entry.
    pub fn status_size(&self) -> u8 {
        self.status_size
    }

    /// The value at `index`; index 0 starts at the most significant bit of byte 0.
    pub fn get(&self, index: u64) -> Result<u8, Error> {
        let entries = self.entries();
        if index >= entries {
            return Err(Error::StatusIndexOutOfRange { index, entries });
        }
        let size = u64::from(self.status_size);
        let mut v = 0u8;
        for bit in index * size..(index + 1) * size {
            v = (v << 1) | self.bit(bit);
        }
        Ok(v)
    }

    fn bit(&self, bit: u64) -> u8 {
        let byte = usize::try_from(bit / 8)
            .ok()
            .and_then(|i| self.bytes.get(i))
            .copied()
            .unwrap_or(0);
        (byte >> (7 - bit % 8)) & 1
    }

    /// Sets entry `index` to `value` (its low `statusSize` bits; the first bit the most
    /// significant).
    pub fn set_value(&mut self, index: u64, value: u8) -> Result<(), Error> {
        let entries = self.entries();
        if index >= entries || (self.status_size < 8 && value >> self.status_size != 0) {
            return Err(Error::StatusIndexOutOfRange { index, entries });
        }
        let size = u64::from(self.status_size);
        for k in 0..size {
            let bit = index * size + k;
            let on = (value >> (size - 1 - k)) & 1 == 1;
            let mask = 1u8 << (7 - bit % 8);
            if let Some(b) = usize::try_from(bit / 8)
                .ok()
                .and_then(|i| self.bytes.get_mut(i))
            {
                if on {
                    *b |= mask;
                } else {
                    *b &= !mask;
                }
            }
        }
        Ok(())
    }

    /// Sets a one-bit entry.
    pub fn set(&mut self, index: u64, on: bool) -> Result<(), Error> {
        if self.status_size != 1 {
            return Err(Error::StatusIndexOutOfRange {
                index,
                entries: self.entries(),
            });
        }
        self.set_value(index, u8::from(on))
    }
}

/// A verified status list.
#[derive(Clone, Debug)]
pub struct StatusList {
    /// The list URL (the credential's `id`).
    pub id: String,
    /// The status authority DID.
    pub issuer: String,
    /// The `kid` of the authority key that signed it.
    pub kid: String,
    /// The purpose.
    pub purpose: Purpose,
    /// `validFrom`, Unix seconds.
    pub valid_from: u64,
    /// `validUntil`, Unix seconds.
    pub valid_until: Option<u64>,
    /// `credentialSubject.ttl` in milliseconds.
    pub ttl_ms: Option<u64>,
    /// The bits.
    pub bits: Bitstring,
    /// The ecosystem of the trust list under which the list was accepted: the one that names
    /// both its signing authority and the entity whose `statusBase` its `id` is under.
    pub eco: String,
    /// The authority key that verified the list.
    pub(crate) key: [u8; 32],
    pub(crate) raw: String,
}

impl StatusList {
    /// The compact JWS it was read from; empty for a list received only in the compact form
    /// (`docs/status-sync.md`), which a verifier persists as the compact body it came in.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Data age at `now`.
    pub fn age(&self, now: u64) -> ListAge {
        ListAge {
            kind: "status_list",
            id: self.id.clone(),
            issued: self.valid_from,
            age: now.saturating_sub(self.valid_from),
            expires: self.valid_until,
            stale: self.valid_until.is_some_and(|u| now > u),
        }
    }
}

/// The fields of a status list credential, for issuing.
#[derive(Clone, Debug)]
pub struct StatusListSpec<'a> {
    /// The list URL.
    pub id: &'a str,
    /// The authority DID.
    pub issuer: &'a str,
    /// Purpose.
    pub purpose: Purpose,
    /// Issue time.
    pub valid_from: u64,
    /// End of freshness.
    pub valid_until: u64,
    /// Cache lifetime in milliseconds.
    pub ttl_ms: u64,
}

/// Builds the payload of a `BitstringStatusListCredential` (W3C Bitstring Status List v1.0
/// section 2.2, VC 2.0).
pub fn status_list_payload(spec: &StatusListSpec<'_>, bits: &Bitstring) -> Value {
    let mut subject = serde_json::json!({
        "id": format!("{}#list", spec.id),
        "type": "BitstringStatusList",
        "statusPurpose": spec.purpose.w3c(),
        "encodedList": encode_list(bits.bytes()),
        "ttl": spec.ttl_ms,
    });
    if let Some(m) = subject.as_object_mut() {
        if bits.status_size() != 1 {
            m.insert("statusSize".into(), bits.status_size().into());
        }
        if spec.purpose == Purpose::Lifecycle {
            m.insert("statusMessage".into(), crate::lifecycle::status_messages());
        }
    }
    serde_json::json!({
        "@context": [VC_CONTEXT],
        "id": spec.id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": spec.issuer,
        "validFrom": format_rfc3339(spec.valid_from),
        "validUntil": format_rfc3339(spec.valid_until),
        "credentialSubject": subject,
    })
}

fn invalid(reason: &'static str) -> Error {
    Error::StatusListInvalid { reason }
}

/// Whether a VC `type` member (a string or an array) includes `t`.
pub(crate) fn has_type(v: Option<&Value>, t: &str) -> bool {
    match v {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(t)),
        _ => false,
    }
}

/// Reads a status list payload. With `bits: false` the `encodedList` is not inflated (an
/// all-zero bitstring stands in): the unverified read that only finds the signing key, so a
/// GZIP bomb under a bad signature costs nothing (issue 16: signatures before inflating).
fn read_payload(p: &Map<String, Value>, bits: bool) -> Result<StatusList, Error> {
    let o = Obj::new(p, "");
    let ctx_ok = match p.get("@context") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str) == Some(VC_CONTEXT),
        _ => false,
    };
    if !ctx_ok {
        return Err(invalid("@context must start with the VC 2.0 context"));
    }
    if !has_type(p.get("type"), "BitstringStatusListCredential") {
        return Err(invalid("type must include BitstringStatusListCredential"));
    }
    let id = o
        .str("id")
        .map_err(|_| invalid("id is missing"))?
        .to_owned();
    let issuer = match p.get("issuer") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => m
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("issuer has no id"))?
            .to_owned(),
        _ => return Err(invalid("issuer is missing")),
    };
    let valid_from = parse_rfc3339(
        o.str("validFrom")
            .map_err(|_| invalid("validFrom is missing"))?,
    )
    .map_err(|_| invalid("validFrom is not an RFC 3339 date-time"))?;
    let valid_until = o
        .opt_str("validUntil")
        .map_err(|_| invalid("validUntil must be a string"))?
        .map(parse_rfc3339)
        .transpose()
        .map_err(|_| invalid("validUntil is not an RFC 3339 date-time"))?;
    let cs = o
        .obj("credentialSubject")
        .map_err(|_| invalid("credentialSubject is missing"))?;
    let cs_o = Obj::new(cs, "credentialSubject");
    if !has_type(cs.get("type"), "BitstringStatusList") {
        return Err(invalid(
            "credentialSubject.type must be BitstringStatusList",
        ));
    }
    // SPEC.md sections 5 and 3.4: the id's suffix names the purpose, and the
    // `statusPurpose` must be its W3C name.
    let purpose = Purpose::of_id(&id);
    if cs_o.opt_str("statusPurpose").ok().flatten() != Some(purpose.w3c()) {
        return Err(invalid("statusPurpose does not match the list id's suffix"));
    }
    let ttl = cs_o
        .opt_u64("ttl")
        .map_err(|_| invalid("ttl must be a non-negative integer"))?;
    let size = cs_o
        .opt_u64("statusSize")
        .map_err(|_| invalid("statusSize must be an integer"))?
        .unwrap_or(1);
    let size = u8::try_from(size).map_err(|_| invalid("statusSize must be 1 to 8"))?;
    if size != purpose.status_size() {
        return Err(invalid(
            "statusSize must be 3 for a lifecycle list and 1 for the others",
        ));
    }
    if purpose == Purpose::Lifecycle {
        // W3C: a list with statusSize > 1 carries a message for every value (2^statusSize);
        // SPEC.md 3.4 fixes them. The plural spelling is accepted too.
        let messages = cs.get("statusMessage").or_else(|| cs.get("statusMessages"));
        if messages != Some(&crate::lifecycle::status_messages()) {
            return Err(invalid(
                "a lifecycle list's statusMessage must name the eight values of SPEC.md 3.4",
            ));
        }
    }
    let encoded = cs_o
        .str("encodedList")
        .map_err(|_| invalid("encodedList is missing"))?;
    let bits = if bits {
        Bitstring::new(decode_encoded_list(encoded)?, size)?
    } else {
        Bitstring::zeroed(0)
    };
    Ok(StatusList {
        id,
        issuer,
        kid: String::new(),
        purpose,
        valid_from,
        valid_until,
        ttl_ms: ttl,
        bits,
        eco: String::new(),
        key: [0; 32],
        raw: String::new(),
    })
}

/// Whether `id` is under the `statusBase` of an entity of `list` (SPEC.md section 5: a base
/// ends with `/`, and the list URL adds at least one character to it).
fn under_status_base(list: &TrustList, id: &str) -> bool {
    list.entities.iter().any(|e| {
        e.status_base
            .as_deref()
            .is_some_and(|b| b.ends_with('/') && id.len() > b.len() && id.starts_with(b))
    })
}

/// The keys of `list`'s authority `issuer` named `kid`, each with its window checked at
/// `valid_from` (SPEC.md section 4: authority keys follow the same windows).
fn authority_keys<'a>(
    list: &'a TrustList,
    issuer: &'a str,
    kid: &'a str,
) -> impl Iterator<Item = &'a crate::trust::PublicKey> {
    list.authorities
        .iter()
        .filter(move |a| a.id == issuer)
        .flat_map(|a| a.keys.iter())
        .filter(move |k| k.kid.as_deref() == Some(kid))
}

/// Whether a held status list is still vouched for by the trust store: its ecosystem's list
/// still names the authority with the same key, valid at the list's `validFrom`, and still
/// lists an entity whose `statusBase` the list's `id` is under. Checked at every use, so a
/// trust change (a new pin, a withdrawn recognition, a removed key) takes effect at once.
fn still_trusted(l: &StatusList, trust: &TrustStore) -> bool {
    trust.list(&l.eco).is_some_and(|tl| {
        under_status_base(tl, &l.id)
            && authority_keys(tl, &l.issuer, &l.kid)
                .any(|k| k.x == l.key && key_window(k, l.valid_from).is_ok())
    })
}

/// The (ecosystem, key) pairs that may vouch for a list: every accepted trust list naming the
/// authority `issuer` with a key `kid` valid at `valid_from` and an entity whose `statusBase`
/// `id` is under. When none qualifies, the most telling refusal.
pub(crate) fn candidates(
    trust: &TrustStore,
    issuer: &str,
    kid: &str,
    id: &str,
    valid_from: u64,
) -> Result<Vec<(String, [u8; 32])>, Error> {
    let mut refusal = Error::StatusListUntrusted {
        issuer: issuer.to_owned(),
    };
    let mut out: Vec<(String, [u8; 32])> = Vec::new();
    for (tl, _) in trust.accepted() {
        for key in authority_keys(tl, issuer, kid) {
            if let Err(e) = key_window(key, valid_from) {
                refusal = e;
            } else if !under_status_base(tl, id) {
                if !matches!(refusal, Error::KeyNotValidAtIat { .. }) {
                    refusal = Error::StatusListForeign {
                        list: id.to_owned(),
                    };
                }
            } else {
                out.push((tl.eco.clone(), key.x));
            }
        }
    }
    if out.is_empty() {
        Err(refusal)
    } else {
        Ok(out)
    }
}

/// Verified status lists, newest kept per ecosystem and id.
///
/// SPEC.md section 5: a list is held under the trust list that names its signing authority and
/// an entity whose `statusBase` its `id` is under, and newest-wins compares lists of one id
/// under one trust list only, so no authority can replace or shadow another ecosystem's list.
#[derive(Clone, Debug, Default)]
pub struct StatusStore {
    lists: BTreeMap<(String, String), StatusList>,
}

impl StatusStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies a status list against the status authorities of `trust` and keeps it, under
    /// every accepted trust list that may vouch for it, if it is newer than the one held there
    /// for its id. Returns the list now held under the first such trust list.
    pub fn insert(&mut self, compact: &str, trust: &TrustStore) -> Result<&StatusList, Error> {
        let jws = Jws::parse(compact, Typ::Vc, MAX_STATUS_LIST)?;
        // Only the members that find the key; the bits are inflated after the signature held.
        let claimed = read_payload(jws.unverified_payload(), false)?;
        let kid = jws.header().kid.clone();
        let candidates = candidates(
            trust,
            &claimed.issuer,
            &kid,
            &claimed.id,
            claimed.valid_from,
        )?;
        let mut keys: Vec<[u8; 32]> = candidates.iter().map(|(_, k)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        let (verified, i) = jws.verify_any(&keys)?;
        let key = keys.get(i).copied().unwrap_or_default();
        // Read again from the verified payload: only signed bytes decide what is held.
        let mut list = read_payload(verified.payload(), true)?;
        list.kid = kid;
        list.key = key;
        list.raw = compact.to_owned();
        self.keep(list, &candidates, trust)
    }

    /// Keeps a verified list under every candidate ecosystem whose key verified it, if it is
    /// newer than the one held there (SPEC.md section 5). The W3C form and the compact form
    /// (`docs/status-sync.md`) both end here, so they are held by the same rules: the same
    /// `validFrom` with the same bits is the same list (a no-op, the W3C text kept), the same
    /// `validFrom` with other bits is a conflict, an older one a rollback.
    pub(crate) fn keep(
        &mut self,
        list: StatusList,
        candidates: &[(String, [u8; 32])],
        trust: &TrustStore,
    ) -> Result<&StatusList, Error> {
        let mut first: Option<(String, String)> = None;
        let mut refusal = None;
        for (eco, _) in candidates.iter().filter(|(_, k)| *k == list.key) {
            let slot = (eco.clone(), list.id.clone());
            if let Some(held) = self.lists.get_mut(&slot) {
                if held.valid_from == list.valid_from && held.bits == list.bits {
                    // The same list again, maybe in its other form: a no-op, except that the
                    // W3C text replaces none (a compact-only list gains its W3C form).
                    if held.raw.is_empty() && !list.raw.is_empty() {
                        held.raw.clone_from(&list.raw);
                    }
                    first.get_or_insert(slot);
                    continue;
                }
                if list.valid_from <= held.valid_from && still_trusted(held, trust) {
                    refusal = Some(if list.valid_from == held.valid_from {
                        Error::StatusListConflict {
                            list: list.id.clone(),
                        }
                    } else {
                        Error::StatusListRollback {
                            list: list.id.clone(),
                        }
                    });
                    continue;
                }
            }
            let mut l = list.clone();
            l.eco = eco.clone();
            self.lists.insert(slot.clone(), l);
            first.get_or_insert(slot);
        }
        match first {
            Some(slot) => self.lists.get(&slot).ok_or(Error::StatusListUntrusted {
                issuer: list.issuer,
            }),
            None => Err(refusal.unwrap_or(Error::StatusListUntrusted {
                issuer: list.issuer,
            })),
        }
    }

    /// The list held for `id` under `eco` with exactly this `validFrom` (a delta's base).
    pub(crate) fn held_at(&self, eco: &str, id: &str, valid_from: u64) -> Option<&StatusList> {
        self.lists
            .get(&(eco.to_owned(), id.to_owned()))
            .filter(|l| l.valid_from == valid_from)
    }

    /// The list held for a URL under an ecosystem's trust list, if that trust list still
    /// vouches for it.
    pub fn get(&self, eco: &str, id: &str, trust: &TrustStore) -> Option<&StatusList> {
        self.lists
            .get(&(eco.to_owned(), id.to_owned()))
            .filter(|l| still_trusted(l, trust))
    }

    /// All held lists (for persisting: call [`StatusStore::retain_trusted`] first to drop
    /// those a trust change has orphaned).
    pub fn lists(&self) -> impl Iterator<Item = &StatusList> {
        self.lists.values()
    }

    /// Drops held lists the trust store no longer vouches for.
    pub fn retain_trusted(&mut self, trust: &TrustStore) {
        self.lists.retain(|_, l| still_trusted(l, trust));
    }

    /// Newest `validFrom` of the lists held under pinned ecosystems' trust lists: their part of
    /// the clock floor (SPEC.md sections 4 and 5). Lists vouched for only by a recognised
    /// ecosystem never move it.
    pub fn newest_valid_from(&self, trust: &TrustStore) -> u64 {
        self.lists
            .values()
            .filter(|l| trust.via(&l.eco) == Some(&Via::Pinned) && still_trusted(l, trust))
            .map(|l| l.valid_from)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example `encodedList` of W3C Bitstring Status List v1.0: 16,384 zero bytes.
    const W3C_EXAMPLE: &str =
        "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";

    #[test]
    fn decodes_w3c_spec_example() {
        let bytes = decode_encoded_list(W3C_EXAMPLE).unwrap();
        assert_eq!(bytes.len(), 16_384);
        assert!(bytes.iter().all(|&b| b == 0));
        let bits = Bitstring::new(bytes, 1).unwrap();
        assert_eq!(bits.entries(), MIN_ENTRIES);
        assert_eq!(bits.get(0), Ok(0));
        assert_eq!(bits.get(MIN_ENTRIES - 1), Ok(0));
        assert_eq!(
            bits.get(MIN_ENTRIES).unwrap_err().code(),
            "status_index_out_of_range"
        );
    }

    #[test]
    fn msb_first_and_status_size() {
        let mut bytes = vec![0u8; 16_384];
        bytes[0] = 0b1000_0000;
        bytes[1] = 0b0000_0001;
        let bits = Bitstring::new(bytes.clone(), 1).unwrap();
        assert_eq!(bits.get(0), Ok(1));
        assert_eq!(bits.get(1), Ok(0));
        assert_eq!(bits.get(15), Ok(1));
        // Two bits per entry: entry 0 is bits 0-1 ("10"), entry 7 is bits 14-15 ("01").
        let two = Bitstring::new([bytes, vec![0; 16_384]].concat(), 2).unwrap();
        assert_eq!(two.get(0), Ok(2));
        assert_eq!(two.get(7), Ok(1));
    }

    #[test]
    fn round_trips_and_refuses_short_lists() {
        let mut bits = Bitstring::zeroed(MIN_ENTRIES);
        bits.set(94_567, true).unwrap();
        let back =
            Bitstring::new(decode_encoded_list(&encode_list(bits.bytes())).unwrap(), 1).unwrap();
        assert_eq!(back.get(94_567), Ok(1));
        assert_eq!(back.get(94_566), Ok(0));
        let e = Bitstring::new(vec![0; 16_383], 1).unwrap_err();
        assert_eq!(e, Error::StatusListTooShort { entries: 131_064 });
    }

    #[test]
    fn refuses_bad_encodings_and_bombs() {
        assert_eq!(
            decode_encoded_list("zabc").unwrap_err().code(),
            "status_list_invalid"
        );
        assert_eq!(
            decode_encoded_list("u!!!").unwrap_err().code(),
            "status_list_invalid"
        );
        assert_eq!(
            decode_encoded_list("uAAAA").unwrap_err().code(),
            "status_list_invalid"
        );
        let bomb = encode_list(&vec![0u8; MAX_BITSTRING + 1]);
        assert!(bomb.len() < 40_000);
        assert_eq!(
            decode_encoded_list(&bomb).unwrap_err().code(),
            "status_list_invalid"
        );
    }
}
