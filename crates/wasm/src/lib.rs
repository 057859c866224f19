//! The browser binding of Cellproof's verifier: one handle type ([`Verifier`]) over the core's
//! trust and status stores (SPEC.md sections 2, 4, 5, 7). The QR decoder is a separate module
//! (`crates/wasm-decode`), so a consumer who only opens a battery URL never downloads it.
//!
//! The binding is deliberately thin (ruff's `ruff_wasm` shape): it owns no verification logic.
//! Results cross into JS as plain objects built from serde DTOs defined here, separate from the
//! core's types so the JS contract does not move when the core's internals do; core errors are
//! turned into `{ ok: false, code }` once, at this edge, and the page translates the stable
//! codes. Nothing here reads a clock: the page passes `Date.now()` in, so the binding stays as
//! deterministic as the core. The TypeScript declarations below describe every returned object,
//! so `pkg/cellproof_wasm.d.ts` is usable by integrators without this repository.

use cellproof_core::{
    Accepted, AgeJson, Error, JsonInt, PassportChain, PublicKey, StatusStore, TrustStore, UnixTime,
    VerdictJson, Via, CODES, CSV_COLUMNS, RECYCLED_MINIMUMS,
};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Overall answer (SPEC.md section 7). `unverifiable` is never to be shown as genuine. */
export type Overall = "valid" | "invalid" | "unverifiable";

/** An integer: a JSON number up to 2^53 - 1, a decimal string beyond it (a signed credential
 * may carry any u64; docs/verdict-json.md). */
export type Int = number | string;

export interface StageEntry {
  stage: "decode" | "resolve" | "signature" | "trust" | "binding" | "time" | "status" | "passport" | "attestations";
  outcome: "passed" | "failed" | "skipped" | "not_checked" | "notice";
  /** Stable code of a failure or notice (docs/error-codes.md), else null. */
  code: string | null;
}

export interface Claims {
  iss: string;
  iat: Int;
  exp: Int | null;
  /** `01/{gtin}/21/{serial}` */
  sub: string;
  gtin: string;
  serial: string;
  /** `{listId}/{index}` */
  st: string | null;
  /** The public passport summary `bp`, members as signed (SPEC.md section 2). */
  bp: Record<string, unknown>;
}

export interface IssuerEntry {
  id: string;
  name: string;
  eco: string;
  recognizedBy: string | null;
  /** e.g. "catena-x, recognised by ouranos" */
  path: string;
  reg: { scheme: string; id: string } | null;
  roles: string[];
  kid: string;
}

export interface StatusEntry {
  purpose: "revocation" | "suspension" | "refresh" | "lifecycle";
  /** `ceased`: the lifecycle list says recycled (SPEC.md 1.2 section 3.4). */
  state: "ok" | "revoked" | "suspended" | "superseded" | "unknown" | "stale" | "not_checked" | "ceased";
  list: string;
  index: Int;
  /** Seconds since the list's validFrom, when a list was used. */
  age: Int | null;
}

export interface DataAge {
  kind: "trust_list" | "status_list";
  /** Ecosystem or status list URL. */
  id: string;
  issued: Int;
  age: Int;
  expires: Int | null;
  stale: boolean;
}

/** The one verdict shape (core `VerdictJson`): `cellproof verify --json` prints the same
 * (docs/verdict-json.md). */
