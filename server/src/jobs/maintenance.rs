//! Housekeeping jobs that reschedule themselves.

use super::{Job, JobContext, Run};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(3600);

/// Deletes sessions past their expiry, hourly. Recurring by rescheduling itself: its
/// dedupe key keeps one pending however many processes ask, so each hour runs once.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DeleteExpiredSessions;

impl Job for DeleteExpiredSessions {
    const KIND: &'static str = "delete_expired_sessions";
    const QUEUE: &'static str = "maintenance";
    const MAX_ATTEMPTS: i32 = 3;

    fn dedupe_key(&self) -> Option<String> {
        Some("hourly".into())
    }
}

impl Run for DeleteExpiredSessions {
    async fn run(self, context: JobContext) -> Result<()> {
        let mut tx = context.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM tower_sessions.session WHERE expiry_date < now()")
            .execute(&mut *tx)
            .await
            .context("deleting expired sessions")?;
        // The next run is enqueued with this one's completion, in one transaction.
        DeleteExpiredSessions
            .enqueue_at(&mut tx, Some(chrono::Utc::now() + EVERY))
            .await?;
        tx.commit().await?;
        tracing::info!(
            deleted = deleted.rows_affected(),
            "expired sessions deleted"
        );
        Ok(())
    }
}

/// Makes sure each recurring job has its next run queued (safe from every process).
pub async fn schedule_recurring(pool: &PgPool) -> Result<()> {
    let mut conn = pool.acquire().await?;
    DeleteExpiredSessions.enqueue(&mut conn).await?;
    crate::meetups::ExtendSeries.enqueue(&mut conn).await?;
    let nightly = app::pipeline::NightlyRecompute::next_run(chrono::Utc::now());
    app::pipeline::NightlyRecompute
        .enqueue_at(&mut conn, Some(nightly))
        .await?;
    Ok(())
}

/// Queues each recurring job's next run again every `every`, for as long as the process
/// runs jobs. A recurring job queues its next run only when a run succeeds, so one that
/// failed all its attempts (the database away for a while) would otherwise stay stopped
/// until a process restarts. Repeating is safe: the dedupe keys keep one pending run of
/// each. The first round is the caller's ([`schedule_recurring`] at start-up).
pub fn keep_recurring(pool: PgPool, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await; // the first tick is at once: start-up has just scheduled
        loop {
            interval.tick().await;
            if let Err(error) = schedule_recurring(&pool).await {
                tracing::warn!(error = %format!("{error:#}"), "queueing the recurring jobs");
            }
        }
    })
}

/// How often every process that runs jobs makes sure the recurring ones are queued.
pub const KEEP_RECURRING_EVERY: Duration = EVERY;
