//! The security rules that every response and every redirect must keep, read from real
//! responses: headers, the page's script nonce, redirect targets, shares that follow
//! membership, and bad input answered with a 4xx instead of a 500.

use crate::helpers::TestApp;
use reqwest::header::HeaderMap;
use serde_json::Value;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The nonce of a page's Content-Security-Policy, after checking the rest of the policy.
fn page_nonce(headers: &HeaderMap) -> String {
    let policy = header(headers, "content-security-policy");
    let script_src = policy
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {policy}"));
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!script_src.contains("unsafe-eval'") || script_src.contains("'wasm-unsafe-eval'"));
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("object-src 'none'"), "{policy}");
    assert!(policy.contains("base-uri 'none'"), "{policy}");
    let nonce = script_src
        .split_whitespace()
        .find_map(|source| source.strip_prefix("'nonce-"))
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no nonce in {script_src}"));
    assert!(nonce.len() >= 16, "{nonce}");
    nonce.to_string()
}

fn assert_common_headers(headers: &HeaderMap, what: &str) {
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{what}");
    assert_eq!(
        header(headers, "referrer-policy"),
        "strict-origin-when-cross-origin",
        "{what}"
    );
}

#[tokio::test]
async fn pages_carry_a_strict_policy_whose_nonce_is_on_every_script() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let event: i64 = sqlx::query_scalar("SELECT min(id) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut nonces = Vec::new();
    for path in [
        "/".to_string(),
        "/groups/qs-north-bay".into(),
        format!("/events/{event}"),
        "/login?next=/me".into(),
        "/no/such/page".into(),
    ] {
        let response = app.get(&path).await;
        let headers = response.headers().clone();
        assert_common_headers(&headers, &path);
        assert_eq!(header(&headers, "cache-control"), "no-store", "{path}");
        let nonce = page_nonce(&headers);
        let body = response.text().await.unwrap();
        let scripts: Vec<&str> = body.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path} has no script");
        for script in scripts {
            let tag = script.split('>').next().unwrap_or("");
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: a script without the nonce: <script{tag}>"
            );
        }
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 5, "every response has its own nonce");
}

#[tokio::test]
async fn other_responses_may_load_nothing_and_personal_ones_are_not_stored() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let member = app.member("ines@example.org", "Ines").await;
    for (path, client) in [
        ("/healthz", &app.client),
        ("/groups/qs-north-bay/calendar.ics", &app.client),
        ("/groups/qs-north-bay/events.atom", &app.client),
        ("/me/export", &member),
        ("/track/export.csv", &member),
        ("/track/export.json", &member),
        ("/api/v1/metrics", &app.client),
    ] {
        let response = client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_common_headers(headers, path);
        let policy = header(headers, "content-security-policy");
        assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(header(headers, "cache-control"), "no-store", "{path}");
    }
    // A server function's answer is personal too.
    let response = app.call(&member, "get_current_user", &[]).await;
    assert_eq!(header(response.headers(), "cache-control"), "no-store");
    assert_common_headers(response.headers(), "get_current_user");
}

/// Pages and static files requested at once each keep their own policy: leptos_axum's
/// file handler once took a page's headers (its CSP went out on the wasm file and the
/// page was sent with none of its own), one load in a few hundred in Chromium.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_and_static_files_requested_at_once_keep_their_own_policy() {
    let app = TestApp::spawn().await;
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..400 {
        let path = [
            "/login",
            "/pkg/cohort.js",
            "/",
            "/pkg/cohort.css",
            "/favicon.svg",
        ][i % 5];
        let (client, url) = (app.client.clone(), format!("{}{path}", app.address));
        requests.spawn(async move {
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            (path, response.headers().clone())
        });
    }
    let mut checked = 0;
    while let Some(answer) = requests.join_next().await {
        let (path, headers) = answer.unwrap();
        let policy = header(&headers, "content-security-policy");
        if path.starts_with("/pkg/") || path == "/favicon.svg" {
            assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
            assert_eq!(header(&headers, "cache-control"), "no-cache", "{path}");
        } else {
            page_nonce(&headers);
        }
        checked += 1;
    }
    assert_eq!(checked, 400);
}

