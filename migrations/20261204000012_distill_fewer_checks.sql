-- Two foreign keys that Distill paid for on every row (a lookup per row, about 10% of
-- its time on bench_ingest) and that protect nothing the others do not:
-- * observations.raw_id: landed rows are append-only and deleted only with their member,
--   whose observations go with them (observations.user_id); the UNIQUE stays.
-- * raw_outcomes.user_id: an outcome is deleted with its landed row (raw_id, ON DELETE
--   CASCADE), which is deleted with its member.
ALTER TABLE observations DROP CONSTRAINT observations_raw_id_fkey;
ALTER TABLE raw_outcomes DROP CONSTRAINT raw_outcomes_user_id_fkey;
