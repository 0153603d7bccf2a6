//! Benchmark of the pages (not a test): `wrk` with 64 connections for SECONDS (30 by
//! default) against the demo's home page, its next meetup's page as a member, the quick
//! log and the dashboard, served by Cohort's real router in this process. Beside each
//! page, in the same run on the same database, a minimal axum handler runs the same SQL
//! (the session look-up and the very function that loads the page's data) and renders
//! a trivial template: the ratio between the two is what Cohort's rendering, middleware
//! and hydration data cost on top of the queries.
//!
//!     apt-get install wrk
//!     cargo run --release -p server --example bench_pages [-- SECONDS]
//!
//! Prints a Markdown table: requests per second, p50 and p99 latency, and each page's
//! requests per second as a share of its minimal handler's. Targets: p99 under 25 ms and
//! at least half of the minimal handler's rate.
//!
//! `BENCH_ONLY=events`: only the pages whose name has that in it (and their handlers).
//! `BENCH_PG=shared_preload_libraries=pg_stat_statements`: also each page's statements,
//! PostgreSQL's time and calls per request.

mod common;
use common::BenchDatabase;

use anyhow::{bail, Context, Result};
use axum::routing::get;
use chrono::Utc;
use cohort::startup::{Application, WebSettings};
use sqlx::PgPool;
use std::fmt::Write as _;
use std::path::PathBuf;

const CONNECTIONS: u32 = 64;
const ORGANIZER: &str = "morgan.reyes@demo.cohort.invalid";

/// The home page's reference: its queries, and a page that lists what they found.
async fn minimal(pool: PgPool) -> axum::response::Html<String> {
    let data = app::events::ssr::home_data(&pool, Utc::now())
        .await
        .unwrap_or_else(|error| panic!("the home page's SQL: {error}"));
    let mut page = String::from("<!DOCTYPE html><title>Meetups</title><ul>");
    for meetup in data.upcoming.iter().chain(&data.past) {
        let _ = write!(page, "<li>{}</li>", app::html::escape(&meetup.title));
    }
    page.push_str("</ul>");
    axum::response::Html(page)
}

/// The route of a member page's minimal handler: [`minimal_member`] with the page's
/// server function and what to list of its answer.
fn member_route<T, Fut>(
    pool: PgPool,
    load: impl Fn() -> Fut + Clone + Send + Sync + 'static,
    lines: impl Fn(&T) -> Vec<String> + Clone + Send + Sync + 'static,
) -> axum::routing::MethodRouter
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Result<T, leptos::prelude::ServerFnError>> + Send + 'static,
{
    get(move |session| minimal_member(pool.clone(), session, load.clone(), lines.clone()))
}

/// A member's page's reference: the session's member looked up as `cohort serve` does
/// before a page (`user_for_session`), then the page's own server function called in a
/// reactive owner that holds what the server's router provides (the pool, the request
/// with its member), then a list of what it found. The same statements as the page,
/// none of its rendering.
async fn minimal_member<T, Fut>(
    pool: PgPool,
    session: tower_sessions::Session,
    load: impl FnOnce() -> Fut,
    lines: impl FnOnce(&T) -> Vec<String>,
) -> axum::response::Html<String>
where
    Fut: std::future::Future<Output = Result<T, leptos::prelude::ServerFnError>>,
{
    use leptos::prelude::{provide_context, Owner};
    let user = app::accounts::ssr::user_for_session(&pool, &session)
        .await
        .unwrap_or_else(|error| panic!("the session's member: {error}"));
    let mut parts = axum::http::Request::new(()).into_parts().0;
    parts.extensions.insert(app::accounts::RequestUser(user));
    let owner = Owner::new();
    let data = owner
        .with(|| {
            provide_context(pool);
            provide_context(app::accounts::ssr::SessionChanged::default());
            provide_context(parts);
            leptos::reactive::computed::ScopedFuture::new_untracked(load())
        })
        .await
        .unwrap_or_else(|error| panic!("the page's data: {error}"));
    let mut page = String::from("<!DOCTYPE html><title>Page</title><ul>");
    for line in lines(&data) {
        let _ = write!(page, "<li>{}</li>", app::html::escape(&line));
    }
    page.push_str("</ul>");
    drop(owner);
    axum::response::Html(page)
}

