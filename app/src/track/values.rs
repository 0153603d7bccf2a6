//! What a metric is and what a value for it may be: the kinds of metric, the built-in
//! catalogue, reading a value as people type it (numbers, clock durations, yes/no) into
//! the metric's canonical unit with its bounds checked, and the #tags of a note.
//!
//! Pure code (serde and the units table only): the browser, every capture path and
//! Distill read values with it, and the fuzz targets in `server/fuzz` include it.

use super::units::{self, Unit};
use serde::{Deserialize, Serialize};

/// What kind of thing a metric counts; decides how a value is entered and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A measured amount (weight, caffeine).
    Quantity,
    /// Whole points between two bounds (mood 1-9).
    Scale,
    /// Whole things, zero or more (steps, drinks).
    Count,
    /// A length of time (sleep, exercise).
    Duration,
    /// Did it happen: 1 or 0.
    YesNo,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Quantity,
        Kind::Scale,
        Kind::Count,
        Kind::Duration,
        Kind::YesNo,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Quantity => "quantity",
            Kind::Scale => "scale",
            Kind::Count => "count",
            Kind::Duration => "duration",
            Kind::YesNo => "yes_no",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Quantity => "Quantity (a measured amount)",
            Kind::Scale => "Scale (whole points between bounds)",
            Kind::Count => "Count (whole things)",
            Kind::Duration => "Duration (a length of time)",
            Kind::YesNo => "Yes / no",
        }
    }

    pub fn parse(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// How a day's values become one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    Sum,
    Mean,
    Last,
    Max,
}

impl Aggregate {
    pub const ALL: [Aggregate; 4] = [
        Aggregate::Sum,
        Aggregate::Mean,
        Aggregate::Last,
        Aggregate::Max,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Aggregate::Sum => "sum",
            Aggregate::Mean => "mean",
            Aggregate::Last => "last",
            Aggregate::Max => "max",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Aggregate::Sum => "Add them up (steps, caffeine)",
            Aggregate::Mean => "Average (mood, heart rate)",
            Aggregate::Last => "Latest value (weight)",
            Aggregate::Max => "Highest value",
        }
    }

    pub fn parse(code: &str) -> Option<Aggregate> {
        Aggregate::ALL.into_iter().find(|agg| agg.code() == code)
    }
}

/// A metric of the built-in catalogue.
#[derive(Clone, Copy, Debug)]
pub struct BuiltIn {
    pub key: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    /// The canonical unit values are stored in.
    pub unit: &'static str,
    /// The unit pages show until the member picks another.
    pub display_unit: &'static str,
    pub aggregate: Aggregate,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// On the quick-log page until the member unpins it.
    pub pinned: bool,
}

#[allow(clippy::too_many_arguments)]
const fn metric(
    key: &'static str,
    name: &'static str,
    kind: Kind,
    unit: &'static str,
    display_unit: &'static str,
    aggregate: Aggregate,
    bounds: (Option<f64>, Option<f64>),
    pinned: bool,
) -> BuiltIn {
    BuiltIn {
        key,
        name,
        kind,
        unit,
        display_unit,
        aggregate,
        min: bounds.0,
        max: bounds.1,
        pinned,
    }
}

const NONNEG: (Option<f64>, Option<f64>) = (Some(0.0), None);

/// The built-in catalogue. Keys are stable (imports and the API name metrics by key);
/// the server writes this list into `metrics` at start-up.
#[rustfmt::skip]
pub const CATALOGUE: &[BuiltIn] = &[
    metric("sleep", "Sleep", Kind::Duration, "min", "h", Aggregate::Sum, (Some(0.0), Some(1440.0)), true),
    metric("steps", "Steps", Kind::Count, "steps", "steps", Aggregate::Sum, NONNEG, true),
    metric("weight", "Weight", Kind::Quantity, "kg", "kg", Aggregate::Last, (Some(0.0), Some(700.0)), true),
    metric("body_fat", "Body fat", Kind::Quantity, "%", "%", Aggregate::Last, (Some(0.0), Some(100.0)), false),
    metric("mood", "Mood", Kind::Scale, "points", "points", Aggregate::Mean, (Some(1.0), Some(9.0)), true),
    metric("energy", "Energy", Kind::Scale, "points", "points", Aggregate::Mean, (Some(1.0), Some(5.0)), true),
    metric("caffeine", "Caffeine", Kind::Quantity, "mg", "mg", Aggregate::Sum, (Some(0.0), Some(5000.0)), true),
    metric("alcohol", "Alcohol", Kind::Count, "drinks", "drinks", Aggregate::Sum, NONNEG, false),
    metric("exercise", "Exercise", Kind::Duration, "min", "min", Aggregate::Sum, (Some(0.0), Some(1440.0)), false),
    metric("resting_heart_rate", "Resting heart rate", Kind::Quantity, "bpm", "bpm", Aggregate::Mean, (Some(20.0), Some(250.0)), false),
    metric("meditation", "Meditation", Kind::Duration, "min", "min", Aggregate::Sum, (Some(0.0), Some(1440.0)), false),
    metric("screen_time", "Screen time", Kind::Duration, "min", "h", Aggregate::Sum, (Some(0.0), Some(1440.0)), false),
    metric("heart_rate", "Heart rate", Kind::Quantity, "bpm", "bpm", Aggregate::Mean, (Some(20.0), Some(300.0)), false),
    metric("active_energy", "Active energy", Kind::Quantity, "kcal", "kcal", Aggregate::Sum, NONNEG, false),
    metric("walking_distance", "Walking + running distance", Kind::Quantity, "km", "km", Aggregate::Sum, NONNEG, false),
    metric("glucose", "Blood glucose", Kind::Quantity, "mmol/L", "mmol/L", Aggregate::Mean, (Some(0.0), Some(60.0)), false),
    metric("body_temperature", "Body temperature", Kind::Quantity, "degC", "degC", Aggregate::Mean, (Some(25.0), Some(45.0)), false),
];

