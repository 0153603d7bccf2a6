//! The REST API, `/api/v1`: personal tokens (`Authorization: Bearer coh_…`), JSON in and
//! out, errors as `application/problem+json` (RFC 9457), a rate limit per token, and an
//! OpenAPI 3.1 description at `/api/v1/openapi.json` generated from these handlers.
//!
//! Observations sent here take the same path as the quick log: each valid item lands
//! as received in `raw_observations` (source `api`, the client's idempotency key), in
//! the transaction that enqueues the member's Distill job. Items that fail the checks
//! are answered with their reason and not stored, so the client can fix and resend
//! them under the same key.

mod types;

pub use types::*;

use crate::state::{AppState, PublicUrl};
use app::pipeline::capture::{land, Landing};
use app::pipeline::distill::{check, RawEntry};
use app::tokens::ssr::hash as hash_token;
use app::track::catalogue::{member_metrics, MetricIndex};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::HashMap;
use utoipa::OpenApi;

/// Items one POST may carry.
pub const MAX_BATCH: usize = 10_000;
/// Requests per token per minute.
pub const RATE_PER_MINUTE: i32 = 600;
/// The largest request body: a full batch with long notes fits.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/observations",
            get(get_observations).post(post_observations),
        )
        .route("/api/v1/metrics", get(get_metrics))
        .route("/api/v1/events", get(get_events))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/{*rest}", any(no_such_endpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// An error answer: `application/problem+json`.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// Headers to add (WWW-Authenticate, Retry-After).
    headers: Vec<(header::HeaderName, String)>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            code,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: header::HeaderName, value: String) -> Problem {
        self.headers.push((name, value));
        self
    }

    fn internal(error: impl std::fmt::Display) -> Problem {
        tracing::error!(%error, "API request failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Please try again.",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            kind: "about:blank".into(),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_string(),
        };
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

impl From<sqlx::Error> for Problem {
    fn from(error: sqlx::Error) -> Problem {
        Problem::internal(error)
    }
}

/// Who is calling: the token's member and what it may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub token_id: i64,
    pub can_write: bool,
    pub time_zone: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Write,
}

fn unauthenticated(detail: &str, error: Option<&str>) -> Problem {
    let challenge = match error {
        Some(error) => format!("Bearer realm=\"cohort\", error=\"{error}\""),
        None => "Bearer realm=\"cohort\"".to_string(),
    };
    Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
        .with_header(header::WWW_AUTHENTICATE, challenge)
}

/// Checks the bearer token, its scope and the rate limit.
async fn authenticate(pool: &PgPool, headers: &HeaderMap, need: Need) -> Result<Caller, Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            unauthenticated(
                "Send a personal API token as `Authorization: Bearer TOKEN` (make one at /me/tokens).",
                None,
            )
        })?;
    // (token, member, scope, revoked at, the member's zone)
    type TokenRow = (i64, i64, String, Option<DateTime<Utc>>, String);
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT t.id, t.user_id, t.scope, t.revoked_at, u.time_zone
           FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = $1",
    )
    .bind(hash_token(token))
    .fetch_optional(pool)
    .await?;
    let Some((token_id, user_id, scope, revoked, time_zone)) = row else {
        return Err(unauthenticated(
            "This token is not valid.",
            Some("invalid_token"),
        ));
    };
    if revoked.is_some() {
        return Err(unauthenticated(
            "This token was revoked.",
            Some("invalid_token"),
        ));
    }
    let can_write = scope == "write";
    if need == Need::Write && !can_write {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "This token can only read; make a token with write access to send observations.",
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"cohort\", error=\"insufficient_scope\"".into(),
        ));
    }
    // One row per token and minute, shared by every process.
    let (requests, window): (i32, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO api_rate_windows (token_id, window_start, requests)
         VALUES ($1, date_trunc('minute', now()), 1)
         ON CONFLICT (token_id, window_start) DO UPDATE SET requests = api_rate_windows.requests + 1
         RETURNING requests, window_start",
    )
    .bind(token_id)
    .fetch_one(pool)
    .await?;
    if requests == 1 {
        sqlx::query(
            "WITH gone AS (DELETE FROM api_rate_windows WHERE token_id = $1 AND window_start < now() - interval '1 hour')
             UPDATE api_tokens SET last_used_at = now() WHERE id = $1",
        )
        .bind(token_id)
        .execute(pool)
        .await?;
    }
    if requests > RATE_PER_MINUTE {
        let wait = (window + TimeDelta::minutes(1) - Utc::now())
            .num_seconds()
            .clamp(1, 60);
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "At most {RATE_PER_MINUTE} requests a minute per token; try again in {wait} s."
            ),
        )
        .with_header(header::RETRY_AFTER, wait.to_string()));
    }
    Ok(Caller {
        user_id,
        token_id,
        can_write,
        time_zone,
    })
}

