//! GS1 Digital Link paths for serialised items, `01/{gtin14}/21/{serial}` (SPEC.md section 2).
//!
//! Only the strict form the spec names is accepted: a 14-digit GTIN with a correct check digit
//! and a serial of 1 to 20 characters from GS1's AI encodable character set 82, percent-decoded.

use crate::Error;

/// Longest AI 21 serial (GS1 General Specifications, AI 21: X..20).
pub const MAX_SERIAL: usize = 20;

/// A battery's identifier: GTIN-14 plus serial number (EU 2023/1542 Art. 77(3)).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DigitalLink {
    /// 14 digits, check digit verified.
    pub gtin: String,
    /// The serial, percent-decoded.
    pub serial: String,
}

impl DigitalLink {
    /// Parses the four path segments `01`, gtin, `21`, serial.
    pub fn from_segments(segs: [&str; 4]) -> Result<Self, Error> {
        let [ai01, gtin, ai21, serial] = segs;
        if ai01 != "01" || ai21 != "21" {
            return Err(Error::DigitalLinkInvalid {
                reason: "expected /01/{gtin}/21/{serial}",
            });
        }
        check_gtin(gtin)?;
        Ok(DigitalLink {
            gtin: gtin.to_owned(),
            serial: decode_serial(serial)?,
        })
    }

    /// Parses `01/{gtin14}/21/{serial}` (the form of the `sub` claim), with or without a
    /// leading slash.
    pub fn parse_path(path: &str) -> Result<Self, Error> {
        let path = path.strip_prefix('/').unwrap_or(path);
        let mut it = path.split('/');
        match (it.next(), it.next(), it.next(), it.next(), it.next()) {
            (Some(a), Some(b), Some(c), Some(d), None) => Self::from_segments([a, b, c, d]),
            _ => Err(Error::DigitalLinkInvalid {
                reason: "expected /01/{gtin}/21/{serial}",
            }),
        }
    }

    /// Parses a battery's URL as an uploaded passport or restricted section names it
    /// (`credentialSubject.id`, SPEC.md sections 2 and 6.2), strictly:
    /// `http(s)://host[/prefix]/01/{gtin}/21/{serial}` and nothing else. A query, a fragment,
    /// an empty segment or an `01` segment before the item's is `digital_link_invalid`: an id
    /// holding two Digital Links (`.../01/X/21/S#/01/Y/21/T`) is refused rather than read as
    /// either, so the registry files an upload under the one battery it names.
    pub fn parse_item_url(url: &str) -> Result<Self, Error> {
        let bad = |reason| Error::DigitalLinkInvalid { reason };
        let scheme = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        let rest = if scheme.starts_with("https://") {
            url.get(8..)
        } else if scheme.starts_with("http://") {
            url.get(7..)
        } else {
            None
        }
        .ok_or(Error::UrlInvalid {
            reason: "only http and https URLs name a battery",
        })?;
        if rest.contains(['#', '?']) {
            return Err(bad("a battery's URL has no query or fragment"));
        }
        let (host, path) = rest.split_once('/').ok_or(bad("no path"))?;
        if host.is_empty() || host.contains(['@', ' ']) {
            return Err(Error::UrlInvalid {
                reason: "no usable host",
            });
        }
        let segs: Vec<&str> = path.split('/').collect();
        let at = segs
            .len()
            .checked_sub(4)
            .ok_or(bad("expected /01/{gtin}/21/{serial}"))?;
        let (prefix, item) = segs.split_at(at);
        if prefix.iter().any(|s| s.is_empty() || *s == "01") {
            return Err(bad("exactly one /01/{gtin}/21/{serial} after the host"));
        }
        match item {
            [a, b, c, d] => Self::from_segments([a, b, c, d]),
            _ => Err(bad("expected /01/{gtin}/21/{serial}")),
        }
    }

    /// The canonical path `01/{gtin}/21/{serial}`, serial percent-encoded where GS1 requires.
    pub fn path(&self) -> String {
        format!("01/{}/21/{}", self.gtin, encode_value(&self.serial))
    }
}

/// GS1 check digit: weights 3 and 1 alternating from the right, excluding the check digit.
pub fn check_gtin(gtin: &str) -> Result<(), Error> {
    if gtin.len() != 14 || !gtin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::GtinInvalid);
    }
    let digits: Vec<u32> = gtin.bytes().map(|b| u32::from(b - b'0')).collect();
    let (body, check) = digits.split_at(13);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    if check.first() == Some(&((10 - sum % 10) % 10)) {
        Ok(())
    } else {
        Err(Error::GtinInvalid)
    }
}

/// Computes the check digit for 13 digits (for issuers and tests).
pub fn gtin_with_check_digit(first13: &str) -> Option<String> {
    if first13.len() != 13 || !first13.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first13
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    Some(format!("{first13}{}", (10 - sum % 10) % 10))
}

