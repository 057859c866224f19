//! Issuer requests (SPEC.md section 6): `POST /v1/status` and `POST /v1/allocate`, each a
//! compact `status-update+jwt` as the body. The work runs on the blocking pool; the answer
//! is sent only once the change is committed to disk.

use actix_web::{web, HttpRequest, HttpResponse};

use super::{content_type_is, read_limited, AppState};
use crate::errors::UpdateError;
use crate::registry::{now, Registry, MAX_JWS_BODY};

async fn run<T: Send + 'static>(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    op: fn(&mut Registry, &[u8], u64) -> Result<T, UpdateError>,
) -> Result<T, UpdateError> {
    if !content_type_is(req, "application/jwt") {
        return Err(UpdateError::UnsupportedMediaType);
    }
    let body = read_limited(req, payload, MAX_JWS_BODY)
        .await
        .map_err(|_| UpdateError::Malformed {
            detail: "the body could not be read".into(),
            code: None,
        })?
        .ok_or(UpdateError::TooLarge {
            limit: MAX_JWS_BODY,
        })?;
    let registry = state.registry.clone();
    web::block(move || {
        let mut reg = registry.lock().map_err(|_| UpdateError::Internal)?;
        op(&mut reg, &body, now())
    })
    .await
    .map_err(|_| UpdateError::Internal)?
}

fn count<T>(state: &AppState, endpoint: &'static str, r: &Result<T, UpdateError>) {
    let outcome = match r {
        Ok(_) => "accepted",
        Err(e) => e.problem().kind,
    };
    state.metrics.outcome(endpoint, outcome);
    if let Err(e) = r {
        tracing::info!(endpoint, refused = outcome, detail = %e, "issuer request refused");
    }
}

/// `POST /v1/status`.
#[tracing::instrument(skip_all)]
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, UpdateError> {
    let r = run(&state, &req, payload, Registry::status_update).await;
    count(&state, "status", &r);
    let ack = r?;
    tracing::info!(list = %ack.url, index = ack.index, value = ack.value, "status updated");
    Ok(HttpResponse::Ok().json(ack))
}

/// `POST /v1/allocate`.
#[tracing::instrument(skip_all)]
pub async fn allocate(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, UpdateError> {
    let r = run(&state, &req, payload, Registry::allocate).await;
    count(&state, "allocate", &r);
    Ok(HttpResponse::Ok().json(r?))
}
