//! Trust lists, pinned roots and one-hop mutual recognition (SPEC.md section 4).
//!
//! A [`TrustStore`] starts from pinned roots (`eco` -> root key). A trust list is accepted when
//! signed by its ecosystem's pinned root, or by a root that a list accepted through a pin
//! `recognizes` (one hop only: a list accepted by recognition cannot extend trust further).
//! The store keeps the newest list per ecosystem and refuses `seq` rollbacks. Freshness, key
//! windows, roles and recognition scope are judged at verification time, with the `now` given.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::json::Obj;
use crate::jws::{b64_decode, Jws, Typ};
use crate::Error;

/// Largest trust list accepted, as compact JWS text.
pub const MAX_TRUST_LIST: usize = 1024 * 1024;

/// An Ed25519 public key from a JWK, with its optional validity window.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PublicKey {
    /// Key id, when the JWK has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The 32-byte public key, checked canonical and not of small order.
    #[serde(serialize_with = "ser_b64")]
    pub x: [u8; 32],
    /// Not before (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Expiry (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

/// Checks that a JWK is an OKP Ed25519 key object, for public and private keys alike.
pub(crate) fn okp_jwk(v: &Value) -> Result<Obj<'_>, Error> {
    let map = v.as_object().ok_or(Error::KeyInvalid {
        reason: "a JWK must be an object",
    })?;
    let o = Obj::new(map, "jwk");
    if o.opt_str("kty")? != Some("OKP") || o.opt_str("crv")? != Some("Ed25519") {
        return Err(Error::KeyInvalid {
            reason: "only OKP Ed25519 keys are accepted",
        });
    }
    Ok(o)
}

fn ser_b64<S: serde::Serializer>(x: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::jws::b64_encode(x))
}

impl PublicKey {
    /// Reads an Ed25519 public JWK (`kty` OKP, `crv` Ed25519, `x`). A JWK carrying the private
    /// member `d` is refused: it has no business in a published list.
    pub fn from_jwk(v: &Value) -> Result<Self, Error> {
        let o = okp_jwk(v)?;
        let map = o.map;
        if map.contains_key("d") {
            return Err(Error::KeyInvalid {
                reason: "a public JWK must not carry the private key",
            });
        }
        let x = b64_decode(o.str("x")?, "payload").map_err(|_| Error::KeyInvalid {
            reason: "x is not base64url",
        })?;
        let x: [u8; 32] = x.try_into().map_err(|_| Error::KeyInvalid {
            reason: "x is not 32 bytes",
        })?;
        crate::jws::check_public_key(&x)?;
        Ok(PublicKey {
            kid: o.opt_str("kid")?.map(str::to_owned),
            x,
            nbf: o.opt_u64("nbf")?,
            exp: o.opt_u64("exp")?,
        })
    }

    /// The public JWK form.
    pub fn to_jwk(&self) -> Value {
        let mut m = Map::new();
        m.insert("kty".into(), "OKP".into());
        m.insert("crv".into(), "Ed25519".into());
        m.insert("x".into(), crate::jws::b64_encode(&self.x).into());
        if let Some(kid) = &self.kid {
            m.insert("kid".into(), kid.clone().into());
        }
        if let Some(nbf) = self.nbf {
            m.insert("nbf".into(), nbf.into());
        }
        if let Some(exp) = self.exp {
            m.insert("exp".into(), exp.into());
        }
        Value::Object(m)
    }
}

/// A topic with optional materials: an accreditation's or a recognition's scope (SPEC.md
/// section 3.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Scope {
    /// Topic, e.g. `sourcing.due-diligence`.
    pub topic: String,
    /// Materials (`Co`, `Li`, `Ni`, `Pb`, `graphite`); empty for topics without material.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<String>,
}

impl Scope {
    /// SPEC.md section 3.3 matching: same topic; an assessment with materials needs an entry
    /// whose materials include all of them; one without materials matches an entry of its
    /// topic without materials.
    pub fn covers(&self, topic: &str, materials: &[String]) -> bool {
        self.topic == topic
            && if materials.is_empty() {
                self.materials.is_empty()
            } else {
                materials.iter().all(|m| self.materials.contains(m))
            }
    }
}

