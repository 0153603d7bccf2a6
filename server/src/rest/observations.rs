//! `/api/v1/observations`: sending a batch (each item checked as Distill will, valid
//! ones landed) and reading them back a page at a time.

use super::common::*;
use super::types::*;
use app::accounts::ssr::ReadPool;
use app::pipeline::capture::{land, Landing};
use app::track::catalogue::{member_metrics, MetricIndex};
use app::track::entry::{check_item, idempotency_key};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use std::collections::HashMap;

/// Send observations.
///
/// Up to 10,000 per request. Each item is checked at once: valid ones are stored (as
/// received, then distilled in the background), duplicates of an idempotency key
/// already received add nothing, and invalid ones are answered with the reason and
/// not stored. The answer lists every item's fate by its index.
#[utoipa::path(
    post,
    path = "/api/v1/observations",
    tag = "observations",
    request_body = ObservationBatch,
    responses(
        (status = 200, description = "What happened to each item", body = BatchResult),
        (status = 400, description = "The body is not a batch", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "A read-only token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "More than 10,000 items", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn post_observations(
    State(pool): State<PgPool>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<BatchResult>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Write).await?;
    let Json(body) = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The body is too large; send at most 16 MiB.",
            )
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("The body is not valid JSON: {}", rejection.body_text()),
            )
        }
    })?;
    let items = body
        .get("observations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "Send {\"observations\": [ … ]}.",
            )
        })?;
    if items.is_empty() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "The batch is empty.",
        ));
    }
    if items.len() > MAX_BATCH {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "{} observations in one request; send at most {MAX_BATCH}.",
                items.len()
            ),
        ));
    }
    let now = Utc::now();
    let metrics = {
        let mut conn = pool.acquire().await?;
        member_metrics(&mut conn, caller.user_id).await?
    };
    let by_key = MetricIndex::new(&metrics);
    let mut results: Vec<ItemResult> = Vec::with_capacity(items.len());
    let (mut keys, mut payloads) = (Vec::new(), Vec::new());
    for (index, item) in items.iter().enumerate() {
        let key = idempotency_key(item);
        let checked = key
            .clone()
            .and_then(|_| check_item(item, &by_key, &caller.time_zone, now));
        match (key, checked) {
            (Ok(key), Ok(())) => {
                keys.push(key.clone());
                payloads.push(item.clone());
                results.push(ItemResult {
                    index,
                    idempotency_key: Some(key),
                    status: ItemStatus::Accepted,
                    error: None,
                });
            }
            (key, Err(reason)) => results.push(ItemResult {
                index,
                idempotency_key: key.ok(),
                status: ItemStatus::Rejected,
                error: Some(reason),
            }),
            (Err(reason), Ok(())) => results.push(ItemResult {
                index,
                idempotency_key: None,
                status: ItemStatus::Rejected,
                error: Some(reason),
            }),
        }
    }
    let mut tx = pool.begin().await?;
    let landings = keys
        .into_iter()
        .zip(payloads)
        .map(|(idempotency_key, payload)| Landing {
            idempotency_key,
            payload,
        })
        .collect();
    let landed = land(&mut tx, caller.user_id, "api", landings).await?;
    tx.commit().await?;
    // An accepted item whose key did not land was received before (or earlier in this
    // batch): a duplicate.
    let mut fresh: HashMap<String, usize> = HashMap::new();
    for key in landed {
        *fresh.entry(key).or_default() += 1;
    }
    for result in results
        .iter_mut()
        .filter(|r| r.status == ItemStatus::Accepted)
    {
        let key = result.idempotency_key.clone().unwrap_or_default();
        match fresh.get_mut(&key) {
            Some(count) if *count > 0 => *count -= 1,
            _ => result.status = ItemStatus::Duplicate,
        }
    }
    let count = |status: ItemStatus| results.iter().filter(|r| r.status == status).count();
    Ok(Json(BatchResult {
        received: results.len(),
        accepted: count(ItemStatus::Accepted),
        duplicates: count(ItemStatus::Duplicate),
        rejected: count(ItemStatus::Rejected),
        results,
    }))
}

