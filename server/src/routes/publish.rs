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
    serve_as(req, a, ttl, true)
}

/// [`serve`], gzip only when `compress` (otherwise `Content-Encoding: identity`, which the
/// `Compress` middleware leaves alone too).
fn serve_as(req: &HttpRequest, a: &Artifact, ttl: u64, compress: bool) -> HttpResponse {
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
    if !compress {
        r.insert_header((
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("identity"),
        ));
        return r.body(a.body.clone());
    }
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
            if key == crate::registry::COMPACT_KEY {
                // The full body and the cursor it brings a client to, taken together.
                let (a, cursor) = state.published.sync.lock().ok()?.full()?;
                return Some((state.clone(), a, pattern, Some(cursor)));
            }
            let a = state.published.get(key)?;
            Some((state.clone(), a, pattern, None))
        });
    let Some((state, a, pattern, cursor)) = hit else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let start = std::time::Instant::now();
    let mut resp = serve(req.request(), &a, state.ttl);
    let headers = resp.headers_mut();
    if let Some(c) = cursor.and_then(|c| header::HeaderValue::from_str(&c).ok()) {
        headers.insert(
            header::HeaderName::from_static(crate::registry::CURSOR_HEADER),
            c,
        );
    }
    let n = if state.public_url.starts_with("https://") {
        5
    } else {
        4
    };
    for (k, v) in crate::startup::SECURITY_HEADERS.iter().take(n) {
        let v = crate::startup::with_csp(k, v, state.csp);
        headers.insert(
            header::HeaderName::from_static(static_lower(k)),
            header::HeaderValue::from_static(v),
        );
    }
    // Every published artifact is a public read (cors.rs: the middleware this path skips).
    crate::cors::add(headers);
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
/// `?since=C`: only what changed after the version the client holds, `C` being the
/// `Cellproof-Cursor` of the last body it applied (or, from clients before the cursor, the
/// newest `validFrom` it holds), as delta records (full records for lists the history no
/// longer reaches). Every answer names the cursor it brings the client to.
///
/// A delta is built and signed at most once per bucket of `since` and published change
/// (`registry/sync.rs`): the sync mutex is held only to look it up or copy pointers, never
/// while building or signing (the tick takes that mutex under the registry lock), and the
/// build runs on the blocking pool. A `since` the history cannot place (in the future, another
/// registry's, older than the history) gets the full body, never a delta that misses lists.
#[tracing::instrument(skip(state, req))]
pub async fn status_compact(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    let mut since = None;
    for pair in req.query_string().split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("since", v)) if since.is_none() => {
                since = Some(crate::registry::Since::parse(v).ok_or(PublicError::SinceInvalid)?);
            }
            _ => return Err(PublicError::SinceInvalid),
        }
    }
    fresh(&state).await?;
    let not_found = || PublicError::NotFound {
        what: req.path().to_owned(),
    };
    let sync = || {
        state
            .published
            .sync
            .lock()
            .map_err(|_| PublicError::Internal)
    };
    let Some(since) = since else {
        let (a, cursor) = sync()?.full().ok_or_else(not_found)?;
        let mut r = serve(&req, &a, state.ttl);
        with_cursor(&mut r, &cursor);
        return Ok(r);
    };
    let (plan, cursor) = sync()?.plan(since).ok_or_else(not_found)?;
    let a = match plan {
        crate::registry::DeltaPlan::Ready(a) => a,
        crate::registry::DeltaPlan::Build(b) => {
            let metrics = state.metrics.clone();
            web::block(move || b.run(|| metrics.count("cellproof_sync_delta_builds_total")))
                .await
                .map_err(|_| PublicError::Internal)?
        }
    };
    // A delta changes with every publication: revalidate, never reuse a cached one. Sent as
    // is: Golomb-Rice codes are within a few percent of the entropy bound (docs/BENCHMARKS.md),
    // so compressing each delta would only spend the CPU this route bounds.
    let mut r = serve_as(&req, &a, 0, false);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    with_cursor(&mut r, &cursor);
    Ok(r)
}

