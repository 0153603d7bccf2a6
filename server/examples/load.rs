//! Load test (not a test of the test command): MEMBERS simulated members (200 by default)
//! use the demo for SECONDS (300 by default) through HTTP, as browsers and scripts would,
//! against Cohort's release build served in this process with its job workers: each
//! logs in, then, with a second or so between actions, reads the home page, the next
//! meetup, the quick log or the dashboard, logs a value, changes their RSVP, or sends a
//! batch of observations with an API token. Afterwards every write is accounted for:
//!
//! - no answer was a 5xx (nor a transport error);
//! - every quick log and every API item that was accepted landed once, and Distill made
//!   an observation of each (after the job queue drained);
//! - each member's RSVP in the database is the last one they sent.
//!
//! Prints p50 / p99 per action and a PASS / FAIL summary (exit code 1 on FAIL).
//!
//!     cargo run --release -p server --example load [-- MEMBERS SECONDS]

mod common;
#[path = "../tests/api/schemathesis.rs"]
mod schemathesis;
use common::BenchDatabase;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use cohort::jobs::Services;
use cohort::startup::{Application, WebSettings};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "load-test-password-1";

#[derive(Default)]
struct Tally {
    /// Latencies in ms by action.
    latencies: BTreeMap<&'static str, Vec<f64>>,
    server_errors: Vec<String>,
    transport_errors: Vec<String>,
    other_statuses: BTreeMap<u16, usize>,
    quick_logs_accepted: u64,
    api_items_accepted: u64,
}

struct Member {
    id: i64,
    client: reqwest::Client,
    token: String,
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let members: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let seconds: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(300);
    let database = BenchDatabase::start(20).await?;
    let pool = database.pool.clone();
    cohort::seed::seed_demo(&pool, Utc::now()).await?;

    // The server as `cohort serve` runs it: the router and two job workers.
    let app = Application::build(
        &WebSettings::local("127.0.0.1:0".parse()?, std::path::Path::new("target/site")),
        pool.clone(),
    )
    .await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let runner =
        cohort::job_types::cohort_runner(pool.clone(), 2, Arc::new(Services::default())).start();

