//! The subcommands. Each returns an [`Outcome`] or an error (exit code 2).

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use cellproof_core::{
    issue_credential, sign_status_list, sign_trust_list, status_list_payload, verify, verify_many,
    Bitstring, Context, KeyPair, Label, LabelJson, Overall, Purpose, StatusListSpec, TrustList,
};
use cellproof_qr::encode::{encode_url_numeric, Ecc, Encoded};
use serde_json::{json, Value};

use crate::args::{
    BatchFormat, Cli, Command, EccArg, IssueArgs, PassportCmd, PurposeArg, StatusListArgs,
    TrustListCmd, VerifyArgs,
};
use crate::inputs::{self, read_json, read_private_key, read_text};
use crate::output;

/// How a successful run ended.
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: a verdict was invalid or unverifiable.
    NotValid,
}

pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Keygen {
            kid,
            did,
            out,
            force,
        } => keygen(&kid, did.as_deref(), &out, force),
        Command::DidDocument { did, keys, out } => did_document(&did, &keys, out.as_deref()),
        Command::TrustList(TrustListCmd::Sign { key, input, out }) => {
            trust_list_sign(&key, &input, out.as_deref())
        }
        Command::StatusList(a) => status_list(&a),
        Command::Issue(a) => issue(&a),
        Command::Verify(a) => verify_cmd(&a),
        Command::Passport(PassportCmd::Get {
            registry,
            item,
            at,
            out,
        }) => passport_get(&registry, &item, at.as_deref(), out.as_deref()),
        Command::Passport(PassportCmd::Sign {
            key,
            passport,
            prev,
            at,
            out,
        }) => passport_sign(&key, &passport, prev.as_deref(), at.as_deref(), &out),
        Command::Attest { key, claims, out } => attest(&key, &claims, out.as_deref()),
        Command::Digest { files } => digest(&files),
        Command::Publish {
            registry,
            key,
            iss,
            files,
        } => crate::publish::publish(&registry, &key, iss.as_deref(), &files),
        Command::Sync {
            registry,
            dir,
            roots,
        } => crate::sync::sync(&registry, &dir, &roots),
        Command::Decode { json, images } => decode(json, &images),
        Command::DecodeChild { width, height } => crate::sandbox::child(width, height),
        Command::Report(c) => crate::inspect::report(&c),
        Command::Request(c) => crate::inspect::request(&c),
        Command::Demo { out } => crate::cmd::demo(out.as_deref()),
        Command::Lifecycle(c) => crate::lifecycle::run(&c),
    }
}

fn write_out(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, format!("{text}\n"))
            .with_context(|| format!("writing {}", p.display())),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

/// Writes a private key file readable by its owner only.
fn write_secret(path: &Path, text: &str, force: bool) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| {
        format!(
            "creating {} (it may exist already; --force overwrites)",
            path.display()
        )
    })?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn keygen(kid: &str, did: Option<&str>, out: &Path, force: bool) -> Result<Outcome> {
    if kid.is_empty() || kid.contains('#') {
        bail!("--kid must not be empty or contain '#' (give the DID with --did)");
    }
    let kid = match did {
        Some(did) if cellproof_core::did_web_url(did).is_none() => {
            bail!("--did {did} is not a did:web DID this tool can publish a document for")
        }
        Some(did) => format!("{did}#{kid}"),
        None => kid.to_owned(),
    };
    let kid = kid.as_str();
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret)
        .map_err(|e| anyhow::anyhow!("the system random source failed: {e}"))?;
    let key = KeyPair::from_secret(kid, &secret);
    write_secret(out, &format!("{}\n", key.to_private_jwk()), force)?;
    println!("{}", key.public().to_jwk());
    // stdout stays the JWK alone (scripts enrol it as is); the fingerprint is for people.
    eprintln!(
        "thumbprint (RFC 7638, SHA-256): {}",
        cellproof_core::jwk_thumbprint(&key.public())
    );
    Ok(Outcome::Success)
}

