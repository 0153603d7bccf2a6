//! CSV imports: the upload (streamed into `import_chunks` while its SHA-256 is taken),
//! the start (the member's column mapping), and the job that streams the file back
//! through the CSV reader, checks each row as Distill will, and lands the good ones
//! with a key made of the file's hash and the line, so that importing a file twice adds
//! nothing. Progress and per-line errors are written in the transaction that lands each
//! batch, so the page's progress bar is exact and a retried job resumes where it was.

use crate::jobs::{Job, JobContext};
use crate::readers;
use anyhow::{Context, Result};
use app::accounts::ssr::user_for_session;
use app::pipeline::capture::{land, Landing};
use app::pipeline::distill::{check, RawEntry};
use app::policy::{allows, Action, Actor};
use app::track::apple_health as health;
use app::track::catalogue::{member_metrics, MetricIndex};
use app::track::csv::{guess, sniff, split_header, Mapping};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::HashMap;
use tower_sessions::Session;

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

async fn member(pool: &PgPool, session: &Session) -> Result<Option<app::accounts::CurrentUser>> {
    let user = user_for_session(pool, session)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
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

fn failed(error: anyhow::Error) -> Response {
    tracing::error!(error = format!("{error:#}"), "import route failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side.",
    )
        .into_response()
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
        Err(error) => return failed(error),
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
                store_chunk(&mut tx, id, seq, &buffer).await?;
                seq += 1;
                buffer = rest;
            }
        }
        if !buffer.is_empty() {
            store_chunk(&mut tx, id, seq, &buffer).await?;
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
            crate::jobs::enqueue(&mut tx, &ImportFile { import_id: id }).await?;
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
        Err(error) => failed(error),
    }
}

async fn store_chunk(
    tx: &mut sqlx::PgConnection,
    import: i64,
    seq: i32,
    data: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)")
        .bind(import)
        .bind(seq)
        .bind(data)
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
        Err(error) => return failed(error),
    };
    let row: Option<(String, serde_json::Value)> =
        match sqlx::query_as("SELECT status, headers FROM imports WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.id)
            .fetch_optional(&pool)
            .await
        {
            Ok(row) => row,
            Err(error) => return failed(error.into()),
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
        crate::jobs::enqueue(&mut tx, &ImportFile { import_id: id }).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&page).into_response(),
        Err(error) => failed(error),
    }
}

/// Job: import one uploaded file (CSV or Apple Health).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportFile {
    pub import_id: i64,
}

/// One unit of a file on its way from the reader's thread: a CSV row or an Apple Health
/// record, with its line (or its place among the records) and the byte offset after it.
struct Item {
    line: u64,
    offset: u64,
    piece: Piece,
}

enum Piece {
    Cells(Vec<String>),
    Health(health::Outcome),
}

type Items = Vec<Item>;

impl Job for ImportFile {
    const KIND: &'static str = "import_file";
    const QUEUE: &'static str = "pipeline";
    const MAX_ATTEMPTS: i32 = 5;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.import_id.to_string())
    }

    async fn run(self, context: JobContext) -> Result<()> {
        let pool = context.pool.clone();
        let outcome = import(&context, self.import_id).await;
        if let Err(error) = &outcome {
            sqlx::query(
                "UPDATE imports SET status = 'failed', error = $2 WHERE id = $1 AND status <> 'done'",
            )
            .bind(self.import_id)
            .bind("The import stopped because of an error on our side; start it again to resume.")
            .execute(&pool)
            .await?;
            tracing::error!(
                import_id = self.import_id,
                error = format!("{error:#}"),
                "import failed"
            );
        }
        outcome
    }
}

/// The import row as the job needs it: member, the file's hash, its kind, delimiter,
/// mapping, the last line landed, size, and the member's zone.
type ImportRow = (
    i64,
    String,
    String,
    String,
    Option<serde_json::Value>,
    i64,
    i64,
    String,
);

