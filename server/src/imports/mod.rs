//! CSV imports: the upload (streamed into `import_chunks` while its SHA-256 is taken),
//! the start (the member's column mapping), and the job that streams the file back
//! through the CSV reader, checks each row as Distill will, and lands the good ones
//! with a key made of the file's hash and the line, so that importing a file twice adds
//! nothing. Progress and per-line errors are written in the transaction that lands each
//! batch, so the page's progress bar is exact and a retried job resumes where it was.

use anyhow::Result;
use app::accounts::ssr::user_for_session;
use app::errors::internal;
use app::jobs::Job as _;
use app::policy::{allows, Action, Actor};
use app::track::catalogue::member_metrics;
use app::track::csv::{guess, sniff, split_header, Mapping};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::HashMap;
use tower_sessions::Session;

mod job;
pub use job::ImportFile;

/// The largest file accepted.
pub const MAX_UPLOAD_BYTES: usize = 256 * 1024 * 1024;
/// Bytes per stored chunk.
const CHUNK: usize = 1024 * 1024;
/// How much of the start of the file the preview reads.
const SNIFF_BYTES: usize = 64 * 1024;
/// Rows per landing transaction.
const BATCH_ROWS: usize = 2000;
/// Errors kept per import (all are counted).
const KEPT_ERRORS: i64 = 1000;

fn back_to(path: &str, error: &str) -> Response {
    Redirect::to(&format!("{path}?error={}", urlencoding_component(error))).into_response()
}

fn urlencoding_component(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

async fn member(
    pool: &PgPool,
    session: &Session,
) -> Result<Option<app::accounts::CurrentUser>, app::errors::AppError> {
    let user = user_for_session(pool, session).await?;
    Ok(user.filter(|user| {
        allows(
            Actor {
                user: Some(user),
                role: None,
            },
            Action::Track,
        )
    }))
}

/// POST /track/import (multipart, field `file`): stores the file, reads its start,
/// guesses the mapping, and sends the member to the import's page.
pub async fn upload(
    State(pool): State<PgPool>,
    session: Session,
    mut multipart: Multipart,
) -> Response {
    let user = match member(&pool, &session).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/login?next=%2Ftrack%2Fimport").into_response(),
        Err(error) => return error.into_response(),
    };
    let mut field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => break field,
            Ok(Some(_)) => continue,
            Ok(None) => return back_to("/track/import", "Choose a file to import."),
            Err(error) => return back_to("/track/import", &format!("The upload failed: {error}.")),
        }
    };
    let filename: String = field
        .file_name()
        .unwrap_or("upload.csv")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let result: Result<std::result::Result<i64, String>> = async {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO imports (user_id, kind, filename, size_bytes, sha256) VALUES ($1, 'csv', $2, 0, '') RETURNING id",
        )
        .bind(user.id)
        .bind(&filename)
        .fetch_one(&mut *tx)
        .await?;
        let (mut hasher, mut buffer, mut head) = (Sha256::new(), Vec::with_capacity(CHUNK), Vec::new());
        let (mut size, mut seq) = (0usize, 0i32);
        loop {
            let bytes = match field.chunk().await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => break,
                Err(error) => return Ok(Err(format!("The upload failed: {error}."))),
            };
            size += bytes.len();
            if size > MAX_UPLOAD_BYTES {
                return Ok(Err("The file is larger than 256 MB; split it and import the parts.".into()));
            }
            hasher.update(&bytes);
            if head.len() < SNIFF_BYTES {
                head.extend_from_slice(&bytes[..bytes.len().min(SNIFF_BYTES - head.len())]);
            }
            buffer.extend_from_slice(&bytes);
            while buffer.len() >= CHUNK {
                let rest = buffer.split_off(CHUNK);
                store_chunk(&mut tx, user.id, id, seq, &buffer).await?;
                seq += 1;
                buffer = rest;
            }
        }
        if !buffer.is_empty() {
            store_chunk(&mut tx, user.id, id, seq, &buffer).await?;
        }
        let sha: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let lower = filename.to_lowercase();
        if lower.ends_with(".zip") {
            return Ok(Err(
                "Unzip Apple Health's export.zip and import the export.xml inside it.".into(),
            ));
        }
        if lower.ends_with(".xml") || head.trim_ascii_start().starts_with(b"<?xml") {
            // Apple Health: no mapping to choose; it starts at once.
            if !String::from_utf8_lossy(&head).contains("<HealthData") {
                return Ok(Err(
                    "This XML file is not an Apple Health export; choose the export.xml from Apple Health's export."
                        .into(),
                ));
            }
            sqlx::query(
                "UPDATE imports SET kind = 'apple_health', size_bytes = $2, sha256 = $3, status = 'queued'
                  WHERE id = $1",
            )
            .bind(id)
            .bind(size as i64)
            .bind(&sha)
            .execute(&mut *tx)
            .await?;
            ImportFile { import_id: id }.enqueue(&mut tx).await?;
            tx.commit().await?;
            tracing::info!(user_id = user.id, import_id = id, bytes = size, "Apple Health export uploaded");
            return Ok(Ok(id));
        }
        let sniffed = match sniff(&head) {
            Ok(sniffed) => sniffed,
            Err(reason) => return Ok(Err(reason)),
        };
        let metrics: Vec<(String, String)> = member_metrics(&mut tx, user.id)
            .await?
            .into_iter()
            .map(|m| (m.key, m.name))
            .collect();
        let mapping = guess(&sniffed.headers, &metrics, &user.time_zone);
        sqlx::query(
            "UPDATE imports SET size_bytes = $2, sha256 = $3, delimiter = $4, headers = $5, preview = $6, mapping = $7
              WHERE id = $1",
        )
        .bind(id)
        .bind(size as i64)
        .bind(&sha)
        .bind((sniffed.delimiter as char).to_string())
        .bind(serde_json::to_value(&sniffed.headers)?)
        .bind(serde_json::to_value(&sniffed.rows)?)
        .bind(serde_json::to_value(&mapping)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(user_id = user.id, import_id = id, bytes = size, "file uploaded");
        Ok(Ok(id))
    }
    .await;
    match result {
        Ok(Ok(id)) => Redirect::to(&format!("/track/import/{id}")).into_response(),
        Ok(Err(reason)) => back_to("/track/import", &reason),
        Err(error) => internal(format!("{error:#}")).into_response(),
    }
}

