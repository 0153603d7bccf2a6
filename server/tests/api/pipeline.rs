//! The pipeline after Capture, through the jobs a worker runs: Distill's outlier flags,
//! Index's days in the member's own time zone, Compute's summaries and tested pairs, the
//! API that exposes them, and a full recompute that writes exactly what the jobs wrote.

use crate::helpers::TestApp;
use crate::rest::token;
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{json, Value};

pub(crate) async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn post(app: &TestApp, token: &str, observations: Vec<Value>) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/observations", app.address))
        .bearer_auth(token)
        .json(&json!({ "observations": observations }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["rejected"], 0, "{body}");
}

/// Observations straight into the table (Index reads nothing else).
async fn observe(app: &TestApp, user_id: i64, metric: &str, at: &str, value: f64) {
    sqlx::query(
        "INSERT INTO observations (user_id, metric_id, observed_at, value, source)
         SELECT $1, id, $3::timestamptz, $4, 'api' FROM metrics WHERE key = $2 AND owner_id IS NULL",
    )
    .bind(user_id)
    .bind(metric)
    .bind(at)
    .bind(value)
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn days(app: &TestApp, user_id: i64, metric: &str) -> Vec<(NaiveDate, f64, i32)> {
    sqlx::query_as(
        "SELECT d.day, d.value, d.count FROM daily_values d JOIN metrics m ON m.id = d.metric_id
          WHERE d.user_id = $1 AND m.key = $2 ORDER BY d.day",
    )
    .bind(user_id)
    .bind(metric)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_day_runs_midnight_to_midnight_in_the_members_zone_across_daylight_saving() {
    let app = TestApp::spawn().await;
    let (_, ana) = app
        .member_in_zone("ana@example.org", "Ana", "America/Los_Angeles")
        .await;
    // Spring forward: 8 March 2026 has 23 hours (02:00 PST -> 03:00 PDT).
    observe(&app, ana, "steps", "2026-03-07T23:59:00-08:00", 1.0).await;
    observe(&app, ana, "steps", "2026-03-08T00:00:00-08:00", 10.0).await;
    observe(&app, ana, "steps", "2026-03-08T01:59:00-08:00", 100.0).await;
    observe(&app, ana, "steps", "2026-03-08T03:00:00-07:00", 1000.0).await;
    observe(&app, ana, "steps", "2026-03-08T23:59:00-07:00", 10000.0).await;
    observe(&app, ana, "steps", "2026-03-09T00:00:00-07:00", 100000.0).await;
    // Fall back: 1 November 2026 has 25 hours; 01:30 happens twice.
    observe(&app, ana, "steps", "2026-10-31T23:59:00-07:00", 1.0).await;
    observe(&app, ana, "steps", "2026-11-01T01:30:00-07:00", 10.0).await;
    observe(&app, ana, "steps", "2026-11-01T01:30:00-08:00", 100.0).await;
    observe(&app, ana, "steps", "2026-11-01T23:59:00-08:00", 1000.0).await;
    observe(&app, ana, "steps", "2026-11-02T00:00:00-08:00", 10000.0).await;
    // "last" keeps the latest of the day; "mean" averages.
    observe(&app, ana, "weight", "2026-11-01T01:30:00-07:00", 70.0).await;
    observe(&app, ana, "weight", "2026-11-01T01:30:00-08:00", 71.0).await;
    observe(&app, ana, "mood", "2026-11-01T08:00:00-08:00", 4.0).await;
    observe(&app, ana, "mood", "2026-11-01T20:00:00-08:00", 7.0).await;

    app::pipeline::index::Index { user_id: ana }
        .run(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        days(&app, ana, "steps").await,
        vec![
            (date("2026-03-07"), 1.0, 1),
            (date("2026-03-08"), 11110.0, 4),
            (date("2026-03-09"), 100000.0, 1),
            (date("2026-10-31"), 1.0, 1),
            (date("2026-11-01"), 1110.0, 3),
            (date("2026-11-02"), 10000.0, 1),
        ]
    );
    assert_eq!(
        days(&app, ana, "weight").await,
        vec![(date("2026-11-01"), 71.0, 2)]
    );
    assert_eq!(
        days(&app, ana, "mood").await,
        vec![(date("2026-11-01"), 5.5, 2)]
    );

    // Moving to Berlin moves the days; a deleted observation leaves its day.
    sqlx::query("UPDATE users SET time_zone = 'Europe/Berlin' WHERE id = $1")
        .bind(ana)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM observations WHERE user_id = $1 AND value = 100000")
        .bind(ana)
        .execute(&app.pool)
        .await
        .unwrap();
    let done = app::pipeline::index::Index { user_id: ana }
        .run(&app.pool)
        .await
        .unwrap();
    assert!(done.removed > 0);
    let berlin = days(&app, ana, "steps").await;
    // 23:59 in Los Angeles on 7 March is 08:59 on the 8th in Berlin.
    assert_eq!(berlin[0], (date("2026-03-08"), 1111.0, 4), "{berlin:?}");
    assert!(berlin.iter().all(|d| d.0 != date("2026-03-10")));
    // Nothing changed, nothing written.
    let again = app::pipeline::index::Index { user_id: ana }
        .run(&app.pool)
        .await
        .unwrap();
    assert_eq!((again.written, again.removed), (0, 0));

    // With the zone unchanged, Index redoes only the days that changed (the triggers on
    // observations list them): a value moved to another day, one excluded, one added,
    // one deleted. The whole history rolled up afterwards finds nothing left to change.
    for change in [
        "UPDATE observations SET observed_at = observed_at + interval '3 days'
          WHERE user_id = $1 AND value = 10000",
        "UPDATE observations SET excluded = true WHERE user_id = $1 AND value = 71",
        "DELETE FROM observations WHERE user_id = $1 AND value = 1",
        "UPDATE observations SET robust_z = 9 WHERE user_id = $1 AND value = 4",
    ] {
        sqlx::query(change)
            .bind(ana)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    observe(&app, ana, "mood", "2026-11-05T08:00:00-08:00", 6.0).await;
    let listed: Vec<(Option<i64>, Option<NaiveDate>)> =
        sqlx::query_as("SELECT metric_id, day FROM index_dirty WHERE user_id = $1")
            .bind(ana)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(
        listed.iter().all(|(m, d)| m.is_some() && d.is_some()),
        "only days: {listed:?}"
    );
    let days_listed: std::collections::BTreeSet<_> = listed.iter().map(|(m, d)| (*m, *d)).collect();
    assert!(
        (5..=10).contains(&days_listed.len()),
        "the moved value's two days, the excluded's, the deleted ones', the new one's; not the outlier flag: {days_listed:?}"
    );
    let partial = app::pipeline::index::Index { user_id: ana }
        .run(&app.pool)
        .await
        .unwrap();
    assert!(partial.written > 0 && partial.removed > 0, "{partial:?}");
    assert_eq!(
        days(&app, ana, "weight").await,
        vec![(date("2026-11-01"), 70.0, 1)],
        "the excluded value no longer counts"
    );
    let mut conn = app.pool.acquire().await.unwrap();
    let whole = app::pipeline::index::roll_up(&mut conn, ana).await.unwrap();
    assert_eq!(
        (whole.written, whole.removed),
        (0, 0),
        "the touched days were all of it"
    );

    // A month whose last day goes is gone from the stored months too (migration 25).
    sqlx::query(
        "DELETE FROM observations WHERE user_id = $1
            AND metric_id = (SELECT id FROM metrics WHERE key = 'weight' AND owner_id IS NULL)",
    )
    .bind(ana)
    .execute(&app.pool)
    .await
    .unwrap();
    let emptied = app::pipeline::index::Index { user_id: ana }
        .run(&app.pool)
        .await
        .unwrap();
    assert_eq!((emptied.written, emptied.removed), (0, 1));
    assert_eq!(days(&app, ana, "weight").await, vec![]);
    let months: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM daily_months d JOIN metrics m ON m.id = d.metric_id
          WHERE d.user_id = $1 AND m.key = 'weight'",
    )
    .bind(ana)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(months, 0, "an empty month is removed");
}

/// Deletes the member in a task of its own and returns it once the deletion is seen
/// waiting on a lock (held by `holder`, which the caller then ends); fails if it
/// finishes first or never waits. The task returns the rows deleted.
async fn delete_member_waiting(
    app: &TestApp,
    user_id: i64,
    holder: &str,
) -> tokio::task::JoinHandle<u64> {
    let pool = app.pool.clone();
    let deletion = tokio::spawn(async move {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&pool)
            .await
            .unwrap()
            .rows_affected()
    });
    for _ in 0..200 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'
                AND query LIKE 'DELETE FROM users%'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if waiting == 1 {
            return deletion;
        }
        assert!(
            !deletion.is_finished(),
            "the deletion did not wait for {holder}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the deletion never waited for {holder}");
}

/// daily_values has no foreign key (migration 19): a member deleted while their roll-up
/// runs must still leave no daily value behind. The roll-up locks the member's row, so
/// the deletion waits for it, and the deletion's trigger then removes what it wrote.
#[tokio::test]
async fn a_member_deleted_during_their_roll_up_leaves_no_daily_value() {
    let app = TestApp::spawn().await;
    let (_, bea) = app.member_in_zone("bea@example.org", "Bea", "UTC").await;
    for day in 1..=9 {
        observe(
            &app,
            bea,
            "steps",
            &format!("2026-11-0{day}T12:00:00Z"),
            1000.0,
        )
        .await;
    }
    let mut rolling = app.pool.begin().await.unwrap();
    let done = app::pipeline::index::roll_up(&mut rolling, bea)
        .await
        .unwrap();
    assert_eq!(done.written, 9);
    // The deletion waits on the member's row, locked by the roll-up.
    let deletion = delete_member_waiting(&app, bea, "the roll-up").await;
    rolling.commit().await.unwrap();
    assert_eq!(deletion.await.unwrap(), 1);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM daily_values WHERE user_id = $1")
        .bind(bea)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "daily values outlived their member");
    // And a roll-up of a member who is gone writes nothing.
    let mut conn = app.pool.acquire().await.unwrap();
    let after = app::pipeline::index::roll_up(&mut conn, bea).await.unwrap();
    assert_eq!((after.written, after.removed), (0, 0));
}