/// Units a custom metric of each kind may use: its canonical unit is the first of the
/// dimension chosen (e.g. grams for a mass), or a unit of the member's own naming.
pub fn canonical_unit_for(kind: Kind, unit: &str) -> Result<String, String> {
    let unit = unit.trim();
    match kind {
        Kind::YesNo => Ok("yes/no".into()),
        Kind::Scale => Ok("points".into()),
        Kind::Duration => match Unit::find(if unit.is_empty() { "min" } else { unit }) {
            Some(found) if found.dimension == units::Dimension::Duration => Ok(found.code.into()),
            _ => Err("A duration is kept in seconds, minutes or hours (s, min, h).".into()),
        },
        Kind::Quantity | Kind::Count => {
            if unit.is_empty() {
                return Ok("count".into());
            }
            if let Some(found) = Unit::find(unit) {
                return Ok(found.code.into());
            }
            let ok = unit.chars().count() <= 20
                && unit
                    .chars()
                    .all(|c| c.is_alphanumeric() || " /%.-_°".contains(c));
            if ok {
                Ok(unit.to_string())
            } else {
                Err("Name the unit in up to 20 letters, digits, spaces or / % . -".into())
            }
        }
    }
}

/// The unit of a metric, known or the member's own (which converts to nothing else).
pub fn unit_of(code: &str) -> Option<Unit> {
    Unit::find(code)
}

/// A number as people type it: "72.5", "72,5", "12,000", "1 234", "+3".
pub fn parse_number(text: &str) -> Result<f64, String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '\u{a0}')
        .collect();
    if cleaned.is_empty() {
        return Err("Enter a value.".into());
    }
    let normal = match (cleaned.contains('.'), cleaned.matches(',').count()) {
        (true, _) => cleaned.replace(',', ""),
        (false, 0) => cleaned,
        (false, 1) => {
            // One comma: "12,000" groups thousands, "72,5" is a decimal comma.
            let after = cleaned.rsplit(',').next().unwrap_or("");
            if after.len() == 3 && after.chars().all(|c| c.is_ascii_digit()) {
                cleaned.replace(',', "")
            } else {
                cleaned.replace(',', ".")
            }
        }
        (false, _) => cleaned.replace(',', ""),
    };
    match normal.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("“{}” is not a number.", text.trim())),
    }
}

/// A yes/no answer as text.
pub fn parse_yes_no(text: &str) -> Result<f64, String> {
    match text.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "on" | "done" => Ok(1.0),
        "no" | "n" | "false" | "0" | "off" => Ok(0.0),
        _ => Err(format!("Answer yes or no, not “{}”.", text.trim())),
    }
}

/// "7:30" as hours and minutes, in hours.
fn parse_clock_duration(text: &str) -> Option<f64> {
    let (hours, minutes) = text.trim().split_once(':')?;
    let hours: u32 = hours.trim().parse().ok()?;
    let minutes: u32 = minutes.trim().parse().ok()?;
    (minutes < 60).then(|| hours as f64 + minutes as f64 / 60.0)
}

