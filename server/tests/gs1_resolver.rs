//! The registry as a GS1-Conformant resolver (SPEC.md section 6.2, "GS1-Conformant Resolver
//! 1.1"), against the real server on a port: the resolver description, linksets validated
//! against GS1's linkset schema (`tests/data/gs1-linkset-schema.json`), item, lot and model
//! levels, redirects that pass the query on, `HEAD`, CORS, and the paths and queries an
//! attacker would send.

mod common;

use std::io::{Read as _, Write as _};

use common::{kind, spawn_app, TestApp, PAGE, TOKEN};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

const REL_PASSPORT: &str = "https://cellproof.dev/rel/passport";
const REL_CHAIN: &str = "https://cellproof.dev/rel/passport-chain";
const REL_STATUS: &str = "https://cellproof.dev/rel/status-list";
const GS1_DPP: &str = "https://gs1.org/voc/dpp";
const GS1_PIP: &str = "https://gs1.org/voc/pip";
const CONTEXT_LINK: &str = "<https://ref.gs1.org/standards/resolver/linkset-context>; \
    rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"";
const GTIN: &str = "04012345000016";

/// The demo battery with a passport: its item URL (no fragment) and serial.
fn passport_item(app: &TestApp) -> (String, String) {
    let s = app.manifest["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "passport-valid")
        .unwrap();
    let url = s["url"].as_str().unwrap().split('#').next().unwrap();
    let serial = url.rsplit_once("/21/").unwrap().1.to_owned();
    assert!(
        url.starts_with(&app.url(&format!("/01/{GTIN}/21/"))),
        "{url}"
    );
    (url.to_owned(), serial)
}

fn no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(url: &str, accept: Option<&str>) -> (u16, HeaderMap, String) {
    let mut r = no_redirect().get(url);
    if let Some(a) = accept {
        r = r.header("Accept", a);
    }
    let r = r.send().await.unwrap();
    (
        r.status().as_u16(),
        r.headers().clone(),
        r.text().await.unwrap(),
    )
}

/// The linkset at `url` (with `Accept: application/linkset+json`), checked to be served as GS1
/// requires and valid against GS1's schema; its contexts.
async fn linkset(url: &str) -> Vec<Value> {
    let (s, h, body) = get(url, Some("application/linkset+json")).await;
    assert_eq!(s, 200, "{url}: {body}");
    assert_eq!(h["content-type"], "application/linkset+json");
    assert_eq!(h["link"], CONTEXT_LINK);
    let v: Value = serde_json::from_str(&body).unwrap();
    gs1_schema_valid(&v);
    v["linkset"].as_array().unwrap().clone()
}

/// GS1's linkset schema (tests/data/gs1-linkset-schema.json, draft-07), checked by hand: a JSON
/// Schema crate would bring two dozen crates and turn on serde_json's `float_roundtrip` for the
/// whole workspace's test build. [`schema_rules_are_the_files`] keeps these rules equal to the
/// file's; `{WORD}` below is the schema's `[a-zA-z0-9./]` (note `A-z`: also `[\]^_` and a
/// backtick, never `-` or `:`).
const SCHEMA_URI: &str = r"^https?://[a-zA-z0-9./]+";
const SCHEMA_RELATION: &str =
    r"(?!(anchor|itemDescription|description))^([a-z-]+$)|(^https?://[a-zA-z0-9./]+$)";
const SCHEMA_HREFLANG: &str = r"(^\w{2}$)|(^\w{2}-\w{2}$)";
const SCHEMA_TYPE: &str = r"\w+/[-+.\w]+";

/// `[a-zA-z0-9./]`.
fn word(b: u8) -> bool {
    (b'A'..=b'z').contains(&b) || b.is_ascii_digit() || b == b'.' || b == b'/'
}

/// `^https?://[a-zA-z0-9./]+` (a prefix), or with `$` the whole string.
fn uri_like(s: &str, whole: bool) -> bool {
    let Some(rest) = s.strip_prefix("https://").or(s.strip_prefix("http://")) else {
        return false;
    };
    let b = rest.as_bytes();
    b.first().is_some_and(|c| word(*c)) && (!whole || b.iter().all(|c| word(*c)))
}

/// The relation pattern: `[a-z-]+` not starting with a member name, or a whole `uri_like`.
fn relation_ok(k: &str) -> bool {
    let token = !k.is_empty()
        && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && !["anchor", "itemDescription", "description"]
            .iter()
            .any(|m| k.starts_with(m));
    token || uri_like(k, true)
}

fn w(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `(^\w{2}$)|(^\w{2}-\w{2}$)`.
fn hreflang_ok(s: &str) -> bool {
    match s.as_bytes() {
        [a, b] => w(*a) && w(*b),
        [a, b, b'-', c, d] => w(*a) && w(*b) && w(*c) && w(*d),
        _ => false,
    }
}

/// `\w+/[-+.\w]+` found anywhere in the string.
fn type_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'/'
            && i > 0
            && b.get(i - 1).is_some_and(|p| w(*p))
            && b.get(i + 1).is_some_and(|n| w(*n) || b"-+.".contains(n))
    })
}