/// pair_tests has no foreign key (migration 26): a member deleted while their compute
/// runs must still leave no pair test behind. The compute locks the member's row, so the
/// deletion waits for it, and the deletion's trigger then removes what it wrote.
#[tokio::test]
async fn a_member_deleted_during_their_compute_leaves_no_pair_test() {
    let app = TestApp::spawn().await;
    let (_, bea) = app.member_in_zone("bea@example.org", "Bea", "UTC").await;
    sqlx::query(
        "INSERT INTO daily_values (user_id, metric_id, day, value, count)
         SELECT $1, m.id, current_date - g, (g * g) % 17, 1
           FROM metrics m, generate_series(0, 19) g
          WHERE m.owner_id IS NULL AND m.key IN ('sleep', 'steps')",
    )
    .bind(bea)
    .execute(&app.pool)
    .await
    .unwrap();
    let tests = "SELECT count(*) FROM pair_tests WHERE user_id = $1";
    let mut computing = app.pool.begin().await.unwrap();
    assert!(app::pipeline::compute::compute(&mut computing, bea)
        .await
        .unwrap());
    let written: i64 = sqlx::query_scalar(tests)
        .bind(bea)
        .fetch_one(&mut *computing)
        .await
        .unwrap();
    assert!(written > 0, "the compute tested the pair");
    // The deletion waits on the member's row, locked by the compute.
    let deletion = delete_member_waiting(&app, bea, "the compute").await;
    computing.commit().await.unwrap();
    assert_eq!(deletion.await.unwrap(), 1);
    let left: i64 = sqlx::query_scalar(tests)
        .bind(bea)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "pair tests outlived their member");
    // And a compute of a member who is gone writes nothing.
    let mut conn = app.pool.acquire().await.unwrap();
    assert!(!app::pipeline::compute::compute(&mut conn, bea)
        .await
        .unwrap());
    let left: i64 = sqlx::query_scalar(tests)
        .bind(bea)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// observations have no foreign key (migration 21): a member deleted while Distill
