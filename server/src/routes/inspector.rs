//! Inspector routes (SPEC.md sections 6.3 and 6.4): `POST /v1/restricted` (restricted
//! sections for an enrolled reader), `POST /v1/reports` (an inspection report, posted as it is)
//! and `GET /v1/reports/{gtin}/{serial}` (a battery's reports, to inspectors).
//!
//! Envelopes are authenticated on the blocking pool against the [`Gate`](crate::registry::Gate)
//! snapshot, and the data is read from the store, before the registry mutex is taken; under
//! it only the outcome is appended to the audit log with the request's `jti`. Answers are
//! `Cache-Control: no-store`: restricted data never rests in a shared cache.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use cellproof_core::{check_report_upload, Jws, Typ, Via, MAX_REPORT};
use serde_json::Value;

use super::passport::{battery_path, jws_body};
use super::{content_type_is, read_limited, AppState};
use crate::errors::{PublicError, ReadError, UpdateError, UploadError};
use crate::registry::{ReadRequest, MAX_JWS_BODY};

fn count<T>(state: &AppState, endpoint: &'static str, r: &Result<T, ReadError>) {
    let outcome = match r {
        Ok(_) => "accepted",
        Err(e) => e.problem().kind,
    };
    state.metrics.outcome(endpoint, outcome);
    if let Err(e) = r {
        tracing::info!(endpoint, refused = outcome, detail = %e, "read refused");
    }
}

fn no_store(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

fn store_failed(e: impl std::fmt::Display) -> ReadError {
    tracing::error!(error = %e, "reading the store failed");
    ReadError::Internal
}

/// `POST /v1/restricted`: a `registry-request+jwt` `op: "read"` body `{item, tier}`.
#[tracing::instrument(skip_all)]
pub async fn restricted(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ReadError> {
    let r = restricted_inner(&state, &req, payload).await;
    count(&state, "restricted", &r);
    Ok(no_store(&r?))
}

async fn restricted_inner(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<crate::registry::RestrictedAnswer, ReadError> {
    if !content_type_is(req, "application/jwt") {
        return Err(ReadError::Envelope(UpdateError::UnsupportedMediaType));
    }
    let body = read_limited(req, payload, MAX_JWS_BODY)
        .await
        .map_err(|_| {
            ReadError::Envelope(UpdateError::Malformed {
                detail: "the body could not be read".into(),
                code: None,
            })
        })?
        .ok_or(ReadError::Envelope(UpdateError::TooLarge {
            limit: MAX_JWS_BODY,
        }))?;
    let envelope = std::str::from_utf8(&body)
        .map_err(|_| {
            ReadError::Envelope(UpdateError::Malformed {
                detail: "the body is not UTF-8".into(),
                code: None,
            })
        })?
        .to_owned();
    let gate = state
        .gate
        .read()
        .map(|g| g.clone())
        .map_err(|_| ReadError::Internal)?;
    let (registry, store, clock) = (
        state.registry.clone(),
        state.store.clone(),
        state.clock.clone(),
    );
    web::block(move || {
        let r = gate.authenticate_read(&envelope, clock.now())?;
        let decision = r.decide();
        // Read outside the mutex; nothing is answered before the read is recorded.
        let held = match &decision {
            Ok((path, _)) => store.restricted_sections(path).map_err(store_failed)?,
            Err(_) => Vec::new(),
        };
        let mut reg = registry.lock().map_err(|_| ReadError::Internal)?;
        reg.answer_restricted(&r, decision, held, clock.now())
    })
    .await
    .map_err(|_| ReadError::Internal)?
}

/// `POST /v1/reports`: an inspection report `vc+jwt`, stored under its SHA-256.
#[tracing::instrument(skip_all)]
pub async fn upload_report(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let r = async {
        let text = jws_body(&req, payload).await?;
        let gate = state
            .gate
            .read()
            .map(|g| g.clone())
            .map_err(|_| UploadError::Internal)?;
        let (registry, clock) = (state.registry.clone(), state.clock.clone());
        web::block(move || {
            let jws = Jws::parse(&text, Typ::Vc, MAX_REPORT).map_err(|e| UploadError::core(&e))?;
            let p = jws.unverified_payload();
            let iss = p
                .get("issuer")
                .and_then(|i| i.as_str().or_else(|| i.get("id").and_then(Value::as_str)))
                .unwrap_or_default()
                .to_owned();
            {
                let digest = cellproof_core::sha256_b64(text.as_bytes());
                let reg = registry.lock().map_err(|_| UploadError::Internal)?;
                if let Some(ack) = reg.report_ack(&digest) {
                    return Ok(ack);
                }
            }
            let checked = check_report_upload(&text, gate.report_store(&iss), clock.now())
                .map_err(|e| UploadError::core(&e))?;
            if gate.trust().via(&checked.eco) != Some(&Via::Pinned) {
                // As for reads: an inspector of an ecosystem this registry only recognises.
                return Err(UploadError::Refused {
                    code: "role_missing",
                    detail: format!(
                        "{} is an inspector of {}, which this registry only recognises",
                        checked.inspector, checked.eco
                    ),
                });
            }
            let mut reg = registry.lock().map_err(|_| UploadError::Internal)?;
            reg.store_report(checked, &text, clock.now())
        })
        .await
        .map_err(|_| UploadError::Internal)?
    }
    .await;
    let outcome = match &r {
        Ok(_) => "accepted",
        Err(e) => e.problem().kind,
    };
    state.metrics.outcome("reports", outcome);
    if let Err(e) = &r {
        tracing::info!(refused = outcome, detail = %e, "report refused");
    }
    Ok(HttpResponse::Ok().json(r?))
}

/// `GET /v1/reports/{gtin}/{serial}` with `Authorization: Cellproof <registry-request+jwt>`
/// (`op: "read"`, `item` the battery's path): the battery's reports, to inspectors.
#[tracing::instrument(skip_all, fields(path = %req.path()))]
pub async fn list_reports(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ReadError> {
    let r = list_reports_inner(&state, &req).await;
    count(&state, "reports.read", &r);
    Ok(no_store(&r?))
}

async fn list_reports_inner(
    state: &AppState,
    req: &HttpRequest,
) -> Result<crate::registry::ReportsAnswer, ReadError> {
    let path = battery_path(req, "/v1/reports").map_err(|e| match e {
        PublicError::DigitalLinkInvalid { code, detail } => ReadError::ItemInvalid { code, detail },
        _ => ReadError::Internal,
    })?;
    let envelope = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Cellproof "))
        .map(str::to_owned)
        .ok_or(ReadError::Unauthenticated)?;
    let gate = state
        .gate
        .read()
        .map(|g| g.clone())
        .map_err(|_| ReadError::Internal)?;
    let (registry, store, clock) = (
        state.registry.clone(),
        state.store.clone(),
        state.clock.clone(),
    );
    web::block(move || {
        let r: ReadRequest = gate.authenticate_read(&envelope, clock.now())?;
        let held = if r.is_inspector() {
            store.reports(&path).map_err(store_failed)?
        } else {
            Vec::new()
        };
        let mut reg = registry.lock().map_err(|_| ReadError::Internal)?;
        reg.answer_reports(&r, &path, held, clock.now())
    })
    .await
    .map_err(|_| ReadError::Internal)?
}
