//! Replicas and the rows every request is checked against: two `cellproof-server` processes
//! on one PostgreSQL schema (the machine's, or `CELLPROOF_TEST_DATABASE`; each test its own
//! schema; the tests fail, never skip, without a database). Replica A seeds the demo world,
//! B joins without `--demo` behind the same public URL (as in `replicas.rs`).
//!
//! What one replica accepts, the other serves and authenticates against within one poll
//! interval ([`POLL`], 250 ms; the tests allow [`WITHIN`], a few intervals, for a loaded
//! machine): a trust list uploaded through A (an inspector removed from it is refused by B), a
//! passport or attestation uploaded through A (read as of a past time, `?at=`, at once, from the
//! database); an authority key created and activated through
//! B (which does not sign) signs the lists A signs, after A's next tick. A trust-list upload
//! writes only its own ecosystem's row and never lowers a `seq` the database holds
//! (docs/deploy.md).

mod common;

use std::time::{Duration, Instant};

use cellproof_core::{sha256_b64, sign_json, Typ};
use cellproof_server::replica::POLL;
use cellproof_world::{Listed, DAY, YEAR};
use common::replica::{pair, Pair, TOKEN};
use common::{jti, now};
use serde_json::{json, Value};

/// How long a change made through one replica may take to reach the other here: six poll
/// intervals (1.5 s). The replica polls every [`POLL`]; the rest is slack for two servers,
/// PostgreSQL and the test sharing two loaded cores.
const WITHIN: Duration = Duration::from_millis(6 * POLL.as_millis() as u64);

impl Pair {
    /// `eco`'s row in the database itself: its `seq`, and whether it holds `jws`.
    async fn stored(&self, eco: &str, jws: &str) -> (i64, bool) {
        let (client, conn) = tokio_postgres::connect(&self.db, tokio_postgres::NoTls)
            .await
            .unwrap();
        let conn = tokio::spawn(conn);
        let row = client
            .query_one("SELECT seq, jws FROM trust_lists WHERE eco = $1", &[&eco])
            .await
            .unwrap();
        drop(client);
        let _ = conn.await;
        (row.get(0), row.get::<_, String>(1) == jws)
    }

