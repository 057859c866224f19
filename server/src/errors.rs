//! The error enums of the three handler families (issuer requests, operator actions, public
//! reads), each mapped to a [`Problem`] in exactly one `ResponseError` impl.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::problem::Problem;

/// `Display` and actix's `ResponseError` for an error family with a `problem()` method: every
/// family answers with its problem+json the same way.
macro_rules! problem_response {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.problem().fmt(f)
            }
        }

        impl ResponseError for $t {
            fn status_code(&self) -> StatusCode {
                self.problem().status
            }
            fn error_response(&self) -> HttpResponse {
                self.problem().response()
            }
        }
    };
}

/// Refusals of `POST /v1/status` and `POST /v1/allocate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateError {
    /// `Content-Type` is not `application/jwt`.
    UnsupportedMediaType,
    /// The body is larger than the limit.
    TooLarge {
        /// Limit in bytes.
        limit: usize,
    },
    /// The body is not a well-formed request (core code when the core refused it).
    Malformed {
        /// What is wrong.
        detail: String,
        /// The core's code.
        code: Option<&'static str>,
    },
    /// The JWS `typ` is not `registry-request+jwt`.
    WrongTyp {
        /// What was found.
        detail: String,
    },
    /// `aud` is not this registry's public base URL (SPEC.md section 6.1).
    AudienceMismatch {
        /// The core's message.
        detail: String,
    },
    /// `op` is not the operation of the route.
    OpMismatch {
        /// The core's message.
        detail: String,
    },
    /// The issuer was onboarded before issuers were bound to an ecosystem.
    NotBound {
        /// The DID.
        iss: String,
    },
    /// `iat` is older than the window.
    IatStale {
        /// The request's `iat`.
        iat: u64,
        /// Server time.
        now: u64,
    },
    /// `iat` is further in the future than the window.
    IatInFuture {
        /// The request's `iat`.
        iat: u64,
        /// Server time.
        now: u64,
    },
    /// `iss` is in no accepted trust list.
    UnknownIssuer {
        /// The DID.
        iss: String,
    },
    /// The issuer was found but a trust check failed (key unknown, key window, role, ...).
    NotTrusted {
        /// The core's code.
        code: &'static str,
        /// The core's message.
        detail: String,
    },
    /// The signature does not verify under the key `kid` names.
    BadSignature {
        /// The core's code.
        code: &'static str,
    },
    /// The issuer does not own this list.
    ListNotOwned {
        /// The list id.
        list: String,
    },
    /// The index is beyond the list.
    IndexOutOfRange {
        /// The index.
        index: u64,
    },
    /// The index was never allocated.
    IndexNotAllocated {
        /// The index.
        index: u64,
    },
    /// The `jti` was seen before.
    JtiReplayed,
    /// A revocation cannot be undone (SPEC.md section 5: revocation is permanent).
    RevocationPermanent {
        /// The index.
        index: u64,
    },
    /// `count` is 0 or above the limit.
    CountInvalid {
        /// The count asked for.
        count: u64,
    },
    /// Not enough free indexes left.
    ListFull {
        /// Free indexes left.
        free: u64,
    },
    /// The lifecycle event is malformed, unverifiable, not the requester's or does not carry
    /// what its status must (SPEC.md 1.2 section 3.4).
    EventInvalid {
        /// What is wrong.
        detail: String,
    },
    /// The transition table does not allow it, for this signer or at all.
    TransitionForbidden {
        /// The core's message.
        detail: String,
    },
    /// `previousStatus` is not the held status (a stale event, or another got there first).
    LifecycleConflict {
        /// The core's message.
        detail: String,
    },
    /// The battery was recycled: its passport has ceased to exist, nothing follows.
    PassportCeased {
        /// The battery.
        path: String,
    },
    /// A successor passport already held does not list the battery among its predecessors.
    LineageMismatch {
        /// What does not match.
        detail: String,
    },
    /// The event (by its `id`) was applied already.
    EventReplayed {
        /// The event's id.
        id: String,
    },
    /// No battery with this path is registered here.
    ItemUnknown {
        /// The path.
        path: String,
    },
    /// Internal failure: nothing was acknowledged.
    Internal,
}

