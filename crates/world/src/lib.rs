//! Deterministic Cellproof ecosystems for demos, test vectors and benchmarks.
//!
//! Every secret is SHA-256 of a public seed and a name, so the same seed always gives the same
//! keys and, with the same times, the same signed bytes (Ed25519 signatures are deterministic).
//! Never use these keys for anything real.

use cellproof_core::{
    format_rfc3339, gtin_with_check_digit, issue_credential, report_payload, seal_report,
    sha256_b64, sign_json, sign_status_list, sign_trust_list, status_list_payload, Accreditation,
    Artifacts, Authority, Bitstring, Entity, Error, EvidencePack, Hint, IssuedCredential, KeyPair,
    PublicKey, Purpose, Recognition, Scope, StatusListSpec, Tier, TrustList, Typ, UnixTime,
    Verdict, MIN_ENTRIES, RESTRICTED_TYPE,
};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

mod passport_vectors;
mod vectors;
pub use vectors::{generate_vectors, VectorFile, VECTOR_SEED};

/// One year in seconds.
pub const YEAR: u64 = 365 * 86_400;
/// One day in seconds.
pub const DAY: u64 = 86_400;

/// The reference claims of `shared/vectors/reference-claims.json` (SPEC.md section 2), kept
/// here verbatim so builds do not depend on files outside the repository.
pub const REFERENCE_CLAIMS: &str = include_str!("reference-claims.json");

/// The reference passport of `shared/vectors/reference-passport.json` (SPEC.md section 3.1),
/// the VC payload before signing; `REPLACE` marks digests a generator fills in.
pub const REFERENCE_PASSPORT: &str = include_str!("reference-passport.json");

/// A deterministic `urn:uuid:` (RFC 9562 version 8, from SHA-256 of `parts`): the `id` every
/// new credential carries (SPEC.md 1.2 section 3), the same for the same world and content so
/// that vectors do not drift.
pub fn urn_uuid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let b: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
    cellproof_core::urn_uuid(b, 8)
}

/// Derives a key from the seed and a name.
pub fn derive_key(seed: &str, name: &str, kid: &str) -> KeyPair {
    let secret: [u8; 32] = Sha256::digest(format!("cellproof/{seed}/{name}")).into();
    KeyPair::from_secret(kid, &secret)
}

/// An issuer of the world.
#[derive(Clone, Debug)]
pub struct Issuer {
    /// DID.
    pub did: String,
    /// Display name.
    pub name: String,
    /// Ecosystem.
    pub eco: String,
    /// Signing key.
    pub key: KeyPair,
    /// Registration id (BPNL or a Japanese corporate number).
    pub reg: (String, String),
    /// Roles.
    pub roles: Vec<String>,
    /// Short name used in status URLs.
    pub slug: String,
    /// GS1 company prefixes (SPEC.md section 4); empty for a certifier.
    pub gcp: Vec<String>,
}

/// A whole demo world.
#[derive(Clone, Debug)]
pub struct World {
    /// Seed of every key.
    pub seed: String,
    /// Base URL of the registry, e.g. `https://registry.cellproof.example` (no trailing slash).
    pub registry: String,
    /// Reference time: lists are issued here.
    pub t0: u64,
    /// Catena-X root.
    pub catena_root: KeyPair,
    /// Ouranos root.
    pub ouranos_root: KeyPair,
    /// The status authority (listed in both ecosystems).
    pub authority: KeyPair,
    /// Status authority DID.
    pub authority_did: String,
    /// ACME Cells GmbH (catena-x manufacturer).
    pub acme: Issuer,
    /// Nippon Denchi KK (ouranos manufacturer).
    pub denchi: Issuer,
    /// A catena-x certifier (holds no manufacturer role), accredited for due diligence of Co
    /// and Ni, carbon footprints, recycled content and declarations of conformity.
    pub certifier: Issuer,
    /// An ouranos certifier accredited for due diligence of Li, which catena-x recognises for
    /// mineral sourcing only (SPEC.md section 3.3).
    pub jqa: Issuer,
    /// A market-surveillance authority's inspector (catena-x, role `inspector`): reads both
    /// restricted tiers and seals inspection reports (SPEC.md sections 6.3 and 6.4).
    pub msa: Issuer,
    /// A battery recycler (catena-x, role `recycler`): a legitimate interest, so it reads the
    /// `legitimate-interest` tier only (`docs/inspection.md`); it records `waste` and
    /// `recycled` lifecycle events (SPEC.md 1.2 section 3.4).
    pub recycler: Issuer,
    /// A repurposer that places second-life batteries on the market (catena-x, roles
    /// `repurposer` and `operator`, its own GS1 company prefix): records `repurposed` and
    /// issues the successor passports (SPEC.md 1.2 section 3.4).
    pub repurposer: Issuer,
    /// A remanufacturer (catena-x, role `remanufacturer`).
    pub remanufacturer: Issuer,
    /// A waste operator (catena-x, role `waste-operator`).
    pub waste_operator: Issuer,
}

