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
    pipeline(pool, &mut out).await?;
    Ok(out)
}

/// Latency buckets of the pipeline's stages, in seconds.
const BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0];

/// Per pipeline stage: jobs done and failed (counters: the jobs table keeps every job),
/// and a histogram of the time from due to done of every job done.
async fn pipeline(pool: &PgPool, out: &mut String) -> Result<(), sqlx::Error> {
    let stages: Vec<String> = app::admin::STAGES.iter().map(|s| s.to_string()).collect();
    let rows: Vec<(String, i64, i64, Vec<i64>, f64)> = sqlx::query_as(
        "SELECT s.kind,
                count(j.id) FILTER (WHERE j.state = 'succeeded'),
                count(j.id) FILTER (WHERE j.state = 'failed'),
                ARRAY(SELECT (SELECT count(*) FROM jobs d
                                WHERE d.kind = s.kind AND d.state = 'succeeded'
                                  AND extract(epoch FROM d.finished_at - d.run_at) <= b)
                        FROM unnest($2::float8[]) AS b ORDER BY b),
                coalesce(sum(extract(epoch FROM j.finished_at - j.run_at))
                         FILTER (WHERE j.state = 'succeeded'), 0)::float8
           FROM unnest($1::text[]) WITH ORDINALITY AS s(kind, n)
           LEFT JOIN jobs j ON j.kind = s.kind
          GROUP BY s.kind, s.n ORDER BY s.n",
    )
    .bind(&stages)
    .bind(BUCKETS.to_vec())
    .fetch_all(pool)
    .await?;
    let _ = writeln!(
        out,
        "# HELP cohort_stage_jobs_total Pipeline jobs finished, by stage and outcome."
    );
    let _ = writeln!(out, "# TYPE cohort_stage_jobs_total counter");
    for (stage, done, failed, _, _) in &rows {
        let _ = writeln!(
            out,
            "cohort_stage_jobs_total{{stage=\"{stage}\",outcome=\"succeeded\"}} {done}"
        );
        let _ = writeln!(
            out,
            "cohort_stage_jobs_total{{stage=\"{stage}\",outcome=\"failed\"}} {failed}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP cohort_stage_latency_seconds From when a pipeline job was due to when it was done."
    );
    let _ = writeln!(out, "# TYPE cohort_stage_latency_seconds histogram");
    for (stage, done, _, buckets, sum) in &rows {
        for (bound, count) in BUCKETS.iter().zip(buckets) {
            let _ = writeln!(
                out,
                "cohort_stage_latency_seconds_bucket{{stage=\"{stage}\",le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "cohort_stage_latency_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {done}"
        );
        let _ = writeln!(
            out,
            "cohort_stage_latency_seconds_sum{{stage=\"{stage}\"}} {sum:.6}"
        );
        let _ = writeln!(
            out,
            "cohort_stage_latency_seconds_count{{stage=\"{stage}\"}} {done}"
        );
    }
    Ok(())
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
