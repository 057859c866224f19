//! Storage behind one narrow trait: load everything at start, commit a batch atomically, read
//! the audit log. Handlers never see SQL; a PostgreSQL backend implements [`Store`] and
//! nothing else changes.
//!
//! Calls block (SQLite fsyncs on commit): callers run them on the blocking pool
//! (`web::block` / `spawn_blocking`), never on an actix worker.

mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use serde::Serialize;
use serde_json::Value;

/// An onboarded issuer: which DID publishes under which URL slug, bound to which ecosystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRow {
    /// URL slug (`/v1/status/{slug}/...`).
    pub slug: String,
    /// The issuer's DID (an entity of an accepted trust list).
    pub did: String,
    /// The one ecosystem its requests are authenticated in (SPEC.md section 4); `None` for
    /// rows written before bindings existed.
    pub eco: Option<String>,
}

/// A list id of an issuer with its allocation bitmap (one bit per index, MSB first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRow {
    /// Issuer slug.
    pub slug: String,
    /// List id.
    pub list_id: String,
    /// Allocated indexes as a bitmap.
    pub allocated: Vec<u8>,
}

/// One status list (one purpose of a list id): the bits and the signed credential served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRow {
    /// Issuer slug.
    pub slug: String,
    /// List id.
    pub list_id: String,
    /// `revocation`, `suspension` or `refresh`.
    pub purpose: String,
    /// The bitstring.
    pub bits: Vec<u8>,
    /// The signed `vc+jwt` served on GET.
    pub jws: String,
    /// `validFrom` of `jws`.
    pub valid_from: u64,
    /// `validUntil` of `jws`.
    pub valid_until: u64,
    /// The bits changed since `jws` was signed (publication deferred).
    pub dirty: bool,
}

/// A status authority key (the private key lives on the server: it signs status lists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorityKeyRow {
    /// Key id.
    pub kid: String,
    /// Ed25519 secret.
    pub secret: [u8; 32],
    /// Creation time.
    pub created: u64,
    /// The key that signs now (exactly one is active once any is).
    pub active: bool,
}

/// A known item (battery) and its status entry, for the Digital Link linkset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRow {
    /// `01/{gtin}/21/{serial}`.
    pub path: String,
    /// Issuer slug.
    pub slug: String,
    /// List id.
    pub list_id: String,
    /// Index.
    pub index: u64,
}

/// A public passport version of a battery (SPEC.md section 3.1), as accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassportRow {
    /// `01/{gtin}/21/{serial}`.
    pub path: String,
    /// `metadata.version` (1, 2, ...).
    pub version: u64,
    /// Base64url SHA-256 of `jws`.
    pub digest: String,
    /// The compact `vc+jwt`.
    pub jws: String,
}

/// A lifecycle event a registry applied (SPEC.md 1.2 sections 3.4 and 6.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    /// `01/{gtin}/21/{serial}` of the battery.
    pub path: String,
    /// Position among the battery's events, from 1: (path, seq) is unique, so two writers
    /// applying an event on the same status cannot both commit.
    pub seq: u64,
    /// The event's `id` (`urn:uuid:...`), unique.
    pub event_id: String,
    /// Base64url SHA-256 of `jws`.
    pub digest: String,
    /// The compact `vc+jwt`.
    pub jws: String,
    /// When the registry applied it (Unix seconds).
    pub accepted_at: u64,
}

/// A restricted passport section (SPEC.md section 6.3): kept apart from the public versions,
/// never served by a public route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestrictedRow {
    /// Base64url SHA-256 of `jws`.
    pub digest: String,
    /// `01/{gtin}/21/{serial}`.
    pub path: String,
    /// `legitimate-interest` or `authority`.
    pub tier: String,
    /// The compact `vc+jwt`.
    pub jws: String,
}

