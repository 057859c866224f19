//! `--demo`'s second loopback origin: a world that is not Cellproof's (SPEC.md 1.2 sections 2.1,
//! 2.2 and 3.5), so that every label form the verifiers read can be tried end to end:
//!
//! - a GS1-style resolver for plain Digital Links (no credential in the label): the item path
//!   answers an RFC 9264 linkset (`linkType=linkset` or `Accept: application/linkset+json`)
//!   with a GS1 `dpp` link, anything else a 307 to that passport, as GS1's own resolver does;
//! - **Voltline Energy AG**, `did:web:{host}%3A{port}`, a manufacturer in the Catena-X trust list
//!   whose passports are UNTP Digital Product Passports 0.6 signed with Ed25519 under the key id
//!   written as a DID URL (`{did}#key-1`, the list names the key `key-1`), its DID document at
//!   `/.well-known/did.json`;
//! - an issuer in no trust list, `did:web:{host}%3A{port}:untrusted`, that signs with ES256,
//!   its DID document at `/untrusted/did.json`;
//! - a UNTP verification link whose credential is encrypted (AES-256-GCM) and hash-committed.
//!
//! Everything is derived from the demo world's seed and this origin and held in memory: the
//! origin (hence the DIDs) may change between starts; the Catena-X trust list follows it.
//! Every answer carries `Access-Control-Allow-Origin: *` (the page asks across origins).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::anyhow;
use cellproof_core::p256::ecdsa::SigningKey;
use cellproof_core::{
    did_document, format_rfc3339, gtin_with_check_digit, sign_es256, AnyKey, Entity, KeyPair, Typ,
};
use cellproof_world::{derive_key, urn_uuid, World, DAY, YEAR};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// The GS1 company prefix of Voltline's batteries (listed in its trust-list entry).
const VOLTLINE_GCP: &str = "4061234";
/// The prefix of the untrusted issuer's batteries.
const UNTRUSTED_GCP: &str = "4069876";
/// The key id Voltline's trust-list entry names; its credentials say `{did}#key-1`.
const VOLTLINE_KID: &str = "key-1";

/// One answer of the foreign origin.
struct Served {
    content_type: &'static str,
    body: Vec<u8>,
}

/// The foreign world of a demo: what its origin serves, Voltline's trust-list entry and the
/// manifest samples that use it.
pub struct Foreign {
    /// `http://127.0.0.1:{port}`.
    pub origin: String,
    /// Voltline's entry for the Catena-X trust list.
    pub entity: Entity,
    /// Manifest samples: `{name, url, issuer, expect: {overall, code}, label}`.
    pub samples: Vec<Value>,
    files: HashMap<String, Served>,
    /// Item path (`/01/{gtin}/21/{serial}`) to the passport path it links.
    items: HashMap<String, String>,
}

/// `did:web` of an origin `http://host:port` (the port written `%3A`), with path segments.
fn did_of(origin: &str, path: &[&str]) -> String {
    let host = origin
        .split("://")
        .nth(1)
        .unwrap_or(origin)
        .replace(':', "%3A");
    std::iter::once(format!("did:web:{host}"))
        .chain(path.iter().map(|s| (*s).to_owned()))
        .collect::<Vec<_>>()
        .join(":")
}

fn gtin(gcp: &str, item: &str) -> anyhow::Result<String> {
    gtin_with_check_digit(&format!("0{gcp}{item}")).ok_or_else(|| anyhow!("demo GTIN {gcp}{item}"))
}

/// A UNTP Digital Product Passport 0.6 (SPEC.md section 3.5) for `product` by `issuer`.
fn untp_dpp(issuer: (&str, &str), product: &str, name: &str, valid_from: u64) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://test.uncefact.org/vocabulary/untp/dpp/0.6.0/"],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "id": urn_uuid(&["demo-foreign-dpp", issuer.0, product]),
        "issuer": {"id": issuer.0, "name": issuer.1},
        "validFrom": format_rfc3339(valid_from),
        "credentialSubject": {
            "type": ["ProductPassport"],
            "id": format!("{product}/passport"),
            "product": {"id": product, "name": name,
                        "productCategory": [{"code": "27200", "name": "Batteries and accumulators"}]},
            "conformityClaim": [{
                "id": format!("{product}/claims/1"),
                "conformityTopic": "environment.emissions",
                "conformance": true,
                "declaredValue": [{"metricName": "Carbon footprint",
                                   "metricValue": {"value": 64.2, "unit": "KGM"}}]}]}})
}

