//! The `cellproof` binary end to end: the issuer workflow with keys it generates, every vector
//! case through `verify`, images, batches and the usage errors (exit codes 0, 1, 2).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cellproof"))
}

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("running cellproof")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Builds the verify arguments of one vector case.
fn case_args(case: &Value) -> Vec<String> {
    let dir = vectors();
    let mut args = vec![
        "verify".to_owned(),
        "--json".to_owned(),
        "--at".to_owned(),
        case["at"].to_string(),
    ];
    for (eco, path) in case["roots"].as_object().unwrap() {
        args.push("--root".into());
        args.push(format!(
            "{eco}={}",
            dir.join(path.as_str().unwrap()).display()
        ));
    }
    for (flag, key) in [
        ("--trust-list", "trust_lists"),
        ("--status-list", "status_lists"),
    ] {
        for f in case[key].as_array().unwrap() {
            args.push(flag.into());
            args.push(dir.join(f.as_str().unwrap()).display().to_string());
        }
    }
    args
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(vectors().join("cases.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

#[test]
fn every_vector_case_through_the_binary() {
    for case in cases() {
        let mut args = case_args(&case);
        args.push(case["input"].as_str().unwrap().to_owned());
        let o = bin().args(&args).output().unwrap();
        let j = stdout_json(&o);
        let name = &case["name"];
        assert_eq!(j["overall"], case["expected"]["overall"], "{name}");
        assert_eq!(j["code"], case["expected"]["code"], "{name}");
        let want = if j["overall"] == "valid" { 0 } else { 1 };
        assert_eq!(code(&o), want, "{name}: exit code");
    }
}

/// The passport vectors (`tests/vectors/passports/`) through `verify --passport`: verdict and
/// every attestation result's topic, materials, outcome and code.
#[test]
fn every_passport_vector_through_the_binary() {
    let text = std::fs::read_to_string(vectors().join("passports/cases.json")).unwrap();
    let index: Value = serde_json::from_str(&text).unwrap();
    for case in index["cases"].as_array().unwrap() {
        let mut args = case_args(case);
        args.push("--passport".into());
        args.push(
            vectors()
                .join(case["passport"].as_str().unwrap())
                .display()
                .to_string(),
        );
        args.push(case["input"].as_str().unwrap().to_owned());
        let o = bin().args(&args).output().unwrap();
        let j = stdout_json(&o);
        let name = &case["name"];
        let want = &case["expected"];
        assert_eq!(j["overall"], want["overall"], "{name}");
        assert_eq!(j["code"], want["code"], "{name}");
        let got: Vec<Value> = j["attestations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                serde_json::json!({"topic": a["topic"], "materials": a["materials"],
                    "outcome": a["outcome"], "code": a.get("code").cloned().unwrap_or(Value::Null)})
            })
            .collect();
        assert_eq!(Value::Array(got), want["attestations"], "{name}");
        assert_eq!(
            code(&o),
            if want["overall"] == "valid" { 0 } else { 1 },
            "{name}"
        );
    }
}