/// What wrk measured.
struct Measured {
    per_second: f64,
    requests: u64,
    p50_ms: f64,
    p99_ms: f64,
    not_ok: u64,
}

fn run_wrk(url: &str, cookie: Option<&str>, seconds: u64) -> Result<Measured> {
    let mut command = std::process::Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(cookie) = cookie {
        command.args(["-H", &format!("Cookie: {cookie}")]);
    }
    let output = command
        .arg(url)
        .output()
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        bail!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line[prefix.len()..].split_whitespace().next())
            .map(str::to_string)
    };
    let per_second: f64 = field("Requests/sec:")
        .context("wrk printed no Requests/sec")?
        .parse()?;
    // "  123456 requests in 30.01s, ..."
    let requests = text
        .lines()
        .find(|line| line.contains(" requests in "))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let p50_ms = millis(&field("50%").context("no p50")?)?;
    let p99_ms = millis(&field("99%").context("no p99")?)?;
    let not_ok = field("Non-2xx or 3xx responses:")
        .map(|n| n.parse().unwrap_or(0))
        .unwrap_or(0);
    Ok(Measured {
        per_second,
        requests,
        p50_ms,
        p99_ms,
        not_ok,
    })
}

/// "812.00us", "1.23ms", "2.01s" in milliseconds.
fn millis(text: &str) -> Result<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("a latency wrk did not write: {text}")
    };
    Ok(number.parse::<f64>()? * factor)
}

