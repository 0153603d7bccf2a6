//! The job queue against a real PostgreSQL.

use crate::helpers::fresh_database;
use anyhow::{bail, Result};
use chrono::Utc;
use cohort::jobs::{self, Job, JobContext, ManualClock, Run, Runner, RunnerOptions};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// Records each run in `job_runs`.
#[derive(Serialize, Deserialize)]
struct Record {
    n: i64,
}

impl Job for Record {
    const KIND: &'static str = "test_record";
    const QUEUE: &'static str = "test";
}

impl Run for Record {
    async fn run(self, context: JobContext) -> Result<()> {
        sqlx::query("INSERT INTO job_runs (job_id, n) VALUES ($1, $2)")
            .bind(context.id)
            .bind(self.n)
            .execute(&context.pool)
            .await?;
        Ok(())
    }
}

/// "Recompute member 7": the same logical work, whoever asks.
#[derive(Serialize, Deserialize)]
struct Recompute {
    member: i64,
}

impl Job for Recompute {
    const KIND: &'static str = "test_recompute";
    const QUEUE: &'static str = "test";

    fn dedupe_key(&self) -> Option<String> {
        Some(self.member.to_string())
    }
}

impl Run for Recompute {
    async fn run(self, _: JobContext) -> Result<()> {
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct AlwaysFails;

impl Job for AlwaysFails {
    const KIND: &'static str = "test_always_fails";
    const QUEUE: &'static str = "test";
    const MAX_ATTEMPTS: i32 = 3;
    const BACKOFF: Duration = Duration::from_secs(10);
}

impl Run for AlwaysFails {
    async fn run(self, context: JobContext) -> Result<()> {
        bail!("attempt {} failed on purpose", context.attempt)
    }
}

#[derive(Serialize, Deserialize)]
struct Slow {
    millis: u64,
}

impl Job for Slow {
    const KIND: &'static str = "test_slow";
    const QUEUE: &'static str = "test";
}

impl Run for Slow {
    async fn run(self, context: JobContext) -> Result<()> {
        context.progress(50.0, "halfway").await?;
        tokio::time::sleep(Duration::from_millis(self.millis)).await;
        // Its end leaves a trace: a job stopped halfway leaves none.
        sqlx::query("INSERT INTO job_runs (job_id, n) VALUES ($1, $2)")
            .bind(context.id)
            .bind(self.millis as i64)
            .execute(&context.pool)
            .await?;
        Ok(())
    }
}

async fn queue_db() -> PgPool {
    let pool = fresh_database().await;
    sqlx::query("CREATE TABLE job_runs (job_id bigint NOT NULL, n bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())")
        .execute(&pool)
        .await
        .unwrap();
    pool
}

fn runner(pool: &PgPool, name: &str, workers: usize) -> Runner {
    Runner::new(pool.clone())
        .with_options(RunnerOptions {
            queues: vec!["test".into()],
            workers,
            lease: Duration::from_secs(3),
            name: name.into(),
        })
        .register::<Record>()
        .register::<Recompute>()
        .register::<AlwaysFails>()
        .register::<Slow>()
}

async fn state_of(pool: &PgPool, id: i64) -> (String, i32, Option<String>) {
    sqlx::query_as("SELECT state::text, attempts, last_error FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn wait_until(pool: &PgPool, sql: &str, expected: i64, limit: Duration) {
    let started = Instant::now();
    loop {
        let value: i64 = sqlx::query_scalar(sql).fetch_one(pool).await.unwrap();
        if value == expected {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{sql}: {value}, waited for {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_exists() {
    let pool = queue_db().await;
    let mut tx = pool.begin().await.unwrap();
    Record { n: 1 }.enqueue(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    Record { n: 2 }.enqueue(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(runner(&pool, "t", 1).run_pending().await.unwrap(), 1);
    let ns: Vec<i64> = sqlx::query_scalar("SELECT n FROM job_runs")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(ns, [2]);
}

#[tokio::test]
async fn enqueueing_the_same_work_while_one_is_pending_yields_one_job() {
    let pool = queue_db().await;
    let mut conn = pool.acquire().await.unwrap();
    let mut created = 0;
    for _ in 0..1000 {
        created += Recompute { member: 7 }
            .enqueue(&mut conn)
            .await
            .unwrap()
            .is_some() as usize;
    }
    Recompute { member: 8 }.enqueue(&mut conn).await.unwrap();
    assert_eq!(
        created, 1,
        "1,000 new observations for one member: one recompute"
    );
    assert_eq!(runner(&pool, "t", 1).run_pending().await.unwrap(), 2);
    // Once it has run, new work for the member is a new job.
    assert!(Recompute { member: 7 }
        .enqueue(&mut conn)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn failures_retry_with_exponential_backoff_then_stay_failed_until_an_admin_retries() {
    let pool = queue_db().await;
    let id = AlwaysFails
        .enqueue(&mut pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    // The clock starts once the job is due (enqueue stamps it with the database's now).
    let clock = ManualClock::at(Utc::now() + chrono::Duration::milliseconds(10));
    let runner = runner(&pool, "t", 1).with_clock(clock.clone());

    assert_eq!(runner.run_pending().await.unwrap(), 1);
    assert_eq!(state_of(&pool, id).await.0, "pending");
    assert_eq!(
        runner.run_pending().await.unwrap(),
        0,
        "not before its backoff"
    );
    clock.advance(Duration::from_secs(9));
    assert_eq!(runner.run_pending().await.unwrap(), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        runner.run_pending().await.unwrap(),
        1,
        "first retry after 10 s"
    );
    clock.advance(Duration::from_secs(19));
    assert_eq!(runner.run_pending().await.unwrap(), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        runner.run_pending().await.unwrap(),
        1,
        "second retry 20 s later"
    );

    let (state, attempts, error) = state_of(&pool, id).await;
    assert_eq!((state.as_str(), attempts), ("failed", 3));
    assert!(error.unwrap().contains("attempt 3 failed on purpose"));
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        runner.run_pending().await.unwrap(),
        0,
        "failed jobs stay failed"
    );

    assert!(jobs::retry(&pool, id).await.unwrap());
    assert_eq!(state_of(&pool, id).await.0, "pending");
    assert_eq!(runner.run_pending().await.unwrap(), 1);
}

#[tokio::test]
async fn two_runners_process_ten_thousand_jobs_each_exactly_once() {
    let pool = queue_db().await;
    sqlx::query(
        "INSERT INTO jobs (kind, queue, payload)
         SELECT 'test_record', 'test', jsonb_build_object('n', n) FROM generate_series(1, 10000) AS n",
    )
    .execute(&pool)
    .await
    .unwrap();
    let started = Instant::now();
    let a = runner(&pool, "runner-a", 4).start();
    let b = runner(&pool, "runner-b", 4).start();
    wait_until(
        &pool,
        "SELECT count(*) FROM jobs WHERE state = 'succeeded'",
        10_000,
        Duration::from_secs(180),
    )
    .await;
    let elapsed = started.elapsed();
    a.shutdown(Duration::from_secs(5)).await.unwrap();
    b.shutdown(Duration::from_secs(5)).await.unwrap();

    let (runs, distinct_jobs, distinct_ns): (i64, i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT job_id), count(DISTINCT n) FROM job_runs")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (runs, distinct_jobs, distinct_ns),
        (10_000, 10_000, 10_000),
        "every job ran, none twice"
    );
    let by_runner: Vec<(String, i64)> = sqlx::query_as(
        "SELECT split_part(locked_by, '-', 2), count(*) FROM jobs GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    println!(
        "10,000 jobs with two runners of 4 workers: {:.1} s ({by_runner:?})",
        elapsed.as_secs_f64()
    );
    let names: Vec<&str> = by_runner.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["a", "b"], "both runners did work: {by_runner:?}");
    assert!(
        by_runner.iter().all(|(_, jobs)| *jobs >= 100),
        "neither runner sat idle: {by_runner:?}"
    );
}

#[tokio::test]
async fn the_job_of_a_worker_that_died_runs_again_after_its_lease() {
    let pool = queue_db().await;
    let id = Record { n: 42 }
        .enqueue(&mut pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    // What a killed worker leaves: claimed, its lease run out, never finished.
    sqlx::query(
        "UPDATE jobs SET state = 'running', attempts = 1, locked_by = 'killed-0',
                lease_until = now() - interval '1 second' WHERE id = $1",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(runner(&pool, "t", 1).run_pending().await.unwrap(), 1);
    let (state, attempts, _) = state_of(&pool, id).await;
    assert_eq!((state.as_str(), attempts), ("succeeded", 2));
}

#[tokio::test]
async fn a_live_workers_lease_is_renewed_so_nobody_takes_its_job() {
    let pool = queue_db().await;
    let id = Slow { millis: 4_000 }
        .enqueue(&mut pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    let handle = runner(&pool, "holder", 1).start();
    wait_until(
        &pool,
        "SELECT count(*) FROM jobs WHERE state = 'running'",
        1,
        Duration::from_secs(10),
    )
    .await;
    // Longer than the 3 s lease: only heartbeats keep the job this worker's.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let thief = runner(&pool, "thief", 1);
    assert_eq!(thief.reap_expired_leases().await.unwrap(), 0);
    wait_until(
        &pool,
        "SELECT count(*) FROM jobs WHERE state = 'succeeded'",
        1,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(state_of(&pool, id).await.1, 1, "ran once");
    handle.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn an_idle_runner_is_woken_by_notify_and_runs_scheduled_jobs_on_time() {
    let pool = queue_db().await;
    let handle = runner(&pool, "waker", 1).start();
    tokio::time::sleep(Duration::from_millis(300)).await; // idle: listening, not polling
    let started = Instant::now();
    Record { n: 1 }
        .enqueue(&mut pool.acquire().await.unwrap())
        .await
        .unwrap();
    wait_until(
        &pool,
        "SELECT count(*) FROM job_runs",
        1,
        Duration::from_secs(5),
    )
    .await;
    let woken_after = started.elapsed();
    assert!(
        woken_after < Duration::from_secs(5),
        "idle sleep is 30 s: only NOTIFY explains {woken_after:?}"
    );

    let due = Utc::now() + chrono::Duration::milliseconds(1_500);
    Record { n: 2 }
        .enqueue_at(&mut pool.acquire().await.unwrap(), Some(due))
        .await
        .unwrap();
    wait_until(
        &pool,
        "SELECT count(*) FROM job_runs",
        2,
        Duration::from_secs(10),
    )
    .await;
    let ran_at: chrono::DateTime<Utc> = sqlx::query_scalar("SELECT at FROM job_runs WHERE n = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ran_at >= due, "a scheduled job waits for its time");
    handle.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_lets_a_running_job_finish() {
    let pool = queue_db().await;
    let id = Slow { millis: 700 }
        .enqueue(&mut pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    let handle = runner(&pool, "graceful", 1).start();
    // Running, and past its first step: the claim comes a moment before the job writes
    // its progress.
    wait_until(
        &pool,
        "SELECT count(*) FROM jobs WHERE state = 'running' AND progress_percent IS NOT NULL",
        1,
        Duration::from_secs(10),
    )
    .await;
    let (percent, message): (Option<f32>, Option<String>) =
        sqlx::query_as("SELECT progress_percent, progress_message FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (percent, message.as_deref()),
        (Some(50.0), Some("halfway")),
        "progress is readable"
    );
    handle.shutdown(Duration::from_secs(10)).await.unwrap();
    assert_eq!(state_of(&pool, id).await.0, "succeeded");
    assert_eq!(runs_of(&pool, id).await, 1, "it ran to its end");
}

/// How many runs of job `id` got to their end.
async fn runs_of(pool: &PgPool, id: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM job_runs WHERE job_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn shutdown_stops_and_gives_back_a_job_that_outlives_the_grace_period() {
    let pool = queue_db().await;
    let id = Slow { millis: 1_500 }
        .enqueue(&mut pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    let handle = runner(&pool, "impatient", 1).start();
    wait_until(
        &pool,
        "SELECT count(*) FROM jobs WHERE state = 'running'",
        1,
        Duration::from_secs(10),
    )
    .await;
    handle.shutdown(Duration::from_millis(200)).await.unwrap();
    let (state, attempts, _) = state_of(&pool, id).await;
    assert_eq!(
        (state.as_str(), attempts),
        ("pending", 0),
        "nothing is left claimed"
    );
    // Given back, it must not also go on running here: once its time is up, it has
    // left no trace (another process may now claim it).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(runs_of(&pool, id).await, 0, "the abandoned run was stopped");
}

#[tokio::test]
async fn recurring_jobs_are_queued_once_however_many_processes_ask() {
    let pool = fresh_database().await;
    let (a, b) = tokio::join!(
        jobs::maintenance::schedule_recurring(&pool),
        jobs::maintenance::schedule_recurring(&pool)
    );
    a.unwrap();
    b.unwrap();
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'delete_expired_sessions' AND state = 'pending'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(pending, 1);
    // Running it queues the next hour's run.
    let runner = cohort::job_types::cohort_runner(pool.clone(), 1, Default::default());
    // This and the daily extension of recurring meetups, queued the same way.
    assert_eq!(runner.run_pending().await.unwrap(), 2);
    let next: chrono::DateTime<Utc> = sqlx::query_scalar(
        "SELECT run_at FROM jobs WHERE kind = 'delete_expired_sessions' AND state = 'pending'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(next > Utc::now() + chrono::Duration::minutes(59));
}

#[tokio::test]
async fn a_recurring_job_that_failed_for_good_is_queued_again_within_the_hour() {
    let pool = fresh_database().await;
    jobs::maintenance::schedule_recurring(&pool).await.unwrap();
    // Its every attempt failed (the database away for a while): nothing is pending, and
    // it queues its next run only when a run succeeds.
    sqlx::query("UPDATE jobs SET state = 'failed' WHERE kind = 'delete_expired_sessions'")
        .execute(&pool)
        .await
        .unwrap();
    // Every process that runs jobs queues it again, each round (an hour in `cohort`).
    let keeper = jobs::maintenance::keep_recurring(pool.clone(), Duration::from_millis(200));
    wait_until(
        &pool,
        "SELECT count(*) FROM jobs WHERE kind = 'delete_expired_sessions' AND state = 'pending'",
        1,
        Duration::from_secs(10),
    )
    .await;
    // And only once, however many rounds pass.
    tokio::time::sleep(Duration::from_millis(600)).await;
    keeper.abort();
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind IN ('delete_expired_sessions', 'extend_series', 'nightly_recompute') AND state = 'pending'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(pending, 3, "one pending run of each recurring job");
}

#[tokio::test]
async fn an_admin_cancels_a_pending_job() {
    let pool = queue_db().await;
    let id = Record { n: 1 }
        .enqueue(&mut pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(jobs::cancel(&pool, id).await.unwrap());
    assert_eq!(runner(&pool, "t", 1).run_pending().await.unwrap(), 0);
    assert_eq!(state_of(&pool, id).await.0, "cancelled");
}

#[tokio::test]
async fn metrics_count_jobs_per_queue_and_state() {
    let app = crate::helpers::TestApp::spawn().await;
    Record { n: 1 }
        .enqueue(&mut app.pool.acquire().await.unwrap())
        .await
        .unwrap();
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE cohort_jobs gauge"), "{text}");
    assert!(
        text.contains("cohort_jobs{queue=\"test\",state=\"pending\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("cohort_jobs{queue=\"test\",state=\"failed\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("cohort_jobs_oldest_due_seconds{queue=\"test\"}"),
        "{text}"
    );
}

/// The worker process of the SIGKILL test: this test binary, started again to run only
/// this (ignored) test, which serves jobs until it is killed.
#[tokio::test]
#[ignore = "run as a child process by a_worker_process_killed_mid_job_hands_its_job_on"]
async fn worker_process_for_the_kill_test() {
    let Ok(database) = std::env::var("COHORT_KILL_TEST_DATABASE") else {
        return;
    };
    let server = crate::helpers::server().await;
    let pool = cohort::db::pool_options(4)
        .connect_with(server.database(&database))
        .await
        .unwrap();
    let _handle = runner(&pool, "doomed", 1).start();
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn a_worker_process_killed_mid_job_hands_its_job_on() {
    let pool = queue_db().await;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let id = Slow { millis: 30_000 }
        .enqueue(&mut pool.acquire().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "jobs::worker_process_for_the_kill_test",
            "--ignored",
            "--nocapture",
        ])
        .env("COHORT_KILL_TEST_DATABASE", &database)
        .env("COHORT_TEST_SERVER", crate::helpers::server_url().await)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        &pool,
        "SELECT count(*) FROM jobs WHERE state = 'running' AND locked_by LIKE 'doomed-%'",
        1,
        Duration::from_secs(60),
    )
    .await;
    child.kill().unwrap(); // SIGKILL: no clean-up, no release
    child.wait().unwrap();
    assert_eq!(
        state_of(&pool, id).await.0,
        "running",
        "still claimed by the dead worker"
    );

    // Another runner gives it back once the 3 s lease has run out, then runs it.
    let survivor = runner(&pool, "survivor", 1);
    let started = Instant::now();
    assert_eq!(
        survivor.reap_expired_leases().await.unwrap(),
        0,
        "not before the lease expires"
    );
    loop {
        if survivor.reap_expired_leases().await.unwrap() == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sqlx::query("UPDATE jobs SET payload = '{\"millis\": 10}' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(survivor.run_pending().await.unwrap(), 1);
    let (state, attempts, error) = state_of(&pool, id).await;
    assert_eq!((state.as_str(), attempts), ("succeeded", 2));
    assert!(error.unwrap().contains("stopped renewing its lease"));
}
