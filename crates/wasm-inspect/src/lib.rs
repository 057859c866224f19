//! The inspector's module in the browser (SPEC.md sections 6.3 and 6.4): a thin wasm-bindgen
//! binding over `cellproof-core` that the page loads only in inspector mode, so the verifier
//! module a consumer downloads (`crates/wasm`) stays as small as it was (docs/web.md,
//! "Modules"). It holds its own copy of the page's verified lists ([`Inspector`], built from
//! the pinned roots and the verifier's `held()` lists, every list checked again on the way in)
//! and offers what only inspectors need: finding the device key's enrolment, verifying
//! restricted sections against the battery's passport, composing signed requests, and drafting,
//! signing and packing inspection reports (`docs/inspection.md`).
//!
//! An inspector's key is made on the device. Where the browser has WebCrypto Ed25519 the page
//! keeps a non-extractable key and signs the signing input built here (`jwsSigningInput`, then
//! `jwsAssemble`; `ReportDraft.signingInput`, then `assemble`); elsewhere the page keeps 32
//! random bytes in IndexedDB and the core signs with them (`deviceKeySign`,
//! `ReportDraft.sealWithSecret`). The page itself never writes JWS text. Like the verifier
//! binding, nothing here reads a clock or draws randomness: the page passes both in.

use cellproof_core::{
    Artifacts, EvidencePack, Hint, JsonInt, PassportChain, Photo, PublicKey, StatusStore,
    TrustStore, Typ, UnixTime, Via,
};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// The page's verified lists, again: pinned roots and the lists the verifier module held.
#[wasm_bindgen]
#[derive(Default)]
pub struct Inspector {
    trust: TrustStore,
    status: StatusStore,
}

#[wasm_bindgen]
impl Inspector {
    /// Pins `roots_json` (`[{"eco", "root": JWK}]`, as the page stores them) and loads
    /// `held_json` (`{"trustLists": [...], "statusLists": [...]}`, the verifier's `held()`):
    /// every list is verified again here; what fails is left out, as in the verifier.
    #[wasm_bindgen(constructor)]
    pub fn new(roots_json: &str, held_json: &str) -> Inspector {
        let (trust, status) = cellproof_core::stores_from_held(roots_json, held_json);
        Inspector { trust, status }
    }

