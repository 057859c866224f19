//! Inspection reports and evidence packs (SPEC.md section 6.4, `docs/inspection.md`).
//!
//! An inspector's verdict is sealed as a `vc+jwt` `ConformityAttestation` with
//! `attestationType: "inspection"`: the battery, the effective time, a summary of the verdict
//! and the SHA-256 of every artifact the verdict used (the QR credential, passport versions,
//! attestations, trust lists by `eco` and `seq`, status lists by `id` and `validFrom`, photos).
//! The artifacts themselves travel in an evidence pack beside it. [`verify_report`] re-checks a
//! report later with the pack, the verifier's own trust and status stores and a time: the
//! inspector's signature and enrolment first (trust lists from the pack, and the verifier's
//! newer list of its ecosystem), every artifact's digest, the verdict recomputed with
//! [`crate::verify`] at the report's effective time, field by field, and the evidence the
//! verifier holds newer lists of.
//!
//! Split by concern: `report.rs` (artifacts, evidence entries, payload, signing, claims, the
//! registry's upload check), `evidence.rs` (the pack), `verify.rs` (the re-check).
//!
//! Pure like the rest of the core: the page seals and checks reports offline with the same
//! code. Signing is split ([`report_signing_input`], [`assemble_report`]) so a key that never
//! leaves WebCrypto can sign; [`seal_report`] signs with a [`KeyPair`] in one step.

mod evidence;
mod report;
mod verify;

pub use evidence::EvidencePack;
pub use report::{
    assemble_report, check_report_upload, jwk_thumbprint, report_payload, report_signing_input,
    seal_report, verdict_summary, Artifacts, CheckedReport, Evidence, Hint, Photo, ReportClaims,
};
pub use verify::{verify_report, InspectorInfo, Problem, ReportCheck, StaleEvidence, MAX_DIFFS};

/// The VC type of a report (SPEC.md sections 3.3 and 6.4).
pub const REPORT_TYPE: &str = "ConformityAttestation";
/// `credentialSubject.attestationType` of a report.
pub const INSPECTION: &str = "inspection";
/// Largest report, as compact JWS text.
pub const MAX_REPORT: usize = 256 * 1024;
/// Largest evidence pack, as JSON text (status lists are up to 24 MiB each, but a real one,
/// mostly zeros, compresses to a few hundred bytes).
pub const MAX_PACK: usize = 64 * 1024 * 1024;
/// Most evidence entries in a report (and artifacts per kind in a pack).
pub const MAX_EVIDENCE: usize = 1024;
/// Largest photo in a pack, in bytes.
pub const MAX_PHOTO: usize = 8 * 1024 * 1024;
/// The `format` member of an evidence pack.
pub const PACK_FORMAT: &str = "cellproof-evidence-pack/1";
