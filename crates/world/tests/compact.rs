//! Compact and delta status sync (`docs/status-sync.md`) against the store's rules: a decoded
//! list is the W3C list's twin, held by the same authority checks; and what an attacker would
//! send: truncated streams, gaps past the end, u64::MAX counts, Rice parameters out of range,
//! trailing bytes, foreign `statusBase`, a non-authority signer, the two forms disagreeing.

use cellproof_core::{
    b64_encode, encode_records, sign_compact, sign_json, CompactRecord, KeyPair, Purpose,
    StatusStore, TrustStore, Typ,
};
use cellproof_world::{derive_key, World, DAY};
use serde_json::json;
use sha2::{Digest as _, Sha256};

const T0: u64 = 1_796_083_200;

fn setup() -> (World, TrustStore) {
    let w = World::new("compact-test", "https://registry.example", T0);
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    t.insert(&w.sign_trust_list(&w.trust_list("catena-x")))
        .unwrap();
    (w, t)
}

fn rec(w: &World, list: &str, p: Purpose, set: &[u64], vf: u64) -> CompactRecord {
    CompactRecord {
        id: p.list_url(&w.status_base(&w.acme), list),
        valid_from: vf,
        valid_until: T0 + DAY,
        ttl_ms: 300_000,
        base: None,
        entries: 131_072,
        positions: set.to_vec(),
    }
}

fn codes(r: &cellproof_core::CompactOutcome) -> Vec<&'static str> {
    r.iter()
        .map(|(_, r)| r.as_ref().map_or_else(|e| e.code(), |()| "ok"))
        .collect()
}

/// A body whose head is signed correctly for an arbitrary stream (what a malicious or buggy
/// authority could send: the signature is fine, the stream is not).
fn body_for_stream(stream: &[u8], lists: u64, key: &KeyPair, iss: &str) -> Vec<u8> {
    let head = json!({
        "iss": iss, "lists": lists, "bytes": stream.len(),
        "sha256": b64_encode(&Sha256::digest(stream)),
    });
    let mut b = sign_json(Typ::StatusCompact, &head, key).into_bytes();
    b.push(b'\n');
    b.extend_from_slice(stream);
    b
}

#[test]
fn compact_list_is_the_w3c_lists_twin() {
    let (w, t) = setup();
    let set = [3, 5, 94_567, 131_071];
    let w3c = w.status_list(&w.acme, "3", Purpose::Revocation, &set, T0, T0 + DAY);
    let body = sign_compact(
        &w.authority_did,
        &[rec(&w, "3", Purpose::Revocation, &set, T0)],
        &w.authority,
    );
    let mut a = StatusStore::new();
    let r = a.insert_compact(&body, &t).unwrap();
    assert_eq!(codes(&r), ["ok"]);
    let mut b = StatusStore::new();
    b.insert(&w3c, &t).unwrap();
    let id = Purpose::Revocation.list_url(&w.status_base(&w.acme), "3");
    let (la, lb) = (
        a.get("catena-x", &id, &t).unwrap(),
        b.get("catena-x", &id, &t).unwrap(),
    );
    assert_eq!(la.bits, lb.bits);
    assert_eq!(
        (
            la.valid_from,
            la.purpose,
            &la.issuer,
            &la.kid,
            la.valid_until
        ),
        (
            lb.valid_from,
            lb.purpose,
            &lb.issuer,
            &lb.kid,
            lb.valid_until
        )
    );
    assert_eq!(la.raw(), "", "a compact-only list has no W3C text");
    // The W3C form of the same version is the same list: accepted, and its text kept.
    a.insert(&w3c, &t).unwrap();
    assert_eq!(a.get("catena-x", &id, &t).unwrap().raw(), w3c);
    // The compact form again after the W3C one: a no-op.
    assert_eq!(codes(&a.insert_compact(&body, &t).unwrap()), ["ok"]);
}

#[test]
fn compact_and_w3c_disagreeing_is_a_conflict_either_way() {
    let (w, t) = setup();
    let w3c = w.status_list(&w.acme, "3", Purpose::Revocation, &[5], T0, T0 + DAY);
    let body = sign_compact(
        &w.authority_did,
        &[rec(&w, "3", Purpose::Revocation, &[6], T0)],
        &w.authority,
    );
    let mut s = StatusStore::new();
    s.insert(&w3c, &t).unwrap();
    assert_eq!(
        codes(&s.insert_compact(&body, &t).unwrap()),
        ["status_list_conflict"]
    );
    let mut s = StatusStore::new();
    s.insert_compact(&body, &t).unwrap();
    assert_eq!(
        s.insert(&w3c, &t).unwrap_err().code(),
        "status_list_conflict"
    );
    // The first one held stays.
    let id = Purpose::Revocation.list_url(&w.status_base(&w.acme), "3");
    assert_eq!(s.get("catena-x", &id, &t).unwrap().bits.get(6), Ok(1));
}

