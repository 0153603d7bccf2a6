//! CSV imports through real HTTP and the job runner: upload and preview, the guessed
//! mapping, per-line errors, importing a file twice, wide files, resuming, bad files
//! and other members' imports.

use crate::helpers::TestApp;
use serde_json::Value;

async fn member(app: &TestApp, email: &str) -> (reqwest::Client, i64) {
    app.member_in_zone(email, "Quinn", "America/Los_Angeles")
        .await
}

/// Uploads a file; returns where the answer sends the member.
pub(crate) async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    bytes: Vec<u8>,
) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let response = client
        .post(format!("{}/track/import", app.address))
        .header("Origin", &app.address)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn view(app: &TestApp, client: &reqwest::Client, id: &str) -> (u16, Value) {
    let response = app.call(client, "get_import", &[("id", id)]).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Starts an import with the roles it shows (the guessed mapping), changed by `roles`.
pub(crate) async fn start(
    app: &TestApp,
    client: &reqwest::Client,
    id: &str,
    roles: &[(usize, &str)],
) -> String {
    let (_, import) = view(app, client, id).await;
    let mut form: Vec<(String, String)> = import["roles"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(column, role)| (format!("col{column}"), role.as_str().unwrap().to_string()))
        .collect();
    for (column, role) in roles {
        form[*column].1 = role.to_string();
    }
    form.push(("time_zone".into(), "America/Los_Angeles".into()));
    let response = client
        .post(format!("{}/track/import/{id}/start", app.address))
        .header("Origin", &app.address)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn stored(app: &TestApp, user: i64) -> Vec<(String, f64, String)> {
    sqlx::query_as(
        "SELECT m.key, o.value, o.note FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1 ORDER BY o.observed_at, m.key",
    )
    .bind(user)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

const LONG: &str = "\u{feff}Date,Metric,Value,Unit,Note
2026-11-01 07:00,weight,154,lb,after the run
2026-11-01 08:00,Mood,7,,#good
2026-11-02 07:00,weight,heavy,,
2026-11-02 08:00,happiness,3,,

2026-11-03 07:00,sleep,7:30,,\"slept, finally\"
";

#[tokio::test]
async fn a_csv_file_imports_once_with_errors_by_line() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let location = upload(&app, &quinn, "log.csv", LONG.as_bytes().to_vec()).await;
    let import = location.strip_prefix("/track/import/").unwrap().to_string();
    let (status, preview) = view(&app, &quinn, &import).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["status"], "uploaded");
    assert_eq!(preview["filename"], "log.csv");
    assert_eq!(
        preview["headers"],
        serde_json::json!(["Date", "Metric", "Value", "Unit", "Note"])
    );
    assert_eq!(
        preview["roles"],
        serde_json::json!(["time", "metric", "value", "unit", "note"])
    );
    assert_eq!(
        preview["preview"].as_array().unwrap().len(),
        5,
        "a blank line is no row"
    );
    // The page renders the preview on the server.
    let html = quinn
        .get(format!("{}{location}", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("after the run") && html.contains("name=\"col0\""));

    assert_eq!(start(&app, &quinn, &import, &[]).await, location);
    assert_eq!(view(&app, &quinn, &import).await.1["status"], "queued");
    app.run_jobs().await;
    let (_, done) = view(&app, &quinn, &import).await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["percent"], 100.0);
    assert_eq!(
        (
            &done["rows_done"],
            &done["accepted"],
            &done["duplicates"],
            &done["rejected"]
        ),
        (
            &Value::from(5),
            &Value::from(3),
            &Value::from(0),
            &Value::from(2)
        ),
        "{done}"
    );
    assert_eq!(
        done["errors"],
        serde_json::json!([
            [4, "“heavy” is not a number."],
            [5, "There is no metric called “happiness”."]
        ])
    );
    let rows = stored(&app, id).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].0, "weight");
    assert!((rows[0].1 - 69.853_225).abs() < 1e-6);
    assert_eq!((rows[1].0.as_str(), rows[1].1), ("mood", 7.0));
    assert_eq!(
        (rows[2].0.as_str(), rows[2].1, rows[2].2.as_str()),
        ("sleep", 450.0, "slept, finally")
    );
    let chunks: i64 = sqlx::query_scalar("SELECT count(*) FROM import_chunks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(chunks, 0, "the file is dropped once imported");

    // The same file again: nothing added.
    let again = upload(&app, &quinn, "log.csv", LONG.as_bytes().to_vec()).await;
    let again = again.strip_prefix("/track/import/").unwrap().to_string();
    start(&app, &quinn, &again, &[]).await;
    app.run_jobs().await;
    let (_, twice) = view(&app, &quinn, &again).await;
    assert_eq!(
        (&twice["accepted"], &twice["duplicates"]),
        (&Value::from(0), &Value::from(3))
    );
    assert_eq!(stored(&app, id).await.len(), 3);
    let list: Value = app
        .call(&quinn, "list_imports", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_wide_file_maps_its_columns_to_metrics() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let file = "day\tSteps\tWeight (lb)\tFocus\n2026-11-01\t8000\t154\t3\n2026-11-02\t\t153\t4\n";
    let location = upload(&app, &quinn, "wide.tsv", file.as_bytes().to_vec()).await;
    let import = location.strip_prefix("/track/import/").unwrap().to_string();
    let (_, preview) = view(&app, &quinn, &import).await;
    assert_eq!(
        preview["roles"],
        serde_json::json!(["time", "m:steps", "m:weight", "ignore"])
    );
    // "Focus" is not a metric: mapped by hand to mood.
    start(&app, &quinn, &import, &[(3, "m:mood")]).await;
    app.run_jobs().await;
    let (_, done) = view(&app, &quinn, &import).await;
    assert_eq!(
        (&done["accepted"], &done["rejected"]),
        (&Value::from(5), &Value::from(0)),
        "{done}"
    );
    let rows = stored(&app, id).await;
    let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(keys, ["mood", "steps", "weight", "mood", "weight"]);
    assert!((rows[4].1 - 153.0 * 0.453_592_37).abs() < 1e-9);
}

#[tokio::test]
async fn an_interrupted_import_resumes_after_the_last_landed_line() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let mut file = String::from("time,steps\n");
    for n in 0..5000u32 {
        file.push_str(&format!(
            "2026-01-{:02}T{:02}:{:02}:00Z,{n}\n",
            1 + n / 1440,
            (n / 60) % 24,
            n % 60
        ));
    }
    let location = upload(&app, &quinn, "steps.csv", file.into_bytes()).await;
    let import = location.strip_prefix("/track/import/").unwrap().to_string();
    start(&app, &quinn, &import, &[]).await;
    // As if a first run had landed lines 2 to 1001 and then died.
    sqlx::query(
        "UPDATE imports SET last_line = 1001, rows_done = 1000, accepted = 1000 WHERE id = $1",
    )
    .bind(import.parse::<i64>().unwrap())
    .execute(&app.pool)
    .await
    .unwrap();
    app.run_jobs().await;
    let (_, done) = view(&app, &quinn, &import).await;
    assert_eq!(
        (&done["rows_done"], &done["accepted"]),
        (&Value::from(5000), &Value::from(5000)),
        "{done}"
    );
    let landed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM raw_observations WHERE user_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        landed, 4000,
        "only the lines after the last landed one were read again"
    );
}

