//! The GS1-Conformant resolver (SPEC.md section 6.2, GS1-Conformant Resolver 1.1): every
//! Digital Link path under `/01/` is read by the core's one label parser (`Label::parse`, SPEC.md
//! section 2.1 item 3: GTIN-8/12/13 padded to 14, qualifiers 22, 10, 21 of set 82), and a
//! malformed one is 400 `digital-link-invalid` with the core's code, never a 404.
//!
//! What a request gets, at every level (item `01/{gtin}/21/{serial}`, lot `01/{gtin}/10/{lot}`,
//! model `01/{gtin}`):
//! - the verifier page by default: the item's default link is the page itself, so a browser is
//!   served it directly rather than redirected;
//! - `Accept: application/vc+jwt`: the item's current passport (`passport-not-held` when none is);
//! - `Accept: application/linkset+json`, `?linkType=linkset` or `?linkType=all`: an RFC 9264
//!   linkset in GS1's shape, one context per level from the most specific up (an item's linkset
//!   holds its lot's, when the path names one, and its model's), with the JSON-LD context in a
//!   `Link` header;
//! - `?linkType={type}` (`gs1:pip`, `cellproof:passport`, or the full URI): a 307 to the first
//!   link of that type, walking up from the most specific level, with the request's other query
//!   parameters passed on (percent-encoded wherever a byte could end a header value or a URI);
//!   a type no level has a link of is 404 `link-type-not-found`, so a machine client asking for a
//!   certificate is never handed the HTML page.
//!
//! `GET /.well-known/gs1resolver` describes the resolver.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use cellproof_core::{DigitalLink, Label};
use serde_json::{json, Map, Value};

use super::AppState;
use crate::errors::PublicError;
use crate::registry::subject_of;

/// GS1 Web Vocabulary link types.
const GS1_VOC: &str = "https://gs1.org/voc/";
const GS1_PIP: &str = "https://gs1.org/voc/pip";
const GS1_DEFAULT: &str = "https://gs1.org/voc/defaultLink";
const GS1_CERTIFICATION: &str = "https://gs1.org/voc/certificationInfo";
/// GS1's link type for a digital product passport (SPEC.md section 2.2 reads it after ours).
pub const GS1_DPP: &str = "https://gs1.org/voc/dpp";
/// Cellproof's own relation types (extension relation types, RFC 8288 section 2.1.2).
pub const CELLPROOF_REL: &str = "https://cellproof.dev/rel/";
/// The passport's current version and its chain: the relations verifiers read (the core's,
/// SPEC.md section 2.2).
pub use cellproof_core::resolve::{REL_CHAIN, REL_PASSPORT};
/// The status lists of the item (no GS1 term exists).
pub const REL_STATUS: &str = "https://cellproof.dev/rel/status-list";
/// The `Link` header of every linkset answer: GS1's JSON-LD context for it (GS1-Conformant
/// Resolver: the linkset is plain RFC 9264 JSON, the context is referenced, not embedded).
pub const LINKSET_CONTEXT_LINK: &str = "<https://ref.gs1.org/standards/resolver/linkset-context>; \
     rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"";
/// Where the resolver description lives (GS1-Conformant Resolver).
pub const DESCRIPTION_PATH: &str = "/.well-known/gs1resolver";
/// The base the request path is read against: only the path is the label (the query is the
/// resolver's, `linkType` and attributes to pass on), and the host plays no part.
const PARSE_BASE: &str = "https://resolver.invalid";
/// Longest `linkType` value read (a full GS1 or Cellproof URI is far shorter).
const MAX_LINK_TYPE: usize = 200;

