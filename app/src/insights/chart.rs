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
pub const LINE_TOP: f64 = 8.0;
pub const LINE_RIGHT: f64 = 8.0;

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

/// Where day `i` of a line chart of `len` days sits across it.
pub fn day_x(len: usize, i: usize) -> f64 {
    let plot_width = LINE_WIDTH - LINE_LEFT - LINE_RIGHT;
    if len > 1 {
        LINE_LEFT + i as f64 * plot_width / (len - 1) as f64
    } else {
        LINE_LEFT
    }
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
    let x = |i: usize| day_x(values.len(), i);
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

pub const SCATTER_WIDTH: f64 = 640.0;
pub const SCATTER_HEIGHT: f64 = 360.0;
/// Left margin (the y values' labels) and bottom margin (the x values' and the x axis's
/// name).
pub const SCATTER_LEFT: f64 = 52.0;
pub const SCATTER_BOTTOM: f64 = 40.0;
const SCATTER_TOP: f64 = 8.0;
const SCATTER_RIGHT: f64 = 12.0;

/// A scatter plot's geometry, in a box of [`SCATTER_WIDTH`] × [`SCATTER_HEIGHT`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scatter {
    /// (x, y) of each point, in the order given.
    pub dots: Vec<(f64, f64)>,
    /// The fitted line's ends, clipped to the x range of the points.
    pub fit: Option<((f64, f64), (f64, f64))>,
    /// (position, value) of each tick along x and along y.
    pub x_ticks: Vec<(f64, f64)>,
    pub y_ticks: Vec<(f64, f64)>,
}

/// Lays out points (x, y) with the line y = intercept + slope · x (when given) on round
/// ticks that cover them. Points that are not finite are left out.
pub fn scatter(points: &[(f64, f64)], fit: Option<(f64, f64)>) -> Scatter {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let range = |values: &mut dyn Iterator<Item = f64>| {
        values.fold(None, |acc: Option<(f64, f64)>, v| {
            Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
        })
    };
    let (Some((x_low, x_high)), Some((y_low, y_high))) = (
        range(&mut finite.iter().map(|p| p.0)),
        range(&mut finite.iter().map(|p| p.1)),
    ) else {
        return Scatter::default();
    };
    let x_ticks = nice_ticks(x_low, x_high, 5);
    let y_ticks = nice_ticks(y_low, y_high, 4);
    let ends = |ticks: &[f64], low: f64, high: f64| {
        (
            ticks.first().copied().unwrap_or(low),
            ticks.last().copied().unwrap_or(high),
        )
    };
    let (x_first, x_last) = ends(&x_ticks, x_low, x_high);
    let (y_first, y_last) = ends(&y_ticks, y_low, y_high);
    let plot_width = SCATTER_WIDTH - SCATTER_LEFT - SCATTER_RIGHT;
    let plot_height = SCATTER_HEIGHT - SCATTER_TOP - SCATTER_BOTTOM;
    let x = |v: f64| SCATTER_LEFT + (v - x_first) / (x_last - x_first) * plot_width;
    let y = |v: f64| SCATTER_TOP + (y_last - v) / (y_last - y_first) * plot_height;
    let fit = fit
        .filter(|(a, b)| a.is_finite() && b.is_finite() && x_high > x_low)
        .map(|(intercept, slope)| {
            // Clipped to the plot's y range as well, so the line never leaves the box.
            let clip = |v: f64| v.clamp(y_first, y_last);
            let at = |v: f64| (x(v), y(clip(intercept + slope * v)));
            (at(x_low), at(x_high))
        });
    Scatter {
        dots: finite.iter().map(|&(a, b)| (x(a), y(b))).collect(),
        fit,
        x_ticks: x_ticks.iter().map(|&t| (x(t), t)).collect(),
        y_ticks: y_ticks.iter().map(|&t| (y(t), t)).collect(),
    }
}

#[cfg(test)]
mod scatter_tests {
    use super::*;

