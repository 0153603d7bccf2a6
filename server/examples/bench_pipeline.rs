//! Benchmark of the pipeline's full recompute (not a test): MEMBERS members × 10 metrics ×
//! 730 days of generated observations (7.3 million for 1,000 members), with planted
//! relations, on a throwaway embedded PostgreSQL; then `cohort recompute`'s work (Index and
//! Compute for everyone, a few members at a time) timed twice, with this process's peak
//! memory: first with no daily value stored yet (every one written), then again over the
//! same data (the nightly recompute of a running instance: nothing to write).
//! Targets (issue 13): under 30 s and under 1 GiB for 1,000 members on a 2-core machine.
//!
//!     cargo run --release -p server --example bench_pipeline [-- MEMBERS]

mod common;
use common::BenchDatabase;

use anyhow::Result;
use std::time::Instant;

const METRICS: [&str; 10] = [
    "sleep",
    "steps",
    "weight",
    "mood",
    "energy",
    "caffeine",
    "alcohol",
    "exercise",
    "resting_heart_rate",
    "meditation",
];

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let members: i64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let database = BenchDatabase::start(10).await?;
    let pool = database.pool.clone();
    app::track::catalogue::sync_catalogue(&pool).await?;
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO users (email, display_name, time_zone)
         SELECT 'm' || n || '@bench.invalid', 'Member ' || n,
                (ARRAY['UTC', 'America/Los_Angeles', 'Europe/Berlin', 'Asia/Tokyo'])[1 + n % 4]
           FROM generate_series(1, $1) n",
    )
    .bind(members)
    .execute(&pool)
    .await?;
    // One observation per member, metric and day; steps drive next-day energy, the rest
    // is noise of each metric's size.
    sqlx::query(
        "INSERT INTO observations (user_id, metric_id, observed_at, value, source)
         SELECT u.id, m.id, now() - make_interval(days => d) + interval '12 hours',
                CASE m.key
                    WHEN 'steps' THEN 4000 + ((u.id * 7919 + d * 104729) % 8000)
                    WHEN 'energy' THEN 1 + ((u.id * 7919 + (d + 1) * 104729) % 8000) / 2000.0
                    WHEN 'sleep' THEN 360 + random() * 120
                    WHEN 'weight' THEN 60 + u.id % 30 + random()
                    WHEN 'mood' THEN 1 + floor(random() * 9)
                    ELSE random() * 100
                END,
                'api'
           FROM users u
           CROSS JOIN metrics m
           CROSS JOIN generate_series(0, 729) d
          WHERE m.owner_id IS NULL AND m.key = ANY($1)",
    )
    .bind(METRICS.map(String::from).to_vec())
    .execute(&pool)
    .await?;
    // What the Index jobs would have done with the to-do list that the triggers wrote
    // (the recompute below rolls up everything anyway), and what autovacuum does on a
    // running instance.
    sqlx::query("TRUNCATE index_dirty").execute(&pool).await?;
    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    let observations: i64 = sqlx::query_scalar("SELECT count(*) FROM observations")
        .fetch_one(&pool)
        .await?;
    println!(
        "generated {observations} observations for {members} members in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // BENCH_SQL: statements run first, to measure what a schema or setting change would
    // save.
    if let Ok(sql) = std::env::var("BENCH_SQL") {
        sqlx::raw_sql(&sql).execute(&pool).await?;
    }
    database.reset_statements().await?;
    let started = Instant::now();
    let done = app::pipeline::recompute_everyone(&pool).await?;
    let seconds = started.elapsed().as_secs_f64();
    database.print_statements(12).await?;
    let (days, tests, shown): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM daily_values), (SELECT count(*) FROM pair_tests),
                (SELECT count(*) FROM insights)",
    )
    .fetch_one(&pool)
    .await?;
    println!("full recompute: {done} members in {seconds:.1} s ({:.0} members/s, {:.0} observations/s); {days} daily values, {tests} pair tests, {shown} insights shown",
        done as f64 / seconds, observations as f64 / seconds);
    println!(
        "peak resident memory of this process: {:.0} MiB (parallel members: {})",
        peak_rss_mib(),
        app::pipeline::RECOMPUTE_PARALLEL
    );
    // Again, over the same data: what the nightly recompute does on a running instance
    // (every daily value already stored; only what changed is written), once autovacuum
    // has been through the days just written, as it has on a running instance (left to
    // itself, it ran during this measurement in some runs and not in others: 21 s or 42 s).
    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    let started = Instant::now();
    app::pipeline::recompute_everyone(&pool).await?;
    let again = started.elapsed().as_secs_f64();
    println!(
        "second full recompute (nothing changed): {done} members in {again:.1} s ({:.0} members/s)",
        done as f64 / again
    );
    // The same again, one stage at a time, and the plan of one member's roll-up.
    let started = Instant::now();
    for user_id in 1..=members {
        let mut conn = pool.acquire().await?;
        app::pipeline::index::roll_up(&mut conn, user_id).await?;
    }
    let index = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for user_id in 1..=members {
        app::pipeline::compute::Compute { user_id }
            .run(&pool)
            .await?;
    }
    let compute = started.elapsed().as_secs_f64();
    println!(
        "one member at a time, nothing changed: Index {:.1} ms a member, Compute {:.1} ms a member",
        index * 1000.0 / members as f64,
        compute * 1000.0 / members as f64
    );
    if std::env::var_os("BENCH_PLAN").is_some() {
        let explain = format!(
            "EXPLAIN (ANALYZE, BUFFERS) {}",
            app::pipeline::index::ROLL_UP.replace("$1", "1")
        );
        let plan: Vec<String> = sqlx::query_scalar(&explain).fetch_all(&pool).await?;
        println!(
            "one member's roll-up, nothing changed:\n{}",
            plan.join("\n")
        );
        // And as the first recompute runs it: no day stored yet (rolled back).
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM daily_months WHERE user_id = 1")
            .execute(&mut *tx)
            .await?;
        let explain = format!(
            "EXPLAIN (ANALYZE, BUFFERS) {}",
            app::pipeline::index::ROLL_UP_FIRST.replace("$1", "1")
        );
        let plan: Vec<String> = sqlx::query_scalar(&explain).fetch_all(&mut *tx).await?;
        println!("one member's roll-up, no day stored:\n{}", plan.join("\n"));
        tx.rollback().await?;
    }
    pool.close().await;
    database.stop().await?;
    Ok(())
}