impl UpdateError {
    /// The problem document.
    pub fn problem(&self) -> Problem {
        use UpdateError as E;
        let bad = StatusCode::BAD_REQUEST;
        match self {
            E::UnsupportedMediaType => Problem::new(
                "unsupported-media-type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "send the compact JWS as the body with Content-Type: application/jwt",
            ),
            E::TooLarge { limit } => Problem::new(
                "body-too-large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large",
                format!("the body is larger than {limit} bytes"),
            ),
            E::Malformed { detail, code } => {
                let p = Problem::new("malformed-request", bad, "Malformed request", detail);
                match code {
                    Some(c) => p.with_code(c),
                    None => p,
                }
            }
            E::WrongTyp { detail } => Problem::new(
                "wrong-typ",
                bad,
                "Wrong JWS type",
                format!("expected typ registry-request+jwt: {detail}"),
            )
            .with_code("typ_unexpected"),
            E::AudienceMismatch { detail } => Problem::new(
                "audience-mismatch",
                bad,
                "Request made for another registry",
                detail.clone(),
            )
            .with_code("audience_mismatch"),
            E::OpMismatch { detail } => Problem::new(
                "op-mismatch",
                bad,
                "Request made for another operation",
                detail.clone(),
            )
            .with_code("op_mismatch"),
            E::NotBound { iss } => Problem::new(
                "issuer-not-bound",
                StatusCode::FORBIDDEN,
                "Issuer bound to no ecosystem",
                format!(
                    "{iss} was onboarded before issuers were bound to one ecosystem: the \
                     operator must onboard it again with \"eco\""
                ),
            ),
            E::IatStale { iat, now } => Problem::new(
                "iat-stale",
                bad,
                "Request too old",
                format!("iat {iat} is more than 300 s before the server time {now}"),
            ),
            E::IatInFuture { iat, now } => Problem::new(
                "iat-in-future",
                bad,
                "Request from the future",
                format!("iat {iat} is more than 300 s after the server time {now}"),
            ),
            E::UnknownIssuer { iss } => Problem::new(
                "unknown-issuer",
                StatusCode::FORBIDDEN,
                "Unknown issuer",
                format!("{iss} is an entity of no trust list this registry accepts"),
            )
            .with_code("issuer_unknown"),
            E::NotTrusted { code, detail } => Problem::new(
                "issuer-not-trusted",
                StatusCode::FORBIDDEN,
                "Issuer not trusted for this request",
                detail.clone(),
            )
            .with_code(code),
            E::BadSignature { code } => Problem::new(
                "bad-signature",
                StatusCode::UNAUTHORIZED,
                "Bad signature",
                "the signature does not verify under the issuer key named by kid",
            )
            .with_code(code),
            E::ListNotOwned { list } => Problem::new(
                "list-not-owned",
                StatusCode::FORBIDDEN,
                "List not owned",
                format!("the signer owns no list {list} on this registry"),
            ),
            E::IndexOutOfRange { index } => Problem::new(
                "index-out-of-range",
                bad,
                "Index out of range",
                format!("index {index} is beyond the list"),
            )
            .with_code("status_index_out_of_range"),
            E::IndexNotAllocated { index } => Problem::new(
                "index-not-allocated",
                StatusCode::CONFLICT,
                "Index never allocated",
                format!("index {index} was never allocated: use POST /v1/allocate first"),
            ),
            E::JtiReplayed => Problem::new(
                "jti-replayed",
                StatusCode::CONFLICT,
                "Replayed request",
                "this jti was seen before",
            ),
            E::RevocationPermanent { index } => Problem::new(
                "revocation-permanent",
                StatusCode::CONFLICT,
                "Revocation is permanent",
                format!("index {index} is revoked; a revocation cannot be cleared"),
            ),
            E::CountInvalid { count } => Problem::new(
                "count-invalid",
                bad,
                "Invalid count",
                format!(
                    "count {count} must be between 1 and {}",
                    crate::registry::MAX_ALLOCATE
                ),
            ),
            E::ListFull { free } => Problem::new(
                "list-full",
                StatusCode::CONFLICT,
                "List full",
                format!("only {free} free indexes are left in this list"),
            ),
            E::EventInvalid { detail } => Problem::new(
                "event-invalid",
                bad,
                "Invalid lifecycle event",
                detail.clone(),
            )
            .with_code("event_invalid"),
            E::TransitionForbidden { detail } => Problem::new(
                "transition-forbidden",
                StatusCode::FORBIDDEN,
                "Lifecycle transition forbidden",
                detail.clone(),
            )
            .with_code("lifecycle_transition_forbidden"),
            E::LifecycleConflict { detail } => Problem::new(
                "lifecycle-conflict",
                StatusCode::CONFLICT,
                "Lifecycle status changed",
                detail.clone(),
            )
            .with_code("lifecycle_conflict"),
            E::PassportCeased { path } => Problem::new(
                "passport-ceased",
                StatusCode::CONFLICT,
                "Passport ceased",
                format!(
                    "{path} was recycled: its passport has ceased to exist and nothing follows"
                ),
            )
            .with_code("passport_ceased"),
            E::LineageMismatch { detail } => Problem::new(
                "lineage-mismatch",
                StatusCode::CONFLICT,
                "Successor does not name this battery",
                detail.clone(),
            ),
            E::EventReplayed { id } => Problem::new(
                "event-replayed",
                StatusCode::CONFLICT,
                "Event applied already",
                format!("the event {id} was applied already: an event is applied once"),
            ),
            E::ItemUnknown { path } => Problem::new(
                "item-unknown",
                StatusCode::NOT_FOUND,
                "Unknown battery",
                format!("no battery {path} is registered here"),
            ),
            E::Internal => Problem::internal(),
        }
    }
}

