-- daily_values loses its two foreign keys. A member's first roll-up (or a recompute after
-- a day rule or a time zone changed) writes every day of their history, 7,300 rows for
-- 10 metrics over two years, and each row checked both keys: a lookup and a row lock
-- (FOR KEY SHARE) per key and row, queued as after-row trigger events. On the recompute
-- benchmark (250 members x 10 metrics x 730 days, every daily value written) the checks
-- were half the time: 30.6 s with both keys, 22.4 s without the member's, 16.8 s with
-- neither (`BENCH_SQL='ALTER TABLE daily_values DROP CONSTRAINT ...'
-- cargo run --release -p server --example bench_pipeline -- 250`).
--
-- What the keys guaranteed is kept otherwise:
-- * a daily value names an existing member: Index is its only writer, and each of its
--   statements locks the member's row (FOR KEY SHARE) once before it writes, so a
--   member being deleted waits for a running roll-up (and the trigger below then
--   removes what it wrote) and a roll-up after the deletion finds no member and writes
--   nothing;
-- * a daily value names an existing metric: its metric comes from the member's own
--   observations (whose metric is still checked) in the same statement, and a metric is
--   only ever deleted with its owner, whose daily values go with them;
-- * a daily value goes with its member and its metric: the triggers below delete them
--   (a member's metrics are deleted by a cascade, which fires them too).
ALTER TABLE daily_values
    DROP CONSTRAINT daily_values_user_id_fkey,
    DROP CONSTRAINT daily_values_metric_id_fkey;

CREATE FUNCTION daily_values_follow_deleted_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM daily_values d USING old_rows r WHERE d.user_id = r.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_delete_daily_values AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION daily_values_follow_deleted_members();

-- A member's own metric has daily values of its owner only (by the primary key's order);
-- a catalogue metric (never deleted today) could have anyone's.
CREATE FUNCTION daily_values_follow_deleted_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM daily_values d USING old_rows r
     WHERE d.user_id = r.owner_id AND d.metric_id = r.id;
    IF EXISTS (SELECT 1 FROM old_rows WHERE owner_id IS NULL) THEN
        DELETE FROM daily_values d USING old_rows r
         WHERE r.owner_id IS NULL AND d.metric_id = r.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER metrics_delete_daily_values AFTER DELETE ON metrics
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION daily_values_follow_deleted_metrics();
