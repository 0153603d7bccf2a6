//! `/api/v1/metrics` and `/api/v1/events`: what can be tracked, and the member's groups'
//! meetups.

use super::common::*;
use super::types::*;
use crate::state::PublicUrl;
use app::accounts::ssr::ReadPool;
use app::track::catalogue::member_metrics;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The metrics the member can log: the catalogue and their own.
#[utoipa::path(
    get,
    path = "/api/v1/metrics",
    tag = "metrics",
    responses(
        (status = 200, description = "Every metric", body = MetricList),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]

pub async fn get_metrics(
    State(pool): State<PgPool>,
    State(ReadPool(read)): State<ReadPool>,
    headers: HeaderMap,
) -> Result<Json<MetricList>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
    // The token's check counts the request (a write, on the primary); the rest only
    // reads, on the replica when there is one.
    let pool = read;
    let metrics = {
        let mut conn = pool.acquire().await?;
        member_metrics(&mut conn, caller.user_id).await?
    };
    Ok(Json(MetricList {
        data: metrics
            .into_iter()
            .map(|m| MetricOut {
                custom: m.owner_id.is_some(),
                key: m.key,
                name: m.name,
                kind: m.kind,
                unit: m.unit,
                display_unit: m.display_unit,
                aggregate: m.aggregate,
                min: m.min_value,
                max: m.max_value,
                goal: m.goal,
                pinned: m.pinned,
            })
            .collect(),
    }))
}

/// Meetups of the member's groups: the last 30 days and everything ahead, soonest first.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    responses(
        (status = 200, description = "Meetups", body = EventList),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_events(
    State(pool): State<PgPool>,
    State(ReadPool(read)): State<ReadPool>,
    State(public_url): State<PublicUrl>,
    headers: HeaderMap,
) -> Result<Json<EventList>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
    // The token's check counts the request (a write, on the primary); the rest only
    // reads, on the replica when there is one.
    let pool = read;
    type Row = (
        i64,
        String,
        String,
        String,
        DateTime<Utc>,
        DateTime<Utc>,
        String,
        String,
        String,
        bool,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.id, g.slug, g.name, e.title, e.starts_at, e.ends_at, e.time_zone, e.venue,
                e.address, e.status = 'cancelled', r.answer::text, r.seat::text
           FROM events e JOIN groups g ON g.id = e.group_id
           JOIN memberships ms ON ms.group_id = g.id AND ms.user_id = $1
           LEFT JOIN rsvps r ON r.event_id = e.id AND r.user_id = $1
          WHERE e.ends_at > now() - interval '30 days'
          ORDER BY e.starts_at, e.id LIMIT 500",
    )
    .bind(caller.user_id)
    .fetch_all(&pool)
    .await?;
    let base = public_url.base(&headers);
    Ok(Json(EventList {
        data: rows
            .into_iter()
            .map(
                |(
                    id,
                    group,
                    group_name,
                    title,
                    starts_at,
                    ends_at,
                    time_zone,
                    venue,
                    address,
                    cancelled,
                    answer,
                    seat,
                )| EventOut {
                    url: format!("{base}/events/{id}"),
                    id,
                    group,
                    group_name,
                    title,
                    starts_at,
                    ends_at,
                    time_zone,
                    venue,
                    address,
                    cancelled,
                    my_rsvp: answer,
                    my_seat: seat,
                },
            )
            .collect(),
    }))
}
