//! What the `cellproof` binary prints, end to end: attacker-controlled text never reaches a
//! terminal as control characters, CSV cells never start a formula, and `verify --json` is the
//! shared verdict shape (`VerdictJson`, the page's too: docs/verdict-json.md).

use std::path::PathBuf;
use std::process::{Command, Output};

use cellproof_core::{
    issue_credential, verify, Context, KeyPair, PublicKey, StatusStore, TrustStore, UnixTime,
    VerdictJson, CSV_COLUMNS,
};
use serde_json::{json, Value};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cellproof"))
}

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("running cellproof")
}

/// A credential from a key no trust list names, whose claims carry terminal escape sequences:
/// ESC (a CSI that would clear the line and print a fake verdict), 8-bit CSI (U+009B), DEL,
/// a bidi override (U+202E) and a bell.
fn hostile_url() -> String {
    let key = KeyPair::from_secret("k1", &[9u8; 32]);
    let claims = json!({
        "iss": "did:web:rogue.example\u{1b}[2K\rVALID: genuine",
        "sub": "01/04012345000016/21/SN1",
        "bp": {"cat": "ev", "mfr": "BPNL\u{9b}31m000000000666", "chem": "NMC\u{202e}118\u{7}",
               "cf": 61.2, "cfc": "B\u{7f}\u{2066}"},
        "url": "https://id.example/01/04012345000016/21/SN1",
    });
    let claims = claims.as_object().expect("object").clone();
    issue_credential(&claims, 1_800_000_000, &key)
        .expect("signs")
        .url()
}

fn raw_controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|&c| cellproof_core::is_control(c) && c != '\n')
        .collect()
}

#[test]
fn terminal_output_escapes_control_characters_in_claims() {
    // Before: verdict_text printed claims as signed; an ESC sequence in `iss` rewrote the
    // terminal line into "VALID: genuine".
    let o = run(&["verify", "--at", "1800000100", &hostile_url()]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new(), "{out}");
    assert!(out.starts_with("UNVERIFIABLE"), "{out}");
    assert!(
        out.contains(r"did:web:rogue.example\u{1b}[2K\u{d}VALID: genuine"),
        "{out}"
    );
    assert!(out.contains(r"NMC\u{202e}118\u{7}"), "{out}");
    assert!(out.contains(r"(class B\u{7f}\u{2066})"), "{out}");
}

#[test]
fn json_output_escapes_c1_and_bidi_and_keeps_the_values() {
    let url = hostile_url();
    let o = run(&["verify", "--json", "--at", "1800000100", &url]);
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new());
    let j: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(j["claims"]["bp"]["mfr"], "BPNL\u{9b}31m000000000666");
    assert_eq!(j["claims"]["bp"]["chem"], "NMC\u{202e}118\u{7}");
    // Batch JSONL too.
    let dir = tempfile::tempdir().expect("tmp");
    let batch = dir.path().join("scans.txt");
    std::fs::write(&batch, format!("{url}\n")).expect("write");
    let o = run(&[
        "verify",
        "--at",
        "1800000100",
        "--batch",
        batch.to_str().expect("path"),
    ]);
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new());
    let j: Value = serde_json::from_slice(&o.stdout).expect("JSONL");
    assert_eq!(
        j["claims"]["iss"],
        "did:web:rogue.example\u{1b}[2K\rVALID: genuine"
    );
}

/// A minimal RFC 4180 reader: rows of cells, with whether each cell was quoted.
fn parse_csv(text: &str) -> Vec<Vec<(String, bool)>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let (mut quoted, mut was_quoted) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => {
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => row.push((std::mem::take(&mut cell), std::mem::take(&mut was_quoted))),
            (false, '\r') => {}
            (false, '\n') => {
                row.push((std::mem::take(&mut cell), std::mem::take(&mut was_quoted)));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[test]
fn batch_csv_cells_cannot_start_a_formula() {
    // Before: a scanned `=HYPERLINK(...)` went into the CSV as is and ran when a dealer opened
    // the file in a spreadsheet.
    // (payload, the input cell read back from the CSV)
    let payloads = [
        (
            r#"=HYPERLINK("http://x","y")"#,
            r#"'=HYPERLINK("http://x","y")"#,
        ),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("=1\t+2", r"'=1\u{9}+2"),
        (
            "\u{1b}]8;;http://x\u{7}link",
            r"\u{1b}]8;;http://x\u{7}link",
        ),
    ];
    let dir = tempfile::tempdir().expect("tmp");
    let batch = dir.path().join("scans.txt");
    let lines: Vec<&str> = payloads.iter().map(|(p, _)| *p).collect();
    std::fs::write(&batch, lines.join("\n")).expect("write");
    let out = dir.path().join("out.csv");
    let o = run(&[
        "verify",
        "--at",
        "1800000100",
        "--batch",
        batch.to_str().expect("path"),
        "--format",
        "csv",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&out).expect("csv");
    let rows = parse_csv(&text);
    let header: Vec<&str> = rows[0].iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(header, CSV_COLUMNS.to_vec(), "the shared column set");
    assert_eq!(rows.len(), payloads.len() + 1);
    let input = CSV_COLUMNS
        .iter()
        .position(|c| *c == "input")
        .expect("input");
    for (row, (_, want)) in rows[1..].iter().zip(payloads) {
        assert_eq!(row.len(), CSV_COLUMNS.len());
        assert!(row.iter().all(|(_, q)| *q), "every cell quoted: {row:?}");
        for (cell, _) in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?}"
            );
            assert!(!cell.chars().any(cellproof_core::is_control), "{cell:?}");
        }
        assert_eq!(row[input].0, want);
    }
}

