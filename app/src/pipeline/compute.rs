//! Compute, per member: from the daily values Index stored (and the days they were at a
//! meetup), each metric's summary and every pair of series tested at lags 0 to 3, with
//! the insights that pass shown as sentences. The statistics are `crate::stats` (pure,
//! shared with the browser); this module reads the inputs, runs them and stores the
//! results with their provenance.
//!
//! Reproducible: the results are a function of the inputs (the series, the member's
//! date, the thresholds) and the code version, and the inputs' hash is stored beside
//! them; `cohort recompute` runs the same function for everyone and must write the same.

pub mod group;
pub mod meetup;

use crate::jobs::Job;
use crate::stats::daily::{self, Day, Summary, Tested, Thresholds, MEETUPS};
use crate::track::units::{self, Unit};
use crate::track::Kind;
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, HashMap};

/// Bumped whenever a change to the statistics or their inputs changes a result.
pub const CODE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+compute.3");

/// Pairs are tested over this many days up to the member's today.
pub const PAIR_WINDOW_DAYS: i64 = 365;

/// Job: recompute one member's summaries and insights (one pending per member).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Compute {
    pub user_id: i64,
}

impl Job for Compute {
    const KIND: &'static str = "compute";
    const QUEUE: &'static str = "pipeline";
    const MAX_ATTEMPTS: i32 = 10;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.user_id.to_string())
    }
}

/// The instance's thresholds for showing an insight, set once when a process starts
/// (`--insight-max-q`, `--insight-min-r`); the defaults otherwise. They are among the
/// inputs hashed, so changing them recomputes every member at the next compute.
static THRESHOLDS: std::sync::OnceLock<Thresholds> = std::sync::OnceLock::new();

/// Sets the instance's thresholds; only the first call counts.
pub fn set_thresholds(thresholds: Thresholds) {
    let _ = THRESHOLDS.set(thresholds);
}

pub fn thresholds() -> Thresholds {
    THRESHOLDS.get().copied().unwrap_or_default()
}

/// Everything one compute reads: a function of these (and [`CODE_VERSION`]) is what it
/// writes.
#[derive(Clone, Debug, Serialize)]
pub struct Inputs {
    pub as_of: NaiveDate,
    pub thresholds: Thresholds,
    /// By metric key (and [`MEETUPS`]), each sorted by date.
    pub series: BTreeMap<String, Vec<Day>>,
    /// Metric ids, names and goals by key (not for meetups).
    pub metrics: BTreeMap<String, MetricFacts>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricFacts {
    pub id: i64,
    pub name: String,
    pub goal: Option<f64>,
    /// The canonical unit's code, the unit the member reads it in, and the kind: how a
    /// sentence says an amount ("40 min less").
    pub unit: String,
    pub display_unit: String,
    pub kind: String,
}

impl MetricFacts {
    /// A difference in the canonical unit as the member reads it, with its direction:
    /// "40 min less", "0.8 points higher". `None` for yes/no metrics and for a difference that
    /// rounds to nothing.
    pub fn amount(&self, difference: f64) -> Option<String> {
        let kind = Kind::parse(&self.kind).unwrap_or(Kind::Quantity);
        if kind == Kind::YesNo || !difference.is_finite() {
            return None;
        }
        let from = Unit::find(&self.unit);
        // A difference converts as the difference of two converted values (an offset,
        // as between °C and °F, cancels out).
        let (size, unit) = match (from, Unit::find(&self.display_unit)) {
            (Some(from), Some(to)) => {
                match (
                    units::convert(difference, from, to),
                    units::convert(0.0, from, to),
                ) {
                    (Some(x), Some(zero)) => (x - zero, Some(to)),
                    _ => (difference, Some(from)),
                }
            }
            (from, _) => (difference, from),
        };
        // Under an hour reads better in minutes.
        let (size, unit) = match unit {
            Some(u) if u.code == "h" && size.abs() < 1.0 => (size * 60.0, Unit::find("min")),
            _ => (size, unit),
        };
        // A scale's points are said as points, to a tenth.
        let decimals = match unit {
            _ if kind == Kind::Scale => 1,
            // A count's difference is a mean's: 0.4 drinks, 1234 steps.
            _ if kind == Kind::Count => usize::from(size.abs() < 10.0),
            Some(u) => units::decimals_for(u),
            None => 2,
        };
        let number = units::format_number(size.abs(), decimals);
        if number.chars().all(|c| matches!(c, '0' | '.' | ',')) {
            return None;
        }
        let text = match unit {
            _ if kind == Kind::Scale => format!("{number} points"),
            Some(u) if kind != Kind::Count => units::display(size.abs(), u),
            Some(u) if !u.label.is_empty() => format!("{number} {}", u.label),
            _ => format!("{number} {}", self.unit),
        };
        let word = match (kind, difference > 0.0) {
            (Kind::Scale, true) => "higher",
            (Kind::Scale, false) => "lower",
            (_, true) => "more",
            (_, false) => "less",
        };
        Some(format!("{text} {word}"))
    }
}

/// What one compute makes of its inputs.
#[derive(Clone, Debug)]
pub struct Results {
    pub summaries: Vec<(i64, Summary)>,
    pub tests: Vec<Tested>,
    pub nudges: Vec<daily::Nudge>,
    /// The series the pairs were tested on ([`Inputs::pair_window`]).
    pub window: BTreeMap<String, Vec<Day>>,
}

/// Nudges kept per member.
pub const NUDGES: usize = 3;

impl Inputs {
    /// The SHA-256 of the inputs' canonical JSON (maps sorted by key), hex.
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The pure part: summaries and pair tests.
    pub fn compute(&self) -> Results {
        let summaries = self
            .metrics
            .iter()
            .filter_map(|(key, facts)| {
                let days = self.series.get(key)?;
                Some((facts.id, daily::summarise(days, self.as_of, facts.goal)))
            })
            .collect();
        let window = self.pair_window();
        Results {
            summaries,
            tests: daily::test_pairs(&window, self.thresholds),
            nudges: daily::nudges(&self.series, self.as_of, NUDGES),
            window,
        }
    }

