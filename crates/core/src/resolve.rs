//! Online resolution of a label without an embedded credential (SPEC.md section 2.2): where to
//! ask, which link of the resolver's linkset leads to the battery's passport, and the verdict
//! about the passport fetched.
//!
//! The network is the shell's job (the page's `fetch`, the CLI's HTTP client): each shell asks
//! [`plan`] where to ask, fetches within the limits of SPEC.md 2.2, hands the linkset to
//! [`passport_links`], fetches the link it names and hands the body to [`verify_resolved`].
//! Everything that decides (which context and link count, how the body is unwrapped, the
//! checks on the passport) is here, once, for every shell.

use serde_json::{Map, Value};

use crate::error::{Error, Stage};
use crate::gs1::{encode_value, DigitalLink};
use crate::label::{Label, LabelForm};
use crate::passport::{
    status_entries, subject, subject_link, untp_claims, untp_product_id, Committed, PassportChain,
    PassportCtx,
};
use crate::status::has_type;
use crate::time::parse_rfc3339;
use crate::vc::{self, UnverifiedVc};
use crate::verdict::{overall_of, IssuerInfo, Notice, Source, Stages, Verdict};
use crate::verify::{
    attestations_stage, check_status, clock_floor, passport_stages, Context, MAX_CLOCK_SKEW,
};

/// Largest linkset answer read, in bytes (SPEC.md section 2.2: 256 KiB a body).
pub const MAX_BODY: usize = 256 * 1024;
/// Largest chain answer read (`GET /v1/passports/...`), in bytes.
pub const MAX_CHAIN: usize = 4 * 1024 * 1024;
/// Most redirects followed.
pub const MAX_REDIRECTS: usize = 5;
/// Seconds one request may take.
pub const REQUEST_SECS: u64 = 10;
/// Seconds a whole resolution may take.
pub const TOTAL_SECS: u64 = 30;

/// Cellproof's relation for the current passport version.
pub const REL_PASSPORT: &str = "https://cellproof.dev/rel/passport";
/// Cellproof's relation for the version chain with its attestations.
pub const REL_CHAIN: &str = "https://cellproof.dev/rel/passport-chain";

/// GS1's `dpp` link type, as it is written.
const GS1_DPP: [&str; 3] = [
    "https://gs1.org/voc/dpp",
    "https://ref.gs1.org/voc/dpp",
    "gs1:dpp",
];
/// GS1's `sustainabilityInfo` (UNTP's reference implementation publishes passports there).
const GS1_SUSTAINABILITY: [&str; 3] = [
    "https://gs1.org/voc/sustainabilityInfo",
    "https://ref.gs1.org/voc/sustainabilityInfo",
    "gs1:sustainabilityInfo",
];
/// Media types a passport link may carry (none is also accepted).
const PASSPORT_TYPES: [&str; 4] = [
    "application/vc+jwt",
    "application/vc",
    "application/ld+json",
    "application/json",
];

/// One place to ask.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ask {
    /// The URL, without fragment.
    pub url: String,
    /// `true`: the answer is a linkset (`Accept: application/linkset+json`); `false`: the
    /// answer is the credential itself (a UNTP link's `uri`).
    pub linkset: bool,
}

/// Where to ask for a scanned label, in order (SPEC.md section 2.2): a label that names its
/// resolver (a Digital Link, compressed link or Cellproof label) is asked there only, its query
/// kept and `linkType=linkset` set; an element string goes to each configured resolver root;
/// a UNTP link's `uri` is fetched as it is. A bare credential names nothing to ask: empty.
pub fn plan(input: &str, resolvers: &[&str]) -> Result<Vec<Ask>, Error> {
    let label = Label::parse(input)?;
    Ok(match label.form {
        LabelForm::UntpLink => label
            .untp
            .map(|u| Ask {
                url: u.uri,
                linkset: false,
            })
            .into_iter()
            .collect(),
        LabelForm::ElementString => {
            let Some(id) = label.identifier() else {
                return Ok(Vec::new());
            };
            let query: Vec<String> = label
                .attributes
                .iter()
                .map(|(k, v)| format!("{}={}", encode_value(k), encode_value(v)))
                .collect();
            resolvers
                .iter()
                .filter_map(|r| {
                    let r = r.trim().trim_end_matches('/');
                    let lower = r.to_ascii_lowercase();
                    let usable = (lower.starts_with("https://") || lower.starts_with("http://"))
                        && !r.contains(['?', '#']);
                    usable.then(|| {
                        let mut url = format!("{r}/{id}");
                        if !query.is_empty() {
                            url.push('?');
                            url.push_str(&query.join("&"));
                        }
                        Ask {
                            url: with_linkset(&url),
                            linkset: true,
                        }
                    })
                })
                .collect()
        }
        LabelForm::Cellproof | LabelForm::DigitalLink | LabelForm::DigitalLinkCompressed => label
            .url
            .map(|u| Ask {
                url: with_linkset(&u),
                linkset: true,
            })
            .into_iter()
            .collect(),
        LabelForm::Jws => Vec::new(),
    })
}

