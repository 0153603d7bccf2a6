//! Benchmark of the job queue (not a test): no-op jobs per second with 1, 4, 16 and 64
//! workers, beside plain INSERT + DELETE of the same rows (each its own durable commit),
//! measured in one run on a throwaway embedded PostgreSQL with its default (durable)
//! settings. A runner claims as many jobs as it has free workers in one statement and
//! records finished ones together, so the rate grows with the workers.
//!
//!     cargo run --release -p server --example bench_jobs [-- JOBS]

mod common;
use common::BenchDatabase;

use anyhow::Result;
use cohort::jobs::{Job, JobContext, Run, Runner, RunnerOptions};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Serialize, Deserialize)]
struct NoOp {}

impl Job for NoOp {
    const KIND: &'static str = "bench_noop";
    const QUEUE: &'static str = "bench";
}

impl Run for NoOp {
    async fn run(self, _: JobContext) -> Result<()> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let jobs: i64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let database = BenchDatabase::start(10).await?;
    let pool = database.pool.clone();

    // Baseline: what a queue must do at the least, one row at a time on one connection.
    let started = Instant::now();
    let mut ids = Vec::with_capacity(jobs as usize);
    for _ in 0..jobs {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (kind, queue) VALUES ('bench_plain', 'bench') RETURNING id",
        )
        .fetch_one(&pool)
        .await?;
        ids.push(id);
    }
    for id in ids {
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&pool)
            .await?;
    }
    let baseline = jobs as f64 / started.elapsed().as_secs_f64();
    println!(
        "plain INSERT + DELETE, 1 connection: {baseline:>8.0} rows/s ({:.0} durable commits/s)",
        2.0 * baseline
    );

    for workers in [1, 4, 16, 64] {
        sqlx::query("DELETE FROM jobs").execute(&pool).await?;
        sqlx::query(
            "INSERT INTO jobs (kind, queue) SELECT 'bench_noop', 'bench' FROM generate_series(1, $1)",
        )
        .bind(jobs)
        .execute(&pool)
        .await?;
        let runner = Runner::new(pool.clone())
            .with_options(RunnerOptions {
                queues: vec!["bench".into()],
                workers,
                lease: Duration::from_secs(30),
                name: format!("bench{workers}"),
            })
            .register::<NoOp>();
        let started = Instant::now();
        let handle = runner.start();
        // Done when no job is left to do (read through the pending and running jobs'
        // indexes, not by counting the finished ones, which would cost the runner CPU).
        loop {
            let left: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'pending')
                     OR EXISTS (SELECT 1 FROM jobs WHERE state = 'running')",
            )
            .fetch_one(&pool)
            .await?;
            if !left {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let rate = jobs as f64 / started.elapsed().as_secs_f64();
        handle.shutdown(Duration::from_secs(5)).await?;
        let succeeded: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
                .fetch_one(&pool)
                .await?;
        anyhow::ensure!(succeeded == jobs, "{succeeded} of {jobs} jobs succeeded");
        println!(
            "no-op jobs, {workers:>2} worker(s):         {rate:>8.0} jobs/s ({:.2} x plain INSERT + DELETE)",
            rate / baseline
        );
    }
    pool.close().await;
    database.stop().await?;
    Ok(())
}
