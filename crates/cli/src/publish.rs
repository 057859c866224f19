//! `cellproof publish`: uploads passports, attestations and documents to a registry
//! (SPEC.md section 6.2). Passports and attestations are self-authenticating and are posted as
//! they are; a document is `PUT` under its digest with the signed envelope
//! `Authorization: Cellproof <registry-request+jwt {op: "document", digest}>` (`aud` = the
//! registry URL, `iat` now, a random `jti`). Documents go first, then attestations, then
//! passport versions in version order, so a chain arrives oldest first.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use cellproof_core::{sha256_b64, sign_json, Jws, KeyPair, Typ, MAX_PASSPORT};
use serde_json::{json, Value};

use crate::cmd::Outcome;
use crate::inputs::{read_private_key, time};

/// What a file is, by its content.
enum Item {
    /// A passport version (or restricted section) with its `metadata.version` (0 if none).
    Passport(u64, String),
    /// An attestation.
    Attestation(String),
    /// Any other file: a document, with the media type its extension suggests.
    Document(&'static str, Vec<u8>),
}

/// The media type of a document by its file extension.
fn media_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "txt" => "text/plain",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn has_type(p: &serde_json::Map<String, Value>, t: &str) -> bool {
    p.get("type")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == t))
}

/// Sorts a file: a `vc+jwt` passport or attestation, or a document.
fn classify(path: &Path) -> Result<(Item, Option<String>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = std::str::from_utf8(&bytes).ok().map(str::trim);
    if let Some(jws) = text.and_then(|t| Jws::parse(t, Typ::Vc, MAX_PASSPORT).ok()) {
        let p = jws.unverified_payload();
        let issuer = p.get("issuer").and_then(Value::as_str).map(str::to_owned);
        let text = text.unwrap_or_default().to_owned();
        if has_type(p, "BatteryPassport") || has_type(p, "BatteryPassportRestricted") {
            let version = p
                .get("credentialSubject")
                .and_then(|cs| cs.get("metadata"))
                .and_then(|m| m.get("version"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            return Ok((Item::Passport(version, text), issuer));
        }
        if has_type(p, "ConformityAttestation") {
            return Ok((Item::Attestation(text), issuer));
        }
        bail!(
            "{} is a vc+jwt but neither a BatteryPassport nor a ConformityAttestation",
            path.display()
        );
    }
    Ok((Item::Document(media_type(path), bytes), None))
}

/// The signed `op: "document"` envelope for `digest`.
pub fn document_envelope(
    registry: &str,
    key: &KeyPair,
    iss: &str,
    digest: &str,
    iat: u64,
) -> Result<String> {
    let mut jti = [0u8; 16];
    getrandom::getrandom(&mut jti).map_err(|e| anyhow!("no randomness: {e}"))?;
    Ok(sign_json(
        Typ::RegistryRequest,
        &json!({"iss": iss, "iat": iat, "jti": cellproof_core::b64_encode(&jti),
                "aud": registry, "op": "document", "digest": digest}),
        key,
    ))
}

/// The registry's answer as one line: the acknowledgement, or the problem's type, code and
/// sentence.
fn answer(r: reqwest::blocking::Response) -> Result<(bool, String)> {
    let status = r.status();
    let body: Value = r
        .text()
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    if status.is_success() {
        return Ok((true, crate::output::json_line(&body)));
    }
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or("error");
    let code = body
        .get("code")
        .and_then(Value::as_str)
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let detail = body
        .get("detail")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok((
        false,
        crate::output::safe(&format!("{status} {kind}{code}: {detail}")),
    ))
}

/// `publish`: uploads each file; exit 1 when the registry refused any.
pub fn publish(
    registry: &str,
    key: &Path,
    iss: Option<&str>,
    files: &[PathBuf],
) -> Result<Outcome> {
    let registry = registry.trim_end_matches('/');
    if !(registry.starts_with("https://") || registry.starts_with("http://")) {
        bail!("--registry must be the registry's http(s) base URL, e.g. https://registry.example");
    }
    let key = read_private_key(key)?;
    let mut items = Vec::new();
    let mut signer = iss.map(str::to_owned);
    for f in files {
        let (item, issuer) = classify(f)?;
        if signer.is_none() {
            signer = issuer;
        }
        items.push((f.clone(), item));
    }
    // Documents, then attestations, then passports oldest version first.
    items.sort_by_key(|(_, i)| match i {
        Item::Document(..) => (0, 0),
        Item::Attestation(_) => (1, 0),
        Item::Passport(v, _) => (2, *v),
    });
    let client = crate::inputs::registry_client(60)?;
    let mut refused = 0usize;
    for (path, item) in items {
        let name = crate::output::safe(&path.display().to_string());
        let (what, r) = match item {
            Item::Passport(v, jws) => (
                format!("passport version {v}"),
                client
                    .post(format!("{registry}/v1/passports"))
                    .header("Content-Type", "application/vc+jwt")
                    .body(jws)
                    .send(),
            ),
            Item::Attestation(jws) => (
                "attestation".to_owned(),
                client
                    .post(format!("{registry}/v1/attestations"))
                    .header("Content-Type", "application/vc+jwt")
                    .body(jws)
                    .send(),
            ),
            Item::Document(media, bytes) => {
                let digest = sha256_b64(&bytes);
                let iss = signer.as_deref().ok_or_else(|| {
                    anyhow!("a document upload is signed: give --iss DID (the key's entity)")
                })?;
                let env = document_envelope(registry, &key, iss, &digest, time(None)?.secs())?;
                (
                    format!("document {digest} ({media})"),
                    client
                        .put(format!("{registry}/v1/documents/{digest}"))
                        .header("Content-Type", media)
                        .header("Authorization", format!("Cellproof {env}"))
                        .body(bytes)
                        .send(),
                )
            }
        };
        let r = r.with_context(|| format!("{name}: sending to {registry}"))?;
        let (ok, line) = answer(r)?;
        if ok {
            println!("{name}: {what} stored {line}");
        } else {
            refused += 1;
            println!("{name}: {what} refused: {line}");
        }
    }
    Ok(if refused == 0 {
        Outcome::Success
    } else {
        Outcome::NotValid
    })
}

#[cfg(test)]
mod tests {
    use cellproof_core::{Operation, ParsedRequest};

    use super::*;

    #[test]
    fn the_document_envelope_names_the_registry_the_operation_and_the_digest_and_is_fresh() {
        let key = KeyPair::from_secret("k1", &[3; 32]);
        let digest = sha256_b64(b"a declaration");
        let a =
            document_envelope("https://registry.example", &key, "did:web:x", &digest, 100).unwrap();
        let b =
            document_envelope("https://registry.example", &key, "did:web:x", &digest, 100).unwrap();
        let p = ParsedRequest::parse(&a).unwrap();
        let r = p.unverified();
        assert_eq!(r.aud, "https://registry.example");
        assert_eq!((r.iss.as_str(), r.iat), ("did:web:x", 100));
        assert_eq!(r.operation, Operation::Document { digest });
        // A random jti: two envelopes for the same document are never a replay of each other.
        assert_ne!(
            r.jti,
            ParsedRequest::parse(&b).unwrap().unverified().jti.clone()
        );
    }

    #[test]
    fn files_are_sorted_by_what_they_are_not_by_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::from_secret("k1", &[4; 32]);
        let vc = |t: &str| {
            sign_json(
                Typ::Vc,
                &json!({"type": ["VerifiableCredential", t], "issuer": "did:web:x",
                        "credentialSubject": {"metadata": {"version": 2}}}),
                &key,
            )
        };
        let files = [
            ("p.jws", vc("BatteryPassport")),
            ("a.jws", vc("ConformityAttestation")),
            ("doc.pdf", "%PDF-1.4".to_owned()),
        ];
        for (n, c) in &files {
            std::fs::write(dir.path().join(n), c).unwrap();
        }
        let kind = |n: &str| match classify(&dir.path().join(n)).unwrap() {
            (Item::Passport(v, _), iss) => format!("passport {v} {}", iss.unwrap()),
            (Item::Attestation(_), iss) => format!("attestation {}", iss.unwrap()),
            (Item::Document(m, _), _) => format!("document {m}"),
        };
        assert_eq!(kind("p.jws"), "passport 2 did:web:x");
        assert_eq!(kind("a.jws"), "attestation did:web:x");
        assert_eq!(kind("doc.pdf"), "document application/pdf");
        std::fs::write(dir.path().join("other.jws"), vc("SomethingElse")).unwrap();
        assert!(classify(&dir.path().join("other.jws")).is_err());
    }
}
