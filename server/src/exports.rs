//! The member's exports of their observations as CSV and JSON, streamed in batches so
//! that a large history is never held in memory.

use crate::meetups::csv_field;
use anyhow::Result;
use app::accounts::ssr::user_for_session;
use app::policy::{allows, Action, Actor};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tower_sessions::Session;

/// Rows per query of an export.
const EXPORT_BATCH: i64 = 5000;

type Row = (
    i64,
    DateTime<Utc>,
    String,
    String,
    f64,
    String,
    String,
    Vec<String>,
    String,
);

/// One batch of a member's observations after `(observed_at, id)`, oldest first.
async fn batch(
    pool: &PgPool,
    user_id: i64,
    after: Option<(DateTime<Utc>, i64)>,
) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.observed_at, m.key, m.name, o.value, m.unit, o.note, o.tags, o.source
           FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1 AND ($2::timestamptz IS NULL OR (o.observed_at, o.id) > ($2, $3))
          ORDER BY o.observed_at, o.id LIMIT $4",
    )
    .bind(user_id)
    .bind(after.map(|(at, _)| at))
    .bind(after.map_or(0, |(_, id)| id))
    .bind(EXPORT_BATCH)
    .fetch_all(pool)
    .await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

fn local_time(at: DateTime<Utc>, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
    at.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn render(format: Format, row: &Row, zone: &str, first: bool) -> String {
    let (_, at, key, name, value, unit, note, tags, source) = row;
    match format {
        Format::Csv => format!(
            "{},{},{},{},{},{},{},{},{}\r\n",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            local_time(*at, zone),
            csv_field(key),
            csv_field(name),
            value,
            csv_field(unit),
            csv_field(note),
            csv_field(&tags.join(" ")),
            source
        ),
        Format::Json => {
            let item = serde_json::json!({
                "time": at,
                "local_time": local_time(*at, zone),
                "metric": key,
                "metric_name": name,
                "value": value,
                "unit": unit,
                "note": note,
                "tags": tags,
                "source": source,
            });
            format!("{}\n{item}", if first { "" } else { "," })
        }
    }
}

/// The export as a stream of chunks: a header, one chunk per batch, a footer.
fn export_stream(
    pool: PgPool,
    user_id: i64,
    zone: String,
    format: Format,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    enum Step {
        Start,
        After(Option<(DateTime<Utc>, i64)>, bool),
        Done,
    }
    futures_util::stream::unfold(Step::Start, move |step| {
        let (pool, zone) = (pool.clone(), zone.clone());
        async move {
            match step {
                Step::Start => {
                    let head = match format {
                        Format::Csv => {
                            "time,local_time,metric,metric_name,value,unit,note,tags,source\r\n"
                                .to_string()
                        }
                        Format::Json => format!(
                            "{{\"format\":\"cohort-observations-1\",\"exported_at\":\"{}\",\"time_zone\":{},\"observations\":[",
                            Utc::now().to_rfc3339(),
                            serde_json::Value::String(zone.clone())
                        ),
                    };
                    Some((Ok(Bytes::from(head)), Step::After(None, true)))
                }
                Step::After(after, first) => match batch(&pool, user_id, after).await {
                    Ok(rows) if rows.is_empty() => {
                        let tail = if format == Format::Json { "\n]}\n" } else { "" };
                        Some((Ok(Bytes::from(tail)), Step::Done))
                    }
                    Ok(rows) => {
                        let mut chunk = String::new();
                        for (index, row) in rows.iter().enumerate() {
                            chunk.push_str(&render(format, row, &zone, first && index == 0));
                        }
                        let last = rows.last().map(|row| (row.1, row.0));
                        Some((Ok(Bytes::from(chunk)), Step::After(last, false)))
                    }
                    Err(error) => {
                        tracing::error!(%error, "export failed part-way");
                        Some((Err(std::io::Error::other(error)), Step::Done))
                    }
                },
                Step::Done => None,
            }
        }
    })
}

async fn export(pool: PgPool, session: Session, format: Format) -> Response {
    let (path, content_type, file) = match format {
        Format::Csv => (
            "/track/export.csv",
            "text/csv; charset=utf-8",
            "cohort-observations.csv",
        ),
        Format::Json => (
            "/track/export.json",
            "application/json",
            "cohort-observations.json",
        ),
    };
    let user = match user_for_session(&pool, &session).await {
        Ok(user) => user,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let Some(user) = user.filter(|user| {
        allows(
            Actor {
                user: Some(user),
                role: None,
            },
            Action::Track,
        )
    }) else {
        return Redirect::to(&format!("/login?next={}", urlencoding_path(path))).into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        Body::from_stream(export_stream(pool, user.id, user.time_zone, format)),
    )
        .into_response()
}

fn urlencoding_path(path: &str) -> String {
    path.replace('/', "%2F")
}

/// GET /track/export.csv: every observation of the member, oldest first.
pub async fn export_csv(State(pool): State<PgPool>, session: Session) -> Response {
    export(pool, session, Format::Csv).await
}

/// GET /track/export.json: the same as JSON.
pub async fn export_json(State(pool): State<PgPool>, session: Session) -> Response {
    export(pool, session, Format::Json).await
}
