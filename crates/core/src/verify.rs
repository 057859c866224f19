//! Verification of a scan into a [`Verdict`]: decode, signature, trust, binding, time, status,
//! passport, attestations (SPEC.md section 7), one at a time or as a batch.
//!
//! Verification is split in two so a batch can share the expensive part: `prepare` runs every
//! stage except the signature arithmetic; `finish` takes the signature result, which only
//! `Jws::verify` or `Jws::verify_many` can produce (a [`VerifiedJws`]): both are private, so no
//! caller can hand in a signature result of its own. The batch path only puts pairs into an
//! Ed25519 batch that strict single verification would also accept on form, and falls back to
//! one by one when a batch fails.
//!
//! ```compile_fail
//! // Regression: `finish(prepared, Some(Ok(())), ctx)` was public and returned `valid` for an
//! // unsigned credential.
//! let _ = cellproof_core::finish;
//! ```

use crate::credential::{Credential, Scan};
use crate::error::{Error, Stage};
use crate::jws::{Jws, VerifiedJws};
use crate::label::{Label, LabelForm};
use crate::lifecycle::LifecycleStatus;
use crate::passport::{AttestationOutcome, PassportChain, PassportCtx};
use crate::status::{Purpose, StatusStore};
use crate::time::UnixTime;
use crate::trust::{ListAge, Resolution, TrustStore, CREDENTIAL_ROLES};
use crate::verdict::{
    overall_of, IssuerInfo, LifecycleInfo, Notice, Stages, StatusCheck, StatusState, Verdict,
};

/// Clock skew tolerated on a credential's `iat` before it counts as issued in the future.
pub const MAX_CLOCK_SKEW: u64 = 300;

/// Everything a verification needs besides the scan: trust, status, the time.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Pinned roots and accepted trust lists.
    pub trust: &'a TrustStore,
    /// Verified status lists.
    pub status: &'a StatusStore,
    /// The device clock.
    pub now: UnixTime,
    /// Version 1 of the full passport alone, as compact JWS, when the caller fetched only
    /// that (SPEC.md section 3.1); checked like a chain of one version.
    pub passport: Option<&'a str>,
    /// The passport's version chain and the attestations it lists, when the caller holds
    /// them (`GET /v1/passports/{gtin}/{serial}` or a pack); takes precedence over `passport`.
    pub chain: Option<&'a PassportChain>,
    /// The DID document of a resolved passport's `did:web` issuer, fetched online while
    /// resolving (SPEC.md section 2.2; `verify_resolved` only): its key checks the signature,
    /// never trust.
    pub did_document: Option<&'a str>,
}

impl<'a> Context<'a> {
    /// A context without a fetched passport.
    pub fn new(trust: &'a TrustStore, status: &'a StatusStore, now: UnixTime) -> Self {
        Context {
            trust,
            status,
            now,
            passport: None,
            chain: None,
            did_document: None,
        }
    }

    /// The time used as now: the device clock, raised to the newest `iat` or `validFrom`
    /// verified, so a clock set backwards cannot revive an expired credential (SPEC.md s. 5).
    /// Only the verifier's own trust anchors move it: pinned ecosystems' trust lists and the
    /// status lists held under them (SPEC.md section 4).
    pub fn effective_now(&self) -> u64 {
        self.now
            .secs()
            .max(self.trust.newest_iat())
            .max(self.status.newest_valid_from(self.trust))
    }
}

/// A scan with every stage but the signature arithmetic done.
#[derive(Debug)]
struct Prepared {
    stages: Stages,
    label: Option<Label>,
    scan: Option<Scan>,
    credential: Option<Credential>,
    resolution: Option<Resolution>,
    now: u64,
    device_now: u64,
}

impl Prepared {
    /// Takes the JWS out with the key to check it under, when the signature stage can run.
    fn take_signature_job(&mut self) -> Option<(Jws, [u8; 32])> {
        let key = self.resolution.as_ref()?.key?;
        let jws = self.scan.as_ref()?.jws.clone();
        Some((jws, key))
    }
}

