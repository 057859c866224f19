//! The one JSON shape and the one CSV column set of a verdict, shared by every interface: the
//! CLI prints [`VerdictJson`] (`verify --json`, batch JSONL), the wasm binding hands the same
//! structure to the page, and both write CSV with [`CSV_COLUMNS`] and [`csv_cell`].
//! `docs/verdict-json.md` describes the shape.
//!
//! This is a DTO, separate from [`Verdict`], so the wire shape does not move when the core's
//! internals do. Interfaces translate `code` values, never `message` (an English sentence for
//! logs).

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::time::format_rfc3339;
use crate::verdict::{Outcome, Overall, StatusState, Verdict};

/// The largest integer a JavaScript number (an IEEE double) holds exactly: 2^53 - 1.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// An integer that serialises as a JSON number up to [`MAX_SAFE_INTEGER`] and as a decimal
/// string beyond it: a signed credential may carry any `u64` (a crafted `iat` of 2^64 - 1),
/// and a number above 2^53 can neither cross into JavaScript nor be read back exactly by most
/// JSON readers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonInt(pub u64);

impl Serialize for JsonInt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 <= MAX_SAFE_INTEGER {
            s.serialize_u64(self.0)
        } else {
            s.collect_str(&self.0)
        }
    }
}

/// `value` with every integer outside +-[`MAX_SAFE_INTEGER`] replaced by its decimal string
/// (the same rule as [`JsonInt`], for the claims kept as signed, e.g. `bp`), and every integral
/// float within it written as an integer (`4.0` as `4`): JavaScript has one number type, so
/// this is the only way the CLI's JSON text and the page's can be the same.
pub fn safe_integers(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let integral = n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_991.0)
                // Display of an integral f64 has no fraction ("4"), which parses exactly.
                .and_then(|f| format!("{f}").parse::<i64>().ok());
            integral.map_or(Value::Number(n), Value::from)
        }
        Value::Number(n) => {
            let too_big = n.as_u64().is_some_and(|u| u > MAX_SAFE_INTEGER)
                || n.as_i64()
                    .is_some_and(|i| i.unsigned_abs() > MAX_SAFE_INTEGER);
            if too_big {
                Value::String(n.to_string())
            } else {
                Value::Number(n)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(safe_integers).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, safe_integers(v))).collect())
        }
        other => other,
    }
}

/// One stage's entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageJson {
    /// `decode`, `signature`, `trust`, `binding`, `time`, `status`, `passport`, `attestations`.
    pub stage: &'static str,
    /// `passed`, `failed`, `skipped`, `not_checked`, `notice`.
    pub outcome: &'static str,
    /// Stable code of a failure or notice.
    pub code: Option<&'static str>,
}

/// The claims of the credential, as signed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimsJson {
    /// Issuer DID.
    pub iss: String,
    /// Signing time (Unix seconds).
    pub iat: JsonInt,
    /// Expiry (Unix seconds).
    pub exp: Option<JsonInt>,
    /// `01/{gtin}/21/{serial}`.
    pub sub: String,
    /// GTIN-14.
    pub gtin: String,
    /// Serial, percent-decoded.
    pub serial: String,
    /// `{listId}/{index}`.
    pub st: Option<String>,
    /// The public passport summary, members as signed (big integers as strings).
    pub bp: Map<String, Value>,
}

/// The Digital Link of the scanned URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkJson {
    /// GTIN-14.
    pub gtin: String,
    /// Serial.
    pub serial: String,
    /// `01/{gtin}/21/{serial}`.
    pub path: String,
}

/// The label form read and what it names (SPEC.md sections 2.1 and 7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LabelJson {
    /// `untp-link`, `cellproof`, `digital-link`, `digital-link-compressed`, `element-string`,
    /// `jws`.
    pub form: &'static str,
    /// `01/{gtin14}[/22/...][/10/...][/21/...]`, written as `sub` is; null for a UNTP link
    /// (and a bare credential that did not decode).
    pub identifier: Option<String>,
    /// Query attributes, or an element string's other AIs: `{AI or name: value}`.
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// A registration such as a BPNL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegJson {
    /// Scheme, e.g. `BPNL`.
    pub scheme: String,
    /// The identifier.
    pub id: String,
}

