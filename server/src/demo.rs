//! `--demo`: a deterministic demo world in the data directory (two ecosystems, their root
//! keys, two manufacturers, sample credentials with valid, revoked, suspended and superseded
//! status) and `DIR/demo/manifest.json`, the stable contract for external tests.
//!
//! The world's seed is random on first start and kept in `DIR/demo/world.json`, so restarts
//! keep the same keys. The root private keys in `DIR/demo/keys/` play the offline roots:
//! trust lists are signed with them here and enter through the operator upload path; status
//! bits are set by real signed requests through the same code as `POST /v1/status`.
//!
//! Passport samples (SPEC.md section 3): ACME's `passport-valid` battery has passport versions
//! 1 and 2 (the label's `bp.dig` commits to version 1), attestations for its cobalt and nickel
//! suppliers by the Catena-X certifier, for its lithium supplier by the Ouranos certifier that
//! Catena-X recognises for mineral sourcing, and a carbon-footprint verification by the
//! Catena-X certifier as notified body; its carbon-footprint declaration and declaration of
//! conformity are documents in the registry. Everything goes through the registry's one upload
//! pipeline, the one `POST /v1/passports`, `POST /v1/attestations` and `PUT /v1/documents`
//! use (home ecosystem, `gcp`, the core's checks; documents with a signed envelope), except
//! the one artifact the registry itself refuses:
//! `attestation-out-of-scope`'s lithium attestation by the cobalt/nickel certifier is seeded
//! straight into the store (audited as `demo.seed`), so that verifiers see the failure.
//! `attestation-revoked`'s cobalt attestation is revoked by the certifier through a real signed
//! status update on its own status list (`certifier/1`). `passport-tampered` holds another
//! validly signed version 1 than the one its label committed to; `gtin-not-issuer` is an ACME
//! label for a GTIN outside ACME's company prefix.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, Context as _};
use cellproof_core::{
    format_rfc3339, gtin_with_check_digit, passport_digest, sha256_b64, sign_json, sign_trust_list,
    Authority, KeyPair, Op, PublicKey, Purpose, Tier, Typ,
};
use cellproof_world::{Issuer, Listed, World, DAY, YEAR};
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
    /// The world that is not Cellproof's, on its own loopback origin (demo_foreign.rs).
    pub foreign: Option<std::sync::Arc<crate::demo_foreign::Foreign>>,
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
            ("certifier", &world.certifier.key),
            ("jqa", &world.jqa.key),
            ("msa", &world.msa.key),
            ("recycler", &world.recycler.key),
            ("repurposer", &world.repurposer.key),
            ("remanufacturer", &world.remanufacturer.key),
            ("waste-operator", &world.waste_operator.key),
        ] {
            let p = dir.join("keys").join(format!("{name}.jwk"));
            write_private(&p, key.to_private_jwk().to_string().as_bytes())?;
        }
        Ok(Demo {
            dir,
            world,
            foreign: None,
        })
    }

    /// The pinned roots of the demo ecosystems.
    pub fn pins(&self) -> Vec<(String, PublicKey)> {
        ECOSYSTEMS
            .iter()
            .map(|eco| ((*eco).to_owned(), self.world.root(eco).public()))
            .collect()
    }

    fn issuers(&self) -> [(&Issuer, &'static [&'static str]); 4] {
        [
            (&self.world.acme, &["3", "4"]),
            (&self.world.denchi, &["7"]),
            // The certifier's attestations carry a revocation entry in its own list.
            (&self.world.certifier, &["1"]),
            // Second Life Storage GmbH labels its second-life batteries (SPEC.md 1.2 3.4).
            (&self.world.repurposer, &["5"]),
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
        let mut samples: Vec<Sample> = match std::fs::read(&samples_path) {
            Ok(b) => serde_json::from_slice(&b).context("reading demo/samples.json")?,
            Err(_) => {
                let s = self.make_samples(&mut reg, now)?;
                write_file(&samples_path, &serde_json::to_vec_pretty(&s)?, false)?;
                s
            }
        };
        // And the lifecycle samples (SPEC.md 1.2 section 3.4), once.
        if !samples.iter().any(|s| s.name == "recycled") {
            let more = self.make_lifecycle_samples(&mut reg, now)?;
            samples.extend(more);
            write_file(&samples_path, &serde_json::to_vec_pretty(&samples)?, false)?;
        }
        // Data directories from before passports gain the passport samples once.
        if !samples.iter().any(|s| s.name == "passport-valid") {
            let more = self.make_passport_samples(&mut reg, now)?;
            samples.extend(more);
            write_file(&samples_path, &serde_json::to_vec_pretty(&samples)?, false)?;
        }
        // And the restricted sections of `passport-valid` (SPEC.md section 6.3), once.
        if let Some(s) = samples.iter().find(|s| s.name == "passport-valid") {
            self.ensure_restricted(&mut reg, &s.path, now)?;
        }
        // Every change the samples made is in the served lists from the start (the tick would
        // publish what two events in one second left waiting a second later).
        reg.resign(now)
            .map_err(|e| anyhow!("demo lists not published: {e}"))?;
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
            "samples": samples.iter().map(|s| {
                let mut v = json!({
                    "name": s.name, "eco": s.eco, "issuer": s.issuer, "list": s.list,
                    "index": s.index,
                    "url": format!("{public_url}/{}#{}", s.path, s.fragment),
                });
                if PASSPORT_SAMPLES.contains(&s.name.as_str()) {
                    if let Some(o) = v.as_object_mut() {
                        o.insert("passport".into(), chain_url(&public_url, &s.path).into());
                    }
                }
                v
            }).collect::<Vec<_>>(),
            // Labels without a credential (SPEC.md 2.1), verified by resolving online (2.2).
            "resolvedSamples": self.resolved_samples(&samples, &public_url),
            "foreign": self.foreign.as_ref().map(|f| json!({
                "origin": f.origin, "issuer": f.entity.id,
            })),
            "bundle": format!("{public_url}/v1/bundle"),
            "inspectors": [reader_json(&self.world.msa)],
            "recyclers": [reader_json(&self.world.recycler)],
            // Who records a battery's life after first use (SPEC.md 1.2 section 3.4).
            "actors": self.actors(),
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

    /// The manifest's `resolvedSamples`: `plain-link` and `element-string` (ACME's
    /// `passport-valid` battery as a plain Digital Link of this registry and as a DataMatrix
    /// element string) and the foreign origin's samples, each with its expected verdict.
    fn resolved_samples(&self, samples: &[Sample], public_url: &str) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(s) = samples.iter().find(|s| s.name == "passport-valid") {
            let mut parts = s.path.split('/');
            if let (Some("01"), Some(gtin), Some("21"), Some(serial)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            {
                let expect = json!({"overall": "valid", "code": null});
                out.push(json!({"name": "plain-link", "url": format!("{public_url}/{}", s.path),
                    "issuer": s.issuer, "expect": expect,
                    "about": "passport-valid's battery as a plain GS1 Digital Link of this registry (no credential in the label)"}));
                out.push(json!({"name": "element-string", "url": format!("(01){gtin}(21){serial}"),
                    "issuer": s.issuer, "expect": expect,
                    "about": "passport-valid's battery as a GS1 DataMatrix element string, resolved at the registry that served the page"}));
            }
        }
        if let Some(f) = &self.foreign {
            out.extend(f.samples.iter().cloned());
        }
        out
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
        // The foreign resolver's did:web manufacturer (demo_foreign.rs) is a Catena-X member.
        if let (Some(f), "catena-x") = (&self.foreign, eco) {
            list.entities.push(f.entity.clone());
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
            let index = self.allocate_one(reg, issuer, list, now)?;
            let serial = format!("CP{}{:03}", name.to_ascii_uppercase().replace('-', ""), n);
            let serial: String = serial.chars().take(20).collect();
            let st = format!("{list}/{index}");
            let claims = w.sample_claims(issuer, &serial, Some(&st), &public_url);
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
            out.push(self.labelled(reg, name, issuer, (list, index), &claims, now)?);
        }
        Ok(out)
    }
}

impl Demo {
    /// The lifecycle samples (SPEC.md 1.2 section 3.4), ACME labels on list 3 whose batteries
    /// lived on, each through events recorded by the demo's actors on `POST /v1/lifecycle`'s
    /// own path: `repurposed-original` (repurposed by the repurposer, naming a second-life
    /// battery's passport: valid, `superseded`), `waste` (declared waste by the recycler,
    /// responsibility with the waste operator: valid, notice `lifecycle_waste`) and `recycled`
    /// (waste, then recycled: invalid `passport_ceased`).
    fn make_lifecycle_samples(&self, reg: &mut Registry, now: u64) -> anyhow::Result<Vec<Sample>> {
        use cellproof_core::lifecycle::LifecycleStatus as L;
        let w = &self.world;
        let public_url = reg.settings().public_url.clone();
        let successor = vec![(
            format!("{public_url}/01/04071234000018/21/SL2029A0001"),
            cellproof_world::urn_uuid(&[&w.seed, "second-life", "SL2029A0001"]),
        )];
        // (sample, the events recorded on it: actor, from, to)
        type Recorded<'w> = Vec<(&'w Issuer, L, L)>;
        let plan: [(&str, Recorded<'_>); 4] = [
            (
                "repurposed-original",
                vec![(&w.repurposer, L::Original, L::Repurposed)],
            ),
            (
                "second-life-module",
                vec![(&w.repurposer, L::Original, L::Repurposed)],
            ),
            ("waste", vec![(&w.recycler, L::Original, L::Waste)]),
            (
                "recycled",
                vec![
                    (&w.recycler, L::Original, L::Waste),
                    (&w.recycler, L::Waste, L::Recycled),
                ],
            ),
        ];
        let mut out = Vec::new();
        let to_successor =
            |name: &str| matches!(name, "repurposed-original" | "second-life-module");
        let mut originals: Vec<(String, String)> = Vec::new();
        let gtin = gtin_with_check_digit("0401234500001").unwrap_or_default();
        let (carbon, conformity) = (
            self.put_document(
                reg,
                pdf_like("Carbon footprint declaration (Art. 7), EV battery 04012345000016"),
                now,
            )?,
            self.put_document(
                reg,
                pdf_like("EU declaration of conformity (Art. 18), EV battery 04012345000016"),
                now,
            )?,
        );
        for (n, (name, events)) in plan.into_iter().enumerate() {
            let issuer = &w.acme;
            let list = "3";
            let index = self.allocate_one(reg, issuer, list, now)?;
            let serial = format!("CPL{}{:03}", name.to_ascii_uppercase().replace('-', ""), n);
            let serial: String = serial.chars().take(20).collect();
            let path = format!("01/{gtin}/21/{serial}");
            let url = format!("{public_url}/{path}");
            let mut claims = self.claims_at(issuer, &path, (list, index), &public_url);
            // A passport of its own (no attestations): its chain carries the events.
            let base = reg.status_base(&issuer.slug);
            let refs = Refs {
                docs: (carbon.as_str(), conformity.as_str()),
                status: (base.as_str(), index),
            };
            let v1 = self.passport(&url, 1, None, &[], refs, now - 2 * DAY);
            self.post_passport(reg, &v1, now)?;
            if to_successor(name) {
                originals.push((url.clone(), v1.clone()));
            }
            if let Some(Value::Object(bp)) = claims.get_mut("bp") {
                bp.insert("dig".into(), passport_digest(&v1).into());
            }
            let sample = self.labelled(reg, name, issuer, (list, index), &claims, now)?;
            for (k, (actor, from, to)) in events.into_iter().enumerate() {
                let succ: &[(String, String)] = if to == L::Repurposed { &successor } else { &[] };
                // Dated a minute apart, the last a minute ago.
                let at = now.saturating_sub(120) + 60 * u64::try_from(k).unwrap_or(0);
                let event = w.lifecycle_event(actor, &url, from, to, succ, at);
                let req = signed(
                    &actor.key,
                    json!({"iss": actor.did, "iat": now, "jti": jti()?, "aud": public_url,
                           "op": "lifecycle", "item": path, "event": event}),
                );
                let a = reg
                    .gate()
                    .authenticate(req.as_bytes(), Op::Lifecycle, now)
                    .map_err(|e| anyhow!("demo lifecycle {name}: {e}"))?;
                match reg.apply_group(vec![a], now).pop() {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(anyhow!("demo lifecycle {name}: {e}")),
                    None => return Err(anyhow!("demo lifecycle {name}: no answer")),
                }
            }
            out.push(sample);
        }
        out.push(self.second_life(reg, &successor, &originals, now)?);
        Ok(out)
    }

    /// `second-life`: the successor battery both `repurposed-original` and
    /// `second-life-module` were made into (a stationary pack from two EV batteries' modules),
    /// placed on the market by Second Life Storage GmbH with its own label and passport, whose
    /// `metadata.predecessors` lists both originals with the digests of their latest versions
    /// (SPEC.md 1.2 section 3.4). Valid, `lineage` verified twice.
    fn second_life(
        &self,
        reg: &mut Registry,
        successor: &[(String, String)],
        originals: &[(String, String)],
        now: u64,
    ) -> anyhow::Result<Sample> {
        let w = &self.world;
        let issuer = &w.repurposer;
        let (url, pid) = successor
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("no successor named"))?;
        let public_url = reg.settings().public_url.clone();
        let path = url
            .strip_prefix(&format!("{public_url}/"))
            .ok_or_else(|| anyhow!("successor {url} is not under {public_url}"))?
            .to_owned();
        let mut p = w.passport(issuer, &url, 1, None, &[], now - DAY);
        p["credentialSubject"]["id"] = url.clone().into();
        p["credentialSubject"]["metadata"]["passportIdentifier"] = pid.into();
        p["credentialSubject"]["metadata"]["predecessors"] = Value::Array(
            originals
                .iter()
                .map(|(u, v)| {
                    let pid = crate::registry::subject_of(v)
                        .and_then(|cs| {
                            cs.get("metadata")?
                                .get("passportIdentifier")?
                                .as_str()
                                .map(str::to_owned)
                        })
                        .unwrap_or_default();
                    json!({"id": u, "digest": cellproof_core::sha256_b64(v.as_bytes()),
                        "passportIdentifier": pid})
                })
                .collect(),
        );
        let v1 = w.sign_vc(issuer, &p);
        self.post_passport(reg, &v1, now)?;
        let list = "5";
        let index = self.allocate_one(reg, issuer, list, now)?;
        let mut claims = self.claims_at(issuer, &path, (list, index), &public_url);
        if let Some(Value::Object(bp)) = claims.get_mut("bp") {
            bp.insert("dig".into(), passport_digest(&v1).into());
            // A second-life stationary storage battery.
            bp.insert("cat".into(), "stationary".into());
        }
        self.labelled(reg, "second-life", issuer, (list, index), &claims, now)
    }

    /// A sample label's claims for the battery at `path` (`01/{gtin}/21/{serial}`) under
    /// this registry, with its status entry `list/index`.
    fn claims_at(
        &self,
        issuer: &Issuer,
        path: &str,
        (list, index): (&str, u64),
        public_url: &str,
    ) -> serde_json::Map<String, Value> {
        let serial = path.rsplit('/').next().unwrap_or_default();
        let st = format!("{list}/{index}");
        let mut claims = self
            .world
            .sample_claims(issuer, serial, Some(&st), public_url);
        claims.insert("sub".into(), path.into());
        claims.insert("url".into(), format!("{public_url}/{path}").into());
        claims
    }

    /// Issues a sample's label credential from `claims` (its `sub` the battery's path) and
    /// registers the battery as an item at its status entry.
    fn labelled(
        &self,
        reg: &mut Registry,
        name: &str,
        issuer: &Issuer,
        (list, index): (&str, u64),
        claims: &serde_json::Map<String, Value>,
        now: u64,
    ) -> anyhow::Result<Sample> {
        let path = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let issued = self
            .world
            .issue(issuer, claims, now)
            .map_err(|e| anyhow!("demo credential {name}: {e}"))?;
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
        Ok(Sample {
            name: name.into(),
            eco: issuer.eco.clone(),
            issuer: issuer.did.clone(),
            path,
            fragment: issued.fragment,
            jws: issued.jws,
            list: list.into(),
            index,
        })
    }

    /// The manifest's `actors`: who records a battery's life after its first use (SPEC.md
    /// 1.2 section 3.4), each `{did, kid, key, eco, roles}`.
    fn actors(&self) -> Vec<Value> {
        let w = &self.world;
        [
            &w.repurposer,
            &w.remanufacturer,
            &w.waste_operator,
            &w.recycler,
        ]
        .into_iter()
        .map(|i| {
            let mut v = reader_json(i);
            if let Some(o) = v.as_object_mut() {
                o.insert("roles".into(), json!(i.roles));
            }
            v
        })
        .collect()
    }
}

