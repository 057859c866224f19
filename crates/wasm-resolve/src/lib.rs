//! Online resolution in the browser (SPEC.md 1.2 section 2.2): a thin wasm-bindgen binding
//! over `cellproof-core` that the page (`web/resolve.js`) loads only when a label without an
//! embedded credential is checked online, so the verifier module of a consumer's first visit
//! (`crates/wasm`) does not carry it (issue 17: the first visit stays within 250 KB). Like the
//! inspector's module it holds its own copy of the page's verified lists ([`Resolver`], built
//! from the pinned roots and the verifier's `held()` lists, every list checked again on the
//! way in). The page fetches; the core decides where to ask, which link to follow and the
//! verdict about what was fetched. Nothing here reads a clock: the page passes the time in.

use cellproof_core::{StatusStore, TrustStore, UnixTime, VerdictJson};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_RESOLVE_TYPES: &'static str = r#"
/** One place to ask: a linkset (`linkset: true`) or the credential itself (a UNTP link). */
export interface Ask { url: string; linkset: boolean }
/** The links a linkset gives for the label's battery. */
export interface Links { chain: string | null; passport: string | null }
/** A core error for the page to translate by `code`. */
export interface CoreError { error: { code: string; message: string } }
"#;

/// The page's verified lists, again: pinned roots and the lists the verifier module held.
#[wasm_bindgen]
#[derive(Default)]
pub struct Resolver {
    trust: TrustStore,
    status: StatusStore,
}

#[wasm_bindgen]
impl Resolver {
    /// Pins `roots_json` (`[{"eco", "root": JWK}]`, as the page stores them) and loads
    /// `held_json` (`{"trustLists": [...], "statusLists": [...]}`, the verifier's `held()`):
    /// every list is verified again here; what fails is left out, as in the verifier.
    #[wasm_bindgen(constructor)]
    pub fn new(roots_json: &str, held_json: &str) -> Resolver {
        let (trust, status) = cellproof_core::stores_from_held(roots_json, held_json);
        Resolver { trust, status }
    }

    /// Loads a compact or delta status body the page's verifier loaded (`docs/status-sync.md`;
    /// lists held only in that form are not in `held()`), verified again here. Returns whether
    /// every list in it was kept.
    #[wasm_bindgen(js_name = loadCompact)]
    pub fn load_compact(&mut self, body: &[u8]) -> bool {
        self.status
            .insert_compact(body, &self.trust)
            .is_ok_and(|r| r.iter().all(|(_, l)| l.is_ok()))
    }

    /// Where to ask online for a label without an embedded credential: `[{url, linkset}]` in
    /// order, or `{error: {code, message}}` for a label that cannot be read. `resolvers_json`
    /// is the configured resolver roots for element strings.
    #[wasm_bindgen(js_name = resolvePlan)]
    pub fn resolve_plan(&self, input: &str, resolvers_json: &str) -> JsValue {
        let roots: Vec<String> = serde_json::from_str(resolvers_json).unwrap_or_default();
        let roots: Vec<&str> = roots.iter().map(String::as_str).collect();
        match cellproof_core::plan(input, &roots) {
            Ok(asks) => to_js(&asks),
            Err(e) => to_js(&error_json(&e)),
        }
    }

    /// The chain and passport links a resolver's linkset gives for the label's battery:
    /// `{chain, passport}` or `{error: {code, message}}` (`linkset_invalid`,
    /// `passport_not_linked`, `resolution_limit`).
    #[wasm_bindgen(js_name = passportLinks)]
    pub fn passport_links(&self, linkset_text: &str, input: &str, base_url: &str) -> JsValue {
        match cellproof_core::passport_links(linkset_text, input, base_url) {
            Ok(links) => to_js(&links),
            Err(e) => to_js(&error_json(&e)),
        }
    }

    /// The verdict about a label with what was fetched for it online: `fetched_json` is
    /// `{"kind": "chain" | "passport" | "failed", "url", "body", "code", "detail"}`, with
    /// `didDocument` (the text fetched from `didWebUrl(verdict.issuerDid)`) on a second call
    /// for a passport whose `did:web` issuer no trust list names. The verdict has the shape of
    /// the verifier module's (`Verdict`), with `source` and `issuerDid`.
    #[wasm_bindgen(js_name = verifyResolved)]
    pub fn verify_resolved(&self, input: &str, now_secs: f64, fetched_json: &str) -> JsValue {
        let f: Value = serde_json::from_str(fetched_json).unwrap_or_default();
        let text = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default();
        let (url, body) = (text("url"), text("body"));
        let fetched = match text("kind") {
            "chain" => cellproof_core::Fetched::Chain { url, body },
            "passport" => cellproof_core::Fetched::Passport { url, body },
            _ => cellproof_core::Fetched::Failed {
                url: (!url.is_empty()).then_some(url),
                code: text("code"),
                detail: text("detail"),
            },
        };
        let mut ctx = cellproof_core::Context::new(&self.trust, &self.status, unix(now_secs));
        ctx.did_document = f.get("didDocument").and_then(Value::as_str);
        to_js(&VerdictJson::from(&cellproof_core::verify_resolved(
            input, &fetched, &ctx,
        )))
    }

    /// Whether the next place is asked after a failure with `code` (the core's policy, the
    /// CLI's too).
    #[wasm_bindgen(js_name = askNext)]
    pub fn ask_next(&self, code: &str) -> bool {
        cellproof_core::resolve::ask_next(code)
    }

    /// When every ask failed: the index of the failure the verdict reports (`codes_json`, the
    /// failures' codes in order).
    #[wasm_bindgen(js_name = decidingFailure)]
    pub fn deciding_failure(&self, codes_json: &str) -> usize {
        let codes: Vec<String> = serde_json::from_str(codes_json).unwrap_or_default();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        cellproof_core::resolve::deciding_failure(&codes)
    }

    /// The limits of SPEC.md 2.2 (`{requestMs, totalMs, body, chain, did, redirects}`).
    pub fn limits(&self) -> JsValue {
        to_js(&cellproof_core::resolve::LIMITS)
    }

    /// Where a `did:web` DID's document is (`https://{host}/.well-known/did.json`), or `null`
    /// for another DID or one whose host or path would change the URL's meaning. With
    /// `loopback_http` (a page served from loopback), a loopback DID host is asked over http,
    /// as every other hop of such a page may be.
    #[wasm_bindgen(js_name = didWebUrl)]
    pub fn did_web_url(&self, did: &str, loopback_http: bool) -> Option<String> {
        cellproof_core::did_web_url_dev(did, loopback_http)
    }
}

/// `{error: {code, message}}` for a core error handed to the page.
fn error_json(e: &cellproof_core::Error) -> Value {
    serde_json::json!({"error": {"code": e.code(), "message": e.to_string()}})
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    // Plain data; integers beyond 2^53 are `JsonInt`s (strings), so serialisation does not
    // fail. Should it ever, the page gets `undefined` and treats it as no verdict.
    value.serialize(&ser).unwrap_or(JsValue::UNDEFINED)
}

/// JS numbers to Unix seconds; NaN, negatives and infinities become 0 (the clock floor then
/// takes the newest time verified).
fn unix(now_secs: f64) -> UnixTime {
    UnixTime::from_js_secs(now_secs)
}
