//! The registry request envelope `registry-request+jwt` (SPEC.md section 6.1): parsing and
//! verification, shared by the registry server, the fuzzers and any other verifier.
//!
//! States as types: [`ParsedRequest::parse`] checks the JWS profile, the `typ`, strict JSON and
//! every member (required `iss`, `iat`, `jti`, `aud`, `op` and the operation's own members,
//! nothing else, every size bounded) and yields an unauthenticated request; only
//! [`ParsedRequest::verify`] (audience, operation, `iat` window, the requester's key, role and
//! key window through [`TrustStore::resolve`], its one home ecosystem, strict Ed25519) turns
//! it into a [`VerifiedRequest`] whose members a registry may act on.

use serde_json::{Map, Value};

use crate::json::Obj;
use crate::jws::{Jws, Typ};
use crate::status::Purpose;
use crate::trust::{IssuerMatch, TrustStore};
use crate::Error;

/// Largest compact request accepted (the registry's body limit).
pub const MAX_REQUEST: usize = 64 * 1024;
/// Accepted distance, in seconds, between a request's `iat` and the verifier's clock
/// (SPEC.md section 6.1: five minutes).
pub const REQUEST_IAT_WINDOW: u64 = 300;
/// Longest `jti`.
pub const MAX_JTI: usize = 128;
/// Longest `iss`, `aud`, `item` (DIDs, URLs, Digital Link paths).
const MAX_ID: usize = 512;
/// Longest list id (SPEC.md section 5: letters, digits, `_`).
const MAX_LIST_ID: usize = 64;
/// Longest document digest (`sha-256=` plus base64url, or hex, with room to spare).
const MAX_DIGEST: usize = 128;
/// Longest tier name.
const MAX_TIER: usize = 32;

/// The operations of SPEC.md section 6, one per route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `POST /v1/status`: set or clear one status bit.
    Status,
    /// `POST /v1/allocate`: fresh random indexes.
    Allocate,
    /// `PUT /v1/documents/{hashDigest}`: upload a document (section 6.2).
    Document,
    /// `POST /v1/restricted` and report reads (sections 6.3, 6.4).
    Read,
    /// `POST /v1/lifecycle`: record a lifecycle event (1.2 sections 3.4, 6.2).
    Lifecycle,
}

impl Op {
    /// Every operation.
    pub const ALL: [Op; 5] = [
        Op::Status,
        Op::Allocate,
        Op::Document,
        Op::Read,
        Op::Lifecycle,
    ];

    /// The `op` member's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Status => "status",
            Op::Allocate => "allocate",
            Op::Document => "document",
            Op::Read => "read",
            Op::Lifecycle => "lifecycle",
        }
    }

    /// The operation named by an `op` value.
    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The members the operation adds to the envelope.
    fn members(self) -> &'static [&'static str] {
        match self {
            Op::Status => &["list", "index", "purpose", "value"],
            Op::Allocate => &["list", "count"],
            Op::Document => &["digest"],
            Op::Read => &["item", "tier"],
            Op::Lifecycle => &["item", "event"],
        }
    }
}

/// The operation's own members, checked for type and size (ranges that depend on the
/// registry, such as the list length or the largest allocation, are the registry's to check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `op: "status"`.
    Status {
        /// List id.
        list: String,
        /// Index in the list.
        index: u64,
        /// Which of the list's purposes.
        purpose: Purpose,
        /// The bit to set (`true`/`false`, or 1/0).
        value: bool,
    },
    /// `op: "allocate"`.
    Allocate {
        /// List id.
        list: String,
        /// How many indexes.
        count: u64,
    },
    /// `op: "document"`.
    Document {
        /// The document's `hashDigest`.
        digest: String,
    },
    /// `op: "read"`.
    Read {
        /// Digital Link path of the battery.
        item: String,
        /// `legitimate-interest` or `authority`.
        tier: String,
    },
    /// `op: "lifecycle"` (SPEC.md 1.2 section 6.2).
    Lifecycle {
        /// Digital Link path of the battery.
        item: String,
        /// The `BatteryLifecycleEvent` `vc+jwt`, signed by the requester.
        event: String,
    },
}

impl Operation {
    /// Which operation this is.
    pub fn op(&self) -> Op {
        match self {
            Operation::Status { .. } => Op::Status,
            Operation::Allocate { .. } => Op::Allocate,
            Operation::Document { .. } => Op::Document,
            Operation::Read { .. } => Op::Read,
            Operation::Lifecycle { .. } => Op::Lifecycle,
        }
    }
}

