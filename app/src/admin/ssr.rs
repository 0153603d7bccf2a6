//! Queries behind the admin pages; every one asks the policy first.

use super::{JobRow, JobsOverview, PipelineOverview, QueueCount, StageRow, STAGES};
use crate::accounts::ssr::{pool, require_user};
use crate::errors::{not_found, AppError};
use crate::policy::{require, Action, Actor};

async fn require_admin() -> Result<sqlx::PgPool, AppError> {
    let user = require_user().await?;
    require(
        Actor {
            user: Some(&user),
            role: None,
        },
        Action::AdministerInstance,
    )?;
    pool()
}

pub async fn jobs_overview() -> Result<JobsOverview, AppError> {
    let pool = require_admin().await?;
    let counts = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT queue, state::text, count(*) FROM jobs GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|(queue, state, jobs)| QueueCount { queue, state, jobs })
    .collect();
    let troubled = sqlx::query_as::<_, (i64, String, String, String, i32, i32, Option<String>, chrono::DateTime<chrono::Utc>)>(
        "SELECT id, kind, queue, state::text, attempts, max_attempts, last_error, updated_at FROM jobs
          WHERE last_error IS NOT NULL AND state <> 'succeeded'
          ORDER BY updated_at DESC LIMIT 50",
    )
    .fetch_all(&pool)
    .await
    ?
    .into_iter()
    .map(|(id, kind, queue, state, attempts, max_attempts, last_error, updated_at)| JobRow {
        id,
        kind,
        queue,
        state,
        attempts,
        max_attempts,
        last_error,
        updated_at,
    })
    .collect();
    Ok(JobsOverview { counts, troubled })
}

/// Runs a failed (or cancelled) job again from its first attempt.
pub async fn retry(pool: &sqlx::PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE jobs SET state = 'pending', attempts = 0, run_at = now(), finished_at = NULL, updated_at = now()
          WHERE id = $1 AND state IN ('failed', 'cancelled')",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Cancels a pending job.
pub async fn cancel(pool: &sqlx::PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE jobs SET state = 'cancelled', finished_at = now(), updated_at = now() WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn retry_job(id: i64) -> Result<(), AppError> {
    let pool = require_admin().await?;
    if !retry(&pool, id).await? {
        return Err(not_found("failed or cancelled job"));
    }
    Ok(())
}

pub async fn cancel_job(id: i64) -> Result<(), AppError> {
    let pool = require_admin().await?;
    if !cancel(&pool, id).await? {
        return Err(not_found("pending job"));
    }
    Ok(())
}

pub async fn pipeline_overview() -> Result<PipelineOverview, AppError> {
    let pool = require_admin().await?;
    type Row = (String, i64, i64, i64, i64, Option<f64>, Option<f64>, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.kind,
                count(*) FILTER (WHERE j.state = 'pending' AND j.run_at <= now()),
                count(*) FILTER (WHERE j.state = 'pending' AND j.run_at > now()),
                count(*) FILTER (WHERE j.state = 'running'),
                count(*) FILTER (WHERE j.state = 'succeeded' AND j.finished_at > now() - interval '1 hour'),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.finished_at - j.run_at) * 1000)
                    FILTER (WHERE j.state = 'succeeded' AND j.finished_at > now() - interval '1 hour'),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM j.finished_at - j.run_at) * 1000)
                    FILTER (WHERE j.state = 'succeeded' AND j.finished_at > now() - interval '1 hour'),
                count(*) FILTER (WHERE j.state = 'failed')
           FROM unnest($1::text[]) WITH ORDINALITY AS s(kind, n)
           LEFT JOIN jobs j ON j.kind = s.kind
          GROUP BY s.kind, s.n ORDER BY s.n",
    )
    .bind(STAGES.to_vec())
    .fetch_all(&pool)
    .await
    ?;
    let stages = rows
        .into_iter()
        .map(
            |(stage, backlog, scheduled, running, done_last_hour, p50_ms, p99_ms, failed)| {
                StageRow {
                    stage,
                    backlog,
                    scheduled,
                    running,
                    done_last_hour,
                    p50_ms,
                    p99_ms,
                    failed,
                }
            },
        )
        .collect();
    type Failed = (
        i64,
        String,
        String,
        String,
        i32,
        i32,
        Option<String>,
        chrono::DateTime<chrono::Utc>,
    );
    let failed = sqlx::query_as::<_, Failed>(
        "SELECT id, kind, queue, state::text, attempts, max_attempts, last_error, updated_at FROM jobs
          WHERE state = 'failed' AND kind = ANY($1) ORDER BY updated_at DESC LIMIT 50",
    )
    .bind(STAGES.to_vec())
    .fetch_all(&pool)
    .await
    ?
    .into_iter()
    .map(|(id, kind, queue, state, attempts, max_attempts, last_error, updated_at)| JobRow {
        id,
        kind,
        queue,
        state,
        attempts,
        max_attempts,
        last_error,
        updated_at,
    })
    .collect();
    Ok(PipelineOverview { stages, failed })
}