/// An inspection report (SPEC.md section 6.4), content-addressed, listed per battery to
/// inspectors only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    /// Base64url SHA-256 of `jws`.
    pub digest: String,
    /// `01/{gtin}/21/{serial}` of the battery inspected.
    pub path: String,
    /// The inspector's DID.
    pub issuer: String,
    /// The compact `vc+jwt`.
    pub jws: String,
}

/// An attestation (SPEC.md section 3.3) under its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationRow {
    /// Base64url SHA-256 of `jws`.
    pub digest: String,
    /// The compact `vc+jwt`.
    pub jws: String,
}

/// A document (SPEC.md section 3.2), content-addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRow {
    /// Base64url SHA-256 of `bytes`.
    pub digest: String,
    /// The media type recorded at upload.
    pub media_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The authenticated uploader's DID (its storage quota counts the bytes; `NULL` in the
    /// store for documents uploaded before it was recorded, counted for no one).
    pub uploader: String,
}

/// An audit entry to append.
#[derive(Clone, Debug)]
pub struct NewAudit {
    /// Who: the issuer DID, or `operator`, or `demo`.
    pub actor: String,
    /// What kind: `status.update`, `allocate`, `issuer.onboard`, `trust-list.upload`, ...
    pub action: String,
    /// What exactly.
    pub detail: Value,
    /// SHA-256 (hex) of the request body.
    pub digest: String,
}

/// An audit entry as stored: append-only, hash-chained.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Position, from 1.
    pub seq: i64,
    /// When (Unix seconds).
    pub at: u64,
    /// Who.
    pub actor: String,
    /// What kind.
    pub action: String,
    /// What.
    pub detail: Value,
    /// SHA-256 (hex) of the request body.
    pub digest: String,
    /// SHA-256 (hex) chaining this entry to the previous one.
    pub hash: String,
}

/// A replay-protection record.
#[derive(Clone, Debug)]
pub struct JtiRow {
    /// Issuer DID.
    pub iss: String,
    /// The request's `jti`.
    pub jti: String,
    /// The request's `iat` (pruned once older than the acceptance window).
    pub iat: u64,
}

/// One bit of a stored status list to set or clear (a status update). Applied to the stored
/// bits in the database (not by replacing the whole row), so replicas writing different bits
/// of one list at the same time do not clobber each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitChange {
    /// Issuer slug.
    pub slug: String,
    /// List id.
    pub list_id: String,
    /// `revocation`, `suspension` or `refresh`.
    pub purpose: String,
    /// Index (bit 0 is the most significant bit of the first byte, as in the W3C bitstring).
    pub index: u64,
    /// The value to hold.
    pub value: bool,
}

/// An index of a list to allocate (`POST /v1/allocate`). Claimed in the database, bit by bit,
/// not by writing back a bitmap read earlier: replicas allocating on one list at once never
/// overwrite each other's indexes, and an index another writer set since is refused
/// ([`StoreError::Conflict`]), never handed out twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexClaim {
    /// Issuer slug.
    pub slug: String,
    /// List id.
    pub list_id: String,
    /// Index (bit 0 is the most significant bit of the first byte).
    pub index: u64,
}

/// A newly signed status list (publication) and the signed version it replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedList {
    /// The list as signed: `bits` are the bits the new `jws` carries, `valid_from` its
    /// `validFrom` (`dirty` is not read: the store sets it to whether the stored bits differ
    /// from the signed ones).
    pub row: StatusRow,
    /// `validFrom` of the signed list held when signing (the one it replaces).
    pub replaces: u64,
}