/// Whether the next place is asked after a failed one (the next ask of the plan, or the
/// passport link after the chain link), for every shell alike (SPEC.md 2.2: no answer is
/// `resolver_unreachable` only "after backups are tried"): yes after no answer
/// (`resolver_unreachable`) or no passport there (`passport_not_linked`, 404); a broken limit
/// or an answer that is no linkset ends the resolution.
pub fn ask_next(code: &str) -> bool {
    matches!(code, "resolver_unreachable" | "passport_not_linked")
}

/// When every ask failed, which failure the verdict reports: the first that is an answer
/// (anything but `resolver_unreachable`: a resolver that links no passport says more than one
/// that was down), else the first. An empty list gives 0.
pub fn deciding_failure(codes: &[&str]) -> usize {
    codes
        .iter()
        .position(|c| *c != "resolver_unreachable")
        .unwrap_or(0)
}

/// The limits of SPEC.md 2.2 as a shell enforces them (the page reads them from the binding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Milliseconds one request may take.
    pub request_ms: u64,
    /// Milliseconds a whole resolution may take.
    pub total_ms: u64,
    /// Bytes of a linkset or passport body.
    pub body: usize,
    /// Bytes of a chain body.
    pub chain: usize,
    /// Bytes of a DID document.
    pub did: usize,
    /// Redirects followed.
    pub redirects: usize,
}

/// The limits of SPEC.md 2.2.
pub const LIMITS: Limits = Limits {
    request_ms: REQUEST_SECS * 1000,
    total_ms: TOTAL_SECS * 1000,
    body: MAX_BODY,
    chain: MAX_CHAIN,
    did: crate::did::MAX_DID_DOCUMENT,
    redirects: MAX_REDIRECTS,
};

/// The URL with `linkType=linkset` as its only `linkType` (other query parameters kept, in
/// order; the fragment, which is never sent, dropped).
fn with_linkset(url: &str) -> String {
    let url = url.split('#').next().unwrap_or_default();
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some("linkType"))
        .collect();
    params.push("linkType=linkset");
    format!("{base}?{}", params.join("&"))
}

/// The links a linkset gives for a label's battery.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Links {
    /// The version chain with its attestations (`https://cellproof.dev/rel/passport-chain`).
    pub chain: Option<String>,
    /// The current passport (Cellproof's relation, else GS1 `dpp`, UNTP `dpp`, GS1
    /// `sustainabilityInfo`).
    pub passport: Option<String>,
}

