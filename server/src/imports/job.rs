//! The import job: reads an uploaded file from its chunks in PostgreSQL (CSV or an
//! Apple Health export), a batch of rows at a time, lands the valid entries through
//! `app::pipeline::capture::land` and keeps the rows it could not import, by line, with why.
//! It resumes after the last line it landed.

use super::*;
use crate::jobs::{Job, JobContext, Run};
use crate::readers;
use anyhow::{Context, Result};
use app::pipeline::capture::{land, Landing};
use app::track::apple_health as health;
use app::track::catalogue::{member_metrics, MetricIndex};
use app::track::csv::Mapping;
use app::track::entry::{check, refuse_nul, RawEntry};
use serde::{Deserialize, Serialize};

/// Job: import one uploaded file (CSV or Apple Health).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportFile {
    pub import_id: i64,
}

/// One unit of a file on its way from the reader's thread: a CSV row or an Apple Health
/// record, with its line (or its place among the records) and the byte offset after it.
pub(super) struct Item {
    pub(super) line: u64,
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
}

impl Run for ImportFile {
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
    let chunks: i32 = sqlx::query_scalar(
        "SELECT count(*)::int FROM import_chunks WHERE user_id = $2 AND import_id = $1",
    )
    .bind(id)
    .bind(user_id)
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
                "SELECT data FROM import_chunks WHERE user_id = $3 AND import_id = $1 AND seq = $2",
            )
            .bind(id)
            .bind(seq)
            .bind(user_id)
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
            // A reason may quote the file (an Apple Health value), and text holds no NUL.
            let (lines, messages): (Vec<i64>, Vec<String>) = errors
                .into_iter()
                .map(|(line, message)| (line, message.replace('\0', "\u{FFFD}")))
                .unzip();
            sqlx::query(
                "INSERT INTO import_errors (user_id, import_id, line, message)
                 SELECT $5, $1, e.line, e.message FROM unnest($2::bigint[], $3::text[]) AS e(line, message)
                  LIMIT greatest(0, $4 - (SELECT count(*) FROM import_errors
                                           WHERE user_id = $5 AND import_id = $1))",
            )
            .bind(id)
            .bind(&lines)
            .bind(&messages)
            .bind(KEPT_ERRORS)
            .bind(user_id)
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
    sqlx::query("DELETE FROM import_chunks WHERE user_id = $2 AND import_id = $1")
        .bind(id)
        .bind(user_id)
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
    refuse_nul(entry)?;
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

pub(super) type Sink = tokio::sync::mpsc::Sender<std::result::Result<Items, String>>;

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
pub(super) fn read_rows(source: tokio::sync::mpsc::Receiver<Vec<u8>>, sink: Sink, delimiter: u8) {
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
pub(super) fn read_health(source: tokio::sync::mpsc::Receiver<Vec<u8>>, sink: Sink) {
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
