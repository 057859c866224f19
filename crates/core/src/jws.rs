//! Compact JWS (RFC 7515) with the Cellproof profile: EdDSA/Ed25519 only, explicit `typ`,
//! no `crit`/`jku`/`jwk`/`x5u`/`x5c`, minimal base64url, strict Ed25519 (SPEC.md section 1).
//!
//! States as types: [`Jws::parse`] checks form and header profile and yields an unverified
//! [`Jws`]; only [`Jws::verify`] (or the batch path in `verify.rs`) turns it into
//! [`VerifiedJws`], whose payload callers may trust.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{Map, Value};

use crate::json::{self, Obj};
use crate::Error;

/// Base64url without padding; decoding refuses padding and non-zero trailing bits, so every
/// byte string has exactly one accepted encoding ("minimal form").
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Largest inflated `bp+jwt` payload (SPEC.md section 1).
pub const MAX_INFLATED: usize = 16 * 1024;

/// Encodes bytes as base64url without padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes minimal-form base64url without padding.
pub fn b64_decode(text: &str, part: &'static str) -> Result<Vec<u8>, Error> {
    B64.decode(text)
        .map_err(|_| Error::Base64urlInvalid { part })
}

/// The artifact types of SPEC.md section 1, each with its `typ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typ {
    /// Battery credential in the QR code.
    Credential,
    /// Full passport or attestation (VC 2.0), and status lists.
    Vc,
    /// Ecosystem trust list.
    TrustList,
    /// Signed request to the registry (SPEC.md section 6.1): status update, allocation,
    /// document upload, restricted read.
    RegistryRequest,
    /// The registry's signed audit-log head (`docs/server.md`): sequence number, hash, time.
    AuditHead,
    /// A compact or delta status sync body's signed head (`docs/status-sync.md`): not a VC,
    /// so a verifier can never take it for a W3C list, nor a W3C list for it.
    StatusCompact,
}

impl Typ {
    /// The `typ` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Typ::Credential => "bp+jwt",
            Typ::Vc => "vc+jwt",
            Typ::TrustList => "trust-list+jwt",
            Typ::RegistryRequest => "registry-request+jwt",
            Typ::AuditHead => "audit-head+jwt",
            Typ::StatusCompact => "status-list-compact+jwt",
        }
    }
}

/// The protected header after the profile checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// `EdDSA` or `Ed25519`.
    pub alg: String,
    /// Key id.
    pub kid: String,
    /// Explicit type.
    pub typ: Typ,
    /// Whether the payload is raw DEFLATE (`zip: "DEF"`).
    pub deflated: bool,
}

/// A compact JWS whose form and header are checked but whose signature is not.
#[derive(Clone, Debug)]
pub struct Jws {
    header: Header,
    /// `header.payload` in ASCII: the bytes the signature covers.
    signing_input: String,
    payload: Map<String, Value>,
    signature: [u8; 64],
}

/// A JWS whose signature verified under the key given; only reachable through verification.
#[derive(Clone, Debug)]
pub struct VerifiedJws {
    jws: Jws,
}

impl VerifiedJws {
    /// The checked header.
    pub fn header(&self) -> &Header {
        &self.jws.header
    }
    /// The signed payload.
    pub fn payload(&self) -> &Map<String, Value> {
        &self.jws.payload
    }
}

/// Header members that would let an attacker steer key selection or semantics (SPEC.md s. 1).
const FORBIDDEN_HEADERS: [&str; 5] = ["crit", "jku", "jwk", "x5u", "x5c"];

impl Jws {
    /// Parses a compact JWS, checking base64url form, the header profile against the `typ`
    /// expected here, inflating a `zip: "DEF"` payload (credentials only) and parsing the
    /// payload as strict JSON. `limit` bounds the compact text.
    pub fn parse(compact: &str, expected: Typ, limit: usize) -> Result<Jws, Error> {
        Self::parse_with(compact, expected, limit, false)
    }