/// A certifier's accreditation entry (SPEC.md sections 3.3 and 4).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Accreditation {
    /// What it covers.
    #[serde(flatten)]
    pub scope: Scope,
    /// Accreditation body `(scheme, id)`, e.g. `("NANDO", "NB 0000")`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<(String, String)>,
    /// End of the accreditation (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
}

/// Longest GS1 company prefix (GS1 General Specifications 1.4.4: 4 to 12 digits).
const GCP_DIGITS: core::ops::RangeInclusive<usize> = 4..=12;

/// A participant of an ecosystem: a manufacturer, operator or certifier.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Entity {
    /// DID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Roles held (`manufacturer`, `operator`, `certifier`, ...).
    pub roles: Vec<String>,
    /// Registration `(scheme, id)`, e.g. `("BPNL", "BPNL000000000001")`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reg: Option<(String, String)>,
    /// Signing keys listed now.
    pub keys: Vec<PublicKey>,
    /// Prefix of the entity's status list URLs.
    #[serde(rename = "statusBase", skip_serializing_if = "Option::is_none")]
    pub status_base: Option<String>,
    /// GS1 company prefixes the entity owns; empty: not restricted (SPEC.md section 4).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gcp: Vec<String>,
    /// Origins that serve the entity's labels (`https://host[:port]`); empty: not listed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<String>,
    /// What a certifier is accredited for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accreditation: Vec<Accreditation>,
}

impl Entity {
    /// Whether a GTIN-14 is within the entity's company prefixes (SPEC.md section 4: the
    /// GTIN without its first digit, the indicator or padding digit, starts with one). An
    /// entity that lists no prefix is not restricted.
    pub fn owns_gtin(&self, gtin14: &str) -> bool {
        self.gcp.is_empty()
            || gtin14
                .get(1..)
                .is_some_and(|rest| self.gcp.iter().any(|p| rest.starts_with(p.as_str())))
    }

    /// Whether a label's origin is one the entity lists under `resolvers` (`None`: it lists
    /// none, so nothing to say).
    pub fn lists_resolver(&self, origin: &str) -> Option<bool> {
        if self.resolvers.is_empty() {
            return None;
        }
        let origin = origin.trim_end_matches('/');
        Some(
            self.resolvers
                .iter()
                .any(|r| r.trim_end_matches('/').eq_ignore_ascii_case(origin)),
        )
    }
}

/// A status authority: signs status lists for the ecosystem's issuers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Authority {
    /// DID.
    pub id: String,
    /// Keys.
    pub keys: Vec<PublicKey>,
}

/// One ecosystem's recognition of another.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Recognition {
    /// The recognised ecosystem.
    pub eco: String,
    /// Its root key.
    pub root: PublicKey,
    /// Roles of its entities this ecosystem accepts.
    pub roles: Vec<String>,
    /// End of the recognition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// Which attestations of the recognised ecosystem's certifiers are accepted (SPEC.md
    /// section 4: without a scope, none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<Scope>,
}

/// The payload of a `trust-list+jwt`, checked.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrustList {
    /// Operator DID.
    pub iss: String,
    /// Ecosystem name.
    pub eco: String,
    /// Sequence number; only grows.
    pub seq: u64,
    /// Issue time.
    pub iat: u64,
    /// Expiry: past it the list is stale.
    pub exp: u64,
    /// Participants.
    pub entities: Vec<Entity>,
    /// Status authorities.
    pub authorities: Vec<Authority>,
    /// Ecosystems recognised.
    pub recognizes: Vec<Recognition>,
}

fn keys(o: &Obj<'_>) -> Result<Vec<PublicKey>, Error> {
    o.array("keys")?.iter().map(PublicKey::from_jwk).collect()
}

fn each_obj<'a, T>(
    o: &Obj<'a>,
    name: &'a str,
    f: impl Fn(Obj<'a>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let Some(items) = o.opt_array(name)? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|v| {
            v.as_object()
                .ok_or_else(|| o.err(name, "must hold objects"))
                .and_then(|m| f(Obj::new(m, name)))
        })
        .collect()
}

fn scope(o: &Obj<'_>) -> Result<Scope, Error> {
    let topic = o.str("topic")?;
    if topic.is_empty() {
        return Err(o.err("topic", "must not be empty"));
    }
    let materials = match o.opt_array("materials")? {
        Some(_) => o.strings("materials")?,
        None => Vec::new(),
    };
    Ok(Scope {
        topic: topic.to_owned(),
        materials,
    })
}

