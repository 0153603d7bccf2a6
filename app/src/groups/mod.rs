//! Groups: the list of groups on this instance, a group's page, joining, leaving, and
//! organizers promoting members.

#[cfg(feature = "ssr")]
pub mod ssr;

use crate::errors::message;
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
}

#[server(endpoint = "list_groups")]
pub async fn list_groups() -> Result<Vec<GroupCard>, ServerFnError> {
    ssr::list_groups().await
}

#[server(endpoint = "get_group")]
pub async fn get_group(slug: String) -> Result<GroupDetail, ServerFnError> {
    ssr::group_detail(slug).await
}

#[server(endpoint = "join_group")]
pub async fn join_group(slug: String) -> Result<(), ServerFnError> {
    ssr::join_group(slug).await
}

#[server(endpoint = "leave_group")]
pub async fn leave_group(slug: String) -> Result<(), ServerFnError> {
    ssr::leave_group(slug).await
}

#[server(endpoint = "promote_member")]
pub async fn promote_member(slug: String, user_id: i64) -> Result<(), ServerFnError> {
    ssr::promote_member(slug, user_id).await
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let groups = Resource::new(|| (), |_| list_groups());
    view! {
        <Title text="Groups" />
        <h1>"Groups"</h1>
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
pub fn GroupPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let join = ServerAction::<JoinGroup>::new();
    let leave = ServerAction::<LeaveGroup>::new();
    let promote = ServerAction::<PromoteMember>::new();
    let detail = Resource::new(
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
                    <Title text=group.name.clone() />
                    <header class="group-intro">
                        <h1>{group.name.clone()}</h1>
                        <p class="group-meta">
                            <span>{group.city.clone()}</span>
                            <span>{group.member_count}" members"</span>
                            {group.my_role.map(|role| view! { <span class="badge">"You are a "{role.label()}</span> })}
                        </p>
                        <p>{group.description.clone()}</p>
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
                                                        <button type="submit" class="small">"Make organizer"</button>
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
