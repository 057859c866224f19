-- Inspection reports (SPEC.md section 6.4), content-addressed, listed per battery to
-- inspectors only; `added` keeps the order of arrival (read oldest first).

CREATE TABLE reports (
    digest TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    issuer TEXT NOT NULL,
    jws TEXT NOT NULL,
    added BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX reports_path ON reports (path, added);
