//! Compressed GS1 Digital Links, decompression only (SPEC.md section 2.1, item 4; GS1 Digital
//! Link URI Syntax 1.2, "compression"): a path segment in GS1's URI-safe base64 holding a bit
//! stream of AIs and values, read here back into the AIs of an uncompressed Digital Link.
//!
//! The bit format follows GS1's reference implementation, `GS1DigitalLinkToolkit.js` of
//! github.com/gs1/GS1DigitalLinkCompressionPrototype (Apache-2.0, copyright GS1 AISBL),
//! `decompressBinaryToGS1AIarray`, `decodeBinaryValue` and `handleDecodings`, with its tables
//! P (digits of an AI by its first two), F (the value format of each AI) and Opt (one code for
//! a common sequence of AIs), written here as static rows searched in order: no hash maps, no
//! sorting and no large `match` (each of those costs kilobytes of the consumer page's
//! WebAssembly; this file adds about 6.7 KB to it, gzip). Where the reference is lenient this
//! reader is strict, and where it loses data this reader does not:
//!
//! - a field read past the end of the stream, a length beyond the AI's maximum, a number larger
//!   than its digits, an AI the tables do not define, an encoding other than 0-4, a value
//!   outside GS1 set 82, an AI given twice and a foreign key spelled in digits (an AI in
//!   disguise) are refused, where the reference reads short fields as zero or overwrites;
//! - the padding after the last value must be fewer than 6 bits, all zero (the compressor pads
//!   to whole base64 characters with zeros), so trailing garbage is refused;
//! - an all-numeric value keeps its leading zeros: its length field says how many digits it
//!   has (the reference prints the number alone, so serial `000123` came back as `123`);
//! - a foreign (non-GS1) key=value pair's value is read whole (the reference prefixes it with
//!   `undefined`);
//! - AI 7040 is not read (the reference's table gives its 3 alphanumeric characters no
//!   length, so it compresses them to nothing).

use crate::gs1::{encode_value, is_cset82};
use crate::Error;

/// Longest compressed segment read, in characters (6 bits each: 6144 bits, room for more AIs
/// than a label carries; every field is at least 8 bits, so this also bounds the AI count).
pub const MAX_COMPRESSED: usize = 1024;

/// GS1's URI-safe base64 alphabet (RFC 4648 section 5's, without padding).
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One component of an AI's value (the reference's table F): fixed or variable length,
/// numeric or alphanumeric.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Part {
    /// Exactly this many digits, no length field.
    Num(usize),
    /// Up to this many digits, after a length field.
    NumVar(usize),
    /// Exactly this many characters, after an encoding field.
    Alnum(usize),
    /// Up to this many characters, after an encoding and a length field.
    AlnumVar(usize),
}

use Part::{Alnum, AlnumVar, Num, NumVar};

fn bad(reason: &'static str) -> Error {
    Error::DigitalLinkInvalid { reason }
}

/// Digits of an AI by its first two (the reference's table P); `None` for a reserved prefix.
fn ai_digits(first_two: u32) -> Option<usize> {
    match first_two {
        0..=2 | 10..=13 | 15..=17 | 20..=22 | 30 | 37 | 90..=99 => Some(2),
        23..=25 | 40..=42 | 71 => Some(3),
        31..=36 | 39 | 43 | 70 | 72 | 80..=82 => Some(4),
        _ => None,
    }
}

