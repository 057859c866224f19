-- Lifecycle events (SPEC.md 1.2 sections 3.4 and 6.2, `POST /v1/lifecycle`): every event a
-- registry applied, per battery in the order applied (`seq` from 1). The primary key is the
-- compare-and-set of the transition: two replicas that both read the battery at `seq` n and
-- each apply an event write the same (path, n + 1); the second insert finds the row and its
-- whole batch is refused as a conflict (`PostgresStore::commit`), so it is planned again on
-- the new status and refused as `lifecycle-conflict`, never acknowledged over the first.
-- `event_id` is the event's `id` (urn:uuid): one event is applied once.

CREATE TABLE lifecycle_events (
    path TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    digest TEXT NOT NULL,
    jws TEXT NOT NULL,
    accepted_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (path, seq)
);
CREATE INDEX lifecycle_events_version ON lifecycle_events (version);
CREATE TRIGGER lifecycle_events_version BEFORE INSERT OR UPDATE ON lifecycle_events
    FOR EACH ROW EXECUTE FUNCTION stamp_version();
