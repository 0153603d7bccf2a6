//! Server side of the meetup pages: reading an event as a viewer may see it, the event
//! form (create, edit, duplicate, series), cancelling, comments, talks, the organizer
//! view and check-in. Seats and the waitlist are in `seats`.

use super::ssr::format_when;
use super::types::{Attendee, RsvpGate};
use crate::accounts::ssr::{pool, require_user};
use crate::accounts::CurrentUser;
use crate::errors::{not_found, AppError};
use crate::groups::ssr::role_in;
use crate::policy::{require, Action, Actor, Role};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};

mod cancel;
mod checkin;
mod comments;
mod detail;
mod markdown;
mod rsvp;
mod save;
mod series;
mod talks;
pub use cancel::*;
pub use checkin::*;
pub use comments::*;
pub use detail::*;
pub use markdown::*;
pub use rsvp::*;
pub use save::*;
pub use series::*;
pub use talks::*;

/// An event row with its group, as most of this module needs it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct EventRow {
    pub id: i64,
    pub group_id: i64,
    pub group_slug: String,
    pub group_name: String,
    pub group_time_zone: String,
    pub uid: String,
    pub sequence: i32,
    pub title: String,
    pub body_md: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub time_zone: String,
    pub venue: String,
    pub address: String,
    pub online_url: String,
    pub capacity: Option<i32>,
    pub max_guests: i32,
    pub rsvp_opens_at: Option<DateTime<Utc>>,
    pub rsvp_closes_at: Option<DateTime<Utc>>,
    pub offer_window_hours: i32,
    pub cancelled: bool,
    pub cancel_reason: String,
    pub series_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const EVENT_ROW: &str = "SELECT e.id, e.group_id, g.slug AS group_slug, g.name AS group_name,
        g.time_zone AS group_time_zone, e.uid, e.sequence, e.title, e.body_md, e.starts_at, e.ends_at,
        e.time_zone, e.venue, e.address, e.online_url, e.capacity, e.max_guests, e.rsvp_opens_at,
        e.rsvp_closes_at, e.offer_window_hours, e.status = 'cancelled' AS cancelled, e.cancel_reason,
        e.series_id, e.created_at, e.updated_at
   FROM events e JOIN groups g ON g.id = e.group_id";

pub async fn find_event(conn: &mut PgConnection, id: i64) -> Result<Option<EventRow>, sqlx::Error> {
    sqlx::query_as(&format!("{EVENT_ROW} WHERE e.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A link that finds the address on OpenStreetMap.
pub fn map_url(address: &str) -> Option<String> {
    (!address.trim().is_empty()).then(|| {
        format!(
            "https://www.openstreetmap.org/search?query={}",
            urlencoding::encode(address.trim())
        )
    })
}

/// The event, the viewer and their role in its group, once `action` is allowed.
async fn access(
    pool: &PgPool,
    event_id: i64,
    user: Option<&CurrentUser>,
    action: Action,
) -> Result<(EventRow, Option<Role>), AppError> {
    access_with(&mut *pool.acquire().await?, event_id, user, action).await
}

/// [`access`] on a connection the caller holds.
async fn access_with(
    conn: &mut PgConnection,
    event_id: i64,
    user: Option<&CurrentUser>,
    action: Action,
) -> Result<(EventRow, Option<Role>), AppError> {
    // One statement for the event and the viewer's role in its group, on the caller's
    // connection (each connection given back to the pool costs a round trip: sqlx checks
    // it); never a second one while holding it: that can starve the pool under load.
    #[derive(sqlx::FromRow)]
    struct WithRole {
        #[sqlx(flatten)]
        event: EventRow,
        role: Option<String>,
    }
    let found: WithRole = sqlx::query_as(&format!(
        "SELECT e.*, (SELECT m.role::text FROM memberships m
                       WHERE m.group_id = e.group_id AND m.user_id = $2) AS role
           FROM ({EVENT_ROW} WHERE e.id = $1) e"
    ))
    .bind(event_id)
    .bind(user.map(|user| user.id))
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| not_found("meetup"))?;
    let role = found.role.as_deref().and_then(Role::parse);
    require(Actor { user, role }, action)?;
    Ok((found.event, role))
}

fn gate(event: &EventRow, now: DateTime<Utc>) -> RsvpGate {
    if event.cancelled {
        RsvpGate::Cancelled
    } else if event.ends_at <= now {
        RsvpGate::Over
    } else if let Some(opens) = event.rsvp_opens_at.filter(|opens| *opens > now) {
        let (date, time) = format_when(opens, opens + TimeDelta::minutes(1), &event.time_zone);
        let time = time.split(" – ").next().unwrap_or_default().to_string();
        RsvpGate::NotYet(format!("{date}, {time}"))
    } else if event.rsvp_closes_at.is_some_and(|closes| closes <= now) {
        RsvpGate::Closed
    } else {
        RsvpGate::Open
    }
}

/// One moment in the event's zone: "Tuesday, 26 February 2013, 6:30 PM PST".
pub fn moment_label(at: DateTime<Utc>, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
    at.with_timezone(&tz)
        .format("%A, %-d %B %Y, %-I:%M %p %Z")
        .to_string()
}

/// Everyone's RSVP to an event with names, waitlist positions and check-ins.
pub async fn attendees(
    db: impl sqlx::PgExecutor<'_>,
    event_id: i64,
) -> Result<Vec<Attendee>, sqlx::Error> {
    let rows: Vec<(i64, String, i32, String, Option<i64>, bool)> = sqlx::query_as(
        "SELECT r.user_id, u.display_name, r.guests,
                coalesce(r.seat::text, r.answer::text),
                CASE WHEN r.seat = 'waitlisted'
                     THEN row_number() OVER (PARTITION BY r.seat = 'waitlisted' ORDER BY r.arrival) END,
                r.checked_in_at IS NOT NULL
           FROM rsvps r JOIN users u ON u.id = r.user_id
          WHERE r.event_id = $1
          ORDER BY CASE coalesce(r.seat::text, r.answer::text)
                     WHEN 'going' THEN 0 WHEN 'offered' THEN 1 WHEN 'waitlisted' THEN 2 WHEN 'maybe' THEN 3 ELSE 4 END,
                   r.arrival NULLS LAST, u.display_name",
    )
    .bind(event_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(user_id, display_name, guests, status, position, checked_in)| Attendee {
                user_id,
                display_name,
                guests,
                status,
                position,
                checked_in,
            },
        )
        .collect())
}

