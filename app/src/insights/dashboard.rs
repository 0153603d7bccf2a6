//! `/dashboard`: a member's home. A card per metric they log (the latest value, the
//! 7-day mean against the 28-day mean, the trend with how sure it is, a sparkline of
//! the last 28 days, the goal and the streak), the insights the pipeline found, the
//! strongest and newest first, each with its numbers, and the nudges that say what to
//! log next. Everything is read from what Compute stored; the numbers are formatted and
//! the sparklines drawn on the server, so the page's code in the browser is small.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// The sparkline's box, in SVG user units.
pub const SPARK_WIDTH: f64 = 120.0;
pub const SPARK_HEIGHT: f64 = 32.0;
/// The same as text for the SVG (`-3` and `+ 6`: room for the newest point's dot).
const SPARK_BOX_WIDTH: &str = "120";
const SPARK_VIEW_BOX: &str = "-3 0 126 32";
/// Days a sparkline shows, today included.
pub const SPARK_DAYS: i64 = 28;

/// One metric's card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub key: String,
    pub name: String,
    pub pinned: bool,
    /// "7.5 h", with when: "today", "yesterday" or the date.
    pub last: Option<(String, String)>,
    pub mean_7: Option<String>,
    pub mean_28: Option<String>,
    /// The 7-day mean against the 28-day mean: "+12%".
    pub change: Option<String>,
    /// "up", "down" or "steady": up or down only when the 95% interval of the 28-day
    /// slope excludes zero.
    pub trend: Option<String>,
    /// The trend in words: "rising by 120 steps a day (95% interval 40 to 200; 21 days)".
    pub trend_text: Option<String>,
    pub goal: Option<String>,
    pub streak: usize,
    pub goal_streak: Option<usize>,
    pub days_logged: usize,
    /// The sparkline: path data, the newest point, the goal's line (numbers formatted
    /// by the server: the browser's code formats no floating-point number).
    pub spark_path: String,
    pub spark_last: Option<(String, String)>,
    pub spark_goal: Option<String>,
    /// The card's chart in one sentence, for screen readers.
    pub spark_text: String,
}

/// One shown insight in the feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsightItem {
    pub id: i64,
    pub sentence: String,
    /// "r = 0.62, n = 41 days, q = 0.003"
    pub numbers: String,
    /// Where its evidence is: the pair's page (scatter plot and numbers).
    pub href: String,
    /// First shown in the last 7 days.
    pub new: bool,
}

/// A nudge: what to log next, and where to log it in one tap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NudgeItem {
    pub sentence: String,
    pub href: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub display_name: String,
    /// The member's today the numbers are as of ("Thu 3 Dec"), when computed.
    pub as_of: Option<String>,
    pub cards: Vec<Card>,
    pub insights: Vec<InsightItem>,
    pub nudges: Vec<NudgeItem>,
    /// The search of the member's notes, when the page asks for one (`?notes=`).
    pub notes: Option<super::notes::NoteSearch>,
}

