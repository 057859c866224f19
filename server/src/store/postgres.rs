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
//! primary key, bits are applied to the stored bits under a row lock, and every append to
//! the audit chain locks the one `audit_head` row until `COMMIT`, so the chain never forks.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config as PgConfig, NoTls, Row, Statement, Transaction};

use super::{
    AttestationRow, AuditEntry, AuthorityKeyRow, Batch, IssuerRow, ItemRow, ListRow, PassportRow,
    ReportRow, RestrictedRow, Snapshot, StatusRow, Store, StoreError,
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
];

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

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Arc<Pool>,
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

async fn load(client: &mut Client) -> Result<Snapshot, StoreError> {
    // One snapshot of every table (a replica may be writing meanwhile).
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(be)?;
    let mut s = Snapshot::default();
    for r in rows(&tx, "SELECT eco, seq, jws FROM trust_lists ORDER BY eco").await? {
        s.trust_lists.push((r.get(0), u(r.get(1)), r.get(2)));
    }
    for r in rows(&tx, "SELECT slug, did, eco FROM issuers ORDER BY slug").await? {
        s.issuers.push(IssuerRow {
            slug: r.get(0),
            did: r.get(1),
            eco: r.get(2),
        });
    }
    for r in rows(&tx, "SELECT slug, list_id, allocated FROM lists").await? {
        s.lists.push(ListRow {
            slug: r.get(0),
            list_id: r.get(1),
            allocated: r.get(2),
        });
    }
    for r in rows(
        &tx,
        "SELECT slug, list_id, purpose, bits, jws, valid_from, valid_until, dirty \
         FROM status_lists",
    )
    .await?
    {
        s.status.push(StatusRow {
            slug: r.get(0),
            list_id: r.get(1),
            purpose: r.get(2),
            bits: r.get(3),
            jws: r.get(4),
            valid_from: u(r.get(5)),
            valid_until: u(r.get(6)),
            dirty: r.get(7),
        });
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
    tx.commit().await.map_err(be)?;
    Ok(s)
}

/// Statements prepared on one connection, by their SQL (a commit's statements are parsed once
/// per connection, not at every use: half the round trips).
type Cache = HashMap<&'static str, Statement>;

async fn st(
    tx: &Transaction<'_>,
    cache: &mut Cache,
    sql: &'static str,
) -> Result<Statement, tokio_postgres::Error> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = tx.prepare(sql).await?;
    cache.insert(sql, s.clone());
    Ok(s)
}

