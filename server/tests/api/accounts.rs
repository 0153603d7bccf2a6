//! Accounts and sessions, over HTTP as a browser would use them.

use crate::helpers::{TestApp, PASSWORD};
use serde_json::Value;
use std::time::{Duration, Instant};

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|cookie| cookie.starts_with("cohort_session="))
        .map(str::to_string)
}

/// Who a raw session cookie (`cohort_session=…`) stands for, asked without a cookie jar.
async fn current_user_for_cookie(address: &str, cookie: &str) -> Value {
    TestApp::new_client()
        .post(format!("{address}/api/get_current_user"))
        .header("Cookie", cookie)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn signing_up_logs_in_and_the_first_real_account_is_admin() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let first = app.member("First@Example.org", "First").await;
    let second = app.member("second@example.org", "Second").await;
    assert_eq!(
        app.whoami(&first).await.as_deref(),
        Some("first@example.org")
    );
    let admins: Vec<String> = sqlx::query_scalar("SELECT email FROM users WHERE is_admin")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        admins,
        ["first@example.org"],
        "demo accounts do not count as the first"
    );
    assert_eq!(
        app.whoami(&second).await.as_deref(),
        Some("second@example.org")
    );
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    let client = TestApp::new_client();
    let response = app
        .call(
            &client,
            "signup",
            &[
                ("email", "a@example.org"),
                ("display_name", "A"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let cookie = session_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "not Secure on plain http unless configured: {cookie}"
    );
}

#[tokio::test]
async fn a_bad_sign_up_form_says_what_is_wrong_with_each_field() {
    let app = TestApp::spawn().await;
    let client = TestApp::new_client();
    let body = json(
        app.call(
            &client,
            "signup",
            &[
                ("email", "nope"),
                ("display_name", " "),
                ("password", "short"),
            ],
        )
        .await,
    )
    .await;
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "display_name", "password"], "{body}");

    let body = json(
        app.call(
            &client,
            "signup",
            &[
                ("email", "c@example.org"),
                ("display_name", "C"),
                ("password", "qwertyuiop"),
            ],
        )
        .await,
    )
    .await;
    assert!(
        body["fields"][0][1]
            .as_str()
            .unwrap()
            .contains("most common"),
        "{body}"
    );
    assert_eq!(app.whoami(&client).await, None);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn an_email_is_one_account_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.member("case@example.org", "One").await;
    let client = TestApp::new_client();
    let body = json(
        app.call(
            &client,
            "signup",
            &[
                ("email", "CASE@example.ORG"),
                ("display_name", "Two"),
                ("password", PASSWORD),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["fields"][0][0], "email", "{body}");
    // And logging in works whatever the case typed.
    let body = json(
        app.call(
            &client,
            "login",
            &[("email", " Case@Example.org "), ("password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!(body["form"], Value::Null, "{body}");
    assert_eq!(
        app.whoami(&client).await.as_deref(),
        Some("case@example.org")
    );
}

#[tokio::test]
async fn logging_in_gives_a_new_session_id_and_the_old_one_stops_working() {
    let app = TestApp::spawn().await;
    app.member("rotate@example.org", "R").await;
    let client = TestApp::new_client();
    let first = app
        .call(
            &client,
            "login",
            &[("email", "rotate@example.org"), ("password", PASSWORD)],
        )
        .await;
    let first_cookie = session_cookie(&first).expect("a cookie at log-in");
    let second = app
        .call(
            &client,
            "login",
            &[("email", "rotate@example.org"), ("password", PASSWORD)],
        )
        .await;
    let second_cookie = session_cookie(&second).expect("a new cookie at the second log-in");
    assert_ne!(first_cookie, second_cookie);

    let id = first_cookie.split(';').next().unwrap();
    let body = current_user_for_cookie(&app.address, id).await;
    assert_eq!(body, Value::Null, "the pre-login session id must be dead");
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let client = app.member("out@example.org", "O").await;
    let cookie = {
        let response = app
            .call(
                &client,
                "login",
                &[("email", "out@example.org"), ("password", PASSWORD)],
            )
            .await;
        session_cookie(&response)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(app.call(&client, "logout", &[]).await.status(), 200);
    assert_eq!(app.whoami(&client).await, None);
    // Replaying the old cookie does not bring the session back.
    let replay = current_user_for_cookie(&app.address, &cookie).await;
    assert_eq!(replay, Value::Null);
}

#[tokio::test]
async fn a_session_lasts_thirty_days_past_the_last_visit_not_past_the_log_in() {
    let app = TestApp::spawn().await;
    let client = app.member("often@example.org", "Often").await;
    let expiry = || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
            "SELECT expiry_date FROM tower_sessions.session",
        )
        .fetch_one(&app.pool)
        .await
        .expect("one session")
    };
    let visit = || async {
        let response = client
            .get(format!("{}/", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        session_cookie(&response)
    };
    let thirty_days = chrono::Duration::days(30);

    // Just after logging in, a visit writes nothing and sends no cookie.
    let at_log_in = expiry().await;
    assert_eq!(visit().await, None, "a fresh session is not written again");
    assert_eq!(expiry().await, at_log_in);

    // 28 days on (two days left), a visit pushes the session back to 30 days from now,
    // in the database and in the browser's cookie.
    sqlx::query("UPDATE tower_sessions.session SET expiry_date = now() + interval '2 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let before = chrono::Utc::now();
    let cookie = visit().await.expect("the cookie sent again");
    let pushed = expiry().await;
    assert!(
        pushed >= before + thirty_days - chrono::Duration::seconds(5)
            && pushed <= chrono::Utc::now() + thirty_days + chrono::Duration::seconds(5),
        "expires {pushed}, 30 days after {before}"
    );
    assert!(cookie.contains("Max-Age=2592000"), "30 days: {cookie}");
    assert_eq!(
        app.whoami(&client).await.as_deref(),
        Some("often@example.org")
    );
    // The next visit, the same day, writes nothing again.
    assert_eq!(visit().await, None);
    assert_eq!(expiry().await, pushed);

    // A session past its expiry is over, whatever the cookie says.
    sqlx::query("UPDATE tower_sessions.session SET expiry_date = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.whoami(&client).await, None);
}

#[tokio::test]
async fn logging_out_of_all_devices_ends_every_session() {
    let app = TestApp::spawn().await;
    let phone = app.member("many@example.org", "M").await;
    let laptop = TestApp::new_client();
    app.call(
        &laptop,
        "login",
        &[("email", "many@example.org"), ("password", PASSWORD)],
    )
    .await;
    assert!(app.whoami(&laptop).await.is_some());
    assert_eq!(
        app.call(&phone, "logout_everywhere", &[]).await.status(),
        200
    );
    assert_eq!(app.whoami(&phone).await, None);
    assert_eq!(app.whoami(&laptop).await, None);
}

#[tokio::test]
async fn repeated_failed_log_ins_are_refused_for_a_while() {
    let app = TestApp::spawn().await;
    app.member("target@example.org", "T").await;
    let attacker = TestApp::new_client();
    for _ in 0..5 {
        let body = json(
            app.call(
                &attacker,
                "login",
                &[
                    ("email", "target@example.org"),
                    ("password", "wrong password!"),
                ],
            )
            .await,
        )
        .await;
        assert!(
            body["form"].as_str().unwrap().contains("do not match"),
            "{body}"
        );
    }
    // Even the right password is refused now, with a clear message.
    let body = json(
        app.call(
            &attacker,
            "login",
            &[("email", "target@example.org"), ("password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert!(
        body["form"]
            .as_str()
            .unwrap()
            .contains("Too many failed log-in attempts"),
        "{body}"
    );
    assert_eq!(app.whoami(&attacker).await, None);
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_look_the_same() {
    let app = TestApp::spawn().await;
    app.member("known@example.org", "K").await;
    let client = TestApp::new_client();
    let mut timings = [Vec::new(), Vec::new()];
    let mut bodies = [String::new(), String::new()];
    // Four rounds (the account's limit refuses the sixth failure), each timing the
    // fastest: other tests running at the same time only ever add to a timing, so the
    // fastest of a few is the one least disturbed (a median of three failed once at
    // 35 ms against 110 ms while the suite ran).
    for round in 0..4 {
        for (i, email) in [
            "known@example.org",
            format!("nobody{round}@example.org").as_str(),
        ]
        .into_iter()
        .enumerate()
        {
            let started = Instant::now();
            let response = app
                .call(
                    &client,
                    "login",
                    &[("email", email), ("password", "not the password")],
                )
                .await;
            let status = response.status();
            bodies[i] = format!("{status} {}", response.text().await.unwrap());
            timings[i].push(started.elapsed());
        }
    }
    assert_eq!(bodies[0], bodies[1], "same words");
    let fastest = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let (known, unknown) = (fastest(&timings[0]), fastest(&timings[1]));
    // Both verify an argon2 hash; without the dummy hash the unknown one would be ~100x faster.
    assert!(
        unknown * 3 > known && known * 3 > unknown,
        "known {known:?} vs unknown {unknown:?}"
    );
}

#[tokio::test]
async fn a_request_from_a_foreign_origin_is_refused() {
    let app = TestApp::spawn().await;
    let client = app.member("csrf@example.org", "C").await;
    let forged = client
        .post(format!("{}/api/logout_everywhere", app.address))
        .header("Origin", "https://evil.example")
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let cross_site = client
        .post(format!("{}/api/logout", app.address))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert!(
        app.whoami(&client).await.is_some(),
        "the forged requests changed nothing"
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = TestApp::spawn().await;
    let client = app.member("pw@example.org", "P").await;
    let body = json(
        app.call(
            &client,
            "change_password",
            &[
                ("current_password", "wrong one!!"),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["fields"][0][0], "current_password", "{body}");
    let body = json(
        app.call(
            &client,
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["fields"], serde_json::json!([]), "{body}");
    assert!(
        app.whoami(&client).await.is_some(),
        "this session continues"
    );
    let other = TestApp::new_client();
    let body = json(
        app.call(
            &other,
            "login",
            &[
                ("email", "pw@example.org"),
                ("password", "a brand new passphrase"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["form"], Value::Null, "{body}");
}

#[tokio::test]
async fn the_profile_keeps_a_valid_time_zone_only() {
    let app = TestApp::spawn().await;
    let client = app.member("tz@example.org", "T").await;
    let body = json(
        app.call(
            &client,
            "update_profile",
            &[("display_name", "Tee"), ("time_zone", "Mars/Base")],
        )
        .await,
    )
    .await;
    assert_eq!(body["fields"][0][0], "time_zone");
    let body = json(
        app.call(
            &client,
            "update_profile",
            &[("display_name", "Tee"), ("time_zone", "Europe/Berlin")],
        )
        .await,
    )
    .await;
    assert_eq!(body["fields"], serde_json::json!([]));
    let user = json(app.call(&client, "get_current_user", &[]).await).await;
    assert_eq!(
        (user["display_name"].as_str(), user["time_zone"].as_str()),
        (Some("Tee"), Some("Europe/Berlin"))
    );
}

#[tokio::test]
async fn members_download_their_data_and_anonymous_visitors_are_sent_to_log_in() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let anonymous = TestApp::new_client();
    let response = anonymous
        .get(format!("{}/me/export", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?next=%2Fme%2Fexport");

    let client = app.member("export@example.org", "Ex").await;
    app.call(&client, "join_group", &[("slug", "qs-north-bay")])
        .await;
    // A day note (private context) and a token: both theirs, so both in the export.
    sqlx::query(
        "INSERT INTO day_notes (user_id, day, note)
         SELECT id, '2026-11-30', 'started magnesium' FROM users WHERE email = 'export@example.org'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO api_tokens (user_id, name, scope, prefix, secret_hash)
         SELECT id, 'phone', 'write', 'cht_abcd', '\\x0102' FROM users WHERE email = 'export@example.org'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let response = client
        .get(format!("{}/me/export", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["profile"]["email"], "export@example.org");
    assert_eq!(export["memberships"][0]["slug"], "qs-north-bay");
    assert_eq!(export["day_notes"][0]["note"], "started magnesium");
    assert_eq!(export["day_notes"][0]["day"], "2026-11-30");
    assert_eq!(export["api_tokens"][0]["name"], "phone");
    assert_eq!(export["imports"], serde_json::json!([]));
    let text = export.to_string();
    assert!(!text.contains("argon2"), "no password hash in the export");
    assert!(!text.contains("secret_hash"), "no token hash in the export");
}

#[tokio::test]
async fn the_log_in_form_returns_to_the_page_asked_for_without_javascript() {
    let app = TestApp::spawn().await;
    app.member("back@example.org", "Back").await;
    // The form as the server renders it, before any wasm runs: the hidden field carries
    // the page to return to (escaped as an attribute value).
    let html = app
        .get("/login?next=%2Fme%3Fa%3D1%26b%3D%22x%22")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"name="next" value="/me?a=1&amp;b=&quot;x&quot;""#),
        "the hidden next field in the server's HTML: {}",
        html.lines()
            .find(|line| line.contains("name=\"next\""))
            .unwrap_or(&html[..0])
    );
    // A browser without JavaScript posts the form as it is and follows the redirect.
    let browser = TestApp::new_client();
    let response = browser
        .post(format!("{}/api/login", app.address))
        .header("Origin", &app.address)
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .form(&[
            ("next", "/me"),
            ("email", "back@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], "/me");
    // The sign-up form carries it too.
    let html = app.get("/signup?next=%2Ftrack").await.text().await.unwrap();
    assert!(html.contains(r#"name="next" value="/track""#));
}

#[tokio::test]
async fn deleting_an_account_erases_it_everywhere() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let client = app.member("gone@example.org", "G").await;
    app.call(&client, "join_group", &[("slug", "qs-north-bay")])
        .await;
    // Something logged and taken through the pipeline, so that every table it wrote
    // has rows of this member's to erase.
    let logged = app
        .call(
            &client,
            "log_entry",
            &[("metric", "mood"), ("value", "6"), ("key", "gone-1")],
        )
        .await;
    assert_eq!(logged.status(), 200);
    app.run_jobs().await;
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'gone@example.org'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let outcomes: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_outcomes WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(outcomes, 1, "the entry was distilled");
    let body = json(
        app.call(
            &client,
            "delete_account",
            &[("password", "not my password")],
        )
        .await,
    )
    .await;
    assert_eq!(body["fields"][0][0], "password");
    let body = json(
        app.call(&client, "delete_account", &[("password", PASSWORD)])
            .await,
    )
    .await;
    assert_eq!(body["fields"], serde_json::json!([]));
    assert_eq!(app.whoami(&client).await, None);
    let (users, memberships): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users WHERE email = 'gone@example.org'),
                (SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'gone@example.org')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((users, memberships), (0, 0));
    // The pipeline's tables too, including those without a foreign key to the member
    // (raw_outcomes follows its landed rows by a trigger).
    let left: Vec<(String, i64)> = sqlx::query_as(
        "SELECT 'raw_observations', count(*) FROM raw_observations WHERE user_id = $1
         UNION ALL SELECT 'raw_outcomes', count(*) FROM raw_outcomes WHERE user_id = $1
         UNION ALL SELECT 'observations', count(*) FROM observations WHERE user_id = $1
         UNION ALL SELECT 'daily_values', count(*) FROM daily_values WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (table, rows) in left {
        assert_eq!(rows, 0, "{table} keeps rows of a deleted member");
    }
}

#[tokio::test]
async fn demo_members_log_in_with_the_password_the_seed_printed() {
    let app = TestApp::spawn().await;
    let report = cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let password = report.demo_password.clone().expect("a generated password");
    assert_eq!(password.len(), 16);
    assert!(report.login_hint().unwrap().contains(&password));
    let client = TestApp::new_client();
    let body = json(
        app.call(
            &client,
            "login",
            &[
                ("email", "morgan.reyes@demo.cohort.invalid"),
                ("password", &password),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["form"], Value::Null, "{body}");
    // Another instance gets another password.
    let other = TestApp::spawn().await;
    let other_report = cohort::seed::seed_demo(&other.pool, chrono::Utc::now())
        .await
        .unwrap();
    assert_ne!(other_report.demo_password, Some(password));
}

#[tokio::test]
async fn admin_grant_makes_an_account_an_instance_admin() {
    let app = TestApp::spawn().await;
    let report = cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    assert!(report.demo_password.is_some());
    app.member("first@example.org", "First").await;
    let second = app.member("second@example.org", "Second").await;
    assert_eq!(
        cohort::admin::grant(&app.pool, " Second@Example.org")
            .await
            .unwrap(),
        "second@example.org"
    );
    let me = json(app.call(&second, "get_current_user", &[]).await).await;
    assert_eq!(me["is_admin"], true);
    assert!(cohort::admin::grant(&app.pool, "nobody@example.org")
        .await
        .is_err());
    assert!(
        cohort::admin::grant(&app.pool, "morgan.reyes@demo.cohort.invalid")
            .await
            .is_err(),
        "demo accounts never administer"
    );
}

#[tokio::test]
async fn an_admin_opens_a_group_and_organizes_it() {
    let app = TestApp::spawn().await;
    let admin = app.member("admin@example.org", "Admin").await;
    let body = json(
        app.call(
            &admin,
            "create_group",
            &[
                ("name", "QS East Bay"),
                ("slug", "Bad Slug!"),
                ("city", ""),
                ("time_zone", "Nowhere"),
            ],
        )
        .await,
    )
    .await;
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["slug", "time_zone"], "{body}");
    let body = json(
        app.call(
            &admin,
            "create_group",
            &[
                ("name", "QS East Bay"),
                ("slug", "qs-east-bay"),
                ("city", "Oakland, CA"),
                ("time_zone", "America/Los_Angeles"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["fields"], serde_json::json!([]), "{body}");
    let group = json(
        app.call(&admin, "get_group", &[("slug", "qs-east-bay")])
            .await,
    )
    .await;
    assert_eq!(group["my_role"], "Organizer");
    let body = json(
        app.call(
            &admin,
            "create_group",
            &[
                ("name", "Again"),
                ("slug", "qs-east-bay"),
                ("city", ""),
                ("time_zone", "UTC"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["fields"][0][0], "slug", "the address is taken: {body}");
}

#[tokio::test]
async fn a_session_started_on_one_process_is_valid_on_another() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_on(first.pool.clone()).await;
    let client = first.member("roaming@example.org", "Roaming").await;
    // The same cookie jar against the other process (as behind a load balancer).
    let cookie = {
        let response = first
            .call(
                &client,
                "login",
                &[("email", "roaming@example.org"), ("password", PASSWORD)],
            )
            .await;
        session_cookie(&response)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let body = current_user_for_cookie(&second.address, &cookie).await;
    assert_eq!(body["email"], "roaming@example.org");
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_refused_for_a_while() {
    let app = TestApp::spawn().await;
    app.member("real@example.org", "Real").await;
    let sprayer = TestApp::new_client();
    for i in 0..20 {
        let email = format!("guess{i}@example.org");
        let body = json(
            app.call(
                &sprayer,
                "login",
                &[("email", &email), ("password", "password spray")],
            )
            .await,
        )
        .await;
        assert!(
            body["form"].as_str().unwrap().contains("do not match"),
            "{body}"
        );
    }
    let body = json(
        app.call(
            &sprayer,
            "login",
            &[("email", "real@example.org"), ("password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert!(
        body["form"].as_str().unwrap().contains("Too many"),
        "{body}"
    );
}

#[tokio::test]
async fn behind_a_local_proxy_one_address_trying_many_accounts_locks_out_only_itself() {
    let app = TestApp::spawn().await;
    app.member("real@example.org", "Real").await;
    // The test connects from 127.0.0.1, as a reverse proxy on the same machine does; the
    // proxy says whom it forwards for.
    let log_in = |from: &'static str, email: String, password: &'static str| {
        let client = TestApp::new_client();
        let address = app.address.clone();
        async move {
            json(
                client
                    .post(format!("{address}/api/login"))
                    .header("Origin", &address)
                    .header("Accept", "application/json")
                    .header("X-Forwarded-For", from)
                    .form(&[("email", email.as_str()), ("password", password)])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    for i in 0..20 {
        // Writing another address in front of the proxy's changes nothing.
        let body = log_in(
            "6.6.6.6, 203.0.113.7",
            format!("guess{i}@example.org"),
            "spray",
        )
        .await;
        assert!(
            body["form"].as_str().unwrap().contains("do not match"),
            "{body}"
        );
    }
    let sprayer = log_in("203.0.113.7", "real@example.org".into(), PASSWORD).await;
    assert!(
        sprayer["form"].as_str().unwrap().contains("Too many"),
        "{sprayer}"
    );
    // Everyone else behind the same proxy still logs in.
    let member = log_in("198.51.100.20", "real@example.org".into(), PASSWORD).await;
    assert_eq!(member["fields"], serde_json::json!([]), "{member}");
    assert!(member["form"].is_null(), "{member}");
}

#[tokio::test]
async fn behind_an_https_public_url_the_cookie_is_secure_and_only_that_origin_may_post() {
    use cohort::startup::{Application, WebSettings};
    let pool = crate::helpers::fresh_database().await;
    let mut settings = WebSettings::local(
        "127.0.0.1:0".parse().unwrap(),
        std::path::Path::new("/nonexistent"),
    );
    settings.public_url = Some("https://cohort.example.org".into());
    let app = Application::build(&settings, pool).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = TestApp::new_client();
    let form = [
        ("email", "s@example.org"),
        ("display_name", "S"),
        ("password", PASSWORD),
    ];
    let local_origin = client
        .post(format!("{address}/api/signup"))
        .header("Origin", &address)
        .header("Accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        local_origin.status(),
        403,
        "only the public origin may change state"
    );
    let response = client
        .post(format!("{address}/api/signup"))
        .header("Origin", "https://cohort.example.org")
        .header("Accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = session_cookie(&response).unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

/// The lockout holds under concurrency: the limit is checked and the attempt recorded in
/// one locked step before the password is verified, so guesses sent all at once take
/// turns and only the first five reach the password check.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_wrong_guesses_check_at_most_five_passwords() {
    // A pool large enough for the fifty requests to truly overlap.
    let first = TestApp::spawn().await;
    let options = (*first.pool.connect_options()).clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(30)
        .connect_with(options)
        .await
        .unwrap();
    let app = std::sync::Arc::new(TestApp::spawn_on(pool).await);
    app.member("target@example.org", "Target").await;

    let burst = |password: &'static str| {
        let app = app.clone();
        async move {
            let guesses = (0..50).map(|_| {
                let app = app.clone();
                tokio::spawn(async move {
                    let client = TestApp::new_client();
                    let response = app
                        .call(
                            &client,
                            "login",
                            &[("email", "target@example.org"), ("password", password)],
                        )
                        .await;
                    assert_eq!(response.status(), 200);
                    let body: Value = response.json().await.unwrap();
                    body["form"].as_str().unwrap_or("").to_string()
                })
            });
            let answers: Vec<String> = futures_util::future::join_all(guesses)
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect();
            let verified = answers
                .iter()
                .filter(|a| a.contains("do not match"))
                .count();
            let refused = answers
                .iter()
                .filter(|a| a.contains("Too many failed log-in attempts"))
                .count();
            (verified, refused)
        }
    };
    let (verified, refused) = burst("wrong password!").await;
    eprintln!("50 simultaneous wrong guesses: {verified} passwords checked, {refused} refused");
    assert_eq!((verified, refused), (5, 45));
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM login_attempts WHERE email = 'target@example.org'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 5);

    // The right password, sent in a second burst, is refused like every guess.
    let (verified, refused) = burst(PASSWORD).await;
    assert_eq!((verified, refused), (0, 50));
}
