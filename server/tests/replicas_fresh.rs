//! Fresh authorisation on replicas (docs/deploy.md): two `cellproof-server` processes on one
//! PostgreSQL schema (each test its own; they fail, never skip, without a database), as in
//! `replicas_trust.rs`. A trust list uploaded through replica A that removes an inspector or
//! an issuer's key is refused by replica B on the very next request, with no wait for B's poll
//! (`replica::POLL`): B catches up with the database's trust data before it authorises a
//! restricted read, a report read, and each group of status updates and allocations.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use cellproof_core::{sign_json, sign_trust_list, KeyPair, PublicKey, TrustList, TrustStore, Typ};
use common::{jti, now};
use serde_json::{json, Value};

const TOKEN: &str = "replica-test-token-of-32-characters-or-more";

struct Replica {
    child: Child,
    url: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, database: &str, listen: &str, extra: &[&str]) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cellproof-server"))
        .args(["--data", dir.to_str().unwrap(), "--listen", listen])
        .args(["--database", database])
        .args(extra)
        .env("CELLPROOF_OPERATOR_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = line
        .trim()
        .strip_prefix("cellproof-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Replica { child, url }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two replicas on one fresh schema: A seeded the demo world (its URL is the public URL of
/// both), B joined with the pinned roots from a configuration file.
struct Pair {
    // Dropped after `Pair::drop` stopped the replicas.
    _schema: common::PgSchema,
    dir_a: tempfile::TempDir,
    _dir_b: tempfile::TempDir,
    a: Replica,
    b: Replica,
    /// B's own address (A's is the public URL).
    b_addr: String,
    manifest: Value,
    client: reqwest::Client,
}

impl Drop for Pair {
    fn drop(&mut self) {
        for r in [&mut self.a, &mut self.b] {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }
}

fn pair() -> Pair {
    let schema = common::PgSchema::always();
    let db = schema.url.clone();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = start(dir_a.path(), &db, "127.0.0.1:0", &["--demo"]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir_a.path().join("demo/manifest.json")).unwrap())
            .unwrap();
    let mut roots = String::from("[pinned_roots]\n");
    for e in manifest["ecosystems"].as_array().unwrap() {
        let r = &e["root"];
        roots.push_str(&format!(
            "{} = {{ kty = {}, crv = {}, x = {} }}\n",
            e["eco"].as_str().unwrap(),
            r["kty"],
            r["crv"],
            r["x"]
        ));
    }
    let config = dir_b.path().join("replica.toml");
    std::fs::write(&config, roots).unwrap();
    let b_listen = format!("127.0.0.1:{}", free_port());
    let b = start(
        dir_b.path(),
        &db,
        &b_listen,
        &["--public-url", &a.url, "--config", config.to_str().unwrap()],
    );
    assert_eq!(b.url, a.url, "one public URL behind both");
    Pair {
        _schema: schema,
        dir_a,
        _dir_b: dir_b,
        a,
        b,
        b_addr: format!("http://{b_listen}"),
        manifest,
        client: reqwest::Client::new(),
    }
}

impl Pair {
    fn public(&self) -> &str {
        &self.a.url
    }

    fn root_key(&self, eco: &str) -> KeyPair {
        let jwk: Value = serde_json::from_slice(
            &std::fs::read(self.dir_a.path().join(format!("demo/keys/{eco}-root.jwk"))).unwrap(),
        )
        .unwrap();
        KeyPair::from_private_jwk(&jwk).unwrap()
    }

    /// The list of `eco` held now (as A serves it, verified under the pinned roots).
    async fn trust_list(&self, eco: &str) -> TrustList {
        let mut trust = TrustStore::new();
        for e in self.manifest["ecosystems"].as_array().unwrap() {
            trust.pin_root(
                e["eco"].as_str().unwrap(),
                &PublicKey::from_jwk(&e["root"]).unwrap(),
            );
        }
        let text = self
            .client
            .get(format!("{}/v1/trust-list/{eco}", self.public()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        trust.insert(&text).unwrap();
        trust.list(eco).unwrap().clone()
    }

    /// `list` with `seq` and `iat` moved on, signed by its ecosystem's root.
    fn next(&self, list: &TrustList, seq: u64) -> String {
        let mut l = list.clone();
        l.seq = seq;
        l.iat = now();
        sign_trust_list(&l, &self.root_key(&l.eco))
    }

    async fn upload(&self, base: &str, jws: &str) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{base}/v1/operator/trust-lists"))
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/jwt")
            .body(jws.to_owned())
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, base: &str, path: &str, media: &str, body: String) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{base}{path}"))
            .header("Content-Type", media)
            .body(body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

/// The demo's catena-x inspector: DID and key.
fn inspector(p: &Pair) -> (String, KeyPair) {
    let inspector = &p.manifest["inspectors"][0];
    assert_eq!(inspector["eco"], "catena-x");
    let jwk: Value = serde_json::from_slice(
        &std::fs::read(p.dir_a.path().join(inspector["key"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    (
        inspector["did"].as_str().unwrap().to_owned(),
        KeyPair::from_private_jwk(&jwk).unwrap(),
    )
}

/// The Digital Link path of the demo's `passport-valid` battery.
fn battery(p: &Pair) -> String {
    let sample = p.manifest["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "passport-valid")
        .unwrap();
    sample["url"]
        .as_str()
        .unwrap()
        .strip_prefix(&format!("{}/", p.public()))
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned()
}

impl Pair {
    /// Uploads through A catena-x's list changed by `edit` (the next `seq`, signed by the root).
    async fn change_catena_x(&self, edit: impl FnOnce(&mut TrustList)) {
        let mut list = self.trust_list("catena-x").await;
        edit(&mut list);
        let seq = list.seq + 1;
        let jws = self.next(&list, seq);
        let (s, v) = self.upload(self.public(), &jws).await;
        assert_eq!(s, 200, "{v}");
    }

    async fn reports(&self, base: &str, item: &str, envelope: String) -> (u16, Value) {
        let r = self
            .client
            .get(format!(
                "{base}/v1/reports/{}",
                item.strip_prefix("01/").unwrap().replacen("/21/", "/", 1)
            ))
            .header("Authorization", format!("Cellproof {envelope}"))
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_inspector_removed_through_one_replica_cannot_read_through_the_other_at_once() {
    let p = pair();
    let (did, key) = inspector(&p);
    let item = battery(&p);
    let read = |tier: &str| {
        sign_json(
            Typ::RegistryRequest,
            &json!({"iss": did, "iat": now(), "jti": jti(), "aud": p.public(), "op": "read",
                    "item": item, "tier": tier}),
            &key,
        )
    };
    let (s, v) = p
        .post(
            &p.b_addr,
            "/v1/restricted",
            "application/jwt",
            read("authority"),
        )
        .await;
    assert_eq!(s, 200, "enrolled: B answers the inspector {v}");
    let (s, v) = p.reports(&p.b_addr, &item, read("authority")).await;
    assert_eq!(s, 200, "enrolled: B lists the reports {v}");

    p.change_catena_x(|l| l.entities.retain(|e| e.id != did))
        .await;
    // At once, no sleep: B answers from the database's trust data, not its last poll.
    let (s, v) = p
        .post(
            &p.b_addr,
            "/v1/restricted",
            "application/jwt",
            read("authority"),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("issuer_unknown")),
        "B answered the removed inspector's restricted read: {v}"
    );
    let (s, v) = p.reports(&p.b_addr, &item, read("authority")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("issuer_unknown")),
        "B listed reports to the removed inspector: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_issuer_key_removed_through_one_replica_is_refused_by_the_other_at_once() {
    let p = pair();
    let (iss, key) = common::issuer_key(p.dir_a.path(), &p.manifest, "catena-x");
    let body = common::alloc(p.public(), &key, &iss, "4", 2);
    let (s, v) = p
        .post(&p.b_addr, "/v1/allocate", "application/jwt", body)
        .await;
    assert_eq!(s, 200, "trusted: B allocates {v}");
    let index = v["indexes"][0].as_u64().unwrap();

    // The issuer's key is replaced in catena-x's list (the entity stays, its old key goes).
    let other = KeyPair::from_secret("replaced", &[7; 32]);
    p.change_catena_x(|l| {
        let e = l.entities.iter_mut().find(|e| e.id == iss).unwrap();
        e.keys = vec![other.public()];
    })
    .await;
    // At once, through B: the same refusal A gives.
    let update = || common::update(p.public(), &key, &iss, "4", index, "revocation", true);
    let on_b = p
        .post(&p.b_addr, "/v1/status", "application/jwt", update())
        .await;
    let on_a = p
        .post(p.public(), "/v1/status", "application/jwt", update())
        .await;
    assert_eq!(on_a.0, 403, "A refuses the removed key: {}", on_a.1);
    assert_eq!(
        (on_b.0, on_b.1["code"].as_str()),
        (on_a.0, on_a.1["code"].as_str()),
        "B acknowledged a removed key's status update: {}",
        on_b.1
    );
    let (s, v) = p
        .post(
            &p.b_addr,
            "/v1/allocate",
            "application/jwt",
            common::alloc(p.public(), &key, &iss, "4", 1),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (on_a.0, on_a.1["code"].as_str()),
        "B allocated to a removed key: {v}"
    );
}
