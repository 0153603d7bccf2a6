-- raw_outcomes.raw_id loses its foreign key. Under load (bench_freshness: 50 members
-- sending 1,000 observations a second) its check took 14 to 90 ms per Distill batch of
-- 20 entries, against 0.1 ms for the insert itself: each check locks (FOR KEY SHARE) a
-- row on the newest pages of raw_observations, the very pages the API is inserting
-- into. What the key guaranteed is kept otherwise:
-- * an outcome names a landed row: Distill writes outcomes only for rows it has just
--   read, in the same transaction, which also inserts observations whose user_id is
--   still checked (a member deleted meanwhile fails the batch, which writes nothing);
-- * an outcome goes with its landed row: the trigger below deletes it (landed rows
--   are only ever deleted with their member, as a cascade, which fires it too).
ALTER TABLE raw_outcomes DROP CONSTRAINT raw_outcomes_raw_id_fkey;

CREATE FUNCTION raw_outcomes_follow_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM raw_outcomes o USING old_rows r WHERE o.raw_id = r.id;
    RETURN NULL;
END $$;
CREATE TRIGGER raw_observations_delete_outcomes AFTER DELETE ON raw_observations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION raw_outcomes_follow_deletes();
