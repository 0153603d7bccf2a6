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

/// "Nice" ticks covering `low..=high`: about `count` of them at a step of 1, 2 or 5
/// times a power of ten (the first at or below `low`, the last at or above `high`).
pub fn nice_ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    if !low.is_finite() || !high.is_finite() {
        return Vec::new();
    }
    let (low, high) = if high > low {
        (low, high)
    } else {
        (low - 1.0, high + 1.0)
    };
    let rough = (high - low) / count.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    let first = (low / step).floor() as i64;
    let last = (high / step).ceil() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A daily line chart's geometry, in a box of [`LINE_WIDTH`] × [`LINE_HEIGHT`] with
/// room for the axes' labels on the left and below.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    /// The daily values (gaps where a day has none).
    pub values: String,
    /// The rolling mean (see [`rolling_mean`]).
    pub mean: String,
    pub goal_y: Option<f64>,
    /// (x, y) of each day marked (an outlier).
    pub marked: Vec<(f64, f64)>,
    /// (y, value) of each horizontal gridline.
    pub y_ticks: Vec<(f64, f64)>,
    /// (x, day index) of each labelled day.
    pub x_ticks: Vec<(f64, usize)>,
}

pub const LINE_WIDTH: f64 = 640.0;
pub const LINE_HEIGHT: f64 = 240.0;
/// Left margin (the values' labels) and bottom margin (the dates').
pub const LINE_LEFT: f64 = 52.0;
pub const LINE_BOTTOM: f64 = 24.0;
const LINE_TOP: f64 = 8.0;
const LINE_RIGHT: f64 = 8.0;

/// The mean of the values among the last `window` days (the day itself included),
/// once at least `min` of them have a value; `None` before that.
pub fn rolling_mean(values: &[Option<f64>], window: usize, min: usize) -> Vec<Option<f64>> {
    (0..values.len())
        .map(|i| {
            let start = (i + 1).saturating_sub(window);
            let present: Vec<f64> = values[start..=i].iter().flatten().copied().collect();
            (present.len() >= min.max(1))
                .then(|| present.iter().sum::<f64>() / present.len() as f64)
        })
        .collect()
}

fn path(points: impl Iterator<Item = Option<(f64, f64)>>) -> String {
    let mut out = String::new();
    let mut pen_down = false;
    for point in points {
        match point {
            Some((x, y)) => {
                out.push_str(&format!(
                    "{}{x:.1},{y:.1}",
                    if pen_down { " L" } else { " M" }
                ));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    out.trim_start().to_string()
}

/// Lays out one value per day (oldest first; `None` for a day without one) with its
/// rolling 7-day mean, the goal and the marked days, on y ticks that cover them all.
pub fn line(values: &[Option<f64>], goal: Option<f64>, marked: &[usize]) -> Line {
    let mean = rolling_mean(values, 7, 3);
    let present: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .chain(goal)
        .filter(|v| v.is_finite())
        .collect();
    let (Some(low), Some(high)) = (
        present.iter().copied().reduce(f64::min),
        present.iter().copied().reduce(f64::max),
    ) else {
        return Line::default();
    };
    let ticks = nice_ticks(low, high, 4);
    let (bottom, top) = (
        ticks.first().copied().unwrap_or(low),
        ticks.last().copied().unwrap_or(high),
    );
    let plot_height = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM;
    let y = |v: f64| LINE_TOP + (top - v) / (top - bottom) * plot_height;
    let plot_width = LINE_WIDTH - LINE_LEFT - LINE_RIGHT;
    let step = if values.len() > 1 {
        plot_width / (values.len() - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| LINE_LEFT + i as f64 * step;
    let point = |i: usize, v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| (x(i), y(v)));
    // About six dates along the bottom, evenly spaced, the newest day always among them.
    let every = values.len().div_ceil(6).max(1);
    let x_ticks = (0..values.len())
        .rev()
        .step_by(every)
        .map(|i| (x(i), i))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Line {
        values: path(values.iter().enumerate().map(|(i, v)| point(i, *v))),
        mean: path(mean.iter().enumerate().map(|(i, v)| point(i, *v))),
        goal_y: goal.filter(|g| g.is_finite()).map(y),
        marked: marked
            .iter()
            .filter_map(|&i| values.get(i).and_then(|v| point(i, *v)))
            .collect(),
        y_ticks: ticks.iter().map(|&t| (y(t), t)).collect(),
        x_ticks,
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(3.2, 8.7, 4), vec![2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(
            nice_ticks(4100.0, 11900.0, 4),
            vec![4000.0, 6000.0, 8000.0, 10000.0, 12000.0]
        );
        assert_eq!(nice_ticks(0.31, 0.38, 4), vec![0.3, 0.32, 0.34, 0.36, 0.38]);
        // A flat series still gets a range.
        assert_eq!(nice_ticks(5.0, 5.0, 4), vec![4.0, 4.5, 5.0, 5.5, 6.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 4).is_empty());
    }

    #[test]
    fn the_rolling_mean_waits_for_enough_days_and_skips_gaps() {
        let values = [
            Some(1.0),
            None,
            Some(3.0),
            Some(5.0),
            None,
            None,
            None,
            None,
            Some(7.0),
        ];
        let mean = rolling_mean(&values, 7, 3);
        assert_eq!(mean[2], None);
        assert_eq!(mean[3], Some(3.0));
        assert_eq!(mean[6], Some(3.0));
        // Day 8's window is days 2-8: 3, 5 and 7.
        assert_eq!(mean[8], Some(5.0));
    }

    #[test]
    fn a_line_chart_places_values_marks_and_ticks_in_its_box() {
        let values = [Some(2.0), Some(4.0), None, Some(10.0)];
        let chart = line(&values, Some(8.0), &[3]);
        // y ticks 2..10 by 2; the plot spans y 8 (top) to 216 (bottom).
        assert_eq!(chart.y_ticks.first(), Some(&(216.0, 2.0)));
        assert_eq!(chart.y_ticks.last(), Some(&(8.0, 10.0)));
        assert_eq!(chart.values, "M52.0,216.0 L245.3,164.0 M632.0,8.0");
        assert_eq!(chart.marked, vec![(632.0, 8.0)]);
        assert_eq!(chart.goal_y, Some(60.0));
        assert_eq!(chart.x_ticks.last().map(|t| t.1), Some(3));
        assert_eq!(line(&[None, None], None, &[]), Line::default());
    }
}
