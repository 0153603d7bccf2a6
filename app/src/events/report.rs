//! A meetup's one-page report, for its group's members once it has started: when and
//! where, the attendance (going, seats, the waitlist, checked in), the talks given with
//! their frozen insights, and the group's figures as published for the meetup. One
//! self-contained HTML document (the app's stylesheet inside it, no script, nothing
//! fetched), to share as a link or download as a file; every text in it escaped by
//! construction (drawn by Leptos on the server, `crate::html::render`).

use crate::errors::AppError;
use crate::events::store::EventRow;
use crate::html::render;
use crate::insights::meetup::{MeetupFigures, MeetupFiguresView};
use crate::insights::talk::{FrozenInsight, TalkInsight};
use chrono::Utc;
use leptos::prelude::*;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// The app's stylesheet, inside every report.
pub const STYLE: &str = include_str!("../../../style/main.css");

/// The report's Content-Security-Policy: nothing loads or runs; only its own stylesheet
/// (by its hash) applies.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src data:; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'none'",
        base64(&Sha256::digest(STYLE.as_bytes()))
    )
}

/// Standard base64 with padding (RFC 4648), for the stylesheet's hash.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

struct Talk {
    title: String,
    speaker: String,
    minutes: i32,
    abstract_text: String,
    insight: Option<FrozenInsight>,
}

/// The report of a meetup that has started, as a whole HTML document.
pub async fn report(pool: &PgPool, event: &EventRow) -> Result<String, AppError> {
    let (going, waitlisted, checked_in): (i64, i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(1 + guests) FILTER (WHERE seat = 'going'), 0)::bigint,
                count(*) FILTER (WHERE seat = 'waitlisted'),
                coalesce(sum(1 + guests) FILTER (WHERE checked_in_at IS NOT NULL), 0)::bigint
           FROM rsvps WHERE event_id = $1",
    )
    .bind(event.id)
    .fetch_one(pool)
    .await?;
    let rows: Vec<(i64, Option<String>, String, String, i32)> = sqlx::query_as(
        "SELECT t.id, u.display_name, t.title, t.abstract, t.minutes
           FROM talks t LEFT JOIN users u ON u.id = t.user_id
          WHERE t.event_id = $1 AND t.status = 'accepted'
          ORDER BY t.decided_at NULLS LAST, t.id",
    )
    .bind(event.id)
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut frozen = crate::insights::talk::ssr::for_talks(pool, &ids, &event.time_zone).await?;
    let talks: Vec<Talk> = rows
        .into_iter()
        .map(|(id, speaker, title, abstract_text, minutes)| Talk {
            title,
            speaker: speaker.unwrap_or_else(|| "A former member".into()),
            minutes,
            abstract_text,
            insight: frozen.remove(&id),
        })
        .collect();
    // Nobody's standing: the report is shared.
    let figures: MeetupFigures = crate::insights::meetup::ssr::figures(
        &mut *pool.acquire().await?,
        event.id,
        event.group_id,
        0,
        &event.time_zone,
        event.starts_at,
    )
    .await?;
    let (date, time) =
        crate::events::ssr::format_when(event.starts_at, event.ends_at, &event.time_zone);
    let title = format!("{}: meetup report", event.title);
    let seats = event
        .capacity
        .map_or("no limit".to_string(), |c| c.to_string());
    let written = Utc::now().format("%-d %b %Y %H:%M UTC").to_string();
    let (group, place) = (
        event.group_name.clone(),
        [event.venue.as_str(), event.address.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
    );
    let heading = title.clone();
    let body = render(move || {
        view! {
            <main id="content" class="meetup-report">
                <p class="crumbs">{group}</p>
                <h1>{heading}</h1>
                <p>{date}", "{time}{(!place.is_empty()).then(|| format!(" · {place}"))}</p>
                <section aria-labelledby="attendance-heading">
                    <h2 id="attendance-heading">"Attendance"</h2>
                    <dl class="event-facts">
                        <dt>"Going"</dt><dd class="going">{going}</dd>
                        <dt>"Seats"</dt><dd>{seats}</dd>
                        <dt>"Waitlist"</dt><dd>{waitlisted}</dd>
                        <dt>"Checked in"</dt><dd class="checked-in">{checked_in}</dd>
                    </dl>
                </section>
                <section class="agenda" aria-labelledby="talks-heading">
                    <h2 id="talks-heading">"Talks given"</h2>
                    {if talks.is_empty() {
                        view! { <p class="muted">"No talks."</p> }.into_any()
                    } else {
                        view! {
                            <ol class="talks">
                                {talks.into_iter().map(|talk| view! {
                                    <li>
                                        <strong>{talk.title}</strong>" · "{talk.speaker}" · "{talk.minutes}" min"
                                        {(!talk.abstract_text.is_empty()).then(|| view! { <p class="abstract">{talk.abstract_text}</p> })}
                                        {talk.insight.map(|insight| view! { <TalkInsight insight /> })}
                                    </li>
                                }).collect_view()}
                            </ol>
                        }.into_any()
                    }}
                </section>
                <MeetupFiguresView figures />
                <p class="muted">"Written by Cohort on "{written}". Group figures count at least k members and never one member's value."</p>
            </main>
        }
    });
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{}</body></html>\n",
        crate::html::escape(&title),
        body.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
