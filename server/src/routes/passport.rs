//! Passports, attestations, documents and offline packs (SPEC.md section 6.2).
//!
//! Uploads are parsed and verified by the core on the blocking pool before the registry mutex
//! is taken; the answer is sent once the change is committed to disk. Passports and
//! attestations are self-authenticating (posted as they are); a document carries the
//! `Authorization: Cellproof <registry-request+jwt>` envelope for its digest. Reads are served
//! from the published bytes (chains, current versions, attestations) or from the store
//! (documents), never restricted sections.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::{Arc, Mutex};

use cellproof_core::{b64_encode, DigitalLink, MAX_PASSPORT};
use serde_json::{json, Map, Value};

use super::{content_type_is, read_limited, AppState};
use crate::errors::{PublicError, UploadError};
use crate::registry::{
    document_digests, settled, subject_of, valid_digest, Gate, Registry, MAX_PACK_ITEMS,
};

/// A year: documents and attestations are content-addressed, so they never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Media types a document is shown inline with; any other is served as an attachment in a
/// sandbox, so an uploaded HTML or SVG file never runs as the registry's own page.
const INLINE: [&str; 6] = [
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "text/plain",
];

fn count<T>(state: &AppState, endpoint: &'static str, r: &Result<T, UploadError>) {
    let outcome = match r {
        Ok(_) => "accepted",
        Err(e) => e.problem().kind,
    };
    state.metrics.outcome(endpoint, outcome);
    if let Err(e) = r {
        tracing::info!(endpoint, refused = outcome, detail = %e, "upload refused");
    }
}

/// Reads a compact JWS body (`application/vc+jwt` or `application/jwt`) of at most
/// [`MAX_PASSPORT`] bytes.
pub(super) async fn jws_body(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<String, UploadError> {
    if !content_type_is(req, "application/vc+jwt") && !content_type_is(req, "application/jwt") {
        return Err(UploadError::UnsupportedMediaType {
            expected: "application/vc+jwt",
        });
    }
    let body = read_limited(req, payload, MAX_PASSPORT)
        .await
        .map_err(|_| UploadError::Malformed {
            detail: "the body could not be read".into(),
        })?
        .ok_or(UploadError::TooLarge {
            limit: MAX_PASSPORT,
        })?;
    let text = std::str::from_utf8(&body).map_err(|_| UploadError::Malformed {
        detail: "the body is not UTF-8".into(),
    })?;
    Ok(text.trim().to_owned())
}

/// `POST /v1/passports`: a `BatteryPassport` version or a `BatteryPassportRestricted` section.
#[tracing::instrument(skip_all)]
pub async fn upload_passport(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let r = self_authenticating(&state, &req, payload, Registry::ingest_passport).await;
    count(&state, "passports", &r);
    Ok(HttpResponse::Ok().json(r?))
}

/// `POST /v1/attestations`: a `ConformityAttestation`, stored under its SHA-256.
#[tracing::instrument(skip_all)]
pub async fn upload_attestation(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let r = self_authenticating(&state, &req, payload, Registry::ingest_attestation).await;
    count(&state, "attestations", &r);
    Ok(HttpResponse::Ok().json(r?))
}

/// One of the registry's `ingest_*` entry points into its upload pipeline.
type Ingest<T> = fn(&str, &Gate, Arc<Mutex<Registry>>, u64) -> Result<T, UploadError>;

/// A self-authenticating upload (SPEC.md section 6.2): the body read here, then the
/// registry's one upload pipeline (`ingest`) on the blocking pool against the gate snapshot,
/// taking the registry mutex only to read what it holds and to store.
pub(super) async fn self_authenticating<T: Send + 'static>(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    ingest: Ingest<T>,
) -> Result<T, UploadError> {
    let text = jws_body(req, payload).await?;
    let gate = state
        .gate
        .read()
        .map(|g| g.clone())
        .map_err(|_| UploadError::Internal)?;
    let (registry, clock) = (state.registry.clone(), state.clock.clone());
    web::block(move || ingest(&text, &gate, registry, clock.now()))
        .await
        .map_err(|_| UploadError::Internal)?
}

/// A media type as recorded: `type/subtype` of token characters, lower-cased, parameters
/// dropped; anything else is `application/octet-stream`.
fn media_type(req: &HttpRequest) -> String {
    let t = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match t.split_once('/') {
        Some((a, b)) if token(a) && token(b) => t,
        _ => "application/octet-stream".into(),
    }
}

/// `PUT /v1/documents/{hashDigest}`.
#[tracing::instrument(skip_all)]
pub async fn put_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    digest: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let digest = digest.into_inner();
    let r = put_document_inner(&state, &req, digest, payload).await;
    count(&state, "documents", &r);
    Ok(HttpResponse::Ok().json(r?))
}

