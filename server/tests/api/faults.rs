//! The pipeline under faults, with a real `cohort worker` process: killed (SIGKILL) in
//! the middle of a large CSV import, twice; and PostgreSQL stopped and started while its
//! jobs run. After recovery every landed line has exactly one outcome, every observation
//! is stored once, and the daily values, tested pairs and insights equal those of the
//! same import run without a fault.

use crate::helpers::{server_url, temp_dir, Clusters, TestApp};
use crate::imports::{start, upload};
use chrono::{TimeDelta, Utc};
use cohort::pg::{ClusterOptions, EmbeddedPostgres};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sqlx::PgPool;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Days in the file.
const DAYS: i64 = 400;

/// A member's log over [`DAYS`] days, long format: steps every hour, sleep and mood once
/// a day (mood follows the previous day's steps, so there is an insight to find), a
/// line every 40 days that is refused and one every 50 that repeats the line before it.
fn big_csv() -> String {
    let mut csv = String::from("Date,Metric,Value,Unit,Note\n");
    let first = Utc::now().date_naive() - TimeDelta::days(DAYS);
    let level = |d: i64| (d * 37) % 11;
    for d in 0..DAYS {
        let day = first + TimeDelta::days(d);
        for hour in 0..24 {
            let steps = 100 + level(d) * 60 + hour;
            csv.push_str(&format!("{day} {hour:02}:15,steps,{steps},,\n"));
        }
        csv.push_str(&format!(
            "{day} 07:00,sleep,{}:{:02},,\n",
            6 + d % 3,
            (d * 13) % 60
        ));
        let mood = format!(
            "{day} 21:00,mood,{:.1},,#evening\n",
            1.0 + level(d - 1) as f64 * 0.8
        );
        csv.push_str(&mood);
        if d % 50 == 0 {
            csv.push_str(&mood);
        }
        if d % 40 == 0 {
            csv.push_str(&format!("{day} 12:00,steps,lots,,\n"));
        }
    }
    csv
}

/// Uploads and starts the import as a member would; the jobs are left to a worker.
async fn import(app: &TestApp) -> i64 {
    let (client, user) = app
        .member_in_zone("faults@example.org", "Fay", "America/Los_Angeles")
        .await;
    let location = upload(app, &client, "two-years.csv", big_csv().into_bytes()).await;
    let id = location.strip_prefix("/track/import/").unwrap();
    start(app, &client, id, &[]).await;
    user
}

/// A `cohort worker` process; killed (SIGKILL) when dropped.
pub(crate) struct Worker(Child);

impl Worker {
    fn spawn(database_url: &str) -> Worker {
        Worker::spawn_with(database_url, &[])
    }

    /// A worker with more flags.
    pub(crate) fn spawn_with(database_url: &str, flags: &[&str]) -> Worker {
        let child = Command::new(env!("CARGO_BIN_EXE_cohort"))
            .args([
                "worker",
                "--workers",
                "2",
                "--job-lease",
                "2",
                "--database-url",
            ])
            .arg(database_url)
            .args(flags)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting cohort worker");
        Worker(child)
    }

    fn kill(mut self) {
        self.0.kill().unwrap(); // SIGKILL: no cleanup at all
        self.0.wait().unwrap();
    }

    pub(crate) fn stop(mut self) {
        kill(Pid::from_raw(self.0.id() as i32), Signal::SIGTERM).unwrap();
        let status = self.0.wait().unwrap();
        assert!(status.success(), "cohort worker exited with {status}");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// How far the import has come: lines landed, landed lines with an outcome, whether
/// the import job and every pipeline job after it are done.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Progress {
    landed: i64,
    decided: i64,
    done: bool,
}

async fn progress(pool: &PgPool, user: i64) -> Result<Progress, sqlx::Error> {
    let (landed, decided, busy, imported): (i64, i64, i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM raw_observations WHERE user_id = $1),
                (SELECT count(*) FROM raw_outcomes WHERE user_id = $1),
                (SELECT count(*) FROM jobs
                  WHERE state IN ('pending', 'running')
                    AND kind IN ('import_file', 'distill', 'index', 'compute')),
                (SELECT bool_and(status = 'done') FROM imports WHERE user_id = $1)",
    )
    .bind(user)
    .fetch_one(pool)
    .await?;
    Ok(Progress {
        landed,
        decided,
        done: busy == 0 && imported && landed == decided,
    })
}

