//! Server side of the meetup pages: reading an event as a viewer may see it, the event
//! form (create, edit, duplicate, series), cancelling, comments, talks, the organizer
//! view and check-in. Seats and the waitlist are in `seats`.

use super::recurrence::{self, Rule};
use super::seats::{self, Answer, Outcome, RsvpError};
use super::ssr::format_when;
use super::types::{
    Attendee, CommentView, EventDetail, EventFormData, ManageData, MyRsvp, OutboxEmail, RsvpGate,
    TalkView,
};
use crate::accounts::ssr::{current_user, pool, require_user};
use crate::accounts::{CurrentUser, FormErrors};
use crate::errors::{forbidden, internal, invalid, not_found};
use crate::groups::ssr::role_in;
use crate::jobs::{self, Notice};
use crate::policy::{allows, Action, Actor, Role};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

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

/// Markdown to HTML that is safe to put in the page: pulldown-cmark renders, ammonia
/// keeps only harmless tags and attributes (links get `rel="noopener noreferrer"`).
pub fn render_markdown(markdown: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, parser);
    ammonia::clean(&unsafe_html)
}

/// The description as plain text, cut to about `limit` characters (link previews, feeds).
pub fn plain_summary(markdown: &str, limit: usize) -> String {
    use pulldown_cmark::{Event, Parser};
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(part) | Event::Code(part) => text.push_str(&part),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut summary = String::new();
    for word in words {
        if summary.chars().count() + word.chars().count() + 1 > limit {
            summary.push('…');
            break;
        }
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(word);
    }
    summary
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
) -> Result<(EventRow, Option<Role>), ServerFnError> {
    // One connection at a time: holding one while asking the pool for another can
    // starve the pool under load.
    let event = {
        let mut conn = pool.acquire().await.map_err(internal)?;
        find_event(&mut conn, event_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| not_found("meetup"))?
    };
    let role = role_in(pool, event.group_id, user).await?;
    if !allows(Actor { user, role }, action) {
        return Err(if user.is_none() {
            crate::errors::unauthorized()
        } else {
            forbidden()
        });
    }
    Ok((event, role))
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
pub async fn attendees(pool: &PgPool, event_id: i64) -> Result<Vec<Attendee>, sqlx::Error> {
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
    .fetch_all(pool)
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

pub async fn event_detail(id: i64) -> Result<EventDetail, ServerFnError> {
    let pool = pool()?;
    let user = current_user().await?;
    let (event, role) = access(&pool, id, user.as_ref(), Action::ViewGroup).await?;
    let actor = Actor {
        user: user.as_ref(),
        role,
    };
    let now = Utc::now();
    let is_member = allows(actor, Action::TakePart);
    let can_manage = allows(actor, Action::ManageEvents);
    let everyone = attendees(&pool, id).await.map_err(internal)?;
    let seats_taken = everyone
        .iter()
        .filter(|a| a.status == "going" || a.status == "offered")
        .map(|a| 1 + i64::from(a.guests))
        .sum();
    let waitlist_count = everyone.iter().filter(|a| a.status == "waitlisted").count() as i64;
    let past = event.ends_at <= now;
    let checked_in: i64 = everyone
        .iter()
        .filter(|a| a.checked_in)
        .map(|a| 1 + i64::from(a.guests))
        .sum();

    let my_rsvp = match &user {
        Some(user) => everyone.iter().find(|a| a.user_id == user.id).map(|mine| {
            let seat = matches!(mine.status.as_str(), "going" | "offered" | "waitlisted")
                .then(|| mine.status.clone());
            MyRsvp {
                answer: if seat.is_some() {
                    "yes".into()
                } else {
                    mine.status.clone()
                },
                guests: mine.guests,
                seat,
                position: mine.position,
                offer_expires: None,
                checked_in: mine.checked_in,
            }
        }),
        None => None,
    };
    let my_rsvp = match (my_rsvp, &user) {
        (Some(mut mine), Some(user)) if mine.seat.as_deref() == Some("offered") => {
            let expires: Option<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT offer_expires_at FROM rsvps WHERE event_id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(user.id)
            .fetch_one(&pool)
            .await
            .map_err(internal)?;
            mine.offer_expires = expires.map(|at| moment_label(at, &event.time_zone));
            Some(mine)
        }
        (mine, _) => mine,
    };
    let has_seat = my_rsvp
        .as_ref()
        .is_some_and(|mine| mine.seat.as_deref() == Some("going"));

    let talks: Vec<TalkRow> = sqlx::query_as(
        "SELECT t.id, t.user_id, u.display_name, t.title, t.abstract, t.minutes, t.status::text
           FROM talks t LEFT JOIN users u ON u.id = t.user_id
          WHERE t.event_id = $1
          ORDER BY t.status = 'accepted' DESC, t.decided_at NULLS LAST, t.id",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .map_err(internal)?;
    let viewer_id = user.as_ref().map(|user| user.id);
    let talks = talks
        .into_iter()
        .filter(|(_, speaker, _, _, _, _, status)| {
            status == "accepted" || can_manage || (speaker.is_some() && *speaker == viewer_id)
        })
        .map(
            |(id, speaker, name, title, abstract_text, minutes, status)| TalkView {
                id,
                speaker: name.unwrap_or_else(|| "A former member".into()),
                title,
                abstract_text,
                minutes,
                status,
                mine: speaker.is_some() && speaker == viewer_id,
            },
        )
        .collect();

    let comments = if is_member || can_manage {
        let rows: Vec<CommentRow> = sqlx::query_as(
            "SELECT c.id, c.user_id, u.display_name, c.body, c.created_at, c.hidden_at IS NOT NULL
               FROM event_comments c LEFT JOIN users u ON u.id = c.user_id
              WHERE c.event_id = $1 ORDER BY c.created_at, c.id",
        )
        .bind(id)
        .fetch_all(&pool)
        .await
        .map_err(internal)?;
        let zone = user
            .as_ref()
            .map_or(event.time_zone.as_str(), |user| user.time_zone.as_str());
        Some(
            rows.into_iter()
                .map(
                    |(id, author_id, author, body, created, hidden)| CommentView {
                        id,
                        author: author.unwrap_or_else(|| "A former member".into()),
                        body: if hidden && !can_manage {
                            String::new()
                        } else {
                            body
                        },
                        posted: moment_label(created, zone),
                        hidden,
                        mine: author_id.is_some() && author_id == viewer_id,
                    },
                )
                .collect(),
        )
    } else {
        None
    };

    let (date_label, time_label) = format_when(event.starts_at, event.ends_at, &event.time_zone);
    let viewer_time = user
        .as_ref()
        .filter(|user| user.time_zone != event.time_zone)
        .map(|user| {
            let (date, time) = format_when(event.starts_at, event.ends_at, &user.time_zone);
            format!("{date}, {time} in your zone ({})", user.time_zone)
        });
    let series = match event.series_id {
        Some(series_id) => series_label(&pool, series_id).await.map_err(internal)?,
        None => None,
    };
    Ok(EventDetail {
        id,
        group_slug: event.group_slug.clone(),
        group_name: event.group_name.clone(),
        title: event.title.clone(),
        body_html: render_markdown(&event.body_md),
        summary: plain_summary(&event.body_md, 200),
        starts_at: event.starts_at,
        ends_at: event.ends_at,
        date_label,
        time_label,
        time_zone: event.time_zone.clone(),
        viewer_time,
        venue: event.venue.clone(),
        address: event.address.clone(),
        map_url: map_url(&event.address),
        online_url: (has_seat || can_manage)
            .then(|| event.online_url.clone())
            .filter(|url| !url.is_empty()),
        has_online_link: !event.online_url.is_empty(),
        capacity: event.capacity,
        seats_taken,
        waitlist_count,
        max_guests: event.max_guests,
        gate: gate(&event, now),
        cancelled: event.cancelled,
        cancel_reason: event.cancel_reason.clone(),
        past,
        series,
        attendance: past.then_some(checked_in),
        logged_in: user.is_some(),
        is_member,
        can_manage,
        my_rsvp,
        attendees: (is_member || can_manage).then_some(everyone),
        talks,
        comments,
        can_moderate: can_manage,
    })
}

async fn series_label(pool: &PgPool, series_id: i64) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(serde_json::Value, NaiveDate)> =
        sqlx::query_as("SELECT rule, first_date FROM event_series WHERE id = $1")
            .bind(series_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(rule, first)| {
        serde_json::from_value::<Rule>(rule)
            .ok()
            .map(|rule| rule.describe(first))
    }))
}

pub async fn rsvp(event_id: i64, answer: String, guests: i32) -> Result<String, ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    access(&pool, event_id, Some(&user), Action::Rsvp).await?;
    let answer = Answer::parse(&answer).ok_or_else(|| invalid("Answer yes, maybe or no."))?;
    let mut tx = pool.begin().await.map_err(internal)?;
    let outcome = seats::set_rsvp(&mut tx, event_id, user.id, answer, guests, Utc::now()).await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(RsvpError::Refused(message)) => return Err(invalid(message)),
        Err(RsvpError::Database(error)) => return Err(internal(error)),
    };
    tx.commit().await.map_err(internal)?;
    Ok(match outcome {
        Outcome::Going => "You're going. A confirmation with a calendar file is on its way.".into(),
        Outcome::Waitlisted { position } => {
            format!("The meetup is full: you are number {position} on the waitlist. We'll e-mail you if a seat frees.")
        }
        Outcome::Answered(Answer::Maybe) => "Marked as maybe.".into(),
        Outcome::Answered(_) => "Marked as not going.".into(),
    })
}