fn opt_strings(o: &Obj<'_>, name: &str) -> Result<Vec<String>, Error> {
    match o.opt_array(name)? {
        Some(_) => o.strings(name),
        None => Ok(Vec::new()),
    }
}

fn gcps(o: &Obj<'_>) -> Result<Vec<String>, Error> {
    let gcp = opt_strings(o, "gcp")?;
    if gcp
        .iter()
        .any(|p| !GCP_DIGITS.contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(o.err("gcp", "must hold GS1 company prefixes of 4 to 12 digits"));
    }
    Ok(gcp)
}

fn resolvers(o: &Obj<'_>) -> Result<Vec<String>, Error> {
    let list = opt_strings(o, "resolvers")?;
    // An origin: scheme and authority, nothing after (RFC 6454).
    let is_origin = |r: &str| {
        r.strip_prefix("https://")
            .or_else(|| r.strip_prefix("http://"))
            .is_some_and(|rest| {
                let rest = rest.strip_suffix('/').unwrap_or(rest);
                !rest.is_empty() && !rest.contains(['/', '?', '#', '@', ' '])
            })
    };
    if !list.iter().all(|r| is_origin(r)) {
        return Err(o.err("resolvers", "must hold origins like https://id.example"));
    }
    Ok(list)
}

fn body(o: &Obj<'_>) -> Result<Option<(String, String)>, Error> {
    o.opt_obj("body")?
        .map(|b| {
            let b = Obj::new(b, "body");
            Ok((b.str("scheme")?.to_owned(), b.str("id")?.to_owned()))
        })
        .transpose()
}

fn scope_json(s: &Scope) -> Value {
    let mut m = Map::new();
    m.insert("topic".into(), s.topic.clone().into());
    if !s.materials.is_empty() {
        m.insert("materials".into(), s.materials.clone().into());
    }
    Value::Object(m)
}

impl TrustList {
    /// Reads a trust list payload.
    pub fn from_payload(p: &Map<String, Value>) -> Result<Self, Error> {
        let o = Obj::new(p, "");
        let eco = o.str("eco")?;
        if eco.is_empty() {
            return Err(o.err("eco", "must not be empty"));
        }
        let entities = each_obj(&o, "entities", |e| {
            let reg = e
                .opt_obj("reg")?
                .map(|r| {
                    let r = Obj::new(r, "reg");
                    Ok::<_, Error>((r.str("scheme")?.to_owned(), r.str("id")?.to_owned()))
                })
                .transpose()?;
            Ok(Entity {
                id: e.str("id")?.to_owned(),
                name: e.opt_str("name")?.unwrap_or_default().to_owned(),
                roles: e.strings("roles")?,
                reg,
                keys: keys(&e)?,
                status_base: e.opt_str("statusBase")?.map(str::to_owned),
                gcp: gcps(&e)?,
                resolvers: resolvers(&e)?,
                accreditation: each_obj(&e, "accreditation", |a| {
                    Ok(Accreditation {
                        scope: scope(&a)?,
                        body: body(&a)?,
                        until: a.opt_u64("until")?,
                    })
                })?,
            })
        })?;
        let authorities = each_obj(&o, "authorities", |a| {
            Ok(Authority {
                id: a.str("id")?.to_owned(),
                keys: keys(&a)?,
            })
        })?;
        let recognizes = each_obj(&o, "recognizes", |r| {
            let root = r
                .map
                .get("root")
                .ok_or_else(|| r.err("root", "is missing"))?;
            Ok(Recognition {
                eco: r.str("eco")?.to_owned(),
                root: PublicKey::from_jwk(root)?,
                roles: r.strings("roles")?,
                until: r.opt_u64("until")?,
                scope: each_obj(&r, "scope", |sc| scope(&sc))?,
            })
        })?;
        Ok(TrustList {
            iss: o.str("iss")?.to_owned(),
            eco: eco.to_owned(),
            seq: o.u64("seq")?,
            iat: o.u64("iat")?,
            exp: o.u64("exp")?,
            entities,
            authorities,
            recognizes,
        })
    }

