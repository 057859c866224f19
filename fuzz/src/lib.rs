//! The fuzz targets' bodies, one function per parser entry point, shared by the AFL++ binaries
//! in `fuzz_targets/` and by the corpus replay that `cargo test` runs in `xtask/src/fuzz.rs`
//! (which includes this file as a module, so both run exactly the same code).
//!
//! Every function takes raw bytes, must never panic, and asserts the invariants that hold for
//! any input (a non-valid verdict carries a deciding code, a batch equals single checks).
//! The stores are the reference vector case's (`tests/vectors/cases.json`, `reference-valid`),
//! so mutated genuine inputs get past decoding into trust and status resolution.

use std::sync::OnceLock;

use cellproof_core::{
    b64_decode, check_passport_upload, decode_encoded_list, set_positions, sha256_b64,
    sign_compact, sign_json, verify, verify_many, verify_report, CompactRecord, Context,
    EvidencePack, Expect, KeyPair, Op, Outcome, Overall, ParsedRequest, PassportChain, PublicKey,
    ReportCheck, StatusStore, TrustStore, Typ, UnixTime, Verdict, CODES, MIN_ENTRIES,
};

/// A fuzz target: any bytes in, a panic (an AFL++ crash) on a finding.
pub type Target = fn(&[u8]);

/// The fuzz targets by name (the folder names under `fuzz/corpus/` and the binaries' names).
pub const TARGETS: &[(&str, Target)] = &[
    ("scan", scan),
    ("trust_list", trust_list),
    ("status_list", status_list),
    ("qr", qr),
    ("request", request),
    ("passport", passport),
    ("compact", compact),
    ("evidence", evidence),
];

const CATENA_ROOT: &str = include_str!("../../tests/vectors/roots/catena-x.jwk");
const OURANOS_ROOT: &str = include_str!("../../tests/vectors/roots/ouranos.jwk");
const TRUST_LISTS: [&str; 2] = [
    include_str!("../../tests/vectors/trust-lists/catena-x.jws"),
    include_str!("../../tests/vectors/trust-lists/ouranos.jws"),
];
const STATUS_LISTS: [&str; 4] = [
    include_str!("../../tests/vectors/status-lists/acme-3.jws"),
    include_str!("../../tests/vectors/status-lists/acme-3-suspension.jws"),
    include_str!("../../tests/vectors/status-lists/acme-3-refresh.jws"),
    // The certifiers' list, for the attestations of the passport vectors.
    include_str!("../../tests/vectors/status-lists/certifier-1.jws"),
];
/// The passport vector cases: their credential is the one a fetched passport chain belongs to.
const PASSPORT_CASES: &str = include_str!("../../tests/vectors/passports/cases.json");
/// The `at` of the `reference-valid` case: the reference credential is valid then.
const AT: UnixTime = UnixTime(1_796_169_600);

fn root(jwk: &str) -> Option<PublicKey> {
    let v = serde_json::from_str(jwk).ok()?;
    PublicKey::from_jwk(&v).ok()
}

/// A trust store pinned to both demo ecosystems' roots, holding no list yet.
fn pinned() -> TrustStore {
    let mut trust = TrustStore::new();
    for (eco, jwk) in [("catena-x", CATENA_ROOT), ("ouranos", OURANOS_ROOT)] {
        if let Some(key) = root(jwk) {
            trust.pin_root(eco, &key);
        }
    }
    trust
}

/// The reference case's stores, built once per process (persistent fuzzing runs thousands of
/// inputs in one process; building them per input would dominate the time).
fn stores() -> &'static (TrustStore, StatusStore) {
    static STORES: OnceLock<(TrustStore, StatusStore)> = OnceLock::new();
    STORES.get_or_init(|| {
        let mut trust = TrustStore::new();
        if let Some(key) = root(CATENA_ROOT) {
            trust.pin_root("catena-x", &key);
        }
        let _ = trust.insert_all(TRUST_LISTS);
        let mut status = StatusStore::new();
        for list in STATUS_LISTS {
            let _ = status.insert(list, &trust);
        }
        (trust, status)
    })
}

