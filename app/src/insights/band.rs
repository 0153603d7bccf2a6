//! Me against the group, on a metric's page: for each group the member shares the metric
//! with, the group's weekly figures of the last 12 weeks (the members' weekly means: the
//! middle half, 25th to 75th percentile, inside the 10th to 90th, and the median) with the
//! member's own weekly mean over them, and where the member stands over the last 28 days.
//! Only published figures are drawn: a week counted by fewer than k members has no band,
//! and a withheld figure shows its reason instead (`pipeline::compute::group`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One group's comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupBand {
    pub group_name: String,
    /// The chart when the group's figures are published.
    pub chart: Option<super::svg::Chart>,
    /// Why there is no chart: "withheld: shared by 2 members; shown from 5".
    pub withheld: Option<String>,
    /// "Over the last 28 days your mean is at the 62nd percentile of the 6 members counted."
    pub standing: Option<String>,
}

#[component]
pub fn GroupBands(bands: Vec<GroupBand>) -> impl IntoView {
    (!bands.is_empty()).then(|| {
        view! {
            <section class="group-bands" aria-labelledby="bands-heading">
                <h2 id="bands-heading">"Me against the group"</h2>
                {bands.into_iter().map(|band| view! { <Band band /> }).collect_view()}
            </section>
        }
    })
}

/// The group's bands without the "Me against the group" heading (the group's page,
/// drawn on the server only).
#[cfg(feature = "ssr")]
#[component]
pub fn GroupBandList(bands: Vec<GroupBand>) -> impl IntoView {
    bands
        .into_iter()
        .map(|band| view! { <Band band /> })
        .collect_view()
}