    /// [`Jws::parse`] for a passport obtained by resolution (SPEC.md section 1): `ES256` is
    /// read as well as Ed25519; its signature is checked only by [`Jws::verify_key`] under a
    /// key from a did:web document.
    pub fn parse_resolved(compact: &str, expected: Typ, limit: usize) -> Result<Jws, Error> {
        Self::parse_with(compact, expected, limit, true)
    }

    fn parse_with(compact: &str, expected: Typ, limit: usize, es256: bool) -> Result<Jws, Error> {
        if compact.len() > limit {
            return Err(Error::InputTooLarge { what: "JWS", limit });
        }
        let mut parts = compact.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::JwsMalformed);
        };
        let header_bytes = b64_decode(h, "header")?;
        let payload_bytes = b64_decode(p, "payload")?;
        let sig_bytes = b64_decode(s, "signature")?;
        let header = check_header(&json::parse_object(&header_bytes)?, expected, es256)?;
        let payload_json = if header.deflated {
            inflate(&payload_bytes)?
        } else {
            payload_bytes
        };
        let payload = json::parse_object(&payload_json)?;
        let signature: [u8; 64] =
            sig_bytes
                .as_slice()
                .try_into()
                .map_err(|_| Error::SignatureInvalid {
                    reason: "signature is not 64 bytes",
                })?;
        let signing_input = compact
            .get(..h.len() + 1 + p.len())
            .unwrap_or_default()
            .to_owned();
        Ok(Jws {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// The checked header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload, not yet authenticated: use it only to find the key.
    pub fn unverified_payload(&self) -> &Map<String, Value> {
        &self.payload
    }

    /// The bytes the signature covers.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The raw signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Verifies the signature with strict Ed25519 under `key`. An `ES256` header (read only by
    /// [`Jws::parse_resolved`]) is `alg_unsupported` here: Ed25519 keys (trust lists) never
    /// check it.
    pub fn verify(self, key: &[u8; 32]) -> Result<VerifiedJws, Error> {
        self.ed25519_only()?;
        verify_ed25519_strict(key, self.signing_input.as_bytes(), &self.signature)?;
        Ok(VerifiedJws { jws: self })
    }

    fn ed25519_only(&self) -> Result<(), Error> {
        match self.header.alg.as_str() {
            ALG_ES256 => Err(Error::AlgUnsupported {
                alg: ALG_ES256.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// Verifies under a key of either kind (a did:web document's, SPEC.md sections 1 and 2.2):
    /// Ed25519 strictly for `EdDSA`/`Ed25519`, P-256 ECDSA with SHA-256 for `ES256`. A header
    /// whose `alg` is not the key's is `signature_invalid`.
    pub fn verify_key(self, key: &AnyKey) -> Result<VerifiedJws, Error> {
        match (key, self.header.alg.as_str()) {
            (AnyKey::Ed25519(k), alg) if alg != ALG_ES256 => self.verify(k),
            (AnyKey::P256(k), ALG_ES256) => {
                verify_es256(k, self.signing_input.as_bytes(), &self.signature)?;
                Ok(VerifiedJws { jws: self })
            }
            _ => Err(Error::SignatureInvalid {
                reason: "the header's alg is not the algorithm of the key",
            }),
        }
    }

    /// Verifies under the first of `keys` that accepts the signature; returns which one. With
    /// no key accepting, the error of the last key tried (`signature_invalid` for an empty
    /// list).
    pub fn verify_any(self, keys: &[[u8; 32]]) -> Result<(VerifiedJws, usize), Error> {
        let mut last = Error::SignatureInvalid {
            reason: "no candidate key",
        };
        self.ed25519_only()?;
        for (i, key) in keys.iter().enumerate() {
            match verify_ed25519_strict(key, self.signing_input.as_bytes(), &self.signature) {
                Ok(()) => return Ok((VerifiedJws { jws: self }, i)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Verifies many JWS, each under its key, through [`verify_ed25519_many`] (one Ed25519
    /// batch for the batch-safe ones): the results equal [`Jws::verify`] one by one.
    pub fn verify_many(items: Vec<(Jws, [u8; 32])>) -> Vec<Result<VerifiedJws, Error>> {
        let triples: Vec<(&[u8], &[u8], &[u8])> = items
            .iter()
            .map(|(jws, key)| {
                (
                    key.as_slice(),
                    jws.signing_input.as_bytes(),
                    jws.signature.as_slice(),
                )
            })
            .collect();
        let results = verify_ed25519_many(&triples);
        items
            .into_iter()
            .zip(results)
            .map(|((jws, _), r)| r.map(|()| VerifiedJws { jws }))
            .collect()
    }
}

/// The `alg` of ECDSA P-256 with SHA-256 (RFC 7518 section 3.4).
pub const ALG_ES256: &str = "ES256";

/// A key that checks a resolved passport's signature (SPEC.md sections 1 and 2.2): Ed25519, or
/// P-256 from a did:web document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnyKey {
    /// An Ed25519 public key.
    Ed25519([u8; 32]),
    /// A P-256 public key, on the curve.
    P256(p256::ecdsa::VerifyingKey),
}

impl AnyKey {
    /// Reads a public JWK: OKP Ed25519 as [`crate::PublicKey::from_jwk`], or EC P-256 with `x`
    /// and `y` of 32 bytes each, a point on the curve and no `d` (else `key_invalid`).
    pub fn from_jwk(jwk: &Value) -> Result<AnyKey, Error> {
        if jwk.get("kty").and_then(Value::as_str) != Some("EC") {
            return crate::trust::PublicKey::from_jwk(jwk).map(|k| AnyKey::Ed25519(k.x));
        }
        let invalid = |reason| Error::KeyInvalid { reason };
        if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
            return Err(invalid("an EC key must be on curve P-256"));
        }
        if jwk.get("d").is_some() {
            return Err(invalid("a public JWK must not carry the private key"));
        }
        let coord = |name: &str| -> Result<[u8; 32], Error> {
            let text = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or(invalid("a P-256 key needs x and y"))?;
            b64_decode(text, "payload")
                .map_err(|_| invalid("x or y is not base64url"))?
                .try_into()
                .map_err(|_| invalid("x or y is not 32 bytes"))
        };
        let mut sec1 = [0u8; 65];
        sec1[0] = 4;
        sec1[1..33].copy_from_slice(&coord("x")?);
        sec1[33..].copy_from_slice(&coord("y")?);
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
            .map(AnyKey::P256)
            .map_err(|_| invalid("the P-256 point is not on the curve"))
    }

    /// The public JWK form (no `kid`).
    pub fn to_jwk(&self) -> Value {
        match self {
            AnyKey::Ed25519(x) => {
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64_encode(x)})
            }
            AnyKey::P256(k) => {
                let point = k.to_encoded_point(false);
                serde_json::json!({"kty": "EC", "crv": "P-256",
                    "x": b64_encode(point.x().map(|x| x.as_slice()).unwrap_or_default()),
                    "y": b64_encode(point.y().map(|y| y.as_slice()).unwrap_or_default())})
            }
        }
    }
}

/// ES256 (RFC 7518 section 3.4): the 64-byte `R || S` signature (never DER); `r` or `s` zero
/// or not below the group order is `signature_invalid`; a high `s` is accepted, as JOSE does.
pub fn verify_es256(
    key: &p256::ecdsa::VerifyingKey,
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), Error> {
    use p256::ecdsa::signature::Verifier as _;
    let sig =
        p256::ecdsa::Signature::from_slice(signature).map_err(|_| Error::SignatureInvalid {
            reason: "r or s is zero or not below the group order",
        })?;
    key.verify(message, &sig)
        .map_err(|_| Error::SignatureInvalid {
            reason: "ES256 signature does not verify",
        })
}

/// Signs `payload` as a compact ES256 JWS (RFC 6979 nonces): the demo's and the tests' issuer
/// outside every trust list. Cellproof's own artifacts are Ed25519.
pub fn sign_es256(typ: Typ, kid: &str, payload: &[u8], key: &p256::ecdsa::SigningKey) -> String {
    use p256::ecdsa::signature::Signer as _;
    let input = signing_input(ALG_ES256, typ, kid, false, payload);
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64_encode(&sig.to_bytes()))
}

/// `header.payload` of a compact JWS: the header `{alg, kid, typ[, zip]}`, the payload (raw
/// DEFLATE with `zip: "DEF"` when `zip`), each base64url.
fn signing_input(alg: &str, typ: Typ, kid: &str, zip: bool, payload: &[u8]) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), alg.into());
    header.insert("kid".into(), kid.into());
    header.insert("typ".into(), typ.as_str().into());
    if zip {
        header.insert("zip".into(), "DEF".into());
    }
    let header = Value::Object(header).to_string();
    let body = if zip {
        deflate(payload)
    } else {
        payload.to_vec()
    };
    format!("{}.{}", b64_encode(header.as_bytes()), b64_encode(&body))
}

fn check_header(h: &Map<String, Value>, expected: Typ, es256: bool) -> Result<Header, Error> {
    let obj = Obj::new(h, "header");
    for name in FORBIDDEN_HEADERS {
        if h.contains_key(name) {
            return Err(Error::HeaderForbidden {
                name: name.to_owned(),
            });
        }
    }
    let alg = obj.opt_str("alg")?.unwrap_or_default();
    let es256_here = es256 && alg == ALG_ES256 && expected == Typ::Vc;
    if alg != "EdDSA" && alg != "Ed25519" && !es256_here {
        return Err(Error::AlgUnsupported {
            alg: alg.to_owned(),
        });
    }
    let typ = obj.opt_str("typ")?.unwrap_or_default();
    if typ != expected.as_str() {
        return Err(Error::TypUnexpected {
            expected: expected.as_str(),
            found: typ.to_owned(),
        });
    }
    let kid = match obj.opt_str("kid")? {
        Some(k) if !k.is_empty() => k.to_owned(),
        _ => return Err(Error::KidMissing),
    };
    let deflated = match h.get("zip") {
        None => false,
        // SPEC.md section 1: only bp+jwt may be compressed.
        Some(Value::String(z)) if z == "DEF" && expected == Typ::Credential => true,
        Some(_) => return Err(Error::ZipUnsupported),
    };
    Ok(Header {
        alg: alg.to_owned(),
        kid,
        typ: expected,
        deflated,
    })
}

/// Inflates raw DEFLATE with the 16 KiB limit of SPEC.md section 1.
pub fn inflate(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    use miniz_oxide::inflate::{decompress_to_vec_with_limit, TINFLStatus};
    decompress_to_vec_with_limit(bytes, MAX_INFLATED).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => Error::InflateTooLarge {
            limit: MAX_INFLATED,
        },
        _ => Error::InflateFailed,
    })
}