#[test]
fn issuer_workflow_with_generated_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Keys: a root, a status authority and a manufacturer.
    let mut pubs = Vec::new();
    for (name, kid) in [("root", "root-1"), ("sa", "sa1"), ("mfr", "k1")] {
        let o = run(&[
            "keygen",
            "--kid",
            kid,
            "--out",
            p(&d.join(format!("{name}.jwk"))),
        ]);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        let public = stdout_json(&o);
        assert!(
            public.get("d").is_none(),
            "stdout must not carry the private key"
        );
        assert_eq!(public["kid"], kid);
        pubs.push(public);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("mfr.jwk"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
    // keygen refuses to overwrite.
    assert_eq!(
        code(&run(&[
            "keygen",
            "--kid",
            "x",
            "--out",
            p(&d.join("mfr.jwk"))
        ])),
        2
    );
    let mut root_pub = pubs[0].clone();
    root_pub.as_object_mut().unwrap().remove("kid");
    std::fs::write(d.join("root.pub.jwk"), root_pub.to_string()).unwrap();

    let base = "https://registry.example/v1/status/mfr/";
    let list = serde_json::json!({
        "iss": "did:web:trust.example", "eco": "catena-x", "seq": 7, "iat": 1_800_000_000u64, "exp": 1_900_000_000u64,
        "entities": [{"id": "did:web:cells.acme.example", "name": "ACME Cells GmbH", "roles": ["manufacturer"],
                      "keys": [pubs[2]], "statusBase": base}],
        "authorities": [{"id": "did:web:registry.example", "keys": [pubs[1]]}],
        "recognizes": []
    });
    std::fs::write(d.join("list.json"), list.to_string()).unwrap();
    let o = run(&[
        "trust-list",
        "sign",
        "--key",
        p(&d.join("root.jwk")),
        "--input",
        p(&d.join("list.json")),
        "--out",
        p(&d.join("list.jws")),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&[
        "status-list",
        "--key",
        p(&d.join("sa.jwk")),
        "--id",
        &format!("{base}3"),
        "--issuer",
        "did:web:registry.example",
        "--set",
        "94567",
        "--at",
        "1800000100",
        "--out",
        p(&d.join("rev.jws")),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));

    // Issue the reference claims and check the QR budget (SPEC.md section 2: <= 18 at M). We
    // reach 17 (zopfli, claim order, integral numbers): this guards that against regressions.
    let claims = vectors().join("../../crates/world/src/reference-claims.json");
    let o = run(&[
        "issue",
        "--key",
        p(&d.join("mfr.jwk")),
        "--claims",
        p(&claims),
        "--qr",
        p(&d.join("qr.png")),
        "--at",
        "1800000050",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let issued = stdout_json(&o);
    assert!(
        issued["qr"]["version"].as_u64().unwrap() <= 18,
        "QR version {}",
        issued["qr"]["version"]
    );
    assert_eq!(issued["qr"]["ecc"], "M");
    let url = issued["url"].as_str().unwrap();
    assert!(url.starts_with("https://id.cells.acme.example/01/04012345000016/21/SN2026A000123#"));

    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--json",
            "--at",
            "1800000200",
            "--root",
            "catena-x=ROOT",
            "--trust-list",
            "LIST",
            "--status-list",
            "REV",
        ];
        let root = format!("catena-x={}", p(&d.join("root.pub.jwk")));
        args[5] = &root;
        let list = d.join("list.jws");
        let rev = d.join("rev.jws");
        args[7] = p(&list);
        args[9] = p(&rev);
        args.extend_from_slice(extra);
        run(&args)
    };
    // The status list marks index 94567 (the reference claims' st): revoked.
    let o = verify(&[url]);
    assert_eq!(code(&o), 1);
    assert_eq!(stdout_json(&o)["code"], "revoked");
    // Same through the PNG the issuer rendered: the decoder reads the issuer's own QR.
    let o = verify(&["--image", p(&d.join("qr.png"))]);
    assert_eq!(stdout_json(&o)["code"], "revoked");
    // A clean status list: valid.
    run(&[
        "status-list",
        "--key",
        p(&d.join("sa.jwk")),
        "--id",
        &format!("{base}3"),
        "--issuer",
        "did:web:registry.example",
        "--at",
        "1800000100",
        "--out",
        p(&d.join("rev.jws")),
    ]);
    let o = verify(&[url]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let j = stdout_json(&o);
    assert_eq!(j["issuer"]["name"], "ACME Cells GmbH");
    assert_eq!(j["issuer"]["path"], "catena-x");
}

#[test]
fn batch_matches_single_verification_in_jsonl_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let all = cases();
    // Cases sharing the default setting (pinned catena-x, all lists, same clock).
    let reference = all.iter().find(|c| c["name"] == "reference-valid").unwrap();
    let same: Vec<&Value> = all
        .iter()
        .filter(|c| {
            c["roots"] == reference["roots"]
                && c["trust_lists"] == reference["trust_lists"]
                && c["status_lists"] == reference["status_lists"]
                && c["at"] == reference["at"]
        })
        .collect();
    assert!(same.len() > 20);
    // Repeat them so the batch is large enough to use batch verification.
    let lines: Vec<&str> = same
        .iter()
        .cycle()
        .take(same.len() * 4)
        .map(|c| c["input"].as_str().unwrap())
        .collect();
    let batch = dir.path().join("batch.txt");
    std::fs::write(&batch, format!("{}\n\n", lines.join("\n"))).unwrap();
    let mut args = case_args(reference);
    args.retain(|a| a != "--json");
    let out = dir.path().join("out.jsonl");
    let o = bin()
        .args(&args)
        .args(["--batch", p(&batch), "--out", p(&out)])
        .output()
        .unwrap();
    assert_eq!(
        code(&o),
        1,
        "some cases are invalid: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows.len(),
        lines.len(),
        "one line per input, blank lines skipped"
    );
    for (row, case) in rows.iter().zip(same.iter().cycle()) {
        assert_eq!(
            row["overall"], case["expected"]["overall"],
            "{}",
            case["name"]
        );
        assert_eq!(row["code"], case["expected"]["code"], "{}", case["name"]);
    }
    let csv = dir.path().join("out.csv");
    bin()
        .args(&args)
        .args(["--batch", p(&batch), "--format", "csv", "--out", p(&csv)])
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut it = text.lines();
    // The shared column set (core CSV_COLUMNS, the page's CSV too), every cell quoted.
    let header: Vec<String> = cellproof_core::CSV_COLUMNS
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect();
    assert_eq!(it.next(), Some(header.join(",").as_str()));
    let first = it.next().unwrap();
    assert!(
        first.starts_with(
            r#""1","","","valid","","","ACME Cells GmbH","did:web:cells.acme.example","catena-x","04012345000016","SN2026A000123","ok","ok","ok","#
        ),
        "{first}"
    );
    assert_eq!(text.lines().count(), lines.len() + 1);
}

#[test]
fn decode_reports_text_and_corners() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["demo", "--out", p(dir.path())]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let img = dir.path().join("credential.png");
    let o = run(&["decode", "--json", p(&img)]);
    assert_eq!(code(&o), 0);
    let j = stdout_json(&o);
    let url = std::fs::read_to_string(dir.path().join("credential.url")).unwrap();
    assert_eq!(j["codes"][0]["text"], url.trim());
    assert_eq!(j["codes"][0]["corners"].as_array().unwrap().len(), 4);
    assert!(j["ms"].as_f64().unwrap() >= 0.0);
    // An unreadable file: reported on its own line, exit 2.
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"not an image").unwrap();
    let o = run(&["decode", "--json", p(&bad), p(&img)]);
    assert_eq!(code(&o), 2);
    let lines: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[0]["error"]
        .as_str()
        .unwrap()
        .contains("not a readable"));
    assert_eq!(lines[1]["codes"][0]["text"], url.trim());
}