impl World {
    /// Builds the world for a seed, registry URL and reference time.
    pub fn new(seed: &str, registry: &str, t0: u64) -> World {
        let registry = registry.trim_end_matches('/').to_owned();
        let host = registry
            .split("://")
            .nth(1)
            .unwrap_or("registry.example")
            .split(['/', ':'])
            .next()
            .unwrap_or("registry.example")
            .to_owned();
        let issuer =
            |slug: &str, did: &str, name: &str, eco: &str, reg: (&str, &str), roles: &[&str]| {
                let key = derive_key(seed, slug, "k1");
                // The sample GTINs (`sample_claims`) are under these prefixes.
                let gcp = match slug {
                    "acme" => vec!["4012345".to_owned()],
                    "denchi" => vec!["4589012".to_owned()],
                    "repurposer" => vec!["4071234".to_owned()],
                    _ => Vec::new(),
                };
                Issuer {
                    did: did.into(),
                    name: name.into(),
                    eco: eco.into(),
                    key,
                    reg: (reg.0.into(), reg.1.into()),
                    roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                    slug: slug.into(),
                    gcp,
                }
            };
        World {
            seed: seed.into(),
            t0,
            catena_root: derive_key(seed, "root/catena-x", "catena-x-root-1"),
            ouranos_root: derive_key(seed, "root/ouranos", "ouranos-root-1"),
            authority: derive_key(seed, "status-authority", "sa1"),
            authority_did: format!("did:web:{host}"),
            acme: issuer(
                "acme",
                "did:web:cells.acme.example",
                "ACME Cells GmbH",
                "catena-x",
                ("BPNL", "BPNL000000000001"),
                &["manufacturer"],
            ),
            denchi: issuer(
                "denchi",
                "did:web:denchi.example.jp",
                "Nippon Denchi KK",
                "ouranos",
                ("JCN", "1234567890123"),
                &["manufacturer"],
            ),
            certifier: issuer(
                "certifier",
                "did:web:audit.example",
                "Example Audit GmbH",
                "catena-x",
                ("BPNL", "BPNL000000000009"),
                &["certifier"],
            ),
            jqa: issuer(
                "jqa",
                "did:web:certification.jqa.example",
                "Japan Quality Assurance (example)",
                "ouranos",
                ("JCN", "9876543210987"),
                &["certifier"],
            ),
            msa: issuer(
                "msa",
                "did:web:msa.example",
                "Market surveillance authority (example)",
                "catena-x",
                ("EU-MSA", "DE-MSA-0001"),
                &["inspector"],
            ),
            recycler: issuer(
                "recycler",
                "did:web:recycling.example",
                "Example Recycling GmbH",
                "catena-x",
                ("BPNL", "BPNL000000000007"),
                &["recycler"],
            ),
            repurposer: issuer(
                "repurposer",
                "did:web:second-life.example",
                "Second Life Storage GmbH",
                "catena-x",
                ("BPNL", "BPNL000000000011"),
                &["repurposer", "operator"],
            ),
            remanufacturer: issuer(
                "remanufacturer",
                "did:web:reman.example",
                "Example Reman GmbH",
                "catena-x",
                ("BPNL", "BPNL000000000012"),
                &["remanufacturer"],
            ),
            waste_operator: issuer(
                "waste-operator",
                "did:web:waste.example",
                "Example Waste Services GmbH",
                "catena-x",
                ("BPNL", "BPNL000000000013"),
                &["waste-operator"],
            ),
            registry,
        }
    }

    /// The status base URL of an issuer (SPEC.md section 6: on the registry itself).
    pub fn status_base(&self, issuer: &Issuer) -> String {
        format!("{}/v1/status/{}/", self.registry, issuer.slug)
    }

    /// The root key of an ecosystem.
    pub fn root(&self, eco: &str) -> &KeyPair {
        if eco == "ouranos" {
            &self.ouranos_root
        } else {
            &self.catena_root
        }
    }

