//! What the tracking pages exchange with the server, and the server functions behind
//! them. Every one of them acts for the logged-in member on their own data only.

use super::{Aggregate, Kind};
use crate::accounts::FormErrors;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A metric as the member sees it, with their own settings applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricView {
    pub key: String,
    pub name: String,
    pub kind: Kind,
    pub aggregate: Aggregate,
    /// The canonical unit code values are stored in.
    pub unit: String,
    /// The unit the member reads and types values in.
    pub display_unit: String,
    pub display_label: String,
    /// Units a value may be typed in: (code, label).
    pub units: Vec<(String, String)>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The goal in the display unit, as text ("8 h").
    pub goal: Option<String>,
    /// The goal as a number in the display unit, for the settings form.
    pub goal_input: String,
    pub pinned: bool,
    /// The member's own metric (not from the catalogue).
    pub custom: bool,
    /// The latest value and when: "7.5 h · today 07:10".
    pub latest: Option<String>,
    pub count: i64,
}

/// One stored observation as a history row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub id: i64,
    pub metric_key: String,
    pub metric_name: String,
    /// In the member's display unit: "7.5 h".
    pub value: String,
    /// The number alone, in the display unit, for the edit form.
    pub value_input: String,
    /// "Thu 26 Nov 2026, 07:10" in the member's zone.
    pub when: String,
    /// For a datetime-local input.
    pub when_input: String,
    pub note: String,
    pub tags: Vec<String>,
    /// "quick_log", "csv", "apple_health" or "api".
    pub source: String,
}

/// A line of the "recently" list: logged, still being processed, or refused with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentItem {
    /// "logged", "pending" or "refused".
    pub status: String,
    pub metric: String,
    pub value: String,
    pub when: String,
    pub reason: String,
}

/// The quick-log page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackData {
    pub time_zone: String,
    /// Now in the member's zone, for the time inputs.
    pub now_local: String,
    /// Fresh on every load: with the metric it makes the idempotency key of one log,
    /// so a double tap or a re-sent form adds nothing.
    pub form_key: String,
    pub metrics: Vec<MetricView>,
    pub recent: Vec<RecentItem>,
}

/// A group the member could share a metric with, and how it is shared now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareView {
    pub group_slug: String,
    pub group_name: String,
    /// "private", "aggregate" or "members".
    pub level: String,
}

/// One metric's page: settings, sharing and a page of history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricData {
    pub metric: MetricView,
    pub time_zone: String,
    pub now_local: String,
    pub form_key: String,
    pub shares: Vec<ShareView>,
    pub entries: Vec<EntryView>,
    /// Entries matching the filter.
    pub total: i64,
    /// 1-based.
    pub page: i64,
    pub pages: i64,
    /// The filter as given (dates, `YYYY-MM-DD`) and the note search.
    pub from: String,
    pub to: String,
    pub search: String,
}

/// History rows per page.
pub const PAGE_SIZE: i64 = 25;

#[server(endpoint = "get_track")]
pub async fn get_track() -> Result<TrackData, ServerFnError> {
    super::ssr::track_data().await
}

/// Logs one value now (or at `at`, local time in the member's zone). The answer says
/// what was logged; a value that does not fit the metric is a 400 with the reason.
#[server(endpoint = "log_entry")]
pub async fn log_entry(
    metric: String,
    value: String,
    unit: Option<String>,
    at: Option<String>,
    note: Option<String>,
    key: String,
) -> Result<String, ServerFnError> {
    super::ssr::log_entry(
        metric,
        value,
        unit.unwrap_or_default(),
        at.unwrap_or_default(),
        note.unwrap_or_default(),
        key,
    )
    .await
}

#[server(endpoint = "get_metric_page")]
pub async fn get_metric_page(
    key: String,
    from: Option<String>,
    to: Option<String>,
    search: Option<String>,
    page: Option<i64>,
) -> Result<MetricData, ServerFnError> {
    super::ssr::metric_data(
        key,
        from.unwrap_or_default(),
        to.unwrap_or_default(),
        search.unwrap_or_default(),
        page.unwrap_or(1),
    )
    .await
}

/// Changes one of the member's observations.
#[server(endpoint = "save_entry")]
pub async fn save_entry(
    id: i64,
    value: String,
    unit: Option<String>,
    at: String,
    note: Option<String>,
) -> Result<(), ServerFnError> {
    super::ssr::save_entry(
        id,
        value,
        unit.unwrap_or_default(),
        at,
        note.unwrap_or_default(),
    )
    .await
}

#[server(endpoint = "delete_entry")]
pub async fn delete_entry(id: i64) -> Result<(), ServerFnError> {
    super::ssr::delete_entry(id).await
}

/// The member's settings for a metric: the unit to read it in, a goal, pinned or not.
#[server(endpoint = "save_metric_settings")]
pub async fn save_metric_settings(
    key: String,
    display_unit: Option<String>,
    goal: Option<String>,
    pinned: Option<String>,
) -> Result<(), ServerFnError> {
    super::ssr::save_metric_settings(
        key,
        display_unit.unwrap_or_default(),
        goal.unwrap_or_default(),
        pinned.is_some_and(|value| !value.is_empty() && value != "false"),
    )
    .await
}

/// Pins a metric to the quick-log page, or takes it off.
#[server(endpoint = "pin_metric")]
pub async fn pin_metric(key: String, pinned: bool) -> Result<(), ServerFnError> {
    super::ssr::pin_metric(key, pinned).await
}

/// Shares a metric with a group: `private`, `aggregate` (only in group figures) or
/// `members` (members see the member's values).
#[server(endpoint = "share_metric")]
pub async fn share_metric(
    key: String,
    group_slug: String,
    level: String,
) -> Result<(), ServerFnError> {
    super::ssr::share_metric(key, group_slug, level).await
}

/// Creates one of the member's own metrics and goes to its page.
#[server(endpoint = "create_metric")]
#[allow(clippy::too_many_arguments)]
pub async fn create_metric(
    name: String,
    kind: String,
    unit: Option<String>,
    aggregate: String,
    min: Option<String>,
    max: Option<String>,
    goal: Option<String>,
) -> Result<FormErrors, ServerFnError> {
    super::ssr::create_metric(
        name,
        kind,
        unit.unwrap_or_default(),
        aggregate,
        min.unwrap_or_default(),
        max.unwrap_or_default(),
        goal.unwrap_or_default(),
    )
    .await
}
