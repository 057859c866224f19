//! Replicas racing (issue 16): two `cellproof-server` processes on one PostgreSQL schema take
//! allocations and revocations on one list at the same time, each revocation sent to the
//! replica that did NOT allocate the index, while a poller keeps every W3C list and compact
//! body either replica serves. Afterwards: no acknowledged allocation or revocation is lost
//! (in the database and in the lists served under the newest `validFrom`), no index was
//! handed out twice, and no (list, `validFrom`) was ever served with two different bodies,
//! in W3C or compact form or across the two (SPEC.md section 5: a verifier refuses the
//! second as `status_list_conflict`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cellproof_core::{StatusStore, TrustStore};
use common::replica::{get_bytes, pair, trust};
use serde_json::Value;

/// How long both replicas take load.
const LOAD: Duration = Duration::from_secs(8);

/// Concurrent clients per replica.
const WORKERS: usize = 6;

/// Everything served during the run, by (list id, `validFrom`).
#[derive(Default)]
struct Seen {
    /// The W3C `vc+jwt` bodies (each signature is deterministic: one body per bits).
    w3c: BTreeMap<(String, u64), BTreeSet<String>>,
    /// The bits each form carried: `(form, replica)` per distinct bits.
    bits: BTreeMap<(String, u64), BTreeMap<Vec<u8>, BTreeSet<String>>>,
    /// Bodies fetched.
    fetched: usize,
}

impl Seen {
    fn add_w3c(&mut self, from: &str, body: &str, trust: &TrustStore) {
        let mut s = StatusStore::new();
        let l = s.insert(body, trust).unwrap().clone();
        let key = (l.id.clone(), l.valid_from);
        self.w3c.entry(key.clone()).or_default().insert(body.into());
        self.bits
            .entry(key)
            .or_default()
            .entry(l.bits.bytes().to_vec())
            .or_default()
            .insert(format!("w3c@{from}"));
        self.fetched += 1;
    }

    fn add_compact(&mut self, from: &str, body: &[u8], trust: &TrustStore) {
        let mut s = StatusStore::new();
        let out = s.insert_compact(body, trust).unwrap();
        assert!(out.iter().all(|(_, r)| r.is_ok()), "{out:?}");
        for l in s.lists() {
            self.bits
                .entry((l.id.clone(), l.valid_from))
                .or_default()
                .entry(l.bits.bytes().to_vec())
                .or_default()
                .insert(format!("compact@{from}"));
        }
        self.fetched += 1;
    }

    /// (list, validFrom) served with more than one body or more than one set of bits.
    fn conflicts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, bodies) in &self.w3c {
            if bodies.len() > 1 {
                out.push(format!("{} W3C bodies for {k:?}", bodies.len()));
            }
        }
        for (k, bits) in &self.bits {
            if bits.len() > 1 {
                let forms: Vec<_> = bits.values().collect();
                out.push(format!(
                    "{} different bits for {k:?}: {forms:?}",
                    bits.len()
                ));
            }
        }
        out
    }
}