    /// `max(now_secs, newest iat or validFrom held)`: the clock floor (SPEC.md section 5).
    #[wasm_bindgen(js_name = effectiveNow)]
    pub fn effective_now(&self, now_secs: f64) -> u64 {
        cellproof_core::Context::new(&self.trust, &self.status, unix(now_secs)).effective_now()
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_INSPECTOR_TYPES: &'static str = r#"
/** An integer: a JSON number up to 2^53 - 1, a decimal string beyond it. */
export type Int = number | string;
/** The trust-list entity holding a public key (`Inspector.entityByKey`). */
export interface KeyHolder {
  id: string;
  name: string;
  roles: string[];
  eco: string;
  /** "pinned", or "recognized" (then `by` names the recognising ecosystem). */
  via: string;
  by: string | null;
  /** The key's `kid` in the trust list. */
  kid: string | null;
  /** The trust list's `seq` and `iss` (the authority that enrolled the key). */
  seq: Int;
  listIssuer: string;
}

/** A sealed inspection report and its one-file export (`docs/inspection.md`). */
export interface SealedReport {
  /** The report, a compact `vc+jwt`. */
  report: string;
  /** base64url SHA-256 of the report. */
  digest: string;
  /** The evidence pack with the report in it (`cellproof-evidence-pack/1`): the file to export. */
  file: string;
  /** The verdict summary the report records. */
  verdict: Record<string, unknown>;
  /** How many artifacts the report names. */
  evidence: number;
}

/** One restricted section after `Inspector.verifyRestricted` (SPEC.md section 6.3). */
export interface RestrictedCheck {
  ok: boolean;
  /** Stable code of a refusal (docs/error-codes.md), else null. */
  code: string | null;
  /** English sentence for logs only. */
  message: string | null;
  section: {
    tier: "legitimate-interest" | "authority";
    issuer: string;
    eco: string;
    validFrom: Int;
    /** base64url SHA-256 of the compact JWS. */
    digest: string;
    /** The section's `credentialSubject`, as signed. */
    subject: Record<string, unknown>;
  } | null;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A `KeyHolder | null`.
    #[wasm_bindgen(typescript_type = "KeyHolder | null")]
    pub type JsKeyHolder;
    /// A `SealedReport`.
    #[wasm_bindgen(typescript_type = "SealedReport")]
    pub type JsSealedReport;
    /// A `RestrictedCheck[]`.
    #[wasm_bindgen(typescript_type = "RestrictedCheck[]")]
    pub type JsRestrictedChecks;
}

#[wasm_bindgen]
impl Inspector {
    /// Verifies restricted sections (SPEC.md section 6.3) before the page shows them:
    /// `sections` are the compact JWS the registry returned, `passport` the battery's current
    /// passport version, which the page verified with the label first (its `passport` stage
    /// passed). One result per section, `{ok, code, message, section}`: a section by another
    /// issuer, about another battery, or not verifiable against the held trust lists is
    /// refused with its code and never shown.
    #[wasm_bindgen(js_name = verifyRestricted)]
    pub fn verify_restricted(
        &self,
        sections: Vec<String>,
        passport: &str,
        now_secs: f64,
    ) -> JsRestrictedChecks {
        let now = self.effective_now(now_secs);
        let out: Vec<RestrictedCheck> = sections
            .iter()
            .map(
                |s| match cellproof_core::verify_restricted(s, passport, &self.trust, now) {
                    Ok(r) => RestrictedCheck {
                        ok: true,
                        code: None,
                        message: None,
                        section: Some(RestrictedJson {
                            tier: r.tier.as_str(),
                            issuer: r.issuer,
                            eco: r.eco,
                            valid_from: JsonInt(r.valid_from),
                            digest: r.digest,
                            subject: Value::Object(r.subject),
                        }),
                    },
                    Err(e) => RestrictedCheck {
                        ok: false,
                        code: Some(e.code()),
                        message: Some(e.to_string()),
                        section: None,
                    },
                },
            )
            .collect();
        to_js(&out).unchecked_into()
    }
}

#[wasm_bindgen]
impl Inspector {
    /// Starts an inspection report of one scan (SPEC.md section 6.4, `docs/inspection.md`):
    /// verifies `input` with the passport chain (as `verifyWithChain`) at `now_secs`, and
    /// keeps the verdict and every artifact it used (the credential, the chain, the held trust
    /// lists, the status lists it points at). `inspector` is the inspector's DID, `kid` its key
    /// id as enrolled, `hints_json` the session's hints `[{code, message}]`. Photos are added
    /// to the draft, then it is signed: with WebCrypto (`signingInput`, then `assemble`) or
    /// with a device key held as bytes (`sealWithSecret`). Throws a stable code.
    #[wasm_bindgen(js_name = draftReport)]
    pub fn draft_report(
        &self,
        input: &str,
        now_secs: f64,
        chain_json: Option<String>,
        inspector: &str,
        kid: &str,
        hints_json: &str,
    ) -> Result<ReportDraft, JsError> {
        let chain = chain_json
            .as_deref()
            .map(|text| PassportChain::from_json(text).unwrap_or_default());
        let mut ctx = cellproof_core::Context::new(&self.trust, &self.status, unix(now_secs));
        ctx.chain = chain.as_ref();
        let verdict = cellproof_core::verify(input, &ctx);
        let artifacts = Artifacts::used(input, &verdict, &self.trust, &self.status, chain.as_ref());
        let hints: Vec<Hint> = match serde_json::from_str::<Value>(hints_json) {
            Ok(Value::Array(a)) => a
                .iter()
                .filter_map(|h| {
                    Some(Hint {
                        code: h.get("code")?.as_str()?.to_owned(),
                        message: h.get("message")?.as_str()?.to_owned(),
                    })
                })
                .collect(),
            _ => return Err(JsError::new("report_invalid")),
        };
        if inspector.is_empty() || kid.is_empty() {
            return Err(JsError::new("role_missing"));
        }
        Ok(ReportDraft {
            inspector: inspector.to_owned(),
            kid: kid.to_owned(),
            artifacts,
            verdict,
            hints,
            now: unix(now_secs),
            payload: None,
        })
    }

    /// The entity of an accepted trust list that lists the Ed25519 public key `x` (base64url),
    /// or `null`: how an inspector's page learns that its device key was enrolled, and by whom.
    /// Entities of pinned ecosystems come first (SPEC.md section 4: one home).
    #[wasm_bindgen(js_name = entityByKey)]
    pub fn entity_by_key(&self, x: &str) -> JsKeyHolder {
        let mut found: Option<KeyHolder> = None;
        for (list, via) in self.trust.accepted() {
            for e in &list.entities {
                let Some(k) = e
                    .keys
                    .iter()
                    .find(|k| cellproof_core::b64_encode(&k.x) == x)
                else {
                    continue;
                };
                let (via_name, by) = match via {
                    Via::Pinned => ("pinned", None),
                    Via::Recognized { by } => ("recognized", Some(by.clone())),
                };
                let holder = KeyHolder {
                    id: e.id.clone(),
                    name: e.name.clone(),
                    roles: e.roles.clone(),
                    eco: list.eco.clone(),
                    via: via_name,
                    by,
                    kid: k.kid.clone(),
                    seq: JsonInt(list.seq),
                    list_issuer: list.iss.clone(),
                };
                if found.as_ref().is_none_or(|f| f.via != "pinned") {
                    found = Some(holder);
                }
            }
        }
        match found {
            Some(h) => to_js(&h).unchecked_into(),
            None => JsValue::NULL.unchecked_into(),
        }
    }
}

/// The JWS signing input `BASE64URL(header) "." BASE64URL(payload)` for a device signature
/// (SPEC.md section 1): `typ` is `registry-request+jwt` or `vc+jwt`, the header
/// `{"alg": "EdDSA", "kid", "typ"}`, the payload strict JSON (an object, no duplicate members).
/// `undefined` for another `typ`, an empty `kid` or a payload that is not such JSON.
#[wasm_bindgen(js_name = jwsSigningInput)]
pub fn jws_signing_input(typ: &str, kid: &str, payload_json: &str) -> Option<String> {
    signing_input(typ, kid, payload_json)
}

fn signing_input(typ: &str, kid: &str, payload_json: &str) -> Option<String> {
    let typ = [Typ::RegistryRequest, Typ::Vc]
        .into_iter()
        .find(|t| t.as_str() == typ)?;
    if kid.is_empty() || kid.len() > 256 {
        return None;
    }
    let payload = cellproof_core::parse_object(payload_json.as_bytes()).ok()?;
    let header = serde_json::json!({"alg": "EdDSA", "kid": kid, "typ": typ.as_str()});
    let payload = Value::Object(payload).to_string();
    Some(format!(
        "{}.{}",
        cellproof_core::b64_encode(header.to_string().as_bytes()),
        cellproof_core::b64_encode(payload.as_bytes())
    ))
}

/// The compact JWS from a signing input and its 64-byte Ed25519 signature (made by WebCrypto
/// with the device's non-extractable key); `undefined` when the signature is not 64 bytes or
/// the input is not two base64url parts.
#[wasm_bindgen(js_name = jwsAssemble)]
pub fn jws_assemble(signing_input: &str, signature: &[u8]) -> Option<String> {
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut parts = signing_input.split('.');
    let (Some(h), Some(p), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if signature.len() != 64 || !ok_part(h) || !ok_part(p) {
        return None;
    }
    Some(format!(
        "{signing_input}.{}",
        cellproof_core::b64_encode(signature)
    ))
}

/// The public JWK (JSON text, with `kid`) of a device key kept as 32 secret bytes (the
/// fallback where WebCrypto has no Ed25519); `undefined` unless `secret` is 32 bytes.
#[wasm_bindgen(js_name = deviceKeyPublic)]
pub fn device_key_public(secret: &[u8], kid: &str) -> Option<String> {
    let secret: [u8; 32] = secret.try_into().ok()?;
    Some(
        cellproof_core::KeyPair::from_secret(kid, &secret)
            .public()
            .to_jwk()
            .to_string(),
    )
}

/// Signs `payload_json` as a compact JWS of `typ` (as [`jws_signing_input`]) with a device
/// key kept as 32 secret bytes; `undefined` when the secret, `typ`, `kid` or payload is not
/// acceptable. The secret stays in the page's IndexedDB; nothing here keeps it.
#[wasm_bindgen(js_name = deviceKeySign)]
pub fn device_key_sign(secret: &[u8], typ: &str, kid: &str, payload_json: &str) -> Option<String> {
    let secret: [u8; 32] = secret.try_into().ok()?;
    let typ = [Typ::RegistryRequest, Typ::Vc]
        .into_iter()
        .find(|t| t.as_str() == typ)?;
    if kid.is_empty() || kid.len() > 256 {
        return None;
    }
    let payload = cellproof_core::parse_object(payload_json.as_bytes()).ok()?;
    let key = cellproof_core::KeyPair::from_secret(kid, &secret);
    Some(cellproof_core::sign_json(
        typ,
        &Value::Object(payload),
        &key,
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyHolder {
    id: String,
    name: String,
    roles: Vec<String>,
    eco: String,
    via: &'static str,
    by: Option<String>,
    kid: Option<String>,
    seq: JsonInt,
    list_issuer: String,
}

#[derive(Serialize)]
struct RestrictedCheck {
    ok: bool,
    code: Option<&'static str>,
    message: Option<String>,
    section: Option<RestrictedJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RestrictedJson {
    tier: &'static str,
    issuer: String,
    eco: String,
    valid_from: JsonInt,
    digest: String,
    subject: Value,
}

/// An inspection report being made (`Inspector.draftReport`): the verdict, its artifacts and
/// the photos added, until it is signed. Nothing in it is secret; the key never enters it
/// except as the argument of `sealWithSecret`.
#[wasm_bindgen]
pub struct ReportDraft {
    inspector: String,
    kid: String,
    artifacts: Artifacts,
    verdict: cellproof_core::Verdict,
    hints: Vec<Hint>,
    now: UnixTime,
    payload: Option<Value>,
}

#[wasm_bindgen]
impl ReportDraft {
    /// Adds a photo (of the label, the battery); returns its base64url SHA-256. Throws
    /// `report_invalid` once the payload was made, or for a photo over 8 MiB.
    #[wasm_bindgen(js_name = addPhoto)]
    pub fn add_photo(&mut self, media_type: &str, bytes: &[u8]) -> Result<String, JsError> {
        if self.payload.is_some() || bytes.len() > cellproof_core::MAX_PHOTO {
            return Err(JsError::new("report_invalid"));
        }
        self.artifacts.photos.push(Photo {
            media_type: media_type.to_owned(),
            bytes: bytes.to_vec(),
        });
        Ok(cellproof_core::sha256_b64(bytes))
    }

    /// The JWS signing input of the report (its payload is fixed from here on): sign its ASCII
    /// bytes with the inspector's Ed25519 key and pass the signature to `assemble`.
    #[wasm_bindgen(js_name = signingInput)]
    pub fn signing_input(&mut self) -> Result<String, JsError> {
        let payload = self.payload()?;
        Ok(cellproof_core::report_signing_input(&payload, &self.kid))
    }

    /// The report from the signature over `signingInput()`, checked under the inspector's
    /// public JWK (JSON text) before it is returned, with the one-file export.
    pub fn assemble(
        &mut self,
        signature: &[u8],
        public_jwk_json: &str,
    ) -> Result<JsSealedReport, JsError> {
        let payload = self.payload()?;
        let public = serde_json::from_str::<Value>(public_jwk_json)
            .map_err(|_| JsError::new("key_invalid"))
            .and_then(|v| PublicKey::from_jwk(&v).map_err(|e| JsError::new(e.code())))?;
        let input = cellproof_core::report_signing_input(&payload, &self.kid);
        let report = cellproof_core::assemble_report(&input, signature, &public)
            .map_err(|e| JsError::new(e.code()))?;
        Ok(self.sealed(report))
    }

    /// Signs with a device key held as 32 secret bytes (where WebCrypto has no Ed25519).
    #[wasm_bindgen(js_name = sealWithSecret)]
    pub fn seal_with_secret(&mut self, secret: &[u8]) -> Result<JsSealedReport, JsError> {
        let payload = self.payload()?;
        let secret: [u8; 32] = secret.try_into().map_err(|_| JsError::new("key_invalid"))?;
        let key = cellproof_core::KeyPair::from_secret(&self.kid, &secret);
        Ok(self.sealed(cellproof_core::seal_report(&payload, &key)))
    }
}

impl ReportDraft {
    fn payload(&mut self) -> Result<Value, JsError> {
        if let Some(p) = &self.payload {
            return Ok(p.clone());
        }
        let p = cellproof_core::report_payload(
            &self.inspector,
            &self.artifacts,
            &self.verdict,
            &self.hints,
            self.now,
        )
        .map_err(|e| JsError::new(e.code()))?;
        self.payload = Some(p.clone());
        Ok(p)
    }

    fn sealed(&self, report: String) -> JsSealedReport {
        let evidence = self
            .payload
            .as_ref()
            .and_then(|p| p.pointer("/credentialSubject/evidence"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let file = EvidencePack::new(Some(&report), &self.artifacts).to_json();
        let dto = SealedJson {
            digest: cellproof_core::sha256_b64(report.as_bytes()),
            report,
            file,
            verdict: cellproof_core::verdict_summary(&self.verdict),
            evidence,
        };
        to_js(&dto).unchecked_into()
    }
}

#[derive(Serialize)]
struct SealedJson {
    report: String,
    digest: String,
    file: String,
    verdict: Value,
    evidence: usize,
}

// ---- the edge ----

/// Serialises a DTO as a plain JS object (maps as objects, `None` as `null`).
fn to_js<T: Serialize>(value: &T) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    // Plain data only; integers that may exceed 2^53 are `JsonInt`s. Should serialisation
    // ever fail, the page gets `undefined` and says so.
    value.serialize(&ser).unwrap_or(JsValue::UNDEFINED)
}

/// JS numbers to Unix seconds; NaN, negatives and infinities become 0 (the clock floor then
/// decides the time used).
fn unix(now_secs: f64) -> UnixTime {
    UnixTime::from_js_secs(now_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cellproof_core::{b64_decode, Jws, ParsedRequest};

    const SECRET: [u8; 32] = [7; 32];

    fn read_payload() -> String {
        r#"{"iss":"did:web:msa.example","iat":1700000000,"jti":"j-1","aud":"https://registry.example","op":"read","item":"01/04012345000016/21/S1","tier":"authority"}"#.to_owned()
    }

    #[test]
    fn a_webcrypto_signature_over_the_signing_input_makes_the_same_request_as_the_core() {
        // Ed25519 is deterministic: the core's one-step signature and the two-step path
        // (signing input here, signature elsewhere, assembled here) must give the same text.
        let jws = device_key_sign(&SECRET, "registry-request+jwt", "kid-1", &read_payload())
            .expect("signed");
        let input =
            jws_signing_input("registry-request+jwt", "kid-1", &read_payload()).expect("input");
        let sig = b64_decode(jws.rsplit('.').next().unwrap(), "signature").unwrap();
        assert_eq!(jws_assemble(&input, &sig).as_deref(), Some(jws.as_str()));
        // It is a well-formed registry request whose signature verifies under the device key.
        let parsed = ParsedRequest::parse(&jws).expect("parses");
        assert_eq!(parsed.kid(), "kid-1");
        let public: Value =
            serde_json::from_str(&device_key_public(&SECRET, "kid-1").unwrap()).unwrap();
        let pk = PublicKey::from_jwk(&public).unwrap();
        Jws::parse(&jws, Typ::RegistryRequest, 64 * 1024)
            .unwrap()
            .verify(&pk.x)
            .expect("signature verifies");
    }

    #[test]
    fn what_cannot_be_signed_is_refused_not_signed() {
        let p = read_payload();
        // Only the two artifact types an inspector signs.
        assert_eq!(jws_signing_input("trust-list+jwt", "k", &p), None);
        assert_eq!(jws_signing_input("bp+jwt", "k", &p), None);
        assert_eq!(device_key_sign(&SECRET, "audit-head+jwt", "k", &p), None);
        // A key id is required and bounded.
        assert_eq!(jws_signing_input("vc+jwt", "", &p), None);
        assert_eq!(jws_signing_input("vc+jwt", &"k".repeat(257), &p), None);
        // Strict JSON: duplicate members, arrays at the top, garbage.
        assert_eq!(jws_signing_input("vc+jwt", "k", r#"{"a":1,"a":2}"#), None);
        assert_eq!(jws_signing_input("vc+jwt", "k", "[1]"), None);
        assert_eq!(device_key_sign(&SECRET, "vc+jwt", "k", "{"), None);
        // Secrets are 32 bytes; signatures 64; signing inputs two base64url parts.
        assert_eq!(device_key_sign(&[1; 31], "vc+jwt", "k", &p), None);
        assert_eq!(device_key_public(&[1; 33], "k"), None);
        let input = jws_signing_input("vc+jwt", "k", &p).unwrap();
        assert_eq!(jws_assemble(&input, &[0; 63]), None);
        assert_eq!(jws_assemble("a.b.c", &[0; 64]), None);
        assert_eq!(jws_assemble("a+b.c", &[0; 64]), None);
        assert_eq!(jws_assemble(".c", &[0; 64]), None);
    }
}
