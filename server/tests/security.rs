//! The registry as an attacker sees it (SPEC.md 1.1 sections 4 and 6.1), against the real
//! server on port 0: borrowed identities from another ecosystem, requests replayed to another
//! registry or route, overflowing `iat`, invented HTTP methods, security headers, exposure and
//! token checks at start, the signed audit head and its offline verifier, and a clock that
//! jumps forward and back.

mod common;

use std::sync::Arc;

use cellproof_core::TrustStore;
use cellproof_core::{sign_json, sign_trust_list, KeyPair, PublicKey, Typ};
use cellproof_server::{verify_audit, Application, Clock, Config, ManualClock};
use common::{jti, kind, now, spawn_app, spawn_app_with, update, TestApp, TOKEN};
use serde_json::{json, Value};

fn root_key(app: &TestApp, eco: &str) -> KeyPair {
    let jwk: Value = serde_json::from_slice(
        &std::fs::read(app.dir.path().join(format!("demo/keys/{eco}-root.jwk"))).unwrap(),
    )
    .unwrap();
    KeyPair::from_private_jwk(&jwk).unwrap()
}

async fn upload_trust_list(app: &TestApp, jws: String) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/v1/operator/trust-lists"))
        .bearer_auth(TOKEN)
        .header("Content-Type", "application/jwt")
        .body(jws)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

#[tokio::test]
async fn a_foreign_ecosystem_root_cannot_update_acmes_lists() {
    // Cause: requests were authenticated in any ecosystem listing the DID, so the Ouranos root
    // could list ACME's DID with its own key and revoke ACME's batteries.
    let app = spawn_app().await;
    let (acme, acme_key) = app.acme();
    let (trust, _) = app.stores().await;
    let mut list = trust.list("ouranos").unwrap().clone();
    let mut borrowed = list.entities[0].clone();
    let evil = KeyPair::from_secret("k-evil", &[66; 32]);
    borrowed.id = acme.clone();
    borrowed.name = "ACME Cells GmbH".into();
    borrowed.keys = vec![evil.public()];
    list.entities.push(borrowed);
    list.seq += 1;
    let (s, v) = upload_trust_list(&app, sign_trust_list(&list, &root_key(&app, "ouranos"))).await;
    assert_eq!(s, 200, "the list itself is well signed: {v}");
    for (route, body) in [
        (
            "/v1/allocate",
            common::alloc(&app.address, &evil, &acme, "3", 1),
        ),
        (
            "/v1/status",
            update(&app.address, &evil, &acme, "3", 1, "revocation", true),
        ),
    ] {
        let (s, v) = app.post_jwt(route, body).await;
        assert_eq!((s, kind(&v)), (403, "issuer-not-trusted"), "{route}: {v}");
        assert_eq!(v["code"], "key_unknown", "{route}");
    }
    // ACME itself, in its home ecosystem, still works.
    let idx = app.allocate(&acme_key, &acme, "3", 1).await[0];
    let (s, v) = app
        .post_jwt(
            "/v1/status",
            update(&app.address, &acme_key, &acme, "3", idx, "suspension", true),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let issuers = app.operator_get("/v1/operator/issuers").await;
    let bound: Vec<(&str, &str)> = issuers
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["slug"].as_str().unwrap(), i["eco"].as_str().unwrap()))
        .collect();
    assert!(bound.contains(&("acme", "catena-x")), "{bound:?}");
    assert!(bound.contains(&("denchi", "ouranos")), "{bound:?}");
}

#[tokio::test]
async fn another_ecosystem_copying_acmes_key_cannot_lock_acme_out() {
    // Cause: with ACME's DID and key listed by two ecosystems, resolving over every list
    // made ACME ambiguous (`issuer_ambiguous`): any other root could stop its revocations.
    let app = spawn_app().await;
    let (acme, acme_key) = app.acme();
    let (trust, _) = app.stores().await;
    let mut list = trust.list("ouranos").unwrap().clone();
    let mut copy = list.entities[0].clone();
    copy.id = acme.clone();
    copy.keys = vec![acme_key.public()];
    list.entities.push(copy);
    list.seq += 1;
    let (s, v) = upload_trust_list(&app, sign_trust_list(&list, &root_key(&app, "ouranos"))).await;
    assert_eq!(s, 200, "{v}");
    let idx = app.allocate(&acme_key, &acme, "3", 1).await[0];
    let (s, v) = app
        .post_jwt(
            "/v1/status",
            update(&app.address, &acme_key, &acme, "3", idx, "revocation", true),
        )
        .await;
    assert_eq!(s, 200, "ACME is resolved in Catena-X alone: {v}");
}

