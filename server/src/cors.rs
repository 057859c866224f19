//! CORS for the public reads (SPEC.md sections 2.2 and 6.2): browser verifiers on other origins
//! fetch the resolver, linksets, passports, chains, attestations, documents, trust lists and
//! status lists directly (never through a proxy that would learn which battery was scanned).
//! Their `GET`/`HEAD` answers, errors included, carry `Access-Control-Allow-Origin: *` and
//! expose `Link`; `OPTIONS` on those paths answers 204 with the allowed methods. Nothing else is
//! allowed: no credentials, no request header beyond the CORS-safelisted ones (a preflight for
//! any other gets no `Access-Control-Allow-Headers`, so the browser refuses it), no write
//! method. Operator, upload and restricted routes get none of this.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpResponse;

/// The methods public paths allow (`Allow` and `Access-Control-Allow-Methods`).
pub const METHODS: &str = "GET, HEAD, OPTIONS";
/// How long a browser may keep a preflight answer (seconds).
const MAX_AGE: &str = "86400";

/// Public paths: the resolver (`/01/...` and its description), publication and the passport
/// reads. The POST routes `/v1/status` and `/v1/allocate` are not under these prefixes.
pub fn is_public(path: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "/01/",
        "/v1/trust-list/",
        "/v1/status/",
        "/v1/passports/",
        "/v1/attestations/",
        "/v1/documents/",
    ];
    const EXACT: [&str; 6] = [
        "/01",
        crate::routes::GS1_RESOLVER_DESCRIPTION,
        "/v1/bundle",
        "/v1/status-compact",
        "/v1/roots",
        "/v1/audit/head",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p)) || EXACT.contains(&path)
}

/// Adds the headers of a public `GET`/`HEAD` answer.
pub fn add(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Link"),
    );
}

/// The middleware: `OPTIONS` of a public path is answered here; a `GET` or `HEAD` of one gets
/// [`add`]'s headers whatever its status; every other request passes untouched.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().clone();
    if !is_public(req.path()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    if method == Method::OPTIONS {
        let resp = HttpResponse::NoContent()
            .insert_header((header::ALLOW, METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, METHODS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
            .finish();
        return Ok(req.into_response(resp).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    if method == Method::GET || method == Method::HEAD {
        add(res.headers_mut());
    }
    Ok(res.map_into_left_body())
}