impl Foreign {
    /// Builds the foreign world of `world` served at `origin` (`http://127.0.0.1:{port}`).
    pub fn build(world: &World, origin: &str, now: u64) -> anyhow::Result<Foreign> {
        let origin = origin.trim_end_matches('/').to_owned();
        let mut files = HashMap::new();
        let mut items = HashMap::new();
        let mut samples = Vec::new();
        let valid_from = now.saturating_sub(DAY);

        // Voltline: listed in Catena-X, Ed25519, kid a DID URL.
        let voltline = did_of(&origin, &[]);
        let listed = derive_key(&world.seed, "foreign/voltline", VOLTLINE_KID);
        let signing = KeyPair::from_secret(
            &format!("{voltline}#{VOLTLINE_KID}"),
            &listed.signing.to_bytes(),
        );
        let mut public = listed.public();
        public.nbf = Some(world.t0.saturating_sub(2 * YEAR));
        public.exp = Some(world.t0 + 3 * YEAR);
        let entity = Entity {
            id: voltline.clone(),
            name: "Voltline Energy AG (demo, foreign resolver)".into(),
            roles: vec!["manufacturer".into()],
            reg: Some(("BPNL".into(), "BPNL000000000042".into())),
            keys: vec![public],
            gcp: vec![VOLTLINE_GCP.into()],
            resolvers: vec![origin.clone()],
            ..Entity::default()
        };
        let doc = did_document(
            &voltline,
            &[(signing.kid.as_str(), AnyKey::Ed25519(signing.public().x))],
        );
        files.insert(
            "/.well-known/did.json".to_owned(),
            Served {
                content_type: "application/did+json",
                body: serde_json::to_vec_pretty(&doc)?,
            },
        );

        // The untrusted issuer: no trust list names it; ES256 under its DID document's key.
        let untrusted = did_of(&origin, &["untrusted"]);
        let es_secret: [u8; 32] =
            Sha256::digest(format!("cellproof/{}/foreign/untrusted-es256", world.seed)).into();
        let es_key = SigningKey::from_slice(&es_secret)
            .map_err(|_| anyhow!("the demo's P-256 key is out of range"))?;
        let es_kid = format!("{untrusted}#es256-1");
        let doc = did_document(
            &untrusted,
            &[(es_kid.as_str(), AnyKey::P256(*es_key.verifying_key()))],
        );
        files.insert(
            "/untrusted/did.json".to_owned(),
            Served {
                content_type: "application/did+json",
                body: serde_json::to_vec_pretty(&doc)?,
            },
        );

        // Plain Digital Links on this resolver, one per issuer.
        let plain = [
            (
                "foreign-untp",
                gtin(VOLTLINE_GCP, "00017")?,
                "VL2026X000042",
                "A plain GS1 Digital Link on another resolver: a UNTP passport of did:web Voltline (Catena-X), Ed25519, kid a DID URL",
                json!({"overall": "valid", "code": null}),
            ),
            (
                "foreign-untrusted",
                gtin(UNTRUSTED_GCP, "00011")?,
                "UX2026000007",
                "A plain GS1 Digital Link whose passport is signed ES256 by a did:web issuer no trust list names",
                json!({"overall": "unverifiable", "code": "issuer_unknown"}),
            ),
        ];
        for (name, gtin, serial, about, expect) in plain {
            let item = format!("/01/{gtin}/21/{serial}");
            let product = format!("{origin}{item}");
            let passport = format!("/dpp/{serial}");
            let jws = match name {
                "foreign-untp" => {
                    let p = untp_dpp(
                        (&voltline, "Voltline Energy AG"),
                        &product,
                        "LFP module 48 V",
                        valid_from,
                    );
                    cellproof_core::sign_json(Typ::Vc, &p, &signing)
                }
                _ => {
                    let p = untp_dpp(
                        (&untrusted, "Unlisted Cells Ltd"),
                        &product,
                        "NMC pack",
                        valid_from,
                    );
                    sign_es256(Typ::Vc, &es_kid, p.to_string().as_bytes(), &es_key)
                }
            };
            files.insert(
                passport.clone(),
                Served {
                    content_type: "application/vc+jwt",
                    body: jws.into_bytes(),
                },
            );
            items.insert(item, passport);
            let issuer = if name == "foreign-untp" {
                &voltline
            } else {
                &untrusted
            };
            samples.push(json!({"name": name, "url": product, "issuer": issuer,
                "about": about, "expect": expect}));
        }

        // A UNTP verification link: the credential encrypted, its hash committed.
        let serial = "VL2026X000043";
        let product = format!("{origin}/01/{}/21/{serial}", gtin(VOLTLINE_GCP, "00017")?);
        let p = untp_dpp(
            (&voltline, "Voltline Energy AG"),
            &product,
            "LFP module 48 V",
            valid_from,
        );
        let jws = cellproof_core::sign_json(Typ::Vc, &p, &signing);
        let key: [u8; 32] =
            Sha256::digest(format!("cellproof/{}/foreign/untp-key", world.seed)).into();
        let iv: [u8; 12] =
            Sha256::digest(format!("cellproof/{}/foreign/untp-iv", world.seed))[..12].try_into()?;
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let uri = format!("{origin}/untp/{serial}.json");
        files.insert(
            format!("/untp/{serial}.json"),
            Served {
                content_type: "application/json",
                body: cellproof_core::resolve::untp_encrypt(&jws, &key, &iv).into_bytes(),
            },
        );
        let q = json!({"payload": {"uri": uri, "key": hex(&key),
                                   "hash": hex(&Sha256::digest(jws.as_bytes()))}})
        .to_string();
        let q: String = q
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        samples.push(json!({"name": "untp-link", "url": format!("{origin}/verify?q={q}"),
            "issuer": voltline,
            "about": "A UNTP verification link: the passport encrypted (AES-256-GCM) and hash-committed",
            "expect": {"overall": "valid", "code": null}}));
        files.insert(
            "/verify".to_owned(),
            Served {
                content_type: "text/plain; charset=utf-8",
                body: b"A UNTP verification link: open it in a verifier (the Cellproof page's scanner field).\n".to_vec(),
            },
        );
        Ok(Foreign {
            origin,
            entity,
            samples,
            files,
            items,
        })
    }

