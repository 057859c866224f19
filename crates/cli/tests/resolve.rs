//! `cellproof verify --resolve` (SPEC.md section 2.2) through the binary, against tiny servers
//! on loopback: every limit the spec sets (http without `--insecure-loopback`, nothing asked;
//! six redirects; a 300 KiB body; a redirect off loopback; a server that never answers; a
//! closed port), the fragment never sent, and what is not linked. The real registry:
//! `resolve_registry.rs`.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::http::{closed_port, redirect, response, serve, Answer};
use common::text;
use serde_json::Value;

fn cellproof(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cellproof"))
        .args(args)
        // Loopback servers: no proxy of the test machine in between.
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .envs(env.iter().copied())
        .output()
        .expect("running cellproof")
}

/// `verify --resolve --json ARGS...`: the verdict JSON and the whole run.
fn resolve_json(args: &[&str], env: &[(&str, &str)]) -> (Value, Output) {
    let mut all = vec!["verify", "--resolve", "--json"];
    all.extend_from_slice(args);
    let o = cellproof(&all, env);
    let j = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not a JSON verdict ({e}): {}", text(&o)));
    (j, o)
}

/// A label URL on the tiny server at `base`.
fn link(base: &str) -> String {
    format!("{base}/01/09506000134352/21/CPX1")
}

#[test]
fn http_without_insecure_loopback_is_refused_and_nothing_is_fetched() {
    let (base, log) = serve(|_, _| response("200 OK", &[], b"{\"linkset\": []}"));
    let (j, o) = resolve_json(&[&link(&base)], &[]);
    assert_eq!(j["code"], "resolution_limit", "{}", text(&o));
    let (j, _) = resolve_json(&["--resolver", &base, "(01)09506000134352(21)CPX1"], &[]);
    assert_eq!(j["code"], "resolution_limit", "{j}");
    assert!(log.lock().unwrap().is_empty());
    // The flag needs --resolve: alone it is a usage error.
    let o = cellproof(&["verify", "--insecure-loopback", &link(&base)], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn the_fragment_never_reaches_the_resolver() {
    let (base, log) = serve(|_, _| response("404 Not Found", &[], b""));
    let (j, _) = resolve_json(
        &[
            "--insecure-loopback",
            &format!("{}#0102030405", link(&base)),
        ],
        &[],
    );
    assert!(j.is_object());
    let heads = log.lock().unwrap().join("");
    assert!(!heads.is_empty());
    assert!(
        !heads.contains("0102030405") && !heads.contains('#'),
        "{heads}"
    );
}

#[test]
fn six_redirects_are_a_resolution_limit() {
    let (base, log) = serve(|target, _| {
        let n: usize = target
            .strip_prefix("/r/")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        match n {
            6.. => response("200 OK", &[], b"{\"linkset\": []}"),
            n => redirect(&format!("/r/{}", n + 1)),
        }
    });
    let (j, o) = resolve_json(&["--insecure-loopback", &link(&base)], &[]);
    assert_eq!(j["code"], "resolution_limit", "{}", text(&o));
    assert_eq!(
        log.lock().unwrap().len(),
        6,
        "the sixth target was not asked"
    );
}

#[test]
fn a_redirect_off_loopback_is_refused_before_it_is_followed() {
    // What https -> http is on the wire: a hop the user did not allow. (An https server with
    // a certificate the client trusts is not available here; `fetch.rs` tests the hop rule
    // with https.)
    let (base, _) = serve(|_, _| redirect("http://192.0.2.7/01/09506000134352/21/CPX1"));
    let (j, o) = resolve_json(&["--insecure-loopback", &link(&base)], &[]);
    assert_eq!(j["code"], "resolution_limit", "{}", text(&o));
}

#[test]
fn a_body_of_300_kib_is_a_resolution_limit() {
    let (base, _) = serve(|_, _| {
        let mut raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"linkset\": [\"".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 300 * 1024));
        raw.extend_from_slice(b"\"]}");
        Answer::Raw(raw)
    });
    let (j, o) = resolve_json(&["--insecure-loopback", &link(&base)], &[]);
    assert_eq!(j["code"], "resolution_limit", "{}", text(&o));
}

#[test]
fn a_closed_port_is_unreachable() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let (j, o) = resolve_json(
        &[
            "--insecure-loopback",
            "--resolver",
            &base,
            "(01)09506000134352(21)CPX1",
        ],
        &[],
    );
    assert_eq!(j["code"], "resolver_unreachable", "{}", text(&o));
    assert_eq!(j["overall"], "unverifiable", "{j}");
}

#[test]
fn a_resolver_that_never_answers_is_unreachable_within_the_request_timeout() {
    let (base, _) = serve(|_, _| Answer::Hang(60));
    let started = Instant::now();
    let (j, o) = resolve_json(
        &["--insecure-loopback", &link(&base)],
        &[("CELLPROOF_RESOLVE_TIMEOUT_MS", "500")],
    );
    assert_eq!(j["code"], "resolver_unreachable", "{}", text(&o));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn without_the_shortcut_a_silent_resolver_is_given_up_after_ten_seconds() {
    let (base, _) = serve(|_, _| Answer::Hang(60));
    let started = Instant::now();
    let (j, _) = resolve_json(&["--insecure-loopback", &link(&base)], &[]);
    let took = started.elapsed();
    assert_eq!(j["code"], "resolver_unreachable", "{j}");
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(25),
        "{took:?}"
    );
}

