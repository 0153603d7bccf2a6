//! The event form: a new event, an edit (of one occurrence or of it and the later ones), a
//! duplicate; validation, the changes members are told about.

use super::*;
use crate::accounts::ssr::{pool, require_user};
use crate::accounts::FormErrors;
use crate::errors::{not_found, AppError};
use crate::events::recurrence::{self, Rule};
use crate::events::seats::{self};
use crate::events::ssr::format_when;
use crate::events::types::EventFormData;
use crate::jobs::{self, Notice};
use crate::policy::Action;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

fn form_from_event(event: &EventRow) -> EventFormData {
    let (date, start_time) = local_parts(event.starts_at, &event.time_zone);
    let (_, end_time) = local_parts(event.ends_at, &event.time_zone);
    EventFormData {
        group_slug: event.group_slug.clone(),
        group_name: event.group_name.clone(),
        event_id: Some(event.id),
        in_series: event.series_id.is_some(),
        series_label: None,
        title: event.title.clone(),
        body_md: event.body_md.clone(),
        date,
        start_time,
        end_time,
        time_zone: event.time_zone.clone(),
        venue: event.venue.clone(),
        address: event.address.clone(),
        online_url: event.online_url.clone(),
        capacity: event.capacity.map(|c| c.to_string()).unwrap_or_default(),
        max_guests: event.max_guests.to_string(),
        rsvp_opens: local_input(event.rsvp_opens_at, &event.time_zone),
        rsvp_closes: local_input(event.rsvp_closes_at, &event.time_zone),
        offer_window_hours: event.offer_window_hours.to_string(),
    }
}

pub async fn new_event_form(slug: String, from: Option<i64>) -> Result<EventFormData, AppError> {
    let (_, pool, group_id, group_name, zone) = manage_group(&slug).await?;
    if let Some(from) = from {
        let mut conn = pool.acquire().await?;
        let event = find_event(&mut conn, from)
            .await?
            .filter(|event| event.group_id == group_id)
            .ok_or_else(|| not_found("meetup to copy"))?;
        let mut form = form_from_event(&event);
        form.event_id = None;
        form.in_series = false;
        form.title = format!("{} (copy)", event.title);
        return Ok(form);
    }
    Ok(EventFormData {
        group_slug: slug,
        group_name,
        time_zone: zone,
        start_time: "18:30".into(),
        end_time: "20:30".into(),
        max_guests: "0".into(),
        offer_window_hours: "24".into(),
        ..Default::default()
    })
}

pub async fn edit_event_form(id: i64) -> Result<EventFormData, AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, id, Some(&user), Action::ManageEvents).await?;
    let mut form = form_from_event(&event);
    if let Some(series_id) = event.series_id {
        form.series_label = series_label(&pool, series_id).await?;
    }
    Ok(form)
}

/// The repeat part of the event form.
pub struct RepeatInput {
    pub repeat: String,
    pub last: bool,
    pub until: String,
    pub exceptions: String,
    pub whole_series: bool,
}

/// The fields every occurrence of a series shares, kept with the series.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Template {
    pub title: String,
    pub body_md: String,
    pub venue: String,
    pub address: String,
    pub online_url: String,
    pub capacity: Option<i32>,
    pub max_guests: i32,
    pub offer_window_hours: i32,
}

/// A checked event form.
pub(super) struct Valid {
    pub(super) template: Template,
    pub(super) time_zone: String,
    pub(super) date: NaiveDate,
    pub(super) start: NaiveTime,
    pub(super) duration: TimeDelta,
    pub(super) starts_at: DateTime<Utc>,
    pub(super) ends_at: DateTime<Utc>,
    pub(super) rsvp_opens_at: Option<DateTime<Utc>>,
    pub(super) rsvp_closes_at: Option<DateTime<Utc>>,
}

fn parse_optional_int(
    errors: &mut FormErrors,
    field: &str,
    text: &str,
    range: std::ops::RangeInclusive<i32>,
    what: &str,
) -> Option<i32> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<i32>() {
        Ok(value) if range.contains(&value) => Some(value),
        _ => {
            errors.fields.push((
                field.into(),
                format!(
                    "{what} must be a whole number from {} to {}.",
                    range.start(),
                    range.end()
                ),
            ));
            None
        }
    }
}