#[tokio::test]
async fn a_request_made_for_another_registry_or_route_is_refused() {
    let app = spawn_app().await;
    let (iss, key) = app.acme();
    let idx = app.allocate(&key, &iss, "3", 1).await[0];
    for aud in [
        "http://registry.elsewhere.example".to_owned(),
        format!("{}/", app.address),
        app.address.replace("127.0.0.1", "localhost"),
    ] {
        let body = update(&aud, &key, &iss, "3", idx, "suspension", true);
        let (s, v) = app.post_jwt("/v1/status", body).await;
        assert_eq!((s, kind(&v)), (400, "audience-mismatch"), "{aud}: {v}");
        assert_eq!(v["code"], "audience_mismatch");
    }
    // A request without aud or op is malformed.
    let bare = sign_json(
        Typ::RegistryRequest,
        &json!({"iss": iss, "iat": now(), "jti": jti(), "list": "3", "count": 1}),
        &key,
    );
    let (s, v) = app.post_jwt("/v1/allocate", bare).await;
    assert_eq!(
        (s, kind(&v), &v["code"]),
        (400, "malformed-request", &json!("claim_invalid"))
    );
    // An allocation posted to the status route, and the other way round.
    let (s, v) = app
        .post_jwt(
            "/v1/status",
            common::alloc(&app.address, &key, &iss, "3", 1),
        )
        .await;
    assert_eq!((s, kind(&v)), (400, "op-mismatch"), "{v}");
    assert_eq!(v["code"], "op_mismatch");
    let (s, v) = app
        .post_jwt(
            "/v1/allocate",
            update(&app.address, &key, &iss, "3", idx, "suspension", true),
        )
        .await;
    assert_eq!((s, kind(&v)), (400, "op-mismatch"), "{v}");
}

#[tokio::test]
async fn iat_at_u64_max_neither_panics_nor_blocks_later_writes() {
    // Cause: `iat + window` overflowed on a u64 from the request (a panic in debug builds,
    // inside the registry mutex, which poisoned it: every later write failed until restart).
    let app = spawn_app().await;
    let (iss, key) = app.acme();
    let idx = app.allocate(&key, &iss, "3", 1).await[0];
    for iat in [u64::MAX, u64::MAX - 299, u64::MAX / 2] {
        let body = sign_json(
            Typ::RegistryRequest,
            &json!({"iss": iss, "iat": iat, "jti": jti(), "aud": app.address, "op": "status",
                    "list": "3", "index": idx, "purpose": "suspension", "value": true}),
            &key,
        );
        let (s, v) = app.post_jwt("/v1/status", body).await;
        assert_eq!((s, kind(&v)), (400, "iat-in-future"), "{iat}: {v}");
    }
    let (s, v) = app
        .post_jwt(
            "/v1/status",
            update(&app.address, &key, &iss, "3", idx, "suspension", true),
        )
        .await;
    assert_eq!(s, 200, "later writes still succeed: {v}");
    let h: Value = serde_json::from_str(&app.get_text("/healthz").await).unwrap();
    assert_eq!(h["status"], "ok");
}

#[tokio::test]
async fn invented_http_methods_share_one_metrics_label() {
    // Cause: the metrics label was the raw method, so every invented method added a series.
    let app = spawn_app().await;
    for m in ["FOOBAR", "X-SCAN-1", "X-SCAN-2"] {
        let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
        app.client
            .request(method, app.url("/v1/bundle"))
            .send()
            .await
            .unwrap();
    }
    app.get_text("/v1/bundle").await;
    let m = app.get_text("/metrics").await;
    for m_ in ["FOOBAR", "X-SCAN-1", "X-SCAN-2"] {
        assert!(!m.contains(m_), "{m_} became a label:\n{m}");
    }
    assert!(m.contains("method=\"OTHER\""), "{m}");
    assert!(
        m.contains(
            "cellproof_http_requests_total{route=\"/v1/bundle\",method=\"GET\",status=\"200\"} 1"
        ),
        "{m}"
    );
}

