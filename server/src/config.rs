//! Typed, layered configuration: defaults, then a TOML file, then `CELLPROOF_*` environment
//! variables, then the command line (zero-to-production's `configuration.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use cellproof_core::PublicKey;
use serde::Deserialize;

use crate::clock::{Clock, SystemClock};

/// Default freshness of a status list: `validUntil - validFrom` (one day).
pub const DEFAULT_FRESHNESS_SECS: u64 = 86_400;
/// Default cache lifetime of published artifacts (`ttl`, `Cache-Control: max-age`).
pub const DEFAULT_TTL_SECS: u64 = 300;
/// Shortest operator token accepted (a generated one is 32 base64url characters: 192 bits).
pub const MIN_OPERATOR_TOKEN: usize = 32;

/// The command line of `cellproof-server`.
#[derive(Debug, Default, clap::Parser)]
#[command(
    name = "cellproof-server",
    version,
    about = "Cellproof registry server"
)]
pub struct Cli {
    /// Data directory (SQLite database, keys, demo world).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// PostgreSQL instead of SQLite: `postgres://user@host:port/db` (libpq URL; `?options=-c
    /// search_path=NAME` picks a schema). `--data` still holds the keys and the demo world.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Listen address, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<String>,
    /// Create (first start) or reuse a demo world in the data directory.
    #[arg(long)]
    pub demo: bool,
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Public URL of the registry (default `http://{listen address}`).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Directory of the scanner page's static files.
    #[arg(long)]
    pub web_dir: Option<PathBuf>,
    /// Development setup: allows an `http://` public URL on a non-loopback listen address.
    #[arg(long)]
    pub dev: bool,
    /// A tool instead of the server.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands of `cellproof-server`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The audit log.
    Audit {
        /// What to do.
        #[command(subcommand)]
        action: AuditCommand,
    },
}

/// `cellproof-server audit ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Checks an exported copy of the audit log (`GET /v1/audit`) end to end: every hash
    /// link, and that the signed head (`GET /v1/audit/head`), verified with the status
    /// authority key listed in a trust list accepted under a pinned root, matches it.
    Verify {
        /// The exported log: `{"entries": [...]}` as `GET /v1/audit` answers, from seq 1;
        /// repeat for consecutive pages (`?after=SEQ&limit=10000`), in order.
        #[arg(long = "log", required = true)]
        logs: Vec<PathBuf>,
        /// The signed head (`audit-head+jwt`).
        #[arg(long)]
        head: PathBuf,
        /// A trust list (`trust-list+jwt`) listing the registry's status authority.
        #[arg(long = "trust-list", required = true)]
        trust_lists: Vec<PathBuf>,
        /// A pinned root: `eco=FILE` with the root's public JWK.
        #[arg(long = "root", required = true)]
        roots: Vec<String>,
    },
}

/// The configuration file, every member optional (`--config FILE`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`Config::data_dir`].
    pub data: Option<PathBuf>,
    /// See [`Config::database`].
    pub database: Option<String>,
    /// See [`Config::listen`].
    pub listen: Option<String>,
    /// See [`Config::public_url`].
    pub public_url: Option<String>,
    /// See [`Config::web_dir`].
    pub web_dir: Option<PathBuf>,
    /// See [`Config::operator_token`].
    pub operator_token: Option<String>,
    /// See [`Config::freshness_secs`].
    pub freshness_secs: Option<u64>,
    /// See [`Config::ttl_secs`].
    pub ttl_secs: Option<u64>,
    /// See [`Config::authority_did`].
    pub authority_did: Option<String>,
    /// Pinned ecosystem roots: `eco` -> public JWK.
    pub pinned_roots: Option<BTreeMap<String, serde_json::Value>>,
    /// See [`Config::demo`].
    pub demo: Option<bool>,
    /// See [`Config::workers`].
    pub workers: Option<usize>,
    /// See [`Config::dev`].
    pub dev: Option<bool>,
    /// See [`Config::max_document_bytes`].
    pub max_document_bytes: Option<usize>,
    /// See [`Config::document_quota_bytes`].
    pub document_quota_bytes: Option<u64>,
}

