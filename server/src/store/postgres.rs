//! The PostgreSQL backend (`--database postgres://...`): the tables of the SQLite store in one
//! PostgreSQL schema (the first of the connection's `search_path`), created and upgraded by
//! the versioned migrations in `server/migrations/`, applied in order inside one transaction
//! and recorded in `schema_migrations`.
//!
//! The driver is `tokio-postgres` on a small runtime of the store's own (one thread): the
//! [`Store`] methods block their caller until the runtime answers, so they may be called
//! from any thread, the actix workers' blocking pool or start-up alike. Connections are
//! pooled (at most [`POOL`]); a connection that broke is replaced on the next call.
//!
//! Durability: a commit returns after PostgreSQL answered `COMMIT` with
//! `synchronous_commit` at least `on` (a session that finds it `off` turns it on), so the
//! change is flushed to the WAL (and to a synchronous standby where the operator configured
//! one). Several processes may share the database (replicas): `jti`s are refused by the
//! primary key, status bits are applied to the stored bits and allocated indexes claimed in
//! the stored bitmap under a row lock (an index set since is a conflict, never handed out
//! twice), a signed list is recorded only over the version it replaces with a later
//! `validFrom` (migration 4), and every append to the audit chain locks the one `audit_head`
//! row until `COMMIT`, so the chain never forks.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{
    Client, Config as PgConfig, GenericClient, NoTls, Row, Statement, Transaction,
};

use super::{
    AttestationRow, AuditEntry, AuthorityKeyRow, Batch, EventRow, IssuerRow, ItemRow, ListRow,
    PassportRow, Probed, ReportRow, RestrictedRow, Snapshot, StatusRow, Store, StoreError,
};

/// The migrations, in order: `(version, name, SQL)`. Never edit an applied one (its
/// checksum is recorded): append the next.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "reports",
        include_str!("../../migrations/0002_reports.sql"),
    ),
    (
        3,
        "versions",
        include_str!("../../migrations/0003_versions.sql"),
    ),
    (
        4,
        "claims",
        include_str!("../../migrations/0004_claims.sql"),
    ),
    (
        5,
        "trust_versions",
        include_str!("../../migrations/0005_trust_versions.sql"),
    ),
    (
        6,
        "document_uploader",
        include_str!("../../migrations/0006_document_uploader.sql"),
    ),
    (
        7,
        "accepted_at",
        include_str!("../../migrations/0007_accepted_at.sql"),
    ),
    (
        8,
        "lifecycle_events",
        include_str!("../../migrations/0008_lifecycle_events.sql"),
    ),
];

/// Bumps the change version once for this transaction (first thing in a commit that writes
/// issuers, lists or status lists: the row lock is taken before any status row's, in one
/// order for every writer) and returns it; rows written later in the transaction get it
/// from the trigger of migration 3.
const BUMP_VERSION: &str = "UPDATE registry_version SET version = version + 1, \
     txid = txid_current() WHERE id = 1 AND txid IS DISTINCT FROM txid_current() \
     RETURNING version";

/// Connections one process holds at most.
pub const POOL: usize = 8;

/// Attempts of a commit that PostgreSQL aborted as a deadlock or serialization failure
/// (replicas locking the same rows in another order): nothing of it was committed.
const ATTEMPTS: usize = 5;

/// Waiting for a connection to open, at most (unless the URL sets `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn be(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn i(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(be)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Whether PostgreSQL aborted a transaction that may simply be run again.
fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// A commit's failure: PostgreSQL's (maybe retryable) or the store's own.
enum Failure {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Pg(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// `host:port/database` of a configuration, for messages (never the password).
fn target(c: &PgConfig) -> String {
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", c.get_dbname().unwrap_or("(default)"))
}

struct Pool {
    config: PgConfig,
    target: String,
    idle: Mutex<Vec<(Client, Cache)>>,
    permits: Arc<tokio::sync::Semaphore>,
}

/// A pooled connection: back to the pool on [`Pool::put`], or dropped (and closed).
struct Conn {
    client: Client,
    cache: Cache,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Pool {
    async fn get(&self) -> Result<Conn, StoreError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| be("the connection pool is closed"))?;
        let held = match self.idle.lock() {
            Ok(mut idle) => {
                let mut found = None;
                while let Some(c) = idle.pop() {
                    if !c.0.is_closed() {
                        found = Some(c);
                        break;
                    }
                }
                found
            }
            Err(_) => return Err(be("connection pool lock poisoned")),
        };
        let (client, cache) = match held {
            Some(c) => c,
            None => (self.connect().await?, Cache::new()),
        };
        Ok(Conn {
            client,
            cache,
            _permit: permit,
        })
    }

    fn put(&self, c: Conn) {
        if c.client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push((c.client, c.cache));
        }
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let (client, connection) = self.config.connect(NoTls).await.map_err(|e| {
            StoreError::Backend(format!("connecting to PostgreSQL at {}: {e}", self.target))
        })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "PostgreSQL connection closed");
            }
        });
        // An acknowledged change must be on disk: never run with synchronous_commit off.
        let sync: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .map_err(be)?
            .get(0);
        if sync == "off" {
            client
                .batch_execute("SET synchronous_commit TO on")
                .await
                .map_err(be)?;
        }
        Ok(client)
    }
}