    /// The series as pairs are tested on them: their last [`PAIR_WINDOW_DAYS`] days.
    pub fn pair_window(&self) -> BTreeMap<String, Vec<Day>> {
        let first = self.as_of - TimeDelta::days(PAIR_WINDOW_DAYS - 1);
        self.series
            .iter()
            .map(|(key, days)| {
                let recent = days.iter().filter(|d| d.date >= first).copied().collect();
                (key.clone(), recent)
            })
            .collect()
    }

    /// A metric's name for sentences, lower-cased as in running text.
    pub fn name(&self, key: &str) -> String {
        self.metrics
            .get(key)
            .map_or_else(|| key.to_string(), |m| m.name.to_lowercase())
    }
}

impl Compute {
    pub async fn run(self, pool: &PgPool) -> Result<(), sqlx::Error> {
        self.run_inner(pool, false).await
    }

    /// Runs now, straight after Index, in place of the queued job (taken off the queue
    /// in this run's transaction).
    pub async fn run_next(self, pool: &PgPool) -> Result<(), sqlx::Error> {
        self.run_inner(pool, true).await
    }

    async fn run_inner(self, pool: &PgPool, in_place_of_queued: bool) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        lock(&mut tx, self.user_id).await?;
        if in_place_of_queued {
            crate::jobs::take_pending(&mut tx, &self).await?;
        }
        compute(&mut tx, self.user_id).await?;
        tx.commit().await
    }
}

/// One compute per member at a time.
async fn lock(conn: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    super::lock_for(conn, "compute", user_id).await
}

