//! Printing verdicts for people (terminal) and machines (JSON, CSV).

use cellproof_core::{Outcome, StatusState, Verdict};
use serde_json::Value;

/// The verdict as JSON, with the CLI's warnings added.
pub fn verdict_json(v: &Verdict, warnings: &[String]) -> Value {
    let mut j = serde_json::to_value(v).unwrap_or(Value::Null);
    if let Some(m) = j.as_object_mut() {
        m.insert("warnings".into(), warnings.into());
    }
    j
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

/// A multi-line summary for a terminal.
pub fn verdict_text(v: &Verdict) -> String {
    let mut out = String::new();
    let headline = match v.overall {
        cellproof_core::Overall::Valid => "VALID: genuine battery passport credential".to_owned(),
        cellproof_core::Overall::Invalid => {
            format!("INVALID: not genuine ({})", v.code.unwrap_or_default())
        }
        cellproof_core::Overall::Unverifiable => {
            format!(
                "UNVERIFIABLE: cannot be checked with the data held ({})",
                v.code.unwrap_or_default()
            )
        }
    };
    out.push_str(&headline);
    out.push('\n');
    if let Some(m) = &v.message {
        out.push_str(&format!("  reason    {m}\n"));
    }
    if let Some(i) = &v.issuer {
        out.push_str(&format!(
            "  issuer    {} ({}), trust path: {}\n",
            i.name, i.id, i.path
        ));
    } else if let Some(c) = &v.credential {
        out.push_str(&format!("  claims    issuer {} (not trusted)\n", c.iss));
    }
    if let Some(c) = &v.credential {
        let bp = &c.bp;
        let get = |k: &str| {
            bp.get(k)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        };
        let mut facts = vec![c.sub.path()];
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
            d.id,
            age(d.age),
            if d.stale { " (STALE)" } else { "" }
        ));
    }
    for n in &v.notices {
        out.push_str(&format!("  notice    {} ({})\n", n.message, n.code));
    }
    out
}

/// CSV header for batch output.
pub const CSV_HEADER: &str =
    "line,overall,code,issuer,trust_path,gtin,serial,revocation,suspension,refresh,message";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One CSV row for batch output.
pub fn csv_row(line: usize, v: &Verdict) -> String {
    let status = |p: cellproof_core::Purpose| {
        v.status
            .iter()
            .find(|s| s.purpose == p)
            .map(|s| {
                serde_json::to_value(s.state)
                    .ok()
                    .and_then(|x| x.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    };
    let fields = [
        line.to_string(),
        v.overall.as_str().to_owned(),
        v.code.unwrap_or_default().to_owned(),
        v.issuer
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_default(),
        v.issuer
            .as_ref()
            .map(|i| i.path.clone())
            .unwrap_or_default(),
        v.credential
            .as_ref()
            .map(|c| c.sub.gtin.clone())
            .unwrap_or_default(),
        v.credential
            .as_ref()
            .map(|c| c.sub.serial.clone())
            .unwrap_or_default(),
        status(cellproof_core::Purpose::Revocation),
        status(cellproof_core::Purpose::Suspension),
        status(cellproof_core::Purpose::Refresh),
        v.message.clone().unwrap_or_default(),
    ];
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}