/// id, speaker id, speaker name, title, abstract, minutes, status.
type TalkRow = (
    i64,
    Option<i64>,
    Option<String>,
    String,
    String,
    i32,
    String,
);
/// id, author id, author name, body, posted, hidden.
type CommentRow = (
    i64,
    Option<i64>,
    Option<String>,
    String,
    DateTime<Utc>,
    bool,
);

/// The group, the member and their role, once they may manage the group's meetups.
async fn manage_group(slug: &str) -> Result<(CurrentUser, PgPool, i64, String, String), AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let group: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, time_zone FROM groups WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&pool)
            .await?;
    let (group_id, name, zone) = group.ok_or_else(|| not_found("group"))?;
    let role = role_in(&pool, group_id, Some(&user)).await?;
    require(
        Actor {
            user: Some(&user),
            role,
        },
        Action::ManageEvents,
    )?;
    Ok((user, pool, group_id, name, zone))
}

fn local_parts(at: DateTime<Utc>, zone: &str) -> (String, String) {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
    let local = at.with_timezone(&tz);
    (
        local.format("%Y-%m-%d").to_string(),
        local.format("%H:%M").to_string(),
    )
}

fn local_input(at: Option<DateTime<Utc>>, zone: &str) -> String {
    at.map(|at| {
        let (date, time) = local_parts(at, zone);
        format!("{date}T{time}")
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_scripts_are_removed() {
        let html = render_markdown("**Bring** data <script>alert(1)</script> [link](javascript:alert(1)) [ok](https://qs.org)");
        assert!(html.contains("<strong>Bring</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains("href=\"https://qs.org\""));
    }

    #[test]
    fn summaries_are_plain_and_short() {
        let summary = plain_summary("# Show & tell\n\nBring **your** data, and *questions*.", 30);
        assert_eq!(summary, "Show & tell Bring your data,…");
        assert!(plain_summary(&"word ".repeat(100), 50).chars().count() <= 51);
    }

    #[test]
    fn map_links_search_openstreetmap() {
        assert_eq!(
            map_url("1 Main St, Petaluma").as_deref(),
            Some("https://www.openstreetmap.org/search?query=1%20Main%20St%2C%20Petaluma")
        );
        assert_eq!(map_url("  "), None);
    }
}
