-- Point-in-time reads (SPEC.md 1.2 section 6.2, `GET /v1/passports/{gtin}/{serial}?at=`): when
-- each passport version and attestation was accepted, in Unix seconds of the committing
-- request. Rows stored before this migration take the time of their upload's audit entry
-- (`passport.upload`, `attestation.upload`, `demo.seed`, whose `detail` names the digest);
-- a row without one keeps NULL and is read as accepted from the beginning.

ALTER TABLE passports ADD COLUMN accepted_at BIGINT;
ALTER TABLE attestations ADD COLUMN accepted_at BIGINT;
UPDATE passports p SET accepted_at = a.at
    FROM (SELECT detail::jsonb->>'digest' AS digest, MIN(at) AS at FROM audit
          WHERE action IN ('passport.upload', 'demo.seed') GROUP BY 1) a
    WHERE a.digest = p.digest;
UPDATE attestations t SET accepted_at = a.at
    FROM (SELECT detail::jsonb->>'digest' AS digest, MIN(at) AS at FROM audit
          WHERE action IN ('attestation.upload', 'demo.seed') GROUP BY 1) a
    WHERE a.digest = t.digest;
CREATE INDEX passports_path_accepted ON passports (path, accepted_at);