/// Raw DEFLATE as small as we can make it, for issuers: every byte saved is about 2.7 QR
/// modules of numeric data. Zopfli's optimal parsing beats miniz's level 10 by 6 to 8 bytes on
/// the reference credential (282 -> 274), which is the difference between QR version 18 and 17
/// at ECC M; the smaller of the two outputs is kept, so the result is never worse than miniz.
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    let fast = miniz_oxide::deflate::compress_to_vec(bytes, 10);
    let options = zopfli::Options {
        iteration_count: core::num::NonZeroU64::MIN.saturating_add(199),
        ..zopfli::Options::default()
    };
    let mut best = Vec::new();
    match zopfli::compress(options, zopfli::Format::Deflate, bytes, &mut best) {
        Ok(()) if !best.is_empty() && best.len() < fast.len() => best,
        _ => fast,
    }
}

/// Signs `payload` (JSON bytes) as a compact JWS with the given `typ` and `kid`.
/// `deflate_payload` is honoured for credentials only (SPEC.md section 1).
pub fn sign(
    typ: Typ,
    kid: &str,
    payload: &[u8],
    key: &SigningKey,
    deflate_payload: bool,
) -> String {
    let zip = deflate_payload && typ == Typ::Credential;
    let input = signing_input("EdDSA", typ, kid, zip, payload);
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64_encode(&sig.to_bytes()))
}

