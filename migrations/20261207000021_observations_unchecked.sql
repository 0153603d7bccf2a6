-- observations lose their two foreign keys. Each observation Distill inserted checked
-- both: a lookup and a row lock (FOR KEY SHARE) per key and row, run as after-row
-- trigger events. With `auto_explain.log_triggers` on the ingest benchmark they were 9.3
-- ms of a 21 ms batch of 1,000 inserts (`BENCH_PG="shared_preload_libraries=auto_explain
-- auto_explain.log_min_duration=8 auto_explain.log_analyze=on auto_explain.log_triggers=on
-- logging_collector=on log_directory=/tmp/benchlog" cargo run --release -p server
-- --example bench_ingest -- 200000`).
--
-- What the keys guaranteed is kept otherwise, as for daily_values (migration 19):
-- * an observation names an existing member: Distill, the only writer outside the
--   benchmarks' generators, locks the member's row (FOR KEY SHARE) once per batch before
--   it writes, so a member being deleted waits for a running batch (and the trigger below
--   then removes what it wrote), and a batch after the deletion finds no member and
--   writes nothing;
-- * an observation names an existing metric: Distill takes its metrics from the member's
--   own and the catalogue's in the same transaction, and a metric is only ever deleted
--   with its owner (whose row the batch holds) or, for a catalogue metric, never;
-- * an observation goes with its member and its metric: the triggers below delete them,
--   which fires observations' own delete triggers as the cascade did.
ALTER TABLE observations
    DROP CONSTRAINT observations_user_id_fkey,
    DROP CONSTRAINT observations_metric_id_fkey;

CREATE FUNCTION observations_follow_deleted_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM observations o USING old_rows r WHERE o.user_id = r.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_delete_observations AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION observations_follow_deleted_members();

-- A member's own metric has observations of its owner only; a catalogue metric could
-- have anyone's.
CREATE FUNCTION observations_follow_deleted_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM observations o USING old_rows r
     WHERE o.user_id = r.owner_id AND o.metric_id = r.id;
    IF EXISTS (SELECT 1 FROM old_rows WHERE owner_id IS NULL) THEN
        DELETE FROM observations o USING old_rows r
         WHERE r.owner_id IS NULL AND o.metric_id = r.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER metrics_delete_observations AFTER DELETE ON metrics
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION observations_follow_deleted_metrics();