fn assert_security_headers(r: &reqwest::Response, what: &str) {
    let h = r.headers();
    assert_eq!(
        h["content-security-policy"],
        cellproof_server::CSP,
        "{what}"
    );
    let csp = cellproof_server::CSP;
    for part in [
        "script-src 'self' 'wasm-unsafe-eval'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part}");
    }
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(
        h["permissions-policy"], "camera=(self), microphone=(), geolocation=()",
        "{what}"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/app.js",
        "/v1/bundle",
        "/missing.js",
        "/v1/status/acme/99",
        "/metrics",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_security_headers(&r, path);
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "{path}: http"
        );
    }
    let r = app
        .client
        .post(app.url("/v1/status"))
        .header("Content-Type", "application/jwt")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_security_headers(&r, "refused request");
    // An https public URL (behind a TLS proxy) adds HSTS.
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.public_url = Some("https://registry.example".into());
    config.operator_token = Some(TOKEN.into());
    let https = Application::build(config).await.unwrap();
    let url = format!("http://127.0.0.1:{}/v1/bundle", https.port());
    tokio::spawn(https.run_until_stopped());
    let r = app.client.get(url).send().await.unwrap();
    assert_security_headers(&r, "https registry");
    assert_eq!(r.headers()["strict-transport-security"], "max-age=63072000");
}

#[tokio::test]
async fn refuses_to_start_exposed_over_http_or_with_a_short_token() {
    let dir = tempfile::tempdir().unwrap();
    // Checked before binding: nothing ever listens beyond loopback here.
    let mut config = Config::new(dir.path());
    config.listen = "0.0.0.0:0".into();
    config.operator_token = Some(TOKEN.into());
    let e = Application::build(config).await.err().expect("refused");
    assert!(e.to_string().contains("beyond loopback"), "{e}");
    assert!(e.to_string().contains("--dev"), "{e}");
    let mut config = Config::new(dir.path());
    config.operator_token = Some("short-token".into());
    let e = Application::build(config).await.err().expect("refused");
    assert!(e.to_string().contains("at least 32"), "{e}");
}

async fn audit_files(app: &TestApp, dir: &std::path::Path) -> (Value, String, TrustStore) {
    let log = app.operator_get("/v1/audit?limit=10000").await;
    let head = app.get_text("/v1/audit/head").await;
    let mut trust = TrustStore::new();
    for e in app.manifest["ecosystems"].as_array().unwrap() {
        let eco = e["eco"].as_str().unwrap();
        trust.pin_root(eco, &PublicKey::from_jwk(&e["root"]).unwrap());
        std::fs::write(dir.join(format!("{eco}.jwk")), e["root"].to_string()).unwrap();
        let tl = app.get_text(&format!("/v1/trust-list/{eco}")).await;
        std::fs::write(dir.join(format!("{eco}.jws")), &tl).unwrap();
        trust.insert(&tl).unwrap();
    }
    std::fs::write(dir.join("audit.json"), log.to_string()).unwrap();
    std::fs::write(dir.join("head.jws"), &head).unwrap();
    (log, head, trust)
}

