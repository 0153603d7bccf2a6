//! The insight pages' server functions, as a browser calls them: the dashboard shows a
//! member their own cards, insights and nudges, and nothing of anyone else's.

use crate::helpers::{without_markers, TestApp};
use crate::pipeline::sixty_days;
use crate::rest::token;
use serde_json::Value;

async fn dashboard(app: &TestApp, client: &reqwest::Client) -> (u16, Value) {
    let response = app.call(client, "get_dashboard", &[]).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_dashboard_shows_a_member_their_cards_insights_and_nudges_only() {
    let app = TestApp::spawn().await;
    let (bea_client, _) = app
        .member_in_zone("bea@example.org", "Bea", "Europe/Lisbon")
        .await;
    let (_, write) = token(&app, &bea_client, "write").await;
    sixty_days(&app, &write, 7).await;
    app.run_jobs().await;

    let (status, board) = dashboard(&app, &bea_client).await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(board["display_name"], "Bea");
    assert!(board["as_of"].is_string());
    let cards = board["cards"].as_array().unwrap();
    let keys: Vec<&str> = cards.iter().map(|c| c["key"].as_str().unwrap()).collect();
    for key in ["steps", "energy", "mood", "caffeine"] {
        assert!(keys.contains(&key), "a card for {key}: {keys:?}");
    }
    let steps = cards.iter().find(|c| c["key"] == "steps").unwrap();
    // Logged every day up to yesterday: a sparkline with 27 points in one stroke, the
    // means in the member's units, a streak, a trend in words with its interval.
    let path = steps["spark_path"].as_str().unwrap();
    assert_eq!(path.matches('M').count(), 1, "{path}");
    assert_eq!(path.matches('L').count(), 26, "{path}");
    assert!(
        steps["mean_7"].as_str().unwrap().ends_with("steps"),
        "{steps}"
    );
    assert_eq!(steps["streak"], 60);
    assert!(steps["trend_text"]
        .as_str()
        .unwrap()
        .contains("95% interval"));
    assert_eq!(steps["last"][1], "yesterday");
    assert!(steps["spark_text"]
        .as_str()
        .unwrap()
        .contains("27 days logged"));

    // The planted relation, with its numbers and where its evidence is.
    let insights = board["insights"].as_array().unwrap();
    assert!(!insights.is_empty(), "{board}");
    let first = &insights[0];
    assert!(first["numbers"].as_str().unwrap().contains("n = "));
    assert!(first["href"].as_str().unwrap().starts_with("/insights/"));
    // Another member sees their own, empty dashboard; a visitor is asked to log in.
    let other = app.member("other@example.org", "Other").await;
    let (status, theirs) = dashboard(&app, &other).await;
    assert_eq!(status, 200);
    assert_eq!(theirs["cards"], serde_json::json!([]));
    assert_eq!(theirs["insights"], serde_json::json!([]));
    assert_eq!(theirs["as_of"], Value::Null);
    let anonymous = TestApp::new_client();
    let (status, _) = dashboard(&app, &anonymous).await;
    assert_eq!(status, 401);
    let page = anonymous
        .get(format!("{}/dashboard", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login?next=%2Fdashboard");
}

#[tokio::test]
async fn the_dashboard_page_reads_without_javascript() {
    let app = TestApp::spawn().await;
    let (client, _) = app.member_in_zone("dee@example.org", "Dee", "UTC").await;
    let (_, write) = token(&app, &client, "write").await;
    sixty_days(&app, &write, 3).await;
    app.run_jobs().await;
    let html = without_markers(&app.html(&client, "/dashboard").await);
    assert!(html.contains("Hello, Dee</h1>"), "{html}");
    // Each card's sparkline is an image with a text alternative, drawn on the server.
    assert!(html.contains(r#"class="sparkline""#));
    assert!(html
        .contains(r#"role="img" aria-label="Steps over the last 28 days: 27 days logged, mean"#));
    assert!(html.contains(r#"<path d="M0.0,"#));
    assert!(html.contains("What your data says"));
}

#[tokio::test]
async fn a_metric_page_charts_its_days_with_the_outliers_marked() {
    let app = TestApp::spawn().await;
    let (client, _) = app
        .member_in_zone("cid@example.org", "Cid", "Europe/Lisbon")
        .await;
    let (_, write) = token(&app, &client, "write").await;
    sixty_days(&app, &write, 5).await;
    app.run_jobs().await;
    let html = app.html(&client, "/track/caffeine").await;
    // Drawn on the server: the chart, its sentence and its table read without JavaScript.
    assert!(html.contains(r#"<figure class="line-chart">"#), "{html}");
    assert!(
        html.contains("30 of 31 days logged") && html.contains("1 day flagged as an outlier"),
        "the chart's text alternative"
    );
    assert_eq!(html.matches(r#"class="chart-outlier""#).count(), 1);
    let outlier_row = html
        .split("<tr")
        .find(|row| row.contains("class=\"outlier\""))
        .unwrap_or_default();
    assert!(
        outlier_row.contains("4000"),
        "the table marks the outlier: {outlier_row}"
    );
    // A date filter charts its own range.
    let (status, data) = {
        let response = app
            .call(
                &client,
                "get_metric_page",
                &[("key", "steps"), ("from", &ten_days_ago()), ("to", "")],
            )
            .await;
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["chart"]["rows"].as_array().unwrap().len(), 10);
    assert!(data["chart"]["summary"]
        .as_str()
        .unwrap()
        .contains("10 of 11 days logged"));
}

fn ten_days_ago() -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(10)).to_string()
}

#[tokio::test]
async fn every_tested_pair_is_listed_with_its_numbers_and_the_filter_works() {
    let app = TestApp::spawn().await;
    let (client, who) = app.member_in_zone("pia@example.org", "Pia", "UTC").await;
    let (_, write) = token(&app, &client, "write").await;
    sixty_days(&app, &write, 7).await;
    app.run_jobs().await;
    let (tested, shown): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE shown) FROM pair_tests WHERE user_id = $1",
    )
    .bind(who)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        tested > shown && shown > 0,
        "{tested} tested, {shown} shown"
    );

    let all: Value = app
        .call(&client, "get_pairs", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["tested"], tested);
    assert_eq!(all["shown"], shown);
    let rows = all["rows"].as_array().unwrap();
    assert_eq!(
        rows.len() as i64,
        tested,
        "the pairs that did not pass are listed too"
    );
    // Strongest first.
    let strength: Vec<f64> = rows
        .iter()
        .map(|r| r["r"].as_str().unwrap().parse::<f64>().unwrap().abs())
        .collect();
    assert!(strength.windows(2).all(|w| w[0] >= w[1]), "{strength:?}");
    assert!(rows
        .iter()
        .any(|r| r["pair"] == "Steps → energy" && r["lag"] == "1 day later" && r["shown"] == true));

    let only: Value = app
        .call(
            &client,
            "get_pairs",
            &[("metric", "caffeine"), ("shown", "1")],
        )
        .await
        .json()
        .await
        .unwrap();
    for row in only["rows"].as_array().unwrap() {
        assert_eq!(row["shown"], true);
        assert!(row["pair"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("caffeine"));
    }
    // An unknown metric in the URL is no filter, not an error.
    let odd: Value = app
        .call(&client, "get_pairs", &[("metric", "<script>")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(odd["metric"], "");
    assert_eq!(odd["rows"].as_array().unwrap().len() as i64, tested);

    // Another member sees none of these; the page reads without JavaScript.
    let other = app.member("nobody@example.org", "Nobody").await;
    let theirs: Value = app
        .call(&other, "get_pairs", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["tested"], 0);
    let html = app.html(&client, "/insights?metric=steps").await;
    assert!(html.contains("Every pair tested") && html.contains("Steps → energy"));
}

#[tokio::test]
async fn a_pairs_page_plots_the_days_it_was_tested_on_and_records_votes() {
    let app = TestApp::spawn().await;
    let (client, who) = app.member_in_zone("ria@example.org", "Ria", "UTC").await;
    let (_, write) = token(&app, &client, "write").await;
    sixty_days(&app, &write, 7).await;
    app.run_jobs().await;
    let (n, r): (i32, f64) = sqlx::query_as(
        "SELECT n, pearson_r FROM pair_tests
          WHERE user_id = $1 AND a = 'steps' AND b = 'energy' AND lag_days = 1 AND shown",
    )
    .bind(who)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let pair_of = |client: &reqwest::Client, lag: &'static str| {
        let client = client.clone();
        let app = &app;
        async move {
            let response = app
                .call(
                    &client,
                    "get_pair",
                    &[("a", "steps"), ("b", "energy"), ("lag", lag)],
                )
                .await;
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, pair) = pair_of(&client, "1").await;
    assert_eq!(status, 200, "{pair}");
    assert_eq!(pair["title"], "Steps → energy, 1 day later");
    assert!(pair["verdict"].as_str().unwrap().starts_with("Shown"));
    let insight = pair["insight"][0]
        .as_i64()
        .expect("the shown pair's insight");
    assert!(pair["insight"][1].as_str().unwrap().contains("energy"));
    // A dot and a table row for each day tested; the days plotted are the days tested:
    // their correlation is the stored r (up to the table's rounding).
    let chart = &pair["chart"];
    assert_eq!(chart["dots"].as_array().unwrap().len(), n as usize);
    let rows = chart["rows"].as_array().unwrap();
    assert_eq!(rows.len(), n as usize);
    let number = |v: &Value| v.as_str().unwrap().replace(',', "").parse::<f64>().unwrap();
    let xs: Vec<f64> = rows.iter().map(|row| number(&row["cells"][1])).collect();
    let ys: Vec<f64> = rows.iter().map(|row| number(&row["cells"][2])).collect();
    let plotted = app::stats::pearson(&xs, &ys).unwrap().r;
    assert!(
        (plotted - r).abs() < 0.01,
        "plotted r {plotted}, tested r {r}"
    );
    let paths = chart["paths"].as_array().unwrap();
    assert!(paths.iter().any(|p| p["class"] == "chart-fit"), "{chart}");
    assert!(chart["summary"]
        .as_str()
        .unwrap()
        .contains(&format!("{n} days")));
    assert_eq!(pair["vote"], Value::Null);

    // The page reads without JavaScript and records nothing by being read.
    let events = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT kind, count(*) FROM insight_events WHERE user_id = $1 GROUP BY kind ORDER BY kind",
            )
            .bind(who)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let html = app.html(&client, "/insights/steps/energy/1").await;
    assert!(html.contains("chart-dot") && html.contains("Was this useful?"));
    assert!(events(&app).await.is_empty());

    // A vote, and impressions, are recorded and shown.
    let voted = app
        .call(
            &client,
            "record_insight_event",
            &[("insight_id", &insight.to_string()), ("kind", "useful")],
        )
        .await;
    assert_eq!(voted.status(), 200);
    let (_, pair) = pair_of(&client, "1").await;
    assert_eq!(pair["vote"], "useful");
    let seen = app
        .call(
            &client,
            "record_impressions",
            &[("ids", &insight.to_string())],
        )
        .await;
    assert_eq!(seen.status(), 200);
    let odd = app
        .call(&client, "record_impressions", &[("ids", "1,x")])
        .await;
    assert_eq!(odd.status(), 400);
    assert_eq!(
        events(&app).await,
        vec![("impression".to_string(), 1), ("useful".to_string(), 1)]
    );

    // A pair not tested, a lag out of range, and another member: not found.
    let (status, _) = pair_of(&client, "7").await;
    assert_eq!(status, 404);
    let other = app.member("nosy@example.org", "Nosy").await;
    let (status, _) = pair_of(&other, "1").await;
    assert_eq!(status, 404);
    let theirs = app
        .call(
            &other,
            "record_impressions",
            &[("ids", &insight.to_string())],
        )
        .await;
    assert_eq!(theirs.status(), 404);
    assert_eq!(events(&app).await.len(), 2);
}

#[tokio::test]
async fn me_against_the_group_draws_published_bands_and_says_why_one_is_withheld() {
    let app = TestApp::spawn().await;
    let group_id: i64 = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, time_zone) VALUES ('banders', 'Banders', 'UTC') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Five members sleep 400 + 10 i minutes a night for 30 days and share it; two of them
    // also share their weight (fewer than k = 5).
    let mut clients = Vec::new();
    for i in 1..=5i64 {
        let (client, id) = app
            .member_in_zone(&format!("b{i}@example.org"), &format!("B{i}"), "UTC")
            .await;
        sqlx::query("INSERT INTO memberships (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO daily_values (user_id, metric_id, day, value, count)
             SELECT $1, m.id, current_date - g, CASE m.key WHEN 'sleep' THEN 400 + 10 * $2 ELSE 60 + $2 END, 1
               FROM metrics m, generate_series(0, 29) g
              WHERE m.owner_id IS NULL AND m.key IN ('sleep', 'weight')",
        )
        .bind(id)
        .bind(i as f64)
        .execute(&app.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO metric_shares (user_id, metric_id, group_id, level)
             SELECT $1, id, $2, 'aggregate' FROM metrics
              WHERE owner_id IS NULL AND (key = 'sleep' OR (key = 'weight' AND $3))",
        )
        .bind(id)
        .bind(group_id)
        .bind(i <= 2)
        .execute(&app.pool)
        .await
        .unwrap();
        clients.push(client);
    }
    app::pipeline::compute::group::GroupFigures { group_id }
        .run(&app.pool)
        .await
        .unwrap();
    let page = |client: reqwest::Client, key: &'static str| {
        let app = &app;
        async move {
            let response = app.call(&client, "get_metric_page", &[("key", key)]).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };

    let sleep = page(clients[0].clone(), "sleep").await;
    let groups = sleep["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{sleep}");
    let band = &groups[0];
    assert_eq!(band["group_name"], "Banders");
    assert_eq!(band["withheld"], Value::Null);
    // The shortest sleeper of five stands at the 20th percentile (scipy's "rank" kind).
    assert_eq!(
        band["standing"],
        "Over the last 28 days your mean is at the 20th percentile of the 5 members counted."
    );
    let chart = &band["chart"];
    // The weeks with 30 days of data have bars; the member's own line runs through them.
    let path = |class: &str| {
        chart["paths"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["class"] == class)
            .map(|p| p["d"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let bars = path("band-outer").matches('Z').count();
    assert!((4..=6).contains(&bars), "{bars} weekly bars: {chart}");
    assert_eq!(path("band-inner").matches('Z').count(), bars);
    assert_eq!(chart["dots"].as_array().unwrap().len(), bars);
    assert!(chart["summary"]
        .as_str()
        .unwrap()
        .starts_with("Sleep per week"));
    // The table: twelve weeks, the older ones counted by fewer than k.
    let rows = chart["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().any(|row| row["cells"][2] == "fewer than k"));

    // Weight, shared by two: withheld, with the reason, and no numbers.
    let weight = page(clients[0].clone(), "weight").await;
    assert_eq!(
        weight["groups"][0]["withheld"],
        "shared by 2 members; shown from 5"
    );
    assert_eq!(weight["groups"][0]["chart"], Value::Null);
    assert_eq!(weight["groups"][0]["standing"], Value::Null);
    // A member who keeps weight private sees no comparison for it.
    let private = page(clients[4].clone(), "weight").await;
    assert_eq!(private["groups"], serde_json::json!([]));
}

#[tokio::test]
async fn a_metric_page_shows_its_year_weekdays_spread_streaks_and_bests() {
    let app = TestApp::spawn().await;
    let (client, who) = app.member_in_zone("yan@example.org", "Yan", "UTC").await;
    let (_, write) = token(&app, &client, "write").await;
    sixty_days(&app, &write, 7).await;
    app.run_jobs().await;
    let response = app
        .call(&client, "get_metric_page", &[("key", "steps")])
        .await;
    assert_eq!(response.status(), 200);
    let data: Value = response.json().await.unwrap();
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM daily_values d JOIN metrics m ON m.id = d.metric_id
          WHERE d.user_id = $1 AND m.key = 'steps'",
    )
    .bind(who)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let charts = data["patterns"].as_array().unwrap();
    let classes: Vec<&str> = charts
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        ["heatmap-chart", "bar-chart", "bar-chart"],
        "{data}"
    );
    // The heatmap: a square for each of 365 days, the logged ones shaded by quartile.
    let squares = |chart: &Value, class: &str| -> usize {
        chart["paths"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["class"].as_str().unwrap().starts_with(class))
            .map(|p| p["d"].as_str().unwrap().matches('Z').count())
            .sum()
    };
    assert_eq!(squares(&charts[0], "heat-"), 365);
    assert_eq!(squares(&charts[0], "heat-0"), 365 - logged as usize);
    assert!(charts[0]["summary"]
        .as_str()
        .unwrap()
        .contains(&format!("{logged} of 365 days logged")));
    // Seven weekdays; the histogram counts every day once.
    assert_eq!(charts[1]["rows"].as_array().unwrap().len(), 7);
    let counted: i64 = charts[2]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["cells"][1]
                .as_str()
                .unwrap()
                .trim_end_matches(" days")
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(counted, logged);
    // Streaks and bests from the stored summary.
    let records: Vec<(String, String)> = serde_json::from_value(data["records"].clone()).unwrap();
    let record = |what: &str| {
        records
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(record("Current streak"), "60 days");
    assert!(record("Highest").contains(" steps on "), "{records:?}");
    assert_eq!(record("Days logged"), logged.to_string());
}

#[tokio::test]
async fn the_dashboard_searches_every_note_of_the_member_and_no_one_elses() {
    let app = TestApp::spawn().await;
    let (client, _) = app.member_in_zone("noa@example.org", "Noa", "UTC").await;
    let (other, _) = app.member_in_zone("oto@example.org", "Oto", "UTC").await;
    for (who, metric, value, note, key) in [
        (&client, "sleep", "420", "walked the hills before bed", "n1"),
        (&client, "mood", "6", "Hill walk, then <b>cake</b>", "n2"),
        (&client, "steps", "9000", "city day", "n3"),
        (&other, "mood", "5", "hills hills hills", "n4"),
    ] {
        let logged = app
            .call(
                who,
                "log_entry",
                &[
                    ("metric", metric),
                    ("value", value),
                    ("note", note),
                    ("key", key),
                ],
            )
            .await;
        assert_eq!(logged.status(), 200);
    }
    app.run_jobs().await;
    let search = |client: &reqwest::Client, words: &'static str| {
        let client = client.clone();
        let app = &app;
        async move {
            let response = app
                .call(&client, "get_dashboard", &[("notes", words)])
                .await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["notes"].clone()
        }
    };
    // Every word as a prefix, across metrics, newest first; another member's notes never.
    let found = search(&client, "hill walk").await;
    assert_eq!(found["total"], 2, "{found}");
    let hits = found["hits"].as_array().unwrap();
    let metrics: Vec<&str> = hits.iter().map(|h| h["metric"].as_str().unwrap()).collect();
    assert_eq!(metrics, ["Mood", "Sleep"]);
    assert_eq!(hits[0]["note"], "Hill walk, then <b>cake</b>");
    assert!(hits[0]["href"]
        .as_str()
        .unwrap()
        .starts_with("/track/mood?search=hill%20walk"));
    assert_eq!(hits[1]["value"], "7 h");
    let theirs = search(&other, "walk").await;
    assert_eq!(theirs["total"], 0);
    // Nothing searched: no results section; punctuation alone finds nothing, without error.
    let board = app.call(&client, "get_dashboard", &[]).await;
    assert_eq!(board.json::<Value>().await.unwrap()["notes"], Value::Null);
    assert_eq!(search(&client, "&|!").await["total"], 0);
    // The page reads without JavaScript, the note as text.
    let html = app.html(&client, "/dashboard?notes=cake").await;
    assert!(
        html.contains("Hill walk, then &lt;b&gt;cake&lt;/b&gt;"),
        "escaped: {html}"
    );
}

/// A member's notes on days: one per day, marked on the charts of every one of their
/// metrics (numbered, in the table, in the brush's tooltip data), replaced and removed by
/// their owner, refused with the reason when bad (what was stored stays), one row under
/// 50 simultaneous saves, never on anyone else's page.
#[tokio::test]
async fn notes_on_days_mark_their_members_charts_only() {
    let app = TestApp::spawn().await;
    let (client, bea) = app.member_in_zone("bea@example.org", "Bea", "UTC").await;
    let (other, _) = app.member_in_zone("cal@example.org", "Cal", "UTC").await;
    let today = chrono::Utc::now().date_naive();
    let day = |back: i64| (today - chrono::Duration::days(back)).to_string();
    for who in [&client, &other] {
        for (back, mood) in [(3, "5"), (2, "6"), (1, "7")] {
            let at = format!("{}T20:00", day(back));
            let key = format!("mood-{back}");
            let response = app
                .call(
                    who,
                    "log_entry",
                    &[
                        ("metric", "mood"),
                        ("value", mood),
                        ("at", &at),
                        ("key", &key),
                    ],
                )
                .await;
            assert_eq!(response.status(), 200);
        }
        let at = format!("{}T07:00", day(1));
        let response = app
            .call(
                who,
                "log_entry",
                &[
                    ("metric", "sleep"),
                    ("value", "420"),
                    ("at", &at),
                    ("key", "sleep"),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    app.run_jobs().await;
    let annotate = |who: &reqwest::Client, day: String, note: String| {
        let (app, who) = (&app, who.clone());
        async move {
            let response = app
                .call(&who, "annotate_day", &[("day", &day), ("note", &note)])
                .await;
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let page = |who: &reqwest::Client, key: &'static str| {
        let (app, who) = (&app, who.clone());
        async move {
            let response = app.call(&who, "get_metric_page", &[("key", key)]).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };

    assert_eq!(
        annotate(&client, day(2), "Flight <b>home</b> & back".into())
            .await
            .0,
        200
    );
    let mood = page(&client, "mood").await;
    assert_eq!(mood["day_notes"][0]["day"], day(2));
    assert_eq!(mood["day_notes"][0]["note"], "Flight <b>home</b> & back");
    let chart = &mood["chart"];
    assert!(
        chart["summary"]
            .as_str()
            .unwrap()
            .ends_with("; 1 day noted."),
        "{chart}"
    );
    assert!(chart["labels"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["class"] == "note-mark" && l["text"] == "1"));
    assert_eq!(chart["head"][3], "Your note");
    let noted_row = chart["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cells"][3] != "")
        .unwrap();
    assert_eq!(noted_row["cells"][1], "6");
    assert_eq!(mood["brush"]["notes"][0][1], "Flight <b>home</b> & back");
    // On every metric's chart: sleep, logged only yesterday, still lists the day (its
    // chart starts at its first value, so the note two days ago is outside it).
    let sleep = page(&client, "sleep").await;
    assert_eq!(sleep["day_notes"], serde_json::json!([]));
    assert_eq!(
        annotate(&client, day(1), "Slept at a friend's".into())
            .await
            .0,
        200
    );
    let sleep = page(&client, "sleep").await;
    assert_eq!(sleep["day_notes"][0]["note"], "Slept at a friend's");
    // The page reads without JavaScript, the note as text.
    let html = app.html(&client, "/track/mood").await;
    assert!(
        html.contains("Flight &lt;b&gt;home&lt;/b&gt; &amp; back"),
        "escaped"
    );
    assert!(!html.contains("<b>home</b>"));

    // Bad input: a 400 with the reason, and the stored note stays.
    let long = "x".repeat(141);
    let cases = [
        (day(2), long.as_str(), "at most 140 characters"),
        (day(2), "two\nlines", "one line"),
        (day(2), "nul\u{0}", "NUL"),
        (
            (today + chrono::Duration::days(400)).to_string(),
            "later",
            "within a year",
        ),
        ("2026-13-01".to_string(), "never", "should look like"),
        (String::new(), "no day", "Pick the day"),
    ];
    for (when, note, reason) in cases {
        let (status, body) = annotate(&client, when.clone(), note.into()).await;
        assert_eq!(status, 400, "{when} {note:?}: {body}");
        assert!(body.contains(reason), "{when} {note:?}: {body}");
    }
    let mood = page(&client, "mood").await;
    assert_eq!(mood["day_notes"][0]["note"], "Flight <b>home</b> & back");

    // Fifty saves of the same day at once: every one answered, one note kept.
    let saves = (0..50).map(|i| annotate(&client, day(2), format!("Version {i}")));
    for (status, body) in futures_util::future::join_all(saves).await {
        assert_eq!(status, 200, "{body}");
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM day_notes WHERE user_id = $1 AND day = $2")
            .bind(bea)
            .bind(today - chrono::Duration::days(2))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(rows, 1);

    // Another member sees none of it, and removing "their" note of that day removes
    // nothing of Bea's.
    let theirs = page(&other, "mood").await;
    assert_eq!(theirs["day_notes"], serde_json::json!([]));
    assert!(!theirs["chart"]["summary"]
        .as_str()
        .unwrap()
        .contains("noted"));
    assert_eq!(annotate(&other, day(2), String::new()).await.0, 200);
    let mood = page(&client, "mood").await;
    assert!(mood["day_notes"][0]["note"]
        .as_str()
        .unwrap()
        .starts_with("Version "));

    // An empty note removes the day's note (yesterday's stays).
    assert_eq!(annotate(&client, day(2), "  ".into()).await.0, 200);
    let mood = page(&client, "mood").await;
    let notes = mood["day_notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["day"], day(1));
}
