//! Cellproof registry server: the thin actix-web service that verifiers sync from (trust
//! lists, W3C Bitstring status lists, the offline bundle) and issuers report to (signed
//! status updates and index allocation), on top of `cellproof-core` (SPEC.md sections 4-6).
//!
//! The library holds everything; `main.rs` parses the command line and calls
//! [`Application::build`]. Every signature check and every signed artifact goes through the
//! core; this crate adds HTTP, storage (SQLite behind the [`store::Store`] trait), time and
//! randomness.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let mut config = cellproof_server::Config::new("/tmp/registry");
//! config.listen = "127.0.0.1:0".into();
//! let app = cellproof_server::Application::build(config).await?;
//! println!("listening on {}", app.public_url());
//! app.run_until_stopped().await?;
//! # Ok(()) }
//! ```

// No panics on request paths (STYLE.md): tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod audit;
mod clock;
mod config;
mod cors;
mod demo;
mod demo_foreign;
mod errors;
mod metrics;
mod problem;
mod registry;
pub mod replica;
mod routes;
mod startup;
mod static_files;
pub mod store;
mod telemetry;

pub use audit::{verify_audit, verify_files as verify_audit_files, AuditError, AuditReport};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    check_exposure, AuditCommand, Cli, Command, Config, FileConfig, DEFAULT_FRESHNESS_SECS,
    DEFAULT_TTL_SECS, MIN_OPERATOR_TOKEN,
};
pub use demo::{Demo, Sample, ECOSYSTEMS};
pub use errors::{OperatorError, PublicError, UpdateError, UploadError};
pub use metrics::Metrics;
pub use problem::{kind_of, Problem, PROBLEM_BASE};
pub use registry::{
    now, valid_list_id, AllocateAck, Authenticated, DocumentAck, Gate, Onboard, PassportAck,
    Registry, Settings, UpdateAck, DEFAULT_MAX_DOCUMENT, HEAD_REFRESH, IAT_WINDOW, LIST_ENTRIES,
    MAX_ALLOCATE, MAX_JWS_BODY, MAX_LEAD, MAX_TRUST_LIST_BODY,
};
pub use routes::{OPENAPI, ROUTES};
pub use startup::{did_web, method_label, Application, CSP, CSP_LOOPBACK};
pub use telemetry::init as init_telemetry;