/// Checks that 32 bytes are the canonical encoding of a curve point that is not of small order.
fn canonical_point(bytes: &[u8; 32]) -> Result<curve25519_dalek::EdwardsPoint, &'static str> {
    let point = CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or("not a curve point")?;
    if !canonical_encoding(bytes) {
        return Err("non-canonical point encoding");
    }
    if point.is_small_order() {
        return Err("small-order point");
    }
    Ok(point)
}

/// Whether the encoding of a point that decompressed is the one `compress` gives back,
/// decided on the bytes (no field inversion): `y` below p = 2^255 - 19, and no sign bit on
/// the two points with `x = 0` (`y = 1` and `y = p - 1`). `tests/wycheproof.rs` and the unit
/// test below check it against `compress`.
fn canonical_encoding(bytes: &[u8; 32]) -> bool {
    let [first, middle @ .., last] = bytes;
    let y_top = last & 0x7f;
    let sign = last & 0x80 != 0;
    let all = |v: u8| middle.iter().all(|b| *b == v);
    // y >= p: every byte 0xff above the first, the top one 0x7f, the first at least 0xed.
    if y_top == 0x7f && all(0xff) && *first >= 0xed {
        return false;
    }
    // x = 0 encoded with the sign bit set.
    let y_is_one = *first == 1 && y_top == 0 && all(0);
    let y_is_minus_one = *first == 0xec && y_top == 0x7f && all(0xff);
    !(sign && (y_is_one || y_is_minus_one))
}

