//! The QR decode cascade around rxing, and the engine order (natively zxing-cpp first, see
//! `zxing.rs`; this cascade where it found nothing).
//!
//! rxing on its own misses two kinds of image that matter for Cellproof: codes that fill the
//! whole frame (no quiet zone left for the finder-pattern scan) and high-resolution photos of
//! screens or labels where the binarizer sees moiré and sensor noise instead of modules. Most of
//! those decode again after a box downscale, padding, or the other binarizer, so [`decode_luma`]
//! runs a fixed list of attempts and stops at the first one that finds anything. Cheap attempts
//! come first, so a frame with a readable code costs one rxing call.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::multi::MultipleBarcodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::qrcode::QRCodeReader;
use rxing::{BarcodeFormat, Binarizer, BinaryBitmap, DecodeHints, Luma8Source, Reader};

/// Largest accepted image, in pixels (8192 x 8192).
///
/// The decoder allocates a few bytes per pixel on top of the caller's buffer (bit matrices,
/// downscaled copies); this cap keeps that bounded in a WebAssembly page's linear memory.
pub const MAX_PIXELS: u64 = 8192 * 8192;

/// Largest accepted width or height, in pixels.
///
/// Separate from [`MAX_PIXELS`] so that absurd strips (1 x 60 000 000) are refused up front
/// instead of being handed to rxing's detectors, which were never tested on them.
pub const MAX_SIDE: u32 = 32_768;

/// Smallest side, in pixels, that a downscaled or cropped attempt may have. A version-1 code
/// needs at least 21 pixels plus some quiet zone, so anything smaller cannot hold a code and
/// would only waste an attempt.
const MIN_ATTEMPT_SIDE: usize = 32;

/// Only images whose longer side is at most this get the upscaling steps: above it there are
/// enough pixels per module for any code that is not itself tiny in the frame.
const SMALL_SIDE: usize = 400;

/// One QR code found in an image.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The decoded text, exactly as rxing returns it (byte segments decoded with rxing's
    /// character-set guess, ECI honoured).
    pub text: String,
    /// Corner points `[x, y]` in the coordinates of the image passed in, in the order
    /// top-left, top-right, bottom-right, bottom-left *of the symbol* (so a code photographed
    /// upside down has its "top-left" near the bottom-right of the image).
    ///
    /// For codes found by rxing's zxing-cpp-derived reader (nearly all) these are the outer
    /// corners of the symbol. For the rare codes only the older ZXing-Java-derived reader finds,
    /// they are the centres of the three finder patterns plus the fourth corner of their
    /// parallelogram, i.e. inset by about 3.5 modules.
    pub corners: [[f32; 2]; 4],
}

/// Why an image could not be decoded at all. "No QR code found" is not an error: it is an
/// empty `Vec`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Width or height is zero.
    EmptyImage {
        /// Width passed in.
        width: u32,
        /// Height passed in.
        height: u32,
    },
    /// `luma.len()` is not `width * height` (the buffer must be row-major with no padding).
    BufferSizeMismatch {
        /// Width passed in.
        width: u32,
        /// Height passed in.
        height: u32,
        /// Length of the buffer passed in.
        len: usize,
    },
    /// The image exceeds [`MAX_PIXELS`] or [`MAX_SIDE`].
    ImageTooLarge {
        /// Width passed in.
        width: u32,
        /// Height passed in.
        height: u32,
        /// The pixel-count limit in force.
        max_pixels: u64,
        /// The per-side limit in force.
        max_side: u32,
    },
}

