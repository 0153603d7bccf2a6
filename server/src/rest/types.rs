//! What the REST API reads and writes; the OpenAPI schemas are derived from these.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An error (RFC 9457).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProblemBody {
    /// Always `about:blank`: `code` tells the problems apart.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// What went wrong, for programs: `unauthenticated`, `insufficient_scope`,
    /// `rate_limited`, `invalid_body`, `invalid_parameter`, `batch_too_large`,
    /// `no_such_metric`, `no_such_endpoint` or `internal`.
    pub code: String,
}

/// A value as a number, as text ("7:30" for hours and minutes, "12,000") or yes/no.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ValueIn {
    Number(f64),
    Text(String),
    YesNo(bool),
}

/// One observation to store.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObservationIn {
    /// A metric key from GET /api/v1/metrics (or its name).
    pub metric: String,
    pub value: ValueIn,
    /// The unit of `value` (`lb`, `h`, `mg/dL`…); the metric's own unit when absent.
    pub unit: Option<String>,
    /// RFC 3339, or a local date and time in the member's zone (`2026-11-26T07:10`);
    /// now when absent.
    pub time: Option<String>,
    /// Free text; `#tags` in it are kept as tags.
    pub note: Option<String>,
    /// Your own key for this reading (1 to 200 characters): sending it again adds
    /// nothing. When absent, the item's JSON is its key.
    pub idempotency_key: Option<String>,
}

/// A batch of observations: 1 to 10,000.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObservationBatch {
    #[schema(min_items = 1, max_items = 10000)]
    pub observations: Vec<ObservationIn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Stored; it appears once distilled (within seconds).
    Accepted,
    /// Its idempotency key was received before: nothing added.
    Duplicate,
    /// Not stored; `error` says why.
    Rejected,
}

/// What happened to one item of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemResult {
    /// Its place in the batch, from 0.
    pub index: usize,
    pub idempotency_key: Option<String>,
    pub status: ItemStatus,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResult {
    pub received: usize,
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<ItemResult>,
}

/// A stored observation; `value` is in the metric's canonical `unit`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObservationOut {
    pub id: i64,
    pub metric: String,
    pub time: DateTime<Utc>,
    pub value: f64,
    pub unit: String,
    pub note: String,
    pub tags: Vec<String>,
    /// `quick_log`, `csv`, `apple_health` or `api`.
    pub source: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObservationPage {
    pub data: Vec<ObservationOut>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObservationQuery {
    /// Only this metric (a key).
    pub metric: Option<String>,
    /// From this time (inclusive): RFC 3339, or a date in the member's zone.
    #[param(schema_with = date_or_time)]
    pub from: Option<String>,
    /// Until this time (exclusive): RFC 3339, or a date in the member's zone.
    #[param(schema_with = date_or_time)]
    pub to: Option<String>,
    /// 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the page before.
    #[param(pattern = r"^-?[0-9]{1,16}\.[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// A date (`2026-11-26`) or an RFC 3339 time: the schema of `from` and `to`.
fn date_or_time() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
    };
    let format = |known| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(known)))
    };
    Schema::AnyOf(
        AnyOfBuilder::new()
            .item(format(KnownFormat::Date))
            .item(format(KnownFormat::DateTime))
            .description(Some("A date (2026-11-26) or an RFC 3339 time"))
            .build(),
    )
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetricOut {
    pub key: String,
    pub name: String,
    /// `quantity`, `scale`, `count`, `duration` or `yes_no`.
    pub kind: String,
    /// The canonical unit values are stored and returned in.
    pub unit: String,
    /// The unit the member reads it in.
    pub display_unit: String,
    /// How a day's values add up: `sum`, `mean`, `last` or `max`.
    pub aggregate: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The member's daily goal, in `unit`.
    pub goal: Option<f64>,
    pub pinned: bool,
    /// The member's own metric rather than the catalogue's.
    pub custom: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetricList {
    pub data: Vec<MetricOut>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    pub id: i64,
    /// The group's slug.
    pub group: String,
    pub group_name: String,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The IANA zone the meetup happens in.
    pub time_zone: String,
    pub venue: String,
    pub address: String,
    pub cancelled: bool,
    /// The meetup's page.
    pub url: String,
    /// `yes`, `maybe` or `no`; null without an answer.
    pub my_rsvp: Option<String>,
    /// For a yes: `going`, `offered` or `waitlisted`.
    pub my_seat: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub data: Vec<EventOut>,
}