/// The verdict invariants that hold for any input (SPEC.md section 8).
fn check_verdict(v: &Verdict) {
    assert_eq!(v.overall == Overall::Valid, v.code.is_none(), "{v:?}");
    assert_eq!(v.stages.len(), 8, "{v:?}");
    if let Some(code) = v.code {
        assert!(
            v.stages
                .iter()
                .any(|s| s.outcome == Outcome::Failed && s.code == Some(code)),
            "deciding code {code} is not a failed stage's: {v:?}"
        );
    }
}

/// Any text as a scan (QR URL, plain JWS, garbage), verified against the reference stores;
/// lines verified as a batch must give exactly the single verdicts.
pub fn scan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (trust, status) = stores();
    let ctx = Context::new(trust, status, AT);
    let single = verify(text, &ctx);
    check_verdict(&single);
    let lines: Vec<&str> = text.lines().take(8).collect();
    if lines.len() > 1 {
        let batch = verify_many(&lines, &ctx);
        assert_eq!(batch.len(), lines.len());
        for (line, v) in lines.iter().zip(&batch) {
            assert_eq!(v, &verify(line, &ctx), "batch and single verdicts differ");
        }
    }
}

/// Any text offered as a trust list, to a store pinned to both roots and to the reference
/// store that already holds lists (sequence and rollback paths).
pub fn trust_list(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = pinned().insert(text);
    let mut held = stores().0.clone();
    let _ = held.insert(text);
}

/// Any text offered as a status list against the reference trust store, and any text decoded
/// as an `encodedList` (GZIP, SPEC.md section 5).
pub fn status_list(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode_encoded_list(text);
    let (trust, status) = stores();
    let _ = StatusStore::new().insert(text, trust);
    let mut held = status.clone();
    let _ = held.insert(text, trust);
}

/// Frames larger than this are cut: the decoder's cost grows with the pixel count, and small
/// frames reach the same code paths far more often per second.
const QR_MAX_PIXELS: usize = 160 * 160;

/// A grayscale frame from fuzz bytes: byte 0 holds flags (bit 0: thorough effort), bytes 1..3
/// the width (little endian); the rest are the pixels, row by row, as many full rows as there
/// are (at most [`QR_MAX_PIXELS`]). Returns the flags, width, height and pixels.
fn frame(data: &[u8]) -> Option<(u8, u32, u32, &[u8])> {
    let [flags, w0, w1, pixels @ ..] = data else {
        return None;
    };
    let width = usize::from(u16::from_le_bytes([*w0, *w1])).max(1);
    let height = pixels.len().min(QR_MAX_PIXELS) / width;
    let pixels = pixels.get(..width * height)?;
    Some((
        *flags,
        u32::try_from(width).ok()?,
        u32::try_from(height).ok()?,
        pixels,
    ))
}

/// Any frame (see [`frame`]) through `cellproof_qr::decode_luma_with`, Fast or Thorough.
pub fn qr(data: &[u8]) {
    let Some((flags, w, h, pixels)) = frame(data) else {
        return;
    };
    let options = if flags & 1 == 0 {
        cellproof_qr::DecodeOptions::fast()
    } else {
        cellproof_qr::DecodeOptions::thorough()
    };
    // Errors (empty or oversized frames) are answers; only a panic is a finding.
    let _ = cellproof_qr::decode_luma_with(w, h, pixels, &options);
}

/// The registry's public base URL in the vector world (the `aud` its requests carry).
const REGISTRY: &str = "https://registry.cellproof.example";

/// Any text as a `registry-request+jwt` body (SPEC.md section 6.1), as the registry takes it:
/// parsed, then verified against the reference trust store with the requester bound to
/// catena-x, at the request's own `iat` so that inputs get past the time window to trust
/// resolution and the signature.
pub fn request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = ParsedRequest::parse(text) else {
        return;
    };
    let unverified = parsed.unverified().clone();
    let op = unverified.operation.op();
    assert_eq!(Op::parse(op.as_str()), Some(op), "op names round-trip");
    let expect = Expect {
        aud: REGISTRY,
        op,
        roles: &["manufacturer"],
        home: Some("catena-x"),
    };
    if let Ok(verified) = parsed.verify(&stores().0, &expect, unverified.iat) {
        // What the registry acts on is exactly what was signed, from the bound ecosystem.
        assert_eq!(verified.request, unverified);
        assert_eq!(verified.issuer.eco, "catena-x");
    }
}