/// writes their batch must still leave no observation behind. The batch locks the
/// member's row, so the deletion waits for it, and the deletion's trigger then removes
/// what it wrote; a batch after the deletion writes nothing.
#[tokio::test]
async fn a_member_deleted_during_their_distill_leaves_no_observation() {
    let app = TestApp::spawn().await;
    let (_, bea) = app.member_in_zone("bea@example.org", "Bea", "UTC").await;
    let mut conn = app.pool.acquire().await.unwrap();
    let entries = (1..=9)
        .map(|day| app::pipeline::capture::Landing {
            idempotency_key: format!("k{day}"),
            payload: serde_json::json!({
                "metric": "steps", "value": 1000, "at": format!("2026-11-0{day}T12:00:00Z"),
            }),
        })
        .collect();
    app::pipeline::capture::land(&mut conn, bea, "api", entries)
        .await
        .unwrap();
    drop(conn);
    let mut distilling = app.pool.begin().await.unwrap();
    let done = app::pipeline::distill::distill_in(&mut distilling, bea, 100, 0)
        .await
        .unwrap();
    assert_eq!(done.accepted, 9);
    // The deletion waits on the member's row, locked by the batch.
    let deletion = delete_member_waiting(&app, bea, "the batch").await;
    distilling.commit().await.unwrap();
    assert_eq!(deletion.await.unwrap(), 1);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM observations WHERE user_id = $1")
        .bind(bea)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "observations outlived their member");
    let after = app::pipeline::distill::distill(&app.pool, bea, 100, 0)
        .await
        .unwrap();
    assert_eq!((after.accepted, after.refused), (0, 0));
}