export interface Verdict {
  overall: Overall;
  /** Deciding code, null when valid. */
  code: string | null;
  /** English sentence for logs only; interfaces translate `code`. */
  message: string | null;
  stages: StageEntry[];
  claims: Claims | null;
  scanned: { gtin: string; serial: string; path: string } | null;
  issuer: IssuerEntry | null;
  status: StatusEntry[];
  /** Notice codes: superseded, status_stale (optional purpose), clock_floor. */
  notices: string[];
  data: DataAge[];
  /** The time used as now, after the clock floor (Unix seconds). */
  now: Int;
  /** The full passport, when its chain was given and verified (SPEC.md section 3.1). */
  passport?: PassportSummary;
  /** One result per attestation listing and declared claim (SPEC.md sections 3.3, 7). */
  attestations: AttestationEntry[];
  /** The label form read (SPEC.md 2.1), null when the text is no label. */
  label: { form: "untp-link" | "cellproof" | "digital-link" | "digital-link-compressed" | "element-string" | "jws"; identifier: string | null; attributes: Record<string, string> } | null;
  /** Where the credential the verdict is about came from (SPEC.md 7, 1.2); absent on a
   * verdict about the label's own credential. */
  source?: { kind: "embedded" | "resolved" | "backup" | "held"; url?: string };
  /** The issuer's DID when no accepted trust list names it (did:web, SPEC.md 2.2). */
  issuerDid?: string;
  /** The battery's life after its first use, when its lifecycle list was held (SPEC.md 1.2
   * section 3.4); the other members from the verified event in the passport chain. */
  lifecycle?: Lifecycle;
  /** A successor passport's originals, one entry per predecessor (SPEC.md 1.2 section 3.4). */
  lineage?: LineageEntry[];
}

export interface Lifecycle {
  status: "original" | "repurposed" | "reused" | "remanufactured" | "waste" | "recycled";
  /** The event's `id` (urn:uuid). */
  event?: string;
  /** RFC 3339. */
  eventDate?: string;
  /** The successor passports' Digital Link URLs. */
  successor?: string[];
  responsibleParty?: { id: string; name: string; role: "producer" | "pro" | "waste-operator" };
}

export interface LineageEntry {
  /** The original's Digital Link URL. */
  id: string;
  passportIdentifier: string;
  outcome: "verified" | "not_checked" | "failed";
  /** Stable code of a failure (docs/error-codes.md). */
  code?: string;
  issuer?: string;
  issuerName?: string;
}

export interface PassportSummary {
  version: Int;
  passportIdentifier?: string;
  /** base64url SHA-256 of each version's compact JWS, oldest first. */
  digests: string[];
  /** The current version's `credentialSubject`, as signed. */
  subject: Record<string, unknown>;
}

export interface AttestationEntry {
  topic: string;
  materials: string[];
  subject?: string;
  outcome: "verified" | "declared" | "not_checked" | "failed";
  /** Stable code of a failure (docs/error-codes.md). */
  code?: string;
  /** English sentence for logs only; interfaces translate `code`. */
  message?: string;
  issuer?: string;
  issuerName?: string;
  eco?: string;
  path?: string;
  validUntil?: Int;
  digest?: string;
}

export interface LoadResult {
  ok: boolean;
  /** Stable code when refused. */
  code: string | null;
  kind: "root" | "trust_list" | "status_list";
  /** Ecosystem (roots, trust lists) or list URL (status lists). */
  id: string | null;
  seq: Int | null;
  /** "pinned", "recognized" for trust lists. */
  via: string | null;
  by: string | null;
  unchanged: boolean;
}

export interface BundleReport {
  ok: boolean;
  /** `bundle_invalid` when the JSON is not a bundle. */
  code: string | null;
  trust: LoadResult[];
  status: LoadResult[];
}

export interface HeldState {
  trustLists: string[];
  statusLists: string[];
}

/** A document's bytes against its link object's `hashDigest` (SPEC.md section 3.2). */
export interface DocumentCheck {
  ok: boolean;
  /** `document_digest_mismatch` when the bytes hash otherwise, else null. */
  code: string | null;
  /** base64url SHA-256 of the bytes given. */
  digest: string;
}

export interface CodeInfo { code: string; stage: string; class: "invalid" | "unverifiable" | "notice"; }
export interface RecycledMinimum { element: string; min2031: number; min2036: number; }

/** One element of a battery's recycled content beside its Art. 8 minimums (`recycledContent`):
 * information, never a verification failure (SPEC.md section 2). */