/// One attempt at a commit; dropping the transaction on an error rolls it back.
async fn commit_once(
    client: &mut Client,
    cache: &mut Cache,
    b: &Batch,
    now: u64,
) -> Result<Vec<i64>, Failure> {
    let tx = client.transaction().await?;
    if !b.jtis.is_empty() {
        let mut iss = Vec::with_capacity(b.jtis.len());
        let mut jti = Vec::with_capacity(b.jtis.len());
        let mut iat = Vec::with_capacity(b.jtis.len());
        for j in &b.jtis {
            iss.push(j.iss.as_str());
            jti.push(j.jti.as_str());
            iat.push(i(j.iat)?);
        }
        let n = tx
            .execute(
                "INSERT INTO jtis (iss, jti, iat) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) \
                 ON CONFLICT DO NOTHING",
                &[&iss, &jti, &iat],
            )
            .await?;
        if n != b.jtis.len() as u64 {
            return Err(StoreError::Replay.into());
        }
    }
    for (eco, seq, jws) in &b.trust_lists {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO trust_lists (eco, seq, jws) VALUES ($1, $2, $3) \
             ON CONFLICT (eco) DO UPDATE SET seq = excluded.seq, jws = excluded.jws",
            )
            .await?,
            &[eco, &i(*seq)?, jws],
        )
        .await?;
    }
    for r in &b.issuers {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO issuers (slug, did, eco) VALUES ($1, $2, $3) \
             ON CONFLICT (slug) DO UPDATE SET did = excluded.did, eco = excluded.eco",
            )
            .await?,
            &[&r.slug, &r.did, &r.eco],
        )
        .await?;
    }
    for r in &b.lists {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO lists (slug, list_id, allocated) VALUES ($1, $2, $3) \
             ON CONFLICT (slug, list_id) DO UPDATE SET allocated = excluded.allocated",
            )
            .await?,
            &[&r.slug, &r.list_id, &r.allocated],
        )
        .await?;
    }
    for r in &b.status {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO status_lists \
             (slug, list_id, purpose, bits, jws, valid_from, valid_until, dirty) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (slug, list_id, purpose) DO UPDATE SET bits = excluded.bits, \
             jws = excluded.jws, valid_from = excluded.valid_from, \
             valid_until = excluded.valid_until, dirty = excluded.dirty",
            )
            .await?,
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
    apply_bits(&tx, cache, b).await?;
    for r in &b.signed {
        tx.execute(
            &st(
                &tx,
                cache,
                "UPDATE status_lists SET jws = $4, valid_from = $5, valid_until = $6, dirty = $7 \
             WHERE slug = $1 AND list_id = $2 AND purpose = $3 AND bits = $8",
            )
            .await?,
            &[
                &r.slug,
                &r.list_id,
                &r.purpose,
                &r.jws,
                &i(r.valid_from)?,
                &i(r.valid_until)?,
                &r.dirty,
                &r.bits,
            ],
        )
        .await?;
    }
    for k in &b.authority_keys {
        tx.execute(
            &st(&tx, cache, "INSERT INTO authority_keys (kid, secret, created, active) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kid) DO UPDATE SET active = excluded.active").await?,
            &[&k.kid, &&k.secret[..], &i(k.created)?, &k.active],
        )
        .await?;
    }
    for it in &b.items {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO items (path, slug, list_id, idx) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (path) DO UPDATE SET slug = excluded.slug, \
             list_id = excluded.list_id, idx = excluded.idx",
            )
            .await?,
            &[&it.path, &it.slug, &it.list_id, &i(it.index)?],
        )
        .await?;
    }
    for p in &b.passports {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO passports (path, version, digest, jws) VALUES ($1, $2, $3, $4)",
            )
            .await?,
            &[&p.path, &i(p.version)?, &p.digest, &p.jws],
        )
        .await?;
    }
    for r in &b.restricted {
        tx.execute(
            &st(&tx, cache, "INSERT INTO restricted_sections (digest, path, tier, jws) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING").await?,
            &[&r.digest, &r.path, &r.tier, &r.jws],
        )
        .await?;
    }
    for a in &b.attestations {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO attestations (digest, jws) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .await?,
            &[&a.digest, &a.jws],
        )
        .await?;
    }
    for d in &b.documents {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO documents (digest, media_type, bytes) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            )
            .await?,
            &[&d.digest, &d.media_type, &d.bytes],
        )
        .await?;
    }
    for r in &b.reports {
        tx.execute(
            &st(
                &tx,
                cache,
                "INSERT INTO reports (digest, path, issuer, jws) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
            )
            .await?,
            &[&r.digest, &r.path, &r.issuer, &r.jws],
        )
        .await?;
    }
    let seqs = append_audit(&tx, cache, b, now).await?;
    tx.commit().await?;
    Ok(seqs)
}

/// A locked status row: key, bits, dirty, whether this batch flipped a bit.
type HeldBits = ((String, String, String), Vec<u8>, bool, bool);