/// Computes the member's results and stores them, unless their inputs are those of the
/// last compute (then only its time moves). Returns whether they were computed (false
/// also for a member who is gone). Call it in a transaction: it takes the member's
/// Compute lock and a lock on their row until the end of it.
pub async fn compute(conn: &mut PgConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    lock(conn, user_id).await?;
    // The member's row, locked (pair_tests has no foreign key: migration 26): a deletion
    // waits for this compute, and its trigger then removes what it wrote; after it there
    // is no row, and nothing is written.
    let today: Option<NaiveDate> = sqlx::query_scalar(
        "SELECT (now() AT TIME ZONE time_zone)::date FROM users WHERE id = $1 FOR KEY SHARE",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(as_of) = today else {
        return Ok(false);
    };
    let inputs = read_inputs_as_of(conn, user_id, as_of, thresholds()).await?;
    // Nothing changed since the last compute (same inputs, same code): the stored
    // results are these results; only the time they were confirmed moves.
    let hash = inputs.hash();
    let unchanged = sqlx::query(
        "UPDATE member_computes SET computed_at = now()
          WHERE user_id = $1 AND inputs_hash = $2 AND code_version = $3",
    )
    .bind(user_id)
    .bind(&hash)
    .bind(CODE_VERSION)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if unchanged {
        return Ok(false);
    }
    let results = inputs.compute();
    store(conn, user_id, &inputs, &hash, &results).await?;
    // The groups this member shares with publish their next snapshot on the hour.
    group::schedule_for_member(conn, user_id).await?;
    tracing::debug!(
        user_id,
        tests = results.tests.len(),
        shown = results.tests.iter().filter(|t| t.shown).count(),
        "computed"
    );
    Ok(true)
}

/// Reads a member's inputs as of their today. `None` when the member does not exist.
pub async fn read_inputs(
    conn: &mut PgConnection,
    user_id: i64,
    thresholds: Thresholds,
) -> Result<Option<Inputs>, sqlx::Error> {
    let today: Option<NaiveDate> =
        sqlx::query_scalar("SELECT (now() AT TIME ZONE time_zone)::date FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(as_of) = today else {
        return Ok(None);
    };
    read_inputs_as_of(conn, user_id, as_of, thresholds)
        .await
        .map(Some)
}

/// Reads a member's inputs as of `as_of` (their today).
async fn read_inputs_as_of(
    conn: &mut PgConnection,
    user_id: i64,
    as_of: NaiveDate,
    thresholds: Thresholds,
) -> Result<Inputs, sqlx::Error> {
    // The member's days as stored, one row per metric and month (daily_months, in the
    // primary key's order: no sort), and the facts of the member's metrics apart.
    /// metric id, the month's first day, its days of the month, values and counts
    type Month = (i64, NaiveDate, Vec<i16>, Vec<f64>, Vec<i32>);
    let months: Vec<Month> = sqlx::query_as(
        "SELECT metric_id, month, days, day_values, day_counts FROM daily_months
          WHERE user_id = $1 AND month <= $2
          ORDER BY metric_id, month",
    )
    .bind(user_id)
    .bind(as_of)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_metric: HashMap<i64, Vec<Day>> = HashMap::new();
    for (metric_id, month, slots, values, counts) in months {
        let days = by_metric.entry(metric_id).or_default();
        for ((slot, value), count) in slots.into_iter().zip(values).zip(counts) {
            let date = month + TimeDelta::days(i64::from(slot) - 1);
            if date <= as_of {
                days.push(Day { date, value, count });
            }
        }
    }
    // A metric whose days are all after today has none yet.
    by_metric.retain(|_, days| !days.is_empty());
    // Read in date order, so the sort only checks it (one pass over sorted days).
    for days in by_metric.values_mut() {
        days.sort_by_key(|d| d.date);
    }
    /// key, metric id, name, goal, unit, display unit, kind
    type Facts = (String, i64, String, Option<f64>, String, String, String);
    let facts: Vec<Facts> = sqlx::query_as(
        "SELECT m.key, m.id, m.name, s.goal, m.unit, coalesce(s.display_unit, m.display_unit),
                m.kind
           FROM metrics m
           LEFT JOIN metric_settings s ON s.user_id = $1 AND s.metric_id = m.id
          WHERE m.id = ANY($2)
          ORDER BY m.key, m.owner_id NULLS FIRST, m.id",
    )
    .bind(user_id)
    .bind(by_metric.keys().copied().collect::<Vec<i64>>())
    .fetch_all(&mut *conn)
    .await?;
    let mut metrics: BTreeMap<String, MetricFacts> = BTreeMap::new();
    for (key, id, name, goal, unit, display_unit, kind) in facts {
        // A key names one metric; should a member's own metric share a built-in key,
        // the built-in one (first) is the one analysed.
        metrics.entry(key).or_insert(MetricFacts {
            id,
            name,
            goal,
            unit,
            display_unit,
            kind,
        });
    }
    let mut series: BTreeMap<String, Vec<Day>> = metrics
        .iter()
        .filter_map(|(key, facts)| Some((key.clone(), by_metric.remove(&facts.id)?)))
        .collect();
    if let Some(days) = meetup_days(conn, user_id, as_of).await? {
        series.insert(MEETUPS.to_string(), days);
    }
    Ok(Inputs {
        as_of,
        thresholds,
        series,
        metrics,
    })
}

/// Meetup attendance as a daily series: 1 on a day (of the member's calendar) with a
/// check-in at a meetup, 0 on every other day from the first past meetup of the member's
/// groups (or when they joined, if later) to today. `None` for a member of no group with
/// past meetups.
pub async fn meetup_days(
    conn: &mut PgConnection,
    user_id: i64,
    as_of: NaiveDate,
) -> Result<Option<Vec<Day>>, sqlx::Error> {
    let start: Option<NaiveDate> = sqlx::query_scalar(
        "SELECT min((greatest(e.starts_at, ms.joined_at) AT TIME ZONE u.time_zone)::date)
           FROM memberships ms
           JOIN users u ON u.id = ms.user_id
           JOIN events e ON e.group_id = ms.group_id
          WHERE ms.user_id = $1 AND e.status = 'scheduled' AND e.starts_at < now()",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let attended: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT DISTINCT (e.starts_at AT TIME ZONE u.time_zone)::date
           FROM rsvps r
           JOIN events e ON e.id = r.event_id
           JOIN users u ON u.id = r.user_id
          WHERE r.user_id = $1 AND r.checked_in_at IS NOT NULL
          ORDER BY 1",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    // A check-in before the recorded joining date (a member added later) still counts.
    let start = match (start, attended.first()) {
        (Some(s), Some(a)) => Some(s.min(*a)),
        (s, a) => s.or(a.copied()),
    };
    let Some(start) = start.filter(|s| *s <= as_of) else {
        return Ok(None);
    };
    let days = start
        .iter_days()
        .take_while(|d| *d <= as_of)
        .map(|date| Day {
            date,
            value: if attended.contains(&date) { 1.0 } else { 0.0 },
            count: 0,
        })
        .collect();
    Ok(Some(days))
}

/// Writes a compute's results in place of the last ones, with their provenance
/// (`inputs_hash`: `inputs.hash()`, which the caller has already computed).
async fn store(
    conn: &mut PgConnection,
    user_id: i64,
    inputs: &Inputs,
    inputs_hash: &str,
    results: &Results,
) -> Result<(), sqlx::Error> {
    let nudges: Vec<serde_json::Value> = results
        .nudges
        .iter()
        .map(|n| {
            serde_json::json!({
                "log": n.log, "more_days": n.more_days, "a": n.a, "b": n.b,
                "sentence": daily::nudge_sentence(n, |key| inputs.name(key)),
            })
        })
        .collect();
    sqlx::query(
        "INSERT INTO member_computes (user_id, as_of, inputs_hash, code_version, computed_at, nudges)
         VALUES ($1, $2, $3, $4, now(), $5)
         ON CONFLICT (user_id) DO UPDATE
            SET as_of = EXCLUDED.as_of, inputs_hash = EXCLUDED.inputs_hash,
                code_version = EXCLUDED.code_version, computed_at = now(),
                nudges = EXCLUDED.nudges",
    )
    .bind(user_id)
    .bind(inputs.as_of)
    .bind(inputs_hash)
    .bind(CODE_VERSION)
    .bind(serde_json::Value::Array(nudges))
    .execute(&mut *conn)
    .await?;

    sqlx::query("DELETE FROM metric_summaries WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let (ids, summaries): (Vec<i64>, Vec<serde_json::Value>) = results
        .summaries
        .iter()
        .map(|(id, s)| (*id, serde_json::to_value(s).unwrap_or_default()))
        .unzip();
    sqlx::query(
        "INSERT INTO metric_summaries (user_id, metric_id, summary)
         SELECT $1, c.metric_id, c.summary FROM UNNEST($2::bigint[], $3::jsonb[]) AS c(metric_id, summary)",
    )
    .bind(user_id)
    .bind(ids)
    .bind(summaries)
    .execute(&mut *conn)
    .await?;

    sqlx::query("DELETE FROM pair_tests WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let t = &results.tests;
    sqlx::query(
        "INSERT INTO pair_tests (user_id, a, b, lag_days, n, pearson_r, pearson_p, spearman_r,
                                 spearman_p, n_eff, p_adj, q, shown)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::smallint[], $5::int[],
                                  $6::float8[], $7::float8[], $8::float8[], $9::float8[],
                                  $10::float8[], $11::float8[], $12::float8[], $13::bool[])",
    )
    .bind(user_id)
    .bind(t.iter().map(|t| t.a.clone()).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.b.clone()).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.lag_days as i16).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.n as i32).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.pearson_r).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.pearson_p).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.spearman_r).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.spearman_p).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.n_eff).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.p_adj).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.q).collect::<Vec<_>>())
    .bind(t.iter().map(|t| t.shown).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;

    // Insights: the shown pairs, keeping the id of a subject that stays shown.
    let shown: Vec<&Tested> = t.iter().filter(|t| t.shown).collect();
    // Meetup days against a metric say by how much ("On meetup days, your sleep is 40
    // min less"), over the days the pair was tested on.
    let window = &results.window;
    let differences: BTreeMap<String, f64> = shown
        .iter()
        .filter_map(|t| Some((subject(t), daily::meetup_difference(window, t)?)))
        .collect();
    let subjects: Vec<String> = shown.iter().map(|t| subject(t)).collect();
    sqlx::query("DELETE FROM insights WHERE user_id = $1 AND NOT (subject = ANY($2))")
        .bind(user_id)
        .bind(&subjects)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO insights (user_id, kind, subject, metrics, lag_days, numbers, sentence)
         SELECT $1, 'correlation', c.subject, ARRAY[c.a, c.b], c.lag_days, c.numbers, c.sentence
           FROM UNNEST($2::text[], $3::text[], $4::text[], $5::smallint[], $6::jsonb[], $7::text[])
                AS c(subject, a, b, lag_days, numbers, sentence)
         ON CONFLICT (user_id, subject) DO UPDATE
            SET numbers = EXCLUDED.numbers, sentence = EXCLUDED.sentence",
    )
    .bind(user_id)
    .bind(&subjects)
    .bind(shown.iter().map(|t| t.a.clone()).collect::<Vec<_>>())
    .bind(shown.iter().map(|t| t.b.clone()).collect::<Vec<_>>())
    .bind(shown.iter().map(|t| t.lag_days as i16).collect::<Vec<_>>())
    .bind(
        shown
            .iter()
            .map(|t| {
                let mut numbers = serde_json::to_value(t).unwrap_or_default();
                if let (Some(d), Some(map)) =
                    (differences.get(&subject(t)), numbers.as_object_mut())
                {
                    map.insert("difference".into(), serde_json::json!(d));
                }
                numbers
            })
            .collect::<Vec<_>>(),
    )
    .bind(
        shown
            .iter()
            .map(|t| {
                let amount = differences
                    .get(&subject(t))
                    .and_then(|d| inputs.metrics.get(&t.b).and_then(|facts| facts.amount(*d)));
                daily::sentence_with(t, |key| inputs.name(key), amount.as_deref())
            })
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An insight's stable name: its kind, metrics and lag.
pub fn subject(test: &Tested) -> String {
    format!("correlation:{}:{}:{}", test.a, test.b, test.lag_days)
}

#[cfg(test)]
mod tests {
    use super::MetricFacts;

    fn facts(kind: &str, unit: &str, display_unit: &str) -> MetricFacts {
        MetricFacts {
            id: 1,
            name: "x".into(),
            goal: None,
            unit: unit.into(),
            display_unit: display_unit.into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn amounts_read_as_the_member_reads_the_metric() {
        let sleep = facts("duration", "min", "h");
        assert_eq!(sleep.amount(-40.2).as_deref(), Some("40 min less"));
        assert_eq!(sleep.amount(90.0).as_deref(), Some("1.5 h more"));
        let mood = facts("scale", "points", "points");
        assert_eq!(mood.amount(0.8).as_deref(), Some("0.8 points higher"));
        assert_eq!(mood.amount(-1.24).as_deref(), Some("1.2 points lower"));
        // A temperature difference does not carry the scale's offset: 1 °C is 1.8 °F.
        assert_eq!(
            facts("quantity", "degC", "degF").amount(1.0).as_deref(),
            Some("1.8°F more")
        );
        assert_eq!(
            facts("count", "steps", "steps").amount(-1234.4).as_deref(),
            Some("1234 steps less")
        );
        // Nothing to say: yes/no, or a difference that rounds to nothing.
        assert_eq!(facts("yes_no", "yes/no", "yes/no").amount(0.3), None);
        assert_eq!(facts("count", "steps", "steps").amount(0.04), None);
    }
}