/// The value formats of the AIs compression carries (the reference's table F, GS1 General
/// Specifications formats), as `(digits, first AI, last AI, format)` rows; trade measures
/// 31nd-36nd are computed in [`format`]. Rows rather than a `match` on the AI number: LLVM
/// turns a `match` over 0-8200 into a jump table of tens of kilobytes of WebAssembly.
const FORMATS: &[(usize, u16, u16, &[Part])] = &[
    (2, 0, 0, &[Num(18)]),
    (2, 1, 2, &[Num(14)]),
    (2, 10, 10, &[AlnumVar(20)]),
    (2, 11, 13, &[Num(6)]),
    (2, 15, 17, &[Num(6)]),
    (2, 20, 20, &[Num(2)]),
    (2, 21, 22, &[AlnumVar(20)]),
    (2, 30, 30, &[NumVar(8)]),
    (2, 37, 37, &[NumVar(8)]),
    (2, 90, 90, &[AlnumVar(30)]),
    (2, 91, 99, &[AlnumVar(90)]),
    (3, 235, 235, &[Num(3), AlnumVar(28)]),
    (3, 240, 241, &[AlnumVar(30)]),
    (3, 242, 242, &[NumVar(6)]),
    (3, 243, 243, &[AlnumVar(20)]),
    (3, 250, 251, &[AlnumVar(30)]),
    (3, 253, 253, &[Num(13), AlnumVar(17)]),
    (3, 254, 254, &[AlnumVar(20)]),
    (3, 255, 255, &[Num(13), NumVar(12)]),
    (3, 400, 401, &[AlnumVar(30)]),
    (3, 402, 402, &[Num(17)]),
    (3, 403, 403, &[AlnumVar(30)]),
    (3, 410, 417, &[Num(13)]),
    (3, 420, 420, &[AlnumVar(20)]),
    (3, 421, 421, &[Num(3), AlnumVar(9)]),
    (3, 422, 422, &[Num(3)]),
    (3, 423, 423, &[Num(3), NumVar(12)]),
    (3, 424, 424, &[Num(3)]),
    (3, 425, 425, &[Num(3), NumVar(12)]),
    (3, 426, 426, &[Num(3)]),
    (3, 427, 427, &[AlnumVar(3)]),
    (3, 710, 714, &[AlnumVar(20)]),
    (4, 3900, 3909, &[NumVar(15)]),
    (4, 3910, 3919, &[Num(3), NumVar(15)]),
    (4, 3920, 3929, &[NumVar(15)]),
    (4, 3930, 3939, &[Num(3), NumVar(15)]),
    (4, 3940, 3943, &[Num(4)]),
    (4, 3950, 3959, &[Num(6)]),
    (4, 4300, 4301, &[AlnumVar(35)]),
    (4, 4302, 4306, &[AlnumVar(70)]),
    (4, 4307, 4307, &[Alnum(2)]),
    (4, 4308, 4308, &[AlnumVar(30)]),
    (4, 4309, 4309, &[Num(20)]),
    (4, 4310, 4311, &[AlnumVar(35)]),
    (4, 4312, 4316, &[AlnumVar(70)]),
    (4, 4317, 4317, &[Alnum(2)]),
    (4, 4318, 4318, &[AlnumVar(20)]),
    (4, 4319, 4319, &[AlnumVar(30)]),
    (4, 4320, 4320, &[AlnumVar(35)]),
    (4, 4321, 4323, &[Num(1)]),
    (4, 4324, 4325, &[Num(10)]),
    (4, 4326, 4326, &[Num(6)]),
    (4, 7001, 7001, &[Num(13)]),
    (4, 7002, 7002, &[AlnumVar(30)]),
    (4, 7003, 7003, &[Num(10)]),
    (4, 7004, 7004, &[NumVar(4)]),
    (4, 7005, 7005, &[AlnumVar(12)]),
    (4, 7006, 7006, &[Num(6)]),
    (4, 7007, 7007, &[Num(6), NumVar(6)]),
    (4, 7008, 7008, &[AlnumVar(3)]),
    (4, 7009, 7009, &[AlnumVar(10)]),
    (4, 7010, 7010, &[AlnumVar(2)]),
    (4, 7020, 7022, &[AlnumVar(20)]),
    (4, 7023, 7023, &[AlnumVar(30)]),
    (4, 7030, 7039, &[Num(3), AlnumVar(27)]),
    (4, 7230, 7239, &[AlnumVar(30)]),
    (4, 7240, 7240, &[AlnumVar(20)]),
    (4, 8001, 8001, &[Num(14)]),
    (4, 8002, 8002, &[AlnumVar(20)]),
    (4, 8003, 8003, &[Num(14), AlnumVar(16)]),
    (4, 8004, 8004, &[AlnumVar(30)]),
    (4, 8005, 8005, &[Num(6)]),
    (4, 8006, 8006, &[Num(18)]),
    (4, 8007, 8007, &[AlnumVar(24)]),
    (4, 8008, 8008, &[Num(8), NumVar(4)]),
    (4, 8009, 8009, &[AlnumVar(50)]),
    (4, 8010, 8010, &[AlnumVar(30)]),
    (4, 8011, 8011, &[NumVar(12)]),
    (4, 8012, 8012, &[AlnumVar(20)]),
    (4, 8013, 8013, &[AlnumVar(30)]),
    (4, 8017, 8018, &[Num(18)]),
    (4, 8019, 8019, &[NumVar(10)]),
    (4, 8020, 8020, &[AlnumVar(25)]),
    (4, 8026, 8026, &[Num(18)]),
    (4, 8110, 8110, &[AlnumVar(70)]),
    (4, 8111, 8111, &[Num(4)]),
    (4, 8112, 8112, &[AlnumVar(70)]),
    (4, 8200, 8200, &[AlnumVar(70)]),
];

