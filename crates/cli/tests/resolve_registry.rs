//! `cellproof verify --resolve` (SPEC.md section 2.2) against the real registry
//! (`cellproof-server --demo` on loopback, synced with `cellproof sync`): a battery's plain link
//! and its element string resolve to its passport chain and verify `valid` with `source.kind`
//! `resolved`; a battery without a passport, or one the registry does not know, is
//! `passport_not_linked`; without `--insecure-loopback` the registry's http URL is not asked.
//!
//! The registry is the `cellproof-server` binary of the same build (the CLI may not depend on
//! the server crate, `forbidden_crate_dependency_arrows_do_not_exist`): `cargo test
//! --workspace` builds it beside `cellproof`; with `-p cellproof-cli` alone, build it first
//! (`cargo build -p cellproof-server`) or name it in `CELLPROOF_SERVER_BIN`.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::text;
use serde_json::Value;

fn cellproof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cellproof"))
        .args(args)
        // A loopback server: no proxy of the test machine in between.
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .expect("running cellproof")
}

fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CELLPROOF_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_BIN_EXE_cellproof")).with_file_name("cellproof-server");
    assert!(
        p.exists(),
        "{} is not built: run `cargo build -p cellproof-server` first (cargo test --workspace \
         builds it), or name the binary in CELLPROOF_SERVER_BIN",
        p.display()
    );
    p
}