/// Checks a public key: canonical encoding of a point not of small order.
pub fn check_public_key(x: &[u8; 32]) -> Result<(), Error> {
    canonical_point(x)
        .map(|_| ())
        .map_err(|reason| Error::KeyInvalid { reason })
}

/// Strict Ed25519 verification, the one function every signature in Cellproof goes through
/// (JWS, trust lists, status lists, and the Wycheproof suite in `tests/wycheproof.rs`).
///
/// On top of ed25519-dalek's `verify_strict` (canonical S, small-order A and R refused) it
/// refuses a non-canonical encoding of A, which `verify_strict` would hash as given.
pub fn verify_ed25519_strict(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let pk: &[u8; 32] = public_key.try_into().map_err(|_| Error::KeyInvalid {
        reason: "public key is not 32 bytes",
    })?;
    let sig: &[u8; 64] = signature.try_into().map_err(|_| Error::SignatureInvalid {
        reason: "signature is not 64 bytes",
    })?;
    // The checks of `canonical_point`, in its order, on the key's one decompression.
    let key = VerifyingKey::from_bytes(pk).map_err(|_| Error::KeyInvalid {
        reason: "not a curve point",
    })?;
    if !canonical_encoding(pk) {
        return Err(Error::KeyInvalid {
            reason: "non-canonical point encoding",
        });
    }
    if key.is_weak() {
        return Err(Error::KeyInvalid {
            reason: "small-order point",
        });
    }
    key.verify_strict(message, &Signature::from_bytes(sig))
        .map_err(|_| Error::SignatureInvalid {
            reason: "strict Ed25519 verification failed",
        })
}