/// A reader's manifest entry: its DID, key id, private JWK (relative to the data directory)
/// and ecosystem.
fn reader_json(i: &Issuer) -> Value {
    json!({"did": i.did, "kid": i.key.kid, "key": format!("demo/keys/{}.jwk", i.slug),
           "eco": i.eco})
}

impl Demo {
    /// Gives a battery restricted sections of both tiers by ACME (SPEC.md section 6.3), through
    /// the same check as `POST /v1/passports`, unless it holds some already.
    fn ensure_restricted(&self, reg: &mut Registry, path: &str, now: u64) -> anyhow::Result<()> {
        if reg.restricted_held(path) {
            return Ok(());
        }
        let w = &self.world;
        let url = format!("{}/{path}", reg.settings().public_url);
        let gate = reg.gate();
        for tier in Tier::ALL {
            let jws = w.restricted_section(&w.acme, &url, tier, now - DAY);
            Registry::ingest_passport(&jws, &gate, &mut *reg, now)
                .map_err(|e| anyhow!("demo restricted section: {e}"))?;
        }
        Ok(())
    }
}

/// Samples whose battery has a passport chain (`GET /v1/passports/{gtin}/{serial}`).
pub const PASSPORT_SAMPLES: [&str; 9] = [
    "passport-valid",
    "attestation-out-of-scope",
    "attestation-revoked",
    "passport-tampered",
    "repurposed-original",
    "waste",
    "recycled",
    "second-life-module",
    "second-life",
];

