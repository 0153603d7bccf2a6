//! Workers: claim, run, heartbeat, retry, and give back what a dead worker held.

use super::{backoff, Clock, JobContext, Run, Services, SystemClock, CHANNEL};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
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
            name: unique_name(),
        }
    }
}

/// `cohort-<pid>-<random>`: unique among every process on one database, also where
/// process ids repeat (each container's process is often pid 1, and hosts reuse ids).
/// A runner hands back at shutdown only the jobs claimed under its own name.
fn unique_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    // A `RandomState` is seeded from the operating system's randomness.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("cohort-{}-{random:016x}", std::process::id())
}

/// Aborts a task when dropped (a no-op once it has finished).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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

/// A finished run, on its way to the database.
struct Done {
    id: i64,
    kind: String,
    attempts: i32,
    /// `None`: it succeeded.
    error: Option<String>,
}

/// Most jobs one claim takes, and most outcomes one write records.
const MAX_BATCH: usize = 500;

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
        while let Some(job) = self.claim(&worker, 1).await?.pop() {
            self.execute(&worker, job).await?;
            ran += 1;
        }
        Ok(ran)
    }

    /// Claims up to `limit` due jobs at once, oldest first, leased to `worker`.
    async fn claim(&self, worker: &str, limit: usize) -> Result<Vec<Claimed>> {
        let now = self.clock.now();
        let lease_until = now + self.options.lease;
        let rows: Vec<(i64, String, serde_json::Value, i32)> = sqlx::query_as(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1,
                    lease_until = $2, updated_at = now()
              WHERE id = ANY(ARRAY(SELECT id FROM jobs
                           WHERE state = 'pending' AND run_at <= $3 AND queue = ANY($4) AND kind = ANY($5)
                           ORDER BY run_at, id
                           LIMIT $6
                           FOR UPDATE SKIP LOCKED))
             RETURNING id, kind, payload, attempts",
        )
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .bind(&self.options.queues)
        .bind(self.kinds())
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .context("claiming jobs")?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, payload, attempts)| Claimed {
                id,
                kind,
                payload,
                attempts,
            })
            .collect())
    }

    /// Runs one claimed job; its error, if it failed (a panic counts as a failure).
    #[tracing::instrument(skip_all, fields(job.id = job.id, job.kind = %job.kind, job.attempt = job.attempts))]
    async fn run_job(&self, job: Claimed) -> Option<String> {
        let (handler, _) = self.handlers.get(job.kind.as_str()).cloned()?;
        let context = JobContext {
            id: job.id,
            attempt: job.attempts,
            pool: self.pool.clone(),
            services: self.services.clone(),
        };
        // A panicking job fails like an erroring one instead of taking the worker down.
        let task = tokio::spawn(handler(job.payload, context));
        // Dropping this run (a shutdown abandoning it) stops the job too.
        let _abort_if_dropped = AbortOnDrop(task.abort_handle());
        match task.await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("{error:#}")),
            Err(join_error) => Some(format!("the job panicked: {join_error}")),
        }
    }

    /// Marks these jobs, run by `worker`, done: one statement for all of them.
    async fn record_successes(&self, worker: &str, ids: &[i64]) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'succeeded', finished_at = $3, lease_until = NULL, updated_at = now()
              WHERE id = ANY($1) AND locked_by = $2 AND state = 'running'",
        )
        .bind(ids)
        .bind(worker)
        .bind(self.clock.now())
        .execute(&self.pool)
        .await
        .context("marking jobs done")?;
        Ok(())
    }

    /// Records a failed run: retried after its backoff, or failed for good.
    async fn record_failure(&self, worker: &str, done: &Done, error: &str) -> Result<()> {
        tracing::warn!(job.id = done.id, job.kind = %done.kind, %error, "job failed");
        let base = self
            .handlers
            .get(done.kind.as_str())
            .map_or(Duration::from_secs(10), |(_, backoff)| *backoff);
        let now = self.clock.now();
        let retry_at = now + backoff(base, done.attempts);
        sqlx::query(&format!(
            "UPDATE jobs SET state = {NEXT_STATE},
                finished_at = CASE WHEN attempts >= max_attempts THEN $5 END,
                run_at = $3, last_error = $4, locked_by = NULL, lease_until = NULL, updated_at = now()
              WHERE id = $1 AND locked_by = $2"
        ))
        .bind(done.id)
        .bind(worker)
        .bind(retry_at)
        .bind(error)
        .bind(now)
        .execute(&self.pool)
        .await
        .context("recording a job's failure")?;
        Ok(())
    }

    /// Runs one job and records how it went, there and then (the one-at-a-time path).
    async fn execute(&self, worker: &str, job: Claimed) -> Result<()> {
        let done = Done {
            id: job.id,
            kind: job.kind.clone(),
            attempts: job.attempts,
            error: None,
        };
        match self.run_job(job).await {
            None => self.record_successes(worker, &[done.id]).await,
            Some(error) => self.record_failure(worker, &done, &error).await,
        }
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
        // Set when the grace period is over: the jobs still running stop where they are.
        let (abandon, abandoned) = watch::channel(false);
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
        // One dispatcher claims as many due jobs as there are free workers, in one
        // statement, and runs each in a task of its own; a recorder writes their outcomes,
        // as many as have finished, in one statement; one heartbeat renews the leases of
        // every job this runner holds. A no-op job thus costs a share of two statements
        // instead of two statements of its own.
        let worker = format!("{}-r", self.options.name);
        let held: Held = Arc::default();
        let (done_tx, done_rx) = tokio::sync::mpsc::unbounded_channel();
        let recorder = tokio::spawn(record(self.clone(), worker.clone(), held.clone(), done_rx));
        let mut heartbeat_stopped = stopped.clone();
        let heartbeat_task = tokio::spawn({
            let runner = self.clone();
            let (worker, held) = (worker.clone(), held.clone());
            async move {
                tokio::select! {
                    _ = heartbeat(runner, worker, held) => {}
                    _ = heartbeat_stopped.changed() => {}
                }
            }
        });
        tasks.push(heartbeat_task);
        let slots = Arc::new(tokio::sync::Semaphore::new(self.options.workers.max(1)));
        let dispatcher = tokio::spawn(dispatch(
            self.clone(),
            worker,
            held,
            slots.clone(),
            done_tx,
            wake.clone(),
            // Claim no more; stop what still runs (after the grace period).
            (stopped.clone(), abandoned),
        ));
        tracing::info!(workers = self.options.workers, queues = ?self.options.queues, "job runner started");
        RunnerHandle {
            stop,
            abandon,
            tasks,
            dispatcher,
            recorder,
            slots,
            workers: self.options.workers.max(1),
            pool: self.pool.clone(),
            name: self.options.name.clone(),
        }
    }
}