#[component]
fn Band(band: GroupBand) -> impl IntoView {
    let GroupBand {
        group_name,
        chart,
        withheld,
        standing,
    } = band;
    view! {
        <div class="group-band">
            <h3>{group_name}</h3>
            {withheld.map(|reason| view! { <p class="muted withheld">"Group figures withheld: "{reason}"."</p> })}
            {standing.map(|text| view! { <p class="standing">{text}</p> })}
            {chart.map(|chart| view! { <super::svg::ChartView chart /> }.into_any())}
        </div>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::insights::chart::{band, WeekBand, LINE_HEIGHT, LINE_LEFT, LINE_WIDTH};
    use crate::insights::svg::{horizontal_lines, Chart, Row};
    use crate::pipeline::compute::group::{Figures, Window};
    use crate::stats::mean;
    use crate::track::catalogue::MetricRow;
    use crate::track::units::format_number;
    use chrono::{NaiveDate, TimeDelta};
    use sqlx::PgPool;

    /// The member's comparisons for one metric: a band per group they share it with.
    pub async fn bands(
        pool: &PgPool,
        user_id: i64,
        metric: &MetricRow,
    ) -> Result<Vec<GroupBand>, sqlx::Error> {
        type Row = (
            i64,
            String,
            Option<bool>,
            Option<String>,
            Option<serde_json::Value>,
            Option<f64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT g.id, g.name, f.published, f.reason, f.figures, r.percentile
               FROM metric_shares s
               JOIN groups g ON g.id = s.group_id
               LEFT JOIN group_figures f
                      ON f.group_id = s.group_id AND f.metric_id = s.metric_id AND f.window_key = $3
               LEFT JOIN group_figure_ranks r
                      ON r.group_id = f.group_id AND r.metric_id = f.metric_id
                     AND r.window_key = f.window_key AND r.user_id = s.user_id
              WHERE s.user_id = $1 AND s.metric_id = $2
              ORDER BY g.name",
        )
        .bind(user_id)
        .bind(metric.id)
        .bind(Window::Recent.key())
        .fetch_all(pool)
        .await?;
        let mut out = Vec::new();
        for (_, group_name, published, reason, figures, percentile) in rows {
            out.push(
                band_of(
                    pool, user_id, metric, group_name, published, reason, figures, percentile,
                )
                .await?,
            );
        }
        Ok(out)
    }

    /// The group's weekly figures of one metric, for `/groups/{slug}/insights` (titled by
    /// the metric, with the viewer's own weekly mean over them).
    pub async fn group_band(
        pool: &PgPool,
        user_id: i64,
        group_id: i64,
        metric: &MetricRow,
    ) -> Result<GroupBand, sqlx::Error> {
        let row: Option<(bool, String, Option<serde_json::Value>)> = sqlx::query_as(
            "SELECT published, reason, figures FROM group_figures
              WHERE group_id = $1 AND metric_id = $2 AND window_key = $3",
        )
        .bind(group_id)
        .bind(metric.id)
        .bind(Window::Recent.key())
        .fetch_optional(pool)
        .await?;
        let percentile: Option<f64> = sqlx::query_scalar(
            "SELECT percentile FROM group_figure_ranks
              WHERE group_id = $1 AND metric_id = $2 AND window_key = $3 AND user_id = $4",
        )
        .bind(group_id)
        .bind(metric.id)
        .bind(Window::Recent.key())
        .bind(user_id)
        .fetch_optional(pool)
        .await?;
        let (published, reason, figures) =
            row.map_or((None, None, None), |(p, r, f)| (Some(p), Some(r), f));
        band_of(
            pool,
            user_id,
            metric,
            metric.name.clone(),
            published,
            reason,
            figures,
            percentile,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn band_of(
        pool: &PgPool,
        user_id: i64,
        metric: &MetricRow,
        title: String,
        published: Option<bool>,
        reason: Option<String>,
        figures: Option<serde_json::Value>,
        percentile: Option<f64>,
    ) -> Result<GroupBand, sqlx::Error> {
        let figures: Option<Figures> = figures.and_then(|f| serde_json::from_value(f).ok());
        let Some(figures) = figures.filter(|_| published == Some(true)) else {
            return Ok(GroupBand {
                group_name: title,
                chart: None,
                withheld: Some(match reason.filter(|r| !r.is_empty()) {
                    Some(reason) => reason,
                    None => "not computed yet; group figures are published at the top of each hour"
                        .into(),
                }),
                standing: None,
            });
        };
        let standing = percentile.map(|p| {
            format!(
                "Over the last 28 days your mean is at the {} percentile of the {} members counted.",
                ordinal(p.round() as i64),
                figures.members
            )
        });
        let chart = chart(pool, user_id, metric, &figures).await?;
        Ok(GroupBand {
            group_name: title,
            chart,
            withheld: None,
            standing,
        })
    }

    /// "1st", "2nd", "3rd", "11th", "62nd".
    pub fn ordinal(n: i64) -> String {
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        format!("{n}{suffix}")
    }

    async fn chart(
        pool: &PgPool,
        user_id: i64,
        metric: &MetricRow,
        figures: &Figures,
    ) -> Result<Option<Chart>, sqlx::Error> {
        let (Some(first), Some(last)) = (figures.weeks.first(), figures.weeks.last()) else {
            return Ok(None);
        };
        let mine: Vec<(NaiveDate, f64)> = sqlx::query_as(
            "SELECT day, value FROM daily_values
              WHERE user_id = $1 AND metric_id = $2 AND day BETWEEN $3 AND $4",
        )
        .bind(user_id)
        .bind(metric.id)
        .bind(first.monday)
        .bind(last.monday + TimeDelta::days(6))
        .fetch_all(pool)
        .await?;
        let show = |v: f64| metric.display_number(v);
        let weeks: Vec<WeekBand> = figures
            .weeks
            .iter()
            .map(|week| {
                let sunday = week.monday + TimeDelta::days(6);
                let days: Vec<f64> = mine
                    .iter()
                    .filter(|(d, _)| *d >= week.monday && *d <= sunday)
                    .map(|(_, v)| show(*v))
                    .collect();
                WeekBand {
                    percentiles: week
                        .percentiles
                        .as_ref()
                        .filter(|p| p.len() == 5)
                        .map(|p| [show(p[0]), show(p[1]), show(p[2]), show(p[3]), show(p[4])]),
                    mine: mean(&days),
                }
            })
            .collect();
        if weeks.iter().all(|w| w.percentiles.is_none()) {
            return Ok(None);
        }
        let geometry = band(&weeks);
        let decimals = match geometry.y_ticks.as_slice() {
            [a, b, ..] if (b.1 - a.1).abs() < 1.0 => (-(b.1 - a.1).abs().log10().floor()) as usize,
            _ => 0,
        };
        let label = metric.display_label();
        let with_unit = |v: f64| {
            let n = format_number(v, decimals + 1);
            if label.is_empty() {
                n
            } else {
                format!("{n} {label}")
            }
        };
        let short = |d: NaiveDate| d.format("%-d %b").to_string();
        let banded = weeks.iter().filter(|w| w.percentiles.is_some()).count();
        let mine_count = weeks.iter().filter(|w| w.mine.is_some()).count();
        let summary = format!(
            "{} per week from the week of {} to the week of {}: the group's weekly means \
             (10th to 90th percentile, middle half and median) in {banded} of {} weeks, \
             and your own weekly mean in {mine_count}.",
            metric.name,
            short(first.monday),
            short(last.monday),
            weeks.len()
        );
        let rows = figures
            .weeks
            .iter()
            .zip(&weeks)
            .rev()
            .map(|(week, w)| {
                let mut cells = vec![
                    week.monday.format("%-d %b %Y").to_string(),
                    week.members.to_string(),
                ];
                match w.percentiles {
                    Some(p) => cells.extend(p.iter().map(|v| with_unit(*v))),
                    None => cells.extend(std::iter::repeat_n("fewer than k".to_string(), 5)),
                }
                cells.push(w.mine.map(with_unit).unwrap_or_else(|| "-".into()));
                Row {
                    class: String::new(),
                    cells,
                }
            })
            .collect();
        let mut chart = Chart {
            class: "band-chart".into(),
            caption: None,
            summary,
            view_box: format!("0 0 {LINE_WIDTH} {LINE_HEIGHT}"),
            head: [
                "Week of", "Members", "10th", "25th", "Median", "75th", "90th", "You",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            ..Chart::default()
        };
        let right = LINE_WIDTH - 8.0;
        chart.path(
            "chart-grid",
            horizontal_lines(geometry.y_ticks.iter().map(|t| t.0), LINE_LEFT, right),
        );
        let bars = |top: usize, bottom: usize| {
            geometry
                .weeks
                .iter()
                .map(|w| {
                    format!(
                        "M{:.1},{:.1} h{:.1} V{:.1} h{:.1} Z",
                        w.x, w.ys[top], w.width, w.ys[bottom], -w.width
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        chart.path("band-outer", bars(0, 4));
        chart.path("band-inner", bars(1, 3));
        chart.path(
            "band-median",
            geometry
                .weeks
                .iter()
                .map(|w| format!("M{:.1},{:.1} h{:.1}", w.x, w.ys[2], w.width))
                .collect::<Vec<_>>()
                .join(" "),
        );
        chart.path("band-me", geometry.me.clone());
        for point in &geometry.my_points {
            chart.dot("band-me-dot", *point, "5");
        }
        for (y, v) in &geometry.y_ticks {
            let text = format_number(*v, decimals);
            chart.label("", (LINE_LEFT - 6.0, *y), "end", "0.32em", text);
        }
        for (x, i) in &geometry.x_ticks {
            chart.label(
                "date",
                (*x, LINE_HEIGHT - 4.0),
                "middle",
                "",
                short(figures.weeks[*i].monday),
            );
        }
        chart.key("key-band-outer", "10th-90th percentile");
        chart.key("key-band-inner", "middle half");
        chart.key("key-band-median", "median");
        chart.key("key-band-me", "you (weekly mean)");
        Ok(Some(chart))
    }
}
