//! Printing verdicts for people (terminal) and machines (JSON, CSV).
//!
//! JSON and CSV use the one verdict shape of the core (`VerdictJson`, `CSV_COLUMNS`; the page
//! reads and writes the same, docs/verdict-json.md). Everything printed comes from a scanned
//! code or from trust data, so control characters are escaped before they reach a terminal: an
//! ESC sequence in a claim could rewrite the screen (a forged "VALID" line), a bidi override
//! could reorder what is read.

use cellproof_core::{
    csv_cell, escape_controls, is_control, Label, Outcome, StatusState, Verdict, VerdictJson,
    CSV_COLUMNS,
};
use serde_json::Value;

/// The verdict as JSON (the shared shape), with the CLI's warnings added.
pub fn verdict_json(v: &Verdict, warnings: &[String]) -> Value {
    let mut j = serde_json::to_value(VerdictJson::from(v)).unwrap_or(Value::Null);
    if let Some(m) = j.as_object_mut() {
        m.insert("warnings".into(), warnings.into());
    }
    j
}

/// JSON text for a terminal or a pipe: serde_json escapes C0 controls, and this also writes
/// DEL, C1 and bidi controls as `\uXXXX` escapes. The JSON value is unchanged.
pub fn json_line(j: &Value) -> String {
    let text = j.to_string();
    if !text.chars().any(is_control) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_control(c) {
            // Outside strings JSON has no such characters, so every hit is inside a string.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Attacker-controlled text made safe for a terminal (`\u{1b}` instead of ESC).
pub fn safe(s: &str) -> String {
    escape_controls(s)
}

fn mark(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "ok",
        Outcome::Failed => "FAILED",
        Outcome::Skipped => "skipped",
        Outcome::NotChecked => "-",
        Outcome::Notice => "notice",
    }
}

/// Human-readable age: 42s, 5m, 3h, 2d.
pub fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7_200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}

