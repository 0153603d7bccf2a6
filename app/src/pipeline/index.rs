//! Index: a member's observations rolled up into one value per metric and day of the
//! member's own calendar, by each metric's day rule. Observations an owner excluded do
//! not count; outliers do (they are flagged, not removed).
//!
//! The job redoes the whole member in one set-based statement (a member's history is
//! thousands of days, not millions), writing only the days that changed, and enqueues
//! Compute in the same transaction. A day is `(observed_at AT TIME ZONE zone)::date`:
//! PostgreSQL's time zone database makes the days around daylight-saving changes 23 and
//! 25 hours long.

use super::compute::Compute;
use crate::jobs::Job;
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
        let mut tx = pool.begin().await?;
        // One Index per member at a time, so that two runs never interleave their writes.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('index'), $1::int)")
            .bind(self.user_id as i32)
            .execute(&mut *tx)
            .await?;
        let done = roll_up(&mut tx, self.user_id).await?;
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

/// Enqueues the member's Index (after their observations changed).
pub async fn enqueue(conn: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    Index { user_id }.enqueue(conn).await?;
    Ok(())
}

/// The member's daily values, rebuilt from their observations in one statement: the
/// fresh roll-up is compared with the stored days by one hash join (not a lookup per
/// day), and only the differences are written: changed and new days upserted, days with
/// no observation left removed. Over an unchanged history (the nightly recompute) it
/// reads and writes nothing else.
pub async fn roll_up(conn: &mut PgConnection, user_id: i64) -> Result<Indexed, sqlx::Error> {
    let (written, removed): (i64, i64) = sqlx::query_as(ROLL_UP)
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Indexed {
        written: written as u64,
        removed: removed as u64,
    })
}

/// [`roll_up`]'s statement (`$1`: the member), public for the benchmark's query plan.
pub const ROLL_UP: &str = "WITH dated AS (
             -- Each observation on its local day, with the day's latest value (for the
             -- 'last' rule) from one sort of the member's rows rather than one per day.
             SELECT o.metric_id, (o.observed_at AT TIME ZONE u.time_zone)::date AS day, o.value,
                    first_value(o.value) OVER (
                        PARTITION BY o.metric_id, (o.observed_at AT TIME ZONE u.time_zone)::date
                        ORDER BY o.observed_at DESC, o.id DESC) AS latest
               FROM observations o
               JOIN users u ON u.id = o.user_id
              WHERE o.user_id = $1 AND NOT o.excluded
         ), fresh AS (
             SELECT l.metric_id, l.day,
                    CASE m.aggregate
                        WHEN 'sum'  THEN sum(l.value)
                        WHEN 'mean' THEN avg(l.value)
                        WHEN 'max'  THEN max(l.value)
                        ELSE max(l.latest)
                    END AS value,
                    count(*)::int AS count
               FROM dated l
               JOIN metrics m ON m.id = l.metric_id
              GROUP BY l.metric_id, l.day, m.aggregate
         ), stored AS (
             SELECT metric_id, day, value, count FROM daily_values WHERE user_id = $1
         ), diff AS (
             SELECT coalesce(f.metric_id, s.metric_id) AS metric_id,
                    coalesce(f.day, s.day) AS day,
                    f.value, f.count, f.metric_id IS NULL AS gone
               FROM fresh f
               FULL JOIN stored s ON s.metric_id = f.metric_id AND s.day = f.day
              WHERE f.metric_id IS NULL OR s.metric_id IS NULL
                 OR (f.value, f.count) IS DISTINCT FROM (s.value, s.count)
         ), removed AS (
             DELETE FROM daily_values d
              USING diff
              WHERE diff.gone AND d.user_id = $1
                AND d.metric_id = diff.metric_id AND d.day = diff.day
             RETURNING 1
         ), written AS (
             INSERT INTO daily_values (user_id, metric_id, day, value, count)
             SELECT $1, metric_id, day, value, count FROM diff WHERE NOT gone
             ON CONFLICT (user_id, metric_id, day) DO UPDATE
                SET value = EXCLUDED.value, count = EXCLUDED.count
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM removed)";
