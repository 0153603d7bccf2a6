//! Units and their conversions. Pure code, built into the browser bundle and the server
//! alike: the pipeline stores every value in its metric's canonical unit, and pages show
//! it in the member's preferred unit of the same dimension.
//!
//! A unit converts to its dimension's base by `base = value × scale + offset` (only
//! temperatures have an offset). Units of different dimensions never convert.

use serde::{Deserialize, Serialize};

/// What a unit measures; only units of one dimension convert into each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dimension {
    Mass,
    Duration,
    Distance,
    Temperature,
    /// Blood glucose concentration (mmol/L and mg/dL).
    Glucose,
    Energy,
    /// Counted things (steps, drinks), percentages, beats per minute, points on a scale,
    /// yes/no and custom units: each is its own dimension of one unit.
    Plain,
}

/// One unit: its code (stored in the database and used by imports and the API), the
/// label pages show, and how it converts to its dimension's base.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unit {
    pub code: &'static str,
    pub label: &'static str,
    pub dimension: Dimension,
    scale: f64,
    offset: f64,
}

const fn unit(code: &'static str, label: &'static str, dimension: Dimension, scale: f64) -> Unit {
    Unit {
        code,
        label,
        dimension,
        scale,
        offset: 0.0,
    }
}

/// mg/dL per mmol/L for glucose (molar mass 180.156 g/mol).
pub const GLUCOSE_MG_DL_PER_MMOL_L: f64 = 18.0156;

/// Every unit Cohort knows, by dimension. Bases: kg, s, m, °C, mmol/L, kcal.
pub const UNITS: &[Unit] = &[
    unit("kg", "kg", Dimension::Mass, 1.0),
    unit("g", "g", Dimension::Mass, 1e-3),
    unit("mg", "mg", Dimension::Mass, 1e-6),
    unit("lb", "lb", Dimension::Mass, 0.453_592_37),
    unit("st", "st", Dimension::Mass, 6.350_293_18),
    unit("oz", "oz", Dimension::Mass, 0.028_349_523_125),
    unit("s", "s", Dimension::Duration, 1.0),
    unit("min", "min", Dimension::Duration, 60.0),
    unit("h", "h", Dimension::Duration, 3600.0),
    unit("m", "m", Dimension::Distance, 1.0),
    unit("km", "km", Dimension::Distance, 1000.0),
    unit("mi", "mi", Dimension::Distance, 1609.344),
    Unit {
        code: "degC",
        label: "°C",
        dimension: Dimension::Temperature,
        scale: 1.0,
        offset: 0.0,
    },
    Unit {
        code: "degF",
        label: "°F",
        dimension: Dimension::Temperature,
        scale: 5.0 / 9.0,
        offset: -32.0 * 5.0 / 9.0,
    },
    unit("mmol/L", "mmol/L", Dimension::Glucose, 1.0),
    unit(
        "mg/dL",
        "mg/dL",
        Dimension::Glucose,
        1.0 / GLUCOSE_MG_DL_PER_MMOL_L,
    ),
    unit("kcal", "kcal", Dimension::Energy, 1.0),
    unit("kJ", "kJ", Dimension::Energy, 1.0 / 4.184),
    unit("count", "", Dimension::Plain, 1.0),
    unit("steps", "steps", Dimension::Plain, 1.0),
    unit("drinks", "drinks", Dimension::Plain, 1.0),
    unit("%", "%", Dimension::Plain, 1.0),
    unit("bpm", "bpm", Dimension::Plain, 1.0),
    unit("points", "", Dimension::Plain, 1.0),
    unit("yes/no", "", Dimension::Plain, 1.0),
];

/// Other spellings people and exports use for the same units.
const ALIASES: &[(&str, &str)] = &[
    ("kgs", "kg"),
    ("kilograms", "kg"),
    ("lbs", "lb"),
    ("pounds", "lb"),
    ("stone", "st"),
    ("sec", "s"),
    ("secs", "s"),
    ("seconds", "s"),
    ("mins", "min"),
    ("minutes", "min"),
    ("hr", "h"),
    ("hrs", "h"),
    ("hours", "h"),
    ("°c", "degC"),
    ("c", "degC"),
    ("degc", "degC"),
    ("°f", "degF"),
    ("f", "degF"),
    ("degf", "degF"),
    ("mmol/l", "mmol/L"),
    ("mg/dl", "mg/dL"),
    ("cal", "kcal"),
    ("kj", "kJ"),
    ("miles", "mi"),
    ("count/min", "bpm"),
    ("percent", "%"),
];

impl Unit {
    /// The unit with this code or a common spelling of it (`lbs`, `hours`, `°F`).
    pub fn find(code: &str) -> Option<Unit> {
        let code = code.trim();
        if let Some(unit) = UNITS.iter().find(|unit| unit.code == code) {
            return Some(*unit);
        }
        let lower = code.to_lowercase();
        let canonical = ALIASES
            .iter()
            .find(|(alias, _)| *alias == lower)
            .map(|(_, code)| *code)
            .unwrap_or(&lower);
        UNITS
            .iter()
            .find(|unit| unit.code.eq_ignore_ascii_case(canonical))
            .copied()
    }

    /// The units this one converts to (itself included), for a "show in" choice.
    pub fn compatible(self) -> Vec<Unit> {
        if self.dimension == Dimension::Plain {
            return vec![self];
        }
        UNITS
            .iter()
            .filter(|unit| unit.dimension == self.dimension)
            .copied()
            .collect()
    }

