//! The REST API through real HTTP: personal tokens (shown once, stored hashed, revoked),
//! every endpoint with good and malformed requests, scopes, the rate limit, problem+json
//! errors, and the OpenAPI document checked against the answers the API really gives.

use crate::helpers::TestApp;
use cohort::job_types::cohort_runner;
use cohort::jobs::Services;
use serde_json::{json, Value};
use std::sync::Arc;

pub(crate) async fn token(app: &TestApp, client: &reqwest::Client, scope: &str) -> (i64, String) {
    let response = app
        .call(
            client,
            "create_token",
            &[("name", "Script"), ("scope", scope)],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    (
        body["id"].as_i64().unwrap(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

/// A member in Los Angeles with a token of each scope.
async fn member(app: &TestApp, email: &str) -> (reqwest::Client, i64, String, String) {
    let (client, id) = app
        .member_in_zone(email, "Quinn", "America/Los_Angeles")
        .await;
    let (_, read) = token(app, &client, "read").await;
    let (_, write) = token(app, &client, "write").await;
    (client, id, read, write)
}

/// An API call: status, content type, headers of interest, JSON body.
#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: String,
    www_authenticate: Option<String>,
    retry_after: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Answer {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", app.address);
    let mut request = if method == "POST" {
        client.post(url)
    } else {
        client.get(url)
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (content_type, www_authenticate, retry_after) = (
        header("content-type").unwrap_or_default(),
        header("www-authenticate"),
        header("retry-after"),
    );
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        content_type,
        www_authenticate,
        retry_after,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn assert_problem(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    assert_eq!(answer.body["code"], code, "{}", answer.body);
    assert_eq!(answer.body["status"], status);
    assert_eq!(answer.body["type"], "about:blank");
    assert!(!answer.body["detail"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn tokens_are_shown_once_stored_hashed_and_revoked() {
    let app = TestApp::spawn().await;
    let client = app.member("quinn@example.org", "Quinn").await;
    let other = app.member("other@example.org", "Other").await;
    let (id, secret) = token(&app, &client, "read").await;
    assert!(secret.starts_with("coh_") && secret.len() == 68, "{secret}");
    let (prefix, stored): (String, Vec<u8>) =
        sqlx::query_as("SELECT prefix, secret_hash FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(prefix, &secret[..12]);
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&secret[4..]));
    let list: Value = app
        .call(&client, "list_tokens", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        !list.to_string().contains(&secret),
        "the list never shows a secret"
    );
    assert_eq!(list[0]["scope"], "read");

    let ok = api(&app, "GET", "/api/v1/metrics", Some(&secret), None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // Another member cannot revoke it; its owner can, and then it stops working.
    let response = app
        .call(&other, "revoke_token", &[("id", &id.to_string())])
        .await;
    assert_eq!(response.status(), 404);
    let response = app
        .call(&client, "revoke_token", &[("id", &id.to_string())])
        .await;
    assert_eq!(response.status(), 200);
    let revoked = api(&app, "GET", "/api/v1/metrics", Some(&secret), None).await;
    assert_problem(&revoked, 401, "unauthenticated");
    assert_eq!(
        revoked.www_authenticate.as_deref(),
        Some("Bearer realm=\"cohort\", error=\"invalid_token\"")
    );
    let list: Value = app
        .call(&client, "list_tokens", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(list[0]["revoked"].is_string());

    let none = api(&app, "GET", "/api/v1/metrics", None, None).await;
    assert_problem(&none, 401, "unauthenticated");
    assert_eq!(
        none.www_authenticate.as_deref(),
        Some("Bearer realm=\"cohort\"")
    );
    let wrong = api(&app, "GET", "/api/v1/metrics", Some("coh_guess"), None).await;
    assert_problem(&wrong, 401, "unauthenticated");
    // A logged-in browser session is not an API credential.
    let response = client
        .get(format!("{}/api/v1/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .call(
            &client,
            "create_token",
            &[("name", "X"), ("scope", "admin")],
        )
        .await;
    assert_eq!(response.status(), 400);
    let response = app
        .call(&client, "create_token", &[("name", " "), ("scope", "read")])
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn posted_observations_land_once_with_a_result_per_item() {
    let app = TestApp::spawn().await;
    let (_, id, read, write) = member(&app, "quinn@example.org").await;
    let batch = json!({ "observations": [
        { "metric": "mood", "value": 7, "idempotency_key": "a" },
        { "metric": "weight", "value": "154", "unit": "lb", "time": "2026-11-20T07:00", "idempotency_key": "b" },
        { "metric": "mood", "value": 12, "idempotency_key": "c" },
        { "metric": "happiness", "value": 3 },
        { "metric": "steps", "value": 8000, "time": "2026-11-20", "note": "walk #hills" },
        { "metric": "steps", "value": 1, "idempotency_key": 5 },
        "seven",
        { "metric": "sleep", "value": "7:30", "idempotency_key": "a" },
    ]})
    .to_string();
    let answer = api(
        &app,
        "POST",
        "/api/v1/observations",
        Some(&write),
        Some(batch.clone()),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let statuses: Vec<&str> = answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "accepted",
            "accepted",
            "rejected",
            "rejected",
            "accepted",
            "rejected",
            "rejected",
            "duplicate"
        ]
    );
    let body = &answer.body;
    assert_eq!(
        (
            &body["received"],
            &body["accepted"],
            &body["duplicates"],
            &body["rejected"]
        ),
        (&json!(8), &json!(3), &json!(1), &json!(4))
    );
    assert_eq!(body["results"][2]["error"], "Mood goes from 1 to 9.");
    assert_eq!(
        body["results"][3]["error"],
        "There is no metric called “happiness”."
    );
    assert_eq!(
        body["results"][5]["error"],
        "`idempotency_key` must be text of 1 to 200 characters."
    );
    assert_eq!(
        body["results"][6]["error"],
        "Each observation is a JSON object."
    );
    assert!(body["results"][4]["idempotency_key"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    // Landed as received, distilled by the job.
    let landed: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM raw_observations WHERE user_id = $1 AND source = 'api' ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(landed.len(), 3);
    assert_eq!(
        landed[0],
        json!({ "metric": "mood", "value": 7, "idempotency_key": "a" })
    );
    cohort_runner(app.pool.clone(), 1, Arc::new(Services::default()))
        .run_pending()
        .await
        .unwrap();
    let stored: Vec<(String, f64, Vec<String>)> = sqlx::query_as(
        "SELECT m.key, o.value, o.tags FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.user_id = $1 ORDER BY o.id",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0], ("mood".into(), 7.0, vec![]));
    assert!((stored[1].1 - 69.853_225).abs() < 1e-6);
    assert_eq!(stored[2].2, vec!["hills".to_string()]);

    // The same batch again adds nothing.
    let again = api(
        &app,
        "POST",
        "/api/v1/observations",
        Some(&write),
        Some(batch),
    )
    .await;
    assert_eq!(
        (&again.body["accepted"], &again.body["duplicates"]),
        (&json!(0), &json!(4))
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_observations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 3);

    // A read token cannot write; malformed, empty and oversized batches are refused whole.
    let one = json!({ "observations": [{ "metric": "mood", "value": 5 }] }).to_string();
    let answer = api(&app, "POST", "/api/v1/observations", Some(&read), Some(one)).await;
    assert_problem(&answer, 403, "insufficient_scope");
    for (body, status, code) in [
        ("{\"observations\": [", 400, "invalid_body"),
        ("[1, 2]", 400, "invalid_body"),
        ("{\"observations\": []}", 400, "invalid_body"),
        ("{\"observations\": {}}", 400, "invalid_body"),
    ] {
        let answer = api(
            &app,
            "POST",
            "/api/v1/observations",
            Some(&write),
            Some(body.into()),
        )
        .await;
        assert_problem(&answer, status, code);
    }
    let many: Vec<Value> = (0..10_001)
        .map(|n| json!({ "metric": "steps", "value": n }))
        .collect();
    let answer = api(
        &app,
        "POST",
        "/api/v1/observations",
        Some(&write),
        Some(json!({ "observations": many }).to_string()),
    )
    .await;
    assert_problem(&answer, 413, "batch_too_large");
    // A full batch of 10,000 goes in.
    let full: Vec<Value> = (0..10_000)
        .map(|n| json!({ "metric": "steps", "value": n, "time": format!("2026-10-01T00:00:00Z"), "idempotency_key": format!("full-{n}") }))
        .collect();
    let answer = api(
        &app,
        "POST",
        "/api/v1/observations",
        Some(&write),
        Some(json!({ "observations": full }).to_string()),
    )
    .await;
    assert_eq!(answer.body["accepted"], 10_000, "{}", answer.status);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_observations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 10_003);
}

#[tokio::test]
async fn observations_read_back_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let (_, id, read, _) = member(&app, "quinn@example.org").await;
    let (_, _, other_read, _) = member(&app, "other@example.org").await;
    sqlx::query(
        "INSERT INTO observations (user_id, metric_id, observed_at, value, source)
         SELECT $1, m.id, timestamptz '2026-06-01 12:00Z' + make_interval(hours => n), n, 'api'
           FROM metrics m, generate_series(0, 249) n WHERE m.key = 'steps' AND m.owner_id IS NULL
         UNION ALL
         SELECT $1, m.id, timestamptz '2026-06-01 12:00Z', 5, 'api'
           FROM metrics m WHERE m.key = 'mood' AND m.owner_id IS NULL",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut seen: Vec<f64> = Vec::new();
    let mut path = "/api/v1/observations?metric=steps&limit=100".to_string();
    let mut pages = 0;
    loop {
        let answer = api(&app, "GET", &path, Some(&read), None).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        pages += 1;
        seen.extend(
            answer.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["value"].as_f64().unwrap()),
        );
        match answer.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/observations?metric=steps&limit=100&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..250).map(f64::from).collect::<Vec<_>>());
    let all = api(
        &app,
        "GET",
        "/api/v1/observations?limit=1000",
        Some(&read),
        None,
    )
    .await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 251);
    assert!(all.body["next_cursor"].is_null());
    let window = api(
        &app,
        "GET",
        "/api/v1/observations?from=2026-06-02T00:00:00Z&to=2026-06-02T12:00:00Z",
        Some(&read),
        None,
    )
    .await;
    assert_eq!(window.body["data"].as_array().unwrap().len(), 12);
    let first = &all.body["data"][0];
    assert_eq!(first["unit"], "steps");
    assert_eq!(first["time"], "2026-06-01T12:00:00Z");
    // Someone else's token sees none of it.
    let theirs = api(&app, "GET", "/api/v1/observations", Some(&other_read), None).await;
    assert_eq!(theirs.body["data"], json!([]));
    for (path, status, code) in [
        ("/api/v1/observations?limit=0", 400, "invalid_parameter"),
        ("/api/v1/observations?limit=lots", 400, "invalid_parameter"),
        ("/api/v1/observations?cursor=abc", 400, "invalid_parameter"),
        (
            "/api/v1/observations?from=yesterday",
            400,
            "invalid_parameter",
        ),
        (
            "/api/v1/observations?metric=happiness",
            404,
            "no_such_metric",
        ),
        ("/api/v1/nothing-here", 404, "no_such_endpoint"),
    ] {
        assert_problem(
            &api(&app, "GET", path, Some(&read), None).await,
            status,
            code,
        );
    }
}

#[tokio::test]
async fn metrics_and_events_are_the_members_own() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let (client, id, read, _) = member(&app, "quinn@example.org").await;
    let metrics = api(&app, "GET", "/api/v1/metrics", Some(&read), None).await;
    let keys: Vec<&str> = metrics.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"mood") && keys.contains(&"glucose"));
    let events = api(&app, "GET", "/api/v1/events", Some(&read), None).await;
    assert_eq!(
        events.body["data"],
        json!([]),
        "not a member of any group yet"
    );
    let response = app
        .call(&client, "join_group", &[("slug", "qs-north-bay")])
        .await;
    assert!(response.status().is_success() || response.status().is_redirection());
    let events = api(&app, "GET", "/api/v1/events", Some(&read), None).await;
    let data = events.body["data"].as_array().unwrap();
    assert!(!data.is_empty());
    assert!(data[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("QSNB Monthly Meetup"));
    assert!(data[0]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(data[0]["my_rsvp"].is_null());
    let _ = id;
}

#[tokio::test]
async fn each_token_gets_600_requests_a_minute() {
    let app = TestApp::spawn().await;
    let (_, _, read, write) = member(&app, "quinn@example.org").await;
    // Fill this minute's and the next's budget, so the test holds across a minute's turn.
    sqlx::query(
        "INSERT INTO api_rate_windows (token_id, window_start, requests)
         SELECT t.id, w, 600 FROM api_tokens t,
                (VALUES (date_trunc('minute', now())), (date_trunc('minute', now()) + interval '1 minute')) AS v(w)
          WHERE t.scope = 'read'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let limited = api(&app, "GET", "/api/v1/metrics", Some(&read), None).await;
    assert_problem(&limited, 429, "rate_limited");
    let wait: i64 = limited.retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // Another token has its own budget.
    assert_eq!(
        api(&app, "GET", "/api/v1/metrics", Some(&write), None)
            .await
            .status,
        200
    );
    // Requests really are counted.
    for _ in 0..5 {
        api(&app, "GET", "/api/v1/metrics", Some(&write), None).await;
    }
    let counted: i64 = sqlx::query_scalar(
        "SELECT sum(requests) FROM api_rate_windows w JOIN api_tokens t ON t.id = w.token_id WHERE t.scope = 'write'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(counted, 6);
}

/// The OpenAPI 3.1 meta-schema as the OpenAPI Initiative publishes it
/// (https://spec.openapis.org/oas/3.1/schema/2022-10-07; this copy from the PyPI package
/// openapi-spec-validator 0.9.0, Apache-2.0).
const OPENAPI_31_SCHEMA: &str = include_str!("openapi-3.1-schema.json");

/// Marks every object schema that lists its properties as closed
/// (`unevaluatedProperties: false`), so that a field the document does not declare is
/// drift, not silently allowed.
fn close_objects(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if object.get("properties").is_some_and(Value::is_object)
                && !object.contains_key("additionalProperties")
                && !object.contains_key("unevaluatedProperties")
            {
                object.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            object.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// The API's contract: its OpenAPI document, valid against the OpenAPI 3.1 meta-schema,
/// whose schemas a JSON Schema 2020-12 validator (the `jsonschema` crate) compiles (which
/// checks each against the 2020-12 meta-schema) and applies to real answers.
struct Contract {
    doc: Value,
    /// The document's components with every object closed.
    components: Value,
}

impl Contract {
    fn new(doc: Value) -> Contract {
        let errors = Contract::meta_errors(&doc);
        assert!(
            errors.is_empty(),
            "the document breaks the OpenAPI 3.1 meta-schema: {errors:#?}"
        );
        let mut components = doc["components"].clone();
        close_objects(&mut components);
        Contract { doc, components }
    }

    /// Where `doc` breaks the OpenAPI 3.1 meta-schema.
    fn meta_errors(doc: &Value) -> Vec<String> {
        let meta: Value = serde_json::from_str(OPENAPI_31_SCHEMA).unwrap();
        let openapi = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&meta)
            .expect("the OpenAPI 3.1 meta-schema compiles");
        openapi
            .iter_errors(doc)
            .map(|error| format!("{error} at {}", error.instance_path()))
            .collect()
    }

    /// A 2020-12 validator for one schema of the document (its `$ref`s resolve against
    /// the document's components).
    fn validator(&self, schema: &Value, at: &str) -> jsonschema::Validator {
        let mut root = schema.clone();
        close_objects(&mut root);
        let object = root.as_object_mut().expect("a schema object");
        object.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        object.insert("components".into(), self.components.clone());
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|error| panic!("{at}: the schema does not compile: {error}"))
    }

    /// Whether `answer` is one the document describes for `method path`: its status is
    /// listed, its content type has a schema, its body validates against it, and every
    /// header documented for it is present with a value its schema accepts.
    fn check(&self, path: &str, method: &str, answer: &Answer) -> Result<(), String> {
        let status = answer.status.to_string();
        let at = format!("{method} {path} {status}");
        let response = &self.doc["paths"][path][method]["responses"][&status];
        if response.is_null() {
            return Err(format!("{at}: a status the document does not list"));
        }
        let content_type = answer.content_type.split(';').next().unwrap_or_default();
        let schema = &response["content"][content_type]["schema"];
        if schema.is_null() {
            return Err(format!("{at}: no schema for {content_type}"));
        }
        let errors: Vec<String> = self
            .validator(schema, &at)
            .iter_errors(&answer.body)
            .map(|error| format!("{error} at {}", error.instance_path()))
            .collect();
        if !errors.is_empty() {
            return Err(format!("{at}: {errors:?}\n{}", answer.body));
        }
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let value = answer
                .headers
                .get(name.as_str())
                .ok_or(format!("{at}: no {name} header"))?
                .to_str()
                .map_err(|_| format!("{at}: {name} is not text"))?;
            let schema = &header["schema"];
            let value = if schema["type"] == "integer" {
                value
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("{at}: {name} {value:?} is not an integer"))?
            } else {
                Value::from(value)
            };
            if !self.validator(schema, &at).is_valid(&value) {
                return Err(format!("{at}: {name} {value} does not fit {schema}"));
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_api_really_answers() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let (client, _, read, write) = member(&app, "quinn@example.org").await;
    app.call(&client, "join_group", &[("slug", "qs-north-bay")])
        .await;
    app.call(
        &client,
        "create_metric",
        &[
            ("name", "Pages read"),
            ("kind", "count"),
            ("unit", "pages"),
            ("aggregate", "sum"),
        ],
    )
    .await;
    let doc = api(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    let contract = Contract::new(doc.body);
    let doc = &contract.doc;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    assert_eq!(documented.len(), 9, "{documented:?}");

    // Five weeks of mood and sleep, so that the insight endpoints have something to say.
    let today = chrono::Utc::now().date_naive();
    let observations: Vec<Value> = (1..=35)
        .flat_map(|back| {
            let day = today - chrono::TimeDelta::days(back);
            let level = (back * 7) % 5;
            [
                json!({ "metric": "mood", "value": 3 + level, "time": format!("{day}T20:00") }),
                json!({ "metric": "sleep", "value": 380 + 12 * level, "time": format!("{day}T07:00") }),
            ]
        })
        .chain([
            json!({ "metric": "mood", "value": 60 }),
            json!({ "metric": "mood", "value": 6, "time": "2026-11-20T08:00", "note": "#ok" }),
            json!({ "metric": "mood", "value": 6, "time": "2026-11-20T08:00", "note": "#ok" }),
        ])
        .collect();
    let batch = json!({ "observations": observations }).to_string();
    let posted = api(
        &app,
        "POST",
        "/api/v1/observations",
        Some(&write),
        Some(batch),
    )
    .await;
    contract
        .check("/api/v1/observations", "post", &posted)
        .unwrap();
    assert_eq!(posted.status, 200);
    cohort_runner(app.pool.clone(), 1, Arc::new(Services::default()))
        .run_pending()
        .await
        .unwrap();

    let get = async |path: &str, token: Option<&str>| api(&app, "GET", path, token, None).await;
    let post = async |body: &str, token: Option<&str>| {
        api(
            &app,
            "POST",
            "/api/v1/observations",
            token,
            Some(body.into()),
        )
        .await
    };
    let figures = "/api/v1/groups/{slug}/figures";
    let cases = [
        (
            "/api/v1/observations",
            "post",
            post("{}", Some(&read)).await,
            403,
        ),
        (
            "/api/v1/observations",
            "post",
            post("{", Some(&write)).await,
            400,
        ),
        ("/api/v1/observations", "post", post("{}", None).await, 401),
        (
            "/api/v1/observations",
            "post",
            post("{}", Some("nonsense")).await,
            401,
        ),
        (
            "/api/v1/observations",
            "get",
            get("/api/v1/observations?limit=1", Some(&read)).await,
            200,
        ),
        (
            "/api/v1/observations",
            "get",
            get("/api/v1/observations", Some(&read)).await,
            200,
        ),
        (
            "/api/v1/observations",
            "get",
            get("/api/v1/observations?limit=-1", Some(&read)).await,
            400,
        ),
        (
            "/api/v1/metrics",
            "get",
            get("/api/v1/metrics", Some(&read)).await,
            200,
        ),
        (
            "/api/v1/metrics",
            "get",
            get("/api/v1/metrics", None).await,
            401,
        ),
        (
            "/api/v1/events",
            "get",
            get("/api/v1/events", Some(&read)).await,
            200,
        ),
        (
            "/api/v1/daily",
            "get",
            get("/api/v1/daily?metric=mood", Some(&read)).await,
            200,
        ),
        (
            "/api/v1/daily",
            "get",
            get("/api/v1/daily?metric=mood&from=yesterday", Some(&read)).await,
            400,
        ),
        (
            "/api/v1/daily",
            "get",
            get("/api/v1/daily?metric=nothing-like-it", Some(&read)).await,
            404,
        ),
        (
            "/api/v1/trends",
            "get",
            get("/api/v1/trends?metric=sleep", Some(&read)).await,
            200,
        ),
        (
            "/api/v1/trends",
            "get",
            get("/api/v1/trends", Some(&read)).await,
            400,
        ),
        (
            "/api/v1/correlations",
            "get",
            get("/api/v1/correlations", Some(&read)).await,
            200,
        ),
        (
            "/api/v1/insights",
            "get",
            get("/api/v1/insights", Some(&read)).await,
            200,
        ),
        (
            figures,
            "get",
            get(
                "/api/v1/groups/qs-north-bay/figures?metric=sleep",
                Some(&read),
            )
            .await,
            200,
        ),
        (
            figures,
            "get",
            get("/api/v1/groups/qs-north-bay/figures?metric=mood", None).await,
            401,
        ),
        (
            figures,
            "get",
            get(
                "/api/v1/groups/nobody-here/figures?metric=sleep",
                Some(&read),
            )
            .await,
            404,
        ),
    ];
    for (path, method, answer, status) in &cases {
        assert_eq!(answer.status, *status, "{method} {path}: {}", answer.body);
        if let Err(mismatch) = contract.check(path, method, answer) {
            panic!("{mismatch}");
        }
    }
    // Every documented operation was exercised.
    for (path, method) in &documented {
        assert!(
            cases.iter().any(|(p, m, _, _)| p == path && m == method),
            "{method} {path} is not exercised"
        );
    }
    // The pages and lists checked were not empty.
    assert_eq!(cases[4].2.body["data"].as_array().unwrap().len(), 1);
    assert!(cases[9].2.body["data"].as_array().unwrap().len() >= 3);
    assert!(
        cases[10].2.body["days"].as_array().unwrap().len() >= 30,
        "{}",
        cases[10].2.body
    );
    assert!(
        !cases[15].2.body["tests"].as_array().unwrap().is_empty(),
        "{}",
        cases[15].2.body
    );

    // A refusal for too many requests, with its Retry-After.
    let (_, limited) = within_one_minute(&app, 600, async || {
        get("/api/v1/insights", Some(&read)).await
    })
    .await;
    assert_problem(&limited, 429, "rate_limited");
    contract.check("/api/v1/insights", "get", &limited).unwrap();

    // The meta-schema catches a broken document.
    let mut broken = doc.clone();
    broken["paths"]["/api/v1/metrics"]["get"]["responses"]["200"]["content"] = json!("none");
    assert!(!Contract::meta_errors(&broken).is_empty());
    broken = doc.clone();
    broken["openapi"] = json!("3.0.3");
    assert!(!Contract::meta_errors(&broken).is_empty());

    // The checker itself catches drift: a field the document does not declare, a wrong
    // type, a status it does not list, a documented header missing.
    let mut drifted = cases[7].2.clone();
    drifted.body["data"][0]["colour"] = json!("blue");
    assert!(contract.check("/api/v1/metrics", "get", &drifted).is_err());
    let mut drifted = cases[7].2.clone();
    drifted.body["data"][0]["name"] = json!(7);
    assert!(contract.check("/api/v1/metrics", "get", &drifted).is_err());
    let mut drifted = cases[7].2.clone();
    drifted.status = 418;
    assert!(contract.check("/api/v1/metrics", "get", &drifted).is_err());
    let mut drifted = limited.clone();
    drifted.headers.remove("retry-after");
    assert!(contract.check("/api/v1/insights", "get", &drifted).is_err());
    let mut drifted = limited.clone();
    drifted.headers.insert(
        "retry-after",
        reqwest::header::HeaderValue::from_static("600"),
    );
    assert!(contract.check("/api/v1/insights", "get", &drifted).is_err());
}

/// Spends `used` of the read token's 600 requests of this minute (in the database), then
/// runs `send`; again, up to three times, if the minute turned meanwhile (which starts a
/// new budget). The minute and what `send` gave.
async fn within_one_minute<T>(
    app: &TestApp,
    used: i32,
    send: impl AsyncFn() -> T,
) -> (chrono::DateTime<chrono::Utc>, T) {
    let minute = async || {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>("SELECT date_trunc('minute', now())")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    for _attempt in 0..3 {
        sqlx::query("DELETE FROM api_rate_windows")
            .execute(&app.pool)
            .await
            .unwrap();
        let before = minute().await;
        sqlx::query(
            "INSERT INTO api_rate_windows (token_id, window_start, requests)
             SELECT t.id, $1, $2 FROM api_tokens t WHERE t.scope = 'read'",
        )
        .bind(before)
        .bind(used)
        .execute(&app.pool)
        .await
        .unwrap();
        let sent = send().await;
        if minute().await == before {
            return (before, sent);
        }
    }
    panic!("three minutes turned during three tries");
}

/// The limit exactly: the 600th request of a minute is answered, the 601st refused. (The
/// budget before them is filled in the database; a minute's turn between the two
/// requests would start a new budget, so the pair is tried again then.)
#[tokio::test]
async fn the_600th_request_of_a_minute_is_answered_and_the_601st_refused() {
    let app = TestApp::spawn().await;
    let (_, _, read, _) = member(&app, "quinn@example.org").await;
    let (_, (six_hundredth, six_hundred_first)) = within_one_minute(&app, 599, async || {
        (
            api(&app, "GET", "/api/v1/metrics", Some(&read), None).await,
            api(&app, "GET", "/api/v1/metrics", Some(&read), None).await,
        )
    })
    .await;
    assert_eq!(six_hundredth.status, 200, "{}", six_hundredth.body);
    assert_problem(&six_hundred_first, 429, "rate_limited");
}

/// The limit holds under 50 simultaneous requests: with 570 of the minute's 600 used,
/// exactly 30 of them are answered and 20 refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_limit_holds_under_fifty_simultaneous_requests() {
    let app = TestApp::spawn().await;
    let (_, _, read, _) = member(&app, "quinn@example.org").await;
    let (minute, answers) = within_one_minute(&app, 570, async || {
        futures_util::future::join_all(
            (0..50).map(|_| api(&app, "GET", "/api/v1/metrics", Some(&read), None)),
        )
        .await
    })
    .await;
    let answered = answers.iter().filter(|a| a.status == 200).count();
    let refused = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!((answered, refused), (30, 20));
    let counted: i32 =
        sqlx::query_scalar("SELECT requests FROM api_rate_windows WHERE window_start = $1")
            .bind(minute)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(counted, 620, "every request counted once");
}

/// Any JSON, nested a few levels.
fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|x| json!(x)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("mood"),
            Just("sleep"),
            Just("steps"),
            Just("7:30"),
            Just("2026-11-20T07:00"),
            Just("lb"),
            Just("\u{0}"),
            Just("1e309"),
            Just("-0"),
            Just("NaN"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("metric".to_string()),
                    Just("value".to_string()),
                    Just("unit".to_string()),
                    Just("time".to_string()),
                    Just("note".to_string()),
                    Just("idempotency_key".to_string()),
                    ".{0,12}".prop_map(String::from),
                ],
                inner,
                0..6,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// An item that is nearly right: a real metric, mostly a plausible value.
fn near_item() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    (
        prop_oneof![
            Just("mood"),
            Just("steps"),
            Just("sleep"),
            Just("weight"),
            Just("nope")
        ],
        prop_oneof![3 => (0u32..12).prop_map(|n| json!(n)), 1 => any_json()],
        proptest::option::of(prop_oneof![
            Just(json!("2026-11-20T07:00")),
            Just(json!("2026-13-40")),
            any_json()
        ]),
        proptest::option::of("[a-z0-9]{1,6}"),
    )
        .prop_map(|(metric, value, time, key)| {
            let mut item = json!({ "metric": metric, "value": value });
            if let Some(time) = time {
                item["time"] = time;
            }
            if let Some(key) = key {
                item["idempotency_key"] = json!(key);
            }
            item
        })
}

/// Hostile bodies for `POST /api/v1/observations`, generated (a fixed seed, 300 of them):
/// any JSON, and batches of items that look almost right. Never a 5xx; an error is a
/// problem document; a 200 accounts for every item; and exactly the accepted items land.
#[tokio::test]
async fn generated_bodies_never_break_the_observations_endpoint() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let app = TestApp::spawn().await;
    let (_, id, _, write) = member(&app, "quinn@example.org").await;
    let bodies = prop_oneof![
        1 => any_json(),
        3 => proptest::collection::vec(prop_oneof![any_json(), near_item()], 0..8)
            .prop_map(|items| json!({ "observations": items })),
    ];
    let mut runner = TestRunner::deterministic();
    let mut accepted = 0;
    for _ in 0..300 {
        let body = bodies.new_tree(&mut runner).unwrap().current();
        let answer = api(
            &app,
            "POST",
            "/api/v1/observations",
            Some(&write),
            Some(body.to_string()),
        )
        .await;
        assert!(
            answer.status < 500,
            "{} for {body}: {}",
            answer.status,
            answer.body
        );
        if answer.status >= 400 {
            assert_eq!(answer.content_type, "application/problem+json", "{body}");
            continue;
        }
        assert_eq!(answer.status, 200, "{body}");
        let items = body["observations"].as_array().map_or(0, Vec::len) as u64;
        let count = |field: &str| answer.body[field].as_u64().unwrap();
        assert_eq!(count("received"), items, "{body}: {}", answer.body);
        assert_eq!(
            count("accepted") + count("duplicates") + count("rejected"),
            items
        );
        assert_eq!(
            answer.body["results"].as_array().unwrap().len() as u64,
            items
        );
        accepted += count("accepted");
    }
    let landed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM raw_observations WHERE user_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(landed as u64, accepted, "exactly the accepted items landed");
    assert!(
        accepted > 50,
        "the bodies reach the landing, not only the checks: {accepted}"
    );
    println!("300 generated bodies: {accepted} items accepted");
}

/// schemathesis (property-based tests generated from the OpenAPI document) against the
/// live API with a write token, every check it has: no 5xx, every answer's status, content
/// type, headers and body as documented, invalid input refused, valid input accepted,
/// authentication enforced. Bounded (a fixed seed and example count); the rate limit's
/// minute is reset while it runs, since the limit is tested on its own above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_document_does_not_promise() {
    let app = TestApp::spawn().await;
    cohort::seed::seed_demo(&app.pool, chrono::Utc::now())
        .await
        .unwrap();
    let (client, _, _, write) = member(&app, "quinn@example.org").await;
    app.call(&client, "join_group", &[("slug", "qs-north-bay")])
        .await;
    let pool = app.pool.clone();
    let resetting = tokio::spawn(async move {
        loop {
            let _ = sqlx::query("DELETE FROM api_rate_windows")
                .execute(&pool)
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    });
    let program =
        crate::schemathesis::find().expect("schemathesis is not installed: run .ci/setup --test");
    let address = app.address.clone();
    // A longer run: COHORT_SCHEMATHESIS_EXAMPLES=500 COHORT_SCHEMATHESIS_SEED=… (README).
    let examples = std::env::var("COHORT_SCHEMATHESIS_EXAMPLES").unwrap_or("25".into());
    let seed = std::env::var("COHORT_SCHEMATHESIS_SEED").unwrap_or("7".into());
    let scratch = tempfile::tempdir().unwrap();
    let workdir = scratch.path().to_path_buf();
    let run = tokio::task::spawn_blocking(move || {
        crate::schemathesis::command(&program, &address, &write, &workdir)
            .args(["--max-examples", &examples, "--seed", &seed])
            .output()
            .expect("running schemathesis")
    })
    .await
    .unwrap();
    resetting.abort();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    eprintln!("{report}");
    assert!(run.status.success(), "schemathesis failed:\n{report}");
}