/// `{public_url}/v1/passports/{gtin}/{serial}` of a battery path `01/{gtin}/21/{serial}`.
fn chain_url(public_url: &str, path: &str) -> String {
    let rest = path
        .strip_prefix("01/")
        .unwrap_or(path)
        .replacen("/21/", "/", 1);
    format!("{public_url}/v1/passports/{rest}")
}

const SOURCING: &str = "sourcing.due-diligence";
const CARBON: &str = "emissions.carbon-footprint";
/// The suppliers the reference passport's `materialsProvenance` names.
const CO_SUPPLIER: &str = "did:web:refinery.kobalt.example";
const LI_SUPPLIER: &str = "did:web:lithium.sanriku.example";
const NI_SUPPLIER: &str = "did:web:nickel.nordic.example";

/// A small PDF-like document (the demo's documents are stand-ins, not real declarations).
fn pdf_like(title: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n% Cellproof demo document: an example, not a real declaration\n\
         1 0 obj << /Type /Catalog /Title ({title}) >> endobj\n\
         % {title}\n% Issued by ACME Cells GmbH (example) for its EV battery model 04012345000016\n\
         %%EOF\n"
    )
    .into_bytes()
}

fn listed(topic: &str, materials: &[&str], subject: &str, jws: String) -> Listed {
    Listed {
        topic: topic.into(),
        materials: materials.iter().map(|m| (*m).to_owned()).collect(),
        subject: subject.into(),
        jws,
    }
}

