//! Cancelling an event with a reason (members with a seat are told).

use super::*;
use crate::accounts::ssr::{pool, require_user};
use crate::errors::{invalid, AppError};
use crate::events::seats::{self};
use crate::jobs::{self, Notice};
use crate::policy::Action;
use chrono::Utc;

pub async fn cancel_event(event_id: i64, reason: String) -> Result<(), AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
    let reason = reason.trim().to_string();
    if reason.chars().count() > 1000 {
        return Err(invalid("Keep the reason under 1,000 characters."));
    }
    if event.cancelled {
        return Ok(()); // cancelled already (a second click): nothing more to do
    }
    let mut tx = pool.begin().await?;
    seats::lock_event(&mut tx, event_id).await?;
    sqlx::query(
        "UPDATE events SET status = 'cancelled', cancel_reason = $2, sequence = sequence + 1, updated_at = now()
          WHERE id = $1",
    )
    .bind(event_id)
    .bind(&reason)
    .execute(&mut *tx)
    .await
    ?;
    // A cancelled occurrence is an exception of its series: never made again.
    if let Some(series_id) = event.series_id {
        let (date, _) = local_parts(event.starts_at, &event.time_zone);
        sqlx::query(
            "UPDATE event_series SET exceptions = array_append(exceptions, $2::date)
              WHERE id = $1 AND NOT ($2::date = ANY(exceptions))",
        )
        .bind(series_id)
        .bind(date)
        .execute(&mut *tx)
        .await?;
    }
    if event.ends_at > Utc::now() {
        let audience: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM rsvps WHERE event_id = $1 AND answer IN ('yes', 'maybe')",
        )
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await?;
        for user_id in audience {
            jobs::notify(
                &mut tx,
                event_id,
                user_id,
                Notice::Cancelled {
                    reason: reason.clone(),
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
