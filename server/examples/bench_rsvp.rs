//! Benchmark of RSVPs (not a test): concurrent "yes" answers through the seating rules
//! (`app::events::seats::set_rsvp`, one transaction each, the event row locked), to one
//! full event (every answer waits for the one before) and spread over 20 events, on a
//! throwaway embedded PostgreSQL with its default (durable) settings.
//!
//!     cargo run --release -p server --example bench_rsvp [-- MEMBERS]

mod common;
use common::BenchDatabase;

use anyhow::Result;
use app::events::seats::{set_rsvp, Answer};
use chrono::{Duration as Days, Utc};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

async fn event(pool: &PgPool, group: i64, capacity: i32) -> Result<i64> {
    let starts = Utc::now() + Days::days(10);
    Ok(sqlx::query_scalar(
        "INSERT INTO events (group_id, title, starts_at, ends_at, time_zone, capacity, max_guests)
         VALUES ($1, 'Bench', $2, $3, 'UTC', $4, 2) RETURNING id",
    )
    .bind(group)
    .bind(starts)
    .bind(starts + Days::hours(2))
    .bind(capacity)
    .fetch_one(pool)
    .await?)
}

/// Connections in the pool, and so answers in flight at once (the rest queue for a permit).
const CONNECTIONS: u32 = 16;

/// Every member answers yes at once (each on its own task, at most `CONNECTIONS` in a
/// transaction at a time); returns answers per second.
async fn burst(pool: &PgPool, members: &[i64], events: &[i64]) -> Result<f64> {
    let permits = Arc::new(Semaphore::new(CONNECTIONS as usize));
    let started = Instant::now();
    let tasks: Vec<_> = members
        .iter()
        .enumerate()
        .map(|(i, &user)| {
            let pool = pool.clone();
            let event = events[i % events.len()];
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await?;
                let mut tx = pool.begin().await?;
                set_rsvp(
                    &mut tx,
                    event,
                    user,
                    Answer::Yes,
                    (i % 5 == 0) as i32,
                    Utc::now(),
                )
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
                tx.commit().await?;
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(members.len() as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<()> {
    let count: i64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let database = BenchDatabase::start(CONNECTIONS).await?;
    let pool = database.pool.clone();
    let group: i64 = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, time_zone) VALUES ('bench', 'Bench', 'UTC') RETURNING id",
    )
    .fetch_one(&pool)
    .await?;
    let members: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, display_name) SELECT 'm' || n || '@bench.invalid', 'M' || n
           FROM generate_series(1, $1) n RETURNING id",
    )
    .bind(count)
    .fetch_all(&pool)
    .await?;

    let one = event(&pool, group, 50).await?;
    let rate = burst(&pool, &members, &[one]).await?;
    let (taken, waiting): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(1 + guests) FILTER (WHERE seat = 'going'), 0)::bigint,
                count(*) FILTER (WHERE seat = 'waitlisted') FROM rsvps WHERE event_id = $1",
    )
    .bind(one)
    .fetch_one(&pool)
    .await?;
    println!(
        "{count} concurrent yes answers, one event of 50 seats: {rate:>7.0} RSVPs/s ({taken} seats taken, {waiting} waitlisted)"
    );

    let mut spread = Vec::new();
    for _ in 0..20 {
        spread.push(event(&pool, group, 50).await?);
    }
    let rate = burst(&pool, &members, &spread).await?;
    println!("{count} concurrent yes answers over 20 events:        {rate:>7.0} RSVPs/s");

    pool.close().await;
    database.stop().await?;
    Ok(())
}