/// The real registry with its demo world, on a loopback port; killed when dropped.
struct Registry {
    child: Child,
    url: String,
    manifest: Value,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let web = dir.path().join("web");
        std::fs::create_dir_all(&web).unwrap();
        std::fs::write(web.join("index.html"), "<!doctype html><title>t</title>").unwrap();
        let mut child = Command::new(server_bin())
            .args(["--data", dir.path().to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0", "--demo"])
            .args(["--web-dir", web.to_str().unwrap()])
            .env(
                "CELLPROOF_OPERATOR_TOKEN",
                "test-operator-token-of-32-chars-at-least",
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting cellproof-server");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        // Keep draining stdout so the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = line
            .trim()
            .strip_prefix("cellproof-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let manifest =
            serde_json::from_slice(&std::fs::read(dir.path().join("demo/manifest.json")).unwrap())
                .unwrap();
        Registry {
            child,
            url,
            manifest,
            _dir: dir,
        }
    }

    /// A sample's label URL.
    fn sample(&self, name: &str) -> String {
        self.manifest["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no demo sample {name}"))["url"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `cellproof sync` of the registry into `dir/synced`, every demo ecosystem pinned; returns
    /// the arguments that verify with what it synced (`--root ECO=FILE`..., `--synced DIR`).
    fn sync(&self, dir: &Path) -> Vec<String> {
        let mut args = vec![
            "sync".to_owned(),
            "--registry".into(),
            self.url.clone(),
            "--dir".into(),
            dir.join("synced").display().to_string(),
        ];
        for e in self.manifest["ecosystems"].as_array().unwrap() {
            let eco = e["eco"].as_str().unwrap();
            let root = dir.join(format!("{eco}.jwk"));
            std::fs::write(&root, e["root"].to_string()).unwrap();
            args.push("--root".into());
            args.push(format!("{eco}={}", root.display()));
        }
        let all: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = cellproof(&all);
        assert!(o.status.success(), "{}", text(&o));
        // What verify needs: the same pins, and the directory (`--dir` becomes `--synced`).
        let mut verify = args.split_off(5);
        verify.push("--synced".into());
        verify.push(dir.join("synced").display().to_string());
        verify
    }
}

/// `01/{gtin}/21/{serial}` of a label URL, as `(gtin, serial)`.
fn gtin_serial(url: &str) -> (String, String) {
    let path = url.split('#').next().unwrap();
    let i = path.find("/01/").unwrap();
    let parts: Vec<&str> = path[i + 1..].split('/').collect();
    (parts[1].to_owned(), parts[3].to_owned())
}

fn stage<'a>(j: &'a Value, name: &str) -> &'a Value {
    j["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {j}"))
}

#[test]
fn a_plain_link_and_an_element_string_resolve_at_the_real_registry_to_a_valid_passport() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let held = reg.sync(tmp.path());
    // `cellproof ARGS... --root ECO=FILE... --synced DIR`.
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(held.iter().map(String::as_str));
        cellproof(&all)
    };
    // `verify --resolve --json ARGS...` with what was synced: the verdict JSON and the run.
    let resolve_json = |args: &[&str]| {
        let mut all = vec!["verify", "--resolve", "--json"];
        all.extend_from_slice(args);
        let o = run(&all);
        let j: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("not a JSON verdict ({e}): {}", text(&o)));
        (j, o)
    };
    let label = reg.sample("passport-valid");
    let plain = label.split('#').next().unwrap().to_owned();

    // Offline, the plain link is unverifiable: it carries no signature.
    let o = run(&["verify", "--json", &plain]);
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["code"], "no_embedded_credential", "{j}");

    // Online, its own URL is asked; the linkset links the chain, which verifies.
    let (j, o) = resolve_json(&["--insecure-loopback", &plain]);
    assert_eq!(j["overall"], "valid", "{}", text(&o));
    assert_eq!(j["source"]["kind"], "resolved", "{j}");
    assert!(
        j["source"]["url"].as_str().unwrap().starts_with(&reg.url),
        "{j}"
    );
    assert_eq!(j["label"]["form"], "digital-link", "{j}");
    assert_eq!(stage(&j, "resolve")["outcome"], "passed", "{j}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("asked {plain}")),
        "{}",
        text(&o)
    );

    // The element string names no resolver: the synced registry is the first asked.
    let (gtin, serial) = gtin_serial(&label);
    let element = format!("(01){gtin}(21){serial}");
    let (j, o) = resolve_json(&["--insecure-loopback", &element]);
    assert_eq!(j["overall"], "valid", "{}", text(&o));
    assert_eq!(j["source"]["kind"], "resolved", "{j}");
    assert_eq!(j["label"]["form"], "element-string", "{j}");
    // And with the resolver named.
    let (j, o) = resolve_json(&["--insecure-loopback", "--resolver", &reg.url, &element]);
    assert_eq!(j["overall"], "valid", "{}", text(&o));

    // For people: where it asked and where the passport came from.
    let o = run(&["verify", "--resolve", "--insecure-loopback", &plain]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        out.contains(&format!("asked {plain}")) && out.contains("-> chain"),
        "{out}"
    );
    assert!(out.contains("VALID") && out.contains("resolved"), "{out}");

    // The full label (credential in its fragment): offline the passport is not checked;
    // resolved, the chain its linkset gives feeds the passport stage (SPEC.md 1.1, 2.2).
    let o = run(&["verify", "--json", &label]);
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["overall"], "valid", "{}", text(&o));
    assert_ne!(stage(&j, "passport")["outcome"], "passed", "{j}");
    let (j, o) = resolve_json(&["--insecure-loopback", &label]);
    assert_eq!(j["overall"], "valid", "{}", text(&o));
    assert_eq!(stage(&j, "passport")["outcome"], "passed", "{j}");
    assert_eq!(j["label"]["form"], "cellproof", "{j}");

    // A battery the registry holds no passport of: not linked, unverifiable (exit 1).
    let other = reg.sample("valid");
    let other_plain = other.split('#').next().unwrap();
    let (j, o) = resolve_json(&["--insecure-loopback", other_plain]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        (j["overall"].as_str(), j["code"].as_str()),
        (Some("unverifiable"), Some("passport_not_linked")),
        "{j}"
    );
    let unknown = format!("(01){gtin}(21)NOSUCHSERIAL1");
    let (j, _) = resolve_json(&["--insecure-loopback", &unknown]);
    assert_eq!(j["code"], "passport_not_linked", "{j}");

    // Without --insecure-loopback the registry's http URL is not asked at all.
    let (j, o) = resolve_json(&[&plain]);
    assert_eq!(j["code"], "resolution_limit", "{}", text(&o));
    assert_eq!(j["overall"], "unverifiable", "{j}");
}

