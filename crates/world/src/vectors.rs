//! The test-vector generator behind `cargo xtask vectors` (`tests/vectors/`).
//!
//! In the style of the EU DCC test data: one case per cause, each with a fixed validation clock
//! and the expected outcome of every stage. Expectations are written here by intent, not read
//! back from the verifier, so a conformance test can hold the verifier to them.

use cellproof_core::{b64_encode, numeric_encode, Error, Purpose, TrustList};
use ed25519_dalek::Signer as _;
use serde_json::{json, Map, Value};

use crate::{Issuer, World, DAY, YEAR};

/// Seed of the vector world's keys (public on purpose: these are test keys).
pub const VECTOR_SEED: &str = "cellproof-test-vectors-v1";

/// One generated file: path relative to `tests/vectors/`, and content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorFile {
    /// Relative path.
    pub path: String,
    /// Content.
    pub content: String,
}

const REGISTRY: &str = "https://registry.cellproof.example";
/// 2026-12-01T00:00:00Z: lists are issued here.
const T0: u64 = 1_796_083_200;
const REVOKED: u64 = 1_001;
const SUSPENDED: u64 = 2_002;
const SUPERSEDED: u64 = 3_003;

const STAGES: [&str; 8] = [
    "decode",
    "signature",
    "trust",
    "binding",
    "time",
    "status",
    "passport",
    "attestations",
];

struct Case {
    name: &'static str,
    description: &'static str,
    input: String,
    at: u64,
    roots: Vec<&'static str>,
    trust_lists: Vec<&'static str>,
    status_lists: Vec<&'static str>,
    overall: &'static str,
    code: Option<&'static str>,
    stages: [&'static str; 8],
}

/// Stage outcomes: all passed to `binding`...; helpers below build the common shapes.
const ALL_PASSED: [&str; 8] = [
    "passed",
    "passed",
    "passed",
    "passed",
    "passed",
    "passed",
    "not_checked",
    "not_checked",
];

fn with(mut base: [&'static str; 8], changes: &[(usize, &'static str)]) -> [&'static str; 8] {
    for &(i, v) in changes {
        if let Some(slot) = base.get_mut(i) {
            *slot = v;
        }
    }
    base
}

/// Decode failed: nothing else runs.
const DECODE_FAILED: [&str; 8] = [
    "failed", "skipped", "skipped", "skipped", "skipped", "skipped", "skipped", "skipped",
];
/// Header profile failed: decode passed, signature failed, nothing else runs.
const HEADER_FAILED: [&str; 8] = [
    "passed", "failed", "skipped", "skipped", "skipped", "skipped", "skipped", "skipped",
];

fn craft(header: &Value, payload: &[u8], issuer: &Issuer) -> String {
    let input = format!(
        "{}.{}",
        b64_encode(header.to_string().as_bytes()),
        b64_encode(payload)
    );
    let sig = issuer.key.signing.sign(input.as_bytes());
    format!("{input}.{}", b64_encode(&sig.to_bytes()))
}

fn bp_header(kid: &str) -> Value {
    json!({"alg": "EdDSA", "kid": kid, "typ": "bp+jwt", "zip": "DEF"})
}

fn deflated(v: &str) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(v.as_bytes(), 10)
}

