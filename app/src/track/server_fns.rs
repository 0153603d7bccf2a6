//! The server functions behind the tracking pages. Every one of them acts for the
//! logged-in member on their own data only (the checks are in `ssr`).

use super::types::*;
use crate::accounts::FormErrors;
use leptos::prelude::*;

#[server(endpoint = "get_track")]
pub async fn get_track() -> Result<TrackData, ServerFnError> {
    Ok(super::ssr::track_data().await?)
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
    Ok(super::ssr::log_entry(
        metric,
        value,
        unit.unwrap_or_default(),
        at.unwrap_or_default(),
        note.unwrap_or_default(),
        key,
    )
    .await?)
}

#[server(endpoint = "get_metric_page")]
pub async fn get_metric_page(
    key: String,
    from: Option<String>,
    to: Option<String>,
    search: Option<String>,
    page: Option<i64>,
) -> Result<MetricData, ServerFnError> {
    Ok(super::ssr::metric_data(
        key,
        from.unwrap_or_default(),
        to.unwrap_or_default(),
        search.unwrap_or_default(),
        page.unwrap_or(1),
    )
    .await?)
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
    Ok(super::ssr::save_entry(
        id,
        value,
        unit.unwrap_or_default(),
        at,
        note.unwrap_or_default(),
    )
    .await?)
}

/// Notes a day (`YYYY-MM-DD`) with a short note shown on the member's charts; an empty
/// note removes the day's note.
#[server(endpoint = "annotate_day")]
pub async fn annotate_day(day: String, note: Option<String>) -> Result<(), ServerFnError> {
    Ok(super::ssr::annotate_day(day, note.unwrap_or_default()).await?)
}

/// Leaves an entry out of the statistics (`excluded = true`) or counts it again.
#[server(endpoint = "exclude_entry")]
pub async fn exclude_entry(id: i64, excluded: bool) -> Result<(), ServerFnError> {
    Ok(super::ssr::exclude_entry(id, excluded).await?)
}

#[server(endpoint = "delete_entry")]
pub async fn delete_entry(id: i64) -> Result<(), ServerFnError> {
    Ok(super::ssr::delete_entry(id).await?)
}

/// The member's settings for a metric: the unit to read it in, a goal, pinned or not.
#[server(endpoint = "save_metric_settings")]
pub async fn save_metric_settings(
    key: String,
    display_unit: Option<String>,
    goal: Option<String>,
    pinned: Option<String>,
) -> Result<(), ServerFnError> {
    Ok(super::ssr::save_metric_settings(
        key,
        display_unit.unwrap_or_default(),
        goal.unwrap_or_default(),
        pinned.is_some_and(|value| !value.is_empty() && value != "false"),
    )
    .await?)
}

/// Pins a metric to the quick-log page, or takes it off.
#[server(endpoint = "pin_metric")]
pub async fn pin_metric(key: String, pinned: bool) -> Result<(), ServerFnError> {
    Ok(super::ssr::pin_metric(key, pinned).await?)
}

/// Shares a metric with a group: `private`, `aggregate` (only in group figures) or
/// `members` (members see the member's values).
#[server(endpoint = "share_metric")]
pub async fn share_metric(
    key: String,
    group_slug: String,
    level: String,
) -> Result<(), ServerFnError> {
    Ok(super::ssr::share_metric(key, group_slug, level).await?)
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
    Ok(super::ssr::create_metric(
        name,
        kind,
        unit.unwrap_or_default(),
        aggregate,
        min.unwrap_or_default(),
        max.unwrap_or_default(),
        goal.unwrap_or_default(),
    )
    .await?)
}