/// A deterministic stream of numbers in [0, 1).
pub(crate) struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Sixty days of steps, energy that follows the steps of the day before, and mood that
/// follows nothing, sent through the API.
pub(crate) async fn sixty_days(app: &TestApp, write: &str, seed: u64) {
    let mut rng = Lcg(seed);
    let today = Utc::now().date_naive();
    let mut batch = Vec::new();
    let mut yesterday_steps: Option<f64> = None;
    for back in (1..=60).rev() {
        let day = today - Duration::days(back);
        let steps = (4000.0 + rng.next() * 8000.0).round();
        batch.push(json!({ "metric": "steps", "value": steps, "time": format!("{day}T12:00"), "idempotency_key": format!("s{day}") }));
        if let Some(before) = yesterday_steps {
            let energy = (1.0 + before / 3000.0 + rng.next() * 0.8)
                .floor()
                .clamp(1.0, 5.0);
            batch.push(json!({ "metric": "energy", "value": energy, "time": format!("{day}T20:00"), "idempotency_key": format!("e{day}") }));
        }
        let mood = (3.0 + rng.next() * 5.0).floor();
        batch.push(json!({ "metric": "mood", "value": mood, "time": format!("{day}T21:00"), "idempotency_key": format!("m{day}") }));
        yesterday_steps = Some(steps);
    }
    // Caffeine with one wild day: flagged, but still counted.
    for back in 1..=30 {
        let day = today - Duration::days(back);
        let mg = if back == 3 {
            4000.0
        } else {
            (100.0 + rng.next() * 200.0).round()
        };
        batch.push(json!({ "metric": "caffeine", "value": mg, "time": format!("{day}T09:00"), "idempotency_key": format!("c{day}") }));
    }
    post(app, write, batch).await;
}