/// How a passport sample's attestations differ from `passport-valid`'s.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Valid,
    /// Lithium attested by the Catena-X certifier, accredited for Co and Ni only.
    OutOfScope,
    /// Cobalt's attestation carries a revocation entry at this index of `certifier/1`.
    Revocable(u64),
}

impl Demo {
    fn allocate_one(
        &self,
        reg: &mut Registry,
        issuer: &Issuer,
        list: &str,
        now: u64,
    ) -> anyhow::Result<u64> {
        let public_url = reg.settings().public_url.clone();
        let alloc = signed(
            &issuer.key,
            json!({"iss": issuer.did, "iat": now, "jti": jti()?, "aud": public_url,
                   "op": "allocate", "list": list, "count": 1}),
        );
        let a = reg
            .gate()
            .authenticate(alloc.as_bytes(), Op::Allocate, now)
            .map_err(|e| anyhow!("demo allocation: {e}"))?;
        reg.allocate(a, now)
            .map_err(|e| anyhow!("demo allocation: {e}"))?
            .indexes
            .first()
            .copied()
            .ok_or_else(|| anyhow!("demo allocation returned nothing"))
    }

    fn revoke(
        &self,
        reg: &mut Registry,
        issuer: &Issuer,
        list: &str,
        index: u64,
        now: u64,
    ) -> anyhow::Result<()> {
        let public_url = reg.settings().public_url.clone();
        let upd = signed(
            &issuer.key,
            json!({"iss": issuer.did, "iat": now, "jti": jti()?, "aud": public_url,
                   "op": "status", "list": list, "index": index,
                   "purpose": "revocation", "value": true}),
        );
        let a = reg
            .gate()
            .authenticate(upd.as_bytes(), Op::Status, now)
            .map_err(|e| anyhow!("demo status update: {e}"))?;
        reg.status_update(a, now)
            .map_err(|e| anyhow!("demo status update: {e}"))?;
        Ok(())
    }

