//! `cellproof sync`: keeps a directory of a registry's trust lists and status lists up to date
//! with the compact and delta forms (`docs/status-sync.md`), and loads it for `verify --synced`.
//!
//! The directory holds `trust-{eco}.jwt` and a chain of status bodies as received:
//! `status-0.bin` (a full compact body), then `status-1.bin`, ... (deltas, or a full body some
//! of whose lists were refused), and `registry`, the base URL synced from (the first resolver
//! `verify --resolve` asks for an element string). Nothing is kept that the core did not
//! accept, and everything is verified again when loaded. A sync builds on what the directory
//! holds, as the page does (`web/app.js`): the held trust lists and status chain are loaded
//! first and what the registry serves is offered on top, so the core refuses an older trust list
//! (`trust_list_rollback`, SPEC.md section 4: `seq` only grows) or an older status list
//! (`status_list_rollback`, section 5), and a refused list is never written: a mirror serving
//! yesterday's data cannot undo a revocation or a key removal. A later sync asks for `?since=`
//! the newest `validFrom` held; when a delta cannot apply (`status_delta_base`) or the chain
//! is long, it fetches the full body, offered on top of the same held lists.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use cellproof_core::{CompactOutcome, StatusStore, TrustStore};

use crate::cmd::Outcome;
use crate::{inputs, output};

/// Deltas kept before the next sync fetches the full body again.
const MAX_CHAIN: usize = 30;

/// The response header naming the version of the registry's lists a body brings its client to.
const CURSOR_HEADER: &str = "cellproof-cursor";

/// Where the cursor of the last body applied whole is kept.
const CURSOR_FILE: &str = "cursor";

/// Where the registry's base URL is kept: `verify --synced DIR --resolve` asks it first for an
/// element string's passport (SPEC.md section 2.2, "the resolvers the user configured").
const REGISTRY_FILE: &str = "registry";

/// The registry a synced directory was last synced from, when it names one (an http(s) URL on
/// one line; anything else is ignored).
pub fn registry(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(REGISTRY_FILE)).ok()?;
    let url = text.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| url.to_owned())
}

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

/// A body and the `Cellproof-Cursor` it came with, when that is a usable cursor.
struct Fetched {
    body: Vec<u8>,
    cursor: Option<String>,
}

fn get(client: &reqwest::blocking::Client, url: &str) -> Result<Fetched> {
    let r = client
        .get(url)
        .send()
        .with_context(|| format!("GET {url}"))?;
    if !r.status().is_success() {
        bail!("GET {url}: HTTP {}", r.status());
    }
    let cursor = r
        .headers()
        .get(CURSOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|c| usable_cursor(c))
        .map(str::to_owned);
    let body = r
        .bytes()
        .with_context(|| format!("reading {url}"))?
        .to_vec();
    Ok(Fetched { body, cursor })
}

/// Whether a cursor may go into a URL: opaque to clients (`docs/status-sync.md`,
/// "Incremental sync"), but whoever answered chose it, so only a short token of letters,
/// digits and `-` is used.
fn usable_cursor(c: &str) -> bool {
    !c.is_empty() && c.len() <= 128 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Keeps the cursor of the last body applied whole, or forgets it (the next sync then asks
/// with the newest `validFrom` held, as clients before the cursor do).
fn keep_cursor(dir: &Path, cursor: Option<&str>) -> Result<()> {
    let path = dir.join(CURSOR_FILE);
    match cursor {
        Some(c) => write_atomic(&path, c.as_bytes()),
        None if path.exists() => {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))
        }
        None => Ok(()),
    }
}

/// Writes a file whole or not at all (a temporary file renamed over it), so an interrupted
/// sync never leaves a truncated list behind.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Whether every record of a body was kept (the same list again counts as kept).
fn all_kept(out: &CompactOutcome) -> bool {
    out.iter().all(|(_, r)| r.is_ok())
}

/// Whether a body moved any held list (a body of lists held already changes nothing, and is
/// not worth a file).
fn changed(before: &StatusStore, after: &StatusStore) -> bool {
    let key = |s: &StatusStore| -> Vec<(String, String, u64)> {
        s.lists()
            .map(|l| (l.eco.clone(), l.id.clone(), l.valid_from))
            .collect()
    };
    key(before) != key(after)
}

/// Prints each refused record of a body with its code; returns how many.
fn report_refused(what: &str, out: &CompactOutcome) -> usize {
    let mut n = 0;
    for (id, r) in out {
        if let Err(e) = r {
            n += 1;
            eprintln!("{what}: {} refused: {e} ({})", output::safe(id), e.code());
        }
    }
    n
}

