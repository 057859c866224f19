//! Label forms (SPEC.md section 2.1): what a scanned text is, before any credential is read.
//!
//! [`Label::parse`] recognises, in the spec's order, a UNTP verification link, the Cellproof
//! label, any uncompressed GS1 Digital Link URI, a GS1 element string (`]d2`/`]Q3` with GS
//! separators, or `(01)...(21)...`) and a bare JWS or numeric credential. It reads the GS1
//! identifier (GTIN padded to 14 digits, qualifiers 22, 10, 21) and the attributes, and keeps
//! the embedded credential text, if any, for `Scan::from_label` to decode. A compressed Digital
//! Link (form 4) is decompressed by `gs1_compress.rs` and then read as form 3 is.

use std::collections::BTreeMap;

use crate::credential::MAX_SCAN;
use crate::gs1::{check_gtin, encode_value, is_cset82, pct_decode, DigitalLink, MAX_SERIAL};
use crate::Error;

/// Longest value of a variable-length AI in an element string or query (GS1 General
/// Specifications: the longest variable-length AI data field, e.g. AI 8110, is 70; AI 90
/// allows 30; 90 is a bound above every one of them).
const MAX_AI_VALUE: usize = 90;

/// The group separator (ASCII 29) that ends a variable-length AI in an element string.
const GS: u8 = 0x1d;

/// Which label form a scan was (SPEC.md section 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelForm {
    /// A UNTP verification link (`?q={"payload":{...}}`).
    UntpLink,
    /// The Cellproof label: `/01/{gtin14}/21/{serial}#{credential}` (SPEC.md section 2).
    Cellproof,
    /// Any other uncompressed GS1 Digital Link URI.
    DigitalLink,
    /// A compressed GS1 Digital Link URI, fully or after `/01/{gtin}/` (partially).
    DigitalLinkCompressed,
    /// A GS1 element string from a DataMatrix or GS1 QR scanner.
    ElementString,
    /// A bare compact JWS or numeric credential, without a URL.
    Jws,
}

impl LabelForm {
    /// The stable name in the verdict's `label.form`.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelForm::UntpLink => "untp-link",
            LabelForm::Cellproof => "cellproof",
            LabelForm::DigitalLink => "digital-link",
            LabelForm::DigitalLinkCompressed => "digital-link-compressed",
            LabelForm::ElementString => "element-string",
            LabelForm::Jws => "jws",
        }
    }
}

/// The `payload` of a UNTP verification link (SPEC.md section 2.1, item 1).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UntpPayload {
    /// Where the credential is (an http(s) URL).
    pub uri: String,
    /// AES-256 key, 64 hex digits, when the credential is encrypted.
    pub key: Option<String>,
    /// Hex SHA-256 of the credential, when the link commits to it.
    pub hash: Option<String>,
}

/// A scanned label: its form, the GS1 identifier it names and the credential it embeds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    /// The form read.
    pub form: LabelForm,
    /// GTIN-14, check digit verified (padded from GTIN-8/12/13).
    pub gtin: Option<String>,
    /// AI 22, consumer product variant, percent-decoded.
    pub cpv: Option<String>,
    /// AI 10, batch or lot, percent-decoded.
    pub lot: Option<String>,
    /// AI 21, serial, percent-decoded.
    pub serial: Option<String>,
    /// Query attributes of a URL, or the other AIs of an element string.
    pub attributes: BTreeMap<String, String>,
    /// The URL without its fragment, when the label is a URL.
    pub url: Option<String>,
    /// The embedded credential as scanned (compact JWS or numeric), if any.
    #[serde(skip)]
    pub credential: Option<String>,
    /// The UNTP link's payload.
    pub untp: Option<UntpPayload>,
}

impl Label {
    fn new(form: LabelForm) -> Self {
        Label {
            form,
            gtin: None,
            cpv: None,
            lot: None,
            serial: None,
            attributes: BTreeMap::new(),
            url: None,
            credential: None,
            untp: None,
        }
    }

