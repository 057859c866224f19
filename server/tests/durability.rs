//! Durability: the real binary with `--demo` takes signed status updates from concurrent
//! senders, is killed with SIGKILL mid-stream, restarts on the same directory, and every
//! update it acknowledged (200) is in the served list and in the audit log.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use cellproof_core::{PublicKey, StatusStore, TrustStore};
use serde_json::Value;

const TOKEN: &str = "durability-token-of-32-characters-or-more";

fn start(dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cellproof-server"))
        .args([
            "--data",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--demo",
        ])
        .env("CELLPROOF_OPERATOR_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_updates_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start(dir.path());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("demo/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["server"], url.as_str());
    let (iss, key) = common::issuer_key(dir.path(), &manifest, "catena-x");
    let client = reqwest::Client::new();
    let post = |path: &str, body: String| {
        client
            .post(format!("{url}{path}"))
            .header("Content-Type", "application/jwt")
            .body(body)
            .send()
    };
    let r = post("/v1/allocate", common::alloc(&url, &key, &iss, "4", 1000))
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let indexes: Vec<u64> = v["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let mut senders = Vec::new();
    for chunk in indexes.chunks(250) {
        let chunk = chunk.to_vec();
        let (client, url, key, iss, acked) = (
            client.clone(),
            url.clone(),
            key.clone(),
            iss.clone(),
            acked.clone(),
        );
        senders.push(tokio::spawn(async move {
            for idx in chunk {
                let body = common::update(&url, &key, &iss, "4", idx, "revocation", true);
                let r = client
                    .post(format!("{url}/v1/status"))
                    .header("Content-Type", "application/jwt")
                    .body(body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        let v: Value = match r.json().await {
                            Ok(v) => v,
                            Err(_) => return,
                        };
                        acked
                            .lock()
                            .unwrap()
                            .push((idx, v["url"].as_str().unwrap().into()));
                    }
                    Ok(r) => panic!("refused: {}", r.status()),
                    Err(_) => return, // the server died mid-request: not acknowledged
                }
            }
        }));
    }
    // Let some updates through, then kill the server while requests are in flight.
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if acked.lock().unwrap().len() >= 40 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 40);
    assert!(acked.len() < indexes.len(), "the kill landed mid-stream");

    let (mut child, url2) = start(dir.path());
    let get = |path: String| {
        let client = client.clone();
        async move {
            let r = client.get(path).bearer_auth(TOKEN).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let mut trust = TrustStore::new();
    for e in manifest["ecosystems"].as_array().unwrap() {
        trust.pin_root(
            e["eco"].as_str().unwrap(),
            &PublicKey::from_jwk(&e["root"]).unwrap(),
        );
    }
    for eco in ["catena-x", "ouranos"] {
        trust
            .insert(&get(format!("{url2}/v1/trust-list/{eco}")).await)
            .unwrap();
    }
    let mut status = StatusStore::new();
    let list_url = format!("{url2}/v1/status/acme/4");
    let list = status
        .insert(&get(list_url.clone()).await, &trust)
        .unwrap()
        .clone();
    assert_eq!(list.id, list_url);
    for (idx, _) in &acked {
        assert_eq!(list.bits.get(*idx), Ok(1), "acknowledged index {idx} lost");
    }
    let audit: Value =
        serde_json::from_str(&get(format!("{url2}/v1/audit?limit=10000")).await).unwrap();
    let logged: BTreeSet<u64> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "status.update" && e["detail"]["listId"] == "4")
        .map(|e| e["detail"]["index"].as_u64().unwrap())
        .collect();
    for (idx, _) in &acked {
        assert!(
            logged.contains(idx),
            "acknowledged index {idx} not in the audit log"
        );
    }
    // Nothing that the list shows is missing from the log either.
    for idx in &indexes {
        if list.bits.get(*idx) == Ok(1) {
            assert!(logged.contains(idx));
        }
    }
    // SIGTERM: actix stops accepting, finishes in-flight requests and exits cleanly.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits with 0, got {exit}");
}
