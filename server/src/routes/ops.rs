//! Operations: `GET /healthz`, Prometheus `GET /metrics`, the OpenAPI document.

use actix_web::{web, HttpResponse};

use super::AppState;

/// The hand-written OpenAPI 3 document (`server/openapi.json`).
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /healthz`: the registry lock and the store answer.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let (store, registry) = (state.store.clone(), state.registry.clone());
    // Both checks block (the registry lock is held across fsyncs): off the worker.
    let ok = web::block(move || store.audit(i64::MAX - 1, 1).is_ok() && registry.lock().is_ok())
        .await
        .unwrap_or(false);
    if ok {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "unavailable"}))
    }
}

/// `GET /metrics`.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// `GET /v1/openapi.json`.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}