/// Runs the decode stage and looks the issuer up; the signature is checked by [`finish`].
fn prepare(input: &str, ctx: &Context<'_>) -> Prepared {
    let now = ctx.effective_now();
    let mut p = Prepared {
        stages: Stages::default(),
        label: None,
        scan: None,
        credential: None,
        resolution: None,
        now,
        device_now: ctx.now.secs(),
    };
    // SPEC.md section 2.1: the label form first (kept for the verdict even when the label
    // carries no credential), then the credential it embeds.
    let scan = match Label::parse(input).and_then(|l| {
        let scan = Scan::from_label(&l);
        p.label = Some(l);
        scan
    }) {
        Ok(s) => s,
        Err(e) => {
            p.stages.fail_reading(e);
            return p;
        }
    };
    match Credential::from_payload(scan.jws.unverified_payload()) {
        Ok(c) => {
            p.stages.pass(Stage::Decode);
            // A bare credential names the identifier of its `sub` (SPEC.md section 2.1).
            if let Some(l) = p.label.as_mut().filter(|l| l.form == LabelForm::Jws) {
                l.gtin = Some(c.sub.gtin.clone());
                l.serial = Some(c.sub.serial.clone());
            }
            let kid = scan.jws.header().kid.clone();
            p.resolution = Some(
                ctx.trust
                    .resolve(&c.iss, &kid, c.iat, &CREDENTIAL_ROLES, now),
            );
            p.credential = Some(c);
        }
        Err(e) => p.stages.fail(Stage::Decode, e),
    }
    p.scan = Some(scan);
    p
}

/// Verifies one scan.
pub fn verify(input: &str, ctx: &Context<'_>) -> Verdict {
    let mut p = prepare(input, ctx);
    let sig = p.take_signature_job().map(|(jws, key)| jws.verify(&key));
    finish(p, sig, ctx)
}

