//! The error enums of the three handler families (issuer requests, operator actions, public
//! reads), each mapped to a [`Problem`] in exactly one `ResponseError` impl.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::problem::Problem;

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
            E::Internal => Problem::internal(),
        }
    }
}

impl std::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.problem().fmt(f)
    }
}

impl ResponseError for UpdateError {
    fn status_code(&self) -> StatusCode {
        self.problem().status
    }
    fn error_response(&self) -> HttpResponse {
        self.problem().response()
    }
}

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

impl std::fmt::Display for OperatorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.problem().fmt(f)
    }
}

impl ResponseError for OperatorError {
    fn status_code(&self) -> StatusCode {
        self.problem().status
    }
    fn error_response(&self) -> HttpResponse {
        self.problem().response()
    }
}

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
    /// The web directory has no `index.html`.
    PageMissing,
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
            E::PageMissing => Problem::new(
                "page-missing",
                StatusCode::NOT_FOUND,
                "Verifier page missing",
                "the web directory has no index.html",
            ),
            E::Internal => Problem::internal(),
        }
    }
}

impl std::fmt::Display for PublicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.problem().fmt(f)
    }
}

impl ResponseError for PublicError {
    fn status_code(&self) -> StatusCode {
        self.problem().status
    }
    fn error_response(&self) -> HttpResponse {
        self.problem().response()
    }
}