/// Everything one operation, or one group of operations (group commit), changes, committed in
/// one transaction: all of it or nothing.
///
/// Order of application: `jtis`, then the other inserts, `status` (whole rows), `claims`,
/// `bits`, `signed`, and last the `audit` entries in order.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// `jti`s to record; the commit fails with [`StoreError::Replay`], committing nothing, if
    /// any was seen before (a group commit checks each request's `jti` before grouping it and
    /// retries a refused group one request at a time).
    pub jtis: Vec<JtiRow>,
    /// Accepted trust lists `(eco, seq, jws)`, each replacing the held list of its ecosystem
    /// only: a batch carries the ecosystems it changes, never rows read earlier. `seq` never
    /// goes back (SPEC.md section 4): where the store holds a list of the ecosystem with
    /// another `jws` and a `seq` not below this one (another replica stored it since), the
    /// batch fails with [`StoreError::Conflict`], committing nothing.
    pub trust_lists: Vec<(String, u64, String)>,
    /// Issuers to insert.
    pub issuers: Vec<IssuerRow>,
    /// Lists to insert or update whole (onboarding a new list; allocation goes by `claims`).
    pub lists: Vec<ListRow>,
    /// Status lists to insert or replace whole (onboarding, a single writer).
    pub status: Vec<StatusRow>,
    /// Indexes to allocate (after `lists`), each set in its list's stored bitmap under the
    /// row's lock. One already set there (another replica allocated it since this one read
    /// the bitmap), or named twice, fails the batch with [`StoreError::Conflict`], committing
    /// nothing: the caller re-reads and plans again. A claim on a list that does not exist
    /// fails the batch.
    pub claims: Vec<IndexClaim>,
    /// Status bits to set or clear in stored lists (after `status`). A change that flips the
    /// stored bit marks the row `dirty` (its signed list no longer shows it); one that finds
    /// the bit already at `value` changes nothing. A change to a row that does not exist
    /// fails the batch.
    pub bits: Vec<BitChange>,
    /// Newly signed lists (after `bits`): each sets `jws`, `valid_from` and `valid_until` of
    /// its row, and `dirty` to whether the stored bits (every acknowledged change, the batch's
    /// own included) differ from the signed ones. The stored `valid_from` is the last
    /// `validFrom` signed for the list and only grows: a signed list is recorded only when the
    /// row still holds the version it `replaces` and its `valid_from` is greater; otherwise
    /// (another writer signed since) the batch fails with [`StoreError::Conflict`],
    /// committing nothing, so no two bodies are ever held under one `validFrom`. Bits other
    /// writers changed since the signer read the row do not refuse it: they leave it dirty,
    /// for the next signing. Never inserts.
    pub signed: Vec<SignedList>,
    /// Authority keys to insert or update.
    pub authority_keys: Vec<AuthorityKeyRow>,
    /// Items to insert or update.
    pub items: Vec<ItemRow>,
    /// Passport versions to insert (a version already held for the battery fails the batch).
    pub passports: Vec<PassportRow>,
    /// Restricted sections to insert (the same digest again is ignored).
    pub restricted: Vec<RestrictedRow>,
    /// Attestations to insert (the same digest again is ignored).
    pub attestations: Vec<AttestationRow>,
    /// Documents to insert (the same digest again is ignored).
    pub documents: Vec<DocumentRow>,
    /// Per-uploader storage quota, bytes: a document that is not held yet and would take its
    /// uploader's stored bytes (summed in the transaction, as every replica committed them)
    /// past it fails the batch with [`StoreError::QuotaExceeded`].
    pub document_quota: Option<u64>,
    /// Audit entries to append.
    pub audit: Vec<NewAudit>,
    /// Inspection reports to insert (the same digest again is ignored).
    pub reports: Vec<ReportRow>,
    /// Lifecycle events to insert. One whose (path, seq) or event id is held already
    /// (another writer applied an event on the same status since this one read it) fails
    /// the batch with [`StoreError::Conflict`], committing nothing.
    pub events: Vec<EventRow>,
}

impl Batch {
    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.jtis.is_empty()
            && self.trust_lists.is_empty()
            && self.issuers.is_empty()
            && self.lists.is_empty()
            && self.status.is_empty()
            && self.claims.is_empty()
            && self.bits.is_empty()
            && self.signed.is_empty()
            && self.authority_keys.is_empty()
            && self.items.is_empty()
            && self.passports.is_empty()
            && self.restricted.is_empty()
            && self.attestations.is_empty()
            && self.documents.is_empty()
            && self.reports.is_empty()
            && self.events.is_empty()
            && self.audit.is_empty()
    }
}