#[test]
fn older_compact_is_a_rollback_and_newer_replaces() {
    let (w, t) = setup();
    let mut s = StatusStore::new();
    let new = sign_compact(
        &w.authority_did,
        &[rec(&w, "3", Purpose::Revocation, &[], T0 + 60)],
        &w.authority,
    );
    let old = sign_compact(
        &w.authority_did,
        &[rec(&w, "3", Purpose::Revocation, &[5], T0)],
        &w.authority,
    );
    assert_eq!(codes(&s.insert_compact(&new, &t).unwrap()), ["ok"]);
    assert_eq!(
        codes(&s.insert_compact(&old, &t).unwrap()),
        ["status_list_rollback"]
    );
    // A W3C list older than the compact one held is a rollback too.
    let w3c_old = w.status_list(&w.acme, "3", Purpose::Revocation, &[5], T0, T0 + DAY);
    assert_eq!(
        s.insert(&w3c_old, &t).unwrap_err().code(),
        "status_list_rollback"
    );
}

#[test]
fn delta_applies_to_its_base_only() {
    let (w, t) = setup();
    let mut s = StatusStore::new();
    let full = sign_compact(
        &w.authority_did,
        &[
            rec(&w, "3", Purpose::Revocation, &[5, 9], T0),
            rec(&w, "3", Purpose::Suspension, &[7], T0),
        ],
        &w.authority,
    );
    assert_eq!(codes(&s.insert_compact(&full, &t).unwrap()), ["ok", "ok"]);
    // Revoke 11, un-revoke nothing; lift suspension 7, suspend 8.
    let mut d1 = rec(&w, "3", Purpose::Revocation, &[11], T0 + 10);
    d1.base = Some(T0);
    let mut d2 = rec(&w, "3", Purpose::Suspension, &[7, 8], T0 + 10);
    d2.base = Some(T0);
    let delta = sign_compact(&w.authority_did, &[d1.clone(), d2], &w.authority);
    assert_eq!(codes(&s.insert_compact(&delta, &t).unwrap()), ["ok", "ok"]);
    let rid = Purpose::Revocation.list_url(&w.status_base(&w.acme), "3");
    let sid = Purpose::Suspension.list_url(&w.status_base(&w.acme), "3");
    let r = s.get("catena-x", &rid, &t).unwrap().clone();
    assert_eq!(r.valid_from, T0 + 10);
    assert_eq!([5, 9, 11, 12].map(|i| r.bits.get(i).unwrap()), [1, 1, 1, 0]);
    let sp = s.get("catena-x", &sid, &t).unwrap();
    assert_eq!([7, 8].map(|i| sp.bits.get(i).unwrap()), [0, 1]);
    // The same delta again: its base is gone.
    assert_eq!(
        codes(&s.insert_compact(&delta, &t).unwrap()),
        ["status_delta_base", "status_delta_base"]
    );
    // A delta for a list not held at all.
    let mut d3 = rec(&w, "4", Purpose::Revocation, &[1], T0 + 20);
    d3.base = Some(T0);
    let b = sign_compact(&w.authority_did, &[d3], &w.authority);
    assert_eq!(
        codes(&s.insert_compact(&b, &t).unwrap()),
        ["status_delta_base"]
    );
    // The resulting list equals the full W3C list of that version.
    let w3c = w.status_list(
        &w.acme,
        "3",
        Purpose::Revocation,
        &[5, 9, 11],
        T0 + 10,
        T0 + DAY,
    );
    let mut other = StatusStore::new();
    other.insert(&w3c, &t).unwrap();
    assert_eq!(other.get("catena-x", &rid, &t).unwrap().bits, r.bits);
}