/// Every way `linkset` breaks GS1's schema, as `path: reason`.
fn gs1_schema_errors(linkset: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(top) = linkset.as_object() else {
        return vec!["/: not an object".into()];
    };
    for k in top.keys().filter(|k| *k != "linkset") {
        errors.push(format!("/{k}: not allowed"));
    }
    let Some(contexts) = top.get("linkset").and_then(Value::as_array) else {
        return vec!["/linkset: missing or not an array".into()];
    };
    for (i, c) in contexts.iter().enumerate() {
        let Some(c) = c.as_object() else {
            errors.push(format!("/linkset/{i}: not an object"));
            continue;
        };
        match c.get("anchor").and_then(Value::as_str) {
            Some(a) if uri_like(a, false) => {}
            _ => errors.push(format!("/linkset/{i}/anchor: missing or no http(s) URI")),
        }
        for (k, v) in c {
            let at = format!("/linkset/{i}/{k}");
            if ["anchor", "itemDescription", "description"].contains(&k.as_str()) {
                if !v.is_string() {
                    errors.push(format!("{at}: not a string"));
                }
                continue;
            }
            if !relation_ok(k) {
                errors.push(format!("{at}: a member the schema does not allow"));
                continue;
            }
            let Some(links) = v.as_array() else {
                errors.push(format!("{at}: not an array"));
                continue;
            };
            for (j, l) in links.iter().enumerate() {
                let at = format!("{at}/{j}");
                let Some(l) = l.as_object() else {
                    errors.push(format!("{at}: not an object"));
                    continue;
                };
                for req in ["href", "title"] {
                    if !l.contains_key(req) {
                        errors.push(format!("{at}: no {req}"));
                    }
                }
                for (m, x) in l {
                    let ok = match m.as_str() {
                        "href" => x.as_str().is_some_and(|h| uri_like(h, false)),
                        "title" => x.is_string(),
                        "hreflang" => x
                            .as_array()
                            .is_some_and(|a| a.iter().all(|t| t.as_str().is_some_and(hreflang_ok))),
                        "type" => x.as_str().is_some_and(type_ok),
                        "context" => x.is_array(),
                        "fwqs" | "public" => x.is_boolean(),
                        _ => false,
                    };
                    if !ok {
                        errors.push(format!("{at}/{m}: not allowed or malformed"));
                    }
                }
            }
        }
    }
    errors
}

