//! Distill: checks each landed entry against its metric (value and unit, time, note),
//! converts it to the canonical unit, refuses exact duplicates, and records for each
//! either its observation or the reason it was refused, which the member sees.
//!
//! Landed rows without an outcome are taken under a per-member advisory lock (two runs
//! never take the same row), a batch at a time in id order; each batch is checked here
//! and written by three set-based statements, so a crash loses nothing (the job runs
//! again).

use crate::jobs::Job;
use crate::track::catalogue::*;
use crate::track::entry::{check, Clean, RawEntry};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

/// Job: distill a member's landed entries ([`Distill::run`]; one pending per member,
/// however many landings).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Distill {
    pub user_id: i64,
}

impl Job for Distill {
    const KIND: &'static str = "distill";
    const QUEUE: &'static str = "pipeline";
    const MAX_ATTEMPTS: i32 = 10;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.user_id.to_string())
    }
}

/// Landed entries distilled per transaction.
pub const DISTILL_BATCH: i64 = 1000;

impl Distill {
    /// Batch after batch until nothing is left; each batch commits on its own, so a
    /// crash loses at most the batch in flight, which the retry does again.
    pub async fn run(self, pool: &PgPool) -> Result<Distilled, sqlx::Error> {
        let mut total = Distilled::default();
        let mut after = 0;
        loop {
            let done = distill(pool, self.user_id, DISTILL_BATCH, after).await?;
            after = done.last_id;
            total.accepted += done.accepted;
            total.refused += done.refused;
            if !done.more {
                break;
            }
        }
        if total.accepted > 0 {
            flag_outliers(pool, self.user_id).await?;
        }
        tracing::debug!(
            user_id = self.user_id,
            accepted = total.accepted,
            refused = total.refused,
            "distilled"
        );
        Ok(total)
    }
}

/// What one Distill batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Distilled {
    pub accepted: usize,
    pub refused: usize,
    /// The batch was full: there may be more to do.
    pub more: bool,
    /// The last landed row the batch looked at: the next batch starts after it.
    pub last_id: i64,
}

/// Distills up to `limit` of a member's landed entries after the landed row `after` (0:
/// from the first), in one transaction and a handful of statements whatever the batch's
/// size: the entries are checked here, then duplicates are looked up, observations
/// inserted and outcomes written each by one set-based statement.
pub async fn distill(
    pool: &PgPool,
    user_id: i64,
    limit: i64,
    after: i64,
) -> Result<Distilled, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let done = distill_in(&mut tx, user_id, limit, after).await?;
    tx.commit().await?;
    Ok(done)
}

