-- The job queue shared by e-mail, reminders, imports and the pipeline stages.
-- See server/src/jobs/mod.rs for how it is used.

CREATE TYPE job_state AS ENUM ('pending', 'running', 'succeeded', 'failed', 'cancelled');

CREATE TABLE jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL,
    queue            text NOT NULL DEFAULT 'default',
    payload          jsonb NOT NULL DEFAULT '{}',
    -- Same kind and key while one is pending: the same logical work, enqueued once.
    dedupe_key       text,
    state            job_state NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    run_at           timestamptz NOT NULL DEFAULT now(),
    -- While running: the worker holding it and until when (extended by heartbeats).
    locked_by        text,
    lease_until      timestamptz,
    last_error       text,
    progress_percent real CHECK (progress_percent BETWEEN 0 AND 100),
    progress_message text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);

CREATE UNIQUE INDEX jobs_pending_dedupe ON jobs (kind, dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state = 'pending';
CREATE INDEX jobs_claimable ON jobs (queue, run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_by_state ON jobs (state, queue);

-- Wake the workers of a queue when work is added or made runnable again; delivered at
-- commit, so a job enqueued in a transaction that rolls back wakes nobody.
CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'pending' THEN
        PERFORM pg_notify('cohort_jobs', NEW.queue);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF state ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_notify();