/// Reads a resolver's linkset answer (RFC 9264 JSON, at most [`MAX_BODY`] bytes) for the
/// scanned label: the context whose `anchor` names the label's GTIN and serial (item level
/// before lot, lot before model; a context naming another battery, lot or GTIN is never used),
/// its chain and passport links, relative `href`s resolved against `base` (the URL asked).
/// Not `{"linkset": [...]}`: `linkset_invalid`; no passport or chain link:
/// `passport_not_linked`.
pub fn passport_links(linkset_json: &str, input: &str, base: &str) -> Result<Links, Error> {
    let label = Label::parse(input)?;
    let identifier = label
        .identifier()
        .or_else(|| label.untp.as_ref().map(|u| u.uri.clone()))
        .unwrap_or_default();
    if linkset_json.len() > MAX_BODY {
        return Err(Error::ResolutionLimit {
            detail: format!("the linkset is larger than {MAX_BODY} bytes"),
        });
    }
    let invalid = |reason: &str| Error::LinksetInvalid {
        reason: reason.to_owned(),
    };
    let doc = crate::json::parse_object(linkset_json.as_bytes())
        .map_err(|e| invalid(&format!("not a JSON object: {e}")))?;
    let contexts = doc
        .get("linkset")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("it has no \"linkset\" array"))?;
    let mut best: Option<(u8, &Map<String, Value>)> = None;
    for c in contexts {
        let c = c
            .as_object()
            .ok_or_else(|| invalid("a link context is not an object"))?;
        let anchor = c
            .get("anchor")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("a link context has no anchor"))?;
        let Some(level) = level_of(&absolute(anchor, base).unwrap_or_default(), &label) else {
            continue;
        };
        if best.is_none_or(|(b, _)| level > b) {
            best = Some((level, c));
        }
    }
    let not_linked = || Error::PassportNotLinked {
        identifier: identifier.clone(),
    };
    let (_, context) = best.ok_or_else(not_linked)?;
    let first = |rels: &[&str]| -> Result<Option<String>, Error> {
        for rel in rels {
            if let Some(href) = link_of(context, |k| k == *rel, base)? {
                return Ok(Some(href));
            }
        }
        Ok(None)
    };
    let chain = first(&[REL_CHAIN])?;
    let mut passport = first(&[REL_PASSPORT])?;
    if passport.is_none() {
        passport = first(&GS1_DPP)?;
    }
    if passport.is_none() {
        passport = link_of(context, is_untp_dpp, base)?;
    }
    if passport.is_none() {
        passport = first(&GS1_SUSTAINABILITY)?;
    }
    if chain.is_none() && passport.is_none() {
        return Err(not_linked());
    }
    Ok(Links { chain, passport })
}

/// A link type ending in `/dpp` in UNTP's vocabulary namespace.
fn is_untp_dpp(rel: &str) -> bool {
    rel.ends_with("/dpp") && rel.contains("uncefact.org/") && rel.contains("/untp/")
}

/// How well an anchor names the label's battery: 3 item, 2 lot, 1 model; `None` when it
/// names anything else (another battery, lot or GTIN) or is no Digital Link.
fn level_of(anchor: &str, label: &Label) -> Option<u8> {
    let a = Label::parse(anchor).ok()?;
    if a.gtin.is_none() || a.gtin != label.gtin {
        return None;
    }
    match (&a.serial, &a.lot) {
        (Some(s), _) => (label.serial.as_ref() == Some(s)).then_some(3),
        (None, Some(l)) => (label.lot.as_ref() == Some(l)).then_some(2),
        (None, None) => Some(1),
    }
}

/// The first usable link of the first relation `rel` accepts, in the context's order.
fn link_of(
    context: &Map<String, Value>,
    rel: impl Fn(&str) -> bool,
    base: &str,
) -> Result<Option<String>, Error> {
    for (key, targets) in context {
        if key == "anchor" || !rel(key) {
            continue;
        }
        let targets = targets.as_array().ok_or_else(|| Error::LinksetInvalid {
            reason: format!("the targets of {key} are not an array"),
        })?;
        for t in targets {
            let Some(t) = t.as_object() else {
                return Err(Error::LinksetInvalid {
                    reason: format!("a target of {key} is not an object"),
                });
            };
            let Some(href) = t.get("href").and_then(Value::as_str) else {
                return Err(Error::LinksetInvalid {
                    reason: format!("a target of {key} has no href"),
                });
            };
            let type_ok = match t.get("type").and_then(Value::as_str) {
                None => true,
                Some(ty) => {
                    let ty = ty.split(';').next().unwrap_or_default().trim();
                    PASSPORT_TYPES.iter().any(|p| p.eq_ignore_ascii_case(ty))
                }
            };
            if let (true, Some(url)) = (type_ok, absolute(href, base)) {
                return Ok(Some(url));
            }
        }
    }
    Ok(None)
}