/// The group, the member and their role, once they may manage the group's meetups.
async fn manage_group(
    slug: &str,
) -> Result<(CurrentUser, PgPool, i64, String, String), ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    let group: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, time_zone FROM groups WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&pool)
            .await
            .map_err(internal)?;
    let (group_id, name, zone) = group.ok_or_else(|| not_found("group"))?;
    let role = role_in(&pool, group_id, Some(&user)).await?;
    if !allows(
        Actor {
            user: Some(&user),
            role,
        },
        Action::ManageEvents,
    ) {
        return Err(forbidden());
    }
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

pub async fn new_event_form(
    slug: String,
    from: Option<i64>,
) -> Result<EventFormData, ServerFnError> {
    let (_, pool, group_id, group_name, zone) = manage_group(&slug).await?;
    if let Some(from) = from {
        let mut conn = pool.acquire().await.map_err(internal)?;
        let event = find_event(&mut conn, from)
            .await
            .map_err(internal)?
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

pub async fn edit_event_form(id: i64) -> Result<EventFormData, ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, id, Some(&user), Action::ManageEvents).await?;
    let mut form = form_from_event(&event);
    if let Some(series_id) = event.series_id {
        form.series_label = series_label(&pool, series_id).await.map_err(internal)?;
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
struct Valid {
    template: Template,
    time_zone: String,
    date: NaiveDate,
    start: NaiveTime,
    duration: TimeDelta,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    rsvp_opens_at: Option<DateTime<Utc>>,
    rsvp_closes_at: Option<DateTime<Utc>>,
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

fn validate(form: &EventFormData, errors: &mut FormErrors) -> Option<Valid> {
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

async fn insert_event(
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

pub async fn save_event(
    form: EventFormData,
    repeat: RepeatInput,
) -> Result<FormErrors, ServerFnError> {
    let (user, pool, group_id, _, _) = manage_group(&form.group_slug).await?;
    let mut errors = FormErrors::default();
    let Some(valid) = validate(&form, &mut errors) else {
        return Ok(errors);
    };
    let mut tx = pool.begin().await.map_err(internal)?;
    let target = match form.event_id {
        // Editing.
        Some(event_id) => {
            let before = find_event(&mut tx, event_id)
                .await
                .map_err(internal)?
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
                    .bind(serde_json::to_value(&valid.template).map_err(internal)?)
                    .bind(valid.start)
                    .bind(valid.duration.num_minutes() as i32)
                    .bind(&valid.time_zone)
                    .execute(&mut *tx)
                    .await
                    .map_err(internal)?;
                    update_event(&mut tx, &before, &valid, false)
                        .await
                        .map_err(internal)?;
                    let later: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM events WHERE series_id = $1 AND starts_at > $2 AND NOT detached
                            AND status = 'scheduled' AND id <> $3 ORDER BY starts_at",
                    )
                    .bind(series_id)
                    .bind(before.starts_at)
                    .bind(event_id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(internal)?;
                    for id in later {
                        let Some(other) = find_event(&mut tx, id).await.map_err(internal)? else {
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
                        update_event(&mut tx, &other, &shifted, false)
                            .await
                            .map_err(internal)?;
                    }
                }
                (series, _) => update_event(&mut tx, &before, &valid, series.is_some())
                    .await
                    .map_err(internal)?,
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
                None => insert_event(&mut tx, group_id, user.id, &valid, None)
                    .await
                    .map_err(internal)?,
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
                    .bind(serde_json::to_value(rule).map_err(internal)?)
                    .bind(valid.date)
                    .bind(until)
                    .bind(valid.start)
                    .bind(valid.duration.num_minutes() as i32)
                    .bind(&valid.time_zone)
                    .bind(&exceptions)
                    .bind(serde_json::to_value(&valid.template).map_err(internal)?)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(internal)?;
                    // The first one carries the form's RSVP window; the rest are made from the rule.
                    let first = insert_event(
                        &mut tx,
                        group_id,
                        user.id,
                        &valid,
                        Some((series_id, valid.date)),
                    )
                    .await
                    .map_err(internal)?;
                    materialize_series(&mut tx, series_id, valid.date)
                        .await
                        .map_err(internal)?;
                    first
                }
            }
        }
    };
    tx.commit().await.map_err(internal)?;
    crate::redirect_local(&format!("/events/{target}"));
    Ok(FormErrors::default())
}

pub async fn cancel_event(event_id: i64, reason: String) -> Result<(), ServerFnError> {
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
    let mut tx = pool.begin().await.map_err(internal)?;
    seats::lock_event(&mut tx, event_id)
        .await
        .map_err(internal)?;
    sqlx::query(
        "UPDATE events SET status = 'cancelled', cancel_reason = $2, sequence = sequence + 1, updated_at = now()
          WHERE id = $1",
    )
    .bind(event_id)
    .bind(&reason)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
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
        .await
        .map_err(internal)?;
    }
    if event.ends_at > Utc::now() {
        let audience: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM rsvps WHERE event_id = $1 AND answer IN ('yes', 'maybe')",
        )
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(internal)?;
        for user_id in audience {
            jobs::notify(
                &mut tx,
                event_id,
                user_id,
                Notice::Cancelled {
                    reason: reason.clone(),
                },
            )
            .await
            .map_err(internal)?;
        }
    }
    tx.commit().await.map_err(internal)?;
    Ok(())
}

pub async fn post_comment(event_id: i64, body: String) -> Result<(), ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    access(&pool, event_id, Some(&user), Action::TakePart).await?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Err(invalid("Write a comment of up to 4,000 characters."));
    }
    sqlx::query("INSERT INTO event_comments (event_id, user_id, body) VALUES ($1, $2, $3)")
        .bind(event_id)
        .bind(user.id)
        .bind(body)
        .execute(&pool)
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn moderate_comment(comment_id: i64, action: String) -> Result<(), ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT event_id, user_id FROM event_comments WHERE id = $1")
            .bind(comment_id)
            .fetch_optional(&pool)
            .await
            .map_err(internal)?;
    let (event_id, author) = row.ok_or_else(|| not_found("comment"))?;
    match action.as_str() {
        "delete" if author == Some(user.id) => {
            access(&pool, event_id, Some(&user), Action::ViewGroup).await?;
            sqlx::query("DELETE FROM event_comments WHERE id = $1")
                .bind(comment_id)
                .execute(&pool)
                .await
                .map_err(internal)?;
        }
        "hide" | "show" => {
            access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
            sqlx::query(
                "UPDATE event_comments SET hidden_at = CASE WHEN $2 THEN now() END, hidden_by = CASE WHEN $2 THEN $3 END
                  WHERE id = $1",
            )
            .bind(comment_id)
            .bind(action == "hide")
            .bind(user.id)
            .execute(&pool)
            .await
            .map_err(internal)?;
        }
        "delete" => return Err(forbidden()),
        _ => return Err(invalid("Hide, show or delete a comment.")),
    }
    Ok(())
}

