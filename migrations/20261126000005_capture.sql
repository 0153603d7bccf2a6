-- Capture: metrics, members' settings and shares, the append-only landing table, what
-- Distill decided about each landed row, and the observations it promoted.

CREATE TABLE metrics (
    id                bigserial PRIMARY KEY,
    -- NULL for the built-in catalogue (written from app::track::CATALOGUE at start-up).
    owner_id          bigint REFERENCES users (id) ON DELETE CASCADE,
    key               text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,59}$'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    kind              text NOT NULL CHECK (kind IN ('quantity', 'scale', 'count', 'duration', 'yes_no')),
    -- The canonical unit: every value of the metric is stored in it.
    unit              text NOT NULL,
    display_unit      text NOT NULL,
    aggregate         text NOT NULL CHECK (aggregate IN ('sum', 'mean', 'last', 'max')),
    min_value         double precision,
    max_value         double precision,
    pinned_by_default boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (min_value IS NULL OR max_value IS NULL OR min_value < max_value)
);
CREATE UNIQUE INDEX metrics_catalogue_key ON metrics (key) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX metrics_own_key ON metrics (owner_id, key) WHERE owner_id IS NOT NULL;

-- A member's choices about one metric; no row means the metric's defaults.
CREATE TABLE metric_settings (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric_id    bigint NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    pinned       boolean,
    display_unit text,
    goal         double precision,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, metric_id)
);

-- Sharing a metric with a group; no row means private.
CREATE TABLE metric_shares (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric_id  bigint NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    group_id   bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    level      text NOT NULL CHECK (level IN ('aggregate', 'members')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, metric_id, group_id)
);
CREATE INDEX metric_shares_group ON metric_shares (group_id, metric_id);

-- What each capture path received, as received. Rows are only ever added (and removed
-- with their member): an UPDATE is refused by the trigger below.
CREATE TABLE raw_observations (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source          text NOT NULL CHECK (source IN ('quick_log', 'csv', 'apple_health', 'api')),
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    payload         jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, source, idempotency_key)
);

CREATE FUNCTION raw_observations_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'raw_observations is append-only';
END $$;
CREATE TRIGGER raw_observations_append_only BEFORE UPDATE ON raw_observations
    FOR EACH ROW EXECUTE FUNCTION raw_observations_append_only();

CREATE TABLE observations (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric_id   bigint NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    observed_at timestamptz NOT NULL,
    -- In the metric's canonical unit.
    value       double precision NOT NULL,
    note        text NOT NULL DEFAULT '',
    tags        text[] NOT NULL DEFAULT '{}',
    source      text NOT NULL,
    raw_id      bigint UNIQUE REFERENCES raw_observations (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX observations_history ON observations (user_id, metric_id, observed_at DESC, id DESC);
CREATE INDEX observations_recent ON observations (user_id, created_at DESC);

-- Distill's decision on each landed row: promoted (with the observation) or refused
-- (with the reason its owner sees). A landed row without one is still to be distilled.
CREATE TABLE raw_outcomes (
    raw_id         bigint PRIMARY KEY REFERENCES raw_observations (id) ON DELETE CASCADE,
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    accepted       boolean NOT NULL,
    reason         text NOT NULL DEFAULT '',
    observation_id bigint REFERENCES observations (id) ON DELETE SET NULL,
    decided_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX raw_outcomes_refused ON raw_outcomes (user_id, decided_at DESC) WHERE NOT accepted;