/// Everything Compute and Index wrote for a member, as comparable text.
async fn results(app: &TestApp, user_id: i64) -> Vec<String> {
    let mut out: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s %s %s %s', m.key, d.day, d.value, d.count) FROM daily_values d
           JOIN metrics m ON m.id = d.metric_id WHERE d.user_id = $1 ORDER BY 1",
    )
    .bind(user_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    out.extend(
        sqlx::query_scalar::<_, String>(
            "SELECT format('%s', to_jsonb(t) - 'user_id') FROM pair_tests t WHERE user_id = $1
              ORDER BY a, b, lag_days",
        )
        .bind(user_id)
        .fetch_all(&app.pool)
        .await
        .unwrap(),
    );
    out.extend(
        sqlx::query_scalar::<_, String>(
            "SELECT format('%s %s', metric_id, summary) FROM metric_summaries WHERE user_id = $1
              ORDER BY metric_id",
        )
        .bind(user_id)
        .fetch_all(&app.pool)
        .await
        .unwrap(),
    );
    out.extend(
        sqlx::query_scalar::<_, String>(
            "SELECT format('%s %s %s', id, subject, sentence) FROM insights WHERE user_id = $1
              ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&app.pool)
        .await
        .unwrap(),
    );
    out.push(
        sqlx::query_scalar(
            "SELECT format('%s %s %s', as_of, inputs_hash, code_version) FROM member_computes
              WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap(),
    );
    out
}

#[tokio::test]
async fn a_planted_relation_reaches_the_api_as_an_insight_and_a_recompute_agrees() {
    let app = TestApp::spawn().await;
    let (client, bea) = app
        .member_in_zone("bea@example.org", "Bea", "Europe/Lisbon")
        .await;
    let (_, read) = token(&app, &client, "read").await;
    let (_, write) = token(&app, &client, "write").await;
    sixty_days(&app, &write, 7).await;
    let ran = app.run_jobs().await;
    assert!(ran >= 1, "Distill ran ({ran} jobs)");
    // Index and Compute ran straight after Distill, each in place of its queued job.
    let (left, taken): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state IN ('pending', 'running')),
                count(*) FILTER (WHERE kind IN ('index', 'compute') AND state = 'cancelled')
           FROM jobs WHERE queue = 'pipeline'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((left, taken), (0, 2), "no stage left in the queue");

    // Index: one value per day; the wild value is flagged and counted.
    let (status, daily) = get(&app, "/api/v1/daily?metric=steps", &read).await;
    assert_eq!(status, 200, "{daily}");
    assert_eq!(daily["zone"], "Europe/Lisbon");
    assert_eq!(daily["days"].as_array().unwrap().len(), 60);
    let flagged: Vec<f64> = sqlx::query_scalar(
        "SELECT value FROM observations WHERE user_id = $1 AND outlier ORDER BY value",
    )
    .bind(bea)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(flagged, vec![4000.0]);
    let (status, caffeine) = get(&app, "/api/v1/daily?metric=caffeine", &read).await;
    assert_eq!(status, 200);
    assert!(caffeine["days"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["value"] == 4000.0));

    // Compute: the lag-1 relation of steps to energy is found and shown, in a sentence.
    let (status, correlations) = get(&app, "/api/v1/correlations", &read).await;
    assert_eq!(status, 200, "{correlations}");
    let tests = correlations["tests"].as_array().unwrap();
    let hit = tests
        .iter()
        .find(|t| t["a"] == "steps" && t["b"] == "energy" && t["lag_days"] == 1)
        .unwrap_or_else(|| panic!("no steps -> energy test in {correlations}"));
    assert_eq!(hit["shown"], true, "{hit}");
    assert!(hit["pearson_r"].as_f64().unwrap() > 0.6, "{hit}");
    assert!(hit["n"].as_i64().unwrap() >= 55);
    let n_eff = hit["n_eff"].as_f64().unwrap();
    assert!((3.0..=hit["n"].as_f64().unwrap()).contains(&n_eff));
    assert!(hit["q"].as_f64().unwrap() >= hit["p_adj"].as_f64().unwrap());
    // Lag 0 pairs appear once, in key order.
    assert!(tests
        .iter()
        .all(|t| t["lag_days"] != 0 || t["a"].as_str() < t["b"].as_str()));
    assert_eq!(correlations["inputs_hash"].as_str().unwrap().len(), 64);

    let (status, insights) = get(&app, "/api/v1/insights", &read).await;
    assert_eq!(status, 200);
    let sentences: Vec<&str> = insights["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sentence"].as_str().unwrap())
        .collect();
    assert!(
        sentences
            .iter()
            .any(|s| s.starts_with("On days after more steps, your energy is higher")),
        "{sentences:?}"
    );
    // Every pair has at least 14 days with both values: nothing to nudge about.
    assert_eq!(insights["nudges"], json!([]), "{insights}");
    // Mood follows nothing: no insight names it.
    assert!(
        !sentences.iter().any(|s| s.contains("mood")),
        "{sentences:?}"
    );

    let (status, trend) = get(&app, "/api/v1/trends?metric=mood", &read).await;
    assert_eq!(status, 200, "{trend}");
    assert!(trend["mean_28"].as_f64().is_some() && trend["n"].as_u64().unwrap() >= 20);
    let (low, high) = (
        trend["ci_low"].as_f64().unwrap(),
        trend["ci_high"].as_f64().unwrap(),
    );
    assert!(low <= trend["slope"].as_f64().unwrap() && trend["slope"].as_f64().unwrap() <= high);

    // Bad parameters are 4xx, never 5xx.
    for path in [
        "/api/v1/daily?metric=nope",
        "/api/v1/daily?metric=steps&from=2026-13-01",
        "/api/v1/daily",
        "/api/v1/trends?metric=%00",
    ] {
        let (status, body) = get(&app, path, &read).await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
    }

    // A full recompute writes exactly what the jobs wrote (computed_at aside).
    let incremental = results(&app, bea).await;
    // Forget the last compute's provenance, so that the recompute cannot take the
    // unchanged-inputs shortcut: everything is computed again from the observations.
    sqlx::query("DELETE FROM member_computes")
        .execute(&app.pool)
        .await
        .unwrap();
    let members = app::pipeline::recompute_everyone(&app.pool).await.unwrap();
    assert_eq!(members, 1);
    assert_eq!(results(&app, bea).await, incremental);

    // More data later: one burst of writes, one Index and one Compute.
    post(
        &app,
        &write,
        (0..20)
            .map(|i| json!({ "metric": "mood", "value": 5, "time": format!("{}T0{}:00", Utc::now().date_naive() - Duration::days(2), i % 10), "idempotency_key": format!("late{i}") }))
            .collect(),
    )
    .await;
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM jobs WHERE state = 'pending' AND queue = 'pipeline' ORDER BY kind",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(pending, ["distill"]);
    app.run_jobs().await;
    let ran: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, count(*) FROM jobs WHERE kind IN ('index', 'compute') GROUP BY kind ORDER BY kind",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(ran, [("compute".to_string(), 2), ("index".to_string(), 2)]);
}

