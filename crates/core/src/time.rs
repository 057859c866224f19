//! Time as a parameter: `UnixTime` and RFC 3339 conversion, without reading any clock.
//!
//! The core never asks the system for the time (ARCHITECTURE.md invariant); callers pass `now`.
//! VC 2.0 `validFrom`/`validUntil` are RFC 3339 date-times, converted here with the civil-date
//! algorithm of Howard Hinnant ("days_from_civil"), so no calendar crate is needed.

use crate::Error;

/// Seconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// The seconds value.
    pub fn secs(self) -> u64 {
        self.0
    }

    /// A JavaScript number of seconds (`Date.now() / 1000`), truncated to whole seconds; NaN,
    /// negatives and infinities become 0, so the clock floor (SPEC.md section 5) decides the
    /// time used. Every wasm binding reads the page's time through this.
    pub fn from_js_secs(secs: f64) -> UnixTime {
        if !(secs.is_finite() && secs > 0.0) {
            return UnixTime(0);
        }
        // Truncation to whole seconds is the intent; `as` saturates above u64::MAX.
        #[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
        let s = secs as u64;
        UnixTime(s)
    }
}

/// Parses an RFC 3339 date-time (`2026-11-28T16:41:10Z`, fractional seconds and numeric
/// offsets allowed) into Unix seconds. Times before 1970 are refused.
pub fn parse_rfc3339(s: &str) -> Result<u64, Error> {
    let bad = || Error::ClaimInvalid {
        field: "date-time".into(),
        reason: "is not an RFC 3339 date-time",
    };
    u64::try_from(parse_rfc3339_signed(s)?).map_err(|_| bad())
}

/// [`parse_rfc3339`], except that a well-formed date-time before 1970 (year 0 included) is 0
/// rather than an error: for a reader asking "as of when" (SPEC.md 1.2 section 6.2), a time
/// before Unix time is before everything.
pub fn parse_rfc3339_saturating(s: &str) -> Result<u64, Error> {
    parse_rfc3339_signed(s).map(|t| u64::try_from(t).unwrap_or(0))
}

/// Seconds since 1970 (negative before it) of an RFC 3339 date-time.
fn parse_rfc3339_signed(s: &str) -> Result<i64, Error> {
    let bad = || Error::ClaimInvalid {
        field: "date-time".into(),
        reason: "is not an RFC 3339 date-time",
    };
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 {
        return Err(bad());
    }
    let num = |from: usize, to: usize| -> Result<u64, Error> {
        let part = s.get(from..to).ok_or_else(bad)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<u64>().map_err(|_| bad())
    };
    let sep = |i: usize, c: u8| b.get(i).copied() == Some(c);
    if !(sep(4, b'-')
        && sep(7, b'-')
        && (sep(10, b'T') || sep(10, b't'))
        && sep(13, b':')
        && sep(16, b':'))
    {
        return Err(bad());
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    // RFC 3339 allows a leap second (60); Unix time folds it into the next second.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad());
    }
    let mut rest = s.get(19..).ok_or_else(bad)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = frac.get(digits..).ok_or_else(bad)?;
    }
    let offset: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || rb.get(3) != Some(&b':') {
                return Err(bad());
            }
            let sign = match rb.first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(bad()),
            };
            let oh = num(s.len() - 5, s.len() - 3)?;
            let om = num(s.len() - 2, s.len())?;
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            sign * i64::try_from(oh * 3600 + om * 60).map_err(|_| bad())?
        }
    };
    let days = days_from_civil(year, month, day);
    let local =
        days * 86_400 + i64::try_from(hour * 3600 + minute * 60 + second).map_err(|_| bad())?;
    Ok(local - offset)
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-28T16:41:10Z`).
pub fn format_rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 86_400);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: u64, m: u64, d: u64) -> i64 {
    // Inputs are range-checked by the caller (year <= 9999), so these fit easily.
    let y = i64::try_from(y).unwrap_or(0) - i64::from(m <= 2);
    let m = i64::try_from(m).unwrap_or(1);
    let d = i64::try_from(d).unwrap_or(1);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {

    /// The page's clock as JS gives it: NaN, infinities and negatives are 0 (the clock floor
    /// decides), fractions are cut, a number beyond u64 saturates instead of wrapping.
    #[test]
    fn saturating_reads_times_before_1970_as_0_and_refuses_the_rest() {
        assert_eq!(parse_rfc3339_saturating("0000-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_rfc3339_saturating("1969-12-31T23:59:59Z").unwrap(), 0);
        assert_eq!(parse_rfc3339_saturating("1970-01-01T00:00:01Z").unwrap(), 1);
        assert!(parse_rfc3339("1969-12-31T23:59:59Z").is_err());
        for bad in [
            "0000-13-01T00:00:00Z",
            "yesterday",
            "1969-12-31",
            "1969-12-31T23:59:59",
        ] {
            assert!(parse_rfc3339_saturating(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn js_seconds_are_read_safely() {
        for (js, want) in [
            (f64::NAN, 0),
            (f64::INFINITY, 0),
            (f64::NEG_INFINITY, 0),
            (-5.0, 0),
            (0.0, 0),
            (1_796_083_200.9, 1_796_083_200),
            (1e30, u64::MAX),
        ] {
            assert_eq!(UnixTime::from_js_secs(js), UnixTime(want), "{js}");
        }
    }

    use super::*;

    #[test]
    fn round_trips_known_dates() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2026-11-28T16:41:10Z"), Ok(1_795_884_070));
        assert_eq!(format_rfc3339(1_795_884_070), "2026-11-28T16:41:10Z");
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00.123+01:00"),
            Ok(1_709_204_400)
        );
        for t in [0, 951_782_400, 1_709_164_800, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Ok(t));
        }
    }

    #[test]
    fn refuses_malformed_dates() {
        for s in [
            "",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-28 16:41:10Z",
            "2026-11-28T16:41:10",
            "2026-11-28T24:00:00Z",
            "2026-11-28T16:41:10+0100",
            "1969-12-31T23:59:59Z",
            "+026-11-28T16:41:10Z",
        ] {
            assert_eq!(
                parse_rfc3339(s).map_err(|e| e.code()),
                Err("claim_invalid"),
                "{s}"
            );
        }
    }
}
