//! Server side of the tracking pages: the bodies of their server functions and the
//! queries behind them. What members log goes through the pipeline
//! (`crate::pipeline::capture::land`, then `crate::pipeline::distill`); metrics in the
//! database are in `catalogue`.

use crate::accounts::ssr::{pool, require_user};
use crate::accounts::CurrentUser;
use crate::errors::{invalid, not_found, AppError};
use crate::pipeline::distill::distill;
use crate::policy::{require, Action, Actor};
use crate::track::catalogue::*;
use crate::track::entry::{check, RawEntry};
use crate::track::types::*;
use crate::track::units::Unit;
use crate::track::{Aggregate, Kind};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::PgPool;
use std::collections::HashMap;

mod day_notes;
mod history;
mod log;
mod settings;
pub use day_notes::*;
pub use history::*;
pub use log::*;
pub use settings::*;

/// Now in `zone`, as a datetime-local input wants it.
pub fn local_input(at: DateTime<Utc>, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
    at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()
}

/// "today 07:10", "yesterday 22:30", "Tue 24 Nov 07:10", "24 Nov 2025 07:10".
pub fn when_label(at: DateTime<Utc>, zone: &str, now: DateTime<Utc>) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
    let (local, today) = (at.with_timezone(&tz), now.with_timezone(&tz).date_naive());
    let days = (today - local.date_naive()).num_days();
    match days {
        0 => local.format("today %H:%M").to_string(),
        1 => local.format("yesterday %H:%M").to_string(),
        2..=6 => local.format("%a %-d %b %H:%M").to_string(),
        _ if local.year() == today.year() => local.format("%a %-d %b %H:%M").to_string(),
        _ => local.format("%-d %b %Y %H:%M").to_string(),
    }
}

fn form_key() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn member() -> Result<(CurrentUser, PgPool), AppError> {
    let user = require_user().await?;
    require(
        Actor {
            user: Some(&user),
            role: None,
        },
        Action::Track,
    )?;
    Ok((user, pool()?))
}

/// The latest value of each of these metrics of the member's, and when. One probe of
/// the history index per metric: the quick log costs the same after years of imported
/// data as on the first day (it used to count every observation the member had).
async fn latest(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    metric_ids: &[i64],
) -> Result<HashMap<i64, (f64, DateTime<Utc>)>, sqlx::Error> {
    let rows: Vec<(i64, f64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT m.id, o.value, o.observed_at
           FROM unnest($2::bigint[]) AS m(id)
           CROSS JOIN LATERAL (
                SELECT value, observed_at FROM observations
                 WHERE user_id = $1 AND metric_id = m.id
                 ORDER BY observed_at DESC, id DESC LIMIT 1) o",
    )
    .bind(user_id)
    .bind(metric_ids)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(metric, value, at)| (metric, (value, at)))
        .collect())
}

fn view_of(
    metric: &MetricRow,
    latest: Option<&(f64, DateTime<Utc>)>,
    zone: &str,
    now: DateTime<Utc>,
) -> MetricView {
    let kind = metric.kind();
    let display = Unit::find(&metric.display_unit);
    let units: Vec<(String, String)> = match Unit::find(&metric.unit) {
        Some(unit) if kind != Kind::YesNo && kind != Kind::Scale => unit
            .compatible()
            .into_iter()
            .map(|u| (u.code.to_string(), u.label.to_string()))
            .collect(),
        _ => Vec::new(),
    };
    MetricView {
        key: metric.key.clone(),
        name: metric.name.clone(),
        kind,
        aggregate: Aggregate::parse(&metric.aggregate).unwrap_or(Aggregate::Mean),
        unit: metric.unit.clone(),
        display_unit: metric.display_unit.clone(),
        display_label: display
            .map(|u| u.label.to_string())
            .unwrap_or_else(|| metric.display_unit.clone()),
        units,
        min: metric.min_value,
        max: metric.max_value,
        goal: metric.goal.map(|goal| metric.show(goal)),
        goal_input: metric
            .goal
            .map(|goal| metric.input(goal))
            .unwrap_or_default(),
        pinned: metric.pinned,
        custom: metric.owner_id.is_some(),
        latest: latest
            .map(|(value, at)| format!("{} · {}", metric.show(*value), when_label(*at, zone, now))),
    }
}

/// A metric of the member's, for its page and its settings.
async fn own_metric(pool: &PgPool, user_id: i64, key: &str) -> Result<MetricRow, AppError> {
    let mut conn = pool.acquire().await?;
    sqlx::query_as::<_, MetricRow>(&format!("{METRIC_SELECT} AND m.key = $2"))
        .bind(user_id)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| not_found("metric"))
}

fn parse_day(text: &str, field: &str) -> Result<Option<NaiveDate>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|day| (1..=9999).contains(&day.year()))
        .map(Some)
        .ok_or_else(|| invalid(format!("The {field} date should look like 2026-11-26.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_say_today_and_yesterday() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T20:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let la = "America/Los_Angeles";
        let label = |text: &str| {
            when_label(
                DateTime::parse_from_rfc3339(text)
                    .unwrap()
                    .with_timezone(&Utc),
                la,
                now,
            )
        };
        assert_eq!(label("2026-11-26T15:10:00Z"), "today 07:10");
        assert_eq!(label("2026-11-26T06:30:00Z"), "yesterday 22:30");
        assert_eq!(label("2026-11-20T16:00:00Z"), "Fri 20 Nov 08:00");
        assert_eq!(label("2025-11-20T16:00:00Z"), "20 Nov 2025 08:00");
    }
}