/// `href` as an absolute http(s) URL without fragment, resolved against `base` (an absolute
/// URL, a path from the root, or a path relative to the base's directory); other schemes:
/// `None`.
fn absolute(href: &str, base: &str) -> Option<String> {
    let href = href.split('#').next().unwrap_or_default().trim();
    let lower = href.get(..8).unwrap_or(href).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Some(href.to_owned());
    }
    // Any other scheme (`javascript:`, `data:`, `ftp:`) is not followed.
    let scheme_end = href.find(':');
    let has_scheme = scheme_end.is_some_and(|i| {
        let s = href.get(..i).unwrap_or_default();
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if has_scheme {
        return None;
    }
    let (scheme, rest) = base.split_once("://")?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", rest.get(..host_end)?);
    if href.starts_with("//") {
        return Some(format!("{scheme}:{href}"));
    }
    if href.starts_with('/') {
        return Some(format!("{origin}{href}"));
    }
    let path = rest.get(host_end..).unwrap_or_default();
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    Some(format!("{origin}{dir}/{href}"))
}

/// What a shell fetched for a label (SPEC.md section 2.2).
#[derive(Clone, Copy, Debug)]
pub enum Fetched<'a> {
    /// The version chain `{"versions": [jws, ...], "attestations": {digest: jws}}`.
    Chain {
        /// Where it came from.
        url: &'a str,
        /// The body.
        body: &'a str,
    },
    /// The current passport: a compact JWS or an `EnvelopedVerifiableCredential`.
    Passport {
        /// Where it came from.
        url: &'a str,
        /// The body.
        body: &'a str,
    },
    /// Resolution failed: `code` is `resolver_unreachable`, `resolution_limit`,
    /// `passport_not_linked` or `linkset_invalid` (anything else counts as unreachable).
    Failed {
        /// The last URL asked, if any.
        url: Option<&'a str>,
        /// The stable code.
        code: &'a str,
        /// What went wrong, for the message.
        detail: &'a str,
    },
}

/// The compact JWS in a fetched passport body: the JWS itself, or a VC 2.0
/// `EnvelopedVerifiableCredential` whose `id` is `data:application/vc+jwt,{JWS}`.
pub fn unwrap_passport(body: &str) -> Result<String, Error> {
    let body = body.trim();
    if body.len() > crate::passport::MAX_PASSPORT {
        return Err(Error::ResolutionLimit {
            detail: "the passport is larger than 256 KiB".into(),
        });
    }
    if !body.starts_with('{') {
        return Ok(body.to_owned());
    }
    let invalid = |detail: &str| Error::PassportInvalid {
        detail: detail.to_owned(),
    };
    let o = crate::json::parse_object(body.as_bytes())?;
    if !has_type(o.get("type"), "EnvelopedVerifiableCredential") {
        return Err(invalid(
            "the resolved body is neither a compact JWS nor an EnvelopedVerifiableCredential",
        ));
    }
    o.get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.strip_prefix("data:application/vc+jwt,"))
        .map(str::to_owned)
        .ok_or_else(|| invalid("the enveloped credential's id is not data:application/vc+jwt,..."))
}

/// The verdict about a label with what was fetched for it online (SPEC.md sections 2.2 and 7).
///
/// For a label without an embedded credential the resolved passport is the credential the
/// verdict is about: decode, `resolve`, signature, trust (the GTIN's owner), binding (its
/// `credentialSubject.id` names the label's GTIN and serial), time, status (its
/// `credentialStatus`), the chain (without `bp.dig`, which only a label carries) and its
/// attestations; `source` says where it came from. For a label with a credential (a Cellproof
/// label) the fetched chain feeds the passport stage as in 1.1. A label that names no battery
/// (`item_not_serialised`) or cannot be read gets its offline verdict.
pub fn verify_resolved(input: &str, fetched: &Fetched<'_>, ctx: &Context<'_>) -> Verdict {
    let label = match Label::parse(input) {
        Ok(l) => l,
        Err(_) => return crate::verify::verify(input, ctx),
    };
    if label.credential.is_some() {
        let chain = match fetched {
            Fetched::Chain { body, .. } => PassportChain::from_json(body).ok(),
            Fetched::Passport { body, .. } => unwrap_passport(body).ok().map(|v| PassportChain {
                events: Vec::new(),
                predecessors: Default::default(),
                versions: vec![v],
                attestations: Default::default(),
            }),
            Fetched::Failed { .. } => None,
        };
        let ctx = Context {
            chain: chain.as_ref().or(ctx.chain),
            ..*ctx
        };
        return crate::verify::verify(input, &ctx);
    }
    // A UNTP link names no identifier (SPEC.md 2.1): nothing scanned to bind to. Any other
    // label must name one battery.
    let item = label.item();
    if item.is_none() && label.form != LabelForm::UntpLink {
        return crate::verify::verify(input, ctx);
    }
    Resolved::new(label, item, ctx).run(fetched)
}

/// A verification of a resolved passport under way.
struct Resolved<'c, 'a> {
    ctx: &'c Context<'a>,
    label: Label,
    /// The battery the label names; `None` for a UNTP link.
    item: Option<DigitalLink>,
    stages: Stages,
    now: u64,
}