#[tokio::main]
async fn main() -> Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let database = BenchDatabase::start(10).await?;
    let pool = database.pool.clone();
    cohort::seed::seed_demo(&pool, Utc::now()).await?;
    let password = cohort::seed::reset_demo_password(&pool, false)
        .await?
        .context("a demo password")?;

    // Cohort, as `cohort serve` builds it.
    let site =
        PathBuf::from(std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()));
    let app = Application::build(
        &WebSettings::local("127.0.0.1:0".parse()?, &site),
        pool.clone(),
    )
    .await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    // The minimal handlers: one per page, the member's pages behind the same session
    // layer (cookie name and store) as Cohort's.
    let event: i64 = sqlx::query_scalar(
        "SELECT id FROM events WHERE starts_at > now() AND status = 'scheduled' ORDER BY starts_at LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let reference = format!("http://{}", listener.local_addr()?);
    let sessions = tower_sessions::SessionManagerLayer::new(cohort::db::session_store(&pool))
        .with_name("cohort_session")
        .with_secure(false);
    let router = axum::Router::new()
        .route(
            "/",
            get({
                let pool = pool.clone();
                move || minimal(pool.clone())
            }),
        )
        .route(
            "/event",
            member_route(
                pool.clone(),
                move || app::events::server_fns::get_event(event),
                |detail| {
                    let mut lines = vec![detail.title.clone()];
                    lines.extend(
                        detail
                            .attendees
                            .iter()
                            .flatten()
                            .map(|a| a.display_name.clone()),
                    );
                    lines.extend(detail.talks.iter().map(|t| t.title.clone()));
                    lines
                },
            ),
        )
        .route(
            "/track",
            member_route(pool.clone(), app::track::server_fns::get_track, |data| {
                data.metrics.iter().map(|m| m.name.clone()).collect()
            }),
        )
        .route(
            "/dashboard",
            member_route(
                pool.clone(),
                || app::insights::dashboard::get_dashboard(None),
                |data| data.cards.iter().map(|c| c.name.clone()).collect(),
            ),
        )
        .layer(sessions);
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The organizer's session cookie.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = client
        .post(format!("{base}/api/login"))
        .header("Origin", &base)
        .header("Accept", "application/json")
        .form(&[("email", ORGANIZER), ("password", password.as_str())])
        .send()
        .await?;
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("cohort_session="))
        .and_then(|value| value.split(';').next())
        .context("logging in gave no session cookie")?
        .to_string();
    // (name, page, its minimal handler, the member's cookie)
    let targets: Vec<(String, String, String, Option<&str>)> = vec![
        (
            "`/` logged out".into(),
            format!("{base}/"),
            format!("{reference}/"),
            None,
        ),
        (
            format!("`/events/{event}` as a member"),
            format!("{base}/events/{event}"),
            format!("{reference}/event"),
            Some(cookie.as_str()),
        ),
        (
            "`/track` (quick log)".into(),
            format!("{base}/track"),
            format!("{reference}/track"),
            Some(cookie.as_str()),
        ),
        (
            "`/dashboard`".into(),
            format!("{base}/dashboard"),
            format!("{reference}/dashboard"),
            Some(cookie.as_str()),
        ),
    ];
    // BENCH_ONLY=track: only the pages whose name has that in it (to profile one page).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let targets: Vec<_> = targets
        .into_iter()
        .filter(|(name, ..)| name.contains(only.as_str()))
        .collect();
    // Every page and handler answers 200, and the member's pages as the member.
    for (name, url, reference_url, cookie) in &targets {
        for url in [url, reference_url] {
            let mut request = client.get(url);
            if let Some(cookie) = cookie {
                request = request.header("Cookie", *cookie);
            }
            let response = request.send().await?;
            if response.status() != 200 {
                bail!("{name}: {} from {url}", response.status());
            }
            let body = response.text().await?;
            if url != reference_url && cookie.is_some() && !body.contains("Morgan") {
                bail!("{name}: the page is not the logged-in member's");
            }
        }
    }

    println!(
        "Pages: wrk -t2 -c{CONNECTIONS} -d{seconds}s, the demo, in-process server (release build)\n"
    );
    println!("| page | requests/s | p50 | p99 | its minimal handler: requests/s | p99 | share of the handler's rate | non-2xx |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut statements = Vec::new();
    for (name, url, reference_url, cookie) in &targets {
        database.reset_statements().await?;
        let reference = run_wrk(reference_url, *cookie, seconds)?;
        let reference_rows = database.statements(16).await?;
        database.reset_statements().await?;
        let measured = run_wrk(url, *cookie, seconds)?;
        let rows = database.statements(16).await?;
        statements.push((
            format!("{name}, its minimal handler"),
            reference.requests,
            reference_rows,
        ));
        statements.push((name.clone(), measured.requests, rows));
        println!(
            "| {name} | {:.0} | {:.1} ms | {:.1} ms | {:.0} | {:.1} ms | {:.2} | {} |",
            measured.per_second,
            measured.p50_ms,
            measured.p99_ms,
            reference.per_second,
            reference.p99_ms,
            measured.per_second / reference.per_second,
            measured.not_ok + reference.not_ok
        );
    }
    println!("\nTargets: p99 under 25 ms; at least 0.5 of the minimal handler's requests/s.");
    // With BENCH_PG=shared_preload_libraries=pg_stat_statements: each page's statements
    // and its handler's, per request (the same ones, by construction).
    for (name, requests, rows) in statements {
        if rows.is_empty() {
            continue;
        }
        let per_request: f64 = rows
            .iter()
            .filter(|(query, ..)| !query.contains("pg_stat_statements"))
            .map(|(_, calls, ..)| *calls as f64)
            .sum::<f64>()
            / requests.max(1) as f64;
        println!("\n{name}: {per_request:.1} statements a request; PostgreSQL's time per request, by statement");
        for (query, calls, total, _) in rows {
            if query.contains("pg_stat_statements") {
                continue;
            }
            let query: String = query.chars().take(110).collect();
            println!(
                "  {:>6.3} ms {:>5.2} calls  {query}",
                total / requests.max(1) as f64,
                calls as f64 / requests.max(1) as f64
            );
        }
    }
    pool.close().await;
    database.stop().await?;
    Ok(())
}