problem_response!(UpdateError);

/// Refusals of operator actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorError {
    /// Missing or wrong bearer token.
    Unauthorized,
    /// Wrong `Content-Type`.
    UnsupportedMediaType {
        /// What is expected.
        expected: &'static str,
    },
    /// The body is larger than the limit.
    TooLarge {
        /// Limit in bytes.
        limit: usize,
    },
    /// The request is not usable.
    Invalid {
        /// What is wrong.
        detail: String,
    },
    /// The trust list failed a core check.
    TrustListRejected {
        /// The core's code.
        code: &'static str,
        /// The core's message.
        detail: String,
    },
    /// The trust list's `seq` is not above the held one.
    TrustListRollback {
        /// The core's message.
        detail: String,
    },
    /// The request conflicts with what is held.
    Conflict {
        /// What conflicts.
        detail: String,
    },
    /// The key to activate is not listed in every trust list.
    KeyNotListed {
        /// What is missing.
        detail: String,
    },
    /// Unknown authority key.
    UnknownKey {
        /// The kid.
        kid: String,
    },
    /// Internal failure.
    Internal,
}

impl OperatorError {
    /// The problem document.
    pub fn problem(&self) -> Problem {
        use OperatorError as E;
        let bad = StatusCode::BAD_REQUEST;
        match self {
            E::Unauthorized => Problem::new(
                "unauthorized",
                StatusCode::UNAUTHORIZED,
                "Operator token required",
                "send Authorization: Bearer <operator token>",
            ),
            E::UnsupportedMediaType { expected } => Problem::new(
                "unsupported-media-type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                format!("send Content-Type: {expected}"),
            ),
            E::TooLarge { limit } => Problem::new(
                "body-too-large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large",
                format!("the body is larger than {limit} bytes"),
            ),
            E::Invalid { detail } => {
                Problem::new("invalid-request", bad, "Invalid request", detail.clone())
            }
            E::TrustListRejected { code, detail } => Problem::new(
                "trust-list-rejected",
                StatusCode::UNPROCESSABLE_ENTITY,
                "Trust list rejected",
                detail.clone(),
            )
            .with_code(code),
            E::TrustListRollback { detail } => Problem::new(
                "trust-list-rollback",
                StatusCode::CONFLICT,
                "Trust list rollback",
                detail.clone(),
            )
            .with_code("trust_list_rollback"),
            E::Conflict { detail } => {
                Problem::new("conflict", StatusCode::CONFLICT, "Conflict", detail.clone())
            }
            E::KeyNotListed { detail } => Problem::new(
                "authority-key-not-listed",
                StatusCode::CONFLICT,
                "Authority key not listed",
                detail.clone(),
            ),
            E::UnknownKey { kid } => Problem::new(
                "authority-key-unknown",
                StatusCode::NOT_FOUND,
                "Unknown authority key",
                format!("no authority key {kid}"),
            ),
            E::Internal => Problem::internal(),
        }
    }
}

problem_response!(OperatorError);

