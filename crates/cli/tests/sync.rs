//! `cellproof sync` against a mirror on loopback (`docs/status-sync.md`, "Clients"): a sync
//! builds on what the directory holds, so a mirror that later serves an older trust list and
//! yesterday's status body rolls nothing back (SPEC.md sections 4 and 5: `seq` and `validFrom`
//! only grow), and a genuine newer trust list and delta are still taken on top.

mod common;

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use cellproof_core::{
    changed_positions, issue_credential, set_positions, sign_compact, Bitstring, CompactRecord,
    Purpose, TrustList, MIN_ENTRIES,
};
use cellproof_world::{derive_key, World, DAY};
use common::text;
use serde_json::Value;

const T0: u64 = 1_796_083_200;
/// The reference credential's status index (`st: "3/94567"`).
const INDEX: u64 = 94_567;

/// What the mirror answers: path (with its query) to body. A path missing is a 404. The entry
/// `cursor`, when present, is sent as the `Cellproof-Cursor` header of every answer; the entry
/// `log` collects the request targets, one per line.
type Routes = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A tiny HTTP/1.1 server on loopback: one request per connection, `Connection: close`.
fn mirror() -> (String, Routes) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes: Routes = Arc::default();
    let served = Arc::clone(&routes);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            // `?since=T` with any T: the mirror answers what it was told to.
            let key = match path.split_once("?since=") {
                Some((p, _)) => format!("{p}?since"),
                None => path.clone(),
            };
            let mut r = served.lock().unwrap();
            r.entry("log".into())
                .or_default()
                .extend_from_slice(format!("{path}\n").as_bytes());
            let cursor = r
                .get("cursor")
                .map(|c| format!("Cellproof-Cursor: {}\r\n", String::from_utf8_lossy(c)))
                .unwrap_or_default();
            let body = r.get(&key).cloned();
            drop(r);
            let (status, body) = match body {
                Some(b) => ("200 OK", b),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{cursor}Connection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    (base, routes)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cellproof"))
        .args(args)
        // The mirror is on loopback: no proxy of the test machine in between.
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .expect("running cellproof")
}

/// What each sync test starts from: its world, the temporary directory holding the rest
/// (kept alive by the caller), catena-x's root pinned from a file (the `--root` argument), the
/// directory `cellproof sync` keeps, and a mirror with no routes yet (its URL and routes).
fn setup(name: &str) -> (World, tempfile::TempDir, String, PathBuf, String, Routes) {
    let world = World::new(name, "https://registry.example", T0);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catena-x-root.jwk");
    std::fs::write(&root, world.catena_root.public().to_jwk().to_string()).unwrap();
    let root = format!("catena-x={}", root.display());
    let dir = tmp.path().join("synced");
    let (base, routes) = mirror();
    (world, tmp, root, dir, base, routes)
}

/// `cellproof sync` from the mirror at `base` into `dir`, trusting `root`.
fn run_sync(base: &str, dir: &Path, root: &str) -> Output {
    run(&[
        "sync",
        "--registry",
        base,
        "--dir",
        dir.to_str().unwrap(),
        "--root",
        root,
    ])
}

/// The three lists of acme's list 3 as one compact body at `valid_from`, revocation bits
/// `revoked`; as deltas from `base` when given.
fn compact(
    world: &World,
    valid_from: u64,
    revoked: &[u64],
    base: Option<(u64, &[u64])>,
) -> Vec<u8> {
    compact_of(world, &Purpose::ALL, valid_from, revoked, base)
}

/// [`compact`] for some of the three lists only.
fn compact_of(
    world: &World,
    purposes: &[Purpose],
    valid_from: u64,
    revoked: &[u64],
    base: Option<(u64, &[u64])>,
) -> Vec<u8> {
    let bits = |set: &[u64]| {
        let mut b = Bitstring::zeroed(MIN_ENTRIES);
        for &i in set {
            b.set(i, true).unwrap();
        }
        b
    };
    let mut records: Vec<CompactRecord> = purposes
        .iter()
        .map(|p| {
            let now = if *p == Purpose::Revocation {
                bits(revoked)
            } else {
                bits(&[])
            };
            let (base, positions) = match base {
                None => (None, set_positions(&now)),
                Some((t, old)) => {
                    let old = if *p == Purpose::Revocation {
                        bits(old)
                    } else {
                        bits(&[])
                    };
                    (Some(t), changed_positions(&old, &now))
                }
            };
            CompactRecord {
                id: p.list_url(&world.status_base(&world.acme), "3"),
                valid_from,
                valid_until: valid_from + 30 * DAY,
                ttl_ms: 300_000,
                base,
                entries: MIN_ENTRIES,
                positions,
            }
        })
        .collect();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    sign_compact(&world.authority_did, &records, &world.authority)
}