fn did_document(did: &str, keys: &[std::path::PathBuf], out: Option<&Path>) -> Result<Outcome> {
    let Some(url) = cellproof_core::did_web_url(did) else {
        bail!("--did {did} is not a did:web DID (did:web:HOST or did:web:HOST:PATH)");
    };
    let mut read = Vec::new();
    for path in keys {
        let jwk = read_json(path)?;
        let kid = jwk
            .get("kid")
            .and_then(serde_json::Value::as_str)
            .filter(|k| !k.is_empty())
            .with_context(|| format!("{}: the JWK has no kid", path.display()))?
            .to_owned();
        if let Some(other) = kid.split_once('#').map(|(d, _)| d).filter(|d| *d != did) {
            bail!(
                "{}: the key id {kid} names another DID ({other}), not {did}",
                path.display()
            );
        }
        // A private JWK is read as its public part: `d` never reaches the document.
        let key = match jwk.get("d") {
            Some(_) => cellproof_core::AnyKey::Ed25519(
                KeyPair::from_private_jwk(&jwk)
                    .with_context(|| {
                        format!("{} is not a usable private Ed25519 JWK", path.display())
                    })?
                    .public()
                    .x,
            ),
            None => cellproof_core::AnyKey::from_jwk(&jwk)
                .map_err(|e| anyhow::anyhow!("{}: {e} ({})", path.display(), e.code()))?,
        };
        read.push((kid, key));
    }
    let pairs: Vec<(&str, cellproof_core::AnyKey)> = read
        .iter()
        .map(|(k, key)| (k.as_str(), key.clone()))
        .collect();
    let doc = cellproof_core::did_document(did, &pairs);
    write_out(out, &serde_json::to_string_pretty(&doc)?)?;
    eprintln!("publish it at {url} (application/did+json)");
    Ok(Outcome::Success)
}

/// The battery an item names: `01/{gtin}/21/{serial}`, a Digital Link URL or a GS1 element
/// string.
pub(crate) fn battery_of(item: &str) -> Result<cellproof_core::DigitalLink> {
    let read = |e: cellproof_core::Error| anyhow::anyhow!("{item}: {e} ({})", e.code());
    if item.starts_with("01/") {
        return cellproof_core::DigitalLink::parse_path(&format!("/{item}")).map_err(read);
    }
    match cellproof_core::Label::parse(item).map_err(read)?.item() {
        Some(battery) => Ok(battery),
        None => bail!("{item} names no single battery (a GTIN and a serial, AI 01 and 21)"),
    }
}

fn passport_get(
    registry: &str,
    item: &str,
    at: Option<&str>,
    out: Option<&Path>,
) -> Result<Outcome> {
    let battery = battery_of(item)?;
    // `01/{gtin}/21/{serial}` with the serial percent-encoded as Digital Links write it.
    let path = battery.path();
    let (gtin, serial) = path
        .strip_prefix("01/")
        .and_then(|p| p.split_once("/21/"))
        .context("the battery's Digital Link path")?;
    let mut url = format!(
        "{}/v1/passports/{gtin}/{serial}",
        registry.trim_end_matches('/')
    );
    let when = match at {
        Some(t) => {
            let t = crate::inputs::time(Some(t))?;
            let text = cellproof_core::format_rfc3339(t.0);
            url.push_str(&format!("?at={text}"));
            Some(text)
        }
        None => None,
    };
    let client = crate::inputs::registry_client(30)?;
    let r = client
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let body = r.text().with_context(|| format!("reading {url}"))?;
    if status.as_u16() == 404 {
        eprintln!(
            "{url}: the registry holds no passport of {}{}",
            battery.path(),
            when.as_deref()
                .map(|w| format!(" as of {w}"))
                .unwrap_or_default()
        );
        return Ok(Outcome::NotValid);
    }
    if !status.is_success() {
        bail!("GET {url}: HTTP {status}: {}", output::safe(&body));
    }
    let chain = cellproof_core::PassportChain::from_json(&body)
        .map_err(|e| anyhow::anyhow!("{url}: not a passport chain: {e} ({})", e.code()))?;
    eprintln!(
        "{}: {} version(s), {} attestation(s){}",
        battery.path(),
        chain.versions.len(),
        chain.attestations.len(),
        when.as_deref()
            .map(|w| format!(", as accepted by {w}"))
            .unwrap_or_default()
    );
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&body)?)?;
    write_out(out, &pretty)?;
    Ok(Outcome::Success)
}