impl DecodeError {
    /// A stable lower_snake_case identifier for the error kind, for logs, JSON output and the
    /// WebAssembly page (whose messages may be translated while the codes stay fixed).
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::EmptyImage { .. } => "empty_image",
            DecodeError::BufferSizeMismatch { .. } => "buffer_size_mismatch",
            DecodeError::ImageTooLarge { .. } => "image_too_large",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::EmptyImage { width, height } => {
                write!(f, "image is empty ({width}x{height})")
            }
            DecodeError::BufferSizeMismatch { width, height, len } => write!(
                f,
                "luma buffer has {len} bytes but a {width}x{height} image needs {}",
                u64::from(*width) * u64::from(*height)
            ),
            DecodeError::ImageTooLarge {
                width,
                height,
                max_pixels,
                max_side,
            } => write!(
                f,
                "image {width}x{height} is too large (limits: {max_pixels} pixels, \
                 {max_side} pixels per side)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// How hard to try before giving up on an image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Effort {
    /// For live video frames: the full-resolution attempt plus a 2x downscale. Most frames
    /// contain no code, and the next frame is another chance, so a miss is cheap.
    Fast,
    /// For still photos and uploaded images: the whole cascade. Only images in which the early
    /// attempts find nothing pay for the later ones.
    #[default]
    Thorough,
}

/// Which decoders [`decode_luma_with`] runs (docs/qr-decoder.md, "Choosing the engine").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Engine {
    /// The shipped engine. Natively: zxing-cpp first, then the rxing cascade on images in which
    /// zxing-cpp found nothing (measured: more codes than either alone, within twice
    /// zxing-cpp's time). On wasm32 the rxing cascade only: the scanner page runs zxing-cpp as
    /// WebAssembly (npm `zxing-wasm`) in its worker before this module, by the same rule.
    #[default]
    Combined,
    /// The rxing cascade only: the wasm32 engine, and the baseline the floor tests compare
    /// the combination with.
    Rxing,
    /// zxing-cpp only (native builds), for measurements.
    #[cfg(not(target_arch = "wasm32"))]
    ZxingCpp,
}

/// Options for [`decode_luma_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// How far down the cascade to go (and, natively, whether zxing-cpp also tries the
    /// inverted image).
    pub effort: Effort,
    /// Which decoders run.
    pub engine: Engine,
}

impl DecodeOptions {
    /// Options for live video frames ([`Effort::Fast`]).
    pub const fn fast() -> Self {
        DecodeOptions {
            effort: Effort::Fast,
            engine: Engine::Combined,
        }
    }

    /// Options for still photos ([`Effort::Thorough`], the default).
    pub const fn thorough() -> Self {
        DecodeOptions {
            effort: Effort::Thorough,
            engine: Engine::Combined,
        }
    }

    /// The same options with another [`Engine`].
    pub const fn with_engine(mut self, engine: Engine) -> Self {
        self.engine = engine;
        self
    }
}

/// Decodes every QR code in an 8-bit grayscale image with [`Effort::Thorough`].
///
/// `luma` is row-major, one byte per pixel, `width * height` bytes, no stride padding.
/// Returns an empty `Vec` when no code is found; codes with identical text are reported once.
pub fn decode_luma(width: u32, height: u32, luma: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
    decode_luma_with(width, height, luma, &DecodeOptions::thorough())
}

/// Like [`decode_luma`], with explicit options.
pub fn decode_luma_with(
    width: u32,
    height: u32,
    luma: &[u8],
    options: &DecodeOptions,
) -> Result<Vec<Decoded>, DecodeError> {
    decode_luma_report(width, height, luma, options).map(|r| r.codes)
}

/// What [`decode_luma_report`] found and which cascade step found it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DecodeReport {
    /// The codes found (same as [`decode_luma_with`] returns).
    pub codes: Vec<Decoded>,
    /// Name of the step that found them: `"zxing-cpp"` for the native first pass, else the
    /// cascade step (e.g. `"full"`, `"down2"`, `"pad-down2"`); `None` when nothing was found.
    pub step: Option<&'static str>,
    /// How many steps were run (the zxing-cpp pass counts as one), including the successful
    /// one.
    pub attempts: u32,
}

