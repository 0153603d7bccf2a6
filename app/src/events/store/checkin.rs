//! The organizer view: counts, the attendee list and check-in at the door.

use super::*;
use crate::accounts::ssr::{pool, require_user};
use crate::errors::{internal, not_found, AppError};
use crate::events::ssr::format_when;
use crate::events::types::{Attendee, ManageData};
use crate::jobs::Job as _;
use crate::policy::Action;
use sqlx::PgPool;

/// The organizer view's data; also used by the CSV export.
pub async fn manage_data_for(pool: &PgPool, event: &EventRow) -> Result<ManageData, sqlx::Error> {
    let mut people = attendees(pool, event.id).await?;
    let others: Vec<(i64, String)> = sqlx::query_as(
        "SELECT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.group_id = $1 AND NOT EXISTS (SELECT 1 FROM rsvps r WHERE r.event_id = $2 AND r.user_id = u.id)
          ORDER BY u.display_name",
    )
    .bind(event.group_id)
    .bind(event.id)
    .fetch_all(pool)
    .await?;
    let count = |status: &str| people.iter().filter(|p| p.status == status).count() as i64;
    let (going, offered, waitlisted, maybe, no) = (
        count("going"),
        count("offered"),
        count("waitlisted"),
        count("maybe"),
        count("no"),
    );
    let going_guests = people
        .iter()
        .filter(|p| p.status == "going")
        .map(|p| i64::from(p.guests))
        .sum();
    let checked_in = people.iter().filter(|p| p.checked_in).count() as i64;
    people.extend(others.into_iter().map(|(user_id, display_name)| Attendee {
        user_id,
        display_name,
        guests: 0,
        status: "none".into(),
        position: None,
        checked_in: false,
    }));
    let (date, time) = format_when(event.starts_at, event.ends_at, &event.time_zone);
    Ok(ManageData {
        event_id: event.id,
        title: event.title.clone(),
        group_slug: event.group_slug.clone(),
        when: format!("{date}, {time}"),
        capacity: event.capacity,
        going,
        going_guests,
        offered,
        waitlisted,
        maybe,
        no,
        checked_in,
        people,
    })
}

pub async fn manage_data(event_id: i64) -> Result<ManageData, AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
    manage_data_for(&pool, &event).await.map_err(internal)
}

pub async fn check_in(event_id: i64, user_id: i64, present: bool) -> Result<(), AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
    let member: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM memberships WHERE group_id = $1 AND user_id = $2")
            .bind(event.group_id)
            .bind(user_id)
            .fetch_optional(&pool)
            .await?;
    if member.is_none() {
        return Err(not_found("member of this group"));
    }
    // A walk-in without an RSVP is recorded as a "yes" that is present (and takes no
    // seat from the list: the room had one).
    sqlx::query(
        "INSERT INTO rsvps (event_id, user_id, answer, seat, arrival, checked_in_at)
         VALUES ($1, $2, 'yes', 'going', nextval('rsvp_arrival'), CASE WHEN $3 THEN now() END)
         ON CONFLICT (event_id, user_id) DO UPDATE SET checked_in_at = CASE WHEN $3 THEN now() END, updated_at = now()",
    )
    .bind(event_id)
    .bind(user_id)
    .bind(present)
    .execute(&pool)
    .await
    ?;
    // Attendance is one of the member's daily series.
    crate::pipeline::compute::Compute { user_id }
        .enqueue(&mut *pool.acquire().await?)
        .await?;
    Ok(())
}
