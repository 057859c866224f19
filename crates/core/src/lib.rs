//! Cellproof's verification core: battery credentials (`bp+jwt`) from QR codes, trust lists
//! with mutual recognition, W3C Bitstring status lists, and the verdict (SPEC.md sections 1,
//! 2, 4, 5, 7, 8).
//!
//! The core is pure: no I/O, no clock, no threads, no randomness. Time, pinned roots, trust
//! lists and status lists come in as parameters, so the same code runs natively, in the
//! registry server and in the browser as WebAssembly.
//!
//! ```
//! use cellproof_core::{verify, Context, StatusStore, TrustStore, UnixTime};
//! let trust = TrustStore::new();
//! let status = StatusStore::new();
//! let v = verify("not a credential", &Context::new(&trust, &status, UnixTime(0)));
//! assert_eq!(v.code, Some("jws_malformed"));
//! ```

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::as_conversions
    )
)]

mod compact;
mod credential;
mod did;
mod error;
mod gs1;
mod gs1_compress;
mod inspection;
mod issue;
mod json;
mod jws;
mod label;
pub mod lifecycle;
pub mod lineage;
mod passport;
mod report;
mod request;
pub mod resolve;
mod restricted;
mod status;
mod time;
mod trust;
mod vc;
mod verdict;
mod verify;

pub use compact::{
    best_rice, changed_positions, encode_records, entropy_bound_bits, set_positions, sign_compact,
    CompactOutcome, CompactRecord, COMPACT_MEDIA_TYPE, MAX_COMPACT, MAX_COMPACT_ENTRIES, MAX_RICE,
};
pub use credential::{
    contains_lead, numeric_decode, numeric_encode, parse_link_url, recycled_content, Credential,
    RecycledShare, Scan, StatusRef, CATEGORIES, MAX_SCAN, RECYCLED_MINIMUMS,
};
pub use did::{did_document, did_key, did_web_url, did_web_url_dev, MAX_DID_DOCUMENT};
pub use error::{Class, Error, Stage, CODES};
pub use gs1::{check_gtin, gtin_with_check_digit, pct_decode, DigitalLink};
pub use gs1_compress::{decompress_path, MAX_COMPRESSED};
pub use inspection::{
    assemble_report, check_report_upload, jwk_thumbprint, report_payload, report_signing_input,
    seal_report, verdict_summary, verify_report, Artifacts, CheckedReport, Evidence, EvidencePack,
    Hint, InspectorInfo, Photo, Problem, ReportCheck, ReportClaims, StaleEvidence, INSPECTION,
    MAX_DIFFS, MAX_EVIDENCE, MAX_PACK, MAX_PHOTO, MAX_REPORT, PACK_FORMAT, REPORT_TYPE,
};
pub use issue::{
    issue_credential, sign_json, sign_status_list, sign_trust_list, urn_uuid, IssuedCredential,
    KeyPair,
};
pub use json::parse_object;
pub use jws::{
    b64_decode, b64_encode, inflate, sign_es256, verify_ed25519_many, verify_ed25519_strict,
    verify_es256, AnyKey, Header, Jws, Typ, VerifiedJws, ALG_ES256, MAX_INFLATED,
};
pub use label::{Label, LabelForm, UntpPayload};
/// The P-256 crate the ES256 keys come from (SPEC.md section 1), for shells that sign or read them.
pub use p256;
pub use passport::{
    check_attestation_upload, check_document, check_passport_upload, sha256_b64, topics,
    AttestationOutcome, AttestationResult, CheckedAttestation, CheckedPassport, PassportChain,
    PassportInfo, CERTIFIER_ROLES, MAX_ASSESSMENTS, MAX_LISTINGS, MAX_PASSPORT, MAX_STATUS_ENTRIES,
    MAX_VERSIONS,
};
pub use report::{
    csv_cell, csv_cells_of_json, escape_controls, is_control, safe_integers, AgeJson, ClaimsJson,
    IssuerJson, JsonInt, LabelJson, LinkJson, RegJson, StageJson, StatusJson, VerdictJson,
    CSV_COLUMNS, CSV_VERDICT_COLUMNS, MAX_SAFE_INTEGER,
};
pub use request::{
    Expect, Op, Operation, ParsedRequest, Request, VerifiedRequest, MAX_JTI, MAX_REQUEST,
    REQUEST_IAT_WINDOW,
};
pub use resolve::{passport_links, plan, verify_resolved, Ask, Fetched, Links};
pub use restricted::{
    check_restricted_upload, is_restricted_section, readable_tiers, verify_restricted,
    CheckedRestricted, RestrictedSection, Tier, INSPECTOR_ROLES, LEGITIMATE_INTEREST_ROLES,
    RESTRICTED_READ_ROLES, RESTRICTED_TYPE,
};
pub use status::{
    decode_encoded_list, encode_list, status_list_payload, Bitstring, Purpose, StatusList,
    StatusListSpec, StatusStore, MIN_ENTRIES, UNDEFINED_TERMS_CONTEXT, VC_CONTEXT,
};
pub use time::{format_rfc3339, parse_rfc3339, parse_rfc3339_saturating, UnixTime};
pub use trust::{
    same_kid, stores_from_held, Accepted, Accreditation, Authority, Entity, IssuerMatch, ListAge,
    PublicKey, Recognition, Resolution, Scope, TrustList, TrustStore, Via, CREDENTIAL_ROLES,
    MAX_PENDING,
};
pub use vc::{
    verify_vc, UnverifiedVc, VcKind, VerifiedVc, ATTESTATION, PASSPORT, REPORT, RESTRICTED,
};
pub use verdict::{
    IssuerInfo, LifecycleInfo, Notice, Outcome, Overall, Source, StageResult, StatusCheck,
    StatusState, Verdict,
};
pub use verify::{passport_digest, verify, verify_many, Context};
