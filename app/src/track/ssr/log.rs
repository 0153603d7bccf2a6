//! The quick-log page: the member's pinned metrics, what was logged recently (and what
//! was refused, with why), and logging a value.

use super::*;
use crate::accounts::CurrentUser;
use crate::errors::{invalid, not_found, AppError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub async fn track_data() -> Result<TrackData, AppError> {
    let (user, pool) = member().await?;
    let now = Utc::now();
    // One connection for the four statements: each given back to the pool costs a round
    // trip (sqlx checks it).
    let mut conn = pool.acquire().await?;
    let metrics = member_metrics(&mut conn, user.id).await?;
    let ids: Vec<i64> = metrics.iter().map(|m| m.id).collect();
    let latest = latest(&mut *conn, user.id, &ids).await?;
    let recent = recent(&mut conn, &user, &metrics, now).await?;
    drop(conn);
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
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    metrics: &[MetricRow],
    now: DateTime<Utc>,
) -> Result<Vec<RecentItem>, sqlx::Error> {
    let by_id: HashMap<i64, &MetricRow> = metrics.iter().map(|m| (m.id, m)).collect();
    let logged: Vec<(i64, f64, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT metric_id, value, observed_at, created_at FROM observations
          WHERE user_id = $1 ORDER BY id DESC LIMIT 10",
    )
    .bind(user.id)
    .fetch_all(&mut *conn)
    .await?;
    // What Distill has not decided yet, among the member's last 40 sent (entries wait
    // there for seconds: one still waiting behind 40 newer ones is a stuck job, which the
    // jobs' page shows, not news for this list), and what it refused in the last 30 days
    // (`raw_outcomes_refused`). Both bounded: with a million accepted entries behind
    // them, the one query this replaces read them all, 0.7 to 0.9 s a page load. 40
    // rather than 200, each an index probe into raw_outcomes: this was the page's
    // dearest statement (0.46 ms with 200, 0.21 ms with 40, of which 0.09 ms is the
    // round trip; pgbench on the demo's data).
    let unsettled: Vec<(serde_json::Value, DateTime<Utc>, Option<String>)> = sqlx::query_as(
        "SELECT payload, received_at, reason FROM (
             (SELECT r.id, r.payload, r.received_at, NULL::text AS reason
                FROM (SELECT id, payload, received_at FROM raw_observations
                       WHERE user_id = $1 ORDER BY id DESC LIMIT 40) r
               WHERE NOT EXISTS (SELECT 1 FROM raw_outcomes o
                                  WHERE o.user_id = $1 AND o.raw_id = r.id)
               ORDER BY r.id DESC LIMIT 20)
             UNION ALL
             (SELECT r.id, r.payload, r.received_at, o.reason
                FROM raw_outcomes o
                JOIN raw_observations r ON r.user_id = o.user_id AND r.id = o.raw_id
               WHERE o.user_id = $1 AND NOT o.accepted
                 AND o.decided_at > now() - interval '30 days'
               ORDER BY o.decided_at DESC LIMIT 20)
           ) unsettled
          ORDER BY id DESC LIMIT 20",
    )
    .bind(user.id)
    .fetch_all(&mut *conn)
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
) -> Result<String, AppError> {
    let (user, pool) = member().await?;
    let key = key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(invalid("The form is out of date; reload the page."));
    }
    let mut tx = pool.begin().await?;
    let metric = find_metric(&mut tx, user.id, &metric_key)
        .await?
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
    let key = format!("{key}:{}", metric.key);
    let payload = serde_json::to_value(&entry)?;
    let landed = crate::pipeline::capture::land(
        &mut tx,
        user.id,
        "quick_log",
        vec![crate::pipeline::capture::Landing {
            idempotency_key: key.clone(),
            payload: payload.clone(),
        }],
    )
    .await?;
    if landed.is_empty() {
        // This form logged this metric before: the same entry again (a double tap, a
        // re-sent form) is answered as before; another value is refused, not dropped.
        let stored: Option<serde_json::Value> = sqlx::query_scalar(
            "SELECT payload FROM raw_observations
              WHERE user_id = $1 AND source = 'quick_log' AND idempotency_key = $2",
        )
        .bind(user.id)
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
        if stored.is_some_and(|stored| stored != payload) {
            return Err(invalid(format!(
                "This page already logged {} once. Reload the page to log another value.",
                metric.name
            )));
        }
    }
    tx.commit().await?;
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
