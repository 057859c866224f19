//! Publication: trust lists, status lists, the offline bundle and the compact status sync,
//! served from the stored bytes with `ETag`, `If-None-Match` (304) and `Cache-Control` from
//! the list `ttl`. Every route answers `HEAD` too (the same headers and `Content-Length`, no
//! body: actix drops the body of a response to `HEAD`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::AppState;
use crate::errors::PublicError;
use crate::registry::Artifact;

/// Weak comparison (RFC 9110 section 13.1.2): `W/` is ignored on both sides.
fn matches(if_none_match: &str, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let tag = strip(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || strip(t) == tag)
}

/// Serves an artifact, or 304 when the client holds it.
pub fn serve(req: &HttpRequest, a: &Artifact, ttl: u64) -> HttpResponse {
    let cache = format!("public, max-age={ttl}");
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, &a.etag));
    if fresh {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, a.etag.clone()))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(a.content_type)
        .insert_header((header::ETAG, a.etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(a.body.clone())
}

fn get(state: &AppState, req: &HttpRequest, key: &str) -> Result<HttpResponse, PublicError> {
    let a = state
        .published
        .get(key)
        .ok_or_else(|| PublicError::NotFound {
            what: req.path().to_owned(),
        })?;
    Ok(serve(req, &a, state.ttl))
}

/// `GET /v1/trust-list/{eco}`.
#[tracing::instrument(skip(state, req))]
pub async fn trust_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    eco: web::Path<String>,
) -> Result<HttpResponse, PublicError> {
    get(&state, &req, &format!("trust-list/{eco}"))
}

/// `GET /v1/status/{issuer}/{listId}[-purpose]`.
#[tracing::instrument(skip(state, req))]
pub async fn status_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PublicError> {
    let (issuer, list) = path.into_inner();
    get(&state, &req, &format!("status/{issuer}/{list}"))
}

/// `GET /v1/bundle`: every trust list and status list held, for offline verifiers.
#[tracing::instrument(skip(state, req))]
pub async fn bundle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    get(&state, &req, "bundle")
}

/// `GET /v1/status-compact`: every list in the compact form (`docs/status-sync.md`);
/// `?since=T`: only what changed after `T`, the newest `validFrom` the client holds, as delta
/// records (full records for lists the history no longer reaches). A delta is made and signed
/// on request from the in-memory history (`registry/sync.rs`): the one GET that signs, one
/// Ed25519 signature over a body of kilobytes.
#[tracing::instrument(skip(state, req))]
pub async fn status_compact(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let mut since = None;
    for pair in req.query_string().split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("since", v)) if since.is_none() => {
                since = Some(v.parse::<u64>().map_err(|_| PublicError::SinceInvalid)?);
            }
            _ => return Err(PublicError::SinceInvalid),
        }
    }
    let Some(since) = since else {
        return get(&state, &req, crate::registry::COMPACT_KEY);
    };
    let a = {
        let h = state
            .published
            .sync
            .lock()
            .map_err(|_| PublicError::Internal)?;
        h.delta_artifact(since)
    }
    .ok_or_else(|| PublicError::NotFound {
        what: req.path().to_owned(),
    })?;
    // A delta changes with every publication: revalidate, never reuse a cached one.
    let mut r = serve(&req, &a, 0);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    Ok(r)
}

/// `GET /v1/audit/head`: the audit log's head (`seq`, `hash`, `iat`) signed by the status
/// authority (`audit-head+jwt`), re-signed on every change and at least once a minute.
#[tracing::instrument(skip(state, req))]
pub async fn audit_head(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let a = state
        .published
        .get(crate::registry::AUDIT_HEAD_KEY)
        .ok_or_else(|| PublicError::NotFound {
            what: req.path().to_owned(),
        })?;
    // Changes with every batch: revalidate, never serve a cached older head.
    let mut r = serve(&req, &a, 0);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    Ok(r)
}

/// `GET /v1/roots`: the ecosystem roots this registry pins, `{"roots": [{"eco", "root"}]}`.
/// The scanner page pins these (it is served by this registry, so it trusts it for its code
/// anyway); a verifier that wants independence configures its own roots.
#[tracing::instrument(skip(state))]
pub async fn roots(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", format!("public, max-age={}", state.ttl)))
        .body(state.roots_json.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert!(super::matches("W/\"abc\"", "W/\"abc\""));
        assert!(super::matches("\"x\", \"abc\"", "W/\"abc\""));
        assert!(super::matches("*", "W/\"abc\""));
        assert!(!super::matches("\"abd\"", "W/\"abc\""));
    }
}
