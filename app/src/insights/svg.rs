//! One chart component for every chart of the insight pages (a metric's days, a pair's
//! scatter plot, me against the group): the server lays a chart out and formats every
//! number (`super::chart` for the geometry), and sends it as shapes, labels, a legend and
//! the table behind it; this component only draws them. One component for all keeps the
//! browser's code for charts to one copy: each `view!` of its own would add its own
//! compiled view code to the pages that show it.
//!
//! Every string here is text or an attribute value, escaped by construction.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A chart, ready to draw: every number already text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// The figure's class ("line-chart", "scatter-chart", "band-chart").
    pub class: String,
    /// What the figure's caption says, if anything: "Sleep (h) per day, 4 Sep to 3 Dec".
    pub caption: Option<String>,
    /// What the chart shows, in one sentence: its text alternative and the table's caption.
    pub summary: String,
    /// The SVG's `viewBox`.
    pub view_box: String,
    /// Paths in drawing order (gridlines first).
    pub paths: Vec<Shape>,
    /// Dots, drawn over the paths.
    pub dots: Vec<Dot>,
    /// Text in the chart: the axes' labels.
    pub labels: Vec<Label>,
    /// The legend: (the key's class, what it stands for).
    pub legend: Vec<(String, String)>,
    /// The table behind the chart, under "Show the data": its column headings, and rows
    /// whose first cell heads the row.
    pub head: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub class: String,
    /// SVG path data.
    pub d: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dot {
    pub class: String,
    pub cx: String,
    pub cy: String,
    pub r: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub class: String,
    pub x: String,
    pub y: String,
    /// "start", "middle" or "end".
    pub anchor: String,
    /// A shift, "0.32em" to centre a label on its line.
    pub dy: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// "outlier" for a marked row, else empty.
    pub class: String,
    pub cells: Vec<String>,
}

impl Chart {
    pub fn path(&mut self, class: &str, d: String) {
        if !d.is_empty() {
            self.paths.push(Shape {
                class: class.into(),
                d,
            });
        }
    }

    pub fn dot(&mut self, class: &str, (x, y): (f64, f64), r: &str) {
        self.dots.push(Dot {
            class: class.into(),
            cx: format!("{x:.1}"),
            cy: format!("{y:.1}"),
            r: r.into(),
        });
    }

    pub fn label(&mut self, class: &str, (x, y): (f64, f64), anchor: &str, dy: &str, text: String) {
        self.labels.push(Label {
            class: class.into(),
            x: format!("{x:.1}"),
            y: format!("{y:.1}"),
            anchor: anchor.into(),
            dy: dy.into(),
            text,
        });
    }

    pub fn key(&mut self, class: &str, text: &str) {
        self.legend.push((class.into(), text.into()));
    }
}

/// Path data of horizontal lines across `x1..x2` at each `y`.
pub fn horizontal_lines(ys: impl IntoIterator<Item = f64>, x1: f64, x2: f64) -> String {
    ys.into_iter()
        .map(|y| format!("M{x1:.1},{y:.1} H{x2:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Path data of vertical lines across `y1..y2` at each `x`.
pub fn vertical_lines(xs: impl IntoIterator<Item = f64>, y1: f64, y2: f64) -> String {
    xs.into_iter()
        .map(|x| format!("M{x:.1},{y1:.1} V{y2:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Draws `chart`; `overlay`, drawn last inside the SVG, is for what a page adds on top
/// (the brush of a metric's chart).
#[component]
pub fn ChartView(chart: Chart, #[prop(optional)] overlay: Option<AnyView>) -> impl IntoView {
    let Chart {
        class,
        caption,
        summary,
        view_box,
        paths,
        dots,
        labels,
        legend,
        head,
        rows,
    } = chart;
    view! {
        <figure class=class>
            {caption.map(|caption| view! { <figcaption>{caption}</figcaption> })}
            <svg viewBox=view_box role="img" aria-label=summary.clone() class="chart">
                {paths.into_iter().map(|p| view! { <path class=p.class d=p.d /> }).collect_view()}
                {dots.into_iter().map(|d| view! { <circle class=d.class cx=d.cx cy=d.cy r=d.r /> }).collect_view()}
                {labels.into_iter().map(|l| view! {
                    <text class=l.class x=l.x y=l.y text-anchor=l.anchor dy=l.dy>{l.text}</text>
                }).collect_view()}
                {overlay}
            </svg>
            <p class="chart-legend muted">
                {legend.into_iter().enumerate().map(|(i, (key, text))| view! {
                    {(i > 0).then_some(" · ")}<span class=format!("key {key}")></span>" "{text}
                }).collect_view()}
            </p>
            <details class="chart-data">
                <summary>"Show the data"</summary>
                <div class="table-scroll">
                    <table>
                        <caption class="visually-hidden">{summary}</caption>
                        <thead><tr>{head.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| {
                                let mut cells = row.cells.into_iter();
                                let first = cells.next().unwrap_or_default();
                                view! {
                                    <tr class=row.class>
                                        <th scope="row">{first}</th>
                                        {cells.map(|c| view! { <td>{c}</td> }).collect_view()}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gridlines_are_one_path() {
        assert_eq!(
            horizontal_lines([8.0, 20.5], 52.0, 632.0),
            "M52.0,8.0 H632.0 M52.0,20.5 H632.0"
        );
        assert_eq!(vertical_lines([52.0], 8.0, 320.0), "M52.0,8.0 V320.0");
        assert_eq!(horizontal_lines([], 0.0, 1.0), "");
    }
}
