use crate::helpers::{without_markers, TestApp};
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
    let html = without_markers(&response.text().await.unwrap());
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
    let upcoming = without_markers(&app.get("/?show=upcoming").await.text().await.unwrap());
    assert!(!upcoming.contains(r#">QSNB Meetup v1.3</a></h3>"#));
    assert!(upcoming.contains(r#"">QSNB Monthly Meetup"#));

    let past = without_markers(&app.get("/?show=past").await.text().await.unwrap());
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

/// Leptos suppresses resource loading process-wide while it lists an app's routes, so a
/// page rendered meanwhile on another thread used to wait forever for its data. Routers
/// are built on another thread here, as parallel tests do, while pages render.
#[tokio::test]
async fn pages_finish_while_other_routers_are_built() {
    let app = seeded_app().await;
    let member = app.member("member@example.org", "Member").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let builder = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut built = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                runtime.block_on(async {
                    let pool = sqlx::postgres::PgPoolOptions::new()
                        .connect_lazy("postgres://nobody@127.0.0.1:1/unused")
                        .unwrap();
                    let settings = cohort::startup::WebSettings::local(
                        "127.0.0.1:0".parse().unwrap(),
                        std::path::Path::new("/nonexistent/cohort-site"),
                    );
                    cohort::startup::Application::build(&settings, pool)
                        .await
                        .unwrap();
                });
                built += 1;
            }
            built
        }
    });
    let pages = ["/", "/groups/qs-north-bay", "/track", "/me", "/me/tokens"];
    for round in 0..60 {
        for page in pages {
            let url = format!("{}{page}", app.address);
            let body = tokio::time::timeout(std::time::Duration::from_secs(20), async {
                member.get(&url).send().await?.text().await
            })
            .await
            .unwrap_or_else(|_| panic!("{page} never finished (round {round})"))
            .unwrap();
            assert!(body.contains("<html"), "{page}: {body}");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let built = builder.join().unwrap();
    assert!(built > 0, "no router was built meanwhile");
}

/// The home page's and a group's lists come from one statement (a union of the two):
/// each list in its own order, an event in progress among the upcoming ones, at most 50
/// past ones, the latest first.
#[tokio::test]
async fn upcoming_meetups_come_soonest_first_and_past_ones_latest_first() {
    let app = seeded_app().await;
    let group_id: i64 = sqlx::query_scalar("SELECT id FROM groups")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // 60 more past meetups (copies of the first, a day apart) and one in progress.
    sqlx::query(
        "INSERT INTO events (group_id, title, body_md, starts_at, ends_at, time_zone, venue,
                             address)
         SELECT group_id, title || ' #' || n, body_md, now() - make_interval(days => n),
                now() - make_interval(days => n) + interval '2 hours', time_zone, venue, address
           FROM events, generate_series(1, 60) n
          WHERE id = (SELECT min(id) FROM events)
         UNION ALL
         SELECT group_id, 'Happening now', body_md, now() - interval '1 hour',
                now() + interval '1 hour', time_zone, venue, address
           FROM events WHERE id = (SELECT min(id) FROM events)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let now = Utc::now();
    let home = app::events::ssr::home_data(&app.pool, now).await.unwrap();
    let (upcoming, past) = app::events::ssr::group_meetups(&app.pool, group_id, now)
        .await
        .unwrap();
    assert_eq!(home.upcoming, upcoming);
    assert_eq!(home.past, past);
    assert!(upcoming.iter().any(|m| m.title == "Happening now"));
    assert!(upcoming.len() >= 2, "{upcoming:?}");
    assert!(upcoming
        .windows(2)
        .all(|w| w[0].starts_at <= w[1].starts_at));
    assert_eq!(past.len(), 50);
    assert!(past.windows(2).all(|w| w[0].starts_at > w[1].starts_at));
    assert_eq!(
        past[0].title, "QSNB Meetup v1.3 #1",
        "the latest past first"
    );
    assert!(past.iter().all(|m| m.starts_at < now));
}
