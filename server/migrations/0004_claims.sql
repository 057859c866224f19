-- Replicas that never lose or hide an acknowledged write (issue 16; docs/deploy.md).
--
-- Allocation per bit. `POST /v1/allocate` used to write the whole bitmap a replica had
-- re-read, so two replicas allocating on one list at once overwrote each other's indexes. A
-- group's allocations are now claimed in the database, bit by bit, under the list's row lock
-- (`CLAIM_BITS` in server/src/store/postgres.rs): an index already set (another replica
-- handed it out first) makes the function answer NULL, and the store refuses the whole
-- commit as a conflict (nothing of it is kept); the registry re-reads and plans again.
-- Index 0 is the most significant bit of the first byte, as for status bits (migration 3).
CREATE FUNCTION cellproof_claim_bits(b BYTEA, idx BIGINT[]) RETURNS BYTEA AS $$
DECLARE
    k INTEGER;
    p BIGINT;
BEGIN
    FOR k IN 1 .. coalesce(array_length(idx, 1), 0) LOOP
        IF idx[k] < 0 OR idx[k] >= octet_length(b)::BIGINT * 8 THEN
            RAISE EXCEPTION 'allocation bit % is outside the list', idx[k];
        END IF;
        p := (idx[k] / 8) * 8 + 7 - idx[k] % 8;
        IF get_bit(b, p) = 1 THEN
            RETURN NULL;
        END IF;
        b := set_bit(b, p, 1);
    END LOOP;
    RETURN b;
END
$$ LANGUAGE plpgsql IMMUTABLE;

-- One signed body per (list, validFrom). `valid_from` of a status list is the last validFrom
-- signed for it, and it only grows: a new signature is recorded only over the signed version
-- it was made after and with a later validFrom (`UPDATE_SIGNED`), and this trigger refuses
-- any other write that would lower it or put another body under the same one (an onboarding
-- racing another replica's, an operator's hand). A verifier that saw one body under a
-- validFrom never sees another (SPEC.md section 5, `status_list_conflict`).
CREATE FUNCTION status_list_forward() RETURNS trigger AS $$
BEGIN
    IF NEW.valid_from < OLD.valid_from
        OR (NEW.valid_from = OLD.valid_from AND NEW.jws IS DISTINCT FROM OLD.jws) THEN
        RAISE EXCEPTION 'status list %/% (%): validFrom % is not after the signed %',
            OLD.slug, OLD.list_id, OLD.purpose, NEW.valid_from, OLD.valid_from;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER status_lists_forward BEFORE UPDATE ON status_lists
    FOR EACH ROW EXECUTE FUNCTION status_list_forward();