pub(super) fn validate(form: &EventFormData, errors: &mut FormErrors) -> Option<Valid> {
    let title = form.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        errors.fields.push((
            "title".into(),
            "Give the meetup a title of up to 200 characters.".into(),
        ));
    }
    if form.body_md.chars().count() > 20_000 {
        errors.fields.push((
            "body_md".into(),
            "Keep the description under 20,000 characters.".into(),
        ));
    }
    if form.venue.trim().chars().count() > 200 {
        errors.fields.push((
            "venue".into(),
            "Keep the venue to 200 characters or fewer.".into(),
        ));
    }
    if form.address.trim().chars().count() > 500 {
        errors.fields.push((
            "address".into(),
            "Keep the address to 500 characters or fewer.".into(),
        ));
    }
    let time_zone = form.time_zone.trim().to_string();
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        errors.fields.push((
            "time_zone".into(),
            "Choose a time zone like America/Los_Angeles.".into(),
        ));
    }
    let date = NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d").ok();
    if date.is_none() {
        errors
            .fields
            .push(("date".into(), "Choose the date of the meetup.".into()));
    }
    let start = NaiveTime::parse_from_str(form.start_time.trim(), "%H:%M").ok();
    if start.is_none() {
        errors.fields.push((
            "start_time".into(),
            "Choose when it starts, like 18:30.".into(),
        ));
    }
    let end = NaiveTime::parse_from_str(form.end_time.trim(), "%H:%M").ok();
    if end.is_none() {
        errors
            .fields
            .push(("end_time".into(), "Choose when it ends, like 20:30.".into()));
    }
    let online_url = form.online_url.trim().to_string();
    if !(online_url.is_empty()
        || online_url.starts_with("https://")
        || online_url.starts_with("http://"))
    {
        errors.fields.push((
            "online_url".into(),
            "An online link starts with https://.".into(),
        ));
    }
    let capacity = parse_optional_int(errors, "capacity", &form.capacity, 1..=100_000, "Seats");
    let max_guests = parse_optional_int(
        errors,
        "max_guests",
        &form.max_guests,
        0..=10,
        "Guests per member",
    )
    .unwrap_or(0);
    let offer_window_hours = parse_optional_int(
        errors,
        "offer_window_hours",
        &form.offer_window_hours,
        0..=720,
        "The offer window",
    )
    .unwrap_or(24);
    let (Some(date), Some(start), Some(end)) = (date, start, end) else {
        return None;
    };
    if !errors.is_empty() {
        return None;
    }
    // An end before the start is the next morning (a meetup that runs past midnight).
    let mut duration = end - start;
    if duration <= TimeDelta::zero() {
        duration += TimeDelta::days(1);
    }
    let starts_at = match recurrence::local_to_utc(date, start, &time_zone) {
        Ok(at) => at,
        Err(message) => {
            errors.fields.push(("start_time".into(), message));
            return None;
        }
    };
    let local_moment =
        |field: &str, text: &str, errors: &mut FormErrors| -> Option<DateTime<Utc>> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            match NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
                Ok(local) => match recurrence::local_to_utc(local.date(), local.time(), &time_zone)
                {
                    Ok(at) => Some(at),
                    Err(message) => {
                        errors.fields.push((field.into(), message));
                        None
                    }
                },
                Err(_) => {
                    errors.fields.push((
                        field.into(),
                        "Enter a date and time like 2026-12-01T09:00.".into(),
                    ));
                    None
                }
            }
        };
    let rsvp_opens_at = local_moment("rsvp_opens", &form.rsvp_opens, errors);
    let rsvp_closes_at = local_moment("rsvp_closes", &form.rsvp_closes, errors);
    if let (Some(opens), Some(closes)) = (rsvp_opens_at, rsvp_closes_at) {
        if closes <= opens {
            errors.fields.push((
                "rsvp_closes".into(),
                "RSVPs must close after they open.".into(),
            ));
        }
    }
    if !errors.is_empty() {
        return None;
    }
    Some(Valid {
        template: Template {
            title,
            body_md: form.body_md.clone(),
            venue: form.venue.trim().to_string(),
            address: form.address.trim().to_string(),
            online_url,
            capacity,
            max_guests,
            offer_window_hours,
        },
        time_zone,
        date,
        start,
        duration,
        starts_at,
        ends_at: starts_at + duration,
        rsvp_opens_at,
        rsvp_closes_at,
    })
}