/// Static files go out compressed to browsers that accept it (the build's brotli copy),
/// as they are to those that do not, and are checked before each reuse: a wasm chunk must
/// never outlive the build it belongs to.
#[tokio::test]
async fn static_files_are_sent_precompressed_and_revalidated() {
    let app = TestApp::spawn().await;
    let url = format!("{}/pkg/cohort.wasm", app.address);
    let response = app
        .client
        .get(&url)
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(header(&headers, "content-encoding"), "br");
    assert_eq!(header(&headers, "content-type"), "application/wasm");
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert!(header(&headers, "vary").contains("accept-encoding"));
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"brotli bytes");

    let response = app.client.get(&url).send().await.unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"\0asm raw bytes");

    // Unchanged since the browser's copy: 304, no body.
    let modified = header(&headers, "last-modified").to_string();
    let response = app
        .client
        .get(&url)
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
}

#[tokio::test]
async fn after_log_in_next_only_ever_leads_to_a_path_on_this_site() {
    let app = TestApp::spawn().await;
    app.member("nora@example.org", "Nora").await;
    let cases = [
        ("/\t/evil.example/", "/"),
        ("/\n/x", "/"),
        ("/\r\n/x", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/ /evil.example", "/"),
        ("/caf\u{e9}", "/"),
        ("/events/3?show=past", "/events/3?show=past"),
    ];
    for (next, expected) in cases {
        let client = TestApp::new_client();
        let response = app
            .call(
                &client,
                "login",
                &[
                    ("email", "nora@example.org"),
                    ("password", crate::helpers::PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_string());
        assert_eq!(location.as_deref(), Some(expected), "next = {next:?}");
        assert!(app.whoami(&client).await.is_some(), "next = {next:?}");
    }
    // Sign-up takes the same path.
    let client = TestApp::new_client();
    let response = app
        .call(
            &client,
            "signup",
            &[
                ("email", "olga@example.org"),
                ("display_name", "Olga"),
                ("password", crate::helpers::PASSWORD),
                ("next", "/\t/evil.example/"),
            ],
        )
        .await;
    assert_eq!(
        response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap()),
        Some("/")
    );
}

#[tokio::test]
async fn leaving_a_group_withdraws_every_share_and_private_is_always_allowed() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let pia = app.member("pia@example.org", "Pia").await;
    let call = |function: &'static str, form: Vec<(&'static str, &'static str)>| {
        let (app, pia) = (&app, &pia);
        async move { app.call(pia, function, &form).await.status().as_u16() }
    };
    let shares = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM metric_shares s JOIN users u ON u.id = s.user_id
              WHERE u.email = 'pia@example.org'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    assert_eq!(
        call("join_group", vec![("slug", "qs-north-bay")]).await,
        200
    );
    for key in ["mood", "sleep"] {
        let form = vec![
            ("key", key),
            ("group_slug", "qs-north-bay"),
            ("level", "aggregate"),
        ];
        assert_eq!(call("share_metric", form).await, 200);
    }
    assert_eq!(shares().await, 2);
    assert_eq!(
        call("leave_group", vec![("slug", "qs-north-bay")]).await,
        200
    );
    assert_eq!(shares().await, 0, "leaving withdrew the shares");
    // Not a member any more: sharing is refused, making private is not.
    let form = vec![
        ("key", "mood"),
        ("group_slug", "qs-north-bay"),
        ("level", "members"),
    ];
    assert_eq!(call("share_metric", form).await, 403);
    let form = vec![
        ("key", "mood"),
        ("group_slug", "qs-north-bay"),
        ("level", "private"),
    ];
    assert_eq!(call("share_metric", form).await, 200);
    assert_eq!(shares().await, 0);

    // Being removed by the database's own rules (a deleted group) withdraws them too.
    assert_eq!(
        call("join_group", vec![("slug", "qs-north-bay")]).await,
        200
    );
    let form = vec![
        ("key", "mood"),
        ("group_slug", "qs-north-bay"),
        ("level", "members"),
    ];
    assert_eq!(call("share_metric", form).await, 200);
    sqlx::query("DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = 'pia@example.org')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(shares().await, 0);
}

#[tokio::test]
async fn bad_server_function_input_is_a_4xx_and_changes_nothing() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let rosa = app.member("rosa@example.org", "Rosa").await;
    assert_eq!(
        app.call(&rosa, "join_group", &[("slug", "qs-north-bay")])
            .await
            .status(),
        200
    );
    let event: i64 = sqlx::query_scalar(
        "SELECT min(id) FROM events WHERE starts_at > now() AND status = 'scheduled'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let event = event.to_string();
    let comments = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM event_comments")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let before = comments().await;

    let expect = |status: u16, response: reqwest::Response, what: &str| {
        let what = what.to_string();
        async move {
            assert_eq!(response.status().as_u16(), status, "{what}");
            let body = response.text().await.unwrap();
            assert!(body.starts_with("ServerError|"), "{what}: {body}");
            body
        }
    };
    let nul = expect(
        400,
        app.call(
            &rosa,
            "post_comment",
            &[("event_id", &event), ("body", "a\u{0}b")],
        )
        .await,
        "NUL in a comment",
    )
    .await;
    assert!(nul.contains("NUL"), "{nul}");
    expect(
        400,
        app.call(
            &rosa,
            "update_profile",
            &[("display_name", "R\u{0}"), ("time_zone", "UTC")],
        )
        .await,
        "NUL in a name",
    )
    .await;
    expect(
        400,
        app.call(
            &rosa,
            "post_comment",
            &[("event_id", "abc"), ("body", "hello")],
        )
        .await,
        "a word for a number",
    )
    .await;
    expect(
        400,
        app.call(&rosa, "post_comment", &[("body", "hello")]).await,
        "a missing argument",
    )
    .await;
    let huge = "x".repeat(3 * 1024 * 1024);
    expect(
        413,
        app.call(
            &rosa,
            "post_comment",
            &[("event_id", &event), ("body", &huge)],
        )
        .await,
        "a 3 MiB body",
    )
    .await;
    assert_eq!(comments().await, before, "nothing was stored");

    // The same comment without the NUL is stored: the refusal was about the input.
    let response = app
        .call(
            &rosa,
            "post_comment",
            &[("event_id", &event), ("body", "ab")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(comments().await, before + 1);

    // A line break in a name is refused with the reason on the form.
    let response = app
        .call(
            &rosa,
            "update_profile",
            &[
                ("display_name", "Rosa\r\nBcc: x@example.org"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert!(body["fields"].to_string().contains("one line"), "{body}");
}

/// Members' pages rendered many at a time each render with their own request's context
/// (the database pool, the session): a page must never come out as an error because a
/// context went missing under load.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn member_pages_rendered_at_once_all_come_out_whole() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let member = app.member("ida@example.org", "Ida").await;
    // A member of many groups: the metric page lists them all (a longer render).
    sqlx::query(
        "WITH g AS (INSERT INTO groups (slug, name, time_zone)
                    SELECT 'g' || n, 'Group ' || n, 'UTC' FROM generate_series(1, 25) n RETURNING id)
         INSERT INTO memberships (group_id, user_id)
         SELECT g.id, u.id FROM g, users u WHERE u.email = 'ida@example.org'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..300 {
        let path = ["/track/sleep", "/track", "/me", "/groups/qs-north-bay", "/"][i % 5];
        let (client, url) = (member.clone(), format!("{}{path}", app.address));
        requests.spawn(async move {
            let response = client.get(&url).send().await.unwrap();
            let status = response.status();
            (path, status, response.text().await.unwrap())
        });
    }
    let mut bad = Vec::new();
    while let Some(answer) = requests.join_next().await {
        let (path, status, body) = answer.unwrap();
        let title = body
            .split("<title>")
            .nth(1)
            .and_then(|rest| rest.split("</title>").next())
            .unwrap_or("");
        if status != 200 || body.contains("pool is missing") || body.contains("class=\"error\"") {
            bad.push(format!("{path}: {status} title {title:?}"));
        }
    }
    assert!(bad.is_empty(), "{} of 300 pages broken: {bad:?}", bad.len());
}