/// The single-flight change-version probe: probes are numbered as they start; a caller
/// needs one that started after it arrived (`started + 1` then), so an answer never predates
/// the request that waits for it.
#[derive(Default)]
struct ProbeState {
    started: u64,
    running: bool,
    /// The last probe that finished, and its answer.
    done: u64,
    answer: Option<Result<i64, String>>,
}

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Arc<Pool>,
    /// The change version this process's memory holds (`load`, `changes`, and its own
    /// commits that directly followed it).
    seen: Arc<Mutex<i64>>,
    /// What the registry has applied of `seen` (`Store::mark_applied`).
    applied: AtomicI64,
    /// The single-flight version probe (`Store::probe_version`).
    probe: Mutex<ProbeState>,
    probed: Condvar,
    runtime: tokio::runtime::Handle,
    // Dropping it ends the runtime's thread (and closes the connections).
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresStore({})", self.pool.target)
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq's URL form; `?options=-c
    /// search_path=NAME` picks the schema), applies pending migrations and checks the
    /// schema is not newer than this server.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let mut config: PgConfig = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("the database URL is not valid: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("cellproof-server");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(be)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("cellproof-postgres".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(be)?;
        let store = PostgresStore {
            pool: Arc::new(Pool {
                target: target(&config),
                config,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(tokio::sync::Semaphore::new(POOL)),
            }),
            seen: Arc::new(Mutex::new(0)),
            applied: AtomicI64::new(i64::MIN),
            probe: Mutex::new(ProbeState::default()),
            probed: Condvar::new(),
            runtime: handle,
            _stop: stop,
        };
        store.run(|mut c| async move {
            let r = migrate(&mut c.client).await;
            (c, r)
        })?;
        Ok(store)
    }

    /// `host:port/database` (no credentials).
    pub fn target(&self) -> &str {
        &self.pool.target
    }

    /// Runs `op` with a pooled connection on the store's runtime and waits for its answer.
    fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Conn) -> Fut + Send + 'static,
        Fut: Future<Output = (Conn, Result<T, StoreError>)> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let pool = self.pool.clone();
        self.runtime.spawn(async move {
            let r = match pool.get().await {
                Ok(c) => {
                    let (c, r) = op(c).await;
                    pool.put(c);
                    r
                }
                Err(e) => Err(e),
            };
            let _ = tx.send(r);
        });
        rx.recv()
            .map_err(|_| be("the PostgreSQL runtime stopped"))?
    }
}

