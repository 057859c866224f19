//! Errors as RFC 9457 `application/problem+json` with stable `type` URIs. Each handler family
//! has one error enum; each enum maps to a [`Problem`] in one place (its `ResponseError` impl),
//! with the core's error code in the extension member `code` where a core check failed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value};

/// Prefix of every problem `type` (stable; documented in `docs/server.md`).
pub const PROBLEM_BASE: &str = "https://cellproof.dev/problems/";

/// One problem document.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The last segment of the `type` URI, e.g. `jti-replayed`.
    pub kind: &'static str,
    /// HTTP status.
    pub status: StatusCode,
    /// Short, stable, human title.
    pub title: &'static str,
    /// This occurrence, in English.
    pub detail: String,
    /// The core's stable error code, when a core check failed.
    pub code: Option<&'static str>,
    /// Further extension members.
    pub extra: Map<String, Value>,
}

impl Problem {
    /// A problem without code or extensions.
    pub fn new(
        kind: &'static str,
        status: StatusCode,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            kind,
            status,
            title,
            detail: detail.into(),
            code: None,
            extra: Map::new(),
        }
    }

    /// Adds the core's error code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// The full `type` URI.
    pub fn type_uri(&self) -> String {
        format!("{PROBLEM_BASE}{}", self.kind)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("type".into(), self.type_uri().into());
        m.insert("title".into(), self.title.into());
        m.insert("status".into(), self.status.as_u16().into());
        m.insert("detail".into(), self.detail.clone().into());
        if let Some(code) = self.code {
            m.insert("code".into(), code.into());
        }
        Value::Object(m)
    }

    /// The HTTP response.
    pub fn response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        r.content_type("application/problem+json");
        if self.status == StatusCode::UNAUTHORIZED {
            r.insert_header(("WWW-Authenticate", "Bearer realm=\"cellproof-operator\""));
        }
        r.body(self.body().to_string())
    }

    /// 404 for a path the server does not serve.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new("not-found", StatusCode::NOT_FOUND, "Not found", detail)
    }

    /// 500: an internal failure (logged; the body says nothing more).
    pub fn internal() -> Self {
        Problem::new(
            "internal",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "the server failed; the change, if any, was not acknowledged",
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

/// A `problem+json` body for tests and clients: the `type` slug of a response body.
pub fn kind_of(body: &Value) -> Option<&str> {
    body.get("type")?.as_str()?.strip_prefix(PROBLEM_BASE)
}
