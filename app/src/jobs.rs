//! Enqueueing background work from server functions, and the payloads of the jobs that
//! the meetup pages start. The runner and the job implementations live in the server
//! crate (`server/src/jobs/`); both sides go through `enqueue_raw`, the one statement
//! that adds a job.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

/// How an enqueue treats a pending job with the same kind and dedupe key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Keep the pending one as it is.
    Keep,
    /// Keep the pending one but move it to the new `run_at` (a rescheduled reminder).
    Reschedule,
}

/// One job row to add.
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub queue: &'a str,
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    pub max_attempts: i32,
    pub run_at: Option<DateTime<Utc>>,
}

/// Adds a job inside the caller's transaction. Returns its id, or `None` when a pending
/// job with the same dedupe key was kept instead.
pub async fn enqueue_raw(
    conn: &mut PgConnection,
    job: NewJob<'_>,
    on_duplicate: OnDuplicate,
) -> Result<Option<i64>, sqlx::Error> {
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
    .bind(job.kind)
    .bind(job.queue)
    .bind(job.payload)
    .bind(job.dedupe_key)
    .bind(job.max_attempts)
    .bind(job.run_at)
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

impl Notify {
    pub const KIND: &'static str = "notify";
    pub const QUEUE: &'static str = "mail";
}

/// Job: the reminder a day before a meetup, to everyone with a seat (sent once: the
/// event's `reminder_sent_at` is set in the transaction that writes the e-mails).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Remind {
    pub event_id: i64,
}

impl Remind {
    pub const KIND: &'static str = "remind";
    pub const QUEUE: &'static str = "mail";
    /// How long before the start reminders go out.
    pub const BEFORE: chrono::TimeDelta = chrono::TimeDelta::hours(24);
}

/// Job: withdraw expired seat offers of an event and offer the seats to the next in line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SettleSeats {
    pub event_id: i64,
}

impl SettleSeats {
    pub const KIND: &'static str = "settle_seats";
    pub const QUEUE: &'static str = "default";
}

pub async fn notify(
    conn: &mut PgConnection,
    event_id: i64,
    user_id: i64,
    notice: Notice,
) -> Result<(), sqlx::Error> {
    let job = Notify {
        event_id,
        user_id,
        notice,
    };
    enqueue_raw(
        conn,
        NewJob {
            kind: Notify::KIND,
            queue: Notify::QUEUE,
            payload: serde_json::to_value(&job).unwrap_or_default(),
            dedupe_key: None,
            max_attempts: 5,
            run_at: None,
        },
        OnDuplicate::Keep,
    )
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
    enqueue_raw(
        conn,
        NewJob {
            kind: Remind::KIND,
            queue: Remind::QUEUE,
            payload: serde_json::json!({ "event_id": event_id }),
            dedupe_key: Some(event_id.to_string()),
            max_attempts: 5,
            run_at: Some(run_at),
        },
        OnDuplicate::Reschedule,
    )
    .await?;
    Ok(())
}

/// Looks at the event's seat offers again at `at` (when one expires).
pub async fn schedule_settle(
    conn: &mut PgConnection,
    event_id: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    enqueue_raw(
        conn,
        NewJob {
            kind: SettleSeats::KIND,
            queue: SettleSeats::QUEUE,
            payload: serde_json::json!({ "event_id": event_id }),
            dedupe_key: Some(format!("{event_id}@{}", at.timestamp())),
            max_attempts: 5,
            run_at: Some(at),
        },
        OnDuplicate::Keep,
    )
    .await?;
    Ok(())
}
