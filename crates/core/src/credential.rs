//! The battery credential (`bp+jwt`) and the QR URL that carries it (SPEC.md section 2).
//!
//! `Scan::parse` takes what a camera or a user hands over (any label form of SPEC.md 2.1, read
//! by `Label::parse`), takes its embedded credential, undoes the numeric encoding and parses
//! the JWS.
//! `Credential::from_payload` reads the claims with their types and units checked.

use serde_json::{Map, Value};

use crate::gs1::DigitalLink;
use crate::json::Obj;
use crate::jws::{Jws, Typ};
use crate::label::{Label, LabelForm};
use crate::Error;

/// Longest input accepted as a scan: a version 40 QR code holds at most 7,089 numeric digits.
pub const MAX_SCAN: usize = 8 * 1024;

/// Art. 8 minimum recycled shares in percent, `(element, 2031, 2036)`, shown beside `bp.rc`
/// as information, never as a verification failure (SPEC.md section 2).
pub const RECYCLED_MINIMUMS: [(&str, f64, f64); 4] = [
    ("Co", 16.0, 26.0),
    ("Li", 6.0, 12.0),
    ("Ni", 6.0, 15.0),
    ("Pb", 85.0, 85.0),
];

/// One element of a battery's recycled content beside its Art. 8 minimums
/// ([`recycled_content`]): information for the reader, never a verification failure.
#[derive(Clone, Debug, PartialEq)]
pub struct RecycledShare {
    /// `Co`, `Li`, `Ni` or `Pb`.
    pub element: &'static str,
    /// Pre- plus post-consumer share, in percent (members that are not numbers count 0).
    pub total: f64,
    /// Whether the element's minimum applies to this battery: the lead minimum only to a
    /// battery whose chemistry names lead.
    pub applies: bool,
    /// The 2031 minimum, in percent.
    pub min2031: f64,
    /// The 2036 minimum, in percent.
    pub min2036: f64,
}

impl RecycledShare {
    /// Whether `total` reaches `min` (a minimum that does not apply is never missed).
    pub fn meets(&self, min: f64) -> bool {
        !self.applies || self.total >= min
    }
}

/// True when a chemistry names lead (lead-acid: `Pb`, `PbA`, `lead-acid`, `VRLA`, any case).
pub fn contains_lead(chemistry: &str) -> bool {
    let c = chemistry.to_ascii_lowercase();
    ["pb", "lead", "vrla"].iter().any(|n| c.contains(n))
}

/// The recycled content of `rc` (`{"Co": [pre, post], ...}`, the shape of `bp.rc`, SPEC.md
/// section 2) beside the Art. 8 minimums ([`RECYCLED_MINIMUMS`]), in their order: one entry
/// per element of the table that `rc` lists as an array. The lead minimum applies only to a
/// battery whose `chemistry` names lead ([`contains_lead`]): on a lithium battery a listed Pb
/// share is shown without a minimum, and a zero Pb share not at all.
pub fn recycled_content(rc: &Map<String, Value>, chemistry: Option<&str>) -> Vec<RecycledShare> {
    let lead = chemistry.is_some_and(contains_lead);
    RECYCLED_MINIMUMS
        .iter()
        .filter_map(|&(element, min2031, min2036)| {
            let shares = rc.get(element)?.as_array()?;
            let total = shares.iter().filter_map(Value::as_f64).sum::<f64>();
            let applies = element != "Pb" || lead;
            (applies || total != 0.0).then_some(RecycledShare {
                element,
                total,
                applies,
                min2031,
                min2036,
            })
        })
        .collect()
}

/// Battery categories of EU 2023/1542 that carry a passport.
pub const CATEGORIES: [&str; 4] = ["ev", "lmt", "industrial", "stationary"];

/// A status entry `"{listId}/{index}"`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StatusRef {
    /// The list id, appended to the issuer's `statusBase`.
    pub list: String,
    /// Bit index in the list.
    pub index: u64,
}

impl StatusRef {
    /// Parses `"{listId}/{index}"`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || Error::ClaimInvalid {
            field: "st".into(),
            reason: "must be \"{listId}/{index}\"",
        };
        let (list, index) = s.split_once('/').ok_or_else(bad)?;
        let list_ok = !list.is_empty()
            && list.len() <= 64
            && list
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'~');
        if !list_ok
            || index.is_empty()
            || !index.bytes().all(|b| b.is_ascii_digit())
            || index.len() > 12
        {
            return Err(bad());
        }
        Ok(StatusRef {
            list: list.to_owned(),
            index: index.parse().map_err(|_| bad())?,
        })
    }
}