/// Adds the `Cellproof-Cursor` header (`docs/status-sync.md`).
fn with_cursor(r: &mut HttpResponse, cursor: &str) {
    if let Ok(v) = header::HeaderValue::from_str(cursor) {
        r.headers_mut().insert(
            header::HeaderName::from_static(crate::registry::CURSOR_HEADER),
            v,
        );
    }
}

/// Most packs built at once (`GET`/`POST /v1/pack`): each reads and re-encodes up to
/// [`super::passport::MAX_PACK_DOCUMENT_BYTES`] of documents; a pack past it is refused.
pub const PACK_CONCURRENCY: usize = 2;

/// Pack bytes built per second of the registry's clock, over all clients, and the most saved
/// up (a burst of two full-size packs).
pub const PACK_BYTES_PER_SECOND: u64 = 32 * 1024 * 1024;

/// What a pack costs the budget at least, however small (the bundle is parsed and encoded
/// again for each).
pub const PACK_MIN_CHARGE: u64 = 256 * 1024;

/// Bounds the work of unauthenticated pack requests: at most [`PACK_CONCURRENCY`] at once and
/// [`PACK_BYTES_PER_SECOND`] built (a token bucket on the injected clock, charged with each
/// pack's size once built). Past either, `503 pack-busy` with `Retry-After`, before any work.
#[derive(Debug)]
pub struct PackGate {
    in_flight: std::sync::atomic::AtomicUsize,
    /// (second of the last refill, bytes available: negative after a large pack).
    budget: std::sync::Mutex<(u64, i64)>,
}

impl Default for PackGate {
    fn default() -> Self {
        PackGate {
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            budget: std::sync::Mutex::new((0, 0)),
        }
    }
}

/// A pack being built; charges its size on [`PackPermit::charge`] and frees its slot on drop.
#[derive(Debug)]
pub struct PackPermit(std::sync::Arc<PackGate>);

impl Drop for PackPermit {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl PackPermit {
    /// Takes a built pack's size (at least [`PACK_MIN_CHARGE`]) from the budget.
    pub fn charge(&self, bytes: usize) {
        let cost = i64::try_from((bytes as u64).max(PACK_MIN_CHARGE)).unwrap_or(i64::MAX);
        if let Ok(mut b) = self.0.budget.lock() {
            b.1 = b.1.saturating_sub(cost);
        }
    }
}

impl PackGate {
    /// A slot for one pack at `now`, or the seconds to wait.
    pub fn enter(self: &std::sync::Arc<Self>, now: u64) -> Result<PackPermit, u64> {
        use std::sync::atomic::Ordering;
        let rate = i64::try_from(PACK_BYTES_PER_SECOND).unwrap_or(i64::MAX);
        {
            let Ok(mut b) = self.budget.lock() else {
                return Err(1);
            };
            let (last, avail) = *b;
            // Refilled by the seconds elapsed (none when the clock went back), up to the burst.
            let secs = i64::try_from(now.saturating_sub(last)).unwrap_or(i64::MAX);
            let refill = if last == 0 {
                2 * rate
            } else {
                secs.saturating_mul(rate)
            };
            let avail = avail.saturating_add(refill).min(2 * rate);
            *b = (now, avail);
            if avail <= 0 {
                // Whole seconds until the budget is positive again.
                let wait = (avail.unsigned_abs() / PACK_BYTES_PER_SECOND) + 1;
                return Err(wait);
            }
        }
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= PACK_CONCURRENCY {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(1);
        }
        Ok(PackPermit(self.clone()))
    }
}

/// `503 pack-busy` with `Retry-After` (RFC 9110 section 10.2.3), counted in the metrics.
pub fn pack_busy(state: &AppState, retry_after: u64) -> HttpResponse {
    state.metrics.count("cellproof_pack_refused_total");
    let mut r = PublicError::PackBusy.problem().response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    r
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
