-- The pipeline after Distill: outlier flags and note search on observations, Index's
-- daily values, and what Compute makes of them (per-metric summaries, every tested pair,
-- the insights shown), each with its provenance.

-- Distill: the robust z of each observation against the 90 days of its metric up to the
-- newest observation ((x - median) / MAD scaled to a normal's sd; NULL when the MAD is 0
-- or the observation is older than that window). Flagged observations still count in the
-- statistics unless their owner excludes them.
ALTER TABLE observations
    ADD COLUMN robust_z double precision,
    ADD COLUMN outlier boolean GENERATED ALWAYS AS (coalesce(abs(robust_z) > 3.5, false)) STORED,
    ADD COLUMN excluded boolean NOT NULL DEFAULT false,
    -- The note's lexicon sentiment, -1 to 1 (app::track::sentiment); NULL: no word known.
    ADD COLUMN sentiment double precision,
    -- The note's words for search (Index); 'simple' so that no language's stemming
    -- hides a word that the member typed.
    ADD COLUMN note_search tsvector GENERATED ALWAYS AS (to_tsvector('simple', note)) STORED;
CREATE INDEX observations_note_search ON observations USING gin (note_search);

-- Index: one value per member, metric and day of the member's own calendar (midnight to
-- midnight local time, 23 and 25 hours at daylight-saving changes), by the metric's day
-- rule (sum, mean, last, max), with the number of observations that made it.
CREATE TABLE daily_values (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric_id bigint NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    day       date NOT NULL,
    value     double precision NOT NULL,
    count     integer NOT NULL CHECK (count > 0),
    PRIMARY KEY (user_id, metric_id, day)
);

-- Compute, per member: one row per run, the provenance that every result of the run
-- shares (the inputs' hash, the member's date the numbers are "as of", the code version).
CREATE TABLE member_computes (
    user_id      bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    as_of        date NOT NULL,
    inputs_hash  text NOT NULL,
    code_version text NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    -- Measure's nudges back to Capture: what logging would make a pair testable.
    nudges       jsonb NOT NULL DEFAULT '[]'
);

-- The numbers of each metric's card (app::stats::daily::Summary as JSON).
CREATE TABLE metric_summaries (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric_id bigint NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    summary   jsonb NOT NULL,
    PRIMARY KEY (user_id, metric_id)
);

-- Every pair of the member's series tested (shown or not); a and b are metric keys,
-- 'meetups' for attendance.
CREATE TABLE pair_tests (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    a          text NOT NULL,
    b          text NOT NULL,
    lag_days   smallint NOT NULL CHECK (lag_days BETWEEN 0 AND 3),
    n          integer NOT NULL,
    pearson_r  double precision NOT NULL,
    pearson_p  double precision NOT NULL,
    spearman_r double precision NOT NULL,
    spearman_p double precision NOT NULL,
    n_eff      double precision NOT NULL,
    p_adj      double precision NOT NULL,
    q          double precision NOT NULL,
    shown      boolean NOT NULL,
    PRIMARY KEY (user_id, a, b, lag_days)
);

-- The insights shown to a member. An insight keeps its id while its subject stays shown
-- (so that impressions and votes attach to it); the numbers and sentence follow the
-- latest compute.
CREATE TABLE insights (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('correlation')),
    -- Like 'correlation:steps:energy:1'.
    subject     text NOT NULL,
    metrics     text[] NOT NULL,
    lag_days    smallint NOT NULL,
    numbers     jsonb NOT NULL,
    sentence    text NOT NULL,
    first_shown timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, subject)
);

-- Compute, per group: the fewest members a figure may count (never below 3).
ALTER TABLE groups ADD COLUMN figure_k integer NOT NULL DEFAULT 5 CHECK (figure_k >= 3);

-- The group's figures of each shared metric and window, as last published. A withheld
-- figure has no numbers, only its reason. `published_contributors` is the set of members
-- the last published snapshot counted: the reference that a new snapshot may differ from
-- by none or by at least k members (never shown).
CREATE TABLE group_figures (
    group_id               bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    metric_id              bigint NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    window_key             text NOT NULL CHECK (window_key IN ('recent', 'since_meetup', 'before_meetup')),
    published              boolean NOT NULL,
    reason                 text NOT NULL DEFAULT '',
    published_contributors bigint[],
    figures                jsonb,
    computed_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, metric_id, window_key),
    CHECK (published = (figures IS NOT NULL))
);

-- Each counted member's own percentile in a published figure: for that member alone.
CREATE TABLE group_figure_ranks (
    group_id   bigint NOT NULL,
    metric_id  bigint NOT NULL,
    window_key text NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    percentile double precision NOT NULL,
    PRIMARY KEY (group_id, metric_id, window_key, user_id),
    FOREIGN KEY (group_id, metric_id, window_key)
        REFERENCES group_figures (group_id, metric_id, window_key) ON DELETE CASCADE
);

-- Measure: what members do with their insights.
CREATE TABLE insight_events (
    id         bigserial PRIMARY KEY,
    insight_id bigint NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('impression', 'open', 'useful', 'not_useful')),
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX insight_events_by_insight ON insight_events (insight_id, kind);
