//! A metric's daily line chart: the values of each day with their rolling 7-day mean,
//! the goal and the days flagged as outliers, on labelled axes; with a one-sentence
//! text alternative and the numbers behind it in a table under "Show the data". Laid
//! out and labelled on the server ([`super::chart::line`]); the browser draws SVG.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The chart, ready to draw: every number already text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineChart {
    /// "Sleep (h) per day, 4 Sep to 3 Dec"
    pub title: String,
    /// What the chart shows, in one sentence (its text alternative).
    pub summary: String,
    pub values: String,
    pub mean: String,
    /// (y, label) of the goal's line.
    pub goal: Option<(String, String)>,
    /// (x, y) of each outlier day.
    pub marked: Vec<(String, String)>,
    /// (y, label) and (x, label, text-anchor) of the axes' ticks.
    pub y_ticks: Vec<(String, String)>,
    pub x_ticks: Vec<(String, String, String)>,
    /// The table behind the chart, newest day first.
    pub rows: Vec<ChartRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChartRow {
    pub day: String,
    pub value: String,
    pub mean: String,
    pub outlier: bool,
}

/// The SVG's box and margins as text (the same numbers as `super::chart`'s, checked by
/// a test), so that the browser's code formats no number.
const VIEW_BOX: &str = "0 0 640 240";
const PLOT_LEFT: &str = "52";
const PLOT_RIGHT: &str = "632";
const LABEL_X: &str = "46";
const DATE_Y: &str = "236";

