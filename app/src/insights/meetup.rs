//! "Since the last meetup", on a meetup's page: for each metric the group's members
//! share, the group's figure for the days since the meetup before (the median and the
//! middle half of the members' means, the members counted) beside the window before it,
//! the change, both drawn as a small spread chart, and where the viewer stands when they
//! were counted. A withheld figure says why ("shared by 3 members; shown from 5").
//!
//! Before a meetup starts its page shows the figures as last published; from its start,
//! the figures frozen for it (`pipeline::compute::meetup`), never recomputed, so an old
//! event page shows what the group saw. Members of the group only; only figures that were
//! published (k members or more, `pipeline::compute::group`); a member's standing to that
//! member alone.

#[cfg(feature = "ssr")]
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The section's figures, every number already text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeetupFigures {
    /// What the figures are: "As published before this meetup (frozen 24 Nov 2026 18:30,
    /// never recomputed)." or "The group's figures as of 3 Dec 2026 14:00, ...".
    pub about: String,
    pub rows: Vec<MeetupFigure>,
}

/// One metric's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeetupFigure {
    pub metric: String,
    /// "shared by 3 members; shown from 5".
    pub withheld: Option<String>,
    /// "Since 24 Nov: median 7.1 h (middle half 6.8 h to 7.4 h), 6 members".
    pub since: Option<String>,
    pub before: Option<String>,
    /// "Median +0.2 h since the meetup before".
    pub change: Option<String>,
    pub chart: Option<super::svg::Chart>,
    /// "You: at the 62nd percentile of the 6 members counted since 24 Nov."
    pub standing: Option<String>,
}

