-- Change versions, so that a replica re-reads only what other replicas changed
-- (`PostgresStore::changes`): one counter, bumped once by every transaction that writes
-- issuers, lists or status lists, under its row lock (so versions follow commit order), and
-- a `version` column on those rows stamped with the writing transaction's version.

CREATE TABLE registry_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    -- The transaction that set `version` (a transaction bumps it once, not per row).
    txid BIGINT
);
INSERT INTO registry_version (id, version) VALUES (1, 1);

ALTER TABLE issuers ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE lists ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE status_lists ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX issuers_version ON issuers (version);
CREATE INDEX lists_version ON lists (version);
CREATE INDEX status_lists_version ON status_lists (version);

-- Stamps a written row with its transaction's version, bumping the counter on the
-- transaction's first write (the store bumps it first thing in a commit that writes these
-- tables; this also covers any other writer).
CREATE FUNCTION stamp_version() RETURNS trigger AS $$
BEGIN
    UPDATE registry_version SET version = version + 1, txid = txid_current()
        WHERE id = 1 AND txid IS DISTINCT FROM txid_current();
    SELECT version INTO NEW.version FROM registry_version WHERE id = 1;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER issuers_version BEFORE INSERT OR UPDATE ON issuers
    FOR EACH ROW EXECUTE FUNCTION stamp_version();
CREATE TRIGGER lists_version BEFORE INSERT OR UPDATE ON lists
    FOR EACH ROW EXECUTE FUNCTION stamp_version();
CREATE TRIGGER status_lists_version BEFORE INSERT OR UPDATE ON status_lists
    FOR EACH ROW EXECUTE FUNCTION stamp_version();

-- Sets and clears status bits in a stored bitstring, in order (W3C Bitstring Status List:
-- index 0 is the most significant bit of the first byte; PostgreSQL's set_bit counts from
-- the least significant). A group of updates is one statement (`APPLY_BITS` in
-- server/src/store/postgres.rs), not a read and a write per list. Needs PostgreSQL 14 or
-- later (set_bit with a bigint index).
CREATE FUNCTION cellproof_apply_bits(b BYTEA, idx BIGINT[], val BOOLEAN[]) RETURNS BYTEA AS $$
DECLARE
    k INTEGER;
BEGIN
    FOR k IN 1 .. coalesce(array_length(idx, 1), 0) LOOP
        IF idx[k] < 0 OR idx[k] >= octet_length(b)::BIGINT * 8 THEN
            RAISE EXCEPTION 'status bit % is outside the list', idx[k];
        END IF;
        b := set_bit(b, (idx[k] / 8) * 8 + 7 - idx[k] % 8, val[k]::INTEGER);
    END LOOP;
    RETURN b;
END
$$ LANGUAGE plpgsql IMMUTABLE;

-- Bitstrings and signed lists are stored out of line without compression: a group of updates
-- rewrites one list's 16 KiB of bits and its signed form, and pglz compressing them was
-- nearly half of PostgreSQL's CPU per acknowledged update (the signed form, base64 of GZIP,
-- does not compress at all).
ALTER TABLE status_lists ALTER COLUMN bits SET STORAGE EXTERNAL;
ALTER TABLE status_lists ALTER COLUMN jws SET STORAGE EXTERNAL;
ALTER TABLE lists ALTER COLUMN allocated SET STORAGE EXTERNAL;
