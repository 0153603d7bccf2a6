//! GET /metrics: Prometheus text format. Aggregate counts only: nothing personal.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use std::fmt::Write;

pub async fn metrics(State(pool): State<PgPool>) -> Response {
    match render(&pool).await {
        Ok(body) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response(),
        Err(error) => {
            tracing::warn!(%error, "metrics unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "# the database is unavailable\n",
            )
                .into_response()
        }
    }
}

async fn render(pool: &PgPool) -> Result<String, sqlx::Error> {
    let counts: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT q.queue, s.state::text, count(j.id)
           FROM (SELECT DISTINCT queue FROM jobs) q
          CROSS JOIN unnest(enum_range(NULL::job_state)) AS s(state)
           LEFT JOIN jobs j ON j.queue = q.queue AND j.state = s.state
          GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    let backlog: Vec<(String, f64)> = sqlx::query_as(
        "SELECT queue, coalesce(extract(epoch FROM now() - min(run_at)), 0)::float8
           FROM jobs WHERE state = 'pending' AND run_at <= now() GROUP BY queue ORDER BY queue",
    )
    .fetch_all(pool)
    .await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP cohort_jobs Jobs in the queue, by queue and state."
    );
    let _ = writeln!(out, "# TYPE cohort_jobs gauge");
    for (queue, state, jobs) in counts {
        let _ = writeln!(
            out,
            "cohort_jobs{{queue=\"{}\",state=\"{state}\"}} {jobs}",
            escape(&queue)
        );
    }
    let _ = writeln!(
        out,
        "# HELP cohort_jobs_oldest_due_seconds How long the oldest due job of a queue has waited."
    );
    let _ = writeln!(out, "# TYPE cohort_jobs_oldest_due_seconds gauge");
    for (queue, seconds) in backlog {
        let _ = writeln!(
            out,
            "cohort_jobs_oldest_due_seconds{{queue=\"{}\"}} {seconds:.3}",
            escape(&queue)
        );
    }
    Ok(out)
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
