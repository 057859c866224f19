//! Compact QR encoding for passport URLs (cargo feature `encode`).
//!
//! A Cellproof label URL is a fixed prefix ending in `#` followed by a long run of digits (the
//! passport identifier and signature packed as a decimal number). Byte mode spends 8 bits per
//! character; numeric mode spends 10 bits per 3 digits. Putting the prefix in a byte segment and
//! the digits in a numeric segment therefore needs a smaller symbol (fewer, larger modules) for
//! the same text, which matters on a small, curved cell label.

use std::fmt;

use qrcode::bits::Bits;
use qrcode::types::QrError;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Error-correction level: the share of codewords that can be lost (about 7%, 15%, 25%, 30%).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ecc {
    /// About 7% recovery.
    L,
    /// About 15% recovery.
    M,
    /// About 25% recovery.
    Q,
    /// About 30% recovery.
    H,
}

impl Ecc {
    fn level(self) -> EcLevel {
        match self {
            Ecc::L => EcLevel::L,
            Ecc::M => EcLevel::M,
            Ecc::Q => EcLevel::Q,
            Ecc::H => EcLevel::H,
        }
    }
}

/// Why a code could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The numeric segment contains something other than ASCII `0`-`9`.
    NotDigits {
        /// Byte offset of the first offending character in `digits`.
        position: usize,
    },
    /// The data does not fit a version-40 symbol at the requested ECC level.
    TooLong {
        /// The ECC level that was requested.
        ecc: Ecc,
    },
}

