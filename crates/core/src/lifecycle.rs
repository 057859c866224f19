//! The battery's life after its first use (SPEC.md 1.2 section 3.4; Regulation (EU) 2023/1542
//! Art. 77(7) and 77(8)): the lifecycle statuses and their 3-bit values, the signed
//! `BatteryLifecycleEvent` a repurposer, remanufacturer, waste operator or recycler records, and
//! the transition table the registry applies them by. Pure rules: the registry (`POST
//! /v1/lifecycle`) and lineage checks call them; the network and the store are the shells'.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::gs1::DigitalLink;
use crate::time::parse_rfc3339;
use crate::vc::VcKind;
use crate::verify::MAX_CLOCK_SKEW;

/// A battery's lifecycle status (SPEC.md 3.4), with its value in the 3-bit lifecycle list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleStatus {
    /// `0x0`: as placed on the market.
    Original,
    /// `0x1`: prepared for another purpose (Art. 77(7)); a new passport exists.
    Repurposed,
    /// `0x2`: reused as it is, repair included.
    Reused,
    /// `0x3`: remanufactured; a new passport exists.
    Remanufactured,
    /// `0x4`: waste; responsibility passed to the producer, its PRO or a waste operator.
    Waste,
    /// `0x5`: recycled; the passport has ceased to exist (Art. 77(8)).
    Recycled,
}

impl LifecycleStatus {
    /// Every status, in value order.
    pub const ALL: [LifecycleStatus; 6] = [
        LifecycleStatus::Original,
        LifecycleStatus::Repurposed,
        LifecycleStatus::Reused,
        LifecycleStatus::Remanufactured,
        LifecycleStatus::Waste,
        LifecycleStatus::Recycled,
    ];

    /// The wire name (`original`, `repurposed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStatus::Original => "original",
            LifecycleStatus::Repurposed => "repurposed",
            LifecycleStatus::Reused => "reused",
            LifecycleStatus::Remanufactured => "remanufactured",
            LifecycleStatus::Waste => "waste",
            LifecycleStatus::Recycled => "recycled",
        }
    }

    /// Reads a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The 3-bit value of the lifecycle list (`0x0` to `0x5`).
    pub fn value(self) -> u8 {
        match self {
            LifecycleStatus::Original => 0,
            LifecycleStatus::Repurposed => 1,
            LifecycleStatus::Reused => 2,
            LifecycleStatus::Remanufactured => 3,
            LifecycleStatus::Waste => 4,
            LifecycleStatus::Recycled => 5,
        }
    }

    /// The status of a 3-bit value; `None` for `0x6` and `0x7` (defined as `undefined`: that
    /// battery's lifecycle is unknown, notice `status_list_invalid`) and anything wider.
    pub fn from_value(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.value() == v)
    }
}

/// The lifecycle list's `statusSize` (SPEC.md 3.4).
pub const LIFECYCLE_STATUS_SIZE: u8 = 3;

/// The `statusMessage` of a lifecycle list or entry: all eight values, as W3C requires for a
/// `statusSize` of 3 (`0x6` and `0x7` are `undefined`).
pub fn status_messages() -> Value {
    Value::Array(
        (0u8..8)
            .map(|v| {
                let message = LifecycleStatus::from_value(v).map_or("undefined", |l| l.as_str());
                serde_json::json!({"status": format!("0x{v:x}"), "message": message})
            })
            .collect(),
    )
}

/// Who took over a battery that became waste (Art. 77(7) second subparagraph).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ResponsibleParty {
    /// Its DID or other identifier.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `producer`, `pro` (a producer responsibility organisation) or `waste-operator`.
    pub role: String,
}

/// A passport that continues a battery's life (a repurposed or remanufactured battery's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Successor {
    /// The successor battery.
    pub battery: DigitalLink,
    /// Its Digital Link URL as written.
    pub id: String,
    /// Its `passportIdentifier`.
    pub passport_identifier: String,
}

/// A `BatteryLifecycleEvent`'s subject, read and checked for form (SPEC.md 3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleEvent {
    /// `urn:uuid:...`.
    pub id: String,
    /// The battery the event is about.
    pub battery: DigitalLink,
    /// The battery's passport identifier.
    pub passport_identifier: String,
    /// What the recorder says the status was.
    pub previous: LifecycleStatus,
    /// What it becomes.
    pub new: LifecycleStatus,
    /// When it happened, Unix seconds.
    pub event_date: u64,
    /// The successor passports it names (one, or several: one original's modules feeding
    /// several packs).
    pub successors: Vec<Successor>,
    /// Who is responsible for a battery that became waste.
    pub responsible: Option<ResponsibleParty>,
}

