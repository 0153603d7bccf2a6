//! Meetups: the group's upcoming and past events, and the home page that lists them.
//!
//! Times are stored as UTC instants with the IANA zone the event happens in; the server
//! formats them in that zone (see `ssr::format_when`) so the page reads the same with or
//! without JavaScript.

#[cfg(feature = "ssr")]
pub mod ssr;

mod form;
mod manage;
mod page;
pub mod recurrence;
#[cfg(feature = "ssr")]
pub mod report;
#[cfg(feature = "ssr")]
pub mod seats;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod store;
pub mod types;

pub use form::{EditEventPage, NewEventPage};
pub use manage::ManagePage;
pub use page::EventPage;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// A group as the home page introduces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub slug: String,
    pub name: String,
    pub city: String,
    pub time_zone: String,
    pub member_count: i64,
}

/// One meetup, with its time already written out in the event's own time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetupCard {
    pub id: i64,
    pub group_name: String,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    /// "Tuesday, 26 February 2013", in the event's zone.
    pub date_label: String,
    /// "6:30 PM – 8:30 PM PST", in the event's zone.
    pub time_label: String,
    pub time_zone: String,
    pub venue: String,
    pub address: String,
    pub cancelled: bool,
    /// "12 going" before, "9 attended" after (when check-ins were recorded).
    pub people: String,
}

/// Everything the home page shows, fetched in one round trip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeData {
    pub groups: Vec<GroupSummary>,
    /// Soonest first.
    pub upcoming: Vec<MeetupCard>,
    /// Most recent first.
    pub past: Vec<MeetupCard>,
}

#[server(endpoint = "get_home")]
pub async fn get_home() -> Result<HomeData, ServerFnError> {
    let pool = crate::accounts::ssr::pool()?;
    ssr::home_data(&pool, Utc::now()).await.map_err(|error| {
        tracing::error!(error = ?error, "loading the home page failed");
        ServerFnError::new("The meetups could not be loaded just now. Please try again shortly.")
    })
}

/// Which meetups the home page shows; kept in the URL (`?show=past`) so that it survives
/// a reload and works without JavaScript.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    All,
    Upcoming,
    Past,
}

impl Filter {
    pub fn from_query(value: Option<&str>) -> Self {
        match value {
            Some("upcoming") => Filter::Upcoming,
            Some("past") => Filter::Past,
            _ => Filter::All,
        }
    }

    fn href(self) -> &'static str {
        match self {
            Filter::All => "/",
            Filter::Upcoming => "/?show=upcoming",
            Filter::Past => "/?show=past",
        }
    }

    fn includes(self, list: Filter) -> bool {
        self == Filter::All || self == list
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let data = crate::data::load(|| (), |_| get_home());
    // Effects run only in the browser: this flag says the page has been hydrated.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Title formatter=crate::html::page_title text="Meetups" />
        <div class="home" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="loading">"Loading meetups…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <MeetupBoard data /> }.into_any(),
                        Err(error) => view! {
                            <p class="error" role="alert">{error.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn MeetupBoard(data: HomeData) -> impl IntoView {
    let query = use_query_map();
    let show = Memo::new(move |_| Filter::from_query(query.read().get("show").as_deref()));
    let HomeData {
        groups,
        upcoming,
        past,
    } = data;
    let counts = [
        (Filter::All, "All", upcoming.len() + past.len()),
        (Filter::Upcoming, "Upcoming", upcoming.len()),
        (Filter::Past, "Past", past.len()),
    ];

    let tabs = counts
        .into_iter()
        .map(|(which, label, count)| {
            let selected = move || show.get() == which;
            // A plain link: the router still navigates in place once hydrated, and unlike
            // <A> it does not mark every tab current (<A> ignores the query string).
            view! {
                <a
                    href=which.href()
                    class=move || if selected() { "tab selected" } else { "tab" }
                    aria-current=move || selected().then_some("page")
                >
                    {label} " " <span class="count">{count}</span>
                </a>
            }
        })
        .collect_view();

    view! {
        <section class="groups" aria-label="Groups">
            {groups.into_iter().map(|group| view! { <GroupIntro group /> }).collect_view()}
        </section>
        <nav class="tabs" aria-label="Which meetups">{tabs}</nav>
        <Show when=move || show.get().includes(Filter::Upcoming)>
            <MeetupSection
                id="upcoming"
                heading="Upcoming meetups"
                empty="No upcoming meetups are scheduled yet."
                meetups=upcoming.clone()
            />
        </Show>
        <Show when=move || show.get().includes(Filter::Past)>
            <MeetupSection id="past" heading="Past meetups" empty="No past meetups yet." meetups=past.clone() />
        </Show>
    }
}

#[component]
pub fn MeetupSection(
    id: &'static str,
    heading: &'static str,
    empty: &'static str,
    meetups: Vec<MeetupCard>,
) -> impl IntoView {
    let heading_id = format!("{id}-heading");
    let list = if meetups.is_empty() {
        view! { <p class="empty">{empty}</p> }.into_any()
    } else {
        view! {
            <ol class="meetups">
                {meetups.into_iter().map(|meetup| view! { <MeetupItem meetup /> }).collect_view()}
            </ol>
        }
        .into_any()
    };
    let labelled_by = heading_id.clone();
    view! {
        <section class="meetup-section" id=id aria-labelledby=labelled_by>
            <h2 id=heading_id>{heading}</h2>
            {list}
        </section>
    }
}

#[component]
fn GroupIntro(group: GroupSummary) -> impl IntoView {
    let members = match group.member_count {
        1 => "1 member".to_string(),
        n => format!("{n} members"),
    };
    view! {
        <header class="group-intro">
            <h1>{group.name}</h1>
            <p class="group-meta">
                <span>{group.city}</span>
                <span>{members}</span>
                <span>"Times in " {group.time_zone}</span>
            </p>
        </header>
    }
}

#[component]
fn MeetupItem(meetup: MeetupCard) -> impl IntoView {
    let class = if meetup.cancelled {
        "meetup cancelled"
    } else {
        "meetup"
    };
    view! {
        <li class=class data-meetup-id=meetup.id>
            <time class="when" datetime=meetup.starts_at.to_rfc3339()>
                <span class="date">{meetup.date_label}</span>
                <span class="time">{meetup.time_label}</span>
            </time>
            <h3 class="title"><a href=format!("/events/{}", meetup.id)>{meetup.title}</a></h3>
            <p class="where">
                <span class="venue">{meetup.venue}</span>
                {(!meetup.address.is_empty()).then(|| view! { <span class="address">{meetup.address}</span> })}
            </p>
            <p class="meta">
                <span class="group-name">{meetup.group_name}</span>
                {meetup.cancelled.then(|| view! { <span class="status">"Cancelled"</span> })}
                {(!meetup.people.is_empty()).then(|| view! { <span class="people-count">{meetup.people.clone()}</span> })}
            </p>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::Filter;

    #[test]
    fn the_filter_comes_from_the_query_and_defaults_to_all() {
        assert_eq!(Filter::from_query(None), Filter::All);
        assert_eq!(Filter::from_query(Some("past")), Filter::Past);
        assert_eq!(Filter::from_query(Some("upcoming")), Filter::Upcoming);
        assert_eq!(Filter::from_query(Some("nonsense")), Filter::All);
        assert!(Filter::All.includes(Filter::Past));
        assert!(!Filter::Upcoming.includes(Filter::Past));
    }
}