pub(super) async fn insert_event(
    conn: &mut PgConnection,
    group_id: i64,
    created_by: i64,
    valid: &Valid,
    series: Option<(i64, NaiveDate)>,
) -> Result<i64, sqlx::Error> {
    let t = &valid.template;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO events (group_id, title, body_md, starts_at, ends_at, time_zone, venue, address,
                             online_url, capacity, max_guests, offer_window_hours, rsvp_opens_at,
                             rsvp_closes_at, created_by, series_id, occurrence_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         RETURNING id",
    )
    .bind(group_id)
    .bind(&t.title)
    .bind(&t.body_md)
    .bind(valid.starts_at)
    .bind(valid.ends_at)
    .bind(&valid.time_zone)
    .bind(&t.venue)
    .bind(&t.address)
    .bind(&t.online_url)
    .bind(t.capacity)
    .bind(t.max_guests)
    .bind(t.offer_window_hours)
    .bind(valid.rsvp_opens_at)
    .bind(valid.rsvp_closes_at)
    .bind(created_by)
    .bind(series.map(|(id, _)| id))
    .bind(series.map(|(_, date)| date))
    .fetch_one(&mut *conn)
    .await?;
    jobs::schedule_reminder(conn, id, valid.starts_at).await?;
    Ok(id)
}

/// What changed that attendees should hear about.
fn changes(before: &EventRow, after: &Valid) -> Vec<String> {
    let mut lines = Vec::new();
    if before.starts_at != after.starts_at
        || before.ends_at != after.ends_at
        || before.time_zone != after.time_zone
    {
        let (old_date, old_time) = format_when(before.starts_at, before.ends_at, &before.time_zone);
        let (new_date, new_time) = format_when(after.starts_at, after.ends_at, &after.time_zone);
        lines.push(format!(
            "When: {old_date}, {old_time} → {new_date}, {new_time}"
        ));
    }
    if before.venue != after.template.venue || before.address != after.template.address {
        let place = |venue: &str, address: &str| {
            [venue, address]
                .iter()
                .filter(|part| !part.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!(
            "Where: {} → {}",
            place(&before.venue, &before.address),
            place(&after.template.venue, &after.template.address)
        ));
    }
    if before.online_url != after.template.online_url {
        lines.push("The online link changed (see the meetup page).".into());
    }
    if before.title != after.template.title {
        lines.push(format!(
            "Title: {} → {}",
            before.title, after.template.title
        ));
    }
    lines
}

/// Applies a checked form to one existing event: raises its SEQUENCE, moves its
/// reminder, tells those coming what changed, and passes on seats a larger capacity freed.
async fn update_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    before: &EventRow,
    valid: &Valid,
    detach: bool,
) -> Result<(), sqlx::Error> {
    let t = &valid.template;
    sqlx::query(
        "UPDATE events SET title = $2, body_md = $3, starts_at = $4, ends_at = $5, time_zone = $6, venue = $7,
                address = $8, online_url = $9, capacity = $10, max_guests = $11, offer_window_hours = $12,
                rsvp_opens_at = $13, rsvp_closes_at = $14, sequence = sequence + 1, updated_at = now(),
                detached = detached OR $15,
                reminder_sent_at = CASE WHEN starts_at = $4 THEN reminder_sent_at END
          WHERE id = $1",
    )
    .bind(before.id)
    .bind(&t.title)
    .bind(&t.body_md)
    .bind(valid.starts_at)
    .bind(valid.ends_at)
    .bind(&valid.time_zone)
    .bind(&t.venue)
    .bind(&t.address)
    .bind(&t.online_url)
    .bind(t.capacity)
    .bind(t.max_guests)
    .bind(t.offer_window_hours)
    .bind(valid.rsvp_opens_at)
    .bind(valid.rsvp_closes_at)
    .bind(detach)
    .execute(&mut **tx)
    .await?;
    if before.starts_at != valid.starts_at {
        jobs::schedule_reminder(tx, before.id, valid.starts_at).await?;
    }
    let lines = changes(before, valid);
    if !lines.is_empty() && before.ends_at > Utc::now() {
        let audience: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM rsvps WHERE event_id = $1 AND (answer IN ('yes', 'maybe'))",
        )
        .bind(before.id)
        .fetch_all(&mut **tx)
        .await?;
        for user_id in audience {
            jobs::notify(
                tx,
                before.id,
                user_id,
                Notice::Changed {
                    changes: lines.clone(),
                },
            )
            .await?;
        }
    }
    seats::settle(tx, before.id, Utc::now()).await
}