export interface RecycledShare {
  element: string;
  /** Pre- plus post-consumer share, in percent. */
  total: number;
  /** False for the lead minimum on a battery whose chemistry does not name lead. */
  applies: boolean;
  min2031: number;
  min2036: number;
  /** Whether `total` reaches the minimum (always true when it does not apply). */
  meets2031: boolean;
  meets2036: boolean;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A `Verdict` object (TypeScript type above).
    #[wasm_bindgen(typescript_type = "Verdict")]
    pub type JsVerdict;
    /// A `Verdict[]`.
    #[wasm_bindgen(typescript_type = "Verdict[]")]
    pub type JsVerdicts;
    /// A `LoadResult`.
    #[wasm_bindgen(typescript_type = "LoadResult")]
    pub type JsLoadResult;
    /// A `BundleReport`.
    #[wasm_bindgen(typescript_type = "BundleReport")]
    pub type JsBundleReport;
    /// A `HeldState`.
    #[wasm_bindgen(typescript_type = "HeldState")]
    pub type JsHeldState;
    /// A `DataAge[]`.
    #[wasm_bindgen(typescript_type = "DataAge[]")]
    pub type JsDataAges;
    /// A `CodeInfo[]`.
    #[wasm_bindgen(typescript_type = "CodeInfo[]")]
    pub type JsCodeInfos;
    /// A `DocumentCheck`.
    #[wasm_bindgen(typescript_type = "DocumentCheck")]
    pub type JsDocumentCheck;
    /// A `RecycledMinimum[]`.
    #[wasm_bindgen(typescript_type = "RecycledMinimum[]")]
    pub type JsRecycledMinimums;
    /// A `RecycledShare[]`.
    #[wasm_bindgen(typescript_type = "RecycledShare[]")]
    pub type JsRecycledShares;
}

/// Pinned roots, verified trust lists and verified status lists, and verification against them.
///
/// Lists enter only through the core's checks (signature by a pinned or recognised root, no
/// rollback), so whatever [`Verifier::held`] returns is safe to persist and to load again on the
/// next start, which also restores the clock floor (SPEC.md section 5).
#[wasm_bindgen]
#[derive(Default)]
pub struct Verifier {
    trust: TrustStore,
    status: StatusStore,
}

#[wasm_bindgen]
impl Verifier {
    /// An empty verifier: no roots, no lists. Every verdict is `unverifiable` until data arrives.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Pins an ecosystem root given as a public JWK in JSON text.
    #[wasm_bindgen(js_name = pinRoot)]
    pub fn pin_root(&mut self, eco: &str, jwk_json: &str) -> JsLoadResult {
        let result = serde_json::from_str::<Value>(jwk_json)
            .map_err(|_| "key_invalid")
            .and_then(|v| PublicKey::from_jwk(&v).map_err(|e| e.code()));
        let dto = match result {
            Ok(pk) => {
                self.trust.pin_root(eco, &pk);
                LoadResult::ok("root", Some(eco.to_owned()))
            }
            Err(code) => LoadResult::refused("root", code),
        };
        to_js(&dto).unchecked_into()
    }

    /// The pinned ecosystems.
    #[wasm_bindgen(js_name = pinnedRoots)]
    pub fn pinned_roots(&self) -> Vec<String> {
        self.trust.pinned().map(str::to_owned).collect()
    }

    /// Offers a trust list (`trust-list+jwt`); kept only if a pinned or recognised root signed
    /// it and its `seq` is not a rollback (SPEC.md section 4).
    #[wasm_bindgen(js_name = loadTrustList)]
    pub fn load_trust_list(&mut self, compact: &str) -> JsLoadResult {
        let r = self.trust.insert(compact.trim());
        // A trust change can orphan held status lists (SPEC.md section 5): drop them so the
        // page never persists what the verifier no longer trusts.
        self.status.retain_trusted(&self.trust);
        to_js(&LoadResult::from_trust(r)).unchecked_into()
    }

    /// Offers a status list (`vc+jwt`); kept only if a status authority of an accepted trust
    /// list signed it and it is newer than the one held (SPEC.md section 5).
    #[wasm_bindgen(js_name = loadStatusList)]
    pub fn load_status_list(&mut self, compact: &str) -> JsLoadResult {
        let r = self
            .status
            .insert(compact.trim(), &self.trust)
            .map(|l| l.id.clone());
        to_js(&LoadResult::from_status(r)).unchecked_into()
    }

