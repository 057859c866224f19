//! Test helpers: `spawn_app()` starts the real server on port 0 with a fresh data directory
//! (demo world on) and a web directory of its own, and signs issuer requests.
//!
//! The store: SQLite in the data directory, or PostgreSQL when `CELLPROOF_TEST_DATABASE`
//! holds a server's URL (`cargo xtask test` runs these suites a second time so): each server
//! then gets a schema of its own in that database ([`PgSchema`]), dropped afterwards.

#![allow(dead_code)]

pub mod replica;

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
    /// The PostgreSQL URL of the server's store (`None`: SQLite in `dir`).
    pub database: Option<String>,
    /// The server's schema, dropped with the app.
    pub schema: Option<std::sync::Arc<PgSchema>>,
}

/// The variable naming the PostgreSQL server the API suites run against instead of SQLite.
pub const DATABASE_ENV: &str = "CELLPROOF_TEST_DATABASE";
/// The machine's PostgreSQL (trust auth, database `test`), for the PostgreSQL-only tests
/// when `CELLPROOF_TEST_DATABASE` is not set.
pub const DEFAULT_DATABASE: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL server of this run, when the suites run against PostgreSQL.
pub fn database_env() -> Option<String> {
    std::env::var(DATABASE_ENV).ok().filter(|v| !v.is_empty())
}

/// A schema of its own in the test database (`CREATE SCHEMA test_...`), with the URL that
/// selects it (`options=-c search_path=...`); dropped (`CASCADE`) when dropped.
pub struct PgSchema {
    pub url: String,
    pub name: String,
    base: String,
}

/// Runs SQL on `url` from a thread of its own (callable from sync and async tests alike).
pub fn pg_exec(url: &str, sql: &str) -> Result<u64, String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| {
                    format!(
                        "PostgreSQL at {url} is not reachable ({e}): start it (trust auth, \
                         database test) or point {DATABASE_ENV} at one"
                    )
                })?;
            tokio::spawn(conn);
            let n = client.execute(&sql, &[]).await;
            n.map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_owned(),
                None => e.to_string(),
            })
        })
    })
    .join()
    .expect("the SQL thread")
}

impl PgSchema {
    /// A fresh schema in the database at `base`; panics with the reason when PostgreSQL is
    /// not reachable (a test never passes silently without it).
    pub fn create(base: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let mut r = [0u8; 4];
        getrandom::getrandom(&mut r).unwrap();
        let name = format!(
            "test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            u32::from_le_bytes(r)
        );
        pg_exec(base, &format!("CREATE SCHEMA {name}")).unwrap_or_else(|e| panic!("{e}"));
        let sep = if base.contains('?') { '&' } else { '?' };
        PgSchema {
            url: format!("{base}{sep}options=-c%20search_path%3D{name}"),
            name,
            base: base.to_owned(),
        }
    }

    /// A schema on the run's PostgreSQL when the suites run against it.
    pub fn from_env() -> Option<Self> {
        database_env().map(|base| Self::create(&base))
    }

    /// A schema on the run's PostgreSQL, or the machine's when none is named.
    pub fn always() -> Self {
        Self::create(&database_env().unwrap_or_else(|| DEFAULT_DATABASE.to_owned()))
    }

    /// Runs SQL in this schema.
    pub fn exec(&self, sql: &str) -> Result<u64, String> {
        pg_exec(&self.url, sql)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Err(e) = pg_exec(&self.base, &format!("DROP SCHEMA {} CASCADE", self.name)) {
            eprintln!("dropping schema {}: {e}", self.name);
        }
    }
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
    let schema = PgSchema::from_env().map(std::sync::Arc::new);
    config.database = schema.as_ref().map(|s| s.url.clone());
    adjust(&mut config);
    let database = config.database.clone();
    let app = Application::build(config).await.expect("server builds");
    let address = app.public_url().to_owned();
    let manifest = app.manifest().cloned().expect("demo manifest");
    tokio::spawn(app.run_until_stopped());
    if database.is_some() {
        assert!(
            !dir.path().join("registry.sqlite3").exists(),
            "the server runs on PostgreSQL, not on a SQLite file"
        );
    }
    let world = demo_world(dir.path(), &address);
    TestApp {
        address,
        dir,
        web,
        client: reqwest::Client::new(),
        manifest,
        world,
        database,
        schema,
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

/// A private key file of the demo data directory (`demo/keys/...`).
pub fn issuer_key_file(dir: &Path, rel: &str) -> KeyPair {
    let jwk: Value = serde_json::from_slice(&std::fs::read(dir.join(rel)).unwrap()).unwrap();
    KeyPair::from_private_jwk(&jwk).unwrap()
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
    /// The configuration of a second server on this one's data directory and store (a
    /// restart, or a replica).
    pub fn config(&self) -> Config {
        let mut config = Config::new(self.dir.path());
        config.web_dir = self.web.path().to_owned();
        config.operator_token = Some(TOKEN.into());
        config.demo = true;
        config.database = self.database.clone();
        config
    }

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