impl<'c, 'a> Resolved<'c, 'a> {
    fn new(label: Label, item: Option<DigitalLink>, ctx: &'c Context<'a>) -> Self {
        Resolved {
            ctx,
            label,
            item,
            stages: Stages::default(),
            now: ctx.effective_now(),
        }
    }

    fn run(mut self, fetched: &Fetched<'_>) -> Verdict {
        let source = |url: &str| {
            Some(Source {
                kind: "resolved",
                url: Some(url.split('#').next().unwrap_or_default().to_owned()),
            })
        };
        let (url, chain) = match *fetched {
            Fetched::Failed { url, code, detail } => {
                self.stages.pass(Stage::Decode);
                let e = failure(code, detail, url, &self.label);
                self.stages.fail(Stage::Resolve, e);
                return self.verdict(Parts::default());
            }
            Fetched::Chain { url, body } => (url, PassportChain::from_json(body)),
            Fetched::Passport { url, body } => {
                // A UNTP link's key and hash apply to what its uri served (SPEC.md 2.2).
                let opened = match &self.label.untp {
                    Some(u) => untp_open(body, u),
                    None => Ok(body.to_owned()),
                };
                match opened {
                    Ok(text) => (
                        url,
                        unwrap_passport(&text).map(|v| PassportChain {
                            events: Vec::new(),
                            predecessors: Default::default(),
                            versions: vec![v],
                            attestations: Default::default(),
                        }),
                    ),
                    Err(e) => {
                        self.stages.pass(Stage::Decode);
                        self.stages.fail(Stage::Resolve, e);
                        let parts = Parts {
                            source: source(url),
                            ..Parts::default()
                        };
                        return self.verdict(parts);
                    }
                }
            }
        };
        let mut parts = Parts {
            source: source(url),
            ..Parts::default()
        };
        let chain = match chain {
            Ok(c) => c,
            Err(e) => {
                self.stages.pass(Stage::Resolve);
                self.stages.fail_reading(e);
                return self.verdict(parts);
            }
        };
        self.stages.pass(Stage::Resolve);
        let current = chain
            .versions
            .last()
            .map(String::as_str)
            .unwrap_or_default();
        // A Cellproof passport, else a UNTP Digital Product Passport (SPEC.md section 3.5).
        // ES256 is read here, for a passport obtained by resolution only (SPEC.md section 1).
        let parsed = UnverifiedVc::parse_resolved(current, &vc::PASSPORT).map(|v| (v, false));
        let parsed = match parsed {
            Err(Error::PassportInvalid { .. }) => {
                UnverifiedVc::parse_resolved(current, &vc::UNTP_DPP).map(|v| (v, true))
            }
            other => other,
        };
        let (vc, untp) = match parsed {
            Ok(p) => p,
            Err(e) => {
                self.stages.fail_reading(e);
                return self.verdict(parts);
            }
        };
        self.stages.pass(Stage::Decode);
        let ctx = self.ctx;
        let now = self.now;
        let res = ctx
            .trust
            .resolve(&vc.issuer, vc.kid(), vc.valid_from, vc::PASSPORT.roles, now);
        parts.data.extend(res.ages.iter().cloned());
        let payload = vc.unverified_payload().clone();
        let subject_id = subject(&payload)
            .and_then(|s| match untp {
                true => untp_product_id(s),
                false => s.get("id").and_then(Value::as_str),
            })
            .unwrap_or_default()
            .to_owned();
        // The battery the verdict is about: the one the label names, else (a UNTP link, which
        // names none) the one the passport names.
        let bound = self.item.clone().or_else(|| subject_link(&subject_id));
        let issuer_did = vc.issuer.clone();
        let valid_from = vc.valid_from;
        let kid = vc.kid().to_owned();
        // Signature, then trust, as for a label's credential: the signature is checked under
        // the key found even when the issuer's trust fails, so a forgery says so.
        let (signature_ok, matched) = match res.result {
            Ok(m) => {
                // SPEC.md section 4: an issuer signs only for its own GTINs.
                let gtin_owned = bound.as_ref().is_none_or(|b| m.entity.owns_gtin(&b.gtin));
                let signed = vc.verify_signed_by(m.clone()).map(|_verified| ());
                let signature_ok = signed.is_ok();
                self.stages.record(Stage::Signature, signed);
                if gtin_owned {
                    self.stages.pass(Stage::Trust);
                    parts.issuer = Some(IssuerInfo::new(
                        &m.entity,
                        &m.eco,
                        m.recognized_by.clone(),
                        m.path.clone(),
                        &kid,
                    ));
                    (signature_ok, Some(m))
                } else {
                    self.stages.fail(
                        Stage::Trust,
                        Error::GtinNotIssuer {
                            gtin: bound.as_ref().map(|b| b.gtin.clone()).unwrap_or_default(),
                            iss: m.entity.id.clone(),
                        },
                    );
                    (signature_ok, None)
                }
            }
            Err(e) => {
                // A `did:web` issuer no accepted list names (SPEC.md section 2.2): its DID
                // document, when the shell fetched it, gives the key that checks the
                // signature; trust still fails (`issuer_unknown`, naming the DID), so such a
                // passport is never valid and never called a forgery for being unlisted.
                let did_key = match (&e, ctx.did_document) {
                    (Error::IssuerUnknown { .. }, doc) if issuer_did.starts_with("did:web:") => {
                        parts.issuer_did = Some(issuer_did.clone());
                        doc.map(|d| crate::did::did_key(d, &issuer_did, &kid))
                    }
                    _ => None,
                };
                let trust_error = match (res.key.map(crate::jws::AnyKey::Ed25519), did_key) {
                    (Some(key), _) | (None, Some(Ok(key))) => {
                        self.stages
                            .record(Stage::Signature, vc.signature_under(&key));
                        e
                    }
                    (None, Some(Err(did_error))) => {
                        self.stages
                            .not_checked(Stage::Signature, Some(format!("no key: {did_error}")));
                        did_error
                    }
                    (None, None) => {
                        self.stages.not_checked(
                            Stage::Signature,
                            Some(format!(
                                "no key: {issuer_did} is not in an accepted trust list"
                            )),
                        );
                        e
                    }
                };
                self.stages.fail(Stage::Trust, trust_error);
                (false, None)
            }
        };
        // Binding (SPEC.md section 2.2): the passport is about the battery the label names.
        match (&self.item, subject_link(&subject_id)) {
            (None, _) => self.stages.not_checked(
                Stage::Binding,
                Some("a UNTP link names no identifier: nothing scanned to compare with".into()),
            ),
            (Some(item), Some(link)) if link == *item => self.stages.pass(Stage::Binding),
            (Some(item), _) => self.stages.fail(
                Stage::Binding,
                Error::SubMismatch {
                    sub: subject_id.clone(),
                    path: item.path(),
                },
            ),
        }
        // Time: `validFrom` not in the future, `validUntil` not past.
        let valid_until = payload
            .get("validUntil")
            .and_then(Value::as_str)
            .map(parse_rfc3339);
        let time = match valid_until {
            Some(Err(_)) => Err(Error::PassportInvalid {
                detail: "validUntil is not an RFC 3339 date-time".into(),
            }),
            Some(Ok(exp)) if now >= exp => Err(Error::Expired { exp, now }),
            _ if valid_from > now.saturating_add(MAX_CLOCK_SKEW) => Err(Error::NotYetValid {
                iat: valid_from,
                now,
            }),
            _ => Ok(()),
        };
        self.stages.record(Stage::Time, time);
        // Status: the passport's own `credentialStatus` entries.
        match (status_entries(&payload), &matched) {
            (Err(e), _) => self.stages.fail(Stage::Status, e),
            (Ok(entries), _) if entries.is_empty() => self.stages.not_checked(
                Stage::Status,
                Some("the passport has no status entry".into()),
            ),
            (Ok(_), None) => self.stages.skip(Stage::Status),
            (Ok(entries), Some(m)) => {
                parts.lifecycle = check_status(
                    &m.eco,
                    entries
                        .into_iter()
                        .map(|e| (e.purpose, e.list, e.index))
                        .collect(),
                    ctx,
                    now,
                    &mut self.stages,
                    &mut parts.status,
                    &mut parts.notices,
                    &mut parts.data,
                );
            }
        }
        // The chain and the attestations its current version lists.
        // Without a Digital Link to bind to (a UNTP passport of a non-GS1 product), a Cellproof
        // chain cannot match it and says so (passport_subject_mismatch).
        let item = bound.clone().unwrap_or(DigitalLink {
            gtin: String::new(),
            serial: String::new(),
        });
        let pctx = match (&matched, signature_ok) {
            (Some(m), true) => Some(PassportCtx {
                iss: &issuer_did,
                sub: &item,
                committed: Committed::Resolved,
                issuer: m,
                trust: ctx.trust,
                status: ctx.status,
                now,
            }),
            _ => None,
        };
        parts.scanned = bound;
        (parts.passport, parts.attestations) = match untp {
            false => passport_stages(Some(&chain), pctx, &mut self.stages, &mut parts.notices),
            true => self.untp_stages(&chain, current, &payload, pctx, &mut parts.notices),
        };
        self.verdict(parts)
    }

