//! A metric as one member sees it (the catalogue's or their own, with their settings) and
//! looking one up by key or name, as every capture path names it.
//!
//! Pure code: the server reads rows into it (`catalogue`), and the fuzz targets in
//! `server/fuzz` include it.

use super::units::{self, Unit};
use super::{show_value, Kind, Rules};
use std::collections::HashMap;

/// A metric with one member's settings applied.
#[derive(Clone, Debug)]
pub struct MetricRow {
    pub id: i64,
    pub owner_id: Option<i64>,
    pub key: String,
    pub name: String,
    pub kind: String,
    pub unit: String,
    pub display_unit: String,
    pub aggregate: String,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    /// Canonical unit.
    pub goal: Option<f64>,
    pub pinned: bool,
}

impl MetricRow {
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Quantity)
    }

    pub fn rules(&self) -> Rules {
        Rules {
            name: self.name.clone(),
            kind: self.kind(),
            unit: self.unit.clone(),
            min: self.min_value,
            max: self.max_value,
        }
    }

    /// A canonical value as the member reads it.
    pub fn show(&self, value: f64) -> String {
        show_value(value, &self.unit, &self.display_unit, self.kind())
    }

    /// A canonical value as a number in the display unit (for charts).
    pub fn display_number(&self, value: f64) -> f64 {
        match (Unit::find(&self.unit), Unit::find(&self.display_unit)) {
            (Some(from), Some(to)) => units::convert(value, from, to).unwrap_or(value),
            _ => value,
        }
    }

    /// Decimals worth showing for a value in the display unit.
    pub fn display_decimals(&self) -> usize {
        Unit::find(&self.display_unit)
            .or_else(|| Unit::find(&self.unit))
            .map_or(2, units::decimals_for)
    }

    /// The display unit's label ("h", "kg"), empty for a plain count or scale.
    pub fn display_label(&self) -> String {
        super::unit_label(&self.display_unit)
    }

    /// A canonical value as a number in the display unit (for edit forms).
    pub fn input(&self, value: f64) -> String {
        if self.kind() == Kind::YesNo {
            return if value >= 0.5 { "yes" } else { "no" }.into();
        }
        match (Unit::find(&self.unit), Unit::find(&self.display_unit)) {
            (Some(from), Some(to)) => units::convert(value, from, to)
                .map(|v| units::format_number(v, 4))
                .unwrap_or_else(|| units::format_number(value, 4)),
            _ => units::format_number(value, 4),
        }
    }
}

/// A member's metrics by key and by lower-cased name, as every capture path looks an
/// entry's metric up (imports and the API may name a metric either way).
pub struct MetricIndex<'a>(HashMap<String, &'a MetricRow>);

impl<'a> MetricIndex<'a> {
    pub fn new(metrics: &'a [MetricRow]) -> Self {
        MetricIndex(
            metrics
                .iter()
                .flat_map(|m| [(m.key.clone(), m), (m.name.to_lowercase(), m)])
                .collect(),
        )
    }

    /// The metric an entry names, or the reason it names none.
    pub fn find(&self, name: &str) -> Result<&'a MetricRow, String> {
        let name = name.trim();
        self.0
            .get(name)
            .or_else(|| self.0.get(&name.to_lowercase()))
            .copied()
            .ok_or_else(|| format!("There is no metric called “{name}”."))
    }
}
