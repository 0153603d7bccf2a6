//! The organizer's view of a meetup: counts, the attendee list as CSV, and check-in at
//! the door with a quick search.

use super::server_fns::*;
use crate::errors::message;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// `/events/:id/manage`.
#[component]
pub fn ManagePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let check = ServerAction::<CheckIn>::new();
    let data = crate::data::load(
        move || (id(), check.version().get()),
        |(id, _)| get_manage(id),
    );
    let search = RwSignal::new(String::new());
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title formatter=crate::html::page_title text="Organizer view" />
        <div class="manage-page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let data = match data.await {
                        Ok(data) => data,
                        Err(error) => return view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
                    };
                    let seats = match data.capacity {
                        Some(capacity) => format!("{} of {capacity}", data.going + data.going_guests + data.offered),
                        None => (data.going + data.going_guests).to_string(),
                    };
                    let event_id = data.event_id;
                    let people = data.people.clone();
                    view! {
                        <p class="crumbs"><a href=format!("/events/{event_id}")>"← "{data.title.clone()}</a></p>
                        <h1>"Organizer view"</h1>
                        <p class="muted">{data.when.clone()}</p>
                        <dl class="counts">
                            <div><dt>"Seats taken"</dt><dd>{seats}</dd></div>
                            <div><dt>"Going"</dt><dd>{data.going}" (+"{data.going_guests}" guests)"</dd></div>
                            <div><dt>"Offered"</dt><dd>{data.offered}</dd></div>
                            <div><dt>"Waitlist"</dt><dd>{data.waitlisted}</dd></div>
                            <div><dt>"Maybe"</dt><dd>{data.maybe}</dd></div>
                            <div><dt>"Not going"</dt><dd>{data.no}</dd></div>
                            <div><dt>"Checked in"</dt><dd class="checked-in-count">{data.checked_in}</dd></div>
                        </dl>
                        <p><a class="button secondary small" href=format!("/events/{event_id}/attendees.csv") download="attendees.csv">"Download the list (CSV)"</a></p>
                        <section class="check-in" aria-labelledby="checkin-heading">
                            <h2 id="checkin-heading">"Check-in"</h2>
                            <label for="checkin-search">"Find a member"</label>
                            <input id="checkin-search" type="search" placeholder="Type a name" autocomplete="off"
                                on:input=move |ev| search.set(event_target_value(&ev)) prop:value=search />
                            <ul class="checkin-list">
                                {people.into_iter().map(|person| {
                                    let name = person.display_name.clone();
                                    let lower = name.to_lowercase();
                                    let visible = move || {
                                        let needle = search.get().to_lowercase();
                                        needle.is_empty() || lower.contains(needle.trim())
                                    };
                                    let status = match person.status.as_str() {
                                        "going" => "going".to_string(),
                                        "offered" => "offered a seat".to_string(),
                                        "waitlisted" => format!("waitlist #{}", person.position.unwrap_or(0)),
                                        "maybe" => "maybe".to_string(),
                                        "no" => "not going".to_string(),
                                        _ => "no RSVP".to_string(),
                                    };
                                    let guests = (person.guests > 0).then(|| format!(" +{}", person.guests));
                                    view! {
                                        <li class:present=person.checked_in class:filtered-out=move || !visible() data-name=name.clone()>
                                            <span class="who"><strong>{name.clone()}</strong>{guests}" "<span class="muted">{status}</span></span>
                                            <ActionForm action=check attr:class="inline">
                                                <input type="hidden" name="event_id" value=event_id />
                                                <input type="hidden" name="user_id" value=person.user_id />
                                                <input type="hidden" name="present" value=(!person.checked_in).to_string() />
                                                <button type="submit" class=if person.checked_in { "small secondary" } else { "small" }>
                                                    {if person.checked_in { "Undo check-in" } else { "Check in" }}
                                                </button>
                                            </ActionForm>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {move || check.value().get().and_then(Result::err).map(|error| view! { <p class="error" role="alert">{message(&error)}</p> })}
                        </section>
                    }.into_any()
                })}
            </Suspense>
        </div>
    }
}