/// `GET /.well-known/gs1resolver`: the resolver description. The members GS1's resolver
/// description file schema names; `linkTypeDefaultCanBeLinkset` is false because the default
/// link is the verifier page.
pub async fn description(state: web::Data<AppState>) -> HttpResponse {
    let body = json!({
        "name": "Cellproof battery passport registry",
        "resolverRoot": state.public_url,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [
            {"namespace": GS1_VOC, "prefix": "gs1:"},
            {"namespace": CELLPROOF_REL, "prefix": "cellproof:"},
        ],
        "linkTypeDefaultCanBeLinkset": false,
        "linkTypeDefaultCanBeAll": false,
        "supportsSemanticInterpretation": false,
        "validatesAIcombinations": true,
        "jsonLdContextLocation": "https://ref.gs1.org/standards/resolver/linkset-context",
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.to_string())
}

/// The levels a Digital Link path names, most specific first, each with its canonical URI.
struct Levels {
    /// The battery (GTIN and serial), when the path names AI 21.
    item: Option<DigitalLink>,
    /// `01/{gtin}/10/{lot}`, when the path names AI 10.
    lot: Option<(String, String)>,
    /// `01/{gtin}`.
    model: String,
    gtin: String,
}

/// Reads the request path with the core's label parser. One trailing slash is tolerated (GS1
/// resolvers accept it); the canonical URIs never carry it.
fn levels(path: &str) -> Result<Levels, PublicError> {
    let invalid = |e: cellproof_core::Error| PublicError::DigitalLinkInvalid {
        code: e.code(),
        detail: e.to_string(),
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.contains(['#', '?']) {
        return Err(invalid(cellproof_core::Error::DigitalLinkInvalid {
            reason: "a path with a query or fragment inside it",
        }));
    }
    let label = Label::parse(&format!("{PARSE_BASE}{path}")).map_err(invalid)?;
    let Some(gtin) = label.gtin.clone() else {
        return Err(invalid(cellproof_core::Error::DigitalLinkInvalid {
            reason: "the path names no AI 01",
        }));
    };
    let only = |lot: Option<String>| {
        Label {
            cpv: None,
            lot,
            serial: None,
            ..label.clone()
        }
        .identifier()
    };
    let lot = match &label.lot {
        Some(l) => only(Some(l.clone())).map(|id| (id, l.clone())),
        None => None,
    };
    Ok(Levels {
        item: label.item(),
        lot,
        model: only(None).unwrap_or_else(|| format!("01/{gtin}")),
        gtin,
    })
}

/// The `linkType` query parameter (the first one), percent-decoded, and every other parameter
/// as written but made safe to pass on in a `Location` header.
struct Query {
    link_type: Option<String>,
    pass_on: Vec<String>,
}

fn query(raw: &str) -> Query {
    let mut link_type = None;
    let mut pass_on = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("linkType", v)) => {
                if link_type.is_none() {
                    // A value that does not decode names no link type: it is kept as written
                    // and matches none (404), like any other unknown type.
                    link_type = Some(pct_decode(v).unwrap_or_else(|| v.to_owned()));
                }
            }
            None if part == "linkType" => {
                link_type.get_or_insert_with(String::new);
            }
            _ => pass_on.push(header_safe(part)),
        }
    }
    Query { link_type, pass_on }
}

/// Strict percent-decoding of a short value (`%` must be followed by two hex digits; the
/// result must be UTF-8). `None` otherwise or past [`MAX_LINK_TYPE`].
fn pct_decode(s: &str) -> Option<String> {
    if s.len() > MAX_LINK_TYPE * 3 {
        return None;
    }
    String::from_utf8(cellproof_core::pct_decode(s, false)?)
        .ok()
        .filter(|v| v.len() <= MAX_LINK_TYPE)
}