/// Applies the migrations not yet recorded, in one transaction, under a transaction-level
/// advisory lock (replicas starting together migrate once).
async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(be)?;
    let schema: Option<String> = tx
        .query_one("SELECT current_schema()", &[])
        .await
        .map_err(be)?
        .get(0);
    let Some(schema) = schema else {
        return Err(be(
            "the connection's search_path names no existing schema: create it first \
             (CREATE SCHEMA ...) or leave search_path at its default",
        ));
    };
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('cellproof.migrations'), hashtext($1))",
        &[&schema],
    )
    .await
    .map_err(be)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(be)?;
    let applied: Vec<(i32, String)> = tx
        .query(
            "SELECT version, sha256 FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .map_err(be)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    for (version, sha) in &applied {
        match MIGRATIONS.iter().find(|m| m.0 == *version) {
            Some((_, name, sql)) if super::hex_digest(sql.as_bytes()) != *sha => {
                return Err(be(format!(
                    "migration {version} ({name}) recorded in schema {schema} differs from \
                     this server's copy: migrations are never edited once applied"
                )))
            }
            Some(_) => {}
            None => {
                return Err(be(format!(
                    "schema {schema} is at migration {version}, newer than this server \
                     (migrations up to {known}): run a newer cellproof-server"
                )))
            }
        }
    }
    for (version, name, sql) in MIGRATIONS {
        if applied.iter().any(|(v, _)| v == version) {
            continue;
        }
        tx.batch_execute(sql)
            .await
            .map_err(|e| be(format!("migration {version} ({name}): {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
            &[version, name, &super::hex_digest(sql.as_bytes())],
        )
        .await
        .map_err(be)?;
        tracing::info!(version, name, schema = %schema, "database migration applied");
    }
    tx.commit().await.map_err(be)
}

async fn rows(c: &Transaction<'_>, sql: &str) -> Result<Vec<Row>, StoreError> {
    c.query(sql, &[]).await.map_err(be)
}

fn issuer_row(r: &Row) -> IssuerRow {
    IssuerRow {
        slug: r.get(0),
        did: r.get(1),
        eco: r.get(2),
    }
}

fn list_row(r: &Row) -> ListRow {
    ListRow {
        slug: r.get(0),
        list_id: r.get(1),
        allocated: r.get(2),
    }
}

/// `slug, list_id, purpose, bits, jws, valid_from, valid_until, dirty`.
fn status_row(r: &Row) -> StatusRow {
    StatusRow {
        slug: r.get(0),
        list_id: r.get(1),
        purpose: r.get(2),
        bits: r.get(3),
        jws: r.get(4),
        valid_from: u(r.get(5)),
        valid_until: u(r.get(6)),
        dirty: r.get(7),
    }
}

fn restricted_row(r: &Row) -> RestrictedRow {
    RestrictedRow {
        digest: r.get(0),
        path: r.get(1),
        tier: r.get(2),
        jws: r.get(3),
    }
}

fn report_row(r: &Row) -> ReportRow {
    ReportRow {
        digest: r.get(0),
        path: r.get(1),
        issuer: r.get(2),
        jws: r.get(3),
    }
}

async fn load(client: &mut Client) -> Result<(Snapshot, i64), StoreError> {
    // One snapshot of every table (a replica may be writing meanwhile).
    let (tx, version) = snapshot(client).await?;
    let mut s = Snapshot::default();
    for r in rows(&tx, "SELECT eco, seq, jws FROM trust_lists ORDER BY eco").await? {
        s.trust_lists.push((r.get(0), u(r.get(1)), r.get(2)));
    }
    for r in rows(&tx, "SELECT slug, did, eco FROM issuers ORDER BY slug").await? {
        s.issuers.push(issuer_row(&r));
    }
    for r in rows(&tx, "SELECT slug, list_id, allocated FROM lists").await? {
        s.lists.push(list_row(&r));
    }
    for r in rows(
        &tx,
        "SELECT slug, list_id, purpose, bits, jws, valid_from, valid_until, dirty \
         FROM status_lists",
    )
    .await?
    {
        s.status.push(status_row(&r));
    }
    for r in rows(
        &tx,
        "SELECT kid, secret, created, active FROM authority_keys ORDER BY created, kid",
    )
    .await?
    {
        let kid: String = r.get(0);
        let secret: Vec<u8> = r.get(1);
        let secret: [u8; 32] = secret
            .try_into()
            .map_err(|_| be(format!("authority key {kid} is not 32 bytes")))?;
        s.authority_keys.push(AuthorityKeyRow {
            kid,
            secret,
            created: u(r.get(2)),
            active: r.get(3),
        });
    }
    for r in rows(&tx, "SELECT path, slug, list_id, idx FROM items").await? {
        s.items.push(ItemRow {
            path: r.get(0),
            slug: r.get(1),
            list_id: r.get(2),
            index: u(r.get(3)),
        });
    }
    for r in rows(
        &tx,
        "SELECT path, version, digest, jws FROM passports ORDER BY path, version",
    )
    .await?
    {
        s.passports.push(PassportRow {
            path: r.get(0),
            version: u(r.get(1)),
            digest: r.get(2),
            jws: r.get(3),
        });
    }
    for r in rows(
        &tx,
        "SELECT digest, path, tier, jws FROM restricted_sections ORDER BY added",
    )
    .await?
    {
        s.restricted.push(restricted_row(&r));
    }
    for r in rows(
        &tx,
        "SELECT digest, path, issuer, jws FROM reports ORDER BY added",
    )
    .await?
    {
        s.reports.push(report_row(&r));
    }
    for r in rows(&tx, "SELECT digest, jws FROM attestations").await? {
        s.attestations.push(AttestationRow {
            digest: r.get(0),
            jws: r.get(1),
        });
    }
    for r in rows(
        &tx,
        "SELECT path, seq, event_id, digest, jws, accepted_at FROM lifecycle_events \
         ORDER BY path, seq",
    )
    .await?
    {
        s.events.push(event_row(&r));
    }
    tx.commit().await.map_err(be)?;
    Ok((s, version))
}

/// A read-only repeatable-read transaction (one snapshot while replicas write) and the
/// change version it sees.
async fn snapshot(client: &mut Client) -> Result<(Transaction<'_>, i64), StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(be)?;
    let version = version(&tx).await?;
    Ok((tx, version))
}

async fn version(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    Ok(tx
        .query_one("SELECT version FROM registry_version WHERE id = 1", &[])
        .await
        .map_err(be)?
        .get(0))
}

/// `kid, secret, created, active`.
fn authority_key_row(r: &Row) -> Result<AuthorityKeyRow, StoreError> {
    let kid: String = r.get(0);
    let secret: Vec<u8> = r.get(1);
    let secret: [u8; 32] = secret
        .try_into()
        .map_err(|_| be(format!("authority key {kid} is not 32 bytes")))?;
    Ok(AuthorityKeyRow {
        kid,
        secret,
        created: u(r.get(2)),
        active: r.get(3),
    })
}

/// `path, version, digest, jws`.
fn event_row(r: &Row) -> EventRow {
    EventRow {
        path: r.get(0),
        seq: u(r.get(1)),
        event_id: r.get(2),
        digest: r.get(3),
        jws: r.get(4),
        accepted_at: u(r.get(5)),
    }
}

fn passport_row(r: &Row) -> PassportRow {
    PassportRow {
        path: r.get(0),
        version: u(r.get(1)),
        digest: r.get(2),
        jws: r.get(3),
    }
}

/// Why a trust list was not stored: the database holds a newer one of its ecosystem.
fn trust_list_held(eco: &str, held: u64, offered: u64) -> String {
    format!(
        "the database holds trust list seq {held} of {eco}, offered seq {offered}: \
         seq never goes back (SPEC.md section 4)"
    )
}

/// The issuers, lists, status lists, trust lists, authority keys, passports and attestations
/// written after change version `seen`, and the version they bring this process to; `None`
/// when nothing was.
async fn changes(
    client: &mut Client,
    cache: &mut Cache,
    seen: i64,
) -> Result<Option<(Snapshot, i64)>, StoreError> {
    // One round trip when nothing changed (a replica asks before every group of updates).
    let check = st(
        client,
        cache,
        "SELECT version FROM registry_version WHERE id = 1",
    )
    .await
    .map_err(be)?;
    let now: i64 = client.query_one(&check, &[]).await.map_err(be)?.get(0);
    if now == seen {
        return Ok(None);
    }
    let (tx, version) = snapshot(client).await?;
    if version == seen {
        tx.commit().await.map_err(be)?;
        return Ok(None);
    }
    let params: [Param<'_>; 1] = [&seen];
    let since = |sql: &'static str| tx.query(sql, &params);
    let s = Snapshot {
        issuers: since("SELECT slug, did, eco FROM issuers WHERE version > $1 ORDER BY slug")
            .await
            .map_err(be)?
            .iter()
            .map(issuer_row)
            .collect(),
        lists: since("SELECT slug, list_id, allocated FROM lists WHERE version > $1")
            .await
            .map_err(be)?
            .iter()
            .map(list_row)
            .collect(),
        status: since(
            "SELECT slug, list_id, purpose, bits, jws, valid_from, valid_until, dirty \
             FROM status_lists WHERE version > $1",
        )
        .await
        .map_err(be)?
        .iter()
        .map(status_row)
        .collect(),
        trust_lists: since("SELECT eco, seq, jws FROM trust_lists WHERE version > $1 ORDER BY eco")
            .await
            .map_err(be)?
            .iter()
            .map(|r| (r.get(0), u(r.get(1)), r.get(2)))
            .collect(),
        authority_keys: since(
            "SELECT kid, secret, created, active FROM authority_keys WHERE version > $1 \
             ORDER BY created, kid",
        )
        .await
        .map_err(be)?
        .iter()
        .map(authority_key_row)
        .collect::<Result<_, _>>()?,
        // Oldest version first, per battery: a replica appends them in order.
        passports: since(
            "SELECT path, version, digest, jws FROM passports WHERE version_stamp > $1 \
             ORDER BY path, version",
        )
        .await
        .map_err(be)?
        .iter()
        .map(passport_row)
        .collect(),
        attestations: since("SELECT digest, jws FROM attestations WHERE version > $1")
            .await
            .map_err(be)?
            .iter()
            .map(|r| AttestationRow {
                digest: r.get(0),
                jws: r.get(1),
            })
            .collect(),
        // Per battery in the order applied: a replica appends them in order.
        events: since(
            "SELECT path, seq, event_id, digest, jws, accepted_at FROM lifecycle_events \
             WHERE version > $1 ORDER BY path, seq",
        )
        .await
        .map_err(be)?
        .iter()
        .map(event_row)
        .collect(),
        // Documents are read from the database per request (`Store::document`): every
        // replica serves one as soon as it is committed, nothing is held to refresh.
        ..Snapshot::default()
    };
    tx.commit().await.map_err(be)?;
    Ok(Some((s, version)))
}

/// Statements prepared on one connection, by their SQL (a commit's statements are parsed once
/// per connection, not at every use: half the round trips).
type Cache = HashMap<&'static str, Statement>;

/// A statement prepared once per connection (in or outside a transaction).
async fn st(
    c: &impl GenericClient,
    cache: &mut Cache,
    sql: &'static str,
) -> Result<Statement, tokio_postgres::Error> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = c.prepare(sql).await?;
    cache.insert(sql, s.clone());
    Ok(s)
}

/// The audit chain's head, locked until `COMMIT` (appends never fork).
const HEAD_FOR_UPDATE: &str = "SELECT seq, hash FROM audit_head FOR UPDATE";

const INSERT_JTIS: &str = "INSERT INTO jtis (iss, jti, iat) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING";

/// A group's bit changes applied to the stored bits in one statement (migration 3's
/// `cellproof_apply_bits`, in the order of the batch): the touched rows are locked in key
/// order, as every writer does, and a row is written (and marked dirty) only when a bit
/// flipped. Answers how many rows the batch names and how many exist.
const APPLY_BITS: &str = "WITH c AS (\
     SELECT slug, list_id, purpose, array_agg(idx ORDER BY n) AS idx, \
     array_agg(val ORDER BY n) AS val \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::boolean[]) \
     WITH ORDINALITY AS c(slug, list_id, purpose, idx, val, n) \
     GROUP BY slug, list_id, purpose), \
     h AS (SELECT s.slug, s.list_id, s.purpose, s.bits AS old, \
     cellproof_apply_bits(s.bits, c.idx, c.val) AS new \
     FROM status_lists s JOIN c USING (slug, list_id, purpose) \
     ORDER BY s.slug, s.list_id, s.purpose FOR UPDATE OF s), \
     u AS (UPDATE status_lists s SET bits = h.new, dirty = TRUE FROM h \
     WHERE s.slug = h.slug AND s.list_id = h.list_id AND s.purpose = h.purpose \
     AND h.new <> h.old RETURNING 1) \
     SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM h), (SELECT count(*) FROM u)";

/// A group's allocations claimed in the stored bitmaps in one statement (migration 4's
/// `cellproof_claim_bits`): the touched lists are locked in key order and written only when
/// none of their claimed bits was set. Answers how many lists the batch names, how many
/// exist and how many were written (fewer: an index was taken since, a conflict).
const CLAIM_BITS: &str = "WITH c AS (\
     SELECT slug, list_id, array_agg(idx ORDER BY n) AS idx \
     FROM unnest($1::text[], $2::text[], $3::bigint[]) \
     WITH ORDINALITY AS c(slug, list_id, idx, n) GROUP BY slug, list_id), \
     h AS (SELECT l.slug, l.list_id, cellproof_claim_bits(l.allocated, c.idx) AS new \
     FROM lists l JOIN c USING (slug, list_id) \
     ORDER BY l.slug, l.list_id FOR UPDATE OF l), \
     u AS (UPDATE lists l SET allocated = h.new FROM h \
     WHERE l.slug = h.slug AND l.list_id = h.list_id AND h.new IS NOT NULL RETURNING 1) \
     SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM h), (SELECT count(*) FROM u)";

/// A list signed by the group, recorded only over the signed version it replaces ($8) and
/// with a later `validFrom` (the stored one only grows: one body per validFrom); dirty when
/// the stored bits, every acknowledged change, are not all in the signed ones ($7).
const UPDATE_SIGNED: &str = "UPDATE status_lists SET jws = $4, valid_from = $5, \
     valid_until = $6, dirty = (bits <> $7) \
     WHERE slug = $1 AND list_id = $2 AND purpose = $3 AND valid_from = $8 \
     AND valid_from < $5";

const INSERT_AUDIT: &str = "INSERT INTO audit (seq, at, actor, action, detail, digest, hash) \
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
     $5::text[], $6::text[], $7::text[])";