/// A multi-line summary for a terminal. Every string that comes from the credential, a trust
/// list or a status list goes through [`safe`].
pub fn verdict_text(v: &Verdict) -> String {
    let mut out = String::new();
    let code = safe(v.code.unwrap_or_default());
    let headline = match v.overall {
        cellproof_core::Overall::Valid => "VALID: genuine battery passport credential".to_owned(),
        cellproof_core::Overall::Invalid => format!("INVALID: not genuine ({code})"),
        cellproof_core::Overall::Unverifiable => {
            format!("UNVERIFIABLE: cannot be checked with the data held ({code})")
        }
    };
    out.push_str(&headline);
    out.push('\n');
    if let Some(m) = &v.message {
        out.push_str(&format!("  reason    {}\n", safe(m)));
    }
    if let Some(l) = &v.label {
        out.push_str(&format!("  label     {}\n", label_text(l)));
    }
    if let Some(src) = &v.source {
        // SPEC.md section 7: where the credential the verdict is about came from.
        let from = src
            .url
            .as_deref()
            .map(|u| format!(" from {}", safe(u)))
            .unwrap_or_default();
        out.push_str(&format!("  source    {}{from}\n", safe(src.kind)));
    }
    if let (Some(did), None) = (&v.issuer_did, &v.issuer) {
        out.push_str(&format!(
            "  issuer    signed by {}, whom none of your trust lists names\n",
            safe(did)
        ));
    }
    if v.code == Some("no_embedded_credential") {
        // SPEC.md section 2.1: such a label is never "not genuine" for lacking a credential; the
        // verdict is about what the verifier holds, and offline it holds nothing signed.
        out.push_str(
            "  online    this label carries no signature: it must be checked online, \
             with the passport its resolver links\n",
        );
    }
    if let Some(i) = &v.issuer {
        out.push_str(&format!(
            "  issuer    {} ({}), trust path: {}\n",
            safe(&i.name),
            safe(&i.id),
            safe(&i.path)
        ));
    } else if let Some(c) = &v.credential {
        out.push_str(&format!(
            "  claims    issuer {} (not trusted)\n",
            safe(&c.iss)
        ));
    }
    if let Some(c) = &v.credential {
        let bp = &c.bp;
        let get = |k: &str| {
            bp.get(k)
                .map(|v| safe(&v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        };
        let mut facts = vec![safe(&c.sub.path())];
        for (k, unit) in [
            ("cat", ""),
            ("chem", ""),
            ("kg", " kg"),
            ("kwh", " kWh"),
            ("mdt", ""),
            ("mpl", ""),
        ] {
            if let Some(val) = get(k) {
                facts.push(format!("{val}{unit}"));
            }
        }
        if let Some(cf) = get("cf") {
            facts.push(format!(
                "{cf} kg CO2e/kWh{}",
                get("cfc")
                    .map(|c| format!(" (class {c})"))
                    .unwrap_or_default()
            ));
        }
        out.push_str(&format!("  battery   {}\n", facts.join(" | ")));
    }
    if !v.status.is_empty() {
        let parts: Vec<String> = v
            .status
            .iter()
            .map(|s| {
                let state = match s.state {
                    StatusState::Ok => "ok",
                    StatusState::Revoked => "REVOKED",
                    StatusState::Suspended => "SUSPENDED",
                    StatusState::Superseded => "superseded",
                    StatusState::Unknown => "unknown",
                    StatusState::Stale => "STALE",
                    StatusState::NotChecked => "not checked",
                    StatusState::Ceased => "RECYCLED (passport ceased)",
                };
                // The lifecycle entry says which status it holds (SPEC.md 3.4).
                let state = match (&v.lifecycle, s.purpose, s.state) {
                    (Some(l), cellproof_core::Purpose::Lifecycle, StatusState::Ok) => {
                        l.status.as_str()
                    }
                    _ => state,
                };
                let a = s
                    .age
                    .map(|a| format!(", {} old", age(a)))
                    .unwrap_or_default();
                format!("{} {state}{a}", s.purpose.as_str())
            })
            .collect();
        out.push_str(&format!("  status    {}\n", parts.join("; ")));
    }
    let stages: Vec<String> = v
        .stages
        .iter()
        .map(|s| format!("{} {}", s.stage.name(), mark(s.outcome)))
        .collect();
    out.push_str(&format!("  stages    {}\n", stages.join(", ")));
    for d in &v.data {
        out.push_str(&format!(
            "  data      {} {}: {} old{}\n",
            d.kind.replace('_', " "),
            safe(&d.id),
            age(d.age),
            if d.stale { " (STALE)" } else { "" }
        ));
    }
    for n in &v.notices {
        out.push_str(&format!("  notice    {} ({})\n", safe(&n.message), n.code));
    }
    out
}

/// The label form read and the identifier it names (SPEC.md section 2.1), e.g.
/// `element string, 01/04012345000016/21/SN1`, with its other attributes. The identifier is
/// percent-encoded and attributes come from the scan: both go through [`safe`] (an element
/// string's GS must not reach the terminal raw).
pub fn label_text(l: &Label) -> String {
    let mut text = l.form.as_str().replace('-', " ");
    match l.identifier() {
        Some(id) => text.push_str(&format!(", {}", safe(&id))),
        None => text.push_str(", no GS1 identifier"),
    }
    if !l.attributes.is_empty() {
        let attrs: Vec<String> = l
            .attributes
            .iter()
            .map(|(k, v)| format!("{}={}", safe(k), safe(v)))
            .collect();
        text.push_str(&format!(" ({})", attrs.join(", ")));
    }
    text
}

/// The CSV header of batch output: the shared column set (`CSV_COLUMNS`), the page's too.
pub fn csv_header() -> String {
    CSV_COLUMNS.map(csv_cell).join(",")
}

/// One CSV row of batch output: the input's line number, the verdict's cells, the input text.
/// A file of inputs has no scan time and no repeat count: those cells stay empty.
pub fn csv_row(line: usize, input: &str, v: &Verdict) -> String {
    let mut cells = vec![line.to_string(), String::new(), String::new()];
    cells.extend(VerdictJson::from(v).csv_cells());
    cells.push(input.to_owned());
    cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// The passport and one line per attestation result (SPEC.md sections 3.3 and 7), for the
/// terminal; attacker-controlled text goes through [`safe`].
pub fn attestations_text(v: &Verdict) -> String {
    use cellproof_core::AttestationOutcome as O;
    let mut out = String::new();
    if let Some(p) = &v.passport {
        out.push_str(&format!(
            "passport: version {}{}\n",
            p.version,
            p.passport_identifier
                .as_deref()
                .map(|id| format!(" ({})", safe(id)))
                .unwrap_or_default()
        ));
    }
    for a in &v.attestations {
        let what = if a.materials.is_empty() {
            a.topic.clone()
        } else {
            format!("{} {}", a.topic, a.materials.join(","))
        };
        let line = match a.outcome {
            O::Verified => format!(
                "verified   {} by {} ({}){}",
                safe(&what),
                safe(a.issuer_name.as_deref().unwrap_or_default()),
                safe(a.path.as_deref().unwrap_or_default()),
                a.valid_until
                    .map(|u| format!(", valid until {}", cellproof_core::format_rfc3339(u)))
                    .unwrap_or_default()
            ),
            O::Declared => format!("declared   {} (no attestation behind it)", safe(&what)),
            O::NotChecked => format!(
                "unchecked  {} ({})",
                safe(&what),
                a.code.unwrap_or("the attestation is not held")
            ),
            O::Failed => format!(
                "FAILED     {} ({})",
                safe(&what),
                a.code.unwrap_or("failed")
            ),
        };
        out.push_str("  ");
        out.push_str(&line);
        if let Some(s) = &a.subject {
            out.push_str(&format!(" [{}]", safe(s)));
        }
        out.push('\n');
    }
    out
}
