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

#[tokio::main(flavor = "current_thread")]
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
    // Each request as the bytes that go on the wire (request line, headers, body), built
    // before the timed part like the signatures: the timed loop only writes and reads.
    let (host, base_path) = split_http_url(&target)?;
    let sign_start = Instant::now();
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..count)
            .map(|i| {
                let idx = indexes[i % indexes.len()];
                let value = (i / indexes.len()) % 2 == 0;
                let body = sign_json(
                    Typ::RegistryRequest,
                    &json!({"iss": iss, "iat": now, "jti": format!("upd-{run}-{i}"),
                            "aud": aud, "op": "status", "list": "4", "index": idx,
                            "purpose": "suspension", "value": value}),
                    &key,
                );
                format!(
                    "POST {base_path}/v1/status HTTP/1.1\r\nHost: {host}\r\n\
                     Content-Type: application/jwt\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes()
            })
            .collect(),
    );
    eprintln!(
        "signed {count} requests in {:.2} s (not measured); sending with {conc} clients",
        sign_start.elapsed().as_secs_f64()
    );
    // The timed part runs on ONE thread with a minimal HTTP/1.1 client (write the prepared
    // bytes, read one Content-Length response), so that the generator, which shares the
    // machine's cores with the server, takes as little of them as it can; its own CPU time
    // and the server's are printed per update (`SERVER_PID`), so the figure says what it
    // measured (docs/BENCHMARKS.md, "Registry server").
    let addr = host.clone();
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let server_pid: Option<u32> = std::env::var("SERVER_PID")
        .ok()
        .and_then(|p| p.parse().ok());
    let (self_cpu0, server_cpu0) = (cpu_seconds(None), server_pid.map(|p| cpu_seconds(Some(p))));
    let (lat, secs) = tokio::task::LocalSet::new()
        .run_until(async {
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let start = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..conc {
                let (addr, requests, next, failed) =
                    (addr.clone(), requests.clone(), next.clone(), failed.clone());
                tasks.push(tokio::task::spawn_local(async move {
                    connection(&addr, &requests, &next, &failed, deadline).await
                }));
            }
            let mut lat = Vec::new();
            for t in tasks {
                lat.extend(t.await.unwrap_or_default());
            }
            (lat, start.elapsed().as_secs_f64())
        })
        .await;
    let mut lat = lat;
    let self_cpu = cpu_seconds(None) - self_cpu0;
    let server_cpu = server_pid.map(|p| cpu_seconds(Some(p)) - server_cpu0.unwrap_or(0.0));
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len().max(1)) - 1;
        f64::from(lat.get(i).copied().unwrap_or(0)) / 1000.0
    };
    let failed = failed.load(Ordering::Relaxed);
    let per = |cpu: f64| cpu / lat.len().max(1) as f64 * 1e6;
    eprintln!(
        "CPU time per acknowledged update: generator {:.0} µs ({:.2} s){}; {} cores",
        per(self_cpu),
        self_cpu,
        server_cpu.map_or(String::new(), |c| format!(
            ", server {:.0} µs ({c:.2} s)",
            per(c)
        )),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
    );
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

/// `http://host:port[/base]` -> (`host:port`, `/base`): the generator speaks plain HTTP/1.1
/// to loopback only.
fn split_http_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("the target {url} is not an http:// URL"))?;
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let path = if path.is_empty() {
        String::new()
    } else {
        format!("/{}", path.trim_end_matches('/'))
    };
    Ok((host.to_owned(), path))
}

/// One keep-alive connection sending the next prepared request until none is left or the
/// deadline passed; returns the latencies (µs) of the acknowledged ones. A refusal, a
/// transport error or an unreadable answer is counted in `failed` (the first three printed);
/// after a transport error the connection is opened again.
async fn connection(
    addr: &str,
    requests: &[Vec<u8>],
    next: &AtomicUsize,
    failed: &AtomicUsize,
    deadline: Instant,
) -> Vec<u32> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut lat = Vec::new();
    let mut conn: Option<tokio::net::TcpStream> = None;
    let mut buf = vec![0u8; 16 * 1024];
    let fail = |what: String| {
        if failed.fetch_add(1, Ordering::Relaxed) < 3 {
            eprintln!("{what}");
        }
    };
    while Instant::now() < deadline {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(req) = requests.get(i) else { break };
        let t = Instant::now();
        if conn.is_none() {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    conn = Some(s);
                }
                Err(e) => {
                    fail(format!("transport error: {e}"));
                    continue;
                }
            }
        }
        let Some(stream) = conn.as_mut() else {
            continue;
        };
        if let Err(e) = stream.write_all(req).await {
            fail(format!("transport error: {e}"));
            conn = None;
            continue;
        }
        // Read until the head and its Content-Length of body are in.
        let mut len = 0;
        let answer = loop {
            match stream.read(&mut buf[len..]).await {
                Ok(0) => break Err("connection closed".to_owned()),
                Ok(n) => len += n,
                Err(e) => break Err(e.to_string()),
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut head = httparse::Response::new(&mut headers);
            match head.parse(&buf[..len]) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let body_len = head
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| {
                            std::str::from_utf8(h.value)
                                .ok()?
                                .trim()
                                .parse::<usize>()
                                .ok()
                        });
                    let Some(body_len) = body_len else {
                        break Err("an answer without Content-Length".to_owned());
                    };
                    if head_len + body_len > buf.len() {
                        break Err(format!("an answer of {} bytes", head_len + body_len));
                    }
                    if len >= head_len + body_len {
                        let code = head.code.unwrap_or(0);
                        let body = String::from_utf8_lossy(&buf[head_len..head_len + body_len]);
                        break Ok((code, body.into_owned()));
                    }
                }
                Ok(httparse::Status::Partial) if len < buf.len() => {}
                Ok(httparse::Status::Partial) => break Err("an answer head over 16 KiB".to_owned()),
                Err(e) => break Err(format!("an unreadable answer: {e}")),
            }
        };
        match answer {
            Ok((200..=299, _)) => {
                lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            Ok((code, body)) => fail(format!("refused: {code} {body}")),
            Err(e) => {
                fail(format!("transport error: {e}"));
                conn = None;
            }
        }
    }
    lat
}

/// CPU time (user + system) of this process, or of process `pid`, in seconds, from
/// `/proc/{pid}/stat` (Linux; clock ticks of 1/100 s, `getconf CLK_TCK`). 0 when unreadable.
fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |p| format!("/proc/{p}/stat"),
    );
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // Fields after the command name in parentheses (which may hold spaces): utime is the
    // 14th field of the line, stime the 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
