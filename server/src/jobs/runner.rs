//! Workers: claim, run, heartbeat, retry, and give back what a dead worker held.

use super::{backoff, Clock, JobContext, Run, Services, SystemClock, CHANNEL};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

type BoxFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;
type Handler = Arc<dyn Fn(serde_json::Value, JobContext) -> BoxFuture + Send + Sync>;

/// Where a job goes when a run ends without success (it failed, or its worker vanished):
/// out of attempts, `failed` (kept with its error); otherwise `pending` again, unless an
/// identical job was enqueued meanwhile, which then does the work (`cancelled`).
const NEXT_STATE: &str = "CASE
        WHEN attempts >= max_attempts THEN 'failed'::job_state
        WHEN dedupe_key IS NOT NULL AND EXISTS (
            SELECT 1 FROM jobs twin WHERE twin.kind = jobs.kind
               AND twin.dedupe_key = jobs.dedupe_key AND twin.state = 'pending')
            THEN 'cancelled'::job_state
        ELSE 'pending'::job_state END";

/// Longest a worker sleeps without a notification: a safety net for a lost NOTIFY
/// (while the listener reconnects), not the way work is found.
const MAX_IDLE: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// Queues this runner takes work from.
    pub queues: Vec<String>,
    /// Jobs run at once.
    pub workers: usize,
    /// How long a claim holds without a heartbeat; heartbeats come three times per lease.
    pub lease: Duration,
    /// Names this process's workers in `jobs.locked_by`.
    pub name: String,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            queues: vec!["default".into()],
            workers: 2,
            lease: Duration::from_secs(30),
            name: format!("cohort-{}", std::process::id()),
        }
    }
}

/// Runs the registered kinds of job from the database.
#[derive(Clone)]
pub struct Runner {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    options: RunnerOptions,
    handlers: Arc<HashMap<&'static str, (Handler, Duration)>>,
    services: Arc<Services>,
}

struct Claimed {
    id: i64,
    kind: String,
    payload: serde_json::Value,
    attempts: i32,
}

impl Runner {
    pub fn new(pool: PgPool) -> Self {
        Runner {
            pool,
            clock: Arc::new(SystemClock),
            options: RunnerOptions::default(),
            handlers: Arc::default(),
            services: Arc::default(),
        }
    }

    /// What the jobs reach outside the database with (mail, the public address).
    pub fn with_services(mut self, services: Arc<Services>) -> Self {
        self.services = services;
        self
    }

    pub fn with_options(mut self, options: RunnerOptions) -> Self {
        self.options = options;
        self
    }

    /// How long a claim holds without a heartbeat: how soon the jobs of a killed worker
    /// run again elsewhere.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.options.lease = lease;
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn register<J: Run>(mut self) -> Self {
        let handler: Handler = Arc::new(|payload, context| {
            Box::pin(async move {
                let job: J =
                    serde_json::from_value(payload).context("reading the job's payload")?;
                job.run(context).await
            })
        });
        Arc::make_mut(&mut self.handlers).insert(J::KIND, (handler, J::BACKOFF));
        self
    }

    fn kinds(&self) -> Vec<String> {
        self.handlers.keys().map(|kind| kind.to_string()).collect()
    }

    /// Runs every job that is due now, one after another, until none is left; returns
    /// how many ran. For tests and one-off commands.
    pub async fn run_pending(&self) -> Result<usize> {
        self.reap_expired_leases().await?;
        let worker = format!("{}-sync", self.options.name);
        let mut ran = 0;
        while let Some(job) = self.claim(&worker).await? {
            self.execute(&worker, job).await?;
            ran += 1;
        }
        Ok(ran)
    }

    async fn claim(&self, worker: &str) -> Result<Option<Claimed>> {
        let now = self.clock.now();
        let lease_until = now + self.options.lease;
        let row: Option<(i64, String, serde_json::Value, i32)> = sqlx::query_as(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1,
                    lease_until = $2, updated_at = now()
              WHERE id = (SELECT id FROM jobs
                           WHERE state = 'pending' AND run_at <= $3 AND queue = ANY($4) AND kind = ANY($5)
                           ORDER BY run_at, id
                           LIMIT 1
                           FOR UPDATE SKIP LOCKED)
             RETURNING id, kind, payload, attempts",
        )
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .bind(&self.options.queues)
        .bind(self.kinds())
        .fetch_optional(&self.pool)
        .await
        .context("claiming a job")?;
        Ok(row.map(|(id, kind, payload, attempts)| Claimed {
            id,
            kind,
            payload,
            attempts,
        }))
    }

