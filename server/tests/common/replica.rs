//! Replica harness: real `cellproof-server` processes (the built binary) on one PostgreSQL
//! schema, as the replica suites (`replicas*.rs`) run them. [`spawn`] starts one and reads the
//! URL from its first line; [`pair`] starts two on a fresh schema, A seeding the demo world
//! and B joining without `--demo` behind A's public URL with the pinned roots from a
//! configuration file (docs/deploy.md).

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use cellproof_core::{sign_trust_list, KeyPair, PublicKey, TrustList, TrustStore};
use serde_json::Value;

use super::{now, PgSchema};

/// The operator token every replica here is started with.
pub const TOKEN: &str = "replica-test-token-of-32-characters-or-more";

/// Starts `cmd` (a `cellproof-server` command line) with `token` as its operator token and
/// returns the process with the URL it prints first (`cellproof-server listening on URL`).
pub fn spawn(cmd: &mut Command, token: &str) -> (Child, String) {
    let mut child = cmd
        .env("CELLPROOF_OPERATOR_TOKEN", token)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep draining stdout so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = line
        .trim()
        .strip_prefix("cellproof-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

/// One replica; killed when dropped.
pub struct Replica {
    pub child: Child,
    pub url: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a replica on `database` with its data in `dir`, listening on `listen`, with the
/// `extra` arguments and the `env` variables.
pub fn start_with(
    dir: &Path,
    database: &str,
    listen: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Replica {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cellproof-server"));
    cmd.args(["--data", dir.to_str().unwrap(), "--listen", listen])
        .args(["--database", database])
        .args(extra)
        .envs(env.iter().copied());
    let (child, url) = spawn(&mut cmd, TOKEN);
    Replica { child, url }
}

/// [`start_with`] without extra environment.
pub fn start(dir: &Path, database: &str, listen: &str, extra: &[&str]) -> Replica {
    start_with(dir, database, listen, extra, &[])
}

/// A loopback port free now (a replica started with `--public-url` prints that URL, not its
/// own address: it is given one).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The demo manifest a `--demo` replica wrote in `dir`.
pub fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("demo/manifest.json")).unwrap()).unwrap()
}

/// Writes `dir/replica.toml` pinning the roots of `manifest`'s ecosystems (how a replica
/// without `--demo` learns them) and returns its path.
pub fn roots_config(dir: &Path, manifest: &Value) -> PathBuf {
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
    let config = dir.join("replica.toml");
    std::fs::write(&config, roots).unwrap();
    config
}

/// A trust store pinned to `manifest`'s roots.
pub fn pinned(manifest: &Value) -> TrustStore {
    let mut trust = TrustStore::new();
    for e in manifest["ecosystems"].as_array().unwrap() {
        trust.pin_root(
            e["eco"].as_str().unwrap(),
            &PublicKey::from_jwk(&e["root"]).unwrap(),
        );
    }
    trust
}

/// `GET url` with the operator token; asserts 200.
pub async fn get_bytes(client: &reqwest::Client, url: &str) -> Vec<u8> {
    let r = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {url}");
    r.bytes().await.unwrap().to_vec()
}

/// [`get_bytes`] as text.
pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    String::from_utf8(get_bytes(client, url).await).unwrap()
}

/// The demo's two trust lists as `base` serves them, verified under `manifest`'s roots.
pub async fn trust(client: &reqwest::Client, base: &str, manifest: &Value) -> TrustStore {
    let mut trust = pinned(manifest);
    for eco in ["catena-x", "ouranos"] {
        trust
            .insert(&get_text(client, &format!("{base}/v1/trust-list/{eco}")).await)
            .unwrap();
    }
    trust
}

/// Two replicas on one fresh schema: A seeded the demo world (its URL is the public URL of
/// both), B joined with the pinned roots from a configuration file.
pub struct Pair {
    pub a: Replica,
    pub b: Replica,
    pub dir_a: tempfile::TempDir,
    pub dir_b: tempfile::TempDir,
    /// B's own address (A's is the public URL).
    pub b_addr: String,
    pub manifest: Value,
    /// The schema's URL.
    pub db: String,
    pub client: reqwest::Client,
    // Declared last, so dropped after `Pair::drop` stopped the replicas.
    pub schema: PgSchema,
}

impl Drop for Pair {
    fn drop(&mut self) {
        for r in [&mut self.a, &mut self.b] {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }
}

/// [`pair_with`] without extra environment.
pub fn pair() -> Pair {
    pair_with(&[])
}

/// Two replicas on a fresh schema (the run's PostgreSQL, or the machine's), both started with
/// the `env` variables.
pub fn pair_with(env: &[(&str, &str)]) -> Pair {
    let schema = PgSchema::always();
    let db = schema.url.clone();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = start_with(dir_a.path(), &db, "127.0.0.1:0", &["--demo"], env);
    let manifest = manifest(dir_a.path());
    let config = roots_config(dir_b.path(), &manifest);
    let b_listen = format!("127.0.0.1:{}", free_port());
    let b = start_with(
        dir_b.path(),
        &db,
        &b_listen,
        &["--public-url", &a.url, "--config", config.to_str().unwrap()],
        env,
    );
    assert_eq!(b.url, a.url, "one public URL behind both");
    Pair {
        a,
        b,
        dir_a,
        dir_b,
        b_addr: format!("http://{b_listen}"),
        manifest,
        db,
        client: reqwest::Client::new(),
        schema,
    }
}

impl Pair {
    /// The public URL of both (A's).
    pub fn public(&self) -> &str {
        &self.a.url
    }

    /// The demo root key of `eco`.
    pub fn root_key(&self, eco: &str) -> KeyPair {
        let jwk: Value = serde_json::from_slice(
            &std::fs::read(self.dir_a.path().join(format!("demo/keys/{eco}-root.jwk"))).unwrap(),
        )
        .unwrap();
        KeyPair::from_private_jwk(&jwk).unwrap()
    }

    /// The list of `eco` held now (as A serves it, verified under the pinned roots).
    pub async fn trust_list(&self, eco: &str) -> TrustList {
        let mut trust = pinned(&self.manifest);
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
    pub fn next(&self, list: &TrustList, seq: u64) -> String {
        let mut l = list.clone();
        l.seq = seq;
        l.iat = now();
        sign_trust_list(&l, &self.root_key(&l.eco))
    }

    /// Uploads the trust list `jws` through `base` with the operator token.
    pub async fn upload(&self, base: &str, jws: &str) -> (u16, Value) {
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

    /// `POST base+path` with `body` as `media`: the status and the JSON answer (`null` if
    /// none).
    pub async fn post(&self, base: &str, path: &str, media: &str, body: String) -> (u16, Value) {
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

    /// The demo's catena-x inspector: DID and key.
    pub fn inspector(&self) -> (String, KeyPair) {
        let inspector = &self.manifest["inspectors"][0];
        assert_eq!(inspector["eco"], "catena-x");
        let jwk: Value = serde_json::from_slice(
            &std::fs::read(self.dir_a.path().join(inspector["key"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        (
            inspector["did"].as_str().unwrap().to_owned(),
            KeyPair::from_private_jwk(&jwk).unwrap(),
        )
    }

    /// The Digital Link path of the demo's `passport-valid` battery.
    pub fn battery(&self) -> String {
        let sample = self.manifest["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "passport-valid")
            .unwrap();
        sample["url"]
            .as_str()
            .unwrap()
            .strip_prefix(&format!("{}/", self.public()))
            .unwrap()
            .split('#')
            .next()
            .unwrap()
            .to_owned()
    }
}
