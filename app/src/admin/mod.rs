//! The instance admin's pages: the job queue (/admin/jobs), the pipeline
//! (/admin/pipeline) and the e-mail outbox (/admin/outbox, in `outbox`).

pub mod outbox;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use outbox::OutboxPage;

use crate::accounts::pages::RequireUser;
use crate::errors::message;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueCount {
    pub queue: String,
    pub state: String,
    pub jobs: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobsOverview {
    pub counts: Vec<QueueCount>,
    /// Failed jobs and jobs that failed at least once, newest first.
    pub troubled: Vec<JobRow>,
}

/// One pipeline stage over the last hour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    /// The stage's job kind (distill, index, compute, group_figures).
    pub stage: String,
    /// Due and waiting now.
    pub backlog: i64,
    /// Due later (group figures wait for the next snapshot time).
    pub scheduled: i64,
    pub running: i64,
    /// Done in the last hour.
    pub done_last_hour: i64,
    /// From due to done, over the jobs done in the last hour.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub failed: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineOverview {
    pub stages: Vec<StageRow>,
    /// The pipeline's failed jobs, newest first.
    pub failed: Vec<JobRow>,
}

/// The pipeline's stages in order: Capture lands in the request itself.
pub const STAGES: [&str; 4] = ["distill", "index", "compute", "group_figures"];

#[server(endpoint = "get_pipeline_overview")]
pub async fn get_pipeline_overview() -> Result<PipelineOverview, ServerFnError> {
    Ok(ssr::pipeline_overview().await?)
}

#[server(endpoint = "get_jobs_overview")]
pub async fn get_jobs_overview() -> Result<JobsOverview, ServerFnError> {
    Ok(ssr::jobs_overview().await?)
}

#[server(endpoint = "retry_job")]
pub async fn retry_job(id: i64) -> Result<(), ServerFnError> {
    Ok(ssr::retry_job(id).await?)
}

#[server(endpoint = "cancel_job")]
pub async fn cancel_job(id: i64) -> Result<(), ServerFnError> {
    Ok(ssr::cancel_job(id).await?)
}

#[component]
pub fn JobsPage() -> impl IntoView {
    view! {
        <Title formatter=crate::html::page_title text="Jobs" />
        <RequireUser><Jobs /></RequireUser>
    }
}

#[component]
fn Jobs() -> impl IntoView {
    let retry = ServerAction::<RetryJob>::new();
    let cancel = ServerAction::<CancelJob>::new();
    let overview = crate::data::load(
        move || (retry.version().get(), cancel.version().get()),
        |_| get_jobs_overview(),
    );
    view! {
        <section class="admin">
            <h1>"Background jobs"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Err(error) => view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
                        Ok(overview) => view! {
                            <table class="data">
                                <caption>"Jobs per queue and state"</caption>
                                <thead><tr><th scope="col">"Queue"</th><th scope="col">"State"</th><th scope="col" class="num">"Jobs"</th></tr></thead>
                                <tbody>
                                    {overview.counts.into_iter().map(|count| view! {
                                        <tr><td>{count.queue}</td><td>{count.state}</td><td class="num">{count.jobs}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <h2>"Recent failures"</h2>
                            {if overview.troubled.is_empty() {
                                view! { <p class="empty">"No failures."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="failures">
                                        {overview.troubled.into_iter().map(|job| view! {
                                            <li>
                                                <p><strong>{job.kind}</strong>" #"{job.id}" · "{job.queue}" · "{job.state.clone()}
                                                   " · attempt "{job.attempts}" of "{job.max_attempts}</p>
                                                <pre class="job-error">{job.last_error.unwrap_or_default()}</pre>
                                                {(job.state == "failed" || job.state == "cancelled").then(|| view! {
                                                    <ActionForm action=retry attr:class="inline">
                                                        <input type="hidden" name="id" value=job.id />
                                                        <button type="submit" class="small">"Retry"</button>
                                                    </ActionForm>
                                                })}
                                                {(job.state == "pending").then(|| view! {
                                                    <ActionForm action=cancel attr:class="inline">
                                                        <input type="hidden" name="id" value=job.id />
                                                        <button type="submit" class="small secondary">"Cancel"</button>
                                                    </ActionForm>
                                                })}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn PipelinePage() -> impl IntoView {
    view! {
        <Title formatter=crate::html::page_title text="Pipeline" />
        <RequireUser><Pipeline /></RequireUser>
    }
}

fn millis(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(ms) if ms >= 10_000.0 => format!("{:.0} s", ms / 1000.0),
        Some(ms) => format!("{ms:.0} ms"),
    }
}

#[component]
fn Pipeline() -> impl IntoView {
    let retry = ServerAction::<RetryJob>::new();
    let overview = crate::data::load(move || retry.version().get(), |_| get_pipeline_overview());
    view! {
        <section class="admin">
            <h1>"Pipeline"</h1>
            <p class="hint">"Capture → Distill → Index → Compute → group figures, as jobs. Latency runs from when a job was due to when it was done, over the last hour."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Err(error) => view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
                        Ok(overview) => view! {
                            <table class="data">
                                <caption>"Stages, last hour"</caption>
                                <thead><tr>
                                    <th scope="col">"Stage"</th><th scope="col" class="num">"Backlog"</th>
                                    <th scope="col" class="num">"Scheduled"</th><th scope="col" class="num">"Running"</th>
                                    <th scope="col" class="num">"Done"</th><th scope="col" class="num">"p50"</th>
                                    <th scope="col" class="num">"p99"</th><th scope="col" class="num">"Failed"</th>
                                </tr></thead>
                                <tbody>
                                    {overview.stages.into_iter().map(|s| view! {
                                        <tr>
                                            <th scope="row">{s.stage}</th><td class="num">{s.backlog}</td>
                                            <td class="num">{s.scheduled}</td><td class="num">{s.running}</td>
                                            <td class="num">{s.done_last_hour}</td><td class="num">{millis(s.p50_ms)}</td>
                                            <td class="num">{millis(s.p99_ms)}</td><td class="num">{s.failed}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <h2>"Failed"</h2>
                            {if overview.failed.is_empty() {
                                view! { <p class="empty">"Nothing failed."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="failures">
                                        {overview.failed.into_iter().map(|job| view! {
                                            <li>
                                                <p><strong>{job.kind}</strong>" #"{job.id}" · attempt "{job.attempts}" of "{job.max_attempts}</p>
                                                <pre class="job-error">{job.last_error.unwrap_or_default()}</pre>
                                                <ActionForm action=retry attr:class="inline">
                                                    <input type="hidden" name="id" value=job.id />
                                                    <button type="submit" class="small">"Retry"</button>
                                                </ActionForm>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
