//! `--replica-url`: a primary and a PostgreSQL streaming replica started locally
//! (pg_basebackup -R). With the replica's replay paused and a meetup renamed on the
//! primary, the read-only paths (the meetup page, the group's calendar feed, the GET
//! API, the dashboard) still show the old name, so they read from the replica; a member
//! who has just written (an RSVP) reads from the primary and sees both the new name and
//! their answer; writes through the API land on the primary; once replay resumes, every
//! path shows the new name.

use crate::helpers::{temp_dir, Clusters, TestApp, PASSWORD};
use cohort::pg::{ClusterOptions, EmbeddedPostgres};
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// Waits until the replica has replayed everything the primary wrote so far (the insert
/// position: the test cluster commits asynchronously, so the write position may trail).
async fn caught_up(primary: &PgPool, replica: &PgPool) {
    let target: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(primary)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let done: bool = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
            .bind(&target)
            .fetch_one(replica)
            .await
            .unwrap();
        if done {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the replica did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client that carries only `session` (no cookie store: no fresh-write cookie).
fn session_only(session: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        reqwest::header::HeaderValue::from_str(session).unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn text(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_paths_read_from_a_streaming_replica_and_writers_see_their_writes() {
    // The primary, migrated, with the demo.
    let primary_dir = temp_dir("cohort-test-primary-");
    let primary = EmbeddedPostgres::start(ClusterOptions::new(&primary_dir).for_tests())
        .await
        .unwrap();
    let pool = cohort::db::pool_options(5)
        .connect_with(primary.connect_options())
        .await
        .unwrap();
    let mut clusters = Clusters(vec![(primary, primary_dir)]);
    cohort::db::migrate(&pool).await.unwrap();
    cohort::seed::seed_demo(&pool, chrono::Utc::now())
        .await
        .unwrap();

    // The replica: a base backup of the primary that streams from it.
    let replica_dir = temp_dir("cohort-test-replica-");
    {
        use std::os::unix::fs::PermissionsExt;
        // pg_basebackup runs as the cluster's user and makes `postgres` inside.
        std::fs::set_permissions(&replica_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let status = clusters.0[0]
        .0
        .client_command("pg_basebackup")
        .arg("-D")
        .arg(replica_dir.join("postgres"))
        .args(["-R", "-X", "stream", "-c", "fast"])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "pg_basebackup failed");
    let standby = EmbeddedPostgres::start(ClusterOptions::new(&replica_dir).for_tests())
        .await
        .unwrap();
    let replica = cohort::db::connect_replica(&standby.url("cohort"), 4)
        .await
        .unwrap();
    clusters.0.push((standby, replica_dir));
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&replica)
        .await
        .unwrap();
    assert!(in_recovery, "the replica is a standby");

    let app = TestApp::spawn_with_replica(pool.clone(), Some(replica.clone())).await;
    // A member of the demo group, with a read token; their session cookie alone.
    let member = TestApp::new_client();
    let signed_up = app
        .call(
            &member,
            "signup",
            &[
                ("email", "rhea@example.org"),
                ("display_name", "Rhea"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_up.status(), 200);
    let cookies: Vec<String> = signed_up
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("cohort_fresh=1")),
        "a write leaves the fresh cookie: {cookies:?}"
    );
    let session = cookies
        .iter()
        .find(|c| c.starts_with("cohort_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let joined = app
        .call(&member, "join_group", &[("slug", "qs-north-bay")])
        .await;
    assert_eq!(joined.status(), 200);
    let (_, token) = crate::rest::token(&app, &member, "write").await;
    let (event, old_title): (i64, String) = sqlx::query_as(
        "SELECT e.id, e.title FROM events e JOIN groups g ON g.id = e.group_id
          WHERE g.slug = 'qs-north-bay' AND e.starts_at > now() ORDER BY e.starts_at LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    caught_up(&pool, &replica).await;
    let member_on_replica: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM memberships ms JOIN users u ON u.id = ms.user_id WHERE u.email = 'rhea@example.org'",
    )
    .fetch_one(&replica)
    .await
    .unwrap();
    let member_on_primary: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM memberships ms JOIN users u ON u.id = ms.user_id WHERE u.email = 'rhea@example.org'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (member_on_primary, member_on_replica),
        (1, 1),
        "the membership reached the replica"
    );

    // Replay paused, the meetup renamed on the primary.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET title = 'Renamed on the primary' WHERE id = $1")
        .bind(event)
        .execute(&pool)
        .await
        .unwrap();

    let reader = session_only(&session);
    let base = &app.address;
    let page = text(&reader, &format!("{base}/events/{event}")).await;
    assert!(page.contains(&old_title) && !page.contains("Renamed on the primary"));
    let feed = text(
        &reqwest::Client::new(),
        &format!("{base}/groups/qs-north-bay/calendar.ics"),
    )
    .await;
    assert!(!feed.contains("Renamed on the primary"));
    let api = reqwest::Client::new()
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    let api = api.text().await.unwrap();
    assert!(
        api.contains(&old_title) && !api.contains("Renamed on the primary"),
        "{old_title}: {api}"
    );
    assert_eq!(
        reader
            .get(format!("{base}/dashboard"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A write through the API lands on the primary (the replica would refuse it).
    let posted = reqwest::Client::new()
        .post(format!("{base}/api/v1/observations"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "observations": [{ "metric": "mood", "value": 7 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let landed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM raw_observations r JOIN users u ON u.id = r.user_id
          WHERE u.email = 'rhea@example.org'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(landed, 1);

    // The member answers; in the seconds after, their reads go to the primary.
    let event_id = event.to_string();
    let answered = app
        .call(
            &member,
            "rsvp",
            &[("event_id", &event_id), ("answer", "yes"), ("guests", "0")],
        )
        .await;
    assert_eq!(answered.status(), 200);
    let page = app.html(&member, &format!("/events/{event}")).await;
    assert!(
        page.contains("Renamed on the primary"),
        "the writer reads the primary"
    );
    // Still the old name for a reader that did not write.
    let page = text(&reader, &format!("{base}/events/{event}")).await;
    assert!(page.contains(&old_title));

    // Replay resumes: every path shows the new name.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&replica)
        .await
        .unwrap();
    caught_up(&pool, &replica).await;
    let page = text(&reader, &format!("{base}/events/{event}")).await;
    assert!(page.contains("Renamed on the primary"));
    let feed = text(
        &reqwest::Client::new(),
        &format!("{base}/groups/qs-north-bay/calendar.ics"),
    )
    .await;
    assert!(feed.contains("Renamed on the primary"));

    drop(app);
    replica.close().await;
    pool.close().await;
    drop(clusters);
}
