//! HTTP handlers, by family: publication (GETs of signed artifacts), issuer requests
//! (signed status updates and allocation), operator actions, the Digital Link resolver,
//! and operations (health, metrics, OpenAPI).

mod inspector;
mod issuer;
mod operator;
mod ops;
mod passport;
mod publish;
mod resolver;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use actix_web::web;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::registry::{Gate, Published, Registry};
use crate::store::Store;

pub use ops::OPENAPI;
pub use publish::published_fast_path;
pub use resolver::DESCRIPTION_PATH as GS1_RESOLVER_DESCRIPTION;

/// Every route: `(method, path)` as in the OpenAPI document (a test keeps them in step).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/trust-list/{eco}"),
    ("get", "/v1/status/{issuer}/{list}"),
    ("get", "/v1/bundle"),
    ("get", "/v1/status-compact"),
    ("get", "/v1/roots"),
    ("post", "/v1/status"),
    ("post", "/v1/allocate"),
    ("post", "/v1/lifecycle"),
    ("get", "/v1/audit"),
    ("get", "/v1/audit/head"),
    ("post", "/v1/operator/trust-lists"),
    ("get", "/v1/operator/issuers"),
    ("post", "/v1/operator/issuers"),
    ("get", "/v1/operator/authority"),
    ("post", "/v1/operator/authority/keys"),
    ("post", "/v1/operator/authority/activate"),
    ("post", "/v1/passports"),
    ("get", "/v1/passports/{gtin}/{serial}"),
    ("post", "/v1/attestations"),
    ("get", "/v1/attestations/{hashDigest}"),
    ("put", "/v1/documents/{hashDigest}"),
    ("get", "/v1/documents/{hashDigest}"),
    ("get", "/v1/pack"),
    ("post", "/v1/pack"),
    ("post", "/v1/restricted"),
    ("post", "/v1/reports"),
    ("get", "/v1/reports/{gtin}/{serial}"),
    ("get", "/.well-known/gs1resolver"),
    ("get", "/01/{gtin}"),
    ("get", "/01/{gtin}/10/{lot}"),
    ("get", "/01/{gtin}/21/{serial}"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/v1/openapi.json"),
    ("get", "/{file}"),
];

/// Shared state of all handlers.
pub struct AppState {
    /// The registry (writes go through its mutex on the blocking pool).
    pub registry: Arc<Mutex<Registry>>,
    /// The group committer authenticated status updates and allocations go to.
    pub committer: crate::registry::Committer,
    /// What issuer requests are authenticated against, outside the registry mutex.
    pub gate: Arc<RwLock<Arc<Gate>>>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Bytes served by GETs.
    pub published: Arc<Published>,
    /// Storage (audit reads).
    pub store: Arc<dyn Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// SHA-256 of the operator token.
    pub token_digest: [u8; 32],
    /// The scanner page's directory.
    pub web_dir: PathBuf,
    /// Public URL, no trailing slash.
    pub public_url: String,
    /// The Content-Security-Policy every response carries (`startup::CSP`, or
    /// `startup::CSP_LOOPBACK` for a demo or dev server on http loopback).
    pub csp: &'static str,
    /// `Cache-Control: max-age` of published artifacts.
    pub ttl: u64,
    /// `GET /v1/roots`: the pinned ecosystem roots, as JSON, for verifier pages.
    pub roots_json: String,
    /// The bound on `/v1/pack` work (`publish::PackGate`).
    pub pack_gate: Arc<publish::PackGate>,
}

