//! Tracked metrics in the database: the built-in catalogue written at start-up, each
//! member's own metrics, and looking a metric up by key or name (what every capture path
//! and Distill need).

use super::units::{self, Unit};
use super::{show_value, Kind, Rules, CATALOGUE};
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
pub const RESERVED_KEYS: [&str; 3] = ["import", "export.csv", "export.json"];

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

    /// A canonical value as a number in the display unit (for charts).
    pub fn display_number(&self, value: f64) -> f64 {
        match (Unit::find(&self.unit), Unit::find(&self.display_unit)) {
            (Some(from), Some(to)) => units::convert(value, from, to).unwrap_or(value),
            _ => value,
        }
    }

    /// Decimals worth showing for a value in the display unit.
    pub fn display_decimals(&self) -> usize {
        Unit::find(&self.display_unit)
            .or_else(|| Unit::find(&self.unit))
            .map_or(2, units::decimals_for)
    }

    /// The display unit's label ("h", "kg"), empty for a plain count or scale.
    pub fn display_label(&self) -> String {
        crate::track::unit_label(&self.display_unit)
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

pub const METRIC_SELECT: &str = "SELECT m.id, m.owner_id, m.key, m.name, m.kind, m.unit,
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
    // No metric's name holds a NUL (PostgreSQL's text cannot), so no such metric.
    if key.contains('\0') {
        return Ok(None);
    }
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