#[test]
fn cli_json_is_the_shared_verdict_json() {
    // One verdict shape: `verify --json` prints the core's VerdictJson (the binding returns
    // the same to the page, crates/wasm/tests/verdict_json.rs) plus the CLI's `warnings`.
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors().join("cases.json")).expect("cases"),
    )
    .expect("JSON");
    let root_path = vectors().join("roots/catena-x.jwk");
    let list_path = vectors().join("trust-lists/catena-x.jws");
    let status_path = vectors().join("status-lists/acme-3.jws");
    let root: Value =
        serde_json::from_str(&std::fs::read_to_string(&root_path).expect("root")).expect("jwk");
    let mut trust = TrustStore::new();
    trust.pin_root("catena-x", &PublicKey::from_jwk(&root).expect("key"));
    trust
        .insert(std::fs::read_to_string(&list_path).expect("list").trim())
        .expect("list accepted");
    let mut status = StatusStore::new();
    status
        .insert(
            std::fs::read_to_string(&status_path)
                .expect("status")
                .trim(),
            &trust,
        )
        .expect("status accepted");
    let mut compared = 0;
    for case in cases["cases"].as_array().expect("cases").iter().take(12) {
        let at = case["at"].as_u64().expect("at");
        let input = case["input"].as_str().expect("input");
        let o = run(&[
            "verify",
            "--json",
            "--at",
            &at.to_string(),
            "--root",
            &format!("catena-x={}", root_path.display()),
            "--trust-list",
            list_path.to_str().expect("path"),
            "--status-list",
            status_path.to_str().expect("path"),
            input,
        ]);
        let mut printed: Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let warnings = printed
            .as_object_mut()
            .and_then(|m| m.remove("warnings"))
            .expect("the CLI adds warnings");
        assert_eq!(warnings, json!([]));
        let ctx = Context::new(&trust, &status, UnixTime(at));
        let shared = serde_json::to_value(VerdictJson::from(&verify(input, &ctx))).expect("json");
        assert_eq!(printed, shared, "{}", case["name"]);
        compared += 1;
    }
    assert_eq!(compared, 12);
}

#[test]
fn decode_output_escapes_control_characters_in_the_qr_text() {
    // A QR code is whatever its printer wanted: `decode` printed its text raw, so a symbol
    // holding ESC sequences could clear the screen and print anything.
    let text = "\u{1b}[2J\u{1b}[1;1HVALID: genuine \u{202e}\u{9b}0m";
    let code =
        cellproof_qr::encode::encode_bytes(text, cellproof_qr::encode::Ecc::M).expect("encodes");
    let (w, h, luma) = code.to_luma(8);
    let dir = tempfile::tempdir().expect("tmp");
    let png = dir.path().join("label.png");
    image::GrayImage::from_raw(w, h, luma)
        .expect("image")
        .save(&png)
        .expect("png");
    let o = run(&["decode", png.to_str().expect("path")]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new(), "{out}");
    assert!(
        out.contains(r"\u{1b}[2J\u{1b}[1;1HVALID: genuine \u{202e}\u{9b}0m"),
        "{out}"
    );
    let o = run(&["decode", "--json", png.to_str().expect("path")]);
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new());
    let j: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(j["codes"][0]["text"], text);
}

