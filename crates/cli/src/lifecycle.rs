//! `cellproof lifecycle record` (SPEC.md 1.2 sections 3.4 and 6.2): signs a
//! `BatteryLifecycleEvent` with the actor's key, wraps it in an `op: "lifecycle"` request
//! signed by the same key and posts it to `POST /v1/lifecycle`. The registry applies it by
//! role and by the transition table; its refusal is printed with its problem type and code.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _, Result};
use cellproof_core::lifecycle::{event_payload, LifecycleStatus, NewEvent, ResponsibleParty};
use cellproof_core::{sign_json, Typ};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::cmd::Outcome;
use crate::inputs::{self, read_private_key};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum LifecycleCmd {
    /// Record a lifecycle event on a registry. Exit 1 when the registry refused it.
    Record(RecordArgs),
}

/// A lifecycle status by its wire name (`original`, `repurposed`, ...), the core's list.
fn status(s: &str) -> Result<LifecycleStatus, String> {
    LifecycleStatus::parse(s).ok_or_else(|| {
        let names: Vec<&str> = LifecycleStatus::ALL.iter().map(|l| l.as_str()).collect();
        format!("not a lifecycle status; one of {}", names.join(", "))
    })
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The registry's public base URL (the request's `aud`), e.g. `https://registry.example`.
    #[arg(long)]
    pub registry: String,
    /// The actor's private JWK (a repurposer, remanufacturer, repairer, waste operator or
    /// recycler of an accepted trust list, or the passport's issuer).
    #[arg(long)]
    pub key: PathBuf,
    /// The actor's DID (the event's `issuer` and the request's `iss`).
    #[arg(long)]
    pub iss: String,
    /// The battery: `01/{gtin}/21/{serial}`, a Digital Link URL or a GS1 element string.
    pub item: String,
    /// The status the battery has now, as the actor knows it (`previousStatus`): original,
    /// repurposed, reused, remanufactured, waste or recycled.
    #[arg(long, value_parser = status)]
    pub from: LifecycleStatus,
    /// The new status.
    #[arg(long, value_parser = status)]
    pub to: LifecycleStatus,
    /// The battery's `passportIdentifier`; default: read from the registry's passport chain.
    #[arg(long)]
    pub passport_id: Option<String>,
    /// A successor passport: `URL=PASSPORTIDENTIFIER` (repeatable; required for repurposed
    /// and remanufactured).
    #[arg(long = "successor", value_name = "URL=PASSPORTID")]
    pub successors: Vec<String>,
    /// Who takes over a battery that became waste: `ID=NAME=ROLE`, ROLE one of `producer`,
    /// `pro`, `waste-operator` (required for waste).
    #[arg(long, value_name = "ID=NAME=ROLE")]
    pub responsible: Option<String>,
    /// When it happened (RFC 3339 or Unix seconds); default now.
    #[arg(long)]
    pub date: Option<String>,
    /// Also write the signed event here.
    #[arg(long)]
    pub event_out: Option<PathBuf>,
}

pub fn run(cmd: &LifecycleCmd) -> Result<Outcome> {
    let LifecycleCmd::Record(a) = cmd;
    record(a)
}

fn random16() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(|e| anyhow!("no randomness: {e}"))?;
    Ok(b)
}