/// The value format of an AI, `None` for one compression does not carry.
fn format(ai: &str) -> Option<&'static [Part]> {
    let n: u16 = ai.parse().ok()?;
    let digits = ai.len();
    // Trade measures 31nd-36nd: n a measure (31: 0-6, 33 and 35: 0-7, else 0-9), d the
    // decimal point position 0-5; six digits each.
    if digits == 4 && (3100..=3699).contains(&n) {
        let measures = match n / 100 {
            31 => 6,
            33 | 35 => 7,
            _ => 9,
        };
        return ((n / 10) % 10 <= measures && n % 10 <= 5).then_some(&[Num(6)]);
    }
    FORMATS
        .iter()
        .find(|(d, first, last, _)| *d == digits && (*first..=*last).contains(&n))
        .map(|(_, _, _, parts)| *parts)
}

/// The AIs each optimisation code stands for (the reference's table Opt), by the code's two hex
/// digits as one byte: 2A-2F and 3A-3F are net weights in kg and pounds, A0-A9 amounts
/// payable, C0-CD a coupon's (GCN 255) amounts.
const OPTIMISED: &[(u32, &[&str])] = &[
    (0x0A, &["01", "22"]),
    (0x0B, &["01", "10"]),
    (0x0C, &["01", "21"]),
    (0x0D, &["01", "17"]),
    (0x0E, &["01", "7003"]),
    (0x0F, &["01", "30"]),
    (0x1A, &["01", "10", "21", "17"]),
    (0x1B, &["01", "15"]),
    (0x1C, &["01", "11"]),
    (0x1D, &["01", "16"]),
    (0x1E, &["01", "91"]),
    (0x1F, &["01", "10", "15"]),
    (0x2A, &["01", "3100"]),
    (0x2B, &["01", "3101"]),
    (0x2C, &["01", "3102"]),
    (0x2D, &["01", "3103"]),
    (0x2E, &["01", "3104"]),
    (0x2F, &["01", "3105"]),
    (0x3A, &["01", "3200"]),
    (0x3B, &["01", "3201"]),
    (0x3C, &["01", "3202"]),
    (0x3D, &["01", "3203"]),
    (0x3E, &["01", "3204"]),
    (0x3F, &["01", "3205"]),
    (0x9A, &["8010", "8011"]),
    (0x9B, &["8017", "8019"]),
    (0x9C, &["8018", "8019"]),
    (0x9D, &["414", "254"]),
    (0xA0, &["01", "3920"]),
    (0xA1, &["01", "3921"]),
    (0xA2, &["01", "3922"]),
    (0xA3, &["01", "3923"]),
    (0xA4, &["01", "3924"]),
    (0xA5, &["01", "3925"]),
    (0xA6, &["01", "3926"]),
    (0xA7, &["01", "3927"]),
    (0xA8, &["01", "3928"]),
    (0xA9, &["01", "3929"]),
    (0xC0, &["255", "3900"]),
    (0xC1, &["255", "3901"]),
    (0xC2, &["255", "3902"]),
    (0xC3, &["255", "3903"]),
    (0xC4, &["255", "3904"]),
    (0xC5, &["255", "3905"]),
    (0xC6, &["255", "3906"]),
    (0xC7, &["255", "3907"]),
    (0xC8, &["255", "3908"]),
    (0xC9, &["255", "3909"]),
    (0xCA, &["255", "3940"]),
    (0xCB, &["255", "3941"]),
    (0xCC, &["255", "3942"]),
    (0xCD, &["255", "3943"]),
];

fn optimised(h1: u32, h2: u32) -> Option<&'static [&'static str]> {
    let code = h1 * 16 + h2;
    OPTIMISED
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, ais)| *ais)
}