async fn put_document_inner(
    state: &AppState,
    req: &HttpRequest,
    digest: String,
    payload: web::Payload,
) -> Result<crate::registry::DocumentAck, UploadError> {
    if !valid_digest(&digest) {
        return Err(UploadError::DigestInvalid);
    }
    let envelope = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Cellproof "))
        .map(str::to_owned)
        .ok_or(UploadError::Unauthenticated)?;
    let gate = state
        .gate
        .read()
        .map(|g| g.clone())
        .map_err(|_| UploadError::Internal)?;
    let clock = state.clock.clone();
    let limit = gate.max_document();
    // Authenticated before the body is read: an anonymous upload costs no more than its
    // headers.
    let d = digest.clone();
    let (slot, fstore, metrics) = (
        state.gate.clone(),
        state.store.clone(),
        state.metrics.clone(),
    );
    let registry = state.registry.clone();
    let auth = web::block(move || {
        let now = clock.now();
        // First against the snapshot held: a forged or malformed envelope is refused there,
        // with no database round trip and no registry mutex (issue 16).
        let first = match gate.authenticate_document(&envelope, &d, now) {
            Err(UploadError::Envelope(e)) if settled(&e) => {
                return Err(UploadError::Envelope(e));
            }
            r => r,
        };
        // Replicas: against the database's trust data now (docs/deploy.md).
        let fresh = Registry::fresh_gate(&registry, &slot, &*fstore, &metrics, gate.clone())
            .map_err(|e| {
                tracing::error!(error = %e, "catching up failed");
                UploadError::Internal
            })?;
        if Arc::ptr_eq(&fresh, &gate) {
            first
        } else {
            fresh.authenticate_document(&envelope, &d, now)
        }
    })
    .await
    .map_err(|_| UploadError::Internal)??;
    let body = read_limited(req, payload, limit)
        .await
        .map_err(|_| UploadError::Malformed {
            detail: "the body could not be read".into(),
        })?
        .ok_or(UploadError::TooLarge { limit })?;
    let media = media_type(req);
    let (registry, clock) = (state.registry.clone(), state.clock.clone());
    web::block(move || {
        Registry::ingest_document(auth, &digest, &media, body.to_vec(), registry, clock.now())
    })
    .await
    .map_err(|_| UploadError::Internal)?
}

fn etag_matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
        })
}

/// `GET /v1/documents/{hashDigest}`: the bytes, immutable, with the media type recorded at
/// upload; types that could run in a browser are sent as a sandboxed attachment.
#[tracing::instrument(skip(state, req))]
pub async fn get_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    digest: web::Path<String>,
) -> Result<HttpResponse, PublicError> {
    let digest = digest.into_inner();
    let not_found = || PublicError::NotFound {
        what: req.path().to_owned(),
    };
    if !valid_digest(&digest) {
        return Err(not_found());
    }
    let etag = format!("\"{digest}\"");
    let store = state.store.clone();
    let d = digest.clone();
    let (media, bytes) = web::block(move || store.document(&d))
        .await
        .map_err(|_| PublicError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "reading a document failed");
            PublicError::Internal
        })?
        .ok_or_else(not_found)?;
    let fresh = etag_matches(&req, &etag);
    let mut r = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    r.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if !INLINE.contains(&media.as_str()) {
        r.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{digest}\""),
        ))
        .insert_header(("Content-Security-Policy", "sandbox; default-src 'none'"));
    }
    if fresh {
        return Ok(r.finish());
    }
    Ok(r.content_type(media).body(bytes))
}

/// `GET /v1/attestations/{hashDigest}`: an attestation as uploaded.
#[tracing::instrument(skip(state, req))]
pub async fn get_attestation(
    state: web::Data<AppState>,
    req: HttpRequest,
    digest: web::Path<String>,
) -> Result<HttpResponse, PublicError> {
    let a = state
        .published
        .get(&format!("attestation/{digest}"))
        .ok_or_else(|| PublicError::NotFound {
            what: req.path().to_owned(),
        })?;
    let mut r = super::publish::serve(&req, &a, 0);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(IMMUTABLE),
    );
    Ok(r)
}

/// The canonical battery path of `/{prefix}/{gtin}/{serial}` (raw path: the core decodes the
/// serial itself).
pub(super) fn battery_path(req: &HttpRequest, prefix: &str) -> Result<String, PublicError> {
    let rest = req
        .uri()
        .path()
        .strip_prefix(prefix)
        .unwrap_or_default()
        .trim_start_matches('/');
    let (gtin, serial) = rest.split_once('/').unwrap_or((rest, ""));
    DigitalLink::parse_path(&format!("/01/{gtin}/21/{serial}"))
        .map(|l| l.path())
        .map_err(|e| PublicError::DigitalLinkInvalid {
            code: e.code(),
            detail: e.to_string(),
        })
}