/// The issuer and its trust path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerJson {
    /// DID.
    pub id: String,
    /// Display name (from the trust list).
    pub name: String,
    /// Home ecosystem.
    pub eco: String,
    /// The pinned ecosystem that recognises `eco`, when trust is by recognition.
    pub recognized_by: Option<String>,
    /// "catena-x, recognised by ouranos".
    pub path: String,
    /// Registration.
    pub reg: Option<RegJson>,
    /// Roles.
    pub roles: Vec<String>,
    /// The key id that signed.
    pub kid: String,
}

/// One status purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusJson {
    /// `revocation`, `suspension`, `refresh`.
    pub purpose: &'static str,
    /// `ok`, `revoked`, `suspended`, `superseded`, `unknown`, `stale`, `not_checked`.
    pub state: &'static str,
    /// The list URL.
    pub list: String,
    /// The index.
    pub index: JsonInt,
    /// Seconds since the list's `validFrom`, when a list was used.
    pub age: Option<JsonInt>,
}

/// The age of one list used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgeJson {
    /// `trust_list` or `status_list`.
    pub kind: &'static str,
    /// Ecosystem or status list URL.
    pub id: String,
    /// `iat` or `validFrom`.
    pub issued: JsonInt,
    /// Seconds from issue to now.
    pub age: JsonInt,
    /// `exp` or `validUntil`.
    pub expires: Option<JsonInt>,
    /// Past `expires`.
    pub stale: bool,
}

impl From<&crate::trust::ListAge> for AgeJson {
    fn from(a: &crate::trust::ListAge) -> Self {
        AgeJson {
            kind: a.kind,
            id: a.id.clone(),
            issued: JsonInt(a.issued),
            age: JsonInt(a.age),
            expires: a.expires.map(JsonInt),
            stale: a.stale,
        }
    }
}

/// A verdict as every interface shows it (`docs/verdict-json.md`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerdictJson {
    /// `valid`, `invalid`, `unverifiable`.
    pub overall: &'static str,
    /// The deciding code, null when valid.
    pub code: Option<&'static str>,
    /// English sentence for logs only; interfaces translate `code`.
    pub message: Option<String>,
    /// One entry per stage, in SPEC.md section 7 order.
    pub stages: Vec<StageJson>,
    /// The claims, once decoded (also on failure).
    pub claims: Option<ClaimsJson>,
    /// The Digital Link of the scanned URL.
    pub scanned: Option<LinkJson>,
    /// The issuer, when found in trust data.
    pub issuer: Option<IssuerJson>,
    /// Status per purpose.
    pub status: Vec<StatusJson>,
    /// Notice codes.
    pub notices: Vec<&'static str>,
    /// Every list used and its age.
    pub data: Vec<AgeJson>,
    /// The time used as now, after the clock floor (Unix seconds).
    pub now: JsonInt,
    /// The full passport, when its chain was given and verified (SPEC.md section 3.1):
    /// `version`, `passportIdentifier`, the SHA-256 `digests` of its versions, `subject`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passport: Option<Value>,
    /// One result per attestation listing and declared claim (SPEC.md sections 3.3 and 7):
    /// `topic`, `materials`, `subject`, `outcome` (`verified`, `declared`, `not_checked`,
    /// `failed`), `code`, `issuer`, `issuerName`, `eco`, `path`, `validUntil`, `digest`.
    pub attestations: Vec<Value>,
    /// The label form read (SPEC.md section 2.1), null when the scanned text was no label.
    pub label: Option<LabelJson>,
    /// Where the credential the verdict is about came from (SPEC.md section 7, 1.2):
    /// `{"kind": "resolved", "url"}` after online resolution; absent on 1.1 verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::verdict::Source>,
    /// The issuer's DID when no accepted trust list names it (`did:web`, SPEC.md 2.2).
    #[serde(rename = "issuerDid", skip_serializing_if = "Option::is_none")]
    pub issuer_did: Option<String>,
    /// The battery's lifecycle (SPEC.md 1.2 sections 3.4 and 7): `{"status", "event"?,
    /// "successor"?, "responsibleParty"?, "eventDate"?}`, when a lifecycle list was held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<crate::verdict::LifecycleInfo>,
    /// A successor passport's originals (SPEC.md 1.2 sections 3.4 and 7): `{"id",
    /// "passportIdentifier", "outcome", "code"?, "issuer"?, "issuerName"?}` each; absent when
    /// the passport lists none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<crate::lineage::LineageEntry>,
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
        Outcome::NotChecked => "not_checked",
        Outcome::Notice => "notice",
    }
}