fn record(a: &RecordArgs) -> Result<Outcome> {
    let key = read_private_key(&a.key)?;
    let registry = a.registry.trim_end_matches('/');
    let battery = crate::cmd::battery_of(&a.item)?;
    let path = battery.path();
    // The battery's Digital Link URL: the one given, or under the registry.
    let url = if a.item.starts_with("http://") || a.item.starts_with("https://") {
        a.item
            .split(['#', '?'])
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        format!("{registry}/{path}")
    };
    let client = inputs::registry_client(30)?;
    let passport_id = match &a.passport_id {
        Some(p) => p.clone(),
        None => passport_identifier(&client, registry, &path)?,
    };
    let successors: Vec<(String, String)> = a
        .successors
        .iter()
        .map(|s| {
            let (u, p) = s
                .rsplit_once('=')
                .ok_or_else(|| anyhow!("--successor {s}: expected URL=PASSPORTID"))?;
            Ok((u.to_owned(), p.to_owned()))
        })
        .collect::<Result<_>>()?;
    let responsible = match &a.responsible {
        None => None,
        Some(r) => {
            let mut parts = r.splitn(3, '=');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(id), Some(name), Some(role)) => Some(ResponsibleParty {
                    id: id.into(),
                    name: name.into(),
                    role: role.into(),
                }),
                _ => bail!("--responsible {r}: expected ID=NAME=ROLE"),
            }
        }
    };
    let date = inputs::time(a.date.as_deref())?.secs();
    let id = cellproof_core::urn_uuid(random16()?, 4);
    let payload = event_payload(&NewEvent {
        id: &id,
        issuer: &a.iss,
        battery: &url,
        passport_identifier: &passport_id,
        previous: a.from,
        new: a.to,
        event_date: date,
        successors: &successors,
        responsible: responsible.as_ref(),
    });
    // Read back as the registry reads it: a malformed event fails here, not there.
    let map = payload
        .as_object()
        .ok_or_else(|| anyhow!("the event payload is an object"))?;
    let refused =
        |e: cellproof_core::Error| anyhow!("the event would be refused: {e} ({})", e.code());
    let checked = cellproof_core::lifecycle::LifecycleEvent::from_payload(map).map_err(refused)?;
    // What the transition table asks of the event itself (what it carries, its date, no way
    // back to original), as if the held status were `--from` and the signer the issuer: the
    // registry checks the rest (the held status, the signer's roles).
    cellproof_core::lifecycle::check_transition(
        &battery,
        checked.previous,
        &checked,
        cellproof_core::lifecycle::Actor {
            roles: &[],
            speaks_for_issuer: true,
        },
        inputs::time(None)?.secs(),
    )
    .map_err(refused)?;
    let event = sign_json(Typ::Vc, &payload, &key);
    if let Some(out) = &a.event_out {
        std::fs::write(out, &event).with_context(|| format!("writing {}", out.display()))?;
    }
    let jti = cellproof_core::b64_encode(&random16()?);
    let request = sign_json(
        Typ::RegistryRequest,
        &json!({"iss": a.iss, "iat": inputs::time(None)?.secs(), "jti": jti, "aud": registry,
                "op": "lifecycle", "item": path, "event": event}),
        &key,
    );
    let endpoint = format!("{registry}/v1/lifecycle");
    let r = client
        .post(&endpoint)
        .header("Content-Type", "application/jwt")
        .body(request)
        .send()
        .with_context(|| format!("POST {endpoint}"))?;
    let status = r.status();
    let body = r.text().with_context(|| format!("reading {endpoint}"))?;
    let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if status.is_success() {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        eprintln!(
            "{path}: {} -> {} (event {id}, audit {})",
            a.from.as_str(),
            a.to.as_str(),
            answer["audit"]
        );
        return Ok(Outcome::Success);
    }
    if answer.is_object() {
        eprintln!(
            "refused: HTTP {status} {} ({}): {}",
            output::safe(answer["type"].as_str().unwrap_or_default()),
            output::safe(answer["code"].as_str().unwrap_or("-")),
            output::safe(answer["detail"].as_str().unwrap_or_default())
        );
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(Outcome::NotValid);
    }
    bail!("POST {endpoint}: HTTP {status}: {}", output::safe(&body))
}

/// The current passport's `metadata.passportIdentifier`, from the registry's chain.
fn passport_identifier(
    client: &reqwest::blocking::Client,
    registry: &str,
    path: &str,
) -> Result<String> {
    let (gtin, serial) = path
        .strip_prefix("01/")
        .and_then(|p| p.split_once("/21/"))
        .context("the battery's Digital Link path")?;
    let url = format!("{registry}/v1/passports/{gtin}/{serial}");
    let r = client
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .with_context(|| format!("GET {url}"))?;
    if !r.status().is_success() {
        bail!(
            "{url}: HTTP {}: the registry holds no passport of {path}; give --passport-id",
            r.status()
        );
    }
    let chain = cellproof_core::PassportChain::from_json(&r.text()?)
        .map_err(|e| anyhow!("{url}: not a passport chain: {e} ({})", e.code()))?;
    let current = chain.versions.last().context("an empty chain")?;
    // Read, not verified: only to name the passport in the event, which the registry checks.
    let jws = cellproof_core::Jws::parse(current, Typ::Vc, cellproof_core::MAX_PASSPORT)
        .map_err(|e| anyhow!("{url}: the current version: {e} ({})", e.code()))?;
    jws.unverified_payload()
        .get("credentialSubject")
        .and_then(|cs| cs.get("metadata")?.get("passportIdentifier")?.as_str())
        .map(str::to_owned)
        .context("the current version has no metadata.passportIdentifier; give --passport-id")
}
