//! The import pages: `/track/import` (upload a CSV file, see past imports) and
//! `/track/import/:id` (preview, map the columns, then a live progress bar and the rows
//! that could not be imported, by line). The upload and the start are plain form posts
//! to server routes (`server/src/imports.rs`), so they work without JavaScript too.

use crate::errors::message;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

/// One import, as its page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportView {
    pub id: i64,
    pub filename: String,
    pub size: String,
    /// "uploaded", "queued", "running", "done" or "failed".
    pub status: String,
    pub headers: Vec<String>,
    pub preview: Vec<Vec<String>>,
    /// Per column, its role now: "ignore", "time", "metric", "value", "unit", "note" or
    /// "m:KEY" (a metric's column in a wide file).
    pub roles: Vec<String>,
    pub time_zone: String,
    /// (key, name) of every metric the member can import into.
    pub metrics: Vec<(String, String)>,
    /// 0 to 100.
    pub percent: f64,
    pub rows_done: i64,
    pub accepted: i64,
    pub duplicates: i64,
    pub rejected: i64,
    /// Records of kinds Cohort does not track.
    pub skipped: i64,
    /// "csv" or "apple_health".
    pub kind: String,
    /// The first rows that could not be imported: (line, why).
    pub errors: Vec<(i64, String)>,
    pub error: Option<String>,
    pub created: String,
}

/// A past import in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub id: i64,
    pub filename: String,
    pub status: String,
    pub accepted: i64,
    pub rejected: i64,
    pub created: String,
}

#[server(endpoint = "get_import")]
pub async fn get_import(id: i64) -> Result<ImportView, ServerFnError> {
    Ok(ssr::import_view(id).await?)
}

#[server(endpoint = "list_imports")]
pub async fn list_imports() -> Result<Vec<ImportSummary>, ServerFnError> {
    Ok(ssr::list().await?)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{ImportSummary, ImportView};
    use crate::accounts::ssr::{pool, require_user};
    use crate::errors::{not_found, AppError};
    use crate::track::catalogue::member_metrics;
    use crate::track::csv::Mapping;
    use crate::track::ssr::when_label;
    use chrono::{DateTime, Utc};

    /// The roles of each column under a mapping (see `ImportView::roles`).
    pub fn roles(mapping: &Mapping, columns: usize) -> Vec<String> {
        (0..columns)
            .map(|column| {
                let is = |slot: Option<usize>| slot == Some(column);
                if is(mapping.time) {
                    "time".into()
                } else if is(mapping.metric) {
                    "metric".into()
                } else if is(mapping.value) {
                    "value".into()
                } else if is(mapping.unit) {
                    "unit".into()
                } else if is(mapping.note) {
                    "note".into()
                } else if let Some((_, key, _)) = mapping.wide.iter().find(|(c, ..)| *c == column) {
                    format!("m:{key}")
                } else {
                    "ignore".into()
                }
            })
            .collect()
    }

    fn size_label(bytes: i64) -> String {
        match bytes {
            0..1_024 => format!("{bytes} bytes"),
            1_024..1_048_576 => format!("{:.0} KB", bytes as f64 / 1024.0),
            _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
        }
    }

    type Row = (
        i64,
        String,
        i64,
        String,
        serde_json::Value,
        serde_json::Value,
        Option<serde_json::Value>,
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<String>,
        DateTime<Utc>,
        i64,
        String,
    );

    pub async fn import_view(id: i64) -> Result<ImportView, AppError> {
        let user = require_user().await?;
        let pool = pool()?;
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, filename, size_bytes, status, headers, preview, mapping, bytes_done,
                    rows_done, accepted, duplicates, rejected, error, created_at, skipped, kind
               FROM imports WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user.id)
        .fetch_optional(&pool)
        .await?;
        let (
            id,
            filename,
            size,
            status,
            headers,
            preview,
            mapping,
            bytes_done,
            rows_done,
            accepted,
            duplicates,
            rejected,
            error,
            created,
            skipped,
            kind,
        ) = row.ok_or_else(|| not_found("import"))?;
        let headers: Vec<String> = serde_json::from_value(headers).unwrap_or_default();
        let mapping: Mapping = mapping
            .and_then(|m| serde_json::from_value(m).ok())
            .unwrap_or_default();
        let errors: Vec<(i64, String)> = sqlx::query_as(
            "SELECT line, message FROM import_errors WHERE user_id = $2 AND import_id = $1
              ORDER BY line, message LIMIT 50",
        )
        .bind(id)
        .bind(user.id)
        .fetch_all(&pool)
        .await?;
        let metrics = {
            let mut conn = pool.acquire().await?;
            member_metrics(&mut conn, user.id)
                .await?
                .into_iter()
                .map(|m| (m.key, m.name))
                .collect()
        };
        let percent = match status.as_str() {
            "done" => 100.0,
            _ if size > 0 => (bytes_done as f64 * 100.0 / size as f64).clamp(0.0, 99.9),
            _ => 0.0,
        };
        Ok(ImportView {
            id,
            filename,
            size: size_label(size),
            status,
            roles: roles(&mapping, headers.len()),
            headers,
            preview: serde_json::from_value(preview).unwrap_or_default(),
            time_zone: if mapping.time_zone.is_empty() {
                user.time_zone.clone()
            } else {
                mapping.time_zone.clone()
            },
            metrics,
            percent,
            rows_done,
            accepted,
            duplicates,
            rejected,
            skipped,
            kind,
            errors,
            error,
            created: when_label(created, &user.time_zone, Utc::now()),
        })
    }

    pub async fn list() -> Result<Vec<ImportSummary>, AppError> {
        let user = require_user().await?;
        let rows: Vec<(i64, String, String, i64, i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, filename, status, accepted, rejected, created_at FROM imports
              WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20",
        )
        .bind(user.id)
        .fetch_all(&pool()?)
        .await?;
        let now = Utc::now();
        Ok(rows
            .into_iter()
            .map(
                |(id, filename, status, accepted, rejected, created)| ImportSummary {
                    id,
                    filename,
                    status,
                    accepted,
                    rejected,
                    created: when_label(created, &user.time_zone, now),
                },
            )
            .collect())
    }
}

