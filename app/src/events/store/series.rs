//! Recurring meetups: making the next occurrences of a series exist as events.

use super::*;
use crate::events::recurrence::{self, Rule};
use chrono::{NaiveDate, NaiveTime, TimeDelta};
use sqlx::PgConnection;

/// Makes the series' next occurrences (up to `recurrence::MAX_AHEAD` from `today`) that
/// do not exist yet. Returns how many were added. Runs when a series is created and
/// daily (the server's `ExtendSeries` job).
pub async fn materialize_series(
    conn: &mut PgConnection,
    series_id: i64,
    today: NaiveDate,
) -> Result<usize, sqlx::Error> {
    #[allow(clippy::type_complexity)]
    let row: Option<(i64, serde_json::Value, NaiveDate, Option<NaiveDate>, NaiveTime, i32, String, Vec<NaiveDate>, serde_json::Value, Option<i64>)> =
        sqlx::query_as(
            "SELECT s.group_id, s.rule, s.first_date, s.until_date, s.start_time, s.duration_minutes, s.time_zone,
                    s.exceptions, s.template,
                    (SELECT created_by FROM events WHERE series_id = s.id ORDER BY id LIMIT 1)
               FROM event_series s WHERE s.id = $1 FOR UPDATE",
        )
        .bind(series_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some((
        group_id,
        rule,
        first,
        until,
        start,
        minutes,
        zone,
        exceptions,
        template,
        created_by,
    )) = row
    else {
        return Ok(0);
    };
    let (Ok(rule), Ok(template)) = (
        serde_json::from_value::<Rule>(rule),
        serde_json::from_value::<Template>(template),
    ) else {
        tracing::warn!(
            series_id,
            "a series with an unreadable rule or template was skipped"
        );
        return Ok(0);
    };
    let existing: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT occurrence_date FROM events WHERE series_id = $1 AND occurrence_date >= $2",
    )
    .bind(series_id)
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    let dates = rule.dates(
        first,
        until,
        &exceptions,
        today,
        today + TimeDelta::days(800),
        recurrence::MAX_AHEAD,
    );
    let mut added = 0;
    for date in dates.into_iter().filter(|date| !existing.contains(date)) {
        // A start the clocks skip that day moves an hour later.
        let Ok(starts_at) = recurrence::local_to_utc(date, start, &zone)
            .or_else(|_| recurrence::local_to_utc(date, start + TimeDelta::hours(1), &zone))
        else {
            continue;
        };
        let valid = Valid {
            template: template.clone(),
            time_zone: zone.clone(),
            date,
            start,
            duration: TimeDelta::minutes(minutes.into()),
            starts_at,
            ends_at: starts_at + TimeDelta::minutes(minutes.into()),
            rsvp_opens_at: None,
            rsvp_closes_at: None,
        };
        insert_event(
            conn,
            group_id,
            created_by.unwrap_or_default(),
            &valid,
            Some((series_id, date)),
        )
        .await?;
        added += 1;
    }
    Ok(added)
}