/// Verifies many scans, sharing one Ed25519 batch verification among those whose keys and
/// signatures are batch-safe. The verdicts equal those of [`verify`] one by one.
pub fn verify_many(inputs: &[&str], ctx: &Context<'_>) -> Vec<Verdict> {
    let mut prepared: Vec<Prepared> = inputs.iter().map(|i| prepare(i, ctx)).collect();
    let mut owners = Vec::new();
    let mut jobs = Vec::new();
    for (i, p) in prepared.iter_mut().enumerate() {
        if let Some(job) = p.take_signature_job() {
            owners.push(i);
            jobs.push(job);
        }
    }
    let mut results: Vec<Option<Result<VerifiedJws, Error>>> =
        prepared.iter().map(|_| None).collect();
    for (i, r) in owners.into_iter().zip(Jws::verify_many(jobs)) {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    prepared
        .into_iter()
        .zip(results)
        .map(|(p, r)| finish(p, r, ctx))
        .collect()
}

/// Completes a prepared verification with the signature result (`None`: could not run).
/// Only a [`VerifiedJws`] counts as a good signature.
fn finish(
    p: Prepared,
    signature: Option<Result<VerifiedJws, Error>>,
    ctx: &Context<'_>,
) -> Verdict {
    let Prepared {
        mut stages,
        label,
        scan,
        credential,
        resolution,
        now,
        device_now,
    } = p;
    let mut notices: Vec<Notice> = clock_floor(now, device_now).into_iter().collect();
    let mut status = Vec::new();
    let mut data: Vec<ListAge> = Vec::new();
    let mut issuer = None;
    let signature_ok;
    let mut passport = None;
    let mut attestations = Vec::new();
    let mut lifecycle = None;
    let mut lineage = Vec::new();
    if let (Some(scan), Some(cred), Some(res)) = (&scan, &credential, &resolution) {
        // Signature.
        signature_ok = matches!(signature, Some(Ok(_)));
        match signature {
            Some(r) => stages.record(Stage::Signature, r.map(|_verified| ())),
            None => stages.not_checked(
                Stage::Signature,
                Some("no key: the issuer or key is not in an accepted trust list".into()),
            ),
        }
        // Trust.
        data.extend(res.ages.iter().cloned());
        // SPEC.md section 4: a member of a data space cannot sign for another company's
        // products.
        let gtin_owned =
            res.result
                .as_ref()
                .map_or(Ok(()), |m| match m.entity.owns_gtin(&cred.sub.gtin) {
                    true => Ok(()),
                    false => Err(Error::GtinNotIssuer {
                        gtin: cred.sub.gtin.clone(),
                        iss: m.entity.id.clone(),
                    }),
                });
        match (&res.result, gtin_owned) {
            (Ok(_), Err(e)) => stages.fail(Stage::Trust, e),
            (Ok(m), Ok(())) => {
                stages.pass(Stage::Trust);
                if let Some(false) = scan
                    .url
                    .as_deref()
                    .and_then(|u| m.entity.lists_resolver(&origin(u)))
                {
                    notices.push(Notice {
                        code: "resolver_unlisted",
                        message: format!(
                            "this label points to {}, a site the issuer does not list for its labels",
                            origin(scan.url.as_deref().unwrap_or_default())
                        ),
                    });
                }
                issuer = Some(IssuerInfo::new(
                    &m.entity,
                    &m.eco,
                    m.recognized_by.clone(),
                    m.path.clone(),
                    &scan.jws.header().kid,
                ));
            }
            (Err(e), _) => stages.fail(Stage::Trust, e.clone()),
        }
        // Binding (SPEC.md section 2): sub must equal the scanned URL's path.
        match &scan.link {
            Some(link) if *link == cred.sub => stages.pass(Stage::Binding),
            Some(link) => stages.fail(
                Stage::Binding,
                Error::SubMismatch {
                    sub: cred.sub.path(),
                    path: link.path(),
                },
            ),
            None => stages.not_checked(Stage::Binding, Some("scanned without a URL".into())),
        }
        // Time.
        let time = if let Some(exp) = cred.exp.filter(|&exp| now >= exp) {
            Err(Error::Expired { exp, now })
        } else if cred.iat > now.saturating_add(MAX_CLOCK_SKEW) {
            Err(Error::NotYetValid { iat: cred.iat, now })
        } else {
            Ok(())
        };
        stages.record(Stage::Time, time);
        // Status.
        match (&cred.st, &res.result) {
            (None, _) => stages.not_checked(
                Stage::Status,
                Some("the credential has no status entry".into()),
            ),
            (Some(_), Err(_)) => stages.skip(Stage::Status),
            (Some(st), Ok(m)) => match &m.entity.status_base {
                // The lists of the label's `st` sit under the issuer's `statusBase`.
                Some(base) => {
                    lifecycle = check_status(
                        &m.eco,
                        Purpose::LISTS
                            .iter()
                            .map(|p| (*p, p.list_url(base, &st.list), st.index))
                            .collect(),
                        ctx,
                        now,
                        &mut stages,
                        &mut status,
                        &mut notices,
                        &mut data,
                    )
                }
                None => stages.fail(
                    Stage::Status,
                    Error::StatusUnknown {
                        list: format!("(no statusBase)/{}", st.list),
                    },
                ),
            },
        }
        // Passport and attestations (SPEC.md sections 3 and 7), when the caller holds them.
        let single;
        let chain = match (ctx.chain, ctx.passport) {
            (Some(c), _) => Some(c),
            (None, Some(v1)) => {
                single = PassportChain {
                    events: Vec::new(),
                    predecessors: Default::default(),
                    versions: vec![v1.to_owned()],
                    attestations: Default::default(),
                };
                Some(&single)
            }
            (None, None) => None,
        };
        let pctx = match (&res.result, signature_ok) {
            (Ok(m), true) => Some(PassportCtx::for_credential(
                cred, m, ctx.trust, ctx.status, now,
            )),
            _ => None,
        };
        (passport, attestations) = passport_stages(chain, pctx, &mut stages, &mut notices);
        // A successor's originals (SPEC.md 1.2 section 3.4), once its own chain verified.
        if let (Some(info), Some(chain)) = (&passport, chain) {
            lineage = crate::lineage::check(
                &info.subject,
                &cred.sub,
                &chain.predecessors,
                ctx.trust,
                ctx.status,
                now,
            );
            if lineage.iter().any(|l| l.outcome == "failed") {
                notices.push(Notice {
                    code: "lineage_failed",
                    message: Error::LineageFailed.to_string(),
                });
            }
        }
        // The lifecycle's details from the chain's events (online, SPEC.md 1.2 section 3.4).
        if let (Some(info), Some(chain)) = (lifecycle.as_mut(), chain) {
            crate::lifecycle::describe(info, &chain.events, &cred.sub, ctx.trust, now);
            if let Some(r) = &info.responsible_party {
                for n in notices.iter_mut().filter(|n| n.code == "lifecycle_waste") {
                    n.message = format!(
                        "the battery was declared waste{}: responsibility passed to {} ({})",
                        info.event_date
                            .as_deref()
                            .map(|d| format!(" on {d}"))
                            .unwrap_or_default(),
                        r.name,
                        r.role
                    );
                }
            }
        }
    }
    let (stages, deciding) = stages.finish();
    Verdict {
        overall: overall_of(deciding.as_ref()),
        code: deciding.as_ref().map(Error::code),
        message: deciding.as_ref().map(ToString::to_string),
        stages,
        credential,
        scanned: scan.and_then(|s| s.link),
        issuer,
        status,
        notices,
        data,
        now,
        passport,
        attestations,
        label,
        source: None,
        issuer_did: None,
        lifecycle,
        lineage,
    }
}

/// The `passport` and `attestations` stages (SPEC.md sections 3 and 7): `pctx` is `None` when
/// the credential itself did not verify, so no passport can be bound to it.
pub(crate) fn passport_stages(
    chain: Option<&PassportChain>,
    pctx: Option<PassportCtx<'_>>,
    stages: &mut Stages,
    notices: &mut Vec<Notice>,
) -> (
    Option<crate::passport::PassportInfo>,
    Vec<crate::passport::AttestationResult>,
) {
    match (chain, pctx) {
        (None, _) => {
            stages.not_checked(
                Stage::Passport,
                Some("the full passport was not fetched".into()),
            );
            stages.not_checked(
                Stage::Attestations,
                Some("attestations are checked with the full passport".into()),
            );
            (None, Vec::new())
        }
        (Some(chain), Some(pctx)) => {
            let out = crate::passport::check(chain, &pctx);
            let ok = out.result.is_ok();
            stages.record(Stage::Passport, out.result);
            if ok {
                attestations_stage(&out.attestations, stages, notices);
            } else {
                stages.skip(Stage::Attestations);
            }
            (out.info, out.attestations)
        }
        // The credential itself did not verify: a passport cannot be bound to it.
        (Some(_), None) => {
            stages.skip(Stage::Passport);
            stages.skip(Stage::Attestations);
            (None, Vec::new())
        }
    }
}

/// The `attestations` stage once the passport held (SPEC.md section 7): passed, or a notice
/// `attestation_failed` when any result failed; it never fails the verdict.
pub(crate) fn attestations_stage(
    results: &[crate::passport::AttestationResult],
    stages: &mut Stages,
    notices: &mut Vec<Notice>,
) {
    let failed = results
        .iter()
        .filter(|a| a.outcome == AttestationOutcome::Failed)
        .count();
    if failed == 0 {
        stages.pass(Stage::Attestations);
        return;
    }
    let message = format!(
        "{failed} of the passport's attestations did not verify: those claims are not verified"
    );
    stages.notice_code(Stage::Attestations, "attestation_failed", message.clone());
    notices.push(Notice {
        code: "attestation_failed",
        message,
    });
}

/// The notice that the device clock is behind data already verified (SPEC.md section 5).
pub(crate) fn clock_floor(now: u64, device_now: u64) -> Option<Notice> {
    (now > device_now).then(|| Notice {
        code: "clock_floor",
        message: format!(
            "the device clock ({device_now}) is behind data already verified; using {now}"
        ),
    })
}

/// The origin (`scheme://host[:port]`, lower case) of a URL without fragment.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    format!("{scheme}://{host}").to_ascii_lowercase()
}

