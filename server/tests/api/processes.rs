//! Cohort as it runs behind a load balancer: two `cohort serve` processes (no job
//! runners) and one `cohort worker` on one PostgreSQL, with a real SMTP server. A
//! session made on one server is valid on the other and a logout on one ends it on both;
//! an RSVP burst split between the servers keeps the capacity exactly; one server killed
//! (SIGKILL) in the middle of a burst loses no answered RSVP and doubles nothing when the
//! members try again on the other; every e-mail is written once and delivered once, and
//! each reminder goes out once although two reminder jobs run.

use crate::binary::{serve_by, stop, Served};
use crate::faults::{database_url, Worker};
use crate::helpers::{temp_dir, TestApp, PASSWORD};
use crate::smtp::SmtpServer;
use chrono::{TimeDelta, Utc};
use futures_util::future::join_all;
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Members who answer each meetup.
const MEMBERS: usize = 16;
/// Seats at each meetup.
const CAPACITY: i64 = 4;

/// `cohort serve` on `database_url`, without job runners and without the demo.
async fn server(data_dir: &Path, database_url: &str) -> Served {
    let site = data_dir.join("site");
    let flags: Vec<&std::ffi::OsStr> = vec![
        "--no-workers".as_ref(),
        "--no-demo".as_ref(),
        "--database-url".as_ref(),
        database_url.as_ref(),
        "--site-root".as_ref(),
        site.as_os_str(),
    ];
    serve_by(Command::new(env!("CARGO_BIN_EXE_cohort")), data_dir, &flags)
        .await
        .0
}

/// Calls a server function at `base` as the app's forms do.
async fn call(
    base: &str,
    client: &reqwest::Client,
    function: &str,
    form: &[(&str, &str)],
) -> Result<reqwest::Response, reqwest::Error> {
    client
        .post(format!("{base}/api/{function}"))
        .header("Origin", base)
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await
}

/// Signs up at `base`; the member's client (its session cookie).
async fn sign_up(base: &str, email: &str, name: &str) -> reqwest::Client {
    let client = TestApp::new_client();
    let answer = call(
        base,
        &client,
        "signup",
        &[
            ("email", email),
            ("display_name", name),
            ("password", PASSWORD),
        ],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 200, "signing up {email} at {base}");
    client
}

/// Who `client` is at `base`, or None.
async fn whoami(base: &str, client: &reqwest::Client) -> Option<String> {
    let body: serde_json::Value = call(base, client, "get_current_user", &[])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["email"].as_str().map(str::to_string)
}

