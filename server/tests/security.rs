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
    assert_security_headers_with(r, what, cellproof_server::CSP_LOOPBACK);
}

/// The headers every response carries, `csp` its policy: the test registry is a demo on http
/// loopback, whose page may also ask other loopback origins over http (the demo's foreign
/// resolver, `CSP_LOOPBACK`); that is the only difference from every other deployment's `CSP`.
fn assert_security_headers_with(r: &reqwest::Response, what: &str, csp: &str) {
    let h = r.headers();
    assert_eq!(h["content-security-policy"], csp, "{what}");
    assert_eq!(
        cellproof_server::CSP_LOOPBACK.replace(" http://127.0.0.1:* http://localhost:*", ""),
        cellproof_server::CSP
    );
    let csp = cellproof_server::CSP;
    for part in [
        "script-src 'self' 'wasm-unsafe-eval'",
        // Online resolution (SPEC.md 2.2) fetches https resolvers, never plain http elsewhere.
        "connect-src 'self' https:;",
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
    assert_security_headers_with(&r, "https registry", cellproof_server::CSP);
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

// ---- Readers: restricted sections and inspection reports (SPEC.md sections 6.3, 6.4) ----

const LI: &str = "legitimate-interest";
const AUTH: &str = "authority";

/// A reader of the demo manifest (`inspectors` or `recyclers`): its DID and private key.
fn reader(app: &TestApp, list: &str) -> (String, KeyPair) {
    let r = &app.manifest[list][0];
    let jwk: Value = serde_json::from_slice(
        &std::fs::read(app.dir.path().join(r["key"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(r["eco"], "catena-x");
    let key = KeyPair::from_private_jwk(&jwk).unwrap();
    assert_eq!(r["kid"].as_str(), Some(key.kid.as_str()));
    (r["did"].as_str().unwrap().to_owned(), key)
}

/// The battery path of a demo sample.
fn sample_path(app: &TestApp, name: &str) -> String {
    let s = app.manifest["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    let url = s["url"].as_str().unwrap();
    url.strip_prefix(&format!("{}/", app.address))
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned()
}

/// A signed `op: "read"` request with every member given.
fn read_at(aud: &str, key: &KeyPair, iss: &str, item: &str, tier: &str, iat: u64) -> String {
    sign_json(
        Typ::RegistryRequest,
        &json!({"iss": iss, "iat": iat, "jti": jti(), "aud": aud, "op": "read",
                "item": item, "tier": tier}),
        key,
    )
}

fn read(app: &TestApp, key: &KeyPair, iss: &str, item: &str, tier: &str) -> String {
    read_at(&app.address, key, iss, item, tier, now())
}

fn tiers_of(v: &Value) -> Vec<String> {
    let mut t: Vec<String> = v["sections"]
        .as_array()
        .unwrap_or_else(|| panic!("no sections: {v}"))
        .iter()
        .map(|s| s["tier"].as_str().unwrap().to_owned())
        .collect();
    t.sort();
    t
}

fn digests_of(v: &Value, list: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {v}"))
        .iter()
        .map(|s| s["digest"].as_str().unwrap().to_owned())
        .collect()
}

/// `(status, problem type, code)` of an answer.
fn refusal(r: &(u16, Value)) -> (u16, &str, &str) {
    (r.0, kind(&r.1), r.1["code"].as_str().unwrap_or("-"))
}

/// The current passport version of a battery, as served.
async fn current_passport(app: &TestApp, path: &str) -> String {
    let rest = path.strip_prefix("01/").unwrap().replacen("/21/", "/", 1);
    let chain: Value =
        serde_json::from_str(&app.get_text(&format!("/v1/passports/{rest}")).await).unwrap();
    chain["versions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post_vc(app: &TestApp, path: &str, jws: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url(path))
        .header("Content-Type", "application/vc+jwt")
        .body(jws.to_owned())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// `GET /v1/reports/{gtin}/{serial}` with an optional `Authorization: Cellproof` envelope.
async fn list_reports(app: &TestApp, path: &str, envelope: Option<String>) -> (u16, Value) {
    let rest = path.strip_prefix("01/").unwrap().replacen("/21/", "/", 1);
    let mut r = app.client.get(app.url(&format!("/v1/reports/{rest}")));
    if let Some(e) = envelope {
        r = r.header("Authorization", format!("Cellproof {e}"));
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    if s == 200 {
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    (s, r.json().await.unwrap_or(Value::Null))
}

/// An inspection report on the demo sample `name` sealed by `(did, key)` over a real verdict
/// (the chain fetched over HTTP, the lists served), as the page and the CLI seal one.
async fn seal(app: &TestApp, name: &str, did: &str, key: &KeyPair) -> String {
    use cellproof_core::{report_payload, seal_report, verify, Artifacts, Context, PassportChain};
    let s = app.manifest["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    let scan = s["url"].as_str().unwrap().to_owned();
    let chain = PassportChain::from_json(
        &app.get_text(
            s["passport"]
                .as_str()
                .unwrap()
                .strip_prefix(&app.address)
                .unwrap(),
        )
        .await,
    )
    .unwrap();
    let (trust, status) = app.stores().await;
    let mut ctx = Context::new(&trust, &status, cellproof_core::UnixTime(now()));
    ctx.chain = Some(&chain);
    let verdict = verify(&scan, &ctx);
    let artifacts = Artifacts::used(&scan, &verdict, &trust, &status, Some(&chain));
    let payload = report_payload(
        did,
        &artifacts,
        &verdict,
        &[],
        cellproof_core::UnixTime(now()),
    )
    .unwrap();
    seal_report(&payload, key)
}

/// The audit entries of one action.
fn entries<'a>(log: &'a Value, action: &str) -> Vec<&'a Value> {
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .collect()
}

/// `cellproof-server audit verify` on the exported log, head and lists in `dir`.
fn audit_verify_cli(dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cellproof-server"))
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
        .current_dir(dir)
        .output()
        .unwrap()
}

#[tokio::test]
async fn restricted_reads_follow_role_and_tier_and_every_read_is_audited() {
    let t0 = now();
    let app = spawn_app().await;
    let path = sample_path(&app, "passport-valid");
    let (msa, msa_key) = reader(&app, "inspectors");
    let (rec, rec_key) = reader(&app, "recyclers");
    let (acme, acme_key) = app.acme();

    // An inspector asking for the authority tier reads both tiers; each section verifies in
    // the core against the battery's current passport (issuer, battery, signature).
    let (s, v) = app
        .post_jwt("/v1/restricted", read(&app, &msa_key, &msa, &path, AUTH))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(tiers_of(&v), [AUTH, LI]);
    assert_eq!(
        (v["item"].as_str(), v["tier"].as_str()),
        (Some(&*path), Some(AUTH))
    );
    let passport = current_passport(&app, &path).await;
    let (trust, _) = app.stores().await;
    let both = digests_of(&v, "sections");
    for sec in v["sections"].as_array().unwrap() {
        let jws = sec["jws"].as_str().unwrap();
        let checked = cellproof_core::verify_restricted(jws, &passport, &trust, now()).unwrap();
        assert_eq!(checked.tier.as_str(), sec["tier"].as_str().unwrap());
        assert_eq!(checked.digest, sec["digest"].as_str().unwrap());
        assert_eq!(checked.issuer, acme);
    }
    // Legitimate interest only, asked for by the inspector and by the recycler.
    let (s, v) = app
        .post_jwt("/v1/restricted", read(&app, &msa_key, &msa, &path, LI))
        .await;
    assert_eq!((s, tiers_of(&v)), (200, vec![LI.to_owned()]), "{v}");
    let li = digests_of(&v, "sections");
    let (s, v) = app
        .post_jwt("/v1/restricted", read(&app, &rec_key, &rec, &path, LI))
        .await;
    assert_eq!((s, digests_of(&v, "sections")), (200, li.clone()), "{v}");
    // The recycler asking for the authority tier, the manufacturer for either: refused.
    let r = app
        .post_jwt("/v1/restricted", read(&app, &rec_key, &rec, &path, AUTH))
        .await;
    assert_eq!(refusal(&r), (403, "tier-forbidden", "tier_forbidden"));
    for tier in [LI, AUTH] {
        let r = app
            .post_jwt("/v1/restricted", read(&app, &acme_key, &acme, &path, tier))
            .await;
        assert_eq!(refusal(&r), (403, "role-missing", "role_missing"), "{tier}");
        assert!(r.1.get("sections").is_none());
    }
    // A consumer, with no signed request at all.
    let r = app
        .client
        .post(app.url("/v1/restricted"))
        .header("Content-Type", "application/json")
        .body(json!({"item": path, "tier": AUTH}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let text = r.text().await.unwrap();
    assert!(!text.contains("sections"), "{text}");
    let r = app.post_jwt("/v1/restricted", String::new()).await;
    assert_eq!((r.0, kind(&r.1)), (400, "malformed-request"), "{}", r.1);
    let r = app
        .client
        .get(app.url("/v1/restricted"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    // The audit log names who read which battery's data, which sections and when; the
    // refusals of known requesters are there too; and the log verifies, offline as well.
    let files = tempfile::tempdir().unwrap();
    let (log, head, trust) = audit_files(&app, files.path()).await;
    let reads = entries(&log, "restricted.read");
    assert_eq!(reads.len(), 3, "{reads:?}");
    let who: Vec<(&str, &str, &str)> = reads
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["detail"]["item"].as_str().unwrap(),
                e["detail"]["tier"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            (&*msa, &*path, AUTH),
            (&*msa, &*path, LI),
            (&*rec, &*path, LI)
        ]
    );
    let mut logged: Vec<String> = reads[0]["detail"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    logged.sort();
    let mut both = both;
    both.sort();
    assert_eq!(logged, both);
    for e in &reads {
        let at = e["at"].as_u64().unwrap();
        assert!((t0..=now()).contains(&at), "{e}");
        assert_eq!(e["detail"]["eco"], "catena-x");
    }
    let refused: Vec<(&str, &str)> = entries(&log, "restricted.refused")
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["detail"]["refused"].as_str().unwrap(),
            )
        })
        .collect();
    // ACME's refusals (no reader role) are refused before the lock and leave no entry.
    assert_eq!(refused, [(&*rec, "tier_forbidden")]);
    verify_audit(&log, &head, &trust).expect("the log with its reads verifies");
    let out = audit_verify_cli(files.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn stale_future_replayed_forged_and_misrouted_reads_are_refused() {
    let app = spawn_app().await;
    let path = sample_path(&app, "passport-valid");
    let (msa, key) = reader(&app, "inspectors");
    let post = |body: String| app.post_jwt("/v1/restricted", body);

    // Replayed: the same request twice.
    let once = read(&app, &key, &msa, &path, AUTH);
    assert_eq!(post(once.clone()).await.0, 200);
    let r = post(once).await;
    assert_eq!((r.0, kind(&r.1)), (409, "jti-replayed"), "{}", r.1);
    // Ten minutes old; from 2100; from the end of time.
    for (iat, want) in [
        (now() - 600, "iat-stale"),
        (4_102_444_800, "iat-in-future"),
        (u64::MAX, "iat-in-future"),
    ] {
        let r = post(read_at(&app.address, &key, &msa, &path, AUTH, iat)).await;
        assert_eq!((r.0, kind(&r.1)), (400, want), "{iat}: {}", r.1);
    }
    // Made for another registry.
    for aud in [
        "https://registry.elsewhere.example".to_owned(),
        format!("{}/", app.address),
    ] {
        let r = post(read_at(&aud, &key, &msa, &path, AUTH, now())).await;
        assert_eq!(refusal(&r), (400, "audience-mismatch", "audience_mismatch"));
    }
    // Another operation sent here, and a read sent to the status route.
    let r = post(update(&app.address, &key, &msa, "3", 1, "revocation", true)).await;
    assert_eq!(refusal(&r), (400, "op-mismatch", "op_mismatch"));
    let r = app
        .post_jwt("/v1/status", read(&app, &key, &msa, &path, AUTH))
        .await;
    assert_eq!(refusal(&r), (400, "op-mismatch", "op_mismatch"));
    // Another key under the inspector's kid.
    let forger = KeyPair::from_secret(&key.kid, &[42; 32]);
    let r = post(read(&app, &forger, &msa, &path, AUTH)).await;
    assert_eq!(refusal(&r), (401, "bad-signature", "signature_invalid"));
    // Someone no trust list names.
    let r = post(read(&app, &forger, "did:web:nobody.example", &path, AUTH)).await;
    assert_eq!(refusal(&r), (403, "unknown-issuer", "issuer_unknown"));
    // A battery the registry knows nothing about, an item that is no Digital Link, a tier
    // that does not exist.
    let r = post(read(&app, &key, &msa, "01/04012345000016/21/NOSUCH", AUTH)).await;
    assert_eq!((r.0, kind(&r.1)), (404, "item-unknown"), "{}", r.1);
    let r = post(read(&app, &key, &msa, "01/12345/21/X", AUTH)).await;
    assert_eq!((r.0, kind(&r.1)), (400, "digital-link-invalid"), "{}", r.1);
    let r = post(read(&app, &key, &msa, &path, "Authority")).await;
    assert_eq!(refusal(&r), (400, "tier-invalid", "claim_invalid"));
    // A body over the limit, and one that is not UTF-8.
    let r = post("a".repeat(cellproof_server::MAX_JWS_BODY + 1)).await;
    assert_eq!((r.0, kind(&r.1)), (413, "body-too-large"));
    let r = app
        .client
        .post(app.url("/v1/restricted"))
        .header("Content-Type", "application/jwt")
        .body(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // None of them was answered with data; the log holds the one accepted read and the
    // audited refusals of the authenticated requester (unknown item, bad item, bad tier).
    let log = app.operator_get("/v1/audit?limit=10000").await;
    assert_eq!(entries(&log, "restricted.read").len(), 1);
    let refused: Vec<&str> = entries(&log, "restricted.refused")
        .iter()
        .map(|e| e["detail"]["refused"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["item-unknown", "gtin_invalid", "claim_invalid"]);
}

#[tokio::test]
async fn sections_stay_with_their_battery_and_only_its_passports_issuer_adds_them() {
    let app = spawn_app().await;
    let w = &app.world;
    let (msa, key) = reader(&app, "inspectors");
    let valid = sample_path(&app, "passport-valid");
    let other = sample_path(&app, "attestation-revoked");
    let read_digests = |item: String| {
        let body = read(&app, &key, &msa, &item, AUTH);
        let app = &app;
        async move {
            let (s, v) = app.post_jwt("/v1/restricted", body).await;
            assert_eq!(s, 200, "{v}");
            let mut d = digests_of(&v, "sections");
            d.sort();
            d
        }
    };
    let before = read_digests(valid.clone()).await;
    assert_eq!(before.len(), 2);
    // A battery with a passport and no sections: an empty answer, not another's.
    assert!(read_digests(other.clone()).await.is_empty());
    // ACME adds one to it; each battery answers with its own alone.
    let url = app.url(&format!("/{other}"));
    let section = w.restricted_section(
        &w.acme,
        &url,
        cellproof_core::Tier::LegitimateInterest,
        now() - 60,
    );
    let r = post_vc(&app, "/v1/passports", &section).await;
    assert_eq!(
        (r.0, r.1["restricted"].as_bool()),
        (200, Some(true)),
        "{}",
        r.1
    );
    assert_eq!(
        post_vc(&app, "/v1/passports", &section).await.1,
        r.1,
        "idempotent"
    );
    assert_eq!(
        read_digests(other.clone()).await,
        [cellproof_core::sha256_b64(section.as_bytes())]
    );
    assert_eq!(read_digests(valid.clone()).await, before);
    // Another manufacturer's section for ACME's battery, a certifier's, and a section about
    // a battery that has no passport: refused, and nothing more is read.
    let valid_url = app.url(&format!("/{valid}"));
    for (who, jws, want) in [
        (
            "denchi",
            w.restricted_section(
                &w.denchi,
                &valid_url,
                cellproof_core::Tier::Authority,
                now() - 60,
            ),
            (403, "gtin-not-issuer", "gtin_not_issuer"),
        ),
        (
            "certifier",
            w.restricted_section(
                &w.certifier,
                &valid_url,
                cellproof_core::Tier::Authority,
                now() - 60,
            ),
            (403, "issuer-not-trusted", "role_missing"),
        ),
        (
            "acme, no passport",
            w.restricted_section(
                &w.acme,
                &app.url("/01/04012345000016/21/NOPASSPORT1"),
                cellproof_core::Tier::Authority,
                now() - 60,
            ),
            (409, "passport-chain-broken", "passport_chain_broken"),
        ),
    ] {
        let r = post_vc(&app, "/v1/passports", &jws).await;
        assert_eq!(refusal(&r), want, "{who}: {}", r.1);
    }
    // A manufacturer of the same ecosystem listing no company prefix, onboarded: still not
    // the passport's issuer.
    let copycat = onboard_copycat(&app).await;
    let jws = w.restricted_section(
        &copycat,
        &valid_url,
        cellproof_core::Tier::Authority,
        now() - 60,
    );
    let r = post_vc(&app, "/v1/passports", &jws).await;
    assert_eq!(
        refusal(&r),
        (
            403,
            "restricted-issuer-mismatch",
            "restricted_issuer_mismatch"
        ),
        "{}",
        r.1
    );
    assert_eq!(read_digests(valid).await, before);
}

/// Lists in Catena-X and onboards "Copycat Cells", a manufacturer listing no company prefix
/// (`gcp`): a verifier lets it sign for any GTIN (SPEC.md section 4), the registry takes no
/// passport or section from it (section 6.2).
async fn onboard_copycat(app: &TestApp) -> cellproof_world::Issuer {
    let (trust, _) = app.stores().await;
    let mut list = trust.list("catena-x").unwrap().clone();
    let copycat = cellproof_world::Issuer {
        did: "did:web:copycat.example".into(),
        name: "Copycat Cells".into(),
        eco: "catena-x".into(),
        key: KeyPair::from_secret("k1", &[91; 32]),
        reg: ("BPNL".into(), "BPNL000000000099".into()),
        roles: vec!["manufacturer".into()],
        slug: "copycat".into(),
        gcp: Vec::new(),
    };
    list.entities.push(cellproof_core::Entity {
        id: copycat.did.clone(),
        name: copycat.name.clone(),
        roles: copycat.roles.clone(),
        keys: vec![copycat.key.public()],
        ..cellproof_core::Entity::default()
    });
    list.seq += 1;
    let (s, v) = upload_trust_list(app, sign_trust_list(&list, &root_key(app, "catena-x"))).await;
    assert_eq!(s, 200, "{v}");
    let r = app
        .client
        .post(app.url("/v1/operator/issuers"))
        .bearer_auth(TOKEN)
        .header("Content-Type", "application/json")
        .body(
            json!({"slug": "copycat", "did": copycat.did, "eco": "catena-x", "lists": ["1"]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    copycat
}

/// The versions a battery's chain serves (empty when it has none).
async fn versions(app: &TestApp, path: &str) -> Vec<String> {
    let rest = path.strip_prefix("01/").unwrap().replacen("/21/", "/", 1);
    let r = app
        .client
        .get(app.url(&format!("/v1/passports/{rest}")))
        .send()
        .await
        .unwrap();
    if r.status() == 404 {
        return Vec::new();
    }
    let chain: Value = r.json().await.unwrap();
    chain["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_issuer_without_a_company_prefix_cannot_squat_a_batterys_passport() {
    // The review's reproduction: an onboarded manufacturer listing no `gcp` uploaded version 1
    // of a battery that had no passport yet, so the genuine label then verified
    // `passport_issuer_mismatch` against the squatter's chain.
    let app = spawn_app().await;
    let w = &app.world;
    let copycat = onboard_copycat(&app).await;
    let path = "01/04012345000016/21/SQUAT0001";
    let url = app.url(&format!("/{path}"));
    let mut p = w.passport(&copycat, &url, 1, None, &[], now() - 60);
    p["issuer"] = copycat.did.clone().into();
    let r = post_vc(&app, "/v1/passports", &w.sign_vc(&copycat, &p)).await;
    assert_eq!(
        refusal(&r),
        (403, "gtin-not-issuer", "gtin_not_issuer"),
        "{}",
        r.1
    );
    // A GTIN under no one's prefix is no better.
    let nobody = cellproof_core::gtin_with_check_digit("0777777700001").unwrap();
    let url2 = app.url(&format!("/01/{nobody}/21/SQUAT0002"));
    let mut p = w.passport(&copycat, &url2, 1, None, &[], now() - 60);
    p["issuer"] = copycat.did.clone().into();
    let r = post_vc(&app, "/v1/passports", &w.sign_vc(&copycat, &p)).await;
    assert_eq!(refusal(&r), (403, "gtin-not-issuer", "gtin_not_issuer"));
    // Nothing was filed; ACME, whose prefix covers the GTIN, still takes version 1.
    assert!(versions(&app, path).await.is_empty());
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &url, 1, None, &[], now() - 60),
    );
    let r = post_vc(&app, "/v1/passports", &v1).await;
    assert_eq!((r.0, &r.1["version"]), (200, &json!(1)), "{}", r.1);
    assert_eq!(versions(&app, path).await, [v1]);
}

#[tokio::test]
async fn an_id_smuggling_a_second_digital_link_files_nothing_under_either_battery() {
    // The review's reproduction: `.../01/X/21/S#/01/Y/21/T` was checked against X's chain
    // (the route cut at `#`) but stored as Y's next version (the core read the last four
    // segments), so whoever holds a chain X appended a version to the demo's battery Y.
    let app = spawn_app().await;
    let w = &app.world;
    let victim = sample_path(&app, "passport-valid");
    let before = versions(&app, &victim).await;
    assert_eq!(before.len(), 2);
    // The attacker's own chain X, versions 1 and 2 (ACME here: its prefix covers both GTINs,
    // as the squatter's missing prefix covered every GTIN before 1.2).
    let x = "01/04012345000016/21/SMUGGLER1";
    let x_url = app.url(&format!("/{x}"));
    let v1 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &x_url, 1, None, &[], now() - 120),
    );
    let v2 = w.sign_vc(
        &w.acme,
        &w.passport(&w.acme, &x_url, 2, Some(&v1), &[], now() - 60),
    );
    for v in [&v1, &v2] {
        let r = post_vc(&app, "/v1/passports", v).await;
        assert_eq!(r.0, 200, "{}", r.1);
    }
    for smuggled in [
        format!("{x_url}#/{victim}"),
        format!("{x_url}?/{victim}"),
        format!("{x_url}/{victim}"),
    ] {
        let v3 = w.sign_vc(
            &w.acme,
            &w.passport(&w.acme, &smuggled, 3, Some(&v2), &[], now() - 30),
        );
        let r = post_vc(&app, "/v1/passports", &v3).await;
        assert_eq!(refusal(&r).2, "passport_invalid", "{smuggled}: {}", r.1);
        assert!(r.0 >= 400, "{smuggled}: {}", r.1);
    }
    assert_eq!(versions(&app, &victim).await, before, "the victim's chain");
    assert_eq!(versions(&app, x).await, [v1, v2], "the attacker's chain");
}

#[tokio::test]
async fn a_section_typed_by_a_string_with_a_conflicting_top_level_tier_never_reaches_a_recycler() {
    // The review's reproduction: `"type": "BatteryPassportRestricted"` (a string) skipped the
    // route's array-only test and went through the passport check's old restricted branch,
    // where the top-level `tier` won: authority text was served to a recycler.
    let app = spawn_app().await;
    let w = &app.world;
    let path = sample_path(&app, "passport-valid");
    let url = app.url(&format!("/{path}"));
    let (rec, rec_key) = reader(&app, "recyclers");
    let section = |top: &str, subject: &str, marker: &str| {
        w.sign_vc(
            &w.acme,
            &json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": "BatteryPassportRestricted",
                "issuer": w.acme.did,
                "validFrom": cellproof_core::format_rfc3339(now() - 60),
                "tier": top,
                "credentialSubject": {"id": url, "tier": subject,
                    "dismantling": {"marker": marker}}
            }),
        )
    };
    let conflicting = section(LI, AUTH, "AUTHORITY-ONLY-CONFLICT");
    let r = post_vc(&app, "/v1/passports", &conflicting).await;
    assert_eq!(
        refusal(&r),
        (400, "artifact-invalid", "restricted_invalid"),
        "{}",
        r.1
    );
    // The same string type with one tier goes through the section's check, at its tier.
    let authority = section(AUTH, AUTH, "AUTHORITY-ONLY-AGREED");
    let r = post_vc(&app, "/v1/passports", &authority).await;
    assert_eq!((r.0, &r.1["tier"]), (200, &json!(AUTH)), "{}", r.1);
    assert_eq!(r.1["restricted"], true);
    let r = app
        .post_jwt("/v1/restricted", read(&app, &rec_key, &rec, &path, LI))
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let body = r.1.to_string();
    for marker in ["AUTHORITY-ONLY-CONFLICT", "AUTHORITY-ONLY-AGREED"] {
        let leaked = r.1["sections"].as_array().unwrap().iter().any(|s| {
            let jws = s["jws"].as_str().unwrap();
            let payload = jws.split('.').nth(1).unwrap();
            let bytes = cellproof_core::b64_decode(payload, "payload").unwrap();
            String::from_utf8_lossy(&bytes).contains(marker)
        });
        assert!(!leaked, "{marker} served to a recycler: {body}");
    }
    assert!(tiers_of(&r.1).iter().all(|t| t == LI), "{body}");
}

#[tokio::test]
async fn reads_by_entities_that_can_never_read_leave_no_audit_entry() {
    // Any entity of an accepted list can sign a read; each refusal used to commit an audit
    // row under the registry lock, so a manufacturer (or anyone enrolled for nothing) could
    // grow the audit log at will.
    let app = spawn_app().await;
    let path = sample_path(&app, "passport-valid");
    let (acme, acme_key) = app.acme();
    let (rec, rec_key) = reader(&app, "recyclers");
    let count = |log: &Value| {
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                let a = e["action"].as_str().unwrap();
                a.starts_with("restricted.") || a.starts_with("report.")
            })
            .count()
    };
    let before = count(&app.operator_get("/v1/audit?limit=100000").await);
    for _ in 0..5 {
        let r = app
            .post_jwt("/v1/restricted", read(&app, &acme_key, &acme, &path, LI))
            .await;
        assert_eq!(
            refusal(&r),
            (403, "role-missing", "role_missing"),
            "{}",
            r.1
        );
        let r = list_reports(&app, &path, Some(read(&app, &acme_key, &acme, &path, AUTH))).await;
        assert_eq!(
            refusal(&r),
            (403, "role-missing", "role_missing"),
            "{}",
            r.1
        );
        // A recycler never lists reports either.
        let r = list_reports(&app, &path, Some(read(&app, &rec_key, &rec, &path, LI))).await;
        assert_eq!(
            refusal(&r),
            (403, "role-missing", "role_missing"),
            "{}",
            r.1
        );
    }
    let after = app.operator_get("/v1/audit?limit=100000").await;
    assert_eq!(
        count(&after),
        before,
        "refusals of non-readers are not audited"
    );
    // A reader's refusal is still audited, and so is its read.
    let r = app
        .post_jwt("/v1/restricted", read(&app, &rec_key, &rec, &path, AUTH))
        .await;
    assert_eq!(refusal(&r), (403, "tier-forbidden", "tier_forbidden"));
    let r = app
        .post_jwt("/v1/restricted", read(&app, &rec_key, &rec, &path, LI))
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let after = app.operator_get("/v1/audit?limit=100000").await;
    assert_eq!(count(&after), before + 2);
    assert_eq!(entries(&after, "restricted.refused").len(), 1);
}

#[tokio::test]
async fn inspection_reports_are_stored_once_and_listed_to_inspectors_only() {
    let app = spawn_app().await;
    let path = sample_path(&app, "passport-valid");
    let (msa, key) = reader(&app, "inspectors");
    let (rec, rec_key) = reader(&app, "recyclers");
    let (acme, acme_key) = app.acme();
    let report = seal(&app, "passport-valid", &msa, &key).await;
    let r = post_vc(&app, "/v1/reports", &report).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let digest = cellproof_core::sha256_b64(report.as_bytes());
    assert_eq!(r.1, json!({"item": path, "digest": digest, "issuer": msa}));
    assert_eq!(post_vc(&app, "/v1/reports", &report).await, r, "idempotent");
    // Tampered: the signature, or the payload (the verdict turned around).
    let (head, sig) = report.rsplit_once('.').unwrap();
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    let forged_sig = format!("{head}.{first}{}", &sig[1..]);
    let (h, p) = head.split_once('.').unwrap();
    let payload = String::from_utf8(cellproof_core::b64_decode(p, "payload").unwrap()).unwrap();
    assert!(payload.contains("\"overall\":\"valid\""), "{payload}");
    let edited = payload.replace("\"overall\":\"valid\"", "\"overall\":\"invalid\"");
    let forged_payload = format!(
        "{h}.{}.{sig}",
        cellproof_core::b64_encode(edited.as_bytes())
    );
    for forged in [forged_sig, forged_payload] {
        let r = post_vc(&app, "/v1/reports", &forged).await;
        assert_eq!(
            refusal(&r),
            (401, "bad-signature", "signature_invalid"),
            "{}",
            r.1
        );
    }
    // Sealed by a manufacturer, or by the recycler: not an inspector.
    for (did, k) in [(&acme, &acme_key), (&rec, &rec_key)] {
        let r = post_vc(
            &app,
            "/v1/reports",
            &seal(&app, "passport-valid", did, k).await,
        )
        .await;
        assert_eq!(
            refusal(&r),
            (403, "issuer-not-trusted", "role_missing"),
            "{did}: {}",
            r.1
        );
    }
    // Listed to the inspector; never to anyone else.
    let r = list_reports(&app, &path, Some(read(&app, &key, &msa, &path, AUTH))).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(digests_of(&r.1, "reports"), std::slice::from_ref(&digest));
    assert_eq!(r.1["reports"][0]["jws"], report.as_str());
    let r = list_reports(&app, &path, None).await;
    assert_eq!((r.0, kind(&r.1)), (401, "unauthenticated"), "{}", r.1);
    for (did, k, tier) in [(&rec, &rec_key, LI), (&acme, &acme_key, AUTH)] {
        let r = list_reports(&app, &path, Some(read(&app, k, did, &path, tier))).await;
        assert_eq!(refusal(&r), (403, "role-missing", "role_missing"), "{did}");
        assert!(r.1.get("reports").is_none());
    }
    // Signed for one battery, sent for another; and a battery without reports.
    let other = sample_path(&app, "attestation-revoked");
    let r = list_reports(&app, &other, Some(read(&app, &key, &msa, &path, AUTH))).await;
    assert_eq!((r.0, kind(&r.1)), (400, "item-mismatch"), "{}", r.1);
    let r = list_reports(&app, &other, Some(read(&app, &key, &msa, &other, AUTH))).await;
    assert_eq!(
        (r.0, r.1["reports"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    // Replayed.
    let once = read(&app, &key, &msa, &path, AUTH);
    assert_eq!(list_reports(&app, &path, Some(once.clone())).await.0, 200);
    let r = list_reports(&app, &path, Some(once)).await;
    assert_eq!((r.0, kind(&r.1)), (409, "jti-replayed"));
    // Audited: one upload, the listings, the refusals.
    let log = app.operator_get("/v1/audit?limit=10000").await;
    let up = entries(&log, "report.upload");
    assert_eq!(up.len(), 1);
    assert_eq!(
        (up[0]["actor"].as_str(), up[0]["detail"]["digest"].as_str()),
        (Some(&*msa), Some(&*digest))
    );
    assert_eq!(entries(&log, "report.read").len(), 3);
    // The inspector's item mismatch; the recycler's and ACME's refusals (never readers of
    // reports) leave no entry.
    assert_eq!(entries(&log, "report.refused").len(), 1);
}

#[tokio::test]
async fn a_reader_listed_only_by_a_recognised_ecosystem_reads_nothing() {
    use cellproof_core::{Entity, Recognition, TrustList};
    let app = spawn_app().await;
    let path = sample_path(&app, "passport-valid");
    let (trust, _) = app.stores().await;
    // Catena-X recognises a third ecosystem, even for the inspector role.
    let eu_root = KeyPair::from_secret("eu-root-1", &[77; 32]);
    let mut root = eu_root.public();
    root.kid = None;
    let mut cx = trust.list("catena-x").unwrap().clone();
    cx.recognizes.push(Recognition {
        eco: "eu-msa".into(),
        root,
        roles: vec!["inspector".into()],
        until: Some(now() + 86_400),
        scope: Vec::new(),
    });
    cx.seq += 1;
    let (s, v) = upload_trust_list(&app, sign_trust_list(&cx, &root_key(&app, "catena-x"))).await;
    assert_eq!(s, 200, "{v}");
    let inspector = KeyPair::from_secret("eu-1", &[78; 32]);
    let did = "did:web:inspector.eu-msa.example";
    let eu = TrustList {
        iss: "did:web:eu-msa.trust.example".into(),
        eco: "eu-msa".into(),
        seq: 1,
        iat: now() - 60,
        exp: now() + 86_400,
        entities: vec![Entity {
            id: did.into(),
            name: "Another authority's inspector".into(),
            roles: vec!["inspector".into()],
            keys: vec![inspector.public()],
            ..Entity::default()
        }],
        authorities: Vec::new(),
        recognizes: Vec::new(),
    };
    let (s, v) = upload_trust_list(&app, sign_trust_list(&eu, &eu_root)).await;
    assert_eq!(s, 200, "accepted through the recognition: {v}");
    let r = app
        .post_jwt("/v1/restricted", read(&app, &inspector, did, &path, AUTH))
        .await;
    assert_eq!(
        refusal(&r),
        (403, "reader-not-home", "role_missing"),
        "{}",
        r.1
    );
    assert!(r.1.get("sections").is_none());
    let r = list_reports(&app, &path, Some(read(&app, &inspector, did, &path, AUTH))).await;
    assert_eq!(refusal(&r), (403, "reader-not-home", "role_missing"));
    let r = post_vc(
        &app,
        "/v1/reports",
        &seal(&app, "passport-valid", did, &inspector).await,
    )
    .await;
    assert_eq!(
        refusal(&r),
        (403, "issuer-not-trusted", "role_missing"),
        "{}",
        r.1
    );
    // A reader of an ecosystem this registry only recognises can never read here: refused
    // before the lock, and no entry (nor could it grow the log with more).
    let log = app.operator_get("/v1/audit?limit=10000").await;
    assert!(
        entries(&log, "restricted.refused")
            .iter()
            .chain(entries(&log, "report.refused").iter())
            .all(|e| e["actor"] != did),
        "{log}"
    );
}

#[tokio::test]
async fn a_new_inspector_key_enrolled_through_the_operator_route_reads_restricted_data() {
    use cellproof_core::Entity;
    let app = spawn_app().await;
    let path = sample_path(&app, "passport-valid");
    // A key made on the device (as the page or `cellproof keygen` makes one).
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).unwrap();
    let key = KeyPair::from_secret("device-1", &secret);
    let did = "did:web:inspector-2.msa.example";
    let r = app
        .post_jwt("/v1/restricted", read(&app, &key, did, &path, AUTH))
        .await;
    assert_eq!(
        refusal(&r),
        (403, "unknown-issuer", "issuer_unknown"),
        "not yet enrolled"
    );
    // The authority's root re-signs its list with the new inspector; the operator uploads it.
    let (trust, _) = app.stores().await;
    let mut list = trust.list("catena-x").unwrap().clone();
    let mut public = key.public();
    public.nbf = Some(now() - 60);
    list.entities.push(Entity {
        id: did.into(),
        name: "Market surveillance authority, inspector 2".into(),
        roles: vec!["inspector".into()],
        keys: vec![public],
        ..Entity::default()
    });
    list.seq += 1;
    list.iat = now();
    let (s, v) = upload_trust_list(&app, sign_trust_list(&list, &root_key(&app, "catena-x"))).await;
    assert_eq!(s, 200, "{v}");
    let r = app
        .post_jwt("/v1/restricted", read(&app, &key, did, &path, AUTH))
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(tiers_of(&r.1), [AUTH, LI]);
    // It seals and uploads a report, and lists it.
    let report = seal(&app, "passport-valid", did, &key).await;
    let u = post_vc(&app, "/v1/reports", &report).await;
    assert_eq!(u.0, 200, "{}", u.1);
    let l = list_reports(&app, &path, Some(read(&app, &key, did, &path, AUTH))).await;
    assert_eq!(
        digests_of(&l.1, "reports"),
        [u.1["digest"].as_str().unwrap().to_owned()]
    );
    let log = app.operator_get("/v1/audit?limit=10000").await;
    assert!(entries(&log, "restricted.read")
        .iter()
        .any(|e| e["actor"] == did));
}

#[tokio::test]
async fn restricted_sections_and_reports_never_reach_a_public_route() {
    let app = spawn_app().await;
    let path = sample_path(&app, "passport-valid");
    let (msa, key) = reader(&app, "inspectors");
    let (s, v) = app
        .post_jwt("/v1/restricted", read(&app, &key, &msa, &path, AUTH))
        .await;
    assert_eq!(s, 200, "{v}");
    let report = seal(&app, "passport-valid", &msa, &key).await;
    assert_eq!(post_vc(&app, "/v1/reports", &report).await.0, 200);
    // What must never appear: each section and the report whole, their payload and
    // signature segments, their digests as something to fetch, and the sections' contents.
    let mut secrets: Vec<String> = vec!["BatteryPassportRestricted".into()];
    let mut digests = vec![cellproof_core::sha256_b64(report.as_bytes())];
    for jws in v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["jws"].as_str().unwrap().to_owned())
        .chain([report.clone()])
    {
        let parts: Vec<&str> = jws.split('.').collect();
        secrets.extend([jws.clone(), parts[1].to_owned(), parts[2].to_owned()]);
        digests.push(cellproof_core::sha256_b64(jws.as_bytes()));
        let payload: Value =
            serde_json::from_slice(&cellproof_core::b64_decode(parts[1], "payload").unwrap())
                .unwrap();
        if let Some(data) = payload["credentialSubject"].get("data") {
            secrets.push(data.to_string());
            for k in data.as_object().unwrap().keys() {
                secrets.push(format!("\"{k}\""));
            }
        }
    }
    let (gtin, serial) = {
        let rest = path.strip_prefix("01/").unwrap();
        let (g, s) = rest.split_once("/21/").unwrap();
        (g.to_owned(), s.to_owned())
    };
    let mut bodies: Vec<(String, String)> = Vec::new();
    let get = |url: String, accept: Option<&'static str>| {
        let req = app.client.get(app.url(&url));
        let req = match accept {
            Some(a) => req.header("Accept", a),
            None => req,
        };
        async move {
            let r = req.send().await.unwrap();
            let s = r.status();
            (format!("{url} ({accept:?}) {s}"), r.text().await.unwrap())
        }
    };
    for (url, accept) in [
        (format!("/{path}"), None),
        (format!("/{path}"), Some("application/vc+jwt")),
        (format!("/{path}"), Some("application/linkset+json")),
        (format!("/{path}?linkType=all"), None),
        (format!("/{path}?linkType=gs1:pip"), None),
        (format!("/v1/passports/{gtin}/{serial}"), None),
        ("/v1/bundle".into(), None),
        (format!("/v1/pack?items={path}"), None),
        ("/v1/trust-list/catena-x".into(), None),
        ("/v1/trust-list/ouranos".into(), None),
        ("/v1/roots".into(), None),
        ("/v1/status/acme/3".into(), None),
        ("/v1/audit/head".into(), None),
        (format!("/v1/reports/{gtin}/{serial}"), None),
    ] {
        bodies.push(get(url, accept).await);
    }
    for d in &digests {
        for prefix in ["/v1/attestations/", "/v1/documents/"] {
            let got = get(format!("{prefix}{d}"), None).await;
            assert!(got.0.ends_with("404 Not Found"), "{}", got.0);
            bodies.push(got);
        }
    }
    let pack = app
        .client
        .post(app.url("/v1/pack"))
        .json(&json!({"items": [path]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    bodies.push(("POST /v1/pack".into(), pack));
    for (what, body) in &bodies {
        for s in &secrets {
            assert!(
                !body.contains(s.as_str()),
                "{what} serves restricted data: {s}"
            );
        }
    }
}
