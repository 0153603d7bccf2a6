//! The REST API, `/api/v1`: personal tokens (`Authorization: Bearer coh_…`), JSON in and
//! out, errors as `application/problem+json` (RFC 9457), a rate limit per token, and an
//! OpenAPI 3.1 description at `/api/v1/openapi.json` generated from these handlers.
//!
//! Observations sent here take the same path as the quick log: each valid item lands
//! as received in `raw_observations` (source `api`, the client's idempotency key), in
//! the transaction that enqueues the member's Distill job. Items that fail the checks
//! are answered with their reason and not stored, so the client can fix and resend
//! them under the same key.

mod catalog;
mod common;
mod insights;
mod observations;
mod types;

pub use common::{Caller, Problem, MAX_BATCH, RATE_PER_MINUTE};
pub use types::*;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use catalog::{get_events, get_metrics};
use common::MAX_BODY_BYTES;
use observations::{get_observations, post_observations};
use utoipa::OpenApi;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/observations",
            get(get_observations).post(post_observations),
        )
        .route("/api/v1/metrics", get(get_metrics))
        .route("/api/v1/events", get(get_events))
        .route("/api/v1/daily", get(insights::get_daily))
        .route("/api/v1/trends", get(insights::get_trends))
        .route("/api/v1/correlations", get(insights::get_correlations))
        .route("/api/v1/insights", get(insights::get_insights))
        .route(
            "/api/v1/groups/{slug}/figures",
            get(insights::get_group_figures),
        )
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/{*rest}", any(no_such_endpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
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
        description = "Your metrics, observations and meetups. Authenticate with a personal token from /me/tokens: `Authorization: Bearer TOKEN`. Errors are application/problem+json. Text may not contain NUL characters (400 invalid_parameter). At most 600 requests a minute per token."
    ),
    paths(
        observations::post_observations,
        observations::get_observations,
        catalog::get_metrics,
        catalog::get_events,
        insights::get_daily,
        insights::get_trends,
        insights::get_correlations,
        insights::get_insights,
        insights::get_group_figures
    ),
    modifiers(&BearerAuth, &ErrorHeaders),
    tags(
        (name = "observations", description = "What you track"),
        (name = "metrics", description = "What can be tracked"),
        (name = "insights", description = "What your data says: daily values, trends, correlations, insights"),
        (name = "events", description = "Your groups' meetups"),
    )
)]
struct ApiDoc;

struct BearerAuth;

/// Documents the headers that every refusal carries: the bearer challenge on 401 and 403,
/// and on 429 how many seconds until the token's next minute.
struct ErrorHeaders;

impl utoipa::Modify for ErrorHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{HeaderBuilder, RefOr};
        let challenge = || {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some("^Bearer realm=\"cohort\"")),
                )
                .description(Some(
                    "The bearer challenge (RFC 6750), with the error when a token was sent",
                ))
                .build()
        };
        let retry_after = HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(60)),
            )
            .description(Some("Seconds until this token's next minute starts"))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                for (status, response) in &mut operation.responses.responses {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    match status.as_str() {
                        "401" | "403" => {
                            response
                                .headers
                                .insert("WWW-Authenticate".into(), challenge());
                        }
                        "429" => {
                            response
                                .headers
                                .insert("Retry-After".into(), retry_after.clone());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

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