    #[tracing::instrument(skip_all, fields(job.id = job.id, job.kind = %job.kind, job.attempt = job.attempts))]
    async fn execute(&self, worker: &str, job: Claimed) -> Result<()> {
        let Some((handler, base_backoff)) = self.handlers.get(job.kind.as_str()).cloned() else {
            return Ok(()); // not claimable: claims filter by kind
        };
        let context = JobContext {
            id: job.id,
            attempt: job.attempts,
            pool: self.pool.clone(),
            services: self.services.clone(),
        };
        let heartbeat = tokio::spawn(heartbeat(
            self.pool.clone(),
            self.clock.clone(),
            job.id,
            worker.to_string(),
            self.options.lease,
        ));
        // A panicking job fails like an erroring one instead of taking the worker down.
        let outcome = tokio::spawn(handler(job.payload, context)).await;
        heartbeat.abort();
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("{error:#}")),
            Err(join_error) => Some(format!("the job panicked: {join_error}")),
        };
        let now = self.clock.now();
        match error {
            None => {
                sqlx::query(
                    "UPDATE jobs SET state = 'succeeded', finished_at = $3, lease_until = NULL, updated_at = now()
                      WHERE id = $1 AND locked_by = $2",
                )
                .bind(job.id)
                .bind(worker)
                .bind(now)
                .execute(&self.pool)
                .await
                .context("marking a job done")?;
            }
            Some(error) => {
                tracing::warn!(%error, "job failed");
                let retry_at = now + backoff(base_backoff, job.attempts);
                sqlx::query(
                    &format!(
                        "UPDATE jobs SET state = {NEXT_STATE},
                            finished_at = CASE WHEN attempts >= max_attempts THEN $5 END,
                            run_at = $3, last_error = $4, locked_by = NULL, lease_until = NULL, updated_at = now()
                          WHERE id = $1 AND locked_by = $2"
                    ),
                )
                .bind(job.id)
                .bind(worker)
                .bind(retry_at)
                .bind(&error)
                .bind(now)
                .execute(&self.pool)
                .await
                .context("recording a job's failure")?;
            }
        }
        Ok(())
    }

    /// Gives back the jobs of workers that stopped renewing their lease (killed, or cut
    /// off from the database). Every runner does this; it is idempotent.
    pub async fn reap_expired_leases(&self) -> Result<u64> {
        let now = self.clock.now();
        let reaped = sqlx::query(
            &format!(
                "UPDATE jobs SET state = {NEXT_STATE},
                    last_error = 'the worker stopped renewing its lease (killed or cut off); run again',
                    run_at = $1, locked_by = NULL, lease_until = NULL, updated_at = now()
                  WHERE state = 'running' AND lease_until < $1"
            ),
        )
        .bind(now)
        .execute(&self.pool)
        .await
        .context("reaping expired leases")?;
        if reaped.rows_affected() > 0 {
            tracing::warn!(
                jobs = reaped.rows_affected(),
                "gave back the jobs of workers whose lease expired"
            );
        }
        Ok(reaped.rows_affected())
    }

    /// When the next job this runner could take becomes due.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        sqlx::query_scalar(
            "SELECT min(run_at) FROM jobs WHERE state = 'pending' AND queue = ANY($1) AND kind = ANY($2)",
        )
        .bind(&self.options.queues)
        .bind(self.kinds())
        .fetch_one(&self.pool)
        .await
        .context("looking for the next due job")
    }

    /// Starts the workers, the listener and the lease reaper in the background.
    pub fn start(self) -> RunnerHandle {
        let (stop, stopped) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(listen(
            self.pool.clone(),
            wake.clone(),
            stopped.clone(),
        )));
        let reaper = self.clone();
        let reaper_wake = wake.clone();
        let mut reaper_stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let mut interval = tokio::time::interval(reaper.options.lease / 2);
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        if let Err(error) = reaper.reap_expired_leases().await {
                            tracing::warn!(error = %format!("{error:#}"), "lease reaper");
                        }
                        // Given-back jobs are pending again (the trigger notifies too).
                        reaper_wake.notify_waiters();
                    }
                    _ = reaper_stopped.changed() => break,
                }
            }
        }));
        let mut workers = Vec::new();
        for index in 0..self.options.workers.max(1) {
            let runner = self.clone();
            let name = format!("{}-{index}", self.options.name);
            workers.push(tokio::spawn(work(
                runner,
                name,
                wake.clone(),
                stopped.clone(),
            )));
        }
        tracing::info!(workers = self.options.workers, queues = ?self.options.queues, "job runner started");
        RunnerHandle {
            stop,
            tasks,
            workers,
            pool: self.pool.clone(),
            name: self.options.name.clone(),
        }
    }
}

