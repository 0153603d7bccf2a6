//! Server side of Capture: the catalogue in the database, landing what members send,
//! the Distill stage that checks it and promotes it into `observations`, and the
//! queries behind the tracking pages.
//!
//! Landing and distilling are separate on purpose: `land` writes what was received to
//! the append-only `raw_observations` in the transaction that enqueues the Distill job,
//! so nothing a member sent is lost even if the process dies right after. `distill`
//! takes landed rows without an outcome (`FOR UPDATE SKIP LOCKED`, so two runs never
//! take the same row) and records for each either its observation or the reason it
//! was refused, which the member sees.

use super::types::*;
use super::units::{self, Unit};
use super::{canonical_value, show_value, tags, Aggregate, Kind, Rules, CATALOGUE};
use crate::accounts::ssr::{pool, require_user};
use crate::accounts::{CurrentUser, FormErrors};
use crate::errors::{internal, invalid, not_found};
use crate::policy::{allows, Action, Actor};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

/// Writes the built-in catalogue into `metrics` (new metrics added, changed ones
/// updated); run at start-up after the migrations.
pub async fn sync_catalogue(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for metric in CATALOGUE {
        sqlx::query(
            "INSERT INTO metrics (owner_id, key, name, kind, unit, display_unit, aggregate,
                                  min_value, max_value, pinned_by_default)
             VALUES (NULL, $1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (key) WHERE owner_id IS NULL DO UPDATE SET
               name = EXCLUDED.name, kind = EXCLUDED.kind, unit = EXCLUDED.unit,
               display_unit = EXCLUDED.display_unit, aggregate = EXCLUDED.aggregate,
               min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value,
               pinned_by_default = EXCLUDED.pinned_by_default",
        )
        .bind(metric.key)
        .bind(metric.name)
        .bind(metric.kind.code())
        .bind(metric.unit)
        .bind(metric.display_unit)
        .bind(metric.aggregate.code())
        .bind(metric.min)
        .bind(metric.max)
        .bind(metric.pinned)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Keys that are pages under /track, never a metric's.
const RESERVED_KEYS: [&str; 3] = ["import", "export.csv", "export.json"];

/// A metric with one member's settings applied.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct MetricRow {
    pub id: i64,
    pub owner_id: Option<i64>,
    pub key: String,
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub display_unit: String,
    pub aggregate: String,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    /// Canonical unit.
    pub goal: Option<f64>,
    pub pinned: bool,
}

impl MetricRow {
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Quantity)
    }

    pub fn rules(&self) -> Rules {
        Rules {
            name: self.name.clone(),
            kind: self.kind(),
            unit: self.unit.clone(),
            min: self.min_value,
            max: self.max_value,
        }
    }

    /// A canonical value as the member reads it.
    pub fn show(&self, value: f64) -> String {
        show_value(value, &self.unit, &self.display_unit, self.kind())
    }

    /// A canonical value as a number in the display unit (for edit forms).
    pub fn input(&self, value: f64) -> String {
        if self.kind() == Kind::YesNo {
            return if value >= 0.5 { "yes" } else { "no" }.into();
        }
        match (Unit::find(&self.unit), Unit::find(&self.display_unit)) {
            (Some(from), Some(to)) => units::convert(value, from, to)
                .map(|v| units::format_number(v, 4))
                .unwrap_or_else(|| units::format_number(value, 4)),
            _ => units::format_number(value, 4),
        }
    }
}

const METRIC_SELECT: &str = "SELECT m.id, m.owner_id, m.key, m.name, m.kind, m.unit,
        coalesce(s.display_unit, m.display_unit) AS display_unit, m.aggregate,
        m.min_value, m.max_value, s.goal, coalesce(s.pinned, m.pinned_by_default) AS pinned
   FROM metrics m LEFT JOIN metric_settings s ON s.metric_id = m.id AND s.user_id = $1
  WHERE (m.owner_id IS NULL OR m.owner_id = $1)";

/// The catalogue and the member's own metrics, catalogue first.
pub async fn member_metrics(
    conn: &mut PgConnection,
    user_id: i64,
) -> Result<Vec<MetricRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{METRIC_SELECT} ORDER BY m.owner_id NULLS FIRST, m.id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// A metric the member may log, by key (or by name, as imports write it).
pub async fn find_metric(
    conn: &mut PgConnection,
    user_id: i64,
    key: &str,
) -> Result<Option<MetricRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{METRIC_SELECT} AND (m.key = $2 OR lower(m.name) = lower($2))
          ORDER BY (m.key = $2) DESC, m.owner_id NULLS FIRST LIMIT 1"
    ))
    .bind(user_id)
    .bind(key.trim())
    .fetch_optional(conn)
    .await
}

