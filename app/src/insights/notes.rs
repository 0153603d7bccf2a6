//! "Search my notes", on the dashboard: Index's full-text search (the GIN index
//! `observations_note_search` over the words of every note) over every note the member
//! wrote, every word as a prefix, newest first.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One entry whose note matched a search of the member's notes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoteHit {
    pub metric: String,
    /// The metric's page, filtered by the same search.
    pub href: String,
    /// "Tue 1 Dec 2026 07:00", in the member's zone.
    pub when: String,
    pub value: String,
    pub note: String,
}

/// A search of every note the member wrote (Index's full-text search).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoteSearch {
    pub search: String,
    /// Newest first, at most [`NOTE_HITS`].
    pub hits: Vec<NoteHit>,
    /// How many entries matched in all.
    pub total: i64,
}

/// Matching notes shown at most.
pub const NOTE_HITS: i64 = 20;

/// "Search my notes": a GET form (the search is in the URL, and works without
/// JavaScript) and what it found.
#[component]
pub fn NotesSearch(notes: Option<NoteSearch>) -> impl IntoView {
    let search = notes.as_ref().map(|n| n.search.clone()).unwrap_or_default();
    view! {
        <section aria-labelledby="notes-heading" class="note-search">
            <h2 id="notes-heading">"Search my notes"</h2>
            <form method="get" action="/dashboard" class="filters" role="search">
                <label for="notes-search" class="visually-hidden">"Words in your notes"</label>
                <input id="notes-search" type="search" name="notes" value=search maxlength="100" placeholder="words, like walk hills" />
                <button type="submit" class="secondary small">"Search"</button>
            </form>
            {notes.map(|found| {
                let summary = match found.total {
                    0 => format!("No note has “{}”.", found.search),
                    1 => "1 entry.".to_string(),
                    n if n > NOTE_HITS => format!("{n} entries; the newest {NOTE_HITS}:"),
                    n => format!("{n} entries."),
                };
                view! {
                    <p class="muted" role="status">{summary}</p>
                    <ul class="note-hits">
                        {found.hits.into_iter().map(|hit| view! {
                            <li>
                                <a href=hit.href>{hit.metric}</a>" · "{hit.value}" · "<span class="muted">{hit.when}</span>
                                <p class="note">{hit.note}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }
            })}
        </section>
    }
    .into_any()
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::errors::AppError;
    use std::collections::HashMap;

    /// The member's entries whose note has every word of `search` (as a prefix).
    pub async fn search(
        conn: &mut sqlx::PgConnection,
        user_id: i64,
        zone: &str,
        search: &str,
    ) -> Result<Option<NoteSearch>, AppError> {
        if search.is_empty() {
            return Ok(None);
        }
        let search: String = search.chars().take(100).collect();
        let Some(pattern) = crate::track::ssr::prefix_query(&search) else {
            return Ok(Some(NoteSearch {
                search,
                hits: Vec::new(),
                total: 0,
            }));
        };
        // The newest hits and, in the same scan, how many matched in all.
        type Hit = (i64, chrono::DateTime<chrono::Utc>, f64, String, i64);
        let rows: Vec<Hit> = sqlx::query_as(concat!(
            "SELECT metric_id, observed_at, value, note, count(*) OVER () FROM observations
              WHERE user_id = $1 AND ",
            crate::track::ssr::note_matches!("$2"),
            " ORDER BY observed_at DESC, id DESC LIMIT $3"
        ))
        .bind(user_id)
        .bind(&pattern)
        .bind(NOTE_HITS)
        .fetch_all(&mut *conn)
        .await?;
        let total = rows.first().map_or(0, |row| row.4);
        let metrics: HashMap<i64, crate::track::catalogue::MetricRow> =
            crate::track::catalogue::member_metrics(conn, user_id)
                .await?
                .into_iter()
                .map(|m| (m.id, m))
                .collect();
        let tz: Option<chrono_tz::Tz> = zone.parse().ok();
        let hits = rows
            .into_iter()
            .filter_map(|(metric_id, at, value, note, _)| {
                let metric = metrics.get(&metric_id)?;
                let when = match tz {
                    Some(tz) => at
                        .with_timezone(&tz)
                        .format("%a %-d %b %Y %H:%M")
                        .to_string(),
                    None => at.format("%a %-d %b %Y %H:%M UTC").to_string(),
                };
                Some(NoteHit {
                    metric: metric.name.clone(),
                    href: format!(
                        "/track/{}?search={}",
                        urlencoding::encode(&metric.key),
                        urlencoding::encode(&search)
                    ),
                    when,
                    value: metric.show(value),
                    note,
                })
            })
            .collect();
        Ok(Some(NoteSearch {
            search,
            hits,
            total,
        }))
    }
}