/// Like [`decode_luma_with`], but also says which cascade step succeeded. Meant for
/// diagnostics (the corpus tool, a CLI `--verbose`), not for normal scanning.
pub fn decode_luma_report(
    width: u32,
    height: u32,
    luma: &[u8],
    options: &DecodeOptions,
) -> Result<DecodeReport, DecodeError> {
    validate(width, height, luma.len())?;
    // Both fit in usize: validate() bounded them by MAX_SIDE.
    let full = View {
        w: width as usize,
        h: height as usize,
        px: Cow::Borrowed(luma),
        scale: 1.0,
        offset: 0.0,
    };
    let mut attempts = 0;
    // Only the native build shortens the cascade (after zxing-cpp, below).
    #[cfg_attr(target_arch = "wasm32", allow(unused_mut))]
    let mut steps: &[Step] = match options.effort {
        Effort::Fast => FAST_STEPS,
        Effort::Thorough => THOROUGH_STEPS,
    };
    #[cfg(not(target_arch = "wasm32"))]
    if options.engine != Engine::Rxing {
        attempts += 1;
        let read = crate::zxing::read(width, height, luma, options.effort);
        let codes = read.codes;
        // The cascade runs only where zxing-cpp found nothing: measured, running it on every
        // frame as well adds 1 code of 210 on the hard set for ~1.9x the time
        // (docs/qr-decoder.md). Several codes found by zxing-cpp are kept as they are (two
        // labels with the same text are two codes, at two places).
        if !codes.is_empty() || options.engine == Engine::ZxingCpp {
            let step = (!codes.is_empty()).then_some("zxing-cpp");
            return Ok(DecodeReport {
                codes: merge_codes(codes),
                step,
                attempts,
            });
        }
        // Video frames: the cascade only where zxing-cpp located a symbol it could not decode.
        // Most camera frames hold no code, and on those zxing-cpp plus the cascade costs about
        // 5x zxing-cpp alone (benches/decode.rs), against the "at most twice". Measured
        // (docs/qr-decoder.md): the gate costs 1 hard-set code and 4 corpus images with Fast,
        // still above zxing-cpp alone on both; stills (Thorough) keep the cascade on every
        // image where zxing-cpp read nothing (without the gate: 5 corpus images more).
        if options.effort == Effort::Fast && !read.unread_symbol {
            return Ok(DecodeReport {
                codes: Vec::new(),
                step: None,
                attempts,
            });
        }
        if options.effort == Effort::Thorough {
            // After zxing-cpp (which tries the inverted and downscaled image itself) only the
            // first steps add codes: on the hard set and the corpus every code the cascade
            // added came from the first six (docs/qr-decoder.md). The rest would cost a
            // code-less still photo its whole time for nothing.
            steps = THOROUGH_STEPS
                .get(..AFTER_ZXING_STEPS)
                .unwrap_or(THOROUGH_STEPS);
        }
    }
    for step in steps {
        let Some(view) = step.prepare(&full) else {
            continue;
        };
        attempts += 1;
        let codes = run_readers(&view, step);
        if !codes.is_empty() {
            return Ok(DecodeReport {
                codes,
                step: Some(step.name),
                attempts,
            });
        }
    }
    Ok(DecodeReport {
        codes: Vec::new(),
        step: None,
        attempts,
    })
}

fn validate(width: u32, height: u32, len: usize) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::EmptyImage { width, height });
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(DecodeError::ImageTooLarge {
            width,
            height,
            max_pixels: MAX_PIXELS,
            max_side: MAX_SIDE,
        });
    }
    if u64::try_from(len).ok() != Some(pixels) {
        return Err(DecodeError::BufferSizeMismatch { width, height, len });
    }
    Ok(())
}

/// A grayscale image handed to rxing, plus how to map its coordinates back to the caller's
/// image: `original = (point - offset) * scale`.
struct View<'a> {
    w: usize,
    h: usize,
    px: Cow<'a, [u8]>,
    scale: f32,
    offset: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bin {
    /// Local (block) thresholds: copes with uneven light, rxing's usual choice.
    Hybrid,
    /// One global threshold: better on small, low-contrast or very blurry codes where the
    /// hybrid binarizer's 8x8 blocks see only noise.
    Global,
}