/// `bp.dig`: the first 16 bytes of SHA-256 over the ASCII of the full passport's compact JWS,
/// base64url (SPEC.md section 2).
pub fn passport_digest(compact: &str) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(compact.trim().as_bytes());
    crate::jws::b64_encode(hash.get(..16).unwrap_or_default())
}

/// Checks the status lists a credential names, one `(purpose, list URL, index)` each
/// (SPEC.md section 5): a missing revocation list is `status_unknown`, the others optional.
/// Only a list held under the issuer's home ecosystem `eco` speaks for it. The lifecycle list
/// (SPEC.md 3.4) is read by [`lifecycle_entry`]; its status is returned.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_status(
    eco: &str,
    refs: Vec<(Purpose, String, u64)>,
    ctx: &Context<'_>,
    now: u64,
    stages: &mut Stages,
    out: &mut Vec<StatusCheck>,
    notices: &mut Vec<Notice>,
    data: &mut Vec<ListAge>,
) -> Option<LifecycleInfo> {
    let mut failure: Option<Error> = None;
    let mut superseded = false;
    let mut lifecycle = None;
    for (purpose, url, index) in refs {
        // Only a list held under the issuer's home ecosystem speaks for it (SPEC.md section 5):
        // one signed by an authority of another ecosystem says nothing about this issuer.
        // A list of another purpose than the entry names says nothing for it (a passport's
        // entry may name any URL; a lifecycle list's 3 bits are no revocation bit).
        let list = ctx
            .status
            .get(eco, &url, ctx.trust)
            .filter(|l| l.purpose == purpose);
        let (state, age) = match list {
            _ if purpose == Purpose::Lifecycle => {
                let (state, age, info) = lifecycle_entry(list, &url, index, now, notices, data);
                lifecycle = info.map(|status| LifecycleInfo {
                    status,
                    event: None,
                    successor: Vec::new(),
                    responsible_party: None,
                    event_date: None,
                });
                (state, age)
            }
            None => {
                // SPEC.md section 5: the revocation list is required, the others optional.
                if purpose == Purpose::Revocation {
                    failure.get_or_insert(Error::StatusUnknown { list: url.clone() });
                    (StatusState::Unknown, None)
                } else {
                    (StatusState::NotChecked, None)
                }
            }
            Some(l) => {
                let age = l.age(now);
                data.push(age.clone());
                match l.bits.get(index) {
                    Err(e) => {
                        failure.get_or_insert(e);
                        (StatusState::Unknown, Some(age.age))
                    }
                    Ok(v) if v != 0 => match purpose {
                        // A set revocation bit is final even on an expired list.
                        Purpose::Revocation => {
                            failure.get_or_insert(Error::Revoked);
                            (StatusState::Revoked, Some(age.age))
                        }
                        Purpose::Suspension if !age.stale => {
                            failure.get_or_insert(Error::Suspended);
                            (StatusState::Suspended, Some(age.age))
                        }
                        Purpose::Suspension => {
                            failure.get_or_insert(Error::StatusStale {
                                list: url.clone(),
                                age: age.age,
                            });
                            (StatusState::Stale, Some(age.age))
                        }
                        // (The lifecycle list was read above.)
                        Purpose::Refresh | Purpose::Lifecycle => {
                            superseded = true;
                            (StatusState::Superseded, Some(age.age))
                        }
                    },
                    Ok(_) if age.stale => {
                        if purpose == Purpose::Revocation {
                            failure.get_or_insert(Error::StatusStale {
                                list: url.clone(),
                                age: age.age,
                            });
                        } else {
                            notices.push(Notice {
                                code: "status_stale",
                                message: Error::StatusStale {
                                    list: url.clone(),
                                    age: age.age,
                                }
                                .to_string(),
                            });
                        }
                        (StatusState::Stale, Some(age.age))
                    }
                    Ok(_) => (StatusState::Ok, Some(age.age)),
                }
            }
        };
        out.push(StatusCheck {
            purpose,
            list: url,
            index,
            state,
            age,
        });
    }
    // SPEC.md 3.4: `recycled` decides before `revoked` (a 1.1 verifier sees the revocation
    // bit the registry set with it).
    if lifecycle
        .as_ref()
        .is_some_and(|l| l.status == LifecycleStatus::Recycled)
    {
        failure = Some(Error::PassportCeased);
    }
    match failure {
        Some(e) => stages.fail(Stage::Status, e),
        None if superseded => {
            stages.notice(Stage::Status, &Error::Superseded);
            notices.push(Notice {
                code: "superseded",
                message: Error::Superseded.to_string(),
            });
        }
        None => stages.pass(Stage::Status),
    }
    lifecycle
}