    /// Stores a document through the signed `op: "document"` envelope, as `PUT` does.
    fn put_document(&self, reg: &mut Registry, bytes: Vec<u8>, now: u64) -> anyhow::Result<String> {
        let w = &self.world;
        let digest = sha256_b64(&bytes);
        let public_url = reg.settings().public_url.clone();
        let env = signed(
            &w.acme.key,
            json!({"iss": w.acme.did, "iat": now, "jti": jti()?, "aud": public_url,
                   "op": "document", "digest": digest}),
        );
        let auth = reg
            .gate()
            .authenticate_document(&env, &digest, now)
            .map_err(|e| anyhow!("demo document: {e}"))?;
        Registry::ingest_document(auth, &digest, "application/pdf", bytes, reg, now)
            .map_err(|e| anyhow!("demo document: {e}"))?;
        Ok(digest)
    }

    /// Checks and stores an attestation as `POST /v1/attestations` does.
    fn post_attestation(&self, reg: &mut Registry, jws: &str, now: u64) -> anyhow::Result<()> {
        let gate = reg.gate();
        Registry::ingest_attestation(jws, &gate, reg, now)
            .map_err(|e| anyhow!("demo attestation: {e}"))?;
        Ok(())
    }

    /// Checks and stores a passport version through the pipeline of `POST /v1/passports`.
    fn post_passport(&self, reg: &mut Registry, jws: &str, now: u64) -> anyhow::Result<()> {
        let gate = reg.gate();
        Registry::ingest_passport(jws, &gate, reg, now)
            .map_err(|e| anyhow!("demo passport: {e}"))?;
        Ok(())
    }