#[test]
fn a_linkset_without_a_passport_link_is_not_linked_and_a_404_too() {
    let (base, _) = serve(|target, _| {
        if target.starts_with("/01/09506000134352/21/CPX1") {
            response(
                "200 OK",
                &[("Content-Type", "application/linkset+json")],
                br#"{"linkset": [{"anchor": "https://id.example/01/09506000134352/21/CPX1",
                    "https://gs1.org/voc/pip": [{"href": "https://id.example/page"}]}]}"#,
            )
        } else {
            response("404 Not Found", &[], b"")
        }
    });
    let (j, o) = resolve_json(&["--insecure-loopback", &link(&base)], &[]);
    assert_eq!(j["code"], "passport_not_linked", "{}", text(&o));
    let (j, _) = resolve_json(
        &[
            "--insecure-loopback",
            &format!("{base}/01/09506000134352/21/OTHER"),
        ],
        &[],
    );
    assert_eq!(j["code"], "passport_not_linked", "{j}");
}

#[test]
fn a_did_web_issuer_s_document_is_asked_and_the_verdict_names_the_did() {
    // SPEC.md section 2.2: a resolved passport signed by a did:web issuer that no trust list
    // names. Its DID document is asked at {host}/.well-known/did.json (over http here only
    // because the host is loopback and --insecure-loopback allows it), and the verdict is
    // unverifiable, naming the DID, never valid: did_unresolvable without a document,
    // issuer_unknown with the signature checked under the document's key, invalid for a
    // forgery.
    use std::sync::{Arc, Mutex};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let w = cellproof_world::World::new("cli-did-web", "https://registry.example", now - 86_400);
    let passport: Arc<Mutex<String>> = Arc::default();
    let document: Arc<Mutex<Option<String>>> = Arc::default();
    let (served, doc) = (Arc::clone(&passport), Arc::clone(&document));
    let (base, log) = serve(move |target, _| {
        if target.contains("linkType=linkset") {
            let label = target.split('?').next().unwrap_or_default();
            let linkset = serde_json::json!({"linkset": [{"anchor": label,
                "https://cellproof.dev/rel/passport": [{"href": "/passport",
                    "type": "application/vc+jwt"}]}]});
            response("200 OK", &[], linkset.to_string().as_bytes())
        } else if target == "/passport" {
            response("200 OK", &[], served.lock().unwrap().as_bytes())
        } else if let (true, Some(d)) = (
            target == "/.well-known/did.json",
            doc.lock().unwrap().clone(),
        ) {
            response("200 OK", &[], d.as_bytes())
        } else {
            response("404 Not Found", &[], b"")
        }
    });
    let port = base.rsplit(':').next().unwrap();
    let did = format!("did:web:127.0.0.1%3A{port}");
    let label = link(&base);
    let mut p = w.passport(&w.acme, &label, 1, None, &[], now - 3_600);
    p["issuer"] = did.clone().into();
    *passport.lock().unwrap() = w.sign_vc(&w.acme, &p);
    let doc_for = |key: &cellproof_core::KeyPair| {
        let vm = format!("{did}#{}", w.acme.key.kid);
        serde_json::json!({"id": did, "verificationMethod": [{"id": vm, "type": "JsonWebKey",
            "controller": did, "publicKeyJwk": key.public().to_jwk()}],
            "assertionMethod": [vm]})
        .to_string()
    };

    // No document there: did_unresolvable, the DID named, the signature unchecked.
    let (j, o) = resolve_json(&["--insecure-loopback", &label], &[]);
    assert_eq!(
        (j["overall"].as_str(), j["code"].as_str()),
        (Some("unverifiable"), Some("did_unresolvable")),
        "{}",
        text(&o)
    );
    assert_eq!(j["issuerDid"], did.as_str(), "{j}");
    assert_eq!(j["source"]["kind"], "resolved", "{j}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "asked http://127.0.0.1:{port}/.well-known/did.json: DID document did_unresolvable"
        )),
        "{}",
        text(&o)
    );
    // Linkset, passport, DID document.
    let waited = Instant::now();
    while log.lock().unwrap().len() < 3 && waited.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(log.lock().unwrap().len(), 3);

    // The document lists the signing key: the signature holds, the issuer is still unknown.
    *document.lock().unwrap() = Some(doc_for(&w.acme.key));
    let (j, o) = resolve_json(&["--insecure-loopback", &label], &[]);
    assert_eq!(
        (j["overall"].as_str(), j["code"].as_str()),
        (Some("unverifiable"), Some("issuer_unknown")),
        "{}",
        text(&o)
    );
    let signature = j["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "signature")
        .unwrap();
    assert_eq!(signature["outcome"], "passed", "{j}");
    // For people: who signed it.
    let o = cellproof(&["verify", "--resolve", "--insecure-loopback", &label], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!(
            "signed by {did}, whom none of your trust lists names"
        )),
        "{out}"
    );

    // The document lists another key: a forgery, invalid.
    *document.lock().unwrap() = Some(doc_for(&w.denchi.key));
    let (j, o) = resolve_json(&["--insecure-loopback", &label], &[]);
    assert_eq!(
        (j["overall"].as_str(), j["code"].as_str()),
        (Some("invalid"), Some("signature_invalid")),
        "{}",
        text(&o)
    );
}

#[test]
fn a_resolver_that_is_no_http_url_and_resolving_a_batch_are_usage_errors() {
    // A resolver root without its scheme would make every ask a URL no client can send: said
    // at once (exit 2), not reported as an unreachable resolver.
    let o = cellproof(
        &[
            "verify",
            "--resolve",
            "--resolver",
            "id.gs1.org",
            "(01)09506000134352(21)CPX1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--resolver"),
        "{}",
        text(&o)
    );
    let o = cellproof(&["verify", "--resolve", "--batch", "-"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