/// Everything held, read at start.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Trust lists `(eco, seq, jws)`.
    pub trust_lists: Vec<(String, u64, String)>,
    /// Issuers.
    pub issuers: Vec<IssuerRow>,
    /// Lists.
    pub lists: Vec<ListRow>,
    /// Status lists.
    pub status: Vec<StatusRow>,
    /// Authority keys.
    pub authority_keys: Vec<AuthorityKeyRow>,
    /// Items.
    pub items: Vec<ItemRow>,
    /// Passport versions, by battery and version.
    pub passports: Vec<PassportRow>,
    /// Restricted sections (kept in memory only to answer repeated uploads).
    pub restricted: Vec<RestrictedRow>,
    /// Attestations.
    pub attestations: Vec<AttestationRow>,
    /// Inspection reports (kept in memory only to answer repeated uploads).
    pub reports: Vec<ReportRow>,
    /// Lifecycle events, by battery and `seq`.
    pub events: Vec<EventRow>,
}

/// Storage failures.
#[derive(Debug)]
pub enum StoreError {
    /// The `jti` was seen before: nothing was committed.
    Replay,
    /// Another writer got there first (an index claimed, a list signed since this one read
    /// it): nothing was committed; re-read (`Store::changes`) and plan again.
    Conflict(String),
    /// The backend failed.
    Backend(String),
    /// A document would take its uploader past the storage quota: nothing was committed.
    QuotaExceeded {
        /// Bytes the uploader's documents hold now.
        used: u64,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Replay => f.write_str("jti already seen"),
            StoreError::Conflict(e) => write!(f, "another writer got there first: {e}"),
            StoreError::Backend(e) => write!(f, "storage failed: {e}"),
            StoreError::QuotaExceeded { used } => {
                write!(
                    f,
                    "the uploader's documents hold {used} bytes: over the quota"
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// A change-version probe's answer ([`Store::probe_version`]).
#[derive(Clone, Copy, Debug)]
pub struct Probed {
    /// The database's change version when the probe ran.
    pub version: i64,
    /// Whether this caller's probe made the round trip (`false`: it shared another's).
    pub ran: bool,
}

/// The storage contract. Every method blocks.
pub trait Store: Send + Sync + 'static {
    /// Reads everything held (start-up).
    fn load(&self) -> Result<Snapshot, StoreError>;
    /// What other processes changed since this one last read or wrote (replicas,
    /// `registry/follow.rs`): the issuers, allocation bitmaps, status lists, trust lists,
    /// authority keys, passport versions and attestations written since, in a snapshot with
    /// only those filled; `None` when nothing was. (Documents, restricted sections and
    /// reports are read from the store per request: nothing of them is held to refresh.)
    /// The default re-reads everything (a store only one process writes never needs it).
    fn changes(&self) -> Result<Option<Snapshot>, StoreError> {
        self.load().map(Some)
    }
    /// Replicas (`Registry::fresh_gate`): the change version the database is at, read by a
    /// round trip that started after this call; callers that arrive while one is in flight
    /// wait for the next one and share its answer (whatever the request rate, about one
    /// probe per round trip). `None` for a store only one process writes (nothing to ask).
    fn probe_version(&self) -> Result<Option<Probed>, StoreError> {
        Ok(None)
    }
    /// The change version the registry has applied: what [`Store::changes`] had brought
    /// when it last called [`Store::mark_applied`].
    fn applied_version(&self) -> i64 {
        0
    }
    /// Records that the registry applied everything [`Store::changes`] brought so far (its
    /// authentication snapshot included).
    fn mark_applied(&self) {}
    /// Commits a batch atomically and durably (on disk when this returns `Ok`); returns the
    /// sequence numbers of the appended audit entries. Several processes may commit to one
    /// database at once (replicas): appends to the audit chain must be serialised (each
    /// entry chains to the one before it), and `bits` are applied to the stored bits.
    fn commit(&self, batch: &Batch, now: u64) -> Result<Vec<i64>, StoreError>;
    /// Audit entries with `seq > after`, oldest first, at most `limit`.
    fn audit(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
    /// Which of `jtis` were recorded before, in order (a group commit leaves those out
    /// instead of failing the whole group). The default answers "none": the commit's
    /// [`StoreError::Replay`] still refuses them, one group at a time.
    fn jtis_seen(&self, jtis: &[JtiRow]) -> Result<Vec<bool>, StoreError> {
        Ok(vec![false; jtis.len()])
    }
    /// Forgets `jti`s whose `iat` is before `before` (they would be refused as stale anyway).
    fn prune_jtis(&self, before: u64) -> Result<usize, StoreError>;
    /// The last audit entry's `(seq, hash)`, `None` while the log is empty.
    fn head(&self) -> Result<Option<(i64, String)>, StoreError>;
    /// A document by digest: `(media type, bytes)` (documents are not loaded at start: they
    /// may be large).
    fn document(&self, digest: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    /// The restricted sections of one battery (`01/{gtin}/21/{serial}`), oldest first (read
    /// per request by `POST /v1/restricted`, SPEC.md section 6.3; never loaded for serving).
    ///
    /// The default refuses (a backend that does not hold them yet answers an error, never an
    /// empty list).
    fn restricted_sections(&self, path: &str) -> Result<Vec<RestrictedRow>, StoreError> {
        Err(StoreError::Backend(format!(
            "this storage backend cannot read restricted sections (asked for {path})"
        )))
    }
    /// A battery's lifecycle events as the registry had applied them at `at` (Unix seconds;
    /// SPEC.md 1.2 section 6.2, point in time), oldest first. The default refuses, as for
    /// [`Store::restricted_sections`].
    fn events_at(&self, path: &str, at: u64) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Backend(format!(
            "this storage backend cannot read lifecycle events (asked for {path} at {at})"
        )))
    }
    /// A battery's passport versions as the registry had accepted them at `at` (Unix
    /// seconds; SPEC.md 1.2 section 6.2, point in time): those accepted at or before `at`,
    /// oldest first. Read per request, never cached. The default refuses, as for
    /// [`Store::restricted_sections`].
    fn versions_at(&self, path: &str, at: u64) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Backend(format!(
            "this storage backend cannot read versions as of a time (asked for {path} at {at})"
        )))
    }
    /// `(digest, jws)` of those of `digests` that were accepted at or before `at`.
    fn attestations_at(
        &self,
        digests: &[String],
        at: u64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Err(StoreError::Backend(format!(
            "this storage backend cannot read attestations as of a time ({} asked at {at})",
            digests.len()
        )))
    }
    /// The inspection reports of one battery, oldest first (SPEC.md section 6.4). The default
    /// refuses, as for [`Store::restricted_sections`].
    fn reports(&self, path: &str) -> Result<Vec<ReportRow>, StoreError> {
        Err(StoreError::Backend(format!(
            "this storage backend cannot read inspection reports (asked for {path})"
        )))
    }
}

/// The hash chaining an audit entry to the previous one: SHA-256 (hex) over the previous
/// hash, `seq`, `at`, `actor`, `action`, the `detail` JSON text and `digest`, each followed by
/// a zero byte. The first entry's previous hash is empty. `detail` is the compact JSON text
/// as stored, which is what `GET /v1/audit` parses and any JSON library re-serialises
/// compactly in the same member order.
pub fn chain_hash(
    prev: &str,
    seq: i64,
    at: u64,
    actor: &str,
    action: &str,
    detail: &str,
    digest: &str,
) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        &at.to_string(),
        actor,
        action,
        detail,
        digest,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    sqlite::hex(&h.finalize())
}

/// SHA-256 of bytes as lower-case hex.
pub fn hex_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sqlite::hex(&sha2::Sha256::digest(bytes))
}