    /// The passport and attestation stages of a UNTP passport (SPEC.md section 3.5): no
    /// version chain (UNTP has no predecessor digest), so the passport stage stands on the
    /// signature, trust, binding, time and status checked above; its conformity claims are the
    /// listings.
    fn untp_stages(
        &mut self,
        chain: &PassportChain,
        current: &str,
        payload: &Map<String, Value>,
        pctx: Option<PassportCtx<'_>>,
        notices: &mut Vec<Notice>,
    ) -> (
        Option<crate::passport::PassportInfo>,
        Vec<crate::passport::AttestationResult>,
    ) {
        let (Some(pctx), Some(cs)) = (pctx, subject(payload)) else {
            self.stages.skip(Stage::Passport);
            self.stages.skip(Stage::Attestations);
            return (None, Vec::new());
        };
        if chain.versions.len() > 1 {
            self.stages.fail(
                Stage::Passport,
                Error::PassportChainBroken {
                    version: 2,
                    reason: "a UNTP passport has no predecessor digest to chain versions by",
                },
            );
            self.stages.skip(Stage::Attestations);
            return (None, Vec::new());
        }
        let results = match untp_claims(chain, cs, &pctx) {
            Ok(r) => r,
            Err(e) => {
                self.stages.fail(Stage::Passport, e);
                self.stages.skip(Stage::Attestations);
                return (None, Vec::new());
            }
        };
        self.stages.pass(Stage::Passport);
        attestations_stage(&results, &mut self.stages, notices);
        let info = crate::passport::PassportInfo {
            version: 1,
            passport_identifier: payload.get("id").and_then(Value::as_str).map(str::to_owned),
            digests: vec![crate::passport::sha256_b64(current.trim().as_bytes())],
            subject: cs.clone(),
        };
        (Some(info), results)
    }

