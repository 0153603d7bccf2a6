-- pair_tests loses its foreign key to users. Compute writes a member's tests at every
-- run that changed something, 315 of them for 10 metrics and meetup days, and each row
-- checked the key: a lookup and a row lock (FOR KEY SHARE) per row, queued as after-row
-- trigger events. Under the first full recompute the insert took 4 to 5 ms a member
-- (`BENCH_PG=shared_preload_libraries=pg_stat_statements cargo run --release -p server
-- --example bench_pipeline`).
--
-- What the key guaranteed is kept otherwise, as for daily_values (migration 19):
-- * a pair test names an existing member: Compute, its only writer, locks the member's
--   row (FOR KEY SHARE) once before it reads their inputs, so a member being deleted
--   waits for a running compute (and the trigger below then removes what it wrote), and
--   a compute after the deletion finds no member and writes nothing;
-- * a pair test goes with its member: the trigger below deletes them.
ALTER TABLE pair_tests DROP CONSTRAINT pair_tests_user_id_fkey;

CREATE FUNCTION pair_tests_follow_deleted_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM pair_tests t USING old_rows r WHERE t.user_id = r.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_delete_pair_tests AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pair_tests_follow_deleted_members();
