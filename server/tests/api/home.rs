use crate::helpers::TestApp;
use chrono::Utc;

async fn seeded_app() -> TestApp {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, Utc::now())
        .await
        .expect("seeding");
    app
}

#[tokio::test]
async fn the_home_page_is_server_rendered_with_the_first_meetup_in_local_time() {
    let app = seeded_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#">QSNB Meetup v1.3</a></h3>"#), "{html}");
    assert!(html.contains("Tuesday, 26 February 2013"));
    assert!(html.contains("6:30 PM – 8:30 PM PST"));
    assert!(html.contains(r#"datetime="2013-02-27T02:30:00+00:00""#));
    assert!(html.contains("Quantified Self North Bay"));
    assert!(
        html.contains("QSNB Monthly Meetup"),
        "the upcoming meetups are listed too"
    );
}

#[tokio::test]
async fn the_past_and_upcoming_filters_work_without_javascript() {
    let app = seeded_app().await;
    let upcoming = app.get("/?show=upcoming").await.text().await.unwrap();
    assert!(!upcoming.contains(r#">QSNB Meetup v1.3</a></h3>"#));
    assert!(upcoming.contains(r#"">QSNB Monthly Meetup"#));

    let past = app.get("/?show=past").await.text().await.unwrap();
    assert!(past.contains(r#">QSNB Meetup v1.3</a></h3>"#));
    assert!(!past.contains(r#"">QSNB Monthly Meetup"#));
}

#[tokio::test]
async fn an_empty_instance_says_there_are_no_meetups() {
    let app = TestApp::spawn().await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("No upcoming meetups are scheduled yet."));
    assert!(html.contains("No past meetups yet."));
}

#[tokio::test]
async fn an_unknown_page_is_a_404_with_a_way_back() {
    let app = TestApp::spawn().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}