/// One attempt of the cascade.
struct Step {
    name: &'static str,
    /// Box-downscale factor (1 = full resolution).
    down: usize,
    /// Nearest-neighbour upscale factor, applied only to small images (see `SMALL_SIDE`).
    up: usize,
    /// 3x3 box blur of the step's image (fabric weave, print dots, JPEG noise).
    blur: bool,
    /// Add a bright border before decoding (codes that fill the frame have no quiet zone).
    pad: bool,
    /// Decode the negative (light modules on dark ground: laser-etched metal, dark labels).
    invert: bool,
    /// Which rxing binarizer turns the gray image into black and white.
    binarizer: Bin,
    /// rxing's TRY_HARDER hint: the finder-pattern scan steps 3 rows at a time instead of a
    /// step sized for codes that fill the image, so small codes in large images are not
    /// stepped over.
    try_harder: bool,
}

const fn step(name: &'static str, down: usize, binarizer: Bin) -> Step {
    Step {
        name,
        down,
        up: 1,
        blur: false,
        pad: false,
        invert: false,
        binarizer,
        try_harder: false,
    }
}

const fn padded(mut s: Step) -> Step {
    s.pad = true;
    s
}

const fn upscaled(mut s: Step, k: usize) -> Step {
    s.up = k;
    s
}

const fn blurred(mut s: Step) -> Step {
    s.blur = true;
    s
}

const fn inverted(mut s: Step) -> Step {
    s.invert = true;
    s
}

const fn harder(mut s: Step) -> Step {
    s.try_harder = true;
    s
}

/// Video frames: one full-resolution try (with TRY_HARDER: without it the finder scan steps
/// over the small symbols of a frame holding many labels), then a 2x downscale (a quarter of the cost) because
/// a code held close to the camera fills the frame and moiré on photographed screens averages
/// out, then the global binarizer (cheap) for small or low-contrast codes under glare.
const FAST_STEPS: &[Step] = &[
    harder(step("full", 1, Bin::Hybrid)),
    step("down2", 2, Bin::Hybrid),
    step("full-global", 1, Bin::Global),
];

/// Still photos: the fast steps, then the rest ordered by how many corpus images each one
/// rescued per unit of cost (see docs/qr-decoder.md for the measurements). Steps that rescued
/// nothing on the corpus but target a failure mode that battery labels have (inverted laser
/// marking, tiny thumbnails, blur) are kept at the end, where only code-less images pay for them.
/// How many of [`THOROUGH_STEPS`] run after zxing-cpp found nothing (natively, `Thorough`).
#[cfg(not(target_arch = "wasm32"))]
const AFTER_ZXING_STEPS: usize = 6;

const THOROUGH_STEPS: &[Step] = &[
    harder(step("full", 1, Bin::Hybrid)),
    step("down2", 2, Bin::Hybrid),
    step("full-global", 1, Bin::Global),
    step("down3", 3, Bin::Hybrid),
    // Codes that fill the frame or are cut off by a label edge: no quiet zone to scan from.
    padded(step("pad-full-global", 1, Bin::Global)),
    padded(step("pad-full", 1, Bin::Hybrid)),
    // Light-on-dark marking (laser-etched cans, dark labels).
    inverted(step("invert-full", 1, Bin::Hybrid)),
    step("down4", 4, Bin::Hybrid),
    padded(step("pad-down2", 2, Bin::Hybrid)),
    step("down2-global", 2, Bin::Global),
    // Fabric weave, print screens, JPEG blocks: smooth before thresholding.
    blurred(step("blur-global", 1, Bin::Global)),
    // Small images (longer side <= SMALL_SIDE) only: too few pixels per module.
    upscaled(step("up3", 1, Bin::Hybrid), 3),
    padded(upscaled(step("pad-up2", 1, Bin::Hybrid), 2)),
    harder(blurred(upscaled(
        step("up2-blur-harder", 1, Bin::Hybrid),
        2,
    ))),
    inverted(step("invert-down2", 2, Bin::Hybrid)),
    harder(step("down2-harder", 2, Bin::Hybrid)),
];