/// GS1 AI encodable character set 82.
pub(crate) fn is_cset82(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!\"%&'()*+,-./:;<=>?_".contains(&c)
}

/// Strict percent-decoding: a `%` not followed by two hex digits is `None`; `+` is a space
/// when `plus` is set (form-encoded query values).
pub fn pct_decode(s: &str, plus: bool) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(if plus && c == b'+' { b' ' } else { c });
            i += 1;
        }
    }
    Some(out)
}

/// Characters of set 82 that must be percent-encoded in a URI path segment.
fn must_escape(c: u8) -> bool {
    b"\"%&/<>?#".contains(&c)
}

fn decode_serial(s: &str) -> Result<String, Error> {
    let out = pct_decode(s, false).ok_or(Error::SerialInvalid)?;
    if out.is_empty() || out.len() > MAX_SERIAL || !out.iter().all(|&c| is_cset82(c)) {
        return Err(Error::SerialInvalid);
    }
    String::from_utf8(out).map_err(|_| Error::SerialInvalid)
}

/// Percent-encodes the characters of set 82 that GS1 Digital Link requires encoded in a path
/// segment (the serial here, every qualifier value in `label.rs`).
pub(crate) fn encode_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if must_escape(b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reference_path() {
        let dl = DigitalLink::parse_path("01/04012345000016/21/SN2026A000123").unwrap();
        assert_eq!(dl.gtin, "04012345000016");
        assert_eq!(dl.serial, "SN2026A000123");
        assert_eq!(dl.path(), "01/04012345000016/21/SN2026A000123");
        assert_eq!(
            gtin_with_check_digit("0401234500001").as_deref(),
            Some("04012345000016")
        );
    }

    #[test]
    fn percent_encoding_round_trips_and_compares_decoded() {
        let a = DigitalLink::parse_path("01/04012345000016/21/A%2FB").unwrap();
        assert_eq!(a.serial, "A/B");
        assert_eq!(a.path(), "01/04012345000016/21/A%2FB");
        // Lower-case hex names the same serial.
        assert_eq!(
            DigitalLink::parse_path("01/04012345000016/21/A%2fB").unwrap(),
            a
        );
    }

    #[test]
    fn refuses_bad_paths() {
        let cases = [
            ("01/04012345000017/21/X", "gtin_invalid"),
            ("01/4012345000016/21/X", "gtin_invalid"),
            ("01/0401234500001a/21/X", "gtin_invalid"),
            ("01/04012345000016/21/", "serial_invalid"),
            (
                "01/04012345000016/21/ABCDEFGHIJKLMNOPQRSTU",
                "serial_invalid",
            ),
            ("01/04012345000016/21/A%2", "serial_invalid"),
            ("01/04012345000016/21/A%ZZ", "serial_invalid"),
            ("01/04012345000016/21/A%20", "serial_invalid"),
            ("01/04012345000016/21/%C3%A9", "serial_invalid"),
            ("01/04012345000016/10/X", "digital_link_invalid"),
            ("01/04012345000016", "digital_link_invalid"),
            ("01/04012345000016/21/X/Y", "digital_link_invalid"),
        ];
        for (p, code) in cases {
            assert_eq!(DigitalLink::parse_path(p).unwrap_err().code(), code, "{p}");
        }
    }

    #[test]
    fn an_item_url_names_exactly_one_battery() {
        let ok = DigitalLink::parse_item_url("https://id.example/dpp/01/04012345000016/21/S1");
        assert_eq!(ok.unwrap().path(), "01/04012345000016/21/S1");
        let ok = DigitalLink::parse_item_url("HTTP://id.example/01/04012345000016/21/S1");
        assert_eq!(ok.unwrap().serial, "S1");
        for (u, code) in [
            // Two Digital Links, one behind a fragment, a query or a prefix.
            (
                "https://h/01/04012345000016/21/S#/01/04589012000014/21/T",
                "digital_link_invalid",
            ),
            (
                "https://h/01/04012345000016/21/S?/01/04589012000014/21/T",
                "digital_link_invalid",
            ),
            (
                "https://h/01/04012345000016/21/S/01/04589012000014/21/T",
                "digital_link_invalid",
            ),
            ("https://h/01/04012345000016/21/S#x", "digital_link_invalid"),
            ("https://h//01/04012345000016/21/S", "digital_link_invalid"),
            ("https://h/01/04012345000016/21", "digital_link_invalid"),
            ("ftp://h/01/04012345000016/21/S", "url_invalid"),
            ("https:///01/04012345000016/21/S", "url_invalid"),
            ("https://h/01/04012345000016/21/%23", "serial_invalid"),
        ] {
            assert_eq!(
                DigitalLink::parse_item_url(u).unwrap_err().code(),
                code,
                "{u}"
            );
        }
    }
}