    /// The payload JSON (for issuing).
    pub fn to_payload(&self) -> Value {
        let ent: Vec<Value> = self
            .entities
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("id".into(), e.id.clone().into());
                m.insert("name".into(), e.name.clone().into());
                m.insert("roles".into(), e.roles.clone().into());
                if let Some((scheme, id)) = &e.reg {
                    m.insert(
                        "reg".into(),
                        serde_json::json!({"scheme": scheme, "id": id}),
                    );
                }
                m.insert(
                    "keys".into(),
                    e.keys.iter().map(PublicKey::to_jwk).collect(),
                );
                if let Some(b) = &e.status_base {
                    m.insert("statusBase".into(), b.clone().into());
                }
                if !e.gcp.is_empty() {
                    m.insert("gcp".into(), e.gcp.clone().into());
                }
                if !e.resolvers.is_empty() {
                    m.insert("resolvers".into(), e.resolvers.clone().into());
                }
                if !e.accreditation.is_empty() {
                    let acc: Vec<Value> = e
                        .accreditation
                        .iter()
                        .map(|a| {
                            let mut v = scope_json(&a.scope);
                            if let Some(m) = v.as_object_mut() {
                                if let Some((scheme, id)) = &a.body {
                                    m.insert(
                                        "body".into(),
                                        serde_json::json!({"scheme": scheme, "id": id}),
                                    );
                                }
                                if let Some(until) = a.until {
                                    m.insert("until".into(), until.into());
                                }
                            }
                            v
                        })
                        .collect();
                    m.insert("accreditation".into(), acc.into());
                }
                Value::Object(m)
            })
            .collect();
        let auth: Vec<Value> = self
            .authorities
            .iter()
            .map(|a| serde_json::json!({"id": a.id, "keys": a.keys.iter().map(PublicKey::to_jwk).collect::<Vec<_>>()}))
            .collect();
        let rec: Vec<Value> = self
            .recognizes
            .iter()
            .map(|r| {
                let mut v =
                    serde_json::json!({"eco": r.eco, "root": r.root.to_jwk(), "roles": r.roles});
                if let Some(m) = v.as_object_mut() {
                    if let Some(until) = r.until {
                        m.insert("until".into(), until.into());
                    }
                    if !r.scope.is_empty() {
                        m.insert(
                            "scope".into(),
                            r.scope.iter().map(scope_json).collect::<Vec<_>>().into(),
                        );
                    }
                }
                v
            })
            .collect();
        serde_json::json!({
            "iss": self.iss, "eco": self.eco, "seq": self.seq, "iat": self.iat, "exp": self.exp,
            "entities": ent, "authorities": auth, "recognizes": rec,
        })
    }
}

/// How a held list came to be trusted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Via {
    /// Signed by the pinned root of its ecosystem.
    Pinned,
    /// Signed by a root that the pinned ecosystem `by` recognises.
    Recognized {
        /// The recognising ecosystem.
        by: String,
    },
}

#[derive(Clone, Debug)]
struct Held {
    list: TrustList,
    via: Via,
    /// The root key that verified the list: the pin, or the `root` of the `recognizes` entry.
    /// SPEC.md section 4: the list stays accepted only while this key still is one of those.
    key: [u8; 32],
    raw: String,
}

/// What was accepted by [`TrustStore::insert`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Accepted {
    /// Ecosystem.
    pub eco: String,
    /// Sequence number.
    pub seq: u64,
    /// Path.
    #[serde(flatten)]
    pub via: Via,
    /// Whether the same list was already held (no change).
    pub unchanged: bool,
}

/// Most lists kept pending (signed by no key known yet) at once: a flood of unverifiable lists
/// cannot grow the store without bound.
pub const MAX_PENDING: usize = 32;

/// Pinned roots plus the trust lists accepted through them.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    roots: BTreeMap<String, [u8; 32]>,
    held: BTreeMap<String, Held>,
    /// Lists signed by no key known yet; retried when a recognising list arrives.
    pending: Vec<String>,
}

/// The issuer found for a credential, with the path that trusts it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IssuerMatch {
    /// The entity.
    pub entity: Entity,
    /// The key that signs, chosen by `kid`.
    pub key: PublicKey,
    /// The entity's ecosystem.
    pub eco: String,
    /// The pinned ecosystem that recognises `eco`, when trust is by recognition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recognized_by: Option<String>,
    /// The attestation scope of the recognition the path went through (SPEC.md section 4);
    /// `None` for an entity of a pinned ecosystem, limited by its own accreditation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recognition_scope: Option<Vec<Scope>>,
    /// The trust path as text ("catena-x, recognised by ouranos").
    pub path: String,
}