    /// Reads a scanned text (SPEC.md section 2.1, forms tried in the spec's order).
    pub fn parse(input: &str) -> Result<Label, Error> {
        let input = input.trim();
        if input.len() > MAX_SCAN {
            return Err(Error::InputTooLarge {
                what: "scanned text",
                limit: MAX_SCAN,
            });
        }
        // ISO/IEC 15424 symbology identifiers: `]d2`/`]Q3` announce GS1 data, `]d1`/`]Q1`
        // plain text, read as anything else is (a URL, usually).
        if let Some(rest) = input.strip_prefix("]d2").or(input.strip_prefix("]Q3")) {
            return parse_element_string(rest.as_bytes());
        }
        let input = input
            .strip_prefix("]d1")
            .or(input.strip_prefix("]Q1"))
            .unwrap_or(input);
        if input.starts_with(']') {
            return Err(Error::ElementStringInvalid {
                reason: "a symbology identifier other than ]d1, ]d2, ]Q1 or ]Q3",
            });
        }
        if input.starts_with('(') {
            return parse_bracketed(input);
        }
        let lower = input.get(..8).unwrap_or(input).to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            return parse_url(input);
        }
        if input.contains("://") {
            return Err(Error::UrlInvalid {
                reason: "only http and https URLs carry credentials",
            });
        }
        let mut label = Label::new(LabelForm::Jws);
        label.credential = Some(input.to_owned());
        Ok(label)
    }

    /// The identifier as `sub` is written (SPEC.md sections 2 and 2.1):
    /// `01/{gtin14}[/22/...][/10/...][/21/...]`, values percent-encoded where GS1 requires.
    pub fn identifier(&self) -> Option<String> {
        let gtin = self.gtin.as_ref()?;
        let mut out = format!("01/{gtin}");
        for (ai, v) in [("22", &self.cpv), ("10", &self.lot), ("21", &self.serial)] {
            if let Some(v) = v {
                out.push_str(&format!("/{ai}/{}", encode_value(v)));
            }
        }
        Some(out)
    }

    /// The battery the label names (GTIN and serial), when it names AI 21.
    pub fn item(&self) -> Option<DigitalLink> {
        Some(DigitalLink {
            gtin: self.gtin.clone()?,
            serial: self.serial.clone()?,
        })
    }

    /// The error of a label that carries no credential to verify offline (SPEC.md 2.1): a
    /// label without AI 21 is `item_not_serialised`, which takes precedence; otherwise
    /// `no_embedded_credential` naming what the label names.
    pub fn unverifiable_offline(&self) -> Error {
        let named = self
            .identifier()
            .or_else(|| self.untp.as_ref().map(|u| u.uri.clone()))
            .unwrap_or_default();
        if self.gtin.is_some() && self.serial.is_none() {
            Error::ItemNotSerialised { identifier: named }
        } else {
            Error::NoEmbeddedCredential { identifier: named }
        }
    }
}

/// A GS1 qualifier value: 1 to 20 characters of set 82 (SPEC.md section 2.1, item 3).
fn qualifier(bytes: &[u8], ai: &str) -> Result<String, Error> {
    let ok = !bytes.is_empty() && bytes.len() <= MAX_SERIAL && bytes.iter().all(|&c| is_cset82(c));
    match (ok, ai) {
        (true, _) => Ok(String::from_utf8_lossy(bytes).into_owned()),
        (false, "21") => Err(Error::SerialInvalid),
        (false, _) => Err(Error::DigitalLinkInvalid {
            reason: "a qualifier (AI 22 or 10) is not 1 to 20 characters of GS1 set 82",
        }),
    }
}

/// GTIN-8, -12, -13 or -14 with a valid check digit, padded to 14 digits.
pub(crate) fn gtin14(s: &str) -> Result<String, Error> {
    if !matches!(s.len(), 8 | 12 | 13 | 14) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::GtinInvalid);
    }
    let padded = format!("{s:0>14}");
    check_gtin(&padded)?;
    Ok(padded)
}

/// Stores a qualifier AI read from a path or an element string.
fn set_qualifier(label: &mut Label, ai: &str, value: String) {
    match ai {
        "22" => label.cpv = Some(value),
        "10" => label.lot = Some(value),
        _ => label.serial = Some(value),
    }
}

/// True for a fragment that holds a credential (SPEC.md 2.1, fragment rule): only digits, or
/// containing a `.`. Any other fragment (`#chapter1`) is ignored.
fn is_credential_fragment(f: &str) -> bool {
    !f.is_empty() && (f.bytes().all(|b| b.is_ascii_digit()) || f.contains('.'))
}

/// Query attributes, percent-decoded where that gives UTF-8, else kept as written; the first
/// of a repeated name is kept.
fn query_attributes(query: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let dec = |s: &str| {
            pct_decode(s, true)
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_else(|| s.to_owned())
        };
        out.entry(dec(k)).or_insert_with(|| dec(v));
    }
    out
}

/// Forms 1, 2, 3 and 4 of an http(s) URL.
fn parse_url(input: &str) -> Result<Label, Error> {
    let (base, fragment) = input.split_once('#').unwrap_or((input, ""));
    let after_scheme = base.split_once("://").map(|(_, r)| r).unwrap_or_default();
    let (authority, path_query) = match after_scheme.find(['/', '?']) {
        Some(i) => after_scheme.split_at(i),
        None => (after_scheme, ""),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) {
        return Err(Error::UrlInvalid {
            reason: "no usable host",
        });
    }
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    if let Some(untp) = untp_payload(query)? {
        let mut label = Label::new(LabelForm::UntpLink);
        label.url = Some(base.to_owned());
        label.untp = Some(untp);
        return Ok(label);
    }
    // Form 4: decompressed, then read as form 3 with the decompressed path and attributes; the
    // label's URL stays the one scanned (a resolver is asked at the label's own URL, 2.2).
    if let Some(expanded) = crate::gs1_compress::expand(path)? {
        let mut label = digital_link(&expanded.path(), &expanded.query(query), fragment)?;
        label.form = LabelForm::DigitalLinkCompressed;
        label.url = Some(base.to_owned());
        return Ok(label);
    }
    let mut label = digital_link(path, query, fragment)?;
    label.url = Some(base.to_owned());
    Ok(label)
}

