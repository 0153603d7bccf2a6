//! The job queue: Cohort's slow and scheduled work (e-mail, reminders, imports, the
//! pipeline stages) as rows in PostgreSQL, run by workers in any `cohort` process.
//!
//! Why our own runner: the maintained crates were weighed against what Cohort needs
//! (dedupe while pending, leases renewed by heartbeats, progress readable by the UI,
//! enqueue inside the caller's transaction, an admin retry, sqlx 0.8 on our pool).
//! graphile_worker has job keys, cron and LISTEN/NOTIFY, but recovers a crashed
//! worker's jobs only after a fixed four-hour lock timeout and has no progress;
//! apalis-postgres has no dedupe key; underway is young (0.x) and schedules tasks
//! differently from the per-job rows the admin page shows. This module is small
//! (one table, a few statements), modelled on crates.io's worker, and its tests run
//! against a real PostgreSQL. (Weighed from their documentation, not by trial.)
//!
//! How it works:
//! - `Job::enqueue` (`app::jobs`) inserts a row in the caller's transaction; a trigger NOTIFYs
//!   `cohort_jobs` at commit. A job type with a dedupe key is enqueued once while one
//!   is pending (a partial unique index), however often it is asked for.
//! - Workers claim with `FOR UPDATE SKIP LOCKED`, take a lease (`lease_until`) and
//!   renew it by heartbeats while they run. A worker that dies stops renewing; any
//!   runner puts its job back after the lease expires.
//! - A failed job is retried with exponential backoff up to its type's limit, then
//!   kept as `failed` with its error until an admin retries it.
//! - Workers sleep until a NOTIFY or the next scheduled `run_at`: no busy polling.
//!
//! This module knows no job type: `crate::job_types` registers them all, in one place.

pub mod maintenance;
mod runner;

pub use runner::{Runner, RunnerHandle, RunnerOptions};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The channel the queue's trigger notifies.
pub const CHANNEL: &str = "cohort_jobs";

/// Every job's declaration (kind, queue, retries, dedupe key) and its `enqueue`.
pub use app::jobs::Job;

/// How a kind of job runs. Jobs must be idempotent: after a crash a job may run again.
pub trait Run: Job {
    fn run(self, context: JobContext) -> impl Future<Output = Result<()>> + Send;
}

/// What a running job can do besides its work.
#[derive(Clone)]
pub struct JobContext {
    pub id: i64,
    /// 1 on the first run.
    pub attempt: i32,
    pub pool: PgPool,
    pub services: Arc<Services>,
}

/// What jobs need from the outside world: where to send e-mail and the address members
/// reach the site at (for links in e-mails and calendar files).
#[derive(Debug)]
pub struct Services {
    /// `None`: e-mails are kept in the outbox (/admin/outbox) instead of sent.
    pub mailer: Option<crate::mail::SmtpMailer>,
    /// Like `https://cohort.example.org`, without a trailing slash.
    pub public_url: String,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            mailer: None,
            public_url: "http://localhost:3000".into(),
        }
    }
}

impl JobContext {
    /// Reports how far the job is, for progress bars (percent 0 to 100).
    pub async fn progress(&self, percent: f32, message: &str) -> Result<()> {
        sqlx::query("UPDATE jobs SET progress_percent = $2, progress_message = $3, updated_at = now() WHERE id = $1")
            .bind(self.id)
            .bind(percent.clamp(0.0, 100.0))
            .bind(message)
            .execute(&self.pool)
            .await
            .context("reporting job progress")?;
        Ok(())
    }
}

/// The time jobs are scheduled by; tests move it by hand.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(time: DateTime<Utc>) -> Arc<Self> {
        Arc::new(ManualClock(AtomicI64::new(time.timestamp_micros())))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_micros() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

/// The delay before retry number `attempt` (1-based): base × 2^(attempt−1), at most a day.
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).clamp(0, 30) as u32);
    base.saturating_mul(factor).min(Duration::from_secs(86_400))
}

/// An admin's retry and cancel (the same code the /admin/jobs page calls).
pub use app::admin::ssr::{cancel, retry};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(10);
        assert_eq!(backoff(base, 1), Duration::from_secs(10));
        assert_eq!(backoff(base, 2), Duration::from_secs(20));
        assert_eq!(backoff(base, 4), Duration::from_secs(80));
        assert_eq!(backoff(base, 40), Duration::from_secs(86_400));
    }

    #[test]
    fn the_manual_clock_moves_only_when_told() {
        let start = Utc::now();
        let clock = ManualClock::at(start);
        assert_eq!(clock.now().timestamp_micros(), start.timestamp_micros());
        let before = clock.now();
        clock.advance(Duration::from_secs(60));
        assert_eq!((clock.now() - before).num_seconds(), 60);
    }
}