/// Whether an input passes every check of its target (a genuine credential, list, request or
/// readable code). The kept corpus must hold such inputs for every target: mutations of them
/// are what reach trust resolution, status lookups and the signature check, where random bytes
/// never get.
pub fn accepted(target: &str, data: &[u8]) -> bool {
    let text = std::str::from_utf8(data).unwrap_or_default();
    let (trust, status) = stores();
    match target {
        "scan" => verify(text, &Context::new(trust, status, AT)).overall == Overall::Valid,
        "trust_list" => pinned().insert(text).is_ok(),
        "status_list" => StatusStore::new().insert(text, trust).is_ok(),
        "request" => ParsedRequest::parse(text).is_ok_and(|p| {
            let iat = p.unverified().iat;
            let expect = Expect {
                aud: REGISTRY,
                op: p.unverified().operation.op(),
                roles: &["manufacturer"],
                home: Some("catena-x"),
            };
            p.verify(trust, &expect, iat).is_ok()
        }),
        "passport" => PassportChain::from_json(text).is_ok_and(|chain| {
            let mut ctx = Context::new(trust, status, AT);
            ctx.chain = Some(&chain);
            verify(passport_credential(), &ctx).overall == Overall::Valid
        }),
        "compact" => StatusStore::new()
            .insert_compact(data, trust)
            .is_ok_and(|out| !out.is_empty() && out.iter().all(|(_, r)| r.is_ok())),
        "evidence" => EvidencePack::from_json(text).is_ok_and(|pack| {
            let report = pack.report.clone().unwrap_or_default();
            verify_report(
                &report,
                Some(&pack),
                inspector_roots(),
                &StatusStore::new(),
                REPORT_CHECK_AT,
            )
            .stands
        }),
        "qr" => frame(data)
            .and_then(|(_, w, h, pixels)| cellproof_qr::decode_luma(w, h, pixels).ok())
            .is_some_and(|found| !found.is_empty()),
        _ => false,
    }
}