    fn entity(&self, i: &Issuer, window: (Option<u64>, Option<u64>)) -> Entity {
        let mut key = i.key.public();
        key.nbf = window.0;
        key.exp = window.1;
        Entity {
            id: i.did.clone(),
            name: i.name.clone(),
            roles: i.roles.clone(),
            reg: Some(i.reg.clone()),
            keys: vec![key],
            // Only manufacturers, operators and certifiers issue what has a status; inspectors,
            // recyclers and the other lifecycle actors issue nothing that has one.
            status_base: i
                .roles
                .iter()
                .any(|r| matches!(r.as_str(), "manufacturer" | "operator" | "certifier"))
                .then(|| self.status_base(i)),
            gcp: i.gcp.clone(),
            accreditation: self.accreditation(i),
            ..Entity::default()
        }
    }

    /// What a certifier of the world is accredited for (SPEC.md sections 3.3 and 4).
    fn accreditation(&self, i: &Issuer) -> Vec<Accreditation> {
        let entry = |topic: &str, materials: &[&str], scheme: &str, id: &str| Accreditation {
            scope: Scope {
                topic: topic.into(),
                materials: materials.iter().map(|m| (*m).to_owned()).collect(),
            },
            body: Some((scheme.into(), id.into())),
            until: Some(self.t0 + 3 * YEAR),
        };
        match i.slug.as_str() {
            "certifier" => vec![
                entry(
                    "sourcing.due-diligence",
                    &["Co", "Ni"],
                    "DAkkS",
                    "D-ZE-00000-01",
                ),
                entry("emissions.carbon-footprint", &[], "NANDO", "NB 0000"),
                entry(
                    "content.recycled",
                    &["Co", "Li", "Ni"],
                    "DAkkS",
                    "D-ZE-00000-01",
                ),
                entry("conformity.declaration", &[], "NANDO", "NB 0000"),
            ],
            "jqa" => vec![
                entry("sourcing.due-diligence", &["Li"], "JAB", "CM000"),
                entry("content.recycled", &["Li"], "JAB", "CM000"),
            ],
            _ => Vec::new(),
        }
    }

    fn authorities(&self) -> Vec<Authority> {
        vec![Authority {
            id: self.authority_did.clone(),
            keys: vec![self.authority.public()],
        }]
    }

    /// The unsigned trust list of an ecosystem with default settings.
    pub fn trust_list(&self, eco: &str) -> TrustList {
        let key_window = (Some(self.t0 - 2 * YEAR), Some(self.t0 + 3 * YEAR));
        let (entities, recognizes) = if eco == "ouranos" {
            (
                vec![
                    self.entity(&self.denchi, key_window),
                    self.entity(&self.jqa, key_window),
                ],
                vec![Recognition {
                    eco: "catena-x".into(),
                    root: root_pk(&self.catena_root),
                    roles: vec!["manufacturer".into(), "certifier".into()],
                    until: Some(self.t0 + 2 * YEAR),
                    scope: Vec::new(),
                }],
            )
        } else {
            (
                vec![
                    self.entity(&self.acme, key_window),
                    self.entity(&self.certifier, key_window),
                    self.entity(&self.msa, key_window),
                    self.entity(&self.recycler, key_window),
                    self.entity(&self.repurposer, key_window),
                    self.entity(&self.remanufacturer, key_window),
                    self.entity(&self.waste_operator, key_window),
                ],
                vec![Recognition {
                    eco: "ouranos".into(),
                    root: root_pk(&self.ouranos_root),
                    roles: vec!["manufacturer".into(), "certifier".into()],
                    until: Some(self.t0 + 2 * YEAR),
                    // Catena-X accepts Ouranos certifiers for mineral sourcing only.
                    scope: vec![Scope {
                        topic: "sourcing.due-diligence".into(),
                        materials: vec!["Co".into(), "Li".into(), "Ni".into()],
                    }],
                }],
            )
        };
        TrustList {
            iss: format!("did:web:{eco}.trust.example"),
            eco: eco.into(),
            seq: 1,
            iat: self.t0,
            exp: self.t0 + 30 * DAY,
            entities,
            authorities: self.authorities(),
            recognizes,
        }
    }

    /// Signs a trust list with its ecosystem's root.
    pub fn sign_trust_list(&self, list: &TrustList) -> String {
        sign_trust_list(list, self.root(&list.eco))
    }