/// A date or time for a query, within years 1 to 9999 (PostgreSQL's and chrono's ranges
/// differ beyond them).
fn parse_instant(text: &str, zone: &str, name: &str) -> Result<DateTime<Utc>, Problem> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|day| {
                    app::events::recurrence::local_to_utc(day, NaiveTime::MIN, zone).ok()
                })
        })
        .filter(|at| (1..=9999).contains(&at.year()))
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                format!("`{name}` should be a date (2026-11-26) or an RFC 3339 time."),
            )
        })
}

/// Read observations, oldest first, a page at a time.
///
/// `from` is inclusive and `to` exclusive; a bare date is midnight in the member's time
/// zone. Follow `next_cursor` until it is null.
#[utoipa::path(
    get,
    path = "/api/v1/observations",
    tag = "observations",
    params(ObservationQuery),
    responses(
        (status = 200, description = "A page of observations", body = ObservationPage),
        (status = 400, description = "A bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such metric", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_observations(
    State(pool): State<PgPool>,
    State(ReadPool(read)): State<ReadPool>,
    headers: HeaderMap,
    query: Result<Query<ObservationQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ObservationPage>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
    // The token's check counts the request (a write, on the primary); the rest only
    // reads, on the replica when there is one.
    let pool = read;
    let Query(query) = query.map_err(|rejection| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            rejection.body_text(),
        )
    })?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "`limit` goes from 1 to 1000.",
        ));
    }
    let from = query
        .from
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(|text| parse_instant(text, &caller.time_zone, "from"))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(|text| parse_instant(text, &caller.time_zone, "to"))
        .transpose()?;
    let after = query
        .cursor
        .as_deref()
        .filter(|cursor| !cursor.is_empty())
        .map(|cursor| {
            cursor
                .split_once('.')
                .and_then(|(micros, id)| {
                    Some((
                        DateTime::from_timestamp_micros(micros.parse().ok()?)
                            .filter(|at| (1..=9999).contains(&at.year()))?,
                        id.parse::<i64>().ok()?,
                    ))
                })
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_parameter",
                        "`cursor` is not one this API gave.",
                    )
                })
        })
        .transpose()?;
    // An empty parameter is an absent one (as a form sends an empty field).
    let metric = query.metric.as_deref().filter(|metric| !metric.is_empty());
    if let Some(metric) = metric {
        let known: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM metrics WHERE key = $2 AND (owner_id IS NULL OR owner_id = $1))",
        )
        .bind(caller.user_id)
        .bind(metric)
        .fetch_one(&pool)
        .await?;
        if !known {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "no_such_metric",
                format!("There is no metric called “{metric}”."),
            ));
        }
    }
    type Row = (
        i64,
        String,
        DateTime<Utc>,
        f64,
        String,
        String,
        Vec<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT o.id, m.key, o.observed_at, o.value, m.unit, o.note, o.tags, o.source
           FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1
            AND ($2::text IS NULL OR m.key = $2)
            AND ($3::timestamptz IS NULL OR o.observed_at >= $3)
            AND ($4::timestamptz IS NULL OR o.observed_at < $4)
            AND ($5::timestamptz IS NULL OR (o.observed_at, o.id) > ($5, $6))
          ORDER BY o.observed_at, o.id LIMIT $7",
    )
    .bind(caller.user_id)
    .bind(metric)
    .bind(from)
    .bind(to)
    .bind(after.map(|(at, _)| at))
    .bind(after.map_or(0, |(_, id)| id))
    .bind(limit + 1)
    .fetch_all(&pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let data: Vec<ObservationOut> = rows
        .into_iter()
        .take(limit as usize)
        .map(
            |(id, metric, time, value, unit, note, tags, source)| ObservationOut {
                id,
                metric,
                time,
                value,
                unit,
                note,
                tags,
                source,
            },
        )
        .collect();
    let next_cursor = more
        .then(|| data.last())
        .flatten()
        .map(|last| format!("{}.{}", last.time.timestamp_micros(), last.id));
    Ok(Json(ObservationPage { data, next_cursor }))
}