fn key_of(item: &Value) -> Result<String, String> {
    match item.get("idempotency_key") {
        None | Some(Value::Null) => {
            // Without a key, the item itself is the key: the same reading sent twice
            // is stored once.
            let digest = Sha256::digest(item.to_string().as_bytes());
            Ok(format!(
                "sha256:{}",
                digest
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ))
        }
        Some(Value::String(key)) if (1..=200).contains(&key.chars().count()) => Ok(key.clone()),
        Some(_) => Err("`idempotency_key` must be text of 1 to 200 characters.".into()),
    }
}

/// Checks one item as Distill will; the reason when it would be refused.
fn verdict(
    item: &Value,
    metrics: &MetricIndex,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    if !item.is_object() {
        return Err("Each observation is a JSON object.".into());
    }
    // Stored as received (jsonb, which cannot hold NUL): refuse this item, not the batch.
    if holds_nul(item) {
        return Err("Text may not contain NUL characters.".into());
    }
    let entry: RawEntry = serde_json::from_value(item.clone())
        .map_err(|error| format!("This observation could not be read: {error}."))?;
    check(&entry, metrics.find(&entry.metric)?, zone, now).map(|_| ())
}

/// Whether any key or string in a JSON value holds a NUL character.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

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
        let key = key_of(item);
        let checked = key
            .clone()
            .and_then(|_| verdict(item, &by_key, &caller.time_zone, now));
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
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_observations(
    State(pool): State<PgPool>,
    headers: HeaderMap,
    query: Result<Query<ObservationQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ObservationPage>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
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
        .map(|text| parse_instant(text, &caller.time_zone, "from"))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .map(|text| parse_instant(text, &caller.time_zone, "to"))
        .transpose()?;
    let after = query
        .cursor
        .as_deref()
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
    if let Some(metric) = &query.metric {
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
    .bind(&query.metric)
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
    headers: HeaderMap,
) -> Result<Json<MetricList>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
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
    State(public_url): State<PublicUrl>,
    headers: HeaderMap,
) -> Result<Json<EventList>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
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

async fn no_such_endpoint() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "There is no such endpoint; see /api/v1/openapi.json.",
    )
}

/// The OpenAPI 3.1 description of this API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi_json() -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(openapi()),
    )
        .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cohort API",
        version = "1",
        description = "Your metrics, observations and meetups. Authenticate with a personal token from /me/tokens: `Authorization: Bearer TOKEN`. Errors are application/problem+json. At most 600 requests a minute per token."
    ),
    paths(post_observations, get_observations, get_metrics, get_events),
    modifiers(&BearerAuth),
    tags(
        (name = "observations", description = "What you track"),
        (name = "metrics", description = "What can be tracked"),
        (name = "events", description = "Your groups' meetups"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi
            .components
            .get_or_insert_with(utoipa::openapi::Components::new);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal API token from /me/tokens"))
                    .build(),
            ),
        );
    }
}
