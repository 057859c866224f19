//! The compact sync's cost and correctness under attack (issue 16): any number of distinct
//! `?since=` values is answered from a bounded set of built deltas; a client whose `since`
//! is ahead of the registry's clock (the clock moved back, or another registry's) still gets
//! every list changed later, by cursor or by seconds; `/v1/pack` refuses past its bound with
//! `pack-busy` and `Retry-After`. Real servers on port 0 (`common`).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use cellproof_core::{StatusStore, TrustStore};
use cellproof_server::{Clock, ManualClock};
use common::{kind, now, spawn_app, spawn_app_with, update, TestApp, TOKEN};
use serde_json::{json, Value};

/// `GET /v1/status-compact[?since=]`: the body and its `Cellproof-Cursor`.
async fn compact(app: &TestApp, since: Option<&str>) -> (Vec<u8>, String) {
    let path = match since {
        Some(s) => format!("/v1/status-compact?since={s}"),
        None => "/v1/status-compact".to_owned(),
    };
    let r = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let cursor = r
        .headers()
        .get("cellproof-cursor")
        .unwrap_or_else(|| panic!("{path} names no Cellproof-Cursor"))
        .to_str()
        .unwrap()
        .to_owned();
    (r.bytes().await.unwrap().to_vec(), cursor)
}

