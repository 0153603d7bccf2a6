//! One entry as a capture path receives it, and the checks that Distill makes of it
//! (value and unit, time, note) before it becomes an observation. The REST API makes the
//! same checks of each item of a batch before landing it, so that it can answer at once.
//!
//! Pure code (chrono, serde, no database): Distill (`crate::pipeline::distill`), the
//! imports and the API call it, and the fuzz target `observation_batch` in `server/fuzz`
//! includes it.

use super::metric::{MetricIndex, MetricRow};
use super::{canonical_value, tags};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One entry as a capture path received it: the payload kept in `raw_observations`.
/// Every field is text, as sent; Distill reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEntry {
    /// A metric key (or name).
    pub metric: String,
    /// Text as typed, or a JSON number or boolean (the API).
    #[serde(deserialize_with = "text_or_number")]
    pub value: String,
    /// Empty: the metric's own unit.
    #[serde(default)]
    pub unit: String,
    /// RFC 3339, or a local date and time (`2026-11-26T07:10`, `2026-11-26 07:10`), or a
    /// date (noon that day); empty: when it was received. The API calls it `time`.
    #[serde(default, alias = "time")]
    pub at: String,
    /// The zone of a local time; empty: the member's zone.
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub note: String,
}

/// A value sent as text, as a number or as a boolean, kept as text.
fn text_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        serde_json::Value::Bool(yes) => Ok(if yes { "yes" } else { "no" }.into()),
        other => Err(D::Error::custom(format!(
            "the value should be a number or text, not {other}"
        ))),
    }
}

/// An entry that passed Distill's checks.
#[derive(Clone, Debug, PartialEq)]
pub struct Clean {
    pub metric_id: i64,
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub note: String,
    pub tags: Vec<String>,
    /// The note's lexicon score, -1 to 1 (`crate::track::sentiment`).
    pub sentiment: Option<f64>,
}

pub const MAX_NOTE_CHARS: usize = 2000;

/// When something was observed: an instant, or a local time in `zone`. Not before 1900
/// and not more than a day ahead of `now`.
pub fn parse_time(at: &str, zone: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = at.trim();
    let instant = if at.is_empty() {
        now
    } else if let Ok(instant) = DateTime::parse_from_rfc3339(at) {
        instant.with_timezone(&Utc)
    } else if let Ok(instant) = DateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S %z") {
        // Apple Health writes "2026-11-26 07:10:00 -0800".
        instant.with_timezone(&Utc)
    } else {
        let local = [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
        ]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(at, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(at, "%Y-%m-%d")
                .ok()
                .map(|date| date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()))
        })
        .ok_or_else(|| {
            format!("“{at}” is not a time; use 2026-11-26 07:10 or 2026-11-26T07:10:00Z.")
        })?;
        crate::events::recurrence::local_to_utc(local.date(), local.time(), zone)?
    };
    if instant > now + TimeDelta::days(1) {
        return Err("That time is in the future.".into());
    }
    if instant.year() < 1900 {
        return Err("That time is before 1900.".into());
    }
    Ok(instant)
}

/// PostgreSQL cannot store NUL in text or JSON: an entry holding one is refused, alone,
/// on every capture path (quick log, API, imports, Distill), before anything else looks
/// at it (an answer quoting its text could not be stored either).
pub fn refuse_nul(entry: &RawEntry) -> Result<(), String> {
    let fields = [
        &entry.metric,
        &entry.value,
        &entry.unit,
        &entry.at,
        &entry.time_zone,
        &entry.note,
    ];
    if fields.iter().any(|text| text.contains('\0')) {
        return Err("Text may not contain NUL characters.".into());
    }
    Ok(())
}

/// Distill's checks of one entry against its metric.
pub fn check(
    entry: &RawEntry,
    metric: &MetricRow,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<Clean, String> {
    refuse_nul(entry)?;
    let value = canonical_value(&metric.rules(), &entry.value, &entry.unit)?;
    let zone = if entry.time_zone.trim().is_empty() {
        zone
    } else {
        entry.time_zone.trim()
    };
    let observed_at = parse_time(&entry.at, zone, now)?;
    let note = entry.note.trim().to_string();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(format!(
            "Keep the note to {MAX_NOTE_CHARS} characters or fewer."
        ));
    }
    Ok(Clean {
        metric_id: metric.id,
        observed_at,
        value,
        tags: tags(&note),
        sentiment: super::sentiment::score(&note),
        note,
    })
}

/// An item's idempotency key: its own (1 to 200 characters), or without one the SHA-256
/// of its JSON, so that the same reading sent twice is stored once.
pub fn idempotency_key(item: &Value) -> Result<String, String> {
    match item.get("idempotency_key") {
        None | Some(Value::Null) => {
            let digest = Sha256::digest(item.to_string().as_bytes());
            Ok(format!(
                "sha256:{}",
                digest
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ))
        }
        Some(Value::String(key)) if (1..=200).contains(&key.chars().count()) => Ok(key.clone()),
        Some(_) => Err("`idempotency_key` must be text of 1 to 200 characters.".into()),
    }
}

/// Checks one item of an API batch as Distill will; the reason when it would be
/// refused.
pub fn check_item(
    item: &Value,
    metrics: &MetricIndex,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    if !item.is_object() {
        return Err("Each observation is a JSON object.".into());
    }
    // Stored as received (jsonb, which cannot hold NUL): refuse this item, not the batch.
    if holds_nul(item) {
        return Err("Text may not contain NUL characters.".into());
    }
    let entry: RawEntry = serde_json::from_value(item.clone())
        .map_err(|error| format!("This observation could not be read: {error}."))?;
    check(&entry, metrics.find(&entry.metric)?, zone, now).map(|_| ())
}

/// Whether any key or string in a JSON value holds a NUL character.
pub fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_forms_people_and_exports_write() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T20:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let la = "America/Los_Angeles";
        let at = |text: &str| parse_time(text, la, now).map(|t| t.to_rfc3339());
        assert_eq!(
            at("2026-11-26T07:10"),
            Ok("2026-11-26T15:10:00+00:00".into())
        );
        assert_eq!(
            at("2026-11-26 07:10:30"),
            Ok("2026-11-26T15:10:30+00:00".into())
        );
        assert_eq!(
            at("2026-11-26T07:10:00Z"),
            Ok("2026-11-26T07:10:00+00:00".into())
        );
        assert_eq!(
            at("2026-11-26 07:10:00 -0800"),
            Ok("2026-11-26T15:10:00+00:00".into())
        );
        assert_eq!(at("2026-11-25"), Ok("2026-11-25T20:00:00+00:00".into()));
        assert_eq!(at(""), Ok(now.to_rfc3339()));
        assert!(at("2026-03-08T02:30").unwrap_err().contains("skip"));
        assert!(at("2026-12-01T07:00").unwrap_err().contains("future"));
        assert!(at("1850-01-01").unwrap_err().contains("1900"));
        assert!(at("yesterday").unwrap_err().contains("not a time"));
    }
}