    /// The attestations a sample battery's passport lists; the registry's checks store all of
    /// them but the out-of-scope one, which is seeded.
    fn attestations(
        &self,
        reg: &mut Registry,
        url: &str,
        variant: Variant,
        now: u64,
    ) -> anyhow::Result<Vec<Listed>> {
        let w = &self.world;
        let valid = (now - 30 * DAY, now + YEAR);
        let co = match variant {
            Variant::Revocable(index) => {
                let payload = json!({
                    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"],
                    "type": ["VerifiableCredential", "ConformityAttestation"],
                    "id": cellproof_world::urn_uuid(&[&w.seed, "attestation", CO_SUPPLIER, &index.to_string()]),
                    "issuer": w.certifier.did,
                    "validFrom": format_rfc3339(valid.0),
                    "validUntil": format_rfc3339(valid.1),
                    "credentialStatus": {"type": "BitstringStatusListEntry",
                        "statusPurpose": "revocation", "statusListIndex": index.to_string(),
                        "statusListCredential": format!("{}1", reg.status_base(&w.certifier.slug))},
                    "credentialSubject": {"id": CO_SUPPLIER, "attestationType": "certification",
                        "scheme": {"id": "urn:scheme:catena-x:sourcing.due-diligence",
                                   "name": "Example scheme"},
                        "assessment": [{"topic": SOURCING, "materials": ["Co"],
                                        "conformance": true}]}
                });
                sign_json(Typ::Vc, &payload, &w.certifier.key)
            }
            _ => w.attestation(&w.certifier, CO_SUPPLIER, SOURCING, &["Co"], valid),
        };
        let li = if variant == Variant::OutOfScope {
            w.attestation(&w.certifier, LI_SUPPLIER, SOURCING, &["Li"], valid)
        } else {
            w.attestation(&w.jqa, LI_SUPPLIER, SOURCING, &["Li"], valid)
        };
        let list = vec![
            listed(SOURCING, &["Co"], CO_SUPPLIER, co),
            listed(SOURCING, &["Li"], LI_SUPPLIER, li),
            listed(
                SOURCING,
                &["Ni"],
                NI_SUPPLIER,
                w.attestation(&w.certifier, NI_SUPPLIER, SOURCING, &["Ni"], valid),
            ),
            listed(
                CARBON,
                &[],
                url,
                w.attestation(&w.certifier, url, CARBON, &[], valid),
            ),
        ];
        for (i, l) in list.iter().enumerate() {
            if variant == Variant::OutOfScope && i == 1 {
                // The registry refuses it (attestation_out_of_scope): seeded for the demo.
                reg.seed_unchecked(None, &l.jws, now)
                    .map_err(|e| anyhow!("demo seed: {e}"))?;
            } else {
                self.post_attestation(reg, &l.jws, now)?;
            }
        }
        Ok(list)
    }

