//! Benchmark of the pages (not a test): `wrk` with 64 connections for SECONDS (30 by
//! default) against the demo's home page, its next meetup's page as a member, the quick
//! log and the dashboard, served by Cohort's real router in this process, beside a
//! minimal axum handler that runs the home page's SQL (`app::events::ssr::home_data`)
//! and renders a trivial template, measured in the same run on the same database.
//!
//!     apt-get install wrk
//!     cargo run --release -p server --example bench_pages [-- SECONDS]
//!
//! Prints a Markdown table: requests per second, p50 and p99 latency, and each page's
//! requests per second as a share of the minimal handler's. Targets: p99 under 25 ms and
//! at least half of the minimal handler's rate.
//!
//! `BENCH_ONLY=events`: the minimal handler and the pages whose name has that in it.
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

/// The reference: the home page's queries, and a page that lists what they found.
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

    // The minimal handler.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let minimal_url = format!("http://{}/", listener.local_addr()?);
    let reference_pool = pool.clone();
    let router = axum::Router::new().route("/", get(move || minimal(reference_pool.clone())));
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
    let event: i64 = sqlx::query_scalar(
        "SELECT id FROM events WHERE starts_at > now() AND status = 'scheduled' ORDER BY starts_at LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;

    let targets: Vec<(String, String, Option<&str>)> = vec![
        (
            "minimal handler (home SQL, trivial template)".into(),
            minimal_url,
            None,
        ),
        ("`/` logged out".into(), format!("{base}/"), None),
        (
            format!("`/events/{event}` as a member"),
            format!("{base}/events/{event}"),
            Some(cookie.as_str()),
        ),
        (
            "`/track` (quick log)".into(),
            format!("{base}/track"),
            Some(cookie.as_str()),
        ),
        (
            "`/dashboard`".into(),
            format!("{base}/dashboard"),
            Some(cookie.as_str()),
        ),
    ];
    // BENCH_ONLY=track: the minimal handler and the pages whose name has that in it (to
    // profile one page).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let targets: Vec<_> = targets
        .into_iter()
        .enumerate()
        .filter(|(i, (name, _, _))| *i == 0 || name.contains(only.as_str()))
        .map(|(_, target)| target)
        .collect();
    // Every page answers 200, and the member's pages as the member.
    for (name, url, cookie) in &targets {
        let mut request = client.get(url);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", *cookie);
        }
        let response = request.send().await?;
        if response.status() != 200 {
            bail!("{name}: {} from {url}", response.status());
        }
        let body = response.text().await?;
        if cookie.is_some() && !body.contains("Morgan") {
            bail!("{name}: the page is not the logged-in member's");
        }
    }

    println!(
        "Pages: wrk -t2 -c{CONNECTIONS} -d{seconds}s, the demo, in-process server (release build)\n"
    );
    println!("| page | requests/s | p50 | p99 | vs minimal handler | non-2xx |");
    println!("|---|---|---|---|---|---|");
    let mut reference = None;
    let mut statements = Vec::new();
    for (name, url, cookie) in &targets {
        database.reset_statements().await?;
        let measured = run_wrk(url, *cookie, seconds)?;
        statements.push((
            name.clone(),
            measured.requests,
            database.statements(8).await?,
        ));
        let base_rate = *reference.get_or_insert(measured.per_second);
        println!(
            "| {name} | {:.0} | {:.1} ms | {:.1} ms | {:.2} | {} |",
            measured.per_second,
            measured.p50_ms,
            measured.p99_ms,
            measured.per_second / base_rate,
            measured.not_ok
        );
    }
    println!("\nTargets: p99 under 25 ms; at least 0.5 of the minimal handler's requests/s.");
    // With BENCH_PG=shared_preload_libraries=pg_stat_statements: each page's statements,
    // per request.
    for (name, requests, rows) in statements {
        if rows.is_empty() {
            continue;
        }
        println!("\n{name}: PostgreSQL's time per request, by statement");
        for (query, calls, total, _) in rows {
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