#[tokio::test]
async fn bad_files_and_mappings_are_clear_errors() {
    let app = TestApp::spawn().await;
    let (quinn, _) = member(&app, "quinn@example.org").await;
    let (other, _) = member(&app, "other@example.org").await;
    let empty = upload(&app, &quinn, "empty.csv", b"  \n".to_vec()).await;
    assert_eq!(empty, "/track/import?error=The%20file%20is%20empty.");
    let binary = upload(
        &app,
        &quinn,
        "photo.jpg",
        vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46],
    )
    .await;
    assert!(binary.contains("not%20UTF-8"), "{binary}");
    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM imports")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(imports, 0, "nothing is kept of a file that cannot be read");

    let location = upload(&app, &quinn, "log.csv", LONG.as_bytes().to_vec()).await;
    let import = location.strip_prefix("/track/import/").unwrap().to_string();
    let answer = start(&app, &quinn, &import, &[(0, "ignore")]).await;
    assert_eq!(
        answer,
        format!("{location}?error=Choose%20the%20column%20with%20the%20date%20or%20time.")
    );
    let answer = start(&app, &quinn, &import, &[(3, "time")]).await;
    assert!(answer.contains("Only%20one%20column"), "{answer}");
    let answer = start(&app, &quinn, &import, &[(2, "ignore")]).await;
    assert!(
        answer.contains("metric%20name%20column%20and%20the%20value"),
        "{answer}"
    );
    assert_eq!(view(&app, &quinn, &import).await.1["status"], "uploaded");

    // Someone else's import is not there for them.
    assert_eq!(view(&app, &other, &import).await.0, 404);
    let response = other
        .post(format!("{}/track/import/{import}/start", app.address))
        .header("Origin", &app.address)
        .form(&[("col0", "time"), ("time_zone", "UTC")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let anonymous = TestApp::new_client();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(LONG.as_bytes().to_vec()).file_name("x.csv"),
    );
    let response = anonymous
        .post(format!("{}/track/import", app.address))
        .header("Origin", &app.address)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Ftrack%2Fimport"
    );
}