/// Registers every API route (static files are added by the caller, last).
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The signed updates first: every request is matched against the routes in this order,
    // and each dynamic one before them costs a pattern match (`regex_lite` took 2.6% of the
    // server's profile samples under the update load). Static paths that overlap no other.
    cfg.route("/v1/status", web::post().to(issuer::status))
        .route("/v1/allocate", web::post().to(issuer::allocate))
        .route("/v1/lifecycle", web::post().to(issuer::lifecycle))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/metrics", web::get().to(ops::metrics))
        .route("/v1/openapi.json", web::get().to(ops::openapi))
        .route("/v1/trust-list/{eco}", web::get().to(publish::trust_list))
        .route("/v1/trust-list/{eco}", web::head().to(publish::trust_list))
        .route(
            "/v1/status/{issuer}/{list}",
            web::get().to(publish::status_list),
        )
        .route(
            "/v1/status/{issuer}/{list}",
            web::head().to(publish::status_list),
        )
        .route("/v1/bundle", web::get().to(publish::bundle))
        .route("/v1/bundle", web::head().to(publish::bundle))
        .route("/v1/status-compact", web::get().to(publish::status_compact))
        .route(
            "/v1/status-compact",
            web::head().to(publish::status_compact),
        )
        .route("/v1/roots", web::get().to(publish::roots))
        .route("/v1/roots", web::head().to(publish::roots))
        .route("/v1/audit/head", web::head().to(publish::audit_head))
        .route("/v1/audit", web::get().to(operator::audit))
        .route("/v1/audit/head", web::get().to(publish::audit_head))
        .route(
            "/v1/operator/trust-lists",
            web::post().to(operator::upload_trust_list),
        )
        .route(
            "/v1/operator/issuers",
            web::get().to(operator::list_issuers),
        )
        .route("/v1/operator/issuers", web::post().to(operator::onboard))
        .route("/v1/operator/authority", web::get().to(operator::authority))
        .route(
            "/v1/operator/authority/keys",
            web::post().to(operator::new_key),
        )
        .route(
            "/v1/operator/authority/activate",
            web::post().to(operator::activate),
        )
        .route("/v1/passports", web::post().to(passport::upload_passport))
        .route(
            "/v1/passports/{gtin}/{serial}",
            web::get().to(passport::chain),
        )
        .route(
            "/v1/attestations",
            web::post().to(passport::upload_attestation),
        )
        .route(
            "/v1/attestations/{hashDigest}",
            web::get().to(passport::get_attestation),
        )
        .route(
            "/v1/documents/{hashDigest}",
            web::put().to(passport::put_document),
        )
        .route(
            "/v1/documents/{hashDigest}",
            web::get().to(passport::get_document),
        )
        .route("/v1/pack", web::get().to(passport::pack_get))
        .route("/v1/pack", web::post().to(passport::pack_post))
        .route("/v1/restricted", web::post().to(inspector::restricted))
        .route("/v1/reports", web::post().to(inspector::upload_report))
        .route(
            "/v1/reports/{gtin}/{serial}",
            web::get().to(inspector::list_reports),
        )
        .route(
            resolver::DESCRIPTION_PATH,
            web::get().to(resolver::description),
        )
        .route(
            resolver::DESCRIPTION_PATH,
            web::head().to(resolver::description),
        )
        // Every path under /01/ is the resolver's, a malformed one included (400, not the
        // static files' 404); the three shapes of ROUTES are named for the metrics' labels.
        .route("/01", web::get().to(resolver::digital_link))
        .route("/01", web::head().to(resolver::digital_link));
    for pattern in [
        "/01/{gtin}",
        "/01/{gtin}/10/{lot}",
        "/01/{gtin}/21/{serial}",
        "/01/{path:.*}",
    ] {
        cfg.route(pattern, web::get().to(resolver::digital_link))
            .route(pattern, web::head().to(resolver::digital_link));
    }
}

/// Whether the request's `Content-Type` is `want` (parameters ignored).
fn content_type_is(req: &actix_web::HttpRequest, want: &str) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

/// Reads a body up to `limit` bytes; `None` when larger.
async fn read_limited(
    req: &actix_web::HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Option<web::Bytes>, actix_web::Error> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Ok(None);
    }
    match payload.to_bytes_limited(limit).await {
        Ok(r) => r.map(Some),
        Err(_) => Ok(None),
    }
}