    #[test]
    fn a_scatter_places_points_and_the_fit_on_round_ticks() {
        let chart = scatter(&[(0.0, 0.0), (10.0, 8.0), (5.0, 4.0)], Some((0.0, 0.8)));
        // x ticks 0..10 by 2, y ticks 0..8 by 2: the plot runs x 52 to 628, y 320 to 8.
        assert_eq!(chart.x_ticks.first(), Some(&(52.0, 0.0)));
        assert_eq!(chart.x_ticks.last(), Some(&(628.0, 10.0)));
        assert_eq!(chart.y_ticks.first(), Some(&(320.0, 0.0)));
        assert_eq!(chart.y_ticks.last(), Some(&(8.0, 8.0)));
        assert_eq!(
            chart.dots,
            vec![(52.0, 320.0), (628.0, 8.0), (340.0, 164.0)]
        );
        assert_eq!(chart.fit, Some(((52.0, 320.0), (628.0, 8.0))));
    }

    #[test]
    fn odd_input_draws_without_dividing_by_zero() {
        assert_eq!(scatter(&[], None), Scatter::default());
        assert_eq!(scatter(&[(f64::NAN, 1.0)], None), Scatter::default());
        // One point: a range is made around it; a fit over no x range is not drawn.
        let one = scatter(&[(3.0, 3.0)], Some((0.0, 1.0)));
        assert_eq!(one.dots.len(), 1);
        assert!(one.dots[0].0.is_finite() && one.dots[0].1.is_finite());
        assert_eq!(one.fit, None);
        // A fit far outside the points' y range is clipped to the plot.
        let steep = scatter(&[(0.0, 0.0), (1.0, 1.0)], Some((0.0, 100.0)));
        let ((_, y1), (_, y2)) = steep.fit.unwrap();
        assert!((8.0..=320.0).contains(&y1) && (8.0..=320.0).contains(&y2));
    }
}

/// One week of a band chart: the group's 10th, 25th, 50th, 75th and 90th percentiles
/// (absent when fewer than k members were counted) and the member's own mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeekBand {
    pub percentiles: Option<[f64; 5]>,
    pub mine: Option<f64>,
}

/// A band chart's geometry, in the line chart's box ([`LINE_WIDTH`] × [`LINE_HEIGHT`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Band {
    pub weeks: Vec<BandSlot>,
    /// The member's weekly means: path data (gaps where a week has none) and points.
    pub me: String,
    pub my_points: Vec<(f64, f64)>,
    pub y_ticks: Vec<(f64, f64)>,
    /// (x, week index) of each labelled week.
    pub x_ticks: Vec<(f64, usize)>,
}

/// One week's bar: its left edge and width, and the y of the 90th, 75th, 50th, 25th and
/// 10th percentiles (top to bottom).
#[derive(Clone, Debug, PartialEq)]
pub struct BandSlot {
    pub x: f64,
    pub width: f64,
    pub ys: [f64; 5],
}

/// Lays out weekly bands as bars, one slot per week, with the member's means as a line
/// through the slots' centres, on y ticks that cover both.
pub fn band(weeks: &[WeekBand]) -> Band {
    let values: Vec<f64> = weeks
        .iter()
        .flat_map(|w| w.percentiles.into_iter().flatten().chain(w.mine))
        .filter(|v| v.is_finite())
        .collect();
    let (Some(low), Some(high)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return Band::default();
    };
    let ticks = nice_ticks(low, high, 4);
    let (bottom, top) = (
        ticks.first().copied().unwrap_or(low),
        ticks.last().copied().unwrap_or(high),
    );
    let plot_height = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM;
    let y = |v: f64| LINE_TOP + (top - v) / (top - bottom) * plot_height;
    let slot = (LINE_WIDTH - LINE_LEFT - LINE_RIGHT) / weeks.len().max(1) as f64;
    let centre = |i: usize| LINE_LEFT + (i as f64 + 0.5) * slot;
    let every = weeks.len().div_ceil(6).max(1);
    Band {
        weeks: weeks
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let p = w.percentiles.filter(|p| p.iter().all(|v| v.is_finite()))?;
                Some(BandSlot {
                    x: LINE_LEFT + (i as f64 + 0.2) * slot,
                    width: 0.6 * slot,
                    ys: [y(p[4]), y(p[3]), y(p[2]), y(p[1]), y(p[0])],
                })
            })
            .collect(),
        me: path(
            weeks
                .iter()
                .enumerate()
                .map(|(i, w)| w.mine.filter(|v| v.is_finite()).map(|v| (centre(i), y(v)))),
        ),
        my_points: weeks
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.mine.filter(|v| v.is_finite()).map(|v| (centre(i), y(v))))
            .collect(),
        y_ticks: ticks.iter().map(|&t| (y(t), t)).collect(),
        x_ticks: (0..weeks.len())
            .rev()
            .step_by(every)
            .map(|i| (centre(i), i))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    }
}

