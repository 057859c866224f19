//! Inspector routes (SPEC.md sections 6.3 and 6.4): `POST /v1/restricted` (restricted
//! sections for an enrolled reader), `POST /v1/reports` (an inspection report, posted as it is)
//! and `GET /v1/reports/{gtin}/{serial}` (a battery's reports, to inspectors).
//!
//! Envelopes are authenticated on the blocking pool against the [`Gate`](crate::registry::Gate)
//! snapshot, and the data is read from the store, before the registry mutex is taken; under
//! it only the outcome is appended to the audit log with the request's `jti`. Answers are
//! `Cache-Control: no-store`: restricted data never rests in a shared cache.

use std::sync::{Arc, Mutex, RwLock};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use cellproof_core::{INSPECTOR_ROLES, RESTRICTED_READ_ROLES};

use super::passport::{battery_path, self_authenticating};
use super::{content_type_is, read_limited, AppState};
use crate::clock::Clock;
use crate::errors::{PublicError, ReadError, UpdateError, UploadError};
use crate::metrics::Metrics;
use crate::registry::{settled, Gate, ReadRequest, Registry, MAX_JWS_BODY};
use crate::store::Store;

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

/// What a read handler takes from the app state into its blocking closure.
struct Reader {
    registry: Arc<Mutex<Registry>>,
    slot: Arc<RwLock<Arc<Gate>>>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    /// The snapshot held when the request arrived.
    held: Arc<Gate>,
}

impl Reader {
    fn of(state: &AppState) -> Result<Self, ReadError> {
        let held = state
            .gate
            .read()
            .map(|g| g.clone())
            .map_err(|_| ReadError::Internal)?;
        Ok(Self {
            registry: state.registry.clone(),
            slot: state.gate.clone(),
            store: state.store.clone(),
            metrics: state.metrics.clone(),
            clock: state.clock.clone(),
            held,
        })
    }

    /// A read request authenticated: first against the snapshot held (a forged or malformed
    /// one is refused there, with no database round trip and no registry mutex: issue 16),
    /// then, on replicas, against the database's trust data now, not the last poll's
    /// ([`Registry::fresh_gate`], docs/deploy.md).
    fn authenticate(&self, envelope: &str) -> Result<ReadRequest, ReadError> {
        let (held, now) = (&self.held, self.clock.now());
        let first = match held.authenticate_read(envelope, now) {
            Err(ReadError::Envelope(e)) if settled(&e) => return Err(ReadError::Envelope(e)),
            r => r,
        };
        let fresh = Registry::fresh_gate(
            &self.registry,
            &self.slot,
            &*self.store,
            &self.metrics,
            held.clone(),
        )
        .map_err(store_failed)?;
        if Arc::ptr_eq(&fresh, held) {
            first
        } else {
            fresh.authenticate_read(envelope, now)
        }
    }
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
    let reader = Reader::of(state)?;
    web::block(move || {
        let r = reader.authenticate(&envelope)?;
        let Reader {
            registry,
            store,
            clock,
            ..
        } = reader;
        // Refused unlocked and unaudited: a requester that can never read sections.
        r.never_reads(&RESTRICTED_READ_ROLES, "inspector, recycler or repairer")?;
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
    let r = self_authenticating(&state, &req, payload, Registry::ingest_report).await;
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
    let reader = Reader::of(state)?;
    web::block(move || {
        let r = reader.authenticate(&envelope)?;
        let Reader {
            registry,
            store,
            clock,
            ..
        } = reader;
        // Refused unlocked and unaudited: report listings are for inspectors alone.
        r.never_reads(&INSPECTOR_ROLES, "inspector")?;
        let held = store.reports(&path).map_err(store_failed)?;
        let mut reg = registry.lock().map_err(|_| ReadError::Internal)?;
        reg.answer_reports(&r, &path, held, clock.now())
    })
    .await
    .map_err(|_| ReadError::Internal)?
}
