//! The verdict: overall result, one entry per stage, displayable claims, trust path and data
//! ages (SPEC.md section 7). It serialises to the JSON the CLI prints and the page reads.

use crate::credential::Credential;
use crate::error::{Class, Error, Stage};
use crate::gs1::DigitalLink;
use crate::status::Purpose;
use crate::trust::{Entity, ListAge};

/// The overall answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    /// Every stage that applies passed on fresh data.
    Valid,
    /// A check on the credential itself failed.
    Invalid,
    /// The verifier lacks what it needs, or has it only too old. Never shown as genuine.
    Unverifiable,
}

impl Overall {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Valid => "valid",
            Overall::Invalid => "invalid",
            Overall::Unverifiable => "unverifiable",
        }
    }
}

/// How one stage went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Checked and passed.
    Passed,
    /// Checked and failed.
    Failed,
    /// Could not run because an earlier stage failed.
    Skipped,
    /// Does not apply or was not asked for (no URL, no status entry, passport not fetched).
    NotChecked,
    /// Passed with a notice (superseded).
    Notice,
}

/// One stage's entry.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StageResult {
    /// The stage.
    pub stage: Stage,
    /// The outcome.
    pub outcome: Outcome,
    /// The stable code of a failure or notice.
    pub code: Option<&'static str>,
    /// An English sentence for logs; user interfaces translate `code` instead.
    pub message: Option<String>,
}

/// The state of one status purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    /// Bit clear on a fresh list.
    Ok,
    /// Revocation bit set.
    Revoked,
    /// Suspension bit set.
    Suspended,
    /// Refresh bit set: a newer passport exists.
    Superseded,
    /// No list held.
    Unknown,
    /// Only an expired list held.
    Stale,
    /// Not checked (no list for an optional purpose).
    NotChecked,
    /// The lifecycle list says `recycled`: the passport has ceased to exist (SPEC.md 3.4).
    Ceased,
}

/// The battery's life after its first use, as the lifecycle list and, online, its events tell
/// (SPEC.md 1.2 sections 3.4 and 7: `{"status", "event"?, "successor"?, "responsibleParty"?}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LifecycleInfo {
    /// The status the lifecycle list holds.
    pub status: crate::lifecycle::LifecycleStatus,
    /// The `id` of the verified event that set it, when the verifier holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The successor passports' Digital Link URLs that event names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successor: Vec<String>,
    /// Who took over a battery that became waste, as that event names it.
    #[serde(rename = "responsibleParty", skip_serializing_if = "Option::is_none")]
    pub responsible_party: Option<crate::lifecycle::ResponsibleParty>,
    /// When the event says it happened (RFC 3339), when held.
    #[serde(rename = "eventDate", skip_serializing_if = "Option::is_none")]
    pub event_date: Option<String>,
}

/// One status purpose's check.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StatusCheck {
    /// The purpose.
    pub purpose: Purpose,
    /// The list URL.
    pub list: String,
    /// The index.
    pub index: u64,
    /// The state.
    pub state: StatusState,
    /// Seconds since the list's `validFrom`, when a list was used.
    pub age: Option<u64>,
}

/// The issuer as the verdict shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IssuerInfo {
    /// DID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Ecosystem.
    pub eco: String,
    /// The pinned ecosystem that recognises `eco`, if trust is by recognition.
    pub recognized_by: Option<String>,
    /// "catena-x, recognised by ouranos".
    pub path: String,
    /// Registration, e.g. BPNL.
    pub reg: Option<(String, String)>,
    /// Roles.
    pub roles: Vec<String>,
    /// The key id that signed.
    pub kid: String,
}

impl IssuerInfo {
    pub(crate) fn new(
        e: &Entity,
        eco: &str,
        recognized_by: Option<String>,
        path: String,
        kid: &str,
    ) -> Self {
        IssuerInfo {
            id: e.id.clone(),
            name: e.name.clone(),
            eco: eco.to_owned(),
            recognized_by,
            path,
            reg: e.reg.clone(),
            roles: e.roles.clone(),
            kid: kid.to_owned(),
        }
    }
}

/// A notice on a verdict: not a failure.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    /// Stable code (`superseded`, `status_stale` for an optional purpose, `clock_floor`).
    pub code: &'static str,
    /// English sentence.
    pub message: String,
}

/// Where the credential a verdict is about came from (SPEC.md section 7, `source`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Source {
    /// `embedded` (in the label), `resolved` (fetched online, 2.2), `backup` (6.5) or `held`
    /// (an offline pack or sync).
    pub kind: &'static str,
    /// Where it was fetched from, for `resolved` and `backup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The result of verifying one scan.