/// Generates every file of `tests/vectors/`.
pub fn generate_vectors() -> Result<Vec<VectorFile>, Error> {
    let w = World::new(VECTOR_SEED, REGISTRY, T0);
    let at = T0 + DAY;
    let iat = T0 - 30 * DAY;
    let mut files = Vec::new();
    let mut put = |path: &str, content: String| {
        files.push(VectorFile {
            path: path.into(),
            content,
        })
    };

    // Roots and the issuer's test key.
    for eco in ["catena-x", "ouranos"] {
        let mut jwk = w.root(eco).public().to_jwk();
        if let Some(m) = jwk.as_object_mut() {
            m.remove("kid");
        }
        put(&format!("roots/{eco}.jwk"), pretty(&jwk));
    }
    put(
        "keys/acme.private.jwk",
        pretty(&w.acme.key.to_private_jwk()),
    );

    // Trust lists, including variants for the negative cases.
    let catena = w.trust_list("catena-x");
    let ouranos = w.trust_list("ouranos");
    put("trust-lists/catena-x.jws", w.sign_trust_list(&catena));
    put("trust-lists/ouranos.jws", w.sign_trust_list(&ouranos));
    let stale = TrustList {
        iat: T0 - 60 * DAY,
        exp: T0 - 30 * DAY,
        ..catena.clone()
    };
    put("trust-lists/catena-x-stale.jws", w.sign_trust_list(&stale));
    let mut ended = ouranos.clone();
    for r in &mut ended.recognizes {
        r.until = Some(T0 - DAY);
    }
    put(
        "trust-lists/ouranos-recognition-ended.jws",
        w.sign_trust_list(&ended),
    );
    let mut certifiers = ouranos.clone();
    for r in &mut certifiers.recognizes {
        r.roles = vec!["certifier".into()];
    }
    put(
        "trust-lists/ouranos-certifiers-only.jws",
        w.sign_trust_list(&certifiers),
    );

    // A recognised ecosystem gone rogue (SPEC.md section 4, "one entity, one home"): the
    // ouranos root lists an entity with ACME's DID, name and status base but its own key, a
    // status authority of its own, and dates its list in 2100 to push verifiers' clocks.
    let acme_entry = catena
        .entities
        .iter()
        .find(|e| e.id == w.acme.did)
        .cloned()
        .unwrap_or_default();
    // ACME's entry (DID, name, status base) with another key and without its prefixes.
    let acme_with = |key: cellproof_core::PublicKey| cellproof_core::Entity {
        keys: vec![key],
        gcp: Vec::new(),
        ..acme_entry.clone()
    };
    let rogue_key = crate::derive_key(VECTOR_SEED, "rogue-acme", "k2");
    let rogue_authority = crate::derive_key(VECTOR_SEED, "rogue-authority", "ra1");
    let mut rogue = ouranos.clone();
    rogue.seq = 2;
    rogue.iat = YEAR_2100;
    rogue.exp = YEAR_2100 + 30 * DAY;
    rogue.entities.push(acme_with(rogue_key.public()));
    rogue.authorities.push(cellproof_core::Authority {
        id: "did:web:rogue-authority.example".into(),
        keys: vec![rogue_authority.public()],
    });
    put("trust-lists/ouranos-rogue.jws", w.sign_trust_list(&rogue));
    // The same borrowing on an ordinary date, so nothing but the home rule can stop it.
    let mut borrows = ouranos.clone();
    borrows.entities.push(acme_with(rogue_key.public()));
    put(
        "trust-lists/ouranos-borrows-acme.jws",
        w.sign_trust_list(&borrows),
    );
    // Both ecosystems pinned and both listing ACME's DID with kid k1: no one home.
    let mut twin = ouranos.clone();
    twin.entities.push(acme_with(
        crate::derive_key(VECTOR_SEED, "twin-acme", "k1").public(),
    ));
    put(
        "trust-lists/ouranos-lists-acme.jws",
        w.sign_trust_list(&twin),
    );
    // The rogue authority's list under ACME's URL, all bits clear, dated 2100.
    put(
        "status-lists/acme-3-shadow.jws",
        shadow_list(&w, &rogue_authority),
    );

    // Status lists of ACME's list 3.
    let until = T0 + 7 * DAY;
    put(
        "status-lists/acme-3.jws",
        w.status_list(&w.acme, "3", Purpose::Revocation, &[REVOKED], T0, until),
    );
    put(
        "status-lists/acme-3-suspension.jws",
        w.status_list(&w.acme, "3", Purpose::Suspension, &[SUSPENDED], T0, until),
    );
    put(
        "status-lists/acme-3-refresh.jws",
        w.status_list(&w.acme, "3", Purpose::Refresh, &[SUPERSEDED], T0, until),
    );
    put(
        "status-lists/acme-3-stale.jws",
        w.status_list(
            &w.acme,
            "3",
            Purpose::Revocation,
            &[REVOKED],
            T0 - 10 * DAY,
            T0 - 5 * DAY,
        ),
    );

    // The reference credential.
    let claims = w.reference_claims();
    let reference = w.issue(&w.acme, &claims, iat)?;
    let mut ref_claims = claims.clone();
    ref_claims.remove("url");
    put(
        "reference.json",
        pretty(&json!({
            "description": "The reference battery credential: shared/vectors/reference-claims.json signed by ACME's test key k1 at iat. Its QR code carries `url`: a byte segment with `url_prefix` and a numeric segment with `fragment`.",
            "claims": ref_claims,
            "iat": iat,
            "kid": w.acme.key.kid,
            "jws": reference.jws,
            "url_prefix": reference.url_prefix,
            "fragment": reference.fragment,
            "url": reference.url(),
            "jws_chars": reference.jws.len(),
            "fragment_digits": reference.fragment.len(),
        })),
    );

    let cases = cases(&w, &reference.url(), &reference.jws, at, iat)?;
    let json_cases: Vec<Value> = cases
        .iter()
        .map(|c| {
            let stages: Map<String, Value> =
                STAGES.iter().zip(c.stages).map(|(s, o)| ((*s).to_owned(), o.into())).collect();
            let roots: Map<String, Value> =
                c.roots.iter().map(|eco| ((*eco).to_owned(), format!("roots/{eco}.jwk").into())).collect();
            json!({
                "name": c.name,
                "description": c.description,
                "input": c.input,
                "at": c.at,
                "roots": roots,
                "trust_lists": c.trust_lists.iter().map(|l| format!("trust-lists/{l}.jws")).collect::<Vec<_>>(),
                "status_lists": c.status_lists.iter().map(|l| format!("status-lists/{l}.jws")).collect::<Vec<_>>(),
                "expected": {"overall": c.overall, "code": c.code, "stages": stages},
            })
        })
        .collect();
    put(
        "cases.json",
        pretty(&json!({
            "description": "Cellproof verification vectors. Each case: an input (QR URL or JWS), a validation clock `at` (Unix seconds), pinned roots, trust and status lists (paths relative to this file), and the expected overall verdict, deciding code and outcome of every stage (SPEC.md sections 7 and 8).",
            "generator": "cargo xtask vectors",
            "cases": json_cases,
        })),
    );
    files.extend(crate::passport_vectors::files(&w, at, iat)?);
    Ok(files)
}