/// `sync`: loads what the directory holds, fetches the trust lists of the pinned ecosystems and
/// the status delta since the newest list held (or the full compact body), offers them on top
/// of what is held and writes only what the core kept. Exit 1 when any of the registry's data
/// was refused (the held files then stay as they were).
pub fn sync(registry: &str, dir: &Path, roots: &[String]) -> Result<Outcome> {
    let registry = registry.trim_end_matches('/');
    if !(registry.starts_with("https://") || registry.starts_with("http://")) {
        bail!("--registry must be the registry's http(s) base URL, e.g. https://registry.example");
    }
    if roots.is_empty() {
        bail!("give the ecosystem roots to trust with --root ECO=JWKFILE");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let client = crate::inputs::registry_client(120)?;
    let empty: [&Path; 0] = [];
    let mut stores = inputs::stores(roots, &empty, &empty)?;
    // What is held from earlier syncs, verified again: what the registry serves now is offered
    // on top of it, never in its place.
    let old = chain(dir);
    for w in load(dir, &mut stores.trust, &mut stores.status)? {
        eprintln!("held: {}", output::safe(&w));
    }
    let mut moved = 0usize;
    let mut refused = 0usize;
    for r in roots {
        let eco = r.split_once('=').map(|(e, _)| e).unwrap_or_default();
        let body = get(&client, &format!("{registry}/v1/trust-list/{eco}"))?.body;
        moved += body.len();
        let text = String::from_utf8_lossy(&body).trim().to_owned();
        match stores.trust.insert(&text) {
            Ok(a) if a.unchanged => {}
            // Named by the ecosystem it signs, not the URL it came from: a list of another
            // ecosystem served under this one's URL cannot take this one's file.
            Ok(a) => write_atomic(&dir.join(format!("trust-{}.jwt", a.eco)), text.as_bytes())?,
            Err(e) => {
                refused += 1;
                eprintln!(
                    "trust list {}: refused, the held list kept: {} ({})",
                    output::safe(eco),
                    output::safe(&e.to_string()),
                    e.code()
                );
            }
        }
    }
    // The registry's cursor from the last body applied whole, else the newest `validFrom` held
    // (docs/status-sync.md: a cursor does not depend on the signer's clock going forward).
    let cursor = std::fs::read_to_string(dir.join(CURSOR_FILE))
        .ok()
        .map(|c| c.trim().to_owned())
        .filter(|c| usable_cursor(c));
    let since = stores
        .status
        .lists()
        .map(|l| l.valid_from)
        .max()
        .map(|t| cursor.unwrap_or_else(|| t.to_string()));
    let mut full = true;
    if let (Some(since), true) = (since, !old.is_empty() && old.len() <= MAX_CHAIN) {
        let Fetched { body, cursor } = get(
            &client,
            &format!("{registry}/v1/status-compact?since={since}"),
        )?;
        moved += body.len();
        // Applied to a copy: a delta refused in part is dropped whole, the held lists untouched.
        let mut trial = stores.status.clone();
        match trial.insert_compact(&body, &stores.trust) {
            Ok(out) if all_kept(&out) => {
                if changed(&stores.status, &trial) {
                    write_atomic(&dir.join(format!("status-{}.bin", old.len())), &body)?;
                }
                println!(
                    "delta since {since}: {} list(s) updated, {} bytes",
                    out.len(),
                    body.len()
                );
                keep_cursor(dir, cursor.as_deref())?;
                stores.status = trial;
                full = false;
            }
            Ok(out) => {
                let bad = report_refused(&format!("delta since {since}"), &out);
                eprintln!("delta since {since}: {bad} record(s) refused; fetching the full lists");
            }
            Err(e) => eprintln!(
                "delta since {since} refused: {} ({}); fetching the full lists",
                output::safe(&e.to_string()),
                e.code()
            ),
        }
    }
    if full {
        let Fetched { body, cursor } = get(&client, &format!("{registry}/v1/status-compact"))?;
        moved += body.len();
        // On top of what is held, like the delta: a full body older than the lists held is a
        // rollback, refused per list.
        let mut trial = stores.status.clone();
        match trial.insert_compact(&body, &stores.trust) {
            Err(e) => {
                refused += 1;
                keep_cursor(dir, None)?;
                eprintln!(
                    "the registry's compact lists were refused, the held lists kept: {} ({})",
                    output::safe(&e.to_string()),
                    e.code()
                );
            }
            Ok(out) => {
                let bad = report_refused("full body", &out);
                refused += bad;
                let covers = stores
                    .status
                    .lists()
                    .all(|l| out.iter().any(|(id, _)| *id == l.id));
                // The cursor only when the body was applied whole: after a refusal the next sync
                // asks by time, and gets every list changed since the newest held.
                keep_cursor(dir, cursor.as_deref().filter(|_| bad == 0))?;
                if bad == 0 && covers {
                    // Every list kept and none held missing from it: the body holds all there
                    // is and starts a new chain. Renamed into place before the old deltas go,
                    // so an interruption leaves deltas that no longer apply (refused when
                    // loaded), never fewer lists than before.
                    write_atomic(&dir.join("status-0.bin"), &body)?;
                    for p in old.iter().skip(1) {
                        std::fs::remove_file(p)
                            .with_context(|| format!("removing {}", p.display()))?;
                    }
                } else if changed(&stores.status, &trial) {
                    // Some lists newer than held, others refused (older: a rollback) or
                    // missing: the body is kept after the chain, so loading the directory
                    // holds the same, and what it does not replace stays held.
                    write_atomic(&dir.join(format!("status-{}.bin", old.len())), &body)?;
                }
                println!(
                    "full sync: {} of {} list(s) kept, {} bytes",
                    out.len() - bad,
                    out.len(),
                    body.len()
                );
                stores.status = trial;
            }
        }
    }
    // Whom the directory was synced from: the resolver `verify --resolve` asks first.
    write_atomic(&dir.join(REGISTRY_FILE), registry.as_bytes())?;
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
    if refused > 0 {
        eprintln!("{refused} item(s) the registry served were refused; what was held is kept");
    }
    Ok(if refused == 0 {
        Outcome::Success
    } else {
        Outcome::NotValid
    })
}
