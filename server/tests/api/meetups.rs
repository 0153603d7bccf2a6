//! Meetups end to end through HTTP and the job runner: creating and editing events,
//! series, RSVPs under concurrency, the waitlist and offers, e-mail through a real SMTP
//! server, the reminder sent once, calendars and feeds that standard parsers read,
//! comments, talks, check-in and the CSV export.

use crate::helpers::{without_markers, TestApp};
use crate::smtp::SmtpServer;
use chrono::{Duration, TimeZone, Utc};
use cohort::job_types::cohort_runner;
use cohort::jobs::Services;
use std::collections::HashMap;
use std::sync::Arc;

struct Group {
    app: TestApp,
    organizer: reqwest::Client,
}

/// A group "qs-test" (America/Los_Angeles) with one organizer; the instance admin is
/// another account that belongs to no group.
async fn group() -> Group {
    group_on(TestApp::spawn().await).await
}

/// [`group`] on a pool of 25 connections, for requests that must truly overlap.
async fn busy_group() -> Group {
    group_on(TestApp::spawn_on(crate::helpers::fresh_database_with(25).await).await).await
}

async fn group_on(app: TestApp) -> Group {
    app.member("admin@example.org", "Admin").await; // the first account is the admin
    let organizer = app.member("org@example.org", "Olive Organizer").await;
    sqlx::raw_sql(
        "INSERT INTO groups (slug, name, city, time_zone) VALUES ('qs-test', 'QS Test', 'Petaluma', 'America/Los_Angeles');
         INSERT INTO memberships (group_id, user_id, role)
         SELECT g.id, u.id, 'organizer' FROM groups g, users u WHERE g.slug = 'qs-test' AND u.email = 'org@example.org';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    Group { app, organizer }
}

impl Group {
    async fn join(&self, email: &str, name: &str) -> reqwest::Client {
        let client = self.app.member(email, name).await;
        self.add_member(email).await;
        client
    }

    async fn add_member(&self, email: &str) {
        sqlx::query(
            "INSERT INTO memberships (group_id, user_id)
             SELECT g.id, u.id FROM groups g, users u WHERE g.slug = 'qs-test' AND u.email = $1",
        )
        .bind(email)
        .execute(&self.app.pool)
        .await
        .unwrap();
    }

    /// Saves the event form with sensible defaults overridden by `fields`; returns the
    /// answer (field errors as JSON, or a redirect to the new event).
    async fn save(&self, fields: &[(&str, &str)]) -> (u16, String) {
        let date = (Utc::now() + Duration::days(10)).date_naive().to_string();
        let mut form: HashMap<&str, String> = [
            ("group_slug", "qs-test"),
            ("title", "Show & tell"),
            ("body_md", "Bring **your** data."),
            ("start_time", "18:30"),
            ("end_time", "20:30"),
            ("time_zone", "America/Los_Angeles"),
            ("venue", "Library"),
            ("address", "100 Fairgrounds Dr, Petaluma"),
            ("online_url", ""),
            ("capacity", ""),
            ("max_guests", "0"),
            ("rsvp_opens", ""),
            ("rsvp_closes", ""),
            ("offer_window_hours", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        form.insert("date", date);
        for (key, value) in fields {
            form.insert(key, value.to_string());
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = self.app.call(&self.organizer, "save_event", &pairs).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Creates an event and returns its id.
    async fn create(&self, fields: &[(&str, &str)]) -> i64 {
        let (status, body) = self.save(fields).await;
        assert!(
            status == 200 || (300..400).contains(&status),
            "{status} {body}"
        );
        if status == 200 {
            let errors: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(errors["fields"], serde_json::json!([]), "{body}");
        }
        sqlx::query_scalar("SELECT max(id) FROM events")
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn rsvp(
        &self,
        client: &reqwest::Client,
        event: i64,
        answer: &str,
        guests: i32,
    ) -> (u16, String) {
        let (event, guests) = (event.to_string(), guests.to_string());
        let response = self
            .app
            .call(
                client,
                "rsvp",
                &[
                    ("event_id", &event),
                    ("answer", answer),
                    ("guests", &guests),
                ],
            )
            .await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn seat(&self, event: i64, email: &str) -> Option<String> {
        sqlx::query_scalar(
            "SELECT coalesce(r.seat::text, r.answer::text) FROM rsvps r JOIN users u ON u.id = r.user_id
              WHERE r.event_id = $1 AND u.email = $2",
        )
        .bind(event)
        .bind(email)
        .fetch_optional(&self.app.pool)
        .await
        .unwrap()
    }

    /// Runs every due job (e-mail kept in the outbox unless `mailer` is given).
    async fn run_jobs(&self, services: Services) -> usize {
        cohort_runner(self.app.pool.clone(), 1, Arc::new(services))
            .run_pending()
            .await
            .unwrap()
    }

    async fn emails(&self, email: &str) -> Vec<(String, String)> {
        sqlx::query_as("SELECT kind, subject FROM emails WHERE to_address = $1 ORDER BY id")
            .bind(email)
            .fetch_all(&self.app.pool)
            .await
            .unwrap()
    }
}

/// On four threads and 25 connections, so that the 50 requests truly overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_rsvps_take_exactly_the_ten_seats_in_arrival_order() {
    let group = busy_group().await;
    let mut members = Vec::new();
    for i in 0..50 {
        let email = format!("m{i}@example.org");
        members.push((
            email.clone(),
            group.join(&email, &format!("Member {i}")).await,
        ));
    }
    let members = Arc::new(members);
    // Three rounds on fresh events: a race that passes once by luck fails another time.
    for round in 0..3 {
        let event = group
            .create(&[
                ("title", &format!("Round {round}")),
                ("capacity", "10"),
                ("max_guests", "2"),
            ])
            .await;
        let mut tasks = Vec::new();
        for i in 0..50 {
            let members = members.clone();
            let app_address = group.app.address.clone();
            // Every fifth member brings a guest.
            let guests = if i % 5 == 0 { "1" } else { "0" };
            tasks.push(tokio::spawn(async move {
                let client = &members[i].1;
                let response = client
                    .post(format!("{app_address}/api/rsvp"))
                    .header("Origin", &app_address)
                    .header("Accept", "application/json")
                    .form(&[
                        ("event_id", event.to_string().as_str()),
                        ("answer", "yes"),
                        ("guests", guests),
                    ])
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            }));
        }
        for task in tasks {
            let (status, body) = task.await.unwrap();
            assert_eq!(status, 200, "{body}");
            assert!(
                body.contains("going") || body.contains("waitlist"),
                "{body}"
            );
        }
        let rows: Vec<(i64, i32, String)> = sqlx::query_as(
            "SELECT arrival, guests, seat::text FROM rsvps WHERE event_id = $1 ORDER BY arrival",
        )
        .bind(event)
        .fetch_all(&group.app.pool)
        .await
        .unwrap();
        assert_eq!(rows.len(), 50);
        let taken: i32 = rows
            .iter()
            .filter(|r| r.2 == "going")
            .map(|r| 1 + r.1)
            .sum();
        assert_eq!(taken, 10, "round {round}: exactly the ten seats are taken");
        // Replaying the arrivals through the rule gives the same seats: a party is seated
        // when it fits in what is left, otherwise it waits, in arrival order.
        let mut free = 10;
        for (arrival, guests, seat) in &rows {
            let party = 1 + guests;
            let expected = if party <= free {
                free -= party;
                "going"
            } else {
                "waitlisted"
            };
            assert_eq!(seat, expected, "round {round}, arrival {arrival}");
        }
        // The waitlist the page shows is in arrival order, numbered from 1.
        let detail: serde_json::Value = group
            .app
            .call(&members[0].1, "get_event", &[("id", &event.to_string())])
            .await
            .json()
            .await
            .unwrap();
        let waiting: Vec<i64> = detail["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == "waitlisted")
            .map(|a| a["position"].as_i64().unwrap())
            .collect();
        assert_eq!(waiting, (1..=waiting.len() as i64).collect::<Vec<_>>());
        assert_eq!(
            waiting.len(),
            rows.iter().filter(|r| r.2 == "waitlisted").count()
        );
        assert_eq!(detail["seats_taken"], 10);
    }
}

#[tokio::test]
async fn a_freed_seat_goes_to_the_first_in_line_who_is_told_so() {
    let group = group().await;
    let ada = group.join("ada@example.org", "Ada").await;
    let bo = group.join("bo@example.org", "Bo").await;
    let cy = group.join("cy@example.org", "Cy").await;
    let event = group.create(&[("capacity", "1")]).await;

    assert!(group.rsvp(&ada, event, "yes", 0).await.1.contains("going"));
    assert!(group
        .rsvp(&bo, event, "yes", 0)
        .await
        .1
        .contains("number 1 on the waitlist"));
    assert!(group
        .rsvp(&cy, event, "yes", 0)
        .await
        .1
        .contains("number 2 on the waitlist"));
    // Ada cancels: Bo, first in line, gets the seat; Cy moves up.
    group.rsvp(&ada, event, "no", 0).await;
    assert_eq!(
        group.seat(event, "bo@example.org").await.as_deref(),
        Some("going")
    );
    assert_eq!(
        group.seat(event, "cy@example.org").await.as_deref(),
        Some("waitlisted")
    );
    let detail: serde_json::Value = group
        .app
        .call(&cy, "get_event", &[("id", &event.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["my_rsvp"]["position"], 1);

    group.run_jobs(Services::default()).await;
    let kinds: Vec<String> = group
        .emails("bo@example.org")
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kinds, ["waitlisted", "promoted"]);
    let kinds: Vec<String> = group
        .emails("ada@example.org")
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kinds, ["rsvp_confirmed"], "a no sends nothing");
    // Without SMTP configured, e-mails are kept in the outbox.
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM emails WHERE status = 'kept'")
        .fetch_one(&group.app.pool)
        .await
        .unwrap();
    assert_eq!(kept, 4);
}

#[tokio::test]
async fn inside_the_offer_window_a_freed_seat_is_offered_and_expires() {
    let group = group().await;
    let ada = group.join("ada@example.org", "Ada").await;
    let bo = group.join("bo@example.org", "Bo").await;
    let cy = group.join("cy@example.org", "Cy").await;
    // Starts tomorrow (UTC date) at 18:30 in Los Angeles: 26 to 51 hours from now,
    // whatever the hour the test runs, so always inside the 72-hour offer window.
    let date = (Utc::now() + Duration::days(1)).date_naive().to_string();
    let event = group
        .create(&[
            ("capacity", "1"),
            ("offer_window_hours", "72"),
            ("date", &date),
        ])
        .await;
    group.rsvp(&ada, event, "yes", 0).await;
    group.rsvp(&bo, event, "yes", 0).await;
    group.rsvp(&cy, event, "yes", 0).await;
    group.rsvp(&ada, event, "no", 0).await;
    assert_eq!(
        group.seat(event, "bo@example.org").await.as_deref(),
        Some("offered")
    );
    let detail: serde_json::Value = group
        .app
        .call(&bo, "get_event", &[("id", &event.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert!(
        detail["my_rsvp"]["offer_expires"]
            .as_str()
            .unwrap()
            .contains("PM")
            || detail["my_rsvp"]["offer_expires"]
                .as_str()
                .unwrap()
                .contains("AM")
    );
    // Bo confirms.
    assert!(group.rsvp(&bo, event, "yes", 0).await.1.contains("going"));
    assert_eq!(
        group.seat(event, "bo@example.org").await.as_deref(),
        Some("going")
    );
    // Bo drops out; Cy is offered the seat, lets the offer run out, and it passes on
    // (to nobody: Ada said no), with Cy back to "no".
    group.rsvp(&bo, event, "no", 0).await;
    assert_eq!(
        group.seat(event, "cy@example.org").await.as_deref(),
        Some("offered")
    );
    sqlx::query(
        "UPDATE rsvps SET offer_expires_at = now() - interval '1 minute' WHERE seat = 'offered'",
    )
    .execute(&group.app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'settle_seats'")
        .execute(&group.app.pool)
        .await
        .unwrap();
    group.run_jobs(Services::default()).await;
    assert_eq!(
        group.seat(event, "cy@example.org").await.as_deref(),
        Some("no")
    );
    let kinds: Vec<String> = group
        .emails("cy@example.org")
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kinds, ["waitlisted", "offered"]);
}

#[tokio::test]
async fn rsvps_keep_the_events_rules() {
    let group = group().await;
    let ada = group.join("ada@example.org", "Ada").await;
    let outsider = group.app.member("out@example.org", "Out").await;
    let event = group
        .create(&[("capacity", "3"), ("max_guests", "1")])
        .await;
    let (status, body) = group.rsvp(&ada, event, "yes", 2).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("one guest at most"), "{body}");
    assert!(group.rsvp(&ada, event, "yes", 1).await.1.contains("going"));
    let (status, _) = group.rsvp(&outsider, event, "yes", 0).await;
    assert_eq!(status, 403, "only members RSVP");
    let (_, body) = group.rsvp(&ada, event, "perhaps", 0).await;
    assert!(body.contains("yes, maybe or no"), "{body}");

    let later = (Utc::now() + Duration::days(3))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let closed_event = group
        .create(&[("rsvp_opens", &later), ("title", "Not yet")])
        .await;
    let (_, body) = group.rsvp(&ada, closed_event, "yes", 0).await;
    assert!(body.contains("RSVPs open"), "{body}");

    // A cancelled meetup takes no answers and tells those who were coming.
    let response = group
        .app
        .call(
            &group.organizer,
            "cancel_event",
            &[
                ("event_id", &event.to_string()),
                ("reason", "Venue flooded"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let (_, body) = group.rsvp(&ada, event, "no", 0).await;
    assert!(body.contains("cancelled"), "{body}");
    group.run_jobs(Services::default()).await;
    let subjects = group.emails("ada@example.org").await;
    assert_eq!(subjects.last().unwrap().0, "cancelled");
    let text: String = sqlx::query_scalar("SELECT text_body FROM emails WHERE kind = 'cancelled'")
        .fetch_one(&group.app.pool)
        .await
        .unwrap();
    assert!(text.contains("Venue flooded"), "{text}");
}

#[tokio::test]
async fn the_event_form_reports_bad_input_and_stores_nothing() {
    let group = group().await;
    let (status, body) = group
        .save(&[
            ("title", ""),
            ("date", "someday"),
            ("capacity", "lots"),
            ("online_url", "zoom.example.org"),
            ("time_zone", "Mars/Base"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let errors: serde_json::Value = serde_json::from_str(&body).unwrap();
    let fields: Vec<&str> = errors["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[0].as_str().unwrap())
        .collect();
    for field in ["title", "date", "capacity", "online_url", "time_zone"] {
        assert!(fields.contains(&field), "{field} missing in {body}");
    }
    // 2:30 AM on the day clocks spring forward does not exist in Los Angeles.
    let (_, body) = group
        .save(&[
            ("date", "2027-03-14"),
            ("start_time", "02:30"),
            ("end_time", "04:00"),
        ])
        .await;
    assert!(body.contains("the clocks skip it"), "{body}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&group.app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_monthly_series_makes_last_tuesdays_and_occurrences_can_be_edited_alone() {
    let group = group().await;
    let first = chrono::NaiveDate::from_ymd_opt(2027, 1, 26).unwrap(); // a last Tuesday
    group
        .create(&[
            ("title", "QSNB Monthly Meetup"),
            ("date", &first.to_string()),
            ("repeat", "monthly_weekday"),
            ("repeat_last", "true"),
            ("exceptions", "2027-03-30"),
        ])
        .await;
    let rows: Vec<(i64, chrono::NaiveDate, chrono::DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, occurrence_date, starts_at FROM events WHERE series_id IS NOT NULL ORDER BY starts_at",
    )
    .fetch_all(&group.app.pool)
    .await
    .unwrap();
    let first_id = rows[0].0;
    let dates: Vec<String> = rows.iter().take(4).map(|r| r.1.to_string()).collect();
    assert_eq!(
        dates,
        ["2027-01-26", "2027-02-23", "2027-04-27", "2027-05-25"],
        "March is skipped"
    );
    assert!(rows.len() >= 11, "made ahead: {}", rows.len());
    // 6:30 PM local in winter and in summer (UTC moves with daylight saving).
    assert_eq!(
        rows[0].2,
        Utc.with_ymd_and_hms(2027, 1, 27, 2, 30, 0).unwrap()
    );
    assert_eq!(
        rows[3].2,
        Utc.with_ymd_and_hms(2027, 5, 26, 1, 30, 0).unwrap()
    );

    // Editing the second occurrence alone leaves the others as they were.
    let second = rows[1].0.to_string();
    group
        .create(&[
            ("event_id", &second),
            ("date", "2027-02-23"),
            ("venue", "Cafe"),
            ("scope", "this"),
        ])
        .await;
    let venues: Vec<(String, bool)> = sqlx::query_as(
        "SELECT venue, detached FROM events WHERE series_id IS NOT NULL ORDER BY starts_at LIMIT 3",
    )
    .fetch_all(&group.app.pool)
    .await
    .unwrap();
    assert_eq!(
        venues,
        [
            ("Library".into(), false),
            ("Cafe".into(), true),
            ("Library".into(), false)
        ]
    );
    // "This and later": from the first on, except the one edited on its own.
    group
        .create(&[
            ("event_id", &first_id.to_string()),
            ("date", &first.to_string()),
            ("start_time", "19:00"),
            ("end_time", "21:00"),
            ("venue", "Hall"),
            ("scope", "series"),
        ])
        .await;
    let after: Vec<(String, chrono::DateTime<Utc>)> =
        sqlx::query_as("SELECT venue, starts_at FROM events WHERE series_id IS NOT NULL ORDER BY starts_at LIMIT 3")
            .fetch_all(&group.app.pool)
            .await
            .unwrap();
    assert_eq!(after[0].0, "Hall");
    assert_eq!(after[1].0, "Cafe");
    assert_eq!(after[2].0, "Hall");
    assert_eq!(
        after[2].1,
        Utc.with_ymd_and_hms(2027, 4, 28, 2, 0, 0).unwrap(),
        "7 PM PDT"
    );
}

#[tokio::test]
async fn calendars_and_feeds_parse_with_standard_parsers() {
    let group = group().await;
    let event = group.create(&[("title", "Sleep, HRV; and you")]).await;
    let fetch = |path: String| {
        let app = &group.app;
        async move {
            let response = app.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            (kind, response.text().await.unwrap())
        }
    };
    let parse = |text: &str| {
        let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
        parser
            .next()
            .expect("a calendar")
            .expect("a valid calendar")
    };
    let prop = |event: &ical::parser::ical::component::IcalEvent, name: &str| {
        event
            .properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_default()
    };
    let (kind, ics) = fetch(format!("/events/{event}/event.ics")).await;
    assert!(kind.starts_with("text/calendar"));
    let calendar = parse(&ics);
    let vevent = &calendar.events[0];
    let uid = prop(vevent, "UID");
    assert!(!uid.is_empty());
    assert_eq!(prop(vevent, "SEQUENCE"), "0");
    assert_eq!(prop(vevent, "SUMMARY"), "Sleep\\, HRV\\; and you");
    let dtstart = vevent
        .properties
        .iter()
        .find(|p| p.name == "DTSTART")
        .unwrap();
    assert!(format!("{:?}", dtstart.params).contains("America/Los_Angeles"));
    assert!(dtstart.value.as_deref().unwrap().ends_with("T183000"));
    assert!(
        !calendar.timezones.is_empty(),
        "a VTIMEZONE for the event's zone"
    );

    // An edit raises SEQUENCE and keeps the UID; cancelling says so.
    group
        .create(&[
            ("event_id", &event.to_string()),
            ("title", "Sleep and you"),
            ("start_time", "19:00"),
        ])
        .await;
    let calendar = parse(&fetch(format!("/events/{event}/event.ics")).await.1);
    assert_eq!(prop(&calendar.events[0], "UID"), uid);
    assert_eq!(prop(&calendar.events[0], "SEQUENCE"), "1");
    group
        .app
        .call(
            &group.organizer,
            "cancel_event",
            &[("event_id", &event.to_string()), ("reason", "")],
        )
        .await;
    let (_, feed) = fetch("/groups/qs-test/calendar.ics".into()).await;
    let calendar = parse(&feed);
    assert_eq!(calendar.events.len(), 1);
    assert_eq!(prop(&calendar.events[0], "STATUS"), "CANCELLED");
    assert_eq!(prop(&calendar.events[0], "SEQUENCE"), "2");
    assert_eq!(prop(&calendar.events[0], "UID"), uid);

    group.create(&[("title", "Glucose <night> & day")]).await;
    let (kind, atom) = fetch("/groups/qs-test/events.atom".into()).await;
    assert!(kind.starts_with("application/atom+xml"));
    let feed = feed_rs::parser::parse(atom.as_bytes()).expect("a valid Atom feed");
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.clone().unwrap().content)
        .collect();
    // Soonest first: 6:30 PM before the edited 7 PM.
    assert_eq!(
        titles,
        ["Glucose <night> & day", "Cancelled: Sleep and you"]
    );
    assert!(feed.entries[0].links[0].href.contains("/events/"));
    assert_eq!(
        group.app.get("/groups/nope/calendar.ics").await.status(),
        404
    );
    assert_eq!(
        group.app.get("/events/999999/event.ics").await.status(),
        404
    );
}

#[tokio::test]
async fn rsvp_e_mail_goes_through_a_real_smtp_server_with_the_calendar_file() {
    let smtp = SmtpServer::start();
    let group = group().await;
    let ada = group.join("ada@example.org", "Ada").await;
    let event = group.create(&[("title", "Async Night")]).await;
    group.rsvp(&ada, event, "yes", 0).await;
    let services = Services {
        mailer: Some(
            cohort::mail::SmtpMailer::new(
                &format!("smtp://127.0.0.1:{}", smtp.port),
                "Cohort <cohort@example.org>",
            )
            .unwrap(),
        ),
        public_url: "https://cohort.example.org".into(),
    };
    group.run_jobs(services).await;
    let status: String = sqlx::query_scalar("SELECT status::text FROM emails")
        .fetch_one(&group.app.pool)
        .await
        .unwrap();
    assert_eq!(status, "sent");
    let delivered = smtp.delivered();
    assert_eq!(delivered.len(), 1);
    let mail = &delivered[0];
    for expected in [
        "Subject: You're going: Async Night",
        "ada@example.org",
        "multipart/mixed",
        "text/calendar",
        "event.ics",
        "BEGIN:VCALENDAR",
    ] {
        assert!(mail.contains(expected), "{expected:?} missing in:\n{mail}");
    }
    assert!(
        mail.contains(&format!("https://cohort.example.org/events/{event}")),
        "{mail}"
    );
}

#[tokio::test]
async fn the_reminder_is_sent_once_however_many_workers_run() {
    let group = group().await;
    let mut members = Vec::new();
    for name in ["ada", "bo", "cy"] {
        members.push(group.join(&format!("{name}@example.org"), name).await);
    }
    // Starts in 20 hours: its reminder is due now.
    let starts = Utc::now() + Duration::hours(20);
    let tz: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
    let local = starts.with_timezone(&tz);
    let event = group
        .create(&[
            ("date", &local.date_naive().to_string()),
            ("start_time", &local.format("%H:%M").to_string()),
            (
                "end_time",
                &(local + Duration::hours(2)).format("%H:%M").to_string(),
            ),
        ])
        .await;
    for member in &members {
        group.rsvp(member, event, "yes", 0).await;
    }
    // The reminder job was scheduled at creation; make it due and run two runners at once,
    // as two processes would, plus a stray second reminder job.
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'remind'")
        .execute(&group.app.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO jobs (kind, queue, payload) VALUES ('remind', 'mail', $1)")
        .bind(serde_json::json!({ "event_id": event }))
        .execute(&group.app.pool)
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        group.run_jobs(Services::default()),
        group.run_jobs(Services::default())
    );
    assert!(a + b >= 2);
    group.run_jobs(Services::default()).await;
    let reminders: i64 = sqlx::query_scalar("SELECT count(*) FROM emails WHERE kind = 'reminder'")
        .fetch_one(&group.app.pool)
        .await
        .unwrap();
    assert_eq!(reminders, 3, "one each");
    let subject: String =
        sqlx::query_scalar("SELECT subject FROM emails WHERE kind = 'reminder' LIMIT 1")
            .fetch_one(&group.app.pool)
            .await
            .unwrap();
    assert!(subject.starts_with("Tomorrow"), "{subject}");
}

#[tokio::test]
async fn comments_talks_check_in_and_the_csv_export() {
    let group = group().await;
    let ada = group.join("ada@example.org", "Ada, the First").await;
    let bo = group.join("bo@example.org", "Bo").await;
    let event = group.create(&[]).await;
    let id = event.to_string();
    group.rsvp(&ada, event, "yes", 0).await;

    // Comments: posted by members, hidden by organizers, deleted by their authors.
    assert_eq!(
        group
            .app
            .call(
                &ada,
                "post_comment",
                &[("event_id", &id), ("body", "Bringing my Oura data")]
            )
            .await
            .status(),
        200
    );
    assert_eq!(
        group
            .app
            .call(
                &bo,
                "post_comment",
                &[("event_id", &id), ("body", "spam spam")]
            )
            .await
            .status(),
        200
    );
    let comment: i64 = sqlx::query_scalar("SELECT id FROM event_comments WHERE body = 'spam spam'")
        .fetch_one(&group.app.pool)
        .await
        .unwrap();
    let comment = comment.to_string();
    assert_eq!(
        group
            .app
            .call(
                &ada,
                "moderate_comment",
                &[("comment_id", &comment), ("action", "hide")]
            )
            .await
            .status(),
        403
    );
    assert_eq!(
        group
            .app
            .call(
                &group.organizer,
                "moderate_comment",
                &[("comment_id", &comment), ("action", "hide")]
            )
            .await
            .status(),
        200
    );
    let seen: serde_json::Value = group
        .app
        .call(&ada, "get_event", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    let comments = seen["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1]["hidden"], true);
    assert_eq!(
        comments[1]["body"], "",
        "members do not see a hidden comment's text"
    );

    // Talks: proposed by a member, accepted by an organizer, on the agenda for everyone.
    let response = group
        .app
        .call(
            &ada,
            "propose_talk",
            &[
                ("event_id", &id),
                ("title", "A year of CGM"),
                ("abstract_text", "Graphs."),
                ("minutes", "10"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let (_, body) = (
        0,
        group
            .app
            .call(
                &ada,
                "propose_talk",
                &[
                    ("event_id", &id),
                    ("title", "x"),
                    ("abstract_text", ""),
                    ("minutes", "500"),
                ],
            )
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(body.contains("1 to 120 minutes"), "{body}");
    let talk: i64 = sqlx::query_scalar("SELECT id FROM talks")
        .fetch_one(&group.app.pool)
        .await
        .unwrap();
    let anonymous = TestApp::new_client();
    let before: serde_json::Value = group
        .app
        .call(&anonymous, "get_event", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        before["talks"],
        serde_json::json!([]),
        "proposals are not public"
    );
    assert_eq!(
        group
            .app
            .call(
                &group.organizer,
                "decide_talk",
                &[("talk_id", &talk.to_string()), ("decision", "accept")]
            )
            .await
            .status(),
        200
    );
    let after: serde_json::Value = group
        .app
        .call(&anonymous, "get_event", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["talks"][0]["title"], "A year of CGM");
    assert!(
        after["attendees"].is_null() && after["comments"].is_null(),
        "members only"
    );

    // Check-in: Ada (RSVP'd) and Bo (a walk-in).
    let user = |email: &'static str| {
        let pool = group.app.pool.clone();
        async move {
            let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap();
            id.to_string()
        }
    };
    for email in ["ada@example.org", "bo@example.org"] {
        let response = group
            .app
            .call(
                &group.organizer,
                "check_in",
                &[
                    ("event_id", &id),
                    ("user_id", &user(email).await),
                    ("present", "true"),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    let manage: serde_json::Value = group
        .app
        .call(&group.organizer, "get_manage", &[("event_id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(manage["checked_in"], 2);
    let csv = group
        .organizer
        .get(format!("{}/events/{id}/attendees.csv", group.app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("name,status,guests,waitlist_position,checked_in\r\n"),
        "{csv}"
    );
    assert!(csv.contains("\"Ada, the First\",going,0,,yes\r\n"), "{csv}");
    assert!(csv.contains("Bo,going,0,,yes\r\n"), "{csv}");
    let refused = ada
        .get(format!("{}/events/{id}/attendees.csv", group.app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn a_deleted_account_gives_its_seat_to_the_waitlist() {
    let group = group().await;
    let ada = group.join("ada@example.org", "Ada").await;
    let bo = group.join("bo@example.org", "Bo").await;
    let event = group.create(&[("capacity", "1")]).await;
    group.rsvp(&ada, event, "yes", 0).await;
    group.rsvp(&bo, event, "yes", 0).await;
    group
        .app
        .call(
            &ada,
            "post_comment",
            &[("event_id", &event.to_string()), ("body", "hi")],
        )
        .await;
    let response = group
        .app
        .call(
            &ada,
            "delete_account",
            &[("password", crate::helpers::PASSWORD)],
        )
        .await;
    assert!(response.status().is_success() || response.status().is_redirection());
    assert_eq!(
        group.seat(event, "bo@example.org").await.as_deref(),
        Some("going")
    );
    let comments: i64 = sqlx::query_scalar("SELECT count(*) FROM event_comments")
        .fetch_one(&group.app.pool)
        .await
        .unwrap();
    assert_eq!(comments, 0, "a deleted member's comments go with them");
}

#[tokio::test]
async fn event_pages_render_on_the_server_with_link_previews() {
    let group = group().await;
    let event = group
        .create(&[
            ("title", "Glucose night"),
            ("body_md", "Bring your *CGM* <script>x()</script>"),
            ("online_url", "https://meet.example.org/qs"),
        ])
        .await;
    let html = without_markers(
        &group
            .app
            .get(&format!("/events/{event}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(html.contains("<h1>Glucose night</h1>"), "{html}");
    assert!(
        html.contains(r#"property="og:title" content="Glucose night""#),
        "{html}"
    );
    assert!(html.contains("<em>CGM</em>"));
    assert!(!html.contains("<script>x()"));
    assert!(html.contains("openstreetmap.org/search?query=100%20Fairgrounds"));
    assert!(
        !html.contains("meet.example.org"),
        "the online link is for members with a seat"
    );
    assert!(html.contains("6:30 PM – 8:30 PM P"), "{html}");
    let ada = group.join("ada@example.org", "Ada").await;
    group.rsvp(&ada, event, "yes", 0).await;
    let mine = ada
        .get(format!("{}/events/{event}", group.app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mine.contains("https://meet.example.org/qs"));
    // A viewer in another zone sees the time in their own zone too.
    group
        .app
        .call(
            &ada,
            "update_profile",
            &[("display_name", "Ada"), ("time_zone", "Europe/Berlin")],
        )
        .await;
    let berlin = ada
        .get(format!("{}/events/{event}", group.app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(berlin.contains("in your zone (Europe/Berlin)"), "{berlin}");
}

#[tokio::test]
async fn demo_members_get_no_e_mail_and_seeded_meetups_still_remind() {
    let group = group().await;
    cohort::seed::seed_demo(&group.app.pool, Utc::now())
        .await
        .unwrap();
    let ada = group.app.member("ada@example.org", "Ada").await;
    group
        .app
        .call(&ada, "join_group", &[("slug", "qs-north-bay")])
        .await;
    let next: i64 = sqlx::query_scalar(
        "SELECT id FROM events WHERE source_key LIKE 'demo-monthly-%' ORDER BY starts_at LIMIT 1",
    )
    .fetch_one(&group.app.pool)
    .await
    .unwrap();
    assert!(group.rsvp(&ada, next, "yes", 0).await.1.contains("going"));
    // The seeded meetup had no reminder; Ada's seat scheduled one. Make it due.
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'remind'")
        .execute(&group.app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET starts_at = now() + interval '20 hours', ends_at = now() + interval '22 hours' WHERE id = $1")
        .bind(next)
        .execute(&group.app.pool)
        .await
        .unwrap();
    group.run_jobs(Services::default()).await;
    let to: Vec<(String, String)> =
        sqlx::query_as("SELECT to_address, kind FROM emails ORDER BY id")
            .fetch_all(&group.app.pool)
            .await
            .unwrap();
    assert_eq!(
        to,
        [
            ("ada@example.org".to_string(), "rsvp_confirmed".to_string()),
            ("ada@example.org".to_string(), "reminder".to_string())
        ],
        "the demo members going get nothing"
    );
}
