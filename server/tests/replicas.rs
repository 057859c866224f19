//! Replicas: two `cellproof-server` processes on one PostgreSQL schema (the machine's, or
//! `CELLPROOF_TEST_DATABASE`; the test fails, never skips, without it). The first seeds the
//! demo world, the second joins without `--demo` behind the same public URL. Signed status
//! updates go to both at once; the signing one is killed with SIGKILL mid-stream. Afterwards
//! every acknowledged change is in the list both replicas serve (the survivor took the
//! signing lease; the restarted one follows), `validFrom` only moved forward, and the audit
//! chain verifies with `cellproof-server audit verify`.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cellproof_core::{StatusList, StatusStore, TrustStore};
use common::replica::{get_text, pair, start, trust};
use serde_json::Value;

/// The list `acme/4` as `base` serves it, verified.
async fn served(client: &reqwest::Client, base: &str, trust: &TrustStore) -> StatusList {
    let mut store = StatusStore::new();
    store
        .insert(
            &get_text(client, &format!("{base}/v1/status/acme/4")).await,
            trust,
        )
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_one_killed_mid_stream_lose_nothing_acknowledged() {
    // Replica A seeds the demo world; its URL is the public URL of both. Replica B joins
    // without --demo: the pinned roots from its configuration file.
    let mut two = pair();
    let (client, db, manifest) = (two.client.clone(), two.db.clone(), two.manifest.clone());
    let (public, b_addr) = (two.public().to_owned(), two.b_addr.clone());
    let trust_a = trust(&client, &public, &manifest).await;
    // B serves the demo world A seeded: the same list, verified under the same roots.
    let trust_b = trust(&client, &b_addr, &manifest).await;
    let before = served(&client, &b_addr, &trust_b).await;
    assert_eq!(before.id, format!("{public}/v1/status/acme/4"));

    let (iss, key) = common::issuer_key(two.dir_a.path(), &manifest, "catena-x");
    // Allocated on B, updated on both: each replica checks requests against the database.
    let r = client
        .post(format!("{b_addr}/v1/allocate"))
        .header("Content-Type", "application/jwt")
        .body(common::alloc(&public, &key, &iss, "4", 600))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let indexes: Vec<u64> = v["indexes"]
        .as_array()
        .unwrap_or_else(|| panic!("allocation refused: {v}"))
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut senders = Vec::new();
    for (n, chunk) in indexes.chunks(75).enumerate() {
        let target = if n % 2 == 0 {
            public.clone()
        } else {
            b_addr.clone()
        };
        let (chunk, client, public, key, iss, acked) = (
            chunk.to_vec(),
            client.clone(),
            public.clone(),
            key.clone(),
            iss.clone(),
            acked.clone(),
        );
        senders.push(tokio::spawn(async move {
            for idx in chunk {
                let body = common::update(&public, &key, &iss, "4", idx, "revocation", true);
                let r = client
                    .post(format!("{target}/v1/status"))
                    .header("Content-Type", "application/jwt")
                    .body(body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        if r.json::<Value>().await.is_ok() {
                            acked.lock().unwrap().push(idx);
                        }
                    }
                    Ok(r) => panic!("refused by {target}: {}", r.text().await.unwrap()),
                    Err(_) => return, // that replica died: not acknowledged
                }
            }
        }));
    }
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if acked.lock().unwrap().len() >= 80 {
            break;
        }
    }
    // A seeded the world and took the lease first: the signer dies.
    two.a.child.kill().unwrap();
    two.a.child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 80);
    assert!(acked.len() < indexes.len(), "the kill landed mid-stream");

    // B takes the lease and publishes every acknowledged change (lease within 10 s).
    let deadline = Instant::now() + Duration::from_secs(12);
    let list = loop {
        let list = served(&client, &b_addr, &trust_b).await;
        if acked.iter().all(|i| list.bits.get(*i) == Ok(1)) {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "the survivor did not publish the acknowledged changes within 12 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        list.valid_from > before.valid_from,
        "validFrom moved forward"
    );

    // A restarts (same public URL, now a follower) and serves the same list within a second.
    let a_port: u16 = public.rsplit(':').next().unwrap().parse().unwrap();
    let a_listen = format!("127.0.0.1:{a_port}");
    let mut a2 = start(
        two.dir_a.path(),
        &db,
        &a_listen,
        &["--demo", "--public-url", &public],
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let on_a = served(&client, &public, &trust_a).await;
        let on_b = served(&client, &b_addr, &trust_b).await;
        let all = acked.iter().all(|i| on_a.bits.get(*i) == Ok(1));
        if all && on_a.valid_from == on_b.valid_from {
            assert_eq!(on_a.bits, on_b.bits, "one validFrom, one list");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted replica does not serve the acknowledged changes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The audit chain both wrote is intact, and every acknowledged update is in it once.
    let log = get_text(&client, &format!("{b_addr}/v1/audit?limit=10000")).await;
    let entries: Value = serde_json::from_str(&log).unwrap();
    for idx in &acked {
        let n = entries["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "status.update" && e["detail"]["index"] == *idx)
            .count();
        assert_eq!(n, 1, "index {idx} audited once");
    }
    let files = tempfile::tempdir().unwrap();
    let p = files.path();
    std::fs::write(p.join("audit.json"), &log).unwrap();
    std::fs::write(
        p.join("head.jws"),
        get_text(&client, &format!("{b_addr}/v1/audit/head")).await,
    )
    .unwrap();
    for e in manifest["ecosystems"].as_array().unwrap() {
        let eco = e["eco"].as_str().unwrap();
        std::fs::write(p.join(format!("{eco}.jwk")), e["root"].to_string()).unwrap();
        std::fs::write(
            p.join(format!("{eco}.jws")),
            get_text(&client, &format!("{b_addr}/v1/trust-list/{eco}")).await,
        )
        .unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_cellproof-server"))
        .args([
            "audit",
            "verify",
            "--head",
            "head.jws",
            "--log",
            "audit.json",
        ])
        .args([
            "--trust-list",
            "catena-x.jws",
            "--trust-list",
            "ouranos.jws",
        ])
        .args([
            "--root",
            "catena-x=catena-x.jwk",
            "--root",
            "ouranos=ouranos.jwk",
        ])
        .current_dir(p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for r in [&mut two.b.child, &mut a2.child] {
        r.kill().unwrap();
        r.wait().unwrap();
    }
}

/// Two replicas racing on one battery's lifecycle (SPEC.md 1.2 sections 3.4 and 6.2): for each
/// of several batteries, a recycler's `original -> waste` goes to A while a repurposer's
/// `original -> repurposed` goes to B at the same moment. Exactly one is acknowledged, the
/// other is `lifecycle-conflict` (never two acknowledged events on one status), and both
/// replicas serve the winner's status.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_racing_on_one_batterys_lifecycle_acknowledge_one_event() {
    use cellproof_core::lifecycle::LifecycleStatus as L;
    let two = pair();
    let (client, manifest) = (two.client.clone(), two.manifest.clone());
    let (public, b_addr) = (two.public().to_owned(), two.b_addr.clone());
    let w = common::demo_world(two.dir_a.path(), &public);
    let successor = vec![(
        format!("{public}/01/04071234000018/21/SLRACE0001"),
        "urn:uuid:00000000-0000-4000-8000-0000000000c3".to_owned(),
    )];
    let mut winners = Vec::new();
    for name in [
        "valid",
        "suspended",
        "superseded",
        "revoked",
        "passport-valid",
    ] {
        let url = manifest["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["url"]
            .as_str()
            .unwrap()
            .split('#')
            .next()
            .unwrap()
            .to_owned();
        let path = url.strip_prefix(&format!("{public}/")).unwrap().to_owned();
        let at = common::now() - 60;
        let req = |actor: &cellproof_world::Issuer, new: L, succ: &[(String, String)]| {
            let event = w.lifecycle_event(actor, &url, L::Original, new, succ, at);
            cellproof_core::sign_json(
                cellproof_core::Typ::RegistryRequest,
                &serde_json::json!({"iss": actor.did, "iat": common::now(), "jti": common::jti(),
                    "aud": public, "op": "lifecycle", "item": path, "event": event}),
                &actor.key,
            )
        };
        let to_a = req(&w.recycler, L::Waste, &[]);
        let to_b = req(&w.repurposer, L::Repurposed, &successor);
        let (ra, rb) = tokio::join!(
            two.post(&public, "/v1/lifecycle", "application/jwt", to_a),
            two.post(&b_addr, "/v1/lifecycle", "application/jwt", to_b),
        );
        let ok: Vec<&(u16, Value)> = [&ra, &rb].into_iter().filter(|r| r.0 == 200).collect();
        assert_eq!(
            ok.len(),
            1,
            "{name}: exactly one acknowledged: {ra:?} {rb:?}"
        );
        let lost = if ra.0 == 200 { &rb } else { &ra };
        assert_eq!(lost.0, 409, "{name}: {lost:?}");
        assert_eq!(
            common::kind(&lost.1),
            "lifecycle-conflict",
            "{name}: {lost:?}"
        );
        assert_eq!(ok[0].1["seq"], 1, "{name}");
        winners.push((path, ok[0].1["status"].as_str().unwrap().to_owned()));
    }
    // Both replicas serve each winner's event as the battery's only one.
    for (path, status) in &winners {
        let api = format!(
            "/v1/passports/{}",
            path.trim_start_matches("01/").replace("/21/", "/")
        );
        for base in [public.as_str(), b_addr.as_str()] {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let r = client.get(format!("{base}{api}")).send().await.unwrap();
                if r.status() == 404 {
                    // Labels without a passport: no chain to read (the lists say it all).
                    break;
                }
                let v: Value = r.json().await.unwrap();
                let events = v["events"].as_array().map_or(0, Vec::len);
                if events == 1 {
                    break;
                }
                assert!(Instant::now() < deadline, "{base}{api}: {v} ({status})");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