/// Applies `b.bits` to the stored bits: the touched rows are locked (in key order, as every
/// writer does), changed in memory and written back once each.
async fn apply_bits(tx: &Transaction<'_>, cache: &mut Cache, b: &Batch) -> Result<(), Failure> {
    if b.bits.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<(&str, &str, &str)> = b
        .bits
        .iter()
        .map(|c| (c.slug.as_str(), c.list_id.as_str(), c.purpose.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let (slugs, ids, purposes): (Vec<&str>, Vec<&str>, Vec<&str>) = (
        keys.iter().map(|k| k.0).collect(),
        keys.iter().map(|k| k.1).collect(),
        keys.iter().map(|k| k.2).collect(),
    );
    let held = tx
        .query(
            "SELECT s.slug, s.list_id, s.purpose, s.bits, s.dirty FROM status_lists s \
             JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(slug, list_id, purpose) \
             USING (slug, list_id, purpose) \
             ORDER BY s.slug, s.list_id, s.purpose FOR UPDATE OF s",
            &[&slugs, &ids, &purposes],
        )
        .await?;
    let mut rows: Vec<HeldBits> = held
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3), r.get(4), false))
        .collect();
    for c in &b.bits {
        let row = rows
            .iter_mut()
            .find(|r| {
                (r.0 .0.as_str(), r.0 .1.as_str(), r.0 .2.as_str())
                    == (c.slug.as_str(), c.list_id.as_str(), c.purpose.as_str())
            })
            .ok_or_else(|| {
                be(format!(
                    "no status list {}/{} {}",
                    c.slug, c.list_id, c.purpose
                ))
            })?;
        row.3 |= super::sqlite::set_bit(&mut row.1, c.index, c.value)?;
    }
    let changed: Vec<_> = rows.into_iter().filter(|r| r.3).collect();
    if changed.is_empty() {
        return Ok(());
    }
    let slugs: Vec<&str> = changed.iter().map(|r| r.0 .0.as_str()).collect();
    let ids: Vec<&str> = changed.iter().map(|r| r.0 .1.as_str()).collect();
    let purposes: Vec<&str> = changed.iter().map(|r| r.0 .2.as_str()).collect();
    let bits: Vec<&[u8]> = changed.iter().map(|r| r.1.as_slice()).collect();
    tx.execute(
        &st(
            tx,
            cache,
            "UPDATE status_lists s SET bits = k.bits, dirty = TRUE \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) \
         AS k(slug, list_id, purpose, bits) \
         WHERE s.slug = k.slug AND s.list_id = k.list_id AND s.purpose = k.purpose",
        )
        .await?,
        &[&slugs, &ids, &purposes, &bits],
    )
    .await?;
    Ok(())
}

/// Appends `b.audit` after the head, holding the head row's lock until `COMMIT`.
async fn append_audit(
    tx: &Transaction<'_>,
    cache: &mut Cache,
    b: &Batch,
    now: u64,
) -> Result<Vec<i64>, Failure> {
    if b.audit.is_empty() {
        return Ok(Vec::new());
    }
    let head = tx
        .query_one("SELECT seq, hash FROM audit_head FOR UPDATE", &[])
        .await?;
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
    tx.execute(
        &st(
            tx,
            cache,
            "INSERT INTO audit (seq, at, actor, action, detail, digest, hash) \
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
         $5::text[], $6::text[], $7::text[])",
        )
        .await?,
        &[&seqs, &ats, &actors, &actions, &details, &digests, &hashes],
    )
    .await?;
    tx.execute(
        &st(tx, cache, "UPDATE audit_head SET seq = $1, hash = $2").await?,
        &[&prev_seq, &prev_hash],
    )
    .await?;
    Ok(seqs)
}

impl Store for PostgresStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        self.run(|mut c| async move {
            let r = load(&mut c.client).await;
            (c, r)
        })
    }

    fn commit(&self, batch: &Batch, now: u64) -> Result<Vec<i64>, StoreError> {
        let batch = batch.clone();
        self.run(move |mut c| async move {
            let mut attempt = 1;
            let r = loop {
                match commit_once(&mut c.client, &mut c.cache, &batch, now).await {
                    Ok(seqs) => break Ok(seqs),
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
        self.run(move |c| async move {
            let r = c
                .client
                .query(
                    "SELECT EXISTS (SELECT 1 FROM jtis j WHERE j.iss = k.iss AND j.jti = k.jti) \
                     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(iss, jti, n) \
                     ORDER BY k.n",
                    &[&iss, &jti],
                )
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
        self.run(|c| async move {
            let r = c
                .client
                .query_one("SELECT seq, hash FROM audit_head", &[])
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