    /// Signs a status list of an issuer for `list_id` and `purpose`, with the given set bits.
    pub fn status_list(
        &self,
        issuer: &Issuer,
        list_id: &str,
        purpose: Purpose,
        set: &[u64],
        valid_from: u64,
        valid_until: u64,
    ) -> String {
        let mut bits = Bitstring::zeroed(MIN_ENTRIES);
        for &i in set {
            // Indexes come from the world's own constants, all below MIN_ENTRIES.
            let _ = bits.set(i, true);
        }
        self.sign_list(issuer, list_id, purpose, &bits, (valid_from, valid_until))
    }

    /// Signs `bits` as the status list of `issuer`'s `list_id` for `purpose`.
    fn sign_list(
        &self,
        issuer: &Issuer,
        list_id: &str,
        purpose: Purpose,
        bits: &Bitstring,
        (valid_from, valid_until): (u64, u64),
    ) -> String {
        let id = purpose.list_url(&self.status_base(issuer), list_id);
        let spec = StatusListSpec {
            id: &id,
            issuer: &self.authority_did,
            purpose,
            valid_from,
            valid_until,
            ttl_ms: 300_000,
        };
        sign_status_list(&status_list_payload(&spec, bits), &self.authority)
    }

    /// A signed lifecycle list (SPEC.md 1.2 section 3.4: `statusPurpose` `message`, three bits
    /// per entry) with `values` set at their indexes (raw 3-bit values, so `0x6` and `0x7`
    /// can be written too).
    pub fn lifecycle_list(
        &self,
        issuer: &Issuer,
        list_id: &str,
        values: &[(u64, u8)],
        valid_from: u64,
        valid_until: u64,
    ) -> String {
        let purpose = Purpose::Lifecycle;
        let mut bits = Bitstring::zeroed_sized(MIN_ENTRIES, purpose.status_size());
        for &(i, v) in values {
            // Indexes come from the world's own constants, all below MIN_ENTRIES.
            let _ = bits.set_value(i, v);
        }
        self.sign_list(issuer, list_id, purpose, &bits, (valid_from, valid_until))
    }

    /// A `BatteryLifecycleEvent` (SPEC.md 1.2 section 3.4) signed by `actor`: the battery at
    /// `battery_url` goes from `previous` to `new` at `at`, naming `successors`
    /// (`(url, passportIdentifier)`) and, for waste, a responsible party (the world's waste
    /// operator). Its `id` is derived from everything it says.
    #[allow(clippy::too_many_arguments)]
    pub fn lifecycle_event(
        &self,
        actor: &Issuer,
        battery_url: &str,
        previous: cellproof_core::lifecycle::LifecycleStatus,
        new: cellproof_core::lifecycle::LifecycleStatus,
        successors: &[(String, String)],
        at: u64,
    ) -> String {
        use cellproof_core::lifecycle::{
            event_payload, LifecycleStatus, NewEvent, ResponsibleParty,
        };
        let at_s = at.to_string();
        let id = urn_uuid(&[
            &self.seed,
            "event",
            &actor.did,
            battery_url,
            previous.as_str(),
            new.as_str(),
            &at_s,
            &successors.len().to_string(),
        ]);
        let party = ResponsibleParty {
            id: self.waste_operator.did.clone(),
            name: self.waste_operator.name.clone(),
            role: "waste-operator".into(),
        };
        let pi = urn_uuid(&[&self.seed, "passport", battery_url]);
        let payload = event_payload(&NewEvent {
            id: &id,
            issuer: &actor.did,
            battery: battery_url,
            passport_identifier: &pi,
            previous,
            new,
            event_date: at,
            successors,
            responsible: (new == LifecycleStatus::Waste).then_some(&party),
        });
        cellproof_core::sign_json(cellproof_core::Typ::Vc, &payload, &actor.key)
    }

    /// The reference claims as a map (with the `url` member).
    pub fn reference_claims(&self) -> Map<String, Value> {
        match serde_json::from_str(REFERENCE_CLAIMS) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }

