//! Building and running the server (zero-to-production's `startup.rs`): bind first (port 0
//! in tests), derive the public URL from the bound address, open the store, load the
//! registry, set up the demo, then serve.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Compress, DefaultHeaders, Next};
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use tracing_actix_web::TracingLogger;

use crate::clock::Clock;
use crate::config::{check_exposure, check_operator_token, Config};
use crate::demo::{write_private, Demo};
use crate::metrics::Metrics;
use crate::registry::{random_bytes, Published, Registry, Settings};
use crate::routes::{configure, AppState};
use crate::store::{PostgresStore, SqliteStore, Store};

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    public_url: String,
    operator_token: String,
    manifest: Option<serde_json::Value>,
    server: Server,
    /// The demo's foreign origin (demo_foreign.rs), served beside the registry.
    foreign: Option<Server>,
    registry: Arc<Mutex<Registry>>,
    clock: Arc<dyn Clock>,
}

/// `did:web:{host}` of a URL (port dropped, as `cellproof_world::World` does).
pub fn did_web(url: &str) -> String {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or("localhost");
    format!("did:web:{host}")
}

fn operator_token(config: &Config) -> anyhow::Result<String> {
    if let Some(t) = &config.operator_token {
        check_operator_token(t)?;
        return Ok(t.clone());
    }
    let path = config.data_dir.join("operator-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        check_operator_token(&t).with_context(|| format!("the token in {}", path.display()))?;
        return Ok(t.trim().to_owned());
    }
    let b = random_bytes::<24>().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let t = cellproof_core::b64_encode(&b);
    write_private(&path, t.as_bytes()).context("writing the operator token")?;
    Ok(t)
}

async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = method_label(req.method());
    let start = std::time::Instant::now();
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "/{file}".into());
        m.request(&route, &method, res.status().as_u16(), start.elapsed());
    }
    Ok(res)
}

/// The metrics label of a method: the standard ones by name, any other as `OTHER` (a raw
/// method is client input: one label per invented method would grow the metrics without
/// bound).
pub fn method_label(m: &actix_web::http::Method) -> String {
    use actix_web::http::Method;
    let known = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ];
    if known.contains(m) {
        m.as_str().to_owned()
    } else {
        "OTHER".to_owned()
    }
}

/// The one Content-Security-Policy, with `extra` sources for `connect-src`.
macro_rules! csp {
    ($extra:literal) => {
        concat!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' https:",
            $extra,
            "; img-src 'self' data: blob:; style-src 'self'; worker-src 'self'; \
             manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        )
    };
}

/// The Content-Security-Policy of everything served. The page loads only its own scripts,
/// styles, worker and WebAssembly (`wasm-unsafe-eval` compiles the module, nothing else is
/// evaluated), and may not be framed. It fetches from this registry, and over https from the
/// resolver a label names (SPEC.md 2.2: a plain Digital Link of another registry, GS1's
/// resolver for an element string), directly, never through a proxy.
pub const CSP: &str = csp!("");

/// [`CSP`] for a development or demo server on http loopback: the page may also fetch from
/// other loopback origins over http (the demo's foreign resolver, a local one), as SPEC.md 2.2
/// lets a page served from loopback do.
pub const CSP_LOOPBACK: &str = csp!(" http://127.0.0.1:* http://localhost:*");

/// The security headers of every response: `(name, value)`, HSTS last and only over HTTPS.
pub(crate) const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Permissions-Policy",
        "camera=(self), microphone=(), geolocation=()",
    ),
    // Two years (the HSTS preload list's minimum is one).
    ("Strict-Transport-Security", "max-age=63072000"),
];

/// Security headers added to every response (a handler's own value wins).
fn security_headers(https: bool, csp: &'static str) -> DefaultHeaders {
    let n = if https { 5 } else { 4 };
    SECURITY_HEADERS
        .iter()
        .take(n)
        .map(|(k, v)| (*k, with_csp(k, v, csp)))
        .fold(DefaultHeaders::new(), |h, (k, v)| h.add((k, v)))
}

/// A security header's value, the policy in force for `Content-Security-Policy`.
pub(crate) fn with_csp(name: &str, value: &'static str, csp: &'static str) -> &'static str {
    if name == "Content-Security-Policy" {
        csp
    } else {
        value
    }
}

