//! Publication: trust lists, status lists, the offline bundle and the compact status sync,
//! served from the stored bytes with `ETag`, `If-None-Match` (304) and `Cache-Control` from
//! the list `ttl`. Every route answers `HEAD` too (the same headers and `Content-Length`, no
//! body: actix drops the body of a response to `HEAD`).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
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

/// Whether `Accept-Encoding` admits gzip (a `q=0` refuses it).
fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|c| {
                let mut parts = c.split(';');
                let name = parts.next().unwrap_or_default().trim();
                let q0 = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (name.eq_ignore_ascii_case("gzip") || name == "*") && !q0
            })
        })
}

/// `public, max-age={ttl}`, built once per process for the configured ttl.
fn cache_control(ttl: u64) -> header::HeaderValue {
    static CACHED: std::sync::OnceLock<(u64, header::HeaderValue)> = std::sync::OnceLock::new();
    let (t, v) = CACHED.get_or_init(|| {
        (
            ttl,
            header::HeaderValue::from_str(&format!("public, max-age={ttl}"))
                .unwrap_or(header::HeaderValue::from_static("no-cache")),
        )
    });
    if *t == ttl {
        v.clone()
    } else {
        header::HeaderValue::from_str(&format!("public, max-age={ttl}"))
            .unwrap_or(header::HeaderValue::from_static("no-cache"))
    }
}

/// Bodies smaller than this are sent as they are (gzip would save less than a packet).
const GZIP_MIN: usize = 1024;

fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(body);
    Bytes::from(gz.finish().unwrap_or_default())
}

/// Serves an artifact, or 304 when the client holds it. The lean path of published GETs: the
/// body is a reference-counted copy of the published bytes, the gzip variant is made once per
/// artifact (the `Compress` middleware leaves a response with `Content-Encoding` alone), and
/// `HEAD` gets the same headers (actix drops the body and keeps `Content-Length`).
pub fn serve(req: &HttpRequest, a: &Artifact, ttl: u64) -> HttpResponse {
    let etag = header::HeaderValue::from_str(&a.etag)
        .unwrap_or(header::HeaderValue::from_static("W/\"\""));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, &a.etag));
    if fresh {
        let mut r = HttpResponse::NotModified();
        r.insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache_control(ttl)));
        return r.finish();
    }
    let mut r = HttpResponse::Ok();
    r.insert_header((
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(a.content_type),
    ))
    .insert_header((header::ETAG, etag))
    .insert_header((header::CACHE_CONTROL, cache_control(ttl)));
    if a.body.len() >= GZIP_MIN {
        r.insert_header((
            header::VARY,
            header::HeaderValue::from_static("accept-encoding"),
        ));
        if accepts_gzip(req) {
            let gz = a.gzip.get_or_init(|| gzip(&a.body)).clone();
            r.insert_header((
                header::CONTENT_ENCODING,
                header::HeaderValue::from_static("gzip"),
            ));
            return r.body(gz);
        }
    }
    r.body(a.body.clone())
}

/// The key in [`crate::registry::Published`] and the route pattern of a published GET path,
/// when it has one of the plain shapes (`/v1/status/{issuer}/{list}`, `/v1/trust-list/{eco}`,
/// `/v1/bundle`, `/v1/status-compact`): the key is the path without `/v1/`, so nothing is
/// allocated. A path with escapes or any other shape goes through the router instead.
fn published_key(path: &str) -> Option<(&str, &'static str)> {
    let key = path.strip_prefix("/v1/")?;
    let plain = |s: &str| !s.is_empty() && !s.contains(['/', '%']);
    if key == "bundle" {
        return Some((key, "/v1/bundle"));
    }
    if key == crate::registry::COMPACT_KEY {
        return Some((key, "/v1/status-compact"));
    }
    if let Some(rest) = key.strip_prefix("status/") {
        let (issuer, list) = rest.split_once('/')?;
        return (plain(issuer) && plain(list)).then_some((key, "/v1/status/{issuer}/{list}"));
    }
    if let Some(eco) = key.strip_prefix("trust-list/") {
        return plain(eco).then_some((key, "/v1/trust-list/{eco}"));
    }
    None
}

