//! Server side of the tracking pages: the bodies of their server functions and the
//! queries behind them. What members log goes through the pipeline
//! (`crate::pipeline::capture::land`, then `crate::pipeline::distill`); metrics in the
//! database are in `catalogue`.

use super::catalogue::*;
use super::types::*;
use super::units::{self, Unit};
use super::{canonical_value, Aggregate, Kind, Rules};
use crate::accounts::ssr::{pool, require_user};
use crate::accounts::{CurrentUser, FormErrors};
use crate::errors::{internal, invalid, not_found};
use crate::pipeline::distill::*;
use crate::policy::{require, Action, Actor};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use leptos::prelude::*;
use sqlx::PgPool;
use std::collections::HashMap;

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

async fn member() -> Result<(CurrentUser, PgPool), ServerFnError> {
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

/// Counts and latest values of each of the member's metrics.
async fn latest(
    pool: &PgPool,
    user_id: i64,
) -> Result<HashMap<i64, (i64, f64, DateTime<Utc>)>, sqlx::Error> {
    let rows: Vec<(i64, i64, f64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT DISTINCT ON (metric_id) metric_id, count(*) OVER (PARTITION BY metric_id),
                value, observed_at
           FROM observations WHERE user_id = $1
          ORDER BY metric_id, observed_at DESC, id DESC",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(metric, count, value, at)| (metric, (count, value, at)))
        .collect())
}

fn view_of(
    metric: &MetricRow,
    latest: Option<&(i64, f64, DateTime<Utc>)>,
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
        latest: latest.map(|(_, value, at)| {
            format!("{} · {}", metric.show(*value), when_label(*at, zone, now))
        }),
        count: latest.map_or(0, |(count, ..)| *count),
    }
}

pub async fn track_data() -> Result<TrackData, ServerFnError> {
    let (user, pool) = member().await?;
    let now = Utc::now();
    let metrics = {
        let mut conn = pool.acquire().await.map_err(internal)?;
        member_metrics(&mut conn, user.id).await.map_err(internal)?
    };
    let latest = latest(&pool, user.id).await.map_err(internal)?;
    let recent = recent(&pool, &user, &metrics, now)
        .await
        .map_err(internal)?;
    Ok(TrackData {
        time_zone: user.time_zone.clone(),
        now_local: local_input(now, &user.time_zone),
        form_key: form_key(),
        metrics: metrics
            .iter()
            .map(|m| view_of(m, latest.get(&m.id), &user.time_zone, now))
            .collect(),
        recent,
    })
}

/// The member's latest entries: the last observations logged, what is still being
/// processed, and what was refused in the last 30 days (with the reason).
async fn recent(
    pool: &PgPool,
    user: &CurrentUser,
    metrics: &[MetricRow],
    now: DateTime<Utc>,
) -> Result<Vec<RecentItem>, sqlx::Error> {
    let by_id: HashMap<i64, &MetricRow> = metrics.iter().map(|m| (m.id, m)).collect();
    let logged: Vec<(i64, f64, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT metric_id, value, observed_at, created_at FROM observations
          WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 10",
    )
    .bind(user.id)
    .fetch_all(pool)
    .await?;
    let unsettled: Vec<(serde_json::Value, DateTime<Utc>, Option<String>)> = sqlx::query_as(
        "SELECT r.payload, r.received_at, o.reason FROM raw_observations r
           LEFT JOIN raw_outcomes o ON o.raw_id = r.id
          WHERE r.user_id = $1 AND (o.raw_id IS NULL OR (NOT o.accepted AND o.decided_at > now() - interval '30 days'))
          ORDER BY r.id DESC LIMIT 20",
    )
    .bind(user.id)
    .fetch_all(pool)
    .await?;
    let mut items: Vec<(DateTime<Utc>, RecentItem)> = Vec::new();
    for (metric_id, value, observed_at, created_at) in logged {
        let Some(metric) = by_id.get(&metric_id) else {
            continue;
        };
        items.push((
            created_at,
            RecentItem {
                status: "logged".into(),
                metric: metric.name.clone(),
                value: metric.show(value),
                when: when_label(observed_at, &user.time_zone, now),
                reason: String::new(),
            },
        ));
    }
    for (payload, received_at, reason) in unsettled {
        let entry: RawEntry = serde_json::from_value(payload).unwrap_or_default();
        let unit = if entry.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", entry.unit)
        };
        items.push((
            received_at,
            RecentItem {
                status: if reason.is_some() {
                    "refused"
                } else {
                    "pending"
                }
                .into(),
                metric: entry.metric,
                value: format!("{}{unit}", entry.value),
                when: when_label(received_at, &user.time_zone, now),
                reason: reason.unwrap_or_default(),
            },
        ));
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.0));
    Ok(items.into_iter().take(15).map(|(_, item)| item).collect())
}

