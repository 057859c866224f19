//! Load driver for signed status updates: reads a demo data directory's manifest, allocates
//! indexes, pre-signs distinct `registry-request+jwt` requests (so signing is not measured), then
//! sends them with N concurrent connections and prints acknowledged updates per second.
//!
//! `cargo run --release -p cellproof-server --example update_load -- DATA_DIR [COUNT] [CONC]`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cellproof_core::{sign_json, KeyPair, Typ};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map_or("data", String::as_str));
    let count: usize = args.get(2).map_or(Ok(2000), |s| s.parse())?;
    let conc: usize = args.get(3).map_or(Ok(16), |s| s.parse())?;
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("demo/manifest.json"))?)?;
    let url = manifest["server"].as_str().unwrap_or_default().to_owned();
    let issuer = &manifest["issuers"][0];
    let iss = issuer["did"].as_str().unwrap_or_default().to_owned();
    let jwk: Value = serde_json::from_slice(&std::fs::read(
        dir.join(issuer["key"].as_str().unwrap_or_default()),
    )?)?;
    let key = KeyPair::from_private_jwk(&jwk).map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = reqwest::Client::new();
    let now = cellproof_server::now();
    let run = format!("{now}-{}", std::process::id());
    let mut indexes = Vec::new();
    let mut n = 0;
    while indexes.len() < count {
        let want = (count - indexes.len()).min(1000);
        let body = sign_json(
            Typ::RegistryRequest,
            &json!({"iss": iss, "iat": now, "jti": format!("alloc-{run}-{n}"), "aud": url,
                    "op": "allocate", "list": "4", "count": want}),
            &key,
        );
        n += 1;
        let v: Value = client
            .post(format!("{url}/v1/allocate"))
            .header("Content-Type", "application/jwt")
            .body(body)
            .send()
            .await?
            .json()
            .await?;
        let got = v["indexes"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("allocation refused: {v}"))?;
        indexes.extend(got.iter().filter_map(Value::as_u64));
    }
    let bodies: Arc<Vec<String>> = Arc::new(
        indexes
            .iter()
            .enumerate()
            .map(|(i, idx)| {
                sign_json(
                    Typ::RegistryRequest,
                    &json!({"iss": iss, "iat": now, "jti": format!("upd-{run}-{i}"),
                            "aud": url, "op": "status", "list": "4", "index": idx,
                            "purpose": "suspension", "value": true}),
                    &key,
                )
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, url, bodies, next, ok) = (
            client.clone(),
            url.clone(),
            bodies.clone(),
            next.clone(),
            ok.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let r = client
                    .post(format!("{url}/v1/status"))
                    .header("Content-Type", "application/jwt")
                    .body(body.clone())
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().is_success()) {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "signed updates: {ok}/{} acknowledged in {secs:.2} s = {:.0} updates/s ({conc} connections)",
        bodies.len(),
        ok as f64 / secs
    );
    Ok(())
}