/// A member's metrics by key and by lower-cased name, as every capture path looks an
/// entry's metric up (imports and the API may name a metric either way).
pub struct MetricIndex<'a>(HashMap<String, &'a MetricRow>);

impl<'a> MetricIndex<'a> {
    pub fn new(metrics: &'a [MetricRow]) -> Self {
        MetricIndex(
            metrics
                .iter()
                .flat_map(|m| [(m.key.clone(), m), (m.name.to_lowercase(), m)])
                .collect(),
        )
    }

    /// The metric an entry names, or the reason it names none.
    pub fn find(&self, name: &str) -> Result<&'a MetricRow, String> {
        let name = name.trim();
        self.0
            .get(name)
            .or_else(|| self.0.get(&name.to_lowercase()))
            .copied()
            .ok_or_else(|| format!("There is no metric called “{name}”."))
    }
}

/// One entry as a capture path received it: the payload kept in `raw_observations`.
/// Every field is text, as sent; Distill reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEntry {
    /// A metric key (or name).
    pub metric: String,
    /// Text as typed, or a JSON number or boolean (the API).
    #[serde(deserialize_with = "text_or_number")]
    pub value: String,
    /// Empty: the metric's own unit.
    #[serde(default)]
    pub unit: String,
    /// RFC 3339, or a local date and time (`2026-11-26T07:10`, `2026-11-26 07:10`), or a
    /// date (noon that day); empty: when it was received. The API calls it `time`.
    #[serde(default, alias = "time")]
    pub at: String,
    /// The zone of a local time; empty: the member's zone.
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub note: String,
}

/// A value sent as text, as a number or as a boolean, kept as text.
fn text_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        serde_json::Value::Bool(yes) => Ok(if yes { "yes" } else { "no" }.into()),
        other => Err(D::Error::custom(format!(
            "the value should be a number or text, not {other}"
        ))),
    }
}

/// An entry that passed Distill's checks.
#[derive(Clone, Debug, PartialEq)]
pub struct Clean {
    pub metric_id: i64,
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub note: String,
    pub tags: Vec<String>,
}

pub const MAX_NOTE_CHARS: usize = 2000;

/// When something was observed: an instant, or a local time in `zone`. Not before 1900
/// and not more than a day ahead of `now`.
pub fn parse_time(at: &str, zone: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = at.trim();
    let instant = if at.is_empty() {
        now
    } else if let Ok(instant) = DateTime::parse_from_rfc3339(at) {
        instant.with_timezone(&Utc)
    } else if let Ok(instant) = DateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S %z") {
        // Apple Health writes "2026-11-26 07:10:00 -0800".
        instant.with_timezone(&Utc)
    } else {
        let local = [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
        ]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(at, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(at, "%Y-%m-%d")
                .ok()
                .map(|date| date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()))
        })
        .ok_or_else(|| {
            format!("“{at}” is not a time; use 2026-11-26 07:10 or 2026-11-26T07:10:00Z.")
        })?;
        crate::events::recurrence::local_to_utc(local.date(), local.time(), zone)?
    };
    if instant > now + TimeDelta::days(1) {
        return Err("That time is in the future.".into());
    }
    if instant.year() < 1900 {
        return Err("That time is before 1900.".into());
    }
    Ok(instant)
}

/// Distill's checks of one entry against its metric.
pub fn check(
    entry: &RawEntry,
    metric: &MetricRow,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<Clean, String> {
    // PostgreSQL cannot store NUL in text or JSON: refused here, this entry alone, on
    // every capture path (quick log, API, imports, Distill).
    let fields = [
        &entry.metric,
        &entry.value,
        &entry.unit,
        &entry.at,
        &entry.time_zone,
        &entry.note,
    ];
    if fields.iter().any(|text| text.contains('\0')) {
        return Err("Text may not contain NUL characters.".into());
    }
    let value = canonical_value(&metric.rules(), &entry.value, &entry.unit)?;
    let zone = if entry.time_zone.trim().is_empty() {
        zone
    } else {
        entry.time_zone.trim()
    };
    let observed_at = parse_time(&entry.at, zone, now)?;
    let note = entry.note.trim().to_string();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(format!(
            "Keep the note to {MAX_NOTE_CHARS} characters or fewer."
        ));
    }
    Ok(Clean {
        metric_id: metric.id,
        observed_at,
        value,
        tags: tags(&note),
        note,
    })
}

/// Job: distill a member's landed entries (its `Job` impl is in `server/src/capture.rs`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Distill {
    pub user_id: i64,
}