/// SPEC.md 1.2 sections 2.1 to 3.5 end to end: every label form of the demo's manifest
/// (`resolvedSamples`: this registry's plain link and element string; the foreign origin's
/// plain links to a UNTP passport of a did:web issuer in Catena-X and to an ES256 passport of an
/// issuer in no list, and a UNTP verification link with an encrypted, hash-committed credential)
/// verifies online as the manifest says, and offline says it carries no signature.
#[test]
fn every_resolved_demo_sample_verifies_online_across_both_origins_as_the_manifest_says() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let held = reg.sync(tmp.path());
    let foreign = reg.manifest["foreign"]["origin"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(foreign, reg.url);
    let samples = reg.manifest["resolvedSamples"].as_array().unwrap().clone();
    let names: Vec<&str> = samples
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "plain-link",
            "element-string",
            "foreign-untp",
            "foreign-untrusted",
            "untp-link"
        ]
    );
    for s in &samples {
        let (name, url) = (s["name"].as_str().unwrap(), s["url"].as_str().unwrap());
        let mut args = vec!["verify", "--resolve", "--json", "--insecure-loopback"];
        args.extend(held.iter().map(String::as_str));
        args.push(url);
        let o = cellproof(&args);
        let j: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{name}: not a JSON verdict ({e}): {}", text(&o)));
        assert_eq!(
            (&j["overall"], &j["code"]),
            (&s["expect"]["overall"], &s["expect"]["code"]),
            "{name}: {}",
            text(&o)
        );
        assert_eq!(j["source"]["kind"], "resolved", "{name}: {j}");
        // The signature held in every case, under the trust list's key or the DID document's.
        assert_eq!(stage(&j, "signature")["outcome"], "passed", "{name}: {j}");
        if name.starts_with("foreign") || name == "untp-link" {
            assert!(
                j["source"]["url"].as_str().unwrap().starts_with(&foreign),
                "{name}: {j}"
            );
        }
        match name {
            "foreign-untrusted" => {
                assert_eq!(j["issuerDid"], s["issuer"], "{j}");
                // Its DID document was asked, over http only because the host is loopback.
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(
                    err.contains(&format!("asked {foreign}/untrusted/did.json: DID document")),
                    "{err}"
                );
            }
            "foreign-untp" | "untp-link" => {
                assert_eq!(j["issuer"]["id"], s["issuer"], "{name}: {j}");
            }
            // The registry's passports carry their battery's status entries (SPEC.md 3.1).
            _ => assert_eq!(stage(&j, "status")["outcome"], "passed", "{name}: {j}"),
        }
        // Offline, the same label carries no signature: unverifiable, never invalid.
        let mut args = vec!["verify", "--json"];
        args.extend(held.iter().map(String::as_str));
        args.push(url);
        let o = cellproof(&args);
        let j: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(j["overall"], "unverifiable", "{name}: {j}");
        assert_eq!(j["code"], "no_embedded_credential", "{name}: {j}");
    }
    // Without --insecure-loopback the foreign origin's http is not asked: unverifiable.
    let untrusted = samples
        .iter()
        .find(|s| s["name"] == "foreign-untrusted")
        .unwrap();
    let o = cellproof(&[
        "verify",
        "--resolve",
        "--json",
        untrusted["url"].as_str().unwrap(),
    ]);
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (j["overall"].as_str(), j["code"].as_str()),
        (Some("unverifiable"), Some("resolution_limit")),
        "{j}"
    );
}

/// `cellproof passport get [--at]` against the real registry (SPEC.md 1.2 section 6.2): the
/// chain as of now, as of a time before it existed (exit 1, nothing printed), and a time that
/// is not one (exit 2).
#[test]
fn passport_get_reads_a_chain_now_and_as_of_a_time() {
    let reg = Registry::start();
    let label = reg.sample("passport-valid");
    let (gtin, serial) = gtin_serial(&label);
    let path = format!("01/{gtin}/21/{serial}");
    // `cellproof passport get --registry URL [--at AT] ITEM`.
    let get = |at: Option<&str>, item: &str| {
        let mut args = vec!["passport", "get", "--registry", reg.url.as_str()];
        args.extend(at.map(|a| ["--at", a]).into_iter().flatten());
        args.push(item);
        cellproof(&args)
    };
    let o = get(None, &path);
    assert!(o.status.success(), "{}", text(&o));
    let chain: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(chain["versions"].as_array().unwrap().len(), 2, "{chain}");
    // The same battery named by its label URL or its element string.
    for item in [label.clone(), format!("(01){gtin}(21){serial}")] {
        let o = get(None, &item);
        assert!(o.status.success(), "{item}: {}", text(&o));
        assert_eq!(serde_json::from_slice::<Value>(&o.stdout).unwrap(), chain);
    }
    // In the year 2000 the registry had accepted nothing of it.
    let o = get(Some("2000-01-01T00:00:00Z"), &path);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("as of 2000-01-01T00:00:00Z"));
    // A time in the future reads as now.
    let o = get(Some("2999-01-01T00:00:00Z"), &path);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(serde_json::from_slice::<Value>(&o.stdout).unwrap(), chain);
    // Not a time, not a single battery: usage errors.
    assert_eq!(get(Some("soon"), &path).status.code(), Some(2));
    assert_eq!(get(None, &format!("01/{gtin}")).status.code(), Some(2));
}