#[derive(Default)]
struct Outcome {
    /// Indexes acknowledged by an allocation, with the replica that answered.
    allocated: Vec<(u64, usize)>,
    /// Revocations acknowledged.
    revoked: Vec<u64>,
    /// Refusals of requests that should have been accepted.
    refused: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_replicas_never_lose_duplicate_or_fork_an_acknowledged_write() {
    let p = pair();
    let (client, db, manifest) = (p.client.clone(), p.db.clone(), p.manifest.clone());
    let public = p.public().to_owned();
    let addrs = [public.clone(), p.b_addr.clone()];
    let trust = Arc::new(trust(&client, &public, &manifest).await);
    let (iss, key) = common::issuer_key(p.dir_a.path(), &manifest, "catena-x");

    let outcome: Arc<Mutex<Outcome>> = Arc::default();
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let end = Instant::now() + LOAD;
    let mut tasks = Vec::new();
    for w in 0..2 * WORKERS {
        let (client, addrs, public, key, iss, outcome) = (
            client.clone(),
            addrs.clone(),
            public.clone(),
            key.clone(),
            iss.clone(),
            outcome.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (mine, other) = (w % 2, 1 - w % 2);
            while Instant::now() < end {
                let r = client
                    .post(format!("{}/v1/allocate", addrs[mine]))
                    .header("Content-Type", "application/jwt")
                    .body(common::alloc(&public, &key, &iss, "4", 3))
                    .send()
                    .await
                    .unwrap();
                let (status, v): (u16, Value) = (r.status().as_u16(), r.json().await.unwrap());
                if status != 200 {
                    outcome
                        .lock()
                        .unwrap()
                        .refused
                        .push(format!("allocate on {mine}: {status} {v}"));
                    continue;
                }
                let got: Vec<u64> = v["indexes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_u64().unwrap())
                    .collect();
                outcome
                    .lock()
                    .unwrap()
                    .allocated
                    .extend(got.iter().map(|i| (*i, mine)));
                // Revoked through the other replica: it must know the allocation.
                let body = common::update(&public, &key, &iss, "4", got[0], "revocation", true);
                let r = client
                    .post(format!("{}/v1/status", addrs[other]))
                    .header("Content-Type", "application/jwt")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let (status, v): (u16, Value) = (r.status().as_u16(), r.json().await.unwrap());
                let mut o = outcome.lock().unwrap();
                if status == 200 {
                    o.revoked.push(got[0]);
                } else {
                    o.refused
                        .push(format!("revoke {} on {other}: {status} {v}", got[0]));
                }
            }
        }));
    }
    // The poller: every body either replica serves, W3C and compact.
    let poller = {
        let (client, addrs, trust, seen) =
            (client.clone(), addrs.clone(), trust.clone(), seen.clone());
        tokio::spawn(async move {
            while Instant::now() < end + Duration::from_secs(3) {
                for (n, base) in addrs.iter().enumerate() {
                    let w3c = get_bytes(&client, &format!("{base}/v1/status/acme/4")).await;
                    let compact = get_bytes(&client, &format!("{base}/v1/status-compact")).await;
                    let mut s = seen.lock().unwrap();
                    s.add_w3c(&n.to_string(), std::str::from_utf8(&w3c).unwrap(), &trust);
                    s.add_compact(&n.to_string(), &compact, &trust);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    let o = std::mem::take(&mut *outcome.lock().unwrap());

    // Converged: both replicas serve the newest list, and it shows every revocation.
    let deadline = Instant::now() + Duration::from_secs(10);
    let newest = loop {
        let mut lists = Vec::new();
        for (n, base) in addrs.iter().enumerate() {
            let w3c = get_bytes(&client, &format!("{base}/v1/status/acme/4")).await;
            let compact = get_bytes(&client, &format!("{base}/v1/status-compact")).await;
            let mut s = seen.lock().unwrap();
            s.add_w3c(&n.to_string(), std::str::from_utf8(&w3c).unwrap(), &trust);
            s.add_compact(&n.to_string(), &compact, &trust);
            let mut store = StatusStore::new();
            lists.push(
                store
                    .insert(std::str::from_utf8(&w3c).unwrap(), &trust)
                    .unwrap()
                    .clone(),
            );
        }
        let all = lists
            .iter()
            .all(|l| o.revoked.iter().all(|i| l.bits.get(*i) == Ok(1)));
        if all && lists[0].valid_from == lists[1].valid_from {
            break lists.remove(0);
        }
        if Instant::now() > deadline {
            let missing: Vec<usize> = lists
                .iter()
                .map(|l| {
                    o.revoked
                        .iter()
                        .filter(|i| l.bits.get(**i) != Ok(1))
                        .count()
                })
                .collect();
            panic!(
                "not converged in 10 s: validFrom {} / {}, acknowledged revocations missing {missing:?}",
                lists[0].valid_from, lists[1].valid_from
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    poller.await.unwrap();

    // The database holds every acknowledged allocation and revocation.
    let (pg, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let allocated: Vec<u8> = pg
        .query_one(
            "SELECT allocated FROM lists WHERE slug = 'acme' AND list_id = '4'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let revoked: Vec<u8> = pg
        .query_one(
            "SELECT bits FROM status_lists WHERE slug = 'acme' AND list_id = '4' \
             AND purpose = 'revocation'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let bit = |b: &[u8], i: u64| b[(i / 8) as usize] & (0x80 >> (i % 8)) != 0;
    let lost: Vec<u64> = o
        .allocated
        .iter()
        .map(|(i, _)| *i)
        .filter(|i| !bit(&allocated, *i))
        .collect();
    let mut count: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, _) in &o.allocated {
        *count.entry(*i).or_default() += 1;
    }
    let twice: Vec<u64> = count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(i, _)| *i)
        .collect();
    let unrevoked: Vec<u64> = o
        .revoked
        .iter()
        .copied()
        .filter(|i| !bit(&revoked, *i))
        .collect();
    let s = seen.lock().unwrap();
    let conflicts = s.conflicts();
    eprintln!(
        "race: {} indexes allocated ({} on A, {} on B), {} revoked, {} refused, {} lost, \
         {} handed out twice, {} revocations not stored, {} bodies fetched, {} (list, validFrom) \
         with two bodies",
        o.allocated.len(),
        o.allocated.iter().filter(|(_, r)| *r == 0).count(),
        o.allocated.iter().filter(|(_, r)| *r == 1).count(),
        o.revoked.len(),
        o.refused.len(),
        lost.len(),
        twice.len(),
        unrevoked.len(),
        s.fetched,
        conflicts.len()
    );
    assert!(
        o.allocated.len() >= 300,
        "enough load: {}",
        o.allocated.len()
    );
    assert!(
        o.allocated.iter().any(|(_, r)| *r == 0) && o.allocated.iter().any(|(_, r)| *r == 1),
        "both replicas allocated"
    );
    assert!(
        o.refused.is_empty(),
        "refused: {:?}",
        &o.refused[..o.refused.len().min(5)]
    );
    assert!(lost.is_empty(), "acknowledged allocations lost: {lost:?}");
    assert!(twice.is_empty(), "indexes handed out twice: {twice:?}");
    assert!(
        unrevoked.is_empty(),
        "acknowledged revocations lost: {unrevoked:?}"
    );
    assert!(conflicts.is_empty(), "{conflicts:#?}");
    // The newest list (both forms, both replicas) shows every acknowledged revocation.
    let key = (newest.id.clone(), newest.valid_from);
    let forms = &s.bits[&key];
    assert_eq!(forms.len(), 1);
    let served: BTreeSet<&String> = forms.values().flatten().collect();
    for want in ["w3c@0", "w3c@1", "compact@0", "compact@1"] {
        assert!(
            served.iter().any(|f| f.as_str() == want),
            "{want} served the newest list: {served:?}"
        );
    }
    drop(p);
}
