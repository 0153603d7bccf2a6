//! A metric's page: its history with filters, editing and deleting an entry.

use super::*;
use crate::errors::{invalid, not_found, AppError};
use crate::insights::brush::Brush;
use crate::insights::svg::Chart;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::PgPool;

/// (id, observed at, value, note, tags, source).
type HistoryRow = (
    i64,
    DateTime<Utc>,
    f64,
    String,
    Vec<String>,
    String,
    bool,
    bool,
);

pub async fn metric_data(
    key: String,
    from: String,
    to: String,
    search: String,
    page: i64,
) -> Result<MetricData, AppError> {
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
    // Full-text search over the notes (`note_matches!`): every word of the search, as a
    // prefix ("walk" finds "walked").
    let pattern = prefix_query(&search);
    const FILTER: &str = concat!(
        "user_id = $1 AND metric_id = $2
        AND ($3::timestamptz IS NULL OR observed_at >= $3)
        AND ($4::timestamptz IS NULL OR observed_at < $4)
        AND ($5::text IS NULL OR ",
        note_matches!("$5"),
        ")"
    );
    let total: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM observations WHERE {FILTER}"))
            .bind(user.id)
            .bind(metric.id)
            .bind(lower)
            .bind(upper)
            .bind(&pattern)
            .fetch_one(&pool)
            .await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let rows: Vec<HistoryRow> = sqlx::query_as(&format!(
        "SELECT id, observed_at, value, note, tags, source, outlier, excluded FROM observations WHERE {FILTER}
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
    ?;
    let entries = rows
        .into_iter()
        .map(
            |(id, at, value, note, tags, source, outlier, excluded)| EntryView {
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
                outlier,
                excluded,
            },
        )
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
    ?;
    let latest = latest(&pool, user.id, &[metric.id]).await?;
    let (chart, brush, day_notes) =
        match chart(&pool, user.id, &metric, &zone, now, from_day, to_day).await? {
            Some((chart, brush, notes)) => (Some(chart), Some(brush), notes),
            None => (None, None, Vec::new()),
        };
    let groups = crate::insights::band::ssr::bands(&pool, user.id, &metric).await?;
    let crate::insights::profile::ssr::Profile {
        charts: patterns,
        records,
    } = patterns(&pool, user.id, &metric, &zone, now).await?;
    Ok(MetricData {
        chart,
        brush,
        day_notes,
        groups,
        patterns,
        records,
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

/// The metric's last year (heatmap, weekdays, spread) and its streaks and bests.
async fn patterns(
    pool: &PgPool,
    user_id: i64,
    metric: &MetricRow,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<crate::insights::profile::ssr::Profile, AppError> {
    let today = zone
        .parse::<chrono_tz::Tz>()
        .map(|tz| now.with_timezone(&tz).date_naive())
        .unwrap_or_else(|_| now.date_naive());
    let days: std::collections::BTreeMap<NaiveDate, f64> = sqlx::query_as::<_, (NaiveDate, f64)>(
        "SELECT day, value FROM daily_values
          WHERE user_id = $1 AND metric_id = $2 AND day BETWEEN $3 AND $4",
    )
    .bind(user_id)
    .bind(metric.id)
    .bind(today - chrono::TimeDelta::days(364))
    .bind(today)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let summary: Option<sqlx::types::Json<crate::stats::daily::Summary>> = sqlx::query_scalar(
        "SELECT summary FROM metric_summaries WHERE user_id = $1 AND metric_id = $2",
    )
    .bind(user_id)
    .bind(metric.id)
    .fetch_optional(pool)
    .await?;
    Ok(crate::insights::profile::ssr::profile(
        metric,
        &days,
        summary.as_ref().map(|s| &s.0),
        today,
    ))
}

/// The chart of the metric's daily values over the filter's dates: without them, from
/// the first value of the last 90 days to the member's today; at most [`MAX_DAYS`]. With
/// it, the member's notes on its days, numbered as the chart marks them.
async fn chart(
    pool: &PgPool,
    user_id: i64,
    metric: &MetricRow,
    zone: &str,
    now: DateTime<Utc>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Option<(Chart, Brush, Vec<DayNote>)>, AppError> {
    use crate::insights::line::ssr::{build, MAX_DAYS};
    let today = zone
        .parse::<chrono_tz::Tz>()
        .map(|tz| now.with_timezone(&tz).date_naive())
        .unwrap_or_else(|_| now.date_naive());
    let to = to.unwrap_or(today);
    let from = match from {
        Some(from) => from,
        // Without a date: the last 90 days, or fewer when the first value is later.
        None => {
            let first: Option<NaiveDate> = sqlx::query_scalar(
                "SELECT min(day) FROM daily_values WHERE user_id = $1 AND metric_id = $2 AND day > $3",
            )
            .bind(user_id)
            .bind(metric.id)
            .bind(to - chrono::TimeDelta::days(90))
            .fetch_one(pool)
            .await?;
            first.unwrap_or(to - chrono::TimeDelta::days(89)).min(to)
        }
    }
    .max(to - chrono::TimeDelta::days(MAX_DAYS - 1));
    if from > to {
        return Ok(None);
    }
    let days: Vec<(NaiveDate, f64)> = sqlx::query_as(
        "SELECT day, value FROM daily_values
          WHERE user_id = $1 AND metric_id = $2 AND day BETWEEN $3 AND $4 ORDER BY day",
    )
    .bind(user_id)
    .bind(metric.id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let outliers: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT DISTINCT (observed_at AT TIME ZONE $3)::date FROM observations
          WHERE user_id = $1 AND metric_id = $2 AND outlier AND NOT excluded
            AND observed_at >= ($4::date - 1)::timestamptz AND observed_at < ($5::date + 2)::timestamptz",
    )
    .bind(user_id)
    .bind(metric.id)
    .bind(zone)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let notes: Vec<(NaiveDate, String)> = sqlx::query_as(
        "SELECT day, note FROM day_notes WHERE user_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
    )
    .bind(user_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let days: Vec<(NaiveDate, f64)> = days
        .into_iter()
        .map(|(day, value)| (day, metric.display_number(value)))
        .collect();
    let Some(chart) = build(
        &metric.name,
        &metric.display_label(),
        &days,
        &outliers,
        &notes,
        metric.goal.map(|goal| metric.display_number(goal)),
        from,
        to,
    ) else {
        return Ok(None);
    };
    let mut values = vec![None; (to - from).num_days() as usize + 1];
    for (day, value) in days {
        if let Some(slot) = values.get_mut((day - from).num_days() as usize) {
            *slot = Some(value);
        }
    }
    let brush = Brush {
        key: metric.key.clone(),
        start: crate::insights::brush::days_of(from),
        values,
        unit: metric.display_label(),
        decimals: metric.display_decimals(),
        notes: notes
            .iter()
            .map(|(day, note)| ((*day - from).num_days() as usize, note.clone()))
            .collect(),
    };
    let notes = notes
        .into_iter()
        .map(|(day, note)| DayNote {
            day: day.format("%Y-%m-%d").to_string(),
            label: crate::insights::brush::day_label(day),
            note,
        })
        .collect();
    Ok(Some((chart, brush, notes)))
}

/// One of the member's observations with its metric; anyone else's is "not found".
async fn own_entry(pool: &PgPool, user_id: i64, id: i64) -> Result<MetricRow, AppError> {
    let key: Option<String> = sqlx::query_scalar(
        "SELECT m.key FROM observations o JOIN metrics m ON m.id = o.metric_id
          WHERE o.id = $1 AND o.user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    own_metric(pool, user_id, &key.ok_or_else(|| not_found("entry"))?).await
}

pub async fn save_entry(
    id: i64,
    value: String,
    unit: String,
    at: String,
    note: String,
) -> Result<(), AppError> {
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
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE observations SET value = $3, observed_at = $4, note = $5, tags = $6, sentiment = $7,
                updated_at = now()
          WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user.id)
    .bind(clean.value)
    .bind(clean.observed_at)
    .bind(&clean.note)
    .bind(&clean.tags)
    .bind(clean.sentiment)
    .execute(&mut *tx)
    .await
    ?;
    crate::pipeline::index::enqueue(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(())
}

/// Leaves one of the member's observations out of the statistics (or counts it again),
/// for an outlier they know to be a mistake; Index and Compute follow.
pub async fn exclude_entry(id: i64, excluded: bool) -> Result<(), AppError> {
    let (user, pool) = member().await?;
    let mut tx = pool.begin().await?;
    let changed =
        sqlx::query("UPDATE observations SET excluded = $3 WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.id)
            .bind(excluded)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if changed == 0 {
        return Err(not_found("entry"));
    }
    crate::pipeline::index::enqueue(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_entry(id: i64) -> Result<(), AppError> {
    let (user, pool) = member().await?;
    let mut tx = pool.begin().await?;
    let deleted = sqlx::query("DELETE FROM observations WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(not_found("entry"));
    }
    crate::pipeline::index::enqueue(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(())
}

/// SQL that an observation's note matches the tsquery in the parameter `$n` (say
/// `note_matches!("$5")`): written as the expression and predicate of the index
/// `observations_note_search` (migration 22), so that the planner can use it.
macro_rules! note_matches {
    ($parameter:literal) => {
        concat!(
            "(note <> '' AND to_tsvector('simple', note) @@ to_tsquery('simple', ",
            $parameter,
            "))"
        )
    };
}
pub(crate) use note_matches;

/// A search box's words as a prefix tsquery (`walk:* & hill:*`): letters and digits
/// only, so that nothing typed is read as query syntax. `None` without a word.
pub fn prefix_query(search: &str) -> Option<String> {
    let words: Vec<String> = search
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(10)
        .map(|w| format!("{}:*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::prefix_query;

    #[test]
    fn a_search_is_words_as_prefixes_and_nothing_else() {
        assert_eq!(
            prefix_query("  Walk hills! "),
            Some("walk:* & hills:*".into())
        );
        assert_eq!(
            prefix_query("a & !b | c:* <-> 'd'"),
            Some("a:* & b:* & c:* & d:*".into())
        );
        assert_eq!(prefix_query("#%&"), None);
    }
}
