//! `/insights`: every pair of the member's series that Compute tested, strongest first,
//! with its numbers and whether it passed the thresholds to be shown, filterable by
//! metric and by "shown only" (a plain GET form: the filter is in the URL and works
//! without JavaScript). Honest statistics are the point: the pairs that did not pass
//! are listed too, with the adjusted p and the q that kept them out.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// One tested pair, as the table shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairRow {
    /// "Steps → energy"
    pub pair: String,
    /// "same day", "1 day later", "2 days later"…
    pub lag: String,
    pub n: i32,
    /// Days the autocorrelation correction counts them as (n_eff), rounded.
    pub n_eff: String,
    pub r: String,
    pub rho: String,
    pub p_adj: String,
    pub q: String,
    pub shown: bool,
    /// The pair's page: its scatter plot and numbers.
    pub href: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairsPage {
    pub rows: Vec<PairRow>,
    /// Pairs tested in all, and shown, before the filter.
    pub tested: usize,
    pub shown: usize,
    /// The metrics the member's pairs involve: (key, name), for the filter.
    pub metrics: Vec<(String, String)>,
    /// The filter as applied.
    pub metric: String,
    pub shown_only: bool,
    /// "q ≤ 0.05 and |r| ≥ 0.3"
    pub thresholds: String,
}

#[server(endpoint = "get_pairs")]
pub async fn get_pairs(
    metric: Option<String>,
    shown: Option<String>,
) -> Result<PairsPage, ServerFnError> {
    Ok(ssr::pairs(
        metric.unwrap_or_default(),
        shown.is_some_and(|s| !s.is_empty()),
    )
    .await?)
}