/// What a new event says, for [`event_payload`].
#[derive(Clone, Debug)]
pub struct NewEvent<'a> {
    /// `urn:uuid:...`.
    pub id: &'a str,
    /// The actor's DID.
    pub issuer: &'a str,
    /// The battery's Digital Link URL (without fragment).
    pub battery: &'a str,
    /// Its passport identifier.
    pub passport_identifier: &'a str,
    /// The status the actor holds as current.
    pub previous: LifecycleStatus,
    /// The new status.
    pub new: LifecycleStatus,
    /// When it happened (Unix seconds); also the event's `validFrom`.
    pub event_date: u64,
    /// Successor passports: `(Digital Link URL, passportIdentifier)`.
    pub successors: &'a [(String, String)],
    /// Who took over a battery that became waste.
    pub responsible: Option<&'a ResponsibleParty>,
}

/// The payload of a `BatteryLifecycleEvent` (SPEC.md 1.2 section 3.4), VC 2.0 with the
/// undefined-terms context last (SPEC.md section 3), to be signed as a `vc+jwt` by the actor.
pub fn event_payload(e: &NewEvent<'_>) -> Value {
    let date = crate::time::format_rfc3339(e.event_date);
    let mut cs = serde_json::json!({
        "id": e.battery,
        "passportIdentifier": e.passport_identifier,
        "previousStatus": e.previous.as_str(),
        "newStatus": e.new.as_str(),
        "eventDate": date,
    });
    if let Some(m) = cs.as_object_mut() {
        let mut successors: Vec<Value> = e
            .successors
            .iter()
            .map(|(id, pi)| serde_json::json!({"id": id, "passportIdentifier": pi}))
            .collect();
        // One successor as an object, several as an array (SPEC.md 3.4).
        match (successors.pop(), successors.is_empty()) {
            (None, _) => {}
            (Some(one), true) => {
                m.insert("successor".into(), one);
            }
            (Some(last), false) => {
                successors.push(last);
                m.insert("successor".into(), Value::Array(successors));
            }
        }
        if let Some(r) = e.responsible {
            m.insert(
                "responsibleParty".into(),
                serde_json::json!({"id": r.id, "name": r.name, "role": r.role}),
            );
        }
    }
    serde_json::json!({
        "@context": [crate::status::VC_CONTEXT, crate::status::UNDEFINED_TERMS_CONTEXT],
        "type": ["VerifiableCredential", "BatteryLifecycleEvent"],
        "id": e.id,
        "issuer": e.issuer,
        "validFrom": date,
        "credentialSubject": cs,
    })
}

/// The roles that may record some transition (SPEC.md 3.4 table), besides the passport's
/// issuer and its mandated agents, who may record any.
pub const EVENT_ROLES: [&str; 7] = [
    "manufacturer",
    "operator",
    "repairer",
    "repurposer",
    "remanufacturer",
    "waste-operator",
    "recycler",
];

/// A lifecycle event (SPEC.md 3.4).
pub const EVENT: VcKind = VcKind {
    vc_type: "BatteryLifecycleEvent",
    roles: &EVENT_ROLES,
    max: 16 * 1024,
    invalid: |reason| Error::EventInvalid { reason },
};

fn invalid(reason: impl Into<String>) -> Error {
    Error::EventInvalid {
        reason: reason.into(),
    }
}

fn battery_of(url: &str, what: &str) -> Result<DigitalLink, Error> {
    if url.contains(['?', '#']) {
        return Err(invalid(format!("{what} carries a query or fragment")));
    }
    crate::credential::parse_link_url(url)
        .map_err(|e| invalid(format!("{what} is not a battery's Digital Link URL: {e}")))
}

