-- Distill walks a member's landed rows in id order, a batch at a time. Without this
-- index the planner may read all of a member's rows through the idempotency-key index
-- and sort them for every batch: a second a batch at a million rows.
CREATE INDEX raw_observations_user_id ON raw_observations (user_id, id);
