//! GET /healthz: is this process able to serve? 200 with the database's status when it
//! answers, 503 while it does not (a load balancer then sends traffic elsewhere).

use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;
use sqlx::PgPool;
use std::time::{Duration, Instant};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub database: DatabaseHealth,
}

#[derive(Debug, Serialize)]
pub struct DatabaseHealth {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn healthz(State(pool): State<PgPool>) -> (StatusCode, Json<Health>) {
    let started = Instant::now();
    let check = tokio::time::timeout(
        CHECK_TIMEOUT,
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&pool),
    )
    .await;
    let database = match check {
        Ok(Ok(_)) => DatabaseHealth {
            status: "up",
            latency_ms: Some((started.elapsed().as_secs_f64() * 1e4).round() / 10.0),
            error: None,
        },
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check: database unreachable");
            DatabaseHealth {
                status: "down",
                latency_ms: None,
                error: Some(error.to_string()),
            }
        }
        Err(_) => DatabaseHealth {
            status: "down",
            latency_ms: None,
            error: Some(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
        },
    };
    let up = database.status == "up";
    let body = Health {
        status: if up { "ok" } else { "unavailable" },
        version: env!("CARGO_PKG_VERSION"),
        database,
    };
    (
        if up {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}