impl Distill {
    pub const KIND: &'static str = "distill";
    pub const QUEUE: &'static str = "pipeline";
}

/// What one Distill batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Distilled {
    pub accepted: usize,
    pub refused: usize,
    /// The batch was full: there may be more to do.
    pub more: bool,
    /// The last landed row the batch looked at: the next batch starts after it.
    pub last_id: i64,
}

/// Distills up to `limit` of a member's landed entries after the landed row `after` (0:
/// from the first), in one transaction and a handful of statements whatever the batch's
/// size: the entries are checked here, then duplicates are looked up, observations
/// inserted and outcomes written each by one set-based statement.
pub async fn distill(
    pool: &PgPool,
    user_id: i64,
    limit: i64,
    after: i64,
) -> Result<Distilled, sqlx::Error> {
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, String, serde_json::Value)> = sqlx::query_as(
        "SELECT r.id, r.source, r.payload FROM raw_observations r
          WHERE r.user_id = $1 AND r.id > $3
            AND NOT EXISTS (SELECT 1 FROM raw_outcomes o WHERE o.raw_id = r.id)
          ORDER BY r.id LIMIT $2
          FOR UPDATE SKIP LOCKED",
    )
    .bind(user_id)
    .bind(limit)
    .bind(after)
    .fetch_all(&mut *tx)
    .await?;
    let mut done = Distilled {
        more: rows.len() as i64 == limit,
        last_id: rows.last().map_or(after, |row| row.0),
        ..Distilled::default()
    };
    if rows.is_empty() {
        return Ok(done);
    }
    let zone: String = sqlx::query_scalar("SELECT time_zone FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or_else(|| "UTC".into());
    let metrics = member_metrics(&mut tx, user_id).await?;
    let index = MetricIndex::new(&metrics);

    // Check every entry; of the same value at the same time, the first one counts.
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(rows.len());
    let mut fresh: Vec<(i64, String, Clean)> = Vec::new();
    let mut first_of: HashMap<(i64, i64, u64), i64> = HashMap::new();
    for (raw_id, source, payload) in rows {
        let verdict = serde_json::from_value::<RawEntry>(payload)
            .map_err(|error| format!("The entry could not be read: {error}."))
            .and_then(|entry| check(&entry, index.find(&entry.metric)?, &zone, now));
        match verdict {
            Ok(clean) => {
                let key = (
                    clean.metric_id,
                    clean.observed_at.timestamp_micros(),
                    clean.value.to_bits(),
                );
                match first_of.get(&key) {
                    Some(&first) => outcomes.push(Outcome::SameAs(raw_id, first)),
                    None => {
                        first_of.insert(key, raw_id);
                        outcomes.push(Outcome::Fresh(raw_id));
                        fresh.push((raw_id, source, clean));
                    }
                }
            }
            Err(reason) => outcomes.push(Outcome::Refused(raw_id, reason)),
        }
    }

    // Entries already stored as observations (from an earlier import, say).
    let stored: HashMap<i64, i64> = if fresh.is_empty() {
        HashMap::new()
    } else {
        let found: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT c.raw_id,
                    (SELECT o.id FROM observations o
                      WHERE o.user_id = $1 AND o.metric_id = c.metric_id
                        AND o.observed_at = c.observed_at AND o.value = c.value
                      LIMIT 1)
               FROM UNNEST($2::bigint[], $3::bigint[], $4::timestamptz[], $5::float8[])
                    AS c(raw_id, metric_id, observed_at, value)",
        )
        .bind(user_id)
        .bind(fresh.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
        .bind(
            fresh
                .iter()
                .map(|(_, _, c)| c.metric_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            fresh
                .iter()
                .map(|(_, _, c)| c.observed_at)
                .collect::<Vec<_>>(),
        )
        .bind(fresh.iter().map(|(_, _, c)| c.value).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        found
            .into_iter()
            .filter_map(|(raw_id, existing)| existing.map(|id| (raw_id, id)))
            .collect()
    };
    fresh.retain(|(raw_id, _, _)| !stored.contains_key(raw_id));

    // The new observations, in one statement.
    let inserted: HashMap<i64, i64> = if fresh.is_empty() {
        HashMap::new()
    } else {
        let made: Vec<(i64, i64)> = sqlx::query_as(
            "INSERT INTO observations (user_id, metric_id, observed_at, value, note, tags, source, raw_id)
             SELECT $1, c.metric_id, c.observed_at, c.value, c.note,
                    ARRAY(SELECT jsonb_array_elements_text(c.tags)), c.source, c.raw_id
               FROM UNNEST($2::bigint[], $3::timestamptz[], $4::float8[], $5::text[],
                           $6::jsonb[], $7::text[], $8::bigint[])
                    AS c(metric_id, observed_at, value, note, tags, source, raw_id)
             ON CONFLICT (raw_id) DO NOTHING RETURNING raw_id, id",
        )
        .bind(user_id)
        .bind(fresh.iter().map(|(_, _, c)| c.metric_id).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(_, _, c)| c.observed_at).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(_, _, c)| c.value).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(_, _, c)| c.note.clone()).collect::<Vec<_>>())
        .bind(
            fresh
                .iter()
                .map(|(_, _, c)| serde_json::json!(c.tags))
                .collect::<Vec<_>>(),
        )
        .bind(fresh.iter().map(|(_, s, _)| s.clone()).collect::<Vec<_>>())
        .bind(fresh.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        made.into_iter().collect()
    };

    // Every entry's outcome, in one statement.
    const ALREADY: &str = "Already stored: the same value at the same time.";
    let mut raw_ids = Vec::with_capacity(outcomes.len());
    let mut accepted = Vec::with_capacity(outcomes.len());
    let mut reasons = Vec::with_capacity(outcomes.len());
    let mut observations: Vec<Option<i64>> = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        let (raw_id, reason, observation) = match outcome {
            Outcome::Refused(raw_id, reason) => (raw_id, Some(reason), None),
            Outcome::Fresh(raw_id) => match stored.get(&raw_id) {
                Some(&existing) => (raw_id, Some(ALREADY.to_string()), Some(existing)),
                None => (raw_id, None, inserted.get(&raw_id).copied()),
            },
            Outcome::SameAs(raw_id, first) => {
                let observation = stored.get(&first).or_else(|| inserted.get(&first)).copied();
                (raw_id, Some(ALREADY.to_string()), observation)
            }
        };
        raw_ids.push(raw_id);
        accepted.push(reason.is_none());
        reasons.push(reason.unwrap_or_default());
        observations.push(observation);
    }
    let written: Vec<bool> = sqlx::query_scalar(
        "INSERT INTO raw_outcomes (raw_id, user_id, accepted, reason, observation_id)
         SELECT c.raw_id, $1, c.accepted, c.reason, c.observation_id
           FROM UNNEST($2::bigint[], $3::bool[], $4::text[], $5::bigint[])
                AS c(raw_id, accepted, reason, observation_id)
         ON CONFLICT (raw_id) DO NOTHING RETURNING accepted",
    )
    .bind(user_id)
    .bind(raw_ids)
    .bind(accepted)
    .bind(reasons)
    .bind(observations)
    .fetch_all(&mut *tx)
    .await?;
    done.accepted = written.iter().filter(|accepted| **accepted).count();
    done.refused = written.len() - done.accepted;
    tx.commit().await?;
    Ok(done)
}

