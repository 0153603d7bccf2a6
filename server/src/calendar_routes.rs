//! HTTP routes for calendars and feeds (public, like the meetup pages) and the
//! organizer's CSV export (checked by the policy like every server function).

use crate::meetups;
use crate::state::PublicUrl;
use app::accounts::ssr::{user_for_session, ReadPool};
use app::accounts::CurrentUser;
use app::errors::internal;
use app::events::store::EventRow;
use app::groups::ssr::role_in;
use app::policy::{allows, Action, Actor, Role};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;
use tower_sessions::Session;

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("No such {what}.")).into_response()
}

/// Event ids and group slugs arrive as text; `calendar.ics` style suffixes are routed
/// separately, so anything unparsable is simply not found.
fn parse_id(text: &str) -> Option<i64> {
    text.parse().ok()
}

/// GET /events/{id}/event.ics: the meetup as a calendar file.
pub async fn event_ics(
    State(ReadPool(pool)): State<ReadPool>,
    State(public_url): State<PublicUrl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return not_found("meetup");
    };
    let event = match meetups::event_row(&pool, id).await {
        Ok(Some(event)) => event,
        Ok(None) => return not_found("meetup"),
        Err(error) => return internal(format!("{error:#}")).into_response(),
    };
    let base = public_url.base(&headers);
    let body = crate::calendar::event_ics(&meetups::cal_event(&event, &base), Some("PUBLISH"));
    (
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"meetup-{id}.ics\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// GET /groups/{slug}/calendar.ics: the subscribable feed of a group's meetups.
pub async fn group_ics(
    State(ReadPool(pool)): State<ReadPool>,
    State(public_url): State<PublicUrl>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    match meetups::group_calendar(&pool, &slug, &public_url.base(&headers)).await {
        Ok(Some(body)) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=900"),
            ],
            body,
        )
            .into_response(),
        Ok(None) => not_found("group"),
        Err(error) => internal(format!("{error:#}")).into_response(),
    }
}

/// GET /groups/{slug}/events.atom: upcoming meetups as an Atom feed.
pub async fn group_atom(
    State(ReadPool(pool)): State<ReadPool>,
    State(public_url): State<PublicUrl>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    match meetups::group_atom(&pool, &slug, &public_url.base(&headers)).await {
        Ok(Some(body)) => (
            [
                (header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=900"),
            ],
            body,
        )
            .into_response(),
        Ok(None) => not_found("group"),
        Err(error) => internal(format!("{error:#}")).into_response(),
    }
}

/// The meetup of `/events/{id}/{file}`, the logged-in member and their role in its group;
/// a visitor who is not logged in is sent to log in and then back to the file.
async fn member_and_event(
    pool: &PgPool,
    session: &Session,
    id: &str,
    file: &str,
) -> Result<(i64, CurrentUser, EventRow, Option<Role>), Response> {
    let Some(id) = parse_id(id) else {
        return Err(not_found("meetup"));
    };
    let Ok(user) = user_for_session(pool, session).await else {
        return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
    };
    let Some(user) = user else {
        return Err(
            Redirect::to(&format!("/login?next=%2Fevents%2F{id}%2F{file}")).into_response(),
        );
    };
    let event = match meetups::event_row(pool, id).await {
        Ok(Some(event)) => event,
        Ok(None) => return Err(not_found("meetup")),
        Err(error) => return Err(internal(format!("{error:#}")).into_response()),
    };
    let Ok(role) = role_in(pool, event.group_id, Some(&user)).await else {
        return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
    };
    Ok((id, user, event, role))
}

/// GET /events/{id}/attendees.csv: for the group's organizers and instance admins.
pub async fn attendees_csv(
    State(pool): State<PgPool>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let (id, user, event, role) =
        match member_and_event(&pool, &session, &id, "attendees.csv").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    if !allows(
        Actor {
            user: Some(&user),
            role,
        },
        Action::ManageEvents,
    ) {
        return (StatusCode::FORBIDDEN, "You are not allowed to do that.").into_response();
    }
    match meetups::attendees_csv(&pool, &event).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"attendees-{id}.csv\""),
                ),
            ],
            body,
        )
            .into_response(),
        Err(error) => internal(format!("{error:#}")).into_response(),
    }
}

/// GET /events/{id}/report: the meetup's one-page report, for the group's members (and
/// organizers and admins) once it has started.
pub async fn meetup_report(
    State(pool): State<PgPool>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    report(pool, session, id, false).await
}

/// GET /events/{id}/report.html: the same report as a file to keep or send.
pub async fn meetup_report_download(
    State(pool): State<PgPool>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    report(pool, session, id, true).await
}

async fn report(pool: PgPool, session: Session, id: String, download: bool) -> Response {
    let file = if download { "report.html" } else { "report" };
    let (id, user, event, role) = match member_and_event(&pool, &session, &id, file).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let actor = Actor {
        user: Some(&user),
        role,
    };
    if !allows(actor, Action::TakePart) && !allows(actor, Action::ManageEvents) {
        return (
            StatusCode::FORBIDDEN,
            "The meetup's report is for the group's members.",
        )
            .into_response();
    }
    if event.cancelled || event.starts_at > chrono::Utc::now() {
        return (
            StatusCode::NOT_FOUND,
            "A meetup's report is written once it has started.",
        )
            .into_response();
    }
    match app::events::report::report(&pool, &event).await {
        Ok(html) => {
            let mut headers = vec![
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                (
                    header::CONTENT_SECURITY_POLICY,
                    app::events::report::content_security_policy(),
                ),
            ];
            if download {
                headers.push((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"meetup-report-{id}.html\""),
                ));
            }
            let mut response = html.into_response();
            for (name, value) in headers {
                if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Err(error) => error.into_response(),
    }
}