fn trust_list_sign(key: &Path, input: &Path, out: Option<&Path>) -> Result<Outcome> {
    let root = read_private_key(key)?;
    let payload = read_json(input)?;
    let map = payload
        .as_object()
        .context("the trust-list payload must be a JSON object")?;
    let list = TrustList::from_payload(map)
        .map_err(|e| anyhow::anyhow!("{}: {e} ({})", input.display(), e.code()))?;
    write_out(out, &sign_trust_list(&list, &root))?;
    Ok(Outcome::Success)
}

fn status_list(a: &StatusListArgs) -> Result<Outcome> {
    let key = read_private_key(&a.key)?;
    let purpose = match a.purpose {
        PurposeArg::Revocation => Purpose::Revocation,
        PurposeArg::Suspension => Purpose::Suspension,
        PurposeArg::Refresh => Purpose::Refresh,
    };
    if a.entries < cellproof_core::MIN_ENTRIES || !a.entries.is_multiple_of(8) {
        bail!(
            "--entries must be a multiple of 8 and at least {}",
            cellproof_core::MIN_ENTRIES
        );
    }
    let mut indexes = a.set.clone();
    if let Some(f) = &a.set_file {
        for (n, line) in read_text(f)?.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            indexes.push(
                line.parse().with_context(|| {
                    format!("{}:{}: {line:?} is not an index", f.display(), n + 1)
                })?,
            );
        }
    }
    let mut bits = Bitstring::zeroed(a.entries);
    for i in indexes {
        bits.set(i, true)
            .map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?;
    }
    let from = inputs::time(a.at.as_deref())?.secs();
    let spec = StatusListSpec {
        id: &a.id,
        issuer: &a.issuer,
        purpose,
        valid_from: from,
        valid_until: from + a.valid_for,
        ttl_ms: a.ttl,
    };
    write_out(
        a.out.as_deref(),
        &sign_status_list(&status_list_payload(&spec, &bits), &key),
    )?;
    Ok(Outcome::Success)
}

fn ecc(e: EccArg) -> Ecc {
    match e {
        EccArg::L => Ecc::L,
        EccArg::M => Ecc::M,
        EccArg::Q => Ecc::Q,
        EccArg::H => Ecc::H,
    }
}

fn ecc_name(e: Ecc) -> &'static str {
    match e {
        Ecc::L => "L",
        Ecc::M => "M",
        Ecc::Q => "Q",
        Ecc::H => "H",
    }
}

/// Writes a QR code as SVG or PNG, by the file's extension.
pub fn write_qr(code: &Encoded, path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "svg" => std::fs::write(path, code.to_svg())
            .with_context(|| format!("writing {}", path.display())),
        "png" => {
            let (w, h, luma) = code.to_luma(8);
            image::GrayImage::from_raw(w, h, luma)
                .context("rendering the QR code")?
                .save(path)
                .with_context(|| format!("writing {}", path.display()))
        }
        _ => bail!("--qr {} must end in .svg or .png", path.display()),
    }
}

fn issue(a: &IssueArgs) -> Result<Outcome> {
    let key = read_private_key(&a.key)?;
    let claims = read_json(&a.claims)?;
    let mut claims = claims
        .as_object()
        .context("the claims file must be a JSON object")?
        .clone();
    if let Some(path) = &a.passport {
        // SPEC.md section 2: `bp.dig` commits the label to version 1 of the full passport.
        let v1 = read_text(path)?;
        let bp = claims
            .get_mut("bp")
            .and_then(Value::as_object_mut)
            .context("the claims have no `bp` object to put the passport digest in")?;
        bp.insert(
            "dig".into(),
            cellproof_core::passport_digest(v1.trim()).into(),
        );
    }
    let claims = &claims;
    let iat = inputs::time(a.at.as_deref())?.secs();
    let issued = issue_credential(claims, iat, &key)
        .map_err(|e| anyhow::anyhow!("{}: {e} ({})", a.claims.display(), e.code()))?;
    let code = encode_url_numeric(&issued.url_prefix, &issued.fragment, ecc(a.ecc))
        .map_err(|e| anyhow::anyhow!("the credential does not fit a QR code: {e}"))?;
    if let Some(path) = &a.qr {
        write_qr(&code, path)?;
    }
    if a.json {
        let j = json!({
            "url": issued.url(),
            "jws": issued.jws,
            "jws_chars": issued.jws.len(),
            "fragment_digits": issued.fragment.len(),
            "qr": {
                "file": a.qr.as_ref().map(|p| p.display().to_string()),
                "version": code.version,
                "ecc": ecc_name(code.ecc),
                "modules": code.modules(),
            },
        });
        println!("{j}");
    } else {
        println!("{}", issued.url());
        eprintln!(
            "QR version {} at ECC {} ({} modules wide)",
            code.version,
            ecc_name(code.ecc),
            code.modules()
        );
    }
    Ok(Outcome::Success)
}

