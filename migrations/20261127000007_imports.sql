-- File imports (CSV now; Apple Health later): the file as uploaded, in chunks (so any
-- process's worker can read it), the mapping the member chose, and progress that the
-- import page polls. Rows a file could not give are kept with their line numbers.
CREATE TABLE imports (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('csv', 'apple_health')),
    filename    text NOT NULL,
    size_bytes  bigint NOT NULL,
    sha256      text NOT NULL,
    status      text NOT NULL DEFAULT 'uploaded'
                CHECK (status IN ('uploaded', 'queued', 'running', 'done', 'failed')),
    delimiter   text NOT NULL DEFAULT ',',
    headers     jsonb NOT NULL DEFAULT '[]',
    preview     jsonb NOT NULL DEFAULT '[]',
    mapping     jsonb,
    -- Progress: how far through the file, and what became of its rows so far. Written
    -- in the transaction that lands each batch, so a retried job resumes after it.
    bytes_done  bigint NOT NULL DEFAULT 0,
    last_line   bigint NOT NULL DEFAULT 0,
    rows_done   bigint NOT NULL DEFAULT 0,
    accepted    bigint NOT NULL DEFAULT 0,
    duplicates  bigint NOT NULL DEFAULT 0,
    rejected    bigint NOT NULL DEFAULT 0,
    -- Records of kinds Cohort does not track (Apple Health's flights climbed, say).
    skipped     bigint NOT NULL DEFAULT 0,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz
);
CREATE INDEX imports_user ON imports (user_id, created_at DESC);

CREATE TABLE import_chunks (
    import_id bigint NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- The first rows a file could not give, with why (the count of all is imports.rejected).
CREATE TABLE import_errors (
    import_id bigint NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      bigint NOT NULL,
    message   text NOT NULL
);
CREATE INDEX import_errors_import ON import_errors (import_id, line);
