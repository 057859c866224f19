//! The per-uploader document storage quota (`document_quota_bytes`, docs/server.md): each
//! stored document records its authenticated uploader; an upload that would take an issuer's
//! stored bytes past the quota is refused with 413 `document-quota-exceeded` and nothing is
//! stored; another issuer is unaffected; the same bytes again are no new storage; a restart
//! keeps counting (the sum is the store's). Run on SQLite and on PostgreSQL (its own schema).

mod common;

use cellproof_core::{sha256_b64, sign_json, KeyPair, Typ};
use cellproof_server::Application;
use common::{jti, now, spawn_app_with, PgSchema, TestApp};
use serde_json::{json, Value};

/// The quota in these tests: two 40,000-byte documents fit beside the demo's few small
/// ones, a third does not.
const QUOTA: u64 = 100_000;
const SIZE: usize = 40_000;

/// A document of [`SIZE`] bytes, distinct per `tag`.
fn doc(tag: &str) -> Vec<u8> {
    let mut b = format!("%PDF-1.4\n% quota test {tag}\n").into_bytes();
    b.resize(SIZE, b'.');
    b
}

async fn put(
    client: &reqwest::Client,
    base: &str,
    (iss, key): (&str, &KeyPair),
    bytes: &[u8],
) -> (u16, Value) {
    let digest = sha256_b64(bytes);
    let envelope = sign_json(
        Typ::RegistryRequest,
        &json!({"iss": iss, "iat": now(), "jti": jti(), "aud": base, "op": "document",
                "digest": digest}),
        key,
    );
    let r = client
        .put(format!("{base}/v1/documents/{digest}"))
        .header("Content-Type", "application/pdf")
        .header("Authorization", format!("Cellproof {envelope}"))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn served(client: &reqwest::Client, base: &str, bytes: &[u8]) -> u16 {
    client
        .get(format!("{base}/v1/documents/{}", sha256_b64(bytes)))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn refused_for_quota(r: &(u16, Value)) {
    assert_eq!(
        (r.0, r.1["code"].as_str()),
        (413, Some("document_quota_exceeded")),
        "{}",
        r.1
    );
    assert!(
        r.1["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("document-quota-exceeded")),
        "{}",
        r.1
    );
}

async fn quota_holds(app: TestApp) {
    let c = &app.client;
    let base = app.address.clone();
    let (acme, acme_key) = app.acme();
    let (denchi, denchi_key) = app.denchi();
    let acme = (acme.as_str(), &acme_key);
    let (one, two, three) = (doc("one"), doc("two"), doc("three"));
    for d in [&one, &two] {
        let r = put(c, &base, acme, d).await;
        assert_eq!(r.0, 200, "within the quota: {}", r.1);
    }
    // The upload that crosses the quota: refused with the code, nothing stored.
    let r = put(c, &base, acme, &three).await;
    refused_for_quota(&r);
    assert_eq!(
        served(c, &base, &three).await,
        404,
        "a refused document is not stored"
    );
    // The same bytes again are no new storage: still acknowledged.
    let r = put(c, &base, acme, &one).await;
    assert_eq!(r.0, 200, "a repeat is not counted twice: {}", r.1);
    // Another issuer has its own quota.
    let r = put(c, &base, (denchi.as_str(), &denchi_key), &three).await;
    assert_eq!(r.0, 200, "another issuer is unaffected: {}", r.1);

    // A restart (a second server on the same store) counts what the store holds.
    let mut config = app.config();
    config.document_quota_bytes = QUOTA;
    let second = Application::build(config).await.unwrap();
    let base2 = second.public_url().to_owned();
    tokio::spawn(second.run_until_stopped());
    let four = doc("four");
    let r = put(c, &base2, acme, &four).await;
    refused_for_quota(&r);
    assert_eq!(served(c, &base2, &four).await, 404);
    assert_eq!(served(c, &base2, &one).await, 200);
}

#[tokio::test]
async fn an_upload_past_the_issuers_quota_is_refused_and_nothing_is_stored_sqlite() {
    let app = spawn_app_with(|c| {
        c.database = None;
        c.document_quota_bytes = QUOTA;
    })
    .await;
    quota_holds(app).await;
}

#[tokio::test]
async fn an_upload_past_the_issuers_quota_is_refused_and_nothing_is_stored_postgres() {
    let schema = PgSchema::always();
    let url = schema.url.clone();
    let app = spawn_app_with(move |c| {
        c.database = Some(url);
        c.document_quota_bytes = QUOTA;
    })
    .await;
    quota_holds(app).await;
    drop(schema);
}