/// `GET /v1/passports/{gtin}/{serial}`: `{"versions": [...], "attestations": {...}}`.
#[tracing::instrument(skip_all, fields(path = %req.path()))]
pub async fn chain(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let path = battery_path(&req, "/v1/passports")?;
    // Point in time (SPEC.md 1.2 section 6.2): the chain as accepted then, from the store; a
    // time not before now answers as of now.
    match at_param(req.query_string())? {
        Some(at) if at < state.clock.now() => return chain_at(&state, path, at).await,
        _ => {}
    }
    let a = state
        .published
        .get(&format!("passport/{path}"))
        .ok_or(PublicError::PassportNotHeld)?;
    // A new version or attestation changes the chain: revalidate with the ETag.
    let mut r = super::publish::serve(&req, &a, 0);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    Ok(r)
}

/// `at` of a query (SPEC.md 1.2 section 6.2): `None` without one; one RFC 3339 date-time in
/// Unix seconds, a well-formed one before 1970 as 0 (before any version); else `at-invalid`
/// (two `at`s, an empty one, a number, a date without a time or offset).
fn at_param(query: &str) -> Result<Option<u64>, PublicError> {
    let values: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .filter(|(k, _)| *k == "at")
        .map(|(_, v)| {
            // `+` of an offset may arrive as itself or as `%2B`; a space is never in RFC 3339.
            cellproof_core::pct_decode(v, false)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or(PublicError::AtInvalid)
        })
        .collect::<Result<_, _>>()?;
    let text = match values.as_slice() {
        [] => return Ok(None),
        [one] => one.as_str(),
        _ => return Err(PublicError::AtInvalid),
    };
    cellproof_core::parse_rfc3339_saturating(text)
        .map(Some)
        .map_err(|_| PublicError::AtInvalid)
}

/// The chain of `path` as the registry had accepted it at `at`, read from the store per
/// request (never cached: every distinct `at` is one indexed query, no memory kept).
async fn chain_at(state: &AppState, path: String, at: u64) -> Result<HttpResponse, PublicError> {
    let store = state.store.clone();
    let body = web::block(
        move || -> Result<Option<String>, crate::store::StoreError> {
            let versions = store.versions_at(&path, at)?;
            let mut doc = crate::registry::chain_document(&versions, |listed| {
                store.attestations_at(listed, at)
            })?;
            // The events applied by then (SPEC.md 1.2 section 6.2), as the current chain
            // carries them: absent while there were none.
            if let Some(m) = doc.as_mut().and_then(serde_json::Value::as_object_mut) {
                let events = store.events_at(&path, at)?;
                if !events.is_empty() {
                    let successors = crate::registry::event_successors_all(&events);
                    m.insert("events".into(), serde_json::json!(events));
                    m.insert("successors".into(), serde_json::json!(successors));
                }
            }
            Ok(doc.map(|d| d.to_string()))
        },
    )
    .await
    .map_err(|_| PublicError::Internal)?
    .map_err(|e| {
        tracing::error!(error = %e, "point-in-time read failed");
        PublicError::Internal
    })?
    .ok_or(PublicError::PassportNotHeld)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body))
}

/// The items of a pack request: `?items=01/{gtin}/21/{serial},...` or a JSON body
/// `{"items": [...]}` / `[...]`.
fn pack_items(list: Vec<String>) -> Result<Vec<String>, PublicError> {
    if list.is_empty() || list.len() > MAX_PACK_ITEMS {
        return Err(PublicError::PackInvalid {
            detail: format!("name 1 to {MAX_PACK_ITEMS} batteries as 01/{{gtin}}/21/{{serial}}"),
        });
    }
    let mut out = Vec::new();
    for i in list {
        let l = DigitalLink::parse_path(i.trim()).map_err(|e| PublicError::PackInvalid {
            detail: format!("{i}: {e}"),
        })?;
        if !out.contains(&l.path()) {
            out.push(l.path());
        }
    }
    Ok(out)
}