    fn linkset(&self, item: &str, passport: &str) -> Value {
        let anchor = format!("{}{item}", self.origin);
        let href = format!("{}{passport}", self.origin);
        json!({"linkset": [{
            "anchor": anchor,
            "https://gs1.org/voc/dpp": [{"href": href, "title": "Digital product passport",
                                         "type": "application/vc+jwt"}],
            "https://gs1.org/voc/defaultLink": [{"href": href, "title": "Digital product passport"}]}]})
    }

    fn answer(&self, req: &HttpRequest) -> HttpResponse {
        let path = req.path().trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        if let Some(passport) = self.items.get(path) {
            let wants_linkset = req
                .query_string()
                .split('&')
                .any(|kv| kv == "linkType=linkset")
                || req
                    .headers()
                    .get(header::ACCEPT)
                    .and_then(|a| a.to_str().ok())
                    .is_some_and(|a| a.contains("application/linkset+json"));
            if wants_linkset {
                return HttpResponse::Ok()
                    .content_type("application/linkset+json")
                    .insert_header((
                        header::LINK,
                        "<https://ref.gs1.org/standards/resolver/linkset-context>; \
                         rel=\"http://www.w3.org/ns/json-ld#context\"; \
                         type=\"application/ld+json\"",
                    ))
                    .body(self.linkset(path, passport).to_string());
            }
            return HttpResponse::TemporaryRedirect()
                .insert_header((header::LOCATION, format!("{}{passport}", self.origin)))
                .finish();
        }
        match self.files.get(path) {
            Some(s) => HttpResponse::Ok()
                .content_type(s.content_type)
                .body(s.body.clone()),
            None => HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("not found on the demo's foreign resolver\n"),
        }
    }
}

async fn handle(req: HttpRequest, foreign: web::Data<Arc<Foreign>>) -> HttpResponse {
    let mut r = foreign.answer(&req);
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::HeaderValue::from_static("Link, Location"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// Serves the foreign world on `listener` until the process stops.
pub fn serve(
    listener: TcpListener,
    foreign: Arc<Foreign>,
) -> anyhow::Result<actix_web::dev::Server> {
    let data = web::Data::new(foreign);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(handle))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}
