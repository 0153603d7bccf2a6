//! The geometry of Cohort's charts: pure functions from numbers to SVG path data, run on
//! the server (the pages send the paths, so the browser's bundle carries no chart code)
//! and tested here. The components that draw them are plain SVG in the pages.

/// A sparkline's path in a `width` × `height` box: one point per day, oldest first;
/// a day without a value breaks the line (a gap, not a guess). The y range spans the
/// values (and `also`, e.g. the goal, when given), with a little room at the edges.
pub fn sparkline(values: &[Option<f64>], width: f64, height: f64, also: Option<f64>) -> Spark {
    let present: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .chain(also)
        .filter(|v| v.is_finite())
        .collect();
    let (Some(low), Some(high)) = (
        present.iter().copied().reduce(f64::min),
        present.iter().copied().reduce(f64::max),
    ) else {
        return Spark::default();
    };
    let pad = 2.0;
    let span = if high > low { high - low } else { 1.0 };
    let centre = if high > low { 0.0 } else { 0.5 };
    let y = |v: f64| {
        let t = if high > low { (v - low) / span } else { centre };
        height - pad - t * (height - 2.0 * pad)
    };
    let step = if values.len() > 1 {
        width / (values.len() - 1) as f64
    } else {
        0.0
    };
    let mut path = String::new();
    let mut last = None;
    let mut pen_down = false;
    for (i, value) in values.iter().enumerate() {
        match value.filter(|v| v.is_finite()) {
            Some(v) => {
                let (px, py) = (i as f64 * step, y(v));
                path.push_str(&format!(
                    "{}{:.1},{:.1}",
                    if pen_down { " L" } else { " M" },
                    px,
                    py
                ));
                pen_down = true;
                last = Some((px, py));
            }
            None => pen_down = false,
        }
    }
    Spark {
        path: path.trim_start().to_string(),
        last,
        goal_y: also.filter(|g| g.is_finite()).map(y),
    }
}

/// What a sparkline draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spark {
    /// SVG path data ("M0.0,10.0 L4.0,8.0 …"); empty without any value.
    pub path: String,
    /// The newest point, marked with a dot.
    pub last: Option<(f64, f64)>,
    /// Where the goal's line goes.
    pub goal_y: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_spans_its_box_and_breaks_at_missing_days() {
        let spark = sparkline(&[Some(1.0), Some(3.0), None, Some(2.0)], 30.0, 20.0, None);
        assert_eq!(spark.path, "M0.0,18.0 L10.0,2.0 M30.0,10.0");
        assert_eq!(spark.last, Some((30.0, 10.0)));
        assert_eq!(spark.goal_y, None);
    }

    #[test]
    fn the_goal_widens_the_range_and_gets_its_line() {
        let spark = sparkline(&[Some(1.0), Some(2.0)], 10.0, 20.0, Some(5.0));
        assert_eq!(spark.goal_y, Some(2.0));
        assert_eq!(spark.path, "M0.0,18.0 L10.0,14.0");
    }

    #[test]
    fn flat_empty_and_single_series_draw_without_dividing_by_zero() {
        assert_eq!(sparkline(&[None, None], 10.0, 20.0, None), Spark::default());
        let flat = sparkline(&[Some(4.0), Some(4.0)], 10.0, 20.0, None);
        assert_eq!(flat.path, "M0.0,10.0 L10.0,10.0");
        let one = sparkline(&[Some(4.0)], 10.0, 20.0, None);
        assert_eq!(one.path, "M0.0,10.0");
        let odd = sparkline(&[Some(f64::NAN), Some(1.0)], 10.0, 20.0, None);
        assert_eq!(odd.path, "M10.0,10.0");
    }
}
