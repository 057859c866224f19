//! The GS1 Digital Link resolver (SPEC.md section 6.2): `GET /01/{gtin}/21/{serial}` answers
//! the verifier page to browsers, the current passport version to `Accept: application/vc+jwt`
//! (`passport-not-held` when none is), and an RFC 9264 linkset to
//! `Accept: application/linkset+json` or `?linkType=all`. `?linkType={type}` (`gs1:pip` or the
//! full `https://gs1.org/voc/...` URI) redirects (307) to the first link of that type, as
//! GS1-Conformant resolvers do; a type the item has no link of is a 404 problem
//! (`link-type-not-found`) rather than the default link, so a machine client asking for a
//! certificate is never handed the HTML page.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use cellproof_core::DigitalLink;
use serde_json::{json, Map, Value};

use super::AppState;
use crate::errors::PublicError;
use crate::registry::subject_of;

/// GS1 Web Vocabulary link types.
const GS1_VOC: &str = "https://gs1.org/voc/";
const GS1_PIP: &str = "https://gs1.org/voc/pip";
const GS1_DEFAULT: &str = "https://gs1.org/voc/defaultLink";
const GS1_CERTIFICATION: &str = "https://gs1.org/voc/certificationInfo";
/// The passport's current version and its chain (no GS1 term: extension relation types).
pub const REL_PASSPORT: &str = "https://cellproof.dev/rel/passport";
/// The version chain with the attestations (`GET /v1/passports/{gtin}/{serial}`).
pub const REL_CHAIN: &str = "https://cellproof.dev/rel/passport-chain";
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
    let link_type = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "linkType")
            .map(|(_, v)| v.to_owned())
    });
    if accept.contains("application/linkset+json") || link_type.is_some() {
        let links = linkset(&state, &link, &anchor).await?;
        match link_type.as_deref() {
            None | Some("all") | Some("linkset") => {
                return Ok(HttpResponse::Ok()
                    .content_type("application/linkset+json")
                    .insert_header((header::VARY, "Accept"))
                    .body(json!({ "linkset": [links] }).to_string()));
            }
            Some(t) => {
                let rel = t
                    .strip_prefix("gs1:")
                    .map(|s| format!("{GS1_VOC}{s}"))
                    .unwrap_or_else(|| t.to_owned());
                let href = links
                    .get(&rel)
                    .and_then(|l| l.get(0))
                    .and_then(|l| l.get("href"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| PublicError::LinkTypeNotFound {
                        link_type: t.chars().take(100).collect(),
                    })?;
                return Ok(HttpResponse::TemporaryRedirect()
                    .insert_header((header::LOCATION, href.to_owned()))
                    .insert_header((header::VARY, "Accept"))
                    .finish());
            }
        }
    }
    if accept.contains("application/vc+jwt") {
        let a = state
            .published
            .get(&format!("passport-current/{}", link.path()))
            .ok_or(PublicError::PassportNotHeld)?;
        let mut r = super::publish::serve(&req, &a, 0);
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-cache"),
        );
        r.headers_mut()
            .insert(header::VARY, header::HeaderValue::from_static("Accept"));
        return Ok(r);
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

/// The item's links, by relation type: the page, the passport and its chain, an attestation
/// per listing (`gs1:certificationInfo`), every document link object of the current version
/// under its own GS1 `linkType` (`gs1:sustainabilityInfo` for the carbon-footprint
/// declaration, `gs1:certificationInfo` otherwise), the status lists.
async fn linkset(
    state: &AppState,
    link: &DigitalLink,
    anchor: &str,
) -> Result<Map<String, Value>, PublicError> {
    let registry = state.registry.clone();
    let path = link.path();
    let item = web::block(move || registry.lock().ok().and_then(|r| r.item(&path)))
        .await
        .map_err(|_| PublicError::Internal)?;
    let mut links = Map::new();
    links.insert("anchor".into(), anchor.into());
    let page = json!([{"href": anchor, "type": "text/html",
                       "title": "Cellproof battery passport verifier"}]);
    links.insert(GS1_PIP.into(), page.clone());
    links.insert(GS1_DEFAULT.into(), page);
    let base = &state.public_url;
    if let Some(current) = state
        .published
        .get(&format!("passport-current/{}", link.path()))
    {
        let jws = String::from_utf8_lossy(&current.body).into_owned();
        links.insert(
            REL_PASSPORT.into(),
            json!([{"href": anchor, "type": "application/vc+jwt",
                    "title": "Battery passport (current version)"}]),
        );
        links.insert(
            REL_CHAIN.into(),
            json!([{"href": format!("{base}/v1/passports/{}/{}", link.gtin,
                                    link.path().split_once("/21/").map_or("", |p| p.1)),
                    "type": "application/json",
                    "title": "Battery passport versions and attestations"}]),
        );
        let cs = subject_of(&jws).unwrap_or_default();
        let mut extra: Vec<(String, Value)> = Vec::new();
        if let Some(Value::Array(listings)) = cs.get("attestations") {
            for l in listings {
                let Some(d) = l.get("hashDigest").and_then(Value::as_str) else {
                    continue;
                };
                let topic = l.get("topic").and_then(Value::as_str).unwrap_or_default();
                let materials: Vec<&str> = l
                    .get("materials")
                    .and_then(Value::as_array)
                    .map(|m| m.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let title = if materials.is_empty() {
                    format!("Attestation: {topic}")
                } else {
                    format!("Attestation: {topic} ({})", materials.join(", "))
                };
                extra.push((
                    GS1_CERTIFICATION.into(),
                    json!({"href": format!("{base}/v1/attestations/{d}"),
                           "type": "application/vc+jwt", "title": title}),
                ));
            }
        }
        let mut docs = Vec::new();
        document_links(&Value::Object(cs), &mut docs, 0);
        for (rel, v) in docs {
            extra.push((rel, v));
        }
        for (rel, v) in extra {
            match links.get_mut(&rel) {
                Some(Value::Array(a)) => a.push(v),
                _ => {
                    links.insert(rel, Value::Array(vec![v]));
                }
            }
        }
    }
    if let Some((_, urls)) = item {
        links.insert(
            REL_STATUS.into(),
            urls.into_iter()
                .map(|(p, u)| json!({"href": u, "type": "application/vc+jwt", "title": p.as_str()}))
                .collect(),
        );
    }
    Ok(links)
}

/// Every document link object (`linkURL`, `hashDigest`) under a passport's subject, with its
/// GS1 relation type (`linkType` `gs1:xyz` or a full GS1 URI; anything else is
/// `gs1:certificationInfo`).
fn document_links(v: &Value, out: &mut Vec<(String, Value)>, depth: usize) {
    if depth > 8 || out.len() > 64 {
        return;
    }
    match v {
        Value::Object(o) => {
            if let (Some(href), Some(_)) = (
                o.get("linkURL").and_then(Value::as_str),
                o.get("hashDigest").and_then(Value::as_str),
            ) {
                let rel = match o.get("linkType").and_then(Value::as_str) {
                    Some(t)
                        if t.strip_prefix("gs1:").is_some_and(|n| {
                            !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric())
                        }) =>
                    {
                        format!("{GS1_VOC}{}", &t[4..])
                    }
                    Some(t) if t.starts_with(GS1_VOC) => t.to_owned(),
                    _ => GS1_CERTIFICATION.to_owned(),
                };
                let mut l = Map::new();
                l.insert("href".into(), href.into());
                if let Some(t) = o.get("mediaType").and_then(Value::as_str) {
                    l.insert("type".into(), t.into());
                }
                if let Some(t) = o.get("name").and_then(Value::as_str) {
                    l.insert("title".into(), t.into());
                }
                out.push((rel, Value::Object(l)));
                return;
            }
            for c in o.values() {
                document_links(c, out, depth + 1);
            }
        }
        Value::Array(a) => {
            for c in a {
                document_links(c, out, depth + 1);
            }
        }
        _ => {}
    }
}