/// Bits of number of digits `n`, as the reference computes them:
/// `ceil(n * log2(10) + 0.01)` (so 0 digits still take 1 bit). Integer arithmetic with
/// log2(10) to 15 decimals gives the same result for every `n` a field can hold (a test
/// compares it with the floating-point formula).
fn value_bits(n: usize) -> Result<usize, Error> {
    const SCALE: u64 = 100_000_000_000_000;
    let n = u64::try_from(n).map_err(|_| bad("a value is too long"))?;
    let bits = (n * 332_192_809_488_736 + SCALE / 100).div_ceil(SCALE);
    usize::try_from(bits).map_err(|_| bad("a value is too long"))
}

/// Bits of a length field for values of at most `max` characters: the reference's
/// `ceil(log2(max) + 0.01)`, which is the bit length of `max`.
fn length_bits(max: usize) -> usize {
    let mut bits = 0;
    let mut m = max;
    while m > 0 {
        bits += 1;
        m >>= 1;
    }
    bits
}

/// The bit stream of a compressed segment, read from the most significant bit of its first
/// character; reading past its end is an error, never zeros.
struct Bits {
    bits: Vec<bool>,
    at: usize,
}

impl Bits {
    fn new(segment: &str) -> Result<Self, Error> {
        let mut bits = Vec::with_capacity(segment.len() * 6);
        for c in segment.bytes() {
            let v = B64.iter().position(|&a| a == c).ok_or(bad(
                "a compressed segment holds a character outside base64url",
            ))?;
            bits.extend((0..6).rev().map(|i| (v >> i) & 1 == 1));
        }
        Ok(Bits { bits, at: 0 })
    }

    fn left(&self) -> usize {
        self.bits.len().saturating_sub(self.at)
    }

    fn take(&mut self, n: usize) -> Result<&[bool], Error> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bits.len())
            .ok_or(bad("the compressed bit stream ends inside a field"))?;
        let out = self.bits.get(self.at..end).unwrap_or_default();
        self.at = end;
        Ok(out)
    }

    /// A field of at most 8 bits (codes, lengths, encodings), as a number.
    fn small(&mut self, n: usize) -> Result<u32, Error> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0, |acc, &b| (acc << 1) | u32::from(b)))
    }

    /// `digits` decimal digits, leading zeros kept: a binary number of `value_bits(digits)`
    /// bits that must be below 10^digits.
    fn decimal(&mut self, digits: usize) -> Result<String, Error> {
        let n = value_bits(digits)?;
        // Little-endian decimal digits of the number read so far.
        let mut dec: Vec<u8> = Vec::new();
        for &bit in self.take(n)? {
            let mut carry = u8::from(bit);
            for d in dec.iter_mut() {
                let v = *d * 2 + carry;
                *d = v % 10;
                carry = v / 10;
            }
            if carry > 0 {
                dec.push(carry);
            }
        }
        if dec.len() > digits {
            return Err(bad("a compressed number has more digits than its length"));
        }
        let mut out: String = (dec.len()..digits).map(|_| '0').collect();
        out.extend(dec.iter().rev().map(|d| char::from(b'0' + d)));
        Ok(out)
    }

    /// `count` characters of encoding `enc` (the reference's `handleDecodings`): 0 digits,
    /// 1 lower-case hex, 2 upper-case hex, 3 base64url, 4 7-bit ASCII.
    fn chars(&mut self, enc: u32, count: usize) -> Result<String, Error> {
        let (width, alphabet): (usize, &[u8]) = match enc {
            0 => return self.decimal(count),
            1 => (4, b"0123456789abcdef"),
            2 => (4, b"0123456789ABCDEF"),
            3 => (6, B64),
            4 => (7, &[]),
            _ => return Err(bad("a compressed value names an encoding other than 0-4")),
        };
        let mut out = String::with_capacity(count);
        for _ in 0..count {
            let v = self.small(width)?;
            let c = if width == 7 {
                u8::try_from(v).ok()
            } else {
                usize::try_from(v)
                    .ok()
                    .and_then(|i| alphabet.get(i).copied())
            };
            out.push(char::from(
                c.ok_or(bad("a compressed character is out of range"))?,
            ));
        }
        Ok(out)
    }
}