/// The logged-in member's dashboard. A read: it changes nothing (impressions are not
/// recorded by reading; see `record_insight_event`).
#[server(endpoint = "get_dashboard")]
pub async fn get_dashboard(notes: Option<String>) -> Result<Dashboard, ServerFnError> {
    Ok(ssr::dashboard(notes.unwrap_or_default()).await?)
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let data = crate::data::load(move || query.read().get("notes"), get_dashboard);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title formatter=crate::html::page_title text="Dashboard" />
        <div class="dashboard" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="loading">"Loading your dashboard…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <DashboardView data /> }.into_any(),
                        Err(error) => view! {
                            <p class="error" role="alert">{crate::errors::message(&error)}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn DashboardView(data: Dashboard) -> impl IntoView {
    let Dashboard {
        display_name,
        as_of,
        cards,
        insights,
        nudges,
        notes,
    } = data;
    let empty = cards.is_empty();
    // The insights shown are recorded as seen once, by the browser (a read records
    // nothing): Measure's count of how often each kind is shown.
    let shown: Vec<String> = insights.iter().map(|i| i.id.to_string()).collect();
    if !shown.is_empty() {
        let ids = shown.join(",");
        Effect::new(move |done: Option<()>| {
            if done.is_none() {
                let ids = ids.clone();
                leptos::task::spawn_local(async move {
                    let _ = super::record_impressions(ids).await;
                });
            }
        });
    }
    view! {
        <h1>"Hello, " {display_name}</h1>
        <p class="muted">
            {match as_of {
                Some(day) => format!("Your numbers as of {day}."),
                None => "Nothing computed yet: your numbers appear here a moment after you log.".to_string(),
            }}
            " " <a href="/track">"Log a value"</a>
        </p>
        {empty.then(|| view! {
            <section class="empty-state">
                <h2>"Start with one number"</h2>
                <p>"Log sleep, mood or steps for a few days and this page shows how they move, and what moves with them."</p>
                <p><a class="button" href="/track">"Open the quick log"</a></p>
            </section>
        })}
        {(!empty).then(|| view! {
            <section aria-labelledby="cards-heading">
                <h2 id="cards-heading">"Your metrics"</h2>
                <ul class="cards">
                    {cards.into_iter().map(|card| view! { <MetricCard card /> }).collect_view()}
                </ul>
            </section>
        })}
        <section aria-labelledby="insights-heading" class="insight-feed">
            <h2 id="insights-heading">"What your data says"</h2>
            <p class="muted"><a href="/insights">"Every pair tested, with its numbers"</a></p>
            {if insights.is_empty() {
                view! {
                    <p class="muted">
                        "No relation between your metrics is strong and sure enough to show yet. "
                        "Cohort tests every pair once both have 14 days together, and shows only what survives a correction for testing many pairs."
                    </p>
                }.into_any()
            } else {
                view! {
                    <ul class="insights">
                        {insights.into_iter().map(|insight| view! {
                            <li class="insight">
                                {insight.new.then(|| view! { <span class="badge">"New"</span> " " })}
                                <p class="sentence">{insight.sentence}</p>
                                <p class="numbers muted">{insight.numbers} " · " <a href=insight.href>"See the data"</a></p>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <super::notes::NotesSearch notes />
        {(!nudges.is_empty()).then(|| view! {
            <section aria-labelledby="nudges-heading" class="nudges">
                <h2 id="nudges-heading">"Log next"</h2>
                <ul>
                    {nudges.into_iter().map(|nudge| view! {
                        <li><a href=nudge.href>{nudge.sentence}</a></li>
                    }).collect_view()}
                </ul>
            </section>
        })}
    }
}

#[component]
fn MetricCard(card: Card) -> impl IntoView {
    let Card {
        key,
        name,
        last,
        mean_7,
        mean_28,
        change,
        trend,
        trend_text,
        goal,
        streak,
        goal_streak,
        spark_path,
        spark_last,
        spark_goal,
        spark_text,
        ..
    } = card;
    let arrow = match trend.as_deref() {
        Some("up") => "↑",
        Some("down") => "↓",
        Some(_) => "→",
        None => "",
    };
    view! {
        <li class="card">
            <h3><a href=format!("/track/{}", urlencoding::encode(&key))>{name}</a></h3>
            <p class="card-value">
                {match last {
                    Some((value, when)) => view! { <strong>{value}</strong> " " <span class="muted">{when}</span> }.into_any(),
                    None => view! { <span class="muted">"No value yet"</span> }.into_any(),
                }}
            </p>
            <svg class="sparkline" viewBox=SPARK_VIEW_BOX
                role="img" aria-label=spark_text preserveAspectRatio="none">
                {spark_goal.map(|y| view! {
                    <line class="goal-line" x1="0" x2=SPARK_BOX_WIDTH y1=y.clone() y2=y />
                })}
                <path class="spark-line" d=spark_path />
                // A dot that stays round however the box is stretched: a zero-length
                // stroke with round caps, not a circle.
                {spark_last.map(|(x, y)| view! { <path class="spark-dot" d=format!("M{x},{y} h0") /> })}
            </svg>
            <dl class="card-numbers">
                {mean_7.map(|mean| view! { <div><dt>"7-day mean"</dt><dd>{mean}</dd></div> })}
                {mean_28.map(|mean| view! { <div><dt>"28-day mean"</dt><dd>{mean}</dd></div> })}
                {change.map(|change| view! { <div><dt>"7 days vs 28"</dt><dd>{change}</dd></div> })}
                {goal.map(|goal| view! { <div><dt>"Goal"</dt><dd>{goal}</dd></div> })}
                <div><dt>"Streak"</dt><dd>{format!("{streak} day{}", if streak == 1 { "" } else { "s" })}</dd></div>
                {goal_streak.map(|days| view! { <div><dt>"At goal"</dt><dd>{format!("{days} day{} in a row", if days == 1 { "" } else { "s" })}</dd></div> })}
            </dl>
            {trend_text.map(|text| view! {
                <p class="trend"><span class="trend-arrow" aria-hidden="true">{arrow}</span> " " {text}</p>
            })}
        </li>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::accounts::ssr::{read_pool, require_user};
    use crate::errors::AppError;
    use crate::stats::daily::{nudge_sentence, Nudge, Summary, MEETUPS};
    use crate::track::{show_value, unit_of, units, Kind};
    use chrono::{NaiveDate, TimeDelta};
    use std::collections::HashMap;

    type MetricRow = (
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<f64>,
        bool,
        sqlx::types::Json<Summary>,
    );

    pub async fn dashboard(notes: String) -> Result<Dashboard, AppError> {
        let user = require_user().await?;
        let pool = read_pool()?;
        // One connection for the page's statements: each given back to the pool costs a
        // round trip (sqlx checks it).
        let mut conn = pool.acquire().await?;
        let notes =
            super::super::notes::ssr::search(&mut conn, user.id, &user.time_zone, notes.trim())
                .await?;
        // Every metric the member has a summary of (that is, has logged), pinned first.
        let metrics: Vec<MetricRow> = sqlx::query_as(
            "SELECT m.id, m.key, m.name, m.kind, m.unit,
                    coalesce(s.display_unit, m.display_unit), s.goal,
                    coalesce(s.pinned, m.pinned_by_default), ms.summary
               FROM metric_summaries ms
               JOIN metrics m ON m.id = ms.metric_id
               LEFT JOIN metric_settings s ON s.user_id = ms.user_id AND s.metric_id = ms.metric_id
              WHERE ms.user_id = $1
              ORDER BY coalesce(s.pinned, m.pinned_by_default) DESC, m.name",
        )
        .bind(user.id)
        .fetch_all(&mut *conn)
        .await?;
        let computed: Option<(NaiveDate, sqlx::types::Json<Vec<Nudge>>)> =
            sqlx::query_as("SELECT as_of, nudges FROM member_computes WHERE user_id = $1")
                .bind(user.id)
                .fetch_optional(&mut *conn)
                .await?;
        let as_of = computed.as_ref().map(|(day, _)| *day);
        // The last 28 days of each metric, for the sparklines.
        let days: Vec<(i64, NaiveDate, f64)> = match as_of {
            Some(as_of) => {
                sqlx::query_as(
                    "SELECT metric_id, day, value FROM daily_values
                      WHERE user_id = $1 AND day > $2 AND day <= $3",
                )
                .bind(user.id)
                .bind(as_of - TimeDelta::days(SPARK_DAYS))
                .bind(as_of)
                .fetch_all(&mut *conn)
                .await?
            }
            None => Vec::new(),
        };
        let mut by_metric: HashMap<i64, HashMap<NaiveDate, f64>> = HashMap::new();
        for (metric, day, value) in days {
            by_metric.entry(metric).or_default().insert(day, value);
        }
        let names: HashMap<String, String> = metrics
            .iter()
            .map(|m| (m.1.clone(), m.2.to_lowercase()))
            .chain([(MEETUPS.to_string(), "meetup days".to_string())])
            .collect();
        let cards = metrics
            .into_iter()
            .map(
                |(id, key, name, kind, unit, display, goal, pinned, summary)| {
                    let kind = Kind::parse(&kind).unwrap_or(Kind::Quantity);
                    let series: Vec<Option<f64>> = match as_of {
                        Some(as_of) => (0..SPARK_DAYS)
                            .rev()
                            .map(|back| {
                                by_metric
                                    .get(&id)
                                    .and_then(|days| days.get(&(as_of - TimeDelta::days(back))))
                                    .copied()
                            })
                            .collect(),
                        None => Vec::new(),
                    };
                    card(CardInput {
                        key,
                        name,
                        kind,
                        unit: &unit,
                        display: &display,
                        goal,
                        pinned,
                        summary: &summary.0,
                        series: &series,
                    })
                },
            )
            .collect();

        // The feed: new this week first, then the strongest.
        let rows: Vec<(i64, String, Vec<String>, i16, serde_json::Value, bool)> = sqlx::query_as(
            "SELECT id, sentence, metrics, lag_days, numbers, first_shown > now() - interval '7 days'
               FROM insights WHERE user_id = $1
              ORDER BY first_shown > now() - interval '7 days' DESC,
                       abs((numbers->>'pearson_r')::float8) DESC, id
              LIMIT 20",
        )
        .bind(user.id)
        .fetch_all(&mut *conn)
        .await?;
        let insights = rows
            .into_iter()
            .map(|(id, sentence, metrics, lag, numbers, new)| {
                let number = |field: &str| numbers.get(field).and_then(serde_json::Value::as_f64);
                let mut parts = Vec::new();
                if let Some(r) = number("pearson_r") {
                    parts.push(format!("r = {r:.2}"));
                }
                if let Some(n) = number("n") {
                    parts.push(format!("n = {n:.0} days"));
                }
                if let Some(q) = number("q") {
                    parts.push(format!("q {}", significant(q)));
                }
                let href = match metrics.as_slice() {
                    [a, b] => crate::insights::pairs::ssr::pair_href(a, b, lag),
                    _ => "/insights".to_string(),
                };
                InsightItem {
                    id,
                    sentence,
                    numbers: parts.join(", "),
                    href,
                    new,
                }
            })
            .collect();
        let name = |key: &str| names.get(key).cloned().unwrap_or_else(|| key.to_string());
        let nudges = computed
            .map(|(_, nudges)| nudges.0)
            .unwrap_or_default()
            .iter()
            .map(|nudge| NudgeItem {
                sentence: nudge_sentence(nudge, name),
                href: format!("/track/{}", urlencoding::encode(&nudge.log)),
            })
            .collect();
        Ok(Dashboard {
            display_name: user.display_name,
            as_of: as_of.map(|day| day.format("%a %-d %b").to_string()),
            cards,
            insights,
            nudges,
            notes,
        })
    }

    /// A p or q value with its relation: "= 0.03", "= 0.004", "< 0.001".
    pub fn significant(value: f64) -> String {
        if value < 0.001 {
            "< 0.001".into()
        } else if value < 0.01 {
            format!("= {value:.3}")
        } else {
            format!("= {value:.2}")
        }
    }

    /// A number with two significant digits, or to the unit when it is larger: 1.2,
    /// 0.035, 102, 4513.
    pub fn two_digits(value: f64) -> String {
        if value == 0.0 || !value.is_finite() {
            return "0".into();
        }
        let magnitude = value.abs().log10().floor() as i32;
        let decimals = (1 - magnitude).max(0) as usize;
        units::format_number(value, decimals)
    }

    /// A change per day in the display unit, or in the canonical one when the display
    /// unit's scale makes it look like nothing (below 0.1 of it).
    pub fn rate(slope: f64, unit: &str, display: &str) -> String {
        let with = |value: f64, code: &str| match unit_of(code) {
            Some(u) if u.label.is_empty() => two_digits(value),
            Some(u) if u.label.starts_with('°') || u.label == "%" => {
                format!("{}{}", two_digits(value), u.label)
            }
            Some(u) => format!("{} {}", two_digits(value), u.label),
            None => format!("{} {code}", two_digits(value)),
        };
        if let (Some(from), Some(to)) = (unit_of(unit), unit_of(display)) {
            if let (Some(a), Some(b)) = (
                units::convert(slope, from, to),
                units::convert(0.0, from, to),
            ) {
                let converted = a - b;
                if converted.abs() >= 0.1 || slope == 0.0 {
                    return with(converted, display);
                }
            }
        }
        with(slope, unit)
    }

    pub struct CardInput<'a> {
        pub key: String,
        pub name: String,
        pub kind: Kind,
        pub unit: &'a str,
        pub display: &'a str,
        pub goal: Option<f64>,
        pub pinned: bool,
        pub summary: &'a Summary,
        /// The last [`SPARK_DAYS`] days, oldest first, in the canonical unit.
        pub series: &'a [Option<f64>],
    }

    /// A card's numbers in the member's units, in words where words read better.
    pub fn card(input: CardInput) -> Card {
        let CardInput {
            key,
            name,
            kind,
            unit,
            display,
            goal,
            pinned,
            summary,
            series,
        } = input;
        let show = |value: f64| show_value(value, unit, display, kind);
        // A change per day converts by the unit's scale alone (no offset), shown with two
        // significant digits, in the canonical unit when the display unit would round it
        // away (sleep falling by 0.02 h a day reads better as 1.2 min).
        let per_day = |slope: f64| -> String { rate(slope, unit, display) };
        let last = summary.last.map(|day| {
            let when = match (summary.as_of - day.date).num_days() {
                0 => "today".to_string(),
                1 => "yesterday".to_string(),
                _ => day.date.format("%a %-d %b").to_string(),
            };
            (show(day.value), when)
        });
        let change = match (summary.mean_7, summary.mean_28) {
            (Some(recent), Some(base)) if base.abs() > f64::EPSILON && kind != Kind::YesNo => {
                let percent = (recent - base) / base.abs() * 100.0;
                Some(format!(
                    "{}{percent:.0}% on the 28-day mean",
                    if percent >= 0.0 { "+" } else { "" }
                ))
            }
            _ => None,
        };
        let (trend, trend_text) = match summary.trend {
            Some(t) if t.n >= 7 && t.ci_low.is_finite() && t.ci_high.is_finite() => {
                let direction = if t.ci_low > 0.0 {
                    "up"
                } else if t.ci_high < 0.0 {
                    "down"
                } else {
                    "steady"
                };
                let text = match direction {
                    "steady" => format!(
                        "No clear trend over the last 28 days ({} a day, 95% interval {} to {}; {} days)",
                        per_day(t.slope),
                        per_day(t.ci_low),
                        per_day(t.ci_high),
                        t.n
                    ),
                    _ => format!(
                        "{} by {} a day over the last 28 days (95% interval {} to {}; {} days)",
                        if direction == "up" { "Rising" } else { "Falling" },
                        per_day(t.slope.abs()),
                        per_day(t.ci_low),
                        per_day(t.ci_high),
                        t.n
                    ),
                };
                (Some(direction.to_string()), Some(text))
            }
            _ => (None, None),
        };
        let spark = crate::insights::chart::sparkline(series, SPARK_WIDTH, SPARK_HEIGHT, goal);
        let logged = series.iter().flatten().count();
        let days = if logged == 1 { "day" } else { "days" };
        let spark_text = match (summary.mean_28, logged) {
            (_, 0) => format!("{name}: no value in the last 28 days."),
            (Some(mean), _) => format!(
                "{name} over the last 28 days: {logged} {days} logged, mean {}{}.",
                show(mean),
                goal.map(|g| format!(", goal {}", show(g)))
                    .unwrap_or_default()
            ),
            (None, _) => format!("{name} over the last 28 days: {logged} {days} logged."),
        };
        Card {
            key,
            name,
            pinned,
            last,
            mean_7: summary.mean_7.map(show),
            mean_28: summary.mean_28.map(show),
            change,
            trend,
            trend_text,
            goal: goal.map(show),
            streak: summary.streak,
            goal_streak: summary.goal_streak,
            days_logged: summary.days_logged,
            spark_path: spark.path,
            spark_last: spark
                .last
                .map(|(x, y)| (format!("{x:.1}"), format!("{y:.1}"))),
            spark_goal: spark.goal_y.map(|y| format!("{y:.1}")),
            spark_text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "ssr")]
    #[test]
    fn rates_read_in_a_unit_that_does_not_round_them_away() {
        use super::ssr::{rate, significant, two_digits};
        assert_eq!(two_digits(102.08), "102");
        assert_eq!(two_digits(-1.234), "-1.2");
        assert_eq!(two_digits(0.0346), "0.035");
        // Sleep is stored in minutes and read in hours.
        assert_eq!(rate(30.0, "min", "h"), "0.5 h");
        assert_eq!(rate(1.2, "min", "h"), "1.2 min");
        assert_eq!(rate(0.0, "min", "h"), "0 h");
        assert_eq!(significant(0.0004), "< 0.001");
        assert_eq!(significant(0.0042), "= 0.004");
        assert_eq!(significant(0.031), "= 0.03");
    }

    #[test]
    fn the_svg_texts_match_the_numbers() {
        assert_eq!(SPARK_BOX_WIDTH, SPARK_WIDTH.to_string());
        assert_eq!(
            SPARK_VIEW_BOX,
            format!("-3 0 {} {SPARK_HEIGHT}", SPARK_WIDTH + 6.0)
        );
    }
}
