//! `/groups/{slug}/insights`, for the group's members: the metrics members share with the
//! group over the last 12 weeks (the weekly spread of the members' means, the members
//! counted each week, the viewer's own weekly mean over it), relations that hold across
//! the group (a pair tested on each sharing member's own data: for how many it holds and
//! the median r), and each past meetup's attendance. Only published figures (k members
//! or more, `pipeline::compute::group`); a withheld one says why.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupInsights {
    pub slug: String,
    pub name: String,
    /// The fewest members a figure counts.
    pub k: i32,
    pub metrics: Vec<super::band::GroupBand>,
    /// (title, what holds): "Sleep and mood, the same day", "Holds for 4 of 6 members
    /// tested; median r = 0.42."
    pub relations: Vec<(String, String)>,
    /// Why some relations are not shown, or none: a sentence.
    pub relations_note: String,
    pub meetups: Vec<MeetupAttendance>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetupAttendance {
    pub href: String,
    pub title: String,
    pub date: String,
    /// Members who answered yes (with their guests).
    pub going: i64,
    /// "20" or "no limit".
    pub seats: String,
    pub checked_in: i64,
}

/// The page as the browser gets it: its title, and the rest drawn on the server (nothing
/// on it changes once loaded, so the browser needs no code for it: every component a
/// page's code holds costs every page, README "Front-end weight").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInsightsPageData {
    pub title: String,
    pub html: crate::html::Rendered,
}

#[server(endpoint = "get_group_insights")]
pub async fn get_group_insights(slug: String) -> Result<GroupInsightsPageData, ServerFnError> {
    let data = ssr::group_insights(slug).await?;
    Ok(GroupInsightsPageData {
        title: format!("{}: insights", data.name),
        html: crate::html::render(move || view! { <GroupInsightsView data /> }),
    })
}

#[component]
pub fn GroupInsightsPage() -> impl IntoView {
    let params = use_params_map();
    let data = crate::data::load(
        move || params.read().get("slug").unwrap_or_default(),
        get_group_insights,
    );
    view! {
        <div class="group-insights">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (title, body) = match data.await {
                        Ok(page) => (page.title, page.html),
                        Err(error) => ("Group insights".to_string(), crate::html::Rendered::text_error(crate::errors::message(&error))),
                    };
                    view! {
                        <Title formatter=crate::html::page_title text=title />
                        <div inner_html=body.rendered_html()></div>
                    }
                })}
            </Suspense>
        </div>
    }
}