    /// Offers the registry's offline bundle (`GET /v1/bundle`: `{"trustLists": [...],
    /// "statusLists": [...]}`): trust lists first, in any order, then status lists.
    #[wasm_bindgen(js_name = loadBundle)]
    pub fn load_bundle(&mut self, bundle_json: &str) -> JsBundleReport {
        to_js(&self.bundle(bundle_json)).unchecked_into()
    }

    /// Every list held now, as compact JWS text: what the page persists.
    pub fn held(&self) -> JsHeldState {
        let state = HeldState {
            trust_lists: self.trust.raw_lists().map(str::to_owned).collect(),
            // One list can be held under several ecosystems' trust lists: persist it once.
            status_lists: self
                .status
                .lists()
                // A list received only in the compact form has no W3C text: the page persists
                // the compact bodies it loaded instead (`loadCompact`).
                .filter(|l| !l.raw().is_empty())
                .map(|l| l.raw().to_owned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        };
        to_js(&state).unchecked_into()
    }

    /// Ages of every held list at `now_secs` (after the clock floor).
    pub fn ages(&self, now_secs: f64) -> JsDataAges {
        let now = self.effective_now(now_secs);
        let mut ages: Vec<AgeJson> = self.trust.ages(now).iter().map(AgeJson::from).collect();
        ages.extend(self.status.lists().map(|l| AgeJson::from(&l.age(now))));
        to_js(&ages).unchecked_into()
    }

    /// `max(now_secs, newest iat or validFrom held)`: the clock floor (SPEC.md section 5).
    #[wasm_bindgen(js_name = effectiveNow)]
    pub fn effective_now(&self, now_secs: f64) -> u64 {
        cellproof_core::Context::new(&self.trust, &self.status, unix(now_secs)).effective_now()
    }

    /// Verifies one scan (QR URL, compact JWS or numeric fragment) at `now_secs` (Unix
    /// seconds from the device clock; the clock floor is applied inside). `passport`, when
    /// given, is the full passport's compact JWS, whose digest is checked against `bp.dig`.
    pub fn verify(&self, input: &str, now_secs: f64, passport: Option<String>) -> JsVerdict {
        let mut ctx = cellproof_core::Context::new(&self.trust, &self.status, unix(now_secs));
        ctx.passport = passport.as_deref();
        to_js(&VerdictJson::from(&cellproof_core::verify(input, &ctx))).unchecked_into()
    }

    /// Verifies one scan with the battery's passport chain (SPEC.md sections 3 and 7):
    /// `chain_json` is what `GET /v1/passports/{gtin}/{serial}` serves, or the same object from
    /// an offline pack (`{"versions": [jws, ...], "attestations": {hashDigest: jws}}`). The
    /// verdict then carries `passport` and one `attestations[]` entry per listing and declared
    /// claim. A chain that is not that JSON is checked as a chain of no versions, so the
    /// passport stage fails (`passport_chain_broken`): what the label's link served is not what
    /// the label committed to. `null` verifies the label alone, like `verify`.
    #[wasm_bindgen(js_name = verifyWithChain)]
    pub fn verify_with_chain(
        &self,
        input: &str,
        now_secs: f64,
        chain_json: Option<String>,
    ) -> JsVerdict {
        let chain = chain_json
            .as_deref()
            .map(|text| PassportChain::from_json(text).unwrap_or_default());
        let mut ctx = cellproof_core::Context::new(&self.trust, &self.status, unix(now_secs));
        ctx.chain = chain.as_ref();
        to_js(&VerdictJson::from(&cellproof_core::verify(input, &ctx))).unchecked_into()
    }

    /// Verifies many scans with one Ed25519 batch; the verdicts equal those of `verify`.
    #[wasm_bindgen(js_name = verifyMany)]
    pub fn verify_many(&self, inputs: Vec<String>, now_secs: f64) -> JsVerdicts {
        let ctx = cellproof_core::Context::new(&self.trust, &self.status, unix(now_secs));
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let out: Vec<VerdictJson> = cellproof_core::verify_many(&refs, &ctx)
            .iter()
            .map(VerdictJson::from)
            .collect();
        to_js(&out).unchecked_into()
    }
}

impl Verifier {
    fn bundle(&mut self, bundle_json: &str) -> BundleReport {
        let Ok(Value::Object(b)) = serde_json::from_str::<Value>(bundle_json) else {
            return BundleReport::invalid();
        };
        let strings = |key: &str| -> Option<Vec<String>> {
            match b.get(key) {
                None => Some(Vec::new()),
                Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
                Some(_) => None,
            }
        };
        let (Some(trust), Some(status)) = (strings("trustLists"), strings("statusLists")) else {
            return BundleReport::invalid();
        };
        let trust = self
            .trust
            .insert_all(trust.iter().map(|s| s.trim()))
            .into_iter()
            .map(LoadResult::from_trust)
            .collect();
        self.status.retain_trusted(&self.trust);
        let status = status
            .iter()
            .map(|s| {
                let r = self
                    .status
                    .insert(s.trim(), &self.trust)
                    .map(|l| l.id.clone());
                LoadResult::from_status(r)
            })
            .collect();
        BundleReport {
            ok: true,
            code: None,
            trust,
            status,
        }
    }
}

/// Checks a downloaded document's bytes against the `hashDigest` of the link object that
/// points at it (SPEC.md section 3.2): `{ok: true, code: null, digest}` when they match, else
/// `{ok: false, code: "document_digest_mismatch", digest}` with the digest the bytes have. The
/// page shows a document only after `ok`.
#[wasm_bindgen(js_name = checkDocument)]
pub fn check_document(bytes: &[u8], hash_digest: &str) -> JsDocumentCheck {
    let dto = DocumentCheck {
        ok: false,
        code: None,
        digest: cellproof_core::sha256_b64(bytes),
    };
    let dto = match cellproof_core::check_document(bytes, hash_digest) {
        Ok(()) => DocumentCheck { ok: true, ..dto },
        Err(e) => DocumentCheck {
            code: Some(e.code()),
            ..dto
        },
    };
    to_js(&dto).unchecked_into()
}

/// Every verification code with its stage and class (docs/error-codes.md), so a page can
/// check its translations cover them.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> JsCodeInfos {
    let list: Vec<CodeInfo> = CODES
        .iter()
        .map(|(code, stage, class)| CodeInfo {
            code,
            stage: stage.name(),
            class: match class {
                cellproof_core::Class::Invalid => "invalid",
                cellproof_core::Class::Unverifiable => "unverifiable",
                cellproof_core::Class::Notice => "notice",
            },
        })
        .collect();
    to_js(&list).unchecked_into()
}

