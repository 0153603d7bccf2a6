//! Reading an event as its viewer may see it: the event page's data.

use super::*;
use crate::accounts::ssr::{current_user, read_pool};
use crate::errors::AppError;
use crate::events::recurrence::Rule;
use crate::events::ssr::format_when;
use crate::events::types::{CommentView, EventDetail, MyRsvp, TalkView};
use crate::policy::{allows, Action, Actor};
use chrono::{DateTime, NaiveDate, Utc};

pub async fn event_detail(id: i64) -> Result<EventDetail, AppError> {
    let pool = read_pool()?;
    let user = current_user().await?;
    // One connection for the page's dozen statements: sqlx checks each connection given
    // back to the pool with a round trip, which was one more per statement.
    let mut conn = pool.acquire().await?;
    let (event, role) = access_with(&mut conn, id, user.as_ref(), Action::ViewGroup).await?;
    let actor = Actor {
        user: user.as_ref(),
        role,
    };
    let now = Utc::now();
    let is_member = allows(actor, Action::TakePart);
    let can_manage = allows(actor, Action::ManageEvents);
    let everyone = attendees(&mut *conn, id).await?;
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
            .fetch_one(&mut *conn)
            .await?;
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
    .fetch_all(&mut *conn)
    .await?;
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
                insight: None,
            },
        )
        .collect::<Vec<_>>();
    // Frozen insights: for the group's members.
    let zone = user
        .as_ref()
        .map_or(event.time_zone.as_str(), |user| user.time_zone.as_str())
        .to_string();
    let mut talks = talks;
    if is_member || can_manage {
        let ids: Vec<i64> = talks.iter().map(|t| t.id).collect();
        let mut frozen = crate::insights::talk::ssr::for_talks(&mut *conn, &ids, &zone).await?;
        for talk in &mut talks {
            talk.insight = frozen.remove(&talk.id).map(|insight| {
                crate::html::render(move || {
                    leptos::prelude::view! { <crate::insights::talk::TalkInsight insight /> }
                })
            });
        }
    }
    let my_insights = match &user {
        Some(user) if is_member && !event.cancelled && talks.iter().any(|t| t.mine) => {
            crate::insights::talk::ssr::choices(&mut *conn, user.id).await?
        }
        _ => Vec::new(),
    };

    let comments = if is_member || can_manage {
        let rows: Vec<CommentRow> = sqlx::query_as(
            "SELECT c.id, c.user_id, u.display_name, c.body, c.created_at, c.hidden_at IS NOT NULL
               FROM event_comments c LEFT JOIN users u ON u.id = c.user_id
              WHERE c.event_id = $1 ORDER BY c.created_at, c.id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
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
        Some(series_id) => series_label(&mut *conn, series_id).await?,
        None => None,
    };
    let figures = match &user {
        Some(user) if is_member && !event.cancelled => Some(
            crate::insights::meetup::ssr::figures(
                &mut conn,
                id,
                event.group_id,
                user.id,
                &user.time_zone,
                event.starts_at,
            )
            .await
            .map(|figures| {
                crate::html::render(move || {
                    leptos::prelude::view! { <crate::insights::meetup::MeetupFiguresView figures /> }
                })
            })?,
        ),
        _ => None,
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
        started: event.starts_at <= now,
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
        figures,
        my_insights,
    })
}

pub(super) async fn series_label(
    db: impl sqlx::PgExecutor<'_>,
    series_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(serde_json::Value, NaiveDate)> =
        sqlx::query_as("SELECT rule, first_date FROM event_series WHERE id = $1")
            .bind(series_id)
            .fetch_optional(db)
            .await?;
    Ok(row.and_then(|(rule, first)| {
        serde_json::from_value::<Rule>(rule)
            .ok()
            .map(|rule| rule.describe(first))
    }))
}