#[test]
fn foreign_status_base_and_non_authority_are_refused() {
    let (w, t) = setup();
    // denchi is in ouranos, not in the catena-x trust list held: its base is foreign here.
    let mut foreign = rec(&w, "3", Purpose::Revocation, &[1], T0);
    foreign.id = Purpose::Revocation.list_url(&w.status_base(&w.denchi), "3");
    let mut elsewhere = rec(&w, "3", Purpose::Revocation, &[1], T0);
    elsewhere.id = "https://evil.example/v1/status/acme/3".into();
    let good = rec(&w, "5", Purpose::Revocation, &[1], T0);
    let body = sign_compact(
        &w.authority_did,
        &[foreign, elsewhere, good.clone()],
        &w.authority,
    );
    let mut s = StatusStore::new();
    assert_eq!(
        codes(&s.insert_compact(&body, &t).unwrap()),
        ["status_list_foreign", "status_list_foreign", "ok"]
    );
    // Signed by an issuer key (not an authority), claiming to be the authority.
    let mut impostor = w.acme.key.clone();
    impostor.kid = w.authority.kid.clone();
    let forged = sign_compact(&w.authority_did, std::slice::from_ref(&good), &impostor);
    assert_eq!(
        s.insert_compact(&forged, &t).unwrap_err().code(),
        "signature_invalid"
    );
    // Signed by a key of its own, naming itself.
    let rogue = derive_key("x", "rogue", "k1");
    let b = sign_compact("did:web:rogue.example", &[good], &rogue);
    assert_eq!(
        s.insert_compact(&b, &t).unwrap_err().code(),
        "status_list_untrusted"
    );
}

#[test]
fn key_window_is_checked_at_each_lists_valid_from() {
    let (w, _) = setup();
    let mut tl = w.trust_list("catena-x");
    tl.authorities[0].keys[0].exp = Some(T0 + DAY);
    let mut t = TrustStore::new();
    t.pin_root("catena-x", &w.root("catena-x").public());
    t.insert(&w.sign_trust_list(&tl)).unwrap();
    // One body, two lists: one dated inside the key's window, one in 2100.
    let inside = rec(&w, "3", Purpose::Revocation, &[1], T0);
    let far = rec(&w, "4", Purpose::Revocation, &[1], 4_102_444_800);
    let body = sign_compact(&w.authority_did, &[inside, far], &w.authority);
    let mut s = StatusStore::new();
    let r = s.insert_compact(&body, &t).unwrap();
    assert_eq!(codes(&r)[0], "ok");
    assert_eq!(codes(&r)[1], "key_not_valid_at_iat", "{r:?}");
}

