//! Benchmark of Capture (not a test): 1,000,000 observations sent to the REST API in
//! batches of 10,000 (checked item by item, landed in `raw_observations` with their
//! idempotency keys), beside PostgreSQL `COPY` of the same rows into the same table, in
//! one run on a throwaway embedded PostgreSQL; then Distill over all the API's rows, in
//! batches of 1,000 as the Distill job takes them.
//! Request bodies are serialised before the clock starts: the figure is the server's.
//!
//!     cargo run --release -p server --example bench_ingest [-- OBSERVATIONS]

mod common;
use common::BenchDatabase;

use anyhow::{ensure, Result};
use cohort::startup::{Application, WebSettings};
use serde_json::{json, Value};
use std::time::Instant;

const BATCH: usize = 10_000;
/// Requests in flight at once.
const CLIENTS: usize = 2;

fn item(n: usize) -> Value {
    let (metric, value) = match n % 4 {
        0 => ("steps", json!(3000 + n % 9000)),
        1 => ("mood", json!(1 + n % 9)),
        2 => ("sleep", json!(300 + n % 240)),
        _ => ("weight", json!(60.0 + (n % 300) as f64 / 10.0)),
    };
    let minutes = (n / 4) as i64;
    let time = chrono::DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0)
        .unwrap_or_default()
        .to_rfc3339();
    json!({ "metric": metric, "value": value, "time": time, "idempotency_key": format!("k{n}") })
}

async fn user(pool: &sqlx::PgPool, email: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO users (email, display_name, time_zone) VALUES ($1, 'Bench', 'UTC') RETURNING id",
    )
    .bind(email)
    .fetch_one(pool)
    .await?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let database = BenchDatabase::start(10).await?;
    let pool = database.pool.clone();
    let (api_user, copy_user) = (
        user(&pool, "api@bench.invalid").await?,
        user(&pool, "copy@bench.invalid").await?,
    );
    let secret = common::write_token(&pool, api_user).await?;
    let settings = WebSettings::local(
        "127.0.0.1:0".parse()?,
        std::path::Path::new("/nonexistent/cohort-site"),
    );
    let server = Application::build(&settings, pool.clone()).await?;
    let url = format!("http://127.0.0.1:{}/api/v1/observations", server.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    let items: Vec<Value> = (0..count).map(item).collect();
    let bodies: Vec<String> = items
        .chunks(BATCH)
        .map(|chunk| json!({ "observations": chunk }).to_string())
        .collect();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut accepted = 0u64;
    for group in bodies.chunks(CLIENTS) {
        let answers = futures_util::future::join_all(group.iter().map(|body| {
            client
                .post(&url)
                .bearer_auth(&secret)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
        }))
        .await;
        for answer in answers {
            let answer: Value = answer?.error_for_status()?.json().await?;
            accepted += answer["accepted"].as_u64().unwrap_or(0);
        }
    }
    let api_seconds = started.elapsed().as_secs_f64();
    ensure!(
        accepted == count as u64,
        "the API accepted {accepted} of {count}"
    );

    // The same rows by COPY (CSV), for another member so that nothing conflicts.
    let mut csv = String::new();
    for (n, item) in items.iter().enumerate() {
        csv.push_str(&format!(
            "{copy_user},api,k{n},\"{}\"\n",
            item.to_string().replace('"', "\"\"")
        ));
    }
    let mut conn = pool.acquire().await?;
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw(
            "COPY raw_observations (user_id, source, idempotency_key, payload) FROM STDIN (FORMAT csv)",
        )
        .await?;
    for chunk in csv.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    let copied = copy.finish().await?;
    let copy_seconds = started.elapsed().as_secs_f64();
    drop(conn);
    ensure!(copied == count as u64, "COPY wrote {copied} of {count}");

    let (api_rate, copy_rate) = (count as f64 / api_seconds, count as f64 / copy_seconds);
    println!(
        "{count} observations through POST /api/v1/observations ({BATCH} a request, {CLIENTS} at a time): {api_rate:>9.0} rows/s ({api_seconds:.1} s)"
    );
    println!(
        "{count} rows by COPY into raw_observations:                                    {copy_rate:>9.0} rows/s ({copy_seconds:.1} s)"
    );
    println!(
        "API / COPY: {:.2} (target: at least 0.50)",
        api_rate / copy_rate
    );

    // Distill: checks, converts and promotes landed rows into observations.
    // BENCH_SQL: statements run first, to measure what a schema change would save.
    if let Ok(sql) = std::env::var("BENCH_SQL") {
        sqlx::raw_sql(&sql).execute(&pool).await?;
    }
    // With BENCH_PG=shared_preload_libraries=pg_stat_statements, the statements printed
    // at the end are Distill's alone.
    database.reset_statements().await?;
    let started = Instant::now();
    let (mut done, mut after) = (0, 0);
    while done < count {
        let batch = app::pipeline::distill::distill(&pool, api_user, 1000, after).await?;
        after = batch.last_id;
        done += batch.accepted + batch.refused;
        if !batch.more {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Distill of {done} landed rows into observations:                             {:>9.0} rows/s ({seconds:.1} s)",
        done as f64 / seconds
    );

    database.print_statements(12).await?;
    let _ = stop.send(());
    pool.close().await;
    database.stop().await?;
    Ok(())
}