/// The envelope's members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The requester (an entity id).
    pub iss: String,
    /// When it was signed (Unix seconds).
    pub iat: u64,
    /// Unique id (replay protection is the registry's: it remembers what it has seen).
    pub jti: String,
    /// The registry's public base URL the request was made for.
    pub aud: String,
    /// What is asked.
    pub operation: Operation,
}

/// A request whose form is checked but whose signature and trust are not.
#[derive(Clone, Debug)]
pub struct ParsedRequest {
    jws: Jws,
    request: Request,
}

/// What a verifier expects of a request.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    /// The verifier's own public base URL, compared exactly (no trailing slash).
    pub aud: &'a str,
    /// The operation of the route the request came to.
    pub op: Op,
    /// Roles of which the requester must hold one.
    pub roles: &'a [&'static str],
    /// The requester's one home ecosystem when the verifier has bound it (the registry binds
    /// every onboarded issuer, SPEC.md section 4): a match found in any other ecosystem is
    /// refused as `key_unknown`.
    pub home: Option<&'a str>,
}

/// A request that passed every check of [`ParsedRequest::verify`], which alone makes one
/// (`#[non_exhaustive]`: no struct literal outside the core).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedRequest {
    /// The envelope and the operation.
    pub request: Request,
    /// The requester, its key and its ecosystem.
    pub issuer: IssuerMatch,
}

impl ParsedRequest {
    /// Parses a compact `registry-request+jwt`: JWS profile and `typ`, strict JSON, the
    /// envelope members, the operation's members and no others, bounded sizes.
    pub fn parse(compact: &str) -> Result<ParsedRequest, Error> {
        let jws = Jws::parse(compact, Typ::RegistryRequest, MAX_REQUEST)?;
        let request = parse_payload(jws.unverified_payload())?;
        Ok(ParsedRequest { jws, request })
    }

    /// The members, not yet authenticated: use them only to find the key and to log.
    pub fn unverified(&self) -> &Request {
        &self.request
    }

    /// The header's `kid`.
    pub fn kid(&self) -> &str {
        &self.jws.header().kid
    }

    /// Checks, in order: `aud` is exactly the verifier's base URL (`audience_mismatch`), `op`
    /// is the route's (`op_mismatch`), `iat` within [`REQUEST_IAT_WINDOW`] of `now`
    /// (`expired`, `not_yet_valid`), the requester's key by `iss` and `kid` with role and key
    /// window at `iat` ([`TrustStore::resolve`]), in its home ecosystem when one is given, and
    /// the signature (strict Ed25519).
    pub fn verify(
        self,
        trust: &TrustStore,
        expect: &Expect<'_>,
        now: u64,
    ) -> Result<VerifiedRequest, Error> {
        let r = &self.request;
        if r.aud != expect.aud {
            return Err(Error::AudienceMismatch {
                expected: expect.aud.to_owned(),
                found: r.aud.clone(),
            });
        }
        if r.operation.op() != expect.op {
            return Err(Error::OpMismatch {
                expected: expect.op.as_str(),
                found: r.operation.op().as_str(),
            });
        }
        // Saturating: `iat` comes from the request and may be anything up to u64::MAX.
        if r.iat.saturating_add(REQUEST_IAT_WINDOW) < now {
            return Err(Error::Expired {
                exp: r.iat.saturating_add(REQUEST_IAT_WINDOW),
                now,
            });
        }
        if r.iat > now.saturating_add(REQUEST_IAT_WINDOW) {
            return Err(Error::NotYetValid { iat: r.iat, now });
        }
        let issuer = trust
            .resolve(&r.iss, self.kid(), r.iat, expect.roles, now)
            .result?;
        if let Some(home) = expect.home {
            // SPEC.md section 4: the registry authenticates an issuer in its one home
            // ecosystem alone; another ecosystem listing the same id with its own key cannot
            // speak for it.
            if issuer.eco != home {
                return Err(Error::KeyUnknown {
                    kid: self.kid().to_owned(),
                });
            }
        }
        self.jws.verify(&issuer.key.x)?;
        Ok(VerifiedRequest {
            request: self.request,
            issuer,
        })
    }
}

fn bounded<'a>(
    o: &Obj<'a>,
    name: &str,
    max: usize,
    reason: &'static str,
) -> Result<&'a str, Error> {
    let s = o.str(name)?;
    if s.is_empty() || s.len() > max {
        return Err(o.err(name, reason));
    }
    Ok(s)
}