/// `cellproof lifecycle record` (SPEC.md 1.2 sections 3.4 and 6.2) against the real registry
/// with the demo's actors: the repurposer records `repurposed` on `passport-valid` (its
/// `passportIdentifier` read from the registry's chain), the chain lists the event, a
/// recycler's `repurposed` is refused with its problem type (exit 1), and `cellproof verify`
/// against the synced lists shows the battery superseded.
#[test]
fn lifecycle_record_applies_an_event_and_shows_the_refusals() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let actor = |role: &str| {
        let a = reg.manifest["actors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["roles"].as_array().unwrap().iter().any(|r| r == role))
            .unwrap()
            .clone();
        let key = reg._dir.path().join(a["key"].as_str().unwrap());
        (a["did"].as_str().unwrap().to_owned(), key)
    };
    let label = reg.sample("passport-valid");
    let path = label
        .strip_prefix(&format!("{}/", reg.url))
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned();
    let successor = format!(
        "{}/01/04071234000018/21/SLCLI0001=urn:uuid:00000000-0000-4000-8000-0000000000d4",
        reg.url
    );
    let record = |did: &str, key: &Path, from: &str, to: &str, extra: &[&str]| {
        let mut args = vec![
            "lifecycle",
            "record",
            "--registry",
            reg.url.as_str(),
            "--key",
            key.to_str().unwrap(),
            "--iss",
            did,
            "--from",
            from,
            "--to",
            to,
        ];
        args.extend_from_slice(extra);
        args.push(path.as_str());
        cellproof(&args)
    };
    // A recycler may not declare a battery repurposed: exit 1 with the problem type.
    let (recycler, recycler_key) = actor("recycler");
    let o = record(
        &recycler,
        &recycler_key,
        "original",
        "repurposed",
        &["--successor", &successor],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("transition-forbidden"),
        "{}",
        text(&o)
    );
    // Repurposed without a successor: refused before anything is sent (exit 2).
    let (repurposer, repurposer_key) = actor("repurposer");
    let o = record(&repurposer, &repurposer_key, "original", "repurposed", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // The repurposer's event is applied.
    let out = dir.path().join("event.jwt");
    let o = record(
        &repurposer,
        &repurposer_key,
        "original",
        "repurposed",
        &[
            "--successor",
            &successor,
            "--event-out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let ack: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ack["status"], "repurposed");
    assert_eq!(ack["seq"], 1);
    let event = std::fs::read_to_string(&out).unwrap();
    // The chain lists exactly that event.
    let o = cellproof(&["passport", "get", "--registry", reg.url.as_str(), &path]);
    assert!(o.status.success(), "{}", text(&o));
    let chain: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(chain["events"], serde_json::json!([event]));
    // The same status again is a conflict now (the held status moved on).
    let o = record(
        &repurposer,
        &repurposer_key,
        "original",
        "repurposed",
        &["--successor", &successor],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("lifecycle-conflict"));
    // A verifier that syncs sees it: superseded, lifecycle repurposed (within a second).
    let mut last = Value::Null;
    for _ in 0..30 {
        let mut args = reg.sync(dir.path());
        args.insert(0, "verify".into());
        args.push("--json".into());
        args.push(label.clone());
        let all: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = cellproof(&all);
        last = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        if last["lifecycle"]["status"] == "repurposed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(last["lifecycle"]["status"], "repurposed", "{last}");
    assert_eq!(last["overall"], "valid");
    assert!(last["notices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "superseded"));
}
