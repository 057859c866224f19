//! The one error type of the core, with stable codes (SPEC.md section 8).
//!
//! Every variant is documented and carries what a user interface or a log needs. `code()` is the
//! stable string interfaces translate; `Display` is an English sentence for logs and the CLI.
//! The full list of codes, with the stage each belongs to, is in `docs/error-codes.md`; a test
//! keeps that document and this file in step.

use core::fmt;

/// Which verification stage an error belongs to (SPEC.md section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// URL, fragment, numeric, base64url, inflate, JSON.
    Decode,
    /// Online resolution of a label without an embedded credential (SPEC.md section 2.2);
    /// reported only by verdicts that resolved (`verify_resolved`).
    Resolve,
    /// JWS profile (alg, typ, critical headers) and strict Ed25519.
    Signature,
    /// Issuer, key window, role, trust path, list freshness.
    Trust,
    /// `sub` against the scanned URL.
    Binding,
    /// Expiry and issue time.
    Time,
    /// Revocation, suspension, refresh.
    Status,
    /// Digest of the full passport, when fetched.
    Passport,
    /// Supplier and material attestations.
    Attestations,
}

impl Stage {
    /// All stages in the order SPEC.md section 7 runs them.
    pub const ALL: [Stage; 9] = [
        Stage::Decode,
        Stage::Resolve,
        Stage::Signature,
        Stage::Trust,
        Stage::Binding,
        Stage::Time,
        Stage::Status,
        Stage::Passport,
        Stage::Attestations,
    ];

    /// The stage's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Resolve => "resolve",
            Stage::Signature => "signature",
            Stage::Trust => "trust",
            Stage::Binding => "binding",
            Stage::Time => "time",
            Stage::Status => "status",
            Stage::Passport => "passport",
            Stage::Attestations => "attestations",
        }
    }
}

/// Whether a failure says the credential is bad, or that the verifier lacks what it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// A check on the credential (or artifact) itself failed.
    Invalid,
    /// The verifier lacks fresh data to decide (SPEC.md section 7).
    Unverifiable,
    /// Not a failure: reported beside a valid verdict (`superseded`).
    Notice,
}