/// The server's configuration, fully resolved.
#[derive(Clone, Debug)]
pub struct Config {
    /// Data directory: `registry.sqlite3`, the operator token file, `demo/`.
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (`postgres://...`): the store is PostgreSQL instead of SQLite in
    /// `data_dir` (which still holds the operator token and the demo world).
    pub database: Option<String>,
    /// Listen address (`host:port`; port 0 in tests).
    pub listen: String,
    /// Public URL (no trailing slash); `None` means `http://{bound address}`.
    pub public_url: Option<String>,
    /// Directory of the scanner page (`index.html` and its assets).
    pub web_dir: PathBuf,
    /// Operator bearer token; `None` makes the server create one in `DIR/operator-token`.
    pub operator_token: Option<String>,
    /// `validUntil - validFrom` of status lists, in seconds.
    pub freshness_secs: u64,
    /// `credentialSubject.ttl` and `Cache-Control: max-age`, in seconds.
    pub ttl_secs: u64,
    /// DID of the status authority; default `did:web:{host of the public URL}`.
    pub authority_did: Option<String>,
    /// Pinned ecosystem roots that uploaded trust lists are checked against.
    pub pinned_roots: Vec<(String, PublicKey)>,
    /// Demo mode.
    pub demo: bool,
    /// HTTP worker threads (default: actix's, one per core).
    pub workers: Option<usize>,
    /// Development setup: an `http://` public URL may be served beyond loopback.
    pub dev: bool,
    /// The time source (tests inject a manual clock).
    pub clock: Arc<dyn Clock>,
    /// Largest document `PUT /v1/documents/{digest}` accepts (default 10 MiB).
    pub max_document_bytes: usize,
    /// Bytes of documents one uploader may hold (default 1 GiB).
    pub document_quota_bytes: u64,
}

impl Config {
    /// Defaults for a data directory: loopback, port 0, `web/`, one day, five minutes.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            database: None,
            listen: "127.0.0.1:0".into(),
            public_url: None,
            web_dir: PathBuf::from("web"),
            operator_token: None,
            freshness_secs: DEFAULT_FRESHNESS_SECS,
            ttl_secs: DEFAULT_TTL_SECS,
            authority_did: None,
            pinned_roots: Vec::new(),
            demo: false,
            workers: None,
            dev: false,
            clock: Arc::new(SystemClock),
            max_document_bytes: crate::registry::DEFAULT_MAX_DOCUMENT,
            document_quota_bytes: crate::registry::DEFAULT_DOCUMENT_QUOTA,
        }
    }

    /// Resolves the configuration: defaults, file, environment, command line.
    pub fn load(cli: &Cli) -> anyhow::Result<Self> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("CELLPROOF_"))
            .collect();
        let file = match cli
            .config
            .clone()
            .or_else(|| env.get("CELLPROOF_CONFIG").map(PathBuf::from))
        {
            Some(path) => read_file(&path)?,
            None => FileConfig::default(),
        };
        Self::layered(cli, file, &env)
    }

    /// Resolves the layers given explicitly (testable without touching the process).
    pub fn layered(
        cli: &Cli,
        file: FileConfig,
        env: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let mut c = Config::new("data");
        let e = |k: &str| env.get(k).cloned();
        let num = |k: &str| -> anyhow::Result<Option<u64>> {
            e(k).map(|v| {
                v.parse::<u64>()
                    .with_context(|| format!("{k} must be a number"))
            })
            .transpose()
        };
        if let Some(v) = file.data.or(e("CELLPROOF_DATA").map(PathBuf::from)) {
            c.data_dir = v;
        }
        c.database = e("CELLPROOF_DATABASE").or(file.database);
        if let Some(v) = e("CELLPROOF_LISTEN").or(file.listen) {
            c.listen = v;
        }
        c.public_url = e("CELLPROOF_PUBLIC_URL").or(file.public_url);
        if let Some(v) = e("CELLPROOF_WEB_DIR").map(PathBuf::from).or(file.web_dir) {
            c.web_dir = v;
        }
        c.operator_token = e("CELLPROOF_OPERATOR_TOKEN").or(file.operator_token);
        if let Some(v) = num("CELLPROOF_FRESHNESS_SECS")?.or(file.freshness_secs) {
            c.freshness_secs = v;
        }
        if let Some(v) = num("CELLPROOF_TTL_SECS")?.or(file.ttl_secs) {
            c.ttl_secs = v;
        }
        c.authority_did = e("CELLPROOF_AUTHORITY_DID").or(file.authority_did);
        let roots = match e("CELLPROOF_PINNED_ROOTS") {
            Some(json) => Some(
                serde_json::from_str::<BTreeMap<String, serde_json::Value>>(&json)
                    .context("CELLPROOF_PINNED_ROOTS must be a JSON object eco -> JWK")?,
            ),
            None => file.pinned_roots,
        };
        for (eco, jwk) in roots.unwrap_or_default() {
            let pk = PublicKey::from_jwk(&jwk)
                .map_err(|err| anyhow::anyhow!("pinned root of {eco}: {err}"))?;
            c.pinned_roots.push((eco, pk));
        }
        c.demo = file.demo.unwrap_or(false)
            || e("CELLPROOF_DEMO").is_some_and(|v| v == "1" || v == "true");
        c.workers = num("CELLPROOF_WORKERS")?
            .and_then(|w| usize::try_from(w).ok())
            .or(file.workers);
        if let Some(v) = num("CELLPROOF_MAX_DOCUMENT_BYTES")?
            .and_then(|v| usize::try_from(v).ok())
            .or(file.max_document_bytes)
        {
            c.max_document_bytes = v;
        }
        if let Some(v) = num("CELLPROOF_DOCUMENT_QUOTA_BYTES")?.or(file.document_quota_bytes) {
            c.document_quota_bytes = v;
        }
        // The command line wins over everything.
        if let Some(v) = &cli.data {
            c.data_dir = v.clone();
        }
        if let Some(v) = &cli.database {
            c.database = Some(v.clone());
        }
        if let Some(v) = &cli.listen {
            c.listen = v.clone();
        }
        if let Some(v) = &cli.public_url {
            c.public_url = Some(v.clone());
        }
        if let Some(v) = &cli.web_dir {
            c.web_dir = v.clone();
        }
        c.demo |= cli.demo;
        c.dev = file.dev.unwrap_or(false)
            || e("CELLPROOF_DEV").is_some_and(|v| v == "1" || v == "true")
            || cli.dev;
        if c.freshness_secs < 60 {
            bail!("freshness_secs must be at least 60");
        }
        if c.ttl_secs == 0 {
            bail!("ttl_secs must be positive");
        }
        if let Some(t) = &c.operator_token {
            check_operator_token(t)?;
        }
        if let Some(url) = &c.database {
            check_database(url)?;
        }
        if let Some(u) = &mut c.public_url {
            let trimmed = u.trim_end_matches('/').to_owned();
            if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
                bail!("public_url must start with http:// or https://");
            }
            *u = trimmed;
        }
        Ok(c)
    }
}