fn verify_cmd(a: &VerifyArgs) -> Result<Outcome> {
    let mut stores = inputs::stores(&a.roots, &a.trust_lists, &a.status_lists)?;
    if let Some(dir) = &a.synced {
        let w = crate::sync::load(dir, &mut stores.trust, &mut stores.status)?;
        stores.warnings.extend(w);
    }
    for w in &stores.warnings {
        eprintln!("cellproof: warning: {}", output::safe(w));
    }
    let now = inputs::time(a.at.as_deref())?;
    let chain = a
        .passport
        .as_deref()
        .map(|path| {
            cellproof_core::PassportChain::from_json(&read_text(path)?).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a passport chain: {e} ({})",
                    path.display(),
                    e.code()
                )
            })
        })
        .transpose()?;
    let mut ctx = Context::new(&stores.trust, &stores.status, now);
    ctx.chain = chain.as_ref();
    if let Some(batch) = &a.batch {
        return verify_batch(a, batch, &ctx, &stores.warnings);
    }
    let input = match (&a.input, &a.image) {
        (Some(text), _) => text.clone(),
        (None, Some(img)) => {
            let (w, h, luma) = inputs::luma(img)?;
            // In a child process: zxing-cpp is C++ reading an untrusted image (sandbox.rs).
            let frame = crate::sandbox::decode_luma(w, h, &luma)
                .with_context(|| format!("decoding {}", img.display()))?;
            match frame.codes.into_iter().next() {
                Some(c) => c.text,
                None => bail!(
                    "no QR code found in {} (try `cellproof decode` on it)",
                    img.display()
                ),
            }
        }
        (None, None) => bail!("give an input, --image or --batch"),
    };
    let v = if a.resolve {
        verify_online(a, &input, &ctx)?
    } else {
        verify(&input, &ctx)
    };
    let documents = check_documents(&v, &a.documents)?;
    if a.json {
        let mut j = output::verdict_json(&v, &stores.warnings);
        if let (Some(m), false) = (j.as_object_mut(), a.documents.is_empty()) {
            m.insert("documents".into(), Value::Array(documents.clone()));
        }
        println!("{}", output::json_line(&j));
    } else {
        print!("{}", output::verdict_text(&v));
        print!("{}", output::attestations_text(&v));
        for d in &documents {
            let ok = d["outcome"] == "matched";
            println!(
                "  document {}: {}",
                output::safe(d["file"].as_str().unwrap_or_default()),
                if ok {
                    format!(
                        "matches \"{}\"",
                        output::safe(d["name"].as_str().unwrap_or_default())
                    )
                } else {
                    format!(
                        "NOT the document the passport links ({})",
                        d["code"].as_str().unwrap_or_default()
                    )
                }
            );
        }
    }
    if documents.iter().any(|d| d["outcome"] != "matched") {
        return Ok(Outcome::NotValid);
    }
    Ok(if v.overall == Overall::Valid {
        Outcome::Success
    } else {
        Outcome::NotValid
    })
}