    /// A passport version of a sample battery with the demo's documents linked.
    fn passport(
        &self,
        url: &str,
        version: u64,
        prev: Option<&str>,
        list: &[Listed],
        refs: Refs<'_>,
        valid_from: u64,
    ) -> String {
        let Refs { docs, status } = refs;
        let w = &self.world;
        let mut p = w.passport(&w.acme, url, version, prev, list, valid_from);
        // SPEC.md 1.2 section 3.1: the passport's own status entries, at the list and index of
        // its label's `st`, so that a verifier holding only the passport sees a revocation.
        let (list_url, index) = status;
        if let Some(o) = p.as_object_mut() {
            o.insert(
                "credentialStatus".into(),
                json!([Purpose::Revocation, Purpose::Suspension]
                    .iter()
                    .map(|purpose| json!({"type": "BitstringStatusListEntry",
                        "statusPurpose": purpose.as_str(), "statusListIndex": index.to_string(),
                        "statusListCredential": purpose.list_url(list_url, "3")}))
                    .collect::<Vec<_>>()),
            );
        }
        let public_url = &w.registry;
        let mut link = |ptr: &str, digest: &str| {
            if let Some(Value::Object(o)) = p.pointer_mut(ptr) {
                o.insert(
                    "linkURL".into(),
                    format!("{public_url}/v1/documents/{digest}").into(),
                );
                o.insert("hashDigest".into(), digest.into());
            }
        };
        link(
            "/credentialSubject/sustainability/carbonFootprint/0/declaration",
            docs.0,
        );
        link(
            "/credentialSubject/conformity/declarationOfConformity",
            docs.1,
        );
        w.sign_vc(&w.acme, &p)
    }

    /// The passport samples (SPEC.md section 3): see the module documentation.
    fn make_passport_samples(&self, reg: &mut Registry, now: u64) -> anyhow::Result<Vec<Sample>> {
        let w = &self.world;
        let public_url = reg.settings().public_url.clone();
        let carbon_doc = self.put_document(
            reg,
            pdf_like("Carbon footprint declaration (Art. 7), EV battery 04012345000016"),
            now,
        )?;
        let conformity_doc = self.put_document(
            reg,
            pdf_like("EU declaration of conformity (Art. 18), EV battery 04012345000016"),
            now,
        )?;
        let docs = (carbon_doc.as_str(), conformity_doc.as_str());
        let acme_gtin = gtin_with_check_digit("0401234500001").unwrap_or_default();
        let foreign_gtin = gtin_with_check_digit("0409999900001").unwrap_or_default();
        let plan: [(&str, &str, &str); 5] = [
            ("passport-valid", "CPPASSVALID", acme_gtin.as_str()),
            ("attestation-out-of-scope", "CPATTSCOPE", acme_gtin.as_str()),
            ("attestation-revoked", "CPATTREVOKED", acme_gtin.as_str()),
            ("passport-tampered", "CPPASSTAMPERED", acme_gtin.as_str()),
            ("gtin-not-issuer", "CPGTINNOTISSUER", foreign_gtin.as_str()),
        ];
        let mut out = Vec::new();
        for (n, (name, serial, gtin)) in plan.into_iter().enumerate() {
            let serial = format!("{serial}{n:03}");
            let path = format!("01/{gtin}/21/{serial}");
            let url = format!("{public_url}/{path}");
            let index = self.allocate_one(reg, &w.acme, "3", now)?;
            let mut claims = self.claims_at(&w.acme, &path, ("3", index), &public_url);
            let committed = match name {
                "gtin-not-issuer" => None,
                _ => {
                    let variant = match name {
                        "attestation-out-of-scope" => Variant::OutOfScope,
                        "attestation-revoked" => {
                            Variant::Revocable(self.allocate_one(reg, &w.certifier, "1", now)?)
                        }
                        _ => Variant::Valid,
                    };
                    let list = self.attestations(reg, &url, variant, now)?;
                    let base = reg.status_base(&w.acme.slug);
                    let st = Refs {
                        docs,
                        status: (base.as_str(), index),
                    };
                    let v1 = self.passport(&url, 1, None, &list, st, now - 2 * DAY);
                    if name == "passport-tampered" {
                        // Another validly signed version 1: what the registry serves.
                        let other = self.passport(&url, 1, None, &list, st, now - 3 * DAY);
                        self.post_passport(reg, &other, now)?;
                    } else {
                        self.post_passport(reg, &v1, now)?;
                        let v2 = self.passport(&url, 2, Some(&v1), &list, st, now - DAY);
                        self.post_passport(reg, &v2, now)?;
                    }
                    if let Variant::Revocable(i) = variant {
                        self.revoke(reg, &w.certifier, "1", i, now)?;
                    }
                    Some(v1)
                }
            };
            if let (Some(v1), Some(Value::Object(bp))) = (&committed, claims.get_mut("bp")) {
                bp.insert("dig".into(), passport_digest(v1).into());
            }
            let issued = w
                .issue(&w.acme, &claims, now)
                .map_err(|e| anyhow!("demo credential {name}: {e}"))?;
            reg.register_item(
                ItemRow {
                    path: path.clone(),
                    slug: w.acme.slug.clone(),
                    list_id: "3".into(),
                    index,
                },
                now,
            )
            .map_err(|e| anyhow!("demo item: {e}"))?;
            out.push(Sample {
                name: name.into(),
                eco: w.acme.eco.clone(),
                issuer: w.acme.did.clone(),
                path,
                fragment: issued.fragment,
                jws: issued.jws,
                list: "3".into(),
                index,
            });
        }
        Ok(out)
    }
}

