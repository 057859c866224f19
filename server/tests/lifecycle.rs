//! `POST /v1/lifecycle` (SPEC.md 1.2 sections 3.4 and 6.2) against the real server: every row
//! of the transition table through the roles that may record it, every refusal with its
//! problem type, the bits a 1.1 verifier reads (`superseded` for a successor, `revoked` for
//! `recycled`), the lifecycle list the verifier reads (`passport_ceased`, `lifecycle_waste`),
//! the chain's `events` and `successors`, the audit entry, and the attacks: a recycler
//! recording `repurposed`, the issuer's own key after `recycled`, an event replayed on another
//! battery or again, an event signed by someone else than the requester, a stale
//! `previousStatus`, a successor that does not name the original.
//! Runs on SQLite, and on PostgreSQL under `cargo xtask test`.

mod common;

use cellproof_core::lifecycle::LifecycleStatus as L;
use cellproof_core::{sign_json, verify, Context, KeyPair, Purpose, Typ, UnixTime};
use cellproof_world::Issuer;
use common::{jti, now, spawn_app, TestApp};
use serde_json::{json, Value};

fn sample_url(app: &TestApp, name: &str) -> String {
    app.manifest["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("sample {name}"))["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The Digital Link URL (no fragment) and path of a sample.
fn battery(app: &TestApp, name: &str) -> (String, String) {
    let url = sample_url(app, name);
    let url = url.split('#').next().unwrap().to_owned();
    let path = url
        .strip_prefix(&format!("{}/", app.address))
        .unwrap()
        .to_owned();
    (url, path)
}

/// A signed `op: "lifecycle"` request carrying `event` for `item`, from `iss`.
fn request(app: &TestApp, key: &KeyPair, iss: &str, item: &str, event: &str) -> String {
    sign_json(
        Typ::RegistryRequest,
        &json!({"iss": iss, "iat": now(), "jti": jti(), "aud": app.address, "op": "lifecycle",
                "item": item, "event": event}),
        key,
    )
}

/// `actor` records `prev -> new` on the battery (its own event, its own request).
async fn record(
    app: &TestApp,
    actor: &Issuer,
    name: &str,
    prev: L,
    new: L,
    successors: &[(String, String)],
) -> (u16, Value) {
    let (url, path) = battery(app, name);
    let event = app
        .world
        .lifecycle_event(actor, &url, prev, new, successors, now() - 60);
    app.post_jwt(
        "/v1/lifecycle",
        request(app, &actor.key, &actor.did, &path, &event),
    )
    .await
}

fn successor(app: &TestApp) -> Vec<(String, String)> {
    vec![(
        format!("{}/01/04071234000018/21/SL2029T0001", app.address),
        "urn:uuid:00000000-0000-4000-8000-0000000000a1".into(),
    )]
}

/// The verdict of a sample's label against what the registry serves now.
async fn verdict(app: &TestApp, name: &str) -> cellproof_core::Verdict {
    let (trust, status) = app.stores().await;
    verify(
        &sample_url(app, name),
        &Context::new(&trust, &status, UnixTime(now())),
    )
}

/// The verdict once the served lists show `status` (a list changed twice in one second is
/// published by the next tick, within a second: the ack says `published: false` then).
async fn verdict_at(app: &TestApp, name: &str, status: L) -> cellproof_core::Verdict {
    for _ in 0..50 {
        let v = verdict(app, name).await;
        if v.lifecycle.as_ref().map(|l| l.status) == Some(status) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{name} never shows {status:?}");
}

fn has_notice(v: &cellproof_core::Verdict, code: &str) -> bool {
    v.notices.iter().any(|n| n.code == code)
}

#[tokio::test]
async fn a_battery_lives_on_and_ends_and_a_1_1_verifier_sees_it() {
    let app = spawn_app().await;
    let w = app.world.clone();
    // Before: original, no events in the chain.
    let v = verdict(&app, "valid").await;
    assert_eq!(v.code, None);
    assert_eq!(v.lifecycle.as_ref().map(|l| l.status), Some(L::Original));
    // The issuer itself records a repair (any transition is its own).
    let (s, a) = record(&app, &w.acme, "valid", L::Original, L::Reused, &[]).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["previous"], "original");
    assert_eq!(a["status"], "reused");
    assert_eq!(a["seq"], 1);
    assert!(a["audit"].as_i64().unwrap() > 0);
    // A second repair: reused -> reused.
    let (s, a) = record(&app, &w.acme, "valid", L::Reused, L::Reused, &[]).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["seq"], 2);
    // Repurposed by the repurposer, naming the second-life battery's passport.
    let (s, a) = record(
        &app,
        &w.repurposer,
        "valid",
        L::Reused,
        L::Repurposed,
        &successor(&app),
    )
    .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["successors"], json!(["01/04071234000018/21/SL2029T0001"]));
    let v = verdict_at(&app, "valid", L::Repurposed).await;
    assert_eq!(v.code, None, "still genuine");
    assert!(
        has_notice(&v, "superseded"),
        "the refresh bit: a 1.1 verifier says superseded"
    );
    assert_eq!(v.lifecycle.as_ref().map(|l| l.status), Some(L::Repurposed));
    // Waste, by the waste operator; then recycled by the recycler.
    let (s, a) = record(
        &app,
        &w.waste_operator,
        "valid",
        L::Repurposed,
        L::Waste,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{a}");
    let v = verdict_at(&app, "valid", L::Waste).await;
    assert!(has_notice(&v, "lifecycle_waste"));
    let (s, a) = record(&app, &w.recycler, "valid", L::Waste, L::Recycled, &[]).await;
    assert_eq!(s, 200, "{a}");
    let v = verdict_at(&app, "valid", L::Recycled).await;
    assert_eq!(v.code, Some("passport_ceased"));
    // A 1.1 verifier (no lifecycle purpose) sees the revocation bit set with it.
    let (_, status) = app.stores().await;
    let (_, path) = battery(&app, "valid");
    let index = app.manifest["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "valid")
        .unwrap()["index"]
        .as_u64()
        .unwrap();
    let revocation = common::held(
        &status,
        &Purpose::Revocation.list_url(&format!("{}/v1/status/acme/", app.address), "3"),
    )
    .unwrap();
    assert_eq!(revocation.bits.get(index), Ok(1));
    let lifecycle = common::held(
        &status,
        &Purpose::Lifecycle.list_url(&format!("{}/v1/status/acme/", app.address), "3"),
    )
    .unwrap();
    assert_eq!(lifecycle.bits.get(index), Ok(L::Recycled.value()));
    // Nothing follows recycled, not even from the issuer's own key.
    let (s, a) = record(&app, &w.acme, "valid", L::Recycled, L::Reused, &[]).await;
    assert_eq!(s, 409, "{a}");
    assert_eq!(common::kind(&a), "passport-ceased");
    // The audit log holds each event.
    let audit = app.operator_get("/v1/audit?after=0&limit=1000").await;
    let updates: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "lifecycle.update" && e["detail"]["item"] == path.as_str())
        .collect();
    assert_eq!(updates.len(), 5, "{updates:?}");
}

#[tokio::test]
async fn the_chain_lists_the_events_and_successors() {
    let app = spawn_app().await;
    let w = app.world.clone();
    let (_, path) = battery(&app, "passport-valid");
    let before: Value = app
        .client
        .get(app.url(&format!(
            "/v1/passports/{}",
            path.trim_start_matches("01/").replace("/21/", "/")
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        before.get("events").is_none(),
        "a 1.1 chain keeps its shape"
    );
    // A second before the event: what a point-in-time read answers for then.
    let then = now();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (s, a) = record(
        &app,
        &w.repurposer,
        "passport-valid",
        L::Original,
        L::Repurposed,
        &successor(&app),
    )
    .await;
    assert_eq!(s, 200, "{a}");
    let after: Value = app
        .client
        .get(app.url(&format!(
            "/v1/passports/{}",
            path.trim_start_matches("01/").replace("/21/", "/")
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        after["successors"],
        json!(["01/04071234000018/21/SL2029T0001"])
    );
    assert_eq!(after["versions"], before["versions"]);
    // Point in time (SPEC.md 6.2): before the event no events; now the same as the chain.
    let at = |t: u64| {
        let url = app.url(&format!(
            "/v1/passports/{}?at={}",
            path.trim_start_matches("01/").replace("/21/", "/"),
            cellproof_core::format_rfc3339(t)
        ));
        let client = app.client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let past = at(then).await;
    assert!(past.get("events").is_none(), "{past}");
    assert_eq!(past["versions"], before["versions"]);
    let present = at(now() + 5).await;
    assert_eq!(present["events"], after["events"]);
    assert_eq!(present["successors"], after["successors"]);
}

#[tokio::test]
async fn every_refusal_has_its_problem_type() {
    let app = spawn_app().await;
    let w = app.world.clone();
    // A recycler may not declare a battery repurposed (SPEC.md 3.4 table).
    let (s, a) = record(
        &app,
        &w.recycler,
        "valid",
        L::Original,
        L::Repurposed,
        &successor(&app),
    )
    .await;
    assert_eq!((s, common::kind(&a)), (403, "transition-forbidden"), "{a}");
    assert_eq!(a["code"], "lifecycle_transition_forbidden");
    // A remanufacturer may not declare waste; a repurposer may not record recycled.
    let (s, a) = record(&app, &w.remanufacturer, "valid", L::Original, L::Waste, &[]).await;
    assert_eq!((s, common::kind(&a)), (403, "transition-forbidden"), "{a}");
    let (s, a) = record(&app, &w.repurposer, "valid", L::Original, L::Recycled, &[]).await;
    assert_eq!((s, common::kind(&a)), (403, "transition-forbidden"), "{a}");
    // Back to original, even by the issuer.
    let (s, a) = record(&app, &w.acme, "valid", L::Original, L::Original, &[]).await;
    assert_eq!((s, common::kind(&a)), (403, "transition-forbidden"), "{a}");
    // Repurposed without a successor: the event does not carry what the status must.
    let (s, a) = record(
        &app,
        &w.repurposer,
        "valid",
        L::Original,
        L::Repurposed,
        &[],
    )
    .await;
    assert_eq!((s, common::kind(&a)), (400, "event-invalid"), "{a}");
    // A stale previousStatus.
    let (s, a) = record(&app, &w.recycler, "valid", L::Original, L::Waste, &[]).await;
    assert_eq!(s, 200, "{a}");
    let (s, a) = record(
        &app,
        &w.remanufacturer,
        "valid",
        L::Original,
        L::Remanufactured,
        &successor(&app),
    )
    .await;
    assert_eq!((s, common::kind(&a)), (409, "lifecycle-conflict"), "{a}");
    assert_eq!(a["code"], "lifecycle_conflict");
    // An event replayed on another battery (the request names another item).
    let (url, _) = battery(&app, "suspended");
    let (_, other) = battery(&app, "superseded");
    let event = w.lifecycle_event(&w.recycler, &url, L::Original, L::Waste, &[], now() - 60);
    let (s, a) = app
        .post_jwt(
            "/v1/lifecycle",
            request(&app, &w.recycler.key, &w.recycler.did, &other, &event),
        )
        .await;
    assert_eq!((s, common::kind(&a)), (400, "event-invalid"), "{a}");
    // The same event applied once: the second time it is refused, whatever the jti.
    let (_, path) = battery(&app, "suspended");
    let (s, a) = app
        .post_jwt(
            "/v1/lifecycle",
            request(&app, &w.recycler.key, &w.recycler.did, &path, &event),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    let (s, a) = app
        .post_jwt(
            "/v1/lifecycle",
            request(&app, &w.recycler.key, &w.recycler.did, &path, &event),
        )
        .await;
    assert_eq!((s, common::kind(&a)), (409, "event-replayed"), "{a}");
    // An event signed by the recycler, sent by the waste operator: actors record their own.
    let (url, path) = battery(&app, "superseded");
    let event = w.lifecycle_event(&w.recycler, &url, L::Original, L::Waste, &[], now() - 60);
    let (s, a) = app
        .post_jwt(
            "/v1/lifecycle",
            request(
                &app,
                &w.waste_operator.key,
                &w.waste_operator.did,
                &path,
                &event,
            ),
        )
        .await;
    assert_eq!((s, common::kind(&a)), (400, "event-invalid"), "{a}");
    // An actor in no trust list.
    let mut rogue = w.recycler.clone();
    rogue.did = "did:web:rogue-recycler.example".into();
    rogue.key = cellproof_world::derive_key("lifecycle-test", "rogue", "k1");
    let (s, a) = record(&app, &rogue, "superseded", L::Original, L::Waste, &[]).await;
    assert_eq!((s, common::kind(&a)), (403, "unknown-issuer"), "{a}");
    // An event dated in 2100.
    let event = w.lifecycle_event(&w.recycler, &url, L::Original, L::Waste, &[], 4_102_444_800);
    let (s, a) = app
        .post_jwt(
            "/v1/lifecycle",
            request(&app, &w.recycler.key, &w.recycler.did, &path, &event),
        )
        .await;
    assert_eq!((s, common::kind(&a)), (400, "event-invalid"), "{a}");
    // A battery this registry does not hold.
    let url = format!("{}/01/04012345000016/21/NOSUCHBATTERY", app.address);
    let event = w.lifecycle_event(&w.recycler, &url, L::Original, L::Waste, &[], now() - 60);
    let (s, a) = app
        .post_jwt(
            "/v1/lifecycle",
            request(
                &app,
                &w.recycler.key,
                &w.recycler.did,
                "01/04012345000016/21/NOSUCHBATTERY",
                &event,
            ),
        )
        .await;
    assert_eq!((s, common::kind(&a)), (404, "item-unknown"), "{a}");
    // A successor passport this registry holds that does not name the original: the
    // `passport-valid` battery's passport has no predecessors.
    let (succ_url, _) = battery(&app, "passport-valid");
    let named = vec![(
        succ_url,
        "urn:uuid:00000000-0000-4000-8000-0000000000b2".to_owned(),
    )];
    let (s, a) = record(
        &app,
        &w.repurposer,
        "ouranos-valid",
        L::Original,
        L::Repurposed,
        &named,
    )
    .await;
    assert_eq!((s, common::kind(&a)), (409, "lineage-mismatch"), "{a}");
    // After all these refusals the battery still reads as it was.
    let v = verdict(&app, "superseded").await;
    assert_eq!(v.lifecycle.as_ref().map(|l| l.status), Some(L::Original));
}

#[tokio::test]
async fn the_remaining_rows_of_the_table() {
    let app = spawn_app().await;
    let w = app.world.clone();
    // original -> remanufactured (remanufacturer, with a successor).
    let (s, a) = record(
        &app,
        &w.remanufacturer,
        "valid",
        L::Original,
        L::Remanufactured,
        &successor(&app),
    )
    .await;
    assert_eq!(s, 200, "{a}");
    // original -> waste (recycler) -> repurposed (waste operator: a waste battery prepared
    // for repurposing) -> waste.
    let (s, a) = record(&app, &w.recycler, "suspended", L::Original, L::Waste, &[]).await;
    assert_eq!(s, 200, "{a}");
    let (s, a) = record(
        &app,
        &w.waste_operator,
        "suspended",
        L::Waste,
        L::Repurposed,
        &successor(&app),
    )
    .await;
    assert_eq!(s, 200, "{a}");
    // original -> reused by a repurposer, then by a waste operator (reused -> reused).
    let (s, a) = record(
        &app,
        &w.repurposer,
        "superseded",
        L::Original,
        L::Reused,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{a}");
    let (s, a) = record(
        &app,
        &w.waste_operator,
        "superseded",
        L::Reused,
        L::Reused,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{a}");
    // A remanufacturer records a reuse too; the same status again without a further
    // successor is refused for anything but reused.
    let (s, a) = record(
        &app,
        &w.remanufacturer,
        "superseded",
        L::Reused,
        L::Reused,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{a}");
    let (s, a) = record(
        &app,
        &w.waste_operator,
        "suspended",
        L::Repurposed,
        L::Repurposed,
        &[],
    )
    .await;
    assert_eq!((s, common::kind(&a)), (403, "transition-forbidden"), "{a}");
}

#[tokio::test]
async fn the_demo_samples_show_a_life_after_first_use() {
    let app = spawn_app().await;
    let v = verdict(&app, "repurposed-original").await;
    assert_eq!(v.code, None, "{:?}", v.message);
    assert!(has_notice(&v, "superseded"));
    assert_eq!(v.lifecycle.as_ref().map(|l| l.status), Some(L::Repurposed));
    let v = verdict(&app, "waste").await;
    assert_eq!(v.code, None, "{:?}", v.message);
    assert!(has_notice(&v, "lifecycle_waste"));
    let v = verdict(&app, "recycled").await;
    assert_eq!(v.code, Some("passport_ceased"));
    // Online, with the chain the registry serves: who did what, when, and what follows.
    let (trust, status) = app.stores().await;
    let online = |name: &'static str| {
        let chain_url = app.manifest["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["passport"]
            .as_str()
            .unwrap()
            .to_owned();
        let (client, trust, status, label) = (
            app.client.clone(),
            trust.clone(),
            status.clone(),
            sample_url(&app, name),
        );
        async move {
            let text = client
                .get(chain_url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let chain = cellproof_core::PassportChain::from_json(&text).unwrap();
            let mut ctx = Context::new(&trust, &status, UnixTime(now()));
            ctx.chain = Some(&chain);
            verify(&label, &ctx)
        }
    };
    let v = online("repurposed-original").await;
    assert_eq!(v.code, None, "{:?}", v.message);
    let l = v.lifecycle.unwrap();
    assert!(l.event.as_deref().unwrap().starts_with("urn:uuid:"));
    assert_eq!(
        l.successor,
        vec![format!("{}/01/04071234000018/21/SL2029A0001", app.address)]
    );
    let v = online("waste").await;
    let l = v.lifecycle.as_ref().unwrap();
    let party = l.responsible_party.as_ref().unwrap();
    assert_eq!(party.role, "waste-operator");
    assert!(v
        .notices
        .iter()
        .any(|n| n.code == "lifecycle_waste" && n.message.contains(&party.name)));
    let v = online("recycled").await;
    assert_eq!(v.code, Some("passport_ceased"));
    assert!(v.lifecycle.unwrap().event_date.is_some());
    // The manifest names the actors with their roles and keys.
    let actors = app.manifest["actors"].as_array().unwrap();
    let roles: Vec<&str> = actors
        .iter()
        .flat_map(|a| a["roles"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    for r in ["repurposer", "remanufacturer", "waste-operator", "recycler"] {
        assert!(roles.contains(&r), "{r}: {roles:?}");
    }
    for a in actors {
        let key = common::issuer_key_file(app.dir.path(), a["key"].as_str().unwrap());
        assert_eq!(key.kid, a["kid"].as_str().unwrap());
    }
}

#[tokio::test]
async fn the_second_life_battery_shows_its_two_originals_verified() {
    let app = spawn_app().await;
    let (trust, status) = app.stores().await;
    let chain_url = app.manifest["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "second-life")
        .unwrap()["passport"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = app
        .client
        .get(chain_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let chain = cellproof_core::PassportChain::from_json(&text).unwrap();
    assert_eq!(chain.predecessors.len(), 2, "{text}");
    let mut ctx = Context::new(&trust, &status, UnixTime(now()));
    ctx.chain = Some(&chain);
    let v = verify(&sample_url(&app, "second-life"), &ctx);
    assert_eq!(v.code, None, "{:?}", v.message);
    let outcomes: Vec<&str> = v.lineage.iter().map(|l| l.outcome).collect();
    assert_eq!(outcomes, vec!["verified", "verified"], "{:?}", v.lineage);
    assert!(v
        .lineage
        .iter()
        .all(|l| l.issuer.as_deref() == Some(app.world.acme.did.as_str())));
    // Its own life has just begun: original in its own list.
    assert_eq!(v.lifecycle.as_ref().map(|l| l.status), Some(L::Original));
    // Each original names it as successor, and shows superseded.
    for name in ["repurposed-original", "second-life-module"] {
        let v = verdict(&app, name).await;
        assert!(has_notice(&v, "superseded"), "{name}");
    }
}

#[tokio::test]
async fn an_inspectors_pack_carries_the_lifecycle_lists_events_and_originals() {
    // Offline work (SPEC.md 6.2 packs): the verdict from a pack alone is the online one.
    let app = spawn_app().await;
    // The demo publishes its samples' lists before it serves (no wait for the tick).
    let (_, recycled) = battery(&app, "recycled");
    let (_, second) = battery(&app, "second-life");
    let pack: Value = serde_json::from_str(
        &app.get_text(&format!("/v1/pack?items={recycled},{second}"))
            .await,
    )
    .unwrap();
    let mut trust = cellproof_core::TrustStore::new();
    for e in app.manifest["ecosystems"].as_array().unwrap() {
        let root = cellproof_core::PublicKey::from_jwk(&e["root"]).unwrap();
        trust.pin_root(e["eco"].as_str().unwrap(), &root);
    }
    let lists: Vec<&str> = pack["trustLists"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_else(|| {
            pack["trustLists"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(Value::as_str)
                .collect()
        });
    for r in trust.insert_all(lists) {
        r.unwrap();
    }
    let mut status = cellproof_core::StatusStore::new();
    for s in pack["statusLists"].as_array().unwrap() {
        status.insert(s.as_str().unwrap(), &trust).unwrap();
    }
    assert!(status.lists().any(|l| l.purpose == Purpose::Lifecycle));
    let at = |path: &str| {
        cellproof_core::PassportChain::from_json(&pack["passports"][path].to_string()).unwrap()
    };
    let chain = at(&recycled);
    assert_eq!(chain.events.len(), 2);
    let mut ctx = Context::new(&trust, &status, UnixTime(now()));
    ctx.chain = Some(&chain);
    let v = verify(&sample_url(&app, "recycled"), &ctx);
    assert_eq!(v.code, Some("passport_ceased"));
    assert!(v.lifecycle.unwrap().event.is_some());
    let chain = at(&second);
    assert_eq!(chain.predecessors.len(), 2);
    ctx.chain = Some(&chain);
    let v = verify(&sample_url(&app, "second-life"), &ctx);
    assert_eq!(v.code, None, "{:?}", v.message);
    assert!(v.lineage.iter().all(|l| l.outcome == "verified"));
}