#[test]
fn schema_rules_are_the_files() {
    // The hand-written rules above are the schema file's, pattern for pattern: a new version of
    // the file fails here until they are brought in step.
    let schema: Value = serde_json::from_str(include_str!("data/gs1-linkset-schema.json")).unwrap();
    let ctx = &schema["properties"]["linkset"]["items"];
    assert_eq!(schema["required"], json!(["linkset"]));
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(ctx["required"], json!(["anchor"]));
    assert_eq!(ctx["additionalProperties"], false);
    assert_eq!(ctx["properties"]["anchor"]["pattern"], SCHEMA_URI);
    let patterns = ctx["patternProperties"].as_object().unwrap();
    assert_eq!(patterns.keys().collect::<Vec<_>>(), [SCHEMA_RELATION]);
    let link = &patterns[SCHEMA_RELATION]["items"];
    assert_eq!(link["required"], json!(["href", "title"]));
    assert_eq!(link["additionalProperties"], false);
    let props = link["properties"].as_object().unwrap();
    let names: Vec<&str> = props.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["href", "title", "hreflang", "type", "context", "fwqs", "public"]
    );
    assert_eq!(props["href"]["pattern"], SCHEMA_URI);
    assert_eq!(props["hreflang"]["items"]["pattern"], SCHEMA_HREFLANG);
    assert_eq!(props["type"]["pattern"], SCHEMA_TYPE);
    // And they refuse what the schema refuses.
    let ok = json!({"linkset": [{"anchor": "https://r.example/01/04012345000016",
        "itemDescription": "x", "describedby": [{"href": "http://r.example/d", "title": "d"}],
        "https://gs1.org/voc/pip": [{"href": "https://r.example/p", "title": "t",
            "type": "text/html", "hreflang": ["en", "en-GB"]}]}]});
    assert_eq!(gs1_schema_errors(&ok), Vec::<String>::new());
    for bad in [
        json!({"linkset": [{"anchor": "https://r.example/01/1",
            "https://gs1.org/voc/pip": [{"href": "https://r.example/p"}]}]}),
        json!({"linkset": [{"anchor": "https://r.example/01/1",
            "https://gs1.org/voc/pip": [{"href": "https://r.example/p", "title": "t", "rel": "x"}]}]}),
        json!({"linkset": [{"anchor": "https://r.example/01/1",
            "https://gs1.org/voc/pip": [{"href": "ipfs://x", "title": "t"}]}]}),
        json!({"linkset": [{"anchor": "https://r.example/01/1",
            "https://gs1.org/voc/pip": [{"href": "https://x", "title": "t", "hreflang": "en"}]}]}),
        json!({"linkset": [{"anchor": "https://r.example/01/1",
            "https://gs1.org/voc/pip": [{"href": "https://x", "title": "t", "type": "pdf"}]}]}),
        json!({"linkset": [{"anchor": "https://r.example/01/1", "Pip": []}]}),
        json!({"linkset": [{"anchor": "https://r.example/01/1", "anchorage": []}]}),
        json!({"linkset": [{"anchor": "https://r.example/01/1", "gs1:pip": []}]}),
        json!({"linkset": [{"anchor": "urn:x"}]}),
        json!({"linkset": [{"https://gs1.org/voc/pip": []}]}),
        json!({"linkset": [], "anchor": "https://r.example/"}),
        json!({"linkset": [{"anchor": "https://r.example/01/1", REL_CHAIN: []}]}),
    ] {
        assert!(!gs1_schema_errors(&bad).is_empty(), "{bad}");
    }
}

/// Validates a linkset against GS1's linkset schema. The schema's relation pattern admits no
/// `-` in a relation URI: SPEC.md's two Cellproof relations with one are each refused alone,
/// and with them removed everything else must be valid (tests/data/README.md).
fn gs1_schema_valid(linkset: &Value) {
    let mut trimmed = linkset.clone();
    for c in trimmed["linkset"].as_array_mut().unwrap() {
        let o = c.as_object_mut().unwrap();
        for k in [REL_CHAIN, REL_STATUS] {
            if let Some(v) = o.get(k) {
                let alone = json!({"linkset": [{"anchor": o["anchor"], (k): v}]});
                assert_eq!(
                    gs1_schema_errors(&alone),
                    [format!(
                        "/linkset/0/{k}: a member the schema does not allow"
                    )]
                );
            }
            o.remove(k);
        }
    }
    let errors = gs1_schema_errors(&trimmed);
    assert!(errors.is_empty(), "{errors:#?}\n{trimmed:#}");
    // What the schema leaves open and SPEC.md does not: every context has its description, and
    // link objects carry only `href`, `title`, `type` and `hreflang`.
    for c in linkset["linkset"].as_array().unwrap() {
        assert!(
            c["itemDescription"].as_str().is_some_and(|d| !d.is_empty()),
            "{c}"
        );
        for (k, v) in c.as_object().unwrap() {
            if k == "anchor" || k == "itemDescription" {
                continue;
            }
            for l in v.as_array().unwrap() {
                for m in l.as_object().unwrap().keys() {
                    assert!(
                        ["href", "title", "type", "hreflang"].contains(&m.as_str()),
                        "{k}: {l}"
                    );
                }
            }
        }
    }
}