/// Reads a battery's entry of its lifecycle list (SPEC.md 1.2 section 3.4): no list is not
/// checked, never a failure; `0x6`, `0x7` or an index outside the list make the lifecycle
/// unknown with a notice (the list's other entries stay usable); `recycled` is final even on
/// an expired list; `waste` is the notice `lifecycle_waste`; other values from an expired
/// list are shown with their age and the notice `status_stale`.
fn lifecycle_entry(
    list: Option<&crate::status::StatusList>,
    url: &str,
    index: u64,
    now: u64,
    notices: &mut Vec<Notice>,
    data: &mut Vec<ListAge>,
) -> (StatusState, Option<u64>, Option<LifecycleStatus>) {
    let Some(l) = list else {
        return (StatusState::NotChecked, None, None);
    };
    let age = l.age(now);
    data.push(age.clone());
    let value = match l.bits.get(index) {
        Ok(v) => v,
        Err(e) => {
            notices.push(Notice {
                code: e.code(),
                message: format!("this battery's lifecycle is unknown: {e}"),
            });
            return (StatusState::Unknown, Some(age.age), None);
        }
    };
    let Some(status) = LifecycleStatus::from_value(value) else {
        notices.push(Notice {
            code: "status_list_invalid",
            message: format!(
                "the lifecycle list gives this battery the undefined value 0x{value:x}: its \
                 lifecycle is unknown"
            ),
        });
        return (StatusState::Unknown, Some(age.age), None);
    };
    if status == LifecycleStatus::Recycled {
        return (StatusState::Ceased, Some(age.age), Some(status));
    }
    if status == LifecycleStatus::Waste {
        notices.push(Notice {
            code: "lifecycle_waste",
            message: Error::LifecycleWaste.to_string(),
        });
    }
    if age.stale {
        notices.push(Notice {
            code: "status_stale",
            message: Error::StatusStale {
                list: url.to_owned(),
                age: age.age,
            }
            .to_string(),
        });
        return (StatusState::Stale, Some(age.age), Some(status));
    }
    (StatusState::Ok, Some(age.age), Some(status))
}