/// `[l]P == 0` with the variable-time ladder (the inputs are public): about half the cost of
/// curve25519-dalek's constant-time `is_torsion_free`. `-1 mod l` is represented by the integer
/// `l - 1`, which the ladder multiplies by as is, so `[l-1]P + P = [l]P`.
fn torsion_free(p: &curve25519_dalek::EdwardsPoint) -> bool {
    use curve25519_dalek::traits::IsIdentity as _;
    use curve25519_dalek::{EdwardsPoint, Scalar};
    let minus_one = -Scalar::ONE;
    (EdwardsPoint::vartime_double_scalar_mul_basepoint(&minus_one, p, &Scalar::ZERO) + p)
        .is_identity()
}

/// Whether a public key may go into a batch: canonical, not small-order, no torsion component
/// (on such keys the cofactorless batch equation could accept what single verification
/// rejects). Checked once per distinct key.
fn batchable_key(public_key: &[u8; 32]) -> Option<VerifyingKey> {
    let a = canonical_point(public_key).ok()?;
    if !torsion_free(&a) {
        return None;
    }
    VerifyingKey::from_bytes(public_key).ok()
}

/// Whether a signature may go into a batch: canonical S, and R canonical, not small-order and
/// torsion-free (strict verification rejects an R with a torsion component under a
/// torsion-free key, a random-coefficient batch would accept it with probability up to 1/2).
/// Pairs that fail this are still verified, one by one.
fn batchable_sig(signature: &[u8; 64]) -> Option<Signature> {
    let r_bytes: [u8; 32] = signature.get(..32)?.try_into().ok()?;
    let r = canonical_point(&r_bytes).ok()?;
    let s_bytes: [u8; 32] = signature.get(32..)?.try_into().ok()?;
    Option::<curve25519_dalek::Scalar>::from(curve25519_dalek::Scalar::from_canonical_bytes(
        s_bytes,
    ))?;
    if !torsion_free(&r) {
        return None;
    }
    Some(Signature::from_bytes(signature))
}

#[cfg(test)]
fn batchable(public_key: &[u8; 32], signature: &[u8; 64]) -> Option<(VerifyingKey, Signature)> {
    Some((batchable_key(public_key)?, batchable_sig(signature)?))
}