pub async fn save_event(form: EventFormData, repeat: RepeatInput) -> Result<FormErrors, AppError> {
    let (user, pool, group_id, _, _) = manage_group(&form.group_slug).await?;
    let mut errors = FormErrors::default();
    let Some(valid) = validate(&form, &mut errors) else {
        return Ok(errors);
    };
    let mut tx = pool.begin().await?;
    let target = match form.event_id {
        // Editing.
        Some(event_id) => {
            let before = find_event(&mut tx, event_id)
                .await?
                .filter(|event| event.group_id == group_id)
                .ok_or_else(|| not_found("meetup"))?;
            if before.cancelled {
                return Ok(FormErrors::form(
                    "This meetup was cancelled; duplicate it to schedule it again.",
                ));
            }
            match (before.series_id, repeat.whole_series) {
                (Some(series_id), true) => {
                    // This and the later occurrences that were not edited on their own.
                    sqlx::query(
                        "UPDATE event_series SET template = $2, start_time = $3, duration_minutes = $4, time_zone = $5
                          WHERE id = $1",
                    )
                    .bind(series_id)
                    .bind(serde_json::to_value(&valid.template)?)
                    .bind(valid.start)
                    .bind(valid.duration.num_minutes() as i32)
                    .bind(&valid.time_zone)
                    .execute(&mut *tx)
                    .await
                    ?;
                    update_event(&mut tx, &before, &valid, false).await?;
                    let later: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM events WHERE series_id = $1 AND starts_at > $2 AND NOT detached
                            AND status = 'scheduled' AND id <> $3 ORDER BY starts_at",
                    )
                    .bind(series_id)
                    .bind(before.starts_at)
                    .bind(event_id)
                    .fetch_all(&mut *tx)
                    .await
                    ?;
                    for id in later {
                        let Some(other) = find_event(&mut tx, id).await? else {
                            continue;
                        };
                        let (date, _) = local_parts(other.starts_at, &other.time_zone);
                        let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
                            continue;
                        };
                        let Ok(starts_at) =
                            recurrence::local_to_utc(date, valid.start, &valid.time_zone)
                        else {
                            continue;
                        };
                        let shifted = Valid {
                            template: valid.template.clone(),
                            time_zone: valid.time_zone.clone(),
                            date,
                            start: valid.start,
                            duration: valid.duration,
                            starts_at,
                            ends_at: starts_at + valid.duration,
                            rsvp_opens_at: None,
                            rsvp_closes_at: None,
                        };
                        update_event(&mut tx, &other, &shifted, false).await?;
                    }
                }
                (series, _) => update_event(&mut tx, &before, &valid, series.is_some()).await?,
            }
            event_id
        }
        // Creating, possibly a series.
        None => {
            let rule = match Rule::from_form(&repeat.repeat, valid.date, repeat.last) {
                Ok(rule) => rule,
                Err(message) => {
                    errors.fields.push(("repeat".into(), message));
                    return Ok(errors);
                }
            };
            match rule {
                None => insert_event(&mut tx, group_id, user.id, &valid, None).await?,
                Some(rule) => {
                    let until = match repeat.until.trim() {
                        "" => None,
                        text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                            Ok(date) if date >= valid.date => Some(date),
                            _ => {
                                errors.fields.push((
                                    "repeat_until".into(),
                                    "The last date must be on or after the first.".into(),
                                ));
                                return Ok(errors);
                            }
                        },
                    };
                    let exceptions = match recurrence::parse_dates(&repeat.exceptions) {
                        Ok(dates) => dates,
                        Err(message) => {
                            errors.fields.push(("exceptions".into(), message));
                            return Ok(errors);
                        }
                    };
                    if exceptions.contains(&valid.date) {
                        errors.fields.push((
                            "exceptions".into(),
                            "The first date cannot also be skipped.".into(),
                        ));
                        return Ok(errors);
                    }
                    let series_id: i64 = sqlx::query_scalar(
                        "INSERT INTO event_series (group_id, rule, first_date, until_date, start_time, duration_minutes,
                                                   time_zone, exceptions, template)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    )
                    .bind(group_id)
                    .bind(serde_json::to_value(rule)?)
                    .bind(valid.date)
                    .bind(until)
                    .bind(valid.start)
                    .bind(valid.duration.num_minutes() as i32)
                    .bind(&valid.time_zone)
                    .bind(&exceptions)
                    .bind(serde_json::to_value(&valid.template)?)
                    .fetch_one(&mut *tx)
                    .await
                    ?;
                    // The first one carries the form's RSVP window; the rest are made from the rule.
                    let first = insert_event(
                        &mut tx,
                        group_id,
                        user.id,
                        &valid,
                        Some((series_id, valid.date)),
                    )
                    .await?;
                    materialize_series(&mut tx, series_id, valid.date).await?;
                    first
                }
            }
        }
    };
    tx.commit().await?;
    crate::redirect_local(&format!("/events/{target}"));
    Ok(FormErrors::default())
}