/// Refusals of public reads: publication and the Digital Link resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicError {
    /// Nothing is published under this path.
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// The Digital Link path is invalid.
    DigitalLinkInvalid {
        /// The core's code.
        code: &'static str,
        /// The core's message.
        detail: String,
    },
    /// The full passport (SPEC.md section 3) is not held by this registry.
    PassportNotHeld,
    /// A pack request that names no battery, too many, or an invalid one.
    PackInvalid {
        /// Why.
        detail: String,
    },
    /// No link of the asked `linkType` (GS1 Digital Link resolver, `?linkType=`).
    LinkTypeNotFound {
        /// The link type asked for.
        link_type: String,
    },
    /// The web directory has no `index.html`.
    PageMissing,
    /// `GET /v1/status-compact?since=` with something other than Unix seconds or a cursor.
    SinceInvalid,
    /// `GET /v1/passports/{gtin}/{serial}?at=` with something other than one RFC 3339
    /// date-time (SPEC.md 1.2 section 6.2).
    AtInvalid,
    /// `/v1/pack` past its bound of packs at once or bytes per second (`Retry-After`).
    PackBusy,
    /// Internal failure.
    Internal,
}

impl PublicError {
    /// The problem document.
    pub fn problem(&self) -> Problem {
        use PublicError as E;
        match self {
            E::NotFound { what } => Problem::not_found(format!("nothing is published at {what}")),
            E::DigitalLinkInvalid { code, detail } => Problem::new(
                "digital-link-invalid",
                StatusCode::BAD_REQUEST,
                "Invalid GS1 Digital Link",
                detail.clone(),
            )
            .with_code(code),
            E::PassportNotHeld => Problem::new(
                "passport-not-held",
                StatusCode::NOT_FOUND,
                "No passport held",
                "this registry holds no full passport (vc+jwt) for this item",
            ),
            E::PackInvalid { detail } => Problem::new(
                "pack-invalid",
                StatusCode::BAD_REQUEST,
                "Invalid pack request",
                detail.clone(),
            ),
            E::LinkTypeNotFound { link_type } => Problem::new(
                "link-type-not-found",
                StatusCode::NOT_FOUND,
                "No link of this type",
                format!("this item has no link of type {link_type}"),
            ),
            E::PageMissing => Problem::new(
                "page-missing",
                StatusCode::NOT_FOUND,
                "Verifier page missing",
                "the web directory has no index.html",
            ),
            E::SinceInvalid => Problem::new(
                "since-invalid",
                StatusCode::BAD_REQUEST,
                "Invalid since",
                "since must be a Cellproof-Cursor value or a validFrom in Unix seconds (0 to 2^64 - 1)",
            ),
            E::AtInvalid => Problem::new(
                "at-invalid",
                StatusCode::BAD_REQUEST,
                "Invalid at",
                "at must be one RFC 3339 date-time, e.g. 2027-03-14T09:00:00Z",
            ),
            E::PackBusy => Problem::new(
                "pack-busy",
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many packs",
                "the registry builds a bounded number of packs at once and per second; retry after the time in Retry-After",
            ),
            E::Internal => Problem::internal(),
        }
    }
}

problem_response!(PublicError);

/// Refusals of `POST /v1/passports`, `POST /v1/attestations` and `PUT /v1/documents/{digest}`
/// (SPEC.md section 6.2). A refusal by the core's checks carries the core's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadError {
    /// Wrong `Content-Type`.
    UnsupportedMediaType {
        /// What to send.
        expected: &'static str,
    },
    /// The body is over the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not a compact JWS at all (not UTF-8, unreadable).
    Malformed {
        /// Why.
        detail: String,
    },
    /// The core refused the artifact: its code decides the problem type.
    Refused {
        /// The core's code.
        code: &'static str,
        /// The core's sentence.
        detail: String,
    },
    /// The passport's issuer is not onboarded (bound to a home ecosystem) on this registry.
    NotOnboarded {
        /// The issuer.
        iss: String,
    },
    /// A document upload without `Authorization: Cellproof <registry-request+jwt>`.
    Unauthenticated,
    /// The envelope failed (audience, operation, time, trust, signature, replay).
    Envelope(UpdateError),
    /// The envelope's `digest` is not the URL's.
    EnvelopeDigest {
        /// The URL's digest.
        path: String,
        /// The envelope's.
        signed: String,
    },
    /// The URL's digest is not a base64url SHA-256.
    DigestInvalid,
    /// The document would take its uploader past the per-uploader storage quota
    /// (`document_quota_bytes`): nothing was stored.
    QuotaExceeded {
        /// The uploader.
        iss: String,
        /// Bytes its documents hold now.
        used: u64,
        /// This document's size.
        size: u64,
        /// The quota.
        quota: u64,
    },
    /// Storage failed.
    Internal,
}