/// Catena-X's trust list at `seq`, acme holding `keys` (the world's k1 and a second key k2).
fn trust_list(world: &World, seq: u64, with_k2: bool) -> String {
    let mut list: TrustList = world.trust_list("catena-x");
    list.seq = seq;
    list.iat = T0 + seq * 3_600;
    if with_k2 {
        let acme = list
            .entities
            .iter_mut()
            .find(|e| e.id == world.acme.did)
            .unwrap();
        let mut k2 = derive_key(&world.seed, "acme", "k2").public();
        k2.nbf = acme.keys[0].nbf;
        k2.exp = acme.keys[0].exp;
        acme.keys.push(k2);
    }
    world.sign_trust_list(&list)
}

fn verdict(url: &str, root: &str, dir: &Path, at: u64) -> Value {
    let o = run(&[
        "verify",
        url,
        "--root",
        root,
        "--synced",
        dir.to_str().unwrap(),
        "--at",
        &at.to_string(),
        "--json",
    ]);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)))
}

/// Every file of the sync directory and its bytes.
fn held(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_mirror_serving_older_lists_rolls_nothing_back() {
    let (world, _tmp, root, dir, base, routes) = setup("sync-rollback");
    let sync = || run_sync(&base, &dir, &root);

    // The battery (acme's k1, status index 94567) and a label signed with acme's k2, a key
    // catena-x removed in seq 2 (say, compromised).
    let claims = world.reference_claims();
    let battery = issue_credential(&claims, T0 - DAY, &world.acme.key)
        .unwrap()
        .url();
    let k2 = derive_key(&world.seed, "acme", "k2");
    let mut other = claims.clone();
    other.insert("st".into(), "3/5".into());
    let forged = issue_credential(&other, T0 - DAY, &k2).unwrap().url();
    let today = T0 + DAY;
    let at = T0 + DAY + 3_600;

    // Yesterday: seq 1 with k2, the battery not revoked.
    let old_trust = trust_list(&world, 1, true);
    let old_status = compact(&world, T0, &[], None);
    // Today: seq 2 without k2, the battery revoked.
    let new_trust = trust_list(&world, 2, false);
    let new_status = compact(&world, today, &[INDEX], None);

    // 1. The mirror serves current data: the first sync takes it.
    {
        let mut r = routes.lock().unwrap();
        r.insert(
            "/v1/trust-list/catena-x".into(),
            new_trust.clone().into_bytes(),
        );
        r.insert("/v1/status-compact".into(), new_status.clone());
        r.insert("/v1/status-compact?since".into(), new_status.clone());
    }
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = verdict(&battery, &root, &dir, at);
    assert_eq!(
        (v["overall"].as_str(), v["code"].as_str()),
        (Some("invalid"), Some("revoked")),
        "{v}"
    );
    let v = verdict(&forged, &root, &dir, at);
    assert_ne!(v["overall"], "valid", "{v}");
    let before = held(&dir);

    // 2. The mirror now serves seq 1 and yesterday's status body, as a delta answer and as the
    //    full body: both refused on top of what is held, nothing written, exit 1.
    {
        let mut r = routes.lock().unwrap();
        r.insert("/v1/trust-list/catena-x".into(), old_trust.into_bytes());
        r.insert("/v1/status-compact".into(), old_status.clone());
        r.insert("/v1/status-compact?since".into(), old_status);
    }
    let o = sync();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("trust_list_rollback"), "{}", text(&o));
    assert!(err.contains("status_list_rollback"), "{}", text(&o));
    assert_eq!(held(&dir), before, "the held files are unchanged");
    let v = verdict(&battery, &root, &dir, at);
    assert_eq!(
        (v["overall"].as_str(), v["code"].as_str()),
        (Some("invalid"), Some("revoked")),
        "{v}"
    );
    let v = verdict(&forged, &root, &dir, at);
    assert_ne!(v["overall"], "valid", "the removed key still fails: {v}");

    // 3. A genuine newer trust list and a delta on today's body: taken on top, written.
    let newer_trust = trust_list(&world, 3, false);
    let delta = compact(&world, today + DAY, &[INDEX, 7], Some((today, &[INDEX])));
    {
        let mut r = routes.lock().unwrap();
        r.insert(
            "/v1/trust-list/catena-x".into(),
            newer_trust.clone().into_bytes(),
        );
        r.insert("/v1/status-compact".into(), new_status);
        r.insert("/v1/status-compact?since".into(), delta.clone());
    }
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("trust-catena-x.jwt")).unwrap(),
        newer_trust
    );
    assert_eq!(std::fs::read(dir.join("status-1.bin")).unwrap(), delta);
    let v = verdict(&battery, &root, &dir, at + DAY);
    assert_eq!(
        (v["overall"].as_str(), v["code"].as_str()),
        (Some("invalid"), Some("revoked")),
        "{v}"
    );
}