#[cfg(test)]
mod band_tests {
    use super::*;

    #[test]
    fn a_band_chart_draws_bars_where_the_group_was_counted_and_my_line_through_them() {
        let weeks = [
            WeekBand {
                percentiles: Some([2.0, 4.0, 5.0, 6.0, 8.0]),
                mine: Some(6.0),
            },
            WeekBand {
                percentiles: None,
                mine: Some(10.0),
            },
            WeekBand {
                percentiles: Some([0.0, 2.0, 3.0, 4.0, 6.0]),
                mine: None,
            },
            WeekBand {
                percentiles: Some([2.0, 4.0, 5.0, 6.0, 8.0]),
                mine: Some(4.0),
            },
        ];
        let chart = band(&weeks);
        // Ticks 0..10 by 2: y 216 (0) to 8 (10); four slots of 145 from x 52.
        assert_eq!(chart.y_ticks.first(), Some(&(216.0, 0.0)));
        assert_eq!(chart.y_ticks.last(), Some(&(8.0, 10.0)));
        assert_eq!(
            chart.weeks.len(),
            3,
            "no bar for a week counted by fewer than k"
        );
        let first = &chart.weeks[0];
        let round = |v: f64| (v * 10.0).round() / 10.0;
        assert_eq!((round(first.x), round(first.width)), (81.0, 87.0));
        // 90th at the top, 10th at the bottom.
        assert_eq!(first.ys.map(round), [49.6, 91.2, 112.0, 132.8, 174.4]);
        assert_eq!(chart.my_points.len(), 3);
        // My line breaks at the week without a value of mine.
        assert_eq!(chart.me.matches('M').count(), 2, "{}", chart.me);
        assert_eq!(band(&[]), Band::default());
    }
}

/// A spread chart's box: one row per window, the labels of the rows on the left and the
/// values' ticks below.
pub const SPREAD_WIDTH: f64 = 640.0;
pub const SPREAD_LEFT: f64 = 150.0;
pub const SPREAD_RIGHT: f64 = 24.0;
pub const SPREAD_ROW: f64 = 48.0;
pub const SPREAD_BOTTOM: f64 = 30.0;

/// A spread chart's geometry: each row's y, and the x of its 10th, 25th, 50th, 75th and
/// 90th percentiles on one scale; the ticks (x, value) along the bottom.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spread {
    pub height: f64,
    pub rows: Vec<(f64, [f64; 5])>,
    pub ticks: Vec<(f64, f64)>,
}

/// Lays out rows of percentiles (10th to 90th each) one under the other, on round ticks
/// that cover them all: a meetup's "before" and "since" figures, compared at a glance.
pub fn spread(rows: &[[f64; 5]]) -> Spread {
    let values: Vec<f64> = rows
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let (Some(low), Some(high)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return Spread::default();
    };
    let ticks = nice_ticks(low, high, 4);
    let (first, last) = (
        ticks.first().copied().unwrap_or(low),
        ticks.last().copied().unwrap_or(high),
    );
    let width = SPREAD_WIDTH - SPREAD_LEFT - SPREAD_RIGHT;
    let x = |v: f64| {
        if last > first {
            SPREAD_LEFT + (v - first) / (last - first) * width
        } else {
            SPREAD_LEFT + width / 2.0
        }
    };
    Spread {
        height: rows.len() as f64 * SPREAD_ROW + SPREAD_BOTTOM,
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, p)| ((i as f64 + 0.5) * SPREAD_ROW, p.map(x)))
            .collect(),
        ticks: ticks.iter().map(|&t| (x(t), t)).collect(),
    }
}

#[cfg(test)]
mod spread_tests {
    use super::*;

