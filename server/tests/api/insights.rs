//! The insight pages' server functions, as a browser calls them: the dashboard shows a
//! member their own cards, insights and nudges, and nothing of anyone else's.

use crate::helpers::TestApp;
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
    assert!(first["href"].as_str().unwrap().starts_with("/track/"));
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
    let html = client
        .get(format!("{}/dashboard", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Hello, <!>Dee</h1>"), "{html}");
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
    let html = client
        .get(format!("{}/track/caffeine", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let html = client
        .get(format!("{}/insights?metric=steps", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Every pair tested") && html.contains("Steps → energy"));
}
