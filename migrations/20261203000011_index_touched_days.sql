-- Index's to-do list: the days whose observations changed since the member's last
-- roll-up, so that Index re-aggregates those days and not the member's whole history.
-- Written by triggers, so that no path that changes observations can forget it. A row
-- with no metric and no day: the whole history (the member's time zone, or a metric's
-- day rule, changed). No foreign key: a member's deletion deletes their observations,
-- whose trigger then finds no member and writes nothing.
CREATE TABLE index_dirty (
    user_id   bigint NOT NULL,
    metric_id bigint,
    -- A day of the member's calendar (in their zone when the change was made).
    day       date
);
CREATE INDEX index_dirty_user ON index_dirty (user_id);

CREATE FUNCTION index_dirty_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO index_dirty (user_id, metric_id, day)
    SELECT DISTINCT r.user_id, r.metric_id, (r.observed_at AT TIME ZONE u.time_zone)::date
      FROM new_rows r JOIN users u ON u.id = r.user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER observations_index_dirty_insert AFTER INSERT ON observations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION index_dirty_inserted();

CREATE FUNCTION index_dirty_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO index_dirty (user_id, metric_id, day)
    SELECT DISTINCT r.user_id, r.metric_id, (r.observed_at AT TIME ZONE u.time_zone)::date
      FROM old_rows r JOIN users u ON u.id = r.user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER observations_index_dirty_delete AFTER DELETE ON observations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION index_dirty_deleted();

-- An update dirties the old day and the new one, only when what Index reads changed
-- (not, say, an outlier flag).
CREATE FUNCTION index_dirty_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO index_dirty (user_id, metric_id, day)
    SELECT DISTINCT c.user_id, c.metric_id, (c.observed_at AT TIME ZONE u.time_zone)::date
      FROM (SELECT o.user_id, o.metric_id, o.observed_at, n.user_id AS n_user, n.metric_id AS n_metric,
                   n.observed_at AS n_at
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.user_id, o.metric_id, o.observed_at, o.value, o.excluded)
                   IS DISTINCT FROM (n.user_id, n.metric_id, n.observed_at, n.value, n.excluded)) ch
      CROSS JOIN LATERAL (VALUES (ch.user_id, ch.metric_id, ch.observed_at),
                                 (ch.n_user, ch.n_metric, ch.n_at)) AS c(user_id, metric_id, observed_at)
      JOIN users u ON u.id = c.user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER observations_index_dirty_update AFTER UPDATE ON observations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION index_dirty_updated();

CREATE FUNCTION index_dirty_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO index_dirty (user_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER users_index_dirty_zone AFTER UPDATE OF time_zone ON users
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION index_dirty_zone();

CREATE FUNCTION index_dirty_rule() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO index_dirty (user_id)
    SELECT DISTINCT user_id FROM observations WHERE metric_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER metrics_index_dirty_rule AFTER UPDATE OF aggregate ON metrics
    FOR EACH ROW WHEN (OLD.aggregate IS DISTINCT FROM NEW.aggregate)
    EXECUTE FUNCTION index_dirty_rule();

-- Existing members: their next Index rolls up everything once.
INSERT INTO index_dirty (user_id) SELECT DISTINCT user_id FROM observations;