fn state_str(s: StatusState) -> &'static str {
    match s {
        StatusState::Ok => "ok",
        StatusState::Revoked => "revoked",
        StatusState::Suspended => "suspended",
        StatusState::Superseded => "superseded",
        StatusState::Unknown => "unknown",
        StatusState::Stale => "stale",
        StatusState::NotChecked => "not_checked",
        StatusState::Ceased => "ceased",
    }
}

impl From<&Verdict> for VerdictJson {
    fn from(v: &Verdict) -> Self {
        VerdictJson {
            overall: match v.overall {
                Overall::Valid => "valid",
                Overall::Invalid => "invalid",
                Overall::Unverifiable => "unverifiable",
            },
            code: v.code,
            message: v.message.clone(),
            stages: v
                .stages
                .iter()
                .map(|s| StageJson {
                    stage: s.stage.name(),
                    outcome: outcome_str(s.outcome),
                    code: s.code,
                })
                .collect(),
            claims: v.credential.as_ref().map(|c| ClaimsJson {
                iss: c.iss.clone(),
                iat: JsonInt(c.iat),
                exp: c.exp.map(JsonInt),
                sub: c.sub.path(),
                gtin: c.sub.gtin.clone(),
                serial: c.sub.serial.clone(),
                st: c.st.as_ref().map(|st| format!("{}/{}", st.list, st.index)),
                bp: c
                    .bp
                    .iter()
                    .map(|(k, x)| (k.clone(), safe_integers(x.clone())))
                    .collect(),
            }),
            scanned: v.scanned.as_ref().map(|l| LinkJson {
                path: l.path(),
                gtin: l.gtin.clone(),
                serial: l.serial.clone(),
            }),
            issuer: v.issuer.as_ref().map(|i| IssuerJson {
                id: i.id.clone(),
                name: i.name.clone(),
                eco: i.eco.clone(),
                recognized_by: i.recognized_by.clone(),
                path: i.path.clone(),
                reg: i.reg.as_ref().map(|(scheme, id)| RegJson {
                    scheme: scheme.clone(),
                    id: id.clone(),
                }),
                roles: i.roles.clone(),
                kid: i.kid.clone(),
            }),
            status: v
                .status
                .iter()
                .map(|s| StatusJson {
                    purpose: s.purpose.as_str(),
                    state: state_str(s.state),
                    list: s.list.clone(),
                    index: JsonInt(s.index),
                    age: s.age.map(JsonInt),
                })
                .collect(),
            notices: v.notices.iter().map(|n| n.code).collect(),
            data: v.data.iter().map(AgeJson::from).collect(),
            now: JsonInt(v.now),
            passport: v
                .passport
                .as_ref()
                .and_then(|p| serde_json::to_value(p).ok())
                .map(safe_integers),
            attestations: v
                .attestations
                .iter()
                .filter_map(|a| serde_json::to_value(a).ok())
                .map(safe_integers)
                .collect(),
            label: v.label.as_ref().map(|l| LabelJson {
                form: l.form.as_str(),
                identifier: l.identifier(),
                attributes: l.attributes.clone(),
            }),
            source: v.source.clone(),
            issuer_did: v.issuer_did.clone(),
            lifecycle: v.lifecycle.clone(),
            lineage: v.lineage.clone(),
        }
    }
}

