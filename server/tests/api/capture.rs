//! Capture end to end through HTTP and the job runner: the quick log lands what it
//! receives and Distill promotes it, once; bad values are clear errors that store
//! nothing; landed rows that fail Distill stay visible with the reason; history with
//! filters, pages, edits and deletes; settings, units, sharing, custom metrics; the
//! exports; and account deletion taking it all.

use crate::helpers::TestApp;
use app::pipeline::capture::Landing;
use app::track::entry::RawEntry;
use serde_json::Value;

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    // Server function errors arrive as "ServerError|message".
    let text = text
        .strip_prefix("ServerError|")
        .map(str::to_string)
        .unwrap_or(text);
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A member in Los Angeles, logged in.
async fn member(app: &TestApp, email: &str) -> (reqwest::Client, i64) {
    app.member_in_zone(email, "Quinn", "America/Los_Angeles")
        .await
}

/// Lands one entry through the pipeline's one landing function: `Some` when it was new.
async fn land(
    tx: &mut sqlx::PgConnection,
    user_id: i64,
    source: &str,
    key: &str,
    entry: &RawEntry,
) -> Result<Option<()>, sqlx::Error> {
    let landing = Landing {
        idempotency_key: key.to_string(),
        payload: serde_json::to_value(entry).unwrap(),
    };
    let landed = app::pipeline::capture::land(tx, user_id, source, vec![landing]).await?;
    Ok((!landed.is_empty()).then_some(()))
}