impl UploadError {
    /// The core error as a refusal.
    pub fn core(e: &cellproof_core::Error) -> UploadError {
        UploadError::Refused {
            code: e.code(),
            detail: e.to_string(),
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        use UploadError as E;
        let bad = StatusCode::BAD_REQUEST;
        match self {
            E::UnsupportedMediaType { expected } => Problem::new(
                "unsupported-media-type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                format!("send Content-Type: {expected}"),
            ),
            E::TooLarge { limit } => Problem::new(
                "body-too-large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large",
                format!("the body is larger than {limit} bytes"),
            ),
            E::Malformed { detail } => Problem::new(
                "malformed-request",
                bad,
                "Malformed request",
                detail.clone(),
            ),
            E::Refused { code, detail } => {
                let (kind, status, title) = match *code {
                    "passport_chain_broken" => (
                        "passport-chain-broken",
                        StatusCode::CONFLICT,
                        "Not the next version of the passport held",
                    ),
                    "passport_issuer_mismatch" => (
                        "passport-issuer-mismatch",
                        StatusCode::CONFLICT,
                        "Another issuer holds this battery's passport",
                    ),
                    "restricted_issuer_mismatch" => (
                        "restricted-issuer-mismatch",
                        StatusCode::FORBIDDEN,
                        "Restricted section not by the passport's issuer",
                    ),
                    "restricted_subject_mismatch" => (
                        "restricted-subject-mismatch",
                        bad,
                        "Restricted section about another battery",
                    ),
                    "gtin_not_issuer" => (
                        "gtin-not-issuer",
                        StatusCode::FORBIDDEN,
                        "GTIN outside the issuer's company prefixes",
                    ),
                    "attestation_out_of_scope" => (
                        "attestation-out-of-scope",
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Outside the certifier's accreditation",
                    ),
                    "recognition_out_of_scope" => (
                        "recognition-out-of-scope",
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Outside the recognition's scope",
                    ),
                    "document_digest_mismatch" => (
                        "document-digest-mismatch",
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "The bytes do not hash to the digest",
                    ),
                    "document_not_linked" => (
                        "document-not-linked",
                        StatusCode::FORBIDDEN,
                        "Another issuer's passport links this document",
                    ),
                    "signature_invalid" => {
                        ("bad-signature", StatusCode::UNAUTHORIZED, "Bad signature")
                    }
                    "issuer_unknown" => ("unknown-issuer", StatusCode::FORBIDDEN, "Unknown issuer"),
                    "key_unknown" | "role_missing" | "key_expired" | "key_not_yet_valid"
                    | "issuer_ambiguous" | "not_recognized" | "trust_list_expired" => (
                        "issuer-not-trusted",
                        StatusCode::FORBIDDEN,
                        "Issuer not trusted for this upload",
                    ),
                    _ => ("artifact-invalid", bad, "Invalid passport or attestation"),
                };
                Problem::new(kind, status, title, detail.clone()).with_code(code)
            }
            E::NotOnboarded { iss } => Problem::new(
                "issuer-not-onboarded",
                StatusCode::FORBIDDEN,
                "Issuer not onboarded",
                format!(
                    "{iss} is not onboarded on this registry: the operator binds an issuer to \
                     its home ecosystem before it publishes passports"
                ),
            ),
            E::Unauthenticated => Problem::new(
                "unauthenticated",
                StatusCode::UNAUTHORIZED,
                "Signed request required",
                "send Authorization: Cellproof <registry-request+jwt with op document and the \
                 digest>",
            ),
            E::Envelope(e) => e.problem(),
            E::EnvelopeDigest { path, signed } => Problem::new(
                "envelope-digest-mismatch",
                bad,
                "Request signed for another document",
                format!("the URL names {path} but the signed request names {signed}"),
            ),
            E::DigestInvalid => Problem::new(
                "digest-invalid",
                bad,
                "Invalid digest",
                "a document's hashDigest is the base64url SHA-256 of its bytes (43 characters)",
            ),
            E::QuotaExceeded {
                iss,
                used,
                size,
                quota,
            } => Problem::new(
                "document-quota-exceeded",
                StatusCode::PAYLOAD_TOO_LARGE,
                "Document storage quota exceeded",
                format!(
                    "{iss}'s documents hold {used} bytes; this one ({size} bytes) would take \
                     them past the quota of {quota} bytes per uploader"
                ),
            )
            .with_code("document_quota_exceeded"),
            E::Internal => Problem::internal(),
        }
    }
}

problem_response!(UploadError);

/// Refusals of the inspector routes that read (SPEC.md sections 6.3 and 6.4):
/// `POST /v1/restricted` and `GET /v1/reports/{gtin}/{serial}`. Refusals after the requester
/// was authenticated (role, tier, item) are in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The envelope failed before the requester was authenticated, or its `jti` was seen
    /// (media type, size, form, `typ`, audience, operation, time, trust, signature, replay).
    Envelope(UpdateError),
    /// A report listing without `Authorization: Cellproof <registry-request+jwt>`.
    Unauthenticated,
    /// The requester's reader role comes from an ecosystem this registry only recognises: it
    /// reads as an entity of an ecosystem the registry pins, or not at all.
    NotHome {
        /// The requester.
        iss: String,
        /// The ecosystem that lists it.
        eco: String,
    },
    /// The requester holds no role that reads this (`role_missing`).
    RoleMissing {
        /// The requester.
        iss: String,
        /// What reading needs.
        needed: &'static str,
    },
    /// The requester's role may not read the tier asked for (`tier_forbidden`).
    TierForbidden {
        /// The tier asked for.
        tier: String,
    },
    /// `tier` is neither `legitimate-interest` nor `authority`.
    TierInvalid {
        /// What was sent.
        tier: String,
    },
    /// `item` is not a Digital Link path.
    ItemInvalid {
        /// The core's code.
        code: &'static str,
        /// The core's sentence.
        detail: String,
    },
    /// The signed `item` is not the battery of the URL.
    ItemMismatch {
        /// The URL's battery.
        path: String,
        /// The signed one.
        signed: String,
    },
    /// The registry holds nothing about this battery.
    ItemUnknown {
        /// The battery.
        item: String,
    },
    /// Internal failure: nothing was answered.
    Internal,
}

