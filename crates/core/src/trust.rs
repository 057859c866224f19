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

/// A participant of an ecosystem: a manufacturer, operator or certifier.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
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
                if let (Some(until), Some(m)) = (r.until, v.as_object_mut()) {
                    m.insert("until".into(), until.into());
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

/// The outcome of looking an issuer up, with the best key candidate even on failure, so the
/// signature can still be reported.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The match, or the most specific error over all paths.
    pub result: Result<IssuerMatch, Error>,
    /// The key named by `kid` on the path that got furthest, if any.
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

    /// Pins an ecosystem root. Replacing a pin drops lists that depended on the old one.
    pub fn pin_root(&mut self, eco: &str, root: &PublicKey) {
        self.roots.insert(eco.to_owned(), root.x);
        self.revalidate();
    }

    /// The pinned ecosystems.
    pub fn pinned(&self) -> impl Iterator<Item = &str> {
        self.roots.keys().map(String::as_str)
    }

    /// Accepts a trust list: signature by a pinned or recognised root, no `seq` rollback.
    /// A list nobody known signs is kept pending and retried when other lists arrive, and
    /// reported as `trust_list_untrusted` now.
    pub fn insert(&mut self, compact: &str) -> Result<Accepted, Error> {
        let out = self.try_insert(compact);
        match &out {
            Err(Error::TrustListUntrusted { .. }) if !self.pending.iter().any(|p| p == compact) => {
                self.pending.push(compact.to_owned());
            }
            Ok(a) if !a.unchanged => self.revalidate(),
            _ => {}
        }
        out
    }

    fn try_insert(&mut self, compact: &str) -> Result<Accepted, Error> {
        let jws = Jws::parse(compact, Typ::TrustList, MAX_TRUST_LIST)?;
        let list = TrustList::from_payload(jws.unverified_payload())?;
        let eco = list.eco.clone();
        let mut candidates: Vec<([u8; 32], Via)> = Vec::new();
        if let Some(root) = self.roots.get(&eco) {
            candidates.push((*root, Via::Pinned));
        } else {
            for h in self
                .held
                .values()
                .filter(|h| h.via == Via::Pinned && h.list.eco != eco)
            {
                for r in h.list.recognizes.iter().filter(|r| r.eco == eco) {
                    candidates.push((
                        r.root.x,
                        Via::Recognized {
                            by: h.list.eco.clone(),
                        },
                    ));
                }
            }
        }
        if candidates.is_empty() {
            return Err(Error::TrustListUntrusted { eco });
        }
        let mut last_err = Error::TrustListUntrusted { eco: eco.clone() };
        let mut verified = None;
        for (key, via) in candidates {
            match crate::jws::verify_ed25519_strict(&key, jws.signing_input(), jws.signature()) {
                Ok(()) => {
                    verified = Some(via);
                    break;
                }
                Err(e) => last_err = e,
            }
        }
        let via = verified.ok_or(last_err)?;
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

    /// Re-checks lists held by recognition against the current pinned lists, and retries
    /// pending ones, until nothing changes.
    fn revalidate(&mut self) {
        // Drop lists whose pin changed or whose recognition disappeared, back to pending.
        let stale: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| match &h.via {
                Via::Pinned => !self.roots.contains_key(&h.list.eco),
                Via::Recognized { by } => {
                    !self.held.get(by).is_some_and(|r| {
                        r.via == Via::Pinned
                            && r.list.recognizes.iter().any(|rec| rec.eco == h.list.eco)
                    }) || self.roots.contains_key(&h.list.eco)
                }
            })
            .map(|(eco, _)| eco.clone())
            .collect();
        for eco in stale {
            if let Some(h) = self.held.remove(&eco) {
                self.pending.push(h.raw);
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

    /// Every held list's compact JWS, for persisting and for the offline bundle.
    pub fn raw_lists(&self) -> impl Iterator<Item = &str> {
        self.held.values().map(|h| h.raw.as_str())
    }

    /// Newest `iat` of any held list: part of the clock floor (SPEC.md section 5).
    pub fn newest_iat(&self) -> u64 {
        self.held.values().map(|h| h.list.iat).max().unwrap_or(0)
    }

    /// Ages of all held lists at `now`.
    pub fn ages(&self, now: u64) -> Vec<ListAge> {
        self.held.values().map(|h| age_of(&h.list, now)).collect()
    }

    /// Finds the issuer of a credential by `iss` and `kid` and checks key window, role,
    /// recognition scope and freshness at `now` (SPEC.md section 4). Over several paths the
    /// most specific failure is reported.
    pub fn resolve(
        &self,
        iss: &str,
        kid: &str,
        iat: u64,
        roles: &[&'static str],
        now: u64,
    ) -> Resolution {
        let mut best: Option<(Error, Option<[u8; 32]>, Vec<ListAge>)> = None;
        // Pinned lists first, so a direct path wins over a recognised one.
        let mut held: Vec<&Held> = self.held.values().collect();
        held.sort_by_key(|h| h.via != Via::Pinned);
        for h in held {
            for entity in h.list.entities.iter().filter(|e| e.id == iss) {
                let mut ages = vec![age_of(&h.list, now)];
                let recogniser = match &h.via {
                    Via::Pinned => None,
                    Via::Recognized { by } => self.held.get(by).inspect(|r| {
                        ages.push(age_of(&r.list, now));
                    }),
                };
                let key = entity.keys.iter().find(|k| k.kid.as_deref() == Some(kid));
                match check_path(h, recogniser, entity, (kid, key), iat, roles, now) {
                    Ok(m) => {
                        return Resolution {
                            key: Some(m.key.x),
                            result: Ok(m),
                            ages,
                        }
                    }
                    Err(e) => {
                        if best.as_ref().is_none_or(|(b, _, _)| e.rank() > b.rank()) {
                            best = Some((e, key.map(|k| k.x), ages));
                        }
                    }
                }
            }
        }
        match best {
            Some((e, key, ages)) => Resolution {
                result: Err(e),
                key,
                ages,
            },
            None => Resolution {
                result: Err(Error::IssuerUnknown {
                    iss: iss.to_owned(),
                }),
                key: None,
                ages: Vec::new(),
            },
        }
    }

    /// Keys of a status authority `id` with `kid`, with the ecosystems whose lists name it.
    pub fn authority_keys(&self, id: &str, kid: &str) -> Vec<(String, [u8; 32])> {
        self.held
            .values()
            .flat_map(|h| {
                h.list
                    .authorities
                    .iter()
                    .filter(move |a| a.id == id)
                    .flat_map(|a| a.keys.iter())
                    .filter(move |k| k.kid.as_deref() == Some(kid))
                    .map(move |k| (h.list.eco.clone(), k.x))
            })
            .collect()
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

fn check_path(
    h: &Held,
    recogniser: Option<&Held>,
    entity: &Entity,
    (kid, key): (&str, Option<&PublicKey>),
    iat: u64,
    roles: &[&'static str],
    now: u64,
) -> Result<IssuerMatch, Error> {
    let key = key.ok_or_else(|| Error::KeyUnknown {
        kid: kid.to_owned(),
    })?;
    if key.nbf.is_some_and(|nbf| iat < nbf) || key.exp.is_some_and(|exp| iat >= exp) {
        return Err(Error::KeyNotValidAtIat {
            iat,
            nbf: key.nbf,
            exp: key.exp,
        });
    }
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
    if let Via::Recognized { by } = &h.via {
        let r = recogniser.ok_or_else(|| Error::TrustListUntrusted {
            eco: h.list.eco.clone(),
        })?;
        let rec = r
            .list
            .recognizes
            .iter()
            .find(|rec| rec.eco == h.list.eco)
            .ok_or_else(|| Error::TrustListUntrusted {
                eco: h.list.eco.clone(),
            })?;
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
        path,
    })
}
