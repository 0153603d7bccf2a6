//! The body of `POST /api/v1/observations` on any bytes, through the checks the API makes
//! of each item before it lands it (`app/src/track/entry.rs`): nothing panics, every item
//! gets a key or a reason, an item with a NUL anywhere is refused, and an accepted item
//! is accepted again by Distill when it reads the landed JSON back, with the same clean
//! observation (a value inside its metric's bounds, a time no later than a day ahead and
//! not before 1900, a trimmed note of at most 2,000 characters, its tags, a sentiment
//! score from -1 to 1).
#![no_main]

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

// The files keep their places in the app crate: `crate::events::recurrence` and the
// siblings of `crate::track` resolve to the modules declared here.
#[path = "../../../app/src/track/entry.rs"]
mod entry;
#[allow(dead_code)]
#[path = "../../../app/src/track/metric.rs"]
mod metric;
#[allow(dead_code)]
#[path = "../../../app/src/events/recurrence.rs"]
pub(crate) mod recurrence;
#[allow(dead_code)]
#[path = "../../../app/src/track/sentiment.rs"]
mod sentiment;
#[allow(dead_code)]
#[path = "../../../app/src/track/units.rs"]
mod units;
#[allow(dead_code)]
#[path = "../../../app/src/track/values.rs"]
mod values;
use values::*;
mod events {
    pub(crate) use super::recurrence;
}

use entry::{check, check_item, holds_nul, idempotency_key, RawEntry};
use metric::{MetricIndex, MetricRow};

/// The zones a member may be in; the first byte of the input picks one.
const ZONES: [&str; 5] = [
    "UTC",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
];

/// A member's metrics: the catalogue and two of their own.
fn metrics() -> Vec<MetricRow> {
    let mut rows: Vec<MetricRow> = CATALOGUE
        .iter()
        .enumerate()
        .map(|(i, m)| MetricRow {
            id: i as i64 + 1,
            owner_id: None,
            key: m.key.into(),
            name: m.name.into(),
            kind: m.kind.code().into(),
            unit: m.unit.into(),
            display_unit: m.display_unit.into(),
            aggregate: m.aggregate.code().into(),
            min_value: m.min,
            max_value: m.max,
            goal: None,
            pinned: m.pinned,
        })
        .collect();
    for (key, name, kind, unit, bounds) in [
        (
            "cold-showers",
            "Cold showers",
            Kind::YesNo,
            "yes/no",
            (None, None),
        ),
        (
            "pages",
            "Pages read",
            Kind::Count,
            "pages",
            (Some(0.0), None),
        ),
    ] {
        rows.push(MetricRow {
            id: rows.len() as i64 + 1,
            owner_id: Some(7),
            key: key.into(),
            name: name.into(),
            kind: kind.code().into(),
            unit: unit.into(),
            display_unit: unit.into(),
            aggregate: "sum".into(),
            min_value: bounds.0,
            max_value: bounds.1,
            goal: None,
            pinned: false,
        });
    }
    rows
}

fuzz_target!(|input: &[u8]| {
    let Some((&choice, body)) = input.split_first() else {
        return;
    };
    let zone = ZONES[usize::from(choice) % ZONES.len()];
    // Anything that is not JSON is refused whole before any item is read (400).
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Some(items) = body.get("observations").and_then(Value::as_array) else {
        return;
    };
    let now: DateTime<Utc> = "2026-11-26T20:00:00Z".parse().unwrap();
    let rows = metrics();
    let index = MetricIndex::new(&rows);

    for item in items.iter().take(64) {
        // The key: the member's own (1 to 200 characters) or the item's digest.
        let key = idempotency_key(item);
        match (item.get("idempotency_key"), &key) {
            (None | Some(Value::Null), Ok(key)) => {
                let digest = key.strip_prefix("sha256:").expect("a digest key");
                assert_eq!(digest.len(), 64);
                assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
            }
            (Some(Value::String(own)), Ok(key)) => {
                assert_eq!(own, key);
                assert!((1..=200).contains(&key.chars().count()));
            }
            (_, Err(reason)) => assert!(!reason.is_empty()),
            (Some(other), Ok(key)) => panic!("{other} was taken as the key {key}"),
        }

        let verdict = check_item(item, &index, zone, now);
        if holds_nul(item) {
            assert!(verdict.is_err(), "an item with a NUL was accepted");
        }
        let Ok(()) = verdict else {
            assert!(
                !verdict.unwrap_err().is_empty(),
                "a refusal without a reason"
            );
            continue;
        };

        // Landed as JSON and read back by Distill: accepted again, the same observation.
        let landed: Value = serde_json::from_str(&item.to_string()).expect("landed JSON");
        let entry: RawEntry = serde_json::from_value(landed).expect("Distill reads it");
        let metric = index.find(&entry.metric).expect("Distill finds the metric");
        let clean = check(&entry, metric, zone, now).expect("Distill accepts it");
        let again = check(&entry, metric, zone, now).expect("Distill accepts it again");
        assert_eq!(clean, again, "the same entry distilled twice differs");

        assert!(clean.value.is_finite(), "{clean:?}");
        if let Some(min) = metric.min_value {
            assert!(clean.value >= min, "{clean:?} under {min}");
        }
        if let Some(max) = metric.max_value {
            assert!(clean.value <= max, "{clean:?} over {max}");
        }
        if metric.kind() == Kind::YesNo {
            assert!(clean.value == 0.0 || clean.value == 1.0, "{clean:?}");
        }
        assert!(clean.observed_at <= now + TimeDelta::days(1), "{clean:?}");
        assert!(clean.observed_at.year() >= 1900, "{clean:?}");
        assert_eq!(clean.note, clean.note.trim());
        assert!(clean.note.chars().count() <= 2000);
        assert!(!clean.note.contains('\0'));
        assert!(clean.tags.is_empty() || clean.note.contains('#'));
        for (i, tag) in clean.tags.iter().enumerate() {
            assert!((1..=50).contains(&tag.chars().count()), "{tag:?}");
            assert!(
                !tag.contains(|c: char| c == '#' || c.is_whitespace()),
                "{tag:?}"
            );
            assert!(!clean.tags[..i].contains(tag), "{tag:?} twice");
        }
        if let Some(score) = clean.sentiment {
            assert!((-1.0..=1.0).contains(&score), "{score}");
        }
    }
});
