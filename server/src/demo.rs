//! `--demo`: a deterministic demo world in the data directory (two ecosystems, their root
//! keys, two manufacturers, sample credentials with valid, revoked, suspended and superseded
//! status) and `DIR/demo/manifest.json`, the stable contract for external tests.
//!
//! The world's seed is random on first start and kept in `DIR/demo/world.json`, so restarts
//! keep the same keys. The root private keys in `DIR/demo/keys/` play the offline roots:
//! trust lists are signed with them here and enter through the operator upload path; status
//! bits are set by real signed requests through the same code as `POST /v1/status`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, Context as _};
use cellproof_core::{sign_json, sign_trust_list, Authority, KeyPair, Op, PublicKey, Purpose, Typ};
use cellproof_world::{Issuer, World, DAY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::registry::{digest_hex, random_bytes, Onboard, Registry};
use crate::store::ItemRow;

/// The ecosystems of the demo.
pub const ECOSYSTEMS: [&str; 2] = ["catena-x", "ouranos"];

#[derive(Serialize, Deserialize)]
struct WorldFile {
    seed: String,
    t0: u64,
}

/// A sample credential, as kept in `DIR/demo/samples.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sample {
    /// `valid`, `revoked`, `suspended`, `superseded`, `ouranos-valid`, ...
    pub name: String,
    /// The issuer's ecosystem.
    pub eco: String,
    /// Issuer DID.
    pub issuer: String,
    /// `01/{gtin}/21/{serial}`.
    pub path: String,
    /// The numeric QR fragment.
    pub fragment: String,
    /// The compact `bp+jwt`.
    pub jws: String,
    /// List id.
    pub list: String,
    /// Status index.
    pub index: u64,
}

/// The demo world of a data directory.
pub struct Demo {
    dir: PathBuf,
    /// The world (keys from the stored seed, URLs from the current public URL).
    pub world: World,
}