/// Form 3, an uncompressed Digital Link's path, query and fragment (and form 2 when it is
/// exactly the Cellproof label).
fn digital_link(path: &str, query: &str, fragment: &str) -> Result<Label, Error> {
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let Some(at) = segs.iter().position(|s| *s == "01") else {
        return Err(Error::DigitalLinkInvalid {
            reason: "the path names no AI 01",
        });
    };
    let rest = segs.get(at + 1..).unwrap_or_default();
    let gtin_seg = rest.first().ok_or(Error::DigitalLinkInvalid {
        reason: "no GTIN after /01/",
    })?;
    let mut label = Label::new(LabelForm::DigitalLink);
    label.gtin = Some(gtin14(gtin_seg)?);
    // Qualifiers in GS1's order 22, 10, 21, each at most once; nothing else in the path. A
    // second `/01/` is refused rather than read as either item (an attacker's two labels in
    // one URL).
    let mut last = 0;
    let pairs = rest.get(1..).unwrap_or_default();
    for pair in pairs.chunks(2) {
        let [ai, value] = pair else {
            return Err(Error::DigitalLinkInvalid {
                reason: "a path segment without its value",
            });
        };
        let order = match *ai {
            "22" => 1,
            "10" => 2,
            "21" => 3,
            "01" => {
                return Err(Error::DigitalLinkInvalid {
                    reason: "a second /01/ in the path",
                })
            }
            _ => {
                return Err(Error::DigitalLinkInvalid {
                    reason: "only the qualifiers 22, 10 and 21 may follow /01/{gtin}",
                })
            }
        };
        if order <= last {
            return Err(Error::DigitalLinkInvalid {
                reason: "qualifiers out of GS1 order (22, 10, 21) or repeated",
            });
        }
        last = order;
        let bad = || match *ai {
            "21" => Error::SerialInvalid,
            _ => Error::DigitalLinkInvalid {
                reason: "a qualifier is badly percent-encoded",
            },
        };
        let decoded = pct_decode(value, false).ok_or_else(bad)?;
        set_qualifier(&mut label, ai, qualifier(&decoded, ai)?);
    }
    label.attributes = query_attributes(query);
    if is_credential_fragment(fragment) {
        label.credential = Some(fragment.to_owned());
        // The Cellproof label (SPEC.md section 2) is exactly /01/{gtin14}/21/{serial}.
        if gtin_seg.len() == 14 && label.cpv.is_none() && label.lot.is_none() && last == 3 {
            label.form = LabelForm::Cellproof;
        }
    }
    Ok(label)
}

/// The UNTP payload of a query whose one `q` parameter decodes to a JSON object with a
/// `payload` member; `None` when the query is no UNTP link (then `q` is an ordinary
/// attribute). A `payload` that is not `{"uri": http(s) URL, "key"?: 64 hex, "hash"?: 64 hex}`
/// is `untp_link_invalid` (SPEC.md section 2.1, item 1).
fn untp_payload(query: &str) -> Result<Option<UntpPayload>, Error> {
    let qs: Vec<&str> = query
        .split('&')
        .filter_map(|p| p.strip_prefix("q="))
        .collect();
    let [q] = qs.as_slice() else {
        return Ok(None);
    };
    let Some(obj) = pct_decode(q, true).and_then(|b| crate::json::parse_object(&b).ok()) else {
        return Ok(None);
    };
    let Some(payload) = obj.get("payload") else {
        return Ok(None);
    };
    let bad = |reason| Error::UntpLinkInvalid { reason };
    let p = payload.as_object().ok_or(bad("payload is not an object"))?;
    let uri = p
        .get("uri")
        .and_then(|u| u.as_str())
        .ok_or(bad("payload.uri is not a string"))?;
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    let host_ok = uri
        .split_once("://")
        .and_then(|(_, r)| r.split(['/', '?', '#']).next())
        .is_some_and(|h| !h.is_empty() && !h.contains('@'));
    let clean = uri.bytes().all(|b| b.is_ascii_graphic());
    if !(lower.starts_with("https://") || lower.starts_with("http://")) || !host_ok || !clean {
        return Err(bad("payload.uri is not an http(s) URL"));
    }
    let hex64 = |name: &str| -> Result<Option<String>, Error> {
        match p.get(name) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                Some(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    Ok(Some(s.to_ascii_lowercase()))
                }
                _ => Err(bad("payload.key and payload.hash are 64 hex digits")),
            },
        }
    };
    Ok(Some(UntpPayload {
        uri: uri.to_owned(),
        key: hex64("key")?,
        hash: hex64("hash")?,
    }))
}

/// Digits of the AI whose first two digits are `p` (GS1 General Specifications 3.2), or `None`
/// for a prefix that names no AI.
fn ai_digits(p: &[u8]) -> Option<usize> {
    let n = std::str::from_utf8(p).ok()?.parse::<u8>().ok()?;
    match n {
        0..=4 | 10..=22 | 30 | 37 | 90..=99 => Some(2),
        23..=25 | 40..=42 | 71 => Some(3),
        31..=36 | 39 | 43 | 70 | 72 | 80..=82 => Some(4),
        _ => None,
    }
}