fn hrefs<'a>(context: &'a Value, rel: &str) -> Vec<&'a str> {
    context[rel]
        .as_array()
        .map(|a| a.iter().map(|l| l["href"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_resolver_description_names_root_keys_and_link_types() {
    let app = spawn_app().await;
    let (s, h, body) = get(&app.url("/.well-known/gs1resolver"), None).await;
    assert_eq!(s, 200, "{body}");
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(h["access-control-allow-origin"], "*");
    let d: Value = serde_json::from_str(&body).unwrap();
    assert!(d["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(d["resolverRoot"], app.address.as_str());
    assert_eq!(d["supportedPrimaryKeys"], json!(["01"]));
    assert_eq!(d["linkTypeDefaultCanBeLinkset"], false);
    // GS1's resolver description file schema: {namespace (URI), prefix ("^[a-zA-Z_][A-Za-z0-9_-]*?:$")}.
    let types = d["supportedLinkType"].as_array().unwrap();
    assert!(types
        .iter()
        .any(|t| t["namespace"] == "https://gs1.org/voc/" && t["prefix"] == "gs1:"));
    for t in types {
        let prefix = t["prefix"].as_str().unwrap();
        let name = prefix.strip_suffix(':').unwrap();
        assert!(
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'),
            "{t}"
        );
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b)),
            "{t}"
        );
        assert!(
            t["namespace"].as_str().unwrap().starts_with("https://"),
            "{t}"
        );
    }
}

#[tokio::test]
async fn an_items_linkset_is_gs1s_with_the_dpp_and_its_lot_and_model_levels() {
    let app = spawn_app().await;
    let (item, serial) = passport_item(&app);
    // Accept and ?linkType=linkset answer the same linkset.
    let by_accept = linkset(&item).await;
    let by_query = linkset(&format!("{item}?linkType=linkset")).await;
    assert_eq!(by_accept, by_query);
    let model = app.url(&format!("/01/{GTIN}"));
    let anchors: Vec<&str> = by_accept
        .iter()
        .map(|c| c["anchor"].as_str().unwrap())
        .collect();
    assert_eq!(anchors, [item.as_str(), model.as_str()]);
    let ctx = &by_accept[0];
    // Our passport relation first, then the chain, then GS1's dpp, all to the current version.
    let rels: Vec<&str> = ctx
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        rels[..5],
        [
            "anchor",
            "itemDescription",
            REL_PASSPORT,
            REL_CHAIN,
            GS1_DPP
        ]
    );
    assert_eq!(hrefs(ctx, REL_PASSPORT), [item.as_str()]);
    assert_eq!(hrefs(ctx, GS1_DPP), [item.as_str()]);
    assert_eq!(ctx[GS1_DPP][0]["type"], "application/vc+jwt");
    assert_eq!(
        hrefs(ctx, REL_CHAIN),
        [app.url(&format!("/v1/passports/{GTIN}/{serial}"))]
    );
    assert_eq!(hrefs(ctx, GS1_PIP), [item.as_str()]);
    assert!(!hrefs(ctx, REL_STATUS).is_empty());
    // The dpp link, fetched as a verifier would, is the chain's current version.
    let (s, _, passport) = get(hrefs(ctx, GS1_DPP)[0], Some("application/vc+jwt")).await;
    assert_eq!(s, 200);
    let (_, _, chain) = get(hrefs(ctx, REL_CHAIN)[0], None).await;
    let chain: Value = serde_json::from_str(&chain).unwrap();
    assert_eq!(
        chain["versions"].as_array().unwrap().last().unwrap(),
        passport.as_str()
    );
    // The model level's own context: the page at the model's URI.
    assert_eq!(hrefs(&by_accept[1], GS1_PIP), [model.as_str()]);

    // A lot in the path adds the lot's context between the item's and the model's.
    let lot = app.url(&format!("/01/{GTIN}/10/LOT%2F7"));
    let with_lot = linkset(&format!("{}/21/{serial}", lot)).await;
    let anchors: Vec<&str> = with_lot
        .iter()
        .map(|c| c["anchor"].as_str().unwrap())
        .collect();
    assert_eq!(anchors, [item.as_str(), lot.as_str(), model.as_str()]);
    assert_eq!(with_lot[0], by_accept[0]);
    assert!(with_lot[1]["itemDescription"]
        .as_str()
        .unwrap()
        .contains("LOT/7"));

    // GTIN-13 in the path, and a trailing slash: the same battery, canonical anchors.
    let short = app.url(&format!("/01/{}/21/{serial}/", &GTIN[1..]));
    assert_eq!(linkset(&short).await, by_accept);
    // An item without a passport has no passport links, and still its model's level.
    let unknown = linkset(&app.url(&format!("/01/{GTIN}/21/NOPASSPORT"))).await;
    for rel in [REL_PASSPORT, REL_CHAIN, GS1_DPP] {
        assert!(unknown[0].get(rel).is_none(), "{rel}");
    }
    assert_eq!(unknown.len(), 2);
}

#[tokio::test]
async fn model_and_lot_levels_answer_their_own_linksets_pages_and_no_passport() {
    let app = spawn_app().await;
    let model = app.url(&format!("/01/{GTIN}"));
    let lot = app.url(&format!("/01/{GTIN}/10/L1"));
    let m = linkset(&model).await;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["anchor"], model.as_str());
    let l = linkset(&format!("{lot}?linkType=all")).await;
    assert_eq!(l.len(), 2);
    assert_eq!(l[0]["anchor"], lot.as_str());
    assert_eq!(l[1], m[0]);
    // GTIN-8 and GTIN-12 are padded too.
    let m8 = linkset(&app.url("/01/96385074")).await;
    assert_eq!(m8[0]["anchor"], app.url("/01/00000096385074"));
    let m12 = linkset(&app.url("/01/614141000036/")).await;
    assert_eq!(m12[0]["anchor"], app.url("/01/00614141000036"));
    for url in [&model, &lot] {
        // The page by default, and no passport for a model or a lot.
        let (s, h, body) = get(url, Some("text/html")).await;
        assert_eq!((s, body.as_str()), (200, PAGE), "{url}");
        assert_eq!(
            h["link"],
            format!("<{url}?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"")
                .as_str()
        );
        let (s, _, body) = get(url, Some("application/vc+jwt")).await;
        assert_eq!(s, 404);
        assert_eq!(
            kind(&serde_json::from_str(&body).unwrap()),
            "passport-not-held"
        );
    }
}

#[tokio::test]
async fn redirects_walk_up_the_levels_and_pass_the_query_on() {
    let app = spawn_app().await;
    let (item, serial) = passport_item(&app);
    let location = |h: &HeaderMap| h["location"].to_str().unwrap().to_owned();
    let (s, h, _) = get(&format!("{item}?17=261231&linkType=gs1:pip&x=a%2Fb"), None).await;
    assert_eq!(s, 307);
    assert_eq!(location(&h), format!("{item}?17=261231&x=a%2Fb"));
    let (s, h, _) = get(&format!("{item}?linkType=gs1%3Adpp"), None).await;
    assert_eq!((s, location(&h)), (307, item.clone()));
    let (s, h, _) = get(&format!("{item}?linkType=https://gs1.org/voc/dpp"), None).await;
    assert_eq!((s, location(&h)), (307, item.clone()));
    let (s, h, _) = get(&format!("{item}?linkType=cellproof:passport-chain"), None).await;
    assert_eq!(
        (s, location(&h)),
        (307, app.url(&format!("/v1/passports/{GTIN}/{serial}")))
    );
    // Lot level: its own page; a type only items have is no link of the lot.
    let lot = app.url(&format!("/01/{GTIN}/10/L1"));
    let (s, h, _) = get(&format!("{lot}?linkType=gs1:pip&17=261231"), None).await;
    assert_eq!((s, location(&h)), (307, format!("{lot}?17=261231")));
    let (s, _, body) = get(&format!("{lot}?linkType=gs1:dpp"), None).await;
    assert_eq!(s, 404);
    assert_eq!(
        kind(&serde_json::from_str(&body).unwrap()),
        "link-type-not-found"
    );
    // linkType wins over Accept.
    let (s, _, _) = get(
        &format!("{item}?linkType=gs1:pip"),
        Some("application/linkset+json"),
    )
    .await;
    assert_eq!(s, 307);
}

#[tokio::test]
async fn item_pages_answer_head_like_get_and_browsers_get_the_page_without_a_redirect() {
    let app = spawn_app().await;
    let (item, _) = passport_item(&app);
    let client = no_redirect();
    for accept in [
        "text/html",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "application/linkset+json",
        "application/vc+jwt",
    ] {
        let g = client
            .get(&item)
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        let h = client
            .head(&item)
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(g.status(), 200, "{accept}");
        assert_eq!(h.status(), 200, "{accept}");
        for name in [
            "content-type",
            "link",
            "vary",
            "access-control-allow-origin",
        ] {
            assert_eq!(
                g.headers().get(name),
                h.headers().get(name),
                "{accept}: {name}"
            );
        }
        let get_len = g.bytes().await.unwrap().len();
        assert!(get_len > 0);
        assert!(
            h.bytes().await.unwrap().is_empty(),
            "{accept}: HEAD has no body"
        );
    }
    let g = client
        .get(&item)
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(g.headers().get("location").is_none());
    assert_eq!(g.text().await.unwrap(), PAGE);
    // HEAD of a malformed path is 400 too, and of the description 200.
    let h = client
        .head(app.url("/01/04012345000017/21/X"))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 400);
    let h = client
        .head(app.url("/.well-known/gs1resolver"))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
}