async fn import(context: &JobContext, id: i64) -> Result<()> {
    let pool = &context.pool;
    let row: Option<ImportRow> = sqlx::query_as(
        "UPDATE imports i SET status = 'running', started_at = coalesce(started_at, now())
           FROM users u
          WHERE i.id = $1 AND u.id = i.user_id AND i.status IN ('queued', 'running', 'failed')
          RETURNING i.user_id, i.sha256, i.kind, i.delimiter, i.mapping, i.last_line, i.size_bytes, u.time_zone",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some((user_id, sha, kind, delimiter, mapping, last_line, size, user_zone)) = row else {
        return Ok(()); // deleted, or already done
    };
    let mapping: Option<Mapping> = match (kind.as_str(), mapping) {
        ("csv", Some(mapping)) => {
            Some(serde_json::from_value(mapping).context("reading the mapping")?)
        }
        ("csv", None) => anyhow::bail!("a CSV import without a mapping"),
        _ => None,
    };
    let metrics = {
        let mut conn = pool.acquire().await?;
        member_metrics(&mut conn, user_id).await?
    };
    let by_key = MetricIndex::new(&metrics);
    let chunks: i32 =
        sqlx::query_scalar("SELECT count(*)::int FROM import_chunks WHERE import_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?;

    // The file streams chunk by chunk into a reader on a blocking thread, which hands
    // back items in batches: memory stays at a few chunks and batches.
    let (bytes_in, bytes_out) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let (items_in, mut items_out) = tokio::sync::mpsc::channel::<Result<Items, String>>(2);
    let delimiter = delimiter.bytes().next().unwrap_or(b',');
    let csv = mapping.is_some();
    let reader = tokio::task::spawn_blocking(move || {
        if csv {
            read_rows(bytes_out, items_in, delimiter)
        } else {
            read_health(bytes_out, items_in)
        }
    });
    let feeder_pool = pool.clone();
    let feeder = tokio::spawn(async move {
        for seq in 0..chunks {
            let data: Vec<u8> = sqlx::query_scalar(
                "SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2",
            )
            .bind(id)
            .bind(seq)
            .fetch_one(&feeder_pool)
            .await?;
            if bytes_in.send(data).await.is_err() {
                break; // the reader stopped
            }
        }
        anyhow::Ok(())
    });

    let zone = mapping
        .as_ref()
        .map_or(user_zone.clone(), |m| m.time_zone.clone());
    let mut header_skipped = !csv;
    while let Some(batch) = items_out.recv().await {
        let batch = match batch {
            Ok(batch) => batch,
            Err(reason) => {
                sqlx::query("UPDATE imports SET status = 'failed', error = $2 WHERE id = $1")
                    .bind(id)
                    .bind(reason)
                    .execute(pool)
                    .await?;
                return Ok(());
            }
        };
        let mut keys = Vec::new();
        let mut payloads = Vec::new();
        let mut errors: Vec<(i64, String)> = Vec::new();
        let (mut rows, mut rejected, mut skipped) = (0i64, 0i64, 0i64);
        let mut position = (last_line, 0u64);
        let now = chrono::Utc::now();
        for Item {
            line,
            offset,
            piece,
        } in batch
        {
            position = (position.0.max(line as i64), offset);
            if !header_skipped {
                header_skipped = true;
                continue;
            }
            if (line as i64) <= last_line {
                continue; // landed before a retry
            }
            rows += 1;
            let entries = match piece {
                Piece::Cells(cells) => {
                    let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
                    mapping
                        .as_ref()
                        .map(|m| m.entries(&cells))
                        .unwrap_or_default()
                }
                Piece::Health(health::Outcome::Entry(entry)) => vec![(String::new(), entry)],
                Piece::Health(health::Outcome::Skipped) => {
                    skipped += 1;
                    Vec::new()
                }
                Piece::Health(health::Outcome::Invalid(reason)) => {
                    rejected += 1;
                    errors.push((line as i64, reason));
                    Vec::new()
                }
            };
            for (suffix, entry) in entries {
                match verdict(&entry, &by_key, &zone, now) {
                    Ok(()) => {
                        keys.push(format!("{sha}:{line}{suffix}"));
                        payloads.push(serde_json::to_value(&entry)?);
                    }
                    Err(reason) => {
                        rejected += 1;
                        errors.push((line as i64, reason));
                    }
                }
            }
        }
        let source = if csv { "csv" } else { "apple_health" };
        let mut tx = pool.begin().await?;
        let sent = keys.len() as i64;
        let landings = keys
            .into_iter()
            .zip(payloads)
            .map(|(idempotency_key, payload)| Landing {
                idempotency_key,
                payload,
            })
            .collect();
        let landed = land(&mut tx, user_id, source, landings).await?.len() as i64;
        if !errors.is_empty() {
            let (lines, messages): (Vec<i64>, Vec<String>) = errors.into_iter().unzip();
            sqlx::query(
                "INSERT INTO import_errors (import_id, line, message)
                 SELECT $1, e.line, e.message FROM unnest($2::bigint[], $3::text[]) AS e(line, message)
                  LIMIT greatest(0, $4 - (SELECT count(*) FROM import_errors WHERE import_id = $1))",
            )
            .bind(id)
            .bind(&lines)
            .bind(&messages)
            .bind(KEPT_ERRORS)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE imports SET rows_done = rows_done + $2, accepted = accepted + $3,
                    duplicates = duplicates + $4, rejected = rejected + $5, skipped = skipped + $8,
                    last_line = greatest(last_line, $6), bytes_done = greatest(bytes_done, $7)
              WHERE id = $1",
        )
        .bind(id)
        .bind(rows)
        .bind(landed)
        .bind(sent - landed)
        .bind(rejected)
        .bind(position.0)
        .bind(position.1 as i64)
        .bind(skipped)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let percent = if size > 0 {
            position.1 as f32 * 100.0 / size as f32
        } else {
            100.0
        };
        context.progress(percent, "importing").await?;
    }
    feeder.await??;
    reader.await?;
    sqlx::query(
        "UPDATE imports SET status = 'done', finished_at = now(), bytes_done = size_bytes WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await?;
    // The file has served its purpose; the rows are landed.
    sqlx::query("DELETE FROM import_chunks WHERE import_id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Checks one entry as Distill will.
fn verdict(
    entry: &RawEntry,
    metrics: &MetricIndex,
    zone: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<(), String> {
    if entry.value.trim().is_empty() {
        return Err("The row has no value.".into());
    }
    if entry.metric.trim().is_empty() {
        return Err("The row names no metric.".into());
    }
    check(entry, metrics.find(&entry.metric)?, zone, now).map(|_| ())
}

/// A `Read` over the chunks the async side sends.
struct Chunks {
    source: tokio::sync::mpsc::Receiver<Vec<u8>>,
    current: std::io::Cursor<Vec<u8>>,
}

impl Chunks {
    fn new(source: tokio::sync::mpsc::Receiver<Vec<u8>>) -> Chunks {
        Chunks {
            source,
            current: std::io::Cursor::new(Vec::new()),
        }
    }
}

impl std::io::Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let read = self.current.read(buf)?;
            if read > 0 || buf.is_empty() {
                return Ok(read);
            }
            match self.source.blocking_recv() {
                Some(next) => self.current = std::io::Cursor::new(next),
                None => return Ok(0),
            }
        }
    }
}

type Sink = tokio::sync::mpsc::Sender<std::result::Result<Items, String>>;

/// Gathers a reader's items into batches for the async side.
struct Batcher<'a> {
    sink: &'a Sink,
    batch: Items,
}

impl<'a> Batcher<'a> {
    fn new(sink: &'a Sink) -> Self {
        Batcher {
            sink,
            batch: Vec::with_capacity(BATCH_ROWS),
        }
    }

    /// `false` once the async side has stopped listening.
    fn push(&mut self, item: Item) -> bool {
        self.batch.push(item);
        self.batch.len() < BATCH_ROWS
            || self
                .sink
                .blocking_send(Ok(std::mem::take(&mut self.batch)))
                .is_ok()
    }

    /// Sends what is left, then the reason the file ended early, if it did.
    fn finish(mut self, outcome: std::result::Result<(), String>) {
        if !self.batch.is_empty() {
            let _ = self.sink.blocking_send(Ok(std::mem::take(&mut self.batch)));
        }
        if let Err(reason) = outcome {
            let _ = self.sink.blocking_send(Err(reason));
        }
    }
}

/// The CSV reader's thread: rows in batches; a malformed file ends with the reason.
fn read_rows(source: tokio::sync::mpsc::Receiver<Vec<u8>>, sink: Sink, delimiter: u8) {
    let mut batcher = Batcher::new(&sink);
    let outcome = readers::csv_rows(Chunks::new(source), delimiter, |row| {
        batcher.push(Item {
            line: row.line,
            offset: row.offset,
            piece: Piece::Cells(row.cells),
        })
    });
    batcher.finish(outcome);
}

/// The Apple Health reader's thread: every `<Record>` element of `export.xml`, by its
/// place in the file, in batches; a malformed file ends with the reason.
fn read_health(source: tokio::sync::mpsc::Receiver<Vec<u8>>, sink: Sink) {
    let mut batcher = Batcher::new(&sink);
    let outcome = readers::health_records(Chunks::new(source), |record| {
        let outcome = health::record(|name| record.get(name).map(str::to_string));
        batcher.push(Item {
            line: record.ordinal,
            offset: record.offset,
            piece: Piece::Health(outcome),
        })
    });
    batcher.finish(outcome);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs a reader over `bytes` (in chunks of `chunk`) the way the job does; returns
    /// the items' lines and the reason it stopped early, if it did.
    fn run(
        bytes: &[u8],
        chunk: usize,
        reader: fn(tokio::sync::mpsc::Receiver<Vec<u8>>, Sink),
    ) -> (Vec<u64>, Option<String>) {
        let (bytes_in, bytes_out) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
        let (items_in, mut items_out) = tokio::sync::mpsc::channel(2);
        let thread = std::thread::spawn(move || reader(bytes_out, items_in));
        let parts: Vec<Vec<u8>> = bytes.chunks(chunk.max(1)).map(<[u8]>::to_vec).collect();
        let feeder = std::thread::spawn(move || {
            for part in parts {
                if bytes_in.blocking_send(part).is_err() {
                    break; // the reader stopped
                }
            }
        });
        let (mut lines, mut stopped) = (Vec::new(), None);
        while let Some(batch) = items_out.blocking_recv() {
            match batch {
                Ok(items) => lines.extend(items.iter().map(|item| item.line)),
                Err(reason) => stopped = Some(reason),
            }
        }
        thread.join().unwrap();
        feeder.join().unwrap();
        (lines, stopped)
    }

    fn health_file(kinds: &[usize]) -> String {
        let types = [
            "HKQuantityTypeIdentifierStepCount",
            "HKQuantityTypeIdentifierFlightsClimbed",
            "HKCategoryTypeIdentifierSleepAnalysis",
        ];
        let mut file = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData (Record*)>\n]>\n<HealthData locale=\"en_US\">\n");
        for (n, kind) in kinds.iter().enumerate() {
            file.push_str(&format!(
                " <Record type=\"{}\" unit=\"count\" startDate=\"2026-11-01 07:{:02}:00 -0800\" endDate=\"2026-11-01 08:00:00 -0800\" value=\"{n}\">\n  <MetadataEntry key=\"k\" value=\"&amp;\"/>\n </Record>\n",
                types[kind % 3],
                n % 60
            ));
        }
        file.push_str("</HealthData>\n");
        file
    }

    proptest! {
        #[test]
        fn every_record_of_an_export_is_read_whatever_the_chunking(
            kinds in proptest::collection::vec(0usize..3, 0..300),
            chunk in 1usize..5000,
        ) {
            let file = health_file(&kinds);
            let (lines, stopped) = run(file.as_bytes(), chunk, read_health);
            prop_assert_eq!(stopped, None);
            prop_assert_eq!(lines, (1..=kinds.len() as u64).collect::<Vec<_>>());
        }

        #[test]
        fn any_bytes_end_in_items_or_a_reason_never_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..3000),
            chunk in 1usize..700,
        ) {
            let _ = run(&bytes, chunk, read_health);
            let _ = run(&bytes, chunk, |source, sink| read_rows(source, sink, b','));
        }

        #[test]
        fn a_cut_export_says_so(kinds in proptest::collection::vec(0usize..3, 1..50), cut in 0.0f64..0.97) {
            let file = health_file(&kinds);
            let end = ((file.len() as f64) * cut) as usize;
            let (_, stopped) = run(&file.as_bytes()[..end], 512, read_health);
            prop_assert!(stopped.is_some());
        }

        #[test]
        fn csv_rows_keep_their_lines_across_chunks(rows in 1usize..400, chunk in 1usize..300) {
            let mut file = String::from("time,steps\n");
            for n in 0..rows {
                file.push_str(&format!("2026-11-01,\"{n}\nwith a line break\"\n"));
            }
            let (lines, stopped) = run(file.as_bytes(), chunk, |source, sink| read_rows(source, sink, b','));
            prop_assert_eq!(stopped, None);
            // The header is line 1; each row takes two lines.
            let expected: Vec<u64> = std::iter::once(1).chain((0..rows as u64).map(|n| 2 + 2 * n)).collect();
            prop_assert_eq!(lines, expected);
        }
    }
}
