-- A member's daily values are stored one row per metric and month of their calendar
-- (daily_months), each row the month's days as three arrays in day order, and
-- daily_values becomes a view over them with the same columns, so that its readers read
-- it as before.
--
-- A member's first roll-up (and the first full recompute) wrote 7,300 rows for 10
-- metrics over two years: a heap tuple, a primary-key entry and their WAL each, two
-- thirds of the roll-up's time in a scratch cluster. Packed, it writes 250 rows. With
-- `cargo run --release -p server --example bench_pipeline` (1,000 members x 10 metrics
-- x 730 days), side by side with the build before: the first full recompute 26.7 ->
-- 18.1 s, the nightly one 13.6 -> 11.7 s. The days take a fifth of the space (in a
-- scratch cluster, 730,000 days: 76 MB as rows, 14 MB packed).
--
-- Writers:
-- * Index writes daily_months itself, whole months at a time (app::pipeline::index);
-- * anything else (tests, an administrator at psql) may insert, update and delete
--   daily_values rows as before: the view's triggers rewrite the day's month. They take
--   the member's Index lock, as Index does, so that two writers of one member's month do
--   not lose each other's day.
-- The first day of a date's month (inlined by the planner, as date arithmetic).
CREATE FUNCTION first_of_month(day date) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN day - extract(day FROM day)::int + 1;

CREATE TABLE daily_months (
    user_id    bigint NOT NULL,
    metric_id  bigint NOT NULL,
    -- The month's first day.
    month      date NOT NULL CHECK (first_of_month(month) = month),
    -- The days of the month that have a value (1 to 31, ascending), and each one's value
    -- by the metric's day rule and its number of observations.
    days       smallint[] NOT NULL,
    day_values double precision[] NOT NULL,
    day_counts integer[] NOT NULL,
    PRIMARY KEY (user_id, metric_id, month),
    CHECK (cardinality(days) > 0
           AND cardinality(day_values) = cardinality(days)
           AND cardinality(day_counts) = cardinality(days)
           AND 0 < ALL (day_counts))
);

INSERT INTO daily_months (user_id, metric_id, month, days, day_values, day_counts)
SELECT user_id, metric_id, first_of_month(day),
       array_agg(extract(day FROM day)::smallint ORDER BY day),
       array_agg(value ORDER BY day), array_agg(count ORDER BY day)
  FROM daily_values
 GROUP BY user_id, metric_id, first_of_month(day);

DROP TABLE daily_values;

CREATE VIEW daily_values AS
SELECT m.user_id, m.metric_id, m.month + (d.day - 1) AS day, d.value, d.count
  FROM daily_months m
 CROSS JOIN LATERAL unnest(m.days, m.day_values, m.day_counts) AS d(day, value, count);

-- Sets one day of a member's metric (value and count), or removes it (a null count).
CREATE FUNCTION daily_months_put(member bigint, metric bigint, on_day date,
                                 new_value double precision, new_count integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    first_day date := first_of_month(on_day);
    slot smallint := extract(day FROM on_day)::smallint;
    new_days smallint[];
    new_values double precision[];
    new_counts integer[];
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('index'), member::int);
    SELECT array_agg(k.d ORDER BY k.d), array_agg(k.v ORDER BY k.d), array_agg(k.c ORDER BY k.d)
      INTO new_days, new_values, new_counts
      FROM (SELECT u.d, u.v, u.c
              FROM daily_months m, unnest(m.days, m.day_values, m.day_counts) AS u(d, v, c)
             WHERE m.user_id = member AND m.metric_id = metric AND m.month = first_day
               AND u.d <> slot
            UNION ALL
            SELECT slot, new_value, new_count WHERE new_count IS NOT NULL) k;
    IF new_days IS NULL THEN
        DELETE FROM daily_months
         WHERE user_id = member AND metric_id = metric AND month = first_day;
    ELSE
        INSERT INTO daily_months AS m (user_id, metric_id, month, days, day_values, day_counts)
        VALUES (member, metric, first_day, new_days, new_values, new_counts)
        ON CONFLICT (user_id, metric_id, month) DO UPDATE
           SET days = EXCLUDED.days, day_values = EXCLUDED.day_values,
               day_counts = EXCLUDED.day_counts;
    END IF;
END $$;

CREATE FUNCTION daily_values_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'INSERT'
        OR TG_OP = 'UPDATE' AND (NEW.user_id, NEW.metric_id, NEW.day)
                                IS DISTINCT FROM (OLD.user_id, OLD.metric_id, OLD.day))
       AND EXISTS (
        SELECT 1 FROM daily_values
         WHERE user_id = NEW.user_id AND metric_id = NEW.metric_id AND day = NEW.day) THEN
        RAISE unique_violation USING MESSAGE = format(
            'daily value (%s, %s, %s) already exists', NEW.user_id, NEW.metric_id, NEW.day);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NOT NEW.count > 0 THEN
        RAISE check_violation USING MESSAGE = 'a daily value counts at least one observation';
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM daily_months_put(OLD.user_id, OLD.metric_id, OLD.day, NULL, NULL);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    PERFORM daily_months_put(NEW.user_id, NEW.metric_id, NEW.day, NEW.value, NEW.count);
    RETURN NEW;
END $$;
CREATE TRIGGER daily_values_write INSTEAD OF INSERT OR UPDATE OR DELETE ON daily_values
    FOR EACH ROW EXECUTE FUNCTION daily_values_write();

-- A deleted member's or metric's daily values go with them, as before (migration 19).
CREATE OR REPLACE FUNCTION daily_values_follow_deleted_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM daily_months d USING old_rows r WHERE d.user_id = r.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION daily_values_follow_deleted_metrics() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM daily_months d USING old_rows r
     WHERE d.user_id = r.owner_id AND d.metric_id = r.id;
    IF EXISTS (SELECT 1 FROM old_rows WHERE owner_id IS NULL) THEN
        DELETE FROM daily_months d USING old_rows r
         WHERE r.owner_id IS NULL AND d.metric_id = r.id;
    END IF;
    RETURN NULL;
END $$;