#[tokio::test]
async fn an_exported_audit_log_verifies_and_each_tampering_is_named() {
    let app = spawn_app().await;
    let (iss, key) = app.acme();
    let idx = app.allocate(&key, &iss, "4", 3).await;
    for i in &idx {
        let (s, _) = app
            .post_jwt(
                "/v1/status",
                update(&app.address, &key, &iss, "4", *i, "suspension", true),
            )
            .await;
        assert_eq!(s, 200);
    }
    let files = tempfile::tempdir().unwrap();
    let (log, head, trust) = audit_files(&app, files.path()).await;
    let entries = log["entries"].as_array().unwrap().len();
    let report = verify_audit(&log, &head, &trust).expect("an untouched copy verifies");
    assert_eq!(report.entries, entries);
    assert_eq!(
        report.head_seq,
        i64::try_from(entries).unwrap(),
        "the head covers every batch"
    );
    assert_eq!(report.registry, app.address);

    // The subcommand does the same from files, with exit codes 0 and 1.
    let run = |logs: &[&str], head: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cellproof-server"))
            .args(["audit", "verify", "--head", head])
            .args(logs.iter().flat_map(|l| ["--log", l]))
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
            .current_dir(files.path())
            .output()
            .unwrap()
    };
    let out = run(&["audit.json"], "head.jws");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same copy exported in two pages (`?after=`), given in order.
    let all = log["entries"].as_array().unwrap();
    let (first, rest) = all.split_at(3);
    std::fs::write(
        files.path().join("p1.json"),
        json!({ "entries": first }).to_string(),
    )
    .unwrap();
    std::fs::write(
        files.path().join("p2.json"),
        json!({ "entries": rest }).to_string(),
    )
    .unwrap();
    let out = run(&["p1.json", "p2.json"], "head.jws");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit log verified"));

    let edit = |f: &dyn Fn(&mut Vec<Value>)| {
        let mut l = log.clone();
        f(l["entries"].as_array_mut().unwrap());
        l
    };
    // One row edited.
    let edited = edit(&|e| e[3]["detail"]["index"] = json!(7));
    let err = verify_audit(&edited, &head, &trust).unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry 4 does not match its hash link: the row was edited"
    );
    // One row deleted.
    let deleted = edit(&|e| {
        e.remove(2);
    });
    let err = verify_audit(&deleted, &head, &trust).unwrap_err();
    assert!(err.to_string().starts_with("entry 3 is missing"), "{err}");
    assert!(err.to_string().ends_with("rows were deleted"), "{err}");
    // The last row deleted: the chain is intact, the signed head is not.
    let truncated = edit(&|e| {
        e.pop();
    });
    let err = verify_audit(&truncated, &head, &trust).unwrap_err();
    assert!(
        err.to_string().contains("rows were deleted from the end"),
        "{err}"
    );
    // A row edited and every later hash recomputed (someone with the disk): only the signed
    // head can tell.
    let rewritten = edit(&|e| {
        e[3]["detail"]["index"] = json!(7);
        let mut prev = e[2]["hash"].as_str().unwrap().to_owned();
        for x in e.iter_mut().skip(3) {
            let h = cellproof_server::store::chain_hash(
                &prev,
                x["seq"].as_i64().unwrap(),
                x["at"].as_u64().unwrap(),
                x["actor"].as_str().unwrap(),
                x["action"].as_str().unwrap(),
                &x["detail"].to_string(),
                x["digest"].as_str().unwrap(),
            );
            x["hash"] = json!(h);
            prev = h;
        }
    });
    let err = verify_audit(&rewritten, &head, &trust).unwrap_err();
    assert!(err.to_string().ends_with("the log was rewritten"), "{err}");
    // A head forged for the rewritten log, signed with a key of the authority's kid but not
    // the authority's.
    let real = cellproof_core::Jws::parse(&head, Typ::AuditHead, 1 << 16).unwrap();
    let mut payload = Value::Object(real.unverified_payload().clone());
    payload["hash"] = rewritten["entries"][entries - 1]["hash"].clone();
    let forger = KeyPair::from_secret(&real.header().kid, &[99; 32]);
    let forged = sign_json(Typ::AuditHead, &payload, &forger);
    let err = verify_audit(&rewritten, &forged, &trust).unwrap_err();
    assert!(err.to_string().ends_with("the head is forged"), "{err}");
    std::fs::write(files.path().join("forged.jws"), &forged).unwrap();
    std::fs::write(files.path().join("rewritten.json"), rewritten.to_string()).unwrap();
    let out = run(&["rewritten.json"], "forged.jws");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("forged"));
}

#[tokio::test]
async fn a_revocation_after_the_clock_jumped_back_is_served_within_seconds() {
    // Cause: after the clock jumped ahead (lists re-signed with validFrom in that future)
    // and back, a change waited for the clock to catch up before publication: a revocation
    // stayed hidden for as long as the jump.
    let t = now();
    let clock = Arc::new(ManualClock::new(t));
    let c: Arc<dyn Clock> = clock.clone();
    let app = spawn_app_with(move |config| config.clock = c).await;
    let (iss, key) = app.acme();
    let idx = app.allocate(&key, &iss, "4", 1).await[0];
    // Thirteen hours ahead: past half the freshness (12 h), every list is re-signed.
    let ahead = t + 13 * 3600;
    clock.set(ahead);
    let list_url = app.url("/v1/status/acme/4");
    let mut resigned = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, status) = app.stores().await;
        if common::held(&status, &list_url).unwrap().valid_from >= ahead {
            resigned = true;
            break;
        }
    }
    assert!(resigned, "the tick re-signed in the jumped clock");
    clock.set(t);
    let body = sign_json(
        Typ::RegistryRequest,
        &json!({"iss": iss, "iat": t, "jti": jti(), "aud": app.address, "op": "status",
                "list": "4", "index": idx, "purpose": "revocation", "value": true}),
        &key,
    );
    let (s, v) = app.post_jwt("/v1/status", body).await;
    assert_eq!(s, 200, "{v}");
    let mut shown = None;
    for _ in 0..30 {
        let (_, status) = app.stores().await;
        let l = common::held(&status, &list_url).unwrap();
        if l.bits.get(idx) == Ok(1) {
            shown = Some(l.valid_from);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let vf = shown.expect("the revocation is served within three seconds");
    assert!(
        vf > ahead,
        "validFrom still strictly increases: {vf} > {ahead}"
    );
}
