-- Insights at the meetups.
--
-- The group's figures as published for a meetup: at its start, the figures of the
-- windows "since the meetup before" and "before that" that the group could see on its
-- page are copied here, and never recomputed. `meetup_snapshots` marks a meetup as
-- frozen (also when nothing was published for it), so a later run never fills it with
-- figures computed after the meetup.
CREATE TABLE meetup_snapshots (
    event_id  bigint PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    frozen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE meetup_figures (
    event_id    bigint NOT NULL REFERENCES meetup_snapshots (event_id) ON DELETE CASCADE,
    metric_id   bigint NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    window_key  text NOT NULL CHECK (window_key IN ('since_meetup', 'before_meetup')),
    published   boolean NOT NULL,
    reason      text NOT NULL DEFAULT '',
    figures     jsonb,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, metric_id, window_key),
    CHECK (published = (figures IS NOT NULL))
);

-- Each counted member's standing in a frozen figure: for that member alone.
CREATE TABLE meetup_figure_ranks (
    event_id   bigint NOT NULL,
    metric_id  bigint NOT NULL,
    window_key text NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    percentile double precision NOT NULL,
    PRIMARY KEY (event_id, metric_id, window_key, user_id),
    FOREIGN KEY (event_id, metric_id, window_key)
        REFERENCES meetup_figures (event_id, metric_id, window_key) ON DELETE CASCADE
);

-- A speaker's insight attached to their talk: a frozen copy (its title, sentence,
-- numbers, the chart's data, the days it covers, when it was computed and from which
-- inputs), shown on the event page as it was, whatever the member's data or sharing
-- does later. Withdrawing deletes the copy. One per talk.
CREATE TABLE talk_insights (
    talk_id     bigint PRIMARY KEY REFERENCES talks (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject     text NOT NULL,
    frozen      jsonb NOT NULL,
    computed_at timestamptz NOT NULL,
    inputs_hash text NOT NULL,
    attached_at timestamptz NOT NULL DEFAULT now()
);