/// The status lists a verdict used (its `data` entries of kind `status_list`).
fn status_lists_used(v: &Value) -> usize {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "status_list")
        .count()
}

#[test]
fn a_refused_delta_falls_back_to_a_full_body_on_top_of_what_is_held() {
    let (world, _tmp, root, dir, base, routes) = setup("sync-fallback");
    let sync = || run_sync(&base, &dir, &root);
    let battery = issue_credential(&world.reference_claims(), T0 - DAY, &world.acme.key)
        .unwrap()
        .url();
    let trust = trust_list(&world, 1, false);
    let first = compact(&world, T0, &[INDEX], None);
    {
        let mut r = routes.lock().unwrap();
        r.insert("/v1/trust-list/catena-x".into(), trust.into_bytes());
        r.insert("/v1/status-compact".into(), first.clone());
    }
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = verdict(&battery, &root, &dir, T0 + 3_600);
    assert_eq!(v["code"], "revoked", "{v}");
    assert_eq!(status_lists_used(&v), 3, "{v}");

    // 2. A delta from a base not held (status_delta_base), then a full body with a newer
    //    revocation list that leaves out the suspension and refresh lists: the fallback keeps
    //    what it does not replace (a mirror cannot hide a list by leaving it out).
    let stray = compact(&world, T0 + DAY, &[INDEX], Some((T0 - 60, &[])));
    let partial = compact_of(&world, &[Purpose::Revocation], T0 + DAY, &[INDEX, 9], None);
    {
        let mut r = routes.lock().unwrap();
        r.insert("/v1/status-compact?since".into(), stray);
        r.insert("/v1/status-compact".into(), partial.clone());
    }
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("status_delta_base"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(dir.join("status-0.bin")).unwrap(), first);
    assert_eq!(std::fs::read(dir.join("status-1.bin")).unwrap(), partial);
    let v = verdict(&battery, &root, &dir, T0 + DAY + 3_600);
    assert_eq!(v["code"], "revoked", "{v}");
    assert_eq!(
        status_lists_used(&v),
        3,
        "the left-out lists are still held: {v}"
    );

    // 3. The delta refused again, and a full body with every list, newer: it starts a new chain.
    let whole = compact(&world, T0 + 2 * DAY, &[INDEX], None);
    routes
        .lock()
        .unwrap()
        .insert("/v1/status-compact".into(), whole.clone());
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read(dir.join("status-0.bin")).unwrap(), whole);
    assert!(!dir.join("status-1.bin").exists());
    let v = verdict(&battery, &root, &dir, T0 + 2 * DAY + 3_600);
    assert_eq!(v["code"], "revoked", "{v}");
    assert_eq!(status_lists_used(&v), 3, "{v}");
}

#[test]
fn the_next_sync_asks_with_the_cursor_of_the_last_body_applied() {
    let (world, _tmp, root, dir, base, routes) = setup("sync-cursor");
    let sync = || run_sync(&base, &dir, &root);
    let log = |routes: &Routes| {
        String::from_utf8(routes.lock().unwrap().remove("log").unwrap_or_default()).unwrap()
    };
    let first = compact(&world, T0, &[INDEX], None);
    let delta = compact(&world, T0 + DAY, &[INDEX, 3], Some((T0, &[INDEX])));
    {
        let mut r = routes.lock().unwrap();
        r.insert(
            "/v1/trust-list/catena-x".into(),
            trust_list(&world, 1, false).into_bytes(),
        );
        r.insert("/v1/status-compact".into(), first);
        r.insert("/v1/status-compact?since".into(), delta);
        r.insert("cursor".into(), b"00000000000000ab-1-1796083200".to_vec());
    }
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    log(&routes);
    // The cursor of the full body, not the newest validFrom: a registry whose clock jumped
    // could otherwise leave lists out (docs/status-sync.md, "Incremental sync").
    routes
        .lock()
        .unwrap()
        .insert("cursor".into(), b"x&since=0".to_vec());
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        log(&routes).contains("/v1/status-compact?since=00000000000000ab-1-1796083200\n"),
        "{}",
        text(&o)
    );
    // A header that is not a cursor token is not put in a URL: the next sync asks by time.
    let current = compact(&world, T0 + DAY, &[INDEX, 3], None);
    {
        let mut r = routes.lock().unwrap();
        r.insert("/v1/status-compact".into(), current.clone());
        r.insert("/v1/status-compact?since".into(), current);
    }
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let asked = log(&routes);
    assert!(
        asked.contains(&format!("/v1/status-compact?since={}\n", T0 + DAY)),
        "{asked}"
    );
}
