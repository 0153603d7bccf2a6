-- Index reads a member's observations (value and whether excluded, by metric and time)
-- from the history index alone, without a visit to the table: a member's observations
-- arrive over months, one or two to a table page among everyone else's, so the roll-up
-- of 7,300 of them visited about as many pages. Measured with
-- `cargo run --release -p server --example bench_pipeline` (1,000 members x 10 metrics x
-- 730 days; the same build run with the old index by BENCH_SQL): the first full
-- recompute 33.8 -> 31.3 s, the nightly one 17.5 -> 15.4 s.
-- Built in the migration's transaction: writes to observations wait for it (seconds for
-- a few million rows).
DROP INDEX observations_history;
CREATE INDEX observations_history ON observations (user_id, metric_id, observed_at DESC, id DESC)
    INCLUDE (value, excluded);
