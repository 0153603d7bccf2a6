//! `/insights/{a}/{b}/{lag}`: one tested pair's evidence. The scatter plot of the days
//! it was tested on (metric a on a day against b on the same day or `lag` days later,
//! so a lagged pair is plotted lagged) with the least-squares line, the sentence when
//! it is shown as an insight, every number of the test, and whether it was useful: the
//! member's vote, and the page's opening, go to Measure (`record_insight_event`), sent
//! by the browser after the page has loaded (reading the page records nothing).

use super::record_insight_event;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

/// A pair's page, every number already text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairData {
    /// "Steps → energy, 1 day later"
    pub title: String,
    /// The insight shown for the pair: (id, sentence).
    pub insight: Option<(i64, String)>,
    /// The member's last vote on it: "useful" or "not_useful".
    pub vote: Option<String>,
    /// Why the pair is shown, or why not.
    pub verdict: String,
    /// (name, value, what it means) of each number of the test.
    pub numbers: Vec<(String, String, String)>,
    pub chart: Option<super::svg::Chart>,
    /// The days tested, for testing a stretch of them in the browser.
    pub brush: Option<super::brush::PairBrush>,
}

#[server(endpoint = "get_pair")]
pub async fn get_pair(a: String, b: String, lag: String) -> Result<PairData, ServerFnError> {
    Ok(ssr::pair(a, b, lag).await?)
}