/// 2100-01-01T00:00:00Z.
const YEAR_2100: u64 = 4_102_444_800;

/// A revocation list under ACME's list-3 URL, every bit clear, dated 2100, signed by `key` as
/// the rogue authority.
fn shadow_list(w: &World, key: &cellproof_core::KeyPair) -> String {
    let id = Purpose::Revocation.list_url(&w.status_base(&w.acme), "3");
    let spec = cellproof_core::StatusListSpec {
        id: &id,
        issuer: "did:web:rogue-authority.example",
        purpose: Purpose::Revocation,
        valid_from: YEAR_2100,
        valid_until: YEAR_2100 + 7 * DAY,
        ttl_ms: 300_000,
    };
    let bits = cellproof_core::Bitstring::zeroed(cellproof_core::MIN_ENTRIES);
    cellproof_core::sign_status_list(&cellproof_core::status_list_payload(&spec, &bits), key)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn cases(
    w: &World,
    reference_url: &str,
    reference_jws: &str,
    at: u64,
    iat: u64,
) -> Result<Vec<Case>, Error> {
    let catena_all = vec!["catena-x", "ouranos"];
    let status_all = vec!["acme-3", "acme-3-suspension", "acme-3-refresh"];
    let host = "https://id.cells.acme.example";
    let sample = |serial: &str, idx: u64| {
        let claims = w.sample_claims(&w.acme, serial, Some(&format!("3/{idx}")), host);
        w.issue(&w.acme, &claims, iat).map(|c| c.url())
    };
    let claims_with = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut c = w.reference_claims();
        f(&mut c);
        c
    };
    let url_prefix = reference_url
        .split_once('#')
        .map(|(u, _)| u)
        .unwrap_or_default();
    // The reference battery's GTIN and serial: the last two values of its Digital Link path.
    let mut segs = url_prefix.rsplit('/');
    let ref_serial = segs.next().unwrap_or_default().to_owned();
    let ref_gtin = segs.nth(1).unwrap_or_default().to_owned();
    let on_url = |jws: &str| format!("{url_prefix}#{}", numeric_encode(jws));
    let mut payload = w.reference_claims();
    payload.remove("url");
    payload.insert("iat".into(), iat.into());
    let payload_text = Value::Object(payload.clone()).to_string();
    let base = |name, description, input: String, overall, code, stages| Case {
        name,
        description,
        input,
        at,
        roots: vec!["catena-x"],
        trust_lists: catena_all.clone(),
        status_lists: status_all.clone(),
        overall,
        code,
        stages,
    };

    let tampered = {
        let mut parts = reference_jws.split('.');
        let (h, _, s) = (
            parts.next().unwrap_or_default(),
            parts.next(),
            parts.next().unwrap_or_default(),
        );
        let forged = payload_text.replace("452.5", "352.5");
        format!("{h}.{}.{s}", b64_encode(&deflated(&forged)))
    };
    let rogue = Issuer {
        did: "did:web:rogue.example".into(),
        key: crate::derive_key(VECTOR_SEED, "rogue", "k1"),
        ..w.acme.clone()
    };
    let rogue_claims = claims_with(&|c| {
        c.insert("iss".into(), "did:web:rogue.example".into());
    });
    let certifier_claims = claims_with(&|c| {
        c.insert("iss".into(), w.certifier.did.clone().into());
    });
    let exp_claims = |exp: u64| {
        claims_with(&move |c| {
            c.insert("exp".into(), exp.into());
        })
    };
    let wrong_kid = Issuer {
        key: crate::derive_key(VECTOR_SEED, "acme", "k9"),
        ..w.acme.clone()
    };
    let borrowed = Issuer {
        key: crate::derive_key(VECTOR_SEED, "rogue-acme", "k2"),
        ..w.acme.clone()
    };
    // ACME signing for a GTIN under Nippon Denchi's prefix 4589012.
    let foreign_gtin = {
        let gtin = crate::gtin_with_check_digit("0458901299999").unwrap_or_default();
        let url = format!("{host}/01/{gtin}/21/SN2026A000123");
        let claims = claims_with(&|c| {
            c.insert("sub".into(), format!("01/{gtin}/21/SN2026A000123").into());
            c.insert("url".into(), url.clone().into());
        });
        w.issue(&w.acme, &claims, iat)?.url()
    };

    let cases = vec![
        base("reference-valid", "The reference credential, scanned from its QR URL, verifier pinned to catena-x.", reference_url.into(), "valid", None, ALL_PASSED),
        Case {
            roots: vec!["ouranos"],
            ..base("recognised-by-ouranos", "The reference credential with the verifier pinned only to ouranos, which recognises catena-x manufacturers: valid through the path \"catena-x, recognised by ouranos\".", reference_url.into(), "valid", None, ALL_PASSED)
        },
        base("plain-jws", "The reference credential as a bare compact JWS: valid, binding not checked.", reference_jws.into(), "valid", None, with(ALL_PASSED, &[(3, "not_checked")])),
        base("superseded", "The refresh bit is set: valid, with a notice that a newer passport exists.", sample("SN2026A003003", SUPERSEDED)?, "valid", None, with(ALL_PASSED, &[(5, "notice")])),
        base("tampered-payload", "The mass in the payload was changed after signing.", on_url(&tampered), "invalid", Some("signature_invalid"), with(ALL_PASSED, &[(1, "failed")])),
        base("typ-unexpected", "Signed with typ vc+jwt where bp+jwt is required (RFC 8725 explicit typing).", on_url(&craft(&json!({"alg":"EdDSA","kid":"k1","typ":"vc+jwt"}), payload_text.as_bytes(), &w.acme)), "invalid", Some("typ_unexpected"), HEADER_FAILED),
        base("alg-none", "An unsigned JWS with alg none.", on_url(&format!("{}.{}.", b64_encode(br#"{"alg":"none","kid":"k1","typ":"bp+jwt"}"#), b64_encode(payload_text.as_bytes()))), "invalid", Some("alg_unsupported"), HEADER_FAILED),
        base("crit-header", "A header with a crit member, which verifiers must refuse.", on_url(&craft(&json!({"alg":"EdDSA","kid":"k1","typ":"bp+jwt","zip":"DEF","crit":["exp"]}), &deflated(&payload_text), &w.acme)), "invalid", Some("header_forbidden"), HEADER_FAILED),
        base("fragment-not-numeric", "A numeric fragment whose pair 99 names no JWS character.", format!("{url_prefix}#9999"), "invalid", Some("fragment_not_numeric"), DECODE_FAILED),
        base("base64url-padded", "A plain-JWS fragment whose payload carries base64 padding.", format!("{url_prefix}#{}", reference_jws.replacen('.', "=.", 2).replacen("=.", ".", 1)), "invalid", Some("base64url_invalid"), DECODE_FAILED),
        base("inflate-too-large", "A signed payload that inflates past 16 KiB.", on_url(&craft(&bp_header("k1"), &deflated(&format!("{{\"pad\":\"{}\"}}", "0".repeat(20_000))), &w.acme)), "invalid", Some("inflate_too_large"), DECODE_FAILED),
        base("json-duplicate-member", "A signed payload with the member iss twice.", on_url(&craft(&bp_header("k1"), &deflated(&payload_text.replacen('{', "{\"iss\":\"did:web:evil.example\",", 1)), &w.acme)), "invalid", Some("json_duplicate_member"), DECODE_FAILED),
        base("json-not-object", "A signed payload that is a JSON array.", on_url(&craft(&bp_header("k1"), &deflated("[1,2,3]"), &w.acme)), "invalid", Some("json_not_object"), DECODE_FAILED),
        base("claim-invalid", "bp.cat is not a battery category.", on_url(&craft(&bp_header("k1"), &deflated(&payload_text.replace("\"cat\":\"ev\"", "\"cat\":\"car\"")), &w.acme)), "invalid", Some("claim_invalid"), DECODE_FAILED),
        base("gtin-invalid", "The URL's GTIN has a wrong check digit.", reference_url.replace("04012345000016", "04012345000017"), "invalid", Some("gtin_invalid"), DECODE_FAILED),
        // SPEC.md 1.2 section 2.1: a label without an embedded credential is never invalid for
        // that (1.1 said invalid, url_no_fragment, now retired).
        base("url-no-fragment", "A plain Digital Link URL with no credential fragment: unverifiable offline (no_embedded_credential), checked online.", url_prefix.into(), "unverifiable", Some("no_embedded_credential"), DECODE_FAILED),
        base("plain-link-junk-fragment", "A plain Digital Link URL whose fragment is no credential (#chapter1): the fragment is ignored.", format!("{url_prefix}#chapter1"), "unverifiable", Some("no_embedded_credential"), DECODE_FAILED),
        base("element-string", "The reference battery as a GS1 DataMatrix element string (]d2, AI 01 then AI 21): no embedded credential.", format!("]d201{ref_gtin}21{ref_serial}"), "unverifiable", Some("no_embedded_credential"), DECODE_FAILED),
        base("element-string-bracketed", "The reference battery as a human-readable element string (01)...(21)...: no embedded credential.", format!("(01){ref_gtin}(21){ref_serial}"), "unverifiable", Some("no_embedded_credential"), DECODE_FAILED),
        base("model-level-link", "A Digital Link naming a lot (AI 10), not one battery: item_not_serialised.", format!("https://id.gs1.org/01/{ref_gtin}/10/LOT1"), "unverifiable", Some("item_not_serialised"), DECODE_FAILED),
        base("element-string-21-first", "An element string with AI 21 before AI 01.", format!("(21){ref_serial}(01){ref_gtin}"), "invalid", Some("element_string_invalid"), DECODE_FAILED),
        base("untp-link-javascript", "A UNTP verification link whose payload uri is javascript:.", "https://verify.example/?q=%7B%22payload%22%3A%7B%22uri%22%3A%22javascript%3Aalert(1)%22%7D%7D".into(), "invalid", Some("untp_link_invalid"), DECODE_FAILED),
        base("issuer-unknown", "Signed by an issuer in no accepted trust list.", w.issue(&rogue, &rogue_claims, iat)?.url(), "unverifiable", Some("issuer_unknown"), with(ALL_PASSED, &[(1, "not_checked"), (2, "failed"), (5, "skipped")])),
        base("key-unknown", "ACME's DID with a kid its trust-list entry does not list.", w.issue(&wrong_kid, &w.reference_claims(), iat)?.url(), "unverifiable", Some("key_unknown"), with(ALL_PASSED, &[(1, "not_checked"), (2, "failed"), (5, "skipped")])),
        base("key-not-valid-at-iat", "Signed three years ago, before ACME's key window opened.", w.issue(&w.acme, &w.reference_claims(), iat - 3 * YEAR)?.url(), "invalid", Some("key_not_valid_at_iat"), with(ALL_PASSED, &[(2, "failed"), (5, "skipped")])),
        base("role-missing", "Signed by a certifier, which may not sign battery credentials.", w.issue(&w.certifier, &certifier_claims, iat)?.url(), "invalid", Some("role_missing"), with(ALL_PASSED, &[(2, "failed"), (5, "skipped")])),
        Case {
            roots: vec!["ouranos"],
            trust_lists: vec!["ouranos-certifiers-only", "catena-x"],
            ..base("recognition-scope", "Pinned to ouranos, which recognises catena-x only for certifiers.", reference_url.into(), "unverifiable", Some("recognition_scope"), with(ALL_PASSED, &[(2, "failed"), (5, "skipped")]))
        },
        Case {
            roots: vec!["ouranos"],
            trust_lists: vec!["ouranos-recognition-ended", "catena-x"],
            ..base("recognition-expired", "Pinned to ouranos, whose recognition of catena-x has ended.", reference_url.into(), "unverifiable", Some("recognition_expired"), with(ALL_PASSED, &[(2, "failed"), (5, "skipped")]))
        },
        Case {
            trust_lists: vec!["catena-x-stale"],
            ..base("trust-list-stale", "The only catena-x trust list held expired 31 days ago.", reference_url.into(), "unverifiable", Some("trust_list_stale"), with(ALL_PASSED, &[(2, "failed"), (5, "skipped")]))
        },
        base("sub-mismatch", "The reference credential's fragment on another battery's URL (copied label).", reference_url.replace("SN2026A000123", "SN2026A000999"), "invalid", Some("sub_mismatch"), with(ALL_PASSED, &[(3, "failed")])),
        base("expired", "A credential whose exp passed a day before the validation clock.", w.issue(&w.acme, &exp_claims(T0), iat)?.url(), "invalid", Some("expired"), with(ALL_PASSED, &[(4, "failed")])),
        base("not-yet-valid", "A credential issued a day after the validation clock.", w.issue(&w.acme, &w.reference_claims(), at + DAY)?.url(), "invalid", Some("not_yet_valid"), with(ALL_PASSED, &[(4, "failed")])),
        Case {
            at: T0 - 50 * DAY,
            ..base("clock-set-back", "The device clock is 50 days behind; the status lists verified carry validFrom T0, so the time floor still finds the credential expired.", w.issue(&w.acme, &exp_claims(T0 - DAY), iat - 30 * DAY)?.url(), "invalid", Some("expired"), with(ALL_PASSED, &[(4, "failed")]))
        },
        base("revoked", "The revocation bit is set.", sample("SN2026A001001", REVOKED)?, "invalid", Some("revoked"), with(ALL_PASSED, &[(5, "failed")])),
        base("suspended", "The suspension bit is set.", sample("SN2026A002002", SUSPENDED)?, "invalid", Some("suspended"), with(ALL_PASSED, &[(5, "failed")])),
        Case {
            status_lists: vec![],
            ..base("status-unknown", "No status list is available for the credential's entry.", reference_url.into(), "unverifiable", Some("status_unknown"), with(ALL_PASSED, &[(5, "failed")]))
        },
        Case {
            status_lists: vec!["acme-3-stale"],
            ..base("status-stale", "Only a revocation list past its validUntil is available.", reference_url.into(), "unverifiable", Some("status_stale"), with(ALL_PASSED, &[(5, "failed")]))
        },
        Case {
            trust_lists: vec!["catena-x", "ouranos-borrows-acme"],
            ..base("borrowed-identity", "Pinned to catena-x; the recognised ouranos root lists an entity with ACME's DID and name and its own key k2, which signed this credential. SPEC.md section 4: a pinned list names ACME, so only pinned entries count, and none lists k2.", w.issue(&borrowed, &w.reference_claims(), iat)?.url(), "unverifiable", Some("key_unknown"), with(ALL_PASSED, &[(1, "not_checked"), (2, "failed"), (5, "skipped")]))
        },
        Case {
            roots: vec!["catena-x", "ouranos"],
            trust_lists: vec!["catena-x", "ouranos-lists-acme"],
            ..base("issuer-ambiguous", "Both ecosystems pinned, and both list ACME's DID with a key k1: the issuer has no one home.", reference_url.into(), "unverifiable", Some("issuer_ambiguous"), with(ALL_PASSED, &[(1, "not_checked"), (2, "failed"), (5, "skipped")]))
        },
        Case {
            trust_lists: vec!["catena-x", "ouranos-rogue"],
            status_lists: vec!["acme-3", "acme-3-suspension", "acme-3-refresh", "acme-3-shadow"],
            ..base("status-list-shadowed", "A revoked credential; the rogue authority of the recognised ouranos list signed a list under ACME's URL, all bits clear, dated 2100. It neither shadows ACME's list nor moves the clock: still revoked.", sample("SN2026A001001", REVOKED)?, "invalid", Some("revoked"), with(ALL_PASSED, &[(5, "failed")]))
        },
        Case {
            trust_lists: vec!["catena-x", "ouranos-rogue"],
            ..base("clock-floor-foreign", "The recognised ouranos list is dated 2100; only pinned lists raise the clock floor, so the reference credential stays valid.", reference_url.into(), "valid", None, ALL_PASSED)
        },
        base("gtin-not-issuer", "ACME signs for a GTIN under Nippon Denchi's company prefix 4589012; ACME's entry lists 4012345.", foreign_gtin, "invalid", Some("gtin_not_issuer"), with(ALL_PASSED, &[(2, "failed")])),
        base("status-index-out-of-range", "The status index is past the end of a 131,072-entry list.", sample("SN2026A200000", 200_000)?, "invalid", Some("status_index_out_of_range"), with(ALL_PASSED, &[(5, "failed")])),
    ];
    Ok(cases)
}
