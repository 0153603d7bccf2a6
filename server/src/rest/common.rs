//! What every endpoint shares: limits, problem+json errors, and authenticating a
//! personal token (with its scope and the per-token rate limit).

use super::types::*;
use app::tokens::ssr::hash as hash_token;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

/// Items one POST may carry.
pub const MAX_BATCH: usize = 10_000;
/// Requests per token per minute.
pub const RATE_PER_MINUTE: i32 = 600;
/// The largest request body: a full batch with long notes fits.
pub(super) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

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

    /// 503 while the database cannot be reached, with `Retry-After`.
    pub fn unavailable() -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            app::errors::UNAVAILABLE,
        )
        .with_header(header::RETRY_AFTER, "5".into())
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
        if app::errors::is_unreachable(&error) {
            app::errors::note_unreachable();
            tracing::warn!(%error, "the database is not reachable");
            Problem::unavailable()
        } else {
            Problem::internal(error)
        }
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
pub(super) enum Need {
    Read,
    Write,
}

pub(super) fn unauthenticated(detail: &str, error: Option<&str>) -> Problem {
    let challenge = match error {
        Some(error) => format!("Bearer realm=\"cohort\", error=\"{error}\""),
        None => "Bearer realm=\"cohort\"".to_string(),
    };
    Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
        .with_header(header::WWW_AUTHENTICATE, challenge)
}

/// Checks the bearer token, its scope and the rate limit.
pub(super) async fn authenticate(
    pool: &PgPool,
    headers: &HeaderMap,
    need: Need,
) -> Result<Caller, Problem> {
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
