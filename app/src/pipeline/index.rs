//! Index: a member's observations rolled up into one value per metric and day of the
//! member's own calendar, by each metric's day rule. Observations an owner excluded do
//! not count; outliers do (they are flagged, not removed).
//!
//! The job re-aggregates the days whose observations changed since its last run (a
//! to-do list, `index_dirty`, that triggers on `observations` write, so that no path
//! that changes an observation can forget it), or the member's whole history when their
//! time zone or a metric's day rule changed; one set-based statement either way,
//! rewriting only the months (`daily_months`, one row per metric and month, which the
//! `daily_values` view reads as days) with a day whose value changed, and it enqueues
//! Compute in the same transaction. A day is `(observed_at AT TIME ZONE zone)::date`:
//! PostgreSQL's time zone database makes the days around daylight-saving changes 23 and
//! 25 hours long.

use super::compute::Compute;
use crate::jobs::Job;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

/// Job: roll up one member's days, then compute their insights (one pending per member,
/// however many writes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Index {
    pub user_id: i64,
}

impl Job for Index {
    const KIND: &'static str = "index";
    const QUEUE: &'static str = "pipeline";
    const MAX_ATTEMPTS: i32 = 10;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.user_id.to_string())
    }
}

/// What one Index run changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Indexed {
    /// Days written (new or changed).
    pub written: u64,
    /// Days removed (their observations were deleted or excluded).
    pub removed: u64,
}

impl Index {
    pub async fn run(self, pool: &PgPool) -> Result<Indexed, sqlx::Error> {
        self.run_inner(pool, false).await
    }

    /// Runs now, straight after Distill, in place of the queued job (taken off the queue
    /// in this run's transaction).
    pub async fn run_next(self, pool: &PgPool) -> Result<Indexed, sqlx::Error> {
        self.run_inner(pool, true).await
    }

    async fn run_inner(
        self,
        pool: &PgPool,
        in_place_of_queued: bool,
    ) -> Result<Indexed, sqlx::Error> {
        let mut tx = pool.begin().await?;
        lock(&mut tx, self.user_id).await?;
        if in_place_of_queued {
            crate::jobs::take_pending(&mut tx, &self).await?;
        }
        // Take the to-do list first: the roll-up's later snapshot sees every change that
        // wrote it (and a change committed after is on the next list, with its own job).
        let touched: Vec<(Option<i64>, Option<NaiveDate>)> =
            sqlx::query_as("DELETE FROM index_dirty WHERE user_id = $1 RETURNING metric_id, day")
                .bind(self.user_id)
                .fetch_all(&mut *tx)
                .await?;
        let days: Option<Vec<(i64, NaiveDate)>> = touched
            .into_iter()
            .map(|(metric, day)| Some((metric?, day?)))
            .collect();
        let done = match days {
            // A row with no day: the whole history.
            None => roll_up_locked(&mut tx, self.user_id).await?,
            // Nothing changed since the last run (which enqueued Compute).
            Some(days) if days.is_empty() => {
                tx.commit().await?;
                return Ok(Indexed::default());
            }
            Some(days) => roll_up_days(&mut tx, self.user_id, &days).await?,
        };
        Compute {
            user_id: self.user_id,
        }
        .enqueue(&mut tx)
        .await?;
        tx.commit().await?;
        tracing::debug!(
            user_id = self.user_id,
            written = done.written,
            removed = done.removed,
            "indexed"
        );
        Ok(done)
    }
}

/// One Index per member at a time (a job, or the recompute; the `daily_values` view's
/// triggers take it too).
async fn lock(conn: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    super::lock_for(conn, "index", user_id).await
}

/// Enqueues the member's Index (after their observations changed).
pub async fn enqueue(conn: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    Index { user_id }.enqueue(conn).await?;
    Ok(())
}

/// The member's daily values, rebuilt from their whole history in one statement: the
/// fresh roll-up is compared with the stored days by one hash join (not a lookup per
/// day), and only the months with a difference are rewritten (new days, changed ones,
/// days with no observation left). Over an unchanged history (the nightly recompute) it
/// reads and writes nothing else. The member's to-do list is done with it.
/// Call it in a transaction: it takes the member's Index lock until the end of it.
pub async fn roll_up(conn: &mut PgConnection, user_id: i64) -> Result<Indexed, sqlx::Error> {
    lock(conn, user_id).await?;
    roll_up_locked(conn, user_id).await
}