/// Waits (up to two minutes) until `ready` holds; PostgreSQL errors (while it restarts)
/// count as "not yet".
async fn wait_for(
    pool: &PgPool,
    user: i64,
    what: &str,
    ready: impl Fn(Progress) -> bool,
) -> Progress {
    let started = Instant::now();
    loop {
        if let Ok(now) = progress(pool, user).await {
            if ready(now) {
                return now;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "waited two minutes for {what}: {now:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What the import left, to compare between runs: every observation, every landed
/// line's outcome, the daily values, the tested pairs and the insights.
#[derive(Debug, PartialEq)]
struct Results {
    observations: Vec<(String, String, String, String)>,
    outcomes: Vec<(bool, String, i64)>,
    daily: Vec<(String, String, String, i32)>,
    tests: Vec<(String, String, i16, i32, String, String)>,
    insights: Vec<(String, String)>,
}

async fn results(pool: &PgPool, user: i64) -> Results {
    let observations = sqlx::query_as(
        "SELECT m.key, o.observed_at::text, round(o.value::numeric, 9)::text, o.note
           FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1 ORDER BY 1, 2, 3",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap();
    // Per distinct outcome: how many lines had it (every line exactly one: raw_id is
    // the key of raw_outcomes; the counts must match the clean run's).
    let outcomes = sqlx::query_as(
        "SELECT accepted, reason, count(*) FROM raw_outcomes WHERE user_id = $1
          GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap();
    let daily = sqlx::query_as(
        "SELECT m.key, d.day::text, round(d.value::numeric, 9)::text, d.count
           FROM daily_values d JOIN metrics m ON m.id = d.metric_id
          WHERE d.user_id = $1 ORDER BY 1, 2",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap();
    let tests = sqlx::query_as(
        "SELECT a, b, lag_days, n, round(pearson_r::numeric, 9)::text, round(q::numeric, 9)::text
           FROM pair_tests WHERE user_id = $1 ORDER BY 1, 2, 3",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap();
    let insights =
        sqlx::query_as("SELECT subject, sentence FROM insights WHERE user_id = $1 ORDER BY 1")
            .bind(user)
            .fetch_all(pool)
            .await
            .unwrap();
    Results {
        observations,
        outcomes,
        daily,
        tests,
        insights,
    }
}

/// The same import with no fault: the jobs run in this process until none is left.
async fn clean_run() -> Results {
    let app = TestApp::spawn().await;
    let user = import(&app).await;
    while app.run_jobs().await > 0 {}
    let done = progress(&app.pool, user).await.unwrap();
    assert!(done.done, "{done:?}");
    let results = results(&app.pool, user).await;
    assert!(
        results.observations.len() > 10_000,
        "{}",
        results.observations.len()
    );
    assert!(
        results
            .insights
            .iter()
            .any(|(subject, _)| subject.contains("steps") && subject.contains("mood")),
        "the planted relation is found: {:?}",
        results.insights
    );
    results
}

/// The URL of the database a test app runs on, for the worker process.
pub(crate) async fn database_url(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut url = reqwest::Url::parse(&server_url().await).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

#[tokio::test]
async fn a_worker_killed_twice_in_a_large_import_loses_and_doubles_nothing() {
    let expected = clean_run().await;
    let app = TestApp::spawn().await;
    let user = import(&app).await;
    let url = database_url(&app.pool).await;

    // Killed while the file is being read and landed.
    let worker = Worker::spawn(&url);
    let first = wait_for(&app.pool, user, "the first landed lines", |p| p.landed > 0).await;
    worker.kill();
    let after_first = progress(&app.pool, user).await.unwrap();
    assert!(!after_first.done, "the kill came too late: {first:?}");

    // Killed again while the landed lines are being distilled.
    let worker = Worker::spawn(&url);
    wait_for(&app.pool, user, "more lines decided", |p| {
        p.decided > after_first.decided
    })
    .await;
    worker.kill();
    let after_second = progress(&app.pool, user).await.unwrap();

    // A third worker picks up what the killed ones held (once their lease ran out).
    let worker = Worker::spawn(&url);
    wait_for(&app.pool, user, "the import and its pipeline", |p| p.done).await;
    worker.stop();
    println!("killed at {after_first:?} and at {after_second:?}");
    assert_eq!(results(&app.pool, user).await, expected);
}

/// `cohort serve` with its job workers (a short lease) on `url`.
async fn server_with_workers(dir: &std::path::Path, url: &str) -> crate::binary::Served {
    let site = dir.join("site");
    let flags: Vec<&std::ffi::OsStr> = vec![
        "--no-demo".as_ref(),
        "--job-lease".as_ref(),
        "2".as_ref(),
        "--database-url".as_ref(),
        url.as_ref(),
        "--site-root".as_ref(),
        site.as_os_str(),
    ];
    crate::binary::serve_by(Command::new(env!("CARGO_BIN_EXE_cohort")), dir, &flags)
        .await
        .0
}

#[tokio::test]
async fn a_server_killed_in_a_large_import_loses_and_doubles_nothing() {
    let expected = clean_run().await;
    let app = TestApp::spawn().await;
    let user = import(&app).await;
    let url = database_url(&app.pool).await;
    let dir = temp_dir("cohort-test-serve-kill-");

    // The import's jobs run in a `cohort serve`, killed (SIGKILL) in the middle.
    let mut served = server_with_workers(&dir, &url).await;
    let first = wait_for(&app.pool, user, "the first landed lines", |p| p.landed > 0).await;
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    let after_kill = progress(&app.pool, user).await.unwrap();
    assert!(!after_kill.done, "the kill came too late: {first:?}");

    // The server started again finishes it (once the killed one's lease ran out).
    let served = server_with_workers(&dir, &url).await;
    wait_for(&app.pool, user, "the import and its pipeline", |p| p.done).await;
    crate::binary::stop(served).await;
    println!("killed at {after_kill:?}");
    assert_eq!(results(&app.pool, user).await, expected);
    std::fs::remove_dir_all(&dir).ok();
}

/// What a member's requests met while PostgreSQL went away: (quick-log key, status), and
/// the statuses of page loads.
#[derive(Default)]
struct Traffic {
    logs: Vec<(String, u16)>,
    pages: Vec<u16>,
}

/// A member logging a value and loading the home page every 20 ms until `stop`.
fn traffic(
    address: String,
    client: reqwest::Client,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Traffic> {
    tokio::spawn(async move {
        let mut seen = Traffic::default();
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            n += 1;
            let key = format!("outage-{n}");
            let logged = client
                .post(format!("{address}/api/log_entry"))
                .header("Origin", &address)
                .header("Accept", "application/json")
                .form(&[("metric", "mood"), ("value", "6"), ("key", &key)])
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            seen.logs.push((key, logged));
            let page = client
                .get(format!("{address}/"))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            seen.pages.push(page);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_started_under_load_loses_and_doubles_nothing() {
    let expected = clean_run().await;
    let dir = temp_dir("cohort-test-pg-restart-");
    let cluster = EmbeddedPostgres::start(ClusterOptions::new(&dir).for_tests())
        .await
        .unwrap();
    let pool = cohort::db::pool_options(5)
        .connect_with(cluster.connect_options())
        .await
        .unwrap();
    // Stopped and removed however the test ends.
    let clusters = Clusters(vec![(cluster, dir)]);
    let cluster = &clusters.0[0].0;
    cohort::db::migrate(&pool).await.unwrap();
    let app = TestApp::spawn_on(pool.clone()).await;
    let user = import(&app).await;
    // A second member keeps logging and reading pages throughout.
    let (logger, logger_id) = app
        .member_in_zone("logger@example.org", "Lou", "America/Los_Angeles")
        .await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = traffic(app.address.clone(), logger, stop.clone());

    let worker = Worker::spawn(&cluster.url(cohort::pg::DATABASE));
    wait_for(&pool, user, "the first landed lines", |p| p.landed > 0).await;
    cluster.stop().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(cluster.ensure_running().await.unwrap(), "started again");
    let after_restart = wait_for(&pool, user, "the cluster back", |_| true).await;
    assert!(!after_restart.done, "the restart came too late");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = load.await.unwrap();

    wait_for(&pool, user, "the import and its pipeline", |p| p.done).await;
    worker.stop();
    assert_eq!(results(&pool, user).await, expected);

    // The member's requests: answered (200) before and after, 503 while the database
    // was away (never a 500, a crash or a hung request), and a quick log answered as
    // stored is stored once; one refused is stored at most once.
    let statuses: std::collections::BTreeSet<u16> = seen
        .logs
        .iter()
        .map(|(_, status)| *status)
        .chain(seen.pages.iter().copied())
        .collect();
    println!(
        "{} quick logs and {} pages during the restart; statuses {statuses:?}",
        seen.logs.len(),
        seen.pages.len()
    );
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "answered, or 503 while the database was away: {statuses:?}"
    );
    assert!(statuses.len() > 1, "the outage was seen: {statuses:?}");
    assert_eq!(seen.logs.last().unwrap().1, 200, "answered again after it");
    assert_eq!(*seen.pages.last().unwrap(), 200, "pages again after it");
    let stored: std::collections::HashMap<String, i64> = sqlx::query_as(
        "SELECT idempotency_key, count(*) FROM raw_observations WHERE user_id = $1 GROUP BY 1",
    )
    .bind(logger_id)
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    for (key, status) in &seen.logs {
        // The quick log keys an entry by the key the form sent and the metric.
        let copies = stored.get(&format!("{key}:mood")).copied().unwrap_or(0);
        if *status == 200 {
            assert_eq!(copies, 1, "{key} was answered as stored");
        } else {
            assert!(copies <= 1, "{key} stored {copies} times");
        }
    }

    drop(app);
    pool.close().await;
    drop(clusters);
}