#[test]
fn labels_without_a_credential_fill_the_battery_cells_and_never_print_a_raw_gs() {
    // A keyboard-wedge scanner types a GS1 DataMatrix as `]d2` + AIs with GS (0x1D) after a
    // variable-length value (SPEC.md 2.1, item 5). Before, such a label's CSV row had empty
    // gtin and serial cells (the verdict has no claims and no `scanned` link): the batch named
    // no battery.
    let gs = '\u{1d}';
    let element = format!("]d2010401234500001610LOT7{gs}21CPPASSVALID000");
    let inputs = [
        element.as_str(),
        "(01)04012345000016(21)CPPASSVALID000",
        "http://127.0.0.1:8080/01/04012345000016/21/SN%2F9",
    ];
    let dir = tempfile::tempdir().expect("tmp");
    let batch = dir.path().join("scans.txt");
    std::fs::write(&batch, inputs.join("\n")).expect("write");
    let o = run(&[
        "verify",
        "--batch",
        batch.to_str().expect("path"),
        "--format",
        "csv",
    ]);
    assert_eq!(o.status.code(), Some(1), "none is valid");
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new());
    let rows = parse_csv(&String::from_utf8_lossy(&o.stdout));
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).expect("column");
    let cells: Vec<(&str, &str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| {
            (
                r[col("code")].0.as_str(),
                r[col("gtin")].0.as_str(),
                r[col("serial")].0.as_str(),
                r[col("input")].0.as_str(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            (
                "no_embedded_credential",
                "04012345000016",
                "CPPASSVALID000",
                r"]d2010401234500001610LOT7\u{1d}21CPPASSVALID000",
            ),
            (
                "no_embedded_credential",
                "04012345000016",
                "CPPASSVALID000",
                "(01)04012345000016(21)CPPASSVALID000",
            ),
            (
                "no_embedded_credential",
                "04012345000016",
                "SN/9",
                "http://127.0.0.1:8080/01/04012345000016/21/SN%2F9",
            ),
        ]
    );

    // The terminal verdict of the element string: its form and identifier, no raw GS.
    let o = run(&["verify", &element]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("  label     element string, 01/04012345000016/10/LOT7/21/CPPASSVALID000\n"),
        "{out}"
    );

    // `decode` of a QR code holding it: the text with the GS escaped, and the label form read.
    let code = cellproof_qr::encode::encode_bytes(&element, cellproof_qr::encode::Ecc::M)
        .expect("encodes");
    let (w, h, luma) = code.to_luma(8);
    let png = dir.path().join("datamatrix-as-qr.png");
    image::GrayImage::from_raw(w, h, luma)
        .expect("image")
        .save(&png)
        .expect("png");
    let o = run(&["decode", png.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(r"LOT7\u{1d}21CPPASSVALID000"), "{out}");
    assert!(
        out.contains("  label: element string, 01/04012345000016/10/LOT7/21/CPPASSVALID000\n"),
        "{out}"
    );
    let o = run(&["decode", "--json", png.to_str().expect("path")]);
    let j: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(j["codes"][0]["text"], element);
    assert_eq!(
        j["codes"][0]["label"],
        json!({"form": "element-string",
               "identifier": "01/04012345000016/10/LOT7/21/CPPASSVALID000", "attributes": {}})
    );

    // Query attributes are percent-decoded by the label reader: an ESC sequence or a bidi
    // override put there in %-escapes is escaped on the label line.
    let o = run(&[
        "verify",
        "https://id.gs1.org/01/4012345000016/21/X?a=%1B%5B2J%E2%80%AE",
    ]);
    assert_eq!(raw_controls(&o.stdout), Vec::<char>::new());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(r"  label     digital link, 01/04012345000016/21/X (a=\u{1b}[2J\u{202e})"),
        "{out}"
    );
}

#[test]
fn compressed_digital_links_print_their_form_and_uncompressed_identifier() {
    // SPEC.md 2.1 item 4: a compressed GS1 Digital Link (GS1's compressor's output for
    // /01/04012345000016/10/LOT7/21/S1?17=261231) is read as its uncompressed link and the
    // label line names form 4; before, it was `digital_link_invalid` with no label.
    let url = "https://id.example/GgdMZMwAoMhZyfbElqf43g";
    let o = run(&["verify", url]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "  label     digital link compressed, 01/04012345000016/10/LOT7/21/S1 (17=261231)\n"
        ),
        "{out}"
    );
    let o = run(&["verify", "--json", url]);
    let j: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(j["code"], "no_embedded_credential");
    assert_eq!(
        j["label"],
        json!({"form": "digital-link-compressed",
               "identifier": "01/04012345000016/10/LOT7/21/S1", "attributes": {"17": "261231"}})
    );

    // `decode` of a QR code holding it names the form too.
    let code =
        cellproof_qr::encode::encode_bytes(url, cellproof_qr::encode::Ecc::M).expect("encodes");
    let (w, h, luma) = code.to_luma(8);
    let dir = tempfile::tempdir().expect("tmp");
    let png = dir.path().join("compressed.png");
    image::GrayImage::from_raw(w, h, luma)
        .expect("image")
        .save(&png)
        .expect("png");
    let o = run(&["decode", "--json", png.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0));
    let j: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(j["codes"][0]["label"]["form"], "digital-link-compressed");
}