fn login_or_error(error: &ServerFnError, next: &str) -> AnyView {
    let text = message(error);
    if text.starts_with("Log in") {
        view! { <p class="notice"><a href=format!("/login?next={}", urlencoding::encode(next))>"Log in"</a>" to import your data."</p> }.into_any()
    } else {
        view! { <p class="error" role="alert">{text}</p> }.into_any()
    }
}

/// `/track/import`.
#[component]
pub fn ImportPage() -> impl IntoView {
    let query = use_query_map();
    let imports = crate::data::load(|| (), |_| list_imports());
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title formatter=crate::html::page_title text="Import" />
        <div class="track import-page" data-hydrated=move || hydrated.get().to_string()>
            <p class="crumbs"><a href="/track">"Track"</a></p>
            <h1>"Import your data"</h1>
            <p class="muted">
                "One row per reading (a time, a metric, a value and maybe a unit and a note), or one row per day "
                "with a column per metric (“Steps”, “Weight (lb)”). You will see the first rows and choose what "
                "each column is before anything is imported. Importing the same file again adds nothing."
            </p>
            <p class="muted">
                "From an iPhone: Health, your picture, “Export All Health Data”; unzip the export and upload its "
                <code>"export.xml"</code>". Steps, sleep, weight, body fat, heart rate, resting heart rate, active "
                "energy, walking distance, blood glucose, body temperature, caffeine, exercise and mindful minutes are imported."
            </p>
            {move || query.read().get("error").map(|error| view! { <p class="error" role="alert">{error}</p> })}
            <form method="post" action="/track/import" enctype="multipart/form-data" class="form upload-form">
                <label for="import-file">"CSV file, or Apple Health's export.xml (up to 256 MB)"</label>
                <input id="import-file" type="file" name="file" accept=".csv,.tsv,.txt,.xml,text/csv,text/xml" required />
                <button type="submit">"Upload and preview"</button>
            </form>
            <h2>"Your imports"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match imports.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"None yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="import-list">
                                {list.into_iter().map(|import| view! {
                                    <li>
                                        <a href=format!("/track/import/{}", import.id)>{import.filename.clone()}</a>
                                        " "<span class="badge">{import.status.clone()}</span>
                                        " "<span class="muted">{import.created.clone()}" · "{import.accepted}" added"
                                        {(import.rejected > 0).then(|| format!(" · {} not imported", import.rejected))}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => login_or_error(&error, "/track/import"),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// `/track/import/:id`.
#[component]
pub fn ImportStatusPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    // While the import runs, the page asks again every half second.
    let tick = RwSignal::new(0u32);
    let running = RwSignal::new(false);
    let import = crate::data::load(move || (id(), tick.get()), |(id, _)| get_import(id));
    Effect::new(move |_| {
        if let Some(Ok(view)) = import.get() {
            running.set(matches!(view.status.as_str(), "queued" | "running"));
        }
    });
    Effect::new(move |_| {
        if running.get() {
            set_timeout(
                move || tick.update(|n| *n += 1),
                std::time::Duration::from_millis(500),
            );
        }
    });
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title formatter=crate::html::page_title text="Import" />
        <div class="track import-page" data-hydrated=move || hydrated.get().to_string()>
            <p class="crumbs"><a href="/track">"Track"</a>" · "<a href="/track/import">"Import"</a></p>
            {move || query.read().get("error").map(|error| view! { <p class="error" role="alert">{error}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match import.await {
                        Ok(view) => view! { <ImportDetail import=view /> }.into_any(),
                        Err(error) => login_or_error(&error, "/track/import"),
                    }
                })}
            </Transition>
        </div>
    }
}

const ROLES: [(&str, &str); 6] = [
    ("ignore", "Skip"),
    ("time", "Date / time"),
    ("metric", "Metric name"),
    ("value", "Value"),
    ("unit", "Unit"),
    ("note", "Note"),
];

#[component]
fn ImportDetail(import: ImportView) -> impl IntoView {
    let id = import.id;
    let mapping = import.status == "uploaded" || import.status == "failed";
    let progress = (!mapping || import.status == "failed").then(|| {
        let percent = import.percent;
        let read = if import.kind == "apple_health" { "records read" } else { "rows read" };
        let mut counts = format!(
            "{} {read} · {} added · {} already there · {} not imported",
            import.rows_done, import.accepted, import.duplicates, import.rejected
        );
        if import.skipped > 0 {
            counts.push_str(&format!(" · {} of kinds Cohort does not track", import.skipped));
        }
        view! {
            <section class="import-progress" aria-label="Progress">
                <progress max="100" value=format!("{percent:.1}") aria-label="Import progress"></progress>
                <p class="percent"><strong>{format!("{percent:.0}%")}</strong>" "
                    <span class="status" data-status=import.status.clone()>{match import.status.as_str() {
                        "queued" => "waiting to start",
                        "running" => "importing…",
                        "done" => "done",
                        "failed" => "stopped",
                        other => other,
                    }.to_string()}</span>
                </p>
                <p class="counts">{counts}</p>
                {import.error.clone().map(|error| view! { <p class="error" role="alert">{error}</p> })}
                {(import.status == "done").then(|| view! { <p><a href="/track">"See what you logged"</a></p> })}
            </section>
        }
        .into_any()
    });
    let errors = (!import.errors.is_empty()).then(|| {
        view! {
            <section class="import-errors">
                <h2>"Rows not imported"</h2>
                <p class="muted">"Fix them in the file and import it again: rows already imported are not added twice."</p>
                <ul>
                    {import.errors.iter().map(|(line, why)| view! { <li><strong>"Line "{*line}</strong>": "{why.clone()}</li> }).collect_view()}
                </ul>
                {(import.rejected > import.errors.len() as i64).then(|| view! {
                    <p class="muted">{format!("and {} more", import.rejected - import.errors.len() as i64)}</p>
                })}
            </section>
        }
        .into_any()
    });
    let metrics = import.metrics.clone();
    view! {
        <h1>{import.filename.clone()}</h1>
        <p class="muted">{import.size.clone()}" · uploaded "{import.created.clone()}</p>
        {progress}
        {mapping.then(|| view! {
            <form method="post" action=format!("/track/import/{id}/start") class="mapping-form">
                <p>"Say what each column holds, check the first rows, then import."</p>
                <div class="table-scroll">
                    <table class="preview">
                        <thead>
                            <tr>
                                {import.headers.iter().enumerate().map(|(column, header)| {
                                    let role = import.roles.get(column).cloned().unwrap_or_default();
                                    view! {
                                        <th scope="col">
                                            <span class="header">{header.clone()}</span>
                                            <select name=format!("col{column}") aria-label=format!("Column {}: {header}", column + 1)>
                                                {ROLES.iter().map(|(value, label)| view! {
                                                    <option value=*value selected=role == *value>{*label}</option>
                                                }).collect_view()}
                                                <optgroup label="A column of this metric">
                                                    {metrics.iter().map(|(key, name)| {
                                                        let value = format!("m:{key}");
                                                        view! { <option value=value.clone() selected=role == value>{name.clone()}</option> }
                                                    }).collect_view()}
                                                </optgroup>
                                            </select>
                                        </th>
                                    }
                                }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {import.preview.iter().map(|row| view! {
                                <tr>{row.iter().map(|cell| view! { <td>{cell.clone()}</td> }).collect_view()}</tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <label for="import-zone">"Times without a zone are in"</label>
                <input id="import-zone" name="time_zone" value=import.time_zone.clone() />
                <button type="submit">"Import"</button>
            </form>
        }.into_any())}
        {errors}
    }
}