/// A query parameter passed on in a redirect: RFC 3986 query characters are kept, except the
/// few that could end a header value, a `Link` target or a quoted string (`<`, `>`, `"`, `\`,
/// `,`, `;`, space and controls are not query characters anyway, or are escaped here); every
/// other byte, and a `%` that starts no escape, is percent-encoded. Nothing from the request
/// reaches a header unescaped.
fn header_safe(part: &str) -> String {
    let b = part.as_bytes();
    let mut out = String::with_capacity(b.len());
    for (i, &c) in b.iter().enumerate() {
        let escape_start = c == b'%'
            && b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        let keep = c.is_ascii_alphanumeric() || b"-._~!$'()*+=:@/?".contains(&c) || escape_start;
        if keep {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// The relation URI a `linkType` value names: a GS1 CURIE or URI (also written with
/// `http://` or `ref.gs1.org`), or a Cellproof one; `None` for anything else.
fn relation(t: &str) -> Option<String> {
    let gs1_name = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric());
    let own_name = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    for prefix in [
        "gs1:",
        GS1_VOC,
        "http://gs1.org/voc/",
        "https://ref.gs1.org/voc/",
    ] {
        if let Some(n) = t.strip_prefix(prefix) {
            return gs1_name(n).then(|| format!("{GS1_VOC}{n}"));
        }
    }
    for prefix in ["cellproof:", CELLPROOF_REL] {
        if let Some(n) = t.strip_prefix(prefix) {
            return own_name(n).then(|| format!("{CELLPROOF_REL}{n}"));
        }
    }
    None
}

/// `GET` and `HEAD` of every path under `/01/` (SPEC.md section 6.2).
#[tracing::instrument(skip_all, fields(path = %req.path()))]
pub async fn digital_link(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PublicError> {
    // The raw path: the core percent-decodes the values itself (GS1 rules).
    let levels = levels(req.uri().path())?;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let q = query(req.uri().query().unwrap_or_default());
    let base = &state.public_url;
    let wants_linkset = matches!(q.link_type.as_deref(), Some("linkset" | "all"))
        || (q.link_type.is_none() && accept.contains("application/linkset+json"));
    if wants_linkset {
        let contexts = linkset(&state, &levels).await?;
        return Ok(HttpResponse::Ok()
            .content_type("application/linkset+json")
            .insert_header((header::VARY, "Accept"))
            .insert_header((header::LINK, LINKSET_CONTEXT_LINK))
            .body(json!({ "linkset": contexts }).to_string()));
    }
    if let Some(t) = q.link_type.as_deref() {
        let not_found = || PublicError::LinkTypeNotFound {
            link_type: t.chars().take(100).collect(),
        };
        let rel = relation(t).ok_or_else(not_found)?;
        let contexts = linkset(&state, &levels).await?;
        // GS1's walk-up: the first link of the type at the most specific level that has one.
        let href = contexts
            .iter()
            .find_map(|c| c.get(&rel)?.get(0)?.get("href")?.as_str())
            .ok_or_else(not_found)?;
        let location = if q.pass_on.is_empty() {
            href.to_owned()
        } else {
            let sep = if href.contains('?') { '&' } else { '?' };
            format!("{href}{sep}{}", q.pass_on.join("&"))
        };
        let location =
            header::HeaderValue::from_str(&location).map_err(|_| PublicError::Internal)?;
        return Ok(HttpResponse::TemporaryRedirect()
            .insert_header((header::LOCATION, location))
            .insert_header((header::VARY, "Accept"))
            .finish());
    }
    if accept.contains("application/vc+jwt") {
        let a = levels
            .item
            .as_ref()
            .and_then(|i| {
                state
                    .published
                    .get(&format!("passport-current/{}", i.path()))
            })
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
    let anchor = match &levels.item {
        Some(i) => format!("{base}/{}", i.path()),
        None => match &levels.lot {
            Some((id, _)) => format!("{base}/{id}"),
            None => format!("{base}/{}", levels.model),
        },
    };
    // The anchor is the core's canonical identifier (values percent-encoded where GS1
    // requires, so no `<`, `>` or `"`) under the configured public URL.
    let link =
        format!("<{anchor}?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"");
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::VARY, "Accept"))
        .insert_header((header::LINK, link))
        .body(html))
}

/// A page link object: the verifier page at `href`.
fn page(href: &str) -> Value {
    json!([{"href": href, "title": "Cellproof battery passport verifier", "type": "text/html"}])
}

/// The linkset's contexts, most specific first: the item's (when the path names a serial),
/// the lot's (when it names a lot), the model's. Every context has an `anchor`, an
/// `itemDescription`, and the verifier page as `gs1:pip` and `gs1:defaultLink`.
async fn linkset(
    state: &AppState,
    levels: &Levels,
) -> Result<Vec<Map<String, Value>>, PublicError> {
    let base = &state.public_url;
    let mut out = Vec::new();
    if let Some(item) = &levels.item {
        out.push(item_context(state, item).await?);
    }
    if let Some((id, lot)) = &levels.lot {
        let anchor = format!("{base}/{id}");
        let mut c = Map::new();
        c.insert("anchor".into(), anchor.clone().into());
        c.insert(
            "itemDescription".into(),
            format!("Battery lot {lot} of GTIN {}", levels.gtin).into(),
        );
        c.insert(GS1_PIP.into(), page(&anchor));
        c.insert(GS1_DEFAULT.into(), page(&anchor));
        out.push(c);
    }
    let anchor = format!("{base}/{}", levels.model);
    let mut c = Map::new();
    c.insert("anchor".into(), anchor.clone().into());
    c.insert(
        "itemDescription".into(),
        format!("Battery model, GTIN {}", levels.gtin).into(),
    );
    c.insert(GS1_PIP.into(), page(&anchor));
    c.insert(GS1_DEFAULT.into(), page(&anchor));
    out.push(c);
    Ok(out)
}

/// The item's links, by relation type: with a passport held, the current version (ours first,
/// then GS1's `dpp`) and its chain; the page; an attestation per listing
/// (`gs1:certificationInfo`); every document link object of the current version under its own
/// GS1 `linkType` (`gs1:sustainabilityInfo` for the carbon-footprint declaration,
/// `gs1:certificationInfo` otherwise); the status lists.
async fn item_context(
    state: &AppState,
    item: &DigitalLink,
) -> Result<Map<String, Value>, PublicError> {
    let registry = state.registry.clone();
    let path = item.path();
    let known = web::block(move || registry.lock().ok().and_then(|r| r.item(&path)))
        .await
        .map_err(|_| PublicError::Internal)?;
    let base = &state.public_url;
    let path = item.path();
    let anchor = format!("{base}/{path}");
    let mut links = Map::new();
    links.insert("anchor".into(), anchor.clone().into());
    links.insert(
        "itemDescription".into(),
        format!("Battery {}, serial {}", item.gtin, item.serial).into(),
    );
    let current = state.published.get(&format!("passport-current/{path}"));
    if current.is_some() {
        let passport = json!([{"href": anchor, "title": "Battery passport (current version)",
                               "type": "application/vc+jwt"}]);
        links.insert(REL_PASSPORT.into(), passport.clone());
        links.insert(
            REL_CHAIN.into(),
            json!([{"href": format!("{base}/v1/passports/{}/{}", item.gtin,
                                    path.split_once("/21/").map_or("", |p| p.1)),
                    "title": "Battery passport versions and attestations",
                    "type": "application/json"}]),
        );
        links.insert(GS1_DPP.into(), passport);
    }
    links.insert(GS1_PIP.into(), page(&anchor));
    links.insert(GS1_DEFAULT.into(), page(&anchor));
    if let Some(current) = current {
        let jws = String::from_utf8_lossy(&current.body).into_owned();
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
                    json!({"href": format!("{base}/v1/attestations/{d}"), "title": title,
                           "type": "application/vc+jwt"}),
                ));
            }
        }
        document_links(&Value::Object(cs), &mut extra, 0);
        for (rel, v) in extra {
            match links.get_mut(&rel) {
                Some(Value::Array(a)) => a.push(v),
                _ => {
                    links.insert(rel, Value::Array(vec![v]));
                }
            }
        }
    }
    if let Some((_, urls)) = known {
        links.insert(
            REL_STATUS.into(),
            urls.into_iter()
                .map(|(p, u)| json!({"href": u, "title": p.as_str(), "type": "application/vc+jwt"}))
                .collect(),
        );
    }
    Ok(links)
}