/// `verify --resolve` (SPEC.md section 2.2): resolves the label online and verifies what the
/// resolver links; says where it asked (stdout, or stderr under `--json` so stdout stays one
/// JSON verdict). A label that does not decode, or that the core plans no ask for, gets the
/// ordinary verdict.
fn verify_online(
    a: &VerifyArgs,
    input: &str,
    ctx: &Context<'_>,
) -> Result<cellproof_core::Verdict> {
    let resolvers = if a.resolvers.is_empty() {
        let synced = a.synced.as_deref().and_then(crate::sync::registry);
        synced
            .into_iter()
            .chain([crate::resolve::GS1_RESOLVER.to_owned()])
            .collect()
    } else {
        a.resolvers.clone()
    };
    for r in &resolvers {
        if !(r.starts_with("https://") || r.starts_with("http://")) {
            bail!(
                "--resolver {} must be an http(s) URL, e.g. https://id.gs1.org",
                output::safe(r)
            );
        }
    }
    let fetcher = crate::fetch::Fetcher::new(a.insecure_loopback)?;
    let resolution = match crate::resolve::resolve(input, &resolvers, &fetcher) {
        Ok(Some(r)) => r,
        Ok(None) | Err(_) => return Ok(verify(input, ctx)),
    };
    let say = |line: &str| {
        if a.json {
            eprintln!("{}", output::safe(line));
        } else {
            println!("{}", output::safe(line));
        }
    };
    for line in &resolution.asked {
        say(line);
    }
    let fetched = resolution.found.fetched();
    let v = cellproof_core::resolve::verify_resolved(input, &fetched, ctx);
    // SPEC.md section 2.2: a `did:web` issuer no accepted trust list names. Its DID document
    // (fetched only now, while resolving) gives the key that checks the passport's signature;
    // trust still fails, so the verdict stays unverifiable `issuer_unknown` naming the DID,
    // but a forgery is told apart (`signature_invalid`).
    let Some(url) = v
        .issuer_did
        .as_deref()
        .and_then(|did| cellproof_core::did_web_url_dev(did, a.insecure_loopback))
    else {
        return Ok(v);
    };
    // A document that cannot be had is the empty text, as the page hands it to the core:
    // `did_unresolvable`, unverifiable, the DID named.
    let (line, document) = match fetcher.get(&url, crate::fetch::Want::DidDocument) {
        Ok(doc) => (format!("asked {}: DID document", doc.url), doc.body),
        Err(f) => (
            format!(
                "asked {}: DID document {} ({})",
                f.url.as_deref().unwrap_or(&url),
                f.code,
                f.detail
            ),
            String::new(),
        ),
    };
    say(&line);
    let ctx = Context {
        did_document: Some(&document),
        ..*ctx
    };
    Ok(cellproof_core::resolve::verify_resolved(
        input, &fetched, &ctx,
    ))
}

/// Link objects (`{"linkURL", "linkName", "hashDigest", ...}`, SPEC.md section 3.2) anywhere in a
/// JSON value.
fn links<'a>(v: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match v {
        Value::Object(m) => {
            if m.get("hashDigest").and_then(Value::as_str).is_some() && m.contains_key("linkURL") {
                out.push(m);
            }
            m.values().for_each(|x| links(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| links(x, out)),
        _ => {}
    }
}

/// Checks each document file against the digests of the verified passport's links: a file
/// whose SHA-256 no link gives is `document_digest_mismatch` (SPEC.md section 3.2).
fn check_documents(
    v: &cellproof_core::Verdict,
    files: &[std::path::PathBuf],
) -> Result<Vec<Value>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let subject = v
        .passport
        .as_ref()
        .map(|p| Value::Object(p.subject.clone()))
        .unwrap_or(Value::Null);
    let mut found = Vec::new();
    links(&subject, &mut found);
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            let digest = cellproof_core::sha256_b64(&bytes);
            let link = found
                .iter()
                .find(|l| l.get("hashDigest").and_then(Value::as_str) == Some(digest.as_str()));
            Ok(match link {
                Some(l) => json!({"file": f.display().to_string(), "digest": digest,
                    "outcome": "matched", "name": l.get("name"), "linkType": l.get("linkType")}),
                None => json!({"file": f.display().to_string(), "digest": digest,
                    "outcome": "failed", "code": "document_digest_mismatch"}),
            })
        })
        .collect()
}

/// Makes a credential valid VC 2.0 JSON-LD before it is signed (SPEC.md 1.2 section 3): the
/// VC 2.0 context first (else an error: the verifier would refuse it), the undefined-terms
/// context last when missing, so that safe-mode expansion drops none of Cellproof's terms, and
/// an `id` (`urn:uuid:`, random) when the credential has none.
fn jsonld_ready(payload: &mut Value) -> Result<()> {
    let p = payload
        .as_object_mut()
        .context("the credential must be a JSON object")?;
    let ctx = p
        .get_mut("@context")
        .and_then(Value::as_array_mut)
        .filter(|c| c.first().and_then(Value::as_str) == Some(cellproof_core::VC_CONTEXT))
        .with_context(|| {
            format!(
                "`@context` must be an array starting with {}",
                cellproof_core::VC_CONTEXT
            )
        })?;
    if !ctx
        .iter()
        .any(|c| c.as_str() == Some(cellproof_core::UNDEFINED_TERMS_CONTEXT))
    {
        ctx.push(cellproof_core::UNDEFINED_TERMS_CONTEXT.into());
    }
    if !p.contains_key("id") {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b)
            .map_err(|e| anyhow::anyhow!("no randomness for the id: {e}"))?;
        // RFC 9562 version 4: random.
        let id = cellproof_core::urn_uuid(b, 4);
        p.insert("id".into(), id.into());
    }
    Ok(())
}

