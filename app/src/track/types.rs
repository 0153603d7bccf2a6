//! What the tracking pages exchange with the server: the shapes their server functions
//! answer with, shared by the server functions, the pages and the database code.

use super::{Aggregate, Kind};
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
    /// Flagged by Distill: far from the metric's usual values (robust z past 3.5).
    pub outlier: bool,
    /// Left out of the statistics by its owner.
    pub excluded: bool,
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
    /// The daily values of the filter's dates (up to the last 90 days without), charted.
    pub chart: Option<crate::insights::svg::Chart>,
    /// The chart's days for brushing it in the browser.
    pub brush: Option<crate::insights::brush::Brush>,
    /// The member's notes on the chart's days, oldest first (numbered so on the chart).
    pub day_notes: Vec<DayNote>,
    /// The last year as a calendar heatmap, the weekday profile and the spread.
    pub patterns: Vec<crate::insights::svg::Chart>,
    /// Streaks and bests: (what, value).
    pub records: Vec<(String, String)>,
    /// Me against the group: one per group the member shares the metric with.
    pub groups: Vec<crate::insights::band::GroupBand>,
    /// The filter as given (dates, `YYYY-MM-DD`) and the note search.
    pub from: String,
    pub to: String,
    pub search: String,
}

/// A member's note on a day, shown on the charts of every one of their metrics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayNote {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// "Tue 3 Nov 2026".
    pub label: String,
    pub note: String,
}

/// History rows per page.
pub const PAGE_SIZE: i64 = 25;