#[tokio::test]
async fn a_nul_in_a_row_refuses_that_row_alone_and_a_utf16_file_is_a_clear_error() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    // UTF-16 (Excel's "Unicode text") reads as UTF-8 with a NUL after every letter.
    let utf16: Vec<u8> = "Date,Metric,Value\n2026-11-01 07:00,mood,7\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let refused = upload(&app, &quinn, "unicode.txt", utf16).await;
    assert!(refused.contains("UTF-16"), "{refused}");
    // A NUL in a metric's name, in the preview's rows: the file uploads, the preview shows
    // "�", and the import refuses that row alone and keeps the others.
    let file = "Date,Metric,Value\n2026-11-01 07:00,mood,7\n2026-11-01 08:00,mo\0od,6\n2026-11-02 07:00,mood,8\n";
    let location = upload(&app, &quinn, "log.csv", file.as_bytes().to_vec()).await;
    let import = location.strip_prefix("/track/import/").unwrap().to_string();
    let (status, preview) = view(&app, &quinn, &import).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["preview"][1][1], "mo\u{FFFD}od");
    start(&app, &quinn, &import, &[]).await;
    app.run_jobs().await;
    let (_, done) = view(&app, &quinn, &import).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(
        (&done["accepted"], &done["rejected"]),
        (&Value::from(2), &Value::from(1)),
        "{done}"
    );
    assert_eq!(
        done["errors"],
        serde_json::json!([[3, "Text may not contain NUL characters."]])
    );
    assert_eq!(stored(&app, id).await.len(), 2);
}

const HEALTH: &str = include_str!("../fixtures/apple-health-export.xml");

#[tokio::test]
async fn an_apple_health_export_imports_its_records_once() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let location = upload(&app, &quinn, "export.xml", HEALTH.as_bytes().to_vec()).await;
    let import = location.strip_prefix("/track/import/").unwrap().to_string();
    let (_, queued) = view(&app, &quinn, &import).await;
    assert_eq!(
        (&queued["status"], &queued["kind"]),
        (&Value::from("queued"), &Value::from("apple_health"))
    );
    app.run_jobs().await;
    let (_, done) = view(&app, &quinn, &import).await;
    assert_eq!(done["status"], "done", "{done}");
    // 453 records: 42 are stages or kinds Cohort does not track (in bed, awake,
    // flights climbed); the other 411 are imported.
    assert_eq!(
        (
            &done["rows_done"],
            &done["accepted"],
            &done["skipped"],
            &done["rejected"]
        ),
        (
            &Value::from(453),
            &Value::from(411),
            &Value::from(42),
            &Value::from(0)
        ),
        "{done}"
    );
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT m.key, count(*) FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1 GROUP BY m.key ORDER BY m.key",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let counts: std::collections::HashMap<String, i64> = counts.into_iter().collect();
    assert_eq!(counts["steps"], 14 * 15);
    assert_eq!(counts["sleep"], 14 * 5);
    assert_eq!(counts["heart_rate"], 14 * 3);
    assert_eq!(counts["weight"], 7);
    assert_eq!(counts["body_fat"], 7);
    assert_eq!(counts["meditation"], 5);
    assert_eq!(counts["caffeine"], 14);
    let (weight, fat, note): (f64, f64, String) = sqlx::query_as(
        "SELECT (SELECT value FROM observations o JOIN metrics m ON m.id = o.metric_id WHERE o.user_id = $1 AND m.key = 'weight' ORDER BY observed_at LIMIT 1),
                (SELECT value FROM observations o JOIN metrics m ON m.id = o.metric_id WHERE o.user_id = $1 AND m.key = 'body_fat' ORDER BY observed_at LIMIT 1),
                (SELECT note FROM observations o JOIN metrics m ON m.id = o.metric_id WHERE o.user_id = $1 AND m.key = 'caffeine' LIMIT 1)",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        (60.0..80.0).contains(&weight),
        "pounds became kilograms: {weight}"
    );
    assert!(
        (21.0..=23.0).contains(&fat),
        "a fraction became a percentage: {fat}"
    );
    assert_eq!(note, "from Caffeine Tracker");

    // The same export again adds nothing.
    let again = upload(&app, &quinn, "export.xml", HEALTH.as_bytes().to_vec()).await;
    app.run_jobs().await;
    let (_, twice) = view(&app, &quinn, again.strip_prefix("/track/import/").unwrap()).await;
    assert_eq!(
        (&twice["accepted"], &twice["duplicates"]),
        (&Value::from(0), &Value::from(411))
    );
}

