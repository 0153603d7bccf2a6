//! Benchmark of the Apple Health import (not a test): a generated export.xml of about
//! 500 MB (records shaped like the ones iOS writes, with device strings and metadata,
//! of several kinds including ones Cohort skips) is stored in 1 MB chunks as an upload
//! would store it, then the import job alone (Distill is not run) streams it, checks
//! every record and lands it. Prints records per second and the peak resident memory
//! of this process during the import (the PostgreSQL server's memory is its own).
//!
//!     cargo run --release -p server --example bench_health [-- MEGABYTES]

mod common;
use common::BenchDatabase;

use anyhow::{Context, Result};
use cohort::imports::ImportFile;
use cohort::jobs::{Job as _, Runner, RunnerOptions};
use std::time::Instant;

/// A resident-memory figure of this process from /proc/self/status, in MB.
fn memory(field: &str) -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .context("reading /proc/self/status")?;
    Ok(kb / 1024.0)
}

const TYPES: &[(&str, &str, &str)] = &[
    ("HKQuantityTypeIdentifierStepCount", "count", "412"),
    ("HKQuantityTypeIdentifierHeartRate", "count/min", "72"),
    (
        "HKQuantityTypeIdentifierActiveEnergyBurned",
        "Cal",
        "12.345",
    ),
    (
        "HKQuantityTypeIdentifierDistanceWalkingRunning",
        "km",
        "0.31245",
    ),
    ("HKQuantityTypeIdentifierFlightsClimbed", "count", "2"),
    ("HKQuantityTypeIdentifierBodyMass", "lb", "154.2"),
];

fn record(n: u64, zone: chrono::FixedOffset) -> String {
    let start = chrono::DateTime::from_timestamp(1_577_836_800 + n as i64 * 60, 0)
        .unwrap_or_default()
        .with_timezone(&zone);
    let end = start + chrono::TimeDelta::seconds(59);
    let at =
        |t: chrono::DateTime<chrono::FixedOffset>| t.format("%Y-%m-%d %H:%M:%S %z").to_string();
    if n % 7 == 6 {
        return format!(
            " <Record type=\"HKCategoryTypeIdentifierSleepAnalysis\" sourceName=\"Ada’s Apple Watch\" sourceVersion=\"10.1\" creationDate=\"{}\" startDate=\"{}\" endDate=\"{}\" value=\"HKCategoryValueSleepAnalysisAsleepCore\"/>\n",
            at(end), at(start), at(end)
        );
    }
    let (kind, unit, value) = TYPES[(n % 6) as usize];
    format!(
        " <Record type=\"{kind}\" sourceName=\"Ada’s iPhone\" sourceVersion=\"17.1\" device=\"&lt;&lt;HKDevice: 0x283b2c0f0&gt;, name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone15,2, software:17.1&gt;\" unit=\"{unit}\" creationDate=\"{}\" startDate=\"{}\" endDate=\"{}\" value=\"{value}\">\n  <MetadataEntry key=\"HKMetadataKeyHeartRateMotionContext\" value=\"0\"/>\n </Record>\n",
        at(end), at(start), at(end)
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let megabytes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    let database = BenchDatabase::start(10).await?;
    let pool = database.pool.clone();
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, time_zone) VALUES ('ada@bench.invalid', 'Ada', 'America/Los_Angeles') RETURNING id",
    )
    .fetch_one(&pool)
    .await?;
    let import: i64 = sqlx::query_scalar(
        "INSERT INTO imports (user_id, kind, filename, size_bytes, sha256, status)
         VALUES ($1, 'apple_health', 'export.xml', 0, 'bench', 'queued') RETURNING id",
    )
    .bind(user)
    .fetch_one(&pool)
    .await?;

    // The export, written chunk by chunk as an upload stores it.
    let pacific = chrono::FixedOffset::west_opt(8 * 3600).context("the Pacific offset")?;
    let target = megabytes * 1024 * 1024;
    let mut buffer = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData (ExportDate,Me,(Record)*)>\n]>\n<HealthData locale=\"en_US\">\n <ExportDate value=\"2026-11-27 09:00:00 -0800\"/>\n <Me HKCharacteristicTypeIdentifierDateOfBirth=\"1984-03-12\" HKCharacteristicTypeIdentifierBiologicalSex=\"HKBiologicalSexFemale\"/>\n",
    );
    let (mut size, mut seq, mut records) = (0usize, 0i32, 0u64);
    loop {
        let done = size + buffer.len() >= target;
        if done {
            buffer.push_str("</HealthData>\n");
        } else {
            buffer.push_str(&record(records, pacific));
            records += 1;
        }
        if buffer.len() >= 1 << 20 || done {
            sqlx::query(
                "INSERT INTO import_chunks (user_id, import_id, seq, data) VALUES ($4, $1, $2, $3)",
            )
            .bind(import)
            .bind(seq)
            .bind(buffer.as_bytes())
            .bind(user)
            .execute(&pool)
            .await?;
            size += buffer.len();
            seq += 1;
            buffer.clear();
        }
        if done {
            break;
        }
    }
    sqlx::query("UPDATE imports SET size_bytes = $2 WHERE id = $1")
        .bind(import)
        .bind(size as i64)
        .execute(&pool)
        .await?;
    {
        let mut conn = pool.acquire().await?;
        ImportFile { import_id: import }.enqueue(&mut conn).await?;
    }

    // The import alone: peak memory counted from here.
    std::fs::write("/proc/self/clear_refs", "5").context("resetting the peak memory")?;
    let before = memory("VmRSS:")?;
    let started = Instant::now();
    let runner = Runner::new(pool.clone())
        .with_options(RunnerOptions {
            queues: vec!["pipeline".into()],
            workers: 1,
            ..RunnerOptions::default()
        })
        .register::<ImportFile>();
    let ran = runner.run_pending().await?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = memory("VmHWM:")?;
    let (status, read, accepted, skipped, rejected): (String, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT status, rows_done, accepted, skipped, rejected FROM imports WHERE id = $1",
    )
    .bind(import)
    .fetch_one(&pool)
    .await?;
    anyhow::ensure!(
        ran == 1 && status == "done",
        "the import did not finish: {status}"
    );
    anyhow::ensure!(read as u64 == records, "read {read} of {records} records");
    println!(
        "Apple Health export of {:.0} MB, {records} records: {:>8.0} records/s ({seconds:.1} s); {accepted} landed, {skipped} skipped, {rejected} refused",
        size as f64 / 1_048_576.0,
        records as f64 / seconds
    );
    println!(
        "peak resident memory of the importing process: {peak:.0} MB (before the import: {before:.0} MB; target: under 200 MB)"
    );
    pool.close().await;
    database.stop().await?;
    Ok(())
}