/// [`roll_up`] by a caller that holds the member's Index lock.
async fn roll_up_locked(conn: &mut PgConnection, user_id: i64) -> Result<Indexed, sqlx::Error> {
    // With no day stored there is nothing to compare with: a first roll-up inserts
    // its months (a fifth cheaper for 7,300 days, measured in a scratch cluster).
    let stored: bool = sqlx::query_scalar(
        "WITH done AS (DELETE FROM index_dirty WHERE user_id = $1)
         SELECT EXISTS (SELECT 1 FROM daily_months WHERE user_id = $1)",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let statement = if stored { ROLL_UP } else { ROLL_UP_FIRST };
    let (written, removed): (i64, i64) = sqlx::query_as(statement)
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Indexed {
        written: written as u64,
        removed: removed as u64,
    })
}

/// The member's daily values of the given (metric, day)s only, rebuilt as [`roll_up`]
/// does, by a caller that holds the member's Index lock.
async fn roll_up_days(
    conn: &mut PgConnection,
    user_id: i64,
    days: &[(i64, NaiveDate)],
) -> Result<Indexed, sqlx::Error> {
    let (metrics, days): (Vec<i64>, Vec<NaiveDate>) = days.iter().copied().unzip();
    let (written, removed): (i64, i64) = sqlx::query_as(ROLL_UP_DAYS)
        .bind(user_id)
        .bind(metrics)
        .bind(days)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Indexed {
        written: written as u64,
        removed: removed as u64,
    })
}

/// The day's value by the metric's rule, from `dated` (each observation with its day
/// and the day's latest value).
macro_rules! fresh {
    () => {
        "fresh AS (
             -- Every rule's value, grouped straight from the window's order (no hash
             -- table), then the metric's rule picks one.
             SELECT a.metric_id, a.day,
                    CASE m.aggregate
                        WHEN 'sum'  THEN a.total
                        -- The mean as avg() computes it (the sum over the count),
                        -- without the sum of squares that avg() keeps for a variance.
                        WHEN 'mean' THEN a.total / a.count
                        WHEN 'max'  THEN a.top
                        ELSE a.latest
                    END AS value,
                    a.count
               FROM (SELECT l.metric_id, l.day, sum(l.value) AS total,
                            max(l.value) AS top, max(l.latest) AS latest,
                            count(*)::int AS count
                       FROM dated l
                      GROUP BY l.metric_id, l.day) a
               JOIN metrics m ON m.id = a.metric_id
         )"
    };
}

/// `days` (a relation of `metric_id, day, value, count`) packed as daily_months stores
/// them: one row per metric and month, the month's days (of the month), values and
/// counts as arrays in day order.
macro_rules! packed {
    ($days:literal) => {
        concat!(
            "SELECT metric_id, month, array_agg(slot ORDER BY slot) AS days,
                    array_agg(value ORDER BY slot) AS day_values,
                    array_agg(count ORDER BY slot) AS day_counts
               FROM (SELECT metric_id, first_of_month(day) AS month,
                            extract(day FROM day)::smallint AS slot, value, count
                       FROM ",
            $days,
            ") d
              GROUP BY metric_id, month"
        )
    };
}

/// `fresh` against `stored` (days, compared one by one), and only the months with a
/// difference rewritten: each one's unchanged days and its new and changed ones, or the
/// month removed when none is left. Returns the days written (new or changed) and
/// removed.
macro_rules! write_differences {
    () => {
        concat!(
            "diff AS (
                 SELECT coalesce(f.metric_id, s.metric_id) AS metric_id,
                        coalesce(f.day, s.day) AS day,
                        f.value, f.count, f.metric_id IS NULL AS gone
                   FROM fresh f
                   FULL JOIN stored s ON s.metric_id = f.metric_id AND s.day = f.day
                  WHERE f.metric_id IS NULL OR s.metric_id IS NULL
                     OR (f.value, f.count) IS DISTINCT FROM (s.value, s.count)
             ), months AS (
                 SELECT DISTINCT metric_id, first_of_month(day) AS month
                   FROM diff
             ), merged AS (
                 SELECT m.metric_id, m.month + (k.slot - 1) AS day, k.value, k.count
                   FROM months c
                   JOIN daily_months m
                     ON m.user_id = $1 AND m.metric_id = c.metric_id AND m.month = c.month
                  CROSS JOIN LATERAL unnest(m.days, m.day_values, m.day_counts)
                        AS k(slot, value, count)
                  WHERE NOT EXISTS (SELECT 1 FROM diff
                                     WHERE diff.metric_id = m.metric_id
                                       AND diff.day = m.month + (k.slot - 1))
                 UNION ALL
                 SELECT metric_id, day, value, count FROM diff WHERE NOT gone
             ), packed AS (",
            packed!("merged"),
            "), emptied AS (
                 DELETE FROM daily_months m
                  USING months c
                  WHERE m.user_id = $1 AND m.metric_id = c.metric_id AND m.month = c.month
                    AND NOT EXISTS (SELECT 1 FROM packed p
                                     WHERE p.metric_id = c.metric_id AND p.month = c.month)
             ), rewritten AS (
                 -- Exact, though each month was merged as stored: no other statement
                 -- writes the member's months meanwhile (the caller holds the member's
                 -- Index lock, which the daily_values view's triggers take too).
                 INSERT INTO daily_months (user_id, metric_id, month, days, day_values, day_counts)
                 SELECT $1, metric_id, month, days, day_values, day_counts FROM packed
                 ON CONFLICT (user_id, metric_id, month) DO UPDATE
                    SET days = EXCLUDED.days, day_values = EXCLUDED.day_values,
                        day_counts = EXCLUDED.day_counts
             )
             SELECT count(*) FILTER (WHERE NOT gone), count(*) FILTER (WHERE gone) FROM diff"
        )
    };
}