/// The credential of the `passport-valid` vector case (its `bp.dig` names the chain's first
/// version).
fn passport_credential() -> &'static str {
    static INPUT: OnceLock<String> = OnceLock::new();
    INPUT.get_or_init(|| {
        serde_json::from_str::<serde_json::Value>(PASSPORT_CASES)
            .ok()
            .and_then(|v| {
                v["cases"]
                    .as_array()?
                    .iter()
                    .find(|c| c["name"] == "passport-valid")?["input"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    })
}

/// Any text as a passport: as the registry takes an uploaded version
/// (`check_passport_upload`, first version of a battery), and as the chain a verifier fetched
/// (`PassportChain::from_json`) for the `passport-valid` credential, whose verdict must keep
/// its invariants whatever the chain holds.
pub fn passport(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (trust, status) = stores();
    let _ = check_passport_upload(text, &[], trust, AT.0);
    let Ok(chain) = PassportChain::from_json(text) else {
        return;
    };
    let mut ctx = Context::new(trust, status, AT);
    ctx.chain = Some(&chain);
    check_verdict(&verify(passport_credential(), &ctx));
}

/// The vector world's status authority: its DID and private JWK (test keys, public on purpose
/// like `tests/vectors/keys/acme.private.jwk`), written with the seeds by
/// `cargo xtask fuzz --seeds`.
const AUTHORITY: &str = include_str!("../keys/status-authority.json");

fn authority() -> Option<&'static (String, KeyPair)> {
    static AUTH: OnceLock<Option<(String, KeyPair)>> = OnceLock::new();
    AUTH.get_or_init(|| {
        let v: serde_json::Value = serde_json::from_str(AUTHORITY).ok()?;
        let key = KeyPair::from_private_jwk(&v["key"]).ok()?;
        Some((v["iss"].as_str()?.to_owned(), key))
    })
    .as_ref()
}

/// The `lists` a body's head claims, read without checking its signature (1 when unreadable).
fn claimed_lists(head: &[u8]) -> u64 {
    std::str::from_utf8(head)
        .ok()
        .and_then(|h| h.split('.').nth(1))
        .and_then(|p| b64_decode(p, "payload").ok())
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
        .and_then(|v| v["lists"].as_u64())
        .unwrap_or(1)
}

/// The input's stream (after its first line feed; all of it without one) under a head the
/// authority signs afresh, as `lists` the count the input's head claims. The head signs the
/// stream's SHA-256, so without this every mutation of a stream would stop at the digest and
/// the record decoder and the delta path would never see fuzzed bytes.
fn resigned(data: &[u8]) -> Option<Vec<u8>> {
    let (iss, key) = authority()?;
    let (head, stream) = match data.iter().position(|b| *b == b'\n') {
        Some(nl) => (data.get(..nl)?, data.get(nl + 1..)?),
        None => (&[][..], data),
    };
    let payload = serde_json::json!({
        "iss": iss,
        "lists": claimed_lists(head),
        "bytes": stream.len(),
        "sha256": sha256_b64(stream),
    });
    let mut body = sign_json(Typ::StatusCompact, &payload, key).into_bytes();
    body.push(b'\n');
    body.extend_from_slice(stream);
    Some(body)
}

/// What a store holds, to compare two stores: per slot, the version and its bits.
fn held(store: &StatusStore) -> Vec<(String, String, u64, Vec<u8>)> {
    store
        .lists()
        .map(|l| {
            let bits = l.bits.bytes().to_vec();
            (l.eco.clone(), l.id.clone(), l.valid_from, bits)
        })
        .collect()
}

/// Offers a body to a copy of `start`. What is kept must be held, with whole bytes of one-bit
/// entries, at least the W3C minimum, and must encode and decode again to the same bits; a
/// body whose every record was kept changes nothing when offered again.
fn offer_compact(body: &[u8], start: &StatusStore, trust: &TrustStore) {
    let mut store = start.clone();
    let Ok(first) = store.insert_compact(body, trust) else {
        return;
    };
    for (id, r) in &first {
        if r.is_ok() {
            assert!(store.lists().any(|l| &l.id == id), "kept {id} is not held");
        }
    }
    // Lists held only in the compact form (no W3C text): the ones this body brought.
    for l in store.lists().filter(|l| l.raw().is_empty()) {
        let entries = l.bits.entries();
        assert_eq!(l.bits.status_size(), 1, "{}", l.id);
        assert!(
            entries >= MIN_ENTRIES && entries % 8 == 0,
            "{}: {entries}",
            l.id
        );
        let positions = set_positions(&l.bits);
        assert!(positions.iter().all(|p| *p < entries), "{}", l.id);
        let until = l.valid_until.unwrap_or(l.valid_from);
        assert!(until >= l.valid_from, "{}", l.id);
        if let Some((iss, key)) = authority().filter(|(iss, _)| *iss == l.issuer) {
            let record = CompactRecord {
                id: l.id.clone(),
                valid_from: l.valid_from,
                valid_until: until,
                ttl_ms: l.ttl_ms.unwrap_or(0),
                base: None,
                entries,
                positions,
            };
            let again = sign_compact(iss, &[record], key);
            let mut fresh = StatusStore::new();
            let out = fresh.insert_compact(&again, trust);
            assert!(
                out.is_ok_and(|o| o.iter().all(|(_, r)| r.is_ok())),
                "{} does not encode and decode again",
                l.id
            );
            assert!(
                fresh.lists().all(|f| f.bits == l.bits),
                "{} decodes to other bits",
                l.id
            );
        }
    }
    if !first.is_empty() && first.iter().all(|(_, r)| r.is_ok()) {
        let before = held(&store);
        let second = store.insert_compact(body, trust);
        assert!(
            second.is_ok(),
            "an accepted body is refused the second time"
        );
        assert_eq!(
            held(&store),
            before,
            "an accepted body changed the store again"
        );
    }
}

/// The codes of each record's outcome ("ok" when kept) when `body` is offered as it is to an
/// empty store and to the reference store; `None` when the body is refused whole. For the
/// replay's check that the signed seeds reach what they are named for.
pub fn compact_outcomes(body: &[u8]) -> [Option<Vec<&'static str>>; 2] {
    let (trust, status) = stores();
    [StatusStore::new(), status.clone()].map(|mut store| {
        store.insert_compact(body, trust).ok().map(|out| {
            out.iter()
                .map(|(_, r)| r.as_ref().map_or_else(|e| e.code(), |()| "ok"))
                .collect()
        })
    })
}

/// Any bytes as a compact or delta status body (`docs/status-sync.md`), as received and with
/// its stream signed afresh by the vector status authority, offered to an empty store and to
/// the reference store holding the `acme` lists (so deltas on them apply): the path of
/// `StatusStore::insert_compact`, which the CLI's sync and the page's `loadCompact` take.
pub fn compact(data: &[u8]) {
    let (trust, status) = stores();
    let empty = StatusStore::new();
    offer_compact(data, &empty, trust);
    offer_compact(data, status, trust);
    if let Some(body) = resigned(data) {
        offer_compact(&body, &empty, trust);
        offer_compact(&body, status, trust);
    }
}

/// When reports are re-checked: a day after the vector case's `at` (a report sealed then is
/// not in the verifier's future).
const REPORT_CHECK_AT: UnixTime = UnixTime(AT.0 + 86_400);

/// What a verifier of the vector world's reports holds: the catena-x root, as the inspector
/// (`msa`, enrolled there) had pinned when it sealed them, and no lists of its own.
fn inspector_roots() -> &'static TrustStore {
    static ROOTS: OnceLock<TrustStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut t = TrustStore::new();
        if let Some(k) = root(CATENA_ROOT) {
            t.pin_root("catena-x", &k);
        }
        t
    })
}

