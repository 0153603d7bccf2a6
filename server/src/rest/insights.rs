//! What the pipeline made of the member's data: `/api/v1/daily` (Index),
//! `/api/v1/trends`, `/api/v1/correlations` and `/api/v1/insights` (Compute). Read only,
//! the member's own data only.

use super::common::*;
use super::types::ProblemBody;
use app::accounts::ssr::ReadPool;
use app::stats::daily::Summary;
use app::track::catalogue::find_metric;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_parameter", detail)
}

fn read_query<T>(query: QueryResult<T>) -> Result<T, Problem> {
    query
        .map(|Query(q)| q)
        .map_err(|rejection| bad(rejection.body_text()))
}

fn parse_day(text: &str, name: &str) -> Result<NaiveDate, Problem> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| bad(format!("`{name}` should be a date like 2026-11-26.")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DailyQuery {
    /// A metric key (see /api/v1/metrics).
    pub metric: String,
    /// First day, inclusive (YYYY-MM-DD, the member's calendar).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive.
    #[param(format = Date)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DailyValues {
    pub metric: String,
    /// The metric's canonical unit: every value is in it.
    pub unit: String,
    /// The member's time zone: a day runs midnight to midnight there.
    pub zone: String,
    pub days: Vec<DailyValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DailyValue {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub value: f64,
    /// Observations that made the value.
    pub count: i32,
}

/// Daily values of one metric, by the metric's day rule (sum, mean, last or max).
#[utoipa::path(
    get,
    path = "/api/v1/daily",
    tag = "insights",
    params(DailyQuery),
    responses(
        (status = 200, description = "The metric's days, oldest first", body = DailyValues),
        (status = 400, description = "A bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such metric", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_daily(
    State(pool): State<PgPool>,
    State(ReadPool(read)): State<ReadPool>,
    headers: HeaderMap,
    query: QueryResult<DailyQuery>,
) -> Result<Json<DailyValues>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
    // The token's check counts the request (a write, on the primary); the rest only
    // reads, on the replica when there is one.
    let pool = read;
    let query = read_query(query)?;
    let from = query
        .from
        .as_deref()
        .map(|t| parse_day(t, "from"))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .map(|t| parse_day(t, "to"))
        .transpose()?;
    let mut conn = pool.acquire().await?;
    let metric = find_metric(&mut conn, caller.user_id, &query.metric)
        .await?
        .filter(|m| m.key == query.metric.trim())
        .ok_or_else(|| no_such_metric(&query.metric))?;
    let days: Vec<(NaiveDate, f64, i32)> = sqlx::query_as(
        "SELECT day, value, count FROM daily_values
          WHERE user_id = $1 AND metric_id = $2
            AND ($3::date IS NULL OR day >= $3) AND ($4::date IS NULL OR day <= $4)
          ORDER BY day",
    )
    .bind(caller.user_id)
    .bind(metric.id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Json(DailyValues {
        metric: metric.key,
        unit: metric.unit,
        zone: caller.time_zone,
        days: days
            .into_iter()
            .map(|(date, value, count)| DailyValue { date, value, count })
            .collect(),
    }))
}

fn no_such_metric(key: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no_such_metric",
        format!("There is no metric `{}`; see /api/v1/metrics.", key.trim()),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// A metric key (see /api/v1/metrics).
    pub metric: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendOut {
    pub metric: String,
    pub unit: String,
    /// The member's date the figures are as of; null before the first compute.
    #[schema(value_type = Option<String>, format = Date)]
    pub as_of: Option<NaiveDate>,
    pub computed_at: Option<DateTime<Utc>>,
    pub mean_7: Option<f64>,
    pub mean_28: Option<f64>,
    pub mean_prev_28: Option<f64>,
    /// Least-squares slope per day over the last 28 days, with its standard error and
    /// 95% interval (Student t); null with fewer than 3 days or no spread in time.
    pub slope: Option<f64>,
    pub stderr: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Days in the trend.
    pub n: usize,
    /// Share of the last 28 days with a value (logging adherence).
    pub adherence_28: Option<f64>,
}

/// The metric's 7- and 28-day means and its 28-day trend.
#[utoipa::path(
    get,
    path = "/api/v1/trends",
    tag = "insights",
    params(TrendQuery),
    responses(
        (status = 200, description = "Means and trend", body = TrendOut),
        (status = 400, description = "A bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such metric", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_trends(
    State(pool): State<PgPool>,
    State(ReadPool(read)): State<ReadPool>,
    headers: HeaderMap,
    query: QueryResult<TrendQuery>,
) -> Result<Json<TrendOut>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
    // The token's check counts the request (a write, on the primary); the rest only
    // reads, on the replica when there is one.
    let pool = read;
    let query = read_query(query)?;
    let mut conn = pool.acquire().await?;
    let metric = find_metric(&mut conn, caller.user_id, &query.metric)
        .await?
        .filter(|m| m.key == query.metric.trim())
        .ok_or_else(|| no_such_metric(&query.metric))?;
    let row: Option<(sqlx::types::Json<Summary>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT s.summary, c.computed_at FROM metric_summaries s
           JOIN member_computes c ON c.user_id = s.user_id
          WHERE s.user_id = $1 AND s.metric_id = $2",
    )
    .bind(caller.user_id)
    .bind(metric.id)
    .fetch_optional(&mut *conn)
    .await?;
    let (summary, computed_at) = match row {
        Some((summary, at)) => (Some(summary.0), Some(at)),
        None => (None, None),
    };
    let trend = summary.as_ref().and_then(|s| s.trend);
    Ok(Json(TrendOut {
        metric: metric.key,
        unit: metric.unit,
        as_of: summary.as_ref().map(|s| s.as_of),
        computed_at,
        mean_7: summary.as_ref().and_then(|s| s.mean_7),
        mean_28: summary.as_ref().and_then(|s| s.mean_28),
        mean_prev_28: summary.as_ref().and_then(|s| s.mean_prev_28),
        slope: trend.map(|t| t.slope),
        stderr: trend.map(|t| t.stderr),
        ci_low: trend.map(|t| t.ci_low),
        ci_high: trend.map(|t| t.ci_high),
        n: trend.map_or(0, |t| t.n),
        adherence_28: summary.as_ref().map(|s| s.logged_28 as f64 / 28.0),
    }))
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct TestOut {
    /// Metric keys; `meetups` is attendance (1 on a day at a meetup, else 0).
    pub a: String,
    pub b: String,
    /// `a` on day d against `b` on day d + lag.
    pub lag_days: i16,
    pub n: i32,
    pub pearson_r: f64,
    pub pearson_p: f64,
    pub spearman_r: f64,
    pub spearman_p: f64,
    /// Independent days, after the lag-1 autocorrelation of both series.
    pub n_eff: f64,
    /// Pearson's p on n_eff − 2 degrees of freedom.
    pub p_adj: f64,
    /// Benjamini-Hochberg over every p_adj of the member.
    pub q: f64,
    pub shown: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Correlations {
    pub computed_at: Option<DateTime<Utc>>,
    pub inputs_hash: Option<String>,
    pub code_version: Option<String>,
    pub tests: Vec<TestOut>,
}

/// Every pair of the member's series tested at lags 0 to 3 days, shown or not.
#[utoipa::path(
    get,
    path = "/api/v1/correlations",
    tag = "insights",
    responses(
        (status = 200, description = "Every test", body = Correlations),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_correlations(
    State(pool): State<PgPool>,
    State(ReadPool(read)): State<ReadPool>,
    headers: HeaderMap,
) -> Result<Json<Correlations>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
    // The token's check counts the request (a write, on the primary); the rest only
    // reads, on the replica when there is one.
    let pool = read;
    let mut tx = pool.begin().await?;
    let provenance = provenance(&mut tx, caller.user_id).await?;
    let tests: Vec<TestOut> = sqlx::query_as(
        "SELECT a, b, lag_days, n, pearson_r, pearson_p, spearman_r, spearman_p, n_eff, p_adj,
                q, shown
           FROM pair_tests WHERE user_id = $1 ORDER BY q, a, b, lag_days",
    )
    .bind(caller.user_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(Correlations {
        computed_at: provenance.as_ref().map(|p| p.0),
        inputs_hash: provenance.as_ref().map(|p| p.1.clone()),
        code_version: provenance.map(|p| p.2),
        tests,
    }))
}

async fn provenance(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
) -> Result<Option<(DateTime<Utc>, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT computed_at, inputs_hash, code_version FROM member_computes WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InsightOut {
    pub id: i64,
    pub kind: String,
    pub metrics: Vec<String>,
    pub lag_days: i16,
    /// The numbers behind the sentence (the test as in /api/v1/correlations; for meetup
    /// days against a metric also `difference`, the metric's mean on meetup days minus
    /// its mean on other days, in its canonical unit).
    #[schema(value_type = Object)]
    pub numbers: serde_json::Value,
    pub sentence: String,
    pub computed_at: DateTime<Utc>,
    pub inputs_hash: String,
    pub code_version: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InsightList {
    pub data: Vec<InsightOut>,
    /// What logging would make more pairs testable, closest first.
    pub nudges: Vec<NudgeOut>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NudgeOut {
    /// The metric to log.
    pub log: String,
    pub more_days: usize,
    pub a: String,
    pub b: String,
    /// "Log sleep on 6 more days and sleep vs mood can be tested."
    pub sentence: String,
}

/// The insights shown to the member, strongest first, and the nudges.
#[utoipa::path(
    get,
    path = "/api/v1/insights",
    tag = "insights",
    responses(
        (status = 200, description = "Shown insights", body = InsightList),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_insights(
    State(pool): State<PgPool>,
    State(ReadPool(read)): State<ReadPool>,
    headers: HeaderMap,
) -> Result<Json<InsightList>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
    // The token's check counts the request (a write, on the primary); the rest only
    // reads, on the replica when there is one.
    let pool = read;
    type Row = (
        i64,
        String,
        Vec<String>,
        i16,
        serde_json::Value,
        String,
        DateTime<Utc>,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT i.id, i.kind, i.metrics, i.lag_days, i.numbers, i.sentence,
                c.computed_at, c.inputs_hash, c.code_version
           FROM insights i JOIN member_computes c ON c.user_id = i.user_id
          WHERE i.user_id = $1
          ORDER BY abs((i.numbers->>'pearson_r')::float8) DESC, i.id",
    )
    .bind(caller.user_id)
    .fetch_all(&pool)
    .await?;
    let nudges: Option<sqlx::types::Json<Vec<NudgeOut>>> =
        sqlx::query_scalar("SELECT nudges FROM member_computes WHERE user_id = $1")
            .bind(caller.user_id)
            .fetch_optional(&pool)
            .await?;
    Ok(Json(InsightList {
        nudges: nudges.map(|n| n.0).unwrap_or_default(),
        data: rows
            .into_iter()
            .map(
                |(
                    id,
                    kind,
                    metrics,
                    lag_days,
                    numbers,
                    sentence,
                    computed_at,
                    inputs_hash,
                    code_version,
                )| {
                    InsightOut {
                        id,
                        kind,
                        metrics,
                        lag_days,
                        numbers,
                        sentence,
                        computed_at,
                        inputs_hash,
                        code_version,
                    }
                },
            )
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// A metric key.
    pub metric: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupFiguresOut {
    pub group: String,
    pub metric: String,
    /// The fewest members a figure counts.
    pub k: i32,
    /// By window: `recent` (28 days), `since_meetup`, `before_meetup`. Each is the published
    /// figures, or `{"withheld": true, "reason"}`.
    #[schema(value_type = Object)]
    pub windows: serde_json::Map<String, serde_json::Value>,
    /// Where the caller stands (percentile of their mean among the members counted), by
    /// window; only windows that count them.
    #[schema(value_type = Object)]
    pub you: serde_json::Map<String, serde_json::Value>,
}

/// The group's figures of a metric its members share: never one member's value.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{slug}/figures",
    tag = "insights",
    params(("slug" = String, Path, description = "The group"), FiguresQuery),
    responses(
        (status = 200, description = "The figures, or why they are withheld", body = GroupFiguresOut),
        (status = 400, description = "A bad parameter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such group among yours, or no such metric", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_group_figures(
    State(pool): State<PgPool>,
    State(ReadPool(read)): State<ReadPool>,
    headers: HeaderMap,
    axum::extract::Path(slug): axum::extract::Path<String>,
    query: QueryResult<FiguresQuery>,
) -> Result<Json<GroupFiguresOut>, Problem> {
    let caller = authenticate(&pool, &headers, Need::Read).await?;
    // The token's check counts the request (a write, on the primary); the rest only
    // reads, on the replica when there is one.
    let pool = read;
    let query = read_query(query)?;
    let mut conn = pool.acquire().await?;
    // Only for members: a group the caller is not in is answered as if it did not exist.
    let group: Option<(i64, i32)> = sqlx::query_as(
        "SELECT g.id, g.figure_k FROM groups g JOIN memberships m ON m.group_id = g.id
          WHERE g.slug = $1 AND m.user_id = $2",
    )
    .bind(&slug)
    .bind(caller.user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (group_id, k) = group.ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no_such_group",
            "You are not a member of such a group.",
        )
    })?;
    // Any metric shared with the group, built-in or a member's own, by key.
    let metric: Option<i64> = sqlx::query_scalar(
        "SELECT m.id FROM metrics m WHERE m.key = $1
            AND (m.owner_id IS NULL OR EXISTS (SELECT 1 FROM metric_shares s
                                                WHERE s.metric_id = m.id AND s.group_id = $2))
          ORDER BY m.owner_id NULLS FIRST LIMIT 1",
    )
    .bind(query.metric.trim())
    .bind(group_id)
    .fetch_optional(&mut *conn)
    .await?;
    let metric_id = metric.ok_or_else(|| no_such_metric(&query.metric))?;
    let rows: Vec<(String, bool, String, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT window_key, published, reason, figures FROM group_figures
          WHERE group_id = $1 AND metric_id = $2 ORDER BY window_key",
    )
    .bind(group_id)
    .bind(metric_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut windows = serde_json::Map::new();
    for (key, published, reason, figures) in rows {
        let value = match (published, figures) {
            (true, Some(figures)) => figures,
            _ => serde_json::json!({ "withheld": true, "reason": reason }),
        };
        windows.insert(key, value);
    }
    if windows.is_empty() {
        windows.insert(
            "recent".into(),
            serde_json::json!({ "withheld": true, "reason": format!("not shared by {k} members yet") }),
        );
    }
    let ranks: Vec<(String, f64)> = sqlx::query_as(
        "SELECT r.window_key, r.percentile FROM group_figure_ranks r
           JOIN group_figures f USING (group_id, metric_id, window_key)
          WHERE r.group_id = $1 AND r.metric_id = $2 AND r.user_id = $3 AND f.published",
    )
    .bind(group_id)
    .bind(metric_id)
    .bind(caller.user_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Json(GroupFiguresOut {
        group: slug,
        metric: query.metric.trim().to_string(),
        k,
        windows,
        you: ranks
            .into_iter()
            .map(|(key, pct)| (key, serde_json::json!(pct)))
            .collect(),
    }))
}