impl LifecycleEvent {
    /// Reads an event's payload (SPEC.md 3.4): `id` a `urn:uuid`, `type` with
    /// `BatteryLifecycleEvent`, and `credentialSubject` `{id, passportIdentifier,
    /// previousStatus, newStatus, eventDate, successor?, responsibleParty?}`. Form only: who
    /// may record it and whether it follows the held status is [`check_transition`].
    pub fn from_payload(payload: &Map<String, Value>) -> Result<LifecycleEvent, Error> {
        let id = payload
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| id.starts_with("urn:uuid:") && id.len() == 45)
            .ok_or_else(|| invalid("id is not a urn:uuid"))?;
        let cs = payload
            .get("credentialSubject")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("credentialSubject is missing"))?;
        let text = |k: &str| {
            cs.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(format!("credentialSubject.{k} is missing")))
        };
        let status = |k: &str| {
            text(k).and_then(|s| {
                LifecycleStatus::parse(s)
                    .ok_or_else(|| invalid(format!("{k} {s:?} is not a lifecycle status")))
            })
        };
        let battery = battery_of(text("id")?, "credentialSubject.id")?;
        let event_date = parse_rfc3339(text("eventDate")?)
            .map_err(|_| invalid("eventDate is not an RFC 3339 date-time"))?;
        let successors = match cs.get("successor") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.is_empty() => {
                return Err(invalid("successor is an empty list"))
            }
            Some(Value::Array(a)) => a.iter().map(successor).collect::<Result<_, _>>()?,
            Some(one) => vec![successor(one)?],
        };
        if successors.iter().any(|s| s.battery == battery) {
            return Err(invalid("a successor is the battery itself"));
        }
        if successors.len() > 64 {
            return Err(invalid("more than 64 successors"));
        }
        let responsible = match cs.get("responsibleParty") {
            None => None,
            Some(r) => {
                let o = r
                    .as_object()
                    .ok_or_else(|| invalid("responsibleParty is not an object"))?;
                let get = |k: &str| {
                    o.get(k)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(format!("responsibleParty.{k} is missing")))
                };
                let role = get("role")?;
                if !matches!(role.as_str(), "producer" | "pro" | "waste-operator") {
                    return Err(invalid(
                        "responsibleParty.role is not producer, pro or waste-operator",
                    ));
                }
                Some(ResponsibleParty {
                    id: get("id")?,
                    name: get("name")?,
                    role,
                })
            }
        };
        Ok(LifecycleEvent {
            id: id.to_owned(),
            battery,
            passport_identifier: text("passportIdentifier")?.to_owned(),
            previous: status("previousStatus")?,
            new: status("newStatus")?,
            event_date,
            successors,
            responsible,
        })
    }
}

fn successor(v: &Value) -> Result<Successor, Error> {
    let o = v
        .as_object()
        .ok_or_else(|| invalid("successor is not an object"))?;
    let id = o
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("successor.id is missing"))?;
    let passport_identifier = o
        .get("passportIdentifier")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("successor.passportIdentifier is missing"))?;
    Ok(Successor {
        battery: battery_of(id, "successor.id")?,
        id: id.to_owned(),
        passport_identifier: passport_identifier.to_owned(),
    })
}

/// Who records an event: the roles of its signer in its home trust list, and whether it is
/// the passport's issuer or an agent under its mandate (who may record any transition).
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    /// The signer's roles.
    pub roles: &'a [String],
    /// The passport's issuer itself, or its mandated agent.
    pub speaks_for_issuer: bool,
}

/// The roles that may record a `newStatus` (SPEC.md 3.4 table); the passport's issuer and its
/// agents may record any. Nothing leads back to `original`.
pub fn roles_for(new: LifecycleStatus) -> &'static [&'static str] {
    match new {
        LifecycleStatus::Original => &[],
        LifecycleStatus::Reused => &["repairer", "repurposer", "remanufacturer", "waste-operator"],
        LifecycleStatus::Repurposed => &["repurposer", "waste-operator"],
        LifecycleStatus::Remanufactured => &["remanufacturer"],
        LifecycleStatus::Waste => &["waste-operator", "recycler"],
        LifecycleStatus::Recycled => &["recycler"],
    }
}

