-- Change versions for the rows every replica holds in memory besides issuers, lists and
-- status lists (migration 3): trust lists and authority keys (what requests are
-- authenticated against and lists are signed with), passports and attestations (what the
-- passport routes serve), and documents (read from the database per request, stamped so
-- that a document upload moves the change mark too). A replica re-reads the rows written
-- after the version it holds (`PostgresStore::changes`), so a trust list, key, passport or
-- attestation accepted by one replica is served and enforced by every replica within its
-- poll interval.

ALTER TABLE trust_lists ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE authority_keys ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE passports ADD COLUMN version_stamp BIGINT NOT NULL DEFAULT 1;
ALTER TABLE attestations ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE documents ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX trust_lists_version ON trust_lists (version);
CREATE INDEX authority_keys_version ON authority_keys (version);
CREATE INDEX passports_version_stamp ON passports (version_stamp);
CREATE INDEX attestations_version ON attestations (version);

-- `passports.version` is the passport's own version (1, 2, ...): its change version is
-- `version_stamp`, stamped by a function of its own.
CREATE FUNCTION stamp_version_stamp() RETURNS trigger AS $$
BEGIN
    UPDATE registry_version SET version = version + 1, txid = txid_current()
        WHERE id = 1 AND txid IS DISTINCT FROM txid_current();
    SELECT version INTO NEW.version_stamp FROM registry_version WHERE id = 1;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER trust_lists_version BEFORE INSERT OR UPDATE ON trust_lists
    FOR EACH ROW EXECUTE FUNCTION stamp_version();
CREATE TRIGGER authority_keys_version BEFORE INSERT OR UPDATE ON authority_keys
    FOR EACH ROW EXECUTE FUNCTION stamp_version();
CREATE TRIGGER passports_version BEFORE INSERT OR UPDATE ON passports
    FOR EACH ROW EXECUTE FUNCTION stamp_version_stamp();
CREATE TRIGGER attestations_version BEFORE INSERT OR UPDATE ON attestations
    FOR EACH ROW EXECUTE FUNCTION stamp_version();
CREATE TRIGGER documents_version BEFORE INSERT OR UPDATE ON documents
    FOR EACH ROW EXECUTE FUNCTION stamp_version();