async fn store_chunk(
    tx: &mut sqlx::PgConnection,
    user_id: i64,
    import: i64,
    seq: i32,
    data: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_chunks (user_id, import_id, seq, data) VALUES ($4, $1, $2, $3)",
    )
    .bind(import)
    .bind(seq)
    .bind(data)
    .bind(user_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// POST /track/import/{id}/start: the mapping as `col0`, `col1`, … roles and
/// `time_zone`; queues the import job and goes back to the import's page.
pub async fn start(
    State(pool): State<PgPool>,
    session: Session,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = format!("/track/import/{id}");
    let user = match member(&pool, &session).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/login?next=%2Ftrack%2Fimport").into_response(),
        Err(error) => return error.into_response(),
    };
    let row: Option<(String, serde_json::Value)> =
        match sqlx::query_as("SELECT status, headers FROM imports WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.id)
            .fetch_optional(&pool)
            .await
        {
            Ok(row) => row,
            Err(error) => return internal(error).into_response(),
        };
    let Some((status, headers)) = row else {
        return (StatusCode::NOT_FOUND, "No such import.").into_response();
    };
    if status != "uploaded" && status != "failed" {
        return Redirect::to(&page).into_response();
    }
    let headers: Vec<String> = serde_json::from_value(headers).unwrap_or_default();
    let time_zone = form
        .get("time_zone")
        .map(|zone| zone.trim().to_string())
        .unwrap_or_default();
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        return back_to(&page, "Give the time zone as in America/Los_Angeles.");
    }
    let mut mapping = Mapping {
        time_zone,
        ..Mapping::default()
    };
    for (column, header) in headers.iter().enumerate() {
        let role = form
            .get(&format!("col{column}"))
            .map(String::as_str)
            .unwrap_or("ignore");
        let slot = match role {
            "time" => &mut mapping.time,
            "metric" => &mut mapping.metric,
            "value" => &mut mapping.value,
            "unit" => &mut mapping.unit,
            "note" => &mut mapping.note,
            "ignore" => continue,
            other => match other.strip_prefix("m:") {
                Some(key) => {
                    mapping
                        .wide
                        .push((column, key.to_string(), split_header(header).1));
                    continue;
                }
                None => return back_to(&page, "Choose what each column holds."),
            },
        };
        if slot.is_some() {
            return back_to(
                &page,
                &format!("Only one column can be the {}.", role.replace('_', " ")),
            );
        }
        *slot = Some(column);
    }
    if mapping.metric.is_some() != mapping.value.is_some() {
        return back_to(
            &page,
            "Choose both the metric name column and the value column.",
        );
    }
    if let Err(reason) = mapping.check(headers.len()) {
        return back_to(&page, &reason);
    }
    let result: Result<()> = async {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "UPDATE imports SET mapping = $2, status = 'queued', error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(serde_json::to_value(&mapping)?)
        .execute(&mut *tx)
        .await?;
        ImportFile { import_id: id }.enqueue(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&page).into_response(),
        Err(error) => internal(format!("{error:#}")).into_response(),
    }
}

#[cfg(test)]
mod tests;
