//! Apple Health's `export.xml`: which `<Record>` types become which Cohort metrics, and
//! how. The file is read as a stream of elements by `server/src/imports.rs`; this is the
//! pure part: one record's attributes in, one entry (or a reason, or "not tracked") out.

use super::entry::RawEntry;
use chrono::{DateTime, FixedOffset};

/// How a record type maps to a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Take {
    /// The record's value, in its unit.
    Value,
    /// The record's value × 100 (Apple stores percentages as fractions).
    Percent,
    /// The time between start and end, in minutes (sleep, mindful minutes).
    Duration,
}

/// (HealthKit type, Cohort metric key, how).
const TYPES: &[(&str, &str, Take)] = &[
    ("HKQuantityTypeIdentifierStepCount", "steps", Take::Value),
    ("HKQuantityTypeIdentifierBodyMass", "weight", Take::Value),
    (
        "HKQuantityTypeIdentifierBodyFatPercentage",
        "body_fat",
        Take::Percent,
    ),
    (
        "HKQuantityTypeIdentifierHeartRate",
        "heart_rate",
        Take::Value,
    ),
    (
        "HKQuantityTypeIdentifierRestingHeartRate",
        "resting_heart_rate",
        Take::Value,
    ),
    (
        "HKQuantityTypeIdentifierActiveEnergyBurned",
        "active_energy",
        Take::Value,
    ),
    (
        "HKQuantityTypeIdentifierDistanceWalkingRunning",
        "walking_distance",
        Take::Value,
    ),
    (
        "HKQuantityTypeIdentifierBloodGlucose",
        "glucose",
        Take::Value,
    ),
    (
        "HKQuantityTypeIdentifierBodyTemperature",
        "body_temperature",
        Take::Value,
    ),
    (
        "HKQuantityTypeIdentifierDietaryCaffeine",
        "caffeine",
        Take::Value,
    ),
    (
        "HKQuantityTypeIdentifierAppleExerciseTime",
        "exercise",
        Take::Value,
    ),
    (
        "HKCategoryTypeIdentifierSleepAnalysis",
        "sleep",
        Take::Duration,
    ),
    (
        "HKCategoryTypeIdentifierMindfulSession",
        "meditation",
        Take::Duration,
    ),
];

/// What one record gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Entry(RawEntry),
    /// A type (or a sleep stage such as "in bed" or "awake") Cohort does not track.
    Skipped,
    Invalid(String),
}

/// Apple's units as Cohort spells them ("count/min" is bpm, "Cal" is kcal).
fn unit(apple: &str) -> &str {
    match apple {
        "count" => "",
        "count/min" => "bpm",
        "Cal" | "kcal" => "kcal",
        "%" => "%",
        other => other,
    }
}

fn time(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .map_err(|_| format!("“{text}” is not a time Apple Health writes."))
}