/// An AI's value, its components in order (the reference's `decodeBinaryValue`). A variable
/// component after a fixed one may be empty (GCN 255, 7007, 8008: the second part is optional);
/// a value's first component may not.
fn read_value(bits: &mut Bits, ai: &str) -> Result<String, Error> {
    let parts = format(ai).ok_or(bad(
        "a compressed AI that GS1 Digital Link compression does not define",
    ))?;
    let mut value = String::new();
    for (i, part) in parts.iter().enumerate() {
        let min = usize::from(i == 0);
        let piece = match *part {
            Num(len) => bits.decimal(len)?,
            // An empty number still takes value_bits(0) = 1 bit, which must be 0.
            NumVar(max) => {
                let len = bounded_length(bits, max, min)?;
                bits.decimal(len)?
            }
            Alnum(len) => {
                let enc = bits.small(3)?;
                bits.chars(enc, len)?
            }
            AlnumVar(max) => {
                let enc = bits.small(3)?;
                let len = bounded_length(bits, max, min)?;
                bits.chars(enc, len)?
            }
        };
        value.push_str(&piece);
    }
    if !value.bytes().all(is_cset82) {
        return Err(match ai {
            "21" => Error::SerialInvalid,
            _ => bad("a compressed AI value holds a character outside GS1 set 82"),
        });
    }
    Ok(value)
}

fn bounded_length(bits: &mut Bits, max: usize, min: usize) -> Result<usize, Error> {
    let len = usize::try_from(bits.small(length_bits(max))?)
        .map_err(|_| bad("a compressed length is out of range"))?;
    if len > max || len < min {
        return Err(bad(
            "a compressed length is outside the AI's 1 to maximum characters",
        ));
    }
    Ok(len)
}

/// A foreign (non-GS1) key=value pair after the flag hex F: a 7-bit key length (h2's four bits
/// and three more), the key in base64url, then an encoding, a 7-bit length and the value.
fn read_foreign(bits: &mut Bits, h2: u32) -> Result<(String, String), Error> {
    let key_len = usize::try_from((h2 << 3) | bits.small(3)?)
        .map_err(|_| bad("a compressed length is out of range"))?;
    if key_len == 0 {
        return Err(bad("a compressed key=value pair has an empty key"));
    }
    let key = bits.chars(3, key_len)?;
    // An all-digit key would be read as an AI by whoever reads the uncompressed link.
    if key.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("a compressed non-GS1 key is all digits (an AI)"));
    }
    let enc = bits.small(3)?;
    let len =
        usize::try_from(bits.small(7)?).map_err(|_| bad("a compressed length is out of range"))?;
    let value = bits.chars(enc, len)?;
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad("a compressed value holds a control character"));
    }
    Ok((key, value))
}

/// The AIs and foreign key=value pairs of one compressed segment, in stream order.
#[derive(Debug, Default)]
struct Stream {
    ais: Vec<(String, String)>,
    foreign: Vec<(String, String)>,
}

fn read_stream(segment: &str) -> Result<Stream, Error> {
    if segment.len() > MAX_COMPRESSED {
        return Err(Error::InputTooLarge {
            what: "compressed Digital Link segment",
            limit: MAX_COMPRESSED,
        });
    }
    let mut bits = Bits::new(segment)?;
    let mut out = Stream::default();
    // Every entry is longer than 8 bits; what is left after the last is the padding.
    while bits.left() > 8 {
        let (h1, h2) = (bits.small(4)?, bits.small(4)?);
        if h1 <= 9 && h2 <= 9 {
            let digits =
                ai_digits(h1 * 10 + h2).ok_or(bad("a compressed AI in GS1's reserved range"))?;
            let mut ai = String::with_capacity(digits);
            for i in 0..digits {
                let d = match i {
                    0 => h1,
                    1 => h2,
                    _ => bits.small(4)?,
                };
                ai.push(char::from_digit(d, 10).ok_or(bad("a compressed AI is not all digits"))?);
            }
            let value = read_value(&mut bits, &ai)?;
            out.ais.push((ai, value));
        } else if let Some(seq) = optimised(h1, h2) {
            for ai in seq {
                let value = read_value(&mut bits, ai)?;
                out.ais.push(((*ai).to_owned(), value));
            }
        } else if h1 == 0xF {
            out.foreign.push(read_foreign(&mut bits, h2)?);
        } else {
            return Err(bad("a compressed code that names no AI"));
        }
    }
    // The compressor pads to whole base64 characters with zero bits: fewer than 6, all zero.
    let rest = bits.take(bits.left())?;
    if rest.len() >= 6 || rest.iter().any(|&b| b) {
        return Err(bad(
            "the compressed bit stream has trailing data after its last value",
        ));
    }
    // Quadratic, but over at most MAX_COMPRESSED * 6 / 9 names; a sort would add kilobytes to
    // the WebAssembly build for a check this small.
    let names: Vec<&str> = out
        .ais
        .iter()
        .chain(&out.foreign)
        .map(|(k, _)| k.as_str())
        .collect();
    for (i, name) in names.iter().enumerate() {
        if names.iter().skip(i + 1).any(|n| n == name) {
            return Err(bad("a compressed Digital Link names an AI or key twice"));
        }
    }
    Ok(out)
}