/// Data length of a predefined-length AI, by its first two digits (GS1 General
/// Specifications, figure 7.8.5-1: "element strings with predefined length"). All numeric.
fn fixed_len(p: &[u8]) -> Option<usize> {
    match p {
        b"00" => Some(18),
        b"01" | b"02" | b"03" => Some(14),
        b"04" => Some(16),
        b"11" | b"12" | b"13" | b"14" | b"15" | b"16" | b"17" | b"18" | b"19" => Some(6),
        b"20" => Some(2),
        b"31" | b"32" | b"33" | b"34" | b"35" | b"36" => Some(6),
        b"41" => Some(13),
        _ => None,
    }
}

fn es_bad(reason: &'static str) -> Error {
    Error::ElementStringInvalid { reason }
}

/// A variable-length AI value: 1 to [`MAX_AI_VALUE`] characters of set 82.
fn check_variable(v: &[u8]) -> Result<(), Error> {
    if v.is_empty() || v.len() > MAX_AI_VALUE || !v.iter().all(|&c| is_cset82(c)) {
        return Err(es_bad(
            "an AI value is empty, too long or outside GS1 set 82",
        ));
    }
    Ok(())
}

/// `]d2`/`]Q3` data: AIs, variable-length values ended by GS unless last, predefined-length
/// values exactly as long as GS1 fixes them (SPEC.md section 2.1, item 5).
fn parse_element_string(b: &[u8]) -> Result<Label, Error> {
    let mut ais: Vec<(String, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let prefix = b.get(i..i + 2).ok_or(es_bad("an AI is cut short"))?;
        let n = ai_digits(prefix).ok_or(es_bad("an unknown AI"))?;
        let ai = b.get(i..i + n).ok_or(es_bad("an AI is cut short"))?;
        if !ai.iter().all(u8::is_ascii_digit) {
            return Err(es_bad("an unknown AI"));
        }
        i += n;
        let value = if let Some(len) = fixed_len(prefix) {
            let v = b
                .get(i..i + len)
                .ok_or(es_bad("a fixed-length AI is cut short"))?;
            // A GS (or anything else) inside a predefined-length value is refused, never
            // read as a shorter value.
            if !v.iter().all(u8::is_ascii_digit) {
                return Err(es_bad("a fixed-length AI value is not all digits"));
            }
            i += len;
            // A GS after a predefined-length AI is unnecessary but harmless.
            if b.get(i) == Some(&GS) {
                i += 1;
            }
            v
        } else {
            let end = b
                .get(i..)
                .and_then(|r| r.iter().position(|&c| c == GS))
                .map_or(b.len(), |p| i + p);
            let v = b.get(i..end).unwrap_or_default();
            if v.len() > MAX_AI_VALUE {
                return Err(es_bad("an AI value is too long"));
            }
            i = end + 1;
            v
        };
        ais.push((String::from_utf8_lossy(ai).into_owned(), value.to_vec()));
    }
    element_label(ais)
}

/// The human-readable element string `(01)04012345000016(21)SERIAL`.
fn parse_bracketed(s: &str) -> Result<Label, Error> {
    let b = s.as_bytes();
    // An AI opener at `i`: `(`, 2 to 4 digits, `)`; returns the AI and the index after `)`.
    let opener = |i: usize| -> Option<(&[u8], usize)> {
        if b.get(i) != Some(&b'(') {
            return None;
        }
        let close = (i + 3..=i + 5).find(|&j| b.get(j) == Some(&b')'))?;
        let ai = b.get(i + 1..close)?;
        ai.iter().all(u8::is_ascii_digit).then_some((ai, close + 1))
    };
    let mut ais: Vec<(String, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let (ai, start) = opener(i).ok_or(es_bad("expected (AI) before each value"))?;
        let prefix = ai.get(..2).ok_or(es_bad("an unknown AI"))?;
        if ai_digits(prefix) != Some(ai.len()) {
            return Err(es_bad("an unknown AI"));
        }
        let value = if let Some(len) = fixed_len(prefix) {
            let v = b
                .get(start..start + len)
                .ok_or(es_bad("a fixed-length AI is cut short"))?;
            if !v.iter().all(u8::is_ascii_digit)
                || !(start + len == b.len() || b.get(start + len) == Some(&b'('))
            {
                return Err(es_bad("a fixed-length AI value has the wrong length"));
            }
            i = start + len;
            v
        } else {
            // The value ends at the next `(AI)` opener (set 82 allows parentheses inside).
            let end = (start..b.len())
                .find(|&j| opener(j).is_some())
                .unwrap_or(b.len());
            let v = b.get(start..end).unwrap_or_default();
            if v.len() > MAX_AI_VALUE {
                return Err(es_bad("an AI value is too long"));
            }
            i = end;
            v
        };
        ais.push((String::from_utf8_lossy(ai).into_owned(), value.to_vec()));
    }
    element_label(ais)
}

