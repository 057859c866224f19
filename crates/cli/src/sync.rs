//! `cellproof sync`: keeps a directory of a registry's trust lists and status lists up to date
//! with the compact and delta forms (`docs/status-sync.md`), and loads it for `verify --synced`.
//!
//! The directory holds `trust-{eco}.jwt` and a chain of status bodies as received:
//! `status-0.bin` (a full compact body), then `status-1.bin`, ... (deltas). Nothing is kept that
//! the core did not accept, and everything is verified again when loaded. A later sync asks for
//! `?since=` the newest `validFrom` held; when a delta cannot apply (`status_delta_base`) or the
//! chain is long, it fetches the full body and starts a new chain.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use cellproof_core::{StatusStore, TrustStore};

use crate::cmd::Outcome;
use crate::inputs;

/// Deltas kept before the next sync fetches the full body again.
const MAX_CHAIN: usize = 30;

fn chain(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for n in 0.. {
        let p = dir.join(format!("status-{n}.bin"));
        if !p.exists() {
            break;
        }
        out.push(p);
    }
    out
}

/// Loads the synced directory into stores (trust lists, then the status chain in order).
/// Returns warnings for what the core refused.
pub fn load(dir: &Path, trust: &mut TrustStore, status: &mut StatusStore) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let mut texts = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("trust-") && name.ends_with(".jwt") {
            texts.push(inputs::read_text(&p)?.trim().to_owned());
        }
    }
    for r in trust.insert_all(texts.iter().map(String::as_str)) {
        if let Err(e) = r {
            warnings.push(format!("synced trust list refused: {e} ({})", e.code()));
        }
    }
    for p in chain(dir) {
        let body = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        match status.insert_compact(&body, trust) {
            Ok(out) => {
                for (id, r) in out {
                    if let Err(e) = r {
                        warnings.push(format!("{id}: {e} ({})", e.code()));
                    }
                }
            }
            Err(e) => warnings.push(format!("{} refused: {e} ({})", p.display(), e.code())),
        }
    }
    Ok(warnings)
}

fn get(client: &reqwest::blocking::Client, url: &str) -> Result<Vec<u8>> {
    let r = client
        .get(url)
        .send()
        .with_context(|| format!("GET {url}"))?;
    if !r.status().is_success() {
        bail!("GET {url}: HTTP {}", r.status());
    }
    Ok(r.bytes()
        .with_context(|| format!("reading {url}"))?
        .to_vec())
}

/// `sync`: fetches trust lists for the pinned ecosystems, then the status delta since the
/// newest list held (or the full compact body), verifies everything and writes what was
/// accepted. Exit 1 when the registry's data was refused.
pub fn sync(registry: &str, dir: &Path, roots: &[String]) -> Result<Outcome> {
    let registry = registry.trim_end_matches('/');
    if !(registry.starts_with("https://") || registry.starts_with("http://")) {
        bail!("--registry must be the registry's http(s) base URL, e.g. https://registry.example");
    }
    if roots.is_empty() {
        bail!("give the ecosystem roots to trust with --root ECO=JWKFILE");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .context("building the HTTP client")?;
    let empty: [&Path; 0] = [];
    let mut stores = inputs::stores(roots, &empty, &empty)?;
    let mut moved = 0usize;
    let mut refused = 0usize;
    for r in roots {
        let eco = r.split_once('=').map(|(e, _)| e).unwrap_or_default();
        let body = get(&client, &format!("{registry}/v1/trust-list/{eco}"))?;
        moved += body.len();
        let text = String::from_utf8_lossy(&body).trim().to_owned();
        match stores.trust.insert(&text) {
            Ok(_) => std::fs::write(dir.join(format!("trust-{eco}.jwt")), &text)?,
            Err(e) => {
                refused += 1;
                eprintln!("trust list {eco} refused: {e} ({})", e.code());
            }
        }
    }
    // What is held from earlier syncs, verified again under today's trust lists.
    let old = chain(dir);
    for w in load(dir, &mut stores.trust, &mut stores.status)? {
        eprintln!("held: {w}");
    }
    let since = stores.status.lists().map(|l| l.valid_from).max();
    let mut full = true;
    if let (Some(since), true) = (since, !old.is_empty() && old.len() <= MAX_CHAIN) {
        let body = get(
            &client,
            &format!("{registry}/v1/status-compact?since={since}"),
        )?;
        moved += body.len();
        let mut trial = stores.status.clone();
        match trial.insert_compact(&body, &stores.trust) {
            Ok(out) if out.iter().all(|(_, r)| r.is_ok()) => {
                if !out.is_empty() {
                    std::fs::write(dir.join(format!("status-{}.bin", old.len())), &body)?;
                }
                println!(
                    "delta since {since}: {} list(s) updated, {} bytes",
                    out.len(),
                    body.len()
                );
                stores.status = trial;
                full = false;
            }
            Ok(out) => {
                let bad = out.iter().filter(|(_, r)| r.is_err()).count();
                eprintln!("delta since {since}: {bad} record(s) refused; fetching the full lists");
            }
            Err(e) => eprintln!("delta refused: {e} ({}); fetching the full lists", e.code()),
        }
    }
    if full {
        let body = get(&client, &format!("{registry}/v1/status-compact"))?;
        moved += body.len();
        let mut fresh = StatusStore::new();
        let out = fresh.insert_compact(&body, &stores.trust).map_err(|e| {
            anyhow::anyhow!(
                "the registry's compact lists were refused: {e} ({})",
                e.code()
            )
        })?;
        for (id, r) in &out {
            if let Err(e) = r {
                refused += 1;
                eprintln!("{id}: {e} ({})", e.code());
            }
        }
        for p in &old {
            std::fs::remove_file(p).with_context(|| format!("removing {}", p.display()))?;
        }
        std::fs::write(dir.join("status-0.bin"), &body)?;
        println!("full sync: {} list(s), {} bytes", out.len(), body.len());
        stores.status = fresh;
    }
    println!(
        "{} status list(s) held, newest validFrom {}; {moved} bytes moved",
        stores.status.lists().count(),
        stores
            .status
            .lists()
            .map(|l| l.valid_from)
            .max()
            .unwrap_or(0)
    );
    Ok(if refused == 0 {
        Outcome::Success
    } else {
        Outcome::NotValid
    })
}
