//! The tracking pages: `/track` (quick log, recent entries, all metrics, a new metric)
//! and `/track/:metric` (settings, sharing, history with filters, edit and delete).

use super::server_fns::*;
use super::types::*;
use super::{Aggregate, Kind};
use crate::accounts::FormErrors;
use crate::errors::message;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

fn login_prompt(error: &ServerFnError, next: String) -> AnyView {
    let text = message(error);
    if text.starts_with("Log in") {
        view! {
            <p class="notice">
                <a href=format!("/login?next={}", urlencoding::encode(&next))>"Log in"</a>
                " to log and see your data."
            </p>
        }
        .into_any()
    } else {
        view! { <p class="error" role="alert">{text}</p> }.into_any()
    }
}

/// Counts an action's successes: pages reload their data on these only, so that a
/// refused form keeps what the member typed.
fn successes<T: 'static>(
    value: impl Fn() -> Option<Result<T, ServerFnError>> + 'static,
) -> RwSignal<u32> {
    let count = RwSignal::new(0u32);
    Effect::new(move |_| {
        if matches!(value(), Some(Ok(_))) {
            count.update(|n| *n += 1);
        }
    });
    count
}

/// `/track`: the quick-log page.
#[component]
pub fn TrackPage() -> impl IntoView {
    let log = ServerAction::<LogEntry>::new();
    let pin = ServerAction::<PinMetric>::new();
    let create = ServerAction::<CreateMetric>::new();
    let logged = successes(move || log.value().get());
    let data = crate::data::load(move || (logged.get(), pin.version().get()), |_| get_track());
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title formatter=crate::html::page_title text="Track" />
        <div class="track" data-hydrated=move || hydrated.get().to_string()>
            <h1>"Track"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading your metrics…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <TrackView data log pin create /> }.into_any(),
                        Err(error) => login_prompt(&error, "/track".into()),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn TrackView(
    data: TrackData,
    log: ServerAction<LogEntry>,
    pin: ServerAction<PinMetric>,
    create: ServerAction<CreateMetric>,
) -> impl IntoView {
    let pinned: Vec<MetricView> = data.metrics.iter().filter(|m| m.pinned).cloned().collect();
    let zone = data.time_zone.clone();
    view! {
        <section class="quick-log" aria-labelledby="log-heading">
            <h2 id="log-heading" class="visually-hidden">"Log a value"</h2>
            <p class="muted">"Times are in " {zone} ". " <a href="/me">"Change"</a></p>
            <div class="log-outcome"><LogResult log /></div>
            {if pinned.is_empty() {
                view! { <p class="muted">"Pin metrics below to log them here."</p> }.into_any()
            } else {
                view! {
                    <div class="log-cards">
                        {pinned.into_iter().map(|metric| view! {
                            <LogCard metric now_local=data.now_local.clone() form_key=data.form_key.clone() log />
                        }).collect_view()}
                    </div>
                }.into_any()
            }}
        </section>
        <Recent items=data.recent.clone() />
        <section class="all-metrics" aria-labelledby="metrics-heading">
            <h2 id="metrics-heading">"Your metrics"</h2>
            <ul class="metric-list">
                {data.metrics.clone().into_iter().map(|metric| {
                    let key = metric.key.clone();
                    let href = format!("/track/{key}");
                    let form_key = key.clone();
                    view! {
                        <li data-metric=key>
                            <a href=href>{metric.name.clone()}</a>
                            {metric.custom.then(|| view! { " "<span class="badge">"yours"</span> })}
                            <span class="muted latest">{metric.latest.clone().unwrap_or_else(|| "nothing logged yet".into())}</span>
                            <ActionForm action=pin attr:class="inline">
                                <input type="hidden" name="key" value=form_key />
                                <input type="hidden" name="pinned" value=(!metric.pinned).to_string() />
                                <button type="submit" class="link small">{if metric.pinned { "Unpin" } else { "Pin" }}</button>
                            </ActionForm>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <div class="pin-outcome">
                {move || pin.value().get().and_then(Result::err).map(|error| view! { <p class="error" role="alert">{message(&error)}</p> })}
            </div>
            <NewMetric create />
            <p class="imports">
                <a href="/track/import" class="button secondary small">"Import a CSV file"</a>
            </p>
            <p class="exports">
                "Download everything you logged: "
                <a href="/track/export.csv" download="cohort-observations.csv">"CSV"</a>" · "
                <a href="/track/export.json" download="cohort-observations.json">"JSON"</a>
            </p>
        </section>
    }
}

/// What the last log did: a confirmation or the reason it was refused.
#[component]
fn LogResult(log: ServerAction<LogEntry>) -> impl IntoView {
    move || match log.value().get() {
        Some(Ok(text)) => {
            Some(view! { <p class="notice log-result" role="status">{text}</p> }.into_any())
        }
        Some(Err(error)) => Some(
            view! { <p class="error log-result" role="alert">{message(&error)}</p> }.into_any(),
        ),
        None => None,
    }
}

/// One pinned metric: one number or one tap to log it, time and note folded away.
#[component]
fn LogCard(
    metric: MetricView,
    now_local: String,
    form_key: String,
    log: ServerAction<LogEntry>,
) -> impl IntoView {
    let key = metric.key.clone();
    let href = format!("/track/{key}");
    let card_key = key.clone();
    let id = format!("log-{key}");
    let name = metric.name.clone();
    let input = match metric.kind {
        Kind::Scale
            if metric
                .min
                .zip(metric.max)
                .is_some_and(|(low, high)| high - low <= 10.0) =>
        {
            let (low, high) = metric.min.zip(metric.max).unwrap_or((1.0, 5.0));
            view! {
                <div class="scale-buttons" role="group" aria-label=format!("{name}, {low} to {high}")>
                    {(low as i64..=high as i64).map(|n| view! {
                        <button type="submit" name="value" value=n.to_string() class="scale">{n}</button>
                    }).collect_view()}
                </div>
            }
            .into_any()
        }
        Kind::YesNo => view! {
            <div class="scale-buttons" role="group" aria-label=name.clone()>
                <button type="submit" name="value" value="yes">"Yes"</button>
                <button type="submit" name="value" value="no" class="secondary">"No"</button>
            </div>
        }
        .into_any(),
        _ => {
            let units = metric.units.clone();
            let display = metric.display_unit.clone();
            let mode = if matches!(metric.kind, Kind::Count | Kind::Scale) {
                "numeric"
            } else {
                "decimal"
            };
            view! {
                <div class="value-row">
                    <input id=id.clone() name="value" inputmode=mode autocomplete="off" required
                        aria-label=format!("{name} value") placeholder=metric.display_label.clone() />
                    {if units.len() > 1 {
                        view! {
                            <select name="unit" aria-label=format!("{name} unit")>
                                {units.into_iter().map(|(code, label)| {
                                    let selected = code == display;
                                    view! { <option value=code selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        }.into_any()
                    } else {
                        view! {
                            <input type="hidden" name="unit" value=display.clone() />
                            <span class="unit">{metric.display_label.clone()}</span>
                        }.into_any()
                    }}
                    <button type="submit">"Log"</button>
                </div>
            }
            .into_any()
        }
    };
    view! {
        <article class="log-card" data-metric=card_key>
            <h3><a href=href>{metric.name.clone()}</a></h3>
            {metric.latest.clone().map(|latest| view! { <p class="muted latest">"Last: "{latest}</p> })}
            {metric.goal.clone().map(|goal| view! { <p class="muted goal">"Goal: "{goal}</p> })}
            <ActionForm action=log attr:class="log-form">
                <input type="hidden" name="metric" value=key />
                <input type="hidden" name="key" value=form_key />
                {input}
                <details class="when-note">
                    <summary>"Time & note"</summary>
                    <label for=format!("{id}-at")>"When"</label>
                    <input id=format!("{id}-at") type="datetime-local" name="at" value=now_local />
                    <label for=format!("{id}-note")>"Note"</label>
                    <input id=format!("{id}-note") name="note" maxlength="2000" placeholder="Add #tags in the note" />
                </details>
            </ActionForm>
        </article>
    }
}

#[component]
fn Recent(items: Vec<RecentItem>) -> impl IntoView {
    view! {
        <section class="recent" aria-labelledby="recent-heading">
            <h2 id="recent-heading">"Recently"</h2>
            {if items.is_empty() {
                view! { <p class="muted">"Nothing logged yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="recent-list">
                        {items.into_iter().map(|item| {
                            let badge = match item.status.as_str() {
                                "pending" => Some("processing"),
                                "refused" => Some("not stored"),
                                _ => None,
                            };
                            view! {
                                <li class=format!("recent-item {}", item.status) data-status=item.status.clone()>
                                    <strong>{item.metric}</strong>" "{item.value}
                                    " "<span class="muted">{item.when}</span>
                                    {badge.map(|text| view! { " "<span class="badge">{text}</span> })}
                                    {(!item.reason.is_empty()).then(|| view! { <br /><span class="reason">{item.reason.clone()}</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn NewMetric(create: ServerAction<CreateMetric>) -> impl IntoView {
    let errors = Memo::new(move |_| match create.value().get() {
        Some(Ok(errors)) => errors,
        Some(Err(error)) => FormErrors::form(message(&error)),
        None => FormErrors::default(),
    });
    let field = move |name: &'static str| {
        move || {
            errors
                .get()
                .field(name)
                .map(|text| view! { <p class="field-error" role="alert">{text}</p> })
        }
    };
    view! {
        <details class="new-metric">
            <summary>"Add your own metric"</summary>
            <ActionForm action=create attr:class="form">
                <label for="metric-name">"Name"</label>
                <input id="metric-name" name="name" required maxlength="80" placeholder="Cold showers" />
                {field("name")}
                <label for="metric-kind">"Kind"</label>
                <select id="metric-kind" name="kind">
                    {Kind::ALL.into_iter().map(|kind| view! { <option value=kind.code()>{kind.label()}</option> }).collect_view()}
                </select>
                {field("kind")}
                <label for="metric-unit">"Unit (kg, min, mg/dL, or your own: pages, cups)"</label>
                <input id="metric-unit" name="unit" maxlength="20" />
                {field("unit")}
                <label for="metric-aggregate">"A day's values"</label>
                <select id="metric-aggregate" name="aggregate">
                    {Aggregate::ALL.into_iter().map(|agg| view! { <option value=agg.code()>{agg.label()}</option> }).collect_view()}
                </select>
                {field("aggregate")}
                <div class="pair">
                    <div>
                        <label for="metric-min">"Lowest (optional)"</label>
                        <input id="metric-min" name="min" inputmode="decimal" />
                        {field("min")}
                    </div>
                    <div>
                        <label for="metric-max">"Highest (optional)"</label>
                        <input id="metric-max" name="max" inputmode="decimal" />
                        {field("max")}
                    </div>
                </div>
                <label for="metric-goal">"Daily goal (optional)"</label>
                <input id="metric-goal" name="goal" inputmode="decimal" />
                {field("goal")}
                <button type="submit">"Add metric"</button>
                {move || errors.get().form.map(|text| view! { <p class="error" role="alert">{text}</p> })}
            </ActionForm>
        </details>
    }
}

/// `/track/:metric`: one metric's settings, sharing and history.
#[component]
pub fn MetricPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let log = ServerAction::<LogEntry>::new();
    let save = ServerAction::<SaveEntry>::new();
    let delete = ServerAction::<DeleteEntry>::new();
    let exclude = ServerAction::<ExcludeEntry>::new();
    let settings = ServerAction::<SaveMetricSettings>::new();
    let share = ServerAction::<ShareMetric>::new();
    let annotate = ServerAction::<AnnotateDay>::new();
    let noted = successes(move || annotate.value().get());
    let (logged, saved, configured) = (
        successes(move || log.value().get()),
        successes(move || save.value().get()),
        successes(move || settings.value().get()),
    );
    let data = crate::data::load(
        move || {
            let query = query.read();
            (
                params.read().get("metric").unwrap_or_default(),
                query.get("from"),
                query.get("to"),
                query.get("search"),
                query.get("page").and_then(|page| page.parse::<i64>().ok()),
                logged.get()
                    + saved.get()
                    + (delete.version().get() + exclude.version().get()) as u32,
                configured.get() as usize + share.version().get() + noted.get() as usize,
            )
        },
        |(key, from, to, search, page, ..)| get_metric_page(key, from, to, search, page),
    );
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let actions = MetricActions {
        log,
        save,
        delete,
        exclude,
        settings,
        share,
        annotate,
    };
    view! {
        <div class="track metric-page" data-hydrated=move || hydrated.get().to_string()>
            <p class="crumbs"><a href="/track">"Track"</a></p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <MetricView data actions /> }.into_any(),
                        Err(error) => view! {
                            <Title formatter=crate::html::page_title text="Metric" />
                            {login_prompt(&error, format!("/track/{}", params.read_untracked().get("metric").unwrap_or_default()))}
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[derive(Clone, Copy)]
struct MetricActions {
    log: ServerAction<LogEntry>,
    save: ServerAction<SaveEntry>,
    delete: ServerAction<DeleteEntry>,
    exclude: ServerAction<ExcludeEntry>,
    settings: ServerAction<SaveMetricSettings>,
    share: ServerAction<ShareMetric>,
    annotate: ServerAction<AnnotateDay>,
}

fn error_of<T: 'static>(
    value: impl Fn() -> Option<Result<T, ServerFnError>> + 'static,
) -> impl Fn() -> Option<AnyView> {
    move || {
        value()
            .and_then(Result::err)
            .map(|error| view! { <p class="error" role="alert">{message(&error)}</p> }.into_any())
    }
}

#[component]
fn MetricView(data: MetricData, actions: MetricActions) -> impl IntoView {
    let metric = data.metric.clone();
    let key = metric.key.clone();
    let page_link = {
        let (key, from, to, search) = (
            key.clone(),
            data.from.clone(),
            data.to.clone(),
            data.search.clone(),
        );
        move |page: i64| {
            format!(
                "/track/{key}?from={}&to={}&search={}&page={page}",
                urlencoding::encode(&from),
                urlencoding::encode(&to),
                urlencoding::encode(&search)
            )
        }
    };
    let (settings_key, share_key) = (key.clone(), key.clone());
    let summary = format!(
        "{} · {} · a day's values: {}",
        metric.display_label,
        kind_word(metric.kind),
        metric.aggregate.code()
    );
    view! {
        <Title formatter=crate::html::page_title text=metric.name.clone() />
        <h1>{metric.name.clone()}</h1>
        <p class="muted">{summary}</p>
        <LogResult log=actions.log />
        <div class="log-cards single">
            <LogCard metric=metric.clone() now_local=data.now_local.clone() form_key=data.form_key.clone() log=actions.log />
        </div>
        {data.chart.clone().map(|chart| {
            let figure = match data.brush.clone() {
                Some(brush) => view! { <crate::insights::brush::BrushedChart chart brush /> }.into_any(),
                None => view! { <crate::insights::svg::ChartView chart /> }.into_any(),
            };
            view! { <section class="chart-section" aria-label="Chart">{figure}</section> }.into_any()
        })}
        <DayNotes notes=data.day_notes.clone() today=data.now_local.chars().take(10).collect() annotate=actions.annotate />
        {view! { <crate::insights::band::GroupBands bands=data.groups.clone() /> }.into_any()}
        {(!data.patterns.is_empty() || !data.records.is_empty()).then(|| view! {
            <section class="patterns" aria-labelledby="patterns-heading">
                <h2 id="patterns-heading">"Patterns"</h2>
                {(!data.records.is_empty()).then(|| view! {
                    <dl class="records">
                        {data.records.clone().into_iter().map(|(what, value)| view! {
                            <div><dt>{what}</dt><dd>{value}</dd></div>
                        }).collect_view()}
                    </dl>
                })}
                {data.patterns.clone().into_iter().map(|chart| view! { <crate::insights::svg::ChartView chart /> }).collect_view()}
            </section>
        }.into_any())}
        <section class="history" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            <form method="get" class="filters" action=format!("/track/{key}")>
                <label>"From "<input type="date" name="from" value=data.from.clone() /></label>
                <label>"To "<input type="date" name="to" value=data.to.clone() /></label>
                <label>"Notes with "<input type="search" name="search" value=data.search.clone() maxlength="100" placeholder="words, like walk hills" /></label>
                <button type="submit" class="secondary small">"Filter"</button>
            </form>
            <p class="history-count">{match data.total { 1 => "1 entry".to_string(), n => format!("{n} entries") }}</p>
            {error_of(move || actions.save.value().get())}
            {error_of(move || actions.delete.value().get())}
            {error_of(move || actions.exclude.value().get())}
            <ul class="entries">
                {data.entries.into_iter().map(|entry| {
                    let units = metric.units.clone();
                    let display = metric.display_unit.clone();
                    view! {
                        <li class="entry" data-entry=entry.id>
                            <span class="value">{entry.value.clone()}</span>
                            " "<span class="muted">{entry.when.clone()}</span>
                            {(entry.source != "quick_log").then(|| view! { " "<span class="badge">{entry.source.replace('_', " ")}</span> })}
                            {entry.outlier.then(|| view! {
                                " "<span class="badge warning" title="Far from your usual values for this metric">"unusual"</span>
                            })}
                            {entry.excluded.then(|| view! { " "<span class="badge">"left out of statistics"</span> })}
                            {(!entry.note.is_empty()).then(|| view! { <p class="note">{entry.note.clone()}</p> })}
                            <details class="edit-entry">
                                <summary>"Edit"</summary>
                                <ActionForm action=actions.save attr:class="form compact">
                                    <input type="hidden" name="id" value=entry.id />
                                    <label>"Value "<input name="value" value=entry.value_input.clone() required /></label>
                                    {if units.len() > 1 {
                                        view! {
                                            <select name="unit" aria-label="Unit">
                                                {units.into_iter().map(|(code, label)| {
                                                    let selected = code == display;
                                                    view! { <option value=code selected=selected>{label}</option> }
                                                }).collect_view()}
                                            </select>
                                        }.into_any()
                                    } else {
                                        view! { <input type="hidden" name="unit" value=display.clone() /> }.into_any()
                                    }}
                                    <label>"When "<input type="datetime-local" name="at" value=entry.when_input.clone() required /></label>
                                    <label>"Note "<input name="note" value=entry.note.clone() maxlength="2000" /></label>
                                    <button type="submit" class="small">"Save"</button>
                                </ActionForm>
                            </details>
                            {(entry.outlier || entry.excluded).then(|| view! {
                                <ActionForm action=actions.exclude attr:class="inline">
                                    <input type="hidden" name="id" value=entry.id />
                                    <input type="hidden" name="excluded" value=(!entry.excluded).to_string() />
                                    <button type="submit" class="link small">
                                        {if entry.excluded { "Count it again" } else { "Leave out of statistics" }}
                                    </button>
                                </ActionForm>
                            })}
                            <ActionForm action=actions.delete attr:class="inline">
                                <input type="hidden" name="id" value=entry.id />
                                <button type="submit" class="link small danger-link">"Delete"</button>
                            </ActionForm>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(data.pages > 1).then(|| view! {
                <nav class="pager" aria-label="Pages">
                    {(data.page > 1).then(|| view! { <a href=page_link(data.page - 1) rel="prev">"← Newer"</a> })}
                    <span class="muted">"Page "{data.page}" of "{data.pages}</span>
                    {(data.page < data.pages).then(|| view! { <a href=page_link(data.page + 1) rel="next">"Older →"</a> })}
                </nav>
            })}
        </section>
        <section class="metric-settings" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            <ActionForm action=actions.settings attr:class="form">
                <input type="hidden" name="key" value=settings_key />
                {(metric.units.len() > 1).then(|| view! {
                    <label for="display-unit">"Show in"</label>
                    <select id="display-unit" name="display_unit">
                        {metric.units.iter().map(|(code, label)| view! {
                            <option value=code.clone() selected=*code == metric.display_unit>{label.clone()}</option>
                        }).collect_view()}
                    </select>
                })}
                <label for="goal">"Daily goal (" {metric.display_label.clone()} ")"</label>
                <input id="goal" name="goal" inputmode="decimal" value=metric.goal_input.clone() />
                <label class="check"><input type="checkbox" name="pinned" value="true" checked=metric.pinned />" On the quick-log page"</label>
                <button type="submit">"Save settings"</button>
            </ActionForm>
            {error_of(move || actions.settings.value().get())}
            {move || matches!(actions.settings.value().get(), Some(Ok(()))).then(|| view! { <p class="notice" role="status">"Saved."</p> })}
        </section>
        <section class="sharing" aria-labelledby="sharing-heading">
            <h2 id="sharing-heading">"Sharing"</h2>
            <p class="muted">
                "Private unless you share it. “Group figures only” adds your values, unnamed, to the group's "
                "statistics (shown only when enough members take part); “Members see it” lets the group's members see your values."
            </p>
            {if data.shares.is_empty() {
                view! { <p class="muted">"Join a group to share with it."</p> }.into_any()
            } else {
                view! {
                    <ul class="shares">
                        {data.shares.into_iter().map(|share| {
                            let (metric_key, slug) = (share_key.clone(), share.group_slug.clone());
                            view! {
                            <li data-group=share.group_slug.clone()>
                                <ActionForm action=actions.share attr:class="inline share-form">
                                    <input type="hidden" name="key" value=metric_key />
                                    <input type="hidden" name="group_slug" value=slug />
                                    <label>{share.group_name.clone()}" "
                                        <select name="level">
                                            <option value="private" selected=share.level == "private">"Private"</option>
                                            <option value="aggregate" selected=share.level == "aggregate">"Group figures only"</option>
                                            <option value="members" selected=share.level == "members">"Members see it"</option>
                                        </select>
                                    </label>
                                    <button type="submit" class="small secondary">"Save"</button>
                                </ActionForm>
                            </li>
                        }}).collect_view()}
                    </ul>
                }.into_any()
            }}
            {error_of(move || actions.share.value().get())}
        </section>
    }
}

/// The member's notes on the chart's days, numbered as the chart marks them, each with
/// "Remove"; and the form that notes a day (today unless another is picked).
#[component]
fn DayNotes(
    notes: Vec<DayNote>,
    today: String,
    annotate: ServerAction<AnnotateDay>,
) -> impl IntoView {
    let list = if notes.is_empty() {
        view! {
            <p class="muted">
                "Note a day (a trip, a new supplement, a cold) and it is marked on the charts of all your metrics. Only you see it."
            </p>
        }
        .into_any()
    } else {
        view! {
            <ol>
                {notes.into_iter().map(|note| {
                    let day = note.day.clone();
                    view! {
                    <li data-day=note.day>
                        <span class="muted">{note.label}</span>": "<span class="text">{note.note}</span>" "
                        <ActionForm action=annotate attr:class="inline">
                            <input type="hidden" name="day" value=day />
                            <input type="hidden" name="note" value="" />
                            <button type="submit" class="link small danger-link">"Remove"</button>
                        </ActionForm>
                    </li>
                }}).collect_view()}
            </ol>
        }
        .into_any()
    };
    view! {
        <section class="day-notes" aria-labelledby="day-notes-heading">
            <h2 id="day-notes-heading">"Notes on days"</h2>
            {list}
            <ActionForm action=annotate attr:class="day-note-form">
                <label>"Day"<input type="date" name="day" value=today required /></label>
                <label>"Note"<input name="note" maxlength="140" required placeholder="started magnesium" /></label>
                <button type="submit" class="small">"Note this day"</button>
            </ActionForm>
            {error_of(move || annotate.value().get())}
        </section>
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Quantity => "quantity",
        Kind::Scale => "scale",
        Kind::Count => "count",
        Kind::Duration => "duration",
        Kind::YesNo => "yes / no",
    }
}