    /// Claims for a sample battery of an issuer: serial, status index and optional overrides.
    pub fn sample_claims(
        &self,
        issuer: &Issuer,
        serial: &str,
        st: Option<&str>,
        host: &str,
    ) -> Map<String, Value> {
        let mut m = self.reference_claims();
        let gtin = gtin_with_check_digit(if issuer.eco == "ouranos" {
            "0458901234567"
        } else {
            "0401234500001"
        })
        .unwrap_or_default();
        m.insert("iss".into(), issuer.did.clone().into());
        m.insert("sub".into(), format!("01/{gtin}/21/{serial}").into());
        match st {
            Some(st) => m.insert("st".into(), st.into()),
            None => m.remove("st"),
        };
        m.insert("url".into(), format!("{host}/01/{gtin}/21/{serial}").into());
        if let Some(Value::Object(bp)) = m.get_mut("bp") {
            bp.insert("mfr".into(), issuer.reg.1.clone().into());
            if issuer.eco == "ouranos" {
                bp.insert("mpl".into(), "JP".into());
                bp.insert("chem".into(), "LFP".into());
                bp.insert("cat".into(), "lmt".into());
                bp.insert("kg".into(), json!(12.4));
                bp.insert("kwh".into(), json!(1.5));
            }
        }
        m
    }

    /// Issues a credential from claims.
    pub fn issue(
        &self,
        issuer: &Issuer,
        claims: &Map<String, Value>,
        iat: u64,
    ) -> Result<IssuedCredential, Error> {
        issue_credential(claims, iat, &issuer.key)
    }
}

/// One attestation a passport lists (SPEC.md section 3.3).
#[derive(Clone, Debug)]
pub struct Listed {
    /// Topic.
    pub topic: String,
    /// Materials (may be empty).
    pub materials: Vec<String>,
    /// Subject.
    pub subject: String,
    /// The attestation's compact JWS.
    pub jws: String,
}

impl World {
    /// The reference passport for a battery of `issuer`: subject `url` (the Digital Link URL
    /// without fragment), `version`, `predecessor` (version n-1's compact JWS), the attestations
    /// it lists, and the documents' digests filled in.
    pub fn passport(
        &self,
        issuer: &Issuer,
        url: &str,
        version: u64,
        predecessor: Option<&str>,
        listed: &[Listed],
        valid_from: u64,
    ) -> Value {
        let mut p: Value = serde_json::from_str(REFERENCE_PASSPORT).unwrap_or_default();
        let doc = sha256_b64(b"Carbon footprint declaration (example document)");
        let doc_url = format!("{}/v1/documents/{doc}", self.registry);
        let text = p.to_string().replace("REPLACE-WITH-DIGEST", &doc).replace(
            &format!("https://registry.example/v1/documents/{doc}"),
            &doc_url,
        );
        p = serde_json::from_str(&text).unwrap_or_default();
        let Some(m) = p.as_object_mut() else {
            return p;
        };
        m.insert("issuer".into(), issuer.did.clone().into());
        m.insert("validFrom".into(), format_rfc3339(valid_from).into());
        m.remove("credentialStatus");
        let id = urn_uuid(&[
            &self.seed,
            "passport",
            url,
            &version.to_string(),
            &valid_from.to_string(),
        ]);
        m.insert("id".into(), id.into());
        if let Some(Value::Object(cs)) = m.get_mut("credentialSubject") {
            cs.insert("id".into(), url.into());
            if let Some(Value::Object(meta)) = cs.get_mut("metadata") {
                meta.insert("version".into(), version.into());
                meta.insert("economicOperatorId".into(), issuer.reg.1.clone().into());
                match predecessor {
                    Some(prev) => {
                        meta.insert("predecessor".into(), sha256_b64(prev.as_bytes()).into());
                        meta.insert("status".into(), "updated".into());
                    }
                    None => {
                        meta.remove("predecessor");
                    }
                }
            }
            let listings: Vec<Value> = listed
                .iter()
                .map(|l| {
                    let digest = sha256_b64(l.jws.as_bytes());
                    let mut v = json!({"topic": l.topic, "subject": l.subject,
                        "url": format!("{}/v1/attestations/{digest}", self.registry),
                        "hashDigest": digest});
                    if !l.materials.is_empty() {
                        if let Some(o) = v.as_object_mut() {
                            o.insert("materials".into(), l.materials.clone().into());
                        }
                    }
                    v
                })
                .collect();
            cs.insert("attestations".into(), listings.into());
        }
        p
    }

    /// Signs a passport payload (`vc+jwt`) with an issuer's key.
    pub fn sign_vc(&self, issuer: &Issuer, payload: &Value) -> String {
        sign_json(Typ::Vc, payload, &issuer.key)
    }

