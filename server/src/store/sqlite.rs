//! The embedded SQLite backend: one file under the data directory, WAL journal,
//! `synchronous=FULL` (a commit is on disk when it returns), audit log protected by triggers.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension as _};

use super::{
    AttestationRow, AuditEntry, AuthorityKeyRow, Batch, EventRow, IssuerRow, ItemRow, ListRow,
    PassportRow, ReportRow, RestrictedRow, Snapshot, StatusRow, Store, StoreError,
};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS trust_lists (
    eco TEXT PRIMARY KEY, seq INTEGER NOT NULL, jws TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS issuers (
    slug TEXT PRIMARY KEY, did TEXT NOT NULL UNIQUE, eco TEXT);
CREATE TABLE IF NOT EXISTS lists (
    slug TEXT NOT NULL REFERENCES issuers(slug), list_id TEXT NOT NULL,
    allocated BLOB NOT NULL, PRIMARY KEY (slug, list_id));
CREATE TABLE IF NOT EXISTS status_lists (
    slug TEXT NOT NULL, list_id TEXT NOT NULL, purpose TEXT NOT NULL,
    bits BLOB NOT NULL, jws TEXT NOT NULL, valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL, dirty INTEGER NOT NULL,
    PRIMARY KEY (slug, list_id, purpose));
CREATE TABLE IF NOT EXISTS authority_keys (
    kid TEXT PRIMARY KEY, secret BLOB NOT NULL, created INTEGER NOT NULL,
    active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    path TEXT PRIMARY KEY, slug TEXT NOT NULL, list_id TEXT NOT NULL, idx INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS passports (
    path TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL UNIQUE,
    jws TEXT NOT NULL, PRIMARY KEY (path, version));
CREATE TABLE IF NOT EXISTS restricted_sections (
    digest TEXT PRIMARY KEY, path TEXT NOT NULL, tier TEXT NOT NULL, jws TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS restricted_sections_path ON restricted_sections (path);
CREATE TABLE IF NOT EXISTS reports (
    digest TEXT PRIMARY KEY, path TEXT NOT NULL, issuer TEXT NOT NULL, jws TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_path ON reports (path);
CREATE TABLE IF NOT EXISTS attestations (digest TEXT PRIMARY KEY, jws TEXT NOT NULL);
-- Lifecycle events (PostgreSQL's migration 8, server/migrations/0008_lifecycle_events.sql).
CREATE TABLE IF NOT EXISTS lifecycle_events (
    path TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE,
    digest TEXT NOT NULL, jws TEXT NOT NULL, accepted_at INTEGER NOT NULL,
    PRIMARY KEY (path, seq));
CREATE TABLE IF NOT EXISTS documents (
    digest TEXT PRIMARY KEY, media_type TEXT NOT NULL, bytes BLOB NOT NULL,
    uploader TEXT, size INTEGER);
CREATE TABLE IF NOT EXISTS jtis (
    iss TEXT NOT NULL, jti TEXT NOT NULL, iat INTEGER NOT NULL, PRIMARY KEY (iss, jti));
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT NOT NULL, digest TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- The signed validFrom of a status list only grows, one body per validFrom (PostgreSQL's
-- migration 4, server/migrations/0004_claims.sql).
CREATE TRIGGER IF NOT EXISTS status_lists_forward BEFORE UPDATE ON status_lists
    WHEN NEW.valid_from < OLD.valid_from
        OR (NEW.valid_from = OLD.valid_from AND NEW.jws IS NOT OLD.jws)
    BEGIN SELECT RAISE(ABORT, 'the signed validFrom of a status list only grows'); END;
"#;

/// SQLite store in `DIR/registry.sqlite3`.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn be(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn i(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(be)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(be)?;
        let conn = Connection::open(dir.join("registry.sqlite3")).map_err(be)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(be)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "journal_mode is {mode}, not WAL"
            )));
        }
        // FULL: the WAL is fsynced at every commit, so an acknowledged change survives a
        // crash or power loss (NORMAL would only guarantee consistency).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(be)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(be)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(be)?;
        conn.execute_batch(SCHEMA).map_err(be)?;
        // Databases from before issuers were bound to an ecosystem (SPEC.md 1.1 section 4).
        if !has_column(&conn, "issuers", "eco")? {
            conn.execute_batch("ALTER TABLE issuers ADD COLUMN eco TEXT")
                .map_err(be)?;
        }
        // Databases from before documents recorded their uploader (PostgreSQL's migration 6,
        // server/migrations/0006_document_uploader.sql): earlier documents count for no one.
        if !has_column(&conn, "documents", "uploader")? {
            conn.execute_batch(
                "ALTER TABLE documents ADD COLUMN uploader TEXT; \
                 ALTER TABLE documents ADD COLUMN size INTEGER; \
                 UPDATE documents SET size = length(bytes);",
            )
            .map_err(be)?;
        }
        conn.execute_batch("CREATE INDEX IF NOT EXISTS documents_uploader ON documents (uploader)")
            .map_err(be)?;
        // Databases from before point-in-time reads (PostgreSQL's migration 7,
        // server/migrations/0007_accepted_at.sql): rows take their upload's audit time.
        if !has_column(&conn, "passports", "accepted_at")? {
            conn.execute_batch(
                "ALTER TABLE passports ADD COLUMN accepted_at INTEGER; \
                 ALTER TABLE attestations ADD COLUMN accepted_at INTEGER; \
                 UPDATE passports SET accepted_at = (SELECT MIN(at) FROM audit \
                   WHERE action IN ('passport.upload', 'demo.seed') \
                   AND json_extract(detail, '$.digest') = passports.digest); \
                 UPDATE attestations SET accepted_at = (SELECT MIN(at) FROM audit \
                   WHERE action IN ('attestation.upload', 'demo.seed') \
                   AND json_extract(detail, '$.digest') = attestations.digest);",
            )
            .map_err(be)?;
        }
        conn.execute_batch(
            "CREATE INDEX IF NOT EXISTS passports_path_accepted ON passports (path, accepted_at)",
        )
        .map_err(be)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Backend("connection lock poisoned".into()))
    }
}