/// The member's whole history (`$1`), each observation on its local day: `member` and
/// `dated`, for [`fresh`].
macro_rules! whole_history {
    () => {
        "WITH member AS (
             -- Locked, so that the member is not deleted under the roll-up (daily_months
             -- has no foreign key: migrations 19 and 25); no row when they were, and
             -- nothing is written.
             SELECT id, time_zone FROM users WHERE id = $1 FOR KEY SHARE
         ), dated AS (
             -- Each observation on its local day, with the day's latest value (for the
             -- 'last' rule) from one sort of the member's rows rather than one per day.
             SELECT o.metric_id, (o.observed_at AT TIME ZONE u.time_zone)::date AS day, o.value,
                    first_value(o.value) OVER (
                        PARTITION BY o.metric_id, (o.observed_at AT TIME ZONE u.time_zone)::date
                        ORDER BY o.observed_at DESC, o.id DESC) AS latest
               FROM member u
               JOIN observations o ON o.user_id = u.id
              WHERE o.user_id = $1 AND NOT o.excluded
         )"
    };
}

/// [`roll_up`]'s statement (`$1`: the member), public for the benchmark's query plan.
pub const ROLL_UP: &str = concat!(
    whole_history!(),
    ", ",
    fresh!(),
    ", stored AS (
         SELECT metric_id, day, value, count FROM daily_values WHERE user_id = $1
     ), ",
    write_differences!()
);

/// [`roll_up`]'s statement for a member with no day stored (their first roll-up, or the
/// first recompute): every day is new, so nothing is compared; the months are
/// inserted as they are packed.
pub const ROLL_UP_FIRST: &str = concat!(
    whole_history!(),
    ", ",
    fresh!(),
    ", added AS (
         INSERT INTO daily_months (user_id, metric_id, month, days, day_values, day_counts)
         SELECT $1, metric_id, month, days, day_values, day_counts FROM (",
    packed!("fresh"),
    ") p
         RETURNING cardinality(days) AS days
     )
     SELECT coalesce(sum(days), 0)::bigint, 0::bigint FROM added"
);

/// [`roll_up_days`]'s statement (`$1`: the member, `$2` and `$3`: the metrics and days).
/// A day's observations are found by the history index within a UTC range a day wider
/// on each side than the day (whatever the zone's offsets), then kept by their local day.
const ROLL_UP_DAYS: &str = concat!(
    "WITH touched AS (
         SELECT DISTINCT t.metric_id, t.day FROM unnest($2::bigint[], $3::date[]) AS t(metric_id, day)
     ), zone AS (
         -- Locked, as in ROLL_UP.
         SELECT time_zone AS tz FROM users WHERE id = $1 FOR KEY SHARE
     ), dated AS (
         SELECT o.metric_id, t.day, o.value,
                first_value(o.value) OVER (
                    PARTITION BY o.metric_id, t.day
                    ORDER BY o.observed_at DESC, o.id DESC) AS latest
           FROM touched t
          CROSS JOIN zone z
           JOIN observations o
             ON o.user_id = $1 AND o.metric_id = t.metric_id
            AND o.observed_at >= ((t.day - 1)::timestamp AT TIME ZONE z.tz)
            AND o.observed_at < ((t.day + 2)::timestamp AT TIME ZONE z.tz)
            AND (o.observed_at AT TIME ZONE z.tz)::date = t.day
          WHERE NOT o.excluded
     ), ",
    fresh!(),
    ", stored AS (
         SELECT m.metric_id, m.month + (k.slot - 1) AS day, k.value, k.count
           FROM (SELECT DISTINCT metric_id, first_of_month(day) AS month
                   FROM touched) t
           JOIN daily_months m
             ON m.user_id = $1 AND m.metric_id = t.metric_id AND m.month = t.month
          CROSS JOIN LATERAL unnest(m.days, m.day_values, m.day_counts) AS k(slot, value, count)
          WHERE (m.metric_id, m.month + (k.slot - 1)) IN (SELECT metric_id, day FROM touched)
     ), ",
    write_differences!()
);