#[tokio::test]
async fn public_reads_carry_cors_and_options_allows_only_reads() {
    let app = spawn_app().await;
    let (item, serial) = passport_item(&app);
    let (_, _, body) = get(&item, Some("application/linkset+json")).await;
    let ls: Value = serde_json::from_str(&body).unwrap();
    let ctx = &ls["linkset"][0];
    let document = ctx["https://gs1.org/voc/sustainabilityInfo"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let attestation = ctx["https://gs1.org/voc/certificationInfo"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(String, Option<&str>, u16)> = vec![
        (item.clone(), None, 200),
        (item.clone(), Some("application/linkset+json"), 200),
        (item.clone(), Some("application/vc+jwt"), 200),
        (format!("{item}?linkType=gs1:pip"), None, 307),
        (
            app.url(&format!("/01/{GTIN}/21/NOPASSPORT")),
            Some("application/vc+jwt"),
            404,
        ),
        (app.url("/01/04012345000017/21/X"), None, 400),
        (
            app.url(&format!("/v1/passports/{GTIN}/{serial}")),
            None,
            200,
        ),
        (document, None, 200),
        (attestation, None, 200),
        // Served by the published fast path, which skips the middleware.
        (app.url("/v1/trust-list/catena-x"), None, 200),
        (app.url("/v1/status/acme/3"), None, 200),
        (app.url("/v1/bundle"), None, 200),
        (app.url("/v1/status-compact"), None, 200),
        (app.url("/v1/roots"), None, 200),
        (app.url("/.well-known/gs1resolver"), None, 200),
    ];
    for (url, accept, status) in cases {
        let (s, h, body) = get(&url, accept).await;
        assert_eq!(s, status, "{url} {accept:?}: {body}");
        assert_eq!(h["access-control-allow-origin"], "*", "{url} {accept:?}");
        assert_eq!(
            h["access-control-expose-headers"], "Link",
            "{url} {accept:?}"
        );
        assert!(h.get("access-control-allow-credentials").is_none());
    }
    // Operator reads are not for other origins.
    let r = app
        .client
        .get(app.url("/v1/operator/issuers"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // Preflights: 204 with the read methods, and no request header beyond the safelisted ones.
    for path in [
        item.strip_prefix(&app.address).unwrap().to_owned(),
        "/01/04012345000017/21/X".to_owned(),
        "/v1/trust-list/catena-x".to_owned(),
        format!("/v1/passports/{GTIN}/{serial}"),
        "/.well-known/gs1resolver".to_owned(),
    ] {
        let r = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(&path))
            .header("Origin", "https://other.example")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "authorization, x-evil")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{path}");
        let h = r.headers();
        assert_eq!(h["allow"], "GET, HEAD, OPTIONS", "{path}");
        assert_eq!(
            h["access-control-allow-methods"], "GET, HEAD, OPTIONS",
            "{path}"
        );
        assert_eq!(h["access-control-allow-origin"], "*", "{path}");
        assert!(h.get("access-control-allow-headers").is_none(), "{path}");
        assert!(
            h.get("access-control-allow-credentials").is_none(),
            "{path}"
        );
    }
    // Not for write routes or operator routes.
    for path in ["/v1/operator/issuers", "/v1/status", "/v1/passports"] {
        let r = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("Origin", "https://other.example")
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 204, "{path}");
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
}

/// Sends one raw HTTP/1.1 request (bytes reqwest would escape or refuse) and returns the
/// response head.
fn raw_get(app: &TestApp, target: &[u8]) -> String {
    let addr = app.address.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(target);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(&req).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn malformed_paths_are_400_with_the_cores_code_and_never_404() {
    let app = spawn_app().await;
    let long = format!("/01/{GTIN}/21/{}", "A".repeat(10_000));
    let serial21 = format!("/01/{GTIN}/21/{}", "A".repeat(21));
    for (path, code) in [
        // 01 twice: two batteries in one path.
        (
            format!("/01/{GTIN}/21/S1/01/04589012000014/21/T"),
            "digital_link_invalid",
        ),
        (format!("/01/{GTIN}/01/{GTIN}"), "digital_link_invalid"),
        ("/01/04012345000017/21/X".to_owned(), "gtin_invalid"),
        ("/01/4012345000017/21/X".to_owned(), "gtin_invalid"),
        ("/01/12345678901/21/X".to_owned(), "gtin_invalid"),
        ("/01/0401234500001%36/21/X".to_owned(), "gtin_invalid"),
        (serial21, "serial_invalid"),
        (format!("/01/{GTIN}/21/A%20B"), "serial_invalid"),
        (format!("/01/{GTIN}/21/A~B"), "serial_invalid"),
        (format!("/01/{GTIN}/21/A%C3%A9"), "serial_invalid"),
        (format!("/01/{GTIN}/21/A%2"), "serial_invalid"),
        (format!("/01/{GTIN}/21/A%ZZ"), "serial_invalid"),
        (format!("/01/{GTIN}/21/A%2G"), "serial_invalid"),
        (format!("/01/{GTIN}/10/L%7E1"), "digital_link_invalid"),
        (format!("/01/{GTIN}/21/S/10/L"), "digital_link_invalid"),
        (format!("/01/{GTIN}/17/261231"), "digital_link_invalid"),
        (format!("/01/{GTIN}/21/S//"), "digital_link_invalid"),
        (format!("/01/{GTIN}//21/S"), "digital_link_invalid"),
        (format!("/01/{GTIN}/21"), "digital_link_invalid"),
        ("/01/".to_owned(), "digital_link_invalid"),
        ("/01".to_owned(), "digital_link_invalid"),
        (long, "input_too_large"),
    ] {
        for accept in [None, Some("application/linkset+json")] {
            let (s, h, body) = get(&app.url(&path), accept).await;
            let shown = &path[..path.len().min(80)];
            assert_eq!(s, 400, "{shown}: {body}");
            assert_eq!(h["content-type"], "application/problem+json", "{shown}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(kind(&v), "digital-link-invalid", "{shown}");
            assert_eq!(v["code"], code, "{shown}");
            assert!(!v["detail"].as_str().unwrap().is_empty());
        }
    }
    // Far past any label, the HTTP layer refuses it; the server stays up.
    let huge = raw_get(
        &app,
        format!("/01/{GTIN}/21/{}", "A".repeat(200_000)).as_bytes(),
    );
    let status: u16 = huge.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    assert!((400..500).contains(&status), "{huge}");
    assert_eq!(get(&app.url(&format!("/01/{GTIN}")), None).await.0, 200);
}

#[tokio::test]
async fn unknown_link_types_are_404_and_no_query_reaches_a_header_unescaped() {
    let app = spawn_app().await;
    let (item, _) = passport_item(&app);
    for lt in [
        "gs1:doesNotExist",
        "evil",
        "",
        "gs1:",
        "gs1:pip%0D%0ASet-Cookie:%20a=b",
        "https://evil.example/voc/pip",
        "%ZZ",
    ] {
        let (s, h, body) = get(&format!("{item}?linkType={lt}"), None).await;
        assert_eq!(s, 404, "{lt}: {body}");
        assert_eq!(
            kind(&serde_json::from_str(&body).unwrap()),
            "link-type-not-found",
            "{lt}"
        );
        assert!(h.get("location").is_none());
        assert!(h.get("set-cookie").is_none());
    }
    // A bare `linkType` with no value is an unknown type too.
    let (s, _, _) = get(&format!("{item}?linkType"), None).await;
    assert_eq!(s, 404);

    // Bytes a header could be split or a Link target ended with, sent raw: passed on only
    // percent-encoded.
    let path = item.strip_prefix(&app.address).unwrap();
    let mut redirected = 0;
    for (query, want) in [
        (
            &b"linkType=gs1:pip&a=%0D%0ASet-Cookie:%20x=1"[..],
            "a=%0D%0ASet-Cookie:%20x=1",
        ),
        (
            &b"linkType=gs1:pip&a=<https://evil.example>;rel=x,b"[..],
            "a=%3Chttps://evil.example%3E%3Brel=x%2Cb",
        ),
        (
            &b"linkType=gs1:pip&a=\"q\"\\{|}^`"[..],
            "a=%22q%22%5C%7B%7C%7D%5E%60",
        ),
        (&b"linkType=gs1:pip&a=%zz%4"[..], "a=%25zz%254"),
        (
            &b"linkType=gs1:pip&a=x;rel=preload,b"[..],
            "a=x%3Brel=preload%2Cb",
        ),
        (&b"a=[1]&linkType=gs1:pip&b"[..], "a=%5B1%5D&b"),
        (&b"linkType=gs1:pip&a=\xc3\xa9"[..], "a=%C3%A9"),
    ] {
        let mut target = path.as_bytes().to_vec();
        target.push(b'?');
        target.extend_from_slice(query);
        let head = raw_get(&app, &target);
        let status = head.split(' ').nth(1).unwrap_or_default();
        if status == "400" {
            // The HTTP parser refused the request line before any handler ran.
            continue;
        }
        assert_eq!(status, "307", "{head}");
        redirected += 1;
        let location = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("location: ")
                    .or(l.strip_prefix("Location: "))
            })
            .unwrap();
        assert_eq!(location, format!("{item}?{want}"), "{head}");
        // No header line but the server's own: none was split off the passed-on query.
        for line in head.lines().skip(1) {
            let name = line.split(':').next().unwrap().to_ascii_lowercase();
            assert!(!["set-cookie", "rel"].contains(&name.as_str()), "{head}");
        }
    }
    // The HTTP parser lets these through (`<`, `"` and raw UTF-8 it refuses itself).
    assert!(redirected >= 4, "{redirected}");
}

#[tokio::test]
async fn a_compressed_digital_link_is_answered_with_its_uncompressed_form() {
    let app = spawn_app().await;
    // GS1's toolkit example: GTIN 09780345418913 compressed.
    let (status, headers, _) = get(&app.url("/ARHKVAdpQg"), None).await;
    assert_eq!(status, 307);
    assert_eq!(headers["location"], "/01/09780345418913");
    assert_eq!(headers["link"], "</01/09780345418913>; rel=\"owl:sameAs\"");
    // Browser verifiers on other origins read it like the resolver's other answers.
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["access-control-expose-headers"], "Link");
    // With a path prefix and a query: both kept.
    let (status, headers, _) = get(&app.url("/dpp/ARHKVAdpQg?linkType=gs1:pip"), None).await;
    assert_eq!(status, 307);
    let loc = headers["location"].to_str().unwrap();
    assert!(loc.starts_with("/dpp/01/09780345418913"), "{loc}");
    assert!(loc.contains("linkType=gs1:pip"), "{loc}");
    // Not a compressed link (bad bits, a file-like name, padding): a 404, never a redirect.
    for path in [
        "/ARHKVAdpQh",
        "/no-such-file.js",
        "/AAAA",
        "/%0d%0aSet-Cookie:x",
    ] {
        let (status, headers, _) = get(&app.url(path), None).await;
        assert_eq!(status, 404, "{path}");
        assert!(headers.get("link").is_none(), "{path}");
    }
}