/// `passport sign`: checks the VC shape and the version against `--prev`, fills
/// `metadata.predecessor` and `validFrom`, signs as `vc+jwt`.
fn passport_sign(
    key: &Path,
    passport: &Path,
    prev: Option<&Path>,
    at: Option<&str>,
    out: &Path,
) -> Result<Outcome> {
    let key = read_private_key(key)?;
    let mut payload = read_json(passport)?;
    let p = payload
        .as_object_mut()
        .context("the passport must be a JSON object")?;
    if !p
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|x| x == "BatteryPassport"))
    {
        bail!(
            "{}: `type` must include BatteryPassport",
            passport.display()
        );
    }
    if !p.contains_key("validFrom") {
        let now = inputs::time(at)?.secs();
        p.insert(
            "validFrom".into(),
            cellproof_core::format_rfc3339(now).into(),
        );
    }
    let meta = p
        .get_mut("credentialSubject")
        .and_then(|cs| cs.get_mut("metadata"))
        .and_then(Value::as_object_mut)
        .context("the passport has no credentialSubject.metadata")?;
    let version = meta
        .get("version")
        .and_then(Value::as_u64)
        .context("credentialSubject.metadata.version must be a positive integer")?;
    match prev {
        None if version != 1 => bail!(
            "version {version} needs --prev (the previous version's JWS); only version 1 stands alone"
        ),
        None => {
            meta.remove("predecessor");
        }
        Some(prev_path) => {
            let prev_jws = read_text(prev_path)?;
            let prev_jws = prev_jws.trim();
            let parsed = cellproof_core::Jws::parse(
                prev_jws,
                cellproof_core::Typ::Vc,
                cellproof_core::MAX_PASSPORT,
            )
            .map_err(|e| anyhow::anyhow!("{}: {e} ({})", prev_path.display(), e.code()))?;
            let prev_version = parsed
                .unverified_payload()
                .get("credentialSubject")
                .and_then(|cs| cs.get("metadata"))
                .and_then(|m| m.get("version"))
                .and_then(Value::as_u64)
                .context("the previous version has no metadata.version")?;
            if prev_version.checked_add(1) != Some(version) {
                bail!(
                    "version {version} does not follow the previous version {prev_version} (SPEC.md section 3.1: it grows by one)"
                );
            }
            meta.insert(
                "predecessor".into(),
                cellproof_core::sha256_b64(prev_jws.as_bytes()).into(),
            );
        }
    }
    jsonld_ready(&mut payload)?;
    let jws = cellproof_core::sign_json(cellproof_core::Typ::Vc, &payload, &key);
    std::fs::write(out, &jws).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "passport version {version} signed: {} (bp.dig {}; hashDigest {})",
        out.display(),
        cellproof_core::passport_digest(&jws),
        cellproof_core::sha256_b64(jws.as_bytes())
    );
    Ok(Outcome::Success)
}

/// `attest`: checks the VC shape and signs an attestation as `vc+jwt`.
fn attest(key: &Path, claims: &Path, out: Option<&Path>) -> Result<Outcome> {
    let key = read_private_key(key)?;
    let mut payload = read_json(claims)?;
    let ok = payload
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|x| x == "ConformityAttestation"))
        && payload
            .get("credentialSubject")
            .and_then(|cs| cs.get("assessment"))
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
    if !ok {
        bail!(
            "{}: an attestation needs `type` with ConformityAttestation and a non-empty credentialSubject.assessment",
            claims.display()
        );
    }
    jsonld_ready(&mut payload)?;
    let jws = cellproof_core::sign_json(cellproof_core::Typ::Vc, &payload, &key);
    match out {
        Some(path) => {
            std::fs::write(path, &jws).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("hashDigest {}", cellproof_core::sha256_b64(jws.as_bytes()));
        }
        None => println!("{jws}"),
    }
    Ok(Outcome::Success)
}

