//! Groups: the list of groups on this instance, a group's page, joining, leaving, and
//! organizers promoting members.

#[cfg(feature = "ssr")]
pub mod ssr;

use crate::errors::message;
use crate::events::MeetupSection;
use crate::policy::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCard {
    pub slug: String,
    pub name: String,
    pub city: String,
    pub member_count: i64,
    pub my_role: Option<Role>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub user_id: i64,
    pub display_name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetail {
    pub slug: String,
    pub name: String,
    pub city: String,
    pub time_zone: String,
    pub description: String,
    pub member_count: i64,
    pub logged_in: bool,
    pub my_role: Option<Role>,
    pub can_join: bool,
    pub can_leave: bool,
    pub can_promote: bool,
    /// Only for those allowed to see who belongs.
    pub members: Option<Vec<MemberRow>>,
    pub can_manage_events: bool,
    pub upcoming: Vec<crate::events::MeetupCard>,
    pub past: Vec<crate::events::MeetupCard>,
}

#[server(endpoint = "list_groups")]
pub async fn list_groups() -> Result<Vec<GroupCard>, ServerFnError> {
    Ok(ssr::list_groups().await?)
}

#[server(endpoint = "get_group")]
pub async fn get_group(slug: String) -> Result<GroupDetail, ServerFnError> {
    Ok(ssr::group_detail(slug).await?)
}

#[server(endpoint = "join_group")]
pub async fn join_group(slug: String) -> Result<(), ServerFnError> {
    Ok(ssr::join_group(slug).await?)
}

#[server(endpoint = "leave_group")]
pub async fn leave_group(slug: String) -> Result<(), ServerFnError> {
    Ok(ssr::leave_group(slug).await?)
}

/// An instance admin opens a new group and becomes its first organizer.
#[server(endpoint = "create_group")]
pub async fn create_group(
    name: String,
    slug: String,
    city: String,
    time_zone: String,
) -> Result<crate::accounts::FormErrors, ServerFnError> {
    Ok(ssr::create_group(name, slug, city, time_zone).await?)
}

/// A group's address part: lower-case letters, digits and single hyphens.
pub fn parse_slug(input: &str) -> Result<String, String> {
    let slug = input.trim().to_lowercase();
    let valid = (2..=60).contains(&slug.len())
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if valid {
        Ok(slug)
    } else {
        Err("Use 2 to 60 lower-case letters, digits and single hyphens, like qs-north-bay.".into())
    }
}

#[server(endpoint = "promote_member")]
pub async fn promote_member(slug: String, user_id: i64) -> Result<(), ServerFnError> {
    Ok(ssr::promote_member(slug, user_id).await?)
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let create = ServerAction::<CreateGroup>::new();
    let groups = crate::data::load(move || create.version().get(), |_| list_groups());
    let auth = expect_context::<crate::Auth>();
    view! {
        <Title formatter=crate::html::page_title text="Groups" />
        <h1>"Groups"</h1>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                matches!(auth.user.await, Ok(Some(user)) if user.is_admin).then(|| view! { <NewGroupForm action=create /> })
            })}
        </Transition>
        <Suspense fallback=|| view! { <p class="loading">"Loading groups…"</p> }>
            {move || Suspend::new(async move {
                match groups.await {
                    Ok(groups) if groups.is_empty() => view! { <p class="empty">"No groups yet."</p> }.into_any(),
                    Ok(groups) => view! {
                        <ul class="group-list">
                            {groups.into_iter().map(|group| view! {
                                <li class="group-card">
                                    <a href=format!("/groups/{}", group.slug)><strong>{group.name}</strong></a>
                                    <span class="muted">{group.city}" · "{group.member_count}" members"</span>
                                    {group.my_role.map(|role| view! { <span class="badge">{role.label()}</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewGroupForm(action: ServerAction<CreateGroup>) -> impl IntoView {
    let value = action.value();
    let errors = Memo::new(move |_| match value.get() {
        Some(Ok(errors)) => errors,
        Some(Err(error)) => crate::accounts::FormErrors::form(message(&error)),
        None => Default::default(),
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
        <details class="new-group">
            <summary>"Open a new group"</summary>
            <ActionForm action attr:class="form">
                <label for="group-name">"Name"</label>
                <input id="group-name" name="name" required maxlength="120" />
                {field("name")}
                <label for="group-slug">"Address: /groups/…"</label>
                <input id="group-slug" name="slug" required placeholder="qs-east-bay" />
                {field("slug")}
                <label for="group-city">"City"</label>
                <input id="group-city" name="city" placeholder="Oakland, CA" />
                <label for="group-tz">"Time zone of its meetups"</label>
                <input id="group-tz" name="time_zone" required placeholder="America/Los_Angeles" />
                {field("time_zone")}
                <button type="submit">"Open the group"</button>
            </ActionForm>
        </details>
    }
}

#[component]
pub fn GroupPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let join = ServerAction::<JoinGroup>::new();
    let leave = ServerAction::<LeaveGroup>::new();
    let promote = ServerAction::<PromoteMember>::new();
    let detail = crate::data::load(
        move || {
            (
                slug(),
                join.version().get(),
                leave.version().get(),
                promote.version().get(),
            )
        },
        |(slug, ..)| get_group(slug),
    );
    let action_error = move || {
        [
            join.value().get().and_then(Result::err),
            leave.value().get().and_then(Result::err),
            promote.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|error| view! { <p class="error" role="alert">{message(&error)}</p> })
    };

    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the group…"</p> }>
            {move || Suspend::new(async move {
                let group = match detail.await {
                    Ok(group) => group,
                    Err(error) => return view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
                };
                let slug = group.slug.clone();
                let (join_slug, leave_slug, login_slug) = (slug.clone(), slug.clone(), slug.clone());
                view! {
                    <Title formatter=crate::html::page_title text=group.name.clone() />
                    <header class="group-intro">
                        <h1>{group.name.clone()}</h1>
                        <p class="group-meta">
                            <span>{group.city.clone()}</span>
                            <span>{group.member_count}" members"</span>
                            {group.my_role.map(|role| view! { <span class="badge">{match role { Role::Member => "You are a member", Role::Organizer => "You are an organizer" }}</span> })}
                        </p>
                        <p>{group.description.clone()}</p>
                        {group.my_role.is_some().then(|| view! {
                            <p><a href=format!("/groups/{}/insights", group.slug) rel="external">"What the group's data says"</a></p>
                        })}
                    </header>
                    {action_error}
                    <div class="actions">
                        {group.can_join.then(|| view! {
                            <ActionForm action=join attr:class="inline">
                                <input type="hidden" name="slug" value=join_slug />
                                <button type="submit">"Join this group"</button>
                            </ActionForm>
                        })}
                        {group.can_leave.then(|| view! {
                            <ActionForm action=leave attr:class="inline">
                                <input type="hidden" name="slug" value=leave_slug />
                                <button type="submit" class="secondary">"Leave the group"</button>
                            </ActionForm>
                        })}
                        {(!group.logged_in).then(|| view! {
                            <p><a href=format!("/login?next=/groups/{login_slug}")>"Log in"</a>" or "
                            <a href=format!("/signup?next=/groups/{login_slug}")>"sign up"</a>" to join."</p>
                        })}
                    </div>
                    <section class="group-meetups" aria-label="Meetups">
                        <p class="calendar-links">
                            {group.can_manage_events.then(|| view! {
                                <a class="button" href=format!("/groups/{}/events/new", group.slug)>"New meetup"</a>" "
                            })}
                            <a href=format!("/groups/{}/calendar.ics", group.slug)>"Subscribe (iCal)"</a>" · "
                            <a href=format!("/groups/{}/events.atom", group.slug)>"Atom feed"</a>
                        </p>
                        <MeetupSection id="upcoming" heading="Upcoming meetups" empty="No upcoming meetups yet." meetups=group.upcoming.clone() />
                        <MeetupSection id="past" heading="Past meetups" empty="No past meetups yet." meetups=group.past.clone() />
                    </section>
                    {group.members.clone().map(|members| {
                        let can_promote = group.can_promote;
                        let slug = slug.clone();
                        view! {
                            <section class="members" aria-labelledby="members-heading">
                                <h2 id="members-heading">"Members"</h2>
                                <ul>
                                    {members.into_iter().map(|member| {
                                        let slug = slug.clone();
                                        view! {
                                            <li>
                                                <span>{member.display_name}</span>
                                                " "<span class="badge">{member.role.label()}</span>
                                                {(can_promote && member.role == Role::Member).then(|| view! {
                                                    <ActionForm action=promote attr:class="inline">
                                                        <input type="hidden" name="slug" value=slug />
                                                        <input type="hidden" name="user_id" value=member.user_id />
                                                        <button type="submit" class="small secondary">"Make organizer"</button>
                                                    </ActionForm>
                                                })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            </section>
                        }
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}