impl Step {
    /// Builds this step's image from the full-resolution one, or `None` when the step cannot
    /// apply (the downscaled image would be too small to hold a code).
    fn prepare<'a>(&self, full: &'a View<'a>) -> Option<View<'a>> {
        let mut view = if self.down > 1 {
            downscale(full, self.down)?
        } else {
            View {
                w: full.w,
                h: full.h,
                px: Cow::Borrowed(&full.px),
                scale: 1.0,
                offset: 0.0,
            }
        };
        if self.up > 1 {
            if view.w.max(view.h) > SMALL_SIDE {
                return None;
            }
            view = upscale(view, self.up)?;
        }
        if self.blur {
            view = blur3(view);
        }
        if self.invert {
            view.px = Cow::Owned(view.px.iter().map(|v| 255 - v).collect());
        }
        if self.pad {
            // The border takes the image's own "white" (a high percentile), not 255: next to a
            // dim photo's paper a pure-white border would skew the local thresholds.
            let level = percentile(&view.px, 0.98);
            view = pad(view, level)?;
        }
        Some(view)
    }
}

/// Averages `k x k` blocks. Dropping the last partial row/column keeps it simple and loses at
/// most `k - 1` pixels of margin.
fn downscale<'a>(full: &View<'_>, k: usize) -> Option<View<'a>> {
    let w = full.w / k;
    let h = full.h / k;
    if w.min(h) < MIN_ATTEMPT_SIDE {
        return None;
    }
    let area = (k * k) as u32;
    let mut sums = vec![0u32; w];
    let mut out = Vec::with_capacity(w * h);
    for by in 0..h {
        sums.iter_mut().for_each(|s| *s = 0);
        for row in full.px.chunks_exact(full.w).skip(by * k).take(k) {
            for (sum, block) in sums.iter_mut().zip(row.chunks_exact(k)) {
                *sum += block.iter().map(|&v| u32::from(v)).sum::<u32>();
            }
        }
        // area <= 16 and each value <= 255, so the average fits a u8.
        out.extend(sums.iter().map(|&s| (s / area) as u8));
    }
    Some(View {
        w,
        h,
        px: Cow::Owned(out),
        scale: full.scale * k as f32,
        offset: 0.0,
    })
}

