//! Background work: the `Job` trait every kind of job implements (its kind, queue,
//! retry policy and dedupe key, written once) with `enqueue` as a default method, and
//! the payloads of the jobs that the meetup pages start.
//!
//! This module sits below every domain module, so a page, a pipeline stage or the server
//! enqueues a job by calling `job.enqueue(&mut tx)` in its own transaction. How a job
//! *runs* is the server's business (`server/src/jobs/`: the runner and its `Run` trait;
//! `server/src/job_types.rs` registers every kind in one place): running needs the mailer
//! and the templates, which the browser build never sees.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sqlx::PgConnection;
use std::future::Future;
use std::time::Duration;

/// A kind of job: its name, queue, retry policy and dedupe rule in one place.
/// Jobs must be idempotent: after a crash a job may run again.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored in `jobs.kind`; never rename one that may be queued.
    const KIND: &'static str;
    const QUEUE: &'static str = "default";
    /// Runs before the job is kept as failed.
    const MAX_ATTEMPTS: i32 = 5;
    /// First retry delay; each further retry doubles it.
    const BACKOFF: Duration = Duration::from_secs(10);

    /// Enqueueing again while one with this key is pending adds nothing.
    fn dedupe_key(&self) -> Option<String> {
        None
    }

    /// Adds the job, to run now, inside the caller's transaction (or on a pool
    /// connection). Returns its id, or `None` when a pending job with the same dedupe
    /// key was kept instead.
    fn enqueue(
        &self,
        conn: &mut PgConnection,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send {
        insert(conn, self, None, OnDuplicate::Keep)
    }

    /// Adds the job to run at `run_at` (now when `None`); a pending one with the same
    /// dedupe key is kept as it is.
    fn enqueue_at(
        &self,
        conn: &mut PgConnection,
        run_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send {
        insert(conn, self, run_at, OnDuplicate::Keep)
    }

    /// Adds the job to run at `run_at`, or moves the pending one with the same dedupe key
    /// there (a rescheduled reminder).
    fn schedule(
        &self,
        conn: &mut PgConnection,
        run_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send {
        insert(conn, self, Some(run_at), OnDuplicate::Reschedule)
    }
}

/// Takes the pending job of this kind and dedupe key off the queue, in the caller's
/// transaction, because the caller is doing that job's work now (a pipeline stage run
/// straight after the stage before it rather than after another wait in the queue). It
/// rolls back with the caller's work, so after a crash the job is still queued; a job a
/// worker already claimed is left alone. Returns whether one was taken.
pub async fn take_pending<J: Job>(conn: &mut PgConnection, job: &J) -> Result<bool, sqlx::Error> {
    let Some(key) = job.dedupe_key() else {
        return Ok(false);
    };
    let taken = sqlx::query(
        "UPDATE jobs SET state = 'cancelled', finished_at = now(), updated_at = now(),
                last_error = 'done straight after the stage before it'
          WHERE kind = $1 AND dedupe_key = $2 AND state = 'pending' AND run_at <= now()",
    )
    .bind(J::KIND)
    .bind(key)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(taken > 0)
}

/// How an enqueue treats a pending job with the same kind and dedupe key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnDuplicate {
    Keep,
    Reschedule,
}

/// The one statement that adds a job.
async fn insert<J: Job>(
    conn: &mut PgConnection,
    job: &J,
    run_at: Option<DateTime<Utc>>,
    on_duplicate: OnDuplicate,
) -> Result<Option<i64>, sqlx::Error> {
    let payload =
        serde_json::to_value(job).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let conflict = match on_duplicate {
        OnDuplicate::Keep => "DO NOTHING",
        OnDuplicate::Reschedule => "DO UPDATE SET run_at = EXCLUDED.run_at, updated_at = now()",
    };
    sqlx::query_scalar(&format!(
        "INSERT INTO jobs (kind, queue, payload, dedupe_key, max_attempts, run_at)
         VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))
         ON CONFLICT (kind, dedupe_key) WHERE dedupe_key IS NOT NULL AND state = 'pending' {conflict}
         RETURNING id"
    ))
    .bind(J::KIND)
    .bind(J::QUEUE)
    .bind(payload)
    .bind(job.dedupe_key())
    .bind(J::MAX_ATTEMPTS)
    .bind(run_at)
    .fetch_optional(conn)
    .await
}

/// What a member is told about a meetup (rendered by the server's mail templates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// "yes" with a seat, "maybe" or "no".
    RsvpConfirmed {
        answer: String,
        guests: i32,
    },
    Waitlisted {
        position: i64,
    },
    /// A seat freed and is now theirs.
    Promoted,
    /// A freed seat is held for them until `expires_at`.
    Offered {
        expires_at: DateTime<Utc>,
    },
    /// The event changed: one line per change.
    Changed {
        changes: Vec<String>,
    },
    Cancelled {
        reason: String,
    },
}

/// Job: e-mail one member about one meetup.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Notify {
    pub event_id: i64,
    pub user_id: i64,
    pub notice: Notice,
}

impl Job for Notify {
    const KIND: &'static str = "notify";
    const QUEUE: &'static str = "mail";
}

/// Job: the reminder a day before a meetup, to everyone with a seat (sent once: the
/// event's `reminder_sent_at` is set in the transaction that writes the e-mails).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Remind {
    pub event_id: i64,
}

impl Remind {
    /// How long before the start reminders go out.
    pub const BEFORE: chrono::TimeDelta = chrono::TimeDelta::hours(24);
}

impl Job for Remind {
    const KIND: &'static str = "remind";
    const QUEUE: &'static str = "mail";

    /// One reminder per event: scheduling again moves it.
    fn dedupe_key(&self) -> Option<String> {
        Some(self.event_id.to_string())
    }
}

/// Job: withdraw expired seat offers of an event and offer the seats to the next in line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SettleSeats {
    pub event_id: i64,
    /// When the offer it looks at runs out (one job per event and moment). Absent in
    /// jobs queued before it was recorded.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

impl Job for SettleSeats {
    const KIND: &'static str = "settle_seats";

    fn dedupe_key(&self) -> Option<String> {
        self.at
            .map(|at| format!("{}@{}", self.event_id, at.timestamp()))
    }
}

pub async fn notify(
    conn: &mut PgConnection,
    event_id: i64,
    user_id: i64,
    notice: Notice,
) -> Result<(), sqlx::Error> {
    Notify {
        event_id,
        user_id,
        notice,
    }
    .enqueue(conn)
    .await?;
    Ok(())
}

/// Schedules (or moves) the event's reminder to a day before `starts_at`; an event
/// less than a day away is reminded of at once.
pub async fn schedule_reminder(
    conn: &mut PgConnection,
    event_id: i64,
    starts_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let run_at = (starts_at - Remind::BEFORE).max(Utc::now());
    Remind { event_id }.schedule(conn, run_at).await?;
    Ok(())
}

/// Looks at the event's seat offers again at `at` (when one expires): one job per event
/// and moment.
pub async fn schedule_settle(
    conn: &mut PgConnection,
    event_id: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    SettleSeats {
        event_id,
        at: Some(at),
    }
    .enqueue_at(conn, Some(at))
    .await?;
    Ok(())
}