/// The jobs this runner has claimed and not yet recorded.
type Held = Arc<std::sync::Mutex<HashSet<i64>>>;

fn held_ids(held: &Held) -> Vec<i64> {
    held.lock()
        .map(|ids| ids.iter().copied().collect())
        .unwrap_or_default()
}

/// Renews the lease of every job the runner holds, three times per lease.
async fn heartbeat(runner: Runner, worker: String, held: Held) {
    let lease = runner.options.lease;
    let mut interval = tokio::time::interval(lease / 3);
    interval.tick().await;
    loop {
        interval.tick().await;
        let ids = held_ids(&held);
        if ids.is_empty() {
            continue;
        }
        let renewed = sqlx::query(
            "UPDATE jobs SET lease_until = $3 WHERE id = ANY($1) AND locked_by = $2 AND state = 'running'",
        )
        .bind(&ids)
        .bind(&worker)
        .bind(runner.clock.now() + lease)
        .execute(&runner.pool)
        .await;
        if let Err(error) = renewed {
            tracing::warn!(%error, jobs = ids.len(), "could not renew the jobs' leases");
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

/// Claims due jobs for the free workers and starts them; sleeps until a NOTIFY, the next
/// scheduled job or a free worker when there is nothing to claim.
async fn dispatch(
    runner: Runner,
    worker: String,
    held: Held,
    slots: Arc<tokio::sync::Semaphore>,
    done: tokio::sync::mpsc::UnboundedSender<Done>,
    wake: Arc<Notify>,
    (mut stopped, abandoned): (watch::Receiver<bool>, watch::Receiver<bool>),
) {
    loop {
        if *stopped.borrow() {
            return;
        }
        // At least one free worker, then every other free one.
        let first = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = stopped.changed() => return,
        };
        let mut permits = vec![first];
        while permits.len() < MAX_BATCH {
            match slots.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        // Register for a wake-up before looking, so a NOTIFY in between is not lost.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let claimed = match runner.claim(&worker, permits.len()).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "could not claim jobs");
                drop(permits);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Ok(mut ids) = held.lock() {
            ids.extend(claimed.iter().map(|job| job.id));
        }
        let found = claimed.len();
        for job in claimed {
            let Some(permit) = permits.pop() else { break };
            let (runner, done) = (runner.clone(), done.clone());
            let mut abandoned = abandoned.clone();
            tokio::spawn(async move {
                let (id, kind, attempts) = (job.id, job.kind.clone(), job.attempts);
                let error = tokio::select! {
                    error = runner.run_job(job) => error,
                    // Given back by the shutdown: no outcome to record (the permit goes
                    // with this task).
                    _ = abandoned_now(&mut abandoned) => return,
                };
                // The worker is free once the outcome is queued for the recorder.
                let _ = done.send(Done {
                    id,
                    kind,
                    attempts,
                    error,
                });
                drop(permit);
            });
        }
        drop(permits);
        if found > 0 {
            continue;
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

/// Writes finished runs: every success that has arrived in one statement, each failure
/// with its retry. Ends when every sender is gone and all is written.
async fn record(
    runner: Runner,
    worker: String,
    held: Held,
    mut done: tokio::sync::mpsc::UnboundedReceiver<Done>,
) {
    let mut batch = Vec::new();
    while done.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (successes, failures): (Vec<Done>, Vec<Done>) =
            batch.drain(..).partition(|d| d.error.is_none());
        let ids: Vec<i64> = successes.iter().map(|d| d.id).collect();
        // Bookkeeping must land: retried until the database takes it (a job whose
        // outcome is lost would run again after its lease).
        let mut delay = Duration::from_millis(100);
        while !ids.is_empty() {
            match runner.record_successes(&worker, &ids).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "could not record finished jobs; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        for failure in &failures {
            let error = failure.error.as_deref().unwrap_or_default();
            if let Err(error) = runner.record_failure(&worker, failure, error).await {
                tracing::error!(error = %format!("{error:#}"), "job bookkeeping failed");
            }
        }
        if let Ok(mut held) = held.lock() {
            for id in ids.iter().chain(failures.iter().map(|f| &f.id)) {
                held.remove(id);
            }
        }
    }
}

/// Resolves once the shutdown abandons the jobs still running (never if the runner's
/// handle was dropped without a shutdown: its jobs then run on).
async fn abandoned_now(abandoned: &mut watch::Receiver<bool>) {
    if abandoned.wait_for(|&abandoned| abandoned).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The running workers; `shutdown` stops them gracefully.
pub struct RunnerHandle {
    stop: watch::Sender<bool>,
    abandon: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    dispatcher: JoinHandle<()>,
    recorder: JoinHandle<()>,
    /// Free workers: all of them once every running job has finished.
    slots: Arc<tokio::sync::Semaphore>,
    workers: usize,
    pool: PgPool,
    name: String,
}

impl RunnerHandle {
    /// Lets running jobs finish (up to `grace`) and records them, then stops the ones
    /// still running and gives back whatever is still claimed by this runner, so that
    /// another process can run it at once (and it never runs in two places). Code of a
    /// job inside `spawn_blocking` cannot be stopped; everything at an `.await` is.
    pub async fn shutdown(self, grace: Duration) -> Result<()> {
        let _ = self.stop.send(true);
        let _ = self.dispatcher.await;
        // Every worker free: every job finished and its outcome queued; then the
        // recorder ends once it has written them (the senders are gone).
        let finished = async {
            let _all = self.slots.acquire_many(self.workers as u32).await;
            let _ = self.recorder.await;
        };
        if tokio::time::timeout(grace, finished).await.is_err() {
            tracing::warn!(
                "jobs still running after the grace period; stopping them and giving them back"
            );
            let _ = self.abandon.send(true);
            // Each abandoned run frees its worker as it stops.
            let stopped = self.slots.acquire_many(self.workers as u32);
            let _ = tokio::time::timeout(Duration::from_secs(2), stopped).await;
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