#[test]
fn usage_and_io_errors_exit_2_with_a_sentence() {
    let cases: [&[&str]; 5] = [
        &["verify"],
        &["verify", "x", "--trust-list", "/nonexistent/list.jws"],
        &["verify", "x", "--root", "catena-x"],
        &["verify", "x", "--at", "yesterday"],
        &[
            "issue",
            "--key",
            "/nonexistent.jwk",
            "--claims",
            "/nonexistent.json",
        ],
    ];
    for args in cases {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?} says why");
    }
    let o = run(&["verify", "x", "--at", "yesterday"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither Unix seconds nor an RFC 3339"));
}

#[test]
fn verify_names_the_label_form_and_identifier_of_a_label_without_a_credential() {
    // SPEC.md 2.1: an element string as a handheld scanner types it carries no signature. Before,
    // the terminal said only "UNVERIFIABLE ... (no_embedded_credential)": not which label form
    // was read nor that it must be checked online.
    let o = run(&["verify", "(01)04012345000016(21)CPPASSVALID000"]);
    assert_eq!(code(&o), 1, "not valid");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("UNVERIFIABLE"), "{out}");
    assert!(
        out.contains("  label     element string, 01/04012345000016/21/CPPASSVALID000\n"),
        "{out}"
    );
    assert!(
        out.contains("carries no signature: it must be checked online"),
        "{out}"
    );
    // A plain Digital Link with a lot and a query attribute: its form, the identifier as `sub`
    // is written and the attribute.
    let o = run(&[
        "verify",
        "https://id.gs1.org/01/4012345000016/10/L%2F1/21/SN9?17=271231",
    ]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("  label     digital link, 01/04012345000016/10/L%2F1/21/SN9 (17=271231)\n"),
        "{out}"
    );
    // `--json` carries the same in `label`.
    let o = run(&["verify", "--json", "(01)04012345000016(21)CPPASSVALID000"]);
    assert_eq!(code(&o), 1);
    let j = stdout_json(&o);
    assert_eq!(j["code"], "no_embedded_credential");
    assert_eq!(
        j["label"],
        serde_json::json!({"form": "element-string",
            "identifier": "01/04012345000016/21/CPPASSVALID000", "attributes": {}})
    );
    // Text that is no URL is read as a bare credential (form `jws`) that did not decode: it
    // is invalid, and nothing tells the user to look it up online.
    let o = run(&["verify", "not a label"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 1);
    assert!(
        out.contains("  label     jws, no GS1 identifier\n"),
        "{out}"
    );
    assert!(!out.contains("checked online"), "{out}");
}

#[test]
fn keygen_with_a_did_writes_a_did_url_kid_and_did_document_publishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let did = "did:web:cells.acme.example";
    let key = d.join("k.jwk");
    let o = run(&["keygen", "--kid", "k1", "--did", did, "--out", p(&key)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let public = stdout_json(&o);
    assert_eq!(public["kid"], format!("{did}#k1"));
    // The document from the private JWK: public parts only, the key listed for assertions.
    let doc_path = d.join("did.json");
    let o = run(&[
        "did-document",
        "--did",
        did,
        "--key",
        p(&key),
        "--out",
        p(&doc_path),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("https://cells.acme.example/.well-known/did.json"));
    let text = std::fs::read_to_string(&doc_path).unwrap();
    assert!(!text.contains("\"d\""), "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["id"], did);
    assert_eq!(doc["assertionMethod"][0], format!("{did}#k1"));
    // What a verifier reads from it for the header's kid is the key keygen made.
    let found = cellproof_core::did_key(&text, did, &format!("{did}#k1")).unwrap();
    let made = cellproof_core::AnyKey::from_jwk(&public).unwrap();
    assert_eq!(found, made);
    // A key of another DID, a DID that is not did:web, a kid with '#': refused with a sentence.
    let o = run(&[
        "did-document",
        "--did",
        "did:web:evil.example",
        "--key",
        p(&key),
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("names another DID"));
    let o = run(&["did-document", "--did", "did:key:z6Mk", "--key", p(&key)]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a did:web DID"));
    let o = run(&["keygen", "--kid", "a#b", "--out", p(&d.join("x.jwk"))]);
    assert_eq!(code(&o), 2);
    // A DID no document can be published for: refused before any key is made.
    let o = run(&[
        "keygen",
        "--kid",
        "k1",
        "--did",
        "did:key:z6Mk",
        "--out",
        p(&d.join("y.jwk")),
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a did:web DID"));
    assert!(!d.join("y.jwk").exists());
}