    /// An attestation (`ConformityAttestation`, SPEC.md section 3.3) by `certifier` about
    /// `subject`, with one assessment of `topic` and `materials`, valid `from`..`until`.
    pub fn attestation(
        &self,
        certifier: &Issuer,
        subject: &str,
        topic: &str,
        materials: &[&str],
        (from, until): (u64, u64),
    ) -> String {
        let mut assessment = json!({"topic": topic, "conformance": true});
        if !materials.is_empty() {
            if let Some(o) = assessment.as_object_mut() {
                o.insert("materials".into(), materials.to_vec().into());
            }
        }
        let payload = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"],
            "type": ["VerifiableCredential", "ConformityAttestation"],
            "id": urn_uuid(&[&self.seed, "attestation", &certifier.did, subject, topic, &materials.join(","), &from.to_string(), &until.to_string()]),
            "issuer": certifier.did,
            "validFrom": format_rfc3339(from),
            "validUntil": format_rfc3339(until),
            "credentialSubject": {
                "id": subject,
                "attestationType": if topic == "emissions.carbon-footprint" { "verification" } else { "certification" },
                "scheme": {"id": format!("urn:scheme:{}:{topic}", certifier.eco), "name": "Example scheme"},
                "assessment": [assessment],
            }
        });
        sign_json(Typ::Vc, &payload, &certifier.key)
    }
}

impl World {
    /// A restricted section (SPEC.md section 6.3) of `tier` by `issuer` about the battery at
    /// `url` (its Digital Link URL without fragment), signed at `valid_from`. The contents are
    /// Annex XIII examples: the legitimate-interest tier holds dismantling and safety data, the
    /// authority tier test reports and detailed composition.
    pub fn restricted_section(
        &self,
        issuer: &Issuer,
        url: &str,
        tier: Tier,
        valid_from: u64,
    ) -> String {
        let data = match tier {
            Tier::LegitimateInterest => json!({
                "stateOfHealth": {"capacityFade": 4.1, "remainingCapacityAh": 172.6,
                                  "measured": format_rfc3339(valid_from)},
                "dismantling": {"manual": "Remove the top cover (12 Torx T30 screws), disconnect the HV connector, lift modules out in order 1-12.",
                                "safetyMeasures": ["Discharge below 60 V before opening", "Class D extinguisher on site"]},
                "partNumbers": [{"component": "module", "number": "ACME-MOD-96S"}],
            }),
            Tier::Authority => json!({
                "composition": {"cathode": {"Ni": 0.8, "Mn": 0.1, "Co": 0.1},
                                "anode": "graphite", "electrolyte": "LiPF6 in EC/EMC",
                                "hazardousSubstances": [{"name": "cobalt", "cas": "7440-48-4"}]},
                "testReports": [{"standard": "UN 38.3", "result": "pass", "lab": "Example Test Lab",
                                 "date": "2026-03-02"}],
                "conformity": {"technicalDocumentation": "urn:example:acme:td:2026-11"},
            }),
        };
        let payload = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"],
            "type": ["VerifiableCredential", RESTRICTED_TYPE],
            "issuer": issuer.did,
            "validFrom": format_rfc3339(valid_from),
            "credentialSubject": {"id": url, "tier": tier.as_str(), "data": data},
        });
        sign_json(Typ::Vc, &payload, &issuer.key)
    }

    /// Both ecosystems' trust lists as [`World::trust_list`] gives them, signed.
    pub fn signed_trust_lists(&self) -> Vec<String> {
        ["catena-x", "ouranos"]
            .iter()
            .map(|eco| self.sign_trust_list(&self.trust_list(eco)))
            .collect()
    }

    /// Seals an inspection report by the world's market-surveillance inspector ([`World::msa`])
    /// over `verdict` and the artifacts it used, at `now`, and the evidence pack that goes with
    /// it (the one-file export: the pack holds the report).
    pub fn inspection_report(
        &self,
        artifacts: &Artifacts,
        verdict: &Verdict,
        hints: &[Hint],
        now: u64,
    ) -> Result<(String, EvidencePack), Error> {
        let payload = report_payload(&self.msa.did, artifacts, verdict, hints, UnixTime(now))?;
        let report = seal_report(&payload, &self.msa.key);
        let pack = EvidencePack::new(Some(&report), artifacts);
        Ok((report, pack))
    }
}

fn root_pk(k: &KeyPair) -> PublicKey {
    let mut pk = k.public();
    pk.kid = None;
    pk
}