/// A media type fit for a link object's `type`: `type/subtype` of RFC 6838 restricted-name
/// characters, each part starting and ending alphanumeric (GS1's linkset schema asks for
/// `\w+/[-+.\w]+`); `None` for anything else, which is then left out.
fn media_type(t: &str) -> Option<&str> {
    let part = |p: &str| {
        let b = p.as_bytes();
        !b.is_empty()
            && b.len() <= 127
            && b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric)
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"._+-".contains(c))
    };
    let (ty, sub) = t.split_once('/')?;
    (part(ty) && part(sub)).then_some(t)
}

/// Every document link object (`linkURL`, `hashDigest`) under a passport's subject, with its
/// GS1 relation type (`linkType` `gs1:xyz` or a full GS1 URI; anything else is
/// `gs1:certificationInfo`). Only http(s) links are listed (a linkset's `href` is one, GS1's
/// schema), each with a title (the document's `linkName`, or 1.1's `name`, else "Document").
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
                let web = ["https://", "http://"].iter().any(|s| {
                    href.strip_prefix(s).is_some_and(|h| {
                        h.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                    })
                });
                if !web {
                    return;
                }
                let rel = o
                    .get("linkType")
                    .and_then(Value::as_str)
                    .and_then(relation)
                    .filter(|r| r.starts_with(GS1_VOC))
                    .unwrap_or_else(|| GS1_CERTIFICATION.to_owned());
                let mut l = Map::new();
                l.insert("href".into(), href.into());
                // UNTP's `linkName` (SPEC.md 1.2 section 3.2), 1.1's `name`.
                let title = o
                    .get("linkName")
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("Document");
                l.insert("title".into(), title.into());
                if let Some(t) = o
                    .get("mediaType")
                    .and_then(Value::as_str)
                    .and_then(media_type)
                {
                    l.insert("type".into(), t.into());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_on_query_parameters_never_carry_header_syntax() {
        for (raw, want) in [
            ("17=261231", "17=261231"),
            ("a=%41%zz", "a=%41%25zz"),
            ("x=<y>\"z\"", "x=%3Cy%3E%22z%22"),
            ("x=a,b;c d", "x=a%2Cb%3Bc%20d"),
            ("x=\r\nSet-Cookie:1", "x=%0D%0ASet-Cookie:1"),
            ("x=\u{e9}", "x=%C3%A9"),
        ] {
            assert_eq!(header_safe(raw), want, "{raw}");
        }
        let q = query("linkType=gs1%3Apip&17=261231&linkType=gs1:dpp&&b");
        assert_eq!(q.link_type.as_deref(), Some("gs1:pip"));
        assert_eq!(q.pass_on, ["17=261231", "b"]);
    }

    #[test]
    fn link_types_are_gs1_or_cellproof_relations() {
        for (t, want) in [
            ("gs1:pip", Some("https://gs1.org/voc/pip")),
            ("https://gs1.org/voc/dpp", Some(GS1_DPP)),
            ("http://gs1.org/voc/dpp", Some(GS1_DPP)),
            ("https://ref.gs1.org/voc/dpp", Some(GS1_DPP)),
            ("cellproof:passport-chain", Some(REL_CHAIN)),
            (REL_PASSPORT, Some(REL_PASSPORT)),
            ("gs1:", None),
            ("gs1:pip\r\nX: y", None),
            ("gs1:a-b", None),
            ("cellproof:Passport", None),
            ("https://evil.example/voc/pip", None),
            ("schema:x", None),
            ("", None),
        ] {
            assert_eq!(relation(t).as_deref(), want, "{t}");
        }
    }

    #[test]
    fn media_types_are_restricted_names() {
        assert_eq!(media_type("application/vc+jwt"), Some("application/vc+jwt"));
        assert_eq!(media_type("application/pdf"), Some("application/pdf"));
        for bad in [
            "pdf",
            "a/",
            "/b",
            "text/html; charset=x",
            "a/b/c",
            "+a/b",
            "a b/c",
        ] {
            assert_eq!(media_type(bad), None, "{bad}");
        }
    }
}