/// Whether an event may follow the `held` status of the battery `item` (SPEC.md 3.4), in this
/// order of refusal:
/// - an event about another battery (replayed from elsewhere) (`event_invalid`);
/// - nothing follows `recycled`, and nothing leads back to `original`, whoever signs
///   (`lifecycle_transition_forbidden`);
/// - a role the table does not allow for `newStatus` (`lifecycle_transition_forbidden`);
/// - `previousStatus` is not the held value (`lifecycle_conflict`: a stale event);
/// - `newStatus` equal to the held value, unless `reused` (a second repair) or the event
///   names a further successor (`lifecycle_transition_forbidden`);
/// - what the status must carry or must not (`event_invalid`): `repurposed` and
///   `remanufactured` a `successor` (Art. 77(7)), `waste` a `responsibleParty`; a successor
///   only on `reused`, `repurposed` and `remanufactured`, a responsible party only on `waste`;
/// - an `eventDate` after `now` (with the clock skew allowed) (`event_invalid`).
pub fn check_transition(
    item: &DigitalLink,
    held: LifecycleStatus,
    event: &LifecycleEvent,
    actor: Actor<'_>,
    now: u64,
) -> Result<(), Error> {
    use LifecycleStatus as L;
    if event.battery != *item {
        return Err(invalid(format!(
            "the event is about {}, not {}",
            event.battery.path(),
            item.path()
        )));
    }
    let forbidden = |reason: &'static str| Error::LifecycleTransitionForbidden {
        from: held.as_str(),
        to: event.new.as_str(),
        reason,
    };
    if held == L::Recycled {
        return Err(forbidden(
            "the battery was recycled: its passport has ceased to exist",
        ));
    }
    if event.new == L::Original {
        return Err(forbidden("no battery goes back to original"));
    }
    let allowed = actor.speaks_for_issuer
        || roles_for(event.new)
            .iter()
            .any(|r| actor.roles.iter().any(|have| have == r));
    if !allowed {
        return Err(forbidden("the signer's roles may not record this status"));
    }
    if event.previous != held {
        return Err(Error::LifecycleConflict {
            held: held.as_str(),
            claimed: event.previous.as_str(),
        });
    }
    if event.new == held && event.new != L::Reused && event.successors.is_empty() {
        return Err(forbidden(
            "the status is already that, and no further successor is named",
        ));
    }
    match event.new {
        L::Repurposed | L::Remanufactured if event.successors.is_empty() => {
            return Err(invalid(format!(
                "a {} battery has a new passport: name it as successor",
                event.new.as_str()
            )));
        }
        L::Waste if event.responsible.is_none() => {
            return Err(invalid(
                "a battery that became waste names its responsibleParty",
            ));
        }
        L::Waste | L::Recycled if !event.successors.is_empty() => {
            return Err(invalid(format!(
                "a {} event names no successor",
                event.new.as_str()
            )));
        }
        _ => {}
    }
    if event.responsible.is_some() && event.new != L::Waste {
        return Err(invalid("only a waste event names a responsibleParty"));
    }
    if event.event_date > now.saturating_add(MAX_CLOCK_SKEW) {
        return Err(invalid("eventDate is in the future"));
    }
    Ok(())
}

/// Fills the verdict's `lifecycle` details (SPEC.md 1.2 sections 3.4 and 7) from the newest of
/// the battery's applied `events` (the chain's, oldest first) that verifies as an event of an
/// entity of an accepted trust list, is about `battery` and set the status the lifecycle list
/// holds: its `id`, date, successors and responsible party. An event that does not verify
/// says nothing; the status stays the list's.
pub(crate) fn describe(
    info: &mut crate::verdict::LifecycleInfo,
    events: &[String],
    battery: &DigitalLink,
    trust: &crate::TrustStore,
    now: u64,
) {
    for jws in events.iter().rev() {
        let Ok(vc) = crate::vc::verify_vc(jws, &EVENT, trust, now) else {
            continue;
        };
        let Ok(e) = LifecycleEvent::from_payload(vc.payload()) else {
            continue;
        };
        if e.battery != *battery || e.new != info.status {
            continue;
        }
        info.event = Some(e.id);
        info.event_date = Some(crate::time::format_rfc3339(e.event_date));
        info.successor = e.successors.into_iter().map(|s| s.id).collect();
        info.responsible_party = e.responsible;
        return;
    }
}

/// The bits a transition sets besides the lifecycle value (SPEC.md 3.4), so that 1.1 verifiers
/// show `superseded` and `revoked`: the refresh bit when it names a successor, the revocation
/// bit on `recycled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SideEffects {
    /// Set the refresh bit.
    pub refresh: bool,
    /// Set the revocation bit.
    pub revocation: bool,
}

/// [`SideEffects`] of an event that [`check_transition`] accepted.
pub fn side_effects(event: &LifecycleEvent) -> SideEffects {
    SideEffects {
        refresh: !event.successors.is_empty(),
        revocation: event.new == LifecycleStatus::Recycled,
    }
}