/// A compressed Digital Link path, read: the prefix before it, AI 01's value as scanned (a
/// GTIN-8/12/13/14, not yet checked), the other AIs and the foreign pairs.
#[derive(Debug)]
pub(crate) struct Expanded {
    prefix: Vec<String>,
    gtin: String,
    ais: Vec<(String, String)>,
    foreign: Vec<(String, String)>,
}

fn base64url(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| B64.contains(&c))
}

/// Reads a URL path (without query) as a compressed Digital Link (SPEC.md section 2.1, item 4):
/// `None` when it is no candidate (it names AI 01 and is not `/01/{gtin}/{compressed}`), an
/// error when it is one but does not decompress to AIs starting with 01.
pub(crate) fn expand(path: &str) -> Result<Option<Expanded>, Error> {
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let (prefix, gtin, stream) = match segs.iter().position(|s| *s == "01") {
        // Partial compression: the primary key uncompressed, the rest in one segment.
        Some(at) => match segs.get(at..) {
            Some([_, gtin, last]) if base64url(last) => {
                let stream = read_stream(last)?;
                if stream.ais.iter().any(|(ai, _)| ai == "01") {
                    return Err(bad("a second AI 01 in the compressed segment"));
                }
                (
                    segs.get(..at).unwrap_or_default(),
                    (*gtin).to_owned(),
                    stream,
                )
            }
            _ => return Ok(None),
        },
        None => {
            let Some((last, prefix)) = segs.split_last() else {
                return Err(bad("the URL has no path"));
            };
            if !base64url(last) {
                return Err(bad(
                    "the path names no AI 01 and its last segment is no compressed Digital Link",
                ));
            }
            let mut stream = read_stream(last)?;
            if stream.ais.first().map(|(ai, _)| ai.as_str()) != Some("01") {
                return Err(bad(
                    "a compressed Digital Link whose AIs do not start with 01",
                ));
            }
            let (_, gtin) = stream.ais.remove(0);
            (prefix, gtin, stream)
        }
    };
    Ok(Some(Expanded {
        prefix: prefix.iter().map(|s| (*s).to_owned()).collect(),
        gtin,
        ais: stream.ais,
        foreign: stream.foreign,
    }))
}

/// Percent-encodes a query name or value: everything but RFC 3986's unreserved characters.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Expanded {
    /// The uncompressed path: `/{prefix}/01/{gtin}[/22/...][/10/...][/21/...]`, qualifiers in
    /// GS1's order and percent-encoded as in any Digital Link.
    pub(crate) fn path(&self) -> String {
        let mut out: String = self.prefix.iter().map(|s| format!("/{s}")).collect();
        out.push_str(&format!("/01/{}", self.gtin));
        for q in ["22", "10", "21"] {
            if let Some((_, v)) = self.ais.iter().find(|(ai, _)| ai == q) {
                out.push_str(&format!("/{q}/{}", encode_value(v)));
            }
        }
        out
    }

    /// The query: the other AIs and then the foreign pairs, each in stream order (GS1's
    /// compressor writes AIs sorted, after its optimisation groups), then the URL's own query
    /// (`extra`), so a compressed attribute comes before a repeated one. No sorting here: a
    /// sort or a `BTreeMap` built from an iterator adds kilobytes to the WebAssembly build.
    pub(crate) fn query(&self, extra: &str) -> String {
        let mut parts: Vec<String> = self
            .ais
            .iter()
            .filter(|(ai, _)| !matches!(ai.as_str(), "22" | "10" | "21"))
            .chain(&self.foreign)
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect();
        if !extra.is_empty() {
            parts.push(extra.to_owned());
        }
        parts.join("&")
    }
}