/// Refuses a `--database` that is not a PostgreSQL URL (SQLite needs no flag: it is the
/// default, in the data directory).
pub fn check_database(url: &str) -> anyhow::Result<()> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!(
            "--database takes a PostgreSQL URL (postgres://user@host:port/db); leave it out to \
             use SQLite in the data directory"
        );
    }
    Ok(())
}

/// Refuses an operator token shorter than [`MIN_OPERATOR_TOKEN`] characters.
pub fn check_operator_token(token: &str) -> anyhow::Result<()> {
    if token.trim().chars().count() < MIN_OPERATOR_TOKEN {
        bail!(
            "the operator token must be at least {MIN_OPERATOR_TOKEN} characters (a long random \
             string; leave it unset and the server generates one in DIR/operator-token)"
        );
    }
    Ok(())
}

/// Refuses to serve an `http://` public URL on a listen address beyond loopback, unless the
/// setup is marked as development (`--dev`, `dev = true`, `CELLPROOF_DEV=1`, or `--demo`):
/// issuers' requests and operators' tokens would cross the network in clear text.
pub fn check_exposure(
    listen: &str,
    public_url: Option<&str>,
    development: bool,
) -> anyhow::Result<()> {
    use std::net::ToSocketAddrs as _;
    let https = public_url.is_some_and(|u| u.starts_with("https://"));
    if https || development {
        return Ok(());
    }
    let addrs: Vec<std::net::SocketAddr> = listen
        .to_socket_addrs()
        .with_context(|| format!("resolving the listen address {listen}"))?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
        bail!(
            "refusing to listen on {listen} (beyond loopback) with the public URL {}: serve the \
             registry behind HTTPS and set public_url to its https:// address, or mark this a \
             development setup with --dev",
            public_url.unwrap_or("http://{listen address}")
        );
    }
    Ok(())
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading configuration {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing configuration {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_file_env_cli_in_order() {
        let file: FileConfig = toml::from_str(
            "listen = \"127.0.0.1:1\"\nttl_secs = 60\nweb_dir = \"site\"\noperator_token = \"ffffffffffffffffffffffffffffffff\"",
        )
        .unwrap();
        let env = BTreeMap::from([
            ("CELLPROOF_TTL_SECS".to_owned(), "120".to_owned()),
            ("CELLPROOF_OPERATOR_TOKEN".to_owned(), "e".repeat(32)),
        ]);
        let cli = Cli {
            listen: Some("127.0.0.1:2".into()),
            ..Cli::default()
        };
        let c = Config::layered(&cli, file, &env).unwrap();
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.ttl_secs, 120);
        assert_eq!(c.web_dir, PathBuf::from("site"));
        assert_eq!(c.operator_token, Some("e".repeat(32)));
        assert_eq!(c.freshness_secs, DEFAULT_FRESHNESS_SECS);
    }

    #[test]
    fn reads_pinned_roots_from_toml() {
        let jwk = cellproof_core::KeyPair::from_secret("r1", &[5; 32])
            .public()
            .to_jwk();
        let text = format!(
            "[pinned_roots]\ncatena-x = {{ kty = \"OKP\", crv = \"Ed25519\", x = {} }}\n",
            jwk["x"]
        );
        let file: FileConfig = toml::from_str(&text).unwrap();
        let c = Config::layered(&Cli::default(), file, &BTreeMap::new()).unwrap();
        assert_eq!(c.pinned_roots.len(), 1);
        assert_eq!(c.pinned_roots[0].0, "catena-x");
    }

    #[test]
    fn database_comes_from_file_env_or_cli_and_must_be_postgres() {
        let file: FileConfig = toml::from_str("database = \"postgres://a@h/db1\"").unwrap();
        let c = Config::layered(&Cli::default(), file, &BTreeMap::new()).unwrap();
        assert_eq!(c.database.as_deref(), Some("postgres://a@h/db1"));
        let env = BTreeMap::from([(
            "CELLPROOF_DATABASE".to_owned(),
            "postgresql://b@h/db2".to_owned(),
        )]);
        let c = Config::layered(&Cli::default(), FileConfig::default(), &env).unwrap();
        assert_eq!(c.database.as_deref(), Some("postgresql://b@h/db2"));
        let cli = Cli {
            database: Some("postgres://c@h/db3".into()),
            ..Cli::default()
        };
        let c = Config::layered(&cli, FileConfig::default(), &env).unwrap();
        assert_eq!(c.database.as_deref(), Some("postgres://c@h/db3"));
        let c = Config::layered(&Cli::default(), FileConfig::default(), &BTreeMap::new());
        assert_eq!(c.unwrap().database, None, "SQLite unless asked");
        for bad in [
            "sqlite:///tmp/x",
            "mysql://h/db",
            "/var/lib/registry.sqlite3",
            "",
        ] {
            let cli = Cli {
                database: Some(bad.into()),
                ..Cli::default()
            };
            let e = Config::layered(&cli, FileConfig::default(), &BTreeMap::new()).unwrap_err();
            assert!(e.to_string().contains("PostgreSQL URL"), "{bad}: {e}");
        }
    }

    #[test]
    fn short_operator_tokens_are_refused_at_start() {
        let env = BTreeMap::from([("CELLPROOF_OPERATOR_TOKEN".to_owned(), "hunter2".to_owned())]);
        let e = Config::layered(&Cli::default(), FileConfig::default(), &env).unwrap_err();
        assert!(e.to_string().contains("at least 32"), "{e}");
        let env = BTreeMap::from([("CELLPROOF_OPERATOR_TOKEN".to_owned(), "t".repeat(32))]);
        assert!(Config::layered(&Cli::default(), FileConfig::default(), &env).is_ok());
    }

    #[test]
    fn plain_http_beyond_loopback_needs_a_development_flag() {
        for listen in ["0.0.0.0:8080", "192.0.2.1:80", "[::]:8080"] {
            let e = check_exposure(listen, None, false).unwrap_err();
            assert!(e.to_string().contains("--dev"), "{listen}: {e}");
            let e = check_exposure(listen, Some("http://registry.example"), false).unwrap_err();
            assert!(e.to_string().contains("beyond loopback"), "{e}");
            check_exposure(listen, Some("https://registry.example"), false).unwrap();
            check_exposure(listen, None, true).unwrap();
        }
        for listen in ["127.0.0.1:0", "[::1]:8080", "localhost:8080"] {
            check_exposure(listen, None, false).unwrap();
        }
    }

    #[test]
    fn refuses_unknown_members_and_bad_roots() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        let env = BTreeMap::from([(
            "CELLPROOF_PINNED_ROOTS".to_owned(),
            "{\"x\": {\"kty\": \"RSA\"}}".to_owned(),
        )]);
        assert!(Config::layered(&Cli::default(), FileConfig::default(), &env).is_err());
    }
}