/// Outermost middleware: a `GET` or `HEAD` of a published artifact is answered here, from the
/// bytes in memory with the headers [`serve`] sets and the security headers, and counted in the
/// metrics as its route; everything else (a missing artifact, a delta, any other route) goes on
/// through logging, compression, routing and the handlers. What this skips is what made the
/// registry slower than nginx serving the same bytes (`docs/BENCHMARKS.md`).
pub async fn published_fast_path(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method();
    let label = if method == actix_web::http::Method::GET {
        "GET"
    } else if method == actix_web::http::Method::HEAD {
        "HEAD"
    } else {
        ""
    };
    let hit = (!label.is_empty() && req.query_string().is_empty())
        .then(|| published_key(req.path()))
        .flatten()
        .and_then(|(key, pattern)| {
            let state = req.app_data::<web::Data<AppState>>()?;
            if (key == "bundle" || key == crate::registry::COMPACT_KEY)
                && state.published.is_stale()
            {
                // Rebuilt by the route's handler first.
                return None;
            }
            let a = state.published.get(key)?;
            Some((state.clone(), a, pattern))
        });
    let Some((state, a, pattern)) = hit else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let start = std::time::Instant::now();
    let mut resp = serve(req.request(), &a, state.ttl);
    let headers = resp.headers_mut();
    let n = if state.public_url.starts_with("https://") {
        5
    } else {
        4
    };
    for (k, v) in crate::startup::SECURITY_HEADERS.iter().take(n) {
        headers.insert(
            header::HeaderName::from_static(static_lower(k)),
            header::HeaderValue::from_static(v),
        );
    }
    state
        .metrics
        .request(pattern, label, resp.status().as_u16(), start.elapsed());
    let (r, _) = req.into_parts();
    Ok(ServiceResponse::new(r, resp).map_into_right_body())
}

/// The lower-case form `HeaderName::from_static` requires, of the security header names.
fn static_lower(name: &str) -> &'static str {
    match name {
        "Content-Security-Policy" => "content-security-policy",
        "X-Content-Type-Options" => "x-content-type-options",
        "Referrer-Policy" => "referrer-policy",
        "Permissions-Policy" => "permissions-policy",
        _ => "strict-transport-security",
    }
}

/// Rebuilds the bundle and the compact body when updates made them stale (under the registry
/// mutex, on the blocking pool: a group commit may hold it for a few milliseconds).
pub(super) async fn fresh(state: &AppState) -> Result<(), PublicError> {
    if !state.published.is_stale() {
        return Ok(());
    }
    let registry = state.registry.clone();
    web::block(move || {
        registry
            .lock()
            .map(|r| r.refresh_published())
            .map_err(|_| PublicError::Internal)
    })
    .await
    .map_err(|_| PublicError::Internal)?
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
    fresh(&state).await?;
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
    fresh(&state).await?;
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
    fn accept_encoding_gzip_and_q_zero() {
        use actix_web::test::TestRequest;
        let with = |v: &str| {
            super::accepts_gzip(
                &TestRequest::default()
                    .insert_header(("Accept-Encoding", v))
                    .to_http_request(),
            )
        };
        assert!(with("gzip"));
        assert!(with("br, gzip;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br"));
        assert!(!super::accepts_gzip(
            &TestRequest::default().to_http_request()
        ));
    }

    #[test]
    fn published_keys_are_the_plain_shapes_only() {
        use super::published_key as k;
        assert_eq!(k("/v1/bundle"), Some(("bundle", "/v1/bundle")));
        assert_eq!(
            k("/v1/status/acme/3"),
            Some(("status/acme/3", "/v1/status/{issuer}/{list}"))
        );
        assert_eq!(
            k("/v1/trust-list/catena-x").map(|x| x.0),
            Some("trust-list/catena-x")
        );
        assert_eq!(k("/v1/status-compact").map(|x| x.0), Some("status-compact"));
        for other in [
            "/v1/status/acme/3/x",
            "/v1/status/acme/",
            "/v1/status/%61cme/3",
            "/v1/trust-list/",
            "/v1/audit/head",
            "/v1/roots",
            "/v2/bundle",
            "/v1/bundle/",
        ] {
            assert_eq!(k(other), None, "{other}");
        }
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert!(super::matches("W/\"abc\"", "W/\"abc\""));
        assert!(super::matches("\"x\", \"abc\"", "W/\"abc\""));
        assert!(super::matches("*", "W/\"abc\""));
        assert!(!super::matches("\"abd\"", "W/\"abc\""));
    }
}
