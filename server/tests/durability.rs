//! Durability: the real binary with `--demo` takes signed status updates from concurrent
//! senders, is killed with SIGKILL mid-stream, restarts on the same directory (and the same
//! PostgreSQL schema when `CELLPROOF_TEST_DATABASE` is set), and every update it
//! acknowledged (200) is in the served list and in the audit log.
//!
//! Below it, the storage contract itself, for both stores: a replayed `jti` commits nothing,
//! writers on two handles of one database (two replicas) never fork the audit chain, never
//! lose each other's bits, never lose nor hand out twice an allocated index, a signed list
//! is recorded only over the version it replaces with a later `validFrom`, and the
//! PostgreSQL schema's migrations and append-only triggers.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

use cellproof_core::{PublicKey, StatusStore, TrustStore};
use cellproof_server::store::{
    chain_hash, AuditEntry, Batch, BitChange, IndexClaim, IssuerRow, JtiRow, ListRow, NewAudit,
    PostgresStore, SignedList, SqliteStore, StatusRow, Store, StoreError,
};
use serde_json::Value;

const TOKEN: &str = "durability-token-of-32-characters-or-more";

fn start(dir: &Path, database: Option<&str>) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cellproof-server"));
    cmd.args([
        "--data",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--demo",
    ]);
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    common::replica::spawn(&mut cmd, TOKEN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_updates_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let schema = common::PgSchema::from_env();
    let database = schema.as_ref().map(|s| s.url.as_str());
    let (mut child, url) = start(dir.path(), database);
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

    let (mut child, url2) = start(dir.path(), database);
    assert_eq!(
        dir.path().join("registry.sqlite3").exists(),
        database.is_none(),
        "the store is the one the run asked for"
    );
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

// ---- The storage contract, on the store the run uses (SQLite or CELLPROOF_TEST_DATABASE) ----

/// A store of the run's kind, and what keeps its database alive.
struct TestStore {
    dir: tempfile::TempDir,
    schema: Option<common::PgSchema>,
}

impl TestStore {
    fn new() -> Self {
        TestStore {
            dir: tempfile::tempdir().unwrap(),
            schema: common::PgSchema::from_env(),
        }
    }

    /// A handle on the store: each call is another connection (another replica) to it.
    fn open(&self) -> Arc<dyn Store> {
        match &self.schema {
            Some(s) => Arc::new(PostgresStore::open(&s.url).unwrap()),
            None => Arc::new(SqliteStore::open(self.dir.path()).unwrap()),
        }
    }
}

/// ACME's revocation list `list`: 128 bits, none set, signed at 1.
fn empty_list(list: &str) -> StatusRow {
    StatusRow {
        slug: "acme".into(),
        list_id: list.into(),
        purpose: "revocation".into(),
        bits: vec![0; 16],
        jws: "signed".into(),
        valid_from: 1,
        valid_until: 2,
        dirty: false,
    }
}

fn entry(actor: &str, n: u64) -> NewAudit {
    NewAudit {
        actor: actor.into(),
        action: "test".into(),
        detail: serde_json::json!({ "n": n, "text": "ünïcode \"quoted\"" }),
        digest: format!("{n:064x}"),
    }
}

fn jti(iss: &str, jti: &str) -> JtiRow {
    JtiRow {
        iss: iss.into(),
        jti: jti.into(),
        iat: 1_700_000_000,
    }
}

/// Checks every link of the chain from entry 1, as `cellproof-server audit verify` does.
fn assert_chain(log: &[AuditEntry]) {
    let mut prev = String::new();
    for (n, e) in log.iter().enumerate() {
        assert_eq!(e.seq, n as i64 + 1, "no gap, no fork");
        let want = chain_hash(
            &prev,
            e.seq,
            e.at,
            &e.actor,
            &e.action,
            &e.detail.to_string(),
            &e.digest,
        );
        assert_eq!(e.hash, want, "entry {} links to the one before", e.seq);
        prev = e.hash.clone();
    }
}

#[test]
fn a_replayed_jti_anywhere_in_a_batch_commits_nothing() {
    let t = TestStore::new();
    let s = t.open();
    let b = Batch {
        jtis: vec![jti("did:a", "1"), jti("did:a", "2")],
        audit: vec![entry("did:a", 1)],
        ..Batch::default()
    };
    assert_eq!(s.commit(&b, 10).unwrap(), vec![1]);
    let head = s.head().unwrap();
    // One new jti and one seen: refused whole, the new one not recorded either.
    let replay = Batch {
        jtis: vec![jti("did:a", "3"), jti("did:a", "2")],
        audit: vec![entry("did:a", 2)],
        ..Batch::default()
    };
    assert!(matches!(s.commit(&replay, 11), Err(StoreError::Replay)));
    // The same jti twice in one batch is a replay too.
    let twice = Batch {
        jtis: vec![jti("did:a", "4"), jti("did:a", "4")],
        audit: vec![entry("did:a", 3)],
        ..Batch::default()
    };
    assert!(matches!(s.commit(&twice, 11), Err(StoreError::Replay)));
    assert_eq!(s.head().unwrap(), head, "a refused batch leaves the head");
    assert_eq!(
        s.jtis_seen(&[
            jti("did:a", "2"),
            jti("did:a", "3"),
            jti("did:b", "1"),
            jti("did:a", "1")
        ])
        .unwrap(),
        [true, false, false, true],
        "seen: only what a committed batch recorded"
    );
    assert_eq!(s.audit(0, 10).unwrap().len(), 1);
    // The same jti from another issuer is another request.
    let other = Batch {
        jtis: vec![jti("did:a", "3"), jti("did:b", "2"), jti("did:a", "4")],
        audit: vec![entry("did:b", 4)],
        ..Batch::default()
    };
    assert_eq!(s.commit(&other, 12).unwrap(), vec![2]);
    assert_chain(&s.audit(0, 10).unwrap());
    // Pruning forgets only the jtis older than the window.
    assert_eq!(s.prune_jtis(1_600_000_000).unwrap(), 0);
    assert_eq!(s.prune_jtis(1_700_000_001).unwrap(), 5);
    assert_eq!(s.commit(&b, 13).unwrap(), vec![3], "pruned: accepted again");
}

#[test]
fn writers_on_two_handles_never_fork_the_chain_nor_lose_bits() {
    let t = TestStore::new();
    let (a, b) = (t.open(), t.open());
    let row = empty_list("1");
    a.commit(
        &Batch {
            status: vec![row.clone()],
            ..Batch::default()
        },
        1,
    )
    .unwrap();
    const THREADS: u64 = 4;
    const COMMITS: u64 = 30;
    let mut threads = Vec::new();
    for t in 0..THREADS {
        let s = if t % 2 == 0 { a.clone() } else { b.clone() };
        threads.push(std::thread::spawn(move || {
            let mut seqs = Vec::new();
            for n in 0..COMMITS {
                let index = t * COMMITS + n;
                let batch = Batch {
                    jtis: vec![jti(&format!("did:{t}"), &n.to_string())],
                    bits: vec![BitChange {
                        slug: "acme".into(),
                        list_id: "1".into(),
                        purpose: "revocation".into(),
                        index,
                        value: true,
                    }],
                    audit: vec![entry(&format!("did:{t}"), index), entry("operator", index)],
                    ..Batch::default()
                };
                seqs.extend(s.commit(&batch, 100 + n).unwrap());
            }
            seqs
        }));
    }
    let mut all: Vec<i64> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    let n = (THREADS * COMMITS * 2) as i64;
    assert_eq!(all, (1..=n).collect::<Vec<_>>(), "each seq handed out once");
    let log = b.audit(0, 1000).unwrap();
    assert_eq!(log.len() as i64, n);
    assert_chain(&log);
    // Each commit's two entries are adjacent: appends do not interleave.
    for pair in log.chunks(2) {
        assert_eq!(pair[0].detail["n"], pair[1].detail["n"]);
    }
    assert_eq!(
        a.head().unwrap(),
        Some((n, log.last().unwrap().hash.clone()))
    );
    let held = b.load().unwrap().status.remove(0);
    let set = (0..THREADS * COMMITS)
        .filter(|i| held.bits[(*i / 8) as usize] & (0x80 >> (i % 8)) != 0)
        .count() as u64;
    assert_eq!(set, THREADS * COMMITS, "every writer's bit held");
    assert!(held.dirty);
    // A signature over fewer bits than are held is recorded and leaves the row dirty.
    let partial = SignedList {
        row: StatusRow {
            jws: "partial".into(),
            valid_from: 150,
            ..row.clone()
        },
        replaces: 1,
    };
    a.commit(
        &Batch {
            signed: vec![partial],
            ..Batch::default()
        },
        150,
    )
    .unwrap();
    let held = b.load().unwrap().status.remove(0);
    assert_eq!((held.jws.as_str(), held.dirty), ("partial", true));
    let fresh = SignedList {
        row: StatusRow {
            jws: "fresh".into(),
            bits: held.bits.clone(),
            valid_from: 200,
            ..row
        },
        replaces: 150,
    };
    b.commit(
        &Batch {
            signed: vec![fresh],
            ..Batch::default()
        },
        200,
    )
    .unwrap();
    let held = a.load().unwrap().status.remove(0);
    assert_eq!((held.jws.as_str(), held.dirty), ("fresh", false));
    // A bit change to a list nobody holds fails the batch, committing nothing.
    let missing = Batch {
        jtis: vec![jti("did:x", "1")],
        bits: vec![BitChange {
            slug: "acme".into(),
            list_id: "nope".into(),
            purpose: "revocation".into(),
            index: 0,
            value: true,
        }],
        audit: vec![entry("did:x", 0)],
        ..Batch::default()
    };
    assert!(matches!(
        a.commit(&missing, 300),
        Err(StoreError::Backend(_))
    ));
    // Past the end of the list too.
    let beyond = Batch {
        bits: vec![BitChange {
            list_id: "1".into(),
            index: 16 * 8,
            ..missing.bits[0].clone()
        }],
        ..missing.clone()
    };
    assert!(matches!(
        a.commit(&beyond, 300),
        Err(StoreError::Backend(_))
    ));
    // An index no list holds, at u64::MAX (PostgreSQL's bigint cannot even carry it).
    let huge = Batch {
        bits: vec![BitChange {
            list_id: "1".into(),
            index: u64::MAX,
            ..missing.bits[0].clone()
        }],
        ..missing.clone()
    };
    assert!(matches!(a.commit(&huge, 300), Err(StoreError::Backend(_))));
    assert_eq!(a.head().unwrap().unwrap().0, n);
    assert_eq!(
        b.commit(&missing_without_bits(&missing), 301).unwrap(),
        vec![n + 1]
    );
}

/// ACME onboarded with list `list`, `bytes` bytes of allocation bitmap, none allocated.
fn onboarded(s: &dyn Store, list: &str, bytes: usize) {
    s.commit(
        &Batch {
            issuers: vec![IssuerRow {
                slug: "acme".into(),
                did: "did:web:acme.example".into(),
                eco: Some("catena-x".into()),
            }],
            lists: vec![ListRow {
                slug: "acme".into(),
                list_id: list.into(),
                allocated: vec![0; bytes],
            }],
            status: vec![empty_list(list)],
            ..Batch::default()
        },
        1,
    )
    .unwrap();
}

fn claim(list: &str, index: u64) -> IndexClaim {
    IndexClaim {
        slug: "acme".into(),
        list_id: list.into(),
        index,
    }
}

#[test]
fn two_handles_allocating_at_once_never_lose_nor_hand_out_an_index_twice() {
    // Each writer picks indexes from the bitmap it read, as a replica does, and commits them
    // with a jti and an audit entry; a conflict is read again and retried. Before claims,
    // each commit wrote back its whole bitmap: the last writer erased the others' indexes.
    let t = TestStore::new();
    let (a, b) = (t.open(), t.open());
    onboarded(&*a, "1", 64);
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 40;
    let mut threads = Vec::new();
    for w in 0..THREADS {
        let s = if w % 2 == 0 { a.clone() } else { b.clone() };
        threads.push(std::thread::spawn(move || {
            let mut mine = Vec::new();
            let mut conflicts = 0;
            for n in 0..ROUNDS {
                loop {
                    let held = s.load().unwrap().lists.remove(0).allocated;
                    // The two lowest free indexes: every writer wants the same ones.
                    let free: Vec<u64> = (0..held.len() as u64 * 8)
                        .filter(|i| held[(*i / 8) as usize] & (0x80 >> (i % 8)) == 0)
                        .take(2)
                        .collect();
                    let batch = Batch {
                        jtis: vec![jti(&format!("did:{w}"), &n.to_string())],
                        claims: free.iter().map(|i| claim("1", *i)).collect(),
                        audit: vec![entry(&format!("did:{w}"), n)],
                        ..Batch::default()
                    };
                    match s.commit(&batch, 10 + n) {
                        Ok(_) => {
                            mine.extend(free);
                            break;
                        }
                        Err(StoreError::Conflict(_)) => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            (mine, conflicts)
        }));
    }
    let mut all = Vec::new();
    for h in threads {
        let (mine, _conflicts) = h.join().unwrap();
        all.extend(mine);
    }
    let n = (THREADS * ROUNDS * 2) as usize;
    assert_eq!(all.len(), n);
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), n, "no index handed out twice");
    let held = b.load().unwrap().lists.remove(0).allocated;
    let set: BTreeSet<u64> = (0..held.len() as u64 * 8)
        .filter(|i| held[(*i / 8) as usize] & (0x80 >> (i % 8)) != 0)
        .collect();
    assert_eq!(set, distinct, "every acknowledged index held, nothing else");
    assert_eq!(
        a.audit(0, 1000).unwrap().len(),
        n / 2,
        "one entry per commit"
    );
    // An index held already, or named twice, refuses the whole batch; so does a list that
    // does not exist or an index past its end.
    let taken = *distinct.iter().next().unwrap();
    let free = (0..512).find(|i| !distinct.contains(i)).unwrap();
    let head = a.head().unwrap();
    for (claims, conflict) in [
        (vec![claim("1", free), claim("1", taken)], true),
        (vec![claim("1", free), claim("1", free)], true),
        (vec![claim("1", free), claim("2", 0)], false),
        (vec![claim("1", free), claim("1", 512)], false),
    ] {
        let batch = Batch {
            jtis: vec![jti("did:x", &format!("{claims:?}"))],
            claims,
            audit: vec![entry("did:x", 0)],
            ..Batch::default()
        };
        match a.commit(&batch, 100) {
            Err(StoreError::Conflict(_)) => assert!(conflict),
            Err(StoreError::Backend(_)) => assert!(!conflict),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(a.head().unwrap(), head, "nothing committed");
    let held = a.load().unwrap().lists.remove(0).allocated;
    assert_eq!(held[(free / 8) as usize] & (0x80 >> (free % 8)), 0);
}

#[test]
fn a_signed_list_is_recorded_only_after_the_version_it_replaces() {
    // One body per (list, validFrom): two signers that read version 1 cannot both record
    // theirs, and nobody records a validFrom at or below the stored one, even over the
    // version it names (a clock behind).
    let t = TestStore::new();
    let (a, b) = (t.open(), t.open());
    onboarded(&*a, "1", 16);
    let signed = |jws: &str, valid_from, replaces| SignedList {
        row: StatusRow {
            jws: jws.into(),
            valid_from,
            valid_until: valid_from + 10,
            ..empty_list("1")
        },
        replaces,
    };
    let commit = |s: &Arc<dyn Store>, l: SignedList| {
        s.commit(
            &Batch {
                signed: vec![l],
                jtis: vec![jti("did:s", &common::jti())],
                audit: vec![entry("did:s", 0)],
                ..Batch::default()
            },
            5,
        )
    };
    commit(&a, signed("a@5", 5, 1)).unwrap();
    for (s, l) in [
        (&b, signed("b@5", 5, 1)),
        (&b, signed("b@6", 6, 1)),
        (&b, signed("b@5", 5, 5)),
        (&a, signed("a@4", 4, 5)),
    ] {
        let jws = l.row.jws.clone();
        assert!(
            matches!(commit(s, l), Err(StoreError::Conflict(_))),
            "{jws} refused"
        );
    }
    let held = b.load().unwrap().status.remove(0);
    assert_eq!((held.jws.as_str(), held.valid_from), ("a@5", 5));
    assert_eq!(
        b.audit(0, 10).unwrap().len(),
        1,
        "refused batches commit nothing"
    );
    commit(&b, signed("b@6", 6, 5)).unwrap();
    // Nor can a whole-row write put another body under a signed validFrom or an older one.
    for (jws, vf) in [("other@6", 6), ("older@3", 3)] {
        let r = a.commit(
            &Batch {
                status: vec![StatusRow {
                    jws: jws.into(),
                    valid_from: vf,
                    ..empty_list("1")
                }],
                ..Batch::default()
            },
            7,
        );
        assert!(matches!(r, Err(StoreError::Backend(_))), "{jws}: {r:?}");
    }
    let held = a.load().unwrap().status.remove(0);
    assert_eq!((held.jws.as_str(), held.valid_from), ("b@6", 6));
}

#[test]
fn a_replica_rereads_only_what_others_changed() {
    // PostgreSQL-only (`changes` is what replicas poll and check before each group); SQLite,
    // written by one process, answers with everything.
    let schema = common::PgSchema::always();
    let (a, b) = (
        PostgresStore::open(&schema.url).unwrap(),
        PostgresStore::open(&schema.url).unwrap(),
    );
    let row = empty_list;
    let bit = |list: &str, index: u64, value: bool| BitChange {
        slug: "acme".into(),
        list_id: list.into(),
        purpose: "revocation".into(),
        index,
        value,
    };
    // One bit change, committed through `s` at time `t`.
    let set = |s: &PostgresStore, list: &str, index: u64, t: u64| {
        s.commit(
            &Batch {
                bits: vec![bit(list, index, true)],
                ..Batch::default()
            },
            t,
        )
        .unwrap();
    };
    a.commit(
        &Batch {
            status: vec![row("1"), row("2")],
            ..Batch::default()
        },
        1,
    )
    .unwrap();
    assert_eq!(a.load().unwrap().status.len(), 2);
    assert!(a.changes().unwrap().is_none(), "nothing since the load");
    // Another replica flips bits of list 2 (the same bit twice: the last change holds).
    b.commit(
        &Batch {
            jtis: vec![jti("did:b", "1")],
            bits: vec![bit("2", 9, true), bit("2", 127, true), bit("2", 9, false)],
            audit: vec![entry("did:b", 1)],
            ..Batch::default()
        },
        2,
    )
    .unwrap();
    let got = a.changes().unwrap().expect("b's change");
    assert!(got.issuers.is_empty() && got.lists.is_empty());
    assert_eq!(got.status.len(), 1, "only the list b changed");
    let mut want = vec![0u8; 16];
    want[15] = 0x01; // bit 127: the least significant bit of the last byte
    assert_eq!(
        (got.status[0].list_id.as_str(), &got.status[0].bits),
        ("2", &want)
    );
    assert!(got.status[0].dirty);
    assert!(a.changes().unwrap().is_none(), "read once");
    // Its own commit, directly after what it read, is not read back.
    set(&a, "1", 0, 3);
    assert!(a.changes().unwrap().is_none(), "own commit");
    // Another's commit before its own: both rows come back (its own too: memory cannot
    // tell which came first).
    set(&b, "2", 1, 4);
    set(&a, "1", 1, 5);
    let got = a.changes().unwrap().expect("b's second change");
    let mut lists: Vec<&str> = got.status.iter().map(|r| r.list_id.as_str()).collect();
    lists.sort_unstable();
    assert_eq!(lists, ["1", "2"]);
    // A bit change that flips nothing writes nothing: no change to read.
    set(&b, "2", 1, 6);
    let got = a.changes().unwrap();
    assert!(
        got.as_ref().is_none_or(|s| s.status.is_empty()),
        "{:?}",
        got.map(|s| s.status.len())
    );
}

fn missing_without_bits(b: &Batch) -> Batch {
    Batch {
        bits: Vec::new(),
        ..b.clone()
    }
}

#[test]
fn postgres_schema_is_migrated_once_append_only_and_refuses_foreign_versions() {
    // PostgreSQL-only: runs in every `cargo test` against the machine's PostgreSQL (or
    // CELLPROOF_TEST_DATABASE), failing with the reason when it is not reachable.
    let schema = common::PgSchema::always();
    let s = PostgresStore::open(&schema.url).unwrap();
    let again = PostgresStore::open(&schema.url).unwrap();
    let versions = "SELECT 1 FROM schema_migrations";
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|f| f.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count();
    assert_eq!(
        schema.exec(versions).unwrap(),
        files as u64,
        "each migration recorded once"
    );
    let b = Batch {
        audit: vec![entry("operator", 1), entry("operator", 2)],
        ..Batch::default()
    };
    assert_eq!(again.commit(&b, 5).unwrap(), vec![1, 2]);
    assert_chain(&s.audit(0, 10).unwrap());
    // Append-only, whoever holds a connection.
    for sql in [
        "UPDATE audit SET actor = 'mallory'",
        "DELETE FROM audit WHERE seq = 2",
        "TRUNCATE audit",
    ] {
        let e = schema.exec(sql).unwrap_err();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    for sql in [
        "UPDATE audit_head SET seq = 1",
        "DELETE FROM audit_head",
        "TRUNCATE audit_head",
    ] {
        let e = schema.exec(sql).unwrap_err();
        assert!(
            e.contains("forward") || e.contains("append-only"),
            "{sql}: {e}"
        );
    }
    assert_eq!(s.audit(0, 10).unwrap().len(), 2);
    drop((s, again));
    // A migration edited after it was applied is refused, naming it.
    schema
        .exec("UPDATE schema_migrations SET sha256 = 'x' WHERE version = 1")
        .unwrap();
    let e = PostgresStore::open(&schema.url).unwrap_err().to_string();
    assert!(e.contains("migration 1 (initial)"), "{e}");
    schema
        .exec("DELETE FROM schema_migrations WHERE version = 1")
        .unwrap();
    // A schema from a newer server is refused rather than misread.
    schema
        .exec("INSERT INTO schema_migrations (version, name, sha256) VALUES (99, 'future', '')")
        .unwrap();
    let e = PostgresStore::open(&schema.url).unwrap_err().to_string();
    assert!(e.contains("migration 99") && e.contains("newer"), "{e}");
    // A search_path naming no schema, a wrong URL, a closed port: each says why.
    let base = common::database_env().unwrap_or_else(|| common::DEFAULT_DATABASE.to_owned());
    let sep = if base.contains('?') { '&' } else { '?' };
    let nowhere = format!("{base}{sep}options=-c%20search_path%3Dno_such_schema_here");
    let e = PostgresStore::open(&nowhere).unwrap_err().to_string();
    assert!(e.contains("search_path"), "{e}");
    // This build speaks no TLS: a URL that demands it is refused, not silently downgraded.
    let e = PostgresStore::open(&format!("{base}{sep}sslmode=require"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("TLS") || e.contains("tls"), "{e}");
    let e = PostgresStore::open("postgres://").unwrap_err().to_string();
    assert!(!e.is_empty());
    let e = PostgresStore::open("postgres://postgres@127.0.0.1:1/test?connect_timeout=2")
        .unwrap_err()
        .to_string();
    assert!(e.contains("127.0.0.1:1/test"), "{e}");
}

#[tokio::test]
async fn the_signing_lease_is_one_per_schema() {
    // PostgreSQL-only. Two registries in two schemas of one database each get their own
    // lease; a second replica of the same schema does not. With one lock for the whole
    // database (before), the second schema's registry never signed.
    let (a, b) = (common::PgSchema::always(), common::PgSchema::always());
    let connect = |url: String| async move {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    };
    let first_a = connect(a.url.clone()).await;
    let second_a = connect(a.url.clone()).await;
    let first_b = connect(b.url.clone()).await;
    async fn take(c: &tokio_postgres::Client) -> bool {
        c.query_one(cellproof_server::replica::LEASE, &[])
            .await
            .unwrap()
            .get(0)
    }
    assert!(take(&first_a).await, "schema a's first");
    assert!(!take(&second_a).await, "schema a's second");
    assert!(take(&first_b).await, "schema b's own lease");
}