#[component]
pub fn LineChartView(chart: LineChart) -> impl IntoView {
    let LineChart {
        title,
        summary,
        values,
        mean,
        goal,
        marked,
        y_ticks,
        x_ticks,
        rows,
    } = chart;
    let has_outliers = !marked.is_empty();
    view! {
        <figure class="line-chart">
            <figcaption>{title}</figcaption>
            <svg viewBox=VIEW_BOX role="img" aria-label=summary.clone() class="chart">
                {y_ticks.into_iter().map(|(y, label)| view! {
                    <g class="tick">
                        <line x1=PLOT_LEFT x2=PLOT_RIGHT y1=y.clone() y2=y.clone() />
                        <text x=LABEL_X y=y dy="0.32em" text-anchor="end">{label}</text>
                    </g>
                }).collect_view()}
                {x_ticks.into_iter().map(|(x, label, anchor)| view! {
                    <text class="date" x=x y=DATE_Y text-anchor=anchor>{label}</text>
                }).collect_view()}
                {goal.map(|(y, label)| view! {
                    <g class="goal">
                        <line x1=PLOT_LEFT x2=PLOT_RIGHT y1=y.clone() y2=y.clone() />
                        <text x=PLOT_RIGHT y=y dy="-0.4em" text-anchor="end">{label}</text>
                    </g>
                })}
                <path class="chart-values" d=values />
                <path class="chart-mean" d=mean />
                {marked.into_iter().map(|(x, y)| view! {
                    <circle class="chart-outlier" cx=x cy=y r="6" />
                }).collect_view()}
            </svg>
            <p class="chart-legend muted">
                <span class="key key-values"></span>" each day · "
                <span class="key key-mean"></span>" 7-day mean"
                {has_outliers.then(|| view! { " · " <span class="key key-outlier"></span>" far from your usual (outlier)" })}
            </p>
            <details class="chart-data">
                <summary>"Show the data"</summary>
                <table>
                    <caption class="visually-hidden">{summary}</caption>
                    <thead><tr><th scope="col">"Day"</th><th scope="col">"Value"</th><th scope="col">"7-day mean"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|row| view! {
                            <tr class:outlier=row.outlier>
                                <th scope="row">{row.day}</th>
                                <td>{row.value}{row.outlier.then_some(" (outlier)")}</td>
                                <td>{row.mean}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::insights::chart::{line, rolling_mean};
    use crate::track::units::format_number;
    use chrono::{NaiveDate, TimeDelta};

    /// Longest range drawn, in days.
    pub const MAX_DAYS: i64 = 731;

    /// The chart of `days` (display-unit values by day) from `from` to `to`, or `None`
    /// when no day in the range has a value.
    pub fn build(
        name: &str,
        unit_label: &str,
        days: &[(NaiveDate, f64)],
        outliers: &[NaiveDate],
        goal: Option<f64>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Option<LineChart> {
        let span = (to - from).num_days();
        if span < 0 || days.is_empty() {
            return None;
        }
        let dates: Vec<NaiveDate> = (0..=span).map(|i| from + TimeDelta::days(i)).collect();
        let value_of = |d: &NaiveDate| {
            days.binary_search_by_key(d, |(day, _)| *day)
                .ok()
                .map(|i| days[i].1)
        };
        let values: Vec<Option<f64>> = dates.iter().map(value_of).collect();
        if values.iter().all(Option::is_none) {
            return None;
        }
        let marked: Vec<usize> = dates
            .iter()
            .enumerate()
            .filter(|(_, d)| outliers.contains(d))
            .map(|(i, _)| i)
            .collect();
        let geometry = line(&values, goal, &marked);
        let step = match geometry.y_ticks.as_slice() {
            [a, b, ..] => (b.1 - a.1).abs(),
            _ => 1.0,
        };
        let decimals = if step >= 1.0 {
            0
        } else {
            (-step.log10().floor()) as usize
        };
        let with_unit = |v: f64, decimals: usize| {
            let number = format_number(v, decimals);
            if unit_label.is_empty() {
                number
            } else {
                format!("{number} {unit_label}")
            }
        };
        let short = |d: NaiveDate| d.format("%-d %b").to_string();
        let mean = rolling_mean(&values, 7, 3);
        let logged = values.iter().flatten().count();
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let average = present.iter().sum::<f64>() / present.len() as f64;
        let (low, high) = present
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        let unit_part = if unit_label.is_empty() {
            String::new()
        } else {
            format!(" ({unit_label})")
        };
        let summary = format!(
            "{name} from {} to {}: {logged} of {} days logged, from {} to {}, mean {}{}{}.",
            short(from),
            short(to),
            dates.len(),
            with_unit(low, decimals + 1),
            with_unit(high, decimals + 1),
            with_unit(average, decimals + 1),
            goal.map(|g| format!(", goal {}", with_unit(g, decimals + 1)))
                .unwrap_or_default(),
            match marked.len() {
                0 => String::new(),
                1 => "; 1 day flagged as an outlier".to_string(),
                n => format!("; {n} days flagged as outliers"),
            }
        );
        let text = |v: f64| format!("{v:.1}");
        let rows = dates
            .iter()
            .enumerate()
            .rev()
            .filter_map(|(i, d)| {
                values[i].map(|v| ChartRow {
                    day: d.format("%a %-d %b %Y").to_string(),
                    value: with_unit(v, decimals + 1),
                    mean: mean[i]
                        .map(|m| with_unit(m, decimals + 1))
                        .unwrap_or_default(),
                    outlier: marked.contains(&i),
                })
            })
            .collect();
        Some(LineChart {
            title: format!(
                "{name}{unit_part} per day, {} to {}",
                short(from),
                short(to)
            ),
            summary,
            values: geometry.values,
            mean: geometry.mean,
            goal: geometry
                .goal_y
                .zip(goal)
                .map(|(y, g)| (text(y), format!("goal {}", with_unit(g, decimals + 1)))),
            marked: geometry
                .marked
                .iter()
                .map(|(x, y)| (text(*x), text(*y)))
                .collect(),
            y_ticks: geometry
                .y_ticks
                .iter()
                .map(|(y, v)| (text(*y), format_number(*v, decimals)))
                .collect(),
            // Dates centred under their day, but the last one ends at the plot's right edge
            // (and the first starts at its left) so that neither is cut off.
            x_ticks: geometry
                .x_ticks
                .iter()
                .map(|(x, i)| {
                    let anchor = if *i + 1 == dates.len() && dates.len() > 1 {
                        "end"
                    } else if *i == 0 {
                        "start"
                    } else {
                        "middle"
                    };
                    (text(*x), short(dates[*i]), anchor.to_string())
                })
                .collect(),
            rows,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::insights::chart::{LINE_HEIGHT, LINE_LEFT, LINE_WIDTH};

        #[test]
        fn the_svg_texts_match_the_geometry() {
            assert_eq!(VIEW_BOX, format!("0 0 {LINE_WIDTH} {LINE_HEIGHT}"));
            assert_eq!(PLOT_LEFT, LINE_LEFT.to_string());
            assert_eq!(PLOT_RIGHT, (LINE_WIDTH - 8.0).to_string());
            assert_eq!(LABEL_X, (LINE_LEFT - 6.0).to_string());
            assert_eq!(DATE_Y, (LINE_HEIGHT - 4.0).to_string());
        }

        #[test]
        fn a_chart_says_what_it_shows_and_keeps_its_table() {
            let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
            let days = [(day(1), 7.0), (day(2), 6.5), (day(4), 12.0)];
            let chart = build("Sleep", "h", &days, &[day(4)], Some(8.0), day(1), day(4)).unwrap();
            assert_eq!(chart.title, "Sleep (h) per day, 1 Nov to 4 Nov");
            assert_eq!(
                chart.summary,
                "Sleep from 1 Nov to 4 Nov: 3 of 4 days logged, from 6.5 h to 12 h, mean 8.5 h, goal 8 h; 1 day flagged as an outlier."
            );
            assert_eq!(chart.rows.len(), 3);
            assert_eq!(chart.rows[0].day, "Wed 4 Nov 2026");
            assert!(chart.rows[0].outlier);
            assert_eq!(chart.marked.len(), 1);
            assert_eq!(chart.goal.as_ref().unwrap().1, "goal 8 h");
            assert!(build("Sleep", "h", &[], &[], None, day(1), day(4)).is_none());
        }
    }
}
