//! Operator actions behind the bearer token: trust-list upload, issuer onboarding, status
//! authority keys, and the audit log.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::{content_type_is, read_limited, AppState};
use crate::errors::OperatorError;
use crate::registry::{digest_hex, Onboard, Registry, MAX_JWS_BODY, MAX_TRUST_LIST_BODY};

/// Checks `Authorization: Bearer <token>` by comparing SHA-256 digests in constant time.
fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), OperatorError> {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(OperatorError::Unauthorized)?;
    let d: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
    let diff = d
        .iter()
        .zip(state.token_digest.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 {
        Ok(())
    } else {
        Err(OperatorError::Unauthorized)
    }
}

async fn body(
    req: &HttpRequest,
    payload: web::Payload,
    media: &'static str,
    limit: usize,
) -> Result<web::Bytes, OperatorError> {
    if !content_type_is(req, media) {
        return Err(OperatorError::UnsupportedMediaType { expected: media });
    }
    read_limited(req, payload, limit)
        .await
        .map_err(|_| OperatorError::Invalid {
            detail: "the body could not be read".into(),
        })?
        .ok_or(OperatorError::TooLarge { limit })
}

async fn with_registry<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut Registry) -> Result<T, OperatorError> + Send + 'static,
) -> Result<T, OperatorError> {
    let registry = state.registry.clone();
    web::block(move || {
        let mut reg = registry.lock().map_err(|_| OperatorError::Internal)?;
        f(&mut reg)
    })
    .await
    .map_err(|_| OperatorError::Internal)?
}

fn json<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, OperatorError> {
    serde_json::from_slice(bytes).map_err(|e| OperatorError::Invalid {
        detail: format!("the body is not the expected JSON: {e}"),
    })
}

/// `POST /v1/operator/trust-lists`: a `trust-list+jwt` signed offline by an ecosystem root.
#[tracing::instrument(skip_all)]
pub async fn upload_trust_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OperatorError> {
    authorize(&state, &req)?;
    let b = body(&req, payload, "application/jwt", MAX_TRUST_LIST_BODY).await?;
    let clock = state.clock.clone();
    let (accepted, warnings) = with_registry(&state, move |r| {
        r.upload_trust_list(&b, "operator", clock.now())
    })
    .await?;
    tracing::info!(eco = %accepted.eco, seq = accepted.seq, "trust list uploaded");
    Ok(HttpResponse::Ok().json(serde_json::json!({"accepted": accepted, "warnings": warnings})))
}

/// `GET /v1/operator/issuers`.
pub async fn list_issuers(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OperatorError> {
    authorize(&state, &req)?;
    let v = with_registry(&state, |r| Ok(r.issuers_json())).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// `POST /v1/operator/issuers`: `{"slug", "did", "lists": [...]}`.
#[tracing::instrument(skip_all)]
pub async fn onboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OperatorError> {
    authorize(&state, &req)?;
    let b = body(&req, payload, "application/json", MAX_JWS_BODY).await?;
    let o: Onboard = json(&b)?;
    let digest = digest_hex(&b);
    let clock = state.clock.clone();
    let v = with_registry(&state, move |r| {
        r.onboard(&o, digest, "operator", clock.now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// `GET /v1/operator/authority`.
pub async fn authority(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OperatorError> {
    authorize(&state, &req)?;
    let v = with_registry(&state, |r| Ok(r.authority_json())).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// `POST /v1/operator/authority/keys`: a new inactive status authority key.
#[tracing::instrument(skip_all)]
pub async fn new_key(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OperatorError> {
    authorize(&state, &req)?;
    let digest = digest_hex(b"");
    let clock = state.clock.clone();
    let v = with_registry(&state, move |r| r.new_authority_key(digest, clock.now())).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Activate {
    kid: String,
    #[serde(default)]
    force: bool,
}

/// `POST /v1/operator/authority/activate`: `{"kid", "force"?}`; re-signs every list.
#[tracing::instrument(skip_all)]
pub async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OperatorError> {
    authorize(&state, &req)?;
    let b = body(&req, payload, "application/json", MAX_JWS_BODY).await?;
    let a: Activate = json(&b)?;
    let digest = digest_hex(&b);
    let clock = state.clock.clone();
    let v = with_registry(&state, move |r| {
        r.activate_authority_key(&a.kid, a.force, digest, clock.now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /v1/audit?after=SEQ&limit=N`: the append-only audit log, oldest first.
pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OperatorError> {
    authorize(&state, &req)?;
    let q = web::Query::<AuditQuery>::from_query(req.query_string()).map_err(|e| {
        OperatorError::Invalid {
            detail: e.to_string(),
        }
    })?;
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let store = state.store.clone();
    let entries = web::block(move || store.audit(after, limit))
        .await
        .map_err(|_| OperatorError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "audit read failed");
            OperatorError::Internal
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "entries": entries })))
}