    // The members: accounts made directly (one password hash for all), in the demo group.
    let hash = app::accounts::ssr::hash_password(PASSWORD.into())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let group: i64 = sqlx::query_scalar("SELECT id FROM groups ORDER BY id LIMIT 1")
        .fetch_one(&pool)
        .await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, time_zone, password_hash)
         SELECT 'load' || n || '@example.org', 'Load ' || n, 'America/Los_Angeles', $1
           FROM generate_series(1, $2) n RETURNING id",
    )
    .bind(&hash)
    .bind(members as i64)
    .fetch_all(&pool)
    .await?;
    sqlx::query("INSERT INTO memberships (group_id, user_id) SELECT $1, unnest($2::bigint[])")
        .bind(group)
        .bind(&ids)
        .execute(&pool)
        .await?;
    let events: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM events WHERE starts_at > now() AND status = 'scheduled' ORDER BY starts_at LIMIT 3",
    )
    .fetch_all(&pool)
    .await?;
    let tally = Arc::new(Mutex::new(Tally::default()));

    // Each member logs in (as a browser: the session cookie) and makes a write token.
    eprintln!("logging in {members} members");
    let mut logged_in = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let (client, token) = log_in(&base, &format!("load{}@example.org", n + 1)).await?;
        logged_in.push(Member {
            id: *id,
            client,
            token,
        });
    }

    // The differential check: schemathesis against the OpenAPI document for as long as
    // the load runs, as one more member with a write token of its own (its rate-limit
    // minute reset twice a second, so that it tests answers rather than the limit).
    let differential = match schemathesis::find() {
        Some(program) => {
            sqlx::query(
                "INSERT INTO users (email, display_name, time_zone, password_hash)
                 VALUES ('load-schemathesis@example.org', 'Schemathesis', 'America/Los_Angeles', $1)",
            )
            .bind(&hash)
            .execute(&pool)
            .await?;
            let (_, token) = log_in(&base, "load-schemathesis@example.org").await?;
            let resetting = {
                let pool = pool.clone();
                tokio::spawn(async move {
                    loop {
                        let _ = sqlx::query(
                            "DELETE FROM api_rate_windows WHERE token_id IN
                               (SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id
                                 WHERE u.email = 'load-schemathesis@example.org')",
                        )
                        .execute(&pool)
                        .await;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                })
            };
            let scratch = tempfile::tempdir()?;
            let child = schemathesis::command(&program, &base, &token, scratch.path())
                .args(["--max-time", &seconds.to_string()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()?;
            Some((child, resetting, scratch))
        }
        None => None,
    };

    eprintln!("{members} members for {seconds} s");
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (n, member) in logged_in.into_iter().enumerate() {
        let (base, tally, events) = (base.clone(), tally.clone(), events.clone());
        tasks.push(tokio::spawn(async move {
            let mut last_rsvp: BTreeMap<i64, &'static str> = BTreeMap::new();
            let mut step: u64 = n as u64 * 7919;
            let mut rng = move || {
                // xorshift: reproducible per member, no extra crate
                step ^= step << 13;
                step ^= step >> 7;
                step ^= step << 17;
                step
            };
            let _ = rng();
            let mut i = 0u64;
            while Instant::now() < until {
                i += 1;
                let pick = rng() % 100;
                let started = Instant::now();
                let (action, result): (&'static str, Result<reqwest::Response, reqwest::Error>) =
                    match pick {
                        0..=19 => ("GET /", member.client.get(format!("{base}/")).send().await),
                        20..=39 => (
                            "GET /events/{id}",
                            member.client.get(format!("{base}/events/{}", events[0])).send().await,
                        ),
                        40..=49 => ("GET /track", member.client.get(format!("{base}/track")).send().await),
                        50..=54 => (
                            "GET /dashboard",
                            member.client.get(format!("{base}/dashboard")).send().await,
                        ),
                        55..=74 => (
                            "POST log_entry",
                            member
                                .client
                                .post(format!("{base}/api/log_entry"))
                                .header("Origin", &base)
                                .header("Accept", "application/json")
                                .form(&[
                                    ("metric", "mood".to_string()),
                                    ("value", (1 + rng() % 9).to_string()),
                                    ("key", format!("load-{n}-{i}")),
                                ])
                                .send()
                                .await,
                        ),
                        75..=84 => {
                            let event = events[(rng() % events.len() as u64) as usize];
                            let answer = if rng() % 2 == 0 { "yes" } else { "no" };
                            let sent = member
                                .client
                                .post(format!("{base}/api/rsvp"))
                                .header("Origin", &base)
                                .header("Accept", "application/json")
                                .form(&[("event_id", event.to_string()), ("answer", answer.to_string())])
                                .send()
                                .await;
                            if sent.as_ref().is_ok_and(|r| r.status() == 200) {
                                last_rsvp.insert(event, answer);
                            }
                            ("POST rsvp", sent)
                        }
                        _ => {
                            let items: Vec<Value> = (0..5)
                                .map(|k| {
                                    json!({ "metric": "steps", "value": 1000 + rng() % 9000,
                                            "time": (Utc::now() - chrono::Duration::minutes((i * 5 + k) as i64)).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                                            "idempotency_key": format!("api-{n}-{i}-{k}") })
                                })
                                .collect();
                            (
                                "POST /api/v1/observations",
                                member
                                    .client
                                    .post(format!("{base}/api/v1/observations"))
                                    .bearer_auth(&member.token)
                                    .json(&json!({ "observations": items }))
                                    .send()
                                    .await,
                            )
                        }
                    };
                let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                let outcome = match result {
                    Err(error) => Err(format!("{action}: {error}")),
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body = response.text().await.unwrap_or_default();
                        Ok((status, body))
                    }
                };
                {
                    let mut tally = tally.lock().expect("the tally");
                    tally.latencies.entry(action).or_default().push(elapsed);
                    match outcome {
                        Err(error) => tally.transport_errors.push(error),
                        Ok((status, body)) if status >= 500 => tally
                            .server_errors
                            .push(format!("{action}: {status} {}", body.chars().take(200).collect::<String>())),
                        Ok((200, body)) => {
                            if action == "POST log_entry" {
                                tally.quick_logs_accepted += 1;
                            } else if action == "POST /api/v1/observations" {
                                let answer: Value = serde_json::from_str(&body).unwrap_or_default();
                                tally.api_items_accepted += answer["accepted"].as_u64().unwrap_or(0);
                            }
                        }
                        Ok((status, _)) => *tally.other_statuses.entry(status).or_default() += 1,
                    }
                }
                // A member's pause between actions: 0.5 to 1.5 s.
                tokio::time::sleep(Duration::from_millis(500 + rng() % 1000)).await;
            }
            (member.id, last_rsvp)
        }));
    }
    let mut last_rsvps = Vec::new();
    for task in tasks {
        last_rsvps.push(task.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let differential = match differential {
        Some((child, resetting, _scratch)) => {
            let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
            resetting.abort();
            let report = String::from_utf8_lossy(&output.stdout).into_owned();
            let cases = report
                .lines()
                .skip_while(|line| !line.starts_with("Test cases:"))
                .nth(1)
                .unwrap_or_default()
                .trim()
                .to_string();
            if !output.status.success() {
                println!("{report}{}", String::from_utf8_lossy(&output.stderr));
            }
            Some((output.status.success(), cases))
        }
        None => None,
    };

    // Let the pipeline catch up, then count.
    eprintln!("waiting for the job queue to drain");
    let drained = Instant::now();
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE state IN ('pending', 'running') AND queue = 'pipeline' AND run_at <= now()",
        )
        .fetch_one(&pool)
        .await?;
        if left == 0 || drained.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    runner.shutdown(Duration::from_secs(20)).await?;
    let (landed, distilled): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM raw_observations WHERE user_id = ANY($1)),
                (SELECT count(*) FROM observations WHERE user_id = ANY($1))",
    )
    .bind(&ids)
    .fetch_one(&pool)
    .await?;
    let mut rsvp_mismatches = 0;
    for (member, answers) in &last_rsvps {
        for (event, answer) in answers {
            let stored: Option<String> = sqlx::query_scalar(
                "SELECT answer::text FROM rsvps WHERE event_id = $1 AND user_id = $2",
            )
            .bind(event)
            .bind(member)
            .fetch_optional(&pool)
            .await?;
            if stored.as_deref() != Some(answer) {
                rsvp_mismatches += 1;
            }
        }
    }

    let tally = std::mem::take(&mut *tally.lock().expect("the tally"));
    let total: usize = tally.latencies.values().map(Vec::len).sum();
    println!(
        "Load: {members} members for {:.0} s against the release build in-process (2 job workers): {total} requests, {:.0}/s\n",
        elapsed,
        total as f64 / elapsed
    );
    println!("| action | requests | p50 | p99 |");
    println!("|---|---|---|---|");
    for (action, latencies) in &tally.latencies {
        let mut sorted = latencies.clone();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "| {action} | {} | {:.1} ms | {:.1} ms |",
            sorted.len(),
            at(0.5),
            at(0.99)
        );
    }
    let accepted = tally.quick_logs_accepted + tally.api_items_accepted;
    let checks = [
        (
            "no 5xx",
            tally.server_errors.is_empty(),
            format!("{} 5xx", tally.server_errors.len()),
        ),
        (
            "no transport error",
            tally.transport_errors.is_empty(),
            format!("{} errors", tally.transport_errors.len()),
        ),
        (
            "every accepted write landed once",
            landed as u64 == accepted,
            format!(
                "{accepted} accepted ({} quick logs, {} API items), {landed} landed",
                tally.quick_logs_accepted, tally.api_items_accepted
            ),
        ),
        (
            "Distill made an observation of each",
            distilled == landed,
            format!("{distilled} observations of {landed} landed"),
        ),
        (
            "each member's last RSVP is the stored one",
            rsvp_mismatches == 0,
            format!("{rsvp_mismatches} differ"),
        ),
    ];
    let mut checks = checks.to_vec();
    match differential {
        Some((ok, cases)) => checks.push((
            "schemathesis under the load: no 5xx, every answer as the OpenAPI document says",
            ok,
            cases,
        )),
        None => println!(
            "SKIP schemathesis under the load: not installed (.ci/setup --test installs it)"
        ),
    }
    println!("\nOther answers by status: {:?}", tally.other_statuses);
    for error in tally
        .server_errors
        .iter()
        .chain(&tally.transport_errors)
        .take(5)
    {
        println!("  e.g. {error}");
    }
    let mut passed = true;
    for (name, ok, detail) in checks {
        println!("{} {name}: {detail}", if ok { "PASS" } else { "FAIL" });
        passed &= ok;
    }
    pool.close().await;
    database.stop().await?;
    if !passed {
        std::process::exit(1);
    }
    Ok(())
}

/// Logs `email` in as a browser would (the session cookie) and makes a write token.
async fn log_in(base: &str, email: &str) -> Result<(reqwest::Client, String)> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let login = client
        .post(format!("{base}/api/login"))
        .header("Origin", base)
        .header("Accept", "application/json")
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await?;
    if login.status() != 200 {
        bail!("logging in {email}: {}", login.status());
    }
    let token: Value = client
        .post(format!("{base}/api/create_token"))
        .header("Origin", base)
        .header("Accept", "application/json")
        .form(&[("name", "load"), ("scope", "write")])
        .send()
        .await?
        .json()
        .await?;
    let token = token["secret"].as_str().context("a token")?.to_string();
    Ok((client, token))
}