/// One `<Record>`, given its attributes by name.
pub fn record(attribute: impl Fn(&str) -> Option<String>) -> Outcome {
    let Some(kind) = attribute("type") else {
        return Outcome::Invalid("A record without a type.".into());
    };
    let Some((_, metric, take)) = TYPES.iter().find(|(apple, ..)| *apple == kind) else {
        return Outcome::Skipped;
    };
    let Some(start) = attribute("startDate") else {
        return Outcome::Invalid("A record without a start date.".into());
    };
    let start_time = match time(&start) {
        Ok(at) => at,
        Err(reason) => return Outcome::Invalid(reason),
    };
    let note = attribute("sourceName")
        .map(|source| format!("from {source}"))
        .unwrap_or_default();
    let (value, unit) = match take {
        Take::Value | Take::Percent => {
            let Some(value) = attribute("value") else {
                return Outcome::Invalid("A record without a value.".into());
            };
            let unit = unit(attribute("unit").as_deref().unwrap_or("")).to_string();
            if *take == Take::Percent {
                match value.parse::<f64>() {
                    // Rounded so that 0.215 reads 21.5, not 21.499999999999996.
                    Ok(fraction) => (
                        format!("{}", (fraction * 100.0 * 1e6).round() / 1e6),
                        "%".to_string(),
                    ),
                    Err(_) => return Outcome::Invalid(format!("“{value}” is not a number.")),
                }
            } else {
                (value, unit)
            }
        }
        Take::Duration => {
            // Sleep: only the asleep stages count, not "in bed" or "awake".
            let stage = attribute("value").unwrap_or_default();
            if *metric == "sleep" && !stage.contains("Asleep") {
                return Outcome::Skipped;
            }
            let Some(end) = attribute("endDate") else {
                return Outcome::Invalid("A record without an end date.".into());
            };
            let end = match time(&end) {
                Ok(at) => at,
                Err(reason) => return Outcome::Invalid(reason),
            };
            let minutes = (end - start_time).num_seconds() as f64 / 60.0;
            if minutes < 0.0 {
                return Outcome::Invalid("The record ends before it starts.".into());
            }
            (format!("{minutes}"), "min".to_string())
        }
    };
    Outcome::Entry(RawEntry {
        metric: metric.to_string(),
        value,
        unit,
        at: start_time.to_rfc3339(),
        time_zone: String::new(),
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(pairs: &[(&str, &str)]) -> Outcome {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        record(|name| map.get(name).map(|v| v.to_string()))
    }

    fn entry(outcome: Outcome) -> RawEntry {
        match outcome {
            Outcome::Entry(entry) => entry,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn quantities_keep_value_and_unit() {
        let steps = entry(run(&[
            ("type", "HKQuantityTypeIdentifierStepCount"),
            ("sourceName", "Ada's iPhone"),
            ("unit", "count"),
            ("startDate", "2026-11-01 07:00:00 -0800"),
            ("endDate", "2026-11-01 08:00:00 -0800"),
            ("value", "1234"),
        ]));
        assert_eq!(
            (
                steps.metric.as_str(),
                steps.value.as_str(),
                steps.unit.as_str()
            ),
            ("steps", "1234", "")
        );
        assert_eq!(steps.at, "2026-11-01T07:00:00-08:00");
        assert_eq!(steps.note, "from Ada's iPhone");
        let weight = entry(run(&[
            ("type", "HKQuantityTypeIdentifierBodyMass"),
            ("unit", "lb"),
            ("startDate", "2026-11-01 07:00:00 -0800"),
            ("value", "154.2"),
        ]));
        assert_eq!(
            (weight.value.as_str(), weight.unit.as_str()),
            ("154.2", "lb")
        );
        let pulse = entry(run(&[
            ("type", "HKQuantityTypeIdentifierHeartRate"),
            ("unit", "count/min"),
            ("startDate", "2026-11-01 07:00:00 -0800"),
            ("value", "61"),
        ]));
        assert_eq!(pulse.unit, "bpm");
        let fat = entry(run(&[
            ("type", "HKQuantityTypeIdentifierBodyFatPercentage"),
            ("unit", "%"),
            ("startDate", "2026-11-01 07:00:00 -0800"),
            ("value", "0.215"),
        ]));
        assert_eq!((fat.value.as_str(), fat.unit.as_str()), ("21.5", "%"));
    }

    #[test]
    fn sleep_counts_the_asleep_stages_only() {
        let asleep = entry(run(&[
            ("type", "HKCategoryTypeIdentifierSleepAnalysis"),
            ("startDate", "2026-11-01 23:10:00 -0800"),
            ("endDate", "2026-11-02 02:40:00 -0800"),
            ("value", "HKCategoryValueSleepAnalysisAsleepCore"),
        ]));
        assert_eq!(
            (
                asleep.metric.as_str(),
                asleep.value.as_str(),
                asleep.unit.as_str()
            ),
            ("sleep", "210", "min")
        );
        for stage in [
            "HKCategoryValueSleepAnalysisInBed",
            "HKCategoryValueSleepAnalysisAwake",
        ] {
            let outcome = run(&[
                ("type", "HKCategoryTypeIdentifierSleepAnalysis"),
                ("startDate", "2026-11-01 23:00:00 -0800"),
                ("endDate", "2026-11-02 07:00:00 -0800"),
                ("value", stage),
            ]);
            assert_eq!(outcome, Outcome::Skipped);
        }
    }

    #[test]
    fn unknown_types_are_skipped_and_broken_records_explained() {
        assert_eq!(
            run(&[("type", "HKQuantityTypeIdentifierFlightsClimbed")]),
            Outcome::Skipped
        );
        assert_eq!(
            run(&[]),
            Outcome::Invalid("A record without a type.".into())
        );
        assert_eq!(
            run(&[
                ("type", "HKQuantityTypeIdentifierStepCount"),
                ("startDate", "yesterday"),
                ("value", "1")
            ]),
            Outcome::Invalid("“yesterday” is not a time Apple Health writes.".into())
        );
        assert_eq!(
            run(&[
                ("type", "HKCategoryTypeIdentifierMindfulSession"),
                ("startDate", "2026-11-01 08:00:00 -0800"),
                ("endDate", "2026-11-01 07:00:00 -0800"),
            ]),
            Outcome::Invalid("The record ends before it starts.".into())
        );
    }
}