fn documented(code: &str) -> bool {
    CODES.iter().any(|(c, _, _)| *c == code)
}

/// What holds for any re-check (`docs/inspection.md`, "Re-checking a report").
fn check_report(c: &ReportCheck) {
    assert_eq!(c.stands, c.problems.is_empty(), "{c:?}");
    for p in &c.problems {
        assert!(documented(p.code), "undocumented problem code {}", p.code);
    }
    if let Some(r) = &c.recomputed {
        let valid = r["overall"] == "valid";
        assert_eq!(valid, r["code"].is_null(), "recomputed verdict {r}");
        if !valid {
            let code = r["code"].as_str().unwrap_or_default();
            assert!(documented(code), "recomputed verdict's code {code}");
        }
    }
    if c.stands {
        assert!(c.inspector.is_some(), "stands without an inspector");
        let (Some(rep), Some(rec)) = (&c.reported, &c.recomputed) else {
            panic!("stands without a recomputed verdict: {c:?}");
        };
        assert_eq!(
            (&rep["overall"], &rep["code"]),
            (&rec["overall"], &rec["code"]),
            "stands with another verdict"
        );
    }
}

/// Any text as an evidence pack (`EvidencePack::from_json`): what parses writes and reads back
/// to the same pack, and the report it carries (empty when none) re-checked against it with
/// `verify_report`, and without it, keeps the invariants of [`check_report`].
pub fn evidence(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(pack) = EvidencePack::from_json(text) else {
        return;
    };
    assert!(
        EvidencePack::from_json(&pack.to_json()).is_ok_and(|p| p == pack),
        "the pack does not round-trip through to_json"
    );
    let report = pack.report.clone().unwrap_or_default();
    let none = StatusStore::new();
    let with = verify_report(
        &report,
        Some(&pack),
        inspector_roots(),
        &none,
        REPORT_CHECK_AT,
    );
    check_report(&with);
    let without = verify_report(&report, None, inspector_roots(), &none, REPORT_CHECK_AT);
    check_report(&without);
    assert!(!without.stands, "a report stands without its evidence");
}