/// Data age of one trust list used.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ListAge {
    /// `trust_list` or `status_list`.
    pub kind: &'static str,
    /// The ecosystem or the status list URL.
    pub id: String,
    /// When the list was issued (`iat` or `validFrom`).
    pub issued: u64,
    /// Seconds from issue to now (0 when issued in the future).
    pub age: u64,
    /// When it stops being fresh (`exp` or `validUntil`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// Past `expires`.
    pub stale: bool,
}

/// The outcome of looking an issuer up, with the key named by `kid` even on failure, so the
/// signature can still be reported.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The match, or why there is none.
    pub result: Result<IssuerMatch, Error>,
    /// The key named by `kid` in the entity's home entry, if there is exactly one.
    pub key: Option<[u8; 32]>,
    /// Ages of the trust lists on that path.
    pub ages: Vec<ListAge>,
}

/// Roles that may sign a battery credential (SPEC.md section 1).
pub const CREDENTIAL_ROLES: [&str; 2] = ["manufacturer", "operator"];

impl TrustStore {
    /// An empty store with no pinned roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pins an ecosystem root. Replacing a pin drops lists the old key verified (and, with
    /// them, everything their recognitions carried).
    pub fn pin_root(&mut self, eco: &str, root: &PublicKey) {
        self.roots.insert(eco.to_owned(), root.x);
        self.revalidate();
    }

    /// The pinned ecosystems.
    pub fn pinned(&self) -> impl Iterator<Item = &str> {
        self.roots.keys().map(String::as_str)
    }

    /// A store with the same pinned roots and no lists: where a report's evidence is judged
    /// by the verifier's own pins (`verify_report`).
    pub fn pins_only(&self) -> TrustStore {
        TrustStore {
            roots: self.roots.clone(),
            ..TrustStore::default()
        }
    }

    /// Accepts a trust list: signature by a pinned or recognised root, no `seq` rollback.
    /// A list nobody known signs is kept pending (at most [`MAX_PENDING`]) and retried when
    /// other lists arrive, and reported as `trust_list_untrusted` now.
    pub fn insert(&mut self, compact: &str) -> Result<Accepted, Error> {
        let out = self.try_insert(compact);
        match &out {
            Err(Error::TrustListUntrusted { .. })
                if self.pending.len() < MAX_PENDING
                    && !self.pending.iter().any(|p| p == compact) =>
            {
                self.pending.push(compact.to_owned());
            }
            Ok(a) if !a.unchanged => self.revalidate(),
            _ => {}
        }
        out
    }

    /// The root keys that may sign a list of `eco`: its pin, or else the roots that pinned
    /// lists' `recognizes` entries give for it (one hop).
    fn root_candidates(&self, eco: &str) -> Vec<([u8; 32], Via)> {
        if let Some(root) = self.roots.get(eco) {
            return vec![(*root, Via::Pinned)];
        }
        self.held
            .values()
            .filter(|h| h.via == Via::Pinned && h.list.eco != eco)
            .flat_map(|h| {
                h.list.recognizes.iter().filter(|r| r.eco == eco).map(|r| {
                    (
                        r.root.x,
                        Via::Recognized {
                            by: h.list.eco.clone(),
                        },
                    )
                })
            })
            .collect()
    }