    #[test]
    fn a_spread_puts_rows_under_each_other_on_one_scale() {
        let chart = spread(&[[6.0, 6.5, 7.0, 7.5, 8.0], [5.0, 6.0, 7.0, 8.0, 9.0]]);
        assert_eq!(chart.height, 2.0 * SPREAD_ROW + SPREAD_BOTTOM);
        assert_eq!(chart.rows[0].0, 24.0);
        assert_eq!(chart.rows[1].0, 72.0);
        // Ticks 5..9: 5 at the left edge of the plot, 9 at its right.
        assert_eq!(chart.ticks.first().map(|t| t.0), Some(SPREAD_LEFT));
        assert_eq!(
            chart.ticks.last().map(|t| t.0),
            Some(SPREAD_WIDTH - SPREAD_RIGHT)
        );
        // Both medians at 7, in the middle.
        assert_eq!(chart.rows[0].1[2], chart.rows[1].1[2]);
        assert_eq!(
            chart.rows[0].1[2],
            SPREAD_LEFT + (SPREAD_WIDTH - SPREAD_LEFT - SPREAD_RIGHT) / 2.0
        );
        assert_eq!(spread(&[]), Spread::default());
        // One value everywhere: drawn in the middle, no division by zero.
        let flat = spread(&[[3.0; 5]]);
        assert!(flat.rows[0].1.iter().all(|x| x.is_finite()));
    }
}

/// A calendar heatmap's cell size and gap, and its margins (weekday names on the left,
/// month names on top).
pub const CAL_CELL: f64 = 11.0;
pub const CAL_STEP: f64 = 13.0;
pub const CAL_LEFT: f64 = 34.0;
pub const CAL_TOP: f64 = 18.0;

/// A calendar heatmap: one cell per day in weeks (columns, Monday on top), shaded in
/// five levels: 0 for a day without a value, 1 to 4 by the quartiles of the values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Calendar {
    /// Path data of the cells of each level (0 to 4).
    pub levels: [String; 5],
    /// (x, first day of the month) of each month that starts in the range.
    pub months: Vec<(f64, chrono::NaiveDate)>,
    pub width: f64,
    pub height: f64,
}

/// Lays out the days from `from` to `to` (values by day, any order) as a calendar.
pub fn calendar(
    values: &std::collections::BTreeMap<chrono::NaiveDate, f64>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Calendar {
    use chrono::Datelike;
    if to < from {
        return Calendar::default();
    }
    let present: Vec<f64> = values
        .range(from..=to)
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .collect();
    let cuts = crate::stats::percentiles(&present, &[25.0, 50.0, 75.0]).unwrap_or_default();
    let level = |v: f64| 1 + cuts.iter().filter(|c| v > **c).count();
    let first_monday = from - chrono::TimeDelta::days(from.weekday().num_days_from_monday() as i64);
    let mut levels: [String; 5] = Default::default();
    let mut months = Vec::new();
    let mut weeks = 0;
    for day in from.iter_days().take_while(|d| *d <= to) {
        let week = (day - first_monday).num_days() / 7;
        weeks = weeks.max(week + 1);
        let x = CAL_LEFT + week as f64 * CAL_STEP;
        let y = CAL_TOP + day.weekday().num_days_from_monday() as f64 * CAL_STEP;
        let l = values
            .get(&day)
            .filter(|v| v.is_finite())
            .map_or(0, |v| level(*v));
        let cell = &mut levels[l];
        if !cell.is_empty() {
            cell.push(' ');
        }
        cell.push_str(&format!(
            "M{x:.0},{y:.0} h{CAL_CELL} v{CAL_CELL} h-{CAL_CELL} Z"
        ));
        if day.day() == 1 {
            months.push((x, day));
        }
    }
    Calendar {
        levels,
        months,
        width: CAL_LEFT + weeks as f64 * CAL_STEP,
        height: CAL_TOP + 7.0 * CAL_STEP,
    }
}

/// Bars from a zero baseline in the line chart's box: (x, width, top y) of each value
/// (`None`: no bar) and the y ticks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bars {
    pub bars: Vec<Option<(f64, f64, f64)>>,
    /// The baseline's y.
    pub base: f64,
    /// The centre of each slot, for its label.
    pub centres: Vec<f64>,
    pub y_ticks: Vec<(f64, f64)>,
}