///
/// Only [`crate::verify`] and [`crate::verify_many`] make one: the type is `#[non_exhaustive]`,
/// so outside the core a struct literal (or `..` update) does not compile, and a shell cannot
/// present a verdict the core never reached. Its fields stay readable.
///
/// ```compile_fail,E0639
/// use cellproof_core::{Overall, Verdict};
/// let forged = Verdict {
///     overall: Overall::Valid,
///     code: None,
///     message: None,
///     stages: Vec::new(),
///     credential: None,
///     scanned: None,
///     issuer: None,
///     status: Vec::new(),
///     notices: Vec::new(),
///     data: Vec::new(),
///     now: 0,
///     passport: None,
///     attestations: Vec::new(),
///     label: None,
///     source: None,
///     issuer_did: None,
/// };
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Verdict {
    /// The overall answer.
    pub overall: Overall,
    /// The deciding code (the first failing stage's), or `None` when valid.
    pub code: Option<&'static str>,
    /// The deciding error as an English sentence.
    pub message: Option<String>,
    /// One entry per stage, in SPEC.md section 7 order.
    pub stages: Vec<StageResult>,
    /// The claims, once decoded (shown even on failure, marked by `overall`).
    pub credential: Option<Credential>,
    /// The Digital Link of the scanned URL, when the input was a URL.
    pub scanned: Option<DigitalLink>,
    /// The issuer and trust path, when found.
    pub issuer: Option<IssuerInfo>,
    /// Status checks per purpose.
    pub status: Vec<StatusCheck>,
    /// Notices.
    pub notices: Vec<Notice>,
    /// Age of every list used.
    pub data: Vec<ListAge>,
    /// The time used as now (after the clock floor).
    pub now: u64,
    /// The passport, when the chain was given and verified.
    pub passport: Option<crate::passport::PassportInfo>,
    /// One result per attestation listing and per declared claim (SPEC.md section 3.3).
    pub attestations: Vec<crate::passport::AttestationResult>,
    /// The label form read and what it names (SPEC.md sections 2.1 and 7), when the scanned
    /// text was a label at all; for form `jws`, the identifier of the credential's `sub`.
    pub label: Option<crate::label::Label>,
    /// Where the credential the verdict is about came from; `None` for a 1.1 verdict on the
    /// label's own credential (its JSON then keeps 1.1's members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The issuer's DID when no accepted trust list names it and it was read from a resolved
    /// passport (`did:web`, SPEC.md sections 2.2 and 7): "signed by {did}, whom none of your
    /// trust lists names".
    #[serde(rename = "issuerDid", skip_serializing_if = "Option::is_none")]
    pub issuer_did: Option<String>,
    /// The battery's lifecycle (SPEC.md 1.2 section 3.4), when a lifecycle list was held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleInfo>,
    /// A successor passport's originals, one entry per predecessor (SPEC.md 1.2 section 3.4);
    /// empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<crate::lineage::LineageEntry>,
}

/// Collects stage results while verifying.
#[derive(Debug, Default)]
pub(crate) struct Stages {
    results: Vec<StageResult>,
    deciding: Option<Error>,
}

impl Stages {
    pub(crate) fn pass(&mut self, stage: Stage) {
        self.push(stage, Outcome::Passed, None);
    }
    pub(crate) fn not_checked(&mut self, stage: Stage, why: Option<String>) {
        self.results.push(StageResult {
            stage,
            outcome: Outcome::NotChecked,
            code: None,
            message: why,
        });
    }
    pub(crate) fn skip(&mut self, stage: Stage) {
        self.push(stage, Outcome::Skipped, None);
    }
    pub(crate) fn notice(&mut self, stage: Stage, e: &Error) {
        self.results.push(StageResult {
            stage,
            outcome: Outcome::Notice,
            code: Some(e.code()),
            message: Some(e.to_string()),
        });
    }
    /// A notice that is no [`Error`] (`attestation_failed`: SPEC.md section 7).
    pub(crate) fn notice_code(&mut self, stage: Stage, code: &'static str, message: String) {
        self.results.push(StageResult {
            stage,
            outcome: Outcome::Notice,
            code: Some(code),
            message: Some(message),
        });
    }
    pub(crate) fn fail(&mut self, stage: Stage, e: Error) {
        self.results.push(StageResult {
            stage,
            outcome: Outcome::Failed,
            code: Some(e.code()),
            message: Some(e.to_string()),
        });
        // SPEC.md section 7: the first failing stage decides.
        if self.deciding.is_none() {
            self.deciding = Some(e);
        }
    }
    /// A scan or fetched credential that cannot be read: a decode failure, except header-profile
    /// errors (alg, typ, crit), which belong to the signature stage.
    pub(crate) fn fail_reading(&mut self, e: Error) {
        if e.stage() == Stage::Signature {
            self.pass(Stage::Decode);
            self.fail(Stage::Signature, e);
        } else {
            self.fail(Stage::Decode, e);
        }
    }
    pub(crate) fn record(&mut self, stage: Stage, r: Result<(), Error>) {
        match r {
            Ok(()) => self.pass(stage),
            Err(e) => self.fail(stage, e),
        }
    }
    fn push(&mut self, stage: Stage, outcome: Outcome, code: Option<&'static str>) {
        self.results.push(StageResult {
            stage,
            outcome,
            code,
            message: None,
        });
    }
    /// Fills the stages not yet reported with `skipped`, in order.
    pub(crate) fn finish(mut self) -> (Vec<StageResult>, Option<Error>) {
        // `resolve` is reported only by a verification that resolved online (verify_resolved):
        // other verdicts keep the 1.1 stages, as vectors and sealed reports hold them.
        for stage in Stage::ALL.into_iter().filter(|s| *s != Stage::Resolve) {
            if !self.results.iter().any(|r| r.stage == stage) {
                self.skip(stage);
            }
        }
        self.results.sort_by_key(|r| r.stage);
        (self.results, self.deciding)
    }
}

pub(crate) fn overall_of(deciding: Option<&Error>) -> Overall {
    match deciding.map(Error::class) {
        // A notice never decides (verify.rs records it with `Stages::notice`).
        None | Some(Class::Notice) => Overall::Valid,
        Some(Class::Invalid) => Overall::Invalid,
        Some(Class::Unverifiable) => Overall::Unverifiable,
    }
}