#[component]
pub fn PairPage() -> impl IntoView {
    let params = use_params_map();
    let vote = ServerAction::<super::RecordInsightEvent>::new();
    let data = crate::data::load(
        move || {
            let params = params.read();
            (
                params.get("a").unwrap_or_default(),
                params.get("b").unwrap_or_default(),
                params.get("lag").unwrap_or_default(),
                vote.version().get(),
            )
        },
        |(a, b, lag, _)| get_pair(a, b, lag),
    );
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title formatter=crate::html::page_title text="A pair" />
        <div class="pair-page" data-hydrated=move || hydrated.get().to_string()>
            <p class="crumbs"><a href="/dashboard">"Dashboard"</a>" / "<a href="/insights">"Every pair tested"</a></p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(pair) => view! { <PairView pair vote /> }.into_any(),
                        Err(error) => view! {
                            <h1>"A pair"</h1>
                            <p class="error" role="alert">{crate::errors::message(&error)}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn PairView(pair: PairData, vote: ServerAction<super::RecordInsightEvent>) -> impl IntoView {
    let PairData {
        title,
        insight,
        vote: voted,
        verdict,
        numbers,
        chart,
        brush,
    } = pair;
    // Opening the page is recorded once, by the browser (a read records nothing).
    if let Some((id, _)) = &insight {
        let id = *id;
        Effect::new(move |opened: Option<()>| {
            if opened.is_none() {
                leptos::task::spawn_local(async move {
                    let _ = record_insight_event(id, "open".into()).await;
                });
            }
        });
    }
    view! {
        <Title formatter=crate::html::page_title text=title.clone() />
        <h1>{title}</h1>
        {insight.as_ref().map(|(_, sentence)| view! { <p class="sentence lead">{sentence.clone()}</p> })}
        <p class="muted">{verdict}</p>
        {chart.map(|chart| match brush {
            Some(brush) => view! { <super::brush::PairBrushed chart brush /> }.into_any(),
            None => view! { <super::svg::ChartView chart /> }.into_any(),
        })}
        <h2>"The numbers"</h2>
        <dl class="test-numbers">
            {numbers.into_iter().map(|(name, value, meaning)| view! {
                <div>
                    <dt>{name}</dt>
                    <dd><strong>{value}</strong>" "<span class="muted">{meaning}</span></dd>
                </div>
            }.into_any()).collect_view()}
        </dl>
        {insight.map(|(id, _)| view! { <Vote id voted vote /> }.into_any())}
    }
}

#[component]
fn Vote(
    id: i64,
    voted: Option<String>,
    vote: ServerAction<super::RecordInsightEvent>,
) -> impl IntoView {
    let (useful, not_useful) = (
        voted.as_deref() == Some("useful"),
        voted.as_deref() == Some("not_useful"),
    );
    let said = match voted.as_deref() {
        Some("useful") => "You found this useful.",
        Some("not_useful") => "You found this not useful.",
        _ => "Cohort learns from your answer which kinds of insight to show.",
    };
    let error = move || {
        vote.value().get().and_then(Result::err).map(
            |error| view! { <p class="error" role="alert">{crate::errors::message(&error)}</p> },
        )
    };
    view! {
        <section class="vote" aria-labelledby="vote-heading">
            <h2 id="vote-heading">"Was this useful?"</h2>
            <p class="muted" aria-live="polite">{said}</p>
            {error}
            <div class="vote-buttons">
                <ActionForm action=vote attr:class="inline">
                    <input type="hidden" name="insight_id" value=id />
                    <input type="hidden" name="kind" value="useful" />
                    <button type="submit" class:secondary=!useful aria-pressed=useful.to_string()>"Useful"</button>
                </ActionForm>
                <ActionForm action=vote attr:class="inline">
                    <input type="hidden" name="insight_id" value=id />
                    <input type="hidden" name="kind" value="not_useful" />
                    <button type="submit" class:secondary=!not_useful aria-pressed=not_useful.to_string()>"Not useful"</button>
                </ActionForm>
            </div>
        </section>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::accounts::ssr::{read_pool, require_user};
    use crate::errors::{not_found, AppError};
    use crate::insights::brush::{days_of, p_is, small, PairBrush};
    use crate::insights::chart::{
        scatter, Scatter, SCATTER_BOTTOM, SCATTER_HEIGHT, SCATTER_LEFT, SCATTER_WIDTH,
    };
    use crate::insights::svg::{horizontal_lines, vertical_lines, Chart, Row};
    use crate::pipeline::compute::{read_inputs, thresholds};
    use crate::stats::daily::{paired_days, MAX_LAG, MEETUPS};
    use crate::stats::linregress;
    use crate::track::catalogue::find_metric;
    use crate::track::units::format_number;
    use chrono::NaiveDate;
    use std::collections::BTreeMap;

    type TestRow = (i32, f64, f64, f64, f64, f64, f64, f64, bool);

    /// How one side of the pair is named and shown.
    struct Side {
        name: String,
        /// "h", "steps", "" for a plain scale.
        unit: String,
        convert: Box<dyn Fn(f64) -> f64 + Send>,
    }

    pub async fn pair(a: String, b: String, lag: String) -> Result<PairData, AppError> {
        let user = require_user().await?;
        pair_of(&read_pool()?, user.id, a, b, lag).await
    }

    /// Member `user_id`'s pair (the caller has checked who asks).
    pub async fn pair_of(
        pool: &sqlx::PgPool,
        user_id: i64,
        a: String,
        b: String,
        lag: String,
    ) -> Result<PairData, AppError> {
        struct User {
            id: i64,
        }
        let user = User { id: user_id };
        let lag = match lag.parse::<i64>() {
            Ok(lag) if (0..=MAX_LAG).contains(&lag) => lag,
            _ => return Err(not_found("pair")),
        };
        let pool = pool.clone();
        let test: Option<TestRow> = sqlx::query_as(
            "SELECT n, pearson_r, pearson_p, spearman_r, spearman_p, n_eff, p_adj, q, shown
               FROM pair_tests WHERE user_id = $1 AND a = $2 AND b = $3 AND lag_days = $4",
        )
        .bind(user.id)
        .bind(&a)
        .bind(&b)
        .bind(lag as i16)
        .fetch_optional(&pool)
        .await?;
        let Some((n, r, r_p, rho, rho_p, n_eff, p_adj, q, shown)) = test else {
            return Err(not_found("pair"));
        };
        let insight: Option<(i64, String)> =
            sqlx::query_as("SELECT id, sentence FROM insights WHERE user_id = $1 AND subject = $2")
                .bind(user.id)
                .bind(format!("correlation:{a}:{b}:{lag}"))
                .fetch_optional(&pool)
                .await?;
        let vote: Option<String> = match &insight {
            Some((id, _)) => {
                sqlx::query_scalar(
                    "SELECT kind FROM insight_events
                      WHERE insight_id = $1 AND user_id = $2 AND kind IN ('useful', 'not_useful')
                      ORDER BY at DESC, id DESC LIMIT 1",
                )
                .bind(id)
                .bind(user.id)
                .fetch_optional(&pool)
                .await?
            }
            None => None,
        };
        let mut conn = pool.acquire().await?;
        let mut sides = Vec::new();
        for key in [&a, &b] {
            sides.push(if key == MEETUPS {
                Side {
                    name: "At a meetup".into(),
                    unit: "1 = yes".into(),
                    convert: Box::new(|v| v),
                }
            } else {
                let metric = find_metric(&mut conn, user.id, key)
                    .await?
                    .ok_or_else(|| not_found("pair"))?;
                let unit = metric.display_label();
                Side {
                    name: metric.name.clone(),
                    unit,
                    convert: Box::new(move |v| metric.display_number(v)),
                }
            });
        }
        let (side_b, side_a) = (
            sides.pop().expect("two sides"),
            sides.pop().expect("two sides"),
        );
        let inputs = read_inputs(&mut conn, user.id, thresholds())
            .await?
            .ok_or_else(|| not_found("pair"))?;
        drop(conn);
        let window = inputs.pair_window();
        let by_day = |key: &str| -> BTreeMap<NaiveDate, f64> {
            window
                .get(key)
                .map(|days| days.iter().map(|d| (d.date, d.value)).collect())
                .unwrap_or_default()
        };
        let points: Vec<(NaiveDate, f64, f64)> = paired_days(&by_day(&a), &by_day(&b), lag)
            .into_iter()
            .map(|(day, x, y)| (day, (side_a.convert)(x), (side_b.convert)(y)))
            .collect();

        let later = match lag {
            0 => "that day".to_string(),
            1 => "the next day".to_string(),
            k => format!("{k} days later"),
        };
        let title = format!(
            "{} {} {}{}",
            side_a.name,
            if lag == 0 { "and" } else { "→" },
            side_b.name.to_lowercase(),
            match lag {
                0 => String::new(),
                1 => ", 1 day later".into(),
                k => format!(", {k} days later"),
            }
        );
        let t = thresholds();
        let verdict = if shown {
            format!(
                "Shown as an insight: it passes q ≤ {} and |r| ≥ {}.",
                t.max_q, t.min_abs_r
            )
        } else if q > t.max_q {
            format!(
                "Not shown: q = {} is above {} (with this many pairs tested, a relation this strong \
                 turns up by chance too often).",
                small(q),
                t.max_q
            )
        } else {
            format!(
                "Not shown: |r| = {:.2} is below {} (sure, but too weak to matter).",
                r.abs(),
                t.min_abs_r
            )
        };
        let numbers = vec![
            (
                "Days".into(),
                n.to_string(),
                format!("with both values (counted as {n_eff:.0} independent days, n_eff)"),
            ),
            (
                "Pearson r".into(),
                format!("{r:.2}"),
                format!("linear relation, -1 to 1 ({})", p_is(r_p)),
            ),
            (
                "Spearman rho".into(),
                format!("{rho:.2}"),
                format!("relation in rank order ({})", p_is(rho_p)),
            ),
            (
                "p adjusted".into(),
                small(p_adj),
                "Pearson's p with n_eff in place of n".into(),
            ),
            (
                "q".into(),
                small(q),
                "p corrected for every pair tested (Benjamini-Hochberg)".into(),
            ),
        ];
        let chart = chart(&points, &side_a, &side_b, &later);
        let brush = PairBrush {
            dates: points.iter().map(|p| days_of(p.0)).collect(),
            a: points.iter().map(|p| p.1).collect(),
            b: points.iter().map(|p| p.2).collect(),
        };
        Ok(PairData {
            title,
            insight,
            vote,
            verdict,
            numbers,
            chart,
            brush: Some(brush),
        })
    }

    fn labelled(side: &Side, when: &str) -> String {
        if side.unit.is_empty() {
            format!("{} {when}", side.name)
        } else {
            format!("{} {when} ({})", side.name, side.unit)
        }
    }

    /// Decimals for the labels of ticks `step` apart.
    fn decimals(ticks: &[(f64, f64)]) -> usize {
        match ticks {
            [a, b, ..] if (b.1 - a.1).abs() < 1.0 => (-(b.1 - a.1).abs().log10().floor()) as usize,
            _ => 0,
        }
    }

    fn chart(points: &[(NaiveDate, f64, f64)], a: &Side, b: &Side, later: &str) -> Option<Chart> {
        let (first, last) = (points.first()?.0, points.last()?.0);
        let xs: Vec<f64> = points.iter().map(|p| p.1).collect();
        let ys: Vec<f64> = points.iter().map(|p| p.2).collect();
        let fit = linregress(&xs, &ys);
        let geometry: Scatter = scatter(
            &points.iter().map(|p| (p.1, p.2)).collect::<Vec<_>>(),
            fit.as_ref().map(|f| (f.intercept, f.slope)),
        );
        let (x_decimals, y_decimals) = (decimals(&geometry.x_ticks), decimals(&geometry.y_ticks));
        let short = |d: NaiveDate| d.format("%-d %b").to_string();
        let x_label = labelled(a, "that day");
        let y_label = labelled(b, later);
        let x_step = match geometry.x_ticks.as_slice() {
            [p, q, ..] => q.1 - p.1,
            _ => 1.0,
        };
        let line = fit
            .as_ref()
            .map(|f| {
                let change = f.slope * x_step;
                format!(
                    " The least-squares line {} by {} {} for every {} {} more.",
                    if change >= 0.0 { "rises" } else { "falls" },
                    format_number(change.abs(), y_decimals + 1),
                    b.unit.as_str().trim(),
                    format_number(x_step, x_decimals),
                    if a.unit.is_empty() {
                        "points"
                    } else {
                        a.unit.as_str()
                    },
                )
                .replace("  ", " ")
            })
            .unwrap_or_default();
        let summary = format!(
            "Each dot is one of {} days from {} to {}: {} across, {} {later} up.{line}",
            points.len(),
            short(first),
            short(last),
            a.name.to_lowercase(),
            b.name.to_lowercase(),
        );
        let (right, top, bottom) = (SCATTER_WIDTH - 12.0, 8.0, SCATTER_HEIGHT - SCATTER_BOTTOM);
        let mut chart = Chart {
            class: "scatter-chart".into(),
            caption: Some(format!("{y_label} against {}", x_label.to_lowercase())),
            summary,
            view_box: format!("0 0 {SCATTER_WIDTH} {SCATTER_HEIGHT}"),
            head: vec!["Day".into(), x_label.clone(), y_label.clone()],
            rows: points
                .iter()
                .rev()
                .map(|(day, x, y)| Row {
                    class: String::new(),
                    cells: vec![
                        day.format("%a %-d %b %Y").to_string(),
                        format_number(*x, x_decimals + 1),
                        format_number(*y, y_decimals + 1),
                    ],
                })
                .collect(),
            ..Chart::default()
        };
        let grid = [
            horizontal_lines(geometry.y_ticks.iter().map(|t| t.0), SCATTER_LEFT, right),
            vertical_lines(geometry.x_ticks.iter().map(|t| t.0), top, bottom),
        ]
        .join(" ");
        chart.path("chart-grid", grid);
        if let Some(((x1, y1), (x2, y2))) = geometry.fit {
            chart.path("chart-fit", format!("M{x1:.1},{y1:.1} L{x2:.1},{y2:.1}"));
        }
        for point in &geometry.dots {
            chart.dot("chart-dot", *point, "5");
        }
        for (y, v) in &geometry.y_ticks {
            let text = format_number(*v, y_decimals);
            chart.label("", (SCATTER_LEFT - 6.0, *y), "end", "0.32em", text);
        }
        for (x, v) in &geometry.x_ticks {
            let text = format_number(*v, x_decimals);
            chart.label("date", (*x, bottom + 16.0), "middle", "", text);
        }
        let centre = (SCATTER_LEFT + right) / 2.0;
        chart.label(
            "axis-name",
            (centre, SCATTER_HEIGHT - 4.0),
            "middle",
            "",
            x_label,
        );
        chart.key("key-dot", "a day");
        chart.key("key-fit", "least-squares line");
        Some(chart)
    }
}