/// The CSV columns of a verdict export, the CLI's batch CSV and the page's session CSV alike.
/// `line`, `scanned_at`, `seen` and `input` describe the scan (the CLI knows no scan time or
/// repeat count and leaves those two empty); the others come from [`VerdictJson::csv_cells`].
pub const CSV_COLUMNS: [&str; 19] = [
    "line",
    "scanned_at",
    "seen",
    "overall",
    "code",
    "notices",
    "issuer",
    "issuer_id",
    "trust_path",
    "gtin",
    "serial",
    "revocation",
    "suspension",
    "refresh",
    "attestations",
    "data_age_s",
    "data_stale",
    "verified_at",
    "input",
];

/// The verdict's columns of [`CSV_COLUMNS`], `overall` to `verified_at`, in order.
pub const CSV_VERDICT_COLUMNS: std::ops::Range<usize> = 3..18;

impl VerdictJson {
    /// The `attestations` cell: `{verified}/{listed}` over the attestations the passport lists
    /// (declared claims have none behind them and are not counted), e.g. `3/4`; empty when no
    /// passport was checked.
    pub fn attestations_cell(&self) -> String {
        attestations_cell(&self.attestations)
    }

    /// The cells of the columns `overall` ..= `verified_at` of [`CSV_COLUMNS`], unescaped: the
    /// rule of [`csv_cells_of_json`], applied to this verdict's JSON.
    pub fn csv_cells(&self) -> Vec<String> {
        csv_cells_of_json(&serde_json::to_value(self).unwrap_or_default())
    }
}

fn attestations_cell(attestations: &[Value]) -> String {
    fn outcome(a: &Value) -> &str {
        a.get("outcome").and_then(Value::as_str).unwrap_or("")
    }
    let listed = attestations
        .iter()
        .filter(|a| outcome(a) != "declared")
        .count();
    let verified = attestations
        .iter()
        .filter(|a| outcome(a) == "verified")
        .count();
    if attestations.is_empty() {
        String::new()
    } else {
        format!("{verified}/{listed}")
    }
}

/// `cell`, or when it is empty what `fallback` gives.
fn cell_or(cell: String, fallback: Option<String>) -> String {
    if cell.is_empty() {
        fallback.unwrap_or_default()
    } else {
        cell
    }
}

