-- Relations that hold across a group: a pair of metrics (at a lag) tested on each member
-- who shares both with the group; published like the group's figures (at least k
-- members, the counted set moving by none or by at least k), else withheld with the
-- reason. `published_contributors` is never shown.
CREATE TABLE group_relations (
    group_id               bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    a                      text NOT NULL,
    b                      text NOT NULL,
    lag_days               smallint NOT NULL,
    published              boolean NOT NULL,
    reason                 text NOT NULL DEFAULT '',
    published_contributors bigint[],
    -- Members counted, and for how many of them the pair is shown as an insight.
    tested                 integer,
    holds                  integer,
    median_r               double precision,
    computed_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, a, b, lag_days),
    CHECK (published = (tested IS NOT NULL AND holds IS NOT NULL AND median_r IS NOT NULL))
);