#[cfg(feature = "ssr")]
#[component]
fn GroupInsightsView(data: GroupInsights) -> impl IntoView {
    let GroupInsights {
        slug,
        name,
        k,
        metrics,
        relations,
        relations_note,
        meetups,
    } = data;
    view! {
        <p class="crumbs"><a href=format!("/groups/{slug}")>{name.clone()}</a></p>
        <h1>"What the group's data says"</h1>
        <p class="muted">
            "Figures from the data members share with the group, never one member's: each counts at least "
            {k}" members, and the members it counts change only by none or by at least "{k}" at a time."
        </p>
        <section aria-labelledby="shared-heading">
            <h2 id="shared-heading">"Shared metrics, week by week"</h2>
            {if metrics.is_empty() {
                view! { <p class="muted">"No metric is shared with the group yet."</p> }.into_any()
            } else {
                view! { <super::band::GroupBandList bands=metrics /> }.into_any()
            }}
        </section>
        <section aria-labelledby="relations-heading" class="group-relations">
            <h2 id="relations-heading">"Relations across the group"</h2>
            <p class="muted">{relations_note}</p>
            {(!relations.is_empty()).then(|| view! {
                <ul>
                    {relations.into_iter().map(|(title, text)| view! {
                        <li><strong>{title}</strong>": "{text}</li>
                    }).collect_view()}
                </ul>
            })}
        </section>
        <section aria-labelledby="attendance-heading" class="attendance-history">
            <h2 id="attendance-heading">"Meetup attendance"</h2>
            {if meetups.is_empty() {
                view! { <p class="muted">"No past meetups yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="pairs">
                            <thead><tr><th scope="col">"Meetup"</th><th scope="col">"Date"</th><th scope="col">"Going"</th><th scope="col">"Seats"</th><th scope="col">"Checked in"</th></tr></thead>
                            <tbody>
                                {meetups.into_iter().map(|m| view! {
                                    <tr>
                                        <th scope="row"><a href=m.href>{m.title}</a></th>
                                        <td>{m.date}</td><td>{m.going}</td><td>{m.seats}</td><td>{m.checked_in}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::accounts::ssr::{read_pool, require_user};
    use crate::errors::{not_found, AppError};
    use crate::pipeline::compute::group::Window;
    use crate::track::catalogue::{MetricRow, METRIC_SELECT};
    use chrono::{DateTime, Utc};

    pub async fn group_insights(slug: String) -> Result<GroupInsights, AppError> {
        let user = require_user().await?;
        let pool = read_pool()?;
        // Members of the group only; anyone else: not found.
        let group: Option<(i64, String, i32, String)> = sqlx::query_as(
            "SELECT g.id, g.name, g.figure_k, g.time_zone FROM groups g
               JOIN memberships ms ON ms.group_id = g.id AND ms.user_id = $2
              WHERE g.slug = $1",
        )
        .bind(&slug)
        .bind(user.id)
        .fetch_optional(&pool)
        .await?;
        let Some((group_id, name, k, zone)) = group else {
            return Err(not_found("group"));
        };
        let k = k.max(crate::pipeline::compute::group::MIN_K);
        let metric_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT f.metric_id FROM group_figures f JOIN metrics m ON m.id = f.metric_id AND m.owner_id IS NULL
              WHERE f.group_id = $1 AND f.window_key = $2 ORDER BY m.id",
        )
        .bind(group_id)
        .bind(Window::Recent.key())
        .fetch_all(&pool)
        .await?;
        let rows: Vec<MetricRow> =
            sqlx::query_as(&format!("{METRIC_SELECT} AND m.id = ANY($2) ORDER BY m.id"))
                .bind(user.id)
                .bind(&metric_ids)
                .fetch_all(&pool)
                .await?;
        let mut metrics = Vec::new();
        for metric in &rows {
            metrics.push(
                crate::insights::band::ssr::group_band(&pool, user.id, group_id, metric).await?,
            );
        }
        let names: std::collections::HashMap<String, String> =
            sqlx::query_as("SELECT key, name FROM metrics WHERE owner_id IS NULL")
                .fetch_all(&pool)
                .await?
                .into_iter()
                .collect();
        let name_of = |key: &str| {
            if key == crate::stats::daily::MEETUPS {
                "Meetup days".to_string()
            } else {
                names.get(key).cloned().unwrap_or_else(|| key.to_string())
            }
        };
        /// (a, b, lag, published, tested, holds, median r)
        type RelationRow = (
            String,
            String,
            i16,
            bool,
            Option<i32>,
            Option<i32>,
            Option<f64>,
        );
        let relations_rows: Vec<RelationRow> =
            sqlx::query_as(
                "SELECT a, b, lag_days, published, tested, holds, median_r FROM group_relations
                  WHERE group_id = $1 ORDER BY published DESC, abs(median_r) DESC NULLS LAST, a, b, lag_days",
            )
            .bind(group_id)
            .fetch_all(&pool)
            .await?;
        let withheld = relations_rows.iter().filter(|r| !r.3).count();
        let relations: Vec<(String, String)> = relations_rows
            .iter()
            .filter(|r| r.3)
            .filter_map(|(a, b, lag, _, tested, holds, median)| {
                let (tested, holds, median) = ((*tested)?, (*holds)?, (*median)?);
                let when = match lag {
                    0 => "the same day".to_string(),
                    1 => "the next day".to_string(),
                    n => format!("{n} days later"),
                };
                Some((
                    format!("{} and {}, {when}", name_of(a), name_of(b).to_lowercase()),
                    format!(
                        "holds for {holds} of the {tested} members tested; median r = {median:.2}."
                    ),
                ))
            })
            .collect();
        let relations_note = match (relations.is_empty(), withheld) {
            (true, 0) => format!(
                "None yet: a pair is shown once at least {k} members who share both metrics with the group have had it tested on their own data."
            ),
            (_, 0) => format!(
                "Each pair tested on the data of every member who shares both metrics with the group (at least {k}); it holds for a member when it is one of their insights."
            ),
            (_, n) => format!(
                "Each pair tested on the data of every member who shares both metrics with the group; {n} more are not shown, tested on fewer than {k} members."
            ),
        };
        type MeetupRow = (i64, String, DateTime<Utc>, Option<i32>, i64, i64);
        let meetups: Vec<MeetupRow> = sqlx::query_as(
            "SELECT e.id, e.title, e.starts_at, e.capacity,
                    coalesce(sum(1 + r.guests) FILTER (WHERE r.seat = 'going'), 0)::bigint,
                    coalesce(sum(1 + r.guests) FILTER (WHERE r.checked_in_at IS NOT NULL), 0)::bigint
               FROM events e LEFT JOIN rsvps r ON r.event_id = e.id
              WHERE e.group_id = $1 AND e.status = 'scheduled' AND e.starts_at < now()
              GROUP BY e.id ORDER BY e.starts_at DESC LIMIT 24",
        )
        .bind(group_id)
        .fetch_all(&pool)
        .await?;
        let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
        Ok(GroupInsights {
            slug,
            name,
            k,
            metrics,
            relations,
            relations_note,
            meetups: meetups
                .into_iter()
                .map(
                    |(id, title, starts, capacity, going, checked_in)| MeetupAttendance {
                        href: format!("/events/{id}"),
                        title,
                        date: starts.with_timezone(&tz).format("%-d %b %Y").to_string(),
                        going,
                        seats: capacity.map_or("no limit".into(), |c| c.to_string()),
                        checked_in,
                    },
                )
                .collect(),
        })
    }
}