#[tokio::test]
async fn meetup_days_are_a_series_of_their_own() {
    let app = TestApp::spawn().await;
    let now = Utc::now();
    cohort::seed::seed_demo(&app.pool, now).await.unwrap();
    // A demo member who was checked in at past meetups has a meetups series.
    let (user_id, attended): (i64, i64) = sqlx::query_as(
        "SELECT r.user_id, count(*) FROM rsvps r JOIN events e ON e.id = r.event_id
          WHERE r.checked_in_at IS NOT NULL AND e.starts_at < now()
          GROUP BY r.user_id ORDER BY count(*) DESC, r.user_id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let today: NaiveDate =
        sqlx::query_scalar("SELECT (now() AT TIME ZONE time_zone)::date FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    let days = app::pipeline::compute::meetup_days(&mut conn, user_id, today)
        .await
        .unwrap()
        .expect("a member of a group with past meetups has the series");
    let ones = days.iter().filter(|d| d.value == 1.0).count() as i64;
    assert!(ones >= 1 && ones <= attended, "{ones} of {attended}");
    assert_eq!(days.last().unwrap().date, today);
    assert!(days
        .windows(2)
        .all(|w| w[1].date - w[0].date == Duration::days(1)));
}

/// The group's figures of sleep as the API gives them to `token`.
async fn sleep_figures(app: &TestApp, token: &str) -> Value {
    let (status, body) = get(app, "/api/v1/groups/sleepers/figures?metric=sleep", token).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn share(app: &TestApp, user_id: i64, group_id: i64, metric: &str) {
    sqlx::query(
        "INSERT INTO metric_shares (user_id, metric_id, group_id, level)
         SELECT $1, id, $2, 'aggregate' FROM metrics WHERE key = $3 AND owner_id IS NULL",
    )
    .bind(user_id)
    .bind(group_id)
    .bind(metric)
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn publish(app: &TestApp, group_id: i64) {
    app::pipeline::compute::group::GroupFigures { group_id }
        .run(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn group_figures_count_only_shares_from_k_members_and_never_single_one_out() {
    let app = TestApp::spawn().await;
    let group_id: i64 = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, time_zone) VALUES ('sleepers', 'Sleepers', 'UTC') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Seven members; member i sleeps 400 + 10 i minutes every night of the last 20 days,
    // and weighs 60 + i kg (never shared).
    let mut members = Vec::new();
    for i in 1..=7i64 {
        let email = format!("m{i}@example.org");
        let (client, id) = app.member_in_zone(&email, &format!("M{i}"), "UTC").await;
        sqlx::query("INSERT INTO memberships (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO daily_values (user_id, metric_id, day, value, count)
             SELECT $1, m.id, current_date - g, CASE m.key WHEN 'sleep' THEN 400 + 10 * $2 ELSE 60 + $2 END, 1
               FROM metrics m, generate_series(0, 19) g
              WHERE m.owner_id IS NULL AND m.key IN ('sleep', 'weight')",
        )
        .bind(id)
        .bind(i as f64)
        .execute(&app.pool)
        .await
        .unwrap();
        let (_, read) = token(&app, &client, "read").await;
        members.push((id, read, 400.0 + 10.0 * i as f64));
    }
    let outsider = app.member("out@example.org", "Out").await;
    let (_, outsider_token) = token(&app, &outsider, "read").await;

    // Four share: withheld, with the reason, and no numbers anywhere.
    for (id, _, _) in &members[..4] {
        share(&app, *id, group_id, "sleep").await;
    }
    publish(&app, group_id).await;
    let body = sleep_figures(&app, &members[0].1).await;
    assert_eq!(
        body["windows"]["recent"],
        json!({ "withheld": true, "reason": "shared by 4 members; shown from 5" })
    );
    assert_eq!(body["you"], json!({}));

    // A fifth: published over the five. The mean of 410..450 is 430.
    share(&app, members[4].0, group_id, "sleep").await;
    publish(&app, group_id).await;
    let before = sleep_figures(&app, &members[0].1).await;
    let recent = &before["windows"]["recent"];
    assert_eq!(recent["members"], 5, "{before}");
    assert_eq!(recent["mean"], 430.0);
    assert_eq!(
        recent["percentiles"],
        json!([414.0, 420.0, 430.0, 440.0, 446.0])
    );
    // scipy.stats.percentileofscore (kind="rank"): the lowest of five stands at 20.
    assert_eq!(before["you"]["recent"], 20.0);
    // A member who does not share sees the figures but has no standing of their own.
    let not_sharing = sleep_figures(&app, &members[5].1).await;
    assert_eq!(not_sharing["windows"]["recent"]["members"], 5);
    assert_eq!(not_sharing["you"], json!({}));
    // Outsiders see nothing; a metric nobody shares has no figure.
    let (status, _) = get(
        &app,
        "/api/v1/groups/sleepers/figures?metric=sleep",
        &outsider_token,
    )
    .await;
    assert_eq!(status, 404);
    let (status, weight) = get(
        &app,
        "/api/v1/groups/sleepers/figures?metric=weight",
        &members[0].1,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(weight["windows"]["recent"]["withheld"], true, "{weight}");

    // The differencing attack: someone who knows the last figure watches a sixth member
    // start sharing and solves for their value from the two means.
    share(&app, members[5].0, group_id, "sleep").await;
    publish(&app, group_id).await;
    let after = sleep_figures(&app, &members[0].1).await;
    let attack = |before: &Value, after: &Value| -> Option<f64> {
        let (b, a) = (&before["windows"]["recent"], &after["windows"]["recent"]);
        let (nb, mb) = (b["members"].as_f64()?, b["mean"].as_f64()?);
        let (na, ma) = (a["members"].as_f64()?, a["mean"].as_f64()?);
        (na != nb).then_some(na * ma - nb * mb)
    };
    let sixth = members[5].2;
    assert_ne!(
        attack(&before, &after),
        Some(sixth),
        "one member's value recovered from two figures: {before} {after}"
    );
    assert_eq!(
        after["windows"]["recent"]["members"], 5,
        "newcomers wait for company"
    );

    // A member stops sharing: at the next snapshot no figure counts them, and the old
    // one (which did) is not shown either.
    sqlx::query("DELETE FROM metric_shares WHERE user_id = $1")
        .bind(members[0].0)
        .execute(&app.pool)
        .await
        .unwrap();
    publish(&app, group_id).await;
    let revoked = sleep_figures(&app, &members[1].1).await;
    assert_eq!(revoked["windows"]["recent"]["withheld"], true, "{revoked}");
    assert_eq!(attack(&after, &revoked), None);
    let ranks: i64 =
        sqlx::query_scalar("SELECT count(*) FROM group_figure_ranks WHERE user_id = $1")
            .bind(members[0].0)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(ranks, 0);

    // Four more start sharing (five changes since the last figures): published again,
    // over everyone who shares now.
    share(&app, members[6].0, group_id, "sleep").await;
    for i in 0..3 {
        let (client, id) = app
            .member_in_zone(&format!("late{i}@example.org"), "Late", "UTC")
            .await;
        drop(client);
        sqlx::query("INSERT INTO memberships (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO daily_values (user_id, metric_id, day, value, count)
             SELECT $1, id, current_date, 480, 1 FROM metrics WHERE key = 'sleep' AND owner_id IS NULL",
        )
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
        share(&app, id, group_id, "sleep").await;
    }
    publish(&app, group_id).await;
    let again = sleep_figures(&app, &members[1].1).await;
    assert_eq!(again["windows"]["recent"]["members"], 9, "{again}");

    // k is the group's to raise, never below 3.
    let lowered = sqlx::query("UPDATE groups SET figure_k = 2 WHERE id = $1")
        .bind(group_id)
        .execute(&app.pool)
        .await;
    assert!(lowered.is_err());
}

#[tokio::test]
async fn outlier_flags_written_write_by_write_equal_the_statistics_module() {
    let app = TestApp::spawn().await;
    let (client, who) = app
        .member_in_zone("flags@example.org", "Flags", "UTC")
        .await;
    let (_, write) = token(&app, &client, "write").await;
    let mut rng = Lcg(11);
    let today = Utc::now().date_naive();
    // Forty days, sent and distilled one request at a time, so that the flags are
    // updated forty times over a moving median; two wild days among them.
    for back in (1..=40).rev() {
        let day = today - Duration::days(back);
        let steps = match back {
            30 => 30_000.0,
            7 => 150.0,
            _ => (7000.0 + rng.next() * 2000.0).round(),
        };
        post(
            &app,
            &write,
            vec![json!({ "metric": "steps", "value": steps, "time": format!("{day}T12:00"), "idempotency_key": format!("f{day}") })],
        )
        .await;
        app.run_jobs().await;
    }
    let stored: Vec<(f64, Option<f64>, bool)> = sqlx::query_as(
        "SELECT o.value, o.robust_z, o.outlier FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1 AND m.key = 'steps' ORDER BY o.observed_at",
    )
    .bind(who)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored.len(), 40);
    let values: Vec<f64> = stored.iter().map(|row| row.0).collect();
    let expected = app::stats::robust_z(&values);
    for ((value, z, flagged), want) in stored.iter().zip(&expected) {
        let want = want.expect("the sample has a spread");
        assert_eq!(
            *flagged,
            want.abs() > app::stats::OUTLIER_Z,
            "the flag of {value} (z {want})"
        );
        let z = z.expect("every observation has its z");
        assert!(
            (z - want).abs() <= app::pipeline::distill::Z_TOLERANCE + 1e-9,
            "the stored z of {value}: {z}, now {want}"
        );
    }
    let flagged: Vec<f64> = stored.iter().filter(|r| r.2).map(|r| r.0).collect();
    assert_eq!(flagged, vec![30_000.0, 150.0]);
}