    fn try_insert(&mut self, compact: &str) -> Result<Accepted, Error> {
        let jws = Jws::parse(compact, Typ::TrustList, MAX_TRUST_LIST)?;
        let eco = TrustList::from_payload(jws.unverified_payload())?.eco;
        let candidates = self.root_candidates(&eco);
        if candidates.is_empty() {
            return Err(Error::TrustListUntrusted { eco });
        }
        let keys: Vec<[u8; 32]> = candidates.iter().map(|(k, _)| *k).collect();
        let (verified, i) = jws.verify_any(&keys)?;
        let Some((key, via)) = candidates.into_iter().nth(i) else {
            return Err(Error::TrustListUntrusted { eco });
        };
        // Read again from the verified payload: only signed bytes decide what is trusted.
        let list = TrustList::from_payload(verified.payload())?;
        if let Some(held) = self.held.get(&eco) {
            if held.raw == compact {
                return Ok(Accepted {
                    eco,
                    seq: list.seq,
                    via,
                    unchanged: true,
                });
            }
            // SPEC.md section 4: seq only grows. An equal seq with other content is no newer.
            if list.seq <= held.list.seq {
                return Err(Error::TrustListRollback {
                    eco,
                    held: held.list.seq,
                    offered: list.seq,
                });
            }
        }
        let accepted = Accepted {
            eco: eco.clone(),
            seq: list.seq,
            via: via.clone(),
            unchanged: false,
        };
        self.held.insert(
            eco,
            Held {
                list,
                via,
                key,
                raw: compact.to_owned(),
            },
        );
        Ok(accepted)
    }

    /// Inserts several lists in any order (recognised ecosystems before their recognisers is
    /// fine); returns one result per list, judged after all were seen.
    pub fn insert_all<'a>(
        &mut self,
        lists: impl IntoIterator<Item = &'a str>,
    ) -> Vec<Result<Accepted, Error>> {
        let lists: Vec<&str> = lists.into_iter().collect();
        let mut out: Vec<Result<Accepted, Error>> = lists.iter().map(|l| self.insert(l)).collect();
        for (i, l) in lists.iter().enumerate() {
            if matches!(out.get(i), Some(Err(Error::TrustListUntrusted { .. }))) {
                if let Some(slot) = out.get_mut(i) {
                    *slot = self.insert(l);
                }
            }
        }
        out
    }

    /// Whether a held list is still vouched for by the key that verified it (SPEC.md
    /// section 4): the pinned root of its ecosystem, or the root of a current `recognizes`
    /// entry of the pinned list that recognised it. A pin for a recognised ecosystem
    /// supersedes the recognition.
    fn still_vouched(&self, h: &Held) -> bool {
        match &h.via {
            Via::Pinned => self.roots.get(&h.list.eco) == Some(&h.key),
            Via::Recognized { by } => {
                !self.roots.contains_key(&h.list.eco)
                    && self.held.get(by).is_some_and(|r| {
                        r.via == Via::Pinned
                            && self.roots.get(by) == Some(&r.key)
                            && r.list
                                .recognizes
                                .iter()
                                .any(|rec| rec.eco == h.list.eco && rec.root.x == h.key)
                    })
            }
        }
    }

    /// Drops held lists no longer vouched for (back to pending: a new recogniser may vouch
    /// again), and retries pending ones, until nothing changes.
    fn revalidate(&mut self) {
        loop {
            let dropped: Vec<String> = self
                .held
                .iter()
                .filter(|(_, h)| !self.still_vouched(h))
                .map(|(eco, _)| eco.clone())
                .collect();
            if dropped.is_empty() {
                break;
            }
            for eco in dropped {
                if let Some(h) = self.held.remove(&eco) {
                    if self.pending.len() < MAX_PENDING {
                        self.pending.push(h.raw);
                    }
                }
            }
        }
        loop {
            let pending = core::mem::take(&mut self.pending);
            let mut progress = false;
            for raw in pending {
                match self.try_insert(&raw) {
                    Ok(a) => progress |= !a.unchanged,
                    Err(Error::TrustListUntrusted { .. }) => self.pending.push(raw),
                    Err(_) => {}
                }
            }
            if !progress {
                break;
            }
        }
    }

    /// The list held for an ecosystem.
    pub fn list(&self, eco: &str) -> Option<&TrustList> {
        self.held.get(eco).map(|h| &h.list)
    }

    /// How the list of an ecosystem is trusted.
    pub fn via(&self, eco: &str) -> Option<&Via> {
        self.held.get(eco).map(|h| &h.via)
    }

    /// Every accepted list with how it is trusted.
    pub fn accepted(&self) -> impl Iterator<Item = (&TrustList, &Via)> {
        self.held.values().map(|h| (&h.list, &h.via))
    }

    /// Every held list's compact JWS, for persisting and for the offline bundle.
    pub fn raw_lists(&self) -> impl Iterator<Item = &str> {
        self.held.values().map(|h| h.raw.as_str())
    }

    /// Newest `iat` of the lists of pinned ecosystems: their part of the clock floor. Lists of
    /// recognised ecosystems never move it (SPEC.md section 4), so no one but the verifier's own
    /// trust anchors can push its sense of time forward.
    pub fn newest_iat(&self) -> u64 {
        self.held
            .values()
            .filter(|h| h.via == Via::Pinned)
            .map(|h| h.list.iat)
            .max()
            .unwrap_or(0)
    }

    /// Ages of all held lists at `now`.
    pub fn ages(&self, now: u64) -> Vec<ListAge> {
        self.held.values().map(|h| age_of(&h.list, now)).collect()
    }

    /// Finds the issuer of a credential by `iss` and `kid` and checks key window, role,
    /// recognition and freshness at `now` (SPEC.md section 4, "one entity, one home"): when a
    /// pinned list names `iss`, only pinned lists' entries count; among those that count, the
    /// entries listing `kid` are candidates; exactly one is the entity's home, none is
    /// `key_unknown`, several `issuer_ambiguous`.
    pub fn resolve(
        &self,
        iss: &str,
        kid: &str,
        iat: u64,
        roles: &[&'static str],
        now: u64,
    ) -> Resolution {
        let listed: Vec<(&Held, &Entity)> = self
            .held
            .values()
            .flat_map(|h| {
                h.list
                    .entities
                    .iter()
                    .filter(|e| e.id == iss)
                    .map(move |e| (h, e))
            })
            .collect();
        let any_pinned = listed.iter().any(|(h, _)| h.via == Via::Pinned);
        let counting: Vec<(&Held, &Entity)> = listed
            .into_iter()
            .filter(|(h, _)| !any_pinned || h.via == Via::Pinned)
            .collect();
        let candidates: Vec<(&Held, &Entity, &PublicKey)> = counting
            .iter()
            .filter_map(|(h, e)| {
                e.keys
                    .iter()
                    .find(|k| k.kid.as_deref().is_some_and(|k| same_kid(iss, k, kid)))
                    .map(|k| (*h, *e, k))
            })
            .collect();
        let ages_of = |h: &Held| {
            let mut ages = vec![age_of(&h.list, now)];
            if let Via::Recognized { by } = &h.via {
                ages.extend(self.held.get(by).map(|r| age_of(&r.list, now)));
            }
            ages
        };
        match candidates.as_slice() {
            [] => Resolution {
                result: Err(if counting.is_empty() {
                    Error::IssuerUnknown {
                        iss: iss.to_owned(),
                    }
                } else {
                    Error::KeyUnknown {
                        kid: kid.to_owned(),
                    }
                }),
                key: None,
                ages: counting
                    .first()
                    .map(|(h, _)| ages_of(h))
                    .unwrap_or_default(),
            },
            [(h, entity, key)] => {
                let recogniser = match &h.via {
                    Via::Pinned => None,
                    Via::Recognized { by } => self.held.get(by),
                };
                Resolution {
                    result: check_path(h, recogniser, entity, key, iat, roles, now),
                    key: Some(key.x),
                    ages: ages_of(h),
                }
            }
            several => Resolution {
                result: Err(Error::IssuerAmbiguous {
                    iss: iss.to_owned(),
                    ecosystems: several.iter().map(|(h, _, _)| h.list.eco.clone()).collect(),
                }),
                key: None,
                ages: several.iter().flat_map(|(h, _, _)| ages_of(h)).collect(),
            },
        }
    }
}