/// Decompresses the path of a compressed GS1 Digital Link (SPEC.md section 2.1, item 4), with
/// its query if any: `/[prefix/]{compressed}[?query]` or `/[prefix/]01/{gtin}/{compressed}` to
/// `/[prefix/]01/{gtin14}[/22/...][/10/...][/21/...][?{AI}={value}&...&{query}]`, the
/// uncompressed Digital Link (for a resolver's `owl:sameAs`). The GTIN's check digit and the
/// qualifiers are checked as a Digital Link's are; a path that is no compressed Digital Link is
/// `digital_link_invalid`.
pub fn decompress_path(path: &str) -> Result<String, Error> {
    let path = path.split_once('#').map_or(path, |(p, _)| p);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut x = expand(path)?.ok_or(bad("the path is an uncompressed Digital Link"))?;
    x.gtin = crate::label::gtin14(&x.gtin)?;
    let query = x.query(query);
    Ok(if query.is_empty() {
        x.path()
    } else {
        format!("{}?{query}", x.path())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer `value_bits` equals the reference's floating-point formula for every length
    /// a field can state (7-bit lengths: 0-127), and `length_bits` its `ceil(log2(m) + 0.01)`.
    #[test]
    fn bit_counts_match_the_reference_formulas() {
        for n in 0u32..=127 {
            let float = (f64::from(n) * 10f64.ln() / 2f64.ln() + 0.01).ceil();
            assert_eq!(value_bits(n as usize).unwrap() as f64, float, "{n}");
        }
        for m in 1u32..=127 {
            let float = (f64::from(m).ln() / 2f64.ln() + 0.01).ceil();
            assert_eq!(length_bits(m as usize) as f64, float, "{m}");
        }
    }

    #[test]
    fn every_optimisation_names_defined_ais() {
        for h1 in 0..16 {
            for h2 in 0..16 {
                for ai in optimised(h1, h2).unwrap_or_default() {
                    assert!(format(ai).is_some(), "{h1:X}{h2:X}: {ai}");
                }
            }
        }
        assert_eq!(optimised(2, 0xD).unwrap(), ["01", "3103"]);
        assert_eq!(optimised(3, 0xA).unwrap(), ["01", "3200"]);
        assert_eq!(optimised(0xC, 0xB).unwrap(), ["255", "3941"]);
    }

    /// Every AI of the reference's table F (`tests/gs1-compression-table-f.json`, copied from
    /// GS1DigitalLinkToolkit.js at 21a894b, Apache License 2.0, copyright GS1 AISBL) has the
    /// same format here, and no other AI of 2, 3 or 4 digits has one; 7040 is left out (its
    /// table entry gives the alphanumeric part no length).
    #[test]
    fn the_format_table_is_the_reference_table() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../tests/gs1-compression-table-f.json")).unwrap();
        let table = table.as_object().unwrap();
        for (ai, parts) in table {
            if ai == "7040" {
                continue;
            }
            let want: Vec<Part> = parts
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let n = |k: &str| p[k].as_str().and_then(|v| v.parse().ok());
                    match (p["E"].as_str().unwrap(), n("L"), n("M")) {
                        ("N", Some(l), None) => Num(l),
                        ("N", None, Some(m)) => NumVar(m),
                        ("X", Some(l), None) => Alnum(l),
                        ("X", None, Some(m)) => AlnumVar(m),
                        other => panic!("{ai}: {other:?}"),
                    }
                })
                .collect();
            assert_eq!(format(ai), Some(want.as_slice()), "{ai}");
        }
        for digits in 2..=4 {
            for n in 0..10usize.pow(digits) {
                let ai = format!("{n:0w$}", w = digits as usize);
                let first_two: u32 = ai[..2].parse().unwrap();
                if ai_digits(first_two) == Some(digits as usize) && !table.contains_key(&ai) {
                    assert_eq!(format(&ai), None, "{ai}");
                }
            }
        }
        assert!(format("7040").is_none() && format("1").is_none() && format("x1").is_none());
    }
}