    async fn get(&self, url: String) -> (u16, String) {
        let r = self.client.get(url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// Polls `probe` until it answers `true`; panics with `what` after [`WITHIN`]. Returns how
/// long it took.
async fn within<F, Fut>(what: &str, mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    loop {
        if probe().await {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < WITHIN,
            "{what}: not within {WITHIN:?} ({} poll intervals of {POLL:?})",
            WITHIN.as_millis() / POLL.as_millis()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_inspector_removed_through_one_replica_is_refused_by_the_other() {
    let p = pair();
    let (did, key) = p.inspector();
    let item = p.battery();
    let read = || {
        sign_json(
            Typ::RegistryRequest,
            &json!({"iss": did, "iat": now(), "jti": jti(), "aud": p.public(), "op": "read",
                    "item": item, "tier": "authority"}),
            &key,
        )
    };
    let b_read = || p.post(&p.b_addr, "/v1/restricted", "application/jwt", read());
    let (s, v) = b_read().await;
    assert_eq!(s, 200, "enrolled: B answers the inspector {v}");

    // The root re-signs catena-x's list without the inspector; the operator uploads it to A.
    let mut list = p.trust_list("catena-x").await;
    let before = list.entities.len();
    list.entities.retain(|e| e.id != did);
    assert_eq!(list.entities.len(), before - 1);
    let seq = list.seq + 1;
    let jws = p.next(&list, seq);
    let (s, v) = p.upload(p.public(), &jws).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p
        .post(p.public(), "/v1/restricted", "application/jwt", read())
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("issuer_unknown")),
        "{v}"
    );

    // B refuses it too within the poll interval, and serves the new list.
    let took = within("B still answers the removed inspector", || async {
        let (s, v) = b_read().await;
        assert!(s == 200 || s == 403, "{s} {v}");
        s == 403 && v["code"] == "issuer_unknown"
    })
    .await;
    eprintln!("removal reached B after {took:?} (poll interval {POLL:?})");
    let (s, served) = p.get(format!("{}/v1/trust-list/catena-x", p.b_addr)).await;
    assert_eq!((s, served.as_str()), (200, jws.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_through_a_stale_replica_neither_lowers_another_seq_nor_hides_a_newer_list() {
    let p = pair();
    let cx = p.trust_list("catena-x").await;
    let ou = p.trust_list("ouranos").await;
    let (cx1, cx2) = (p.next(&cx, cx.seq + 1), p.next(&cx, cx.seq + 2));
    let ou1 = p.next(&ou, ou.seq + 1);

    // catena-x moves on through A; ouranos through B right after (before B's next poll).
    let (s, v) = p.upload(p.public(), &cx1).await;
    assert_eq!(
        (s, v["accepted"]["unchanged"].as_bool()),
        (200, Some(false)),
        "{v}"
    );
    let (s, v) = p.upload(&p.b_addr, &ou1).await;
    assert_eq!(
        (s, v["accepted"]["unchanged"].as_bool()),
        (200, Some(false)),
        "{v}"
    );
    assert_eq!(
        p.stored("catena-x", &cx1).await,
        (cx.seq as i64 + 1, true),
        "B's upload of ouranos wrote back its stale catena-x list"
    );
    assert_eq!(p.stored("ouranos", &ou1).await, (ou.seq as i64 + 1, true));

    // Uploading catena-x's list again through A: `unchanged` only because the database holds
    // exactly those bytes.
    let (s, v) = p.upload(p.public(), &cx1).await;
    assert_eq!(s, 200, "{v}");
    if v["accepted"]["unchanged"] == true {
        assert!(
            p.stored("catena-x", &cx1).await.1,
            "answered unchanged wrongly"
        );
    }
    // A newer one through A, then the older one through B at once: B refuses it as a
    // rollback (the database holds the newer list), and the database keeps the newer one.
    let (s, v) = p.upload(p.public(), &cx2).await;
    assert_eq!(
        (s, v["accepted"]["unchanged"].as_bool()),
        (200, Some(false)),
        "{v}"
    );
    let (s, v) = p.upload(&p.b_addr, &cx1).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("trust_list_rollback")),
        "{v}"
    );
    assert_eq!(p.stored("catena-x", &cx2).await, (cx.seq as i64 + 2, true));
    // And ouranos's list again through A (which never saw it uploaded) is what is held.
    let (s, v) = p.upload(p.public(), &ou1).await;
    assert_eq!(
        (s, v["accepted"]["unchanged"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    assert_eq!(p.stored("ouranos", &ou1).await, (ou.seq as i64 + 1, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_passport_and_an_attestation_uploaded_through_one_replica_are_served_by_the_other() {
    let p = pair();
    let w = common::demo_world(p.dir_a.path(), p.public());
    const CO: &str = "did:web:refinery.kobalt.example";
    const SOURCING: &str = "sourcing.due-diligence";
    let valid = (now() - 30 * DAY + 17, now() + YEAR - 17);
    let co = w.attestation(&w.certifier, CO, SOURCING, &["Co"], valid);
    let list = vec![Listed {
        topic: SOURCING.into(),
        materials: vec!["Co".into()],
        subject: CO.into(),
        jws: co.clone(),
    }];
    let url = format!("{}/01/04012345000016/21/REPL0001", p.public());
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 1, None, &list, now() - DAY),
    );
    let media = "application/vc+jwt";
    let (s, v) = p
        .post(p.public(), "/v1/attestations", media, co.clone())
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p.post(p.public(), "/v1/passports", media, v1.clone()).await;
    assert_eq!((s, &v["version"]), (200, &json!(1)), "{v}");
    let accepted = now();

    let chain = format!("{}/v1/passports/04012345000016/REPL0001", p.b_addr);
    let digest = sha256_b64(co.as_bytes());
    // Read as of a past time (SPEC.md 1.2 section 6.2), B answers from the database: what A
    // accepted a second ago is there at once, with no poll interval to wait.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let (s, body) = p
        .get(format!(
            "{chain}?at={}",
            cellproof_core::format_rfc3339(accepted)
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    let c: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(c["versions"], json!([v1]));
    assert_eq!(c["attestations"][&digest], co.as_str());
    let took = within("B does not serve the passport A accepted", || async {
        let (s, body) = p.get(chain.clone()).await;
        if s != 200 {
            return false;
        }
        let c: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(c["versions"], json!([v1]));
        c["attestations"][&digest] == co.as_str()
    })
    .await;
    eprintln!("passport reached B after {took:?} (poll interval {POLL:?})");
    let (s, body) = p
        .get(format!("{}/v1/attestations/{digest}", p.b_addr))
        .await;
    assert_eq!((s, body.as_str()), (200, co.as_str()));
    // A repeat through B is the same version, not a second one.
    let (s, v) = p.post(&p.b_addr, "/v1/passports", media, v1.clone()).await;
    assert_eq!((s, &v["version"]), (200, &json!(1)), "{v}");
}

/// `kid` of a compact JWS's protected header.
fn kid_of(jws: &str) -> String {
    let head = jws.split('.').next().unwrap();
    let head: Value =
        serde_json::from_slice(&cellproof_core::b64_decode(head, "header").unwrap()).unwrap();
    head["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_authority_key_activated_through_a_follower_signs_every_served_list() {
    let p = pair();
    let op = |path: &str, body: Value| {
        p.client
            .post(format!("{}{path}", p.b_addr))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    // Through B, which does not sign (A seeded the world and took the signing lease).
    let r = op("/v1/operator/authority/keys", json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    let kid = r.json::<Value>().await.unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = op(
        "/v1/operator/authority/activate",
        json!({"kid": kid, "force": true}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // A learns the key at its next poll and re-signs at its next tick (every second); B
    // serves what A signed at its poll after that: a poll, a tick and a poll, plus slack.
    let t0 = Instant::now();
    loop {
        let (s, on_b) = p.get(format!("{}/v1/status/acme/4", p.b_addr)).await;
        let (t, on_a) = p.get(format!("{}/v1/status/acme/4", p.public())).await;
        assert_eq!((s, t), (200, 200));
        if kid_of(&on_a) == kid && kid_of(&on_b) == kid {
            eprintln!("the new key signs what both serve after {:?}", t0.elapsed());
            break;
        }
        assert!(
            t0.elapsed() < WITHIN + Duration::from_secs(2),
            "the lists are still signed with {} (A) and {} (B), not the active {kid}",
            kid_of(&on_a),
            kid_of(&on_b)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = p
        .client
        .get(format!("{}/v1/operator/authority", p.public()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let keys: Value = r.json().await.unwrap();
    let active: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(active, [kid.as_str()], "A holds B's key as the active one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_next_passport_version_is_taken_by_the_other_replica_at_once() {
    let p = pair();
    let w = common::demo_world(p.dir_a.path(), p.public());
    let url = format!("{}/01/04012345000016/21/REPL0002", p.public());
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 1, None, &[], now() - 2 * DAY),
    );
    let v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 2, Some(&v1), &[], now() - DAY),
    );
    let media = "application/vc+jwt";
    let (s, v) = p.post(p.public(), "/v1/passports", media, v1.clone()).await;
    assert_eq!((s, &v["version"]), (200, &json!(1)), "{v}");
    // Straight after, before B's next poll: B checks against what the database holds, so
    // version 1 again is the same version 1, and version 2 follows it.
    let (s, v) = p.post(&p.b_addr, "/v1/passports", media, v1.clone()).await;
    assert_eq!((s, &v["version"]), (200, &json!(1)), "{v}");
    let (s, v) = p.post(&p.b_addr, "/v1/passports", media, v2.clone()).await;
    assert_eq!((s, &v["version"]), (200, &json!(2)), "{v}");
    let (s, body) = p
        .get(format!("{}/v1/passports/04012345000016/REPL0002", p.b_addr))
        .await;
    assert_eq!(s, 200);
    let c: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(c["versions"], json!([v1, v2]));
}