#[tokio::test]
async fn a_broken_or_foreign_xml_file_is_a_clear_error() {
    let app = TestApp::spawn().await;
    let (quinn, id) = member(&app, "quinn@example.org").await;
    let zip = upload(&app, &quinn, "export.zip", b"PK\x03\x04".to_vec()).await;
    assert!(zip.contains("Unzip%20Apple%20Health"), "{zip}");
    let foreign = upload(
        &app,
        &quinn,
        "feed.xml",
        b"<?xml version=\"1.0\"?><rss></rss>".to_vec(),
    )
    .await;
    assert!(
        foreign.contains("not%20an%20Apple%20Health%20export"),
        "{foreign}"
    );
    // Cut off in the middle of a record: what came before is imported, then it stops
    // with the reason.
    let cut = &HEALTH[..HEALTH.find("HKQuantityTypeIdentifierHeartRate").unwrap() + 10];
    let cut = cut.replacen("</HealthData>", "", 1) + "\"/><Record type=\"x\" </Record>";
    let location = upload(&app, &quinn, "export.xml", cut.into_bytes()).await;
    app.run_jobs().await;
    let (_, failed) = view(
        &app,
        &quinn,
        location.strip_prefix("/track/import/").unwrap(),
    )
    .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("cut off"),
        "{failed}"
    );
    let landed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM raw_observations WHERE user_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(landed > 0, "the records before the break are kept");
}

/// The resources a server-rendered page hands to the browser to hydrate with: the ids in
/// `__PENDING_RESOURCES=[…]`.
fn resources_handed_over(html: &str) -> Vec<String> {
    let list = html
        .split("__PENDING_RESOURCES=[")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no resource list in {html}"));
    list.split(',')
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect()
}

/// A members-only page is built once on the server, so the browser hydrates each of its
/// resources with the data the HTML was rendered from. Built inside a `Suspend`, a page was
/// built again by each of Suspense's dry runs: the extra builds' loads ran without the
/// request's context ("the database pool is missing") and took ids, and the browser then
/// hydrated the import page with another build's data and panicked (the import spec's
/// progress bar stopped). Each page here reads the member and one resource of its own.
#[tokio::test]
async fn members_pages_hand_the_browser_one_copy_of_each_resource() {
    let app = TestApp::spawn().await;
    let (client, _) = member(&app, "hydrate@example.org").await;
    let location = upload(
        &app,
        &client,
        "a.csv",
        b"Date,Steps\n2026-09-01,6000\n".to_vec(),
    )
    .await;
    for path in [
        "/track".to_string(),
        "/track/import".to_string(),
        location,
        "/me/tokens".to_string(),
    ] {
        let response = client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        let ids = resources_handed_over(&html);
        assert_eq!(ids.len(), 2, "{path} handed over {ids:?}");
        assert!(
            !html.contains("Something went wrong"),
            "{path} carries an error"
        );
    }
    // The profile reads only the member.
    let html = client
        .get(format!("{}/me", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(resources_handed_over(&html).len(), 1);
}
