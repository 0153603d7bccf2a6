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
