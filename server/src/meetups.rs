//! The server side of meetups: the jobs that write and send e-mail (confirmations,
//! waitlist promotions and offers, changes, cancellations, the reminder a day before),
//! the job that keeps recurring series made ahead, and the calendar and feed routes
//! (`/events/{id}/event.ics`, `/groups/{slug}/calendar.ics`, `/groups/{slug}/events.atom`)
//! and the organizer's CSV export.

use crate::calendar::{self, CalEvent, FeedEntry};
use crate::jobs::{Job, JobContext, Run};
use crate::mail::{self, EventFacts, Outgoing, Rendered};
use anyhow::{Context, Result};
use app::events::ssr::format_when;
use app::events::store::{self, EventRow, EVENT_ROW};
use app::jobs::{Notice, Notify, Remind, SettleSeats};
use chrono::{TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

/// An event as calendars see it.
pub fn cal_event(event: &EventRow, base_url: &str) -> CalEvent {
    let location = [event.venue.as_str(), event.address.as_str()]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let mut description = event.body_md.trim().to_string();
    if event.cancelled {
        description = format!("Cancelled. {}\n\n{description}", event.cancel_reason)
            .trim()
            .to_string();
    }
    CalEvent {
        uid: format!("{}@cohort", event.uid),
        sequence: event.sequence,
        title: event.title.clone(),
        description,
        starts_at: event.starts_at,
        ends_at: event.ends_at,
        time_zone: event.time_zone.clone(),
        location,
        url: format!("{base_url}/events/{}", event.id),
        cancelled: event.cancelled,
        created_at: event.created_at,
        updated_at: event.updated_at,
        organizer: None,
    }
}

fn facts(event: &EventRow, base_url: &str) -> EventFacts {
    let (date, time) = format_when(event.starts_at, event.ends_at, &event.time_zone);
    EventFacts {
        group_name: event.group_name.clone(),
        title: event.title.clone(),
        when: format!("{date}, {time}"),
        where_: [event.venue.as_str(), event.address.as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
        url: format!("{base_url}/events/{}", event.id),
    }
}

/// Writes one e-mail into the outbox (once per `dedupe_key`) and queues its delivery.
async fn write_email(
    conn: &mut PgConnection,
    dedupe_key: &str,
    kind: &str,
    user: (i64, &str, &str),
    event_id: i64,
    rendered: &Rendered,
    ics: Option<String>,
) -> Result<()> {
    let (user_id, name, address) = user;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO emails (dedupe_key, kind, user_id, event_id, to_name, to_address, subject, text_body, html_body, ics)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(dedupe_key)
    .bind(kind)
    .bind(user_id)
    .bind(event_id)
    .bind(name)
    .bind(address)
    .bind(&rendered.subject)
    .bind(&rendered.text)
    .bind(&rendered.html)
    .bind(ics)
    .fetch_optional(&mut *conn)
    .await
    .context("writing an e-mail to the outbox")?;
    if let Some(email_id) = id {
        SendEmail { email_id }.enqueue(conn).await?;
    }
    Ok(())
}

/// A member's name and address; `None` for demo accounts (their addresses are
/// `*.invalid`: they never get e-mail).
async fn member(conn: &mut PgConnection, user_id: i64) -> Result<Option<(String, String)>> {
    sqlx::query_as("SELECT display_name, email FROM users WHERE id = $1 AND NOT is_demo")
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .context("reading a member")
}

fn kind_of(notice: &Notice) -> &'static str {
    match notice {
        Notice::RsvpConfirmed { .. } => "rsvp_confirmed",
        Notice::Waitlisted { .. } => "waitlisted",
        Notice::Promoted => "promoted",
        Notice::Offered { .. } => "offered",
        Notice::Changed { .. } => "changed",
        Notice::Cancelled { .. } => "cancelled",
    }
}

impl Run for Notify {
    async fn run(self, context: JobContext) -> Result<()> {
        let mut tx = context.pool.begin().await?;
        let Some(event) = store::find_event(&mut tx, self.event_id).await? else {
            return Ok(()); // deleted since: nothing to say
        };
        let Some((name, address)) = member(&mut tx, self.user_id).await? else {
            return Ok(()); // the member left
        };
        let base = context.services.public_url.as_str();
        let notice = match &self.notice {
            Notice::RsvpConfirmed { answer, guests } => mail::Notice::RsvpConfirmed {
                answer: answer.clone(),
                guests: *guests,
            },
            Notice::Waitlisted { position } => mail::Notice::Waitlisted {
                position: *position,
            },
            Notice::Promoted => mail::Notice::Promoted,
            Notice::Offered { expires_at } => mail::Notice::Offered {
                expires: store::moment_label(*expires_at, &event.time_zone),
            },
            Notice::Changed { changes } => mail::Notice::Changed {
                changes: changes.clone(),
            },
            Notice::Cancelled { reason } => mail::Notice::Cancelled {
                reason: reason.clone(),
            },
        };
        let rendered = mail::render(&notice, &name, &facts(&event, base))?;
        // A calendar file wherever the member's calendar should change.
        let ics = matches!(
            self.notice,
            Notice::RsvpConfirmed { .. }
                | Notice::Promoted
                | Notice::Changed { .. }
                | Notice::Cancelled { .. }
        )
        .then(|| calendar::event_ics(&cal_event(&event, base), Some("PUBLISH")));
        write_email(
            &mut tx,
            &format!("notify:{}", context.id),
            kind_of(&self.notice),
            (self.user_id, &name, &address),
            event.id,
            &rendered,
            ics,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Run for Remind {
    /// Sends the reminder once: `reminder_sent_at` is claimed in the transaction that
    /// writes the e-mails, so a second run (another process, a retry) finds it set.
    async fn run(self, context: JobContext) -> Result<()> {
        let mut tx = context.pool.begin().await?;
        let Some(event) = store::find_event(&mut tx, self.event_id).await? else {
            return Ok(());
        };
        let now = Utc::now();
        if event.cancelled || event.starts_at <= now {
            return Ok(());
        }
        let due = event.starts_at - Remind::BEFORE;
        if due > now + TimeDelta::minutes(1) {
            // The meetup moved later since this was scheduled: come back then.
            self.enqueue_at(&mut tx, Some(due)).await?;
            tx.commit().await?;
            return Ok(());
        }
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE events SET reminder_sent_at = now() WHERE id = $1 AND reminder_sent_at IS NULL RETURNING id",
        )
        .bind(event.id)
        .fetch_optional(&mut *tx)
        .await?;
        if claimed.is_none() {
            return Ok(()); // sent already
        }
        let recipients: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT u.id, u.display_name, u.email FROM rsvps r JOIN users u ON u.id = r.user_id
              WHERE r.event_id = $1 AND r.seat = 'going' AND NOT u.is_demo ORDER BY u.id",
        )
        .bind(event.id)
        .fetch_all(&mut *tx)
        .await?;
        let base = context.services.public_url.clone();
        let facts = facts(&event, &base);
        let ics = calendar::event_ics(&cal_event(&event, &base), Some("PUBLISH"));
        for (user_id, name, address) in &recipients {
            let rendered = mail::render(&mail::Notice::Reminder, name, &facts)?;
            write_email(
                &mut tx,
                &format!(
                    "remind:{}:{}:{}",
                    event.id,
                    user_id,
                    event.starts_at.timestamp()
                ),
                "reminder",
                (*user_id, name, address),
                event.id,
                &rendered,
                Some(ics.clone()),
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(
            event_id = event.id,
            recipients = recipients.len(),
            "reminders written"
        );
        Ok(())
    }
}

impl Run for SettleSeats {
    async fn run(self, context: JobContext) -> Result<()> {
        let mut tx = context.pool.begin().await?;
        app::events::seats::settle(&mut tx, self.event_id, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Delivers one e-mail of the outbox by SMTP, or keeps it there when no SMTP server is
/// configured.
#[derive(Debug, Serialize, Deserialize)]
pub struct SendEmail {
    pub email_id: i64,
}

impl Job for SendEmail {
    const KIND: &'static str = "send_email";
    const QUEUE: &'static str = "mail";
    const MAX_ATTEMPTS: i32 = 8;
    const BACKOFF: std::time::Duration = std::time::Duration::from_secs(30);
}

impl Run for SendEmail {
    async fn run(self, context: JobContext) -> Result<()> {
        let row: Option<(String, String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT to_name, to_address, subject, text_body, html_body, ics FROM emails
              WHERE id = $1 AND status = 'queued'",
        )
        .bind(self.email_id)
        .fetch_optional(&context.pool)
        .await?;
        let Some((to_name, to_address, subject, text, html, ics)) = row else {
            return Ok(()); // sent already
        };
        let Some(mailer) = &context.services.mailer else {
            sqlx::query("UPDATE emails SET status = 'kept' WHERE id = $1")
                .bind(self.email_id)
                .execute(&context.pool)
                .await?;
            return Ok(());
        };
        let outgoing = Outgoing {
            to_name,
            to_address,
            rendered: Rendered {
                subject,
                text,
                html,
            },
            ics,
        };
        match mailer.send(&outgoing).await {
            Ok(()) => {
                sqlx::query("UPDATE emails SET status = 'sent', sent_at = now(), error = NULL WHERE id = $1")
                    .bind(self.email_id)
                    .execute(&context.pool)
                    .await?;
                Ok(())
            }
            Err(error) => {
                let last = context.attempt >= Self::MAX_ATTEMPTS;
                sqlx::query("UPDATE emails SET error = $2, status = CASE WHEN $3 THEN 'failed'::email_status ELSE status END WHERE id = $1")
                    .bind(self.email_id)
                    .bind(format!("{error:#}"))
                    .bind(last)
                    .execute(&context.pool)
                    .await?;
                Err(error)
            }
        }
    }
}

/// Makes the next occurrences of every running series, daily.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ExtendSeries;

impl Job for ExtendSeries {
    const KIND: &'static str = "extend_series";
    const QUEUE: &'static str = "maintenance";
    const MAX_ATTEMPTS: i32 = 3;

    fn dedupe_key(&self) -> Option<String> {
        Some("daily".into())
    }
}

impl Run for ExtendSeries {
    async fn run(self, context: JobContext) -> Result<()> {
        let today = (Utc::now() - TimeDelta::days(1)).date_naive();
        let series: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM event_series WHERE until_date IS NULL OR until_date >= $1",
        )
        .bind(today)
        .fetch_all(&context.pool)
        .await?;
        let mut added = 0;
        for series_id in series {
            let mut tx = context.pool.begin().await?;
            added += store::materialize_series(&mut tx, series_id, today).await?;
            tx.commit().await?;
        }
        let mut conn = context.pool.acquire().await?;
        ExtendSeries
            .enqueue_at(&mut conn, Some(Utc::now() + TimeDelta::days(1)))
            .await?;
        tracing::info!(added, "recurring series extended");
        Ok(())
    }
}

/// Loads an event for the calendar routes.
pub async fn event_row(pool: &PgPool, id: i64) -> Result<Option<EventRow>> {
    let mut conn = pool.acquire().await?;
    Ok(store::find_event(&mut conn, id).await?)
}

/// A group's events for its calendar feed: the last 90 days and everything to come.
pub async fn group_calendar(pool: &PgPool, slug: &str, base_url: &str) -> Result<Option<String>> {
    let group: Option<(String, String)> =
        sqlx::query_as("SELECT name, time_zone FROM groups WHERE slug = $1")
            .bind(slug)
            .fetch_optional(pool)
            .await?;
    let Some((name, zone)) = group else {
        return Ok(None);
    };
    let events: Vec<EventRow> = sqlx::query_as(&format!(
        "{EVENT_ROW} WHERE g.slug = $1 AND e.ends_at > now() - interval '90 days' ORDER BY e.starts_at"
    ))
    .bind(slug)
    .fetch_all(pool)
    .await?;
    let events: Vec<CalEvent> = events
        .iter()
        .map(|event| cal_event(event, base_url))
        .collect();
    Ok(Some(calendar::calendar_ics(&name, &zone, &events)))
}

/// A group's upcoming events as an Atom feed.
pub async fn group_atom(pool: &PgPool, slug: &str, base_url: &str) -> Result<Option<String>> {
    let group: Option<(String, chrono::DateTime<Utc>)> =
        sqlx::query_as("SELECT name, created_at FROM groups WHERE slug = $1")
            .bind(slug)
            .fetch_optional(pool)
            .await?;
    let Some((name, created)) = group else {
        return Ok(None);
    };
    let events: Vec<EventRow> = sqlx::query_as(&format!(
        "{EVENT_ROW} WHERE g.slug = $1 AND e.ends_at > now() ORDER BY e.starts_at LIMIT 100"
    ))
    .bind(slug)
    .fetch_all(pool)
    .await?;
    let entries: Vec<FeedEntry> = events
        .iter()
        .map(|event| {
            let (date, time) = format_when(event.starts_at, event.ends_at, &event.time_zone);
            let mut summary = format!("{date}, {time}");
            if !event.venue.is_empty() {
                summary.push_str(&format!(" · {}", event.venue));
            }
            if event.cancelled {
                summary = format!("Cancelled: {summary}");
            }
            let about = store::plain_summary(&event.body_md, 300);
            if !about.is_empty() {
                summary.push_str(&format!("\n\n{about}"));
            }
            FeedEntry {
                id: format!("urn:uuid:{}", event.uid),
                title: if event.cancelled {
                    format!("Cancelled: {}", event.title)
                } else {
                    event.title.clone()
                },
                url: format!("{base_url}/events/{}", event.id),
                summary,
                updated: event.updated_at,
                published: event.created_at,
            }
        })
        .collect();
    Ok(Some(calendar::atom_feed(
        &format!("{base_url}/groups/{slug}"),
        &format!("{name}: upcoming meetups"),
        &format!("{base_url}/groups/{slug}/events.atom"),
        &format!("{base_url}/groups/{slug}"),
        created,
        &entries,
    )))
}

/// One CSV field, quoted when it must be (RFC 4180), and defused against spreadsheet
/// formula injection (a leading `=`, `+`, `-` or `@` gets a `'`).
pub(crate) fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The organizer's attendee list as CSV.
pub async fn attendees_csv(pool: &PgPool, event: &EventRow) -> Result<String> {
    let data = store::manage_data_for(pool, event).await?;
    let mut out = String::from("name,status,guests,waitlist_position,checked_in\r\n");
    for person in data.people.iter().filter(|person| person.status != "none") {
        out.push_str(&format!(
            "{},{},{},{},{}\r\n",
            csv_field(&person.display_name),
            person.status,
            person.guests,
            person.position.map(|p| p.to_string()).unwrap_or_default(),
            if person.checked_in { "yes" } else { "no" }
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("Ada"), "Ada");
        assert_eq!(csv_field("Reyes, Morgan"), "\"Reyes, Morgan\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
