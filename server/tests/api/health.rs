use crate::helpers::{temp_dir, TestApp};
use cohort::pg::{ClusterOptions, EmbeddedPostgres};
use serde_json::Value;
use std::time::{Duration, Instant};

#[tokio::test]
async fn healthz_reports_the_database_up() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "up");
    assert!(body["database"]["latency_ms"].as_f64().is_some());
}

#[tokio::test]
async fn healthz_is_503_while_the_database_is_away_and_recovers_by_itself() {
    let dir = temp_dir("cohort-test-health-");
    let cluster = EmbeddedPostgres::start(ClusterOptions::new(&dir).for_tests())
        .await
        .unwrap();
    let pool = cohort::db::pool_options(3)
        .connect_with(cluster.connect_options())
        .await
        .unwrap();
    cohort::db::migrate(&pool).await.unwrap();
    let app = TestApp::spawn_on(pool).await;
    assert_eq!(app.get("/healthz").await.status(), 200);

    cluster.stop().await.unwrap();
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"]["status"], "down");
    assert!(body["database"]["error"].as_str().is_some());
    // The pages say so too, instead of crashing.
    let home = app.get("/").await;
    assert!(home.status().is_success() || home.status().is_server_error());

    assert!(
        cluster.ensure_running().await.unwrap(),
        "the cluster should have been started again"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = app.get("/healthz").await.status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "healthz did not recover: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cluster.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