#[component]
pub fn PairsPage() -> impl IntoView {
    let query = use_query_map();
    let data = crate::data::load(
        move || {
            let query = query.read();
            (query.get("metric"), query.get("shown"))
        },
        |(metric, shown)| get_pairs(metric, shown),
    );
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title formatter=crate::html::page_title text="Insights" />
        <div class="pairs-page" data-hydrated=move || hydrated.get().to_string()>
            <p class="crumbs"><a href="/dashboard">"Dashboard"</a></p>
            <h1>"Every pair tested"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(page) => view! { <PairsView page /> }.into_any(),
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
fn PairsView(page: PairsPage) -> impl IntoView {
    let PairsPage {
        rows,
        tested,
        shown,
        metrics,
        metric,
        shown_only,
        thresholds,
    } = page;
    let count = rows.len();
    view! {
        <p class="muted">
            {format!("{tested} pairs tested, {shown} shown as insights ({thresholds}). ")}
            "Each pair is a metric on one day against another on the same day or up to 3 days later, "
            "once they have 14 days together. p is corrected for days that follow each other "
            "not being independent (n_eff), and q for testing many pairs at once (Benjamini-Hochberg)."
        </p>
        <form method="get" action="/insights" class="filters">
            <label for="pair-metric">"Metric"</label>
            <select id="pair-metric" name="metric">
                <option value="" selected=metric.is_empty()>"All"</option>
                {metrics.into_iter().map(|(key, name)| {
                    let selected = key == metric;
                    view! { <option value=key selected=selected>{name}</option> }
                }).collect_view()}
            </select>
            <label class="check"><input type="checkbox" name="shown" value="1" checked=shown_only />" Shown only"</label>
            <button type="submit" class="secondary small">"Filter"</button>
        </form>
        {if count == 0 {
            view! {
                <p class="empty-state">
                    {if tested == 0 {
                        "Nothing tested yet: a pair is tested once both of its metrics have values on 14 of the same days."
                    } else {
                        "No tested pair matches the filter."
                    }}
                </p>
            }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                    <table class="pairs">
                        <caption class="visually-hidden">"Tested pairs, strongest first"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Pair"</th>
                                <th scope="col">"When"</th>
                                <th scope="col">"n (n_eff)"</th>
                                <th scope="col">"r"</th>
                                <th scope="col">"rho"</th>
                                <th scope="col">"p adj."</th>
                                <th scope="col">"q"</th>
                                <th scope="col">"Shown"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows.into_iter().map(|row| view! {
                                <tr class:passes=row.shown>
                                    <th scope="row"><a href=row.href>{row.pair}</a></th>
                                    <td>{row.lag}</td>
                                    <td>{row.n}" ("{row.n_eff}")"</td>
                                    <td>{row.r}</td>
                                    <td>{row.rho}</td>
                                    <td>{row.p_adj}</td>
                                    <td>{row.q}</td>
                                    <td>{if row.shown { "yes" } else { "no" }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::accounts::ssr::{read_pool, require_user};
    use crate::errors::AppError;
    use crate::stats::daily::MEETUPS;
    use std::collections::BTreeMap;

    type Row = (String, String, i16, i32, f64, f64, f64, f64, f64, bool);

    pub async fn pairs(metric: String, shown_only: bool) -> Result<PairsPage, AppError> {
        let user = require_user().await?;
        let pool = read_pool()?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT a, b, lag_days, n, pearson_r, spearman_r, n_eff, p_adj, q, shown
               FROM pair_tests WHERE user_id = $1
              ORDER BY abs(pearson_r) DESC, a, b, lag_days",
        )
        .bind(user.id)
        .fetch_all(&pool)
        .await?;
        // The names of the member's metrics (their own and the catalogue's).
        let names: BTreeMap<String, String> = sqlx::query_as::<_, (String, String)>(
            "SELECT key, name FROM metrics WHERE owner_id IS NULL OR owner_id = $1
              ORDER BY owner_id NULLS FIRST",
        )
        .bind(user.id)
        .fetch_all(&pool)
        .await?
        .into_iter()
        .chain([(MEETUPS.to_string(), "Meetup days".to_string())])
        .collect();
        let name = |key: &str| names.get(key).cloned().unwrap_or_else(|| key.to_string());
        let mut involved: BTreeMap<String, String> = BTreeMap::new();
        for (a, b, ..) in &rows {
            involved.insert(a.clone(), name(a));
            involved.insert(b.clone(), name(b));
        }
        let tested = rows.len();
        let shown = rows.iter().filter(|row| row.9).count();
        let metric = if involved.contains_key(&metric) {
            metric
        } else {
            String::new()
        };
        let thresholds = crate::pipeline::compute::thresholds();
        let rows = rows
            .into_iter()
            .filter(|(a, b, ..)| metric.is_empty() || *a == metric || *b == metric)
            .filter(|row| !shown_only || row.9)
            .map(|(a, b, lag, n, r, rho, n_eff, p_adj, q, shown)| {
                let href = pair_href(&a, &b, lag);
                PairRow {
                    pair: format!(
                        "{} {} {}",
                        name(&a),
                        if lag == 0 { "and" } else { "→" },
                        name(&b).to_lowercase()
                    ),
                    lag: match lag {
                        0 => "same day".to_string(),
                        1 => "1 day later".to_string(),
                        k => format!("{k} days later"),
                    },
                    n,
                    n_eff: format!("{n_eff:.0}"),
                    r: format!("{r:.2}"),
                    rho: format!("{rho:.2}"),
                    p_adj: small(p_adj),
                    q: small(q),
                    shown,
                    href,
                }
            })
            .collect();
        Ok(PairsPage {
            rows,
            tested,
            shown,
            metrics: involved.into_iter().collect(),
            metric,
            shown_only,
            thresholds: format!(
                "q ≤ {} and |r| ≥ {}",
                thresholds.max_q, thresholds.min_abs_r
            ),
        })
    }

    /// The address of a pair's page.
    pub fn pair_href(a: &str, b: &str, lag: i16) -> String {
        format!(
            "/insights/{}/{}/{lag}",
            urlencoding::encode(a),
            urlencoding::encode(b)
        )
    }

    pub use crate::insights::brush::small;
}
