//! The GS1 Digital Link resolver (SPEC.md section 6): `GET /01/{gtin}/21/{serial}` answers
//! the verifier page to browsers, an RFC 9264 linkset to `Accept: application/linkset+json`,
//! and a problem to `Accept: application/vc+jwt` (full passports, section 3, are not held).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use cellproof_core::DigitalLink;
use serde_json::json;

use super::AppState;
use crate::errors::PublicError;

/// GS1 Web Vocabulary link types.
const GS1_PIP: &str = "https://gs1.org/voc/pip";
const GS1_DEFAULT: &str = "https://gs1.org/voc/defaultLink";
/// The status lists of the item (no GS1 term exists; an extension relation type, RFC 8288).
pub const REL_STATUS: &str = "https://cellproof.dev/rel/status-list";

/// `GET /01/{gtin}/21/{serial}`.
#[tracing::instrument(skip_all, fields(path = %req.path()))]
pub async fn digital_link(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    // The raw path: the core percent-decodes the serial itself (GS1 rules).
    let link =
        DigitalLink::parse_path(req.uri().path()).map_err(|e| PublicError::DigitalLinkInvalid {
            code: e.code(),
            detail: e.to_string(),
        })?;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let anchor = format!("{}/{}", state.public_url, link.path());
    if accept.contains("application/linkset+json") {
        let registry = state.registry.clone();
        let path = link.path();
        let item = web::block(move || registry.lock().ok().and_then(|r| r.item(&path)))
            .await
            .map_err(|_| PublicError::Internal)?;
        let mut links = serde_json::Map::new();
        links.insert("anchor".into(), anchor.clone().into());
        let page = json!([{"href": anchor, "type": "text/html",
                           "title": "Cellproof battery passport verifier"}]);
        links.insert(GS1_PIP.into(), page.clone());
        links.insert(GS1_DEFAULT.into(), page);
        if let Some((_, urls)) = item {
            links.insert(
                REL_STATUS.into(),
                urls.into_iter()
                    .map(|(p, u)| json!({"href": u, "type": "application/vc+jwt", "title": p.as_str()}))
                    .collect(),
            );
        }
        return Ok(HttpResponse::Ok()
            .content_type("application/linkset+json")
            .insert_header((header::VARY, "Accept"))
            .body(json!({ "linkset": [links] }).to_string()));
    }
    if accept.contains("application/vc+jwt") {
        return Err(PublicError::PassportNotHeld);
    }
    let index = state.web_dir.join("index.html");
    let html = web::block(move || std::fs::read(index))
        .await
        .map_err(|_| PublicError::Internal)?
        .map_err(|_| PublicError::PageMissing)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "Accept"))
        .insert_header((
            header::LINK,
            format!("<{anchor}>; rel=\"{GS1_DEFAULT}\"; type=\"application/linkset+json\""),
        ))
        .body(html))
}