/// The claims of a `bp+jwt`, types checked.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Credential {
    /// Issuer DID.
    pub iss: String,
    /// Signing time.
    pub iat: u64,
    /// Expiry, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// The battery identifier the credential is about.
    pub sub: DigitalLink,
    /// The status entry, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub st: Option<StatusRef>,
    /// The public passport summary, every member kept for display.
    pub bp: Map<String, Value>,
}

impl Credential {
    /// Reads and checks the claims of a credential payload.
    pub fn from_payload(p: &Map<String, Value>) -> Result<Self, Error> {
        let o = Obj::new(p, "");
        let iss = o.str("iss")?;
        if !iss.starts_with("did:") {
            return Err(o.err("iss", "must be a DID"));
        }
        let sub = DigitalLink::parse_path(o.str("sub")?)?;
        let st = o.opt_str("st")?.map(StatusRef::parse).transpose()?;
        let bp = o.obj("bp")?;
        check_summary(bp)?;
        Ok(Credential {
            iss: iss.to_owned(),
            iat: o.u64("iat")?,
            exp: o.opt_u64("exp")?,
            sub,
            st,
            bp: bp.clone(),
        })
    }

    /// A `bp` string member, for display.
    pub fn bp_str(&self, name: &str) -> Option<&str> {
        self.bp.get(name).and_then(Value::as_str)
    }
}

/// Checks the known `bp` members' types and units (SPEC.md section 2); unknown members pass.
fn check_summary(bp: &Map<String, Value>) -> Result<(), Error> {
    let o = Obj::new(bp, "bp");
    if !CATEGORIES.contains(&o.str("cat")?) {
        return Err(o.err("cat", "must be one of ev, lmt, industrial, stationary"));
    }
    if o.str("mfr")?.is_empty() {
        return Err(o.err("mfr", "must not be empty"));
    }
    if o.str("chem")?.is_empty() {
        return Err(o.err("chem", "must not be empty"));
    }
    if let Some(mdt) = o.opt_str("mdt")? {
        if !is_date_or_month(mdt) {
            return Err(o.err("mdt", "must be YYYY-MM or YYYY-MM-DD"));
        }
    }
    if let Some(mpl) = o.opt_str("mpl")? {
        if mpl.len() != 2 || !mpl.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(o.err("mpl", "must be an ISO 3166-1 alpha-2 code"));
        }
    }
    for name in ["kg", "kwh", "ah", "cf"] {
        if let Some(v) = o.opt_f64(name)? {
            if !(v.is_finite() && v >= 0.0) {
                return Err(o.err(name, "must be a non-negative number"));
            }
        }
    }
    for name in ["cfc", "pid", "prev"] {
        o.opt_str(name)?;
    }
    if let Some(dig) = o.opt_str("dig")? {
        // Only the shape is checked: a digest that is not the canonical encoding of 16 bytes
        // can never equal the computed one, and the passport stage reports that mismatch.
        let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if dig.len() != 22 || !dig.bytes().all(alphabet) {
            return Err(o.err("dig", "must be 16 bytes in base64url (22 characters)"));
        }
    }
    if let Some(rc) = o.opt_obj("rc")? {
        for v in rc.values() {
            let pair = v.as_array().filter(|a| a.len() == 2);
            let ok = pair.is_some_and(|a| {
                a.iter()
                    .all(|x| x.as_f64().is_some_and(|f| (0.0..=100.0).contains(&f)))
            });
            if !ok {
                return Err(o.err("rc", "must map elements to [pre, post] percentages"));
            }
        }
    }
    Ok(())
}

fn is_date_or_month(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: core::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let month_ok = s
        .get(5..7)
        .and_then(|m| m.parse::<u8>().ok())
        .is_some_and(|m| (1..=12).contains(&m));
    let base = digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && month_ok;
    match b.len() {
        7 => base,
        10 => {
            let day_ok = s
                .get(8..10)
                .and_then(|d| d.parse::<u8>().ok())
                .is_some_and(|d| (1..=31).contains(&d));
            base && b.get(7) == Some(&b'-') && digits(8..10) && day_ok
        }
        _ => false,
    }
}