fn parse_payload(p: &Map<String, Value>) -> Result<Request, Error> {
    let o = Obj::new(p, "");
    let op_name = o.str("op")?;
    let op = Op::parse(op_name)
        .ok_or_else(|| o.err("op", "is not status, allocate, document, read or lifecycle"))?;
    const ENVELOPE: [&str; 5] = ["iss", "iat", "jti", "aud", "op"];
    if let Some(extra) = p
        .keys()
        .find(|k| !ENVELOPE.contains(&k.as_str()) && !op.members().contains(&k.as_str()))
    {
        return Err(o.err(extra, "is not a member of this operation"));
    }
    let iss = bounded(&o, "iss", MAX_ID, "must be an entity id of 1 to 512 bytes")?;
    if !iss.starts_with("did:") {
        return Err(o.err("iss", "must be a DID"));
    }
    let jti = bounded(&o, "jti", MAX_JTI, "must be 1 to 128 bytes")?;
    let aud = bounded(&o, "aud", MAX_ID, "must be a URL of 1 to 512 bytes")?;
    let iat = o.u64("iat")?;
    let operation = match op {
        Op::Status => Operation::Status {
            list: bounded(
                &o,
                "list",
                MAX_LIST_ID,
                "must be a list id of 1 to 64 bytes",
            )?
            .to_owned(),
            index: o.u64("index")?,
            purpose: Purpose::parse(o.str("purpose")?)
                .ok_or_else(|| o.err("purpose", "must be revocation, suspension or refresh"))?,
            value: match p.get("value") {
                Some(Value::Bool(b)) => *b,
                Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
                Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
                _ => return Err(o.err("value", "must be true, false, 1 or 0")),
            },
        },
        Op::Allocate => Operation::Allocate {
            list: bounded(
                &o,
                "list",
                MAX_LIST_ID,
                "must be a list id of 1 to 64 bytes",
            )?
            .to_owned(),
            count: o.u64("count")?,
        },
        Op::Document => Operation::Document {
            digest: bounded(&o, "digest", MAX_DIGEST, "must be 1 to 128 bytes")?.to_owned(),
        },
        Op::Read => Operation::Read {
            item: bounded(&o, "item", MAX_ID, "must be a path of 1 to 512 bytes")?.to_owned(),
            tier: bounded(&o, "tier", MAX_TIER, "must be 1 to 32 bytes")?.to_owned(),
        },
        Op::Lifecycle => Operation::Lifecycle {
            item: bounded(&o, "item", MAX_ID, "must be a path of 1 to 512 bytes")?.to_owned(),
            event: bounded(
                &o,
                "event",
                crate::lifecycle::EVENT.max,
                "must be a compact JWS of 1 to 16 KiB",
            )?
            .to_owned(),
        },
    };
    Ok(Request {
        iss: iss.to_owned(),
        iat,
        jti: jti.to_owned(),
        aud: aud.to_owned(),
        operation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sign_json, KeyPair};
    use serde_json::json;

    const AUD: &str = "https://registry.example";

    fn key() -> KeyPair {
        KeyPair::from_secret("k1", &[3; 32])
    }

    fn status(extra: Value) -> Value {
        let mut v = json!({"iss": "did:web:acme.example", "iat": 1000, "jti": "j1", "aud": AUD,
                           "op": "status", "list": "3", "index": 5, "purpose": "revocation",
                           "value": true});
        if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
            m.extend(e);
        }
        v
    }

    fn code(payload: &Value) -> &'static str {
        match ParsedRequest::parse(&sign_json(Typ::RegistryRequest, payload, &key())) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn parses_every_operation() {
        assert_eq!(code(&status(json!({}))), "ok");
        let r = ParsedRequest::parse(&sign_json(Typ::RegistryRequest, &status(json!({})), &key()))
            .unwrap();
        assert_eq!(
            r.unverified().operation,
            Operation::Status {
                list: "3".into(),
                index: 5,
                purpose: Purpose::Revocation,
                value: true
            }
        );
        let base = json!({"iss": "did:web:a", "iat": 1, "jti": "j", "aud": AUD});
        for (op, members) in [
            ("allocate", json!({"list": "3", "count": 2})),
            ("document", json!({"digest": "sha-256=abc"})),
            (
                "read",
                json!({"item": "01/04012345000016/21/X", "tier": "authority"}),
            ),
        ] {
            let mut v = base.clone();
            v["op"] = op.into();
            v.as_object_mut()
                .unwrap()
                .extend(members.as_object().unwrap().clone());
            assert_eq!(code(&v), "ok", "{op}");
        }
    }

    #[test]
    fn refuses_missing_extra_oversized_and_mistyped_members() {
        for (name, payload) in [
            ("no aud", {
                let mut v = status(json!({}));
                v.as_object_mut().unwrap().remove("aud");
                v
            }),
            ("no op", {
                let mut v = status(json!({}));
                v.as_object_mut().unwrap().remove("op");
                v
            }),
            ("unknown op", status(json!({"op": "delete"}))),
            ("member of another op", status(json!({"count": 1}))),
            ("iat negative", status(json!({"iat": -1}))),
            ("iat float", status(json!({"iat": 1.5}))),
            ("empty jti", status(json!({"jti": ""}))),
            ("long jti", status(json!({"jti": "j".repeat(129)}))),
            ("long aud", status(json!({"aud": "a".repeat(513)}))),
            ("iss not a DID", status(json!({"iss": "acme"}))),
            ("value 2", status(json!({"value": 2}))),
            ("bad purpose", status(json!({"purpose": "hold"}))),
            // SPEC.md 1.2 3.4: only op lifecycle changes the lifecycle list; a status update
            // naming it (to write a battery's 3 bits as one) is not a status update at all.
            ("lifecycle purpose", status(json!({"purpose": "lifecycle"}))),
            (
                "lifecycle op without its event",
                json!({"iss": "did:web:a", "iat": 1, "jti": "j", "aud": AUD, "op": "lifecycle",
                       "item": "01/04012345000016/21/X"}),
            ),
            (
                "lifecycle op carrying a status update's members",
                status(json!({"op": "lifecycle", "item": "01/04012345000016/21/X",
                              "event": "e"})),
            ),
            (
                "lifecycle event over 16 KiB",
                json!({"iss": "did:web:a", "iat": 1, "jti": "j", "aud": AUD, "op": "lifecycle",
                       "item": "01/04012345000016/21/X", "event": "e".repeat(16 * 1024 + 1)}),
            ),
        ] {
            assert_eq!(code(&payload), "claim_invalid", "{name}");
        }
        // Another artifact's typ is refused before the payload is looked at.
        let vc = sign_json(Typ::Vc, &status(json!({})), &key());
        assert_eq!(
            ParsedRequest::parse(&vc).unwrap_err().code(),
            "typ_unexpected"
        );
    }

    #[test]
    fn iat_at_u64_max_is_refused_without_overflow() {
        // The old registry computed `iat + window` and panicked (debug) inside its mutex.
        let r = ParsedRequest::parse(&sign_json(
            Typ::RegistryRequest,
            &status(json!({"iat": u64::MAX})),
            &key(),
        ))
        .unwrap();
        let expect = Expect {
            aud: AUD,
            op: Op::Status,
            roles: &crate::CREDENTIAL_ROLES,
            home: None,
        };
        let e = r
            .verify(&TrustStore::new(), &expect, u64::MAX - 10)
            .unwrap_err();
        assert_eq!(
            e.code(),
            "issuer_unknown",
            "in the window at the end of time"
        );
        let r = ParsedRequest::parse(&sign_json(
            Typ::RegistryRequest,
            &status(json!({"iat": u64::MAX})),
            &key(),
        ))
        .unwrap();
        let e = r.verify(&TrustStore::new(), &expect, 1000).unwrap_err();
        assert_eq!(e.code(), "not_yet_valid");
    }

    #[test]
    fn a_request_for_another_registry_or_operation_is_refused() {
        let parse =
            |v: &Value| ParsedRequest::parse(&sign_json(Typ::RegistryRequest, v, &key())).unwrap();
        let expect = Expect {
            aud: AUD,
            op: Op::Status,
            roles: &crate::CREDENTIAL_ROLES,
            home: None,
        };
        let trust = TrustStore::new();
        for aud in ["https://other.example", "https://registry.example/", ""] {
            let mut v = status(json!({}));
            v["aud"] = aud.into();
            if aud.is_empty() {
                assert_eq!(code(&v), "claim_invalid");
                continue;
            }
            let e = parse(&v).verify(&trust, &expect, 1000).unwrap_err();
            assert_eq!(e.code(), "audience_mismatch", "{aud}");
        }
        let alloc = json!({"iss": "did:web:acme.example", "iat": 1000, "jti": "j1", "aud": AUD,
                           "op": "allocate", "list": "3", "count": 1});
        let e = parse(&alloc).verify(&trust, &expect, 1000).unwrap_err();
        assert_eq!(e.code(), "op_mismatch");
    }
}