    fn verdict(self, parts: Parts) -> Verdict {
        let mut notices: Vec<Notice> = clock_floor(self.now, self.ctx.now.secs())
            .into_iter()
            .collect();
        notices.extend(parts.notices);
        let (stages, deciding) = self.stages.finish();
        Verdict {
            overall: overall_of(deciding.as_ref()),
            code: deciding.as_ref().map(Error::code),
            message: deciding.as_ref().map(ToString::to_string),
            stages,
            credential: None,
            scanned: parts.scanned.or(self.item),
            issuer: parts.issuer,
            status: parts.status,
            notices,
            data: parts.data,
            now: self.now,
            passport: parts.passport,
            attestations: parts.attestations,
            label: Some(self.label),
            source: parts.source,
            issuer_did: parts.issuer_did,
            lifecycle: parts.lifecycle,
            lineage: Vec::new(),
        }
    }
}

/// What a resolved verdict collects besides its stages.
#[derive(Default)]
struct Parts {
    lifecycle: Option<crate::verdict::LifecycleInfo>,
    scanned: Option<DigitalLink>,
    source: Option<Source>,
    issuer_did: Option<String>,
    issuer: Option<IssuerInfo>,
    status: Vec<crate::verdict::StatusCheck>,
    notices: Vec<Notice>,
    data: Vec<crate::trust::ListAge>,
    passport: Option<crate::passport::PassportInfo>,
    attestations: Vec<crate::passport::AttestationResult>,
}

/// The error a shell's failure code stands for.
fn failure(code: &str, detail: &str, url: Option<&str>, label: &Label) -> Error {
    let detail = detail.chars().take(300).collect::<String>();
    match code {
        "resolution_limit" => Error::ResolutionLimit { detail },
        "linkset_invalid" => Error::LinksetInvalid { reason: detail },
        "passport_not_linked" => Error::PassportNotLinked {
            identifier: label.identifier().unwrap_or_default(),
        },
        _ => Error::ResolverUnreachable {
            url: url.unwrap_or("(no resolver)").to_owned(),
            detail,
        },
    }
}