#[test]
fn malformed_streams_are_refused_with_a_code() {
    let (w, t) = setup();
    let good = rec(&w, "3", Purpose::Revocation, &[5, 700, 131_000], T0);
    let stream = encode_records(std::slice::from_ref(&good));
    let k = &w.authority;
    let iss = &w.authority_did;
    let refuse = |body: &[u8]| {
        let mut s = StatusStore::new();
        let e = s.insert_compact(body, &t).unwrap_err();
        assert_eq!(e.code(), "status_list_invalid", "{e}");
        e.to_string()
    };
    // Sanity: the honest stream passes.
    let mut s = StatusStore::new();
    assert_eq!(
        codes(
            &s.insert_compact(&body_for_stream(&stream, 1, k, iss), &t)
                .unwrap()
        ),
        ["ok"]
    );
    // Truncated (the signed head names the shorter stream, so only the decoder can tell).
    for cut in [1, 5, stream.len() / 2, stream.len() - 1] {
        let msg = refuse(&body_for_stream(&stream[..cut], 1, k, iss));
        assert!(
            msg.contains("truncated") || msg.contains("padding"),
            "{msg}"
        );
    }
    // Trailing garbage after the last record.
    let mut long = stream.clone();
    long.extend_from_slice(&[0, 0, 0]);
    assert!(refuse(&body_for_stream(&long, 1, k, iss)).contains("after its last record"));
    // More records promised than present.
    assert!(refuse(&body_for_stream(&stream, 2, k, iss)).contains("fewer records"));
    // A stream that does not match its signed head: one byte flipped after signing.
    let mut b = body_for_stream(&stream, 1, k, iss);
    let last = b.len() - 1;
    b[last] ^= 1;
    assert!(refuse(&b).contains("signed head"));
    // Hand-built records: kind, id, validFrom, validUntil-validFrom, ttl, entries, count, rice.
    let hand = |entries: &[u8], count: &[u8], rice: u8, bits: &[u8]| {
        let mut s = vec![0u8, 0, 3];
        s.extend_from_slice(b"abc");
        s.extend_from_slice(&[1, 1, 1]);
        s.extend_from_slice(entries);
        s.extend_from_slice(count);
        s.push(rice);
        s.extend_from_slice(bits);
        s
    };
    let e131072 = [0x80, 0x80, 0x08]; // 131,072 as LEB128
    let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // u64::MAX
                                                                            // u64::MAX set bits: refused before allocating anything.
    assert!(
        refuse(&body_for_stream(&hand(&e131072, &max, 8, &[]), 1, k, iss))
            .contains("more set bits than entries")
    );
    // u64::MAX entries.
    assert!(
        refuse(&body_for_stream(&hand(&max, &[1], 8, &[0]), 1, k, iss)).contains("multiple of 8")
    );
    // A varint longer than 64 bits.
    let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    assert!(
        refuse(&body_for_stream(&hand(&over, &[1], 8, &[0]), 1, k, iss))
            .contains("larger than 64 bits")
    );
    // Rice parameter 64 (and 28, one past the largest).
    for r in [28, 64, 255] {
        assert!(refuse(&body_for_stream(
            &hand(&e131072, &[1], r, &[0; 16]),
            1,
            k,
            iss
        ))
        .contains("Rice parameter"));
    }
    // Rice parameter 0 is legal (unary): a run of ones past the end of the list is refused.
    let ones = vec![0xffu8; 131_072 / 8 + 2];
    assert!(
        refuse(&body_for_stream(&hand(&e131072, &[1], 0, &ones), 1, k, iss))
            .contains("past the end")
    );
    // Gap overflow with a large parameter: quotient 1 << 27 past a 2^17 list.
    assert!(refuse(&body_for_stream(
        &hand(&e131072, &[1], 27, &[0xc0, 0, 0, 0, 0]),
        1,
        k,
        iss
    ))
    .contains("past the end"));
    // A second gap that lands past the end (position 131,071, then one more).
    let two = hand(&e131072, &[2], 17, &[0x7f, 0xff, 0xc0, 0, 0, 0]);
    assert!(refuse(&body_for_stream(&two, 1, k, iss)).contains("past the end"));
    // Non-zero padding.
    assert!(refuse(&body_for_stream(
        &hand(&e131072, &[1], 0, &[0x01]),
        1,
        k,
        iss
    ))
    .contains("padding"));
    // Kind 2, an id sharing more than the previous one had, no head line at all.
    let mut kind = hand(&e131072, &[0], 0, &[]);
    kind[0] = 2;
    assert!(refuse(&body_for_stream(&kind, 1, k, iss)).contains("kind"));
    let mut share = hand(&e131072, &[0], 0, &[]);
    share[1] = 9;
    assert!(refuse(&body_for_stream(&share, 1, k, iss)).contains("shares more"));
    assert!(refuse(b"no line feed here").contains("head line"));
    // Entries beyond the per-body budget: many records of the largest list, a few bytes each.
    let big = [0x80, 0x80, 0x80, 0x40]; // 2^27 entries
    let mut many = Vec::new();
    for _ in 0..17 {
        many.extend_from_slice(&hand(&big, &[0], 0, &[]));
    }
    assert!(refuse(&body_for_stream(&many, 17, k, iss)).contains("limit"));
    // A short list (fewer than the W3C minimum) decodes but is refused like a W3C one.
    let short = hand(&[0x80, 0x01], &[0], 0, &[]);
    let mut s = StatusStore::new();
    let r = s
        .insert_compact(&body_for_stream(&short, 1, k, iss), &t)
        .unwrap();
    assert_ne!(codes(&r), ["ok"]);
    // A W3C list offered where a compact body is expected, and the reverse.
    let w3c = w.status_list(&w.acme, "3", Purpose::Revocation, &[5], T0, T0 + DAY);
    let mut with_lf = w3c.clone().into_bytes();
    with_lf.push(b'\n');
    let mut s = StatusStore::new();
    assert_eq!(
        s.insert_compact(&with_lf, &t).unwrap_err().code(),
        "typ_unexpected"
    );
    let body = body_for_stream(&stream, 1, k, iss);
    let head =
        std::str::from_utf8(&body[..body.iter().position(|b| *b == b'\n').unwrap()]).unwrap();
    assert_eq!(s.insert(head, &t).unwrap_err().code(), "typ_unexpected");
}