    pub fn to_base(self, value: f64) -> f64 {
        value * self.scale + self.offset
    }

    pub fn from_base(self, base: f64) -> f64 {
        (base - self.offset) / self.scale
    }
}

/// `value` in unit `from`, expressed in unit `to`; `None` across dimensions (and between
/// two different plain units, such as steps and %).
pub fn convert(value: f64, from: Unit, to: Unit) -> Option<f64> {
    if from.code == to.code {
        return Some(value);
    }
    if from.dimension != to.dimension || from.dimension == Dimension::Plain {
        return None;
    }
    Some(to.from_base(from.to_base(value)))
}

/// A value for people: at most `decimals` decimals, no trailing zeros, no "-0".
pub fn format_number(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" {
        "0".into()
    } else {
        text
    }
}

/// How many decimals are worth showing for a value in this unit.
pub fn decimals_for(unit: Unit) -> usize {
    match unit.code {
        "kg" | "lb" | "st" | "km" | "mi" | "degC" | "degF" | "mmol/L" | "h" | "%" | "oz" => 1,
        "g" | "mg" | "m" | "s" | "min" | "kcal" | "kJ" | "mg/dL" | "bpm" => 0,
        _ => 2,
    }
}

/// A value with its unit label: "7.5 h", "72 bpm", "12,000" stays "12000 steps".
pub fn display(value: f64, unit: Unit) -> String {
    let number = format_number(value, decimals_for(unit));
    if unit.label.is_empty() {
        number
    } else if unit.label.starts_with('°') || unit.label == "%" {
        format!("{number}{}", unit.label)
    } else {
        format!("{number} {}", unit.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u(code: &str) -> Unit {
        Unit::find(code).unwrap()
    }

    #[test]
    fn known_conversions() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
        assert!(close(convert(1.0, u("st"), u("lb")).unwrap(), 14.0));
        assert!(close(convert(100.0, u("degC"), u("degF")).unwrap(), 212.0));
        assert!(close(convert(-40.0, u("degF"), u("degC")).unwrap(), -40.0));
        assert!(close(
            convert(5.5, u("mmol/L"), u("mg/dL")).unwrap(),
            99.0858
        ));
        assert!(close(convert(90.0, u("min"), u("h")).unwrap(), 1.5));
        assert!(close(convert(1.0, u("mi"), u("km")).unwrap(), 1.609_344));
        assert!(close(convert(200.0, u("mg"), u("g")).unwrap(), 0.2));
        assert!(close(convert(1.0, u("kcal"), u("kJ")).unwrap(), 4.184));
        assert_eq!(convert(1.0, u("kg"), u("h")), None);
        assert_eq!(convert(1.0, u("steps"), u("%")), None);
        assert_eq!(convert(3.0, u("steps"), u("steps")), Some(3.0));
    }

    #[test]
    fn spellings_from_exports_are_understood() {
        assert_eq!(u("lbs").code, "lb");
        assert_eq!(u("Hours").code, "h");
        assert_eq!(u("°F").code, "degF");
        assert_eq!(u("mg/dl").code, "mg/dL");
        assert_eq!(u("count/min").code, "bpm");
        assert_eq!(u("KG").code, "kg");
        assert!(Unit::find("furlongs").is_none());
    }

    #[test]
    fn values_read_well() {
        assert_eq!(display(7.25, u("h")), "7.2 h");
        assert_eq!(display(72.0, u("bpm")), "72 bpm");
        assert_eq!(display(36.6, u("degC")), "36.6°C");
        assert_eq!(display(7.0, u("points")), "7");
        assert_eq!(display(-0.01, u("kg")), "0 kg");
        assert_eq!(format_number(1.50, 2), "1.5");
    }

    fn dimensional() -> impl Strategy<Value = (Unit, Unit)> {
        let units: Vec<Unit> = UNITS
            .iter()
            .filter(|unit| unit.dimension != Dimension::Plain)
            .copied()
            .collect();
        (0..units.len(), 0..units.len()).prop_filter_map("same dimension", move |(a, b)| {
            (units[a].dimension == units[b].dimension).then_some((units[a], units[b]))
        })
    }

    proptest! {
        #[test]
        fn a_round_trip_returns_the_value((from, to) in dimensional(), value in -1e6f64..1e6) {
            let there = convert(value, from, to).unwrap();
            let back = convert(there, to, from).unwrap();
            prop_assert!((back - value).abs() <= 1e-9 * value.abs().max(1.0), "{value} {} -> {there} {} -> {back}", from.code, to.code);
        }

        #[test]
        fn conversion_keeps_order((from, to) in dimensional(), a in -1e6f64..1e6, b in -1e6f64..1e6) {
            let (ca, cb) = (convert(a, from, to).unwrap(), convert(b, from, to).unwrap());
            if b - a > 1e-6 * a.abs().max(b.abs()).max(1.0) { prop_assert!(ca < cb); }
        }

        #[test]
        fn converting_through_a_third_unit_changes_nothing(
            (from, to) in dimensional(), value in -1e6f64..1e6,
        ) {
            for via in from.compatible() {
                let direct = convert(value, from, to).unwrap();
                let hop = convert(convert(value, from, via).unwrap(), via, to).unwrap();
                prop_assert!((direct - hop).abs() <= 1e-9 * direct.abs().max(1.0));
            }
        }

        #[test]
        fn every_code_finds_its_own_unit(index in 0..UNITS.len()) {
            let unit = UNITS[index];
            prop_assert_eq!(Unit::find(unit.code).map(|found| found.code), Some(unit.code));
        }
    }
}
