//! Reading what the user points at: keys, lists, images, times.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use cellproof_core::{parse_rfc3339, KeyPair, PublicKey, StatusStore, TrustStore, UnixTime};
use serde_json::Value;

/// Reads a file as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Result<Value> {
    serde_json::from_str(&read_text(path)?)
        .with_context(|| format!("{} is not JSON", path.display()))
}

/// Reads a private JWK.
pub fn read_private_key(path: &Path) -> Result<KeyPair> {
    KeyPair::from_private_jwk(&read_json(path)?)
        .with_context(|| format!("{} is not a usable private Ed25519 JWK", path.display()))
}

/// Parses `--at`: Unix seconds or RFC 3339; `None` is the system clock.
pub fn time(at: Option<&str>) -> Result<UnixTime> {
    match at {
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?;
            Ok(UnixTime(now.as_secs()))
        }
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Ok(UnixTime(
            s.parse()
                .with_context(|| format!("--at {s} is out of range"))?,
        )),
        Some(s) => parse_rfc3339(s).map(UnixTime).map_err(|_| {
            anyhow::anyhow!("--at {s:?} is neither Unix seconds nor an RFC 3339 date-time")
        }),
    }
}

/// Trust and status data loaded from files, with the problems met on the way.
pub struct Stores {
    pub trust: TrustStore,
    pub status: StatusStore,
    pub warnings: Vec<String>,
}

/// Pins roots and loads trust and status lists. A list the core refuses is a warning (the
/// verdict then says what is missing); a file that cannot be read is an error.
pub fn stores(
    roots: &[String],
    trust_lists: &[impl AsRef<Path>],
    status_lists: &[impl AsRef<Path>],
) -> Result<Stores> {
    let mut trust = TrustStore::new();
    for r in roots {
        let Some((eco, file)) = r.split_once('=') else {
            bail!("--root {r:?} must be ECO=JWKFILE");
        };
        let key = PublicKey::from_jwk(&read_json(Path::new(file))?)
            .with_context(|| format!("{file} is not an Ed25519 public JWK"))?;
        trust.pin_root(eco, &key);
    }
    let mut warnings = Vec::new();
    let texts: Vec<(String, String)> = trust_lists
        .iter()
        .map(|p| {
            Ok((
                p.as_ref().display().to_string(),
                read_text(p.as_ref())?.trim().to_owned(),
            ))
        })
        .collect::<Result<_>>()?;
    let results = trust.insert_all(texts.iter().map(|(_, t)| t.as_str()));
    for ((name, _), r) in texts.iter().zip(results) {
        if let Err(e) = r {
            warnings.push(format!("trust list {name} refused: {e} ({})", e.code()));
        }
    }
    let mut status = StatusStore::new();
    for p in status_lists {
        let p = p.as_ref();
        if let Err(e) = status.insert(read_text(p)?.trim(), &trust) {
            warnings.push(format!(
                "status list {} refused: {e} ({})",
                p.display(),
                e.code()
            ));
        }
    }
    Ok(Stores {
        trust,
        status,
        warnings,
    })
}

/// Loads an image as 8-bit grayscale.
pub fn luma(path: &Path) -> Result<(u32, u32, Vec<u8>)> {
    let img = image::ImageReader::open(path)
        .with_context(|| format!("opening {}", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("reading {}", path.display()))?
        .decode()
        .with_context(|| {
            format!(
                "{} is not a readable PNG, JPEG or WebP image",
                path.display()
            )
        })?;
    let gray = img.to_luma8();
    let (w, h) = gray.dimensions();
    Ok((w, h, gray.into_raw()))
}

/// The HTTP client for a registry the user named (`sync`, `publish`, `passport get`): rustls,
/// at most `timeout_secs` per request. Online resolution has its own, held to SPEC.md 2.2's
/// limits (`fetch.rs`).
pub fn registry_client(timeout_secs: u64) -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout_secs))
        .build()
        .context("building the HTTP client")
}