/// Art. 8 minimum recycled shares (`RECYCLED_MINIMUMS` of the core), shown as information.
#[wasm_bindgen(js_name = recycledMinimums)]
pub fn recycled_minimums() -> JsRecycledMinimums {
    let list: Vec<RecycledMinimum> = RECYCLED_MINIMUMS
        .iter()
        .map(|&(element, min2031, min2036)| RecycledMinimum {
            element,
            min2031,
            min2036,
        })
        .collect();
    to_js(&list).unchecked_into()
}

/// The recycled content `rc_json` (`{"Co": [pre, post], ...}`, `bp.rc` or the passport's
/// shares, as JSON text) beside the Art. 8 minimums, by the core's rule (`recycled_content`:
/// the lead minimum only for a `chemistry` that names lead). Text that is not a JSON object
/// lists nothing.
#[wasm_bindgen(js_name = recycledContent)]
pub fn recycled_content(rc_json: &str, chemistry: Option<String>) -> JsRecycledShares {
    let rc = match serde_json::from_str::<Value>(rc_json) {
        Ok(Value::Object(rc)) => rc,
        _ => serde_json::Map::new(),
    };
    let list: Vec<RecycledShare> = cellproof_core::recycled_content(&rc, chemistry.as_deref())
        .into_iter()
        .map(|s| RecycledShare {
            element: s.element,
            total: s.total,
            applies: s.applies,
            min2031: s.min2031,
            min2036: s.min2036,
            meets2031: s.meets(s.min2031),
            meets2036: s.meets(s.min2036),
        })
        .collect();
    to_js(&list).unchecked_into()
}

