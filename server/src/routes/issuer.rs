//! Issuer requests (SPEC.md section 6.1): `POST /v1/status` and `POST /v1/allocate`, each a
//! compact `registry-request+jwt` as the body. The request is parsed and verified (core) on
//! a snapshot of trust and bindings on the worker, outside any lock; the authenticated
//! request then goes to the group committer ([`crate::registry::Committer`]), which applies
//! it with the others waiting in one transaction, and the answer is sent once that group is
//! committed to disk.

use actix_web::{web, HttpRequest, HttpResponse};
use cellproof_core::Op;

use super::{content_type_is, read_limited, AppState};
use crate::errors::UpdateError;
use crate::registry::{IssuerAck, MAX_JWS_BODY};

async fn run(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    op: Op,
) -> Result<IssuerAck, UpdateError> {
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
    let gate = state
        .gate
        .read()
        .map(|g| g.clone())
        .map_err(|_| UpdateError::Internal)?;
    // One strict Ed25519 verification and a few hundred bytes of JSON (about 60 µs): done on
    // the worker, outside the registry mutex. A hop to the blocking pool and back cost more
    // than the check itself under load (`docs/BENCHMARKS.md`).
    let authenticated = gate.authenticate(&body, op, state.clock.now())?;
    let answer = match state.committer.try_submit(authenticated) {
        Ok(answer) => answer,
        // The committer's queue is full: wait for room off the worker (back-pressure).
        Err(authenticated) => {
            let committer = state.committer.clone();
            web::block(move || committer.submit(authenticated))
                .await
                .map_err(|_| UpdateError::Internal)??
        }
    };
    // Answered once the request's group is durable.
    answer.await.map_err(|_| UpdateError::Internal)?
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
    let r = run(&state, &req, payload, Op::Status).await;
    count(&state, "status", &r);
    let IssuerAck::Status(ack) = r? else {
        return Err(UpdateError::Internal);
    };
    tracing::info!(list = %ack.url, index = ack.index, value = ack.value, "status updated");
    Ok(HttpResponse::Ok().json(ack))
}

/// `POST /v1/lifecycle` (SPEC.md 1.2 section 6.2).
#[tracing::instrument(skip_all)]
pub async fn lifecycle(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, UpdateError> {
    let r = run(&state, &req, payload, Op::Lifecycle).await;
    count(&state, "lifecycle", &r);
    let IssuerAck::Lifecycle(ack) = r? else {
        return Err(UpdateError::Internal);
    };
    tracing::info!(item = %ack.item, status = ack.status.as_str(), "lifecycle event applied");
    Ok(HttpResponse::Ok().json(ack))
}

/// `POST /v1/allocate`.
#[tracing::instrument(skip_all)]
pub async fn allocate(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, UpdateError> {
    let r = run(&state, &req, payload, Op::Allocate).await;
    count(&state, "allocate", &r);
    let IssuerAck::Allocate(ack) = r? else {
        return Err(UpdateError::Internal);
    };
    Ok(HttpResponse::Ok().json(ack))
}