/// The value of `ai` (`01`, `21`) in the verdict's `label.identifier`, percent-decoded: the
/// battery a label without an embedded credential names (SPEC.md section 2.1, a plain Digital
/// Link or an element string), whose verdict has no `claims` and no `scanned` to take it from.
/// The identifier is written as `sub` is, `01/{gtin14}[/22/..][/10/..][/21/..]`, AI and value
/// alternating; a value that does not percent-decode to UTF-8 gives nothing.
fn label_ai(v: &Value, ai: &str) -> Option<String> {
    let id = v.get("label")?.get("identifier")?.as_str()?;
    let parts: Vec<&str> = id.split('/').collect();
    let value = parts.chunks(2).find(|p| p.first() == Some(&ai))?.get(1)?;
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = value
            .get(i + 1..i + 3)
            .filter(|h| c == b'%' && h.bytes().all(|x| x.is_ascii_hexdigit()));
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The cells of the columns `overall` ..= `verified_at` of [`CSV_COLUMNS`], unescaped, of a
/// verdict in its JSON form (`docs/verdict-json.md`): what `cellproof verify --json` prints and
/// what the page stored when it scanned (it exports the session later, through the binding's
/// `csvRow`). One rule for the CLI's batch CSV and the page's session CSV. Integers may be JSON
/// numbers or decimal strings ([`JsonInt`]); a member that is missing or of another type gives
/// an empty cell (`data_stale`: `no`).
pub fn csv_cells_of_json(v: &Value) -> Vec<String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let int = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        Some(n) => n.as_u64(),
        None => None,
    };
    let list = |key: &str| {
        v.get(key)
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
    };
    let status = |purpose: &str| {
        text(
            list("status")
                .iter()
                .find(|s| s.get("purpose").and_then(Value::as_str) == Some(purpose))
                .and_then(|s| s.get("state")),
        )
    };
    let claims = v.get("claims").filter(|c| c.is_object());
    let issuer = v.get("issuer").filter(|i| i.is_object());
    // The signed claims' link, else the scanned URL's (a label that did not decode).
    let link = claims.or_else(|| v.get("scanned").filter(|l| l.is_object()));
    let notices: Vec<&str> = list("notices").iter().filter_map(Value::as_str).collect();
    let data = list("data");
    let oldest = data.iter().filter_map(|d| int(d.get("age"))).max();
    vec![
        text(v.get("overall")),
        text(v.get("code")),
        notices.join(" "),
        text(issuer.and_then(|i| i.get("name"))),
        text(
            issuer
                .and_then(|i| i.get("id"))
                .or_else(|| claims.and_then(|c| c.get("iss"))),
        ),
        text(issuer.and_then(|i| i.get("path"))),
        cell_or(text(link.and_then(|l| l.get("gtin"))), label_ai(v, "01")),
        cell_or(text(link.and_then(|l| l.get("serial"))), label_ai(v, "21")),
        status("revocation"),
        status("suspension"),
        status("refresh"),
        attestations_cell(list("attestations")),
        oldest.map(|a| a.to_string()).unwrap_or_default(),
        if data
            .iter()
            .any(|d| d.get("stale") == Some(&Value::Bool(true)))
        {
            "yes"
        } else {
            "no"
        }
        .to_owned(),
        int(v.get("now")).map(format_rfc3339).unwrap_or_default(),
    ]
}

/// One CSV cell, safe to open in a spreadsheet: control characters (C0, DEL, C1) and bidi
/// controls written as `\u{..}` escapes, a cell starting with `=`, `+`, `-` or `@` prefixed
/// with `'` so it is never read as a formula (OWASP "CSV injection"; a scanned QR code is
/// attacker text), and every cell quoted with `"` doubled. The page's session CSV uses it
/// through the binding (`csvCell`, `csvRow`).
pub fn csv_cell(s: &str) -> String {
    let text = escape_controls(s);
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    format!(
        "\"{}{}\"",
        if formula { "'" } else { "" },
        text.replace('"', "\"\"")
    )
}