/// Everything that can go wrong in the core. Codes are stable; see `docs/error-codes.md`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    // ---- decode ----
    /// The input is larger than the limit for its kind.
    InputTooLarge {
        /// What was being read.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// The input is neither an `https://` URL nor a compact JWS.
    UrlInvalid {
        /// Why.
        reason: &'static str,
    },
    /// The label names an item but carries no signed credential (SPEC.md section 2.1): it must
    /// be checked online. Unverifiable, never `invalid` (replaces 1.1's `url_no_fragment`).
    NoEmbeddedCredential {
        /// The identifier the label names (`01/{gtin14}/21/{serial}`), or a UNTP link's `uri`.
        identifier: String,
    },
    /// The label names a model or a lot (no AI 21), not one battery (SPEC.md section 2.1).
    ItemNotSerialised {
        /// The identifier the label names (`01/{gtin14}[/22/...][/10/...]`).
        identifier: String,
    },
    /// A GS1 element string that is malformed: not starting with AI 01, an unknown AI, a
    /// predefined-length value of the wrong length, an AI twice (SPEC.md section 2.1).
    ElementStringInvalid {
        /// Why.
        reason: &'static str,
    },
    /// A UNTP verification link whose `payload` is not `{"uri", "key"?, "hash"?}` with an
    /// http(s) `uri` and 64-hex `key`/`hash` (SPEC.md section 2.1).
    UntpLinkInvalid {
        /// Why.
        reason: &'static str,
    },
    // ---- resolve (SPEC.md section 2.2) ----
    /// No resolver answered: network, TLS, timeout, CORS or a non-2xx answer other than 404.
    ResolverUnreachable {
        /// Where the verifier asked.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// A resolution broke a limit: http where https is required, too many redirects, a body
    /// too large, the overall time.
    ResolutionLimit {
        /// Which limit.
        detail: String,
    },
    /// The resolver's linkset answer is not an RFC 9264 `{"linkset": [...]}`.
    LinksetInvalid {
        /// Why.
        reason: String,
    },
    /// A UNTP link's `key` does not decrypt what its `uri` served: not the
    /// `{"cipherText", "iv", "tag", "type": "aes-256-gcm"}` envelope, or the tag fails.
    UntpDecryptFailed {
        /// Why.
        reason: String,
    },
    /// A UNTP link's `hash` is not the SHA-256 of the credential its `uri` served.
    UntpHashMismatch,
    /// A `BatteryLifecycleEvent` that is malformed or says what its status may not (SPEC.md
    /// 1.2 section 3.4).
    EventInvalid {
        /// Why.
        reason: String,
    },
    /// A lifecycle event's `previousStatus` is not the battery's current status (a stale or
    /// raced event, SPEC.md 3.4).
    LifecycleConflict {
        /// The status held.
        held: &'static str,
        /// The event's `previousStatus`.
        claimed: &'static str,
    },
    /// A lifecycle transition the table of SPEC.md 3.4 does not allow: after `recycled`, back
    /// to `original`, by a role not listed for the new status, or to the same status.
    LifecycleTransitionForbidden {
        /// The held status.
        from: &'static str,
        /// The event's `newStatus`.
        to: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The resolver knows no passport for the label's battery (no passport link, or 404).
    PassportNotLinked {
        /// The identifier asked about.
        identifier: String,
    },
    /// The URL path is not a GS1 Digital Link `/01/{gtin}/21/{serial}`.
    DigitalLinkInvalid {
        /// Why.
        reason: &'static str,
    },
    /// The GTIN is not 14 digits with a correct check digit.
    GtinInvalid,
    /// The serial is empty, too long, badly percent-encoded or outside the GS1 character set.
    SerialInvalid,
    /// A numeric fragment holds a digit pair that names no base64url or `.` character.
    FragmentNotNumeric {
        /// Position of the offending pair, in characters of the fragment.
        position: usize,
    },
    /// The JWS does not have three dot-separated parts.
    JwsMalformed,
    /// A JWS part is not minimal-form base64url without padding.
    Base64urlInvalid {
        /// Which part: `header`, `payload` or `signature`.
        part: &'static str,
    },
    /// The DEFLATE stream is corrupt.
    InflateFailed,
    /// The inflated payload exceeds the limit (SPEC.md section 1: 16 KiB).
    InflateTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A list inside an artifact has more members than its named limit (`MAX_STATUS_ENTRIES`
    /// `credentialStatus` entries, `MAX_LISTINGS` attestation listings, `MAX_ASSESSMENTS`
    /// assessments, ...): refused, never read in part, since a skipped member could be the
    /// revocation or the assessment that decides.
    LimitExceeded {
        /// The member, as a path such as `credentialStatus`.
        what: &'static str,
        /// The most members allowed.
        limit: usize,
    },
    /// The JSON is not UTF-8.
    JsonNotUtf8,
    /// The JSON is malformed.
    JsonInvalid {
        /// Parser message.
        detail: String,
    },
    /// The JSON has the same member name twice in one object.
    JsonDuplicateMember {
        /// The repeated name.
        name: String,
    },
    /// The JSON top level is not an object.
    JsonNotObject,
    /// A claim or member is missing or has the wrong type or value.
    ClaimInvalid {
        /// The member, as a path such as `bp.cat`.
        field: String,
        /// Why.
        reason: &'static str,
    },
    // ---- signature (JWS profile and crypto) ----
    /// `alg` is not `EdDSA` or `Ed25519` (this includes `none`).
    AlgUnsupported {
        /// The header's alg.
        alg: String,
    },
    /// `typ` is not the one expected here (RFC 8725 explicit typing).
    TypUnexpected {
        /// Expected typ.
        expected: &'static str,
        /// Found typ, or empty when missing.
        found: String,
    },
    /// The header has no `kid`.
    KidMissing,
    /// The header has a forbidden member (`crit`, `jku`, `jwk`, `x5u`, `x5c`).
    HeaderForbidden {
        /// The member.
        name: String,
    },
    /// `zip` is present where not allowed, or not `DEF`.
    ZipUnsupported,
    /// The signature fails strict Ed25519 verification.
    SignatureInvalid {
        /// Why, for logs.
        reason: &'static str,
    },
    /// A public key is not a valid Ed25519 JWK (or is weak or non-canonical).
    KeyInvalid {
        /// Why.
        reason: &'static str,
    },
    // ---- trust ----
    /// The credential's issuer is in no accepted trust list.
    IssuerUnknown {
        /// The issuer DID.
        iss: String,
    },
    /// A `did:web` issuer's DID document could not be used: not fetched, not JSON, or its `id`
    /// is not the DID (SPEC.md section 2.2).
    DidUnresolvable {
        /// The DID.
        did: String,
        /// Why.
        reason: String,
    },
    /// The issuer is known but has no key with the header's `kid` listed now.
    KeyUnknown {
        /// The kid.
        kid: String,
    },
    /// Lists of several ecosystems that count name the issuer with the header's `kid`, so it
    /// has no one home (SPEC.md section 4).
    IssuerAmbiguous {
        /// The issuer.
        iss: String,
        /// The ecosystems whose lists name it.
        ecosystems: Vec<String>,
    },
    /// The GTIN is outside the GS1 company prefixes the issuer lists (SPEC.md section 4).
    GtinNotIssuer {
        /// The GTIN-14.
        gtin: String,
        /// The issuer.
        iss: String,
    },
    /// The credential's `iat` is outside the signing key's `nbf`..`exp`.
    KeyNotValidAtIat {
        /// The credential's issue time.
        iat: u64,
        /// The key's not-before, if any.
        nbf: Option<u64>,
        /// The key's expiry, if any.
        exp: Option<u64>,
    },
    /// The issuer does not hold a role that may sign this artifact.
    RoleMissing {
        /// The role needed.
        needed: &'static str,
    },
    /// The issuer's ecosystem is recognised, but not for the role needed.
    RecognitionScope {
        /// The issuer's ecosystem.
        eco: String,
        /// The recognising ecosystem.
        by: String,
    },
    /// The recognition of the issuer's ecosystem has passed its `until`.
    RecognitionExpired {
        /// The issuer's ecosystem.
        eco: String,
        /// The recognising ecosystem.
        by: String,
    },
    /// A trust list on the path has passed its `exp`.
    TrustListStale {
        /// The ecosystem.
        eco: String,
        /// Seconds since it expired.
        expired_for: u64,
    },
    /// A trust list's `seq` is below the one held for its ecosystem.
    TrustListRollback {
        /// The ecosystem.
        eco: String,
        /// The seq held.
        held: u64,
        /// The seq offered.
        offered: u64,
    },
    /// A trust list is signed by no pinned root and no recognised root.
    TrustListUntrusted {
        /// The ecosystem it claims.
        eco: String,
    },
    // ---- binding ----
    /// `sub` differs from the Digital Link path the credential was scanned from.
    SubMismatch {
        /// The credential's sub.
        sub: String,
        /// The scanned path.
        path: String,
    },
    /// A registry request names another registry in `aud` (SPEC.md section 6.1).
    AudienceMismatch {
        /// This registry's public base URL.
        expected: String,
        /// The request's `aud`.
        found: String,
    },
    /// A registry request's `op` is not the operation of the route it was sent to.
    OpMismatch {
        /// The route's operation.
        expected: &'static str,
        /// The request's `op`.
        found: &'static str,
    },
    // ---- time ----
    /// The credential's `exp` has passed.
    Expired {
        /// The expiry.
        exp: u64,
        /// The time used as now.
        now: u64,
    },
    /// The credential's `iat` is in the future (beyond the allowed clock skew).
    NotYetValid {
        /// The issue time.
        iat: u64,
        /// The time used as now.
        now: u64,
    },
    // ---- status ----
    /// The revocation bit is set.
    Revoked,
    /// The suspension bit is set.
    Suspended,
    /// The refresh bit is set: a newer passport exists (a notice, not a failure).
    Superseded,
    /// The lifecycle list says the battery was recycled: its passport has ceased to exist
    /// (Regulation (EU) 2023/1542 Art. 77(8); SPEC.md 1.2 section 3.4), so a label still in
    /// circulation was copied or moved to another battery. Decides before `revoked`.
    PassportCeased,
    /// A successor passport's predecessor: the original's latest version the verifier holds
    /// does not hash to the `digest` the successor lists (SPEC.md 1.2 section 3.4; a lineage
    /// entry's code, never the verdict's).
    PredecessorDigestMismatch,
    /// A successor passport's predecessor whose applied events, as the verifier holds them,
    /// never named this battery as its successor (a lineage entry's code).
    PredecessorUnconfirmed {
        /// The original's Digital Link path.
        original: String,
    },
    /// At least one predecessor of a successor passport failed its check (a notice).
    LineageFailed,
    /// The lifecycle list says the battery became waste (a notice, not a failure):
    /// responsibility passed to its producer, a producer responsibility organisation or a waste
    /// operator (Art. 77(7) second subparagraph).
    LifecycleWaste,
    /// The revocation list the credential points at is not available.
    StatusUnknown {
        /// The list URL.
        list: String,
    },
    /// The status list is past its `validUntil`.
    StatusStale {
        /// The list URL.
        list: String,
        /// Seconds since `validFrom`.
        age: u64,
    },
    /// The status list has fewer than the minimum 131,072 entries.
    StatusListTooShort {
        /// Entries present.
        entries: u64,
    },
    /// The credential's status index is past the end of the list.
    StatusIndexOutOfRange {
        /// The index.
        index: u64,
        /// Entries in the list.
        entries: u64,
    },
    /// A newer status list with this id is already held (compare `validFrom`).
    StatusListRollback {
        /// The list URL.
        list: String,
    },
    /// The status list is signed by no status authority of an accepted trust list.
    StatusListUntrusted {
        /// The list's issuer.
        issuer: String,
    },
    /// The status list's `id` is under no `statusBase` of an entity listed in the trust list
    /// that names its signing authority (SPEC.md section 5): no authority may speak for
    /// another ecosystem's lists.
    StatusListForeign {
        /// The list URL.
        list: String,
    },
    /// Two signed forms of one status list (W3C and compact, SPEC.md section 5 and
    /// `docs/status-sync.md`) carry the same `id` and `validFrom` but different bits.
    StatusListConflict {
        /// The list URL.
        list: String,
    },
    /// A status delta applies to a version of a list (its `validFrom`) that is not the one
    /// held: the verifier fetches the full compact list instead.
    StatusDeltaBase {
        /// The list URL.
        list: String,
    },
    /// The status list credential is malformed.
    StatusListInvalid {
        /// Why.
        reason: &'static str,
    },
    // ---- passport ----
    /// The full passport's digest differs from `bp.dig`.
    DigestMismatch,
    /// A passport version is not a well-formed `BatteryPassport` VC (SPEC.md section 3.1).
    PassportInvalid {
        /// What is wrong.
        detail: String,
    },
    /// A passport version is signed by another entity than the label's credential.
    PassportIssuerMismatch {
        /// The passport's issuer.
        passport: String,
        /// The credential's issuer.
        credential: String,
    },
    /// A passport version is for another battery than the label's.
    PassportSubjectMismatch {
        /// The passport's `credentialSubject.id`.
        subject: String,
        /// The label's Digital Link path.
        battery: String,
    },
    /// The version chain does not lead back to version 1 (SPEC.md section 3.1).
    PassportChainBroken {
        /// The version (1-based) where it breaks.
        version: u64,
        /// Why.
        reason: &'static str,
    },
    /// A document's bytes do not hash to the digest its link gives (SPEC.md section 3.2).
    DocumentDigestMismatch {
        /// The link's `hashDigest`.
        expected: String,
        /// The downloaded bytes' digest.
        got: String,
    },
    // ---- attestations (reported per topic; they never decide a verdict) ----
    /// An attestation or listing is not well-formed (SPEC.md section 3.3).
    AttestationInvalid {
        /// What is wrong.
        detail: String,
    },
    /// The attestation held under a listing's `hashDigest` hashes otherwise.
    AttestationDigestMismatch {
        /// The listing's digest.
        expected: String,
        /// The attestation's digest.
        got: String,
    },
    /// The attestation's subject is not the listing's, or not the battery, its model, or a
    /// supplier or facility the provenance names for those materials.
    AttestationSubjectMismatch {
        /// The subject.
        subject: String,
    },
    /// The attestation has no assessment of the listing's topic covering its materials.
    AttestationTopicMismatch {
        /// The listing's topic.
        topic: String,
    },
    /// The assessment of the listing's topic says `conformance: false`.
    AttestationNonconformant {
        /// The topic.
        topic: String,
    },
    /// An assessment falls outside every accreditation of the certifier.
    AttestationOutOfScope {
        /// The topic.
        topic: String,
        /// The materials.
        materials: Vec<String>,
    },
    /// An assessment falls outside the scope of the recognition that admits the certifier's
    /// ecosystem.
    RecognitionOutOfScope {
        /// The topic.
        topic: String,
        /// The recognising ecosystem.
        by: String,
    },
    /// The attestation is outside its `validFrom`..`validUntil`.
    AttestationExpired {
        /// `validFrom`.
        valid_from: u64,
        /// `validUntil`.
        valid_until: Option<u64>,
        /// Now.
        now: u64,
    },
    // ---- restricted sections and inspection reports (SPEC.md sections 6.3, 6.4) ----
    /// The requester's role may not read the restricted tier it asked for (SPEC.md section
    /// 6.3): a recycler or repairer asking for the authority tier.
    TierForbidden {
        /// The tier asked for.
        tier: String,
    },
    /// A restricted section is not a well-formed `BatteryPassportRestricted` VC.
    RestrictedInvalid {
        /// What is wrong.
        detail: String,
    },
    /// A restricted section is signed by another entity than the battery's passport.
    RestrictedIssuerMismatch {
        /// The section's issuer.
        section: String,
        /// The passport's issuer.
        passport: String,
    },
    /// A restricted section is about another battery than the passport's.
    RestrictedSubjectMismatch {
        /// The section's `credentialSubject.id`.
        subject: String,
        /// The passport's battery.
        battery: String,
    },
    /// An inspection report is not well-formed (SPEC.md section 6.4).
    ReportInvalid {
        /// What is wrong.
        detail: String,
    },
    /// The report's subject is not the battery its evidence is about.
    ReportSubjectMismatch {
        /// The report's `credentialSubject.id`.
        subject: String,
        /// The battery of the scanned credential.
        battery: String,
    },
    /// An artifact the report names is not in the evidence pack.
    ReportArtifactMissing {
        /// What is missing (`trust-list catena-x seq 3`, ...).
        artifact: String,
    },
    /// An artifact of the evidence pack differs from what the report names.
    ReportDigestMismatch {
        /// Which artifact.
        artifact: String,
        /// What the report names.
        expected: String,
        /// What the pack holds.
        got: String,
    },
    /// The verdict recomputed from the evidence differs from the report's.
    ReportVerdictDiffers {
        /// The field (`overall`, `stages.status.outcome`, ...).
        field: String,
        /// The report's value.
        reported: String,
        /// The recomputed value.
        recomputed: String,
    },
    /// An evidence pack is not well-formed (`docs/inspection.md`).
    EvidencePackInvalid {
        /// What is wrong.
        detail: String,
    },
    /// The verifier holds a newer trust list of the inspector's home ecosystem than the
    /// report's evidence, and it no longer enrols the inspector's key with role `inspector`.
    ReportInspectorWithdrawn {
        /// The inspector's home ecosystem.
        eco: String,
        /// `seq` of the verifier's list.
        held_seq: u64,
        /// `seq` of the evidence's list.
        evidence_seq: u64,
        /// Why the held list refuses (key unknown, role missing, ...).
        reason: String,
    },
    /// A status the report's evidence found clear is revoked or suspended in the newer list
    /// the verifier holds.
    ReportEvidenceStale {
        /// The list.
        artifact: String,
        /// What the held list says.
        detail: String,
    },
}

impl Error {
    /// The stable code user interfaces translate (SPEC.md section 8).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InputTooLarge { .. } => "input_too_large",
            Error::UrlInvalid { .. } => "url_invalid",
            Error::NoEmbeddedCredential { .. } => "no_embedded_credential",
            Error::ItemNotSerialised { .. } => "item_not_serialised",
            Error::ElementStringInvalid { .. } => "element_string_invalid",
            Error::UntpLinkInvalid { .. } => "untp_link_invalid",
            Error::DigitalLinkInvalid { .. } => "digital_link_invalid",
            Error::ResolverUnreachable { .. } => "resolver_unreachable",
            Error::ResolutionLimit { .. } => "resolution_limit",
            Error::LinksetInvalid { .. } => "linkset_invalid",
            Error::PassportNotLinked { .. } => "passport_not_linked",
            Error::UntpDecryptFailed { .. } => "untp_decrypt_failed",
            Error::UntpHashMismatch => "untp_hash_mismatch",
            Error::EventInvalid { .. } => "event_invalid",
            Error::LifecycleConflict { .. } => "lifecycle_conflict",
            Error::LifecycleTransitionForbidden { .. } => "lifecycle_transition_forbidden",
            Error::GtinInvalid => "gtin_invalid",
            Error::SerialInvalid => "serial_invalid",
            Error::FragmentNotNumeric { .. } => "fragment_not_numeric",
            Error::JwsMalformed => "jws_malformed",
            Error::Base64urlInvalid { .. } => "base64url_invalid",
            Error::InflateFailed => "inflate_failed",
            Error::InflateTooLarge { .. } => "inflate_too_large",
            Error::LimitExceeded { .. } => "limit_exceeded",
            Error::JsonNotUtf8 => "json_not_utf8",
            Error::JsonInvalid { .. } => "json_invalid",
            Error::JsonDuplicateMember { .. } => "json_duplicate_member",
            Error::JsonNotObject => "json_not_object",
            Error::ClaimInvalid { .. } => "claim_invalid",
            Error::AlgUnsupported { .. } => "alg_unsupported",
            Error::TypUnexpected { .. } => "typ_unexpected",
            Error::KidMissing => "kid_missing",
            Error::HeaderForbidden { .. } => "header_forbidden",
            Error::ZipUnsupported => "zip_unsupported",
            Error::SignatureInvalid { .. } => "signature_invalid",
            Error::KeyInvalid { .. } => "key_invalid",
            Error::IssuerUnknown { .. } => "issuer_unknown",
            Error::KeyUnknown { .. } => "key_unknown",
            Error::DidUnresolvable { .. } => "did_unresolvable",
            Error::IssuerAmbiguous { .. } => "issuer_ambiguous",
            Error::GtinNotIssuer { .. } => "gtin_not_issuer",
            Error::KeyNotValidAtIat { .. } => "key_not_valid_at_iat",
            Error::RoleMissing { .. } => "role_missing",
            Error::RecognitionScope { .. } => "recognition_scope",
            Error::RecognitionExpired { .. } => "recognition_expired",
            Error::TrustListStale { .. } => "trust_list_stale",
            Error::TrustListRollback { .. } => "trust_list_rollback",
            Error::TrustListUntrusted { .. } => "trust_list_untrusted",
            Error::SubMismatch { .. } => "sub_mismatch",
            Error::AudienceMismatch { .. } => "audience_mismatch",
            Error::OpMismatch { .. } => "op_mismatch",
            Error::Expired { .. } => "expired",
            Error::NotYetValid { .. } => "not_yet_valid",
            Error::Revoked => "revoked",
            Error::Suspended => "suspended",
            Error::Superseded => "superseded",
            Error::PassportCeased => "passport_ceased",
            Error::LifecycleWaste => "lifecycle_waste",
            Error::PredecessorDigestMismatch => "predecessor_digest_mismatch",
            Error::PredecessorUnconfirmed { .. } => "predecessor_unconfirmed",
            Error::LineageFailed => "lineage_failed",
            Error::StatusUnknown { .. } => "status_unknown",
            Error::StatusStale { .. } => "status_stale",
            Error::StatusListTooShort { .. } => "status_list_too_short",
            Error::StatusIndexOutOfRange { .. } => "status_index_out_of_range",
            Error::StatusListRollback { .. } => "status_list_rollback",
            Error::StatusListUntrusted { .. } => "status_list_untrusted",
            Error::StatusListForeign { .. } => "status_list_foreign",
            Error::StatusListConflict { .. } => "status_list_conflict",
            Error::StatusDeltaBase { .. } => "status_delta_base",
            Error::StatusListInvalid { .. } => "status_list_invalid",
            Error::DigestMismatch => "digest_mismatch",
            Error::PassportInvalid { .. } => "passport_invalid",
            Error::PassportIssuerMismatch { .. } => "passport_issuer_mismatch",
            Error::PassportSubjectMismatch { .. } => "passport_subject_mismatch",
            Error::PassportChainBroken { .. } => "passport_chain_broken",
            Error::DocumentDigestMismatch { .. } => "document_digest_mismatch",
            Error::AttestationInvalid { .. } => "attestation_invalid",
            Error::AttestationDigestMismatch { .. } => "attestation_digest_mismatch",
            Error::AttestationSubjectMismatch { .. } => "attestation_subject_mismatch",
            Error::AttestationTopicMismatch { .. } => "attestation_topic_mismatch",
            Error::AttestationNonconformant { .. } => "attestation_nonconformant",
            Error::AttestationOutOfScope { .. } => "attestation_out_of_scope",
            Error::RecognitionOutOfScope { .. } => "recognition_out_of_scope",
            Error::AttestationExpired { .. } => "attestation_expired",
            Error::TierForbidden { .. } => "tier_forbidden",
            Error::RestrictedInvalid { .. } => "restricted_invalid",
            Error::RestrictedIssuerMismatch { .. } => "restricted_issuer_mismatch",
            Error::RestrictedSubjectMismatch { .. } => "restricted_subject_mismatch",
            Error::ReportInvalid { .. } => "report_invalid",
            Error::ReportSubjectMismatch { .. } => "report_subject_mismatch",
            Error::ReportArtifactMissing { .. } => "report_artifact_missing",
            Error::ReportDigestMismatch { .. } => "report_digest_mismatch",
            Error::ReportVerdictDiffers { .. } => "report_verdict_differs",
            Error::EvidencePackInvalid { .. } => "evidence_pack_invalid",
            Error::ReportInspectorWithdrawn { .. } => "report_inspector_withdrawn",
            Error::ReportEvidenceStale { .. } => "report_evidence_stale",
        }
    }

    /// Whether this error makes a verdict `invalid` or `unverifiable` (SPEC.md section 7),
    /// from [`CODES`], the one table of classes (the docs and the page read the same table).
    pub fn class(&self) -> Class {
        let code = self.code();
        CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .map_or(Class::Invalid, |(_, _, class)| *class)
    }

    /// The stage this error belongs to (from [`CODES`]).
    pub fn stage(&self) -> Stage {
        let code = self.code();
        CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .map_or(Stage::Decode, |(_, s, _)| *s)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InputTooLarge { what, limit } => {
                write!(f, "the {what} is larger than the {limit}-byte limit")
            }
            Error::UrlInvalid { reason } => write!(f, "the input is not a usable URL: {reason}"),
            Error::NoEmbeddedCredential { identifier } => write!(
                f,
                "the label names {identifier} but carries no signature: check it online"
            ),
            Error::ItemNotSerialised { identifier } => write!(
                f,
                "the label names {identifier}, a model or lot, not one serialised battery"
            ),
            Error::ElementStringInvalid { reason } => {
                write!(f, "the GS1 element string is malformed: {reason}")
            }
            Error::UntpLinkInvalid { reason } => {
                write!(f, "the UNTP verification link is malformed: {reason}")
            }
            Error::ResolverUnreachable { url, detail } => {
                write!(f, "the resolver at {url} could not be reached: {detail}")
            }
            Error::ResolutionLimit { detail } => {
                write!(f, "online resolution stopped at a limit: {detail}")
            }
            Error::LinksetInvalid { reason } => {
                write!(f, "the resolver's linkset is not valid: {reason}")
            }
            Error::UntpDecryptFailed { reason } => {
                write!(f, "the UNTP link's key does not decrypt the credential: {reason}")
            }
            Error::UntpHashMismatch => f.write_str(
                "the credential at the UNTP link's uri does not hash to the link's hash",
            ),
            Error::EventInvalid { reason } => {
                write!(f, "the lifecycle event is not valid: {reason}")
            }
            Error::LifecycleConflict { held, claimed } => write!(
                f,
                "the event says the battery was {claimed}, but it is {held}: recorded on a stale status"
            ),
            Error::LifecycleTransitionForbidden { from, to, reason } => {
                write!(f, "a battery that is {from} cannot become {to}: {reason}")
            }
            Error::PassportNotLinked { identifier } => write!(
                f,
                "the resolver links no passport to {identifier}"
            ),
            Error::DigitalLinkInvalid { reason } => {
                write!(f, "the URL path is not a GS1 Digital Link /01/{{gtin}}/21/{{serial}}: {reason}")
            }
            Error::GtinInvalid => f.write_str("the GTIN is not 14 digits with a correct check digit"),
            Error::SerialInvalid => {
                f.write_str("the serial number is empty, too long or has characters GS1 does not allow")
            }
            Error::FragmentNotNumeric { position } => write!(
                f,
                "the numeric fragment has a digit pair at position {position} that encodes no JWS character"
            ),
            Error::JwsMalformed => f.write_str("the credential is not a compact JWS with three parts"),
            Error::Base64urlInvalid { part } => {
                write!(f, "the JWS {part} is not minimal base64url without padding")
            }
            Error::InflateFailed => f.write_str("the compressed payload is corrupt"),
            Error::LimitExceeded { what, limit } => {
                write!(f, "{what} has more than {limit} members, the limit; it is refused, not read in part")
            }
            Error::InflateTooLarge { limit } => {
                write!(f, "the compressed payload inflates past the {limit}-byte limit")
            }
            Error::JsonNotUtf8 => f.write_str("the JSON is not valid UTF-8"),
            Error::JsonInvalid { detail } => write!(f, "the JSON is malformed: {detail}"),
            Error::JsonDuplicateMember { name } => {
                write!(f, "the JSON has the member \"{name}\" more than once")
            }
            Error::JsonNotObject => f.write_str("the JSON top level is not an object"),
            Error::ClaimInvalid { field, reason } => write!(f, "the member `{field}` {reason}"),
            Error::AlgUnsupported { alg } => {
                write!(f, "the signature algorithm \"{alg}\" is not allowed (only EdDSA/Ed25519)")
            }
            Error::TypUnexpected { expected, found } => {
                write!(f, "the JWS typ is \"{found}\" where \"{expected}\" is required")
            }
            Error::KidMissing => f.write_str("the JWS header has no kid"),
            Error::HeaderForbidden { name } => {
                write!(f, "the JWS header carries the forbidden member \"{name}\"")
            }
            Error::ZipUnsupported => {
                f.write_str("the JWS header asks for compression that is not allowed here")
            }
            Error::SignatureInvalid { reason } => {
                write!(f, "the signature does not verify: {reason}")
            }
            Error::KeyInvalid { reason } => write!(f, "the public key is not usable: {reason}"),
            Error::IssuerUnknown { iss } => {
                write!(f, "the issuer {iss} is in no trust list this verifier accepts")
            }
            Error::DidUnresolvable { did, reason } => {
                write!(f, "the DID document of {did} could not be used: {reason}")
            }
            Error::KeyUnknown { kid } => {
                write!(f, "the issuer lists no key \"{kid}\" in its current trust list")
            }
            Error::IssuerAmbiguous { iss, ecosystems } => write!(
                f,
                "the issuer {iss} is listed with this key by several ecosystems ({}), so it has no one home",
                ecosystems.join(", ")
            ),
            Error::GtinNotIssuer { gtin, iss } => write!(
                f,
                "the GTIN {gtin} is not among the GS1 company prefixes of the issuer {iss}"
            ),
            Error::KeyNotValidAtIat { iat, nbf, exp } => write!(
                f,
                "the credential was signed at {iat}, outside its key's validity ({} to {})",
                opt(*nbf),
                opt(*exp)
            ),
            Error::RoleMissing { needed } => {
                write!(f, "the issuer does not hold the role \"{needed}\"")
            }
            Error::RecognitionScope { eco, by } => {
                write!(f, "{by} recognises {eco}, but not for this role")
            }
            Error::RecognitionExpired { eco, by } => {
                write!(f, "{by}'s recognition of {eco} has ended")
            }
            Error::TrustListStale { eco, expired_for } => {
                write!(f, "the {eco} trust list expired {expired_for} seconds ago")
            }
            Error::TrustListRollback { eco, held, offered } => write!(
                f,
                "the {eco} trust list offered has seq {offered}, older than the seq {held} held"
            ),
            Error::TrustListUntrusted { eco } => {
                write!(f, "the {eco} trust list is signed by no pinned or recognised root")
            }
            Error::SubMismatch { sub, path } => write!(
                f,
                "the credential is for {sub} but was scanned from {path}"
            ),
            Error::AudienceMismatch { expected, found } => write!(
                f,
                "the request was made for the registry {found}, not for this one ({expected})"
            ),
            Error::OpMismatch { expected, found } => write!(
                f,
                "the request asks for the operation \"{found}\" on the route of \"{expected}\""
            ),
            Error::Expired { exp, now } => write!(f, "the credential expired at {exp} (now {now})"),
            Error::NotYetValid { iat, now } => {
                write!(f, "the credential is issued at {iat}, in the future (now {now})")
            }
            Error::Revoked => f.write_str("the issuer has revoked this credential"),
            Error::Suspended => f.write_str("the issuer has suspended this credential"),
            Error::Superseded => f.write_str("a newer passport exists for this battery"),
            Error::PassportCeased => f.write_str(
                "the battery was recycled and its passport has ceased to exist: a label still in \
                 circulation was copied or moved to another battery",
            ),
            Error::PredecessorDigestMismatch => f.write_str(
                "the original's latest passport version does not hash to the digest its \
                 successor lists",
            ),
            Error::PredecessorUnconfirmed { original } => write!(
                f,
                "no lifecycle event of {original} names this battery as its successor"
            ),
            Error::LineageFailed => f.write_str(
                "an original this battery's passport says it was made from did not verify",
            ),
            Error::LifecycleWaste => f.write_str(
                "the battery was declared waste: responsibility passed to its producer, a \
                 producer responsibility organisation or a waste operator",
            ),
            Error::StatusUnknown { list } => {
                write!(f, "the status list {list} is not available, so revocation is unknown")
            }
            Error::StatusStale { list, age } => {
                write!(f, "the status list {list} is out of date ({age} seconds old)")
            }
            Error::StatusListTooShort { entries } => {
                write!(f, "the status list has {entries} entries, fewer than the minimum 131072")
            }
            Error::StatusIndexOutOfRange { index, entries } => {
                write!(f, "status index {index} is past the end of a list of {entries}")
            }
            Error::StatusListRollback { list } => {
                write!(f, "a newer version of the status list {list} is already held")
            }
            Error::StatusListUntrusted { issuer } => write!(
                f,
                "the status list issuer {issuer} is no status authority of an accepted trust list"
            ),
            Error::StatusListForeign { list } => write!(
                f,
                "the status list {list} is not under the status base of an entity of its authority's trust list"
            ),
            Error::StatusListConflict { list } => write!(
                f,
                "two signed forms of the status list {list} have the same validFrom but different bits"
            ),
            Error::StatusDeltaBase { list } => write!(
                f,
                "the status delta for {list} applies to a version that is not the one held"
            ),
            Error::StatusListInvalid { reason } => {
                write!(f, "the status list credential is malformed: {reason}")
            }
            Error::DigestMismatch => {
                f.write_str("the full passport does not match the digest in the credential")
            }
            Error::PassportInvalid { detail } => write!(f, "the passport is malformed: {detail}"),
            Error::PassportIssuerMismatch {
                passport,
                credential,
            } => write!(
                f,
                "the passport is signed by {passport}, not by the label's issuer {credential}"
            ),
            Error::PassportSubjectMismatch { subject, battery } => {
                write!(f, "the passport is for {subject}, not for the battery {battery}")
            }
            Error::PassportChainBroken { version, reason } => {
                write!(f, "the passport's version chain breaks at version {version}: {reason}")
            }
            Error::DocumentDigestMismatch { expected, got } => write!(
                f,
                "the document hashes to {got}, not to the {expected} its link gives"
            ),
            Error::AttestationInvalid { detail } => {
                write!(f, "the attestation is malformed: {detail}")
            }
            Error::AttestationDigestMismatch { expected, got } => write!(
                f,
                "the attestation hashes to {got}, not to the {expected} the passport lists"
            ),
            Error::AttestationSubjectMismatch { subject } => write!(
                f,
                "the attestation is about {subject}, which is not what the passport lists for it"
            ),
            Error::AttestationTopicMismatch { topic } => {
                write!(f, "the attestation assesses nothing of the listed topic {topic}")
            }
            Error::AttestationNonconformant { topic } => {
                write!(f, "the attestation finds {topic} not conformant")
            }
            Error::AttestationOutOfScope { topic, materials } => write!(
                f,
                "the certifier is not accredited for {topic} {}",
                materials.join(", ")
            ),
            Error::RecognitionOutOfScope { topic, by } => {
                write!(f, "{by} does not recognise this certifier's ecosystem for {topic}")
            }
            Error::AttestationExpired {
                valid_from,
                valid_until,
                now,
            } => write!(
                f,
                "the attestation is valid from {valid_from} to {}, not at {now}",
                opt(*valid_until)
            ),
            Error::TierForbidden { tier } => {
                write!(f, "the requester's role may not read the {tier} tier")
            }
            Error::RestrictedInvalid { detail } => {
                write!(f, "the restricted section is malformed: {detail}")
            }
            Error::RestrictedIssuerMismatch { section, passport } => write!(
                f,
                "the restricted section is signed by {section}, not by the passport's issuer {passport}"
            ),
            Error::RestrictedSubjectMismatch { subject, battery } => write!(
                f,
                "the restricted section is about {subject}, not about the battery {battery}"
            ),
            Error::ReportInvalid { detail } => {
                write!(f, "the inspection report is malformed: {detail}")
            }
            Error::ReportSubjectMismatch { subject, battery } => write!(
                f,
                "the inspection report is about {subject}, but its evidence is about {battery}"
            ),
            Error::ReportArtifactMissing { artifact } => write!(
                f,
                "the report names {artifact}, which the evidence pack does not hold"
            ),
            Error::ReportDigestMismatch {
                artifact,
                expected,
                got,
            } => write!(
                f,
                "{artifact} in the evidence pack hashes to {got}, not to the {expected} the report names"
            ),
            Error::ReportVerdictDiffers {
                field,
                reported,
                recomputed,
            } => write!(
                f,
                "the report says {field} = {reported}, the evidence gives {recomputed}"
            ),
            Error::EvidencePackInvalid { detail } => {
                write!(f, "the evidence pack is malformed: {detail}")
            }
            Error::ReportInspectorWithdrawn {
                eco,
                held_seq,
                evidence_seq,
                reason,
            } => write!(
                f,
                "the verifier's trust list {eco} seq {held_seq}, newer than the evidence's seq \
                 {evidence_seq}, does not enrol the inspector: {reason}"
            ),
            Error::ReportEvidenceStale { artifact, detail } => {
                write!(f, "the report's evidence is overtaken: {artifact}: {detail}")
            }
        }
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

impl std::error::Error for Error {}

/// Every code with the variant's class, in one table (used by the docs tidy test and UIs).
pub const CODES: &[(&str, Stage, Class)] = &[
    ("input_too_large", Stage::Decode, Class::Invalid),
    ("url_invalid", Stage::Decode, Class::Invalid),
    ("no_embedded_credential", Stage::Decode, Class::Unverifiable),
    ("item_not_serialised", Stage::Decode, Class::Unverifiable),
    ("element_string_invalid", Stage::Decode, Class::Invalid),
    ("untp_link_invalid", Stage::Decode, Class::Invalid),
    ("digital_link_invalid", Stage::Decode, Class::Invalid),
    ("resolver_unreachable", Stage::Resolve, Class::Unverifiable),
    ("resolution_limit", Stage::Resolve, Class::Unverifiable),
    ("linkset_invalid", Stage::Resolve, Class::Unverifiable),
    ("passport_not_linked", Stage::Resolve, Class::Unverifiable),
    ("untp_decrypt_failed", Stage::Resolve, Class::Unverifiable),
    ("untp_hash_mismatch", Stage::Resolve, Class::Invalid),
    ("event_invalid", Stage::Status, Class::Invalid),
    ("lifecycle_conflict", Stage::Status, Class::Invalid),
    (
        "lifecycle_transition_forbidden",
        Stage::Status,
        Class::Invalid,
    ),
    ("gtin_invalid", Stage::Decode, Class::Invalid),
    ("serial_invalid", Stage::Decode, Class::Invalid),
    ("fragment_not_numeric", Stage::Decode, Class::Invalid),
    ("jws_malformed", Stage::Decode, Class::Invalid),
    ("base64url_invalid", Stage::Decode, Class::Invalid),
    ("inflate_failed", Stage::Decode, Class::Invalid),
    ("inflate_too_large", Stage::Decode, Class::Invalid),
    ("limit_exceeded", Stage::Decode, Class::Invalid),
    ("json_not_utf8", Stage::Decode, Class::Invalid),
    ("json_invalid", Stage::Decode, Class::Invalid),
    ("json_duplicate_member", Stage::Decode, Class::Invalid),
    ("json_not_object", Stage::Decode, Class::Invalid),
    ("claim_invalid", Stage::Decode, Class::Invalid),
    ("alg_unsupported", Stage::Signature, Class::Invalid),
    ("typ_unexpected", Stage::Signature, Class::Invalid),
    ("kid_missing", Stage::Signature, Class::Invalid),
    ("header_forbidden", Stage::Signature, Class::Invalid),
    ("zip_unsupported", Stage::Signature, Class::Invalid),
    ("signature_invalid", Stage::Signature, Class::Invalid),
    ("key_invalid", Stage::Trust, Class::Invalid),
    ("issuer_unknown", Stage::Trust, Class::Unverifiable),
    ("key_unknown", Stage::Trust, Class::Unverifiable),
    ("did_unresolvable", Stage::Trust, Class::Unverifiable),
    ("issuer_ambiguous", Stage::Trust, Class::Unverifiable),
    ("gtin_not_issuer", Stage::Trust, Class::Invalid),
    ("key_not_valid_at_iat", Stage::Trust, Class::Invalid),
    ("role_missing", Stage::Trust, Class::Invalid),
    ("recognition_scope", Stage::Trust, Class::Unverifiable),
    ("recognition_expired", Stage::Trust, Class::Unverifiable),
    ("trust_list_stale", Stage::Trust, Class::Unverifiable),
    ("trust_list_rollback", Stage::Trust, Class::Invalid),
    ("trust_list_untrusted", Stage::Trust, Class::Unverifiable),
    ("sub_mismatch", Stage::Binding, Class::Invalid),
    ("audience_mismatch", Stage::Binding, Class::Invalid),
    ("op_mismatch", Stage::Binding, Class::Invalid),
    ("expired", Stage::Time, Class::Invalid),
    ("not_yet_valid", Stage::Time, Class::Invalid),
    ("revoked", Stage::Status, Class::Invalid),
    ("suspended", Stage::Status, Class::Invalid),
    ("superseded", Stage::Status, Class::Notice),
    ("passport_ceased", Stage::Status, Class::Invalid),
    ("lifecycle_waste", Stage::Status, Class::Notice),
    (
        "predecessor_digest_mismatch",
        Stage::Passport,
        Class::Notice,
    ),
    ("predecessor_unconfirmed", Stage::Passport, Class::Notice),
    ("lineage_failed", Stage::Passport, Class::Notice),
    ("status_unknown", Stage::Status, Class::Unverifiable),
    ("status_stale", Stage::Status, Class::Unverifiable),
    ("status_list_too_short", Stage::Status, Class::Invalid),
    ("status_index_out_of_range", Stage::Status, Class::Invalid),
    ("status_list_rollback", Stage::Status, Class::Invalid),
    ("status_list_untrusted", Stage::Status, Class::Unverifiable),
    ("status_list_foreign", Stage::Status, Class::Unverifiable),
    ("status_list_conflict", Stage::Status, Class::Invalid),
    ("status_delta_base", Stage::Status, Class::Unverifiable),
    ("status_list_invalid", Stage::Status, Class::Invalid),
    ("digest_mismatch", Stage::Passport, Class::Invalid),
    ("passport_invalid", Stage::Passport, Class::Invalid),
    ("passport_issuer_mismatch", Stage::Passport, Class::Invalid),
    ("passport_subject_mismatch", Stage::Passport, Class::Invalid),
    ("passport_chain_broken", Stage::Passport, Class::Invalid),
    ("document_digest_mismatch", Stage::Passport, Class::Invalid),
    ("attestation_invalid", Stage::Attestations, Class::Notice),
    (
        "attestation_digest_mismatch",
        Stage::Attestations,
        Class::Notice,
    ),
    (
        "attestation_subject_mismatch",
        Stage::Attestations,
        Class::Notice,
    ),
    (
        "attestation_topic_mismatch",
        Stage::Attestations,
        Class::Notice,
    ),
    (
        "attestation_nonconformant",
        Stage::Attestations,
        Class::Notice,
    ),
    (
        "attestation_out_of_scope",
        Stage::Attestations,
        Class::Notice,
    ),
    (
        "recognition_out_of_scope",
        Stage::Attestations,
        Class::Notice,
    ),
    ("attestation_expired", Stage::Attestations, Class::Notice),
    ("tier_forbidden", Stage::Trust, Class::Invalid),
    ("restricted_invalid", Stage::Passport, Class::Invalid),
    (
        "restricted_issuer_mismatch",
        Stage::Passport,
        Class::Invalid,
    ),
    (
        "restricted_subject_mismatch",
        Stage::Passport,
        Class::Invalid,
    ),
    ("report_invalid", Stage::Decode, Class::Invalid),
    ("report_subject_mismatch", Stage::Binding, Class::Invalid),
    (
        "report_artifact_missing",
        Stage::Passport,
        Class::Unverifiable,
    ),
    ("report_digest_mismatch", Stage::Passport, Class::Invalid),
    ("report_verdict_differs", Stage::Passport, Class::Invalid),
    ("evidence_pack_invalid", Stage::Decode, Class::Invalid),
    ("report_inspector_withdrawn", Stage::Trust, Class::Invalid),
    ("report_evidence_stale", Stage::Status, Class::Invalid),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `class()` had its own match, which said `invalid` for
    /// `status_list_untrusted` while `CODES`, the docs and the page said `unverifiable`.
    #[test]
    fn class_and_stage_come_from_the_one_table() {
        let e = Error::StatusListUntrusted {
            issuer: "did:web:x".into(),
        };
        assert_eq!(e.class(), Class::Unverifiable);
        for e in [
            Error::IssuerAmbiguous {
                iss: "x".into(),
                ecosystems: vec![],
            },
            Error::StatusListForeign { list: "x".into() },
            Error::KeyUnknown { kid: "k".into() },
        ] {
            assert_eq!(e.class(), Class::Unverifiable, "{}", e.code());
        }
        assert_eq!(
            Error::GtinNotIssuer {
                gtin: "x".into(),
                iss: "y".into()
            }
            .class(),
            Class::Invalid
        );
        assert_eq!(Error::Superseded.class(), Class::Notice);
        // Every code appears once in the table.
        let mut codes: Vec<&str> = CODES.iter().map(|(c, _, _)| *c).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code is listed twice in CODES");
    }
}