/// Verifies many signatures, sharing one Ed25519 batch verification among the batch-safe ones.
/// Returns exactly what [`verify_ed25519_strict`] would return for each item: pairs that are
/// not batch-safe are verified alone, and a failed batch falls back to one by one.
pub fn verify_ed25519_many(items: &[(&[u8], &[u8], &[u8])]) -> Vec<Result<(), Error>> {
    let mut results: Vec<Option<Result<(), Error>>> = vec![None; items.len()];
    let mut idx = Vec::new();
    let (mut msgs, mut sigs, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    // Issuers sign many credentials with one key: check each distinct key once.
    let mut key_cache: std::collections::BTreeMap<[u8; 32], Option<VerifyingKey>> =
        std::collections::BTreeMap::new();
    for (i, (pk, msg, sig)) in items.iter().enumerate() {
        let pair = <&[u8; 32]>::try_from(*pk)
            .ok()
            .zip(<&[u8; 64]>::try_from(*sig).ok())
            .and_then(|(pk, sig)| {
                let key = *key_cache.entry(*pk).or_insert_with(|| batchable_key(pk));
                key.zip(batchable_sig(sig))
            });
        match pair {
            Some((vk, s)) => {
                idx.push(i);
                msgs.push(*msg);
                sigs.push(s);
                keys.push(vk);
            }
            None => {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(verify_ed25519_strict(pk, msg, sig));
                }
            }
        }
    }
    // A batch of one costs more than a single verification.
    let batch_ok = idx.len() > 1 && ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok();
    for i in idx {
        if let (Some(slot), Some((pk, msg, sig))) = (results.get_mut(i), items.get(i)) {
            *slot = Some(if batch_ok {
                Ok(())
            } else {
                verify_ed25519_strict(pk, msg, sig)
            });
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or(Err(Error::SignatureInvalid {
                reason: "not verified",
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_encoding_agrees_with_compress() {
        use sha2::Digest as _;
        let mut cases: Vec<[u8; 32]> = Vec::new();
        // y = p .. 2^255 - 1 (non-canonical y), y = p - 1 and y = 1 (x = 0), y = 0, 2, with
        // and without the sign bit.
        for first in [0x00u8, 0x01, 0x02, 0xeb, 0xec, 0xed, 0xee, 0xf0, 0xff] {
            for (middle, top) in [(0xffu8, 0x7fu8), (0x00, 0x00)] {
                for sign in [0u8, 0x80] {
                    let mut b = [middle; 32];
                    b[0] = first;
                    b[31] = top | sign;
                    cases.push(b);
                }
            }
        }
        // And pseudo-random encodings, about half of which are points.
        for n in 0u32..4000 {
            cases.push(sha2::Sha256::digest(n.to_be_bytes()).into());
        }
        let mut points = 0;
        for b in &cases {
            if let Some(p) = CompressedEdwardsY(*b).decompress() {
                points += 1;
                assert_eq!(
                    canonical_encoding(b),
                    p.compress().as_bytes() == b,
                    "{b:02x?}"
                );
            }
        }
        assert!(points > 1500, "{points}");
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn craft(header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            b64_encode(header.as_bytes()),
            b64_encode(payload.as_bytes())
        );
        let sig = key().sign(input.as_bytes());
        format!("{input}.{}", b64_encode(&sig.to_bytes()))
    }

    #[test]
    fn signs_and_verifies_with_and_without_deflate() {
        let pk = key().verifying_key().to_bytes();
        for zip in [false, true] {
            let jws = sign(Typ::Credential, "k1", br#"{"iss":"x"}"#, &key(), zip);
            let v = Jws::parse(&jws, Typ::Credential, 8192)
                .unwrap()
                .verify(&pk)
                .unwrap();
            assert_eq!(v.payload()["iss"], "x");
            assert_eq!(v.header().deflated, zip);
        }
    }

    #[test]
    fn refuses_header_profile_violations() {
        let cases = [
            (
                r#"{"alg":"none","kid":"k","typ":"bp+jwt"}"#,
                "alg_unsupported",
            ),
            (
                r#"{"alg":"ES256","kid":"k","typ":"bp+jwt"}"#,
                "alg_unsupported",
            ),
            (
                r#"{"alg":"EdDSA","kid":"k","typ":"vc+jwt"}"#,
                "typ_unexpected",
            ),
            (r#"{"alg":"EdDSA","kid":"k"}"#, "typ_unexpected"),
            (r#"{"alg":"EdDSA","typ":"bp+jwt"}"#, "kid_missing"),
            (
                r#"{"alg":"EdDSA","kid":"k","typ":"bp+jwt","crit":["b64"]}"#,
                "header_forbidden",
            ),
            (
                r#"{"alg":"EdDSA","kid":"k","typ":"bp+jwt","jwk":{}}"#,
                "header_forbidden",
            ),
            (
                r#"{"alg":"EdDSA","kid":"k","typ":"bp+jwt","zip":"GZ"}"#,
                "zip_unsupported",
            ),
            (
                r#"{"alg":"EdDSA","kid":"k","typ":"bp+jwt","alg":"EdDSA"}"#,
                "json_duplicate_member",
            ),
        ];
        for (h, code) in cases {
            let e = Jws::parse(&craft(h, "{}"), Typ::Credential, 8192).unwrap_err();
            assert_eq!(e.code(), code, "{h}");
        }
        // zip is allowed only on credentials.
        let h = r#"{"alg":"EdDSA","kid":"k","typ":"vc+jwt","zip":"DEF"}"#;
        assert_eq!(
            Jws::parse(&craft(h, "{}"), Typ::Vc, 8192)
                .unwrap_err()
                .code(),
            "zip_unsupported"
        );
    }

    #[test]
    fn refuses_non_minimal_base64url() {
        let good = sign(Typ::Credential, "k1", b"{}", &key(), false);
        let (h, rest) = good.split_once('.').unwrap();
        for bad in [
            format!("{h}=.{rest}"),
            format!("{h}+.{rest}"),
            format!("{h}/.{rest}"),
        ] {
            let e = Jws::parse(&bad, Typ::Credential, 8192).unwrap_err();
            assert_eq!(e.code(), "base64url_invalid", "{bad}");
        }
        // Non-zero trailing bits: "e30" is "{}"; "e31" decodes to the same bytes non-minimally.
        assert_eq!(b64_decode("e30", "payload").unwrap(), b"{}");
        assert!(b64_decode("e31", "payload").is_err());
        assert_eq!(
            Jws::parse("a.b", Typ::Credential, 8192).unwrap_err().code(),
            "jws_malformed"
        );
        assert_eq!(
            Jws::parse("a.b.c.d", Typ::Credential, 8192)
                .unwrap_err()
                .code(),
            "jws_malformed"
        );
    }

    #[test]
    fn refuses_oversized_inflate() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_INFLATED));
        let jws = sign(Typ::Credential, "k1", big.as_bytes(), &key(), true);
        assert!(jws.len() < 1000, "compresses well");
        assert_eq!(
            Jws::parse(&jws, Typ::Credential, 8192).unwrap_err().code(),
            "inflate_too_large"
        );
    }

    #[test]
    fn tampered_payload_fails_signature() {
        let pk = key().verifying_key().to_bytes();
        let jws = sign(Typ::Credential, "k1", br#"{"a":1}"#, &key(), false);
        let parts: Vec<&str> = jws.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64_encode(br#"{"a":2}"#), parts[2]);
        let e = Jws::parse(&forged, Typ::Credential, 8192)
            .unwrap()
            .verify(&pk)
            .unwrap_err();
        assert_eq!(e.code(), "signature_invalid");
    }

    #[test]
    fn mixed_order_keys_stay_out_of_batches() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        let a = CompressedEdwardsY(key().verifying_key().to_bytes())
            .decompress()
            .unwrap();
        // A + T for T of order 8: canonical and not small-order, but not torsion-free.
        let mixed = (a + EIGHT_TORSION[1]).compress().to_bytes();
        assert!(check_public_key(&mixed).is_ok());
        let sig = key().sign(b"m").to_bytes();
        assert!(batchable(&key().verifying_key().to_bytes(), &sig).is_some());
        assert!(batchable(&mixed, &sig).is_none());
    }

    #[test]
    fn vartime_torsion_check_agrees_with_dalek() {
        use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
        use curve25519_dalek::Scalar;
        for i in 1u64..40 {
            let p = ED25519_BASEPOINT_POINT * Scalar::from(i * 7919 + 3);
            for t in EIGHT_TORSION {
                let q = p + t;
                assert_eq!(torsion_free(&q), q.is_torsion_free());
                assert_eq!(torsion_free(&t), t.is_torsion_free());
            }
        }
    }

    #[test]
    fn many_equals_one_by_one() {
        let pk = key().verifying_key().to_bytes();
        let good = key().sign(b"a").to_bytes();
        let mut bad = good;
        bad[0] ^= 1;
        let items: Vec<(&[u8], &[u8], &[u8])> = vec![
            (&pk, b"a", &good),
            (&pk, b"b", &good),
            (&pk, b"a", &bad),
            (&pk, b"a", &good[..63]),
        ];
        let many = verify_ed25519_many(&items);
        let single: Vec<_> = items
            .iter()
            .map(|(p, m, s)| verify_ed25519_strict(p, m, s))
            .collect();
        assert_eq!(many, single);
        assert!(many[0].is_ok() && many[1].is_err());
    }
}