/// Most document bytes (before base64) one pack carries: documents past it are named under
/// `documentsOmitted` instead, so the page can say which it will not have offline. A request
/// may lower it (`maxDocumentBytes`), never raise it.
pub const MAX_PACK_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Builds a pack (on the blocking pool: documents are read from the store). Only published
/// bytes go in: the chains served publicly and the documents their current versions link,
/// which `GET /v1/documents/{digest}` serves to anyone; restricted sections never.
fn pack(
    state: &AppState,
    items: &[String],
    max_document_bytes: usize,
) -> Result<String, PublicError> {
    let bundle: Value = state
        .published
        .get("bundle")
        .and_then(|a| serde_json::from_slice(&a.body).ok())
        .unwrap_or_default();
    let mut passports = Map::new();
    let mut missing = Vec::new();
    let mut digests = Vec::new();
    for p in items {
        match state
            .published
            .get(&format!("passport/{p}"))
            .and_then(|a| serde_json::from_slice::<Value>(&a.body).ok())
        {
            Some(chain) => {
                let current = chain
                    .get("versions")
                    .and_then(Value::as_array)
                    .and_then(|v| v.last())
                    .and_then(Value::as_str)
                    .and_then(subject_of);
                if let Some(cs) = current {
                    document_digests(&Value::Object(cs), &mut digests, 0);
                }
                passports.insert(p.clone(), chain);
            }
            None => missing.push(p.clone()),
        }
    }
    let budget = max_document_bytes.min(MAX_PACK_DOCUMENT_BYTES);
    let (mut used, mut documents, mut omitted, mut not_held) = (0usize, Map::new(), vec![], vec![]);
    for d in digests {
        match state.store.document(&d) {
            Ok(Some((media, bytes))) if used.saturating_add(bytes.len()) <= budget => {
                used += bytes.len();
                documents.insert(d, json!({"mediaType": media, "data": b64_encode(&bytes)}));
            }
            Ok(Some(_)) => omitted.push(d),
            Ok(None) => not_held.push(d),
            Err(e) => {
                tracing::error!(error = %e, "reading a document for a pack failed");
                return Err(PublicError::Internal);
            }
        }
    }
    Ok(json!({
        "registry": state.public_url,
        "trustLists": bundle.get("trustLists").cloned().unwrap_or_else(|| json!([])),
        "statusLists": bundle.get("statusLists").cloned().unwrap_or_else(|| json!([])),
        "passports": passports,
        "missing": missing,
        "documents": documents,
        "documentsOmitted": omitted,
        "documentsMissing": not_held,
    })
    .to_string())
}

/// The pack off the actix worker, as a response.
async fn pack_response(
    state: web::Data<AppState>,
    items: Vec<String>,
    max_document_bytes: usize,
) -> Result<HttpResponse, PublicError> {
    // Bounded before any work: unauthenticated, up to 16 MiB each (routes/publish.rs).
    let permit = match state.pack_gate.enter(state.clock.now()) {
        Ok(p) => p,
        Err(wait) => return Ok(super::publish::pack_busy(&state, wait)),
    };
    super::publish::fresh(&state).await?;
    let body = web::block(move || {
        let body = pack(&state, &items, max_document_bytes);
        if let Ok(b) = &body {
            permit.charge(b.len());
        }
        body
    })
    .await
    .map_err(|_| PublicError::Internal)??;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Pack-Size", body.len().to_string()))
        .body(body))
}

/// `maxDocumentBytes` of a pack request: absent is the server's bound; anything but a
/// non-negative integer is refused.
fn pack_document_bound(v: Option<&Value>) -> Result<usize, PublicError> {
    match v {
        None => Ok(MAX_PACK_DOCUMENT_BYTES),
        Some(n) => n
            .as_u64()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or_else(|| PublicError::PackInvalid {
                detail: "maxDocumentBytes must be a non-negative integer".into(),
            }),
    }
}

/// `GET /v1/pack?items=01/{gtin}/21/{serial},...[&maxDocumentBytes=n]`: trust lists, status
/// lists, the named batteries' chains and the public documents their current versions link
/// (`documents`: digest to `{mediaType, data}` base64url; past the byte bound under
/// `documentsOmitted`; not held under `documentsMissing`), for offline work, never restricted
/// data. `X-Pack-Size` gives the size in bytes before compression.
#[tracing::instrument(skip_all)]
pub async fn pack_get(
    state: web::Data<AppState>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PublicError> {
    let items = query
        .get("items")
        .map(|s| {
            s.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let bound = pack_document_bound(
        query
            .get("maxDocumentBytes")
            .map(|n| n.parse::<u64>().map(Value::from).unwrap_or(Value::Null))
            .as_ref(),
    )?;
    pack_response(state, pack_items(items)?, bound).await
}

/// `POST /v1/pack` with `{"items": [...]}` or `[...]` (a pallet's worth that does not fit a
/// URL).
#[tracing::instrument(skip_all)]
pub async fn pack_post(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, PublicError> {
    let invalid = |detail: &str| PublicError::PackInvalid {
        detail: detail.into(),
    };
    let v: Value = serde_json::from_slice(&body).map_err(|_| invalid("the body is not JSON"))?;
    let list = match v.get("items").unwrap_or(&v) {
        Value::Array(a) => a
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("items must be strings"))?,
        _ => {
            return Err(invalid(
                "send {\"items\": [\"01/{gtin}/21/{serial}\", ...]}",
            ))
        }
    };
    let bound = pack_document_bound(v.get("maxDocumentBytes"))?;
    pack_response(state, pack_items(list)?, bound).await
}