impl ReadError {
    /// A core policy refusal ([`cellproof_core::readable_tiers`]) for `iss` asking `tier`.
    pub fn policy(e: &cellproof_core::Error, iss: &str, tier: &str) -> ReadError {
        match e {
            cellproof_core::Error::TierForbidden { .. } => ReadError::TierForbidden {
                tier: tier.to_owned(),
            },
            _ => ReadError::RoleMissing {
                iss: iss.to_owned(),
                needed: "inspector, recycler or repairer",
            },
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        use ReadError as E;
        let bad = StatusCode::BAD_REQUEST;
        match self {
            E::Envelope(e) => e.problem(),
            E::Unauthenticated => Problem::new(
                "unauthenticated",
                StatusCode::UNAUTHORIZED,
                "Signed request required",
                "send Authorization: Cellproof <registry-request+jwt with op read, the item and \
                 a tier>, signed by an enrolled inspector",
            ),
            E::NotHome { iss, eco } => Problem::new(
                "reader-not-home",
                StatusCode::FORBIDDEN,
                "Reader not enrolled in an ecosystem this registry pins",
                format!(
                    "{iss} is listed by {eco}, which this registry only recognises: restricted \
                     data and reports are read by entities of the ecosystems it pins"
                ),
            )
            .with_code("role_missing"),
            E::RoleMissing { iss, needed } => Problem::new(
                "role-missing",
                StatusCode::FORBIDDEN,
                "Role missing",
                format!("{iss} does not hold the role this read needs ({needed})"),
            )
            .with_code("role_missing"),
            E::TierForbidden { tier } => Problem::new(
                "tier-forbidden",
                StatusCode::FORBIDDEN,
                "Tier forbidden",
                format!("the requester's role may not read the {tier} tier"),
            )
            .with_code("tier_forbidden"),
            E::TierInvalid { tier } => Problem::new(
                "tier-invalid",
                bad,
                "Invalid tier",
                format!("tier {tier:?} must be legitimate-interest or authority"),
            )
            .with_code("claim_invalid"),
            E::ItemInvalid { code, detail } => Problem::new(
                "digital-link-invalid",
                bad,
                "Invalid GS1 Digital Link",
                detail.clone(),
            )
            .with_code(code),
            E::ItemMismatch { path, signed } => Problem::new(
                "item-mismatch",
                bad,
                "Request signed for another battery",
                format!("the URL names {path} but the signed request names {signed}"),
            ),
            E::ItemUnknown { item } => Problem::new(
                "item-unknown",
                StatusCode::NOT_FOUND,
                "Unknown battery",
                format!("this registry holds no passport or restricted data for {item}"),
            ),
            E::Internal => Problem::internal(),
        }
    }
}

problem_response!(ReadError);
