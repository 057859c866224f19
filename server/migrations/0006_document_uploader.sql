-- Documents record who uploaded them (the authenticated DID of the `op: "document"`
-- envelope) and their size, so that a per-issuer storage quota (`document_quota_bytes`,
-- docs/server.md) is checked against what every replica stored: the sum runs in the
-- committing transaction, under a transaction-scoped advisory lock on the uploader
-- (`pg_advisory_xact_lock(6, hashtext(uploader))`). Documents stored before this migration
-- have no uploader and count for no one.

ALTER TABLE documents ADD COLUMN uploader TEXT;
ALTER TABLE documents ADD COLUMN size BIGINT;
UPDATE documents SET size = octet_length(bytes);
ALTER TABLE documents ALTER COLUMN size SET NOT NULL;
CREATE INDEX documents_uploader ON documents (uploader);
