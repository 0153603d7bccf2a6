//! Tracked metrics in the database: the built-in catalogue written at start-up, and each
//! member's metrics read into [`MetricRow`]s (what every capture path and Distill need).

pub use super::metric::{MetricIndex, MetricRow};
use super::CATALOGUE;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

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

/// Read by name from [`METRIC_SELECT`]'s columns (`MetricRow` itself is pure code).
impl<'r> sqlx::FromRow<'r, PgRow> for MetricRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(MetricRow {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            key: row.try_get("key")?,
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            unit: row.try_get("unit")?,
            display_unit: row.try_get("display_unit")?,
            aggregate: row.try_get("aggregate")?,
            min_value: row.try_get("min_value")?,
            max_value: row.try_get("max_value")?,
            goal: row.try_get("goal")?,
            pinned: row.try_get("pinned")?,
        })
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