/// Creates a meetup of 'qs-two' with [`CAPACITY`] seats, two days ahead; its id.
async fn meetup(app: &TestApp, base: &str, organizer: &reqwest::Client, title: &str) -> i64 {
    let tz: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
    let date = (Utc::now().with_timezone(&tz) + TimeDelta::days(2))
        .date_naive()
        .to_string();
    let capacity = CAPACITY.to_string();
    let answer = call(
        base,
        organizer,
        "save_event",
        &[
            ("group_slug", "qs-two"),
            ("title", title),
            ("body_md", "Bring your data."),
            ("date", &date),
            ("start_time", "18:30"),
            ("end_time", "20:30"),
            ("time_zone", "America/Los_Angeles"),
            ("venue", "Library"),
            ("address", "100 Fairgrounds Dr, Petaluma"),
            ("online_url", ""),
            ("capacity", &capacity),
            ("max_guests", "0"),
            ("rsvp_opens", ""),
            ("rsvp_closes", ""),
            ("offer_window_hours", "0"),
        ],
    )
    .await
    .unwrap();
    let status = answer.status().as_u16();
    assert!(status == 200 || (300..400).contains(&status), "{status}");
    sqlx::query_scalar("SELECT id FROM events WHERE title = $1")
        .bind(title)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A "yes" to `event`; whether the server answered it.
async fn rsvp(base: &str, client: &reqwest::Client, event: i64) -> bool {
    let event = event.to_string();
    match call(
        base,
        client,
        "rsvp",
        &[("event_id", &event), ("answer", "yes"), ("guests", "0")],
    )
    .await
    {
        Ok(answer) => {
            assert_eq!(answer.status(), 200, "an RSVP refused");
            true
        }
        Err(_) => false,
    }
}

/// The seats of `event`: (going, waitlisted, rows, distinct arrivals).
async fn seats(app: &TestApp, event: i64) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE seat = 'going'), count(*) FILTER (WHERE seat = 'waitlisted'),
                count(*), count(DISTINCT arrival)
           FROM rsvps WHERE event_id = $1",
    )
    .bind(event)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_and_a_worker_share_sessions_seats_jobs_and_reminders() {
    let app = TestApp::spawn().await;
    let url = database_url(&app.pool).await;
    let smtp = SmtpServer::start();
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let (dir_a, dir_b) = (temp_dir("serve-a"), temp_dir("serve-b"));
    let (a, b) = tokio::join!(server(&dir_a, &url), server(&dir_b, &url));
    let worker = Worker::spawn_with(&url, &["--smtp-url", &smtp_url]);

    // Sessions: made on one server, valid on the other; a logout on one ends it on both.
    sign_up(&a.url, "admin@example.org", "Admin").await;
    let organizer = sign_up(&b.url, "org@example.org", "Olive").await;
    assert_eq!(
        whoami(&a.url, &organizer).await.as_deref(),
        Some("org@example.org")
    );
    let passing = sign_up(&a.url, "passing@example.org", "Pat").await;
    assert_eq!(
        whoami(&b.url, &passing).await.as_deref(),
        Some("passing@example.org")
    );
    assert_eq!(
        call(&b.url, &passing, "logout", &[])
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(whoami(&a.url, &passing).await, None);

    sqlx::raw_sql(
        "INSERT INTO groups (slug, name, city, time_zone) VALUES ('qs-two', 'QS Two', 'Petaluma', 'America/Los_Angeles');
         INSERT INTO memberships (group_id, user_id, role)
         SELECT g.id, u.id, 'organizer' FROM groups g, users u WHERE g.slug = 'qs-two' AND u.email = 'org@example.org';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut members = Vec::new();
    for i in 0..MEMBERS {
        let base = if i % 2 == 0 { &a.url } else { &b.url };
        let email = format!("m{i}@example.org");
        members.push(sign_up(base, &email, &format!("Member {i}")).await);
        sqlx::query(
            "INSERT INTO memberships (group_id, user_id)
             SELECT g.id, u.id FROM groups g, users u WHERE g.slug = 'qs-two' AND u.email = $1",
        )
        .bind(&email)
        .execute(&app.pool)
        .await
        .unwrap();
    }

    // A burst split between the servers: the capacity holds exactly.
    let first = meetup(&app, &a.url, &organizer, "First burst").await;
    let answered = join_all(members.iter().enumerate().map(|(i, member)| {
        let base = if i % 2 == 0 { &a.url } else { &b.url };
        rsvp(base, member, first)
    }))
    .await;
    assert!(answered.iter().all(|yes| *yes));
    assert_eq!(
        seats(&app, first).await,
        (
            CAPACITY,
            MEMBERS as i64 - CAPACITY,
            MEMBERS as i64,
            MEMBERS as i64
        )
    );

    // A burst at server A, killed (SIGKILL) once the first answers are stored; those
    // whose answer was lost try again at B.
    let second = meetup(&app, &b.url, &organizer, "Second burst").await;
    let mut a = a;
    let burst = {
        let (url, members) = (a.url.clone(), members.clone());
        tokio::spawn(async move {
            join_all(members.iter().map(|member| rsvp(&url, member, second))).await
        })
    };
    let started = Instant::now();
    while seats(&app, second).await.2 == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no RSVP landed"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let answered = burst.await.unwrap();
    let stored_at_the_kill = seats(&app, second).await.2;
    let answered_count = answered.iter().filter(|yes| **yes).count() as i64;
    assert!(
        answered_count <= stored_at_the_kill,
        "an answered RSVP is stored"
    );
    eprintln!(
        "killed with {stored_at_the_kill} of {MEMBERS} RSVPs stored, {answered_count} answered"
    );
    for (member, answered) in members.iter().zip(&answered) {
        if !answered {
            assert!(rsvp(&b.url, member, second).await);
        }
    }
    assert_eq!(
        seats(&app, second).await,
        (
            CAPACITY,
            MEMBERS as i64 - CAPACITY,
            MEMBERS as i64,
            MEMBERS as i64
        )
    );
    // A restarted server knows every session.
    let a = server(&dir_a, &url).await;
    assert_eq!(
        whoami(&a.url, &organizer).await.as_deref(),
        Some("org@example.org")
    );

    // Both meetups are tomorrow now: their reminders are due, and a stray second
    // reminder job per meetup runs beside the first.
    sqlx::query(
        "UPDATE events SET starts_at = now() + interval '20 hours', ends_at = now() + interval '22 hours'
          WHERE id = ANY($1)",
    )
    .bind([first, second])
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO jobs (kind, queue, payload)
         SELECT 'remind', 'mail', jsonb_build_object('event_id', id) FROM events WHERE id = ANY($1)",
    )
    .bind([first, second])
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'remind' AND state = 'pending'")
        .execute(&app.pool)
        .await
        .unwrap();

    // The worker writes and sends everything: each e-mail once, each delivered once.
    let started = Instant::now();
    loop {
        let (reminders, unsent, pending): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM emails WHERE kind = 'reminder'),
                    (SELECT count(*) FROM emails WHERE status <> 'sent'),
                    (SELECT count(*) FROM jobs WHERE state IN ('pending', 'running') AND run_at <= now())",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if reminders == 2 * CAPACITY && unsent == 0 && pending == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{reminders} reminders, {unsent} unsent, {pending} jobs due"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Once more after the jobs are done: nothing else arrives.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let emails: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT kind, user_id, event_id FROM emails WHERE event_id IS NOT NULL")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let distinct: HashSet<_> = emails.iter().collect();
    assert_eq!(
        distinct.len(),
        emails.len(),
        "one e-mail of a kind per member and meetup: {emails:?}"
    );
    let reminded: HashSet<(i64, i64)> = emails
        .iter()
        .filter(|(kind, ..)| kind == "reminder")
        .map(|(_, user, event)| (*user, *event))
        .collect();
    let going: HashSet<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, event_id FROM rsvps WHERE seat = 'going' AND event_id = ANY($1)",
    )
    .bind([first, second])
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(reminded, going, "a reminder to each member going, once");
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let delivered = smtp.delivered();
    assert_eq!(
        delivered.len() as i64,
        written,
        "each e-mail delivered once"
    );
    let delivered_reminders = delivered
        .iter()
        .filter(|mail| mail.contains("Subject: Tomorrow"))
        .count() as i64;
    assert_eq!(delivered_reminders, 2 * CAPACITY);

    worker.stop();
    let (_, _) = tokio::join!(stop(a), stop(b));
    let _ = std::fs::remove_dir_all(dir_a);
    let _ = std::fs::remove_dir_all(dir_b);
}