/// The bit changes of one status row: `(slug, list id, purpose, [(index, value)])`.
type RowBits<'a> = (&'a str, &'a str, &'a str, Vec<(u64, bool)>);

/// Sets bit `index` (most significant bit of byte 0 first) to `value`; whether it flipped.
pub(crate) fn set_bit(bits: &mut [u8], index: u64, value: bool) -> Result<bool, StoreError> {
    let byte = usize::try_from(index / 8)
        .ok()
        .and_then(|n| bits.get_mut(n))
        .ok_or_else(|| StoreError::Backend(format!("bit {index} outside the list")))?;
    let mask = 0x80u8 >> (index % 8);
    let old = *byte & mask != 0;
    if value {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    Ok(old != value)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        let conn = self.conn()?;
        let mut s = Snapshot::default();
        let mut q = conn
            .prepare("SELECT eco, seq, jws FROM trust_lists ORDER BY eco")
            .map_err(be)?;
        s.trust_lists = q
            .query_map([], |r| Ok((r.get(0)?, u(r.get(1)?), r.get(2)?)))
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        let mut q = conn
            .prepare("SELECT slug, did, eco FROM issuers ORDER BY slug")
            .map_err(be)?;
        s.issuers = q
            .query_map([], |r| {
                Ok(IssuerRow {
                    slug: r.get(0)?,
                    did: r.get(1)?,
                    eco: r.get(2)?,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        let mut q = conn
            .prepare("SELECT slug, list_id, allocated FROM lists")
            .map_err(be)?;
        s.lists = q
            .query_map([], |r| {
                Ok(ListRow {
                    slug: r.get(0)?,
                    list_id: r.get(1)?,
                    allocated: r.get(2)?,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        let mut q = conn
            .prepare(
                "SELECT slug, list_id, purpose, bits, jws, valid_from, valid_until, dirty \
                 FROM status_lists",
            )
            .map_err(be)?;
        s.status = q
            .query_map([], |r| {
                Ok(StatusRow {
                    slug: r.get(0)?,
                    list_id: r.get(1)?,
                    purpose: r.get(2)?,
                    bits: r.get(3)?,
                    jws: r.get(4)?,
                    valid_from: u(r.get(5)?),
                    valid_until: u(r.get(6)?),
                    dirty: r.get::<_, i64>(7)? != 0,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        let mut q = conn
            .prepare("SELECT kid, secret, created, active FROM authority_keys ORDER BY created")
            .map_err(be)?;
        let keys: Vec<(String, Vec<u8>, i64, i64)> = q
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        for (kid, secret, created, active) in keys {
            let secret: [u8; 32] = secret
                .try_into()
                .map_err(|_| StoreError::Backend(format!("authority key {kid} is not 32 bytes")))?;
            s.authority_keys.push(AuthorityKeyRow {
                kid,
                secret,
                created: u(created),
                active: active != 0,
            });
        }
        let mut q = conn
            .prepare("SELECT path, slug, list_id, idx FROM items")
            .map_err(be)?;
        s.items = q
            .query_map([], |r| {
                Ok(ItemRow {
                    path: r.get(0)?,
                    slug: r.get(1)?,
                    list_id: r.get(2)?,
                    index: u(r.get(3)?),
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        let mut q = conn
            .prepare("SELECT path, version, digest, jws FROM passports ORDER BY path, version")
            .map_err(be)?;
        s.passports = q
            .query_map([], |r| {
                Ok(PassportRow {
                    path: r.get(0)?,
                    version: u(r.get(1)?),
                    digest: r.get(2)?,
                    jws: r.get(3)?,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        let mut q = conn
            .prepare(
                "SELECT path, seq, event_id, digest, jws, accepted_at FROM lifecycle_events \
                 ORDER BY path, seq",
            )
            .map_err(be)?;
        s.events = q
            .query_map([], |r| {
                Ok(EventRow {
                    path: r.get(0)?,
                    seq: u(r.get(1)?),
                    event_id: r.get(2)?,
                    digest: r.get(3)?,
                    jws: r.get(4)?,
                    accepted_at: u(r.get(5)?),
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        let mut q = conn
            .prepare("SELECT digest, path, tier, jws FROM restricted_sections")
            .map_err(be)?;
        s.restricted = q
            .query_map([], |r| {
                Ok(RestrictedRow {
                    digest: r.get(0)?,
                    path: r.get(1)?,
                    tier: r.get(2)?,
                    jws: r.get(3)?,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        let mut q = conn
            .prepare("SELECT digest, jws FROM attestations")
            .map_err(be)?;
        s.attestations = q
            .query_map([], |r| {
                Ok(AttestationRow {
                    digest: r.get(0)?,
                    jws: r.get(1)?,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        s.reports = query_reports(&conn, None)?;
        Ok(s)
    }

    fn commit(&self, b: &Batch, now: u64) -> Result<Vec<i64>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(be)?;
        for j in &b.jtis {
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO jtis (iss, jti, iat) VALUES (?1, ?2, ?3)",
                    params![j.iss, j.jti, i(j.iat)?],
                )
                .map_err(be)?;
            if n == 0 {
                return Err(StoreError::Replay);
            }
        }
        for (eco, seq, jws) in &b.trust_lists {
            // `seq` never goes back (SPEC.md section 4), as in the PostgreSQL store.
            let written = tx
                .execute(
                    "INSERT INTO trust_lists (eco, seq, jws) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(eco) DO UPDATE SET seq = excluded.seq, jws = excluded.jws \
                     WHERE trust_lists.seq < excluded.seq OR trust_lists.jws = excluded.jws",
                    params![eco, i(*seq)?, jws],
                )
                .map_err(be)?;
            if written == 0 {
                return Err(StoreError::Conflict(format!(
                    "the database holds a newer trust list of {eco} than seq {seq}: seq \
                     never goes back (SPEC.md section 4)"
                )));
            }
        }
        for r in &b.issuers {
            tx.execute(
                "INSERT INTO issuers (slug, did, eco) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(slug) DO UPDATE SET did = excluded.did, eco = excluded.eco",
                params![r.slug, r.did, r.eco],
            )
            .map_err(be)?;
        }
        for r in &b.lists {
            tx.execute(
                "INSERT INTO lists (slug, list_id, allocated) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(slug, list_id) DO UPDATE SET allocated = excluded.allocated",
                params![r.slug, r.list_id, r.allocated],
            )
            .map_err(be)?;
        }
        for r in &b.status {
            tx.execute(
                "INSERT INTO status_lists \
                 (slug, list_id, purpose, bits, jws, valid_from, valid_until, dirty) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT(slug, list_id, purpose) DO UPDATE SET bits = excluded.bits, \
                 jws = excluded.jws, valid_from = excluded.valid_from, \
                 valid_until = excluded.valid_until, dirty = excluded.dirty",
                params![
                    r.slug,
                    r.list_id,
                    r.purpose,
                    r.bits,
                    r.jws,
                    i(r.valid_from)?,
                    i(r.valid_until)?,
                    i64::from(r.dirty)
                ],
            )
            .map_err(be)?;
        }
        // Allocations grouped by list, each claimed bit by bit in the stored bitmap: an index
        // already set is a conflict (the same semantics as PostgreSQL's, where replicas race).
        let mut claims: Vec<(&str, &str, Vec<u64>)> = Vec::new();
        for c in &b.claims {
            let key = (c.slug.as_str(), c.list_id.as_str());
            match claims.iter_mut().find(|r| (r.0, r.1) == key) {
                Some(r) => r.2.push(c.index),
                None => claims.push((key.0, key.1, vec![c.index])),
            }
        }
        for (slug, list_id, indexes) in claims {
            let mut allocated: Vec<u8> = tx
                .query_row(
                    "SELECT allocated FROM lists WHERE slug = ?1 AND list_id = ?2",
                    params![slug, list_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(be)?
                .ok_or_else(|| StoreError::Backend(format!("no list {slug}/{list_id}")))?;
            for index in indexes {
                if !set_bit(&mut allocated, index, true)? {
                    return Err(StoreError::Conflict(format!(
                        "index {index} of {slug}/{list_id} is allocated already"
                    )));
                }
            }
            tx.execute(
                "UPDATE lists SET allocated = ?3 WHERE slug = ?1 AND list_id = ?2",
                params![slug, list_id, allocated],
            )
            .map_err(be)?;
        }
        // Bit changes grouped by row: each touched row is read and written once.
        let mut rows: Vec<RowBits<'_>> = Vec::new();
        for c in &b.bits {
            let key = (c.slug.as_str(), c.list_id.as_str(), c.purpose.as_str());
            match rows.iter_mut().find(|r| (r.0, r.1, r.2) == key) {
                Some(r) => r.3.push((c.index, c.value)),
                None => rows.push((key.0, key.1, key.2, vec![(c.index, c.value)])),
            }
        }
        for (slug, list_id, purpose, changes) in rows {
            let (mut bits, dirty): (Vec<u8>, i64) = tx
                .query_row(
                    "SELECT bits, dirty FROM status_lists \
                     WHERE slug = ?1 AND list_id = ?2 AND purpose = ?3",
                    params![slug, list_id, purpose],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(be)?
                .ok_or_else(|| {
                    StoreError::Backend(format!("no status list {slug}/{list_id} {purpose}"))
                })?;
            let mut flipped = false;
            for (index, value) in changes {
                flipped |= set_bit(&mut bits, index, value)?;
            }
            if flipped {
                tx.execute(
                    "UPDATE status_lists SET bits = ?4, dirty = ?5 \
                     WHERE slug = ?1 AND list_id = ?2 AND purpose = ?3",
                    params![slug, list_id, purpose, bits, 1i64.max(dirty)],
                )
                .map_err(be)?;
            }
        }
        for s in &b.signed {
            let r = &s.row;
            // Recorded over the version it replaces, with a later validFrom, or not at all.
            let n = tx
                .execute(
                    "UPDATE status_lists SET jws = ?4, valid_from = ?5, valid_until = ?6, \
                     dirty = (bits <> ?7) WHERE slug = ?1 AND list_id = ?2 AND purpose = ?3 \
                     AND valid_from = ?8 AND valid_from < ?5",
                    params![
                        r.slug,
                        r.list_id,
                        r.purpose,
                        r.jws,
                        i(r.valid_from)?,
                        i(r.valid_until)?,
                        r.bits,
                        i(s.replaces)?
                    ],
                )
                .map_err(be)?;
            if n != 1 {
                return Err(StoreError::Conflict(format!(
                    "status list {}/{} ({}) was signed since validFrom {} (not recorded at {})",
                    r.slug, r.list_id, r.purpose, s.replaces, r.valid_from
                )));
            }
        }
        for k in &b.authority_keys {
            tx.execute(
                "INSERT INTO authority_keys (kid, secret, created, active) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(kid) DO UPDATE SET active = excluded.active",
                params![k.kid, k.secret.to_vec(), i(k.created)?, i64::from(k.active)],
            )
            .map_err(be)?;
        }
        for it in &b.items {
            tx.execute(
                "INSERT INTO items (path, slug, list_id, idx) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(path) DO UPDATE SET slug = excluded.slug, \
                 list_id = excluded.list_id, idx = excluded.idx",
                params![it.path, it.slug, it.list_id, i(it.index)?],
            )
            .map_err(be)?;
        }
        for p in &b.passports {
            tx.execute(
                "INSERT INTO passports (path, version, digest, jws, accepted_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![p.path, i(p.version)?, p.digest, p.jws, i(now)?],
            )
            .map_err(be)?;
        }
        for e in &b.events {
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO lifecycle_events \
                     (path, seq, event_id, digest, jws, accepted_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![e.path, i(e.seq)?, e.event_id, e.digest, e.jws, i(now)?],
                )
                .map_err(be)?;
            if n != 1 {
                return Err(StoreError::Conflict(format!(
                    "{} already has event {} or event {} was applied",
                    e.path, e.seq, e.event_id
                )));
            }
        }
        for r in &b.restricted {
            tx.execute(
                "INSERT OR IGNORE INTO restricted_sections (digest, path, tier, jws) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![r.digest, r.path, r.tier, r.jws],
            )
            .map_err(be)?;
        }
        for a in &b.attestations {
            tx.execute(
                "INSERT OR IGNORE INTO attestations (digest, jws, accepted_at) \
                 VALUES (?1, ?2, ?3)",
                params![a.digest, a.jws, i(now)?],
            )
            .map_err(be)?;
        }
        for d in &b.documents {
            let size = d.bytes.len() as u64;
            if let Some(quota) = b.document_quota {
                // One process holds this connection: the sum is the store's, in the
                // transaction. The same bytes again are no new storage.
                let (held, used): (i64, i64) = tx
                    .query_row(
                        "SELECT (SELECT COUNT(*) FROM documents WHERE digest = ?1), \
                         (SELECT COALESCE(SUM(size), 0) FROM documents WHERE uploader = ?2)",
                        params![d.digest, d.uploader],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(be)?;
                let used = u64::try_from(used).unwrap_or(0);
                if held == 0 && used.saturating_add(size) > quota {
                    return Err(StoreError::QuotaExceeded { used });
                }
            }
            tx.execute(
                "INSERT OR IGNORE INTO documents (digest, media_type, bytes, uploader, size) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![d.digest, d.media_type, d.bytes, d.uploader, i(size)?],
            )
            .map_err(be)?;
        }
        for r in &b.reports {
            tx.execute(
                "INSERT OR IGNORE INTO reports (digest, path, issuer, jws) VALUES (?1, ?2, ?3, ?4)",
                params![r.digest, r.path, r.issuer, r.jws],
            )
            .map_err(be)?;
        }
        let mut seqs = Vec::new();
        if !b.audit.is_empty() {
            let (mut prev_seq, mut prev_hash): (i64, String) = tx
                .query_row(
                    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(be)?
                .unwrap_or((0, String::new()));
            let at = i(now)?;
            for a in &b.audit {
                let seq = prev_seq + 1;
                let detail = a.detail.to_string();
                let hash = super::chain_hash(
                    &prev_hash, seq, now, &a.actor, &a.action, &detail, &a.digest,
                );
                tx.execute(
                    "INSERT INTO audit (seq, at, actor, action, detail, digest, hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![seq, at, a.actor, a.action, detail, a.digest, hash],
                )
                .map_err(be)?;
                seqs.push(seq);
                prev_seq = seq;
                prev_hash = hash;
            }
        }
        tx.commit().map_err(be)?;
        Ok(seqs)
    }

    fn audit(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn()?;
        let mut q = conn
            .prepare(
                "SELECT seq, at, actor, action, detail, digest, hash FROM audit \
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(be)?;
        let rows = q
            .query_map(params![after, i64::from(limit)], |r| {
                let detail: String = r.get(4)?;
                Ok(AuditEntry {
                    seq: r.get(0)?,
                    at: u(r.get(1)?),
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                    digest: r.get(5)?,
                    hash: r.get(6)?,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        Ok(rows)
    }

    fn jtis_seen(&self, jtis: &[super::JtiRow]) -> Result<Vec<bool>, StoreError> {
        let conn = self.conn()?;
        let mut q = conn
            .prepare_cached("SELECT 1 FROM jtis WHERE iss = ?1 AND jti = ?2")
            .map_err(be)?;
        jtis.iter()
            .map(|j| q.exists(params![j.iss, j.jti]).map_err(be))
            .collect()
    }

    fn prune_jtis(&self, before: u64) -> Result<usize, StoreError> {
        let conn = self.conn()?;
        conn.execute("DELETE FROM jtis WHERE iat < ?1", params![i(before)?])
            .map_err(be)
    }

    fn head(&self) -> Result<Option<(i64, String)>, StoreError> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(be)
    }

    fn document(&self, digest: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT media_type, bytes FROM documents WHERE digest = ?1",
            params![digest],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(be)
    }

    fn restricted_sections(&self, path: &str) -> Result<Vec<RestrictedRow>, StoreError> {
        let conn = self.conn()?;
        let mut q = conn
            .prepare(
                "SELECT digest, path, tier, jws FROM restricted_sections WHERE path = ?1 \
                 ORDER BY rowid",
            )
            .map_err(be)?;
        let rows = q
            .query_map(params![path], |r| {
                Ok(RestrictedRow {
                    digest: r.get(0)?,
                    path: r.get(1)?,
                    tier: r.get(2)?,
                    jws: r.get(3)?,
                })
            })
            .map_err(be)?
            .collect::<Result<_, _>>()
            .map_err(be)?;
        Ok(rows)
    }

    fn reports(&self, path: &str) -> Result<Vec<ReportRow>, StoreError> {
        let conn = self.conn()?;
        query_reports(&conn, Some(path))
    }

    fn events_at(&self, path: &str, at: u64) -> Result<Vec<String>, StoreError> {
        let conn = self.conn()?;
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        let mut q = conn
            .prepare_cached(
                "SELECT jws FROM lifecycle_events WHERE path = ?1 AND accepted_at <= ?2 \
                 ORDER BY seq",
            )
            .map_err(be)?;
        let rows = q
            .query_map(params![path, at], |r| r.get(0))
            .map_err(be)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(be);
        rows
    }

    fn versions_at(&self, path: &str, at: u64) -> Result<Vec<String>, StoreError> {
        let conn = self.conn()?;
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        let mut q = conn
            .prepare_cached(
                "SELECT jws FROM passports WHERE path = ?1 AND COALESCE(accepted_at, 0) <= ?2 \
                 ORDER BY version",
            )
            .map_err(be)?;
        let rows = q
            .query_map(params![path, at], |r| r.get(0))
            .map_err(be)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(be);
        rows
    }

    fn attestations_at(
        &self,
        digests: &[String],
        at: u64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn()?;
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        let mut q = conn
            .prepare_cached(
                "SELECT digest, jws FROM attestations WHERE digest = ?1 \
                 AND COALESCE(accepted_at, 0) <= ?2",
            )
            .map_err(be)?;
        let mut out = Vec::new();
        for d in digests {
            let row = q
                .query_map(params![d, at], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(be)?
                .next()
                .transpose()
                .map_err(be)?;
            out.extend(row);
        }
        Ok(out)
    }
}

/// Whether `table` has `column` (databases from before a column was added get it at start).
fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
        params![table, column],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(be)
}

/// Reports of one battery, or all of them, oldest first.
fn query_reports(conn: &Connection, path: Option<&str>) -> Result<Vec<ReportRow>, StoreError> {
    let mut q = conn
        .prepare(
            "SELECT digest, path, issuer, jws FROM reports WHERE ?1 IS NULL OR path = ?1 \
             ORDER BY rowid",
        )
        .map_err(be)?;
    let rows = q
        .query_map(params![path], |r| {
            Ok(ReportRow {
                digest: r.get(0)?,
                path: r.get(1)?,
                issuer: r.get(2)?,
                jws: r.get(3)?,
            })
        })
        .map_err(be)?
        .collect::<Result<_, _>>()
        .map_err(be)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DocumentRow, JtiRow, NewAudit};

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0, 1, 0x0f, 0x10, 0xab, 0xff]), "00010f10abff");
        // The audit chain's digests: SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            crate::store::hex_digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn documents_from_before_uploaders_are_migrated_and_count_for_no_one() {
        let dir = tempfile::tempdir().unwrap();
        {
            // The table as stored before uploaders were recorded, with one document.
            let c = Connection::open(dir.path().join("registry.sqlite3")).unwrap();
            c.execute_batch(
                "CREATE TABLE documents (digest TEXT PRIMARY KEY, media_type TEXT NOT NULL, \
                 bytes BLOB NOT NULL); \
                 INSERT INTO documents VALUES ('old', 'application/pdf', zeroblob(60));",
            )
            .unwrap();
        }
        let s = SqliteStore::open(dir.path()).unwrap();
        let put = |digest: &str, len: usize| Batch {
            documents: vec![DocumentRow {
                digest: digest.into(),
                media_type: "application/pdf".into(),
                bytes: vec![0; len],
                uploader: "did:web:a.example".into(),
            }],
            document_quota: Some(100),
            ..Batch::default()
        };
        // The old 60 bytes are no one's: 100 bytes fit, one more does not.
        s.commit(&put("a", 100), 1).unwrap();
        assert!(matches!(
            s.commit(&put("b", 1), 2),
            Err(StoreError::QuotaExceeded { used: 100 })
        ));
        assert_eq!(s.document("b").unwrap(), None, "nothing stored");
        // The same digest again is no new storage.
        s.commit(&put("a", 100), 3).unwrap();
        // Opening again leaves the migrated table as it is.
        drop(s);
        let s = SqliteStore::open(dir.path()).unwrap();
        assert!(s.document("old").unwrap().is_some());
        assert!(matches!(
            s.commit(&put("c", 1), 4),
            Err(StoreError::QuotaExceeded { used: 100 })
        ));
    }

    #[test]
    fn audit_is_append_only_and_chained() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        let entry = |n: u32| NewAudit {
            actor: "operator".into(),
            action: "test".into(),
            detail: serde_json::json!({ "n": n }),
            digest: "00".into(),
        };
        let b = Batch {
            audit: vec![entry(1), entry(2)],
            ..Batch::default()
        };
        assert_eq!(s.commit(&b, 10).unwrap(), vec![1, 2]);
        let log = s.audit(0, 10).unwrap();
        assert_eq!(log.len(), 2);
        assert_ne!(log[0].hash, log[1].hash);
        let conn = s.conn().unwrap();
        assert!(conn.execute("DELETE FROM audit", []).is_err());
        assert!(conn.execute("UPDATE audit SET actor = 'x'", []).is_err());
    }

    #[test]
    fn a_database_from_before_issuer_bindings_gains_the_eco_column() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = Connection::open(dir.path().join("registry.sqlite3")).unwrap();
            c.execute_batch(
                "CREATE TABLE issuers (slug TEXT PRIMARY KEY, did TEXT NOT NULL UNIQUE);
                 INSERT INTO issuers VALUES ('acme', 'did:web:acme.example');",
            )
            .unwrap();
        }
        let s = SqliteStore::open(dir.path()).unwrap();
        let old = &s.load().unwrap().issuers[0];
        assert_eq!((old.slug.as_str(), old.eco.as_deref()), ("acme", None));
        let b = Batch {
            issuers: vec![IssuerRow {
                eco: Some("catena-x".into()),
                ..old.clone()
            }],
            ..Batch::default()
        };
        s.commit(&b, 1).unwrap();
        drop(s);
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            s.load().unwrap().issuers[0].eco.as_deref(),
            Some("catena-x")
        );
        assert_eq!(s.head().unwrap(), None, "no audit entry yet");
    }

    #[test]
    fn a_trust_list_never_replaces_a_newer_one_of_its_ecosystem() {
        // Replicas: one that read the lists before another stored a newer one must not write
        // its older copy back (SPEC.md section 4, seq only grows).
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        let put = |eco: &str, seq: u64, jws: &str| Batch {
            trust_lists: vec![(eco.into(), seq, jws.into())],
            audit: vec![NewAudit {
                actor: "operator".into(),
                action: "trust-list.upload".into(),
                detail: serde_json::Value::Null,
                digest: String::new(),
            }],
            ..Batch::default()
        };
        s.commit(&put("cx", 2, "two"), 5).unwrap();
        s.commit(&put("ou", 1, "one"), 5).unwrap();
        for (seq, jws) in [(1, "one"), (2, "another two")] {
            let e = s.commit(&put("cx", seq, jws), 6).unwrap_err();
            assert!(matches!(e, StoreError::Conflict(_)), "{e}");
        }
        assert_eq!(
            s.audit(0, 10).unwrap().len(),
            2,
            "a refused batch commits nothing"
        );
        s.commit(&put("cx", 2, "two"), 7).unwrap();
        s.commit(&put("cx", 3, "three"), 7).unwrap();
        let held = s.load().unwrap().trust_lists;
        assert_eq!(
            held,
            [
                ("cx".to_owned(), 3, "three".to_owned()),
                ("ou".to_owned(), 1, "one".to_owned())
            ]
        );
    }

    #[test]
    fn refuses_a_seen_jti_and_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        let b = Batch {
            jtis: vec![JtiRow {
                iss: "did:x".into(),
                jti: "1".into(),
                iat: 5,
            }],
            audit: vec![NewAudit {
                actor: "did:x".into(),
                action: "status.update".into(),
                detail: serde_json::Value::Null,
                digest: "ab".into(),
            }],
            ..Batch::default()
        };
        s.commit(&b, 5).unwrap();
        let head = s.head().unwrap().unwrap();
        assert_eq!(head.0, 1);
        assert!(matches!(s.commit(&b, 6), Err(StoreError::Replay)));
        assert_eq!(
            s.head().unwrap(),
            Some(head),
            "a refused batch leaves the head"
        );
        assert_eq!(s.audit(0, 10).unwrap().len(), 1);
        assert_eq!(s.prune_jtis(6).unwrap(), 1);
    }

    #[test]
    fn bit_changes_apply_to_the_stored_bits_and_signing_only_over_the_version_it_replaces() {
        use crate::store::{BitChange, SignedList, StatusRow};
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        let row = StatusRow {
            slug: "a".into(),
            list_id: "1".into(),
            purpose: "revocation".into(),
            bits: vec![0; 4],
            jws: "v1".into(),
            valid_from: 10,
            valid_until: 20,
            dirty: false,
        };
        s.commit(
            &Batch {
                status: vec![row.clone()],
                ..Batch::default()
            },
            1,
        )
        .unwrap();
        let bit = |index, value| BitChange {
            slug: "a".into(),
            list_id: "1".into(),
            purpose: "revocation".into(),
            index,
            value,
        };
        // Two writers' changes to different bits of one list both hold.
        s.commit(
            &Batch {
                bits: vec![bit(0, true)],
                ..Batch::default()
            },
            2,
        )
        .unwrap();
        s.commit(
            &Batch {
                bits: vec![bit(31, true), bit(9, true), bit(9, false)],
                ..Batch::default()
            },
            2,
        )
        .unwrap();
        let held = s.load().unwrap().status.remove(0);
        assert_eq!(held.bits, vec![0x80, 0, 0, 0x01]);
        assert!(held.dirty, "a flipped bit marks the row");
        // A signature over fewer bits than are held is recorded (it is the newest) and
        // leaves the row dirty, for the next signing.
        let partial = SignedList {
            row: StatusRow {
                bits: vec![0x80, 0, 0, 0],
                jws: "v2".into(),
                valid_from: 11,
                ..row.clone()
            },
            replaces: 10,
        };
        s.commit(
            &Batch {
                signed: vec![partial.clone()],
                ..Batch::default()
            },
            3,
        )
        .unwrap();
        let held = s.load().unwrap().status.remove(0);
        assert_eq!((held.jws.as_str(), held.dirty), ("v2", true));
        // Signed again over the version 10 (another signer's stale view), or under 11 again
        // with other bits, or under an older validFrom: refused, nothing committed.
        let again = |jws: &str, valid_from, replaces| SignedList {
            row: StatusRow {
                bits: vec![0x80, 0, 0, 1],
                jws: jws.into(),
                valid_from,
                ..row.clone()
            },
            replaces,
        };
        for refused in [again("x", 12, 10), again("y", 11, 11), again("z", 9, 11)] {
            let b = Batch {
                signed: vec![refused],
                bits: vec![bit(20, true)],
                ..Batch::default()
            };
            assert!(matches!(s.commit(&b, 3), Err(StoreError::Conflict(_))));
        }
        let held = s.load().unwrap().status.remove(0);
        assert_eq!((held.jws.as_str(), held.valid_from), ("v2", 11));
        assert_eq!(
            held.bits,
            vec![0x80, 0, 0, 0x01],
            "the refused batch's bit not set"
        );
        s.commit(
            &Batch {
                signed: vec![again("v3", 12, 11)],
                ..Batch::default()
            },
            3,
        )
        .unwrap();
        let held = s.load().unwrap().status.remove(0);
        assert_eq!(
            (held.jws.as_str(), held.valid_from, held.dirty),
            ("v3", 12, false)
        );
        // Setting a bit already set changes nothing; a missing row or index fails the batch.
        s.commit(
            &Batch {
                bits: vec![bit(0, true)],
                ..Batch::default()
            },
            4,
        )
        .unwrap();
        assert!(!s.load().unwrap().status[0].dirty);
        assert!(s
            .commit(
                &Batch {
                    bits: vec![bit(32, true)],
                    ..Batch::default()
                },
                4
            )
            .is_err());
        let other = BitChange {
            list_id: "2".into(),
            ..bit(0, true)
        };
        assert!(s
            .commit(
                &Batch {
                    bits: vec![other],
                    ..Batch::default()
                },
                4
            )
            .is_err());
    }
}