impl EncodeError {
    /// A stable lower_snake_case identifier for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            EncodeError::NotDigits { .. } => "not_digits",
            EncodeError::TooLong { .. } => "too_long",
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::NotDigits { position } => {
                write!(f, "numeric segment has a non-digit at byte {position}")
            }
            EncodeError::TooLong { ecc } => {
                write!(
                    f,
                    "data does not fit a version-40 QR code at ECC level {ecc:?}"
                )
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// Width of the quiet zone added by every renderer, in modules (the spec's minimum).
pub const QUIET_ZONE: u32 = 4;

/// Largest module size accepted by [`Encoded::to_luma`]; larger requests are clamped. A
/// version-40 code at 64 px/module is about 11 500 px square (130 MB), already far beyond any
/// label printer.
pub const MAX_MODULE_PX: u32 = 64;

/// A built QR code.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// QR version, 1..=40 (the symbol is `17 + 4 * version` modules wide).
    pub version: u8,
    /// The error-correction level used.
    pub ecc: Ecc,
    width: u32,
    /// Row-major, `true` = dark module.
    dark: Vec<bool>,
}

/// Builds the smallest QR code (at `ecc`) whose data is a byte-mode segment holding
/// `url_prefix` followed by a numeric-mode segment holding `digits`.
///
/// `url_prefix` is meant to be everything up to and including the `#` of the passport URL, but
/// any text is accepted. `digits` must be ASCII digits only (it may be empty). The decoded text
/// is `url_prefix` followed by `digits`.
pub fn encode_url_numeric(
    url_prefix: &str,
    digits: &str,
    ecc: Ecc,
) -> Result<Encoded, EncodeError> {
    if let Some(position) = digits.bytes().position(|b| !b.is_ascii_digit()) {
        return Err(EncodeError::NotDigits { position });
    }
    smallest(ecc, |bits| {
        bits.push_byte_data(url_prefix.as_bytes())?;
        if !digits.is_empty() {
            bits.push_numeric_data(digits.as_bytes())?;
        }
        Ok(())
    })
}

/// Builds the smallest QR code (at `ecc`) holding `text` as one plain byte-mode segment: the
/// baseline that [`encode_url_numeric`] is compared with.
pub fn encode_bytes(text: &str, ecc: Ecc) -> Result<Encoded, EncodeError> {
    smallest(ecc, |bits| bits.push_byte_data(text.as_bytes()))
}

/// Tries versions 1..=40 and keeps the first one the segments fit in. The capacity depends on
/// the version through both the data capacity and the width of the character-count fields, so
/// a trial encode per version is simpler and exact.
fn smallest(
    ecc: Ecc,
    push: impl Fn(&mut Bits) -> Result<(), QrError>,
) -> Result<Encoded, EncodeError> {
    let level = ecc.level();
    for v in 1..=40i16 {
        let mut bits = Bits::new(Version::Normal(v));
        if push(&mut bits).is_err() || bits.push_terminator(level).is_err() {
            continue;
        }
        let Ok(code) = QrCode::with_bits(bits, level) else {
            continue;
        };
        let width = u32::try_from(code.width()).map_err(|_| EncodeError::TooLong { ecc })?;
        return Ok(Encoded {
            version: u8::try_from(v).map_err(|_| EncodeError::TooLong { ecc })?,
            ecc,
            width,
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        });
    }
    Err(EncodeError::TooLong { ecc })
}

impl Encoded {
    /// Width (and height) of the symbol in modules, without quiet zone.
    pub fn modules(&self) -> u32 {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark. Out-of-range positions (the quiet
    /// zone and beyond) are light.
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.width {
            return false;
        }
        let i = y as usize * self.width as usize + x as usize;
        self.dark.get(i).copied().unwrap_or(false)
    }

    /// Like [`Encoded::is_dark`], in coordinates that include the quiet zone.
    fn dark_with_quiet(&self, x: u32, y: u32) -> bool {
        match (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) {
            (Some(x), Some(y)) => self.is_dark(x, y),
            _ => false,
        }
    }

    /// An SVG document, one unit per module, with a white background and a 4-module quiet zone.
    /// Scale it freely (`shape-rendering="crispEdges"` keeps module edges sharp).
    pub fn to_svg(&self) -> String {
        let size = self.width + 2 * QUIET_ZONE;
        let mut path = String::new();
        for y in 0..self.width {
            // Merge horizontal runs of dark modules into one rectangle: a version-15 code has
            // ~3000 dark modules and per-module rects would make the file several times larger.
            let mut x = 0;
            while x < self.width {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && self.is_dark(x, y) {
                    x += 1;
                }
                path.push_str(&format!(
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE,
                    x - start,
                    x - start
                ));
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
             shape-rendering=\"crispEdges\">\
             <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{path}\"/></svg>\n"
        )
    }

    /// The code as text for a terminal: two module rows per line with Unicode half blocks and
    /// a 4-module quiet zone.
    ///
    /// Each line sets an explicit black foreground on a white background (ANSI 256-colour
    /// codes 16 and 231) and resets at the end, so the code reads the same on dark and light
    /// terminal themes instead of appearing inverted on one of them.
    pub fn to_terminal(&self) -> String {
        let size = self.width + 2 * QUIET_ZONE;
        let mut out = String::new();
        let mut y = 0;
        while y < size {
            out.push_str("\x1b[38;5;16;48;5;231m");
            for x in 0..size {
                let top = self.dark_with_quiet(x, y);
                let bottom = y + 1 < size && self.dark_with_quiet(x, y + 1);
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push_str("\x1b[0m\n");
            y += 2;
        }
        out
    }

    /// Renders the code as 8-bit grayscale (0 = dark, 255 = light), `module_px` pixels per
    /// module (clamped to `1..=MAX_MODULE_PX`), with a 4-module quiet zone.
    /// Returns `(width, height, pixels)`, row-major: ready for a PNG encoder or for
    /// [`crate::decode_luma`].
    pub fn to_luma(&self, module_px: u32) -> (u32, u32, Vec<u8>) {
        let m = module_px.clamp(1, MAX_MODULE_PX);
        let side = (self.width + 2 * QUIET_ZONE) * m;
        let mut px = Vec::with_capacity(side as usize * side as usize);
        for py in 0..side {
            for px_x in 0..side {
                let dark = self.dark_with_quiet(px_x / m, py / m);
                px.push(if dark { 0 } else { 255 });
            }
        }
        (side, side, px)
    }
}
