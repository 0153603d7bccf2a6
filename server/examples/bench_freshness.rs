//! Benchmark of the pipeline's freshness (not a test): how long from a member's API
//! write until their daily value and their insights include it, while 50 other members
//! send 1,000 observations a second in all.
//!
//! On a throwaway embedded PostgreSQL: 51 members with a year of four metrics each (so
//! that every Compute has real work), the HTTP server and a job runner with 4 workers
//! (as `cohort worker`) in this process. 50 background members each send a batch of 20
//! observations every second (staggered); the probe member sends one mood entry every
//! half second and the clock runs from sending the request (so the figure includes the
//! write itself) until both its day's daily value counts it and its Compute has run
//! after it (`member_computes.computed_at`), polled every 2 ms. Target (issue 13): p99
//! under 500 ms.
//!
//!     cargo run --release -p server --example bench_freshness [-- SECONDS [BACKGROUND_MEMBERS]]

mod common;
use common::BenchDatabase;

use anyhow::{ensure, Result};
use chrono::{DateTime, Utc};
use cohort::startup::{Application, WebSettings};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BATCH: usize = 20;
const WORKERS: usize = 4;

async fn member(pool: &sqlx::PgPool, n: usize) -> Result<(i64, String)> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, time_zone) VALUES ($1, $2, 'UTC') RETURNING id",
    )
    .bind(format!("m{n}@bench.invalid"))
    .bind(format!("Member {n}"))
    .fetch_one(pool)
    .await?;
    Ok((id, common::write_token(pool, id).await?))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let background_members: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let database = BenchDatabase::start(30).await?;
    let pool = database.pool.clone();
    app::track::catalogue::sync_catalogue(&pool).await?;
    let mut members = Vec::new();
    for n in 0..=background_members {
        members.push(member(&pool, n).await?);
    }
    // A year of history before today: steps, sleep, mood and weight once a day.
    sqlx::query(
        "INSERT INTO observations (user_id, metric_id, observed_at, value, source)
         SELECT u.id, m.id, date_trunc('day', now()) - make_interval(days => d) + interval '12 hours',
                CASE m.key WHEN 'steps' THEN 4000 + (u.id * 7919 + d * 104729) % 8000
                           WHEN 'sleep' THEN 360 + random() * 120
                           WHEN 'mood' THEN 1 + floor(random() * 9)
                           ELSE 60 + random() END,
                'api'
           FROM users u CROSS JOIN metrics m CROSS JOIN generate_series(1, 365) d
          WHERE m.owner_id IS NULL AND m.key IN ('steps', 'sleep', 'mood', 'weight')",
    )
    .execute(&pool)
    .await?;
    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    app::pipeline::recompute_everyone(&pool).await?;

    let settings = WebSettings::local(
        "127.0.0.1:0".parse()?,
        std::path::Path::new("/nonexistent/cohort-site"),
    );
    let server = Application::build(&settings, pool.clone()).await?;
    let url = format!("http://127.0.0.1:{}/api/v1/observations", server.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let runner = cohort::job_types::cohort_runner(
        pool.clone(),
        WORKERS,
        Arc::new(cohort::jobs::Services::default()),
    )
    .start();

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut background = tokio::task::JoinSet::new();
    for (index, (_, secret)) in members.iter().skip(1).cloned().enumerate() {
        let (client, url, sent, failed) =
            (client.clone(), url.clone(), sent.clone(), failed.clone());
        background.spawn(async move {
            // Staggered over the second, so that the load is even.
            tokio::time::sleep(Duration::from_millis(20 * index as u64)).await;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut n = 0u64;
            while Instant::now() < deadline {
                tick.tick().await;
                let items: Vec<_> = (0..BATCH)
                    .map(|_| {
                        n += 1;
                        let (metric, base) = [
                            ("steps", 5000.0),
                            ("sleep", 420.0),
                            ("mood", 6.0),
                            ("weight", 70.0),
                        ][n as usize % 4];
                        json!({"metric": metric, "value": base + (n % 3) as f64,
                               "idempotency_key": format!("b{index}-{n}")})
                    })
                    .collect();
                let answer = client
                    .post(&url)
                    .bearer_auth(&secret)
                    .json(&json!({ "observations": items }))
                    .send()
                    .await;
                match answer.map(|a| a.status().is_success()) {
                    Ok(true) => sent.fetch_add(BATCH as u64, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        });
    }

    // The probe.
    let (probe, secret) = members[0].clone();
    let mut latencies = Vec::new();
    let mut probes = 0i64;
    tokio::time::sleep(Duration::from_secs(2)).await; // the load settles in
    while Instant::now() < deadline {
        probes += 1;
        let at: DateTime<Utc> = Utc::now();
        let started = Instant::now();
        client
            .post(&url)
            .bearer_auth(&secret)
            .json(
                &json!({ "observations": [{"metric": "mood", "value": 1 + probes % 9,
                                             "idempotency_key": format!("p{probes}")}] }),
            )
            .send()
            .await?
            .error_for_status()?;
        loop {
            let (count, computed): (Option<i32>, Option<DateTime<Utc>>) = sqlx::query_as(
                "SELECT (SELECT d.count FROM daily_values d JOIN metrics m ON m.id = d.metric_id
                          WHERE d.user_id = $1 AND m.key = 'mood' AND m.owner_id IS NULL
                            AND d.day = (now() AT TIME ZONE 'UTC')::date),
                        (SELECT computed_at FROM member_computes WHERE user_id = $1)",
            )
            .bind(probe)
            .fetch_one(&pool)
            .await?;
            if count.unwrap_or(0) as i64 >= probes && computed.is_some_and(|c| c > at) {
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            ensure!(
                started.elapsed() < Duration::from_secs(30),
                "probe {probes} not fresh after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    while background.join_next().await.is_some() {}
    let backlog: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE state IN ('pending', 'running') AND queue = 'pipeline'",
    )
    .fetch_one(&pool)
    .await?;
    latencies.sort_by(f64::total_cmp);
    let background_rate = sent.load(Ordering::Relaxed) as f64 / seconds as f64;
    println!(
        "background: {background_rate:.0} observations/s accepted from {background_members} members ({} requests failed); pipeline backlog at the end: {backlog} jobs",
        failed.load(Ordering::Relaxed)
    );
    println!(
        "freshness of {} probe writes (request sent -> daily value and insights updated), {WORKERS} job workers: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (target: p99 < 500 ms)",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
    // Where the time goes: each stage's jobs in the run, from due to done (waiting in
    // the queue and running), as /admin/pipeline shows them.
    let stages: Vec<(String, i64, f64, f64)> = sqlx::query_as(
        "SELECT kind, count(*),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - run_at) * 1000),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - run_at) * 1000)
           FROM jobs WHERE state = 'succeeded' AND queue = 'pipeline' AND finished_at IS NOT NULL
          GROUP BY kind ORDER BY kind",
    )
    .fetch_all(&pool)
    .await?;
    for (kind, jobs, p50, p99) in stages {
        println!("  {kind:<10} {jobs:>6} jobs, due to done: p50 {p50:.0} ms, p99 {p99:.0} ms");
    }
    database.print_statements(25).await?;
    runner.shutdown(Duration::from_secs(10)).await?;
    let _ = stop.send(());
    pool.close().await;
    database.stop().await?;
    Ok(())
}