/// True for the characters a terminal or a viewer may act on instead of showing: C0 controls,
/// DEL, C1 controls (U+0080..U+009F, 8-bit CSI among them) and the Unicode bidi controls that
/// reorder what is shown (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069).
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every [`is_control`] character written as `\u{hex}`: what a terminal, a CSV cell
/// and a log line show of attacker-controlled text.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(is_control) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_beyond_two_to_the_53_become_strings() {
        let j = serde_json::to_value(JsonInt(MAX_SAFE_INTEGER)).unwrap();
        assert_eq!(j, serde_json::json!(9_007_199_254_740_991u64));
        let j = serde_json::to_value(JsonInt(MAX_SAFE_INTEGER + 2)).unwrap();
        assert_eq!(j, serde_json::json!("9007199254740993"));
        let v =
            safe_integers(serde_json::json!({"a": [u64::MAX, -9_007_199_254_740_993i64, 1.5, 7]}));
        assert_eq!(
            v,
            serde_json::json!({"a": ["18446744073709551615", "-9007199254740993", 1.5, 7]})
        );
        let v = safe_integers(serde_json::json!([4.0, -2.0, 1e300, 0.5]));
        assert_eq!(v.to_string(), "[4,-2,1e+300,0.5]");
    }

    #[test]
    fn csv_cells_of_a_stored_verdict_json() {
        // What the page stored at scan time: integers beyond 2^53 as strings, the scanned link
        // when the claims did not decode, members of other types as empty cells.
        let v = serde_json::json!({
            "overall": "unverifiable", "code": "issuer_unknown", "notices": ["clock_floor", 7],
            "claims": null, "issuer": null,
            "scanned": {"gtin": "04012345000016", "serial": "SN1", "path": "01/04012345000016/21/SN1"},
            "status": [{"purpose": "revocation", "state": "stale"}, {"purpose": "refresh"}],
            "data": [{"age": 5, "stale": false}, {"age": "9007199254740993", "stale": true}],
            "attestations": [{"outcome": "verified"}, {"outcome": "declared"}, {"outcome": "failed"}],
            "now": 1_700_000_000u64,
        });
        assert_eq!(
            csv_cells_of_json(&v),
            [
                "unverifiable",
                "issuer_unknown",
                "clock_floor",
                "",
                "",
                "",
                "04012345000016",
                "SN1",
                "stale",
                "",
                "",
                "1/2",
                "9007199254740993",
                "yes",
                "2023-11-14T22:13:20Z",
            ]
        );
        // Not a verdict at all: empty cells, never a panic.
        let empty = csv_cells_of_json(&Value::Null);
        assert_eq!(empty.len(), CSV_VERDICT_COLUMNS.len());
        assert!(empty.iter().all(|c| c.is_empty() || c == "no"));
    }

    #[test]
    fn csv_cells_of_a_label_without_a_credential_name_its_battery() {
        // SPEC.md 2.1: a plain Digital Link or element string is unverifiable
        // `no_embedded_credential` with neither claims nor scanned link; the gtin and serial
        // cells come from `label.identifier` (values percent-decoded, as `scanned` holds them).
        let v = serde_json::json!({
            "overall": "unverifiable", "code": "no_embedded_credential",
            "claims": null, "scanned": null,
            "label": {"form": "element-string",
                      "identifier": "01/04012345000016/10/L%2F1/21/A%2FB%25%2", "attributes": {}},
        });
        let cells = csv_cells_of_json(&v);
        assert_eq!(
            (cells[6].as_str(), cells[7].as_str()),
            ("04012345000016", "A/B%%2")
        );
        // A model-level label names no serial; a UNTP link names no identifier at all.
        let model = serde_json::json!({"label": {"form": "digital-link", "identifier": "01/04012345000016"}});
        let cells = csv_cells_of_json(&model);
        assert_eq!(
            (cells[6].as_str(), cells[7].as_str()),
            ("04012345000016", "")
        );
        let untp = serde_json::json!({"label": {"form": "untp-link", "identifier": null}});
        let cells = csv_cells_of_json(&untp);
        assert_eq!((cells[6].as_str(), cells[7].as_str()), ("", ""));
        // The signed claims still decide when there are any.
        let claimed = serde_json::json!({
            "claims": {"gtin": "09506000134352", "serial": "S9"},
            "label": {"form": "cellproof", "identifier": "01/04012345000016/21/X"},
        });
        let cells = csv_cells_of_json(&claimed);
        assert_eq!(
            (cells[6].as_str(), cells[7].as_str()),
            ("09506000134352", "S9")
        );
    }

    #[test]
    fn csv_cells_cannot_start_a_formula() {
        for (raw, cell) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            ("+1", "\"'+1\""),
            ("-1", "\"'-1\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\t=1", "\"\\u{9}=1\""),
            ("plain", "\"plain\""),
            ("", "\"\""),
            ("a\u{1b}[31mb\u{202e}", "\"a\\u{1b}[31mb\\u{202e}\""),
        ] {
            assert_eq!(csv_cell(raw), cell, "{raw:?}");
        }
    }
}
