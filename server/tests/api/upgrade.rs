//! Upgrades: a database written by an earlier version, with its data, migrates to this
//! version's schema, keeps every row, and works: the pipeline computes the daily values
//! of data that existed before the pipeline did, and the pages serve it.
//!
//! The earlier version is the last one before the insight half (migrations up to
//! 20261202000009: accounts, groups, meetups, tracking with Capture and Distill), the
//! schema that members' data was written in before the pipeline's tables existed.

use crate::helpers::{server, TestApp};
use sqlx::{Connection, PgConnection};

/// The last migration of the earlier version.
const EARLIER: &str = "20261202000009";

#[tokio::test]
async fn an_earlier_versions_database_migrates_with_its_data_and_works() {
    // An empty database, brought to the earlier schema by the earlier migrations only.
    let name = format!("cohort_upgrade_{}", std::process::id());
    let mut admin = PgConnection::connect_with(&server().await).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let pool = cohort::db::pool_options(5)
        .connect_with(server().await.database(&name))
        .await
        .unwrap();
    let earlier = tempfile::tempdir().unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut copied = 0;
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if file.as_str() <= EARLIER || file.starts_with(EARLIER) {
            std::fs::copy(&path, earlier.path().join(&file)).unwrap();
            copied += 1;
        }
    }
    assert_eq!(copied, 9);
    sqlx::migrate::Migrator::new(earlier.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();

    // What the earlier version held: a member in a group, a meetup she was checked in
    // at, sleep shared with the group, 30 nights of it.
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, time_zone, password_hash)
         VALUES ('ada@example.org', 'Ada', 'Europe/London', 'x') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let group: i64 = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, time_zone) VALUES ('sleepers', 'Sleepers', 'Europe/London') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO memberships (group_id, user_id, joined_at) VALUES ($1, $2, now() - interval '60 days')")
        .bind(group)
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    let event: i64 = sqlx::query_scalar(
        "INSERT INTO events (group_id, title, starts_at, ends_at, time_zone, venue)
         VALUES ($1, 'Sleep show and tell', now() - interval '14 days', now() - interval '14 days' + interval '2 hours',
                 'Europe/London', 'The library')
         RETURNING id",
    )
    .bind(group)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO rsvps (event_id, user_id, answer, seat, arrival, checked_in_at)
         VALUES ($1, $2, 'yes', 'going', 1, now() - interval '14 days')",
    )
    .bind(event)
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    let sleep: i64 = sqlx::query_scalar(
        "INSERT INTO metrics (key, name, kind, unit, display_unit, aggregate, min_value, max_value, pinned_by_default)
         VALUES ('sleep', 'Sleep', 'duration', 'min', 'h', 'sum', 0, 1440, true) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO metric_shares (user_id, metric_id, group_id, level) VALUES ($1, $2, $3, 'aggregate')")
        .bind(user)
        .bind(sleep)
        .bind(group)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO observations (user_id, metric_id, observed_at, value, note, source)
         SELECT $1, $2, date_trunc('day', now()) - make_interval(days => g) + interval '7 hours',
                420 + g, CASE WHEN g = 3 THEN 'late #coffee' ELSE '' END, 'quick_log'
           FROM generate_series(1, 30) g",
    )
    .bind(user)
    .bind(sleep)
    .execute(&pool)
    .await
    .unwrap();

    // This version's migrations (and its start-up's catalogue) over it.
    cohort::db::migrate(&pool).await.unwrap();
    let kept: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM memberships),
                (SELECT count(*) FROM rsvps WHERE checked_in_at IS NOT NULL),
                (SELECT count(*) FROM observations), (SELECT count(*) FROM metric_shares)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(kept, (1, 1, 1, 30, 1), "every row kept");
    let sleep_after: i64 =
        sqlx::query_scalar("SELECT id FROM metrics WHERE key = 'sleep' AND owner_id IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        sleep_after, sleep,
        "the catalogue's sleep is the same metric"
    );
    let search: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM observations
          WHERE note <> '' AND to_tsvector('simple', note) @@ to_tsquery('simple', 'coffee')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(search, 1, "old notes are searchable");

    // The pipeline over data older than itself: a value for each of the 30 nights.
    assert_eq!(app::pipeline::recompute_everyone(&pool).await.unwrap(), 1);
    let (days, first): (i64, f64) = sqlx::query_as(
        "SELECT count(*), min(value) FROM daily_values WHERE user_id = $1 AND metric_id = $2",
    )
    .bind(user)
    .bind(sleep)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((days, first), (30, 421.0));

    // And the pages serve it.
    let app = TestApp::spawn_on(pool).await;
    let page = app.get(&format!("/events/{event}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Sleep show and tell"));
    let group_page = app.get("/groups/sleepers").await;
    assert_eq!(group_page.status(), 200);
}