/// An element string's AIs as a label: AI 01 first, 22/10/21 read as in a Digital Link, the
/// others kept as attributes; an AI given twice is refused.
fn element_label(ais: Vec<(String, Vec<u8>)>) -> Result<Label, Error> {
    let mut it = ais.into_iter();
    let (first, gtin) = it.next().ok_or(es_bad("no AI"))?;
    if first != "01" {
        return Err(es_bad("an element string must start with AI 01"));
    }
    let mut label = Label::new(LabelForm::ElementString);
    label.gtin = Some(gtin14(&String::from_utf8_lossy(&gtin))?);
    for (ai, value) in it {
        let seen = match ai.as_str() {
            "01" => true,
            "22" => label.cpv.is_some(),
            "10" => label.lot.is_some(),
            "21" => label.serial.is_some(),
            other => label.attributes.contains_key(other),
        };
        if seen {
            return Err(es_bad("an AI appears twice"));
        }
        match ai.as_str() {
            "22" | "10" | "21" => {
                let v = qualifier(&value, &ai)?;
                set_qualifier(&mut label, &ai, v);
            }
            _ => {
                check_variable(&value)?;
                label
                    .attributes
                    .insert(ai, String::from_utf8_lossy(&value).into_owned());
            }
        }
    }
    Ok(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> &'static str {
        Label::parse(s).map_or_else(|e| e.code(), |_| "ok")
    }

    #[test]
    fn the_issues_three_labels() {
        let l = Label::parse("http://127.0.0.1:8080/01/04012345000016/21/CPPASSVALID000").unwrap();
        assert_eq!(l.form, LabelForm::DigitalLink);
        assert_eq!(
            l.identifier().as_deref(),
            Some("01/04012345000016/21/CPPASSVALID000")
        );
        assert_eq!(l.credential, None);
        assert_eq!(l.unverifiable_offline().code(), "no_embedded_credential");

        let e = Label::parse("(01)04012345000016(21)CPPASSVALID000").unwrap();
        assert_eq!(e.form, LabelForm::ElementString);
        assert_eq!(e.identifier(), l.identifier());
        assert_eq!(e.unverifiable_offline().code(), "no_embedded_credential");

        let g = Label::parse("https://id.gs1.org/01/09506000134352/10/ABC123").unwrap();
        assert_eq!(
            g.identifier().as_deref(),
            Some("01/09506000134352/10/ABC123")
        );
        let err = g.unverifiable_offline();
        assert_eq!(err.code(), "item_not_serialised");
        assert!(err.to_string().contains("/10/ABC123"), "{err}");
    }

    #[test]
    fn cellproof_label_and_fragment_rule() {
        let l = Label::parse("https://h/p/01/04012345000016/21/S1?x=1#12345678").unwrap();
        assert_eq!(l.form, LabelForm::Cellproof);
        assert_eq!(l.credential.as_deref(), Some("12345678"));
        assert_eq!(
            l.url.as_deref(),
            Some("https://h/p/01/04012345000016/21/S1?x=1")
        );
        assert_eq!(l.attributes.get("x").map(String::as_str), Some("1"));
        let j = Label::parse("https://h/01/04012345000016/21/S1#a.b.c").unwrap();
        assert_eq!(
            (j.form, j.credential.as_deref()),
            (LabelForm::Cellproof, Some("a.b.c"))
        );
        // Any other fragment is ignored: a plain product link, not a broken credential.
        for junk in ["#chapter1", "#", "#<script>"] {
            let l = Label::parse(&format!("https://h/01/04012345000016/21/S1{junk}")).unwrap();
            assert_eq!(
                (l.form, l.credential.as_deref()),
                (LabelForm::DigitalLink, None),
                "{junk}"
            );
        }
    }

    #[test]
    fn digital_link_uris_of_the_gs1_standard() {
        // Values of the GS1 Digital Link URI Syntax standard's examples (GTIN 05412345000013,
        // CPV AJY3095721P49, lot ABC123, serial 72292641703).
        let l = Label::parse(
            "https://id.gs1.org/01/05412345000013/22/AJY3095721P49/10/ABC123/21/72292641703?17=261231&linkType=gs1:dpp",
        )
        .unwrap();
        assert_eq!(l.form, LabelForm::DigitalLink);
        assert_eq!(
            (l.cpv.as_deref(), l.lot.as_deref(), l.serial.as_deref()),
            (Some("AJY3095721P49"), Some("ABC123"), Some("72292641703"))
        );
        assert_eq!(l.attributes.get("17").map(String::as_str), Some("261231"));
        assert_eq!(
            l.attributes.get("linkType").map(String::as_str),
            Some("gs1:dpp")
        );
        // GTIN-13, -12 and -8, padded to 14 digits.
        for (g, padded) in [
            ("5412345000013", "05412345000013"),
            ("614141000036", "00614141000036"),
            ("40123455", "00000040123455"),
        ] {
            let l = Label::parse(&format!("https://id.gs1.org/01/{g}/21/X")).unwrap();
            assert_eq!(l.gtin.as_deref(), Some(padded), "{g}");
            assert_eq!(l.identifier(), Some(format!("01/{padded}/21/X")));
        }
        // Percent-encoded serial round-trips into the identifier.
        let l = Label::parse("https://h/01/04012345000016/21/A%2fB").unwrap();
        assert_eq!(l.serial.as_deref(), Some("A/B"));
        assert_eq!(
            l.identifier().as_deref(),
            Some("01/04012345000016/21/A%2FB")
        );
    }

    /// Cases from GS1's gs1-syntax-engine (github.com/gs1/gs1-syntax-engine,
    /// `src/c-lib/dl.c` unit tests `test_dl_parseDLuri` and `test_dl_generateDLuri`; Apache
    /// License 2.0, copyright GS1 AISBL), limited to what SPEC.md 2.1 reads (AI 01 with the
    /// qualifiers 22, 10, 21). Where SPEC.md is stricter the engine's answer differs, noted.
    #[test]
    fn gs1_syntax_engine_cases() {
        let ok = |s: &str| Label::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let l = ok("https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ");
        assert_eq!(
            l.identifier().as_deref(),
            Some("01/12312312312333/22/TEST/10/ABC/21/XYZ")
        );
        // Percent escapes decoded; "+" is "+" in the path, a space in the query.
        let l = ok("https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ%2f987");
        assert_eq!(l.cpv.as_deref(), Some("ABC-123"));
        assert_eq!(l.attributes.get("98").map(String::as_str), Some("XYZ/987"));
        assert_eq!(
            ok("https://a/01/12312312312333/22/ABC+123").cpv.as_deref(),
            Some("ABC+123")
        );
        // Empty or ordinary fragments are ignored.
        for f in ["#", "#fragment"] {
            let l = ok(&format!(
                "https://a/01/12312312312333/22/test/10/abc/21/xyz{f}"
            ));
            assert_eq!(
                (l.serial.as_deref(), l.credential.as_deref()),
                (Some("xyz"), None)
            );
        }
        let l = ok("https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426");
        assert_eq!(l.attributes.get("17").map(String::as_str), Some("180426"));
        // Zero-suppressed GTINs (the engine's permitZeroSuppressedGTINinDLuris), padded.
        let l = ok("https://brand.example.com/some-extra/pathinfo/01/9520123456788");
        assert_eq!(l.gtin.as_deref(), Some("09520123456788"));
        assert_eq!(
            ok("https://a/01/02345673").gtin.as_deref(),
            Some("00000002345673")
        );
        // Element strings of test_dl_generateDLuri.
        let e = ok("(01)12312312312326(22)ABC(10)DEF(21)GHI(95)INT");
        assert_eq!(
            e.identifier().as_deref(),
            Some("01/12312312312326/22/ABC/10/DEF/21/GHI")
        );
        assert_eq!(e.attributes.get("95").map(String::as_str), Some("INT"));
        // Refused by both: a path ending in a slash, an AI the path may not hold.
        assert_eq!(
            code("https://a/01/12312312312333/21/XYZ/"),
            "digital_link_invalid"
        );
        assert_eq!(
            code("https://example.com/01/09520123456788/89/ABC123"),
            "digital_link_invalid"
        );
        // The engine reorders (21) before (01) and merges identical duplicates; SPEC.md 2.1
        // refuses both (an element string MUST start with AI 01).
        assert_eq!(
            code("(21)XYZ(01)12312312312333(10)ABC123"),
            "element_string_invalid"
        );
        assert_eq!(
            code("(01)12312312312326(01)12312312312326(10)ABC123"),
            "element_string_invalid"
        );
    }

    #[test]
    fn digital_link_attacks() {
        for (s, want) in [
            // Wrong check digit, GTIN of 11 or 15 digits, letters.
            ("https://h/01/04012345000017/21/X", "gtin_invalid"),
            ("https://h/01/5412345000014/21/X", "gtin_invalid"),
            ("https://h/01/12345678901/21/X", "gtin_invalid"),
            ("https://h/01/040123450000160/21/X", "gtin_invalid"),
            ("https://h/01/0401234500001a/21/X", "gtin_invalid"),
            // A serial of 21 characters, or with a character outside set 82.
            (
                &format!("https://h/01/04012345000016/21/{}", "A".repeat(21)),
                "serial_invalid",
            ),
            ("https://h/01/04012345000016/21/A%20B", "serial_invalid"),
            ("https://h/01/04012345000016/21/A%C3%A9", "serial_invalid"),
            ("https://h/01/04012345000016/21/A%2", "serial_invalid"),
            ("https://h/01/04012345000016/21/", "serial_invalid"),
            (
                "https://h/01/04012345000016/10/A%7E",
                "digital_link_invalid",
            ),
            (
                &format!("https://h/01/04012345000016/10/{}", "L".repeat(21)),
                "digital_link_invalid",
            ),
            // Two Digital Links in one URL; qualifiers out of order or repeated.
            (
                "https://h/01/04012345000016/21/S/01/04589012000014/21/T",
                "digital_link_invalid",
            ),
            (
                "https://h/01/04012345000016/21/S/10/L",
                "digital_link_invalid",
            ),
            (
                "https://h/01/04012345000016/21/S/21/T",
                "digital_link_invalid",
            ),
            ("https://h/01/04012345000016/21", "digital_link_invalid"),
            (
                "https://h/01/04012345000016/17/261231",
                "digital_link_invalid",
            ),
            ("https://h/01", "digital_link_invalid"),
            // No AI 01 and no compressed Digital Link (this one's bit stream ends inside its
            // lot), no path, no host.
            (
                "https://id.gs1.org/ARFKk4XB0CDKWcCo",
                "digital_link_invalid",
            ),
            ("https://h/about", "digital_link_invalid"),
            ("https://h/about/", "digital_link_invalid"),
            ("https://h#a.b.c", "digital_link_invalid"),
            ("https:///01/04012345000016/21/S", "url_invalid"),
            ("https://u@h/01/04012345000016/21/S", "url_invalid"),
            ("ftp://h/01/04012345000016/21/S#a.b.c", "url_invalid"),
        ] {
            assert_eq!(code(s), want, "{s}");
        }
        // A u64-sized GTIN and a path of thousands of segments, within MAX_SCAN.
        assert_eq!(
            code("https://h/01/18446744073709551615/21/S"),
            "gtin_invalid"
        );
        let long = format!("https://h/{}01/04012345000016/21/S", "a/".repeat(3000));
        assert_eq!(code(&long), "ok");
        let many = format!("https://h/01/04012345000016{}", "/21/S".repeat(1500));
        assert_eq!(code(&many), "digital_link_invalid");
        assert_eq!(code(&"9".repeat(MAX_SCAN + 1)), "input_too_large");
    }

    #[test]
    fn element_strings() {
        let gs = '\u{1d}';
        let raw = format!("]d2010401234500001617261231{gs}10LOT7{gs}21S1{gs}");
        let l = Label::parse(&raw).unwrap();
        assert_eq!(l.form, LabelForm::ElementString);
        assert_eq!(
            l.identifier().as_deref(),
            Some("01/04012345000016/10/LOT7/21/S1")
        );
        assert_eq!(l.attributes.get("17").map(String::as_str), Some("261231"));
        // GS1 QR, four-digit AI 3103 (net weight), three-digit AI 422 kept as attributes.
        let q = Label::parse(&format!("]Q301040123450000163103001250422276{gs}21S9")).unwrap();
        assert_eq!(q.attributes.get("3103").map(String::as_str), Some("001250"));
        assert_eq!(q.attributes.get("422").map(String::as_str), Some("276"));
        assert_eq!(q.serial.as_deref(), Some("S9"));
        // Human-readable with a parenthesis inside a value.
        let h = Label::parse("(01)04012345000016(10)A(B(21)S1").unwrap();
        assert_eq!(h.lot.as_deref(), Some("A(B"));
        // `]d1` is plain text: read as a URL.
        let u = Label::parse("]d1https://h/01/04012345000016/21/S1").unwrap();
        assert_eq!(u.form, LabelForm::DigitalLink);
    }

    #[test]
    fn element_string_attacks() {
        let gs = '\u{1d}';
        for (s, want) in [
            // A GS inside the fixed-length AI 01 or 17.
            (
                format!("]d20104012345{gs}00016{gs}21S"),
                "element_string_invalid",
            ),
            (
                format!("]d20104012345000016172612{gs}3121S"),
                "element_string_invalid",
            ),
            // (01) with 13 digits, or 15.
            ("(01)0401234500001(21)S".into(), "element_string_invalid"),
            ("(01)040123450000160(21)S".into(), "element_string_invalid"),
            // AI 21 before 01; 01 twice; an unknown AI; an AI of the wrong length.
            ("(21)S(01)04012345000016".into(), "element_string_invalid"),
            (
                format!("]d221S{gs}0104012345000016"),
                "element_string_invalid",
            ),
            (
                "(01)04012345000016(01)04589012000014(21)S".into(),
                "element_string_invalid",
            ),
            (
                "(01)04012345000016(21)S(21)T".into(),
                "element_string_invalid",
            ),
            ("(01)04012345000016(99)".into(), "element_string_invalid"),
            ("(01)04012345000016(5)X".into(), "element_string_invalid"),
            ("(01)04012345000016(211)S".into(), "element_string_invalid"),
            (
                format!("]d20104012345000016{gs}{gs}21S"),
                "element_string_invalid",
            ),
            ("]e0whatever".into(), "element_string_invalid"),
            ("(01)".into(), "element_string_invalid"),
            // Check digit and qualifier rules as in a Digital Link.
            ("(01)04012345000017(21)S".into(), "gtin_invalid"),
            (
                format!("(01)04012345000016(21){}", "S".repeat(21)),
                "serial_invalid",
            ),
            ("(01)04012345000016(21)S~".into(), "serial_invalid"),
            (
                "(01)04012345000016(17)2612(21)S".into(),
                "element_string_invalid",
            ),
            (
                format!("]d20104012345000016{gs}21{}", "S".repeat(21)),
                "serial_invalid",
            ),
            (
                format!("(01)04012345000016(10){}", "L".repeat(21)),
                "digital_link_invalid",
            ),
        ] {
            assert_eq!(code(&s), want, "{s:?}");
        }
        // Huge but within MAX_SCAN: many attributes, each checked, none read past the input.
        let many = format!(
            "]d20104012345000016{}",
            format!("90{}{gs}", "X".repeat(30)).repeat(200)
        );
        assert_eq!(code(&many), "element_string_invalid"); // AI 90 twice
    }

    #[test]
    fn untp_links() {
        let q = r#"{"payload":{"uri":"https://example.com/dpp/1.json","key":"0011223344556677889900112233445566778899001122334455667788990011","hash":"AABBCCDDEEFF00112233445566778899AABBCCDDEEFF00112233445566778899"}}"#;
        let enc: String = q
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let l = Label::parse(&format!("https://verify.example/?q={enc}")).unwrap();
        assert_eq!(l.form, LabelForm::UntpLink);
        let p = l.untp.clone().unwrap();
        assert_eq!(p.uri, "https://example.com/dpp/1.json");
        assert_eq!(p.hash.as_deref().map(str::len), Some(64));
        assert_eq!(l.identifier(), None);
        assert_eq!(l.unverifiable_offline().code(), "no_embedded_credential");
        for bad in [
            r#"{"payload":{"uri":"javascript:alert(1)"}}"#,
            r#"{"payload":{"uri":"https://"}}"#,
            r#"{"payload":{"uri":"https://e.example/x","key":"00"}}"#,
            r#"{"payload":{"uri":"https://e.example/x","hash":7}}"#,
            r#"{"payload":"https://e.example/x"}"#,
            r#"{"payload":{}}"#,
        ] {
            let enc = bad.replace('"', "%22").replace(' ', "%20");
            assert_eq!(
                code(&format!("https://v.example/?q={enc}")),
                "untp_link_invalid",
                "{bad}"
            );
        }
        // Any other q is an ordinary parameter: the Digital Link keeps it.
        let dl = Label::parse("https://h/01/04012345000016/21/S?q=shoes").unwrap();
        assert_eq!(dl.attributes.get("q").map(String::as_str), Some("shoes"));
        // Two q parameters: no UNTP link; the path decides.
        assert_eq!(
            code("https://h/x?q=%7B%22payload%22%3A1%7D&q=1"),
            "digital_link_invalid"
        );
    }

    /// The verdict, end to end: never `invalid` for a label without a credential, and the
    /// `label` member says what was read (SPEC.md sections 2.1 and 7).
    #[test]
    fn verdicts_of_labels_without_a_credential() {
        let trust = crate::TrustStore::new();
        let status = crate::StatusStore::new();
        let ctx = crate::Context::new(&trust, &status, crate::UnixTime(1_800_000_000));
        for (input, code, form, identifier) in [
            (
                "http://127.0.0.1:8080/01/04012345000016/21/CPPASSVALID000",
                "no_embedded_credential",
                "digital-link",
                "01/04012345000016/21/CPPASSVALID000",
            ),
            (
                "(01)04012345000016(21)CPPASSVALID000",
                "no_embedded_credential",
                "element-string",
                "01/04012345000016/21/CPPASSVALID000",
            ),
            (
                "https://id.gs1.org/01/09506000134352/10/ABC123",
                "item_not_serialised",
                "digital-link",
                "01/09506000134352/10/ABC123",
            ),
            (
                "https://h/01/5412345000013/21/S1#chapter1",
                "no_embedded_credential",
                "digital-link",
                "01/05412345000013/21/S1",
            ),
        ] {
            let v = crate::verify(input, &ctx);
            let j = crate::VerdictJson::from(&v);
            assert_eq!((j.overall, j.code), ("unverifiable", Some(code)), "{input}");
            let label = j.label.expect("label");
            assert_eq!(
                (label.form, label.identifier.as_deref()),
                (form, Some(identifier))
            );
            assert!(v.message.unwrap_or_default().contains(identifier));
        }
        // A label that is no label at all has no `label`; a bare JWS is form `jws`.
        let j = crate::VerdictJson::from(&crate::verify("(21)S(01)04012345000016", &ctx));
        assert_eq!(
            (j.overall, j.code),
            ("invalid", Some("element_string_invalid"))
        );
        assert_eq!(j.label, None);
        let j = crate::VerdictJson::from(&crate::verify("a.b.c", &ctx));
        assert_eq!(j.label.map(|l| l.form), Some("jws"));
    }

    #[test]
    fn bare_credentials_are_form_jws() {
        let l = Label::parse(" a.b.c ").unwrap();
        assert_eq!(
            (l.form, l.credential.as_deref()),
            (LabelForm::Jws, Some("a.b.c"))
        );
        assert_eq!(Label::parse("1234").unwrap().form, LabelForm::Jws);
    }
}
