//! Load generator for signed status updates (`server/load/updates.sh` runs it against a fresh
//! release server on either store). Reads a demo data directory's manifest and issuer key,
//! allocates indexes, signs every `registry-request+jwt` BEFORE the timed part (signing is
//! the clients' cost, not the registry's), then sends them from CONC concurrent clients over
//! keep-alive HTTP connections, each client one request at a time, until COUNT requests were
//! answered or SECONDS passed. Prints acknowledged updates per second and the latency of the
//! acknowledged ones (p50, p99, max); any refusal or transport error is counted and fails the
//! run (exit 1), so a figure is never made of errors.
//!
//! `cargo run --release -p cellproof-server --example update_load -- DATA_DIR [COUNT] [CONC] [SECONDS] [URL]`
//!
//! URL defaults to the manifest's `server` (the `aud` every request carries); another URL
//! (a second replica behind the same public URL) receives the same requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cellproof_core::{sign_json, KeyPair, Typ};
use serde_json::{json, Value};

/// Indexes allocated for the run; updates cycle over them, alternating the suspension bit, so
/// every acknowledged update flips a bit.
const MAX_INDEXES: usize = 20_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map_or("data", String::as_str));
    let count: usize = args.get(2).map_or(Ok(50_000), |s| s.parse())?;
    let conc: usize = args.get(3).map_or(Ok(64), |s| s.parse())?;
    let seconds: u64 = args.get(4).map_or(Ok(30), |s| s.parse())?;
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("demo/manifest.json"))?)?;
    let aud = manifest["server"].as_str().unwrap_or_default().to_owned();
    let target = args.get(5).cloned().unwrap_or_else(|| aud.clone());
    let issuer = &manifest["issuers"][0];
    let iss = issuer["did"].as_str().unwrap_or_default().to_owned();
    let jwk: Value = serde_json::from_slice(&std::fs::read(
        dir.join(issuer["key"].as_str().unwrap_or_default()),
    )?)?;
    let key = KeyPair::from_private_jwk(&jwk).map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .tcp_nodelay(true)
        .build()?;
    let now = cellproof_server::now();
    let run = format!("{now}-{}", std::process::id());
    let mut indexes = Vec::new();
    let mut n = 0;
    let want_indexes = count.min(MAX_INDEXES);
    while indexes.len() < want_indexes {
        let want = (want_indexes - indexes.len()).min(1000);
        let body = sign_json(
            Typ::RegistryRequest,
            &json!({"iss": iss, "iat": now, "jti": format!("alloc-{run}-{n}"), "aud": aud,
                    "op": "allocate", "list": "4", "count": want}),
            &key,
        );
        n += 1;
        let v: Value = client
            .post(format!("{target}/v1/allocate"))
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
    let sign_start = Instant::now();
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..count)
            .map(|i| {
                let idx = indexes[i % indexes.len()];
                let value = (i / indexes.len()) % 2 == 0;
                sign_json(
                    Typ::RegistryRequest,
                    &json!({"iss": iss, "iat": now, "jti": format!("upd-{run}-{i}"),
                            "aud": aud, "op": "status", "list": "4", "index": idx,
                            "purpose": "suspension", "value": value}),
                    &key,
                )
            })
            .collect(),
    );
    eprintln!(
        "signed {count} requests in {:.2} s (not measured); sending with {conc} clients",
        sign_start.elapsed().as_secs_f64()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, target, bodies, next, failed) = (
            client.clone(),
            target.clone(),
            bodies.clone(),
            next.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::new();
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let r = client
                    .post(format!("{target}/v1/status"))
                    .header("Content-Type", "application/jwt")
                    .body(body.clone())
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    Ok(r) => {
                        if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            eprintln!("refused: {status} {text}");
                        }
                        false
                    }
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("transport error: {e}");
                        }
                        false
                    }
                };
                if ok {
                    lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await?);
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len().max(1)) - 1;
        f64::from(lat.get(i).copied().unwrap_or(0)) / 1000.0
    };
    let failed = failed.load(Ordering::Relaxed);
    println!(
        "signed updates: {} acknowledged, {failed} failed, in {secs:.2} s = {:.0} updates/s \
         ({conc} clients); latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
    if failed > 0 {
        anyhow::bail!("{failed} requests were not acknowledged");
    }
    Ok(())
}
