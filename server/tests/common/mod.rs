//! Test helpers: `spawn_app()` starts the real server on port 0 with a fresh data directory
//! (demo world on) and a web directory of its own, and signs issuer requests.

#![allow(dead_code)]

use std::path::Path;

use cellproof_core::{sign_json, KeyPair, PublicKey, StatusList, StatusStore, TrustStore, Typ};
use cellproof_server::{Application, Config};
use cellproof_world::World;
use serde_json::{json, Value};

pub const TOKEN: &str = "test-operator-token-of-32-chars-at-least";
pub const PAGE: &str = "<!doctype html><title>cellproof test page</title>";

pub struct TestApp {
    pub address: String,
    pub dir: tempfile::TempDir,
    pub web: tempfile::TempDir,
    pub client: reqwest::Client,
    pub manifest: Value,
    pub world: World,
}

pub fn now() -> u64 {
    cellproof_server::now()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with the configuration adjusted first (a manual clock, a public URL, ...).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), PAGE).unwrap();
    std::fs::write(web.path().join("app.js"), "console.log('cellproof')").unwrap();
    let mut config = Config::new(dir.path());
    config.listen = "127.0.0.1:0".into();
    config.web_dir = web.path().to_owned();
    config.operator_token = Some(TOKEN.into());
    config.demo = true;
    adjust(&mut config);
    let app = Application::build(config).await.expect("server builds");
    let address = app.public_url().to_owned();
    let manifest = app.manifest().cloned().expect("demo manifest");
    tokio::spawn(app.run_until_stopped());
    let world = demo_world(dir.path(), &address);
    TestApp {
        address,
        dir,
        web,
        client: reqwest::Client::new(),
        manifest,
        world,
    }
}

pub fn demo_world(dir: &Path, address: &str) -> World {
    let wf: Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo/world.json")).unwrap()).unwrap();
    World::new(
        wf["seed"].as_str().unwrap(),
        address,
        wf["t0"].as_u64().unwrap(),
    )
}

/// The private key of a manifest issuer.
pub fn issuer_key(dir: &Path, manifest: &Value, eco: &str) -> (String, KeyPair) {
    let i = manifest["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["eco"] == eco)
        .unwrap();
    let jwk: Value =
        serde_json::from_slice(&std::fs::read(dir.join(i["key"].as_str().unwrap())).unwrap())
            .unwrap();
    (
        i["did"].as_str().unwrap().to_owned(),
        KeyPair::from_private_jwk(&jwk).unwrap(),
    )
}

pub fn jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "t-{}-{}-{}",
        std::process::id(),
        now(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A signed `op: "status"` request for the registry at `aud`.
pub fn update(
    aud: &str,
    key: &KeyPair,
    iss: &str,
    list: &str,
    index: u64,
    purpose: &str,
    value: bool,
) -> String {
    sign_json(
        Typ::RegistryRequest,
        &json!({"iss": iss, "iat": now(), "jti": jti(), "aud": aud, "op": "status",
                "list": list, "index": index, "purpose": purpose, "value": value}),
        key,
    )
}

/// A signed `op: "allocate"` request for the registry at `aud`.
pub fn alloc(aud: &str, key: &KeyPair, iss: &str, list: &str, count: u64) -> String {
    sign_json(
        Typ::RegistryRequest,
        &json!({"iss": iss, "iat": now(), "jti": jti(), "aud": aud, "op": "allocate",
                "list": list, "count": count}),
        key,
    )
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn acme(&self) -> (String, KeyPair) {
        issuer_key(self.dir.path(), &self.manifest, "catena-x")
    }

    pub fn denchi(&self) -> (String, KeyPair) {
        issuer_key(self.dir.path(), &self.manifest, "ouranos")
    }

    pub async fn post_jwt(&self, path: &str, body: String) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/jwt")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn allocate(&self, key: &KeyPair, iss: &str, list: &str, count: u64) -> Vec<u64> {
        let (s, v) = self
            .post_jwt("/v1/allocate", alloc(&self.address, key, iss, list, count))
            .await;
        assert_eq!(s, 200, "{v}");
        v["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap())
            .collect()
    }

    pub async fn get_text(&self, path: &str) -> String {
        let r = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    pub async fn operator_get(&self, path: &str) -> Value {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    }

    /// Trust store pinned to the demo roots, loaded from the served trust lists; status
    /// store loaded from the served bundle.
    pub async fn stores(&self) -> (TrustStore, StatusStore) {
        let mut trust = TrustStore::new();
        for e in self.manifest["ecosystems"].as_array().unwrap() {
            let eco = e["eco"].as_str().unwrap();
            trust.pin_root(eco, &PublicKey::from_jwk(&e["root"]).unwrap());
        }
        for eco in ["catena-x", "ouranos"] {
            let tl = self.get_text(&format!("/v1/trust-list/{eco}")).await;
            trust.insert(&tl).unwrap();
        }
        let bundle: Value = serde_json::from_str(&self.get_text("/v1/bundle").await).unwrap();
        let mut status = StatusStore::new();
        for s in bundle["statusLists"].as_array().unwrap() {
            status.insert(s.as_str().unwrap(), &trust).unwrap();
        }
        (trust, status)
    }
}

/// The held status list with this URL (`id`), under whichever trust list vouches for it.
pub fn held<'a>(status: &'a StatusStore, url: &str) -> Option<&'a StatusList> {
    status.lists().find(|l| l.id == url)
}

/// How many distinct status list URLs are held.
pub fn held_ids(status: &StatusStore) -> usize {
    status
        .lists()
        .map(|l| l.id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

pub fn kind(v: &Value) -> &str {
    cellproof_server::kind_of(v).unwrap_or("<no problem type>")
}