/// [`distill`] in the caller's transaction, which it leaves holding the member's row
/// (FOR KEY SHARE) until it ends: observations have no foreign key (migration 21), so a
/// member's deletion waits for the batch and then deletes what it wrote.
pub async fn distill_in(
    tx: &mut PgConnection,
    user_id: i64,
    limit: i64,
    after: i64,
) -> Result<Distilled, sqlx::Error> {
    let now = Utc::now();
    // One batch of a member at a time (a second run waits, then finds these rows
    // decided): one lock instead of a row lock written on every landed row.
    // No bitmap scans in this transaction: right after a large landing, before
    // autovacuum has analysed the table, the planner takes the member's landed rows for
    // a few hundred, reads every one of them by a bitmap and sorts them, for every batch
    // of 1,000 (100 ms a batch over 200,000 rows), instead of reading the key's index in
    // order up to the limit.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtext('distill'), $1::int),
                set_config('enable_bitmapscan', 'off', true)",
    )
    .bind(user_id as i32)
    .execute(&mut *tx)
    .await?;
    // The payload as text, parsed straight into the entry (not through a JSON value).
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT r.id, r.source, r.payload::text FROM raw_observations r
          WHERE r.user_id = $1 AND r.id > $3
            AND NOT EXISTS (SELECT 1 FROM raw_outcomes o WHERE o.user_id = r.user_id AND o.raw_id = r.id)
          ORDER BY r.id LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .bind(after)
    .fetch_all(&mut *tx)
    .await?;
    let mut done = Distilled {
        more: rows.len() as i64 == limit,
        last_id: rows.last().map_or(after, |row| row.0),
        ..Distilled::default()
    };
    if rows.is_empty() {
        return Ok(done);
    }
    // The member's row, held until the batch commits (see [`distill_in`]); a member
    // deleted meanwhile is gone with their landed rows: nothing to write.
    let Some(zone) =
        sqlx::query_scalar::<_, String>("SELECT time_zone FROM users WHERE id = $1 FOR KEY SHARE")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(Distilled {
            more: false,
            ..done
        });
    };
    let metrics = member_metrics(&mut *tx, user_id).await?;
    let index = MetricIndex::new(&metrics);

    // Check every entry; of the same value at the same time, the first one counts.
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(rows.len());
    let mut fresh: Vec<(i64, String, Clean)> = Vec::new();
    let mut first_of: HashMap<(i64, i64, u64), i64> = HashMap::new();
    for (raw_id, source, payload) in rows {
        let verdict = serde_json::from_str::<RawEntry>(&payload)
            .map_err(|error| format!("The entry could not be read: {error}."))
            .and_then(|entry| check(&entry, index.find(&entry.metric)?, &zone, now));
        match verdict {
            Ok(clean) => {
                let key = (
                    clean.metric_id,
                    clean.observed_at.timestamp_micros(),
                    clean.value.to_bits(),
                );
                match first_of.get(&key) {
                    Some(&first) => outcomes.push(Outcome::SameAs(raw_id, first)),
                    None => {
                        first_of.insert(key, raw_id);
                        outcomes.push(Outcome::Fresh(raw_id));
                        fresh.push((raw_id, source, clean));
                    }
                }
            }
            Err(reason) => outcomes.push(Outcome::Refused(raw_id, reason)),
        }
    }

    // Entries already stored as observations (from an earlier import, say). Each one
    // found is locked until the batch commits: its outcome will name it, and
    // raw_outcomes has no foreign key to keep it meanwhile (migration 20). (Looking
    // them up in the insert's statement, as a common table expression, was slower.)
    let stored: HashMap<i64, i64> = if fresh.is_empty() {
        HashMap::new()
    } else {
        let found: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT c.raw_id,
                    (SELECT o.id FROM observations o
                      WHERE o.user_id = $1 AND o.metric_id = c.metric_id
                        AND o.observed_at = c.observed_at AND o.value = c.value
                      LIMIT 1 FOR KEY SHARE)
               FROM UNNEST($2::bigint[], $3::bigint[], $4::timestamptz[], $5::float8[])
                    AS c(raw_id, metric_id, observed_at, value)",
        )
        .bind(user_id)
        .bind(fresh.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
        .bind(
            fresh
                .iter()
                .map(|(_, _, c)| c.metric_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            fresh
                .iter()
                .map(|(_, _, c)| c.observed_at)
                .collect::<Vec<_>>(),
        )
        .bind(fresh.iter().map(|(_, _, c)| c.value).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        found
            .into_iter()
            .filter_map(|(raw_id, existing)| existing.map(|id| (raw_id, id)))
            .collect()
    };
    fresh.retain(|(raw_id, _, _)| !stored.contains_key(raw_id));

    // The new observations, in one statement. No ON CONFLICT, here or for the
    // outcomes: under the member's Distill lock no landed row taken above has an
    // outcome yet, so none has an observation; the unique keys still hold, and a
    // conflict would fail the batch (and show in the job's error) rather than be
    // passed over. The check cost a quarter of each insert (a scratch cluster: 1.95 s
    // with it and 1.45 s without for 200 batches of 1,000 observations).
    let inserted: HashMap<i64, i64> = if fresh.is_empty() {
        HashMap::new()
    } else {
        let made: Vec<(i64, i64)> = sqlx::query_as(
            "INSERT INTO observations (user_id, metric_id, observed_at, value, note, tags, source, raw_id,
                                       sentiment)
             SELECT $1, c.metric_id, c.observed_at, c.value, c.note,
                    -- A note's tags, space-separated (a tag holds no space).
                    CASE WHEN c.tags = '' THEN '{}'::text[] ELSE string_to_array(c.tags, ' ') END,
                    c.source, c.raw_id, c.sentiment
               FROM UNNEST($2::bigint[], $3::timestamptz[], $4::float8[], $5::text[],
                           $6::text[], $7::text[], $8::bigint[], $9::float8[])
                    AS c(metric_id, observed_at, value, note, tags, source, raw_id, sentiment)
             RETURNING raw_id, id",
        )
        .bind(user_id)
        .bind(fresh.iter().map(|(_, _, c)| c.metric_id).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(_, _, c)| c.observed_at).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(_, _, c)| c.value).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(_, _, c)| c.note.clone()).collect::<Vec<_>>())
        .bind(
            fresh
                .iter()
                .map(|(_, _, c)| c.tags.join(" "))
                .collect::<Vec<_>>(),
        )
        .bind(fresh.iter().map(|(_, s, _)| s.clone()).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(_, _, c)| c.sentiment).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        made.into_iter().collect()
    };

    // Every entry's outcome, in one statement.
    const ALREADY: &str = "Already stored: the same value at the same time.";
    let mut raw_ids = Vec::with_capacity(outcomes.len());
    let mut accepted = Vec::with_capacity(outcomes.len());
    let mut reasons = Vec::with_capacity(outcomes.len());
    let mut observations: Vec<Option<i64>> = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        let (raw_id, reason, observation) = match outcome {
            Outcome::Refused(raw_id, reason) => (raw_id, Some(reason), None),
            Outcome::Fresh(raw_id) => match stored.get(&raw_id) {
                Some(&existing) => (raw_id, Some(ALREADY.to_string()), Some(existing)),
                None => (raw_id, None, inserted.get(&raw_id).copied()),
            },
            Outcome::SameAs(raw_id, first) => {
                let observation = stored.get(&first).or_else(|| inserted.get(&first)).copied();
                (raw_id, Some(ALREADY.to_string()), observation)
            }
        };
        raw_ids.push(raw_id);
        accepted.push(reason.is_none());
        reasons.push(reason.unwrap_or_default());
        observations.push(observation);
    }
    let written: Vec<bool> = sqlx::query_scalar(
        "INSERT INTO raw_outcomes (raw_id, user_id, accepted, reason, observation_id)
         SELECT c.raw_id, $1, c.accepted, c.reason, c.observation_id
           FROM UNNEST($2::bigint[], $3::bool[], $4::text[], $5::bigint[])
                AS c(raw_id, accepted, reason, observation_id)
         RETURNING accepted",
    )
    .bind(user_id)
    .bind(raw_ids)
    .bind(accepted)
    .bind(reasons)
    .bind(observations)
    .fetch_all(&mut *tx)
    .await?;
    done.accepted = written.iter().filter(|accepted| **accepted).count();
    done.refused = written.len() - done.accepted;
    if done.accepted > 0 {
        super::index::enqueue(&mut *tx, user_id).await?;
    }
    Ok(done)
}