pub async fn log_entry(
    metric_key: String,
    value: String,
    unit: String,
    at: String,
    note: String,
    key: String,
) -> Result<String, ServerFnError> {
    let (user, pool) = member().await?;
    let key = key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(invalid("The form is out of date; reload the page."));
    }
    let mut tx = pool.begin().await.map_err(internal)?;
    let metric = find_metric(&mut tx, user.id, &metric_key)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("metric"))?;
    let entry = RawEntry {
        metric: metric.key.clone(),
        value,
        unit,
        at,
        time_zone: user.time_zone.clone(),
        note,
    };
    // The same checks Distill makes, now, so that a typo is an error on the form and
    // not a refusal found later.
    let clean = check(&entry, &metric, &user.time_zone, Utc::now()).map_err(invalid)?;
    let landed = crate::pipeline::capture::land(
        &mut tx,
        user.id,
        "quick_log",
        vec![crate::pipeline::capture::Landing {
            idempotency_key: format!("{key}:{}", metric.key),
            payload: serde_json::to_value(&entry).map_err(internal)?,
        }],
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    if !landed.is_empty() {
        // The job is the guarantee; distilling here too makes the entry show at once.
        if let Err(error) = distill(&pool, user.id, 100, 0).await {
            tracing::warn!(%error, "distilling a quick log inline failed; the job will retry");
        }
    }
    Ok(format!(
        "Logged {}: {}.",
        metric.name,
        metric.show(clean.value)
    ))
}

/// A metric of the member's, for its page and its settings.
async fn own_metric(pool: &PgPool, user_id: i64, key: &str) -> Result<MetricRow, ServerFnError> {
    let mut conn = pool.acquire().await.map_err(internal)?;
    sqlx::query_as::<_, MetricRow>(&format!("{METRIC_SELECT} AND m.key = $2"))
        .bind(user_id)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("metric"))
}