/// What a UNTP link's `uri` served, opened (SPEC.md section 2.2): decrypted with the link's
/// `key` when it has one (`{"cipherText", "iv", "tag", "type": "aes-256-gcm"}`, base64, 12-byte
/// IV, 16-byte tag, no additional data, as UNTP's reference implementation writes it), then
/// checked against its `hash`: hex SHA-256 of the credential text, or of ECMAScript
/// `JSON.stringify` of the parsed credential (the reference `computeHash`; here serde_json's
/// compact form in member order, which equals it for credentials without non-integral or
/// exponent numbers).
pub fn untp_open(body: &str, untp: &crate::label::UntpPayload) -> Result<String, Error> {
    let text = match &untp.key {
        None => body.to_owned(),
        Some(key) => untp_decrypt(body, key)?,
    };
    if let Some(hash) = &untp.hash {
        let hex = crate::passport::sha256_hex;
        let want = hash.to_ascii_lowercase();
        let raw = hex(text.as_bytes()) == want || hex(text.trim().as_bytes()) == want;
        let stringified = || {
            serde_json::from_str::<Value>(text.trim())
                .ok()
                .and_then(|v| serde_json::to_string(&v).ok())
                .is_some_and(|s| hex(s.as_bytes()) == want)
        };
        if !raw && !stringified() {
            return Err(Error::UntpHashMismatch);
        }
    }
    Ok(text)
}

/// The envelope [`untp_open`] decrypts: `text` under AES-256-GCM with `key` and `iv`, as UNTP's
/// reference implementation writes it (for issuers, the demo and tests; the IV must never be
/// reused under one key).
pub fn untp_encrypt(text: &str, key: &[u8; 32], iv: &[u8; 12]) -> String {
    use aes_gcm::aead::{Aead, KeyInit};
    use base64::Engine as _;
    let b64 = |x: &[u8]| base64::engine::general_purpose::STANDARD.encode(x);
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    // Encryption fails only past AES-GCM's message length bound (64 GiB); the text is a credential.
    let mut out = cipher
        .encrypt(aes_gcm::Nonce::from_slice(iv), text.as_bytes())
        .unwrap_or_default();
    let tag = out.split_off(out.len().saturating_sub(16));
    serde_json::json!({"cipherText": b64(&out), "iv": b64(iv), "tag": b64(&tag), "type": "aes-256-gcm"})
        .to_string()
}

fn untp_decrypt(body: &str, key_hex: &str) -> Result<String, Error> {
    use aes_gcm::aead::{Aead, KeyInit};
    use base64::Engine as _;
    let fail = |reason: &str| Error::UntpDecryptFailed {
        reason: reason.to_owned(),
    };
    let o = crate::json::parse_object(body.trim().as_bytes())
        .map_err(|_| fail("the body is not the encrypted envelope (a JSON object)"))?;
    let s = |k: &str| o.get(k).and_then(Value::as_str);
    if !s("type").is_some_and(|t| t.eq_ignore_ascii_case("aes-256-gcm")) {
        return Err(fail("the envelope's type is not aes-256-gcm"));
    }
    let b64 = |k: &str| -> Result<Vec<u8>, Error> {
        let v = s(k).ok_or_else(|| fail(&format!("the envelope has no {k}")))?;
        base64::engine::general_purpose::STANDARD
            .decode(v)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(v))
            .map_err(|_| fail(&format!("the envelope's {k} is not base64")))
    };
    let (mut data, iv, tag) = (b64("cipherText")?, b64("iv")?, b64("tag")?);
    if iv.len() != 12 || tag.len() != 16 {
        return Err(fail("the IV must be 12 bytes and the tag 16"));
    }
    let key =
        crate::passport::hex32(key_hex).ok_or_else(|| fail("the key is not 64 hex digits"))?;
    let cipher =
        aes_gcm::Aes256Gcm::new_from_slice(&key).map_err(|_| fail("the key is not 32 bytes"))?;
    data.extend_from_slice(&tag);
    let plain = cipher
        .decrypt(aes_gcm::Nonce::from_slice(&iv), data.as_slice())
        .map_err(|_| fail("the tag does not authenticate the ciphertext under this key"))?;
    String::from_utf8(plain).map_err(|_| fail("the decrypted credential is not UTF-8"))
}
