//! Compute, per meetup: the group's figures as they were published for it. At a
//! meetup's start the figures of the windows "since the meetup before" and "before that"
//! ([`SINCE_MEETUP`], [`BEFORE_MEETUP`]), as last published before the start,
//! are copied for the meetup and never recomputed, so an old event page shows what the
//! group saw. Nothing new is computed here: a frozen figure is one that was published
//! (k members or more, the differencing rule held), so freezing reveals nothing more.
//!
//! A `FreezeMeetup` job is scheduled at each upcoming meetup's start by every run of the
//! group's figures; each run also freezes the group's latest past meetup of the last
//! week if its job was missed. A meetup frozen once stays as it is (`meetup_snapshots`), also when nothing
//! had been published for it.

use crate::jobs::Job;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

/// The keys of the windows a meetup's figures are frozen from (`group::Window`'s keys).
pub const SINCE_MEETUP: &str = "since_meetup";
pub const BEFORE_MEETUP: &str = "before_meetup";

/// One run at a time per group: publishing its figures, and freezing them for a meetup.
pub async fn lock_group(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    crate::pipeline::lock_for(conn, "group_figures", group_id).await
}

/// Upcoming meetups of a group whose freezing is scheduled ahead.
pub const SCHEDULED_AHEAD: i64 = 3;

/// Job: freeze a meetup's figures at its start (one pending per meetup).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FreezeMeetup {
    pub event_id: i64,
}

impl Job for FreezeMeetup {
    const KIND: &'static str = "freeze_meetup_figures";
    const QUEUE: &'static str = "pipeline";
    const MAX_ATTEMPTS: i32 = 10;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.event_id.to_string())
    }
}

impl FreezeMeetup {
    pub async fn run(self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        let event: Option<(i64, DateTime<Utc>, bool)> = sqlx::query_as(
            "SELECT group_id, starts_at, status = 'scheduled' FROM events WHERE id = $1",
        )
        .bind(self.event_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((group_id, starts_at, scheduled)) = event else {
            return Ok(());
        };
        if !scheduled {
            return Ok(());
        }
        if starts_at > Utc::now() {
            // Moved later since this was scheduled: run at its new start.
            self.schedule(&mut tx, starts_at).await?;
        } else {
            lock_group(&mut tx, group_id).await?;
            freeze(&mut tx, group_id, self.event_id, Some(starts_at)).await?;
        }
        tx.commit().await
    }
}

/// Freezes the group's figures for the meetup, once: those published before
/// `published_before` (all the group's, when `None`: the demo, seeded after its past
/// meetup). Returns whether this call froze it.
pub async fn freeze(
    conn: &mut PgConnection,
    group_id: i64,
    event_id: i64,
    published_before: Option<DateTime<Utc>>,
) -> Result<bool, sqlx::Error> {
    let fresh: Option<i64> = sqlx::query_scalar(
        "INSERT INTO meetup_snapshots (event_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING event_id",
    )
    .bind(event_id)
    .fetch_optional(&mut *conn)
    .await?;
    if fresh.is_none() {
        return Ok(false);
    }
    let windows = [SINCE_MEETUP, BEFORE_MEETUP];
    sqlx::query(
        "INSERT INTO meetup_figures (event_id, metric_id, window_key, published, reason, figures, computed_at)
         SELECT $1, metric_id, window_key, published, reason, figures, computed_at
           FROM group_figures
          WHERE group_id = $2 AND window_key = ANY($3)
            AND ($4::timestamptz IS NULL OR computed_at <= $4)",
    )
    .bind(event_id)
    .bind(group_id)
    .bind(windows)
    .bind(published_before)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO meetup_figure_ranks (event_id, metric_id, window_key, user_id, percentile)
         SELECT $1, r.metric_id, r.window_key, r.user_id, r.percentile
           FROM group_figure_ranks r
           JOIN meetup_figures m
             ON m.event_id = $1 AND m.metric_id = r.metric_id AND m.window_key = r.window_key
          WHERE r.group_id = $2",
    )
    .bind(event_id)
    .bind(group_id)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Before the group's figures are recomputed: freezes its latest past meetup if that
/// was missed (one of the last week: an older one is left without figures rather than
/// given ones published long after it), and schedules the freezing of its next meetups at their starts.
pub async fn around_group_run(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    let latest: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, starts_at FROM events
          WHERE group_id = $1 AND status = 'scheduled' AND starts_at <= now()
            AND starts_at > now() - interval '7 days'
          ORDER BY starts_at DESC LIMIT 1",
    )
    .bind(group_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((event_id, starts_at)) = latest {
        freeze(conn, group_id, event_id, Some(starts_at)).await?;
    }
    let upcoming: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, starts_at FROM events
          WHERE group_id = $1 AND status = 'scheduled' AND starts_at > now()
          ORDER BY starts_at LIMIT $2",
    )
    .bind(group_id)
    .bind(SCHEDULED_AHEAD)
    .fetch_all(&mut *conn)
    .await?;
    for (event_id, starts_at) in upcoming {
        FreezeMeetup { event_id }.schedule(conn, starts_at).await?;
    }
    Ok(())
}