fn parse_day(text: &str, field: &str) -> Result<Option<NaiveDate>, ServerFnError> {
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

/// (id, observed at, value, note, tags, source).
type HistoryRow = (i64, DateTime<Utc>, f64, String, Vec<String>, String);

pub async fn metric_data(
    key: String,
    from: String,
    to: String,
    search: String,
    page: i64,
) -> Result<MetricData, ServerFnError> {
    let (user, pool) = member().await?;
    let now = Utc::now();
    let metric = own_metric(&pool, user.id, &key).await?;
    let zone = user.time_zone.clone();
    let (from_day, to_day) = (parse_day(&from, "from")?, parse_day(&to, "to")?);
    let start = |day: NaiveDate| {
        crate::events::recurrence::local_to_utc(day, NaiveTime::MIN, &zone)
            .unwrap_or_else(|_| day.and_time(NaiveTime::MIN).and_utc())
    };
    let lower = from_day.map(start);
    let upper = to_day.and_then(|day| day.succ_opt()).map(start);
    let search = search.trim().to_string();
    let pattern = (!search.is_empty()).then(|| {
        format!(
            "%{}%",
            search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    const FILTER: &str = "user_id = $1 AND metric_id = $2
        AND ($3::timestamptz IS NULL OR observed_at >= $3)
        AND ($4::timestamptz IS NULL OR observed_at < $4)
        AND ($5::text IS NULL OR note ILIKE $5)";
    let total: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM observations WHERE {FILTER}"))
            .bind(user.id)
            .bind(metric.id)
            .bind(lower)
            .bind(upper)
            .bind(&pattern)
            .fetch_one(&pool)
            .await
            .map_err(internal)?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let rows: Vec<HistoryRow> = sqlx::query_as(&format!(
        "SELECT id, observed_at, value, note, tags, source FROM observations WHERE {FILTER}
          ORDER BY observed_at DESC, id DESC LIMIT $6 OFFSET $7"
    ))
    .bind(user.id)
    .bind(metric.id)
    .bind(lower)
    .bind(upper)
    .bind(&pattern)
    .bind(PAGE_SIZE)
    .bind((page - 1) * PAGE_SIZE)
    .fetch_all(&pool)
    .await
    .map_err(internal)?;
    let entries = rows
        .into_iter()
        .map(|(id, at, value, note, tags, source)| EntryView {
            id,
            metric_key: metric.key.clone(),
            metric_name: metric.name.clone(),
            value: metric.show(value),
            value_input: metric.input(value),
            when: when_label(at, &zone, now),
            when_input: local_input(at, &zone),
            note,
            tags,
            source,
        })
        .collect();
    let shares: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT g.slug, g.name, s.level FROM memberships ms JOIN groups g ON g.id = ms.group_id
           LEFT JOIN metric_shares s ON s.group_id = g.id AND s.user_id = ms.user_id AND s.metric_id = $2
          WHERE ms.user_id = $1 ORDER BY g.name",
    )
    .bind(user.id)
    .bind(metric.id)
    .fetch_all(&pool)
    .await
    .map_err(internal)?;
    let latest = latest(&pool, user.id).await.map_err(internal)?;
    Ok(MetricData {
        metric: view_of(&metric, latest.get(&metric.id), &zone, now),
        now_local: local_input(now, &zone),
        time_zone: zone,
        form_key: form_key(),
        shares: shares
            .into_iter()
            .map(|(group_slug, group_name, level)| ShareView {
                group_slug,
                group_name,
                level: level.unwrap_or_else(|| "private".into()),
            })
            .collect(),
        entries,
        total,
        page,
        pages,
        from,
        to,
        search,
    })
}

/// One of the member's observations with its metric; anyone else's is "not found".
async fn own_entry(pool: &PgPool, user_id: i64, id: i64) -> Result<MetricRow, ServerFnError> {
    let key: Option<String> = sqlx::query_scalar(
        "SELECT m.key FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.id = $1 AND o.user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
    .map_err(internal)?;
    own_metric(pool, user_id, &key.ok_or_else(|| not_found("entry"))?).await
}

pub async fn save_entry(
    id: i64,
    value: String,
    unit: String,
    at: String,
    note: String,
) -> Result<(), ServerFnError> {
    let (user, pool) = member().await?;
    let metric = own_entry(&pool, user.id, id).await?;
    let unit = if unit.trim().is_empty() {
        metric.display_unit.clone()
    } else {
        unit
    };
    let entry = RawEntry {
        metric: metric.key.clone(),
        value,
        unit,
        at,
        time_zone: user.time_zone.clone(),
        note,
    };
    let clean = check(&entry, &metric, &user.time_zone, Utc::now()).map_err(invalid)?;
    sqlx::query(
        "UPDATE observations SET value = $3, observed_at = $4, note = $5, tags = $6, updated_at = now()
          WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user.id)
    .bind(clean.value)
    .bind(clean.observed_at)
    .bind(&clean.note)
    .bind(&clean.tags)
    .execute(&pool)
    .await
    .map_err(internal)?;
    Ok(())
}

pub async fn delete_entry(id: i64) -> Result<(), ServerFnError> {
    let (user, pool) = member().await?;
    let deleted = sqlx::query("DELETE FROM observations WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(&pool)
        .await
        .map_err(internal)?
        .rows_affected();
    if deleted == 0 {
        return Err(not_found("entry"));
    }
    Ok(())
}

pub async fn save_metric_settings(
    key: String,
    display_unit: String,
    goal: String,
    pinned: bool,
) -> Result<(), ServerFnError> {
    let (user, pool) = member().await?;
    let metric = own_metric(&pool, user.id, &key).await?;
    let display_unit = match display_unit.trim() {
        "" => metric.display_unit.clone(),
        code => {
            let compatible = Unit::find(&metric.unit)
                .zip(Unit::find(code))
                .and_then(|(canonical, shown)| units::convert(1.0, shown, canonical))
                .is_some();
            if !compatible && code != metric.unit {
                return Err(invalid(format!(
                    "{} cannot be shown in “{code}”.",
                    metric.name
                )));
            }
            Unit::find(code).map_or(code.to_string(), |u| u.code.to_string())
        }
    };
    let goal = match goal.trim() {
        "" => None,
        text => Some(
            canonical_value(&metric.rules(), text, &display_unit)
                .map_err(|reason| invalid(format!("Goal: {reason}")))?,
        ),
    };
    sqlx::query(
        "INSERT INTO metric_settings (user_id, metric_id, pinned, display_unit, goal)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, metric_id) DO UPDATE SET pinned = EXCLUDED.pinned,
           display_unit = EXCLUDED.display_unit, goal = EXCLUDED.goal, updated_at = now()",
    )
    .bind(user.id)
    .bind(metric.id)
    .bind(pinned)
    .bind(display_unit)
    .bind(goal)
    .execute(&pool)
    .await
    .map_err(internal)?;
    Ok(())
}

pub async fn pin_metric(key: String, pinned: bool) -> Result<(), ServerFnError> {
    let (user, pool) = member().await?;
    let metric = own_metric(&pool, user.id, &key).await?;
    sqlx::query(
        "INSERT INTO metric_settings (user_id, metric_id, pinned) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, metric_id) DO UPDATE SET pinned = EXCLUDED.pinned, updated_at = now()",
    )
    .bind(user.id)
    .bind(metric.id)
    .bind(pinned)
    .execute(&pool)
    .await
    .map_err(internal)?;
    Ok(())
}

pub async fn share_metric(
    key: String,
    group_slug: String,
    level: String,
) -> Result<(), ServerFnError> {
    let (user, pool) = member().await?;
    let metric = own_metric(&pool, user.id, &key).await?;
    let group: Option<i64> = sqlx::query_scalar("SELECT id FROM groups WHERE slug = $1")
        .bind(&group_slug)
        .fetch_optional(&pool)
        .await
        .map_err(internal)?;
    let group = group.ok_or_else(|| not_found("group"))?;
    // Making a metric private is always allowed, member of the group or not.
    if level == "private" {
        sqlx::query(
            "DELETE FROM metric_shares WHERE user_id = $1 AND metric_id = $2 AND group_id = $3",
        )
        .bind(user.id)
        .bind(metric.id)
        .bind(group)
        .execute(&pool)
        .await
        .map_err(internal)?;
        return Ok(());
    }
    let role = crate::groups::ssr::role_in(&pool, group, Some(&user)).await?;
    require(
        Actor {
            user: Some(&user),
            role,
        },
        Action::ShareWithGroup,
    )?;
    match level.as_str() {
        "aggregate" | "members" => {
            sqlx::query(
                "INSERT INTO metric_shares (user_id, metric_id, group_id, level) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id, metric_id, group_id) DO UPDATE SET level = EXCLUDED.level, updated_at = now()",
            )
            .bind(user.id)
            .bind(metric.id)
            .bind(group)
            .bind(&level)
            .execute(&pool)
            .await
            .map_err(|error| {
                // The membership went away since the check (left at the same moment):
                // the share's foreign key to the membership refused it.
                if error
                    .as_database_error()
                    .is_some_and(|db| db.is_foreign_key_violation())
                {
                    crate::errors::forbidden()
                } else {
                    internal(error)
                }
            })?;
        }
        _ => return Err(invalid("Share as private, aggregate or members.")),
    }
    Ok(())
}

fn optional_number(text: &str, field: &str, errors: &mut FormErrors) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match super::parse_number(text) {
        Ok(value) => Some(value),
        Err(message) => {
            errors.add(field, Err(message));
            None
        }
    }
}

pub async fn create_metric(
    name: String,
    kind: String,
    unit: String,
    aggregate: String,
    min: String,
    max: String,
    goal: String,
) -> Result<FormErrors, ServerFnError> {
    let (user, pool) = member().await?;
    let mut errors = FormErrors::default();
    let name = name.trim().to_string();
    match name.chars().count() {
        0 => errors.add("name", Err("Give the metric a name.".into())),
        81.. => errors.add("name", Err("Keep the name to 80 characters.".into())),
        _ => {}
    }
    let kind = Kind::parse(&kind);
    if kind.is_none() {
        errors.add("kind", Err("Choose what kind of metric it is.".into()));
    }
    let aggregate = Aggregate::parse(&aggregate);
    if aggregate.is_none() {
        errors.add("aggregate", Err("Choose how a day adds up.".into()));
    }
    let unit = match kind.map(|kind| super::canonical_unit_for(kind, &unit)) {
        Some(Ok(unit)) => unit,
        Some(Err(message)) => {
            errors.add("unit", Err(message));
            String::new()
        }
        None => String::new(),
    };
    let (mut min, mut max) = (
        optional_number(&min, "min", &mut errors),
        optional_number(&max, "max", &mut errors),
    );
    match kind {
        Some(Kind::Scale) => {
            if min.is_none() || max.is_none() {
                errors.add(
                    "max",
                    Err("A scale needs its lowest and highest points.".into()),
                );
            } else if max.unwrap_or(0.0) - min.unwrap_or(0.0) > 100.0 {
                errors.add("max", Err("Keep a scale to 100 points or fewer.".into()));
            }
        }
        Some(Kind::YesNo) => (min, max) = (Some(0.0), Some(1.0)),
        Some(Kind::Count | Kind::Duration) => min = Some(min.unwrap_or(0.0).max(0.0)),
        _ => {}
    }
    if let (Some(low), Some(high)) = (min, max) {
        if low >= high {
            errors.add(
                "max",
                Err("The highest value must be above the lowest.".into()),
            );
        }
    }
    if !errors.is_empty() {
        return Ok(errors);
    }
    let (Some(kind), Some(aggregate)) = (kind, aggregate) else {
        return Ok(errors);
    };
    let rules = Rules {
        name: name.clone(),
        kind,
        unit: unit.clone(),
        min,
        max,
    };
    let goal = match goal.trim() {
        "" => None,
        text => match canonical_value(&rules, text, "") {
            Ok(goal) => Some(goal),
            Err(message) => {
                errors.add("goal", Err(message));
                return Ok(errors);
            }
        },
    };
    let mut tx = pool.begin().await.map_err(internal)?;
    let base = super::slug(&name);
    let taken: Vec<String> = sqlx::query_scalar(
        "SELECT key FROM metrics WHERE (owner_id IS NULL OR owner_id = $1) AND key LIKE $2 || '%'",
    )
    .bind(user.id)
    .bind(&base)
    .fetch_all(&mut *tx)
    .await
    .map_err(internal)?;
    if taken.iter().any(|key| key == &base)
        && sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM metrics WHERE owner_id = $1 AND lower(name) = lower($2))",
        )
        .bind(user.id)
        .bind(&name)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?
    {
        errors.add(
            "name",
            Err("You already have a metric with this name.".into()),
        );
        return Ok(errors);
    }
    let key = (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|key| !taken.contains(key) && !RESERVED_KEYS.contains(&key.as_str()))
        .unwrap_or(base);
    let metric_id: i64 = sqlx::query_scalar(
        "INSERT INTO metrics (owner_id, key, name, kind, unit, display_unit, aggregate, min_value, max_value)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id",
    )
    .bind(user.id)
    .bind(&key)
    .bind(&name)
    .bind(kind.code())
    .bind(&unit)
    .bind(aggregate.code())
    .bind(min)
    .bind(max)
    .fetch_one(&mut *tx)
    .await
    .map_err(internal)?;
    sqlx::query(
        "INSERT INTO metric_settings (user_id, metric_id, pinned, goal) VALUES ($1, $2, true, $3)",
    )
    .bind(user.id)
    .bind(metric_id)
    .bind(goal)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    crate::redirect_local(&format!("/track/{key}"));
    Ok(errors)
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
