//! Inspectors' commands (SPEC.md sections 6.3 and 6.4, `docs/inspection.md`): `report seal`
//! (a back office or a test seals an inspection report and its evidence pack), `report verify`
//! (re-checks a report against its pack: exit 0 when it stands, 1 with every difference named)
//! and `request sign` (a signed `registry-request+jwt`, e.g. a restricted read).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use cellproof_core::{
    report_payload, seal_report, sign_json, verify, verify_report, Artifacts, Context,
    EvidencePack, Hint, PassportChain, Photo, PublicKey, ReportCheck, StatusStore, Tier,
    TrustStore, Typ,
};
use serde_json::{json, Value};

use crate::cmd::Outcome;
use crate::inputs::{self, read_json, read_private_key, read_text};
use crate::output;

/// `cellproof report ...`.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCmd {
    /// Verify a scan and seal the verdict as an inspection report with an inspector's key;
    /// write the report and its evidence pack (the one-file export, report included).
    Seal(SealArgs),
    /// Re-check an inspection report: the inspector's signature and enrolment, each artifact's
    /// digest, and the verdict recomputed at the report's time. Exit 0 when it stands, 1 when
    /// anything differs (each difference is named), 2 on usage or I/O errors.
    Verify(VerifyReportArgs),
}

#[derive(Debug, clap::Args)]
pub struct SealArgs {
    /// The inspector's private JWK (`cellproof keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// The inspector's entity id (DID) in its trust list.
    #[arg(long)]
    pub iss: String,
    /// The scanned text: the label's URL with its fragment, or the compact credential.
    #[arg(long)]
    pub scan: String,
    /// Pinned ecosystem root, ECO=JWKFILE (repeatable).
    #[arg(long = "root", value_name = "ECO=JWKFILE")]
    pub roots: Vec<String>,
    /// A trust list (compact JWS file; repeatable).
    #[arg(long = "trust-list")]
    pub trust_lists: Vec<PathBuf>,
    /// A status list (compact JWS file; repeatable).
    #[arg(long = "status-list")]
    pub status_lists: Vec<PathBuf>,
    /// The passport chain as the registry serves it (`{"versions": [...], "attestations": {...}}`).
    #[arg(long)]
    pub passport: Option<PathBuf>,
    /// A photo of the label or battery (repeatable); its media type from the extension.
    #[arg(long = "photo")]
    pub photos: Vec<PathBuf>,
    /// A session hint CODE=MESSAGE (repeatable), e.g. `possible_copied_label=...`.
    #[arg(long = "hint", value_name = "CODE=MESSAGE")]
    pub hints: Vec<String>,
    /// Verification and sealing time (Unix seconds or RFC 3339); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Write the compact report here.
    #[arg(long)]
    pub out: PathBuf,
    /// Write the evidence pack (JSON) here.
    #[arg(long)]
    pub pack: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct VerifyReportArgs {
    /// The report: a compact JWS file, or an evidence pack holding it (the one-file export).
    pub report: PathBuf,
    /// The evidence pack (JSON); default: REPORT itself when it is a pack.
    #[arg(long)]
    pub evidence: Option<PathBuf>,
    /// Pinned ecosystem root, ECO=JWKFILE (repeatable).
    #[arg(long = "root", value_name = "ECO=JWKFILE")]
    pub roots: Vec<String>,
    /// Pinned roots as the registry's `GET /v1/roots` serves them
    /// (`{"roots": [{"eco", "root": JWK}]}`).
    #[arg(long)]
    pub roots_file: Option<PathBuf>,
    /// A trust list the verifier holds (compact JWS file; repeatable): a newer one of the
    /// inspector's ecosystem that no longer enrols it refuses the report.
    #[arg(long = "trust-list")]
    pub trust_lists: Vec<PathBuf>,
    /// A status list the verifier holds (compact JWS file; repeatable): a newer one that
    /// revokes what the evidence found clear refuses the report.
    #[arg(long = "status-list")]
    pub status_lists: Vec<PathBuf>,
    /// A directory kept by `cellproof sync`: the verifier's own trust and status lists, held
    /// against the report's evidence (older evidence is named, overtaken evidence refused).
    #[arg(long)]
    pub synced: Option<PathBuf>,
    /// The verifier's time, used only to refuse a report sealed in its future; default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the check as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `cellproof request ...`.
#[derive(Debug, clap::Subcommand)]
pub enum RequestCmd {
    /// Sign a `registry-request+jwt` (SPEC.md section 6.1) and print it: a restricted read
    /// (`--op read --item PATH --tier authority`) or a document upload envelope.
    Sign(RequestArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OpArg {
    Read,
    Document,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TierArg {
    LegitimateInterest,
    Authority,
}

#[derive(Debug, clap::Args)]
pub struct RequestArgs {
    /// The operation.
    #[arg(long, value_enum)]
    pub op: OpArg,
    /// The battery's Digital Link path `01/{gtin}/21/{serial}` (`--op read`).
    #[arg(long, required_if_eq("op", "read"))]
    pub item: Option<String>,
    /// The tier asked for (`--op read`).
    #[arg(long, value_enum, required_if_eq("op", "read"))]
    pub tier: Option<TierArg>,
    /// The document's `hashDigest` (`--op document`).
    #[arg(long, required_if_eq("op", "document"))]
    pub digest: Option<String>,
    /// The registry's public base URL (the `aud`, compared exactly; no trailing slash).
    #[arg(long)]
    pub aud: String,
    /// The requester's private JWK.
    #[arg(long)]
    pub key: PathBuf,
    /// The requester's entity id (DID).
    #[arg(long)]
    pub iss: String,
    /// Signing time `iat` (Unix seconds or RFC 3339); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// The `jti`; default 16 random bytes, base64url.
    #[arg(long)]
    pub jti: Option<String>,
}

pub fn report(cmd: &ReportCmd) -> Result<Outcome> {
    match cmd {
        ReportCmd::Seal(a) => seal(a),
        ReportCmd::Verify(a) => verify_cmd(a),
    }
}

fn seal(a: &SealArgs) -> Result<Outcome> {
    let key = read_private_key(&a.key)?;
    let stores = inputs::stores(&a.roots, &a.trust_lists, &a.status_lists)?;
    for w in &stores.warnings {
        eprintln!("cellproof: warning: {}", output::safe(w));
    }
    let now = inputs::time(a.at.as_deref())?;
    let chain = a
        .passport
        .as_deref()
        .map(|p| {
            PassportChain::from_json(&read_text(p)?)
                .map_err(|e| anyhow!("{}: not a passport chain: {e} ({})", p.display(), e.code()))
        })
        .transpose()?;
    let mut ctx = Context::new(&stores.trust, &stores.status, now);
    ctx.chain = chain.as_ref();
    let v = verify(&a.scan, &ctx);
    let mut artifacts = Artifacts::used(&a.scan, &v, &stores.trust, &stores.status, chain.as_ref());
    for p in &a.photos {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        artifacts.photos.push(Photo {
            media_type: media_type(p).to_owned(),
            bytes,
        });
    }
    let hints = a
        .hints
        .iter()
        .map(|h| {
            let (code, message) = h
                .split_once('=')
                .ok_or_else(|| anyhow!("--hint {h:?} must be CODE=MESSAGE"))?;
            Ok(Hint {
                code: code.to_owned(),
                message: message.to_owned(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let payload = report_payload(&a.iss, &artifacts, &v, &hints, now)
        .map_err(|e| anyhow!("cannot seal a report: {e} ({})", e.code()))?;
    let report = seal_report(&payload, &key);
    let pack = EvidencePack::new(Some(&report), &artifacts);
    // No trailing newline: the file's SHA-256 is the report's digest.
    std::fs::write(&a.out, &report).with_context(|| format!("writing {}", a.out.display()))?;
    std::fs::write(&a.pack, pack.to_json())
        .with_context(|| format!("writing {}", a.pack.display()))?;
    println!(
        "sealed: {} {} at {} ({} artifacts)",
        v.overall.as_str(),
        v.code.unwrap_or("-"),
        cellproof_core::format_rfc3339(v.now),
        payload["credentialSubject"]["evidence"]
            .as_array()
            .map_or(0, Vec::len)
    );
    Ok(Outcome::Success)
}

fn media_type(p: &Path) -> &'static str {
    match p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

/// Roots from `--root ECO=JWKFILE` and `--roots-file` (`/v1/roots` JSON).
fn roots(a: &VerifyReportArgs) -> Result<Vec<(String, PublicKey)>> {
    let mut out = Vec::new();
    for r in &a.roots {
        let (eco, file) = r
            .split_once('=')
            .ok_or_else(|| anyhow!("--root {r:?} must be ECO=JWKFILE"))?;
        let key = PublicKey::from_jwk(&read_json(Path::new(file))?)
            .with_context(|| format!("{file} is not an Ed25519 public JWK"))?;
        out.push((eco.to_owned(), key));
    }
    if let Some(f) = &a.roots_file {
        let v = read_json(f)?;
        let items = v["roots"]
            .as_array()
            .ok_or_else(|| anyhow!("{}: no \"roots\" array", f.display()))?;
        for item in items {
            let eco = item["eco"]
                .as_str()
                .ok_or_else(|| anyhow!("{}: a root without \"eco\"", f.display()))?;
            let key = PublicKey::from_jwk(&item["root"])
                .map_err(|e| anyhow!("{}: root of {eco}: {e} ({})", f.display(), e.code()))?;
            out.push((eco.to_owned(), key));
        }
    }
    if out.is_empty() {
        bail!("pin at least one ecosystem root (--root ECO=JWKFILE or --roots-file FILE)");
    }
    Ok(out)
}

fn read_pack(path: &Path) -> Result<EvidencePack> {
    EvidencePack::from_json(&read_text(path)?).map_err(|e| {
        anyhow!(
            "{}: not an evidence pack: {e} ({})",
            path.display(),
            e.code()
        )
    })
}

fn verify_cmd(a: &VerifyReportArgs) -> Result<Outcome> {
    let roots = roots(a)?;
    let text = read_text(&a.report)?;
    // The one-file export is a pack holding the report.
    let (report, own_pack) = if text.trim_start().starts_with('{') {
        let pack = read_pack(&a.report)?;
        let report = pack
            .report
            .clone()
            .ok_or_else(|| anyhow!("{}: the pack holds no report", a.report.display()))?;
        (report, Some(pack))
    } else {
        (text.trim().to_owned(), None)
    };
    let pack = match &a.evidence {
        Some(p) => Some(read_pack(p)?),
        None => own_pack,
    };
    let now = inputs::time(a.at.as_deref())?;
    // What the verifier holds: its pins, then the lists given and the synced directory
    // (docs/inspection.md, "Checking a report"). A refused list is a warning, as in `verify`.
    let mut trust = TrustStore::new();
    for (eco, key) in &roots {
        trust.pin_root(eco, key);
    }
    let mut warnings = Vec::new();
    let texts = a
        .trust_lists
        .iter()
        .map(|p| Ok((p.display().to_string(), read_text(p)?.trim().to_owned())))
        .collect::<Result<Vec<_>>>()?;
    for ((name, _), r) in texts
        .iter()
        .zip(trust.insert_all(texts.iter().map(|(_, t)| t.as_str())))
    {
        if let Err(e) = r {
            warnings.push(format!("trust list {name} refused: {e} ({})", e.code()));
        }
    }
    let mut status = StatusStore::new();
    for p in &a.status_lists {
        if let Err(e) = status.insert(read_text(p)?.trim(), &trust) {
            warnings.push(format!(
                "status list {} refused: {e} ({})",
                p.display(),
                e.code()
            ));
        }
    }
    if let Some(dir) = &a.synced {
        warnings.extend(crate::sync::load(dir, &mut trust, &mut status)?);
    }
    for w in &warnings {
        eprintln!("cellproof: warning: {}", output::safe(w));
    }
    let check = verify_report(&report, pack.as_ref(), &trust, &status, now);
    if a.json {
        let j = serde_json::to_value(&check).unwrap_or(Value::Null);
        println!("{}", output::json_line(&j));
    } else {
        print!("{}", check_text(&check));
    }
    Ok(if check.stands {
        Outcome::Success
    } else {
        Outcome::NotValid
    })
}

fn check_text(c: &ReportCheck) -> String {
    let mut s = String::new();
    let when = |t: Option<u64>| t.map_or("-".to_owned(), cellproof_core::format_rfc3339);
    s.push_str(if c.stands {
        "report STANDS\n"
    } else {
        "report DOES NOT STAND\n"
    });
    if let Some(i) = &c.inspector {
        s.push_str(&format!(
            "  inspector: {} ({}), {} key {}\n",
            output::safe(&i.name),
            output::safe(&i.id),
            output::safe(&i.path),
            output::safe(&i.kid)
        ));
    }
    s.push_str(&format!(
        "  battery: {}\n  sealed: {}, verdict time {}\n",
        output::safe(c.subject.as_deref().unwrap_or("-")),
        when(c.valid_from),
        when(c.effective_time)
    ));
    if let Some(r) = &c.reported {
        s.push_str(&format!(
            "  reported verdict: {} {}\n",
            r["overall"].as_str().unwrap_or("-"),
            r["code"].as_str().unwrap_or("")
        ));
    }
    for h in &c.hints {
        s.push_str(&format!(
            "  hint {}: {}\n",
            output::safe(&h.code),
            output::safe(&h.message)
        ));
    }
    for p in &c.problems {
        s.push_str(&format!(
            "  DIFFERS {}: {}\n",
            p.code,
            output::safe(&p.message)
        ));
    }
    for n in &c.notes {
        s.push_str(&format!(
            "  note {}: {}\n",
            n.code,
            output::safe(&n.message)
        ));
    }
    s
}

pub fn request(cmd: &RequestCmd) -> Result<Outcome> {
    let RequestCmd::Sign(a) = cmd;
    let key = read_private_key(&a.key)?;
    let iat = inputs::time(a.at.as_deref())?.secs();
    let jti = match &a.jti {
        Some(j) => j.clone(),
        None => {
            let mut b = [0u8; 16];
            getrandom::getrandom(&mut b).map_err(|e| anyhow!("no randomness: {e}"))?;
            cellproof_core::b64_encode(&b)
        }
    };
    let mut p = json!({"iss": a.iss, "iat": iat, "jti": jti, "aud": a.aud});
    let o = p
        .as_object_mut()
        .ok_or_else(|| anyhow!("payload is an object"))?;
    match a.op {
        OpArg::Read => {
            let tier = match a.tier {
                Some(TierArg::Authority) => Tier::Authority,
                Some(TierArg::LegitimateInterest) | None => Tier::LegitimateInterest,
            };
            o.insert("op".into(), "read".into());
            o.insert("item".into(), a.item.clone().unwrap_or_default().into());
            o.insert("tier".into(), tier.as_str().into());
        }
        OpArg::Document => {
            o.insert("op".into(), "document".into());
            o.insert("digest".into(), a.digest.clone().unwrap_or_default().into());
        }
    }
    // Checked the way a registry parses it, so a malformed request fails here.
    let jws = sign_json(Typ::RegistryRequest, &p, &key);
    cellproof_core::ParsedRequest::parse(&jws)
        .map_err(|e| anyhow!("the request would be refused: {e} ({})", e.code()))?;
    println!("{jws}");
    Ok(Outcome::Success)
}