/// Lays out one bar per value, slots evenly across the plot, from zero (or from the
/// lowest value when all are negative) to the value.
pub fn bars(values: &[Option<f64>], gap: f64) -> Bars {
    let present: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let (Some(low), Some(high)) = (
        present.iter().copied().reduce(f64::min),
        present.iter().copied().reduce(f64::max),
    ) else {
        return Bars::default();
    };
    let ticks = nice_ticks(low.min(0.0), high.max(0.0), 4);
    let (bottom, top) = (
        ticks.first().copied().unwrap_or(low),
        ticks.last().copied().unwrap_or(high),
    );
    let plot_height = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM;
    let y = |v: f64| LINE_TOP + (top - v) / (top - bottom) * plot_height;
    let slot = (LINE_WIDTH - LINE_LEFT - LINE_RIGHT) / values.len().max(1) as f64;
    let base = y(0.0f64.clamp(bottom, top));
    Bars {
        bars: values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.filter(|v| v.is_finite()).map(|v| {
                    let x = LINE_LEFT + i as f64 * slot + gap * slot / 2.0;
                    (x, slot * (1.0 - gap), y(v))
                })
            })
            .collect(),
        base,
        centres: (0..values.len())
            .map(|i| LINE_LEFT + (i as f64 + 0.5) * slot)
            .collect(),
        y_ticks: ticks.iter().map(|&t| (y(t), t)).collect(),
    }
}

/// Histogram bins: about `count` of them, of a round width, covering the values.
/// Returns (lower edge, width, how many).
pub fn histogram(values: &[f64], count: usize) -> Vec<(f64, f64, usize)> {
    let present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (Some(low), Some(high)) = (
        present.iter().copied().reduce(f64::min),
        present.iter().copied().reduce(f64::max),
    ) else {
        return Vec::new();
    };
    let edges = nice_ticks(low, if high > low { high } else { low + 1.0 }, count);
    let width = match edges.as_slice() {
        [a, b, ..] => b - a,
        _ => return Vec::new(),
    };
    let first = edges[0];
    let bins = edges.len().saturating_sub(1).max(1);
    let mut counts = vec![0usize; bins];
    for v in present {
        // The last bin includes its upper edge.
        let i = (((v - first) / width).floor() as usize).min(bins - 1);
        counts[i] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| (first + i as f64 * width, width, n))
        .collect()
}

#[cfg(test)]
mod more_chart_tests {
    use super::*;
    use chrono::NaiveDate;
    use std::collections::BTreeMap;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_calendar_has_a_cell_per_day_in_week_columns_and_levels_by_quartile() {
        // Wed 2 Dec 2026 to Sun 13 Dec: 12 days over two weeks; 8 with values 1..8.
        let values: BTreeMap<NaiveDate, f64> = (0..8)
            .map(|i| {
                (
                    day("2026-12-02") + chrono::TimeDelta::days(i),
                    (i + 1) as f64,
                )
            })
            .collect();
        let cal = calendar(&values, day("2026-12-02"), day("2026-12-13"));
        let cells: usize = cal.levels.iter().map(|l| l.matches('Z').count()).sum();
        assert_eq!(cells, 12);
        assert_eq!(
            cal.levels[0].matches('Z').count(),
            4,
            "days without a value"
        );
        for level in 1..=4 {
            assert_eq!(cal.levels[level].matches('Z').count(), 2, "level {level}");
        }
        // Wednesday of the first week is the third row of the first column.
        assert!(cal.levels[1].starts_with("M34,44 "), "{}", cal.levels[1]);
        assert_eq!(cal.width, 34.0 + 2.0 * 13.0);
        assert!(cal.months.is_empty());
        assert_eq!(
            calendar(&values, day("2026-12-02"), day("2026-12-01")),
            Calendar::default()
        );
    }

    #[test]
    fn bars_start_at_zero_and_skip_missing_values() {
        let chart = bars(&[Some(2.0), None, Some(8.0), Some(10.0)], 0.2);
        assert_eq!(chart.bars.len(), 4);
        assert!(chart.bars[1].is_none());
        let (_, _, top) = chart.bars[3].unwrap();
        assert_eq!(top, 8.0);
        assert_eq!(chart.base, 216.0);
        assert_eq!(chart.centres.len(), 4);
        assert_eq!(bars(&[None], 0.2), Bars::default());
    }

    #[test]
    fn histogram_bins_are_round_and_count_every_value() {
        let bins = histogram(&[1.0, 2.5, 3.0, 9.9, 10.0], 5);
        assert_eq!(bins.iter().map(|b| b.2).sum::<usize>(), 5);
        assert_eq!(bins[0].0, 0.0);
        assert_eq!(bins[0].1, 2.0);
        assert_eq!(
            bins.last().unwrap().2,
            2,
            "10 falls in the last bin: {bins:?}"
        );
        assert!(histogram(&[], 5).is_empty());
        assert_eq!(
            histogram(&[4.0, 4.0], 5).iter().map(|b| b.2).sum::<usize>(),
            2
        );
    }
}