/// Numeric encoding of SPEC.md section 2: each JWS character `c` becomes `ord(c) - 45` as two
/// digits, so the fragment fits a QR numeric segment (about 17% fewer modules than bytes).
pub fn numeric_encode(jws: &str) -> String {
    let mut out = String::with_capacity(jws.len() * 2);
    for b in jws.bytes() {
        let v = b.saturating_sub(45);
        out.push(char::from(b'0' + v / 10));
        out.push(char::from(b'0' + v % 10));
    }
    out
}

/// Undoes [`numeric_encode`]; every pair must name a base64url character or `.`.
pub fn numeric_decode(digits: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(digits.len() / 2);
    for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
        let position = i * 2;
        let (Some(&hi), Some(&lo)) = (pair.first(), pair.get(1)) else {
            return Err(Error::FragmentNotNumeric { position });
        };
        if !hi.is_ascii_digit() || !lo.is_ascii_digit() {
            return Err(Error::FragmentNotNumeric { position });
        }
        let v = (hi - b'0') * 10 + (lo - b'0');
        let c = char::from(v + 45);
        if !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            return Err(Error::FragmentNotNumeric { position });
        }
        out.push(c);
    }
    Ok(out)
}

fn is_numeric_fragment(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A parsed scan: where it came from and the credential JWS it carries.
#[derive(Clone, Debug)]
pub struct Scan {
    /// The Digital Link path of the scanned URL, when the input was a URL.
    pub link: Option<DigitalLink>,
    /// The URL up to the fragment, when the input was a URL.
    pub url: Option<String>,
    /// The compact JWS text.
    pub compact: String,
    /// The parsed, unverified JWS.
    pub jws: Jws,
}

impl Scan {
    /// Parses a scanned text of any label form (SPEC.md section 2.1, [`Label::parse`]) and
    /// decodes the credential it embeds.
    pub fn parse(input: &str) -> Result<Scan, Error> {
        Scan::from_label(&Label::parse(input)?)
    }

    /// Decodes the credential a label embeds. A label without one is unverifiable offline
    /// ([`Label::unverifiable_offline`]): `item_not_serialised` without AI 21, else
    /// `no_embedded_credential`; an embedded credential on a label without AI 21 could never
    /// bind to it (its `sub` names a serial), so that label is `item_not_serialised` too.
    pub fn from_label(label: &Label) -> Result<Scan, Error> {
        let fragment = match &label.credential {
            Some(c) if label.form == LabelForm::Jws || label.serial.is_some() => c,
            _ => return Err(label.unverifiable_offline()),
        };
        let compact = if is_numeric_fragment(fragment) {
            numeric_decode(fragment)?
        } else {
            fragment.to_owned()
        };
        let jws = Jws::parse(&compact, Typ::Credential, MAX_SCAN)?;
        Ok(Scan {
            link: label.item(),
            url: label.url.clone(),
            compact,
            jws,
        })
    }
}

/// The Digital Link of an `http(s)://host[/prefix]/01/{gtin}/21/{serial}` URL without its
/// fragment (issuers check their claims' `url` against `sub` with it).
pub fn parse_link_url(url: &str) -> Result<DigitalLink, Error> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(Error::UrlInvalid {
            reason: "only http and https URLs carry credentials",
        });
    }
    parse_url_path(url)
}