pub async fn propose_talk(
    event_id: i64,
    title: String,
    abstract_text: String,
    minutes: String,
) -> Result<FormErrors, ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, event_id, Some(&user), Action::TakePart).await?;
    if event.cancelled || event.ends_at <= Utc::now() {
        return Ok(FormErrors::form(
            "Talks can be proposed for meetups still to come.",
        ));
    }
    let mut errors = FormErrors::default();
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        errors.fields.push((
            "title".into(),
            "Give the talk a title of up to 200 characters.".into(),
        ));
    }
    if abstract_text.chars().count() > 4000 {
        errors.fields.push((
            "abstract_text".into(),
            "Keep the abstract under 4,000 characters.".into(),
        ));
    }
    let minutes = match minutes.trim().parse::<i32>() {
        Ok(minutes) if (1..=120).contains(&minutes) => minutes,
        _ => {
            errors.fields.push((
                "minutes".into(),
                "Say how long it takes: 1 to 120 minutes.".into(),
            ));
            0
        }
    };
    if !errors.is_empty() {
        return Ok(errors);
    }
    sqlx::query("INSERT INTO talks (event_id, user_id, title, abstract, minutes) VALUES ($1, $2, $3, $4, $5)")
        .bind(event_id)
        .bind(user.id)
        .bind(title)
        .bind(abstract_text.trim())
        .bind(minutes)
        .execute(&pool)
        .await
        .map_err(internal)?;
    Ok(FormErrors::default())
}