/// The CSV columns of a verdict export (`CSV_COLUMNS` of the core, the CLI's batch CSV header),
/// so the page's session CSV has exactly the CLI's columns.
#[wasm_bindgen(js_name = csvColumns)]
pub fn csv_columns() -> Vec<String> {
    CSV_COLUMNS.iter().map(|c| (*c).to_owned()).collect()
}

/// One CSV cell by the core's rule (`csv_cell`): control characters escaped, a cell that could
/// start a formula prefixed with `'`, quoted (docs/verdict-json.md).
#[wasm_bindgen(js_name = csvCell)]
pub fn csv_cell(text: &str) -> String {
    cellproof_core::csv_cell(text)
}

/// One session CSV row under [`csv_columns`], escaped and joined with `,` (no line end): the
/// scan's `line`, `scanned_at` and `seen`, the verdict's cells by the core's rule
/// (`csv_cells_of_json`, the CLI's batch CSV too) from `verdict_json` (the verdict as the page
/// stored it, `JSON.stringify`ed), and the scanned `input`. A verdict text that is not JSON
/// gives empty verdict cells, never an exception.
#[wasm_bindgen(js_name = csvRow)]
pub fn csv_row(line: u32, scanned_at: &str, seen: u32, verdict_json: &str, input: &str) -> String {
    let verdict = serde_json::from_str::<Value>(verdict_json).unwrap_or_default();
    let mut cells = vec![line.to_string(), scanned_at.to_owned(), seen.to_string()];
    cells.extend(cellproof_core::csv_cells_of_json(&verdict));
    cells.push(input.to_owned());
    cells
        .iter()
        .map(|c| cellproof_core::csv_cell(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// The RFC 7638 thumbprint of a public key given as a JWK in JSON text (the core's
/// `jwk_thumbprint`: base64url SHA-256 of `{"crv","kty","x"}`), or `undefined` when the text is
/// not an Ed25519 public JWK. The fingerprint of a pinned root or an inspector's key, computed
/// without WebCrypto (which a page outside a secure context lacks).
#[wasm_bindgen(js_name = jwkThumbprint)]
pub fn jwk_thumbprint(jwk_json: &str) -> Option<String> {
    let value = serde_json::from_str::<Value>(jwk_json).ok()?;
    let key = PublicKey::from_jwk(&value).ok()?;
    Some(cellproof_core::jwk_thumbprint(&key))
}

/// The crate version, for the page's about line and cache busting.
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

// ---- the edge: DTOs and their one conversion to JS ----

/// Serialises a DTO as a plain JS object (maps as objects, `None` as `null`).
fn to_js<T: Serialize>(value: &T) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    // Every DTO here is plain data; integers that may exceed 2^53 (anything from a signed
    // credential) are `JsonInt`s, which become strings beyond it, so serialisation does not
    // fail. Should it ever, the page gets `undefined` and says it cannot read the code.
    value.serialize(&ser).unwrap_or(JsValue::UNDEFINED)
}

/// JS numbers to Unix seconds; NaN, negatives and infinities become 0 (the clock floor then
/// decides the time used).
fn unix(now_secs: f64) -> UnixTime {
    UnixTime::from_js_secs(now_secs)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadResult {
    ok: bool,
    code: Option<&'static str>,
    kind: &'static str,
    id: Option<String>,
    seq: Option<JsonInt>,
    via: Option<&'static str>,
    by: Option<String>,
    unchanged: bool,
}

impl LoadResult {
    fn ok(kind: &'static str, id: Option<String>) -> Self {
        LoadResult {
            ok: true,
            code: None,
            kind,
            id,
            seq: None,
            via: None,
            by: None,
            unchanged: false,
        }
    }

    fn refused(kind: &'static str, code: &'static str) -> Self {
        LoadResult {
            ok: false,
            code: Some(code),
            ..LoadResult::ok(kind, None)
        }
    }

    fn from_trust(r: Result<Accepted, Error>) -> Self {
        match r {
            Ok(a) => {
                let (via, by) = match a.via {
                    Via::Pinned => ("pinned", None),
                    Via::Recognized { by } => ("recognized", Some(by)),
                };
                LoadResult {
                    seq: Some(JsonInt(a.seq)),
                    via: Some(via),
                    by,
                    unchanged: a.unchanged,
                    ..LoadResult::ok("trust_list", Some(a.eco))
                }
            }
            Err(e) => LoadResult::refused("trust_list", e.code()),
        }
    }

    fn from_status(r: Result<String, Error>) -> Self {
        match r {
            Ok(id) => LoadResult::ok("status_list", Some(id)),
            Err(e) => LoadResult::refused("status_list", e.code()),
        }
    }
}

#[derive(Serialize)]
struct BundleReport {
    ok: bool,
    code: Option<&'static str>,
    trust: Vec<LoadResult>,
    status: Vec<LoadResult>,
}

impl BundleReport {
    fn invalid() -> Self {
        BundleReport {
            ok: false,
            code: Some("bundle_invalid"),
            trust: Vec::new(),
            status: Vec::new(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeldState {
    trust_lists: Vec<String>,
    status_lists: Vec<String>,
}

#[derive(Serialize)]
struct DocumentCheck {
    ok: bool,
    code: Option<&'static str>,
    digest: String,
}

#[derive(Serialize)]
struct CodeInfo {
    code: &'static str,
    stage: &'static str,
    class: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecycledShare {
    element: &'static str,
    total: f64,
    applies: bool,
    min2031: f64,
    min2036: f64,
    meets2031: bool,
    meets2036: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecycledMinimum {
    element: &'static str,
    min2031: f64,
    min2036: f64,
}

/// Compact and delta status sync (`docs/status-sync.md`).
#[wasm_bindgen]
impl Verifier {
    /// Offers a compact or delta body (`GET /v1/status-compact[?since=T]`, the bytes as
    /// received): one signature check, then each list kept as a W3C list would be. `ok` is
    /// false with a `code` when the whole body is refused; otherwise `status` has one result per
    /// list (`status_delta_base`: fetch the full body).
    #[wasm_bindgen(js_name = loadCompact)]
    pub fn load_compact(&mut self, body: &[u8]) -> JsBundleReport {
        let report = match self.status.insert_compact(body, &self.trust) {
            Ok(out) => BundleReport {
                ok: true,
                code: None,
                trust: Vec::new(),
                status: out
                    .into_iter()
                    .map(|(id, r)| LoadResult::from_status(r.map(|()| id)))
                    .collect(),
            },
            Err(e) => BundleReport {
                ok: false,
                code: Some(e.code()),
                trust: Vec::new(),
                status: Vec::new(),
            },
        };
        to_js(&report).unchecked_into()
    }

    /// A copy of this verifier: the same roots, lists and clock floor. A sync offers what came
    /// to a copy and keeps the copy only when it applied (a refused delta leaves the verifier in
    /// use as it was), without verifying again what is held.
    pub fn fork(&self) -> Verifier {
        Verifier {
            trust: self.trust.clone(),
            status: self.status.clone(),
        }
    }

    /// The newest `validFrom` of the status lists held (Unix seconds, 0 when none): the
    /// `since` of the next incremental sync.
    #[wasm_bindgen(js_name = syncSince)]
    pub fn sync_since(&self) -> f64 {
        let newest = self.status.lists().map(|l| l.valid_from).max().unwrap_or(0);
        // Exact below 2^53, which every validFrom is.
        let hi = u32::try_from(newest >> 32).unwrap_or(u32::MAX);
        let lo = u32::try_from(newest & 0xffff_ffff).unwrap_or(0);
        f64::from(hi) * 4_294_967_296.0 + f64::from(lo)
    }
}