/// The status of each item of the quick log's recent list.
fn recent_statuses(track: &Value) -> Vec<&str> {
    track["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["status"].as_str().unwrap())
        .collect()
}

async fn log(app: &TestApp, client: &reqwest::Client, form: &[(&str, &str)]) -> (u16, Value) {
    json(app.call(client, "log_entry", form).await).await
}

async fn counts(app: &TestApp, user: i64) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM raw_observations WHERE user_id = $1),
                (SELECT count(*) FROM observations WHERE user_id = $1),
                (SELECT count(*) FROM raw_outcomes WHERE user_id = $1 AND NOT accepted)",
    )
    .bind(user)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn value_of(app: &TestApp, user: i64, metric: &str) -> (f64, String, Vec<String>) {
    sqlx::query_as(
        "SELECT o.value, o.note, o.tags FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1 AND m.key = $2 ORDER BY o.id DESC LIMIT 1",
    )
    .bind(user)
    .bind(metric)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_quick_log_lands_distills_once_and_converts_units() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;

    let (status, body) = log(
        &app,
        &quinn,
        &[("metric", "mood"), ("value", "7"), ("key", "k1")],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, Some("Logged Mood: 7.")));
    assert_eq!(counts(&app, id).await, (1, 1, 0));
    // The landed row, its outcome and a Distill job were all written.
    let (payload, accepted): (Value, bool) = sqlx::query_as(
        "SELECT r.payload, o.accepted FROM raw_observations r JOIN raw_outcomes o ON o.raw_id = r.id
          WHERE r.user_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(payload["value"], "7");
    assert_eq!(payload["time_zone"], "America/Los_Angeles");
    assert!(accepted);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'distill'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 1);

    // The same form sent again (a double tap, a retry) adds nothing.
    let (status, _) = log(
        &app,
        &quinn,
        &[("metric", "mood"), ("value", "7"), ("key", "k1")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(counts(&app, id).await, (1, 1, 0));
    // Another value from the same form (its page did not come back) is refused with
    // the reason, not answered "Logged" and dropped; the first value stays.
    let (status, body) = log(
        &app,
        &quinn,
        &[("metric", "mood"), ("value", "8"), ("key", "k1")],
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            Some("This page already logged Mood once. Reload the page to log another value.")
        )
    );
    assert_eq!(counts(&app, id).await, (1, 1, 0));

    // Units: stored canonical (sleep in minutes, weight in kg), "7:30" is hours:minutes.
    log(
        &app,
        &quinn,
        &[("metric", "sleep"), ("value", "7:30"), ("key", "k2")],
    )
    .await;
    assert_eq!(value_of(&app, id, "sleep").await.0, 450.0);
    let (status, body) = log(
        &app,
        &quinn,
        &[
            ("metric", "weight"),
            ("value", "154"),
            ("unit", "lb"),
            ("key", "k3"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!((value_of(&app, id, "weight").await.0 - 69.853_225).abs() < 1e-6);
    assert_eq!(body.as_str(), Some("Logged Weight: 69.9 kg."));
    // A note's #tags are kept; a chosen time is local to the member.
    log(
        &app,
        &quinn,
        &[
            ("metric", "caffeine"),
            ("value", "95"),
            ("at", "2026-01-15T07:10"),
            ("note", "Flat white #coffee #Work"),
            ("key", "k4"),
        ],
    )
    .await;
    let (value, note, tags) = value_of(&app, id, "caffeine").await;
    assert_eq!((value, note.as_str()), (95.0, "Flat white #coffee #Work"));
    assert_eq!(tags, vec!["coffee", "work"]);
    let at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "SELECT observed_at FROM observations WHERE user_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(at.to_rfc3339(), "2026-01-15T15:10:00+00:00");

    // The job finds nothing left to do: the inline run already distilled everything.
    app.run_jobs().await;
    assert_eq!(counts(&app, id).await, (4, 4, 0));
    let (_, track) = json(app.call(&quinn, "get_track", &[]).await).await;
    let recent = track["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 4);
    assert!(recent.iter().all(|item| item["status"] == "logged"));
    let mood = track["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "mood")
        .unwrap();
    assert!(mood["latest"].as_str().unwrap().starts_with("7 · today"));
    assert_ne!(
        track["form_key"],
        json(app.call(&quinn, "get_track", &[]).await).await.1["form_key"]
    );
}

/// A form, the status it gets and the sentence shown.
type Case = (&'static [(&'static str, &'static str)], u16, &'static str);

#[tokio::test]
async fn bad_values_are_clear_errors_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let cases: &[Case] = &[
        (&[("metric", "mood"), ("value", "10")], 400, "Mood goes from 1 to 9."),
        (&[("metric", "mood"), ("value", "6.5")], 400, "Mood takes whole numbers."),
        (&[("metric", "steps"), ("value", "lots")], 400, "“lots” is not a number."),
        (&[("metric", "steps"), ("value", "")], 400, "Enter a value."),
        (&[("metric", "sleep"), ("value", "-2"), ("unit", "h")], 400, "Sleep cannot be negative."),
        (&[("metric", "weight"), ("value", "70"), ("unit", "h")], 400, "Weight is kept in kg; “h” does not convert to it."),
        (&[("metric", "mood"), ("value", "5"), ("at", "2099-01-01T08:00")], 400, "That time is in the future."),
        (&[("metric", "mood"), ("value", "5"), ("at", "2026-03-08T02:30")], 400, "2026-03-08 02:30 does not exist in America/Los_Angeles: the clocks skip it. Choose another time."),
        (&[("metric", "mood"), ("value", "5"), ("at", "soon")], 400, "“soon” is not a time; use 2026-11-26 07:10 or 2026-11-26T07:10:00Z."),
        (&[("metric", "no-such-metric"), ("value", "5")], 404, "No such metric."),
        (&[("metric", "mood"), ("value", "5"), ("key", "")], 400, "The form is out of date; reload the page."),
    ];
    for (index, (fields, status, message)) in cases.iter().enumerate() {
        let key = format!("bad-{index}");
        let mut form: Vec<(&str, &str)> = vec![("key", key.as_str())];
        form.retain(|(name, _)| !fields.iter().any(|(field, _)| field == name));
        form.extend_from_slice(fields);
        let (got, body) = log(&app, &quinn, &form).await;
        assert_eq!(
            (got, body.as_str()),
            (*status, Some(*message)),
            "{fields:?}"
        );
    }
    assert_eq!(counts(&app, id).await, (0, 0, 0));
    let long_note = "x".repeat(2001);
    let (status, _) = log(
        &app,
        &quinn,
        &[
            ("metric", "mood"),
            ("value", "5"),
            ("note", &long_note),
            ("key", "n"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(counts(&app, id).await, (0, 0, 0));
}

/// The quick log reads a bounded slice of what the member sent (the newest 200 for what
/// is still waiting, the refusals of the last 30 days by their own index): a refusal
/// from before 250 accepted entries still shows, and so does an entry still waiting.
#[tokio::test]
async fn the_quick_log_finds_refusals_and_waiting_entries_behind_many_accepted_ones() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let entry = |metric: &str, value: &str, at: String| RawEntry {
        metric: metric.into(),
        value: value.into(),
        at,
        ..RawEntry::default()
    };
    let mut tx = app.pool.begin().await.unwrap();
    land(
        &mut tx,
        id,
        "api",
        "bad",
        &entry("bogus", "1", String::new()),
    )
    .await
    .unwrap();
    for n in 0..250 {
        let at = format!(
            "2026-11-{:02}T{:02}:{:02}:00Z",
            1 + n / 24 % 28,
            n % 24,
            n % 60
        );
        land(
            &mut tx,
            id,
            "api",
            &format!("ok{n}"),
            &entry("mood", "5", at),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    app.run_jobs().await;
    let mut tx = app.pool.begin().await.unwrap();
    land(
        &mut tx,
        id,
        "api",
        "new",
        &entry("mood", "6", "2026-11-30T08:00:00Z".into()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let (_, track) = json(app.call(&quinn, "get_track", &[]).await).await;
    let statuses = recent_statuses(&track);
    assert!(statuses.contains(&"pending"), "{track}");
    assert!(statuses.contains(&"refused"), "{track}");
    assert!(statuses.contains(&"logged"), "{track}");
}

#[tokio::test]
async fn landed_rows_that_fail_distill_stay_visible_with_the_reason() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let entry = |metric: &str, value: &str, at: &str| RawEntry {
        metric: metric.into(),
        value: value.into(),
        at: at.into(),
        ..RawEntry::default()
    };
    let mut tx = app.pool.begin().await.unwrap();
    for (key, entry) in [
        ("a", entry("steps", "8000", "2026-11-20")),
        ("b", entry("Steps", "8000", "2026-11-20")), // the same reading again
        ("c", entry("bogus", "1", "")),
        ("d", entry("mood", "eleven", "")),
        (
            "e",
            entry("Resting heart rate", "58", "2026-11-20T06:00:00-08:00"),
        ),
    ] {
        assert!(land(&mut tx, id, "api", key, &entry)
            .await
            .unwrap()
            .is_some());
    }
    // The same idempotency key again: nothing is added.
    assert!(land(&mut tx, id, "api", "a", &entry("steps", "1", ""))
        .await
        .unwrap()
        .is_none());
    tx.commit().await.unwrap();
    // Landed and waiting: the member sees them as being processed.
    let (_, track) = json(app.call(&quinn, "get_track", &[]).await).await;
    let statuses = recent_statuses(&track);
    assert_eq!(statuses, vec!["pending"; 5]);

    app.run_jobs().await;
    assert_eq!(counts(&app, id).await, (5, 2, 3));
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT reason FROM raw_outcomes WHERE user_id = $1 AND NOT accepted ORDER BY raw_id",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        reasons,
        vec![
            "Already stored: the same value at the same time.",
            "There is no metric called “bogus”.",
            "“eleven” is not a number.",
        ]
    );
    let (_, track) = json(app.call(&quinn, "get_track", &[]).await).await;
    let refused: Vec<&str> = track["recent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["status"] == "refused")
        .map(|item| item["reason"].as_str().unwrap())
        .collect();
    assert_eq!(refused.len(), 3, "{track}");
    assert!(refused.contains(&"There is no metric called “bogus”."));

    // Later, the same reading again beside a new one: the repeat points at the stored
    // observation, the new one keeps its note's tags.
    let mut tx = app.pool.begin().await.unwrap();
    land(
        &mut tx,
        id,
        "api",
        "f",
        &entry("steps", "8000", "2026-11-20"),
    )
    .await
    .unwrap();
    let tagged = RawEntry {
        note: "Long #run, #Morning light".into(),
        ..entry("mood", "7", "2026-11-21T08:00:00Z")
    };
    land(&mut tx, id, "api", "g", &tagged).await.unwrap();
    tx.commit().await.unwrap();
    app.run_jobs().await;
    assert_eq!(counts(&app, id).await, (7, 3, 4));
    let (first, repeat): (i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT o.observation_id FROM raw_outcomes o JOIN raw_observations r ON r.id = o.raw_id
                  WHERE r.user_id = $1 AND r.idempotency_key = 'a'),
                (SELECT o.observation_id FROM raw_outcomes o JOIN raw_observations r ON r.id = o.raw_id
                  WHERE r.user_id = $1 AND r.idempotency_key = 'f')",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(repeat, Some(first));
    let tags: Vec<String> = sqlx::query_scalar(
        "SELECT tags FROM observations WHERE user_id = $1 AND note LIKE 'Long%'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(tags, ["run", "morning"]);

    // The observation deleted: both entries keep their outcome (so neither is distilled
    // again), which names no observation any more (raw_outcomes has no foreign key; a
    // trigger clears it, migration 20).
    sqlx::query("DELETE FROM observations WHERE user_id = $1 AND id = $2")
        .bind(id)
        .bind(first)
        .execute(&app.pool)
        .await
        .unwrap();
    let (outcomes, naming): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(o.observation_id) FROM raw_outcomes o
           JOIN raw_observations r ON r.user_id = o.user_id AND r.id = o.raw_id
          WHERE r.user_id = $1 AND r.idempotency_key IN ('a', 'f')",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((outcomes, naming), (2, 0));
    app.run_jobs().await;
    assert_eq!(
        counts(&app, id).await.1,
        2,
        "a deleted observation came back"
    );

    // The landing table is append-only.
    let update = sqlx::query("UPDATE raw_observations SET payload = '{}' WHERE user_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await;
    assert!(update
        .unwrap_err()
        .to_string()
        .contains("raw_observations is append-only"));
}

#[tokio::test]
async fn history_filters_pages_edits_and_deletes() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let (other, _) = member(&app, "other@example.org").await;
    // 60 days of steps, noon in Los Angeles; every tenth has a note.
    sqlx::query(
        "INSERT INTO observations (user_id, metric_id, observed_at, value, note, source)
         SELECT $1, m.id, timestamptz '2026-09-01 12:00 America/Los_Angeles' + make_interval(days => n),
                1000 * n, CASE WHEN n % 10 = 0 THEN 'hike #trail' ELSE '' END, 'quick_log'
           FROM metrics m, generate_series(0, 59) n WHERE m.key = 'steps' AND m.owner_id IS NULL",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    let page = |form: Vec<(&'static str, String)>| {
        let (app, quinn) = (&app, &quinn);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            json(app.call(quinn, "get_metric_page", &form).await).await
        }
    };
    let (status, first) = page(vec![("key", "steps".into())]).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (first["total"].as_i64(), first["pages"].as_i64()),
        (Some(60), Some(3))
    );
    let entries = first["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 25);
    assert_eq!(entries[0]["value"], "59000 steps"); // newest first
    let (_, last) = page(vec![("key", "steps".into()), ("page", "3".into())]).await;
    assert_eq!(last["entries"].as_array().unwrap().len(), 10);
    assert_eq!(last["entries"][9]["value"], "0 steps");
    // A page past the end shows the last one.
    let (_, beyond) = page(vec![("key", "steps".into()), ("page", "99".into())]).await;
    assert_eq!(beyond["page"], 3);
    // Dates are whole days in the member's zone, both ends included.
    let (_, week) = page(vec![
        ("key", "steps".into()),
        ("from", "2026-09-05".into()),
        ("to", "2026-09-11".into()),
    ])
    .await;
    assert_eq!(week["total"], 7);
    let (_, notes) = page(vec![("key", "steps".into()), ("search", "HIKE".into())]).await;
    assert_eq!(notes["total"], 6);
    let (status, bad) = page(vec![("key", "steps".into()), ("from", "last week".into())]).await;
    assert_eq!(
        (status, bad.as_str()),
        (400, Some("The from date should look like 2026-11-26."))
    );

    // Edit: the value in the display unit, the time local; bad input changes nothing.
    let entry = entries[0]["id"].as_i64().unwrap().to_string();
    let (status, _) = json(
        app.call(
            &quinn,
            "save_entry",
            &[
                ("id", &entry),
                ("value", "12,345"),
                ("at", "2026-10-30T09:15"),
                ("note", "fixed #typo"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (value, note, tags): (f64, String, Vec<String>) =
        sqlx::query_as("SELECT value, note, tags FROM observations WHERE id = $1")
            .bind(entries[0]["id"].as_i64())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (value, note.as_str(), tags),
        (12345.0, "fixed #typo", vec!["typo".to_string()])
    );
    let (status, body) = json(
        app.call(
            &quinn,
            "save_entry",
            &[("id", &entry), ("value", "-5"), ("at", "2026-10-30T09:15")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (400, Some("Steps cannot be negative."))
    );
    // Another member can neither change nor delete it.
    for (function, form) in [
        (
            "save_entry",
            vec![("id", entry.as_str()), ("value", "1"), ("at", "")],
        ),
        ("delete_entry", vec![("id", entry.as_str())]),
    ] {
        let (status, _) = json(app.call(&other, function, &form).await).await;
        assert_eq!(status, 404, "{function}");
    }
    let (status, _) = json(app.call(&quinn, "delete_entry", &[("id", &entry)]).await).await;
    assert_eq!(status, 200);
    let (_, after) = page(vec![("key", "steps".into())]).await;
    assert_eq!(after["total"], 59);
    let (status, _) = json(app.call(&quinn, "delete_entry", &[("id", &entry)]).await).await;
    assert_eq!(status, 404);
    // The metric page renders on the server with the history.
    let html = quinn
        .get(format!("{}/track/steps", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("58000 steps")
            && html.matches("class=\"entry\"").count() == 25
            && html.contains("rel=\"next\""),
        "{html}"
    );
}

#[tokio::test]
async fn settings_units_goals_pins_and_sharing() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    sqlx::raw_sql(
        "INSERT INTO groups (slug, name, city, time_zone) VALUES ('qs-test', 'QS Test', 'Petaluma', 'America/Los_Angeles'),
                ('elsewhere', 'Elsewhere', 'Oslo', 'Europe/Oslo');",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    log(
        &app,
        &quinn,
        &[("metric", "weight"), ("value", "70"), ("key", "w")],
    )
    .await;
    let (status, _) = json(
        app.call(
            &quinn,
            "save_metric_settings",
            &[
                ("key", "weight"),
                ("display_unit", "lb"),
                ("goal", "150"),
                ("pinned", "true"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let goal: f64 = sqlx::query_scalar("SELECT goal FROM metric_settings WHERE user_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!((goal - 68.038_855_5).abs() < 1e-6);
    let (_, page) = json(
        app.call(&quinn, "get_metric_page", &[("key", "weight")])
            .await,
    )
    .await;
    assert_eq!(page["metric"]["display_unit"], "lb");
    assert_eq!(page["metric"]["goal"], "150 lb");
    assert_eq!(page["entries"][0]["value"], "154.3 lb");
    assert_eq!(page["entries"][0]["value_input"], "154.3236");
    // Typing in the display unit: the edit form sends pounds.
    let (status, body) = json(
        app.call(
            &quinn,
            "save_metric_settings",
            &[("key", "weight"), ("display_unit", "h")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (400, Some("Weight cannot be shown in “h”."))
    );
    // Unpinning takes it off the quick-log page.
    json(
        app.call(
            &quinn,
            "pin_metric",
            &[("key", "mood"), ("pinned", "false")],
        )
        .await,
    )
    .await;
    let (_, track) = json(app.call(&quinn, "get_track", &[]).await).await;
    let pinned = |key: &str| {
        track["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == key)
            .unwrap()["pinned"]
            .as_bool()
            .unwrap()
    };
    assert!(!pinned("mood") && pinned("weight") && !pinned("alcohol"));

    // Sharing: only with one's own groups; private removes the row.
    let share = |slug: &'static str, level: &'static str| {
        let (app, quinn) = (&app, &quinn);
        async move {
            json(
                app.call(
                    quinn,
                    "share_metric",
                    &[("key", "weight"), ("group_slug", slug), ("level", level)],
                )
                .await,
            )
            .await
            .0
        }
    };
    assert_eq!(share("qs-test", "members").await, 403);
    sqlx::query(
        "INSERT INTO memberships (group_id, user_id) SELECT id, $1 FROM groups WHERE slug = 'qs-test'",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(share("qs-test", "members").await, 200);
    assert_eq!(share("qs-test", "aggregate").await, 200);
    assert_eq!(share("qs-test", "everyone").await, 400);
    assert_eq!(share("nowhere", "members").await, 404);
    let (_, page) = json(
        app.call(&quinn, "get_metric_page", &[("key", "weight")])
            .await,
    )
    .await;
    assert_eq!(
        page["shares"],
        serde_json::json!([{ "group_slug": "qs-test", "group_name": "QS Test", "level": "aggregate" }])
    );
    assert_eq!(share("qs-test", "private").await, 200);
    let shares: i64 = sqlx::query_scalar("SELECT count(*) FROM metric_shares")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(shares, 0);
}

#[tokio::test]
async fn members_make_their_own_metrics() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let (other, _) = member(&app, "other@example.org").await;
    let create = |client: &'static str, form: Vec<(&'static str, &'static str)>| {
        let (app, quinn, other) = (&app, &quinn, &other);
        async move {
            let client = if client == "quinn" { quinn } else { other };
            let response = app.call(client, "create_metric", &form).await;
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            let (status, body) = json(response).await;
            (status, location, body)
        }
    };
    let (status, location, body) = create(
        "quinn",
        vec![
            ("name", "Cold showers"),
            ("kind", "yes_no"),
            ("aggregate", "sum"),
        ],
    )
    .await;
    assert!(status == 200 || status == 302, "{status} {body}");
    assert_eq!(location.as_deref(), Some("/track/cold-showers"));
    let (status, _) = log(
        &app,
        &quinn,
        &[("metric", "cold-showers"), ("value", "yes"), ("key", "c")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(value_of(&app, id, "cold-showers").await.0, 1.0);
    // Another member's metric is theirs alone.
    let (status, _) = log(
        &app,
        &other,
        &[("metric", "cold-showers"), ("value", "yes"), ("key", "c")],
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = json(
        app.call(&other, "get_metric_page", &[("key", "cold-showers")])
            .await,
    )
    .await;
    assert_eq!(status, 404);

    // A custom unit, bounds and a goal.
    let (_, location, body) = create(
        "quinn",
        vec![
            ("name", "Pages read"),
            ("kind", "count"),
            ("unit", "pages"),
            ("aggregate", "sum"),
            ("goal", "30"),
        ],
    )
    .await;
    assert_eq!(location.as_deref(), Some("/track/pages-read"), "{body}");
    let (status, body) = log(
        &app,
        &quinn,
        &[("metric", "pages-read"), ("value", "42"), ("key", "p")],
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (200, Some("Logged Pages read: 42 pages."))
    );
    // A name like a catalogue metric gets its own key.
    let (_, location, _) = create(
        "quinn",
        vec![("name", "Steps"), ("kind", "count"), ("aggregate", "sum")],
    )
    .await;
    assert_eq!(location.as_deref(), Some("/track/steps-2"));

    // Mistakes come back per field and add nothing.
    let (status, _, errors) = create(
        "quinn",
        vec![("name", " "), ("kind", "scale"), ("aggregate", "median")],
    )
    .await;
    assert_eq!(status, 200);
    let fields: Vec<&str> = errors["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[0].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["name", "aggregate", "max"], "{errors}");
    let (_, _, errors) = create(
        "quinn",
        vec![
            ("name", "Cold showers"),
            ("kind", "yes_no"),
            ("aggregate", "sum"),
        ],
    )
    .await;
    assert_eq!(
        errors["fields"][0][1],
        "You already have a metric with this name."
    );
    let (_, _, errors) = create(
        "quinn",
        vec![
            ("name", "Focus"),
            ("kind", "scale"),
            ("aggregate", "mean"),
            ("min", "5"),
            ("max", "1"),
        ],
    )
    .await;
    assert_eq!(
        errors["fields"][0][1],
        "The highest value must be above the lowest."
    );
    let own: i64 = sqlx::query_scalar("SELECT count(*) FROM metrics WHERE owner_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(own, 3);
}

#[tokio::test]
async fn exports_hold_everything_and_deletion_takes_it_all() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let (other, _) = member(&app, "other@example.org").await;
    log(
        &app,
        &other,
        &[("metric", "mood"), ("value", "3"), ("key", "o")],
    )
    .await;
    for (index, (metric, value, note)) in [
        ("mood", "7", "good, \"really\" #calm"),
        ("steps", "9000", "=HYPERLINK(\"http://evil.example\")"),
        ("sleep", "8", ""),
    ]
    .into_iter()
    .enumerate()
    {
        let key = index.to_string();
        let unit = if metric == "sleep" { "h" } else { "" };
        let (status, body) = log(
            &app,
            &quinn,
            &[
                ("metric", metric),
                ("value", value),
                ("unit", unit),
                ("note", note),
                ("at", &format!("2026-11-0{}T08:00", index + 1)),
                ("key", &key),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let get = |path: &'static str| {
        let (app, quinn) = (&app, &quinn);
        async move {
            quinn
                .get(format!("{}{path}", app.address))
                .send()
                .await
                .unwrap()
        }
    };
    let csv = get("/track/export.csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert_eq!(
        lines[0],
        "time,local_time,metric,metric_name,value,unit,note,tags,source"
    );
    assert_eq!(
        lines[1],
        "2026-11-01T16:00:00Z,2026-11-01T08:00:00-08:00,mood,Mood,7,points,\"good, \"\"really\"\" #calm\",calm,quick_log"
    );
    assert!(
        lines[2].contains(",\"'=HYPERLINK(\"\"http://evil.example\"\")\","),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains(",sleep,Sleep,480,min,"), "{}", lines[3]);

    let export: Value = get("/track/export.json").await.json().await.unwrap();
    assert_eq!(export["format"], "cohort-observations-1");
    assert_eq!(export["time_zone"], "America/Los_Angeles");
    let observations = export["observations"].as_array().unwrap();
    assert_eq!(observations.len(), 3);
    assert_eq!(observations[0]["tags"], serde_json::json!(["calm"]));
    assert_eq!(observations[2]["value"], 480.0);

    let anonymous = TestApp::new_client();
    let response = anonymous
        .get(format!("{}/track/export.csv", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Ftrack%2Fexport.csv"
    );

    // The account export carries the observations and what was received.
    let everything: Value = get("/me/export").await.json().await.unwrap();
    assert_eq!(everything["observations"].as_array().unwrap().len(), 3);
    assert_eq!(everything["received"].as_array().unwrap().len(), 3);

    let (status, _) = json(
        app.call(
            &quinn,
            "delete_account",
            &[("password", crate::helpers::PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(counts(&app, id).await, (0, 0, 0));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM observations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 1, "the other member's entry stays");
}

/// The same quick log sent twenty times at once (a phone retrying on a bad network, a
/// double tap), on four threads and enough connections that the requests overlap in
/// PostgreSQL: every answer is a success, one entry is stored, and so is one observation.
/// Then the same through the API: twenty batches with one idempotency key, one accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_key_sent_twenty_times_at_once_stores_one() {
    let app = TestApp::spawn_on(crate::helpers::fresh_database_with(25).await).await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let answers = futures_util::future::join_all((0..20).map(|_| {
        log(
            &app,
            &quinn,
            &[
                ("metric", "mood"),
                ("value", "7"),
                ("key", "tap-2026-12-06T19:00"),
            ],
        )
    }))
    .await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    app.run_jobs().await;
    assert_eq!(counts(&app, id).await, (1, 1, 0));

    let (_, token) = crate::rest::token(&app, &quinn, "write").await;
    let batch = serde_json::json!({ "observations": [
        { "metric": "sleep", "value": 420, "idempotency_key": "night-2026-12-05" }
    ]});
    let client = reqwest::Client::new();
    let answers = futures_util::future::join_all((0..20).map(|_| {
        client
            .post(format!("{}/api/v1/observations", app.address))
            .bearer_auth(&token)
            .json(&batch)
            .send()
    }))
    .await;
    let mut accepted = 0;
    for answer in answers {
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.unwrap();
        accepted += body["accepted"].as_i64().unwrap();
        assert_eq!(
            body["accepted"].as_i64().unwrap() + body["duplicates"].as_i64().unwrap(),
            1,
            "{body}"
        );
    }
    assert_eq!(accepted, 1, "one of the twenty batches stored it");
    app.run_jobs().await;
    assert_eq!(counts(&app, id).await, (2, 2, 0));
}