/// Finds the Digital Link in `scheme://host[/prefix]/01/{gtin}/21/{serial}[?query]`: the last
/// four path segments (issuers' claim URLs; scans go through [`Label::parse`]).
fn parse_url_path(base: &str) -> Result<DigitalLink, Error> {
    let after_scheme = base.split_once("://").map(|(_, r)| r).unwrap_or_default();
    let (host, path) = after_scheme
        .split_once('/')
        .ok_or(Error::DigitalLinkInvalid { reason: "no path" })?;
    if host.is_empty() || host.contains(['@', ' ']) {
        return Err(Error::UrlInvalid {
            reason: "no usable host",
        });
    }
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let segs: Vec<&str> = path.split('/').collect();
    let n = segs.len();
    match n.checked_sub(4).and_then(|i| segs.get(i..)) {
        Some([a, b, c, d]) => DigitalLink::from_segments([a, b, c, d]),
        _ => Err(Error::DigitalLinkInvalid {
            reason: "expected /01/{gtin}/21/{serial}",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_content_beside_the_art_8_minimums() {
        let rc = |v: Value| v.as_object().cloned().unwrap_or_default();
        let shares = recycled_content(
            &rc(serde_json::json!({"Co": [10, 8], "Li": [2, 1], "Pb": [0, 0], "Xx": [50, 50]})),
            Some("NMC811"),
        );
        // Table order; no element outside the table; a zero Pb share on a lithium battery is
        // not shown at all.
        let names: Vec<_> = shares.iter().map(|s| s.element).collect();
        assert_eq!(names, ["Co", "Li"]);
        assert_eq!(shares[0].total, 18.0);
        assert!(shares[0].meets(shares[0].min2031) && !shares[0].meets(shares[0].min2036));
        assert!(!shares[1].meets(shares[1].min2031));
        // A listed Pb share on a lithium battery: shown, no minimum applies (never a cross).
        let li = recycled_content(&rc(serde_json::json!({"Pb": [1, 2]})), Some("LFP"));
        assert_eq!(
            (li[0].element, li[0].applies, li[0].meets(85.0)),
            ("Pb", false, true)
        );
        // On a lead-acid battery the minimum applies, and 3 % misses it.
        for chem in ["Pb", "PbA", "lead-acid", "VRLA", "vrla"] {
            let pb = recycled_content(&rc(serde_json::json!({"Pb": [1, 2]})), Some(chem));
            assert!(pb[0].applies && !pb[0].meets(85.0), "{chem}");
        }
        // Shares that are not numbers count 0; an element that is not an array is not listed.
        let odd = recycled_content(&rc(serde_json::json!({"Co": ["x", 20], "Ni": 5})), None);
        assert_eq!(odd.len(), 1);
        assert_eq!(odd[0].total, 20.0);
    }

    #[test]
    fn numeric_round_trip_and_range() {
        let s = "eyJ-_.AZaz09";
        assert_eq!(numeric_decode(&numeric_encode(s)).unwrap(), s);
        assert_eq!(numeric_encode("-"), "00");
        assert_eq!(numeric_encode("z"), "77");
        assert_eq!(
            numeric_decode("0078").unwrap_err(),
            Error::FragmentNotNumeric { position: 2 }
        );
        // 14 is ';', a character that is in range but not base64url.
        assert_eq!(
            numeric_decode("14").unwrap_err().code(),
            "fragment_not_numeric"
        );
    }

    #[test]
    fn status_ref_parse() {
        assert_eq!(
            StatusRef::parse("3/94567").unwrap(),
            StatusRef {
                list: "3".into(),
                index: 94567
            }
        );
        for bad in ["3", "/1", "3/", "3/x", "a b/1", "3/1/2", "3/9999999999999"] {
            assert_eq!(
                StatusRef::parse(bad).unwrap_err().code(),
                "claim_invalid",
                "{bad}"
            );
        }
    }

    #[test]
    fn url_shapes() {
        let e = |s: &str| Scan::parse(s).unwrap_err().code();
        // SPEC.md 1.2 section 2.1: a link without a credential is unverifiable, not invalid.
        assert_eq!(
            e("https://h/01/04012345000016/21/X"),
            "no_embedded_credential"
        );
        assert_eq!(
            e("https://h/01/04012345000016/21/X#"),
            "no_embedded_credential"
        );
        assert_eq!(
            e("https://h/01/04012345000016/21/X#top"),
            "no_embedded_credential"
        );
        assert_eq!(
            e("https://h/01/04012345000016/10/L#a.b.c"),
            "item_not_serialised"
        );
        assert_eq!(e("ftp://h/01/04012345000016/21/X#a.b.c"), "url_invalid");
        assert_eq!(
            e("https://h/02/04012345000016/21/X#a.b.c"),
            "digital_link_invalid"
        );
        assert_eq!(e("https://h#a.b.c"), "digital_link_invalid");
        assert_eq!(e("https://h/p/01/04012345000016/21/X#a.b"), "jws_malformed");
        assert_eq!(e("https://h/01/04012345000016/21/X#123"), "jws_malformed");
        assert_eq!(e(&"1".repeat(MAX_SCAN + 1)), "input_too_large");
    }

    #[test]
    fn dates() {
        assert!(is_date_or_month("2026-02"));
        assert!(is_date_or_month("2026-02-28"));
        for bad in ["2026-13", "2026-2", "26-02-01", "2026-02-32", "2026-02-1x"] {
            assert!(!is_date_or_month(bad), "{bad}");
        }
    }
}