/// Drawn on the server only.
#[cfg(feature = "ssr")]
#[component]
pub fn MeetupFiguresView(figures: MeetupFigures) -> impl IntoView {
    let MeetupFigures { about, rows } = figures;
    view! {
        <section class="meetup-figures" aria-labelledby="figures-heading">
            <h2 id="figures-heading">"Since the last meetup"</h2>
            <p class="muted">{about}</p>
            {rows.into_iter().map(|row| view! {
                <div class="meetup-figure">
                    <h3>{row.metric}</h3>
                    {row.withheld.map(|reason| view! { <p class="muted withheld">"Withheld: "{reason}"."</p> })}
                    {row.since.map(|text| view! { <p class="since">{text}</p> })}
                    {row.before.map(|text| view! { <p class="muted before">{text}</p> })}
                    {row.change.map(|text| view! { <p class="change">{text}</p> })}
                    {row.standing.map(|text| view! { <p class="standing">{text}</p> })}
                    {row.chart.map(|chart| view! { <super::svg::ChartView chart /> }.into_any())}
                </div>
            }.into_any()).collect_view()}
        </section>
    }
    .into_any()
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::insights::band::ssr::ordinal;
    use crate::insights::chart::{spread, SPREAD_LEFT, SPREAD_WIDTH};
    use crate::insights::svg::{vertical_lines, Chart, Row};
    use crate::pipeline::compute::group::{Figures, Window};
    use crate::track::catalogue::{MetricRow, METRIC_SELECT};
    use crate::track::units::format_number;
    use chrono::{DateTime, NaiveDate, Utc};
    use std::collections::BTreeMap;

    /// (metric, window, published, reason, figures, computed_at).
    type FigureRow = (
        i64,
        String,
        bool,
        String,
        Option<serde_json::Value>,
        DateTime<Utc>,
    );

    /// Where the figures of a meetup come from.
    enum Source {
        /// Not started: the group's figures as last published.
        Live,
        /// Started and frozen.
        Frozen(DateTime<Utc>),
        /// Started, not frozen yet (its job is due): the figures published before its
        /// start, which freezing will copy.
        Due,
    }

    /// The section for `viewer_id`, a member of the event's group (the caller checks),
    /// or `None` when there is nothing to say (a cancelled meetup).
    pub async fn figures(
        conn: &mut sqlx::PgConnection,
        event_id: i64,
        group_id: i64,
        viewer_id: i64,
        zone: &str,
        starts_at: DateTime<Utc>,
    ) -> Result<MeetupFigures, sqlx::Error> {
        // One statement for what were three (whether the meetup is frozen, its figures,
        // the viewer's standing in them): the figures frozen for it if it is, else the
        // group's as published (before its start once it has started), each with the
        // viewer's percentile. A row without a metric says that it is frozen, so that a
        // meetup frozen with no figures says so too. Catalogue metrics only: a member's
        // own metric has one owner, so it is never published, and its name is theirs.
        // (`meetup_figures` rows exist only under a snapshot: their key refers to it.)
        type Joined = (
            Option<DateTime<Utc>>,
            Option<i64>,
            String,
            bool,
            String,
            Option<serde_json::Value>,
            Option<DateTime<Utc>>,
            Option<f64>,
        );
        let started = starts_at <= Utc::now();
        let joined: Vec<Joined> = sqlx::query_as(
            "WITH snapshot AS (SELECT frozen_at FROM meetup_snapshots WHERE event_id = $1)
             SELECT frozen_at, NULL::bigint, '', false, '', NULL::jsonb, NULL::timestamptz,
                    NULL::float8
               FROM snapshot
             UNION ALL
             SELECT NULL, f.metric_id, f.window_key, f.published, f.reason, f.figures,
                    f.computed_at, r.percentile
               FROM meetup_figures f
               JOIN metrics m ON m.id = f.metric_id AND m.owner_id IS NULL
               LEFT JOIN meetup_figure_ranks r
                 ON r.event_id = f.event_id AND r.metric_id = f.metric_id
                AND r.window_key = f.window_key AND r.user_id = $3
              WHERE f.event_id = $1
             UNION ALL
             SELECT NULL, f.metric_id, f.window_key, f.published, f.reason, f.figures,
                    f.computed_at, r.percentile
               FROM group_figures f
               JOIN metrics m ON m.id = f.metric_id AND m.owner_id IS NULL
               LEFT JOIN group_figure_ranks r
                 ON r.group_id = f.group_id AND r.metric_id = f.metric_id
                AND r.window_key = f.window_key AND r.user_id = $3
              WHERE NOT EXISTS (SELECT 1 FROM snapshot)
                AND f.group_id = $2 AND f.window_key = ANY($4)
                AND ($5::timestamptz IS NULL OR f.computed_at <= $5)
             ORDER BY 2 NULLS FIRST, 3",
        )
        .bind(event_id)
        .bind(group_id)
        .bind(viewer_id)
        .bind([Window::SinceMeetup.key(), Window::BeforeMeetup.key()])
        .bind(started.then_some(starts_at))
        .fetch_all(&mut *conn)
        .await?;
        let mut frozen = None;
        let mut rows: Vec<FigureRow> = Vec::new();
        let mut ranks: BTreeMap<i64, f64> = BTreeMap::new();
        for (frozen_at, metric, window, published, reason, figures, computed_at, percentile) in
            joined
        {
            let (Some(metric), Some(computed_at)) = (metric, computed_at) else {
                frozen = frozen_at;
                continue;
            };
            // The standing is the viewer's since the last meetup.
            if let Some(percentile) = percentile.filter(|_| window == Window::SinceMeetup.key()) {
                ranks.insert(metric, percentile);
            }
            rows.push((metric, window, published, reason, figures, computed_at));
        }
        let source = match frozen {
            Some(at) => Source::Frozen(at),
            None if started => Source::Due,
            None => Source::Live,
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let metrics: Vec<MetricRow> =
            sqlx::query_as(&format!("{METRIC_SELECT} AND m.id = ANY($2) ORDER BY m.id"))
                .bind(viewer_id)
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await?;
        let computed = rows.iter().map(|r| r.5).max();
        let moment = |at: DateTime<Utc>| {
            let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
            at.with_timezone(&tz).format("%-d %b %Y %H:%M").to_string()
        };
        let about = match (&source, computed) {
            (Source::Live, None) => "No group figures yet: they are published at the top of each hour once members share data with the group.".to_string(),
            (_, None) => "No group figures were published before this meetup.".to_string(),
            (Source::Frozen(at), Some(computed)) if computed > starts_at => format!(
                "Frozen for this meetup on {} from figures computed {}, after it (a demo's: its data is recent), and never recomputed.",
                moment(*at),
                moment(computed)
            ),
            (Source::Frozen(at), Some(computed)) => format!(
                "As published before this meetup (computed {}, frozen {}): never recomputed, so this is what the group saw.",
                moment(computed),
                moment(*at)
            ),
            (Source::Due, Some(computed)) => format!(
                "As published before this meetup (computed {}).",
                moment(computed)
            ),
            (Source::Live, Some(computed)) => format!(
                "The group's figures as of {}, frozen for this meetup when it starts. Each is the spread of the members' means, shown only when at least k members share the metric.",
                moment(computed)
            ),
        };
        let mut by_metric: BTreeMap<i64, (Option<FigureRow>, Option<FigureRow>)> = BTreeMap::new();
        for row in rows {
            let slot = by_metric.entry(row.0).or_default();
            if row.1 == Window::SinceMeetup.key() {
                slot.0 = Some(row);
            } else {
                slot.1 = Some(row);
            }
        }
        let mut out = Vec::new();
        for metric in &metrics {
            let Some((since, before)) = by_metric.remove(&metric.id) else {
                continue;
            };
            let Some(since) = since else { continue };
            let published = |row: &FigureRow| -> Option<Figures> {
                row.2
                    .then(|| row.4.clone())
                    .flatten()
                    .and_then(|f| serde_json::from_value(f).ok())
                    .filter(|f: &Figures| f.percentiles.len() == 5)
            };
            let Some(now_figures) = published(&since) else {
                out.push(MeetupFigure {
                    metric: metric.name.clone(),
                    withheld: Some(if since.3.is_empty() {
                        "no values in this window".into()
                    } else {
                        since.3.clone()
                    }),
                    since: None,
                    before: None,
                    change: None,
                    chart: None,
                    standing: None,
                });
                continue;
            };
            let then = before.as_ref().and_then(published);
            out.push(figure(
                metric,
                &now_figures,
                then.as_ref(),
                ranks.get(&metric.id).copied(),
            ));
        }
        Ok(MeetupFigures { about, rows: out })
    }

    /// One metric's published figures as text and a spread chart.
    pub fn figure(
        metric: &MetricRow,
        since: &Figures,
        before: Option<&Figures>,
        percentile: Option<f64>,
    ) -> MeetupFigure {
        let decimals = metric.display_decimals();
        let label = metric.display_label();
        let value = |v: f64| {
            let n = format_number(metric.display_number(v), decimals);
            if label.is_empty() {
                n
            } else {
                format!("{n} {label}")
            }
        };
        let short = |d: NaiveDate| d.format("%-d %b").to_string();
        let members = |n: usize| match n {
            1 => "1 member".to_string(),
            n => format!("{n} members"),
        };
        let describe = |f: &Figures| {
            format!(
                "median {} (middle half {} to {}), {}",
                value(f.percentiles[2]),
                value(f.percentiles[1]),
                value(f.percentiles[3]),
                members(f.members)
            )
        };
        let since_text = format!(
            "Since {} (to {}): {}.",
            short(since.from),
            short(since.to),
            describe(since)
        );
        let before_text = before.map(|b| {
            format!(
                "The meetup before ({} to {}): {}.",
                short(b.from),
                short(b.to),
                describe(b)
            )
        });
        let change = before.map(|b| {
            let delta = metric.display_number(since.percentiles[2])
                - metric.display_number(b.percentiles[2]);
            let n = format_number(delta.abs(), decimals);
            let sign = if n.trim_start_matches(['0', '.']).is_empty() {
                "±"
            } else if delta > 0.0 {
                "+"
            } else {
                "−"
            };
            format!(
                "Median {sign}{n}{} against the window before.",
                if label.is_empty() {
                    String::new()
                } else {
                    format!(" {label}")
                }
            )
        });
        let standing = percentile.map(|p| {
            format!(
                "You: at the {} percentile of the {} counted since {}.",
                ordinal(p.round() as i64),
                members(since.members),
                short(since.from)
            )
        });
        let mut windows: Vec<(String, &Figures)> = Vec::new();
        if let Some(b) = before {
            windows.push((format!("{} to {}", short(b.from), short(b.to)), b));
        }
        windows.push((format!("since {}", short(since.from)), since));
        let shown: Vec<[f64; 5]> = windows
            .iter()
            .map(|(_, f)| {
                let p = &f.percentiles;
                [p[0], p[1], p[2], p[3], p[4]].map(|v| metric.display_number(v))
            })
            .collect();
        let geometry = spread(&shown);
        let mut chart = Chart {
            class: "spread-chart".into(),
            caption: None,
            summary: format!(
                "{}: the spread of the members' means{}",
                metric.name,
                match before {
                    Some(_) => format!(
                        " before and since {}, median {} then and {} now.",
                        short(since.from),
                        before.map(|b| value(b.percentiles[2])).unwrap_or_default(),
                        value(since.percentiles[2])
                    ),
                    None => format!(
                        " since {}, median {}.",
                        short(since.from),
                        value(since.percentiles[2])
                    ),
                }
            ),
            view_box: format!("0 0 {SPREAD_WIDTH} {}", geometry.height),
            head: [
                "Window", "Members", "10th", "25th", "Median", "75th", "90th",
            ]
            .map(String::from)
            .to_vec(),
            rows: windows
                .iter()
                .map(|(name, f)| Row {
                    class: String::new(),
                    cells: std::iter::once(name.clone())
                        .chain(std::iter::once(f.members.to_string()))
                        .chain(f.percentiles.iter().map(|v| value(*v)))
                        .collect(),
                })
                .collect(),
            ..Chart::default()
        };
        let bottom = geometry.height - 30.0;
        chart.path(
            "chart-grid",
            vertical_lines(geometry.ticks.iter().map(|t| t.0), 0.0, bottom),
        );
        let mut whiskers = String::new();
        let mut boxes = String::new();
        let mut medians = String::new();
        for (y, x) in &geometry.rows {
            whiskers.push_str(&format!("M{:.1},{y:.1} H{:.1} ", x[0], x[4]));
            boxes.push_str(&format!(
                "M{:.1},{:.1} H{:.1} V{:.1} H{:.1} Z ",
                x[1],
                y - 12.0,
                x[3],
                y + 12.0,
                x[1]
            ));
            medians.push_str(&format!("M{:.1},{:.1} V{:.1} ", x[2], y - 16.0, y + 16.0));
        }
        chart.path("spread-whisker", whiskers.trim_end().to_string());
        chart.path("spread-box", boxes.trim_end().to_string());
        chart.path("spread-median", medians.trim_end().to_string());
        for ((name, _), (y, _)) in windows.iter().zip(&geometry.rows) {
            chart.label("", (SPREAD_LEFT - 10.0, *y), "end", "0.32em", name.clone());
        }
        let step = match geometry.ticks.as_slice() {
            [a, b, ..] => (b.1 - a.1).abs(),
            _ => 1.0,
        };
        let tick_decimals = if step >= 1.0 {
            0
        } else {
            (-step.log10().floor()) as usize
        };
        for (x, v) in &geometry.ticks {
            chart.label(
                "",
                (*x, geometry.height - 8.0),
                "middle",
                "",
                format_number(*v, tick_decimals),
            );
        }
        chart.key("key-spread-whisker", "10th-90th percentile");
        chart.key("key-spread-box", "middle half");
        chart.key("key-spread-median", "median");
        MeetupFigure {
            metric: metric.name.clone(),
            withheld: None,
            since: Some(since_text),
            before: before_text,
            change,
            chart: Some(chart),
            standing,
        }
    }
}
