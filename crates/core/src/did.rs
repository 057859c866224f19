//! `did:web` issuers outside the trust lists (SPEC.md 1.2 section 2.2): where the DID document
//! is, and the key a document gives for a header's `kid`. DID documents are fetched by the
//! shells only while resolving online; a key found here checks the signature, never trust: the
//! verdict stays unverifiable `issuer_unknown`, naming the DID.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::jws::AnyKey;

/// Largest DID document read, in bytes (SPEC.md section 2.2).
pub const MAX_DID_DOCUMENT: usize = 64 * 1024;

/// The URL of a `did:web` DID's document (W3C did:web method): `did:web:{host}` is
/// `https://{host}/.well-known/did.json`, `did:web:{host}:{path...}` is
/// `https://{host}/{path...}/did.json`; a port is written `%3A`. `None` for any other DID or a
/// host or path segment that would change the URL's meaning.
pub fn did_web_url(did: &str) -> Option<String> {
    let rest = did.strip_prefix("did:web:")?;
    let mut parts = rest.split(':');
    let host = parts.next()?.replace("%3A", ":").replace("%3a", ":");
    let path: Vec<&str> = parts.collect();
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && !host.starts_with([':', '.', '-']);
    let seg_ok = |s: &&str| {
        !s.is_empty()
            && *s != "."
            && *s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~' | '%'))
    };
    if !host_ok || !path.iter().all(seg_ok) {
        return None;
    }
    Some(if path.is_empty() {
        format!("https://{host}/.well-known/did.json")
    } else {
        format!("https://{host}/{}/did.json", path.join("/"))
    })
}

/// [`did_web_url`], except that a loopback host (`localhost`, `127.*`) is asked over
/// http when `loopback_http` is set: what a shell allows for development and demos (the CLI's
/// `--insecure-loopback`, a page served from loopback), as for every other hop; the did:web
/// method itself knows https only.
pub fn did_web_url_dev(did: &str, loopback_http: bool) -> Option<String> {
    let url = did_web_url(did)?;
    let rest = url.strip_prefix("https://").unwrap_or_default();
    let host = rest.split('/').next().unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    // An IPv6 literal cannot be a did:web host (`did_web_url` refuses brackets).
    let loopback = name.eq_ignore_ascii_case("localhost") || is_ipv4_loopback(name);
    Some(match loopback_http && loopback {
        true => format!("http://{rest}"),
        false => url,
    })
}

/// `127.a.b.c` written as four decimal octets (the core reads no sockets: no `std::net`).
fn is_ipv4_loopback(host: &str) -> bool {
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets.first() == Some(&"127")
        && octets.iter().all(|o| {
            !o.is_empty()
                && o.len() <= 3
                && o.bytes().all(|b| b.is_ascii_digit())
                && o.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// A DID URL in absolute form: `#k` and a bare `k` become `{did}#k`.
fn absolute(id: &str, did: &str) -> String {
    if let Some(frag) = id.strip_prefix('#') {
        format!("{did}#{frag}")
    } else if id.starts_with("did:") {
        id.to_owned()
    } else {
        format!("{did}#{id}")
    }
}

/// The key a DID document gives `did` for a header's `kid` (SPEC.md section 2.2): the
/// document's `id` is the DID (else `did_unresolvable`); the `kid` names a `verificationMethod`
/// listed in `assertionMethod`, of type `JsonWebKey` or `JsonWebKey2020`, with a
/// `publicKeyJwk` (else `key_unknown`) that is Ed25519 or P-256 (a malformed one, a private
/// one or a point off the curve is `key_invalid`).
pub fn did_key(document: &str, did: &str, kid: &str) -> Result<AnyKey, Error> {
    let unresolvable = |reason: &str| Error::DidUnresolvable {
        did: did.to_owned(),
        reason: reason.to_owned(),
    };
    if document.trim().is_empty() {
        return Err(unresolvable("the DID document could not be fetched"));
    }
    if document.len() > MAX_DID_DOCUMENT {
        return Err(unresolvable("the DID document is larger than 64 KiB"));
    }
    let doc = crate::json::parse_object(document.as_bytes())
        .map_err(|e| unresolvable(&format!("the DID document is not a JSON object: {e}")))?;
    if doc.get("id").and_then(Value::as_str) != Some(did) {
        return Err(unresolvable("the DID document's id is not the DID"));
    }
    let kid = absolute(kid, did);
    let unknown = || Error::KeyUnknown { kid: kid.clone() };
    let listed = doc
        .get("assertionMethod")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter().any(|m| {
                let id = m.as_str().or_else(|| m.get("id").and_then(Value::as_str));
                id.is_some_and(|id| absolute(id, did) == kid)
            })
        });
    if !listed {
        return Err(unknown());
    }
    // The method itself: in `verificationMethod`, or embedded in `assertionMethod`.
    let methods = ["verificationMethod", "assertionMethod"]
        .iter()
        .filter_map(|k| doc.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object);
    let method: &Map<String, Value> = methods
        .into_iter()
        .find(|m| {
            m.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| absolute(id, did) == kid)
        })
        .ok_or_else(unknown)?;
    let typ = method
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(typ, "JsonWebKey" | "JsonWebKey2020") {
        return Err(unknown());
    }
    if let Some(controller) = method.get("controller").and_then(Value::as_str) {
        if controller != did {
            return Err(unknown());
        }
    }
    let jwk = method.get("publicKeyJwk").ok_or_else(unknown)?;
    AnyKey::from_jwk(jwk)
}

/// The DID document an issuer publishes at [`did_web_url`] (SPEC.md sections 1 and 2.2): each
/// key a `JsonWebKey` verification method `{did}#{k}` (a key id already written as a DID URL of
/// `did` keeps its fragment), listed under `assertionMethod`, public parts only. Its contexts
/// are DID Core's and W3C Controlled Identifiers', which defines `JsonWebKey`.
pub fn did_document(did: &str, keys: &[(&str, AnyKey)]) -> Value {
    let methods: Vec<Value> = keys
        .iter()
        .map(|(kid, key)| {
            serde_json::json!({
                "id": absolute(kid, did),
                "type": "JsonWebKey",
                "controller": did,
                "publicKeyJwk": key.to_jwk(),
            })
        })
        .collect();
    let ids: Vec<Value> = methods.iter().map(|m| m["id"].clone()).collect();
    serde_json::json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://www.w3.org/ns/cid/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
    })
}