/// Repeats each pixel `k x k` times. Tiny images (a code rendered at one pixel per module, a
/// thumbnail) give rxing's finder-pattern scan too few pixels per module to measure ratios.
fn upscale(view: View<'_>, k: usize) -> Option<View<'static>> {
    let w = view.w.checked_mul(k)?;
    let h = view.h.checked_mul(k)?;
    let mut out = Vec::with_capacity(w.checked_mul(h)?);
    for row in view.px.chunks_exact(view.w) {
        let start = out.len();
        for &v in row {
            out.extend(std::iter::repeat_n(v, k));
        }
        for _ in 1..k {
            out.extend_from_within(start..start + w);
        }
    }
    Some(View {
        w,
        h,
        px: Cow::Owned(out),
        scale: view.scale / k as f32,
        offset: view.offset * k as f32,
    })
}

/// 3x3 box blur (edges use the available neighbours).
fn blur3(view: View<'_>) -> View<'static> {
    let (w, h) = (view.w, view.h);
    let px = &view.px;
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let y0 = y.saturating_sub(1);
        let y1 = (y + 1).min(h - 1);
        for x in 0..w {
            let x0 = x.saturating_sub(1);
            let x1 = (x + 1).min(w - 1);
            let mut sum = 0u32;
            let mut n = 0u32;
            for yy in y0..=y1 {
                if let Some(row) = px.get(yy * w + x0..=yy * w + x1) {
                    sum += row.iter().map(|&v| u32::from(v)).sum::<u32>();
                    n += row.len() as u32;
                }
            }
            if let Some(slot) = out.get_mut(y * w + x) {
                *slot = (sum / n.max(1)) as u8;
            }
        }
    }
    View {
        w,
        h,
        px: Cow::Owned(out),
        scale: view.scale,
        offset: view.offset,
    }
}

/// Surrounds the image with a border a fifth of its shorter side wide: at least four modules
/// for any code that fills the frame (21 modules is the smallest QR code).
fn pad(view: View<'_>, level: u8) -> Option<View<'static>> {
    let border = view.w.min(view.h) / 5 + 1;
    let w = view.w.checked_add(2 * border)?;
    let h = view.h.checked_add(2 * border)?;
    let area = w.checked_mul(h)?;
    // Keep the padded copy within the same memory bound as the input itself.
    if u64::try_from(area).ok()? > MAX_PIXELS {
        return None;
    }
    let mut out = vec![level; area];
    for (dst, src) in out
        .chunks_exact_mut(w)
        .skip(border)
        .zip(view.px.chunks_exact(view.w))
    {
        if let Some(slot) = dst.get_mut(border..border + view.w) {
            slot.copy_from_slice(src);
        }
    }
    Some(View {
        w,
        h,
        px: Cow::Owned(out),
        scale: view.scale,
        offset: border as f32,
    })
}

/// The luminance below which `q` of the pixels lie.
fn percentile(px: &[u8], q: f64) -> u8 {
    let mut hist = [0u64; 256];
    for &v in px {
        hist[usize::from(v)] += 1;
    }
    let target = (px.len() as f64 * q) as u64;
    let mut seen = 0;
    for (value, count) in hist.iter().enumerate() {
        seen += count;
        if seen > target {
            return value as u8;
        }
    }
    255
}

fn map_point(view: &View<'_>, x: f32, y: f32) -> [f32; 2] {
    [
        (x - view.offset) * view.scale,
        (y - view.offset) * view.scale,
    ]
}

fn hints(try_harder: bool) -> DecodeHints {
    // Only full-size QR: Micro QR / rMQR detection on photos of battery labels yields
    // nothing but occasional false positives and costs time.
    DecodeHints {
        PossibleFormats: Some(HashSet::from([BarcodeFormat::QR_CODE])),
        TryHarder: Some(try_harder),
        ..DecodeHints::default()
    }
}

fn run_readers(view: &View<'_>, step: &Step) -> Vec<Decoded> {
    // Dimensions fit u32: they are at most MAX_SIDE plus a padding border.
    let (Ok(w), Ok(h)) = (u32::try_from(view.w), u32::try_from(view.h)) else {
        return Vec::new();
    };
    let Ok(source) = Luma8Source::new_with_slice(&view.px, w, h) else {
        return Vec::new();
    };
    match step.binarizer {
        Bin::Hybrid => read_bitmap(BinaryBitmap::new(HybridBinarizer::new(source)), view, step),
        Bin::Global => read_bitmap(
            BinaryBitmap::new(GlobalHistogramBinarizer::new(source)),
            view,
            step,
        ),
    }
}

/// `codes` without the repeats (the same text with centres closer than half the larger symbol's
/// diagonal: one symbol read twice), first of each kept, in order. The one
/// merge rule of both engines, natively here and in the scanner worker through the wasm
/// binding's `mergeCodes` (web/scan-worker.js merges zxing-wasm's results with it): the same
/// text at the same place is one code; the same text at two places is two labels.
pub fn merge_codes(codes: Vec<Decoded>) -> Vec<Decoded> {
    let mut kept: Vec<Decoded> = Vec::with_capacity(codes.len());
    for d in codes {
        if !kept.iter().any(|c| same_symbol(c, &d)) {
            kept.push(d);
        }
    }
    kept
}

/// Whether two results are one symbol read twice: the same text, centres closer than half
/// the larger symbol's diagonal.
fn same_symbol(a: &Decoded, b: &Decoded) -> bool {
    fn centre(d: &Decoded) -> [f32; 2] {
        let [p, q, r, s] = d.corners;
        [
            (p[0] + q[0] + r[0] + s[0]) / 4.0,
            (p[1] + q[1] + r[1] + s[1]) / 4.0,
        ]
    }
    fn diagonal(d: &Decoded) -> f32 {
        let [p, _, r, _] = d.corners;
        (p[0] - r[0]).hypot(p[1] - r[1])
    }
    if a.text != b.text {
        return false;
    }
    let (ca, cb) = (centre(a), centre(b));
    let distance = (ca[0] - cb[0]).hypot(ca[1] - cb[1]);
    distance < diagonal(a).max(diagonal(b)) / 2.0
}

fn read_bitmap<B: Binarizer>(
    mut bitmap: BinaryBitmap<B>,
    view: &View<'_>,
    step: &Step,
) -> Vec<Decoded> {
    let hints = hints(step.try_harder);
    let map = |x: f32, y: f32| map_point(view, x, y);
    let mut out: Vec<Decoded> = Vec::new();
    let push = |out: &mut Vec<Decoded>, d: Decoded| {
        // Two labels with the same text in one frame are two codes (a copied label): only
        // the same text found again at the same place is the same code.
        if !out.iter().any(|o| same_symbol(o, &d)) {
            out.push(d);
        }
    };
    // rxing's port of zxing-cpp's reader: finds several codes per image and gives the
    // symbol's outer corners as [tl, tr, bl, br].
    if let Ok(results) = QrReader.decode_multiple_with_hints(&mut bitmap, &hints) {
        for r in results {
            let p = r.getPoints();
            if let [tl, tr, bl, br, ..] = p {
                push(
                    &mut out,
                    Decoded {
                        text: r.getText().to_owned(),
                        corners: [
                            map(tl.x, tl.y),
                            map(tr.x, tr.y),
                            map(br.x, br.y),
                            map(bl.x, bl.y),
                        ],
                    },
                );
            }
        }
    }
    if out.is_empty() {
        // rxing's port of ZXing Java's reader has a different finder-pattern search that
        // catches some codes the first one misses. It returns finder-pattern centres
        // [bl, tl, tr, (alignment)].
        if let Ok(r) = QRCodeReader.decode_with_hints(&mut bitmap, &hints) {
            if let [bl, tl, tr, ..] = r.getPoints() {
                let br = (tr.x + bl.x - tl.x, tr.y + bl.y - tl.y);
                push(
                    &mut out,
                    Decoded {
                        text: r.getText().to_owned(),
                        corners: [
                            map(tl.x, tl.y),
                            map(tr.x, tr.y),
                            map(br.0, br.1),
                            map(bl.x, bl.y),
                        ],
                    },
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_have_stable_codes() {
        let e = decode_luma(0, 10, &[]).unwrap_err();
        assert_eq!(e.code(), "empty_image");
        let e = decode_luma(10, 10, &[0; 99]).unwrap_err();
        assert_eq!(e.code(), "buffer_size_mismatch");
        assert!(e.to_string().contains("99 bytes"));
        let e = decode_luma(MAX_SIDE + 1, 1, &[]).unwrap_err();
        assert_eq!(e.code(), "image_too_large");
        let e = decode_luma(8193, 8192, &[]).unwrap_err();
        assert_eq!(e.code(), "image_too_large");
    }

    #[test]
    fn downscale_averages_blocks_and_maps_back() {
        let full = View {
            w: 64,
            h: 64,
            px: Cow::Owned(
                (0..64 * 64)
                    .map(|i| if i % 2 == 0 { 0 } else { 200 })
                    .collect(),
            ),
            scale: 1.0,
            offset: 0.0,
        };
        let d = downscale(&full, 2).unwrap();
        assert_eq!((d.w, d.h, d.scale), (32, 32, 2.0));
        assert!(d.px.iter().all(|&v| v == 100));
        assert!(
            downscale(&full, 3).is_none(),
            "21 px is below MIN_ATTEMPT_SIDE"
        );
    }

    #[test]
    fn pad_keeps_content_and_offsets() {
        let v = View {
            w: 40,
            h: 40,
            px: Cow::Owned(vec![7; 1600]),
            scale: 2.0,
            offset: 0.0,
        };
        let p = pad(v, 250).unwrap();
        assert_eq!(p.offset, 9.0);
        assert_eq!((p.w, p.h), (58, 58));
        assert_eq!(p.px[0], 250);
        assert_eq!(p.px[9 * 58 + 9], 7);
        assert_eq!(p.px.iter().filter(|&&v| v == 7).count(), 1600);
    }

    #[test]
    fn percentile_of_uniform() {
        let px: Vec<u8> = (0..=255).collect();
        assert_eq!(percentile(&px, 0.5), 128);
        assert_eq!(percentile(&[9; 10], 0.98), 9);
    }
}