fn age_of(l: &TrustList, now: u64) -> ListAge {
    ListAge {
        kind: "trust_list",
        id: l.eco.clone(),
        issued: l.iat,
        age: now.saturating_sub(l.iat),
        expires: Some(l.exp),
        stale: now > l.exp,
    }
}

/// Whether `key` may sign something dated `at` (SPEC.md section 4: `nbf` <= at < `exp`).
pub(crate) fn key_window(key: &PublicKey, at: u64) -> Result<(), Error> {
    if key.nbf.is_some_and(|nbf| at < nbf) || key.exp.is_some_and(|exp| at >= exp) {
        return Err(Error::KeyNotValidAtIat {
            iat: at,
            nbf: key.nbf,
            exp: key.exp,
        });
    }
    Ok(())
}

fn check_path(
    h: &Held,
    recogniser: Option<&Held>,
    entity: &Entity,
    key: &PublicKey,
    iat: u64,
    roles: &[&'static str],
    now: u64,
) -> Result<IssuerMatch, Error> {
    key_window(key, iat)?;
    let needed = roles.first().copied().unwrap_or("manufacturer");
    let held_roles: Vec<&str> = entity
        .roles
        .iter()
        .map(String::as_str)
        .filter(|r| roles.contains(r))
        .collect();
    if held_roles.is_empty() {
        return Err(Error::RoleMissing { needed });
    }
    let mut path = h.list.eco.clone();
    let mut recognized_by = None;
    let mut recognition_scope = None;
    if let Via::Recognized { by } = &h.via {
        let untrusted = || Error::TrustListUntrusted {
            eco: h.list.eco.clone(),
        };
        let r = recogniser.ok_or_else(untrusted)?;
        // SPEC.md section 4: the entry applied is the one whose root verified the list.
        let rec = r
            .list
            .recognizes
            .iter()
            .find(|rec| rec.eco == h.list.eco && rec.root.x == h.key)
            .ok_or_else(untrusted)?;
        if rec.until.is_some_and(|until| now > until) {
            return Err(Error::RecognitionExpired {
                eco: h.list.eco.clone(),
                by: by.clone(),
            });
        }
        if !held_roles
            .iter()
            .any(|role| rec.roles.iter().any(|r| r == role))
        {
            return Err(Error::RecognitionScope {
                eco: h.list.eco.clone(),
                by: by.clone(),
            });
        }
        if now > r.list.exp {
            return Err(Error::TrustListStale {
                eco: by.clone(),
                expired_for: now - r.list.exp,
            });
        }
        path = format!("{}, recognised by {by}", h.list.eco);
        recognized_by = Some(by.clone());
        recognition_scope = Some(rec.scope.clone());
    }
    if now > h.list.exp {
        return Err(Error::TrustListStale {
            eco: h.list.eco.clone(),
            expired_for: now - h.list.exp,
        });
    }
    Ok(IssuerMatch {
        entity: entity.clone(),
        key: key.clone(),
        eco: h.list.eco.clone(),
        recognized_by,
        recognition_scope,
        path,
    })
}

/// A verifier's stores again from what a page holds (a wasm module loaded later, beside the
/// verifier module: the inspector's, the resolution's): `roots_json` is
/// `[{"eco", "root": JWK}]` as the page stores its pinned roots, `held_json` the verifier's
/// `held()` (`{"trustLists": [...], "statusLists": [...]}`). Every list is verified again on
/// the way in; what fails is left out, as in the verifier, and malformed JSON holds nothing.
pub fn stores_from_held(
    roots_json: &str,
    held_json: &str,
) -> (TrustStore, crate::status::StatusStore) {
    let mut trust = TrustStore::new();
    let mut status = crate::status::StatusStore::new();
    if let Ok(Value::Array(roots)) = serde_json::from_str::<Value>(roots_json) {
        for r in &roots {
            let (Some(eco), Some(root)) = (r.get("eco").and_then(Value::as_str), r.get("root"))
            else {
                continue;
            };
            if let Ok(pk) = PublicKey::from_jwk(root) {
                trust.pin_root(eco, &pk);
            }
        }
    }
    if let Ok(held) = serde_json::from_str::<Value>(held_json) {
        let strings = |k: &str| -> Vec<String> {
            held.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(|s| s.trim().to_owned()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let lists = strings("trustLists");
        let _ = trust.insert_all(lists.iter().map(String::as_str));
        for s in strings("statusLists") {
            let _ = status.insert(&s, &trust);
        }
    }
    (trust, status)
}

/// Whether a listed key id and a header's `kid` name the same key of entity `iss` (SPEC.md
/// section 1): `{iss}#{k}` is key `k` of `iss`, so `k1` and `did:web:acme.example#k1` are one
/// key of `did:web:acme.example`. Another DID's `{did}#{k}` is not (a mandated agent's key).
pub fn same_kid(iss: &str, listed: &str, kid: &str) -> bool {
    let local = |k: &'_ str| -> String {
        match k.strip_prefix(iss).and_then(|r| r.strip_prefix('#')) {
            Some(rest) if !rest.is_empty() => rest.to_owned(),
            _ => k.to_owned(),
        }
    };
    listed == kid || local(listed) == local(kid)
}