/// `digest`: the base64url SHA-256 of each file's exact bytes.
fn digest(files: &[std::path::PathBuf]) -> Result<Outcome> {
    for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        println!(
            "{}  {}",
            cellproof_core::sha256_b64(&bytes),
            output::safe(&f.display().to_string())
        );
    }
    Ok(Outcome::Success)
}

/// Verifies a file of inputs in chunks, sharing Ed25519 batch verification inside each chunk.
fn verify_batch(
    a: &VerifyArgs,
    path: &Path,
    ctx: &Context<'_>,
    warnings: &[String],
) -> Result<Outcome> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        for line in std::io::stdin().lock().lines() {
            s.push_str(&line.context("reading stdin")?);
            s.push('\n');
        }
        s
    } else {
        read_text(path)?
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let mut out: Box<dyn std::io::Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    if a.format == BatchFormat::Csv {
        writeln!(out, "{}", output::csv_header())?;
    }
    // Draws only when stderr is a terminal.
    let bar = indicatif::ProgressBar::new(u64::try_from(lines.len()).unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} verified, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let (mut valid, mut not_valid) = (0usize, 0usize);
    for chunk in lines.chunks(256) {
        let inputs: Vec<&str> = chunk.iter().map(|(_, l)| *l).collect();
        for ((line, input), v) in chunk.iter().zip(verify_many(&inputs, ctx)) {
            if v.overall == Overall::Valid {
                valid += 1;
            } else {
                not_valid += 1;
            }
            match a.format {
                BatchFormat::Jsonl => {
                    let mut j = output::verdict_json(&v, &[]);
                    if let Some(m) = j.as_object_mut() {
                        m.remove("warnings");
                        m.insert("line".into(), (*line).into());
                    }
                    writeln!(out, "{}", output::json_line(&j))?;
                }
                BatchFormat::Csv => writeln!(out, "{}", output::csv_row(*line, input, &v))?,
            }
        }
        bar.inc(u64::try_from(chunk.len()).unwrap_or(0));
    }
    out.flush()?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} verified in {secs:.2}s: {valid} valid, {not_valid} invalid or unverifiable{}",
        lines.len(),
        if warnings.is_empty() {
            ""
        } else {
            " (see warnings above)"
        }
    );
    Ok(if not_valid == 0 {
        Outcome::Success
    } else {
        Outcome::NotValid
    })
}