/// Days of a metric's history that its outlier flags are measured against, up to its
/// newest observation.
pub const OUTLIER_WINDOW_DAYS: i32 = 90;

/// How far a stored robust z may drift from its current value before it is rewritten
/// (see [`flag_outliers`]).
pub const Z_TOLERANCE: f64 = 0.1;

/// Flags outliers among the member's observations: the robust z of each against the
/// median and MAD of its metric over the [`OUTLIER_WINDOW_DAYS`] up to the metric's
/// newest observation (`crate::stats::robust_z`, here in SQL: `percentile_cont(0.5)` is
/// numpy's median), flagged past [`crate::stats::OUTLIER_Z`] by the `outlier` column.
/// Each new observation moves its metric's median and MAD a little, and with them the
/// z of every observation in the window: rewriting them all (some 300 rows a write for
/// a member logging four metrics daily) was most of Distill's time under load. So a
/// stored z is rewritten only when its flag flips, when it appears or goes, or when it
/// has drifted by [`Z_TOLERANCE`]: the flag is always exact, the stored z within that.
/// Returns the rows written.
pub async fn flag_outliers(pool: &PgPool, user_id: i64) -> Result<u64, sqlx::Error> {
    let written = sqlx::query(
        "WITH newest AS (
             SELECT metric_id, max(observed_at) AS at FROM observations
              WHERE user_id = $1 GROUP BY metric_id
         ), recent AS (
             SELECT o.id, o.metric_id, o.value FROM observations o
               JOIN newest n ON n.metric_id = o.metric_id
              WHERE o.user_id = $1 AND o.observed_at > n.at - make_interval(days => $2)
         ), centre AS (
             SELECT metric_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median
               FROM recent GROUP BY metric_id
         ), spread AS (
             SELECT r.metric_id,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(r.value - c.median))
                        / 0.6744897501960817 AS mad
               FROM recent r JOIN centre c USING (metric_id) GROUP BY r.metric_id
         ), scored AS (
             SELECT r.id,
                    CASE WHEN s.mad > 0 THEN (r.value - c.median) / s.mad END AS z
               FROM recent r JOIN centre c USING (metric_id) JOIN spread s USING (metric_id)
         )
         UPDATE observations o SET robust_z = scored.z
           FROM scored
          WHERE o.user_id = $1 AND o.id = scored.id
            AND ((o.robust_z IS NULL) <> (scored.z IS NULL)
                 OR (abs(o.robust_z) > $3) <> (abs(scored.z) > $3)
                 OR abs(o.robust_z - scored.z) >= $4)",
    )
    .bind(user_id)
    .bind(OUTLIER_WINDOW_DAYS)
    .bind(crate::stats::OUTLIER_Z)
    .bind(Z_TOLERANCE)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(written)
}

/// What Distill decided for one landed entry, before the statements that record it.
enum Outcome {
    /// Valid and not seen earlier in the batch.
    Fresh(i64),
    /// The same value at the same time as the batch's entry `.1`.
    SameAs(i64, i64),
    Refused(i64, String),
}