/// What a demo passport links: its two documents' digests (carbon footprint, conformity) and
/// its label's status list base and index.
#[derive(Clone, Copy)]
struct Refs<'a> {
    docs: (&'a str, &'a str),
    status: (&'a str, u64),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cellproof_core::{Recognition, TrustList};

    use super::*;
    use crate::registry::{Settings, DEFAULT_MAX_DOCUMENT};
    use crate::store::SqliteStore;

    /// The demo's seeding goes through the routes' upload pipeline, home-ecosystem check
    /// included (its own copy had none). ACME is bound to "third", an ecosystem this registry
    /// does not pin but accepts through Catena-X's recognition; Catena-X (pinned) also lists
    /// ACME's DID and key. In third's home store the core's one-home rule resolves ACME in
    /// Catena-X, not in its binding: the demo's old copy stored the passport, the pipeline
    /// refuses it as the route does.
    #[test]
    fn demo_seeding_refuses_a_passport_resolved_outside_its_issuers_home() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_900_000_000;
        let url = "http://registry.example";
        let world = World::new("demo-home-test", url, t);
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let settings = Settings {
            public_url: url.into(),
            authority_did: "did:web:registry.example".into(),
            freshness: 100,
            ttl: 10,
            max_document: DEFAULT_MAX_DOCUMENT,
            document_quota: crate::registry::DEFAULT_DOCUMENT_QUOTA,
        };
        let pins = [("catena-x".to_owned(), world.catena_root.public())];
        let mut reg = Registry::open(store, settings, &pins, Arc::default(), t).unwrap();
        let authority = Authority {
            id: reg.settings().authority_did.clone(),
            keys: reg.authority_public_keys(),
        };
        let third_root = KeyPair::from_secret("third-root", &[77; 32]);
        let mut catena = world.trust_list("catena-x");
        catena.authorities = vec![authority.clone()];
        catena.recognizes.push(Recognition {
            eco: "third".into(),
            root: third_root.public(),
            roles: vec!["manufacturer".into()],
            until: None,
            scope: Vec::new(),
        });
        catena.iat = t - 60;
        catena.exp = t + 30 * DAY;
        let acme = catena
            .entities
            .iter()
            .find(|e| e.id == world.acme.did)
            .cloned()
            .unwrap();
        let third = TrustList {
            iss: "did:web:third.example".into(),
            eco: "third".into(),
            seq: 1,
            iat: t - 60,
            exp: t + 30 * DAY,
            entities: vec![acme],
            authorities: vec![authority],
            recognizes: Vec::new(),
        };
        for (list, root) in [(&catena, &world.catena_root), (&third, &third_root)] {
            reg.upload_trust_list(sign_trust_list(list, root).as_bytes(), "test", t)
                .unwrap();
        }
        let o = Onboard {
            slug: "acme".into(),
            did: world.acme.did.clone(),
            eco: "third".into(),
            lists: vec!["3".into()],
        };
        reg.onboard(&o, String::new(), "test", t).unwrap();
        let demo = Demo {
            dir: dir.path().join("demo"),
            world,
            foreign: None,
        };
        let w = &demo.world;
        let item = format!("{url}/01/04012345000016/21/HOME0001");
        let v1 = w.sign_vc(&w.acme, &w.passport(&w.acme, &item, 1, None, &[], t - 60));
        // What the demo's old copy did: the core's check in the home store alone passes,
        // resolving ACME in Catena-X.
        let gate = reg.gate();
        let (home, trust) = gate.home_of(&w.acme.did).unwrap();
        assert_eq!(home, "third");
        let c = cellproof_core::check_passport_upload(&v1, &[], trust, t).unwrap();
        assert_eq!(c.eco, "catena-x");
        // The pipeline refuses it, as the route does.
        let e = demo.post_passport(&mut reg, &v1, t).unwrap_err();
        assert!(e.to_string().contains("issuer-not-trusted"), "{e}");
        assert!(reg.versions("01/04012345000016/21/HOME0001").is_empty());
    }
}