impl Application {
    /// Binds, loads and prepares the server.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        check_exposure(
            &config.listen,
            config.public_url.as_deref(),
            config.dev || config.demo,
        )?;
        let listener = TcpListener::bind(&config.listen)
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let token = operator_token(&config)?;
        let store: Arc<dyn Store> = match &config.database {
            Some(url) => {
                crate::config::check_database(url)?;
                let s = PostgresStore::open(url).context("opening the PostgreSQL store")?;
                tracing::info!(database = %s.target(), "store: PostgreSQL");
                Arc::new(s)
            }
            None => {
                Arc::new(SqliteStore::open(&config.data_dir).context("opening the SQLite store")?)
            }
        };
        let clock = config.clock.clone();
        let t = clock.now();
        let mut demo = if config.demo {
            Some(Demo::load_or_create(&config.data_dir, &public_url, t)?)
        } else {
            None
        };
        // The demo's world that is not Cellproof's, on a second loopback origin: the next port
        // when it is free, else any.
        let foreign_listener = match &demo {
            Some(_) => Some(
                TcpListener::bind((addr.ip(), addr.port().wrapping_add(1).max(1)))
                    .or_else(|_| TcpListener::bind((addr.ip(), 0)))
                    .context("binding the demo's foreign origin")?,
            ),
            None => None,
        };
        if let (Some(d), Some(l)) = (demo.as_mut(), &foreign_listener) {
            let origin = format!("http://{}", l.local_addr()?);
            d.foreign = Some(Arc::new(crate::demo_foreign::Foreign::build(
                &d.world, &origin, t,
            )?));
        }
        let mut pins = config.pinned_roots.clone();
        if let Some(d) = &demo {
            for (eco, pk) in d.pins() {
                if !pins.iter().any(|(e, _)| *e == eco) {
                    pins.push((eco, pk));
                }
            }
        }
        let settings = Settings {
            public_url: public_url.clone(),
            authority_did: config
                .authority_did
                .clone()
                .unwrap_or_else(|| did_web(&public_url)),
            freshness: config.freshness_secs,
            ttl: config.ttl_secs,
            max_document: config.max_document_bytes,
            document_quota: config.document_quota_bytes,
        };
        let published = Arc::new(Published::default());
        let registry = Registry::open(store.clone(), settings, &pins, published.clone(), t)?;
        let gate = registry.gate_handle();
        let registry = Arc::new(Mutex::new(registry));
        let manifest = match &demo {
            Some(d) => Some(d.ensure(&registry, t)?),
            None => None,
        };
        if let Some(url) = &config.database {
            crate::replica::start(url.clone(), registry.clone(), clock.clone())
                .context("starting the replica watch")?;
        }
        let committer = crate::registry::Committer::start(registry.clone(), clock.clone())
            .context("starting the group committer")?;
        let loopback_dev = (config.dev || config.demo)
            && !public_url.starts_with("https://")
            && addr.ip().is_loopback();
        let csp = if loopback_dev { CSP_LOOPBACK } else { CSP };
        let state = web::Data::new(AppState {
            registry: registry.clone(),
            committer,
            gate,
            clock: clock.clone(),
            published,
            store,
            metrics: Arc::new(Metrics::default()),
            token_digest: Sha256::digest(token.as_bytes()).into(),
            web_dir: config.web_dir.clone(),
            public_url: public_url.clone(),
            ttl: config.ttl_secs,
            roots_json: serde_json::json!({
                "roots": pins
                    .iter()
                    .map(|(eco, pk)| serde_json::json!({"eco": eco, "root": pk.to_jwk()}))
                    .collect::<Vec<_>>()
            })
            .to_string(),
            pack_gate: Default::default(),
            csp,
        });
        let web_dir = config.web_dir.clone();
        let https = public_url.starts_with("https://");
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(configure)
                // The page's files, precompressed copies by negotiation (static_files.rs).
                .default_service(crate::static_files::route(web_dir.clone()))
                .wrap(from_fn(track))
                // Public reads for browser verifiers on other origins (cors.rs).
                .wrap(from_fn(crate::cors::cors))
                .wrap(security_headers(https, csp))
                .wrap(Compress::default())
                .wrap(TracingLogger::default())
                // Outermost: published GETs answered from memory before logging, compression
                // and routing (routes/publish.rs; they keep their metrics and headers).
                .wrap(from_fn(crate::routes::published_fast_path))
        })
        // In-flight requests (and the blocking writes they wait on) finish on SIGTERM/ctrl-c.
        .shutdown_timeout(30);
        if let Some(w) = config.workers {
            server = server.workers(w.max(1));
        }
        let server = server.listen(listener)?.run();
        let foreign = match (
            foreign_listener,
            demo.as_ref().and_then(|d| d.foreign.clone()),
        ) {
            (Some(l), Some(f)) => Some(crate::demo_foreign::serve(l, f)?),
            _ => None,
        };
        Ok(Application {
            foreign,
            port: addr.port(),
            public_url,
            operator_token: token,
            manifest,
            server,
            registry,
            clock,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The public URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The operator bearer token in force.
    pub fn operator_token(&self) -> &str {
        &self.operator_token
    }

    /// The demo manifest, in demo mode.
    pub fn manifest(&self) -> Option<&serde_json::Value> {
        self.manifest.as_ref()
    }

    /// Serves until stopped (SIGTERM, SIGINT, or the server handle), re-signing lists in the
    /// background every second.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let registry = self.registry.clone();
        let clock = self.clock.clone();
        let ticker = tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_secs(1));
            loop {
                iv.tick().await;
                let (r, c) = (registry.clone(), clock.clone());
                let res = tokio::task::spawn_blocking(move || match r.lock() {
                    Ok(mut g) => g.tick(c.now()).map_err(|e| e.to_string()),
                    Err(_) => Err("registry lock poisoned".to_owned()),
                })
                .await;
                match res {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::debug!(resigned = n, "status lists re-signed"),
                    Ok(Err(e)) => tracing::error!(error = %e, "re-signing failed"),
                    Err(e) => tracing::error!(error = %e, "re-signing task failed"),
                }
            }
        });
        let foreign = self.foreign.map(|f| {
            let handle = f.handle();
            (tokio::spawn(f), handle)
        });
        let out = self.server.await;
        if let Some((task, handle)) = foreign {
            handle.stop(true).await;
            task.abort();
        }
        ticker.abort();
        out
    }
}