fn decode(json_out: bool, images: &[std::path::PathBuf]) -> Result<Outcome> {
    let mut failed = 0;
    for img in images {
        let file = img.display().to_string();
        // In a child process: zxing-cpp is C++ reading an untrusted image (sandbox.rs). The
        // time is the decoder's own, without the process start.
        let result = inputs::luma(img).and_then(|(w, h, luma)| {
            let frame = crate::sandbox::decode_luma(w, h, &luma)?;
            Ok((frame.codes, frame.ms))
        });
        match result {
            Ok((codes, ms)) => {
                if json_out {
                    // Each code's label form (SPEC.md 2.1), read offline by the core as
                    // `verify` reads it: the same `label` member as the verdict's, null for a
                    // text that is no label.
                    let codes: Vec<Value> = codes
                        .iter()
                        .map(|c| {
                            let label = Label::parse(&c.text).ok().map(|l| LabelJson {
                                form: l.form.as_str(),
                                identifier: l.identifier(),
                                attributes: l.attributes,
                            });
                            json!({"text": c.text, "corners": c.corners, "label": label})
                        })
                        .collect();
                    let j =
                        json!({"file": file, "codes": codes, "ms": (ms * 100.0).round() / 100.0});
                    println!("{}", output::json_line(&j));
                } else if codes.is_empty() {
                    println!("{file}: no QR code found ({ms:.1} ms)");
                } else {
                    for c in &codes {
                        let corners: Vec<String> = c
                            .corners
                            .iter()
                            .map(|[x, y]| format!("({x:.0},{y:.0})"))
                            .collect();
                        // The decoded text is whatever the image holds: escaped for the terminal.
                        println!(
                            "{file}: {} [{}] ({ms:.1} ms)",
                            output::safe(&c.text),
                            corners.join(" ")
                        );
                        if let Ok(l) = Label::parse(&c.text) {
                            println!("{file}:   label: {}", output::label_text(&l));
                        }
                    }
                }
            }
            Err(e) => {
                failed += 1;
                if json_out {
                    let j = json!({"file": file, "error": format!("{e:#}")});
                    println!("{}", output::json_line(&j));
                } else {
                    eprintln!("cellproof: {file}: {}", output::safe(&format!("{e:#}")));
                }
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} image(s) could not be read", images.len());
    }
    Ok(Outcome::Success)
}

/// The demo: a whole world from a fixed seed, a sample credential, its QR and its verdict.
pub fn demo(out: Option<&Path>) -> Result<Outcome> {
    use cellproof_world::{World, DAY};
    let now = inputs::time(None)?.secs();
    let world = World::new(
        "cellproof-demo",
        "https://registry.cellproof.example",
        now - DAY,
    );
    let claims = world.reference_claims();
    let issued = world
        .issue(&world.acme, &claims, now - 3_600)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let code = encode_url_numeric(&issued.url_prefix, &issued.fragment, Ecc::M)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", code.to_terminal());
    println!(
        "QR URL ({} characters; QR version {} at ECC M):\n{}\n",
        issued.url().len(),
        code.version,
        issued.url()
    );
    let lists = [
        world.sign_trust_list(&world.trust_list("catena-x")),
        world.sign_trust_list(&world.trust_list("ouranos")),
    ];
    let until = now + 7 * DAY;
    let status = [
        world.status_list(
            &world.acme,
            "3",
            Purpose::Revocation,
            &[1_001],
            now - DAY,
            until,
        ),
        world.status_list(&world.acme, "3", Purpose::Suspension, &[], now - DAY, until),
        world.status_list(&world.acme, "3", Purpose::Refresh, &[], now - DAY, until),
    ];
    // A verifier pinned only to ouranos: ACME (catena-x) is trusted through recognition.
    let mut trust = cellproof_core::TrustStore::new();
    trust.pin_root("ouranos", &world.ouranos_root.public());
    for r in trust.insert_all(lists.iter().map(String::as_str)) {
        r.map_err(|e| anyhow::anyhow!("demo trust list refused: {e}"))?;
    }
    let mut store = cellproof_core::StatusStore::new();
    for s in &status {
        store
            .insert(s, &trust)
            .map_err(|e| anyhow::anyhow!("demo status list refused: {e}"))?;
    }
    let v = verify(
        &issued.url(),
        &Context::new(&trust, &store, cellproof_core::UnixTime(now)),
    );
    println!("Verifier pinned to the ouranos root only:");
    print!("{}", output::verdict_text(&v));
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let w = |name: &str, text: &str| {
            std::fs::write(dir.join(name), format!("{text}\n"))
                .with_context(|| format!("writing {name}"))
        };
        w(
            "ouranos-root.jwk",
            &world.ouranos_root.public().to_jwk().to_string(),
        )?;
        w(
            "catena-x-root.jwk",
            &world.catena_root.public().to_jwk().to_string(),
        )?;
        w("catena-x.trust-list.jws", &lists[0])?;
        w("ouranos.trust-list.jws", &lists[1])?;
        for (s, name) in status
            .iter()
            .zip(["acme-3", "acme-3-suspension", "acme-3-refresh"])
        {
            w(&format!("{name}.status-list.jws"), s)?;
        }
        w("credential.url", &issued.url())?;
        write_qr(&code, &dir.join("credential.png"))?;
        let d = dir.display();
        println!(
            "\nWrote the demo world to {d}. Verify it yourself:\n  cellproof verify --image {d}/credential.png --root ouranos={d}/ouranos-root.jwk \\\n    --trust-list {d}/catena-x.trust-list.jws --trust-list {d}/ouranos.trust-list.jws \\\n    --status-list {d}/acme-3.status-list.jws --status-list {d}/acme-3-suspension.status-list.jws --status-list {d}/acme-3-refresh.status-list.jws"
        );
    }
    Ok(if v.overall == Overall::Valid {
        Outcome::Success
    } else {
        Outcome::NotValid
    })
}
