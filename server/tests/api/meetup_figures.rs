//! Insights at the meetups: "Since the last meetup" on an event page shows the group's
//! published figures to its members only, withholds what fewer than k share, and from
//! the meetup's start keeps the figures frozen for it, whatever the data does later.

use crate::helpers::TestApp;
use serde_json::Value;

async fn event(app: &TestApp, client: &reqwest::Client, id: i64) -> Value {
    let response = app
        .call(client, "get_event", &[("id", &id.to_string())])
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The section's figures as `member` would get them, before they are drawn (the event
/// page gets them drawn on the server, as HTML).
async fn figures_for(app: &TestApp, event_id: i64, group_id: i64, member: i64) -> Value {
    let starts_at: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT starts_at FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let figures = app::insights::meetup::ssr::figures(
        &mut app.pool.acquire().await.unwrap(),
        event_id,
        group_id,
        member,
        "UTC",
        starts_at,
    )
    .await
    .unwrap();
    serde_json::to_value(figures).unwrap()
}

/// The drawn section of the event page as `client` sees it, or "" without one.
async fn drawn(app: &TestApp, client: &reqwest::Client, event_id: i64) -> String {
    event(app, client, event_id).await["figures"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn publish(app: &TestApp, group_id: i64) {
    app::pipeline::compute::group::GroupFigures { group_id }
        .run(&app.pool)
        .await
        .unwrap();
}

async fn add_event(app: &TestApp, group_id: i64, title: &str, days_from_now: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (group_id, title, body_md, starts_at, ends_at, time_zone, venue, address)
         VALUES ($1, $2, '', now() + make_interval(days => $3::int),
                 now() + make_interval(days => $3::int, hours => 2), 'UTC', 'Library', '')
         RETURNING id",
    )
    .bind(group_id)
    .bind(title)
    .bind(days_from_now as i32)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_event_page_shows_members_the_published_figures_then_keeps_them_frozen() {
    let app = TestApp::spawn().await;
    let group_id: i64 = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, time_zone) VALUES ('sleepers', 'Sleepers', 'UTC') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let before_last = add_event(&app, group_id, "Meetup 1", -40).await;
    let last = add_event(&app, group_id, "Meetup 2", -12).await;
    let next = add_event(&app, group_id, "Meetup 3", 5).await;
    // Seven members; member i sleeps 400 + 10 i minutes a night over the last 50 days
    // (20 more after the last meetup); five share sleep, three share steps.
    let mut members = Vec::new();
    let mut ids = Vec::new();
    for i in 1..=7i64 {
        let (client, id) = app
            .member_in_zone(&format!("m{i}@example.org"), &format!("M{i}"), "UTC")
            .await;
        ids.push(id);
        sqlx::query("INSERT INTO memberships (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO daily_values (user_id, metric_id, day, value, count)
             SELECT $1, m.id, current_date - g,
                    CASE m.key WHEN 'sleep' THEN 400 + 10 * $2 + CASE WHEN g < 12 THEN 20 ELSE 0 END
                               ELSE 5000 + 100 * $2 END, 1
               FROM metrics m, generate_series(0, 49) g
              WHERE m.owner_id IS NULL AND m.key IN ('sleep', 'steps')",
        )
        .bind(id)
        .bind(i as f64)
        .execute(&app.pool)
        .await
        .unwrap();
        let shares: &[&str] = match i {
            1..=3 => &["sleep", "steps"],
            4..=5 => &["sleep"],
            _ => &[],
        };
        for key in shares {
            sqlx::query(
                "INSERT INTO metric_shares (user_id, metric_id, group_id, level)
                 SELECT $1, id, $2, 'aggregate' FROM metrics WHERE key = $3 AND owner_id IS NULL",
            )
            .bind(id)
            .bind(group_id)
            .bind(key)
            .execute(&app.pool)
            .await
            .unwrap();
        }
        members.push(client);
    }
    publish(&app, group_id).await;
    // Publishing schedules the freezing of the next meetup at its start.
    let due: bool = sqlx::query_scalar(
        "SELECT j.run_at = e.starts_at FROM jobs j, events e
          WHERE j.kind = 'freeze_meetup_figures' AND j.state = 'pending'
            AND j.dedupe_key = e.id::text AND e.id = $1",
    )
    .bind(next)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(due);

    // A sharing member: sleep since the last meetup beside the window before it, the
    // change, their standing and a chart; steps withheld with the reason.
    let figures = &figures_for(&app, next, group_id, ids[0]).await;
    assert!(
        figures["about"]
            .as_str()
            .unwrap()
            .contains("frozen for this meetup when it starts"),
        "{figures}"
    );
    let rows = figures["rows"].as_array().unwrap();
    let sleep = rows.iter().find(|r| r["metric"] == "Sleep").unwrap();
    // The members' means since the last meetup: 428 to 468 minutes (the first day after it
    // has no extra 20).
    assert_eq!(
        sleep["since"].as_str().unwrap().split(": ").nth(1).unwrap(),
        "median 7.5 h (middle half 7.3 h to 7.6 h), 5 members.",
        "{sleep}"
    );
    assert!(
        sleep["before"].as_str().unwrap().contains("median 7.2 h"),
        "{sleep}"
    );
    assert_eq!(sleep["change"], "Median +0.3 h against the window before.");
    assert_eq!(
        sleep["standing"]
            .as_str()
            .unwrap()
            .split(" since")
            .next()
            .unwrap(),
        "You: at the 20th percentile of the 5 members counted"
    );
    let chart = &sleep["chart"];
    assert_eq!(chart["rows"].as_array().unwrap().len(), 2);
    assert!(chart["paths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["class"] == "spread-box"));
    let steps = rows.iter().find(|r| r["metric"] == "Steps").unwrap();
    assert_eq!(steps["withheld"], "shared by 3 members; shown from 5");
    assert_eq!(steps["since"], Value::Null);
    assert_eq!(steps["chart"], Value::Null);
    // A member who shares nothing sees the figures, without a standing.
    let theirs = figures_for(&app, next, group_id, ids[6]).await;
    let sleep_6 = theirs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "Sleep")
        .unwrap()
        .clone();
    assert_eq!(sleep_6["standing"], Value::Null);
    assert_eq!(sleep_6["since"], sleep["since"]);
    // The page's members get the section drawn (and escaped) on the server; outsiders and
    // the anonymous get no figures at all.
    let drawn_live = drawn(&app, &members[0], next).await;
    for text in [
        "median 7.5 h (middle half 7.3 h to 7.6 h), 5 members.",
        "Median +0.3 h against the window before.",
        "You: at the 20th percentile of the 5 members counted",
        "Withheld: shared by 3 members; shown from 5.",
        "class=\"spread-box\"",
    ] {
        assert!(drawn_live.contains(text), "{text} in {drawn_live}");
    }
    assert!(!drawn(&app, &members[6], next).await.contains("You: at the"));
    let outsider = app.member("out@example.org", "Out").await;
    assert_eq!(event(&app, &outsider, next).await["figures"], Value::Null);
    assert_eq!(
        event(&app, &TestApp::new_client(), next).await["figures"],
        Value::Null
    );
    let html = app.html(&members[0], &format!("/events/{next}")).await;
    assert!(
        html.contains("Since the last meetup")
            && html.contains("shared by 3 members; shown from 5")
    );
    let html = app.html(&outsider, &format!("/events/{next}")).await;
    assert!(!html.contains("Since the last meetup"));
    // A meetup before the feature froze anything: nothing published for it.
    let old = figures_for(&app, before_last, group_id, ids[0]).await;
    assert_eq!(
        old["about"],
        "No group figures were published before this meetup."
    );

    // The meetup starts (the figures above were published at the top of the hour
    // before): its figures are frozen by the job at its start, and stay what they were
    // when the data and the group's figures change afterwards.
    sqlx::query("UPDATE group_figures SET computed_at = now() - interval '30 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET starts_at = now() - interval '1 minute', ends_at = now() + interval '2 hours' WHERE id = $1")
        .bind(next)
        .execute(&app.pool)
        .await
        .unwrap();
    app::pipeline::compute::meetup::FreezeMeetup { event_id: next }
        .run(&app.pool)
        .await
        .unwrap();
    let frozen = figures_for(&app, next, group_id, ids[0]).await;
    assert!(
        frozen["about"]
            .as_str()
            .unwrap()
            .contains("never recomputed"),
        "{frozen}"
    );
    assert_eq!(frozen["rows"], figures["rows"]);
    let drawn_frozen = drawn(&app, &members[0], next).await;
    let rows_of = |html: &str| html[html.find("class=\"meetup-figure\"").unwrap()..].to_string();
    assert_eq!(rows_of(&drawn_frozen), rows_of(&drawn_live));
    sqlx::query("UPDATE daily_values SET value = value + 60 WHERE metric_id = (SELECT id FROM metrics WHERE key = 'sleep' AND owner_id IS NULL)")
        .execute(&app.pool)
        .await
        .unwrap();
    publish(&app, group_id).await;
    let live: Value = sqlx::query_scalar(
        "SELECT figures FROM group_figures f JOIN metrics m ON m.id = f.metric_id
          WHERE f.group_id = $1 AND m.key = 'sleep' AND f.window_key = 'before_meetup'",
    )
    .bind(group_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        live["percentiles"][2].as_f64().unwrap() > 480.0,
        "the group's figures moved: {live}"
    );
    let later = figures_for(&app, next, group_id, ids[0]).await;
    assert_eq!(later["rows"], figures["rows"], "frozen, never recomputed");
    assert_eq!(drawn(&app, &members[0], next).await, drawn_frozen);
    // Freezing twice changes nothing.
    app::pipeline::compute::meetup::FreezeMeetup { event_id: next }
        .run(&app.pool)
        .await
        .unwrap();
    assert_eq!(drawn(&app, &members[0], next).await, drawn_frozen);
    let _ = last;

    // A member who leaves the group sees no figures of it any more.
    sqlx::query("DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = 'm1@example.org')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(event(&app, &members[0], next).await["figures"], Value::Null);
}

/// Show & tell: a speaker attaches one of their insights to their talk as a frozen copy;
/// the group's members see it as it was, whatever the speaker's data does later; nobody
/// else attaches to or withdraws from the talk; withdrawing deletes the copy.
#[tokio::test]
async fn a_talk_shows_its_frozen_insight_until_its_speaker_withdraws_it() {
    let app = TestApp::spawn().await;
    let group_id: i64 = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, time_zone) VALUES ('talkers', 'Talkers', 'UTC') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let next = add_event(&app, group_id, "Show and tell", 5).await;
    let (bea, bea_id) = app.member_in_zone("bea@example.org", "Bea", "UTC").await;
    let (cal, cal_id) = app.member_in_zone("cal@example.org", "Cal", "UTC").await;
    for id in [bea_id, cal_id] {
        sqlx::query("INSERT INTO memberships (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    let outsider = app.member("out@example.org", "Out").await;
    let (_, write) = crate::rest::token(&app, &bea, "write").await;
    crate::pipeline::sixty_days(&app, &write, 7).await;
    app.run_jobs().await;
    let response = app
        .call(
            &bea,
            "propose_talk",
            &[
                ("event_id", &next.to_string()),
                ("title", "What my steps do to my energy"),
                ("abstract_text", ""),
                ("minutes", "10"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let talk: i64 = sqlx::query_scalar("SELECT id FROM talks WHERE user_id = $1")
        .bind(bea_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let subject = "correlation:steps:energy:1";
    let page = event(&app, &bea, next).await;
    let choices = page["my_insights"].as_array().unwrap();
    assert!(choices.iter().any(|c| c[0] == subject), "{choices:?}");
    let call =
        |who: &reqwest::Client, function: &'static str, form: Vec<(&'static str, String)>| {
            let (app, who) = (&app, who.clone());
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call(&who, function, &form).await.status().as_u16()
            }
        };
    let attach = |subject: &str| {
        vec![
            ("talk_id", talk.to_string()),
            ("subject", subject.to_string()),
        ]
    };

    // Nobody else attaches to the talk; only the speaker's own insights can be attached.
    assert_eq!(call(&cal, "attach_insight", attach(subject)).await, 404);
    assert_eq!(
        call(&outsider, "attach_insight", attach(subject)).await,
        404
    );
    assert_eq!(
        call(&bea, "attach_insight", attach("correlation:sleep:mood:0")).await,
        400
    );
    assert_eq!(call(&bea, "attach_insight", attach("<script>")).await, 400);
    assert_eq!(call(&bea, "attach_insight", attach(subject)).await, 200);
    sqlx::query("UPDATE talks SET status = 'accepted', decided_at = now() WHERE id = $1")
        .bind(talk)
        .execute(&app.pool)
        .await
        .unwrap();

    // The group's members see the copy: the sentence, the numbers, the chart and where
    // it comes from; others see the talk without it.
    let seen = event(&app, &cal, next).await;
    let frozen = seen["talks"][0]["insight"].as_str().unwrap().to_string();
    for text in [
        "Steps → energy, 1 day later",
        "On days after more steps, your energy is higher",
        "Pearson r",
        "class=\"scatter-chart\"",
        "days tested",
        "A frozen copy: computed",
        "from inputs",
    ] {
        assert!(frozen.contains(text), "{text} in {frozen}");
    }
    assert_eq!(
        seen["my_insights"],
        serde_json::json!([]),
        "Cal has no talk here"
    );
    for stranger in [&outsider, &TestApp::new_client()] {
        let theirs = event(&app, stranger, next).await;
        assert_eq!(theirs["talks"][0]["title"], "What my steps do to my energy");
        assert_eq!(theirs["talks"][0]["insight"], Value::Null);
    }
    let html = app.html(&cal, &format!("/events/{next}")).await;
    assert!(html.contains("A frozen copy: computed"));

    // Bea's data changes (her steps are gone, the relation with them): the copy does not.
    sqlx::query("DELETE FROM observations WHERE user_id = $1 AND metric_id = (SELECT id FROM metrics WHERE key = 'steps' AND owner_id IS NULL)")
        .bind(bea_id)
        .execute(&app.pool)
        .await
        .unwrap();
    app::pipeline::recompute(&app.pool, bea_id).await.unwrap();
    let gone: bool = sqlx::query_scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM insights WHERE user_id = $1 AND subject = $2)",
    )
    .bind(bea_id)
    .bind(subject)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(gone, "the live insight went with the data");
    let later = event(&app, &cal, next).await["talks"][0]["insight"].clone();
    assert_eq!(later.as_str(), Some(frozen.as_str()));

    // Only the speaker withdraws it, and the copy is deleted.
    assert_eq!(
        call(
            &cal,
            "withdraw_insight",
            vec![("talk_id", talk.to_string())]
        )
        .await,
        404
    );
    assert_eq!(
        call(
            &bea,
            "withdraw_insight",
            vec![("talk_id", talk.to_string())]
        )
        .await,
        200
    );
    assert_eq!(
        event(&app, &cal, next).await["talks"][0]["insight"],
        Value::Null
    );
    let copies: i64 = sqlx::query_scalar("SELECT count(*) FROM talk_insights")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(copies, 0);
}

/// `/groups/{slug}/insights`: relations that hold across the group, published over at
/// least k members who share both metrics and moving only by k; each meetup's attendance;
/// for the group's members only.
#[tokio::test]
async fn the_group_insights_page_shows_relations_over_k_members_and_attendance() {
    let app = TestApp::spawn().await;
    let group_id: i64 = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, time_zone) VALUES ('walkers', 'Walkers', 'UTC') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let past = add_event(&app, group_id, "Walk and talk", -3).await;
    let mut members = Vec::new();
    for i in 1..=7i64 {
        let (client, id) = app
            .member_in_zone(&format!("w{i}@example.org"), &format!("W{i}"), "UTC")
            .await;
        sqlx::query("INSERT INTO memberships (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap();
        // Each has steps and mood tested on their own data: r = 0.1 i, shown from 0.3.
        sqlx::query(
            "INSERT INTO pair_tests (user_id, a, b, lag_days, n, pearson_r, pearson_p, spearman_r,
                                     spearman_p, n_eff, p_adj, q, shown)
             VALUES ($1, 'steps', 'mood', 0, 30, $2, 0.01, $2, 0.01, 28, 0.01, 0.02, $2 >= 0.3)",
        )
        .bind(id)
        .bind(0.1 * i as f64)
        .execute(&app.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO rsvps (event_id, user_id, answer, seat, arrival, checked_in_at)
             VALUES ($1, $2, 'yes', 'going', nextval('rsvp_arrival'), CASE WHEN $3 THEN now() END)",
        )
        .bind(past)
        .bind(id)
        .bind(i <= 4)
        .execute(&app.pool)
        .await
        .unwrap();
        members.push((client, id));
    }
    let share = |id: i64, key: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(
                "INSERT INTO metric_shares (user_id, metric_id, group_id, level)
                 SELECT $1, id, $2, 'aggregate' FROM metrics WHERE key = $3 AND owner_id IS NULL",
            )
            .bind(id)
            .bind(group_id)
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    let insights = |client: &reqwest::Client| {
        let (app, client) = (&app, client.clone());
        async move {
            let response = app
                .call(&client, "get_group_insights", &[("slug", "walkers")])
                .await;
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    // The page comes drawn on the server: what it says, as HTML.
    let html_of = |page: &Value| page["html"].as_str().unwrap_or_default().to_string();
    let shown = "holds for 3 of the 5 members tested; median r = 0.30.";
    // Four share both metrics (a fifth only steps): not shown, with the reason.
    for (_, id) in &members[..4] {
        share(*id, "steps").await;
        share(*id, "mood").await;
    }
    share(members[4].1, "steps").await;
    publish(&app, group_id).await;
    let (status, page) = insights(&members[0].0).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["title"], "Walkers: insights");
    let html = html_of(&page);
    assert!(!html.contains("holds for"), "{html}");
    assert!(
        html.contains("None yet: a pair is shown once at least 5 members"),
        "{html}"
    );

    // A fifth shares both: r of 0.1..0.5, shown for three of them.
    share(members[4].1, "mood").await;
    publish(&app, group_id).await;
    let html = html_of(&insights(&members[0].0).await.1);
    assert!(
        html.contains(&format!(
            "<strong>Steps and mood, the same day</strong>: {shown}"
        )),
        "{html}"
    );
    // A sixth joins them: counted only once k can join at once (the figure stays).
    share(members[5].1, "steps").await;
    share(members[5].1, "mood").await;
    publish(&app, group_id).await;
    assert!(html_of(&insights(&members[0].0).await.1).contains(shown));
    // One of the five stops sharing mood: withheld, the old figure not shown either.
    sqlx::query("DELETE FROM metric_shares WHERE user_id = $1")
        .bind(members[0].1)
        .execute(&app.pool)
        .await
        .unwrap();
    publish(&app, group_id).await;
    let html = html_of(&insights(&members[1].0).await.1);
    assert!(!html.contains("holds for"), "{html}");
    assert!(html.contains("1 more are not shown"), "{html}");

    // Attendance: seven going, four checked in.
    assert!(
        html.contains(&format!(
            "<a href=\"/events/{past}\">Walk and talk</a></th><td>"
        )),
        "{html}"
    );
    let row = &html[html.find("Walk and talk").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.ends_with("<td>7</td><td>no limit</td><td>4</td>"),
        "{row}"
    );

    // Members only: an outsider is told it is not found, the anonymous to log in.
    let outsider = app.member("out@example.org", "Out").await;
    assert_eq!(insights(&outsider).await.0, 404);
    assert_eq!(insights(&TestApp::new_client()).await.0, 401);
    let html = app.html(&members[1].0, "/groups/walkers/insights").await;
    assert!(html.contains("Relations across the group") && html.contains("Walk and talk"));
}

/// The meetup report: for the group's members once the meetup has started, one
/// self-contained HTML document (no script, its stylesheet inside and allowed by hash),
/// with the attendance, the talks and their frozen insights, and the figures as frozen;
/// nobody's standing in it.
#[tokio::test]
async fn the_meetup_report_is_one_self_contained_page_for_the_group() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let v13: i64 =
        sqlx::query_scalar("SELECT id FROM events WHERE source_key = 'qsnb-meetup-v1.3'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let next: i64 = sqlx::query_scalar(
        "SELECT id FROM events WHERE starts_at > now() ORDER BY starts_at LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (member, member_id) = app.member_in_zone("mo@example.org", "Mo", "UTC").await;
    sqlx::query(
        "INSERT INTO memberships (group_id, user_id) SELECT group_id, $1 FROM events WHERE id = $2",
    )
    .bind(member_id)
    .bind(v13)
    .execute(&app.pool)
    .await
    .unwrap();
    let get = |client: &reqwest::Client, path: String| {
        let (app, client) = (&app, client.clone());
        async move {
            client
                .get(format!("{}{path}", app.address))
                .send()
                .await
                .unwrap()
        }
    };
    let response = get(&member, format!("/events/{v13}/report")).await;
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(response.headers().get("content-disposition").is_none());
    let html = response.text().await.unwrap();
    for text in [
        "<!DOCTYPE html>",
        "QSNB Meetup v1.3: meetup report",
        "Checked in",
        "Sleep with a Zeo headband",
        "A frozen copy: computed",
        "Since the last meetup",
        "Withheld: shared by 3 members; shown from 5.",
        "<style>",
    ] {
        assert!(html.contains(text), "{text}");
    }
    // Self-contained: nothing to run or fetch; nobody's standing.
    for absent in ["<script", "src=", "<link", "You: at the"] {
        assert!(!html.contains(absent), "{absent}");
    }
    // The style's hash is the one the policy allows.
    let style = &html[html.find("<style>").unwrap() + 7..html.find("</style>").unwrap()];
    assert_eq!(style, app::events::report::STYLE);
    // The download is the same document, as a file.
    let download = get(&member, format!("/events/{v13}/report.html")).await;
    assert_eq!(
        download.headers()["content-disposition"],
        format!("attachment; filename=\"meetup-report-{v13}.html\"").as_str()
    );
    // Not before the meetup; not for outsiders; the anonymous log in first.
    assert_eq!(
        get(&member, format!("/events/{next}/report"))
            .await
            .status(),
        404
    );
    let outsider = app.member("out@example.org", "Out").await;
    assert_eq!(
        get(&outsider, format!("/events/{v13}/report"))
            .await
            .status(),
        403
    );
    let anonymous = get(&TestApp::new_client(), format!("/events/{v13}/report")).await;
    assert_eq!(anonymous.status(), 303);
}

#[tokio::test]
async fn meetup_days_get_their_sentence_with_the_amount() {
    let app = TestApp::spawn().await;
    let group_id: i64 = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, time_zone) VALUES ('sleepers', 'Sleepers', 'UTC') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_client, bea) = app.member_in_zone("bea@example.org", "Bea", "UTC").await;
    sqlx::query(
        "INSERT INTO memberships (group_id, user_id, joined_at) VALUES ($1, $2, now() - interval '100 days')",
    )
    .bind(group_id)
    .bind(bea)
    .execute(&app.pool)
    .await
    .unwrap();
    // Twelve weekly meetups, Bea checked in at each.
    for week in 1..=12 {
        let event = add_event(&app, group_id, &format!("Meetup {week}"), -7 * week).await;
        sqlx::query(
            "INSERT INTO rsvps (event_id, user_id, answer, seat, arrival, checked_in_at)
             VALUES ($1, $2, 'yes', 'going', 1, now())",
        )
        .bind(event)
        .bind(bea)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    // She sleeps 400 min on meetup days and 435 to 445 on the others (90 days).
    sqlx::query(
        "INSERT INTO daily_values (user_id, metric_id, day, value, count)
         SELECT $1, m.id, (now() AT TIME ZONE 'UTC')::date - g,
                CASE WHEN g % 7 = 0 AND g BETWEEN 7 AND 84 THEN 400 ELSE 435 + 5 * (g % 3) END, 1
           FROM metrics m, generate_series(0, 89) g
          WHERE m.owner_id IS NULL AND m.key = 'sleep'",
    )
    .bind(bea)
    .execute(&app.pool)
    .await
    .unwrap();
    app::pipeline::compute::Compute { user_id: bea }
        .run(&app.pool)
        .await
        .unwrap();
    let (sentence, difference): (String, f64) = sqlx::query_as(
        "SELECT sentence, (numbers->>'difference')::float8 FROM insights
          WHERE user_id = $1 AND subject = 'correlation:meetups:sleep:0'",
    )
    .bind(bea)
    .fetch_one(&app.pool)
    .await
    .expect("meetup days against sleep is an insight");
    // Other days: 435, 440, 445 in turn; over the window's 78 non-meetup days the mean
    // is 440 to within a rounding: 40 min less.
    assert!((difference + 40.0).abs() < 0.5, "{difference}");
    assert!(
        sentence.starts_with("On meetup days, your sleep is 40 min less than on other days ("),
        "{sentence}"
    );
}