/// What Distill decided for one landed entry, before the statements that record it.
enum Outcome {
    /// Valid and not seen earlier in the batch.
    Fresh(i64),
    /// The same value at the same time as the batch's entry `.1`.
    SameAs(i64, i64),
    Refused(i64, String),
}

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
    if !allows(
        Actor {
            user: Some(&user),
            role: None,
        },
        Action::Track,
    ) {
        return Err(crate::errors::forbidden());
    }
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
    if !allows(
        Actor {
            user: Some(&user),
            role,
        },
        Action::ShareWithGroup,
    ) {
        return Err(crate::errors::forbidden());
    }
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
    fn times_in_the_forms_people_and_exports_write() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T20:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let la = "America/Los_Angeles";
        let at = |text: &str| parse_time(text, la, now).map(|t| t.to_rfc3339());
        assert_eq!(
            at("2026-11-26T07:10"),
            Ok("2026-11-26T15:10:00+00:00".into())
        );
        assert_eq!(
            at("2026-11-26 07:10:30"),
            Ok("2026-11-26T15:10:30+00:00".into())
        );
        assert_eq!(
            at("2026-11-26T07:10:00Z"),
            Ok("2026-11-26T07:10:00+00:00".into())
        );
        assert_eq!(
            at("2026-11-26 07:10:00 -0800"),
            Ok("2026-11-26T15:10:00+00:00".into())
        );
        assert_eq!(at("2026-11-25"), Ok("2026-11-25T20:00:00+00:00".into()));
        assert_eq!(at(""), Ok(now.to_rfc3339()));
        assert!(at("2026-03-08T02:30").unwrap_err().contains("skip"));
        assert!(at("2026-12-01T07:00").unwrap_err().contains("future"));
        assert!(at("1850-01-01").unwrap_err().contains("1900"));
        assert!(at("yesterday").unwrap_err().contains("not a time"));
    }

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