async fn heartbeat(pool: PgPool, clock: Arc<dyn Clock>, id: i64, worker: String, lease: Duration) {
    let mut interval = tokio::time::interval(lease / 3);
    interval.tick().await;
    loop {
        interval.tick().await;
        let renewed = sqlx::query("UPDATE jobs SET lease_until = $3 WHERE id = $1 AND locked_by = $2 AND state = 'running'")
            .bind(id)
            .bind(&worker)
            .bind(clock.now() + lease)
            .execute(&pool)
            .await;
        if let Err(error) = renewed {
            tracing::warn!(%error, job.id = id, "could not renew a job's lease");
        }
    }
}

/// Wakes the workers whenever the queue's trigger notifies; reconnects when cut off.
async fn listen(pool: PgPool, wake: Arc<Notify>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            Err(error) = listen_once(&pool, &wake) => {
                tracing::warn!(%error, "job listener lost its connection; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ = stopped.changed() => return,
        }
    }
}

async fn listen_once(pool: &PgPool, wake: &Notify) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Anything enqueued while we were not listening is found by a fresh look.
    wake.notify_waiters();
    loop {
        listener.recv().await?;
        wake.notify_waiters();
    }
}

async fn work(runner: Runner, name: String, wake: Arc<Notify>, mut stopped: watch::Receiver<bool>) {
    loop {
        if *stopped.borrow() {
            return;
        }
        // Register for a wake-up before looking, so a NOTIFY in between is not lost.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match runner.claim(&name).await {
            Ok(Some(job)) => {
                if let Err(error) = runner.execute(&name, job).await {
                    tracing::error!(error = %format!("{error:#}"), "job bookkeeping failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "could not claim a job");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        let idle = match runner.next_due().await {
            Ok(Some(due)) => (due - runner.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_IDLE),
            _ => MAX_IDLE,
        };
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(idle) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// The running workers; `shutdown` stops them gracefully.
pub struct RunnerHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    pool: PgPool,
    name: String,
}

impl RunnerHandle {
    /// Lets running jobs finish (up to `grace`), then gives back whatever is still
    /// claimed by this runner so that another process can run it at once.
    pub async fn shutdown(self, grace: Duration) -> Result<()> {
        let _ = self.stop.send(true);
        let aborts: Vec<_> = self.workers.iter().map(JoinHandle::abort_handle).collect();
        let finish = futures_join_all(self.workers);
        if tokio::time::timeout(grace, finish).await.is_err() {
            tracing::warn!("jobs still running after the grace period; giving them back");
            for abort in aborts {
                abort.abort();
            }
        }
        for task in self.tasks {
            task.abort();
        }
        let released = sqlx::query(
            "UPDATE jobs SET state = 'pending', attempts = greatest(attempts - 1, 0), locked_by = NULL,
                    lease_until = NULL, run_at = now(), updated_at = now()
              WHERE state = 'running' AND locked_by LIKE $1 || '-%'",
        )
        .bind(&self.name)
        .execute(&self.pool)
        .await
        .context("giving back claimed jobs")?;
        tracing::info!(released = released.rows_affected(), "job runner stopped");
        Ok(())
    }
}

async fn futures_join_all(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        let _ = handle.await;
    }
}