impl Demo {
    /// Loads `DIR/demo/world.json`, or creates it with a random seed.
    pub fn load_or_create(data_dir: &Path, public_url: &str, now: u64) -> anyhow::Result<Demo> {
        let dir = data_dir.join("demo");
        std::fs::create_dir_all(dir.join("keys"))?;
        let path = dir.join("world.json");
        let wf: WorldFile = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).context("reading demo/world.json")?,
            Err(_) => {
                let seed = random_bytes::<16>().map_err(|e| anyhow!("no randomness: {e}"))?;
                let wf = WorldFile {
                    seed: crate::store::hex_digest(&seed),
                    t0: now,
                };
                write_private(&path, &serde_json::to_vec_pretty(&json!(wf))?)?;
                wf
            }
        };
        let world = World::new(&wf.seed, public_url, wf.t0);
        for (name, key) in [
            ("catena-x-root", &world.catena_root),
            ("ouranos-root", &world.ouranos_root),
            ("acme", &world.acme.key),
            ("denchi", &world.denchi.key),
        ] {
            let p = dir.join("keys").join(format!("{name}.jwk"));
            write_private(&p, key.to_private_jwk().to_string().as_bytes())?;
        }
        Ok(Demo { dir, world })
    }

    /// The pinned roots of the demo ecosystems.
    pub fn pins(&self) -> Vec<(String, PublicKey)> {
        ECOSYSTEMS
            .iter()
            .map(|eco| ((*eco).to_owned(), self.world.root(eco).public()))
            .collect()
    }

    fn issuers(&self) -> [(&Issuer, &'static [&'static str]); 2] {
        [
            (&self.world.acme, &["3", "4"]),
            (&self.world.denchi, &["7"]),
        ]
    }

    /// Brings the registry up to the demo: trust lists (re-signed when the public URL, the
    /// authority keys or their age call for it), issuers, samples; writes the manifest.
    /// Returns the manifest.
    pub fn ensure(&self, registry: &Mutex<Registry>, now: u64) -> anyhow::Result<Value> {
        let mut reg = registry
            .lock()
            .map_err(|_| anyhow!("registry lock poisoned"))?;
        for eco in ECOSYSTEMS {
            self.ensure_trust_list(&mut reg, eco, now)?;
        }
        for (issuer, lists) in self.issuers() {
            let req = Onboard {
                slug: issuer.slug.clone(),
                did: issuer.did.clone(),
                eco: issuer.eco.clone(),
                lists: lists.iter().map(|l| (*l).to_owned()).collect(),
            };
            let body = serde_json::to_vec(&json!({"slug": req.slug, "did": req.did,
                "eco": req.eco, "lists": req.lists}))?;
            reg.onboard(&req, digest_hex(&body), "demo", now)
                .map_err(|e| anyhow!("demo onboarding: {e}"))?;
        }
        let samples_path = self.dir.join("samples.json");
        let samples: Vec<Sample> = match std::fs::read(&samples_path) {
            Ok(b) => serde_json::from_slice(&b).context("reading demo/samples.json")?,
            Err(_) => {
                let s = self.make_samples(&mut reg, now)?;
                write_file(&samples_path, &serde_json::to_vec_pretty(&s)?, false)?;
                s
            }
        };
        let public_url = reg.settings().public_url.clone();
        drop(reg);
        let manifest = json!({
            "server": public_url,
            "ecosystems": ECOSYSTEMS.iter().map(|eco| json!({
                "eco": eco, "root": self.world.root(eco).public().to_jwk(),
                "trustList": format!("{public_url}/v1/trust-list/{eco}"),
            })).collect::<Vec<_>>(),
            "issuers": self.issuers().iter().map(|(i, lists)| json!({
                "did": i.did, "kid": i.key.kid, "key": format!("demo/keys/{}.jwk", i.slug),
                "eco": i.eco, "slug": i.slug, "lists": lists,
                "statusBase": format!("{public_url}/v1/status/{}/", i.slug),
            })).collect::<Vec<_>>(),
            "samples": samples.iter().map(|s| json!({
                "name": s.name, "eco": s.eco, "issuer": s.issuer, "list": s.list,
                "index": s.index,
                "url": format!("{public_url}/{}#{}", s.path, s.fragment),
            })).collect::<Vec<_>>(),
            "bundle": format!("{public_url}/v1/bundle"),
        });
        // The token file exists unless the token comes from the configuration.
        let token_file = self.dir.parent().map(|d| d.join("operator-token"));
        let mut manifest = manifest;
        if let (Some(m), true) = (
            manifest.as_object_mut(),
            token_file.is_some_and(|p| p.exists()),
        ) {
            m.insert("operatorToken".into(), "operator-token".into());
        }
        write_file(
            &self.dir.join("manifest.json"),
            &serde_json::to_vec_pretty(&manifest)?,
            false,
        )?;
        Ok(manifest)
    }

    fn ensure_trust_list(&self, reg: &mut Registry, eco: &str, now: u64) -> anyhow::Result<()> {
        let authority = Authority {
            id: reg.settings().authority_did.clone(),
            keys: reg.authority_public_keys(),
        };
        let mut list = self.world.trust_list(eco);
        list.authorities = vec![authority];
        for e in &mut list.entities {
            if let Some(i) = [&self.world.acme, &self.world.denchi, &self.world.certifier]
                .into_iter()
                .find(|i| i.did == e.id)
            {
                e.status_base = Some(reg.status_base(&i.slug));
            }
        }
        if let Some(held) = reg.trust().list(eco) {
            let same = held.entities == list.entities && held.authorities == list.authorities;
            let young = now < held.iat + (held.exp - held.iat) / 2;
            if same && young {
                return Ok(());
            }
            list.seq = held.seq + 1;
        }
        list.iat = now;
        list.exp = now + 30 * DAY;
        let jws = sign_trust_list(&list, self.world.root(eco));
        reg.upload_trust_list(jws.as_bytes(), "demo", now)
            .map_err(|e| anyhow!("demo trust list {eco}: {e}"))?;
        Ok(())
    }

    fn make_samples(&self, reg: &mut Registry, now: u64) -> anyhow::Result<Vec<Sample>> {
        let w = &self.world;
        let plan: [(&Issuer, &str, &str, Option<Purpose>); 7] = [
            (&w.acme, "valid", "3", None),
            (&w.acme, "revoked", "3", Some(Purpose::Revocation)),
            (&w.acme, "suspended", "3", Some(Purpose::Suspension)),
            (&w.acme, "superseded", "3", Some(Purpose::Refresh)),
            (&w.denchi, "ouranos-valid", "7", None),
            (&w.denchi, "ouranos-revoked", "7", Some(Purpose::Revocation)),
            (
                &w.denchi,
                "ouranos-suspended",
                "7",
                Some(Purpose::Suspension),
            ),
        ];
        let public_url = reg.settings().public_url.clone();
        let mut out = Vec::new();
        for (n, (issuer, name, list, purpose)) in plan.into_iter().enumerate() {
            let alloc = signed(
                &issuer.key,
                json!({"iss": issuer.did, "iat": now, "jti": jti()?, "aud": public_url,
                       "op": "allocate", "list": list, "count": 1}),
            );
            let a = reg
                .gate()
                .authenticate(alloc.as_bytes(), Op::Allocate, now)
                .map_err(|e| anyhow!("demo allocation: {e}"))?;
            let index = *reg
                .allocate(a, now)
                .map_err(|e| anyhow!("demo allocation: {e}"))?
                .indexes
                .first()
                .ok_or_else(|| anyhow!("demo allocation returned nothing"))?;
            let serial = format!("CP{}{:03}", name.to_ascii_uppercase().replace('-', ""), n);
            let serial: String = serial.chars().take(20).collect();
            let st = format!("{list}/{index}");
            let claims = w.sample_claims(issuer, &serial, Some(&st), &public_url);
            let issued = w
                .issue(issuer, &claims, now)
                .map_err(|e| anyhow!("demo credential {name}: {e}"))?;
            let path = claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some(p) = purpose {
                let upd = signed(
                    &issuer.key,
                    json!({"iss": issuer.did, "iat": now, "jti": jti()?, "aud": public_url,
                           "op": "status", "list": list, "index": index,
                           "purpose": p.as_str(), "value": true}),
                );
                let a = reg
                    .gate()
                    .authenticate(upd.as_bytes(), Op::Status, now)
                    .map_err(|e| anyhow!("demo status update: {e}"))?;
                reg.status_update(a, now)
                    .map_err(|e| anyhow!("demo status update: {e}"))?;
            }
            reg.register_item(
                ItemRow {
                    path: path.clone(),
                    slug: issuer.slug.clone(),
                    list_id: list.into(),
                    index,
                },
                now,
            )
            .map_err(|e| anyhow!("demo item: {e}"))?;
            out.push(Sample {
                name: name.into(),
                eco: issuer.eco.clone(),
                issuer: issuer.did.clone(),
                path,
                fragment: issued.fragment,
                jws: issued.jws,
                list: list.into(),
                index,
            });
        }
        Ok(out)
    }
}

fn signed(key: &KeyPair, payload: Value) -> String {
    sign_json(Typ::RegistryRequest, &payload, key)
}

fn jti() -> anyhow::Result<String> {
    let b = random_bytes::<12>().map_err(|e| anyhow!("no randomness: {e}"))?;
    Ok(cellproof_core::b64_encode(&b))
}

/// Writes a file readable by its owner only (keys, tokens), atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, true)
}

/// Writes a file atomically (temporary file, fsync, rename); `private` makes it mode 0600.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}