const UPDATE_HEAD: &str = "UPDATE audit_head SET seq = $1, hash = $2";

type Param<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);

/// Runs `sql`, prepared once per connection, with `params`.
async fn exec(
    tx: &Transaction<'_>,
    cache: &mut Cache,
    sql: &'static str,
    params: &[Param<'_>],
) -> Result<u64, tokio_postgres::Error> {
    let s = st(tx, cache, sql).await?;
    tx.execute(&s, params).await
}

/// [`st`] when the batch has rows for the statement.
async fn st_if(
    tx: &Transaction<'_>,
    cache: &mut Cache,
    wanted: bool,
    sql: &'static str,
) -> Result<Option<Statement>, tokio_postgres::Error> {
    if wanted {
        st(tx, cache, sql).await.map(Some)
    } else {
        Ok(None)
    }
}

/// One attempt at a commit; dropping the transaction on an error rolls it back.
///
/// The statements of a status-update group are pipelined (tokio-postgres sends a request
/// when its future is first polled, and `try_join!` polls in order, so PostgreSQL runs them
/// in this order without a round trip between them): `BEGIN`; the version bump, the audit
/// head lock, the `jti`s, the bits and the signed lists; the audit entries and the head;
/// `COMMIT`. Four round trips, however large the group. Rarer rows (onboarding, passports,
/// documents) are written one statement at a time between them.
async fn commit_once(
    client: &mut Client,
    cache: &mut Cache,
    b: &Batch,
    now: u64,
) -> Result<(Vec<i64>, Option<i64>), Failure> {
    let tx = client.transaction().await?;
    let versioned = !(b.issuers.is_empty()
        && b.lists.is_empty()
        && b.status.is_empty()
        && b.claims.is_empty()
        && b.bits.is_empty()
        && b.signed.is_empty()
        // Stamped by migration 5's triggers: bumped first here too, so the version row is
        // locked before the audit head by every writer (one lock order, no deadlock).
        && b.trust_lists.is_empty()
        && b.authority_keys.is_empty()
        && b.passports.is_empty()
        && b.attestations.is_empty()
        && b.documents.is_empty());
    // Prepared (once per connection) before anything is sent: a statement still to be
    // parsed would wait for that answer and break the pipeline.
    let bump = st_if(&tx, cache, versioned, BUMP_VERSION).await?;
    let head = st_if(&tx, cache, !b.audit.is_empty(), HEAD_FOR_UPDATE).await?;
    let jti_st = st_if(&tx, cache, !b.jtis.is_empty(), INSERT_JTIS).await?;
    let claims_st = st_if(&tx, cache, !b.claims.is_empty(), CLAIM_BITS).await?;
    let bits_st = st_if(&tx, cache, !b.bits.is_empty(), APPLY_BITS).await?;
    let signed_st = st_if(&tx, cache, !b.signed.is_empty(), UPDATE_SIGNED).await?;

    let (mut iss, mut jti, mut iat) = (Vec::new(), Vec::new(), Vec::new());
    for j in &b.jtis {
        iss.push(j.iss.as_str());
        jti.push(j.jti.as_str());
        iat.push(i(j.iat)?);
    }
    let jti_params: [Param<'_>; 3] = [&iss, &jti, &iat];
    let (mut slugs, mut ids, mut purposes, mut idx, mut vals) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in &b.bits {
        slugs.push(c.slug.as_str());
        ids.push(c.list_id.as_str());
        purposes.push(c.purpose.as_str());
        idx.push(i(c.index)?);
        vals.push(c.value);
    }
    let bits_params: [Param<'_>; 5] = [&slugs, &ids, &purposes, &idx, &vals];
    let (mut claim_slugs, mut claim_ids, mut claim_idx) = (Vec::new(), Vec::new(), Vec::new());
    for c in &b.claims {
        claim_slugs.push(c.slug.as_str());
        claim_ids.push(c.list_id.as_str());
        claim_idx.push(i(c.index)?);
    }
    let claim_params: [Param<'_>; 3] = [&claim_slugs, &claim_ids, &claim_idx];
    let times = b
        .signed
        .iter()
        .map(|s| Ok((i(s.row.valid_from)?, i(s.row.valid_until)?, i(s.replaces)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let signed_params: Vec<[Param<'_>; 8]> = b
        .signed
        .iter()
        .zip(&times)
        .map(|(s, (from, until, replaces))| -> [Param<'_>; 8] {
            let r = &s.row;
            [
                &r.slug, &r.list_id, &r.purpose, &r.jws, from, until, &r.bits, replaces,
            ]
        })
        .collect();

    // Locks in the one order every writer takes them: the version row, the audit head, then
    // status rows.
    let first = async {
        let version = match &bump {
            Some(s) => Some(tx.query_one(s, &[]).await?.get::<_, i64>(0)),
            None => None,
        };
        Ok::<_, tokio_postgres::Error>(version)
    };
    let locked_head = async {
        match &head {
            Some(s) => tx.query_one(s, &[]).await.map(Some),
            None => Ok(None),
        }
    };
    let jtis = async {
        match &jti_st {
            Some(s) => tx.execute(s, &jti_params).await,
            None => Ok(0),
        }
    };
    let claims = async {
        match &claims_st {
            Some(s) => tx.query_one(s, &claim_params).await.map(|r| {
                let (named, held, written): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
                Some((named, held, written))
            }),
            None => Ok(None),
        }
    };
    let bits = async {
        match &bits_st {
            Some(s) => tx.query_one(s, &bits_params).await.map(|r| {
                let (named, held): (i64, i64) = (r.get(0), r.get(1));
                Some((named, held))
            }),
            None => Ok(None),
        }
    };
    let signed = async {
        match &signed_st {
            Some(s) => {
                futures_util::future::try_join_all(signed_params.iter().map(|p| tx.execute(s, p)))
                    .await
            }
            None => Ok(Vec::new()),
        }
    };
    let rare = !(b.trust_lists.is_empty()
        && b.issuers.is_empty()
        && b.lists.is_empty()
        && b.status.is_empty());
    let (version, head_row, recorded, claims, bits, signed) = if rare {
        // Whole rows before the claims and bits that may change them.
        let (version, head_row, recorded) = tokio::try_join!(first, locked_head, jtis)?;
        write_rows(&tx, cache, b).await?;
        let (claims, bits, signed) = tokio::try_join!(claims, bits, signed)?;
        (version, head_row, recorded, claims, bits, signed)
    } else {
        tokio::try_join!(first, locked_head, jtis, claims, bits, signed)?
    };
    if recorded != b.jtis.len() as u64 {
        return Err(StoreError::Replay.into());
    }
    if let Some((named, held, written)) = claims {
        if named != held {
            return Err(be(format!(
                "{} of the {named} lists the batch allocates in are not stored",
                named - held
            ))
            .into());
        }
        if written != held {
            return Err(StoreError::Conflict(format!(
                "an index allocated in {} of {held} lists was taken since",
                held - written
            ))
            .into());
        }
    }
    if let Some((s, _)) = b.signed.iter().zip(&signed).find(|(_, n)| **n != 1) {
        return Err(StoreError::Conflict(format!(
            "status list {}/{} ({}) was signed since validFrom {} (not recorded at {})",
            s.row.slug, s.row.list_id, s.row.purpose, s.replaces, s.row.valid_from
        ))
        .into());
    }
    if let Some((named, held)) = bits {
        if named != held {
            return Err(be(format!(
                "{} of the {named} status lists the batch changes are not stored",
                named - held
            ))
            .into());
        }
    }
    for k in &b.authority_keys {
        exec(
            &tx,
            cache,
            "INSERT INTO authority_keys (kid, secret, created, active) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kid) DO UPDATE SET active = excluded.active",
            &[&k.kid, &&k.secret[..], &i(k.created)?, &k.active],
        )
        .await?;
    }
    for it in &b.items {
        exec(
            &tx,
            cache,
            "INSERT INTO items (path, slug, list_id, idx) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (path) DO UPDATE SET slug = excluded.slug, \
             list_id = excluded.list_id, idx = excluded.idx",
            &[&it.path, &it.slug, &it.list_id, &i(it.index)?],
        )
        .await?;
    }
    for p in &b.passports {
        exec(
            &tx,
            cache,
            "INSERT INTO passports (path, version, digest, jws, accepted_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&p.path, &i(p.version)?, &p.digest, &p.jws, &i(now)?],
        )
        .await?;
    }
    for e in &b.events {
        // The compare-and-set of a transition (migration 8): a row held at (path, seq), or
        // the event applied already, refuses the whole batch.
        let n = exec(
            &tx,
            cache,
            "INSERT INTO lifecycle_events (path, seq, event_id, digest, jws, accepted_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &e.path,
                &i(e.seq)?,
                &e.event_id,
                &e.digest,
                &e.jws,
                &i(now)?,
            ],
        )
        .await?;
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "{} already has event {} or event {} was applied",
                e.path, e.seq, e.event_id
            ))
            .into());
        }
    }
    for r in &b.restricted {
        exec(
            &tx,
            cache,
            "INSERT INTO restricted_sections (digest, path, tier, jws) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
            &[&r.digest, &r.path, &r.tier, &r.jws],
        )
        .await?;
    }
    for a in &b.attestations {
        exec(
            &tx,
            cache,
            "INSERT INTO attestations (digest, jws, accepted_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            &[&a.digest, &a.jws, &i(now)?],
        )
        .await?;
    }
    for d in &b.documents {
        let size = i64::try_from(d.bytes.len()).map_err(be)?;
        if let Some(quota) = b.document_quota {
            // Replicas: uploads of one uploader are serialised by a transaction-scoped
            // advisory lock on its DID (namespace 6, migration 6), so two replicas cannot
            // both pass the sum; the sum is then what every replica committed.
            exec(
                &tx,
                cache,
                "SELECT pg_advisory_xact_lock(6, hashtext($1))",
                &[&d.uploader],
            )
            .await?;
            let row = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM documents WHERE digest = $1), \
                     COALESCE((SELECT SUM(size) FROM documents WHERE uploader = $2), 0)::BIGINT",
                    &[&d.digest, &d.uploader],
                )
                .await?;
            let (held, used): (bool, i64) = (row.get(0), row.get(1));
            let used = u64::try_from(used).unwrap_or(0);
            let quota_left = quota.saturating_sub(used);
            if !held && (size as u64) > quota_left {
                return Err(Failure::Store(StoreError::QuotaExceeded { used }));
            }
        }
        exec(
            &tx,
            cache,
            "INSERT INTO documents (digest, media_type, bytes, uploader, size) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&d.digest, &d.media_type, &d.bytes, &d.uploader, &size],
        )
        .await?;
    }
    for r in &b.reports {
        exec(
            &tx,
            cache,
            "INSERT INTO reports (digest, path, issuer, jws) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
            &[&r.digest, &r.path, &r.issuer, &r.jws],
        )
        .await?;
    }
    let seqs = match head_row {
        Some(head) => append_audit(&tx, cache, b, now, &head).await?,
        None => Vec::new(),
    };
    tx.commit().await?;
    Ok((seqs, version))
}

/// Trust lists, issuers, lists and whole status rows (onboarding, allocation), one
/// statement each.
async fn write_rows(tx: &Transaction<'_>, cache: &mut Cache, b: &Batch) -> Result<(), Failure> {
    for (eco, seq, jws) in &b.trust_lists {
        // SPEC.md section 4: `seq` only grows, here too. Another replica may have stored a
        // newer list of this ecosystem since this one read it: then nothing is written and
        // the batch fails (the same bytes again are no change).
        let written = exec(
            tx,
            cache,
            "INSERT INTO trust_lists (eco, seq, jws) VALUES ($1, $2, $3) \
             ON CONFLICT (eco) DO UPDATE SET seq = excluded.seq, jws = excluded.jws \
             WHERE trust_lists.seq < excluded.seq OR trust_lists.jws = excluded.jws",
            &[eco, &i(*seq)?, jws],
        )
        .await?;
        if written == 0 {
            let held: i64 = tx
                .query_one("SELECT seq FROM trust_lists WHERE eco = $1", &[eco])
                .await?
                .get(0);
            return Err(StoreError::Conflict(trust_list_held(eco, u(held), *seq)).into());
        }
    }
    for r in &b.issuers {
        exec(
            tx,
            cache,
            "INSERT INTO issuers (slug, did, eco) VALUES ($1, $2, $3) \
             ON CONFLICT (slug) DO UPDATE SET did = excluded.did, eco = excluded.eco",
            &[&r.slug, &r.did, &r.eco],
        )
        .await?;
    }
    for r in &b.lists {
        exec(
            tx,
            cache,
            "INSERT INTO lists (slug, list_id, allocated) VALUES ($1, $2, $3) \
             ON CONFLICT (slug, list_id) DO UPDATE SET allocated = excluded.allocated",
            &[&r.slug, &r.list_id, &r.allocated],
        )
        .await?;
    }
    for r in &b.status {
        exec(
            tx,
            cache,
            "INSERT INTO status_lists \
             (slug, list_id, purpose, bits, jws, valid_from, valid_until, dirty) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (slug, list_id, purpose) DO UPDATE SET bits = excluded.bits, \
             jws = excluded.jws, valid_from = excluded.valid_from, \
             valid_until = excluded.valid_until, dirty = excluded.dirty",
            &[
                &r.slug,
                &r.list_id,
                &r.purpose,
                &r.bits,
                &r.jws,
                &i(r.valid_from)?,
                &i(r.valid_until)?,
                &r.dirty,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Appends `b.audit` after `head` (the head row, locked by this transaction until `COMMIT`).
async fn append_audit(
    tx: &Transaction<'_>,
    cache: &mut Cache,
    b: &Batch,
    now: u64,
    head: &Row,
) -> Result<Vec<i64>, Failure> {
    let (mut prev_seq, mut prev_hash): (i64, String) = (head.get(0), head.get(1));
    let at = i(now)?;
    let n = b.audit.len();
    let (mut seqs, mut ats, mut actors, mut actions, mut details, mut digests, mut hashes) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for a in &b.audit {
        let seq = prev_seq + 1;
        let detail = a.detail.to_string();
        let hash = super::chain_hash(
            &prev_hash, seq, now, &a.actor, &a.action, &detail, &a.digest,
        );
        seqs.push(seq);
        ats.push(at);
        actors.push(a.actor.as_str());
        actions.push(a.action.as_str());
        details.push(detail);
        digests.push(a.digest.as_str());
        hashes.push(hash.clone());
        prev_seq = seq;
        prev_hash = hash;
    }
    let insert = st(tx, cache, INSERT_AUDIT).await?;
    let update = st(tx, cache, UPDATE_HEAD).await?;
    let audit_params: [Param<'_>; 7] =
        [&seqs, &ats, &actors, &actions, &details, &digests, &hashes];
    let head_params: [Param<'_>; 2] = [&prev_seq, &prev_hash];
    tokio::try_join!(
        tx.execute(&insert, &audit_params),
        tx.execute(&update, &head_params)
    )?;
    Ok(seqs)
}

impl PostgresStore {
    /// One `SELECT version` round trip.
    fn read_version(&self) -> Result<i64, StoreError> {
        self.run(|mut c| async move {
            let r = async {
                let check = st(
                    &c.client,
                    &mut c.cache,
                    "SELECT version FROM registry_version WHERE id = 1",
                )
                .await
                .map_err(be)?;
                Ok(c.client.query_one(&check, &[]).await.map_err(be)?.get(0))
            }
            .await;
            (c, r)
        })
    }
}

impl Store for PostgresStore {
    fn probe_version(&self) -> Result<Option<Probed>, StoreError> {
        let poisoned = || be("the probe mutex is poisoned");
        let mut p = self.probe.lock().map_err(|_| poisoned())?;
        // The probe running now may have read the version before this caller's request
        // was sent: only one that starts from here on answers it.
        let need = p.started + 1;
        loop {
            if p.done >= need {
                let answer = p.answer.clone().unwrap_or_else(|| Err("no probe".into()));
                return answer
                    .map(|version| {
                        Some(Probed {
                            version,
                            ran: false,
                        })
                    })
                    .map_err(StoreError::Backend);
            }
            if !p.running {
                p.running = true;
                p.started += 1;
                let mine = p.started;
                drop(p);
                let r = self.read_version();
                let mut p = self.probe.lock().map_err(|_| poisoned())?;
                p.running = false;
                p.done = mine;
                p.answer = Some(r.as_ref().map(|v| *v).map_err(|e| e.to_string()));
                drop(p);
                self.probed.notify_all();
                return r.map(|version| Some(Probed { version, ran: true }));
            }
            p = self.probed.wait(p).map_err(|_| poisoned())?;
        }
    }

    fn applied_version(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    fn mark_applied(&self) {
        if let Ok(seen) = self.seen.lock() {
            self.applied.store(*seen, Ordering::Release);
        }
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        let (snapshot, version) = self.run(|mut c| async move {
            let r = load(&mut c.client).await;
            (c, r)
        })?;
        if let Ok(mut seen) = self.seen.lock() {
            *seen = version;
        }
        Ok(snapshot)
    }

    fn changes(&self) -> Result<Option<Snapshot>, StoreError> {
        let seen = *self.seen.lock().map_err(|_| be("poisoned"))?;
        let Some((snapshot, version)) = self.run(move |mut c| async move {
            let r = changes(&mut c.client, &mut c.cache, seen).await;
            (c, r)
        })?
        else {
            return Ok(None);
        };
        if let Ok(mut seen) = self.seen.lock() {
            *seen = version;
        }
        Ok(Some(snapshot))
    }

    fn commit(&self, batch: &Batch, now: u64) -> Result<Vec<i64>, StoreError> {
        let batch = batch.clone();
        let seen = self.seen.clone();
        self.run(move |mut c| async move {
            let mut attempt = 1;
            let r = loop {
                match commit_once(&mut c.client, &mut c.cache, &batch, now).await {
                    Ok((seqs, version)) => {
                        // Memory holds this commit's rows: when it directly followed the
                        // version memory held, nobody else's change lies between them.
                        if let (Some(v), Ok(mut seen)) = (version, seen.lock()) {
                            if *seen == v - 1 {
                                *seen = v;
                            }
                        }
                        break Ok(seqs);
                    }
                    Err(Failure::Store(e)) => break Err(e),
                    Err(Failure::Pg(e)) if retryable(&e) && attempt < ATTEMPTS => {
                        tracing::debug!(error = %e, attempt, "commit retried");
                        attempt += 1;
                    }
                    Err(Failure::Pg(e)) => break Err(be(e)),
                }
            };
            (c, r)
        })
    }

    fn audit(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.run(move |c| async move {
            let r = c
                .client
                .query(
                    "SELECT seq, at, actor, action, detail, digest, hash FROM audit \
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&after, &i64::from(limit)],
                )
                .await
                .map_err(be)
                .map(|rows| {
                    rows.iter()
                        .map(|r| AuditEntry {
                            seq: r.get(0),
                            at: u(r.get(1)),
                            actor: r.get(2),
                            action: r.get(3),
                            detail: serde_json::from_str(r.get::<_, &str>(4))
                                .unwrap_or(serde_json::Value::Null),
                            digest: r.get(5),
                            hash: r.get(6),
                        })
                        .collect()
                });
            (c, r)
        })
    }

    fn jtis_seen(&self, jtis: &[super::JtiRow]) -> Result<Vec<bool>, StoreError> {
        let iss: Vec<String> = jtis.iter().map(|j| j.iss.clone()).collect();
        let jti: Vec<String> = jtis.iter().map(|j| j.jti.clone()).collect();
        self.run(move |mut c| async move {
            let r = async {
                let seen = st(
                    &c.client,
                    &mut c.cache,
                    // A lateral probe of the primary key per requested jti: as a plain
                    // EXISTS, PostgreSQL planned a hashed subplan that read every jti held
                    // (tens of thousands) for each group.
                    "SELECT s.one IS NOT NULL \
                     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(iss, jti, n) \
                     LEFT JOIN LATERAL (SELECT 1 AS one FROM jtis j \
                     WHERE j.iss = k.iss AND j.jti = k.jti LIMIT 1) s ON TRUE \
                     ORDER BY k.n",
                )
                .await?;
                c.client.query(&seen, &[&iss, &jti]).await
            }
            .await
            .map_err(be)
            .map(|rows| rows.iter().map(|r| r.get(0)).collect());
            (c, r)
        })
    }

    fn prune_jtis(&self, before: u64) -> Result<usize, StoreError> {
        let before = i(before)?;
        self.run(move |c| async move {
            let r = c
                .client
                .execute("DELETE FROM jtis WHERE iat < $1", &[&before])
                .await
                .map_err(be)
                .and_then(|n| usize::try_from(n).map_err(be));
            (c, r)
        })
    }

    fn head(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.run(|mut c| async move {
            let r = async {
                let head = st(&c.client, &mut c.cache, "SELECT seq, hash FROM audit_head").await?;
                c.client.query_one(&head, &[]).await
            }
            .await
            .map_err(be)
            .map(|r| {
                let seq: i64 = r.get(0);
                (seq > 0).then(|| (seq, r.get(1)))
            });
            (c, r)
        })
    }

    fn document(&self, digest: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let digest = digest.to_owned();
        self.run(move |c| async move {
            let r = c
                .client
                .query_opt(
                    "SELECT media_type, bytes FROM documents WHERE digest = $1",
                    &[&digest],
                )
                .await
                .map_err(be)
                .map(|r| r.map(|r| (r.get(0), r.get(1))));
            (c, r)
        })
    }

    fn restricted_sections(&self, path: &str) -> Result<Vec<RestrictedRow>, StoreError> {
        let path = path.to_owned();
        self.run(move |c| async move {
            let r = c
                .client
                .query(
                    "SELECT digest, path, tier, jws FROM restricted_sections WHERE path = $1 \
                     ORDER BY added",
                    &[&path],
                )
                .await
                .map_err(be)
                .map(|rows| rows.iter().map(restricted_row).collect());
            (c, r)
        })
    }

    fn events_at(&self, path: &str, at: u64) -> Result<Vec<String>, StoreError> {
        let path = path.to_owned();
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        self.run(move |c| async move {
            let r = c
                .client
                .query(
                    "SELECT jws FROM lifecycle_events WHERE path = $1 AND accepted_at <= $2 \
                     ORDER BY seq",
                    &[&path, &at],
                )
                .await
                .map_err(be)
                .map(|rows| rows.iter().map(|r| r.get(0)).collect());
            (c, r)
        })
    }

    fn versions_at(&self, path: &str, at: u64) -> Result<Vec<String>, StoreError> {
        let path = path.to_owned();
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        self.run(move |c| async move {
            let r = c
                .client
                .query(
                    "SELECT jws FROM passports WHERE path = $1 \
                     AND COALESCE(accepted_at, 0) <= $2 ORDER BY version",
                    &[&path, &at],
                )
                .await
                .map_err(be)
                .map(|rows| rows.iter().map(|r| r.get(0)).collect());
            (c, r)
        })
    }

    fn attestations_at(
        &self,
        digests: &[String],
        at: u64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let digests = digests.to_vec();
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        self.run(move |c| async move {
            let r = c
                .client
                .query(
                    "SELECT digest, jws FROM attestations WHERE digest = ANY($1) \
                     AND COALESCE(accepted_at, 0) <= $2",
                    &[&digests, &at],
                )
                .await
                .map_err(be)
                .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect());
            (c, r)
        })
    }

    fn reports(&self, path: &str) -> Result<Vec<ReportRow>, StoreError> {
        let path = path.to_owned();
        self.run(move |c| async move {
            let r = c
                .client
                .query(
                    "SELECT digest, path, issuer, jws FROM reports WHERE path = $1 \
                     ORDER BY added",
                    &[&path],
                )
                .await
                .map_err(be)
                .map(|rows| rows.iter().map(report_row).collect());
            (c, r)
        })
    }
}