pub async fn decide_talk(talk_id: i64, decision: String) -> Result<(), ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    let event_id: i64 = sqlx::query_scalar("SELECT event_id FROM talks WHERE id = $1")
        .bind(talk_id)
        .fetch_optional(&pool)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("talk"))?;
    access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
    let status = match decision.as_str() {
        "accept" => "accepted",
        "decline" => "declined",
        _ => return Err(invalid("Accept or decline the talk.")),
    };
    sqlx::query("UPDATE talks SET status = $2::talk_status, decided_at = now() WHERE id = $1")
        .bind(talk_id)
        .bind(status)
        .execute(&pool)
        .await
        .map_err(internal)?;
    Ok(())
}

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

pub async fn manage_data(event_id: i64) -> Result<ManageData, ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
    manage_data_for(&pool, &event).await.map_err(internal)
}

pub async fn check_in(event_id: i64, user_id: i64, present: bool) -> Result<(), ServerFnError> {
    let user = require_user().await?;
    let pool = pool()?;
    let (event, _) = access(&pool, event_id, Some(&user), Action::ManageEvents).await?;
    let member: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM memberships WHERE group_id = $1 AND user_id = $2")
            .bind(event.group_id)
            .bind(user_id)
            .fetch_optional(&pool)
            .await
            .map_err(internal)?;
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
    .map_err(internal)?;
    Ok(())
}

pub async fn outbox() -> Result<Vec<OutboxEmail>, ServerFnError> {
    let user = require_user().await?;
    if !allows(
        Actor {
            user: Some(&user),
            role: None,
        },
        Action::AdministerInstance,
    ) {
        return Err(forbidden());
    }
    let pool = pool()?;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, String, String, String, String, DateTime<Utc>, String, bool)> = sqlx::query_as(
        "SELECT id, to_name, to_address, subject, kind, status::text, created_at, text_body, ics IS NOT NULL
           FROM emails ORDER BY created_at DESC, id DESC LIMIT 200",
    )
    .fetch_all(&pool)
    .await
    .map_err(internal)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, address, subject, kind, status, created, text_body, has_ics)| OutboxEmail {
                id,
                to: format!("{name} <{address}>"),
                subject,
                kind,
                status,
                created: moment_label(created, &user.time_zone),
                text_body,
                has_ics,
            },
        )
        .collect())
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
