-- Cellproof registry schema, version 1: the tables of the SQLite store (server/src/store/
-- sqlite.rs), in PostgreSQL types. Applied by server/src/store/postgres.rs inside one
-- transaction and recorded in schema_migrations. Never edit an applied migration: add the
-- next file (the server refuses a database whose recorded checksum differs).

CREATE TABLE trust_lists (
    eco TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    jws TEXT NOT NULL
);

CREATE TABLE issuers (
    slug TEXT PRIMARY KEY,
    did TEXT NOT NULL UNIQUE,
    eco TEXT
);

CREATE TABLE lists (
    slug TEXT NOT NULL REFERENCES issuers (slug),
    list_id TEXT NOT NULL,
    allocated BYTEA NOT NULL,
    PRIMARY KEY (slug, list_id)
);

CREATE TABLE status_lists (
    slug TEXT NOT NULL,
    list_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    bits BYTEA NOT NULL,
    jws TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    dirty BOOLEAN NOT NULL,
    PRIMARY KEY (slug, list_id, purpose)
);

CREATE TABLE authority_keys (
    kid TEXT PRIMARY KEY,
    secret BYTEA NOT NULL CHECK (length(secret) = 32),
    created BIGINT NOT NULL,
    active BOOLEAN NOT NULL
);

CREATE TABLE items (
    path TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    list_id TEXT NOT NULL,
    idx BIGINT NOT NULL
);

CREATE TABLE passports (
    path TEXT NOT NULL,
    version BIGINT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    jws TEXT NOT NULL,
    PRIMARY KEY (path, version)
);

-- `added` keeps the order of arrival (read oldest first).
CREATE TABLE restricted_sections (
    digest TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    tier TEXT NOT NULL,
    jws TEXT NOT NULL,
    added BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX restricted_sections_path ON restricted_sections (path, added);

CREATE TABLE attestations (
    digest TEXT PRIMARY KEY,
    jws TEXT NOT NULL
);

CREATE TABLE documents (
    digest TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    bytes BYTEA NOT NULL
);

CREATE TABLE jtis (
    iss TEXT NOT NULL,
    jti TEXT NOT NULL,
    iat BIGINT NOT NULL,
    PRIMARY KEY (iss, jti)
);
CREATE INDEX jtis_iat ON jtis (iat);

-- The audit log: append-only, hash-chained (store::chain_hash). `detail` is the compact
-- JSON text the hash covers, kept as TEXT (JSONB would reorder members).
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY CHECK (seq > 0),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    digest TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- The chain's head, one row. Every append locks it (SELECT ... FOR UPDATE) until COMMIT,
-- so writers in several processes (replicas) append one after the other and never fork
-- the chain; it only moves forward.
CREATE TABLE audit_head (
    id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, '');

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;

CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

CREATE FUNCTION audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq <= OLD.seq THEN
        RAISE EXCEPTION 'the audit head only moves forward';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_head_only_forward BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