/// What a metric needs to check a value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub name: String,
    pub kind: Kind,
    /// Canonical unit code.
    pub unit: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A value as entered (text, in unit `unit_code` or the metric's own when empty) checked
/// and converted to the metric's canonical unit.
pub fn canonical_value(rules: &Rules, text: &str, unit_code: &str) -> Result<f64, String> {
    let canonical = unit_of(&rules.unit);
    let given = if unit_code.trim().is_empty() {
        None
    } else {
        match unit_of(unit_code) {
            Some(unit) => Some(unit),
            None if unit_code.trim() == rules.unit => None,
            None => {
                return Err(format!(
                    "“{}” is not a unit Cohort knows.",
                    unit_code.trim()
                ))
            }
        }
    };
    let value = match rules.kind {
        Kind::YesNo => parse_yes_no(text)?,
        Kind::Duration => match parse_clock_duration(text) {
            // "7:30" is hours and minutes whatever the unit.
            Some(hours) => {
                let hour = Unit::find("h").ok_or("the hour unit is missing")?;
                let to = canonical.ok_or("the metric's unit is missing")?;
                return check_bounds(rules, units::convert(hours, hour, to).unwrap_or(hours));
            }
            None => parse_number(text)?,
        },
        _ => parse_number(text)?,
    };
    let value = match (given, canonical) {
        (Some(from), Some(to)) => units::convert(value, from, to).ok_or_else(|| {
            format!(
                "{} is kept in {}; “{}” does not convert to it.",
                rules.name,
                to.code,
                unit_code.trim()
            )
        })?,
        (Some(from), None) => {
            return Err(format!(
                "{} is kept in {}; “{}” does not convert to it.",
                rules.name, rules.unit, from.code
            ))
        }
        (None, _) => value,
    };
    check_bounds(rules, value)
}

/// The last check of every value, in the canonical unit: a conversion can overflow a
/// finite entry (`1e308` stones in kg), so finiteness is checked here, after it.
fn check_bounds(rules: &Rules, value: f64) -> Result<f64, String> {
    if !value.is_finite() {
        return Err(format!("That is too large a value for {}.", rules.name));
    }
    let whole = matches!(rules.kind, Kind::Scale | Kind::Count);
    if whole && value.fract().abs() > 1e-9 {
        return Err(format!("{} takes whole numbers.", rules.name));
    }
    if matches!(rules.kind, Kind::Count | Kind::Duration) && value < 0.0 {
        return Err(format!("{} cannot be negative.", rules.name));
    }
    let shown = |bound: f64| units::format_number(bound, 2);
    match (rules.min, rules.max) {
        (Some(min), Some(max)) if value < min || value > max => {
            let unit = unit_label(&rules.unit);
            let unit = if unit.is_empty() || unit == "%" {
                unit
            } else {
                format!(" {unit}")
            };
            Err(format!(
                "{} goes from {} to {}{unit}.",
                rules.name,
                shown(min),
                shown(max)
            ))
        }
        (Some(min), None) if value < min => {
            Err(format!("{} cannot be below {}.", rules.name, shown(min)))
        }
        (None, Some(max)) if value > max => {
            Err(format!("{} cannot be above {}.", rules.name, shown(max)))
        }
        _ => Ok(if whole { value.round() } else { value }),
    }
}

/// How a unit code reads on a page: known units by label, custom ones as named.
pub fn unit_label(code: &str) -> String {
    match unit_of(code) {
        Some(unit) => unit.label.to_string(),
        None => code.to_string(),
    }
}

/// A value in `unit_code` (canonical) for display in `display_code`.
pub fn show_value(value: f64, unit_code: &str, display_code: &str, kind: Kind) -> String {
    if kind == Kind::YesNo {
        return if value >= 0.5 {
            "yes".into()
        } else {
            "no".into()
        };
    }
    match (unit_of(unit_code), unit_of(display_code)) {
        (Some(from), Some(to)) => match units::convert(value, from, to) {
            Some(converted) => units::display(converted, to),
            None => units::display(value, from),
        },
        (Some(from), None) => units::display(value, from),
        _ => format!("{} {unit_code}", units::format_number(value, 2)),
    }
}

/// The #tags of a note, lower-cased, each once, in order of appearance.
pub fn tags(note: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (index, _) in note.match_indices('#') {
        let preceded_by_word = note[..index]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric());
        if preceded_by_word {
            continue;
        }
        let tag: String = note[index + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect::<String>()
            .to_lowercase();
        let tag = tag.trim_end_matches('-').to_string();
        if !tag.is_empty() && tag.chars().count() <= 50 && !found.contains(&tag) {
            found.push(tag);
        }
    }
    found
}

/// A key for a member's own metric, from its name: "Cold showers" -> "cold-showers".
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug: String = slug.chars().take(40).collect();
    if slug.is_empty() {
        "metric".into()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(kind: Kind, unit: &str, min: Option<f64>, max: Option<f64>) -> Rules {
        Rules {
            name: "It".into(),
            kind,
            unit: unit.into(),
            min,
            max,
        }
    }

    #[test]
    fn numbers_as_people_type_them() {
        assert_eq!(parse_number("72.5"), Ok(72.5));
        assert_eq!(parse_number(" 72,5 "), Ok(72.5));
        assert_eq!(parse_number("12,000"), Ok(12000.0));
        assert_eq!(parse_number("1 234"), Ok(1234.0));
        assert_eq!(parse_number("1,234.5"), Ok(1234.5));
        assert_eq!(parse_number("+3"), Ok(3.0));
        assert!(parse_number("").is_err());
        assert!(parse_number("abc").is_err());
        assert!(parse_number("inf").is_err());
        assert!(parse_number("NaN").is_err());
    }

    #[test]
    fn values_are_checked_and_made_canonical() {
        let sleep = rules(Kind::Duration, "min", Some(0.0), Some(1440.0));
        assert_eq!(canonical_value(&sleep, "7.5", "h"), Ok(450.0));
        assert_eq!(canonical_value(&sleep, "7:30", ""), Ok(450.0));
        assert_eq!(canonical_value(&sleep, "430", ""), Ok(430.0));
        assert!(canonical_value(&sleep, "-1", "").is_err());
        assert!(canonical_value(&sleep, "25", "h").is_err());
        assert!(canonical_value(&sleep, "7", "kg")
            .unwrap_err()
            .contains("does not convert"));
        let mood = rules(Kind::Scale, "points", Some(1.0), Some(9.0));
        assert_eq!(canonical_value(&mood, "7", ""), Ok(7.0));
        assert!(canonical_value(&mood, "10", "")
            .unwrap_err()
            .contains("from 1 to 9"));
        assert!(canonical_value(&mood, "6.5", "")
            .unwrap_err()
            .contains("whole"));
        let weight = rules(Kind::Quantity, "kg", Some(0.0), Some(700.0));
        let kg = canonical_value(&weight, "154", "lb").unwrap();
        assert!((kg - 69.853_225).abs() < 1e-6);
        assert!(canonical_value(&weight, "70", "furlongs").is_err());
        let done = rules(Kind::YesNo, "yes/no", None, None);
        assert_eq!(canonical_value(&done, "yes", ""), Ok(1.0));
        assert_eq!(canonical_value(&done, "No", ""), Ok(0.0));
        assert!(canonical_value(&done, "maybe", "").is_err());
        let pages = rules(Kind::Count, "pages", Some(0.0), None);
        assert_eq!(canonical_value(&pages, "12", "pages"), Ok(12.0));
        assert!(canonical_value(&pages, "12", "kg").is_err());
    }

    #[test]
    fn tags_come_from_the_note() {
        assert_eq!(
            tags("Late #Coffee and #sleep-debt, #coffee again; mail a#b #"),
            vec!["coffee", "sleep-debt"]
        );
        assert!(tags("no tags here").is_empty());
    }

    #[test]
    fn a_conversion_that_overflows_is_refused() {
        let rules = Rules {
            name: "Load".into(),
            kind: Kind::Quantity,
            unit: "kg".into(),
            min: None,
            max: None,
        };
        assert!(canonical_value(&rules, "1e308", "st").is_err());
        assert!(canonical_value(&rules, "-1e308", "lb").is_ok_and(f64::is_finite));
        assert!(canonical_value(&rules, "12", "st").is_ok_and(|kg| (kg - 76.2).abs() < 0.01));
    }

    #[test]
    fn custom_units_and_slugs() {
        assert_eq!(canonical_unit_for(Kind::Quantity, "lbs"), Ok("lb".into()));
        assert_eq!(canonical_unit_for(Kind::Count, "pages"), Ok("pages".into()));
        assert_eq!(canonical_unit_for(Kind::Count, ""), Ok("count".into()));
        assert_eq!(canonical_unit_for(Kind::Scale, "x"), Ok("points".into()));
        assert!(canonical_unit_for(Kind::Duration, "kg").is_err());
        assert!(canonical_unit_for(Kind::Quantity, "<script>").is_err());
        assert_eq!(slug("  Cold showers! "), "cold-showers");
        assert_eq!(slug("☕"), "metric");
    }

    #[test]
    fn the_catalogue_uses_known_units_and_unique_keys() {
        for (index, metric) in CATALOGUE.iter().enumerate() {
            let unit = unit_of(metric.unit).expect(metric.unit);
            let display = unit_of(metric.display_unit).expect(metric.display_unit);
            assert!(
                units::convert(1.0, display, unit).is_some(),
                "{}",
                metric.key
            );
            assert!(CATALOGUE[index + 1..].iter().all(|m| m.key != metric.key));
        }
        assert!(CATALOGUE.len() >= 12);
    }
}