/// A counter of `/metrics` (0 when absent).
async fn counter(app: &TestApp, name: &str) -> Option<u64> {
    let text = app.get_text("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(|n| n.trim().parse().unwrap())
}

/// Applies a body to a copy of `held`: the ids it carried and the store after it.
fn apply(
    held: &StatusStore,
    body: &[u8],
    trust: &TrustStore,
) -> (Vec<(String, bool)>, StatusStore) {
    let mut s = held.clone();
    let out = s.insert_compact(body, trust).unwrap();
    (out.into_iter().map(|(id, r)| (id, r.is_ok())).collect(), s)
}

fn newest(s: &StatusStore) -> u64 {
    s.lists().map(|l| l.valid_from).max().unwrap()
}

/// Revokes a fresh index of ACME's list 4 and waits until the bundle shows it.
async fn revoke(app: &TestApp) -> u64 {
    let (iss, key) = app.acme();
    let idx = app.allocate(&key, &iss, "4", 1).await[0];
    let (s, v) = app
        .post_jwt(
            "/v1/status",
            update(&app.address, &key, &iss, "4", idx, "revocation", true),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let url = app.url("/v1/status/acme/4");
    for _ in 0..50 {
        let (_, w3c) = app.stores().await;
        if common::held(&w3c, &url).unwrap().bits.get(idx) == Ok(1) {
            return idx;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the revocation was never published");
}

#[tokio::test]
async fn many_distinct_since_values_are_answered_from_a_bounded_cache() {
    // Cause: every distinct `?since=` built and signed a body (at best gzip) under the sync
    // mutex the tick takes under the registry lock: an unauthenticated loop over `since`
    // values was a signing and compression service.
    let app = spawn_app().await;
    for _ in 0..3 {
        revoke(&app).await;
    }
    let (_, head) = compact(&app, None).await;
    let mut parts = head.split('-');
    let (instance, epoch) = (parts.next().unwrap(), parts.next().unwrap());
    let epoch: u64 = epoch.parse().unwrap();
    let t = now();
    let mut values: Vec<String> = (t - 400..t + 400).map(|s| s.to_string()).collect();
    values.extend((0..=epoch + 3).map(|e| format!("{instance}-{e}-{t}")));
    values.extend((0..50).map(|e| format!("00000000000000ab-{e}-{}", t - 1000 + e)));
    let mut heads = BTreeSet::new();
    for round in 0..2 {
        for v in &values {
            let (_, c) = compact(&app, Some(v)).await;
            heads.insert(c);
        }
        let built = counter(&app, "cellproof_sync_delta_builds_total")
            .await
            .expect("delta builds are counted");
        // At most one body per bucket and head: a few dozen, not one per value.
        assert!(built >= 1, "{built}");
        assert!(
            built <= 64 * heads.len() as u64,
            "{built} builds for {} values over {} head(s)",
            values.len(),
            heads.len()
        );
        if round == 1 && heads.len() == 1 {
            // The same values again: all from the cache.
            assert!(built <= 64, "{built}");
        }
    }
    // The answers are still right: from the head, nothing; from a foreign cursor, everything.
    let (trust, w3c) = app.stores().await;
    let (full, _) = compact(&app, None).await;
    let (out, _) = apply(&StatusStore::new(), &full, &trust);
    assert_eq!(out.len(), common::held_ids(&w3c));
    let (at_head, _) = compact(&app, Some(&head)).await;
    let (_, held) = apply(&StatusStore::new(), &full, &trust);
    let (out, _) = apply(&held, &at_head, &trust);
    assert!(out.is_empty() || heads.len() > 1, "{out:?}");
    // Another instance's cursor is placed by the newest validFrom it carries: one ahead of
    // every version held gets the full body.
    let ahead = format!("00000000000000ab-1-{}", t + 86_400);
    let (foreign, _) = compact(&app, Some(&ahead)).await;
    assert_eq!(
        foreign, full,
        "a cursor of another registry gets the full body"
    );
}

#[tokio::test]
async fn a_client_ahead_of_the_clock_still_gets_every_list_changed_later() {
    // Cause: a delta skipped every list whose validFrom was not after `since` (less a
    // second's slack). After the registry's clock jumped ahead and back, lists signed at the
    // real time (a revocation of a list not re-signed ahead, a new issuer's lists) were older
    // than the client's newest validFrom and never reached it; a `since` from another
    // registry's clock ahead got an empty delta.
    let t = now();
    let clock = Arc::new(ManualClock::new(t));
    let c: Arc<dyn Clock> = clock.clone();
    let app = spawn_app_with(move |config| config.clock = c).await;
    let (trust, _) = app.stores().await;
    let (full, cursor0) = compact(&app, None).await;
    let (_, mut held) = apply(&StatusStore::new(), &full, &trust);
    let (iss, key) = app.acme();
    let idx = app.allocate(&key, &iss, "4", 1).await[0];
    // Thirteen hours ahead: past half the freshness, the tick re-signs every list there.
    let ahead = t + 13 * 3600;
    clock.set(ahead);
    let url4 = app.url("/v1/status/acme/4");
    let mut resigned = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, w3c) = app.stores().await;
        if w3c.lists().all(|l| l.valid_from >= ahead) {
            resigned = true;
            break;
        }
    }
    assert!(
        resigned,
        "the tick re-signed every list in the jumped clock"
    );
    let (delta, cursor1) = compact(&app, Some(&cursor0)).await;
    let (out, after) = apply(&held, &delta, &trust);
    assert!(out.iter().all(|(_, ok)| *ok), "{out:?}");
    held = after;
    let since1 = newest(&held);
    assert!(since1 >= ahead);
    // Back to the real time: a new list of ACME's is signed with validFrom t, far below the
    // client's newest; a revocation on list 4.
    clock.set(t);
    let r = app
        .client
        .post(app.url("/v1/operator/issuers"))
        .bearer_auth(TOKEN)
        .json(&json!({"slug": "acme", "did": iss, "eco": "catena-x", "lists": ["9"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let (s, v) = app
        .post_jwt(
            "/v1/status",
            update(&app.address, &key, &iss, "4", idx, "revocation", true),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let w3c = loop_until_revoked(&app, &url4, idx).await;
    let new_list = app.url("/v1/status/acme/9");
    let l9 = common::held(&w3c, &new_list).expect("list 9 is published");
    assert!(
        l9.valid_from < since1,
        "signed at the real time, below the client's newest"
    );
    // By cursor, by the client's newest validFrom, and by a time a day ahead of even that.
    for since in [
        cursor1.clone(),
        since1.to_string(),
        (since1 + 86_400).to_string(),
    ] {
        let (body, _) = compact(&app, Some(&since)).await;
        let (out, after) = apply(&held, &body, &trust);
        assert!(out.iter().all(|(_, ok)| *ok), "since={since}: {out:?}");
        let l4 = common::held(&after, &url4).unwrap();
        assert_eq!(l4.bits.get(idx), Ok(1), "since={since}: the revocation");
        for l in w3c.lists() {
            let c = common::held(&after, &l.id)
                .unwrap_or_else(|| panic!("since={since}: {} never reached the client", l.id));
            assert_eq!((c.valid_from, &c.bits), (l.valid_from, &l.bits), "{}", l.id);
        }
    }
}

/// The W3C lists once `idx` of `url` shows revoked.
async fn loop_until_revoked(app: &TestApp, url: &str, idx: u64) -> StatusStore {
    for _ in 0..50 {
        let (_, w3c) = app.stores().await;
        if common::held(&w3c, url).unwrap().bits.get(idx) == Ok(1) {
            return w3c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the revocation was never published");
}

#[tokio::test]
async fn the_pack_route_refuses_past_its_bound_with_pack_busy() {
    // Cause: `/v1/pack` re-encoded the bundle and up to 16 MiB of documents per request, for
    // anyone, with no bound: distinct queries defeat any cache.
    let t = now();
    let clock = Arc::new(ManualClock::new(t));
    let c: Arc<dyn Clock> = clock.clone();
    let app = spawn_app_with(move |config| config.clock = c).await;
    let mut served = 0;
    let mut refused = None;
    // The clock stands still: the budget is not refilled.
    for i in 0..600 {
        let r = app
            .client
            .get(app.url(&format!(
                "/v1/pack?items=01/04012345000016/21/Q{i}&maxDocumentBytes={i}"
            )))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            served += 1;
            continue;
        }
        assert_eq!(r.status(), 503);
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1);
        let v: Value = r.json().await.unwrap();
        assert_eq!(kind(&v), "pack-busy", "{v}");
        refused = Some(retry);
        break;
    }
    let retry = refused.expect("the pack route refuses past its bound");
    assert!(served >= 1, "a pack within the bound is served");
    assert!(
        counter(&app, "cellproof_pack_refused_total").await >= Some(1),
        "refusals are counted"
    );
    // Once the time named has passed, packs are served again.
    clock.set(t + retry);
    let r = app
        .client
        .get(app.url("/v1/pack?items=01/04012345000016/21/Q0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
