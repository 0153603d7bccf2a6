-- raw_outcomes loses its foreign key to observations. Distill writes one outcome per
-- landed entry, and each accepted one named the observation it became, checked by a
-- lookup and a row lock (FOR KEY SHARE) on an observation that the same transaction had
-- just inserted: a WAL record per row. On the ingest benchmark that check was half of
-- writing the outcomes (12.5 ms a batch of 1,000 with it, 5.7 ms without:
-- `BENCH_PG=shared_preload_libraries=pg_stat_statements BENCH_SQL='ALTER TABLE
-- raw_outcomes DROP CONSTRAINT raw_outcomes_observation_fkey' cargo run --release -p
-- server --example bench_ingest -- 200000`).
--
-- What the key guaranteed is kept otherwise:
-- * an outcome names an existing observation: Distill, its only writer, names either an
--   observation it inserted in the same transaction, or one it found already stored,
--   which it locks (FOR KEY SHARE) as it finds it, so that a deletion of that
--   observation waits for the outcome and then clears it (below);
-- * a deleted observation's outcomes no longer name it: the trigger below sets their
--   observation_id to NULL, as ON DELETE SET NULL did, in one statement per deletion
--   rather than a look-up per deleted row.
ALTER TABLE raw_outcomes DROP CONSTRAINT raw_outcomes_observation_fkey;

CREATE FUNCTION raw_outcomes_forget_deleted_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE raw_outcomes o SET observation_id = NULL
      FROM old_rows r
     WHERE o.user_id = r.user_id AND o.observation_id = r.id;
    RETURN NULL;
END $$;
CREATE TRIGGER observations_forget_outcomes AFTER DELETE ON observations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION raw_outcomes_forget_deleted_observations();
